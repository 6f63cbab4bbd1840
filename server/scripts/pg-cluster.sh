#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests (issue 17): no container, no service, nothing left behind.
#
#   pg-cluster.sh run -- CMD ARGS...   start a cluster in a new temporary directory, run CMD with
#                                      TEPAT_TEST_POSTGRES (and PG_BINDIR) exported, then stop the cluster and remove
#                                      the directory, also when CMD fails or the script is interrupted; exits with
#                                      CMD's status
#   pg-cluster.sh start DIR            start a cluster in DIR (created; must not exist or be empty) and print its URL;
#                                      the URL is also kept in DIR/url
#   pg-cluster.sh stop DIR             stop the cluster started in DIR and remove DIR
#   pg-cluster.sh bindir               print the directory of the PostgreSQL binaries used, or say why there is none
#                                      (exit 1)
#
# The binaries: $PG_BINDIR when set (it must hold initdb, pg_ctl and postgres), else the newest of Debian's
# /usr/lib/postgresql/*/bin, else the directory of `initdb` on PATH. The cluster: initdb (superuser `postgres`,
# UTF-8, locale C, `trust` authentication) run as an unprivileged user — as `postgres` (Debian's package creates
# it) when this script runs as root, or as a system user `tepat-pg` created for it when `postgres` is missing;
# listening on 127.0.0.1 only, on a free port (another is tried if it is taken meanwhile), its Unix socket inside
# the directory. fsync, synchronous_commit and full_page_writes are off (on with PG_DURABLE=1, for the benchmarks):
# the data dies with the test, so only speed
# matters. TEPAT_TEST_POSTGRES is the superuser's URL, postgres://postgres@127.0.0.1:PORT/postgres (an admin URL:
# each test creates its own database in the cluster).
#
# A cluster left by an interrupted run (a tepat-pg.* directory under /tmp, maybe with its server still running)
# is ignored: every run has its own directory and port.
set -euo pipefail

MARKER=.tepat-pg-cluster
SUPERUSER=postgres

die() {
    echo "pg-cluster.sh: $*" >&2
    exit 1
}

# The directory holding initdb, pg_ctl and postgres, or a reason on stderr and status 1.
find_bindir() {
    local dir
    if [[ -n ${PG_BINDIR:-} ]]; then
        dir=$PG_BINDIR
    else
        dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
        if [[ -z $dir ]] && command -v initdb >/dev/null 2>&1; then
            dir=$(dirname "$(command -v initdb)")
        fi
        if [[ -z $dir ]]; then
            echo "no PostgreSQL binaries (no /usr/lib/postgresql/*/bin, no initdb on PATH; Debian: apt-get install -y postgresql)" >&2
            return 1
        fi
    fi
    local tool
    for tool in initdb pg_ctl postgres; do
        if [[ ! -x $dir/$tool ]]; then
            echo "no PostgreSQL binaries: $dir/$tool is missing" >&2
            return 1
        fi
    done
    echo "$dir"
}

# Runs a PostgreSQL binary as the cluster's owner: this user, or an unprivileged one when this is root (initdb and
# postgres refuse to run as root).
as_owner() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

choose_owner() {
    OWNER=$(id -un)
    if [[ $(id -u) == 0 ]]; then
        if getent passwd postgres >/dev/null; then
            OWNER=postgres
        else
            getent passwd tepat-pg >/dev/null ||
                useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tepat-pg
            OWNER=tepat-pg
        fi
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found on 127.0.0.1"
}

# start DIR: initdb into DIR/data and start the server; prints the URL.
start() {
    local dir=$1 bindir port url
    bindir=$(find_bindir) || exit 1
    mkdir -p "$dir"
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    dir=$(cd "$dir" && pwd)
    touch "$dir/$MARKER"
    mkdir "$dir/socket"
    choose_owner
    [[ $OWNER == "$(id -un)" ]] || chown -R "$OWNER" "$dir"
    # The owner's working directory must be readable by it (root's home is not).
    (cd "$dir" && as_owner "$bindir/initdb" -D "$dir/data" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C \
        --no-instructions --no-sync >"$dir/initdb.log" 2>&1) ||
        { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }
    local started= speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # PG_DURABLE=1 (make bench): every commit on disk, as a production database and SQLite's synchronous=FULL.
    [[ ${PG_DURABLE:-} == 1 ]] && speed="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
            "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 $speed -c max_connections=200" \
            >"$dir/pg_ctl.log" 2>&1); then
            started=1
            break
        fi
        # Taken between the check and the bind (or another start failure): try another port, unless it was not a
        # port clash.
        grep -q 'could not bind\|Address already in use' "$dir/server.log" 2>/dev/null ||
            { cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null; die "postgres did not start (log above)"; }
    done
    [[ -n $started ]] || die "postgres did not start: no free port after 5 tries"
    url="postgres://$SUPERUSER@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$bindir" >"$dir/bindir"
    echo "$url"
}

# stop DIR: stop the server (if running) and remove DIR.
stop() {
    local dir=$1
    [[ -f $dir/$MARKER ]] || die "$dir was not made by pg-cluster.sh start"
    local bindir
    bindir=$(cat "$dir/bindir" 2>/dev/null || find_bindir) || true
    if [[ -n $bindir && -f $dir/data/postmaster.pid ]]; then
        choose_owner
        (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$dir"
}

run() {
    [[ $# -gt 0 ]] || die "usage: pg-cluster.sh run -- CMD ARGS..."
    local dir url status
    dir=$(mktemp -d -t tepat-pg.XXXXXXXX)
    # shellcheck disable=SC2064 # the directory is fixed now
    trap "stop '$dir'" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    url=$(start "$dir")
    echo "== PostgreSQL $("$(cat "$dir/bindir")/postgres" --version | awk '{print $3}') cluster in $dir at $url (removed after the run)"
    status=0
    TEPAT_TEST_POSTGRES=$url PG_BINDIR=$(cat "$dir/bindir") "$@" || status=$?
    return "$status"
}

case ${1:-} in
start)
    [[ $# == 2 ]] || die "usage: pg-cluster.sh start DIR"
    start "$2"
    ;;
stop)
    [[ $# == 2 ]] || die "usage: pg-cluster.sh stop DIR"
    stop "$2"
    ;;
run)
    shift
    [[ ${1:-} == -- ]] && shift
    run "$@"
    ;;
bindir)
    find_bindir
    ;;
*)
    die "usage: pg-cluster.sh start DIR | stop DIR | run -- CMD ARGS... | bindir"
    ;;
esac
