"""ERC-7730 match rate: how many of the registry's expected wallet texts txcopilot reproduces.

    python benchmarks/erc7730_match_rate.py            # per protocol and overall
    python benchmarks/erc7730_match_rate.py --missing  # also list what each case misses

The cases are the registry's own tests (fixtures/erc7730/tests); what counts as a match is described
in copilot/decoding/erc7730_conformance.py.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.decoding.erc7730_conformance import iter_cases, run_case


def main(argv: list[str]) -> int:
    show_missing = "--missing" in argv
    started = time.perf_counter()
    outcomes = [run_case(case) for case in iter_cases()]
    elapsed = time.perf_counter() - started

    per_protocol: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for outcome in outcomes:
        counts = per_protocol[outcome.case.protocol]
        counts[0] += len(outcome.found)
        counts[1] += len(outcome.found) + len(outcome.missing)
        counts[2] += 1
    print(f"{'protocol':<18} {'cases':>5} {'texts':>11} {'rate':>6}")
    for protocol, (found, total, cases) in sorted(per_protocol.items()):
        print(f"{protocol:<18} {cases:>5} {found:>5}/{total:<5} {found / total if total else 1:>6.1%}")
    found = sum(c[0] for c in per_protocol.values())
    total = sum(c[1] for c in per_protocol.values())
    rendered = sum(1 for o in outcomes if o.clear_sign is not None)
    print(f"{'overall':<18} {len(outcomes):>5} {found:>5}/{total:<5} {found / total:>6.1%}")
    print(
        f"rendered {rendered}/{len(outcomes)} cases in {elapsed:.2f} s ({len(outcomes) / elapsed:,.0f} cases/s)"
    )
    if show_missing:
        for outcome in outcomes:
            if outcome.missing:
                print(f"{outcome.case.id}: {outcome.missing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
