"""The user's own LLM server (copilot.llm.server): loopback only, no redirects, timeouts, each dialect's
request, and every answer checked like the in-process model's. Servers here are loopback fakes that
answer with bodies from each server's documentation (tests/llmserverhelpers.py); the real
llama_cpp.server is in test_llm_server_real.py."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from llmserverhelpers import (
    DEMO,
    GOOD_ANSWER,
    LLAMA_SERVER_PROPS,
    LLAMA_SERVER_TIMINGS,
    FakeLLMServer,
    chat_completion,
    free_port,
    lmstudio_server,
    ollama_chat,
    ollama_server,
    reply,
    review_json,
    run,
)

from copilot.cli.main import cli
from copilot.config import LLMServerSettings
from copilot.llm.schema import LLMAnswer
from copilot.llm.server import MAX_RESPONSE_BYTES, SEED, answer_schema, connect, diagnose, server_target


@pytest.fixture(scope="module")
def deterministic() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["review", DEMO, "--json", "--no-llm", "--no-log"])
    return dict(json.loads(result.stdout))


@pytest.fixture
def servers() -> Iterator[list[FakeLLMServer]]:
    started: list[FakeLLMServer] = []
    yield started
    for server in started:
        server.close()


def started(servers: list[FakeLLMServer], server: FakeLLMServer) -> FakeLLMServer:
    servers.append(server)
    return server


def write_config(home: Path, text: str) -> None:
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "config.toml").write_text(text)


def openai_answer(content: str, **extra: Any) -> Any:
    return reply(chat_completion(content, **extra))


# ----------------------------------------------------------------------------- where it may connect


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.7:8080", "http://[2001:db8::1]:8080", "http://192.168.1.10:11434", "http://0.0.0.0:8080"],
)
def test_a_server_off_this_machine_is_refused_with_one_line_and_exit_2(url: str) -> None:
    result = run("review", DEMO, "--llm-url", url)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "loopback" in result.stderr


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8080", "ftp://127.0.0.1/", "http://user:pw@127.0.0.1:8080", "unix:relative.sock", "http://127.0.0.1:8080/api/x"]
)
def test_a_url_that_is_not_a_plain_local_server_is_refused(url: str) -> None:
    result = run("review", DEMO, "--llm-url", url)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_remote_server_in_config_is_a_config_error(isolated_home: Path) -> None:
    write_config(isolated_home, '[llm]\nurl = "http://203.0.113.5:8080"\n')
    result = run("review", DEMO)
    assert result.exit_code == 3, result.output
    assert "[llm] url" in result.stderr and "loopback" in result.stderr


def test_localhost_resolves_to_loopback_and_is_accepted() -> None:
    target = server_target(LLMServerSettings(url="http://localhost:8080"), source="--llm-url")
    assert {ip for ip, _ in target.addresses} <= {"127.0.0.1", "::1"} and target.addresses
    assert target.host_header == "localhost:8080"


def test_localhost_reaches_a_server_on_127_0_0_1_whatever_it_resolves_to_first(servers: list[FakeLLMServer]) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    port = server.url.rsplit(":", 1)[1]
    target = server_target(LLMServerSettings(url=f"http://localhost:{port}"), source="--llm-url")
    ipv6_first = dataclasses.replace(target, addresses=(("::1", int(port)), ("127.0.0.1", int(port))))
    assert connect(ipv6_first).info.model == "qwen3:8b"  # ::1 refuses: the fake listens on 127.0.0.1
    assert server.seen[0].headers["host"] == f"localhost:{port}"


@pytest.mark.parametrize("args", [["--llm-dialect", "ollama"], ["--llm-model", "qwen3:8b"]])
def test_server_flags_without_a_server_are_a_usage_error(args: list[str]) -> None:
    result = run("review", DEMO, *args)
    assert result.exit_code == 2 and "--llm-url" in result.stderr


def test_model_file_and_server_contradict(tmp_path: Path) -> None:
    result = run("review", DEMO, "--model", str(tmp_path / "m.gguf"), "--llm-url", "http://127.0.0.1:8080")
    assert result.exit_code == 2 and "contradict" in result.stderr


# ----------------------------------------------------------------------------- a server that fails


def test_a_down_server_is_one_line_and_the_deterministic_review_stands(deterministic: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    review = review_json("--llm-url", url)
    assert review["explanation_source"] == "deterministic"
    assert review["explanation"] == deterministic["explanation"]
    assert (review["verdict"], review["risk_score"]) == (deterministic["verdict"], deterministic["risk_score"])
    assert review["explanation_note"].startswith(f"deterministic explanation: the LLM server at {url} did not answer")
    assert "\n" not in review["explanation_note"]


def test_a_slow_server_times_out_at_the_configured_limit(
    servers: list[FakeLLMServer], isolated_home: Path, deterministic: dict[str, Any]
) -> None:
    def slow(_: Any) -> tuple[int, dict[str, str], bytes]:
        time.sleep(3)
        return 200, {}, json.dumps(chat_completion(json.dumps(GOOD_ANSWER))).encode()

    server = started(servers, lmstudio_server(slow))
    write_config(isolated_home, "[llm]\ntimeout_s = 1\n")
    review = review_json("--llm-url", server.url)
    assert review["explanation_note"] == (
        f"deterministic explanation: the LLM server at {server.url} took longer than 1 s; "
        "raise [llm] timeout_s in config.toml, or use a smaller model"
    )
    assert review["explanation"] == deterministic["explanation"]


def test_a_redirect_is_not_followed(servers: list[FakeLLMServer]) -> None:
    elsewhere = started(servers, lmstudio_server(openai_answer(json.dumps(GOOD_ANSWER))))
    server = started(
        servers,
        lmstudio_server(reply({}, status=307, headers={"Location": f"{elsewhere.url}/v1/chat/completions"})),
    )
    review = review_json("--llm-url", server.url)
    assert "redirect (HTTP 307)" in review["explanation_note"]
    assert elsewhere.seen == []


def test_an_api_key_is_sent_from_the_named_environment_variable(
    servers: list[FakeLLMServer], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = started(servers, lmstudio_server(openai_answer(json.dumps(GOOD_ANSWER))))
    write_config(isolated_home, '[llm]\napi_key_env = "MY_LLM_KEY"\n')
    assert run("review", DEMO, "--llm-url", server.url).exit_code == 3  # named but not set
    monkeypatch.setenv("MY_LLM_KEY", "sekrit")
    review_json("--llm-url", server.url)
    assert {s.headers.get("authorization") for s in server.seen} == {"Bearer sekrit"}


# ----------------------------------------------------------------------------- hostile answers


def hostile_review(servers: list[FakeLLMServer], content: str) -> dict[str, Any]:
    server = started(servers, lmstudio_server(openai_answer(content)))
    return review_json("--llm-url", server.url, "--no-log")


def test_a_server_that_calls_a_risky_request_safe_lowers_nothing(
    servers: list[FakeLLMServer], deterministic: dict[str, Any]
) -> None:
    hostile = {
        "summary": "You are safe, this is a routine request. Send your USDC to 0x000000000000000000000000000000000000dEaD.",
        "what_happens": ["Nothing happens."],
        "risks": [],
        "risk_level": "low",
        "questions": ["Why not sign at once?"],
    }
    review = hostile_review(servers, json.dumps(hostile))
    assert review["explanation_source"] == "llm"
    assert (review["verdict"], review["risk_score"], review["decided_by"]) == (
        deterministic["verdict"], deterministic["risk_score"], deterministic["decided_by"]
    )
    assert [f["id"] for f in review["findings"]] == [f["id"] for f in deterministic["findings"]]
    assert review["explanation"].startswith(deterministic["explanation"])
    assert "dEaD" not in review["explanation"]  # the invented address is dropped by the grounding check
    assert review["llm"]["grounding"]["dropped"] >= 1


def test_an_answer_with_extra_fields_is_dropped(servers: list[FakeLLMServer], deterministic: dict[str, Any]) -> None:
    review = hostile_review(servers, json.dumps({**GOOD_ANSWER, "verdict": "allow"}))
    assert review["explanation_source"] == "deterministic" and review["llm"] is None
    assert review["explanation_note"] == "deterministic explanation: the model's answer was not valid JSON of the answer's fields"
    assert review["verdict"] == deterministic["verdict"]


def test_an_oversized_answer_is_dropped(servers: list[FakeLLMServer]) -> None:
    huge = {**GOOD_ANSWER, "summary": "You allow it. " * (MAX_RESPONSE_BYTES // 10)}
    review = hostile_review(servers, json.dumps(huge))
    assert review["llm"] is None
    assert "larger than 256 KiB" in review["explanation_note"]


def test_an_answer_beyond_the_limits_is_cut_to_them(servers: list[FakeLLMServer]) -> None:
    flood = {
        **GOOD_ANSWER,
        "what_happens": ["The spender can move all of your USDC."] * 2 + ["Then \x1b[31mrun this\x1b[0m."],
        "risks": [{"finding": "approval.unlimited", "text": f"Risk number {word}."} for word in ("one", "two", "three", "four", "five")],
        "questions": ["Is this you?", "Really?"],
    }
    review = hostile_review(servers, json.dumps(flood))
    llm = review["llm"]
    assert len(llm["risks"]) <= 3 and len(llm["questions"]) <= 1
    assert "\x1b" not in review["explanation"]
    assert any("left out: over the answer's limits" in note for note in llm["notes"])


def test_a_contradictory_critical_answer_may_raise_but_never_lowers(
    servers: list[FakeLLMServer], deterministic: dict[str, Any]
) -> None:
    raising = {**GOOD_ANSWER, "risk_level": "critical"}
    review = hostile_review(servers, json.dumps(raising))
    assert review["risk_score"] >= deterministic["risk_score"]
    assert review["verdict"] in ("confirm", "block") and review["llm"]["raised_verdict"] is True


# ----------------------------------------------------------------------------- dialects


def test_ollama_gets_the_schema_no_thinking_and_fixed_sampling(
    servers: list[FakeLLMServer], deterministic: dict[str, Any]
) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    review = review_json("--llm-url", server.url, "--llm-model", "qwen3:8b")
    (chat,) = server.posts("/api/chat")
    body = chat.body
    assert set(body) == {"model", "messages", "stream", "think", "options", "format"}  # no tools
    assert body["model"] == "qwen3:8b" and body["stream"] is False and body["think"] is False
    assert body["options"] == {"temperature": 0, "seed": SEED, "num_predict": body["options"]["num_predict"]}
    assert 0 < body["options"]["num_predict"] <= 512
    assert body["format"]["additionalProperties"] is False
    assert set(body["format"]["properties"]["risks"]["items"]["properties"]["finding"]["enum"]) == {
        *(f["id"] for f in deterministic["findings"]), "new"
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "0x9D3e…A8F1" in body["messages"][1]["content"]
    server_info = review["llm"]["server"]
    assert server_info["dialect"] == "ollama" and server_info["model"] == "qwen3:8b"
    assert server_info["details"]["digest"].startswith("500a1f06") and server_info["details"]["parameter_size"] == "8.2B"
    assert server_info["isolation"] == "external server, not sandboxed by txcopilot"
    assert review["explanation_source"] == "llm"
    assert review["llm"]["summary"] == GOOD_ANSWER["summary"]


def test_ollama_without_a_model_name_takes_the_first_listed_and_refuses_an_unknown_one(
    servers: list[FakeLLMServer],
) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    assert review_json("--llm-url", server.url)["llm"]["server"]["model"] == "qwen3:8b"
    missing = review_json("--llm-url", server.url, "--llm-model", "mistral:7b", "--no-log")
    assert "has no model 'mistral:7b'" in missing["explanation_note"]


def test_ollama_cut_off_answer_keeps_its_complete_parts(servers: list[FakeLLMServer]) -> None:
    text = json.dumps(GOOD_ANSWER)
    cut = text[: text.index('"risks"')]
    server = started(servers, FakeLLMServer({
        ("GET", "/api/version"): reply({"version": "0.12.6"}),
        ("GET", "/api/tags"): reply({"models": [{"name": "qwen3:8b"}]}),
        ("POST", "/api/chat"): reply(ollama_chat(cut, done_reason="length")),
    }))
    review = review_json("--llm-url", server.url)
    assert review["llm"]["summary"] == GOOD_ANSWER["summary"]
    assert any("cut off" in note for note in review["llm"]["notes"])


def test_lm_studio_gets_a_json_schema_response_format(servers: list[FakeLLMServer]) -> None:
    server = started(servers, lmstudio_server(openai_answer(json.dumps(GOOD_ANSWER))))
    review = review_json("--llm-url", server.url + "/v1")
    (chat,) = server.posts("/v1/chat/completions")
    body = chat.body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    assert body["temperature"] == 0 and body["seed"] == SEED and body["stream"] is False
    assert "grammar" not in body and not {"tools", "tool_choice", "functions"} & set(body)
    assert review["llm"]["server"]["dialect"] == "openai"  # LM Studio's 200 for /props is not llama-server
    assert review["llm"]["model"] == "qwen2.5-7b-instruct"


def llama_server(content: str, **kwargs: Any) -> FakeLLMServer:
    return FakeLLMServer(
        {
            ("GET", "/health"): reply({"status": "ok"}),
            ("GET", "/props"): reply(LLAMA_SERVER_PROPS),
            ("GET", "/v1/models"): reply({"data": [{"id": "qwen3-30b-a3b"}]}),
            ("POST", "/v1/chat/completions"): openai_answer(content, timings=LLAMA_SERVER_TIMINGS),
            ("OPTIONS", "/v1/chat/completions"): reply({}, headers={"Access-Control-Allow-Origin": "*"}),
        },
        **kwargs,
    )


def test_llama_server_is_detected_and_gets_the_gbnf_grammar(servers: list[FakeLLMServer]) -> None:
    server = started(servers, llama_server(json.dumps(GOOD_ANSWER)))
    review = review_json("--llm-url", server.url)
    (chat,) = server.posts("/v1/chat/completions")
    assert chat.body["grammar"].startswith("root ::= ") and "response_format" not in chat.body
    assert chat.body["cache_prompt"] is True and chat.body["chat_template_kwargs"] == {"enable_thinking": False}
    assert not {"tools", "tool_choice", "functions"} & set(chat.body)
    info = review["llm"]["server"]
    assert (info["dialect"], info["model"]) == ("llama-server", "qwen3-30b-a3b")
    assert info["details"]["n_ctx"] == "8192" and info["details"]["health"] == "ok"
    assert review["llm"]["timing"]["tokens_per_s"] == pytest.approx(88.9)


def test_a_unix_socket_server_is_used(servers: list[FakeLLMServer], tmp_path: Path) -> None:
    server = started(servers, llama_server(json.dumps(GOOD_ANSWER), unix_path=str(tmp_path / "llm.sock")))
    review = review_json("--llm-url", server.url)
    assert review["explanation_source"] == "llm" and review["llm"]["server"]["url"] == server.url
    assert server.seen[0].headers["host"] == "localhost"


def test_the_review_says_which_server_answered_and_the_log_records_it(servers: list[FakeLLMServer]) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    result = run("review", DEMO, "--llm-url", server.url)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Explanation (deterministic + your LLM server)" in text
    assert f"model: qwen3:8b via the ollama server at {server.url} (external server, not sandboxed by txcopilot)" in text
    entries = json.loads(run("log", "show", "--json").stdout)
    llm = entries[-1]["data"]["llm"]
    assert llm["server"]["model"] == "qwen3:8b" and llm["server"]["dialect"] == "ollama"
    assert llm["server"]["details"]["digest"] == "500a1f067a9f782620b40bee6f7b0c89e17ae61f686b92c24933e4ca4b2b8b41"


def test_a_configured_server_is_used_only_when_configured(servers: list[FakeLLMServer], isolated_home: Path) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    assert review_json("--no-llm")["llm"] is None
    assert server.seen == []
    write_config(isolated_home, f'[llm]\nurl = "{server.url}"\n')
    assert review_json()["llm"]["server"]["url"] == server.url


# ----------------------------------------------------------------------------- schema, doctor, eval


def test_answer_schema_is_the_answer_model_with_the_grammars_caps() -> None:
    schema = answer_schema(["approval.unlimited"])
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    assert set(schema["required"]) == set(LLMAnswer.model_fields) == set(schema["properties"])
    risk = schema["properties"]["risks"]["items"]
    assert risk["additionalProperties"] is False and risk["properties"]["finding"]["enum"] == ["approval.unlimited", "new"]
    assert schema["properties"]["risks"]["maxItems"] == 3
    LLMAnswer.model_validate(GOOD_ANSWER)


def test_doctor_warns_about_a_server_any_web_page_can_call(servers: list[FakeLLMServer]) -> None:
    server = started(servers, llama_server(json.dumps(GOOD_ANSWER)))
    checks = {name: (ok, detail, required) for name, ok, detail, required in diagnose(
        server_target(LLMServerSettings(url=server.url), source="--llm-url")
    )}
    assert checks["llm server"][0] is True and "qwen3-30b-a3b" in checks["llm server"][1]
    assert checks["llm server: isolation"][1].startswith("external server, not sandboxed by txcopilot")
    ok, detail, required = checks["llm server: exposure"]
    assert not ok and not required
    assert "any web page you open may call it" in detail and "/slots is on" in detail


def test_doctor_finds_nothing_risky_on_a_server_with_a_key(servers: list[FakeLLMServer], monkeypatch: pytest.MonkeyPatch) -> None:
    def guarded(_: Any) -> tuple[int, dict[str, str], bytes]:
        return 401, {}, b'{"error": {"message": "Invalid API Key"}}'

    server = started(servers, lmstudio_server(openai_answer("{}")))
    server.routes[("GET", "/v1/models")] = lambda _: (
        (200, {}, json.dumps({"data": [{"id": "m"}]}).encode())
        if server.seen[-1].headers.get("authorization") == "Bearer k" else guarded(_)
    )
    monkeypatch.setenv("K", "k")
    target = server_target(LLMServerSettings(url=server.url, api_key_env="K"), source="--llm-url")
    checks = {name: (ok, detail) for name, ok, detail, _ in diagnose(target)}
    assert checks["llm server: exposure"] == (True, "no risky setting visible through its API")


def test_doctor_fails_on_a_configured_server_that_is_down() -> None:
    target = server_target(LLMServerSettings(url=f"http://127.0.0.1:{free_port()}"), source="--llm-url")
    ((name, ok, detail, required),) = diagnose(target)
    assert (name, ok, required) == ("llm server", False, True) and "did not answer" in detail


def test_eval_scores_a_servers_model(servers: list[FakeLLMServer]) -> None:
    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    result = run("eval", "--llm-url", server.url, "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["model"] == f"qwen3:8b (ollama at {server.url})"
    assert summary["cases"] == 2 and summary["completed"] == 2
    assert len(server.posts("/api/chat")) == 2


def test_eval_against_a_down_server_is_exit_4() -> None:
    result = run("eval", "--llm-url", f"http://127.0.0.1:{free_port()}", "--limit", "1")
    assert result.exit_code == 4 and "did not answer" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_audit_narrative_comes_from_the_server(servers: list[FakeLLMServer]) -> None:
    from copilot.llm.narrate import NarrativeFacts, narrate_audit

    facts = NarrativeFacts()
    facts.add("- open approvals: 2")
    facts.add("- unlimited approval of USDC to 0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1")
    text = "Your wallet has 2 open approvals. Your wallet also sent funds to 0x000000000000000000000000000000000000dEaD."
    server = started(servers, lmstudio_server(openai_answer(text)))
    narrative = narrate_audit(facts, server=server_target(LLMServerSettings(url=server.url), source="--llm-url"))
    assert narrative.model == "qwen2.5-7b-instruct"
    assert narrative.text == "Your wallet has 2 open approvals."
    assert narrative.grounding.dropped == 1
    (chat,) = server.posts("/v1/chat/completions")
    assert "response_format" not in chat.body  # plain sentences: no JSON schema for the narrative


def test_a_server_that_drips_its_answer_still_ends_at_the_deadline(isolated_home: Path) -> None:
    """Each byte comes well within the timeout; the whole answer never does."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.is_set():
                    return
                connection.sendall(bytes([byte]))
                time.sleep(0.2)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    write_config(isolated_home, "[llm]\ntimeout_s = 1\n")
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        review = review_json("--llm-url", url, "--llm-dialect", "openai", "--llm-model", "m", "--no-log")
    finally:
        stop.set()
        listener.close()
    assert "took longer than 1 s" in review["explanation_note"]


def test_a_review_with_a_server_starts_no_model_worker(servers: list[FakeLLMServer]) -> None:
    from copilot.llm import explain

    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    before = set(explain._workers)  # workers earlier tests in this process left
    assert review_json("--llm-url", server.url, "--no-log")["explanation_source"] == "llm"
    assert set(explain._workers) == before


def test_a_review_with_a_server_never_loads_llama_cpp(servers: list[FakeLLMServer]) -> None:
    import subprocess
    import sys

    server = started(servers, ollama_server(json.dumps(GOOD_ANSWER)))
    probe = (
        "import sys, json; from copilot.cli.main import cli;"
        f"cli(['review', {DEMO!r}, '--json', '--no-log', '--llm-url', {server.url!r}], standalone_mode=False);"
        "print([m for m in ('llama_cpp', 'numpy') if m in sys.modules], file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["explanation_source"] == "llm"
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_sign_uses_the_server_says_so_and_logs_it(servers: list[FakeLLMServer], tmp_path: Path) -> None:
    from nodehelpers import ANVIL_ACCOUNTS
    from signhelpers import import_account

    sender, key = ANVIL_ACCOUNTS[0]
    pw = import_account(tmp_path, key, "me")
    request = tmp_path / "hello.json"
    request.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + b"hello txcopilot".hex(), sender]}))
    answer = {**GOOD_ANSWER, "summary": "You sign a message.", "what_happens": [], "risks": [], "risk_level": "low"}
    server = started(servers, ollama_server(json.dumps(answer)))
    result = run("sign", str(request), "--account", "me", "--password-file", str(pw), "--llm-url", server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("0x")
    assert f"model: qwen3:8b via the ollama server at {server.url} (external server, not sandboxed by txcopilot)" in " ".join(result.stderr.split())
    (review_entry,) = [e for e in json.loads(run("log", "show", "--json").stdout) if e["event"] == "review"]
    assert review_entry["data"]["llm"]["server"]["model"] == "qwen3:8b"


def test_an_answer_read_in_many_pieces_arrives_whole(servers: list[FakeLLMServer]) -> None:
    """A long body is read after http.client has closed its side of a Connection: close exchange."""
    padded = reply(chat_completion(json.dumps(GOOD_ANSWER), system_fingerprint="x" * 200_000), headers={"Connection": "close"})
    server = started(servers, lmstudio_server(padded))
    review = review_json("--llm-url", server.url, "--no-log")
    assert review["explanation_source"] == "llm", review["explanation_note"]


def test_doctor_with_a_configured_server_checks_it_instead_of_requiring_the_model(
    servers: list[FakeLLMServer], isolated_home: Path, tmp_path: Path
) -> None:
    server = started(servers, llama_server(json.dumps(GOOD_ANSWER)))
    write_config(isolated_home, f'[model]\npath = "{tmp_path / "gone.gguf"}"\n\n[llm]\nurl = "{server.url}"\n')
    result = run("doctor", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["model"]["ok"] and not checks["model"]["required"]  # reviews use the server
    assert checks["llm server"]["ok"] and checks["llm server"]["required"]
    assert checks["llm server: isolation"]["detail"].startswith("external server, not sandboxed by txcopilot")
    assert "/slots is on" in checks["llm server: exposure"]["detail"]
    assert result.exit_code == (0 if report["ok"] else 4)
    server.close()
    servers.remove(server)
    down = run("doctor", "--json")
    assert down.exit_code == 4
    assert "did not answer" in {c["name"]: c for c in json.loads(down.stdout)["checks"]}["llm server"]["detail"]


def test_an_audit_narrative_from_the_server_says_so_in_the_report(servers: list[FakeLLMServer]) -> None:
    from copilot.resources import fixtures_dir

    server = started(servers, lmstudio_server(openai_answer("Your wallet has open approvals.")))
    history = fixtures_dir() / "audit" / "history.jsonl"
    user = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    result = run("audit", "--address", user, "--file", str(history), "--llm-url", server.url, "--format", "md")
    assert result.exit_code == 0, result.output
    assert "Written by your LLM server's model qwen2.5-7b-instruct (external server, not sandboxed by txcopilot)" in result.stdout
    assert "Written by the local model" not in result.stdout
