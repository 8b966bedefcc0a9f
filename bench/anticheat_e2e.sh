#!/usr/bin/env bash
# bench/anticheat_e2e.sh — the cheat detection end to end: one region node, `worldline loadgen`
# with labelled cheaters and hard honest players over real WebSockets, and the node's flags (its
# log lines "anticheat flag <id> on player <p>: confidence c") scored against the labels. The
# simulated populations of bench/anticheat_eval go through the pipeline in-process; this runs the
# same kinds of player through the gateway, the protocol, the node's clock and tick, and a real
# client's timing.
#
#   bash bench/anticheat_e2e.sh
#   PLAYERS=300 EACH=10 LAG=40 SKILLED=20 RATE=5 SECONDS_PER_RUN=60 bash bench/anticheat_e2e.sh
#
# EACH cheaters of every kind (speed10, speed50, teleport, clock5, rapid_fire, regular_bot), then
# LAG honest players with lag spikes and SKILLED who run flat out; the rest are honest. Players
# spawn within SPAWN units (so fighters find each other) and fight in the pvp scenario. LOGS=<dir>
# keeps the node's and the load generator's logs there.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS="${PLAYERS:-300}"
EACH="${EACH:-10}"
LAG="${LAG:-40}"
SKILLED="${SKILLED:-20}"
RATE="${RATE:-5}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-60}"
SPAWN="${SPAWN:-80}"
TICK_HZ=20
IO_THREADS=1
# shellcheck source=bench/cluster.sh
source bench/cluster.sh
cluster_setup worldline-anticheat
SECRET="anticheat e2e token secret"
BASE=$(( 6000 + (RANDOM % 45) * 20 ))  # 6000-6899: no test, benchmark or example config uses it
RUN=1
# The built-in rules have no respawn: at the default 100 health a fight kills most players within
# a minute, and the dead act no more (every action refused: "actor is dead"), which leaves the
# cheats that need fighting without evidence. Players here have health enough for the whole run.
config 1 1 | sed -e "s/^spawn_radius = .*/spawn_radius = $SPAWN/" \
  -e "s/^interest_radius = .*/interest_radius = 30\nspawn_health = 1000000000/" > "$DIR/n1.toml"
"$WL" node --config "$DIR/n1.toml" --status-interval-ms 0 > "$DIR/n1.log" 2>&1 &
NODE=$!
PIDS+=($NODE)
sleep 1.5
CHEATS=speed10,speed50,teleport,clock5,rapid_fire,regular_bot
cheaters=$(echo "$CHEATS" | tr ',' '\n' | sed "s/\$/=$EACH/" | paste -sd,)
"$WL" loadgen --target "127.0.0.1:$((BASE + 11))" --players "$PLAYERS" --rate "$RATE" \
  --seconds "$SECONDS_PER_RUN" --secret "$SECRET" --scenario pvp --threads "$IO_THREADS" \
  --cheaters "$cheaters" --hard "lag_spikes=$LAG,skilled=$SKILLED" > "$DIR/loadgen.log" 2>&1 &
LOADGEN=$!
PIDS+=($LOADGEN)
wait_measuring "$DIR/loadgen.log"
start=$(date +%s.%N)
wait "$LOADGEN" || true
if ! kill -0 "$NODE" 2>/dev/null; then  # a node that died flags nobody: no result
  echo "the node is not running any more; its log ends:" >&2
  tail -20 "$DIR/n1.log" >&2
  exit 1
fi
if [[ -n ${LOGS:-} ]]; then  # LOGS=<dir>: keep the node's and the load generator's logs
  mkdir -p "$LOGS" && cp "$DIR/n1.log" "$DIR/loadgen.log" "$LOGS/"
fi

# The labels: "kind: players a-b" lines, the rest honest.
declare -A kind_of
while read -r kind _ range; do
  for p in $(seq "${range%-*}" "${range#*-}"); do kind_of[$p]=${kind%:}; done
done < <(grep -E '^[a-z_0-9]+: players [0-9]+-[0-9]+$' "$DIR/loadgen.log")
# The first flag of each player, with its time after the measured run began.
declare -A first_s
while read -r day clock player; do
  [[ -n ${first_s[$player]:-} ]] && continue
  t=$(date -d "${day#[} ${clock%]}" +%s.%N)
  first_s[$player]=$(awk -v t="$t" -v s="$start" 'BEGIN {printf "%.2f", t - s}')
done < <(grep 'anticheat flag' "$DIR/n1.log" | sed -E 's/^(\S+) (\S+) .* on player ([0-9]+):.*/\1 \2 \3/')

printf '%-12s %6s %8s %10s\n' kind players flagged "first flag p50 (s)"
flagged_cheats=0
flagged_honest=0
for kind in ${CHEATS//,/ } lag_spikes skilled honest; do
  n=0
  f=0
  times=()
  for p in $(seq 1 "$PLAYERS"); do
    [[ ${kind_of[$p]:-honest} == "$kind" ]] || continue
    n=$((n + 1))
    if [[ -n ${first_s[$p]:-} ]]; then
      f=$((f + 1))
      times+=("${first_s[$p]}")
    fi
  done
  p50=-
  if ((${#times[@]} > 0)); then
    p50=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}')
  fi
  printf '%-12s %6d %8d %10s\n' "$kind" "$n" "$f" "$p50"
  case $kind in lag_spikes | skilled | honest) flagged_honest=$((flagged_honest + f)) ;;
  *) flagged_cheats=$((flagged_cheats + f)) ;; esac
done
awk -v c="$flagged_cheats" -v h="$flagged_honest" 'BEGIN {
  printf "flagged: %d cheaters and %d honest players (precision %s)\n", c, h,
    ((c + h > 0) ? sprintf("%.3f", c / (c + h)) : "-") }'
grep -E '^(players|actions|action)' "$DIR/loadgen.log"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "rerun: PLAYERS=$PLAYERS EACH=$EACH LAG=$LAG SKILLED=$SKILLED RATE=$RATE" \
  "SECONDS_PER_RUN=$SECONDS_PER_RUN SPAWN=$SPAWN bash bench/anticheat_e2e.sh"
