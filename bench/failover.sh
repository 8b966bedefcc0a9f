#!/usr/bin/env bash
# bench/failover.sh — how long a killed region's players take to act again in another region
# (DESIGN.md's target: within 1 s at p95). Three region nodes on loopback, replicating to each
# other; `worldline loadgen --failover` spreads the players over them; KILL_AFTER seconds into the
# measured run, region 1 is killed with SIGKILL. Its players' connections drop; each resumes in the
# next region with its token and last ack, and resends what was not acknowledged. The load
# generator reports, over those players, connection lost → the first ack from the new region of an
# action not acknowledged before the loss (p50/p95/p99/max, upper bounds of histogram buckets),
# and how many found no region to resume in.
#
#   bash bench/failover.sh                  # defaults below
#   PLAYERS=1500 RATE=5 SECONDS_PER_RUN=10 KILL_AFTER=4 PROTOCOL=json IO_THREADS=2 \
#     bash bench/failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS="${PLAYERS:-1500}"
RATE="${RATE:-5}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
KILL_AFTER="${KILL_AFTER:-4}"
TICK_HZ="${TICK_HZ:-20}"
PROTOCOL="${PROTOCOL:-json}"
IO_THREADS="${IO_THREADS:-2}"
# shellcheck source=bench/cluster.sh
source bench/cluster.sh
cluster_setup worldline-failover
SECRET="failover bench token secret"
BASE=$(( 31000 + (RANDOM % 80) * 20 ))  # e2e.sh's band: the two do not run together
RUN=1
targets=()
for id in 1 2 3; do
  config "$id" 3 > "$DIR/n$id.toml"
  "$WL" node --config "$DIR/n$id.toml" --status-interval-ms 0 > "$DIR/n$id.log" 2>&1 &
  PIDS+=($!)
  targets+=(--target "127.0.0.1:$((BASE + 10 + id))")
done
VICTIM=${PIDS[0]}
sleep 1.5
"$WL" loadgen "${targets[@]}" --players "$PLAYERS" --rate "$RATE" --seconds "$SECONDS_PER_RUN" \
  --secret "$SECRET" --protocol "$PROTOCOL" --failover > "$DIR/loadgen.log" 2>&1 &
LOADGEN=$!
PIDS+=($LOADGEN)
wait_measuring "$DIR/loadgen.log"
sleep "$KILL_AFTER"
kill -9 "$VICTIM"
wait "$VICTIM" 2>/dev/null || true
echo "kill -9 region 1 (about $((PLAYERS / 3)) players) $KILL_AFTER s into the measured run"
wait "$LOADGEN" || true
grep -E '^(players|actions|action|failovers)' "$DIR/loadgen.log"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "rerun: PLAYERS=$PLAYERS RATE=$RATE SECONDS_PER_RUN=$SECONDS_PER_RUN KILL_AFTER=$KILL_AFTER TICK_HZ=$TICK_HZ PROTOCOL=$PROTOCOL IO_THREADS=$IO_THREADS bash bench/failover.sh"
