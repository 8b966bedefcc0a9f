#!/usr/bin/env bash
# Real processes on loopback: three `worldline replica` nodes write concurrently; one is killed
# with SIGKILL mid-load and restarted on the same data directory; an impostor with the wrong
# secret tries to log in as replica 2; garbage is thrown at a node's RPC port. Then every node
# must hold identical state containing every write any node acknowledged before the kill.
# Usage: three_replicas.sh <path to worldline>        (ctest runs it; label `replica`)
set -euo pipefail
WL="$1"
DIR="$(mktemp -d /tmp/worldline-3r.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/out*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }

# Free-looking ports from a per-run base (loopback only).
BASE=$(( 24000 + (RANDOM % 400) * 10 ))  # below the ephemeral ports: README, "Developing"
port() { echo $(( BASE + $1 )); }
config() {  # id secret listen-port data-dir peer-ids...
  local id=$1 secret=$2 p=$3 data=$4; shift 4
  {
    echo "[replica]"
    echo "id = $id"
    echo "listen = \"127.0.0.1:$p\""
    echo "data_dir = \"$data\""
    echo "secret = \"$secret\""
    echo "tick_ms = 20"
    echo "gossip_interval_ms = 25"
    echo "snapshot_every_groups = 50"
    for peer in "$@"; do
      echo "[[replica.peers]]"
      echo "id = $peer"
      echo "address = \"127.0.0.1:$(port "$peer")\""
    done
  }
}
config 1 cluster-secret-1 "$(port 1)" "$DIR/d1" 2 3 > "$DIR/r1.toml"
config 2 cluster-secret-1 "$(port 2)" "$DIR/d2" 1 3 > "$DIR/r2.toml"
config 3 cluster-secret-1 "$(port 3)" "$DIR/d3" 1 2 > "$DIR/r3.toml"
# The impostor claims to be replica 2 but does not know the secret.
config 2 not-the-secret "$(port 4)" "$DIR/d4" 1 > "$DIR/impostor.toml"

start() {  # name config args...
  local name=$1 cfg=$2; shift 2
  "$WL" replica --config "$cfg" --status-interval-ms 200 "$@" >> "$DIR/out-$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
}

start 1 "$DIR/r1.toml" --write-rate 400 --write-count 1600 --write-log "$DIR/ack1.log"
start 2 "$DIR/r2.toml" --write-rate 400 --write-count 1600 --write-log "$DIR/ack2a.log"
start 3 "$DIR/r3.toml" --write-rate 400 --write-count 1600 --write-log "$DIR/ack3.log"
start impostor "$DIR/impostor.toml" --stop-after-ms 3000
# Until replica 2 has acknowledged some writes (a loaded machine starts sanitizer builds slowly), at
# most 20 s; then 1 s more of load.
for _ in $(seq 200); do
  [[ -s "$DIR/ack2a.log" ]] && break
  sleep 0.1
done
sleep 1

echo "kill -9 replica 2 mid-load"
kill -9 "$PID_2"
wait "$PID_2" 2>/dev/null || true
acked_before_kill=$(wc -l < "$DIR/ack2a.log")
[[ $acked_before_kill -gt 0 ]] || fail "replica 2 acknowledged nothing before the kill"
sleep 0.5
start 2 "$DIR/r2.toml" --write-rate 400 --write-count 400 --incarnation 1 --write-log "$DIR/ack2b.log"

echo "garbage at replica 3's RPC port"
# The node may cut the connection before everything is written: a write to it then raises SIGPIPE,
# which would kill this script (printf is a builtin) — ignored in the subshell, it is an error.
(
  trap '' PIPE
  head -c 4096 /dev/urandom > "/dev/tcp/127.0.0.1/$(port 3)" 2>/dev/null || true
  printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' > "/dev/tcp/127.0.0.1/$(port 3)" 2>/dev/null || true
)

# Wait (bounded) for the loads to finish and the digests to agree.
digest() { grep '^status ' "$DIR/out-$1.log" | tail -n 1 | sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p'; }
converged=0
for _ in $(seq 1 150); do
  sleep 0.2
  done_loads=$(cat "$DIR"/out-{1,2,3}.log | grep -c 'write load done' || true)
  d1=$(digest 1); d2=$(digest 2); d3=$(digest 3)
  if [[ $done_loads -ge 3 && -n $d1 && $d1 == "$d2" && $d2 == "$d3" ]]; then converged=1; break; fi
done
[[ $converged == 1 ]] || fail "replicas did not converge within 30 s (digests $d1 $d2 $d3)"
sleep 0.5  # let the last status round settle, then stop cleanly
for name in 1 2 3; do eval "kill -TERM \$PID_$name"; done
for name in 1 2 3; do eval "wait \$PID_$name" || fail "replica $name exited non-zero"; done

# Every acknowledged write is on every replica, and the states are identical.
# shellcheck source=tests/replica/acked_writes.sh
source "$(dirname "$0")/acked_writes.sh"
check_acked_writes "$WL"

grep -q 'refused login as replica 2: wrong proof' "$DIR/out-1.log" || fail "impostor was not refused"
grep -q 'connected to replica 1' "$DIR/out-impostor.log" && fail "impostor got a session"
grep -q 'an inbound connection ended before logging in' "$DIR/out-3.log" ||
  fail "garbage connection not reported"

echo "acknowledged writes: $(wc -l < "$DIR/acked") (replica 2 acknowledged $acked_before_kill before SIGKILL)"
echo "every acknowledged write present on all 3 replicas; states identical; impostor refused;"
echo "garbage connection dropped while the node kept serving"
echo "1 passed, 0 failed"
