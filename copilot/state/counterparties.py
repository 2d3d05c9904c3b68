"""The user's recent transfers, read from their own node (--rpc): who they really deal with.

A new user has no local history, so a payment to a look-alike of their real counterparty would pass.
Their node knows that history: `eth_getLogs` for ERC-20 `Transfer` logs with the user as sender or
recipient (indexed topics, so the node answers from its log index), over the last `RECENT_BLOCKS`
blocks; native-coin transfers too where the node has a trace API (`trace_filter`; optional, most
nodes lack it). Nothing but the user's own node is asked.

The result is cached per chain and account under the cache dir; each review reads only the blocks
since the last one (and the last `REORG_DEPTH` again), and the whole range again when the cached
tip's block hash no longer matches (a reorg, or a dev node restarted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from copilot.errors import EnvironmentProblem
from copilot.eth.logs import NATIVE, TOPIC_TRANSFER
from copilot.models import RecentTransfer
from copilot.parsing import load_json
from copilot.state.atomic import atomic_write_text

if TYPE_CHECKING:
    from copilot.chain.node import NodeClient

RECENT_BLOCKS = 100_000  # about two weeks on Ethereum: poisoners strike within days of a real payment
REORG_DEPTH = 64
LOG_CHUNK = 5_000  # blocks per eth_getLogs call (nodes cap the range or the result count)
MIN_SPLIT = 16  # a refused range is halved down to this many blocks, then the refusal stands
CACHE_VERSION = 1


def recent_transfers(node: NodeClient, chain_id: int, user: str) -> tuple[list[RecentTransfer], tuple[int, int]]:
    """The user's transfers in the recent block range, oldest first, and that range."""
    latest = node.block_number()
    first = max(0, latest - RECENT_BLOCKS + 1)
    path = _cache_path(chain_id, user)
    cached = _load(path)
    start = first
    kept: list[RecentTransfer] = []
    contiguous = cached is not None and cached.first <= first <= cached.last + 1 and cached.last <= latest
    if cached is not None and contiguous and node.block_hash(cached.last) == cached.tip_hash:
        start = max(first, cached.last - REORG_DEPTH + 1)
        kept = [t for t in cached.transfers if first <= t.block < start]
    transfers = sorted([*kept, *_read(node, user, start, latest)], key=lambda t: t.block)
    _save(path, first, latest, node.block_hash(latest), transfers)
    return transfers, (first, latest)


def _read(node: NodeClient, user: str, start: int, end: int) -> list[RecentTransfer]:
    if start > end:
        return []
    topic = "0x" + user.lower()[2:].rjust(64, "0")
    seen: set[tuple[str, int]] = set()
    out: list[RecentTransfer] = []
    queries: list[list[str | None]] = [[TOPIC_TRANSFER, topic], [TOPIC_TRANSFER, None, topic]]  # from, to
    for topics in queries:
        logs = [log for low in range(start, end + 1, LOG_CHUNK) for log in _logs(node, low, min(low + LOG_CHUNK - 1, end), topics)]
        for log in logs:
            transfer = _from_log(log)
            key = (str(log.get("transactionHash")), int(log.get("logIndex") or 0))
            if transfer is not None and key not in seen:
                seen.add(key)
                out.append(transfer)
    for direction in ("from_address", "to_address"):
        traces = node.trace_filter(start, end, **{direction: user})
        out += [t for trace in traces or [] if (t := _from_trace(trace)) is not None]
    return out


def _logs(node: NodeClient, start: int, end: int, topics: list[str | None]) -> list[dict[str, Any]]:
    """eth_getLogs over [start, end]; a node that refuses the range (providers cap the blocks or the
    results: an account with many transfers) is asked for each half, down to MIN_SPLIT blocks."""
    try:
        return list(node.get_logs(start, end, topics=topics, chunk=end - start + 1))  # type: ignore[arg-type]
    except EnvironmentProblem:
        if end - start + 1 <= MIN_SPLIT:
            raise
    middle = (start + end) // 2
    return _logs(node, start, middle, topics) + _logs(node, middle + 1, end, topics)


def _from_log(log: dict[str, Any]) -> RecentTransfer | None:
    topics = [str(t) for t in log.get("topics", [])]
    data = str(log.get("data") or "0x")
    if len(topics) != 3 or len(data) != 66:  # ERC-721 Transfer has 4 topics and no data: not a payment
        return None
    return RecentTransfer(
        token=str(log["address"]).lower(),
        sender="0x" + topics[1][-40:].lower(),
        recipient="0x" + topics[2][-40:].lower(),
        amount=int(data, 16),
        block=int(log["blockNumber"]),
        tx=str(log["transactionHash"]).lower(),
    )


def _from_trace(trace: dict[str, Any]) -> RecentTransfer | None:
    action = trace.get("action") or {}
    value = int(str(action.get("value") or "0x0"), 16)
    if trace.get("type") != "call" or trace.get("error") or not value or not action.get("to"):
        return None
    return RecentTransfer(
        token=NATIVE,
        sender=str(action["from"]).lower(),
        recipient=str(action["to"]).lower(),
        amount=value,
        block=int(trace["blockNumber"]),
        tx=str(trace.get("transactionHash") or "").lower(),
    )


def _cache_path(chain_id: int, user: str) -> Path:
    from copilot.state.dirs import cache_dir

    return cache_dir() / "counterparties" / f"{chain_id}-{user.lower()}.json"


class _Cache(BaseModel):
    version: int
    first: int
    last: int
    tip_hash: str | None
    transfers: list[RecentTransfer]


def _load(path: Path) -> _Cache | None:
    """The cached scan, or None when there is none, or it is unreadable or of another version: it is
    only a cache, so the range is read from the node again."""
    try:
        cache = _Cache.model_validate(load_json(path.read_bytes()))
    except (OSError, ValueError):  # unreadable, not JSON, or not this shape (pydantic's ValidationError)
        return None
    return cache if cache.version == CACHE_VERSION else None


def _save(path: Path, first: int, last: int, tip_hash: str | None, transfers: list[RecentTransfer]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = _Cache(version=CACHE_VERSION, first=first, last=last, tip_hash=tip_hash, transfers=transfers)
    atomic_write_text(path, cache.model_dump_json() + "\n")
