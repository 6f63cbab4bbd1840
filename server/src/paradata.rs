//! Paradata of a visit: how it was filled in, computed at ingest from its verified trail (so a phone cannot report
//! it apart from the events it signed), kept with the visit (`visits.paradata`), exported as columns of the
//! households CSV and shown on the console's visit page.
//!
//! All times are the phone's wall clock as the events carry it (the chain orders them; a clock set back shows as a
//! step of 0 s, never a negative one):
//! - `duration_s`: from the first event of the revision (`visit_started`, or `reopened` for a correction) to its
//!   last `finalised`;
//! - `section_s`: per section of the form, the seconds up to each answer, note or confirmation of a field of that
//!   section since the event before it (a pause longer than [`IDLE_CAP_S`] counts as that cap, so a phone left
//!   on the table does not make a section look slow);
//! - `answers_changed`: answers (paths) changed after they first held a value (a prefilled answer corrected
//!   counts), in this revision and the ones before it;
//! - `prefill_confirmed_unchanged`: prefilled answers the enumerator confirmed and never changed;
//! - `gps_start`, `gps_final`: the first and the last GPS fix answered in this revision.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tepat_form::Form;

use crate::trail::Linked;

/// Longest pause counted towards a section's time, in seconds.
pub const IDLE_CAP_S: i64 = 600;

/// A GPS fix from the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// The phone's clock when it was answered.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Paradata {
    pub duration_s: Option<i64>,
    pub section_s: BTreeMap<String, i64>,
    pub answers_changed: u32,
    pub prefill_confirmed_unchanged: u32,
    pub gps_start: Option<Fix>,
    pub gps_final: Option<Fix>,
    /// Events of the trail this was computed from.
    pub events: u32,
}

/// Events that are someone answering a field of a section.
const ANSWER_KINDS: [&str; 5] = [
    "answer_set",
    "answer_cleared",
    "members_changed",
    "note_set",
    "prefill_confirmed",
];

/// The top-level field of an answer path: `members[2].nik` → `members`.
fn top_field(path: &str) -> &str {
    let end = path.find(['[', '.']).unwrap_or(path.len());
    &path[..end]
}

fn fix_of(text: &str) -> Option<(f64, f64, Option<f64>)> {
    let value: Value = serde_json::from_str(text).ok()?;
    let lat = value.get("lat")?.as_f64()?;
    let lon = value.get("lon")?.as_f64()?;
    Some((lat, lon, value.get("accuracy_m").and_then(Value::as_f64)))
}

/// Paradata of `revision` from its trail's events (all revisions up to it are read for the counts).
pub fn compute(form: &Form, events: &[Linked], revision: u32) -> Paradata {
    let section_of: HashMap<&str, &str> = form
        .sections
        .iter()
        .flat_map(|s| s.fields.iter().map(move |f| (f.id.as_str(), s.id.as_str())))
        .collect();
    let upto: Vec<&Linked> = events
        .iter()
        .filter(|l| l.event.revision.is_some_and(|r| r <= revision))
        .collect();
    let this: Vec<&Linked> = upto
        .iter()
        .copied()
        .filter(|l| l.event.revision == Some(revision))
        .collect();
    let mut out = Paradata {
        events: this.len() as u32,
        ..Paradata::default()
    };
    if let (Some(first), Some(last)) = (
        this.first(),
        this.iter().rev().find(|l| l.event.kind == "finalised"),
    ) {
        out.duration_s = Some((last.event.at - first.event.at).num_seconds().max(0));
    }
    for pair in this.windows(2) {
        let (before, event) = (&pair[0].event, &pair[1].event);
        if !ANSWER_KINDS.contains(&event.kind.as_str()) {
            continue;
        }
        let Some(section) = event
            .path
            .as_deref()
            .and_then(|p| section_of.get(top_field(p)))
        else {
            continue;
        };
        let step = (event.at - before.at).num_seconds().clamp(0, IDLE_CAP_S);
        *out.section_s.entry((*section).to_string()).or_default() += step;
    }
    let mut changed = BTreeSet::new();
    let mut confirmed = BTreeSet::new();
    for linked in &upto {
        let e = &linked.event;
        match (e.kind.as_str(), e.path.as_deref()) {
            ("answer_set" | "answer_cleared" | "members_changed", Some(path))
                if e.old.is_some() =>
            {
                changed.insert(path);
            }
            ("prefill_confirmed", Some(path)) => {
                confirmed.insert(path);
            }
            _ => {}
        }
    }
    out.answers_changed = changed.len() as u32;
    out.prefill_confirmed_unchanged = confirmed.difference(&changed).count() as u32;
    let fixes: Vec<Fix> = this
        .iter()
        .filter(|l| l.event.kind == "answer_set")
        .filter_map(|l| {
            let (lat, lon, accuracy_m) = fix_of(l.event.new.as_deref()?)?;
            Some(Fix {
                lat,
                lon,
                accuracy_m,
                at: tepat_protocol::trail::time_text(l.event.at),
            })
        })
        .collect();
    out.gps_start = fixes.first().cloned();
    out.gps_final = fixes.last().cloned();
    out
}

impl Paradata {
    /// `section=seconds` pairs, `;`-separated, in section order of the form (the export's cell).
    pub fn section_cell(&self, form: Option<&Form>) -> String {
        let mut ordered: Vec<(&String, &i64)> = self.section_s.iter().collect();
        if let Some(form) = form {
            let index: HashMap<&str, usize> = form
                .sections
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect();
            ordered.sort_by_key(|(id, _)| index.get(id.as_str()).copied().unwrap_or(usize::MAX));
        }
        ordered
            .iter()
            .map(|(id, s)| format!("{id}={s}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// `lat,lon` of a fix (the export's cell).
pub fn fix_cell(fix: Option<&Fix>) -> String {
    fix.map(|f| format!("{},{}", f.lat, f.lon))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use tepat_protocol::trail::TrailEvent;

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "f", "version": 1, "title": {"id": "F", "en": "F"},
            "sections": [
                {"id": "blok1", "title": {"id": "1", "en": "1"}, "fields": [
                    {"id": "outcome", "type": "text", "label": {"id": "o", "en": "o"}},
                    {"id": "gps", "type": "text", "label": {"id": "g", "en": "g"}}]},
                {"id": "blok2", "title": {"id": "2", "en": "2"}, "fields": [
                    {"id": "head_name", "type": "text", "label": {"id": "n", "en": "n"}}]}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn event(
        seq: u64,
        secs: i64,
        kind: &str,
        path: Option<&str>,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Linked {
        let start: DateTime<Utc> = DateTime::UNIX_EPOCH + Duration::days(20_000);
        Linked {
            event: TrailEvent {
                seq,
                device_seq: seq,
                at: start + Duration::seconds(secs),
                mono: None,
                actor: "pkh01".into(),
                revision: Some(1),
                kind: kind.into(),
                path: path.map(Into::into),
                old: old.map(Into::into),
                new: new.map(Into::into),
                prev_hash: None,
                hash: None,
            },
            prev_hash: String::new(),
            hash: String::new(),
            in_edited_run: false,
        }
    }

    #[test]
    fn paradata_follow_the_events() {
        let events = vec![
            event(1, 0, "visit_started", None, None, None),
            event(
                2,
                0,
                "answer_set",
                Some("head_name"),
                None,
                Some("\"Siti\""),
            ),
            event(3, 30, "answer_set", Some("outcome"), None, Some("\"1\"")),
            event(
                4,
                50,
                "answer_set",
                Some("gps"),
                None,
                Some(r#"{"lat":-3.8,"lon":102.2,"accuracy_m":8}"#),
            ),
            // Idle for an hour: counts as the cap.
            event(
                5,
                50 + 3600,
                "answer_set",
                Some("outcome"),
                Some("\"1\""),
                Some("\"2\""),
            ),
            event(6, 3700, "prefill_confirmed", Some("head_name"), None, None),
            event(
                7,
                3710,
                "answer_set",
                Some("gps"),
                Some("{}"),
                Some(r#"{"lat":-3.9,"lon":102.3}"#),
            ),
            event(8, 3720, "finalised", None, None, None),
        ];
        let p = compute(&form(), &events, 1);
        assert_eq!(p.duration_s, Some(3720));
        assert_eq!(p.section_s.get("blok1"), Some(&(30 + 20 + IDLE_CAP_S + 10)));
        assert_eq!(p.section_s.get("blok2"), Some(&(50)));
        assert_eq!(p.answers_changed, 2, "outcome and gps changed");
        assert_eq!(p.prefill_confirmed_unchanged, 1);
        assert_eq!(
            p.gps_start.as_ref().map(|f| (f.lat, f.lon, f.accuracy_m)),
            Some((-3.8, 102.2, Some(8.0)))
        );
        assert_eq!(fix_cell(p.gps_final.as_ref()), "-3.9,102.3");
        assert_eq!(
            p.section_cell(Some(&form())),
            format!("blok1={};blok2=50", 30 + 20 + IDLE_CAP_S + 10)
        );
        assert_eq!(p.events, 8);
    }

    #[test]
    fn a_confirmed_answer_changed_afterwards_is_not_unchanged_and_no_finalise_no_duration() {
        let events = vec![
            event(1, 0, "visit_started", None, None, None),
            event(2, 5, "prefill_confirmed", Some("head_name"), None, None),
            event(
                3,
                9,
                "answer_set",
                Some("head_name"),
                Some("\"Siti\""),
                Some("\"Sri\""),
            ),
        ];
        let p = compute(&form(), &events, 1);
        assert_eq!((p.prefill_confirmed_unchanged, p.answers_changed), (0, 1));
        assert_eq!(p.duration_s, None);
        assert!(p.gps_start.is_none());
    }
}
