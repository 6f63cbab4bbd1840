//! Fuzzing of every parser that meets untrusted bytes, on the stable toolchain: proptest drives structure-aware
//! mutations of a seed corpus of real inputs, then byte-level edits on top.
//!
//! - `sync_and_enrol_bodies`: the server's body parser (`tepat_server::api::extract::parse_json`) on sync and
//!   enrolment bodies. Seeds: real sync requests (generated households of every outcome) and an enrolment.
//!   Mutations: any value replaced by arbitrary JSON, keys removed or added, values nested hundreds deep, then
//!   bytes flipped, inserted (JSON punctuation, escapes, huge numbers, duplicate keys), deleted, duplicated,
//!   truncated. Holds: no panic; a refusal is a 4xx with a message; an accepted body serialises and parses again.
//! - `assignment_csv_import`: `tepat_server::assignments::import_csv` against a real database (users, both forms).
//!   Seeds: real assignment CSVs. Mutations: cells replaced (empty, long, quotes, newlines, BOM, formulas, other
//!   users' ids), columns and rows dropped or duplicated, then byte edits (invalid UTF-8 included). Holds: no
//!   panic; a refused file names a line and a problem for each error and stores nothing.
//! - `form_expressions`: the expression parser (`tepat_form::expr::parse`) and, through a form that carries the
//!   expression (a relevance, a member constraint, a calculation), loading, type-checking and evaluating it.
//!   Seeds: every expression of the shipped forms. Mutations: tokens dropped, duplicated, swapped, replaced and
//!   inserted (operators, functions, field references, deep parentheses), then byte edits. Holds: no panic.
//!
//! `cargo test` runs a short pass ([`DEFAULT_CASES`] inputs per target, new random inputs each run); `make fuzz`
//! runs a long one (`TEPAT_FUZZ_CASES`, release build). A failure prints the shrunk input; it then becomes a
//! regression test at the end of this file.

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::{NaiveDate, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tepat_protocol::{EnrolRequest, PROTOCOL_VERSION, Role, SyncRequest, VisitDoc};
use tepat_server::api::extract::parse_json;
use tepat_server::assignments::{ImportError, import_csv};
use tepat_server::config::Limits;
use tepat_server::db::Db;
use tepat_synth::{Generator, Outcome};
use uuid::Uuid;

/// Inputs per target in the short pass.
const DEFAULT_CASES: u32 = 256;

fn runner() -> TestRunner {
    let cases = std::env::var("TEPAT_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    TestRunner::new(Config {
        cases,
        // Each failing input is shrunk; a long run should not stall on it.
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner().run(&strategy, test) {
        panic!("{e}");
    }
}

// ------------------------------------------------------------------------------------------------------------
// Byte-level edits, applied after the structure-aware ones.

#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate(Index, usize, Index),
    Truncate(Index),
}

fn edits(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let token = prop_oneof![
        proptest::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    let edit = prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(at, bit)| Edit::Flip(at, bit)),
        (any::<Index>(), token).prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<Index>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<Index>(), 1usize..256, any::<Index>())
            .prop_map(|(a, n, b)| Edit::Duplicate(a, n, b)),
        any::<Index>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 0..4)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len();
        let at = |i: &Index| if len == 0 { 0 } else { i.index(len + 1) };
        match edit {
            Edit::Flip(i, bit) if len > 0 => {
                let i = i.index(len);
                bytes[i] ^= 1 << (bit % 8);
            }
            Edit::Flip(..) => {}
            Edit::Insert(i, new) => {
                let i = at(i);
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(i).min(len);
                bytes.drain(i..(i + n).min(len));
            }
            Edit::Duplicate(from, n, to) => {
                let from = at(from).min(len);
                let piece = bytes[from..(from + n).min(len)].to_vec();
                let to = at(to).min(len);
                bytes.splice(to..to, piece);
            }
            Edit::Truncate(i) => bytes.truncate(at(i)),
        }
    }
    bytes
}

// ------------------------------------------------------------------------------------------------------------
// Sync and enrolment bodies.

static BODIES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut generator = Generator::new(7);
    let outcomes = [
        Outcome::Found,
        Outcome::Found,
        Outcome::NotFound,
        Outcome::Refused,
        Outcome::Moved,
        Outcome::NotReachable,
    ];
    let assignments = generator.assignments("17.71", outcomes.len()).unwrap();
    let visits: Vec<VisitDoc> = assignments
        .iter()
        .zip(outcomes)
        .map(|(a, o)| generator.visit_for(a, o).unwrap())
        .collect();
    let sync = |visits: Vec<VisitDoc>| {
        serde_json::to_value(SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: "D-0192".into(),
            batch_id: Uuid::now_v7(),
            cursor: 17,
            visits,
            trails: Vec::new(),
        })
        .unwrap()
    };
    vec![
        sync(visits[..2].to_vec()),
        sync(visits[2..].to_vec()),
        sync(Vec::new()),
        serde_json::to_value(EnrolRequest {
            code: "K7Q2-9XZ4".into(),
            device_name: "Samsung A05".into(),
        })
        .unwrap(),
    ]
});

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "\\",
    "\\u0000",
    "\\ud800",
    "\\uDFFF",
    "null",
    "true",
    "-0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "-9223372036854775809",
    "0.0000000000000000000001",
    "\u{202e}",
    "\u{feff}",
    "\"visits\":[],",
    "\"protocol\":1,",
    "\"answers\":{},",
    "\"batch_id\":\"x\",",
    "\"code\":\"\",",
    "NaN",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "",
                "1",
                "17.71",
                "17.71.01.1001",
                "dtsen_groundcheck",
                "0196b4a2-7c1e-7000-8000-000000000000",
                "2026-11-23",
                "2026-11-23T08:00:00Z",
                "=HYPERLINK(\"x\")",
                "\u{0}",
                "\u{202e}abc",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
        (1usize..20_000).prop_map(|n| Value::String("x".repeat(n))),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(Index, Value),
    Remove(Index),
    AddKey(Index, String, Value),
    Nest(Index, usize),
}

fn json_edits() -> impl Strategy<Value = Vec<JsonEdit>> {
    let edit = prop_oneof![
        (any::<Index>(), arbitrary_json()).prop_map(|(at, v)| JsonEdit::Replace(at, v)),
        any::<Index>().prop_map(JsonEdit::Remove),
        (any::<Index>(), "[a-z_]{1,12}", arbitrary_json())
            .prop_map(|(at, k, v)| JsonEdit::AddKey(at, k, v)),
        (any::<Index>(), 1usize..300).prop_map(|(at, n)| JsonEdit::Nest(at, n)),
    ];
    proptest::collection::vec(edit, 0..4)
}

/// JSON pointers of every value in `value` (the root is ""), in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply_json(mut value: Value, edits: &[JsonEdit]) -> Value {
    for edit in edits {
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        let pick = |i: &Index| all[i.index(all.len())].clone();
        match edit {
            JsonEdit::Replace(i, new) => {
                if let Some(slot) = value.pointer_mut(&pick(i)) {
                    *slot = new.clone();
                }
            }
            JsonEdit::Remove(i) => {
                let at = pick(i);
                if let Some((parent, last)) = at.rsplit_once('/') {
                    match value.pointer_mut(parent) {
                        Some(Value::Object(map)) => {
                            map.remove(&last.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(n) = last.parse::<usize>()
                                && n < items.len()
                            {
                                items.remove(n);
                            }
                        }
                        _ => {}
                    }
                }
            }
            JsonEdit::AddKey(i, key, new) => match value.pointer_mut(&pick(i)) {
                Some(Value::Object(map)) => {
                    map.insert(key.clone(), new.clone());
                }
                Some(Value::Array(items)) => items.push(new.clone()),
                _ => {}
            },
            JsonEdit::Nest(i, depth) => {
                if let Some(slot) = value.pointer_mut(&pick(i)) {
                    let mut nested = slot.take();
                    for _ in 0..*depth {
                        nested = Value::Array(vec![nested]);
                    }
                    *slot = nested;
                }
            }
        }
    }
    value
}

/// What the body parser must do with any bytes, under the server's default limits: accept them as `T`, or refuse
/// them with a 4xx and a message.
fn body_holds<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    match parse_json::<T>(bytes, Limits::default().body()) {
        Ok(parsed) => {
            let again =
                serde_json::to_vec(&parsed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(
                parse_json::<T>(&again, Limits::default().body()).is_ok(),
                "an accepted body does not parse again once serialised"
            );
        }
        Err(failure) => {
            prop_assert!(
                failure.status.is_client_error(),
                "refused with {}",
                failure.status
            );
            prop_assert!(
                !failure.body.message.is_empty(),
                "refused without a message"
            );
        }
    }
    Ok(())
}

#[test]
fn sync_and_enrol_bodies() {
    let strategy = (0..BODIES.len(), json_edits(), edits(JSON_TOKENS));
    run(strategy, |(seed, json_edits, byte_edits)| {
        let value = apply_json(BODIES[seed].clone(), &json_edits);
        let bytes = apply(serde_json::to_vec(&value).unwrap(), &byte_edits);
        body_holds::<SyncRequest>(&bytes)?;
        body_holds::<EnrolRequest>(&bytes)
    });
}

// ------------------------------------------------------------------------------------------------------------
// The assignment CSV import.

fn forms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/forms")
}

/// Real assignment files: households of both forms for two enumerators, with their prefill columns.
static CSV_SEEDS: LazyLock<Vec<Vec<Vec<String>>>> = LazyLock::new(|| {
    let mut generator = Generator::new(11);
    let dtsen = generator.assignments("17.71", 4).unwrap();
    let rows: Vec<(&str, &tepat_protocol::Assignment)> = dtsen
        .iter()
        .enumerate()
        .map(|(i, a)| (if i % 2 == 0 { "enum1" } else { "enum2" }, a))
        .collect();
    let file = tepat_e2e::field::assignments_csv(&rows);
    let minimal = "assignment_id,user_id,form_id,form_version,region_code,label\n\
                   L-1,enum1,dtsen_groundcheck,1,17.71.01.1001,Rumah Bu Siti\n";
    [file.as_str(), minimal]
        .iter()
        .map(|text| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes())
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect()
        })
        .collect()
});

const CSV_TOKENS: &[&str] = &[
    ",",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    "\u{feff}",
    "\0",
    "\u{ff}",
    "=cmd|' /C calc'!A0",
    "17.71",
    "enum1",
    "supervisor1",
    "dtsen_groundcheck",
    "ppks_asesmen",
    "assignment_id",
];

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "",
                " ",
                "0",
                "1",
                "2",
                "-1",
                "99999999999999999999",
                "17",
                "17.71",
                "17.71.01",
                "17.71.01.1001",
                "31.71.01.1001",
                "99.99.99.9999",
                "enum1",
                "enum2",
                "supervisor1",
                "nobody",
                "dtsen_groundcheck",
                "ppks_asesmen",
                "L-1",
                "a\"b",
                "a,b",
                "line\nbreak",
                "=1+1",
                "-1+1",
                "@SUM(A1)",
                "\u{202e}x",
                "\u{0}",
                "3171010101900001",
            ][..]
        )
        .prop_map(str::to_string),
        ".{0,40}",
        (1usize..2000).prop_map(|n| "x".repeat(n)),
    ]
}

#[derive(Debug, Clone)]
enum CsvEdit {
    Cell(Index, Index, String),
    DropColumn(Index),
    DuplicateColumn(Index),
    AddColumn(String),
    DropRow(Index),
    DuplicateRow(Index),
}

fn csv_edits() -> impl Strategy<Value = Vec<CsvEdit>> {
    let edit = prop_oneof![
        4 => (any::<Index>(), any::<Index>(), cell()).prop_map(|(r, c, v)| CsvEdit::Cell(r, c, v)),
        1 => any::<Index>().prop_map(CsvEdit::DropColumn),
        1 => any::<Index>().prop_map(CsvEdit::DuplicateColumn),
        1 => cell().prop_map(CsvEdit::AddColumn),
        1 => any::<Index>().prop_map(CsvEdit::DropRow),
        1 => any::<Index>().prop_map(CsvEdit::DuplicateRow),
    ];
    proptest::collection::vec(edit, 0..5)
}

fn apply_csv(mut rows: Vec<Vec<String>>, edits: &[CsvEdit]) -> Vec<u8> {
    for edit in edits {
        if rows.is_empty() {
            break;
        }
        let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        match edit {
            CsvEdit::Cell(r, c, value) => {
                let row = r.index(rows.len());
                let column = c.index(width);
                if let Some(slot) = rows[row].get_mut(column) {
                    *slot = value.clone();
                }
            }
            CsvEdit::DropColumn(c) => {
                let column = c.index(width);
                for row in &mut rows {
                    if column < row.len() {
                        row.remove(column);
                    }
                }
            }
            CsvEdit::DuplicateColumn(c) => {
                let column = c.index(width);
                for row in &mut rows {
                    if let Some(value) = row.get(column).cloned() {
                        row.push(value);
                    }
                }
            }
            CsvEdit::AddColumn(value) => {
                for row in &mut rows {
                    row.push(value.clone());
                }
            }
            CsvEdit::DropRow(r) => {
                rows.remove(r.index(rows.len()));
            }
            CsvEdit::DuplicateRow(r) => {
                let row = rows[r.index(rows.len())].clone();
                rows.push(row);
            }
        }
    }
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for row in &rows {
        out.write_record(row).unwrap();
    }
    out.into_inner().unwrap()
}

/// What an import left behind, rolled back so that every input meets the same database.
enum Import {
    Done(
        Result<tepat_server::assignments::ImportReport, ImportError>,
        i64,
        i64,
    ),
    Sql(tepat_server::db::sql::Error),
}

impl From<tepat_server::db::sql::Error> for Import {
    fn from(e: tepat_server::db::sql::Error) -> Self {
        Import::Sql(e)
    }
}

#[test]
fn assignment_csv_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    for (user, role) in [
        ("enum1", Role::Enumerator),
        ("enum2", Role::Enumerator),
        ("supervisor1", Role::Supervisor),
    ] {
        tepat_server::admin::create_user(&db, user, "Nama Uji", role, &["17.71".into()]).unwrap();
    }
    for form in [
        "dtsen_groundcheck",
        "ppks_asesmen",
        "monitoring_6t",
        "satgas_laporan",
    ] {
        tepat_server::admin::publish_form(&db, &forms_dir().join(format!("{form}.json"))).unwrap();
    }
    let count = |tx: &tepat_server::db::Transaction<'_>| -> tepat_server::db::sql::Result<i64> {
        tx.query_row("SELECT count(*) FROM assignments", [], |r| r.get(0))
    };
    let strategy = (0..CSV_SEEDS.len(), csv_edits(), edits(CSV_TOKENS));
    run(strategy, |(seed, csv_edits, byte_edits)| {
        let bytes = apply(apply_csv(CSV_SEEDS[seed].clone(), &csv_edits), &byte_edits);
        let outcome = db.write(|tx| -> Result<(), Import> {
            let before = count(tx)?;
            let result = import_csv(tx, &bytes[..], Utc::now());
            let after = count(tx)?;
            // Rolled back: nothing of this input stays for the next.
            Err(Import::Done(result, before, after))
        });
        match outcome {
            Err(Import::Done(Ok(report), before, after)) => {
                prop_assert_eq!(after - before, report.added as i64);
            }
            Err(Import::Done(Err(ImportError::Rows(errors)), before, after)) => {
                prop_assert_eq!(before, after, "a refused file stored rows");
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(e.line >= 1 && !e.message.is_empty(), "{:?}", e);
                }
            }
            Err(Import::Done(Err(e), ..)) => {
                return Err(TestCaseError::fail(format!("not a row error: {e}")));
            }
            Err(Import::Sql(e)) => return Err(TestCaseError::fail(format!("sql: {e}"))),
            Ok(()) => unreachable!("the closure always rolls back"),
        }
        Ok(())
    });
}

// ------------------------------------------------------------------------------------------------------------
// Form expressions.

/// Every expression of the shipped forms and the test form (relevance, requirement, calculation, constraint).
static EXPRESSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    fn walk(value: &Value, key: Option<&str>, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, Some(k), out)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, key, out)),
            Value::String(s)
                if matches!(key, Some("relevant" | "required" | "calculate" | "expr"))
                    && tepat_form::expr::parse(s).is_ok() =>
            {
                out.push(s.clone());
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for name in [
        "dtsen_groundcheck",
        "ppks_asesmen",
        "monitoring_6t",
        "satgas_laporan",
    ] {
        let text = std::fs::read_to_string(forms_dir().join(format!("{name}.json"))).unwrap();
        walk(&serde_json::from_str(&text).unwrap(), None, &mut out);
    }
    walk(&serde_json::from_str(TEST_FORM).unwrap(), None, &mut out);
    out.sort();
    out.dedup();
    assert!(out.len() > 20, "only {} seed expressions", out.len());
    out
});

const TEST_FORM: &str = include_str!("../../shared/app/src/tests/test_form.json");

const EXPR_TOKENS: &[&str] = &[
    "${",
    "}",
    "(",
    ")",
    "'",
    "\"",
    ".",
    "..",
    ",",
    "+",
    "-",
    "*",
    "/",
    "div",
    "mod",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not(",
    "if(",
    "selected(",
    "count(",
    "sum(",
    "age(",
    "regex(",
    "nik-sex(",
    "today()",
    "string-length(",
    "coalesce(",
    "${members}",
    "${kk_members}",
    "${sex}",
    "${nope}",
    "${visit_outcome}",
    "9999999999999999999999",
    "1e308",
    "-0.0",
    "''",
    "'\u{202e}'",
    "((((((((((((((((((((((((((((((((",
    "))))))))))))))))))))))))))))))))",
    "- - - - - - - - - - - - - - - - - - - - - - - - - - - -",
];

/// An expression split into tokens: `${...}` and quoted strings whole, words and numbers whole, each other
/// character alone.
fn tokens(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '$' && chars.get(i + 1) == Some(&'{') {
            while i < chars.len() && chars[i] != '}' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
            {
                i += 1;
            }
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else {
            i += 1;
        }
        out.push(chars[start..i.min(chars.len())].iter().collect());
    }
    out
}

#[derive(Debug, Clone)]
enum TokenEdit {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Replace(Index, &'static str),
    Insert(Index, &'static str),
    Splice(Index, Index),
}

fn token_edits() -> impl Strategy<Value = Vec<TokenEdit>> {
    let token = proptest::sample::select(EXPR_TOKENS);
    let edit = prop_oneof![
        any::<Index>().prop_map(TokenEdit::Drop),
        any::<Index>().prop_map(TokenEdit::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TokenEdit::Swap(a, b)),
        (any::<Index>(), token.clone()).prop_map(|(a, t)| TokenEdit::Replace(a, t)),
        (any::<Index>(), token).prop_map(|(a, t)| TokenEdit::Insert(a, t)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TokenEdit::Splice(a, b)),
    ];
    proptest::collection::vec(edit, 0..5)
}

fn apply_tokens(expr: &str, edits: &[TokenEdit]) -> String {
    let mut toks = tokens(expr);
    for edit in edits {
        if toks.is_empty() {
            toks.push("1".into());
        }
        let n = toks.len();
        match edit {
            TokenEdit::Drop(i) => {
                toks.remove(i.index(n));
            }
            TokenEdit::Duplicate(i) => {
                let t = toks[i.index(n)].clone();
                toks.insert(i.index(n), t);
            }
            TokenEdit::Swap(a, b) => toks.swap(a.index(n), b.index(n)),
            TokenEdit::Replace(i, t) => toks[i.index(n)] = (*t).to_string(),
            TokenEdit::Insert(i, t) => toks.insert(i.index(n + 1), (*t).to_string()),
            // Another seed expression's tokens spliced in.
            TokenEdit::Splice(i, other) => {
                let other = &EXPRESSIONS[other.index(EXPRESSIONS.len())];
                let at = i.index(n + 1);
                toks.splice(at..at, tokens(other));
            }
        }
    }
    toks.join(" ")
}

/// Answers of the test form, a member or two included, so evaluation has something to walk.
fn sample_answers() -> tepat_protocol::Answers {
    let value = json!({
        "visit_outcome": "1", "head_name": "Siti", "kk_members": 2, "floor_area": 12.5, "assets": ["tv"],
        "visit_day": "2026-11-20", "region": "17.71.01.1001",
        "members": [
            {"member_name": "Siti", "sex": "2", "relationship": "1", "member_nik": "1771014101900001"},
            {"member_name": "Budi", "sex": "1", "relationship": "3"}
        ]
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// Puts `expr` where the test form has an expression of kind `slot` (a relevance, a member constraint, a
/// calculation).
fn form_with(expr: &str, slot: usize) -> String {
    let mut form: Value = serde_json::from_str(TEST_FORM).unwrap();
    let pointer = match slot {
        0 => "/sections/0/fields/1/relevant",
        1 => "/sections/3/fields/0/fields/3/constraints/0/expr",
        _ => "/sections/3/fields/1/calculate",
    };
    if let Some(target) = form.pointer_mut(pointer) {
        *target = Value::String(expr.to_string());
    }
    form.to_string()
}

#[test]
fn form_expressions() {
    // The slots exist where `form_with` puts the expression (a wrong pointer would fuzz nothing).
    let form: Value = serde_json::from_str(TEST_FORM).unwrap();
    for pointer in [
        "/sections/0/fields/1/relevant",
        "/sections/3/fields/0/fields/3/constraints/0/expr",
        "/sections/3/fields/1/calculate",
    ] {
        assert!(
            form.pointer(pointer).is_some_and(Value::is_string),
            "the test form has no expression at {pointer}"
        );
    }
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let answers = sample_answers();
    let strategy = (
        0..EXPRESSIONS.len(),
        token_edits(),
        edits(EXPR_TOKENS),
        0usize..3,
    );
    run(strategy, |(seed, token_edits, byte_edits, slot)| {
        let mutated = apply_tokens(&EXPRESSIONS[seed], &token_edits);
        let bytes = apply(mutated.into_bytes(), &byte_edits);
        let expr = String::from_utf8_lossy(&bytes);
        let _ = tepat_form::expr::parse(&expr);
        if let Ok(form) = tepat_form::load(&form_with(&expr, slot)) {
            let _ = form.validate(&answers, date);
            let _ = form.evaluate(&answers, date);
            if let Ok(mut session) = form.session(answers.clone(), date) {
                let _ = session.set("kk_members", json!(3));
                let _ = session.findings();
            }
        }
        Ok(())
    });
}

// ------------------------------------------------------------------------------------------------------------
// Regressions: inputs the fuzzers found, kept as tests (none yet).
