"""The user's own LLM server: llama.cpp's llama-server, Ollama, or an OpenAI-compatible one (LM Studio).

Used only when the user configured it ([llm] url in config.toml, or --llm-url). A ServerClient stands
in for the sandboxed worker (the same `request` interface, see copilot.llm.explain): the same
sanitised facts go in, at temperature 0 with a fixed seed, a token cap and no tools, and the same
checks apply to what comes back (the answer model with no extra fields, the grounding check, the
never-lower rule). The server is not sandboxed by txcopilot; every review that used it says so.

Dialects:
- llama-server: POST /v1/chat/completions with the answer's GBNF grammar in `grammar`; GET /health
  and /props when the server has them (llama_cpp.server has neither), /v1/models otherwise.
- ollama: POST /api/chat with `format` = the answer's JSON schema, `think` false and `options`
  (temperature, seed, num_predict); the model's identity from /api/tags and /api/show.
- openai (LM Studio and other OpenAI-compatible servers): POST /v1/chat/completions with
  `response_format` = {"type": "json_schema", ...}; the model's identity from /v1/models.

Why the standard library's http.client and not an HTTP library (urllib3, httpx, requests):
- it follows no redirects, by construction: a 3xx answer is an error here, never a second request;
- HTTP over an AF_UNIX socket is a ten-line subclass (requests needs requests-unixsocket);
- the connection goes to the exact loopback address that was resolved and checked (the Host header
  keeps the name), so a DNS answer cannot change between the check and the connection;
- no new dependency, and nothing for the CLI's import budget (this module loads only when a server
  is configured). tests/test_llm_server_real.py runs it against the real llama_cpp.server.
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import json
import os
import socket
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from copilot.config import LLMServerSettings
from copilot.errors import ConfigError, CopilotError, EnvironmentProblem, InputError
from copilot.llm.schema import ServerInfo

Dialect = Literal["llama-server", "ollama", "openai"]
SEED = 42
# The server counts every token of the answer; the in-process backend does not count the text its
# grammar forces (JSON keys, the rest of an address), about two thirds of an answer.
SERVER_TOKEN_FACTOR = 3
MAX_RESPONSE_BYTES = 256 * 1024
CONNECT_TIMEOUT_S = 5.0
MAX_SHOWN_CHARS = 200
USER_AGENT = "txcopilot"


SERVER_NOTE = "deterministic explanation: the LLM server"  # how a review's note about the server begins


class LLMServerError(EnvironmentProblem):
    """The server cannot be reached, is too slow, refused the request or answered nonsense (exit 4
    where a command needs it; a review keeps its deterministic explanation and says why)."""


@dataclass(frozen=True)
class ServerTarget:
    """A checked server address: loopback TCP (resolved once) or a Unix socket."""

    url: str
    dialect: Literal["auto", "llama-server", "ollama", "openai"]
    model: str | None
    timeout_s: float
    addresses: tuple[tuple[str, int], ...]  # every resolved loopback (ip, port), tried in order; () for a Unix socket
    unix_path: str | None
    host_header: str
    api_key: str | None = field(default=None, repr=False)


def server_target(settings: LLMServerSettings, *, source: str) -> ServerTarget:
    """`settings.url` checked: http:// to a host that resolves to loopback only, or unix:/path.

    A URL that is not one is refused with one line: InputError (exit 2) from `--llm-url`,
    ConfigError (exit 3) from config.toml; a host name that does not resolve is exit 4."""
    url = (settings.url or "").strip()
    refuse = InputError if source == "--llm-url" else ConfigError
    hint = "use http://127.0.0.1:PORT, http://localhost:PORT, http://[::1]:PORT or unix:/path/to.sock"
    api_key = _api_key(settings)
    if url.startswith("unix:"):
        path = unquote(url[len("unix:") :].removeprefix("//"))
        if not path.startswith("/"):
            raise refuse(f"{source} {url!r}: a Unix socket needs an absolute path", hint)
        return ServerTarget(url, settings.dialect, settings.model, settings.timeout_s, (), path, "localhost", api_key)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"{source} {url!r} is not a URL: {exc}", hint) from None
    if parts.scheme != "http" or not parts.hostname:
        raise refuse(f"{source} {url!r}: only http:// to this machine (or unix:) is allowed", hint)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise refuse(f"{source} {url!r}: no credentials, query or fragment in the URL", hint)
    if parts.path.rstrip("/") not in ("", "/v1"):
        raise refuse(f"{source} {url!r}: give the server's address without a path", hint)
    host = parts.hostname
    port = port or 80
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LLMServerError(f"{source}: cannot resolve {host!r}: {exc.strerror or exc}", hint) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    outside = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if outside or not addresses:
        raise refuse(
            f"{source} {url!r}: {host} resolves to {', '.join(outside) or 'nothing'}, not this machine's "
            "loopback; txcopilot sends facts only to a server on this machine",
            hint,
        )
    # "localhost" is often ::1 first while the server listens on 127.0.0.1 only: each is tried.
    checked = tuple((address, port) for address in addresses)
    return ServerTarget(
        f"http://{parts.netloc}", settings.dialect, settings.model, settings.timeout_s, checked, None, parts.netloc, api_key
    )


def _api_key(settings: LLMServerSettings) -> str | None:
    """The key from the environment variable config.toml names (a key never sits in the config)."""
    if not settings.api_key_env:
        return None
    key = os.environ.get(settings.api_key_env)
    if not key:
        raise ConfigError(
            f"[llm] api_key_env names {settings.api_key_env}, which is not set",
            f"export {settings.api_key_env}=YOUR_KEY, or remove api_key_env",
        )
    return key


def shown(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """Text from the server as inert, printable, bounded text (it may be hostile)."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket: only connect() differs."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _DeadlineSocket:
    """A connected socket whose every send and receive waits only until one deadline for the whole
    exchange: a server that drips its answer a byte at a time still ends at it. (A watchdog thread
    per request did the same, but starting it cost 20 ms on a loaded 2-core machine.)"""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the deadline passed")
        self.sock.settimeout(remaining)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self.sock.sendall(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        self._arm()
        return self.sock.recv_into(buffer, nbytes)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]  # reads via recv_into

    def close(self) -> None:
        """Kept open: http.client closes the connection as soon as the headers say "close", before the
        body is read (socket.makefile's reference count would defer it); `exchange` closes it after."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


@dataclass
class Reply:
    status: int
    data: Any  # the decoded JSON body; None when it was not JSON
    headers: dict[str, str]


class ServerClient:
    """One configured server: its identity, probed once, then requests in its dialect.

    Quacks like copilot.llm.sandbox.Worker where copilot.llm.explain uses it (`request`, `layers`,
    `load_s`); `info` is what the review and the audit log show."""

    layers: tuple[Any, ...] = ()  # not txcopilot's sandbox: ServerInfo.isolation says so
    load_s = 0.0

    def __init__(self, target: ServerTarget) -> None:
        self.target = target
        self.n_ctx = 2048
        self.dialect: Dialect = "openai"
        self.model = target.model or ""
        self.info = ServerInfo(url=target.url, dialect="openai", model="unknown")
        self.props: dict[str, Any] | None = None

    # -- transport ---------------------------------------------------------------------------

    def exchange(
        self, method: str, path: str, body: Any = None, *, deadline: float, origin: str | None = None, auth: bool = True
    ) -> Reply:
        """One HTTP request to the server, within `deadline` (time.monotonic()); no redirects."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout()
        target = self.target
        headers = {"Host": target.host_header, "Accept": "application/json", "User-Agent": USER_AGENT, "Connection": "close"}
        if target.api_key and auth:
            headers["Authorization"] = f"Bearer {target.api_key}"
        if origin:
            headers.update({"Origin": origin, "Access-Control-Request-Method": "POST"})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        guarded: _DeadlineSocket | None = None
        conn: http.client.HTTPConnection | None = None
        try:
            conn = self._open(min(remaining, CONNECT_TIMEOUT_S))
            conn.sock = guarded = _DeadlineSocket(conn.sock, deadline)
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_RESPONSE_BYTES + 1)
            status, reply_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError) or time.monotonic() >= deadline:
                raise self._timeout() from None
            raise LLMServerError(
                f"the LLM server at {target.url} did not answer ({shown(exc) or type(exc).__name__})",
                "start it, or check [llm] url / --llm-url",
            ) from None
        finally:
            if conn is not None:
                conn.close()
            if guarded is not None:
                guarded.sock.close()
        if len(raw) > MAX_RESPONSE_BYTES:
            raise LLMServerError(f"the LLM server's answer to {path} was larger than {MAX_RESPONSE_BYTES // 1024} KiB: dropped")
        if 300 <= status < 400:
            raise LLMServerError(
                f"the LLM server answered {path} with a redirect (HTTP {status}); txcopilot follows none",
                "point --llm-url / [llm] url at the server itself",
            )
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return Reply(status, data, reply_headers)

    def _open(self, timeout_s: float) -> http.client.HTTPConnection:
        """A connection to the Unix socket, or to the first checked loopback address that accepts."""
        target = self.target
        if target.unix_path is not None:
            unix = _UnixConnection(target.unix_path, timeout_s)
            unix.connect()
            return unix
        refused: OSError = ConnectionRefusedError("no address")
        for address in target.addresses:
            conn = http.client.HTTPConnection(*address, timeout=timeout_s)
            try:
                conn.connect()
                return conn
            except OSError as exc:
                conn.close()
                refused = exc
        raise refused

    def _timeout(self) -> LLMServerError:
        return LLMServerError(
            f"the LLM server at {self.target.url} took longer than {self.target.timeout_s:g} s",
            "raise [llm] timeout_s in config.toml, or use a smaller model",
        )

    def get_json(self, path: str, deadline: float, body: Any = None) -> Any:
        """The JSON of a required endpoint; an error status is one line."""
        reply = self.exchange("POST" if body is not None else "GET", path, body, deadline=deadline)
        if reply.status in (401, 403):
            raise LLMServerError(
                f"the LLM server at {self.target.url} wants an API key (HTTP {reply.status})",
                "set [llm] api_key_env to the name of an environment variable that holds it",
            )
        if reply.status >= 400:
            raise LLMServerError(f"the LLM server refused {path}: HTTP {reply.status}: {_error_text(reply.data)}")
        if reply.data is None:
            raise LLMServerError(f"the LLM server's answer to {path} was not JSON")
        return reply.data

    def optional_json(self, path: str, deadline: float, body: Any = None) -> dict[str, Any] | None:
        """The JSON object of an endpoint this server may lack (404, or not an object): None then."""
        reply = self.exchange("POST" if body is not None else "GET", path, body, deadline=deadline)
        if reply.status == 503 and path == "/health":
            raise LLMServerError(f"the LLM server at {self.target.url} is still loading its model", "try again shortly")
        if reply.status >= 400 or not isinstance(reply.data, dict):
            return None
        return reply.data

    # -- identity ----------------------------------------------------------------------------

    def identify(self) -> ServerClient:
        """Which dialect and model answer here (probed once per process)."""
        deadline = time.monotonic() + self.target.timeout_s
        dialect = self.target.dialect
        props = self.optional_json("/props", deadline) if dialect in ("auto", "llama-server") else None
        if props is not None and not {"default_generation_settings", "model_path", "build_info"} & set(props):
            props = None  # LM Studio answers unknown paths with 200 and an error object
        if dialect == "auto":
            version = None if props else self.optional_json("/api/version", deadline)
            dialect = "llama-server" if props else "ollama" if version and isinstance(version.get("version"), str) else "openai"
        self.dialect = dialect
        self.props = props
        details: dict[str, str] = {}
        if dialect == "llama-server":
            model = self._llama_server_identity(props, details, deadline)
        elif dialect == "ollama":
            model = self._ollama_identity(details, deadline)
        else:
            model = self._openai_identity(details, deadline)
        self.model = model
        self.info = ServerInfo(
            url=self.target.url,
            dialect=dialect,
            model=shown(model) or "unknown",
            details={shown(k, 40): shown(v) for k, v in details.items() if v not in (None, "")},
        )
        return self

    def _llama_server_identity(self, props: dict[str, Any] | None, details: dict[str, str], deadline: float) -> str:
        health = self.optional_json("/health", deadline)
        details["health"] = str(health.get("status", "ok")) if health else "no /health endpoint"
        if props is None:
            details["props"] = "no /props endpoint"
        else:
            settings = props.get("default_generation_settings")
            n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
            if isinstance(n_ctx, int) and n_ctx >= 512:
                self.n_ctx = n_ctx
                details["n_ctx"] = str(n_ctx)
            details["build"] = str(props.get("build_info", ""))
            details["model_path"] = str(props.get("model_path", ""))
            named = props.get("model_alias") or props.get("model_path")
            if isinstance(named, str) and named:
                return self.target.model or named
        listed = _model_ids(self.optional_json("/v1/models", deadline))
        return self.target.model or (listed[0] if listed else "unknown")

    def _ollama_identity(self, details: dict[str, str], deadline: float) -> str:
        version = self.optional_json("/api/version", deadline)
        if version:
            details["ollama"] = str(version.get("version", ""))
        tags = self.get_json("/api/tags", deadline)
        models = [m for m in (tags.get("models") if isinstance(tags, dict) else None) or [] if isinstance(m, dict)]
        names = [str(m.get("name") or m.get("model")) for m in models]
        model = self._choose(names, latest_suffix=True)
        entry = next((m for m in models if str(m.get("name") or m.get("model")) in (model, f"{model}:latest")), {})
        details["digest"] = str(entry.get("digest", ""))
        show = self.optional_json("/api/show", deadline, {"model": model})
        facts = show.get("details") if show else entry.get("details")
        if isinstance(facts, dict):
            for key in ("family", "parameter_size", "quantization_level", "format"):
                details[key] = str(facts.get(key, ""))
        return model

    def _openai_identity(self, details: dict[str, str], deadline: float) -> str:
        listed = self.get_json("/v1/models", deadline)
        model = self._choose(_model_ids(listed), latest_suffix=False)
        entry = next((m for m in listed.get("data", []) if isinstance(m, dict) and m.get("id") == model), {})
        details["owned_by"] = str(entry.get("owned_by", ""))
        return model

    def _choose(self, names: list[str], *, latest_suffix: bool) -> str:
        if not names:
            raise LLMServerError(f"the LLM server at {self.target.url} lists no model", "load or pull a model in it first")
        wanted = self.target.model
        if wanted is None:
            return names[0]
        if wanted in names or (latest_suffix and f"{wanted}:latest" in names):
            return wanted
        raise LLMServerError(
            f"the LLM server at {self.target.url} has no model {shown(wanted)!r} (it lists {shown(', '.join(names))})",
            "set [llm] model / --llm-model to one of them",
        )

    # -- generation --------------------------------------------------------------------------

    def request_body(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The endpoint and body for a worker-style generate request, in this server's dialect: the
        system and user messages only, temperature 0, a seed, a token cap, no tools."""
        messages = [{"role": "system", "content": message["system"]}, {"role": "user", "content": message["user"]}]
        cap = int(message["max_tokens"]) * SERVER_TOKEN_FACTOR
        schema = message.get("schema")
        if self.dialect == "ollama":
            body: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "stream": False,
                "think": False,
                "options": {"temperature": 0, "seed": SEED, "num_predict": cap},
            }
            if schema is not None:
                body["format"] = schema
            return "/api/chat", body
        body = {
            "model": self.model,
            "messages": messages,
            "stream": False,
            "temperature": 0,
            "seed": SEED,
            "max_tokens": cap,
        }
        if self.dialect == "llama-server":
            if message.get("grammar"):
                body["grammar"] = message["grammar"]
            body["cache_prompt"] = True  # the fixed system prompt's KV state is reused between requests
            body["chat_template_kwargs"] = {"enable_thinking": False}  # thinking off (Qwen3-style templates)
        elif schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": schema},
            }
        return "/v1/chat/completions", body

    def request(self, message: dict[str, Any], *, timeout_s: float = 0.0, on_message: Any = None) -> dict[str, Any]:
        """A worker-style `generate` request answered by the server, as the worker's "done" reply.

        The text is not streamed: it reaches the user only after the checks (a server could send
        terminal control sequences). `timeout_s` is the worker's; the server's own ([llm] timeout_s) applies."""
        path, body = self.request_body(message)
        started = time.perf_counter()
        data = self.get_json(path, time.monotonic() + self.target.timeout_s, body)
        total_s = time.perf_counter() - started
        if self.dialect == "ollama":
            return _ollama_done(data, total_s)
        return _chat_done(data, total_s)


def _model_ids(listed: Any) -> list[str]:
    data = listed.get("data") if isinstance(listed, dict) else None
    return [str(m["id"]) for m in data or [] if isinstance(m, dict) and m.get("id")]


def _error_text(data: Any) -> str:
    error = data.get("error") if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message", error)
    return shown(error if error is not None else "no detail", 160)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _chat_done(data: Any, total_s: float) -> dict[str, Any]:
    """An OpenAI-style chat completion (llama-server, llama_cpp.server, LM Studio) as a "done" reply."""
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMServerError("the LLM server's answer has no choices[0].message.content") from None
    if not isinstance(text, str):
        raise LLMServerError("the LLM server's answer has no text")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
    generated = int(_number(usage.get("completion_tokens")))
    first_token_s = _number(timings.get("prompt_ms")) / 1000
    rate = _number(timings.get("predicted_per_second"))
    return _done(text, choice.get("finish_reason") == "length", int(_number(usage.get("prompt_tokens"))),
                 int(_number(timings.get("cache_n"))), generated, first_token_s, total_s, rate)


def _ollama_done(data: Any, total_s: float) -> dict[str, Any]:
    """Ollama's /api/chat answer (durations in nanoseconds) as a "done" reply."""
    try:
        text = data["message"]["content"]
    except (KeyError, TypeError):
        raise LLMServerError("the LLM server's answer has no message.content") from None
    if not isinstance(text, str):
        raise LLMServerError("the LLM server's answer has no text")
    generated = int(_number(data.get("eval_count")))
    eval_s = _number(data.get("eval_duration")) / 1e9
    first_token_s = (_number(data.get("load_duration")) + _number(data.get("prompt_eval_duration"))) / 1e9
    return _done(text, data.get("done_reason") == "length", int(_number(data.get("prompt_eval_count"))), 0,
                 generated, first_token_s, total_s, generated / eval_s if eval_s > 0 else 0.0)


def _done(
    text: str, cut: bool, prompt: int, cached: int, generated: int, first_token_s: float, total_s: float, rate: float
) -> dict[str, Any]:
    if not rate and generated > 1 and total_s > first_token_s:
        rate = (generated - 1) / (total_s - first_token_s)
    return {
        "type": "done",
        "text": text,
        "stopped_by": "max_tokens" if cut else "eos",
        "prompt_tokens": prompt,
        "cached_prompt_tokens": cached,
        "generated_tokens": generated,
        "forced_tokens": 0,
        "first_token_s": first_token_s,
        "total_s": total_s,
        "tokens_per_s": rate,
    }


def connect(target: ServerTarget) -> ServerClient:
    """A client for `target`, its identity probed now: each review records the model that answers it
    (a model swapped in Ollama between two reviews is logged as such). The probe is two or three
    loopback requests, about a millisecond (benchmarks/bench_llm_server.py)."""
    return ServerClient(target).identify()


@functools.cache
def _answer_model_schema() -> str:
    from copilot.llm.schema import LLMAnswer

    return json.dumps(LLMAnswer.model_json_schema())


def answer_schema(finding_ids: list[str]) -> dict[str, Any]:
    """The answer's JSON schema for servers that take one (Ollama's `format`, `response_format`):
    LLMAnswer's own schema from pydantic with its reference inlined (some servers resolve none), the
    grammar's list caps, and a risk's finding limited to this review's IDs or "new"."""
    from copilot.llm.grammar import MAX_QUESTIONS, MAX_RISKS, MAX_STEPS
    from copilot.llm.schema import NEW_CONCERN

    schema = json.loads(_answer_model_schema())
    definitions = schema.pop("$defs", {})
    properties = schema["properties"]
    risk = dict(definitions["AnswerRisk"])
    risk["properties"] = {**risk["properties"], "finding": {"type": "string", "enum": sorted({*finding_ids, NEW_CONCERN})}}
    properties["risks"] = {**properties["risks"], "items": risk, "maxItems": MAX_RISKS}
    properties["what_happens"] = {**properties["what_happens"], "maxItems": MAX_STEPS}
    properties["questions"] = {**properties["questions"], "maxItems": MAX_QUESTIONS}
    return schema


PROBE_ORIGIN = "http://txcopilot-doctor.invalid"


def diagnose(target: ServerTarget) -> list[tuple[str, bool, str, bool]]:
    """`doctor`'s checks of the configured server, as (name, ok, detail, required): that it answers
    and who it is, its isolation, and risky settings it reveals through its API (a web page may
    call it, no API key, /slots or /props open)."""
    try:
        client = connect(target)
    except CopilotError as exc:
        return [("llm server", False, exc.one_line(), True)]
    info = client.info
    facts = ", ".join(f"{k} {v}" for k, v in info.details.items())
    checks = [
        ("llm server", True, f"{info.dialect} at {info.url} answers: model {info.model}{f' ({facts})' if facts else ''}", True),
        ("llm server: isolation", False, f"{info.isolation}: it gets only the request's sanitised facts, and its "
         "answers are checked like the in-process model's (answer model, grounding, never lower)", False),
    ]
    risks = exposure(client)
    detail = "; ".join(risks) if risks else "no risky setting visible through its API"
    checks.append(("llm server: exposure", not risks, detail, False))
    return checks


def exposure(client: ServerClient) -> list[str]:
    """Risky settings the server reveals through its own API."""
    deadline = time.monotonic() + client.target.timeout_s
    chat = "/api/chat" if client.dialect == "ollama" else "/v1/chat/completions"
    listing = "/api/tags" if client.dialect == "ollama" else "/v1/models"
    risks = []
    try:
        open_to_all = client.exchange("GET", listing, deadline=deadline, auth=False).status < 400
        preflight = client.exchange("OPTIONS", chat, deadline=deadline, origin=PROBE_ORIGIN, auth=False)
    except CopilotError as exc:
        return [exc.one_line()]
    allowed = preflight.headers.get("access-control-allow-origin", "")
    if allowed in ("*", PROBE_ORIGIN) and open_to_all:
        risks.append(
            f"any web page you open may call it: CORS allows origin {shown(allowed, 60)!r} and it asks no API key "
            "(llama-server: --api-key; Ollama: unset OLLAMA_ORIGINS=*; LM Studio: turn CORS off)"
        )
    props = client.props or {}
    if props.get("endpoint_slots") is True:
        risks.append("/slots is on: other programs on this machine can read the prompts it holds (llama-server --no-slots)")
    if props.get("endpoint_props") is True:
        risks.append("/props accepts changes: other programs can change its settings (drop llama-server --props)")
    if props.get("cors_proxy_enabled") is True:
        risks.append("its CORS proxy is on: web pages can use it to reach other hosts (drop --cors-proxy)")
    return risks
