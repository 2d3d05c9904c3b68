"""Shared fixtures: an isolated home for every test, and a real anvil node when a test asks for one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from nodehelpers import CAST, Anvil, start_anvil


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config/data/cache dirs: nothing touches the developer's real ones."""
    home = tmp_path_factory.mktemp("txcopilot-home")
    monkeypatch.setenv("TXCOPILOT_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    """A fresh anvil node on 127.0.0.1 and a free port, stopped after the test."""
    node = start_anvil()
    try:
        yield node
    finally:
        node.process.terminate()
        try:
            node.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            node.process.kill()


@pytest.fixture(scope="session")
def cast_bin() -> Path:
    if not CAST.exists() or shutil.which(str(CAST)) is None:
        pytest.fail(f"cast not found at {CAST}: run the README's set-up command (npm install)")
    return CAST
