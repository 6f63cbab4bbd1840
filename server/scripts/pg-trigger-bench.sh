#!/usr/bin/env bash
# What the triggers deriving visit columns from the document cost per insert, PostgreSQL (postgres_schema.sql's
# visits_derive) against SQLite (the server's own schema, through python3's sqlite3), on the same 3.7 KB document
# (80 text answers, a GPS fix, a photo, 2 warning notes, a prefill review): N visits inserted in one statement with
# the triggers, then N without, on each. Run it in a throw-away cluster:
#
#   server/scripts/pg-cluster.sh run -- server/scripts/pg-trigger-bench.sh [N]     (N: 20000 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo=${CARGO:-cargo}
n=${1:-20000}
[[ $n =~ ^[0-9]+$ ]] || { echo "N must be a number" >&2; exit 1; }
[[ -n ${TEPAT_TEST_POSTGRES:-} ]] || { echo "TEPAT_TEST_POSTGRES is not set (run under pg-cluster.sh run --)" >&2; exit 1; }
psql=psql
[[ -n ${PG_BINDIR:-} && -x ${PG_BINDIR}/psql ]] && psql=$PG_BINDIR/psql

$cargo build --quiet -p tepat-server
target_dir=$($cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
scratch=$(mktemp -d)
db=tepat_trigger_bench_$$
trap '"$psql" -X -q -d "$TEPAT_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
"$target_dir/debug/tepat-server" admin --data "$scratch" list-users >/dev/null 2>&1

url=${TEPAT_TEST_POSTGRES%/*}/$db
"$psql" -X -q -v ON_ERROR_STOP=1 -d "$TEPAT_TEST_POSTGRES" -c "CREATE DATABASE $db"
"$psql" -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$url" -f server/src/db/postgres_schema.sql

N=$n PSQL=$psql URL=$url SQLITE_DB=$scratch/tepat.db python3 - <<'PY'
import os, re, sqlite3, subprocess, time
n, url = int(os.environ["N"]), os.environ["URL"]
doc = ('{"visit_id":"x","answers":{' + ",".join(f'"q{i}":"jawaban nomor {i} yang cukup panjang"' for i in range(1, 81))
       + ',"lokasi":{"lat":-6.2,"lon":106.8},"foto":{"sha256":"ab","bytes":1}},"warning_notes":{"a":"b","c":"d"},'
       '"prefill_review":{"nama":"confirmed","dusun":"changed"}}')
columns = ("visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id, form_version, region_code, "
           "visit_date, received_at, findings, error_count, warning_count, status, seq")
rows = "'{p}' || g, 1, 'h', {doc}, 'u1', 'd', 'b', 'f', 1, 'r', 'd', 't', '[]', 0, 0, 'submitted', {base} + g"
quoted = "'" + doc.replace("'", "''") + "'"

def pg_ms(sql):
    out = subprocess.run([os.environ["PSQL"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", "\\timing on",
                          "-c", sql], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Time: ([0-9.]+) ms", out).group(1))

subprocess.run([os.environ["PSQL"], "-X", "-q", "-d", url, "-c",
                "INSERT INTO users (user_id, name, role, created_at) VALUES ('u1', 'n', 'enumerator', 't')"], check=True)
insert_pg = f"INSERT INTO visits ({columns}) SELECT {rows} FROM generate_series(1, {n}) AS g"
pg_with = pg_ms(insert_pg.format(p="v", doc=quoted, base=0))
subprocess.run([os.environ["PSQL"], "-X", "-q", "-d", url, "-c", "ALTER TABLE visits DISABLE TRIGGER visits_derive"],
               check=True)
pg_without = pg_ms(insert_pg.format(p="w", doc=quoted, base=10 * n))

lite = sqlite3.connect(os.environ["SQLITE_DB"], isolation_level=None)
lite.execute("INSERT INTO users (user_id, name, role, created_at) VALUES ('u1', 'n', 'enumerator', 't')")
insert_lite = (f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) "
               f"INSERT INTO visits ({columns}) SELECT {rows} FROM s")
def lite_ms(sql):
    lite.execute("BEGIN")
    start = time.perf_counter()
    lite.execute(sql)
    lite.execute("COMMIT")
    return (time.perf_counter() - start) * 1000
lite_with = lite_ms(insert_lite.format(p="v", doc=quoted, base=0))
for trigger in ("visits_evidence", "visits_prefill_review"):
    lite.execute(f"DROP TRIGGER {trigger}")
lite_without = lite_ms(insert_lite.format(p="w", doc=quoted, base=10 * n))

def line(name, with_ms, without_ms):
    print(f"{name}: {n} inserts of a {len(doc)}-byte document: {with_ms:.0f} ms with the triggers, {without_ms:.0f} ms "
          f"without; the triggers cost {(with_ms - without_ms) * 1000 / n:.0f} µs per visit")
line("PostgreSQL", pg_with, pg_without)
line(f"SQLite {sqlite3.sqlite_version}", lite_with, lite_without)
PY
