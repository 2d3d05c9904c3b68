"""Policy and context speed: `judge` and the offline `build_context`, over the labelled corpus.

Peer measured in the same run: the whole deterministic review of the same prepared requests
(`review_decoded` without the LLM: rules, judge, score, explanation), so the ratios say what share
of a review the policy stage and the context cost. The offline context is built with a 1,000-address
history and a 50-entry address book, as for a busy wallet.

    python benchmarks/bench_policy.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rate(work: Callable[[], int], seconds: float) -> float:
    """Items per second of `work` (which returns how many items it did), repeated for `seconds`."""
    work()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += work()
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    args = parser.parse_args()
    os.environ["TXCOPILOT_HOME"] = tempfile.mkdtemp(prefix="txcopilot-bench-")

    from copilot.pipeline import ReviewOptions, review_decoded
    from copilot.policy import judge, load_policy
    from copilot.risk import assess
    from copilot.risk.corpus import load_cases, prepare
    from copilot.state.addressbook import add_entry
    from copilot.state.context import build_context
    from copilot.state.history import record_addresses

    record_addresses(["0x" + format(i, "040x") for i in range(1000)])
    for i in range(50):
        add_entry("0x" + format(10**6 + i, "040x"), f"friend {i}")
    prepared = [prepare(case) for case in load_cases()]
    options = ReviewOptions(use_llm=False)
    policies = {name: load_policy(name) for name in ("default", "everyday", "daily-limit")}
    findings = [assess(p.decoded, p.context) for p in prepared]

    def reviews() -> int:
        for p in prepared:
            review_decoded(p.decoded, p.policy, p.context, options)
        return len(prepared)

    def judging(policy_name: str) -> Callable[[], int]:
        policy = policies[policy_name]

        def work() -> int:
            for p, found in zip(prepared, findings, strict=True):
                judge(p.decoded, found, policy, p.context)
            return len(prepared)

        return work

    def contexts() -> int:
        for p in prepared[:20]:
            build_context(policies["everyday"], decoded=p.decoded)
        return 20

    review_rate = rate(reviews, args.seconds)
    print(f"machine: {os.cpu_count()} CPUs; {len(prepared)} corpus requests")
    print(f"review_decoded (peer, no LLM): {review_rate:10.0f} /s  {1e6 / review_rate:8.1f} µs each")
    for name in policies:
        judged = rate(judging(name), args.seconds)
        print(f"judge, {name + ' policy:':<20} {judged:10.0f} /s  {1e6 / judged:8.1f} µs each"
              f"  = {review_rate / judged:.1%} of a review")  # fmt: skip
    built = rate(contexts, args.seconds)
    print(f"build_context offline:         {built:10.0f} /s  {1e3 / built:8.3f} ms each"
          f"  = {review_rate / built:.1f}x a review; budget 5 ms")  # fmt: skip


if __name__ == "__main__":
    main()
