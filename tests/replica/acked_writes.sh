# Sourced by tests/replica/three_replicas.sh and chaos/partition_heal.sh, after their replicas
# have stopped: every write any replica acknowledged (the `ack <id>` lines of $DIR/ack*.log) must
# be in each replica's final state (`worldline replica --inspect` on $DIR/r<n>.toml), and the three
# states must be identical. Calls the script's fail() otherwise.
check_acked_writes() {  # path to worldline
  local wl=$1 n missing
  cat "$DIR"/ack*.log | awk '{print $2}' | sort -u > "$DIR/acked"
  for n in 1 2 3; do
    "$wl" replica --config "$DIR/r$n.toml" --inspect > "$DIR/state$n.txt"
    grep '^1/8 guild_members ids' "$DIR/state$n.txt" | tr ' ' '\n' | tail -n +4 | sort -u \
      > "$DIR/ids$n"
    missing=$(comm -23 "$DIR/acked" "$DIR/ids$n" | wc -l)
    [[ $missing -eq 0 ]] || fail "replica $n lacks $missing acknowledged writes"
  done
  cmp -s "$DIR/ids1" "$DIR/ids2" && cmp -s "$DIR/ids2" "$DIR/ids3" || fail "final states differ"
}
