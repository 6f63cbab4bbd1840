#!/usr/bin/env bash
# The PostgreSQL schema (server/src/db/postgres_schema.sql) against the SQLite one the server makes (issue 17).
#
# Needs TEPAT_TEST_POSTGRES (an admin URL, postgres://USER@HOST:PORT/DB, as `pg-cluster.sh run` exports), psql
# ($PG_BINDIR/psql, else on PATH) and python3 (its sqlite3 module). Run it inside a throw-away cluster:
#
#   server/scripts/pg-cluster.sh run -- server/scripts/pg-schema-check.sh
#
# It builds tepat-server, lets it create a SQLite database at the latest version (`admin list-users` on an empty
# data directory: the real migrations), lets it create its PostgreSQL schema in a new database (`admin --database
# URL list-users`: the baseline file and `postgres::MIGRATIONS`, as a server does; dropped at the end), and
# compares:
#   * the structure: the schema versions, every table's columns in order (INTEGER → bigint, REAL → double
#     precision, TEXT → text COLLATE "C"), NOT NULL, defaults, primary keys (rowid aliases → identity columns),
#     unique constraints, foreign keys, and every index with its columns and partial WHERE;
#   * the behaviour, with the same SQL run on both: the columns the triggers derive from visit documents
#     (note_count, has_gps, has_photo, prefill_review) for documents that exercise every branch, at insert and
#     when `doc` is replaced; the ledger refusing UPDATE and DELETE with its message; the CHECK constraints; text
#     order (bytewise); `UPDATE … RETURNING` on the counters, `INSERT … ON CONFLICT`, count(*) and the identity
#     columns assigning ids as rowid does.
# Prints every difference and exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo=${CARGO:-cargo}

[[ -n ${TEPAT_TEST_POSTGRES:-} ]] ||
    { echo "pg-schema-check.sh: TEPAT_TEST_POSTGRES is not set (run it under server/scripts/pg-cluster.sh run --)" >&2; exit 1; }
psql=psql
[[ -n ${PG_BINDIR:-} && -x ${PG_BINDIR}/psql ]] && psql=$PG_BINDIR/psql
command -v "$psql" >/dev/null || { echo "pg-schema-check.sh: psql not found" >&2; exit 1; }

$cargo build --quiet -p tepat-server
target_dir=$($cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$target_dir/debug/tepat-server" admin --data "$scratch" list-users >/dev/null 2>&1

PSQL=$psql SQLITE_DB=$scratch/tepat.db SCHEMA=server/src/db/postgres_schema.sql \
    SERVER="$target_dir/debug/tepat-server" SCRATCH="$scratch" python3 - <<'PY'
import os, random, sqlite3, subprocess, sys

ADMIN_URL = os.environ["TEPAT_TEST_POSTGRES"]
PSQL = os.environ["PSQL"]
SCHEMA = os.environ["SCHEMA"]
SEP, RS, NULL = "\x1f", "\x1e", "<NULL>"
differences = []


def differ(what, sqlite_value, pg_value):
    differences.append(f"{what}:\n    SQLite:     {sqlite_value!r}\n    PostgreSQL: {pg_value!r}")


def url_of(db):
    base, _, _ = ADMIN_URL.partition("?")
    return base.rsplit("/", 1)[0] + "/" + db


def psql(url, sql=None, file=None, single=False):
    args = [PSQL, "-X", "-q", "-A", "-t", "-F", SEP, "-R", RS, "-P", f"null={NULL}", "-v", "ON_ERROR_STOP=1", "-d", url]
    if single:
        args.append("--single-transaction")
    args += ["-f", file] if file else ["-c", sql]
    return subprocess.run(args, capture_output=True, text=True)


class Pg:
    def __init__(self, url):
        self.url = url

    def rows(self, sql):
        r = psql(self.url, sql)
        if r.returncode != 0:
            raise RuntimeError(f"PostgreSQL: {sql}\n{r.stderr}")
        out = r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout
        return [tuple(None if v == NULL else v for v in row.split(SEP)) for row in out.split(RS) if out]

    def try_exec(self, sql):
        """None when it succeeded, else the error message."""
        r = psql(self.url, sql)
        return None if r.returncode == 0 else r.stderr.strip()


def lit(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def text(value):
    """A value as psql prints it, so both sides compare as text."""
    return None if value is None else str(value)


db_name = f"tepat_schema_check_{os.getpid()}_{random.randrange(1 << 30)}"
# A database whose default collation is not bytewise (ICU, Indonesian: 'a' < 'B'), when the cluster has ICU, so that
# the text order compared below depends on the columns' COLLATE "C"; else the cluster's default.
created = psql(ADMIN_URL, f"CREATE DATABASE {db_name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' "
                          "LOCALE_PROVIDER icu ICU_LOCALE 'id-ID'")
db_collation = "ICU id-ID"
if created.returncode != 0:
    created = psql(ADMIN_URL, f"CREATE DATABASE {db_name} TEMPLATE template0 ENCODING 'UTF8'")
    db_collation = "the cluster's default"
if created.returncode != 0:
    sys.exit(f"cannot create the check database: {created.stderr}")
try:
    # The schema as the server makes it: the baseline file and every PostgreSQL migration after it
    # (`postgres::MIGRATIONS`), applied by `tepat-server` itself on its first connection.
    loaded = subprocess.run([os.environ["SERVER"], "admin", "--database", url_of(db_name), "list-users"],
                            capture_output=True, text=True, env={**os.environ, "RUST_LOG": "warn"})
    if loaded.returncode != 0:
        sys.exit(f"tepat-server cannot create its schema in PostgreSQL:\n{loaded.stderr}")
    pg = Pg(url_of(db_name))
    lite = sqlite3.connect(os.environ["SQLITE_DB"], isolation_level=None)
    lite.execute("PRAGMA foreign_keys = ON")

    def lite_rows(sql):
        return [tuple(text(v) for v in row) for row in lite.execute(sql).fetchall()]

    def lite_try(sql):
        try:
            lite.executescript(sql)
            return None
        except sqlite3.Error as e:
            return str(e)

    # ---- structure -----------------------------------------------------------------------------------------
    lite_version = lite.execute("PRAGMA user_version").fetchone()[0]
    pg_version = pg.rows("SELECT version FROM schema_version")
    if pg_version != [(str(lite_version),)]:
        differ("schema version (every SQLite migration needs its PostgreSQL step in postgres::MIGRATIONS)",
               lite_version, pg_version)

    lite_tables = sorted(r[0] for r in lite_rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    pg_tables = sorted(r[0] for r in pg.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'"))
    if lite_tables != pg_tables:
        differ("tables", lite_tables, pg_tables)

    pg_columns = {}
    for t, name, dtype, nullable, collation, default, identity in pg.rows(
            "SELECT table_name, column_name, data_type, is_nullable, collation_name, column_default, is_identity "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"):
        pg_columns.setdefault(t, []).append((name, dtype, nullable == "NO", collation, default, identity == "YES"))
    pg_pk = {}
    for t, col in pg.rows(
            "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
            "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public' ORDER BY k.table_name, k.ordinal_position"):
        pg_pk.setdefault(t, []).append(col)
    expected_type = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text"}
    for t in sorted(set(lite_tables) & set(pg_tables)):
        info = lite.execute(f"PRAGMA table_info({t})").fetchall()
        lite_cols = [c[1] for c in info]
        pg_cols = [c[0] for c in pg_columns.get(t, [])]
        if lite_cols != pg_cols:
            differ(f"{t}: columns in order", lite_cols, pg_cols)
            continue
        lite_pk = [c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5])]
        if lite_pk != pg_pk.get(t, []):
            differ(f"{t}: primary key", lite_pk, pg_pk.get(t, []))
        rowid_alias = len(lite_pk) == 1 and any(c[1] == lite_pk[0] and c[2].upper() == "INTEGER" for c in info)
        for (_, name, ltype, notnull, ldefault, pk), (_, dtype, pg_notnull, collation, pdefault, identity) in zip(
                info, pg_columns[t]):
            want = expected_type.get(ltype.upper())
            if dtype != want or (want == "text" and collation != "C"):
                differ(f"{t}.{name}: type", ltype, f"{dtype} COLLATE {collation}")
            # A primary key is NOT NULL in PostgreSQL (SQLite lets a text key be NULL: a quirk no row relies on).
            if bool(notnull) != pg_notnull and not (pk and pg_notnull):
                differ(f"{t}.{name}: NOT NULL", bool(notnull), pg_notnull)
            pdefault_plain = None if pdefault is None or identity else pdefault.split("::")[0]
            if ldefault != pdefault_plain:
                differ(f"{t}.{name}: default", ldefault, pdefault)
            if identity != (rowid_alias and pk == 1):
                differ(f"{t}.{name}: assigned when omitted (rowid alias / identity)", rowid_alias and pk == 1, identity)

    # Unique constraints and indexes: (table, columns, unique, partial WHERE), by name for the explicit indexes.
    lite_unique, lite_indexes = set(), {}
    for t in lite_tables:
        for _, name, unique, origin, partial in lite.execute(f"PRAGMA index_list({t})").fetchall():
            cols = tuple(r[2] for r in lite.execute(f"PRAGMA index_info({name})").fetchall())
            if origin == "u":
                lite_unique.add((t, cols))
            elif origin == "c":
                lite_indexes[name] = (t, cols, bool(unique), bool(partial))
    pg_unique = {(t, tuple(cols.split(","))) for t, cols in pg.rows(
        "SELECT c.conrelid::regclass::text, string_agg(a.attname, ',' ORDER BY k.n) FROM pg_constraint c "
        "CROSS JOIN unnest(c.conkey) WITH ORDINALITY AS k (attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.contype = 'u' AND c.connamespace = 'public'::regnamespace GROUP BY c.oid, c.conrelid")}
    if lite_unique != pg_unique:
        differ("unique constraints", sorted(lite_unique), sorted(pg_unique))
    pg_indexes = {name: (t, tuple(cols.split(",")), unique == "t", partial == "t") for name, t, cols, unique, partial in pg.rows(
        "SELECT i.relname, x.indrelid::regclass::text, string_agg(a.attname, ',' ORDER BY k.n), x.indisunique, "
        "x.indpred IS NOT NULL FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "CROSS JOIN unnest(x.indkey) WITH ORDINALITY AS k (attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "WHERE i.relnamespace = 'public'::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "GROUP BY i.relname, x.indrelid, x.indisunique, x.indpred IS NOT NULL")}
    if lite_indexes != pg_indexes:
        differ("indexes", sorted(lite_indexes.items()), sorted(pg_indexes.items()))
    lite_fks = set()
    for t in lite_tables:
        for row in lite.execute(f"PRAGMA foreign_key_list({t})").fetchall():
            lite_fks.add((t, row[3], row[2], row[4]))
    pg_fks = set(pg.rows(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"))
    if lite_fks != pg_fks:
        differ("foreign keys", sorted(lite_fks), sorted(pg_fks))

    # ---- behaviour: the same statements on both ------------------------------------------------------------
    def both(sql):
        """Runs a statement that returns rows on both and compares them."""
        a, b = lite_rows(sql), pg.rows(sql)
        if len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    differ(f"{sql} (row {i + 1})", x, y)
        else:
            differ(sql, a, b)
        return a

    def both_exec(sql, fails=False, message=None):
        a, b = lite_try(sql), pg.try_exec(sql)
        if fails:
            if a is None or b is None or (message and (message not in a or message not in b)):
                differ(f"{sql} (must fail{': ' + message if message else ''})", a, b)
        elif a is not None or b is not None:
            differ(f"{sql} (must succeed)", a, b)

    both_exec("INSERT INTO users (user_id, name, role, created_at) VALUES ('u1', 'Pendamping Satu', 'enumerator', "
              "'2026-12-01T08:00:00.000000Z')")

    # Documents for the derived columns: note_count, has_gps, has_photo, prefill_review.
    gps = '{"lat":-6.2,"lon":106.8}'
    photo = '{"sha256":"ab12","bytes":1}'
    docs = {
        "notes_two": '{"answers":{},"warning_notes":{"a":"satu","b":"dua"}}',
        "notes_array": '{"answers":{},"warning_notes":["x","y","z"]}',
        "notes_empty": '{"answers":{},"warning_notes":{}}',
        "notes_string": '{"answers":{},"warning_notes":"teks"}',
        "notes_null": '{"answers":{},"warning_notes":null}',
        "notes_duplicate_keys": '{"warning_notes":{"a":"1","a":"2"}}',
        "gps": '{"answers":{"lokasi":' + gps + ',"nama":"Budi"}}',
        "gps_integer": '{"answers":{"lokasi":{"lat":-6,"lon":106}}}',
        "gps_lat_string": '{"answers":{"lokasi":{"lat":"-6.2","lon":106.8}}}',
        "gps_lat_null": '{"answers":{"lokasi":{"lat":null}}}',
        "gps_lat_duplicate_first_text": '{"answers":{"lokasi":{"lat":"x","lat":1}}}',
        "gps_lat_duplicate_first_number": '{"answers":{"lokasi":{"lat":1,"lat":"x"}}}',
        "gps_in_repeat": '{"answers":{"members":[' + gps + ']}}',
        "photo": '{"answers":{"foto":' + photo + '}}',
        "photo_sha_number": '{"answers":{"foto":{"sha256":12,"bytes":1}}}',
        "gps_and_photo": '{"answers":{"foto":' + photo + ',"lokasi":' + gps + '},"warning_notes":{"x":"y"}}',
        "no_answers": '{"visit_id":"x"}',
        "answers_string": '{"answers":"tidak"}',
        "answers_number": '{"answers":5}',
        "answers_null": '{"answers":null}',
        "answers_array": '{"answers":[' + gps + ',' + photo + ']}',
        "answers_duplicate_first_scalar": '{"answers":1,"answers":{"lokasi":' + gps + '}}',
        "doc_array": '[{"answers":{"lokasi":' + gps + '}}]',
        "doc_scalar": '"teks"',
        "review_object": '{"answers":{},"prefill_review":{"nama":"confirmed","dusun":"changed"}}',
        "review_absent": '{"answers":{}}',
        "review_string": '{"answers":{},"prefill_review":"confirmed"}',
        "review_array": '{"answers":{},"prefill_review":["confirmed"]}',
        "review_null": '{"answers":{},"prefill_review":null}',
        "review_empty": '{"answers":{},"prefill_review":{}}',
        "review_escapes": '{"prefill_review":{"nama\\u00e9":"a\\"b\\\\","kota":"Kupang é","n":1.50e3}}',
        "review_whitespace": '{ "answers" : { } , "prefill_review" : { "nama" : "conf irmed" ,\n "x" : [ 1 , 2 ] } }',
        "review_duplicate": '{"prefill_review":{"a":"first"},"prefill_review":{"a":"second"}}',
        "review_nested": '{"prefill_review":{"a":{"b":[1,{"c":null}]}}}',
    }
    insert = ("INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id, "
              "form_version, region_code, visit_date, received_at, findings, error_count, warning_count, status, seq, "
              "note_count, has_gps, has_photo, prefill_review) VALUES ({id}, 1, 'h', {doc}, 'u1', 'd1', 'b1', "
              "'dtsen_groundcheck', 1, '17.71.01.1001', '2026-12-01', '2026-12-01T08:00:00.000000Z', '[]', 0, 0, "
              "'submitted', {seq}, 7, 7, 7, 'stale')")
    derived = "SELECT visit_id, note_count, has_gps, has_photo, prefill_review FROM visits ORDER BY visit_id"
    for seq, (name, doc) in enumerate(docs.items(), 1):
        both_exec(insert.format(id=lit(name), doc=lit(doc), seq=seq))
    both(derived)
    # Replacing the document recomputes them (a supervisor keeping the conflicting copy); other updates do not.
    names = list(docs)
    for i, name in enumerate(names):
        both_exec(f"UPDATE visits SET doc = {lit(docs[names[(i + 7) % len(names)]])} WHERE visit_id = {lit(name)}")
    both(derived)
    both_exec("UPDATE visits SET status = 'approved', note_count = 9 WHERE visit_id = 'gps'")
    both("SELECT note_count, has_gps, status FROM visits WHERE visit_id = 'gps'")
    both_exec("UPDATE visits SET doc = doc WHERE visit_id = 'gps'")
    both("SELECT note_count, has_gps, status FROM visits WHERE visit_id = 'gps'")
    both("SELECT count(*), sum(note_count), sum(has_gps), sum(has_photo) FROM visits")
    both_exec(insert.format(id=lit("not_json"), doc=lit("{not json"), seq=999), fails=True)

    # The ledger: append-only.
    both_exec("INSERT INTO ledger (id, at, actor, kind, subject, detail, prev_hash, hash) "
              "VALUES (1, '2026-12-01T08:00:00.000000Z', 'admin', 'k', 's', '{}', '00', '11')")
    both_exec("UPDATE ledger SET detail = '{\"x\":1}' WHERE id = 1", fails=True, message="the ledger is append-only")
    both_exec("DELETE FROM ledger WHERE id = 1", fails=True, message="the ledger is append-only")
    both_exec("DELETE FROM ledger", fails=True, message="the ledger is append-only")
    both("SELECT id, detail FROM ledger")

    # CHECK constraints, foreign keys.
    both_exec("INSERT INTO users (user_id, name, role, created_at) VALUES ('u2', 'X', 'tamu', 't')", fails=True)
    both_exec("UPDATE visits SET status = 'lost' WHERE visit_id = 'gps'", fails=True)
    both_exec("INSERT INTO conflicts_resolved (visit_id, revision, kept, discarded_doc, resolved_by, resolved_at) "
              "VALUES ('v', 1, 'both', '{}', 'u1', 't')", fails=True)
    both_exec("INSERT INTO signal_facts (visit_id, revision, user_id, household, region_code, outcome_class, "
              "started_at, day, members) VALUES ('v', 1, 'u1', 'h', 'r', 'maybe', 't', 'd', 1)", fails=True)
    both_exec("INSERT INTO devices (device_id, user_id, name, token_hash, enrolled_at) "
              "VALUES ('d9', 'nobody', 'n', 't', 't')", fails=True)

    # Text order is byte order: case, digits, punctuation, UTF-8.
    for i, region in enumerate(["b", "B", "a", "A", "_", "17.71", "17.7", "17.710", "é", "e", "Z", "z", "2026-12-01T08:00:00.000000Z",
                                "2026-12-01T08:00:00Z", "~", "aa", "a b", "ab"]):
        both_exec(f"INSERT INTO user_regions (user_id, region_code) VALUES ('u1', {lit(region)})")
    both("SELECT region_code FROM user_regions ORDER BY region_code")
    both("SELECT count(*) FROM user_regions WHERE region_code > 'Z' AND region_code <= 'b'")
    both("SELECT min(region_code), max(region_code) FROM user_regions")

    # Counters, upserts, ids assigned when omitted.
    both("UPDATE counters SET value = value + 1 WHERE name = 'pull' RETURNING value")
    both("UPDATE counters SET value = value + 1 WHERE name = 'pull' RETURNING value")
    for _ in range(2):
        both_exec("INSERT INTO login_failures (key, failures, last_failure_at) VALUES ('user:u1', 1, 't1') "
                  "ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, "
                  "last_failure_at = excluded.last_failure_at")
    both("SELECT key, failures, last_failure_at FROM login_failures")
    both("INSERT INTO changes (user_id, kind, ref_id, created_at) VALUES ('u1', 'assignment', 'A-1', 't') RETURNING seq")
    both("INSERT INTO changes (user_id, kind, ref_id, created_at) VALUES (NULL, 'form', 'f', 't') RETURNING seq")
    both("INSERT INTO reviews (visit_id, revision, decision, comment, reviewer, reviewer_device, at) "
         "VALUES ('gps', 1, 'approved', '', 'u1', 'd1', 't') RETURNING id")
    both("INSERT INTO media_uploads (sha256, user_id, length, created_at, expires_at) VALUES ('ab', 'u1', 5, 't', 'e') "
         "RETURNING upload_id")
    both("INSERT INTO assignments (assignment_id, user_id, form_id, form_version, region_code, label, prefill, imported_at) "
         "VALUES ('A-1', 'u1', 'f', 1, 'r', 'l', '{}', 't') RETURNING prefill_repeats, withdrawn_at")
    both("SELECT seq, user_id, kind FROM changes ORDER BY seq")
    both("INSERT INTO signal_facts (visit_id, revision, user_id, household, region_code, outcome_class, started_at, day, "
         "lat, lon, members) VALUES ('v', 1, 'u1', 'h', 'r', 'found', 't', 'd', -6.25, 106.8125, 3) RETURNING lat, lon")
finally:
    psql(ADMIN_URL, f"DROP DATABASE IF EXISTS {db_name}")

if differences:
    print(f"pg-schema-check: {len(differences)} difference(s) between SQLite and PostgreSQL:")
    for d in differences:
        print("  " + d)
    sys.exit(1)
print(f"pg-schema-check: the PostgreSQL schema ({SCHEMA} and its migrations) matches SQLite's latest (tables, columns, keys, indexes) and "
      f"{len(docs)} visit documents, the ledger, checks, text order (database collation: {db_collation}), counters, "
      "upserts and ids behave the same")
PY
