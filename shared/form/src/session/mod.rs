//! The evaluation state of one visit: typed answers, relevance, calculated values and findings per field
//! instance, kept up to date through the dependency graph so that an answer re-evaluates only what depends on it.
//! [`CompiledForm::validate`] runs the same state from scratch, so the App and the server always agree.
//!
//! This module keeps the state and its propagation; [`checks`] gives one field instance's findings, [`outputs`]
//! what a state gives out (findings in form order, calculated, exported and relevant answers), and [`live`] the
//! App's [`FormSession`], which sets and clears answers by path.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::compile::{Compiled, Edge, NodeKind};
use super::expr::eval::{Env, eval};
use super::expr::{FieldId, Node};
use super::model::{Choice, FieldType, Text};
use super::value::{TypeProblem, Value, parse_answer};
use super::{CompiledForm, Finding};
use crate::Answers;

mod checks;
mod live;
mod outputs;

pub use live::FormSession;

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
}
