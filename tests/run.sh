#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls this):
#   1. offline tests: unit, snapshot, CLI, error corpus (cargo test), and the rules-file checker
#   2. the static binary: tests/static.sh (release build with +crt-static, run in an empty root)
#   3. end-to-end: the test bed (network namespaces with real sshd, real Apache distributions
#      assembled from Maven Central, real JVMs) via tests/testbed/run-e2e.sh. Needs root.
# STACKCTL_SKIP_E2E=1 runs only parts 1 and 2 (for a machine without root).
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

echo "=== offline tests" >&2
cargo test --locked --all-targets 2>&1

echo "=== fuzz run (bounded; counts)" >&2
cargo test --locked --test fuzz -- --nocapture 2>&1 | grep -E '^fuzz:|^test result'

echo "=== rules file check" >&2
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
python3 src/compat/check_rules.py > /tmp/stackctl-check-rules.log || { cat /tmp/stackctl-check-rules.log; exit 1; }
tail -n 3 /tmp/stackctl-check-rules.log

echo "=== one static binary (glibc linked in; run in an empty root)" >&2
bash tests/static.sh 2>&1

if [[ "${STACKCTL_SKIP_E2E:-0}" == 1 ]]; then
  echo "=== end-to-end tests skipped (STACKCTL_SKIP_E2E=1)" >&2
  exit 0
fi
echo "=== end-to-end tests on the test bed" >&2
bash tests/testbed/run-e2e.sh
