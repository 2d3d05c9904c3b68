"""LLM benchmark: the sandboxed worker against plain llama-cpp-python on the same model and prompt.

    python benchmarks/bench_llm.py [--model PATH] [--threads 2] [--tokens 128] [--runs 5] [--json]
                                   [--n-gpu-layers 99]   (GPU offload: needs a CUDA/Metal build)

Prints tokens/s of plain llama-cpp-python (`create_completion`, greedy), of its naive JSON-schema
grammar, of our worker without and with our lean grammar, their ratios, time to first token, the
time to a complete review with explanation (cold: a new worker per review, as one `txcopilot
review` pays; warm: a reused worker and KV prefix, as `audit` pays), and the grounding rate over
those reviews. Targets: worker >= 0.9x plain, lean grammar >= 0.8x plain, cold review p50 <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The worker picks llama.cpp's OpenMP wait policy from the machine's load; the in-process peer gets
# the same, so the comparison measures the worker and the grammar, not the wait policy.
from copilot.llm.sandbox import omp_environment

for _name, _value in omp_environment().items():
    os.environ.setdefault(_name, _value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="GGUF file (default: the configured or bundled model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--n-gpu-layers", type=int, default=0, help="layers to offload to the GPU")
    parser.add_argument("--runs", type=int, default=5, help="reviews timed cold and warm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from copilot.config import ModelSettings
    from copilot.llm.bench import run_bench
    from copilot.llm.discovery import resolve_model
    from copilot.risk.corpus import load_cases, review_case

    path, why = resolve_model(args.model, ModelSettings(threads=args.threads, n_gpu_layers=args.n_gpu_layers))
    if path is None:
        sys.exit(why)
    cases = {case.name: case for case in load_cases()}
    sample = review_case(cases["approval-unlimited-unknown-spender"])
    names = [
        "approval-unlimited-unknown-spender",
        "benign-usdc-transfer",
        "permit2-batch-drainer",
        "benign-uniswap-v3-exact-input-single",
        "eip7702-untrusted-delegate",
        "benign-siwe-login",
        "order-nft-to-stranger",
    ]
    reviews = [review_case(cases[name]) for name in names[: args.runs]]
    started = time.perf_counter()
    result = run_bench(
        path,
        sample,
        threads=args.threads,
        n_gpu_layers=args.n_gpu_layers,
        max_tokens=args.tokens,
        review_runs=reviews,
    )
    summary = result.summary()
    summary["grounding_rate"] = result.grounding_rate
    summary["wall_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    from copilot.cli.llm import print_bench

    print_bench(summary)
    print(f"  grounding rate over the timed reviews: {summary['grounding_rate']}")


if __name__ == "__main__":
    main()
