//! Structural limits on request bodies, enforced *while* a body is deserialized, so a hostile body is refused
//! after reading at most one item past a limit instead of after building all of it in memory.
//!
//! # Design
//! The wire types ([`super::SyncRequest`], [`super::VisitDoc`], ...) are shared with the phone, which also parses
//! them from server responses and from its own store, so the limits are not baked into the types. Instead the
//! fields that can grow without bound (`visits`, `answers`, `warning_notes`) deserialize through the functions
//! here, which read the limits of the parse in progress from a thread-local *scope* set by [`parse_within`]:
//! the server wraps its (synchronous, one-thread) parse of a request body in it; outside a scope (the phone, the
//! server reading its own store, `tepat-form`) nothing is bounded and parsing is what serde would do anyway.
//! The counters themselves (answers left in this visit, nesting depth) live in the visitors, not in the scope,
//! so nothing leaks from one visit to the next. A refusal is recorded in the scope as a typed [`Refusal`] (kind
//! and limit) and surfaces as a serde error, whose path (`visits[0].answers.members`) a
//! `serde_path_to_error` wrapper around the deserializer can name.
//!
//! Structs (the body itself, each visit, `device_times`) are read as JSON objects only ([`object`],
//! [`Object`]): serde would otherwise also take an array of the fields in declaration order.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::trail::{self, TrailEvent, VisitTrail, WireEvent};
use super::{Answers, VisitDoc};

// The rules for any text a person types, applied by the form engine while typing and here while parsing.
pub use tepat_form::text_rules::{DEFAULT_MAX_TEXT_CHARS, text_problem};

/// The limits of one parse. The defaults are the server's; every one is configurable there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Visits in one sync batch.
    pub max_visits: usize,
    /// Values in one visit's answers: every key of the answers and of each member object, and every list item.
    pub max_answers: usize,
    /// Characters of one text value in the answers or the warning notes (a form's `max_length` may be lower).
    pub max_text_chars: usize,
    /// Items of one list in the answers: members of a repeat, codes of a `select_multiple` (a form's
    /// `max_count` may be lower).
    pub max_list_items: usize,
    /// Lists and objects nested inside one answer (a repeat's list, its member, the member's GPS fix: 3).
    pub max_depth: usize,
    /// Warning notes of one visit.
    pub max_notes: usize,
    /// Characters of a key in the answers (a field id) or the notes (a finding's path); also of a trail event's
    /// actor, kind, path and the boot of its monotonic reading.
    pub max_key_chars: usize,
    /// Audit events in one visit's trail (`SyncRequest::trails`); also the most `missing` positions it may name.
    pub max_trail_events: usize,
    /// Characters of a trail event's `old` or `new` value (an answer as JSON text, a comment).
    pub max_trail_value_chars: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_visits: 200,
            max_answers: 5_000,
            max_text_chars: DEFAULT_MAX_TEXT_CHARS,
            max_list_items: 100,
            max_depth: 4,
            max_notes: 500,
            max_key_chars: 200,
            max_trail_events: 10_000,
            max_trail_value_chars: 10_000,
        }
    }
}

/// Which limit a body broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// More visits than [`BodyLimits::max_visits`].
    TooManyVisits,
    /// More values than [`BodyLimits::max_answers`].
    TooManyAnswers,
    /// A text longer than [`BodyLimits::max_text_chars`].
    TextTooLong,
    /// A list longer than [`BodyLimits::max_list_items`].
    ListTooLong,
    /// Nesting deeper than [`BodyLimits::max_depth`].
    TooDeep,
    /// More notes than [`BodyLimits::max_notes`].
    TooManyNotes,
    /// A key longer than [`BodyLimits::max_key_chars`].
    KeyTooLong,
    /// A control character or invisible direction mark (see [`text_problem`]); no limit number.
    InvalidText,
    /// More events in one visit's trail than [`BodyLimits::max_trail_events`].
    TooManyTrailEvents,
    /// A trail's hash that is not 64 lower-case hex digits, or a trail in another encoding; no limit number.
    InvalidTrail,
}

impl RefusalKind {
    /// The stable error code of the API (`too_many_answers`, ...).
    pub fn code(self) -> &'static str {
        match self {
            RefusalKind::TooManyVisits => "too_many_visits",
            RefusalKind::TooManyAnswers => "too_many_answers",
            RefusalKind::TextTooLong => "text_too_long",
            RefusalKind::ListTooLong => "list_too_long",
            RefusalKind::TooDeep => "too_deep",
            RefusalKind::TooManyNotes => "too_many_notes",
            RefusalKind::KeyTooLong => "key_too_long",
            RefusalKind::InvalidText => "invalid_text",
            RefusalKind::TooManyTrailEvents => "too_many_trail_events",
            RefusalKind::InvalidTrail => "invalid_trail",
        }
    }
}

/// A body refused by a limit: which one, its number, and what was found (without the path, which the caller's
/// path tracking knows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Refusal {
    pub kind: RefusalKind,
    pub limit: Option<u64>,
    pub detail: String,
}

struct Scope {
    limits: BodyLimits,
    refusal: Option<Refusal>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Restores the scope that was active before (normally none), also when the parse panics.
struct ScopeGuard(Option<Scope>);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        SCOPE.with(|s| *s.borrow_mut() = previous);
    }
}

/// Runs `parse` (a synchronous deserialization on this thread) with `limits` in force, and gives its result with
/// the first limit it broke, if any (then the result is the serde error that refusal caused).
pub fn parse_within<R>(limits: BodyLimits, parse: impl FnOnce() -> R) -> (R, Option<Refusal>) {
    let previous = SCOPE.with(|s| {
        s.borrow_mut().replace(Scope {
            limits,
            refusal: None,
        })
    });
    let guard = ScopeGuard(previous);
    let result = parse();
    let refusal = SCOPE.with(|s| {
        s.borrow_mut()
            .as_mut()
            .and_then(|scope| scope.refusal.take())
    });
    drop(guard);
    (result, refusal)
}

fn active_limits() -> Option<BodyLimits> {
    SCOPE.with(|s| s.borrow().as_ref().map(|scope| scope.limits))
}

/// Records the refusal (the first one wins) and turns it into the deserializer's error.
fn refuse<E: de::Error>(kind: RefusalKind, limit: Option<usize>, detail: String) -> E {
    let error = E::custom(&detail);
    SCOPE.with(|s| {
        if let Some(scope) = s.borrow_mut().as_mut()
            && scope.refusal.is_none()
        {
            scope.refusal = Some(Refusal {
                kind,
                limit: limit.map(|l| l as u64),
                detail,
            });
        }
    });
    error
}

/// Whether `text` has more than `max` characters, without counting past what is needed.
fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && (text.len() > max.saturating_mul(4) || text.chars().count() > max)
}

fn check_text<E: de::Error>(text: &str, max_chars: usize) -> Result<(), E> {
    if longer_than(text, max_chars) {
        return Err(refuse(
            RefusalKind::TextTooLong,
            Some(max_chars),
            format!("the text is longer than the limit of {max_chars} characters"),
        ));
    }
    if let Some(problem) = text_problem(text) {
        return Err(refuse(RefusalKind::InvalidText, None, problem));
    }
    Ok(())
}

fn check_key<E: de::Error>(key: &str, limits: &BodyLimits) -> Result<(), E> {
    if longer_than(key, limits.max_key_chars) {
        return Err(refuse(
            RefusalKind::KeyTooLong,
            Some(limits.max_key_chars),
            format!(
                "a key is longer than the limit of {} characters",
                limits.max_key_chars
            ),
        ));
    }
    if let Some(problem) = text_problem(key) {
        return Err(refuse(
            RefusalKind::InvalidText,
            None,
            format!("a key {problem}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Objects only

/// A struct read from a JSON object only (not from an array of its fields), as a root value: the server parses
/// every request body as `Object<T>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

/// Reads `T` (a derived struct) from a JSON object only.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        // The derived visitor reads the same map access, so path tracking and unknown-key tracking of wrapping
        // deserializers still see every key.
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Visits

/// `SyncRequest::visits`: each visit an object; under a scope, at most `max_visits` of them (the one past the
/// limit is refused before it is read).
pub fn visits<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<VisitDoc>, D::Error> {
    deserializer.deserialize_seq(VisitsVisitor(active_limits()))
}

struct VisitsVisitor(Option<BodyLimits>);

impl<'de> Visitor<'de> for VisitsVisitor {
    type Value = Vec<VisitDoc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of visits")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let max = self.0.map_or(usize::MAX, |l| l.max_visits);
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(max).min(64));
        while let Some(Object(visit)) = seq.next_element::<Object<VisitDoc>>()? {
            if out.len() == max {
                return Err(refuse(
                    RefusalKind::TooManyVisits,
                    Some(max),
                    format!("more than {max} visits in one batch"),
                ));
            }
            out.push(visit);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

/// `VisitDoc::answers`: under a scope, every limit of [`BodyLimits`] but `max_visits` and `max_notes` is checked
/// as each key, item and text is read.
pub fn answers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Answers, D::Error> {
    let Some(limits) = active_limits() else {
        return Answers::deserialize(deserializer);
    };
    let mut budget = Budget {
        limits,
        answers_left: limits.max_answers,
    };
    deserializer
        .deserialize_map(BoundedValue {
            budget: &mut budget,
            depth: 0,
        })
        .and_then(|v| match v {
            Value::Object(map) => Ok(map),
            _ => Err(de::Error::custom("the answers must be an object")),
        })
}

/// What one visit's answers may still use.
struct Budget {
    limits: BodyLimits,
    answers_left: usize,
}

impl Budget {
    fn take<E: de::Error>(&mut self) -> Result<(), E> {
        if self.answers_left == 0 {
            let max = self.limits.max_answers;
            return Err(refuse(
                RefusalKind::TooManyAnswers,
                Some(max),
                format!("more than {max} answers in one visit"),
            ));
        }
        self.answers_left -= 1;
        Ok(())
    }

    fn enter<E: de::Error>(&self, depth: usize) -> Result<(), E> {
        let max = self.limits.max_depth;
        if depth > max {
            return Err(refuse(
                RefusalKind::TooDeep,
                Some(max),
                format!("lists and objects are nested deeper than the limit of {max}"),
            ));
        }
        Ok(())
    }
}

/// One JSON value of the answers inside `depth` lists/objects, the answers object included: a list or object here
/// is nested `depth` deep in its answer (the answers object itself is the only value at 0).
struct BoundedValue<'b> {
    budget: &'b mut Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        check_text::<E>(v, self.budget.limits.max_text_chars)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        check_text::<E>(&v, self.budget.limits.max_text_chars)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.enter::<A::Error>(self.depth)?;
        let depth = self.depth + 1;
        let max = self.budget.limits.max_list_items;
        let mut items = Vec::new();
        loop {
            let item = seq.next_element_seed(BoundedValue {
                budget: &mut *self.budget,
                depth,
            })?;
            let Some(item) = item else { break };
            if items.len() == max {
                return Err(refuse(
                    RefusalKind::ListTooLong,
                    Some(max),
                    format!("the list has more than the limit of {max} items"),
                ));
            }
            self.budget.take::<A::Error>()?;
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.enter::<A::Error>(self.depth)?;
        let depth = self.depth + 1;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            check_key::<A::Error>(&key, &self.budget.limits)?;
            self.budget.take::<A::Error>()?;
            let value = map.next_value_seed(BoundedValue {
                budget: &mut *self.budget,
                depth,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Warning notes

/// `VisitDoc::warning_notes`: under a scope, at most `max_notes`, keys and texts checked like answers.
pub fn notes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let Some(limits) = active_limits() else {
        return BTreeMap::deserialize(deserializer);
    };
    deserializer.deserialize_map(NotesVisitor(limits))
}

struct NotesVisitor(BodyLimits);

impl<'de> Visitor<'de> for NotesVisitor {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of notes (finding path → text)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = self.0;
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            check_key::<A::Error>(&key, &limits)?;
            if out.len() == limits.max_notes {
                return Err(refuse(
                    RefusalKind::TooManyNotes,
                    Some(limits.max_notes),
                    format!("more than {} warning notes", limits.max_notes),
                ));
            }
            let text = map.next_value_seed(NoteText(limits.max_text_chars))?;
            out.insert(key, text);
        }
        Ok(out)
    }
}

/// `VisitDoc::prefill_review`: under a scope, at most `max_answers` entries (one per prefilled answer), keys checked
/// like answer keys; each value is one of the review words.
pub fn prefill_review<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, super::PrefillReview>, D::Error> {
    let Some(limits) = active_limits() else {
        return BTreeMap::deserialize(deserializer);
    };
    deserializer.deserialize_map(ReviewVisitor(limits))
}

struct ReviewVisitor(BodyLimits);

impl<'de> Visitor<'de> for ReviewVisitor {
    type Value = BTreeMap<String, super::PrefillReview>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an object of prefill reviews (answer path → confirmed | changed | unconfirmed)",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let limits = self.0;
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            check_key::<A::Error>(&key, &limits)?;
            if out.len() == limits.max_answers {
                return Err(refuse(
                    RefusalKind::TooManyAnswers,
                    Some(limits.max_answers),
                    format!("more than {} prefill reviews", limits.max_answers),
                ));
            }
            let review = map.next_value::<super::PrefillReview>()?;
            out.insert(key, review);
        }
        Ok(out)
    }
}

struct NoteText(usize);

impl<'de> DeserializeSeed<'de> for NoteText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NoteText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        check_text::<E>(v, self.0)?;
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        check_text::<E>(&v, self.0)?;
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Trails

/// `SyncRequest::trails`: each trail an object; under a scope, at most `max_visits` of them (one per visit).
pub fn trails<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<VisitTrail>, D::Error> {
    deserializer.deserialize_seq(TrailsVisitor(active_limits()))
}

struct TrailsVisitor(Option<BodyLimits>);

impl<'de> Visitor<'de> for TrailsVisitor {
    type Value = Vec<VisitTrail>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of visit trails")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let max = self.0.map_or(usize::MAX, |l| l.max_visits);
        let mut out = Vec::new();
        while let Some(Object(trail)) = seq.next_element::<Object<VisitTrail>>()? {
            if out.len() == max {
                return Err(refuse(
                    RefusalKind::TooManyVisits,
                    Some(max),
                    format!("more than {max} trails in one batch (one per visit)"),
                ));
            }
            if self.0.is_some() && trail.encoding != trail::ENCODING_VERSION {
                return Err(refuse(
                    RefusalKind::InvalidTrail,
                    None,
                    format!(
                        "trail encoding {} is not known here (this server checks encoding {})",
                        trail.encoding,
                        trail::ENCODING_VERSION
                    ),
                ));
            }
            if self.0.is_some()
                && let Some(problem) = trail::shape_problem(&trail)
            {
                return Err(refuse(RefusalKind::InvalidTrail, None, problem));
            }
            out.push(trail);
        }
        Ok(out)
    }
}

/// `VisitTrail::events`: the wire events ([`trail::WireEvent`]) decoded one after the other ([`trail::Decoder`]);
/// under a scope, at most `max_trail_events`, each event checked as soon as it is decoded ([`check_trail_event`]).
pub fn trail_events<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<TrailEvent>, D::Error> {
    deserializer.deserialize_seq(TrailEventsVisitor(active_limits()))
}

struct TrailEventsVisitor(Option<BodyLimits>);

impl<'de> Visitor<'de> for TrailEventsVisitor {
    type Value = Vec<TrailEvent>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of trail events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut decoder = trail::Decoder::default();
        let Some(limits) = self.0 else {
            let mut out = Vec::new();
            while let Some(Object(wire)) = seq.next_element::<Object<WireEvent>>()? {
                let event = decoder
                    .decode(wire, &out)
                    .map_err(<A::Error as de::Error>::custom)?;
                out.push(event);
            }
            return Ok(out);
        };
        let max = limits.max_trail_events;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(max).min(1024));
        while let Some(Object(wire)) = seq.next_element::<Object<WireEvent>>()? {
            if out.len() == max {
                return Err(refuse(
                    RefusalKind::TooManyTrailEvents,
                    Some(max),
                    format!("more than {max} events in one visit's trail"),
                ));
            }
            let event = decoder
                .decode(wire, &out)
                .map_err(|problem| refuse::<A::Error>(RefusalKind::InvalidTrail, None, problem))?;
            if let Err(refusal) = check_trail_event(&event, &limits) {
                return Err(refuse(
                    refusal.kind,
                    refusal.limit.map(|l| l as usize),
                    refusal.detail,
                ));
            }
            out.push(event);
        }
        Ok(out)
    }
}

/// `VisitTrail::missing` and `VisitTrail::edited`: under a scope, at most `max_trail_events` positions.
pub fn trail_positions<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    deserializer.deserialize_seq(PositionsVisitor(active_limits()))
}

struct PositionsVisitor(Option<BodyLimits>);

impl<'de> Visitor<'de> for PositionsVisitor {
    type Value = Vec<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of chain positions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let max = self.0.map_or(usize::MAX, |l| l.max_trail_events);
        let mut out = Vec::new();
        while let Some(position) = seq.next_element::<u64>()? {
            if out.len() == max {
                return Err(refuse(
                    RefusalKind::TooManyTrailEvents,
                    Some(max),
                    format!("more than {max} missing positions in one visit's trail"),
                ));
            }
            out.push(position);
        }
        Ok(out)
    }
}

/// Whether one trail event keeps the limits: actor, kind, path and the reading's boot as keys are
/// ([`BodyLimits::max_key_chars`], no hidden characters), `old` and `new` at most [`BodyLimits::max_trail_value_chars`] (they are JSON texts of stored
/// values, whatever those hold, so only their length is bounded), hashes of the right shape. The phone leaves an
/// event that fails this out of the trail it sends (the server then sees a position without its event), so one
/// odd event can never block a sync.
pub fn check_trail_event(event: &TrailEvent, limits: &BodyLimits) -> Result<(), Refusal> {
    let scoped = |detail: String, kind: RefusalKind, limit: Option<usize>| Refusal {
        kind,
        limit: limit.map(|l| l as u64),
        detail: format!("trail event {}: {detail}", event.seq),
    };
    for (name, key) in [
        ("actor", Some(event.actor.as_str())),
        ("kind", Some(event.kind.as_str())),
        ("path", event.path.as_deref()),
        ("boot", event.mono.as_ref().map(|m| m.boot.as_str())),
    ] {
        let Some(key) = key else { continue };
        if longer_than(key, limits.max_key_chars) {
            return Err(scoped(
                format!(
                    "{name} is longer than the limit of {} characters",
                    limits.max_key_chars
                ),
                RefusalKind::KeyTooLong,
                Some(limits.max_key_chars),
            ));
        }
        if let Some(problem) = text_problem(key) {
            return Err(scoped(
                format!("{name} {problem}"),
                RefusalKind::InvalidText,
                None,
            ));
        }
    }
    for (name, value) in [("old", &event.old), ("new", &event.new)] {
        if value
            .as_deref()
            .is_some_and(|v| longer_than(v, limits.max_trail_value_chars))
        {
            return Err(scoped(
                format!(
                    "{name} is longer than the limit of {} characters",
                    limits.max_trail_value_chars
                ),
                RefusalKind::TextTooLong,
                Some(limits.max_trail_value_chars),
            ));
        }
    }
    for (name, hash) in [
        ("hash", event.hash.as_ref()),
        ("prev_hash", event.prev_hash.as_ref()),
    ] {
        if hash.is_some_and(|h| !trail::is_hash(h)) {
            return Err(scoped(
                format!("{name} is not 64 lower-case hex digits"),
                RefusalKind::InvalidTrail,
                None,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
