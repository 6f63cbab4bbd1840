//! Hostile request bodies against the real `tepat-server` binary, with its memory read from `/proc/PID/status`:
//! a gzip bomb at the unauthenticated enrolment, a 200,000-member roster, a 15 MB text answer, and bodies past a
//! form's declared limits. Each is refused with a JSON 413/422 naming the limit, and nothing is stored.
//!
//! Memory is measured as the growth of the peak resident set (`VmHWM`) over the resident set when the attack
//! starts: the peak is reset first (`echo 5 > /proc/PID/clear_refs`), so start-up does not hide the attack.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

mod common;

use common::{MIB, Running, admin, form_file, serve_args};

struct Server {
    running: Running,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = Running;

    fn deref(&self) -> &Running {
        &self.running
    }
}

/// A server with the DTSEN form published and one enumerator (`pkh1`, 17.71) with an enrolment code.
fn start() -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "create-user",
            "--id",
            "pkh1",
            "--name",
            "Siti",
            "--role",
            "enumerator",
            "--region",
            "17.71",
        ],
    );
    let form = form_file("dtsen_groundcheck.json");
    admin(&data, &["publish-form", form.to_str().unwrap()]);
    let code = String::from_utf8_lossy(&admin(&data, &["enrol-code", "--user", "pkh1"]).stdout)
        .trim()
        .to_string();
    let mut command = Command::new(common::BIN);
    serve_args(&mut command, &data);
    command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let running = Running::start(command);
    let server = Server {
        running,
        data,
        _dir: dir,
    };
    // Warm up: the runtime's threads and the database connections exist before anything is measured.
    assert_eq!(server.get("/healthz").0, 200);
    (server, code)
}

/// One HTTP answer: status and JSON body.
type Reply = (u16, Value);

impl Server {
    fn get(&self, path: &str) -> Reply {
        self.send(
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            &[],
        )
    }

    fn post(&self, path: &str, token: Option<&str>, body: &[u8], gzip: bool) -> Reply {
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let encoding = if gzip {
            "Content-Encoding: gzip\r\n"
        } else {
            ""
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}{encoding}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        self.send(&head, body)
    }

    fn send(&self, head: &str, body: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer (and stop reading) before the body is all sent: that is a refusal, not an error.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).to_string();
        let status = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {response:?}"));
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let json = serde_json::from_str(body).unwrap_or(Value::Null);
        (status, json)
    }

    fn enrol(&self, code: &str) -> (String, String) {
        let body = json!({"code": code, "device_name": "test"}).to_string();
        let (status, reply) = self.post("/api/v1/enrol", None, body.as_bytes(), false);
        assert_eq!(status, 200, "{reply}");
        (
            reply["device_id"].as_str().unwrap().to_string(),
            reply["token"].as_str().unwrap().to_string(),
        )
    }

    /// Rows of a table in the server's database.
    fn count(&self, table: &str) -> i64 {
        common::count_rows(&self.data, table)
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn sync_body(device: &str, answers: Value) -> Vec<u8> {
    json!({
        "protocol": 1, "device_id": device, "batch_id": "0190a0a0-0000-7000-8000-000000000001", "cursor": 0,
        "visits": [{"visit_id": "0190a0a0-0000-7000-8000-0000000000aa", "revision": 1,
            "form_id": "dtsen_groundcheck", "form_version": 1, "assignment_id": "A-1", "visit_date": "2026-11-20",
            "answers": answers,
            "device_times": {"started_at": "2026-11-20T08:00:00Z", "device_seq": 1}}]
    })
    .to_string()
    .into_bytes()
}

/// Nothing of a refused sync is stored: no visit, no conflict copy, no batch.
fn assert_nothing_stored(server: &Server) {
    for table in ["visits", "conflicts", "batches"] {
        assert_eq!(server.count(table), 0, "{table} after a refused sync");
    }
}

#[test]
fn four_concurrent_enrolment_gzip_bombs_are_refused_with_rss_growth_under_32_mib() {
    let (server, _) = start();
    // ~16 KB of gzip that unpacks to 16 MiB of `[0,0,…]`.
    let mut json = Vec::with_capacity(16 * MIB as usize);
    json.push(b'[');
    while json.len() < 16 * MIB as usize - 2 {
        json.extend_from_slice(b"0,");
    }
    json.extend_from_slice(b"0]");
    let bomb = gzip(&json);
    assert!(bomb.len() < 40_000, "{} bytes of gzip", bomb.len());
    drop(json);

    let before = server.reset_peak();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let attacks: Vec<_> = (0..4)
            .map(|_| s.spawn(|| server.post("/api/v1/enrol", None, &bomb, true)))
            .collect();
        attacks.into_iter().map(|a| a.join().unwrap()).collect()
    });
    let growth = server.memory("VmHWM").saturating_sub(before);
    for (status, body) in &replies {
        assert_eq!(*status, 413, "{body}");
        assert_eq!(body["error"], "body_too_large", "{body}");
        assert_eq!(body["limit"], 4096, "{body}");
    }
    assert!(
        growth <= 32 * MIB,
        "peak RSS grew by {} KiB under four enrolment bombs (limit 32 MiB)",
        growth / 1024
    );
    eprintln!(
        "four enrolment bombs: peak RSS growth {} KiB",
        growth / 1024
    );
}

#[test]
fn an_enrolment_bomb_small_enough_to_send_is_stopped_at_the_unpacked_limit() {
    let (server, _) = start();
    // Under 4 KiB as sent, 3 MiB unpacked: refused at 4 KiB of output, not after unpacking it all.
    let mut json = b"{\"code\":\"".to_vec();
    json.resize(3 * MIB as usize, b'A');
    let bomb = gzip(&json);
    assert!(bomb.len() < 4096, "{} bytes of gzip", bomb.len());
    let (status, body) = server.post("/api/v1/enrol", None, &bomb, true);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "decompressed_too_large", "{body}");
    assert_eq!(body["limit"], 4096, "{body}");
    assert_eq!(server.count("devices"), 0);
}

#[test]
fn a_visit_with_200000_members_is_refused_within_100_ms_and_16_mib() {
    let (server, code) = start();
    let (device, token) = server.enrol(&code);
    let members = vec![json!({}); 200_000];
    let body = gzip(&sync_body(
        &device,
        json!({"visit_outcome": "1", "members": members}),
    ));
    assert!(body.len() < 10_000, "{} bytes of gzip", body.len());

    let before = server.reset_peak();
    let started = Instant::now();
    let (status, reply) = server.post("/api/v1/sync", Some(&token), &body, true);
    let took = started.elapsed();
    let growth = server.memory("VmHWM").saturating_sub(before);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"], "list_too_long", "{reply}");
    assert_eq!(reply["limit"], 100, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("visits[0].answers.members:")),
        "{reply}"
    );
    // The bound is the issue's; the refusal itself takes a few ms (debug build) — the margin is for a busy CI.
    assert!(
        took < Duration::from_millis(100),
        "refused after {took:?} (limit 100 ms)"
    );
    // The body unpacks to ~600 KB and parsing stops at member 101: 16 MiB is a wide margin over what it needs.
    assert!(
        growth <= 16 * MIB,
        "peak RSS grew by {} KiB (limit 16 MiB)",
        growth / 1024
    );
    eprintln!(
        "200,000-member roster: refused in {took:?}, peak RSS growth {} KiB",
        growth / 1024
    );
    assert_nothing_stored(&server);
}

#[test]
fn a_15_mb_text_answer_is_refused_naming_the_field() {
    let (server, code) = start();
    let (device, token) = server.enrol(&code);
    let body = gzip(&sync_body(
        &device,
        json!({"visit_outcome": "1", "enumerator_note": "x".repeat(15_000_000)}),
    ));
    assert!(body.len() < 40_000, "{} bytes of gzip", body.len());
    let (status, reply) = server.post("/api/v1/sync", Some(&token), &body, true);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"], "text_too_long", "{reply}");
    assert_eq!(reply["limit"], 4000, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("visits[0].answers.enumerator_note:")),
        "{reply}"
    );
    assert_nothing_stored(&server);
}

#[test]
fn answers_past_the_forms_declared_limits_are_refused_before_evaluation() {
    let (server, code) = start();
    let (device, token) = server.enrol(&code);
    // 31 members: within the server-wide 100, beyond the DTSEN form's max_count of 30.
    let members = vec![json!({}); 31];
    let body = sync_body(&device, json!({"visit_outcome": "1", "members": members}));
    let (status, reply) = server.post("/api/v1/sync", Some(&token), &body, false);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"], "list_too_long", "{reply}");
    assert_eq!(reply["limit"], 30, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("visits[0].answers.members:")),
        "{reply}"
    );
    // A member's name past the form's max_length of 100.
    let body = sync_body(
        &device,
        json!({"visit_outcome": "1", "members": [{"member_name": "x".repeat(101)}]}),
    );
    let (status, reply) = server.post("/api/v1/sync", Some(&token), &body, false);
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"], "text_too_long", "{reply}");
    assert_eq!(reply["limit"], 100, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("visits[0].answers.members[0].member_name:")),
        "{reply}"
    );
    assert_nothing_stored(&server);
}

#[test]
fn direction_marks_and_control_characters_in_answers_are_refused() {
    let (server, code) = start();
    let (device, token) = server.enrol(&code);
    for bad in ["Siti\u{202E}", "Siti\u{0}", "\u{200F}Siti", "Si\rti"] {
        let body = sync_body(
            &device,
            json!({"visit_outcome": "1", "respondent_name": bad}),
        );
        let (status, reply) = server.post("/api/v1/sync", Some(&token), &body, false);
        assert_eq!(status, 422, "{bad:?}: {reply}");
        assert_eq!(reply["error"], "invalid_text", "{reply}");
        assert!(
            reply["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("visits[0].answers.respondent_name:")),
            "{reply}"
        );
    }
    assert_nothing_stored(&server);
}
