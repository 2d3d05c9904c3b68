"""Where the bundled data lives: abis/, policies/, fixtures/ at the top of the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def abis_dir() -> Path:
    return ROOT / "abis"


def policies_dir() -> Path:
    return ROOT / "policies"


def fixtures_dir() -> Path:
    return ROOT / "fixtures"
