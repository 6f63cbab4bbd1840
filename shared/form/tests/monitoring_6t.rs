//! The 6T monitoring of aid distribution (`schemas/forms/monitoring_6t.json`) against the engine and the seeded
//! generator (`tepat_synth::Generator::monitoring_visit`): who may start it, generated visits raise no finding,
//! each of the six criteria is calculated as the form documents it, every rule broken alone raises exactly its
//! finding, and the flows hide (and drop from export) what does not apply. (Loading, the form JSON Schema, the
//! visit JSON Schema, bilingual texts and documented rule names are checked with the other forms in `forms.rs`.)

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use tepat_form::{self as form, CompiledForm, FieldRole, Level};
use tepat_protocol::{Answers, VisitDoc};
use tepat_synth::{Generator, Lapse};

fn form() -> &'static CompiledForm {
    static FORM: OnceLock<CompiledForm> = OnceLock::new();
    FORM.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/forms/monitoring_6t.json");
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        form::load(&json).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// (path, rule, level) of each finding.
fn findings(answers: &Answers, on: NaiveDate) -> Vec<(String, String, Level)> {
    form()
        .validate(answers, on)
        .into_iter()
        .map(|f| (f.path, f.rule, f.level))
        .collect()
}

fn exported(answers: &Answers, on: NaiveDate) -> Answers {
    form().evaluate(answers, on).exported
}

/// A value as a cell would show it (`"1"`, `6`).
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f}")),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

const CRITERIA: [&str; 6] = [
    "t_sasaran",
    "t_jumlah",
    "t_waktu",
    "t_kualitas",
    "t_harga",
    "t_administrasi",
];

/// The six results of KPM `i` as exported, in the order of [`CRITERIA`] (e.g. `"111911"`).
fn results(answers: &Answers, on: NaiveDate, i: usize) -> String {
    let out = exported(answers, on);
    let member = &out["kpm"][i];
    CRITERIA
        .iter()
        .map(|c| text(member.get(*c)))
        .collect::<Vec<_>>()
        .concat()
}

fn kpm_mut(answers: &mut Answers, i: usize) -> &mut serde_json::Map<String, Value> {
    answers
        .get_mut("kpm")
        .and_then(|k| k.get_mut(i))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no kpm[{i}]"))
}

/// A clean visit of PKH and Sembako together (money and goods, so every question applies), two KPM with no lapse,
/// paid on schedule; no finding at all.
fn clean() -> VisitDoc {
    for seed in 0.. {
        let mut g = Generator::new(600 + seed);
        let doc = g
            .monitoring_visit_with("17.71", &[Lapse::None, Lapse::None], false)
            .unwrap_or_else(|e| panic!("{e}"));
        if doc.answers.get("programme") == Some(&json!("3")) {
            assert_eq!(findings(&doc.answers, doc.visit_date), vec![]);
            return doc;
        }
    }
    unreachable!()
}

#[test]
fn pendamping_pkh_and_tksk_may_start_it_without_an_assignment() {
    let f = form().form();
    assert_eq!((f.id.as_str(), f.version), ("monitoring_6t", 1));
    assert_eq!(
        f.start_without_assignment,
        vec![FieldRole::Enumerator, FieldRole::Assessor]
    );
    // A monitoring has no found / not-found outcome.
    assert!(f.outcome_field().is_none());
}

#[test]
fn generated_monitoring_visits_raise_no_finding() {
    let mut g = Generator::new(61);
    let mut kpm = 0;
    let mut not_met = [0usize; 6];
    for region in ["17.71", "17.02", "31.75", "51", "94"] {
        for _ in 0..60 {
            let doc = g.monitoring_visit(region).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(doc.form_id, "monitoring_6t");
            assert_eq!(doc.assignment_id, None);
            let found = findings(&doc.answers, doc.visit_date);
            assert_eq!(found, vec![], "{region}: {:#?}", doc.answers);
            let out = exported(&doc.answers, doc.visit_date);
            let members = out["kpm"].as_array().cloned().unwrap_or_default();
            kpm += members.len();
            for member in &members {
                for (n, c) in CRITERIA.iter().enumerate() {
                    if text(member.get(*c)) == "2" {
                        not_met[n] += 1;
                    }
                }
            }
        }
    }
    assert!(kpm >= 300 * 3, "{kpm}");
    // Every criterion fails somewhere, none everywhere.
    for (n, count) in not_met.iter().enumerate() {
        assert!(
            *count > 0 && *count < kpm / 4,
            "{}: {count} of {kpm}",
            CRITERIA[n]
        );
    }
}

#[test]
fn each_lapse_fails_exactly_its_criterion_and_is_recorded_as_its_problem() {
    // (lapse, expected results for a KPM given money and goods, the problem recorded)
    let cases = [
        (Lapse::None, "111111", "0"),
        (Lapse::NotOnList, "211111", "1"),
        (Lapse::LessThanDue, "121111", "2"),
        (Lapse::PoorQuality, "111211", "4"),
        (Lapse::Levy, "111121", "5"),
        (Lapse::ForcedPurchase, "111121", "6"),
        (Lapse::NoReceipt, "111112", "9"),
    ];
    for (lapse, expected, problem) in cases {
        let mut found = false;
        for seed in 0..40 {
            let mut g = Generator::new(700 + seed);
            let doc = g
                .monitoring_visit_with("17.71", &[lapse], false)
                .unwrap_or_else(|e| panic!("{e}"));
            if doc.answers.get("programme") != Some(&json!("3")) {
                continue;
            }
            found = true;
            assert_eq!(findings(&doc.answers, doc.visit_date), vec![], "{lapse:?}");
            assert_eq!(
                results(&doc.answers, doc.visit_date, 0),
                expected,
                "{lapse:?}"
            );
            assert_eq!(
                doc.answers["kpm"][0]["problems"],
                json!([problem]),
                "{lapse:?}"
            );
            break;
        }
        assert!(found, "{lapse:?}: no visit of both programmes");
    }
    // Paid after the schedule: only tepat waktu fails, recorded as late.
    let mut g = Generator::new(77);
    let doc = g
        .monitoring_visit_with("17.71", &[Lapse::None], true)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(findings(&doc.answers, doc.visit_date), vec![]);
    let r = results(&doc.answers, doc.visit_date, 0);
    assert_eq!(&r[..3], "112", "{r}");
    assert_eq!(doc.answers["kpm"][0]["problems"], json!(["3"]));
    // Not received yet: nothing can be judged but the list and, once the schedule has passed, the time.
    for seed in 0..20 {
        let mut g = Generator::new(800 + seed);
        let doc = g
            .monitoring_visit_with("17.71", &[Lapse::NotReceived], false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(findings(&doc.answers, doc.visit_date), vec![]);
        let schedule_end = text(doc.answers.get("schedule_end"));
        let passed = schedule_end < doc.visit_date.format("%Y-%m-%d").to_string();
        let expected = if passed { "192999" } else { "199999" };
        assert_eq!(results(&doc.answers, doc.visit_date, 0), expected);
    }
}

#[test]
fn the_six_criteria_are_calculated_as_the_form_documents_them() {
    let doc = clean();
    let on = doc.visit_date;
    let day = move |d: i64| json!((on + Duration::days(d)).format("%Y-%m-%d").to_string());
    assert_eq!(results(&doc.answers, on, 0), "111111");
    let out = exported(&doc.answers, on);
    assert_eq!(text(out["kpm"][0].get("t_met")), "6");
    assert_eq!(text(out["kpm"][0].get("t_not_met")), "0");
    assert_eq!(text(out["kpm"][0].get("kpm_all_met")), "1");
    assert_eq!(text(out.get("kpm_count")), "2");
    assert_eq!(text(out.get("kpm_all_met_count")), "2");
    // One change to KPM 0 at a time → its results.
    /// What changes on KPM 0, the answers changed, the results expected (empty: the late case's `112111`).
    type Case = (&'static str, Vec<(&'static str, Value)>, &'static str);
    let cases: Vec<Case> = vec![
        ("list unknown", vec![("on_list", json!("9"))], "911111"),
        (
            "collected without a power of attorney",
            vec![("collected_by", json!("4"))],
            "211111",
        ),
        ("less money", vec![("cash_received", json!(1))], "121111"),
        (
            "more money than due is not less",
            vec![("cash_received", json!(9_000_000))],
            "111111",
        ),
        (
            "goods worth less",
            vec![("goods_value_received", json!(0))],
            "121111",
        ),
        (
            "received after the schedule",
            vec![("received_date", day(0)), ("problems", json!(["3"]))],
            "",
        ),
        (
            "spoilt goods",
            vec![("goods_quality", json!("3"))],
            "111211",
        ),
        ("overpriced", vec![("price_fair", json!("2"))], "111121"),
        ("price unknown", vec![("price_fair", json!("9"))], "111191"),
        (
            "a levy",
            vec![("paid_charge", json!("1")), ("paid_amount", json!(10_000))],
            "111121",
        ),
        (
            "forced purchase",
            vec![("forced_purchase", json!("1"))],
            "111121",
        ),
        ("no KTP shown", vec![("shown_ktp", json!("2"))], "111112"),
        (
            "data match unknown",
            vec![("data_match", json!("9"))],
            "111119",
        ),
        (
            "money only: quality is not judged",
            vec![("aid_form", json!("1"))],
            "111911",
        ),
    ];
    for (what, changes, expected) in cases {
        let mut answers = doc.answers.clone();
        // The schedule ends the day before the visit for the late case; otherwise as generated.
        if what == "received after the schedule" {
            answers.insert("schedule_end".into(), day(-1));
        }
        for (key, value) in changes {
            kpm_mut(&mut answers, 0).insert(key.into(), value);
        }
        let expected = if expected.is_empty() {
            "112111"
        } else {
            expected
        };
        assert_eq!(results(&answers, on, 0), expected, "{what}");
        let out = exported(&answers, on);
        let count = |code: char| expected.chars().filter(|c| *c == code).count().to_string();
        assert_eq!(text(out["kpm"][0].get("t_met")), count('1'), "{what}");
        assert_eq!(text(out["kpm"][0].get("t_not_met")), count('2'), "{what}");
        let all_met = if expected == "111111" { "1" } else { "0" };
        assert_eq!(text(out["kpm"][0].get("kpm_all_met")), all_met, "{what}");
        assert_eq!(
            text(out.get("kpm_all_met_count")),
            if all_met == "1" { "2" } else { "1" },
            "{what}"
        );
        // KPM 1 is untouched.
        assert_eq!(results(&answers, on, 1), "111111", "{what}");
    }
    // Not received: waiting is late only once the schedule has passed.
    let mut answers = doc.answers.clone();
    kpm_mut(&mut answers, 0).insert("received".into(), json!("2"));
    answers.insert("schedule_end".into(), day(0));
    assert_eq!(results(&answers, on, 0), "199999");
    answers.insert("schedule_end".into(), day(-1));
    assert_eq!(results(&answers, on, 0), "192999");
}

#[test]
fn every_rule_broken_alone_raises_exactly_its_finding() {
    let doc = clean();
    let on = doc.visit_date;
    let day = move |d: i64| json!((on + Duration::days(d)).format("%Y-%m-%d").to_string());
    type Break = Box<dyn Fn(&mut Answers)>;
    let top = |key: &'static str, value: Value| -> Break {
        Box::new(move |a: &mut Answers| {
            a.insert(key.into(), value.clone());
        })
    };
    let member = |changes: Vec<(&'static str, Value)>| -> Break {
        Box::new(move |a: &mut Answers| {
            for (key, value) in &changes {
                kpm_mut(a, 0).insert((*key).into(), value.clone());
            }
        })
    };
    let cases: Vec<(&str, Break, &str, Level)> = vec![
        (
            "name_length",
            top("point_name", json!("A")),
            "point_name",
            Level::Error,
        ),
        (
            "name_length",
            member(vec![("kpm_name", json!("B"))]),
            "kpm[0].kpm_name",
            Level::Error,
        ),
        (
            "point_code_format",
            top("point_code", json!("#1")),
            "point_code",
            Level::Error,
        ),
        (
            "period_year_range",
            top("period_year", json!(2019)),
            "period_year",
            Level::Error,
        ),
        (
            "period_year_range",
            top("period_year", json!(2027)),
            "period_year",
            Level::Error,
        ),
        (
            "distribution_date_past",
            top("distribution_date", day(1)),
            "distribution_date",
            Level::Error,
        ),
        (
            "received_date_past",
            Box::new(move |a: &mut Answers| {
                a.insert("schedule_end".into(), day(30));
                kpm_mut(a, 0).insert("received_date".into(), day(1));
            }),
            "kpm[0].received_date",
            Level::Error,
        ),
        (
            "non_negative",
            member(vec![("cash_due", json!(-1))]),
            "kpm[0].cash_due",
            Level::Error,
        ),
        (
            "rice_kg_range",
            member(vec![("rice_kg", json!(0))]),
            "kpm[0].rice_kg",
            Level::Error,
        ),
        (
            "paid_amount_positive",
            member(vec![
                ("paid_charge", json!("1")),
                ("paid_amount", json!(0)),
                ("problems", json!(["5"])),
            ]),
            "kpm[0].paid_amount",
            Level::Error,
        ),
        (
            "none_exclusive",
            member(vec![("problems", json!(["0", "7"]))]),
            "kpm[0].problems",
            Level::Error,
        ),
        (
            "problems_recorded",
            member(vec![("signed_receipt", json!("2"))]),
            "kpm[0].problems",
            Level::Warning,
        ),
        (
            "required",
            member(vec![("problems", json!(["11"]))]),
            "kpm[0].problem_notes",
            Level::Error,
        ),
        (
            "nik_format",
            member(vec![("kpm_nik", json!("123"))]),
            "kpm[0].kpm_nik",
            Level::Error,
        ),
        (
            "kk_format",
            member(vec![("kpm_kk", json!("12"))]),
            "kpm[0].kpm_kk",
            Level::Error,
        ),
        (
            "gps_accuracy",
            top(
                "gps",
                json!({"lat": -3.8, "lon": 102.28, "accuracy_m": 35.0}),
            ),
            "gps",
            Level::Warning,
        ),
        (
            "gps_kosong",
            Box::new(|a: &mut Answers| {
                a.remove("gps");
            }),
            "gps",
            Level::Warning,
        ),
        (
            "required",
            Box::new(|a: &mut Answers| {
                a.remove("photo_point");
            }),
            "photo_point",
            Level::Error,
        ),
        (
            "max_count",
            Box::new(|a: &mut Answers| {
                let one = a["kpm"][0].clone();
                a.insert("kpm".into(), Value::Array(vec![one; 31]));
            }),
            "kpm",
            Level::Error,
        ),
    ];
    for (rule, apply, path, level) in cases {
        let mut answers = doc.answers.clone();
        // Problem notes are free text; a break that records a problem leaves them as generated (none).
        kpm_mut(&mut answers, 0).remove("problem_notes");
        apply(&mut answers);
        assert_eq!(
            findings(&answers, on),
            vec![(path.to_string(), rule.to_string(), level)],
            "{rule} at {path}"
        );
    }
}

#[test]
fn what_does_not_apply_is_hidden_and_not_exported() {
    let doc = clean();
    let on = doc.visit_date;
    // Not received: who collected, when, amounts received, goods, price, paperwork are neither asked nor exported.
    let mut answers = doc.answers.clone();
    kpm_mut(&mut answers, 0).insert("received".into(), json!("2"));
    let out = exported(&answers, on);
    let member = out["kpm"][0].as_object().cloned().unwrap_or_default();
    for hidden in [
        "collected_by",
        "received_date",
        "cash_received",
        "goods_items",
        "rice_kg",
        "goods_value_received",
        "goods_quality",
        "price_fair",
        "paid_charge",
        "forced_purchase",
        "shown_kks",
        "shown_ktp",
        "signed_receipt",
        "data_match",
    ] {
        assert!(!member.contains_key(hidden), "{hidden} exported");
    }
    // What was due is still asked.
    assert!(member.contains_key("cash_due") && member.contains_key("goods_value_due"));
    assert_eq!(findings(&answers, on), vec![]);
    // Money only: the goods questions go.
    let mut answers = doc.answers.clone();
    kpm_mut(&mut answers, 0).insert("aid_form".into(), json!("1"));
    let out = exported(&answers, on);
    for hidden in [
        "goods_value_due",
        "goods_items",
        "rice_kg",
        "goods_value_received",
        "goods_quality",
        "price_fair",
    ] {
        assert!(out["kpm"][0].get(hidden).is_none(), "{hidden} exported");
    }
    assert_eq!(findings(&answers, on), vec![]);
    // The other kind of point is asked only for "other"; the guideline question only of an e-Warong.
    let mut answers = doc.answers.clone();
    answers.insert("point_type".into(), json!("5"));
    assert_eq!(
        findings(&answers, on),
        vec![("point_type_other".into(), "required".into(), Level::Error)]
    );
    answers.insert("point_type".into(), json!("3"));
    answers.insert("point_type_other".into(), json!("Balai desa"));
    answers.insert("point_pedum".into(), json!("1"));
    let out = exported(&answers, on);
    assert!(out.get("point_type_other").is_none() && out.get("point_pedum").is_none());
    // "No problem" hides the description.
    let mut answers = doc.answers.clone();
    kpm_mut(&mut answers, 0).insert("problem_notes".into(), json!("Tidak ada."));
    let out = exported(&answers, on);
    assert!(out["kpm"][0].get("problem_notes").is_none());
    // At least one KPM.
    let mut answers = doc.answers.clone();
    answers.insert("kpm".into(), json!([]));
    let rules: Vec<String> = findings(&answers, on).into_iter().map(|f| f.1).collect();
    assert!(
        rules.iter().any(|r| r == "min_count" || r == "required"),
        "{rules:?}"
    );
}

#[test]
fn the_same_seed_gives_the_same_monitoring_visits() {
    let a = Generator::new(5).monitoring_visit("17.71").ok();
    let b = Generator::new(5).monitoring_visit("17.71").ok();
    assert!(a.is_some());
    assert_eq!(a, b);
}
