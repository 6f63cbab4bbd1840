//! `tepat-form`: the form author's tool.
//!
//! - `tepat-form check FORM.json`: every load-time problem of a form (exit 1 if any; 0 and a summary if none).
//! - `tepat-form validate FORM.json VISIT.json`: the visit's findings as a JSON array (exit 0 without errors,
//!   1 with errors, 2 when the form or the visit cannot be used). `VISIT.json` is a visit document
//!   (`schemas/visit.schema.json`); with `--answers-only` it is a bare answers object and `--date` gives the visit
//!   date.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use tepat_form::{self as form, CompiledForm, FieldType, Level};
use tepat_protocol::{Answers, VisitDoc};

#[derive(Parser)]
#[command(
    name = "tepat-form",
    version,
    about = "Check Tepat forms and validate visits against them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report every load-time problem of a form (exit 1 if there is any).
    Check {
        /// The form JSON (e.g. schemas/forms/dtsen_groundcheck.json).
        form: PathBuf,
    },
    /// Print a visit's findings as JSON (exit 0: no errors, 1: errors, 2: unusable input).
    Validate {
        form: PathBuf,
        /// A visit document; with --answers-only, a bare answers object.
        visit: PathBuf,
        /// VISIT is a bare answers object (field id → answer) instead of a visit document.
        #[arg(long, requires = "date")]
        answers_only: bool,
        /// The visit date (YYYY-MM-DD) for today() and age(); required with --answers-only.
        #[arg(long)]
        date: Option<NaiveDate>,
    },
}

/// Unusable input: message for stderr, exit 2.
struct Unusable(String);

fn read(path: &Path) -> Result<String, Unusable> {
    std::fs::read_to_string(path)
        .map_err(|e| Unusable(format!("cannot read {}: {e}", path.display())))
}

fn load(path: &Path) -> Result<CompiledForm, Unusable> {
    form::load(&read(path)?).map_err(|errors| {
        let lines: Vec<String> = errors.0.iter().map(|e| format!("  {e}")).collect();
        Unusable(format!(
            "{} has {} problem(s); run `tepat-form check` for details:\n{}",
            path.display(),
            errors.0.len(),
            lines.join("\n")
        ))
    })
}

fn check(path: &Path) -> Result<ExitCode, Unusable> {
    let text = read(path)?;
    match form::load(&text) {
        Ok(form) => {
            let f = form.form();
            let mut fields = 0;
            let mut repeats = 0;
            for s in &f.sections {
                for field in &s.fields {
                    fields += 1 + field.fields.len();
                    repeats += usize::from(field.kind == FieldType::Repeat);
                }
            }
            println!(
                "{}: form {} version {} is fine: {} sections, {} fields ({} repeat groups), {} choice lists",
                path.display(),
                f.id,
                f.version,
                f.sections.len(),
                fields,
                repeats,
                f.choices.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                println!("{}: {e}", path.display());
            }
            eprintln!("{} problem(s) in {}", errors.0.len(), path.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn validate(
    form_path: &Path,
    visit_path: &Path,
    answers_only: bool,
    date: Option<NaiveDate>,
) -> Result<ExitCode, Unusable> {
    let form = load(form_path)?;
    let text = read(visit_path)?;
    let bad_json = |e: serde_json::Error| {
        Unusable(format!(
            "{} is not a valid {}: {e}",
            visit_path.display(),
            if answers_only {
                "answers object"
            } else {
                "visit document"
            }
        ))
    };
    let (answers, visit_date) = if answers_only {
        let answers: Answers = serde_json::from_str(&text).map_err(bad_json)?;
        let date =
            date.ok_or_else(|| Unusable("--answers-only needs --date YYYY-MM-DD".to_owned()))?;
        (answers, date)
    } else {
        let visit: VisitDoc = serde_json::from_str(&text).map_err(bad_json)?;
        let f = form.form();
        if visit.form_id != f.id || visit.form_version != f.version {
            return Err(Unusable(format!(
                "{} is a visit of form {} version {}, but {} is form {} version {}",
                visit_path.display(),
                visit.form_id,
                visit.form_version,
                form_path.display(),
                f.id,
                f.version
            )));
        }
        (visit.answers, date.unwrap_or(visit.visit_date))
    };
    let findings = form.validate(&answers, visit_date);
    let json = serde_json::to_string_pretty(&findings)
        .map_err(|e| Unusable(format!("cannot print findings: {e}")))?;
    println!("{json}");
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    eprintln!("{errors} error(s), {} warning(s)", findings.len() - errors);
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { form } => check(&form),
        Command::Validate {
            form,
            visit,
            answers_only,
            date,
        } => validate(&form, &visit, answers_only, date),
    };
    result.unwrap_or_else(|Unusable(message)| {
        eprintln!("tepat-form: {message}");
        ExitCode::from(2)
    })
}
