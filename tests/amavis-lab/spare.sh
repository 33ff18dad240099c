#!/bin/bash
# tests/amavis-lab/spare.sh - stop or start one of the lab's spare amavisd
# instances ("pg-spare" on PostgreSQL, "my-spare" on MariaDB), for the tests that
# need amavisd really down. The shared instances "pg" and "my" are refused.
#
#   bash tests/amavis-lab/spare.sh stop    pg|my   # until the master and its children are gone, ports refuse, no socket
#   bash tests/amavis-lab/spare.sh start   pg|my   # until "ready for work", both ports listen, the socket exists
#   bash tests/amavis-lab/spare.sh restart pg|my
#   bash tests/amavis-lab/spare.sh status  pg|my   # exit 0 when it runs
#
# ("pg-spare"/"my-spare" work too.) start and stop are idempotent; calls for one
# instance are serialised (flock). Needs the lab set up by setup.sh (config,
# directories, databases); run as root. Environment: STATE_DIR, as for setup.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_T0=$EPOCHREALTIME
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

usage() {
  echo "usage: $0 stop|start|restart|status pg|my" >&2
  exit 2
}
(($# == 2)) || usage
action=$1
case $2 in
  pg | pg-spare) name=pg-spare ;;
  my | my-spare) name=my-spare ;;
  *) usage ;;
esac
case $action in stop | start | restart | status) ;; *) usage ;; esac

[[ $EUID -eq 0 ]] || lab_die "run as root"
lab_amavis_instance "$name"
pidfile=$(lab_amavis_pidfile "$AI_SFX")
socket=$(lab_amavis_socket "$AI_SFX")

if [[ $action == status ]]; then
  if lab_pidfile_alive "$pidfile"; then
    echo "amavisd ($name) runs, pid $(lab_read_pidfile "$pidfile"): SMTP :$AI_SMTP, AM.PDP :$AI_PDP + $socket"
    exit 0
  fi
  echo "amavisd ($name) is stopped"
  exit 3
fi

[[ -f $LAB_AMAVIS_CONF && -d $(lab_amavis_dbhome "$AI_SFX") ]] ||
  lab_die "the lab is not set up (run: bash $HERE/setup.sh)"
mkdir -p "$LAB_STATE_DIR"
exec 9>"$LAB_STATE_DIR/spare-$name.flock"
flock -w 60 9 || lab_die "another spare.sh holds $LAB_STATE_DIR/spare-$name.flock"

stop() {
  if ! lab_pidfile_alive "$pidfile"; then
    rm -f "$pidfile"
    lab_wait_ports_closed 5 "$AI_SMTP" "$AI_PDP" ||
      lab_die "amavisd ($name) has no running master, but something listens on :$AI_SMTP or :$AI_PDP"
    lab_log "amavisd ($name) already stopped"
    return 0
  fi
  local pid
  pid=$(lab_read_pidfile "$pidfile" || echo '?')
  lab_amavis_stop "$name"
  [[ ! -e $socket ]] || lab_die "amavisd ($name) stopped but left $socket behind"
  lab_log "amavisd ($name) stopped (was pid $pid)"
}
start() {
  if lab_pidfile_alive "$pidfile"; then
    lab_amavis_wait "$name" 30
    lab_log "amavisd ($name) already running (pid $(<"$pidfile"))"
    return 0
  fi
  rm -f "$pidfile"
  if ! lab_wait_ports_closed 5 "$AI_SMTP" "$AI_PDP"; then
    ss -ltnp "( sport = :$AI_SMTP or sport = :$AI_PDP )" >&2 || true
    lab_die "amavisd ($name) is not running, but its ports are taken"
  fi
  lab_amavis_start "$name" 1 9>&- # amavisd would hold the lock for as long as it runs
  lab_amavis_wait "$name" 60
  lab_log "amavisd ($name) ready (pid $(<"$pidfile")): SMTP :$AI_SMTP, AM.PDP :$AI_PDP + $socket"
}

case $action in
  stop) stop ;;
  start) start ;;
  restart)
    stop
    start
    ;;
esac
