//! The signals in the database: what ingest records of each visit's latest revision, the signals, and the
//! neighbours recomputed when a visit (or a photo) arrives.
//!
//! Tables (schema: `db::migrations`, `signal_tables`):
//! - `signal_facts`: one row per visit (its latest revision): enumerator, household, village, outcome class,
//!   device times, GPS fix and its cell, roster size and hash;
//! - `signal_niks`: the NIKs of each visit's roster;
//! - `visit_signals (visit_id, revision, kind, other, detail)`: the signals; `other` is the related visit for a
//!   signal relating two visits (stored on both), empty otherwise;
//! - `media.captured_at` / `captured_offset`: a stored photo's EXIF capture time.
//!
//! Every lookup of related visits goes through an index and reads at most `max_related` rows: visits in the
//! nine GPS cells around the fix, the visits holding each NIK, each photo, the roster's hash, the enumerator's
//! visits just before and after in time, the enumerator's day, the village. Nothing scans all visits.
//!
//! What a visit costs must not grow with what is stored (figure 4 in BENCHMARKS.md):
//! - the limit is written into the SQL (`LIMIT 200`), never bound: SQLite reads a bound `LIMIT ?` when it prepares
//!   the statement, so every new binding would re-prepare it (the cached statement's parse thrown away);
//! - the enumerator's day is re-read only when the new visit can change its "one spot" flag (`same_spot_day`);
//! - a village's "many not found" flag keeps its numbers once per enumerator (`signal_village_flags.detail`), not
//!   on each of their visits, so a visit elsewhere in the village rewrites one row, not all of them.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::sql::{OptionalExtension, Row, Transaction, params};
use chrono::{FixedOffset, NaiveDate, NaiveDateTime};

use super::exif::Captured;
use super::rules::{self, Facts, Fix, OutcomeClass, VillageCounts};
use super::{Detail, Kind, Signal};
use crate::config::SignalThresholds;
use crate::db::{self, DbError};

const FACT_COLUMNS: &str = "f.visit_id, f.revision, f.user_id, f.household, f.region_code, f.outcome_class, \
     f.started_at, f.finalised_at, f.day, f.lat, f.lon, f.accuracy_m, f.members, f.roster_hash";

fn read_facts(r: &Row<'_>) -> Result<Facts, DbError> {
    let started_at: String = r.get(6)?;
    let finalised_at: Option<String> = r.get(7)?;
    let day: String = r.get(8)?;
    let fix = match (r.get::<_, Option<f64>>(9)?, r.get::<_, Option<f64>>(10)?) {
        (Some(lat), Some(lon)) => Some(Fix {
            lat,
            lon,
            accuracy_m: r.get::<_, Option<f64>>(11)?.unwrap_or(0.0),
        }),
        _ => None,
    };
    Ok(Facts {
        visit_id: r.get(0)?,
        revision: r.get(1)?,
        user_id: r.get(2)?,
        household: r.get(3)?,
        region_code: r.get(4)?,
        class: OutcomeClass::parse(&r.get::<_, String>(5)?),
        started_at: db::parse_timestamp(&started_at)?,
        finalised_at: finalised_at
            .as_deref()
            .map(db::parse_timestamp)
            .transpose()?,
        day: day
            .parse::<NaiveDate>()
            .map_err(|e| DbError::Corrupt(format!("signal day {day:?}: {e}")))?,
        fix,
        members: r.get(12)?,
        roster_hash: r.get(13)?,
    })
}

/// The facts of the rows a query (selecting [`FACT_COLUMNS`]) returns.
fn query_facts(
    tx: &Transaction<'_>,
    sql: &str,
    values: impl crate::db::sql::Params,
) -> Result<Vec<Facts>, DbError> {
    // Collected in one round trip on PostgreSQL (every such lookup is bounded by its LIMIT): read row by row
    // through a cursor, each would cost two while the batch holds the write lock.
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt
        .query_map(values, |row| Ok(read_facts(row)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().collect()
}

fn load(tx: &Transaction<'_>, visit_id: &str) -> Result<Option<Facts>, DbError> {
    let sql = format!("SELECT {FACT_COLUMNS} FROM signal_facts f WHERE f.visit_id = ?1");
    Ok(query_facts(tx, &sql, [visit_id])?.pop())
}

fn put(
    tx: &Transaction<'_>,
    visit: &Facts,
    kind: Kind,
    other: &str,
    detail: &Detail,
) -> Result<(), DbError> {
    let detail = serde_json::to_string(detail).map_err(|e| DbError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO visit_signals (visit_id, revision, kind, other, detail) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (visit_id, kind, other) DO UPDATE SET revision = excluded.revision, detail = excluded.detail",
    )?
    .execute(params![visit.visit_id, visit.revision, kind.as_str(), other, detail])?;
    Ok(())
}

/// A signal relating two visits, stored on both.
fn pair(
    tx: &Transaction<'_>,
    a: &Facts,
    b: &Facts,
    kind: Kind,
    detail: &Detail,
) -> Result<(), DbError> {
    put(tx, a, kind, &b.visit_id, detail)?;
    put(tx, b, kind, &a.visit_id, detail)
}

/// Removes a pair signal between two visits; true when there was one.
fn unpair(tx: &Transaction<'_>, a: &str, b: &str, kind: Kind) -> Result<bool, DbError> {
    let removed = tx
        .prepare_cached(
            "DELETE FROM visit_signals WHERE kind = ?3 AND ((visit_id = ?1 AND other = ?2) OR (visit_id = ?2 AND other = ?1))",
        )?
        .execute(params![a, b, kind.as_str()])?;
    Ok(removed > 0)
}

/// The (other visit, kind) of every pair signal a visit holds.
fn pairs_of(tx: &Transaction<'_>, visit_id: &str) -> Result<BTreeSet<(String, String)>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT other, kind FROM visit_signals WHERE visit_id = ?1 AND other <> ''",
    )?;
    let rows = stmt.query_map([visit_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records the facts of a visit's newly stored latest revision and computes its signals, and those of the visits
/// it relates to: the pairs it forms (stored on both), the enumerator's day and time order, the village's "not
/// found" shares. Every other visit whose signals changed moves to the end of the supervisor pull (new `seq`).
pub fn on_ingest(
    tx: &Transaction<'_>,
    f: &Facts,
    niks: &[String],
    t: &SignalThresholds,
) -> Result<(), DbError> {
    let old = load(tx, &f.visit_id)?;
    let before = pairs_of(tx, &f.visit_id)?;
    tx.prepare_cached("DELETE FROM visit_signals WHERE visit_id = ?1")?
        .execute([&f.visit_id])?;
    tx.prepare_cached("DELETE FROM visit_signals WHERE other = ?1")?
        .execute([&f.visit_id])?;
    store_facts(tx, f, old.as_ref(), niks)?;
    let mut changed: BTreeSet<String> = BTreeSet::new();

    for (kind, detail) in [
        (Kind::FastFound, rules::fast_found(f, t)),
        (Kind::OddHour, rules::odd_hour(f, t)),
        (Kind::PhotoOutsideVisit, photo_outside(tx, f, t)?),
    ] {
        if let Some(detail) = detail {
            put(tx, f, kind, "", &detail)?;
        }
    }
    let max = t.max_related;
    // GPS fixes of other households within `near_metres`: the fix's cell and its eight neighbours.
    if let Some(fix) = f.fix {
        let (cell_lat, cell_lon) = fix.cell();
        // Only fixes inside the box around this one count toward the limit (a crowded cell cannot hide them).
        let (dlat, dlon) = rules::box_degrees(fix, t.near_metres);
        // The three rows of cells as an IN list, so the index narrows both the row and the column of cells (a
        // range on its first column would read every fix in a band of latitude across the whole region).
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM signal_facts f
             WHERE f.cell_lat IN (?1 - 1, ?1, ?1 + 1) AND f.cell_lon BETWEEN ?2 - 1 AND ?2 + 1 AND f.visit_id <> ?3
               AND f.lat BETWEEN ?4 AND ?5 AND f.lon BETWEEN ?6 AND ?7
             LIMIT {max}"
        );
        let found = query_facts(
            tx,
            &sql,
            params![
                cell_lat,
                cell_lon,
                f.visit_id,
                fix.lat - dlat,
                fix.lat + dlat,
                fix.lon - dlon,
                fix.lon + dlon
            ],
        )?;
        for other in found {
            if let Some(d) = rules::near(f, &other, t) {
                pair(tx, f, &other, Kind::GpsNearOther, &d)?;
            }
        }
    }
    // The same photo on other visits (their latest revisions).
    let photos: Vec<String> = tx
        .prepare_cached(
            "SELECT DISTINCT sha256 FROM visit_photos WHERE visit_id = ?1 AND revision = ?2",
        )?
        .query_map(params![f.visit_id, f.revision], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM visit_photos p
         JOIN signal_facts f ON f.visit_id = p.visit_id AND f.revision = p.revision
         WHERE p.sha256 = ?1 AND p.visit_id <> ?2 GROUP BY f.visit_id LIMIT {max}"
    );
    for sha256 in &photos {
        for other in query_facts(tx, &sql, params![sha256, f.visit_id])? {
            let detail = Detail {
                photo: Some(sha256.chars().take(12).collect()),
                ..Detail::default()
            };
            pair(tx, f, &other, Kind::SamePhoto, &detail)?;
        }
    }
    // NIKs in other households' rosters: each other visit once, with the NIKs both hold.
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM signal_niks n JOIN signal_facts f ON f.visit_id = n.visit_id
         WHERE n.nik = ?1 AND n.visit_id <> ?2 LIMIT {max}"
    );
    let mut sharing: BTreeMap<String, (Facts, Vec<String>)> = BTreeMap::new();
    for nik in niks {
        for other in query_facts(tx, &sql, params![nik, f.visit_id])? {
            sharing
                .entry(other.visit_id.clone())
                .or_insert_with(|| (other, Vec::new()))
                .1
                .push(nik.clone());
        }
    }
    for (other, shared) in sharing.values() {
        if let Some(d) = rules::shared_nik(f, other, shared) {
            pair(tx, f, other, Kind::SharedNik, &d)?;
        }
    }
    // Identical rosters.
    if let Some(hash) = &f.roster_hash {
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM signal_facts f WHERE f.roster_hash = ?1 AND f.visit_id <> ?2 LIMIT {max}"
        );
        for other in query_facts(tx, &sql, params![hash, f.visit_id])? {
            if let Some(d) = rules::identical_roster(f, &other, t) {
                pair(tx, f, &other, Kind::IdenticalRoster, &d)?;
            }
        }
    }
    // The enumerator's visits just before and after in time: a correction started later moves the visit, so its
    // former neighbours become consecutive; its new neighbours are no longer.
    if let Some(old) = &old
        && old.started_at != f.started_at
    {
        let (prev, next) = neighbours(tx, &old.user_id, old.started_at, &f.visit_id)?;
        if let (Some(p), Some(n)) = (prev, next)
            && let Some(d) = rules::speed(&p, &n, t)
        {
            pair(tx, &p, &n, Kind::ImpossibleSpeed, &d)?;
            changed.extend([p.visit_id, n.visit_id]);
        }
    }
    let (prev, next) = neighbours(tx, &f.user_id, f.started_at, &f.visit_id)?;
    if let (Some(p), Some(n)) = (&prev, &next)
        && unpair(tx, &p.visit_id, &n.visit_id, Kind::ImpossibleSpeed)?
    {
        changed.extend([p.visit_id.clone(), n.visit_id.clone()]);
    }
    if let Some(p) = &prev
        && let Some(d) = rules::speed(p, f, t)
    {
        pair(tx, p, f, Kind::ImpossibleSpeed, &d)?;
    }
    if let Some(n) = &next
        && let Some(d) = rules::speed(f, n, t)
    {
        pair(tx, f, n, Kind::ImpossibleSpeed, &d)?;
    }

    let after = pairs_of(tx, &f.visit_id)?;
    changed.extend(
        before
            .symmetric_difference(&after)
            .map(|(other, _)| other.clone()),
    );
    // A first revision changes its day's "one spot" flag only when it can (`spot_may_change`); a correction
    // recomputes the day it is in and the day it left.
    if old.is_some() || spot_may_change(tx, f, t)? {
        changed.extend(same_spot_day(tx, &f.user_id, f.day, t)?);
    }
    if let Some(old) = &old
        && old.day != f.day
    {
        changed.extend(same_spot_day(tx, &old.user_id, old.day, t)?);
    }
    changed.extend(not_found_rate(tx, f, t)?);
    changed.remove(&f.visit_id);
    bump(tx, &changed)
}

fn store_facts(
    tx: &Transaction<'_>,
    f: &Facts,
    old: Option<&Facts>,
    niks: &[String],
) -> Result<(), DbError> {
    // The village's counts move with the visit: out of the enumerator's and village's counts as it was stored,
    // into those it is stored with now (`not_found_rate` reads them instead of counting the village's visits).
    if let Some(old) = old {
        count_in_village(tx, old, -1)?;
    }
    count_in_village(tx, f, 1)?;
    let cell = f.fix.map(|fix| fix.cell());
    tx.prepare_cached(
        "INSERT INTO signal_facts (visit_id, revision, user_id, household, region_code, outcome_class, started_at,
             finalised_at, day, lat, lon, accuracy_m, cell_lat, cell_lon, members, roster_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (visit_id) DO UPDATE SET revision = excluded.revision, user_id = excluded.user_id,
             household = excluded.household, region_code = excluded.region_code,
             outcome_class = excluded.outcome_class, started_at = excluded.started_at,
             finalised_at = excluded.finalised_at, day = excluded.day, lat = excluded.lat, lon = excluded.lon,
             accuracy_m = excluded.accuracy_m, cell_lat = excluded.cell_lat, cell_lon = excluded.cell_lon,
             members = excluded.members, roster_hash = excluded.roster_hash",
    )?
    .execute(params![
        f.visit_id,
        f.revision,
        f.user_id,
        f.household,
        f.region_code,
        f.class.as_str(),
        db::timestamp(f.started_at),
        f.finalised_at.map(db::timestamp),
        f.day.to_string(),
        f.fix.map(|x| x.lat),
        f.fix.map(|x| x.lon),
        f.fix.map(|x| x.accuracy_m),
        cell.map(|c| c.0),
        cell.map(|c| c.1),
        f.members,
        f.roster_hash,
    ])?;
    tx.prepare_cached("DELETE FROM signal_niks WHERE visit_id = ?1")?
        .execute([&f.visit_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO signal_niks (nik, visit_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for nik in niks {
        insert.execute(params![nik, f.visit_id])?;
    }
    Ok(())
}

/// Adds `by` (1 or −1) to the visits, and the "not found" visits, of the visit's enumerator in its village.
fn count_in_village(tx: &Transaction<'_>, f: &Facts, by: i64) -> Result<(), DbError> {
    let not_found = if f.class == OutcomeClass::NotFound {
        by
    } else {
        0
    };
    tx.prepare_cached(
        "INSERT INTO signal_village_counts (region_code, user_id, visits, not_found) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (region_code, user_id) DO UPDATE SET visits = signal_village_counts.visits + excluded.visits,
             not_found = signal_village_counts.not_found + excluded.not_found",
    )?
    .execute(params![f.region_code, f.user_id, by, not_found])?;
    Ok(())
}

/// The enumerator's visits just before and just after `at` in time order (ties by visit id), leaving out
/// `except`.
fn neighbours(
    tx: &Transaction<'_>,
    user_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    except: &str,
) -> Result<(Option<Facts>, Option<Facts>), DbError> {
    let at = db::timestamp(at);
    let prev = format!(
        "SELECT {FACT_COLUMNS} FROM signal_facts f
         WHERE f.user_id = ?1 AND (f.started_at, f.visit_id) < (?2, ?3) AND f.visit_id <> ?3
         ORDER BY f.started_at DESC, f.visit_id DESC LIMIT 1"
    );
    let next = format!(
        "SELECT {FACT_COLUMNS} FROM signal_facts f
         WHERE f.user_id = ?1 AND (f.started_at, f.visit_id) > (?2, ?3) AND f.visit_id <> ?3
         ORDER BY f.started_at, f.visit_id LIMIT 1"
    );
    Ok((
        query_facts(tx, &prev, params![user_id, at, except])?.pop(),
        query_facts(tx, &next, params![user_id, at, except])?.pop(),
    ))
}

/// Whether a visit stored for the first time (`f`) can change its enumerator's "one spot" flag for the day, read
/// from one other visit of the day with a fix instead of the whole day. Without a fix of its own it cannot. The day
/// is flagged on all of the visits [`same_spot_day`] reads (the first `max_related` with a fix, in the index's
/// order, which a new visit joins last), so the first other one says whether it is flagged now; if it is not and
/// the new fix lies more than twice `same_spot_metres` from it, no centre has both within `same_spot_metres`, so
/// the day stays unflagged. Otherwise (flagged, near, or no other fix yet) the day is recomputed.
fn spot_may_change(tx: &Transaction<'_>, f: &Facts, t: &SignalThresholds) -> Result<bool, DbError> {
    let Some(fix) = f.fix else {
        return Ok(false);
    };
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM signal_facts f
         WHERE f.user_id = ?1 AND f.day = ?2 AND f.lat IS NOT NULL AND f.visit_id <> ?3 LIMIT 1"
    );
    let first = query_facts(tx, &sql, params![f.user_id, f.day.to_string(), f.visit_id])?.pop();
    let Some((other, other_fix)) = first.and_then(|o| o.fix.map(|x| (o, x))) else {
        return Ok(true);
    };
    if has_signal(tx, &other.visit_id, Kind::SameSpotDay)? {
        return Ok(true);
    }
    // A metre to spare for rounding: only a pair clearly too far apart skips the day.
    let apart = 2.0 * f64::from(t.same_spot_metres) + 1.0;
    Ok(rules::distance_m(fix, other_fix) <= apart)
}

/// Whether a visit holds a signal of a kind that relates it to no other visit.
fn has_signal(tx: &Transaction<'_>, visit_id: &str, kind: Kind) -> Result<bool, DbError> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM visit_signals WHERE visit_id = ?1 AND kind = ?2 AND other = ''",
        )?
        .query_row(params![visit_id, kind.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Recomputes "all visits of the day from one spot" for one enumerator's day; returns the visits whose flag
/// changed.
fn same_spot_day(
    tx: &Transaction<'_>,
    user_id: &str,
    day: NaiveDate,
    t: &SignalThresholds,
) -> Result<BTreeSet<String>, DbError> {
    let day = day.to_string();
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM signal_facts f WHERE f.user_id = ?1 AND f.day = ?2 AND f.lat IS NOT NULL LIMIT {}",
        t.max_related
    );
    let visits = query_facts(tx, &sql, params![user_id, day])?;
    let fixes: Vec<Fix> = visits.iter().filter_map(|v| v.fix).collect();
    let before = remove_kind_where(
        tx,
        Kind::SameSpotDay,
        "SELECT visit_id FROM signal_facts WHERE user_id = ?1 AND day = ?2",
        params![user_id, day],
    )?;
    let mut after = BTreeSet::new();
    if let Some(detail) = rules::same_spot(&fixes, t) {
        for v in &visits {
            put(tx, v, Kind::SameSpotDay, "", &detail)?;
            after.insert(v.visit_id.clone());
        }
    }
    Ok(before.symmetric_difference(&after).cloned().collect())
}

/// Recomputes the "not found" shares of the village of a visit just stored (`f`); returns the visits whose flag
/// changed. Which enumerators are flagged in which village is kept with the flag's numbers
/// (`signal_village_flags`), once per enumerator: the numbers move with every visit in the village, and their
/// visits show them from there ([`of_visit`]). So a visit costs one read of the village's counts and one row per
/// flagged enumerator; an enumerator's "not found" visits are written only when the enumerator becomes flagged
/// (all of them) or stops being (all of them), or when one of them is the visit just stored.
fn not_found_rate(
    tx: &Transaction<'_>,
    f: &Facts,
    t: &SignalThresholds,
) -> Result<BTreeSet<String>, DbError> {
    let region_code = f.region_code.as_str();
    if region_code.is_empty() {
        return Ok(BTreeSet::new());
    }
    // The counts kept per enumerator and village (`count_in_village`): one row per enumerator, however many visits
    // the village has.
    let counts: Vec<VillageCounts> = tx
        .prepare_cached(
            "SELECT user_id, visits, not_found FROM signal_village_counts
             WHERE region_code = ?1 AND visits > 0 ORDER BY user_id",
        )?
        .query_map([region_code], |r| {
            Ok(VillageCounts {
                user_id: r.get(0)?,
                visits: r.get::<_, i64>(1)?.max(0) as u64,
                not_found: r.get::<_, i64>(2)?.max(0) as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    let flagged: BTreeMap<String, Detail> =
        rules::not_found_rates(&counts, t).into_iter().collect();
    let before: BTreeSet<String> = tx
        .prepare_cached("SELECT user_id FROM signal_village_flags WHERE region_code = ?1")?
        .query_map([region_code], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut changed = BTreeSet::new();
    for user_id in before.iter().filter(|u| !flagged.contains_key(*u)) {
        tx.prepare_cached(
            "DELETE FROM signal_village_flags WHERE region_code = ?1 AND user_id = ?2",
        )?
        .execute(params![region_code, user_id])?;
        changed.extend(remove_kind_where(
            tx,
            Kind::NotFoundRate,
            "SELECT visit_id FROM signal_facts WHERE region_code = ?1 AND user_id = ?2",
            params![region_code, user_id],
        )?);
    }
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM signal_facts f
         WHERE f.region_code = ?1 AND f.user_id = ?2 AND f.outcome_class = 'not_found'"
    );
    for (user_id, detail) in &flagged {
        let json = serde_json::to_string(detail).map_err(|e| DbError::Corrupt(e.to_string()))?;
        tx.prepare_cached(
            "INSERT INTO signal_village_flags (region_code, user_id, detail) VALUES (?1, ?2, ?3)
             ON CONFLICT (region_code, user_id) DO UPDATE SET detail = excluded.detail",
        )?
        .execute(params![region_code, user_id, json])?;
        if before.contains(user_id) {
            // Flagged already: their visits hold the signal; the visit just stored lost its own with its
            // revision's signals.
            if *user_id == f.user_id && f.class == OutcomeClass::NotFound {
                put(tx, f, Kind::NotFoundRate, "", detail)?;
            }
            continue;
        }
        // Newly flagged: each of the enumerator's "not found" visits there.
        for v in query_facts(tx, &sql, params![region_code, user_id])? {
            let had = has_signal(tx, &v.visit_id, Kind::NotFoundRate)?;
            put(tx, &v, Kind::NotFoundRate, "", detail)?;
            if !had {
                changed.insert(v.visit_id);
            }
        }
    }
    Ok(changed)
}

/// Removes the signals of one kind from the visits a sub-query names; returns those visits.
fn remove_kind_where(
    tx: &Transaction<'_>,
    kind: Kind,
    visits: &str,
    values: impl crate::db::sql::Params,
) -> Result<BTreeSet<String>, DbError> {
    let sql = format!(
        "DELETE FROM visit_signals WHERE kind = '{}' AND visit_id IN ({visits}) RETURNING visit_id",
        kind.as_str()
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(values, |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first photo of a visit whose EXIF capture time lies outside the visit.
fn photo_outside(
    tx: &Transaction<'_>,
    f: &Facts,
    t: &SignalThresholds,
) -> Result<Option<Detail>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.path, m.captured_at, m.captured_offset FROM visit_photos p JOIN media m ON m.sha256 = p.sha256
         WHERE p.visit_id = ?1 AND p.revision = ?2 AND m.captured_at IS NOT NULL ORDER BY p.path",
    )?;
    let rows = stmt.query_map(params![f.visit_id, f.revision], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i32>>(2)?,
        ))
    })?;
    for row in rows {
        let (path, captured, offset) = row?;
        let captured = NaiveDateTime::parse_from_str(&captured, CAPTURED_FORMAT)
            .map_err(|e| DbError::Corrupt(format!("photo capture time {captured:?}: {e}")))?;
        let offset = offset.and_then(|minutes| FixedOffset::east_opt(minutes * 60));
        if let Some(d) = rules::photo_outside(f, &path, captured, offset, t) {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

const CAPTURED_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A photo was stored: records its capture time and recomputes "photo taken outside the visit" for the latest
/// revisions that reference it.
pub fn on_photo_stored(
    tx: &Transaction<'_>,
    sha256: &str,
    captured: Option<Captured>,
    t: &SignalThresholds,
) -> Result<(), DbError> {
    let Some(captured) = captured else {
        return Ok(());
    };
    tx.execute(
        "UPDATE media SET captured_at = ?2, captured_offset = ?3 WHERE sha256 = ?1",
        params![
            sha256,
            captured.local.format(CAPTURED_FORMAT).to_string(),
            captured.offset.map(|o| o.local_minus_utc() / 60)
        ],
    )?;
    let sql = format!(
        "SELECT {FACT_COLUMNS} FROM visit_photos p
         JOIN signal_facts f ON f.visit_id = p.visit_id AND f.revision = p.revision
         WHERE p.sha256 = ?1 GROUP BY f.visit_id LIMIT {}",
        t.max_related
    );
    let mut changed = BTreeSet::new();
    for f in query_facts(tx, &sql, params![sha256])? {
        let had = tx
            .prepare_cached(
                "DELETE FROM visit_signals WHERE visit_id = ?1 AND kind = ?2 AND other = ''",
            )?
            .execute(params![f.visit_id, Kind::PhotoOutsideVisit.as_str()])?
            > 0;
        let detail = photo_outside(tx, &f, t)?;
        if let Some(d) = &detail {
            put(tx, &f, Kind::PhotoOutsideVisit, "", d)?;
        }
        if had != detail.is_some() {
            changed.insert(f.visit_id);
        }
    }
    bump(tx, &changed)
}

/// Moves the latest revision of each visit to the end of the supervisor pull: its signals changed.
fn bump(tx: &Transaction<'_>, visits: &BTreeSet<String>) -> Result<(), DbError> {
    for visit_id in visits {
        let seq = db::next_counter(tx, "pull")?;
        // `+is_latest` keeps SQLite on the primary key (see `ingest`).
        tx.prepare_cached("UPDATE visits SET seq = ?2 WHERE visit_id = ?1 AND +is_latest = 1")?
            .execute(params![visit_id, seq as i64])?;
    }
    Ok(())
}

/// The signals of one stored revision, in kind order.
pub fn of_visit(
    tx: &Transaction<'_>,
    visit_id: &str,
    revision: u32,
) -> Result<Vec<Signal>, DbError> {
    // A "not found" flag shows the village's numbers as they stand (kept once per enumerator and village); the
    // numbers stored with the visit are those of when it was flagged.
    let mut stmt = tx.prepare_cached(
        "SELECT s.kind, s.other, coalesce(g.detail, s.detail) FROM visit_signals s
         LEFT JOIN signal_facts f ON s.kind = 'not_found_rate' AND f.visit_id = s.visit_id
         LEFT JOIN signal_village_flags g ON g.region_code = f.region_code AND g.user_id = f.user_id
         WHERE s.visit_id = ?1 AND s.revision = ?2 ORDER BY s.kind, s.other",
    )?;
    let mut rows = stmt.query(params![visit_id, revision])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        let other: String = row.get(1)?;
        let detail: String = row.get(2)?;
        let Some(kind) = Kind::parse(&kind) else {
            return Err(DbError::Corrupt(format!("signal kind {kind:?}")));
        };
        let detail: Detail = serde_json::from_str(&detail)
            .map_err(|e| DbError::Corrupt(format!("signal detail: {e}")))?;
        out.push(Signal::new(kind, &other, &detail));
    }
    Ok(out)
}

/// The signals of several stored revisions (a page of the pull), in the same order.
pub fn of_visits(
    tx: &Transaction<'_>,
    visits: &[(String, u32)],
) -> Result<Vec<Vec<Signal>>, DbError> {
    visits
        .iter()
        .map(|(visit_id, revision)| of_visit(tx, visit_id, *revision))
        .collect()
}

/// The kinds of signals a stored revision holds (export cells, queue rows), each once, in code order.
pub fn kinds_of(
    tx: &Transaction<'_>,
    visit_id: &str,
    revision: u32,
) -> Result<Vec<String>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT DISTINCT kind FROM visit_signals WHERE visit_id = ?1 AND revision = ?2 ORDER BY kind",
    )?;
    let rows = stmt.query_map(params![visit_id, revision], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a visit has any facts recorded (visits stored before the signals existed have none until
/// [`backfill`]).
fn has_facts(tx: &Transaction<'_>, visit_id: &str) -> Result<bool, DbError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM signal_facts WHERE visit_id = ?1")?
        .query_row([visit_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Signal counts of one enumerator over the latest revisions in a supervisor's regions.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnumeratorSignals {
    pub user_id: String,
    pub name: String,
    /// Visits with at least one signal.
    pub visits_with_signals: u32,
    /// Visits by kind of signal (a visit counts once per kind).
    pub by_kind: BTreeMap<String, u32>,
}

/// The `signals` part of `GET /api/v1/supervisor/progress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignalProgress {
    pub by_enumerator: Vec<EnumeratorSignals>,
}

pub fn progress(tx: &Transaction<'_>, supervisor_id: &str) -> Result<SignalProgress, DbError> {
    let sql = format!(
        "SELECT v.user_id, u.name, s.kind, count(DISTINCT s.visit_id)
         FROM visit_signals s
         JOIN visits v ON v.visit_id = s.visit_id AND v.revision = s.revision AND v.is_latest = 1
         JOIN users u ON u.user_id = v.user_id
         WHERE {}
         GROUP BY v.user_id, u.name, s.kind ORDER BY v.user_id, s.kind",
        crate::regions::scope_sql("v.region_code", "?1")
    );
    let mut by_user: BTreeMap<String, EnumeratorSignals> = BTreeMap::new();
    {
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([supervisor_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })?;
        for row in rows {
            let (user_id, name, kind, count) = row?;
            let entry = by_user
                .entry(user_id.clone())
                .or_insert_with(|| EnumeratorSignals {
                    user_id,
                    name,
                    ..EnumeratorSignals::default()
                });
            entry.by_kind.insert(kind, count);
        }
    }
    let sql = format!(
        "SELECT v.user_id, count(DISTINCT s.visit_id)
         FROM visit_signals s
         JOIN visits v ON v.visit_id = s.visit_id AND v.revision = s.revision AND v.is_latest = 1
         WHERE {} GROUP BY v.user_id",
        crate::regions::scope_sql("v.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map([supervisor_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
    })?;
    for row in rows {
        let (user_id, visits) = row?;
        if let Some(entry) = by_user.get_mut(&user_id) {
            entry.visits_with_signals = visits;
        }
    }
    Ok(SignalProgress {
        by_enumerator: by_user.into_values().collect(),
    })
}

/// Computes the signals of visits stored before the signals existed (their latest revisions), a bounded number
/// at a time; run when the server starts. Returns how many visits it computed.
pub fn backfill(
    db: &crate::db::Db,
    forms: &crate::forms::FormCache,
    t: &SignalThresholds,
) -> Result<u64, DbError> {
    let mut done = 0u64;
    loop {
        let batch: Vec<(String, u32, String)> = db.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT v.visit_id, v.revision, v.doc FROM visits v
                 WHERE v.is_latest = 1 AND NOT EXISTS (SELECT 1 FROM signal_facts f WHERE f.visit_id = v.visit_id)
                 LIMIT 500",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok::<_, DbError>(rows.collect::<Result<Vec<_>, _>>()?)
        })?;
        if batch.is_empty() {
            return Ok(done);
        }
        db.write(|tx| {
            for (visit_id, revision, doc) in &batch {
                if has_facts(tx, visit_id)? {
                    continue;
                }
                let doc: tepat_protocol::VisitDoc = serde_json::from_str(doc)
                    .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: {e}")))?;
                let (user_id, region_code, outcome): (String, String, Option<String>) = tx.query_row(
                    "SELECT user_id, region_code, outcome FROM visits WHERE visit_id = ?1 AND revision = ?2",
                    params![visit_id, revision],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                let extract = match forms.get(tx, &doc.form_id, doc.form_version)? {
                    Some(form) => rules::extract(form.form(), &doc.answers),
                    None => rules::Extract::default(),
                };
                let facts = facts_of(&doc, &user_id, &region_code, outcome.as_deref(), &extract, t);
                on_ingest(tx, &facts, &extract.niks, t)?;
            }
            Ok::<_, DbError>(())
        })?;
        done += batch.len() as u64;
    }
}

/// The facts of a stored revision.
pub fn facts_of(
    doc: &tepat_protocol::VisitDoc,
    user_id: &str,
    region_code: &str,
    outcome: Option<&str>,
    extract: &rules::Extract,
    t: &SignalThresholds,
) -> Facts {
    let visit_id = doc.visit_id.to_string();
    Facts {
        household: doc
            .assignment_id
            .clone()
            .unwrap_or_else(|| visit_id.clone()),
        visit_id,
        revision: doc.revision,
        user_id: user_id.to_string(),
        region_code: region_code.to_string(),
        class: OutcomeClass::of(outcome, t),
        started_at: doc.device_times.started_at,
        finalised_at: doc.device_times.finalised_at,
        day: doc.visit_date,
        fix: extract.fix,
        members: extract.members,
        roster_hash: extract.roster_hash.clone(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::db::Db;

    const VILLAGE: &str = "17.71.01.1001";

    /// A visit's facts: `n`-th of the day for `user`, at `metres_north` of a point in Kota Bengkulu.
    fn facts(
        id: &str,
        user: &str,
        class: OutcomeClass,
        n: i64,
        metres_north: Option<f64>,
    ) -> Facts {
        let start: DateTime<Utc> = "2026-11-20T01:00:00Z".parse().unwrap();
        let started_at = start + chrono::TimeDelta::minutes(40 * n);
        Facts {
            visit_id: id.to_string(),
            revision: 1,
            user_id: user.to_string(),
            household: format!("H-{id}"),
            region_code: VILLAGE.to_string(),
            class,
            started_at,
            finalised_at: Some(started_at + chrono::TimeDelta::minutes(30)),
            day: started_at.date_naive(),
            fix: metres_north.map(|m| Fix {
                lat: -3.8 + m / 111_195.0,
                lon: 102.26,
                accuracy_m: 4.0,
            }),
            members: 3,
            roster_hash: None,
        }
    }

    fn ingest(db: &Db, f: &Facts, t: &SignalThresholds) -> u64 {
        db.write(|tx| {
            let before = tx.as_sqlite().expect("a SQLite database").total_changes();
            on_ingest(tx, f, &[], t)?;
            Ok::<_, DbError>(tx.as_sqlite().expect("a SQLite database").total_changes() - before)
        })
        .unwrap()
    }

    fn kinds(db: &Db, visit_id: &str) -> Vec<Signal> {
        db.read(|tx| of_visit(tx, visit_id, 1)).unwrap()
    }

    /// An enumerator flagged for many "not found" with `flagged` such visits in the village (another enumerator has
    /// five found visits there); returns the rows one more visit in the village changes.
    fn village_with_flagged(flagged: usize) -> (Db, tempfile::TempDir, u64) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let t = SignalThresholds {
            not_found_min_visits: 3,
            not_found_min_village_visits: 3,
            ..SignalThresholds::default()
        };
        for i in 0..flagged {
            let f = facts(&format!("nf-{i}"), "enum1", OutcomeClass::NotFound, 0, None);
            ingest(&db, &f, &t);
        }
        for i in 0..5 {
            let f = facts(&format!("ok-{i}"), "enum3", OutcomeClass::Found, 0, None);
            ingest(&db, &f, &t);
        }
        assert_eq!(kinds(&db, "nf-0").len(), 1, "enum1 is flagged");
        // One more "not found" elsewhere in the village moves everyone's numbers.
        let more = facts("nf-other", "enum3", OutcomeClass::NotFound, 0, None);
        let changes = ingest(&db, &more, &t);
        (db, dir, changes)
    }

    #[test]
    fn a_visit_elsewhere_in_the_village_rewrites_the_flag_once_not_each_flagged_visit() {
        let (db, _dir, few) = village_with_flagged(4);
        let (many_db, _many_dir, many) = village_with_flagged(40);
        // Before, every one of the enumerator's "not found" visits was written again (4 rows against 40).
        assert_eq!(
            few, many,
            "rows changed by one visit: {few} with 4 flagged visits, {many} with 40"
        );
        // And each flagged visit still shows the village's numbers as they stand: the others' share moved from 0%
        // (5 found) to 17% (1 of 6 not found).
        for (db, id) in [(&db, "nf-0"), (&db, "nf-3"), (&many_db, "nf-39")] {
            let signals = kinds(db, id);
            assert_eq!(signals.len(), 1, "{id}: {signals:?}");
            assert_eq!(signals[0].kind, "not_found_rate");
            assert!(
                signals[0]
                    .reason
                    .en
                    .ends_with("other enumerators there: 17%"),
                "{id}: {}",
                signals[0].reason.en
            );
        }
        // A "not found" visit of the flagged enumerator arriving now is flagged too, with the same numbers.
        let t = SignalThresholds {
            not_found_min_visits: 3,
            not_found_min_village_visits: 3,
            ..SignalThresholds::default()
        };
        ingest(
            &db,
            &facts("nf-late", "enum1", OutcomeClass::NotFound, 1, None),
            &t,
        );
        assert_eq!(kinds(&db, "nf-late"), kinds(&db, "nf-0"));
    }

    #[test]
    fn a_cached_lookup_is_planned_once_not_on_every_use() {
        // The NIK lookup joins two tables: SQLite's full planner used to mark its bound values for re-planning,
        // and the statement cache clears the bindings of each statement it takes back, so every use parsed and
        // planned it again (figure 4). The server's connections keep plans independent of bound values.
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let t = SignalThresholds::default();
        for (i, user) in ["enum1", "enum2", "enum1"].into_iter().enumerate() {
            let f = facts(&format!("v{i}"), user, OutcomeClass::Found, i as i64, None);
            db.write(|tx| on_ingest(tx, &f, &[format!("177101120580000{i}")], &t))
                .unwrap();
        }
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM signal_niks n JOIN signal_facts f ON f.visit_id = n.visit_id
             WHERE n.nik = ?1 AND n.visit_id <> ?2 ORDER BY f.started_at LIMIT 200"
        );
        let reprepared = db
            .write(|tx| {
                for i in 0..3 {
                    query_facts(tx, &sql, params![format!("177101120580000{i}"), "x"])?;
                }
                // The same cached statement, seen through rusqlite (this test's database is SQLite).
                let conn = tx.as_sqlite().expect("a SQLite database");
                let stmt = conn
                    .prepare_cached(&sql)
                    .map_err(crate::db::sql::Error::from)?;
                Ok::<_, DbError>(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .unwrap();
        assert_eq!(reprepared, 0);
    }

    #[test]
    fn the_day_from_one_spot_is_recomputed_when_a_visit_can_change_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let t = SignalThresholds::default();
        let one_spot = |db: &Db, ids: &[&str]| -> Vec<bool> {
            ids.iter()
                .map(|id| kinds(db, id).iter().any(|s| s.kind == "same_spot_day"))
                .collect()
        };
        // Four visits within 15 m of their centre: the day is from one spot.
        for (n, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let f = facts(
                id,
                "enum1",
                OutcomeClass::Found,
                n as i64,
                Some(n as f64 * 10.0),
            );
            ingest(&db, &f, &t);
        }
        assert_eq!(one_spot(&db, &["a", "b", "c", "d"]), vec![true; 4]);
        // A visit without a fix leaves it so; a fifth visit 500 m away (far from the first visit, which holds the
        // flag) clears it from all.
        ingest(&db, &facts("e", "enum1", OutcomeClass::Found, 4, None), &t);
        assert_eq!(
            one_spot(&db, &["a", "b", "c", "d", "e"]),
            vec![true, true, true, true, false]
        );
        ingest(
            &db,
            &facts("f", "enum1", OutcomeClass::Found, 5, Some(500.0)),
            &t,
        );
        assert_eq!(one_spot(&db, &["a", "b", "c", "d", "f"]), vec![false; 5]);

        // Another day: its first visit 200 m from the rest, which then gather in one spot. Each later visit is far
        // from the first, so the day is never recomputed, and rightly never flagged.
        let mut other = Vec::new();
        for n in 0..6 {
            let id = format!("g{n}");
            let north = if n == 0 { 0.0 } else { 200.0 + n as f64 };
            let mut f = facts(&id, "enum2", OutcomeClass::Found, n, Some(north));
            f.day = f.day.succ_opt().unwrap();
            ingest(&db, &f, &t);
            other.push(id);
        }
        let ids: Vec<&str> = other.iter().map(String::as_str).collect();
        assert_eq!(one_spot(&db, &ids), vec![false; 6]);
        // Spread out days stay unflagged however a visit arrives; a day whose visits close in on the first one's
        // spot is flagged once the fourth arrives (each near the first, so each recomputes the day).
        for n in 0..4 {
            let id = format!("h{n}");
            let mut f = facts(
                &id,
                "enum2",
                OutcomeClass::Found,
                n,
                Some(1_000.0 + 45.0 - 15.0 * n as f64),
            );
            f.day = f.day.succ_opt().unwrap().succ_opt().unwrap();
            ingest(&db, &f, &t);
        }
        assert_eq!(one_spot(&db, &["h0", "h1", "h2", "h3"]), vec![true; 4]);
    }
}
