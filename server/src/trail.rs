//! Checking a visit's trail (the phone's hash-chained audit events, `tepat_protocol::trail`) and keeping it.
//!
//! # What "continuity" means here
//! A device's events form one chain: position `seq` links to `seq − 1` by `prev_hash`. A visit's trail carries
//! only that visit's events, so between two of them there are usually positions of other visits (or of the
//! device itself: forms installed, assignments received) that this trail does not carry. The server checks:
//! 1. **each run**: a trail carries hashes only at the ends of its runs of neighbouring positions (`prev_hash` on
//!    a run's first event, `hash` on its last; `tepat_protocol::trail`). The server recomputes every hash of the
//!    run from the first `prev_hash` and the events' content; the last must equal the `hash` the phone stored
//!    (else *edited*: some event of the run is not what the phone hashed; the finding names the run and the
//!    positions the phone's own check names in `edited`, if any);
//! 2. **order**: positions strictly increase, and so does the device's monotonic counter along them (else
//!    *reordered*);
//! 3. **links it can see**: where two events of the trail are neighbours (`seq`, `seq + 1`), the link is the
//!    recomputation of 1.; where the server already holds a neighbour of an event (from this device's other visits, any
//!    revision), the link to it must hold too, in both directions, and a position it holds must hold the same
//!    event (else *broken link* / *rewritten*);
//! 4. **no holes**: the positions the phone reports it no longer holds between the trail's first and last event
//!    (`missing`: a row deleted behind the app's back) are a *gap*;
//! 5. **completeness**: the trail has the `finalised` event of the revision it came with (else *incomplete*);
//! 6. **the clock**: between two events of the trail with monotonic readings of the same boot (one after the other
//!    in the trail), the wall clock moved as the monotonic clock did, within [`CLOCK_TOLERANCE_MS`] (else *clock
//!    changed*: the phone's clock was set between them, e.g. back a day to make a visit look made yesterday).
//!
//! A link to a position the server does not hold (yet) is open, not a finding: it is checked when that
//! position arrives with another visit (and then the finding is on that visit). A whole chain rewritten
//! consistently on the phone before anything was sent cannot be told from an honest one; what the server has
//! once received anchors the chain from then on. A visit sent without a trail (an app from before trails) is
//! kept with the finding *no trail*.
//!
//! Problems are findings of the visit (warnings, rule `trail_*`, path `trail`), so the supervisor sees them
//! wherever findings are shown: pull, the exports' findings, the console's visit page.

use std::collections::HashMap;

use crate::db::sql::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use tepat_form::{Finding, Level, Text};
use tepat_protocol::trail::{TrailEvent, VisitTrail, ZERO_HASH, ends_run, event_hash, starts_run};
use uuid::Uuid;

use crate::db::{self, DbError};

/// How far the wall clock may move against the monotonic clock between two events of one boot before it is a
/// finding: a phone's network time correction moves it by seconds, a clock set by hand by minutes to days. Two
/// minutes also covers the milliseconds between reading the two clocks.
pub const CLOCK_TOLERANCE_MS: i64 = 120_000;

/// The path and field of trail findings.
pub const TRAIL_PATH: &str = "trail";

/// Trail findings kept for one visit (the first ones in chain order): enough to show what happened, never
/// enough to crowd out the form's findings.
pub const MAX_FINDINGS: usize = 20;

/// One event with the `prev_hash` it links with (given at a run's start, else the hash recomputed for the event
/// before) and its hash: recomputed, except at the end of a run whose recomputation does not reach the hash sent
/// (then the hash sent, the one the phone's chain goes on from, so the next positions still link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub event: TrailEvent,
    pub prev_hash: String,
    pub hash: String,
    /// The event is in a run whose hashes do not recompute (its stored hashes are not evidence).
    pub in_edited_run: bool,
}

/// Something wrong with a trail. Stored as JSON tagged `problem` (`missing`, `edited`, …); the finding's rule is
/// `trail_` and that tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum TrailProblem {
    /// The visit came without a trail.
    #[serde(rename = "missing")]
    NoTrail,
    /// The run of events ending at `seq` (starting at `first`) does not recompute to the hash the phone stored
    /// at its end: one of them was edited. `named`: the positions of the run the phone's own check names (the
    /// first few).
    Edited {
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first: Option<u64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        named: Vec<u64>,
        expected: String,
        found: String,
    },
    /// Positions or the device counter go backwards.
    Reordered { seq: u64 },
    /// `prev_hash` of the event at `seq` is not the hash of the event at `seq − 1`.
    BrokenLink {
        seq: u64,
        expected: String,
        found: String,
    },
    /// The server holds this position of the device with another event.
    Rewritten {
        seq: u64,
        held: String,
        found: String,
    },
    /// Positions between the trail's events that the phone no longer holds (the first few, and how many).
    Gap { first: Vec<u64>, count: u64 },
    /// The trail lacks the `finalised` event of this revision.
    Incomplete { revision: u32 },
    /// Between the event at `after` and the one at `seq` (same boot) the wall clock moved `wall_ms` while the
    /// monotonic clock moved `mono_ms`: the phone's clock was changed.
    ClockChanged {
        after: u64,
        seq: u64,
        wall_ms: i64,
        mono_ms: i64,
    },
}

/// The positions a gap finding names.
const GAP_SHOWN: usize = 5;

impl TrailProblem {
    pub fn rule(&self) -> &'static str {
        match self {
            TrailProblem::NoTrail => "trail_missing",
            TrailProblem::Edited { .. } => "trail_edited",
            TrailProblem::Reordered { .. } => "trail_reordered",
            TrailProblem::BrokenLink { .. } => "trail_broken_link",
            TrailProblem::Rewritten { .. } => "trail_rewritten",
            TrailProblem::Gap { .. } => "trail_gap",
            TrailProblem::Incomplete { .. } => "trail_incomplete",
            TrailProblem::ClockChanged { .. } => "trail_clock_changed",
        }
    }

    /// The finding the supervisor sees.
    pub fn finding(&self) -> Finding {
        let message = match self {
            TrailProblem::NoTrail => Text::new(
                "Kunjungan dikirim tanpa jejak audit (aplikasi lama?): riwayat pengisian tidak dapat diperiksa.",
                "The visit came without its audit trail (an old app?): how it was filled in cannot be checked.",
            ),
            TrailProblem::Edited {
                seq,
                first,
                named,
                expected,
                found,
            } => {
                let events = match first {
                    Some(first) if first != seq => format!("{first}–{seq}"),
                    _ => seq.to_string(),
                };
                let list = named
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                let (named_id, named_en) = if named.is_empty() {
                    (String::new(), String::new())
                } else {
                    (
                        format!(" HP menandai peristiwa {list}."),
                        format!(" The phone names event(s) {list}."),
                    )
                };
                Text::new(
                    format!(
                        "Jejak audit diubah: peristiwa {events} tidak cocok dengan hash-nya (dihitung {}, tersimpan {}).{named_id}",
                        short(expected),
                        short(found)
                    ),
                    format!(
                        "Audit trail edited: event(s) {events} do not match their hash (computed {}, stored {}).{named_en}",
                        short(expected),
                        short(found)
                    ),
                )
            }
            TrailProblem::Reordered { seq } => Text::new(
                format!("Urutan jejak audit tidak wajar di peristiwa {seq}."),
                format!("The audit trail is out of order at event {seq}."),
            ),
            TrailProblem::BrokenLink {
                seq,
                expected,
                found,
            } => Text::new(
                format!(
                    "Rantai jejak audit putus sebelum peristiwa {seq} (diharapkan {}, tertulis {}).",
                    short(expected),
                    short(found)
                ),
                format!(
                    "The audit chain is broken before event {seq} (expected {}, found {}).",
                    short(expected),
                    short(found)
                ),
            ),
            TrailProblem::Rewritten { seq, held, found } => Text::new(
                format!(
                    "Peristiwa {seq} jejak audit berbeda dari yang sudah diterima server (server {}, kiriman {}).",
                    short(held),
                    short(found)
                ),
                format!(
                    "Audit event {seq} differs from the one the server already holds (server {}, sent {}).",
                    short(held),
                    short(found)
                ),
            ),
            TrailProblem::Gap { first, count } => {
                let list = first
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                Text::new(
                    format!("Jejak audit berlubang: {count} peristiwa hilang dari HP ({list}…)."),
                    format!(
                        "Gap in the audit trail: {count} event(s) gone from the phone ({list}…)."
                    ),
                )
            }
            TrailProblem::Incomplete { revision } => Text::new(
                format!("Jejak audit tidak memuat penyelesaian revisi {revision}."),
                format!("The audit trail lacks the finalising of revision {revision}."),
            ),
            TrailProblem::ClockChanged {
                after,
                seq,
                wall_ms,
                mono_ms,
            } => {
                let (wall_id, wall_en) = span(*wall_ms);
                let (mono_id, mono_en) = span(*mono_ms);
                Text::new(
                    format!(
                        "Jam HP diubah di antara peristiwa {after} dan {seq}: jam bergeser {wall_id}, padahal waktu yang berlalu {mono_id}."
                    ),
                    format!(
                        "The phone's clock was changed between events {after} and {seq}: it moved {wall_en} while {mono_en} passed."
                    ),
                )
            }
        };
        Finding {
            path: TRAIL_PATH.into(),
            field: TRAIL_PATH.into(),
            rule: self.rule().into(),
            level: Level::Warning,
            message,
        }
    }
}

/// A signed duration for people, in its two largest units: `+1 hari 2 jam` / `+1 d 2 h`.
fn span(ms: i64) -> (String, String) {
    let sign = if ms < 0 { "−" } else { "+" };
    let mut secs = ms.unsigned_abs().saturating_add(500) / 1000;
    let mut id = Vec::new();
    let mut en = Vec::new();
    for (size, id_unit, en_unit) in [
        (86_400, "hari", "d"),
        (3_600, "jam", "h"),
        (60, "menit", "min"),
        (1, "detik", "s"),
    ] {
        let count = secs / size;
        secs %= size;
        if count > 0 && id.len() < 2 {
            id.push(format!("{count} {id_unit}"));
            en.push(format!("{count} {en_unit}"));
        }
    }
    if id.is_empty() {
        id.push("0 detik".into());
        en.push("0 s".into());
    }
    (
        format!("{sign}{}", id.join(" ")),
        format!("{sign}{}", en.join(" ")),
    )
}

/// The wall clock against the monotonic clock between events of one boot, one after the other in the trail.
fn clock_problems(events: &[TrailEvent]) -> Vec<TrailProblem> {
    let mut problems = Vec::new();
    let mut before: Option<&TrailEvent> = None;
    for event in events {
        let Some(mono) = &event.mono else { continue };
        if let Some(previous) = before
            && let Some(previous_mono) = &previous.mono
            && previous_mono.boot == mono.boot
        {
            let wall_ms = (event.at - previous.at).num_milliseconds();
            let mono_ms = i128::from(mono.ms) - i128::from(previous_mono.ms);
            let mono_ms = i64::try_from(mono_ms).unwrap_or(i64::MAX);
            if (i128::from(wall_ms) - i128::from(mono_ms)).abs() > i128::from(CLOCK_TOLERANCE_MS) {
                problems.push(TrailProblem::ClockChanged {
                    after: previous.seq,
                    seq: event.seq,
                    wall_ms,
                    mono_ms,
                });
            }
        }
        before = Some(event);
    }
    problems
}

fn short(hash: &str) -> String {
    match hash.get(..12) {
        Some(head) if hash.len() > 12 => format!("{head}…"),
        _ if hash.is_empty() => "—".into(),
        _ => hash.to_string(),
    }
}

/// A trail checked on its own (no database): its events linked, and what is wrong inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub events: Vec<Linked>,
    pub problems: Vec<TrailProblem>,
}

/// Checks a trail by itself: hashes, order, links between neighbours, reported gaps, the finalising event.
pub fn check(trail: Option<&VisitTrail>, visit_id: Uuid, revision: u32) -> Checked {
    let Some(trail) = trail else {
        return Checked {
            events: Vec::new(),
            problems: vec![TrailProblem::NoTrail],
        };
    };
    let mut problems = Vec::new();
    let mut events: Vec<Linked> = Vec::with_capacity(trail.events.len());
    // Where the current run starts in `events`.
    let mut run_start = 0;
    for (index, event) in trail.events.iter().enumerate() {
        let before = events.last();
        if let Some(before) = before
            && (event.seq <= before.event.seq || event.device_seq <= before.event.device_seq)
        {
            problems.push(TrailProblem::Reordered { seq: event.seq });
        }
        let first = starts_run(&trail.events, index);
        if first {
            run_start = index;
        }
        // The bounds refuse any other shape; a trail read without them is still checked, never trusted.
        let prev_hash = match (&event.prev_hash, before) {
            (Some(given), Some(before)) if !first => {
                if *given != before.hash {
                    problems.push(TrailProblem::BrokenLink {
                        seq: event.seq,
                        expected: before.hash.clone(),
                        found: given.clone(),
                    });
                }
                given.clone()
            }
            (Some(given), _) => given.clone(),
            (None, Some(before)) if !first => before.hash.clone(),
            // Left out at a run's start: nothing to link with.
            (None, _) => {
                problems.push(TrailProblem::BrokenLink {
                    seq: event.seq,
                    expected: String::new(),
                    found: String::new(),
                });
                String::new()
            }
        };
        let recomputed = event_hash(&event.fields(visit_id), &prev_hash);
        let mut hash = recomputed.clone();
        let sent = event.hash.clone();
        let last = ends_run(&trail.events, index);
        if (last || sent.is_some()) && sent.as_ref() != Some(&recomputed) {
            let found = sent.unwrap_or_default();
            let first_seq = trail.events.get(run_start).map_or(event.seq, |e| e.seq);
            problems.push(TrailProblem::Edited {
                seq: event.seq,
                first: Some(first_seq),
                named: trail
                    .edited
                    .iter()
                    .copied()
                    .filter(|p| (first_seq..=event.seq).contains(p))
                    .take(GAP_SHOWN)
                    .collect(),
                expected: recomputed,
                found: found.clone(),
            });
            for linked in events.iter_mut().skip(run_start) {
                linked.in_edited_run = true;
            }
            if !found.is_empty() {
                hash = found;
            }
            events.push(Linked {
                event: event.clone(),
                prev_hash,
                hash,
                in_edited_run: true,
            });
            continue;
        }
        events.push(Linked {
            event: event.clone(),
            prev_hash,
            hash,
            in_edited_run: false,
        });
    }
    if !trail.missing.is_empty() {
        let mut first: Vec<u64> = trail.missing.iter().copied().take(GAP_SHOWN).collect();
        first.sort_unstable();
        problems.push(TrailProblem::Gap {
            first,
            count: trail.missing.len() as u64,
        });
    }
    let finalised = events
        .iter()
        .any(|l| l.event.kind == "finalised" && l.event.revision == Some(revision));
    if !finalised {
        problems.push(TrailProblem::Incomplete { revision });
    }
    problems.extend(clock_problems(&trail.events));
    Checked { events, problems }
}

/// Whether the event at position 1 of a device starts from [`ZERO_HASH`].
fn genesis_problem(linked: &Linked) -> Option<TrailProblem> {
    (linked.event.seq == 1 && linked.prev_hash != ZERO_HASH).then(|| TrailProblem::BrokenLink {
        seq: 1,
        expected: ZERO_HASH.into(),
        found: linked.prev_hash.clone(),
    })
}

/// Checks the trail against what the server holds of the device's chain and keeps its new events. Returns the
/// problems found against the held events.
pub fn check_and_store(
    tx: &Transaction<'_>,
    device_id: &str,
    visit_id: Uuid,
    checked: &Checked,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<TrailProblem>, DbError> {
    let mut problems = Vec::new();
    let positions: HashMap<u64, &Linked> =
        checked.events.iter().map(|l| (l.event.seq, l)).collect();
    // Events the trail's own check found in an edited run or badly linked.
    let mut flagged: std::collections::HashSet<u64> = checked
        .problems
        .iter()
        .filter_map(|p| match p {
            TrailProblem::BrokenLink { seq, .. } => Some(*seq),
            _ => None,
        })
        .chain(
            checked
                .events
                .iter()
                .filter(|l| l.in_edited_run)
                .map(|l| l.event.seq),
        )
        .collect();
    // Positions whose hash differs from the one held: past the first of a stretch, the difference is inherited
    // through the recomputed chain, so only the first is a finding.
    let mut diverged: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let held = |seq: u64| -> Result<Option<(String, String)>, DbError> {
        Ok(tx
            .prepare_cached(
                "SELECT prev_hash, hash FROM trail_events WHERE device_id = ?1 AND seq = ?2",
            )?
            .query_row(params![device_id, seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    };
    for linked in &checked.events {
        let seq = linked.event.seq;
        let before_here = problems.len();
        problems.extend(genesis_problem(linked));
        if let Some((_, hash)) = held(seq)? {
            if hash != linked.hash {
                let inherited = seq > 1 && diverged.contains(&(seq - 1));
                diverged.insert(seq);
                if !inherited {
                    problems.push(TrailProblem::Rewritten {
                        seq,
                        held: hash,
                        found: linked.hash.clone(),
                    });
                }
            }
            continue;
        }
        if seq > 1
            && !positions.contains_key(&(seq - 1))
            && let Some((_, before)) = held(seq - 1)?
            && before != linked.prev_hash
        {
            problems.push(TrailProblem::BrokenLink {
                seq,
                expected: before,
                found: linked.prev_hash.clone(),
            });
        }
        if !positions.contains_key(&(seq + 1))
            && let Some((after_prev, _)) = held(seq + 1)?
            && after_prev != linked.hash
        {
            problems.push(TrailProblem::BrokenLink {
                seq: seq + 1,
                expected: linked.hash.clone(),
                found: after_prev,
            });
        }
        if problems.len() > before_here {
            flagged.insert(seq);
        }
        let e = &linked.event;
        tx.prepare_cached(
            "INSERT INTO trail_events (device_id, seq, device_seq, at, actor, visit_id, revision, kind, path, old,
                 new, prev_hash, hash, received_at, flagged, boot, mono)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?
        .execute(params![
            device_id,
            e.seq as i64,
            e.device_seq as i64,
            db::timestamp(e.at),
            e.actor,
            visit_id.to_string(),
            e.revision,
            e.kind,
            e.path,
            e.old,
            e.new,
            linked.prev_hash,
            linked.hash,
            db::timestamp(now),
            flagged.contains(&seq),
            e.mono.as_ref().map(|m| m.boot.as_str()),
            e.mono.as_ref().map(|m| m.ms as i64),
        ])?;
    }
    Ok(problems)
}

#[cfg(test)]
mod tests;
