"""Input parsing: detect what the user pasted and normalise it into a SigningRequest."""

from __future__ import annotations

from copilot.inputs.detect import SUPPORTED_METHODS, parse_request
from copilot.inputs.reader import MAX_INPUT_BYTES, read_input

__all__ = ["MAX_INPUT_BYTES", "SUPPORTED_METHODS", "parse_request", "read_input"]
