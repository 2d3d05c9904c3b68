"""The platform's user directories (platformdirs), overridable with TXCOPILOT_HOME.

TXCOPILOT_HOME=/some/dir puts config, data and cache under that one folder: tests and portable
installs use it. Nothing else in the package builds these paths itself.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "txcopilot"


def _home() -> Path | None:
    value = os.environ.get("TXCOPILOT_HOME")
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _ensure_private(path: Path) -> Path:
    """A directory only its owner can enter: one made earlier with a looser mode (0755, by hand or by
    an older version) is tightened to 0700, since it holds keystores, the ledger and the audit log."""
    _ensure(path)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def config_dir() -> Path:
    home = _home()
    if home:
        return _ensure(home / "config")
    from platformdirs import user_config_path

    return _ensure(user_config_path(APP))


def data_dir() -> Path:
    home = _home()
    if home:
        return _ensure_private(home / "data")
    from platformdirs import user_data_path

    return _ensure_private(user_data_path(APP))


def cache_dir() -> Path:
    home = _home()
    if home:
        return _ensure(home / "cache")
    from platformdirs import user_cache_path

    return _ensure(user_cache_path(APP))


def keystore_dir() -> Path:
    return _ensure_private(data_dir() / "keystores")
