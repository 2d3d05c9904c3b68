"""The simulation stage: run the request on the user's own node and report what it does.

Between decoding and risk. Input: the decoded request and the user's account; output: a
`SimulationReport` (copilot.models) that the risk stage compares with what the decoding says, and
that review, sign and --json show. Only the unsigned calls go to the node the user configured
(--rpc or the config's [review] rpc); nothing else is contacted. A node without eth_simulateV1 gets
a private anvil fork of it (copilot.simulation.fork). A failure never raises: the report says
"not simulated" and why, and the verdict stays what the other stages made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copilot.models import DecodedRequest, SimulationReport

__all__ = ["SimulationOptions", "simulate"]


@dataclass(frozen=True)
class SimulationOptions:
    timeout: float = 3.0  # seconds for the whole stage, fork start included
    fork_fallback: bool = True  # a node without eth_simulateV1: simulate on an anvil fork of it
    validation: bool = True  # validate nonce and fees when the request carries them (sign fills them)


def simulate(decoded: DecodedRequest, rpc: str, user: str | None, options: SimulationOptions) -> SimulationReport:
    """The simulation report for a request; "not simulated" with the reason, never an exception.
    The engine is imported here: a review without a node never loads it."""
    from copilot.simulation.engine import run

    return run(decoded, rpc, user, options)
