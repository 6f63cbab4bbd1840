//! The App's view model as uniffi records and enums, so Kotlin gets real types (data classes, sealed classes,
//! enums) instead of JSON.
//!
//! These are uniffi *remote* declarations of the types in `tepat_app` (and the few form, protocol and store
//! types they use): uniffi generates the FFI code for the App's own types from the field lists below, so no
//! conversion runs per dispatch. A field added to the App's types without being added here fails to compile.

use tepat_app::{
    AnswerView, CaseView, ChoiceView, FieldView, FinaliseView, FindingItem, FindingView,
    FormChoiceView, InputError, ItemStatus, Keyboard, MemberPage, MemberSummary, Notice,
    NoticeLevel, PrefillMark, RegionLevelView, Screen, SectionTab, SyncView, TodayCountsView,
    TodayItemView, TodayView, ViewModel, VisitView,
};
use tepat_form::{FieldType, Lang, Level};
use tepat_protocol::Role;
use tepat_store::Identity;

#[uniffi::remote(Enum)]
pub enum Lang {
    Id,
    En,
}

#[uniffi::remote(Enum)]
pub enum Level {
    Warning,
    Error,
}

#[uniffi::remote(Enum)]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Date,
    SelectOne,
    SelectMultiple,
    Geopoint,
    Photo,
    Nik,
    Kk,
    Region,
    Note,
    Calculate,
    Repeat,
}

#[uniffi::remote(Enum)]
pub enum Role {
    Admin,
    Supervisor,
    Enumerator,
    Assessor,
}

#[uniffi::remote(Record)]
pub struct Identity {
    pub device_id: String,
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub regions: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct ViewModel {
    pub lang: Lang,
    pub screen: Screen,
    pub user: Option<String>,
    pub sync: SyncView,
    pub notice: Option<Notice>,
}

#[uniffi::remote(Enum)]
pub enum Screen {
    Loading,
    Today(TodayView),
    Visit(VisitView),
    Finalise(FinaliseView),
}

#[uniffi::remote(Enum)]
pub enum NoticeLevel {
    Info,
    Success,
    Warning,
    Error,
}

#[uniffi::remote(Record)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

#[uniffi::remote(Record)]
pub struct SyncView {
    pub outbox: u32,
    pub held: u32,
    pub syncing: bool,
    pub can_sync: bool,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub photos_waiting: u32,
    pub photo_bytes_waiting: u64,
    pub photos_text: Option<String>,
    pub summary: String,
}

#[uniffi::remote(Record)]
pub struct TodayView {
    pub date: String,
    pub counts: TodayCountsView,
    pub progress_text: String,
    pub items: Vec<TodayItemView>,
    pub cases: Vec<CaseView>,
    pub case_forms: Vec<FormChoiceView>,
}

#[uniffi::remote(Record)]
pub struct TodayCountsView {
    pub done_today: u32,
    pub target: Option<u32>,
    pub drafts: u32,
    pub in_outbox: u32,
    pub returned: u32,
    pub revisits: u32,
}

#[uniffi::remote(Enum)]
pub enum ItemStatus {
    NotStarted,
    Draft,
    Returned,
    Correcting,
    InOutbox,
    Refused,
    Accepted,
    Approved,
    Revisit,
}

#[uniffi::remote(Record)]
pub struct TodayItemView {
    pub assignment_id: String,
    pub label: String,
    pub region: String,
    pub status: ItemStatus,
    pub status_text: String,
    pub action_text: String,
    pub visit_id: Option<String>,
    pub supervisor_comment: Option<String>,
    pub withdrawn_text: Option<String>,
    pub nik: Option<String>,
    pub address: Option<String>,
    pub rt: Option<String>,
    pub rw: Option<String>,
    pub dusun: Option<String>,
}

#[uniffi::remote(Record)]
pub struct CaseView {
    pub visit_id: String,
    pub title: String,
    pub date: String,
    pub form_title: String,
    pub status: ItemStatus,
    pub status_text: String,
    pub action_text: String,
    pub can_follow_up: bool,
    pub supervisor_comment: Option<String>,
    pub asesmen_text: Option<String>,
    pub can_start_asesmen: bool,
}

#[uniffi::remote(Record)]
pub struct FormChoiceView {
    pub form_id: String,
    pub version: u32,
    pub title: String,
}

#[uniffi::remote(Record)]
pub struct VisitView {
    pub visit_id: String,
    pub form_title: String,
    pub title: String,
    pub revision: u32,
    pub state_text: String,
    pub read_only: bool,
    pub can_edit_again: bool,
    pub supervisor_comment: Option<String>,
    pub supervisor_field: Option<String>,
    pub banner: Option<String>,
    pub sections: Vec<SectionTab>,
    pub section: u32,
    pub section_title: String,
    pub member: Option<MemberPage>,
    pub fields: Vec<FieldView>,
    pub can_previous: bool,
    pub can_next: bool,
    pub errors: u32,
    pub warnings: u32,
    pub waiting_for: Option<String>,
}

#[uniffi::remote(Record)]
pub struct SectionTab {
    pub index: u32,
    pub title: String,
    pub current: bool,
    pub errors: u32,
    pub warnings: u32,
}

#[uniffi::remote(Record)]
pub struct MemberPage {
    pub repeat_path: String,
    pub index: u32,
    pub title: String,
}

#[uniffi::remote(Record)]
pub struct FieldView {
    pub path: String,
    pub field_id: String,
    pub kind: FieldType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub read_only: bool,
    pub display: Option<String>,
    pub answer: AnswerView,
    pub choices: Vec<ChoiceView>,
    pub region: Vec<RegionLevelView>,
    pub members: Vec<MemberSummary>,
    pub can_add_member: bool,
    pub findings: Vec<FindingView>,
    pub input_error: Option<InputError>,
    pub note: Option<String>,
    pub prefill: Option<PrefillMark>,
    pub supervisor_comment: Option<String>,
    pub keyboard: Keyboard,
}

#[uniffi::remote(Enum)]
pub enum Keyboard {
    None,
    Text,
    LongText,
    Digits,
    Phone,
    Integer,
    Decimal,
    Date,
}

#[uniffi::remote(Enum)]
pub enum PrefillMark {
    Prefilled,
    Confirmed,
    Changed,
}

#[uniffi::remote(Enum)]
pub enum AnswerView {
    Empty,
    Text { value: String },
    Number { value: f64 },
    Date { value: String },
    Choice { code: String },
    Choices { codes: Vec<String> },
    Location { lat: f64, lon: f64, accuracy_m: f64 },
    Photo { file: String, sha256: String },
    Region { code: String },
    Members { count: u32 },
    Other { json: String },
}

#[uniffi::remote(Record)]
pub struct ChoiceView {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

#[uniffi::remote(Record)]
pub struct RegionLevelView {
    pub level: String,
    pub selected: Option<ChoiceView>,
    pub choices: Vec<ChoiceView>,
}

#[uniffi::remote(Record)]
pub struct MemberSummary {
    pub index: u32,
    pub title: String,
    pub errors: u32,
    pub warnings: u32,
}

#[uniffi::remote(Record)]
pub struct FindingView {
    pub path: String,
    pub level: Level,
    pub rule: String,
    pub text: String,
}

#[uniffi::remote(Record)]
pub struct InputError {
    pub typed: String,
    pub message: String,
}

#[uniffi::remote(Record)]
pub struct FinaliseView {
    pub visit_id: String,
    pub title: String,
    pub errors: Vec<FindingItem>,
    pub warnings: Vec<FindingItem>,
    pub can_finalise: bool,
    pub blocked_reason: Option<String>,
}

#[uniffi::remote(Record)]
pub struct FindingItem {
    pub path: String,
    pub section: u32,
    pub field: String,
    pub text: String,
    pub note: Option<String>,
}
