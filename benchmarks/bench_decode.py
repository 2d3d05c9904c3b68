"""Decoding speed: a cold `txcopilot decode` of a raw transaction, and batch decoding in-process over the
ERC-7730 registry's rawTx corpus, each compared with `cast decode-transaction` (Foundry) on the same inputs.

    python benchmarks/bench_decode.py [--runs 15] [--cast-sample 40]

cast decodes one transaction per process, so its per-transaction time is its batch rate; both figures
and the ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fixtures" / "erc7730" / "tests"
CAST = ROOT / "node_modules" / ".bin" / "cast"


def raw_transactions() -> list[str]:
    out = []
    for path in sorted(CORPUS.rglob("*.tests.json")):
        for test in json.loads(path.read_text()).get("tests", []):
            if isinstance(test.get("rawTx"), str):
                out.append(test["rawTx"])
    return out


def txcopilot_command() -> list[str]:
    script = Path(sys.executable).with_name("txcopilot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "copilot"]


def cold_runs(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of `runs` fresh processes. On a shared machine
    the CPU time is the steadier figure: wall time also counts waiting for a core."""
    # An installed package has its bytecode compiled (pip does it); so does the first, uncounted run
    # here, even where PYTHONDONTWRITEBYTECODE is set, so no run pays for compiling the sources.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def rate(
    work: Callable[[str], object], raws: list[str], min_seconds: float = 3.0
) -> tuple[float, float, int]:
    """(per wall second, per CPU second, inputs done) for `work`, after one warm-up pass (selector
    index, descriptors), as a long batch would run. The per-CPU-second rate is what one core
    delivers; on a shared machine the wall rate also counts the time other jobs hold the core."""
    for raw in raws:
        work(raw)
    done = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    while time.process_time() - start_cpu < min_seconds:
        for raw in raws:
            work(raw)
        done += len(raws)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return done / wall, done / cpu, done


def full_decode(raw: str) -> object:
    """parse_request + decode: strict transaction decoding, sender and authority recovery, consensus
    warnings, calldata decoding with nested calls, ERC-7730 rendering."""
    from copilot.decoding import decode
    from copilot.inputs import parse_request

    return decode(parse_request(raw))


def transaction_layer(raw: str) -> object:
    """parse_request + the strict transaction decoder with sender recovery and consensus warnings."""
    from copilot.decoding.transaction import consensus_warnings, decode_raw_transaction
    from copilot.inputs import parse_request

    request = parse_request(raw)
    assert request.raw is not None
    return consensus_warnings(decode_raw_transaction(bytes.fromhex(request.raw[2:])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold runs per command (median reported)")
    parser.add_argument(
        "--cast-sample", type=int, default=40, help="signed corpus transactions to time through cast"
    )
    args = parser.parse_args()

    raws = raw_transactions()
    if not raws:
        sys.exit(f"no rawTx found under {CORPUS}")
    sys.path.insert(0, str(ROOT))
    from copilot.decoding.transaction import decode_raw_transaction

    signed = [raw for raw in raws if decode_raw_transaction(bytes.fromhex(raw[2:])).signed]
    unsigned = [raw for raw in raws if raw not in signed]
    sample = signed[0]  # a transaction both tools can decode: cast needs a signature
    print(f"corpus: {len(raws)} raw transactions from {CORPUS.relative_to(ROOT)}, {len(signed)} signed")

    ours_cold, ours_cpu = cold_runs([*txcopilot_command(), "decode", sample], args.runs)
    json_cold, json_cpu = cold_runs([*txcopilot_command(), "decode", sample, "--json"], args.runs)
    full_rate, full_cpu_rate, count = rate(full_decode, raws)
    layer_rate, layer_cpu_rate, _ = rate(transaction_layer, raws)
    print(
        f"txcopilot decode, cold, one signed tx:  {ours_cold * 1000:.0f} ms wall, {ours_cpu * 1000:.0f} ms CPU"
    )
    print(
        f"txcopilot decode --json, cold:          {json_cold * 1000:.0f} ms wall, {json_cpu * 1000:.0f} ms CPU"
    )
    print(f"  (cold figures: median of {args.runs} runs)")
    print(
        f"batch, full decode, in-process:         {full_cpu_rate:,.0f} tx per CPU second, "
        f"{full_rate:,.0f} per wall second ({count:,} decodes, one core)"
    )
    print(
        f"batch, transaction layer only:          {layer_cpu_rate:,.0f} tx per CPU second, "
        f"{layer_rate:,.0f} per wall second (parse, strict decode, recovery)"
    )

    if not CAST.exists() or shutil.which("node") is None:
        print("cast not installed (npm install): no comparison")
        return
    cast_cold, cast_cpu = cold_runs([str(CAST), "decode-transaction", sample], args.runs)
    picked = signed[: args.cast_sample]
    start = time.perf_counter()
    for raw in picked:
        subprocess.run(
            [str(CAST), "decode-transaction", raw], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    cast_per_tx = (time.perf_counter() - start) / len(picked)
    tried = unsigned[:5]
    refused = sum(
        1
        for raw in tried
        if not subprocess.run(
            [str(CAST), "decode-transaction", raw], capture_output=True, text=True
        ).stdout.strip()
    )
    print(
        f"cast decode-transaction, cold, one tx:  {cast_cold * 1000:.0f} ms wall, {cast_cpu * 1000:.0f} ms CPU"
    )
    print(
        f"cast over {len(picked)} signed corpus txs:     {cast_per_tx * 1000:.0f} ms/tx = {1 / cast_per_tx:,.1f} tx/s"
    )
    print(
        f"cast on unsigned corpus txs:            refuses {refused} of {len(tried)} tried (needs a signature)"
    )
    print(
        f"ratio, cold single tx (cast / txcopilot): {cast_cold / ours_cold:.2f}x wall, {cast_cpu / ours_cpu:.2f}x CPU"
    )
    print(f"ratio, batch full decode, wall (txcopilot / cast): {full_rate * cast_per_tx:,.0f}x")


if __name__ == "__main__":
    main()
