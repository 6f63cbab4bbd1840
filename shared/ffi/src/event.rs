//! What the Android shell may send: the App's [`UiEvent`]s as one uniffi enum, one variant per event.

use tepat_app::UiEvent;
use tepat_form::Lang;
use tepat_protocol::Assignment;
use tepat_store::Identity;

use super::FieldError;

/// A person's action, or the phone's news. Paths are answer paths like `outcome` or `members[2].nik`.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum FieldEvent {
    /// Read settings, forms and today's list again (the core does it once when it opens).
    Start,
    SetLanguage {
        lang: Lang,
    },
    /// Who works on this phone (training without a server; enrolment sets it otherwise).
    UseIdentity {
        identity: Identity,
    },
    /// A form definition (JSON) to install.
    InstallForm {
        json: String,
    },
    /// Assignments from a file (training): a JSON array of the sync protocol's `Assignment`.
    ImportAssignments {
        json: String,
    },
    ShowToday,
    OpenAssignment {
        assignment_id: String,
    },
    OpenVisit {
        visit_id: String,
    },
    /// Assessors: a new case without an assignment.
    StartNewCase {
        form_id: String,
    },
    /// Assessors: the follow-up visit of a listed case (its referrals carried, their status to update).
    FollowUpCase {
        visit_id: String,
    },
    GoToSection {
        index: u32,
    },
    NextSection,
    PreviousSection,
    OpenMember {
        repeat_path: String,
        index: u32,
    },
    CloseMember,
    /// What a person typed (any field type; the form engine parses it). Empty text clears.
    Answer {
        path: String,
        text: String,
    },
    /// Pick a choice of a select_one, or toggle one of a select_multiple.
    Choose {
        path: String,
        code: String,
    },
    /// Pick a region at any level of the cascade.
    ChooseRegion {
        path: String,
        code: String,
    },
    Clear {
        path: String,
    },
    AddMember {
        repeat_path: String,
    },
    RemoveMember {
        repeat_path: String,
        index: u32,
    },
    /// Ask for a GPS fix: the core calls `FieldShell::request_location`.
    CaptureLocation {
        path: String,
    },
    /// Ask for a photo: the core calls `FieldShell::request_photo`.
    TakePhoto {
        path: String,
    },
    /// The note explaining the warnings at `path` (empty removes it).
    SetNote {
        path: String,
        note: String,
    },
    /// Confirm the prefilled answers of the page on show and move on.
    ConfirmPage,
    ReviewFinalise,
    Finalise,
    EditAgain,
    CloseVisit,
    SyncNow,
    DismissNotice,
    /// Assessors: the asesmen of the person a listed, final report is about, opened with the report's data.
    StartAsesmenFromReport {
        visit_id: String,
    },
}

impl TryFrom<FieldEvent> for UiEvent {
    type Error = FieldError;

    fn try_from(event: FieldEvent) -> Result<UiEvent, FieldError> {
        Ok(match event {
            FieldEvent::Start => UiEvent::Start,
            FieldEvent::SetLanguage { lang } => UiEvent::SetLanguage { lang },
            FieldEvent::UseIdentity { identity } => UiEvent::UseIdentity { identity },
            FieldEvent::InstallForm { json } => UiEvent::InstallForm { json },
            FieldEvent::ImportAssignments { json } => {
                let assignments: Vec<Assignment> =
                    serde_json::from_str(&json).map_err(|e| FieldError::BadInput {
                        detail: format!("assignments: {e}"),
                    })?;
                UiEvent::ImportAssignments { assignments }
            }
            FieldEvent::ShowToday => UiEvent::ShowToday,
            FieldEvent::OpenAssignment { assignment_id } => {
                UiEvent::OpenAssignment { assignment_id }
            }
            FieldEvent::OpenVisit { visit_id } => UiEvent::OpenVisit { visit_id },
            FieldEvent::StartNewCase { form_id } => UiEvent::StartNewCase { form_id },
            FieldEvent::FollowUpCase { visit_id } => UiEvent::FollowUpCase { visit_id },
            FieldEvent::GoToSection { index } => UiEvent::GoToSection { index },
            FieldEvent::NextSection => UiEvent::NextSection,
            FieldEvent::PreviousSection => UiEvent::PreviousSection,
            FieldEvent::OpenMember { repeat_path, index } => {
                UiEvent::OpenMember { repeat_path, index }
            }
            FieldEvent::CloseMember => UiEvent::CloseMember,
            FieldEvent::Answer { path, text } => UiEvent::Answer { path, text },
            FieldEvent::Choose { path, code } => UiEvent::Choose { path, code },
            FieldEvent::ChooseRegion { path, code } => UiEvent::ChooseRegion { path, code },
            FieldEvent::Clear { path } => UiEvent::Clear { path },
            FieldEvent::AddMember { repeat_path } => UiEvent::AddMember { repeat_path },
            FieldEvent::RemoveMember { repeat_path, index } => {
                UiEvent::RemoveMember { repeat_path, index }
            }
            FieldEvent::CaptureLocation { path } => UiEvent::CaptureLocation { path },
            FieldEvent::TakePhoto { path } => UiEvent::TakePhoto { path },
            FieldEvent::SetNote { path, note } => UiEvent::SetNote { path, note },
            FieldEvent::ConfirmPage => UiEvent::ConfirmPage,
            FieldEvent::ReviewFinalise => UiEvent::ReviewFinalise,
            FieldEvent::Finalise => UiEvent::Finalise,
            FieldEvent::EditAgain => UiEvent::EditAgain,
            FieldEvent::CloseVisit => UiEvent::CloseVisit,
            FieldEvent::SyncNow => UiEvent::SyncNow,
            FieldEvent::DismissNotice => UiEvent::DismissNotice,
            FieldEvent::StartAsesmenFromReport { visit_id } => {
                UiEvent::StartAsesmenFromReport { visit_id }
            }
        })
    }
}
