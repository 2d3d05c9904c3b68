"""Inference backends behind one small interface: llama-cpp (real GGUF models) and a fake for tests.

The llama-cpp backend runs its own decode loop instead of `create_chat_completion`:
- greedy sampling, so explanations are reproducible;
- grammar checked lazily, as llama.cpp's own `common_sampler` does: pick the best token first and
  ask the grammar about that one token; only when the grammar rejects it is the grammar applied to
  the whole vocabulary. llama-cpp-python's sampler chain instead runs the grammar over all 49k
  candidate tokens at every step, which is what made constrained output 3x slower than plain;
- text the grammar forces (JSON keys, a finding ID, the rest of an address once its first digits
  are out) is not sampled token by token: it is found by asking the grammar which single character
  may come next until more than one may, tokenised as text and evaluated in one batch with the
  sampled token before it. A batch of 8 costs about what 3 single steps do on a 2-core CPU, and
  those tokens do not count against `max_tokens`;
- the KV cache is kept between requests and the longest common token prefix (the fixed system
  prompt) is not evaluated again;
- across processes, the KV state of the fixed prefix (everything before the request's facts) is
  read from a file the parent names, so a cold `txcopilot review` evaluates only the facts. When
  the file is missing or stale, the evaluated prefix's state is returned with the generation
  (`prefix_state`) for the parent to validate and store: the sandboxed worker writes no file of its own.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

TokenCallback = Callable[[str], None]


@dataclass
class BackendSettings:
    model_path: str
    n_ctx: int = 2048
    threads: int | None = None  # None: physical cores
    n_gpu_layers: int = 0
    repeat_penalty: float = 1.3


REPEAT_WINDOW = 64  # llama.cpp's default; 32 let the 135M model repeat its summary as every step and risk
TOP_CANDIDATES = 16
MAX_FORCED_CHARS = 200


@dataclass
class Generation:
    text: str
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    generated_tokens: int = 0  # sampled by the model: what `max_tokens` limits
    forced_tokens: int = 0  # text the grammar forced, evaluated in batches without sampling
    first_token_s: float = 0.0
    total_s: float = 0.0
    stopped_by: str = "eos"  # "eos" or "max_tokens"
    prefix_state: bytes | None = None  # the prefix's KV state, when it was evaluated instead of read

    @property
    def tokens_per_s(self) -> float:
        """Tokens of the answer (sampled and forced) per second after the first: comparable with a
        plain generation's tokens/s, where every token of the text is sampled."""
        return self._rate(self.generated_tokens + self.forced_tokens)

    @property
    def sampled_tokens_per_s(self) -> float:
        """Only the tokens the model sampled, each a full decoding step."""
        return self._rate(self.generated_tokens)

    def _rate(self, tokens: int) -> float:
        decode_s = self.total_s - self.first_token_s
        if tokens <= 1 or decode_s <= 0:
            return 0.0
        return (tokens - 1) / decode_s


class Backend(Protocol):
    name: str

    def generate(
        self,
        system: str,
        user: str,
        *,
        grammar: str | None,
        max_tokens: int,
        on_token: TokenCallback | None = None,
        prefix_cache: str | None = None,
    ) -> Generation: ...


def physical_cores() -> int:
    """Physical cores (llama.cpp gains nothing from SMT siblings); falls back to logical CPUs."""
    import os

    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            cores = {
                (block.get("physical id"), block.get("core id"))
                for block in _cpuinfo_blocks(handle.read())
                if "core id" in block
            }
        if cores:
            return len(cores)
    except OSError:
        pass
    return os.cpu_count() or 1


def _cpuinfo_blocks(text: str) -> list[dict[str, str]]:
    blocks = []
    for chunk in text.split("\n\n"):
        entries = dict(line.split(":", 1) for line in chunk.splitlines() if ":" in line)
        blocks.append({key.strip(): value.strip() for key, value in entries.items()})
    return blocks


class FakeBackend:
    """Returns a canned answer, token by token: unit tests of everything around the model."""

    name = "fake"

    def __init__(self, answer: str, *, delay_s: float = 0.0) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.requests: list[tuple[str, str, str | None]] = []

    def generate(
        self,
        system: str,
        user: str,
        *,
        grammar: str | None,
        max_tokens: int,
        on_token: TokenCallback | None = None,
        prefix_cache: str | None = None,
    ) -> Generation:
        self.requests.append((system, user, grammar))
        start = time.perf_counter()
        pieces = [self.answer[i : i + 4] for i in range(0, len(self.answer), 4)][:max_tokens]
        first = 0.0
        for index, piece in enumerate(pieces):
            if self.delay_s:
                time.sleep(self.delay_s)
            if index == 0:
                first = time.perf_counter() - start
            if on_token:
                on_token(piece)
        return Generation(
            text="".join(pieces),
            prompt_tokens=len(system + user) // 4,
            generated_tokens=len(pieces),
            first_token_s=first,
            total_s=time.perf_counter() - start,
            stopped_by="eos" if len(pieces) * 4 >= len(self.answer) else "max_tokens",
        )


class LlamaCppBackend:
    """A GGUF model through llama-cpp-python's low-level API (imported here, never at module top)."""

    name = "llama-cpp"

    def __init__(self, settings: BackendSettings) -> None:
        import llama_cpp

        silence_llama_logs(llama_cpp)
        threads = settings.threads or physical_cores()
        self.settings = settings
        self.repeat_penalty = settings.repeat_penalty
        self._lib = llama_cpp
        self.llm = llama_cpp.Llama(
            model_path=settings.model_path,
            n_ctx=settings.n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=settings.n_gpu_layers,
            verbose=False,
        )
        self._vocab = self.llm._model.vocab
        self._n_vocab = self.llm.n_vocab()
        self._template = self.llm.metadata.get("tokenizer.chat_template")
        self._eos = self.llm.token_eos()
        # Reused for every full-vocabulary grammar pass: one allocation per process.
        self._candidates = (llama_cpp.llama_token_data * self._n_vocab)()
        self._one = (llama_cpp.llama_token_data * 1)()
        # Printable ASCII characters that are one token each, and exactly that character (a
        # SentencePiece vocabulary may prepend a space): what the forced-text probe asks about.
        self._char_token: dict[str, int] = {}
        for code in range(0x20, 0x7F):
            ids = self.tokenize(chr(code), special=False)
            if len(ids) == 1 and self._piece(ids[0]) == chr(code).encode():
                self._char_token[chr(code)] = ids[0]

    def format_chat(self, system: str, user: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if self._template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            formatter = Jinja2ChatFormatter(
                template=self._template,
                eos_token=self.llm.detokenize([self.llm.token_eos()]).decode("utf-8", "replace"),
                bos_token=self.llm.detokenize([self.llm.token_bos()]).decode("utf-8", "replace"),
                add_generation_prompt=True,
            )
            return formatter(messages=messages).prompt  # type: ignore[arg-type]
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + (
            "<|im_start|>assistant\n"
        )

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """`special`: parse control tokens such as <|im_start|> (the chat template needs them; text
        from a request or a grammar must never turn into one)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def generate(
        self,
        system: str,
        user: str,
        *,
        grammar: str | None,
        max_tokens: int,
        on_token: TokenCallback | None = None,
        prefix_cache: str | None = None,
    ) -> Generation:
        """`prefix_cache`: a file holding the KV state of the chat up to `user` (read when it matches,
        else the state is returned in `prefix_state`); `user` must then start with the request-specific text."""
        import numpy as np

        lib = self._lib
        start = time.perf_counter()
        chat = self.format_chat(system, user)
        tokens = self.tokenize(chat)
        if len(tokens) + max_tokens > self.settings.n_ctx:
            raise ValueError(
                f"prompt of {len(tokens)} tokens + {max_tokens} to generate exceeds n_ctx={self.settings.n_ctx}"
            )
        cached = self._reuse_prefix(tokens)
        prefix_state = None
        if prefix_cache:
            prefix = self._fixed_prefix(chat, user, tokens)
            if cached < len(prefix):
                if self._load_prefix(prefix_cache, prefix):
                    cached = len(prefix)
                else:
                    cached = min(cached, self.llm.n_tokens)  # a rejected file leaves an empty cache
                    self.llm.eval(prefix[cached:])
                    prefix_state = self._prefix_state(prefix)
        self.llm.eval(tokens[self.llm.n_tokens :])

        sampler = None
        if grammar is not None:
            sampler = lib.llama_sampler_init_grammar(self._vocab, grammar.encode("utf-8"), b"root")
            if not sampler:
                raise ValueError("the grammar does not parse")
            probe = _ForcedTextProbe(self, grammar)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pieces: list[str] = []
        generated = 0
        forced = 0
        first_token_s = 0.0
        stopped_by = "max_tokens"
        recent: list[int] = []
        try:
            while generated < max_tokens:
                logits = np.ctypeslib.as_array(
                    lib.llama_get_logits_ith(self.llm._ctx.ctx, -1), shape=(self._n_vocab,)
                )
                if self.repeat_penalty != 1.0 and recent:
                    logits = self._penalise(logits, recent)
                token = int(logits.argmax())
                if sampler is not None and not self._grammar_allows(sampler, token):
                    token = self._best_allowed(sampler, logits)
                if sampler is not None:
                    lib.llama_sampler_accept(sampler, token)
                generated += 1
                if generated == 1:
                    first_token_s = time.perf_counter() - start
                if lib.llama_vocab_is_eog(self._vocab, token):
                    stopped_by = "eos"
                    break
                batch = [token, *probe.forced_tokens(sampler)] if sampler is not None else [token]
                forced += len(batch) - 1
                piece = "".join(decoder.decode(self._piece(t)) for t in batch)
                if piece:
                    pieces.append(piece)
                    if on_token:
                        on_token(piece)
                if sampler is not None and "}" in piece and self._grammar_allows(sampler, self._eos):
                    stopped_by = "eos"  # the grammar's object is closed: nothing but EOS can follow
                    break
                recent = [*recent, *batch][-REPEAT_WINDOW:]
                if self.llm.n_tokens + len(batch) >= self.settings.n_ctx:
                    break  # the context is full: stopped as by the token limit
                if generated < max_tokens:  # the last token's logits would never be read
                    self.llm.eval(batch)
        finally:
            if sampler is not None:
                lib.llama_sampler_free(sampler)
        tail = decoder.decode(b"", final=True)
        if tail:
            pieces.append(tail)
        return Generation(
            text="".join(pieces),
            prompt_tokens=len(tokens),
            cached_prompt_tokens=cached,
            generated_tokens=generated,
            forced_tokens=forced,
            first_token_s=first_token_s,
            total_s=time.perf_counter() - start,
            stopped_by=stopped_by,
            prefix_state=prefix_state,
        )

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep the KV cache for the longest prefix shared with what is already evaluated."""
        evaluated = self.llm.input_ids[: self.llm.n_tokens].tolist()
        shared = 0
        for old, new in zip(evaluated, tokens, strict=False):
            if old != new:
                break
            shared += 1
        shared = min(shared, len(tokens) - 1)  # evaluate at least one token: fresh logits to sample from
        self.llm.n_tokens = shared  # Llama.eval drops the KV cache from n_tokens on
        return shared

    def _fixed_prefix(self, chat: str, user: str, tokens: list[int]) -> list[int]:
        """The tokens of the chat before `user`, when they tokenise the same on their own (else none)."""
        start = chat.rfind(user)
        if start <= 0:
            return []
        prefix = self.tokenize(chat[:start])
        return prefix if prefix and tokens[: len(prefix)] == prefix and len(prefix) < len(tokens) else []

    def _load_prefix(self, path: str, prefix: list[int]) -> bool:
        """Restores the KV state saved for exactly `prefix` (a stale or foreign file is ignored)."""
        if not os.path.exists(path):
            return False
        lib = self._lib
        stored = (lib.llama_token * len(prefix))()
        count = ctypes.c_size_t(0)
        self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        self.llm.n_tokens = 0
        read = lib.llama_state_seq_load_file(
            self.llm._ctx.ctx, path.encode(), 0, stored, len(prefix), ctypes.byref(count)
        )
        if not read or count.value != len(prefix) or list(stored) != prefix:
            self.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            return False
        self.llm.input_ids[: len(prefix)] = prefix
        self.llm.n_tokens = len(prefix)
        return True

    def _prefix_state(self, prefix: list[int]) -> bytes | None:
        """The evaluated prefix's KV state in llama.cpp's sequence-state file format, written to a
        temporary file (in the worker's private tmpfs) and read back: the parent stores it."""
        tokens = (self._lib.llama_token * len(prefix))(*prefix)
        handle, temporary = tempfile.mkstemp(suffix=".state")
        os.close(handle)
        try:
            if not self._lib.llama_state_seq_save_file(
                self.llm._ctx.ctx, temporary.encode(), 0, tokens, len(prefix)
            ):
                return None
            with open(temporary, "rb") as state:
                return state.read()
        except OSError:
            return None  # a full tmpfs only costs the next review the prefix's evaluation
        finally:
            os.unlink(temporary)

    def _penalise(self, logits: Any, recent: list[int]) -> Any:
        """llama.cpp's repeat penalty: small models otherwise loop on one phrase under greedy decoding."""
        import numpy as np

        logits = logits.copy()
        ids = np.unique(np.asarray(recent, dtype=np.int64))
        values = logits[ids]
        logits[ids] = np.where(values > 0, values / self.repeat_penalty, values * self.repeat_penalty)
        return logits

    def _grammar_allows(self, sampler: Any, token: int) -> bool:
        lib = self._lib
        self._one[0].id = token  # type: ignore[assignment]  # ctypes converts
        self._one[0].logit = 1.0
        array = lib.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        lib.llama_sampler_apply(sampler, ctypes.byref(array))
        return bool(self._one[0].logit != float("-inf"))

    def _best_allowed(self, sampler: Any, logits: Any) -> int:
        """The best token the grammar allows: the model's top candidates first, then the whole vocabulary.

        Where the grammar forces a literal (a key, a bracket) the right token is nearly always among
        the model's top few, and checking 16 tokens is some 3000x less work than 49k.
        """
        import numpy as np

        lib = self._lib
        view = np.ctypeslib.as_array(self._candidates)
        top = np.argpartition(logits, -TOP_CANDIDATES)[-TOP_CANDIDATES:]
        for ids in (top, np.arange(self._n_vocab)):
            size = len(ids)
            view["id"][:size] = ids
            view["logit"][:size] = logits[ids]
            array = lib.llama_token_data_array(data=self._candidates, size=size, selected=-1, sorted=False)
            lib.llama_sampler_apply(sampler, ctypes.byref(array))
            allowed = view["logit"][:size]
            best = int(allowed.argmax())
            if allowed[best] != -np.inf:
                return int(view["id"][best])
        raise RuntimeError("the grammar allows no token here")

    def _piece(self, token: int) -> bytes:
        buffer = ctypes.create_string_buffer(64)
        size = self._lib.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, False)
        return buffer.raw[:size] if size > 0 else b""


class _ForcedTextProbe:
    """Finds the text a grammar forces next, for one generation.

    It asks the grammar which of the printable ASCII characters may come next; when exactly one may,
    and neither the end nor any non-ASCII character the grammar spells (the "…" of a short address)
    may, that character is forced. Repeated on a clone of the sampler until there is a choice.
    """

    def __init__(self, backend: LlamaCppBackend, grammar: str) -> None:
        self.backend = backend
        self.chars = list(backend._char_token)
        # One token per non-ASCII character the grammar names (its first byte, for a partial
        # match), and the end of text: allowed or not, they make a choice.
        spelled = {c for c in grammar if ord(c) > 0x7F}
        spelled |= {chr(int(code, 16)) for code in re.findall(r"\\u([0-9a-fA-F]{4})", grammar)}
        others = {backend.tokenize(c, special=False)[0] for c in spelled} | {backend._eos}
        self.ids = [backend._char_token[c] for c in self.chars] + sorted(others)
        self.candidates = (backend._lib.llama_token_data * len(self.ids))()

    def forced_tokens(self, sampler: Any) -> list[int]:
        """The tokens of the text the grammar forces next (none when the model has a choice),
        already accepted by `sampler`."""
        lib = self.backend._lib
        char = self.only_char(sampler)
        if char is None:
            return []
        probe = lib.llama_sampler_clone(sampler)
        text = ""
        try:
            while char is not None and len(text) < MAX_FORCED_CHARS:
                text += char
                lib.llama_sampler_accept(probe, self.backend._char_token[char])
                char = self.only_char(probe)
        finally:
            lib.llama_sampler_free(probe)
        # A forced trailing space is left to the model: its next word's token carries one (" have").
        text = text.rstrip(" ")
        tokens = self.backend.tokenize(text, special=False) if text else []
        if b"".join(self.backend._piece(t) for t in tokens) != text.encode():
            return []  # a tokeniser that adds or merges bytes: the model samples this text instead
        for token in tokens:
            lib.llama_sampler_accept(sampler, token)
        return tokens

    def only_char(self, sampler: Any) -> str | None:
        """The one printable ASCII character the grammar allows next, or None when it allows
        several, or anything else (a non-ASCII character it spells, the end), or nothing."""
        import numpy as np

        view = np.ctypeslib.as_array(self.candidates)
        view["id"] = self.ids
        view["logit"] = 1.0
        array = self.backend._lib.llama_token_data_array(
            data=self.candidates, size=len(self.ids), selected=-1, sorted=False
        )
        self.backend._lib.llama_sampler_apply(sampler, ctypes.byref(array))
        allowed = np.flatnonzero(view["logit"] != -np.inf)
        if len(allowed) != 1 or allowed[0] >= len(self.chars):
            return None
        return self.chars[allowed[0]]


def silence_llama_logs(llama_cpp: Any) -> None:
    """llama.cpp logs every tensor to stderr; keep only what the backend reports itself."""

    @llama_cpp.llama_log_callback
    def _drop(level: int, text: bytes, user_data: Any) -> None:
        return None

    silence_llama_logs.callback = _drop  # type: ignore[attr-defined]  # keep it alive
    llama_cpp.llama_log_set(_drop, None)
