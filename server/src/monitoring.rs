//! Progress of the 6T monitoring of aid distribution (`schemas/forms/monitoring_6t.json`) per distribution point:
//! for each point (its code or name, village, distribution date), the monitoring visits made there, the KPM
//! interviewed and how many met, did not meet, or could not be judged on each of the six criteria (the form's
//! calculated `t_sasaran` … `t_administrasi`: `1` met, `2` not met, anything else unknown). Over the latest
//! revision of each visit in the supervisor's regions, read from what ingest stored for export (the calculated
//! values included), so nothing is re-evaluated here unless a visit predates that column.

use std::collections::BTreeMap;

use crate::db::sql::{Transaction, params};
use serde::Serialize;
use serde_json::Value;
use tepat_protocol::{Answers, VisitDoc};

use crate::db::DbError;
use crate::forms::FormCache;
use crate::regions::{self, scope_sql};

/// The form whose visits are counted.
pub const MONITORING_FORM: &str = "monitoring_6t";

/// The six criteria, as the form's calculated fields name them, and as the response names them.
pub const CRITERIA: [(&str, &str); 6] = [
    ("t_sasaran", "sasaran"),
    ("t_jumlah", "jumlah"),
    ("t_waktu", "waktu"),
    ("t_kualitas", "kualitas"),
    ("t_harga", "harga"),
    ("t_administrasi", "administrasi"),
];

/// KPM counted on each criterion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Criterion {
    pub met: u32,
    pub not_met: u32,
    pub unknown: u32,
}

/// One distribution point on one distribution day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DistributionPoint {
    /// The id or code written on site; empty when the monitor wrote none (the point is then told by its name).
    pub point_code: String,
    pub point_name: String,
    /// The form's `point_type` code (`1` e-Warong, `2` bank agent, `3` post office, `4` bank branch, `5` other).
    pub point_type: String,
    /// The village (Kemendagri code) and its name.
    pub region_code: String,
    pub region_name: String,
    pub distribution_date: String,
    /// The programme codes of the visits (`1` PKH, `2` Sembako / BPNT, `3` both), each once.
    pub programmes: Vec<String>,
    /// Monitoring visits of this point on this day (latest revisions).
    pub visits: u32,
    pub kpm_interviewed: u32,
    /// KPM with all six criteria met.
    pub kpm_all_met: u32,
    pub sasaran: Criterion,
    pub jumlah: Criterion,
    pub waktu: Criterion,
    pub kualitas: Criterion,
    pub harga: Criterion,
    pub administrasi: Criterion,
}

impl DistributionPoint {
    fn criterion_mut(&mut self, name: &str) -> Option<&mut Criterion> {
        Some(match name {
            "sasaran" => &mut self.sasaran,
            "jumlah" => &mut self.jumlah,
            "waktu" => &mut self.waktu,
            "kualitas" => &mut self.kualitas,
            "harga" => &mut self.harga,
            "administrasi" => &mut self.administrasi,
            _ => return None,
        })
    }

    fn count_kpm(&mut self, kpm: &serde_json::Map<String, Value>) {
        self.kpm_interviewed += 1;
        let mut met = 0;
        for (field, name) in CRITERIA {
            let result = match kpm.get(field) {
                Some(Value::String(code)) => code.as_str(),
                _ => "",
            };
            if let Some(criterion) = self.criterion_mut(name) {
                match result {
                    "1" => {
                        criterion.met += 1;
                        met += 1;
                    }
                    "2" => criterion.not_met += 1,
                    _ => criterion.unknown += 1,
                }
            }
        }
        if met == CRITERIA.len() {
            self.kpm_all_met += 1;
        }
    }
}

/// A page of distribution points, ordered by distribution date (newest first), village, code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionPoints {
    pub form_id: String,
    pub points: Vec<DistributionPoint>,
    /// Points in the supervisor's regions in all (every page).
    pub total: u32,
    /// The `offset` of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
}

fn text(answers: &Answers, key: &str) -> String {
    match answers.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A monitoring visit as stored: who made it, when, where it was filed, and what is exported of it.
struct Stored {
    visit_id: String,
    user_id: String,
    visit_date: String,
    region_code: String,
    answers: Answers,
}

/// Calls `each` with the latest revision of every monitoring visit in `supervisor_id`'s regions, in the order
/// the server received them.
fn for_each_visit(
    tx: &Transaction<'_>,
    cache: &FormCache,
    supervisor_id: &str,
    mut each: impl FnMut(Stored) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let sql = format!(
        "SELECT v.visit_id, v.form_version, v.region_code, v.exported,
             CASE WHEN v.exported IS NULL THEN v.doc END, v.user_id, v.visit_date
         FROM visits v
         WHERE v.form_id = ?1 AND v.is_latest = 1 AND {}
         ORDER BY v.seq",
        scope_sql("v.region_code", "?2")
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query(params![MONITORING_FORM, supervisor_id])?;
    while let Some(row) = rows.next()? {
        let visit_id: String = row.get(0)?;
        let version: u32 = row.get(1)?;
        let answers: Answers = match row.get::<_, Option<String>>(3)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                DbError::Corrupt(format!("visit {visit_id}: exported answers: {e}"))
            })?,
            None => {
                let doc: String = row.get(4)?;
                let doc: VisitDoc = serde_json::from_str(&doc)
                    .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: {e}")))?;
                let form = cache.get(tx, MONITORING_FORM, version)?;
                crate::export::exported(form.as_ref(), &doc)
            }
        };
        each(Stored {
            visit_id,
            user_id: row.get(5)?,
            visit_date: row.get(6)?,
            region_code: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            answers,
        })?;
    }
    Ok(())
}

/// The village a visit names (else the one it was filed under).
fn village_of(visit: &Stored) -> String {
    let answered = text(&visit.answers, "region");
    if answered.is_empty() {
        visit.region_code.clone()
    } else {
        answered
    }
}

/// The points of the monitoring visits in `supervisor_id`'s regions, `limit` of them from `offset`.
pub fn distribution_points(
    tx: &Transaction<'_>,
    cache: &FormCache,
    supervisor_id: &str,
    offset: usize,
    limit: usize,
) -> Result<DistributionPoints, DbError> {
    // (date, village, code, else name) → the point: a BTreeMap keeps the order (dates reversed below).
    let mut points: BTreeMap<(String, String, String), DistributionPoint> = BTreeMap::new();
    for_each_visit(tx, cache, supervisor_id, |visit| {
        let answers = &visit.answers;
        let village = village_of(&visit);
        let code = text(answers, "point_code");
        let name = text(answers, "point_name");
        let date = text(answers, "distribution_date");
        // A point is told by its code, compared as people write it on site (case aside); without one, by its name.
        let identity = if code.is_empty() {
            format!("name:{}", name.to_lowercase())
        } else {
            format!("code:{}", code.to_uppercase())
        };
        let point = points
            .entry((date.clone(), village.clone(), identity))
            .or_insert_with(|| DistributionPoint {
                point_code: code.clone(),
                point_name: name.clone(),
                point_type: text(answers, "point_type"),
                region_name: regions::name(&village).to_string(),
                region_code: village.clone(),
                distribution_date: date.clone(),
                ..DistributionPoint::default()
            });
        point.visits += 1;
        let programme = text(answers, "programme");
        if !programme.is_empty() && !point.programmes.contains(&programme) {
            point.programmes.push(programme);
            point.programmes.sort();
        }
        let kpm = answers.get("kpm").and_then(Value::as_array);
        for member in kpm.into_iter().flatten().filter_map(Value::as_object) {
            point.count_kpm(member);
        }
        Ok(())
    })?;
    let total = points.len();
    // Newest distribution day first; within a day, by village, code and name.
    let mut ordered: Vec<DistributionPoint> = Vec::with_capacity(total);
    let mut by_day: BTreeMap<String, Vec<DistributionPoint>> = BTreeMap::new();
    for ((date, ..), point) in points {
        by_day.entry(date).or_default().push(point);
    }
    for (_, day) in by_day.into_iter().rev() {
        ordered.extend(day);
    }
    let page: Vec<DistributionPoint> = ordered.into_iter().skip(offset).take(limit).collect();
    let next = offset + page.len();
    Ok(DistributionPoints {
        form_id: MONITORING_FORM.to_string(),
        points: page,
        total: u32::try_from(total).unwrap_or(u32::MAX),
        next_offset: (next < total).then(|| u32::try_from(next).unwrap_or(u32::MAX)),
    })
}

/// The columns of the per-KPM export: the visit, the point (on every KPM's row), the KPM and its six results.
pub const KPM_COLUMNS: [&str; 33] = [
    "visit_id",
    "user_id",
    "visit_date",
    "point_code",
    "point_name",
    "point_type",
    "region_code",
    "region_name",
    "distribution_date",
    "programme",
    "period_year",
    "period_stage",
    "kpm_no",
    "kpm_name",
    "kpm_nik",
    "kpm_kk",
    "on_list",
    "received",
    "aid_form",
    "cash_due",
    "cash_received",
    "goods_value_due",
    "goods_value_received",
    "t_sasaran",
    "t_jumlah",
    "t_waktu",
    "t_kualitas",
    "t_harga",
    "t_administrasi",
    "t_met",
    "kpm_all_met",
    "problems",
    "problem_notes",
];

/// Writes one row per KPM interviewed (the point's columns repeated on each, then the KPM's answers and six
/// results; cells as the other exports write them, formulas defused) of the monitoring visits in
/// `supervisor_id`'s regions. Returns the rows written.
pub fn write_kpm_csv<W: std::io::Write>(
    tx: &Transaction<'_>,
    cache: &FormCache,
    supervisor_id: &str,
    out: W,
) -> Result<u64, crate::export::ExportError> {
    use crate::export::cell;
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(KPM_COLUMNS)?;
    let mut written = 0u64;
    let mut failed: Option<csv::Error> = None;
    for_each_visit(tx, cache, supervisor_id, |visit| {
        let answers = &visit.answers;
        let village = village_of(&visit);
        let kpm = answers.get("kpm").and_then(Value::as_array);
        for (no, member) in kpm.into_iter().flatten().enumerate() {
            let mut record: Vec<String> = vec![
                visit.visit_id.clone(),
                cell(Some(&Value::String(visit.user_id.clone()))),
                visit.visit_date.clone(),
            ];
            for key in ["point_code", "point_name", "point_type"] {
                record.push(cell(answers.get(key)));
            }
            record.push(village.clone());
            record.push(regions::name(&village).to_string());
            for key in [
                "distribution_date",
                "programme",
                "period_year",
                "period_stage",
            ] {
                record.push(cell(answers.get(key)));
            }
            record.push((no + 1).to_string());
            for key in &KPM_COLUMNS[13..] {
                record.push(cell(member.get(*key)));
            }
            if let Err(e) = csv.write_record(&record) {
                failed = Some(e);
                return Err(DbError::Corrupt("writing the export".into()));
            }
            written += 1;
        }
        Ok(())
    })
    .map_err(|e| match failed.take() {
        Some(write) => crate::export::ExportError::Write(write),
        None => crate::export::ExportError::Db(e),
    })?;
    csv.flush()
        .map_err(|e| crate::export::ExportError::Write(e.into()))?;
    Ok(written)
}
