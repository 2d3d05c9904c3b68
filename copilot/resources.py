"""Where the bundled data lives: abis/, policies/, fixtures/ at the top of the checkout.

txcopilot installs editable from its checkout (README: ./setup.sh), so the data stays next to the
package instead of being copied into site-packages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from copilot.errors import EnvironmentProblem

ROOT = Path(__file__).resolve().parent.parent


@cache
def _bundled(name: str) -> Path:
    path = ROOT / name
    if not path.is_dir():
        raise EnvironmentProblem(
            f"bundled data folder {path} is missing",
            "install txcopilot from its source checkout with ./setup.sh (pip install -e .)",
        )
    return path


def abis_dir() -> Path:
    return _bundled("abis")


def policies_dir() -> Path:
    return _bundled("policies")


def fixtures_dir() -> Path:
    return _bundled("fixtures")
