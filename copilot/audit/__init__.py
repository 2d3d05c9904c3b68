"""Batch audit of a wallet's history: outstanding approvals, scams received, policy breaches."""
