//! The review queue: latest revisions in the supervisor's regions, filtered, counted and paged on the server by
//! keyset (`after` = the last `seq` shown), through the `visits_queue` index, so a page costs the same with
//! 100,000 visits as with 100.

use crate::db::sql::{Transaction, Value as Sql, params_from_iter};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use tepat_protocol::Role;

use super::i18n::Tr;
use super::{Chrome, ConsoleError, Staff, html, percent_encode, work};
use crate::api::AppState;
use crate::db::DbError;
use crate::forms::FormCache;
use crate::regions::{self, scope_sql};

/// Visits on one page.
pub const PAGE_SIZE: usize = 50;

/// The filters, as the query string names them; everything optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    /// `submitted` (default), `returned`, `approved` or `all`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub enumerator: Option<String>,
    /// A region code (village, or any prefix of one).
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    /// `1`: only visits with error findings; likewise warnings, enumerator notes and conflicting copies.
    #[serde(default)]
    pub errors: Option<String>,
    #[serde(default)]
    pub warnings: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub conflicts: Option<String>,
    /// `1`: only visits without a GPS fix or without a photo.
    #[serde(default)]
    pub evidence: Option<String>,
    /// `1`: only visits with a signal of fabrication (`crate::signals`).
    #[serde(default)]
    pub signals: Option<String>,
    /// Keyset: the `seq` of the last visit of the previous page.
    #[serde(default)]
    pub after: Option<u64>,
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn flag(value: &Option<String>) -> bool {
    set(value).is_some_and(|v| v == "1" || v == "on")
}

impl Filter {
    pub fn status(&self) -> &str {
        match set(&self.status) {
            Some(s @ ("returned" | "approved" | "all")) => s,
            _ => "submitted",
        }
    }

    fn date(value: &Option<String>, name: &str) -> Result<Option<String>, ConsoleError> {
        match set(value) {
            None => Ok(None),
            Some(text) => text
                .parse::<NaiveDate>()
                .map(|d| Some(d.to_string()))
                .map_err(|_| {
                    ConsoleError::BadRequest(format!("{name}: {text:?} is not a date YYYY-MM-DD"))
                }),
        }
    }

    /// The SQL condition and its parameters (after the supervisor's id, which is `?1`), without the keyset.
    fn conditions(&self) -> Result<(String, Vec<Sql>), ConsoleError> {
        let mut sql = vec![
            "v.is_latest = 1".to_string(),
            scope_sql("v.region_code", "?1"),
        ];
        let mut values: Vec<Sql> = Vec::new();
        let bind = |values: &mut Vec<Sql>, value: String| {
            values.push(Sql::Text(value));
            format!("?{}", values.len() + 1)
        };
        match self.status() {
            "all" => sql.push("v.status IN ('submitted', 'returned', 'approved')".into()),
            status => {
                let p = bind(&mut values, status.to_string());
                sql.push(format!("v.status = {p}"));
            }
        }
        if let Some(user) = set(&self.enumerator) {
            let p = bind(&mut values, user.to_string());
            sql.push(format!("v.user_id = {p}"));
        }
        if let Some(code) = set(&self.village) {
            regions::check_scope_code(code)
                .map_err(|m| ConsoleError::BadRequest(format!("village: {m}")))?;
            let p = bind(&mut values, code.to_string());
            sql.push(format!(
                "(v.region_code = {p} OR substr(v.region_code, 1, length({p}) + 1) = {p} || '.')"
            ));
        }
        if let Some(from) = Self::date(&self.from, "from")? {
            let p = bind(&mut values, from);
            sql.push(format!("v.visit_date >= {p}"));
        }
        if let Some(to) = Self::date(&self.to, "to")? {
            let p = bind(&mut values, to);
            sql.push(format!("v.visit_date <= {p}"));
        }
        if let Some(outcome) = set(&self.outcome) {
            let p = bind(&mut values, outcome.to_string());
            sql.push(format!("v.outcome = {p}"));
        }
        if flag(&self.errors) {
            sql.push("v.error_count > 0".into());
        }
        if flag(&self.warnings) {
            sql.push("v.warning_count > 0".into());
        }
        if flag(&self.notes) {
            sql.push("v.note_count > 0".into());
        }
        if flag(&self.evidence) {
            sql.push("(v.has_gps = 0 OR v.has_photo = 0)".into());
        }
        if flag(&self.conflicts) {
            sql.push("EXISTS (SELECT 1 FROM conflicts c WHERE c.visit_id = v.visit_id)".into());
        }
        if flag(&self.signals) {
            sql.push(
                "EXISTS (SELECT 1 FROM visit_signals s WHERE s.visit_id = v.visit_id AND s.revision = v.revision)"
                    .into(),
            );
        }
        Ok((sql.join(" AND "), values))
    }

    /// The query string of these filters (without `after`), for links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("status", set(&self.status)),
            ("enumerator", set(&self.enumerator)),
            ("village", set(&self.village)),
            ("from", set(&self.from)),
            ("to", set(&self.to)),
            ("outcome", set(&self.outcome)),
            ("errors", set(&self.errors)),
            ("warnings", set(&self.warnings)),
            ("notes", set(&self.notes)),
            ("conflicts", set(&self.conflicts)),
            ("evidence", set(&self.evidence)),
            ("signals", set(&self.signals)),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", percent_encode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// One visit in the queue.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: u64,
    pub visit_id: String,
    pub revision: u32,
    pub user_id: String,
    pub enumerator: String,
    pub region_code: String,
    pub village: &'static str,
    pub label: String,
    pub visit_date: String,
    pub received_at: String,
    pub status: String,
    pub outcome: String,
    pub errors: u32,
    pub warnings: u32,
    pub notes: u32,
    pub conflicts: bool,
    /// The kinds of signals of fabrication the visit holds, each once, in code order.
    pub signals: Vec<String>,
}

/// One page of the queue and how many visits match in all.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub rows: Vec<Row>,
    pub total: u64,
    /// `after` for the next page, when there is one.
    pub next_after: Option<u64>,
}

/// The page of `supervisor_id`'s queue after `filter.after`.
pub fn query(
    tx: &Transaction<'_>,
    supervisor_id: &str,
    filter: &Filter,
    limit: usize,
) -> Result<QueuePage, ConsoleError> {
    let (conditions, values) = filter.conditions()?;
    let mut params: Vec<Sql> = vec![Sql::Text(supervisor_id.to_string())];
    params.extend(values);
    let total: i64 = tx.query_row(
        &format!("SELECT count(*) FROM visits v WHERE {conditions}"),
        params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    let after = i64::try_from(filter.after.unwrap_or(0)).unwrap_or(i64::MAX);
    params.push(Sql::Integer(after));
    let after_param = params.len();
    params.push(Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX) + 1));
    let limit_param = params.len();
    let sql = format!(
        "SELECT v.seq, v.visit_id, v.revision, v.user_id, u.name, v.region_code, coalesce(a.label, ''),
                v.visit_date, v.received_at, v.status, coalesce(v.outcome, ''), v.error_count,
                v.warning_count, v.note_count,
                EXISTS (SELECT 1 FROM conflicts c WHERE c.visit_id = v.visit_id),
                (SELECT string_agg(s.kind, ' ') FROM visit_signals s
                 WHERE s.visit_id = v.visit_id AND s.revision = v.revision)
         FROM visits v JOIN users u ON u.user_id = v.user_id
              LEFT JOIN assignments a ON a.assignment_id = v.assignment_id
         WHERE {conditions} AND v.seq > ?{after_param}
         ORDER BY v.seq LIMIT ?{limit_param}"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows: Vec<Row> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            let region_code: String = r.get(5)?;
            Ok(Row {
                seq: r.get::<_, i64>(0)?.max(0) as u64,
                visit_id: r.get(1)?,
                revision: r.get(2)?,
                user_id: r.get(3)?,
                enumerator: r.get(4)?,
                village: regions::name(&region_code),
                region_code,
                label: r.get(6)?,
                visit_date: r.get(7)?,
                received_at: r.get::<_, String>(8)?.chars().take(16).collect(),
                status: r.get(9)?,
                outcome: r.get(10)?,
                errors: r.get(11)?,
                warnings: r.get(12)?,
                notes: r.get(13)?,
                conflicts: r.get(14)?,
                signals: {
                    let kinds: Option<String> = r.get(15)?;
                    let mut kinds: Vec<String> = kinds
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_string)
                        .collect();
                    kinds.sort_unstable();
                    kinds.dedup();
                    kinds
                },
            })
        })?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(QueuePage {
        next_after: if more {
            rows.last().map(|r| r.seq)
        } else {
            None
        },
        rows,
        total: total.max(0) as u64,
    })
}

/// A choice in a filter's list.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The enumerators and assessors working inside the supervisor's regions.
fn enumerators(tx: &Transaction<'_>, supervisor_id: &str) -> Result<Vec<Choice>, DbError> {
    let sql = format!(
        "SELECT u.user_id, u.name FROM users u
         WHERE u.role IN ('enumerator', 'assessor')
           AND EXISTS (SELECT 1 FROM user_regions ur WHERE ur.user_id = u.user_id AND {})
         ORDER BY u.name, u.user_id",
        scope_sql("ur.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map([supervisor_id], |r| {
        let id: String = r.get(0)?;
        let name: String = r.get(1)?;
        Ok(Choice {
            label: format!("{name} ({id})"),
            value: id,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The villages with assignments inside the supervisor's regions.
fn villages(tx: &Transaction<'_>, supervisor_id: &str) -> Result<Vec<Choice>, DbError> {
    let sql = format!(
        "SELECT DISTINCT a.region_code FROM assignments a WHERE {} ORDER BY a.region_code",
        scope_sql("a.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map([supervisor_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for code in rows {
        let code = code?;
        out.push(Choice {
            label: format!("{} {code}", regions::name(&code)),
            value: code,
        });
    }
    Ok(out)
}

/// The outcome codes of every published form that declares one, with their labels.
pub fn outcomes(tx: &Transaction<'_>, cache: &FormCache, t: Tr) -> Result<Vec<Choice>, DbError> {
    let versions: Vec<(String, u32)> = tx
        .prepare_cached("SELECT form_id, version FROM forms ORDER BY form_id, version")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out: Vec<Choice> = Vec::new();
    for (form_id, version) in versions {
        let Some(compiled) = cache.get(tx, &form_id, version)? else {
            continue;
        };
        let form = compiled.form();
        let Some(field) = form.outcome_field() else {
            continue;
        };
        let choices = field
            .choices
            .as_ref()
            .and_then(|list| form.choices.get(list))
            .cloned()
            .unwrap_or_default();
        for choice in choices {
            if !out.iter().any(|c| c.value == choice.value) {
                out.push(Choice {
                    label: format!("{} ({})", t.text(&choice.label), choice.value),
                    value: choice.value.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueueTemplate {
    t: Tr,
    chrome: Chrome,
    filter: Filter,
    page: QueuePage,
    enumerators: Vec<Choice>,
    villages: Vec<Choice>,
    outcomes: Vec<Choice>,
    next_link: Option<String>,
    first_link: Option<String>,
}

impl QueueTemplate {
    fn selected(&self, current: &Option<String>, value: &str) -> bool {
        set(current) == Some(value)
    }

    fn checked(&self, value: &Option<String>) -> bool {
        flag(value)
    }

    fn status_label(&self, status: &str) -> &'static str {
        status_key(status)
    }

    /// The names of a row's signals in the page's language, for the cell's tooltip.
    fn signal_names(&self, kinds: &[String]) -> String {
        kinds
            .iter()
            .map(|code| {
                crate::signals::Kind::parse(code).map_or(code.as_str(), |k| {
                    let (id, en) = k.label();
                    if self.t.code() == "en" { en } else { id }
                })
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// An outcome code with its label (from the published forms), the code alone when no form names it.
    fn outcome_label<'a>(&'a self, code: &'a str) -> &'a str {
        self.outcomes
            .iter()
            .find(|c| c.value == code)
            .map_or(code, |c| c.label.as_str())
    }
}

/// The table key of a visit status's name.
pub fn status_key(status: &str) -> &'static str {
    match status {
        "approved" => "status.approved",
        "returned" => "status.returned",
        "conflict" => "status.conflict",
        _ => "status.submitted",
    }
}

/// `GET /queue`.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
    Query(filter): Query<Filter>,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let user_id = staff.user_id().to_string();
    let t = staff.t;
    let chrome = staff.chrome("queue", &uri);
    work(&state, move |app| {
        let (page, enumerators, villages, outcomes) = app.db.read(|tx| {
            Ok::<_, ConsoleError>((
                query(tx, &user_id, &filter, PAGE_SIZE)?,
                enumerators(tx, &user_id)?,
                villages(tx, &user_id)?,
                outcomes(tx, &app.forms, t)?,
            ))
        })?;
        let query_string = filter.query_string();
        let next_link = page
            .next_after
            .map(|after| format!("/queue?{query_string}&after={after}"));
        let first_link = filter.after.map(|_| format!("/queue?{query_string}"));
        Ok(html(
            QueueTemplate {
                t,
                chrome,
                filter,
                page,
                enumerators,
                villages,
                outcomes,
                next_link,
                first_link,
            }
            .render(),
        ))
    })
    .await
}
