#!/usr/bin/env bash
# bench/compare.sh — one benchmark, two commits, interleaved runs.
#
#   bench/compare.sh <base-commit> <bench> [filter] [rounds]
#   bench/compare.sh main~3 replica_bench TwoReplicas 3
#   bench/compare.sh 7a83d8b region_bench 'Engine_MixedActions/workers:1' 5
#
# This machine's speed drifts by tens of percent over minutes, so a table taken once and compared
# with a later run says little: a change is judged by running the base and the working tree one
# after the other, several rounds, and reading the pairs. The base is built in its own worktree
# (build/compare/<sha>, release, benchmarks only; ccache makes the second build cheap); the
# working tree's build/bench is built as it stands, uncommitted changes included.
#
# What a change reruns before it lands (docs/testing.md):
#   replica/  -> replica_bench TwoReplicas (rate and wire bytes per update)
#   region/   -> region_bench Engine_MixedActions
#   region/anticheat/ -> anticheat_eval --no-eval (the detector's share of a tick)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
base=$(git rev-parse --short "$1")
bench=$2
filter=${3:-.}
rounds=${4:-3}

configure() {  # configure <src> <build dir>
  [[ -f "$2/build.ninja" ]] ||
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF \
      -DWORLDLINE_BENCH=ON >/dev/null
  cmake --build "$2" --target "$bench" >/dev/null
}

tree="build/compare/$base"
if [[ ! -d "$tree" ]]; then
  git worktree add --detach "$tree" "$base" >/dev/null
fi
echo "building $bench at $base ($tree) and in this tree (build/bench)" >&2
configure "$tree" "$tree/build"
configure . build/bench

run() {  # run <label> <binary>
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [[ $bench == anticheat_eval ]]; then
    "$2" --no-eval 2>&1 | sed "s/^/$1 load $load | /"
  else
    "$2" --benchmark_filter="$filter" 2>/dev/null | grep '^BM_' | sed "s/^/$1 load $load | /"
  fi
}
for ((r = 1; r <= rounds; r++)); do  # the order alternates: neither always runs first
  if ((r % 2)); then
    run "round $r base $base" "$tree/build/bench/$bench"
    run "round $r this tree " "build/bench/bench/$bench"
  else
    run "round $r this tree " "build/bench/bench/$bench"
    run "round $r base $base" "$tree/build/bench/$bench"
  fi
done
echo "rerun: bench/compare.sh $1 $bench '$filter' $rounds" >&2
