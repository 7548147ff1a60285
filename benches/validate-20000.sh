#!/usr/bin/env bash
# Times `stackctl plan` (the whole process, release build) on a generated inventory of HOSTS hosts
# that all carry the ZooKeeper and Kafka roles, and prints the median wall time of RUNS runs and
# the peak RSS (`/usr/bin/time -v`, "Maximum resident set size", the largest of the runs).
# Target: 20,000 hosts in seconds, memory proportional to the inventory.
#
# Usage: benches/validate-20000.sh [HOSTS] [RUNS] [LAYOUT]
#   LAYOUT zookeeper (default): every host has roles [zookeeper, kafka]. From 256 hosts on the
#          inventory is refused (a quorum of more than 255 servers, and more brokers than
#          broker.id's range 0..=1000), so this times validation: parsing, the generic checks, every
#          component's rules and the per-host port check, up to the error report.
#   LAYOUT brokers: 3 ZooKeeper hosts, kafka on every host. The inventory checks pass and
#          the lock resolver runs out of broker.ids at the 1001st broker: times validation, the id
#          assignment and one diagnostic per broker left without an id.
#   LAYOUT stack: every host has zookeeper, kafka, datanode, nodemanager and hbase-regionserver,
#          plus the masters on the first two: the port check of every component.
#   LAYOUT valid: the largest inventory that plans: 255 ZooKeeper servers, 1,000 brokers, and
#          datanode, nodemanager and hbase-regionserver on every host: times the whole plan with
#          its rendering (each zoo.cfg lists all 255 servers, each server.properties and
#          hbase-site.xml the whole ensemble; bounded by the quorum's 255, so linear in hosts).
# STACKCTL=path times that binary instead of building target/release/stackctl (to compare
# builds).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-20000}
runs=${2:-5}
layout=${3:-zookeeper}
if [ -z "${STACKCTL:-}" ]; then
  cargo build --release --quiet
  bin=target/release/stackctl
else
  bin=$STACKCTL
fi
if [ ! -x /usr/bin/time ]; then
  echo "needs /usr/bin/time for the peak RSS (apt-get install time)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$hosts" "$layout" > "$work/big.yml" <<'PY'
import sys
n, layout = int(sys.argv[1]), sys.argv[2]
if layout not in ("zookeeper", "brokers", "stack", "valid"):
    sys.exit(f"unknown layout {layout}: zookeeper, brokers, stack or valid")
print("cluster: big")
print('defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }')
print("components:")
print('  zookeeper: { version: "3.8.4" }')
print('  kafka: { version: "3.6.2", scala: "2.13", config: { num.partitions: 12 } }')
if layout in ("stack", "valid"):
    print('  hadoop: { version: "3.3.6", hdfs-site: { dfs.replication: 3 } }')
    print('  hbase: { version: "2.5.10", hadoop3: true }')
print("hosts:")
for i in range(n):
    if layout == "zookeeper":
        roles = ["zookeeper", "kafka"]
    elif layout == "brokers":
        roles = (["zookeeper"] if i < 3 else []) + ["kafka"]
    elif layout == "valid":
        roles = (["zookeeper"] if i < 255 else []) + (["kafka"] if i < 1000 else [])
        roles += ["datanode", "nodemanager", "hbase-regionserver"]
        if i == 0: roles += ["namenode", "hbase-master"]
        if i == 1: roles += ["resourcemanager", "secondarynamenode"]
    else:
        roles = ["zookeeper", "kafka", "datanode", "nodemanager", "hbase-regionserver"]
        if i == 0: roles += ["namenode", "hbase-master"]
        if i == 1: roles += ["resourcemanager", "secondarynamenode"]
    print(f"  - {{ name: host{i:05d}, address: 10.{i // 65536}.{(i // 256) % 256}.{i % 256}, roles: [{', '.join(roles)}] }}")
PY
times=()
peak=0
for _ in $(seq "$runs"); do
  rm -f "$work/big.yml.lock"
  start=$(date +%s%N)
  set +e
  /usr/bin/time -v -o "$work/time.txt" "$bin" plan -i "$work/big.yml" > "$work/out.txt" 2> "$work/err.txt"
  code=$?
  set -e
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
  [ "$rss" -gt "$peak" ] && peak=$rss
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
summary=$(tail -n 1 "$work/err.txt"); summary=${summary%% in /*}
echo "plan on $hosts hosts (layout $layout): exit $code, \"${summary:0:60}\", $(wc -c < "$work/err.txt") bytes of diagnostics"
echo "  median ${median} ms over $runs runs (min ${sorted[0]} ms, max ${sorted[$((runs - 1))]} ms); peak RSS $(( peak / 1024 )) MB"
