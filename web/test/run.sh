#!/usr/bin/env bash
# The dashboard's browser test, as ctest runs it (label `e2e`): two real `worldline node`
# processes (A and B, replicating to each other; A's operators' HTTP on an admin port of its own),
# the load generator playing on A (honest players and two labelled teleporters), and
# dashboard.browser.mjs driving Debian's Chromium (playwright-core, pinned in package-lock.json,
# installed outside the source tree) through A's dashboard. Screenshots are kept in <artifacts>.
# Usage: web/test/run.sh <path to worldline> <artifacts dir>     KEEP=1 keeps the temporary folder.
set -euo pipefail
WL="$(realpath "$1")"
ARTIFACTS="$(mkdir -p "$2" && realpath "$2")"
HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="$(mktemp -d /tmp/worldline-dashboard.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }

command -v node >/dev/null || fail "node (Node.js) is not installed: bash dev.sh install"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || fail "no Chromium at $CHROMIUM: bash dev.sh install (Debian's chromium)"
cp "$HERE/package.json" "$HERE/package-lock.json" "$HERE/dashboard.browser.mjs" "$DIR/"
(cd "$DIR" && timeout -k 10 120 npm ci --silent --no-audit --no-fund >"$DIR/npm.log" 2>&1) ||
  fail "npm ci (playwright-core) failed"

BASE=$(( 20000 + (RANDOM % 400) * 10 ))  # below the ephemeral ports: README, "Developing"
SECRET="dashboard browser test secret"
PLAYERS=24
config() {  # id name rpc-port gateway-port peer-id peer-rpc-port admin-port
  cat <<TOML
[replica]
id = $1
listen = "127.0.0.1:$3"
data_dir = "$DIR/data-$2"
secret = "dashboard test cluster secret"
[[replica.peers]]
id = $5
address = "127.0.0.1:$6"
[region]
name = "$2"
tick_hz = 20
workers = 2
[gateway]
listen = "127.0.0.1:$4"
admin_listen = "127.0.0.1:$7"
token_secret = "$SECRET"
[anticheat]
response = "log"
TOML
}
config 1 region-a $((BASE + 1)) $((BASE + 3)) 2 $((BASE + 2)) $((BASE + 5)) > "$DIR/a.toml"
config 2 region-b $((BASE + 2)) $((BASE + 4)) 1 $((BASE + 1)) $((BASE + 6)) > "$DIR/b.toml"
"$WL" node --config "$DIR/a.toml" > "$DIR/a.log" 2>&1 & PIDS+=($!)
"$WL" node --config "$DIR/b.toml" > "$DIR/b.log" 2>&1 & PIDS+=($!)

healthy() {  # port: GET /healthz over bash's /dev/tcp, bounded
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 && grep -q '200 OK' <&3" 2>/dev/null
}
for i in $(seq 150); do
  healthy $((BASE + 5)) && healthy $((BASE + 6)) && break
  [[ $i == 150 ]] && fail "nodes not healthy after 15 s"
  sleep 0.1
done

# Players 1..PLAYERS on A for up to 3 minutes (the test stops it when done); 1 and 2 teleport.
"$WL" loadgen --target "127.0.0.1:$((BASE + 3))" --players $PLAYERS --rate 5 --seconds 180 \
  --secret "$SECRET" --cheaters teleport=2 > "$DIR/loadgen.log" 2>&1 & PIDS+=($!)
TOKEN="$("$WL" token --player 900000 --role admin --secret "$SECRET")"

(cd "$DIR" && timeout -k 10 200 node dashboard.browser.mjs "127.0.0.1:$((BASE + 5))" $PLAYERS \
  "$TOKEN" "$ARTIFACTS" "127.0.0.1:$((BASE + 6))") > "$DIR/browser.log" 2>&1 ||
  fail "the browser test: $(cat "$DIR/browser.log")"
cat "$DIR/browser.log"
