//! Timing samples and how they are summarised: medians and tails, never a single run.

use std::time::{Duration, Instant};

/// Durations of repeated runs of one operation.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Samples {
        samples.sort_unstable();
        Samples { sorted: samples }
    }

    /// Runs `op` `warmup` times untimed, then `n` times timed one by one.
    pub fn measure(warmup: usize, n: usize, mut op: impl FnMut(usize)) -> Samples {
        for i in 0..warmup {
            op(i);
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let start = Instant::now();
            op(warmup + i);
            out.push(start.elapsed());
        }
        Samples::new(out)
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The value below which `q` (0..=1) of the samples lie (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q.clamp(0.0, 1.0) * self.sorted.len() as f64).ceil() as usize;
        let index = rank.saturating_sub(1).min(self.sorted.len() - 1);
        self.sorted.get(index).copied().unwrap_or_default()
    }

    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }
}

/// A duration for people: µs below a millisecond, ms below ten seconds, s above.
pub fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 10_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.1} s", us / 1e6)
    }
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

/// `a / b`, guarded against an empty baseline.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::INFINITY }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let s = Samples::new((1..=100).rev().map(Duration::from_micros).collect());
        assert_eq!(s.median(), Duration::from_micros(50));
        assert_eq!(s.p99(), Duration::from_micros(99));
        assert_eq!(s.max(), Duration::from_micros(100));
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(show(Duration::from_nanos(1500)), "1.5 µs");
        assert_eq!(show(Duration::from_micros(2500)), "2.50 ms");
        assert_eq!(show(Duration::from_secs(12)), "12.0 s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(20 * 1024), "20.0 KiB");
    }
}
