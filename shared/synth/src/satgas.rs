//! Synthetic Satgas Tanggap Cepat reports (`schemas/forms/satgas_laporan.json`): a person reported by a neighbour,
//! a family member, the RT or the police, as far as the reporter knows them, and what the team did on the spot; and
//! the PPKS asesmen that follows a report, opened with the report's data.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use super::family::{birth_date_for_age, nik_for};
use super::names;
use super::ppks::{self, PpksType};
use super::rules::Expected;
use super::visit::{gps, phone, photo, weighted};
use chrono::NaiveDate;
use tepat_form::Level;
use tepat_form::identity::Sex;
use tepat_protocol::Answers;

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Who a report is about, as the generator knows them (the report itself may know less).
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub name: String,
    pub sex: Sex,
    pub age: i32,
    pub nik: Option<String>,
    /// The PPKS type the person really is (the first of the suspected types).
    pub kind: &'static str,
}

/// The answers of one report about a person of `kind`, aged `age`, in `village`; the person behind it.
pub(crate) fn report(
    rng: &mut impl Rng,
    kind: &'static PpksType,
    age: i32,
    village: &str,
    work_area: &str,
    on: NaiveDate,
    visit_key: &str,
) -> (Answers, Reported) {
    let mut a = Answers::new();
    let culture = names::pick_culture(rng, village.get(..2).unwrap_or("17"));
    let reporter_sex = if rng.random_bool(0.5) {
        Sex::Female
    } else {
        Sex::Male
    };
    let born = 1970 + rng.random_range(0..30);
    let reporter = names::person_name(rng, culture, reporter_sex, born, 0, "");
    a.insert("reporter_name".into(), s(&reporter));
    if rng.random_bool(0.6) {
        a.insert("reporter_phone".into(), s(&phone(rng)));
    }
    let relation = weighted(
        rng,
        &[
            ("1", 30),
            ("2", 15),
            ("3", 20),
            ("4", 10),
            ("5", 8),
            ("6", 5),
            ("7", 7),
            ("9", 5),
        ],
    );
    a.insert("reporter_relation".into(), s(relation));
    if relation == "9" {
        a.insert("reporter_relation_other".into(), s("Guru sekolah"));
    }

    a.insert("gps".into(), gps(rng, village));
    if !work_area.is_empty() {
        a.insert("work_area".into(), s(work_area));
    }
    a.insert("region".into(), s(village));
    let street = names::STREETS.choose(rng).copied().unwrap_or("Jl. Merdeka");
    let landmark = [
        "depan pasar",
        "dekat masjid",
        "belakang terminal",
        "samping SD",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("dekat masjid");
    a.insert(
        "address".into(),
        s(&format!(
            "{street} No. {}, {landmark}",
            rng.random_range(1..=150)
        )),
    );

    let sex = if kind.female_only || rng.random_bool(0.5) {
        Sex::Female
    } else {
        Sex::Male
    };
    let birth = birth_date_for_age(rng, age, on);
    let family_name = names::family_name(rng, culture);
    let name = names::person_name(
        rng,
        culture,
        sex,
        chrono::Datelike::year(&birth),
        0,
        family_name,
    );
    let name_known = rng.random_bool(0.85);
    a.insert("name_known".into(), s(if name_known { "1" } else { "2" }));
    if name_known {
        a.insert("full_name".into(), s(&name));
    }
    let sex_known = name_known || rng.random_bool(0.7);
    a.insert("sex".into(), s(if sex_known { sex.code() } else { "9" }));
    if rng.random_bool(0.8) {
        // An estimate: the nearest five years for adults.
        let estimate = if age >= 20 { (age + 2) / 5 * 5 } else { age };
        a.insert("age_estimate".into(), json!(estimate));
    }
    let district = village.get(..8).unwrap_or(village).to_string();
    let nik = nik_for(rng, &district, birth, sex);
    let has_nik = if name_known {
        weighted(rng, &[("1", 40), ("2", 10), ("9", 50)])
    } else {
        "9"
    };
    a.insert("has_nik".into(), s(has_nik));
    if has_nik == "1" && sex_known {
        a.insert("nik".into(), s(&nik));
    }

    let mut suspected = vec![kind.code];
    if matches!(kind.code, "8" | "11" | "12" | "13") && rng.random_bool(0.4) {
        suspected.push("24");
    }
    a.insert(
        "ppks_suspected".into(),
        Value::Array(suspected.iter().map(|c| s(c)).collect()),
    );
    a.insert("problem_description".into(), s(kind.story));
    let urgency = if matches!(kind.code, "1" | "6" | "18" | "19") {
        "1"
    } else {
        weighted(rng, &[("1", 15), ("2", 45), ("3", 40)])
    };
    a.insert("urgency".into(), s(urgency));
    let help: Vec<Value> = if rng.random_bool(0.35) {
        vec![s("0")]
    } else {
        let how_many = rng.random_range(1..=2);
        ["1", "2", "3", "4", "5", "6", "7", "8"]
            .choose_multiple(rng, how_many)
            .map(|c| s(c))
            .collect()
    };
    a.insert("first_help".into(), Value::Array(help));
    let needed = urgency == "1" || rng.random_bool(0.75);
    a.insert("asesmen_needed".into(), s(if needed { "1" } else { "2" }));
    if !needed {
        let reason = weighted(
            rng,
            &[
                ("1", 30),
                ("2", 20),
                ("3", 15),
                ("4", 20),
                ("5", 10),
                ("9", 5),
            ],
        );
        a.insert("no_asesmen_reason".into(), s(reason));
        if reason == "9" {
            a.insert(
                "no_asesmen_notes".into(),
                s("Keluarga menolak didatangi petugas."),
            );
        }
    }
    if rng.random_bool(0.5) {
        a.insert(
            "photo".into(),
            photo(visit_key, "report", on, rng.random_range(1..9000)),
        );
    }
    let reported = Reported {
        name,
        sex,
        age,
        nik: Some(nik),
        kind: kind.code,
    };
    (a, reported)
}

/// The answers of the asesmen that follows `report` (about `person`): the PPKS asesmen of the same person, with
/// the report's data as the phone prefills them (the asesmen's `prefill` keys naming the report's fields) and
/// confirmed, `laporan_id` naming the report, and the rest of the asesmen as the assessor finds it.
pub(crate) fn asesmen_after(
    rng: &mut impl Rng,
    report: &Answers,
    report_id: &str,
    person: &Reported,
    work_area: &str,
    on: NaiveDate,
    visit_key: &str,
) -> Answers {
    let kind = ppks::TYPES
        .iter()
        .find(|t| t.code == person.kind)
        .unwrap_or(&ppks::TYPES[23]);
    let village = report
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or("17.71.01.1001")
        .to_string();
    let client = ppks::Client {
        kind,
        age: person.age,
        sex: Some(person.sex),
    };
    let mut a = ppks::case(rng, &client, &village, work_area, on, visit_key);
    // Found at the asesmen: who the person is, where the report placed them.
    a.insert("full_name".into(), s(&person.name));
    if let Some(address) = report.get("address") {
        a.insert("address".into(), address.clone());
    }
    // The report's suspicion, kept when the asesmen confirms it (the type's own age range and sex hold).
    if let Some(types) = report.get("ppks_suspected") {
        a.insert("ppks_types".into(), types.clone());
    }
    a.insert("ppks_primary".into(), s(person.kind));
    a.insert("case_source".into(), s("3"));
    a.insert("laporan_id".into(), s(report_id));
    if report.get("urgency").and_then(Value::as_str) == Some("1") {
        a.insert("urgency".into(), s("1"));
    }
    // The asesmen's NIK is its own (it encodes the birth date the asesmen records).
    a
}

/// Every rule of the report form that a report can break alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SatgasRule {
    /// The reporter's name under 2 characters.
    ReporterNameLength,
    /// The reporter's phone is not a mobile number.
    ReporterPhone,
    /// "Other" reporter without saying who.
    OtherReporterUnnamed,
    /// No GPS point (warning: finalised with a note).
    GpsMissing,
    /// The person's name said to be known, and not given.
    NameMissing,
    /// The person's name under 2 characters.
    NameLength,
    /// An approximate age over 110.
    AgeEstimateRange,
    /// A NIK of 15 digits (built-in `nik` type check).
    NikFormat,
    /// A NIK that encodes the other sex (warning).
    NikSex,
    /// No suspected PPKS type.
    PpksSuspectedMissing,
    /// The problem described in under 10 characters.
    ProblemLength,
    /// First help "none yet" chosen with a kind of help.
    FirstHelpNoneExclusive,
    /// An emergency report that needs no asesmen (warning).
    UrgentWithoutAsesmen,
    /// No asesmen needed, and no reason given.
    NoAsesmenReasonMissing,
}

impl SatgasRule {
    pub const ALL: [SatgasRule; 14] = [
        SatgasRule::ReporterNameLength,
        SatgasRule::ReporterPhone,
        SatgasRule::OtherReporterUnnamed,
        SatgasRule::GpsMissing,
        SatgasRule::NameMissing,
        SatgasRule::NameLength,
        SatgasRule::AgeEstimateRange,
        SatgasRule::NikFormat,
        SatgasRule::NikSex,
        SatgasRule::PpksSuspectedMissing,
        SatgasRule::ProblemLength,
        SatgasRule::FirstHelpNoneExclusive,
        SatgasRule::UrgentWithoutAsesmen,
        SatgasRule::NoAsesmenReasonMissing,
    ];
}

fn expected(rule: &'static str, level: Level, path: &str) -> Expected {
    Expected {
        rule,
        level,
        path: path.to_string(),
    }
}

/// Breaks `rule` on a clean report (see `Generator::clean_satgas_report`): the finding that must follow alone.
pub(crate) fn break_rule(
    rng: &mut impl Rng,
    rule: SatgasRule,
    a: &mut Answers,
    on: NaiveDate,
) -> Expected {
    use Level::{Error, Warning};
    match rule {
        SatgasRule::ReporterNameLength => {
            a.insert("reporter_name".into(), s("A"));
            expected("name_length", Error, "reporter_name")
        }
        SatgasRule::ReporterPhone => {
            a.insert("reporter_phone".into(), s("0212345"));
            expected("phone_format", Error, "reporter_phone")
        }
        SatgasRule::OtherReporterUnnamed => {
            a.insert("reporter_relation".into(), s("9"));
            a.remove("reporter_relation_other");
            expected("required", Error, "reporter_relation_other")
        }
        SatgasRule::GpsMissing => {
            a.remove("gps");
            expected("gps_missing", Warning, "gps")
        }
        SatgasRule::NameMissing => {
            a.remove("full_name");
            expected("required", Error, "full_name")
        }
        SatgasRule::NameLength => {
            a.insert("full_name".into(), s("S"));
            expected("name_length", Error, "full_name")
        }
        SatgasRule::AgeEstimateRange => {
            a.insert("age_estimate".into(), json!(111));
            expected("age_estimate_range", Error, "age_estimate")
        }
        SatgasRule::NikFormat => {
            let nik = a
                .get("nik")
                .and_then(Value::as_str)
                .unwrap_or("1771010101800001")
                .to_string();
            a.insert("nik".into(), s(nik.get(..15).unwrap_or("123")));
            expected("nik_format", Error, "nik")
        }
        SatgasRule::NikSex => {
            let sex = a.get("sex").and_then(Value::as_str).unwrap_or("1");
            let other = if sex == "1" { Sex::Female } else { Sex::Male };
            let birth = birth_date_for_age(rng, 45, on);
            a.insert("nik".into(), s(&nik_for(rng, "17.71.01", birth, other)));
            expected("r04_nik_sex", Warning, "nik")
        }
        SatgasRule::PpksSuspectedMissing => {
            a.remove("ppks_suspected");
            expected("required", Error, "ppks_suspected")
        }
        SatgasRule::ProblemLength => {
            a.insert("problem_description".into(), s("Sakit"));
            expected("problem_length", Error, "problem_description")
        }
        SatgasRule::FirstHelpNoneExclusive => {
            a.insert("first_help".into(), json!(["0", "1"]));
            expected("none_exclusive", Error, "first_help")
        }
        SatgasRule::UrgentWithoutAsesmen => {
            a.insert("urgency".into(), s("1"));
            a.insert("asesmen_needed".into(), s("2"));
            a.insert("no_asesmen_reason".into(), s("4"));
            expected("urgent_without_asesmen", Warning, "asesmen_needed")
        }
        SatgasRule::NoAsesmenReasonMissing => {
            a.insert("asesmen_needed".into(), s("2"));
            a.remove("no_asesmen_reason");
            expected("required", Error, "no_asesmen_reason")
        }
    }
}
