#!/usr/bin/env bash
# Two real `worldline node` processes (regions A and B, replicating to each other over Cap'n Proto)
# driven by an independent WebSocket client — the npm `ws` package under Node.js, see
# ws_client.mjs: act and get the ack and state, see the other region's player move, malformed
# frames and a forged token, then kill -9 region A and resume in B with no action lost or applied
# twice.
# Usage: two_regions_ws.sh <path to worldline>        (ctest runs it; label `e2e`)
set -euo pipefail
WL="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(mktemp -d /tmp/worldline-ws.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }

command -v node >/dev/null || fail "node (Node.js) is not installed: bash dev.sh install"
# The client's one dependency, pinned by package-lock.json, installed outside the source tree.
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/ws_client.mjs" "$DIR/"
(cd "$DIR" && timeout 120 npm ci --silent --no-audit --no-fund >"$DIR/npm.log" 2>&1) ||
  fail "npm ci (the ws package) failed"

BASE=$(( 20000 + (RANDOM % 400) * 10 ))  # below the ephemeral ports: README, "Developing"
SECRET="ws e2e token secret"
config() {  # id name rpc-port gateway-port peer-id peer-rpc-port [admin-port]
  cat <<TOML
[replica]
id = $1
listen = "127.0.0.1:$3"
data_dir = "$DIR/data-$2"
secret = "ws e2e cluster secret"
gossip_interval_ms = 25
[[replica.peers]]
id = $5
address = "127.0.0.1:$6"
[region]
name = "$2"
tick_hz = 20
spawn_radius = 0   # everyone starts at the origin: the client's positions are exact
items = 3          # the same three items in both regions, 6..10 units from the origin
item_area = [6, 2, 8, 4]
[gateway]
listen = "127.0.0.1:$4"
token_secret = "$SECRET"
TOML
  if [[ -n "${7:-}" ]]; then echo "admin_listen = \"127.0.0.1:$7\""; fi
}
# A serves /metrics on its players' port (no admin_listen); B on an admin port of its own.
config 1 region-a $((BASE + 1)) $((BASE + 3)) 2 $((BASE + 2)) > "$DIR/a.toml"
config 2 region-b $((BASE + 2)) $((BASE + 4)) 1 $((BASE + 1)) $((BASE + 5)) > "$DIR/b.toml"
"$WL" node --config "$DIR/a.toml" > "$DIR/a.log" 2>&1 & PID_A=$!; PIDS+=($PID_A)
"$WL" node --config "$DIR/b.toml" > "$DIR/b.log" 2>&1 & PID_B=$!; PIDS+=($PID_B)

healthy() {  # port: GET /healthz over bash's /dev/tcp
  exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  grep -q "200 OK" <&3
  local ok=$?
  exec 3<&-
  return $ok
}
for i in $(seq 100); do
  healthy $((BASE + 3)) && healthy $((BASE + 4)) && break
  [[ $i == 100 ]] && fail "nodes not healthy after 10 s"
  sleep 0.1
done

get() {  # port path: the whole HTTP response
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$2" >&3
  cat <&3
  exec 3<&-
}
for i in $(seq 20); do  # the metrics text is refreshed after the tick /healthz saw
  get $((BASE + 3)) /metrics | grep -q "^worldline_region_ticks_total" && break
  [[ $i == 20 ]] && fail "A (no admin_listen) does not serve /metrics on its players' port"
  sleep 0.1
done
get $((BASE + 4)) /metrics > "$DIR/b-players-metrics.txt"
grep -q "404 Not Found" "$DIR/b-players-metrics.txt" &&
  grep -q "moved to the admin listener (gateway.admin_listen, 127.0.0.1:$((BASE + 5)))" \
    "$DIR/b-players-metrics.txt" ||
  fail "B's players' port does not send /metrics to its admin listener: $(cat "$DIR/b-players-metrics.txt")"
get $((BASE + 5)) /healthz | grep -q "200 OK" || fail "B's admin port does not answer /healthz"

node "$DIR/ws_client.mjs" $((BASE + 3)) $((BASE + 4)) "$PID_A" "$SECRET" || fail "client scenario"

# Region B's /metrics (refreshed every 250 ms) shows what it did: ticks, synced journal commits,
# the client's acks, gossip received from A before A was killed.
sleep 0.6
get $((BASE + 5)) /metrics > "$DIR/metrics.txt"  # B's admin listener
metric() {  # sample (name and labels): its value, or "missing"
  awk -v m="$1" 'index($0, m " ") == 1 {print $2; found = 1; exit} END {if (!found) print "missing"}' \
    "$DIR/metrics.txt"
}
positive() {  # sample
  local v; v=$(metric "$1")
  awk -v v="$v" 'BEGIN {exit !(v != "missing" && v + 0 > 0)}' || fail "metric $1 = $v, expected > 0"
}
R='region="region-b"'
positive "worldline_region_ticks_total{$R}"
positive "worldline_replica_journal_commit_us_count{$R}"
positive "worldline_node_tick_turn_ms_count{$R}"
[[ "$(metric "worldline_node_ticks_late_total{$R}")" =~ ^[0-9]+$ ]] || fail "no late-tick count"
[[ "$(metric "worldline_node_ticks_skipped_total{$R}")" =~ ^[0-9]+$ ]] || fail "no skipped count"
[[ "$(metric "worldline_replica_sessions_superseded_total{$R}")" =~ ^[0-9]+$ ]] ||
  fail "no superseded-session count"
positive "worldline_gateway_connections_total{$R}"
positive "worldline_gateway_ack_ms_count{$R}"
positive "worldline_replica_bytes_received_total{$R,peer=\"1\"}"
positive "worldline_replica_bytes_sent_total{$R,peer=\"1\"}"
[[ "$(metric "worldline_replica_peer_up{$R,peer=\"1\"}")" =~ ^[01]$ ]] || fail "no peer_up for A"
[[ "$(metric "worldline_replica_quarantined_total{$R}")" == 0 ]] || fail "B quarantined records"
kill -TERM "$PID_B"
wait "$PID_B" || fail "region B did not stop cleanly on SIGTERM"
grep -q "stopping: final commit and snapshot" "$DIR/b.log" || fail "no final commit in B's log"
echo "PASS: two regions, independent ws client, failover"
