#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for the end-to-end tests and demos.
#
#   eval "$(bash scripts/postgres.sh start)"   # prints export lines for PG* variables
#   bash scripts/postgres.sh stop              # stops it and deletes its files
#
# The cluster listens on 127.0.0.1 only, on port 55432 or the next free one, and
# keeps its data, socket and log in PG_DIR (default /tmp/tap-zendesk-incremental-pg).
# It has a database `zendesk` owned by the password-authenticated role `zendesk`.
# Run as root, it installs Debian's postgresql package when no pg_ctl is found and
# runs the server as the `postgres` OS user.
set -euo pipefail

PG_DIR="${PG_DIR:-${TMPDIR:-/tmp}/tap-zendesk-incremental-pg}"
PG_PORT="${PG_PORT:-55432}"
PG_DATABASE=zendesk
PG_USER=zendesk
PG_PASSWORD=zendesk-local

log() {
    echo "postgres.sh: $*" >&2
}

find_bin_dir() {
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    local candidate
    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$candidate" && -x "$candidate/pg_ctl" ]]; then
        echo "$candidate"
    fi
}

install_postgres() {
    if [[ "$(id -u)" != 0 ]]; then
        log "pg_ctl not found; install PostgreSQL (Debian: apt-get install postgresql) and retry"
        exit 1
    fi
    log "pg_ctl not found; installing Debian's postgresql package"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

# Runs a command as the OS user that owns the cluster.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_env() {
    cat <<EOF
export PGHOST=127.0.0.1
export PGPORT=$(cat "$PG_DIR/port")
export PGUSER=$PG_USER
export PGPASSWORD=$PG_PASSWORD
export PGDATABASE=$PG_DATABASE
EOF
}

is_running() {
    [[ -f "$PG_DIR/port" ]] && as_owner "$BIN_DIR/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

start() {
    if is_running; then
        log "already running in $PG_DIR on port $(cat "$PG_DIR/port")"
        print_env
        return
    fi

    local port="$PG_PORT"
    local tries=0
    while port_in_use "$port"; do
        tries=$((tries + 1))
        if ((tries > 100)); then
            log "no free port from $PG_PORT to $port on 127.0.0.1"
            exit 1
        fi
        port=$((port + 1))
    done

    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$PG_DIR"
    fi
    chmod 700 "$PG_DIR"
    as_owner "$BIN_DIR/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log"

    as_owner "$BIN_DIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off" start >&2
    echo "$port" >"$PG_DIR/port"

    as_owner "$BIN_DIR/psql" -h "$PG_DIR" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -q >&2 <<EOF
CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD';
CREATE DATABASE $PG_DATABASE OWNER $PG_USER;
EOF
    log "PostgreSQL listening on 127.0.0.1:$port, data in $PG_DIR"
    print_env
}

stop() {
    if [[ ! -d "$PG_DIR" ]]; then
        log "nothing to stop: $PG_DIR does not exist"
        return
    fi
    if is_running; then
        as_owner "$BIN_DIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >&2
    fi
    rm -rf "$PG_DIR"
    log "stopped and removed $PG_DIR"
}

BIN_DIR="$(find_bin_dir)"
case "${1:-}" in
    start)
        if [[ -z "$BIN_DIR" ]]; then
            install_postgres
            BIN_DIR="$(find_bin_dir)"
        fi
        start
        ;;
    stop)
        if [[ -z "$BIN_DIR" ]]; then
            log "pg_ctl not found, so no cluster can be running"
            exit 0
        fi
        stop
        ;;
    env)
        print_env
        ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
