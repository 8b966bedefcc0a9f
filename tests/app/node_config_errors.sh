#!/usr/bin/env bash
# `worldline node` refuses a config with a bad [region], [gateway] or [anticheat] value before it opens anything: exit code
# 2 and one line naming the file and the field. Each case is docs/examples/eu-west.toml with one
# line changed (a pattern that matches nothing leaves a valid config: the node starts, and the
# case fails on its exit code).
# Usage: node_config_errors.sh <path to worldline> <path to docs/examples/eu-west.toml>
set -euo pipefail
WL="$1"
EXAMPLE="$2"
DIR="$(mktemp -d /tmp/worldline-config.XXXXXX)"
trap 'rm -rf "$DIR"' EXIT
fails=0
# refuse <what> <sed expression> <expected message>
refuse() {
  local f="$DIR/$1.toml"
  sed "$2" "$EXAMPLE" >"$f"
  set +e
  out="$(timeout 10 "$WL" node --config "$f" 2>&1)"
  rc=$?
  set -e
  if [[ $rc -ne 2 || "$out" != *"$f: $3"* ]]; then
    echo "FAIL: $1: exit $rc, expected 2 and '$f: $3'; got: $out"
    fails=$((fails + 1))
  else
    echo "ok: $1 refused: $3"
  fi
}
refuse spin_negative 's/^spin_us = .*/spin_us = -5/' 'region.spin_us: 0..10000'
refuse spin_huge 's/^spin_us = .*/spin_us = 20000/' 'region.spin_us: 0..10000'
refuse workers_zero 's/^workers = .*/workers = 0/' 'region.workers: 1..256'
refuse tick_hz_high 's/^tick_hz = .*/tick_hz = 500/' 'region.tick_hz: 1..120'
refuse items_negative 's/^items = .*/items = -1/' 'region.items: 0..1000000'
refuse item_area_outside 's/^item_area = .*/item_area = [-200, -200, 20000, 200]/' \
  'region.item_area must lie inside region.world'
refuse pickup_range_zero 's/^pickup_range = .*/pickup_range = 0/' 'region.pickup_range must be > 0'
refuse aim_tolerance_wide 's/^pickup_range = .*/pickup_range = 5\naim_tolerance_deg = 200/' \
  'region.aim_tolerance_deg: more than 0, at most 180'
refuse require_aim_string 's/^pickup_range = .*/pickup_range = 5\nrequire_aim = "yes"/' \
  'region.require_aim: true or false'
refuse admin_not_ip 's/^admin_listen = .*/admin_listen = "admin.local:9101"/' \
  "gateway.admin_listen: 'admin.local:9101' is not ip:port"
refuse admin_no_port 's/^admin_listen = .*/admin_listen = "127.0.0.1"/' \
  "gateway.admin_listen: '127.0.0.1' is not ip:port"
refuse admin_not_string 's/^admin_listen = .*/admin_listen = 9101/' \
  'gateway.admin_listen must be a string, ip:port'
refuse admin_same_as_listen 's/^admin_listen = .*/admin_listen = "127.0.0.1:8101"/' \
  'gateway.admin_listen must differ from gateway.listen'
refuse response_ban 's/^response = .*/response = "ban"/' \
  "anticheat.response must be log, alert, throttle or kick (never a ban: a flag is for a human to review), not 'ban'"
refuse throttle_zero 's/^throttle_actions_per_s = .*/throttle_actions_per_s = 0/' \
  'anticheat.throttle_actions_per_s in (0, 1000] and anticheat.throttle_seconds in (0, 86400]'
refuse detector_nice_high 's/^throttle_seconds = .*/throttle_seconds = 60\ndetector_nice = 20/' \
  'anticheat.detector_nice: 0..19'
if [[ $fails -ne 0 ]]; then exit 1; fi
echo "PASS: bad region and gateway configs refused"
