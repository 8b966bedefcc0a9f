#!/usr/bin/env bash
# bench/e2e.sh — the whole path over real WebSockets on this machine: `worldline loadgen` against
# one region node and against three (replicating to each other), for a list of player counts,
# printing one table row per run. The load generator shares the machine with the nodes.
#
#   bash bench/e2e.sh                       # defaults below
#   PLAYERS="1000 5000" RATE=10 SECONDS_PER_RUN=10 NODES="1 3" TICK_HZ=20 PROTOCOL=capnp \
#     LOADGEN_THREADS=1 IO_THREADS=2 WORKERS=1 SPIN_US=250 bash bench/e2e.sh
#
# Columns: nodes, players, offered actions/s (players × rate), acked actions/s, client-measured
# action → ack p50/p95/p99 (upper bounds of the histogram buckets holding them), the nodes' own
# receive → ack-published p50/p95/p99 (from their /metrics), state frames per client per second,
# % of ticks on time (from the nodes' /metrics: a tick is on time when its whole turn — ingest,
# region tick, group commit, publishing — ended before the next was due; due times the loop
# skipped count as missed), rejects, errors.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS="${PLAYERS:-500 1000 2000 4000}"
RATE="${RATE:-10}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
NODES="${NODES:-1 3}"
TICK_HZ="${TICK_HZ:-20}"
PROTOCOL="${PROTOCOL:-json}"            # the players' wire form: json or capnp
LOADGEN_THREADS="${LOADGEN_THREADS:-2}"
IO_THREADS="${IO_THREADS:-1}"           # each node's gateway I/O threads
# shellcheck source=bench/cluster.sh
source bench/cluster.sh
cluster_setup worldline-e2e-bench
SECRET="e2e bench token secret"
BASE=$(( 31000 + (RANDOM % 80) * 20 ))  # below the ephemeral range (32768+)

# The nodes' own receive → ack-published latency (worldline_gateway_ack_ms, over the whole run,
# ramp-up included): p50/p95/p99 as bucket upper bounds, summed over the nodes' histograms.
node_ack() {  # ports...
  for port in "$@"; do
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
    grep '^worldline_gateway_ack_ms_bucket' <&3 || true
    exec 3<&-
  done | sed -E 's/.*le="([^"]+)"\} ([0-9.e+]+)/\1 \2/' | awk '
    { n[$1] += $2; if ($1 != "+Inf") le[$1] = $1 + 0 }
    END {
      total = n["+Inf"]; if (total == 0) { print "-"; exit }
      k = 0; for (b in le) keys[++k] = le[b]
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (keys[j] < keys[i]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
      split("0.5 0.95 0.99", qs, " "); out = ""
      for (q = 1; q <= 3; q++) {
        v = "inf"
        for (i = 1; i <= k; i++) if (n[keys[i] ""] >= qs[q] * total) { v = keys[i]; break }
        out = out (q > 1 ? "/" : "") v
      }
      print out
    }'
}

printf '%-5s %-7s %-9s %-9s %-22s %-16s %-8s %-8s %-8s %-6s\n' nodes players offered/s acked/s \
  "ack p50/p95/p99 ms" "node ack ms" frames/s on-time rejects errors
RUN=0
for n in $NODES; do
  for players in $PLAYERS; do
    RUN=$((RUN + 1))
    PIDS=()
    targets=()
    for id in $(seq "$n"); do
      config "$id" "$n" > "$DIR/n$id.toml"
      "$WL" node --config "$DIR/n$id.toml" --status-interval-ms 0 > "$DIR/n$id-$RUN.log" 2>&1 &
      PIDS+=($!)
      targets+=(--target "127.0.0.1:$((BASE + 10 + id))")
    done
    sleep 1.5
    ticks0=0; late0=0; skip0=0
    for id in $(seq "$n"); do
      ticks0=$((ticks0 + $(metric $((BASE + 10 + id)) worldline_region_ticks_total)))
      late0=$((late0 + $(metric $((BASE + 10 + id)) worldline_node_ticks_late_total)))
      skip0=$((skip0 + $(metric $((BASE + 10 + id)) worldline_node_ticks_skipped_total)))
    done
    out="$("$WL" loadgen "${targets[@]}" --players "$players" --rate "$RATE" \
      --seconds "$SECONDS_PER_RUN" --secret "$SECRET" --connects-per-second 2000 \
      --protocol "$PROTOCOL" --threads "$LOADGEN_THREADS" 2>&1 || true)"
    ports=()
    for id in $(seq "$n"); do ports+=($((BASE + 10 + id))); done
    nack=$(node_ack "${ports[@]}")
    ticks=0; late=0; skip=0
    for id in $(seq "$n"); do
      ticks=$((ticks + $(metric $((BASE + 10 + id)) worldline_region_ticks_total)))
      late=$((late + $(metric $((BASE + 10 + id)) worldline_node_ticks_late_total)))
      skip=$((skip + $(metric $((BASE + 10 + id)) worldline_node_ticks_skipped_total)))
    done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    acked=$(grep -o 'acked = [0-9.]*' <<<"$out" | awk '{print $3}')
    q=$(grep -o 'p50<=[0-9.inf]* p95<=[0-9.inf]* p99<=[0-9.inf]*' <<<"$out" |
      sed 's/p[0-9]*<=//g' | tr ' ' '/')
    frames=$(grep -o 'state frames: [0-9.]*' <<<"$out" | awk '{print $3}')
    summary="$(grep '^actions:' <<<"$out" || true)"
    rejects=$(grep -o '[0-9]\+ rejects' <<<"$summary" | awk '{print $1}')
    errors=$(grep -o '[0-9]\+ errors' <<<"$summary" | awk '{print $1}')
    dt=$((ticks - ticks0)); dlate=$((late - late0)); dskip=$((skip - skip0))
    ontime=$(awk -v t="$dt" -v l="$dlate" -v s="$dskip" \
      'BEGIN { if (t > 0) printf "%.2f%%", 100 * (t - l) / (t + s); else print "-" }')
    printf '%-5s %-7s %-9s %-9s %-22s %-16s %-8s %-8s %-8s %-6s\n' "$n" "$players" \
      $((players * ${RATE%.*})) "${acked:-0}" "${q:--}" "${nack:--}" "${frames:-0}" "$ontime" \
      "${rejects:-0}" "${errors:-0}"
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "rerun: PLAYERS=\"$PLAYERS\" RATE=$RATE SECONDS_PER_RUN=$SECONDS_PER_RUN NODES=\"$NODES\" TICK_HZ=$TICK_HZ PROTOCOL=$PROTOCOL LOADGEN_THREADS=$LOADGEN_THREADS IO_THREADS=$IO_THREADS WORKERS=${WORKERS:-1} SPIN_US=${SPIN_US:-250} bash bench/e2e.sh"
