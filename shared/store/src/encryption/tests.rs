//! The device database at rest: answers never in clear in the file or its WAL, a wrong key refused with nothing
//! changed, an unencrypted database of an older app encrypted with every row, also after an interrupted attempt.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

use super::staging_path;
use crate::*;
use tepat_protocol::{Answers, Assignment, Role};

/// What the tests type and then look for in the file's bytes.
const NIK: &str = "1771014106900003";
const NAME: &str = "Kartini Wulandari";
const MEMBER: &str = "Ratna Sari Dewi";

const FORM: &str = r#"{
  "id": "mini", "version": 1, "title": {"id": "Mini", "en": "Mini"},
  "choices": {"outcome": [{"value": "1", "label": {"id": "Ditemukan", "en": "Found"}}]},
  "sections": [{"id": "s1", "title": {"id": "Satu", "en": "One"}, "fields": [
    {"id": "outcome", "type": "select_one", "choices": "outcome", "label": {"id": "Hasil", "en": "Outcome"}},
    {"id": "head_name", "type": "text", "label": {"id": "Nama", "en": "Name"}},
    {"id": "head_nik", "type": "text", "label": {"id": "NIK", "en": "NIK"}},
    {"id": "members", "type": "repeat", "label": {"id": "Anggota", "en": "Members"}, "fields": [
      {"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}}
    ]}
  ]}]
}"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0)
        .single()
        .unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn key() -> DatabaseKey {
    DatabaseKey::new(std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a))
}

fn other_key() -> DatabaseKey {
    DatabaseKey::new([0x11; DatabaseKey::LEN])
}

/// A day's work: identity, form, an assignment, a visit with a name, a NIK and a member, finalised into the
/// outbox (so the visits, answers, outbox and audit tables all hold the answers).
fn fill(store: &mut Store) {
    let form: Form = serde_json::from_str(FORM).unwrap();
    store
        .set_identity(
            &Identity {
                device_id: "D-1".into(),
                user_id: "U-7".into(),
                name: "Rina".into(),
                role: Role::Enumerator,
                regions: vec!["17.71".into()],
            },
            t0(),
        )
        .unwrap();
    store.install_form(&form, t0()).unwrap();
    let assignment = Assignment {
        assignment_id: "A-1".into(),
        form_id: "mini".into(),
        form_version: 1,
        region_code: "17.71.01.1001".into(),
        label: "Keluarga A-1".into(),
        prefill: Default::default(),
        prefill_repeats: Default::default(),
    };
    store.import_assignments(&[assignment], t0()).unwrap();
    let repeats: HashSet<String> = repeat_ids(&form);
    let visit = store
        .start_visit(
            &NewVisit {
                form_id: "mini".into(),
                form_version: 1,
                assignment_id: Some("A-1".into()),
                visit_date: day(),
                answers: Answers::new(),
            },
            &repeats,
            t0(),
        )
        .unwrap()
        .summary;
    let rows = [
        ("outcome", AnswerRow::Value(json!("1"))),
        ("head_name", AnswerRow::Value(json!(NAME))),
        ("head_nik", AnswerRow::Value(json!(NIK))),
        ("members", AnswerRow::Members(1)),
        ("members[0].name", AnswerRow::Value(json!(MEMBER))),
    ];
    for (path, row) in rows {
        store
            .save_answers(
                visit.visit_id,
                visit.revision,
                &[(path.to_string(), Some(row))],
                t0(),
            )
            .unwrap();
    }
    let record = store.visit(visit.visit_id).unwrap();
    store
        .finalise(
            &Finalise {
                visit_id: visit.visit_id,
                revision: visit.revision,
                answers: record.answers,
                notes: record.notes,
                local_date: day(),
                outcome: Some("1".into()),
                revisit: false,
                prefill_review: Default::default(),
            },
            t0() + Duration::minutes(20),
        )
        .unwrap();
}

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Which of the typed texts the database file and its WAL show in clear.
fn in_clear(db: &Path) -> Vec<&'static str> {
    let bytes = [file_bytes(db), file_bytes(&sibling(db, "-wal"))].concat();
    [NIK, NAME, MEMBER]
        .into_iter()
        .filter(|text| contains(&bytes, text))
        .collect()
}

/// Every table's rows (as text, sorted) and the whole schema (tables, indexes, triggers) of an open store.
fn dump(store: &Store) -> BTreeMap<String, Vec<String>> {
    let conn = &store.conn;
    let mut dump = BTreeMap::new();
    let mut schema: Vec<String> = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?
                )
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    schema.sort();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let values: Vec<rusqlite::types::Value> =
                    (0..columns).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{values:?}"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        dump.insert(table, rows);
    }
    dump.insert("(schema)".into(), schema);
    dump.insert(
        "(user_version)".into(),
        vec![store.schema_version().unwrap().to_string()],
    );
    dump
}

fn is_plain_file(db: &Path) -> bool {
    file_bytes(db).starts_with(b"SQLite format 3\0")
}

#[test]
fn an_encrypted_database_and_its_wal_hold_no_typed_answer_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    // The same day in an unencrypted store shows every typed text: the search below can see them.
    let plain = dir.path().join("plain.db");
    let mut store = Store::open(&plain, Durability::Balanced).unwrap();
    fill(&mut store);
    assert_eq!(in_clear(&plain), [NIK, NAME, MEMBER]);
    drop(store);

    let db = dir.path().join("phone.db");
    let mut store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    fill(&mut store);
    // While open: the newest pages are in the WAL.
    assert!(file_bytes(&sibling(&db, "-wal")).len() > 4096);
    assert_eq!(in_clear(&db), Vec::<&str>::new());
    store.flush().unwrap();
    drop(store);
    assert_eq!(in_clear(&db), Vec::<&str>::new());
    assert!(!is_plain_file(&db));
    // No temporary files in clear beside it either.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().contains("plain.db") {
            let bytes = file_bytes(&path);
            assert!(!contains(&bytes, NIK), "{} holds the NIK", path.display());
        }
    }
}

#[test]
fn the_right_key_reopens_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    drop(store);
    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert_eq!(dump(&store), before);
    assert!(before["answers"].iter().any(|row| row.contains(NIK)));
}

/// Every file of the directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = file_bytes(&path);
            (path, bytes)
        })
        .collect()
}

#[test]
fn a_wrong_key_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    drop(store);
    let files = snapshot(dir.path());

    let refused = Store::open_encrypted(&db, &other_key(), Durability::Balanced).map(|_| ());
    assert_eq!(refused, Err(StoreError::WrongKey));
    assert_eq!(snapshot(dir.path()), files, "the wrong key changed files");
    // Without a key (an app that forgot it) the file is not a database either.
    assert!(matches!(
        Store::open(&db, Durability::Balanced).map(|_| ()),
        Err(StoreError::Database(_))
    ));

    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
}

#[test]
fn a_wrong_key_while_the_newest_answers_are_in_the_wal_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    assert!(file_bytes(&sibling(&db, "-wal")).len() > 4096);
    let refused = Store::open_encrypted(&db, &other_key(), Durability::Balanced).map(|_| ());
    assert_eq!(refused, Err(StoreError::WrongKey));
    drop(store);
    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_damaged_file_is_refused_as_unreadable_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    std::fs::write(&db, vec![0xA5; 8192]).unwrap();
    let refused = Store::open_encrypted(&db, &key(), Durability::Balanced).map(|_| ());
    assert_eq!(refused, Err(StoreError::WrongKey));
    assert_eq!(file_bytes(&db), vec![0xA5; 8192]);
}

#[test]
fn a_key_is_exactly_32_bytes_and_never_printed() {
    assert_eq!(
        DatabaseKey::from_slice(&[1; 31]).map(|_| ()),
        Err(KeyLengthError { len: 31 })
    );
    assert_eq!(
        DatabaseKey::from_slice(&[1; 33]).map(|_| ()),
        Err(KeyLengthError { len: 33 })
    );
    let key = DatabaseKey::from_slice(&[0xAB; 32]).unwrap();
    let shown = format!("{key:?}");
    assert_eq!(shown, "DatabaseKey(..)");
    assert!(!key.raw_key_text().is_empty());
}

#[test]
fn an_unencrypted_database_of_an_older_app_is_encrypted_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open(&db, Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    drop(store);
    assert!(is_plain_file(&db));

    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    assert!(!is_plain_file(&db));
    assert_eq!(in_clear(&db), Vec::<&str>::new());
    assert!(!staging_path(&db).exists());
    // From now on it is an encrypted database like any other.
    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
    drop(store);
    assert_eq!(
        Store::open_encrypted(&db, &other_key(), Durability::Balanced).map(|_| ()),
        Err(StoreError::WrongKey)
    );
}

#[test]
fn an_unencrypted_database_killed_with_rows_only_in_its_wal_is_encrypted_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let mut store = Store::open(&live, Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    // What the old app left when it was killed: the file and its WAL as they are now (the newest commits only
    // in the WAL), no clean close.
    assert!(file_bytes(&sibling(&live, "-wal")).len() > 4096);
    let db = dir.path().join("phone.db");
    std::fs::copy(&live, &db).unwrap();
    std::fs::copy(sibling(&live, "-wal"), sibling(&db, "-wal")).unwrap();
    drop(store);

    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    assert_eq!(in_clear(&db), Vec::<&str>::new());
}

#[test]
fn an_encryption_interrupted_by_a_crash_is_done_again_from_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open(&db, Durability::Balanced).unwrap();
    fill(&mut store);
    let before = dump(&store);
    drop(store);
    // A crash half-way through the copy: a partial encrypted file and its rollback journal beside the database.
    let staging = staging_path(&db);
    std::fs::write(&staging, vec![0x3C; 5000]).unwrap();
    std::fs::write(sibling(&staging, "-journal"), vec![0x3C; 700]).unwrap();

    let store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(dump(&store), before);
    drop(store);
    assert!(!staging.exists());
    assert!(!sibling(&staging, "-journal").exists());
    assert!(!is_plain_file(&db));
}

#[test]
fn values_typed_after_encryption_stay_out_of_the_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let mut store = Store::open(&db, Durability::Balanced).unwrap();
    store.set_language(Lang::En).unwrap();
    drop(store);
    let mut store = Store::open_encrypted(&db, &key(), Durability::Balanced).unwrap();
    assert_eq!(store.settings().unwrap().lang, Lang::En);
    fill(&mut store);
    assert_eq!(in_clear(&db), Vec::<&str>::new());
}
