"""A regular wheel works on its own: built from the checkout, installed into a fresh virtual env away
from the checkout, it carries its data, installs the default model and reviews the bundled demo.

The fresh env resolves its dependencies from the package index; llama-cpp-python comes from pip's
wheel cache (filled by setup.sh's build), so it is not compiled a second time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_env_and_reviews_the_demo(tmp_path: Path) -> None:
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", ROOT], cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("txcopilot-*.whl")

    venv.create(tmp_path / "env", with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    installed = run([python, "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    txcopilot = tmp_path / "env" / "bin" / "txcopilot"

    # No model yet: a review still works and says how to get one.
    demo = next((tmp_path / "env").glob("lib/python*/site-packages/copilot/_data/fixtures/demo/unlimited-approval.json"))
    bare = run([txcopilot, "review", demo, "--json"], cwd=tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert "txcopilot model install" in json.loads(bare.stdout)["explanation_note"]

    model = run([txcopilot, "model", "install"], cwd=tmp_path)
    assert model.returncode == 0, model.stderr[-2000:]
    assert "default model installed" in model.stdout

    review = run([txcopilot, "review", demo, "--json"], cwd=tmp_path)
    assert review.returncode == 0, review.stderr
    result = json.loads(review.stdout)
    assert result["verdict"] == "confirm"  # an unlimited approval to an unknown spender
    assert result["explanation_source"] == "llm"
    assert result["llm"]["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    # The policies and ABIs came from the wheel, not from this checkout.
    policies = run([python, "-c", "from copilot.resources import policies_dir; print(policies_dir())"], cwd=tmp_path)
    assert "site-packages/copilot/_data/policies" in policies.stdout
