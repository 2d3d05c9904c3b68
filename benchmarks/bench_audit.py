"""Audit throughput and memory on a synthetic history (default 100,000 transactions, no LLM).

    python benchmarks/bench_audit.py [--count 100000] [--skip-single] [--profile groups|regular]

Runs `txcopilot audit` as a user would (a fresh process, cold cache) and reports wall time and the peak
resident memory of the whole process tree (main process plus workers, sampled every 20 ms). Peers
measured in the same run: the same audit on one worker, a resumed re-run (every chunk cached), and the
floor: just reading and JSON-parsing every line in one process. It also reports what the user reads: the
"what needs your attention" list's length, risky transactions apart from those that only needed
confirmation, and the size of the HTML report. Profile "regular" is issue 16's history: payments to one
regular counterparty, wraps and swaps, and a handful of planted problems.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copilot.audit.synthetic import USER, generate  # noqa: E402


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of pid and all its descendants, in KiB (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run_audit(history: Path, home: Path, *extra: str) -> tuple[float, int, dict[str, object], float]:
    """(wall seconds, peak tree RSS KiB, the report, CPU seconds of the whole process tree)."""
    out = home / "report.json"
    command = [sys.executable, "-m", "copilot", "audit", "--address", USER, "--file", str(history), "--no-llm",
               "--format", "json", "--out", str(out), *extra]
    env = {**os.environ, "TXCOPILOT_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"audit failed ({process.returncode}): {stderr.decode()[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(out.read_text())
    return elapsed, peak, report, cpu


def parse_floor(history: Path) -> float:
    start = time.perf_counter()
    with history.open("rb") as handle:
        for line in handle:
            json.loads(line)
    return time.perf_counter() - start


def print_reading(report: dict[str, object]) -> None:
    """What the user reads: the attention list, the counts, and the HTML report's size."""
    from copilot.audit.render import to_html
    from copilot.audit.report import AuditReport

    parsed = AuditReport.model_validate(report)
    html = len(to_html(parsed).encode())
    print(f"  what needs your attention: {len(parsed.attention)} lines; {parsed.risky_transactions} risky "
          f"transactions, {parsed.confirmations} needed confirmation ({len(parsed.flagged)} not allowed in all); "
          f"HTML report {html / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--skip-single", action="store_true", help="skip the one-worker peer (halves the run)")
    parser.add_argument("--profile", choices=["groups", "regular"], default="groups",
                        help="the synthetic history's shape (copilot.audit.synthetic)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        history = Path(scratch) / "history.jsonl"
        generate(args.count, history, profile=args.profile)
        size_mb = history.stat().st_size / 1e6
        print(f"history: {args.count:,} transactions, {size_mb:.0f} MB; {os.cpu_count()} cores")
        home = Path(scratch) / "home"
        home.mkdir()
        wall, peak, report, cpu = run_audit(history, home)
        planted = json.loads(history.with_name(history.name + ".planted.json").read_text())
        found = (len([a for a in report["approvals"] if a["risky"]]), len(report["poisoning"]),
                 sum(1 for t in report["flagged"] if t["risky"]))
        expected = len(planted["risky_approvals"]), len(planted["poisoning"]), len(planted["flagged"])
        print(f"audit, all cores, cold:  {wall:6.1f} s  {args.count / wall:8,.0f} tx/s  peak RSS {peak / 1024:6.0f} MiB "
              f"(found {found}, planted {expected})")
        print(f"  CPU time of the process tree: {cpu:.1f} s ({cpu / wall:.2f} cores busy on average)")
        print_reading(report)
        resumed, resumed_peak, resumed_report, _ = run_audit(history, home)
        print(f"re-run, every chunk cached: {resumed:6.1f} s  ({wall / resumed:.1f}x faster than cold)  "
              f"peak RSS {resumed_peak / 1024:.0f} MiB, {resumed_report['chunks_reused']}/{resumed_report['chunks']} "
              "chunks reused")
        if not args.skip_single:
            single_home = Path(scratch) / "single"
            single_home.mkdir()
            single, single_peak, _, single_cpu = run_audit(history, single_home, "--workers", "1")
            print(f"audit, one worker, cold: {single:6.1f} s  (all cores: {single / wall:.2f}x faster)  "
                  f"peak RSS {single_peak / 1024:.0f} MiB, CPU {single_cpu:.1f} s")
        floor = parse_floor(history)
        print(f"floor, json.loads of every line in one process: {floor:.1f} s  (audit = {wall / floor:.1f}x the floor)")
        print(f"targets: <= 30 s, < 1024 MiB -> {'met' if wall <= 30 and peak < 1024 * 1024 else 'NOT met'}")


if __name__ == "__main__":
    main()
