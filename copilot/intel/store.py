"""Where imported threat lists live, and the index reviews look them up in.

`<data dir>/intel/`:
- `manifest.json`: every imported source with its name, formats, origin, import date, the date the
  user gave the data (`--date`) and its counts;
- `sources/<name>.addresses.json` and `sources/<name>.domains.json`: the source's entries (address
  or domain -> label), the domains with its allow list and fuzzylist. Each part is read on first use;
- `allow.json`: the user's own overrides (`intel allow`), which beat every list.

Every file is written atomically (temp file, fsync, rename); a source's files get a new name on each
import and are written before the manifest that points to them, so a crash leaves the previous state
or the new one, never a mix. The bundled seed list (`policies/intel/seed.csv`)
is always part of the index.

The index is built once per process and reused while the manifest and allow files are unchanged
(one stat each per lookup): each source keeps its entries in a dict, so a lookup costs one hash probe
per source whatever the list sizes (benchmarks/bench_intel.py). A transaction review reads only the
address parts, a sign-in only the domain parts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from copilot.dates import utc_date
from copilot.errors import ConfigError, InputError
from copilot.intel.domains import LookAlike, look_alike, normalise_domain, parents
from copilot.intel.lists import ParsedList, parse_text, read_list
from copilot.parsing import load_json
from copilot.state.atomic import atomic_write_text

SEED_NAME = "txcopilot-seed"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SEED_DATE = re.compile(r"^#\s*as of:\s*(\d{4}-\d{2}-\d{2})", re.MULTILINE)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")
DAY = 86_400
STALE_DAYS = 30  # doctor warns when the newest imported list is older than this


_folders: dict[str | None, Path] = {}


def intel_dir() -> Path:
    """<data dir>/intel, resolved once per TXCOPILOT_HOME value: every review and every audit row looks
    lists up through load_index(), and data_dir() creates the folder and checks its mode on each call."""
    import os

    home = os.environ.get("TXCOPILOT_HOME")
    folder = _folders.get(home)
    if folder is None:
        from copilot.state.dirs import data_dir

        folder = _folders[home] = data_dir() / "intel"
    return folder


def _bundled_dir() -> Path:
    from copilot.resources import policies_dir

    return policies_dir() / "intel"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str
    formats: list[str]
    origin: str  # the path it was imported from; "bundled" for the seed list
    imported_at: int  # unix time
    dated: str | None  # the data's own date when the user gave it (--date), YYYY-MM-DD
    addresses: int
    domains: int
    allow: int  # the list's own allow list (eth-phishing-detect whitelist)
    fuzzy: int  # domains its look-alike check protects (eth-phishing-detect fuzzylist)
    skipped: int  # entries that were neither an address nor a domain
    file: str  # sources/<name>: its .addresses.json and .domains.json; "" for the seed

    @property
    def entries(self) -> int:
        return self.addresses + self.domains

    @property
    def bundled(self) -> bool:
        return self.origin == "bundled"

    def date(self) -> str:
        return self.dated or utc_date(self.imported_at, "%Y-%m-%d") or "?"

    def age_days(self, now: int) -> int:
        start = int(datetime.strptime(self.dated, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) if self.dated else self.imported_at
        return (now - start) // DAY

    def describe(self, now: int | None) -> str:
        """'list "scam-database" of 2026-08-22, 107 days old'. The age is left out without `now`
        (a stored audit result) and when negative (a review judged at an earlier time: the corpus)."""
        verb = "of" if self.dated or self.bundled else "imported"
        age = self.age_days(now) if now is not None else -1
        when = f", {age} day{'s' if age != 1 else ''} old" if age >= 0 else ""
        return f'list "{self.name}" {verb} {self.date()}{when}'

    def summary(self, now: int | None) -> str:
        """'list "scam-database" of 2026-08-22, 107 days old (4,898 entries)'."""
        return f"{self.describe(now)} ({self.entries:,} entr{'y' if self.entries == 1 else 'ies'})"

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["entries"] = self.entries
        document["date"] = self.date()
        return document


@dataclass(frozen=True, slots=True)
class Listing:
    """One list's entry for an address or domain."""

    value: str  # the address or domain as listed (a domain may be a parent of the one looked up)
    label: str
    source: SourceInfo

    def evidence(self, now: int | None) -> str:
        label = f": {self.label}" if self.label else ""
        return f"on the {self.source.describe(now)}{label}"


class _Source:
    """One list. Its addresses and its domains are read from disk on first use, each on its own: a
    transaction review never pays for the domains, nor a sign-in for the addresses."""

    def __init__(self, info: SourceInfo, folder: Path | None = None, parsed: ParsedList | None = None) -> None:
        self.info = info
        self._folder = folder
        self._addresses = parsed.addresses if parsed is not None else None
        self._domains = _DomainPart(parsed.domains, parsed.allow_domains, parsed.fuzzy) if parsed is not None else None

    @property
    def addresses(self) -> dict[str, str]:
        if self._addresses is None:
            assert self._folder is not None
            path = self._folder / f"{self.info.file}.addresses.json"
            self._addresses = _mapping(_read_json(path), "addresses", path)
        return self._addresses

    @property
    def domain_part(self) -> _DomainPart:
        if self._domains is None:
            assert self._folder is not None
            path = self._folder / f"{self.info.file}.domains.json"
            document = _read_json(path)
            self._domains = _DomainPart(
                _mapping(document, "domains", path), set(document.get("allow_domains", [])), set(document.get("fuzzy", []))
            )
        return self._domains


@dataclass(frozen=True, slots=True)
class _DomainPart:
    domains: dict[str, str]
    allow: set[str]  # the list's own allow list (eth-phishing-detect whitelist)
    fuzzy: set[str]  # domains it protects from look-alikes (eth-phishing-detect fuzzylist)


class ThreatIndex:
    def __init__(self, sources: list[_Source], user_allowed: dict[str, str], well_known: list[str]) -> None:
        self.sources = sources
        self.user_allowed = user_allowed  # address or domain -> the date the user allowed it
        self._bundled_well_known = well_known
        self._list_allowed: set[str] | None = None
        self._well_known: list[str] | None = None

    @property
    def infos(self) -> list[SourceInfo]:
        return [source.info for source in self.sources]

    def address(self, address: str) -> list[Listing]:
        """Every list naming the address; [] when the user allowed it."""
        key = address.lower()
        if key in self.user_allowed:
            return []
        return [Listing(key, s.addresses[key], s.info) for s in self.sources if key in s.addresses]

    def domain(self, host: str) -> list[Listing]:
        """Every list naming the domain or a parent of it; [] when it is allowed (by the user or by
        an imported allow list, for it or a parent)."""
        domain = normalise_domain(host)
        if domain is None or self.allowed_domain(domain):
            return []
        return [
            Listing(parent, s.domain_part.domains[parent], s.info)
            for parent in parents(domain)
            for s in self.sources
            if parent in s.domain_part.domains
        ]

    def allowed_domain(self, domain: str) -> bool:
        if self._list_allowed is None:
            self._list_allowed = set().union(*(s.domain_part.allow for s in self.sources))
        allowed = self._list_allowed
        return any(p in self.user_allowed or p in allowed for p in parents(domain))

    def look_alike(self, host: str) -> LookAlike | None:
        domain = normalise_domain(host)
        if domain is None or self.allowed_domain(domain):
            return None
        if self._well_known is None:
            imported = sorted(set().union(*(s.domain_part.fuzzy for s in self.sources)) - set(self._bundled_well_known))
            self._well_known = self._bundled_well_known + imported
        return look_alike(domain, self._well_known)


# --------------------------------------------------------------------------- loading


_cache: tuple[tuple[Any, ...], ThreatIndex] | None = None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def load_index() -> ThreatIndex:
    """The index of the seed list, every imported source and the user's overrides, built once per
    process and again only after a change. A damaged file stops with exit 3 naming it."""
    global _cache
    folder = intel_dir()
    key = (str(folder), _stamp(folder / "manifest.json"), _stamp(folder / "allow.json"))
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    sources = [_seed()] + [_Source(info, folder) for info in read_manifest()]
    index = ThreatIndex(sources, read_allow(), _well_known())
    _cache = (key, index)
    return index


def _mapping(document: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise _damaged(path, f"{key} is not an object")
    return value


def _damaged(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"{path}: damaged threat list ({why})",
        f"remove it with `txcopilot intel remove NAME` and import it again, or move {path.parent} aside",
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = load_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _damaged(path, "the file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(path, str(exc).splitlines()[0][:120]) from None
    if not isinstance(document, dict):
        raise _damaged(path, "not a JSON object")
    return document


def read_manifest() -> list[SourceInfo]:
    path = intel_dir() / "manifest.json"
    if not path.exists():
        return []
    document = _read_json(path)
    try:
        return [SourceInfo(**entry) for entry in document.get("sources", [])]
    except TypeError as exc:
        raise _damaged(path, str(exc)) from None


def read_allow() -> dict[str, str]:
    path = intel_dir() / "allow.json"
    if not path.exists():
        return {}
    document = _read_json(path)
    allowed = document.get("allowed", {})
    if not isinstance(allowed, dict):
        raise _damaged(path, "allowed is not an object")
    return allowed


def _seed() -> _Source:
    """The curated seed list: well-documented addresses and domains, each with its write-up."""
    path = _bundled_dir() / "seed.csv"
    text = path.read_text(encoding="utf-8")
    parsed = parse_text(text, path.name)
    match = _SEED_DATE.search(text)
    info = SourceInfo(
        name=SEED_NAME,
        formats=["csv"],
        origin="bundled",
        imported_at=int(path.stat().st_mtime),
        dated=match.group(1) if match else None,
        addresses=len(parsed.addresses),
        domains=len(parsed.domains),
        allow=0,
        fuzzy=0,
        skipped=parsed.skipped,
        file="",
    )
    return _Source(info, parsed=parsed)


def _well_known() -> list[str]:
    path = _bundled_dir() / "well-known-domains.txt"
    domains: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = normalise_domain(line.split("#", 1)[0])
        if value is not None:
            domains.append(value)
    return domains


# --------------------------------------------------------------------------- changing


@contextmanager
def _locked() -> Iterator[Path]:
    """One writer at a time: two imports at once must not drop each other's manifest entry."""
    folder = intel_dir()
    (folder / "sources").mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; imports there are rare enough
        yield folder
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield folder


def default_name(path: Path) -> str:
    """A clone is named after its folder; scam-database/blacklist/address.json: scam-database-address."""
    path = path.resolve()
    if path.is_dir():
        return path.name
    if path.parent.name in ("blacklist", "src") and path.parent.parent.name:
        return f"{path.parent.parent.name}-{path.stem}"
    return path.stem


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"{name!r} is not a list name", "use letters, digits, '.', '_' or '-' (at most 64)")
    if name == SEED_NAME:
        raise InputError(f"{SEED_NAME} is the bundled seed list's name", "choose another --name")
    return name


def check_date(date: str | None) -> str | None:
    if date is None:
        return None
    try:
        datetime.strptime(date, "%Y-%m-%d")
    except ValueError:
        raise InputError(f"--date {date!r} is not a date", "write it as YYYY-MM-DD, e.g. 2026-08-22") from None
    return date


def import_list(path: Path, name: str | None = None, date: str | None = None, now: int | None = None) -> SourceInfo:
    """Reads a list (file or clone) and stores it as source `name`, replacing one of the same name."""
    parsed = read_list(path)
    name = check_name(name or default_name(path))
    info = SourceInfo(
        name=name,
        formats=sorted(set(parsed.formats)),
        origin=str(path.resolve()),
        imported_at=int(time.time()) if now is None else now,
        dated=check_date(date),
        addresses=len(parsed.addresses),
        domains=len(parsed.domains),
        allow=len(parsed.allow_domains),
        fuzzy=len(parsed.fuzzy),
        skipped=parsed.skipped,
        file=f"sources/{name}-{time.time_ns()}",  # new files: the manifest switches to them at once
    )
    with _locked() as folder:
        for kind, document in _source_documents(parsed).items():
            atomic_write_text(folder / f"{info.file}.{kind}.json", document)
        previous = read_manifest()
        _write_manifest(folder, [s for s in previous if s.name != name] + [info])
        for replaced in (s for s in previous if s.name == name):
            _delete_files(folder, replaced)
    return info


def _delete_files(folder: Path, info: SourceInfo) -> None:
    for kind in ("addresses", "domains"):
        (folder / f"{info.file}.{kind}.json").unlink(missing_ok=True)


def _source_documents(parsed: ParsedList) -> dict[str, str]:
    domains = {"domains": parsed.domains, "allow_domains": sorted(parsed.allow_domains), "fuzzy": sorted(parsed.fuzzy)}
    return {
        "addresses": json.dumps({"addresses": parsed.addresses}, separators=(",", ":")),
        "domains": json.dumps(domains, separators=(",", ":")),
    }


def _write_manifest(folder: Path, sources: list[SourceInfo]) -> None:
    document = {"version": 1, "sources": [asdict(s) for s in sources]}
    atomic_write_text(folder / "manifest.json", json.dumps(document, indent=2) + "\n")


def remove_source(name: str) -> SourceInfo:
    if name == SEED_NAME:
        raise InputError(
            f"{SEED_NAME} is bundled with txcopilot and cannot be removed",
            "`txcopilot intel allow ADDRESS|DOMAIN` overrides one of its entries",
        )
    with _locked() as folder:
        sources = read_manifest()
        match = next((s for s in sources if s.name == name), None)
        if match is None:
            names = ", ".join(s.name for s in sources) or "none imported"
            raise InputError(f"no threat list named {name!r} (lists: {names})", "`txcopilot intel list` shows them")
        _write_manifest(folder, [s for s in sources if s.name != name])
        _delete_files(folder, match)
    return match


def allow(value: str, *, remove: bool = False, now: int | None = None) -> str:
    """Overrides every list for one address or domain (a false positive), or with `remove` takes the
    override back; returns the value's normal form."""
    key = normal_value(value)
    date = utc_date(int(time.time()) if now is None else now, "%Y-%m-%d") or "?"
    with _locked() as folder:
        allowed = read_allow()
        if not remove:
            allowed[key] = date
        elif allowed.pop(key, None) is None:
            raise InputError(f"{key} is not allowed by you", "`txcopilot intel list` shows what you allowed")
        atomic_write_text(folder / "allow.json", json.dumps({"allowed": dict(sorted(allowed.items()))}, indent=2) + "\n")
    return key


def normal_value(value: str) -> str:
    """An address in lowercase or a domain in its normal form (InputError when it is neither)."""
    text = value.strip()
    if _ADDRESS.match(text):
        return text.lower()
    domain = normalise_domain(text)
    if domain is None:
        raise InputError(f"{value!r} is neither an address nor a domain", "give 0x + 40 hex characters, or a domain such as example.com")
    return domain
