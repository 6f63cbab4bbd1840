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
use tepat_app::{
    AnswerView, FieldView, FinaliseView, ItemStatus, NoticeLevel, Screen, TodayView, UiEvent,
    ViewModel, VisitView,
};
use tepat_app::{LocationOutput, PrefillMark};
use tepat_form::{FieldType, Lang, Level};
use tepat_protocol::{Assignment, Role};
use tepat_runtime::{
    Clock, FixedClock, HttpConfig, HttpTransport, NoServer, Parts, PhotoResult, Runtime,
    SystemClock, Transport, script::ScriptedShell,
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
        regions: stored
            .as_ref()
            .map(|i| i.regions.clone())
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

enum Flow {
    Go,
    Quit,
}

/// The field a command is about.
struct Target {
    path: String,
    /// Unknown for a path not on the current page.
    kind: Option<FieldType>,
    /// Members of a roster (unknown: `usize::MAX`, the core checks).
    members: usize,
}

impl From<&FieldView> for Target {
    fn from(field: &FieldView) -> Target {
        Target {
            path: field.path.clone(),
            kind: Some(field.kind),
            members: field.members.len(),
        }
    }
}

struct Session {
    runtime: Runtime,
    shell: Arc<TerminalShell>,
    lang: Lang,
}

fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

/// A command word in either language.
fn is(word: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(word))
}

impl Session {
    fn command(&mut self, line: &str, out: &mut impl Write) -> Flow {
        if line.is_empty() || line.starts_with('#') {
            return Flow::Go;
        }
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        let view = self.runtime.view();
        let result = if is(word, &["keluar", "quit", "exit"]) {
            return Flow::Quit;
        } else if is(word, &["bantuan", "help", "?"]) {
            let _ = writeln!(out, "{}", help(self.lang));
            return Flow::Go;
        } else if word.bytes().all(|b| b.is_ascii_digit()) {
            self.answer(&view, word, rest)
        } else {
            self.named(&view, word, rest)
        };
        match result {
            Ok(view) => {
                self.lang = view.lang;
                self.print(out, &view);
            }
            Err(message) => {
                let _ = writeln!(out, "!! {message}");
            }
        }
        Flow::Go
    }

    fn named(&mut self, view: &ViewModel, word: &str, rest: &str) -> Result<ViewModel, String> {
        let lang = self.lang;
        let rt = &self.runtime;
        let arg = |what: &str| -> Result<String, String> {
            if rest.is_empty() {
                Err(say(
                    lang,
                    &format!("'{word}' perlu {what}"),
                    &format!("'{word}' needs {what}"),
                ))
            } else {
                Ok(rest.to_string())
            }
        };
        if is(word, &["daftar", "list", "today"]) {
            return Ok(rt.dispatch(UiEvent::ShowToday));
        }
        if is(word, &["buka", "open"]) {
            let which = arg(&say(
                lang,
                "nomor atau kode tugas",
                "an item number or assignment id",
            ))?;
            return self.open(view, &which);
        }
        if is(word, &["kasus", "case"]) {
            let which = arg(&say(lang, "nomor kasus", "a case number"))?;
            let Screen::Today(today) = &view.screen else {
                return Err(not_here(lang));
            };
            let case = number(&which, today.cases.len(), lang)
                .and_then(|i| today.cases.get(i).ok_or_else(|| out_of_range(lang)))?;
            return Ok(rt.dispatch(UiEvent::OpenVisit {
                visit_id: case.visit_id.clone(),
            }));
        }
        if is(word, &["kasus-baru", "new-case"]) {
            let form = arg(&say(lang, "kode formulir", "a form id"))?;
            let Screen::Today(today) = &view.screen else {
                return Err(not_here(lang));
            };
            let form_id = match form.parse::<usize>() {
                Ok(n) => today
                    .case_forms
                    .get(n.wrapping_sub(1))
                    .map(|f| f.form_id.clone())
                    .ok_or_else(|| out_of_range(lang))?,
                Err(_) => form,
            };
            return Ok(rt.dispatch(UiEvent::StartNewCase { form_id }));
        }
        if is(word, &["daftar-perangkat", "enrol", "enroll"]) {
            let code = arg(&say(
                lang,
                "kode pendaftaran dari admin",
                "the enrolment code from your admin",
            ))?;
            return rt.enrol(&code, "tepat-field").map_err(|e| e.message(lang));
        }
        if is(word, &["sinkron", "sync"]) {
            rt.dispatch(UiEvent::SyncNow);
            rt.wait_idle();
            return Ok(rt.view());
        }
        if is(word, &["status"]) {
            return Ok(rt.view());
        }
        if is(word, &["bahasa", "lang"]) {
            let lang = match arg("id|en")?.as_str() {
                "id" => Lang::Id,
                "en" => Lang::En,
                other => {
                    return Err(format!(
                        "{}: {other} (id|en)",
                        say(lang, "bahasa tidak dikenal", "unknown language")
                    ));
                }
            };
            return Ok(rt.dispatch(UiEvent::SetLanguage { lang }));
        }
        if is(word, &["lanjut", "next"]) {
            return Ok(rt.dispatch(UiEvent::NextSection));
        }
        if is(word, &["kembali", "back", "prev"]) {
            return Ok(rt.dispatch(UiEvent::PreviousSection));
        }
        if is(word, &["bagian", "section"]) {
            let n = number(
                &arg(&say(lang, "nomor bagian", "a section number"))?,
                usize::MAX,
                lang,
            )?;
            return Ok(rt.dispatch(UiEvent::GoToSection { index: n as u32 }));
        }
        if is(word, &["sesuai", "confirm"]) {
            return Ok(rt.dispatch(UiEvent::ConfirmPage));
        }
        if is(word, &["periksa", "review"]) {
            return Ok(rt.dispatch(UiEvent::ReviewFinalise));
        }
        if is(word, &["selesai", "finalise", "finalize"]) {
            return Ok(rt.dispatch(UiEvent::Finalise));
        }
        if is(word, &["ubah", "edit"]) {
            return Ok(rt.dispatch(UiEvent::EditAgain));
        }
        if is(word, &["tutup", "close"]) {
            let Screen::Visit(visit) = &view.screen else {
                return Ok(rt.dispatch(UiEvent::ShowToday));
            };
            return Ok(rt.dispatch(if visit.member.is_some() {
                UiEvent::CloseMember
            } else {
                UiEvent::CloseVisit
            }));
        }
        // Field commands: `hapus N`, `pilih N KODE`, `tambah [N]`, `anggota N M`, `buang N M`, `gps N [LAT LON [ACC]]`,
        // `foto N FILE`, `catatan N TEKS`.
        const FIELD_COMMANDS: &[&str] = &[
            "tambah", "add", "catatan", "note", "jawab", "set", "answer", "hapus", "clear",
            "pilih", "choose", "toggle", "anggota", "member", "buang", "remove", "gps", "foto",
            "photo",
        ];
        if !is(word, FIELD_COMMANDS) {
            return Err(say(
                lang,
                &format!("Perintah tidak dikenal: {word}. Ketik 'bantuan'."),
                &format!("Unknown command: {word}. Type 'help'."),
            ));
        }
        let mut parts = rest.split_whitespace();
        let first = parts.next().unwrap_or_default();
        let tail = rest.get(first.len()..).unwrap_or_default().trim();
        if is(word, &["tambah", "add"]) {
            let field = match first {
                "" => only_repeat(view, lang)?,
                n => self.field(view, n, lang)?,
            };
            return Ok(rt.dispatch(UiEvent::AddMember {
                repeat_path: field.path,
            }));
        }
        if is(word, &["catatan", "note"]) {
            let path = match &view.screen {
                Screen::Finalise(f) => {
                    let i = number(first, f.warnings.len(), lang)?;
                    f.warnings
                        .get(i)
                        .map(|w| w.path.clone())
                        .ok_or_else(|| out_of_range(lang))?
                }
                _ => self.field(view, first, lang)?.path,
            };
            return Ok(rt.dispatch(UiEvent::SetNote {
                path,
                note: tail.to_string(),
            }));
        }
        if is(word, &["jawab", "set", "answer"]) {
            return self.answer(view, first, tail);
        }
        let field = self.field(view, first, lang)?;
        if is(word, &["hapus", "clear"]) {
            return Ok(rt.dispatch(UiEvent::Clear { path: field.path }));
        }
        if is(word, &["pilih", "choose", "toggle"]) {
            if tail.is_empty() {
                return Err(say(lang, "sebutkan kode pilihan", "give a choice code"));
            }
            let event = if field.kind == Some(FieldType::Region) {
                UiEvent::ChooseRegion {
                    path: field.path,
                    code: tail.to_string(),
                }
            } else {
                UiEvent::Choose {
                    path: field.path,
                    code: tail.to_string(),
                }
            };
            return Ok(rt.dispatch(event));
        }
        if is(word, &["anggota", "member"]) {
            let m = number(tail, field.members, lang)?;
            return Ok(rt.dispatch(UiEvent::OpenMember {
                repeat_path: field.path,
                index: m as u32,
            }));
        }
        if is(word, &["buang", "remove"]) {
            let m = number(tail, field.members, lang)?;
            return Ok(rt.dispatch(UiEvent::RemoveMember {
                repeat_path: field.path,
                index: m as u32,
            }));
        }
        if is(word, &["gps"]) {
            let numbers: Vec<f64> = tail
                .split([' ', ','])
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.parse().ok())
                .collect();
            let (lat, lon, accuracy_m) = match numbers.as_slice() {
                [] => SIMULATED_FIX,
                [lat, lon] => (*lat, *lon, 10.0),
                [lat, lon, acc] => (*lat, *lon, *acc),
                _ => {
                    return Err(say(
                        lang,
                        "gps N [LINTANG BUJUR [AKURASI]]",
                        "gps N [LAT LON [ACCURACY]]",
                    ));
                }
            };
            let view = rt.dispatch(UiEvent::CaptureLocation { path: field.path });
            return match self.shell.next_location() {
                Some(id) => rt
                    .resolve_location(
                        id,
                        LocationOutput::Fix {
                            lat,
                            lon,
                            accuracy_m,
                        },
                    )
                    .map_err(|e| e.to_string()),
                None => Ok(view),
            };
        }
        if is(word, &["foto", "photo"]) {
            if tail.is_empty() {
                return Err(say(
                    lang,
                    "foto N BERKAS (jalur berkas foto)",
                    "photo N FILE (path of the photo file)",
                ));
            }
            let view = rt.dispatch(UiEvent::TakePhoto { path: field.path });
            return match self.shell.next_photo() {
                Some(id) => rt
                    .resolve_photo(
                        id,
                        PhotoResult::Taken {
                            file: tail.to_string(),
                        },
                    )
                    .map_err(|e| e.to_string()),
                None => Ok(view),
            };
        }
        Err(say(
            lang,
            &format!("Perintah tidak dikenal: {word}. Ketik 'bantuan'."),
            &format!("Unknown command: {word}. Type 'help'."),
        ))
    }

    /// `N TEXT`: answers field N of the page (selects take a code, regions a code at any level).
    fn answer(&mut self, view: &ViewModel, n: &str, text: &str) -> Result<ViewModel, String> {
        let field = self.field(view, n, self.lang)?;
        let event = match field.kind {
            Some(FieldType::Region) if !text.is_empty() => UiEvent::ChooseRegion {
                path: field.path,
                code: text.to_string(),
            },
            Some(FieldType::Repeat) => {
                return Err(say(
                    self.lang,
                    "tambah anggota dengan 'tambah N'",
                    "add members with 'add N'",
                ));
            }
            Some(FieldType::Photo) => {
                return Err(say(
                    self.lang,
                    "foto diambil dengan 'foto N BERKAS'",
                    "photos are taken with 'photo N FILE'",
                ));
            }
            _ => UiEvent::Answer {
                path: field.path,
                text: text.to_string(),
            },
        };
        Ok(self.runtime.dispatch(event))
    }

    /// Item N of today's list, or an assignment id.
    fn open(&mut self, view: &ViewModel, which: &str) -> Result<ViewModel, String> {
        let Screen::Today(today) = &view.screen else {
            return Ok(self.runtime.dispatch(UiEvent::OpenAssignment {
                assignment_id: which.to_string(),
            }));
        };
        let assignment_id = match which.parse::<usize>() {
            Ok(_) => {
                let i = number(which, today.items.len(), self.lang)?;
                today
                    .items
                    .get(i)
                    .map(|item| item.assignment_id.clone())
                    .ok_or_else(|| out_of_range(self.lang))?
            }
            Err(_) => which.to_string(),
        };
        Ok(self
            .runtime
            .dispatch(UiEvent::OpenAssignment { assignment_id }))
    }

    /// Field number `n` (1-based) of the current page, or a field by its answer path (`members[2].nik`), which
    /// reaches any field of the visit (scripts use paths).
    fn field(&self, view: &ViewModel, n: &str, lang: Lang) -> Result<Target, String> {
        let Screen::Visit(visit) = &view.screen else {
            return Err(not_here(lang));
        };
        if n.is_empty() {
            return Err(say(
                lang,
                "sebutkan nomor pertanyaan",
                "give the question's number",
            ));
        }
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(match visit.fields.iter().find(|f| f.path == n) {
                Some(field) => Target::from(field),
                None => Target {
                    path: n.to_string(),
                    kind: None,
                    members: usize::MAX,
                },
            });
        }
        let i = number(n, visit.fields.len(), lang)?;
        visit
            .fields
            .get(i)
            .map(Target::from)
            .ok_or_else(|| out_of_range(lang))
    }

    fn print(&self, out: &mut impl Write, view: &ViewModel) {
        let mut text = String::new();
        match &view.screen {
            Screen::Loading => text.push_str(&say(view.lang, "Memuat…\n", "Loading…\n")),
            Screen::Today(today) => print_today(&mut text, view, today),
            Screen::Visit(visit) => print_visit(&mut text, view.lang, visit),
            Screen::Finalise(finalise) => print_finalise(&mut text, view.lang, finalise),
        }
        text.push_str(&format!(
            "[{}] {}\n",
            say(view.lang, "Sinkronisasi", "Sync"),
            view.sync.summary
        ));
        if let Some(error) = &view.sync.last_error {
            text.push_str(&format!("    {error}\n"));
        }
        if let Some(notice) = &view.notice {
            let mark = match notice.level {
                NoticeLevel::Info => "i",
                NoticeLevel::Success => "ok",
                NoticeLevel::Warning => "!",
                NoticeLevel::Error => "!!",
            };
            text.push_str(&format!("{mark} {}\n", notice.text));
        }
        let _ = out.write_all(text.as_bytes());
    }
}

fn number(text: &str, len: usize, lang: Lang) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 && n <= len => Ok(n - 1),
        Ok(_) => Err(out_of_range(lang)),
        Err(_) => Err(say(
            lang,
            &format!("bukan nomor: {text:?}"),
            &format!("not a number: {text:?}"),
        )),
    }
}

fn out_of_range(lang: Lang) -> String {
    say(
        lang,
        "Nomor itu tidak ada di layar",
        "That number is not on the screen",
    )
}

fn not_here(lang: Lang) -> String {
    say(
        lang,
        "Perintah itu tidak berlaku di layar ini",
        "That command does not apply on this screen",
    )
}

fn only_repeat(view: &ViewModel, lang: Lang) -> Result<Target, String> {
    let Screen::Visit(visit) = &view.screen else {
        return Err(not_here(lang));
    };
    let mut repeats = visit.fields.iter().filter(|f| f.kind == FieldType::Repeat);
    match (repeats.next(), repeats.next()) {
        (Some(field), None) => Ok(Target::from(field)),
        _ => Err(say(
            lang,
            "sebutkan nomor daftar anggota: tambah N",
            "give the roster's number: add N",
        )),
    }
}

fn print_today(text: &mut String, view: &ViewModel, today: &TodayView) {
    let lang = view.lang;
    let c = &today.counts;
    text.push_str(&format!(
        "== {} · {} ==\n",
        say(lang, "Hari ini", "Today"),
        today.date
    ));
    if let Some(user) = &view.user {
        text.push_str(&format!("{user}\n"));
    }
    text.push_str(&format!(
        "{} | {} {} | {} {} | {} {} | {} {}\n",
        today.progress_text,
        say(lang, "draf", "drafts"),
        c.drafts,
        say(lang, "kotak keluar", "outbox"),
        c.in_outbox,
        say(lang, "dikembalikan", "returned"),
        c.returned,
        say(lang, "kunjungan ulang", "revisits"),
        c.revisits
    ));
    if today.items.is_empty() {
        text.push_str(&say(lang, "(belum ada tugas)\n", "(no assignments yet)\n"));
    }
    for (i, item) in today.items.iter().enumerate() {
        let mark = match item.status {
            ItemStatus::Returned | ItemStatus::Correcting | ItemStatus::Refused => "!",
            ItemStatus::Draft | ItemStatus::NotStarted | ItemStatus::Revisit => " ",
            _ => "✓",
        };
        text.push_str(&format!(
            "{mark}{:>3}. {} — {} ({}) [{}] → {}\n",
            i + 1,
            item.label,
            item.region,
            item.assignment_id,
            item.status_text,
            item.action_text
        ));
        if let Some(comment) = &item.supervisor_comment {
            text.push_str(&format!(
                "       {}: {comment}\n",
                say(lang, "Catatan supervisor", "Supervisor's comment")
            ));
        }
        if let Some(withdrawn) = &item.withdrawn_text {
            text.push_str(&format!("       {withdrawn}\n"));
        }
    }
    if !today.cases.is_empty() {
        text.push_str(&format!("{}:\n", say(lang, "Kasus baru", "New cases")));
        for (i, case) in today.cases.iter().enumerate() {
            text.push_str(&format!(
                "  {:>3}. {} · {} [{}]\n",
                i + 1,
                case.title,
                case.form_title,
                case.status_text
            ));
        }
    }
    if !today.case_forms.is_empty() {
        let forms: Vec<String> = today
            .case_forms
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{}={} ({})", i + 1, f.form_id, f.title))
            .collect();
        text.push_str(&format!(
            "{}: {}\n",
            say(
                lang,
                "Kasus baru dengan 'kasus-baru N'",
                "Start a case with 'new-case N'"
            ),
            forms.join(", ")
        ));
    }
}

fn print_visit(text: &mut String, lang: Lang, visit: &VisitView) {
    text.push_str(&format!(
        "== {} · {} · {} ==\n",
        visit.form_title, visit.title, visit.state_text
    ));
    if let Some(comment) = &visit.supervisor_comment {
        text.push_str(&format!(
            "!! {}: {comment}\n",
            say(lang, "Catatan supervisor", "Supervisor's comment")
        ));
    }
    if let Some(banner) = &visit.banner {
        text.push_str(&format!("!! {banner}\n"));
    }
    let tabs: Vec<String> = visit
        .sections
        .iter()
        .map(|s| {
            let mut tab = format!(
                "{}{} {}",
                if s.current { "*" } else { "" },
                s.index + 1,
                s.title
            );
            if s.errors + s.warnings > 0 {
                tab.push_str(&format!(" ({}E/{}W)", s.errors, s.warnings));
            }
            tab
        })
        .collect();
    text.push_str(&format!(
        "{}: {}\n",
        say(lang, "Bagian", "Sections"),
        tabs.join(" | ")
    ));
    match &visit.member {
        Some(member) => text.push_str(&format!(
            "-- {} · {} --\n",
            visit.section_title, member.title
        )),
        None => text.push_str(&format!("-- {} --\n", visit.section_title)),
    }
    for (i, field) in visit.fields.iter().enumerate() {
        print_field(text, lang, i + 1, field);
    }
    text.push_str(&format!(
        "{}: {} | {}: {}\n",
        say(lang, "Kesalahan", "Errors"),
        visit.errors,
        say(lang, "Peringatan", "Warnings"),
        visit.warnings
    ));
    if let Some(waiting) = &visit.waiting_for {
        text.push_str(&format!("… {waiting}\n"));
    }
}

fn print_field(text: &mut String, lang: Lang, n: usize, field: &FieldView) {
    let required = if field.required { " *" } else { "" };
    let value = match (&field.display, field.kind) {
        (_, FieldType::Note) => String::new(),
        (Some(display), _) => format!(": {display}"),
        (None, _) => ": —".to_string(),
    };
    let lock = if field.read_only && field.kind != FieldType::Note {
        say(lang, " (tetap)", " (fixed)")
    } else {
        String::new()
    };
    let prefill = match field.prefill {
        Some(PrefillMark::Prefilled) => say(
            lang,
            " [data DTSEN: belum dicek]",
            " [DTSEN record: not checked]",
        ),
        Some(PrefillMark::Confirmed) => {
            say(lang, " [data DTSEN: sesuai]", " [DTSEN record: confirmed]")
        }
        Some(PrefillMark::Changed) => {
            say(lang, " [data DTSEN: diubah]", " [DTSEN record: changed]")
        }
        None => String::new(),
    };
    text.push_str(&format!(
        "{n:>3}. {}{required}{value}{lock}{prefill}\n",
        field.label
    ));
    if let Some(hint) = &field.hint {
        text.push_str(&format!("       ({hint})\n"));
    }
    if !field.choices.is_empty() {
        let choices: Vec<String> = field
            .choices
            .iter()
            .map(|c| {
                format!(
                    "{}[{}] {}",
                    if c.selected { "*" } else { "" },
                    c.code,
                    c.label
                )
            })
            .collect();
        text.push_str(&format!("       {}\n", choices.join("  ")));
    }
    for level in &field.region {
        let selected = level
            .selected
            .as_ref()
            .map(|s| format!("{} [{}]", s.label, s.code));
        match selected {
            Some(selected) => text.push_str(&format!("       {}: {selected}\n", level.level)),
            None if !level.choices.is_empty() => {
                let shown: Vec<String> = level
                    .choices
                    .iter()
                    .take(40)
                    .map(|c| format!("[{}] {}", c.code, c.label))
                    .collect();
                let more = level.choices.len().saturating_sub(40);
                let more = if more > 0 {
                    format!(" … (+{more})")
                } else {
                    String::new()
                };
                text.push_str(&format!(
                    "       {}: {}{more}\n",
                    level.level,
                    shown.join("  ")
                ));
            }
            None => {}
        }
    }
    for member in &field.members {
        let counts = if member.errors + member.warnings > 0 {
            format!(" ({}E/{}W)", member.errors, member.warnings)
        } else {
            String::new()
        };
        text.push_str(&format!("       {}{counts}\n", member.title));
    }
    if field.kind == FieldType::Repeat && field.can_add_member {
        text.push_str(&format!(
            "       ({})\n",
            say(
                lang,
                &format!("tambah {n} · anggota {n} M · buang {n} M"),
                &format!("add {n} · member {n} M · remove {n} M")
            )
        ));
    }
    if let AnswerView::Other { json } = &field.answer {
        text.push_str(&format!("       ({json})\n"));
    }
    for finding in &field.findings {
        let level = match finding.level {
            Level::Error => say(lang, "GALAT", "ERROR"),
            Level::Warning => say(lang, "PERINGATAN", "WARNING"),
        };
        text.push_str(&format!("       {level}: {}\n", finding.text));
    }
    if let Some(note) = &field.note {
        text.push_str(&format!(
            "       {}: {note}\n",
            say(lang, "Catatan", "Note")
        ));
    }
    if let Some(error) = &field.input_error {
        text.push_str(&format!("       !! {:?}: {}\n", error.typed, error.message));
    }
}

fn print_finalise(text: &mut String, lang: Lang, finalise: &FinaliseView) {
    text.push_str(&format!(
        "== {} · {} ==\n",
        say(lang, "Periksa sebelum selesai", "Check before finalising"),
        finalise.title
    ));
    text.push_str(&format!(
        "{} ({}):\n",
        say(lang, "Kesalahan", "Errors"),
        finalise.errors.len()
    ));
    for (i, e) in finalise.errors.iter().enumerate() {
        text.push_str(&format!(
            "  E{}. [{} {}] {}: {}\n",
            i + 1,
            say(lang, "bagian", "section"),
            e.section + 1,
            e.field,
            e.text
        ));
    }
    text.push_str(&format!(
        "{} ({}):\n",
        say(lang, "Peringatan", "Warnings"),
        finalise.warnings.len()
    ));
    for (i, w) in finalise.warnings.iter().enumerate() {
        let note = w
            .note
            .as_ref()
            .map(|n| format!(" — {}: {n}", say(lang, "catatan", "note")))
            .unwrap_or_default();
        text.push_str(&format!(
            "  {}. [{} {}] {}: {}{note}\n",
            i + 1,
            say(lang, "bagian", "section"),
            w.section + 1,
            w.field,
            w.text
        ));
    }
    match &finalise.blocked_reason {
        Some(reason) => text.push_str(&format!("{reason}\n")),
        None => text.push_str(&say(
            lang,
            "Siap diselesaikan: ketik 'selesai'.\n",
            "Ready: type 'finalise'.\n",
        )),
    }
}

fn help(lang: Lang) -> String {
    let id = "\
Perintah (Bahasa Indonesia / English):
  daftar | list                 daftar tugas hari ini
  buka N | open N               buka tugas nomor N (atau kode tugas)
  kasus N | case N              buka kasus baru nomor N
  kasus-baru F | new-case F     mulai kasus baru dengan formulir F (asesor)
  N TEKS                        jawab pertanyaan nomor N (pilihan: kode; wilayah: kode; GPS: lintang bujur akurasi)
  jawab JALUR TEKS | set PATH TEXT  jawab menurut jalur, mis. members[2].sex (untuk skrip; N juga boleh jalur)
  pilih N KODE | choose N CODE  pilih / batalkan pilihan (pilihan ganda) atau wilayah
  hapus N | clear N             kosongkan jawaban N
  lanjut | next, kembali | back, bagian N | section N
  sesuai | confirm              data DTSEN di halaman ini sesuai (bagian / anggota), lalu lanjut
  tambah [N] | add [N]          tambah anggota pada daftar anggota N
  anggota N M | member N M      buka anggota M dari daftar N;  tutup | close: kembali
  buang N M | remove N M        hapus anggota M dari daftar N
  gps N [LINTANG BUJUR [AKURASI]]  ambil titik GPS (tanpa angka: simulasi)
  foto N BERKAS | photo N FILE  foto dari berkas
  catatan N TEKS | note N TEXT  catatan untuk peringatan (di layar periksa: nomor peringatan)
  periksa | review, selesai | finalise, ubah | edit
  daftar-perangkat KODE | enrol CODE  daftarkan perangkat dengan kode dari admin (dengan --server)
  sinkron | sync, status, bahasa id|en | lang id|en, keluar | quit";
    let en = "\
Commands (English / Bahasa Indonesia):
  list | daftar                 today's assignments
  open N | buka N               open item N (or an assignment id)
  case N | kasus N              open new case N
  new-case F | kasus-baru F     start a new case with form F (assessors)
  N TEXT                        answer question N (selects: a code; regions: a code; GPS: lat lon accuracy)
  set PATH TEXT | jawab JALUR TEKS  answer by path, e.g. members[2].sex (for scripts; N may be a path too)
  choose N CODE | pilih N KODE  choose / unchoose (multiple choice) or pick a region
  clear N | hapus N             empty answer N
  next | lanjut, back | kembali, section N | bagian N
  confirm | sesuai              the DTSEN record on this page holds (section / member), then move on
  add [N] | tambah [N]          add a member to roster N
  member N M | anggota N M      open member M of roster N;  close | tutup: go back
  remove N M | buang N M        remove member M of roster N
  gps N [LAT LON [ACCURACY]]    take a GPS fix (no numbers: simulated)
  photo N FILE | foto N BERKAS  a photo from a file
  note N TEXT | catatan N TEKS  note for a warning (on the review screen: the warning's number)
  review | periksa, finalise | selesai, edit | ubah
  enrol CODE | daftar-perangkat KODE  enrol this device with the admin's code (with --server)
  sync | sinkron, status, lang id|en | bahasa id|en, quit | keluar";
    say(lang, id, en)
}
