//! The clocks the App reads (through its Time effect): the wall clock, and with it the monotonic clock the audit
//! trail keeps beside it (`tepat_protocol::trail::Monotonic`), so a wall clock changed mid-visit shows.

use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, FixedOffset, Local};
use tepat_protocol::trail::Monotonic;

pub trait Clock: Send + Sync {
    /// Now, with the phone's UTC offset (the local date is the visit date).
    fn now(&self) -> DateTime<FixedOffset>;

    /// Now, and the monotonic clock read with it (`None`: this clock has none). The runtime reads this whenever
    /// the App asks for the time; the store stamps the audit events of that moment with both.
    fn reading(&self) -> (DateTime<FixedOffset>, Option<Monotonic>) {
        (self.now(), None)
    }
}

/// The system clock in the system's time zone; on Linux and Android with `CLOCK_BOOTTIME` as its monotonic clock
/// ([`boot_reading_ns`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }

    fn reading(&self) -> (DateTime<FixedOffset>, Option<Monotonic>) {
        let now = Local::now();
        let mono = boot_reading_ns().and_then(|(boot, ns)| {
            // Both clocks read one after the other to the nanosecond; each rounded down to the millisecond by
            // itself, their distance would wobble by a millisecond from reading to reading. So the reading is
            // the wall clock's millisecond plus the distance between the two clocks, rounded: the same distance
            // every time while the two advance together (the trail then sends no change for it).
            let wall_ns = i128::from(now.timestamp_nanos_opt()?);
            let distance_ms = (ns - wall_ns + 500_000).div_euclid(1_000_000);
            let ms = wall_ns.div_euclid(1_000_000) + distance_ms;
            Some(Monotonic {
                boot,
                ms: u64::try_from(ms).ok()?,
            })
        });
        (now.fixed_offset(), mono)
    }
}

/// The monotonic clock of the audit trail: `CLOCK_BOOTTIME` (here in nanoseconds), with the boot it counts from.
///
/// Why this clock: it counts the time the phone sleeps (`CLOCK_MONOTONIC`, behind `std::time::Instant` on Linux,
/// stops while the phone sleeps, which is most of a field day between answers, so it would drift from the wall
/// clock by hours without anyone touching the clock), it cannot be set by the person holding the phone, and it
/// restarts at each boot, so readings compare only within one boot. The boot is named by the kernel's
/// `/proc/sys/kernel/random/boot_id`; where an app may not read it, by an id drawn once per app process (a process
/// never outlives its boot, so readings under one id still compare; only fewer of them do). `None` on systems
/// without `CLOCK_BOOTTIME` (the tools on macOS or Windows): their events carry no reading.
fn boot_reading_ns() -> Option<(String, i128)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        let ns = i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec);
        Some((boot_id().to_string(), ns))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// The kernel's id of this boot, or one drawn for this process when it cannot be read.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_id() -> &'static str {
    static BOOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .and_then(|text| uuid::Uuid::parse_str(text.trim()).ok())
            .map(|id| id.to_string())
            .unwrap_or_else(|| format!("process-{}", uuid::Uuid::now_v7()))
    })
}

/// A clock that only moves when told (tests, scripted training), one second per reading so events stay ordered.
/// Its monotonic clock moves with the wall clock as time passes ([`FixedClock::advance`]) and stays put when the
/// wall clock is set ([`FixedClock::set_by`]); each `FixedClock` is a boot of its own.
#[derive(Debug)]
pub struct FixedClock {
    state: Mutex<Fixed>,
    boot: String,
}

#[derive(Debug)]
struct Fixed {
    now: DateTime<FixedOffset>,
    /// Milliseconds since this clock's "boot".
    mono_ms: u64,
}

/// Where a [`FixedClock`]'s monotonic clock starts: an hour after its boot.
const FIXED_UPTIME_MS: u64 = 3_600_000;

impl FixedClock {
    pub fn new(start: DateTime<FixedOffset>) -> FixedClock {
        FixedClock {
            state: Mutex::new(Fixed {
                now: start,
                mono_ms: FIXED_UPTIME_MS,
            }),
            boot: format!("fixed-{}", uuid::Uuid::now_v7()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Fixed> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time passes: both clocks move by `by`. A negative `by` is the wall clock set back (time never runs
    /// backwards), as [`FixedClock::set_by`].
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by;
        if by > Duration::zero() {
            state.mono_ms = state
                .mono_ms
                .saturating_add(u64::try_from(by.num_milliseconds()).unwrap_or(0));
        }
    }

    /// The wall clock is set (by the person holding the phone, or by the network): it moves by `by`, the
    /// monotonic clock does not.
    pub fn set_by(&self, by: Duration) {
        self.lock().now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<FixedOffset> {
        self.reading().0
    }

    fn reading(&self) -> (DateTime<FixedOffset>, Option<Monotonic>) {
        let mut state = self.lock();
        let reading = (
            state.now,
            Some(Monotonic {
                boot: self.boot.clone(),
                ms: state.mono_ms,
            }),
        );
        state.now += Duration::seconds(1);
        state.mono_ms = state.mono_ms.saturating_add(1000);
        reading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-23T08:00:00+07:00").unwrap()
    }

    #[test]
    fn a_fixed_clocks_monotonic_clock_moves_with_time_and_not_when_the_clock_is_set() {
        let clock = FixedClock::new(start());
        let (first, Some(a)) = clock.reading() else {
            panic!("no reading")
        };
        clock.advance(Duration::minutes(10));
        let (second, Some(b)) = clock.reading() else {
            panic!("no reading")
        };
        assert_eq!((second - first).num_milliseconds(), (b.ms - a.ms) as i64);
        clock.set_by(Duration::days(-1));
        clock.advance(Duration::days(-1));
        let (third, Some(c)) = clock.reading() else {
            panic!("no reading")
        };
        assert_eq!(c.ms - b.ms, 1000, "one second per reading, nothing else");
        assert_eq!((third - second).num_seconds(), -48 * 3600 + 1);
        assert_eq!((a.boot == b.boot, a.boot == c.boot), (true, true));
        assert_ne!(
            FixedClock::new(start()).reading().1.map(|m| m.boot),
            Some(a.boot)
        );
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_system_clock_reads_boottime_with_the_boot_it_counts_from() {
        let (_, Some(first)) = SystemClock.reading() else {
            panic!("no reading on Linux")
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (_, Some(second)) = SystemClock.reading() else {
            panic!("no reading on Linux")
        };
        assert_eq!(first.boot, second.boot);
        assert!(second.ms >= first.ms + 20, "{first:?} {second:?}");
        // Milliseconds since boot: the machine has been up less than a year.
        assert!(second.ms < 366 * 24 * 3_600_000);
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|t| t.split_whitespace().next().and_then(|s| s.parse().ok()))
            .unwrap_or_default();
        assert!(
            (uptime * 1000.0 - second.ms as f64).abs() < 5_000.0,
            "{uptime} s up, {second:?}"
        );
        // The reading's distance to the wall clock stays the same from reading to reading.
        let distance = |(now, mono): (DateTime<FixedOffset>, Option<Monotonic>)| {
            mono.map(|m| m.ms as i64 - now.timestamp_millis())
        };
        let first = distance(SystemClock.reading());
        let steady = (0..50)
            .filter(|_| distance(SystemClock.reading()) == first)
            .count();
        assert!(steady >= 45, "{steady} of 50 readings at the same distance");
        let raw = boot_reading_ns().map_or(0, |(_, ns)| (ns / 1_000_000) as u64);
        assert!(raw.abs_diff(second.ms) < 5_000);
    }
}
