//! XLSForms of varied shape, written for these tests (tests/README.md): each workbook is generated here from the
//! readable rows below, imported, and the form checked for what the XLSForm says and how it behaves. Also the
//! constructs Tepat cannot carry (each reported at its sheet, row and column) and hostile workbooks (refused
//! before work is spent).

use std::io::Write;

use chrono::NaiveDate;
use serde_json::json;
use tepat_form::{CompiledForm, FieldType, Form, Level, Requirement, Text};
use tepat_xlsform::{ImportError, Limits, Problem, import};

/// A workbook from readable rows: a cell `#12` is written as the number 12 (as a spreadsheet program stores a
/// typed number), any other as text; empty cells are left empty.
fn xlsx(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if cell.is_empty() {
                    continue;
                }
                match cell.strip_prefix('#') {
                    Some(n) => sheet
                        .write_number(r as u32, c as u16, n.parse::<f64>().unwrap())
                        .unwrap(),
                    None => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
                };
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn field<'a>(form: &'a Form, id: &str) -> &'a tepat_form::Field {
    form.sections
        .iter()
        .flat_map(|s| s.fields.iter())
        .flat_map(|f| std::iter::once(f).chain(f.fields.iter()))
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no field {id}"))
}

fn problems(result: Result<tepat_xlsform::Imported, ImportError>) -> Vec<Problem> {
    match result {
        Err(ImportError::Problems(p)) => p,
        Err(other) => panic!("expected problems, got {other}"),
        Ok(imported) => panic!("expected problems, got a form {:#?}", imported.form),
    }
}

/// An ODK-style household survey: plain labels in English (the default language) beside Bahasa Indonesia,
/// a top-level repeat, a group nested in the repeat, a cascading choice filter with numeric codes, selected(),
/// count-selected(), today(), an aggregate over the repeat.
const HOUSEHOLD_SURVEY: &[(&str, &[&[&str]])] = &[
    (
        "survey",
        &[
            &[
                "type",
                "name",
                "label",
                "label::Bahasa Indonesia (id)",
                "hint",
                "required",
                "relevant",
                "constraint",
                "constraint_message",
                "calculation",
                "choice_filter",
                "appearance",
            ],
            &[
                "begin group",
                "hh",
                "Household",
                "Rumah tangga",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "field-list",
            ],
            &[
                "text",
                "head_name",
                "Name of the head",
                "Nama kepala keluarga",
                "As on the KK",
                "yes",
                "",
                "string-length(.) >= 2",
                "At least 2 letters",
                "",
                "",
                "",
            ],
            &[
                "integer",
                "hh_size",
                "Household size",
                "Jumlah ART",
                "",
                "yes",
                "",
                ". > 0 and . <= 30",
                "1 to 30",
                "",
                "",
                "",
            ],
            &[
                "select_one province",
                "province",
                "Province",
                "Provinsi",
                "",
                "yes",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "select_one district",
                "district",
                "District",
                "Kabupaten/kota",
                "",
                "",
                "",
                "",
                "",
                "",
                "province = ${province}",
                "",
            ],
            &[
                "date",
                "interview_date",
                "Interview date",
                "Tanggal wawancara",
                "",
                "",
                "",
                ". <= today()",
                "Not in the future",
                "",
                "",
                "",
            ],
            &[
                "select_multiple assets",
                "assets",
                "Assets",
                "Aset",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "calculate",
                "asset_count",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "count-selected(${assets})",
                "",
                "",
            ],
            &[
                "text",
                "other_asset",
                "Other asset",
                "Aset lain",
                "",
                "yes",
                "selected(${assets}, 'other')",
                "",
                "",
                "",
                "",
                "",
            ],
            &["end group", "", "", "", "", "", "", "", "", "", "", ""],
            &[
                "begin repeat",
                "members",
                "Members",
                "Anggota",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "text",
                "member_name",
                "Name",
                "Nama",
                "",
                "yes",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "integer",
                "member_age",
                "Age",
                "Umur",
                "",
                "yes",
                "",
                ". >= 0 and . < 120",
                "0 to 119",
                "",
                "",
                "",
            ],
            &[
                "begin group",
                "school",
                "School",
                "Sekolah",
                "",
                "",
                "${member_age} >= 5",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "select_one yes_no",
                "in_school",
                "In school now?",
                "Sedang sekolah?",
                "",
                "yes",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &["end group", "", "", "", "", "", "", "", "", "", "", ""],
            &["end repeat", "", "", "", "", "", "", "", "", "", "", ""],
            &[
                "begin group",
                "closing",
                "Closing",
                "Penutup",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "note",
                "thanks",
                "Thank you",
                "Terima kasih",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "geopoint", "gps", "Location", "Lokasi", "", "", "", "", "", "", "", "",
            ],
            &[
                "image",
                "house_photo",
                "Photo of the house",
                "Foto rumah",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "calculate",
                "adults",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "sum(${member_age} >= 18)",
                "",
                "",
            ],
            &["end group", "", "", "", "", "", "", "", "", "", "", ""],
        ],
    ),
    (
        "choices",
        &[
            &[
                "list_name",
                "name",
                "label",
                "label::Bahasa Indonesia (id)",
                "province",
            ],
            &["province", "#17", "Bengkulu", "Bengkulu", ""],
            &["province", "#32", "West Java", "Jawa Barat", ""],
            &["district", "#1771", "Bengkulu City", "Kota Bengkulu", "#17"],
            &["district", "#3201", "Bogor", "Kabupaten Bogor", "#32"],
            &["assets", "tv", "TV", "TV", ""],
            &["assets", "fridge", "Fridge", "Kulkas", ""],
            &["assets", "other", "Other", "Lainnya", ""],
            &["yes_no", "#1", "Yes", "Ya", ""],
            &["yes_no", "#0", "No", "Tidak", ""],
        ],
    ),
    (
        "settings",
        &[
            &["form_title", "form_id", "version", "default_language"],
            &[
                "Household survey",
                "household_survey",
                "#2024052001",
                "English (en)",
            ],
        ],
    ),
];

fn household() -> (Form, Vec<Problem>) {
    let imported = import(&xlsx(HOUSEHOLD_SURVEY), "file", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (imported.form, imported.warnings)
}

#[test]
fn an_odk_household_survey_imports_with_its_structure() {
    let (form, warnings) = household();
    assert_eq!(
        (form.id.as_str(), form.version),
        ("household_survey", 2_024_052_001)
    );
    assert_eq!(
        form.title,
        Text::new("Household survey", "Household survey")
    );
    let sections: Vec<&str> = form.sections.iter().map(|s| s.id.as_str()).collect();
    // The repeat outside any group gets a section of its own.
    assert_eq!(sections, ["hh", "section_2", "closing"]);
    assert_eq!(
        form.sections[0].title,
        Text::new("Rumah tangga", "Household")
    );
    let head = field(&form, "head_name");
    assert_eq!(
        head.label,
        Text::new("Nama kepala keluarga", "Name of the head")
    );
    assert_eq!(head.required, Requirement::Always(true));
    assert_eq!(head.constraints[0].expr, "string-length(.) >= 2");
    assert_eq!(head.constraints[0].level, Level::Error);
    assert_eq!(
        field(&form, "district").choice_filter.as_deref(),
        Some("province = ${province}")
    );
    assert_eq!(field(&form, "asset_count").kind, FieldType::Calculate);
    assert_eq!(field(&form, "house_photo").kind, FieldType::Photo);
    let members = field(&form, "members");
    let children: Vec<&str> = members.fields.iter().map(|f| f.id.as_str()).collect();
    // The group inside the repeat is flattened: its label a note, its relevance on its questions.
    assert_eq!(
        children,
        ["member_name", "member_age", "school", "in_school"]
    );
    assert_eq!(field(&form, "school").kind, FieldType::Note);
    assert_eq!(
        field(&form, "in_school").relevant.as_deref(),
        Some("${member_age} >= 5")
    );
    // Codes typed as numbers in the spreadsheet are the codes as written.
    let codes: Vec<&str> = form.choices["district"]
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(codes, ["1771", "3201"]);
    assert_eq!(form.choices["district"][1].attrs["province"], "32");
    // The hint has no Bahasa Indonesia column: said, and the English used for both.
    assert!(
        warnings
            .iter()
            .any(|w| w.place.row == Some(3) && w.message.contains("`hint`")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.message.contains("section_2")),
        "{warnings:#?}"
    );
}

fn compiled(form: &Form) -> CompiledForm {
    tepat_form::compile(form.clone()).unwrap()
}

fn rules(form: &CompiledForm, answers: serde_json::Value) -> Vec<(String, String)> {
    let date = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap();
    form.validate(answers.as_object().unwrap(), date)
        .into_iter()
        .map(|f| (f.path, f.rule))
        .collect()
}

#[test]
fn the_imported_household_survey_behaves_as_the_xlsform_says() {
    let (form, _) = household();
    let form = compiled(&form);
    let date = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap();
    let good = json!({
        "head_name": "Siti", "hh_size": 3, "province": "17", "district": "1771", "assets": ["tv", "fridge"],
        "members": [{"member_name": "Siti", "member_age": 40, "in_school": "0"},
                    {"member_name": "Budi", "member_age": 3}]
    });
    assert_eq!(rules(&form, good.clone()), vec![]);
    let exported = form.evaluate(good.as_object().unwrap(), date).exported;
    assert_eq!(exported["asset_count"], json!(2));
    assert_eq!(exported["adults"], json!(1));
    // The constraint, the cascade (a Bogor district in Bengkulu), the relevance of the nested group and of
    // "other", and required inside the repeat.
    let bad = json!({
        "head_name": "S", "hh_size": 0, "province": "17", "district": "3201", "assets": ["other"],
        "interview_date": "2027-01-01",
        "members": [{"member_name": "Ani", "member_age": 12}]
    });
    let mut got = rules(&form, bad);
    got.sort();
    let want = [
        ("district", "choice_filter"),
        ("head_name", "constraint"),
        ("hh_size", "constraint"),
        ("interview_date", "constraint"),
        ("members[0].in_school", "required"),
        ("other_asset", "required"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(p, r)| (p.to_string(), r.to_string()))
            .collect::<Vec<_>>()
    );
}

/// A Kobo-style form: no settings sheet, questions outside any group, Kobo's column spellings
/// (`jr:constraintMsg`, `List Name`), `contains()`, a required condition, read_only, an English-only hint.
const KOBO_LOOSE: &[(&str, &[&[&str]])] = &[
    (
        "survey",
        &[
            &[
                "type",
                "name",
                "label::Indonesian (id)",
                "label::English (en)",
                "hint::English (en)",
                "required",
                "constraint",
                "jr:constraintMsg::Indonesian (id)",
                "jr:constraintMsg::English (en)",
                "read_only",
                "relevant",
            ],
            &[
                "select_one yn",
                "consent",
                "Bersedia diwawancarai?",
                "Consent to the interview?",
                "",
                "true()",
                "",
                "",
                "",
                "",
                "",
            ],
            &[
                "text",
                "phone",
                "Nomor HP",
                "Mobile number",
                "08…",
                "${consent} = 'yes'",
                "regex(., '^08[0-9]{8,11}$')",
                "Nomor HP tidak sah",
                "Not a valid mobile number",
                "",
                "${consent} = 'yes'",
            ],
            &[
                "text",
                "remark",
                "Catatan",
                "Remark",
                "",
                "",
                "not(contains(., 'http'))",
                "Tanpa tautan",
                "No links",
                "",
                "",
            ],
            &[
                "text",
                "enumerator",
                "Petugas",
                "Enumerator",
                "",
                "",
                "",
                "",
                "",
                "yes",
                "",
            ],
        ],
    ),
    (
        "choices",
        &[
            &[
                "List Name",
                "name",
                "label::Indonesian (id)",
                "label::English (en)",
            ],
            &["yn", "yes", "Ya", "Yes"],
            &["yn", "no", "Tidak", "No"],
        ],
    ),
];

#[test]
fn a_kobo_style_form_without_settings_imports_in_one_section() {
    let imported = import(&xlsx(KOBO_LOOSE), "kobo_loose", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let form = imported.form;
    assert_eq!((form.id.as_str(), form.version), ("kobo_loose", 1));
    assert_eq!(form.sections.len(), 1);
    assert_eq!(form.sections[0].id, "section_1");
    assert_eq!(field(&form, "consent").required, Requirement::Always(true));
    let phone = field(&form, "phone");
    assert_eq!(
        phone.required,
        Requirement::When("${consent} = 'yes'".into())
    );
    assert_eq!(
        phone.constraints[0].message,
        Text::new("Nomor HP tidak sah", "Not a valid mobile number")
    );
    assert_eq!(phone.hint, Some(Text::new("08…", "08…")));
    assert_eq!(
        field(&form, "remark").constraints[0].expr,
        "not(regex(., 'http'))"
    );
    assert!(field(&form, "enumerator").read_only);
    for said in [
        "no settings sheet",
        "outside any group",
        "no Bahasa Indonesia text",
    ] {
        assert!(
            imported.warnings.iter().any(|w| w.message.contains(said)),
            "{said}: {:#?}",
            imported.warnings
        );
    }
    let form = compiled(&form);
    assert_eq!(
        rules(
            &form,
            json!({"consent": "yes", "phone": "12345", "remark": "lihat http://x"})
        ),
        vec![
            ("phone".to_string(), "constraint".to_string()),
            ("remark".to_string(), "constraint".to_string())
        ]
    );
    assert_eq!(
        rules(&form, json!({"consent": "yes"})),
        vec![("phone".to_string(), "required".to_string())]
    );
    assert_eq!(
        rules(&form, json!({"consent": "no", "phone": "12345"})),
        vec![]
    );
}

/// Constructs Tepat cannot carry, one a row, and where each must be reported.
const UNSUPPORTED: &[(&str, &[&[&str]])] = &[
    (
        "survey",
        &[
            &[
                "type",
                "name",
                "label",
                "appearance",
                "default",
                "calculation",
                "repeat_count",
                "label::Français (fr)",
                "body::accuracyThreshold",
            ],
            &[
                "text",
                "address",
                "Alamat",
                "multiline",
                "",
                "",
                "",
                "Adresse",
                "",
            ],
            &["time", "visit_time", "Jam", "", "", "", "", "", ""],
            &[
                "select_one yn or_other",
                "consent",
                "Bersedia",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
            &["start", "started", "", "", "", "", "", "", ""],
            &["integer", "members_n", "Jumlah", "", "#4", "", "", "", ""],
            &[
                "calculate",
                "consent_label",
                "",
                "",
                "",
                "jr:choice-name(${consent}, '${consent}')",
                "",
                "",
                "",
            ],
            &[
                "begin repeat",
                "people",
                "Orang",
                "",
                "",
                "",
                "${members_n}",
                "",
                "",
            ],
            &["text", "person", "Nama", "", "", "", "", "", ""],
            &["end repeat", "", "", "", "", "", "", "", ""],
            &[
                "text",
                "nickname",
                "Panggilan",
                "",
                "",
                "concat('x', 'y')",
                "",
                "",
                "",
            ],
            &["geopoint", "gps", "Lokasi", "", "", "", "", "", "#10"],
        ],
    ),
    (
        "choices",
        &[
            &["list_name", "name", "label", "media::image"],
            &["yn", "1", "Ya", "ya.png"],
            &["yn", "2", "Tidak", ""],
        ],
    ),
];

#[test]
fn every_construct_tepat_cannot_carry_is_reported_at_its_cell() {
    let got = problems(import(
        &xlsx(UNSUPPORTED),
        "unsupported",
        &Limits::default(),
    ));
    let places: Vec<(String, Option<u32>, Option<String>)> = got
        .iter()
        .map(|p| (p.place.sheet.clone(), p.place.row, p.place.column.clone()))
        .collect();
    let expect = |sheet: &str, row: u32, column: &str, says: &str| {
        assert!(
            got.iter().any(|p| p.place.sheet == sheet
                && p.place.row == Some(row)
                && p.place.column.as_deref() == Some(column)
                && p.message.contains(says)),
            "{sheet} row {row} {column} ({says}) not in {got:#?}"
        );
    };
    expect("survey", 1, "label::Français (fr) (H)", "language");
    expect("survey", 2, "appearance (D)", "multiline");
    expect("survey", 3, "type (A)", "`time`");
    expect("survey", 4, "type (A)", "or_other");
    expect("survey", 5, "type (A)", "metadata");
    expect("survey", 6, "default (E)", "default");
    expect("survey", 7, "calculation (F)", "jr:choice-name");
    expect("survey", 8, "repeat_count (G)", "whole number");
    expect("survey", 11, "calculation (F)", "dynamic default");
    expect("survey", 12, "body::accuracyThreshold (I)", "not carried");
    expect("choices", 2, "media::image (D)", "images");
    // Nothing else, and nothing twice.
    assert_eq!(got.len(), 11, "{places:#?}");
}

/// A form whose rows read well but break the form engine's checks: reported at the cell they come from.
const ENGINE_CHECKS: &[(&str, &[&[&str]])] = &[
    (
        "survey",
        &[
            &[
                "type",
                "name",
                "label",
                "relevant",
                "calculation",
                "constraint",
            ],
            &["begin group", "main", "Utama", "", "", ""],
            &["integer", "age", "Umur", "", "", ""],
            &["text", "school", "Sekolah", "${agee} >= 5", "", ""],
            &["calculate", "a", "", "", "${b} + 1", ""],
            &["calculate", "b", "", "", "${a} + 1", ""],
            &["select_one nolist", "pick", "Pilih", "", "", ""],
            &["integer", "age", "Umur lagi", "", "", ". > 'x' and"],
            &["end group", "", "", "", "", ""],
        ],
    ),
    ("settings", &[&["form_id", "version"], &["Bad-Id", "1.2"]]),
];

#[test]
fn the_form_engine_s_problems_are_placed_at_their_cells() {
    let got = problems(import(&xlsx(ENGINE_CHECKS), "x", &Limits::default()));
    // The version is the converter's own problem: it stops before the engine runs.
    assert!(
        got.iter().any(|p| p.place.sheet == "settings"
            && p.place.row == Some(2)
            && p.place.column.as_deref() == Some("version (B)")
            && p.message.contains("whole number")),
        "{got:#?}"
    );
    let mut fixed = ENGINE_CHECKS.to_vec();
    fixed[1] = ("settings", &[&["form_id", "version"], &["Bad-Id", "#2"]]);
    let got = problems(import(&xlsx(&fixed), "x", &Limits::default()));
    let at = |sheet: &str, row: u32, column: Option<&str>, says: &str| {
        assert!(
            got.iter().any(|p| p.place.sheet == sheet
                && p.place.row == Some(row)
                && p.place.column.as_deref() == column
                && p.message.contains(says)),
            "{sheet} row {row} {column:?} ({says}) not in {got:#?}"
        );
    };
    at("settings", 2, Some("form_id (A)"), "must match");
    at("survey", 4, Some("relevant (D)"), "unknown field ${agee}");
    at(
        "survey",
        7,
        Some("type (A)"),
        "choice list `nolist` does not exist",
    );
    at("survey", 8, Some("name (B)"), "duplicate field id `age`");
    at("survey", 8, Some("constraint (F)"), "column");
}

#[test]
fn a_calculation_cycle_is_placed_at_its_row() {
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "calculation"],
        &["begin group", "main", "Utama", ""],
        &["calculate", "a", "", "${b} + 1"],
        &["calculate", "b", "", "${a} + 1"],
        &["end group", "", "", ""],
    ];
    let got = problems(import(
        &xlsx(&[("survey", survey)]),
        "cycle",
        &Limits::default(),
    ));
    assert!(
        got.iter().any(|p| p.place.sheet == "survey"
            && matches!(p.place.row, Some(3) | Some(4))
            && p.message.contains("cycle")),
        "{got:#?}"
    );
}

#[test]
fn groups_that_do_not_close_or_close_the_wrong_thing_are_reported() {
    let survey: &[&[&str]] = &[
        &["type", "name", "label"],
        &["begin group", "main", "Utama"],
        &["begin repeat", "rows", "Baris"],
        &["text", "x", "X"],
        &["end group", "", ""],
        &["end repeat", "", ""],
        &["begin group", "open", "Terbuka"],
        &["text", "y", "Y"],
    ];
    let got = problems(import(
        &xlsx(&[("survey", survey)]),
        "groups",
        &Limits::default(),
    ));
    let rows: Vec<(Option<u32>, &str)> = got
        .iter()
        .map(|p| (p.place.row, p.message.as_str()))
        .collect();
    assert!(
        rows.iter()
            .any(|(r, m)| *r == Some(5) && m.contains("closes the repeat begun at row 3")),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|(r, m)| *r == Some(6) && m.contains("closes the group begun at row 2")),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|(r, m)| *r == Some(7) && m.contains("never closed")),
        "{rows:#?}"
    );
}

// ------------------------------------------------------------------------------------------- hostile workbooks

fn too_large(result: Result<tepat_xlsform::Imported, ImportError>) -> String {
    match result {
        Err(ImportError::TooLarge { what, limit }) => format!("{what} > {limit}"),
        Err(other) => panic!("expected TooLarge, got {other}"),
        Ok(_) => panic!("expected TooLarge, got a form"),
    }
}

#[test]
fn a_zip_bomb_is_refused_by_its_unzipped_size() {
    // 40 MiB of one repeated byte zips to about 40 KB: an .xlsx that unzips past the 32 MiB bound.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..40 {
        zip.write_all(&chunk).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    let said = too_large(import(&bytes, "bomb", &Limits::default()));
    assert!(said.contains("unzip"), "{said}");
}

#[test]
fn a_cell_at_the_far_corner_is_refused_before_any_grid_is_built() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("survey").unwrap();
    sheet.write_string(0, 0, "type").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let said = too_large(import(
        &workbook.save_to_buffer().unwrap(),
        "far",
        &Limits::default(),
    ));
    assert!(said.contains("rows") || said.contains("columns"), "{said}");
}

#[test]
fn files_rows_cells_and_nesting_past_their_limits_are_refused() {
    let bytes = xlsx(HOUSEHOLD_SURVEY);
    let small = Limits {
        max_file_bytes: 1_000,
        ..Limits::default()
    };
    assert!(too_large(import(&bytes, "f", &small)).contains("file"));
    let few_rows = Limits {
        max_rows: 10,
        ..Limits::default()
    };
    assert!(too_large(import(&bytes, "f", &few_rows)).contains("rows"));
    let few_cells = Limits {
        max_cells: 50,
        ..Limits::default()
    };
    assert!(too_large(import(&bytes, "f", &few_cells)).contains("cells"));
    let mut nested: Vec<Vec<String>> = vec![vec!["type".into(), "name".into(), "label".into()]];
    for i in 0..20 {
        nested.push(vec!["begin group".into(), format!("g{i}"), "G".into()]);
    }
    let rows: Vec<Vec<&str>> = nested
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    assert!(
        too_large(import(
            &xlsx(&[("survey", &rows)]),
            "deep",
            &Limits::default()
        ))
        .contains("inside each other")
    );
}

#[test]
fn bytes_that_are_not_a_workbook_are_unreadable() {
    for bytes in [&b"type,name,label\n"[..], &[0u8; 64][..], &[][..]] {
        match import(bytes, "x", &Limits::default()) {
            Err(ImportError::Unreadable(_)) => {}
            other => panic!("{:?}", other.map(|i| i.form.id)),
        }
    }
}

#[test]
fn a_problem_inside_a_repeat_is_placed_at_its_own_row() {
    let survey: &[&[&str]] = &[
        &["type", "name", "label", "relevant"],
        &["begin group", "main", "Utama", ""],
        &["begin repeat", "people", "Orang", ""],
        &["text", "person", "Nama", ""],
        &["integer", "age", "Umur", "${persn} != ''"],
        &["end repeat", "", "", ""],
        &["end group", "", "", ""],
    ];
    let got = problems(import(
        &xlsx(&[("survey", survey)]),
        "rows",
        &Limits::default(),
    ));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].place.row, Some(5));
    assert_eq!(got[0].place.column.as_deref(), Some("relevant (D)"));
    assert!(
        got[0].message.contains("unknown field ${persn}"),
        "{got:#?}"
    );
}

#[test]
fn what_a_workbook_cannot_hold_is_refused_on_export_with_its_path() {
    let json = r#"{"id": "f", "version": 1, "title": {"id": "F", "en": "F"},
        "choices": {"c": [{"value": "1", "label": {"id": "Satu", "en": "One"}, "attrs": {"label": "x"}}]},
        "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
            {"id": "q", "type": "select_one", "choices": "c", "label": {"id": "Q", "en": "Q"}}]}]}"#;
    let form: Form = serde_json::from_str(json).unwrap();
    match tepat_xlsform::export(&form) {
        Err(tepat_xlsform::ExportError::Unrepresentable { path, message }) => {
            assert_eq!(path, "choices.c[0].attrs.label");
            assert!(message.contains("something else"), "{message}");
        }
        other => panic!("{:?}", other.map(|b| b.len())),
    }
    let mut empty_hint = form.clone();
    empty_hint.choices.get_mut("c").unwrap()[0].attrs.clear();
    empty_hint.sections[0].fields[0].hint = Some(Text::new("Petunjuk", " "));
    match tepat_xlsform::export(&empty_hint) {
        Err(tepat_xlsform::ExportError::Unrepresentable { path, .. }) => {
            assert_eq!(path, "sections[0].fields[0].hint")
        }
        other => panic!("{:?}", other.map(|b| b.len())),
    }
    empty_hint.sections[0].fields[0].hint = None;
    assert!(tepat_xlsform::export(&empty_hint).is_ok());
}
