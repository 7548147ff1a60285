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
{%- for e in c.env %}
export {{ e.0 }}={{ e.1 }}
{%- endfor %}

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
    nohup setsid {{ host.java_home | shell_quote }}/bin/java "$MARK" {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.args %} {{ a }}{% endfor %} >> "$LOG" 2>&1 < /dev/null &
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
    {{ host.java_home | shell_quote }}/bin/java {% for o in c.jvm_opts %}{{ o }} {% endfor %}-cp {{ c.classpath }} {{ c.main_class }}{% for a in c.init.args %} {{ a }}{% endfor %} >> "$LOG" 2>&1 < /dev/null || { echo "$NAME init failed; see $LOG" >&2; exit 1; }
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
