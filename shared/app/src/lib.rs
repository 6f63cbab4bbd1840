//! The phone's workflow as a crux App (pure): today's list, visits from outcome to finalise, returned visits,
//! new cases, sync. Every side effect is an [`Effect`]: the runtime (or a test) performs it and hands back the
//! output. See `shared/README.md` for the screens and events.
//!
//! Crate `tepat-app`: depends on `tepat-form`, `tepat-protocol`, `tepat-records` and crux_core; never on the store, SQLite or
//! the network (every side effect is an `Effect`).

mod case;
mod effects;
mod engine;
mod event;
mod form_meta;
mod report;
mod sync;
mod text;
mod view;
mod view_model;
mod visit;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use crux_core::{Command, render::render};

pub use effects::*;
pub use event::{Event, UiEvent};
pub use form_meta::FormMeta;
pub use text::transport_error as transport_error_text;
pub use view_model::*;

use tepat_form::{Lang, Text};
use tepat_records::{FormInfo, Identity, StoreError, SyncStatus, Today};
use text::say;
use visit::OpenVisit;

/// The number of households an enumerator aims to visit per day (the same figure the server's progress uses);
/// `Role::daily_target` says which roles have it.
pub use tepat_protocol::DAILY_TARGET;

type Cmd = Command<Effect, Event>;

/// The App.
#[derive(Debug, Default)]
pub struct App;

/// Which screen is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Showing {
    #[default]
    Loading,
    Today,
    Visit,
    Finalise,
}

/// Everything the App holds between events.
#[derive(Default)]
pub struct Model {
    lang: Lang,
    identity: Option<Identity>,
    forms: Vec<FormInfo>,
    metas: HashMap<(String, u32), FormMeta>,
    /// The phone's clock at the last reading (its offset gives local times in the view).
    now: Option<DateTime<FixedOffset>>,
    today: Option<Today>,
    sync: SyncStatus,
    syncing: bool,
    showing: Showing,
    visit: Option<OpenVisit>,
    notice: Option<Notice>,
    /// Numbers answer saves, so a save's result finds its rows.
    save_token: u64,
}

impl crux_core::App for App {
    type Event = Event;
    type Model = Model;
    type ViewModel = ViewModel;
    type Effect = Effect;

    fn update(&self, event: Event, model: &mut Model) -> Cmd {
        match event {
            Event::Ui(ui) => update_ui(ui, model),
            Event::Loaded(result) => match result {
                Ok(StoreReply::Loaded { settings, forms }) => {
                    model.lang = settings.lang;
                    model.identity = settings.identity;
                    model.forms = forms;
                    reload_today()
                }
                other => failed(model, other),
            },
            Event::TodayLoaded {
                now,
                result,
                status,
            } => {
                model.now = Some(now);
                if let Ok(StoreReply::SyncStatus(status)) = status {
                    model.sync = status;
                }
                match result {
                    Ok(StoreReply::Today(today)) => {
                        model.today = Some(*today);
                        if model.visit.is_none() {
                            model.showing = Showing::Today;
                        }
                        // Reports on the list show their urgency in words: their forms are read once.
                        Command::all([render(), report::read_list_forms(model)])
                    }
                    other => failed(model, other),
                }
            }
            Event::FormLoaded { key, result, then } => match result {
                Ok(StoreReply::Form(form)) => match tepat_form::compile(*form) {
                    Ok(compiled) => {
                        model.metas.insert(key, FormMeta::new(compiled));
                        App.update(*then, model)
                    }
                    Err(errors) => {
                        let problem = say(
                            model.lang,
                            "Formulir tidak dapat dibuka",
                            "The form cannot be opened",
                        );
                        notice(model, NoticeLevel::Error, format!("{problem}: {errors}"));
                        render()
                    }
                },
                other => failed(model, other),
            },
            Event::ListFormLoaded { key, result } => report::list_form_loaded(model, key, result),
            Event::VisitOpened { now, result, label } => visit::opened(model, now, result, label),
            Event::AnswersSaved { token, result } => visit::answers_saved(model, token, result),
            Event::NoteSaved { path, note, result } => visit::note_saved(model, path, note, result),
            Event::PrefillConfirmed { result } => visit::prefill_confirmed(model, result),
            Event::LocationReceived { path, output } => {
                visit::location_received(model, path, output)
            }
            Event::PhotoReceived { path, output } => visit::photo_received(model, path, output),
            Event::PhotosChanged => reload_today(),
            Event::Finalised { result } => visit::finalised(model, result),
            Event::Unfinalised { result } => visit::unfinalised(model, result),
            Event::Stored { result, success } => match result {
                Ok(reply) => {
                    let summary = match reply {
                        StoreReply::Imported(s) => Some(say(
                            model.lang,
                            &format!(
                                "Tugas: {} baru, {} diperbarui, {} sama",
                                s.added, s.updated, s.unchanged
                            ),
                            &format!(
                                "Assignments: {} new, {} updated, {} unchanged",
                                s.added, s.updated, s.unchanged
                            ),
                        )),
                        _ => success.map(|t| t.get(model.lang).to_string()),
                    };
                    if let Some(text) = summary {
                        notice(model, NoticeLevel::Success, text);
                    }
                    load_all()
                }
                Err(error) => failed(model, Err(error)),
            },
            Event::SyncPrepared { result, round } => sync::prepared(model, result, round),
            Event::SyncAnswered {
                request,
                output,
                round,
            } => sync::answered(model, *request, output, round),
            Event::SyncApplied {
                result,
                more,
                round,
            } => sync::applied(model, result, more, round),
            Event::SyncFailed { result, kind } => sync::failed_round(model, result, kind),
            Event::SyncCouldNotRun { error } => sync::failed_to_run(error),
            Event::RuntimeFailed { detail } => {
                let text = text::runtime_failed(model.lang, &detail);
                notice(model, NoticeLevel::Error, text);
                render()
            }
        }
    }

    fn view(&self, model: &Model) -> ViewModel {
        view::view(model)
    }
}

fn update_ui(event: UiEvent, model: &mut Model) -> Cmd {
    // A new action replaces the last message, except while waiting for the phone.
    if !matches!(event, UiEvent::Connectivity { .. }) {
        model.notice = None;
    }
    match event {
        UiEvent::Start => load_all(),
        UiEvent::DismissNotice => render(),
        UiEvent::SetLanguage { lang } => {
            model.lang = lang;
            Command::all([
                render(),
                Command::request_from_shell(StoreOperation::SetLanguage(lang)).then_send(
                    |result| Event::Stored {
                        result,
                        success: None,
                    },
                ),
            ])
        }
        UiEvent::UseIdentity { identity } => at_now(
            move |at| StoreOperation::SetIdentity { identity, at },
            |_, result| Event::Stored {
                result,
                success: Some(Text::new(
                    "Identitas pengguna tersimpan",
                    "User identity saved",
                )),
            },
        ),
        UiEvent::InstallForm { json } => match tepat_form::load(&json) {
            Ok(compiled) => {
                let form = compiled.form().clone();
                let title = form.title.clone();
                model
                    .metas
                    .insert((form.id.clone(), form.version), FormMeta::new(compiled));
                at_now(
                    move |at| StoreOperation::InstallForm {
                        form: Box::new(form),
                        at,
                    },
                    move |_, result| Event::Stored {
                        result,
                        success: Some(Text::new(
                            format!("Formulir terpasang: {}", title.id),
                            format!("Form installed: {}", title.en),
                        )),
                    },
                )
            }
            Err(errors) => {
                let problem = say(model.lang, "Formulir tidak valid", "The form is not valid");
                notice(model, NoticeLevel::Error, format!("{problem}: {errors}"));
                render()
            }
        },
        UiEvent::ImportAssignments { assignments } => at_now(
            move |at| StoreOperation::ImportAssignments { assignments, at },
            |_, result| Event::Stored {
                result,
                success: None,
            },
        ),
        UiEvent::ShowToday | UiEvent::CloseVisit => {
            model.visit = None;
            model.showing = Showing::Today;
            reload_today()
        }
        UiEvent::OpenAssignment { assignment_id } => visit::open_assignment(model, &assignment_id),
        UiEvent::OpenVisit { visit_id } => visit::open_visit(model, &visit_id),
        UiEvent::StartNewCase { form_id } => visit::start_new_case(model, &form_id),
        UiEvent::FollowUpCase { visit_id } => case::follow_up_case(model, &visit_id),
        UiEvent::StartAsesmenFromReport { visit_id } => {
            report::start_asesmen_from_report(model, &visit_id)
        }
        UiEvent::GoToSection { index } => visit::go_to_section(model, index),
        UiEvent::NextSection => visit::next_section(model, 1),
        UiEvent::PreviousSection => visit::next_section(model, -1),
        UiEvent::OpenMember { repeat_path, index } => visit::open_member(model, repeat_path, index),
        UiEvent::CloseMember => visit::close_member(model),
        UiEvent::Answer { path, text } => visit::answer(model, &path, &text),
        UiEvent::Choose { path, code } => visit::choose(model, &path, &code),
        UiEvent::ChooseRegion { path, code } => visit::choose_region(model, &path, &code),
        UiEvent::Clear { path } => visit::clear(model, &path),
        UiEvent::AddMember { repeat_path } => visit::add_member(model, &repeat_path),
        UiEvent::RemoveMember { repeat_path, index } => {
            visit::remove_member(model, &repeat_path, index)
        }
        UiEvent::CaptureLocation { path } => visit::capture_location(model, path),
        UiEvent::TakePhoto { path } => visit::take_photo(model, path),
        UiEvent::SetNote { path, note } => visit::set_note(model, path, &note),
        UiEvent::ConfirmPage => visit::confirm_page(model),
        UiEvent::ReviewFinalise => visit::review(model),
        UiEvent::Finalise => visit::finalise(model),
        UiEvent::EditAgain => visit::edit_again(model),
        UiEvent::SyncNow => sync::start(model, true),
        UiEvent::Connectivity { online } => {
            if online && model.sync.outbox > model.sync.held {
                sync::start(model, false)
            } else {
                Command::done()
            }
        }
    }
}

/// Reads settings and forms, then today's list.
fn load_all() -> Cmd {
    Command::request_from_shell(StoreOperation::Load).then_send(Event::Loaded)
}

/// Reads the clock, today's list and the sync status.
fn reload_today() -> Cmd {
    Command::new(|ctx| async move {
        let now = ctx.request_from_shell(TimeOperation).await;
        let result = ctx
            .request_from_shell(StoreOperation::Today {
                date: now.date_naive(),
            })
            .await;
        let status = ctx.request_from_shell(StoreOperation::SyncStatus).await;
        ctx.send_event(Event::TodayLoaded {
            now,
            result,
            status,
        });
    })
}

/// Reads the clock, then runs the store operation made with it, then sends the event made of both.
fn at_now<F, G>(make: F, done: G) -> Cmd
where
    F: FnOnce(DateTime<FixedOffset>) -> StoreOperation + Send + 'static,
    G: FnOnce(DateTime<FixedOffset>, StoreOutput) -> Event + Send + 'static,
{
    Command::new(|ctx| async move {
        let now = ctx.request_from_shell(TimeOperation).await;
        let result = ctx.request_from_shell(make(now)).await;
        ctx.send_event(done(now, result));
    })
}

fn notice(model: &mut Model, level: NoticeLevel, text: String) {
    model.notice = Some(Notice { level, text });
}

/// A store answer that was an error (or, from a bug, the wrong reply): say so and show the screen as it is.
fn failed(model: &mut Model, result: StoreOutput) -> Cmd {
    let error = match result {
        Err(error) => error,
        Ok(reply) => StoreError::Corrupt(format!("unexpected store reply {reply:?}")),
    };
    let text = text::store_error(model.lang, &error);
    notice(model, NoticeLevel::Error, text);
    if model.showing == Showing::Loading {
        model.showing = Showing::Today;
    }
    render()
}
