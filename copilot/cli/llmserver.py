"""--llm-url, --llm-dialect, --llm-model: the user's own LLM server, on every command that uses the LLM.

The flags override config.toml's [llm] section; without either, the in-process model runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from copilot.llm.server import ServerTarget
    from copilot.models import Review

F = TypeVar("F", bound=Callable[..., Any])


def llm_server_options(command: F) -> F:
    """Adds the three options (parameters llm_url, llm_dialect, llm_model) to a click command."""
    command = click.option(
        "--llm-model", metavar="NAME", help="The model to ask your LLM server for (default: the first it lists)."
    )(command)
    command = click.option(
        "--llm-dialect",
        type=click.Choice(["auto", "llama-server", "ollama", "openai"]),
        help="Your LLM server's API (default auto: llama-server, Ollama, else OpenAI-compatible such as LM Studio).",
    )(command)
    return click.option(
        "--llm-url",
        metavar="URL",
        help="Your own LLM server on this machine (http://127.0.0.1:PORT or unix:/path.sock) instead of the "
        "in-process model; default: [llm] url in config.toml.",
    )(command)


def llm_server_target(
    url: str | None, dialect: str | None, model: str | None, *, model_path: str | None = None, use_llm: bool = True
) -> ServerTarget | None:
    """The checked server to use, or None for the in-process model. --llm-url wins over config; an
    explicit --model (a GGUF file) wins over [llm] url in config, and contradicts --llm-url."""
    from copilot.config import config_path, load_config
    from copilot.errors import InputError

    if url and model_path:
        raise InputError("--model and --llm-url contradict each other", "pass a GGUF file or a server, not both")
    if not use_llm:
        return None
    settings = load_config().llm
    if url:
        source = "--llm-url"
    elif settings.url and not model_path:
        source = f"{config_path()} [llm] url"
    else:
        if dialect or model:
            raise InputError("--llm-dialect and --llm-model need a server", "pass --llm-url, or set [llm] url in config.toml")
        return None
    from copilot.llm.server import server_target

    update = {"url": url or settings.url, **({"dialect": dialect} if dialect else {}), **({"model": model} if model else {})}
    return server_target(settings.model_copy(update=update), source=source)


def server_line(review: Review) -> str | None:
    """The line that says the user's own server explained this review (it is not txcopilot's sandbox)."""
    server = review.llm.server if review.llm is not None else None
    if server is None:
        return None
    return f"model: {server.model} via the {server.dialect} server at {server.url} ({server.isolation})"
