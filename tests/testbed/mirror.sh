#!/usr/bin/env bash
# Lays out the distributions assembled by tests/testbed/dists.sh (in ~/.cache/stackctl-e2e, see
# `dists.sh --print-env`) as an Apache-archive tree under DIR, each with its .sha512, so that
# `stackctl fetch` / `up` can use them as a mirror:
#
#   tests/testbed/mirror.sh /var/tmp/apache-mirror
#   STACKCTL_MIRROR=file:///var/tmp/apache-mirror stackctl fetch -i inventories/seed-3node.yml
#
# (or serve DIR over HTTP and point STACKCTL_MIRROR, or `mirror:` in the inventory, at it).
#
# Usage: mirror.sh DIR [--copy]
#   --copy   copy the archives instead of hard-linking them (DIR on another file system is
#            detected and copied anyway)
# Layout (the relative paths stackctl asks for, the same as archive.apache.org/dist/):
#   zookeeper/zookeeper-X/apache-zookeeper-X-bin.tar.gz   (3.5.5+; older: zookeeper-X.tar.gz)
#   kafka/X/kafka_S-X.tgz
#   hadoop/common/hadoop-X/hadoop-X.tar.gz
#   hbase/X/hbase-X-bin.tar.gz, hbase/X/hbase-X-hadoop3-bin.tar.gz
# Checksums are written in each project's own format (ZooKeeper: `sha512sum`; Hadoop:
# `sha512sum --tag`; Kafka and HBase: `gpg --print-md SHA512` when gpg is installed, else
# `sha512sum`), so the mirror exercises the parsers too. There is no KEYS or .asc: these are
# rebuilt distributions, not signed releases, and `fetch` says "signature: not checked".
set -euo pipefail

dir="${1:-}"
[[ -n "$dir" && "$dir" != -* ]] || { sed -n '2,24p' "$0"; exit 2; }
copy=0
[[ "${2:-}" == "--copy" ]] && copy=1

here="$(cd "$(dirname "$0")" && pwd)"
eval "$("$here/dists.sh" --print-env)"
src="${STACKCTL_E2E_CACHE:?dists.sh printed no STACKCTL_E2E_CACHE}"
[[ -d "$src" ]] || { echo "mirror.sh: $src does not exist: run tests/testbed/dists.sh first" >&2; exit 1; }
mkdir -p "$dir"

# rel_of NAME: the archive's path below the mirror base, or nothing for a file that is not one.
rel_of() {
  local n="$1" v
  case "$n" in
    apache-zookeeper-*-bin.tar.gz) v="${n#apache-zookeeper-}"; v="${v%-bin.tar.gz}"; echo "zookeeper/zookeeper-$v/$n" ;;
    zookeeper-*.tar.gz)            v="${n#zookeeper-}"; v="${v%.tar.gz}"; echo "zookeeper/zookeeper-$v/$n" ;;
    kafka_*-*.tgz)                 v="${n#kafka_*-}"; v="${v%.tgz}"; echo "kafka/$v/$n" ;;
    hadoop-*.tar.gz)               v="${n#hadoop-}"; v="${v%.tar.gz}"; echo "hadoop/common/hadoop-$v/$n" ;;
    hbase-*-hadoop3-bin.tar.gz)    v="${n#hbase-}"; v="${v%-hadoop3-bin.tar.gz}"; echo "hbase/$v/$n" ;;
    hbase-*-bin.tar.gz)            v="${n#hbase-}"; v="${v%-bin.tar.gz}"; echo "hbase/$v/$n" ;;
  esac
}

# checksum FILE: its .sha512 in the project's format, written beside it.
checksum() {
  local f="$1" n; n="$(basename "$f")"
  local out="$f.sha512"
  [[ -s "$out" && "$out" -nt "$f" ]] && return 0
  ( cd "$(dirname "$f")"
    case "$n" in
      hadoop-*) sha512sum --tag "$n" ;;
      kafka_*|hbase-*)
        if command -v gpg >/dev/null; then gpg --homedir "$gnupg_home" --batch --print-md SHA512 "$n" 2>/dev/null; else sha512sum "$n"; fi ;;
      *) sha512sum "$n" | tr -d '\n' ;;   # the ZooKeeper plugin writes no final newline
    esac ) > "$out.tmp"
  mv "$out.tmp" "$out"
}

# gpg --print-md with a throwaway home: never touch the user's ~/.gnupg.
gnupg_home="$(mktemp -d)"
trap 'rm -rf "$gnupg_home"' EXIT

count=0
for f in "$src"/*.tar.gz "$src"/*.tgz; do
  [[ -f "$f" ]] || continue
  n="$(basename "$f")"
  rel="$(rel_of "$n")"
  [[ -n "$rel" ]] || continue
  dest="$dir/$rel"
  mkdir -p "$(dirname "$dest")"
  if [[ ! -e "$dest" || "$f" -nt "$dest" ]]; then
    rm -f "$dest" "$dest.sha512"
    if (( copy )) || ! ln "$f" "$dest" 2>/dev/null; then
      cp "$f" "$dest"
    fi
  fi
  checksum "$dest"
  echo "$rel"
  count=$((count + 1))
done
echo "mirror.sh: $count archives under $dir; use STACKCTL_MIRROR=file://$(cd "$dir" && pwd)" >&2
