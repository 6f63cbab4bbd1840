//! Figure 6: peak resident memory (VmHWM) of the field core holding a day's work, measured in a child process
//! of this binary (`tepat-bench core-memory DIR SEED`) so that nothing else of the benchmark is counted; and of
//! a server process, read from /proc.

use std::path::Path;
use std::process::Command;

use tepat_synth::{Generator, Outcome};

use crate::household;

/// The day's outcome mix: mostly found, one each refused, not found, moved, not reachable (as `demo_day`).
pub const DAY: [Outcome; 12] = [
    Outcome::Found,
    Outcome::Found,
    Outcome::Refused,
    Outcome::Found,
    Outcome::Found,
    Outcome::NotFound,
    Outcome::Found,
    Outcome::Found,
    Outcome::Moved,
    Outcome::Found,
    Outcome::Found,
    Outcome::NotReachable,
];

/// Peak and current resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    pub peak_kib: u64,
    pub now_kib: u64,
}

pub fn rss_of(pid: &str) -> Option<Rss> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Rss {
        peak_kib: field("VmHWM:")?,
        now_kib: field("VmRSS:")?,
    })
}

pub struct CoreMemory {
    /// The bare process (this binary, before opening anything).
    pub start: Rss,
    /// After forms, runtime and the day's 12 visits (finalised, in the outbox).
    pub day: Rss,
    pub visits: usize,
}

/// Runs the child and reads what it reports.
pub fn run(dir: &Path, seed: u64) -> Result<CoreMemory, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .arg("core-memory")
        .arg(dir)
        .arg(seed.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "core-memory child failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let numbers: Vec<u64> = stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers.as_slice() {
        [a, b, c, d, n] => Ok(CoreMemory {
            start: Rss {
                peak_kib: *a,
                now_kib: *b,
            },
            day: Rss {
                peak_kib: *c,
                now_kib: *d,
            },
            visits: *n as usize,
        }),
        _ => Err(format!("core-memory child said {stdout:?}")),
    }
}

/// The child: a phone's core with both forms, the day's assignments and 12 visits entered through the screens.
/// Prints `start_peak start_now day_peak day_now visits` in KiB.
pub fn child(dir: &Path, seed: u64) -> Result<(), String> {
    let start = rss_of("self").ok_or("no /proc/self/status")?;
    let mut generator = Generator::new(seed);
    let date = generator.visit_date();
    let assignments = generator
        .assignments(tepat_synth::DEFAULT_REGION, DAY.len())
        .map_err(|e| e.to_string())?;
    let phone = household::offline_phone(dir, date, assignments.clone())?;
    let mut visits = 0;
    for (assignment, outcome) in assignments.iter().zip(DAY) {
        let doc = generator
            .visit_for(assignment, outcome)
            .map_err(|e| e.to_string())?;
        phone
            .enter(&assignment.assignment_id, &doc)
            .map_err(|e| e.to_string())?;
        visits += 1;
    }
    let outbox = phone.outbox().map_err(|e| e.to_string())?;
    if outbox != visits {
        return Err(format!("{visits} visits entered, {outbox} in the outbox"));
    }
    let day = rss_of("self").ok_or("no /proc/self/status")?;
    println!(
        "{} {} {} {} {visits}",
        start.peak_kib, start.now_kib, day.peak_kib, day.now_kib
    );
    Ok(())
}
