"""Turns the model's JSON, as it streams in token by token, into text a person can read live.

The grammar fixes the shape (`{"summary": "...", "what_happens": ["..."], ...}`, strings without
escapes), so a small state machine is enough: string values are printed as they arrive, keys
become headings and list items become bullets.
"""

from __future__ import annotations

from collections.abc import Callable

HEADINGS = {
    "summary": "",
    "what_happens": "\nWhat happens:",
    "risks": "\nRisks:",
    "risk_level": "\nModel's risk level: ",
    "questions": "\nAsk yourself:",
}


class HumanStream:
    """feed() raw JSON pieces; readable text goes to `write` as soon as it is known."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._stack: list[str] = []  # "{" or "["
        self._in_string = False
        self._is_key = False
        self._key = ""
        self._last_key = ""
        self._expect_key = False

    def feed(self, piece: str) -> None:
        for char in piece:
            self._char(char)

    def _char(self, char: str) -> None:
        if self._in_string:
            if char != '"':
                if self._is_key:
                    self._key += char
                else:
                    self.write(char)
                return
            self._in_string = False
            if self._is_key:
                self._last_key = self._key
                heading = HEADINGS.get(self._key)
                if heading:
                    self.write(heading if self._key == "risk_level" else heading + "\n")
            else:
                self.write("] " if self._last_key == "finding" else "\n")
        elif char == '"':
            self._in_string = True
            self._is_key = bool(self._stack) and self._stack[-1] == "{" and self._expect_key
            self._key = ""
            if not self._is_key:
                if self._last_key == "finding":
                    self.write("- [")
                elif self._stack and self._stack[-1] == "[":
                    self.write("- ")
        elif char in "{[":
            self._stack.append(char)
            self._expect_key = char == "{"
        elif char in "}]":
            if self._stack:
                self._stack.pop()
        elif char == ",":
            self._expect_key = bool(self._stack) and self._stack[-1] == "{"
        elif char == ":":
            self._expect_key = False
