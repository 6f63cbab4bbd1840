//! Figure 5: the supervisor's CSV exports (households, and members in long format) of 100,000 visits, fetched
//! over HTTP from the real release server into files; against the floor: the same stored rows (the `exported`
//! column ingest filled: relevant answers and calculated values) read with rusqlite, parsed with serde_json and
//! written as the same CSV files on the same disk in plain Rust, with nothing else around it (no HTTP, no
//! streaming, no plan). The files must be byte for byte the server's.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::Value;
use tepat_e2e::field::{Field, SUPERVISOR};
use tepat_form::{FieldType, Form};
use tepat_protocol::{Answers, EnrolRequest};
use tepat_runtime::{HttpConfig, HttpTransport, Transport};
use uuid::Uuid;

use crate::household;

pub struct Export {
    pub visits: u64,
    pub households: Duration,
    pub members: Duration,
    pub household_rows: u64,
    pub member_rows: u64,
    pub bytes: u64,
    pub floor_households: Duration,
    pub floor_members: Duration,
    pub floor_household_rows: u64,
    pub floor_member_rows: u64,
    /// Whether the floor's files are byte for byte the server's (the same rows, same cells).
    pub identical: bool,
    /// Parsing the stored export answers into a JSON tree, once per visit, timed alone in this process (one
    /// thread, as the server's export): part of both sides.
    pub parse: Duration,
}

impl Export {
    pub fn total(&self) -> Duration {
        self.households + self.members
    }
    pub fn floor_total(&self) -> Duration {
        self.floor_households + self.floor_members
    }
}

pub fn run(field: &Field, dir: &Path, visits: u64) -> Result<Export, String> {
    let db = field.server.data().join("tepat.db");
    let stored = copy_up_to(&db, visits)?;
    let transport =
        HttpTransport::new(&HttpConfig::new(field.server.url())).map_err(|e| e.to_string())?;
    let enrolled = transport
        .enrol(&EnrolRequest {
            code: field
                .admin
                .enrol_code(SUPERVISOR)
                .map_err(|e| e.to_string())?,
            device_name: "bench laptop".into(),
        })
        .map_err(|e| format!("enrol the supervisor: {}", e.detail))?;
    let tls = tepat_runtime::tls_config(None).map_err(|e| e.to_string())?;
    let client = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(Duration::from_secs(900))
        .build()
        .map_err(|e| e.to_string())?;
    let fetch = |table: &str| -> Result<(Duration, u64, u64), String> {
        let file = dir.join(format!("{table}.csv"));
        let started = Instant::now();
        let mut response = client
            .get(format!(
                "{}/api/v1/supervisor/export/{table}.csv?form_id=dtsen_groundcheck",
                field.server.url()
            ))
            .bearer_auth(&enrolled.token)
            .send()
            .map_err(|e| format!("export {table}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("export {table}: {}", response.status()));
        }
        let mut out = BufWriter::new(File::create(&file).map_err(|e| e.to_string())?);
        let bytes = std::io::copy(&mut response, &mut out).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        let took = started.elapsed();
        Ok((took, lines(&file)?.saturating_sub(1), bytes))
    };
    let (households, household_rows, hb) = fetch("households")?;
    let (members, member_rows, mb) = fetch("members")?;
    let form: Form = serde_json::from_str(household::DTSEN).map_err(|e| e.to_string())?;
    let (floor_households, floor_household_rows) = floor(&db, &form, dir, Table::Households)?;
    let (floor_members, floor_member_rows) = floor(&db, &form, dir, Table::Members)?;
    let same = |a: &str, b: &str| -> Result<bool, String> {
        let read = |f: &str| std::fs::read(dir.join(f)).map_err(|e| e.to_string());
        Ok(read(a)? == read(b)?)
    };
    let identical = same("households.csv", "floor-households.csv")?
        && same("members.csv", "floor-members.csv")?;
    let parse = parse_alone(&db)?;
    Ok(Export {
        parse,
        identical,
        visits: stored,
        households,
        members,
        household_rows,
        member_rows,
        bytes: hb + mb,
        floor_households,
        floor_members,
        floor_household_rows,
        floor_member_rows,
    })
}

/// Parsing every stored visit's export answers (read first, untimed), as the server does once per export.
fn parse_alone(db: &Path) -> Result<Duration, String> {
    let sql = |e: rusqlite::Error| format!("parse: {e}");
    let conn = Connection::open(db).map_err(sql)?;
    let stored: Vec<String> = conn
        .prepare(&format!(
            "SELECT v.exported FROM visits v WHERE {SCOPE} ORDER BY v.seq"
        ))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql)?;
    let started = Instant::now();
    for json in &stored {
        let parsed: tepat_protocol::Answers =
            serde_json::from_str(json).map_err(|e| e.to_string())?;
        std::hint::black_box(parsed);
    }
    Ok(started.elapsed())
}

/// Lines in a CSV file (quoted cells never hold a newline in these exports' generated data).
fn lines(file: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
    Ok(bytes.iter().filter(|b| **b == b'\n').count() as u64)
}

/// Copies the visits the server stored (distinct households from the ingest figure) under new ids until there
/// are `target`, straight into the database: the export is what is measured, ingest was measured before.
pub fn copy_up_to(db: &Path, target: u64) -> Result<u64, String> {
    let sql = |e: rusqlite::Error| format!("copying visits: {e}");
    let mut conn = Connection::open(db).map_err(sql)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
    let templates: Vec<(String, i64)> = conn
        .prepare("SELECT visit_id, revision FROM visits WHERE form_id = 'dtsen_groundcheck' AND is_latest = 1")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(sql)?;
    if templates.is_empty() {
        return Err("no stored visit to copy".into());
    }
    let have = templates.len() as u64;
    let tx = conn.transaction().map_err(sql)?;
    let mut seq: i64 = tx
        .query_row("SELECT max(seq) FROM visits", [], |r| r.get(0))
        .map_err(sql)?;
    {
        let columns: Vec<String> = tx
            .prepare("SELECT name FROM pragma_table_info('visits')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sql)?;
        let picked: Vec<String> = columns
            .iter()
            .map(|c| match c.as_str() {
                "visit_id" => "?1".to_string(),
                "doc" => "json_set(doc, '$.visit_id', ?1)".to_string(),
                "seq" => "?2".to_string(),
                other => other.to_string(),
            })
            .collect();
        let mut insert = tx
            .prepare(&format!(
                "INSERT INTO visits ({}) SELECT {} FROM visits WHERE visit_id = ?3 AND revision = ?4",
                columns.join(", "),
                picked.join(", ")
            ))
            .map_err(sql)?;
        for k in 0..target.saturating_sub(have) {
            let (id, revision) = templates
                .get((k % have) as usize)
                .cloned()
                .unwrap_or_default();
            seq += 1;
            insert
                .execute(rusqlite::params![
                    Uuid::now_v7().to_string(),
                    seq,
                    id,
                    revision
                ])
                .map_err(sql)?;
        }
        tx.execute("UPDATE counters SET value = ?1 WHERE name = 'pull'", [seq])
            .map_err(sql)?;
    }
    tx.commit().map_err(sql)?;
    conn.query_row(
        "SELECT count(*) FROM visits WHERE form_id = 'dtsen_groundcheck' AND is_latest = 1",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(sql)
}

/// Top-level answer fields and member fields of the form, in form order (what the export's columns hold), and
/// the top-level NIK and No. KK fields (a visit's key is the first of them it answered).
fn columns(form: &Form) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let holds = |kind: FieldType| !matches!(kind, FieldType::Note | FieldType::Repeat);
    let mut top = Vec::new();
    let mut member = Vec::new();
    let (mut nik, mut kk) = (Vec::new(), Vec::new());
    for section in &form.sections {
        for field in &section.fields {
            if field.kind == FieldType::Repeat {
                member.extend(
                    field
                        .fields
                        .iter()
                        .filter(|f| holds(f.kind))
                        .map(|f| f.id.clone()),
                );
            } else if holds(field.kind) {
                top.push(field.id.clone());
            }
            if field.kind == FieldType::Nik {
                nik.push(field.id.clone());
            }
            if field.kind == FieldType::Kk {
                kk.push(field.id.clone());
            }
        }
    }
    (top, member, nik, kk)
}

/// Region codes and names of every level of a village, looked up once per code.
struct Names(HashMap<String, Vec<String>>);

impl Names {
    fn cells(&mut self, village: &str) -> &[String] {
        self.0.entry(village.to_string()).or_insert_with(|| {
            let regions = tepat_form::region::regions();
            let parts: Vec<&str> = village.split('.').collect();
            (1..=4)
                .flat_map(|depth| {
                    let code = parts.get(..depth).map(|p| p.join(".")).unwrap_or_default();
                    let name = regions.name(&code).unwrap_or_default().to_string();
                    [code, name]
                })
                .collect()
        })
    }
}

/// A stored visit column as a cell.
fn sql_cell(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// An answer as a cell, as any CSV export of it must write it: text (a formula-like start defused, as the
/// server does), numbers as JSON writes them, a list of codes space-separated, anything structured as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => {
            let risky = match s.chars().next() {
                Some('=' | '+' | '@' | '\t' | '\r') => true,
                Some('-') => s.parse::<f64>().is_err(),
                _ => false,
            };
            if risky { format!("'{s}") } else { s.clone() }
        }
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(items)) if items.iter().all(|v| !v.is_array() && !v.is_object()) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

const SCOPE: &str = "v.form_id = 'dtsen_groundcheck' AND v.is_latest = 1 AND \
    (v.region_code = '17.71' OR substr(v.region_code, 1, 6) = '17.71.')";

/// The header row of the server's export (the same columns are written, in the same order).
fn header_of(export: &Path) -> Result<Vec<String>, String> {
    let mut reader = csv::Reader::from_path(export).map_err(|e| e.to_string())?;
    Ok(reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Households,
    Members,
}

/// The floor of one export: one query over the stored visit columns and `exported`, each visit's answers parsed,
/// its rows written with the csv crate under the server's header. Returns the time taken and the rows written.
fn floor(db: &Path, form: &Form, dir: &Path, table: Table) -> Result<(Duration, u64), String> {
    let sql = |e: rusqlite::Error| format!("floor export: {e}");
    let (top, member, nik, kk) = columns(form);
    let repeats: Vec<String> = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| f.kind == FieldType::Repeat)
        .map(|f| f.id.clone())
        .collect();
    let (name, floor_name) = match table {
        Table::Households => ("households.csv", "floor-households.csv"),
        Table::Members => ("members.csv", "floor-members.csv"),
    };
    let header = header_of(&dir.join(name))?;
    let started = Instant::now();
    let conn = Connection::open(db).map_err(sql)?;
    let file = File::create(dir.join(floor_name)).map_err(|e| e.to_string())?;
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    out.write_record(&header).map_err(|e| e.to_string())?;
    let mut names = Names(HashMap::new());
    let mut stmt = conn
        .prepare(&format!(
            "SELECT v.visit_id, v.revision, v.status, v.form_version, v.assignment_id, v.user_id, v.visit_date,
                 v.received_at, v.error_count, v.warning_count, v.region_code, v.exported, v.paradata,
                 v.trail_problems
             FROM visits v WHERE {SCOPE} ORDER BY v.seq"
        ))
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut written = 0;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    while let Some(row) = rows.next().map_err(sql)? {
        let exported = row.get_ref(11).map_err(sql)?;
        let answers: Answers =
            serde_json::from_slice(exported.as_bytes().map_err(|e| e.to_string())?)
                .map_err(|e| format!("stored export answers: {e}"))?;
        let first_answered = |fields: &[String]| {
            fields
                .iter()
                .map(|f| cell(answers.get(f)))
                .find(|c| !c.is_empty())
                .unwrap_or_default()
        };
        let keys = [first_answered(&nik), first_answered(&kk)];
        let region = sql_cell(row.get_ref(10).map_err(sql)?);
        match table {
            Table::Households => {
                record.clear();
                for i in 0..10 {
                    record.push(sql_cell(row.get_ref(i).map_err(sql)?));
                }
                record.extend(keys);
                record.extend(names.cells(&region).iter().cloned());
                record.extend(top.iter().map(|f| cell(answers.get(f))));
                let paradata: Option<String> = row.get(12).map_err(sql)?;
                let problems: Option<String> = row.get(13).map_err(sql)?;
                record.extend(paradata_cells(
                    form,
                    paradata.as_deref(),
                    problems.as_deref(),
                )?);
                out.write_record(&record).map_err(|e| e.to_string())?;
                written += 1;
            }
            Table::Members => {
                let visit_id = sql_cell(row.get_ref(0).map_err(sql)?);
                let revision = sql_cell(row.get_ref(1).map_err(sql)?);
                for group in &repeats {
                    let Some(Value::Array(members)) = answers.get(group) else {
                        continue;
                    };
                    for (index, one) in members.iter().enumerate() {
                        record.clear();
                        record.push(visit_id.clone());
                        record.push(revision.clone());
                        record.extend(keys.iter().cloned());
                        record.extend(names.cells(&region).iter().cloned());
                        record.push(group.clone());
                        record.push((index + 1).to_string());
                        let one = one.as_object();
                        record.extend(member.iter().map(|f| cell(one.and_then(|m| m.get(f)))));
                        out.write_record(&record).map_err(|e| e.to_string())?;
                        written += 1;
                    }
                }
            }
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok((started.elapsed(), written))
}

/// The paradata cells at the end of a households row, as the server writes them (`server/src/export.rs`), from
/// the stored JSON read as plain values.
fn paradata_cells(
    form: &Form,
    paradata: Option<&str>,
    problems: Option<&str>,
) -> Result<Vec<String>, String> {
    let mut cells = match paradata {
        None => vec![String::new(); 6],
        Some(json) => {
            let p: Value = serde_json::from_str(json).map_err(|e| format!("paradata: {e}"))?;
            let number = |v: &Value| v.as_i64().map(|n| n.to_string()).unwrap_or_default();
            let sections = form
                .sections
                .iter()
                .filter_map(|s| {
                    p["section_s"]
                        .get(&s.id)
                        .map(|secs| format!("{}={}", s.id, number(secs)))
                })
                .collect::<Vec<_>>()
                .join(";");
            let fix = |v: &Value| match (v["lat"].as_f64(), v["lon"].as_f64()) {
                (Some(lat), Some(lon)) => format!("{lat},{lon}"),
                _ => String::new(),
            };
            vec![
                number(&p["duration_s"]),
                sections,
                number(&p["answers_changed"]),
                number(&p["prefill_confirmed_unchanged"]),
                fix(&p["gps_start"]),
                fix(&p["gps_final"]),
            ]
        }
    };
    cells.push(match problems {
        None => String::new(),
        Some(json) => {
            let list: Vec<Value> =
                serde_json::from_str(json).map_err(|e| format!("trail problems: {e}"))?;
            if list.is_empty() {
                "ok".into()
            } else {
                list.iter()
                    .map(|p| format!("trail_{}", p["problem"].as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        }
    });
    Ok(cells)
}
