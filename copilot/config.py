"""The user's config file: <config dir>/config.toml. Every key is optional.

    [model]
    path = "~/models/qwen3-1.7b-q4_k_m.gguf"   # default: the bundled SmolLM2-135M-Instruct
    n_ctx = 4096
    threads = 2            # default: physical cores
    n_gpu_layers = 0
    accept_weaker_isolation = false   # true: `sign` runs the model even when a sandbox layer is missing

    [review]
    policy = "everyday"    # a name in policies/ or the config dir, or a path
    rpc = "http://127.0.0.1:8545"   # your own node; unset means offline

    [simulate]             # runs whenever a node is set (review and sign); --no-simulate skips it
    enabled = true
    timeout = 3.0          # seconds for the whole simulation; a slower node costs one line, not a hang
    fork_fallback = true   # a node without eth_simulateV1: simulate on a private anvil fork of it
    [llm]                  # your own LLM server instead of the in-process model (copilot.llm.server)
    url = "http://127.0.0.1:8080"   # loopback or unix:/path/to.sock only
    dialect = "auto"       # llama-server | ollama | openai (LM Studio and other OpenAI-compatible servers)
    model = "qwen3:8b"     # the model to ask for (Ollama, LM Studio); default: the first the server lists
    timeout_s = 60         # per request; a slow or down server leaves the deterministic explanation
    api_key_env = "LLAMA_API_KEY"   # an environment variable holding the server's API key, if it has one
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.errors import ConfigError
from copilot.parsing import load_toml
from copilot.state.dirs import config_dir


class ModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    n_ctx: int = Field(2048, ge=512, le=1 << 20)  # below 512 the review's facts cannot fit
    threads: int | None = Field(None, ge=1)
    n_gpu_layers: int = Field(0, ge=-1)  # -1: offload every layer
    # `sign` runs the in-process model only inside the full sandbox; true accepts a missing layer
    # (the review still names it at the top). A weaker sandbox lets a hostile model file do more.
    accept_weaker_isolation: bool = False


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str | None = None
    rpc: str | None = None


class SimulateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    timeout: float = Field(3.0, gt=0, le=60)
    fork_fallback: bool = True


LLMDialect = Literal["auto", "llama-server", "ollama", "openai"]


class LLMServerSettings(BaseModel):
    """The user's own LLM server: used only when `url` is set (or --llm-url given)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    dialect: LLMDialect = "auto"
    model: str | None = None
    timeout_s: float = Field(60.0, gt=0, le=3600)
    api_key_env: str | None = None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: ModelSettings = ModelSettings()
    review: ReviewSettings = ReviewSettings()
    simulate: SimulateSettings = SimulateSettings()
    llm: LLMServerSettings = LLMServerSettings()


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data = load_toml(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", "fix the TOML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})", "make it a readable UTF-8 TOML file") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}", "the keys are listed in the README, section Configuration") from None
