"""Keystore KDF bounds: how long refusing a hostile keystore takes, against deriving a standard one.

    python benchmarks/bench_keystore.py

A keystore file chooses its own scrypt cost. Before the bounds, n=2^20, r=64 asked for 8 GiB and ran
on. Now `keys import` / `sign` refuse it before any derivation. Measured in process, median of RUNS:
- refusal: `keystore.import_keyfile` of a file with n=2^20, r=64 (the hostile case), up to the error;
- peer: eth-keyfile's `decode_keyfile_json` of geth's standard keystore (n=2^18, r=8, p=1), the cost
  every accepted keystore may have.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_signing import RUNS, median_seconds  # noqa: E402  (benchmarks/ is on the path when a benchmark runs)

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")  # anvil's public test key 0
PASSWORD = b"bench"


def main() -> None:
    import json

    from eth_keyfile import create_keyfile_json, decode_keyfile_json

    home = Path(tempfile.mkdtemp(prefix="txcopilot-bench-"))
    os.environ["TXCOPILOT_HOME"] = str(home)
    from copilot.errors import InputError
    from copilot.signing import keystore

    standard = create_keyfile_json(KEY, PASSWORD, kdf="scrypt")  # n=2^18, r=8, p=1
    hostile = json.loads(json.dumps(standard))
    hostile["crypto"]["kdfparams"].update(n=2**20, r=64)
    hostile_path = home / "hostile.json"
    hostile_path.write_text(json.dumps(hostile))

    def refuse() -> None:
        try:
            keystore.import_keyfile("hostile", hostile_path, PASSWORD)
        except InputError:
            return
        raise SystemExit("the hostile keystore was not refused")

    def derive_standard() -> None:
        decode_keyfile_json(standard, PASSWORD)

    print(f"machine: {os.cpu_count()} CPUs; median of {RUNS} runs")
    refused, derived = median_seconds(refuse), median_seconds(derive_standard)
    print(
        f"refuse n=2^20 r=64 keystore  {refused * 1000:8.2f} ms   eth-keyfile standard scrypt {derived * 1000:7.0f} ms   "
        f"ratio 1/{derived / refused:,.0f}"
    )


if __name__ == "__main__":
    main()
