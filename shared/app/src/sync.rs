//! Sync as the App runs it: build a batch from the outbox, one round trip, apply the answer in one store
//! transaction; again while the server says there is more. A failure is recorded and explained; nothing in the
//! outbox is touched by it.

use crux_core::{Command, render::render};

use super::effects::{
    StoreOperation, StoreOutput, StoreReply, SyncOperation, SyncOutput, TransportError,
    TransportErrorKind,
};
use super::event::Event;
use super::text::{say, transport_error};
use super::view_model::NoticeLevel;
use super::{Cmd, Model, at_now, failed, notice, reload_today};
use tepat_protocol::SyncRequest;

/// Visits per batch: well under the server's default of 200, so a batch cut on a bad link costs little.
pub const MAX_BATCH_VISITS: usize = 50;

/// Bytes of visit JSON per batch. A DTSEN visit is 5–15 kB of JSON (2–4 kB gzipped), so a full batch is about
/// 100–200 kB on the wire: seconds on 2G, and far under the server's 4 MiB body / 16 MiB inflated limits.
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Rounds per sync while the server says there is more.
pub const MAX_ROUNDS: u32 = 20;

/// Starts a sync unless one is running. `asked`: the person asked (so problems are said out loud).
pub fn start(model: &mut Model, asked: bool) -> Cmd {
    if model.syncing {
        return Command::done();
    }
    if model.identity.is_none() {
        if asked {
            let text =
                super::text::store_error(model.lang, &tepat_records::StoreError::NotEnrolled);
            notice(model, NoticeLevel::Warning, text);
        }
        return render();
    }
    model.syncing = true;
    Command::all([render(), round(0)])
}

fn round(round: u32) -> Cmd {
    at_now(
        |at| StoreOperation::PrepareSync {
            max_visits: MAX_BATCH_VISITS,
            max_bytes: MAX_BATCH_BYTES,
            at,
        },
        move |_, result| Event::SyncPrepared { result, round },
    )
}

pub fn prepared(model: &mut Model, result: StoreOutput, round: u32) -> Cmd {
    match result {
        Ok(StoreReply::SyncRequest(request)) => {
            let sent = (*request).clone();
            Command::request_from_shell(SyncOperation(sent)).then_send(move |output| {
                Event::SyncAnswered {
                    request,
                    output,
                    round,
                }
            })
        }
        other => {
            model.syncing = false;
            failed(model, other)
        }
    }
}

pub fn answered(_model: &mut Model, request: SyncRequest, output: SyncOutput, round: u32) -> Cmd {
    match output {
        Ok(response) => {
            let more = response.more;
            at_now(
                move |at| StoreOperation::ApplySync {
                    request: Box::new(request),
                    response: Box::new(response),
                    at,
                },
                move |_, result| Event::SyncApplied {
                    result,
                    more,
                    round,
                },
            )
        }
        Err(error) => failed_to_run(error),
    }
}

/// A round trip that failed, or a sync the runtime could not run: kept as the last sync failure (the status
/// shows it), then said.
pub fn failed_to_run(error: TransportError) -> Cmd {
    let kind = error.kind;
    at_now(
        move |at| StoreOperation::RecordSyncFailure {
            code: kind.code().to_string(),
            message: error.detail,
            nothing_sent: kind.nothing_sent(),
            at,
        },
        move |_, result| Event::SyncFailed { result, kind },
    )
}

pub fn applied(model: &mut Model, result: StoreOutput, more: bool, round_done: u32) -> Cmd {
    let applied = match result {
        Ok(StoreReply::SyncApplied(applied)) => applied,
        other => {
            model.syncing = false;
            return Command::all([failed(model, other), reload_today()]);
        }
    };
    if more && round_done + 1 < MAX_ROUNDS {
        return round(round_done + 1);
    }
    model.syncing = false;
    let lang = model.lang;
    let mut parts = Vec::new();
    let sent = applied.accepted + applied.duplicate;
    if sent > 0 {
        parts.push(say(
            lang,
            &format!("{sent} kunjungan terkirim"),
            &format!("{sent} visit(s) sent"),
        ));
    }
    if applied.rejected > 0 {
        let n = applied.rejected;
        parts.push(say(
            lang,
            &format!("{n} ditolak server (lihat daftar)"),
            &format!("{n} refused by the server (see the list)"),
        ));
    }
    if applied.assignments_added > 0 {
        let n = applied.assignments_added;
        parts.push(say(
            lang,
            &format!("{n} tugas baru"),
            &format!("{n} new assignment(s)"),
        ));
    }
    if applied.assignments_withdrawn > 0 {
        let n = applied.assignments_withdrawn;
        parts.push(say(
            lang,
            &format!("{n} tugas ditarik"),
            &format!("{n} assignment(s) withdrawn"),
        ));
    }
    if applied.withdrawn_with_draft > 0 {
        let n = applied.withdrawn_with_draft;
        parts.push(say(
            lang,
            &format!("{n} draf dari tugas yang ditarik tetap disimpan"),
            &format!("{n} draft(s) of withdrawn assignments kept"),
        ));
    }
    if applied.returned > 0 {
        let n = applied.returned;
        parts.push(say(
            lang,
            &format!("{n} dikembalikan untuk diperbaiki"),
            &format!("{n} returned for correction"),
        ));
    }
    if applied.approved > 0 {
        let n = applied.approved;
        parts.push(say(
            lang,
            &format!("{n} disetujui"),
            &format!("{n} approved"),
        ));
    }
    let head = say(lang, "Sinkronisasi berhasil", "Sync done");
    let text = if parts.is_empty() {
        head
    } else {
        format!("{head}: {}", parts.join("; "))
    };
    let level = if applied.rejected > 0 || !applied.problems.is_empty() {
        NoticeLevel::Warning
    } else {
        NoticeLevel::Success
    };
    notice(model, level, text);
    // Forms the server sent are new cases' forms too: the list of forms is read again with today's list.
    let reload = if applied.forms_installed > 0 {
        super::load_all()
    } else {
        reload_today()
    };
    Command::all([reload, refresh_open_visit(model)])
}

/// A finalised visit on screen may have changed with the sync (accepted, returned, approved): read it again.
/// A draft is the person's own and is left alone.
fn refresh_open_visit(model: &mut Model) -> Cmd {
    let Some(visit) = model.visit.as_ref().filter(|v| !v.editable()) else {
        return Command::done();
    };
    let (summary, label) = (visit.summary.clone(), visit.label.clone());
    let again = Event::Ui(crate::UiEvent::OpenVisit {
        visit_id: summary.visit_id.to_string(),
    });
    super::visit::load_visit(model, &summary, label, again)
}

pub fn failed_round(model: &mut Model, result: StoreOutput, kind: TransportErrorKind) -> Cmd {
    model.syncing = false;
    if let Err(error) = result {
        return Command::all([failed(model, Err(error)), reload_today()]);
    }
    let text = transport_error(model.lang, kind);
    notice(model, NoticeLevel::Warning, text);
    // A visit on screen says what the attempt left it as: sent, or (nothing sent) still waiting to be sent.
    Command::all([reload_today(), refresh_open_visit(model)])
}
