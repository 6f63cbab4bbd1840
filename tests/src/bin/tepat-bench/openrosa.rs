//! What ODK Collect sends to an OpenRosa server (ODK Central) for the same visits, built byte for byte.
//!
//! Per visit Collect issues a `HEAD` to the submission URL (its `uriRemap` cache is only filled when the `204`
//! carries a `Location`, which Central's does not), then one `multipart/form-data` `POST` whose single part is the
//! XForms instance (`xml_submission_file`, `text/xml`). The instance has one element per form field in form order,
//! sections as group elements, one element per repeat member, empty elements for unanswered, hidden and note
//! fields, calculated values, and `<meta><instanceID>`. No gzip (Collect does not compress submissions). Headers are
//! those OkHttp and Collect set (Host, User-Agent, X-OpenRosa-Version, Date, Content-Type, Content-Length,
//! Connection, Accept-Encoding); Central's app-user key is in the path, so no Authorization header and no 401
//! challenge (ODK Aggregate's Digest auth would add one per connection). Responses carry only the headers the
//! protocol needs. Photos are left out on both sides (text data only).

use std::fmt::Write as _;

use serde_json::{Map, Value};
use tepat_form::{CompiledForm, Field, FieldType};
use tepat_protocol::VisitDoc;

const USER_AGENT: &str = "org.odk.collect.android/v2024.2.4 Dalvik/2.1.0 (Linux; U; Android 10; SM-A105F Build/QP1A.190711.020)";
/// Central's app-user submission path: a 64-character key, the project, then the well-known `/submission`.
const SUBMISSION_PATH: &str = "/v1/key/Wd2hQnVwGx2m0Kq7bC5sF1yPzR8tL3eJ9aUoN6vM4iXkD0cHgE7fTbY2sA5rQ1wZ/projects/1/submission";
const DEVICE_ID: &str = "collect%3AB9vaDDgdWRXdKpkB";
const DATE: &str = "Mon, 23 Nov 2026 10:15:02 GMT+00:00";
const BOUNDARY: &str = "4f0f5a63-2a1e-4c59-9d6b-0c8e5d1b7a42";
const RESPONSE_BODY: &str = "<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\" items=\"0\">\n  <message nature=\"\">full submission upload was successful!</message>\n</OpenRosaResponse>";

/// Bytes and round trips of one OpenRosa upload of a day's visits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Upload {
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub round_trips: u64,
    /// Bytes of the XML instances alone.
    pub xml_bytes: u64,
    /// Bytes of the `HEAD` exchanges (requests and responses).
    pub head_bytes: u64,
}

impl Upload {
    pub fn total(&self) -> u64 {
        self.request_bytes + self.response_bytes
    }
}

/// The upload of `visits` as Collect does it, to a server reached as `host` (the same host header as ours).
pub fn upload(form: &CompiledForm, visits: &[VisitDoc], host: &str) -> Upload {
    let mut up = Upload::default();
    for doc in visits {
        let head = head_request(host);
        let head_answer = head_response();
        up.head_bytes += (head.len() + head_answer.len()) as u64;
        up.request_bytes += head.len() as u64;
        up.response_bytes += head_answer.len() as u64;
        let xml = instance_xml(form, doc);
        up.xml_bytes += xml.len() as u64;
        let post = post_request(host, &instance_name(doc), &xml);
        up.request_bytes += post.len() as u64;
        up.response_bytes += post_response().len() as u64;
        up.round_trips += 2;
    }
    up
}

fn head_request(host: &str) -> String {
    format!(
        "HEAD {SUBMISSION_PATH}?deviceID={DEVICE_ID} HTTP/1.1\r\nUser-Agent: {USER_AGENT}\r\nX-OpenRosa-Version: 1.0\r\n\
         Date: {DATE}\r\nHost: {host}\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\n\r\n"
    )
}

fn head_response() -> String {
    format!(
        "HTTP/1.1 204 No Content\r\nDate: {DATE}\r\nConnection: keep-alive\r\nX-OpenRosa-Version: 1.0\r\n\
         X-OpenRosa-Accept-Content-Length: 104857600\r\n\r\n"
    )
}

fn post_request(host: &str, file_name: &str, xml: &str) -> String {
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}\r\n--{BOUNDARY}--\r\n",
        xml.len()
    );
    format!(
        "POST {SUBMISSION_PATH}?deviceID={DEVICE_ID} HTTP/1.1\r\nUser-Agent: {USER_AGENT}\r\nX-OpenRosa-Version: 1.0\r\n\
         Date: {DATE}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\
         Host: {host}\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\n\r\n{body}",
        body.len()
    )
}

/// The `HEAD` Collect sends before each submission, and the server's answer.
pub fn head_exchange(host: &str) -> (Vec<u8>, Vec<u8>) {
    (
        head_request(host).into_bytes(),
        head_response().into_bytes(),
    )
}

/// One submission with its photos as Collect posts it: a `multipart/form-data` POST whose parts are the XForms
/// instance and then each attachment (`name` and `filename` the file's name, `image/jpeg`), all in one body.
/// After a failed POST Collect sends this whole request again.
pub fn post_with_attachments(
    host: &str,
    form: &CompiledForm,
    doc: &VisitDoc,
    attachments: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let xml = instance_xml(form, doc);
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; filename=\"{}\"\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}\r\n",
        instance_name(doc),
        xml.len()
    )
    .into_bytes();
    for (name, jpeg) in attachments {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
                 Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                jpeg.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(jpeg);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let mut request = format!(
        "POST {SUBMISSION_PATH}?deviceID={DEVICE_ID} HTTP/1.1\r\nUser-Agent: {USER_AGENT}\r\nX-OpenRosa-Version: 1.0\r\n\
         Date: {DATE}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\
         Host: {host}\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// The server's answer to a stored submission.
pub fn post_answer() -> Vec<u8> {
    post_response().into_bytes()
}

fn post_response() -> String {
    format!(
        "HTTP/1.1 201 Created\r\nDate: {DATE}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: keep-alive\r\nX-OpenRosa-Version: 1.0\r\n\r\n{RESPONSE_BODY}",
        RESPONSE_BODY.len()
    )
}

/// Collect names the instance file after the form and the time it was started.
fn instance_name(doc: &VisitDoc) -> String {
    format!(
        "{}_{}.xml",
        doc.form_id,
        doc.device_times.started_at.format("%Y-%m-%d_%H-%M-%S")
    )
}

/// The XForms instance of `doc`, as Collect serialises it.
pub fn instance_xml(form: &CompiledForm, doc: &VisitDoc) -> String {
    let calculated = form
        .session(doc.answers.clone(), doc.visit_date)
        .map(|s| s.calculated())
        .unwrap_or_default();
    let definition = form.form();
    let mut xml = format!(
        "<?xml version='1.0' ?><data id=\"{}\" version=\"{}\" xmlns:jr=\"http://openrosa.org/javarosa\" \
         xmlns:orx=\"http://openrosa.org/xforms\">",
        definition.id, definition.version
    );
    for section in &definition.sections {
        let _ = write!(xml, "<{}>", section.id);
        fields(&mut xml, &section.fields, &doc.answers, &calculated);
        let _ = write!(xml, "</{}>", section.id);
    }
    let _ = write!(
        xml,
        "<meta><instanceID>uuid:{}</instanceID></meta></data>",
        doc.visit_id
    );
    xml
}

fn fields(
    xml: &mut String,
    list: &[Field],
    answers: &Map<String, Value>,
    calculated: &Map<String, Value>,
) {
    for field in list {
        if field.kind == FieldType::Repeat {
            let members = answers.get(&field.id).and_then(Value::as_array);
            let computed = calculated.get(&field.id).and_then(Value::as_array);
            let empty = Map::new();
            for (i, member) in members.into_iter().flatten().enumerate() {
                let member = member.as_object().unwrap_or(&empty);
                let member_calc = computed
                    .and_then(|c| c.get(i))
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let _ = write!(xml, "<{}>", field.id);
                fields(xml, &field.fields, member, member_calc);
                let _ = write!(xml, "</{}>", field.id);
            }
            continue;
        }
        let value = answers.get(&field.id).or_else(|| calculated.get(&field.id));
        match value.map(text).filter(|t| !t.is_empty()) {
            Some(t) => {
                let _ = write!(xml, "<{0}>{1}</{0}>", field.id, escape(&t));
            }
            None => {
                let _ = write!(xml, "<{}/>", field.id);
            }
        }
    }
}

/// An answer as XForms text: codes space-separated, geopoints `lat lon alt accuracy`, photos by file name as
/// Collect names them (milliseconds since the epoch).
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        Value::Object(o) if o.contains_key("lat") => format!(
            "{} {} 0.0 {}",
            o.get("lat").map(text).unwrap_or_default(),
            o.get("lon").map(text).unwrap_or_default(),
            o.get("accuracy_m").map(text).unwrap_or_default()
        ),
        Value::Object(o) if o.contains_key("file") => "1763885702123.jpg".to_string(),
        Value::Object(_) => value.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_post_counts_its_own_body() {
        let post = post_request("127.0.0.1:8080", "f.xml", "<data/>");
        let (head, body) = post.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        assert!(body.contains("name=\"xml_submission_file\""));
        let answer = post_response();
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        assert_eq!(body.len(), RESPONSE_BODY.len());
    }

    #[test]
    fn a_submission_with_photos_carries_each_whole_and_counts_its_body() {
        let form = crate::household::dtsen().unwrap();
        let mut generator = tepat_synth::Generator::new(3);
        let assignment = generator.assignments("17.71", 1).unwrap().remove(0);
        let doc = generator
            .visit_for(&assignment, tepat_synth::Outcome::Found)
            .unwrap();
        let photos = vec![
            (
                "1.jpg".to_string(),
                vec![0xFF, 0xD8, b'\r', b'\n', 0, 0xFF, 0xD9],
            ),
            ("2.jpg".to_string(), vec![7; 1000]),
        ];
        let post = post_with_attachments("127.0.0.1:8080", &form, &doc, &photos);
        let end = post.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&post[..end]).unwrap();
        let body = &post[end + 4..];
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        assert!(contains(instance_xml(&form, &doc).as_bytes()));
        for (name, jpeg) in &photos {
            let mut part = format!(
                "name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                jpeg.len()
            )
            .into_bytes();
            part.extend_from_slice(jpeg);
            part.extend_from_slice(format!("\r\n--{BOUNDARY}").as_bytes());
            assert!(contains(&part), "part {name}");
        }
        assert!(body.ends_with(format!("--{BOUNDARY}--\r\n").as_bytes()));
    }

    #[test]
    fn answers_become_xforms_text() {
        assert_eq!(text(&serde_json::json!(["1", "3"])), "1 3");
        assert_eq!(
            text(&serde_json::json!({"lat": -3.8, "lon": 102.3, "accuracy_m": 4.0})),
            "-3.8 102.3 0.0 4.0"
        );
        assert_eq!(escape("a<b & c"), "a&lt;b &amp; c");
    }
}
