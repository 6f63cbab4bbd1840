//! What the phone answers for a visit: a GPS fix, a photo.

use crux_core::{Command, render::render};
use serde_json::json;

use crate::effects::{CameraOperation, CameraOutput, LocationOperation, LocationOutput};
use crate::event::Event;
use crate::text::say;
use crate::view_model::NoticeLevel;
use crate::{Cmd, Model, notice};
use tepat_form::FieldType;

use super::Waiting;
use super::answer::{check_answerable, set_value};

/// Asks the phone for the answer at `path` (GPS, camera), showing that the visit waits for it.
fn ask_phone(
    model: &mut Model,
    path: &str,
    kind: FieldType,
    waiting: Waiting,
    request: Cmd,
) -> Cmd {
    if !check_answerable(model, path, &[kind]) {
        return render();
    }
    if let Some(visit) = model.visit.as_mut() {
        visit.waiting = Some(waiting);
    }
    Command::all([render(), request])
}

/// The phone answered: the visit no longer waits for it.
fn answered(model: &mut Model, waiting: &Waiting) {
    if let Some(visit) = model.visit.as_mut()
        && visit.waiting.as_ref() == Some(waiting)
    {
        visit.waiting = None;
    }
}

pub fn capture_location(model: &mut Model, path: String) -> Cmd {
    let waiting = Waiting::Location(path.clone());
    let request =
        Command::request_from_shell(LocationOperation { path: path.clone() }).then_send({
            let path = path.clone();
            move |output| Event::LocationReceived { path, output }
        });
    ask_phone(model, &path, FieldType::Geopoint, waiting, request)
}

pub fn location_received(model: &mut Model, path: String, output: LocationOutput) -> Cmd {
    let lang = model.lang;
    answered(model, &Waiting::Location(path.clone()));
    match output {
        LocationOutput::Fix {
            lat,
            lon,
            accuracy_m,
        } => {
            if !check_answerable(model, &path, &[FieldType::Geopoint]) {
                return render();
            }
            let typed = format!("{lat}, {lon} ±{accuracy_m} m");
            set_value(
                model,
                &path,
                &typed,
                json!({"lat": lat, "lon": lon, "accuracy_m": accuracy_m}),
            )
        }
        LocationOutput::Unavailable { reason } => {
            let text = say(
                lang,
                "Lokasi GPS tidak didapat. Coba di tempat terbuka, atau ketik koordinat",
                "No GPS fix. Try in the open, or type the coordinates",
            );
            notice(model, NoticeLevel::Warning, format!("{text} ({reason})"));
            render()
        }
    }
}

pub fn take_photo(model: &mut Model, path: String) -> Cmd {
    let waiting = Waiting::Photo(path.clone());
    let request = Command::request_from_shell(CameraOperation { path: path.clone() }).then_send({
        let path = path.clone();
        move |output| Event::PhotoReceived { path, output }
    });
    ask_phone(model, &path, FieldType::Photo, waiting, request)
}

pub fn photo_received(model: &mut Model, path: String, output: CameraOutput) -> Cmd {
    let lang = model.lang;
    answered(model, &Waiting::Photo(path.clone()));
    match output {
        CameraOutput::Photo { file, sha256 } => {
            if !check_answerable(model, &path, &[FieldType::Photo]) {
                return render();
            }
            set_value(model, &path, &file, json!({"file": file, "sha256": sha256}))
        }
        CameraOutput::Cancelled => render(),
        CameraOutput::Failed { reason } => {
            let text = say(
                lang,
                "Foto tidak dapat diambil",
                "The photo could not be taken",
            );
            notice(model, NoticeLevel::Warning, format!("{text}: {reason}"));
            render()
        }
    }
}
