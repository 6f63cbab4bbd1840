//! Helper of `shared/tests/crash_safety.rs`: answers generated DTSEN households through the real runtime,
//! printing each answer as the store holds it right after `dispatch` returned, so the test can kill this
//! process at any instant and check that every printed answer survived.
//!
//! Lines: `A <visit> <path> <row>` (row: JSON value, `#n` members, `-` none), `F <visit>` (finalised),
//! `P <visit>` (finalising now), `S <assignment>` (skipped: finished in an earlier run), `DONE`.
//!
//! Usage: `tepat-crash-child DB SEED HOUSEHOLDS` (the same seed continues the same households after a kill).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use shared::app::{ItemStatus, Screen, UiEvent};
use shared::protocol::{Role, VisitDoc};
use shared::runtime::script::{ScriptError, ScriptedShell, Typist};
use shared::runtime::{FixedClock, NoServer, Parts, Runtime};
use shared::store::{AnswerRow, Durability, Identity};
use shared::synth::{Generator, Outcome};
use uuid::Uuid;

const DTSEN: &str = include_str!("../../../schemas/forms/dtsen_groundcheck.json");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(Ok(seed)), Some(Ok(households))) = (
        args.get(1).map(PathBuf::from),
        args.get(2).map(|s| s.parse::<u64>()),
        args.get(3).map(|s| s.parse::<usize>()),
    ) else {
        eprintln!("usage: tepat-crash-child DB SEED HOUSEHOLDS");
        return ExitCode::from(2);
    };
    match run(&db, seed, households) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(db: &Path, seed: u64, households: usize) -> Result<(), String> {
    let mut generator = Generator::new(seed);
    let assignments = generator
        .assignments("17.71", households)
        .map_err(|e| e.to_string())?;
    let docs: Vec<VisitDoc> = assignments
        .iter()
        .map(|a| generator.visit_for(a, Outcome::Found))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let wib = chrono::FixedOffset::east_opt(7 * 3600).ok_or("offset")?;
    let start = generator
        .visit_date()
        .and_hms_opt(8, 0, 0)
        .and_then(|t| t.and_local_timezone(wib).single());
    let shell = Arc::new(ScriptedShell::default());
    let parts = Parts {
        transport: Arc::new(NoServer),
        clock: Arc::new(FixedClock::new(start.ok_or("date")?)),
        shell: shell.clone(),
        durability: Durability::Balanced,
    };
    let runtime = Runtime::open(db, parts).map_err(|e| e.to_string())?;
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
            household(&typist, &runtime, &out, id, doc).map_err(|e| e.to_string())?;
        } else {
            line(&out, &format!("S {id}"));
        }
    }
    line(&out, "DONE");
    Ok(())
}

/// Enters one household, printing each answer as stored, then finalises it.
fn household(
    typist: &Typist,
    runtime: &Runtime,
    out: &std::io::Stdout,
    assignment_id: &str,
    doc: &VisitDoc,
) -> Result<(), ScriptError> {
    let visit_id = typist.open(assignment_id)?;
    typist.type_in(visit_id, doc, |path| print(out, runtime, visit_id, path))?;
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

/// Prints what the store holds at `path` now that its answer's dispatch returned.
fn print(
    out: &std::io::Stdout,
    runtime: &Runtime,
    visit_id: Uuid,
    path: &str,
) -> Result<(), ScriptError> {
    let shown = match runtime.inspect_store(|s| s.answer(visit_id, path))? {
        Some(AnswerRow::Value(value)) => value.to_string(),
        Some(AnswerRow::Members(n)) => format!("#{n}"),
        None => "-".to_string(),
    };
    line(out, &format!("A {visit_id} {path} {shown}"));
    Ok(())
}
