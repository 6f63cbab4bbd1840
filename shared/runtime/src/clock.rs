//! The wall clock the App reads (through its Time effect).

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, Local};

pub trait Clock: Send + Sync {
    /// Now, with the phone's UTC offset (the local date is the visit date).
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The system clock in the system's time zone.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }
}

/// A clock that only moves when told (tests, scripted training), one second per reading so events stay ordered.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<FixedOffset>>,
}

impl FixedClock {
    pub fn new(start: DateTime<FixedOffset>) -> FixedClock {
        FixedClock {
            now: Mutex::new(start),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reading = *now;
        *now += Duration::seconds(1);
        reading
    }
}
