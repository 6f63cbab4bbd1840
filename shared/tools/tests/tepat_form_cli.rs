//! `tepat-form check` / `validate` as a form author runs them: exit codes, output, messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tepat_form::Finding;

fn t(s: &str) -> Value {
    json!({"id": s, "en": s})
}

fn form() -> Value {
    json!({
        "id": "mini", "version": 2, "title": t("Mini"),
        "choices": {"yn": [{"value": "1", "label": t("Ya")}, {"value": "2", "label": t("Tidak")}]},
        "sections": [{"id": "main", "title": t("Utama"), "fields": [
            {"id": "found", "type": "select_one", "label": t("Ditemukan"), "choices": "yn", "required": true},
            {"id": "head_nik", "type": "nik", "label": t("NIK"), "relevant": "${found} = '1'", "required": true},
            {"id": "age", "type": "integer", "label": {"id": "Umur", "en": "Age"},
             "constraints": [{"expr": ". <= 120", "message": t("terlalu tua"), "rule": "age_max"}]},
            {"id": "members", "type": "repeat", "label": t("Anggota"), "fields": [
                {"id": "name", "type": "text", "label": t("Nama"), "required": true}]}
        ]}]
    })
}

fn visit(answers: Value) -> Value {
    json!({
        "visit_id": "01900000-0000-7000-8000-000000000001", "revision": 1, "form_id": "mini", "form_version": 2,
        "assignment_id": null, "visit_date": "2026-11-23", "answers": answers, "warning_notes": {},
        "device_times": {"started_at": "2026-11-23T01:00:00Z", "finalised_at": null, "device_seq": 1}
    })
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tepat-form"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_accepts_a_good_form_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "form.json", &form());
    let out = run(&["check".as_ref(), f.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.contains("form mini version 2 is fine: 1 sections, 5 fields (1 repeat groups)"),
        "{stdout}"
    );
}

#[test]
fn check_lists_every_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = form();
    bad["sections"][0]["fields"][1]["relevant"] = json!("${fund} = '1'");
    bad["sections"][0]["fields"][2]["constraints"][0]["expr"] = json!(". <= ");
    bad["sections"][0]["fields"][3]["fields"][0]["id"] = json!("age");
    let f = write(dir.path(), "bad.json", &bad);
    let out = run(&["check".as_ref(), f.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "sections[0].fields[1].relevant: field `head_nik`: column 1: unknown field ${fund}"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "sections[0].fields[2].constraints[0].expr: field `age`: column 6: expected a value"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("sections[0].fields[3].fields[0].id: duplicate field id `age`"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("3 problem(s)"));
    // Broken JSON: line and column.
    let p = dir.path().join("broken.json");
    std::fs::write(&p, "{\n  \"id\": \"x\",\n  oops\n}").unwrap();
    let out = run(&["check".as_ref(), p.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("line 3 column 3"),
        "{}",
        text(&out.stdout)
    );
    // A missing file is unusable input.
    let out = run(&["check".as_ref(), dir.path().join("nope.json").as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
}

#[test]
fn validate_prints_findings_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "form.json", &form());
    let good = write(
        dir.path(),
        "good.json",
        &visit(json!({"found": "1", "head_nik": "1771011705800001", "age": 40})),
    );
    let out = run(&["validate".as_ref(), f.as_os_str(), good.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let findings: Vec<Finding> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings.is_empty());

    let bad = write(
        dir.path(),
        "bad.json",
        &visit(
            json!({"found": "1", "head_nik": "9999991705800001", "age": 130, "members": [{}], "x": 1}),
        ),
    );
    let out = run(&["validate".as_ref(), f.as_os_str(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let findings: Vec<Finding> = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.path.as_str(), f.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("head_nik", "nik_prefix"),
            ("age", "age_max"),
            ("members[0].name", "required"),
            ("x", "unknown_field")
        ]
    );
    assert_eq!(findings[1].message.en, "Age: terlalu tua");

    // Warnings only: exit 0.
    let warn = write(
        dir.path(),
        "warn.json",
        &visit(json!({"found": "1", "head_nik": "9999991705800001"})),
    );
    let out = run(&["validate".as_ref(), f.as_os_str(), warn.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("0 error(s), 1 warning(s)"));
}

#[test]
fn validate_bare_answers_with_a_date() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "form.json", &form());
    let a = write(dir.path(), "answers.json", &json!({"found": "2"}));
    let out = run(&[
        "validate".as_ref(),
        f.as_os_str(),
        a.as_os_str(),
        "--answers-only".as_ref(),
        "--date".as_ref(),
        "2026-11-23".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<Vec<Finding>>(&out.stdout).unwrap(),
        []
    );
    // --answers-only without --date is a usage error.
    let out = run(&[
        "validate".as_ref(),
        f.as_os_str(),
        a.as_os_str(),
        "--answers-only".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_refuses_unusable_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "form.json", &form());
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"answers\": ").unwrap();
    let out = run(&["validate".as_ref(), f.as_os_str(), junk.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a valid visit document"),
        "{}",
        text(&out.stderr)
    );
    let mut other = visit(json!({}));
    other["form_version"] = json!(1);
    let other = write(dir.path(), "other.json", &other);
    let out = run(&["validate".as_ref(), f.as_os_str(), other.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is a visit of form mini version 1, but"),
        "{}",
        text(&out.stderr)
    );
    let mut broken_form = form();
    broken_form["sections"][0]["fields"][0]["choices"] = json!("nope");
    let bf = write(dir.path(), "broken_form.json", &broken_form);
    let good = write(dir.path(), "good.json", &visit(json!({})));
    let out = run(&["validate".as_ref(), bf.as_os_str(), good.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("choice list `nope` does not exist"));
}

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn export_then_import_gives_the_same_form() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "dtsen_groundcheck",
        "ppks_asesmen",
        "monitoring_6t",
        "satgas_laporan",
    ] {
        let json = repo_file(&format!("schemas/forms/{name}.json"));
        let xlsx = dir.path().join(format!("{name}.xlsx"));
        let out = run(&[
            "export".as_ref(),
            json.as_os_str(),
            "-o".as_ref(),
            xlsx.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let back = dir.path().join(format!("{name}.json"));
        let out = run(&[
            "import".as_ref(),
            xlsx.as_os_str(),
            "-o".as_ref(),
            back.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains(": warning:"),
            "{}",
            text(&out.stderr)
        );
        let original = tepat_form::load(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let imported = tepat_form::load(&std::fs::read_to_string(&back).unwrap()).unwrap();
        assert_eq!(imported.form(), original.form(), "{name}");
        // Without -o the form goes to standard output.
        let out = run(&["import".as_ref(), xlsx.as_os_str()]);
        assert_eq!(out.status.code(), Some(0));
        let printed: tepat_form::Form = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(&printed, original.form());
    }
}

#[test]
fn import_lists_each_problem_with_its_cell_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("survey").unwrap();
    let rows: [&[&str]; 4] = [
        &["type", "name", "label", "appearance"],
        &["text", "address", "Alamat", "multiline"],
        &["time", "jam", "Jam", ""],
        &["integer", "umur", "Umur", ""],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    let xlsx = dir.path().join("bad.xlsx");
    workbook.save(&xlsx).unwrap();
    let json = dir.path().join("bad.json");
    let out = run(&[
        "import".as_ref(),
        xlsx.as_os_str(),
        "-o".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains("survey row 2, column appearance (D)"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("survey row 3, column type (A)") && lines[1].contains("`time`"),
        "{stdout}"
    );
    assert!(!json.exists());
    // Not a workbook at all: unusable input.
    let not_xlsx = write(dir.path(), "form.xlsx", &form());
    let out = run(&["import".as_ref(), not_xlsx.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a readable .xlsx"),
        "{}",
        text(&out.stderr)
    );
}
