//! The App's live session: answers set and cleared by path, members added and removed, each change
//! re-evaluating only what depends on it and reporting which paths changed.

use chrono::NaiveDate;
use serde_json::Value as Json;

use crate::Answers;
use crate::expr::FieldId;
use crate::model::{Choice, FieldType, Text};
use crate::region::{self, Region};
use crate::value::{TypeProblem, Value, parse_answer};
use crate::{AnswerError, CompiledForm, Finding};

use super::{Changed, Instance, State, repeat_shape_problem};

/// Live state of one visit being filled: answers, calculated values, relevance, findings, kept up to date
/// incrementally (an answer re-evaluates only what depends on it).
#[derive(Debug, Clone)]
pub struct FormSession {
    form: CompiledForm,
    state: State,
}

fn answer_error(path: &str, id: String, en: String) -> AnswerError {
    AnswerError {
        path: path.to_owned(),
        message: Text { id, en },
    }
}

impl FormSession {
    pub(crate) fn new(
        form: &CompiledForm,
        answers: Answers,
        visit_date: NaiveDate,
    ) -> Result<FormSession, AnswerError> {
        if let Some((path, msg)) = repeat_shape_problem(&answers, &form.inner) {
            return Err(AnswerError { path, message: msg });
        }
        Ok(FormSession {
            form: form.clone(),
            state: State::new(form, answers, visit_date),
        })
    }

    pub fn form(&self) -> &CompiledForm {
        &self.form
    }

    pub fn visit_date(&self) -> NaiveDate {
        self.state.visit_date
    }

    /// Resolves `nik`, `members`, `members[2]`, `members[2].nik` to a field and member.
    fn locate(&self, path: &str) -> Result<Instance, AnswerError> {
        let unknown = || {
            answer_error(
                path,
                format!("{path} bukan pertanyaan pada formulir ini"),
                format!("{path} is not a question of this form"),
            )
        };
        let fields = &self.form.inner.fields;
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        let (name, index) = match head.split_once('[') {
            Some((n, i)) => {
                let i = i
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(unknown)?;
                (n, Some(i))
            }
            None => (head, None),
        };
        let f = self.form.inner.field_by_id(name).ok_or_else(unknown)?;
        let info = fields.get(f).ok_or_else(unknown)?;
        if info.repeat.is_some() {
            return Err(unknown());
        }
        if let Some(i) = index {
            if info.kind != FieldType::Repeat {
                return Err(unknown());
            }
            let count = self.state.counts.get(f).copied().unwrap_or(0);
            if i >= count {
                return Err(answer_error(
                    path,
                    format!(
                        "{} tidak punya anggota nomor {} (ada {count})",
                        info.label.id,
                        i + 1
                    ),
                    format!(
                        "{} has no member number {} (there are {count})",
                        info.label.en,
                        i + 1
                    ),
                ));
            }
        }
        match (rest, index) {
            (None, _) => Ok((f, index)),
            (Some(child), Some(i)) => {
                let c = self
                    .form
                    .inner
                    .field_by_id(child)
                    .filter(|c| info.children.contains(c))
                    .ok_or_else(unknown)?;
                Ok((c, Some(i)))
            }
            (Some(_), None) => Err(unknown()),
        }
    }

    fn input_field(&self, path: &str) -> Result<Instance, AnswerError> {
        let (f, member) = self.locate(path)?;
        let info = self
            .form
            .inner
            .fields
            .get(f)
            .ok_or_else(|| answer_error(path, String::new(), String::new()))?;
        if !info.is_input() || (info.repeat.is_some() && member.is_none()) {
            return Err(answer_error(
                path,
                format!("{} tidak diisi langsung", info.label.id),
                format!("{} is not answered directly", info.label.en),
            ));
        }
        Ok((f, member))
    }

    /// Takes one answer. Rejected (nothing changes) when the path is not a question or the value can never fit
    /// its type; an answer that breaks a rule is taken and shows up in the findings.
    pub fn set(&mut self, path: &str, value: Json) -> Result<Changed, AnswerError> {
        self.state.log = Changed::default();
        let (f, member) = self.input_field(path)?;
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(f) else {
            return Err(answer_error(path, String::new(), String::new()));
        };
        let typed = parse_answer(info.kind, &value).map_err(|TypeProblem(m)| {
            answer_error(
                path,
                format!("{}: {}", info.label.id, m.id),
                format!("{}: {}", info.label.en, m.en),
            )
        })?;
        if let Some(problem) = crate::validate::too_long(info, &typed) {
            return Err(answer_error(
                path,
                format!("{}: {}", info.label.id, problem.id),
                format!("{}: {}", info.label.en, problem.en),
            ));
        }
        if let Some(list) = info.choices.as_ref().and_then(|l| form.form.choices.get(l)) {
            let codes: Vec<&str> = match &typed {
                Value::Multi(codes) => codes.iter().map(|c| &**c).collect(),
                Value::Text(c) => vec![&**c],
                _ => Vec::new(),
            };
            if let Some(bad) = codes
                .into_iter()
                .find(|c| !list.iter().any(|ch| ch.value == *c))
            {
                return Err(answer_error(
                    path,
                    format!("{}: pilihan {bad} tidak ada", info.label.id),
                    format!("{}: there is no choice {bad}", info.label.en),
                ));
            }
        }
        self.write(f, member, value, Ok(typed));
        Ok(self.state.log.clone())
    }

    /// Removes an answer (also one that fits no question, so it can be cleaned up).
    pub fn clear(&mut self, path: &str) -> Result<Changed, AnswerError> {
        self.state.log = Changed::default();
        if self.remove_stray(path) {
            self.state.log.findings.push(path.to_owned());
            return Ok(self.state.log.clone());
        }
        let (f, member) = self.input_field(path)?;
        self.write(f, member, Json::Null, Ok(Value::Empty));
        Ok(self.state.log.clone())
    }

    /// Removes an answer that fits no question (`colour`, `members[2].shoe_size`); false if there is none.
    fn remove_stray(&mut self, path: &str) -> bool {
        let form = self.form.inner.clone();
        let (owner, key) = match path.split_once('.') {
            None => (None, path),
            Some((head, key)) => (Some(head), key),
        };
        let container = match owner {
            None if form.field_by_id(key).is_none() => Some(&mut self.state.answers),
            None => None,
            Some(head) => {
                let Ok((r, Some(i))) = self.locate(head) else {
                    return false;
                };
                let is_child = form.field_by_id(key).is_some_and(|c| {
                    form.fields
                        .get(r)
                        .is_some_and(|ri| ri.children.contains(&c))
                });
                if is_child {
                    return false;
                }
                form.fields
                    .get(r)
                    .and_then(|ri| self.state.answers.get_mut(&ri.id))
                    .and_then(Json::as_array_mut)
                    .and_then(|m| m.get_mut(i))
                    .and_then(Json::as_object_mut)
            }
        };
        container.is_some_and(|c| c.remove(key).is_some())
    }

    fn write(
        &mut self,
        f: FieldId,
        member: Option<usize>,
        value: Json,
        typed: Result<Value, TypeProblem>,
    ) {
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(f) else {
            return;
        };
        let empty = crate::value::json_is_empty(&value);
        let target: Option<&mut serde_json::Map<String, Json>> = match (info.repeat, member) {
            (None, _) => Some(&mut self.state.answers),
            (Some(r), Some(i)) => form
                .fields
                .get(r)
                .and_then(|r| self.state.answers.get_mut(&r.id))
                .and_then(Json::as_array_mut)
                .and_then(|m| m.get_mut(i))
                .and_then(Json::as_object_mut),
            (Some(_), None) => None,
        };
        let Some(target) = target else { return };
        if empty {
            target.remove(&info.id);
        } else {
            target.insert(info.id.clone(), value);
        }
        let Some(i) = self.state.index(f, member) else {
            return;
        };
        if let Some(slot) = self.state.typed.get_mut(f).and_then(|t| t.get_mut(i)) {
            *slot = typed;
        }
        let path = self.state.path(f, member);
        self.state.log.values.push(path);
        if let Some(out) = form.graph.answer_out.get(f) {
            self.state.mark(out, info.repeat, i);
        }
        self.state.process();
    }

    /// What the last edit changed (for `add_member`, which returns the new index instead).
    pub fn last_changed(&self) -> &Changed {
        &self.state.log
    }

    /// Adds an empty member at the end of a repeat; returns its index ([`FormSession::last_changed`] has what
    /// appeared).
    pub fn add_member(&mut self, repeat: &str) -> Result<usize, AnswerError> {
        self.state.log = Changed::default();
        let (r, _) = self.repeat(repeat)?;
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(r) else {
            return Err(answer_error(repeat, String::new(), String::new()));
        };
        let members = self
            .state
            .answers
            .entry(info.id.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        if !members.is_array() {
            *members = Json::Array(Vec::new());
        }
        if let Some(m) = members.as_array_mut() {
            m.push(Json::Object(serde_json::Map::new()));
        }
        let index = self.state.counts.get(r).copied().unwrap_or(0);
        if let Some(c) = self.state.counts.get_mut(r) {
            *c += 1;
        }
        for &c in &info.children {
            if let Some(v) = self.state.typed.get_mut(c) {
                v.push(Ok(Value::Empty));
            }
            if let Some(v) = self.state.rel.get_mut(c) {
                v.push(false);
            }
            if let Some(v) = self.state.calc.get_mut(c) {
                v.push(Value::Empty);
            }
            if let Some(v) = self.state.findings.get_mut(c) {
                v.push(Vec::new());
            }
        }
        self.member_changed(r, index..index + 1);
        Ok(index)
    }

    /// Removes a member (later members move up by one).
    pub fn remove_member(&mut self, repeat: &str, index: usize) -> Result<Changed, AnswerError> {
        self.state.log = Changed::default();
        let (r, _) = self.repeat(repeat)?;
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(r) else {
            return Err(answer_error(repeat, String::new(), String::new()));
        };
        let count = self.state.counts.get(r).copied().unwrap_or(0);
        if index >= count {
            return Err(answer_error(
                &format!("{repeat}[{index}]"),
                format!(
                    "{} tidak punya anggota nomor {} (ada {count})",
                    info.label.id,
                    index + 1
                ),
                format!(
                    "{} has no member number {} (there are {count})",
                    info.label.en,
                    index + 1
                ),
            ));
        }
        if let Some(m) = self
            .state
            .answers
            .get_mut(&info.id)
            .and_then(Json::as_array_mut)
            && index < m.len()
        {
            m.remove(index);
        }
        if let Some(c) = self.state.counts.get_mut(r) {
            *c -= 1;
        }
        for &c in &info.children {
            if let Some(v) = self.state.typed.get_mut(c).filter(|v| index < v.len()) {
                drop(v.remove(index));
            }
            if let Some(v) = self.state.rel.get_mut(c).filter(|v| index < v.len()) {
                v.remove(index);
            }
            if let Some(v) = self.state.calc.get_mut(c).filter(|v| index < v.len()) {
                v.remove(index);
            }
            if let Some(v) = self.state.findings.get_mut(c).filter(|v| index < v.len()) {
                v.remove(index);
            }
        }
        // Later members' findings carry their old index in the path: recompute them.
        for &c in &info.children {
            let pos = form.graph.check_pos.get(c).copied().unwrap_or(usize::MAX);
            for i in index..count - 1 {
                self.state.mark_member(pos, i);
            }
        }
        self.member_changed(r, 0..0);
        Ok(self.state.log.clone())
    }

    fn member_changed(&mut self, r: FieldId, new_members: std::ops::Range<usize>) {
        let form = self.form.inner.clone();
        for (pos, scope) in form.graph.scope.iter().enumerate() {
            if *scope == Some(r) {
                for i in new_members.clone() {
                    self.state.mark_member(pos, i);
                }
            }
        }
        if let Some(out) = form.graph.count_out.get(r) {
            self.state.mark(out, None, 0);
        }
        self.state.process();
    }

    fn repeat(&self, path: &str) -> Result<Instance, AnswerError> {
        let (r, member) = self.locate(path)?;
        match self.form.inner.fields.get(r) {
            Some(info) if info.kind == FieldType::Repeat && member.is_none() => Ok((r, None)),
            Some(info) => Err(answer_error(
                path,
                format!("{} bukan kelompok berulang", info.label.id),
                format!("{} is not a repeat group", info.label.en),
            )),
            None => Err(answer_error(path, String::new(), String::new())),
        }
    }

    pub fn answers(&self) -> &Answers {
        &self.state.answers
    }

    /// What expressions see for a field: its answer or calculated value, empty when hidden or unanswered.
    pub fn value(&self, path: &str) -> Result<Value, AnswerError> {
        let (f, member) = self.locate(path)?;
        Ok(match self.form.inner.fields.get(f).map(|f| f.kind) {
            Some(FieldType::Repeat) => Value::Num(self.state.member_count(f) as f64),
            _ => self.state.read(f, member),
        })
    }

    /// Whether a field (or a repeat, or a member's field) is shown.
    pub fn is_relevant(&self, path: &str) -> Result<bool, AnswerError> {
        let (f, member) = self.locate(path)?;
        let info = self.form.inner.fields.get(f);
        let member = if info.is_some_and(|i| i.repeat.is_some()) {
            member
        } else {
            None
        };
        Ok(self.state.relevant(f, member))
    }

    /// The values of the relevant calculate fields, shaped like answers (for display and export).
    pub fn calculated(&self) -> Answers {
        self.state.calculated()
    }

    /// Every current finding, in form order.
    pub fn findings(&self) -> Vec<Finding> {
        self.state.findings()
    }

    /// The findings at `path` or under it (`members` gives the whole roster's, `members[2]` one member's).
    pub fn findings_for(&self, path: &str) -> Vec<Finding> {
        let under = |p: &str| {
            p == path
                || p.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
        };
        self.state
            .findings()
            .into_iter()
            .filter(|f| under(&f.path))
            .collect()
    }

    /// The choices a select field offers now (its `choice_filter` applied).
    pub fn choices(&self, path: &str) -> Result<Vec<Choice>, AnswerError> {
        let (f, member) = self.locate(path)?;
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(f) else {
            return Ok(Vec::new());
        };
        let Some(list) = info.choices.as_ref().and_then(|l| form.form.choices.get(l)) else {
            return Err(answer_error(
                path,
                format!("{} bukan pertanyaan pilihan", info.label.id),
                format!("{} is not a choice question", info.label.en),
            ));
        };
        let Some(filter) = &info.filter else {
            return Ok(list.clone());
        };
        let mut out = Vec::new();
        for c in list {
            if self
                .state
                .eval_at(filter, member, Value::Empty, Some(c))
                .as_bool()
            {
                out.push(c.clone());
            }
        }
        Ok(out)
    }

    /// The regions to offer under `parent` (provinces when `None`) for a region field: limited to its
    /// `region_within` and to the levels down to its `region_level`.
    pub fn region_choices(
        &self,
        path: &str,
        parent: Option<&str>,
    ) -> Result<Vec<&'static Region>, AnswerError> {
        let (f, member) = self.locate(path)?;
        let form = self.form.inner.clone();
        let Some(info) = form.fields.get(f).filter(|i| i.kind == FieldType::Region) else {
            return Err(answer_error(
                path,
                format!("{path} bukan pertanyaan wilayah"),
                format!("{path} is not a region question"),
            ));
        };
        if parent
            .and_then(region::level_of_code)
            .is_some_and(|l| l >= info.region_level)
        {
            return Ok(Vec::new());
        }
        let within = match &info.region_within {
            Some(n) => self
                .state
                .eval_at(n, member, Value::Empty, None)
                .as_text()
                .into_owned(),
            None => String::new(),
        };
        Ok(region::regions()
            .children(parent)
            .iter()
            .filter(|r| {
                within.is_empty()
                    || region::is_within(r.code, &within)
                    || region::is_within(&within, r.code)
            })
            .collect())
    }

    /// Turns what a person typed into the JSON answer for the field, or says clearly why it can't.
    pub fn parse_input(&self, path: &str, input: &str) -> Result<Json, AnswerError> {
        let (f, _) = self.input_field(path)?;
        let form = &self.form.inner;
        let Some(info) = form.fields.get(f) else {
            return Err(answer_error(path, String::new(), String::new()));
        };
        let list = info
            .choices
            .as_ref()
            .and_then(|l| form.form.choices.get(l))
            .map(Vec::as_slice);
        crate::validate::parse_input(info, list, path, input)
    }

    /// How many expressions have been evaluated since the session started (building it included).
    pub fn evaluations(&self) -> u64 {
        self.state.evaluations.get()
    }
}
