//! The portable statements behave the same on both stores: these run on SQLite, and on PostgreSQL too when
//! `TEPAT_TEST_POSTGRES` names a cluster (`make test-postgres`).

use super::*;
use crate::db::testdb;
use crate::db::{Db, DbError};

fn scratch() -> (tempfile::TempDir, Db, Option<testdb::TestDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let (db, pg) = testdb::open(dir.path());
    db.write(|tx| {
        let ddl = match tx.dialect() {
            Dialect::Sqlite => {
                "CREATE TABLE scratch (k TEXT PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)"
            }
            Dialect::Postgres => {
                "CREATE TABLE scratch (k TEXT COLLATE \"C\" PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, \
                 s TEXT COLLATE \"C\", b BYTEA)"
            }
        };
        tx.execute_batch(ddl)
    })
    .unwrap();
    (dir, db, pg)
}

#[test]
fn values_come_back_as_they_went_in() {
    let (_dir, db, _pg) = scratch();
    db.write(|tx| {
        tx.execute(
            "INSERT INTO scratch (k, i, r, s, b) VALUES (?1, ?2, ?3, ?4, ?5)",
            params!["a", -7i64, 2.5f64, "ü teks", vec![0u8, 255]],
        )?;
        tx.execute(
            "INSERT INTO scratch (k, i, r, s, b) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                "b",
                Option::<i64>::None,
                Option::<f64>::None,
                Option::<String>::None,
                Option::<Vec<u8>>::None
            ],
        )
    })
    .unwrap();
    let (i, r, s, b): (i64, f64, String, Vec<u8>) = db
        .read(|tx| {
            tx.query_row(
                "SELECT i, r, s, b FROM scratch WHERE k = ?1",
                ["a"],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get("b")?)),
            )
        })
        .unwrap();
    assert_eq!((i, r, s.as_str(), b), (-7, 2.5, "ü teks", vec![0, 255]));
    let nulls: (Option<i64>, Option<f64>, Option<String>, Option<Vec<u8>>) = db
        .read(|tx| {
            tx.query_row("SELECT i, r, s, b FROM scratch WHERE k = 'b'", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
        })
        .unwrap();
    assert_eq!(nulls, (None, None, None, None));
}

#[test]
fn placeholders_are_numbered_not_positional() {
    let (_dir, db, _pg) = scratch();
    let s: String = db
        .write(|tx| {
            tx.execute(
                "INSERT INTO scratch (k, s, i) VALUES (?2, ?1, ?3)",
                params!["value", "key", 3],
            )?;
            tx.query_row(
                "SELECT s FROM scratch WHERE k = ?1 AND i = ?2",
                params!["key", 3],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(s, "value");
}

#[test]
fn no_row_is_none_with_optional_and_an_error_without() {
    let (_dir, db, _pg) = scratch();
    db.read(|tx| {
        let found: Option<String> = tx
            .query_row("SELECT s FROM scratch WHERE k = ?1", ["missing"], |r| {
                r.get(0)
            })
            .optional()?;
        assert_eq!(found, None);
        let err = tx
            .query_row("SELECT s FROM scratch WHERE k = ?1", ["missing"], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_err();
        assert!(matches!(err, Error::QueryReturnedNoRows), "{err}");
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn changes_counts_the_rows_of_the_last_statement() {
    let (_dir, db, _pg) = scratch();
    db.write(|tx| {
        for k in ["a", "b", "c"] {
            tx.execute("INSERT INTO scratch (k, i) VALUES (?1, 1)", [k])?;
        }
        let updated = tx.execute("UPDATE scratch SET i = 2 WHERE k <> ?1", ["a"])?;
        assert_eq!((updated, tx.changes()), (2, 2));
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn sums_counts_and_comparisons_read_as_integers() {
    let (_dir, db, _pg) = scratch();
    let (sum, count, equal, ratio): (i64, i64, bool, f64) = db
        .write(|tx| {
            for (k, i) in [("a", 4_000_000_000i64), ("b", 5)] {
                tx.execute("INSERT INTO scratch (k, i) VALUES (?1, ?2)", params![k, i])?;
            }
            tx.query_row(
                "SELECT sum(i), count(*), (1 = 1), avg(i) FROM scratch",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .unwrap();
    assert_eq!((sum, count, equal), (4_000_000_005, 2, true));
    assert!((ratio - 2_000_000_002.5).abs() < 1e-3, "{ratio}");
}

#[test]
fn a_failed_write_leaves_nothing_and_names_the_duplicate() {
    let (_dir, db, _pg) = scratch();
    db.write(|tx| tx.execute("INSERT INTO scratch (k) VALUES ('a')", []))
        .unwrap();
    let err = db
        .write(|tx| {
            tx.execute("INSERT INTO scratch (k) VALUES ('b')", [])?;
            tx.execute("INSERT INTO scratch (k) VALUES ('a')", [])
        })
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    let keys: Vec<String> = db
        .read(|tx| {
            tx.prepare("SELECT k FROM scratch ORDER BY k")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_>>()
        })
        .unwrap();
    assert_eq!(keys, ["a"]);
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_naming_the_column() {
    let (_dir, db, _pg) = scratch();
    db.write(|tx| tx.execute("INSERT INTO scratch (k, s) VALUES ('a', 'teks')", []))
        .unwrap();
    let err = db
        .read(|tx| tx.query_row("SELECT s FROM scratch", [], |r| r.get::<_, i64>("s")))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Column { column, problem: FromSqlError::InvalidType { .. } } if column == "s"),
        "{err}"
    );
}

#[test]
fn statements_from_an_iterator_and_rows_read_one_by_one() {
    let (_dir, db, _pg) = scratch();
    let keys: Vec<(String, i64)> = db
        .write(|tx| {
            let mut insert = tx.prepare_cached("INSERT INTO scratch (k, i) VALUES (?1, ?2)")?;
            for (i, k) in ["c", "a", "b"].iter().enumerate() {
                insert.execute(params![k, i])?;
            }
            let wanted = ["a".to_string(), "c".to_string()];
            let mut stmt = tx.prepare("SELECT k, i FROM scratch WHERE k IN (?1, ?2) ORDER BY k")?;
            let mut rows = stmt.query(params_from_iter(wanted.iter()))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push((row.get(0)?, row.get(1)?));
            }
            Ok::<_, Error>(out)
        })
        .unwrap();
    assert_eq!(keys, [("a".to_string(), 1), ("c".to_string(), 0)]);
}

#[test]
fn the_schema_version_is_the_latest_on_either_store() {
    let (_dir, db, _pg) = scratch();
    assert_eq!(db.schema_version().unwrap(), crate::db::LATEST_VERSION);
    assert_eq!(
        crate::db::postgres::LATEST_VERSION,
        crate::db::LATEST_VERSION
    );
    let _: &dyn Fn() -> Result<(), DbError> = &|| Ok(());
}

#[test]
fn a_result_longer_than_a_cursor_fetch_is_read_while_other_statements_run() {
    let (_dir, db, _pg) = scratch();
    let (seen, updated): (usize, i64) = db
        .write(|tx| {
            let mut insert = tx.prepare_cached("INSERT INTO scratch (k, i) VALUES (?1, ?2)")?;
            for i in 0..700i64 {
                insert.execute(params![format!("k{i:04}"), i])?;
            }
            let mut stmt = tx.prepare("SELECT k, i FROM scratch ORDER BY k")?;
            let mut rows = stmt.query([])?;
            let mut seen = 0;
            // More rows than one fetch of a PostgreSQL cursor, with writes on the same transaction between rows.
            while let Some(row) = rows.next()? {
                let (k, i): (String, i64) = (row.get(0)?, row.get(1)?);
                assert_eq!(k, format!("k{i:04}"));
                tx.execute("UPDATE scratch SET s = 'seen' WHERE k = ?1", [&k])?;
                seen += 1;
            }
            let updated =
                tx.query_row("SELECT count(*) FROM scratch WHERE s = 'seen'", [], |r| {
                    r.get(0)
                })?;
            Ok::<_, Error>((seen, updated))
        })
        .unwrap();
    assert_eq!((seen, updated), (700, 700));
}
