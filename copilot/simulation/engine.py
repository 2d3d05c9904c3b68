"""One eth_simulateV1 round trip: realistic block, balance reads around the request, logs decoded.

The payload is one simulated block on top of the node's latest, with overrides set explicitly
(the next number and time, the base fee, a non-zero fee recipient: left alone, anvil reports block 0
and a zero COINBASE, which drainers test for to behave while simulated). Its calls are:

    balance reads (before) · the request's calls · balance reads (after) · token symbol/decimals

The ETH reads go through a reader contract placed by state override (it returns BALANCE and
EXTCODEHASH of the address it is given: code changes show too); token reads are balanceOf. Reads
catch tokens whose events lie or are missing. traceTransfers puts native ETH moves in the logs;
validation is on where the request carries its nonce and fees (the sign path). Tokens that only the
logs reveal get a second round trip with their reads added.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from copilot.decoding.tokens import lookup_token
from copilot.eth.abitext import abi_text
from copilot.models import AssetChange, DecodedRequest, SimulatedEvent, SimulationReport
from copilot.simulation import SimulationOptions, changes
from copilot.simulation.plan import NotRunnable, Plan, plan_for
from copilot.simulation.rpc import MethodUnsupported, Node, NodeFailure

# PUSH1 0 CALLDATALOAD DUP1 BALANCE PUSH1 0 MSTORE EXTCODEHASH PUSH1 32 MSTORE PUSH1 64 PUSH1 0 RETURN
READER_CODE = "0x60003580316000523f60205260406000f3"
READER = "0x0000000000000000000000000000000000c0ffee"
READ_FROM = "0x0000000000000000000000000000000000c0ff00"  # sends the reads; funded by override
# A block's fee recipient when the node's latest has none (anvil's is zero): a builder's address.
FALLBACK_COINBASE = "0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5"
BLOCK_SECONDS = 12
_BALANCE_OF, _SYMBOL, _DECIMALS = "0x70a08231", "0x95d89b41", "0x313ce567"
_READ_GAS = hex(200_000)
_ERROR_STRING, _PANIC = "0x08c379a0", "0x4e487b71"
# Storage slots that say which code a proxy account runs
_CODE_SLOTS = {
    "0x" + "00" * 32: "singleton (Safe proxy slot 0)",
    "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc": "EIP-1967 implementation",
}


def run(decoded: DecodedRequest, rpc: str, user: str | None, options: SimulationOptions) -> SimulationReport:
    """copilot.simulation.simulate: see there."""
    plan = plan_for(decoded, user)
    if isinstance(plan, NotRunnable):
        return SimulationReport(status="not_simulated", error=plan.reason, notes=plan.notes)
    deadline = time.monotonic() + options.timeout
    node = Node(rpc, deadline)
    try:
        try:
            return _run(node, plan, decoded, options, "eth_simulateV1")
        except MethodUnsupported as missing:
            if not options.fork_fallback:
                raise NodeFailure(f"{missing}; the fork fallback is off ([simulate] fork_fallback)") from None
            from copilot.simulation.fork import fork_url

            return _run(Node(fork_url(rpc, deadline), deadline), plan, decoded, options, "anvil_fork")
    except NodeFailure as exc:
        return SimulationReport(status="not_simulated", account=plan.account, error=str(exc))
    except (KeyError, IndexError, TypeError, ValueError):
        return SimulationReport(status="not_simulated", account=plan.account,
                                error="the node's eth_simulateV1 answer has an unexpected shape")


@dataclass
class _Block:
    number: int
    timestamp: int
    base_fee: int | None
    coinbase: str
    gas_limit: int | None
    chain_id: int


def _run(node: Node, plan: Plan, decoded: DecodedRequest, options: SimulationOptions, method: str) -> SimulationReport:
    requests: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False]), ("eth_chainId", [])]
    requests += [("eth_getCode", [source, "latest"]) for source in plan.code_from.values()]
    header, chain_hex, *codes = node.batch(requests)
    block = _Block(
        number=int(header["number"], 16),
        timestamp=int(header["timestamp"], 16),
        base_fee=int(header["baseFeePerGas"], 16) if header.get("baseFeePerGas") else None,
        coinbase=_coinbase(header.get("miner")),
        gas_limit=int(header["gasLimit"], 16) if header.get("gasLimit") else None,
        chain_id=int(chain_hex, 16),
    )
    wanted = _request_chain(decoded)
    if wanted is not None and wanted != block.chain_id:
        raise NodeFailure(f"the node is on chain {block.chain_id}, the request is for chain {wanted}")
    code_overrides = dict(zip(plan.code_from, codes, strict=True))
    validation = options.validation and plan.validation
    notes: list[str] = []
    try:
        report = _simulate_once(node, plan, block, code_overrides, validation, plan.tokens)
    except MethodUnsupported:
        raise
    except NodeFailure as refused:
        if not validation:
            raise
        # A nonce or fee the node cannot accept now: still show the effects, and say why.
        notes.append(f"the node refused the transaction as signed ({refused}); simulated without nonce and fee checks")
        report = _simulate_once(node, plan, block, code_overrides, False, plan.tokens)
    revealed = _revealed_tokens(report, plan)
    if revealed:  # tokens only the logs named: read their balances and metadata too
        report = _simulate_once(node, plan, block, code_overrides, validation and not notes, plan.tokens + revealed)
    if plan.safe_runs and len(plan.calls) == 1 and not report.reverted:
        report.events += _implementation_changes(node, plan, block, code_overrides)
    report.method = method  # type: ignore[assignment]
    report.validated = validation and not notes
    report.notes = notes + report.notes
    _label(report, decoded, block.chain_id)
    return report


def _implementation_changes(node: Node, plan: Plan, block: _Block, code_overrides: dict[str, str]) -> list[SimulatedEvent]:
    """What a Safe's call does to the Safe's own code pointer, which no log or balance shows: its
    singleton (storage slot 0 of a Safe proxy) or an EIP-1967 implementation slot. Read with
    debug_traceCall's prestate tracer in diff mode, where the node has it; nothing when it has not."""
    overrides = {account.lower(): {"code": code} for account, code in code_overrides.items()}
    config = {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}, "stateOverrides": overrides}
    try:
        diff = node.call("debug_traceCall", [plan.calls[0].as_json(False), hex(block.number), config])
    except NodeFailure:
        return []  # no debug namespace: the balance and code-hash reads still ran
    account = plan.account.lower()
    before = (diff.get("pre") or {}).get(account, {}) if isinstance(diff, dict) else {}
    after = (diff.get("post") or {}).get(account, {}) if isinstance(diff, dict) else {}
    events = []
    for slot, name in _CODE_SLOTS.items():
        new = (after.get("storage") or {}).get(slot)
        if new is not None and new != (before.get("storage") or {}).get(slot):
            events.append(SimulatedEvent(kind="code", contract=plan.account, subject=plan.account,
                                         detail=f"the {name} of {plan.account} changes to 0x{new[-40:]}"))
    return events


def _simulate_once(node: Node, plan: Plan, block: _Block, code_overrides: dict[str, str], validation: bool,
                   tokens: list[str]) -> SimulationReport:
    reads = [("eth", plan.account)] + [("token", token) for token in tokens]
    meta = [(kind, token) for token in tokens for kind in ("symbol", "decimals")]
    read_fee = {"maxFeePerGas": hex(block.base_fee or 0), "maxPriorityFeePerGas": "0x0"} if validation else {}
    calls = [_read_call(kind, target, plan.account, read_fee) for kind, target in reads]
    calls += [call.as_json(validation) for call in plan.calls]
    calls += [_read_call(kind, target, plan.account, read_fee) for kind, target in reads + meta]
    overrides: dict[str, dict[str, str]] = {READER: {"code": READER_CODE}, READ_FROM: {"balance": hex(10**20)}}
    for eoa, delegate in plan.delegations.items():
        overrides[eoa.lower()] = {"code": "0xef0100" + delegate[2:].lower()}
    for account, code in code_overrides.items():
        overrides[account.lower()] = {"code": code}
    block_overrides: dict[str, str] = {
        "number": hex(block.number + 1),
        "time": hex(max(block.timestamp + BLOCK_SECONDS, int(time.time()))),
        "feeRecipient": block.coinbase,
    }
    if block.base_fee is not None:
        block_overrides["baseFeePerGas"] = hex(block.base_fee)
    if block.gas_limit is not None:
        block_overrides["gasLimit"] = hex(block.gas_limit)
    payload = {
        "blockStateCalls": [{"blockOverrides": block_overrides, "stateOverrides": overrides, "calls": calls}],
        "traceTransfers": True,
        "validation": validation,
    }
    (result,) = node.call("eth_simulateV1", [payload, hex(block.number)])
    answers: list[dict[str, Any]] = result["calls"]
    if len(answers) != len(calls):
        raise NodeFailure("the node answered a different number of calls than it was sent")
    count = len(reads)
    before, mine, after = answers[:count], answers[count : count + len(plan.calls)], answers[count + len(plan.calls):]
    return _report(plan, block, reads, meta, before, mine, after)


def _read_call(kind: str, target: str, account: str, fee: dict[str, str]) -> dict[str, Any]:
    word = account[2:].lower().rjust(64, "0")
    data = {"eth": "0x" + word, "token": _BALANCE_OF + word, "symbol": _SYMBOL, "decimals": _DECIMALS}[kind]
    return {"from": READ_FROM, "to": READER if kind == "eth" else target, "data": data, "gas": _READ_GAS, **fee}


def _report(plan: Plan, block: _Block, reads: list[tuple[str, str]], meta: list[tuple[str, str]],
            before: list[dict[str, Any]], mine: list[dict[str, Any]], after: list[dict[str, Any]]) -> SimulationReport:
    per_call = changes.decode([call.get("logs") or [] for call in mine])
    gas_used = sum(int(call.get("gasUsed", "0x0"), 16) for call in mine)
    fee_caps = [call.fee_cap() for call in plan.calls]
    price = max([block.base_fee or 0, *[cap for cap in fee_caps if cap is not None]])
    report = SimulationReport(
        status="simulated",
        account=plan.account,
        block=block.number + 1,
        gas_used=gas_used,
        gas_cost=gas_used * price,
        log_count=sum(len(call.get("logs") or []) for call in mine),
        changes=changes.asset_changes(per_call),
        approvals=changes.grants(per_call),
        events=changes.control_events(per_call),
    )
    failed = next(((index, call) for index, call in enumerate(mine) if call.get("status") != "0x1"), None)
    if failed is not None:
        index, call = failed
        report.reverted = True
        report.revert_reason = _revert_reason(call)
        if len(mine) > 1:
            report.revert_reason = f"call {index + 1} of {len(mine)}: {report.revert_reason}"
        return report  # nothing of a reverted call happens: its logs are empty
    metadata: dict[str, dict[str, Any]] = {}
    for (kind, token), answer in zip(meta, after[len(reads):], strict=True):
        metadata.setdefault(token.lower(), {})[kind] = _return(answer)
    for (kind, target), first, last in zip(reads, before, after[: len(reads)], strict=True):
        old, new = _return(first), _return(last)
        if len(old) < 32 or len(new) < 32:
            continue  # not a token, or it reverted: no reading
        delta = int.from_bytes(new[:32], "big") - int.from_bytes(old[:32], "big")
        if kind == "eth":
            report.measured.append(AssetChange(holder=plan.account, asset="native", standard="native", amount=delta,
                                               source="balance"))
            if old[32:64] != new[32:64]:
                report.events.append(SimulatedEvent(kind="code", contract=plan.account, subject=plan.account,
                                                    detail=f"the code of {plan.account} changes"))
        else:
            found = metadata.get(target.lower(), {})
            decimals = _uint(found.get("decimals", b""))
            report.measured.append(AssetChange(
                holder=plan.account, asset=target, standard="erc20", amount=delta, source="balance",
                symbol=abi_text(found.get("symbol", b"")), decimals=decimals if decimals is not None and decimals < 78 else None,
                symbol_source="token",
            ))
    return report


def _label(report: SimulationReport, decoded: DecodedRequest, chain_id: int) -> None:
    """Checksum addresses, and symbols and decimals: the bundled table first (trusted), else what the
    token said about itself (untrusted text), else none (amounts shown in base units)."""
    from copilot.decoding._crypto import checksum_hex

    told = {c.asset.lower(): c for c in report.measured if c.symbol_source == "token" and c.symbol}
    for change in [*report.changes, *report.measured]:
        change.holder = checksum_hex(change.holder)
        if change.asset == "native":
            change.symbol, change.decimals, change.symbol_source = None, 18, None
            continue
        change.asset = checksum_hex(change.asset)
        bundled = lookup_token(change.asset, chain_id)
        if bundled is not None:
            change.symbol, change.decimals, change.symbol_source = bundled.symbol, bundled.decimals, "bundled"
        elif change.standard == "erc20" and change.asset.lower() in told:
            source = told[change.asset.lower()]
            change.symbol, change.decimals, change.symbol_source = source.symbol, source.decimals, "token"
    for grant in report.approvals:
        grant.owner, grant.token, grant.spender = (checksum_hex(a) for a in (grant.owner, grant.token, grant.spender))
    if report.account:
        report.account = checksum_hex(report.account)


def _revealed_tokens(report: SimulationReport, plan: Plan) -> list[str]:
    known = {token.lower() for token in plan.tokens}
    account = plan.account.lower()
    found = [c.asset for c in report.changes
             if c.holder.lower() == account and c.standard == "erc20" and c.asset.lower() not in known]
    return list(dict.fromkeys(found))


def _request_chain(decoded: DecodedRequest) -> int | None:
    for chain_id in (decoded.request.chain_id, decoded.transaction and decoded.transaction.chain_id,
                     decoded.typed_data and decoded.typed_data.chain_id):
        if chain_id:
            return int(chain_id)
    return None


def _coinbase(miner: Any) -> str:
    if isinstance(miner, str) and len(miner) == 42 and int(miner, 16):
        return miner
    return FALLBACK_COINBASE


def _return(answer: dict[str, Any]) -> bytes:
    if answer.get("status") != "0x1":
        return b""
    data = str(answer.get("returnData") or "0x")
    return bytes.fromhex(data[2:])


def _uint(data: bytes) -> int | None:
    return int.from_bytes(data[:32], "big") if len(data) >= 32 else None


def _revert_reason(call: dict[str, Any]) -> str:
    error: dict[str, Any] = call["error"] if isinstance(call.get("error"), dict) else {}
    data = str(call.get("returnData") or "0x")
    if data == "0x" and isinstance(error.get("data"), str):
        data = error["data"]
    if data.startswith(_ERROR_STRING) and len(data) >= 138:
        text = abi_text(bytes.fromhex(data[10:]))
        if text is not None:
            return f"reverted: {text}"
    if data.startswith(_PANIC) and len(data) >= 74:
        return f"reverted: panic 0x{int(data[10:74], 16):02x}"
    if len(data) >= 10:
        return f"reverted with custom error {data[:10]}"
    return f"reverted ({error.get('message') or 'no reason given'})"
