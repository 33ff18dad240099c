#!/bin/bash
# tests/amavis-lab/teardown.sh - stop what setup.sh started, each daemon by
# its PID file (never by process name): the four amavisd instances (pg, my and
# their spares), spamd, the SMTP sink and Dovecot. PostgreSQL and MariaDB keep running unless setup.sh started them.
# Packages, configuration, the amavis_lab databases and the spamassassin_lab
# Bayes store stay in place.
#
# Environment: STATE_DIR (default /tmp/amavis-console-lab), as for setup.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_T0=$EPOCHREALTIME
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
STATE_DIR=$LAB_STATE_DIR

[[ $EUID -eq 0 ]] || lab_die "run as root"

# the tests must not find a lab.env of a lab that is going away
rm -f "$STATE_DIR/lab.env" "$STATE_DIR/lab.json"

pidfiles=()
for name in "${LAB_AMAVIS_NAMES[@]}"; do # amavisd masters (their children exit with them)
  lab_amavis_instance "$name"
  pidfiles+=("$(lab_amavis_pidfile "$AI_SFX")")
done
pidfiles+=(
  "$STATE_DIR/spamd.pid"  # spamd parent (its children exit with it)
  "$STATE_DIR/sink.pid"   # SMTP sink
  "$LAB_DOVECOT_PIDFILE"  # Dovecot master (its children exit with it)
)
# signal all first, then wait: amavisd needs 1-2 s to exit on SIGTERM (and
# removes its pid file before it has exited: wait for the pid)
stopping_pids=()
for f in "${pidfiles[@]}"; do
  if pid=$(lab_read_pidfile "$f") && kill -0 "$pid" 2>/dev/null; then
    lab_log "stopping pid $pid ($f)"
    stopping_pids+=("$pid" "$f")
    kill -TERM "$pid" 2>/dev/null || true
  fi
done
for ((i = 0; i < ${#stopping_pids[@]}; i += 2)); do
  lab_wait_pid_gone "${stopping_pids[i]}" 20 "${stopping_pids[i + 1]}"
done
rm -f "${pidfiles[@]}"
rm -f "$STATE_DIR/sink.id" "$STATE_DIR/spamd.id" "$STATE_DIR/dovecot.id" "$STATE_DIR"/amavisd-*.logpos

if [[ -s $STATE_DIR/started-postgresql ]]; then
  read -r pg_ver pg_cluster <"$STATE_DIR/started-postgresql"
  lab_log "stopping postgresql $pg_ver/$pg_cluster (setup.sh started it)"
  pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_cluster" stop || true
  rm -f "$STATE_DIR/started-postgresql"
fi
if [[ -s $STATE_DIR/started-mariadb.pid ]]; then
  lab_log "stopping mariadb pid $(<"$STATE_DIR/started-mariadb.pid") (setup.sh started it)"
  lab_stop_pidfile "$STATE_DIR/started-mariadb.pid" 60
fi
lab_log "amavis lab stopped"
