//! Satgas reports and the asesmen that follows one: the case list names a report with its urgency and whether its
//! asesmen was started; a final report that asks for one opens the PPKS asesmen of the same person with the
//! report's data (as the asesmen form's `prefill` keys declare), unconfirmed, linked by `laporan_id`.

use serde_json::{Value, json};

use super::*;
use tepat_records::{Finalise, NewVisit};
use tepat_synth::Generator;

const PPKS: &str = include_str!("../../../../schemas/forms/ppks_asesmen.json");
const SATGAS: &str = include_str!("../../../../schemas/forms/satgas_laporan.json");

fn assessor() -> Harness {
    let mut h = Harness::empty();
    for json in [PPKS, SATGAS] {
        h.send(UiEvent::InstallForm {
            json: json.to_string(),
        });
    }
    let mut who = identity(Role::Assessor);
    who.regions = vec!["17.71".into()];
    h.send(UiEvent::UseIdentity { identity: who });
    h.send(UiEvent::DismissNotice);
    h
}

/// A report in the phone's store with `answers`, as if typed there; finalised unless `draft`.
fn stored_report(h: &mut Harness, answers: tepat_protocol::Answers, draft: bool) -> String {
    stored_visit(h, "satgas_laporan", 1, &[], answers, draft)
}

fn stored_visit(
    h: &mut Harness,
    form_id: &str,
    version: u32,
    repeats: &[&str],
    answers: tepat_protocol::Answers,
    draft: bool,
) -> String {
    let date = h.now.date_naive();
    let repeats = repeats.iter().map(|r| r.to_string()).collect();
    let record = h
        .store
        .start_visit(
            &NewVisit {
                form_id: form_id.into(),
                form_version: version,
                assignment_id: None,
                visit_date: date,
                answers: answers.clone(),
            },
            &repeats,
            chrono::Utc::now(),
        )
        .unwrap();
    if !draft {
        h.store
            .finalise(
                &Finalise {
                    visit_id: record.summary.visit_id,
                    revision: 1,
                    answers,
                    notes: Default::default(),
                    local_date: date,
                    outcome: None,
                    revisit: false,
                    prefill_review: Default::default(),
                },
                chrono::Utc::now(),
            )
            .unwrap();
    }
    h.send(UiEvent::ShowToday);
    record.summary.visit_id.to_string()
}

/// An urgent report about a known person (name, sex, age, NIK), an elderly man left alone, maybe also poor.
fn urgent_report(h: &Harness) -> tepat_protocol::Answers {
    let mut g = Generator::new(5).with_visit_date(h.now.date_naive());
    let mut a = g.clean_satgas_report().answers;
    a.insert("urgency".into(), json!("1"));
    a.insert("ppks_suspected".into(), json!(["8", "24"]));
    a.insert("age_estimate".into(), json!(70));
    a.insert(
        "problem_description".into(),
        json!("Lansia tinggal sendiri, tidak ada yang merawat, kurang makan."),
    );
    a
}

#[test]
fn a_report_opens_the_asesmen_of_the_same_person_with_its_data() {
    let mut h = assessor();
    let answers = urgent_report(&h);
    let name = answers["full_name"].as_str().unwrap().to_string();
    let report = stored_report(&mut h, answers.clone(), false);

    let cases = h.today().cases;
    assert_eq!(cases.len(), 1);
    let line = &cases[0];
    assert_eq!(
        line.title,
        format!("Laporan Satgas Tanggap Cepat: {name}, urgensi darurat")
    );
    assert_eq!(
        line.asesmen_text.as_deref(),
        Some("Perlu asesmen, belum dimulai")
    );
    assert!(line.can_start_asesmen && !line.can_follow_up);
    assert_eq!(line.action_text, "Mulai asesmen");

    h.send(UiEvent::StartAsesmenFromReport {
        visit_id: report.clone(),
    });
    let visit = h.visit();
    assert_eq!(visit.form_title, "Asesmen PPKS");
    assert_eq!(visit.title, name);
    assert_ne!(visit.visit_id, report);
    let stored = h.stored_answers();
    assert_eq!(stored["laporan_id"], json!(report));
    assert_eq!(stored["work_area"], json!("17.71"), "the assessor's area");
    for (asesmen, from) in [
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
        assert_eq!(stored[asesmen], answers[from], "{asesmen} ← {from}");
    }
    // The report's urgency is on another scale (today / 3 days) than the asesmen's (24 hours / 7 days), and
    // consent is the client's own: both are asked.
    for asked in ["urgency", "consent", "ppks_primary", "case_source"] {
        assert!(!stored.contains_key(asked), "{asked} is asked, not copied");
    }
    // The suspected types are the asesmen's, marked as prefilled: to confirm or change.
    h.choose("consent", "1");
    h.go_to("Jenis PPKS");
    let types = h.field("ppks_types");
    assert_eq!(types.prefill, Some(PrefillMark::Prefilled));
    let chosen: Vec<&str> = types
        .choices
        .iter()
        .filter(|c| c.selected)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(chosen, ["8", "24"]);

    h.send(UiEvent::CloseVisit);
    let cases = h.today().cases;
    assert_eq!(cases.len(), 2, "the report and its asesmen");
    let report_line = cases.iter().find(|c| c.visit_id == report).unwrap();
    assert_eq!(
        report_line.asesmen_text.as_deref(),
        Some("Asesmen sudah dimulai")
    );
    assert!(!report_line.can_start_asesmen);
    let asesmen_line = cases.iter().find(|c| c.visit_id != report).unwrap();
    assert_eq!(asesmen_line.title, name);
    assert_eq!(asesmen_line.asesmen_text, None);

    // One asesmen a report: asked again, the phone says it was started.
    h.send(UiEvent::StartAsesmenFromReport { visit_id: report });
    assert!(h.notice().contains("sudah dimulai"), "{}", h.notice());
    assert_eq!(h.today().cases.len(), 2);

    h.send(UiEvent::SetLanguage {
        lang: tepat_form::Lang::En,
    });
    let report_line = h
        .today()
        .cases
        .into_iter()
        .find(|c| c.asesmen_text.is_some())
        .unwrap();
    assert_eq!(
        report_line.title,
        format!("Rapid-response (Satgas) report: {name}, urgency emergency")
    );
    assert_eq!(report_line.asesmen_text.as_deref(), Some("Asesmen started"));
}

#[test]
fn only_a_final_report_that_asks_for_an_asesmen_opens_one() {
    let mut h = assessor();
    // A draft report: finished first.
    let answers = urgent_report(&h);
    let draft = stored_report(&mut h, answers, true);
    h.send(UiEvent::StartAsesmenFromReport { visit_id: draft });
    assert!(h.notice().contains("belum final"), "{}", h.notice());

    // A report that needs no asesmen (handled by another agency), and whose person's name is not known.
    let mut h = assessor();
    let mut answers = urgent_report(&h);
    answers.insert("urgency".into(), json!("3"));
    answers.insert("asesmen_needed".into(), json!("2"));
    answers.insert("no_asesmen_reason".into(), json!("4"));
    answers.insert("name_known".into(), json!("2"));
    answers.remove("full_name");
    let report = stored_report(&mut h, answers, false);
    let line = h.today().cases.remove(0);
    assert_eq!(
        line.title,
        "Laporan Satgas Tanggap Cepat: nama tidak diketahui, urgensi biasa"
    );
    assert_eq!(line.asesmen_text.as_deref(), Some("Tidak perlu asesmen"));
    assert!(!line.can_start_asesmen && !line.can_follow_up);
    h.send(UiEvent::StartAsesmenFromReport { visit_id: report });
    assert!(h.notice().contains("tidak perlu asesmen"), "{}", h.notice());
    assert_eq!(h.today().cases.len(), 1, "nothing started");

    // An asesmen is no report; an unknown id is said.
    let mut g = Generator::new(6).with_visit_date(h.now.date_naive());
    let case = stored_visit(
        &mut h,
        "ppks_asesmen",
        tepat_synth::PPKS_FORM.1,
        &["referral_followups", "referrals", "actions"],
        g.clean_ppks().answers,
        false,
    );
    h.send(UiEvent::StartAsesmenFromReport { visit_id: case });
    assert!(h.notice().contains("bukan laporan"), "{}", h.notice());
    h.send(UiEvent::StartAsesmenFromReport {
        visit_id: "nonsense".into(),
    });
    assert!(h.notice().contains("tidak ada di daftar"), "{}", h.notice());
}

#[test]
fn what_the_asesmen_takes_from_the_report_is_the_asesmen_form_s_own_declaration() {
    // A later asesmen version that no longer prefills the NIK (its field's `prefill` key dropped): the phone
    // opens the newest version, and the NIK is no longer taken, all else still is.
    let mut form: Value = serde_json::from_str(PPKS).unwrap();
    form["version"] = json!(99);
    for section in form["sections"].as_array_mut().unwrap() {
        for field in section["fields"].as_array_mut().unwrap() {
            if field["id"] == json!("nik") {
                field.as_object_mut().unwrap().remove("prefill");
            }
        }
    }
    let mut h = assessor();
    h.send(UiEvent::InstallForm {
        json: form.to_string(),
    });
    let answers = urgent_report(&h);
    let report = stored_report(&mut h, answers.clone(), false);
    h.send(UiEvent::StartAsesmenFromReport { visit_id: report });
    let stored = h.stored_answers();
    assert!(!stored.contains_key("nik"), "{stored:?}");
    assert_eq!(stored["full_name"], answers["full_name"]);
    assert_eq!(stored["ppks_types"], answers["ppks_suspected"]);
    let id: uuid::Uuid = h.visit().visit_id.parse().unwrap();
    assert_eq!(h.store.visit_summary(id).unwrap().form_version, 99);
}

#[test]
fn a_new_report_starts_in_the_assessor_s_area() {
    let mut h = assessor();
    h.send(UiEvent::StartNewCase {
        form_id: "satgas_laporan".into(),
    });
    h.go_to("Lokasi");
    assert_eq!(
        h.field("work_area").answer,
        AnswerView::Text {
            value: "17.71".into()
        }
    );
    h.send(UiEvent::CloseVisit);
    // A draft report with nothing said yet is listed as a new case of the report form.
    let line = h.today().cases.remove(0);
    assert_eq!(line.form_title, "Laporan Satgas Tanggap Cepat");
    assert!(!line.can_start_asesmen);
}
