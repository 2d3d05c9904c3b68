"""Threat lists: importing 100,000 entries (budget 2 s), building the index, and looking up.

Lists are generated in the formats users import (ScamSniffer's address.json and domains.json in a
clone folder). Peers measured in the same run:
- for the import, reading and JSON-parsing the same files alone (what any importer must do);
- for lookups, a bare Python set membership test of the same addresses (the floor of an O(1) lookup),
  at 1,000, 100,000 and 1,000,000 listed entries: a flat rate across sizes is what O(1) means;
- for reviews, the deterministic review of the corpus with only the seed list against the same with
  the 100,000-entry list imported.

    python benchmarks/bench_intel.py [--seconds 2] [--sizes 1000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_policy import rate  # noqa: E402  (benchmarks/ is on the path when a benchmark runs)


def make_clone(folder: Path, entries: int, rng: random.Random) -> list[str]:
    """A scam-database-shaped clone: half addresses, half domains. Returns the addresses."""
    addresses = [f"0x{rng.getrandbits(160):040x}" for _ in range(entries // 2)]
    domains = [f"claim-{rng.getrandbits(48):012x}.example" for _ in range(entries - entries // 2)]
    (folder / "blacklist").mkdir(parents=True)
    (folder / "blacklist" / "address.json").write_text(json.dumps(addresses, indent=2))
    (folder / "blacklist" / "domains.json").write_text(json.dumps(domains, indent=2))
    return addresses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per rate measurement")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="list sizes for the lookup rates")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(7)
    scratch = Path(tempfile.mkdtemp(prefix="txcopilot-bench-intel-"))
    os.environ["TXCOPILOT_HOME"] = str(scratch / "home-seed")

    from copilot.intel import load_index
    from copilot.intel.store import import_list
    from copilot.pipeline import ReviewOptions, review_decoded
    from copilot.risk.corpus import load_cases, prepare

    print(f"machine: {os.cpu_count()} CPUs, load {Path('/proc/loadavg').read_text().split()[:3]}")
    prepared = [prepare(case) for case in load_cases()]
    options = ReviewOptions(use_llm=False)

    def reviews() -> int:
        for p in prepared:
            review_decoded(p.decoded, p.policy, p.context, options)
        return len(prepared)


    print("\nimport of 100,000 entries (50,000 addresses + 50,000 domains, a scam-database clone):")
    clone = scratch / "clone-100000"
    make_clone(clone, 100_000, rng)
    start = time.perf_counter()
    for name in ("address.json", "domains.json"):
        json.loads((clone / "blacklist" / name).read_text())
    parse_only = time.perf_counter() - start
    os.environ["TXCOPILOT_HOME"] = str(scratch / "home-100000")
    start = time.perf_counter()
    info = import_list(clone)
    imported = time.perf_counter() - start
    start = time.perf_counter()
    load_index().address("0x" + "00" * 20)
    index_load = time.perf_counter() - start
    start = time.perf_counter()
    load_index().domain("example.org")
    domain_load = time.perf_counter() - start
    print(f"  read + json.loads alone (peer)   {parse_only * 1000:8.1f} ms")
    print(f"  txcopilot intel import           {imported * 1000:8.1f} ms  = {imported / parse_only:.1f}x the peer; "
          f"budget 2000 ms ({info.entries:,} entries)")
    print(f"  first address lookup            {index_load * 1000:8.1f} ms  (reads the address parts, once per process)")
    print(f"  first domain lookup             {domain_load * 1000:8.1f} ms  (reads the domain parts, once per process)")
    # Interleaved, best of two each: the machine's load drifts more than the difference measured.
    seed_only = with_list = 0.0
    for _ in range(2):
        os.environ["TXCOPILOT_HOME"] = str(scratch / "home-seed")
        seed_only = max(seed_only, rate(reviews, args.seconds))
        os.environ["TXCOPILOT_HOME"] = str(scratch / "home-100000")
        with_list = max(with_list, rate(reviews, args.seconds))
    print(f"  review_decoded, seed list only   {seed_only:8.0f} /s")
    print(f"  review_decoded, + 100k list      {with_list:8.0f} /s  = {with_list / seed_only:.2f}x")

    print("\naddress lookups (half listed, half not):")
    for size in sizes:
        folder = scratch / f"clone-{size}"
        listed = make_clone(folder, size, rng) if size != 100_000 else json.loads((clone / "blacklist" / "address.json").read_text())
        os.environ["TXCOPILOT_HOME"] = str(scratch / f"home-{size}")
        if size != 100_000:
            import_list(folder)
        index = load_index()
        probes = listed[:500] + [f"0x{rng.getrandbits(160):040x}" for _ in range(500)]
        floor = set(listed)

        def lookups(index=index, probes=probes) -> int:  # type: ignore[no-untyped-def]
            for address in probes:
                index.address(address)
            return len(probes)

        def set_lookups(floor=floor, probes=probes) -> int:  # type: ignore[no-untyped-def]
            for address in probes:
                _ = address in floor
            return len(probes)

        ours, peer = rate(lookups, args.seconds), rate(set_lookups, args.seconds)
        print(f"  {size:>9,} entries: index.address {ours / 1e6:6.2f} M/s   set membership (peer) "
              f"{peer / 1e6:6.2f} M/s   = {peer / ours:.1f}x slower than the floor")


if __name__ == "__main__":
    main()
