//! `tepat-bench`: the figures of BENCHMARKS.md, each against a baseline measured in the same run (`make bench`).
//!
//! 1. answer → view model through the runtime (with the SQLite write) vs a bare one-row SQLite transaction;
//! 2. one incremental answer in the form session, then its findings, vs re-evaluating the whole form to its findings;
//! 3. bytes and round trips of a 12-visit day's sync vs an ODK Collect-style OpenRosa upload;
//! 4. server ingest with 20 concurrent devices vs raw rusqlite inserts of the same rows (runs alternated, medians);
//! 5. supervisor CSV export of 100,000 visits vs the floor: the same stored column read, parsed and written as
//!    CSV in plain Rust (byte-identical files);
//! 6. peak memory of the field core holding a day's work, and of the server during (4);
//! 7. the web console's review queue page with 100,000 visits vs the same page of the supervisor pull over the API;
//! 8. a 2G day's photos while the link drops (tus, resumed by offset) vs ODK Collect's whole-submission re-sends,
//!    same photos, link and drops; and preparing a 12 MP camera photo on the phone;
//! 9. server ingest on PostgreSQL, one server and two on the same database, vs raw tokio-postgres inserts of the
//!    same rows (needs `TEPAT_TEST_POSTGRES`: `make bench` runs inside a throw-away durable cluster).
//!
//! Usage: `tepat-bench [--out FILE] [--only 1,2,...] [--quick] [--seed N] [--keep]`. Works in a scratch directory
//! under the system temp dir, removed at the end unless `--keep`. Exits 1 when a figure could not be measured (a goal not met is
//! a result, not a failure).

mod answer;
mod console;
mod export;
mod household;
mod incremental;
mod ingest;
mod ingest_postgres;
mod machine;
mod memory;
mod openrosa;
mod photos;
mod report;
mod stats;
mod wire;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use report::Report;

struct Options {
    out: PathBuf,
    only: BTreeSet<u32>,
    quick: bool,
    seed: u64,
    /// Keep the scratch directory (databases, exports) to look at.
    keep: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        out: PathBuf::from("BENCHMARKS.md"),
        only: (1..=9).collect(),
        quick: false,
        seed: 20261123,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => options.out = it.next().ok_or("--out needs a file")?.into(),
            "--quick" => options.quick = true,
            "--keep" => options.keep = true,
            "--seed" => {
                options.seed = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seed needs a number")?;
            }
            "--only" => {
                let list = it.next().ok_or("--only needs a list such as 1,2")?;
                options.only = list
                    .split(',')
                    .map(|n| n.trim().parse::<u32>().ok().filter(|n| (1..=9).contains(n)))
                    .collect::<Option<_>>()
                    .ok_or_else(|| format!("--only {list}: figures are 1 to 9"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("core-memory") {
        let dir = args.get(1).map(PathBuf::from);
        let seed = args.get(2).and_then(|s| s.parse().ok());
        let (Some(dir), Some(seed)) = (dir, seed) else {
            eprintln!("usage: tepat-bench core-memory DIR SEED");
            return ExitCode::from(2);
        };
        return match memory::child(&dir, seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "tepat-bench: {e}\nusage: tepat-bench [--out FILE] [--only 1,2,...] [--quick] [--seed N]"
            );
            return ExitCode::from(2);
        }
    };
    let work = std::env::temp_dir().join(format!("tepat-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("tepat-bench: cannot create {}: {e}", work.display());
        return ExitCode::FAILURE;
    }
    let report = run(&options, &work);
    if options.keep {
        eprintln!("tepat-bench: kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    let failed = report.failures();
    match std::fs::write(&options.out, report.markdown()) {
        Ok(()) => eprintln!("tepat-bench: wrote {}", options.out.display()),
        Err(e) => {
            eprintln!("tepat-bench: cannot write {}: {e}", options.out.display());
            return ExitCode::FAILURE;
        }
    }
    if failed > 0 {
        eprintln!("tepat-bench: {failed} figure(s) could not be measured");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn run(options: &Options, work: &std::path::Path) -> Report {
    let mut report = Report::new(machine::Machine::describe(), options.quick);
    let wanted = |n: u32| options.only.contains(&n);
    let answers = if options.quick { 500 } else { 3000 };
    let seed = options.seed;
    if wanted(1) {
        note(1);
        let figure = answer::run(&work.join("answer"), seed, answers).map(|f| report::answer(&f));
        report.push(1, figure);
    }
    if wanted(2) {
        note(2);
        let figure = incremental::run(seed, answers).map(|f| report::incremental(&f));
        report.push(2, figure);
    }
    if wanted(6) {
        note(6);
        let figure = memory::run(&work.join("core-memory"), seed);
        report.core_memory(figure);
    }
    if [3, 4, 5, 7].iter().any(|n| wanted(*n)) {
        server_figures(options, work, &mut report);
    }
    if wanted(8) {
        note(8);
        let figure = photos::run(work, seed).map(|f| report::photos(&f));
        report.push(8, figure);
    }
    if wanted(9) {
        note(9);
        let days = if options.quick { 1 } else { 5 };
        let figure = ingest_postgres::run(work, seed, days).map(|f| report::pg_ingest(&f));
        report.push(9, figure);
    }
    report
}

/// Figures 3–5 share one server (and its set-up): 3 first, then the ingest load, then the export of what it
/// stored (copied up to 100,000 visits).
fn server_figures(options: &Options, work: &std::path::Path, report: &mut Report) {
    let wanted = |n: u32| options.only.contains(&n);
    // Plain HTTP: the figures measure ingest and export, not TLS (and stay comparable with earlier runs).
    let mut field =
        match tepat_e2e::field::Field::start_plain_http(&work.join("field"), options.seed) {
            Ok(f) => f,
            Err(e) => {
                for n in [3, 4, 5, 7].into_iter().filter(|n| wanted(*n)) {
                    report.push(n, Err(format!("the server did not start: {e}")));
                }
                return;
            }
        };
    if wanted(3) {
        note(3);
        let figure = wire::run(&mut field).map(|f| report::wire(&f));
        report.push(3, figure);
    }
    let mut ingested = false;
    if wanted(4) || wanted(5) || wanted(7) {
        note(4);
        let days = if options.quick { 1 } else { 5 };
        match ingest::run(&mut field, work, days) {
            Ok(f) => {
                ingested = true;
                report.push(4, Ok(report::ingest(&f)));
                report.server_memory(Ok(&f));
            }
            Err(e) => {
                report.push(4, Err(e.clone()));
                report.server_memory(Err(e));
            }
        }
    }
    if wanted(5) {
        note(5);
        let figure = if ingested {
            let visits = if options.quick { 10_000 } else { 100_000 };
            export::run(&field, work, visits).map(|f| report::export(&f))
        } else {
            Err("needs the visits of figure 4, which failed".to_string())
        };
        report.push(5, figure);
    }
    if wanted(7) {
        note(7);
        let visits = if options.quick { 10_000 } else { 100_000 };
        let figure = if ingested {
            export::copy_up_to(&field.server.data().join("tepat.db"), visits)
                .and_then(|stored| console::run(&field, stored))
                .map(|f| report::console(&f))
        } else {
            Err("needs the visits of figure 4, which failed".to_string())
        };
        report.push(7, figure);
    }
}

fn note(n: u32) {
    eprintln!(
        "tepat-bench: figure {n} (load average {})",
        machine::Machine::load_now()
    );
}
