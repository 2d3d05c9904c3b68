"""`sign` never runs the in-process model behind a missing sandbox layer, unless the user's config
accepts weaker isolation ([model] accept_weaker_isolation = true)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nodehelpers import ANVIL_ACCOUNTS
from signhelpers import import_account, invoke

from copilot.config import config_path
from copilot.llm import explain, sandbox
from copilot.llm.sandbox import Worker

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
FAKE_ANSWER = json.dumps(
    {"summary": "You sign a message.", "what_happens": ["You sign it."], "risks": [], "risk_level": "low", "questions": []}
)


def _sign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[dict[str, Any]]]:
    pw = import_account(tmp_path, SENDER_KEY, "me")
    started: list[dict[str, Any]] = []
    original = Worker.__init__

    def recording(self: Worker, plan: sandbox.SandboxPlan) -> None:
        started.append({"mode": plan.mode})
        original(self, plan)

    monkeypatch.setattr(Worker, "__init__", recording)
    fake = {"backend": "fake", "answer": FAKE_ANSWER, "name": "fake-model"}
    monkeypatch.setattr(explain, "_load_request", lambda *args: (fake, "fake-model"))
    policy = tmp_path / "open.toml"
    policy.write_text('name = "open"\ndefault = "allow"\n', encoding="utf-8")
    message = tmp_path / "message.json"
    message.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + b"hello".hex(), SENDER]}))
    result = invoke(["sign", str(message), "--account", "me", "--policy", str(policy), "--password-file", str(pw)])
    explain.close_workers()
    return result, started


def test_sign_goes_on_without_the_model_when_a_layer_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "none")
    result, started = _sign(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert started == []  # no worker was even started, so no model file was opened
    said = [line for line in result.output.splitlines() if line.startswith("model not run")]
    assert len(said) == 1
    assert "filesystem" in said[0] and "accept_weaker_isolation = true" in said[0]
    assert "You sign a message." not in result.output


def test_sign_runs_the_model_behind_a_weaker_sandbox_when_the_config_accepts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "none")
    config_path().write_text("[model]\naccept_weaker_isolation = true\n", encoding="utf-8")
    result, started = _sign(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert started == [{"mode": "none"}]
    assert "model not run" not in result.output
    assert "You sign a message." in result.output


def test_sign_runs_the_model_in_the_full_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (sandbox.bwrap_available()[0] or sandbox.namespaces_available()[0]):
        pytest.skip("no way to build the sandbox on this machine")
    result, started = _sign(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert started and started[0]["mode"] in ("bwrap", "namespaces")
    assert "You sign a message." in result.output and "model not run" not in result.output
