use chrono::Utc;
use tepat_protocol::Role;

use super::*;
use crate::db::Db;
use crate::testkit::{Kit, NIK};

const HEADER: &str =
    "assignment_id,user_id,form_id,form_version,region_code,label,head_name,nik,programmes\n";

fn import(db: &Db, csv: &str) -> Result<ImportReport, ImportError> {
    db.write(|tx| import_csv(tx, csv.as_bytes(), Utc::now()))
}

fn rows_of(err: ImportError) -> Vec<RowError> {
    match err {
        ImportError::Rows(rows) => rows,
        other => panic!("expected row errors, got {other}"),
    }
}

fn count(db: &Db) -> i64 {
    db.read(|tx| tx.query_row("SELECT count(*) FROM assignments", [], |r| r.get(0)))
        .unwrap()
}

#[test]
fn a_good_file_imports_with_prefill_and_again_changes_nothing() {
    let kit = Kit::world();
    let before = count(kit.db());
    let csv = format!(
        "{HEADER}H-1,enum1,hh_check,1,17.71.01.1002,\"Wati, RT 04\",Wati,{NIK},PKH BPNT\nH-2,enum1,hh_check,1,17.71.01.1002,Joko,Joko,,\n"
    );
    assert_eq!(
        import(kit.db(), &csv).unwrap(),
        ImportReport {
            added: 2,
            unchanged: 0
        }
    );
    assert_eq!(
        import(kit.db(), &csv).unwrap(),
        ImportReport {
            added: 0,
            unchanged: 2
        }
    );
    assert_eq!(count(kit.db()), before + 2);
    let prefill: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT prefill FROM assignments WHERE assignment_id = 'H-1'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(
        prefill,
        format!(r#"{{"head_name":"Wati","nik":"{NIK}","programmes":"PKH BPNT"}}"#)
    );
    let label: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT label FROM assignments WHERE assignment_id = 'H-1'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(label, "Wati, RT 04");
}

#[test]
fn every_problem_is_reported_with_line_and_column_and_nothing_is_imported() {
    let kit = Kit::world();
    kit.user("sup2", Role::Supervisor, &["17.71"]);
    let before = count(kit.db());
    let csv = format!(
        "{HEADER}\
         G-1,enum1,hh_check,1,17.71.01.1003,Good row,Ani,,\n\
         G-2,nobody,hh_check,1,17.71.01.1003,Unknown user,,,\n\
         G-3,enum1,other_form,1,17.71.01.1003,Unknown form,,,\n\
         G-4,enum1,hh_check,1,17.71.01.99999,Bad region,,,\n\
         G-5,enum1,hh_check,1,17.71.01.1003,Bad NIK,,12345,\n\
         G-1,enum1,hh_check,1,17.71.01.1003,Duplicate id,,,\n\
         G-7,enum1,hh_check,1,17.71.02.1001,Outside the user's regions,,,\n\
         G-8,sup2,hh_check,1,17.71.01.1003,A supervisor,,,\n\
         G 9,enum1,hh_check,x,17.71.01.1003,Bad id and version,,,\n\
         G-10,enum1,hh_check,1,17.71.01.1003,\"Name\u{202E}\",,,\n"
    );
    let errors = rows_of(import(kit.db(), &csv).unwrap_err());
    let found: Vec<(u64, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, Some("user_id")),
            (4, Some("form_id")),
            (5, Some("region_code")),
            (6, Some("nik")),
            (7, Some("assignment_id")),
            (8, Some("region_code")),
            (9, Some("user_id")),
            (10, Some("assignment_id")),
            (10, Some("form_version")),
            (11, Some("label")),
        ],
        "{errors:#?}"
    );
    let text = ImportError::Rows(errors.clone()).to_string();
    assert!(
        text.contains("line 3, column user_id: unknown user \"nobody\""),
        "{text}"
    );
    assert!(
        text.contains("line 4, column form_id: unknown form"),
        "{text}"
    );
    assert!(
        text.contains("line 5, column region_code: bad region code"),
        "{text}"
    );
    assert!(
        text.contains("line 6, column nik: bad NIK format"),
        "{text}"
    );
    assert!(
        text.contains("line 7, column assignment_id: duplicate id: \"G-1\" is also on line 2"),
        "{text}"
    );
    assert!(text.contains("nothing was imported"), "{text}");
    assert_eq!(
        count(kit.db()),
        before,
        "nothing imported from a file with errors"
    );
}

#[test]
fn file_level_problems_are_reported() {
    let kit = Kit::world();
    let missing =
        rows_of(import(kit.db(), "assignment_id,user_id,label\nX,enum1,x\n").unwrap_err());
    let columns: Vec<_> = missing.iter().filter_map(|e| e.column.as_deref()).collect();
    assert_eq!(columns, ["form_id", "form_version", "region_code"]);
    assert!(missing.iter().all(|e| e.line == 1));

    let empty = rows_of(import(kit.db(), "").unwrap_err());
    assert!(empty[0].message.contains("empty"), "{empty:?}");
    let header_only = rows_of(import(kit.db(), HEADER).unwrap_err());
    assert!(
        header_only[0].message.contains("no assignment rows"),
        "{header_only:?}"
    );

    let ragged = rows_of(
        import(
            kit.db(),
            &format!("{HEADER}R-1,enum1,hh_check,1,17.71.01.1003,Short row\n"),
        )
        .unwrap_err(),
    );
    assert_eq!(ragged[0].line, 2);
    assert!(ragged[0].message.contains("columns"), "{ragged:?}");

    let bad_header = rows_of(
        import(
            kit.db(),
            &format!("{}Head Name\n", HEADER.trim_end().to_string() + ","),
        )
        .unwrap_err(),
    );
    assert_eq!(bad_header[0].column.as_deref(), Some("Head Name"));

    let latin1 = b"assignment_id,user_id,form_id,form_version,region_code,label\nL-1,enum1,hh_check,1,17.71.01.1003,Caf\xe9\n";
    let errors = rows_of(
        kit.db()
            .write(|tx| import_csv(tx, &latin1[..], Utc::now()))
            .unwrap_err(),
    );
    assert!(errors[0].message.contains("UTF-8"), "{errors:?}");
}

#[test]
fn ids_cannot_be_reused_with_other_content_or_after_withdrawal() {
    let kit = Kit::world();
    let changed = format!("{HEADER}A-1,enum1,hh_check,1,17.71.01.1001,Another label,,,\n");
    let errors = rows_of(import(kit.db(), &changed).unwrap_err());
    assert!(
        errors[0].message.contains("different content"),
        "{errors:?}"
    );

    kit.db()
        .write(|tx| withdraw(tx, "A-2", Utc::now()))
        .unwrap();
    assert!(
        !kit.db()
            .write(|tx| withdraw(tx, "A-2", Utc::now()))
            .unwrap(),
        "withdrawing twice changes nothing"
    );
    let again = format!("{HEADER}A-2,enum1,hh_check,1,17.71.01.1001,Siti RT 02,Siti,,\n");
    let errors = rows_of(import(kit.db(), &again).unwrap_err());
    assert!(errors[0].message.contains("withdrawn"), "{errors:?}");
    assert!(matches!(
        kit.db().write(|tx| withdraw(tx, "nope", Utc::now())),
        Err(WithdrawError::Unknown(_))
    ));
}
