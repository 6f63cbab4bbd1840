//! Tepat's own forms, every file in `schemas/forms/` (so forms added later are covered), exported to XLSForm and
//! imported back: the same form, no warning, and the same behaviour (findings, relevance, calculated values)
//! on generated cases: the synthetic generator's visits for the forms it knows, the same visits with answers
//! dropped and scrambled, and random answers drawn from each form's own fields for every form.

use std::path::PathBuf;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tepat_form::{CompiledForm, Field, FieldType, Form};
use tepat_protocol::Answers;
use tepat_synth::{DTSEN_FORM, Generator, PPKS_FORM, Rule};
use tepat_xlsform::{Limits, export, import};

/// Every form file, by name.
fn forms() -> Vec<(String, CompiledForm)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/forms");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "the forms in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let json = std::fs::read_to_string(&p).unwrap();
            let form = tepat_form::load(&json).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), form)
        })
        .collect()
}

fn round_trip(name: &str, form: &Form) -> CompiledForm {
    let bytes = export(form).unwrap_or_else(|e| panic!("{name}: export: {e}"));
    let imported = import(&bytes, "unused", &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: import: {e}"));
    assert!(
        imported.warnings.is_empty(),
        "{name}: warnings {:#?}",
        imported.warnings
    );
    tepat_form::compile(imported.form).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_form_comes_back_as_the_same_form() {
    for (name, form) in forms() {
        let back = round_trip(&name, form.form());
        assert_eq!(back.form(), form.form(), "{name}");
        // And the same JSON, key for key.
        assert_eq!(
            serde_json::to_value(back.form()).unwrap(),
            serde_json::to_value(form.form()).unwrap(),
            "{name}"
        );
    }
}

/// A plausible (or, now and then, wrong) answer for a field.
fn answer(rng: &mut StdRng, form: &Form, field: &Field, depth: usize) -> Option<Value> {
    let wrong = rng.random_bool(0.08);
    Some(match field.kind {
        FieldType::Note | FieldType::Calculate => return None,
        FieldType::Text => {
            if wrong {
                json!(12)
            } else {
                json!(
                    *[
                        "Siti Aminah",
                        "x",
                        "Jl. Merdeka No. 12",
                        "081234567890",
                        "5",
                        "=1+1",
                        "Tidak ada keterangan lebih lanjut dari tetangga sekitar rumah"
                    ]
                    .choose(rng)?
                )
            }
        }
        FieldType::Integer => {
            if wrong {
                json!("dua")
            } else {
                json!(rng.random_range(-3..130))
            }
        }
        FieldType::Decimal => json!(f64::from(rng.random_range(-20..2_000)) / 4.0),
        FieldType::Date => {
            if wrong {
                json!("31-02-2020")
            } else {
                let day = NaiveDate::from_ymd_opt(1900, 1, 1)?
                    + chrono::Duration::days(rng.random_range(0..50_000));
                json!(day.to_string())
            }
        }
        FieldType::SelectOne | FieldType::SelectMultiple => {
            let list = form.choices.get(field.choices.as_deref()?)?;
            let mut codes: Vec<&str> = list.iter().map(|c| c.value.as_str()).collect();
            if wrong {
                codes = vec!["zz"];
            }
            if field.kind == FieldType::SelectOne {
                json!(codes.choose(rng)?)
            } else {
                let n = rng.random_range(1..=codes.len().min(3));
                let picked: Vec<&str> = codes.choose_multiple(rng, n).copied().collect();
                json!(picked)
            }
        }
        FieldType::Geopoint => json!({
            "lat": -3.8 + rng.random_range(-100..100) as f64 / 1000.0,
            "lon": 102.26 + rng.random_range(-100..100) as f64 / 1000.0,
            "accuracy_m": rng.random_range(1..60),
        }),
        FieldType::Photo => json!({"file": "IMG_1.jpg", "sha256": "ab".repeat(32)}),
        FieldType::Nik => json!(
            *[
                "1771010507860003",
                "1771014101900001",
                "1771015512900002",
                "123",
                "3201010101010000"
            ]
            .choose(rng)?
        ),
        FieldType::Kk => json!(*["1771010101230001", "9999010101230001", "12"].choose(rng)?),
        FieldType::Region => json!(
            *[
                "17",
                "17.71",
                "17.71.01",
                "17.71.01.1001",
                "32.01.01.2001",
                "99.99"
            ]
            .choose(rng)?
        ),
        FieldType::Repeat => {
            if depth > 0 {
                return None;
            }
            let n = rng.random_range(0..5);
            let members: Vec<Value> = (0..n)
                .map(|_| Value::Object(answers_for(rng, form, &field.fields, depth + 1)))
                .collect();
            json!(members)
        }
    })
}

fn answers_for(rng: &mut StdRng, form: &Form, fields: &[Field], depth: usize) -> Answers {
    let mut out = Answers::new();
    for field in fields {
        if rng.random_bool(0.7)
            && let Some(v) = answer(rng, form, field, depth)
        {
            out.insert(field.id.clone(), v);
        }
    }
    out
}

/// Random answers to a form's own fields.
fn random_case(rng: &mut StdRng, form: &Form) -> Answers {
    let top: Vec<Field> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.iter().cloned())
        .collect();
    answers_for(rng, form, &top, 0)
}

/// A real visit with a few answers dropped or replaced by random ones: flows and rules half-way.
fn scrambled(rng: &mut StdRng, form: &Form, answers: &Answers) -> Answers {
    let mut out = answers.clone();
    let top: Vec<Field> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.iter().cloned())
        .collect();
    for _ in 0..rng.random_range(1..6) {
        let Some(field) = top.choose(rng) else { break };
        if rng.random_bool(0.5) {
            out.remove(&field.id);
        } else if let Some(v) = answer(rng, form, field, 0) {
            out.insert(field.id.clone(), v);
        }
    }
    out
}

/// The cases for a form: the generator's visits where it knows the form, scrambled copies, random answers.
fn cases(form: &Form, seed: u64) -> Vec<(Answers, NaiveDate)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut generator = Generator::new(seed);
    let date = generator.visit_date();
    let mut real: Vec<Answers> = Vec::new();
    if form.id == DTSEN_FORM.0 {
        for _ in 0..120 {
            real.push(generator.household("17.71").unwrap().answers);
        }
    }
    if form.id == PPKS_FORM.0 {
        for _ in 0..120 {
            real.push(generator.ppks_case("17.71").unwrap().answers);
        }
    }
    if form.id == tepat_synth::SATGAS_FORM.0 {
        for _ in 0..120 {
            real.push(generator.satgas_report("17.71").unwrap().answers);
        }
        for rule in tepat_synth::SatgasRule::ALL {
            real.push(generator.satgas_broken(rule).0.answers);
        }
    }
    if form.id == tepat_synth::MONITORING_FORM.0 {
        use tepat_synth::Lapse;
        for _ in 0..60 {
            real.push(generator.monitoring_visit("17.71").unwrap().answers);
        }
        // Each lapse breaks one of the six criteria the form calculates; late or on time.
        for lapse in [
            Lapse::NotOnList,
            Lapse::LessThanDue,
            Lapse::PoorQuality,
            Lapse::Levy,
            Lapse::ForcedPurchase,
            Lapse::NoReceipt,
            Lapse::NotReceived,
        ] {
            for late in [false, true] {
                let visit = generator.monitoring_visit_with("17.71", &[lapse], late);
                real.push(visit.unwrap().answers);
            }
        }
    }
    for rule in Rule::ALL {
        if rule.form_id() == form.id {
            real.push(generator.broken(rule).0.answers);
        }
    }
    let mut out: Vec<(Answers, NaiveDate)> = Vec::new();
    for answers in &real {
        out.push((answers.clone(), date));
        out.push((scrambled(&mut rng, form, answers), date));
    }
    for _ in 0..300 {
        out.push((random_case(&mut rng, form), date));
    }
    out
}

#[test]
fn every_form_behaves_the_same_after_the_round_trip() {
    for (name, form) in forms() {
        let back = round_trip(&name, form.form());
        let cases = cases(form.form(), 15);
        let (mut findings, mut hidden, mut calculated) = (0usize, 0usize, 0usize);
        for (i, (answers, date)) in cases.iter().enumerate() {
            let before = form.evaluate(answers, *date);
            let after = back.evaluate(answers, *date);
            assert_eq!(
                after, before,
                "{name}: case {i}: findings and export differ"
            );
            let relevant = form.relevant_answers(answers, *date);
            assert_eq!(
                back.relevant_answers(answers, *date),
                relevant,
                "{name}: case {i}: relevance differs"
            );
            let calc = form.calculated(answers, *date);
            assert_eq!(
                back.calculated(answers, *date),
                calc,
                "{name}: case {i}: calculated values differ"
            );
            findings += before.findings.len();
            hidden += usize::from(relevant.len() < answers.len());
            calculated += usize::from(!calc.is_empty());
        }
        // The cases exercise what they compare: rules fire, relevance hides, calculations compute (in a form that
        // has any: the Satgas report has none).
        let has_calculations = form
            .form()
            .sections
            .iter()
            .flat_map(|s| &s.fields)
            .any(|f| f.kind == FieldType::Calculate);
        assert!(
            findings > cases.len() && hidden > 0 && (calculated > 0 || !has_calculations),
            "{name}: {} cases, {findings} findings, {hidden} with hidden answers, {calculated} with calculations",
            cases.len()
        );
    }
}
