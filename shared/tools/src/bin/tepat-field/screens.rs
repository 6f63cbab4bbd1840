//! The screens as text: the core's view model (today's list, a visit's page, the finalise review) printed the
//! way the app draws it, in the user's language, and the help.

use tepat_app::PrefillMark;
use tepat_app::{AnswerView, FieldView, FinaliseView, ItemStatus, TodayView, ViewModel, VisitView};
use tepat_form::{FieldType, Lang, Level};

/// The text in the user's language.
pub(crate) fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

pub(crate) fn print_today(text: &mut String, view: &ViewModel, today: &TodayView) {
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
        text.push_str(&format!("{}:\n", say(lang, "Kasus", "Cases")));
        for (i, case) in today.cases.iter().enumerate() {
            let follow_up = if case.can_start_asesmen {
                say(lang, " → asesmen-dari", " → asesmen-from")
            } else if case.can_follow_up {
                say(lang, " → lanjutan", " → follow-up")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "  {:>3}. {} · {} · {} [{}]{follow_up}\n",
                i + 1,
                case.title,
                case.date,
                case.form_title,
                case.status_text
            ));
            if let Some(asesmen) = &case.asesmen_text {
                text.push_str(&format!("       {asesmen}\n"));
            }
            if let Some(comment) = &case.supervisor_comment {
                text.push_str(&format!(
                    "       {}: {comment}\n",
                    say(lang, "Catatan supervisor", "Supervisor's comment")
                ));
            }
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

pub(crate) fn print_visit(text: &mut String, lang: Lang, visit: &VisitView) {
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

pub(crate) fn print_field(text: &mut String, lang: Lang, n: usize, field: &FieldView) {
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
            Level::Error => say(lang, "KESALAHAN", "ERROR"),
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

pub(crate) fn print_finalise(text: &mut String, lang: Lang, finalise: &FinaliseView) {
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

pub(crate) fn help(lang: Lang) -> String {
    let id = "\
Perintah (Bahasa Indonesia / English):
  daftar | list                 daftar tugas hari ini
  buka N | open N               buka tugas nomor N (atau kode tugas)
  kasus N | case N              buka kasus nomor N
  lanjutan N | follow-up N      kunjungan lanjutan kasus N (rujukannya dibawa, ubah statusnya)
  kasus-baru F | new-case F     mulai kasus baru dengan formulir F (asesor)
  asesmen-dari N | asesmen-from N  asesmen orang yang dilaporkan di laporan Satgas N (dibuka dengan data laporan)
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
  case N | kasus N              open case N
  follow-up N | lanjutan N      follow-up visit of case N (its referrals carried: update their status)
  new-case F | kasus-baru F     start a new case with form F (assessors)
  asesmen-from N | asesmen-dari N  the asesmen of the person Satgas report N is about (opened with its data)
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
