//! Load-time checks and compilation: every problem of a form is reported with its JSON path; a form without
//! problems becomes a field table with resolved expressions and the dependency graph the session runs on.

use std::collections::{BTreeSet, HashMap};

use super::expr::types::{Dep, FieldSig, Fields, Scope, Type, resolve};
use super::expr::{FieldId, Node, parse};
use super::model::{Field, FieldType, Form, Level, Missing, RegionLevel, Requirement, Text};
use super::{LoadError, LoadErrors};

/// `required`, compiled.
#[derive(Debug, Clone)]
pub(crate) enum Required {
    No,
    Yes,
    When(Node),
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledConstraint {
    pub node: Node,
    pub level: Level,
    /// The constraint's `rule`, or `constraint` when it has none.
    pub rule: String,
    pub message: Text,
}

/// One field of the form (repeat children included), with its expressions resolved.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub id: String,
    pub kind: FieldType,
    pub label: Text,
    pub section: usize,
    /// The repeat this field is a member field of.
    pub repeat: Option<FieldId>,
    /// For repeats: the member fields, in order.
    pub children: Vec<FieldId>,
    pub ty: Type,
    pub relevant: Option<Node>,
    pub required: Required,
    /// What a missing required answer raises (default: an error).
    pub missing: Option<Missing>,
    pub constraints: Vec<CompiledConstraint>,
    pub calculate: Option<Node>,
    pub choices: Option<String>,
    pub filter: Option<Node>,
    pub region_level: RegionLevel,
    pub region_within: Option<Node>,
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
    /// For text fields: the form's `max_length`, else the server-wide cap on any text answer.
    pub max_length: Option<u32>,
    /// For text fields: how typed text is brought to one form (`Field::input`).
    pub input: Option<crate::model::TextInput>,
}

impl FieldInfo {
    /// Whether the field takes an answer (not a note, calculation or repeat group).
    pub fn is_input(&self) -> bool {
        !matches!(
            self.kind,
            FieldType::Note | FieldType::Calculate | FieldType::Repeat
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SectionInfo {
    pub id: String,
    pub relevant: Option<Node>,
    /// Top-level fields, in form order.
    pub fields: Vec<FieldId>,
}

/// A computation the session keeps up to date, per instance (one per member inside a repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum NodeKind {
    /// Section relevance.
    Section(usize),
    /// Effective relevance of a field (its container's and its own).
    Rel(FieldId),
    /// A calculate field's value.
    Calc(FieldId),
    /// A field's findings.
    Check(FieldId),
}

/// "When the source changes, recompute `to`": for every member (`all`) or only the same member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Edge {
    pub to: usize,
    pub all: bool,
}

/// The dependency graph, nodes in topological order (positions index every per-node vector).
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<NodeKind>,
    /// The repeat a node's instances belong to (`None`: one instance).
    pub scope: Vec<Option<FieldId>>,
    pub out: Vec<Vec<Edge>>,
    /// Per field: what to recompute when its answer changes.
    pub answer_out: Vec<Vec<Edge>>,
    /// Per repeat field: what to recompute when its member count changes.
    pub count_out: Vec<Vec<Edge>>,
    pub rel_pos: Vec<usize>,
    pub check_pos: Vec<usize>,
    pub calc_pos: Vec<Option<usize>>,
    pub section_pos: Vec<usize>,
}

#[derive(Debug)]
pub(crate) struct Compiled {
    pub form: Form,
    pub fields: Vec<FieldInfo>,
    pub by_id: HashMap<String, FieldId>,
    pub sections: Vec<SectionInfo>,
    pub graph: Graph,
}

impl Compiled {
    pub fn field_by_id(&self, id: &str) -> Option<FieldId> {
        self.by_id.get(id).copied()
    }
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn field_type(kind: FieldType) -> Type {
    match kind {
        FieldType::Integer | FieldType::Decimal => Type::Num,
        FieldType::Date => Type::Date,
        FieldType::SelectMultiple => Type::Choices,
        FieldType::Repeat => Type::Repeat,
        FieldType::Calculate => Type::Any,
        FieldType::Text
        | FieldType::SelectOne
        | FieldType::Geopoint
        | FieldType::Photo
        | FieldType::Nik
        | FieldType::Kk
        | FieldType::Region
        | FieldType::Note => Type::Text,
    }
}

struct Lookup<'a> {
    by_id: &'a HashMap<String, FieldId>,
    fields: &'a [FieldInfo],
}

impl Fields for Lookup<'_> {
    fn lookup(&self, name: &str) -> Option<FieldSig> {
        let id = *self.by_id.get(name)?;
        let f = self.fields.get(id)?;
        Some(FieldSig {
            id,
            ty: f.ty,
            repeat: f.repeat,
        })
    }

    fn name(&self, id: FieldId) -> &str {
        self.fields.get(id).map_or("?", |f| f.id.as_str())
    }
}

/// Collects problems while compiling.
#[derive(Default)]
struct Problems(Vec<LoadError>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(LoadError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Where each field is in the form JSON, and the raw field.
struct Located<'a> {
    field: &'a Field,
    path: String,
}

pub(crate) fn compile(form: Form) -> Result<Compiled, LoadErrors> {
    let mut problems = Problems::default();
    if !is_valid_id(&form.id) {
        problems.push(
            "id",
            format!("form id `{}` must match [a-z][a-z0-9_]*", form.id),
        );
    }
    if form.version == 0 {
        problems.push("version", "form version must be 1 or more");
    }
    check_choice_lists(&form, &mut problems);

    // 1. The field table, with structural checks.
    let mut fields: Vec<FieldInfo> = Vec::new();
    let mut located: Vec<Located<'_>> = Vec::new();
    let mut by_id: HashMap<String, FieldId> = HashMap::new();
    let mut sections = Vec::new();
    let mut section_ids: HashMap<&str, usize> = HashMap::new();
    if form.sections.is_empty() {
        problems.push("sections", "a form needs at least one section");
    }
    for (s, section) in form.sections.iter().enumerate() {
        let path = format!("sections[{s}]");
        if !is_valid_id(&section.id) {
            problems.push(
                format!("{path}.id"),
                format!("section id `{}` must match [a-z][a-z0-9_]*", section.id),
            );
        }
        if let Some(first) = section_ids.insert(section.id.as_str(), s) {
            problems.push(
                format!("{path}.id"),
                format!(
                    "duplicate section id `{}` (also sections[{first}])",
                    section.id
                ),
            );
        }
        if section.fields.is_empty() {
            problems.push(
                format!("{path}.fields"),
                format!("section `{}` has no fields", section.id),
            );
        }
        let mut top = Vec::new();
        for (i, field) in section.fields.iter().enumerate() {
            let fpath = format!("{path}.fields[{i}]");
            let id = add_field(
                field,
                fpath.clone(),
                s,
                None,
                &mut fields,
                &mut located,
                &mut by_id,
                &mut problems,
            );
            top.push(id);
            if field.kind == FieldType::Repeat {
                for (k, child) in field.fields.iter().enumerate() {
                    let cpath = format!("{fpath}.fields[{k}]");
                    if child.kind == FieldType::Repeat {
                        problems.push(
                            cpath.clone(),
                            format!(
                                "field `{}`: repeats inside repeats are not supported",
                                child.id
                            ),
                        );
                    }
                    let cid = add_field(
                        child,
                        cpath,
                        s,
                        Some(id),
                        &mut fields,
                        &mut located,
                        &mut by_id,
                        &mut problems,
                    );
                    if let Some(r) = fields.get_mut(id) {
                        r.children.push(cid);
                    }
                }
            }
        }
        sections.push(SectionInfo {
            id: section.id.clone(),
            relevant: None,
            fields: top,
        });
    }
    for loc in &located {
        check_field_shape(&form, loc, &mut problems);
    }
    check_outcome(&form, &fields, &by_id, &mut problems);
    check_starters(&form, &mut problems);

    // 2. Types of calculations, which other expressions need: iterate to a fixed point (cycles stay `Any`).
    infer_calculation_types(&mut fields, &located, &by_id);

    // 3. Every expression, resolved and type-checked in its scope.
    let mut deps: HashMap<NodeKind, Vec<Dep>> = HashMap::new();
    let mut section_nodes = Vec::new();
    for (s, section) in form.sections.iter().enumerate() {
        let Some(src) = &section.relevant else {
            continue;
        };
        let lookup = Lookup {
            by_id: &by_id,
            fields: &fields,
        };
        let path = format!("sections[{s}].relevant");
        if let Some(r) = expression(
            src,
            &lookup,
            &Scope::default(),
            &path,
            &format!("section `{}`", section.id),
            &mut problems,
        ) {
            want_bool(
                r.ty,
                &path,
                &format!("section `{}`", section.id),
                "relevant",
                &mut problems,
            );
            deps.insert(NodeKind::Section(s), r.deps);
            section_nodes.push((s, r.node));
        }
    }
    for (s, node) in section_nodes {
        if let Some(sec) = sections.get_mut(s) {
            sec.relevant = Some(node);
        }
    }
    for id in 0..fields.len() {
        compile_expressions(
            &form,
            id,
            &located,
            &mut fields,
            &by_id,
            &mut deps,
            &mut problems,
        );
    }

    if !problems.0.is_empty() {
        return Err(LoadErrors(problems.0));
    }
    // 4. The dependency graph; cycles are load errors.
    let graph = build_graph(&fields, &sections, &deps, &located, &mut problems);
    if !problems.0.is_empty() {
        return Err(LoadErrors(problems.0));
    }
    Ok(Compiled {
        form,
        fields,
        by_id,
        sections,
        graph,
    })
}

/// The form's `outcome` key names a top-level `select_one` (what [`Form::outcome_field`] reads).
fn check_outcome(
    form: &Form,
    fields: &[FieldInfo],
    by_id: &HashMap<String, FieldId>,
    problems: &mut Problems,
) {
    let Some(id) = &form.outcome else {
        return;
    };
    match by_id.get(id).and_then(|f| fields.get(*f)) {
        None => problems.push(
            "outcome",
            format!("outcome names field `{id}`, which the form does not have"),
        ),
        Some(field) if field.repeat.is_some() || field.kind != FieldType::SelectOne => problems.push(
            "outcome",
            format!(
                "outcome names field `{id}`, which must be a select_one outside any repeat (one answer per visit)"
            ),
        ),
        Some(_) => {}
    }
}

/// `start_without_assignment` names each role once (a role named twice is a typo's sign, not a wish).
fn check_starters(form: &Form, problems: &mut Problems) {
    let roles = &form.start_without_assignment;
    for (i, role) in roles.iter().enumerate() {
        if roles[..i].contains(role) {
            problems.push(
                format!("start_without_assignment[{i}]"),
                format!("start_without_assignment names {role:?} twice"),
            );
        }
    }
}

fn check_choice_lists(form: &Form, problems: &mut Problems) {
    for (name, list) in &form.choices {
        let path = format!("choices.{name}");
        if !is_valid_id(name) {
            problems.push(
                path.clone(),
                format!("choice list name `{name}` must match [a-z][a-z0-9_]*"),
            );
        }
        if list.is_empty() {
            problems.push(path.clone(), format!("choice list `{name}` is empty"));
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, choice) in list.iter().enumerate() {
            if choice.value.is_empty() || choice.value.chars().any(char::is_whitespace) {
                problems.push(
                    format!("{path}[{i}].value"),
                    format!(
                        "choice value `{}` in list `{name}` must be non-empty without spaces",
                        choice.value
                    ),
                );
            }
            if let Some(first) = seen.insert(choice.value.as_str(), i) {
                problems.push(
                    format!("{path}[{i}].value"),
                    format!(
                        "duplicate choice value `{}` in list `{name}` (also {path}[{first}])",
                        choice.value
                    ),
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn add_field<'a>(
    field: &'a Field,
    path: String,
    section: usize,
    repeat: Option<FieldId>,
    fields: &mut Vec<FieldInfo>,
    located: &mut Vec<Located<'a>>,
    by_id: &mut HashMap<String, FieldId>,
    problems: &mut Problems,
) -> FieldId {
    let id = fields.len();
    if !is_valid_id(&field.id) {
        problems.push(
            format!("{path}.id"),
            format!("field id `{}` must match [a-z][a-z0-9_]*", field.id),
        );
    }
    if field.id.ends_with(crate::PREFILL_REVIEW_SUFFIX) {
        problems.push(
            format!("{path}.id"),
            format!(
                "field id `{}` ends in `{}`, which the export keeps for the prefill review column of a field",
                field.id,
                crate::PREFILL_REVIEW_SUFFIX
            ),
        );
    }
    if let Some(first) = by_id.get(&field.id) {
        let first_path = located.get(*first).map_or("", |l| l.path.as_str());
        problems.push(
            format!("{path}.id"),
            format!("duplicate field id `{}` (also {first_path})", field.id),
        );
    } else {
        by_id.insert(field.id.clone(), id);
    }
    fields.push(FieldInfo {
        id: field.id.clone(),
        kind: field.kind,
        label: field.label.clone(),
        section,
        repeat,
        children: Vec::new(),
        ty: field_type(field.kind),
        relevant: None,
        required: Required::No,
        missing: field.missing.clone(),
        constraints: Vec::new(),
        calculate: None,
        choices: field.choices.clone(),
        filter: None,
        region_level: field.region_level.unwrap_or(RegionLevel::Village),
        region_within: None,
        min_count: field.min_count,
        max_count: field.max_count,
        input: field.input.filter(|_| field.kind == FieldType::Text),
        max_length: (field.kind == FieldType::Text).then(|| {
            field
                .max_length
                .unwrap_or(crate::text_rules::DEFAULT_MAX_TEXT_CHARS as u32)
        }),
    });
    located.push(Located { field, path });
    id
}

/// Which keys a field of each type may have.
fn check_field_shape(form: &Form, loc: &Located<'_>, problems: &mut Problems) {
    let f = loc.field;
    let path = &loc.path;
    let name = &f.id;
    let mut not_for = |present: bool, key: &str, what: &str| {
        if present {
            problems.push(
                format!("{path}.{key}"),
                format!("field `{name}`: `{key}` is only for {what}"),
            );
        }
    };
    let select = matches!(f.kind, FieldType::SelectOne | FieldType::SelectMultiple);
    not_for(
        !select && f.choices.is_some(),
        "choices",
        "select_one / select_multiple fields",
    );
    not_for(
        !select && f.choice_filter.is_some(),
        "choice_filter",
        "select_one / select_multiple fields",
    );
    not_for(
        f.kind != FieldType::Calculate && f.calculate.is_some(),
        "calculate",
        "calculate fields",
    );
    not_for(
        f.kind != FieldType::Region && f.region_level.is_some(),
        "region_level",
        "region fields",
    );
    not_for(
        f.kind != FieldType::Region && f.region_within.is_some(),
        "region_within",
        "region fields",
    );
    let repeat = f.kind == FieldType::Repeat;
    not_for(!repeat && !f.fields.is_empty(), "fields", "repeat groups");
    not_for(
        !repeat && f.min_count.is_some(),
        "min_count",
        "repeat groups",
    );
    not_for(
        !repeat && f.max_count.is_some(),
        "max_count",
        "repeat groups",
    );
    not_for(
        f.kind != FieldType::Text && f.max_length.is_some(),
        "max_length",
        "text fields",
    );
    not_for(
        f.kind != FieldType::Text && f.input.is_some(),
        "input",
        "text fields",
    );
    let cap = crate::text_rules::DEFAULT_MAX_TEXT_CHARS;
    if let Some(max) = f.max_length
        && (max == 0 || max as usize > cap)
    {
        problems.push(
            format!("{path}.max_length"),
            format!("field `{name}`: max_length {max} must be from 1 to {cap}"),
        );
    }
    if select {
        match &f.choices {
            None => problems.push(
                path.clone(),
                format!("field `{name}`: a {:?} field needs `choices`", f.kind),
            ),
            Some(list) if !form.choices.contains_key(list) => problems.push(
                format!("{path}.choices"),
                format!("field `{name}`: choice list `{list}` does not exist"),
            ),
            Some(_) => {}
        }
    }
    match f.kind {
        FieldType::Calculate if f.calculate.is_none() => {
            problems.push(
                path.clone(),
                format!("field `{name}`: a calculate field needs `calculate`"),
            );
        }
        FieldType::Repeat => {
            if f.fields.is_empty() {
                problems.push(
                    format!("{path}.fields"),
                    format!("repeat `{name}` has no fields"),
                );
            }
            if let (Some(min), Some(max)) = (f.min_count, f.max_count)
                && min > max
            {
                problems.push(
                    path.clone(),
                    format!("repeat `{name}`: min_count {min} is above max_count {max}"),
                );
            }
        }
        FieldType::Note => {
            if !f.constraints.is_empty() {
                problems.push(
                    format!("{path}.constraints"),
                    format!("field `{name}`: a note cannot have constraints"),
                );
            }
            if f.required != Requirement::Always(false) {
                problems.push(
                    format!("{path}.required"),
                    format!("field `{name}`: a note cannot be required"),
                );
            }
        }
        _ => {}
    }
    if f.missing.is_some() && f.required == Requirement::Always(false) {
        problems.push(
            format!("{path}.missing"),
            format!("field `{name}`: `missing` has no effect on a field that is never required"),
        );
    }
    if matches!(f.kind, FieldType::Calculate) && f.required != Requirement::Always(false) {
        problems.push(
            format!("{path}.required"),
            format!("field `{name}`: a calculate field cannot be required"),
        );
    }
    if f.prefill.as_deref() == Some("") {
        problems.push(
            format!("{path}.prefill"),
            format!("field `{name}`: `prefill` is empty"),
        );
    }
}

fn infer_calculation_types(
    fields: &mut [FieldInfo],
    located: &[Located<'_>],
    by_id: &HashMap<String, FieldId>,
) {
    let calcs: Vec<(FieldId, crate::expr::Expr)> = located
        .iter()
        .enumerate()
        .filter_map(|(id, l)| Some((id, parse(l.field.calculate.as_deref()?).ok()?)))
        .collect();
    for _ in 0..=calcs.len() {
        let mut changed = false;
        for (id, expr) in &calcs {
            let ty = {
                let lookup = Lookup { by_id, fields };
                let own_repeat = fields.get(*id).and_then(|f| f.repeat);
                let scope = Scope {
                    own_repeat,
                    ..Scope::default()
                };
                resolve(expr, &lookup, &scope).ty
            };
            if let Some(f) = fields.get_mut(*id)
                && f.ty != ty
            {
                f.ty = ty;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Parses and resolves one expression, recording its problems at `path`.
fn expression(
    src: &str,
    lookup: &Lookup<'_>,
    scope: &Scope<'_>,
    path: &str,
    owner: &str,
    problems: &mut Problems,
) -> Option<super::expr::types::Resolved> {
    let expr = match parse(src) {
        Ok(e) => e,
        Err(e) => {
            problems.push(path, format!("{owner}: {e} in `{src}`"));
            return None;
        }
    };
    let r = resolve(&expr, lookup, scope);
    for e in &r.errors {
        problems.push(
            path,
            format!("{owner}: column {}: {} in `{src}`", e.col, e.message),
        );
    }
    r.errors.is_empty().then_some(r)
}

fn want_bool(ty: Type, path: &str, owner: &str, key: &str, problems: &mut Problems) {
    if !matches!(ty, Type::Bool | Type::Any) {
        problems.push(
            path,
            format!(
                "{owner}: `{key}` must be a true/false condition, but it is {}",
                ty.describe()
            ),
        );
    }
}

fn compile_expressions(
    form: &Form,
    id: FieldId,
    located: &[Located<'_>],
    fields: &mut [FieldInfo],
    by_id: &HashMap<String, FieldId>,
    deps: &mut HashMap<NodeKind, Vec<Dep>>,
    problems: &mut Problems,
) {
    let Some(loc) = located.get(id) else { return };
    let Some(info) = fields.get(id) else { return };
    let f = loc.field;
    let path = &loc.path;
    let owner = format!("field `{}`", f.id);
    let own_repeat = info.repeat;
    let self_ty = if f.kind == FieldType::Repeat {
        Type::Num
    } else {
        info.ty
    };
    let base = Scope {
        own_repeat,
        ..Scope::default()
    };
    let lookup = Lookup { by_id, fields };
    let mut check_deps = Vec::new();

    let relevant = f.relevant.as_deref().and_then(|src| {
        let p = format!("{path}.relevant");
        let r = expression(src, &lookup, &base, &p, &owner, problems)?;
        want_bool(r.ty, &p, &owner, "relevant", problems);
        deps.insert(NodeKind::Rel(id), r.deps);
        Some(r.node)
    });
    let required = match &f.required {
        Requirement::Always(false) => Required::No,
        Requirement::Always(true) => Required::Yes,
        Requirement::When(src) => {
            let p = format!("{path}.required");
            match expression(src, &lookup, &base, &p, &owner, problems) {
                Some(r) => {
                    want_bool(r.ty, &p, &owner, "required", problems);
                    check_deps.extend(r.deps);
                    Required::When(r.node)
                }
                None => Required::No,
            }
        }
    };
    let mut constraints = Vec::new();
    for (k, c) in f.constraints.iter().enumerate() {
        let p = format!("{path}.constraints[{k}].expr");
        let scope = Scope {
            current: Some(self_ty),
            ..base
        };
        if let Some(rule) = &c.rule
            && !is_valid_id(rule)
        {
            problems.push(
                format!("{path}.constraints[{k}].rule"),
                format!("{owner}: rule name `{rule}` must match [a-z][a-z0-9_]*"),
            );
        }
        if let Some(r) = expression(&c.expr, &lookup, &scope, &p, &owner, problems) {
            want_bool(r.ty, &p, &owner, "constraint", problems);
            check_deps.extend(r.deps);
            constraints.push(CompiledConstraint {
                node: r.node,
                level: c.level,
                rule: c.rule.clone().unwrap_or_else(|| "constraint".to_owned()),
                message: c.message.clone(),
            });
        }
    }
    let calculate = f.calculate.as_deref().and_then(|src| {
        let p = format!("{path}.calculate");
        let r = expression(src, &lookup, &base, &p, &owner, problems)?;
        deps.insert(NodeKind::Calc(id), r.deps);
        Some(r.node)
    });
    let attrs: Option<BTreeSet<String>> = f
        .choices
        .as_ref()
        .and_then(|list| form.choices.get(list))
        .map(|list| list.iter().flat_map(|c| c.attrs.keys().cloned()).collect());
    let filter = f.choice_filter.as_deref().and_then(|src| {
        let p = format!("{path}.choice_filter");
        let list = f.choices.as_deref().unwrap_or_default();
        let empty = BTreeSet::new();
        let scope = Scope {
            choice_attrs: Some((list, attrs.as_ref().unwrap_or(&empty))),
            ..base
        };
        let r = expression(src, &lookup, &scope, &p, &owner, problems)?;
        want_bool(r.ty, &p, &owner, "choice_filter", problems);
        check_deps.extend(r.deps);
        Some(r.node)
    });
    let region_within = f.region_within.as_deref().and_then(|src| {
        let p = format!("{path}.region_within");
        let r = expression(src, &lookup, &base, &p, &owner, problems)?;
        if !matches!(r.ty, Type::Text | Type::Any) {
            problems.push(
                &p,
                format!(
                    "{owner}: `region_within` must be a region code (text), but it is {}",
                    r.ty.describe()
                ),
            );
        }
        check_deps.extend(r.deps);
        Some(r.node)
    });
    deps.insert(NodeKind::Check(id), check_deps);
    if let Some(info) = fields.get_mut(id) {
        info.relevant = relevant;
        info.required = required;
        info.constraints = constraints;
        info.calculate = calculate;
        info.filter = filter;
        info.region_within = region_within;
    }
}

/// A change source in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Node(NodeKind),
    Answer(FieldId),
    Count(FieldId),
}

fn build_graph(
    fields: &[FieldInfo],
    sections: &[SectionInfo],
    deps: &HashMap<NodeKind, Vec<Dep>>,
    located: &[Located<'_>],
    problems: &mut Problems,
) -> Graph {
    let mut kinds: Vec<NodeKind> = (0..sections.len()).map(NodeKind::Section).collect();
    for (id, f) in fields.iter().enumerate() {
        kinds.push(NodeKind::Rel(id));
        if f.kind == FieldType::Calculate {
            kinds.push(NodeKind::Calc(id));
        }
        kinds.push(NodeKind::Check(id));
    }
    // Edges as (source, dependent, all).
    let mut edges: Vec<(Source, NodeKind, bool)> = Vec::new();
    let read = |field: FieldId| {
        if fields
            .get(field)
            .is_some_and(|f| f.kind == FieldType::Calculate)
        {
            Source::Node(NodeKind::Calc(field))
        } else {
            Source::Answer(field)
        }
    };
    for &kind in &kinds {
        for d in deps.get(&kind).map(Vec::as_slice).unwrap_or_default() {
            if d.count {
                edges.push((Source::Count(d.field), kind, true));
                edges.push((Source::Node(NodeKind::Rel(d.field)), kind, true));
            } else {
                edges.push((Source::Node(NodeKind::Rel(d.field)), kind, d.all_members));
                edges.push((read(d.field), kind, d.all_members));
            }
        }
        match kind {
            NodeKind::Section(_) => {}
            NodeKind::Rel(id) => {
                let Some(f) = fields.get(id) else { continue };
                let parent = match f.repeat {
                    Some(r) => NodeKind::Rel(r),
                    None => NodeKind::Section(f.section),
                };
                edges.push((Source::Node(parent), kind, true));
            }
            NodeKind::Calc(id) => edges.push((Source::Node(NodeKind::Rel(id)), kind, false)),
            NodeKind::Check(id) => {
                edges.push((Source::Node(NodeKind::Rel(id)), kind, false));
                edges.push((read(id), kind, false));
                if fields.get(id).is_some_and(|f| f.kind == FieldType::Repeat) {
                    edges.push((Source::Count(id), kind, true));
                }
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();

    // Topological order (Kahn), keeping form order among independent nodes.
    let index: HashMap<NodeKind, usize> = kinds.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut indegree = vec![0usize; kinds.len()];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); kinds.len()];
    for (s, t, _) in &edges {
        if let (Source::Node(s), Some(&ti)) = (s, index.get(t))
            && let Some(&si) = index.get(s)
        {
            succ[si].push(ti);
            indegree[ti] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..kinds.len()).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(kinds.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &t in &succ[i] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert(t);
            }
        }
    }
    if order.len() < kinds.len() {
        report_cycle(
            &kinds, &succ, &indegree, fields, sections, located, problems,
        );
        return Graph::default();
    }
    let mut pos = vec![0usize; kinds.len()];
    for (p, &i) in order.iter().enumerate() {
        pos[i] = p;
    }
    let n = kinds.len();
    let mut g = Graph {
        nodes: order.iter().map(|&i| kinds[i]).collect(),
        scope: Vec::with_capacity(n),
        out: vec![Vec::new(); n],
        answer_out: vec![Vec::new(); fields.len()],
        count_out: vec![Vec::new(); fields.len()],
        rel_pos: vec![0; fields.len()],
        check_pos: vec![0; fields.len()],
        calc_pos: vec![None; fields.len()],
        section_pos: vec![0; sections.len()],
    };
    for (p, kind) in g.nodes.iter().enumerate() {
        let scope = match *kind {
            NodeKind::Section(s) => {
                g.section_pos[s] = p;
                None
            }
            NodeKind::Rel(f) => {
                g.rel_pos[f] = p;
                fields[f].repeat
            }
            NodeKind::Calc(f) => {
                g.calc_pos[f] = Some(p);
                fields[f].repeat
            }
            NodeKind::Check(f) => {
                g.check_pos[f] = p;
                fields[f].repeat
            }
        };
        g.scope.push(scope);
    }
    for (s, t, all) in edges {
        let Some(&ti) = index.get(&t) else { continue };
        let edge = Edge { to: pos[ti], all };
        match s {
            Source::Node(k) => {
                if let Some(&si) = index.get(&k) {
                    g.out[pos[si]].push(edge);
                }
            }
            Source::Answer(f) => g.answer_out[f].push(edge),
            Source::Count(f) => g.count_out[f].push(edge),
        }
    }
    g
}

fn describe(kind: NodeKind, fields: &[FieldInfo], sections: &[SectionInfo]) -> String {
    let name = |f: FieldId| fields.get(f).map_or("?", |f| f.id.as_str());
    match kind {
        NodeKind::Section(s) => {
            format!(
                "relevance of section `{}`",
                sections.get(s).map_or("?", |s| s.id.as_str())
            )
        }
        NodeKind::Rel(f) => format!("relevance of `{}`", name(f)),
        NodeKind::Calc(f) => format!("`{}`", name(f)),
        NodeKind::Check(f) => format!("checks of `{}`", name(f)),
    }
}

/// Names one cycle among the nodes Kahn's algorithm could not order.
fn report_cycle(
    kinds: &[NodeKind],
    succ: &[Vec<usize>],
    indegree: &[usize],
    fields: &[FieldInfo],
    sections: &[SectionInfo],
    located: &[Located<'_>],
    problems: &mut Problems,
) {
    let stuck = |i: usize| indegree.get(i).is_some_and(|d| *d > 0);
    let Some(start) = (0..kinds.len()).find(|&i| stuck(i)) else {
        return;
    };
    // Walk stuck successors until a node repeats: that stretch is a cycle.
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut walk = vec![start];
    let mut at = start;
    seen.insert(at, 0);
    loop {
        let Some(&next) = succ.get(at).and_then(|s| s.iter().find(|&&n| stuck(n))) else {
            return;
        };
        if let Some(&first) = seen.get(&next) {
            let cycle: Vec<String> = walk[first..]
                .iter()
                .chain(std::iter::once(&next))
                .map(|&i| describe(kinds[i], fields, sections))
                .collect();
            let (path, key) = match kinds[next] {
                NodeKind::Calc(f) => (
                    located.get(f).map(|l| l.path.clone()).unwrap_or_default(),
                    ".calculate",
                ),
                NodeKind::Rel(f) => (
                    located.get(f).map(|l| l.path.clone()).unwrap_or_default(),
                    ".relevant",
                ),
                NodeKind::Section(s) => (format!("sections[{s}]"), ".relevant"),
                NodeKind::Check(_) => (String::new(), ""),
            };
            problems.push(
                format!("{path}{key}"),
                format!("cycle: {}", cycle.join(" → ")),
            );
            return;
        }
        seen.insert(next, walk.len());
        walk.push(next);
        at = next;
    }
}
