#!/usr/bin/env bash
# A throwaway PostgreSQL server for the records tests (Debian's postgresql
# package: apt-get install postgresql; any major version, 15 on bookworm).
#
#   Tests/Support/postgres.sh start [DIR]   start a server, print its URL
#   Tests/Support/postgres.sh url DIR       print the URL again
#   Tests/Support/postgres.sh stop DIR      stop the server, remove DIR
#
# `start` makes DIR (default: a new directory under $TMPDIR or /tmp), puts
# the cluster, the log and the Unix socket in it, listens on 127.0.0.1 only
# on a free port, and creates the login role `tieline` with a random
# password owning the database `tieline`. It prints
#   postgres://tieline:PASSWORD@127.0.0.1:PORT/tieline?sslmode=disable
# and writes it to DIR/url (mode 0600). The last line of stdout is the URL;
# progress goes to stderr.
#
# initdb and postgres refuse to run as root, so as root the server runs as
# the `postgres` system user (made by the package) through runuser.
set -euo pipefail

marker=.tieline-postgres    # `stop` removes only directories holding this
role=tieline
database=tieline

die() { echo "postgres.sh: $*" >&2; exit 1; }

usage() { die "usage: $0 start [DIR] | url DIR | stop DIR"; }

# The newest installed server's binaries, or PG_BIN.
find_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$found" ] && [ -x "$found/initdb" ] || die "no PostgreSQL server found (apt-get install postgresql)"
    echo "$found"
}

# Runs a command as the owner of the cluster.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    # bash's /dev/tcp: the connect succeeds only if something listens.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local dir=${1:-}
    local bin
    bin=$(find_bin)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user (from the postgresql package)"
    fi
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/tieline-postgres.XXXXXX")
    else
        mkdir -p "$dir"
        [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    fi
    dir=$(cd "$dir" && pwd)
    touch "$dir/$marker"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
        # The postgres user must be able to reach DIR through its parents.
        as_owner test -x "$dir" || die "the postgres user cannot reach $dir (choose a DIR under /tmp)"
    fi
    chmod 700 "$dir"
    # Run from DIR: the tools complain when the current directory (say
    # /root) is unreadable to the postgres user.
    cd "$dir"

    local password
    password=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
    # The superuser logs in through the socket in DIR only (trust); over
    # TCP every login needs a password (scram-sha-256).
    echo "postgres.sh: initdb in $dir" >&2
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    local port="" attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        local candidate=$(( 20000 + RANDOM % 40000 ))
        port_in_use "$candidate" && continue
        # Another process may take the port between the check and the
        # start; pg_ctl then fails and the loop tries another.
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $candidate -k $dir" >/dev/null 2>&1; then
            port=$candidate
            break
        fi
        echo "postgres.sh: start on port $candidate failed (attempt $attempt), trying another" >&2
    done
    [ -n "$port" ] || { tail -n 20 "$dir/server.log" >&2 || true; die "the server did not start"; }
    echo "$port" >"$dir/port"

    as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $role LOGIN PASSWORD '$password'" \
        -c "CREATE DATABASE $database OWNER $role" >/dev/null \
        || die "creating the role and the database failed"

    local url="postgres://$role:$password@127.0.0.1:$port/$database?sslmode=disable"
    (umask 077; echo "$url" >"$dir/url")
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir (stop: $0 stop $dir)" >&2
    echo "$url"
}

stop() {
    local dir=${1:-}
    [ -n "$dir" ] || usage
    [ -d "$dir" ] || { echo "postgres.sh: $dir is gone already" >&2; return 0; }
    [ -f "$dir/$marker" ] || die "$dir was not made by this script; not touching it"
    local bin
    bin=$(find_bin)
    cd "$dir"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null \
            || echo "postgres.sh: pg_ctl stop failed; removing $dir anyway" >&2
    fi
    cd /
    rm -rf "$dir"
    echo "postgres.sh: stopped, removed $dir" >&2
}

case "${1:-}" in
    start) start "${2:-}" ;;
    url) [ -n "${2:-}" ] || usage; cat "$2/url" ;;
    stop) stop "${2:-}" ;;
    *) usage ;;
esac
