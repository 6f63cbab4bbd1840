//! What can happen to the App: a person's action through the shell ([`UiEvent`]) or an effect's result.

use chrono::{DateTime, FixedOffset};

use super::effects::{CameraOutput, LocationOutput, StoreOutput, SyncOutput};
use tepat_form::Lang;
use tepat_protocol::Assignment;
use tepat_records::Identity;

/// A person's action (or the shell's news). Plain data, so the ffi layer mirrors it one to one.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// The app opened: read settings, forms, today's list.
    Start,
    SetLanguage {
        lang: Lang,
    },
    /// Who works on this phone: from enrolment, or a trainer's local identity.
    UseIdentity {
        identity: Identity,
    },
    /// A form definition (JSON) to install, e.g. from the app's bundled forms.
    InstallForm {
        json: String,
    },
    /// Assignments from a file (training) — the server sends them during sync.
    ImportAssignments {
        assignments: Vec<Assignment>,
    },
    ShowToday,
    /// Start, continue, correct or revisit the household of an assignment.
    OpenAssignment {
        assignment_id: String,
    },
    /// Open a visit from the list (new cases, returned visits).
    OpenVisit {
        visit_id: String,
    },
    /// Assessors: a new case without an assignment, with the newest version of the form.
    StartNewCase {
        form_id: String,
    },
    /// Assessors: the follow-up visit of a case whose latest visit (`visit_id`, finalised) is on the list: a new
    /// visit of the case with its answers and its referrals carried, so that only their status is changed.
    FollowUpCase {
        visit_id: String,
    },
    /// Assessors: from a listed, finalised report (`visit_id`) whose answer asks for an asesmen, the asesmen of the
    /// same person, opened with the report's data (the asesmen form's `prefill` keys name the report's fields)
    /// and linked to the report (`laporan_id`).
    StartAsesmenFromReport {
        visit_id: String,
    },
    GoToSection {
        index: u32,
    },
    NextSection,
    PreviousSection,
    /// Open one member of a roster at `repeat_path` (e.g. `members`).
    OpenMember {
        repeat_path: String,
        index: u32,
    },
    /// Back from a member to the roster.
    CloseMember,
    /// What a person typed for the field at `path` (any type: parsed by the form engine). Empty text clears.
    Answer {
        path: String,
        text: String,
    },
    /// Pick a choice of a select_one, or toggle one of a select_multiple.
    Choose {
        path: String,
        code: String,
    },
    /// Pick a region at any level of the cascade (the answer is set when the field's level is reached).
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
    /// Ask the phone for a GPS fix for the geopoint at `path`.
    CaptureLocation {
        path: String,
    },
    /// Ask the phone's camera for a photo for the field at `path`.
    TakePhoto {
        path: String,
    },
    /// The enumerator's note explaining the warnings at `path` (empty removes it).
    SetNote {
        path: String,
        note: String,
    },
    /// Confirm the prefilled answers of the page on show (a section or one member) as they stand, in one action,
    /// and move on (a member page closes; a section goes to the next).
    ConfirmPage,
    /// Show what still blocks finalising.
    ReviewFinalise,
    Finalise,
    /// Take a final visit that was not sent yet back out of the outbox to edit it.
    EditAgain,
    CloseVisit,
    SyncNow,
    /// The shell's news about the network: coming online with work waiting starts a sync.
    Connectivity {
        online: bool,
    },
    DismissNotice,
}

/// Every event of the App: a person's action or the result of the effects it asked for.
#[derive(Debug)]
pub enum Event {
    Ui(UiEvent),
    Loaded(StoreOutput),
    TodayLoaded {
        now: DateTime<FixedOffset>,
        result: StoreOutput,
        status: StoreOutput,
    },
    /// A form definition read from the store (to open a visit with it).
    FormLoaded {
        key: (String, u32),
        result: StoreOutput,
        then: Box<Event>,
    },
    /// A report's form read for today's list (its urgency labels, whether it opens an asesmen).
    ListFormLoaded {
        key: (String, u32),
        result: StoreOutput,
    },
    VisitOpened {
        now: DateTime<FixedOffset>,
        result: StoreOutput,
        label: Option<String>,
    },
    AnswersSaved {
        token: u64,
        result: StoreOutput,
    },
    NoteSaved {
        path: String,
        note: Option<String>,
        result: StoreOutput,
    },
    PrefillConfirmed {
        result: StoreOutput,
    },
    LocationReceived {
        path: String,
        output: LocationOutput,
    },
    PhotoReceived {
        path: String,
        output: CameraOutput,
    },
    /// The runtime uploaded photos (or tried): the sync status is read again.
    PhotosChanged,
    Finalised {
        result: StoreOutput,
    },
    Unfinalised {
        result: StoreOutput,
    },
    /// Something that needs only a reload of the list and a notice (settings, forms, assignments).
    Stored {
        result: StoreOutput,
        success: Option<tepat_form::Text>,
    },
    SyncPrepared {
        result: StoreOutput,
        round: u32,
    },
    SyncAnswered {
        request: Box<tepat_protocol::SyncRequest>,
        output: SyncOutput,
        round: u32,
    },
    SyncApplied {
        result: StoreOutput,
        more: bool,
        round: u32,
    },
    SyncFailed {
        result: StoreOutput,
        kind: super::effects::TransportErrorKind,
    },
    /// The runtime could not run a sync or lost its answer (a thread that would not start, an answer the core
    /// refused): recorded and said like a failed round trip, so the sync status shows it.
    SyncCouldNotRun {
        error: super::effects::TransportError,
    },
    /// The runtime could not hand an effect's output to the core (a bug): said, so it is not silently lost.
    RuntimeFailed {
        detail: String,
    },
}

impl From<UiEvent> for Event {
    fn from(event: UiEvent) -> Self {
        Event::Ui(event)
    }
}
