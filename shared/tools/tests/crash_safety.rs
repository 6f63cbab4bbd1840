//! Crash safety: a child process types households that this test generated (handed over as a file: the child
//! never decides what is typed, and never reads answers back) through the real runtime, and is killed with SIGKILL
//! at random moments. After every kill the database must pass `PRAGMA integrity_check`; every answer the child
//! reported typed (it reports only after `dispatch` returned) must be stored with exactly the value this test
//! asked for (a photo: the file taken for that field, with its SHA-256); every visit it reported finalised must be
//! in the outbox with a frozen document holding exactly the generated answers and notes; and no visit may be
//! half-finalised (final or sent ⇔ an outbox row for that revision). A store that drops or alters an answer fails.
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
use serde_json::Value;
use sha2::{Digest, Sha256};
use tepat_form::FieldType;
use tepat_protocol::VisitDoc;
use tepat_runtime::script::{Step, field_kinds, steps};
use tepat_store::{AnswerRow, DatabaseKey, Durability, Store};
use tepat_synth::{Generator, Outcome};
use uuid::Uuid;

const DTSEN: &str = include_str!("../../../schemas/forms/dtsen_groundcheck.json");
/// Kills to reach across runs (each run is a fresh database that the child fills again and again).
const KILLS: u32 = 210;
/// Households per run: enough that the child is killed long before it has done them all.
const HOUSEHOLDS: usize = 10;
/// Kills per database before starting a new one.
const KILLS_PER_RUN: u32 = 30;

/// What the child is asked to type in one run, by assignment: the visit, and each path's kind and value; and the
/// key its database is encrypted with (as on a phone).
struct Plan {
    key: [u8; DatabaseKey::LEN],
    kinds: BTreeMap<String, FieldType>,
    visits: BTreeMap<String, VisitDoc>,
    typed: BTreeMap<String, BTreeMap<String, Typed>>,
}

/// One path the child is asked to type.
#[derive(Debug)]
enum Typed {
    Answer(FieldType, Value),
    /// A roster and how many members it gets.
    Roster(usize),
}

impl Plan {
    /// Generates `HOUSEHOLDS` found households from `seed` and writes them where the child reads them.
    fn generate(seed: u64, file: &Path) -> Plan {
        let mut generator = Generator::new(seed);
        let assignments = generator.assignments("17.71", HOUSEHOLDS).unwrap();
        let docs: Vec<VisitDoc> = assignments
            .iter()
            .map(|a| generator.visit_for(a, Outcome::Found).unwrap())
            .collect();
        let wib = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
        let clock = generator
            .visit_date()
            .and_hms_opt(8, 0, 0)
            .and_then(|t| t.and_local_timezone(wib).single())
            .unwrap();
        let key: [u8; DatabaseKey::LEN] = StdRng::seed_from_u64(seed).random();
        let json = serde_json::json!({"key": key, "clock": clock, "assignments": assignments, "visits": docs});
        std::fs::write(file, serde_json::to_vec(&json).unwrap()).unwrap();

        let form = tepat_form::load(DTSEN).unwrap();
        let kinds = field_kinds(form.form());
        let mut plan = Plan {
            key,
            kinds,
            visits: BTreeMap::new(),
            typed: BTreeMap::new(),
        };
        for (assignment, doc) in assignments.iter().zip(docs) {
            let mut typed = BTreeMap::new();
            for step in steps(&doc, &plan.kinds) {
                match step {
                    Step::Answer { path, kind, value } => {
                        typed.insert(path, Typed::Answer(kind, value.clone()));
                    }
                    Step::AddMember { repeat, count } => {
                        typed.insert(repeat.to_string(), Typed::Roster(count));
                    }
                    Step::CloseMember | Step::Note { .. } => {}
                }
            }
            plan.typed.insert(assignment.assignment_id.clone(), typed);
            plan.visits.insert(assignment.assignment_id.clone(), doc);
        }
        plan
    }
}

/// What the child reported done.
#[derive(Default)]
struct Reported {
    /// Each visit opened, with its assignment.
    visits: BTreeMap<Uuid, String>,
    /// Paths whose answer's dispatch returned.
    typed: BTreeSet<(Uuid, String)>,
    finalised: BTreeSet<Uuid>,
}

impl Reported {
    fn take(&mut self, line: &str, plan: &Plan) {
        let uuid = |s: &str| Uuid::parse_str(s).unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut parts = line.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("O"), Some(assignment), Some(visit)) => {
                assert!(
                    plan.visits.contains_key(assignment),
                    "the child opened {assignment}, which it was not given"
                );
                self.visits.insert(uuid(visit), assignment.to_string());
            }
            (Some("A"), Some(visit), Some(path)) => {
                let visit = uuid(visit);
                let assignment = self
                    .visits
                    .get(&visit)
                    .unwrap_or_else(|| panic!("{line}: a visit never opened"));
                assert!(
                    plan.typed[assignment].contains_key(path),
                    "{line}: a path the child was not asked to type"
                );
                self.typed.insert((visit, path.to_string()));
            }
            (Some("F"), Some(visit), None) => {
                self.finalised.insert(uuid(visit));
            }
            (Some("S" | "P" | "DONE"), ..) => {}
            _ => panic!("unexpected line from the child: {line:?}"),
        }
    }
}

/// Whether `have` is the answer typed at `path` of `visit` as `want`. A photo is the file the typist took for
/// that field (named after the visit and the path, holding bytes that name them too) with the SHA-256 of those
/// bytes. The file itself is not read: a later run of the child rewrites it when it types the field again, and
/// may be killed half-way through.
fn same_answer(kind: FieldType, want: &Value, have: &Value, visit: Uuid, path: &str) -> bool {
    if kind != FieldType::Photo {
        return want == have;
    }
    let (Some(file), Some(sha256)) = (have["file"].as_str(), have["sha256"].as_str()) else {
        return false;
    };
    let name = format!("{visit}-{}.jpg", path.replace(['[', ']', '.'], "_"));
    let taken = format!("photo {visit} {path}");
    Path::new(file).file_name() == Some(std::ffi::OsStr::new(&name))
        && format!("{:x}", Sha256::digest(taken.as_bytes())) == sha256
}

/// The frozen document of a finalised visit holds exactly the generated answers (calculations are the engine's,
/// so only their presence is not checked) and notes.
fn check_frozen(
    frozen: &VisitDoc,
    want: &VisitDoc,
    kinds: &BTreeMap<String, FieldType>,
    kill: u32,
) {
    let visit = frozen.visit_id;
    let kind = |k: &str| kinds.get(k).copied().unwrap_or(FieldType::Text);
    let typed = |k: &str| !matches!(kind(k), FieldType::Calculate | FieldType::Note);
    assert_eq!(
        frozen.assignment_id, want.assignment_id,
        "kill {kill}: {visit}"
    );
    assert_eq!(
        frozen.warning_notes, want.warning_notes,
        "kill {kill}: {visit}: notes"
    );
    let frozen_typed: BTreeSet<&String> = frozen.answers.keys().filter(|k| typed(k)).collect();
    let want_typed: BTreeSet<&String> = want.answers.keys().filter(|k| typed(k)).collect();
    assert_eq!(
        frozen_typed, want_typed,
        "kill {kill}: {visit}: answered fields"
    );
    for (key, value) in &want.answers {
        if !typed(key) {
            continue;
        }
        let have = &frozen.answers[key];
        if kind(key) == FieldType::Repeat {
            let (Some(want), Some(have)) = (value.as_array(), have.as_array()) else {
                panic!("kill {kill}: {visit}: {key} is not a roster");
            };
            assert_eq!(
                want.len(),
                have.len(),
                "kill {kill}: {visit}: {key} members"
            );
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                for (field, value) in w.as_object().into_iter().flatten() {
                    if !typed(field) {
                        continue;
                    }
                    let path = format!("{key}[{i}].{field}");
                    let got = h.get(field).unwrap_or(&Value::Null);
                    assert!(
                        same_answer(kind(field), value, got, visit, &path),
                        "kill {kill}: {visit}: {path} frozen as {got}, typed {value}"
                    );
                }
            }
        } else {
            assert!(
                same_answer(kind(key), value, have, visit, key),
                "kill {kill}: {visit}: {key} frozen as {have}, typed {value}"
            );
        }
    }
}

/// Everything the database must show after a kill.
fn check(db: &Path, plan: &Plan, reported: &Reported, kill: u32) {
    // Encrypted at rest: the file never shows SQLite's plain header.
    let header = std::fs::read(db).unwrap_or_default();
    assert!(
        !header.starts_with(b"SQLite format 3"),
        "kill {kill}: the database is not encrypted"
    );
    let store = Store::open_encrypted(db, &DatabaseKey::new(plan.key), Durability::Balanced)
        .unwrap_or_else(|e| panic!("kill {kill}: reopening: {e}"));
    assert_eq!(store.integrity_check().unwrap(), "ok", "kill {kill}");
    for (visit, path) in &reported.typed {
        let assignment = &reported.visits[visit];
        let stored = store.answer(*visit, path).unwrap();
        match (&plan.typed[assignment][path], stored) {
            // Members added after the last report (cut off by the kill) may be there too, never more than asked.
            (Typed::Roster(asked), Some(AnswerRow::Members(n))) => assert!(
                n >= 1 && n as usize <= *asked,
                "kill {kill}: {visit} {path}: {n} members, {asked} asked"
            ),
            (Typed::Answer(kind, want), Some(AnswerRow::Value(have))) => assert!(
                same_answer(*kind, want, &have, *visit, path),
                "kill {kill}: {visit} {path}: stored {have}, typed {want}"
            ),
            (asked, stored) => {
                panic!("kill {kill}: {visit} {path}: stored {stored:?}, typed {asked:?}")
            }
        }
    }
    for visit in &reported.finalised {
        let summary = store.visit_summary(*visit).unwrap();
        assert!(
            summary.state.in_outbox(),
            "kill {kill}: {visit} is {}",
            summary.state
        );
        let frozen = store
            .outbox_doc(*visit, summary.revision)
            .unwrap_or_else(|e| panic!("kill {kill}: {visit}: {e}"));
        check_frozen(
            &frozen,
            &plan.visits[&reported.visits[visit]],
            &plan.kinds,
            kill,
        );
    }
    drop(store);
    let conn = rusqlite::Connection::open(db).unwrap();
    let hex: String = plan.key.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\""))
        .unwrap();
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
fn sigkill_at_random_moments_loses_or_alters_no_typed_answer_and_corrupts_nothing() {
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
        let households = dir.path().join(format!("run{runs}.json"));
        let plan = Plan::generate(rng.random::<u32>().into(), &households);
        let mut reported = Reported::default();
        let mut run_kills = 0;
        loop {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-crash-child"))
                .arg(&db)
                .arg(&households)
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
                reported.take(&line, &plan);
                seen += 1;
                // Some kills aim at finalising (visit state and outbox row written together).
                let at_finalise = line.starts_with("P ") && rng.random_bool(0.3);
                if seen == kill_after || at_finalise {
                    std::thread::sleep(delay);
                    let _ = child.kill();
                    break;
                }
            }
            // Lines the child wrote before it died count too: each was written after its dispatch returned.
            for line in lines {
                let Ok(line) = line else { break };
                done |= line == "DONE";
                reported.take(&line, &plan);
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
            check(&db, &plan, &reported, kills);
            if done || run_kills >= KILLS_PER_RUN || kills >= KILLS {
                break;
            }
        }
        finalised += reported.finalised.len();
    }
    println!(
        "{kills} kills over {runs} databases, {finalised} visits finalised between kills, all intact"
    );
    assert!(kills >= KILLS);
    assert!(finalised > 0, "kills must also land around finalising");
}
