"""Public threat lists imported locally: formats, the intel commands, and what reviews and audits flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from copilot.cli.main import cli
from copilot.intel.domains import edit_distance
from copilot.resources import fixtures_dir

ROOT = Path(__file__).resolve().parent.parent
CORPUS = fixtures_dir() / "requests"
SCAM_DATABASE = ROOT.parent / "shared" / "data" / "scam-database"
STRANGER = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"  # the corpus' unknown counterparty
DRAINER = "0xD7a1e5c0Ffee00000000000000000000000bAD01"
SAFE = "0x5aFe0000C0fFee00B0bA00dEadBeEf0000005aFE"
SEED_POISONER = "0xd9A1C3788D81257612E2581A6ea0aDa244853a91"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def review(*args: str) -> dict:
    code, out, err = run("review", *args, "--json", "--no-llm", "--no-log")
    assert code == 0, err
    return json.loads(out)


def listed(doc: dict, finding_id: str = "address.listed_scam") -> list[dict]:
    return [f for f in doc["findings"] if f["id"] == finding_id]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def import_list(path: Path, *extra: str) -> dict:
    code, out, err = run("intel", "import", str(path), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- formats


def test_a_scamsniffer_clone_imports_addresses_and_domains_with_their_site(tmp_path: Path) -> None:
    clone = tmp_path / "scam-database"
    write(clone / "blacklist" / "address.json", json.dumps([STRANGER.lower(), "not-an-address"]))
    write(clone / "blacklist" / "domains.json", json.dumps(["claim-airdrop.xyz"]))
    write(clone / "blacklist" / "combined.json", json.dumps({"mint-free.art": [DRAINER.lower()]}))
    info = import_list(clone)
    assert info["name"] == "scam-database"
    assert set(info["formats"]) == {"scamsniffer-addresses", "scamsniffer-domains", "scamsniffer-combined"}
    assert (info["addresses"], info["domains"], info["skipped"]) == (2, 2, 1)
    _, out, _ = run("intel", "show", DRAINER, "--json")
    shown = json.loads(out)
    assert shown["listed"][0]["list"] == "scam-database"
    assert shown["listed"][0]["label"] == "linked to the phishing site mint-free.art"
    _, out, _ = run("intel", "show", "https://app.claim-airdrop.xyz/x", "--json")
    assert json.loads(out)["listed"][0]["entry"] == "claim-airdrop.xyz"  # a subdomain of a listed domain


def test_eth_phishing_detect_config_blacklist_whitelist_and_fuzzylist(tmp_path: Path) -> None:
    config = {
        "version": 2,
        "tolerance": 2,
        "fuzzylist": ["mydapp-exchange.io"],
        "whitelist": ["mydapp-exchange.io", "honest-claims.org"],
        "blacklist": ["fake-wallet-connect.com", "honest-claims.org"],
    }
    info = import_list(write(tmp_path / "src" / "config.json", json.dumps(config)), "--name", "metamask")
    assert (info["formats"], info["domains"], info["allow"], info["fuzzy"]) == (["eth-phishing-detect"], 2, 2, 1)
    _, out, _ = run("intel", "show", "fake-wallet-connect.com", "--json")
    assert json.loads(out)["listed"][0]["list"] == "metamask"
    _, out, _ = run("intel", "show", "honest-claims.org", "--json")
    assert json.loads(out)["listed"] == []  # the list's own whitelist wins over its blacklist
    _, out, _ = run("intel", "show", "mydapp-exchang.io", "--json")
    assert json.loads(out)["look_alike_of"] == "mydapp-exchange.io"  # the fuzzylist protects it
    _, out, _ = run("intel", "show", "mydapp-exchange.io", "--json")
    assert json.loads(out)["look_alike_of"] is None


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("list.csv", f"address,label\n{STRANGER},fake airdrop\nphish.example.net,kit\n", "csv"),
        ("list.json", json.dumps([{"address": STRANGER, "label": "fake airdrop"}, {"domain": "phish.example.net"}]), "json"),
        ("labels.json", json.dumps({STRANGER: "fake airdrop", "phish.example.net": "kit"}), "json"),
        ("list.txt", f"# my list\n{STRANGER} fake airdrop\nhttps://phish.example.net/login\n", "text"),
    ],
)
def test_plain_lists_with_optional_labels(tmp_path: Path, name: str, text: str, fmt: str) -> None:
    info = import_list(write(tmp_path / name, text), "--name", "mine")
    assert (info["formats"], info["addresses"], info["domains"]) == ([fmt], 1, 1)
    _, out, _ = run("intel", "show", STRANGER.lower(), "--json")
    assert json.loads(out)["listed"][0]["label"] == "fake airdrop"
    _, out, _ = run("intel", "show", "phish.example.net", "--json")
    assert json.loads(out)["listed"][0]["list"] == "mine"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2", "not valid JSON"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"hello world\nnothing here\n", "no address or domain found"),
        (b"", "no address or domain found"),  # an empty file is no list, not broken JSON
        (b"  \n\n", "no address or domain found"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"label": 1}', "no address or domain found"),
        (b'{"blacklist": "evil.com"}', "must be a list"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, out, err = run("intel", "import", str(path))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_paths_bad_names_and_unknown_sources_exit_2(tmp_path: Path) -> None:
    assert run("intel", "import", str(tmp_path / "nope.json"))[0] == 2
    assert "no threat list in this folder" in run("intel", "import", str(tmp_path))[2]
    good = write(tmp_path / "l.txt", f"{STRANGER}\n")
    assert run("intel", "import", str(good), "--name", "../escape")[0] == 2
    assert run("intel", "import", str(good), "--date", "yesterday")[0] == 2
    code, _, err = run("intel", "remove", "nothing")
    assert code == 2 and "no threat list named 'nothing'" in err
    code, _, err = run("intel", "remove", "txcopilot-seed")
    assert code == 2 and "intel allow" in err
    assert run("intel", "show", "neither")[0] == 2


def test_a_failed_import_keeps_the_lists_already_there(tmp_path: Path) -> None:
    import_list(write(tmp_path / "l.txt", f"{STRANGER}\n"), "--name", "mine")
    assert run("intel", "import", str(write(tmp_path / "bad.json", "[")), "--name", "mine")[0] == 2
    _, out, _ = run("intel", "show", STRANGER, "--json")
    assert [entry["list"] for entry in json.loads(out)["listed"]] == ["mine"]


def test_list_remove_and_reimport(tmp_path: Path, isolated_home: Path) -> None:
    sources = isolated_home / "data" / "intel" / "sources"
    path = write(tmp_path / "l.txt", f"{STRANGER}\n")
    import_list(path, "--name", "mine", "--date", "2026-08-22")
    _, out, _ = run("intel", "list", "--json")
    lists = {entry["name"]: entry for entry in json.loads(out)["lists"]}
    assert set(lists) == {"txcopilot-seed", "mine"}
    assert lists["mine"]["date"] == "2026-08-22" and lists["mine"]["entries"] == 1 and lists["mine"]["age_days"] > 0
    write(path, f"{STRANGER}\n{DRAINER}\n")
    import_list(path, "--name", "mine")  # the same name replaces the list
    _, out, _ = run("intel", "list", "--json")
    assert [e["entries"] for e in json.loads(out)["lists"] if e["name"] == "mine"] == [2]
    assert len(list(sources.iterdir())) == 2  # the replaced list's files are gone: addresses + domains
    code, out, _ = run("intel", "remove", "mine")
    assert code == 0 and "removed mine (2 entries)" in out
    assert list(sources.iterdir()) == []
    _, out, _ = run("intel", "show", STRANGER, "--json")
    assert json.loads(out)["listed"] == []


def test_every_intel_command_has_help_with_examples() -> None:
    for command in ("import", "list", "show", "remove", "allow"):
        code, out, _ = run("intel", command, "--help")
        assert code == 0 and "Examples:" in out and "--json" in out


# --------------------------------------------------------------------------- reviews


@pytest.mark.parametrize(
    ("case", "address", "role"),
    [
        ("safe-delegatecall-untrusted", SAFE, "to"),
        ("approval-unlimited-unknown-spender", STRANGER, "spender"),
        ("approval-operator-all-unknown", STRANGER, "operator"),
        ("order-cow-foreign-receiver", STRANGER, "receiver"),
        ("multicall-hidden-ownership", STRANGER, "new owner, nested call"),
        ("eip7702-untrusted-delegate", DRAINER, "EIP-7702 delegate"),
        ("safe-tx-signature-delegatecall", SAFE, "verifying contract"),
        ("batch-hidden-unlimited-approval", STRANGER, "batch entry"),
        ("order-payment-to-stranger", STRANGER, "order recipient"),
        ("permit-dai-allowed", STRANGER, "permit spender"),
    ],
)
def test_a_listed_address_blocks_wherever_it_stands(tmp_path: Path, case: str, address: str, role: str) -> None:
    before = review(str(CORPUS / f"{case}.json"))
    assert listed(before) == [], role
    import_list(write(tmp_path / "list.csv", f"{address},reported drainer\n"), "--name", "reports", "--date", "2026-08-22")
    doc = review(str(CORPUS / f"{case}.json"))
    [hit] = listed(doc)
    assert doc["verdict"] == "block" and hit["severity"] == "critical", role
    assert address in hit["evidence"] and 'list "reports" of 2026-08-22' in hit["evidence"] and "days old" in hit["evidence"]
    assert "reported drainer" in hit["evidence"]


def test_every_review_says_which_lists_it_used_and_how_old_they_are(tmp_path: Path) -> None:
    request = str(CORPUS / "benign-usdc-transfer.json")
    [seed] = review(request)["threat_lists"]
    assert seed.startswith('list "txcopilot-seed" of 2026-12-07') and seed.endswith(" entries)")
    import_list(write(tmp_path / "l.txt", f"{STRANGER}\n"), "--name", "mine", "--date", "2026-08-22")
    lists = review(request)["threat_lists"]
    assert len(lists) == 2 and lists[1].startswith('list "mine" of 2026-08-22, ') and lists[1].endswith("days old (1 entry)")
    code, out, _ = run("review", request, "--no-llm", "--no-log")
    text = " ".join(out.split())  # the terminal view wraps long lines
    assert code == 0 and 'threat lists: list "txcopilot-seed"' in text and 'list "mine" of 2026-08-22' in text


def test_the_seed_list_needs_no_import_and_allow_overrides_it() -> None:
    doc = review(str(CORPUS / "listed-scam-seed-address.json"))
    [hit] = listed(doc)
    assert SEED_POISONER in hit["evidence"] and "txcopilot-seed" in hit["evidence"] and "cointab.com" in hit["evidence"]
    code, out, _ = run("intel", "allow", SEED_POISONER)
    assert code == 0 and SEED_POISONER.lower() in out
    assert listed(review(str(CORPUS / "listed-scam-seed-address.json"))) == []
    _, out, _ = run("intel", "list", "--json")
    assert SEED_POISONER.lower() in json.loads(out)["allowed"]
    assert run("intel", "allow", "--remove", SEED_POISONER)[0] == 0
    assert listed(review(str(CORPUS / "listed-scam-seed-address.json")))  # flagged again
    code, _, err = run("intel", "allow", "--remove", SEED_POISONER)
    assert code == 2 and "is not allowed by you" in err


def test_a_known_token_contract_in_a_public_list_is_not_flagged(tmp_path: Path) -> None:
    # ScamSniffer's combined.json names USDC, the token a phishing site called: the registry knows better.
    usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
    import_list(write(tmp_path / "combined.json", json.dumps({"claimreward.example": [usdc]})))
    doc = review(str(CORPUS / "benign-usdc-transfer.json"))
    assert doc["verdict"] == "allow" and listed(doc) == []


def test_siwe_domain_and_uri_on_an_imported_list_block(tmp_path: Path) -> None:
    import_list(write(tmp_path / "domains.json", json.dumps(["uniswap.org"])), "--name", "wrong-list")
    doc = review(str(CORPUS / "benign-siwe-login.json"))
    [hit] = listed(doc, "domain.listed_scam")
    assert doc["verdict"] == "block" and "app.uniswap.org (listed: uniswap.org)" in hit["evidence"]
    run("intel", "allow", "uniswap.org")  # the user's override for a false positive
    doc = review(str(CORPUS / "benign-siwe-login.json"))
    assert doc["verdict"] == "allow" and listed(doc, "domain.listed_scam") == []


def test_origin_is_checked_against_lists_and_look_alikes(tmp_path: Path) -> None:
    request = str(CORPUS / "benign-usdc-transfer.json")
    assert review(request, "--origin", "https://app.uniswap.org/swap")["verdict"] == "allow"
    doc = review(request, "--origin", "https://app.un1swap.org")
    [hit] = listed(doc, "domain.lookalike")
    assert doc["verdict"] == "confirm" and hit["location"] == "origin" and "uniswap.org" in hit["evidence"]
    import_list(write(tmp_path / "l.txt", "swap-rewards.example\n"), "--name", "mine")
    doc = review(request, "--origin", "https://claim.swap-rewards.example/")
    assert doc["verdict"] == "block" and listed(doc, "domain.listed_scam")[0]["location"] == "origin"
    code, _, err = run("review", request, "--origin", "not a site", "--no-llm", "--no-log")
    assert code == 2 and "--origin" in err
    for local in ("http://localhost:3000", "http://[::1]:8080/", "http://127.0.0.1:5173"):  # a dev server
        assert review(request, "--origin", local)["verdict"] == "allow"


@pytest.mark.parametrize(
    ("domain", "imitates"),
    [
        ("uniswaap.org", "uniswap.org"),  # one letter more
        ("un1swap.org", "uniswap.org"),  # a digit for a letter
        ("xn--unswap-qvf.org", "uniswap.org"),  # Cyrillic і (unіswap.org)
        ("metarnask.io", "metamask.io"),  # rn for m
        ("opensea-claim.xyz", "opensea.io"),  # extra words
        ("app.opensea.io.claim.example", "opensea.io"),
        ("lido.com", "lido.fi"),  # the same short name elsewhere
        ("example.com", None),
        ("docs.uniswap.org", None),
        ("aavegotchi.com", None),  # short names match only exactly
    ],
)
def test_look_alikes_of_well_known_domains(domain: str, imitates: str | None) -> None:
    _, out, _ = run("intel", "show", domain, "--json")
    assert json.loads(out)["look_alike_of"] == imitates


def _textbook_distance(a: str, b: str) -> int:
    """The full Wagner-Fischer table, no early exit."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return table[-1][-1]


@given(st.text("abcde-", max_size=12), st.text("abcde-", max_size=12), st.integers(0, 4))
def test_edit_distance_matches_the_textbook_definition_up_to_its_limit(a: str, b: str, limit: int) -> None:
    assert edit_distance(a, b, limit) == min(_textbook_distance(a, b), limit + 1)


# --------------------------------------------------------------------------- the real list (GPL: never vendored)


@pytest.mark.skipif(not SCAM_DATABASE.is_dir(), reason="../shared/data/scam-database is not present")
def test_conformance_scam_database_snapshot_imports_and_known_entries_are_found() -> None:
    info = import_list(SCAM_DATABASE)
    addresses = json.loads((SCAM_DATABASE / "blacklist" / "address.json").read_text())
    combined = json.loads((SCAM_DATABASE / "blacklist" / "combined.json").read_text())
    assert info["addresses"] >= len(set(a.lower() for a in addresses))
    assert info["domains"] >= len(combined) * 0.8
    for address in (addresses[0], addresses[len(addresses) // 2], addresses[-1]):
        _, out, _ = run("intel", "show", address, "--json")
        assert json.loads(out)["listed"][0]["list"] == "scam-database"
    domain, linked = next(iter(combined.items()))
    _, out, _ = run("intel", "show", domain, "--json")
    assert json.loads(out)["listed"][0]["list"] == "scam-database"
    _, out, _ = run("intel", "show", linked[0], "--json")
    assert json.loads(out)["listed"]


# --------------------------------------------------------------------------- audits


def test_audit_flags_every_interaction_with_a_listed_address(tmp_path: Path) -> None:
    spender = "0x5555aaaa00000000000000000000000000bbbb55"  # the wallet approved it (its own transaction)
    poisoner = "0x1234000000000000000000000000000000005678"  # receives a planted zero transfer "from" the wallet
    import_list(write(tmp_path / "l.txt", f"{spender} drainer\n{poisoner} poisoner\n"), "--name", "reports")
    history = str(fixtures_dir() / "audit" / "history.jsonl")
    code, out, err = run("audit", "--address", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "--file", history,
                         "--json", "--no-llm")
    assert code == 0, err
    report = json.loads(out)
    roles = {(item["address"].lower(), item["role"]) for item in report["listed"]}
    assert (spender, "spender") in roles and (poisoner, "recipient") in roles
    assert all('list "reports"' in item["evidence"] for item in report["listed"])
    approval = next(a for a in report["approvals"] if a["spender"].lower() == spender)
    assert any('list "reports"' in reason for reason in approval["reasons"])
    flagged = {f["id"] for tx in report["flagged"] for f in tx["findings"]}
    assert "address.listed_scam" in flagged  # the wallet's own approval is reviewed like `review` would
    code, out, _ = run("audit", "--address", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "--file", history,
                       "--format", "md", "--no-llm")
    assert "## Interactions with addresses on scam lists" in out and "poisoner" in out


def test_doctor_says_how_old_each_list_is(tmp_path: Path) -> None:
    from copilot.llm.doctor import check_threat_lists

    check = check_threat_lists()
    assert not check.ok and not check.required and "no public list imported" in check.detail
    import_list(write(tmp_path / "l.txt", f"{STRANGER}\n"), "--name", "old", "--date", "2020-01-01")
    check = check_threat_lists()
    assert not check.ok and 'list "old" of 2020-01-01' in check.detail and "import a fresh copy" in check.detail
    import_list(write(tmp_path / "l.txt", f"{STRANGER}\n"), "--name", "fresh")
    check = check_threat_lists()
    assert check.ok and 'list "fresh" imported' in check.detail and "0 days old" in check.detail


def test_a_damaged_list_stops_a_review_with_exit_3_naming_the_file(tmp_path: Path, isolated_home: Path) -> None:
    import_list(write(tmp_path / "l.txt", f"{STRANGER}\n"), "--name", "mine")
    [damaged] = (isolated_home / "data" / "intel" / "sources").glob("mine-*.addresses.json")
    damaged.write_text("{not json")
    code, out, err = run("review", str(CORPUS / "benign-usdc-transfer.json"), "--no-llm", "--no-log")
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1
    assert damaged.name in err and "intel remove" in err
    assert run("intel", "remove", "mine")[0] == 0  # the way out the error names
    assert review(str(CORPUS / "benign-usdc-transfer.json"))["verdict"] == "allow"
