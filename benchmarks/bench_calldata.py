"""Contract-call decoding speed: `decode_call` in-process over the cast-parity calls (ERC-20, Permit2,
routers, Safe, multiSend, Multicall3, Universal Router, Seaport, Aave, Lido, ENS, 1inch), compared with
`cast calldata-decode` (Foundry) given the signature, on the same calldata.

    python benchmarks/bench_calldata.py [--seconds 3] [--cast-sample 17]

cast decodes one call per process and needs the signature; txcopilot also finds the function, labels
the contract, formats amounts, decodes nested calls and renders ERC-7730, so the ratio is a lower bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAST = ROOT / "node_modules" / ".bin" / "cast"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> None:
    import subprocess

    from calldatahelpers import PARITY_CASES as CASES
    from calldatahelpers import calldata

    from copilot.decoding.calldata import decode_call

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to run the in-process loop")
    parser.add_argument("--cast-sample", type=int, default=len(CASES), help="calls to time through cast")
    args = parser.parse_args()

    calls = [(to, signature, calldata(signature, *values)) for to, signature, values in CASES]
    for to, _, data in calls:  # warm the lazy imports and tables
        decode_call(to, 0, data, 1)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        for to, _, data in calls:
            decode_call(to, 0, data, 1)
        count += len(calls)
    ours = count / (time.perf_counter() - start)
    print(f"txcopilot decode_call, in-process:   {ours:,.0f} calls/s ({count:,} calls, one core)")

    sample = calls[: args.cast_sample]
    if not CAST.exists() or not sample:
        print("no cast comparison (cast not installed, or --cast-sample 0)")
        return
    start = time.perf_counter()
    for _, signature, data in sample:
        subprocess.run(
            [str(CAST), "calldata-decode", signature, "0x" + data.hex()], capture_output=True, check=True
        )
    theirs = len(sample) / (time.perf_counter() - start)
    print(f"cast calldata-decode, per process:   {theirs:,.1f} calls/s ({len(sample)} calls)")
    print(f"ratio (txcopilot / cast):            {ours / theirs:,.0f}x")


if __name__ == "__main__":
    main()
