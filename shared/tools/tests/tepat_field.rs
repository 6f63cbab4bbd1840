//! `tepat-field` driven through its stdin: a whole DTSEN ground-check visit with a 10-member roster, from the
//! list to the outbox, with nonsense typed along the way.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tepat_form::{FieldType, Level};
use tepat_protocol::{Answers, Assignment, VisitDoc};
use tepat_runtime::script::{OUTCOME, Step, field_kinds, steps, typed_text};
use tepat_store::{Durability, Store, VisitState};
use tepat_synth::{Generator, Outcome};

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/forms")
}

fn dtsen() -> tepat_form::CompiledForm {
    let json = std::fs::read_to_string(forms_dir().join("dtsen_groundcheck.json")).unwrap();
    tepat_form::load(&json).unwrap()
}

/// The first generated household (seed 7) found with a 10-member roster, and its assignment.
fn household_of_ten() -> (Assignment, VisitDoc) {
    let mut generator = Generator::new(7);
    for _ in 0..20 {
        for assignment in generator.assignments("17.71", 500).unwrap() {
            let doc = generator.visit_for(&assignment, Outcome::Found).unwrap();
            if doc
                .answers
                .get("members")
                .and_then(Value::as_array)
                .map(Vec::len)
                == Some(10)
            {
                return (assignment, doc);
            }
        }
    }
    panic!("no 10-member household in 10,000 draws");
}

/// The command typing `step` (a photo is written to `photos` first).
fn command_for(step: Step, photos: &Path) -> String {
    match step {
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
            kind: FieldType::Photo,
            ..
        } => {
            let file = photos.join(format!("{}.jpg", path.replace(['[', ']', '.'], "_")));
            std::fs::write(&file, format!("photo of {path}")).unwrap();
            format!("foto {path} {}", file.display())
        }
        Step::Answer {
            path,
            kind: FieldType::Region,
            value,
        } => format!("pilih {path} {}", typed_text(value)),
        Step::Answer { path, value, .. } => format!("jawab {path} {}", typed_text(value)),
        Step::AddMember { repeat, .. } => format!("tambah {repeat}"),
        Step::CloseMember => "tutup".into(),
        Step::Note { path, note } => format!("catatan {path} {note}"),
    }
}

fn script(doc: &VisitDoc, form: &tepat_form::Form, photos: &Path) -> String {
    let outcome_number = form.sections[0]
        .fields
        .iter()
        .position(|f| f.id == OUTCOME)
        .unwrap()
        + 1;
    let kinds = field_kinds(form);
    let mut steps = steps(doc, &kinds).into_iter();
    let Some(Step::Answer { path, value, .. }) = steps.next() else {
        panic!("no answer to begin with");
    };
    assert_eq!(path, OUTCOME, "the outcome is answered first");
    let mut lines = vec![
        "bantuan".to_string(),
        "blabla".into(),
        "buka 99".into(),
        "1 jawaban tanpa kunjungan".into(),
        "buka 1".into(),
        // The outcome first, by its number on the page, as a person would.
        format!("{outcome_number} {}", typed_text(value)),
        "2 x y z".into(),
        "gps".into(),
        "foto 3".into(),
        "anggota members 99".into(),
        "lanjut".into(),
        "kembali".into(),
    ];
    lines.extend(steps.map(|step| command_for(step, photos)));
    // The KK lists eleven: a warning on the roster, which needs a note before finalising. The review lists it
    // after the GPS accuracy warning, when the household has one (noted already by its steps).
    let roster_warning = 1 + usize::from(doc.warning_notes.contains_key("gps"));
    lines.push("jawab kk_member_count 11".into());
    lines.push("periksa".into());
    lines.push("selesai".into());
    lines.push(format!("catatan {roster_warning} ok"));
    lines.push(format!("catatan {roster_warning} {ROSTER_NOTE}"));
    lines.extend([
        "selesai".into(),
        "daftar".into(),
        "status".into(),
        "keluar".into(),
    ]);
    lines.join("\n") + "\n"
}

const ROSTER_NOTE: &str = "Anak sulung masih tercatat di KK ini tetapi sudah menikah dan pindah";

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[test]
fn a_whole_dtsen_visit_with_ten_members_from_the_keyboard() {
    let (assignment, expected) = household_of_ten();
    let compiled = dtsen();
    let form = compiled.form();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("latihan.db");
    let assignments = dir.path().join("tugas.json");
    std::fs::write(
        &assignments,
        serde_json::to_string(&vec![assignment.clone()]).unwrap(),
    )
    .unwrap();
    let input = script(&expected, form, dir.path());

    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-field"))
        .arg("--db")
        .arg(&db)
        .arg("--forms")
        .arg(forms_dir())
        .arg("--assignments")
        .arg(&assignments)
        .arg("--today")
        .arg(expected.visit_date.to_string())
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

    // Nonsense got clear messages, and the session went on.
    for message in [
        "!! Perintah tidak dikenal: blabla. Ketik 'bantuan'.",
        "!! Nomor itu tidak ada di layar",
        "!! Perintah itu tidak berlaku di layar ini",
        "!! sebutkan nomor pertanyaan",
        "tidak punya pilihan x y z",
    ] {
        assert!(stdout.contains(message), "missing {message:?} in\n{stdout}");
    }
    // The review listed the findings: no error left, the warnings with their notes.
    assert!(
        stdout.contains("Kesalahan (0):") && stdout.contains("Peringatan ("),
        "the review listed findings"
    );
    assert!(
        stdout.contains("1 peringatan perlu catatan singkat"),
        "{stdout}"
    );
    assert!(stdout.contains("Catatan terlalu pendek"), "{stdout}");
    assert!(
        stdout.contains("ok Kunjungan selesai dan tersimpan di kotak keluar"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 dari 12 kunjungan selesai hari ini"),
        "{stdout}"
    );
    assert!(stdout.contains("[Menunggu dikirim]"), "{stdout}");

    // The phone's database holds the visit, final and in the outbox, exactly as entered.
    let store = Store::open(&db, Durability::Balanced).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    let doc = store.outbox_doc(outbox[0].visit_id, 1).unwrap();
    assert_eq!(
        store.visit_summary(doc.visit_id).unwrap().state,
        VisitState::Final
    );
    assert_eq!(
        doc.assignment_id.as_deref(),
        Some(assignment.assignment_id.as_str())
    );
    assert_eq!(doc.visit_date, expected.visit_date);
    let mut notes = expected.warning_notes.clone();
    notes.insert("members".into(), ROSTER_NOTE.into());
    assert_eq!(doc.warning_notes, notes);
    assert_eq!(doc.answers["kk_member_count"], serde_json::json!(11));
    let members = doc.answers["members"].as_array().unwrap();
    assert_eq!(members.len(), 10);
    let kinds = field_kinds(form);
    let compare = |got: &Answers, want: &Answers, prefix: &str| {
        for (key, value) in want {
            let kind = kinds.get(key).copied();
            if matches!(kind, Some(FieldType::Calculate | FieldType::Repeat))
                || key == "kk_member_count"
            {
                continue;
            }
            let stored = got
                .get(key)
                .unwrap_or_else(|| panic!("{prefix}{key} missing"));
            if kind == Some(FieldType::Photo) {
                assert_eq!(
                    stored["sha256"].as_str().map(str::len),
                    Some(64),
                    "{prefix}{key}"
                );
            } else {
                assert!(
                    same(stored, value),
                    "{prefix}{key}: stored {stored}, entered {value}"
                );
            }
        }
    };
    compare(&doc.answers, &expected.answers, "");
    for (i, member) in expected.answers["members"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        compare(
            members[i].as_object().unwrap(),
            member.as_object().unwrap(),
            &format!("members[{i}]."),
        );
    }
    // What the phone sends passes the server's re-validation with no error.
    let findings = compiled.validate(&doc.answers, doc.visit_date);
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
