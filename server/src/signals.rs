//! Signals of fabrication (issue 16): what makes a visit look made up, computed at ingest and shown wherever
//! visits are listed (supervisor pull, exports, progress, the console's queue and visit page), each with a short
//! reason in Bahasa Indonesia and English. A signal is a prompt for the supervisor to look, never a verdict.
//!
//! - [`rules`]: each signal's rule, pure (the thresholds are [`crate::config::SignalThresholds`]);
//! - [`store`]: what ingest records of each visit's latest revision (`signal_facts`, `signal_niks`), the signals
//!   themselves (`visit_signals`), and the neighbours recomputed when a visit arrives, found through indexes (GPS
//!   cell, NIK, photo hash, roster hash, the enumerator's day and time order, the village): never a full scan;
//! - [`exif`]: the capture time a photo's EXIF carries, read once when the photo is stored.
//!
//! Signals that relate two visits are stored on both (`other` names the other visit), so the one that arrived
//! first shows it too; its `seq` moves so the supervisor pull hands it out again.

use serde::{Deserialize, Serialize};
use tepat_form::Text;

pub mod exif;
pub mod rules;
pub mod store;

pub use store::{of_visit, of_visits};

/// Every kind of signal. The code (`as_str`) is what the API, the exports and the codebook show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A "found" visit finished implausibly fast for its household size.
    FastFound,
    /// GPS fixes of two different households within a few metres.
    GpsNearOther,
    /// All of an enumerator's visits of a day from one spot.
    SameSpotDay,
    /// Consecutive visits of one enumerator whose distance and times imply an impossible speed.
    ImpossibleSpeed,
    /// The same photo (same SHA-256) on two visits.
    SamePhoto,
    /// A photo whose capture time lies outside the visit.
    PhotoOutsideVisit,
    /// A NIK in the rosters of two different households.
    SharedNik,
    /// Identical rosters on two visits of different households.
    IdenticalRoster,
    /// A visit at an implausible local hour.
    OddHour,
    /// Many "not found" outcomes for one enumerator compared with the rest of the village.
    NotFoundRate,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::FastFound,
        Kind::GpsNearOther,
        Kind::SameSpotDay,
        Kind::ImpossibleSpeed,
        Kind::SamePhoto,
        Kind::PhotoOutsideVisit,
        Kind::SharedNik,
        Kind::IdenticalRoster,
        Kind::OddHour,
        Kind::NotFoundRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FastFound => "fast_found",
            Kind::GpsNearOther => "gps_near_other",
            Kind::SameSpotDay => "same_spot_day",
            Kind::ImpossibleSpeed => "impossible_speed",
            Kind::SamePhoto => "same_photo",
            Kind::PhotoOutsideVisit => "photo_outside_visit",
            Kind::SharedNik => "shared_nik",
            Kind::IdenticalRoster => "identical_roster",
            Kind::OddHour => "odd_hour",
            Kind::NotFoundRate => "not_found_rate",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == code)
    }

    /// The kind's name (Bahasa Indonesia, English): codebook and console labels.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Kind::FastFound => (
                "Ditemukan, selesai terlalu cepat",
                "Found, finished too fast",
            ),
            Kind::GpsNearOther => (
                "Titik GPS berdekatan dengan rumah tangga lain",
                "GPS fix close to another household's",
            ),
            Kind::SameSpotDay => (
                "Semua kunjungan sehari dari satu titik",
                "All visits of a day from one spot",
            ),
            Kind::ImpossibleSpeed => (
                "Kecepatan antar-kunjungan mustahil",
                "Impossible speed between visits",
            ),
            Kind::SamePhoto => ("Foto sama di kunjungan lain", "Same photo on another visit"),
            Kind::PhotoOutsideVisit => (
                "Foto diambil di luar waktu kunjungan",
                "Photo taken outside the visit",
            ),
            Kind::SharedNik => (
                "NIK juga di rumah tangga lain",
                "NIK also in another household",
            ),
            Kind::IdenticalRoster => (
                "Daftar anggota sama dengan rumah tangga lain",
                "Roster identical to another household's",
            ),
            Kind::OddHour => ("Jam kunjungan tidak wajar", "Visit at an implausible hour"),
            Kind::NotFoundRate => (
                "Banyak \"tidak ditemukan\" dibanding desa",
                "Many \"not found\" compared with the village",
            ),
        }
    }
}

/// The numbers behind one signal, stored with it (JSON) and turned into its reason when shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metres: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub niks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_enumerator: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub village_percent: Option<u32>,
}

/// One signal on one visit, as the pull shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The kind's code (`fast_found`, `gps_near_other`, ...).
    pub kind: String,
    /// The other visit a signal relating two visits names (on both of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_visit_id: Option<String>,
    /// Why, in Bahasa Indonesia and English.
    pub reason: Text,
}

impl Signal {
    pub fn new(kind: Kind, other: &str, detail: &Detail) -> Signal {
        Signal {
            kind: kind.as_str().to_string(),
            other_visit_id: (!other.is_empty()).then(|| other.to_string()),
            reason: reason(kind, detail),
        }
    }
}

fn num(value: Option<f64>) -> String {
    format!("{:.0}", value.unwrap_or_default())
}

fn int<T: std::fmt::Display + Default>(value: Option<T>) -> String {
    value.unwrap_or_default().to_string()
}

/// The short reason of a signal, from its numbers.
pub fn reason(kind: Kind, d: &Detail) -> Text {
    let text = |id: String, en: String| Text::new(id, en);
    match kind {
        Kind::FastFound => text(
            format!(
                "Keluarga ditemukan, tetapi kunjungan selesai dalam {} menit untuk {} anggota (wajar minimal {} menit)",
                int(d.minutes),
                int(d.members),
                int(d.required_minutes)
            ),
            format!(
                "Family found, but the visit took {} min for {} members (at least {} min expected)",
                int(d.minutes),
                int(d.members),
                int(d.required_minutes)
            ),
        ),
        Kind::GpsNearOther => text(
            format!(
                "Titik GPS hanya {} m dari titik rumah tangga lain",
                num(d.metres)
            ),
            format!("GPS fix only {} m from another household's", num(d.metres)),
        ),
        Kind::SameSpotDay => text(
            format!(
                "Semua {} kunjungan pencacah hari itu diambil dari satu titik (dalam {} m)",
                int(d.visits),
                num(d.metres)
            ),
            format!(
                "All {} of the enumerator's visits that day were taken from one spot (within {} m)",
                int(d.visits),
                num(d.metres)
            ),
        ),
        Kind::ImpossibleSpeed => text(
            format!(
                "Kunjungan berurutan berjarak {} m dalam {} menit: {} km/jam",
                num(d.metres),
                int(d.minutes),
                num(d.speed_kmh)
            ),
            format!(
                "Consecutive visits {} m apart in {} min: {} km/h",
                num(d.metres),
                int(d.minutes),
                num(d.speed_kmh)
            ),
        ),
        Kind::SamePhoto => text(
            format!(
                "Foto yang sama (SHA-256 {}) juga ada di kunjungan lain",
                d.photo.as_deref().unwrap_or_default()
            ),
            format!(
                "The same photo (SHA-256 {}) is also on another visit",
                d.photo.as_deref().unwrap_or_default()
            ),
        ),
        Kind::PhotoOutsideVisit => text(
            format!(
                "Foto {} diambil {} {}, di luar waktu kunjungan",
                d.photo.as_deref().unwrap_or_default(),
                d.local_time.as_deref().unwrap_or_default(),
                d.zone.as_deref().unwrap_or_default()
            ),
            format!(
                "Photo {} was taken at {} {}, outside the visit",
                d.photo.as_deref().unwrap_or_default(),
                d.local_time.as_deref().unwrap_or_default(),
                d.zone.as_deref().unwrap_or_default()
            ),
        ),
        Kind::SharedNik => {
            let (who_id, who_en) = if d.same_enumerator == Some(true) {
                ("pencacah yang sama", "the same enumerator")
            } else {
                ("pencacah lain", "another enumerator")
            };
            let more = d.niks.unwrap_or(1).saturating_sub(1);
            text(
                format!(
                    "NIK {}{} juga tercatat di daftar anggota rumah tangga lain ({who_id})",
                    d.nik.as_deref().unwrap_or_default(),
                    if more > 0 {
                        format!(" dan {more} NIK lain")
                    } else {
                        String::new()
                    }
                ),
                format!(
                    "NIK {}{} is also on another household's roster ({who_en})",
                    d.nik.as_deref().unwrap_or_default(),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )
        }
        Kind::IdenticalRoster => text(
            format!(
                "Daftar {} anggota sama persis dengan rumah tangga lain",
                int(d.members)
            ),
            format!(
                "The roster of {} members is identical to another household's",
                int(d.members)
            ),
        ),
        Kind::OddHour => text(
            format!(
                "Kunjungan pada pukul {} {}",
                d.local_time.as_deref().unwrap_or_default(),
                d.zone.as_deref().unwrap_or_default()
            ),
            format!(
                "Visit at {} {}",
                d.local_time.as_deref().unwrap_or_default(),
                d.zone.as_deref().unwrap_or_default()
            ),
        ),
        Kind::NotFoundRate => text(
            format!(
                "{}% kunjungan pencacah ini di desa berakhir \"tidak ditemukan\" ({} kunjungan); pencacah lain di desa: {}%",
                int(d.percent),
                int(d.visits),
                int(d.village_percent)
            ),
            format!(
                "{}% of this enumerator's visits in the village ended \"not found\" ({} visits); other enumerators there: {}%",
                int(d.percent),
                int(d.visits),
                int(d.village_percent)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_code_that_parses_back_and_a_reason_in_both_languages() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            let reason = reason(kind, &Detail::default());
            assert!(!reason.id.is_empty() && !reason.en.is_empty());
            assert_ne!(reason.id, reason.en, "{kind:?}");
            let (id, en) = kind.label();
            assert!(!id.is_empty() && !en.is_empty());
        }
        assert_eq!(Kind::parse("no_such_signal"), None);
    }
}
