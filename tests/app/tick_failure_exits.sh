#!/usr/bin/env bash
# A region node whose tick throws exits at once with code 70 (docs/node.md, "Exit codes") and
# says why, instead of gossiping on without ever ticking again: a supervisor restarts it and its
# players fail over. The throw comes from the fault-injection switch
# WORLDLINE_FAULT_THROW_AT_TICK; the node is docs/examples/eu-west.toml on free ports and a
# temporary data directory (its peers are not running: they need not be).
# Usage: tick_failure_exits.sh <path to worldline> <path to docs/examples/eu-west.toml>
set -euo pipefail
WL="$1"
EXAMPLE="$2"
DIR="$(mktemp -d /tmp/worldline-tickfail.XXXXXX)"
trap 'rm -rf "$DIR"' EXIT
sed -e "s|^data_dir = .*|data_dir = \"$DIR/data\"|" \
    -e 's|^listen = "127.0.0.1:7101"|listen = "127.0.0.1:0"|' \
    -e 's|^listen = "127.0.0.1:8101".*|listen = "127.0.0.1:0"|' \
    -e 's|^admin_listen = .*|admin_listen = "127.0.0.1:0"|' "$EXAMPLE" >"$DIR/node.toml"
set +e
out="$(WORLDLINE_FAULT_THROW_AT_TICK=5 timeout 60 "$WL" node --config "$DIR/node.toml" 2>&1)"
rc=$?
set -e
if [[ $rc -ne 70 ]]; then
  echo "FAIL: exit code $rc, expected 70 (124: still running after 60 s, the zombie)"
  echo "$out" | tail -20
  exit 1
fi
if [[ "$out" != *"failed: fault injection: WORLDLINE_FAULT_THROW_AT_TICK=5"*"exiting with code 70"* ]]; then
  echo "FAIL: exit 70 but the log does not say which tick failed and why:"
  echo "$out" | tail -20
  exit 1
fi
echo "PASS: a node whose tick throws exits 70 and says why"
