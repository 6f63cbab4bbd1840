//! Whether a visit's date is plausible. The date is the device's clock on the day of the visit, so a phone whose
//! clock is wrong (reset to 1970 after the battery was out, set a year ahead by hand) sends a wrong one. Such a
//! visit is still real work: it is stored, flagged with an error-level finding (`visit_date_implausible`) so the
//! supervisor sees it and can return it, and counted in progress on the day the server received it, so an
//! impossible date (0000-01-01, +10000-01-01) never appears as a day. Refusing it instead would leave the visit
//! held on the phone for good: the enumerator cannot change a visit's date.
//!
//! Plausible: from the day before the form version was published (the phone cannot have had the form earlier;
//! the day allows for a device in a time zone behind UTC) to two days after the server's clock (local dates in
//! Indonesia run up to 9 hours ahead of UTC, and a day more of clock drift is tolerated).

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Days, NaiveDate, Utc};
use tepat_form::{Finding, Level, Text};

use crate::db::{self, DbError};

/// How long before the form version's publication a visit date may be.
pub const BEFORE_PUBLISHED: Days = Days::new(1);
/// How far after the server's clock a visit date may be.
pub const AFTER_SERVER_CLOCK: Days = Days::new(2);

/// The rule name of the finding a visit with an implausible date gets.
pub const RULE: &str = "visit_date_implausible";

/// The dates a visit on one form version, received at one moment, may plausibly carry (both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

impl Window {
    /// The window of a form version published at `published_at`, for a visit the server receives at `now`.
    pub fn new(published_at: DateTime<Utc>, now: DateTime<Utc>) -> Window {
        Window {
            earliest: published_at
                .date_naive()
                .checked_sub_days(BEFORE_PUBLISHED)
                .unwrap_or(NaiveDate::MIN),
            latest: now
                .date_naive()
                .checked_add_days(AFTER_SERVER_CLOCK)
                .unwrap_or(NaiveDate::MAX),
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.earliest <= date && date <= self.latest
    }

    /// The error-level finding of a visit date outside the window.
    pub fn finding(&self, date: NaiveDate) -> Option<Finding> {
        if self.contains(date) {
            return None;
        }
        let (earliest, latest) = (self.earliest, self.latest);
        Some(Finding {
            path: "visit_date".to_string(),
            field: "visit_date".to_string(),
            rule: RULE.to_string(),
            level: Level::Error,
            message: Text::new(
                format!(
                    "Tanggal kunjungan {date} tidak mungkin (harus antara {earliest} dan {latest}): periksa tanggal \
                     di HP. Kunjungan tetap disimpan."
                ),
                format!(
                    "The visit date {date} is implausible (it must lie between {earliest} and {latest}): check the \
                     phone's date. The visit is kept."
                ),
            ),
        })
    }

    /// The day progress counts the visit on: its own date when plausible, else the day the server received it.
    pub fn progress_date(&self, date: NaiveDate, received_at: DateTime<Utc>) -> NaiveDate {
        if self.contains(date) {
            date
        } else {
            received_at.date_naive()
        }
    }
}

/// When a form version was published, if it is.
pub fn published_at(
    tx: &Transaction<'_>,
    form_id: &str,
    version: u32,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let text: Option<String> = tx
        .query_row(
            "SELECT published_at FROM forms WHERE form_id = ?1 AND version = ?2",
            params![form_id, version],
            |r| r.get(0),
        )
        .optional()?;
    text.map(|t| db::parse_timestamp(&t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_window_runs_from_a_day_before_publication_to_two_days_after_the_server_clock() {
        let window = Window::new(at("2026-11-01T10:00:00Z"), at("2026-11-30T23:00:00Z"));
        assert_eq!(window.earliest, date(2026, 10, 31));
        assert_eq!(window.latest, date(2026, 12, 2));
        for plausible in [date(2026, 10, 31), date(2026, 11, 15), date(2026, 12, 2)] {
            assert!(window.contains(plausible), "{plausible}");
            assert_eq!(window.finding(plausible), None);
        }
        for implausible in [date(2026, 10, 30), date(2026, 12, 3), date(1970, 1, 1)] {
            let finding = window.finding(implausible).unwrap();
            assert_eq!(
                (finding.rule.as_str(), finding.level, finding.path.as_str()),
                (RULE, Level::Error, "visit_date")
            );
            assert!(finding.message.en.contains(&implausible.to_string()));
        }
    }

    #[test]
    fn extreme_dates_are_implausible_and_counted_on_the_day_received() {
        let received = at("2026-11-30T08:00:00Z");
        let window = Window::new(at("2026-11-01T10:00:00Z"), received);
        for extreme in [
            "0000-01-01".parse::<NaiveDate>().unwrap(),
            "+10000-01-01".parse::<NaiveDate>().unwrap(),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ] {
            assert!(window.finding(extreme).is_some(), "{extreme}");
            assert_eq!(window.progress_date(extreme, received), date(2026, 11, 30));
        }
        assert_eq!(
            window.progress_date(date(2026, 11, 29), received),
            date(2026, 11, 29)
        );
    }

    #[test]
    fn a_window_at_the_ends_of_the_calendar_does_not_overflow() {
        let window = Window::new(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!(window.earliest, NaiveDate::MIN);
        assert_eq!(window.latest, NaiveDate::MAX);
    }
}
