//! `tepat-form`: the form author's tool.
//!
//! - `tepat-form check FORM.json`: every load-time problem of a form (exit 1 if any; 0 and a summary if none).
//! - `tepat-form validate FORM.json VISIT.json`: the visit's findings as a JSON array (exit 0 without errors,
//!   1 with errors, 2 when the form or the visit cannot be used). `VISIT.json` is a visit document
//!   (`schemas/visit.schema.json`); with `--answers-only` it is a bare answers object and `--date` gives the visit
//!   date.
//! - `tepat-form import FILE.xlsx [-o FORM.json]`: an XLSForm → Tepat form JSON (stdout without `-o`). Every
//!   construct that cannot be carried is listed with its sheet, row and column (exit 1); an unreadable or
//!   too large workbook exits 2. What the import filled in (a missing English label, …) is listed as warnings.
//! - `tepat-form export FORM.json -o FILE.xlsx`: a form → an XLSForm workbook that imports back to the same form
//!   (shared/xlsform/README.md).

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
    /// Convert an XLSForm (.xlsx: survey, choices, settings) into Tepat form JSON.
    Import {
        /// The XLSForm workbook.
        xlsx: PathBuf,
        /// Where to write the form JSON (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write a Tepat form as an XLSForm workbook (.xlsx).
    Export {
        /// The form JSON (e.g. schemas/forms/dtsen_groundcheck.json).
        form: PathBuf,
        /// The .xlsx to write.
        #[arg(short, long)]
        output: PathBuf,
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

fn import(xlsx: &Path, output: Option<&Path>) -> Result<ExitCode, Unusable> {
    let limits = tepat_xlsform::Limits::default();
    // The size is checked before the file is read into memory.
    let size = std::fs::metadata(xlsx)
        .map_err(|e| Unusable(format!("cannot read {}: {e}", xlsx.display())))?
        .len();
    if size > limits.max_file_bytes {
        return Err(Unusable(format!(
            "{}: the workbook is too large: the file ({size} bytes) is more than {}",
            xlsx.display(),
            limits.max_file_bytes
        )));
    }
    let bytes = std::fs::read(xlsx)
        .map_err(|e| Unusable(format!("cannot read {}: {e}", xlsx.display())))?;
    let fallback_id = xlsx
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let imported = match tepat_xlsform::import(&bytes, &fallback_id, &limits) {
        Ok(imported) => imported,
        Err(tepat_xlsform::ImportError::Problems(problems)) => {
            for p in &problems {
                println!("{}: {p}", xlsx.display());
            }
            eprintln!(
                "{} problem(s) in {}: nothing written",
                problems.len(),
                xlsx.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(Unusable(format!("{}: {e}", xlsx.display()))),
    };
    for w in &imported.warnings {
        eprintln!("{}: warning: {w}", xlsx.display());
    }
    let mut json = serde_json::to_string_pretty(&imported.form)
        .map_err(|e| Unusable(format!("cannot write the form: {e}")))?;
    json.push('\n');
    match output {
        Some(path) => std::fs::write(path, json)
            .map_err(|e| Unusable(format!("cannot write {}: {e}", path.display())))?,
        None => print!("{json}"),
    }
    let f = &imported.form;
    eprintln!(
        "{}: form {} version {}: {} sections, {} choice lists, {} warning(s)",
        xlsx.display(),
        f.id,
        f.version,
        f.sections.len(),
        f.choices.len(),
        imported.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn export(form_path: &Path, output: &Path) -> Result<ExitCode, Unusable> {
    let form = load(form_path)?;
    let bytes = tepat_xlsform::export(form.form())
        .map_err(|e| Unusable(format!("{}: {e}", form_path.display())))?;
    std::fs::write(output, bytes)
        .map_err(|e| Unusable(format!("cannot write {}: {e}", output.display())))?;
    eprintln!(
        "{}: form {} version {} written as XLSForm to {}",
        form_path.display(),
        form.form().id,
        form.form().version,
        output.display()
    );
    Ok(ExitCode::SUCCESS)
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
        Command::Import { xlsx, output } => import(&xlsx, output.as_deref()),
        Command::Export { form, output } => export(&form, &output),
    };
    result.unwrap_or_else(|Unusable(message)| {
        eprintln!("tepat-form: {message}");
        ExitCode::from(2)
    })
}
