"""What the model is sent during a real `txcopilot sign --account NAME`: never the key, keystore or password."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nodehelpers import ANVIL_ACCOUNTS, Anvil
from signhelpers import PASSWORD, import_account, invoke

from copilot.llm import explain
from copilot.llm.sandbox import Worker
from copilot.state.dirs import config_dir, data_dir, keystore_dir

SENDER, SENDER_KEY = ANVIL_ACCOUNTS[0]
FAKE_ANSWER = json.dumps(
    {
        "summary": "You send 1 wei.",
        "what_happens": ["You sign it."],
        "risks": [],
        "risk_level": "low",
        "questions": ["Did you start this yourself?"],
    }
)


@pytest.mark.anvil
def test_the_prompt_of_a_real_sign_holds_no_key_keystore_path_data_dir_or_password(
    tmp_path: Path, anvil: Anvil, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = import_account(tmp_path, SENDER_KEY, "me")
    sent: list[dict[str, Any]] = []
    original = Worker.request

    def recording(self: Worker, message: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        sent.append(message)
        return original(self, message, **kwargs)

    monkeypatch.setattr(Worker, "request", recording)
    fake = {"backend": "fake", "answer": FAKE_ANSWER, "name": "fake-model"}
    monkeypatch.setattr(explain, "_load_request", lambda *args: (fake, "fake-model"))
    policy = tmp_path / "open.toml"
    policy.write_text('name = "open"\ndefault = "allow"\n', encoding="utf-8")
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps({"method": "eth_sendTransaction", "params": [{"from": SENDER, "to": ANVIL_ACCOUNTS[1][0], "value": "0x1"}]})
    )

    result = invoke(
        ["sign", str(request), "--account", "me", "--policy", str(policy), "--rpc", anvil.url,
         "--password-file", str(pw), "--json"]
    )

    assert result.exit_code == 0, result.output
    generate = [m for m in sent if m.get("type") == "generate"]
    assert len(generate) == 1, "the model must have been asked"
    recipient = ANVIL_ACCOUNTS[1][0]
    assert f"{recipient[:6]}…{recipient[-4:]}" in generate[0]["user"]  # the facts did reach the model
    everything = json.dumps(sent).lower()
    key = SENDER_KEY.lower().removeprefix("0x")
    assert key not in everything and key[:16] not in everything
    keystores = list(keystore_dir().iterdir())
    assert keystores
    for secret in [*map(str, keystores), str(keystore_dir()), str(data_dir()), str(config_dir()), str(pw), PASSWORD]:
        assert secret.lower() not in everything
