#!/usr/bin/env bash
# Times `stackctl plan` (the whole process) on a generated 1,000-host inventory and prints the
# median of RUNS runs. Target: under 200 ms. Usage: benches/plan-1000.sh [HOSTS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-1000}
runs=${2:-15}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$hosts" > "$work/big.yml" <<'PY'
import sys
n = int(sys.argv[1])
print("cluster: big")
print('defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }')
print("components:")
print('  zookeeper: { version: "3.8.4" }')
print('  kafka: { version: "3.6.2", scala: "2.13", config: { num.partitions: 12 } }')
print('  hadoop: { version: "3.3.6", hdfs-site: { dfs.replication: 3 } }')
print('  hbase: { version: "2.5.10", hadoop3: true }')
print("hosts:")
for i in range(n):
    roles = ["datanode", "nodemanager", "hbase-regionserver"]
    if i < 5: roles.append("zookeeper")
    if i % 10 == 0: roles.append("kafka")
    if i == 0: roles += ["namenode", "hbase-master"]
    if i == 1: roles += ["resourcemanager", "secondarynamenode", "hbase-master"]
    print(f"  - {{ name: host{i:04d}, address: 10.{i // 65536}.{(i // 256) % 256}.{i % 256 + 0}, roles: [{', '.join(roles)}] }}")
PY
bin=target/release/stackctl
"$bin" plan -i "$work/big.yml" > /dev/null   # first run writes the lock file
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" plan -i "$work/big.yml" > /dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
files=$("$bin" plan -i "$work/big.yml" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(h["files"]) for h in d["hosts"]))')
echo "plan on $hosts hosts ($files files): median ${median} ms over $runs runs (min ${sorted[0]} ms, max ${sorted[$((runs - 1))]} ms); target < 200 ms"
