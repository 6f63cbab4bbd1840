use chrono::Utc;

use super::*;
use crate::db::Db;
use crate::testkit::TEST_FORM;

fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    (dir, db)
}

#[test]
fn a_form_is_published_once_and_then_immutable() {
    let (_dir, db) = db();
    let first = db.write(|tx| publish(tx, TEST_FORM, Utc::now())).unwrap();
    assert_eq!(
        first,
        Published::New {
            form_id: "hh_check".into(),
            version: 1
        }
    );
    // The same form, formatted differently: nothing changes.
    let reformatted = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(TEST_FORM).unwrap(),
    )
    .unwrap();
    let again = db
        .write(|tx| publish(tx, &reformatted, Utc::now()))
        .unwrap();
    assert_eq!(
        again,
        Published::Unchanged {
            form_id: "hh_check".into(),
            version: 1
        }
    );
    // Changed content under the same version is refused, naming the next version.
    let changed = TEST_FORM.replace("Cek rumah tangga", "Cek keluarga");
    let err = db
        .write(|tx| publish(tx, &changed, Utc::now()))
        .unwrap_err();
    assert!(
        err.to_string().contains("publish the change as version 2"),
        "{err}"
    );
    let bumped = changed.replace("\"version\": 1", "\"version\": 2");
    assert!(matches!(
        db.write(|tx| publish(tx, &bumped, Utc::now())).unwrap(),
        Published::New { version: 2, .. }
    ));
    let versions = db
        .read(|tx| Ok::<_, PublishError>(versions(tx, "hh_check")?))
        .unwrap();
    assert_eq!(
        versions.iter().map(|f| f.version).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn a_form_the_engine_refuses_is_not_published_and_every_problem_is_named() {
    let (_dir, db) = db();
    let broken = TEST_FORM
        .replace("${outcome} = '0'", "${nowhere} = '0'")
        .replace("\"choices\": \"sex\"", "\"choices\": \"gender\"");
    let err = db.write(|tx| publish(tx, &broken, Utc::now())).unwrap_err();
    let PublishError::Load(errors) = err else {
        panic!("expected load errors, got {err}")
    };
    assert!(errors.0.len() >= 2, "{errors}");
    let text = errors.to_string();
    assert!(
        text.contains("nowhere") && text.contains("gender"),
        "{text}"
    );
    let err = db
        .write(|tx| publish(tx, "{not json", Utc::now()))
        .unwrap_err();
    assert!(matches!(err, PublishError::Load(_)));
    let count: i64 = db
        .read(|tx| tx.query_row("SELECT count(*) FROM forms", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(count, 0);
}

#[test]
fn key_fields_are_found_by_type() {
    let form = tepat_form::load(TEST_FORM).unwrap();
    assert_eq!(outcome_field(form.form()), Some("outcome"));
    assert_eq!(
        of_type(form.form(), FieldType::Nik).next(),
        Some("head_nik")
    );
    assert_eq!(of_type(form.form(), FieldType::Kk).next(), Some("kk"));
    assert_eq!(
        of_type(form.form(), FieldType::Region).next(),
        Some("region")
    );
    assert_eq!(
        repeats(form.form())
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["members"]
    );
}

#[test]
fn the_real_forms_publish() {
    let (_dir, db) = db();
    for file in [
        "dtsen_groundcheck.json",
        "ppks_asesmen.json",
        "monitoring_6t.json",
        "satgas_laporan.json",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas/forms")
            .join(file);
        let json = std::fs::read_to_string(&path).unwrap();
        let outcome = db.write(|tx| publish(tx, &json, Utc::now()));
        assert!(
            matches!(outcome, Ok(Published::New { .. })),
            "{file}: {outcome:?}"
        );
    }
    let dtsen = db
        .read(|tx| Ok::<_, PublishError>(load_form(tx, "dtsen_groundcheck", 1)?))
        .unwrap()
        .unwrap();
    assert_eq!(outcome_field(&dtsen), Some("visit_outcome"));
}
