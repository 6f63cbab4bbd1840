//! Helper of `shared/tools/tests/crash_safety.rs`: types the households the test hands it (a JSON file: the clock, the
//! assignments and, for each, the visit to enter) through the real runtime, and reports each step as soon as its
//! `dispatch` returned, so the test can kill this process at any instant and check the store against what it
//! asked to be typed (this child never reads answers back: the test compares with its own copy).
//!
//! Lines: `O <assignment> <visit>` (the household's visit is open), `A <visit> <path>` (the answer at `path` was
//! typed, or at a roster's path: a member was added), `P <visit>` (finalising now), `F <visit>` (finalised),
//! `S <assignment>` (skipped: finished in an earlier run), `DONE`.
//!
//! Usage: `tepat-crash-child DB HOUSEHOLDS_JSON` (the same file continues the same households after a kill; it
//! also holds the database's key).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use tepat_app::{ItemStatus, Screen, UiEvent};
use tepat_protocol::{Assignment, Role, VisitDoc};
use tepat_runtime::script::{ScriptError, ScriptedShell, Typist};
use tepat_runtime::{FixedClock, NoServer, Parts, Runtime};
use tepat_store::{DatabaseKey, Durability, Identity};

const DTSEN: &str = include_str!("../../../../schemas/forms/dtsen_groundcheck.json");

/// What the test asks to be typed: `visits[i]` is the visit of `assignments[i]`; the database is encrypted with
/// `key`, as on a phone.
#[derive(Deserialize)]
struct Households {
    key: [u8; DatabaseKey::LEN],
    clock: DateTime<FixedOffset>,
    assignments: Vec<Assignment>,
    visits: Vec<VisitDoc>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(file)) = (args.get(1).map(PathBuf::from), args.get(2)) else {
        eprintln!("usage: tepat-crash-child DB HOUSEHOLDS_JSON");
        return ExitCode::from(2);
    };
    let households: Households = match std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(households) => households,
        Err(e) => {
            eprintln!("tepat-crash-child: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&db, households) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(db: &Path, households: Households) -> Result<(), String> {
    let Households {
        key,
        clock,
        assignments,
        visits: docs,
    } = households;
    if assignments.len() != docs.len() {
        return Err("one visit per assignment".into());
    }
    let shell = Arc::new(ScriptedShell::default());
    let parts = Parts {
        transport: Arc::new(NoServer),
        clock: Arc::new(FixedClock::new(clock)),
        shell: shell.clone(),
        durability: Durability::Balanced,
    };
    let runtime =
        Runtime::open_encrypted(db, &DatabaseKey::new(key), parts).map_err(|e| e.to_string())?;
    runtime.dispatch(UiEvent::InstallForm {
        json: DTSEN.to_string(),
    });
    let identity = Identity {
        device_id: "crash-test".into(),
        user_id: "U-crash".into(),
        name: "Uji".into(),
        role: Role::Enumerator,
        regions: vec!["17.71".into()],
    };
    runtime.dispatch(UiEvent::UseIdentity { identity });
    runtime.dispatch(UiEvent::ImportAssignments {
        assignments: assignments.clone(),
    });
    let photos = db.with_extension("photos");
    std::fs::create_dir_all(&photos).map_err(|e| e.to_string())?;
    let typist = Typist::new(&runtime, &shell, &photos);
    let out = std::io::stdout();
    // Which households an earlier run finished (read once: this run only finishes more).
    let today = match runtime.dispatch(UiEvent::ShowToday).screen {
        Screen::Today(today) => today,
        _ => return Err("not on today's list".into()),
    };
    for (assignment, doc) in assignments.iter().zip(&docs) {
        let id = &assignment.assignment_id;
        let status = today
            .items
            .iter()
            .find(|i| &i.assignment_id == id)
            .map(|i| i.status);
        if matches!(status, Some(ItemStatus::NotStarted | ItemStatus::Draft)) {
            household(&typist, &out, id, doc).map_err(|e| e.to_string())?;
        } else {
            line(&out, &format!("S {id}"));
        }
    }
    line(&out, "DONE");
    Ok(())
}

/// Enters one household, reporting each answer once its dispatch returned, then finalises it.
fn household(
    typist: &Typist,
    out: &std::io::Stdout,
    assignment_id: &str,
    doc: &VisitDoc,
) -> Result<(), ScriptError> {
    let visit_id = typist.open(assignment_id)?;
    line(out, &format!("O {assignment_id} {visit_id}"));
    typist.type_in(visit_id, doc, |path| {
        line(out, &format!("A {visit_id} {path}"));
        Ok(())
    })?;
    // Tells the test a finalise is starting, so some kills aim at it.
    line(out, &format!("P {visit_id}"));
    typist.finalise(visit_id)?;
    line(out, &format!("F {visit_id}"));
    Ok(())
}

/// One write per line: a kill never leaves half a line behind a complete one.
fn line(out: &std::io::Stdout, line: &str) {
    let mut lock = out.lock();
    let _ = lock.write_all(format!("{line}\n").as_bytes());
    let _ = lock.flush();
}
