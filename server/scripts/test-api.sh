#!/usr/bin/env bash
# `make test-api`: schemathesis (from PyPI, installed into .tools/venv) against a running tepat-server, with
# schemas/openapi.yaml. Fails on any 5xx and on any response that does not match the document.
#
# It builds the server, makes a data directory with users, the two forms, an assignment and one synced visit
# (through `tepat-server admin` and the API), serves on a free loopback port and runs schemathesis twice: once
# as an enumerator device and once as a supervisor device, so every endpoint is reached with a role it accepts
# and with one it refuses. The server it started is stopped at the end (by its pid).
#
#   test-api.sh              the server on SQLite (its data directory); a TEPAT_DATABASE_URL of the caller's is
#                            ignored
#   test-api.sh --postgres   the server and every admin command on PostgreSQL: a new database in the cluster
#                            named by TEPAT_TEST_POSTGRES (an admin URL: `server/scripts/pg-cluster.sh run` sets it;
#                            `make test-postgres` runs this inside one), passed as TEPAT_DATABASE_URL and dropped
#                            at the end; the data directory keeps only the photos
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tools=${TOOLS:-$root/.tools}
cargo=${CARGO:-cargo}
examples=${API_TEST_EXAMPLES:-60}
store=sqlite
case ${1:-} in
"") ;;
--postgres) store=postgres ;;
*)
    echo "usage: test-api.sh [--postgres]" >&2
    exit 2
    ;;
esac
unset TEPAT_DATABASE_URL
if [[ $store == postgres ]]; then
    [[ -n ${TEPAT_TEST_POSTGRES:-} ]] ||
        { echo "test-api.sh --postgres needs TEPAT_TEST_POSTGRES (run it inside server/scripts/pg-cluster.sh run)" >&2; exit 2; }
    psql=psql
    [[ -n ${PG_BINDIR:-} && -x $PG_BINDIR/psql ]] && psql=$PG_BINDIR/psql
    pg_database=tepat_api_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
fi

if ! "$tools/venv/bin/st" --version >/dev/null 2>&1; then
    echo "== installing schemathesis into $tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet "schemathesis==4.*"
fi

$cargo build --quiet -p tepat-server
target_dir=$($cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/tepat-server"

data=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $store == postgres ]]; then
        "$psql" -q -X "$TEPAT_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >/dev/null ||
            echo "could not drop $pg_database" >&2
    fi
    rm -rf "$data"
}
trap cleanup EXIT

if [[ $store == postgres ]]; then
    "$psql" -q -X -v ON_ERROR_STOP=1 "$TEPAT_TEST_POSTGRES" -c "CREATE DATABASE $pg_database" >/dev/null
    # The server and the admin commands read it from the environment (their --database).
    export TEPAT_DATABASE_URL=${TEPAT_TEST_POSTGRES%/*}/$pg_database
fi

admin() { "$bin" admin --data "$data" "$@" 2>/dev/null; }
admin create-user --id enum1 --name "Pendamping Satu" --role enumerator --region 17.71 >/dev/null
admin create-user --id sup1 --name "Supervisor Kota" --role supervisor --region 17.71 >/dev/null
admin publish-form schemas/forms/dtsen_groundcheck.json >/dev/null
admin publish-form schemas/forms/ppks_asesmen.json >/dev/null
printf 'assignment_id,user_id,form_id,form_version,region_code,label,head_name\nA-1,enum1,dtsen_groundcheck,1,17.71.01.1001,Budi RT 01,Budi\n' >"$data/assignments.csv"
admin import-assignments "$data/assignments.csv" >/dev/null
enum_code=$(admin enrol-code --user enum1)
sup_code=$(admin enrol-code --user sup1)

"$bin" serve --listen 127.0.0.1:0 --data "$data" --log-format json >"$data/stdout" 2>"$data/server.log" &
server_pid=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$data/stdout" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$data/stdout")
[[ -n $url ]] || { echo "tepat-server did not start:"; cat "$data/server.log"; exit 1; }
echo "== tepat-server on $url, store: $store"
if [[ $store == postgres ]] && ! grep -q "database open.*$pg_database" "$data/server.log"; then
    echo "tepat-server did not say it opened $pg_database:"
    cat "$data/server.log"
    exit 1
fi

# Enrol both devices and sync one visit, so the supervisor endpoints have something to return.
read -r enum_token sup_token < <(python3 - "$url" "$enum_code" "$sup_code" <<'PY'
import json, sys, urllib.request, uuid
url, enum_code, sup_code = sys.argv[1:]
def call(path, body, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(req) as r:
        return json.load(r)
enum = call("/api/v1/enrol", {"code": enum_code, "device_name": "schemathesis enumerator"})
sup = call("/api/v1/enrol", {"code": sup_code, "device_name": "schemathesis supervisor"})
visit = {"visit_id": str(uuid.uuid4()), "revision": 1, "form_id": "dtsen_groundcheck", "form_version": 1,
         "assignment_id": "A-1", "visit_date": "2026-11-20", "answers": {"visit_outcome": "0"},
         "device_times": {"started_at": "2026-11-20T08:00:00Z", "device_seq": 1}}
sync = call("/api/v1/sync", {"protocol": 1, "device_id": enum["device_id"], "batch_id": str(uuid.uuid4()),
                             "cursor": 0, "visits": [visit]}, enum["token"])
assert sync["receipts"][0]["status"] == "accepted", sync["receipts"]
print(enum["token"], sup["token"])
PY
)

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
status=0
for who in enumerator supervisor; do
    token=$enum_token
    [[ $who == supervisor ]] && token=$sup_token
    echo "== schemathesis as the $who device"
    # Run inside the scratch directory: schemathesis keeps a cache folder in its working directory.
    (cd "$data" && "$tools/venv/bin/st" run "$root/schemas/openapi.yaml" --url "$url" \
        --header "Authorization: Bearer $token" \
        --checks "$checks" --max-examples "$examples" --seed 20261123 \
        --generation-database none --no-color) || status=1
done
if grep -q '"level":"ERROR"' "$data/server.log"; then
    echo "== the server logged errors:"
    grep '"level":"ERROR"' "$data/server.log" | head -20
    status=1
fi
exit $status
