"""Simulation cost: what eth_simulateV1 on a local node adds to a review, and a cold fork fallback.

Against a fresh anvil playing the user's node, with the fixture contracts (a token and the
"claim reward" contract that drains an approval; compiled.json):

- in-process `review_input(--rpc, --no-llm)` p50 with and without the simulation, taking turns,
  and the simulation stage alone; target: the simulation adds at most 20 ms p50;
- a cold fork fallback (a node that refuses eth_simulateV1): anvil --fork-url started and the same
  payload simulated there, a fresh fork each run; target: at most 0.5 s;
- the peer, same transaction, same node: `cast call --trace` (a fresh process per run, as a user
  types it) and its p50.

    python benchmarks/bench_simulation.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
CAST = ROOT / "node_modules" / ".bin" / "cast"


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    os.environ["TXCOPILOT_HOME"] = tempfile.mkdtemp(prefix="bench-simulation-")
    from chainhelpers import deploy, encode_call, transact
    from nodehelpers import start_anvil
    from simhelpers import proxy

    from copilot.decoding import decode
    from copilot.inputs import parse_request
    from copilot.pipeline import ReviewOptions, review_input
    from copilot.simulation import SimulationOptions, simulate
    from copilot.simulation.fork import stop_forks

    node = start_anvil()
    try:
        user, collector = node.accounts[1][0], node.accounts[2][0]
        token = deploy(node, "TestToken", "Test USD", "TUSD", 6)
        transact(node, token, "mint(address,uint256)", [user, 1_000 * 10**6])
        claim = deploy(node, "ClaimReward", token, collector)
        transact(node, token, "approve(address,uint256)", [claim, 2**256 - 1], sender=user)
        text = json.dumps({"from": user, "to": claim, "data": encode_call("claimReward()"), "chainId": "0x7a69"})
        plain = ReviewOptions(rpc=node.url, use_llm=False, simulate=False)
        simulated = ReviewOptions(rpc=node.url, use_llm=False)
        assert review_input(text, simulated).simulation.status == "simulated"  # type: ignore[union-attr]
        with_sim: list[float] = []
        without: list[float] = []
        for _ in range(args.runs):
            for options, samples in ((plain, without), (simulated, with_sim)):
                start = time.perf_counter()
                review_input(text, options)
                samples.append(time.perf_counter() - start)
        decoded = decode(parse_request(text))
        stage: list[float] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            simulate(decoded, node.url, user, SimulationOptions())
            stage.append(time.perf_counter() - start)
        cold: list[float] = []
        with proxy(node.url, refuse=frozenset({"eth_simulateV1"})) as refusing:
            for _ in range(max(3, args.runs // 6)):
                start = time.perf_counter()
                report = simulate(decoded, refusing, user, SimulationOptions(timeout=10))
                cold.append(time.perf_counter() - start)
                assert report.method == "anvil_fork", report
                stop_forks()
        cast: list[float] = []
        command = [str(CAST), "call", "--trace", "--rpc-url", node.url, "--from", user, claim, "claimReward()"]
        for _ in range(max(3, args.runs // 3)):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cast.append(time.perf_counter() - start)
    finally:
        node.process.terminate()
    added = p50(with_sim) - p50(without)
    print(f"review --rpc --no-llm p50: {p50(without):.1f} ms without simulation, {p50(with_sim):.1f} ms with")
    print(f"simulation adds {added:.1f} ms p50 (target <= 20 ms: {'met' if added <= 20 else 'NOT met'})")
    print(f"simulation stage alone p50: {p50(stage):.1f} ms")
    print(f"cold fork fallback p50: {p50(cold):.0f} ms (target <= 500 ms: {'met' if p50(cold) <= 500 else 'NOT met'})")
    print(f"peer: cast call --trace p50: {p50(cast):.1f} ms (fresh process); "
          f"simulation stage / cast = {p50(stage) / p50(cast):.2f}x")


if __name__ == "__main__":
    main()
