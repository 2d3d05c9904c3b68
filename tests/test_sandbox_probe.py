"""`txcopilot doctor --sandbox-probe`: escape attempts inside the exact sandbox a review's worker gets.

Every attempt must be `blocked` under bubblewrap and under the namespace fallback, the network ones
refused by the sandbox itself (EPERM), not by a missing network. The same attempts, with the sandbox
turned off, are `open` where this machine lets them succeed: the listeners and files are real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_sandbox import BUILDERS

from copilot.cli.main import cli
from copilot.llm import sandbox
from copilot.llm.doctor import sandbox_probe
from copilot.state.dirs import data_dir, keystore_dir

PROBES = {
    "unix socket (filesystem)",
    "unix socket (abstract)",
    "tcp to 127.0.0.1",
    "tcp to a public IP",
    "dns lookup",
    "write into the install dir",
    "write into the home",
    "write into the cache",
    "write into /tmp",
    "read the parent's cmdline",
    "read the parent's environ",
    "read the data dir",
    "read the config dir",
    "read the keystore dir",
    "read a password file",
    "ptrace the parent",
}
NETWORK = {"unix socket (filesystem)", "unix socket (abstract)", "tcp to 127.0.0.1", "tcp to a public IP", "dns lookup"}


@pytest.fixture
def secrets() -> Path:
    (keystore_dir() / "hot.json").write_text('{"crypto": "private"}')
    password = data_dir() / "password.txt"
    password.write_text("hunter2\n")
    return password


@pytest.mark.parametrize("builder", BUILDERS)
def test_every_escape_is_blocked_and_the_network_refused_by_the_sandbox(
    builder: str, secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, builder)
    report = sandbox_probe(password_file=secrets)
    results = {probe["probe"]: probe for probe in report["probes"]}
    assert set(results) == PROBES
    assert report["sandbox"] == builder
    assert report["all_blocked"], [r for r in results.values() if r["status"] != "blocked"]
    for name in NETWORK:
        assert results[name]["by_sandbox"] is True, results[name]
        assert results[name]["detail"].startswith("EPERM"), results[name]
    assert all(layer["active"] for layer in report["layers"])


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_cli_reports_every_probe_blocked_as_json(builder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, builder)
    result = CliRunner().invoke(cli, ["doctor", "--sandbox-probe", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {probe["probe"] for probe in report["probes"]} == PROBES
    assert {probe["status"] for probe in report["probes"]} == {"blocked"}
    assert [layer["name"] for layer in report["layers"]][-2:] == ["seccomp", "landlock"]


def test_the_same_escapes_succeed_without_the_sandbox(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_SETTING, "none")
    report = sandbox_probe(password_file=secrets)
    results = {probe["probe"]: probe for probe in report["probes"]}
    # what can succeed on any machine, network or not: the probes see a hole when there is one
    for name in (
        "unix socket (filesystem)",
        "unix socket (abstract)",
        "tcp to 127.0.0.1",
        "write into the install dir",
        "write into the cache",
        "write into /tmp",
        "read the parent's cmdline",
        "read the parent's environ",
        "read the data dir",
        "read the keystore dir",
        "read a password file",
    ):
        assert results[name]["status"] == "open", results[name]
    assert not report["all_blocked"]
    result = CliRunner().invoke(cli, ["doctor", "--sandbox-probe"])
    assert result.exit_code == 4 and "OPEN" in result.output
