#!/bin/sh
# Launcher for {{ c.service | comment }} ({{ c.role | comment }}), cluster {{ cluster | comment }}, host {{ host.name | comment }}.
# Written by stackctl: edit the inventory, not this file.
# Usage: {{ c.role }}.sh start|stop|status|init|run|disable [purge]
# Where systemd is the init and the unit {{ c.unit | comment }} is installed, start and stop go through
# systemctl and the unit runs `run` (the JVM in the foreground); elsewhere start runs it under nohup.
set -u
NAME={{ c.role | shell_quote }}
PIDFILE={{ c.pid_file | shell_quote }}
LOG={{ c.log_file | shell_quote }}
# The JVM's own stdout and stderr (the daemon logs through log4j into $LOG, which rolls over).
OUT={{ c.out_file | shell_quote }}
GCLOG={{ c.gc_file | shell_quote }}
UNIT={{ c.unit | shell_quote }}
UNIT_FILE={{ c.unit_file | shell_quote }}
JAVA={{ host.java_home | shell_quote }}/bin/java
# The marker identifies our JVM in /proc, so a stale pid file naming another process is ignored.
MARK={{ "-Dstackctl.service=" ~ cluster ~ "." ~ c.role | shell_quote }}
# The distribution as this start sees it, resolved once: `up` switches the link to a new
# generation beside the old one, and a running JVM keeps the one it started with.
DIST_LINK={{ c.home | shell_quote }}
DIST=$(cd "$DIST_LINK" 2>/dev/null && pwd -P) || DIST=$DIST_LINK
# The account the JVM runs as when this launcher runs as root (else: whoever runs it).
RUN_USER={{ c.user | shell_quote }}
RUN_GROUP={{ c.group | shell_quote }}
{%- for e in c.env %}
export {{ e.0 }}={{ e.1 }}
{%- endfor %}

# `as_user CMD...` runs CMD as RUN_USER (exec, so the pid stays the JVM's): setpriv, which
# execs in place, else runuser (util-linux both; runuser forks and forwards signals).
as_user() {
  if [ -n "$RUN_USER" ] && [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null 2>&1; then
      exec setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups -- "$@"
    elif command -v runuser >/dev/null 2>&1; then
      exec runuser -u "$RUN_USER" -g "$RUN_GROUP" -- "$@"
    fi
    echo "$NAME: neither setpriv nor runuser is installed to run as $RUN_USER" >&2
    exit 1
  fi
  exec "$@"
}

# The log and the JVM's output file are opened here (by root, maybe): give them to the
# service's user, so nothing in its directories is root's.
own_log() {
  if [ -n "$RUN_USER" ] && [ "$(id -u)" = 0 ]; then
    touch "$LOG" "$OUT" && chown "$RUN_USER:$RUN_GROUP" "$LOG" "$OUT"
  fi
}

running() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -e "$MARK"
}

# systemd supervises this service: it is the init and our unit is installed.
supervised() {
  [ -d /run/systemd/system ] && [ -f "$UNIT_FILE" ] && command -v systemctl > /dev/null 2>&1
}

# Loads a new or changed unit and enables it (it starts at boot).
sync_unit() {
  st=$(systemctl show -p LoadState -p NeedDaemonReload "$UNIT" 2>/dev/null)
  case "$st" in
    *LoadState=loaded*NeedDaemonReload=no*|*NeedDaemonReload=no*LoadState=loaded*) ;;
    *) systemctl daemon-reload || { echo "$NAME: systemctl daemon-reload failed" >&2; return 1; } ;;
  esac
  systemctl is-enabled -q "$UNIT" 2> /dev/null || systemctl enable -q "$UNIT" || { echo "$NAME: cannot enable $UNIT" >&2; return 1; }
}

# Sets a limit, soft and hard, to what the daemon needs (a JVM raises its soft open-file limit
# to the hard one by itself, so the hard one is what it gets). Lowering a hard limit is always
# allowed; raising one needs root with CAP_SYS_RESOURCE: else the start fails, saying why.
raise() {
  flag=$1; want=$2; what=$3
  hard=$(ulimit -H "$flag")
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
    ulimit -S "$flag" "$want" && ulimit -H "$flag" "$want" && return 0
    echo "$NAME: cannot set the $what limit to $want" >&2; return 1
  fi
  ulimit -H "$flag" "$want" 2> /dev/null && ulimit -S "$flag" "$want" && return 0
  echo "$NAME: the $what limit must be $want but its hard limit is $hard (raise it in /etc/security/limits.conf, or run under systemd, whose unit sets it)" >&2
  return 1
}

limits() {
  # bash and busybox call the process limit -u; dash calls it -p (bash's -p is the pipe size).
  if ulimit -u > /dev/null 2>&1; then pflag=-u; else pflag=-p; fi
  raise -n {{ c.max_open_files }} open-file && raise "$pflag" {{ c.max_processes }} process
}

# GC logging, rotated by the JVM: -Xlog on Java 9+, the Java 8 flags otherwise (read from the
# JDK's release file when it has one).
gc_opts() {
  jv=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' {{ host.java_home | shell_quote }}/release 2> /dev/null | head -n 1)
  [ -n "$jv" ] || jv=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  # GC_LOG is one word (it names the file); GC_OPTS holds no path and is split.
  if [ "${jv:-9}" = 1 ]; then
    GC_LOG="-Xloggc:$GCLOG"
    GC_OPTS="-XX:+PrintGCDetails -XX:+PrintGCDateStamps -XX:+UseGCLogFileRotation -XX:NumberOfGCLogFiles={{ c.gc_max_files }} -XX:GCLogFileSize={{ c.gc_max_kb }}K"
  else
    GC_LOG="-Xlog:gc*:file=$GCLOG:time,uptime:filecount={{ c.gc_max_files }},filesize={{ c.gc_max_kb }}K"
    GC_OPTS=
  fi
}

prepare() {
  mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")" || return 1
  [ -d "$DIST" ] || { echo "$NAME: no distribution at $DIST_LINK" >&2; return 1; }
  limits || return 1
  gc_opts
}

case "${1:-}" in
  run)
    # The JVM in the foreground, as the unit's main process (stdout to the journal).
    prepare || exit 1
    cd {{ c.work_dir }} || exit 1
    own_log || exit 1
    echo $$ > "$PIDFILE"
    # shellcheck disable=SC2086
    as_user "$JAVA" "$MARK" "$GC_LOG" $GC_OPTS {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.args %} {{ a }}{% endfor %}
    ;;
  start)
    if supervised; then
      sync_unit || exit 1
      if running && ! systemctl is-active -q "$UNIT"; then echo "$NAME running $pid (not under systemd: restart it to move it there)"; exit 0; fi
      # An explicit start is a new attempt: a unit that hit its start limit may start again.
      systemctl reset-failed "$UNIT" 2> /dev/null
      systemctl start "$UNIT" || { echo "$NAME: systemctl start $UNIT failed; see journalctl -u $UNIT" >&2; exit 1; }
      i=0
      while [ "$i" -lt 50 ] && ! running; do sleep 0.1; i=$((i + 1)); done
      if running; then echo "$NAME started $pid (systemd $UNIT)"; exit 0; fi
      echo "$NAME: $UNIT did not start; see journalctl -u $UNIT" >&2; exit 1
    fi
    if running; then echo "$NAME running $pid"; exit 0; fi
    prepare || exit 1
    cd {{ c.work_dir }} || exit 1
    # Only crash output reaches $OUT; it is rotated at each start, so it stays bounded.
    [ -f "$OUT" ] && mv -f "$OUT" "$OUT.1"
    own_log || exit 1
    # shellcheck disable=SC2086
    (as_user nohup setsid "$JAVA" "$MARK" "$GC_LOG" $GC_OPTS {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.args %} {{ a }}{% endfor %} > "$OUT" 2>&1 < /dev/null) &
    echo $! > "$PIDFILE"
    echo "$NAME started $!"
    ;;
  stop)
    # systemd first (it waits TimeoutStopSec, then kills); then whatever a launcher started.
    if supervised; then systemctl stop "$UNIT" || echo "$NAME: systemctl stop $UNIT failed" >&2; fi
    if ! running; then rm -f "$PIDFILE"; echo "$NAME stopped"; exit 0; fi
    kill "$pid" 2>/dev/null
    i=0
    while [ "$i" -lt {{ c.stop_timeout_tenths }} ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; echo "$NAME killed $pid"; fi
    rm -f "$PIDFILE"
    echo "$NAME stopped"
    ;;
  disable)
    # `down`: the unit no longer starts at boot; with `purge`, it is removed.
    if [ -f "$UNIT_FILE" ] && command -v systemctl > /dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable -q "$UNIT" 2> /dev/null && echo "$NAME disabled $UNIT"
    fi
    if [ "${2:-}" = purge ] && [ -f "$UNIT_FILE" ]; then
      rm -f "$UNIT_FILE" && echo "$NAME removed $UNIT_FILE"
      [ -d /run/systemd/system ] && systemctl daemon-reload 2> /dev/null
    fi
    exit 0
    ;;
  init)
{%- if c.init %}
    if {% for m in c.init.markers %}[ -f {{ m | shell_quote }} ]{% if not loop.last %} && {% endif %}{% endfor %}; then echo "$NAME already initialised"; exit 0; fi
    mkdir -p "$(dirname "$LOG")" || exit 1
    cd {{ c.work_dir }} || exit 1
    own_log || exit 1
    (as_user "$JAVA" {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.init.main_class }}{% for a in c.init.args %} {{ a }}{% endfor %}) >> "$OUT" 2>&1 < /dev/null || { echo "$NAME init failed; see $LOG and $OUT" >&2; exit 1; }
{%- for m in c.init.markers %}
    [ -f {{ m | shell_quote }} ] || { echo "$NAME init did not create "{{ m | shell_quote }} >&2; exit 1; }
{%- endfor %}
    echo "$NAME initialised"
{%- else %}
    echo "$NAME needs no initialisation"
{%- endif %}
    ;;
  status)
    if running; then echo "$NAME running $pid"; exit 0; fi
    echo "$NAME stopped"; exit 3
    ;;
  *)
    echo "usage: $0 start|stop|status|init|run|disable [purge]" >&2; exit 2
    ;;
esac
