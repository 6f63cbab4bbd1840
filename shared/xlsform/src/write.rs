//! A Tepat form → an XLSForm workbook. Every section is a `begin group` … `end group`, every repeat a
//! `begin repeat` … `end repeat`; what XLSForm has a column for goes there (`relevant`, the first `constraint`,
//! `calculation`, `choice_filter`, `required`, `read_only`, labels and hints in both languages), the rest to
//! `tepat:` columns, and keys this converter does not know yet (added to the form format later) to `tepat:json`,
//! so that importing the file gives the same form.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use tepat_form::{Field, FieldType, Form, Requirement, Text};

use crate::ExportError;
use crate::columns::parse_header;
use crate::expr::{self, Context};

const ID: &str = "Bahasa Indonesia (id)";
const EN: &str = "English (en)";

/// The keys of a field that have their own columns; any other key goes to `tepat:json`.
const FIELD_KEYS: &[&str] = &[
    "id",
    "type",
    "label",
    "hint",
    "required",
    "missing",
    "relevant",
    "constraints",
    "calculate",
    "choices",
    "choice_filter",
    "region_level",
    "region_within",
    "prefill",
    "read_only",
    "fields",
    "min_count",
    "max_count",
    "max_length",
    "input",
];
const SECTION_KEYS: &[&str] = &["id", "title", "relevant", "fields"];
const FORM_KEYS: &[&str] = &[
    "id",
    "version",
    "title",
    "description",
    "outcome",
    "choices",
    "sections",
];

fn unrepresentable(path: &str, message: impl Into<String>) -> ExportError {
    ExportError::Unrepresentable {
        path: path.to_string(),
        message: message.into(),
    }
}

/// One sheet's rows: column header → cell.
#[derive(Default)]
struct Rows(Vec<BTreeMap<String, String>>);

fn lang(base: &str, lang: &str) -> String {
    format!("{base}::{lang}")
}

/// A serde value as the text of a cell (`"village"` → `village`, `12` → `12`).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn put_text(
    row: &mut BTreeMap<String, String>,
    base: &str,
    text: &Text,
    path: &str,
) -> Result<(), ExportError> {
    for (value, language) in [(&text.id, ID), (&text.en, EN)] {
        if value.trim().is_empty() {
            return Err(unrepresentable(
                path,
                format!("an empty {language} text reads back as a missing one"),
            ));
        }
        row.insert(lang(base, language), value.clone());
    }
    Ok(())
}

/// The keys of `value` (a serialised struct) not in `known`, as `tepat:json`.
fn extra_json(
    value: &Value,
    known: &[&str],
    row: &mut BTreeMap<String, String>,
) -> Result<(), ExportError> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    let extra: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !extra.is_empty() {
        row.insert(
            "tepat:json".into(),
            serde_json::to_string(&Value::Object(extra))
                .map_err(|e| unrepresentable("", e.to_string()))?,
        );
    }
    Ok(())
}

fn serde_text<T: serde::Serialize>(value: &T, path: &str) -> Result<String, ExportError> {
    serde_json::to_value(value)
        .map(|v| plain(&v))
        .map_err(|e| unrepresentable(path, e.to_string()))
}

fn type_cell(field: &Field) -> (String, Option<&'static str>) {
    let list = field.choices.as_deref().unwrap_or_default();
    match field.kind {
        FieldType::Text => ("text".into(), None),
        FieldType::Integer => ("integer".into(), None),
        FieldType::Decimal => ("decimal".into(), None),
        FieldType::Date => ("date".into(), None),
        FieldType::SelectOne => (format!("select_one {list}").trim().to_string(), None),
        FieldType::SelectMultiple => (format!("select_multiple {list}").trim().to_string(), None),
        FieldType::Geopoint => ("geopoint".into(), None),
        FieldType::Photo => ("image".into(), None),
        FieldType::Note => ("note".into(), None),
        FieldType::Calculate => ("calculate".into(), None),
        FieldType::Repeat => ("begin repeat".into(), None),
        // Tepat's own types are text to other XLSForm tools.
        FieldType::Nik => ("text".into(), Some("nik")),
        FieldType::Kk => ("text".into(), Some("kk")),
        FieldType::Region => ("text".into(), Some("region")),
    }
}

fn field_rows(field: &Field, path: &str, rows: &mut Rows) -> Result<(), ExportError> {
    let mut row = BTreeMap::new();
    let (kind, tepat_type) = type_cell(field);
    row.insert("type".into(), kind);
    if let Some(t) = tepat_type {
        row.insert("tepat:type".into(), t.into());
    }
    row.insert("name".into(), field.id.clone());
    put_text(&mut row, "label", &field.label, &format!("{path}.label"))?;
    if let Some(hint) = &field.hint {
        put_text(&mut row, "hint", hint, &format!("{path}.hint"))?;
    }
    match &field.required {
        Requirement::Always(false) => {}
        Requirement::Always(true) => {
            row.insert("required".into(), "yes".into());
        }
        Requirement::When(e) => {
            if matches!(
                e.trim().to_lowercase().as_str(),
                "yes" | "true" | "true()" | "1" | "ya" | "no" | "false" | "false()" | "0" | "tidak"
            ) {
                return Err(unrepresentable(
                    &format!("{path}.required"),
                    format!("the condition `{e}` reads back as a constant: write true or false"),
                ));
            }
            row.insert("required".into(), e.clone());
        }
    }
    if let Some(missing) = &field.missing {
        row.insert(
            "tepat:missing_level".into(),
            serde_text(&missing.level, path)?,
        );
        if let Some(rule) = &missing.rule {
            row.insert("tepat:missing_rule".into(), rule.clone());
        }
        if let Some(message) = &missing.message {
            put_text(
                &mut row,
                "required_message",
                message,
                &format!("{path}.missing.message"),
            )?;
        }
    }
    if let Some(relevant) = &field.relevant {
        row.insert("relevant".into(), relevant.clone());
    }
    for (k, c) in field.constraints.iter().enumerate() {
        let cpath = format!("{path}.constraints[{k}]");
        let (e, m, l, r) = if k == 0 {
            (
                "constraint".to_string(),
                "constraint_message".to_string(),
                "tepat:constraint_level".to_string(),
                "tepat:constraint_rule".to_string(),
            )
        } else {
            let n = k + 1;
            (
                format!("tepat:constraint_{n}"),
                format!("tepat:constraint_{n}_message"),
                format!("tepat:constraint_{n}_level"),
                format!("tepat:constraint_{n}_rule"),
            )
        };
        if c.expr.trim().is_empty() {
            return Err(unrepresentable(&cpath, "an empty constraint"));
        }
        row.insert(e, c.expr.clone());
        put_text(&mut row, &m, &c.message, &format!("{cpath}.message"))?;
        row.insert(l, serde_text(&c.level, &cpath)?);
        if let Some(rule) = &c.rule {
            row.insert(r, rule.clone());
        }
    }
    if let Some(calculate) = &field.calculate {
        row.insert("calculation".into(), calculate.clone());
    }
    if let Some(filter) = &field.choice_filter {
        let xls = expr::to_xlsform(filter, Context::ChoiceFilter)
            .map_err(|e| unrepresentable(&format!("{path}.choice_filter"), e))?;
        row.insert("choice_filter".into(), xls);
    }
    if field.read_only {
        row.insert("read_only".into(), "yes".into());
    }
    if let Some(level) = &field.region_level {
        row.insert("tepat:region_level".into(), serde_text(level, path)?);
    }
    if let Some(within) = &field.region_within {
        row.insert("tepat:region_within".into(), within.clone());
    }
    if let Some(prefill) = &field.prefill {
        row.insert("tepat:prefill".into(), prefill.clone());
    }
    if let Some(input) = &field.input {
        row.insert("tepat:input".into(), serde_text(input, path)?);
    }
    for (key, value) in [
        ("tepat:max_length", field.max_length),
        ("tepat:min_count", field.min_count),
        ("tepat:max_count", field.max_count),
    ] {
        if let Some(n) = value {
            row.insert(key.into(), n.to_string());
        }
    }
    let json = serde_json::to_value(field).map_err(|e| unrepresentable(path, e.to_string()))?;
    extra_json(&json, FIELD_KEYS, &mut row)?;
    rows.0.push(row);
    if field.kind == FieldType::Repeat {
        for (k, child) in field.fields.iter().enumerate() {
            field_rows(child, &format!("{path}.fields[{k}]"), rows)?;
        }
        rows.0.push(BTreeMap::from([
            ("type".to_string(), "end repeat".to_string()),
            ("name".to_string(), field.id.clone()),
        ]));
    } else if !field.fields.is_empty() {
        return Err(unrepresentable(
            &format!("{path}.fields"),
            "only a repeat has fields of its own",
        ));
    }
    Ok(())
}

fn survey(form: &Form) -> Result<Rows, ExportError> {
    let mut rows = Rows::default();
    for (s, section) in form.sections.iter().enumerate() {
        let path = format!("sections[{s}]");
        let mut row = BTreeMap::new();
        row.insert("type".to_string(), "begin group".to_string());
        row.insert("name".to_string(), section.id.clone());
        put_text(&mut row, "label", &section.title, &format!("{path}.title"))?;
        if let Some(relevant) = &section.relevant {
            row.insert("relevant".into(), relevant.clone());
        }
        let json =
            serde_json::to_value(section).map_err(|e| unrepresentable(&path, e.to_string()))?;
        extra_json(&json, SECTION_KEYS, &mut row)?;
        rows.0.push(row);
        for (i, field) in section.fields.iter().enumerate() {
            field_rows(field, &format!("{path}.fields[{i}]"), &mut rows)?;
        }
        rows.0.push(BTreeMap::from([
            ("type".to_string(), "end group".to_string()),
            ("name".to_string(), section.id.clone()),
        ]));
    }
    Ok(rows)
}

/// Survey columns in the order an author reads them; only those some row uses are written.
fn survey_columns(rows: &Rows) -> Vec<String> {
    let used: BTreeSet<&String> = rows.0.iter().flat_map(|r| r.keys()).collect();
    let most_constraints = used
        .iter()
        .filter_map(|h| {
            h.strip_prefix("tepat:constraint_")
                .and_then(|rest| rest.split('_').next())
                .and_then(|n| n.parse::<usize>().ok())
        })
        .max()
        .unwrap_or(1);
    let mut order: Vec<String> = Vec::new();
    let mut push = |h: String| order.push(h);
    push("type".into());
    push("name".into());
    for base in ["label", "hint"] {
        push(lang(base, ID));
        push(lang(base, EN));
    }
    push("required".into());
    push(lang("required_message", ID));
    push(lang("required_message", EN));
    push("tepat:missing_level".into());
    push("tepat:missing_rule".into());
    push("relevant".into());
    push("constraint".into());
    push(lang("constraint_message", ID));
    push(lang("constraint_message", EN));
    push("tepat:constraint_level".into());
    push("tepat:constraint_rule".into());
    for n in 2..=most_constraints {
        push(format!("tepat:constraint_{n}"));
        push(lang(&format!("tepat:constraint_{n}_message"), ID));
        push(lang(&format!("tepat:constraint_{n}_message"), EN));
        push(format!("tepat:constraint_{n}_level"));
        push(format!("tepat:constraint_{n}_rule"));
    }
    for h in [
        "calculation",
        "choice_filter",
        "read_only",
        "tepat:type",
        "tepat:prefill",
        "tepat:max_length",
        "tepat:input",
        "tepat:region_level",
        "tepat:region_within",
        "tepat:min_count",
        "tepat:max_count",
        "tepat:json",
    ] {
        push(h.into());
    }
    order
        .into_iter()
        .filter(|h| used.contains(h) || h == "type" || h == "name")
        .collect()
}

/// Choice attribute names that would read back as another column.
fn attribute_problem(name: &str) -> Option<&'static str> {
    let (base, _) = parse_header(name);
    if name != name.trim() || name.is_empty() {
        return Some("has spaces around it");
    }
    match base.as_str() {
        "list_name" | "name" | "value" | "label" | "media" => {
            Some("is a column XLSForm uses for something else")
        }
        b if b.starts_with("tepat:") => Some("starts with `tepat:`"),
        _ => None,
    }
}

fn choices(form: &Form) -> Result<(Vec<String>, Rows), ExportError> {
    let attrs: BTreeSet<&String> = form
        .choices
        .values()
        .flatten()
        .flat_map(|c| c.attrs.keys())
        .collect();
    let mut rows = Rows::default();
    for (list, entries) in &form.choices {
        for (i, choice) in entries.iter().enumerate() {
            let path = format!("choices.{list}[{i}]");
            let mut row = BTreeMap::new();
            row.insert("list_name".to_string(), list.clone());
            row.insert("name".to_string(), choice.value.clone());
            put_text(&mut row, "label", &choice.label, &format!("{path}.label"))?;
            for (name, value) in &choice.attrs {
                if let Some(why) = attribute_problem(name) {
                    return Err(unrepresentable(
                        &format!("{path}.attrs.{name}"),
                        format!("attribute `{name}` {why}"),
                    ));
                }
                if value.trim().is_empty() {
                    return Err(unrepresentable(
                        &format!("{path}.attrs.{name}"),
                        "an empty attribute reads back as none",
                    ));
                }
                row.insert(name.clone(), value.clone());
            }
            let json =
                serde_json::to_value(choice).map_err(|e| unrepresentable(&path, e.to_string()))?;
            let mut extra = BTreeMap::new();
            extra_json(&json, &["value", "label", "attrs"], &mut extra)?;
            if !extra.is_empty() {
                return Err(unrepresentable(
                    &path,
                    "a choice key this converter does not know",
                ));
            }
            rows.0.push(row);
        }
    }
    let mut header = vec![
        "list_name".to_string(),
        "name".to_string(),
        lang("label", ID),
        lang("label", EN),
    ];
    header.extend(attrs.into_iter().cloned());
    Ok((header, rows))
}

fn settings(form: &Form) -> Result<(Vec<String>, BTreeMap<String, String>), ExportError> {
    let mut row = BTreeMap::new();
    row.insert("form_id".to_string(), form.id.clone());
    row.insert("version".to_string(), form.version.to_string());
    if form.title.id.trim().is_empty() || form.title.en.trim().is_empty() {
        return Err(unrepresentable(
            "title",
            "an empty title reads back as none",
        ));
    }
    row.insert("form_title".to_string(), form.title.id.clone());
    row.insert(lang("form_title", EN), form.title.en.clone());
    row.insert("default_language".to_string(), ID.to_string());
    if let Some(description) = &form.description {
        put_text(&mut row, "tepat:description", description, "description")?;
    }
    if let Some(outcome) = &form.outcome {
        row.insert("tepat:outcome".to_string(), outcome.clone());
    }
    let json = serde_json::to_value(form).map_err(|e| unrepresentable("", e.to_string()))?;
    extra_json(&json, FORM_KEYS, &mut row)?;
    let header = [
        "form_id".to_string(),
        "version".to_string(),
        "form_title".to_string(),
        lang("form_title", EN),
        "default_language".to_string(),
        lang("tepat:description", ID),
        lang("tepat:description", EN),
        "tepat:outcome".to_string(),
        "tepat:json".to_string(),
    ]
    .into_iter()
    .filter(|h| row.contains_key(h))
    .collect();
    Ok((header, row))
}

fn write_sheet(
    workbook: &mut rust_xlsxwriter::Workbook,
    name: &str,
    header: &[String],
    rows: &[BTreeMap<String, String>],
) -> Result<(), ExportError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| unrepresentable(name, "too many columns"))?;
        sheet.write_string_with_format(0, col, h, &bold)?;
        sheet.set_column_width(col, 18)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| unrepresentable(name, "too many rows"))?;
        for (c, h) in header.iter().enumerate() {
            if let Some(value) = row.get(h) {
                let col =
                    u16::try_from(c).map_err(|_| unrepresentable(name, "too many columns"))?;
                // Text always: a code such as "01" keeps its zero.
                sheet.write_string(r, col, value)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

pub(crate) fn workbook(form: &Form) -> Result<Vec<u8>, ExportError> {
    let survey_rows = survey(form)?;
    let survey_header = survey_columns(&survey_rows);
    let (choice_header, choice_rows) = choices(form)?;
    let (settings_header, settings_row) = settings(form)?;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    write_sheet(&mut workbook, "survey", &survey_header, &survey_rows.0)?;
    write_sheet(&mut workbook, "choices", &choice_header, &choice_rows.0)?;
    write_sheet(&mut workbook, "settings", &settings_header, &[settings_row])?;
    Ok(workbook.save_to_buffer()?)
}
