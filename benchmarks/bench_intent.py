"""Intent check speed: the deterministic parse (budget: 2 ms without the LLM) and the comparison.

Peer measured in the same run: the whole deterministic review (`review_decoded`, no LLM) of the same
prepared requests, so the ratio says what an --intent adds to a review. The address book has 50
entries, as for a busy wallet. The first parse in a process also builds the symbol and protocol
indexes from the bundled tables: reported on its own line.

    python benchmarks/bench_intent.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "pay alice 50 USDC", "send 1.5 ETH to friend 7", "send all DAI to 0x4Cd7B1e0a4d2E6F0D2B5c8f6A0D3E2b8F9A1C2D3",
    "swap 100 USDC for WETH on uniswap", "sell 1,000.50 USDC for DAI via 1inch", "buy 1 WETH with USDC",
    "approve 200 USDC for uniswap", "approve max USDT for friend 12", "revoke USDC from uniswap",
    "sign in to app.uniswap.org", "stake 32 ETH on lido", "bridge 100 USDC to base", "mint for 0.1 ETH",
    "delegate my UNI votes to alice", "please pay carol 5 FOO",
]  # fmt: skip
BUDGET_MS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    args = parser.parse_args()

    from copilot.intent.compare import check_sentence
    from copilot.intent.parse import IntentError, parse_intent
    from copilot.pipeline import ReviewOptions, review_decoded
    from copilot.risk.corpus import corpus_dir, load_case, prepare

    book = {"0x" + format(10**6 + i, "040x"): f"friend {i}" for i in range(50)}
    book["0x4Cd7B1e0a4d2E6F0D2B5c8f6A0D3E2b8F9A1C2D3"] = "Alice"

    def parse(text: str) -> None:
        with contextlib.suppress(IntentError):  # "please pay ...": the parser's refusal is timed too
            parse_intent(text, 1, book)

    start = time.perf_counter()
    parse(SENTENCES[0])
    cold_ms = (time.perf_counter() - start) * 1e3
    per_sentence: dict[str, float] = {}
    share = args.seconds / len(SENTENCES)
    for text in SENTENCES:
        runs, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < share:
            parse(text)
            runs += 1
        per_sentence[text] = (time.perf_counter() - begin) / runs * 1e3
    worst = max(per_sentence, key=per_sentence.__getitem__)

    cases = [("benign-usdc-transfer", "pay alice 150 USDC"), ("benign-batch-approve-and-swap", "swap 200 USDC for WETH"),
             ("benign-uniswap-v2-swap-eth", "swap 0.1 ETH for USDC"), ("benign-lido-stake", "stake 2 ETH on lido"),
             ("benign-siwe-login", "sign in to app.uniswap.org"), ("benign-exact-approval-router", "approve 500 USDC for uniswap")]  # fmt: skip
    prepared = [(prepare(load_case(corpus_dir() / f"{name}.json")), text) for name, text in cases]
    plain = ReviewOptions(use_llm=False)

    def timed(work: Callable[[], object], seconds: float) -> float:
        runs, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            work()
            runs += 1
        return (time.perf_counter() - begin) / runs * 1e3

    review_ms = timed(lambda: [review_decoded(p.decoded, p.policy, p.context, plain) for p, _ in prepared], args.seconds) / len(prepared)
    check_ms = timed(lambda: [check_sentence(t, p.decoded, p.context) for p, t in prepared], args.seconds) / len(prepared)

    print(f"machine: {os.cpu_count()} CPUs; {len(SENTENCES)} sentences, 51-entry address book; {len(prepared)} corpus requests")
    print(f"first parse (builds the symbol and protocol indexes): {cold_ms:8.3f} ms")
    print(f"parse, mean over sentences:   {statistics.mean(per_sentence.values()):8.4f} ms")
    print(f"parse, slowest sentence:      {per_sentence[worst]:8.4f} ms  ({worst!r}); budget {BUDGET_MS} ms")
    print(f"review_decoded (peer, no LLM): {review_ms:8.4f} ms each")
    print(f"intent check (parse + compare): {check_ms:8.4f} ms each = {check_ms / review_ms:.1%} of a review")
    if per_sentence[worst] > BUDGET_MS:
        sys.exit(f"over budget: the slowest parse takes {per_sentence[worst]:.3f} ms (budget {BUDGET_MS} ms)")


if __name__ == "__main__":
    main()
