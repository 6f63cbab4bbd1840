//! The phone's audit trail as a hash chain, and the segment of it that travels with each visit.
//!
//! Every audit event the phone writes (an answer, a note, a GPS fix, a photo, finalising, reopening, a sync
//! receipt, …) takes the next chain position (`seq`: 1, 2, 3, … on each device database) and stores
//! `hash` = SHA-256 of its canonical encoding ([`event_hash`]), which includes `prev_hash`, the hash of the event
//! at position `seq − 1` ([`ZERO_HASH`] for the first). Editing a stored event changes its hash; deleting one
//! leaves a position without an event and a successor whose `prev_hash` names a hash nobody has; rewriting the
//! rest of the chain to hide either changes hashes the server already holds.
//!
//! The canonical encoding (version [`ENCODING_VERSION`]) is the ASCII tag `tepat-audit-v1`, then each field in a
//! fixed order as a presence byte (0 absent, 1 present) and, when present, its UTF-8 length as 8 bytes big-endian
//! followed by the bytes. Numbers are written in decimal, the time as RFC 3339 UTC with microseconds
//! (`2026-11-23T08:12:33.123456Z`, as the phone stores it). The fields: `seq`, `device_seq`, `at`, `actor`,
//! `visit_id`, `revision`, `kind`, `path`, `old`, `new`, `prev_hash`. Nothing can be moved from one field into
//! another without changing the bytes, and an absent value differs from an empty one.
//!
//! # What travels
//! Every hash is recomputable from the events' content and the hash before them, so a trail carries hashes only at
//! the ends of its *runs* (events at neighbouring positions `seq`, `seq + 1`, … one after the other in the trail):
//! the first event of a run carries `prev_hash`, the last carries `hash`, and the events in between carry neither.
//! The server recomputes the run's hashes from its first `prev_hash` and compares the last with the `hash` sent: an
//! edited event anywhere in the run shows there. [`shape_problem`] is the rule; a trail that breaks it (e.g. a hash
//! on every event, the shape before runs) is refused as a whole. The phone may add the positions its own check of
//! the chain finds edited (`edited`), so a finding can name them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The version of the canonical encoding this build writes and checks.
pub const ENCODING_VERSION: u32 = 1;

/// The `prev_hash` of the first event of a chain.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The audit events of one visit, as the phone holds them, sent with the visit in a sync batch
/// ([`crate::SyncRequest::trails`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitTrail {
    pub visit_id: Uuid,
    /// The revision sent in the same batch.
    pub revision: u32,
    /// The canonical encoding the hashes use ([`ENCODING_VERSION`]).
    pub encoding: u32,
    /// The visit's events in chain order (every revision's, the newest [`crate::bounds::BodyLimits::max_trail_events`]
    /// if there are more).
    #[serde(deserialize_with = "crate::bounds::trail_events")]
    pub events: Vec<TrailEvent>,
    /// Chain positions between the first and the last of `events` that the phone's database no longer holds
    /// (an event deleted behind the app's back). Empty on an intact phone.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::bounds::trail_positions"
    )]
    pub missing: Vec<u64>,
    /// Positions of `events` whose stored hash the phone's own check of its chain does not reproduce (an event
    /// edited behind the app's back). Empty on an intact phone; only a hint that names them (the server finds an
    /// edit from the hashes itself).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::bounds::trail_positions"
    )]
    pub edited: Vec<u64>,
}

/// One audit event of a visit with its place in the device's chain (the visit id is the trail's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailEvent {
    /// Chain position on the device: the predecessor is `seq − 1`.
    pub seq: u64,
    /// The device's monotonic counter when the event was written (orders events even when the clock jumps).
    pub device_seq: u64,
    /// The device's wall clock.
    pub at: DateTime<Utc>,
    /// The enrolled user, `device` before enrolment, `server` or `server:<reviewer>` for what a sync brought.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// `visit_started`, `answer_set`, `answer_cleared`, `members_changed`, `note_set`, `prefill_confirmed`,
    /// `finalised`, `unfinalised`, `sent`, `not_sent`, `receipt_*`, `returned`, `reopened`, `approved`.
    pub kind: String,
    /// The answer path, for answer and note events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value before (an answer as JSON text), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The value after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// The hash of event `seq − 1`, on the first event of a run only (module documentation: inside a run it is
    /// the hash the server recomputes for the event before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    /// SHA-256 (hex) of the event's canonical encoding as the phone stored it, on the last event of a run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// The fields of one audit event that its hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFields<'a> {
    pub seq: u64,
    pub device_seq: u64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub visit_id: Option<Uuid>,
    pub revision: Option<u32>,
    pub kind: &'a str,
    pub path: Option<&'a str>,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
}

impl TrailEvent {
    /// The hashed fields of this event of `visit_id`'s trail.
    pub fn fields(&self, visit_id: Uuid) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            device_seq: self.device_seq,
            at: self.at,
            actor: &self.actor,
            visit_id: Some(visit_id),
            revision: self.revision,
            kind: &self.kind,
            path: self.path.as_deref(),
            old: self.old.as_deref(),
            new: self.new.as_deref(),
        }
    }
}

/// The time as the phone stores and hashes it: RFC 3339 UTC with microseconds.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256 (hex) of an event's canonical encoding (module documentation) with `prev_hash`.
pub fn event_hash(event: &EventFields<'_>, prev_hash: &str) -> String {
    let seq = event.seq.to_string();
    let device_seq = event.device_seq.to_string();
    let at = time_text(event.at);
    let visit_id = event.visit_id.map(|id| id.to_string());
    let revision = event.revision.map(|r| r.to_string());
    canonical_hash(
        "tepat-audit-v1",
        &[
            Some(&seq),
            Some(&device_seq),
            Some(&at),
            Some(event.actor),
            visit_id.as_deref(),
            revision.as_deref(),
            Some(event.kind),
            event.path,
            event.old,
            event.new,
            Some(prev_hash),
        ],
    )
}

/// SHA-256 (hex) of `tag` followed by each field as a presence byte and, when present, its length (8 bytes,
/// big-endian) and bytes: the one canonical encoding of the phone's chain and the server's ledger.
pub fn canonical_hash(tag: &str, fields: &[Option<&str>]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tag.as_bytes());
    for field in fields {
        match field {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    crate::hex(&hasher.finalize())
}

/// Whether the event at `index` of `events` starts a run (the first, or not the neighbour of the one before).
pub fn starts_run(events: &[TrailEvent], index: usize) -> bool {
    match index.checked_sub(1).and_then(|i| events.get(i)) {
        Some(before) => events
            .get(index)
            .is_none_or(|e| before.seq.checked_add(1) != Some(e.seq)),
        None => true,
    }
}

/// Whether the event at `index` of `events` ends a run (the last, or the one after is not its neighbour).
pub fn ends_run(events: &[TrailEvent], index: usize) -> bool {
    index + 1 >= events.len() || starts_run(events, index + 1)
}

/// What is wrong with the shape of a trail's hashes, if anything: `prev_hash` exactly on each run's first event,
/// `hash` exactly on each run's last (module documentation).
pub fn shape_problem(trail: &VisitTrail) -> Option<String> {
    for (index, event) in trail.events.iter().enumerate() {
        let (first, last) = (
            starts_run(&trail.events, index),
            ends_run(&trail.events, index),
        );
        match (first, event.prev_hash.is_some()) {
            (true, false) => {
                return Some(format!(
                    "trail event {} starts a run of positions but has no prev_hash",
                    event.seq
                ));
            }
            (false, true) => {
                return Some(format!(
                    "trail event {} has a prev_hash inside a run of positions (only a run's first event carries one)",
                    event.seq
                ));
            }
            _ => {}
        }
        match (last, event.hash.is_some()) {
            (true, false) => {
                return Some(format!(
                    "trail event {} ends a run of positions but has no hash",
                    event.seq
                ));
            }
            (false, true) => {
                return Some(format!(
                    "trail event {} has a hash inside a run of positions (only a run's last event carries one)",
                    event.seq
                ));
            }
            _ => {}
        }
    }
    None
}

/// Whether `text` has the shape of a hash: 64 lower-case hex digits.
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EventFields<'static> {
        EventFields {
            seq: 7,
            device_seq: 12,
            at: DateTime::UNIX_EPOCH + chrono::Duration::microseconds(1_234_567),
            actor: "pkh01",
            visit_id: Some(Uuid::nil()),
            revision: Some(1),
            kind: "answer_set",
            path: Some("rooms"),
            old: None,
            new: Some("3"),
        }
    }

    #[test]
    fn the_hash_is_sha256_hex_and_stable() {
        let hash = event_hash(&fields(), ZERO_HASH);
        assert!(is_hash(&hash), "{hash}");
        assert_eq!(hash, event_hash(&fields(), ZERO_HASH));
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let base = event_hash(&fields(), ZERO_HASH);
        let other_prev = event_hash(&fields(), &"1".repeat(64));
        let changed = [
            EventFields { seq: 8, ..fields() },
            EventFields {
                device_seq: 13,
                ..fields()
            },
            EventFields {
                at: DateTime::UNIX_EPOCH,
                ..fields()
            },
            EventFields {
                actor: "pkh02",
                ..fields()
            },
            EventFields {
                visit_id: None,
                ..fields()
            },
            EventFields {
                revision: Some(2),
                ..fields()
            },
            EventFields {
                kind: "answer_cleared",
                ..fields()
            },
            EventFields {
                path: Some("room"),
                ..fields()
            },
            EventFields {
                old: Some(""),
                ..fields()
            },
            EventFields {
                new: Some("4"),
                ..fields()
            },
        ];
        let mut seen = std::collections::HashSet::from([base.clone(), other_prev]);
        for event in changed {
            assert!(seen.insert(event_hash(&event, ZERO_HASH)), "{event:?}");
        }
    }

    #[test]
    fn a_value_cannot_move_between_fields_unnoticed() {
        // "ab" + "" and "a" + "b" would collide in a plain concatenation.
        let a = canonical_hash("t", &[Some("ab"), Some("")]);
        let b = canonical_hash("t", &[Some("a"), Some("b")]);
        let c = canonical_hash("t", &[Some("ab"), None]);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn only_lower_case_hex_of_64_digits_is_a_hash() {
        assert!(is_hash(ZERO_HASH));
        assert!(!is_hash(&"A".repeat(64)));
        assert!(!is_hash(&"0".repeat(63)));
        assert!(!is_hash(&"g".repeat(64)));
    }

    #[test]
    fn a_trail_round_trips_through_json_and_leaves_out_what_is_absent() {
        let trail = VisitTrail {
            visit_id: Uuid::nil(),
            revision: 1,
            encoding: ENCODING_VERSION,
            events: vec![TrailEvent {
                seq: 1,
                device_seq: 2,
                at: DateTime::UNIX_EPOCH,
                actor: "pkh01".into(),
                revision: Some(1),
                kind: "visit_started".into(),
                path: None,
                old: None,
                new: None,
                prev_hash: Some(ZERO_HASH.into()),
                hash: Some("a".repeat(64)),
            }],
            missing: vec![],
            edited: vec![],
        };
        let text = serde_json::to_string(&trail).unwrap_or_default();
        assert!(
            !text.contains("\"path\"")
                && !text.contains("\"missing\"")
                && !text.contains("\"edited\""),
            "{text}"
        );
        let back: VisitTrail =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, trail);
    }

    fn event(seq: u64, prev: bool, hash: bool) -> TrailEvent {
        TrailEvent {
            seq,
            device_seq: seq,
            at: DateTime::UNIX_EPOCH,
            actor: "pkh01".into(),
            revision: Some(1),
            kind: "answer_set".into(),
            path: None,
            old: None,
            new: None,
            prev_hash: prev.then(|| ZERO_HASH.into()),
            hash: hash.then(|| "a".repeat(64)),
        }
    }

    fn trail(events: Vec<TrailEvent>) -> VisitTrail {
        VisitTrail {
            visit_id: Uuid::nil(),
            revision: 1,
            encoding: ENCODING_VERSION,
            events,
            missing: vec![],
            edited: vec![],
        }
    }

    #[test]
    fn hashes_only_at_the_ends_of_runs_is_the_one_accepted_shape() {
        // Runs 3–5 and 9, 10.
        let good = trail(vec![
            event(3, true, false),
            event(4, false, false),
            event(5, false, true),
            event(9, true, false),
            event(10, false, true),
        ]);
        assert_eq!(shape_problem(&good), None);
        assert_eq!(shape_problem(&trail(vec![event(1, true, true)])), None);
        assert_eq!(shape_problem(&trail(vec![])), None);
        // The shape before runs: a hash on every event.
        let every_hash = trail(vec![event(3, true, true), event(4, false, true)]);
        assert!(
            shape_problem(&every_hash)
                .is_some_and(|p| p.contains("event 3") && p.contains("inside a run"))
        );
        let no_first_prev = trail(vec![event(3, false, false), event(4, false, true)]);
        assert!(shape_problem(&no_first_prev).is_some_and(|p| p.contains("no prev_hash")));
        let inner_prev = trail(vec![event(3, true, false), event(4, true, true)]);
        assert!(shape_problem(&inner_prev).is_some_and(|p| p.contains("prev_hash inside")));
        let no_last_hash = trail(vec![event(3, true, false), event(5, true, true)]);
        assert!(shape_problem(&no_last_hash).is_some_and(|p| p.contains("event 3 ends a run")));
    }
}
