#!/bin/sh
# Launcher for {{ c.service | comment }} ({{ c.role | comment }}), cluster {{ cluster | comment }}, host {{ host.name | comment }}.
# Written by stackctl: edit the inventory, not this file.
# Usage: {{ c.role }}.sh start|stop|status
set -u
NAME={{ c.role | shell_quote }}
PIDFILE={{ c.pid_file | shell_quote }}
LOG={{ c.log_file | shell_quote }}
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

# The log is opened here (by root, maybe): give it to the service's user.
own_log() {
  if [ -n "$RUN_USER" ] && [ "$(id -u)" = 0 ]; then
    touch "$LOG" && chown "$RUN_USER:$RUN_GROUP" "$LOG"
  fi
}

running() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null)
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -e "$MARK"
}

case "${1:-}" in
  start)
    if running; then echo "$NAME running $pid"; exit 0; fi
    mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")" || exit 1
    [ -d "$DIST" ] || { echo "$NAME: no distribution at $DIST_LINK" >&2; exit 1; }
    cd {{ c.work_dir }} || exit 1
    own_log || exit 1
    (as_user nohup setsid {{ host.java_home | shell_quote }}/bin/java "$MARK" {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.args %} {{ a }}{% endfor %} >> "$LOG" 2>&1 < /dev/null) &
    echo $! > "$PIDFILE"
    echo "$NAME started $!"
    ;;
  stop)
    if ! running; then rm -f "$PIDFILE"; echo "$NAME stopped"; exit 0; fi
    kill "$pid" 2>/dev/null
    i=0
    while [ "$i" -lt {{ c.stop_timeout_tenths }} ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; echo "$NAME killed $pid"; fi
    rm -f "$PIDFILE"
    echo "$NAME stopped"
    ;;
  init)
{%- if c.init %}
    if [ -f {{ c.init.marker | shell_quote }} ]; then echo "$NAME already initialised"; exit 0; fi
    mkdir -p "$(dirname "$LOG")" || exit 1
    cd {{ c.work_dir }} || exit 1
    own_log || exit 1
    (as_user {{ host.java_home | shell_quote }}/bin/java {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.init.args %} {{ a }}{% endfor %}) >> "$LOG" 2>&1 < /dev/null || { echo "$NAME init failed; see $LOG" >&2; exit 1; }
    [ -f {{ c.init.marker | shell_quote }} ] || { echo "$NAME init did not create "{{ c.init.marker | shell_quote }} >&2; exit 1; }
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
    echo "usage: $0 start|stop|status|init" >&2; exit 2
    ;;
esac
