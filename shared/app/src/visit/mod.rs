//! The open visit: starting and reopening, answering, rosters, sections, GPS and photos, notes, finalising.
//!
//! Every change to the answers goes through the form session first (so findings and relevance are live), then
//! to the store as the row changes it made; only the store's `Ok` makes it the saved state, and a failed save
//! puts the session back to what is stored.
//!
//! One module per part of a visit's life: [`open`] (from an assignment, a stored visit or a new case, prefilled),
//! [`navigate`] (sections, member pages, confirming a page), [`answer`] (typed text, choices, regions, members,
//! saving), [`phone`] (GPS and camera) and [`finish`] (notes, finalising, taking a visit back); this module holds
//! the open visit itself ([`OpenVisit`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::engine::Session;
use super::form_meta::FormMeta;
use super::view_model::{InputError, PrefillMark};
use tepat_form::paths::{AnswerRow, flatten, unflatten};
use tepat_protocol::{Answers, PrefillReview};
use tepat_records::{VisitState, VisitSummary};

mod answer;
mod finish;
mod navigate;
mod open;
mod phone;

pub use answer::{add_member, answer, answers_saved, choose, choose_region, clear, remove_member};
pub use finish::{
    blocked_reason, edit_again, finalise, finalised, note_saved, set_note, unfinalised,
};
pub use navigate::{
    close_member, confirm_page, go_to_section, next_section, open_member, prefill_confirmed, review,
};
pub(crate) use open::{load_form, may_start_without_assignment, prefill};
pub use open::{load_visit, open_assignment, open_visit, opened, start_new_case};
pub use phone::{capture_location, location_received, photo_received, take_photo};

/// The question whose answer (`1` yes, `2` no) decides whether a visit that may need a revisit stays on the list.
pub const REVISIT_PLANNED: &str = "revisit_planned";

/// The shortest note that explains a warning.
pub const MIN_NOTE_CHARS: usize = 3;

/// What the phone is doing for the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    Location(String),
    Photo(String),
}

/// A visit on screen.
pub struct OpenVisit {
    pub summary: VisitSummary,
    pub meta: FormMeta,
    pub session: Session,
    /// The answer rows as the store has them.
    pub saved: BTreeMap<String, AnswerRow>,
    /// Rows of saves not yet confirmed, by token.
    pending: BTreeMap<u64, BTreeMap<String, AnswerRow>>,
    pub notes: BTreeMap<String, String>,
    /// The assignment's label (the household), `None` for a new case.
    pub label: Option<String>,
    pub withdrawn: bool,
    /// Index into the form's sections.
    pub section: usize,
    /// The member pages open, outermost first: `(repeat path, index)`.
    pub members: Vec<(String, usize)>,
    /// Region cascade picks above the field's level (not answers yet).
    pub region_picks: HashMap<String, String>,
    pub input_errors: HashMap<String, InputError>,
    pub waiting: Option<Waiting>,
    /// What the assignment prefilled at the start, by answer path (the registered record).
    pub prefilled: BTreeMap<String, Value>,
    /// Prefilled paths the enumerator confirmed as they stand.
    pub confirmed: BTreeSet<String>,
    /// The enumerator has looked at the review: from then on the pages show what is missing too.
    pub reviewed: bool,
}

impl OpenVisit {
    pub fn editable(&self) -> bool {
        self.summary.state == VisitState::Draft
    }

    /// Sections that apply now: those with at least one relevant field.
    pub fn visible_sections(&self) -> Vec<usize> {
        let form = self.meta.compiled.form();
        form.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.fields.iter().any(|f| self.session.is_relevant(&f.id)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The path prefix of the page (`members[2].` on a member page).
    pub fn page_prefix(&self) -> String {
        match self.members.last() {
            Some((repeat, index)) => format!("{repeat}[{index}]."),
            None => String::new(),
        }
    }

    /// How the prefilled answer at `path` stands now (`None`: nothing was prefilled there).
    pub fn prefill_mark(&self, path: &str) -> Option<PrefillMark> {
        let registered = self.prefilled.get(path)?;
        let now = self.session.value(path).filter(|v| !v.is_null());
        Some(if now.as_ref() != Some(registered) {
            PrefillMark::Changed
        } else if self.confirmed.contains(path) {
            PrefillMark::Confirmed
        } else {
            PrefillMark::Prefilled
        })
    }

    /// What became of every prefilled answer, for the finalised visit: an answer hidden since (a member who
    /// moved away) or different from the register is changed.
    pub fn prefill_review(&self, relevant: &Answers) -> BTreeMap<String, PrefillReview> {
        let now = flatten(relevant, self.meta.repeats());
        self.prefilled
            .iter()
            .map(|(path, registered)| {
                let same = matches!(now.get(path), Some(AnswerRow::Value(v)) if v == registered);
                let review = if !same {
                    PrefillReview::Changed
                } else if self.confirmed.contains(path) {
                    PrefillReview::Confirmed
                } else {
                    PrefillReview::Unconfirmed
                };
                (path.clone(), review)
            })
            .collect()
    }

    /// How many members the repeat at `path` has.
    pub fn member_count(&self, path: &str) -> usize {
        match self.session.value(path) {
            Some(Value::Array(members)) => members.len(),
            _ => 0,
        }
    }

    fn rebuild_session(&mut self) {
        if let Ok(answers) = unflatten(self.saved.iter().map(|(p, r)| (p.as_str(), r)))
            && let Ok(session) = self.meta.compiled.session(answers, self.summary.visit_date)
        {
            self.session = Session::new(session);
        }
    }
}
