"""`txcopilot review`: the output contract, exit statuses, the LLM's advisory role, and --rpc facts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.models import Review
from copilot.resources import fixtures_dir

DEMO = fixtures_dir() / "demo" / "unlimited-approval.json"
SPENDER = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_json_output_contract_on_the_demo() -> None:
    code, out, _ = run("review", str(DEMO), "--json", "--no-llm")
    assert code == 0
    doc = json.loads(out)
    assert doc["verdict"] == "confirm"
    assert isinstance(doc["risk_score"], int) and 70 <= doc["risk_score"] < 90
    assert {f["id"] for f in doc["findings"]} >= {"approval.unlimited", "approval.unknown_spender"}
    assert all(set(f) >= {"id", "severity", "title", "evidence"} for f in doc["findings"])
    assert doc["decided_by"] == "finding:approval.unknown_spender"
    assert doc["decoded"]["call"]["function"] == "approve(address,uint256)"
    assert doc["explanation_source"] == "deterministic"
    assert "unlimited USDC" in doc["explanation"] and SPENDER in doc["explanation"]
    assert doc["policy"] == "default"


def test_fail_on_makes_the_verdict_drive_the_exit_status() -> None:
    assert run("review", str(DEMO), "--no-llm", "--json", "--fail-on", "confirm")[0] == 1
    assert run("review", str(DEMO), "--no-llm", "--json", "--fail-on", "block")[0] == 0
    strict = run("review", str(DEMO), "--no-llm", "--json", "--policy", "paranoid", "--fail-on", "confirm")
    assert strict[0] == 1


def test_input_from_stdin_and_inline_json() -> None:
    text = DEMO.read_text()
    stdin = json.loads(run("review", "-", "--json", "--no-llm", input=text)[1])
    inline = json.loads(run("review", text, "--json", "--no-llm")[1])
    assert stdin["verdict"] == inline["verdict"] == "confirm"
    assert stdin["decoded"]["payload_hash"] == inline["decoded"]["payload_hash"]


def test_human_view_shows_banner_findings_and_explanation() -> None:
    code, out, _ = run("review", str(DEMO), "--no-llm")
    assert code == 0
    assert "CONFIRM" in out and "risk" in out
    assert "approval.unlimited" in out and "Explanation (deterministic)" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["review", "0xzz", "--no-llm"], "hex"),
        (["review", str(DEMO), "--rpc", "http://127.0.0.1:1", "--offline"], "--offline"),
        (["review", str(DEMO), "--from", "0x1234"], "--from"),
        (["review", str(DEMO), "--policy", "no-such-policy", "--no-llm"], "no-such-policy"),
    ],
)
def test_bad_input_gets_one_line_and_no_traceback(args: list[str], fragment: str) -> None:
    code, _, err = run(*args)
    assert code in (2, 3)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment.lower() in err.lower()


def test_the_llm_stage_can_raise_but_never_lower_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from copilot.llm import explain
    from copilot.pipeline import ReviewOptions, review_input

    def lowering(review: Review, options: object) -> Review:
        return review.model_copy(update={"verdict": "allow", "risk_score": 0, "findings": [],
                                         "explanation": "all good", "explanation_source": "llm"})

    monkeypatch.setattr(explain, "enrich_review", lowering)
    review = review_input(DEMO.read_text(), ReviewOptions(use_llm=True))
    assert review.verdict == "confirm" and review.risk_score >= 70
    assert {"approval.unlimited", "approval.unknown_spender"} <= {f.id for f in review.findings}

    def raising(review: Review, options: object) -> Review:
        return review.model_copy(update={"verdict": "block", "decided_by": "llm:advisory"})

    monkeypatch.setattr(explain, "enrich_review", raising)
    assert review_input(DEMO.read_text(), ReviewOptions(use_llm=True)).verdict == "block"


@pytest.mark.anvil
def test_rpc_reveals_an_eoa_spender(anvil: object) -> None:
    url = anvil.url  # type: ignore[attr-defined]
    on_anvil = DEMO.read_text().replace('"chainId": "0x1"', '"chainId": "0x7a69"')  # the node's chain, 31337
    code, out, _ = run("review", "-", "--json", "--no-llm", "--no-log", "--rpc", url, input=on_anvil)
    assert code == 0
    doc = json.loads(out)
    assert "approval.spender_is_eoa" in {f["id"] for f in doc["findings"]}
    assert doc["verdict"] == "block"
    # The demo itself is for chain 1: anvil's state says nothing about it.
    _, out, _ = run("review", str(DEMO), "--json", "--no-llm", "--no-log", "--rpc", url)
    found = {f["id"] for f in json.loads(out)["findings"]}
    assert "rpc.chain_mismatch" in found and "approval.spender_is_eoa" not in found


def test_cold_review_is_fast_and_imports_nothing_heavy() -> None:
    probe = (
        "import sys, time; t = time.perf_counter();"
        "from copilot.cli.main import cli;"
        f"cli(['review', {str(DEMO)!r}, '--no-llm', '--json'], standalone_mode=False);"
        "heavy = [m for m in ('web3', 'eth_account', 'llama_cpp', 'rich') if m in sys.modules];"
        "print(heavy, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=Path(__file__).parent.parent, check=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("case_name", "facts"),
    [
        ("benign-usdc-transfer", ["transfers 150 USDC", "Alice (friend)"]),
        ("benign-aave-supply", ["Aave V3 Pool", "1000 USDC"]),
        ("batch-hidden-unlimited-approval", ["Batch of 2 calls", "unlimited USDC", SPENDER, "Verdict: CONFIRM"]),
        ("order-payment-to-stranger", ["you give NFT #4321", "you receive 0.1 ETH", "9.9 ETH"]),
        ("sign-raw-hash", ["eth_sign", "Verdict: BLOCK"]),
        ("benign-siwe-login", ["Sign-In-With-Ethereum", "app.uniswap.org", "No risk found"]),
    ],
)
def test_deterministic_explanation_says_what_to_whom_and_how_much(case_name: str, facts: list[str]) -> None:
    from copilot.risk.corpus import corpus_dir, load_case, review_case

    explanation = review_case(load_case(corpus_dir() / f"{case_name}.json")).explanation
    for fact in facts:
        assert fact in explanation, (fact, explanation)


def test_human_view_prints_dapp_text_literally_never_as_markup() -> None:
    text = "Claim [bold]now[/bold] [link=https://evil.example]here[/link]"
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "personal_sign",
                          "params": ["0x" + text.encode().hex(), "0x8ba1f109551bD432803012645Ac136ddd64DBA72"]})
    code, out, _ = run("review", request, "--no-llm")
    assert code == 0
    assert "[bold]now[/bold]" in out and "[link=https://evil.example]" in out


def test_a_labelled_corpus_file_reviews_as_the_request_it_wraps() -> None:
    from copilot.risk.corpus import corpus_dir

    code, out, _ = run("review", str(corpus_dir() / "sign-raw-hash.json"), "--json", "--no-llm")
    assert code == 0
    doc = json.loads(out)
    assert doc["verdict"] == "block" and doc["decided_by"] == "finding:sign.raw_hash"


def test_deterministic_explanation_reflects_findings_added_by_the_llm_stage() -> None:
    from copilot.risk.corpus import corpus_dir, load_case, review_case

    review = review_case(load_case(corpus_dir() / "text-prompt-injection.json"))
    assert review.verdict == "confirm"
    assert "Verdict: CONFIRM" in review.explanation and "tries to instruct an AI reviewer" in review.explanation
    assert review.explanation_note and "--no-llm" in review.explanation_note


def test_offline_ignores_the_node_set_in_the_config() -> None:
    from copilot.config import config_path

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[review]\nrpc = "http://127.0.0.1:9"\npolicy = "paranoid"\n', encoding="utf-8")
    code, _, err = run("review", str(DEMO), "--json", "--no-llm")
    assert code == 4 and "127.0.0.1:9" in err
    code, out, _ = run("review", str(DEMO), "--json", "--no-llm", "--offline")
    assert code == 0
    assert json.loads(out)["policy"] == "paranoid"


def test_chain_id_flag_tells_siwe_the_wallets_chain() -> None:
    from copilot.risk.corpus import corpus_dir, load_case

    case = load_case(corpus_dir() / "siwe-chain-mismatch.json")  # "Chain ID: 56", no injected context
    path = str(case.path)
    code, out, _ = run("review", path, "--json", "--no-llm", "--no-log", *case.cli_args())
    doc = json.loads(out)
    assert code == 0 and case.cli_args() == ["--chain-id", "1"]
    assert "siwe.chain_mismatch" in {f["id"] for f in doc["findings"]} and doc["verdict"] == case.verdict
    _, out, _ = run("review", path, "--json", "--no-llm", "--no-log", "--chain-id", "56")
    assert "siwe.chain_mismatch" not in {f["id"] for f in json.loads(out)["findings"]}


def test_a_corrupt_history_costs_a_warning_not_the_review() -> None:
    from copilot.state.history import history_path

    history_path().parent.mkdir(parents=True, exist_ok=True)
    history_path().write_bytes(b"this is not a database" * 100)
    code, out, err = run("review", str(DEMO), "--json", "--no-llm", "--no-log")
    assert code == 0 and json.loads(out)["verdict"]
    assert str(history_path()) in err and "move it aside" in err and "Traceback" not in err


def test_human_view_opens_with_a_sandbox_layer_the_model_ran_without(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from copilot.cli.review import render
    from copilot.llm.schema import IsolationLayer, LLMReport
    from copilot.pipeline import ReviewOptions, review_input

    demo = (fixtures_dir() / "demo" / "unlimited-approval.json").read_text()
    result = review_input(demo, ReviewOptions(use_llm=False))
    result.llm = LLMReport(
        model="fake.gguf",
        summary="You let an unknown spender move all your USDC.",
        risk_level="high",
        isolation=[
            IsolationLayer(name="process", active=True, detail="separate worker process"),
            IsolationLayer(name="network", active=False, detail="unshare: operation not permitted"),
        ],
    )
    render(result)
    lines = capsys.readouterr().out.splitlines()
    # at the top, before the verdict and the findings, not in a footer
    assert lines[0].startswith("WARNING: the model ran without its network sandbox layer: unshare")
    assert not any("process sandbox layer" in line for line in lines)
