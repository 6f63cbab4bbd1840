//! What a phone screen shows: plain records (strings, numbers, lists, options) in the user's language, so the
//! ffi layer can mirror them one to one and the shell only draws.

use tepat_form::{FieldType, Lang, Level};

#[derive(Debug, Clone, PartialEq)]
pub struct ViewModel {
    pub lang: Lang,
    pub screen: Screen,
    /// Who is working on this phone, e.g. `Rina · Pendamping PKH`; `None` before enrolment.
    pub user: Option<String>,
    pub sync: SyncView,
    /// A message for the person (what just happened or went wrong), until the next action.
    pub notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Reading the phone's data.
    Loading,
    Today(TodayView),
    Visit(VisitView),
    Finalise(FinaliseView),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

/// Sync status in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncView {
    /// Visits waiting for the server.
    pub outbox: u32,
    /// Of those, refused by the server (kept, need attention).
    pub held: u32,
    pub syncing: bool,
    pub can_sync: bool,
    /// When the last sync succeeded, e.g. `23-11-2026 14:05`.
    pub last_success: Option<String>,
    /// The last failure in words a person understands.
    pub last_error: Option<String>,
    /// Photos of sent visits the server has not confirmed yet, and their bytes still to send.
    pub photos_waiting: u32,
    pub photo_bytes_waiting: u64,
    /// e.g. `3 foto, 820 KB belum terkirim`; `None` when no photo waits.
    pub photos_text: Option<String>,
    /// One line for the status bar.
    pub summary: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Today

#[derive(Debug, Clone, PartialEq)]
pub struct TodayView {
    /// The local date, e.g. `Senin, 23-11-2026`.
    pub date: String,
    pub counts: TodayCountsView,
    /// e.g. `5 dari 12 kunjungan selesai hari ini`; without a target (assessors) `2 kunjungan selesai hari ini`.
    pub progress_text: String,
    pub items: Vec<TodayItemView>,
    /// Cases (no assignment), one line each: its latest visit.
    pub cases: Vec<CaseView>,
    /// Forms a new case can be started with (assessors).
    pub case_forms: Vec<FormChoiceView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TodayCountsView {
    pub done_today: u32,
    /// Visits a day the user's role aims for (`Role::daily_target`): 12 for pendamping PKH, none for a TKSK.
    pub target: Option<u32>,
    pub drafts: u32,
    pub in_outbox: u32,
    pub returned: u32,
    pub revisits: u32,
}

/// Where an assignment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    NotStarted,
    Draft,
    /// Returned by the supervisor, not reopened yet.
    Returned,
    /// Reopened for correction (a draft of revision > 1).
    Correcting,
    /// Final, waiting in the outbox.
    InOutbox,
    /// The server refused it (kept; see the reason).
    Refused,
    Accepted,
    Approved,
    /// The last visit found nobody (not found / not reachable): visit again.
    Revisit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TodayItemView {
    pub assignment_id: String,
    pub label: String,
    /// Village name and code.
    pub region: String,
    pub status: ItemStatus,
    pub status_text: String,
    /// The button: `Mulai`, `Lanjutkan`, `Perbaiki`, `Kunjungi lagi`, `Lihat`.
    pub action_text: String,
    pub visit_id: Option<String>,
    pub supervisor_comment: Option<String>,
    /// Withdrawn by the server; its draft is kept.
    pub withdrawn_text: Option<String>,
    /// From the registered record (the assignment's prefill: `head_nik`, `address`, `rt`, `rw`, `dusun`), for
    /// searching and filtering the list on the phone; `None` when the record has none.
    pub nik: Option<String>,
    pub address: Option<String>,
    pub rt: Option<String>,
    pub rw: Option<String>,
    pub dusun: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    /// The case's latest visit.
    pub visit_id: String,
    /// The client's name (`full_name`), or `Kasus baru` until it is answered.
    pub title: String,
    /// The latest visit's date, e.g. `16-03-2026`.
    pub date: String,
    pub form_title: String,
    pub status: ItemStatus,
    pub status_text: String,
    /// What the button does: `Lanjutkan`, `Perbaiki`, `Lihat`, or `Kunjungan lanjutan` (a follow-up visit).
    pub action_text: String,
    /// The latest visit is final (not returned): `UiEvent::FollowUpCase` starts the case's follow-up visit.
    pub can_follow_up: bool,
    pub supervisor_comment: Option<String>,
    /// A report (Satgas): whether it asks for an asesmen and whether one was started ("Perlu asesmen, belum
    /// dimulai", "Asesmen sudah dimulai", "Tidak perlu asesmen"); `None` for other cases.
    pub asesmen_text: Option<String>,
    /// A final report that asks for an asesmen not started yet: `UiEvent::StartAsesmenFromReport` starts it.
    pub can_start_asesmen: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormChoiceView {
    pub form_id: String,
    pub version: u32,
    pub title: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Visit

#[derive(Debug, Clone, PartialEq)]
pub struct VisitView {
    pub visit_id: String,
    pub form_title: String,
    /// The household (assignment label) or `Kasus baru`.
    pub title: String,
    pub revision: u32,
    pub state_text: String,
    /// Finalised visits are shown, not edited.
    pub read_only: bool,
    /// A final visit not yet sent can be edited again.
    pub can_edit_again: bool,
    /// The supervisor's comment on a returned visit.
    pub supervisor_comment: Option<String>,
    /// Where the supervisor pinned the comment, in words (`Jumlah kamar`, `NIK · anggota 2`); the field itself
    /// carries the comment ([`FieldView::supervisor_comment`]).
    pub supervisor_field: Option<String>,
    /// Something to know about this visit (withdrawn assignment, refused by the server).
    pub banner: Option<String>,
    /// Only the sections that apply (relevance).
    pub sections: Vec<SectionTab>,
    /// Position of the current section in `sections`.
    pub section: u32,
    pub section_title: String,
    /// Set when the page is one member of a roster.
    pub member: Option<MemberPage>,
    /// The visible fields of this page.
    pub fields: Vec<FieldView>,
    pub can_previous: bool,
    pub can_next: bool,
    pub errors: u32,
    pub warnings: u32,
    /// What the phone is waiting for, e.g. `Menunggu lokasi GPS…`.
    pub waiting_for: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionTab {
    pub index: u32,
    pub title: String,
    pub current: bool,
    pub errors: u32,
    pub warnings: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    /// The repeat's path, e.g. `members`.
    pub repeat_path: String,
    pub index: u32,
    /// e.g. `Anggota 3 dari 10: Siti Aminah`.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldView {
    /// Where the answer goes: `outcome`, `members[2].nik`.
    pub path: String,
    pub field_id: String,
    pub kind: FieldType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub read_only: bool,
    /// The answer as text for a person (choice labels, region names, `-3.80012, 102.26543 (±8 m)`).
    pub display: Option<String>,
    /// The answer, typed.
    pub answer: AnswerView,
    /// Choices of a select (filtered by `choice_filter`), with the selected ones marked.
    pub choices: Vec<ChoiceView>,
    /// The cascade of a region field, level by level.
    pub region: Vec<RegionLevelView>,
    /// The members of a roster field.
    pub members: Vec<MemberSummary>,
    pub can_add_member: bool,
    pub findings: Vec<FindingView>,
    /// What was typed and why it could not be taken (nothing was saved).
    pub input_error: Option<InputError>,
    /// The enumerator's note explaining this field's warnings.
    pub note: Option<String>,
    /// For an answer the assignment prefilled (the registered record): still to confirm, confirmed, or changed.
    pub prefill: Option<PrefillMark>,
    /// The supervisor's comment on a returned visit, when it was pinned to this field's path.
    pub supervisor_comment: Option<String>,
    /// Which keyboard a typed answer wants (see [`Keyboard`]).
    pub keyboard: Keyboard,
}

/// The keyboard for a typed answer, from the field's type and, for text, its rules: a text whose format rule
/// (`regex(., '…')`) allows only digits (RT/RW, postcode, PLN customer and meter IDs) gets the number pad, one
/// that allows a leading `+` and digits (a mobile number) the phone pad, a long text (`max_length` over
/// [`LONG_TEXT`] characters: addresses, explanations, notes) a box of several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyboard {
    /// Not typed (choices, GPS, photo, …).
    None,
    Text,
    LongText,
    /// Digits only: NIK, KK, RT/RW, postcodes, meter and customer IDs.
    Digits,
    Phone,
    /// A whole number, possibly negative.
    Integer,
    /// A number with decimals (a comma or a point).
    Decimal,
    Date,
}

/// Text longer than this (its `max_length`) is typed in a box of several lines.
pub const LONG_TEXT: u32 = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum AnswerView {
    Empty,
    Text {
        value: String,
    },
    Number {
        value: f64,
    },
    Date {
        value: String,
    },
    Choice {
        code: String,
    },
    Choices {
        codes: Vec<String>,
    },
    Location {
        lat: f64,
        lon: f64,
        accuracy_m: f64,
    },
    Photo {
        file: String,
        sha256: String,
    },
    Region {
        code: String,
    },
    Members {
        count: u32,
    },
    /// An answer of an unexpected shape, shown as JSON.
    Other {
        json: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceView {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionLevelView {
    /// `Provinsi`, `Kabupaten/Kota`, `Kecamatan`, `Desa/Kelurahan`.
    pub level: String,
    pub selected: Option<ChoiceView>,
    /// The choices at this level under the level above (empty until that one is chosen).
    pub choices: Vec<ChoiceView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub index: u32,
    pub title: String,
    pub errors: u32,
    pub warnings: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    pub path: String,
    pub level: Level,
    pub rule: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub typed: String,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Finalise

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinaliseView {
    pub visit_id: String,
    pub title: String,
    /// Every error: each blocks finalising.
    pub errors: Vec<FindingItem>,
    /// Every warning: each needs a note.
    pub warnings: Vec<FindingItem>,
    pub can_finalise: bool,
    /// Why not yet, in words.
    pub blocked_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingItem {
    pub path: String,
    /// The section to jump to.
    pub section: u32,
    /// e.g. `Anggota 2 · NIK`.
    pub field: String,
    pub text: String,
    pub note: Option<String>,
}

/// How a prefilled answer stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillMark {
    /// From the register, not confirmed yet.
    Prefilled,
    /// From the register, confirmed as it stands.
    Confirmed,
    /// Differs from the register.
    Changed,
}
