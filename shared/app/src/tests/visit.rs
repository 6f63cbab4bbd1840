//! Answering every field type, relevance, findings, rosters, GPS and photos.

use serde_json::json;

use super::*;

fn found() -> Harness {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.choose("visit_outcome", "1");
    h
}

#[test]
fn the_outcome_decides_which_sections_apply_live() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.choose("visit_outcome", "0");
    assert!(h.on_page("reason"));
    assert_eq!(h.visit().sections.len(), 1);
    h.choose("visit_outcome", "1");
    assert!(!h.on_page("reason"));
    let titles: Vec<String> = h.visit().sections.iter().map(|s| s.title.clone()).collect();
    assert_eq!(
        titles,
        vec!["Status kunjungan", "Identitas", "Rumah", "Anggota keluarga"]
    );
    assert_eq!(
        h.field("visit_outcome").display.as_deref(),
        Some("Ditemukan (1)")
    );
    assert_eq!(h.stored_answers().get("visit_outcome"), Some(&json!("1")));
}

#[test]
fn sections_are_walked_in_order_and_past_the_last_is_the_review() {
    let mut h = found();
    assert!(h.visit().can_next);
    assert!(!h.visit().can_previous);
    h.send(UiEvent::NextSection);
    assert_eq!(h.visit().section_title, "Identitas");
    let identity = h.visit();
    let paths: Vec<&str> = identity.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "intro",
            "head_name",
            "head_nik",
            "kk_number",
            "kk_members",
            "region",
            "visit_day",
            "floor_area"
        ]
    );
    let intro = h.field("intro");
    assert!(intro.read_only);
    assert_eq!(intro.kind, FieldType::Note);
    assert_eq!(h.field("head_name").hint.as_deref(), Some("Sesuai KK"));
    assert_eq!(h.field("head_name").display.as_deref(), Some("Siti Aminah"));
    h.send(UiEvent::NextSection);
    h.send(UiEvent::NextSection);
    assert_eq!(h.visit().section_title, "Anggota keluarga");
    assert!(!h.visit().can_next);
    h.send(UiEvent::NextSection);
    assert!(matches!(h.view().screen, Screen::Finalise(_)));
    h.send(UiEvent::PreviousSection);
    assert_eq!(h.visit().section_title, "Anggota keluarga");
    h.send(UiEvent::PreviousSection);
    assert_eq!(h.visit().section_title, "Rumah");
}

#[test]
fn typed_answers_are_parsed_saved_and_shown() {
    let mut h = found();
    h.go_to("Identitas");
    h.answer("head_nik", "1771 0145 0690 0001");
    assert_eq!(
        h.field("head_nik").answer,
        AnswerView::Text {
            value: "1771014506900001".into()
        }
    );
    h.answer("kk_members", "3");
    assert_eq!(
        h.field("kk_members").answer,
        AnswerView::Number { value: 3.0 }
    );
    h.answer("floor_area", "36,5");
    assert_eq!(
        h.field("floor_area").answer,
        AnswerView::Number { value: 36.5 }
    );
    // Shown back as typed, with a decimal comma (never `36.5`, which reads as 365 to some).
    assert_eq!(h.field("floor_area").display.as_deref(), Some("36,5"));
    h.answer("floor_area", "0,25");
    assert_eq!(
        h.field("floor_area").answer,
        AnswerView::Number { value: 0.25 }
    );
    assert_eq!(h.field("floor_area").display.as_deref(), Some("0,25"));
    // What is shown reads back as the same answer.
    h.answer("floor_area", "0,25");
    assert_eq!(h.stored_answers().get("floor_area"), Some(&json!(0.25)));
    h.answer("visit_day", "05/03/2020");
    assert_eq!(
        h.field("visit_day").answer,
        AnswerView::Date {
            value: "2020-03-05".into()
        }
    );
    assert_eq!(h.field("visit_day").display.as_deref(), Some("05-03-2020"));
    let stored = h.stored_answers();
    assert_eq!(stored.get("kk_members"), Some(&json!(3)));
    assert_eq!(stored.get("visit_day"), Some(&json!("2020-03-05")));
    assert_eq!(stored.get("head_nik"), Some(&json!("1771014506900001")));
    // Clearing by typing nothing.
    h.answer("visit_day", "  ");
    assert_eq!(h.field("visit_day").answer, AnswerView::Empty);
    assert!(!h.stored_answers().contains_key("visit_day"));
}

#[test]
fn what_cannot_be_taken_is_shown_at_the_field_and_not_saved() {
    let mut h = found();
    h.go_to("Identitas");
    h.answer("kk_members", "tiga");
    let field = h.field("kk_members");
    let error = field.input_error.expect("input error");
    assert_eq!(error.typed, "tiga");
    assert!(
        error.message.contains("bilangan bulat"),
        "{}",
        error.message
    );
    assert_eq!(h.stored_answers().get("kk_members"), Some(&json!(2)));
    h.answer("visit_day", "31/02/2020");
    assert!(h.field("visit_day").input_error.is_some());
    // A good answer clears the message.
    h.answer("kk_members", "4");
    assert_eq!(h.field("kk_members").input_error, None);
}

#[test]
fn findings_show_as_soon_as_an_answer_is_given() {
    let mut h = found();
    h.go_to("Identitas");
    h.answer("floor_area", "0");
    let field = h.field("floor_area");
    assert_eq!(field.findings.len(), 1);
    assert_eq!(field.findings[0].rule, "floor_positive");
    assert_eq!(field.findings[0].level, Level::Error);
    // Under its own label the problem alone (the engine's message is "Luas lantai (m²): …").
    assert_eq!(field.label, "Luas lantai (m²)");
    assert_eq!(field.findings[0].text, "Luas lantai harus lebih dari 0");
    let tab = h
        .visit()
        .sections
        .into_iter()
        .find(|s| s.title == "Identitas")
        .unwrap();
    assert!(tab.errors >= 1);
    h.answer("floor_area", "20");
    assert!(h.field("floor_area").findings.is_empty());
}

#[test]
fn the_region_cascade_offers_only_what_the_form_allows() {
    let mut h = found();
    h.go_to("Identitas");
    let region = h.field("region");
    // region_within is Kota Bengkulu: province and city are given, the choice starts at its districts.
    assert_eq!(region.region.len(), 4);
    assert_eq!(region.region[0].level, "Provinsi");
    assert_eq!(
        region.region[0].selected.as_ref().map(|c| c.code.as_str()),
        Some("17")
    );
    assert_eq!(
        region.region[1].selected.as_ref().map(|c| c.label.as_str()),
        Some("Kota Bengkulu")
    );
    assert_eq!(region.region[2].level, "Kecamatan");
    assert!(region.region[2].choices.len() > 5);
    assert!(
        region.region[2]
            .choices
            .iter()
            .all(|c| c.code.starts_with("17.71."))
    );
    assert!(region.region[3].choices.is_empty());
    h.send(UiEvent::ChooseRegion {
        path: "region".into(),
        code: "17.71.01".into(),
    });
    let region = h.field("region");
    assert_eq!(
        region.region[2].selected.as_ref().map(|c| c.code.as_str()),
        Some("17.71.01")
    );
    assert!(!region.region[3].choices.is_empty());
    assert_eq!(region.answer, AnswerView::Empty);
    // A province elsewhere is refused.
    h.send(UiEvent::ChooseRegion {
        path: "region".into(),
        code: "31.71.01".into(),
    });
    assert!(h.field("region").input_error.is_some());
    h.send(UiEvent::ChooseRegion {
        path: "region".into(),
        code: "17.71.01.1001".into(),
    });
    let region = h.field("region");
    assert_eq!(
        region.answer,
        AnswerView::Region {
            code: "17.71.01.1001".into()
        }
    );
    assert!(region.display.unwrap().ends_with("(17.71.01.1001)"));
    assert_eq!(
        h.stored_answers().get("region"),
        Some(&json!("17.71.01.1001"))
    );
    // Picking another district starts the villages again.
    let other = h.field("region").region[2]
        .choices
        .iter()
        .find(|c| c.code != "17.71.01")
        .unwrap()
        .code
        .clone();
    h.send(UiEvent::ChooseRegion {
        path: "region".into(),
        code: other,
    });
    assert_eq!(h.field("region").answer, AnswerView::Empty);
    assert!(!h.stored_answers().contains_key("region"));
    h.send(UiEvent::ChooseRegion {
        path: "region".into(),
        code: "99.99".into(),
    });
    assert!(
        h.field("region")
            .input_error
            .unwrap()
            .message
            .starts_with("Kode wilayah tidak dikenal")
    );
}

#[test]
fn selects_take_codes_and_choice_filters_apply() {
    let mut h = found();
    h.go_to("Rumah");
    h.choose("lighting", "4");
    let assets = h.field("assets");
    assert_eq!(
        assets
            .choices
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        vec!["bike"]
    );
    h.choose("assets", "tv");
    assert!(
        h.field("assets")
            .input_error
            .unwrap()
            .message
            .starts_with("Pilihan tidak tersedia")
    );
    h.choose("lighting", "1");
    h.choose("assets", "fridge");
    h.choose("assets", "tv");
    let assets = h.field("assets");
    assert_eq!(
        assets.answer,
        AnswerView::Choices {
            codes: vec!["tv".into(), "fridge".into()]
        }
    );
    assert_eq!(
        assets.display.as_deref(),
        Some("Televisi (tv), Kulkas (fridge)")
    );
    assert!(assets.choices.iter().filter(|c| c.selected).count() == 2);
    // Choosing a selected code again takes it out.
    h.choose("assets", "tv");
    h.choose("assets", "fridge");
    assert_eq!(h.field("assets").answer, AnswerView::Empty);
    assert!(!h.stored_answers().contains_key("assets"));
    // Typing a code works as well as choosing.
    h.answer("lighting", "4");
    assert_eq!(
        h.field("lighting").answer,
        AnswerView::Choice { code: "4".into() }
    );
    h.answer("lighting", "9");
    assert!(h.field("lighting").input_error.is_some());
}

#[test]
fn gps_comes_from_the_phone_or_is_typed() {
    let mut h = found();
    h.go_to("Rumah");
    h.send(UiEvent::CaptureLocation { path: "gps".into() });
    assert_eq!(
        h.visit().waiting_for.as_deref(),
        Some("Menunggu lokasi GPS…")
    );
    assert_eq!(h.locations.front().unwrap().operation.path, "gps");
    h.resolve_location(LocationOutput::Fix {
        lat: -3.80012,
        lon: 102.26543,
        accuracy_m: 8.0,
    });
    let gps = h.field("gps");
    assert_eq!(
        gps.answer,
        AnswerView::Location {
            lat: -3.80012,
            lon: 102.26543,
            accuracy_m: 8.0
        }
    );
    assert_eq!(gps.display.as_deref(), Some("-3.80012, 102.26543 (±8 m)"));
    assert_eq!(h.visit().waiting_for, None);
    assert_eq!(
        h.stored_answers().get("gps"),
        Some(&json!({"lat": -3.80012, "lon": 102.26543, "accuracy_m": 8.0}))
    );
    h.send(UiEvent::CaptureLocation { path: "gps".into() });
    h.resolve_location(LocationOutput::Unavailable {
        reason: "izin ditolak".into(),
    });
    assert!(
        h.notice().starts_with("Lokasi GPS tidak didapat"),
        "{}",
        h.notice()
    );
    assert_eq!(
        h.field("gps").answer,
        AnswerView::Location {
            lat: -3.80012,
            lon: 102.26543,
            accuracy_m: 8.0
        }
    );
    // Only geopoint fields ask for GPS.
    h.send(UiEvent::CaptureLocation {
        path: "lighting".into(),
    });
    assert!(h.locations.is_empty());
    assert!(h.notice().starts_with("Jenis jawaban tidak cocok"));
}

#[test]
fn photos_keep_the_file_and_its_hash() {
    let mut h = found();
    h.go_to("Rumah");
    h.send(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    assert_eq!(h.visit().waiting_for.as_deref(), Some("Menunggu foto…"));
    h.resolve_photo(CameraOutput::Cancelled);
    assert_eq!(h.field("photo_front").answer, AnswerView::Empty);
    h.send(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    h.resolve_photo(CameraOutput::Failed {
        reason: "kamera sibuk".into(),
    });
    assert_eq!(h.notice(), "Foto tidak dapat diambil: kamera sibuk");
    h.send(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    h.resolve_photo(CameraOutput::Photo {
        file: "/sdcard/tepat/front.jpg".into(),
        sha256: "ab".repeat(32),
    });
    let photo = h.field("photo_front");
    assert_eq!(
        photo.answer,
        AnswerView::Photo {
            file: "/sdcard/tepat/front.jpg".into(),
            sha256: "ab".repeat(32)
        }
    );
    assert!(photo.findings.is_empty());
}

#[test]
fn roster_members_are_added_answered_and_removed() {
    let mut h = found();
    h.go_to("Anggota keluarga");
    let members = h.field("members");
    assert!(members.can_add_member);
    assert!(members.members.is_empty());
    h.send(UiEvent::AddMember {
        repeat_path: "members".into(),
    });
    let page = h.visit();
    let member = page.member.clone().unwrap();
    assert_eq!((member.repeat_path.as_str(), member.index), ("members", 0));
    assert_eq!(member.title, "Anggota 1 dari 1");
    assert_eq!(
        page.fields
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec![
            "members[0].member_name",
            "members[0].sex",
            "members[0].relationship",
            "members[0].member_nik",
        ]
    );
    h.answer("members[0].member_name", "Siti Aminah");
    h.choose("members[0].sex", "2");
    h.choose("members[0].relationship", "1");
    assert_eq!(
        h.visit().member.unwrap().title,
        "Anggota 1 dari 1: Siti Aminah"
    );
    assert!(!h.on_page("members[0].is_head"), "calculated, never shown");
    // A NIK of a man for a woman: a warning at once.
    h.answer("members[0].member_nik", "1771010506900001");
    assert_eq!(h.field("members[0].member_nik").findings[0].rule, "nik_sex");
    h.send(UiEvent::CloseMember);
    h.send(UiEvent::AddMember {
        repeat_path: "members".into(),
    });
    h.answer("members[1].member_name", "Budi");
    h.choose("members[1].relationship", "3");
    h.send(UiEvent::CloseMember);
    h.send(UiEvent::AddMember {
        repeat_path: "members".into(),
    });
    h.answer("members[2].member_name", "Ani");
    h.send(UiEvent::CloseMember);
    let members = h.field("members");
    assert_eq!(
        members
            .members
            .iter()
            .map(|m| m.title.as_str())
            .collect::<Vec<_>>(),
        vec!["1. Siti Aminah", "2. Budi", "3. Ani"]
    );
    assert_eq!(members.display.as_deref(), Some("3 anggota"));
    assert_eq!(h.field("members").members.len(), 3);
    // The roster has 3 members and the KK says 2: a warning on the roster.
    assert!(
        members
            .findings
            .iter()
            .any(|f| f.rule == "kk_size" && f.level == Level::Warning)
    );
    // Removing Budi moves Ani up, in the session and in the store.
    h.send(UiEvent::RemoveMember {
        repeat_path: "members".into(),
        index: 1,
    });
    let titles: Vec<String> = h
        .field("members")
        .members
        .iter()
        .map(|m| m.title.clone())
        .collect();
    assert_eq!(titles, vec!["1. Siti Aminah", "2. Ani"]);
    let stored = h.stored_answers();
    assert_eq!(
        stored
            .get("members")
            .and_then(|m| m.as_array())
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(stored["members"][1]["member_name"], json!("Ani"));
    assert!(
        h.field("members")
            .findings
            .iter()
            .all(|f| f.rule != "kk_size")
    );
    // Member pages open from the roster; a member that is removed closes its page.
    h.send(UiEvent::OpenMember {
        repeat_path: "members".into(),
        index: 1,
    });
    assert_eq!(h.visit().member.unwrap().index, 1);
    h.send(UiEvent::RemoveMember {
        repeat_path: "members".into(),
        index: 1,
    });
    assert_eq!(h.visit().member, None);
    assert_eq!(h.field("members").members.len(), 1);
}

#[test]
fn calculated_and_note_fields_cannot_be_answered() {
    let mut h = found();
    h.go_to("Anggota keluarga");
    h.answer("member_count", "5");
    assert_eq!(h.notice(), "Tidak dapat diisi: Jumlah anggota didata");
    h.go_to("Identitas");
    h.answer("intro", "x");
    assert_eq!(h.notice(), "Tidak dapat diisi: Cocokkan dengan KK");
    h.go_to("Anggota keluarga");
    h.answer("members", "x");
    assert_eq!(
        h.field("members").input_error.unwrap().message,
        "Tambah anggota dengan tombol Tambah"
    );
}

#[test]
fn a_failed_save_puts_the_answer_back_and_says_why() {
    let mut h = found();
    h.go_to("Identitas");
    h.fail_store = Some((
        Box::new(|op| matches!(op, StoreOperation::SaveAnswers { .. })),
        StoreError::DiskFull,
    ));
    h.answer("floor_area", "40");
    assert!(
        h.notice().starts_with("Penyimpanan ponsel penuh"),
        "{}",
        h.notice()
    );
    assert_eq!(h.field("floor_area").answer, AnswerView::Empty);
    assert!(!h.stored_answers().contains_key("floor_area"));
    // The next answer saves normally, including nothing of the failed one.
    h.answer("floor_area", "41");
    assert_eq!(h.stored_answers().get("floor_area"), Some(&json!(41.0)));
}

#[test]
fn one_answer_is_one_store_operation_with_only_its_row() {
    let mut h = found();
    h.go_to("Identitas");
    let before = h.store_ops.len();
    h.answer("floor_area", "40");
    let ops: Vec<&StoreOperation> = h.store_ops[before..].iter().collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    match ops[0] {
        StoreOperation::SaveAnswers { changes, .. } => {
            assert_eq!(
                changes,
                &vec![(
                    "floor_area".to_string(),
                    Some(tepat_store::AnswerRow::Value(json!(40.0)))
                )]
            );
        }
        other => panic!("{other:?}"),
    }
    // The same answer again writes nothing.
    let before = h.store_ops.len();
    h.answer("floor_area", "40");
    assert_eq!(h.store_ops.len(), before);
}

#[test]
fn calculated_fields_are_never_shown() {
    let mut h = found();
    h.go_to("Anggota keluarga");
    h.send(UiEvent::AddMember {
        repeat_path: "members".into(),
    });
    h.choose("members[0].relationship", "1");
    // On the member's page and on the roster's: only questions, no "Kepala: 1", no "Jumlah anggota didata".
    assert!(h.visit().member.is_some());
    assert!(!h.on_page("members[0].is_head"));
    assert!(
        h.visit()
            .fields
            .iter()
            .all(|f| f.kind != FieldType::Calculate)
    );
    h.send(UiEvent::CloseMember);
    assert!(h.on_page("members"));
    assert!(!h.on_page("member_count"));
    assert!(
        h.visit()
            .fields
            .iter()
            .all(|f| f.kind != FieldType::Calculate)
    );
}

#[test]
fn errors_show_for_what_was_answered_and_everything_once_reviewed() {
    let mut h = found();
    // The family is found: the untouched questions of later sections raise nothing yet.
    assert_eq!(h.visit().errors, 0);
    assert!(h.visit().sections.iter().all(|s| s.errors == 0));
    h.go_to("Rumah");
    assert!(h.field("photo_front").findings.is_empty());
    // A wrong answer shows at once.
    h.go_to("Identitas");
    h.answer("floor_area", "0");
    assert_eq!(h.field("floor_area").findings[0].rule, "floor_positive");
    assert_eq!(h.visit().errors, 1);
    // The review lists everything, and from then on the pages do too.
    h.send(UiEvent::ReviewFinalise);
    let review = h.finalise_screen();
    assert!(review.errors.len() > 1, "{review:?}");
    h.send(UiEvent::GoToSection { index: 2 });
    assert_eq!(h.field("photo_front").findings[0].rule, "required");
    assert_eq!(h.visit().errors as usize, review.errors.len());
}
