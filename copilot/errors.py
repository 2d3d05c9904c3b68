"""Errors the CLI turns into one line on stderr and a documented exit status.

Every error says what went wrong and, where there is one, what to do about it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses, documented in the README."""

    OK = 0
    VERDICT = 1  # --fail-on matched the verdict
    BAD_INPUT = 2  # unreadable or invalid input, bad usage
    CONFIG = 3  # policy or configuration file is invalid
    ENVIRONMENT = 4  # node unreachable, model missing, keystore unusable
    REFUSED = 5  # signing refused: blocked, not confirmed, over limit, payload changed
    INTERNAL = 70  # a bug in txcopilot (EX_SOFTWARE): rerun with --debug and report it
    INTERRUPTED = 130


class CopilotError(Exception):
    """Base class: a message for the user plus an optional hint on what to do."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class InputError(CopilotError):
    """The input cannot be parsed or is structurally invalid."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(CopilotError):
    """A policy, config or ABI file the user gave is invalid."""

    exit_code = ExitCode.CONFIG


class EnvironmentProblem(CopilotError):
    """Something outside the input is missing: the node, the model, the keystore."""

    exit_code = ExitCode.ENVIRONMENT


class Refused(CopilotError):
    """The signer refused to sign."""

    exit_code = ExitCode.REFUSED


class Interrupted(CopilotError):
    """The user pressed Ctrl-C at a prompt: an answer (no), with the interrupt's exit status."""

    exit_code = ExitCode.INTERRUPTED
