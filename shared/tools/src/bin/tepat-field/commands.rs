//! The commands a person types, read line by line: each becomes events for the core (answers, navigation, GPS
//! and photo replies, sync), and the new view model is printed by [`super::screens`].

use std::io::Write;
use std::sync::Arc;

use super::screens::{help, print_finalise, print_today, print_visit, say};
use super::{SIMULATED_FIX, TerminalShell};
use tepat_app::LocationOutput;
use tepat_app::{FieldView, NoticeLevel, Screen, UiEvent, ViewModel};
use tepat_form::{FieldType, Lang};
use tepat_runtime::{PhotoResult, Runtime};

pub(crate) enum Flow {
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

pub(crate) struct Session {
    pub(crate) runtime: Runtime,
    pub(crate) shell: Arc<TerminalShell>,
    pub(crate) lang: Lang,
}

/// A command word in either language.
fn is(word: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(word))
}

impl Session {
    pub(crate) fn command(&mut self, line: &str, out: &mut impl Write) -> Flow {
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
        if is(word, &["lanjutan", "follow-up"]) {
            let which = arg(&say(lang, "nomor kasus", "a case number"))?;
            let Screen::Today(today) = &view.screen else {
                return Err(not_here(lang));
            };
            let case = number(&which, today.cases.len(), lang)
                .and_then(|i| today.cases.get(i).ok_or_else(|| out_of_range(lang)))?;
            return Ok(rt.dispatch(UiEvent::FollowUpCase {
                visit_id: case.visit_id.clone(),
            }));
        }
        if is(word, &["asesmen-dari", "asesmen-from"]) {
            let which = arg(&say(lang, "nomor kasus laporan", "a report's case number"))?;
            let Screen::Today(today) = &view.screen else {
                return Err(not_here(lang));
            };
            let case = number(&which, today.cases.len(), lang)
                .and_then(|i| today.cases.get(i).ok_or_else(|| out_of_range(lang)))?;
            return Ok(rt.dispatch(UiEvent::StartAsesmenFromReport {
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

    pub(crate) fn print(&self, out: &mut impl Write, view: &ViewModel) {
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
