"""Deterministic risk rules: findings from a DecodedRequest."""
