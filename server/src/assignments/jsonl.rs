//! The JSON lines format: one household per line, its members inside (`schemas/assignment.schema.json`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};

use crate::db::sql::Transaction;
use serde::Deserialize;
use tepat_protocol::bounds::BodyLimits;

use super::{Fixed, Forms, Part, Problems, Row, Users, check_member, check_row, keep_unique};
use crate::db::DbError;

/// The longest line taken (a household of 30 members with a full profile is about 30 KiB).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A prefill value as a DTSEN extract has it: text or a number; `null` is left out.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    assignment_id: String,
    user_id: String,
    form_id: String,
    form_version: serde_json::Number,
    region_code: String,
    label: String,
    #[serde(default)]
    prefill: BTreeMap<String, Option<Scalar>>,
    #[serde(default)]
    prefill_repeats: BTreeMap<String, Vec<BTreeMap<String, Option<Scalar>>>>,
}

pub(super) fn parse(
    tx: &Transaction<'_>,
    input: impl Read,
    forms: &mut Forms,
    problems: &mut Problems,
) -> Result<Vec<Row>, DbError> {
    let mut reader = BufReader::new(input);
    let mut users = Users::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    let mut line = 0u64;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        line += 1;
        let read = match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buffer)
        {
            Ok(n) => n,
            Err(e) => {
                problems.push(Part::Households, line, None, format!("unreadable: {e}"));
                break;
            }
        };
        if read == 0 {
            break;
        }
        if buffer.len() > MAX_LINE_BYTES && !buffer.ends_with(b"\n") {
            problems.push(
                Part::Households,
                line,
                None,
                format!("is longer than {MAX_LINE_BYTES} bytes; one household per line"),
            );
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            if reader.read_until(b'\n', &mut rest).is_err() {
                break;
            }
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buffer) else {
            problems.push(
                Part::Households,
                line,
                None,
                "is not valid UTF-8 (save the file as UTF-8)".into(),
            );
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                problems.push(
                    Part::Households,
                    line,
                    None,
                    format!("is not a household record: {e}"),
                );
                continue;
            }
        };
        let version = record.form_version.to_string();
        let fixed = Fixed {
            assignment_id: &record.assignment_id,
            user_id: &record.user_id,
            form_id: &record.form_id,
            form_version: &version,
            region_code: &record.region_code,
            label: &record.label,
        };
        let values: Vec<(String, String)> = record
            .prefill
            .iter()
            .map(|(k, v)| (k.clone(), v.as_ref().map(Scalar::text).unwrap_or_default()))
            .collect();
        let cells: Vec<(String, &str)> = values
            .iter()
            .map(|(k, v)| (format!("prefill.{k}"), v.as_str()))
            .collect();
        let Some(mut row) = check_row(tx, line, &fixed, &cells, &mut users, forms, problems)?
        else {
            continue;
        };
        let Some(keys) = row.keys.clone() else {
            continue;
        };
        let before = problems.errors.len();
        for (repeat_key, members) in &record.prefill_repeats {
            let column = format!("prefill_repeats.{repeat_key}");
            let Some(repeat) = keys.repeat(repeat_key) else {
                problems.unknown_key(Part::Households, line, &column, &keys, &keys.repeat_keys());
                continue;
            };
            let max = repeat
                .max_count
                .map_or(BodyLimits::default().max_list_items, |m| m as usize);
            if members.len() > max {
                problems.push(
                    Part::Households,
                    line,
                    Some(&column),
                    format!(
                        "{} members; the form's roster takes at most {max}",
                        members.len()
                    ),
                );
                continue;
            }
            let mut checked = Vec::with_capacity(members.len());
            for (i, member) in members.iter().enumerate() {
                let values: Vec<(String, String, String)> = member
                    .iter()
                    .map(|(k, v)| {
                        (
                            format!("{column}[{i}].{k}"),
                            k.clone(),
                            v.as_ref().map(Scalar::text).unwrap_or_default(),
                        )
                    })
                    .collect();
                let values = values
                    .iter()
                    .map(|(c, k, v)| (c.clone(), k.clone(), v.as_str()));
                if let Some(m) =
                    check_member(values, &keys, repeat, Part::Households, line, problems)
                {
                    checked.push(m);
                }
            }
            row.assignment
                .prefill_repeats
                .insert(repeat_key.clone(), checked);
        }
        if problems.errors.len() > before {
            continue;
        }
        keep_unique(row, line, &mut seen, &mut rows, problems);
    }
    Ok(rows)
}
