# Shared by the bed benches (sourced): medians and timings of whole stackctl runs.
# measure LABEL ARGS... needs $B (the stackctl binary), $inv (the inventory) and $RUNS.

median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.3f} (min {min(v):.3f}, max {max(v):.3f})")' "$@"; }
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; "$@" 2>&1 | tail -5 >&2; exit 1; }; t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"; }

# LABEL, then ssh options: prints the medians of RUNS runs of the no-op up, plan --live, verify.
measure() {
  local label=$1 r ups=() lives=() verifies=()
  shift
  for ((r = 1; r <= RUNS; r++)); do
    ups+=("$(timed "$B" up -i "$inv" "$@")")
    lives+=("$(timed "$B" plan --live -i "$inv" "$@")")
    verifies+=("$(timed "$B" verify -i "$inv" "$@")")
  done
  echo "$label: no-op up $(median "${ups[@]}") s; plan --live $(median "${lives[@]}") s; verify $(median "${verifies[@]}") s"
}
