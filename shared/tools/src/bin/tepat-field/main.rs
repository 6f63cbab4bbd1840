//! `tepat-field`: the phone's core in a terminal, for trainers and developers. The same runtime and view model
//! as the app, shown as text, against a local database file. Bahasa Indonesia by default (`--lang en`).
//!
//! Type `bantuan` (or `help`) for the commands. Commands are read line by line from stdin, so a session can be
//! scripted: `tepat-field --db latihan.db < kunjungan.txt`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod commands;
mod screens;

use commands::{Flow, Session};
use tepat_app::{NoticeLevel, UiEvent};
use tepat_form::Lang;
use tepat_protocol::{Assignment, Role};
use tepat_runtime::{
    Clock, FixedClock, HttpConfig, HttpTransport, NoServer, Parts, Runtime, SystemClock, Transport,
    script::ScriptedShell,
};
use tepat_store::{Durability, Identity};

#[derive(Parser, Debug)]
#[command(
    name = "tepat-field",
    version,
    about = "Tepat's field core in a terminal (training, development)"
)]
struct Args {
    /// The device database (created if missing).
    #[arg(long, default_value = "tepat-field.db")]
    db: PathBuf,
    /// Directory of form definitions to install (`*.json`).
    #[arg(long, default_value = "schemas/forms")]
    forms: PathBuf,
    /// Assignments for offline training: a JSON array of assignments (the sync protocol's `Assignment`).
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Language of the screens: `id` (Bahasa Indonesia) or `en`.
    #[arg(long, value_parser = ["id", "en"])]
    lang: Option<String>,
    /// The user working on this device (until enrolment comes with sync).
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    name: Option<String>,
    /// `enumerator` (pendamping PKH) or `assessor` (TKSK).
    #[arg(long, value_parser = ["enumerator", "assessor"])]
    role: Option<String>,
    /// The user's area as Kemendagri codes, comma-separated (e.g. `17.71`), as enrolment gives it: an assessor's
    /// new case starts its region choice there.
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// Pretend today is this date (YYYY-MM-DD), e.g. to practise with prepared assignments; the clock starts at
    /// 08:00 WIB that day and moves on by itself.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// The sync server, e.g. `https://tepat.dinsos.example.go.id`; without it, sync says "offline" and a local
    /// training identity is used. With it, enrol first: `daftar-perangkat KODE`.
    #[arg(long)]
    server: Option<String>,
    /// PEM file of the CA that signed the server's certificate (the only one trusted then).
    #[arg(long, requires = "server")]
    ca: Option<PathBuf>,
}

/// The terminal plays the phone: GPS and camera requests wait in a [`ScriptedShell`] until the command that asked
/// answers them.
type TerminalShell = ScriptedShell;

/// A simulated fix near Kota Bengkulu, for training without a GPS.
const SIMULATED_FIX: (f64, f64, f64) = (-3.79556, 102.25917, 6.0);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tepat-field: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let shell = Arc::new(TerminalShell::default());
    let clock: Arc<dyn Clock> = match args.today {
        Some(day) => {
            let wib = chrono::FixedOffset::east_opt(7 * 3600).ok_or("bad offset")?;
            let start = day
                .and_hms_opt(8, 0, 0)
                .and_then(|t| t.and_local_timezone(wib).single())
                .ok_or("bad date")?;
            Arc::new(FixedClock::new(start))
        }
        None => Arc::new(SystemClock),
    };
    let transport: Arc<dyn Transport> = match &args.server {
        Some(url) => {
            let mut config = HttpConfig::new(url.trim_end_matches('/'));
            if let Some(ca) = &args.ca {
                config.ca_pem = Some(
                    std::fs::read_to_string(ca).map_err(|e| format!("{}: {e}", ca.display()))?,
                );
            }
            Arc::new(HttpTransport::new(&config).map_err(|e| e.to_string())?)
        }
        None => Arc::new(NoServer),
    };
    let parts = Parts {
        transport,
        clock,
        shell: shell.clone(),
        durability: Durability::Balanced,
    };
    let runtime =
        Runtime::open(&args.db, parts).map_err(|e| format!("{}: {e}", args.db.display()))?;
    let mut out = std::io::stdout().lock();
    set_up(&runtime, args, &mut out)?;
    let mut session = Session {
        runtime,
        shell,
        lang: Lang::Id,
    };
    session.lang = session.runtime.view().lang;
    let view = session.runtime.view();
    session.print(&mut out, &view);
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin().lock();
    let _ = write!(out, "> ");
    let _ = out.flush();
    for line in stdin.lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if !interactive {
            let _ = writeln!(out, "{line}");
        }
        match session.command(line.trim(), &mut out) {
            Flow::Quit => break,
            Flow::Go => {}
        }
        let _ = write!(out, "> ");
        let _ = out.flush();
    }
    let _ = writeln!(out);
    session.runtime.flush().map_err(|e| e.to_string())?;
    Ok(())
}

/// Installs forms, the identity, assignments and the language given on the command line.
fn set_up(runtime: &Runtime, args: &Args, out: &mut impl Write) -> Result<(), String> {
    let mut forms: Vec<PathBuf> = match std::fs::read_dir(&args.forms) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) => {
            let _ = writeln!(
                out,
                "(formulir tidak dibaca dari {}: {e})",
                args.forms.display()
            );
            Vec::new()
        }
    };
    forms.sort();
    for path in forms {
        let json =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let view = runtime.dispatch(UiEvent::InstallForm { json });
        if let Some(notice) = view.notice.filter(|n| n.level == NoticeLevel::Error) {
            let _ = writeln!(out, "{}: {}", path.display(), notice.text);
        }
    }
    let stored = runtime
        .inspect_store(|s| s.settings())
        .map_err(|e| e.to_string())?
        .identity;
    let role = match args.role.as_deref() {
        Some("assessor") => Role::Assessor,
        _ => stored
            .as_ref()
            .map(|i| i.role)
            .filter(|_| args.role.is_none())
            .unwrap_or(Role::Enumerator),
    };
    let wanted = Identity {
        device_id: stored
            .as_ref()
            .map(|i| i.device_id.clone())
            .unwrap_or_else(|| "tepat-field".to_string()),
        user_id: args
            .user
            .clone()
            .or_else(|| stored.as_ref().map(|i| i.user_id.clone()))
            .unwrap_or_else(|| "pelatihan".into()),
        name: args
            .name
            .clone()
            .or_else(|| stored.as_ref().map(|i| i.name.clone()))
            .unwrap_or_else(|| "Peserta pelatihan".into()),
        role,
        regions: args
            .regions
            .clone()
            .or_else(|| stored.as_ref().map(|i| i.regions.clone()))
            .unwrap_or_default(),
    };
    // With a server the identity comes from enrolment; a local one is only for training without a server.
    let local = args.server.is_none() || args.user.is_some();
    if local && stored.as_ref() != Some(&wanted) {
        runtime.dispatch(UiEvent::UseIdentity { identity: wanted });
    }
    if let Some(path) = &args.assignments {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let assignments: Vec<Assignment> = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a JSON array of assignments: {e}", path.display()))?;
        let view = runtime.dispatch(UiEvent::ImportAssignments { assignments });
        if let Some(notice) = view.notice {
            let _ = writeln!(out, "{}", notice.text);
        }
    }
    if let Some(lang) = &args.lang {
        let lang = if lang == "en" { Lang::En } else { Lang::Id };
        runtime.dispatch(UiEvent::SetLanguage { lang });
    }
    runtime.dispatch(UiEvent::DismissNotice);
    Ok(())
}
