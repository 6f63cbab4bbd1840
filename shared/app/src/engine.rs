//! The App's use of the form engine's live session, in one place.
//!
//! Some session queries (choices under a `choice_filter`, region cascades) evaluate expressions and so need
//! `&mut`; the view is built from `&Model`. The session therefore sits behind a mutex: uncontended (the core is
//! driven one event at a time), and it keeps the model `Sync`.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value as Json;

use tepat_form::paths::parse_path;
use tepat_form::{AnswerError, Choice, Finding, FormSession, Value};
use tepat_protocol::Answers;

pub struct Session(Mutex<FormSession>);

impl Session {
    pub fn new(session: FormSession) -> Session {
        Session(Mutex::new(session))
    }

    fn lock(&self) -> MutexGuard<'_, FormSession> {
        // A panic while holding the lock cannot leave the session half-updated in a way that matters more
        // than losing it; keep using it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set(&self, path: &str, value: Json) -> Result<(), AnswerError> {
        self.lock().set(path, value).map(drop)
    }

    pub fn clear(&self, path: &str) -> Result<(), AnswerError> {
        self.lock().clear(path).map(drop)
    }

    pub fn add_member(&self, repeat: &str) -> Result<usize, AnswerError> {
        self.lock().add_member(repeat)
    }

    pub fn remove_member(&self, repeat: &str, index: usize) -> Result<(), AnswerError> {
        self.lock().remove_member(repeat, index).map(drop)
    }

    /// Runs `f` on the answers without copying them.
    pub fn with_answers<T>(&self, f: impl FnOnce(&Answers) -> T) -> T {
        f(self.lock().answers())
    }

    /// The answer at `path` as stored (JSON), or else its calculated value; `None` when there is neither.
    pub fn value(&self, path: &str) -> Option<Json> {
        let session = self.lock();
        if let Some(json) = json_at(session.answers(), path) {
            return Some(json.clone());
        }
        match session.value(path) {
            Ok(Value::Empty) | Err(_) => None,
            Ok(Value::Num(n)) => serde_json::Number::from_f64(n).map(Json::Number),
            Ok(Value::Bool(b)) => Some(Json::Bool(b)),
            Ok(Value::Date(d)) => Some(Json::String(d.format("%Y-%m-%d").to_string())),
            Ok(Value::Multi(codes)) => Some(Json::Array(
                codes.iter().map(|c| Json::String(c.to_string())).collect(),
            )),
            Ok(text @ Value::Text(_)) => Some(Json::String(text.as_text().into_owned())),
        }
    }

    /// Whether the field at `path` is shown (unknown paths are not).
    pub fn is_relevant(&self, path: &str) -> bool {
        self.lock().is_relevant(path).unwrap_or(false)
    }

    pub fn findings(&self) -> Vec<Finding> {
        self.lock().findings()
    }

    /// The choices of a select at `path` after its `choice_filter`.
    pub fn choices(&self, path: &str) -> Vec<Choice> {
        self.lock().choices(path).unwrap_or_default()
    }

    /// `(code, name)` of the regions a region field at `path` offers under `parent` (its top level when `None`).
    pub fn region_choices(&self, path: &str, parent: Option<&str>) -> Vec<(String, String)> {
        self.lock()
            .region_choices(path, parent)
            .map(|list| {
                list.into_iter()
                    .map(|r| (r.code.to_string(), r.name.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What a person typed, as the JSON answer for the field at `path`.
    pub fn parse_input(&self, path: &str, text: &str) -> Result<Json, AnswerError> {
        self.lock().parse_input(path, text)
    }
}

/// The JSON at `members[2].nik` in an answer tree.
fn json_at<'a>(answers: &'a Answers, path: &str) -> Option<&'a Json> {
    let segments = parse_path(path)?;
    let (last, parents) = segments.split_last()?;
    let mut object = answers;
    for segment in parents {
        object = object
            .get(segment.field)?
            .as_array()?
            .get(segment.index?)?
            .as_object()?;
    }
    let value = object.get(last.field)?;
    match last.index {
        Some(i) => value.as_array()?.get(i),
        None => Some(value),
    }
}
