"""Public threat lists, imported locally: scam addresses and phishing domains the user imports in bulk
(ScamSniffer's scam-database, MetaMask's eth-phishing-detect, plain lists), plus the curated seed
list shipped in `policies/intel/`. Nothing is fetched: importing a whole list reveals nothing about
the user, where a per-request cloud lookup would.

At the risk level of the layering: it imports primitives, models and state only. The risk rules
(`copilot.risk.listed`) and the audit look addresses and domains up through `load_index()`.
"""

from __future__ import annotations

from copilot.intel.store import Listing, SourceInfo, ThreatIndex, load_index

__all__ = ["Listing", "SourceInfo", "ThreatIndex", "load_index"]
