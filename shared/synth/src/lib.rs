//! Seeded synthetic households: realistic filled visits for tests, the demo and benchmarks.
//!
//! Everything comes from one seeded [`StdRng`]: the same seed and the same calls give the same visits, byte for
//! byte. Region codes are real (the embedded Kemendagri list); NIKs encode each person's birth date and sex and
//! usually the district of the address (sometimes another district, where the person was first registered);
//! No. KK numbers start with the family's district; rosters, housing, assets and programmes are drawn to agree
//! with each other and with every rule of the DTSEN form (see [`family`] and [`visit`]).
//!
//! - [`Generator::household`]: a valid ground-check visit (outcome drawn from a field-like mix);
//! - [`Generator::demo_day`]: a day's visits for the demo, mostly found, some not found or moved, one refused;
//! - [`Generator::assignments`] / [`Generator::visit_for`]: assignments with prefill, and their visits;
//! - [`Generator::broken`]: a visit with one §4 rule broken and the finding it must produce ([`Rule`]);
//! - [`Generator::ppks_case`]: a PPKS asesmen.
//! - [`Generator::monitoring_visit`]: a 6T monitoring of aid distribution at a distribution point ([`monitoring`]).
//! - [`Generator::satgas_report`]: a Satgas Tanggap Cepat report; [`Generator::asesmen_for_report`]: the asesmen
//!   that follows it.
//!
//! Crate `tepat-synth`: depends on `tepat-form` and `tepat-protocol`; used only as a dev-dependency and by the tools,
//! the end-to-end tests, the demo and the benchmarks, never by the phone library or the server.

pub mod family;
pub mod geo;
pub mod monitoring;
pub mod names;
mod ppks;
mod rules;
mod satgas;
pub mod visit;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub use family::{Family, Person, Variety};
pub use monitoring::Lapse;
pub use ppks::carried_referrals;
pub use rules::{Expected, Rule};
pub use satgas::{Reported, SatgasRule};
pub use visit::Outcome;

use tepat_form::{identity, region};
use tepat_protocol::{Assignment, DeviceTimes, VisitDoc};

/// The form ids and versions the generator fills.
pub const DTSEN_FORM: (&str, u32) = ("dtsen_groundcheck", 1);
pub const MONITORING_FORM: (&str, u32) = ("monitoring_6t", 1);
pub const PPKS_FORM: (&str, u32) = ("ppks_asesmen", 3);
pub const SATGAS_FORM: (&str, u32) = ("satgas_laporan", 1);

/// The default region: Kota Bengkulu.
pub const DEFAULT_REGION: &str = "17.71";

/// Why the generator cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("region code {0:?} is not in the Kemendagri list")]
    UnknownRegion(String),
    #[error("assignment {0:?} was not made by this generator")]
    UnknownAssignment(String),
    #[error("report {0} was not made by this generator")]
    UnknownReport(Uuid),
}

/// A deterministic source of synthetic visits.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: StdRng,
    visit_date: NaiveDate,
    /// Visits made so far: orders device times and makes file names unique.
    seq: u64,
    /// Families behind the assignments made, by assignment id.
    families: BTreeMap<String, (Family, String)>,
    /// Assignments made by [`Generator::registered_assignments`]: their members come with the assignment.
    registered: std::collections::BTreeSet<String>,
    /// The people behind the Satgas reports made, by the report's visit id.
    reported: BTreeMap<Uuid, Reported>,
}

impl Generator {
    /// A generator for `seed`, visiting on [`Generator::default_visit_date`].
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            visit_date: Self::default_visit_date(),
            seq: 0,
            families: BTreeMap::new(),
            registered: Default::default(),
            reported: BTreeMap::new(),
        }
    }

    /// 16 March 2026: a ground-check month, as in 2025's national round.
    pub fn default_visit_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 16).unwrap_or_default()
    }

    /// The same generator visiting on another day (ages and `today()` follow it).
    pub fn with_visit_date(mut self, date: NaiveDate) -> Self {
        self.visit_date = date;
        self
    }

    pub fn visit_date(&self) -> NaiveDate {
        self.visit_date
    }

    fn village(&mut self, region: &str) -> Result<String, SynthError> {
        family::pick_village(&mut self.rng, region)
            .ok_or_else(|| SynthError::UnknownRegion(region.to_string()))
    }

    /// A family living in a village under `region` (any level).
    pub fn family(&mut self, region: &str, variety: Variety) -> Result<Family, SynthError> {
        let village = self.village(region)?;
        Ok(family::random_family(
            &mut self.rng,
            &village,
            self.visit_date,
            variety,
        ))
    }

    /// A valid ground-check visit in `region`; the outcome is drawn from a field-like mix (mostly found).
    pub fn household(&mut self, region: &str) -> Result<VisitDoc, SynthError> {
        let outcome = visit::weighted(
            &mut self.rng,
            &[
                (Outcome::Found, 850),
                (Outcome::NotFound, 50),
                (Outcome::Moved, 30),
                (Outcome::NotReachable, 30),
                (Outcome::Refused, 20),
                (Outcome::Died, 10),
                (Outcome::NotEligible, 10),
                (Outcome::NobodyHome, 30),
            ],
        );
        self.household_with(region, outcome)
    }

    /// A valid ground-check visit in `region` with the given outcome.
    pub fn household_with(
        &mut self,
        region: &str,
        outcome: Outcome,
    ) -> Result<VisitDoc, SynthError> {
        let family = self.family(region, Variety::Field)?;
        let work_area = regency_of(region);
        Ok(self.visit(&family, outcome, None, &work_area))
    }

    /// `n` visits of one enumerator's day: mostly found, about one in twelve not found, one moved, one
    /// not reachable, and exactly one refused (for `n` ≥ 4), in a random order.
    pub fn demo_day(&mut self, region: &str, n: usize) -> Result<Vec<VisitDoc>, SynthError> {
        let mut outcomes = vec![Outcome::Found; n];
        let special = [
            Outcome::Refused,
            Outcome::NotFound,
            Outcome::Moved,
            Outcome::NotReachable,
        ];
        let count = match n {
            0..4 => 0,
            4..8 => 1,
            8..12 => 3,
            _ => 4,
        };
        for (slot, outcome) in outcomes.iter_mut().zip(special.iter().take(count)) {
            *slot = *outcome;
        }
        outcomes.shuffle(&mut self.rng);
        outcomes
            .into_iter()
            .map(|o| self.household_with(region, o))
            .collect()
    }

    /// The visit of `family` with `outcome`, for an assignment or (None) a household found without one.
    pub fn visit(
        &mut self,
        family: &Family,
        outcome: Outcome,
        assignment_id: Option<&str>,
        work_area: &str,
    ) -> VisitDoc {
        let (visit_id, times) = self.identity_and_times();
        let key = visit_id.to_string();
        let on = self.visit_date;
        let (answers, notes) = if outcome == Outcome::Found {
            let filled = visit::found(&mut self.rng, family, on, &key, work_area);
            (filled.answers, filled.notes)
        } else {
            let mut answers = visit::not_found(&mut self.rng, family, outcome, on);
            let mut notes = BTreeMap::new();
            visit::location(
                &mut self.rng,
                family,
                on,
                &key,
                outcome,
                &mut answers,
                &mut notes,
            );
            (answers, notes)
        };
        VisitDoc {
            visit_id,
            revision: 1,
            form_id: DTSEN_FORM.0.to_string(),
            form_version: DTSEN_FORM.1,
            assignment_id: assignment_id.map(str::to_string),
            visit_date: on,
            answers,
            warning_notes: notes,
            prefill_review: BTreeMap::new(),
            device_times: times,
        }
    }

    /// `n` assignments of households in villages under `region`, with the prefill the form's `prefill` keys read.
    /// The families stay with the generator, so [`Generator::visit_for`] can fill their visits.
    pub fn assignments(&mut self, region: &str, n: usize) -> Result<Vec<Assignment>, SynthError> {
        let work_area = regency_of(region);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let family = self.family(region, Variety::Field)?;
            let id = format!(
                "GC-{}-{:05}",
                family.village.replace('.', ""),
                self.families.len() + 1
            );
            let assignment = assignment_for(&id, &family, &work_area);
            self.families.insert(id, (family, work_area.clone()));
            out.push(assignment);
        }
        Ok(out)
    }

    /// `n` assignments as [`Generator::assignments`], each also carrying its family's registered members
    /// (`prefill_repeats.members`: name, NIK, sex, birth date, relationship, marital status of every member on the
    /// KK, in roster order), as a DTSEN extract gives them. Their found visits mark those members `registered`,
    /// as the server's import does, so the visit is what the phone holds once the roster is prefilled.
    pub fn registered_assignments(
        &mut self,
        region: &str,
        n: usize,
    ) -> Result<Vec<Assignment>, SynthError> {
        let mut out = self.assignments(region, n)?;
        for assignment in &mut out {
            let Some((family, _)) = self.families.get(&assignment.assignment_id) else {
                continue;
            };
            let members = registered_members(family)
                .map(|p| {
                    let mut record = BTreeMap::new();
                    record.insert("member_name".to_string(), p.name.clone());
                    if let Some(nik) = &p.nik {
                        record.insert("member_nik".to_string(), nik.clone());
                    }
                    record.insert("sex".to_string(), p.sex.code().to_string());
                    record.insert("birth_date".to_string(), p.birth_date.to_string());
                    record.insert("relationship".to_string(), p.relationship.to_string());
                    record.insert("marital_status".to_string(), p.marital.to_string());
                    record
                })
                .collect();
            assignment
                .prefill_repeats
                .insert("members".to_string(), members);
            self.registered.insert(assignment.assignment_id.clone());
        }
        Ok(out)
    }

    /// The visit of an assignment this generator made.
    pub fn visit_for(
        &mut self,
        assignment: &Assignment,
        outcome: Outcome,
    ) -> Result<VisitDoc, SynthError> {
        let (family, work_area) = self
            .families
            .get(&assignment.assignment_id)
            .cloned()
            .ok_or_else(|| SynthError::UnknownAssignment(assignment.assignment_id.clone()))?;
        let mut doc = self.visit(
            &family,
            outcome,
            Some(&assignment.assignment_id),
            &work_area,
        );
        if self.registered.contains(&assignment.assignment_id)
            && let Some(serde_json::Value::Array(members)) = doc.answers.get_mut("members")
        {
            let on_record = registered_members(&family).count();
            for member in members.iter_mut().take(on_record) {
                if let Some(member) = member.as_object_mut() {
                    member.insert("registered".to_string(), serde_json::json!("1"));
                }
            }
        }
        Ok(doc)
    }

    /// A found household in Kota Bengkulu with exactly one rule broken, and the finding that must follow.
    /// Without the break the household has no finding at all.
    pub fn broken(&mut self, rule: Rule) -> (VisitDoc, Expected) {
        if rule == Rule::PpksAgeRange {
            // An abandoned child of 8 (type 2), also recorded as an abandoned toddler.
            let client = ppks::Client {
                kind: &ppks::TYPES[1],
                age: 8,
                sex: Some(identity::Sex::Female),
            };
            let mut doc = self.ppks_of(&client, DEFAULT_REGION);
            let expected = rules::break_ppks(rule, &mut doc.answers, self.visit_date);
            return (doc, expected);
        }
        if rule.is_ppks() {
            let mut doc = self.clean_ppks();
            let expected = rules::break_ppks(rule, &mut doc.answers, self.visit_date);
            return (doc, expected);
        }
        let (doc, family) = self.clean_standard();
        let mut doc = doc;
        let expected = rules::break_rule(
            rule,
            &mut doc.answers,
            &mut self.rng,
            &family,
            self.visit_date,
        );
        (doc, expected)
    }

    /// The unbroken household [`Generator::broken`] starts from (no finding at all).
    pub fn clean_standard(&mut self) -> (VisitDoc, Family) {
        let village = self
            .village(DEFAULT_REGION)
            .unwrap_or_else(|_| "17.71.01.1001".to_string());
        let family = family::standard_family(&mut self.rng, &village, self.visit_date);
        let mut doc = self.visit(&family, Outcome::Found, None, DEFAULT_REGION);
        rules::tidy(&mut doc.answers, &mut self.rng, &family.village);
        (doc, family)
    }

    /// A PPKS asesmen of a person living under `region` (a new case, no assignment).
    pub fn ppks_case(&mut self, region: &str) -> Result<VisitDoc, SynthError> {
        region::regions()
            .get(region)
            .ok_or_else(|| SynthError::UnknownRegion(region.to_string()))?;
        let kind = ppks::pick_type(&mut self.rng);
        let age = self.rng.random_range(kind.ages.0..=kind.ages.1);
        let client = ppks::Client {
            kind,
            age,
            sex: None,
        };
        Ok(self.ppks_of(&client, region))
    }

    /// The clean asesmen [`Generator::broken`] breaks PPKS rules on (no finding at all): a man of 45 in Kota
    /// Bengkulu, fakir miskin only, with a NIK and a KK, on the DTSEN register (decile 3), living with his family
    /// of four, the problem dated 200 days before the visit, one referral made that day (SLRT, PKH) and at least
    /// one action planned.
    pub fn clean_ppks(&mut self) -> VisitDoc {
        let client = ppks::Client {
            kind: &ppks::TYPES[23],
            age: 45,
            sex: Some(identity::Sex::Male),
        };
        let mut doc = self.ppks_of(&client, DEFAULT_REGION);
        let on = self.visit_date;
        let a = &mut doc.answers;
        a.insert("dtsen_registered".into(), serde_json::json!("1"));
        a.insert("dtsen_decile".into(), serde_json::json!(3));
        a.insert("living_with".into(), serde_json::json!("1"));
        a.insert("household_size".into(), serde_json::json!(4));
        a.insert("urgency".into(), serde_json::json!("3"));
        a.insert("psych_state".into(), serde_json::json!(["sad"]));
        a.remove("problem_since_year");
        let since = on - Duration::days(200);
        a.insert(
            "problem_since".into(),
            serde_json::json!(since.format("%Y-%m-%d").to_string()),
        );
        a.insert("referral_needed".into(), serde_json::json!("1"));
        a.insert(
            "referrals".into(),
            serde_json::json!([{
                "referral_to": "2",
                "referral_agency": "SLRT Kota Bengkulu",
                "referral_service": "pkh",
                "referral_date": on.format("%Y-%m-%d").to_string(),
                "referral_status": "1",
            }]),
        );
        doc
    }

    /// The follow-up visit of a PPKS case `days` after `case` (its first visit or an earlier follow-up), as the
    /// phone starts it (`case_source` 6, the case's id, every referral carried with its status) and the assessor
    /// finishes it: each open referral moves on (or stays), no new referral, the actions' dates moved past the
    /// visit.
    pub fn ppks_followup(&mut self, case: &VisitDoc, days: i64) -> VisitDoc {
        let (visit_id, times) = self.identity_and_times();
        let on = case.visit_date + Duration::days(days);
        let mut answers = case.answers.clone();
        let case_id = answers
            .get("case_id")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| case.visit_id.to_string(), str::to_string);
        answers.insert("case_source".into(), serde_json::json!("6"));
        answers.insert("case_id".into(), serde_json::json!(case_id));
        let carried = ppks::carried_referrals(&case.answers);
        let updated: Vec<serde_json::Value> = carried
            .into_iter()
            .map(|record| ppks::update_referral(&mut self.rng, record))
            .collect();
        answers.remove("referral_followups");
        if !updated.is_empty() {
            answers.insert(
                "referral_followups".into(),
                serde_json::Value::Array(updated),
            );
        }
        answers.insert("referral_needed".into(), serde_json::json!("2"));
        answers.remove("referrals");
        if let Some(actions) = answers
            .get_mut("actions")
            .and_then(serde_json::Value::as_array_mut)
        {
            for action in actions
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                let due = on + Duration::days(self.rng.random_range(7..45));
                action.insert(
                    "action_due".into(),
                    serde_json::json!(due.format("%Y-%m-%d").to_string()),
                );
            }
        }
        VisitDoc {
            visit_id,
            revision: 1,
            form_id: PPKS_FORM.0.to_string(),
            form_version: PPKS_FORM.1,
            assignment_id: None,
            visit_date: on,
            answers,
            warning_notes: BTreeMap::new(),
            prefill_review: BTreeMap::new(),
            device_times: times,
        }
    }

    fn ppks_of(&mut self, client: &ppks::Client<'_>, region: &str) -> VisitDoc {
        let village = self
            .village(region)
            .unwrap_or_else(|_| "17.71.01.1001".to_string());
        let (visit_id, times) = self.identity_and_times();
        let answers = ppks::case(
            &mut self.rng,
            client,
            &village,
            &regency_of(region),
            self.visit_date,
            &visit_id.to_string(),
        );
        VisitDoc {
            visit_id,
            revision: 1,
            form_id: PPKS_FORM.0.to_string(),
            form_version: PPKS_FORM.1,
            assignment_id: None,
            visit_date: self.visit_date,
            answers,
            warning_notes: BTreeMap::new(),
            prefill_review: BTreeMap::new(),
            device_times: times,
        }
    }

    /// A Satgas Tanggap Cepat report about a person in a village under `region` (a new case, no assignment): a
    /// person of one of the 26 PPKS types, known to the reporter more or less (name, sex, age, NIK), the urgency
    /// the type calls for, the first help given, and mostly an asesmen needed (always for an emergency).
    pub fn satgas_report(&mut self, region: &str) -> Result<VisitDoc, SynthError> {
        region::regions()
            .get(region)
            .ok_or_else(|| SynthError::UnknownRegion(region.to_string()))?;
        let kind = ppks::pick_type(&mut self.rng);
        let age = self.rng.random_range(kind.ages.0..=kind.ages.1);
        let village = self.village(region)?;
        let (visit_id, times) = self.identity_and_times();
        let (answers, person) = satgas::report(
            &mut self.rng,
            kind,
            age,
            &village,
            &regency_of(region),
            self.visit_date,
            &visit_id.to_string(),
        );
        self.reported.insert(visit_id, person);
        Ok(self.satgas_doc(visit_id, times, answers))
    }

    /// A report as [`Generator::satgas_report`], urgent ("darurat": acted on today) and asking for an asesmen.
    pub fn urgent_satgas_report(&mut self, region: &str) -> Result<VisitDoc, SynthError> {
        let mut doc = self.satgas_report(region)?;
        let a = &mut doc.answers;
        a.insert("urgency".into(), serde_json::json!("1"));
        a.insert("asesmen_needed".into(), serde_json::json!("1"));
        a.remove("no_asesmen_reason");
        a.remove("no_asesmen_notes");
        Ok(doc)
    }

    /// The clean report [`Generator::satgas_broken`] breaks rules on (no finding at all): the reporter (a
    /// neighbour) with a phone number, the person's name, sex, approximate age (45) and NIK known, one kind of
    /// first help given, urgency "segera", an asesmen needed, a GPS point.
    pub fn clean_satgas_report(&mut self) -> VisitDoc {
        let kind = &ppks::TYPES[23];
        let village = self
            .village(DEFAULT_REGION)
            .unwrap_or_else(|_| "17.71.01.1001".to_string());
        let (visit_id, times) = self.identity_and_times();
        let (mut a, person) = satgas::report(
            &mut self.rng,
            kind,
            45,
            &village,
            DEFAULT_REGION,
            self.visit_date,
            &visit_id.to_string(),
        );
        let sex = person.sex.code();
        a.insert("reporter_phone".into(), serde_json::json!("081234567890"));
        a.insert("reporter_relation".into(), serde_json::json!("1"));
        a.remove("reporter_relation_other");
        a.insert("name_known".into(), serde_json::json!("1"));
        a.insert("full_name".into(), serde_json::json!(person.name));
        a.insert("sex".into(), serde_json::json!(sex));
        a.insert("age_estimate".into(), serde_json::json!(45));
        a.insert("has_nik".into(), serde_json::json!("1"));
        a.insert("nik".into(), serde_json::json!(person.nik.clone()));
        a.insert("urgency".into(), serde_json::json!("2"));
        a.insert("first_help".into(), serde_json::json!(["1"]));
        a.insert("asesmen_needed".into(), serde_json::json!("1"));
        a.remove("no_asesmen_reason");
        a.remove("no_asesmen_notes");
        self.reported.insert(visit_id, person);
        self.satgas_doc(visit_id, times, a)
    }

    /// A clean report (see [`Generator::clean_satgas_report`]) with exactly `rule` broken, and the finding that
    /// must follow.
    pub fn satgas_broken(&mut self, rule: SatgasRule) -> (VisitDoc, Expected) {
        let mut doc = self.clean_satgas_report();
        let expected = satgas::break_rule(&mut self.rng, rule, &mut doc.answers, self.visit_date);
        (doc, expected)
    }

    /// The PPKS asesmen that follows `report` (made by this generator): the same person, on the same day, the
    /// report's data in it as the phone prefills them, `laporan_id` the report's visit id.
    pub fn asesmen_for_report(&mut self, report: &VisitDoc) -> Result<VisitDoc, SynthError> {
        let person = self
            .reported
            .get(&report.visit_id)
            .cloned()
            .ok_or(SynthError::UnknownReport(report.visit_id))?;
        let work_area = report
            .answers
            .get("work_area")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(DEFAULT_REGION)
            .to_string();
        let (visit_id, times) = self.identity_and_times();
        let answers = satgas::asesmen_after(
            &mut self.rng,
            &report.answers,
            &report.visit_id.to_string(),
            &person,
            &work_area,
            self.visit_date,
            &visit_id.to_string(),
        );
        Ok(VisitDoc {
            visit_id,
            revision: 1,
            form_id: PPKS_FORM.0.to_string(),
            form_version: PPKS_FORM.1,
            assignment_id: None,
            visit_date: self.visit_date,
            answers,
            warning_notes: BTreeMap::new(),
            prefill_review: BTreeMap::new(),
            device_times: times,
        })
    }

    fn satgas_doc(
        &self,
        visit_id: Uuid,
        times: DeviceTimes,
        answers: tepat_protocol::Answers,
    ) -> VisitDoc {
        VisitDoc {
            visit_id,
            revision: 1,
            form_id: SATGAS_FORM.0.to_string(),
            form_version: SATGAS_FORM.1,
            assignment_id: None,
            visit_date: self.visit_date,
            answers,
            warning_notes: BTreeMap::new(),
            prefill_review: BTreeMap::new(),
            device_times: times,
        }
    }

    /// A UUIDv7 from the generator's stream (time = the visit's start) and the device times of the visit.
    fn identity_and_times(&mut self) -> (Uuid, DeviceTimes) {
        self.seq += 1;
        // Visits from 08:00 WIB (01:00 UTC), one every ~35 minutes.
        let start = self
            .visit_date
            .and_hms_opt(1, 0, 0)
            .unwrap_or_default()
            .and_utc()
            + Duration::minutes(35 * ((self.seq - 1) % 16) as i64)
            + Duration::seconds(self.rng.random_range(0..600));
        let millis = u64::try_from(start.timestamp_millis()).unwrap_or(0);
        let random: [u8; 10] = self.rng.random();
        let id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
        let finalised: DateTime<Utc> = start + Duration::minutes(self.rng.random_range(12..35));
        (
            id,
            DeviceTimes {
                started_at: start,
                finalised_at: Some(finalised),
                device_seq: self.seq,
            },
        )
    }
}

/// The members on the family's KK: the roster up to its first new member (new members come last).
fn registered_members(family: &Family) -> impl Iterator<Item = &family::Person> {
    family
        .members
        .iter()
        .take_while(|p| p.status != family::status::NEW)
}

/// The regency (`PP.KK`) of a code, or the code itself when it is a province.
fn regency_of(code: &str) -> String {
    code.get(..5).unwrap_or(code).to_string()
}

fn assignment_for(id: &str, family: &Family, work_area: &str) -> Assignment {
    let head = family.head();
    let mut prefill = BTreeMap::new();
    if let Some(head) = head {
        prefill.insert("head_name".to_string(), head.name.clone());
        if let Some(nik) = &head.nik {
            prefill.insert("head_nik".to_string(), nik.clone());
        }
    }
    prefill.insert("kk_number".to_string(), family.kk_number.clone());
    prefill.insert(
        "kk_member_count".to_string(),
        family.kk_member_count.to_string(),
    );
    prefill.insert("region_code".to_string(), family.village.clone());
    prefill.insert("work_area".to_string(), work_area.to_string());
    prefill.insert("dusun".to_string(), family.dusun.clone());
    prefill.insert("rt".to_string(), family.rt.clone());
    prefill.insert("rw".to_string(), family.rw.clone());
    prefill.insert("address".to_string(), family.street_address.clone());
    if !family.programmes.is_empty() {
        prefill.insert("programmes".to_string(), family.programmes.join(" "));
    }
    Assignment {
        assignment_id: id.to_string(),
        form_id: DTSEN_FORM.0.to_string(),
        form_version: DTSEN_FORM.1,
        region_code: family.village.clone(),
        label: format!(
            "{} — RT {}/RW {}",
            head.map(|h| h.name.as_str()).unwrap_or("?"),
            family.rt,
            family.rw
        ),
        prefill,
        prefill_repeats: Default::default(),
    }
}
