"""Decoding: turn a SigningRequest into a DecodedRequest (transactions, calls, typed data, messages)."""
