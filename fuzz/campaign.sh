#!/usr/bin/env bash
# Run every fuzz target, one at a time, to RUNS executions (default 10
# million), then minimise its corpus. Logs go to $LOGS (default
# target/fuzz-logs); one line per target is printed: target, executions,
# corpus files, and "ok" or the crash artifact. Needs nightly and
# cargo-fuzz (see ../FUZZING.md).
#   fuzz/campaign.sh [RUNS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
RUNS="${1:-10000000}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls fuzz_targets | sed 's/\.rs$//')
fi
TARGET_DIR="${FUZZ_TARGET_DIR:-target}"
LOGS="${LOGS:-target/fuzz-logs}"
mkdir -p "$LOGS"
fuzz=(cargo +nightly fuzz)
# Safe Rust only in the workspace (unsafe_code = "forbid"): no sanitizer,
# debug assertions and overflow checks on (cargo-fuzz's default).
opts=(-s none --target-dir "$TARGET_DIR")
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  log="$LOGS/$t.log"
  "${fuzz[@]}" run "${opts[@]}" "$t" "corpus/$t" "${seeds[@]}" -- \
    -runs="$RUNS" -print_final_stats=1 -timeout=10 >"$log" 2>&1
  status=$?
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  if [ $status -eq 0 ]; then
    # Keep the seeds too; minimise by edges only (a small corpus to keep).
    [ -d "seeds/$t" ] && cp "seeds/$t"/* "corpus/$t/"
    "${fuzz[@]}" cmin "${opts[@]}" "$t" "corpus/$t" -- -use_counters=0 >>"$log" 2>&1
    result=ok
  else
    result=$(grep -oE 'artifacts/[^ ]+' "$log" | tail -1)
    result="CRASH ${result:-see $log}"
  fi
  echo "$t executions=${execs:-?} corpus=$(ls "corpus/$t" | wc -l) $result"
done
