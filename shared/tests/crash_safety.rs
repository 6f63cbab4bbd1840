//! Crash safety: a child process answers generated households through the real runtime and is killed with
//! SIGKILL at random moments. After every kill the database must pass `PRAGMA integrity_check`, hold every
//! answer the child printed (it prints only after `dispatch` returned), and have no half-finalised visit
//! (final or sent ⇔ an outbox row for that revision).
//!
//! The moments are random; set `TEPAT_CRASH_SEED` to replay a run (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::store::{AnswerRow, Durability, Store};
use uuid::Uuid;

/// Kills to reach across runs (each run is a fresh database that the child fills again and again).
const KILLS: u32 = 210;
/// Households per run: enough that the child is killed long before it has done them all.
const HOUSEHOLDS: &str = "10";
/// Kills per database before starting a new one.
const KILLS_PER_RUN: u32 = 30;

/// What the child reported as stored.
#[derive(Default)]
struct Expected {
    answers: BTreeMap<(Uuid, String), String>,
    finalised: BTreeSet<Uuid>,
    lines: usize,
}

impl Expected {
    fn take(&mut self, line: &str) {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("A"), Some(visit), Some(path), Some(row)) => {
                let visit = Uuid::parse_str(visit).unwrap_or_else(|e| panic!("{line}: {e}"));
                self.answers
                    .insert((visit, path.to_string()), row.to_string());
            }
            (Some("F"), Some(visit), None, None) => {
                self.finalised
                    .insert(Uuid::parse_str(visit).unwrap_or_else(|e| panic!("{line}: {e}")));
            }
            (Some("S" | "P" | "DONE"), ..) => {}
            _ => panic!("unexpected line from the child: {line:?}"),
        }
        self.lines += 1;
    }
}

fn shown(row: Option<AnswerRow>) -> String {
    match row {
        Some(AnswerRow::Value(value)) => value.to_string(),
        Some(AnswerRow::Members(n)) => format!("#{n}"),
        None => "-".to_string(),
    }
}

/// Everything the database must show after a kill.
fn check(db: &Path, expected: &Expected, kill: u32) {
    let store = Store::open(db, Durability::Balanced)
        .unwrap_or_else(|e| panic!("kill {kill}: reopening: {e}"));
    assert_eq!(store.integrity_check().unwrap(), "ok", "kill {kill}");
    for ((visit, path), row) in &expected.answers {
        let stored = shown(store.answer(*visit, path).unwrap());
        match (row.strip_prefix('#'), stored.strip_prefix('#')) {
            // A member added after the last printed count (its print cut off by the kill) is fine.
            (Some(printed), Some(now)) => {
                let (printed, now): (u32, u32) = (printed.parse().unwrap(), now.parse().unwrap());
                assert!(
                    now >= printed,
                    "kill {kill}: {visit} {path}: {now} members, {printed} were stored"
                );
            }
            // Every other path gets one value, the same again after a restart.
            _ => assert_eq!(&stored, row, "kill {kill}: {visit} {path} lost or changed"),
        }
    }
    for visit in &expected.finalised {
        let summary = store.visit_summary(*visit).unwrap();
        assert!(
            summary.state.in_outbox(),
            "kill {kill}: {visit} is {}",
            summary.state
        );
        store
            .outbox_doc(*visit, summary.revision)
            .unwrap_or_else(|e| panic!("kill {kill}: {visit}: {e}"));
    }
    drop(store);
    let conn = rusqlite::Connection::open(db).unwrap();
    let half: i64 = conn
        .query_row(
            "SELECT count(*) FROM visits v WHERE (v.state IN ('final', 'sent')) !=
             EXISTS (SELECT 1 FROM outbox o WHERE o.visit_id = v.visit_id AND o.revision = v.revision)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0, "kill {kill}: a half-finalised visit");
}

#[test]
fn sigkill_at_random_moments_loses_no_returned_answer_and_corrupts_nothing() {
    let seed = std::env::var("TEPAT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("TEPAT_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut kills = 0;
    let mut runs = 0;
    let mut finalised = 0;
    while kills < KILLS {
        runs += 1;
        let db = dir.path().join(format!("run{runs}.db"));
        let household_seed = rng.random::<u32>().to_string();
        let mut expected = Expected::default();
        let mut run_kills = 0;
        loop {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-crash-child"))
                .arg(&db)
                .arg(&household_seed)
                .arg(HOUSEHOLDS)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            // Kill after a random number of answers, a random few hundred microseconds into the next one.
            let kill_after = rng.random_range(1..=200);
            let delay = Duration::from_micros(rng.random_range(0..1500));
            let mut seen = 0;
            let mut done = false;
            for line in lines.by_ref() {
                let line = line.unwrap();
                done |= line == "DONE";
                expected.take(&line);
                seen += 1;
                // Some kills aim at finalising (visit state and outbox row written together).
                let at_finalise = line.starts_with("P ") && rng.random_bool(0.3);
                if seen == kill_after || at_finalise {
                    std::thread::sleep(delay);
                    let _ = child.kill();
                    break;
                }
            }
            // Lines the child wrote before it died count too: they were printed after dispatch returned.
            for line in lines {
                let Ok(line) = line else { break };
                done |= line == "DONE";
                expected.take(&line);
            }
            let status = child.wait().unwrap();
            if status.signal() == Some(9) {
                kills += 1;
                run_kills += 1;
            } else {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                assert!(
                    status.success() && done,
                    "child failed: {status:?}: {stderr}"
                );
            }
            check(&db, &expected, kills);
            if done || run_kills >= KILLS_PER_RUN || kills >= KILLS {
                break;
            }
        }
        finalised += expected.finalised.len();
    }
    println!(
        "{kills} kills over {runs} databases, {finalised} visits finalised between kills, all intact"
    );
    assert!(kills >= KILLS);
    assert!(finalised > 0, "kills must also land around finalising");
}
