"""Unix timestamps as UTC dates. A timestamp from a request or an export is any integer, and
`datetime.fromtimestamp` raises for those before year 1 or after 9999; here they have no date."""

from __future__ import annotations

from datetime import UTC, datetime

LAST_DATE = 253_402_300_799  # 9999-12-31 23:59:59 UTC: the last second a date can show


def utc_date(timestamp: int, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str | None:
    """The timestamp as a UTC date in `fmt`, or None when no date can show it (negative or after 9999)."""
    if not 0 <= timestamp <= LAST_DATE:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime(fmt)
