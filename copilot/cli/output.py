"""Output helpers shared by every command: JSON for scripts, rich for people.

Rich is imported only when a human view is printed; it strips colour when stdout is not a terminal
and honours NO_COLOR.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click
from pydantic import BaseModel

if TYPE_CHECKING:
    from rich.console import Console


def emit_json(obj: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Print one JSON document on stdout (models use their JSON serialisation: big ints as strings)."""
    if isinstance(obj, BaseModel):
        text = obj.model_dump_json(indent=2)
    else:
        text = json.dumps(obj, indent=2, default=_json_default)
    click.echo(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_console: Console | None = None
_err_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(highlight=False, soft_wrap=False)
    return _console


def err_console() -> Console:
    global _err_console
    if _err_console is None:
        from rich.console import Console

        _err_console = Console(stderr=True, highlight=False)
    return _err_console


def stdin_is_interactive() -> bool:
    return sys.stdin.isatty()
