"""Turns every failure into one line on stderr and a documented exit status."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from copilot.errors import CopilotError, ExitCode


def run_guarded(ctx: click.Context, invoke: Callable[[click.Context], Any]) -> Any:
    """Run a command; any error becomes one line and its exit status (with --debug, the traceback
    first, and still the same exit status)."""
    debug = bool(ctx.params.get("debug"))
    try:
        return invoke(ctx)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except SystemExit as exc:
        if isinstance(exc.__context__, BrokenPipeError):  # rich's Console.on_broken_pipe exits with 1
            sys.exit(ExitCode.OK)
        raise
    except CopilotError as exc:
        _fail(f"error: {exc.one_line()}", exc.exit_code, debug)
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERRUPTED, debug)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(ExitCode.OK)
    except OSError as exc:  # the machine, not the input: a read-only or full disk, a file where a folder belongs
        _fail(f"error: {_os_problem(exc)}", ExitCode.ENVIRONMENT, debug)
    except Exception as exc:
        _fail(
            f"error: internal error ({type(exc).__name__}: {_first_line(exc)}); "
            "rerun with --debug and report the traceback",
            ExitCode.INTERNAL,
            debug,
        )


def _silence_stdout() -> None:
    """The reader left (`| head`): point stdout at devnull so that the flush at exit does not fail again
    (Python docs, "Note on SIGPIPE")."""
    import os
    from contextlib import suppress

    with suppress(OSError, ValueError):  # ValueError: stdout replaced by something without a descriptor (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _os_problem(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    what = exc.strerror or _first_line(exc)
    if isinstance(exc, FileExistsError | NotADirectoryError):
        hint = "a file is in the way of a folder txcopilot needs: move it aside, or set TXCOPILOT_HOME to another folder"
    else:
        hint = "check that txcopilot's folders are writable and the disk has room (TXCOPILOT_HOME moves them)"
    return f"{where}{what}; {hint}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no message"


def _fail(message: str, code: int, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    click.echo(message, err=True)
    sys.exit(int(code))
