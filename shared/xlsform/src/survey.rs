//! The XLSForm sheets → a Tepat form. Each question row becomes a field built as the form JSON would hold it
//! and read by the form engine's own types (so a bad value is named at its row), groups at the top become
//! sections, repeats become repeat fields, and groups inside groups are flattened (their relevance joined to
//! their questions', their label kept as a note). Where each part of the form came from is kept, so that the
//! form engine's load-time problems are reported at the sheet, row and column they come from.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tepat_form::{Choice, Field, FieldType, Form, Lang, Section, Text};

use crate::columns::Columns;
use crate::expr::{self, Context};
use crate::read::{Limits, Row, Sheet, Workbook};
use crate::{ImportError, Imported, Place, Problem};

/// One-column bases of the survey sheet (texts are [`SURVEY_TEXTS`]).
const SURVEY_SINGLES: &[&str] = &[
    "type",
    "name",
    "required",
    "relevant",
    "constraint",
    "calculation",
    "choice_filter",
    "read_only",
    "appearance",
    "repeat_count",
    "tepat:type",
    "tepat:missing_level",
    "tepat:missing_rule",
    "tepat:constraint_level",
    "tepat:constraint_rule",
    "tepat:prefill",
    "tepat:max_length",
    "tepat:input",
    "tepat:region_level",
    "tepat:region_within",
    "tepat:min_count",
    "tepat:max_count",
    "tepat:json",
];
const SURVEY_TEXTS: &[&str] = &["label", "hint", "constraint_message", "required_message"];

const CHOICE_SINGLES: &[&str] = &["list_name", "name"];
const CHOICE_TEXTS: &[&str] = &["label"];

const SETTINGS_SINGLES: &[&str] = &[
    "form_id",
    "version",
    "default_language",
    "tepat:outcome",
    "tepat:json",
];
const SETTINGS_TEXTS: &[&str] = &["form_title", "tepat:description"];

/// The message of a constraint the XLSForm gives none for (ODK says "Sorry, this response is invalid").
fn default_constraint_message() -> Text {
    Text::new(
        "Jawaban tidak sesuai ketentuan",
        "The answer does not meet the condition",
    )
}

/// Where the parts of one field came from: its row, and the column of each of its keys.
#[derive(Debug, Clone, Default)]
struct Origin {
    row: u32,
    /// Form-JSON key (`relevant`, `constraints[1]`, …) → the column's name.
    columns: BTreeMap<String, String>,
    children: Vec<Origin>,
}

#[derive(Debug, Clone, Default)]
struct SectionOrigin {
    row: u32,
    columns: BTreeMap<String, String>,
    fields: Vec<Origin>,
}

/// Where everything came from, to place the form engine's problems.
#[derive(Debug, Default)]
struct Origins {
    sections: Vec<SectionOrigin>,
    /// (list, index) → row of the choices sheet.
    choices: BTreeMap<(String, usize), u32>,
    settings_row: Option<u32>,
    settings_columns: BTreeMap<String, String>,
}

fn parse_index(s: &str) -> Option<(usize, &str)> {
    let s = s.strip_prefix('[')?;
    let end = s.find(']')?;
    Some((s.get(..end)?.parse().ok()?, s.get(end + 1..)?))
}

impl Origins {
    /// The place of a form-JSON path (`sections[2].fields[5].fields[1].constraints[0].expr`).
    fn place(&self, path: &str) -> Place {
        let at = |sheet: &str, row: Option<u32>, column: Option<String>| Place {
            sheet: sheet.to_string(),
            row,
            column,
        };
        if let Some(rest) = path.strip_prefix("sections")
            && let Some((s, rest)) = parse_index(rest)
            && let Some(section) = self.sections.get(s)
        {
            let Some(rest) = rest.strip_prefix(".fields") else {
                let key = rest.trim_start_matches('.');
                return at(
                    "survey",
                    Some(section.row),
                    column_of(&section.columns, key),
                );
            };
            let Some((i, rest)) = parse_index(rest) else {
                return at("survey", Some(section.row), None);
            };
            let Some(mut origin) = section.fields.get(i) else {
                return at("survey", Some(section.row), None);
            };
            let mut rest = rest;
            if let Some(inner) = rest.strip_prefix(".fields")
                && let Some((k, tail)) = parse_index(inner)
                && let Some(child) = origin.children.get(k)
            {
                origin = child;
                rest = tail;
            }
            let key = rest.trim_start_matches('.');
            return at("survey", Some(origin.row), column_of(&origin.columns, key));
        }
        if let Some(rest) = path.strip_prefix("choices.") {
            let (list, index) = match rest.find('[') {
                Some(p) => (
                    rest.get(..p).unwrap_or(rest),
                    parse_index(rest.get(p..).unwrap_or_default()).map_or(0, |(i, _)| i),
                ),
                None => (rest, 0),
            };
            let row = self.choices.get(&(list.to_string(), index)).copied();
            return at("choices", row, None);
        }
        let key = path.split(['.', '[']).next().unwrap_or_default();
        at(
            "settings",
            self.settings_row,
            self.settings_columns.get(key).cloned(),
        )
    }
}

/// The column of a key (`constraints[1].expr` → the column of `constraints[1]`, else of `constraints`).
fn column_of(columns: &BTreeMap<String, String>, key: &str) -> Option<String> {
    let first = key.split('.').next().unwrap_or_default();
    columns.get(first).cloned().or_else(|| {
        let bare = first.split('[').next().unwrap_or_default();
        columns.get(bare).cloned()
    })
}

/// What a `type` cell says.
#[derive(Debug, Clone, PartialEq)]
enum RowKind {
    BeginGroup,
    EndGroup,
    BeginRepeat,
    EndRepeat,
    Question(FieldType, Option<String>),
}

const METADATA: &[&str] = &[
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "phonenumber",
    "simserial",
    "subscriberid",
    "email",
    "audit",
    "start-geopoint",
];

fn parse_type(cell: &str) -> Result<RowKind, String> {
    let lower = cell.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let kind = |k| Ok(RowKind::Question(k, None));
    match words.as_slice() {
        ["begin", "group"] | ["begin_group"] => Ok(RowKind::BeginGroup),
        ["end", "group"] | ["end_group"] => Ok(RowKind::EndGroup),
        ["begin", "repeat"] | ["begin_repeat"] => Ok(RowKind::BeginRepeat),
        ["end", "repeat"] | ["end_repeat"] => Ok(RowKind::EndRepeat),
        ["text" | "string"] => kind(FieldType::Text),
        ["integer" | "int"] => kind(FieldType::Integer),
        ["decimal"] => kind(FieldType::Decimal),
        ["date"] => kind(FieldType::Date),
        ["geopoint"] => kind(FieldType::Geopoint),
        ["image" | "photo"] => kind(FieldType::Photo),
        ["note"] => kind(FieldType::Note),
        ["calculate"] => kind(FieldType::Calculate),
        [select @ ("select_one" | "select_multiple"), _list] => {
            let list = cell.split_whitespace().nth(1).unwrap_or_default().to_string();
            let k = if *select == "select_one" {
                FieldType::SelectOne
            } else {
                FieldType::SelectMultiple
            };
            Ok(RowKind::Question(k, Some(list)))
        }
        ["select_one" | "select_multiple", _, "or_other"] => Err(
            "`or_other` is not supported: add an \"other\" choice and a text question relevant when it is chosen"
                .to_string(),
        ),
        ["select_one" | "select_multiple"] => Err(format!("`{cell}` needs a choice list name")),
        [t, ..] if t.ends_with("_from_file") => Err(format!(
            "`{t}` is not supported: put the choices on the choices sheet"
        )),
        [t] if METADATA.contains(t) => Err(format!(
            "metadata `{t}` is not a question: Tepat records the device, the enumerator and the visit's times itself"
        )),
        _ => Err(format!(
            "question type `{}` is not supported (Tepat has text, integer, decimal, date, select_one, \
             select_multiple, geopoint, image, note, calculate, groups and repeats; NIK, No. KK and regions \
             through `tepat:type`)",
            cell.trim()
        )),
    }
}

/// `yes` / `true` / `true()` → `Some(true)`, `no` / `false` / `false()` → `Some(false)`, anything else `None`.
fn yes_no(cell: &str) -> Option<bool> {
    match cell.trim().to_lowercase().as_str() {
        "yes" | "true" | "true()" | "1" | "ya" => Some(true),
        "no" | "false" | "false()" | "0" | "tidak" => Some(false),
        _ => None,
    }
}

/// A field with an id, a type and a label only, made through the form JSON (so it stays right when the format
/// gains keys).
fn plain_field(id: &str, kind: FieldType, label: &Text) -> Option<Field> {
    serde_json::from_value(json!({"id": id, "type": kind, "label": text_value(label)})).ok()
}

fn text_value(t: &Text) -> Value {
    json!({"id": t.id, "en": t.en})
}

/// The sheet being read, with its columns, collecting problems and warnings.
struct Reader<'a> {
    cols: Columns,
    sheet: &'a Sheet,
    problems: &'a mut Vec<Problem>,
    warnings: &'a mut Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, place: Place, message: impl Into<String>) {
        self.problems.push(Problem {
            place,
            message: message.into(),
        });
    }

    /// The column's display name for origins.
    fn column(&self, row: &Row, base: &str) -> String {
        self.cols.place(row, base).column.unwrap_or_default()
    }

    /// An expression cell translated to Tepat's language; a problem at the cell when it cannot be.
    fn expression(&mut self, row: &Row, base: &str, context: Context) -> Option<String> {
        let src = self.cols.raw(row, base)?.to_string();
        match expr::to_tepat(&src, context) {
            Ok(e) => Some(e),
            Err(message) => {
                let place = self.cols.place(row, base);
                self.problem(place, format!("{message} in `{src}`"));
                None
            }
        }
    }

    fn number(&mut self, row: &Row, base: &str) -> Option<u32> {
        let cell = self.cols.get(row, base)?;
        match cell.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let place = self.cols.place(row, base);
                self.problem(place, format!("`{cell}` is not a whole number"));
                None
            }
        }
    }

    /// `tepat:json`: further keys of the form JSON, for what Tepat may add after this converter.
    fn extra_keys(&mut self, row: &Row, map: &mut Map<String, Value>) {
        let Some(cell) = self.cols.get(row, "tepat:json") else {
            return;
        };
        let place = self.cols.place(row, "tepat:json");
        match serde_json::from_str::<Value>(cell) {
            Ok(Value::Object(extra)) => {
                for (key, value) in extra {
                    if map.contains_key(&key) {
                        self.problem(
                            place.clone(),
                            format!("`{key}` is already given by its own column"),
                        );
                    } else {
                        map.insert(key, value);
                    }
                }
            }
            Ok(_) => self.problem(place, "must be a JSON object"),
            Err(e) => self.problem(place, format!("not valid JSON: {e}")),
        }
    }
}

/// The settings: form id, version, title, description, outcome, default language.
struct Settings {
    map: Map<String, Value>,
    default: Lang,
}

fn read_settings(
    sheet: Option<&Sheet>,
    fallback_id: &str,
    origins: &mut Origins,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Settings {
    let mut map = Map::new();
    let fallback_title = || Text::new(fallback_id, fallback_id);
    let Some(sheet) = sheet else {
        warnings.push(Problem {
            place: Place {
                sheet: "settings".into(),
                row: None,
                column: None,
            },
            message: format!(
                "no settings sheet: form id `{fallback_id}` (the file's name), version 1, titled as its id"
            ),
        });
        map.insert("id".into(), json!(fallback_id));
        map.insert("version".into(), json!(1));
        map.insert("title".into(), text_value(&fallback_title()));
        return Settings {
            map,
            default: Lang::Id,
        };
    };
    // The default language decides what a plain `form_title` is: read it first.
    let mut scratch = Vec::new();
    let probe = Columns::new(
        sheet,
        SETTINGS_SINGLES,
        SETTINGS_TEXTS,
        Lang::Id,
        &mut scratch,
    );
    let empty = Row::default();
    let row = sheet.rows.first().unwrap_or(&empty);
    let mut default = Lang::Id;
    if let Some(spec) = probe.get(row, "default_language") {
        match crate::columns::language(spec) {
            Some(lang) => default = lang,
            None => problems.push(Problem {
                place: probe.place(row, "default_language"),
                message: format!(
                    "default language `{spec}` is neither Bahasa Indonesia nor English (Tepat forms hold those two)"
                ),
            }),
        }
    }
    let cols = Columns::new(sheet, SETTINGS_SINGLES, SETTINGS_TEXTS, default, problems);
    let mut r = Reader {
        cols,
        sheet,
        problems,
        warnings,
    };
    origins.settings_row = Some(row.number).filter(|n| *n > 0);
    for (key, base) in [
        ("id", "form_id"),
        ("version", "version"),
        ("title", "form_title"),
        ("description", "tepat:description"),
        ("outcome", "tepat:outcome"),
    ] {
        origins
            .settings_columns
            .insert(key.to_string(), r.column(row, base));
    }
    for extra in r.sheet.rows.iter().skip(1) {
        let place = r.cols.row_place(extra);
        r.problem(
            place,
            "only the first row under the settings header is read; this one would be lost",
        );
    }
    r.cols.unknown_cells(row, "settings", r.problems);
    let id = match r.cols.get(row, "form_id") {
        Some(id) => id.to_string(),
        None => {
            let place = r.cols.place(row, "form_id");
            r.warnings.push(Problem {
                place,
                message: format!("no form_id: the file's name `{fallback_id}` is used"),
            });
            fallback_id.to_string()
        }
    };
    map.insert("id".into(), json!(id));
    let version = match r.cols.get(row, "version") {
        Some(_) => r.number(row, "version").unwrap_or(1),
        None => {
            let place = r.cols.place(row, "version");
            r.warnings.push(Problem {
                place,
                message: "no version: version 1".to_string(),
            });
            1
        }
    };
    map.insert("version".into(), json!(version));
    let title = match r.cols.text(row, "form_title", r.warnings) {
        Some(t) => t,
        None => {
            let place = r.cols.place(row, "form_title");
            r.warnings.push(Problem {
                place,
                message: format!("no form_title: the form is titled `{id}`"),
            });
            Text::new(id.clone(), id.clone())
        }
    };
    map.insert("title".into(), text_value(&title));
    if let Some(description) = r.cols.text(row, "tepat:description", r.warnings) {
        map.insert("description".into(), text_value(&description));
    }
    if let Some(outcome) = r.cols.get(row, "tepat:outcome") {
        map.insert("outcome".into(), json!(outcome));
    }
    r.extra_keys(row, &mut map);
    Settings { map, default }
}

fn read_choices(
    sheet: Option<&Sheet>,
    default: Lang,
    origins: &mut Origins,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> BTreeMap<String, Vec<Choice>> {
    let mut lists: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let Some(sheet) = sheet else {
        return lists;
    };
    let cols = Columns::new(sheet, CHOICE_SINGLES, CHOICE_TEXTS, default, problems);
    // XLSForm also calls the code column `value`.
    let name_base = if cols.has("name") { "name" } else { "value" };
    let cols = if name_base == "value" {
        Columns::new(
            sheet,
            &["list_name", "value"],
            CHOICE_TEXTS,
            default,
            &mut Vec::new(),
        )
    } else {
        cols
    };
    let mut r = Reader {
        cols,
        sheet,
        problems,
        warnings,
    };
    let attrs: Vec<(u32, String)> = r
        .cols
        .other
        .iter()
        .map(|&c| (c, r.cols.header(c).trim().to_string()))
        .collect();
    for row in &sheet.rows {
        let list = r.cols.get(row, "list_name").map(str::to_string);
        let value = r.cols.get(row, name_base).map(str::to_string);
        let label = r.cols.text(row, "label", r.warnings);
        let mut attr_values = BTreeMap::new();
        for (col, header) in &attrs {
            let Some(cell) = row.cells.get(col).filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            let (base, _) = crate::columns::parse_header(header);
            let place = Place {
                sheet: sheet.name.clone(),
                row: Some(row.number),
                column: Some(r.cols.column_name(*col)),
            };
            if base == "media" {
                r.problem(
                    place,
                    "images, audio and video in choices are not carried (Tepat shows text)",
                );
            } else if base.starts_with("tepat:") || header == "value" {
                r.problem(place, format!("`{header}` cannot be a choice attribute"));
            } else {
                attr_values.insert(header.clone(), cell.trim().to_string());
            }
        }
        let (list, value) = match (list, value) {
            (Some(list), Some(value)) => (list, value),
            (None, None) if label.is_none() && attr_values.is_empty() => continue,
            (None, _) => {
                let place = r.cols.place(row, "list_name");
                r.problem(place, "a choice without a list_name");
                continue;
            }
            (Some(_), None) => {
                let place = r.cols.place(row, name_base);
                r.problem(place, "a choice without a name (its code)");
                continue;
            }
        };
        let Some(label) = label else {
            let place = r.cols.place(row, "label");
            r.problem(
                place,
                format!("choice `{value}` of list `{list}` has no label"),
            );
            continue;
        };
        let entries = lists.entry(list.clone()).or_default();
        origins.choices.insert((list, entries.len()), row.number);
        entries.push(Choice {
            value,
            label,
            attrs: attr_values,
        });
    }
    lists
}

/// An open group or repeat while the survey is read.
enum Frame {
    /// A top-level group: the last section.
    Section { row: u32 },
    /// A group inside a section or repeat: flattened into it.
    Group { row: u32, relevant: Option<String> },
    Repeat {
        row: u32,
        field: Box<Field>,
        origin: Origin,
    },
}

struct Survey<'a> {
    r: Reader<'a>,
    limits: &'a Limits,
    title: Text,
    sections: Vec<(Section, SectionOrigin)>,
    /// Whether the last section takes questions outside any group (one the import made up).
    loose_open: bool,
    stack: Vec<Frame>,
}

impl Survey<'_> {
    /// The relevance of the groups open inside the innermost section or repeat, outermost first.
    fn group_chain(&self) -> Vec<String> {
        let mut chain = Vec::new();
        for frame in self.stack.iter().rev() {
            match frame {
                Frame::Group { relevant, .. } => {
                    if let Some(r) = relevant {
                        chain.push(r.clone());
                    }
                }
                Frame::Section { .. } | Frame::Repeat { .. } => break,
            }
        }
        chain.reverse();
        chain
    }

    /// Adds a finished field to the innermost repeat, else the current section (a made-up one outside groups).
    fn push_field(&mut self, field: Field, origin: Origin) {
        for frame in self.stack.iter_mut().rev() {
            if let Frame::Repeat {
                field: repeat,
                origin: repeat_origin,
                ..
            } = frame
            {
                repeat.fields.push(field);
                repeat_origin.children.push(origin);
                return;
            }
        }
        let in_section = self
            .stack
            .iter()
            .any(|f| matches!(f, Frame::Section { .. }));
        if !in_section && !self.loose_open {
            let n = self.sections.len() + 1;
            let section = Section {
                id: format!("section_{n}"),
                title: self.title.clone(),
                relevant: None,
                fields: Vec::new(),
            };
            self.r.warnings.push(Problem {
                place: Place {
                    sheet: self.r.sheet.name.clone(),
                    row: Some(origin.row),
                    column: None,
                },
                message: format!(
                    "questions outside any group: they make a section `section_{n}` titled as the form"
                ),
            });
            self.sections.push((
                section,
                SectionOrigin {
                    row: origin.row,
                    ..SectionOrigin::default()
                },
            ));
            self.loose_open = true;
        }
        if let Some((section, section_origin)) = self.sections.last_mut() {
            section.fields.push(field);
            section_origin.fields.push(origin);
        }
    }

    fn row(&mut self, row: &Row) -> Result<(), ImportError> {
        let Some(type_cell) = self.r.cols.get(row, "type").map(str::to_string) else {
            if !row.cells.is_empty() {
                let place = self.r.cols.place(row, "type");
                self.r
                    .problem(place, "a row without a type: its cells would be lost");
            }
            return Ok(());
        };
        let kind = match parse_type(&type_cell) {
            Ok(k) => k,
            Err(message) => {
                let place = self.r.cols.place(row, "type");
                self.r.problem(place, message);
                return Ok(());
            }
        };
        let name = self.r.cols.get(row, "name").unwrap_or_default().to_string();
        let what = if name.is_empty() {
            format!("`{type_cell}`")
        } else {
            format!("`{name}`")
        };
        self.r.cols.unknown_cells(row, &what, self.r.problems);
        let appearance = self.r.cols.get(row, "appearance").map(str::to_string);
        let is_group_start = matches!(kind, RowKind::BeginGroup | RowKind::BeginRepeat);
        if let Some(a) = appearance
            && !(is_group_start && a == "field-list")
        {
            let place = self.r.cols.place(row, "appearance");
            self.r.problem(
                place,
                format!(
                    "{what}: appearance `{a}` is not carried: Tepat's app lays out questions itself (only a \
                     group's `field-list`, which is what a Tepat section is, is taken)"
                ),
            );
        }
        if matches!(kind, RowKind::BeginGroup | RowKind::BeginRepeat)
            && self.stack.len() >= self.limits.max_nesting
        {
            return Err(ImportError::TooLarge {
                what: format!(
                    "survey row {}: groups and repeats open inside each other",
                    row.number
                ),
                limit: self.limits.max_nesting as u64,
            });
        }
        match kind {
            RowKind::BeginGroup => self.begin_group(row, &name),
            RowKind::BeginRepeat => self.begin_repeat(row, &name),
            RowKind::EndGroup => self.end(row, false),
            RowKind::EndRepeat => self.end(row, true),
            RowKind::Question(kind, list) => {
                if let Some((field, origin)) = self.question(row, &name, kind, list) {
                    self.push_field(field, origin);
                }
            }
        }
        Ok(())
    }

    /// Columns a group row cannot carry.
    fn only_on_questions(&mut self, row: &Row, what: &str, allowed: &[&str]) {
        for base in [
            "required",
            "constraint",
            "calculation",
            "choice_filter",
            "read_only",
            "repeat_count",
            "hint",
            "constraint_message",
            "required_message",
            "tepat:type",
            "tepat:missing_level",
            "tepat:missing_rule",
            "tepat:constraint_level",
            "tepat:constraint_rule",
            "tepat:prefill",
            "tepat:max_length",
            "tepat:input",
            "tepat:region_level",
            "tepat:region_within",
            "tepat:min_count",
            "tepat:max_count",
        ] {
            if allowed.contains(&base) {
                continue;
            }
            let present = self.r.cols.get(row, base).is_some()
                || self.r.cols.text(row, base, &mut Vec::new()).is_some();
            if present {
                let place = self.r.cols.place(row, base);
                self.r
                    .problem(place, format!("{what}: a group cannot have `{base}`"));
            }
        }
    }

    fn begin_group(&mut self, row: &Row, name: &str) {
        let relevant = self.r.expression(row, "relevant", Context::Plain);
        let top = !self
            .stack
            .iter()
            .any(|f| matches!(f, Frame::Section { .. } | Frame::Repeat { .. }));
        if top {
            self.only_on_questions(row, &format!("group `{name}`"), &[]);
            if name.is_empty() {
                let place = self.r.cols.place(row, "name");
                self.r.problem(place, "a group needs a name");
            }
            let title = match self.r.cols.text(row, "label", self.r.warnings) {
                Some(t) => t,
                None => {
                    let place = self.r.cols.place(row, "label");
                    self.r.warnings.push(Problem {
                        place,
                        message: format!(
                            "group `{name}` has no label: its section is titled `{name}`"
                        ),
                    });
                    Text::new(name, name)
                }
            };
            let mut map = Map::new();
            map.insert("id".into(), json!(name));
            map.insert("title".into(), text_value(&title));
            if let Some(r) = &relevant {
                map.insert("relevant".into(), json!(r));
            }
            map.insert("fields".into(), json!([]));
            self.r.extra_keys(row, &mut map);
            let mut columns = BTreeMap::new();
            for (key, base) in [("id", "name"), ("title", "label"), ("relevant", "relevant")] {
                columns.insert(key.to_string(), self.r.column(row, base));
            }
            match serde_json::from_value::<Section>(Value::Object(map)) {
                Ok(section) => {
                    self.sections.push((
                        section,
                        SectionOrigin {
                            row: row.number,
                            columns,
                            fields: Vec::new(),
                        },
                    ));
                }
                Err(e) => {
                    let place = self.r.cols.row_place(row);
                    self.r
                        .problem(place, format!("group `{name}` cannot be read: {e}"));
                    // Still a section, so its questions are read (and checked) in place.
                    self.sections.push((
                        Section {
                            id: name.to_string(),
                            title,
                            relevant: None,
                            fields: Vec::new(),
                        },
                        SectionOrigin {
                            row: row.number,
                            columns,
                            fields: Vec::new(),
                        },
                    ));
                }
            }
            self.loose_open = false;
            self.stack.push(Frame::Section { row: row.number });
            return;
        }
        // A group inside a section or repeat: its questions join the container; its label stays as a note.
        self.only_on_questions(row, &format!("group `{name}`"), &["hint"]);
        if let Some(extra) = self.r.cols.get(row, "tepat:json") {
            let place = self.r.cols.place(row, "tepat:json");
            self.r.problem(
                place,
                format!("a group inside a group has no keys of its own to carry (`{extra}`)"),
            );
        }
        let mut chain = self.group_chain();
        chain.extend(relevant.clone());
        if let Some(label) = self.r.cols.text(row, "label", self.r.warnings) {
            let hint = self.r.cols.text(row, "hint", self.r.warnings);
            let mut columns = BTreeMap::new();
            for (key, base) in [
                ("id", "name"),
                ("label", "label"),
                ("hint", "hint"),
                ("relevant", "relevant"),
            ] {
                columns.insert(key.to_string(), self.r.column(row, base));
            }
            if let Some(mut note) = plain_field(name, FieldType::Note, &label) {
                note.hint = hint;
                note.relevant = expr::and(&chain);
                self.r.warnings.push(Problem {
                    place: self.r.cols.row_place(row),
                    message: format!(
                        "group `{name}` inside a group: its questions join the enclosing one (with its \
                         relevance), its label is kept as a note"
                    ),
                });
                self.push_field(
                    note,
                    Origin {
                        row: row.number,
                        columns,
                        children: Vec::new(),
                    },
                );
            }
        } else if self.r.cols.text(row, "hint", &mut Vec::new()).is_some() {
            let place = self.r.cols.place(row, "hint");
            self.r.problem(
                place,
                format!(
                    "group `{name}` has a hint but no label: a hint is kept only with its label"
                ),
            );
        }
        self.stack.push(Frame::Group {
            row: row.number,
            relevant,
        });
    }

    fn begin_repeat(&mut self, row: &Row, name: &str) {
        if self.stack.iter().any(|f| matches!(f, Frame::Repeat { .. })) {
            let place = self.r.cols.row_place(row);
            self.r.problem(
                place,
                format!(
                    "repeat `{name}` inside a repeat: repeats inside repeats are not supported"
                ),
            );
        }
        let Some((field, origin)) = self.question(row, name, FieldType::Repeat, None) else {
            // Still open it, so its `end repeat` matches and its questions are checked.
            if let Some(field) = plain_field(name, FieldType::Repeat, &Text::new(name, name)) {
                self.stack.push(Frame::Repeat {
                    row: row.number,
                    field: Box::new(field),
                    origin: Origin {
                        row: row.number,
                        ..Origin::default()
                    },
                });
            }
            return;
        };
        self.stack.push(Frame::Repeat {
            row: row.number,
            field: Box::new(field),
            origin,
        });
    }

    fn end(&mut self, row: &Row, repeat: bool) {
        let word = if repeat { "end repeat" } else { "end group" };
        match self.stack.pop() {
            None => {
                let place = self.r.cols.place(row, "type");
                self.r.problem(place, format!("`{word}` without a begin"));
            }
            Some(Frame::Repeat {
                field,
                origin,
                row: begun,
            }) => {
                if !repeat {
                    let place = self.r.cols.place(row, "type");
                    self.r.problem(
                        place,
                        format!("`end group` closes the repeat begun at row {begun}"),
                    );
                }
                self.push_field(*field, origin);
            }
            Some(Frame::Section { row: begun } | Frame::Group { row: begun, .. }) => {
                if repeat {
                    let place = self.r.cols.place(row, "type");
                    self.r.problem(
                        place,
                        format!("`end repeat` closes the group begun at row {begun}"),
                    );
                }
            }
        }
    }

    /// A question row (or a repeat's `begin repeat` row) as a field, read by the form engine's own types.
    fn question(
        &mut self,
        row: &Row,
        name: &str,
        kind: FieldType,
        list: Option<String>,
    ) -> Option<(Field, Origin)> {
        let mut map = Map::new();
        let mut columns = BTreeMap::new();
        if name.is_empty() {
            let place = self.r.cols.place(row, "name");
            self.r.problem(place, "a question needs a name");
            return None;
        }
        map.insert("id".into(), json!(name));
        columns.insert("id".into(), self.r.column(row, "name"));
        let kind = match self.r.cols.get(row, "tepat:type") {
            Some(t) => match serde_json::from_value::<FieldType>(json!(t)) {
                Ok(k) => k,
                Err(_) => {
                    let place = self.r.cols.place(row, "tepat:type");
                    self.r
                        .problem(place, format!("`{t}` is not a Tepat field type"));
                    return None;
                }
            },
            None => kind,
        };
        map.insert("type".into(), json!(kind));
        columns.insert("type".into(), self.r.column(row, "type"));
        match self.r.cols.text(row, "label", self.r.warnings) {
            Some(label) => {
                map.insert("label".into(), text_value(&label));
            }
            None if kind == FieldType::Calculate => {
                map.insert("label".into(), text_value(&Text::new(name, name)));
            }
            None => {
                let place = self.r.cols.place(row, "label");
                self.r.problem(place, format!("`{name}` has no label"));
            }
        }
        columns.insert("label".into(), self.r.column(row, "label"));
        if let Some(hint) = self.r.cols.text(row, "hint", self.r.warnings) {
            map.insert("hint".into(), text_value(&hint));
        }
        columns.insert("hint".into(), self.r.column(row, "hint"));
        if let Some(cell) = self.r.cols.get(row, "required") {
            match yes_no(cell) {
                Some(true) => {
                    map.insert("required".into(), json!(true));
                }
                Some(false) => {}
                None => {
                    if let Some(e) = self.r.expression(row, "required", Context::Plain) {
                        map.insert("required".into(), json!(e));
                    }
                }
            }
        }
        columns.insert("required".into(), self.r.column(row, "required"));
        let message = self.r.cols.text(row, "required_message", self.r.warnings);
        let level = self.r.cols.get(row, "tepat:missing_level");
        let rule = self.r.cols.get(row, "tepat:missing_rule");
        if message.is_some() || level.is_some() || rule.is_some() {
            let mut missing = Map::new();
            if let Some(level) = level {
                missing.insert("level".into(), json!(level));
            }
            if let Some(rule) = rule {
                missing.insert("rule".into(), json!(rule));
            }
            if let Some(message) = &message {
                missing.insert("message".into(), text_value(message));
            }
            map.insert("missing".into(), Value::Object(missing));
        }
        columns.insert("missing".into(), self.r.column(row, "required_message"));
        let own = self.r.expression(row, "relevant", Context::Plain);
        let mut chain = self.group_chain();
        let joined = !chain.is_empty();
        chain.extend(own);
        if let Some(relevant) = expr::and(&chain) {
            map.insert("relevant".into(), json!(relevant));
        }
        let relevant_column = self.r.column(row, "relevant");
        columns.insert(
            "relevant".into(),
            if joined {
                format!("{relevant_column}, joined with the enclosing groups' relevance")
            } else {
                relevant_column
            },
        );
        let constraints = self.constraints(row, name, &mut columns);
        if !constraints.is_empty() {
            map.insert("constraints".into(), Value::Array(constraints));
        }
        if let Some(calculation) = self.r.expression(row, "calculation", Context::Plain) {
            if kind == FieldType::Calculate {
                map.insert("calculate".into(), json!(calculation));
            } else {
                let place = self.r.cols.place(row, "calculation");
                self.r.problem(
                    place,
                    format!(
                        "`{name}`: a calculation on a question (a dynamic default) is not supported: use a \
                         calculate field"
                    ),
                );
            }
        }
        columns.insert("calculate".into(), self.r.column(row, "calculation"));
        if let Some(list) = list {
            map.insert("choices".into(), json!(list));
        }
        columns.insert("choices".into(), self.r.column(row, "type"));
        if let Some(filter) = self
            .r
            .expression(row, "choice_filter", Context::ChoiceFilter)
        {
            map.insert("choice_filter".into(), json!(filter));
        }
        columns.insert("choice_filter".into(), self.r.column(row, "choice_filter"));
        if let Some(cell) = self.r.cols.get(row, "read_only") {
            match yes_no(cell) {
                Some(true) => {
                    map.insert("read_only".into(), json!(true));
                }
                Some(false) => {}
                None => {
                    let place = self.r.cols.place(row, "read_only");
                    self.r.problem(
                        place,
                        format!("`{cell}`: read_only is yes or no in Tepat, not a condition"),
                    );
                }
            }
        }
        columns.insert("read_only".into(), self.r.column(row, "read_only"));
        for (key, base) in [
            ("prefill", "tepat:prefill"),
            ("input", "tepat:input"),
            ("region_level", "tepat:region_level"),
        ] {
            if let Some(cell) = self.r.cols.get(row, base) {
                map.insert(key.into(), json!(cell));
            }
            columns.insert(key.into(), self.r.column(row, base));
        }
        if let Some(within) = self
            .r
            .expression(row, "tepat:region_within", Context::Plain)
        {
            map.insert("region_within".into(), json!(within));
        }
        columns.insert(
            "region_within".into(),
            self.r.column(row, "tepat:region_within"),
        );
        for (key, base) in [
            ("max_length", "tepat:max_length"),
            ("min_count", "tepat:min_count"),
            ("max_count", "tepat:max_count"),
        ] {
            if let Some(n) = self.r.number(row, base) {
                map.insert(key.into(), json!(n));
            }
            columns.insert(key.into(), self.r.column(row, base));
        }
        if let Some(count) = self.r.cols.get(row, "repeat_count") {
            let place = self.r.cols.place(row, "repeat_count");
            match (kind, count.parse::<u32>()) {
                (FieldType::Repeat, Ok(n)) => {
                    for key in ["min_count", "max_count"] {
                        if map.contains_key(key) {
                            self.r.problem(
                                place.clone(),
                                format!("repeat_count and tepat:{key} both given"),
                            );
                        } else {
                            map.insert(key.into(), json!(n));
                        }
                    }
                    columns.insert("min_count".into(), self.r.column(row, "repeat_count"));
                    columns.insert("max_count".into(), self.r.column(row, "repeat_count"));
                }
                (FieldType::Repeat, Err(_)) => self.r.problem(
                    place,
                    format!(
                        "repeat_count `{count}`: only a whole number is carried (as the repeat's min and max \
                         count); the members are added one by one on the phone"
                    ),
                ),
                _ => self.r.problem(place, "repeat_count is only for repeats"),
            }
        }
        self.r.extra_keys(row, &mut map);
        columns.insert("tepat:json".into(), self.r.column(row, "tepat:json"));
        match serde_json::from_value::<Field>(Value::Object(map)) {
            Ok(field) => Some((
                field,
                Origin {
                    row: row.number,
                    columns,
                    children: Vec::new(),
                },
            )),
            Err(e) => {
                let place = self.r.cols.row_place(row);
                self.r
                    .problem(place, format!("`{name}` cannot be read: {e}"));
                None
            }
        }
    }

    /// The row's constraints: XLSForm's `constraint` first, then `tepat:constraint_2` … in order.
    fn constraints(
        &mut self,
        row: &Row,
        name: &str,
        columns: &mut BTreeMap<String, String>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let mut sets = vec![(
            "constraint".to_string(),
            "constraint_message".to_string(),
            "tepat:constraint_level".to_string(),
            "tepat:constraint_rule".to_string(),
        )];
        for n in self.r.cols.numbered_constraints() {
            sets.push((
                format!("tepat:constraint_{n}"),
                format!("tepat:constraint_{n}_message"),
                format!("tepat:constraint_{n}_level"),
                format!("tepat:constraint_{n}_rule"),
            ));
        }
        for (expr_base, message_base, level_base, rule_base) in sets {
            let expr = self.r.expression(row, &expr_base, Context::Plain);
            let message = self.r.cols.text(row, &message_base, self.r.warnings);
            let level = self.r.cols.get(row, &level_base);
            let rule = self.r.cols.get(row, &rule_base);
            let Some(expr) = expr else {
                if self.r.cols.raw(row, &expr_base).is_none()
                    && (message.is_some() || level.is_some() || rule.is_some())
                {
                    let place = self.r.cols.place(row, &expr_base);
                    self.r.problem(
                        place,
                        format!(
                            "`{name}`: a constraint message, level or rule without its constraint"
                        ),
                    );
                }
                continue;
            };
            let message = message.unwrap_or_else(|| {
                self.r.warnings.push(Problem {
                    place: self.r.cols.place(row, &message_base),
                    message: format!(
                        "`{name}`: a constraint without a message: \"{}\" / \"{}\"",
                        default_constraint_message().id,
                        default_constraint_message().en
                    ),
                });
                default_constraint_message()
            });
            let mut c = Map::new();
            c.insert("expr".into(), json!(expr));
            c.insert("message".into(), text_value(&message));
            if let Some(level) = level {
                c.insert("level".into(), json!(level));
            }
            if let Some(rule) = rule {
                c.insert("rule".into(), json!(rule));
            }
            columns.insert(
                format!("constraints[{}]", out.len()),
                self.r.column(row, &expr_base),
            );
            out.push(Value::Object(c));
        }
        out
    }
}

/// The workbook's sheets → a form that passed the form engine's load-time checks, or every problem.
pub(crate) fn build(
    book: &Workbook,
    fallback_id: &str,
    limits: &Limits,
) -> Result<Imported, ImportError> {
    let mut problems = book.problems.clone();
    let mut warnings = Vec::new();
    let mut origins = Origins::default();
    let settings = read_settings(
        book.settings.as_ref(),
        fallback_id,
        &mut origins,
        &mut problems,
        &mut warnings,
    );
    let choices = read_choices(
        book.choices.as_ref(),
        settings.default,
        &mut origins,
        &mut problems,
        &mut warnings,
    );
    let Some(sheet) = &book.survey else {
        problems.push(Problem {
            place: Place {
                sheet: "survey".into(),
                row: None,
                column: None,
            },
            message: "the workbook has no survey sheet".into(),
        });
        return Err(ImportError::Problems(problems));
    };
    let title = settings
        .map
        .get("title")
        .and_then(|t| serde_json::from_value::<Text>(t.clone()).ok())
        .unwrap_or_else(|| Text::new(fallback_id, fallback_id));
    let cols = Columns::new(
        sheet,
        SURVEY_SINGLES,
        SURVEY_TEXTS,
        settings.default,
        &mut problems,
    );
    if !cols.has("type") || !cols.has("name") {
        problems.push(Problem {
            place: Place {
                sheet: sheet.name.clone(),
                row: Some(1),
                column: None,
            },
            message: "the survey sheet needs `type` and `name` columns in its first row".into(),
        });
        return Err(ImportError::Problems(problems));
    }
    let mut survey = Survey {
        r: Reader {
            cols,
            sheet,
            problems: &mut problems,
            warnings: &mut warnings,
        },
        limits,
        title,
        sections: Vec::new(),
        loose_open: false,
        stack: Vec::new(),
    };
    for row in &sheet.rows {
        survey.row(row)?;
    }
    while let Some(frame) = survey.stack.pop() {
        let (begun, word) = match &frame {
            Frame::Section { row } | Frame::Group { row, .. } => (*row, "group"),
            Frame::Repeat { row, .. } => (*row, "repeat"),
        };
        survey.r.problem(
            Place {
                sheet: sheet.name.clone(),
                row: Some(begun),
                column: None,
            },
            format!("the {word} begun here is never closed (`end {word}`)"),
        );
        if let Frame::Repeat { field, origin, .. } = frame {
            survey.push_field(*field, origin);
        }
    }
    let (sections, section_origins): (Vec<_>, Vec<_>) = survey.sections.into_iter().unzip();
    origins.sections = section_origins;
    let mut map = settings.map;
    map.insert("choices".into(), json!({}));
    map.insert("sections".into(), json!([]));
    let mut form = match serde_json::from_value::<Form>(Value::Object(map)) {
        Ok(form) => form,
        Err(e) => {
            problems.push(Problem {
                place: Place {
                    sheet: "settings".into(),
                    row: origins.settings_row,
                    column: None,
                },
                message: format!("the settings cannot be read: {e}"),
            });
            return Err(ImportError::Problems(problems));
        }
    };
    form.choices = choices;
    form.sections = sections;
    if !problems.is_empty() {
        return Err(ImportError::Problems(problems));
    }
    match tepat_form::compile(form.clone()) {
        Ok(_) => Ok(Imported { form, warnings }),
        Err(errors) => Err(ImportError::Problems(
            errors
                .0
                .into_iter()
                .map(|e| Problem {
                    place: origins.place(&e.path),
                    message: e.message,
                })
                .collect(),
        )),
    }
}
