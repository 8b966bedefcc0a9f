#!/usr/bin/env bash
# The TypeScript SDK's whole test, as ctest runs it (label `e2e`): installs the pinned packages
# (npm ci) into a copy of the package outside the source tree, builds with tsc, runs the unit
# tests (node --test), then, for each wire form (JSON, then Cap'n Proto), starts two real `worldline node` processes
# (regions A and B replicating to each other, as tests/e2e/two_regions_ws.sh does) and runs the
# end-to-end test (e2e/two_regions.test.ts) against them: act, ack, reconcile; an item contest;
# kill -9 A; resume on B; A started again and B paused (SIGSTOP): resume on A.
# Usage: clients/ts/test.sh <path to worldline>
# WL_TS_E2E=0 runs tsc and the unit tests only (no node needed); KEEP=1 keeps the temporary directory.
set -euo pipefail
WL="$(realpath "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(mktemp -d /tmp/worldline-ts.XXXXXX)"
PIDS=()
cleanup() {
  for f in "$DIR"/*/a2.pid; do [[ -f "$f" ]] && PIDS+=("$(cat "$f")"); done  # A, started again by the test
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/*.log "$DIR"/*/*.log; do [[ -f "$f" ]] && { echo "--- $f"; tail -n 40 "$f"; }; done
  exit 1
}

command -v node >/dev/null || fail "node (Node.js) is not installed: bash dev.sh install"
mkdir "$DIR/pkg"
cp -r "$HERE/package.json" "$HERE/package-lock.json" "$HERE/tsconfig.json" "$HERE/src" "$HERE/test" \
  "$HERE/e2e" "$HERE/examples" "$DIR/pkg/"
cd "$DIR/pkg"
# The binary form's layouts (src/protocol_capnp.ts) are checked by the unit tests against
# test/fixtures/client_layout.txt; this checks that file is what the schema gives today.
if command -v capnp >/dev/null; then
  (cd "$HERE/../.." && capnp compile -ocapnp schemas/client.capnp) > "$DIR/layout.txt" 2>&1 \
    || fail "capnp compile -ocapnp schemas/client.capnp failed: $(cat "$DIR/layout.txt")"
  diff -u "$HERE/test/fixtures/client_layout.txt" "$DIR/layout.txt" >"$DIR/layout.diff" || fail "schemas/client.capnp changed:
$(cat "$DIR/layout.diff")
update src/protocol_capnp.ts's LAYOUT, then from the repository's top:
capnp compile -ocapnp schemas/client.capnp > clients/ts/test/fixtures/client_layout.txt"
else
  echo "note: capnp is not installed: test/fixtures/client_layout.txt not compared with schemas/client.capnp"
fi
timeout 180 npm ci --no-audit --no-fund >"$DIR/npm.log" 2>&1 || fail "npm ci failed"
npx tsc -p . >"$DIR/tsc.log" 2>&1 || fail "tsc failed: $(cat "$DIR/tsc.log")"
node --test dist/test/*.test.js >"$DIR/unit.log" 2>&1 || fail "unit tests failed"
grep -E "^# (tests|pass|fail)" "$DIR/unit.log" | sed 's/^/unit /'
if [[ "${WL_TS_E2E:-1}" == 0 ]]; then
  echo "PASS: TypeScript SDK (tsc and the unit tests; WL_TS_E2E=0: the end-to-end test not run)"
  exit 0
fi

# Ports from this test's band, 19100–19999 (the demo's may reach 19010), below the ephemeral
# ports (README, "Developing"): a block of 10, four ports per wire form.
BASE=$(( 19100 + (RANDOM % 89) * 10 ))
SECRET="ts sdk e2e token secret"
config() {  # id name rpc-port gateway-port peer-id peer-rpc-port data-dir
  cat <<TOML
[replica]
id = $1
listen = "127.0.0.1:$3"
data_dir = "$7/data-$2"
secret = "ts sdk e2e cluster secret"
gossip_interval_ms = 25
[[replica.peers]]
id = $5
address = "127.0.0.1:$6"
[region]
name = "$2"
tick_hz = 20
spawn_radius = 0   # everyone starts at the origin: the test's positions are exact
items = 3          # the same three items in both regions, 6..10 units from the origin
item_area = [6, 2, 8, 4]
[gateway]
listen = "127.0.0.1:$4"
token_secret = "$SECRET"
TOML
}
token() { "$WL" token --player "$1" --secret "$SECRET"; }

e2e() {  # wire form, first port: the end-to-end test against two fresh nodes
  local wire=$1 port=$2 d="$DIR/$1"
  mkdir "$d"
  config 1 region-a $((port + 0)) $((port + 2)) 2 $((port + 1)) "$d" > "$d/a.toml"
  config 2 region-b $((port + 1)) $((port + 3)) 1 $((port + 0)) "$d" > "$d/b.toml"
  "$WL" node --config "$d/a.toml" > "$d/a.log" 2>&1 & local pid_a=$!; PIDS+=($pid_a)
  disown "$pid_a"  # the test kills it with SIGKILL: no "Killed" notice from bash
  "$WL" node --config "$d/b.toml" > "$d/b.log" 2>&1 & local pid_b=$!; PIDS+=($pid_b)
  # Each node's /healthz answering 200 (a dead node is reported at once, not after the deadline).
  node dist/e2e/wait_healthy.js $((port + 2)) $pid_a "region A ($wire)" 30000 2>"$d/health.log" \
    && node dist/e2e/wait_healthy.js $((port + 3)) $pid_b "region B ($wire)" 30000 2>>"$d/health.log" \
    || fail "$(cat "$d/health.log")"
  local started=$SECONDS
  WL_WIRE=$wire WL_TOKEN_1="$(token 1)" WL_TOKEN_2="$(token 2)" WL_TOKEN_3="$(token 3)" \
    WL_PORT_A=$((port + 2)) WL_PORT_B=$((port + 3)) WL_PID_A=$pid_a WL_PID_B=$pid_b \
    WL_BIN="$WL" WL_CONFIG_A="$d/a.toml" WL_LOG_A="$d/a.log" WL_PIDFILE_A2="$d/a2.pid" \
    timeout 60 node --test dist/e2e/*.test.js >"$d/e2e.log" 2>&1 \
    || { grep -E "^# (tests|pass|fail|skipped)|not ok|error:" "$d/e2e.log" | head -n 20; fail "end-to-end test ($wire) failed"; }
  grep -E "^# (tests|pass|fail|\\\\# )" "$d/e2e.log" | sed "s/^/e2e $wire /"
  echo "e2e $wire took $((SECONDS - started)) s"
  kill -TERM "$pid_b"
  wait "$pid_b" || fail "region B ($wire) did not stop cleanly on SIGTERM"
}
e2e json $((BASE + 1))
e2e capnp $((BASE + 5))
echo "PASS: TypeScript SDK, unit and end-to-end"
