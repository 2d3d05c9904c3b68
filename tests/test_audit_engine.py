"""Whole audits: every planted problem found and nothing else, each input format, bad rows, resume,
multiprocessing, revoke plans that `sign` accepts, and the explanation dedup cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copilot.audit import batch, engine
from copilot.audit.engine import AuditSettings, audit_file
from copilot.audit.narrative import ExplanationCache, explain_flagged, shape_key
from copilot.audit.report import AuditReport, TxItem
from copilot.audit.synthetic import USER as SYNTHETIC_USER
from copilot.audit.synthetic import generate
from copilot.errors import InputError
from copilot.resources import fixtures_dir

AUDIT = fixtures_dir() / "audit"
USER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
ROUTER = "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"
UNKNOWN = "0x5555aaaa00000000000000000000000000bbbb55"
UNKNOWN2 = "0x6666cccc000000000000000000000000000dd666"
OPERATOR = "0x7777eeee00000000000000000000000000fff777"
NFT = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d"
LOOKALIKE = "0x1234000000000000000000000000000000005678"
FRIEND = "0x1234567890abcdef1234567890abcdef12345678"


def approvals_of(report: AuditReport, *, risky: bool | None = None) -> set[tuple[str, str, str]]:
    return {
        (a.kind, a.token.lower(), a.spender.lower())
        for a in report.approvals
        if risky is None or a.risky == risky
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("synthetic") / "history.jsonl"
    generate(12_000, path, seed=11, bad_rows=4)
    planted: dict[str, Any] = json.loads(path.with_name(path.name + ".planted.json").read_text())
    return path, planted


@pytest.fixture(scope="module")
def synthetic_report(
    synthetic: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuditReport]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TXCOPILOT_HOME", str(tmp_path_factory.mktemp("home")))
        settings = AuditSettings(address=SYNTHETIC_USER, chain_id=1, chunk_bytes=256 * 1024)
        yield audit_file(synthetic[0], settings)


def test_every_planted_problem_is_found_and_nothing_else(
    synthetic: tuple[Path, dict[str, Any]], synthetic_report: AuditReport
) -> None:
    _, planted = synthetic
    report = synthetic_report
    assert approvals_of(report, risky=True) == {tuple(a) for a in planted["risky_approvals"]}
    open_now = approvals_of(report)
    assert not open_now & {tuple(a) for a in planted["closed_approvals"]}
    assert {(p.kind, p.tx, p.lookalike) for p in report.poisoning} == {tuple(p) for p in planted["poisoning"]}
    assert {t.hash for t in report.flagged} == set(planted["flagged"])
    assert [b.line for b in report.bad_row_details] == planted["bad_lines"]
    assert report.transactions == 12_000
    # the revoke plan closes exactly the risky approvals (ERC-20 and operator one by one, Permit2 in one lockdown)
    kinds = [r.description.split(":")[0] for r in report.revoke_plan]
    groups = len(planted["risky_approvals"]) // 3
    assert kinds.count("approve(0)") == groups and kinds.count("setApprovalForAll(false)") == groups
    assert sum(1 for k in kinds if k.startswith("Permit2 lockdown")) == 1


def test_timeline_tracks_open_and_risky_approvals(synthetic_report: AuditReport) -> None:
    points = synthetic_report.timeline
    assert points and points[0].day == "2024-01-01"
    assert points[-1].risky_approvals == len(synthetic_report.risky_approvals)
    assert sum(p.transactions for p in points) == synthetic_report.transactions
    assert sum(p.flagged for p in points) == len(synthetic_report.flagged)


def test_jsonl_fixture() -> None:
    report = audit_file(AUDIT / "history.jsonl", AuditSettings(address=USER, chain_id=1))
    assert approvals_of(report, risky=True) == {("erc20", USDC, UNKNOWN), ("nft_operator", NFT, OPERATOR)}
    assert approvals_of(report, risky=False) == {("erc20", USDC, ROUTER)}  # exact approval to a known router
    assert [(b.line, "invalid JSON" in b.reason) for b in report.bad_row_details] == [(4, True)]
    assert [(p.kind, p.line, p.lookalike, p.resembles) for p in report.poisoning] == [
        ("dust", 8, LOOKALIKE, FRIEND)
    ]
    assert report.reviewed == 6  # the attacker's transaction is not the wallet's decision


def test_json_array_and_jsonl_give_the_same_findings() -> None:
    jsonl = audit_file(AUDIT / "history.jsonl", AuditSettings(address=USER, chain_id=1))
    array = audit_file(AUDIT / "history.json", AuditSettings(address=USER, chain_id=1))
    assert approvals_of(array) == approvals_of(jsonl)
    assert {t.hash for t in array.flagged} == {t.hash for t in jsonl.flagged}
    assert array.bad_rows == 1


def test_raw_transactions_are_decoded_and_their_sender_recovered() -> None:
    report = audit_file(AUDIT / "raw.txt", AuditSettings(address=USER))
    assert approvals_of(report, risky=True) == {("erc20", USDC, UNKNOWN), ("nft_operator", NFT, OPERATOR)}
    assert [b.line for b in report.bad_row_details] == [3]
    assert report.reviewed == 3


def test_raw_transactions_of_another_account_are_not_reviewed(tmp_path: Path) -> None:
    from eth_account import Account

    # anvil's second well-known test key: a stranger sends USDC an approve of its own
    stranger = Account.from_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
    signed = stranger.sign_transaction({
        "chainId": 1, "nonce": 0, "gas": 100_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
        "to": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "value": 0,
        "data": "0x095ea7b3" + UNKNOWN[2:].rjust(64, "0") + "f" * 64,
    })
    history = tmp_path / "raw.txt"
    history.write_text((AUDIT / "raw.txt").read_text() + "0x" + signed.raw_transaction.hex().removeprefix("0x") + "\n")
    report = audit_file(history, AuditSettings(address=USER))
    assert report.reviewed == 3 and report.transactions == 4
    assert any("1 raw transactions were sent by other accounts" in note for note in report.notes)
    assert report.warnings and report.warnings[0].startswith("1 of 4 rows do not involve")


def test_a_history_in_which_no_row_involves_the_address_is_refused() -> None:
    with pytest.raises(InputError, match="none of the 3 rows"):
        audit_file(AUDIT / "raw.txt", AuditSettings(address="0x" + "11" * 20))


def test_etherscan_transactions_csv() -> None:
    report = audit_file(AUDIT / "etherscan-transactions.csv", AuditSettings(address=USER, chain_id=1))
    assert approvals_of(report, risky=True) == {("erc20", USDC, UNKNOWN)}
    assert approvals_of(report, risky=False) == {("erc20", USDC, ROUTER)}
    assert [b.line for b in report.bad_row_details] == [4]


def test_etherscan_token_csv_poisoning() -> None:
    report = audit_file(AUDIT / "etherscan-tokens.csv", AuditSettings(address=USER, chain_id=1))
    assert [(p.kind, p.line) for p in report.poisoning] == [("dust", 3), ("dust", 4), ("payment", 7)]
    assert [b.line for b in report.bad_row_details] == [5]
    assert report.token_transfers == 5 and report.reviewed == 0


def test_interrupted_audit_resumes_from_finished_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "h.jsonl"
    generate(600, path, seed=3)
    settings = AuditSettings(address=SYNTHETIC_USER, chain_id=1, workers=1, chunk_bytes=64 * 1024)
    real_run_chunk = batch.run_chunk
    done: list[int] = []

    def interrupted(chunk: Any) -> dict[str, Any]:
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(chunk.number)
        return real_run_chunk(chunk)

    monkeypatch.setattr(engine, "run_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        audit_file(path, settings)
    monkeypatch.setattr(engine, "run_chunk", real_run_chunk)
    resumed = audit_file(path, settings)
    assert resumed.chunks > 3 and resumed.chunks_reused == 3
    fresh = audit_file(path, AuditSettings(address=SYNTHETIC_USER, chain_id=1, workers=1, chunk_bytes=64 * 1024,
                                           use_cache=False))
    assert fresh.chunks_reused == 0
    assert resumed.model_dump(exclude={"chunks_reused", "generated_at"}) == fresh.model_dump(
        exclude={"chunks_reused", "generated_at"}
    )
    # a changed policy is a different audit: nothing is reused
    other_policy = audit_file(path, AuditSettings(address=SYNTHETIC_USER, chain_id=1, workers=1,
                                                  chunk_bytes=64 * 1024, policy="paranoid"))
    assert other_policy.chunks_reused == 0


def test_worker_processes_give_the_same_report(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    generate(1_500, path, seed=5)
    common = {"address": SYNTHETIC_USER, "chain_id": 1, "chunk_bytes": 128 * 1024, "use_cache": False}
    single = audit_file(path, AuditSettings(**common, workers=1))
    parallel = audit_file(path, AuditSettings(**common, workers=2))
    assert parallel.chunks > 2
    assert parallel.model_dump(exclude={"generated_at"}) == single.model_dump(exclude={"generated_at"})


def test_revoke_plan_files_are_requests_that_sign_accepts(tmp_path: Path) -> None:
    from copilot.audit.revoke import write_revoke_plan
    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.models import RequestKind

    report = audit_file(AUDIT / "history.jsonl", AuditSettings(address=USER, chain_id=1))
    paths = write_revoke_plan(tmp_path / "revokes", [r.model_dump() for r in report.revoke_plan])
    assert len(paths) == 2
    calls = set()
    for path in paths:
        request = parse_request(path.read_text())
        assert request.kind == RequestKind.TRANSACTION and request.sender is not None
        assert request.sender.lower() == USER and request.chain_id == 1
        call = decode(request).call
        assert call is not None
        calls.add((call.to.lower() if call.to else None, call.function, tuple(str(p.value).lower() for p in call.params)))
    assert calls == {
        (USDC, "approve(address,uint256)", (UNKNOWN, "0")),
        (NFT, "setApprovalForAll(address,bool)", (OPERATOR, "false")),
    }
    lines = (tmp_path / "revokes" / "plan.jsonl").read_text().splitlines()
    assert [parse_request(line).transaction for line in lines] == [
        parse_request(p.read_text()).transaction for p in paths
    ]


def _tx(index: int, contract: str, function: str, findings: list[str]) -> TxItem:
    return TxItem(line=index, hash=f"0x{index:064x}", block=index, timestamp=None, to=contract, contract=None,
                  function=function, verdict="confirm", risk_score=50, decided_by="finding:x", policy_breach=False,
                  findings=[{"id": f, "severity": "high", "title": f, "evidence": f"amount {index}"} for f in findings])


def test_explanations_are_deduplicated_by_call_shape_and_cached_on_disk(tmp_path: Path) -> None:
    contracts = ["0x" + format(i, "040x") for i in range(100)]
    functions = ["approve(address,uint256)", "setApprovalForAll(address,bool)", "claim()"]
    flagged = [
        _tx(i, contracts[i % 100], functions[(i // 100) % 3], ["approval.unknown_spender"] + (["x.y"] if i % 2 else []))
        for i in range(10_000)
    ]
    shapes = {shape_key(t) for t in flagged}
    assert len(shapes) == 300  # 100 contracts x 3 functions, finding sets tied to the contract's parity
    report = AuditReport.model_construct(flagged=flagged)
    prompts: list[str] = []

    def fake_explainer(tx: TxItem) -> str:
        prompts.append(shape_key(tx))
        return f"explained {shape_key(tx)}"

    cache = ExplanationCache("fake-model", tmp_path)
    assert explain_flagged(report, fake_explainer, cache) == 300
    assert len(set(prompts)) == 300
    assert all(t.explanation == f"explained {shape_key(t)}" for t in flagged)
    again = AuditReport.model_construct(flagged=[t.model_copy(update={"explanation": None}) for t in flagged])
    assert explain_flagged(again, fake_explainer, cache) == 0  # a re-run asks the model nothing
    assert explain_flagged(again, fake_explainer, ExplanationCache("another-model", tmp_path)) == 300


def test_model_explanations_come_from_the_llm_stage_once_per_shape() -> None:
    answer = {"summary": "You give another address the right to move your tokens.", "what_happens": ["You sign it."],
              "risks": [], "risk_level": "high", "questions": ["Did you start this yourself?"]}
    fake_model = {"backend": "fake", "answer": json.dumps(answer), "name": "fake-model"}
    settings = AuditSettings(address=USER, chain_id=1, llm=True, llm_backend=fake_model)
    bars: list[list[Any]] = []

    class Recorder:
        def start(self, total: int, description: str) -> None:
            bars.append([description, total, 0])

        def advance(self, amount: int = 1) -> None:
            bars[-1][2] += amount

        def stop(self) -> None:
            pass

    report = audit_file(AUDIT / "history.jsonl", settings, Recorder())
    shapes = {shape_key(t) for t in report.flagged}
    assert bars == [["Reading history", 1, 1], ["Auditing (chunks)", 1, 1],
                    ["Explaining (local model)", len(shapes), len(shapes)]]
    assert len(report.flagged) > len(shapes) >= 2  # two unlimited USDC approvals share one shape
    assert report.llm_calls == len(shapes)
    assert all(t.explanation and "right to move your tokens" in t.explanation for t in report.flagged)
    assert report.explanation_note is not None and "one per call shape" in report.explanation_note
    again = audit_file(AUDIT / "history.jsonl", settings)
    assert again.llm_calls == 0 and [t.explanation for t in again.flagged] == [t.explanation for t in report.flagged]


def test_exposure_is_valued_with_the_users_price_table() -> None:
    from copilot.state.prices import prices_path

    prices_path().write_text('USDC = 1\n"0xA0b86991c6218b36c1D19D4a2e9Eb0cE3606eB48" = 0.999\n')
    report = audit_file(AUDIT / "history.jsonl", AuditSettings(address=USER, chain_id=1))
    exact = next(a for a in report.approvals if a.spender.lower() == ROUTER)
    assert exact.exposure == 100 * 10**6 and exact.exposure_display == "up to 100 USDC (balance unknown)"
    assert exact.exposure_usd == pytest.approx(99.9)  # the address entry wins over the symbol
    unlimited = next(a for a in report.approvals if a.spender.lower() == UNKNOWN)
    assert unlimited.exposure is None and unlimited.exposure_usd is None  # no balance known offline
    assert unlimited.exposure_display == "unlimited USDC (balance unknown)"
    assert exact.exposure_usd_as_of is None  # the user's own price: no bundled date to show


def test_without_a_price_file_exposure_uses_the_bundled_prices_and_says_their_date() -> None:
    from copilot.audit.render import headline
    from copilot.state.prices import bundled_prices

    report = audit_file(AUDIT / "history.jsonl", AuditSettings(address=USER, chain_id=1))
    exact = next(a for a in report.approvals if a.spender.lower() == ROUTER)
    as_of = bundled_prices().as_of
    assert exact.exposure_usd == pytest.approx(100) and exact.exposure_usd_as_of == as_of
    assert any(f"at bundled prices of {as_of}" in line for line in headline(report))


def test_a_row_the_decoder_rejects_is_skipped_with_its_line_and_reason(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (AUDIT / "history.jsonl").read_text().splitlines() if line.endswith("}")]
    rows[1]["type"] = "0x7f"  # well-formed JSON, but no such transaction type
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = audit_file(path, AuditSettings(address=USER, chain_id=1))
    assert [b.line for b in report.bad_row_details] == [2]
    assert "cannot review" in report.bad_row_details[0].reason and "type" in report.bad_row_details[0].reason
    assert report.reviewed == 5 and approvals_of(report, risky=True)  # the rest of the history is audited


def test_only_the_most_recent_audits_stay_in_the_cache(tmp_path: Path) -> None:
    from copilot.state.dirs import cache_dir

    path = tmp_path / "h.jsonl"
    lines = (AUDIT / "history.jsonl").read_text().splitlines()
    for n in range(engine.KEPT_RUNS + 3):
        path.write_text("\n".join([*lines[:1 + n % len(lines)], f'{{"from": "{USER}", "nonce": "{n}"}}']) + "\n")
        audit_file(path, AuditSettings(address=USER, chain_id=1))
    assert len(list((cache_dir() / "audit").iterdir())) == engine.KEPT_RUNS


def test_the_resume_key_is_stable_across_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from copilot.state.addressbook import add_entry
    from copilot.state.history import record_addresses

    record_addresses([FRIEND, LOOKALIKE, UNKNOWN, UNKNOWN2, OPERATOR])
    for i, address in enumerate([ROUTER, NFT, USDC]):
        add_entry(address, f"label {i}")
    code = f"from copilot.audit.knowledge import Knowledge; print(Knowledge.load(None, '{USER}', 1).fingerprint)"
    prints = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout
        for seed in ("1", "2", "3")
    }
    assert len(prints) == 1  # sets (history, allow list) must not make it depend on hash order


def test_a_blob_transaction_from_the_node_is_reviewed_not_rejected(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (AUDIT / "history.jsonl").read_text().splitlines() if line.endswith("}")]
    blob = dict(rows[0])  # eth_getTransactionByHash of a type-3 transaction carries its blob fields
    blob.update(
        type="0x3",
        maxFeePerGas="0x77359400",
        maxPriorityFeePerGas="0x3b9aca00",
        maxFeePerBlobGas="0x3b9aca00",
        blobVersionedHashes=["0x01" + "ab" * 31],
        hash="0x" + "be" * 32,
    )
    blob.pop("gasPrice", None)
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [*rows, blob]) + "\n")
    report = audit_file(path, AuditSettings(address=USER, chain_id=1))
    assert report.bad_row_details == []
    assert report.reviewed == len(rows)  # every row but the attacker's, plus the blob transaction
