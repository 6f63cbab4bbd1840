use chrono::Utc;
use tepat_protocol::Role;

use super::*;
use crate::db::Db;
use crate::testkit::{KK, Kit, NIK};

const HEADER: &str =
    "assignment_id,user_id,form_id,form_version,region_code,label,head_name,head_nik,kk\n";

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
        "{HEADER}H-1,enum1,hh_check,1,17.71.01.1002,\"Wati, RT 04\",Wati,{NIK},{KK}\nH-2,enum1,hh_check,1,17.71.01.1002,Joko,Joko,,\n"
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
        format!(r#"{{"head_name":"Wati","head_nik":"{NIK}","kk":"{KK}"}}"#)
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
fn a_crlf_file_names_the_same_lines_as_an_lf_file() {
    let kit = Kit::world();
    let lf = format!(
        "{HEADER}\
         G-1,enum1,hh_check,1,17.71.01.1003,Good row,Ani,,\n\
         G-2,nobody,hh_check,1,17.71.01.1003,Unknown user,,,\n\
         G-3,enum1,hh_check,1,17.71.01.1003,\"Two\r\nlines\",,,\n\
         G-4,enum1,other_form,1,17.71.01.1003,Unknown form,,,\n"
    );
    let crlf = lf.replace('\n', "\r\n").replace("\r\r\n", "\r\n");
    assert!(crlf.matches("\r\n").count() > lf.lines().count() - 1);
    let lines = |csv: &str| -> Vec<(u64, Option<String>)> {
        rows_of(import(kit.db(), csv).unwrap_err())
            .into_iter()
            .map(|e| (e.line, e.column))
            .collect()
    };
    // G-3's label spans lines 4 and 5 (and a label may not hold a line break): G-4 is on line 6.
    let expected = vec![
        (3, Some("user_id".to_string())),
        (4, Some("label".to_string())),
        (6, Some("form_id".to_string())),
    ];
    assert_eq!(lines(&lf), expected);
    assert_eq!(lines(&crlf), expected, "CRLF line numbers");
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
            (6, Some("head_nik")),
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
        text.contains("line 6, column head_nik: bad NIK format"),
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

fn import_with_members(
    db: &Db,
    households: &str,
    members: &str,
) -> Result<ImportReport, ImportError> {
    db.write(|tx| {
        import_csv_with_members(
            tx,
            households.as_bytes(),
            Some(members.as_bytes()),
            Utc::now(),
        )
    })
}

fn import_jsonl_text(db: &Db, text: &str) -> Result<ImportReport, ImportError> {
    db.write(|tx| import_jsonl(tx, text.as_bytes(), Utc::now()))
}

fn stored(db: &Db, id: &str) -> Assignment {
    db.write(|tx| existing(tx, id))
        .unwrap()
        .map(|s| s.assignment)
        .unwrap()
}

#[test]
fn a_column_no_field_prefills_is_refused_by_name_with_the_known_keys() {
    let kit = Kit::world();
    let before = count(kit.db());
    // The old documented example's columns: `nik` and `kk` where the form reads `head_nik` and `kk`.
    let csv = "assignment_id,user_id,form_id,form_version,region_code,label,head_name,nik,programmes\n\
               U-1,enum1,hh_check,1,17.71.01.1002,Wati,Wati,,PKH\n\
               U-2,enum1,hh_check,1,17.71.01.1002,Joko,Joko,,\n";
    let errors = rows_of(import(kit.db(), csv).unwrap_err());
    let columns: Vec<_> = errors.iter().map(|e| e.column.as_deref()).collect();
    // Named once per column, on the first row, even where the cell is empty.
    assert_eq!(columns, [Some("nik"), Some("programmes")], "{errors:#?}");
    assert_eq!(
        errors[0].to_string(),
        "line 2, column nik: no field of form hh_check version 1 prefills this key; the keys it prefills \
         are: head_name, head_nik, kk"
    );
    assert_eq!(count(kit.db()), before);
}

#[test]
fn a_value_the_field_cannot_take_is_refused() {
    let kit = Kit::world();
    let csv = format!("{HEADER}V-1,enum1,hh_check,1,17.71.01.1002,Wati,Wati,,123\n");
    let errors = rows_of(import(kit.db(), &csv).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].column.as_deref(), Some("kk"));
    assert!(errors[0].message.contains("No. KK"), "{errors:#?}");

    let members = "assignment_id,member_name,sex\nV-2,Wati,L\n";
    let households = format!("{HEADER}V-2,enum1,hh_check,1,17.71.01.1002,Wati,Wati,,\n");
    let errors = rows_of(import_with_members(kit.db(), &households, members).unwrap_err());
    assert_eq!(
        errors[0].to_string(),
        "members file, line 2, column sex: \"L\" does not fit the field: Jenis kelamin has no choice L"
            .replace("Jenis kelamin", "Sex"),
        "{errors:#?}"
    );
}

#[test]
fn members_csv_fills_each_household_roster_in_file_order() {
    let kit = Kit::world();
    let households = format!(
        "{HEADER}M-1,enum1,hh_check,1,17.71.01.1002,Wati,Wati,{NIK},\nM-2,enum1,hh_check,1,17.71.01.1002,Joko,Joko,,\n"
    );
    let members = "assignment_id,member_name,sex\n\
                   M-1,Wati,2\n\
                   M-2,Joko,1\n\
                   M-1,Budi,1\n\
                   M-1,Ani,\n";
    assert_eq!(
        import_with_members(kit.db(), &households, members)
            .unwrap()
            .added,
        2
    );
    let m1 = stored(kit.db(), "M-1");
    let names: Vec<(&str, Option<&str>)> = m1.prefill_repeats["members"]
        .iter()
        .map(|m| (m["member_name"].as_str(), m.get("sex").map(String::as_str)))
        .collect();
    assert_eq!(
        names,
        [("Wati", Some("2")), ("Budi", Some("1")), ("Ani", None)]
    );
    assert_eq!(stored(kit.db(), "M-2").prefill_repeats["members"].len(), 1);
    // The sync feed carries the members as stored.
    let payload: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT payload FROM changes WHERE ref_id = 'M-1' AND kind = 'assignment'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    let sent: Assignment = serde_json::from_str(&payload).unwrap();
    assert_eq!(sent, m1);
    // The same two files again change nothing.
    assert_eq!(
        import_with_members(kit.db(), &households, members)
            .unwrap()
            .unchanged,
        2
    );
}

#[test]
fn members_file_problems_name_the_members_file() {
    let kit = Kit::world();
    let before = count(kit.db());
    let households = format!("{HEADER}P-1,enum1,hh_check,1,17.71.01.1002,Wati,Wati,,\n");
    let members = "assignment_id,member_name,nik\nP-1,Wati,\nP-9,Nobody,\n";
    let errors = rows_of(import_with_members(kit.db(), &households, members).unwrap_err());
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text,
        [
            "members file, line 2, column nik: no field of form hh_check version 1 prefills this key; the keys \
             it prefills are: member_name, sex",
            "members file, line 3, column assignment_id: no household \"P-9\" in the households file (or it \
             has a problem of its own)",
        ]
    );
    let missing =
        rows_of(import_with_members(kit.db(), &households, "member_name\nWati\n").unwrap_err());
    assert_eq!(
        missing[0].to_string(),
        "members file, line 1, column assignment_id: required column is missing"
    );
    assert_eq!(count(kit.db()), before);
}

#[test]
fn a_roster_longer_than_the_form_takes_is_refused() {
    let kit = Kit::world();
    let households = format!("{HEADER}L-1,enum1,hh_check,1,17.71.01.1002,Wati,Wati,,\n");
    let mut members = String::from("assignment_id,member_name\n");
    for i in 0..101 {
        members.push_str(&format!("L-1,Anggota {i}\n"));
    }
    let errors = rows_of(import_with_members(kit.db(), &households, &members).unwrap_err());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, 102);
    assert!(
        errors[0].message.contains("more than 100 members"),
        "{errors:#?}"
    );
}

#[test]
fn json_lines_carry_a_household_and_its_members_per_line() {
    let kit = Kit::world();
    let text = format!(
        r#"{{"assignment_id":"J-1","user_id":"enum1","form_id":"hh_check","form_version":1,"region_code":"17.71.01.1002","label":"Wati","prefill":{{"head_name":"Wati","head_nik":"{NIK}","kk":null}},"prefill_repeats":{{"members":[{{"member_name":"Wati","sex":2}},{{"member_name":"Budi","sex":"1"}}]}}}}

{{"assignment_id":"J-2","user_id":"enum1","form_id":"hh_check","form_version":1,"region_code":"17.71.01.1002","label":"Joko"}}
"#
    );
    assert_eq!(import_jsonl_text(kit.db(), &text).unwrap().added, 2);
    let j1 = stored(kit.db(), "J-1");
    assert_eq!(j1.prefill.get("head_nik").map(String::as_str), Some(NIK));
    assert!(!j1.prefill.contains_key("kk"), "null is left out");
    assert_eq!(
        j1.prefill_repeats["members"][0]["sex"], "2",
        "a number becomes its text"
    );
    assert_eq!(j1.prefill_repeats["members"][1]["member_name"], "Budi");
    assert!(stored(kit.db(), "J-2").prefill_repeats.is_empty());
    assert_eq!(import_jsonl_text(kit.db(), &text).unwrap().unchanged, 2);
}

#[test]
fn json_lines_problems_name_the_line_and_key() {
    let kit = Kit::world();
    let before = count(kit.db());
    let good = r#""user_id":"enum1","form_id":"hh_check","form_version":1,"region_code":"17.71.01.1002","label":"X""#;
    let text = format!(
        "{{\"assignment_id\":\"K-1\",{good},\"prefill\":{{\"nik\":\"1\"}}}}\n\
         {{\"assignment_id\":\"K-2\",{good},\"prefill_repeats\":{{\"members\":[{{\"member_name\":\"A\",\"age\":3}}]}}}}\n\
         {{\"assignment_id\":\"K-3\",{good},\"prefill_repeats\":{{\"children\":[]}}}}\n\
         {{\"assignment_id\":\"K-4\",{good},\"extra\":1}}\n\
         not json\n"
    );
    let errors = rows_of(import_jsonl_text(kit.db(), &text).unwrap_err());
    let found: Vec<(u64, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (1, Some("prefill.nik")),
            (2, Some("prefill_repeats.members[0].age")),
            (3, Some("prefill_repeats.children")),
            (4, None),
            (5, None),
        ],
        "{errors:#?}"
    );
    assert!(
        errors[0].message.contains("head_name, head_nik, kk"),
        "{errors:#?}"
    );
    assert!(
        errors[1].message.contains("member_name, sex"),
        "{errors:#?}"
    );
    assert!(errors[2].message.contains("members"), "{errors:#?}");
    assert!(
        errors[3].message.contains("unknown field `extra`"),
        "{errors:#?}"
    );
    assert_eq!(count(kit.db()), before);
}

/// `schemas/examples/`: what `schemas/assignments.md` documents.
fn example(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/examples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A database with the real DTSEN form and the examples' enumerator.
fn dtsen_kit() -> Kit {
    let kit = Kit::new();
    kit.user("enum1", Role::Enumerator, &["17.71.01"]);
    let form = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/forms/dtsen_groundcheck.json");
    kit.publish(&std::fs::read_to_string(form).unwrap());
    kit
}

#[test]
fn the_documented_examples_import_into_the_dtsen_form_alike_in_both_formats() {
    let from_csv = dtsen_kit();
    let report = from_csv
        .db()
        .write(|tx| {
            import_csv_with_members(
                tx,
                &example("households.csv")[..],
                Some(&example("members.csv")[..]),
                Utc::now(),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.added, 2);
    let from_jsonl = dtsen_kit();
    let report = from_jsonl
        .db()
        .write(|tx| import_jsonl(tx, &example("households.jsonl")[..], Utc::now()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.added, 2);
    for id in ["GC-0001", "GC-0002"] {
        assert_eq!(
            stored(from_csv.db(), id),
            stored(from_jsonl.db(), id),
            "{id}"
        );
    }
    let budi = stored(from_csv.db(), "GC-0001");
    // The head's identity reaches the fields that read it (the old example's `nik`, `kk` did not).
    assert_eq!(budi.prefill["head_nik"], "1771011205800001");
    assert_eq!(budi.prefill["kk_number"], "1771012001150003");
    assert_eq!(
        budi.prefill["region_code"], "17.71.01.1001",
        "from the assignment's own column"
    );
    let members = &budi.prefill_repeats["members"];
    assert_eq!(members.len(), 5);
    assert!(
        members.iter().all(|m| m["registered"] == "1"),
        "every member carried is on the register"
    );
    assert_eq!(members[4]["member_name"], "Dimas Santoso");
    // Siti's second member is known by birth year only.
    let siti = stored(from_csv.db(), "GC-0002");
    assert_eq!(siti.prefill_repeats["members"][1]["birth_year"], "2019");
    assert!(
        !siti.prefill.contains_key("head_nik"),
        "empty cells are left out"
    );
}

#[test]
fn the_old_documented_example_is_refused_with_the_keys_the_form_reads() {
    let kit = dtsen_kit();
    let old = "assignment_id,user_id,form_id,form_version,region_code,label,head_name,nik,kk,address,programmes\n\
               GC-0001,enum1,dtsen_groundcheck,1,17.71.01.1001,Budi Santoso RT 01/RW 02,Budi Santoso,1771011205800001,1771012001150003,\"Jl. Mawar No. 5, RT 01/RW 02\",PKH BPNT\n";
    let errors = rows_of(import(kit.db(), old).unwrap_err());
    let columns: Vec<_> = errors.iter().map(|e| e.column.as_deref()).collect();
    assert_eq!(columns, [Some("kk"), Some("nik")], "{errors:#?}");
    assert!(
        errors[0].message.contains("head_nik") && errors[0].message.contains("kk_number"),
        "{errors:#?}"
    );
}
