"""Where the bundled data lives: abis/, policies/, fixtures/ at the top of the checkout.

An editable install (README: ./setup.sh) reads them from the checkout beside the package; a regular
wheel (`pip install .`, `pipx install .`) carries them under copilot/_data/ (see setup.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from copilot.errors import EnvironmentProblem

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


@cache
def _bundled(name: str) -> Path:
    installed = PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    # The checkout, only when the parent really is one (not some site-packages folder of that name).
    checkout = ROOT / name
    if (ROOT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    raise EnvironmentProblem(
        f"bundled data folder {name} is missing beside {PACKAGE}",
        "reinstall txcopilot (pipx install . or ./setup.sh from its checkout)",
    )


def abis_dir() -> Path:
    return _bundled("abis")


def policies_dir() -> Path:
    return _bundled("policies")


def fixtures_dir() -> Path:
    return _bundled("fixtures")
