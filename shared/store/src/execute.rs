//! Performs the App's store operations on the device store.

use chrono::Utc;

use crate::{Store, StoreOperation, StoreOutput, StoreReply};

/// Runs one store operation (one transaction) and gives the App its output.
pub fn execute(store: &mut Store, operation: StoreOperation) -> StoreOutput {
    use StoreOperation as Op;
    let utc = |at: chrono::DateTime<chrono::FixedOffset>| at.with_timezone(&Utc);
    Ok(match operation {
        Op::Load => StoreReply::Loaded {
            settings: store.settings()?,
            forms: store.forms()?,
        },
        Op::SetLanguage(lang) => {
            store.set_language(lang)?;
            StoreReply::Done
        }
        Op::SetIdentity { identity, at } => {
            store.set_identity(&identity, utc(at))?;
            StoreReply::Done
        }
        Op::InstallForm { form, at } => {
            StoreReply::FormInstalled(store.install_form(&form, utc(at))?)
        }
        Op::ImportAssignments { assignments, at } => {
            StoreReply::Imported(store.import_assignments(&assignments, utc(at))?)
        }
        Op::Today { date } => StoreReply::Today(Box::new(store.today(date)?)),
        Op::LoadForm { form_id, version } => {
            StoreReply::Form(Box::new(store.form(&form_id, version)?))
        }
        Op::StartVisit { visit, repeats, at } => {
            StoreReply::Visit(Box::new(store.start_visit(&visit, &repeats, utc(at))?))
        }
        Op::LoadVisit { visit_id } => StoreReply::Visit(Box::new(store.visit(visit_id)?)),
        Op::SaveAnswers {
            visit_id,
            revision,
            changes,
            at,
        } => {
            store.save_answers(visit_id, revision, &changes, utc(at))?;
            StoreReply::Done
        }
        Op::SetNote {
            visit_id,
            revision,
            path,
            note,
            at,
        } => {
            store.set_warning_note(visit_id, revision, &path, note.as_deref(), utc(at))?;
            StoreReply::Done
        }
        Op::ConfirmPrefilled {
            visit_id,
            revision,
            paths,
            at,
        } => {
            store.confirm_prefilled(visit_id, revision, &paths, utc(at))?;
            StoreReply::Done
        }
        Op::Finalise { finalise, at } => {
            StoreReply::Finalised(Box::new(store.finalise(&finalise, utc(at))?))
        }
        Op::Unfinalise {
            visit_id,
            revision,
            at,
        } => {
            store.unfinalise(visit_id, revision, utc(at))?;
            StoreReply::Done
        }
        Op::ReopenReturned {
            visit_id,
            revision,
            at,
        } => StoreReply::Visit(Box::new(store.reopen_returned(
            visit_id,
            revision,
            utc(at),
        )?)),
        Op::SyncStatus => StoreReply::SyncStatus(store.sync_status()?),
        Op::PrepareSync {
            max_visits,
            max_bytes,
            at,
        } => StoreReply::SyncRequest(Box::new(store.prepare_batch(
            max_visits,
            max_bytes,
            utc(at),
        )?)),
        Op::ApplySync {
            request,
            response,
            at,
        } => StoreReply::SyncApplied(store.apply_sync(&request, &response, utc(at))?),
        Op::RecordSyncFailure {
            code,
            message,
            nothing_sent,
            at,
        } => {
            store.record_sync_failure(&code, &message, nothing_sent, utc(at))?;
            StoreReply::Done
        }
    })
}
