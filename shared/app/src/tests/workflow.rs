//! Starting up, settings, today's list, opening assignments and new cases.

use super::*;

#[test]
fn a_new_phone_starts_on_an_empty_list() {
    let h = Harness::empty();
    let view = h.view();
    assert_eq!(view.lang, Lang::Id);
    assert_eq!(view.user, None);
    let today = h.today();
    assert!(today.items.is_empty());
    assert_eq!(today.date, "Senin, 23-11-2026");
    assert_eq!(today.progress_text, "0 dari 12 kunjungan selesai hari ini");
    assert_eq!(today.counts.target, Some(DAILY_TARGET));
    assert_eq!(
        view.sync.summary,
        "Belum terdaftar: data disimpan di ponsel"
    );
    assert!(!view.sync.can_sync);
}

#[test]
fn forms_identity_and_assignments_are_installed() {
    let h = Harness::enumerator();
    let view = h.view();
    assert_eq!(view.user.as_deref(), Some("Rina · Pendamping PKH"));
    let today = h.today();
    let labels: Vec<(&str, ItemStatus, &str)> = today
        .items
        .iter()
        .map(|i| (i.assignment_id.as_str(), i.status, i.action_text.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("A-1", ItemStatus::NotStarted, "Mulai"),
            ("A-2", ItemStatus::NotStarted, "Mulai")
        ]
    );
    assert_eq!(today.items[0].region, "Pagar Dewa, Selebar");
    // Enumerators do not start cases without an assignment.
    assert!(today.case_forms.is_empty());
    assert!(view.sync.can_sync);
}

#[test]
fn a_broken_form_is_refused_with_its_problems() {
    let mut h = Harness::empty();
    let view = h.send(UiEvent::InstallForm {
        json: r#"{"id": "x", "version": 1"#.into(),
    });
    let notice = view.notice.unwrap();
    assert_eq!(notice.level, NoticeLevel::Error);
    assert!(
        notice.text.starts_with("Formulir tidak valid"),
        "{}",
        notice.text
    );
    assert!(h.store.forms().unwrap().is_empty());
}

#[test]
fn installing_the_same_form_again_is_harmless_and_a_changed_version_is_refused() {
    let mut h = Harness::enumerator();
    let view = h.send(UiEvent::InstallForm {
        json: FORM.to_string(),
    });
    assert_eq!(view.notice.unwrap().level, NoticeLevel::Success);
    let changed = FORM.replace("Formulir uji", "Formulir lain");
    let view = h.send(UiEvent::InstallForm { json: changed });
    let notice = view.notice.unwrap();
    assert_eq!(notice.level, NoticeLevel::Error);
    assert!(notice.text.contains("uji v1"), "{}", notice.text);
}

#[test]
fn importing_assignments_says_what_changed() {
    let mut h = Harness::enumerator();
    let view = h.send(UiEvent::ImportAssignments {
        assignments: vec![
            assignment("A-1", "Siti Aminah"),
            assignment("A-3", "Dewi Lestari"),
        ],
    });
    assert_eq!(
        view.notice.unwrap().text,
        "Tugas: 1 baru, 0 diperbarui, 1 sama"
    );
    assert_eq!(h.today().items.len(), 3);
}

#[test]
fn the_language_setting_switches_every_text_and_is_kept() {
    let mut h = Harness::enumerator();
    let view = h.send(UiEvent::SetLanguage { lang: Lang::En });
    assert_eq!(view.lang, Lang::En);
    assert_eq!(h.today().progress_text, "0 of 12 visits done today");
    assert_eq!(h.today().items[0].action_text, "Start");
    assert_eq!(h.store.settings().unwrap().lang, Lang::En);
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert_eq!(h.field("visit_outcome").label, "Family status");
    assert_eq!(h.visit().state_text, "Draft");
}

#[test]
fn opening_an_assignment_starts_a_visit_with_the_outcome_first_and_the_prefill_saved() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let visit = h.visit();
    assert_eq!(visit.title, "Siti Aminah · RT 003");
    assert_eq!(visit.form_title, "Formulir uji");
    assert_eq!(visit.revision, 1);
    assert!(!visit.read_only);
    // Only the outcome applies until the family is found.
    assert_eq!(
        visit
            .sections
            .iter()
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>(),
        vec!["Status kunjungan"]
    );
    assert_eq!(
        visit
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["visit_outcome"]
    );
    let outcome = h.field("visit_outcome");
    assert_eq!(outcome.choices.len(), 4);
    assert!(outcome.required);
    assert_eq!(outcome.answer, AnswerView::Empty);
    // The prefill is in the store already (typed by the form engine: the count is a number).
    let stored = h.stored_answers();
    assert_eq!(
        stored.get("head_name"),
        Some(&serde_json::json!("Siti Aminah"))
    );
    assert_eq!(stored.get("kk_members"), Some(&serde_json::json!(2)));
    // Back on the list the assignment is a draft.
    h.send(UiEvent::CloseVisit);
    let item = &h.today().items[0];
    assert_eq!(
        (
            item.assignment_id.as_str(),
            item.status,
            item.action_text.as_str()
        ),
        ("A-1", ItemStatus::Draft, "Lanjutkan")
    );
    assert_eq!(h.today().counts.drafts, 1);
    // Opening it again continues the same visit.
    let visit_id = item.visit_id.clone().unwrap();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert_eq!(h.visit().visit_id, visit_id);
}

#[test]
fn a_form_version_is_loaded_from_the_store_when_not_compiled_yet() {
    let mut h = Harness::enumerator();
    h.model.metas.clear();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-2".into(),
    });
    assert_eq!(h.visit().title, "Budi Santoso · RT 003");
    assert!(
        h.store_ops
            .iter()
            .any(|op| matches!(op, StoreOperation::LoadForm { .. }))
    );
}

#[test]
fn nonsense_gets_a_clear_message_and_changes_nothing() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "nope".into(),
    });
    assert_eq!(h.notice(), "Tugas tidak ditemukan: nope");
    h.send(UiEvent::OpenVisit {
        visit_id: "not-a-uuid".into(),
    });
    assert_eq!(h.notice(), "Nomor kunjungan tidak dikenal: not-a-uuid");
    h.send(UiEvent::Answer {
        path: "visit_outcome".into(),
        text: "1".into(),
    });
    assert_eq!(h.notice(), "Tidak ada kunjungan yang terbuka");
    h.send(UiEvent::NextSection);
    assert_eq!(h.notice(), "Tidak ada kunjungan yang terbuka");
    h.send(UiEvent::StartNewCase {
        form_id: "uji".into(),
    });
    assert_eq!(
        h.notice(),
        "Formulir uji: kasus baru tanpa penugasan hanya dapat dimulai oleh TKSK (asesor); Anda masuk sebagai \
         Pendamping PKH."
    );
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.send(UiEvent::Answer {
        path: "no_such_field".into(),
        text: "x".into(),
    });
    assert_eq!(h.notice(), "Pertanyaan tidak dikenal: no_such_field");
    h.send(UiEvent::GoToSection { index: 9 });
    assert_eq!(h.notice(), "Bagian itu tidak ada");
    h.send(UiEvent::OpenMember {
        repeat_path: "members".into(),
        index: 4,
    });
    assert_eq!(h.notice(), "Anggota itu tidak ada: members #5");
    h.send(UiEvent::SetNote {
        path: "visit_outcome".into(),
        note: "catatan".into(),
    });
    assert_eq!(h.notice(), "Tidak ada peringatan di sini: visit_outcome");
    h.send(UiEvent::EditAgain);
    assert!(
        h.notice().starts_with("Hanya kunjungan final"),
        "{}",
        h.notice()
    );
    h.send(UiEvent::DismissNotice);
    assert_eq!(h.view().notice, None);
    // Nothing was saved by any of it beyond the prefill.
    assert!(!h.stored_answers().contains_key("visit_outcome"));
}

#[test]
fn assessors_start_new_cases_without_an_assignment() {
    let mut h = Harness::with(Role::Assessor);
    let today = h.today();
    assert_eq!(today.case_forms.len(), 1);
    assert_eq!(today.case_forms[0].title, "Formulir uji");
    h.send(UiEvent::StartNewCase {
        form_id: "uji".into(),
    });
    let visit = h.visit();
    assert_eq!(visit.title, "Kasus baru");
    let visit_id = visit.visit_id.clone();
    h.send(UiEvent::CloseVisit);
    let cases = h.today().cases;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        (cases[0].visit_id.as_str(), cases[0].status),
        (visit_id.as_str(), ItemStatus::Draft)
    );
    assert_eq!(cases[0].form_title, "Formulir uji");
    h.send(UiEvent::OpenVisit {
        visit_id: visit_id.clone(),
    });
    assert_eq!(h.visit().visit_id, visit_id);
    let summary = h.store.visit_summary(visit_id.parse().unwrap()).unwrap();
    assert_eq!(summary.assignment_id, None);
    h.send(UiEvent::StartNewCase {
        form_id: "ppks".into(),
    });
    assert_eq!(h.notice(), "Formulir belum terpasang: ppks");
}

#[test]
fn a_store_failure_while_loading_is_said_in_words() {
    let mut h = Harness::enumerator();
    h.fail_store = Some((
        Box::new(|op| matches!(op, StoreOperation::Today { .. })),
        StoreError::DiskFull,
    ));
    let view = h.send(UiEvent::ShowToday);
    assert_eq!(view.notice.unwrap().level, NoticeLevel::Error);
    assert!(
        h.notice().starts_with("Penyimpanan ponsel penuh"),
        "{}",
        h.notice()
    );
}

#[test]
fn the_list_carries_the_registered_nik_address_rt_rw_and_dusun_for_searching() {
    let mut h = Harness::enumerator();
    let mut registered = assignment("A-9", "Wati");
    for (key, value) in [
        ("address", "Jl. Melati No. 4"),
        ("rt", "003"),
        ("rw", "002"),
        ("dusun", "  "),
    ] {
        registered.prefill.insert(key.into(), value.into());
    }
    h.send(UiEvent::ImportAssignments {
        assignments: vec![registered],
    });
    let today = h.today();
    let item = today
        .items
        .iter()
        .find(|i| i.assignment_id == "A-9")
        .expect("A-9 listed");
    assert_eq!(item.nik.as_deref(), Some("1771014506900001"));
    assert_eq!(item.address.as_deref(), Some("Jl. Melati No. 4"));
    assert_eq!(item.rt.as_deref(), Some("003"));
    assert_eq!(item.rw.as_deref(), Some("002"));
    // A blank value is no value.
    assert_eq!(item.dusun, None);
}

#[test]
fn each_typed_field_names_its_keyboard_from_its_type_and_format_rule() {
    fn field(json: serde_json::Value) -> tepat_form::Field {
        serde_json::from_value(json).expect("a field")
    }
    fn text(id: &str, rule: Option<&str>, max_length: Option<u32>) -> tepat_form::Field {
        let mut json = serde_json::json!({"id": id, "type": "text", "label": {"id": id, "en": id}});
        if let Some(pattern) = rule {
            json["constraints"] = serde_json::json!([{
                "expr": format!("regex(., '{pattern}')"),
                "message": {"id": "format", "en": "format"},
            }]);
        }
        if let Some(max) = max_length {
            json["max_length"] = max.into();
        }
        field(json)
    }
    let typed = |kind: &str| {
        field(serde_json::json!({"id": "x", "type": kind, "label": {"id": "x", "en": "x"}}))
    };
    // The format rules of the DTSEN form, as written there.
    let cases = [
        (text("rt", Some("^[0-9]{1,3}$"), Some(5)), Keyboard::Digits),
        (
            text("postcode", Some("^[1-9][0-9]{4}$"), Some(5)),
            Keyboard::Digits,
        ),
        (
            text("pln_customer_id", Some("^[0-9]{12}$"), Some(20)),
            Keyboard::Digits,
        ),
        (
            text("pln_meter_number", Some("^[0-9]{11}$"), Some(20)),
            Keyboard::Digits,
        ),
        (
            text(
                "respondent_phone",
                Some("^([+]62|0)8[0-9]{7,11}$"),
                Some(20),
            ),
            Keyboard::Phone,
        ),
        (text("head_name", None, Some(100)), Keyboard::Text),
        (text("street_address", None, Some(250)), Keyboard::LongText),
        (
            text("enumerator_note", None, Some(2000)),
            Keyboard::LongText,
        ),
        // A format rule with letters is no number pad.
        (
            text("code", Some("^[A-Z]{2}[0-9]{3}$"), Some(5)),
            Keyboard::Text,
        ),
        (typed("nik"), Keyboard::Digits),
        (typed("kk"), Keyboard::Digits),
        (typed("integer"), Keyboard::Integer),
        (typed("decimal"), Keyboard::Decimal),
        (typed("date"), Keyboard::Date),
        (typed("note"), Keyboard::None),
    ];
    for (field, expected) in cases {
        assert_eq!(crate::view::keyboard(&field), expected, "{}", field.id);
    }
}

const MONITORING_6T: &str = include_str!("../../../../schemas/forms/monitoring_6t.json");
const PPKS_ASESMEN: &str = include_str!("../../../../schemas/forms/ppks_asesmen.json");

/// A phone of `role` with the test form, the PPKS asesmen and the 6T monitoring installed.
fn with_field_forms(role: Role) -> Harness {
    let mut h = Harness::with(role);
    for json in [PPKS_ASESMEN, MONITORING_6T] {
        h.send(UiEvent::InstallForm { json: json.into() });
        h.send(UiEvent::DismissNotice);
    }
    h
}

fn case_form_ids(h: &Harness) -> Vec<String> {
    h.today()
        .case_forms
        .iter()
        .map(|f| f.form_id.clone())
        .collect()
}

#[test]
fn a_pendamping_starts_a_6t_monitoring_but_not_a_ppks_asesmen() {
    let mut h = with_field_forms(Role::Enumerator);
    // The new-case menu lists only what the role may start: the monitoring declares pendamping PKH.
    assert_eq!(case_form_ids(&h), vec!["monitoring_6t"]);
    h.send(UiEvent::StartNewCase {
        form_id: "ppks_asesmen".into(),
    });
    assert_eq!(
        h.notice(),
        "Asesmen PPKS: kasus baru tanpa penugasan hanya dapat dimulai oleh TKSK (asesor); Anda masuk sebagai \
         Pendamping PKH."
    );
    assert!(h.today().cases.is_empty());
    h.send(UiEvent::DismissNotice);
    h.send(UiEvent::StartNewCase {
        form_id: "monitoring_6t".into(),
    });
    let visit = h.visit();
    let summary = h
        .store
        .visit_summary(visit.visit_id.parse().unwrap())
        .unwrap();
    assert_eq!(
        (summary.form_id.as_str(), summary.assignment_id),
        ("monitoring_6t", None)
    );
    // The region choice starts in the pendamping's own area, as an assessor's new case does.
    assert_eq!(
        h.stored_answers().get("work_area"),
        Some(&serde_json::json!("17.71"))
    );
    h.send(UiEvent::CloseVisit);
    assert_eq!(h.today().cases.len(), 1);
}

#[test]
fn an_assessor_starts_both_field_forms_and_in_english_is_told_why_not_otherwise() {
    let mut h = with_field_forms(Role::Assessor);
    assert_eq!(
        case_form_ids(&h),
        vec!["monitoring_6t", "ppks_asesmen", "uji"]
    );
    h.send(UiEvent::StartNewCase {
        form_id: "monitoring_6t".into(),
    });
    assert_eq!(h.visit().title, "Kasus baru");
    h.send(UiEvent::CloseVisit);
    // A form that is filled only for an assignment is offered to nobody and refused in words.
    let assigned_only = FORM.replacen(
        r#""version": 1,"#,
        r#""version": 2, "start_without_assignment": [],"#,
        1,
    );
    h.send(UiEvent::InstallForm {
        json: assigned_only,
    });
    h.send(UiEvent::DismissNotice);
    assert_eq!(case_form_ids(&h), vec!["monitoring_6t", "ppks_asesmen"]);
    h.send(UiEvent::SetLanguage { lang: Lang::En });
    h.send(UiEvent::StartNewCase {
        form_id: "uji".into(),
    });
    assert_eq!(
        h.notice(),
        "Test form: this form is filled only for an assignment; it cannot be started as a new case."
    );
}

#[test]
fn supervisors_start_nothing_and_an_unenrolled_training_phone_anything() {
    let h = with_field_forms(Role::Supervisor);
    assert!(case_form_ids(&h).is_empty());
    let mut h = Harness::empty();
    for json in [FORM, PPKS_ASESMEN, MONITORING_6T] {
        h.send(UiEvent::InstallForm { json: json.into() });
    }
    assert_eq!(
        case_form_ids(&h),
        vec!["monitoring_6t", "ppks_asesmen", "uji"]
    );
}
