//! Engine tests on small inline forms: load-time problems, expression semantics, validation, the session.

use chrono::NaiveDate;
use serde_json::{Value as Json, json};

use super::*;

pub(crate) fn visit_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn answers(v: Json) -> Answers {
    v.as_object().cloned().unwrap()
}

fn t(s: &str) -> Json {
    json!({"id": s, "en": s})
}

/// A small household form exercising every feature.
pub(crate) fn household_form() -> Json {
    json!({
        "id": "household", "version": 1, "title": t("Rumah tangga"),
        "choices": {
            "outcome": [{"value": "0", "label": t("Tidak ditemukan")}, {"value": "1", "label": t("Ditemukan")},
                        {"value": "3", "label": t("Meninggal")}],
            "sex": [{"value": "1", "label": t("Laki-laki")}, {"value": "2", "label": t("Perempuan")}],
            "rel": [{"value": "1", "label": t("Kepala")}, {"value": "2", "label": t("Pasangan")},
                    {"value": "3", "label": t("Anak")}],
            "yn": [{"value": "1", "label": t("Ya")}, {"value": "2", "label": t("Tidak")}],
            "assets": [{"value": "fridge", "label": t("Kulkas")}, {"value": "tv", "label": t("TV")},
                       {"value": "none", "label": t("Tidak ada")}],
            "cluster": [{"value": "anak", "label": t("Anak")}, {"value": "lansia", "label": t("Lansia")}],
            "ppks": [{"value": "1", "label": t("Balita terlantar"), "attrs": {"cluster": "anak"}},
                     {"value": "2", "label": t("Anak terlantar"), "attrs": {"cluster": "anak"}},
                     {"value": "8", "label": t("Lansia terlantar"), "attrs": {"cluster": "lansia"}}]
        },
        "sections": [
            {"id": "visit", "title": t("Kunjungan"), "fields": [
                {"id": "outcome", "type": "select_one", "label": {"id": "Status keluarga", "en": "Family status"},
                 "choices": "outcome", "required": true},
                {"id": "moved_to", "type": "text", "label": t("Pindah ke"), "relevant": "${outcome} = '0'"},
                {"id": "assigned_regency", "type": "text", "label": t("Kabupaten tugas"), "prefill": "regency",
                 "read_only": true}
            ]},
            {"id": "identity", "title": t("Identitas"), "relevant": "${outcome} = '1'", "fields": [
                {"id": "head_name", "type": "text", "label": {"id": "Nama kepala keluarga", "en": "Head's name"},
                 "required": true},
                {"id": "head_nik", "type": "nik", "label": t("NIK kepala"), "required": true},
                {"id": "kk_no", "type": "kk", "label": t("No. KK")},
                {"id": "village", "type": "region", "label": t("Desa"), "region_within": "${assigned_regency}"},
                {"id": "kk_count", "type": "integer", "label": {"id": "Jumlah anggota KK", "en": "KK members"},
                 "constraints": [
                    {"expr": ". >= 1 and . <= 30", "message": t("1-30"), "rule": "kk_count_range"},
                    {"expr": ". = count(${members})", "message": t("beda dengan daftar"), "level": "warning",
                     "rule": "roster_size"}]},
                {"id": "gps", "type": "geopoint", "label": t("GPS")},
                {"id": "front_photo", "type": "photo", "label": t("Foto depan"), "required": "${outcome} = '1'"},
                {"id": "assets", "type": "select_multiple", "label": t("Aset"), "choices": "assets",
                 "constraints": [{"expr": "not(selected(., 'none') and count-selected(.) > 1)",
                                  "message": t("'tidak ada' sendiri"), "rule": "none_alone"}]},
                {"id": "floor_area", "type": "decimal", "label": t("Luas lantai"),
                 "constraints": [{"expr": ". > 0", "message": t("> 0"), "rule": "floor_area_positive"}]},
                {"id": "meter_id", "type": "text", "label": t("ID pelanggan"),
                 "constraints": [{"expr": "regex(., '^[0-9]{12}$')", "message": t("12 digit"), "rule": "meter_id"}]}
            ]},
            {"id": "roster", "title": t("Anggota"), "relevant": "${outcome} = '1'", "fields": [
                {"id": "members", "type": "repeat", "label": {"id": "Anggota keluarga", "en": "Family members"},
                 "min_count": 1, "max_count": 6,
                 "constraints": [
                    {"expr": "count(${rel} = '1') = 1", "message": t("satu kepala"), "rule": "one_head"},
                    {"expr": "count(${rel} = '2') <= 1", "message": t("satu pasangan"), "rule": "one_spouse"}],
                 "fields": [
                    {"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}, "required": true},
                    {"id": "nik", "type": "nik", "label": t("NIK"),
                     "constraints": [
                        {"expr": "nik-sex(.) = ${sex}", "message": t("jenis kelamin NIK"), "level": "warning",
                         "rule": "nik_sex"},
                        {"expr": "nik-birth-date(.) = ${birth}", "message": t("tanggal lahir NIK"),
                         "level": "warning", "rule": "nik_birth"}]},
                    {"id": "sex", "type": "select_one", "label": t("Jenis kelamin"), "choices": "sex", "required": true},
                    {"id": "birth", "type": "date", "label": t("Tanggal lahir"), "required": true,
                     "constraints": [{"expr": ". <= today()", "message": t("masa depan"), "rule": "birth_not_future"}]},
                    {"id": "age", "type": "calculate", "label": t("Umur"), "calculate": "age(${birth})"},
                    {"id": "rel", "type": "select_one", "label": t("Hubungan"), "choices": "rel", "required": true,
                     "constraints": [{"expr": ". != '3' or ${age} < max(${age})", "message": t("anak lebih muda"),
                                      "level": "warning", "rule": "child_younger"}]},
                    {"id": "pregnant", "type": "select_one", "label": t("Hamil"), "choices": "yn",
                     "relevant": "${sex} = '2' and ${age} >= 10 and ${age} <= 54"}
                 ]},
                {"id": "n_members", "type": "calculate", "label": t("Jumlah"), "calculate": "count(${members})"},
                {"id": "adults", "type": "calculate", "label": t("Dewasa"), "calculate": "count(${age} >= 18)"},
                {"id": "income_total", "type": "calculate", "label": t("Total"), "calculate": "sum(${income})"},
                {"id": "incomes", "type": "repeat", "label": t("Pendapatan"), "fields": [
                    {"id": "income", "type": "integer", "label": t("Pendapatan"),
                     "constraints": [{"expr": ". >= 0", "message": t(">= 0")}]}]}
            ]},
            {"id": "ppks", "title": t("PPKS"), "relevant": "${outcome} = '1'", "fields": [
                {"id": "cluster", "type": "select_one", "label": t("Klaster"), "choices": "cluster"},
                {"id": "ppks_type", "type": "select_one", "label": t("Jenis PPKS"), "choices": "ppks",
                 "choice_filter": "cluster = ${cluster}"}
            ]}
        ]
    })
}

pub(crate) fn household() -> CompiledForm {
    load(&household_form().to_string()).unwrap_or_else(|e| panic!("{e}"))
}

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A complete, valid visit: a head (male, 1980-05-17) and his wife (1985-01-01) in Kota Bengkulu.
pub(crate) fn valid_answers() -> Answers {
    answers(json!({
        "outcome": "1",
        "assigned_regency": "17.71",
        "head_name": "Budi Santoso",
        "head_nik": "1771011705800001",
        "kk_no": "1771010101200003",
        "village": "17.71.01.1001",
        "kk_count": 2,
        "gps": {"lat": -3.8, "lon": 102.26, "accuracy_m": 6.5},
        "front_photo": {"file": "front.jpg", "sha256": SHA},
        "assets": ["fridge", "tv"],
        "floor_area": 36.5,
        "meter_id": "123456789012",
        "members": [
            {"name": "Budi Santoso", "nik": "1771011705800001", "sex": "1", "birth": "1980-05-17", "rel": "1"},
            {"name": "Siti Aminah", "nik": "1771014101850002", "sex": "2", "birth": "1985-01-01", "rel": "2",
             "pregnant": "2"}
        ],
        "cluster": "anak",
        "ppks_type": "2"
    }))
}

fn rules(findings: &[Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| (f.path.clone(), f.rule.clone()))
        .collect()
}

fn validate_with(change: impl FnOnce(&mut Answers)) -> Vec<(String, String)> {
    let mut a = valid_answers();
    change(&mut a);
    rules(&household().validate(&a, visit_date()))
}

fn has(found: &[(String, String)], path: &str, rule: &str) -> bool {
    found.iter().any(|(p, r)| p == path && r == rule)
}

fn member(a: &mut Answers, i: usize) -> &mut serde_json::Map<String, Json> {
    a.get_mut("members").unwrap().as_array_mut().unwrap()[i]
        .as_object_mut()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Load

#[test]
fn the_household_form_loads() {
    let form = household();
    assert_eq!(form.form().id, "household");
}

#[test]
fn load_reports_every_problem_with_its_path() {
    let mut f = household_form();
    let s = f["sections"].as_array_mut().unwrap();
    // duplicate field id (inside a repeat), unknown reference, type error, bad regex, unknown function, arity,
    // missing choice list, select without choices, bad choice_filter attr, note with a constraint, bad id,
    // repeat without fields, duplicate section id, parse error.
    s[2]["fields"][0]["fields"][0]["id"] = json!("head_name");
    s[1]["fields"][0]["relevant"] = json!("${outcom} = '1'");
    s[1]["fields"][1]["relevant"] = json!("${head_name} + 1 > 2");
    s[1]["fields"][9]["constraints"][0]["expr"] = json!("regex(., '[0-9')");
    s[1]["fields"][8]["constraints"][0]["expr"] = json!("frobnicate(.) > 0");
    s[1]["fields"][4]["constraints"][0]["expr"] = json!("if(. > 1, true())");
    s[3]["fields"][0]["choices"] = json!("klaster");
    s[3]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "ppks_other", "type": "select_one", "label": t("x")}));
    s[3]["fields"][1]["choice_filter"] = json!("klaster = ${cluster}");
    s[0]["fields"].as_array_mut().unwrap().push(
        json!({"id": "a_note", "type": "note", "label": t("x"), "constraints": [{"expr": "true()", "message": t("x")}]}),
    );
    s[0]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "Bad-Id", "type": "text", "label": t("x")}));
    s[0]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "empty_repeat", "type": "repeat", "label": t("x")}));
    s[3]["id"] = json!("visit");
    s[0]["fields"][1]["relevant"] = json!("${outcome} = ");
    let f = json!(f);
    let errors = load(&f.to_string()).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let expect = [
        (
            "sections[2].fields[0].fields[0].id",
            "duplicate field id `head_name` (also sections[1].fields[0])",
        ),
        ("sections[1].fields[0].relevant", "unknown field ${outcom}"),
        (
            "sections[1].fields[1].relevant",
            "`+` needs a number, but ${head_name} is text",
        ),
        (
            "sections[1].fields[9].constraints[0].expr",
            "bad regular expression",
        ),
        (
            "sections[1].fields[8].constraints[0].expr",
            "unknown function `frobnicate`",
        ),
        (
            "sections[1].fields[4].constraints[0].expr",
            "if() takes 3 argument(s), got 2",
        ),
        (
            "sections[3].fields[0].choices",
            "choice list `klaster` does not exist",
        ),
        ("sections[3].fields[2]", "needs `choices`"),
        (
            "sections[3].fields[1].choice_filter",
            "`klaster` is not an attribute of the choices in list `ppks`",
        ),
        (
            "sections[0].fields[3].constraints",
            "a note cannot have constraints",
        ),
        ("sections[0].fields[4].id", "must match [a-z][a-z0-9_]*"),
        (
            "sections[0].fields[5].fields",
            "repeat `empty_repeat` has no fields",
        ),
        ("sections[3].id", "duplicate section id `visit`"),
        (
            "sections[0].fields[1].relevant",
            "column 14: expected a value",
        ),
    ];
    for (path, msg) in expect {
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(msg)),
            "missing `{path}: {msg}` in:\n{}",
            text.join("\n")
        );
    }
    // Field ids are named in expression problems.
    assert!(
        text.iter().any(|t| t.contains("field `moved_to`")),
        "{text:?}"
    );
}

#[test]
fn a_field_id_cannot_take_the_name_of_an_export_prefill_column() {
    let mut f = household_form();
    f["sections"][0]["fields"][0]["id"] = json!("head_name__prefill");
    let errors = load(&f.to_string()).unwrap_err().0;
    assert!(
        errors
            .iter()
            .any(|e| e.path == "sections[0].fields[0].id"
                && e.message.contains("ends in `__prefill`")),
        "{errors:?}"
    );
}

#[test]
fn json_problems_have_line_and_column_or_path() {
    let e = load("{\"id\": \"x\",\n \"version\": }").unwrap_err().0;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "line 2 column 13");
    let mut f = household_form();
    f["sections"][0]["fields"][0]["type"] = json!("select_uno");
    f["sections"][2]["fields"][0]["fields"][1]["colour"] = json!("red");
    f["version"] = json!("one");
    let e = load(&f.to_string()).unwrap_err().0;
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"sections[0].fields[0]"), "{e:?}");
    assert!(paths.contains(&"sections[2].fields[0].fields[1]"), "{e:?}");
    assert!(paths.contains(&"version"), "{e:?}");
    assert!(e.iter().any(|e| e.message.contains("select_uno")));
    assert!(e.iter().any(|e| e.message.contains("colour")));
}

#[test]
fn calculation_cycles_are_named() {
    let f = json!({"id": "c", "version": 1, "title": t("c"), "sections": [{"id": "s", "title": t("s"), "fields": [
        {"id": "a", "type": "calculate", "label": t("a"), "calculate": "${b} + 1"},
        {"id": "b", "type": "calculate", "label": t("b"), "calculate": "${c} + 1"},
        {"id": "c", "type": "calculate", "label": t("c"), "calculate": "${a} * 2"},
        {"id": "d", "type": "integer", "label": t("d"), "relevant": "${d} > 1"}
    ]}]});
    let e = load(&f.to_string()).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    let msg = &e[0].message;
    assert!(msg.starts_with("cycle: "), "{msg}");
    for name in ["`a`", "`b`", "`c`"] {
        assert!(msg.contains(name), "{msg}");
    }
    // The self-referencing relevance is a cycle too, reported once the calculations are fixed.
    let mut f = f;
    f["sections"][0]["fields"][2]["calculate"] = json!("2");
    let e = load(&f.to_string()).unwrap_err().0;
    assert!(e[0].message.contains("relevance of `d`"), "{e:?}");
}

#[test]
fn repeat_children_outside_their_repeat_need_an_aggregate() {
    let mut f = household_form();
    f["sections"][2]["fields"][1]["calculate"] = json!("${age} + 1");
    let e = load(&f.to_string()).unwrap_err().0;
    assert!(
        e[0].message.contains("inside the repeat `members`"),
        "{e:?}"
    );
    assert_eq!(e[0].path, "sections[2].fields[1].calculate");
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

#[test]
fn a_valid_visit_has_no_findings() {
    let found = household().validate(&valid_answers(), visit_date());
    assert_eq!(found, Vec::<Finding>::new());
}

#[test]
fn required_fields_and_required_expressions() {
    let found = validate_with(|a| {
        a.remove("head_name");
        a.insert("front_photo".into(), Json::Null);
    });
    assert_eq!(
        found,
        [
            ("head_name".into(), "required".into()),
            ("front_photo".into(), "required".into())
        ]
    );
    let f = household().validate(
        &answers(json!({"outcome": "1", "head_nik": ""})),
        visit_date(),
    );
    let m = f.iter().find(|f| f.path == "head_name").unwrap();
    assert_eq!(
        m.message,
        Text::new(
            "Nama kepala keluarga wajib diisi",
            "Head's name is required"
        )
    );
    assert!(
        f.iter()
            .any(|f| f.path == "members" && f.rule == "min_count"),
        "{f:?}"
    );
}

#[test]
fn a_missing_answer_can_be_a_named_warning_instead_of_an_error() {
    let form = json!({
        "id": "f", "version": 1, "title": t("F"),
        "sections": [{"id": "s", "title": t("S"), "fields": [
            {"id": "gps", "type": "geopoint", "label": t("GPS"), "required": true,
             "missing": {"level": "warning", "rule": "gps_kosong", "message": t("KOSONG")}},
            {"id": "name", "type": "text", "label": t("Nama"), "required": true}
        ]}]
    });
    let form = load(&form.to_string()).unwrap();
    let found = form.validate(&answers(json!({})), visit_date());
    let gps = found.iter().find(|f| f.path == "gps").unwrap();
    assert_eq!(
        (gps.rule.as_str(), gps.level),
        ("gps_kosong", Level::Warning)
    );
    assert_eq!(gps.message, t_text("KOSONG"));
    let name = found.iter().find(|f| f.path == "name").unwrap();
    assert_eq!((name.rule.as_str(), name.level), ("required", Level::Error));
    let answered =
        answers(json!({"gps": {"lat": -3.8, "lon": 102.3, "accuracy_m": 5.0}, "name": "A"}));
    assert_eq!(
        form.validate(&answered, visit_date()),
        Vec::<Finding>::new()
    );

    // `missing` on a field that is never required is a load-time mistake.
    let useless = json!({
        "id": "f", "version": 1, "title": t("F"),
        "sections": [{"id": "s", "title": t("S"), "fields": [
            {"id": "gps", "type": "geopoint", "label": t("GPS"), "missing": {"level": "warning"}}]}]
    });
    let problems = load(&useless.to_string()).unwrap_err();
    assert!(
        problems
            .0
            .iter()
            .any(|p| p.path == "sections[0].fields[0].missing"),
        "{problems}"
    );
}

fn t_text(s: &str) -> Text {
    Text::new(s, s)
}

#[test]
fn hidden_fields_are_neither_validated_nor_exported() {
    // Not found: the identity and roster sections disappear, with their bad answers.
    let mut a = valid_answers();
    a.insert("outcome".into(), json!("0"));
    a.insert("head_nik".into(), json!("123"));
    a.insert("moved_to".into(), json!("Jakarta"));
    let form = household();
    assert_eq!(form.validate(&a, visit_date()), Vec::<Finding>::new());
    let exported = form.relevant_answers(&a, visit_date());
    let keys: Vec<&str> = exported.keys().map(String::as_str).collect();
    assert_eq!(keys, ["assigned_regency", "moved_to", "outcome"]);
    // A man's `pregnant` answer is dropped from the export, a woman's kept.
    let mut a = valid_answers();
    member(&mut a, 0).insert("pregnant".into(), json!("1"));
    let exported = form.relevant_answers(&a, visit_date());
    assert!(exported["members"][0].get("pregnant").is_none());
    assert_eq!(exported["members"][1]["pregnant"], json!("2"));
    assert_eq!(form.validate(&a, visit_date()), Vec::<Finding>::new());
}

#[test]
fn the_export_holds_relevant_answers_and_calculated_values_from_one_evaluation() {
    let form = household();
    let mut a = valid_answers();
    member(&mut a, 0).insert("pregnant".into(), json!("1"));
    let evaluation = form.evaluate(&a, visit_date());
    assert_eq!(evaluation.findings, form.validate(&a, visit_date()));
    let exported = evaluation.exported;
    // Calculated values sit beside the answers: top-level ones as keys, members' inside each member.
    assert_eq!(exported["n_members"], json!(2));
    let calculated = form.calculated(&a, visit_date());
    assert_eq!(
        exported["members"][0]["age"],
        calculated["members"][0]["age"]
    );
    assert!(exported["members"][0]["age"].is_number());
    // Every relevant answer is there unchanged, and the hidden one is still out.
    for (key, value) in form.relevant_answers(&a, visit_date()) {
        if key != "members" {
            assert_eq!(exported[&key], value, "{key}");
        }
    }
    assert!(exported["members"][0].get("pregnant").is_none());
    // A visit that ends early has no roster, so no members' calculated values either.
    a.insert("outcome".into(), json!("0"));
    let exported = form.evaluate(&a, visit_date()).exported;
    assert!(exported.get("members").is_none(), "{exported:?}");
    assert!(exported.get("n_members").is_none(), "{exported:?}");
}

#[test]
fn answer_shapes_per_type() {
    let found = validate_with(|a| {
        a.insert("kk_count".into(), json!(2.5));
        a.insert("floor_area".into(), json!("36"));
        a.insert("assets".into(), json!(["fridge", "fridge"]));
        a.insert("gps".into(), json!({"lat": 100, "lon": 0, "accuracy_m": 1}));
        a.insert(
            "front_photo".into(),
            json!({"file": "x.jpg", "sha256": "abc"}),
        );
        a.insert("outcome".into(), json!("1"));
        member(a, 1).insert("birth".into(), json!("1985-02-30"));
        member(a, 1).insert("sex".into(), json!("9"));
    });
    for path in [
        "kk_count",
        "floor_area",
        "assets",
        "gps",
        "front_photo",
        "members[1].birth",
        "members[1].sex",
    ] {
        assert!(has(&found, path, "type"), "{path}: {found:?}");
    }
}

#[test]
fn constraints_with_their_rule_names() {
    let found = validate_with(|a| {
        a.insert("kk_count".into(), json!(40));
        a.insert("assets".into(), json!(["none", "tv"]));
        a.insert("floor_area".into(), json!(0));
        a.insert("meter_id".into(), json!("12345"));
        member(a, 0).insert("birth".into(), json!("2027-01-01"));
    });
    for (path, rule) in [
        ("kk_count", "kk_count_range"),
        ("kk_count", "roster_size"),
        ("assets", "none_alone"),
        ("floor_area", "floor_area_positive"),
        ("meter_id", "meter_id"),
        ("members[0].birth", "birth_not_future"),
    ] {
        assert!(has(&found, path, rule), "{path} {rule}: {found:?}");
    }
    let f = household().validate(
        &{
            let mut a = valid_answers();
            a.insert("kk_count".into(), json!(3));
            a
        },
        visit_date(),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].level, Level::Warning);
    assert_eq!(f[0].message.en, "KK members: beda dengan daftar");
}

#[test]
fn roster_rules_on_the_repeat() {
    let two_heads = validate_with(|a| {
        member(a, 1).insert("rel".into(), json!("1"));
    });
    assert!(has(&two_heads, "members", "one_head"), "{two_heads:?}");
    let none = validate_with(|a| {
        a.insert("members".into(), json!([]));
        a.insert("kk_count".into(), json!(1));
    });
    assert!(has(&none, "members", "min_count"), "{none:?}");
    let many = validate_with(|a| {
        let m = a["members"][1].clone();
        let list = a.get_mut("members").unwrap().as_array_mut().unwrap();
        for _ in 0..5 {
            let mut child = m.clone();
            child["rel"] = json!("3");
            child["birth"] = json!("2010-01-01");
            child["nik"] = json!("1771014101100002");
            list.push(child);
        }
        a.insert("kk_count".into(), json!(7));
    });
    assert!(has(&many, "members", "max_count"), "{many:?}");
    assert_eq!(many.len(), 1, "{many:?}");
    // A child older than everyone: the warning reads the other members through max().
    let old_child = validate_with(|a| {
        member(a, 1).insert("rel".into(), json!("3"));
        member(a, 1).insert("birth".into(), json!("1950-01-01"));
        member(a, 1).insert("nik".into(), json!("1771014101500002"));
    });
    assert_eq!(
        old_child,
        [("members[1].rel".into(), "child_younger".into())]
    );
}

#[test]
fn nik_checks_are_built_in_and_mismatches_are_form_warnings() {
    let found = household().validate(
        &{
            let mut a = valid_answers();
            member(&mut a, 0).insert("nik".into(), json!("1771013205800001"));
            member(&mut a, 1).insert("nik".into(), json!("9999994101850002"));
            a.insert("head_nik".into(), json!("17710117058000"));
            a.insert("kk_no".into(), json!("999999010120000"));
            a
        },
        visit_date(),
    );
    let r = rules(&found);
    assert!(has(&r, "head_nik", "nik_format"), "{r:?}");
    assert!(has(&r, "kk_no", "kk_format"), "{r:?}");
    assert!(has(&r, "members[0].nik", "nik_date"), "{r:?}");
    // A bad NIK does not also raise the sex/birth warnings.
    assert!(!has(&r, "members[0].nik", "nik_sex"), "{r:?}");
    let prefix = found.iter().find(|f| f.path == "members[1].nik").unwrap();
    assert_eq!(
        (prefix.rule.as_str(), prefix.level),
        ("nik_prefix", Level::Warning)
    );
    // Sex and birth date disagreeing with the NIK: warnings from the form's constraints.
    let mismatch = household().validate(
        &{
            let mut a = valid_answers();
            member(&mut a, 1).insert("sex".into(), json!("1"));
            member(&mut a, 1).insert("birth".into(), json!("1985-01-02"));
            a
        },
        visit_date(),
    );
    let r = rules(&mismatch);
    assert_eq!(
        r,
        [
            ("members[1].nik".into(), "nik_sex".into()),
            ("members[1].nik".into(), "nik_birth".into())
        ]
    );
    assert!(mismatch.iter().all(|f| f.level == Level::Warning));
}

#[test]
fn region_codes_level_and_within() {
    let check = |code: &str| {
        validate_with(|a| {
            a.insert("village".into(), json!(code));
        })
    };
    assert!(has(&check("17.71.01"), "village", "region"));
    assert!(has(&check("17.71.01.9999"), "village", "region"));
    assert!(has(&check("garbage"), "village", "region"));
    assert!(has(&check("11.01.01.2001"), "village", "region_within"));
    assert!(
        check("17.71.01.1002").is_empty() || !has(&check("17.71.01.1002"), "village", "region")
    );
}

#[test]
fn choice_filters_apply_to_answers() {
    let found = validate_with(|a| {
        a.insert("ppks_type".into(), json!("8"));
    });
    assert_eq!(found, [("ppks_type".into(), "choice_filter".into())]);
}

#[test]
fn gps_outside_indonesia_is_a_warning() {
    let found = household().validate(
        &{
            let mut a = valid_answers();
            a.insert(
                "gps".into(),
                json!({"lat": 48.85, "lon": 2.35, "accuracy_m": 4}),
            );
            a
        },
        visit_date(),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].rule.as_str(), found[0].level),
        ("geopoint_outside_indonesia", Level::Warning)
    );
}

#[test]
fn unknown_answers_are_errors_naming_the_key() {
    let found = validate_with(|a| {
        a.insert("colour".into(), json!("red"));
        a.insert("n_members".into(), json!(3));
        member(a, 0).insert("shoe_size".into(), json!(42));
        a.insert("age".into(), json!(4));
    });
    for path in ["colour", "n_members", "members[0].shoe_size", "age"] {
        assert!(has(&found, path, "unknown_field"), "{path}: {found:?}");
    }
    let bad = validate_with(|a| {
        a.insert("members".into(), json!("three"));
    });
    assert!(has(&bad, "members", "type"), "{bad:?}");
    assert!(
        household()
            .session(answers(json!({"members": [1]})), visit_date())
            .is_err()
    );
    // A session can clean them up.
    let mut a = valid_answers();
    a.insert("colour".into(), json!("red"));
    member(&mut a, 1).insert("shoe_size".into(), json!(42));
    let mut s = household().session(a, visit_date()).unwrap();
    assert_eq!(s.findings().len(), 2);
    s.clear("colour").unwrap();
    s.clear("members[1].shoe_size").unwrap();
    assert!(s.findings().is_empty());
    assert!(s.clear("colour").is_err());
    assert!(s.clear("members[7].shoe_size").is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions against a form

fn calc_form(expr: &str) -> CompiledForm {
    let f = json!({"id": "e", "version": 1, "title": t("e"),
        "choices": {"c": [{"value": "1", "label": t("1")}, {"value": "2", "label": t("2")}, {"value": "x", "label": t("x")}]},
        "sections": [{"id": "s", "title": t("s"), "fields": [
        {"id": "n", "type": "integer", "label": t("n")},
        {"id": "m", "type": "integer", "label": t("m")},
        {"id": "d", "type": "date", "label": t("d")},
        {"id": "s1", "type": "select_one", "label": t("s1"), "choices": "c"},
        {"id": "sm", "type": "select_multiple", "label": t("sm"), "choices": "c"},
        {"id": "txt", "type": "text", "label": t("txt")},
        {"id": "hidden", "type": "integer", "label": t("h"), "relevant": "false()"},
        {"id": "out", "type": "calculate", "label": t("out"), "calculate": expr}
    ]}]});
    load(&f.to_string()).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn calc(expr: &str, a: Json) -> Value {
    let form = calc_form(expr);
    let s = form.session(answers(a), visit_date()).unwrap();
    s.value("out").unwrap()
}

#[test]
fn expression_semantics() {
    let a =
        json!({"n": 7, "d": "2000-11-24", "s1": "2", "sm": ["1", "x"], "txt": "abc", "hidden": 5});
    let num = |e: &str| calc(e, a.clone());
    assert_eq!(num("${n} + 1"), Value::Num(8.0));
    assert_eq!(num("${n} div 2"), Value::Num(3.5));
    assert_eq!(num("${n} / 2 * 2"), Value::Num(7.0));
    assert_eq!(num("${n} mod 4"), Value::Num(3.0));
    assert_eq!(num("-${n} + 10"), Value::Num(3.0));
    assert_eq!(
        num("${m} + 1"),
        Value::Empty,
        "arithmetic on an empty answer"
    );
    assert_eq!(num("${n} div 0"), Value::Empty);
    assert_eq!(num("${m} > 1"), Value::Bool(false));
    assert_eq!(
        num("${m} != 1"),
        Value::Bool(false),
        "comparisons with empty are false"
    );
    assert_eq!(num("${m} = ''"), Value::Bool(true));
    assert_eq!(num("${m} != ''"), Value::Bool(false));
    assert_eq!(num("${n} != ''"), Value::Bool(true));
    assert_eq!(
        num("${hidden} = ''"),
        Value::Bool(true),
        "non-relevant reads as empty"
    );
    assert_eq!(num("${s1} = 2"), Value::Bool(true));
    assert_eq!(num("${s1} = '2' and ${s1} < 3"), Value::Bool(true));
    assert_eq!(
        num("selected(${sm}, 'x') and not(selected(${sm}, '2'))"),
        Value::Bool(true)
    );
    assert_eq!(num("count-selected(${sm})"), Value::Num(2.0));
    assert_eq!(num("age(${d})"), Value::Num(25.0), "birthday tomorrow");
    assert_eq!(num("today()"), Value::Date(visit_date()));
    assert_eq!(num("today() - ${d}"), Value::Num(9495.0));
    assert_eq!(
        num("${d} + 1"),
        Value::Date(NaiveDate::from_ymd_opt(2000, 11, 25).unwrap())
    );
    assert_eq!(num("${d} < '2001-01-01'"), Value::Bool(true));
    assert_eq!(num("string-length(${txt})"), Value::Num(3.0));
    assert_eq!(num("string-length(${m})"), Value::Num(0.0));
    assert_eq!(num("regex(${txt}, '^a')"), Value::Bool(true));
    assert_eq!(num("coalesce(${m}, ${n})"), Value::Num(7.0));
    assert_eq!(
        num("int(7.9) + round(2.5) + round(1.234, 2)"),
        Value::Num(7.0 + 3.0 + 1.23)
    );
    assert_eq!(num("concat(${txt}, '-', ${n}, ${m})"), Value::text("abc-7"));
    assert_eq!(
        num("date('2020-02-29')"),
        Value::Date(NaiveDate::from_ymd_opt(2020, 2, 29).unwrap())
    );
    assert_eq!(num("if(${n} > 5, 'big', 'small')"), Value::text("big"));
    assert_eq!(num("if(${m} > 5, 'big', 'small')"), Value::text("small"));
    assert_eq!(num("true() and not(false())"), Value::Bool(true));
    assert_eq!(num("max(${n}, 3, ${m})"), Value::Num(7.0));
    assert_eq!(num("min(${n}, 3)"), Value::Num(3.0));
    assert_eq!(num("nik-sex('1771014101900001')"), Value::text("2"));
    assert_eq!(
        num("nik-birth-date('1771014101900001')"),
        Value::Date(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap())
    );
    assert_eq!(num("nik-sex('123')"), Value::Empty);
    assert_eq!(num("${n} > 1 or ${m} > 1"), Value::Bool(true));
}

#[test]
fn aggregates_over_members_and_relevance() {
    let form = household();
    let s = form.session(valid_answers(), visit_date()).unwrap();
    assert_eq!(s.value("n_members").unwrap(), Value::Num(2.0));
    assert_eq!(s.value("adults").unwrap(), Value::Num(2.0));
    assert_eq!(s.value("income_total").unwrap(), Value::Num(0.0));
    assert_eq!(s.value("members[0].age").unwrap(), Value::Num(46.0));
    assert!(s.is_relevant("members[1].pregnant").unwrap());
    assert!(!s.is_relevant("members[0].pregnant").unwrap());
    let mut a = valid_answers();
    a.insert(
        "incomes".into(),
        json!([{"income": 100}, {}, {"income": 250}]),
    );
    a.insert("outcome".into(), json!("0"));
    let s = form.session(a, visit_date()).unwrap();
    // The roster section is hidden: its members count as none.
    assert_eq!(s.value("n_members").unwrap(), Value::Empty);
    let mut a = valid_answers();
    a.insert(
        "incomes".into(),
        json!([{"income": 100}, {}, {"income": 250}]),
    );
    let s = form.session(a, visit_date()).unwrap();
    assert_eq!(s.value("income_total").unwrap(), Value::Num(350.0));
}

// ---------------------------------------------------------------------------------------------------------------
// Session

#[test]
fn session_set_clear_and_members() {
    let form = household();
    let mut s = form.session(Answers::new(), visit_date()).unwrap();
    assert!(!s.is_relevant("head_name").unwrap());
    let changed = s.set("outcome", json!("1")).unwrap();
    assert!(
        changed.relevance.contains(&"head_name".to_owned()),
        "{changed:?}"
    );
    assert!(changed.values.contains(&"outcome".to_owned()));
    assert!(s.is_relevant("head_name").unwrap());
    assert!(
        s.findings_for("head_name")
            .iter()
            .any(|f| f.rule == "required")
    );
    s.set("head_name", json!("Budi")).unwrap();
    assert!(s.findings_for("head_name").is_empty());
    let i = s.add_member("members").unwrap();
    assert_eq!(i, 0);
    s.set("members[0].sex", json!("2")).unwrap();
    s.set("members[0].birth", json!("1990-01-01")).unwrap();
    assert!(s.is_relevant("members[0].pregnant").unwrap());
    assert_eq!(s.value("members[0].age").unwrap(), Value::Num(36.0));
    let j = s.add_member("members").unwrap();
    assert_eq!(j, 1);
    s.set("members[1].rel", json!("1")).unwrap();
    s.remove_member("members", 0).unwrap();
    assert_eq!(s.answers()["members"].as_array().unwrap().len(), 1);
    assert_eq!(s.value("members[0].rel").unwrap(), Value::text("1"));
    assert!(
        s.findings_for("members[0]")
            .iter()
            .all(|f| f.path.starts_with("members[0]."))
    );
    assert_eq!(s.findings(), form.validate(s.answers(), visit_date()));
    // Clearing returns to unanswered.
    s.clear("head_name").unwrap();
    assert!(s.answers().get("head_name").is_none());
    assert_eq!(s.findings(), form.validate(s.answers(), visit_date()));
}

#[test]
fn session_rejects_what_can_never_fit() {
    let form = household();
    let mut s = form.session(valid_answers(), visit_date()).unwrap();
    let before = s.answers().clone();
    let e = s.set("kk_count", json!("two")).unwrap_err();
    assert_eq!(
        e.message,
        Text::new(
            "Jumlah anggota KK: harus bilangan bulat",
            "KK members: must be a whole number"
        )
    );
    assert!(
        s.set("outcome", json!("7"))
            .unwrap_err()
            .message
            .en
            .contains("there is no choice 7")
    );
    assert!(s.set("nope", json!(1)).is_err());
    assert!(
        s.set("members[5].name", json!("x"))
            .unwrap_err()
            .message
            .en
            .contains("no member number 6")
    );
    assert!(
        s.set("members[0].age", json!(3)).is_err(),
        "calculations take no answer"
    );
    assert!(s.set("n_members", json!(3)).is_err());
    assert!(s.set("members", json!([])).is_err());
    assert!(s.remove_member("members", 9).is_err());
    assert!(s.add_member("outcome").is_err());
    assert_eq!(s.answers(), &before);
    // A wrong-but-well-formed answer is taken and shows as a finding.
    s.set("head_nik", json!("123")).unwrap();
    assert!(
        s.findings_for("head_nik")
            .iter()
            .any(|f| f.rule == "nik_format")
    );
}

#[test]
fn parse_input_speaks_both_languages() {
    let form = household();
    let s = form.session(valid_answers(), visit_date()).unwrap();
    assert_eq!(s.parse_input("kk_count", " 12 ").unwrap(), json!(12));
    let e = s.parse_input("kk_count", "12a").unwrap_err();
    assert_eq!(
        e.message,
        Text::new(
            "Jumlah anggota KK harus bilangan bulat",
            "KK members must be a whole number"
        )
    );
    assert_eq!(s.parse_input("floor_area", "36,5").unwrap(), json!(36.5));
    assert_eq!(
        s.parse_input("members[0].birth", "17/05/1980").unwrap(),
        json!("1980-05-17")
    );
    assert!(s.parse_input("members[0].birth", "31/02/1980").is_err());
    assert_eq!(
        s.parse_input("assets", "fridge, tv").unwrap(),
        json!(["fridge", "tv"])
    );
    assert!(
        s.parse_input("assets", "car")
            .unwrap_err()
            .message
            .id
            .contains("tidak punya pilihan car")
    );
    assert_eq!(
        s.parse_input("head_nik", "1771 0117 0580 0001").unwrap(),
        json!("1771011705800001")
    );
    assert_eq!(
        s.parse_input("gps", "-3.8 102.2 5").unwrap(),
        json!({"lat": -3.8, "lon": 102.2, "accuracy_m": 5.0})
    );
    assert_eq!(s.parse_input("head_name", "  ").unwrap(), Json::Null);
    assert!(s.parse_input("front_photo", "x").is_err());
}

#[test]
fn choices_and_region_cascade() {
    let form = household();
    let mut s = form.session(valid_answers(), visit_date()).unwrap();
    let codes = |c: Vec<Choice>| c.into_iter().map(|c| c.value).collect::<Vec<_>>();
    assert_eq!(codes(s.choices("ppks_type").unwrap()), ["1", "2"]);
    s.set("cluster", json!("lansia")).unwrap();
    assert_eq!(codes(s.choices("ppks_type").unwrap()), ["8"]);
    assert!(
        s.findings_for("ppks_type")
            .iter()
            .any(|f| f.rule == "choice_filter")
    );
    // The cascade is limited to the assigned regency 17.71.
    let provinces = s.region_choices("village", None).unwrap();
    assert_eq!(provinces.iter().map(|r| r.code).collect::<Vec<_>>(), ["17"]);
    let regencies = s.region_choices("village", Some("17")).unwrap();
    assert_eq!(
        regencies.iter().map(|r| r.code).collect::<Vec<_>>(),
        ["17.71"]
    );
    let districts = s.region_choices("village", Some("17.71")).unwrap();
    assert!(districts.len() > 3 && districts.iter().all(|d| d.code.starts_with("17.71.")));
    assert!(
        !s.region_choices("village", Some("17.71.01"))
            .unwrap()
            .is_empty()
    );
    assert!(
        s.region_choices("village", Some("17.71.01.1001"))
            .unwrap()
            .is_empty()
    );
    assert!(s.region_choices("head_name", None).is_err());
}

#[test]
fn one_answer_re_evaluates_only_its_dependents() {
    let form = household();
    let mut a = valid_answers();
    // A 10-member roster.
    let m = a["members"][1].clone();
    let list = a.get_mut("members").unwrap().as_array_mut().unwrap();
    for k in 0..8 {
        let mut child = m.clone();
        child["rel"] = json!("3");
        child["name"] = json!(format!("Anak {k}"));
        list.push(child);
    }
    let mut s = form.session(a, visit_date()).unwrap();
    let full = s.evaluations();
    // An answer nothing reads: its own constraint only.
    let before = s.evaluations();
    s.set("meter_id", json!("999999999999")).unwrap();
    let meter = s.evaluations() - before;
    assert_eq!(meter, 1, "meter_id's own constraint");
    // A member's name: nothing but its own (required, no constraints) check.
    let before = s.evaluations();
    s.set("members[4].name", json!("Dewi")).unwrap();
    assert_eq!(s.evaluations() - before, 0);
    // A member's birth date: its own constraint, age, pregnant relevance, rel warning of every member (max over
    // ages), nik warnings of that member, adults.
    let before = s.evaluations();
    s.set("members[4].birth", json!("1985-01-03")).unwrap();
    let birth = s.evaluations() - before;
    assert!(
        birth < full / 3,
        "one birth date: {birth} evaluations, full: {full}"
    );
    assert!(birth > 3);
    // The outcome drives almost everything: hiding needs no evaluation below the hidden sections, showing them
    // again re-evaluates nearly the whole form.
    s.set("outcome", json!("0")).unwrap();
    assert_eq!(s.findings(), form.validate(s.answers(), visit_date()));
    let before = s.evaluations();
    s.set("outcome", json!("1")).unwrap();
    let outcome = s.evaluations() - before;
    assert!(outcome > 5 * birth, "outcome {outcome} vs birth {birth}");
    assert!(outcome + 10 >= full, "outcome {outcome} vs full {full}");
    println!("evaluations: full {full}, meter_id {meter}, birth {birth}, outcome {outcome}");
    assert_eq!(s.findings(), form.validate(s.answers(), visit_date()));
}

/// Random edits: after each, the session's incremental state must equal a fresh validation.
#[test]
fn session_findings_always_equal_validate() {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let form = household();
    let pool: Vec<(&str, Vec<Json>)> = vec![
        (
            "outcome",
            vec![json!("0"), json!("1"), json!("3"), Json::Null],
        ),
        ("head_name", vec![json!("Budi"), Json::Null]),
        (
            "head_nik",
            vec![
                json!("1771011705800001"),
                json!("123"),
                json!("9999994101850002"),
            ],
        ),
        (
            "assigned_regency",
            vec![json!("17.71"), json!("11.01"), Json::Null],
        ),
        (
            "village",
            vec![
                json!("17.71.01.1001"),
                json!("11.01.01.2001"),
                json!("17.71"),
            ],
        ),
        ("kk_count", vec![json!(1), json!(2), json!(3), json!(40)]),
        (
            "assets",
            vec![json!(["none", "tv"]), json!(["tv"]), Json::Null],
        ),
        ("cluster", vec![json!("anak"), json!("lansia"), Json::Null]),
        ("ppks_type", vec![json!("1"), json!("8")]),
        ("name", vec![json!("Siti"), Json::Null]),
        (
            "nik",
            vec![
                json!("1771014101850002"),
                json!("1771011705800001"),
                json!("17"),
            ],
        ),
        ("sex", vec![json!("1"), json!("2")]),
        (
            "birth",
            vec![
                json!("1985-01-01"),
                json!("2015-06-01"),
                json!("1950-03-03"),
                json!("2030-01-01"),
            ],
        ),
        ("rel", vec![json!("1"), json!("2"), json!("3")]),
        ("pregnant", vec![json!("1"), json!("2")]),
        ("income", vec![json!(5), json!(-1)]),
    ];
    let member_fields = ["name", "nik", "sex", "birth", "rel", "pregnant"];
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut s = form.session(Answers::new(), visit_date()).unwrap();
        for step in 0..120 {
            let roll = rng.random_range(0..20);
            let count = s
                .answers()
                .get("members")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            let incomes = s
                .answers()
                .get("incomes")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            if roll == 0 {
                s.add_member("members").unwrap();
            } else if roll == 1 && count > 0 {
                s.remove_member("members", rng.random_range(0..count))
                    .unwrap();
            } else if roll == 2 {
                s.add_member("incomes").unwrap();
            } else {
                let (field, values) = &pool[rng.random_range(0..pool.len())];
                let value = values[rng.random_range(0..values.len())].clone();
                let path = if member_fields.contains(field) {
                    if count == 0 {
                        continue;
                    }
                    format!("members[{}].{field}", rng.random_range(0..count))
                } else if *field == "income" {
                    if incomes == 0 {
                        continue;
                    }
                    format!("incomes[{}].income", rng.random_range(0..incomes))
                } else {
                    (*field).to_owned()
                };
                s.set(&path, value).unwrap();
            }
            let fresh = form.session(s.answers().clone(), visit_date()).unwrap();
            assert_eq!(
                s.findings(),
                form.validate(s.answers(), visit_date()),
                "seed {seed} step {step}"
            );
            for p in ["n_members", "adults", "income_total"] {
                assert_eq!(
                    s.value(p).unwrap(),
                    fresh.value(p).unwrap(),
                    "seed {seed} step {step} {p}"
                );
            }
            for i in 0..s
                .answers()
                .get("members")
                .and_then(Json::as_array)
                .map_or(0, Vec::len)
            {
                for f in ["pregnant", "age"] {
                    let p = format!("members[{i}].{f}");
                    assert_eq!(
                        s.is_relevant(&p).unwrap(),
                        fresh.is_relevant(&p).unwrap(),
                        "seed {seed} step {step} {p}"
                    );
                    assert_eq!(
                        s.value(&p).unwrap(),
                        fresh.value(&p).unwrap(),
                        "seed {seed} step {step} {p}"
                    );
                }
            }
        }
    }
}

/// Prints how long an answer takes on a 10-member roster (run with `--ignored --nocapture`, in release).
#[test]
#[ignore]
fn measure_answer_latency() {
    let form = household();
    let mut a = valid_answers();
    let m = a["members"][1].clone();
    let list = a.get_mut("members").unwrap().as_array_mut().unwrap();
    for _ in 0..8 {
        list.push(m.clone());
    }
    let mut s = form.session(a.clone(), visit_date()).unwrap();
    let n = 10_000u32;
    let start = std::time::Instant::now();
    for k in 0..n {
        let d = if k % 2 == 0 {
            "1985-01-01"
        } else {
            "1986-02-02"
        };
        s.set("members[4].birth", json!(d)).unwrap();
        let _ = s.findings();
    }
    let per_answer = start.elapsed() / n;
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        let _ = form.validate(&a, visit_date());
    }
    let per_validate = start.elapsed() / 1000;
    println!("answer + findings: {per_answer:?}; full validate: {per_validate:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Property tests: nothing a phone or a server can be sent panics the engine.

mod properties {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::super::expr::ast::{Agg, BinOp, Func, Node};
    use super::super::session::State;
    use super::*;

    fn any_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|n| json!(n)),
            "\\PC{0,12}".prop_map(Json::String),
            prop_oneof![
                Just("1"),
                Just("2"),
                Just("17.71.01.1001"),
                Just("1771014101900001"),
                Just("1990-01-01")
            ]
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("lat".to_owned()),
                        Just("name".to_owned()),
                        Just("rel".to_owned()),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    fn any_answers() -> impl Strategy<Value = Answers> {
        let keys = prop_oneof![
            Just("outcome"),
            Just("head_nik"),
            Just("kk_count"),
            Just("village"),
            Just("assigned_regency"),
            Just("assets"),
            Just("gps"),
            Just("front_photo"),
            Just("members"),
            Just("incomes"),
            Just("n_members"),
            Just("cluster"),
            Just("ppks_type"),
            Just("unknown"),
        ];
        proptest::collection::vec((keys, any_json()), 0..10)
            .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Empty),
            (-1e9f64..1e9).prop_map(Value::Num),
            "\\PC{0,8}".prop_map(|s| Value::text(&s)),
            any::<bool>().prop_map(Value::Bool),
            (-100_000i64..100_000)
                .prop_map(|d| Value::Date(visit_date() + chrono::Duration::days(d))),
            proptest::collection::vec("[a-z0-9]{1,3}", 1..3)
                .prop_map(|v| Value::Multi(v.iter().map(|s| Arc::from(s.as_str())).collect())),
        ]
    }

    fn any_node() -> impl Strategy<Value = Node> {
        let fields = 0usize..40; // beyond the form's fields too
        let leaf = prop_oneof![
            any_value().prop_map(Node::Const),
            fields.clone().prop_map(Node::Field),
            fields.clone().prop_map(Node::MemberCount),
            Just(Node::Current),
            "[a-z]{1,5}".prop_map(|a| Node::Attr(Arc::from(a.as_str()))),
        ];
        let ops = [
            BinOp::Or,
            BinOp::And,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Mod,
        ];
        let funcs = [
            Func::If,
            Func::Not,
            Func::Selected,
            Func::CountSelected,
            Func::Today,
            Func::Age,
            Func::StringLength,
            Func::Coalesce,
            Func::Int,
            Func::Round,
            Func::Concat,
            Func::Date,
            Func::True,
            Func::False,
            Func::NikBirthDate,
            Func::NikSex,
            Func::Min,
            Func::Max,
        ];
        let aggs = [Agg::Count, Agg::Sum, Agg::Min, Agg::Max];
        leaf.prop_recursive(5, 48, 4, move |inner| {
            prop_oneof![
                inner.clone().prop_map(|n| Node::Neg(Box::new(n))),
                inner.clone().prop_map(|n| Node::IsEmpty(Box::new(n))),
                inner.clone().prop_map(|n| Node::NotEmpty(Box::new(n))),
                (
                    proptest::sample::select(ops.to_vec()),
                    inner.clone(),
                    inner.clone()
                )
                    .prop_map(|(op, l, r)| Node::Binary(
                        op,
                        Box::new(l),
                        Box::new(r)
                    )),
                (
                    proptest::sample::select(funcs.to_vec()),
                    proptest::collection::vec(inner.clone(), 0..4)
                )
                    .prop_map(|(f, args)| Node::Call(f, args)),
                (
                    proptest::sample::select(aggs.to_vec()),
                    proptest::option::of(0usize..40),
                    inner.clone()
                )
                    .prop_map(|(agg, over, arg)| Node::Aggregate {
                        agg,
                        over,
                        arg: Box::new(arg)
                    }),
                inner.prop_map(|n| Node::Regex(
                    Box::new(n),
                    Arc::new(regex::Regex::new("^[0-9]+$").unwrap())
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_trees_on_arbitrary_answers_never_panic(
            node in any_node(), answers in any_answers(), member in proptest::option::of(0usize..12), current in any_value()
        ) {
            let form = household();
            let state = State::new(&form, answers, visit_date());
            let _ = state.eval_any(&node, member, current);
        }

        #[test]
        fn arbitrary_answers_validate_without_panicking(answers in any_answers()) {
            let form = household();
            let found = form.validate(&answers, visit_date());
            let _ = form.relevant_answers(&answers, visit_date());
            // Whenever a session can be built, it agrees with validate.
            if let Ok(s) = form.session(answers.clone(), visit_date()) {
                prop_assert_eq!(s.findings(), found);
            }
        }

        #[test]
        fn arbitrary_paths_and_inputs_are_refused_cleanly(path in "[a-z_\\[\\]0-9.]{0,20}", input in "\\PC{0,12}") {
            let form = household();
            let mut s = form.session(valid_answers(), visit_date()).unwrap();
            let _ = s.parse_input(&path, &input);
            let _ = s.set(&path, json!(input));
            let _ = s.value(&path);
            let _ = s.is_relevant(&path);
            let _ = s.choices(&path);
            let _ = s.clear(&path);
            prop_assert_eq!(s.findings(), form.validate(s.answers(), visit_date()));
        }
    }
}

/// The real DTSEN form (from `schemas/forms/`) with a generated 10-member household: prints per-answer latency
/// and evaluation counts. Run: `cargo test -p tepat-form --release --lib tests::measure_dtsen -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn measure_dtsen_answer_latency() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/forms/dtsen_groundcheck.json"
    );
    let form = load(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut generator = tepat_synth::Generator::new(7);
    let date = generator.visit_date();
    let visit = (0..500)
        .filter_map(|_| {
            generator
                .household_with("17.71", tepat_synth::Outcome::Found)
                .ok()
        })
        .max_by_key(|v| {
            v.answers
                .get("members")
                .and_then(Json::as_array)
                .map_or(0, Vec::len)
        })
        .unwrap();
    let mut answers = visit.answers.clone();
    let members = answers
        .get_mut("members")
        .and_then(Json::as_array_mut)
        .unwrap();
    // Pad with copies of a present, non-head member (status 1, relationship not head).
    let present = members
        .iter()
        .find(|m| m["member_status"] == json!("1") && m["relationship"] != json!("1"))
        .cloned()
        .unwrap();
    while members.len() < 10 {
        members.push(present.clone());
    }
    members.truncate(10);
    members[4] = present;
    let mut s = form.session(answers.clone(), date).unwrap();
    let full = s.evaluations();
    let changed = s.set("members[4].birth_date", json!("1999-02-02")).unwrap();
    println!(
        "member 4: {:?}; one birth date change: {changed:?}",
        s.answers()["members"][4]
    );
    let n = 2000u32;
    let before = s.evaluations();
    let start = std::time::Instant::now();
    for k in 0..n {
        let d = if k % 2 == 0 {
            "1985-01-01"
        } else {
            "1999-02-02"
        };
        s.set("members[4].birth_date", json!(d)).unwrap();
        let _ = s.findings_for("members[4]");
    }
    let per_answer = start.elapsed() / n;
    let evals = (s.evaluations() - before) / u64::from(n);
    let start = std::time::Instant::now();
    for k in 0..n {
        let d = if k % 2 == 0 {
            "1985-01-01"
        } else {
            "1999-02-02"
        };
        s.set("members[4].birth_date", json!(d)).unwrap();
    }
    let set_only = start.elapsed() / n;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let _ = s.findings();
    }
    let findings_only = start.elapsed() / n;
    println!("set only {set_only:?}, findings() only {findings_only:?}");
    let start = std::time::Instant::now();
    for _ in 0..200 {
        let _ = form.validate(&answers, date);
    }
    let per_validate = start.elapsed() / 200;
    println!(
        "DTSEN, 10 members: answer (birth date) + findings {per_answer:?}, {evals} evaluations; \
         full validate {per_validate:?}, {full} evaluations"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Declared limits and hidden characters

fn limited_form() -> CompiledForm {
    let f = json!({"id": "l", "version": 1, "title": t("l"), "sections": [{"id": "s", "title": t("s"), "fields": [
        {"id": "rt", "type": "text", "label": t("RT"), "max_length": 3},
        {"id": "note", "type": "text", "label": t("Catatan")},
        {"id": "members", "type": "repeat", "label": t("Anggota"), "max_count": 2, "fields": [
            {"id": "name", "type": "text", "label": t("Nama"), "max_length": 5}
        ]}
    ]}]});
    load(&f.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn max_length_is_only_for_text_fields_and_within_the_server_cap() {
    let f = |field: Json| {
        json!({"id": "l", "version": 1, "title": t("l"),
            "sections": [{"id": "s", "title": t("s"), "fields": [field]}]})
        .to_string()
    };
    let err = load(&f(
        json!({"id": "n", "type": "integer", "label": t("n"), "max_length": 3}),
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`max_length` is only for text fields"),
        "{err}"
    );
    for bad in [0, 4001] {
        let err = load(&f(
            json!({"id": "n", "type": "text", "label": t("n"), "max_length": bad}),
        ))
        .unwrap_err();
        assert!(
            err.to_string().contains("must be from 1 to 4000"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn typing_past_max_length_is_refused_and_a_stored_long_text_is_an_error() {
    let form = limited_form();
    let mut s = form.session(Answers::new(), visit_date()).unwrap();
    assert!(s.set("rt", json!("001")).is_ok());
    let err = s.set("rt", json!("0012")).unwrap_err();
    assert!(err.message.en.contains("at most 3 characters"), "{err}");
    assert_eq!(
        s.answers()["rt"],
        json!("001"),
        "a refused answer changes nothing"
    );
    s.add_member("members").unwrap();
    assert!(s.set("members[0].name", json!("Budi S")).is_err());
    // Without max_length the server-wide cap applies.
    assert!(s.set("note", json!("x".repeat(4000))).is_ok());
    assert!(s.set("note", json!("x".repeat(4001))).is_err());

    let stored = answers(json!({"rt": "0012", "members": [{"name": "Budi S"}]}));
    let found = rules(&form.validate(&stored, visit_date()));
    assert!(has(&found, "rt", "max_length"), "{found:?}");
    assert!(has(&found, "members[0].name", "max_length"), "{found:?}");
}

#[test]
fn max_count_is_an_error_finding() {
    let found =
        rules(&limited_form().validate(&answers(json!({"members": [{}, {}, {}]})), visit_date()));
    assert!(has(&found, "members", "max_count"), "{found:?}");
}

#[test]
fn direction_marks_and_control_characters_are_refused_as_typed_and_flagged_when_stored() {
    let form = limited_form();
    let mut s = form.session(Answers::new(), visit_date()).unwrap();
    for bad in ["a\u{202E}b", "a\u{0}", "\u{200F}", "a\tb", "a\rb"] {
        assert!(s.set("note", json!(bad)).is_err(), "{bad:?}");
    }
    assert!(s.set("note", json!("baris satu\nbaris dua")).is_ok());
    let found = rules(&form.validate(&answers(json!({"note": "Siti\u{2066}"})), visit_date()));
    assert!(has(&found, "note", "type"), "{found:?}");
}
