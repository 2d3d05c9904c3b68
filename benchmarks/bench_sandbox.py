"""What the model worker's sandbox adds to a review's start-up.

Each run is a fresh process, as `txcopilot review` is: it starts one worker (a stand-in backend,
so the model's own load time, the same in every case, is left out) and times from the call to
the worker's "ready". That covers the one-time check that the sandbox can be built here, the
allow-list plan, bwrap or the namespace fallback, the worker's interpreter start, and its seccomp
and Landlock. The peer, measured in the same rounds: TXCOPILOT_SANDBOX=none, the same worker
process with no sandbox at all. The runs take turns (one of each per round) so a busy machine
weighs on each alike.

    python benchmarks/bench_sandbox.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TIMED = """
import time
started = time.perf_counter()
from copilot.llm.sandbox import start_worker
worker = start_worker({"backend": "fake", "answer": "{}"})
ready = time.perf_counter() - started
assert all(layer.active for layer in worker.layers) or worker.plan.mode == "none", worker.layers
worker.close()
print(ready)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from copilot.llm.sandbox import bwrap_available, namespaces_available

    modes = ["none"]
    modes += ["bwrap"] if bwrap_available()[0] else []
    modes += ["namespaces"] if namespaces_available()[0] else []
    home = tempfile.mkdtemp(prefix="bench-sandbox-")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "copilot")], check=True)
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(args.runs):
        for mode in modes:
            env = {**os.environ, "TXCOPILOT_HOME": home, "TXCOPILOT_SANDBOX": mode, "PYTHONPATH": str(ROOT)}
            out = subprocess.run([sys.executable, "-c", TIMED], env=env, capture_output=True, text=True, check=True)
            times[mode].append(float(out.stdout.strip().splitlines()[-1]))
    base = statistics.median(times["none"])
    print(f"machine: {os.cpu_count()} cores, load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"{'sandbox':12} {'p50 ms':>8} {'min ms':>8} {'added ms':>9} {'ratio':>6}")
    for mode, values in times.items():
        p50 = statistics.median(values)
        print(f"{mode:12} {p50 * 1000:8.1f} {min(values) * 1000:8.1f} {(p50 - base) * 1000:9.1f} {p50 / base:5.2f}x")


if __name__ == "__main__":
    main()
