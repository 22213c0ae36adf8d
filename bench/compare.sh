#!/usr/bin/env bash
# Plaza against the Node.js reference peer (../shared/peers/node-baseline), same machine,
# same plaza-bench parameters, alternating runs: for each round and each scenario, Plaza
# then the peer, each on a fresh database. Prints the table of issue 21 with the median
# of the rounds and the ratio Plaza / peer.
#
#   bash bench/compare.sh                      # 2 rounds, the sizes of bench/run.sh
#   ROUNDS=3 BENCH_SCALE=small bash bench/compare.sh
#   PEER_DIR=/tmp/node-baseline bash bench/compare.sh   # an installed peer (see its README)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/plaza-ci-target}"
ROUNDS="${ROUNDS:-2}"
PORT="${BENCH_PORT:-18088}"
URL="http://127.0.0.1:$PORT"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet -p plaza-server -p plaza-bench
PLAZA="$CARGO_TARGET_DIR/release/plaza"
BENCH="$CARGO_TARGET_DIR/release/plaza-bench"

# The peer: copied out of the read-only shared folder and installed once.
PEER_DIR="${PEER_DIR:-${HOME}/.cache/plaza-bench-peer}"
if [ ! -d "$PEER_DIR/node_modules/better-sqlite3" ]; then
  rm -rf "$PEER_DIR"; mkdir -p "$(dirname "$PEER_DIR")"
  cp -r ../shared/peers/node-baseline "$PEER_DIR"
  (cd "$PEER_DIR" && npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error)
fi

if [ "${BENCH_SCALE:-full}" = small ]; then
  FANOUT=(--subscribers 100 --messages 200); CHATTER=(--spaces 10 --per-space 5 --messages 10)
  IDLE=200; STORM=200
else
  FANOUT=(--subscribers 1000 --messages 1000); CHATTER=(--spaces 100 --per-space 10 --messages 20)
  IDLE=10000; STORM=5000
fi

DATA="$(mktemp -d)"
SERVER=""
start() {
  rm -rf "$DATA"; mkdir -p "$DATA"
  case "$1" in
    plaza) "$PLAZA" --config bench/plaza-bench.toml serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA.log" 2>&1 & ;;
    peer) (cd "$PEER_DIR" && PORT="$PORT" DB="$DATA/peer.db" exec node server.js) >"$DATA.log" 2>&1 & ;;
  esac
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "$URL/ready" >/dev/null && return; sleep 0.1; done
  echo "$1 did not start:" >&2; cat "$DATA.log" >&2; exit 1
}
stop() { [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; SERVER=""; }
trap 'stop; rm -rf "$DATA" "$DATA.log"' EXIT

# One run: `target scenario args...`, its JSON line appended to $OUT/<target>.jsonl.
run() {
  local target=$1; shift
  start "$target"
  "$BENCH" --url "$URL" --server-pid "$SERVER" --source-addresses 8 "$@" \
    | tee -a "$OUT/$target.log" | tail -n 1 >>"$OUT/$target.jsonl"
  stop
}

echo "machine: $(nproc) cores; plaza $("$PLAZA" --version); node $(node --version); $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  for target in plaza peer; do
    echo "== round $round: $target" >&2
    run "$target" fanout "${FANOUT[@]}"
    run "$target" chatter "${CHATTER[@]}"
    run "$target" idle --connections "$IDLE"
    run "$target" storm --clients "$STORM"
  done
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
def rows(target):
    with open(f"{out}/{target}.jsonl") as f:
        return [json.loads(line) for line in f if line.startswith("{")]
runs = {t: rows(t) for t in ("plaza", "peer")}
def median(target, scenario, key):
    values = [r[key] for r in runs[target] if r.get("scenario") == scenario and r.get(key) is not None]
    return statistics.median(values) if values else None
def size(scenario):
    r = next((r for r in runs["plaza"] if r.get("scenario") == scenario), {})
    return {"fanout": f'{r.get("subscribers")} × {r.get("messages")}', "chatter": f'{r.get("spaces")} spaces × {r.get("per_space")}',
            "idle": f'{r.get("connections")}', "storm": f'{r.get("clients")} clients'}[scenario]
table = [("fanout", "deliveries/s", "deliveries_per_second", True, "{:,.0f}"),
         ("chatter", "persisted sends/s", "sends_per_second", True, "{:,.0f}"),
         ("idle", "KiB per subscribed connection", "kib_per_connection", False, "{:.1f}"),
         ("storm", "seconds until all resubscribed", "seconds", False, "{:.1f}")]
print(f"| scenario | Plaza | Node peer | Plaza / peer |")
print("|---|---|---|---|")
for scenario, what, key, higher_better, fmt in table:
    p, n = median("plaza", scenario, key), median("peer", scenario, key)
    show = lambda v: fmt.format(v) if v is not None else "?"
    if p is not None and n:
        ratio = p / n
        verdict = "better" if (ratio > 1) == higher_better and ratio != 1 else "worse"
        ratio_text = f"{ratio:.2f} × ({verdict})"
    else:
        ratio_text = "?"
    print(f"| {scenario} {size(scenario)}, {what} | {show(p)} | {show(n)} | {ratio_text} |")
print(f"\nmedians of {len([r for r in runs['plaza'] if r.get('scenario') == 'fanout'])} rounds; JSON lines in {out}")
PY
