# bench/cluster.sh — sourced by bench/e2e.sh and bench/failover.sh (from the repository's root):
# building `worldline`, the TOML of one region node of an n-node cluster on loopback, and reading a
# metric from a node's /metrics.
# config() uses: DIR (data directories under it), RUN (run number), BASE (ports: replica BASE+id,
# gateway BASE+10+id), TICK_HZ, SECRET (token secret), IO_THREADS, and optionally WORKERS (region
# worker threads, default 1) and SPIN_US (how long they spin between phases, default 250).

# Installs what is missing, builds the release `worldline` (WL), makes a temporary directory (DIR)
# that the exit trap removes after killing every process in PIDS.
# WL_BIN=<path> runs that binary instead (e.g. a test build's), without building.
cluster_setup() {  # mktemp name prefix
  if [[ -n ${WL_BIN:-} ]]; then
    WL=$WL_BIN
  else
    bash dev.sh install >/dev/null
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF \
      -DWORLDLINE_BENCH=OFF >/dev/null
    cmake --build build/release --target worldline >/dev/null
    WL=build/release/app/worldline
  fi
  DIR="$(mktemp -d "/tmp/$1.XXXXXX")"
  PIDS=()
  trap cluster_cleanup EXIT
}
cluster_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}

config() {  # id count
  local id=$1 n=$2
  echo "[replica]"
  echo "id = $id"
  echo "listen = \"127.0.0.1:$((BASE + id))\""
  echo "data_dir = \"$DIR/run$RUN/node$id\""
  echo "secret = \"e2e bench cluster secret\""
  for p in $(seq "$n"); do
    [[ $p == "$id" ]] && continue
    printf '[[replica.peers]]\nid = %s\naddress = "127.0.0.1:%s"\n' "$p" $((BASE + p))
  done
  printf '[region]\nname = "r%s"\ntick_hz = %s\nworkers = %s\nspin_us = %s\nspawn_radius = 1500\n' \
    "$id" "$TICK_HZ" "${WORKERS:-1}" "${SPIN_US:-250}"
  printf 'interest_radius = 30\n'
  printf '[gateway]\nlisten = "127.0.0.1:%s"\ntoken_secret = "%s"\n' $((BASE + 10 + id)) "$SECRET"
  printf 'actions_per_s = 1000\naction_burst = 1000\nio_threads = %s\n' \
    "$IO_THREADS"
}

# Waits until the load generator writing <log> has every player in and measures (bounded: a
# minute); otherwise prints the log and exits 1.
wait_measuring() {  # log
  for _ in $(seq 1 600); do
    grep -q 'measuring for' "$1" && return 0
    sleep 0.1
  done
  cat "$1"
  exit 1
}

metric() {  # port name: the sum of a metric's samples from /metrics
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  awk -v m="$2" '$1 ~ "^"m"[{]" {s += $2} END {printf "%d", s}' <&3
  exec 3<&-
}

