"""txcopilot: review what an Ethereum wallet is about to sign, locally."""

__version__ = "0.1.0"
