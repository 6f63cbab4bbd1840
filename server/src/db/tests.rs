use rusqlite::Connection;

use super::*;

#[test]
fn a_fresh_directory_gets_the_latest_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new/nested");
    let db = Db::open(&data).unwrap();
    assert!(data.join(DB_FILE).exists());
    let (version, mode): (u32, String) = db
        .read(|tx| {
            Ok::<_, crate::db::sql::Error>((
                schema_version(tx.as_sqlite().unwrap()).unwrap(),
                tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!(version, LATEST_VERSION);
    assert_eq!(mode, "wal");
    drop(db);
    // Opening again applies nothing and keeps the data.
    let db = Db::open(&data).unwrap();
    let counter: i64 = db
        .read(|tx| {
            tx.query_row("SELECT value FROM counters WHERE name = 'pull'", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(counter, 0);
}

#[test]
fn migrating_from_version_1_keeps_visits_and_fills_the_new_columns() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 1);
        conn.execute_batch(
            "INSERT INTO users VALUES ('enum1', 'Enum', 'enumerator', '2026-01-01T00:00:00.000000Z');
             INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                 form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                 warning_count, status, seq)
             VALUES
             ('v1', 1, 'h1', '{\"answers\":{\"outcome\":\"1\"}}', 'enum1', 'd', 'b', 'f', 1, 'A-1', '17.71.01.1001',
              '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0, 'returned', 1),
             ('v1', 2, 'h2', '{\"answers\":{\"outcome\":\"0\"}}', 'enum1', 'd', 'b', 'f', 1, 'A-1', '17.71.01.1001',
              '2026-11-20', '2026-11-21T00:00:00.000000Z', '[]', 0, 0, 'submitted', 2),
             ('v2', 1, 'h3', '{\"answers\":{}}', 'enum1', 'd', 'b', 'f', 1, 'A-2', '17.71.01.1001',
              '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0, 'submitted', 3);",
        )
        .unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    let rows: Vec<(String, u32, bool, Option<String>)> = db
        .read(|tx| {
            let mut stmt = tx.prepare("SELECT visit_id, revision, is_latest, outcome FROM visits ORDER BY visit_id, revision")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("v1".to_string(), 1, false, Some("1".to_string())),
            ("v1".to_string(), 2, true, Some("0".to_string())),
            ("v2".to_string(), 1, true, None),
        ]
    );
    // Version 3: what the export shows is not known yet; `export::backfill` computes it when the server starts.
    let unexported: i64 = db
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM visits WHERE exported IS NULL",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(unexported, 3);
    let version = db
        .read(|tx| Ok::<_, crate::db::sql::Error>(schema_version(tx.as_sqlite().unwrap()).unwrap()))
        .unwrap();
    assert_eq!(version, LATEST_VERSION);
}

#[test]
fn a_database_from_a_newer_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Db::open(dir.path()).unwrap_err();
    assert!(matches!(err, DbError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn a_failed_write_rolls_back_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let result: Result<(), crate::db::sql::Error> = db.write(|tx| {
        tx.execute("INSERT INTO users VALUES ('a', 'A', 'admin', 'now')", [])?;
        tx.execute(
            "INSERT INTO users VALUES ('a', 'A again', 'admin', 'now')",
            [],
        )?;
        Ok(())
    });
    assert!(result.is_err());
    let users: i64 = db
        .read(|tx| tx.query_row("SELECT count(*) FROM users", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(users, 0);
}

#[test]
fn timestamps_sort_as_text_in_time_order() {
    let a = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00+07:00")
        .unwrap()
        .with_timezone(&Utc);
    let b = a + chrono::Duration::microseconds(1);
    assert!(timestamp(a) < timestamp(b));
    assert_eq!(parse_timestamp(&timestamp(a)).unwrap(), a);
    assert!(parse_timestamp("yesterday").is_err());
}

/// A form as stored by a server of schema version 3, in the forms table.
fn stored_form(id: &str, outcome_key: Option<&str>, selects: &[&str]) -> String {
    let fields: Vec<serde_json::Value> = selects
        .iter()
        .map(|f| {
            serde_json::json!({"id": f, "type": "select_one", "choices": "codes",
                "label": {"id": f, "en": f}})
        })
        .collect();
    let mut form = serde_json::json!({
        "id": id, "version": 1, "title": {"id": id, "en": id},
        "choices": {"codes": [{"value": "1", "label": {"id": "Satu", "en": "One"}}]},
        "sections": [{"id": "main", "title": {"id": "Utama", "en": "Main"}, "fields": fields}]
    });
    if let Some(key) = outcome_key {
        form["outcome"] = serde_json::json!(key);
    }
    form.to_string()
}

#[test]
fn migrating_from_version_3_recomputes_outcomes_by_the_forms_declaration_and_fills_progress_dates()
{
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrate_to(&mut conn, 3).unwrap();
        conn.execute(
            "INSERT INTO users VALUES ('tksk', 'Andi', 'assessor', '2026-01-01T00:00:00.000000Z')",
            [],
        )
        .unwrap();
        let forms = [
            // The DTSEN form as published before the `outcome` key: the conventional `visit_outcome`.
            (
                "dtsen_like",
                stored_form("dtsen_like", None, &["visit_outcome"]),
            ),
            // The PPKS form: no outcome; the old rule took its first select_one, `case_source`.
            (
                "ppks_like",
                stored_form("ppks_like", None, &["case_source", "urgency"]),
            ),
            // A form declaring an outcome that is not its first select_one.
            (
                "declared",
                stored_form("declared", Some("result"), &["kind", "result"]),
            ),
        ];
        for (id, json) in &forms {
            conn.execute(
                "INSERT INTO forms VALUES (?1, 1, ?2, '2026-01-01T00:00:00.000000Z')",
                rusqlite::params![id, json],
            )
            .unwrap();
        }
        // Each row's outcome as the old rule stored it.
        let rows = [
            // Stored before schema v2: the v2 migration looked for `outcome` only, so it shows as "unknown".
            (
                "d1",
                "dtsen_like",
                r#"{"visit_outcome":"1"}"#,
                None,
                "2026-11-20",
            ),
            (
                "p1",
                "ppks_like",
                r#"{"case_source":"3","urgency":"1"}"#,
                Some("3"),
                "2026-11-20",
            ),
            (
                "c1",
                "declared",
                r#"{"kind":"9","result":"2"}"#,
                Some("9"),
                "0000-01-01",
            ),
            (
                "c2",
                "declared",
                r#"{"kind":"9","result":7}"#,
                Some("9"),
                "+10000-01-01",
            ),
            ("c3", "declared", r#"{"kind":"9"}"#, Some("9"), "2025-06-01"),
        ];
        for (seq, (id, form, answers, outcome, date)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                     form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                     warning_count, status, seq, outcome, is_latest, exported)
                 VALUES (?1, 1, 'h', ?2, 'tksk', 'd', 'b', ?3, 1, NULL, '17.71', ?4, '2026-11-21T03:00:00.000000Z',
                     '[]', 0, 0, 'submitted', ?5, ?6, 1, '{}')",
                rusqlite::params![
                    id,
                    format!(r#"{{"answers":{answers}}}"#),
                    form,
                    date,
                    seq as i64 + 1,
                    outcome
                ],
            )
            .unwrap();
        }
    }
    let db = Db::open(dir.path()).unwrap();
    let rows: Vec<(String, Option<String>, String)> = db
        .read(|tx| {
            let mut stmt =
                tx.prepare("SELECT visit_id, outcome, progress_date FROM visits ORDER BY seq")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        rows,
        vec![
            ("d1".to_string(), some("1"), "2026-11-20".to_string()),
            ("p1".to_string(), None, "2026-11-20".to_string()),
            ("c1".to_string(), some("2"), "2026-11-21".to_string()),
            ("c2".to_string(), some("7"), "2026-11-21".to_string()),
            ("c3".to_string(), None, "2026-11-21".to_string()),
        ]
    );
}

#[test]
fn migrating_to_the_media_schema_links_the_photos_of_every_stored_revision() {
    let dir = tempfile::tempdir().unwrap();
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    {
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let before_media = super::media_version() - 1;
        assert!(before_media >= 4, "the media tables come after version 4");
        migrate_to(&mut conn, before_media).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO users VALUES ('enum1', 'Enum', 'enumerator', '2026-01-01T00:00:00.000000Z');
             INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                 form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                 warning_count, status, seq)
             VALUES
             ('v1', 1, 'h1', '{{\"answers\":{{\"photo_front\":{{\"file\":\"f.jpg\",\"sha256\":\"{a}\"}}}}}}', 'enum1',
              'd', 'b', 'f', 1, 'A-1', '17.71.01.1001', '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0,
              'returned', 1),
             ('v1', 2, 'h2', '{{\"answers\":{{\"photo_front\":{{\"file\":\"g.jpg\",\"sha256\":\"{b}\"}}}}}}', 'enum1',
              'd', 'b', 'f', 1, 'A-1', '17.71.01.1001', '2026-11-20', '2026-11-21T00:00:00.000000Z', '[]', 0, 0,
              'submitted', 2),
             ('v2', 1, 'h3', '{{\"answers\":{{}}}}', 'enum1', 'd', 'b', 'f', 1, 'A-2', '17.71.01.1001',
              '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0, 'submitted', 3);"
        ))
        .unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    let linked: Vec<(String, u32, String, String)> = db
        .read(|tx| {
            tx.prepare("SELECT visit_id, revision, path, sha256 FROM visit_photos ORDER BY visit_id, revision")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert_eq!(
        linked,
        vec![
            ("v1".to_string(), 1, "photo_front".to_string(), a),
            ("v1".to_string(), 2, "photo_front".to_string(), b),
        ]
    );
}

#[test]
fn migrating_to_the_prefill_review_column_reads_it_from_every_stored_document() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrate_to(&mut conn, LATEST_VERSION - 1).unwrap();
        conn.execute_batch(
            "INSERT INTO users (user_id, name, role, created_at)
                 VALUES ('enum1', 'Enum', 'enumerator', '2026-01-01T00:00:00.000000Z');
             INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                 form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                 warning_count, status, seq)
             VALUES
             ('v1', 1, 'h1', '{\"answers\":{},\"prefill_review\":{\"head_name\":\"confirmed\"}}', 'enum1', 'd', 'b',
              'f', 1, 'A-1', '17.71.01.1001', '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0,
              'submitted', 1),
             ('v2', 1, 'h2', '{\"answers\":{}}', 'enum1', 'd', 'b', 'f', 1, 'A-2', '17.71.01.1001',
              '2026-11-20', '2026-11-20T00:00:00.000000Z', '[]', 0, 0, 'submitted', 2);",
        )
        .unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    let reviews = |db: &Db| -> Vec<(String, Option<String>)> {
        db.read(|tx| {
            tx.prepare("SELECT visit_id, prefill_review FROM visits ORDER BY visit_id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
    };
    let confirmed = Some(r#"{"head_name":"confirmed"}"#.to_string());
    assert_eq!(
        reviews(&db),
        vec![("v1".to_string(), confirmed), ("v2".to_string(), None)]
    );
    // A supervisor replacing a revision's content: the trigger reads the new document's review.
    db.write(|tx| {
        tx.execute(
            r#"UPDATE visits SET doc = '{"answers":{},"prefill_review":{"dusun":"changed"}}' WHERE visit_id = 'v2'"#,
            [],
        )
    })
    .unwrap();
    assert_eq!(
        reviews(&db)[1],
        ("v2".to_string(), Some(r#"{"dusun":"changed"}"#.to_string()))
    );
}
