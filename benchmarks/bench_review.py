"""Review speed: cold `txcopilot review --no-llm` wall time, and in-process reviews per second over
the labelled corpus (fixtures/requests).

Peers measured in the same run: a bare interpreter start (`python -c pass`) and a cold
`txcopilot decode` (human view and --json) for the cold figures; decoding alone (parse + decode)
for the throughput figure. Cold runs use compiled bytecode, as an installed package has, and take
turns (one run of each command per round) so a busy machine weighs on every command alike.

    python benchmarks/bench_review.py [--runs 15] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "fixtures" / "demo" / "unlimited-approval.json"


def cold(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Per command: median wall seconds and median CPU seconds (user + system) of a fresh process.
    CPU time is what the process itself costs; wall time also counts waiting for a busy machine.
    The commands run in a scratch TXCOPILOT_HOME: reviews append to its audit log, as a user's do."""
    env = {**os.environ, "TXCOPILOT_HOME": tempfile.mkdtemp(prefix="bench-review-")}
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
            walls[label].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[label].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {label: (statistics.median(walls[label]), statistics.median(cpus[label])) for label in commands}


def rate(work: Callable[[], int], seconds: float) -> float:
    """Items per second of `work` (which returns how many items it did), repeated for `seconds`."""
    work()  # warm caches: registry, selector index, policy
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += work()
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="cold runs per command (median)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per throughput measurement")
    args = parser.parse_args()

    python = sys.executable
    # Bytecode as an installed package has it (PYTHONDONTWRITEBYTECODE may be set here).
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "copilot")], check=True, capture_output=True)
    demo = str(DEMO)
    timings = cold(
        {
            "cold `review --no-llm`": [python, "-m", "copilot", "review", demo, "--no-llm"],
            "cold `review --no-llm --json`": [python, "-m", "copilot", "review", demo, "--no-llm", "--json"],
            "cold `decode` (peer)": [python, "-m", "copilot", "decode", demo],
            "cold `decode --json` (peer)": [python, "-m", "copilot", "decode", demo, "--json"],
            "bare interpreter (peer)": [python, "-c", "pass"],
        },
        args.runs,
    )

    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.pipeline import ReviewOptions, review_decoded
    from copilot.risk.corpus import load_cases, prepare

    cases = load_cases()
    prepared = [prepare(case) for case in cases]
    texts = [json.dumps(case.request) for case in cases]
    options = ReviewOptions(use_llm=False)

    def reviews() -> int:
        for p in prepared:
            review_decoded(p.decoded, p.policy, p.context, options)
        return len(prepared)

    def decodes() -> int:
        for text in texts:
            decode(parse_request(text))
        return len(texts)

    def decode_and_review() -> int:
        for text, p in zip(texts, prepared, strict=True):
            review_decoded(decode(parse_request(text)), p.policy, p.context, options)
        return len(texts)

    review_rate = rate(reviews, args.seconds)
    decode_rate = rate(decodes, args.seconds)
    full_rate = rate(decode_and_review, args.seconds)

    print(f"corpus: {len(cases)} requests; cold runs: median of {args.runs}")
    for label, (wall, cpu) in timings.items():
        print(f"{label:31} {wall * 1000:7.1f} ms wall  {cpu * 1000:7.1f} ms CPU")
    for view, review_label, decode_label in (
        ("human", "cold `review --no-llm`", "cold `decode` (peer)"),
        ("json", "cold `review --no-llm --json`", "cold `decode --json` (peer)"),
    ):
        review_cpu, decode_cpu = timings[review_label][1], timings[decode_label][1]
        print(f"{view:5} review - decode: {(review_cpu - decode_cpu) * 1000:+.1f} ms CPU, "
              f"review/decode {review_cpu / decode_cpu:.2f}x CPU (target: review <= 300 ms)")
    print(f"review_decoded in-process   {review_rate:9.0f} reviews/s  (target >= 2,000)")
    print(f"parse+decode (peer)         {decode_rate:9.0f} requests/s  review/decode = {review_rate / decode_rate:.2f}x")
    print(f"parse+decode+review         {full_rate:9.0f} requests/s")


if __name__ == "__main__":
    main()
