//! The phone's audit trail as a hash chain, and the segment of it that travels with each visit.
//!
//! Every audit event the phone writes (an answer, a note, a GPS fix, a photo, finalising, reopening, a sync
//! receipt, …) takes the next chain position (`seq`: 1, 2, 3, … on each device database) and stores
//! `hash` = SHA-256 of its canonical encoding ([`event_hash`]), which includes `prev_hash`, the hash of the event
//! at position `seq − 1` ([`ZERO_HASH`] for the first). Editing a stored event changes its hash; deleting one
//! leaves a position without an event and a successor whose `prev_hash` names a hash nobody has; rewriting the
//! rest of the chain to hide either changes hashes the server already holds.
//!
//! # The canonical encoding
//! The ASCII tag, then each field in a fixed order as a presence byte (0 absent, 1 present) and, when present, its
//! UTF-8 length as 8 bytes big-endian followed by the bytes. Numbers are written in decimal, the time as RFC 3339
//! UTC with microseconds (`2026-11-23T08:12:33.123456Z`, as the phone stores it). Nothing can be moved from one
//! field into another without changing the bytes, and an absent value differs from an empty one.
//! - An event with a monotonic reading ([`Monotonic`]: the boot it was taken in and the milliseconds since that
//!   boot, sleep included): tag `tepat-audit-v2`, fields `seq`, `device_seq`, `at`, `boot`, `mono`, `actor`,
//!   `visit_id`, `revision`, `kind`, `path`, `old`, `new`, `prev_hash`.
//! - An event without one (written before the phone kept readings, or when none could be taken): tag
//!   `tepat-audit-v1`, the same fields without `boot` and `mono`. Dropping a reading changes the tag, so the hash.
//!
//! # What travels
//! Every hash is recomputable from the events' content and the hash before them, so a trail carries hashes only at
//! the ends of its *runs* (events at neighbouring positions `seq`, `seq + 1`, … one after the other in the trail):
//! the first event of a run carries `prev_hash`, the last carries `hash`, and the events in between carry neither.
//! The server recomputes the run's hashes from its first `prev_hash` and compares the last with the `hash` sent: an
//! edited event anywhere in the run shows there. [`shape_problem`] is the rule; a trail that breaks it (e.g. a hash
//! on every event, the shape before runs) is refused as a whole. The phone may add the positions its own check of
//! the chain finds edited (`edited`), so a finding can name them.
//!
//! On the wire (encoding [`ENCODING_VERSION`]) each event leaves out what the events before it in the same trail
//! imply ([`WireEvent`], [`encode`], [`Decoder`]): the position when it is the previous one + 1, the device
//! counter when it keeps its distance to the position, the time as microseconds since the previous event, the
//! actor, revision and kind when unchanged, a path already seen as its index, `old` when it is the `new` of the
//! latest event before it with the same path, the monotonic reading as the change of its distance to the wall
//! clock. The encoding is lossless for any list of events (a reordered or edited one too), so the server
//! decodes exactly the events the phone sent and checks them as they are; the hashes never cover the wire form.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The wire form of trails this build writes and reads: 2, the compact events of [`WireEvent`] (1 was every
/// field of every event written out).
pub const ENCODING_VERSION: u32 = 2;

/// The `prev_hash` of the first event of a chain.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The audit events of one visit, as the phone holds them, sent with the visit in a sync batch
/// ([`crate::SyncRequest::trails`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitTrail {
    pub visit_id: Uuid,
    /// The revision sent in the same batch.
    pub revision: u32,
    /// The wire form of `events` ([`ENCODING_VERSION`]).
    pub encoding: u32,
    /// The visit's events in chain order (every revision's, the newest [`crate::bounds::BodyLimits::max_trail_events`]
    /// if there are more), on the wire as [`WireEvent`]s.
    #[serde(
        serialize_with = "serialize_events",
        deserialize_with = "crate::bounds::trail_events"
    )]
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

/// A reading of the phone's monotonic clock taken with the wall clock of an event: the boot it belongs to and the
/// milliseconds since that boot, sleep included (`CLOCK_BOOTTIME`). Within one boot it advances exactly as real
/// time does, whatever the wall clock is set to, so a wall clock changed mid-visit shows against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Monotonic {
    /// The boot (or, where the system does not name its boot, the app process) the reading was taken in:
    /// readings compare only within one.
    pub boot: String,
    /// Milliseconds since that boot.
    pub ms: u64,
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
    /// The monotonic clock read with `at`, when the phone took a reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mono: Option<Monotonic>,
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
    pub mono: Option<&'a Monotonic>,
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
            mono: self.mono.as_ref(),
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
    match event.mono {
        None => canonical_hash(
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
        ),
        Some(mono) => {
            let ms = mono.ms.to_string();
            canonical_hash(
                "tepat-audit-v2",
                &[
                    Some(&seq),
                    Some(&device_seq),
                    Some(&at),
                    Some(&mono.boot),
                    Some(&ms),
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
    }
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

// ---------------------------------------------------------------------------------------------------------------
// The wire form

/// One event on the wire (encoding 2). Every field may be absent; an absent field follows from the events before
/// it in the same trail ([`Decoder`]), and the first event names its position, time, actor and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEvent {
    /// `seq`; absent: the previous event's + 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<u64>,
    /// `device_seq − seq`; absent: as for the event before (0 before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<i64>,
    /// `at` written out (the first event, or a time the previous one does not reach in whole microseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<DateTime<Utc>>,
    /// `at` as microseconds after the previous event's; absent (and no `a`): the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<i64>,
    /// `actor`; absent: the previous event's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// `revision`; absent: the previous event's (none before the first); `null`: none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub r: Option<Option<u32>>,
    /// `kind`; absent: the previous event's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
    /// `path`: a text not seen before in this trail (it joins the trail's list of paths), or the index of one in
    /// that list (0: the first path seen); absent: no path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<PathRef>,
    /// `old`; absent: the `new` of the latest event before it in this trail with the same path (none when there is
    /// no such event, or no path); `null`: none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub o: Option<Option<String>>,
    /// `new`; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The boot of the monotonic reading; absent: the previous event's (no reading before the first); `""`: no
    /// reading from this event on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
    /// With a reading: how much its distance to the wall clock (`mono.ms` − `at` in milliseconds since 1970)
    /// changed since the previous reading of the trail (0 before the first); absent: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<i64>,
    /// `prev_hash` (a run's first event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ph: Option<String>,
    /// `hash` (a run's last event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h: Option<String>,
}

/// A wire event's path: new in the trail, or one seen before by its index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathRef {
    Seen(u64),
    New(String),
}

/// An optional field that may also be `null`: absent is `None`, `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What the events before one in a trail imply for it: kept alike by [`encode`] and [`Decoder`].
#[derive(Debug, Default)]
struct Context {
    seq: Option<u64>,
    offset: i64,
    at: Option<DateTime<Utc>>,
    actor: Option<String>,
    revision: Option<u32>,
    kind: Option<String>,
    /// The trail's paths in the order first seen, and the index of each.
    paths: Vec<String>,
    path_index: HashMap<String, usize>,
    /// For each of `paths`, the index in the trail of the latest event with it.
    latest: Vec<Option<usize>>,
    boot: Option<String>,
    skew: i64,
}

impl Context {
    fn add_path(&mut self, path: String) -> usize {
        let slot = self.paths.len();
        self.path_index.insert(path.clone(), slot);
        self.paths.push(path);
        self.latest.push(None);
        slot
    }

    /// `old` as the wire leaves it out: the `new` of the latest event before with the path in `slot`.
    fn derived_old<'e>(&self, slot: Option<usize>, before: &'e [TrailEvent]) -> Option<&'e str> {
        let index = self.latest.get(slot?).copied().flatten()?;
        before.get(index)?.new.as_deref()
    }

    /// Moves past `event`, the `index`-th of the trail.
    fn advance(&mut self, event: &TrailEvent, offset: i64, slot: Option<usize>, index: usize) {
        self.seq = Some(event.seq);
        self.offset = offset;
        self.at = Some(event.at);
        if self.actor.as_deref() != Some(event.actor.as_str()) {
            self.actor = Some(event.actor.clone());
        }
        self.revision = event.revision;
        if self.kind.as_deref() != Some(event.kind.as_str()) {
            self.kind = Some(event.kind.clone());
        }
        if let Some(latest) = slot.and_then(|slot| self.latest.get_mut(slot)) {
            *latest = Some(index);
        }
    }
}

/// `device_seq − seq`, if it fits.
fn offset_of(device_seq: u64, seq: u64) -> Option<i64> {
    i64::try_from(i128::from(device_seq) - i128::from(seq)).ok()
}

/// `after − before` in microseconds, if that gives `after` back exactly.
fn micros_between(before: DateTime<Utc>, after: DateTime<Utc>) -> Option<i64> {
    let micros = (after - before).num_microseconds()?;
    (before.checked_add_signed(Duration::microseconds(micros)) == Some(after)).then_some(micros)
}

/// `ms − at` in milliseconds (the monotonic reading's distance to the wall clock), if it fits.
fn skew_of(ms: u64, at: DateTime<Utc>) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_sub(at.timestamp_millis())
}

/// The wire form of `events` (encoding 2). Fails only on values no phone writes: a device counter further than
/// `i64` from its position, a reading with an empty boot or out of `i64` range.
pub fn encode(events: &[TrailEvent]) -> Result<Vec<WireEvent>, String> {
    let mut cx = Context::default();
    let mut out = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let seq = event.seq;
        let mut wire = WireEvent::default();
        if cx.seq.and_then(|s| s.checked_add(1)) != Some(seq) {
            wire.s = Some(seq);
        }
        let offset = offset_of(event.device_seq, seq)
            .ok_or_else(|| format!("trail event {seq}: the device counter is out of range"))?;
        if offset != cx.offset {
            wire.d = Some(offset);
        }
        match cx.at.and_then(|before| micros_between(before, event.at)) {
            Some(0) => {}
            Some(micros) => wire.t = Some(micros),
            None => wire.a = Some(event.at),
        }
        if cx.actor.as_deref() != Some(event.actor.as_str()) {
            wire.u = Some(event.actor.clone());
        }
        if cx.revision != event.revision {
            wire.r = Some(event.revision);
        }
        if cx.kind.as_deref() != Some(event.kind.as_str()) {
            wire.k = Some(event.kind.clone());
        }
        let slot = match &event.path {
            None => None,
            Some(path) => Some(match cx.path_index.get(path) {
                Some(&slot) => {
                    wire.p = Some(PathRef::Seen(slot as u64));
                    slot
                }
                None => {
                    wire.p = Some(PathRef::New(path.clone()));
                    cx.add_path(path.clone())
                }
            }),
        };
        if cx.derived_old(slot, events) != event.old.as_deref() {
            wire.o = Some(event.old.clone());
        }
        wire.n = event.new.clone();
        match &event.mono {
            Some(mono) => {
                if mono.boot.is_empty() {
                    return Err(format!("trail event {seq}: a reading without its boot"));
                }
                if cx.boot.as_deref() != Some(mono.boot.as_str()) {
                    wire.b = Some(mono.boot.clone());
                    cx.boot = Some(mono.boot.clone());
                }
                let skew = skew_of(mono.ms, event.at)
                    .ok_or_else(|| format!("trail event {seq}: the reading is out of range"))?;
                let change = skew
                    .checked_sub(cx.skew)
                    .ok_or_else(|| format!("trail event {seq}: the reading is out of range"))?;
                if change != 0 {
                    wire.c = Some(change);
                }
                cx.skew = skew;
            }
            None => {
                if cx.boot.is_some() {
                    wire.b = Some(String::new());
                    cx.boot = None;
                }
            }
        }
        wire.ph = event.prev_hash.clone();
        wire.h = event.hash.clone();
        cx.advance(event, offset, slot, index);
        out.push(wire);
    }
    Ok(out)
}

/// `VisitTrail::events` on the wire: [`encode`]d.
fn serialize_events<S: Serializer>(
    events: &[TrailEvent],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    encode(events)
        .map_err(<S::Error as serde::ser::Error>::custom)?
        .serialize(serializer)
}

/// Reads a trail's [`WireEvent`]s back into its events, in order (`crate::bounds::trail_events` checks each
/// against the body's limits as it comes).
#[derive(Debug, Default)]
pub struct Decoder {
    cx: Context,
}

impl Decoder {
    /// The event `wire` stands for, after the events `before` it (every one this decoder gave, in order).
    pub fn decode(&mut self, wire: WireEvent, before: &[TrailEvent]) -> Result<TrailEvent, String> {
        let cx = &mut self.cx;
        let seq = match (wire.s, cx.seq) {
            (Some(seq), _) => seq,
            (None, Some(previous)) => previous
                .checked_add(1)
                .ok_or("a trail event's position is out of range")?,
            (None, None) => return Err("the first trail event has no position (s)".into()),
        };
        let fail = |what: &str| format!("trail event {seq}: {what}");
        let offset = wire.d.unwrap_or(cx.offset);
        let device_seq = u64::try_from(i128::from(seq) + i128::from(offset))
            .map_err(|_| fail("the device counter is out of range"))?;
        let at = match (wire.a, wire.t, cx.at) {
            (Some(_), Some(_), _) => return Err(fail("a time (a) and a time difference (t)")),
            (Some(at), None, _) => at,
            (None, micros, Some(previous)) => previous
                .checked_add_signed(Duration::microseconds(micros.unwrap_or(0)))
                .ok_or_else(|| fail("the time is out of range"))?,
            (None, _, None) => return Err(fail("the first event has no time (a)")),
        };
        let actor = match wire.u {
            Some(actor) => actor,
            None => cx
                .actor
                .clone()
                .ok_or_else(|| fail("the first event has no actor (u)"))?,
        };
        let revision = wire.r.unwrap_or(cx.revision);
        let kind = match wire.k {
            Some(kind) => kind,
            None => cx
                .kind
                .clone()
                .ok_or_else(|| fail("the first event has no kind (k)"))?,
        };
        let slot = match wire.p {
            None => None,
            Some(PathRef::Seen(index)) => Some(
                usize::try_from(index)
                    .ok()
                    .filter(|i| *i < cx.paths.len())
                    .ok_or_else(|| fail(&format!("path {index} names no path seen before")))?,
            ),
            Some(PathRef::New(path)) => Some(match cx.path_index.get(&path) {
                Some(&slot) => slot,
                None => cx.add_path(path),
            }),
        };
        let path = slot.and_then(|slot| cx.paths.get(slot)).cloned();
        let old = match wire.o {
            Some(old) => old,
            None => cx.derived_old(slot, before).map(str::to_owned),
        };
        if let Some(boot) = wire.b {
            cx.boot = (!boot.is_empty()).then_some(boot);
        }
        let mono = match &cx.boot {
            Some(boot) => {
                let skew = cx
                    .skew
                    .checked_add(wire.c.unwrap_or(0))
                    .ok_or_else(|| fail("the reading is out of range"))?;
                let ms = at
                    .timestamp_millis()
                    .checked_add(skew)
                    .and_then(|ms| u64::try_from(ms).ok())
                    .ok_or_else(|| fail("the reading is out of range"))?;
                cx.skew = skew;
                Some(Monotonic {
                    boot: boot.clone(),
                    ms,
                })
            }
            None if wire.c.is_some() => return Err(fail("a clock change (c) without a reading")),
            None => None,
        };
        let event = TrailEvent {
            seq,
            device_seq,
            at,
            mono,
            actor,
            revision,
            kind,
            path,
            old,
            new: wire.n,
            prev_hash: wire.ph,
            hash: wire.h,
        };
        cx.advance(&event, offset, slot, before.len());
        Ok(event)
    }
}

/// Decodes a whole list of wire events (outside a body's limits: the phone, tests).
pub fn decode(wire: Vec<WireEvent>) -> Result<Vec<TrailEvent>, String> {
    let mut decoder = Decoder::default();
    let mut events = Vec::with_capacity(wire.len());
    for item in wire {
        let event = decoder.decode(item, &events)?;
        events.push(event);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EventFields<'static> {
        EventFields {
            seq: 7,
            device_seq: 12,
            at: DateTime::UNIX_EPOCH + chrono::Duration::microseconds(1_234_567),
            mono: None,
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
    fn an_event_without_a_reading_hashes_as_before_readings() {
        // Chains written before readings (tag v1, no boot or mono) still verify.
        let v1 = canonical_hash(
            "tepat-audit-v1",
            &[
                Some("7"),
                Some("12"),
                Some("1970-01-01T00:00:01.234567Z"),
                Some("pkh01"),
                Some("00000000-0000-0000-0000-000000000000"),
                Some("1"),
                Some("answer_set"),
                Some("rooms"),
                None,
                Some("3"),
                Some(ZERO_HASH),
            ],
        );
        assert_eq!(event_hash(&fields(), ZERO_HASH), v1);
    }

    #[test]
    fn every_field_the_reading_and_the_previous_hash_change_the_hash() {
        let base = event_hash(&fields(), ZERO_HASH);
        let other_prev = event_hash(&fields(), &"1".repeat(64));
        let reading = Monotonic {
            boot: "b1".into(),
            ms: 5_000,
        };
        let other_boot = Monotonic {
            boot: "b2".into(),
            ms: 5_000,
        };
        let later = Monotonic {
            boot: "b1".into(),
            ms: 5_001,
        };
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
                mono: Some(&reading),
                ..fields()
            },
            EventFields {
                mono: Some(&other_boot),
                ..fields()
            },
            EventFields {
                mono: Some(&later),
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

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::seconds(1_795_000_000 + secs)
    }

    fn answer(seq: u64, secs: i64, path: &str, old: Option<&str>, new: Option<&str>) -> TrailEvent {
        TrailEvent {
            seq,
            device_seq: seq + 3,
            at: at(secs),
            mono: Some(Monotonic {
                boot: "boot-1".into(),
                ms: 60_000 + secs as u64 * 1000,
            }),
            actor: "pkh01".into(),
            revision: Some(1),
            kind: "answer_set".into(),
            path: Some(path.into()),
            old: old.map(Into::into),
            new: new.map(Into::into),
            prev_hash: None,
            hash: None,
        }
    }

    /// A visit as a phone writes it: started, answers (one changed, one cleared), a note, finalised and sent
    /// after other visits' events, a restart of the phone (a new boot), an event without a reading.
    fn honest() -> Vec<TrailEvent> {
        let mut started = answer(41, 0, "x", None, Some("GC-1"));
        started.kind = "visit_started".into();
        started.path = None;
        started.prev_hash = Some(ZERO_HASH.into());
        let mut finalised = answer(47, 300, "x", None, None);
        finalised.kind = "finalised".into();
        finalised.path = None;
        finalised.hash = Some("a".repeat(64));
        let mut sent = answer(60, 4000, "x", None, None);
        sent.kind = "sent".into();
        sent.path = None;
        sent.device_seq = 70;
        sent.mono = Some(Monotonic {
            boot: "boot-2".into(),
            ms: 1_234,
        });
        sent.prev_hash = Some("b".repeat(64));
        let mut receipt = sent.clone();
        receipt.seq = 61;
        receipt.device_seq = 71;
        receipt.kind = "receipt_accepted".into();
        receipt.actor = "server".into();
        receipt.at += chrono::Duration::microseconds(2_500_001);
        receipt.mono = None;
        receipt.prev_hash = None;
        receipt.hash = Some("c".repeat(64));
        vec![
            started,
            answer(42, 20, "rooms", None, Some("3")),
            answer(43, 31, "head_name", None, Some("\"Siti\"")),
            answer(44, 45, "rooms", Some("3"), Some("4")),
            answer(45, 45, "head_name", Some("\"Siti\""), None),
            answer(
                46,
                60,
                "members[0].nik",
                Some("\"prefilled\""),
                Some("\"3201\""),
            ),
            finalised,
            sent,
            receipt,
        ]
    }

    #[test]
    fn the_wire_form_gives_back_every_event_and_leaves_out_what_follows() {
        let events = honest();
        let wire = encode(&events).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decode(wire.clone()), Ok(events.clone()));
        // What the events before imply is not sent.
        let answer = wire.get(3).cloned().unwrap_or_default();
        assert_eq!(
            answer,
            WireEvent {
                t: Some(14_000_000),
                p: Some(PathRef::Seen(0)),
                n: Some("4".into()),
                ..WireEvent::default()
            }
        );
        let cleared = wire.get(4).cloned().unwrap_or_default();
        assert_eq!(cleared.o, None, "old follows from the path's last new");
        let prefilled = wire.get(5).cloned().unwrap_or_default();
        assert_eq!(prefilled.o, Some(Some("\"prefilled\"".into())));
        assert_eq!(prefilled.p, Some(PathRef::New("members[0].nik".into())));
        let sent = wire.get(7).cloned().unwrap_or_default();
        assert_eq!(sent.s, Some(60));
        assert_eq!(sent.d, Some(10));
        assert_eq!(sent.b.as_deref(), Some("boot-2"));
        let receipt = wire.get(8).cloned().unwrap_or_default();
        assert_eq!(receipt.b.as_deref(), Some(""), "the reading stops");
        assert_eq!(receipt.t, Some(2_500_001));
        let text = serde_json::to_string(&VisitTrail {
            visit_id: Uuid::nil(),
            revision: 1,
            encoding: ENCODING_VERSION,
            events: events.clone(),
            missing: vec![],
            edited: vec![],
        })
        .unwrap_or_default();
        for long in [
            "\"seq\"",
            "\"device_seq\"",
            "\"actor\"",
            "\"missing\"",
            "\"edited\"",
        ] {
            assert!(!text.contains(long), "{long} in {text}");
        }
        let back: VisitTrail =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back.events, events);
    }

    #[test]
    fn the_wire_form_keeps_whatever_a_list_holds_so_the_checks_see_it() {
        // Reordered, a counter going back, time going back, an old value that does not follow, no old where one
        // would follow, a hash on every event, a revision dropped, sub-microsecond time.
        let mut events = honest();
        events.swap(1, 2);
        if let Some(e) = events.get_mut(3) {
            e.device_seq = 1;
            e.at = at(-5000);
            e.old = None;
            e.revision = None;
        }
        if let Some(e) = events.get_mut(4) {
            e.old = Some("\"edited\"".into());
            e.at += chrono::Duration::nanoseconds(7);
        }
        for e in &mut events {
            e.hash = Some("d".repeat(64));
            e.prev_hash = Some("e".repeat(64));
        }
        let wire = encode(&events).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decode(wire), Ok(events));
    }

    #[test]
    fn a_wire_list_that_does_not_say_what_the_first_event_needs_is_refused() {
        let first = WireEvent {
            s: Some(1),
            a: Some(at(0)),
            u: Some("pkh01".into()),
            k: Some("answer_set".into()),
            ..WireEvent::default()
        };
        assert!(decode(vec![first.clone()]).is_ok());
        for (broken, says) in [
            (
                WireEvent {
                    s: None,
                    ..first.clone()
                },
                "position",
            ),
            (
                WireEvent {
                    a: None,
                    ..first.clone()
                },
                "time",
            ),
            (
                WireEvent {
                    u: None,
                    ..first.clone()
                },
                "actor",
            ),
            (
                WireEvent {
                    k: None,
                    ..first.clone()
                },
                "kind",
            ),
            (
                WireEvent {
                    t: Some(1),
                    ..first.clone()
                },
                "time difference",
            ),
            (
                WireEvent {
                    p: Some(PathRef::Seen(0)),
                    ..first.clone()
                },
                "path 0",
            ),
            (
                WireEvent {
                    c: Some(5),
                    ..first.clone()
                },
                "without a reading",
            ),
        ] {
            let problem = decode(vec![broken]).err().unwrap_or_default();
            assert!(problem.contains(says), "{problem}");
        }
        let negative = WireEvent {
            b: Some("boot".into()),
            c: Some(-(at(0).timestamp_millis() + 1)),
            ..first
        };
        assert!(decode(vec![negative]).is_err_and(|p| p.contains("reading")));
    }

    fn event(seq: u64, prev: bool, hash: bool) -> TrailEvent {
        TrailEvent {
            seq,
            device_seq: seq,
            at: DateTime::UNIX_EPOCH,
            mono: None,
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
