"""The user's own LLM server, for real: `python -m llama_cpp.server` (llama-cpp-python[server], in the
test extra) serving the bundled default model on a free loopback port.

It takes llama-server's `grammar` field but has neither /health nor /props (both are probed and
their absence handled), and its response_format knows only "json_object", so the OpenAI dialect's
json_schema request is refused, which is one line in the review. Each generation takes tens of
seconds on a loaded 2-core machine: one server for the module, one generation in all (eval --llm-url
is tested against the fakes in test_llm_server.py, and measured against this server in the README).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmserverhelpers import review_json, run, start_llama_cpp_server, stop

from copilot.config import LLMServerSettings
from copilot.llm.discovery import default_model
from copilot.llm.server import diagnose, server_target

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:PORT of a llama_cpp.server serving the default model, stopped after the module."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"llama_cpp.server is not importable ({exc}): pip install -e '.[test]'")
    model = default_model()
    if model is None:
        pytest.fail("the default model is not installed: run `txcopilot model install`")
    with (tmp_path_factory.mktemp("llama-cpp-server") / "server.log").open("wb") as log:
        try:
            process, url = start_llama_cpp_server(model, log)
        except RuntimeError as exc:
            pytest.fail(f"{exc} (see {log.name})")
        try:
            yield url
        finally:
            stop(process)


@pytest.fixture
def patient(isolated_home: Path) -> None:
    """A server that shares two cores with the test suite takes its time."""
    (isolated_home / "config").mkdir(exist_ok=True)
    (isolated_home / "config" / "config.toml").write_text("[llm]\ntimeout_s = 900\n")


@pytest.mark.usefixtures("patient")
def test_llama_cpp_server_explains_a_review_under_the_grammar(llama_cpp_server: str) -> None:
    deterministic = review_json("--no-llm", "--no-log")
    review = review_json("--llm-url", llama_cpp_server, "--llm-dialect", "llama-server")
    assert review["explanation_source"] == "llm", review["explanation_note"]
    llm = review["llm"]
    server = llm["server"]
    model = str(default_model())
    assert (server["dialect"], server["model"]) == ("llama-server", model)  # its identity from /v1/models
    assert server["details"] == {"health": "no /health endpoint", "props": "no /props endpoint"}
    assert llm["model"] == model
    # A 135M model writes valid LLMAnswer JSON only under the grammar; the grounding and repeat checks
    # then keep what they keep, and a risk cites only this review's findings.
    ids = [f["id"] for f in deterministic["findings"]]
    assert llm["grounding"]["checked"] >= 1
    assert {r["finding"] for r in llm["risks"]} <= {*ids, None}
    assert llm["summary"] == "" or llm["summary"].startswith("You ")
    assert review["risk_score"] >= deterministic["risk_score"]
    assert review["verdict"] in ("confirm", "block") and deterministic["verdict"] == "confirm"
    assert {f["id"] for f in review["findings"]} >= set(ids)
    assert review["explanation"].startswith(deterministic["explanation"])
    entries = json.loads(run("log", "show", "--json").stdout)
    assert entries[-1]["data"]["llm"]["server"]["model"] == model


@pytest.mark.usefixtures("patient")
def test_llama_cpp_server_refuses_the_openai_json_schema_and_the_review_stands(llama_cpp_server: str) -> None:
    review = review_json("--llm-url", llama_cpp_server, "--llm-dialect", "openai", "--no-log")
    assert review["explanation_source"] == "deterministic"
    note = review["explanation_note"]
    assert note.startswith("deterministic explanation: the LLM server refused /v1/chat/completions: HTTP 500")
    assert "json_object" in note and "\n" not in note


def test_doctor_reports_llama_cpp_servers_open_cors_and_isolation(llama_cpp_server: str) -> None:
    """llama_cpp.server reflects any Origin (with credentials) and has no API key by default."""
    checks = {name: (ok, detail) for name, ok, detail, _ in diagnose(
        server_target(LLMServerSettings(url=llama_cpp_server), source="--llm-url")
    )}
    assert checks["llm server"][0] is True and "openai at" in checks["llm server"][1]  # auto: no /props, no /api
    assert checks["llm server: isolation"][1].startswith("external server, not sandboxed by txcopilot")
    ok, detail = checks["llm server: exposure"]
    assert not ok and "any web page you open may call it" in detail
