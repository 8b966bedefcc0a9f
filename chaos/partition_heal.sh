#!/usr/bin/env bash
# chaos/partition_heal.sh — three `worldline replica` processes, each in a network namespace of its
# own, linked pairwise by veth pairs (a full mesh, one /30 per link, so any one link can be cut).
# While every replica writes (its built-in write load; each write is logged once it is durable in
# LMDB and acknowledged):
#   1. the link 1–2 alone is cut for SPLIT_S seconds (1 and 2 still reach 3, and must see that);
#   2. it heals, and replica 2 is killed with SIGKILL mid-load and restarted on its data directory;
#   3. replica 3 is cut off from both others for at least PARTITION_S seconds, until every load is
#      done — all three keep acknowledging writes, and 3's state diverges from 1's;
# then the links heal and the three must converge (the same state digest) within CONVERGE_S
# seconds — the script prints how long it took — and every write any of them acknowledged (before
# a cut, during it, before the kill) must be in all three final states, which must be identical.
# After the heal each replica must hold exactly one inbound connection per peer: the ones the cuts
# and the kill left dead must have been closed, not kept open for good (that tells only with
# partitions longer than the ~100 s a peer's kernel retransmits its FIN: PARTITION_S=120).
#
# Cuts are silent (a blackhole qdisc on both ends of the link). The links have no added latency:
# this machine's kernel has no sch_netem, so `tc netem` delay and jitter cannot be added here
# (bench/replica_bench measures replication under 50 ms of added latency in-process instead).
#
# Needs root (ip netns, veth; Debian's iproute2): as another user it re-runs itself with sudo -n.
# Bounded: every wait has a deadline, the script
# cleans up its namespaces and processes on any exit.
# Usage: chaos/partition_heal.sh <path to worldline>     (ctest runs it: label `chaos`)
#        KEEP=1 keeps the logs and data directories.
set -euo pipefail
WL="$(realpath "$1")"
PARTITION_S="${PARTITION_S:-4}"
SPLIT_S="${SPLIT_S:-3}"
CONVERGE_S="${CONVERGE_S:-30}"

if [[ $(id -u) -ne 0 ]]; then  # namespaces and veth need root: as dev.sh installs, through sudo
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then exec sudo -n bash "$0" "$WL"; fi
  echo "FAIL: needs root for ip netns and veth (run as root, or with passwordless sudo)"
  exit 1
fi
command -v ip >/dev/null || { echo "FAIL: ip (iproute2) is not installed"; exit 1; }

DIR="$(mktemp -d /tmp/worldline-chaos.XXXXXX)"
TAG="$(printf '%04x' $((RANDOM)))"  # names of this run's namespaces and links
NET="10.$((200 + RANDOM % 50))"     # this run's /16: links are $NET.<link>.0/30
PIDS=()
ns() { echo "wlchaos-$TAG-$1"; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in 1 2 3; do ip netns del "$(ns "$n")" 2>/dev/null || true; done  # takes its veths along
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$DIR"/out-*.log; do [[ -f $f ]] || continue; echo "--- $f"; grep -v '^status ' "$f" | tail -n 15; grep '^status ' "$f" | tail -n 2; done
  exit 1
}
since() { awk -v now="$(date +%s.%N)" -v t="$1" 'BEGIN { printf "%.1f", now - t }'; }
T0=$(date +%s.%N)
log() { printf '[%5ss] %s\n' "$(since "$T0")" "$*"; }

# --- Topology ---------------------------------------------------------------------------------
link_no() { echo $(( $1 * $2 )); }       # 1–2: 2, 1–3: 3, 2–3: 6 — distinct, small
dev() { echo "v$TAG$1$2"; }              # replica $1's end of the link to $2 (≤ 15 characters)
addr() { echo "$NET.$(link_no "$1" "$2").$(( $1 < $2 ? 1 : 2 ))"; }  # replica $1 on the link to $2
for n in 1 2 3; do
  ip netns add "$(ns "$n")"
  ip -n "$(ns "$n")" link set lo up
done
for pair in "1 2" "1 3" "2 3"; do
  set -- $pair
  ip link add "$(dev "$1" "$2")" netns "$(ns "$1")" type veth peer name "$(dev "$2" "$1")" \
    netns "$(ns "$2")"
  for end in "$1 $2" "$2 $1"; do
    set -- $end
    ip -n "$(ns "$1")" addr add "$(addr "$1" "$2")/30" dev "$(dev "$1" "$2")"
    ip -n "$(ns "$1")" link set "$(dev "$1" "$2")" up
  done
done
# A cut drops every packet on the link, both ways, silently (a blackhole qdisc on both ends): the
# links stay up and the connections open, as when a WAN path dies — nobody is told, TCP just stops
# hearing back. A heal removes the qdiscs.
cut() {
  ip netns exec "$(ns "$1")" tc qdisc add dev "$(dev "$1" "$2")" root blackhole
  ip netns exec "$(ns "$2")" tc qdisc add dev "$(dev "$2" "$1")" root blackhole
}
heal() {
  ip netns exec "$(ns "$1")" tc qdisc del dev "$(dev "$1" "$2")" root
  ip netns exec "$(ns "$2")" tc qdisc del dev "$(dev "$2" "$1")" root
}

# --- Replicas ---------------------------------------------------------------------------------
config() {  # id
  local id=$1
  echo "[replica]"
  echo "id = $id"
  echo "listen = \"0.0.0.0:7000\""
  echo "data_dir = \"$DIR/d$id\""
  echo "secret = \"chaos cluster secret\""
  echo "tick_ms = 20"
  echo "gossip_interval_ms = 25"
  echo "snapshot_every_groups = 50"
  for peer in 1 2 3; do
    [[ $peer == "$id" ]] && continue
    printf '[[replica.peers]]\nid = %s\naddress = "%s:7000"\n' "$peer" "$(addr "$peer" "$id")"
  done
}
for n in 1 2 3; do config "$n" > "$DIR/r$n.toml"; done
start() {  # id ack-log args...
  local id=$1 acks=$2; shift 2
  ip netns exec "$(ns "$id")" "$WL" replica --config "$DIR/r$id.toml" --status-interval-ms 200 \
    --write-log "$DIR/$acks" "$@" >> "$DIR/out-$id.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$id=$!"
}
acks() { cat "$DIR"/ack"$1"*.log 2>/dev/null | wc -l; }
digest() { grep '^status ' "$DIR/out-$1.log" | tail -n 1 | sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p'; }
peers() { grep '^status ' "$DIR/out-$1.log" | tail -n 1 | sed -n 's/.* peers: //p'; }
loads_started() { grep -c 'write load starts' "$DIR/out-$1.log" || true; }
loads_done() { cat "$DIR"/out-{1,2,3}.log | grep -c 'write load done' || true; }
silent_drops() {  # links this replica dropped because nothing came from the peer for too long
  grep '^status ' "$DIR/out-$1.log" | tail -n 1 | sed -n 's/.* silent_links_dropped=\([0-9]*\).*/\1/p'
}

start 1 ack1.log --write-rate 200 --write-count 2000
start 2 ack2a.log --write-rate 200 --write-count 2000
start 3 ack3.log --write-rate 200 --write-count 2000
log "three replicas, each in its own network namespace, writing 200 ids/s each"
# Until each has acknowledged some writes (a loaded machine starts sanitizer builds slowly), at most
# 20 s; then 1.5 s more of load.
for _ in $(seq 200); do
  [[ $(acks 1) -gt 0 && $(acks 2) -gt 0 && $(acks 3) -gt 0 ]] && break
  sleep 0.1
done
[[ $(acks 1) -gt 0 && $(acks 2) -gt 0 && $(acks 3) -gt 0 ]] || fail "a replica acknowledged nothing"
sleep 1.5
for n in 1 2 3; do  # every link carries: each replica hears both others
  [[ $(peers "$n" | grep -o ':up' | wc -l) -eq 2 ]] || fail "replica $n does not see both peers: $(peers "$n")"
done

# 1. The link 1–2 alone is cut: 1 and 2 still reach 3.
cut 1 2
log "cut the link 1–2 alone for ${SPLIT_S} s (both still reach 3)"
sleep "$SPLIT_S"
p1=$(peers 1)
[[ $p1 == *"2:down"* && $p1 == *"3:up"* ]] || fail "replica 1 should see 2 down and 3 up: $p1"
heal 1 2

# 2. SIGKILL replica 2 mid-load and restart it on its data.
kill -9 "$PID_2"
wait "$PID_2" 2>/dev/null || true
killed_with=$(acks 2)
log "healed 1–2; kill -9 replica 2 ($killed_with writes acknowledged before the kill)"
sleep 0.5
start 2 ack2b.log --write-rate 200 --write-count 300 --incarnation 1
for _ in $(seq 1 100); do  # its load starts once it is connected to both others again
  [[ $(loads_started 2) -ge 2 ]] && break
  sleep 0.1
done
[[ $(loads_started 2) -ge 2 ]] ||
  fail "replica 2 did not reconnect to both others within 10 s of its restart"
log "replica 2 restarted on its data directory, reconnected and writing"

# 3. Replica 3 alone, until every load is done and at least PARTITION_S.
cut 3 1; cut 3 2
a1=$(acks 1); a2=$(acks 2); a3=$(acks 3); s1=$(silent_drops 1); s3=$(silent_drops 3)
log "cut replica 3 off from 1 and 2 (at least ${PARTITION_S} s, until every load is done)"
sleep "$PARTITION_S"
p3=$(peers 3)
[[ $(acks 1) -gt $a1 && $(acks 2) -gt $a2 ]] || fail "1 and 2 stopped acknowledging while 3 was cut off"
[[ $(acks 3) -gt $a3 ]] || fail "replica 3 stopped acknowledging while cut off"
[[ $p3 == *"1:down"* && $p3 == *"2:down"* ]] || fail "replica 3 still sees its peers up: $p3"
# Nothing crosses a cut, yet the connections stay open: the replicas on both sides must drop
# their silent links (and keep retrying) rather than wait on TCP.
[[ $(silent_drops 1) -gt $s1 && $(silent_drops 3) -gt $s3 ]] ||
  fail "silent links were not dropped (replica 1: $s1 → $(silent_drops 1), replica 3: $s3 → $(silent_drops 3))"
for _ in $(seq 1 150); do  # bounded: the loads end within seconds (2 was killed: 3 of 4 end)
  [[ $(loads_done) -ge 3 ]] && break
  sleep 0.2
done
[[ $(loads_done) -ge 3 ]] ||
  fail "the write loads did not finish"
sleep 0.5  # a status line after the last write
d1=$(digest 1); d2=$(digest 2); d3=$(digest 3)
log "during the cut all three kept acknowledging (+$(( $(acks 1) - a1 )), +$(( $(acks 2) - a2 )), +$(( $(acks 3) - a3 ))); loads done; digests 1 $d1, 2 $d2, 3 $d3"
[[ $d1 != "$d3" ]] || fail "1 and 3 agree before the heal: the partition did not hold"

# Heal: the three must reach the same digest within CONVERGE_S.
heal 3 1; heal 3 2
HEALED=$(date +%s.%N)
log "healed every link"
converged=0
for _ in $(seq 1 $(( CONVERGE_S * 20 ))); do
  sleep 0.05
  d1=$(digest 1); d2=$(digest 2); d3=$(digest 3)
  if [[ -n $d1 && $d1 == "$d2" && $d2 == "$d3" ]]; then converged=1; break; fi
done
[[ $converged == 1 ]] || fail "no convergence within ${CONVERGE_S} s of the heal ($d1 $d2 $d3)"
log "converged: digest $d1 on all three, $(since "$HEALED") s after the heal (status lines every 0.2 s)"
# One inbound connection per peer: the ones the cuts left dead (their closes were lost) must be
# gone, closed when their peers logged in again — not kept open for good.
# Bounded wait: convergence needs one working direction per pair, and the other side's link may
# still be between its retries (a second), its new login not yet made.
inbound() { ip netns exec "$(ns "$1")" ss -Htn state established '( sport = :7000 )' | wc -l; }
one_per_peer=0
for _ in $(seq 1 50); do
  i1=$(inbound 1); i2=$(inbound 2); i3=$(inbound 3)
  if [[ $i1 == 2 && $i2 == 2 && $i3 == 2 ]]; then one_per_peer=1; break; fi
  sleep 0.1
done
[[ $one_per_peer == 1 ]] ||
  fail "not one inbound connection per peer 5 s after converging: replica 1 has $i1, 2 has $i2, 3 has $i3 (2 each expected)"
log "one inbound connection per peer on every replica"

for n in 1 2 3; do eval "kill -TERM \$PID_$n"; done
for n in 1 2 3; do eval "wait \$PID_$n" || fail "replica $n exited non-zero after SIGTERM"; done

# Every acknowledged write is in every final state, and the states are identical.
# shellcheck source=tests/replica/acked_writes.sh
source "$(dirname "$0")/../tests/replica/acked_writes.sh"
check_acked_writes "$WL"
log "all $(wc -l < "$DIR/acked") acknowledged writes are on all three replicas; states identical"
echo "PASS: partition, split and kill -9 healed without losing an acknowledged write"
