//! The ground check as it is meant to be: a registered family comes to the phone with its record, and the
//! pendamping confirms and corrects it. Driven through `tepat-field` (the phone's whole core) from its stdin, one
//! line per tap or typed answer, with the documented example family of five (`schemas/examples/households.jsonl`,
//! GC-0001). Issue 12's target: unchanged, it is finished with at most 40 actions; each change is one more; and
//! the finalised visit is the registered record plus the day's outcome, GPS and photos.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tepat_form::{CompiledForm, FieldType, Level};
use tepat_protocol::{Answers, Assignment, PrefillReview, VisitDoc};
use tepat_store::{Durability, Store};

const VISIT_DATE: &str = "2026-03-16";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn dtsen() -> CompiledForm {
    let json = std::fs::read_to_string(repo("schemas/forms/dtsen_groundcheck.json")).unwrap();
    tepat_form::load(&json).unwrap()
}

/// The example household as the server sends it after import: members marked as registered, the village as
/// the region question's prefill (`server/src/assignments.rs`, tested against the same file there).
fn family_of_five() -> Assignment {
    let text = std::fs::read_to_string(repo("schemas/examples/households.jsonl")).unwrap();
    let line = text.lines().next().unwrap();
    let mut assignment: Assignment = serde_json::from_str(line).unwrap();
    assert_eq!(assignment.assignment_id, "GC-0001");
    assignment
        .prefill
        .insert("region_code".into(), assignment.region_code.clone());
    for member in assignment.prefill_repeats.get_mut("members").unwrap() {
        member.insert("registered".into(), "1".into());
    }
    assert_eq!(assignment.prefill_repeats["members"].len(), 5);
    assignment
}

/// The registered record as answers: every prefilled value typed by the form engine, as the phone reads it.
fn registered_record(form: &CompiledForm, assignment: &Assignment) -> Answers {
    let date = chrono::NaiveDate::parse_from_str(VISIT_DATE, "%Y-%m-%d").unwrap();
    let mut session = form.session(Answers::new(), date).unwrap();
    let mut answers = Answers::new();
    for field in form.form().sections.iter().flat_map(|s| s.fields.iter()) {
        let Some(key) = &field.prefill else { continue };
        if field.kind == FieldType::Repeat {
            let mut members = Vec::new();
            for record in &assignment.prefill_repeats[key] {
                let i = session.add_member(&field.id).unwrap();
                let mut member = serde_json::Map::new();
                for child in &field.fields {
                    if let Some(text) = child.prefill.as_ref().and_then(|k| record.get(k)) {
                        let path = format!("{}[{i}].{}", field.id, child.id);
                        member.insert(child.id.clone(), session.parse_input(&path, text).unwrap());
                    }
                }
                members.push(Value::Object(member));
            }
            answers.insert(field.id.clone(), Value::Array(members));
        } else if let Some(text) = assignment.prefill.get(key) {
            answers.insert(
                field.id.clone(),
                session.parse_input(&field.id, text).unwrap(),
            );
        }
    }
    answers
}

/// What a member's status decides about the member, for the script.
#[derive(Clone, Copy, PartialEq)]
enum Status {
    LivesHere,
    MovedAway,
}

/// The day's changes to the record: none, or some (each one line more).
#[derive(Default)]
struct Changes {
    /// Lines typed on a section's page before it is confirmed, by section id.
    on_section: BTreeMap<&'static str, Vec<String>>,
    /// Member statuses other than "lives here", by member index.
    statuses: BTreeMap<usize, Status>,
}

/// The script: one line per action of the pendamping (a tap, a choice, a typed answer, a photo, a GPS fix).
fn script(changes: &Changes, photos: &Path) -> Vec<String> {
    let photo = |name: &str| {
        let file = photos.join(format!("{name}.jpg"));
        std::fs::write(&file, format!("photo {name}")).unwrap();
        file.display().to_string()
    };
    let section = |id: &str, lines: &mut Vec<String>| {
        lines.extend(changes.on_section.get(id).into_iter().flatten().cloned());
    };
    let mut lines = vec![
        "buka 1".to_string(),
        // Status kunjungan: found, family as on the KK.
        "jawab visit_outcome 1".into(),
        "jawab family_split 0".into(),
        "lanjut".into(),
        // Blok I: what the register cannot know, then the rest confirmed in one action.
        "jawab address_matches_kk 1".into(),
        "jawab respondent_name Budi Santoso".into(),
    ];
    section("identity", &mut lines);
    lines.push("sesuai".into());
    // The day's evidence.
    lines.extend([
        "gps gps -3.79561 102.26554 6.5".to_string(),
        "jawab gps_method 1".into(),
        format!("foto photo_front {}", photo("front")),
        format!("foto photo_living {}", photo("living")),
        "lanjut".into(),
    ]);
    for id in ["housing", "assets"] {
        section(id, &mut lines);
        lines.push("sesuai".into());
    }
    // Blok IV: each registered member asked for their status first, then confirmed.
    for m in 0..5 {
        let status = changes
            .statuses
            .get(&m)
            .copied()
            .unwrap_or(Status::LivesHere);
        lines.push(format!("anggota members {}", m + 1));
        lines.push(format!(
            "jawab members[{m}].member_status {}",
            match status {
                Status::LivesHere => "1",
                Status::MovedAway => "3",
            }
        ));
        lines.push("sesuai".into());
    }
    lines.push("lanjut".into());
    section("programmes", &mut lines);
    lines.push("sesuai".into());
    lines.push("selesai".into());
    lines
}

/// Runs `tepat-field` with the family assigned and the script typed; returns the finalised visit and stdout.
fn run(changes: &Changes) -> (VisitDoc, String, usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hp.db");
    let assignments = dir.path().join("tugas.json");
    std::fs::write(
        &assignments,
        serde_json::to_string(&vec![family_of_five()]).unwrap(),
    )
    .unwrap();
    let lines = script(changes, dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-field"))
        .arg("--db")
        .arg(&db)
        .arg("--forms")
        .arg(repo("schemas/forms"))
        .arg("--assignments")
        .arg(&assignments)
        .arg("--today")
        .arg(VISIT_DATE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = lines.join("\n") + "\nkeluar\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    // Every line was an action the core took: none was refused.
    assert!(!stdout.contains("\n!! "), "a line was refused:\n{stdout}");
    let store = Store::open(&db, Durability::Balanced).unwrap();
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1, "finalised:\n{stdout}");
    let doc = store.outbox_doc(outbox[0].visit_id, 1).unwrap();
    (doc, stdout, lines.len())
}

/// The answers the day adds to the registered record: outcome, split, the two Blok I answers nobody registers,
/// GPS, photos, and each member's status.
const DAYS_OWN: [&str; 8] = [
    "visit_outcome",
    "family_split",
    "address_matches_kk",
    "respondent_name",
    "gps",
    "gps_method",
    "photo_front",
    "photo_living",
];

#[test]
fn an_unchanged_registered_family_of_five_takes_at_most_40_actions_and_finalises_as_the_record() {
    let form = dtsen();
    let record = registered_record(&form, &family_of_five());
    let (doc, stdout, actions) = run(&Changes::default());
    println!("unchanged family of five: {actions} actions (taps and typed answers)");
    assert!(actions <= 40, "{actions} actions");

    // The visit is the registered record plus the day's outcome, GPS and photos — nothing lost, nothing added.
    let mut expected = record.clone();
    let members = expected["members"].as_array_mut().unwrap();
    for member in members.iter_mut() {
        member["member_status"] = json!("1");
    }
    for key in DAYS_OWN {
        assert!(doc.answers.contains_key(key), "{key} answered");
        expected.insert(key.to_string(), doc.answers[key].clone());
    }
    assert_eq!(doc.answers, expected);
    assert_eq!(doc.answers["gps"]["accuracy_m"], json!(6.5));
    assert!(doc.warning_notes.is_empty());
    assert!(
        form.validate(&doc.answers, doc.visit_date)
            .iter()
            .all(|f| f.level != Level::Error)
    );

    // Every registered answer is reported as confirmed unchanged, apart from what was typed.
    assert!(!doc.prefill_review.is_empty());
    let not_confirmed: Vec<_> = doc
        .prefill_review
        .iter()
        .filter(|(_, r)| **r != PrefillReview::Confirmed)
        .collect();
    assert_eq!(not_confirmed, Vec::<(&String, &PrefillReview)>::new());
    assert!(
        doc.prefill_review
            .contains_key("members[4].child_nutrition")
    );
    assert!(
        !doc.prefill_review.contains_key("gps"),
        "the GPS was typed, not prefilled"
    );
    // The screens said so while the visit was made.
    assert!(stdout.contains("[data DTSEN: belum dicek]"), "{stdout}");
}

#[test]
fn each_change_to_the_record_is_one_action_more() {
    let base = script(&Changes::default(), tempfile::tempdir().unwrap().path()).len();
    let mut changes = Changes::default();
    // The house was extended; the family bought a second motorbike (its value changes with it); the eldest son
    // moved to Jakarta (his status is asked anyway, so no extra action).
    changes
        .on_section
        .insert("housing", vec!["jawab floor_area 42".into()]);
    changes.on_section.insert(
        "assets",
        vec![
            "jawab motorbike 2".into(),
            "jawab motorbike_value 9000000".into(),
        ],
    );
    changes.statuses.insert(2, Status::MovedAway);
    let (doc, _, actions) = run(&changes);
    println!("with three changed answers and a member moved away: {actions} actions (base {base})");
    assert_eq!(actions, base + 3);
    assert_eq!(doc.answers["floor_area"], json!(42));
    assert_eq!(doc.answers["motorbike"], json!(2));
    let review = |path: &str| doc.prefill_review.get(path).copied();
    assert_eq!(review("floor_area"), Some(PrefillReview::Changed));
    assert_eq!(review("motorbike_value"), Some(PrefillReview::Changed));
    assert_eq!(review("toilet"), Some(PrefillReview::Confirmed));
    // The son who moved keeps his name, NIK and status; what the register said of his schooling no longer holds.
    let rizky = doc.answers["members"][2].as_object().unwrap();
    assert_eq!(rizky["member_status"], json!("3"));
    assert!(!rizky.contains_key("schooling"));
    assert_eq!(
        review("members[2].member_name"),
        Some(PrefillReview::Confirmed)
    );
    assert_eq!(review("members[2].schooling"), Some(PrefillReview::Changed));
    assert_eq!(
        review("members[3].schooling"),
        Some(PrefillReview::Confirmed)
    );
}
