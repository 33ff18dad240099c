# shellcheck shell=bash disable=SC2034  # constants are used by the scripts that source this file
# Shared helpers and constants for the amavis lab (setup.sh, teardown.sh and
# .ci/run source this file). Bash only; the callers set `set -euo pipefail`.
#
# Everything is stopped by PID file, never by process name.

# ---------------------------------------------------------------------------
# constants (setup.sh writes them into $STATE_DIR/lab.env for the tests)
# ---------------------------------------------------------------------------
LAB_STATE_DIR=${STATE_DIR:-/tmp/amavis-console-lab}
LAB_HOST=127.0.0.1
LAB_DB_NAME=amavis_lab
LAB_DB_USER=amavis
LAB_DB_PASS=amavis
LAB_PG_PORT=5432
LAB_MY_PORT=3306
LAB_SINK_PORT=10025
LAB_SPAMD_PORT=783
# amavisd instances, all from amavisd-lab.conf (see lab_amavis_instance below):
# "pg" (suffix '') and "my" (suffix '-my') serve every test; "pg-spare" and
# "my-spare" are the same amavisd on the same databases, for the tests that stop
# and start amavisd (spare.sh), so that the shared two never go down.
LAB_PG_SMTP_PORT=10024
LAB_PG_PDP_PORT=9998
LAB_MY_SMTP_PORT=10124
LAB_MY_PDP_PORT=9997
LAB_PGSPARE_SMTP_PORT=10224
LAB_PGSPARE_PDP_PORT=9996
LAB_MYSPARE_SMTP_PORT=10324
LAB_MYSPARE_PDP_PORT=9995
LAB_AMAVIS_NAMES=(pg my pg-spare my-spare)
LAB_AMAVIS_SPARES=(pg-spare my-spare)
LAB_IMAP_PORT=10143 # the lab's own Dovecot (IMAP, no TLS), see dovecot-lab.conf
LAB_AMAVIS_CONF=/etc/amavis/conf.d/60-amavis-console-lab   # no dot: run-parts skips dotted names
LAB_SA_CF=/etc/spamassassin/60-amavis-console-lab.cf
LAB_AMAVIS_HOSTNAME=amavis-lab.example.test
# SpamAssassin's Bayes store (amavisd, spamd and sa-learn): SQL on the lab's PostgreSQL,
# schema from SpamAssassin's own bayes_pg.sql; must match spamassassin-lab.cf
LAB_BAYES_DB_NAME=spamassassin_lab
LAB_BAYES_DB_USER=sa_lab
LAB_BAYES_DB_PASS=sa_lab
LAB_SA_SQL_DIR=/usr/share/doc/spamassassin/sql
# earlier labs kept per-user DBM bayes here (spamd --virtual-config-dir); setup.sh removes it
LAB_SPAMD_OLD_VIRTUAL_DIR=/var/lib/spamassassin/amavis-lab-virtual
LAB_NODE_MIN_MAJOR=24
# the lab Dovecot's users: name password name password ... (no ':' anywhere)
LAB_IMAP_USERS=(
  user1@example.test 'imap-secret-1'
  user2@example.test 'imap-secret-2'
  user3@example.test 'pässwörd with spaces'
)
LAB_DOVECOT_DIR=$LAB_STATE_DIR/dovecot           # config, users, base_dir (run/), log, maildirs
LAB_DOVECOT_PIDFILE=$LAB_DOVECOT_DIR/run/master.pid # written by Dovecot itself (base_dir/master.pid)

# per-instance paths; $1 = instance suffix ('' or '-my'); must match amavisd-lab.conf
lab_amavis_pidfile() { echo "/var/run/amavis/amavisd-lab$1.pid"; }
lab_amavis_socket()  { echo "/var/lib/amavis/amavisd-lab$1.sock"; }
lab_amavis_log()     { echo "/var/log/amavis/amavis-lab$1.log"; }
lab_amavis_dbhome()  { echo "/var/lib/amavis/db-lab$1"; }

# lab_amavis_instance NAME: sets AI_DRIVER (pg|mysql), AI_SFX (instance suffix),
# AI_SMTP, AI_PDP (ports) and AI_KEY (its lab.env prefix: AMAVIS_LAB_<key>_*);
# returns 1 for an unknown name
lab_amavis_instance() {
  case $1 in
    pg) AI_DRIVER=pg AI_SFX='' AI_SMTP=$LAB_PG_SMTP_PORT AI_PDP=$LAB_PG_PDP_PORT AI_KEY=PG ;;
    my) AI_DRIVER=mysql AI_SFX=-my AI_SMTP=$LAB_MY_SMTP_PORT AI_PDP=$LAB_MY_PDP_PORT AI_KEY=MY ;;
    pg-spare)
      AI_DRIVER=pg AI_SFX=-pg-spare AI_SMTP=$LAB_PGSPARE_SMTP_PORT AI_PDP=$LAB_PGSPARE_PDP_PORT AI_KEY=PGSPARE
      ;;
    my-spare)
      AI_DRIVER=mysql AI_SFX=-my-spare AI_SMTP=$LAB_MYSPARE_SMTP_PORT AI_PDP=$LAB_MYSPARE_PDP_PORT AI_KEY=MYSPARE
      ;;
    *) return 1 ;;
  esac
}
# the environment amavisd-lab.conf reads, one NAME=value per line (amavisd
# runs with exactly this plus PATH and LANG: `env -i`, whoever starts it)
lab_amavis_env() { # name
  lab_amavis_instance "$1" || lab_die "unknown amavisd instance '$1'"
  printf '%s\n' "AMAVIS_LAB_DRIVER=$AI_DRIVER" "AMAVIS_LAB_INSTANCE=${AI_SFX#-}" \
    "AMAVIS_LAB_SMTP_PORT=$AI_SMTP" "AMAVIS_LAB_PDP_PORT=$AI_PDP" "AMAVIS_LAB_SINK_PORT=$LAB_SINK_PORT"
}
LAB_AMAVIS_BASE_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
# the exact command that starts instance NAME, as one shell line (for lab.env)
lab_amavis_start_command() { # name
  local env
  env=$(lab_amavis_env "$1" | tr '\n' ' ')
  printf 'cd / && env -i %s %s/usr/sbin/amavisd start' "${LAB_AMAVIS_BASE_ENV[*]}" "$env"
}

# Dovecot passwd-file lines for LAB_IMAP_USERS
lab_imap_passwd_file() {
  local i
  for ((i = 0; i < ${#LAB_IMAP_USERS[@]}; i += 2)); do
    printf '%s:{PLAIN}%s\n' "${LAB_IMAP_USERS[i]}" "${LAB_IMAP_USERS[i + 1]}"
  done
}
# LAB_IMAP_USERS as JSON: [{"username": "...", "password": "..."}, ...]
lab_imap_users_json() {
  local i sep='' u p
  printf '['
  for ((i = 0; i < ${#LAB_IMAP_USERS[@]}; i += 2)); do
    u=${LAB_IMAP_USERS[i]//\\/\\\\} p=${LAB_IMAP_USERS[i + 1]//\\/\\\\}
    printf '%s{"username": "%s", "password": "%s"}' "$sep" "${u//\"/\\\"}" "${p//\"/\\\"}"
    sep=', '
  done
  printf ']'
}

# ---------------------------------------------------------------------------
# logging / timing
# ---------------------------------------------------------------------------
LAB_T0=${LAB_T0:-$EPOCHREALTIME}
lab_elapsed() { # [since]  -> seconds with one decimal
  local since=${1:-$LAB_T0} now=$EPOCHREALTIME
  awk -v a="$since" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}
lab_log() { printf '[amavis-lab %5ss] %s\n' "$(lab_elapsed)" "$*"; }
lab_die() { printf '[amavis-lab] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# ports, logs, pid files
# ---------------------------------------------------------------------------
lab_port_open() { # port  -> 0 if something LISTENs on it (TCP)
  # capture first: `ss | grep -q` under pipefail can fail through SIGPIPE
  local out
  out=$(ss -Hltn "sport = :$1" 2>/dev/null) || return 1
  [[ -n $out ]]
}
lab_wait_port() { # port timeout_s [what]
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    lab_port_open "$1" && return 0
    sleep 0.1
  done
  lab_die "${3:-port $1} not listening on $1 after $2 s"
}
lab_wait_log() { # file extended-regex timeout_s  -> 1 on timeout
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# (a daemon may remove its pid file while exiting: read it once, and cope if it is gone)
lab_read_pidfile() { # pidfile -> prints the recorded pid; 1 if there is none
  local p
  p=$(cat -- "$1" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] || return 1
  echo "$p"
}
lab_pidfile_alive() { # pidfile -> 0 if the recorded pid runs
  local p
  p=$(lab_read_pidfile "$1") || return 1
  [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null
}
lab_signal_pidfile() { # pidfile -> sends SIGTERM to the recorded pid (no wait)
  local p
  p=$(lab_read_pidfile "$1") || return 0
  kill -TERM "$p" 2>/dev/null || true
}
lab_wait_pid_gone() { # pid timeout_s [what] -> waits, then SIGKILL
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.05
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "[amavis-lab] pid $1 (${3:-?}) ignored SIGTERM, sending SIGKILL" >&2
    kill -KILL "$1" 2>/dev/null || true
    sleep 0.2
  fi
}
lab_wait_pidfile_gone() { # pidfile timeout_s -> waits, then SIGKILL; removes the file
  local p
  if p=$(lab_read_pidfile "$1"); then lab_wait_pid_gone "$p" "$2" "$1"; fi
  rm -f "$1"
}
lab_stop_pidfile() { # pidfile [timeout_s]
  lab_signal_pidfile "$1"
  lab_wait_pidfile_gone "$1" "${2:-15}"
}
lab_wait_ports_closed() { # timeout_s port... -> 1 if one still listens after the timeout
  local t=$1 i p busy
  shift
  for ((i = 0; i <= t * 20; i++)); do
    busy=''
    for p in "$@"; do
      if lab_port_open "$p"; then busy=$p; break; fi
    done
    [[ -z $busy ]] && return 0
    sleep 0.05
  done
  return 1
}
lab_show_tail() { # file... : print the end of log files after a failure
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 25 "$f" >&2
  done
}

# ---------------------------------------------------------------------------
# amavisd instances (setup.sh starts all four, spare.sh stops/starts a spare)
# ---------------------------------------------------------------------------
# lab_amavis_start NAME [keep_log]: `amavisd start` (returns once amavisd has
# loaded SpamAssassin and daemonized; lab_amavis_wait then waits for it to be
# ready). keep_log=1 appends to the instance's log instead of starting a new one;
# either way the position where this start begins is kept for lab_amavis_wait.
lab_amavis_start() {
  local name=$1 keep_log=${2:-0} log out pos=0
  local -a env
  lab_amavis_instance "$name" || lab_die "unknown amavisd instance '$name'"
  log=$(lab_amavis_log "$AI_SFX")
  out=$LAB_STATE_DIR/amavisd-$name.start.log
  # a socket file left by a killed instance (a clean stop removes it)
  rm -f "$(lab_amavis_socket "$AI_SFX")"
  if [[ $keep_log == 1 && -f $log ]]; then pos=$(stat -c %s "$log"); else rm -f "$log"; fi
  echo "$pos" >"$LAB_STATE_DIR/amavisd-$name.logpos"
  mapfile -t env < <(lab_amavis_env "$name")
  # (the daemon inherits open file descriptors: callers close their lock fds)
  (cd / && env -i "${LAB_AMAVIS_BASE_ENV[@]}" "${env[@]}" /usr/sbin/amavisd start) </dev/null >"$out" 2>&1 || {
    lab_show_tail "$out" "$log"
    lab_die "amavisd ($name) failed to start"
  }
}
# lab_amavis_wait NAME [timeout_s]: until the start's "ready for work" is in
# the log, both ports listen and the unix socket exists
lab_amavis_wait() {
  local name=$1 t=${2:-60} log socket pidfile pos i ready=0
  lab_amavis_instance "$name" || lab_die "unknown amavisd instance '$name'"
  log=$(lab_amavis_log "$AI_SFX")
  socket=$(lab_amavis_socket "$AI_SFX")
  pidfile=$(lab_amavis_pidfile "$AI_SFX")
  pos=$(cat "$LAB_STATE_DIR/amavisd-$name.logpos" 2>/dev/null || echo 0)
  for ((i = 0; i < t * 20; i++)); do
    if ((!ready)) && grep -qF 'ready for work' < <(tail -c "+$((pos + 1))" "$log" 2>/dev/null); then
      ready=1
    fi
    if ((ready)) && [[ -S $socket ]] && lab_port_open "$AI_SMTP" && lab_port_open "$AI_PDP" &&
      lab_pidfile_alive "$pidfile"; then
      return 0
    fi
    sleep 0.05
  done
  lab_show_tail "$LAB_STATE_DIR/amavisd-$name.start.log" "$log"
  lab_die "amavisd ($name) not ready after $t s (ready line: $ready, SMTP :$AI_SMTP, AM.PDP :$AI_PDP, $socket)"
}
# lab_amavis_stop NAME [timeout_s]: SIGTERM to the master (it sends SIGTERM to
# its children and removes its unix socket), then wait until it is gone
# (SIGKILL after the timeout) and nothing listens on its ports any more
lab_amavis_stop() {
  local name=$1 t=${2:-20} pidfile pid
  lab_amavis_instance "$name" || lab_die "unknown amavisd instance '$name'"
  pidfile=$(lab_amavis_pidfile "$AI_SFX")
  # the master removes its pid file (and socket) on the way out: wait for the pid
  if pid=$(lab_read_pidfile "$pidfile"); then
    kill -TERM "$pid" 2>/dev/null || true
    lab_wait_pid_gone "$pid" "$t" "amavisd ($name)"
  fi
  rm -f "$pidfile"
  lab_wait_ports_closed 10 "$AI_SMTP" "$AI_PDP" ||
    lab_die "amavisd ($name) is gone, but something still listens on :$AI_SMTP or :$AI_PDP"
}

# ---------------------------------------------------------------------------
# packages
# ---------------------------------------------------------------------------
lab_pkg_installed() { # pkg
  local s
  s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
  [[ $s == ii* ]]
}
lab_pg_server_present() {
  lab_port_open "$LAB_PG_PORT" && return 0
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}
lab_mariadb_server_present() {
  lab_port_open "$LAB_MY_PORT" || [[ -x /usr/sbin/mariadbd ]]
}
# prints the Debian packages the lab (and the browser tests) still need
lab_missing_packages() {
  local p missing=()
  for p in amavisd-new spamassassin spamd spamc libdbd-pg-perl libdbd-mysql-perl swaks dovecot-imapd; do
    lab_pkg_installed "$p" || missing+=("$p")
  done
  command -v psql >/dev/null && command -v pg_isready >/dev/null || missing+=(postgresql-client)
  command -v mariadb >/dev/null || missing+=(mariadb-client)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v ss >/dev/null || missing+=(iproute2)
  lab_pg_server_present || missing+=(postgresql)
  lab_mariadb_server_present || missing+=(mariadb-server)
  echo "${missing[*]}"
}
# apt-get install of whatever is missing. $1 = 1 to run `apt-get update` first.
lab_apt_install() {
  local do_update=${1:-1} missing created_policy=0 agent_before=0 rc=0 t
  missing=$(lab_missing_packages)
  if [[ -z $missing ]]; then
    lab_log "apt: all packages present"
    return 0
  fi
  t=$EPOCHREALTIME
  export DEBIAN_FRONTEND=noninteractive
  # keep maintainer scripts from starting amavis/spamd/mariadb/postgresql/dovecot
  # with their default configs (no systemd here; invoke-rc.d asks policy-rc.d)
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  if [[ -S /var/lib/spamassassin/sa-update-keys/S.gpg-agent ]]; then agent_before=1; fi
  lab_log "apt: installing $missing"
  # --no-install-recommends: amavisd-new -> altermime -> default-mta (exim4),
  # spamassassin -> sa-compile (gcc). None of that is wanted.
  # (no `trap` here: it would replace the caller's EXIT trap)
  # (maintainer scripts are chatty: their output goes to a log)
  mkdir -p "$LAB_STATE_DIR"
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  { [[ $do_update != 1 ]] || apt-get update -qq; } &&
    apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 $missing \
      >"$LAB_STATE_DIR/apt.log" 2>&1 ||
    rc=$?
  if [[ $created_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if ((rc != 0)); then
    tail -n 40 "$LAB_STATE_DIR/apt.log" >&2 || true
    lab_die "apt-get failed (exit $rc), log: $LAB_STATE_DIR/apt.log"
  fi
  # spamassassin's postinst (sa-update key import) leaves a gpg-agent running;
  # stop exactly that agent (by its homedir) if this install started it
  if [[ $agent_before == 0 && -S /var/lib/spamassassin/sa-update-keys/S.gpg-agent ]] &&
    command -v gpgconf >/dev/null; then
    runuser -u debian-spamd -- gpgconf --homedir /var/lib/spamassassin/sa-update-keys --kill gpg-agent 2>/dev/null || true
  fi
  missing=$(lab_missing_packages)
  [[ -z $missing ]] || lab_die "still missing after apt-get install: $missing"
  lab_log "apt: done in $(lab_elapsed "$t") s"
}

# ---------------------------------------------------------------------------
# database servers (started only when their port is not listening)
# $1 = directory for a "started-by-lab" marker ('' = do not record)
# ---------------------------------------------------------------------------
lab_ensure_postgres() {
  local marker_dir=${1:-} ver i
  if lab_port_open "$LAB_PG_PORT"; then return 0; fi
  ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -1)
  if [[ -z $ver ]]; then
    ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -1)
    [[ -n $ver ]] || lab_die "no PostgreSQL installation found"
  fi
  if [[ ! -d /etc/postgresql/$ver/main ]]; then
    lab_log "postgresql: creating cluster $ver/main"
    pg_createcluster --port "$LAB_PG_PORT" "$ver" main >/dev/null
  fi
  # a cluster created while another server held 5432 gets 5433; we only get
  # here when 5432 is free, so pin the cluster to it
  if [[ $(pg_conftool -s "$ver" main show port 2>/dev/null || true) != "$LAB_PG_PORT" ]]; then
    lab_log "postgresql: setting port $LAB_PG_PORT for cluster $ver/main"
    pg_conftool "$ver" main set port "$LAB_PG_PORT"
  fi
  lab_log "postgresql: starting cluster $ver/main"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  if [[ -n $marker_dir ]]; then echo "$ver main" >"$marker_dir/started-postgresql"; fi
  for ((i = 0; i < 300; i++)); do
    pg_isready -q -h "$LAB_HOST" -p "$LAB_PG_PORT" && return 0
    sleep 0.1
  done
  lab_die "postgresql not ready on $LAB_PG_PORT after 30 s"
}
lab_ensure_mariadb() {
  local marker_dir=${1:-} pidfile i
  if lab_port_open "$LAB_MY_PORT"; then return 0; fi
  install -d -o mysql -g mysql -m 755 /run/mysqld
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    lab_log "mariadb: initialising /var/lib/mysql"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  lab_log "mariadb: starting mariadbd"
  if [[ -n $marker_dir ]]; then
    pidfile=$marker_dir/started-mariadb.pid
    start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$pidfile" \
      --exec /usr/sbin/mariadbd -- --user=mysql
  else
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  fi
  for ((i = 0; i < 300; i++)); do
    if lab_port_open "$LAB_MY_PORT" && mariadb-admin -u root --connect-timeout=2 ping >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  lab_die "mariadb not ready on $LAB_MY_PORT after 30 s (see /var/log/mysql/error.log)"
}
