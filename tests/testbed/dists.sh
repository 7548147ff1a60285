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
# Usage: dists.sh [--print-env] [--offline] [--zk V] [--kafka [SCALA-]V] [--hadoop V]
#                 [--hbase V] [--zk-old V] [--only LIST]
#   --print-env  only print shell exports for the archive paths (no build)
#   --offline    pass -o to Maven (rebuild from the m2 cache only)
#   --zk/--kafka/--hadoop/--hbase/--zk-old V   another version line (default: the set
#                below; also STACKCTL_DIST_ZK, _KAFKA, _HADOOP, _HBASE, _ZK_OLD). Kafka takes
#                SCALA-VERSION (2.13-3.9.1) or VERSION (Scala: 2.13 from Kafka 2.8 on, else 2.12)
#   --only LIST  build only these of zk,kafka,hadoop,hbase,zk-old (comma-separated)
# Every version's layout differences are in its build function (ZooKeeper 3.4's
# zookeeper-X/ with the jar at the top, 3.8+'s logback; Kafka's reload4j from 3.2, log4j 2
# and no ZooKeeper jars from 4.0;
# Hadoop 2's module set; HBase 1.x's log4j 1 and flat lib/). After assembling, a
# tarball whose daemon classpath holds two versions of one artifact is refused.
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
# Kafka 4.x ships log4j 2 (KIP-653) outside its poms (the build's `releaseOnly` jars):
# log4j-api, log4j-core, the slf4j binding and log4j-1.2-api at the build's log4j2 version.
# 4.0.0's is 2.24.3; later 4.0.x were not checked against an official tarball.
KAFKA_LOG4J2_VERSION="${STACKCTL_DIST_KAFKA_LOG4J2:-2.24.3}"
# Layout recipe version: bump to force every tarball to be rebuilt.
RECIPE=6
# ---------------------------------------------------------------------------

# vge A B: version A >= B (numeric per dotted component; qualifiers after '-' ignored)
vge() {
  local a="${1%%-*}" b="${2%%-*}" i x y
  IFS=. read -ra A <<<"$a"; IFS=. read -ra B <<<"$b"
  for ((i = 0; i < 4; i++)); do
    x="${A[i]:-0}"; y="${B[i]:-0}"
    ((10#$x > 10#$y)) && return 0
    ((10#$x < 10#$y)) && return 1
  done
  return 0
}

# Another version line: arguments first, then STACKCTL_DIST_* variables, then the list above.
OFFLINE=()
PRINT_ENV=0
ONLY=""
kafka_arg="${STACKCTL_DIST_KAFKA:-}"
ZK_VERSION="${STACKCTL_DIST_ZK:-$ZK_VERSION}"
HADOOP_VERSION="${STACKCTL_DIST_HADOOP:-$HADOOP_VERSION}"
HBASE_VERSION="${STACKCTL_DIST_HBASE:-$HBASE_VERSION}"
ZK_OLD_VERSION="${STACKCTL_DIST_ZK_OLD:-$ZK_OLD_VERSION}"
while (($#)); do
  case "$1" in
    --print-env) PRINT_ENV=1 ;;
    --offline) OFFLINE=(-o) ;;
    --zk) ZK_VERSION="${2:?--zk needs a version}"; shift ;;
    --kafka) kafka_arg="${2:?--kafka needs a version}"; shift ;;
    --hadoop) HADOOP_VERSION="${2:?--hadoop needs a version}"; shift ;;
    --hbase) HBASE_VERSION="${2:?--hbase needs a version}"; shift ;;
    --zk-old) ZK_OLD_VERSION="${2:?--zk-old needs a version}"; shift ;;
    --only) ONLY="${2:?--only needs a list}"; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "dists.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n "$kafka_arg" ]]; then
  if [[ "$kafka_arg" == 2.1[0-9]-* ]]; then
    KAFKA_SCALA="${kafka_arg%%-*}"; KAFKA_VERSION="${kafka_arg#*-}"
  else
    KAFKA_VERSION="$kafka_arg"
    if vge "$KAFKA_VERSION" 2.8; then KAFKA_SCALA=2.13; else KAFKA_SCALA=2.12; fi
  fi
fi
for v in "$ZK_VERSION" "$KAFKA_SCALA" "$KAFKA_VERSION" "$HADOOP_VERSION" "$HBASE_VERSION" "$ZK_OLD_VERSION"; do
  [[ "$v" =~ ^[0-9]+(\.[0-9]+)+(-[A-Za-z0-9.]+)?$ ]] || { echo "dists.sh: not a version: '$v'" >&2; exit 2; }
done

CACHE="${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}"
M2="$CACHE/m2"
HBASE_DIR_VERSION="$HBASE_VERSION"

# zk_tgz V: the official tarball name: 3.4 and older `zookeeper-V.tar.gz`, 3.5+ `-bin`.
zk_tgz() { if vge "$1" 3.5; then echo "$CACHE/apache-zookeeper-$1-bin.tar.gz"; else echo "$CACHE/zookeeper-$1.tar.gz"; fi; }
ZK_TGZ="$(zk_tgz "$ZK_VERSION")"
KAFKA_TGZ="$CACHE/kafka_$KAFKA_SCALA-$KAFKA_VERSION.tgz"
HADOOP_TGZ="$CACHE/hadoop-$HADOOP_VERSION.tar.gz"
HBASE_TGZ="$CACHE/hbase-$HBASE_DIR_VERSION-bin.tar.gz"
ZK_OLD_TGZ="$(zk_tgz "$ZK_OLD_VERSION")"

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

((PRINT_ENV)) && { print_env; exit 0; }

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
      # an empty version (g:a:) is the imported dependency management's
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId>${v:+<version>$v</version>}"
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

# classpath_check DIR... : the jars of one daemon classpath (these dirs together) hold
# one version of each artifact; else name both jars and fail. The artifact is the
# name up to the first `-<digit>`; the version stops at its first `-` (classifiers
# such as -linux-x86_64 or -tests are one version). metrics-core is two artifacts of
# two groups (com.yammer.metrics 2.x, io.dropwizard.metrics 4.x: Kafka ships both).
classpath_check() {
  local bad
  bad="$(for dir in "$@"; do ls "$dir"; done | grep '\.jar$' | sort -u | awk '
    { n = $0; sub(/\.jar$/, "", n)
      if (!match(n, /-[0-9]/)) next
      a = substr(n, 1, RSTART - 1); v = substr(n, RSTART + 1); sub(/-.*/, "", v)
      if (!((a, v) in seen)) { seen[a, v] = 1; vs[a] = vs[a] " " $0; cnt[a]++ } }
    END { for (a in cnt) if (cnt[a] > 1 && !(a in other_group)) print a ":" vs[a] }
    BEGIN { other_group["metrics-core"] = 1 }')"
  if [[ -n "$bad" ]]; then
    echo "dists.sh: two versions of one artifact on one daemon classpath ($*):" >&2
    echo "$bad" | sed 's/^/  /' >&2
    return 1
  fi
}

# release_provided G A V: g:a:v[!exclusions] of the artifact's own "provided" (non-optional)
# dependencies, from its effective pom (its parent's dependency management applied): the
# jars the official tarball ships next to the runtime closure (ZooKeeper's AdminServer
# jetty, zkCli's jline, ...).
release_provided() {
  local g="$1" a="$2" v="$3" pom eff
  pom="$M2/${g//.//}/$a/$v/$a-$v.pom"
  eff="$(mktemp "$WORK/eff.XXXXXX")"
  mvn -B -q --no-transfer-progress "${OFFLINE[@]}" -Dmaven.repo.local="$M2" \
    org.apache.maven.plugins:maven-help-plugin:3.4.0:effective-pom -f "$pom" -Doutput="$eff" >"$eff.log" 2>&1 ||
    { cat "$eff.log" >&2; return 1; }
  python3 - "$eff" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
def t(e, k):
    x = e.find("m:" + k, ns)
    return x.text.strip() if x is not None and x.text else ""
root = ET.parse(sys.argv[1]).getroot()
for d in root.findall("m:dependencies/m:dependency", ns):
    if t(d, "scope") != "provided" or t(d, "optional") == "true":
        continue
    ex = [t(e, "groupId") + ":" + t(e, "artifactId") for e in d.findall("m:exclusions/m:exclusion", ns)]
    print(t(d, "groupId") + ":" + t(d, "artifactId") + ":" + t(d, "version") + ("!" + ",".join(ex) if ex else ""))
EOF
}

# --------------------------------------------------------------- zookeeper --
build_zookeeper() { assemble_zookeeper "$ZK_VERSION" "$ZK_TGZ"; }
build_zookeeper_old() { assemble_zookeeper "$ZK_OLD_VERSION" "$ZK_OLD_TGZ"; }

# assemble_zookeeper V TGZ: the official layout of line V.
#   3.4 (ant-built): zookeeper-V/ with zookeeper-V.jar at the top and its deps in lib/;
#       its pom has no parent to import (deps as the pom lists them).
#   3.5+: apache-zookeeper-V-bin/ with everything in lib/; versions from the release's
#       `parent` pom. The "provided" deps of the zookeeper pom are in the official lib/
#       too (commons-cli + jline for zkCli, jetty + jackson for the AdminServer, ...);
#       3.6+ adds the Prometheus metrics provider (not on Central for every release:
#       then left out; it is loaded only when zoo.cfg names it). Logging is the pom's own: log4j 1,
#       reload4j (3.6.4, 3.7.1+), logback (3.8+, with conf/logback.xml).
assemble_zookeeper() {
  local v="$1" out="$2" top d="$WORK/zk-$1"
  if ! vge "$v" 3.5; then
    top="zookeeper-$v"
    log "assembling $top (3.4 layout)"
    mkdir -p "$d/$top"/{bin,conf,lib}
    # log4j 1.2.15 (3.4.5's) names jms/jmx jars that were never on Central; the
    # official tarball does not ship them (nor its mail/activation, nor jline 0.9's junit)
    fetch_deps "$d/$top/lib" "org.apache.zookeeper:zookeeper:$v!javax.jms:jms,com.sun.jdmk:jmxtools,com.sun.jmx:jmxri,javax.mail:mail,javax.activation:activation,junit:junit"
    mv "$d/$top/lib/zookeeper-$v.jar" "$d/$top/"
    log4j1_props >"$d/$top/conf/log4j.properties"
    printf 'tickTime=2000\ndataDir=/tmp/zookeeper\nclientPort=2181\n' >"$d/$top/conf/zoo_sample.cfg"
    echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
    classpath_check "$d/$top" "$d/$top/lib"
    tarball "$d" "$top" "$out"
    return
  fi
  top="apache-zookeeper-$v-bin"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,conf,lib,docs}
  local Z=org.apache.zookeeper extra=() provided=() j
  # 3.6+'s lib/ has the Prometheus metrics provider, where the release published it
  if vge "$v" 3.6 && on_central "$Z" zookeeper-prometheus-metrics "$v" jar; then
    extra=("$Z:zookeeper-prometheus-metrics:$v")
  fi
  fetch_deps "$d/$top/lib" "^$Z:parent:$v" "$Z:zookeeper:$v" "${extra[@]}"
  mapfile -t provided < <(release_provided "$Z" zookeeper "$v")
  ((${#provided[@]})) || { echo "no provided deps found for zookeeper $v" >&2; return 1; }
  fetch_deps "$d/$top/lib.more" "^$Z:parent:$v" "${provided[@]}"
  for j in "$d/$top/lib.more"/*.jar; do
    [[ -f "$d/$top/lib/$(basename "$j")" ]] || mv "$j" "$d/$top/lib/"
  done
  rm -rf "$d/$top/lib.more"
  for j in "zookeeper-$v.jar" "zookeeper-jute-$v.jar"; do
    [[ -f "$d/$top/lib/$j" ]] || { echo "missing lib/$j" >&2; return 1; }
  done
  if ls "$d/$top/lib"/logback-classic-*.jar >/dev/null 2>&1; then
    cat >"$d/$top/conf/logback.xml" <<'EOF'
<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE" /></root>
</configuration>
EOF
  else
    log4j1_props >"$d/$top/conf/log4j.properties"
  fi
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
  classpath_check "$d/$top/lib"
  tarball "$d" "$top" "$out"
}

# ------------------------------------------------------------------- kafka --
# Kafka publishes no BOM: its module poms carry the versions. Logging: log4j 1 up to
# 3.1, reload4j from 3.2 (KAFKA-13660), with the slf4j binding of the slf4j-api the
# release resolves to; log4j 2 from 4.0 (KIP-653: config/log4j2.yaml and
# tools-log4j2.yaml, read through -Dlog4j2.configurationFile), and no ZooKeeper jars.
build_kafka() {
  local top="kafka_$KAFKA_SCALA-$KAFKA_VERSION" d="$WORK/kafka"
  if vge "$KAFKA_VERSION" 4; then build_kafka4; return; fi
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,config,libs}
  fetch_deps "$d/$top/libs" \
    "org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION"
  local slf4j
  slf4j="$(cd "$d/$top/libs" && ls slf4j-api-*.jar | sed 's/^slf4j-api-//; s/\.jar$//' | head -n1)"
  if [[ "$KAFKA_VERSION" == 2.4.0 ]]; then
    # the official 2.4.0 libs/ (slf4j-log4j12 1.7.28 next to slf4j-api 1.7.28)
    fetch_deps "$d/$top/libs.log" "org.slf4j:slf4j-log4j12:$KAFKA_SLF4J_VERSION" "log4j:log4j:$LOG4J1_VERSION"
  elif vge "$KAFKA_VERSION" 3.2; then
    # the binding alone; the reload4j is the release's own (its libs/ has it already)
    fetch_deps "$d/$top/libs.log" "org.slf4j:slf4j-reload4j:$slf4j!ch.qos.reload4j:reload4j"
    ls "$d/$top/libs"/reload4j-*.jar >/dev/null
  else
    fetch_deps "$d/$top/libs.log" "org.slf4j:slf4j-log4j12:$slf4j!log4j:log4j" "log4j:log4j:$LOG4J1_VERSION"
  fi
  local j
  for j in "$d/$top/libs.log"/*.jar; do
    [[ -f "$d/$top/libs/$(basename "$j")" ]] || mv "$j" "$d/$top/libs/"
  done
  rm -rf "$d/$top/libs.log"
  for j in "kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$d/$top/libs/$j" ]] || { echo "missing libs/$j" >&2; return 1; }
  done
  ls "$d/$top/libs"/zookeeper-[0-9]*.jar "$d/$top/libs"/zookeeper-jute-*.jar >/dev/null
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
  classpath_check "$d/$top/libs"
  tarball "$d" "$top" "$KAFKA_TGZ"
}

# build_kafka4: the 4.x layout. libs/: the runtime closure of kafka_<scala> and kafka-tools
# (which brings jackson-dataformat-yaml and snakeyaml, what log4j 2 reads YAML with) plus
# log4j 2 as the release tarball adds it: log4j-api, log4j-core, log4j-1.2-api and the
# binding of the resolved slf4j-api (log4j-slf4j-impl for slf4j 1.7, log4j-slf4j2-impl
# for 2.x). config/: KRaft server.properties, log4j2.yaml (server: stdout and
# server.log) and tools-log4j2.yaml (tools: stderr, WARN); no zookeeper.properties.
build_kafka4() {
  local top="kafka_$KAFKA_SCALA-$KAFKA_VERSION" d="$WORK/kafka" L=org.apache.logging.log4j
  local l4j="$KAFKA_LOG4J2_VERSION" slf4j binding j
  log "assembling $top (4.x layout, log4j $l4j)"
  mkdir -p "$d/$top"/{bin,config,libs}
  fetch_deps "$d/$top/libs" \
    "org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION" \
    "org.apache.kafka:kafka-tools:$KAFKA_VERSION"
  slf4j="$(cd "$d/$top/libs" && ls slf4j-api-*.jar | sed 's/^slf4j-api-//; s/\.jar$//' | head -n1)"
  if [[ "$slf4j" == 1.* ]]; then binding=log4j-slf4j-impl; else binding=log4j-slf4j2-impl; fi
  fetch_deps "$d/$top/libs.log" "$L:log4j-api:$l4j" "$L:log4j-core:$l4j" \
    "$L:$binding:$l4j!org.slf4j:slf4j-api" "$L:log4j-1.2-api:$l4j"
  for j in "$d/$top/libs.log"/*.jar; do
    [[ -f "$d/$top/libs/$(basename "$j")" ]] || mv "$j" "$d/$top/libs/"
  done
  rm -rf "$d/$top/libs.log"
  for j in "kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar" \
           "log4j-core-$l4j.jar" "$binding-$l4j.jar"; do
    [[ -f "$d/$top/libs/$j" ]] || { echo "missing libs/$j" >&2; return 1; }
  done
  ls "$d/$top/libs"/jackson-dataformat-yaml-*.jar "$d/$top/libs"/scala-library-*.jar >/dev/null
  if ls "$d/$top/libs"/zookeeper-*.jar >/dev/null 2>&1; then
    echo "dists.sh: a ZooKeeper jar in Kafka $KAFKA_VERSION's libs/" >&2; return 1
  fi
  cat >"$d/$top/config/log4j2.yaml" <<'LOG4J2'
# The broker's and controller's logging (log4j 2): stdout and ${kafka.logs.dir}/server.log,
# rolled hourly, "[time] LEVEL message (logger)".
Configuration:
  Properties:
    Property:
      - name: "kafka.logs.dir"
        value: "."
      - name: "logPattern"
        value: "[%d] %p %m (%c)%n"
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "${logPattern}"
    RollingFile:
      - name: KafkaAppender
        fileName: "${sys:kafka.logs.dir}/server.log"
        filePattern: "${sys:kafka.logs.dir}/server.log.%d{yyyy-MM-dd-HH}"
        PatternLayout:
          pattern: "${logPattern}"
        TimeBasedTriggeringPolicy:
          modulate: true
          interval: 1
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
        - ref: KafkaAppender
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: INFO
LOG4J2
  cat >"$d/$top/config/tools-log4j2.yaml" <<'LOG4J2'
# Command-line tools' logging (log4j 2): warnings and errors to stderr.
Configuration:
  Appenders:
    Console:
      name: STDERR
      target: SYSTEM_ERR
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDERR
LOG4J2
  cat >"$d/$top/config/server.properties" <<'PROPS'
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$d/$top/bin/kafka-run-class.sh" <<'SH'
#!/usr/bin/env bash
# Minimal stand-in for the official kafka-run-class.sh (assembled from Maven jars).
base_dir="$(cd "$(dirname "$0")/.." && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
LOG_DIR="${LOG_DIR:-$base_dir/logs}"; mkdir -p "$LOG_DIR"
KAFKA_LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/tools-log4j2.yaml}"
exec "$JAVA" ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_OPTS:-} -Dkafka.logs.dir="$LOG_DIR" $KAFKA_LOG4J_OPTS -cp "$base_dir/libs/*" "$@"
SH
  cat >"$d/$top/bin/kafka-server-start.sh" <<'SH'
#!/usr/bin/env bash
# Minimal stand-in: kafka-server-start.sh server.properties (foreground), logging by config/log4j2.yaml
base_dir="$(cd "$(dirname "$0")/.." && pwd)"
export KAFKA_LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/log4j2.yaml}"
exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
SH
  cat >"$d/$top/bin/kafka-storage.sh" <<'SH'
#!/usr/bin/env bash
# Minimal stand-in: kafka-storage.sh format|info|random-uuid ...
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
SH
  chmod +x "$d/$top/bin/"*.sh
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  classpath_check "$d/$top/libs"
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

# on_central G A V [EXT]: the artifact's pom (or .EXT) is in the m2 cache or on Maven
# Central (one HEAD).
on_central() {
  local g="$1" a="$2" v="$3" path
  path="${g//.//}/$a/$v/$a-$v.${4:-pom}"
  [[ -f "$M2/$path" ]] && return 0
  ((${#OFFLINE[@]})) && return 1
  curl -sfI --max-time 20 "https://repo1.maven.org/maven2/$path" >/dev/null
}

# The modules a Hadoop release has (hdfs-client from 2.8, the registry from 2.6, the
# timeline service v2 from 2.9...): only those of the list that the release published.
hadoop_modules() {
  local v="$1" a; shift
  for a in "$@"; do
    # jdk.tools (a system-scoped tools.jar of Hadoop up to 2.7's hadoop-annotations) is
    # the build JDK's, never in the tarball
    if on_central org.apache.hadoop "$a" "$v"; then echo "org.apache.hadoop:$a:$v!jdk.tools:jdk.tools"; fi
  done
}

build_hadoop() {
  local v="$HADOOP_VERSION" top="hadoop-$HADOOP_VERSION" d="$WORK/hadoop"
  local sh="$d/$top/share/hadoop"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,sbin,etc/hadoop,libexec} "$sh"
  local H=org.apache.hadoop
  local hdfs yarn mr
  mapfile -t hdfs < <(hadoop_modules "$v" hadoop-hdfs hadoop-hdfs-client)
  mapfile -t yarn < <(hadoop_modules "$v" hadoop-yarn-api hadoop-yarn-common hadoop-yarn-client \
    hadoop-yarn-server-common hadoop-yarn-server-resourcemanager hadoop-yarn-server-nodemanager \
    hadoop-yarn-server-web-proxy hadoop-yarn-server-applicationhistoryservice \
    hadoop-yarn-server-timelineservice hadoop-yarn-registry)
  mapfile -t mr < <(hadoop_modules "$v" hadoop-mapreduce-client-core hadoop-mapreduce-client-common \
    hadoop-mapreduce-client-jobclient hadoop-mapreduce-client-app hadoop-mapreduce-client-shuffle \
    hadoop-mapreduce-client-hs)
  fetch_deps "$sh/common.raw" "^$H:hadoop-project:$v" "$H:hadoop-common:$v!jdk.tools:jdk.tools"
  fetch_deps "$sh/hdfs.raw" "^$H:hadoop-project:$v" "${hdfs[@]}"
  fetch_deps "$sh/yarn.raw" "^$H:hadoop-project:$v" "${yarn[@]}"
  fetch_deps "$sh/mapreduce.raw" "^$H:hadoop-project:$v" "${mr[@]}"
  # official layout: hadoop-annotations/auth & the shaded thirdparty live in common/lib
  hadoop_group "$sh/common" "^hadoop-common-$v\\.jar\$"
  hadoop_group "$sh/hdfs" "^hadoop-hdfs(-client)?-$v\\.jar\$" "$sh/common"
  hadoop_group "$sh/yarn" "^hadoop-yarn-.*-$v\\.jar\$" "$sh/common" "$sh/hdfs"
  hadoop_group "$sh/mapreduce" "^hadoop-mapreduce-client-.*-$v\\.jar\$" "$sh/common" "$sh/hdfs" "$sh/yarn"
  for j in common/hadoop-common-$v.jar common/lib/hadoop-auth-$v.jar hdfs/hadoop-hdfs-$v.jar \
           yarn/hadoop-yarn-server-resourcemanager-$v.jar \
           yarn/hadoop-yarn-server-nodemanager-$v.jar mapreduce/hadoop-mapreduce-client-core-$v.jar; do
    [[ -f "$sh/$j" ]] || { echo "missing share/hadoop/$j" >&2; return 1; }
  done
  if vge "$v" 2.8; then [[ -f "$sh/hdfs/hadoop-hdfs-client-$v.jar" ]] || { echo "missing hadoop-hdfs-client" >&2; return 1; }; fi
  # The daemons' web UIs (webapps/hdfs, webapps/datanode, ...): the official tarball has
  # them under share/hadoop/hdfs/webapps. Hadoop 2's hadoop-hdfs jar carries them itself;
  # Hadoop 3's does not, but the same files ship in hadoop-hdfs's tests jar.
  local tj="$sh/hdfs/hadoop-hdfs-$v.jar"
  if ! unzip -l "$tj" 'webapps/hdfs/WEB-INF/web.xml' >/dev/null 2>&1 &&
     ! python3 -c 'import sys, zipfile; sys.exit(0 if "webapps/hdfs/WEB-INF/web.xml" in zipfile.ZipFile(sys.argv[1]).namelist() else 1)' "$tj"; then
    mvn -B -q --no-transfer-progress "${OFFLINE[@]}" -Dmaven.repo.local="$M2" \
      org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
      -Dartifact="$H:hadoop-hdfs:$v:jar:tests" -DoutputDirectory="$d/tests-jar" >"$d/copy.log" 2>&1 ||
      { cat "$d/copy.log" >&2; return 1; }
    tj="$d/tests-jar/hadoop-hdfs-$v-tests.jar"
  fi
  python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("webapps/")])' "$tj" "$sh/hdfs"
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
  classpath_check "$sh/common" "$sh/common/lib" "$sh/hdfs" "$sh/hdfs/lib" "$sh/yarn" "$sh/yarn/lib" \
    "$sh/mapreduce" "$sh/mapreduce/lib"
  tarball "$d" "$top" "$HADOOP_TGZ"
}

# ------------------------------------------------------------------- hbase --
# HBase 1.x: log4j 1 (from its Hadoop 2 jars) and one flat lib/; its module poms
# inherit the root pom's dependencyManagement (and its default hadoop-2 profile).
# HBase 2.x: flattened poms (each module's own versions); log4j 2 from 2.5, whose
# version is the one hbase-logging's pom names; lib/client-facing-thirdparty.
build_hbase() {
  local v="$HBASE_VERSION" top="hbase-$HBASE_DIR_VERSION" d="$WORK/hbase"
  log "assembling $top"
  mkdir -p "$d/$top"/{bin,conf,lib}
  local G=org.apache.hbase L=org.apache.logging.log4j j
  if ! vge "$v" 2; then
    local mods=("$G:hbase-server:$v" "$G:hbase-client:$v" "$G:hbase-common:$v" "$G:hbase-protocol:$v"
                "$G:hbase-hadoop-compat:$v" "$G:hbase-hadoop2-compat:$v")
    if vge "$v" 1.1; then mods+=("$G:hbase-procedure:$v"); fi
    mods=("${mods[@]/%/!jdk.tools:jdk.tools}") # its Hadoop 2.5-2.7 jars name the build JDK's tools.jar
    # log4j 1 and slf4j-log4j12 come with its Hadoop 2 jars, as in the official lib/
    fetch_deps "$d/$top/lib" "^$G:hbase:$v" "${mods[@]}"
    ls "$d/$top/lib"/log4j-1.*.jar "$d/$top/lib"/slf4j-log4j12-*.jar >/dev/null
    for j in "hbase-server-$v.jar" "hbase-common-$v.jar" "hbase-client-$v.jar" "hbase-protocol-$v.jar"; do
      [[ -f "$d/$top/lib/$j" ]] || { echo "missing lib/$j" >&2; return 1; }
    done
    cat >"$d/$top/conf/log4j.properties" <<'EOF'
hbase.root.logger=INFO,console
log4j.rootLogger=${hbase.root.logger}
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{2}: %m%n
log4j.logger.org.apache.zookeeper=WARN
log4j.logger.org.apache.hadoop=WARN
EOF
  else
    mkdir -p "$d/$top/lib/client-facing-thirdparty"
    local mods=("$G:hbase-server:$v" "$G:hbase-client:$v" "$G:hbase-common:$v" "$G:hbase-zookeeper:$v"
                "$G:hbase-procedure:$v" "$G:hbase-replication:$v" "$G:hbase-http:$v"
                "$G:hbase-hadoop-compat:$v" "$G:hbase-mapreduce:$v" "$G:hbase-asyncfs:$v")
    # hbase-hadoop2-compat was folded into hbase-hadoop-compat in 2.6 (HBASE-27327? published up to 2.5)
    if on_central "$G" hbase-hadoop2-compat "$v"; then mods+=("$G:hbase-hadoop2-compat:$v"); fi
    if on_central "$G" hbase-logging "$v"; then mods+=("$G:hbase-logging:$v"); fi
    # The release's own dependency management (the hbase root pom): the Hadoop, ZooKeeper and
    # netty versions the official hbase-<v>-bin tarball ships
    # (the root pom is not on Central for every -hadoop3 release, e.g. 2.6.4-hadoop3:
    # its flattened module poms carry the versions anyway)
    local root=()
    if on_central "$G" hbase "$v"; then root=("^$G:hbase:$v"); fi
    fetch_deps "$d/$top/lib" "${root[@]}" "${mods[@]}"
    if vge "$v" 2.5; then
      local l4j="$HBASE_LOG4J2_VERSION" lp="$M2/org/apache/hbase/hbase-logging/$v/hbase-logging-$v.pom"
      if [[ -f "$lp" ]]; then
        l4j="$(python3 -c 'import re, sys; t = open(sys.argv[1]).read(); m = re.search(r"<artifactId>log4j-api</artifactId>\s*<version>([^<]+)</version>", t); print(m.group(1) if m else "")' "$lp")"
        [[ -n "$l4j" ]] || l4j="$HBASE_LOG4J2_VERSION"
      fi
      fetch_deps "$d/$top/lib.log" "$L:log4j-api:$l4j" "$L:log4j-core:$l4j" \
        "$L:log4j-slf4j-impl:$l4j!org.slf4j:slf4j-api" "$L:log4j-1.2-api:$l4j"
      for j in "$d/$top/lib.log"/*.jar; do
        [[ -f "$d/$top/lib/$(basename "$j")" ]] || mv "$j" "$d/$top/lib/"
      done
      rm -rf "$d/$top/lib.log"
    fi
    # official layout keeps the logging impls in lib/client-facing-thirdparty
    for j in "$d/$top/lib"/log4j-*.jar "$d/$top/lib"/slf4j-api-*.jar "$d/$top/lib"/htrace-core4-*.jar \
             "$d/$top/lib"/audience-annotations-*.jar "$d/$top/lib"/commons-logging-*.jar; do
      [[ -f "$j" ]] && mv "$j" "$d/$top/lib/client-facing-thirdparty/"
    done
    # Hadoop 3.4's poms add netty's native epoll libraries as classified artifacts
    # (linux-x86_64, linux-aarch_64), which the resolution keeps at Hadoop's netty while the
    # main jar gets ZooKeeper's (4.1.77 next to 4.1.105 in 2.6.1-hadoop3): a classified jar
    # at another version than its main jar is dropped (netty then uses NIO, as without it)
    local c
    for j in "$d/$top/lib"/netty-*-linux-*.jar; do
      [[ -f "$j" ]] || continue
      c="${j##*.Final}"
      if [[ ! -f "${j%"$c"}.jar" ]]; then
        log "dropped $(basename "$j") (its main jar is at another netty version)"
        rm -f "$j"
      fi
    done
    # no log4j1 / slf4j-log4j12 binding next to log4j2 (Hadoop drags them in)
    rm -f "$d/$top/lib"/slf4j-log4j12-*.jar "$d/$top/lib"/slf4j-reload4j-*.jar "$d/$top/lib"/reload4j-*.jar "$d/$top/lib"/log4j-1.*.jar
    for j in "hbase-server-$v.jar" "hbase-common-$v.jar" "hbase-client-$v.jar" "hbase-zookeeper-$v.jar"; do
      [[ -f "$d/$top/lib/$j" ]] || { echo "missing lib/$j" >&2; return 1; }
    done
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
  fi
  ls "$d/$top/lib"/hadoop-common-*.jar "$d/$top/lib"/zookeeper-*.jar >/dev/null
  printf '<?xml version="1.0"?>\n<configuration>\n</configuration>\n' >"$d/$top/conf/hbase-site.xml"
  echo '# export JAVA_HOME=' >"$d/$top/conf/hbase-env.sh"
  : >"$d/$top/conf/regionservers"
  cat >"$d/$top/bin/hbase-classpath" <<'EOF'
#!/usr/bin/env bash
# Minimal helper (not an official script): print the daemon classpath.
H="$(cd "$(dirname "$0")/.." && pwd)"
echo "${HBASE_CONF_DIR:-$H/conf}:$H/lib/*:$H/lib/client-facing-thirdparty/*"
EOF
  chmod +x "$d/$top/bin/hbase-classpath"
  echo "Assembled from Maven Central jars by stackctl tests/testbed/dists.sh" >"$d/$top/README.txt"
  if [[ -d "$d/$top/lib/client-facing-thirdparty" ]]; then
    classpath_check "$d/$top/lib" "$d/$top/lib/client-facing-thirdparty"
  else
    classpath_check "$d/$top/lib"
  fi
  tarball "$d" "$top" "$HBASE_TGZ"
}

# -------------------------------------------------------------------- main --
t0=$(date +%s%N)
built=0
for spec in "zk ZK_TGZ build_zookeeper" "kafka KAFKA_TGZ build_kafka" "hadoop HADOOP_TGZ build_hadoop" \
            "hbase HBASE_TGZ build_hbase" "zk-old ZK_OLD_TGZ build_zookeeper_old"; do
  read -r what var fn <<<"$spec"
  [[ -z "$ONLY" || ",$ONLY," == *",$what,"* ]] || continue
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
