"""Local keystores and the policy-gated signer, with its spend ledger and audit log."""
