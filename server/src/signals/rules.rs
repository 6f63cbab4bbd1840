//! Each signal's rule, pure: what a visit's answers and device times say ([`extract`], [`Facts`]), and whether
//! one visit, a pair or a group raises a signal under the configured thresholds.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tepat_form::{FieldType, Form};
use tepat_protocol::{Answers, hex};

use super::Detail;
use crate::config::SignalThresholds;
use crate::forms;

/// A GPS fix as answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Metres; 0 when the phone gave none.
    pub accuracy_m: f64,
}

impl Fix {
    /// A fix from a geopoint answer `{lat, lon, accuracy_m?}`; `None` for anything else or out of range.
    pub fn from_answer(value: &Value) -> Option<Fix> {
        let lat = value.get("lat")?.as_f64()?;
        let lon = value.get("lon")?.as_f64()?;
        let accuracy_m = value
            .get("accuracy_m")
            .and_then(Value::as_f64)
            .filter(|a| a.is_finite() && *a >= 0.0)
            .unwrap_or(0.0);
        let in_range =
            lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0;
        in_range.then_some(Fix {
            lat,
            lon,
            accuracy_m,
        })
    }

    /// The GPS cell the fix lies in: 0.001° a side (about 110 m in Indonesia), so every fix within
    /// `near_metres` (≤ 100) of it lies in the same cell or one of its eight neighbours.
    pub fn cell(&self) -> (i64, i64) {
        (
            (self.lat * CELLS_PER_DEGREE).floor() as i64,
            (self.lon * CELLS_PER_DEGREE).floor() as i64,
        )
    }
}

pub const CELLS_PER_DEGREE: f64 = 1000.0;

/// Half the sides, in degrees of latitude and longitude, of a box holding every point within `metres` of `fix`
/// (with 10% to spare).
pub fn box_degrees(fix: Fix, metres: u32) -> (f64, f64) {
    let dlat = f64::from(metres) * 1.1 / 111_195.0;
    // Longitude degrees shrink with the latitude's cosine (Indonesia lies within 11° of the equator).
    let dlon = dlat / fix.lat.to_radians().cos().max(0.01);
    (dlat, dlon)
}

/// Great-circle distance in metres.
pub fn distance_m(a: Fix, b: Fix) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dla = la2 - la1;
    let dlo = (b.lon - a.lon).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().min(1.0).asin()
}

/// How a visit ended, as the signals read its outcome code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    Found,
    NotFound,
    Other,
}

impl OutcomeClass {
    pub fn of(outcome: Option<&str>, t: &SignalThresholds) -> OutcomeClass {
        match outcome {
            Some(code) if t.found_outcomes.iter().any(|c| c == code) => OutcomeClass::Found,
            Some(code) if t.not_found_outcomes.iter().any(|c| c == code) => OutcomeClass::NotFound,
            _ => OutcomeClass::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Found => "found",
            OutcomeClass::NotFound => "not_found",
            OutcomeClass::Other => "other",
        }
    }

    pub fn parse(text: &str) -> OutcomeClass {
        match text {
            "found" => OutcomeClass::Found,
            "not_found" => OutcomeClass::NotFound,
            _ => OutcomeClass::Other,
        }
    }
}

/// What the signals need of a visit's answers, read with its form when the visit is validated (outside the
/// writer): the first GPS fix, the roster (the first repeat group that has a NIK field) with its NIKs and a hash
/// of its content, and the household's size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extract {
    pub fix: Option<Fix>,
    /// Members of the roster (else of the first repeat group); 0 without one.
    pub members: u32,
    /// SHA-256 of the roster's answers (canonical JSON), when the visit has a non-empty roster.
    pub roster_hash: Option<String>,
    /// The roster's NIKs, each once.
    pub niks: Vec<String>,
}

pub fn extract(form: &Form, answers: &Answers) -> Extract {
    let fix = forms::top_level_fields(form)
        .filter(|f| f.kind == FieldType::Geopoint)
        .find_map(|f| answers.get(&f.id).and_then(Fix::from_answer));
    let roster = forms::repeats(form).find(|r| r.fields.iter().any(|c| c.kind == FieldType::Nik));
    let counted = roster.or_else(|| forms::repeats(form).next());
    let members_of = |id: &str| answers.get(id).and_then(Value::as_array);
    let members = counted
        .and_then(|r| members_of(&r.id))
        .map_or(0, |list| u32::try_from(list.len()).unwrap_or(u32::MAX));
    let mut niks = Vec::new();
    let mut roster_hash = None;
    if let Some(roster) = roster
        && let Some(list) = members_of(&roster.id).filter(|l| !l.is_empty())
    {
        let nik_fields: Vec<&str> = roster
            .fields
            .iter()
            .filter(|c| c.kind == FieldType::Nik)
            .map(|c| c.id.as_str())
            .collect();
        for member in list {
            for field in &nik_fields {
                if let Some(Value::String(nik)) = member.get(*field) {
                    let nik = nik.trim();
                    if !nik.is_empty() && !niks.iter().any(|n| n == nik) {
                        niks.push(nik.to_string());
                    }
                }
            }
        }
        // serde_json's maps are ordered, so equal rosters serialise alike.
        let canonical = Value::Array(list.clone()).to_string();
        roster_hash = Some(hex(&Sha256::digest(canonical.as_bytes())));
    }
    Extract {
        fix,
        members,
        roster_hash,
        niks,
    }
}

/// What the signals keep of a visit's latest revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub visit_id: String,
    pub revision: u32,
    pub user_id: String,
    /// The household visited: its assignment, or the visit itself for a new case.
    pub household: String,
    pub region_code: String,
    pub class: OutcomeClass,
    pub started_at: DateTime<Utc>,
    pub finalised_at: Option<DateTime<Utc>>,
    /// The visit date (the phone's).
    pub day: NaiveDate,
    pub fix: Option<Fix>,
    pub members: u32,
    pub roster_hash: Option<String>,
}

impl Facts {
    /// When the visit ended (its finalising, else its start).
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.finalised_at.unwrap_or(self.started_at)
    }
}

/// Indonesia's three time zones, by the province (the region code's first two digits, Kemendagri).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    pub name: &'static str,
    pub offset_hours: i32,
}

pub const WIB: Zone = Zone {
    name: "WIB",
    offset_hours: 7,
};
pub const WITA: Zone = Zone {
    name: "WITA",
    offset_hours: 8,
};
pub const WIT: Zone = Zone {
    name: "WIT",
    offset_hours: 9,
};

/// The zone of a region code; `None` for a code that names no province.
pub fn zone(region_code: &str) -> Option<Zone> {
    let province = region_code.get(..2)?;
    match province {
        // Sumatra, Riau Islands, Java, West and Central Kalimantan.
        "11" | "12" | "13" | "14" | "15" | "16" | "17" | "18" | "19" | "21" | "31" | "32"
        | "33" | "34" | "35" | "36" | "61" | "62" => Some(WIB),
        // Bali, Nusa Tenggara, South, East and North Kalimantan, Sulawesi.
        "51" | "52" | "53" | "63" | "64" | "65" | "71" | "72" | "73" | "74" | "75" | "76" => {
            Some(WITA)
        }
        // Maluku, North Maluku and the Papua provinces.
        "81" | "82" | "91" | "92" | "93" | "94" | "95" | "96" => Some(WIT),
        _ => None,
    }
}

impl Zone {
    pub fn offset(self) -> FixedOffset {
        // The three offsets are whole hours well inside a day, so `east_opt` never refuses them.
        FixedOffset::east_opt(self.offset_hours * 3600).unwrap_or_else(|| chrono::Offset::fix(&Utc))
    }

    pub fn local(self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.offset()).naive_local()
    }
}

/// A "found" visit that took less than `found_min_minutes` + `found_min_minutes_per_member` × members (at least
/// one member). A visit without a finalising time, or one whose clock ran backwards, says nothing of its length.
pub fn fast_found(f: &Facts, t: &SignalThresholds) -> Option<Detail> {
    if f.class != OutcomeClass::Found {
        return None;
    }
    let seconds = (f.finalised_at? - f.started_at).num_seconds();
    let members = f.members.max(1);
    let required = i64::from(t.found_min_minutes)
        + i64::from(t.found_min_minutes_per_member) * i64::from(members);
    (seconds >= 0 && seconds < required * 60).then(|| Detail {
        minutes: Some(seconds / 60),
        required_minutes: Some(required),
        members: Some(members),
        ..Detail::default()
    })
}

/// A visit started before `day_starts_hour` or after `day_ends_hour`, or finalised outside them, in the local time
/// of its province.
pub fn odd_hour(f: &Facts, t: &SignalThresholds) -> Option<Detail> {
    let zone = zone(&f.region_code)?;
    let odd = |at: DateTime<Utc>| {
        let local = zone.local(at);
        let hour = local.hour();
        (hour < t.day_starts_hour || hour >= t.day_ends_hour).then_some(local)
    };
    let local = odd(f.started_at).or_else(|| odd(f.ended_at()))?;
    Some(Detail {
        local_time: Some(local.format("%H:%M").to_string()),
        zone: Some(zone.name.to_string()),
        ..Detail::default()
    })
}

/// Fixes of two different households within `near_metres`.
pub fn near(a: &Facts, b: &Facts, t: &SignalThresholds) -> Option<Detail> {
    if a.visit_id == b.visit_id || a.household == b.household {
        return None;
    }
    let metres = distance_m(a.fix?, b.fix?);
    (metres <= f64::from(t.near_metres)).then(|| Detail {
        metres: Some(round1(metres)),
        ..Detail::default()
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Consecutive visits of one enumerator (`earlier` started first): the distance between their fixes, less both
/// fixes' accuracy, over the time from the end of the one to the start of the other (at least a minute), above
/// `max_speed_kmh`, when they are at least `speed_min_metres` apart.
pub fn speed(earlier: &Facts, later: &Facts, t: &SignalThresholds) -> Option<Detail> {
    if earlier.visit_id == later.visit_id {
        return None;
    }
    let (a, b) = (earlier.fix?, later.fix?);
    let metres = (distance_m(a, b) - a.accuracy_m - b.accuracy_m).max(0.0);
    if metres < f64::from(t.speed_min_metres) {
        return None;
    }
    let seconds = (later.started_at - earlier.ended_at()).num_seconds().max(0);
    let hours = seconds.max(60) as f64 / 3600.0;
    let kmh = metres / 1000.0 / hours;
    (kmh > f64::from(t.max_speed_kmh)).then(|| Detail {
        metres: Some(metres.round()),
        minutes: Some(seconds / 60),
        speed_kmh: Some(kmh.round()),
        ..Detail::default()
    })
}

/// An enumerator's fixes of one day, all within `same_spot_metres` of their centre, when there are at least
/// `same_spot_min_visits` of them.
pub fn same_spot(fixes: &[Fix], t: &SignalThresholds) -> Option<Detail> {
    let n = fixes.len();
    if n == 0 || n < t.same_spot_min_visits as usize {
        return None;
    }
    let centre = Fix {
        lat: fixes.iter().map(|f| f.lat).sum::<f64>() / n as f64,
        lon: fixes.iter().map(|f| f.lon).sum::<f64>() / n as f64,
        accuracy_m: 0.0,
    };
    let farthest = fixes
        .iter()
        .map(|f| distance_m(centre, *f))
        .fold(0.0_f64, f64::max);
    (farthest <= f64::from(t.same_spot_metres)).then(|| Detail {
        visits: Some(u32::try_from(n).unwrap_or(u32::MAX)),
        metres: Some(round1(farthest)),
        ..Detail::default()
    })
}

/// One enumerator's visits in a village: all of them, and those "not found".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VillageCounts {
    pub user_id: String,
    pub visits: u64,
    pub not_found: u64,
}

/// The enumerators of a village whose "not found" share exceeds the rest of the village's by
/// `not_found_excess_points`, each with at least `not_found_min_visits` visits there while the rest of the
/// village has `not_found_min_village_visits`.
pub fn not_found_rates(village: &[VillageCounts], t: &SignalThresholds) -> Vec<(String, Detail)> {
    let visits: u64 = village.iter().map(|c| c.visits).sum();
    let not_found: u64 = village.iter().map(|c| c.not_found).sum();
    let mut out = Vec::new();
    for c in village {
        let (others, others_nf) = (visits - c.visits, not_found - c.not_found);
        if c.visits == 0
            || c.visits < u64::from(t.not_found_min_visits)
            || others == 0
            || others < u64::from(t.not_found_min_village_visits)
        {
            continue;
        }
        // share ≥ others' share + excess, in whole numbers: nf/v ≥ onf/o + x/100.
        let excess = u64::from(t.not_found_excess_points);
        if c.not_found * 100 * others >= (others_nf * 100 + excess * others) * c.visits {
            out.push((
                c.user_id.clone(),
                Detail {
                    percent: Some(percent(c.not_found, c.visits)),
                    visits: Some(u32::try_from(c.visits).unwrap_or(u32::MAX)),
                    village_percent: Some(percent(others_nf, others)),
                    ..Detail::default()
                },
            ));
        }
    }
    out
}

fn percent(part: u64, whole: u64) -> u32 {
    u32::try_from((part * 100 + whole / 2) / whole.max(1)).unwrap_or(100)
}

/// A photo captured (its EXIF time, local to the visit's province unless the EXIF names its offset) more than
/// `photo_margin_minutes` before the visit started or after it ended.
pub fn photo_outside(
    f: &Facts,
    photo: &str,
    captured: NaiveDateTime,
    exif_offset: Option<FixedOffset>,
    t: &SignalThresholds,
) -> Option<Detail> {
    let zone = zone(&f.region_code);
    let offset = exif_offset.or(zone.map(Zone::offset))?;
    let captured_utc = captured
        .and_local_timezone(offset)
        .single()?
        .with_timezone(&Utc);
    let margin = chrono::TimeDelta::minutes(i64::from(t.photo_margin_minutes));
    let inside = captured_utc >= f.started_at - margin && captured_utc <= f.ended_at() + margin;
    (!inside).then(|| Detail {
        photo: Some(photo.to_string()),
        local_time: Some(captured.format("%Y-%m-%d %H:%M").to_string()),
        zone: Some(match (exif_offset, zone) {
            (Some(o), _) => format!("UTC{o}"),
            (None, Some(z)) => z.name.to_string(),
            (None, None) => String::new(),
        }),
        ..Detail::default()
    })
}

/// Identical rosters of two different households, of at least `identical_roster_min_members` members.
pub fn identical_roster(a: &Facts, b: &Facts, t: &SignalThresholds) -> Option<Detail> {
    let same = a.visit_id != b.visit_id
        && a.household != b.household
        && a.roster_hash.is_some()
        && a.roster_hash == b.roster_hash
        && a.members >= t.identical_roster_min_members.max(1);
    same.then(|| Detail {
        members: Some(a.members),
        ..Detail::default()
    })
}

/// NIKs found in the rosters of two different households (`shared`: the NIKs both hold).
pub fn shared_nik(a: &Facts, b: &Facts, shared: &[String]) -> Option<Detail> {
    if a.visit_id == b.visit_id || a.household == b.household {
        return None;
    }
    let first = shared.first()?;
    Some(Detail {
        nik: Some(first.clone()),
        niks: Some(u32::try_from(shared.len()).unwrap_or(u32::MAX)),
        same_enumerator: Some(a.user_id == b.user_id),
        ..Detail::default()
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn t() -> SignalThresholds {
        SignalThresholds::default()
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
    }

    /// A found visit in Kota Bengkulu (WIB) from 02:00 to 02:45 UTC (09:00–09:45 local), 4 members, no fix.
    fn facts(id: &str) -> Facts {
        Facts {
            visit_id: id.to_string(),
            revision: 1,
            user_id: "enum1".into(),
            household: format!("hh-{id}"),
            region_code: "17.71.01.1001".into(),
            class: OutcomeClass::Found,
            started_at: at(2, 0),
            finalised_at: Some(at(2, 45)),
            day: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            fix: None,
            members: 4,
            roster_hash: None,
        }
    }

    fn fix(lat: f64, lon: f64) -> Option<Fix> {
        Some(Fix {
            lat,
            lon,
            accuracy_m: 5.0,
        })
    }

    /// Metres north of a point, in degrees of latitude.
    fn north(m: f64) -> f64 {
        m / 111_195.0
    }

    #[test]
    fn a_found_visit_shorter_than_its_household_needs_is_fast() {
        let mut v = facts("a");
        v.finalised_at = Some(at(2, 15)); // 15 min < 10 + 3 × 4
        let d = fast_found(&v, &t()).expect("raised");
        assert_eq!(
            (d.minutes, d.required_minutes, d.members),
            (Some(15), Some(22), Some(4))
        );
    }

    #[test]
    fn a_found_visit_long_enough_or_not_found_or_unfinished_is_not_fast() {
        assert_eq!(fast_found(&facts("a"), &t()), None); // 45 min
        let mut v = facts("a");
        v.finalised_at = Some(at(2, 3));
        v.class = OutcomeClass::NotFound; // a quick "not found" is normal
        assert_eq!(fast_found(&v, &t()), None);
        v.class = OutcomeClass::Found;
        v.finalised_at = None;
        assert_eq!(fast_found(&v, &t()), None);
        v.finalised_at = Some(at(1, 0)); // the clock went back: nothing said about the length
        assert_eq!(fast_found(&v, &t()), None);
    }

    #[test]
    fn fixes_of_two_households_a_few_metres_apart_are_near() {
        let (mut a, mut b) = (facts("a"), facts("b"));
        a.fix = fix(-3.8, 102.26);
        b.fix = fix(-3.8 + north(3.0), 102.26);
        let d = near(&a, &b, &t()).expect("raised");
        assert!((d.metres.unwrap() - 3.0).abs() < 0.2, "{d:?}");
    }

    #[test]
    fn fixes_far_apart_or_of_the_same_household_are_not_near() {
        let (mut a, mut b) = (facts("a"), facts("b"));
        a.fix = fix(-3.8, 102.26);
        b.fix = fix(-3.8 + north(40.0), 102.26);
        assert_eq!(near(&a, &b, &t()), None);
        b.fix = a.fix;
        b.household = a.household.clone(); // a revisit of the same family
        assert_eq!(near(&a, &b, &t()), None);
    }

    #[test]
    fn a_day_of_visits_from_one_spot_is_flagged() {
        let base = (-3.8, 102.26);
        let fixes: Vec<Fix> = (0..5)
            .map(|i| fix(base.0 + north(f64::from(i) * 4.0), base.1).unwrap())
            .collect();
        let d = same_spot(&fixes, &t()).expect("raised");
        assert_eq!(d.visits, Some(5));
    }

    #[test]
    fn a_day_of_visits_spread_out_or_too_few_is_not_one_spot() {
        let fixes: Vec<Fix> = (0..5)
            .map(|i| fix(-3.8 + north(f64::from(i) * 80.0), 102.26).unwrap())
            .collect();
        assert_eq!(same_spot(&fixes, &t()), None);
        let close: Vec<Fix> = (0..3).map(|_| fix(-3.8, 102.26).unwrap()).collect();
        assert_eq!(same_spot(&close, &t()), None); // fewer than same_spot_min_visits
    }

    #[test]
    fn consecutive_visits_too_far_apart_for_the_time_between_are_impossible() {
        let (mut a, mut b) = (facts("a"), facts("b"));
        a.fix = fix(-3.8, 102.26);
        b.fix = fix(-3.8 + north(30_000.0), 102.26); // 30 km
        b.started_at = at(3, 0); // 15 minutes after a was finalised: 120 km/h
        b.finalised_at = Some(at(3, 40));
        let d = speed(&a, &b, &t()).expect("raised");
        assert_eq!(d.minutes, Some(15));
        assert!(d.speed_kmh.unwrap() > 100.0, "{d:?}");
    }

    #[test]
    fn consecutive_visits_at_a_plausible_pace_or_close_by_are_not_impossible() {
        let (mut a, mut b) = (facts("a"), facts("b"));
        a.fix = fix(-3.8, 102.26);
        b.fix = fix(-3.8 + north(10_000.0), 102.26); // 10 km in 15 min: 40 km/h
        b.started_at = at(3, 0);
        assert_eq!(speed(&a, &b, &t()), None);
        b.fix = fix(-3.8 + north(800.0), 102.26); // neighbours, however quick
        b.started_at = at(2, 45);
        assert_eq!(speed(&a, &b, &t()), None);
    }

    #[test]
    fn a_visit_at_night_local_time_is_at_an_odd_hour_in_each_zone() {
        let mut v = facts("a");
        v.started_at = at(15, 0); // 22:00 WIB
        v.finalised_at = Some(at(15, 40));
        let d = odd_hour(&v, &t()).expect("raised");
        assert_eq!(
            (d.local_time.as_deref(), d.zone.as_deref()),
            (Some("22:00"), Some("WIB"))
        );
        // 20:30 UTC is 05:30 WIT the next morning in Papua (91): before 06:00.
        v.region_code = "91.71.01.1001".into();
        v.started_at = at(20, 30);
        v.finalised_at = Some(at(20, 50));
        let d = odd_hour(&v, &t()).expect("raised");
        assert_eq!(
            (d.local_time.as_deref(), d.zone.as_deref()),
            (Some("05:30"), Some("WIT"))
        );
    }

    #[test]
    fn a_daytime_visit_is_not_at_an_odd_hour_whatever_the_zone() {
        let mut v = facts("a");
        assert_eq!(odd_hour(&v, &t()), None); // 09:00 WIB
        // 12:00–12:30 UTC is 20:00–20:30 WITA in Bali (51): still plausible; in Papua (WIT) it is 21:00: not.
        v.region_code = "51.71.01.1001".into();
        v.started_at = at(12, 0);
        v.finalised_at = Some(at(12, 30));
        assert_eq!(odd_hour(&v, &t()), None);
        v.region_code = "91.71.01.1001".into();
        assert!(odd_hour(&v, &t()).is_some());
        v.region_code = String::new(); // no province: no local time to judge
        assert_eq!(odd_hour(&v, &t()), None);
    }

    #[test]
    fn time_zones_follow_the_province_code() {
        assert_eq!(zone("17.71"), Some(WIB));
        assert_eq!(zone("31.71.01.1001"), Some(WIB));
        assert_eq!(zone("62.01"), Some(WIB)); // Central Kalimantan
        assert_eq!(zone("64.72"), Some(WITA)); // East Kalimantan
        assert_eq!(zone("73.71"), Some(WITA));
        assert_eq!(zone("81.71"), Some(WIT));
        assert_eq!(zone("94.01"), Some(WIT)); // Central Papua
        assert_eq!(zone("99.01"), None);
        assert_eq!(zone("1"), None);
    }

    fn counts(user: &str, visits: u64, not_found: u64) -> VillageCounts {
        VillageCounts {
            user_id: user.into(),
            visits,
            not_found,
        }
    }

    #[test]
    fn an_enumerator_with_far_more_not_found_than_the_village_is_flagged() {
        let village = [
            counts("enum1", 12, 6),
            counts("enum2", 20, 2),
            counts("enum3", 10, 1),
        ];
        let flagged = not_found_rates(&village, &t());
        assert_eq!(flagged.len(), 1);
        let (user, d) = &flagged[0];
        assert_eq!(user, "enum1");
        assert_eq!(
            (d.percent, d.village_percent, d.visits),
            (Some(50), Some(10), Some(12))
        );
    }

    #[test]
    fn a_not_found_share_like_the_village_or_on_too_few_visits_is_not_flagged() {
        let alike = [counts("enum1", 12, 3), counts("enum2", 20, 4)];
        assert!(not_found_rates(&alike, &t()).is_empty());
        let few = [counts("enum1", 5, 5), counts("enum2", 20, 0)];
        assert!(not_found_rates(&few, &t()).is_empty());
        let alone = [counts("enum1", 30, 30)]; // nobody to compare with
        assert!(not_found_rates(&alone, &t()).is_empty());
    }

    #[test]
    fn a_photo_taken_long_before_the_visit_is_outside_it() {
        let v = facts("a"); // 09:00–09:45 WIB
        let captured = NaiveDate::from_ymd_opt(2026, 11, 19)
            .unwrap()
            .and_hms_opt(9, 10, 0)
            .unwrap();
        let d = photo_outside(&v, "photo_front", captured, None, &t()).expect("raised");
        assert_eq!(d.local_time.as_deref(), Some("2026-11-19 09:10"));
        assert_eq!(d.zone.as_deref(), Some("WIB"));
    }

    #[test]
    fn a_photo_taken_during_the_visit_or_its_margin_is_not_outside_it() {
        let v = facts("a");
        let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        for (h, m) in [(9, 10), (8, 40), (10, 10)] {
            let captured = day.and_hms_opt(h, m, 0).unwrap();
            assert_eq!(
                photo_outside(&v, "p", captured, None, &t()),
                None,
                "{h}:{m}"
            );
        }
        // The same clock reading in UTC+9 (the EXIF says so) is 07:10 WIB: outside.
        let offset = FixedOffset::east_opt(9 * 3600);
        assert!(photo_outside(&v, "p", day.and_hms_opt(9, 10, 0).unwrap(), offset, &t()).is_some());
    }

    #[test]
    fn identical_rosters_of_two_households_are_flagged_not_of_one_or_too_small() {
        let (mut a, mut b) = (facts("a"), facts("b"));
        a.roster_hash = Some("h".into());
        b.roster_hash = Some("h".into());
        assert_eq!(
            identical_roster(&a, &b, &t()).and_then(|d| d.members),
            Some(4)
        );
        b.roster_hash = Some("other".into());
        assert_eq!(identical_roster(&a, &b, &t()), None);
        b.roster_hash = a.roster_hash.clone();
        b.household = a.household.clone();
        assert_eq!(identical_roster(&a, &b, &t()), None);
        b.household = "hh-b".into();
        a.members = 1;
        assert_eq!(identical_roster(&a, &b, &t()), None);
    }

    #[test]
    fn a_nik_in_two_households_is_shared_and_says_whose() {
        let (a, mut b) = (facts("a"), facts("b"));
        let niks = vec!["1771011205800001".to_string()];
        let d = shared_nik(&a, &b, &niks).expect("raised");
        assert_eq!(
            (d.nik.as_deref(), d.same_enumerator),
            (Some("1771011205800001"), Some(true))
        );
        b.user_id = "enum2".into();
        assert_eq!(
            shared_nik(&a, &b, &niks).and_then(|d| d.same_enumerator),
            Some(false)
        );
        b.household = a.household.clone(); // the same family visited twice
        assert_eq!(shared_nik(&a, &b, &niks), None);
        assert_eq!(shared_nik(&a, &facts("c"), &[]), None);
    }

    #[test]
    fn the_roster_is_the_repeat_with_a_nik_field() {
        let form: Form = serde_json::from_value(json!({
            "id": "f", "version": 1, "title": {"id": "F", "en": "F"}, "choices": {},
            "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
                {"id": "gps", "type": "geopoint", "label": {"id": "GPS", "en": "GPS"}},
                {"id": "assets", "type": "repeat", "label": {"id": "A", "en": "A"}, "fields": [
                    {"id": "what", "type": "text", "label": {"id": "A", "en": "A"}}]},
                {"id": "members", "type": "repeat", "label": {"id": "M", "en": "M"}, "fields": [
                    {"id": "name", "type": "text", "label": {"id": "N", "en": "N"}},
                    {"id": "nik", "type": "nik", "label": {"id": "NIK", "en": "NIK"}}]}
            ]}]
        }))
        .unwrap();
        let answers = |members: Value| {
            json!({"gps": {"lat": -3.8, "lon": 102.26, "accuracy_m": 4},
                   "assets": [{"what": "tv"}], "members": members})
            .as_object()
            .cloned()
            .unwrap()
        };
        let e = extract(
            &form,
            &answers(
                json!([{"name": "A", "nik": "1771011205800001"}, {"name": "B", "nik": "1771011205800001"},
                            {"name": "C"}]),
            ),
        );
        assert_eq!(e.members, 3);
        assert_eq!(e.niks, vec!["1771011205800001".to_string()]);
        assert_eq!(e.fix.map(|f| f.accuracy_m), Some(4.0));
        let same = extract(
            &form,
            &answers(
                json!([{"nik": "1771011205800001", "name": "A"}, {"name": "B", "nik": "1771011205800001"},
                            {"name": "C"}]),
            ),
        );
        assert_eq!(same.roster_hash, e.roster_hash, "key order does not matter");
        let other = extract(&form, &answers(json!([{"name": "A"}])));
        assert_ne!(other.roster_hash, e.roster_hash);
        let none = extract(&form, &answers(json!([])));
        assert_eq!((none.members, none.roster_hash), (0, None));
    }
}
