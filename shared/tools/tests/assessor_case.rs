//! A TKSK's asesmen typed into `tepat-field`: the list shows no visit target, a new case starts the region choice
//! in the assessor's own area, the finalised case is listed by the client's name, and its follow-up visit opens
//! with the case's referrals so that only their status is changed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tepat_form::{FieldType, Level};
use tepat_protocol::VisitDoc;
use tepat_runtime::script::{Step, field_kinds, steps, typed_text};
use tepat_store::{Durability, Store};
use tepat_synth::Generator;

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/forms")
}

fn ppks() -> tepat_form::CompiledForm {
    let json = std::fs::read_to_string(forms_dir().join("ppks_asesmen.json")).unwrap();
    tepat_form::load(&json).unwrap()
}

/// The commands typing the asesmen `doc` (read-only answers, which the phone fills, are left out).
fn typing(doc: &VisitDoc, form: &tepat_form::Form, photos: &Path) -> Vec<String> {
    let kinds = field_kinds(form);
    let read_only: Vec<&str> = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| f.read_only)
        .map(|f| f.id.as_str())
        .collect();
    // The consent first, as the form asks it.
    let mut lines = vec![format!(
        "jawab consent {}",
        typed_text(&doc.answers["consent"])
    )];
    for step in steps(doc, &kinds) {
        let line = match step {
            Step::Answer { path, .. }
                if path == "consent" || read_only.contains(&path.as_str()) =>
            {
                continue;
            }
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
        };
        lines.push(line);
    }
    lines
}

#[test]
fn an_assessor_s_case_and_its_follow_up_from_the_keyboard() {
    let form = ppks();
    let mut generator = Generator::new(15);
    let mut case = generator.clean_ppks();
    // Three referrals at once: Dukcapil for the ID card, BPJS for PBI-JKN, a Sentra for ATENSI.
    let on = case.visit_date.format("%Y-%m-%d").to_string();
    case.answers.insert(
        "referrals".into(),
        json!([
            {"referral_to": "4", "referral_agency": "Disdukcapil Kota Bengkulu", "referral_service": "adminduk",
             "referral_date": on, "referral_status": "1"},
            {"referral_to": "5", "referral_service": "pbi", "referral_date": on, "referral_status": "2"},
            {"referral_to": "6", "referral_service": "atensi", "referral_date": on, "referral_status": "1"},
        ]),
    );
    assert_eq!(form.validate(&case.answers, case.visit_date), vec![]);
    let name = case.answers["full_name"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tksk.db");
    let mut lines = vec![
        "daftar".to_string(),
        "kasus-baru ppks_asesmen".into(),
        "bagian 3".into(),
    ];
    lines.extend(typing(&case, form.form(), dir.path()));
    lines.extend([
        "periksa".into(),
        "selesai".into(),
        "daftar".into(),
        // The follow-up: every referral carried; the first is now served, the second refused.
        "lanjutan 1".into(),
        "jawab referral_followups[0].referral_update 3".into(),
        "jawab referral_followups[1].referral_update 1".into(),
        "jawab referral_followups[1].referral_update 4".into(),
        "jawab referral_followups[1].referral_update_reason Belum terdaftar di DTSEN desa".into(),
        "jawab referral_needed 2".into(),
        "periksa".into(),
        "selesai".into(),
        "daftar".into(),
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
        .arg(case.visit_date.to_string())
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
    // No pendamping PKH target for a TKSK.
    assert!(!stdout.contains("dari 12"), "{stdout}");
    assert!(stdout.contains("0 kunjungan selesai hari ini"), "{stdout}");
    // The region choice started in Kota Bengkulu: its districts, never the list of provinces.
    assert!(stdout.contains("Gading Cempaka"), "{stdout}");
    assert!(!stdout.contains("Aceh"), "{stdout}");
    // Every command was taken (the carried referrals' statuses too): nothing refused with `!!`.
    let refused: Vec<&str> = stdout.lines().filter(|l| l.contains("!!")).collect();
    assert_eq!(refused, Vec::<&str>::new(), "{stdout}");
    // Listed by the client's name, then the follow-up in its place.
    assert!(stdout.contains(&format!("  1. {name} · ")), "{stdout}");
    assert!(!stdout.contains("Kasus 16-03-2026"), "{stdout}");
    assert!(stdout.contains("→ lanjutan"), "{stdout}");

    let store = Store::open(&db, Durability::Balanced).unwrap();
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 2, "{stdout}");
    let first = store.outbox_doc(outbox[0].visit_id, 1).unwrap();
    let later = store.outbox_doc(outbox[1].visit_id, 1).unwrap();
    let findings = |doc: &VisitDoc| -> Vec<String> {
        form.validate(&doc.answers, doc.visit_date)
            .into_iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| format!("{} {}", f.rule, f.path))
            .collect()
    };
    assert_eq!(findings(&first), Vec::<String>::new());
    assert_eq!(findings(&later), Vec::<String>::new());
    assert_eq!(first.answers["referrals"], case.answers["referrals"]);
    assert_eq!(first.answers["work_area"], json!("17.71"));
    assert_eq!(later.answers["case_source"], json!("6"));
    assert_eq!(later.answers["case_id"], json!(first.visit_id.to_string()));
    assert_eq!(later.answers["full_name"], json!(name));
    assert!(!later.answers.contains_key("referrals"));
    let carried = later.answers["referral_followups"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value)> = carried
        .iter()
        .map(|m| {
            (
                m["prev_referral_to"].clone(),
                m["prev_referral_status"].clone(),
                m["referral_update"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!("4"), json!("1"), json!("3")),
            (json!("5"), json!("2"), json!("4")),
            (json!("6"), json!("1"), json!("1")),
        ]
    );
    assert_eq!(
        carried[0]["prev_referral_agency"],
        json!("Disdukcapil Kota Bengkulu")
    );
}
