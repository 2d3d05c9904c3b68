"""Every failure is one line on stderr and a documented exit status; --debug adds the traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

import copilot.decoding
from copilot.cli.main import cli
from copilot.errors import ExitCode


def test_bad_input_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(cli, ["decode", "0xzz"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback_and_keeps_the_exit_status() -> None:
    result = CliRunner().invoke(cli, ["--debug", "decode", "0xzz"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_a_bug_is_reported_as_an_internal_error_with_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: object) -> object:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(copilot.decoding, "decode", broken)
    result = CliRunner().invoke(cli, ["decode", "0x" + "00" * 32])
    assert result.exit_code == ExitCode.INTERNAL
    assert result.stderr.count("\n") == 1
    assert "internal error (ZeroDivisionError: division by zero)" in result.stderr
    assert "--debug" in result.stderr


def test_python_dash_m_and_unknown_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "copilot", "no-such-command"], capture_output=True, text=True, check=False
    )
    assert done.returncode == ExitCode.BAD_INPUT  # click's usage error
    assert "No such command" in done.stderr and "Traceback" not in done.stderr
