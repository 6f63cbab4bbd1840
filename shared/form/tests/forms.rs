//! The real forms (`schemas/forms/*.json`: DTSEN ground check, PPKS asesmen, Satgas report) against the engine, the JSON Schemas and the synthetic households:
//! they load cleanly, match `schemas/form.schema.json`, every DOMAIN.md §4 rule they express fires exactly when
//! broken, 10,000 generated households raise no error, and the flows that end a visit early hide (and drop from
//! export) everything after them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde_json::{Value, json};
use tepat_form::{self as form, CompiledForm, Field, FieldType, Form, Level};
use tepat_protocol::{Answers, VisitDoc};
use tepat_synth::{Generator, Outcome, Rule, SatgasRule};

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_file(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dtsen() -> &'static CompiledForm {
    static FORM: OnceLock<CompiledForm> = OnceLock::new();
    FORM.get_or_init(|| {
        form::load(&read("schemas/forms/dtsen_groundcheck.json")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn ppks() -> &'static CompiledForm {
    static FORM: OnceLock<CompiledForm> = OnceLock::new();
    FORM.get_or_init(|| {
        form::load(&read("schemas/forms/ppks_asesmen.json")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn monitoring() -> &'static CompiledForm {
    static FORM: OnceLock<CompiledForm> = OnceLock::new();
    FORM.get_or_init(|| {
        form::load(&read("schemas/forms/monitoring_6t.json")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn satgas() -> &'static CompiledForm {
    static FORM: OnceLock<CompiledForm> = OnceLock::new();
    FORM.get_or_init(|| {
        form::load(&read("schemas/forms/satgas_laporan.json")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn form_of(doc: &VisitDoc) -> &'static CompiledForm {
    match doc.form_id.as_str() {
        "dtsen_groundcheck" => dtsen(),
        "ppks_asesmen" => ppks(),
        "monitoring_6t" => monitoring(),
        "satgas_laporan" => satgas(),
        other => panic!("unknown form {other}"),
    }
}

fn findings(doc: &VisitDoc) -> Vec<form::Finding> {
    form_of(doc).validate(&doc.answers, doc.visit_date)
}

fn errors(doc: &VisitDoc) -> Vec<form::Finding> {
    findings(doc)
        .into_iter()
        .filter(|f| f.level == Level::Error)
        .collect()
}

fn dtsen_error_count(answers: &Answers, date: NaiveDate) -> usize {
    dtsen()
        .validate(answers, date)
        .iter()
        .filter(|f| f.level == Level::Error)
        .count()
}

fn all_fields(fields: &[Field]) -> Vec<&Field> {
    let mut out = Vec::new();
    for f in fields {
        out.push(f);
        out.extend(all_fields(&f.fields));
    }
    out
}

fn fields_of(form: &Form) -> Vec<&Field> {
    form.sections
        .iter()
        .flat_map(|s| all_fields(&s.fields))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Loading and the form JSON Schema

#[test]
fn both_forms_load_with_no_problem() {
    for path in [
        "schemas/forms/dtsen_groundcheck.json",
        "schemas/forms/ppks_asesmen.json",
        "schemas/forms/monitoring_6t.json",
        "schemas/forms/satgas_laporan.json",
    ] {
        if let Err(e) = form::load(&read(path)) {
            panic!(
                "{path}:\n{}",
                e.0.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    assert_eq!(dtsen().form().id, "dtsen_groundcheck");
    assert_eq!(dtsen().form().version, 1);
    assert_eq!(ppks().form().id, "ppks_asesmen");
    assert_eq!(ppks().form().version, 3);
    assert_eq!(satgas().form().id, "satgas_laporan");
    assert_eq!(satgas().form().version, 1);
}

struct SchemaSet {
    schemas: boon::Schemas,
    form: boon::SchemaIndex,
    visit: boon::SchemaIndex,
}

const FORM_SCHEMA_URL: &str = "https://tepat.example/schemas/form.schema.json";
const VISIT_SCHEMA_URL: &str = "https://tepat.example/schemas/visit.schema.json";

fn compiler() -> boon::Compiler {
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    for (url, path) in [
        (FORM_SCHEMA_URL, "schemas/form.schema.json"),
        (VISIT_SCHEMA_URL, "schemas/visit.schema.json"),
    ] {
        compiler
            .add_resource(url, json_file(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    compiler
}

fn schema_set() -> &'static SchemaSet {
    static SET: OnceLock<SchemaSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut compiler = compiler();
        let mut schemas = boon::Schemas::new();
        let form = compiler
            .compile(FORM_SCHEMA_URL, &mut schemas)
            .unwrap_or_else(|e| panic!("form schema: {e:#}"));
        let visit = compiler
            .compile(VISIT_SCHEMA_URL, &mut schemas)
            .unwrap_or_else(|e| panic!("visit schema: {e:#}"));
        SchemaSet {
            schemas,
            form,
            visit,
        }
    })
}

fn check_form_schema(value: &Value) -> Result<(), String> {
    let set = schema_set();
    set.schemas
        .validate(value, set.form)
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn both_forms_match_the_form_schema() {
    for path in [
        "schemas/forms/dtsen_groundcheck.json",
        "schemas/forms/ppks_asesmen.json",
        "schemas/forms/monitoring_6t.json",
        "schemas/forms/satgas_laporan.json",
    ] {
        let value = json_file(path);
        if let Err(e) = check_form_schema(&value) {
            panic!("{path} does not match schemas/form.schema.json:\n{e}");
        }
    }
}

#[test]
fn the_form_schema_documents_what_the_code_writes() {
    // The Rust model serialised back (defaults omitted) must match the schema too: the two describe one format.
    for form in [
        dtsen().form(),
        ppks().form(),
        monitoring().form(),
        satgas().form(),
    ] {
        let value = serde_json::to_value(form).unwrap_or_default();
        check_form_schema(&value).unwrap_or_else(|e| panic!("{}: {e}", form.id));
    }
}

#[test]
fn the_form_schema_rejects_unknown_properties_and_wrong_types() {
    let base = json!({
        "id": "tiny", "version": 1, "title": {"id": "Kecil", "en": "Tiny"},
        "sections": [{"id": "s", "title": {"id": "Bagian", "en": "Section"}, "fields": [
            {"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}, "required": true}
        ]}]
    });
    check_form_schema(&base).unwrap_or_else(|e| panic!("the minimal form must pass: {e}"));
    assert!(
        serde_json::from_value::<Form>(base.clone()).is_ok(),
        "the code reads the minimal form"
    );

    let mut bad: Vec<(&str, Value)> = Vec::new();
    let mut v = base.clone();
    v["colour"] = json!("red");
    bad.push(("unknown top-level property", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["placeholder"] = json!({"id": "x", "en": "x"});
    bad.push(("unknown field property", v));
    let mut v = base.clone();
    v["title"]["fr"] = json!("Petit");
    bad.push(("unknown language", v));
    let mut v = base.clone();
    v["version"] = json!("1");
    bad.push(("version as a string", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["type"] = json!("textarea");
    bad.push(("unknown field type", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["required"] = json!(1);
    bad.push(("required as a number", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["constraints"] =
        json!([{"expr": ". != ''", "message": "no", "level": "error"}]);
    bad.push(("message not bilingual", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["constraints"] =
        json!([{"expr": ". != ''", "message": {"id": "x", "en": "x"}, "level": "fatal"}]);
    bad.push(("unknown level", v));
    let mut v = base.clone();
    v["sections"][0]["fields"][0]["label"] = json!("Nama");
    bad.push(("label as a plain string", v));
    let mut v = base;
    v.as_object_mut().map(|o| o.remove("sections"));
    bad.push(("missing sections", v));
    for (what, value) in bad {
        assert!(
            check_form_schema(&value).is_err(),
            "the schema must reject: {what}"
        );
        assert!(
            serde_json::from_value::<Form>(value).is_err(),
            "the code must reject: {what}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The visit JSON Schema

/// A schema for one form's visits: the generic document, with each answer held to its field type's shape.
fn answers_schema(fields: &[Field]) -> Value {
    let mut properties = serde_json::Map::new();
    for f in fields {
        let shape = match f.kind {
            FieldType::Note | FieldType::Calculate => json!(false),
            FieldType::Repeat => json!({
                "type": "array",
                "items": answers_schema(&f.fields),
            }),
            kind => {
                let name = serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                json!({ "$ref": format!("{VISIT_SCHEMA_URL}#/$defs/answer_{}", name.unwrap_or_default()) })
            }
        };
        properties.insert(f.id.clone(), shape);
    }
    json!({ "type": "object", "properties": properties, "additionalProperties": false })
}

fn typed_visit_schema(form: &Form) -> Value {
    let fields: Vec<Field> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.clone())
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [{ "$ref": VISIT_SCHEMA_URL }],
        "properties": { "answers": answers_schema(&fields), "form_id": { "const": form.id } },
    })
}

struct TypedSchemas {
    schemas: boon::Schemas,
    by_form: BTreeMap<String, boon::SchemaIndex>,
}

fn typed_schemas() -> &'static TypedSchemas {
    static SET: OnceLock<TypedSchemas> = OnceLock::new();
    SET.get_or_init(|| {
        let mut compiler = compiler();
        let mut schemas = boon::Schemas::new();
        let mut by_form = BTreeMap::new();
        for form in [
            dtsen().form(),
            ppks().form(),
            monitoring().form(),
            satgas().form(),
        ] {
            let url = format!(
                "https://tepat.example/schemas/visit-{}.schema.json",
                form.id
            );
            compiler
                .add_resource(&url, typed_visit_schema(form))
                .unwrap_or_else(|e| panic!("{e}"));
            let index = compiler
                .compile(&url, &mut schemas)
                .unwrap_or_else(|e| panic!("{url}: {e:#}"));
            by_form.insert(form.id.clone(), index);
        }
        TypedSchemas { schemas, by_form }
    })
}

fn check_visit_schema(doc: &VisitDoc) -> Result<(), String> {
    let value = serde_json::to_value(doc).map_err(|e| e.to_string())?;
    let set = schema_set();
    set.schemas
        .validate(&value, set.visit)
        .map_err(|e| format!("generic: {e:#}"))?;
    let typed = typed_schemas();
    let index = typed
        .by_form
        .get(&doc.form_id)
        .ok_or("no schema for the form")?;
    typed
        .schemas
        .validate(&value, *index)
        .map_err(|e| format!("typed: {e:#}"))
}

#[test]
fn generated_visits_match_the_visit_schema() {
    let mut g = Generator::new(11);
    let mut docs = Vec::new();
    for region in ["17.71", "11", "31.75", "51", "94"] {
        for _ in 0..40 {
            docs.push(g.household(region).unwrap_or_else(|e| panic!("{e}")));
        }
        docs.push(g.ppks_case(region).unwrap_or_else(|e| panic!("{e}")));
    }
    for outcome in Outcome::ALL {
        docs.push(
            g.household_with("17.71", outcome)
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    for _ in 0..60 {
        let case = g.ppks_case("17.71").unwrap_or_else(|e| panic!("{e}"));
        docs.push(g.ppks_followup(&case, 21));
        docs.push(case);
    }
    for _ in 0..40 {
        docs.push(
            g.monitoring_visit("17.71")
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    for doc in &docs {
        check_visit_schema(doc)
            .unwrap_or_else(|e| panic!("{} ({}): {e}", doc.visit_id, doc.form_id));
    }
}

#[test]
fn the_visit_schema_rejects_badly_shaped_answers() {
    let mut g = Generator::new(12);
    let (doc, _) = g.clean_standard();
    check_visit_schema(&doc).unwrap_or_else(|e| panic!("clean: {e}"));
    let cases: Vec<(&str, &str, Value)> = vec![
        ("nik with 15 digits", "head_nik", json!("177101010190000")),
        ("integer as a string", "floor_area", json!("36")),
        ("date in another format", "death_date", json!("16/03/2026")),
        (
            "geopoint without accuracy",
            "gps",
            json!({"lat": -3.8, "lon": 102.3}),
        ),
        (
            "photo with a short hash",
            "photo_front",
            json!({"file": "a.jpg", "sha256": "abc"}),
        ),
        (
            "select_multiple as a string",
            "members",
            json!([{"jkn": "1"}]),
        ),
        ("region without dots", "region", json!("1771011001")),
        ("unknown field", "favourite_colour", json!("blue")),
    ];
    for (what, key, value) in cases {
        let mut bad = doc.clone();
        bad.answers.insert(key.to_string(), value);
        assert!(
            check_visit_schema(&bad).is_err(),
            "the schema must reject: {what}"
        );
    }
    let mut bad = serde_json::to_value(&doc).unwrap_or_default();
    bad["device_times"]["device_seq"] = json!(-1);
    let set = schema_set();
    assert!(
        set.schemas.validate(&bad, set.visit).is_err(),
        "negative device_seq"
    );
    // And the document the schema accepts is what the code reads.
    let text = serde_json::to_string(&doc).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<VisitDoc>(&text).ok().as_ref(),
        Some(&doc)
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Every §4 rule: broken alone, it raises exactly its finding

#[test]
fn the_standard_household_has_no_finding() {
    let mut g = Generator::new(21);
    for _ in 0..20 {
        let (doc, _) = g.clean_standard();
        assert_eq!(
            findings(&doc),
            vec![],
            "the base of the broken households must be clean"
        );
    }
}

#[test]
fn every_rule_broken_raises_exactly_its_finding() {
    for seed in 0..6 {
        let mut g = Generator::new(100 + seed);
        for rule in Rule::ALL {
            let (doc, expected) = g.broken(rule);
            let found = findings(&doc);
            let got: Vec<(&str, Level, &str)> = found
                .iter()
                .map(|f| (f.rule.as_str(), f.level, f.path.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![(expected.rule, expected.level, expected.path.as_str())],
                "seed {seed}, {rule:?} (§4.{})",
                rule.domain_number()
            );
            let finding = &found[0];
            assert!(
                !finding.message.id.is_empty() && !finding.message.en.is_empty(),
                "{rule:?}: bilingual message"
            );
            assert_eq!(doc.form_id, rule.form_id());
        }
    }
}

#[test]
fn broken_households_are_otherwise_well_formed() {
    let mut g = Generator::new(22);
    for rule in Rule::ALL {
        let (doc, _) = g.broken(rule);
        if matches!(rule, Rule::NikFormat | Rule::KkFormat) {
            continue; // their answer is malformed on purpose
        }
        check_visit_schema(&doc).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
    }
}

/// The rule names the forms use for §4 (constraint rules and built-in checks), by rule number.
#[test]
fn every_breakable_rule_of_section_4_is_covered() {
    let covered: BTreeSet<u8> = Rule::ALL.iter().map(|r| r.domain_number()).collect();
    // §4.6 and §4.10 are flows (tested below), and so are §4.7–4.9 since their questions are hidden outside the
    // age band (`age_band_questions_are_hidden_outside_the_band`); the rest each have a breakable rule.
    let expected: BTreeSet<u8> = (1..=17).filter(|n| !(6..=10).contains(n)).collect();
    assert!(
        expected.is_subset(&covered),
        "uncovered: {:?}",
        expected.difference(&covered).collect::<Vec<_>>()
    );
}

fn field<'a>(form: &'a Form, id: &str) -> &'a Field {
    fields_of(form)
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no field {id}"))
}

#[test]
fn rule_levels_are_as_domain_section_4_says() {
    let form = dtsen().form();
    let levels: BTreeMap<String, Level> = fields_of(form)
        .iter()
        .flat_map(|f| f.constraints.iter())
        .filter_map(|c| c.rule.clone().map(|r| (r, c.level)))
        .collect();
    let warnings = [
        "gps_accuracy",
        "r02_spouse_married",
        "r04_nik_birth_date",
        "r04_nik_sex",
        "r05_roster_size",
        "r14_child_age_gap",
        "r14_parent_older",
        "r15_married_young",
        "r16_never_school",
        "r16_level_for_age",
        "r17_gps_kosong",
    ];
    for (rule, level) in &levels {
        if !rule.starts_with('r') || !rule.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let want = if warnings.contains(&rule.as_str()) {
            Level::Warning
        } else {
            Level::Error
        };
        assert_eq!(*level, want, "{rule}");
    }
    assert!(levels.len() >= 30, "{levels:?}");
    // Rule 17's photo half is `required` on the two photos (and only them) when the family is found; the front
    // photo (of the place) also when it was not found, refused or moved.
    assert_eq!(
        field(form, "photo_front").required,
        form::Requirement::When(
            "${visit_outcome} = '1' or ${visit_outcome} = '0' or ${visit_outcome} = '6' or \
             ${visit_outcome} = '7'"
                .into()
        )
    );
    assert_eq!(
        field(form, "photo_living").required,
        form::Requirement::Always(true)
    );
    assert_eq!(
        field(form, "photo_bathroom").required,
        form::Requirement::Always(false)
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Generated households

#[test]
fn ten_thousand_generated_households_raise_no_error() {
    let mut g = Generator::new(2026);
    let regions = [
        "17.71", "17", "35.77", "32", "11", "12", "51", "53", "71", "73", "81", "91", "95",
    ];
    let mut outcomes: BTreeMap<&str, u32> = BTreeMap::new();
    let mut warnings = 0;
    for i in 0..10_000 {
        let region = regions[i % regions.len()];
        let doc = g.household(region).unwrap_or_else(|e| panic!("{e}"));
        let found = findings(&doc);
        for f in &found {
            assert_ne!(f.level, Level::Error, "household {i} in {region}: {f:?}");
            assert!(
                doc.warning_notes.contains_key(&f.path),
                "household {i}: warning without a note: {f:?}"
            );
            warnings += 1;
        }
        let outcome = doc
            .answers
            .get("visit_outcome")
            .and_then(Value::as_str)
            .unwrap_or("?");
        *outcomes
            .entry(if outcome == "1" { "found" } else { "other" })
            .or_default() += 1;
    }
    let found = outcomes.get("found").copied().unwrap_or(0);
    assert!(
        (8_000..9_300).contains(&found),
        "mostly found: {outcomes:?}"
    );
    assert!(
        warnings > 0 && warnings < 2_000,
        "some explained warnings ({warnings})"
    );
}

#[test]
fn generated_ppks_cases_raise_no_finding() {
    let mut g = Generator::new(77);
    let mut primaries = BTreeSet::new();
    let (mut several_types, mut year_only, mut several_referrals) = (0, 0, 0);
    for _ in 0..600 {
        let doc = g.ppks_case("17.71").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(findings(&doc), vec![], "{:#?}", doc.answers);
        let a = &doc.answers;
        primaries.insert(a["ppks_primary"].as_str().unwrap_or("").to_string());
        several_types += usize::from(a["ppks_types"].as_array().is_some_and(|t| t.len() > 1));
        year_only += usize::from(a.contains_key("problem_since_year"));
        several_referrals += usize::from(
            a.get("referrals")
                .and_then(Value::as_array)
                .is_some_and(|r| r.len() > 1),
        );
    }
    assert_eq!(
        primaries.len(),
        26,
        "every PPKS type appears: {primaries:?}"
    );
    assert!(
        several_types > 30,
        "{several_types} cases with several types"
    );
    assert!(
        year_only > 60,
        "{year_only} problems dated by the year alone"
    );
    assert!(
        several_referrals > 60,
        "{several_referrals} cases with several referrals"
    );
}

#[test]
fn generated_follow_ups_carry_every_referral_and_raise_no_finding() {
    let mut g = Generator::new(78);
    let mut moved_on = 0;
    for _ in 0..200 {
        let case = g.ppks_case("17.71").unwrap_or_else(|e| panic!("{e}"));
        let first = g.ppks_followup(&case, 14);
        let second = g.ppks_followup(&first, 30);
        for (earlier, later) in [(&case, &first), (&first, &second)] {
            assert_eq!(findings(later), vec![], "{:#?}", later.answers);
            assert_eq!(later.answers["case_source"], json!("6"));
            assert_eq!(
                later.answers["case_id"],
                json!(case.visit_id.to_string()),
                "every follow-up names the case's first visit"
            );
            let carried = tepat_synth::carried_referrals(&earlier.answers);
            let members = later
                .answers
                .get("referral_followups")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            assert_eq!(members.len(), carried.len(), "every referral is carried");
            for (member, record) in members.iter().zip(&carried) {
                assert_eq!(member["prev_referral_to"], record["referral_to"]);
                assert_eq!(member["prev_referral_service"], record["referral_service"]);
                assert_eq!(member["prev_referral_status"], record["referral_status"]);
                moved_on += usize::from(member["referral_update"] != record["referral_status"]);
            }
        }
    }
    assert!(moved_on > 100, "{moved_on} statuses moved on");
}

#[test]
fn a_demo_day_is_mostly_found_with_one_refusal() {
    let mut g = Generator::new(5);
    let day = g.demo_day("17.71", 12).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(day.len(), 12);
    let outcome = |d: &VisitDoc| {
        d.answers
            .get("visit_outcome")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let refused = day.iter().filter(|d| outcome(d) == "6").count();
    let found = day.iter().filter(|d| outcome(d) == "1").count();
    assert_eq!(refused, 1);
    assert_eq!(found, 8);
    assert!(day.iter().any(|d| outcome(d) == "0") && day.iter().any(|d| outcome(d) == "7"));
    for d in &day {
        assert_eq!(errors(d), vec![]);
    }
}

#[test]
fn assignments_prefill_the_forms_prefill_keys_and_their_visits_are_valid() {
    let form = dtsen().form();
    let keys: BTreeSet<&str> = fields_of(form)
        .iter()
        .filter_map(|f| f.prefill.as_deref())
        .collect();
    let mut g = Generator::new(8);
    let assignments = g.assignments("17.71", 15).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(assignments.len(), 15);
    let ids: BTreeSet<&str> = assignments
        .iter()
        .map(|a| a.assignment_id.as_str())
        .collect();
    assert_eq!(ids.len(), 15, "unique assignment ids");
    for a in &assignments {
        for key in a.prefill.keys() {
            assert!(
                keys.contains(key.as_str()),
                "prefill {key} is read by no field"
            );
        }
        assert!(tepat_form::region::is_within(&a.region_code, "17.71"));
        let doc = g
            .visit_for(a, Outcome::Found)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.assignment_id.as_deref(), Some(a.assignment_id.as_str()));
        // Each prefilled field holds the prefilled value (as typed input) in the visit.
        for f in fields_of(form) {
            let (Some(key), Some(value)) = (
                f.prefill.as_deref(),
                f.prefill.as_deref().and_then(|k| a.prefill.get(k)),
            ) else {
                continue;
            };
            let answer = doc.answers.get(&f.id).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            assert_eq!(answer.as_deref(), Some(value.as_str()), "{key} → {}", f.id);
        }
        assert_eq!(errors(&doc), vec![]);
    }
    let foreign = tepat_protocol::Assignment {
        assignment_id: "X-1".into(),
        ..assignments[0].clone()
    };
    assert!(g.visit_for(&foreign, Outcome::Found).is_err());
}

#[test]
fn the_same_seed_gives_the_same_visits() {
    let make = |seed| {
        let mut g = Generator::new(seed);
        (0..20)
            .map(|_| g.household("17.71").unwrap_or_else(|e| panic!("{e}")))
            .collect::<Vec<_>>()
    };
    assert_eq!(make(3), make(3));
    assert_ne!(make(3), make(4));
}

// ---------------------------------------------------------------------------------------------------------------
// Flows (§4.6, §4.10): what ends or skips part of a visit

fn found_household(seed: u64) -> (VisitDoc, Answers) {
    let mut g = Generator::new(seed);
    let (doc, _) = g.clean_standard();
    let answers = doc.answers.clone();
    (doc, answers)
}

#[test]
fn an_outcome_other_than_found_ends_the_visit() {
    let (mut doc, _) = found_household(31);
    for (code, extra) in [
        ("0", json!({"revisit_planned": "1"})),
        ("3", json!({"death_date": "2025-12-01"})),
        ("4", json!({})),
        ("5", json!({})),
        ("6", json!({"revisit_planned": "2"})),
        (
            "8",
            json!({"revisit_planned": "1", "revisit_note": "Minggu pagi"}),
        ),
        (
            "7",
            json!({"moved_to_region": "17.71.02", "moved_to_address": "Jl. Flamboyan No. 3"}),
        ),
    ] {
        // Everything of the found household stays in the answers (as if typed before the outcome changed) ...
        let mut answers = doc.answers.clone();
        answers.insert("visit_outcome".into(), json!(code));
        answers.insert(
            "outcome_reason".into(),
            json!("Rumah kosong, keluarga tidak dikenal tetangga."),
        );
        answers.insert("informant".into(), json!("Ketua RT 003"));
        if let Value::Object(extra) = extra {
            answers.extend(extra);
        }
        // ... but none of it is validated: no required inside photo, no roster rule, nothing (the GPS point and
        // the photo of the place are the evidence every outcome keeps).
        let found = dtsen().validate(&answers, doc.visit_date);
        assert_eq!(found, vec![], "outcome {code}");
        // ... and none of it is exported.
        let exported = dtsen().relevant_answers(&answers, doc.visit_date);
        let keys: BTreeSet<&str> = exported.keys().map(String::as_str).collect();
        for hidden in [
            "head_name",
            "members",
            "photo_living",
            "floor_area",
            "fridge",
            "prog_pkh",
            "family_split",
        ] {
            assert!(!keys.contains(hidden), "outcome {code}: {hidden} exported");
        }
        assert!(
            keys.contains("visit_outcome")
                && keys.contains("outcome_reason")
                && keys.contains("gps")
                && keys.contains("gps_method")
                && keys.contains("photo_front"),
            "outcome {code}: {keys:?}"
        );
    }
    // The short section itself is required when the family was not found.
    doc.answers = [("visit_outcome".to_string(), json!("0"))]
        .into_iter()
        .collect();
    let found = dtsen().validate(&doc.answers, doc.visit_date);
    let required: BTreeSet<&str> = found
        .iter()
        .filter(|f| f.rule == "required")
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from([
            "outcome_reason",
            "informant",
            "revisit_planned",
            "gps_method",
            "photo_front"
        ])
    );
    assert!(
        found
            .iter()
            .any(|f| f.path == "gps" && f.rule == "r17_gps_kosong"),
        "{found:?}"
    );
}

#[test]
fn the_found_flow_requires_the_later_sections() {
    let (doc, _) = found_household(32);
    let mut answers = Answers::new();
    answers.insert("visit_outcome".into(), json!("1"));
    let found = dtsen().validate(&answers, doc.visit_date);
    let required: BTreeSet<&str> = found
        .iter()
        .filter(|f| f.rule == "required")
        .map(|f| f.path.as_str())
        .collect();
    for must in [
        "head_name",
        "head_nik",
        "kk_number",
        "region",
        "photo_front",
        "photo_living",
        "floor_area",
        "members",
    ] {
        assert!(
            required.contains(must),
            "{must} required when found: {required:?}"
        );
    }
    assert!(!required.contains("photo_bathroom"));
    assert!(!required.contains("outcome_reason"));
}

fn member_keys(answers: &Answers, index: usize) -> BTreeSet<String> {
    answers
        .get("members")
        .and_then(|m| m.get(index))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn a_departed_member_skips_the_rest_of_the_member() {
    // Regsosek codes 2/3/4/6 (and G26's 7): only name, NIK and status remain.
    for status in ["2", "3", "4", "6", "7"] {
        let (mut doc, _) = found_household(33);
        if let Some(m) = doc
            .answers
            .get_mut("members")
            .and_then(|m| m.get_mut(5))
            .and_then(Value::as_object_mut)
        {
            m.insert("member_status".into(), json!(status));
        }
        assert_eq!(errors(&doc), vec![], "status {status}");
        let exported = dtsen().relevant_answers(&doc.answers, doc.visit_date);
        let keys = member_keys(&exported, 5);
        let expected: BTreeSet<String> = ["member_name", "member_nik", "member_status"]
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(keys, expected, "status {status}");
        assert!(
            member_keys(&exported, 4).len() > 10,
            "the other members keep their answers"
        );
    }
}

#[test]
fn skip_logic_of_rule_10_hides_and_drops_answers() {
    let (doc, base) = found_household(34);
    let date = doc.visit_date;
    let exported_after = |change: &[(&str, Value)]| {
        let mut answers = base.clone();
        for (k, v) in change {
            answers.insert((*k).to_string(), v.clone());
        }
        assert_eq!(dtsen_error_count(&answers, date), 0);
        dtsen().relevant_answers(&answers, date)
    };
    // 7b only when owned.
    let e = exported_after(&[("tenure", json!("3")), ("tenure_proof", json!("1"))]);
    assert!(!e.contains_key("tenure_proof") && !e.contains_key("rent_value"));
    // The meter block only with metered PLN electricity.
    let e = exported_after(&[
        ("lighting", json!("2")),
        ("pln_customer_id", json!("123456789012")),
        ("meter_power", json!("1")),
    ]);
    assert!(!e.contains_key("pln_customer_id") && !e.contains_key("meter_power"));
    // 306b only for wells and springs.
    let e = exported_after(&[
        ("water_source", json!("2")),
        ("septic_distance", json!("1")),
    ]);
    assert!(!e.contains_key("septic_distance"));
    let e = exported_after(&[
        ("water_source", json!("5")),
        ("septic_distance", json!("1")),
    ]);
    assert!(e.contains_key("septic_distance"));
    // The closet type only for toilets of types 1–3.
    let e = exported_after(&[
        ("toilet", json!("6")),
        ("closet_type", json!("1")),
        ("sewage", json!("1")),
    ]);
    assert!(!e.contains_key("closet_type") && !e.contains_key("sewage"));

    // 413–415: the certificate only for those who went to school; work details only for those who worked.
    let mut answers = base.clone();
    if let Some(m) = answers
        .get_mut("members")
        .and_then(|m| m.get_mut(0))
        .and_then(Value::as_object_mut)
    {
        m.insert("schooling".into(), json!("0"));
        m.insert("education_level".into(), json!("3"));
        m.insert("income_work".into(), json!("2"));
        m.insert("income_business".into(), json!("2"));
        m.insert("occupation".into(), json!("Petani"));
        m.insert("work_sector".into(), json!("1"));
        m.insert("work_status".into(), json!("1"));
        m.insert("income_work_amount".into(), json!(1_000_000));
    }
    assert_eq!(dtsen_error_count(&answers, date), 0);
    let keys = member_keys(&dtsen().relevant_answers(&answers, date), 0);
    for hidden in [
        "education_level",
        "occupation",
        "work_sector",
        "work_status",
        "income_work_amount",
    ] {
        assert!(!keys.contains(hidden), "{hidden} exported");
    }
}

fn set_member_answer(answers: &mut Answers, index: usize, key: &str, value: Value) {
    if let Some(m) = answers
        .get_mut("members")
        .and_then(|m| m.get_mut(index))
        .and_then(Value::as_object_mut)
    {
        m.insert(key.to_string(), value);
    }
}

fn findings_at<'a>(found: &'a [form::Finding], path: &str) -> Vec<&'a form::Finding> {
    found.iter().filter(|f| f.path == path).collect()
}

// Members of the standard family: head 40, spouse 36 (married), children 15, 9 and 1, grandmother 68 (widowed).
const SPOUSE: usize = 1;
const TEEN: usize = 2;
const CHILD: usize = 3;
const BABY: usize = 4;
const GRANDMOTHER: usize = 5;

#[test]
fn age_band_questions_are_hidden_outside_the_band() {
    let (doc, base) = found_household(35);
    let date = doc.visit_date;
    // (member, question, an answer): each answer lies outside the question's band, so the question is hidden,
    // raises nothing, and its answer is not exported — the one-year-old is not asked about school, income,
    // accounts, PIP or BPJS-TK; the grandmother not about pregnancy, nutrition or PIP.
    let outside = [
        (BABY, "schooling", "0"),
        (BABY, "income_work", "2"),
        (BABY, "income_business", "2"),
        (BABY, "income_other", "2"),
        (BABY, "account", "4"),
        (BABY, "pip", "2"),
        (BABY, "bpjs_tk", "2"),
        (BABY, "difficulty_a", "4"),
        (BABY, "difficulty_g", "4"),
        (CHILD, "bpjs_tk", "2"),
        (CHILD, "child_nutrition", "1"),
        (CHILD, "pregnant", "2"),
        (TEEN, "caregiver", "2"),
        (GRANDMOTHER, "pregnant", "1"),
        (GRANDMOTHER, "pip", "2"),
        (GRANDMOTHER, "child_nutrition", "1"),
    ];
    for (index, question, value) in outside {
        let mut answers = base.clone();
        set_member_answer(&mut answers, index, question, json!(value));
        let found = dtsen().validate(&answers, date);
        let path = format!("members[{index}].{question}");
        assert_eq!(
            findings_at(&found, &path),
            Vec::<&form::Finding>::new(),
            "{path}"
        );
        assert_eq!(found, vec![], "{path}");
        let exported = dtsen().relevant_answers(&answers, date);
        assert!(
            !member_keys(&exported, index).contains(question),
            "{path} exported"
        );
    }
    // Inside the band the question is asked and required: the spouse (36, married) about pregnancy, the
    // one-year-old about nutrition, the nine-year-old about PIP, the teenager about BPJS-TK.
    for (index, question) in [
        (SPOUSE, "pregnant"),
        (BABY, "child_nutrition"),
        (CHILD, "pip"),
        (TEEN, "bpjs_tk"),
        (CHILD, "schooling"),
    ] {
        let mut answers = base.clone();
        if let Some(m) = answers
            .get_mut("members")
            .and_then(|m| m.get_mut(index))
            .and_then(Value::as_object_mut)
        {
            m.remove(question);
            m.remove("education_level");
        }
        let found = dtsen().validate(&answers, date);
        let path = format!("members[{index}].{question}");
        assert!(
            findings_at(&found, &path)
                .iter()
                .any(|f| f.rule == "required"),
            "{path} is asked: {found:?}"
        );
    }
    // A birth date changed so that the child is now a baby: the school answer is no longer asked and goes.
    let mut answers = base.clone();
    let baby_birth = answers["members"][BABY]["birth_date"].clone();
    set_member_answer(&mut answers, CHILD, "birth_date", baby_birth);
    let exported = dtsen().relevant_answers(&answers, date);
    assert!(!member_keys(&exported, CHILD).contains("schooling"));
}

#[test]
fn a_birth_date_may_be_unknown_and_age_98_is_a_top_code() {
    let (doc, base) = found_household(36);
    let date = doc.visit_date;
    let without_date = |extra: &[(&str, Value)]| {
        let mut answers = base.clone();
        if let Some(m) = answers
            .get_mut("members")
            .and_then(|m| m.get_mut(GRANDMOTHER))
            .and_then(Value::as_object_mut)
        {
            m.remove("birth_date");
            for (k, v) in extra {
                m.insert((*k).to_string(), v.clone());
            }
        }
        dtsen().validate(&answers, date)
    };
    let year = date.format("%Y").to_string().parse::<i64>().unwrap_or(2026) - 68;
    assert_eq!(without_date(&[("birth_year", json!(year))]), vec![]);
    assert_eq!(without_date(&[("age_estimate", json!(68))]), vec![]);
    assert_eq!(
        without_date(&[("age_estimate", json!(98))]),
        vec![],
        "98 or older"
    );
    let over: Vec<(String, String)> = without_date(&[("age_estimate", json!(99))])
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(
        over,
        [(
            "r13_age".to_string(),
            format!("members[{GRANDMOTHER}].age_estimate")
        )]
    );
    let none: Vec<(String, String)> = without_date(&[])
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(
        none,
        [(
            "required".to_string(),
            format!("members[{GRANDMOTHER}].birth_date")
        )]
    );
    // Someone older than 98 is recorded with their birth date (no error; the NIK agrees with it).
    let mut answers = base.clone();
    let old = date - chrono::Duration::days(365 * 102);
    let nik = answers["members"][GRANDMOTHER]["member_nik"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    set_member_answer(
        &mut answers,
        GRANDMOTHER,
        "birth_date",
        json!(old.format("%Y-%m-%d").to_string()),
    );
    let errors: Vec<_> = dtsen()
        .validate(&answers, date)
        .into_iter()
        .filter(|f| f.level == Level::Error)
        .collect();
    assert_eq!(errors, vec![], "102 years old, NIK {nik}");
}

#[test]
fn every_outcome_leaves_evidence() {
    let (doc, base) = found_household(37);
    let date = doc.visit_date;
    let short = |code: &str| {
        let mut answers: Answers = ["visit_outcome", "gps", "gps_method", "photo_front"]
            .iter()
            .filter_map(|k| base.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
        answers.insert("visit_outcome".into(), json!(code));
        answers.insert(
            "outcome_reason".into(),
            json!("Rumah kosong, keluarga tidak dikenal tetangga."),
        );
        answers.insert("informant".into(), json!("Ketua RT 003"));
        answers.insert("revisit_planned".into(), json!("2"));
        answers
    };
    for code in ["0", "3", "4", "5", "6", "7", "8"] {
        assert_eq!(
            dtsen().validate(&short(code), date),
            vec![],
            "outcome {code}"
        );
        // No point at all: KOSONG, a warning that needs a note.
        let mut answers = short(code);
        answers.remove("gps");
        let rules: Vec<(String, Level)> = dtsen()
            .validate(&answers, date)
            .into_iter()
            .map(|f| (f.rule, f.level))
            .collect();
        assert_eq!(
            rules,
            [("r17_gps_kosong".to_string(), Level::Warning)],
            "outcome {code}"
        );
        // The photo of the place: required when not found, refused or moved.
        let mut answers = short(code);
        answers.remove("photo_front");
        let photo_required = dtsen()
            .validate(&answers, date)
            .iter()
            .any(|f| f.path == "photo_front" && f.rule == "required");
        assert_eq!(
            photo_required,
            matches!(code, "0" | "6" | "7"),
            "outcome {code}"
        );
    }
    // A fix worse than 20 m is a warning; 20 m itself is fine.
    for (accuracy, warned) in [(20.0, false), (7.5, false), (20.1, true), (63.0, true)] {
        let mut answers = short("0");
        answers.insert(
            "gps".into(),
            json!({"lat": -3.8, "lon": 102.28, "accuracy_m": accuracy}),
        );
        let found = dtsen().validate(&answers, date);
        assert_eq!(
            found
                .iter()
                .any(|f| f.rule == "gps_accuracy" && f.level == Level::Warning),
            warned,
            "{accuracy} m: {found:?}"
        );
    }
}

#[test]
fn a_registered_member_is_asked_for_status_first_and_never_offered_new_member() {
    let form = dtsen().form();
    let roster = field(form, "members");
    assert_eq!(roster.fields[0].id, "member_status");
    assert_eq!(roster.prefill.as_deref(), Some("members"));
    let (doc, mut answers) = found_household(38);
    set_member_answer(&mut answers, 0, "registered", json!("1"));
    let session = dtsen()
        .session(answers, doc.visit_date)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let offered = |path: &str| -> Vec<String> {
        session
            .choices(path)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|c| c.value)
            .collect()
    };
    assert_eq!(
        offered("members[0].member_status"),
        ["1", "2", "3", "4", "6", "7"]
    );
    assert_eq!(
        offered("members[1].member_status"),
        ["1", "2", "3", "4", "5", "6", "7"],
        "someone not on record may be new"
    );
    // Every member question the register can hold is prefilled; the status never is.
    for f in &roster.fields {
        let prefilled = f.prefill.is_some();
        let expected =
            !matches!(f.kind, FieldType::Calculate | FieldType::Note) && f.id != "member_status";
        assert_eq!(prefilled, expected, "{}", f.id);
    }
}

#[test]
fn question_numbers_do_not_collide() {
    let form = dtsen().form();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for f in fields_of(form) {
        // The last parenthesised group, when it is a question number: `(R16)`, `(Blok II R16)`, `(Regsosek 410)`.
        let label = &f.label.id;
        let Some(open) = label.rfind('(') else {
            continue;
        };
        let number = label[open..].to_string();
        let is_number = number.starts_with("(R")
            && number[2..].starts_with(|c: char| c.is_ascii_digit())
            || number.starts_with("(Regsosek ")
            || number.starts_with("(Blok ");
        if !is_number {
            continue;
        }
        if let Some(other) = seen.insert(number.clone(), f.id.clone()) {
            panic!("{number} labels both {other} and {}", f.id);
        }
    }
    assert!(seen.len() > 40, "{seen:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// The content of the forms

#[test]
fn every_text_is_bilingual_and_every_constraint_named_and_documented() {
    let readme = read("schemas/README.md");
    for form in [
        dtsen().form(),
        ppks().form(),
        monitoring().form(),
        satgas().form(),
    ] {
        let mut texts = vec![&form.title];
        for section in &form.sections {
            texts.push(&section.title);
        }
        for list in form.choices.values() {
            texts.extend(list.iter().map(|c| &c.label));
        }
        for f in fields_of(form) {
            texts.push(&f.label);
            texts.extend(f.hint.iter());
            for c in &f.constraints {
                texts.push(&c.message);
                let rule = c
                    .rule
                    .as_deref()
                    .unwrap_or_else(|| panic!("{}.{}: constraint without a rule", form.id, f.id));
                assert!(
                    readme.contains(&format!("`{rule}`")),
                    "{rule} ({}.{}) is not in schemas/README.md",
                    form.id,
                    f.id
                );
            }
        }
        for t in texts {
            assert!(
                !t.id.trim().is_empty() && !t.en.trim().is_empty(),
                "{}: {t:?}",
                form.id
            );
        }
    }
}

fn codes(form: &Form, list: &str) -> Vec<String> {
    form.choices
        .get(list)
        .unwrap_or_else(|| panic!("no list {list}"))
        .iter()
        .map(|c| c.value.clone())
        .collect()
}

fn seq(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

#[test]
fn code_lists_are_as_in_domain_md() {
    let form = dtsen().form();
    assert_eq!(
        codes(form, "visit_outcome"),
        ["1", "0", "3", "4", "5", "8", "6", "7"]
    );
    // Revisits: nobody at home today, not found, refused (the answer then decides); not reachable by the end
    // of fieldwork is final.
    let revisit: Vec<(&str, &str)> = form.choices["visit_outcome"]
        .iter()
        .map(|c| (c.value.as_str(), c.attrs["revisit"].as_str()))
        .collect();
    assert_eq!(
        revisit,
        [
            ("1", "false"),
            ("0", "true"),
            ("3", "false"),
            ("4", "false"),
            ("5", "false"),
            ("8", "true"),
            ("6", "true"),
            ("7", "false")
        ]
    );
    assert_eq!(codes(form, "split_status"), ["0", "1", "2"]);
    assert_eq!(codes(form, "building_type"), seq(1..=5));
    assert_eq!(codes(form, "tenure"), seq(1..=5));
    assert_eq!(codes(form, "tenure_proof"), seq(1..=4));
    assert_eq!(codes(form, "floor"), seq(1..=9));
    assert_eq!(codes(form, "condition"), seq(1..=4));
    assert_eq!(codes(form, "wall"), seq(1..=7));
    assert_eq!(codes(form, "roof"), seq(1..=8));
    assert_eq!(
        form.choices["roof"][4].label.en, "Bamboo",
        "printed-form order: 5 bamboo, 6 wood"
    );
    assert_eq!(codes(form, "toilet"), seq(1..=6));
    assert_eq!(codes(form, "closet"), seq(1..=4));
    assert_eq!(codes(form, "sewage"), seq(1..=6));
    assert_eq!(codes(form, "water"), seq(1..=11));
    assert_eq!(codes(form, "septic_distance"), ["1", "2", "8"]);
    assert_eq!(codes(form, "lighting"), seq(1..=4));
    assert_eq!(codes(form, "meter_power"), seq(1..=5));
    let fuel: Vec<String> = (1..=11)
        .map(|n| format!("{n:02}"))
        .chain(["00".to_string()])
        .collect();
    assert_eq!(codes(form, "cooking_fuel"), fuel);
    assert_eq!(codes(form, "sex"), ["1", "2"]);
    assert_eq!(codes(form, "member_status"), seq(1..=7));
    assert_eq!(codes(form, "domicile"), seq(1..=4));
    assert_eq!(codes(form, "marital"), seq(1..=4));
    assert_eq!(codes(form, "relationship"), seq(1..=9));
    assert_eq!(codes(form, "schooling"), ["0", "1", "2"]);
    assert_eq!(codes(form, "education_level"), seq(0..=6));
    assert_eq!(
        codes(form, "work_status"),
        ["1", "2", "3", "4", "5", "6", "9"]
    );
    assert_eq!(codes(form, "work_sector"), seq(1..=26));
    assert_eq!(codes(form, "account"), ["1", "2", "3", "4", "9"]);
    assert_eq!(codes(form, "difficulty"), seq(1..=4));
    assert_eq!(codes(form, "yes_no_dk"), ["1", "2", "9"]);
    assert_eq!(codes(form, "illness").len(), 19, "R39a–r and none");
    assert_eq!(codes(form, "disability").len(), 7, "R38a–f and none");
    // Every Blok IV variable R25–R40 and the Regsosek extras are in the roster.
    let roster = field(form, "members");
    let ids: BTreeSet<&str> = roster.fields.iter().map(|f| f.id.as_str()).collect();
    for id in [
        "member_name",
        "member_nik",
        "member_phone",
        "member_status",
        "domicile",
        "sex",
        "birth_date",
        "marital_status",
        "relationship",
        "schooling",
        "education_level",
        "income_work",
        "income_business",
        "income_other",
        "occupation",
        "work_status",
        "work_sector",
        "disability",
        "chronic_illness",
        "account",
        "pregnant",
        "child_nutrition",
        "difficulty_a",
        "difficulty_j",
        "caregiver",
        "pip",
        "bpjs_tk",
        "jkn",
    ] {
        assert!(ids.contains(id), "roster lacks {id}");
    }
}

/// The clean asesmen (a man of 45, fakir miskin) with `types`, the first of them primary, at `age` (estimated),
/// of `sex`: the rule names of its findings.
fn ppks_rules_with(types: &[&str], age: i64, sex: &str) -> Vec<String> {
    let mut g = Generator::new(42);
    let doc = g.clean_ppks();
    let mut a = doc.answers.clone();
    a.insert("ppks_types".into(), json!(types));
    a.insert("ppks_primary".into(), json!(types[0]));
    a.insert("birth_date_known".into(), json!("2"));
    a.remove("birth_date");
    a.insert("age_estimate".into(), json!(age));
    a.insert("sex".into(), json!(sex));
    a.insert("caregiver_name".into(), json!("Siti Rahmawati"));
    // Known by the KK alone: the NIK would encode the sex and birth date these cases change.
    a.remove("nik");
    a.insert("has_nik".into(), json!("2"));
    a.insert("documents".into(), json!(["akta"]));
    if types.contains(&"5") || types.contains(&"9") {
        a.insert("disability".into(), json!(["a"]));
    }
    ppks()
        .validate(&a, doc.visit_date)
        .into_iter()
        .map(|f| format!("{} {}", f.rule, f.path))
        .collect()
}

#[test]
fn the_primary_type_decides_the_atensi_cluster() {
    let form = ppks().form();
    let types = &form.choices["ppks_type"];
    assert_eq!(types.len(), 26);
    assert_eq!(codes(form, "ppks_type"), seq(1..=26));
    let clusters: BTreeSet<&str> = form.choices["atensi_cluster"]
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(field(form, "ppks_types").kind, FieldType::SelectMultiple);
    assert_eq!(field(form, "ppks_primary").kind, FieldType::SelectOne);
    assert_eq!(field(form, "atensi_cluster").kind, FieldType::Calculate);
    let doc = Generator::new(43).clean_ppks();
    for t in types {
        let cluster = t.attrs.get("cluster").map(String::as_str).unwrap_or("");
        assert!(
            clusters.contains(cluster),
            "type {} has cluster {cluster:?}",
            t.value
        );
        let mut a = doc.answers.clone();
        // Primary among several: the other type does not change the cluster.
        let other = if t.value == "24" { "14" } else { "24" };
        a.insert("ppks_types".into(), json!([other, t.value]));
        a.insert("ppks_primary".into(), json!(t.value));
        let calculated = ppks().calculated(&a, doc.visit_date);
        assert_eq!(
            calculated.get("atensi_cluster"),
            Some(&json!(cluster)),
            "type {} ({})",
            t.value,
            t.label.en
        );
    }
}

#[test]
fn every_type_that_applies_is_recorded_with_one_primary() {
    // An abandoned elderly person who also has a disability and is poor: all three, elderly primary.
    assert_eq!(
        ppks_rules_with(&["8", "9", "24"], 70, "2"),
        Vec::<String>::new()
    );
    let mut g = Generator::new(44);
    let mut doc = g.clean_ppks();
    doc.answers
        .insert("ppks_types".into(), json!(["8", "9", "24"]));
    doc.answers.insert("ppks_primary".into(), json!("9"));
    doc.answers.insert("birth_date_known".into(), json!("2"));
    doc.answers.remove("birth_date");
    doc.answers.insert("age_estimate".into(), json!(70));
    doc.answers.insert("sex".into(), json!("2"));
    doc.answers
        .insert("caregiver_name".into(), json!("Siti Rahmawati"));
    doc.answers.insert("disability".into(), json!(["d"]));
    doc.answers.remove("nik");
    doc.answers.insert("has_nik".into(), json!("2"));
    doc.answers.insert("documents".into(), json!(["none"]));
    assert_eq!(findings(&doc), vec![]);
    assert_eq!(
        ppks().calculated(&doc.answers, doc.visit_date)["atensi_cluster"],
        json!("2"),
        "disability primary: the disability cluster"
    );
    // The primary is one of the types chosen (the engine's choice filter), and a type is needed.
    doc.answers.insert("ppks_primary".into(), json!("12"));
    let rules: Vec<(String, String)> = findings(&doc)
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(
        rules,
        [("choice_filter".to_string(), "ppks_primary".to_string())]
    );
    doc.answers.insert("ppks_types".into(), json!([]));
    doc.answers.remove("ppks_primary");
    let rules: Vec<(String, String)> = findings(&doc)
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert!(
        rules.contains(&("required".into(), "ppks_types".into())),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("required".into(), "ppks_primary".into())),
        "{rules:?}"
    );
}

#[test]
fn ppks_age_ranges_follow_each_type_chosen() {
    let none = Vec::<String>::new();
    let range = ["ppks_age_range ppks_types".to_string()];
    assert_eq!(ppks_rules_with(&["1"], 5, "1"), none, "toddler of 5");
    assert_eq!(ppks_rules_with(&["1"], 6, "1"), range, "toddler of 6");
    assert_eq!(
        ppks_rules_with(&["3"], 12, "2"),
        none,
        "child in conflict with the law, 12"
    );
    assert_eq!(ppks_rules_with(&["3"], 18, "2"), range, "… 18 is an adult");
    assert_eq!(ppks_rules_with(&["8"], 60, "2"), none);
    assert_eq!(ppks_rules_with(&["8"], 59, "2"), range);
    // A secondary type is checked as much as the primary.
    assert_eq!(ppks_rules_with(&["24", "8"], 59, "2"), range);
    assert_eq!(
        ppks_rules_with(&["24", "9"], 17, "2"),
        range,
        "person with disability ≥ 18"
    );
    assert_eq!(ppks_rules_with(&["23"], 30, "2"), none, "vulnerable woman");
    assert_eq!(
        ppks_rules_with(&["24", "23"], 30, "1"),
        ["ppks_sex ppks_types".to_string()],
        "only women"
    );
    assert_eq!(
        ppks_rules_with(&["24", "23"], 60, "1").len(),
        2,
        "too old and not a woman: both"
    );
}

#[test]
fn without_consent_only_the_source_name_sex_and_village_are_kept() {
    let mut g = Generator::new(45);
    let case = g.ppks_case("17.71").unwrap_or_else(|e| panic!("{e}"));
    let form = ppks().form();
    assert_eq!(form.sections[0].id, "consent", "consent is asked first");
    assert_eq!(form.sections[0].fields[1].id, "consent");
    let mut a = case.answers.clone();
    a.insert("consent".into(), json!("2"));
    a.insert(
        "consent_refusal_reason".into(),
        json!("Takut datanya disebar"),
    );
    let kept: BTreeSet<String> = ppks()
        .relevant_answers(&a, case.visit_date)
        .keys()
        .cloned()
        .collect();
    let allowed: BTreeSet<String> = [
        "consent",
        "consent_by",
        "consent_refusal_reason",
        "case_source",
        "full_name",
        "sex",
        "region",
        "work_area",
    ]
    .into_iter()
    .map(String::from)
    .filter(|k| a.contains_key(k))
    .collect();
    assert_eq!(kept, allowed);
    assert_eq!(
        ppks().validate(&a, case.visit_date),
        vec![],
        "a refusal can be finalised"
    );
    // Only what consent allows is asked: the same refusal, typed from nothing, needs nothing more.
    let mut minimal = Answers::new();
    for key in &allowed {
        minimal.insert(key.clone(), a[key].clone());
    }
    assert_eq!(ppks().validate(&minimal, case.visit_date), vec![]);
    // With consent, the photo is taken only when the client agreed to it.
    let mut b = case.answers.clone();
    b.insert("consent_photo".into(), json!("2"));
    b.insert(
        "photo_client".into(),
        json!({"file": "IMG_1.jpg", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
    );
    assert!(
        !ppks()
            .relevant_answers(&b, case.visit_date)
            .contains_key("photo_client")
    );
    b.remove("consent_by");
    let rules: Vec<(String, String)> = ppks()
        .validate(&b, case.visit_date)
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(rules, [("required".to_string(), "consent_by".to_string())]);
}

#[test]
fn the_problem_may_be_dated_by_a_year_alone() {
    let mut g = Generator::new(46);
    let doc = g.clean_ppks();
    let on = doc.visit_date;
    let mut a = doc.answers.clone();
    a.remove("problem_since");
    let rules = |a: &Answers| -> Vec<(String, String)> {
        ppks()
            .validate(a, on)
            .into_iter()
            .map(|f| (f.rule, f.path))
            .collect()
    };
    assert_eq!(
        rules(&a),
        [("required".to_string(), "problem_since".to_string())],
        "a date or a year is needed"
    );
    a.insert("problem_since_year".into(), json!(2025));
    assert_eq!(rules(&a), vec![], "the year alone");
    // The problem counts from 1 January of that year: a referral before it is refused.
    let mut early = a.clone();
    early["referrals"][0]["referral_date"] = json!("2024-12-31");
    assert_eq!(
        rules(&early),
        [(
            "referral_after_problem".to_string(),
            "referrals[0].referral_date".to_string()
        )]
    );
    a.insert("problem_since_year".into(), json!(2027));
    a.insert("referral_needed".into(), json!("2"));
    a.remove("referrals");
    assert_eq!(
        rules(&a),
        [(
            "problem_since_past".to_string(),
            "problem_since_year".to_string()
        )]
    );
    // With a full date the year is not asked (and not kept).
    a.insert("problem_since".into(), json!("2025-06-01"));
    assert_eq!(rules(&a), vec![]);
    assert!(
        !ppks()
            .relevant_answers(&a, on)
            .contains_key("problem_since_year")
    );
    assert_eq!(
        field(ppks().form(), "problem_since").required,
        form::Requirement::When("${problem_since_year} = ''".into())
    );
}

#[test]
fn health_insurance_codes_are_the_dtsen_forms() {
    let (ppks_form, dtsen_form) = (ppks().form(), dtsen().form());
    let ppks_field = field(ppks_form, "health_insurance");
    let dtsen_field = field(dtsen_form, "jkn");
    assert_eq!(ppks_field.kind, dtsen_field.kind);
    assert_eq!(ppks_field.label, dtsen_field.label, "the same question");
    let list = |form: &Form, f: &Field| form.choices[f.choices.as_deref().unwrap_or("")].clone();
    assert_eq!(list(ppks_form, ppks_field), list(dtsen_form, dtsen_field));
    assert_eq!(codes(ppks_form, "jkn"), ["1", "2", "4", "8", "16", "0"]);
}

#[test]
fn the_dtsen_link_asks_for_a_nik_or_kk_and_takes_a_decile_if_known() {
    let mut g = Generator::new(47);
    let doc = g.clean_ppks();
    let rules = |a: &Answers| -> Vec<(String, String)> {
        ppks()
            .validate(a, doc.visit_date)
            .into_iter()
            .map(|f| (f.rule, f.path))
            .collect()
    };
    let mut a = doc.answers.clone();
    a.remove("dtsen_decile");
    assert_eq!(rules(&a), vec![], "the decile is asked but may be unknown");
    // Registered and known by the KK alone (no NIK): linked.
    a.remove("nik");
    a.insert("has_nik".into(), json!("2"));
    a.insert("documents".into(), json!(["akta"]));
    assert_eq!(rules(&a), vec![]);
    a.remove("kk_number");
    assert_eq!(
        rules(&a),
        [("dtsen_link_id".to_string(), "dtsen_registered".to_string())]
    );
    // Not registered, or not known: nothing to link, no decile asked.
    for answer in ["2", "9"] {
        a.insert("dtsen_registered".into(), json!(answer));
        a.insert("dtsen_decile".into(), json!(3));
        assert_eq!(rules(&a), vec![]);
        assert!(
            !ppks()
                .relevant_answers(&a, doc.visit_date)
                .contains_key("dtsen_decile")
        );
    }
    assert_eq!(
        codes(ppks().form(), "yes_no_dk"),
        codes(dtsen().form(), "yes_no_dk")
    );
}

#[test]
fn referrals_are_a_list_to_slrt_puskesos_and_the_services_a_client_needs() {
    let form = ppks().form();
    let referrals = field(form, "referrals");
    assert_eq!(referrals.kind, FieldType::Repeat);
    let child = |id: &str| {
        referrals
            .fields
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(
        child("referral_to").choices.as_deref(),
        Some("referral_destination")
    );
    assert_eq!(
        child("referral_service").choices.as_deref(),
        Some("referral_service")
    );
    assert_eq!(
        child("referral_status").choices.as_deref(),
        Some("referral_status")
    );
    let labels = |list: &str| -> Vec<String> {
        form.choices[list]
            .iter()
            .map(|c| c.label.id.clone())
            .collect()
    };
    for wanted in ["SLRT", "Puskesos", "Dukcapil", "BPJS", "ATENSI"] {
        assert!(
            labels("referral_destination")
                .iter()
                .any(|l| l.contains(wanted)),
            "destination {wanted}"
        );
    }
    for wanted in ["SLRT", "Puskesos"] {
        assert!(
            labels("referred_from").iter().any(|l| l.contains(wanted)),
            "from {wanted}"
        );
    }
    assert_eq!(
        labels("referral_status"),
        ["Dirujuk", "Diterima", "Dilayani", "Ditolak"]
    );
    // Three referrals at once: Dukcapil for documents, BPJS for PBI, a Sentra for ATENSI.
    let mut g = Generator::new(48);
    let doc = g.clean_ppks();
    let mut a = doc.answers.clone();
    let on = doc.visit_date.format("%Y-%m-%d").to_string();
    a.insert(
        "referrals".into(),
        json!([
            {"referral_to": "4", "referral_service": "adminduk", "referral_date": on, "referral_status": "1"},
            {"referral_to": "5", "referral_service": "pbi", "referral_date": on, "referral_status": "2"},
            {"referral_to": "6", "referral_service": "atensi", "referral_date": on, "referral_status": "4"},
        ]),
    );
    let rules: Vec<(String, String)> = ppks()
        .validate(&a, doc.visit_date)
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(
        rules,
        [(
            "required".to_string(),
            "referrals[2].referral_refusal".to_string()
        )],
        "a refused referral says why"
    );
    a["referrals"][2]["referral_refusal"] = json!("Kuota sentra penuh bulan ini");
    assert_eq!(ppks().validate(&a, doc.visit_date), vec![]);
}

#[test]
fn a_follow_up_changes_only_the_status_and_never_back() {
    let form = ppks().form();
    let followups = field(form, "referral_followups");
    assert_eq!(followups.prefill.as_deref(), Some("referrals"));
    for f in &followups.fields {
        let editable = !f.read_only;
        assert_eq!(
            editable,
            matches!(f.id.as_str(), "referral_update" | "referral_update_reason"),
            "{}: only the status (and why refused) is changed",
            f.id
        );
    }
    let mut g = Generator::new(49);
    let base = g.ppks_followup(&g.clone().clean_ppks(), 10);
    let status = |before: &str, now: &str| -> Vec<String> {
        let mut a = base.answers.clone();
        a.insert(
            "referral_followups".into(),
            json!([{
                "prev_referral_to": "2", "prev_referral_service": "pkh", "prev_referral_date": "2026-03-16",
                "prev_referral_status": before, "referral_update": now,
                "referral_update_reason": "Belum memenuhi syarat",
            }]),
        );
        ppks()
            .validate(&a, base.visit_date)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    };
    let order = vec!["referral_status_order".to_string()];
    for (before, now, ok) in [
        ("1", "1", true),
        ("1", "2", true),
        ("1", "3", true),
        ("1", "4", true),
        ("2", "3", true),
        ("2", "4", true),
        ("2", "1", false),
        ("3", "3", true),
        ("3", "2", false),
        ("3", "4", false),
        ("4", "4", true),
        ("4", "1", false),
    ] {
        assert_eq!(
            status(before, now),
            if ok { vec![] } else { order.clone() },
            "{before} → {now}"
        );
    }
    // A follow-up is not a first visit: it is opened from a case, which it names.
    assert_eq!(field(form, "case_id").prefill.as_deref(), Some("case_id"));
    assert!(field(form, "case_id").read_only);
    let mut first = base.answers.clone();
    first.insert("case_source".into(), json!("3"));
    let kept = ppks().relevant_answers(&first, base.visit_date);
    assert!(!kept.contains_key("case_id") && !kept.contains_key("referral_followups"));
}

#[test]
fn nik_mismatch_with_the_stated_birth_date_is_only_a_warning() {
    let mut g = Generator::new(51);
    let (doc, expected) = g.broken(Rule::NikBirthDate);
    assert_eq!(expected.level, Level::Warning);
    assert_eq!(errors(&doc), vec![]);
    let visit_date = NaiveDate::from_ymd_opt(2026, 3, 16);
    assert_eq!(Some(doc.visit_date), visit_date);
}

#[test]
fn prefill_values_parse_as_typed_input_into_the_visits_answers() {
    // The App turns a prefill string into an answer the way it turns typed input into one.
    let form = dtsen().form();
    let mut g = Generator::new(61);
    for a in g.assignments("17.71", 10).unwrap_or_else(|e| panic!("{e}")) {
        let doc = g
            .visit_for(&a, Outcome::Found)
            .unwrap_or_else(|e| panic!("{e}"));
        let session = dtsen()
            .session(Answers::new(), doc.visit_date)
            .unwrap_or_else(|e| panic!("{e}"));
        for f in fields_of(form) {
            let Some(text) = f.prefill.as_deref().and_then(|k| a.prefill.get(k)) else {
                continue;
            };
            let parsed = session
                .parse_input(&f.id, text)
                .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", f.id));
            assert_eq!(Some(&parsed), doc.answers.get(&f.id), "{}", f.id);
        }
    }
}

#[test]
fn the_village_must_lie_in_the_assigned_area() {
    let mut g = Generator::new(62);
    let (mut doc, _) = g.clean_standard();
    doc.answers.insert("work_area".into(), json!("35.77"));
    let found = findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].path.as_str(), found[0].level),
        ("region", Level::Error)
    );
    // A new case without an assigned area may be anywhere.
    doc.answers.remove("work_area");
    assert_eq!(findings(&doc), vec![]);
}

mod property {
    use super::*;
    use proptest::prelude::*;
    use tepat_form::{RegionLevel, region};

    fn regencies() -> &'static [region::Region] {
        region::regions().list(RegionLevel::Regency)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any seed, any regency of Indonesia: the household is valid (warnings only with a note).
        #[test]
        fn any_seed_anywhere_gives_a_valid_household(seed in any::<u64>(), pick in any::<prop::sample::Index>()) {
            let regency = pick.get(regencies()).code;
            let mut g = Generator::new(seed);
            let doc = g.household(regency).map_err(|e| TestCaseError::fail(e.to_string()))?;
            for f in findings(&doc) {
                prop_assert_ne!(f.level, Level::Error, "{:?}", f);
                prop_assert!(doc.warning_notes.contains_key(&f.path), "{:?}", f);
            }
            let ppks_case = g.ppks_case(regency).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(findings(&ppks_case), vec![]);
        }

        /// Any seed, any rule: breaking it raises exactly its finding.
        #[test]
        fn any_seed_any_rule_raises_exactly_its_finding(seed in any::<u64>(), pick in any::<prop::sample::Index>()) {
            let rule = *pick.get(&Rule::ALL);
            let mut g = Generator::new(seed);
            let (doc, expected) = g.broken(rule);
            let got: Vec<(String, Level, String)> =
                findings(&doc).into_iter().map(|f| (f.rule, f.level, f.path)).collect();
            prop_assert_eq!(got, vec![(expected.rule.to_string(), expected.level, expected.path)]);
        }
    }
}

#[test]
fn the_assignment_examples_match_the_assignment_schema_and_only_use_keys_the_form_prefills() {
    const URL: &str = "https://tepat.example/schemas/assignment.schema.json";
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource(URL, json_file("schemas/assignment.schema.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile(URL, &mut schemas)
        .unwrap_or_else(|e| panic!("assignment schema: {e:#}"));
    let form = dtsen().form();
    let roster = field(form, "members");
    let household_keys: BTreeSet<&str> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.iter())
        .filter_map(|f| f.prefill.as_deref())
        .collect();
    let member_keys: BTreeSet<&str> = roster
        .fields
        .iter()
        .filter_map(|f| f.prefill.as_deref())
        .collect();
    let text = read("schemas/examples/households.jsonl");
    let mut records = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        schemas
            .validate(&record, index)
            .unwrap_or_else(|e| panic!("{e:#}"));
        for key in record["prefill"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            assert!(household_keys.contains(key.as_str()), "{key}");
        }
        for member in record["prefill_repeats"]["members"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for key in member.as_object().into_iter().flat_map(|o| o.keys()) {
                assert!(member_keys.contains(key.as_str()), "{key}");
            }
        }
        // The phone reads the same record as its Assignment.
        let assignment: tepat_protocol::Assignment =
            serde_json::from_value(record).unwrap_or_else(|e| panic!("{e}"));
        assert!(!assignment.prefill_repeats["members"].is_empty());
        records += 1;
    }
    assert_eq!(records, 2);
    // The schema refuses what the import refuses by shape.
    let bad = json!({"assignment_id": "X", "user_id": "u", "form_id": "f", "form_version": 1,
        "region_code": "17.71.01.1001", "label": "x", "nik": "1"});
    assert!(
        schemas.validate(&bad, index).is_err(),
        "unknown top-level key"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Input as people write it

#[test]
fn mobile_numbers_as_people_write_them_are_stored_as_one_number() {
    let (found, _) = found_household(41);
    let mut case = Generator::new(41).clean_ppks();
    case.answers.insert("phone".into(), json!("081234567890"));
    for (form, field, doc) in [
        (dtsen(), "respondent_phone", found),
        (ppks(), "phone", case),
    ] {
        let date = doc.visit_date;
        // The visit's own answers, so that the field is asked and its check runs.
        let base = doc.answers.clone();
        assert!(
            form.relevant_answers(&base, date).contains_key(field),
            "{field} is asked"
        );
        let session = form.session(base.clone(), date).unwrap();
        for typed in [
            "0812-3456-7890",
            "+62 812 3456 7890",
            "6281234567890",
            "0812 3456 7890",
            "(0812) 3456.7890",
            "+62 (812) 3456-7890",
        ] {
            let stored = session.parse_input(field, typed).unwrap();
            assert_eq!(stored, json!("081234567890"), "{field}: {typed:?}");
            let mut answers = base.clone();
            answers.insert(field.into(), stored);
            assert!(
                !form
                    .validate(&answers, date)
                    .iter()
                    .any(|f| f.path == field),
                "{field}: the canonical number passes the form's check"
            );
        }
        // Not a mobile number: digits only, or as typed when it is not digits; the form's check names it.
        for (typed, stored) in [("12-34", "1234"), ("0812 abc", "0812 abc")] {
            let parsed = session.parse_input(field, typed).unwrap();
            assert_eq!(parsed, json!(stored));
            let mut answers = base.clone();
            answers.insert(field.into(), parsed);
            assert!(
                form.validate(&answers, date)
                    .iter()
                    .any(|f| f.path == field && f.rule == "phone_format"),
                "{typed:?}"
            );
        }
    }
}

#[test]
fn a_pln_customer_id_typed_with_spaces_is_stored_as_its_digits() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
    let session = dtsen().session(Answers::new(), date).unwrap();
    for typed in ["5123 4567 8901", "5123-4567-8901", " 512345678901 "] {
        assert_eq!(
            session.parse_input("pln_customer_id", typed).unwrap(),
            json!("512345678901"),
            "{typed:?}"
        );
    }
    assert_eq!(
        session
            .parse_input("pln_meter_number", "141 2345 6789")
            .unwrap(),
        json!("14123456789")
    );
}

#[test]
fn decimals_take_a_comma_as_indonesians_write_them() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
    let session = dtsen().session(Answers::new(), date).unwrap();
    for (typed, grams) in [
        ("0,25", 0.25),
        ("2,5", 2.5),
        ("0.25", 0.25),
        ("1.250,5", 1250.5),
        ("10", 10.0),
    ] {
        assert_eq!(
            session.parse_input("gold_grams", typed).unwrap(),
            json!(grams),
            "{typed:?}"
        );
    }
    assert!(session.parse_input("gold_grams", "1.25,5").is_err());
    assert!(session.parse_input("gold_grams", "0,2,5").is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// Question numbers and messages

/// Words of a label or message, lower case, without the parenthesised question numbers and units.
fn plain_words(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a finding's own message repeats the question's label: it holds the whole label (without its
/// parenthesised number), or opens with the label's first two words (`Luas lantai …` under `Luas lantai (m²)`).
fn repeats_label(label: &str, message: &str) -> bool {
    let label = plain_words(label);
    let message = plain_words(message);
    let whole = !label.is_empty() && message.windows(label.len()).any(|w| w == label.as_slice());
    let opening = label.len().min(2);
    whole || (opening > 0 && message.len() >= opening && message[..opening] == label[..opening])
}

#[test]
fn no_finding_message_repeats_its_question_s_label() {
    // The check itself: the messages the forms had before.
    assert!(repeats_label(
        "Luas lantai bangunan (m²) (R9)",
        "Luas lantai harus lebih dari 0 m²"
    ));
    assert!(repeats_label("RT", "RT berupa 1–3 angka"));
    assert!(repeats_label("Mobil", "Mobil tidak boleh negatif"));
    assert!(repeats_label("NIK (R26a)", "Tanggal lahir di NIK berbeda"));
    assert!(!repeats_label("Mobil", "Tidak boleh negatif"));
    for form in [
        dtsen().form(),
        ppks().form(),
        monitoring().form(),
        satgas().form(),
    ] {
        for field in fields_of(form) {
            let messages = field
                .constraints
                .iter()
                .map(|c| &c.message)
                .chain(field.missing.iter().filter_map(|m| m.message.as_ref()));
            for message in messages {
                for (label, text) in [
                    (&field.label.id, &message.id),
                    (&field.label.en, &message.en),
                ] {
                    assert!(
                        !repeats_label(label, text),
                        "{}: `{}`: {label:?} is repeated in {text:?}",
                        form.id,
                        field.id
                    );
                }
            }
        }
    }
}

/// The questionnaire numbers in a label: `R16`, `R26a`, `R38a–f`, `Regsosek 417`, `428a`, each with the block
/// the label names (`Blok II R16`), else the block of its section's title (`Blok II – Perumahan`), else none.
fn question_numbers(label: &str, section_block: Option<&str>) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut rest = label;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let inside = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let words: Vec<&str> = inside.split_whitespace().collect();
        let is_number = |w: &str| {
            let w = w.strip_prefix('R').unwrap_or(w);
            w.chars().next().is_some_and(|c| c.is_ascii_digit())
        };
        let (block, number) = match words.as_slice() {
            ["Blok", block, number] if is_number(number) => {
                (Some(format!("Blok {block}")), number.to_string())
            }
            ["Regsosek", number] => (None, format!("Regsosek {number}")),
            [number] if number.starts_with('R') && is_number(number) => {
                (section_block.map(str::to_string), number.to_string())
            }
            [number] if is_number(number) => (None, number.to_string()),
            _ => continue,
        };
        out.push((block, number));
    }
    out
}

#[test]
fn no_two_questions_share_a_number() {
    assert_eq!(
        question_numbers("Sumber air minum utama (Blok II R16)", Some("Blok II")),
        [(Some("Blok II".to_string()), "R16".to_string())]
    );
    assert_eq!(
        question_numbers("Luas lantai (m²) (R9)", Some("Blok II")),
        [(Some("Blok II".to_string()), "R9".to_string())]
    );
    assert_eq!(
        question_numbers("Status keluarga (R16)", None),
        [(None, "R16".to_string())]
    );
    for form in [
        dtsen().form(),
        ppks().form(),
        monitoring().form(),
        satgas().form(),
    ] {
        // Number → (block, field) of every question that carries it.
        let mut seen: BTreeMap<String, Vec<(Option<String>, String)>> = BTreeMap::new();
        for section in &form.sections {
            let block = section
                .title
                .id
                .split_once(" – ")
                .map(|(head, _)| head)
                .filter(|head| head.starts_with("Blok "));
            for field in all_fields(&section.fields) {
                for (label, lang) in [(&field.label.id, "id"), (&field.label.en, "en")] {
                    let numbers = question_numbers(label, block);
                    if lang == "en" {
                        // Both languages give the same numbers.
                        assert_eq!(
                            numbers,
                            question_numbers(&field.label.id, block),
                            "{}: `{}`",
                            form.id,
                            field.id
                        );
                        continue;
                    }
                    for (owner, number) in numbers {
                        seen.entry(number)
                            .or_default()
                            .push((owner, field.id.clone()));
                    }
                }
            }
        }
        for (number, owners) in &seen {
            let fields: BTreeSet<&String> = owners.iter().map(|(_, f)| f).collect();
            if fields.len() == 1 {
                continue;
            }
            // One number in two questions only in two blocks, each label naming its block.
            let blocks: BTreeSet<&Option<String>> = owners.iter().map(|(b, _)| b).collect();
            assert!(
                blocks.len() == owners.len() && owners.iter().all(|(b, _)| b.is_some()),
                "{}: {number} labels {owners:?}",
                form.id
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The Satgas Tanggap Cepat report (`satgas_laporan`) and the asesmen that follows it

#[test]
fn generated_satgas_reports_raise_no_finding_and_match_the_visit_schema() {
    let mut g = Generator::new(91);
    let mut suspected = BTreeSet::new();
    let mut urgencies = BTreeSet::new();
    let (mut unnamed, mut with_nik, mut no_asesmen, mut help_none) = (0, 0, 0, 0);
    for _ in 0..600 {
        let doc = g.satgas_report("17.71").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(findings(&doc), vec![], "{:#?}", doc.answers);
        check_visit_schema(&doc).unwrap_or_else(|e| panic!("{e}"));
        let a = &doc.answers;
        for code in a["ppks_suspected"].as_array().into_iter().flatten() {
            suspected.insert(code.as_str().unwrap_or("").to_string());
        }
        urgencies.insert(a["urgency"].as_str().unwrap_or("").to_string());
        unnamed += usize::from(a["name_known"] == json!("2"));
        with_nik += usize::from(a.contains_key("nik"));
        no_asesmen += usize::from(a["asesmen_needed"] == json!("2"));
        help_none += usize::from(a["first_help"] == json!(["0"]));
        if a["urgency"] == json!("1") {
            assert_eq!(a["asesmen_needed"], json!("1"), "an emergency is assessed");
        }
    }
    assert_eq!(
        suspected.len(),
        26,
        "every PPKS type is reported: {suspected:?}"
    );
    assert_eq!(urgencies.len(), 3, "{urgencies:?}");
    assert!(unnamed > 40, "{unnamed} reports without a name");
    assert!(with_nik > 100, "{with_nik} reports with a NIK");
    assert!(no_asesmen > 60, "{no_asesmen} reports needing no asesmen");
    assert!(
        help_none > 100,
        "{help_none} reports with no help given yet"
    );
}

#[test]
fn every_satgas_rule_broken_raises_exactly_its_finding() {
    for seed in 0..6 {
        let mut g = Generator::new(300 + seed);
        let clean = g.clean_satgas_report();
        assert_eq!(findings(&clean), vec![], "the clean report is clean");
        for rule in SatgasRule::ALL {
            let (doc, expected) = g.satgas_broken(rule);
            let found = findings(&doc);
            let got: Vec<(&str, Level, &str)> = found
                .iter()
                .map(|f| (f.rule.as_str(), f.level, f.path.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![(expected.rule, expected.level, expected.path.as_str())],
                "seed {seed}, {rule:?}"
            );
            assert!(
                !found[0].message.id.is_empty() && !found[0].message.en.is_empty(),
                "{rule:?}: bilingual message"
            );
        }
    }
    // Every constraint and `missing` rule of the form is broken by some SatgasRule.
    let mut g = Generator::new(7);
    let broken: BTreeSet<&str> = SatgasRule::ALL
        .iter()
        .map(|r| g.satgas_broken(*r).1.rule)
        .collect();
    for f in fields_of(satgas().form()) {
        let rules = f
            .constraints
            .iter()
            .filter_map(|c| c.rule.as_deref())
            .chain(f.missing.iter().filter_map(|m| m.rule.as_deref()));
        for rule in rules {
            assert!(broken.contains(rule), "{}: {rule} is never broken", f.id);
        }
    }
}

/// A clean report's answers with `changes` applied (`null` removes an answer).
fn report_with(changes: Value) -> Answers {
    let mut g = Generator::new(12);
    let mut a = g.clean_satgas_report().answers;
    for (key, value) in changes.as_object().into_iter().flatten() {
        if value.is_null() {
            a.remove(key);
        } else {
            a.insert(key.clone(), value.clone());
        }
    }
    a
}

#[test]
fn a_report_asks_only_what_the_reporter_knows() {
    let date = Generator::default_visit_date();
    let kept = |a: &Answers| -> BTreeSet<String> {
        satgas().relevant_answers(a, date).keys().cloned().collect()
    };
    // Name not known: a name typed before is hidden, dropped, and not asked.
    let a = report_with(json!({"name_known": "2"}));
    assert!(!kept(&a).contains("full_name"));
    assert_eq!(satgas().validate(&a, date), vec![]);
    // NIK not known (or no NIK): the NIK is not asked; known: asked but may stay empty.
    for has_nik in ["2", "9"] {
        let a = report_with(json!({"has_nik": has_nik}));
        assert!(!kept(&a).contains("nik"), "{has_nik}");
        assert_eq!(satgas().validate(&a, date), vec![]);
    }
    let a = report_with(json!({"has_nik": "1", "nik": null}));
    assert_eq!(satgas().validate(&a, date), vec![]);
    // Sex not known: no NIK check against it; an approximate age may be left empty.
    let a = report_with(json!({"sex": "9", "age_estimate": null}));
    assert_eq!(satgas().validate(&a, date), vec![]);
    // "Other" reporter names who; only then.
    let a = report_with(json!({"reporter_relation": "9", "reporter_relation_other": "Guru SD"}));
    assert_eq!(satgas().validate(&a, date), vec![]);
    let a = report_with(json!({"reporter_relation": "2", "reporter_relation_other": "Guru SD"}));
    assert!(!kept(&a).contains("reporter_relation_other"));
    // No asesmen: why; "other" reason: in words; an asesmen needed drops both.
    let a = report_with(json!({"asesmen_needed": "2", "no_asesmen_reason": "9"}));
    let rules: Vec<(String, String)> = satgas()
        .validate(&a, date)
        .into_iter()
        .map(|f| (f.rule, f.path))
        .collect();
    assert_eq!(
        rules,
        [("required".to_string(), "no_asesmen_notes".to_string())]
    );
    let a = report_with(
        json!({"asesmen_needed": "1", "no_asesmen_reason": "9", "no_asesmen_notes": "x"}),
    );
    let kept_now = kept(&a);
    assert!(!kept_now.contains("no_asesmen_reason") && !kept_now.contains("no_asesmen_notes"));
    // The phone number is optional, and a number as people write it is stored as one.
    let a = report_with(json!({"reporter_phone": null}));
    assert_eq!(satgas().validate(&a, date), vec![]);
    let session = satgas()
        .session(Answers::new(), date)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        session
            .parse_input("reporter_phone", "+62 812-3456-7890")
            .ok(),
        Some(json!("081234567890"))
    );
}

#[test]
fn the_report_fits_in_two_minutes() {
    // Under two minutes on a phone: few questions, most of them one tap. The questions a clean report asks
    // (relevant, not calculated or fixed): 19, of which 14 must be answered, and of those only 4 typed (the
    // reporter's name, the address or landmark, the person's name, the problem); the rest are taps (choices,
    // GPS, the village picked from the assessor's area).
    let date = Generator::default_visit_date();
    let a = report_with(json!({}));
    let session = satgas()
        .session(a, date)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let asked: Vec<&Field> = fields_of(satgas().form())
        .into_iter()
        .filter(|f| session.is_relevant(&f.id).unwrap_or(false) && !f.read_only)
        .filter(|f| !matches!(f.kind, FieldType::Note | FieldType::Calculate))
        .collect();
    let required: Vec<&&Field> = asked
        .iter()
        .filter(|f| f.required == form::Requirement::Always(true))
        .collect();
    let typed: Vec<&str> = required
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                FieldType::Text | FieldType::Integer | FieldType::Nik
            )
        })
        .map(|f| f.id.as_str())
        .collect();
    assert!(asked.len() <= 19, "{} questions", asked.len());
    assert!(required.len() <= 14, "{} required", required.len());
    assert_eq!(
        typed,
        [
            "reporter_name",
            "address",
            "full_name",
            "problem_description"
        ]
    );
}

#[test]
fn the_report_and_the_asesmen_share_the_ppks_codes() {
    let report = satgas().form();
    let asesmen = ppks().form();
    assert_eq!(report.choices["ppks_type"], asesmen.choices["ppks_type"]);
    assert_eq!(codes(report, "ppks_type"), seq(1..=26));
    assert_eq!(codes(report, "urgency"), ["1", "2", "3"]);
    assert_eq!(codes(report, "first_help")[0], "0", "belum ada");
}

#[test]
fn every_prefill_key_of_the_asesmen_names_a_report_field_or_an_assignment_key() {
    // The report → asesmen mapping is declared in the asesmen: a field's `prefill` key names the report's field
    // (by id, or by that field's own prefill key). Keys the phone itself fills are the rest.
    let report_keys: BTreeSet<&str> = fields_of(satgas().form())
        .into_iter()
        .flat_map(|f| std::iter::once(f.id.as_str()).chain(f.prefill.as_deref()))
        .collect();
    let phone_keys = ["case_id", "laporan_id", "referrals", "work_area"];
    let mut from_report = BTreeSet::new();
    for f in fields_of(ppks().form()) {
        let Some(key) = f.prefill.as_deref() else {
            continue;
        };
        if report_keys.contains(key) {
            from_report.insert(f.id.as_str());
        } else {
            assert!(
                phone_keys.contains(&key) || f.read_only || key.starts_with("referral_"),
                "{} prefills from {key}, which no report field gives",
                f.id
            );
        }
    }
    for id in [
        "full_name",
        "sex",
        "has_nik",
        "nik",
        "age_estimate",
        "region",
        "address",
        "gps",
        "ppks_types",
        "problem_description",
    ] {
        assert!(
            from_report.contains(id),
            "{id} is not prefilled from the report"
        );
    }
    let laporan = field(ppks().form(), "laporan_id");
    assert!(laporan.read_only && laporan.prefill.as_deref() == Some("laporan_id"));
}

#[test]
fn generated_asesmen_after_reports_name_their_report_and_raise_no_finding() {
    let mut g = Generator::new(92);
    for _ in 0..150 {
        let report = g
            .urgent_satgas_report("17.71")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(findings(&report), vec![], "{:#?}", report.answers);
        let asesmen = g
            .asesmen_for_report(&report)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(findings(&asesmen), vec![], "{:#?}", asesmen.answers);
        check_visit_schema(&asesmen).unwrap_or_else(|e| panic!("{e}"));
        let a = &asesmen.answers;
        assert_eq!(a["laporan_id"], json!(report.visit_id.to_string()));
        assert_eq!(a["ppks_types"], report.answers["ppks_suspected"]);
        assert_eq!(a["region"], report.answers["region"]);
        assert_eq!(a["urgency"], json!("1"));
    }
    let stranger = Generator::new(1)
        .satgas_report("17.71")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(g.asesmen_for_report(&stranger).is_err());
}
