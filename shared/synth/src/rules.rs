//! Breaking one rule of DOMAIN.md §4 on an otherwise clean household, and the finding that must follow.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use serde_json::{Value, json};

use super::family::{self, Family};
use tepat_form::Level;
use tepat_form::identity::{self, Sex};
use tepat_form::region;
use tepat_protocol::Answers;

/// Every §4 rule the forms can break (flows, §4 rules 6 and 10, are not breakable: they hide questions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// §4.1 exactly one head.
    OneHead,
    /// §4.1 at most one spouse.
    OneSpouse,
    /// §4.2 head and spouse of opposite sex.
    SpouseSex,
    /// §4.2 spouse is married (warning).
    SpouseMarried,
    /// §4.3 NIK 16 digits (built-in `nik` type check).
    NikFormat,
    /// §4.3 No. KK 16 digits (built-in `kk` type check).
    KkFormat,
    /// §4.3 PLN customer ID 12 digits.
    PlnCustomerId,
    /// §4.3 PLN meter number 11 digits.
    PlnMeterNumber,
    /// §4.3 floor area > 0.
    FloorArea,
    /// §4.4 NIK birth date vs R30 (warning).
    NikBirthDate,
    /// §4.4 NIK sex vs R29 (warning).
    NikSex,
    /// §4.4 NIK prefix not in the region list (built-in warning).
    NikPrefix,
    /// §4.5 roster size ≠ KK member count (warning).
    RosterSize,
    /// §4.11 electric appliance without electric lighting.
    ElectricAppliance,
    /// §4.12 ≥5.5 kg cylinder ⇔ LPG 5.5/12 kg cooking.
    GasCookingFuel,
    /// §4.13 birth year 1900–now.
    BirthYear,
    /// §4.13 age at most 98.
    AgeOver98,
    /// §4.14 child ≥12 years younger than the head (warning).
    ChildAgeGap,
    /// §4.14 parent / in-law older than the head (warning).
    ParentOlder,
    /// §4.15 marital status ≠ never married under 10.
    MaritalUnder10,
    /// §4.15 married under 19 (warning).
    MarriedYoung,
    /// §4.16 aged 7–15 and never in school (warning).
    NeverSchool,
    /// §4.16 certificate impossible for the age (warning).
    LevelForAge,
    /// §4.17 found but no front photo.
    PhotoMissing,
    /// §4.17 no GPS point: KOSONG (warning).
    GpsKosong,
    /// §4.17 a GPS fix worse than the form's 20 m (warning: the enumerator says why).
    GpsAccuracy,
    /// §4.17 "could not be taken" while a point is recorded.
    GpsNotTakenWithPoint,
    /// §4.6 a member on the register recorded as a new member.
    RegisteredNotNew,
    /// PPKS asesmen: a type's age range (an abandoned child of 8 also recorded as an abandoned toddler, ≤ 5).
    PpksAgeRange,
    /// PPKS: a man recorded as an economically vulnerable woman (type 23).
    PpksSex,
    /// PPKS: the primary type is not one of the types chosen (built-in `choice_filter`).
    PpksPrimaryNotChosen,
    /// PPKS: a person with disability (type 9) with no disability recorded.
    PpksDisability,
    /// PPKS: holds a KTP-el or KK, yet recorded without a NIK (warning).
    DocumentsNik,
    /// PPKS: thoughts of suicide without the urgency "emergency" (warning).
    SuicideUrgent,
    /// PPKS: an estimated age over 110.
    AgeEstimateRange,
    /// PPKS: more than 30 people in the household.
    HouseholdSizeRange,
    /// PPKS: a problem described in under 20 characters.
    ProblemLength,
    /// PPKS: the problem began after the assessment.
    ProblemSincePast,
    /// PPKS: the problem began in a year before 1900 (the year alone given).
    ProblemSinceYearRange,
    /// PPKS: a referral dated before the problem began.
    ReferralAfterProblem,
    /// PPKS: a referral dated after the assessment.
    ReferralDatePast,
    /// PPKS follow-up: a referral's status goes back a step (accepted → referred).
    ReferralStatusOrder,
    /// PPKS: an action due before the assessment (warning).
    ActionDueFuture,
    /// PPKS: on the DTSEN register, yet neither NIK nor KK recorded to link it.
    DtsenLinkId,
    /// PPKS: a DTSEN decile outside 1–10.
    DecileRange,
    /// PPKS: health insurance "none" chosen with a scheme.
    InsuranceNoneExclusive,
    /// PPKS: a follow-up visit that names no case (`required` on `case_id`).
    FollowUpWithoutCase,
}

/// The finding a broken household must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub rule: &'static str,
    pub level: Level,
    /// Field path, e.g. `members[2].relationship`.
    pub path: String,
}

impl Rule {
    pub const ALL: [Rule; 47] = [
        Rule::OneHead,
        Rule::OneSpouse,
        Rule::SpouseSex,
        Rule::SpouseMarried,
        Rule::NikFormat,
        Rule::KkFormat,
        Rule::PlnCustomerId,
        Rule::PlnMeterNumber,
        Rule::FloorArea,
        Rule::NikBirthDate,
        Rule::NikSex,
        Rule::NikPrefix,
        Rule::RosterSize,
        Rule::ElectricAppliance,
        Rule::GasCookingFuel,
        Rule::BirthYear,
        Rule::AgeOver98,
        Rule::ChildAgeGap,
        Rule::ParentOlder,
        Rule::MaritalUnder10,
        Rule::MarriedYoung,
        Rule::NeverSchool,
        Rule::LevelForAge,
        Rule::PhotoMissing,
        Rule::GpsKosong,
        Rule::GpsAccuracy,
        Rule::GpsNotTakenWithPoint,
        Rule::RegisteredNotNew,
        Rule::PpksAgeRange,
        Rule::PpksSex,
        Rule::PpksPrimaryNotChosen,
        Rule::PpksDisability,
        Rule::DocumentsNik,
        Rule::SuicideUrgent,
        Rule::AgeEstimateRange,
        Rule::HouseholdSizeRange,
        Rule::ProblemLength,
        Rule::ProblemSincePast,
        Rule::ProblemSinceYearRange,
        Rule::ReferralAfterProblem,
        Rule::ReferralDatePast,
        Rule::ReferralStatusOrder,
        Rule::ActionDueFuture,
        Rule::DtsenLinkId,
        Rule::DecileRange,
        Rule::InsuranceNoneExclusive,
        Rule::FollowUpWithoutCase,
    ];

    /// The DOMAIN.md §4 rule number (0 for the PPKS form's own rule).
    pub fn domain_number(self) -> u8 {
        use Rule::*;
        match self {
            OneHead | OneSpouse => 1,
            SpouseSex | SpouseMarried => 2,
            NikFormat | KkFormat | PlnCustomerId | PlnMeterNumber | FloorArea => 3,
            NikBirthDate | NikSex | NikPrefix => 4,
            RosterSize => 5,
            RegisteredNotNew => 6,
            ElectricAppliance => 11,
            GasCookingFuel => 12,
            BirthYear | AgeOver98 => 13,
            ChildAgeGap | ParentOlder => 14,
            MaritalUnder10 | MarriedYoung => 15,
            NeverSchool | LevelForAge => 16,
            PhotoMissing | GpsKosong | GpsAccuracy | GpsNotTakenWithPoint => 17,
            PpksAgeRange
            | PpksSex
            | PpksPrimaryNotChosen
            | PpksDisability
            | DocumentsNik
            | SuicideUrgent
            | AgeEstimateRange
            | HouseholdSizeRange
            | ProblemLength
            | ProblemSincePast
            | ProblemSinceYearRange
            | ReferralAfterProblem
            | ReferralDatePast
            | ReferralStatusOrder
            | ActionDueFuture
            | DtsenLinkId
            | DecileRange
            | InsuranceNoneExclusive
            | FollowUpWithoutCase => 0,
        }
    }

    /// A rule of the PPKS asesmen (broken on a clean asesmen, not on a household).
    pub fn is_ppks(self) -> bool {
        Rule::PPKS.contains(&self)
    }

    /// The PPKS asesmen's rules.
    pub const PPKS: [Rule; 19] = [
        Rule::PpksAgeRange,
        Rule::PpksSex,
        Rule::PpksPrimaryNotChosen,
        Rule::PpksDisability,
        Rule::DocumentsNik,
        Rule::SuicideUrgent,
        Rule::AgeEstimateRange,
        Rule::HouseholdSizeRange,
        Rule::ProblemLength,
        Rule::ProblemSincePast,
        Rule::ProblemSinceYearRange,
        Rule::ReferralAfterProblem,
        Rule::ReferralDatePast,
        Rule::ReferralStatusOrder,
        Rule::ActionDueFuture,
        Rule::DtsenLinkId,
        Rule::DecileRange,
        Rule::InsuranceNoneExclusive,
        Rule::FollowUpWithoutCase,
    ];

    /// The form the rule lives in.
    pub fn form_id(self) -> &'static str {
        if self.is_ppks() {
            "ppks_asesmen"
        } else {
            "dtsen_groundcheck"
        }
    }
}

// Members of the standard family (see `family::standard_family`).
const HEAD: usize = 0;
const SPOUSE: usize = 1;
const TEEN: usize = 2;
const CHILD: usize = 3;
const BABY: usize = 4;
const GRANDMOTHER: usize = 5;

fn expected(rule: &'static str, level: Level, path: impl Into<String>) -> Expected {
    Expected {
        rule,
        level,
        path: path.into(),
    }
}

fn at(index: usize, field: &str) -> String {
    format!("members[{index}].{field}")
}

fn members(a: &mut Answers) -> Option<&mut Vec<Value>> {
    a.get_mut("members").and_then(Value::as_array_mut)
}

fn member(a: &mut Answers, index: usize) -> Option<&mut serde_json::Map<String, Value>> {
    members(a)?.get_mut(index).and_then(Value::as_object_mut)
}

fn set_member(a: &mut Answers, index: usize, field: &str, value: Value) {
    if let Some(m) = member(a, index) {
        m.insert(field.to_string(), value);
    }
}

fn str_of<'a>(a: &'a Answers, key: &str) -> Option<&'a str> {
    a.get(key).and_then(Value::as_str)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// A NIK for the same district as `old` (or the family's), with a new birth date / sex.
fn renik(
    rng: &mut impl Rng,
    old: Option<&str>,
    family: &Family,
    birth: NaiveDate,
    sex: Sex,
) -> String {
    let district = old
        .and_then(region::code_from_nik_prefix)
        .filter(|d| region::regions().contains(d))
        .unwrap_or_else(|| family.district().to_string());
    identity::make_nik(&district, birth, sex, rng.random_range(1..=9999)).unwrap_or_default()
}

fn member_nik(a: &Answers, index: usize) -> Option<String> {
    a.get("members")?
        .as_array()?
        .get(index)?
        .get("member_nik")?
        .as_str()
        .map(str::to_string)
}

/// Gives member `index` a birth date for `age` and a NIK that agrees with it (same district); returns the NIK.
fn rebirth(
    a: &mut Answers,
    rng: &mut impl Rng,
    family: &Family,
    on: NaiveDate,
    index: usize,
    age: i32,
    sex: Sex,
) -> String {
    let birth = family::birth_date_for_age(rng, age, on);
    let old = member_nik(a, index);
    let nik = renik(rng, old.as_deref(), family, birth, sex);
    set_member(
        a,
        index,
        "birth_date",
        s(&birth.format("%Y-%m-%d").to_string()),
    );
    set_member(a, index, "member_nik", s(&nik));
    nik
}

/// Makes the base household of the standard family clean of anything a rule could trip over by chance:
/// a GPS point, metered electricity, and no great difficulty for the teenager.
pub(crate) fn tidy(a: &mut Answers, rng: &mut impl Rng, village: &str) {
    if !a.contains_key("gps") {
        a.insert("gps".into(), super::visit::gps(rng, village));
    }
    // A fix within the form's 20 m, so that no accuracy warning comes by chance.
    if let Some(fix) = a.get_mut("gps").and_then(Value::as_object_mut) {
        fix.insert("accuracy_m".into(), json!(6.5));
    }
    a.insert("gps_method".into(), s("1"));
    force_metered(a);
    for letter in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
        set_member(a, TEEN, &format!("difficulty_{letter}"), s("4"));
    }
    if let Some(m) = member(a, TEEN) {
        m.remove("caregiver");
    }
}

fn force_metered(a: &mut Answers) {
    if str_of(a, "lighting") != Some("1") {
        a.insert("lighting".into(), s("1"));
        a.insert("meter_power".into(), s("2"));
        a.insert("spend_electricity".into(), json!(150_000));
    }
}

/// Rules broken by one answer on one member: rule, member, field, value, rule name, level.
const ONE_ANSWER: &[(Rule, usize, &str, &str, &str, Level)] = &[(
    Rule::MaritalUnder10,
    CHILD,
    "marital_status",
    "2",
    "r15_marital_under_10",
    Level::Error,
)];

/// The referral the clean asesmen makes (see `Generator::clean_ppks`).
fn referral(a: &mut Answers, field: &str, value: Value) {
    if let Some(Value::Object(first)) = a
        .get_mut("referrals")
        .and_then(Value::as_array_mut)
        .and_then(|list| list.first_mut())
    {
        first.insert(field.to_string(), value);
    }
}

fn day(d: NaiveDate) -> Value {
    s(&d.format("%Y-%m-%d").to_string())
}

fn add_type(a: &mut Answers, code: &str) {
    if let Some(types) = a.get_mut("ppks_types").and_then(Value::as_array_mut) {
        types.push(s(code));
    }
}

/// Breaks `rule` on the clean asesmen of `Generator::clean_ppks` (a man of 45, fakir miskin, with a NIK, on the
/// DTSEN register, one referral made at the visit, one action planned); returns the finding expected.
pub(crate) fn break_ppks(rule: Rule, a: &mut Answers, on: NaiveDate) -> Expected {
    use Level::{Error, Warning};
    match rule {
        Rule::PpksAgeRange => {
            // Called on an abandoned child of 8 (type 2), see `Generator::broken`.
            add_type(a, "1");
            expected("ppks_age_range", Error, "ppks_types")
        }
        Rule::PpksSex => {
            add_type(a, "23");
            expected("ppks_sex", Error, "ppks_types")
        }
        Rule::PpksPrimaryNotChosen => {
            a.insert("ppks_primary".into(), s("12"));
            expected("choice_filter", Error, "ppks_primary")
        }
        Rule::PpksDisability => {
            add_type(a, "9");
            expected("ppks_disability", Error, "disability")
        }
        Rule::DocumentsNik => {
            for key in ["nik", "kk_number", "dtsen_decile"] {
                a.remove(key);
            }
            a.insert("has_nik".into(), s("2"));
            a.insert("dtsen_registered".into(), s("9"));
            expected("documents_nik", Warning, "documents")
        }
        Rule::SuicideUrgent => {
            a.insert("psych_state".into(), json!(["sad", "suicidal"]));
            a.insert("urgency".into(), s("2"));
            expected("suicide_urgent", Warning, "psych_state")
        }
        Rule::AgeEstimateRange => {
            a.remove("birth_date");
            a.insert("birth_date_known".into(), s("2"));
            a.insert("age_estimate".into(), json!(111));
            a.insert("caregiver_name".into(), s("Siti Rahmawati"));
            expected("age_estimate_range", Error, "age_estimate")
        }
        Rule::HouseholdSizeRange => {
            a.insert("household_size".into(), json!(31));
            expected("household_size_range", Error, "household_size")
        }
        Rule::ProblemLength => {
            a.insert("problem_description".into(), s("Sakit lama"));
            expected("problem_length", Error, "problem_description")
        }
        Rule::ProblemSincePast => {
            // No referral at this visit, so no referral can predate the problem.
            a.insert("referral_needed".into(), s("2"));
            a.remove("referrals");
            a.insert("problem_since".into(), day(on + Duration::days(1)));
            expected("problem_since_past", Error, "problem_since")
        }
        Rule::ProblemSinceYearRange => {
            a.remove("problem_since");
            a.insert("problem_since_year".into(), json!(1899));
            expected("problem_since_year_range", Error, "problem_since_year")
        }
        Rule::ReferralAfterProblem => {
            let since = a
                .get("problem_since")
                .and_then(Value::as_str)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .unwrap_or(on);
            referral(a, "referral_date", day(since - Duration::days(10)));
            expected(
                "referral_after_problem",
                Error,
                "referrals[0].referral_date",
            )
        }
        Rule::ReferralDatePast => {
            referral(a, "referral_date", day(on + Duration::days(3)));
            expected("referral_date_past", Error, "referrals[0].referral_date")
        }
        Rule::ReferralStatusOrder => {
            a.insert("case_source".into(), s("6"));
            a.insert("case_id".into(), s("019cf5a2-8e40-7b61-9c1e-2b6f0d4a9e11"));
            a.insert(
                "referral_followups".into(),
                json!([{
                    "prev_referral_to": "4",
                    "prev_referral_service": "adminduk",
                    "prev_referral_date": day(on - Duration::days(20)),
                    "prev_referral_status": "2",
                    "referral_update": "1",
                }]),
            );
            expected(
                "referral_status_order",
                Error,
                "referral_followups[0].referral_update",
            )
        }
        Rule::ActionDueFuture => {
            if let Some(Value::Object(first)) = a
                .get_mut("actions")
                .and_then(Value::as_array_mut)
                .and_then(|list| list.first_mut())
            {
                first.insert("action_due".into(), day(on - Duration::days(1)));
            }
            expected("action_due_future", Warning, "actions[0].action_due")
        }
        Rule::DtsenLinkId => {
            for key in ["nik", "kk_number"] {
                a.remove(key);
            }
            a.insert("has_nik".into(), s("2"));
            a.insert("documents".into(), json!(["akta"]));
            expected("dtsen_link_id", Error, "dtsen_registered")
        }
        Rule::DecileRange => {
            a.insert("dtsen_decile".into(), json!(11));
            expected("decile_range", Error, "dtsen_decile")
        }
        Rule::InsuranceNoneExclusive => {
            a.insert("health_insurance".into(), json!(["1", "0"]));
            expected("none_exclusive", Error, "health_insurance")
        }
        Rule::FollowUpWithoutCase => {
            a.insert("case_source".into(), s("6"));
            a.remove("case_id");
            expected("required", Error, "case_id")
        }
        _ => expected("unreachable", Error, ""),
    }
}

/// Breaks `rule` on the standard family's answers; returns the finding expected.
pub(crate) fn break_rule(
    rule: Rule,
    a: &mut Answers,
    rng: &mut impl Rng,
    family: &Family,
    on: NaiveDate,
) -> Expected {
    use Level::{Error, Warning};
    if let Some((_, index, field, value, name, level)) = ONE_ANSWER.iter().find(|row| row.0 == rule)
    {
        set_member(a, *index, field, s(value));
        return expected(name, *level, at(*index, field));
    }
    match rule {
        Rule::OneHead => {
            set_member(a, HEAD, "relationship", s("8"));
            expected("r01_one_head", Error, "members")
        }
        Rule::OneSpouse => {
            let second = members(a).and_then(|m| m.get(SPOUSE).cloned());
            if let Some(Value::Object(mut wife)) = second {
                let birth = family.members.get(SPOUSE).map_or(on, |p| p.birth_date);
                wife.insert("member_name".into(), s("Siti Aminah"));
                wife.insert(
                    "member_nik".into(),
                    s(&renik(rng, None, family, birth, Sex::Female)),
                );
                if let Some(list) = members(a) {
                    list.push(Value::Object(wife));
                }
            }
            let count = family.kk_member_count + 1;
            a.insert("kk_member_count".into(), json!(count));
            expected("r01_one_spouse", Error, "members")
        }
        Rule::SpouseSex => {
            let birth = family.members.get(SPOUSE).map_or(on, |p| p.birth_date);
            let old = member_nik(a, SPOUSE);
            set_member(a, SPOUSE, "sex", s("1"));
            set_member(
                a,
                SPOUSE,
                "member_nik",
                s(&renik(rng, old.as_deref(), family, birth, Sex::Male)),
            );
            expected("r02_spouse_sex", Error, at(SPOUSE, "sex"))
        }
        Rule::SpouseMarried => {
            set_member(a, SPOUSE, "marital_status", s("1"));
            set_member(a, SPOUSE, "pregnant", s("2"));
            expected("r02_spouse_married", Warning, at(SPOUSE, "marital_status"))
        }
        Rule::NikFormat => {
            let nik = member_nik(a, CHILD).unwrap_or_default();
            set_member(a, CHILD, "member_nik", s(nik.get(..15).unwrap_or("123")));
            expected("nik_format", Error, at(CHILD, "member_nik"))
        }
        Rule::KkFormat => {
            let kk = family.kk_number.get(..15).unwrap_or("123").to_string();
            a.insert("kk_number".into(), s(&kk));
            expected("kk_format", Error, "kk_number")
        }
        Rule::PlnCustomerId => {
            a.insert("pln_customer_id".into(), s("53110203994"));
            expected("r03_pln_customer_id", Error, "pln_customer_id")
        }
        Rule::PlnMeterNumber => {
            a.insert("pln_meter_number".into(), s("145020399401"));
            expected("r03_pln_meter_number", Error, "pln_meter_number")
        }
        Rule::FloorArea => {
            a.insert("floor_area".into(), json!(0));
            expected("r03_floor_area", Error, "floor_area")
        }
        Rule::NikBirthDate => {
            let p = family.members.get(CHILD);
            let (birth, sex) = p.map_or((on, Sex::Male), |p| {
                (p.birth_date - Duration::days(3), p.sex)
            });
            let old = member_nik(a, CHILD);
            set_member(
                a,
                CHILD,
                "member_nik",
                s(&renik(rng, old.as_deref(), family, birth, sex)),
            );
            expected("r04_nik_birth_date", Warning, at(CHILD, "member_nik"))
        }
        Rule::NikSex => {
            let p = family.members.get(CHILD);
            let (birth, sex) = p.map_or((on, Sex::Male), |p| (p.birth_date, p.sex));
            let flipped = if sex == Sex::Male {
                Sex::Female
            } else {
                Sex::Male
            };
            let old = member_nik(a, CHILD);
            set_member(
                a,
                CHILD,
                "member_nik",
                s(&renik(rng, old.as_deref(), family, birth, flipped)),
            );
            expected("r04_nik_sex", Warning, at(CHILD, "member_nik"))
        }
        Rule::NikPrefix => {
            let p = family.members.get(CHILD);
            let (birth, sex) = p.map_or((on, Sex::Male), |p| (p.birth_date, p.sex));
            let regency = family.village.get(..5).unwrap_or("17.71");
            let unknown = (1..=99)
                .rev()
                .map(|cc| format!("{regency}.{cc:02}"))
                .find(|code| !region::regions().contains(code))
                .unwrap_or_else(|| format!("{regency}.99"));
            let nik = identity::make_nik(&unknown, birth, sex, 17).unwrap_or_default();
            set_member(a, CHILD, "member_nik", s(&nik));
            expected("nik_prefix", Warning, at(CHILD, "member_nik"))
        }
        Rule::RosterSize => {
            a.insert("kk_member_count".into(), json!(family.kk_member_count + 1));
            expected("r05_roster_size", Warning, "members")
        }
        Rule::ElectricAppliance => {
            a.insert("lighting".into(), s("4"));
            for key in [
                "meter_power",
                "pln_customer_id",
                "pln_meter_number",
                "spend_electricity",
            ] {
                a.remove(key);
            }
            a.insert("fridge".into(), json!(1));
            a.insert("ac".into(), json!(0));
            a.insert("water_heater".into(), s("2"));
            a.insert("flat_tv".into(), s("2"));
            expected("r11_electric_appliance", Error, "fridge")
        }
        Rule::GasCookingFuel => {
            a.insert("cooking_fuel".into(), s("04"));
            a.insert("gas_55kg".into(), json!(1));
            expected("r12_gas_cooking_fuel", Error, "gas_55kg")
        }
        Rule::BirthYear => {
            // A birth date after the visit; as a new member without a NIK yet, nothing else is inconsistent.
            set_member(
                a,
                BABY,
                "birth_date",
                s(&(on + Duration::days(60)).format("%Y-%m-%d").to_string()),
            );
            set_member(a, BABY, "member_status", s("5"));
            if let Some(m) = member(a, BABY) {
                m.remove("member_nik");
            }
            expected("r13_birth_year", Error, at(BABY, "birth_date"))
        }
        Rule::AgeOver98 => {
            // Age only (birth date unknown), above the top code 98.
            if let Some(m) = member(a, GRANDMOTHER) {
                m.remove("birth_date");
                m.insert("age_estimate".into(), json!(99));
            }
            expected("r13_age", Error, at(GRANDMOTHER, "age_estimate"))
        }
        Rule::ChildAgeGap => {
            // A head of 26 with a child of 15.
            let nik = rebirth(a, rng, family, on, HEAD, 26, Sex::Male);
            set_member(a, HEAD, "pip", s("2"));
            a.insert("head_nik".into(), s(&nik));
            expected("r14_child_age_gap", Warning, at(TEEN, "relationship"))
        }
        Rule::ParentOlder => {
            // The head's mother made 38, younger than the head (40).
            rebirth(a, rng, family, on, GRANDMOTHER, 38, Sex::Female);
            set_member(a, GRANDMOTHER, "pregnant", s("2"));
            for letter in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
                set_member(a, GRANDMOTHER, &format!("difficulty_{letter}"), s("4"));
            }
            if let Some(m) = member(a, GRANDMOTHER) {
                m.remove("caregiver");
            }
            expected("r14_parent_older", Warning, at(GRANDMOTHER, "relationship"))
        }
        Rule::MarriedYoung => {
            set_member(a, TEEN, "marital_status", s("2"));
            if family
                .members
                .get(TEEN)
                .is_some_and(|p| p.sex == Sex::Female)
            {
                set_member(a, TEEN, "pregnant", s("2"));
            }
            expected("r15_married_young", Warning, at(TEEN, "marital_status"))
        }
        Rule::NeverSchool => {
            set_member(a, CHILD, "schooling", s("0"));
            if let Some(m) = member(a, CHILD) {
                m.remove("education_level");
            }
            expected("r16_never_school", Warning, at(CHILD, "schooling"))
        }
        Rule::LevelForAge => {
            set_member(a, TEEN, "schooling", s("2"));
            set_member(a, TEEN, "education_level", s("3"));
            expected("r16_level_for_age", Warning, at(TEEN, "education_level"))
        }
        Rule::PhotoMissing => {
            a.remove("photo_front");
            expected("required", Error, "photo_front")
        }
        Rule::GpsKosong => {
            a.remove("gps");
            expected("r17_gps_kosong", Warning, "gps")
        }
        Rule::GpsAccuracy => {
            if let Some(fix) = a.get_mut("gps").and_then(Value::as_object_mut) {
                fix.insert("accuracy_m".into(), json!(35.5));
            }
            expected("gps_accuracy", Warning, "gps")
        }
        Rule::GpsNotTakenWithPoint => {
            a.insert("gps_method".into(), s("3"));
            expected("gps_not_taken_with_point", Error, "gps_method")
        }
        Rule::RegisteredNotNew => {
            set_member(a, CHILD, "registered", s("1"));
            set_member(a, CHILD, "member_status", s("5"));
            expected("choice_filter", Error, at(CHILD, "member_status"))
        }
        // Listed in ONE_ANSWER.
        _ => expected("unreachable", Error, ""),
    }
}
