#!/usr/bin/env bash
# Assemble real Apache distributions (ZooKeeper, Kafka, Hadoop, HBase) from the
# jars published on Maven Central, in the official tarball layouts.
#
# Output (cached outside the repo):  ${STACKCTL_E2E_CACHE:-~/.cache/stackctl-e2e}/
#   apache-zookeeper-<zk>-bin.tar.gz, kafka_<scala>-<kafka>.tgz,
#   hadoop-<hadoop>.tar.gz, hbase-<hbase>-bin.tar.gz, zookeeper-<zk_old>.tar.gz
#   each with a <file>.sha256 ; SHA256SUMS lists them all.
#   m2/ is the private Maven local repository (all downloads land there).
#
# A warm run verifies the checksums and exits in about a second without
# starting Maven. Delete a tarball (or its .sha256) to rebuild just that one.
#
# Usage: dists.sh [--print-env] [--offline]
#   --print-env  only print shell exports for the archive paths (no build)
#   --offline    pass -o to Maven (rebuild from the m2 cache only)
set -euo pipefail

# ---------------------------------------------------------------- versions --
# The ONE list of versions. Change here; file names follow.
ZK_VERSION=3.5.6
KAFKA_VERSION=2.4.0
KAFKA_SCALA=2.12
HADOOP_VERSION=3.3.6
HBASE_VERSION=2.5.10-hadoop3      # HBase 2.5.x built against Hadoop 3 (Maven Central "-hadoop3" artifacts)
ZK_OLD_VERSION=3.4.14             # older, mismatched layout for negative tests
# Logging stack shipped alongside (versions as in the official tarballs)
LOG4J1_VERSION=1.2.17
SLF4J_VERSION=1.7.25
KAFKA_SLF4J_VERSION=1.7.28
ZK_JETTY_VERSION=9.4.17.v20190418  # as in the official zookeeper-3.5.6 lib/
ZK_JACKSON_VERSION=2.9.10
HBASE_LOG4J2_VERSION=2.17.2
# Layout recipe version: bump to force every tarball to be rebuilt.
RECIPE=6
# ---------------------------------------------------------------------------

CACHE="${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}"
M2="$CACHE/m2"
HBASE_DIR_VERSION="$HBASE_VERSION"

ZK_TGZ="$CACHE/apache-zookeeper-$ZK_VERSION-bin.tar.gz"
KAFKA_TGZ="$CACHE/kafka_$KAFKA_SCALA-$KAFKA_VERSION.tgz"
HADOOP_TGZ="$CACHE/hadoop-$HADOOP_VERSION.tar.gz"
HBASE_TGZ="$CACHE/hbase-$HBASE_DIR_VERSION-bin.tar.gz"
ZK_OLD_TGZ="$CACHE/zookeeper-$ZK_OLD_VERSION.tar.gz"

print_env() {
  cat <<EOF
export STACKCTL_E2E_CACHE='$CACHE'
export STACKCTL_ZK_VERSION='$ZK_VERSION'
export STACKCTL_ZK_ARCHIVE='$ZK_TGZ'
export STACKCTL_KAFKA_VERSION='$KAFKA_VERSION'
export STACKCTL_KAFKA_SCALA='$KAFKA_SCALA'
export STACKCTL_KAFKA_ARCHIVE='$KAFKA_TGZ'
export STACKCTL_HADOOP_VERSION='$HADOOP_VERSION'
export STACKCTL_HADOOP_ARCHIVE='$HADOOP_TGZ'
export STACKCTL_HBASE_VERSION='$HBASE_DIR_VERSION'
export STACKCTL_HBASE_ARCHIVE='$HBASE_TGZ'
export STACKCTL_ZK_OLD_VERSION='$ZK_OLD_VERSION'
export STACKCTL_ZK_OLD_ARCHIVE='$ZK_OLD_TGZ'
EOF
}

OFFLINE=()
for a in "$@"; do
  case "$a" in
    --print-env) print_env; exit 0 ;;
    --offline) OFFLINE=(-o) ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "dists.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

mkdir -p "$CACHE" "$M2"
WORK="$(mktemp -d "$CACHE/.work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

log() { printf '[dists %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# fresh <tgz>: true when the tarball exists and matches its recorded checksum
# and recipe.
fresh() {
  local f="$1"
  [[ -f "$f" && -f "$f.sha256" ]] || return 1
  grep -q "recipe=$RECIPE\$" "$f.sha256" 2>/dev/null || return 1
  (cd "$(dirname "$f")" && head -n1 "$f.sha256" | sha256sum -c --status -)
}

seal() {
  local f="$1"
  (cd "$(dirname "$f")" && sha256sum "$(basename "$f")" >"$f.sha256.tmp" && echo "# recipe=$RECIPE" >>"$f.sha256.tmp" && mv "$f.sha256.tmp" "$f.sha256")
  log "built $(basename "$f") ($(du -h "$f" | cut -f1))"
}

# fetch_deps <outdir> <gav>... : copy the given artifacts and their runtime
# dependency closure into <outdir> (flat, file names artifactId-version.jar).
# A gav may carry exclusions after a '!' : g:a:v!eg:ea,eg2:ea2
fetch_deps() {
  local out="$1"; shift
  local pd; pd="$(mktemp -d "$WORK/pom.XXXXXX")"
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>stackctl.e2e</groupId><artifactId>assemble</artifactId><version>1</version><packaging>pom</packaging>'
    # specs starting with '=' only pin a version (dependencyManagement); specs starting
    # with '^' import a release's own dependency management (its BOM / parent pom), so
    # versions resolve the way the release's build resolves them. Pins come first: they win.
    echo '<dependencyManagement><dependencies>'
    local spec gav g a v
    for spec in "$@"; do
      [[ "$spec" == =* ]] || continue
      IFS=: read -r g a v <<<"${spec#=}"
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
    done
    for spec in "$@"; do
      [[ "$spec" == ^* ]] || continue
      IFS=: read -r g a v <<<"${spec#^}"
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version><type>pom</type><scope>import</scope></dependency>"
    done
    echo '</dependencies></dependencyManagement>'
    echo '<dependencies>'
    local excl
    for spec in "$@"; do
      [[ "$spec" == =* || "$spec" == ^* ]] && continue
      gav="${spec%%!*}"; excl=""
      [[ "$spec" == *'!'* ]] && excl="${spec#*!}"
      IFS=: read -r g a v <<<"$gav"
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version>"
      if [[ -n "$excl" ]]; then
        echo '<exclusions>'
        local e eg ea
        IFS=, read -ra es <<<"$excl"
        for e in "${es[@]}"; do
          IFS=: read -r eg ea <<<"$e"
          echo "<exclusion><groupId>$eg</groupId><artifactId>$ea</artifactId></exclusion>"
        done
        echo '</exclusions>'
      fi
      echo '</dependency>'
    done
    echo '</dependencies></project>'
  } >"$pd/pom.xml"
  mkdir -p "$out"
  # -B batch mode; --no-transfer-progress keeps the log small.
  if ! mvn -B -q --no-transfer-progress "${OFFLINE[@]}" -f "$pd/pom.xml" \
      -Dmaven.repo.local="$M2" \
      org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$out" >"$pd/mvn.log" 2>&1; then
    cat "$pd/mvn.log" >&2
    echo "dists.sh: maven failed for: $*" >&2
    return 1
  fi
}

# tarball <dir-containing-top> <top> <out.tgz>
tarball() {
  local parent="$1" top="$2" out="$3"
  # deterministic-ish: sorted names, fixed owner, fixed mtime
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00:00' \
      -C "$parent" -czf "$out.tmp" "$top"
  mv "$out.tmp" "$out"
  seal "$out"
}

log4j1_props() {
  cat <<'EOF'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

# --------------------------------------------------------------- zookeeper --
build_zookeeper() {
  local top="apache-zookeeper-$ZK_VERSION-bin" d="$WORK/zk"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,conf,lib,docs}
  # the "provided" deps of the zookeeper pom are in the official lib/ too:
  # commons-cli + jline (zkCli), jetty + jackson (AdminServer), json-simple
  fetch_deps "$d/$top/lib" \
    "^org.apache.zookeeper:parent:$ZK_VERSION" \
    "org.apache.zookeeper:zookeeper:$ZK_VERSION" \
    "org.slf4j:slf4j-log4j12:$SLF4J_VERSION" \
    "log4j:log4j:$LOG4J1_VERSION" \
    "commons-cli:commons-cli:1.2" "jline:jline:2.11" \
    "org.eclipse.jetty:jetty-server:$ZK_JETTY_VERSION" "org.eclipse.jetty:jetty-servlet:$ZK_JETTY_VERSION" \
    "com.fasterxml.jackson.core:jackson-databind:$ZK_JACKSON_VERSION" \
    "com.googlecode.json-simple:json-simple:1.1.1!junit:junit"
  for j in "zookeeper-$ZK_VERSION.jar" "zookeeper-jute-$ZK_VERSION.jar"; do
    [[ -f "$d/$top/lib/$j" ]] || { echo "missing lib/$j" >&2; return 1; }
  done
  log4j1_props >"$d/$top/conf/log4j.properties"
  cat >"$d/$top/conf/zoo_sample.cfg" <<'EOF'
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/zookeeper
clientPort=2181
EOF
  cat >"$d/$top/bin/zkServer.sh" <<'EOF'
#!/usr/bin/env bash
# Minimal stand-in for the official zkServer.sh (assembled from Maven jars).
# Usage: zkServer.sh {start|start-foreground|stop|status} [zoo.cfg]
set -eu
ZOOBIN="$(cd "$(dirname "$0")" && pwd)"; ZOOHOME="$(dirname "$ZOOBIN")"
CFG="${2:-$ZOOHOME/conf/zoo.cfg}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
CP="$ZOOHOME/conf:$ZOOHOME/lib/*"
LOGDIR="${ZOO_LOG_DIR:-$ZOOHOME/logs}"; mkdir -p "$LOGDIR"
PIDFILE="${ZOOPIDFILE:-$(sed -n 's/^dataDir=//p' "$CFG" | tail -n1)/zookeeper_server.pid}"
MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
case "${1:-}" in
  start-foreground) exec "$JAVA" ${SERVER_JVMFLAGS:-} -cp "$CP" "$MAIN" "$CFG" ;;
  start) nohup "$JAVA" ${SERVER_JVMFLAGS:-} -cp "$CP" "$MAIN" "$CFG" >"$LOGDIR/zookeeper.out" 2>&1 </dev/null &
         echo $! >"$PIDFILE"; echo "STARTED pid $!" ;;
  stop) [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" && rm -f "$PIDFILE"; echo STOPPED ;;
  status) [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && echo "running pid $(cat "$PIDFILE")" || { echo "not running"; exit 1; } ;;
  *) echo "usage: $0 {start|start-foreground|stop|status} [cfg]" >&2; exit 2 ;;
esac
EOF
  chmod +x "$d/$top/bin/zkServer.sh"
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  tarball "$d" "$top" "$ZK_TGZ"
}

build_zookeeper_old() {
  local top="zookeeper-$ZK_OLD_VERSION" d="$WORK/zkold"
  log "assembling $top (old 3.4 layout)"
  mkdir -p "$d/$top"/{bin,conf,lib}
  fetch_deps "$d/$top/lib" "org.apache.zookeeper:zookeeper:$ZK_OLD_VERSION"
  mv "$d/$top/lib/zookeeper-$ZK_OLD_VERSION.jar" "$d/$top/"
  log4j1_props >"$d/$top/conf/log4j.properties"
  printf 'tickTime=2000\ndataDir=/tmp/zookeeper\nclientPort=2181\n' >"$d/$top/conf/zoo_sample.cfg"
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  tarball "$d" "$top" "$ZK_OLD_TGZ"
}

# ------------------------------------------------------------------- kafka --
build_kafka() {
  local top="kafka_$KAFKA_SCALA-$KAFKA_VERSION" d="$WORK/kafka"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,config,libs}
  fetch_deps "$d/$top/libs" \
    "org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION" \
    "org.slf4j:slf4j-log4j12:$KAFKA_SLF4J_VERSION" \
    "log4j:log4j:$LOG4J1_VERSION"
  for j in "kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar" \
           "zookeeper-$ZK_VERSION.jar" "zookeeper-jute-$ZK_VERSION.jar"; do
    [[ -f "$d/$top/libs/$j" ]] || { echo "missing libs/$j" >&2; return 1; }
  done
  ls "$d/$top/libs"/scala-library-*.jar >/dev/null
  cat >"$d/$top/config/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout, kafkaAppender
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.kafkaAppender=org.apache.log4j.DailyRollingFileAppender
log4j.appender.kafkaAppender.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.kafkaAppender.File=${kafka.logs.dir}/server.log
log4j.appender.kafkaAppender.layout=org.apache.log4j.PatternLayout
log4j.appender.kafkaAppender.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
  cat >"$d/$top/config/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
  cat >"$d/$top/config/server.properties" <<'EOF'
broker.id=0
listeners=PLAINTEXT://:9092
log.dirs=/tmp/kafka-logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
zookeeper.connect=localhost:2181
zookeeper.connection.timeout.ms=6000
group.initial.rebalance.delay.ms=0
EOF
  printf 'dataDir=/tmp/zookeeper\nclientPort=2181\nmaxClientCnxns=0\nadmin.enableServer=false\n' >"$d/$top/config/zookeeper.properties"
  cat >"$d/$top/bin/kafka-run-class.sh" <<'EOF'
#!/usr/bin/env bash
# Minimal stand-in for the official kafka-run-class.sh (assembled from Maven jars).
base_dir="$(cd "$(dirname "$0")/.." && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
LOG_DIR="${LOG_DIR:-$base_dir/logs}"; mkdir -p "$LOG_DIR"
KAFKA_LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$base_dir/config/log4j.properties}"
exec "$JAVA" ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_OPTS:-} -Dkafka.logs.dir="$LOG_DIR" $KAFKA_LOG4J_OPTS -cp "$base_dir/libs/*" "$@"
EOF
  cat >"$d/$top/bin/kafka-server-start.sh" <<'EOF'
#!/usr/bin/env bash
# Minimal stand-in: kafka-server-start.sh server.properties (foreground)
exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
EOF
  chmod +x "$d/$top/bin/"*.sh
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  tarball "$d" "$top" "$KAFKA_TGZ"
}

# ------------------------------------------------------------------ hadoop --
# Moves the group's own artifacts (names matching $2 regex) into $1/, the rest
# into $1/lib/, and drops jars already present in earlier groups ($3...).
hadoop_group() {
  local dir="$1" own_re="$2"; shift 2
  local raw="$dir.raw" j b seen
  mkdir -p "$dir/lib"
  for j in "$raw"/*.jar; do
    b="$(basename "$j")"
    seen=0
    for prev in "$@"; do
      [[ -f "$prev/$b" || -f "$prev/lib/$b" ]] && { seen=1; break; }
    done
    [[ $seen == 1 ]] && continue
    if [[ "$b" =~ $own_re ]]; then mv "$j" "$dir/"; else mv "$j" "$dir/lib/"; fi
  done
  rm -rf "$raw"
}

build_hadoop() {
  local v="$HADOOP_VERSION" top="hadoop-$HADOOP_VERSION" d="$WORK/hadoop"
  local sh="$d/$top/share/hadoop"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,sbin,etc/hadoop,libexec} "$sh"
  local H=org.apache.hadoop
  fetch_deps "$sh/common.raw" "^$H:hadoop-project:$v" "$H:hadoop-common:$v"
  fetch_deps "$sh/hdfs.raw" "^$H:hadoop-project:$v" "$H:hadoop-hdfs:$v" "$H:hadoop-hdfs-client:$v"
  fetch_deps "$sh/yarn.raw" "^$H:hadoop-project:$v" \
    "$H:hadoop-yarn-api:$v" "$H:hadoop-yarn-common:$v" "$H:hadoop-yarn-client:$v" \
    "$H:hadoop-yarn-server-common:$v" "$H:hadoop-yarn-server-resourcemanager:$v" \
    "$H:hadoop-yarn-server-nodemanager:$v" "$H:hadoop-yarn-server-web-proxy:$v" \
    "$H:hadoop-yarn-server-applicationhistoryservice:$v" "$H:hadoop-yarn-server-timelineservice:$v" \
    "$H:hadoop-yarn-registry:$v"
  fetch_deps "$sh/mapreduce.raw" "^$H:hadoop-project:$v" \
    "$H:hadoop-mapreduce-client-core:$v" "$H:hadoop-mapreduce-client-common:$v" \
    "$H:hadoop-mapreduce-client-jobclient:$v" "$H:hadoop-mapreduce-client-app:$v" \
    "$H:hadoop-mapreduce-client-shuffle:$v" "$H:hadoop-mapreduce-client-hs:$v"
  # official layout: hadoop-annotations/auth & the shaded thirdparty live in common/lib
  hadoop_group "$sh/common" "^hadoop-common-$v\\.jar\$"
  hadoop_group "$sh/hdfs" "^hadoop-hdfs(-client)?-$v\\.jar\$" "$sh/common"
  hadoop_group "$sh/yarn" "^hadoop-yarn-.*-$v\\.jar\$" "$sh/common" "$sh/hdfs"
  hadoop_group "$sh/mapreduce" "^hadoop-mapreduce-client-.*-$v\\.jar\$" "$sh/common" "$sh/hdfs" "$sh/yarn"
  for j in common/hadoop-common-$v.jar common/lib/hadoop-auth-$v.jar hdfs/hadoop-hdfs-$v.jar \
           hdfs/hadoop-hdfs-client-$v.jar yarn/hadoop-yarn-server-resourcemanager-$v.jar \
           yarn/hadoop-yarn-server-nodemanager-$v.jar mapreduce/hadoop-mapreduce-client-core-$v.jar; do
    [[ -f "$sh/$j" ]] || { echo "missing share/hadoop/$j" >&2; return 1; }
  done
  # The daemons' web UIs (webapps/hdfs, webapps/datanode, ...) are not in the
  # hadoop-hdfs jar on Maven Central; the official tarball has them under
  # share/hadoop/hdfs/webapps, and the same files ship in hadoop-hdfs's tests jar.
  mvn -B -q --no-transfer-progress "${OFFLINE[@]}" -Dmaven.repo.local="$M2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    -Dartifact="$H:hadoop-hdfs:$v:jar:tests" -DoutputDirectory="$d/tests-jar" >"$d/copy.log" 2>&1 ||
    { cat "$d/copy.log" >&2; return 1; }
  local tj="$d/tests-jar/hadoop-hdfs-$v-tests.jar"
  if command -v jar >/dev/null; then
    (cd "$sh/hdfs" && jar xf "$tj" webapps)
  else
    python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("webapps/")])' "$tj" "$sh/hdfs"
  fi
  [[ -f "$sh/hdfs/webapps/hdfs/WEB-INF/web.xml" && -f "$sh/hdfs/webapps/datanode/WEB-INF/web.xml" ]] ||
    { echo "missing share/hadoop/hdfs/webapps" >&2; return 1; }
  # minimal etc/hadoop (stackctl writes the real site files)
  local e="$d/$top/etc/hadoop"
  # the ResourceManager refuses to start without a CapacityScheduler queue
  # config: this is the default file of the official tarball, trimmed
  cat >"$e/capacity-scheduler.xml" <<'EOF2'
<?xml version="1.0"?>
<configuration>
  <property><name>yarn.scheduler.capacity.maximum-applications</name><value>10000</value></property>
  <property><name>yarn.scheduler.capacity.maximum-am-resource-percent</name><value>0.1</value></property>
  <property><name>yarn.scheduler.capacity.resource-calculator</name><value>org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator</value></property>
  <property><name>yarn.scheduler.capacity.root.queues</name><value>default</value></property>
  <property><name>yarn.scheduler.capacity.root.default.capacity</name><value>100</value></property>
  <property><name>yarn.scheduler.capacity.root.default.user-limit-factor</name><value>1</value></property>
  <property><name>yarn.scheduler.capacity.root.default.maximum-capacity</name><value>100</value></property>
  <property><name>yarn.scheduler.capacity.root.default.state</name><value>RUNNING</value></property>
  <property><name>yarn.scheduler.capacity.root.default.acl_submit_applications</name><value>*</value></property>
  <property><name>yarn.scheduler.capacity.root.default.acl_administer_queue</name><value>*</value></property>
  <property><name>yarn.scheduler.capacity.node-locality-delay</name><value>40</value></property>
</configuration>
EOF2
  for f in core-site hdfs-site yarn-site mapred-site; do
    printf '<?xml version="1.0"?>\n<configuration>\n</configuration>\n' >"$e/$f.xml"
  done
  cat >"$e/log4j.properties" <<'EOF'
hadoop.root.logger=INFO,console
hadoop.log.dir=.
hadoop.log.file=hadoop.log
log4j.rootLogger=${hadoop.root.logger}
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.appender.RFA=org.apache.log4j.RollingFileAppender
log4j.appender.RFA.File=${hadoop.log.dir}/${hadoop.log.file}
log4j.appender.RFA.MaxFileSize=64MB
log4j.appender.RFA.MaxBackupIndex=2
log4j.appender.RFA.layout=org.apache.log4j.PatternLayout
log4j.appender.RFA.layout.ConversionPattern=%d{ISO8601} %p %c: %m%n
EOF
  echo '# export JAVA_HOME=' >"$e/hadoop-env.sh"
  echo 'localhost' >"$e/workers"
  cat >"$d/$top/bin/hadoop-classpath" <<'EOF'
#!/usr/bin/env bash
# Minimal helper (not an official script): print the daemon classpath.
H="$(cd "$(dirname "$0")/.." && pwd)"; S="$H/share/hadoop"
echo "${HADOOP_CONF_DIR:-$H/etc/hadoop}:$S/common/lib/*:$S/common/*:$S/hdfs:$S/hdfs/lib/*:$S/hdfs/*:$S/yarn/lib/*:$S/yarn/*:$S/mapreduce/lib/*:$S/mapreduce/*"
EOF
  chmod +x "$d/$top/bin/hadoop-classpath"
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  tarball "$d" "$top" "$HADOOP_TGZ"
}

# ------------------------------------------------------------------- hbase --
build_hbase() {
  local v="$HBASE_VERSION" top="hbase-$HBASE_DIR_VERSION" d="$WORK/hbase"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,conf,lib/client-facing-thirdparty}
  local G=org.apache.hbase L=org.apache.logging.log4j H=org.apache.hadoop a
  # The release's own dependency management (the hbase root pom): the Hadoop, ZooKeeper and
  # netty versions the official hbase-<v>-bin tarball ships.
  local pins=("^$G:hbase:$v")
  fetch_deps "$d/$top/lib" \
    "$G:hbase-server:$v" "$G:hbase-client:$v" "$G:hbase-common:$v" "$G:hbase-zookeeper:$v" \
    "$G:hbase-procedure:$v" "$G:hbase-replication:$v" "$G:hbase-http:$v" \
    "$G:hbase-hadoop-compat:$v" "$G:hbase-hadoop2-compat:$v" "$G:hbase-mapreduce:$v" \
    "$G:hbase-asyncfs:$v" "$G:hbase-logging:$v" \
    "$L:log4j-api:$HBASE_LOG4J2_VERSION" "$L:log4j-core:$HBASE_LOG4J2_VERSION" \
    "$L:log4j-slf4j-impl:$HBASE_LOG4J2_VERSION" "$L:log4j-1.2-api:$HBASE_LOG4J2_VERSION" \
    "${pins[@]}"
  # official layout keeps the logging impls in lib/client-facing-thirdparty
  local j
  for j in "$d/$top/lib"/log4j-*.jar "$d/$top/lib"/slf4j-api-*.jar "$d/$top/lib"/htrace-core4-*.jar \
           "$d/$top/lib"/audience-annotations-*.jar "$d/$top/lib"/commons-logging-*.jar; do
    [[ -f "$j" ]] && mv "$j" "$d/$top/lib/client-facing-thirdparty/"
  done
  # no log4j1 / slf4j-log4j12 binding next to log4j2 (Hadoop drags them in)
  rm -f "$d/$top/lib"/slf4j-log4j12-*.jar "$d/$top/lib"/slf4j-reload4j-*.jar "$d/$top/lib"/reload4j-*.jar "$d/$top/lib"/log4j-1.*.jar
  for j in "hbase-server-$v.jar" "hbase-common-$v.jar" "hbase-client-$v.jar" "hbase-zookeeper-$v.jar"; do
    [[ -f "$d/$top/lib/$j" ]] || { echo "missing lib/$j" >&2; return 1; }
  done
  ls "$d/$top/lib"/hadoop-common-*.jar "$d/$top/lib"/zookeeper-*.jar >/dev/null
  printf '<?xml version="1.0"?>\n<configuration>\n</configuration>\n' >"$d/$top/conf/hbase-site.xml"
  echo '# export JAVA_HOME=' >"$d/$top/conf/hbase-env.sh"
  : >"$d/$top/conf/regionservers"
  cat >"$d/$top/conf/log4j2.properties" <<'EOF'
status = warn
dest = err
name = PropertiesConfig
appender.console.type = Console
appender.console.target = SYSTEM_ERR
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %.1000m%n
rootLogger = INFO,console
logger.zookeeper.name = org.apache.zookeeper
logger.zookeeper.level = WARN
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = WARN
EOF
  cat >"$d/$top/bin/hbase-classpath" <<'EOF'
#!/usr/bin/env bash
# Minimal helper (not an official script): print the daemon classpath.
H="$(cd "$(dirname "$0")/.." && pwd)"
echo "${HBASE_CONF_DIR:-$H/conf}:$H/lib/*:$H/lib/client-facing-thirdparty/*"
EOF
  chmod +x "$d/$top/bin/hbase-classpath"
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  tarball "$d" "$top" "$HBASE_TGZ"
}

# -------------------------------------------------------------------- main --
t0=$(date +%s%N)
built=0
for spec in "ZK_TGZ build_zookeeper" "KAFKA_TGZ build_kafka" "HADOOP_TGZ build_hadoop" \
            "HBASE_TGZ build_hbase" "ZK_OLD_TGZ build_zookeeper_old"; do
  read -r var fn <<<"$spec"
  f="${!var}"
  if fresh "$f"; then
    log "cached  $(basename "$f") (sha256 ok)"
  else
    rm -f "$f" "$f.sha256"
    "$fn"
    built=$((built + 1))
  fi
done
(cd "$CACHE" && cat ./*.sha256 | grep -v '^#' >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
t1=$(date +%s%N)
log "done: $built built, total $(( (t1 - t0) / 1000000 )) ms; cache $CACHE"
