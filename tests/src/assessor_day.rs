//! A TKSK assessor's day (the demo's section 7 and its test, `tests/tests/assessor_day.rs`): an urgent Satgas
//! Tanggap Cepat report filed on the phone, the PPKS asesmen of the same person opened from it (with the report's
//! data, linked by `laporan_id`), two more asesmen of other clients, all typed through the real core and synced
//! over a 2G link; and what the supervisor pulls of it.

use std::collections::BTreeMap;

use serde_json::Value;
use tepat_app::{Screen, UiEvent};
use tepat_protocol::{Answers, PrefillReview, ServerVisit};
use uuid::Uuid;

use crate::Error;
use crate::field::{Field, REGION};
use crate::proxy::Link;

pub const SATGAS_FORM: &str = "satgas_laporan";
pub const PPKS_FORM: &str = "ppks_asesmen";

/// What the assessor's phone sent.
#[derive(Debug, Clone)]
pub struct AssessorDay {
    pub user_id: String,
    /// The report, as frozen on the phone.
    pub report: Uuid,
    /// The asesmen opened from the report.
    pub asesmen: Uuid,
    /// The two other asesmen.
    pub others: Vec<Uuid>,
    /// The asesmen's prefilled answers by review state at finalising (`confirmed`, `changed`, …).
    pub prefill_review: BTreeMap<String, u32>,
    /// The phone's case list after the day, one line a case: title, status, asesmen text.
    pub case_list: Vec<String>,
    /// The phone's progress line ("4 kunjungan selesai hari ini", no target).
    pub progress_text: String,
}

/// The assessor `(user_id, name)` is added (enrolled in [`REGION`]), files the report, opens and fills its
/// asesmen, fills two more, and syncs over `Link::edge()`; `say` hears each step.
pub fn run(
    field: &mut Field,
    (user_id, name): (&str, &str),
    say: &mut dyn FnMut(String),
) -> Result<AssessorDay, Error> {
    let tksk = field.add_assessor(user_id, name)?;
    say(format!(
        "{name:<18} ({user_id}) — assessor in {REGION}, no assignments, phone enrolled and synced"
    ));
    let setup = |e: tepat_synth::SynthError| Error::Setup(e.to_string());
    // A neighbour reports someone who needs help today; the team goes and files the report on the phone.
    let report_doc = field
        .generator
        .urgent_satgas_report(REGION)
        .map_err(setup)?;
    let report = tksk.phone.start_and_enter(
        UiEvent::StartNewCase {
            form_id: SATGAS_FORM.into(),
        },
        &report_doc,
    )?;
    let said = |key: &str| text(&report.answers, key);
    say(format!(
        "report {}: {} (suspected PPKS {}), urgency {}, first help {}, asesmen needed: {}",
        short(report.visit_id),
        if said("full_name").is_empty() {
            "name not known".to_string()
        } else {
            said("full_name")
        },
        said("ppks_suspected"),
        said("urgency"),
        said("first_help"),
        said("asesmen_needed")
    ));
    // From the case list: the asesmen of the same person, opened with the report's data.
    let mut asesmen_doc = field
        .generator
        .asesmen_for_report(&report_doc)
        .map_err(setup)?;
    asesmen_doc.answers.insert(
        "laporan_id".into(),
        Value::String(report.visit_id.to_string()),
    );
    let asesmen = tksk.phone.start_and_enter(
        UiEvent::StartAsesmenFromReport {
            visit_id: report.visit_id.to_string(),
        },
        &asesmen_doc,
    )?;
    if text(&asesmen.answers, "laporan_id") != report.visit_id.to_string() {
        return Err(Error::Phone(format!(
            "the asesmen does not name its report: {:?}",
            asesmen.answers.get("laporan_id")
        )));
    }
    let mut review: BTreeMap<String, u32> = BTreeMap::new();
    for state in asesmen.prefill_review.values() {
        let said = match state {
            PrefillReview::Confirmed => "confirmed",
            PrefillReview::Changed => "changed",
            PrefillReview::Unconfirmed => "left unconfirmed",
        };
        *review.entry(said.to_string()).or_default() += 1;
    }
    let prefilled: Vec<String> = review.iter().map(|(k, n)| format!("{n} {k}")).collect();
    say(format!(
        "asesmen {} opened from the report, its answers prefilled (name, sex, village, address, GPS, PPKS types, …: \
         {}), linked by laporan_id; PPKS {} (primary {}), {} referral(s)",
        short(asesmen.visit_id),
        prefilled.join(", "),
        text(&asesmen.answers, "ppks_types"),
        text(&asesmen.answers, "ppks_primary"),
        count(&asesmen.answers, "referrals")
    ));
    let mut others = Vec::new();
    for _ in 0..2 {
        let doc = field.generator.ppks_case(REGION).map_err(setup)?;
        let done = tksk.phone.start_and_enter(
            UiEvent::StartNewCase {
                form_id: PPKS_FORM.into(),
            },
            &doc,
        )?;
        say(format!(
            "asesmen {} of {}: PPKS {}, {} referral(s)",
            short(done.visit_id),
            text(&done.answers, "full_name"),
            text(&done.answers, "ppks_types"),
            count(&done.answers, "referrals")
        ));
        others.push(done.visit_id);
    }
    let view = tksk.phone.runtime().dispatch(UiEvent::ShowToday);
    let Screen::Today(today) = &view.screen else {
        return Err(Error::Phone(format!("no case list: {:?}", view.notice)));
    };
    let case_list: Vec<String> = today
        .cases
        .iter()
        .map(|case| {
            let asesmen = case
                .asesmen_text
                .as_deref()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default();
            format!("{} [{}]{asesmen}", case.title, case.status_text)
        })
        .collect();
    say(format!("the phone's case list ({}):", today.progress_text));
    for line in &case_list {
        say(format!("  {line}"));
    }
    field.proxy.set_link(Link::edge());
    let synced = tksk.phone.sync_until_clean(10);
    field.proxy.set_link(Link::default());
    let attempts = synced?;
    say(format!(
        "synced over the same 2G link, over HTTPS: outbox empty after {attempts} sync(s)"
    ));
    Ok(AssessorDay {
        user_id: user_id.to_string(),
        report: report.visit_id,
        asesmen: asesmen.visit_id,
        others,
        prefill_review: review,
        case_list,
        progress_text: today.progress_text.clone(),
    })
}

/// The supervisor's side: the report with the asesmen that names it, each asesmen's PPKS types and referrals.
/// Fails when a visit did not arrive or the asesmen does not name its report.
pub fn summary(pulled: &[ServerVisit], day: &AssessorDay) -> Result<Vec<String>, Error> {
    let theirs: Vec<&ServerVisit> = pulled.iter().filter(|v| v.user_id == day.user_id).collect();
    let find = |id: Uuid| {
        theirs
            .iter()
            .find(|v| v.visit.visit_id == id)
            .copied()
            .ok_or_else(|| Error::Setup(format!("the supervisor did not pull visit {id}")))
    };
    let report = find(day.report)?;
    let asesmen = find(day.asesmen)?;
    let link = text(&asesmen.visit.answers, "laporan_id");
    if link != day.report.to_string() {
        return Err(Error::Setup(format!(
            "the asesmen names report {link:?}, not {}",
            day.report
        )));
    }
    let mut lines = vec![format!(
        "the TKSK's day as the supervisor pulled it ({} visits):",
        theirs.len()
    )];
    let r = &report.visit.answers;
    lines.push(format!(
        "  Satgas report {} (urgency {}, suspected PPKS {}) → asesmen {} (its laporan_id is the report)",
        short(day.report),
        text(r, "urgency"),
        text(r, "ppks_suspected"),
        short(day.asesmen)
    ));
    for id in std::iter::once(day.asesmen).chain(day.others.iter().copied()) {
        let a = &find(id)?.visit.answers;
        let referrals: Vec<String> = a
            .get("referrals")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .map(|r| {
                format!(
                    "{} → {}",
                    text(r, "referral_service"),
                    text(r, "referral_to")
                )
            })
            .collect();
        lines.push(format!(
            "  asesmen {} {}: PPKS {} (primary {}), referrals: {}",
            short(id),
            text(a, "full_name"),
            text(a, "ppks_types"),
            text(a, "ppks_primary"),
            if referrals.is_empty() {
                "none".to_string()
            } else {
                referrals.join(", ")
            }
        ));
    }
    Ok(lines)
}

/// An answer as text: the codes of a multiple choice joined by spaces.
pub fn text(answers: &Answers, key: &str) -> String {
    match answers.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn count(answers: &Answers, key: &str) -> usize {
    answers
        .get(key)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The first 8 hex digits of a visit id.
fn short(id: Uuid) -> String {
    id.simple().to_string().chars().take(8).collect()
}
