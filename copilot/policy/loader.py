"""Load a policy by name or path, validate it, and precompute what the judge looks up.

Names resolve in `<config dir>/policies/NAME.toml` first, then in the shipped `policies/`.
Every error names the file, the line and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from copilot.errors import ConfigError
from copilot.parsing import load_toml
from copilot.policy.addresses import is_address, selector_of
from copilot.policy.schema import PolicyFile

DEFAULT_POLICY = "default"


@dataclass(frozen=True)
class Policy:
    """A validated policy plus the lookup sets the judge needs (addresses lowercase, selectors 0x…)."""

    spec: PolicyFile
    name: str  # "everyday"
    file: str  # "everyday.toml": what decided_by names
    path: Path | None
    blocklist: frozenset[str] = frozenset()
    denied_addresses: frozenset[str] = frozenset()
    denied_contracts: frozenset[str] = frozenset()
    denied_signatures: frozenset[str] = frozenset()
    denied_selectors: frozenset[str] = frozenset()
    allowed_contracts: frozenset[str] = frozenset()
    allowed_signatures: frozenset[str] = frozenset()
    allowed_selectors: frozenset[str] = frozenset()
    trusted: frozenset[str] = frozenset()  # checksummed allow-listed addresses and contracts
    severity_exact: dict[str, str] = field(default_factory=dict)
    severity_prefixes: tuple[tuple[str, str], ...] = ()

    def rule(self, name: str) -> str:
        """The decided_by name of one of this policy's rules."""
        return f"policy:{self.file}:{name}"


def policy_from_spec(
    spec: PolicyFile, *, name: str, path: Path | None, blocklist: frozenset[str] = frozenset()
) -> Policy:
    deny_sigs, deny_sels = _split_functions(spec.deny.functions)
    allow_sigs, allow_sels = _split_functions(spec.allow.functions)
    exact = {k: v.value for k, v in spec.severity.items() if not k.endswith("*")}
    prefixes = tuple((k.rstrip("*"), v.value) for k, v in spec.severity.items() if k.endswith("*"))
    return Policy(
        spec=spec,
        name=spec.name or name,
        file=path.name if path else f"{name}.toml",
        path=path,
        blocklist=blocklist,
        denied_addresses=frozenset(a.lower() for a in spec.deny.addresses),
        denied_contracts=frozenset(a.lower() for a in spec.deny.contracts),
        denied_signatures=deny_sigs,
        denied_selectors=deny_sels,
        allowed_contracts=frozenset(a.lower() for a in spec.allow.contracts + spec.allow.addresses),
        allowed_signatures=allow_sigs,
        allowed_selectors=allow_sels,
        trusted=frozenset(spec.allow.addresses + spec.allow.contracts),
        severity_exact=exact,
        severity_prefixes=prefixes,
    )


def _split_functions(entries: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Signatures match decoded calls by name; their selectors also catch undecoded calls."""
    signatures = frozenset(e for e in entries if not e.startswith("0x"))
    selectors = frozenset(e for e in entries if e.startswith("0x")) | {selector_of(s) for s in signatures}
    return signatures, selectors


def resolve_policy_path(name_or_path: str) -> Path:
    from copilot.resources import policies_dir
    from copilot.state.dirs import config_dir

    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" or "/" in name_or_path:
        if candidate.is_file():
            return candidate
        if "/" not in name_or_path:  # "everyday.toml": the shipped or user policy of that name
            return resolve_policy_path(candidate.stem)
        raise ConfigError(
            f"policy file {candidate} not found",
            "check the path, or name a policy from `txcopilot policy list`",
        )
    for folder in (config_dir() / "policies", policies_dir()):
        path = folder / f"{name_or_path}.toml"
        if path.is_file():
            return path
    raise ConfigError(
        f"no policy named {name_or_path!r}",
        f"available: {', '.join(available_policies()) or 'none'} (or give a path to a .toml file)",
    )


def available_policies() -> list[str]:
    """Policy names: the user's (config dir) first, then the shipped ones."""
    from copilot.resources import policies_dir
    from copilot.state.dirs import config_dir

    names: list[str] = []
    for folder in (config_dir() / "policies", policies_dir()):
        if folder.is_dir():
            names += [
                p.stem
                for p in sorted(folder.glob("*.toml"))
                if p.stem not in names and p.stem != "prices.example"
            ]
    return names


_cache: dict[tuple[str, int, int], tuple[Policy, tuple[int, int] | None]] = {}


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """What tells a file changed (mtime, size); None when there is no file."""
    try:
        stat = path.stat() if path else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


def blocklist_path(policy: Policy) -> Path | None:
    if not policy.spec.deny.blocklist:
        return None
    base = policy.path.parent if policy.path else Path.cwd()
    return (base / policy.spec.deny.blocklist).expanduser()


def load_policy(name_or_path: str | None = None) -> Policy:
    """The named policy, or the config's `[review] policy`, or the shipped default."""
    if name_or_path is None:
        from copilot.config import load_config

        name_or_path = load_config().review.policy or DEFAULT_POLICY
    path = resolve_policy_path(name_or_path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    # A cached policy stays valid while neither its file nor its blocklist file changed.
    if cached is None or cached[1] != _stamp(blocklist_path(cached[0])):
        policy = load_policy_file(path)
        cached = _cache[key] = (policy, _stamp(blocklist_path(policy)))
    return cached[0]


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read policy {path}: {exc}", "check the file exists and is UTF-8 text"
        ) from None
    return parse_policy(text, path=path)


def parse_policy(text: str, *, path: Path | None = None, name: str | None = None) -> Policy:
    where = str(path) if path else "<policy>"
    try:
        data = load_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}", "fix the TOML syntax at that line") from None
    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"] if p != "[key]"]
        line = _line_of(text, loc)
        at = f":{line}" if line else ""
        raise ConfigError(
            f"{where}{at}: {'.'.join(loc) or 'policy'}: {_message(error)}",
            _hint(loc, str(error.get("type", ""))),
        ) from None
    for key in spec.severity:
        _check_severity_key(key, text, where)
    blocklist: frozenset[str] = frozenset()
    if spec.deny.blocklist:
        base = path.parent if path else Path.cwd()
        list_file = (base / spec.deny.blocklist).expanduser()
        if not list_file.is_file():
            line = _line_of(text, ["deny", "blocklist"])
            raise ConfigError(
                f"{where}:{line}: deny.blocklist: file {list_file} not found",
                "the path is relative to the policy file; fix it or remove the key",
            )
        blocklist = load_blocklist(list_file)
    stem = name or (path.stem if path else "policy")
    return policy_from_spec(spec, name=stem, path=path, blocklist=blocklist)


def _check_severity_key(key: str, text: str, where: str) -> None:
    """A `[severity]` key must name a catalogued finding (or a prefix of some): a typo would silently
    disable the override."""
    from copilot.risk.catalogue import CATALOGUE

    malformed = not key or "*" in key.rstrip("*") or (key.endswith("*") and not key.endswith(".*"))
    if not malformed:
        prefix = key.removesuffix("*")
        if key.endswith("*") and any(finding_id.startswith(prefix) for finding_id in CATALOGUE):
            return
        if key in CATALOGUE:
            return
    import difflib

    line = _line_of(text, ["severity", key])
    candidates = list(CATALOGUE) + sorted({f"{i.split('.', 1)[0]}.*" for i in CATALOGUE})
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    raise ConfigError(
        f"{where}:{line}: severity.{key}: not a finding id",
        hint + 'write an id from the findings table (README), like "approval.unlimited", or a prefix like "approval.*"',
    )


def _line_of(text: str, path: list[str]) -> int | None:
    """Only an error needs line numbers: their parser loads then, not on every review."""
    from copilot.policy.lines import line_of

    return line_of(text, path)


def load_blocklist(path: Path) -> frozenset[str]:
    """One address per line; `#` starts a comment; anything after the address is ignored (a label)."""
    addresses: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip().split()
        if not entry:
            continue
        if not is_address(entry[0]):
            raise ConfigError(
                f"{path}:{number}: {entry[0]!r} is not an address",
                "write one 0x address (40 hex characters) per line; # starts a comment",
            )
        addresses.add(entry[0].lower())
    return frozenset(addresses)


def _message(error: ErrorDetails) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


_HINTS = {
    "verdicts": 'each severity maps to "allow", "confirm" or "block"',
    "default": 'write "allow", "confirm" or "block"',
    "severity": 'map a finding id to "info", "low", "medium", "high" or "critical"',
    "chains": "allowed = [1, 8453, …] lists chain ids as integers",
    "limits": 'amounts are numbers or strings in whole units ("0.5"); action is "confirm" or "block"',
    "confirm": "above_usd and above_native are non-negative numbers",
    "approvals": "max_usd, max_amount (token -> whole units) and max_permit_days are positive numbers",
    "gas": "max_fee_gwei, max_fee_native and max_base_fee_multiple are positive numbers",
    "address_book": 'write "0xADDRESS" = "label"',
}


def _hint(loc: list[str], error_type: str) -> str:
    if error_type == "extra_forbidden":
        return f"{loc[-1]!r} is not a policy key here: check its spelling (README: Policies lists the keys)"
    return _HINTS.get(loc[0] if loc else "", "see the README section Policies") + " (README: Policies)"
