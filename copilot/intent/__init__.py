"""The intent check: what the user says they mean to do, parsed deterministically and compared with
the decoded request (and its simulation). `schema` holds the models the review carries, `parse`
the parser, `compare` the comparison; import them directly (this package stays import-light)."""
