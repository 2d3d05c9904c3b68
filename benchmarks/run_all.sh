#!/usr/bin/env bash
# Every benchmark, one after the other, each printing its figures and its ratio against the peer it
# measures in the same run. Results go to the terminal; copy the ones you keep into BENCHMARKS.md
# together with the machine and its load (`uptime`).
#   benchmarks/run_all.sh            # all of them (the LLM and 100k-audit runs take a few minutes)
#   benchmarks/run_all.sh decode review   # just these
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
all=(decode calldata review policy intent intel signing keystore sandbox simulation audit llm llm_server erc7730)
selected=("${@:-${all[@]}}")
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${selected[@]}"; do
  case "$name" in
    erc7730) script=benchmarks/erc7730_match_rate.py ;;
    *) script="benchmarks/bench_${name}.py" ;;
  esac
  echo
  echo "=== $name ($script)"
  "$PY" "$script"
done
