"""Local state: where txcopilot keeps its files, and how it writes them safely."""
