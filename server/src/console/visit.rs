//! A visit as the supervisor reviews it: answers by section with the form's labels, the roster, findings with the
//! enumerator's notes, GPS with accuracy and the distance to the household's other visits, photos, and the
//! history of revisions with what changed; then approve, or return with a comment pinned to a field if wanted.

use std::collections::BTreeMap;

use crate::db::sql::{OptionalExtension, Transaction, params};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use tepat_form::{Field, FieldType, Form, Level};
use tepat_protocol::{Decision, ReviewRequest, Role, VisitDoc};

use super::i18n::Tr;
use super::queue::status_key;
use super::{Chrome, ConsoleError, Posted, Staff, csrf_form, html, see_other, work};
use crate::api::AppState;
use crate::db::DbError;
use crate::forms::{self, FormCache};
use crate::media::{self, thumb};
use crate::regions::{self, scope_sql};
use crate::review::{self, ReviewError};

/// One answer line.
#[derive(Debug, Clone)]
pub struct AnswerLine {
    pub path: String,
    pub label: String,
    pub value: String,
    pub flagged: bool,
}

#[derive(Debug, Clone)]
pub struct SectionView {
    pub title: String,
    pub lines: Vec<AnswerLine>,
}

#[derive(Debug, Clone)]
pub struct RosterView {
    pub title: String,
    pub columns: Vec<String>,
    pub members: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct FindingView {
    pub path: String,
    pub error: bool,
    pub message: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct GpsView {
    pub label: String,
    pub lat: String,
    pub lon: String,
    pub accuracy_m: String,
    /// Metres to each other visit of the same household (assignment) that has a fix.
    pub distances: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ChangeView {
    pub path: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone)]
pub struct RevisionView {
    pub revision: u32,
    pub status: String,
    pub received_at: String,
    pub comment: String,
    pub reviewer: String,
    pub field: String,
    pub changes: Vec<ChangeView>,
}

/// One photo of the visit's latest revision: a preview and a link when the server holds it, else "not arrived".
#[derive(Debug, Clone)]
pub struct PhotoView {
    /// The question's label (`Foto tampak depan`; `Anggota 2 · Foto` inside a roster).
    pub label: String,
    pub path: String,
    pub sha256: String,
    pub arrived: bool,
}

/// A field the comment may be pinned to.
#[derive(Debug, Clone)]
pub struct PinChoice {
    pub path: String,
    pub label: String,
}

/// Everything the visit page shows.
#[derive(Debug, Clone)]
pub struct VisitView {
    pub visit_id: String,
    pub revision: u32,
    pub status: String,
    pub form_title: String,
    pub enumerator: String,
    pub region_code: String,
    pub village: String,
    pub label: String,
    pub visit_date: String,
    pub received_at: String,
    pub sections: Vec<SectionView>,
    pub rosters: Vec<RosterView>,
    pub findings: Vec<FindingView>,
    pub gps: Vec<GpsView>,
    pub photos: Vec<PhotoView>,
    /// Photos of the latest revision that have not reached the server yet.
    pub photos_missing: usize,
    pub history: Vec<RevisionView>,
    pub pins: Vec<PinChoice>,
    pub can_decide: bool,
    /// How the latest revision was filled in (`paradata.rs`), label and value; empty without a trail.
    pub paradata: Vec<(String, String)>,
    /// The latest revision's signals of fabrication (`crate::signals`).
    pub signals: Vec<SignalView>,
}

/// One signal of fabrication on the visit page.
#[derive(Debug, Clone)]
pub struct SignalView {
    pub name: String,
    pub reason: String,
    /// The other visit a signal relating two visits names (empty otherwise).
    pub other: String,
}

struct Stored {
    revision: u32,
    doc: VisitDoc,
    status: String,
    received_at: String,
    findings: Vec<tepat_form::Finding>,
    review_comment: Option<String>,
    reviewer: Option<String>,
    user_id: String,
    region_code: String,
}

/// Every revision of a visit in `supervisor_id`'s regions, oldest first; empty when there is none (or it is
/// outside them: the same answer, so a URL tells nothing about other regions).
fn revisions(
    tx: &Transaction<'_>,
    supervisor_id: &str,
    visit_id: &str,
) -> Result<Vec<Stored>, DbError> {
    let sql = format!(
        "SELECT revision, doc, status, received_at, findings, review_comment, reviewer, user_id, region_code
         FROM visits v WHERE v.visit_id = ?1 AND {} ORDER BY revision",
        scope_sql("v.region_code", "?2")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![visit_id, supervisor_id], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            revision,
            doc,
            status,
            received_at,
            findings,
            review_comment,
            reviewer,
            user_id,
            region_code,
        ) = row?;
        out.push(Stored {
            revision,
            doc: serde_json::from_str(&doc).map_err(|e| DbError::Corrupt(format!("visit: {e}")))?,
            status,
            received_at,
            findings: serde_json::from_str(&findings)
                .map_err(|e| DbError::Corrupt(format!("findings: {e}")))?,
            review_comment,
            reviewer,
            user_id,
            region_code,
        });
    }
    Ok(out)
}

/// The display text of one answer, with the form's choice labels (not codes) and region names.
pub fn display(form: &Form, field: Option<&Field>, value: &Value, t: Tr) -> String {
    let choice_label = |code: &str| -> String {
        field
            .and_then(|f| f.choices.as_ref())
            .and_then(|list| form.choices.get(list))
            .and_then(|choices| choices.iter().find(|c| c.value == code))
            .map_or_else(
                || code.to_string(),
                |c| format!("{} ({code})", t.text(&c.label)),
            )
    };
    let kind = field.map(|f| f.kind);
    match (kind, value) {
        (_, Value::Null) => "—".into(),
        (Some(FieldType::SelectOne), Value::String(code)) => choice_label(code),
        (Some(FieldType::SelectMultiple), Value::Array(codes)) => codes
            .iter()
            .map(|c| c.as_str().map_or_else(|| c.to_string(), choice_label))
            .collect::<Vec<_>>()
            .join("; "),
        (Some(FieldType::Region), Value::String(code)) => {
            format!("{} ({code})", regions::name(code))
        }
        (Some(FieldType::Geopoint), Value::Object(fix)) => {
            let num = |k: &str| fix.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            format!(
                "{:.6}, {:.6} (± {:.0} m)",
                num("lat"),
                num("lon"),
                num("accuracy_m")
            )
        }
        (Some(FieldType::Photo), Value::Object(photo)) => photo
            .get("file")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        (_, Value::String(text)) => text.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, other) => other.to_string(),
    }
}

/// Every answer of a visit flattened to `path → display text` (`members[1].member_name`), for the history.
fn flatten(form: Option<&Form>, doc: &VisitDoc, t: Tr) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let field_of = |id: &str, inside: Option<&str>| -> Option<&Field> {
        let form = form?;
        let top = form.sections.iter().flat_map(|s| s.fields.iter());
        match inside {
            None => top.clone().find(|f| f.id == id),
            Some(repeat) => top
                .clone()
                .find(|f| f.id == repeat)
                .and_then(|r| r.fields.iter().find(|f| f.id == id)),
        }
    };
    let show = |field: Option<&Field>, value: &Value| match form {
        Some(form) => display(form, field, value, t),
        None => value.to_string(),
    };
    for (key, value) in &doc.answers {
        match value {
            Value::Array(members)
                if members.iter().all(Value::is_object) && !members.is_empty() =>
            {
                for (i, member) in members.iter().enumerate() {
                    if let Value::Object(member) = member {
                        for (child, v) in member {
                            out.insert(
                                format!("{key}[{i}].{child}"),
                                show(field_of(child, Some(key)), v),
                            );
                        }
                    }
                }
            }
            _ => {
                out.insert(key.clone(), show(field_of(key, None), value));
            }
        }
    }
    out
}

fn changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<ChangeView> {
    let mut out = Vec::new();
    for (path, new) in after {
        match before.get(path) {
            Some(old) if old == new => {}
            old => out.push(ChangeView {
                path: path.clone(),
                before: old.cloned().unwrap_or_else(|| "—".into()),
                after: new.clone(),
            }),
        }
    }
    for (path, old) in before {
        if !after.contains_key(path) {
            out.push(ChangeView {
                path: path.clone(),
                before: old.clone(),
                after: "—".into(),
            });
        }
    }
    out
}

/// Great-circle distance in metres.
fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

fn fix_of(value: &Value) -> Option<(f64, f64)> {
    Some((value.get("lat")?.as_f64()?, value.get("lon")?.as_f64()?))
}

/// The GPS fixes of the other visits of the same household (assignment) in the supervisor's regions.
fn household_fixes(
    tx: &Transaction<'_>,
    supervisor_id: &str,
    doc: &VisitDoc,
) -> Result<Vec<(f64, f64)>, DbError> {
    let Some(assignment) = &doc.assignment_id else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT doc FROM visits v WHERE v.assignment_id = ?1 AND v.visit_id != ?2 AND v.is_latest = 1 AND {}
         LIMIT 20",
        scope_sql("v.region_code", "?3")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let docs = stmt.query_map(
        params![assignment, doc.visit_id.to_string(), supervisor_id],
        |r| r.get::<_, String>(0),
    )?;
    let mut out = Vec::new();
    for other in docs {
        let other: VisitDoc =
            serde_json::from_str(&other?).map_err(|e| DbError::Corrupt(e.to_string()))?;
        out.extend(other.answers.values().filter_map(fix_of));
    }
    Ok(out)
}

/// The photos of one revision (`visit_photos`, filled at ingest), with whether each has reached the server.
fn photo_views(
    tx: &Transaction<'_>,
    form: Option<&Form>,
    visit_id: &str,
    revision: u32,
    t: Tr,
) -> Result<Vec<PhotoView>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.path, p.sha256, m.sha256 IS NOT NULL FROM visit_photos p
         LEFT JOIN media m ON m.sha256 = p.sha256
         WHERE p.visit_id = ?1 AND p.revision = ?2 ORDER BY p.path",
    )?;
    let rows = stmt.query_map(params![visit_id, revision], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (path, sha256, arrived) = row?;
        out.push(PhotoView {
            label: photo_label(form, &path, t),
            path,
            sha256,
            arrived,
        });
    }
    Ok(out)
}

/// The label of the photo question at `path`: `photo_front`, or `members[1].photo` (member 2's).
fn photo_label(form: Option<&Form>, path: &str, t: Tr) -> String {
    let Some(form) = form else {
        return path.to_string();
    };
    let fields = || form.sections.iter().flat_map(|s| s.fields.iter());
    match path.split_once('[') {
        None => fields()
            .find(|f| f.id == path)
            .map_or_else(|| path.to_string(), |f| t.text(&f.label).to_string()),
        Some((repeat, rest)) => {
            let member = rest
                .split_once(']')
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let child = rest.rsplit_once('.').map(|(_, id)| id);
            let label = fields()
                .find(|f| f.id == repeat)
                .and_then(|r| r.fields.iter().find(|c| Some(c.id.as_str()) == child))
                .map(|c| t.text(&c.label).to_string());
            match (member, label) {
                (Some(i), Some(label)) => format!("{} {} · {label}", t.get("visit.member"), i + 1),
                _ => path.to_string(),
            }
        }
    }
}

/// Whether the photo `sha256` is referenced by some revision of `visit_id`, a visit in `supervisor_id`'s
/// regions, and has reached the server: only then does the console serve it.
fn photo_visible(
    tx: &Transaction<'_>,
    supervisor_id: &str,
    visit_id: &str,
    sha256: &str,
) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM visit_photos p
             JOIN visits v ON v.visit_id = p.visit_id AND v.revision = p.revision
             JOIN media m ON m.sha256 = p.sha256
         WHERE p.visit_id = ?1 AND p.sha256 = ?2 AND {})",
        scope_sql("v.region_code", "?3")
    );
    Ok(tx.query_row(&sql, params![visit_id, sha256, supervisor_id], |r| r.get(0))?)
}

/// The view of a visit for `supervisor_id`, or `None` when it is not in their regions.
pub fn view(
    tx: &Transaction<'_>,
    cache: &FormCache,
    supervisor_id: &str,
    visit_id: &str,
    t: Tr,
) -> Result<Option<VisitView>, DbError> {
    let stored = revisions(tx, supervisor_id, visit_id)?;
    let Some(latest) = stored.last() else {
        return Ok(None);
    };
    let compiled = cache.get(tx, &latest.doc.form_id, latest.doc.form_version)?;
    let form = compiled.as_ref().map(|c| c.form());
    let doc = &latest.doc;
    let enumerator: String = tx
        .query_row(
            "SELECT name FROM users WHERE user_id = ?1",
            [&latest.user_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let label: String = match &doc.assignment_id {
        Some(id) => tx
            .query_row(
                "SELECT label FROM assignments WHERE assignment_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default(),
        None => String::new(),
    };
    let flagged: Vec<&str> = latest.findings.iter().map(|f| f.path.as_str()).collect();
    let mut sections = Vec::new();
    let mut rosters = Vec::new();
    let mut gps = Vec::new();
    let mut pins = Vec::new();
    let others = household_fixes(tx, supervisor_id, doc)?;
    if let Some(form) = form {
        for section in &form.sections {
            let mut lines = Vec::new();
            for field in section
                .fields
                .iter()
                .filter(|f| forms::holds_answer(f.kind))
            {
                let value = doc.answers.get(&field.id);
                if field.kind == FieldType::Repeat {
                    let children: Vec<&Field> = field
                        .fields
                        .iter()
                        .filter(|f| forms::holds_answer(f.kind))
                        .collect();
                    let members: Vec<Vec<String>> = value
                        .and_then(Value::as_array)
                        .map(|list| {
                            list.iter()
                                .map(|m| {
                                    children
                                        .iter()
                                        .map(|c| {
                                            display(
                                                form,
                                                Some(c),
                                                m.get(&c.id).unwrap_or(&Value::Null),
                                                t,
                                            )
                                        })
                                        .collect()
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    for (i, _) in members.iter().enumerate() {
                        for child in &children {
                            pins.push(PinChoice {
                                path: format!("{}[{i}].{}", field.id, child.id),
                                label: format!(
                                    "{} {} · {}",
                                    t.get("visit.member"),
                                    i + 1,
                                    t.text(&child.label)
                                ),
                            });
                        }
                    }
                    rosters.push(RosterView {
                        title: t.text(&field.label).to_string(),
                        columns: children
                            .iter()
                            .map(|c| t.text(&c.label).to_string())
                            .collect(),
                        members,
                    });
                    continue;
                }
                if value.is_none() && field.kind == FieldType::Calculate {
                    continue;
                }
                let shown = display(form, Some(field), value.unwrap_or(&Value::Null), t);
                if field.kind == FieldType::Geopoint
                    && let Some(fix) = value.and_then(fix_of)
                {
                    gps.push(GpsView {
                        label: t.text(&field.label).to_string(),
                        lat: format!("{:.6}", fix.0),
                        lon: format!("{:.6}", fix.1),
                        accuracy_m: value
                            .and_then(|v| v.get("accuracy_m"))
                            .and_then(Value::as_f64)
                            .map_or_else(|| "?".into(), |a| format!("{a:.0}")),
                        distances: others
                            .iter()
                            .map(|o| format!("{:.0} m", haversine_m(fix, *o)))
                            .collect(),
                    });
                }
                if field.kind != FieldType::Calculate {
                    pins.push(PinChoice {
                        path: field.id.clone(),
                        label: t.text(&field.label).to_string(),
                    });
                }
                lines.push(AnswerLine {
                    flagged: flagged.contains(&field.id.as_str()),
                    path: field.id.clone(),
                    label: t.text(&field.label).to_string(),
                    value: shown,
                });
            }
            sections.push(SectionView {
                title: t.text(&section.title).to_string(),
                lines,
            });
        }
    } else {
        // The form is not published (it should be): the raw answers, so nothing is hidden.
        sections.push(SectionView {
            title: doc.form_id.clone(),
            lines: flatten(None, doc, t)
                .into_iter()
                .map(|(path, value)| AnswerLine {
                    label: path.clone(),
                    path,
                    value,
                    flagged: false,
                })
                .collect(),
        });
    }
    let photos = photo_views(tx, form, visit_id, latest.revision, t)?;
    let signals = crate::signals::of_visit(tx, visit_id, latest.revision)?
        .into_iter()
        .map(|s| SignalView {
            name: crate::signals::Kind::parse(&s.kind).map_or_else(
                || s.kind.clone(),
                |k| {
                    let (id, en) = k.label();
                    (if t.code() == "en" { en } else { id }).to_string()
                },
            ),
            reason: t.text(&s.reason).to_string(),
            other: s.other_visit_id.unwrap_or_default(),
        })
        .collect();
    let findings = latest
        .findings
        .iter()
        .map(|f| FindingView {
            path: f.path.clone(),
            error: f.level == Level::Error,
            message: t.text(&f.message).to_string(),
            note: doc.warning_notes.get(&f.path).cloned().unwrap_or_default(),
        })
        .collect();
    let mut history = Vec::new();
    let mut previous: Option<BTreeMap<String, String>> = None;
    for rev in &stored {
        let rev_form = cache.get(tx, &rev.doc.form_id, rev.doc.form_version)?;
        let now = flatten(rev_form.as_ref().map(|c| c.form()), &rev.doc, t);
        let field: Option<String> = tx
            .query_row(
                "SELECT field FROM reviews WHERE visit_id = ?1 AND revision = ?2 ORDER BY id DESC LIMIT 1",
                params![visit_id, rev.revision],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        history.push(RevisionView {
            revision: rev.revision,
            status: rev.status.clone(),
            received_at: rev.received_at.chars().take(16).collect(),
            comment: rev.review_comment.clone().unwrap_or_default(),
            reviewer: rev.reviewer.clone().unwrap_or_default(),
            field: field.unwrap_or_default(),
            changes: previous
                .as_ref()
                .map(|p| changes(p, &now))
                .unwrap_or_default(),
        });
        previous = Some(now);
    }
    let paradata = paradata_lines(tx, visit_id, latest.revision, form, t)?;
    Ok(Some(VisitView {
        paradata,
        visit_id: visit_id.to_string(),
        revision: latest.revision,
        status: latest.status.clone(),
        form_title: form.map_or_else(|| doc.form_id.clone(), |f| t.text(&f.title).to_string()),
        enumerator,
        village: regions::name(&latest.region_code).to_string(),
        region_code: latest.region_code.clone(),
        label,
        visit_date: doc.visit_date.to_string(),
        received_at: latest.received_at.chars().take(16).collect(),
        sections,
        rosters,
        findings,
        gps,
        photos_missing: photos.iter().filter(|p| !p.arrived).count(),
        photos,
        history,
        pins,
        can_decide: latest.status == "submitted",
        signals,
    }))
}

/// The paradata of a revision as label/value lines (none when it came without a trail).
fn paradata_lines(
    tx: &Transaction<'_>,
    visit_id: &str,
    revision: u32,
    form: Option<&tepat_form::Form>,
    t: Tr,
) -> Result<Vec<(String, String)>, DbError> {
    let json: Option<String> = tx
        .query_row(
            "SELECT paradata FROM visits WHERE visit_id = ?1 AND revision = ?2",
            params![visit_id, revision],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let Some(p) = json.and_then(|j| serde_json::from_str::<crate::paradata::Paradata>(&j).ok())
    else {
        return Ok(Vec::new());
    };
    let minutes = |s: i64| format!("{} min {} s", s / 60, s % 60);
    let sections = form.map_or_else(
        || p.section_cell(None),
        |form| {
            form.sections
                .iter()
                .filter_map(|s| {
                    p.section_s
                        .get(&s.id)
                        .map(|secs| format!("{}: {}", t.text(&s.title), minutes(*secs)))
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
    );
    let fix = |f: Option<&crate::paradata::Fix>| {
        f.map_or_else(
            || "—".to_string(),
            |f| {
                format!(
                    "{}, {} ({})",
                    f.lat,
                    f.lon,
                    f.at.chars().take(19).collect::<String>()
                )
            },
        )
    };
    Ok(vec![
        (
            t.get("visit.paradata_duration").to_string(),
            p.duration_s.map_or_else(|| "—".to_string(), minutes),
        ),
        (t.get("visit.paradata_sections").to_string(), sections),
        (
            t.get("visit.paradata_changed").to_string(),
            p.answers_changed.to_string(),
        ),
        (
            t.get("visit.paradata_confirmed").to_string(),
            p.prefill_confirmed_unchanged.to_string(),
        ),
        (
            t.get("visit.paradata_gps_start").to_string(),
            fix(p.gps_start.as_ref()),
        ),
        (
            t.get("visit.paradata_gps_final").to_string(),
            fix(p.gps_final.as_ref()),
        ),
    ])
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitTemplate {
    t: Tr,
    chrome: Chrome,
    v: VisitView,
    done: bool,
}

impl VisitTemplate {
    fn status_label(&self, status: &str) -> &'static str {
        status_key(status)
    }
}

#[derive(Debug, Deserialize)]
pub struct VisitQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /visits/{visit_id}`.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
    Path(visit_id): Path<String>,
    Query(query): Query<VisitQuery>,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let visit_id = uuid::Uuid::parse_str(&visit_id)
        .map_err(|_| ConsoleError::NotFound)?
        .to_string();
    let user_id = staff.user_id().to_string();
    let t = staff.t;
    let chrome = staff.chrome("queue", &uri);
    work(&state, move |app| {
        let v = app
            .db
            .read(|tx| view(tx, &app.forms, &user_id, &visit_id, t))?
            .ok_or(ConsoleError::NotFound)?;
        Ok(html(
            VisitTemplate {
                t,
                chrome,
                v,
                done: query.done.is_some(),
            }
            .render(),
        ))
    })
    .await
}

/// `GET /visits/{visit_id}/photos/{sha256}` (the photo) and `…/{sha256}/preview` (a small JPEG for the page):
/// for a supervisor whose regions hold the visit, when the visit references the photo and it has arrived; 404
/// otherwise (the same answer for another region's photo as for one that does not exist).
pub async fn photo(
    State(state): State<AppState>,
    staff: Staff,
    Path((visit_id, sha256)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    serve_photo(state, staff, visit_id, sha256, false).await
}

/// See [`photo`].
pub async fn photo_preview(
    State(state): State<AppState>,
    staff: Staff,
    Path((visit_id, sha256)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    serve_photo(state, staff, visit_id, sha256, true).await
}

async fn serve_photo(
    state: AppState,
    staff: Staff,
    visit_id: String,
    sha256: String,
    preview: bool,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let visit_id = uuid::Uuid::parse_str(&visit_id)
        .map_err(|_| ConsoleError::NotFound)?
        .to_string();
    if !media::is_sha256(&sha256) {
        return Err(ConsoleError::NotFound);
    }
    let user_id = staff.user_id().to_string();
    work(&state, move |app| {
        if !app
            .db
            .read(|tx| photo_visible(tx, &user_id, &visit_id, &sha256))?
        {
            return Err(ConsoleError::NotFound);
        }
        let bytes = media::read(&app.media, &sha256).map_err(|e| {
            tracing::error!(error = %e, "console photo");
            ConsoleError::Internal
        })?;
        let bytes = if preview {
            thumb::thumbnail(&bytes).map_err(|e| {
                tracing::warn!(error = %e, sha256, "console photo preview");
                ConsoleError::Internal
            })?
        } else {
            bytes
        };
        Ok((
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                // Named by its hash: it never changes; private, as it is evidence about a household.
                (
                    header::CACHE_CONTROL,
                    "private, max-age=31536000, immutable",
                ),
            ],
            bytes,
        )
            .into_response())
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    revision: u32,
    decision: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    field: String,
}
csrf_form!(ReviewForm);

/// `POST /visits/{visit_id}/review`: the API's review, as the logged-in supervisor.
pub async fn review(
    State(state): State<AppState>,
    Path(visit_id): Path<String>,
    posted: Posted<ReviewForm>,
) -> Result<Response, ConsoleError> {
    posted.staff.require(Role::Supervisor)?;
    let visit_uuid = uuid::Uuid::parse_str(&visit_id).map_err(|_| ConsoleError::NotFound)?;
    let form = posted.form;
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "return" => Decision::Return,
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "decision: {other:?} is neither approve nor return"
            )));
        }
    };
    let field = form.field.trim();
    let request = ReviewRequest {
        visit_id: visit_uuid,
        revision: form.revision,
        decision,
        comment: form.comment,
        field: (!field.is_empty() && decision == Decision::Return).then(|| field.to_string()),
    };
    let caller = posted.staff.caller();
    work(&state, move |app| {
        app.db.write(
            |tx| match review::review(tx, &caller, &request, Utc::now()) {
                Ok(_) => Ok(()),
                Err(ReviewError::NotFound(..)) => Err(ConsoleError::NotFound),
                Err(ReviewError::Db(e)) => Err(e.into()),
                Err(e) => Err(ConsoleError::BadRequest(e.to_string())),
            },
        )
    })
    .await?;
    tracing::info!(visit_id = %visit_uuid, revision = form.revision, ?decision, "review (console)");
    Ok(see_other(&format!("/visits/{visit_uuid}?done=1")))
}
