"""Input parsing: detect what the user pasted and normalise it into a SigningRequest."""
