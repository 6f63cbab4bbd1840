//! A Satgas Tanggap Cepat report typed into `tepat-field` by a TKSK, and the asesmen opened from it
//! (`asesmen-dari N`): the case list names the report with its urgency and whether its asesmen was started, and
//! the asesmen opens with the report's data (name, sex, NIK, village, address, GPS, the suspected PPKS types as
//! the asesmen's, unconfirmed) and the report's id in `laporan_id`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;
use tepat_form::FieldType;
use tepat_protocol::VisitDoc;
use tepat_runtime::script::{Step, field_kinds, steps, typed_text};
use tepat_store::{AnswerRow, Durability, Store};
use tepat_synth::Generator;

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/forms")
}

fn satgas() -> tepat_form::CompiledForm {
    let json = std::fs::read_to_string(forms_dir().join("satgas_laporan.json")).unwrap();
    tepat_form::load(&json).unwrap()
}

/// The commands typing the report `doc` (read-only answers, which the phone fills, left out).
fn typing(doc: &VisitDoc, form: &tepat_form::Form) -> Vec<String> {
    let kinds = field_kinds(form);
    let read_only: Vec<&str> = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| f.read_only)
        .map(|f| f.id.as_str())
        .collect();
    let mut lines = Vec::new();
    for step in steps(doc, &kinds) {
        let line = match step {
            Step::Answer { path, .. } if read_only.contains(&path.as_str()) => continue,
            // The report's photo is optional; this report goes without one.
            Step::Answer {
                kind: FieldType::Photo,
                ..
            } => continue,
            Step::Answer {
                path,
                kind: FieldType::Geopoint,
                value,
            } => format!(
                "gps {path} {} {} {}",
                value["lat"], value["lon"], value["accuracy_m"]
            ),
            Step::Answer {
                path,
                kind: FieldType::Region,
                value,
            } => {
                // A region is picked on its page: the location section, the second.
                format!("bagian 2\npilih {path} {}", typed_text(value))
            }
            Step::Answer { path, value, .. } => format!("jawab {path} {}", typed_text(value)),
            Step::AddMember { repeat, .. } => format!("tambah {repeat}"),
            Step::CloseMember => "tutup".into(),
            Step::Note { path, note } => format!("catatan {path} {note}"),
        };
        lines.push(line);
    }
    lines
}

#[test]
fn a_satgas_report_and_the_asesmen_opened_from_it_from_the_keyboard() {
    let form = satgas();
    let mut generator = Generator::new(31);
    let mut report = generator.clean_satgas_report();
    report.answers.remove("photo");
    // Urgent: acted on today, an asesmen needed; an elderly man left alone, maybe also poor.
    report.answers.insert("urgency".into(), json!("1"));
    report
        .answers
        .insert("ppks_suspected".into(), json!(["8", "24"]));
    report.answers.insert("age_estimate".into(), json!(70));
    assert_eq!(form.validate(&report.answers, report.visit_date), vec![]);
    let name = report.answers["full_name"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tksk.db");
    let mut lines = vec!["daftar".to_string(), "kasus-baru satgas_laporan".into()];
    lines.extend(typing(&report, form.form()));
    lines.extend([
        "periksa".into(),
        "selesai".into(),
        "daftar".into(),
        "asesmen-dari 1".into(),
        "daftar".into(),
        // Asked again from the list: the asesmen was started already.
        "asesmen-dari 2".into(),
        "keluar".into(),
    ]);
    let input = lines.join("\n") + "\n";

    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-field"))
        .arg("--db")
        .arg(&db)
        .arg("--forms")
        .arg(forms_dir())
        .args(["--role", "assessor", "--user", "tksk01", "--name", "Andi"])
        .args(["--regions", "17.71"])
        .arg("--today")
        .arg(report.visit_date.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let refused: Vec<&str> = stdout.lines().filter(|l| l.contains("!!")).collect();
    assert_eq!(refused, Vec::<&str>::new(), "{stdout}");
    // The report on the case list: its form, the person, the urgency; an asesmen to start, then started.
    let line = format!("Laporan Satgas Tanggap Cepat: {name}, urgensi darurat");
    assert!(stdout.contains(&line), "{line}\n{stdout}");
    assert!(stdout.contains("Perlu asesmen, belum dimulai"), "{stdout}");
    assert!(stdout.contains("→ asesmen-dari"), "{stdout}");
    assert!(stdout.contains("Asesmen sudah dimulai"), "{stdout}");
    assert!(
        stdout.contains("Asesmen dari laporan ini sudah dimulai"),
        "a second asesmen of the same report is refused: {stdout}"
    );

    let store = Store::open(&db, Durability::Balanced).unwrap();
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1, "the report is final: {stdout}");
    let filed = store.outbox_doc(outbox[0].visit_id, 1).unwrap();
    assert_eq!(filed.form_id, "satgas_laporan");
    assert_eq!(filed.assignment_id, None);
    assert_eq!(filed.answers["work_area"], json!("17.71"));
    assert_eq!(filed.answers["ppks_suspected"], json!(["8", "24"]));

    // The asesmen: a draft of the PPKS form, the same person, linked to the report.
    let today = store.today(report.visit_date).unwrap();
    let asesmen = today
        .cases
        .iter()
        .find(|v| v.form_id == "ppks_asesmen")
        .unwrap_or_else(|| panic!("no asesmen started: {stdout}"));
    assert_eq!(
        today.reports_assessed.get(&filed.visit_id),
        Some(&asesmen.visit_id)
    );
    let record = store.visit(asesmen.visit_id).unwrap();
    let answer = |path: &str| match store.answer(asesmen.visit_id, path).unwrap() {
        Some(AnswerRow::Value(v)) => v,
        other => panic!("{path}: {other:?}"),
    };
    assert_eq!(answer("laporan_id"), json!(filed.visit_id.to_string()));
    for (asesmen_field, report_field) in [
        ("full_name", "full_name"),
        ("sex", "sex"),
        ("has_nik", "has_nik"),
        ("nik", "nik"),
        ("age_estimate", "age_estimate"),
        ("region", "region"),
        ("address", "address"),
        ("gps", "gps"),
        ("ppks_types", "ppks_suspected"),
        ("problem_description", "problem_description"),
    ] {
        assert_eq!(
            answer(asesmen_field),
            filed.answers[report_field],
            "{asesmen_field} ← {report_field}"
        );
        assert!(
            record.prefilled.contains_key(asesmen_field),
            "{asesmen_field} is marked as prefilled (to confirm or change)"
        );
        assert!(
            !record.confirmed.contains(asesmen_field),
            "{asesmen_field} is not confirmed yet"
        );
    }
    // What the report does not say is left to the asesmen: consent, the primary type, the urgency's own scale.
    for path in ["consent", "ppks_primary", "urgency", "birth_date"] {
        assert_eq!(
            store.answer(asesmen.visit_id, path).unwrap(),
            None,
            "{path}"
        );
    }
}
