//! The evaluation state of one visit: typed answers, relevance, calculated values and findings per field
//! instance, kept up to date through the dependency graph so that an answer re-evaluates only what depends on it.
//! [`CompiledForm::validate`] runs the same state from scratch, so the App and the server always agree.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::compile::{Compiled, Edge, NodeKind};
use super::expr::eval::{Env, eval};
use super::expr::{FieldId, Node};
use super::model::{Choice, FieldType, Text};
use super::region::{self, Region};
use super::value::{TypeProblem, Value, parse_answer};
use super::{AnswerError, CompiledForm, Finding};
use crate::Answers;

/// Counts expression evaluations; atomic so that read-only queries (`choices`) can count through `&self` and
/// the session stays `Sync`.
#[derive(Debug, Default)]
struct Counter(std::sync::atomic::AtomicU64);

impl Counter {
    fn bump(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Clone for Counter {
    fn clone(&self) -> Self {
        Counter(std::sync::atomic::AtomicU64::new(self.get()))
    }
}

/// Which instances of a node must be recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dirty {
    Clean,
    Members(Vec<usize>),
    All,
}

/// Paths whose view changed after an edit: the App re-renders only these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// Fields (or members' fields) that appeared or disappeared.
    pub relevance: Vec<String>,
    /// The answer set, and calculated values that changed.
    pub values: Vec<String>,
    /// Fields whose findings changed.
    pub findings: Vec<String>,
}

/// A field's instance address: the field and, inside a repeat, the member.
type Instance = (FieldId, Option<usize>);

#[derive(Debug, Clone)]
pub(crate) struct State {
    form: Arc<Compiled>,
    visit_date: NaiveDate,
    pub(crate) answers: Answers,
    /// Per field, per instance: the typed answer (input fields only).
    typed: Vec<Vec<Result<Value, TypeProblem>>>,
    /// Per repeat field: its number of members.
    counts: Vec<usize>,
    rel: Vec<Vec<bool>>,
    calc: Vec<Vec<Value>>,
    sec_rel: Vec<bool>,
    findings: Vec<Vec<Vec<Finding>>>,
    dirty: Vec<Dirty>,
    evaluations: Counter,
    log: Changed,
}

/// What an expression sees from one field instance.
struct Ctx<'a> {
    st: &'a State,
    current: Value,
    choice: Option<&'a Choice>,
}

impl Env for Ctx<'_> {
    fn field(&self, id: FieldId, member: Option<usize>) -> Value {
        self.st.read(id, member)
    }

    fn member_count(&self, repeat: FieldId) -> usize {
        self.st.member_count(repeat)
    }

    fn current(&self) -> Value {
        self.current.clone()
    }

    fn attr(&self, name: &str) -> Value {
        match self.choice {
            Some(c) if name == "value" => Value::text(&c.value),
            Some(c) => c.attrs.get(name).map_or(Value::Empty, |a| Value::text(a)),
            None => Value::Empty,
        }
    }

    fn visit_date(&self) -> NaiveDate {
        self.st.visit_date
    }
}

/// A member of a repeat that is not a JSON object, or a repeat answer that is not an array.
pub(crate) fn repeat_shape_problem(answers: &Answers, form: &Compiled) -> Option<(String, Text)> {
    for f in form.fields.iter().filter(|f| f.kind == FieldType::Repeat) {
        match answers.get(&f.id) {
            None | Some(Json::Null) => {}
            Some(Json::Array(members)) => {
                if let Some(i) = members.iter().position(|m| !m.is_object()) {
                    return Some((
                        format!("{}[{i}]", f.id),
                        Text::new(
                            "anggota harus berupa objek jawaban",
                            "a member must be an object of answers",
                        ),
                    ));
                }
            }
            Some(_) => {
                return Some((
                    f.id.clone(),
                    Text::new("harus berupa daftar anggota", "must be a list of members"),
                ));
            }
        }
    }
    None
}

impl State {
    /// Builds the state from answers (tolerating any shape: problems become findings) and evaluates everything.
    pub(crate) fn new(form: &CompiledForm, answers: Answers, visit_date: NaiveDate) -> State {
        let c = form.inner.clone();
        let n = c.fields.len();
        let mut counts = vec![0usize; n];
        for (id, f) in c.fields.iter().enumerate() {
            if f.kind == FieldType::Repeat {
                counts[id] = answers
                    .get(&f.id)
                    .and_then(Json::as_array)
                    .map_or(0, Vec::len);
            }
        }
        let instances = |f: FieldId| {
            c.fields
                .get(f)
                .and_then(|f| f.repeat)
                .map_or(1, |r| counts[r])
        };
        let mut st = State {
            typed: (0..n)
                .map(|f| vec![Ok(Value::Empty); instances(f)])
                .collect(),
            rel: (0..n).map(|f| vec![false; instances(f)]).collect(),
            calc: (0..n).map(|f| vec![Value::Empty; instances(f)]).collect(),
            findings: (0..n).map(|f| vec![Vec::new(); instances(f)]).collect(),
            sec_rel: vec![false; c.sections.len()],
            dirty: vec![Dirty::All; c.graph.nodes.len()],
            counts: counts.clone(),
            form: c.clone(),
            visit_date,
            answers,
            evaluations: Counter::default(),
            log: Changed::default(),
        };
        for (id, f) in c.fields.iter().enumerate() {
            if !f.is_input() {
                continue;
            }
            for i in 0..instances(id) {
                let member = f.repeat.map(|_| i);
                let typed = st
                    .json_at(id, member)
                    .map_or(Ok(Value::Empty), |j| parse_answer(f.kind, j));
                if let Some(slot) = st.typed.get_mut(id).and_then(|v| v.get_mut(i)) {
                    *slot = typed;
                }
            }
        }
        st.process();
        st.log = Changed::default();
        st
    }

    fn json_at(&self, f: FieldId, member: Option<usize>) -> Option<&Json> {
        let info = self.form.fields.get(f)?;
        match (info.repeat, member) {
            (None, _) => self.answers.get(&info.id),
            (Some(r), Some(i)) => {
                let repeat = self.form.fields.get(r)?;
                self.answers
                    .get(&repeat.id)?
                    .as_array()?
                    .get(i)?
                    .as_object()?
                    .get(&info.id)
            }
            (Some(_), None) => None,
        }
    }

    fn index(&self, f: FieldId, member: Option<usize>) -> Option<usize> {
        match self.form.fields.get(f)?.repeat {
            Some(r) => member.filter(|i| *i < self.counts.get(r).copied().unwrap_or(0)),
            None => Some(0),
        }
    }

    fn relevant(&self, f: FieldId, member: Option<usize>) -> bool {
        self.index(f, member)
            .and_then(|i| self.rel.get(f)?.get(i).copied())
            .unwrap_or(false)
    }

    /// A field's value as expressions see it: empty when not relevant.
    fn read(&self, f: FieldId, member: Option<usize>) -> Value {
        let Some(i) = self.index(f, member) else {
            return Value::Empty;
        };
        if !self
            .rel
            .get(f)
            .and_then(|r| r.get(i))
            .copied()
            .unwrap_or(false)
        {
            return Value::Empty;
        }
        match self.form.fields.get(f).map(|f| f.kind) {
            Some(FieldType::Calculate) => self
                .calc
                .get(f)
                .and_then(|v| v.get(i))
                .cloned()
                .unwrap_or_default(),
            Some(FieldType::Note | FieldType::Repeat) | None => Value::Empty,
            Some(_) => match self.typed.get(f).and_then(|v| v.get(i)) {
                Some(Ok(v)) => v.clone(),
                _ => Value::Empty,
            },
        }
    }

    fn member_count(&self, repeat: FieldId) -> usize {
        if self.relevant(repeat, None) {
            self.counts.get(repeat).copied().unwrap_or(0)
        } else {
            0
        }
    }

    pub(crate) fn path(&self, f: FieldId, member: Option<usize>) -> String {
        let Some(info) = self.form.fields.get(f) else {
            return String::new();
        };
        match (info.repeat.and_then(|r| self.form.fields.get(r)), member) {
            (Some(r), Some(i)) => format!("{}[{i}].{}", r.id, info.id),
            _ => info.id.clone(),
        }
    }

    /// Evaluates an expression of field instance `(f, member)`, counting the evaluation.
    fn eval_at(
        &self,
        node: &Node,
        member: Option<usize>,
        current: Value,
        choice: Option<&Choice>,
    ) -> Value {
        self.evaluations.bump();
        eval(
            node,
            &Ctx {
                st: self,
                current,
                choice,
            },
            member,
        )
    }

    /// Evaluates any expression tree in this state (tests: arbitrary trees must never panic).
    #[cfg(test)]
    pub(crate) fn eval_any(&self, node: &Node, member: Option<usize>, current: Value) -> Value {
        self.eval_at(node, member, current, None)
    }

    fn instances(&self, scope: Option<FieldId>) -> usize {
        scope.map_or(1, |r| self.counts.get(r).copied().unwrap_or(0))
    }

    // -------------------------------------------------------------------------------------------------------
    // Propagation

    fn mark(&mut self, edges: &[Edge], source_scope: Option<FieldId>, member: usize) {
        let form = self.form.clone();
        for e in edges {
            let dep_scope = form.graph.scope.get(e.to).copied().flatten();
            let Some(d) = self.dirty.get_mut(e.to) else {
                continue;
            };
            match dep_scope {
                Some(r) if !e.all && source_scope == Some(r) => match d {
                    Dirty::All => {}
                    Dirty::Members(m) => m.push(member),
                    Dirty::Clean => *d = Dirty::Members(vec![member]),
                },
                None => {
                    if *d == Dirty::Clean {
                        *d = Dirty::Members(vec![0]);
                    }
                }
                Some(_) => *d = Dirty::All,
            }
        }
    }

    fn mark_member(&mut self, pos: usize, member: usize) {
        if let Some(d) = self.dirty.get_mut(pos) {
            match d {
                Dirty::All => {}
                Dirty::Members(m) => m.push(member),
                Dirty::Clean => *d = Dirty::Members(vec![member]),
            }
        }
    }

    /// Recomputes every dirty node instance in topological order, following changes forward.
    fn process(&mut self) {
        let form = self.form.clone();
        for pos in 0..form.graph.nodes.len() {
            let Some(d) = self
                .dirty
                .get_mut(pos)
                .map(|d| std::mem::replace(d, Dirty::Clean))
            else {
                continue;
            };
            let scope = form.graph.scope.get(pos).copied().flatten();
            let members: Vec<usize> = match d {
                Dirty::Clean => continue,
                Dirty::All => (0..self.instances(scope)).collect(),
                Dirty::Members(mut m) => {
                    m.sort_unstable();
                    m.dedup();
                    m.retain(|i| *i < self.instances(scope));
                    m
                }
            };
            for i in members {
                if self.recompute(pos, i)
                    && let Some(out) = form.graph.out.get(pos)
                {
                    self.mark(out, scope, i);
                }
            }
        }
    }

    /// Recomputes one node instance; true when its value changed.
    fn recompute(&mut self, pos: usize, i: usize) -> bool {
        let form = self.form.clone();
        let Some(&kind) = form.graph.nodes.get(pos) else {
            return false;
        };
        match kind {
            NodeKind::Section(s) => {
                let node = form.sections.get(s).and_then(|s| s.relevant.as_ref());
                let v = node.is_none_or(|n| self.eval_at(n, None, Value::Empty, None).as_bool());
                let Some(slot) = self.sec_rel.get_mut(s) else {
                    return false;
                };
                std::mem::replace(slot, v) != v
            }
            NodeKind::Rel(f) => {
                let Some(info) = form.fields.get(f) else {
                    return false;
                };
                let member = info.repeat.map(|_| i);
                let parent = match info.repeat {
                    Some(r) => self.relevant(r, None),
                    None => self.sec_rel.get(info.section).copied().unwrap_or(false),
                };
                let v = parent
                    && info
                        .relevant
                        .as_ref()
                        .is_none_or(|n| self.eval_at(n, member, Value::Empty, None).as_bool());
                let Some(slot) = self.rel.get_mut(f).and_then(|r| r.get_mut(i)) else {
                    return false;
                };
                let changed = std::mem::replace(slot, v) != v;
                if changed {
                    let path = self.path(f, member);
                    self.log.relevance.push(path);
                }
                changed
            }
            NodeKind::Calc(f) => {
                let Some(info) = form.fields.get(f) else {
                    return false;
                };
                let member = info.repeat.map(|_| i);
                let v = match &info.calculate {
                    Some(n) if self.relevant(f, member) => {
                        self.eval_at(n, member, Value::Empty, None)
                    }
                    _ => Value::Empty,
                };
                let Some(slot) = self.calc.get_mut(f).and_then(|c| c.get_mut(i)) else {
                    return false;
                };
                let changed = *slot != v;
                *slot = v;
                if changed {
                    let path = self.path(f, member);
                    self.log.values.push(path);
                }
                changed
            }
            NodeKind::Check(f) => {
                let member = form.fields.get(f).and_then(|info| info.repeat).map(|_| i);
                let found = self.check(f, member);
                let Some(slot) = self.findings.get_mut(f).and_then(|c| c.get_mut(i)) else {
                    return false;
                };
                let changed = *slot != found;
                *slot = found;
                if changed {
                    let path = self.path(f, member);
                    self.log.findings.push(path);
                }
                // Findings feed nothing else.
                false
            }
        }
    }

    // -------------------------------------------------------------------------------------------------------
    // Checks

    fn check(&mut self, f: FieldId, member: Option<usize>) -> Vec<Finding> {
        let form = self.form.clone();
        let Some(info) = form.fields.get(f) else {
            return Vec::new();
        };
        if !self.relevant(f, member) || info.kind == FieldType::Note {
            return Vec::new();
        }
        let path = self.path(f, member);
        let mut out = Vec::new();
        let value = match info.kind {
            FieldType::Calculate => self.read(f, member),
            FieldType::Repeat => Value::Num(self.counts.get(f).copied().unwrap_or(0) as f64),
            _ => match self
                .index(f, member)
                .and_then(|i| self.typed.get(f)?.get(i))
            {
                Some(Ok(v)) => v.clone(),
                Some(Err(TypeProblem(msg))) => {
                    out.push(super::validate::finding(
                        info,
                        &path,
                        "type",
                        super::Level::Error,
                        msg,
                    ));
                    return out;
                }
                None => Value::Empty,
            },
        };
        let answered = match info.kind {
            FieldType::Repeat => self.counts.get(f).copied().unwrap_or(0) > 0,
            _ => !value.is_empty(),
        };
        let required = match &info.required {
            super::compile::Required::No => false,
            super::compile::Required::Yes => true,
            super::compile::Required::When(n) => {
                self.eval_at(n, member, Value::Empty, None).as_bool()
            }
        };
        if required && !answered {
            out.push(super::validate::required(info, &path));
            return out;
        }
        if info.kind == FieldType::Repeat {
            super::validate::member_counts(
                info,
                &path,
                self.counts.get(f).copied().unwrap_or(0),
                &mut out,
            );
        } else if !answered {
            return out;
        }
        let built_in_errors = self.built_in_checks(f, member, &value, &path, &mut out);
        if built_in_errors {
            return out;
        }
        for c in &info.constraints {
            if !self.eval_at(&c.node, member, value.clone(), None).as_bool() {
                out.push(super::validate::finding(
                    info, &path, &c.rule, c.level, &c.message,
                ));
            }
        }
        out
    }

    /// The checks every field of a type gets; true if one of them found an error (then constraints are skipped:
    /// they would only repeat the problem).
    fn built_in_checks(
        &mut self,
        f: FieldId,
        member: Option<usize>,
        value: &Value,
        path: &str,
        out: &mut Vec<Finding>,
    ) -> bool {
        let form = self.form.clone();
        let Some(info) = form.fields.get(f) else {
            return false;
        };
        let before = out.len();
        match info.kind {
            FieldType::SelectOne | FieldType::SelectMultiple => {
                let list = info.choices.as_ref().and_then(|l| form.form.choices.get(l));
                let codes: Vec<Arc<str>> = match value {
                    Value::Multi(codes) => codes.to_vec(),
                    Value::Text(code) => vec![code.clone()],
                    _ => Vec::new(),
                };
                for code in codes {
                    let choice = list.and_then(|l| l.iter().find(|c| *c.value == *code));
                    match (choice, &info.filter) {
                        (None, _) => out.push(super::validate::not_in_list(info, path, &code)),
                        (Some(choice), Some(filter)) => {
                            if !self
                                .eval_at(filter, member, Value::Empty, Some(choice))
                                .as_bool()
                            {
                                out.push(super::validate::filtered_out(info, path, choice));
                            }
                        }
                        (Some(_), None) => {}
                    }
                }
            }
            FieldType::Nik => {
                for p in super::identity::nik_problems(&value.as_text()) {
                    out.push(super::validate::finding(
                        info, path, p.rule, p.level, &p.message,
                    ));
                }
            }
            FieldType::Kk => {
                for p in super::identity::kk_problems(&value.as_text()) {
                    out.push(super::validate::finding(
                        info, path, p.rule, p.level, &p.message,
                    ));
                }
            }
            FieldType::Region => {
                let within = match &info.region_within {
                    Some(n) => self.eval_at(n, member, Value::Empty, None),
                    None => Value::Empty,
                };
                super::validate::region(info, path, &value.as_text(), &within.as_text(), out);
            }
            FieldType::Text => {
                if let Some(problem) = super::validate::too_long(info, value) {
                    out.push(super::validate::finding(
                        info,
                        path,
                        "max_length",
                        super::Level::Error,
                        &problem,
                    ));
                }
            }
            FieldType::Geopoint => {
                if let Some(Ok(g)) = self.json_at(f, member).map(super::value::parse_geopoint)
                    && !g.in_indonesia()
                {
                    out.push(super::validate::outside_indonesia(info, path));
                }
            }
            _ => {}
        }
        out.get(before..)
            .unwrap_or_default()
            .iter()
            .any(|x| x.level == super::Level::Error)
    }

    /// Every finding, in form order (members in index order), then answers that fit no field.
    pub(crate) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for section in &self.form.sections {
            for &f in &section.fields {
                self.push_findings(f, &mut out);
                let Some(info) = self.form.fields.get(f) else {
                    continue;
                };
                for i in 0..self.counts.get(f).copied().unwrap_or(0) {
                    for &c in &info.children {
                        if let Some(found) = self.findings.get(c).and_then(|v| v.get(i)) {
                            out.extend(found.iter().cloned());
                        }
                    }
                }
            }
        }
        super::validate::structural(&self.form, &self.answers, &mut out);
        out
    }

    fn push_findings(&self, f: FieldId, out: &mut Vec<Finding>) {
        if let Some(found) = self.findings.get(f).and_then(|v| v.first()) {
            out.extend(found.iter().cloned());
        }
    }

    /// The values of relevant calculate fields, shaped like answers (members as a list of objects).
    pub(crate) fn calculated(&self) -> Answers {
        let mut out = Answers::new();
        for (id, info) in self.form.fields.iter().enumerate() {
            if info.kind != FieldType::Calculate {
                continue;
            }
            let Some(repeat) = info
                .repeat
                .and_then(|r| Some((r, self.form.fields.get(r)?)))
            else {
                let v = self.read(id, None);
                if !v.is_empty() {
                    out.insert(info.id.clone(), v.to_json());
                }
                continue;
            };
            let (r, repeat) = repeat;
            let count = self.member_count(r);
            if count == 0 {
                continue;
            }
            let members = out
                .entry(repeat.id.clone())
                .or_insert_with(|| Json::Array(vec![Json::Object(serde_json::Map::new()); count]));
            for i in 0..count {
                let v = self.read(id, Some(i));
                if let Some(m) = members.get_mut(i).and_then(Json::as_object_mut)
                    && !v.is_empty()
                {
                    m.insert(info.id.clone(), v.to_json());
                }
            }
        }
        out
    }

    /// What is exported of a visit: the relevant answers with the relevant calculated values beside them
    /// (members' calculated values inside their member objects). A hidden repeat stays out, whatever its
    /// members' calculations give.
    pub(crate) fn exported(&self) -> Answers {
        let mut out = self.relevant_answers();
        for (key, value) in self.calculated() {
            match value {
                Json::Array(calculated) => {
                    let Some(Json::Array(members)) = out.get_mut(&key) else {
                        continue;
                    };
                    for (member, values) in members.iter_mut().zip(calculated) {
                        if let (Json::Object(member), Json::Object(values)) = (member, values) {
                            member.extend(values);
                        }
                    }
                }
                value => {
                    out.insert(key, value);
                }
            }
        }
        out
    }

    /// The answers of relevant input fields only (what is exported).
    pub(crate) fn relevant_answers(&self) -> Answers {
        let mut out = Answers::new();
        for (key, value) in &self.answers {
            let Some(f) = self.form.field_by_id(key) else {
                continue;
            };
            let Some(info) = self.form.fields.get(f) else {
                continue;
            };
            if info.repeat.is_some() || !self.relevant(f, None) {
                continue;
            }
            if info.is_input() {
                out.insert(key.clone(), value.clone());
            } else if info.kind == FieldType::Repeat {
                let Some(members) = value.as_array() else {
                    continue;
                };
                let kept = members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let mut member = serde_json::Map::new();
                        for (k, v) in m.as_object().into_iter().flatten() {
                            let keep = self.form.field_by_id(k).is_some_and(|c| {
                                info.children.contains(&c)
                                    && self.form.fields.get(c).is_some_and(|ci| ci.is_input())
                                    && self.relevant(c, Some(i))
                            });
                            if keep {
                                member.insert(k.clone(), v.clone());
                            }
                        }
                        Json::Object(member)
                    })
                    .collect();
                out.insert(key.clone(), Json::Array(kept));
            }
        }
        out
    }
}

// -----------------------------------------------------------------------------------------------------------
// The App's live session

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
        if let Some(problem) = super::validate::too_long(info, &typed) {
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
        let empty = super::value::json_is_empty(&value);
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
        super::validate::parse_input(info, list, path, input)
    }

    /// How many expressions have been evaluated since the session started (building it included).
    pub fn evaluations(&self) -> u64 {
        self.state.evaluations.get()
    }
}
