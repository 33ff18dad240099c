#!/bin/bash
# tests/amavis-lab/setup.sh - bring up the amavis lab for amavis-console's
# integration tests: real amavisd-new with SQL quarantine on PostgreSQL and
# on MariaDB (plus a spare instance of each for the tests that stop amavisd,
# see spare.sh), AM.PDP (TCP and unix socket), spamd, an SMTP sink, and a
# Dovecot (IMAP) with test users for the console's IMAP login.
# Debian 12, as root, no systemd needed. See README.md next to this file.
#
# Idempotent. Every run resets the amavis_lab databases, SpamAssassin's SQL
# Bayes store (spamassassin_lab) and the sink directory, and restarts all four
# amavisd instances (they hold connections to the dropped databases). The
# sink, spamd and Dovecot keep running when they are healthy and unchanged.
#
# Environment:
#   STATE_DIR  state, pid files, logs, lab.env/lab.json (default /tmp/amavis-console-lab)
#   SKIP_APT=1 never call apt-get (fail if something the lab needs is missing)
#   LAB_NODE   Node >= 24 used for the sink (default <repo>/node_modules/.bin/node)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DDL_DIR=$ROOT/server/db/amavis-ddl # the project's committed amavis DDL (pg.sql, mysql.sql)
export LAB_T0=$EPOCHREALTIME
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

STATE_DIR=$LAB_STATE_DIR
SINK_DIR=$STATE_DIR/sink
NODE=${LAB_NODE:-$ROOT/node_modules/.bin/node}

[[ $EUID -eq 0 ]] || lab_die "run as root"
[[ -s $DDL_DIR/pg.sql && -s $DDL_DIR/mysql.sql ]] || lab_die "schema files missing in $DDL_DIR"
mkdir -p "$STATE_DIR"
# lab.env is (re)written only once everything is ready
rm -f "$STATE_DIR/lab.env" "$STATE_DIR/lab.json"

# ---------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------
if [[ ${SKIP_APT:-0} == 1 ]]; then
  missing=$(lab_missing_packages)
  if [[ -n $missing ]]; then
    # chromium is only for the browser tests, not for the lab itself
    if [[ $missing == chromium ]]; then
      lab_log "warning: chromium is not installed (SKIP_APT=1)"
    else
      lab_die "SKIP_APT=1 but these packages are missing: $missing"
    fi
  fi
else
  lab_apt_install 1
fi
[[ -x $NODE ]] || lab_die "no Node at $NODE (run npm ci first, or set LAB_NODE)"
# (a dpkg path-exclude for /usr/share/doc, common in container images, drops it)
[[ -s $LAB_SA_SQL_DIR/bayes_pg.sql ]] ||
  lab_die "$LAB_SA_SQL_DIR/bayes_pg.sql is missing (package spamassassin, its documentation)"
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
((node_major >= LAB_NODE_MIN_MAJOR)) || lab_die "$NODE is Node $node_major; the sink needs >= $LAB_NODE_MIN_MAJOR"

# ---------------------------------------------------------------------------
# 2. database servers (started only if their port is not listening)
# ---------------------------------------------------------------------------
lab_ensure_postgres "$STATE_DIR" &
pg_start=$!
lab_ensure_mariadb "$STATE_DIR" &
my_start=$!
wait "$pg_start" || lab_die "PostgreSQL is not available"
wait "$my_start" || lab_die "MariaDB is not available"
lab_log "databases listening (postgresql :$LAB_PG_PORT, mariadb :$LAB_MY_PORT)"

# ---------------------------------------------------------------------------
# 3. decide what to restart, and send SIGTERM to it now: amavisd (always, it
#    holds sessions to the databases that are about to be dropped), the sink,
#    spamd and Dovecot only when unhealthy or changed. They exit while step 4 runs.
# ---------------------------------------------------------------------------
amavisd_pidfiles=()
for name in "${LAB_AMAVIS_NAMES[@]}"; do
  lab_amavis_instance "$name"
  amavisd_pidfiles+=("$(lab_amavis_pidfile "$AI_SFX")")
done
SINK_PIDFILE=$STATE_DIR/sink.pid
SPAMD_PIDFILE=$STATE_DIR/spamd.pid
SPAMD_LOG=$STATE_DIR/spamd.log
# -L: local tests only (no DNS); --allow-tell: `spamc -L` learning;
# -x: no per-user config files. Bayes is the SQL store of spamassassin-lab.cf,
# rows per `spamc -u USER` (with -x and -u debian-spamd, spamd never looks USER
# up as a unix account; it only passes the name on to SpamAssassin).
spamd_args=(-d -L --allow-tell -x
  -i "$LAB_HOST" -p "$LAB_SPAMD_PORT" -u debian-spamd -m 2 -r "$SPAMD_PIDFILE" -s "$SPAMD_LOG")
# identity of a running sink/spamd: restart when its code, config or args changed
sink_id="$(sha256sum "$HERE/smtp-sink.ts" | cut -d' ' -f1) $NODE $SINK_DIR $LAB_HOST:$LAB_SINK_PORT"
spamd_id="$(sha256sum "$HERE/spamassassin-lab.cf" | cut -d' ' -f1) ${spamd_args[*]}"
# Dovecot: its config is dovecot-lab.conf with the lab's paths and port filled in
DOVECOT_DIR=$LAB_DOVECOT_DIR
DOVECOT_PIDFILE=$LAB_DOVECOT_PIDFILE
[[ $DOVECOT_DIR != *[[:space:]]* ]] || lab_die "STATE_DIR must not contain white space (Dovecot config)"
dovecot_conf=$(<"$HERE/dovecot-lab.conf")
dovecot_conf=${dovecot_conf//@LAB_DOVECOT_DIR@/"$DOVECOT_DIR"}
dovecot_conf=${dovecot_conf//@LAB_HOST@/"$LAB_HOST"}
dovecot_conf=${dovecot_conf//@LAB_IMAP_PORT@/"$LAB_IMAP_PORT"}
dovecot_users=$(lab_imap_passwd_file)
dovecot_id=$(printf '%s\n%s\n' "$dovecot_conf" "$dovecot_users" | sha256sum | cut -d' ' -f1)
same_id() { [[ -f $1 && $(<"$1") == "$2" ]]; }

keep_sink=0
if lab_pidfile_alive "$SINK_PIDFILE" && lab_port_open "$LAB_SINK_PORT" &&
  same_id "$STATE_DIR/sink.id" "$sink_id"; then
  keep_sink=1
fi
keep_spamd=0
# (spamd keeps no state of its own: its bayes is the SQL store, reset below)
if lab_pidfile_alive "$SPAMD_PIDFILE" && lab_port_open "$LAB_SPAMD_PORT" &&
  same_id "$STATE_DIR/spamd.id" "$spamd_id"; then
  keep_spamd=1
fi
keep_dovecot=0
if lab_pidfile_alive "$DOVECOT_PIDFILE" && lab_port_open "$LAB_IMAP_PORT" &&
  same_id "$STATE_DIR/dovecot.id" "$dovecot_id"; then
  keep_dovecot=1
fi
to_stop=("${amavisd_pidfiles[@]}")
((keep_sink)) || to_stop+=("$SINK_PIDFILE")
((keep_spamd)) || to_stop+=("$SPAMD_PIDFILE")
((keep_dovecot)) || to_stop+=("$DOVECOT_PIDFILE")
stopping=()
stopping_pids=() # pid and pid file; amavisd removes its pid file before it has exited
for f in "${to_stop[@]}"; do
  if lab_pidfile_alive "$f" && pid=$(lab_read_pidfile "$f"); then
    if [[ $f == "$DOVECOT_PIDFILE" ]]; then stopping+=(dovecot); else stopping+=("$(basename "$f" .pid)"); fi
    stopping_pids+=("$pid" "$f")
    kill -TERM "$pid" 2>/dev/null || true
  fi
done

# ---------------------------------------------------------------------------
# 4. (re)create the amavis_lab databases and load the committed DDL
# ---------------------------------------------------------------------------
reset_postgres() {
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres) <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$LAB_DB_USER') THEN
    CREATE ROLE $LAB_DB_USER;
  END IF;
END \$\$;
ALTER ROLE $LAB_DB_USER WITH LOGIN PASSWORD '$LAB_DB_PASS';
DROP DATABASE IF EXISTS $LAB_DB_NAME WITH (FORCE);
CREATE DATABASE $LAB_DB_NAME OWNER $LAB_DB_USER
  TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8';
SQL
  # load as the amavis role so that it owns the tables and sequences
  PGPASSWORD=$LAB_DB_PASS PGOPTIONS='-c client_min_messages=warning' \
    psql -X -q -v ON_ERROR_STOP=1 -h "$LAB_HOST" -p "$LAB_PG_PORT" -U "$LAB_DB_USER" \
    -d "$LAB_DB_NAME" -f "$DDL_DIR/pg.sql"
}
reset_mariadb() {
  local id
  # equivalent of PostgreSQL's DROP DATABASE ... WITH (FORCE)
  for id in $(mariadb -u root -N -B -e \
    "SELECT id FROM information_schema.processlist WHERE db = '$LAB_DB_NAME' AND id <> CONNECTION_ID()"); do
    mariadb -u root -e "KILL CONNECTION $id" 2>/dev/null || true
  done
  mariadb -u root <<SQL
SET SESSION lock_wait_timeout = 20;
DROP DATABASE IF EXISTS $LAB_DB_NAME;
CREATE DATABASE $LAB_DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE USER IF NOT EXISTS '$LAB_DB_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_DB_PASS';
CREATE USER IF NOT EXISTS '$LAB_DB_USER'@'localhost' IDENTIFIED BY '$LAB_DB_PASS';
ALTER USER '$LAB_DB_USER'@'127.0.0.1' IDENTIFIED BY '$LAB_DB_PASS';
ALTER USER '$LAB_DB_USER'@'localhost' IDENTIFIED BY '$LAB_DB_PASS';
GRANT ALL PRIVILEGES ON $LAB_DB_NAME.* TO '$LAB_DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON $LAB_DB_NAME.* TO '$LAB_DB_USER'@'localhost';
SQL
  MYSQL_PWD=$LAB_DB_PASS mariadb -h "$LAB_HOST" -P "$LAB_MY_PORT" -u "$LAB_DB_USER" "$LAB_DB_NAME" \
    <"$DDL_DIR/mysql.sql"
}
reset_postgres >"$STATE_DIR/reset-pg.log" 2>&1 &
pg_reset=$!
reset_mariadb >"$STATE_DIR/reset-mariadb.log" 2>&1 &
my_reset=$!
# SpamAssassin's Bayes store, SpamAssassin's own schema. SpamAssassin opens a
# connection per scan or learn and closes it, so a kept spamd does not mind.
reset_bayes() {
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres) <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$LAB_BAYES_DB_USER') THEN
    CREATE ROLE $LAB_BAYES_DB_USER;
  END IF;
END \$\$;
ALTER ROLE $LAB_BAYES_DB_USER WITH LOGIN PASSWORD '$LAB_BAYES_DB_PASS';
DROP DATABASE IF EXISTS $LAB_BAYES_DB_NAME WITH (FORCE);
CREATE DATABASE $LAB_BAYES_DB_NAME OWNER $LAB_BAYES_DB_USER
  TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8';
SQL
  PGPASSWORD=$LAB_BAYES_DB_PASS PGOPTIONS='-c client_min_messages=warning' \
    psql -X -q -v ON_ERROR_STOP=1 -h "$LAB_HOST" -p "$LAB_PG_PORT" -U "$LAB_BAYES_DB_USER" \
    -d "$LAB_BAYES_DB_NAME" -f "$LAB_SA_SQL_DIR/bayes_pg.sql"
}
reset_bayes >"$STATE_DIR/reset-bayes.log" 2>&1 &
bayes_reset=$!
wait "$pg_reset" || { lab_show_tail "$STATE_DIR/reset-pg.log"; lab_die "PostgreSQL reset failed"; }
wait "$my_reset" || { lab_show_tail "$STATE_DIR/reset-mariadb.log"; lab_die "MariaDB reset failed"; }
wait "$bayes_reset" || { lab_show_tail "$STATE_DIR/reset-bayes.log"; lab_die "Bayes store reset failed"; }
lab_log "databases $LAB_DB_NAME recreated, schema loaded (postgresql + mariadb)"
lab_log "bayes store $LAB_BAYES_DB_NAME recreated (postgresql, $LAB_SA_SQL_DIR/bayes_pg.sql)"

# ---------------------------------------------------------------------------
# 5. configuration and directories
# ---------------------------------------------------------------------------
install -m 644 "$HERE/amavisd-lab.conf" "$LAB_AMAVIS_CONF"
install -m 644 "$HERE/spamassassin-lab.cf" "$LAB_SA_CF"
# Debian's 05-domain_id runs `head -n 1 /etc/mailname` (noise if it is missing)
[[ -s /etc/mailname ]] || echo example.test >/etc/mailname
install -d -o amavis -g amavis -m 755 /var/run/amavis /var/log/amavis
install -d -o amavis -g amavis -m 750 /var/lib/amavis/tmp
for name in "${LAB_AMAVIS_NAMES[@]}"; do
  lab_amavis_instance "$name"
  install -d -o amavis -g amavis -m 750 "$(lab_amavis_dbhome "$AI_SFX")"
done
rm -rf "$LAB_SPAMD_OLD_VIRTUAL_DIR"
mkdir -p "$SINK_DIR"
find "$SINK_DIR" -mindepth 1 -delete

# ---------------------------------------------------------------------------
# 6. wait until the stopped daemons are gone; their ports must be free
# ---------------------------------------------------------------------------
for ((i = 0; i < ${#stopping_pids[@]}; i += 2)); do
  lab_wait_pid_gone "${stopping_pids[i]}" 20 "${stopping_pids[i + 1]}"
done
rm -f "${to_stop[@]}"
ports=()
for name in "${LAB_AMAVIS_NAMES[@]}"; do
  lab_amavis_instance "$name"
  ports+=("$AI_SMTP" "$AI_PDP")
done
((keep_sink)) || ports+=("$LAB_SINK_PORT")
((keep_spamd)) || ports+=("$LAB_SPAMD_PORT")
((keep_dovecot)) || ports+=("$LAB_IMAP_PORT")
# (an amavisd master is gone before its last children have closed the listeners)
lab_wait_ports_closed 2 "${ports[@]}" || true
for p in "${ports[@]}"; do
  if lab_port_open "$p"; then
    ss -ltnp "sport = :$p" >&2 || true
    lab_die "port $p is taken by a process this lab did not start"
  fi
done
lab_log "stopped: ${stopping[*]:-nothing was running}"

# ---------------------------------------------------------------------------
# 7. start: SMTP sink, spamd, Dovecot, amavisd x4 (they start concurrently)
# ---------------------------------------------------------------------------
if ((keep_sink)); then
  lab_log "SMTP sink kept (pid $(<"$SINK_PIDFILE"))"
else
  nohup "$NODE" "$HERE/smtp-sink.ts" --host "$LAB_HOST" --port "$LAB_SINK_PORT" --dir "$SINK_DIR" \
    >"$STATE_DIR/sink.log" 2>&1 </dev/null &
  echo $! >"$SINK_PIDFILE"
  echo "$sink_id" >"$STATE_DIR/sink.id"
fi
if ((keep_spamd)); then
  lab_log "spamd kept (pid $(<"$SPAMD_PIDFILE"))"
else
  rm -f "$SPAMD_LOG"
  # spamd daemonizes itself and writes its pid file (-r)
  (cd / && spamd "${spamd_args[@]}") || { lab_show_tail "$SPAMD_LOG"; lab_die "spamd failed to start"; }
  echo "$spamd_id" >"$STATE_DIR/spamd.id"
fi
if ((keep_dovecot)); then
  lab_log "dovecot kept (pid $(<"$DOVECOT_PIDFILE"))"
else
  # a fresh base_dir (no stale sockets) and fresh maildirs on every start
  rm -rf "$DOVECOT_DIR"
  install -d -m 755 "$DOVECOT_DIR"
  install -d -o nobody -g nogroup -m 700 "$DOVECOT_DIR/mail"
  printf '%s\n' "$dovecot_conf" >"$DOVECOT_DIR/dovecot.conf"
  install -m 640 -g dovecot /dev/null "$DOVECOT_DIR/users"
  printf '%s\n' "$dovecot_users" >"$DOVECOT_DIR/users"
  # daemonizes itself; the pid file is base_dir/master.pid
  (cd / && dovecot -c "$DOVECOT_DIR/dovecot.conf") >"$DOVECOT_DIR/start.log" 2>&1 || {
    lab_show_tail "$DOVECOT_DIR/start.log" "$DOVECOT_DIR/dovecot.log"
    lab_die "dovecot failed to start"
  }
  echo "$dovecot_id" >"$STATE_DIR/dovecot.id"
fi

# all at once: each `amavisd start` loads SpamAssassin before it daemonizes
amavisd_starts=()
for name in "${LAB_AMAVIS_NAMES[@]}"; do
  lab_amavis_start "$name" &
  amavisd_starts+=($!)
done
for p in "${amavisd_starts[@]}"; do
  wait "$p" || exit 1
done

if ((!keep_sink)); then
  lab_wait_port "$LAB_SINK_PORT" 20 "SMTP sink"
  lab_log "SMTP sink up (pid $(<"$SINK_PIDFILE")) on :$LAB_SINK_PORT -> $SINK_DIR"
fi
if ((!keep_spamd)); then
  lab_wait_port "$LAB_SPAMD_PORT" 60 spamd
  lab_log "spamd up (pid $(<"$SPAMD_PIDFILE")) on :$LAB_SPAMD_PORT"
fi
if ((!keep_dovecot)); then
  lab_wait_port "$LAB_IMAP_PORT" 10 dovecot
  lab_log "dovecot up (pid $(<"$DOVECOT_PIDFILE")) on :$LAB_IMAP_PORT, $((${#LAB_IMAP_USERS[@]} / 2)) users"
fi
for name in "${LAB_AMAVIS_NAMES[@]}"; do
  lab_amavis_wait "$name" 60
  lab_amavis_instance "$name"
  lab_log "amavisd ($name) ready (pid $(<"$(lab_amavis_pidfile "$AI_SFX")")):" \
    "SMTP :$AI_SMTP, AM.PDP :$AI_PDP + $(lab_amavis_socket "$AI_SFX")"
done

# ---------------------------------------------------------------------------
# 8. final health check and lab.env / lab.json for the tests
# ---------------------------------------------------------------------------
for f in "$SINK_PIDFILE" "$SPAMD_PIDFILE" "$DOVECOT_PIDFILE" "${amavisd_pidfiles[@]}"; do
  lab_pidfile_alive "$f" || lab_die "process of $f is not running"
done

pg_url="postgres://$LAB_DB_USER:$LAB_DB_PASS@$LAB_HOST:$LAB_PG_PORT/$LAB_DB_NAME"
my_url="mysql://$LAB_DB_USER:$LAB_DB_PASS@$LAB_HOST:$LAB_MY_PORT/$LAB_DB_NAME"
bayes_url="postgres://$LAB_BAYES_DB_USER:$LAB_BAYES_DB_PASS@$LAB_HOST:$LAB_PG_PORT/$LAB_BAYES_DB_NAME"
vars=(
  AMAVIS_LAB_STATE_DIR "$STATE_DIR"
  AMAVIS_LAB_PG_URL "$pg_url"
  AMAVIS_LAB_MYSQL_URL "$my_url"
  AMAVIS_LAB_PG_SMTP "$LAB_HOST:$LAB_PG_SMTP_PORT"
  AMAVIS_LAB_MY_SMTP "$LAB_HOST:$LAB_MY_SMTP_PORT"
  AMAVIS_LAB_PG_PDP "$LAB_HOST:$LAB_PG_PDP_PORT"
  AMAVIS_LAB_MY_PDP "$LAB_HOST:$LAB_MY_PDP_PORT"
  AMAVIS_LAB_PG_PDP_SOCKET "$(lab_amavis_socket '')"
  AMAVIS_LAB_MY_PDP_SOCKET "$(lab_amavis_socket -my)"
  AMAVIS_LAB_PG_LOG "$(lab_amavis_log '')"
  AMAVIS_LAB_MY_LOG "$(lab_amavis_log -my)"
  AMAVIS_LAB_SINK "$LAB_HOST:$LAB_SINK_PORT"
  AMAVIS_LAB_SINK_DIR "$SINK_DIR"
  AMAVIS_LAB_SPAMD "$LAB_HOST:$LAB_SPAMD_PORT"
  AMAVIS_LAB_BAYES_PG_URL "$bayes_url"
  AMAVIS_LAB_HOSTNAME "$LAB_AMAVIS_HOSTNAME"
  AMAVIS_LAB_LOCAL_DOMAIN example.test
  AMAVIS_LAB_IMAP_URL "imap://$LAB_HOST:$LAB_IMAP_PORT"
  AMAVIS_LAB_IMAP_USERS "$(lab_imap_users_json)"
  AMAVIS_LAB_IMAP_LOG "$DOVECOT_DIR/dovecot.log"
  AMAVIS_LAB_CHROMIUM "$(command -v chromium || true)"
  AMAVIS_LAB_SPARE_CTL "$HERE/spare.sh"
)
# the spares: what the outage tests need to reach them, and to stop and start them
for name in "${LAB_AMAVIS_SPARES[@]}"; do
  lab_amavis_instance "$name"
  vars+=(
    "AMAVIS_LAB_${AI_KEY}_NAME" "$name"
    "AMAVIS_LAB_${AI_KEY}_URL" "$([[ $AI_DRIVER == pg ]] && echo "$pg_url" || echo "$my_url")"
    "AMAVIS_LAB_${AI_KEY}_SMTP" "$LAB_HOST:$AI_SMTP"
    "AMAVIS_LAB_${AI_KEY}_PDP" "$LAB_HOST:$AI_PDP"
    "AMAVIS_LAB_${AI_KEY}_PDP_SOCKET" "$(lab_amavis_socket "$AI_SFX")"
    "AMAVIS_LAB_${AI_KEY}_PIDFILE" "$(lab_amavis_pidfile "$AI_SFX")"
    "AMAVIS_LAB_${AI_KEY}_LOG" "$(lab_amavis_log "$AI_SFX")"
    "AMAVIS_LAB_${AI_KEY}_START" "$(lab_amavis_start_command "$name")"
  )
done
vars+=(AMAVIS_LAB_READY_AT "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
env_quote() { # value -> shell word
  if [[ $1 =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}
json_quote() { # value -> JSON string
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
{
  echo "# amavis lab for amavis-console tests; written by tests/amavis-lab/setup.sh"
  for ((i = 0; i < ${#vars[@]}; i += 2)); do
    printf 'export %s=%s\n' "${vars[i]}" "$(env_quote "${vars[i + 1]}")"
  done
} >"$STATE_DIR/lab.env.tmp"
{
  printf '{\n'
  for ((i = 0; i < ${#vars[@]}; i += 2)); do
    sep=,
    ((i + 2 < ${#vars[@]})) || sep=''
    printf '  "%s": %s%s\n' "${vars[i]}" "$(json_quote "${vars[i + 1]}")" "$sep"
  done
  printf '}\n'
} >"$STATE_DIR/lab.json.tmp"
mv "$STATE_DIR/lab.json.tmp" "$STATE_DIR/lab.json"
mv "$STATE_DIR/lab.env.tmp" "$STATE_DIR/lab.env"
lab_log "wrote $STATE_DIR/lab.env and lab.json"
echo "amavis lab ready in $(lab_elapsed) s"
