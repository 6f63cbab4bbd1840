//! The load of figures 1 and 2: a generated DTSEN household padded to a 10-member roster, and a mix of answers a
//! person types into it (top-level and member fields, each flipping between two valid-looking values).

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use tepat_app::UiEvent;
use tepat_e2e::field::morning;
use tepat_e2e::phone::Phone;
use tepat_form::{CompiledForm, Form};
use tepat_protocol::{Assignment, Role, VisitDoc};
use tepat_runtime::{Clock, FixedClock};
use tepat_store::Identity;
use tepat_synth::{Generator, Outcome};

/// The DTSEN ground-check form as shipped.
pub const DTSEN: &str = include_str!("../../../../schemas/forms/dtsen_groundcheck.json");
/// The PPKS asesmen form as shipped (installed too, as on a real phone).
pub const PPKS: &str = include_str!("../../../../schemas/forms/ppks_asesmen.json");

/// Members in the roster of the measured household.
pub const ROSTER: usize = 10;
/// The member whose page is open while member fields are answered.
pub const MEMBER: usize = 4;

pub fn dtsen() -> Result<CompiledForm, String> {
    tepat_form::load(DTSEN).map_err(|e| format!("DTSEN form: {e}"))
}

/// One answer of the mix: where, on which page, and the two texts it alternates between.
#[derive(Debug, Clone)]
pub struct Answer {
    pub path: String,
    /// Section index of the field (top-level fields), or `None` for a member's page.
    pub section: Option<u32>,
    pub texts: [String; 2],
}

/// A found household of the generator, for an assignment, with exactly [`ROSTER`] members.
pub struct Household {
    pub assignment: Assignment,
    pub doc: VisitDoc,
    pub visit_date: NaiveDate,
}

/// Generates assignments until a found household with the largest roster among them, then pads it with copies
/// of a present non-head member (as the form engine's own latency test does) or trims it to [`ROSTER`].
pub fn household(seed: u64) -> Result<Household, String> {
    let mut generator = Generator::new(seed);
    let visit_date = generator.visit_date();
    let assignments = generator
        .assignments(tepat_synth::DEFAULT_REGION, 60)
        .map_err(|e| e.to_string())?;
    let mut best: Option<(Assignment, VisitDoc)> = None;
    for a in assignments {
        let doc = generator
            .visit_for(&a, Outcome::Found)
            .map_err(|e| e.to_string())?;
        let size = roster_len(&doc);
        if best.as_ref().is_none_or(|(_, d)| size > roster_len(d)) && has_present_member(&doc) {
            best = Some((a, doc));
        }
    }
    let (assignment, mut doc) = best.ok_or("no household with a present non-head member")?;
    let members = doc
        .answers
        .get_mut("members")
        .and_then(Value::as_array_mut)
        .ok_or("the visit has no roster")?;
    let present = members
        .iter()
        .find(|m| is_present_non_head(m))
        .cloned()
        .ok_or("no present non-head member")?;
    while members.len() < ROSTER {
        let mut copy = present.clone();
        let n = members.len() + 1;
        if let Some(name) = copy.get_mut("member_name") {
            *name = json!(format!("{} {n}", name.as_str().unwrap_or("Anggota")));
        }
        members.push(copy);
    }
    members.truncate(ROSTER);
    if let Some(slot) = members.get_mut(MEMBER) {
        *slot = present;
    }
    if let Some(count) = doc.answers.get_mut("kk_member_count") {
        *count = json!(ROSTER);
    }
    Ok(Household {
        assignment,
        doc,
        visit_date,
    })
}

fn roster_len(doc: &VisitDoc) -> usize {
    doc.answers
        .get("members")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn has_present_member(doc: &VisitDoc) -> bool {
    doc.answers
        .get("members")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(is_present_non_head))
}

fn is_present_non_head(member: &Value) -> bool {
    member["member_status"] == json!("1") && member["relationship"] != json!("1")
}

/// Top-level fields of the mix (typed text, numbers, a decimal, dates) and member fields on member
/// [`MEMBER`]'s page. Only fields the household answered, so every answer is relevant and valid-looking.
const TOP_LEVEL: [&str; 9] = [
    "respondent_name",
    "respondent_phone",
    "kk_member_count",
    "floor_area",
    "spend_phone",
    "gas_3kg",
    "motorbike",
    "gold_grams",
    "head_name",
];
const MEMBER_FIELDS: [&str; 3] = ["member_name", "birth_date", "member_phone"];

/// The answer mix for `household` on `form`.
pub fn answer_mix(form: &Form, household: &Household) -> Vec<Answer> {
    let answers = &household.doc.answers;
    let member = answers
        .get("members")
        .and_then(Value::as_array)
        .and_then(|m| m.get(MEMBER));
    let mut out = Vec::new();
    for id in TOP_LEVEL {
        if let (Some(value), Some(section)) = (answers.get(id), section_of(form, id)) {
            out.push(Answer {
                path: id.to_string(),
                section: Some(section),
                texts: flip(value, household.visit_date),
            });
        }
    }
    for id in MEMBER_FIELDS {
        if let Some(value) = member.and_then(|m| m.get(id)) {
            out.push(Answer {
                path: format!("members[{MEMBER}].{id}"),
                section: None,
                texts: flip(value, household.visit_date),
            });
        }
    }
    out
}

fn section_of(form: &Form, id: &str) -> Option<u32> {
    form.sections
        .iter()
        .position(|s| s.fields.iter().any(|f| f.id == id))
        .and_then(|i| u32::try_from(i).ok())
}

/// The value as typed, and a second value a person might correct it to.
fn flip(value: &Value, visit_date: NaiveDate) -> [String; 2] {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let v = n.as_i64().unwrap_or(0);
            [v.to_string(), (v + 1).to_string()]
        }
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or(0.0);
            [format!("{v}"), format!("{}", v + 0.5)]
        }
        Value::String(s) => {
            if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                let other = if date - Duration::days(1) > NaiveDate::MIN {
                    date - Duration::days(1)
                } else {
                    date.min(visit_date)
                };
                [s.clone(), other.format("%Y-%m-%d").to_string()]
            } else if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                let mut other = s.clone();
                let last = other.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                other.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
                [s.clone(), other]
            } else {
                [s.clone(), format!("{s} A")]
            }
        }
        other => [other.to_string(), other.to_string()],
    }
}

/// An enumerator's phone in `dir` at 08:00 of `date`, offline (its server address is never reached), with both
/// forms installed, a local identity and `assignments`: what a phone holds after its morning sync.
pub fn offline_phone(
    dir: &Path,
    date: NaiveDate,
    assignments: Vec<Assignment>,
) -> Result<Phone, String> {
    let clock: Arc<dyn Clock> =
        Arc::new(FixedClock::new(morning(date).map_err(|e| e.to_string())?));
    let phone = Phone::open(dir, "http://127.0.0.1:9", clock).map_err(|e| e.to_string())?;
    prepare_phone(phone, assignments)
}

/// The same phone with its database unencrypted (figure 1's comparison; phones encrypt it).
pub fn offline_phone_unencrypted(
    dir: &Path,
    date: NaiveDate,
    assignments: Vec<Assignment>,
) -> Result<Phone, String> {
    let clock: Arc<dyn Clock> =
        Arc::new(FixedClock::new(morning(date).map_err(|e| e.to_string())?));
    let phone = Phone::open_with_key(dir, "http://127.0.0.1:9", None, None, clock)
        .map_err(|e| e.to_string())?;
    prepare_phone(phone, assignments)
}

fn prepare_phone(phone: Phone, assignments: Vec<Assignment>) -> Result<Phone, String> {
    let runtime = phone.runtime();
    for json in [DTSEN, PPKS] {
        runtime.dispatch(UiEvent::InstallForm {
            json: json.to_string(),
        });
    }
    runtime.dispatch(UiEvent::UseIdentity {
        identity: Identity {
            device_id: "bench-phone".into(),
            user_id: "pkh01".into(),
            name: "Siti Rahma".into(),
            role: Role::Enumerator,
            regions: vec![tepat_synth::DEFAULT_REGION.into()],
        },
    });
    runtime.dispatch(UiEvent::ImportAssignments { assignments });
    Ok(phone)
}
