"""Signing costs against cast (Foundry) in the same run: keystore decryption and a whole signature.

    python benchmarks/bench_signing.py

1. Decrypting a standard scrypt keystore (n=2^18, r=8, p=1): `keystore.unlocked` in process vs
   `cast wallet address --keystore` (a process that decrypts the same file).
2. A whole personal_sign: `txcopilot sign --no-llm` (review, ledger, audit log, decryption, checks) vs
   `cast wallet sign` with the same keystore (decryption and signature only).
3. Audit log appends (lock, chain, fsync, head) vs a bare JSONL append with fsync, and verify speed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CAST = ROOT / "node_modules" / ".bin" / "cast"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public test key 0
PASSWORD = "bench"
RUNS = 5


def median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="txcopilot-bench-"))
    os.environ["TXCOPILOT_HOME"] = str(home)
    from copilot.signing import keystore
    from copilot.signing.auditlog import AuditLog

    password_file = home / "pw.txt"
    password_file.write_text(PASSWORD + "\n")
    typed = "".join(KEY)  # a private copy: import_private_key wipes what it is given
    entry = keystore.import_private_key("bench", typed, PASSWORD.encode())
    cast_env = {**os.environ, "HOME": str(home)}

    def ours_unlock() -> None:
        with keystore.unlocked("bench", PASSWORD.encode()):
            pass

    def cast_unlock() -> None:
        subprocess.run([str(CAST), "wallet", "address", "--keystore", str(entry.path), "--password", PASSWORD], check=True, capture_output=True, env=cast_env)

    message = home / "message.json"
    message.write_text(json.dumps({"method": "personal_sign", "params": ["0x" + b"bench".hex(), entry.address]}))

    def ours_sign() -> None:
        subprocess.run(
            [sys.executable, "-m", "copilot", "sign", str(message), "--account", "bench", "--no-llm", "--password-file", str(password_file)],
            check=True, capture_output=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"},
        )

    def cast_sign() -> None:
        subprocess.run([str(CAST), "wallet", "sign", "--keystore", str(entry.path), "--password", PASSWORD, "bench"], check=True, capture_output=True, env=cast_env)

    print(f"machine: {os.cpu_count()} CPUs; median of {RUNS} runs")
    unlock_ours, unlock_cast = median_seconds(ours_unlock), median_seconds(cast_unlock)
    print(f"decrypt scrypt keystore   txcopilot {unlock_ours * 1000:7.0f} ms   cast {unlock_cast * 1000:7.0f} ms   ratio {unlock_ours / unlock_cast:5.2f}x")
    sign_ours, sign_cast = median_seconds(ours_sign), median_seconds(cast_sign)
    print(f"personal_sign end to end  txcopilot {sign_ours * 1000:7.0f} ms   cast {sign_cast * 1000:7.0f} ms   ratio {sign_ours / sign_cast:5.2f}x")

    log = AuditLog(home / "bench-log")
    log.directory.mkdir()
    entries = 500
    start = time.perf_counter()
    for i in range(entries):
        log.append("review", {"n": i, "verdict": "allow"})
    chained = (time.perf_counter() - start) / entries
    bare = home / "bare.jsonl"
    start = time.perf_counter()
    for i in range(entries):
        with bare.open("a") as handle:
            handle.write(json.dumps({"n": i, "verdict": "allow"}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    plain = (time.perf_counter() - start) / entries
    print(f"audit append (fsync)      chained {chained * 1e6:7.0f} µs   bare JSONL {plain * 1e6:7.0f} µs   ratio {chained / plain:5.2f}x")
    verify = median_seconds(log.verify, runs=3)
    print(f"audit verify              {entries / verify:,.0f} entries/s")


if __name__ == "__main__":
    main()
