"""JSON-RPC to the user's node for the simulation stage: one POST per round trip, with a deadline.

Not web3: the simulation is on the review's hot path (the issue's budget is 20 ms p50 against a local
node) and needs three things web3's provider hides: a hard deadline for the whole stage, JSON-RPC
batches (the block header and the code a Safe delegatecall runs, in one round trip), and the node's
error code, which tells "method not supported" (fall back to a fork) from "the call failed".
urllib is in the standard library and costs nothing to import.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from copilot.parsing import load_json

# JSON-RPC codes and texts nodes use for a method they do not have (geth, Nethermind, Erigon, anvil)
_UNSUPPORTED_CODES = frozenset({-32601, -32004})
_UNSUPPORTED_TEXTS = ("method not found", "not supported", "does not exist", "not available", "unsupported method")


class NodeFailure(Exception):
    """The node could not be asked, or answered with an error: one line for the review."""


class MethodUnsupported(NodeFailure):
    """The node does not have the method (eth_simulateV1 on an older node)."""


class Node:
    """A deadline-bound JSON-RPC client for one URL. Every request gets only what is left of the deadline."""

    def __init__(self, url: str, deadline: float) -> None:
        self.url = url
        self.deadline = deadline  # time.monotonic() value after which nothing more is sent

    def call(self, method: str, params: list[Any]) -> Any:
        (reply,) = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        return _result(method, reply)

    def batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several requests in one round trip; each answer in order (an error raises)."""
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(requests)]
        replies = {reply.get("id"): reply for reply in self._post(body)}
        return [_result(method, replies.get(i, {})) for i, (method, _) in enumerate(requests)]

    def _post(self, body: Any) -> list[dict[str, Any]]:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise NodeFailure("the node did not answer in time")
        request = urllib.request.Request(self.url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=left) as response:
                reply = load_json(response.read())
        except TimeoutError:
            raise NodeFailure(f"the node did not answer within {left:.1f} s") from None
        except urllib.error.HTTPError as exc:
            raise NodeFailure(f"the node answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise NodeFailure(f"the node did not answer within {left:.1f} s") from None
            raise NodeFailure(f"cannot reach the node ({reason})") from None
        except ValueError:
            raise NodeFailure("the node's answer is not JSON") from None
        replies = reply if isinstance(reply, list) else [reply]
        if not all(isinstance(item, dict) for item in replies):
            raise NodeFailure("the node's answer is not JSON-RPC")
        return replies


def _result(method: str, reply: dict[str, Any]) -> Any:
    error = reply.get("error")
    if error is None:
        if "result" not in reply:
            raise NodeFailure(f"the node gave no answer to {method}")
        return reply["result"]
    message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
    code = error.get("code") if isinstance(error, dict) else None
    if code in _UNSUPPORTED_CODES or any(text in message.lower() for text in _UNSUPPORTED_TEXTS):
        raise MethodUnsupported(f"the node does not support {method} ({message[:120]})")
    raise NodeFailure(f"{method} failed: {message[:200]}")
