"""The user's own node (--rpc): the only network peer txcopilot ever talks to."""
