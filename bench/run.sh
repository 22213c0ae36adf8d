#!/usr/bin/env bash
# Runs the benchmark set against a release build of Plaza on SQLite and prints the
# figures, one line per scenario (the JSON lines are kept in $OUT). Sizes fit a
# 2-core machine in under 10 minutes; set BENCH_SCALE=small for a quick smoke check.
#
#   bash bench/run.sh            # the whole set
#   BENCH_SCALE=small bash bench/run.sh
#   BENCH_ONLY="fanout chatter" bash bench/run.sh   # some scenarios only
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/plaza-ci-target}"
cargo build --release --quiet -p plaza-server -p plaza-bench
PLAZA="$CARGO_TARGET_DIR/release/plaza"
BENCH="$CARGO_TARGET_DIR/release/plaza-bench"
OUT="${OUT:-$(mktemp -d)/bench.jsonl}"
PORT="${BENCH_PORT:-18088}"
URL="http://127.0.0.1:$PORT"

# Thousands of sockets on both ends.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ "${BENCH_SCALE:-full}" = small ]; then
  FANOUT=(--subscribers 100 --messages 200); CHATTER=(--spaces 10 --per-space 5 --messages 10)
  IDLE=200; STORM=200; REST=(--spaces 300 --depth 5 --samples 20)
else
  FANOUT=(--subscribers 1000 --messages 1000); CHATTER=(--spaces 100 --per-space 10 --messages 20)
  IDLE=10000; STORM=10000; REST=(--spaces 10000 --depth 50 --samples 200)
fi

DATA="$(mktemp -d)"
start_server() {
  rm -rf "$DATA"; mkdir -p "$DATA"
  "$PLAZA" --config bench/plaza-bench.toml serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "$URL/ready" >/dev/null && return; sleep 0.1; done
  echo "plaza did not start" >&2; exit 1
}
stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$DATA"' EXIT

wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

bench() {
  wanted "$1" || return 0
  start_server
  "$BENCH" --url "$URL" --server-pid "$SERVER" --source-addresses 8 "$@" | tee -a "$OUT.log" | tail -n 1 >>"$OUT"
  stop_server
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; plaza $("$PLAZA" --version)"
bench fanout "${FANOUT[@]}"
# Latency is judged at half the maximum send rate just measured.
HALF=$(tail -n 1 "$OUT" | python3 -c 'import json, sys; print(max(1, int(json.load(sys.stdin).get("sends_per_second", 200) / 2)))' 2>/dev/null || echo 50)
bench fanout "${FANOUT[@]}" --rate "$HALF"
bench chatter "${CHATTER[@]}"
bench idle --connections "$IDLE"
bench storm --clients "$STORM"
bench rest "${REST[@]}"
if wanted ceiling; then
  "$BENCH" --source-addresses 8 ceiling "${FANOUT[@]}" | tee -a "$OUT.log" | tail -n 1 >>"$OUT"
fi
grep -v '^{' "$OUT.log"
echo "JSON lines: $OUT"
