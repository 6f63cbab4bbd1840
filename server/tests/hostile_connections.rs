//! The real `tepat-server serve` under hostile connections, with its memory read from /proc (issue 10): stalled
//! exports cost a bounded buffer (over HTTP and HTTPS), silent connections are closed within the header timeout while `/healthz`
//! keeps answering (also beyond the connection limit, under a low file limit), busy slots answer 503 with
//! `Retry-After`, and HTTP-level errors carry a JSON body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::{BIN, MIB, Running, admin, serve_args};

/// Starts `serve` with extra flags, through `sh` when the file limit must be lowered first.
fn start(data: &Path, flags: &[&str], file_limit: Option<u32>) -> Running {
    let mut command = match file_limit {
        Some(limit) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    serve_args(&mut command, data);
    command
        .args(["--log-format", "json"])
        .args(flags)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    Running::start(command)
}

/// One request on a new connection, read to the end: (status, headers, body).
fn request(addr: &str, raw: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {response:?}"));
    (status, head.to_string(), body.to_string())
}

fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"),
    )
}

fn post(addr: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, String, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.to_string();
    request(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// `/healthz` answers 200, and how long it took.
fn healthz(addr: &str) -> Duration {
    let started = Instant::now();
    let (status, _, body) = get(addr, "/healthz", None);
    assert_eq!(status, 200, "{body}");
    started.elapsed()
}

const FORM: &str = r#"{"id": "roster", "version": 1, "title": {"id": "Daftar", "en": "Roster"},
  "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
    {"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}},
    {"id": "members", "type": "repeat", "label": {"id": "Anggota", "en": "Members"}, "fields": [
      {"id": "member_name", "type": "text", "label": {"id": "Nama", "en": "Name"}},
      {"id": "note", "type": "text", "label": {"id": "Catatan", "en": "Note"}}]}]}]}"#;

const VISITS: usize = 320;
const MEMBERS: usize = 25;

/// A supervisor's token, over a data directory holding VISITS visits of MEMBERS members, each with two
/// 700-character answers: a members export of over 10 MiB.
fn world(data: &Path, addr: &str) -> String {
    let enrol = |user: &str| {
        let out = admin(data, &["enrol-code", "--user", user]);
        let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (status, _, body) = post(
            addr,
            "/api/v1/enrol",
            None,
            &json!({"code": code, "device_name": "test"}),
        );
        assert_eq!(status, 200, "{body}");
        let enrolled: Value = serde_json::from_str(&body).unwrap();
        (
            enrolled["device_id"].as_str().unwrap().to_string(),
            enrolled["token"].as_str().unwrap().to_string(),
        )
    };
    let (device, token) = enrol("enum");
    let today = chrono::Utc::now().date_naive().to_string();
    let words = "Siti Aminah binti Abdullah, tinggal di RT 03 RW 02 dekat masjid. ";
    let long = |n: usize| words.repeat(n / words.len() + 1)[..n].to_string();
    for (batch, chunk) in (0..VISITS).collect::<Vec<_>>().chunks(20).enumerate() {
        let visits: Vec<Value> = chunk
            .iter()
            .map(|i| {
                let members: Vec<Value> = (0..MEMBERS)
                    .map(|m| json!({"member_name": format!("{m} {}", long(700)), "note": long(700)}))
                    .collect();
                json!({
                    "visit_id": uuid::Uuid::now_v7(), "revision": 1, "form_id": "roster", "form_version": 1,
                    "assignment_id": format!("R-{i}"), "visit_date": today,
                    "answers": {"name": format!("Rumah {i}"), "members": members},
                    "device_times": {"started_at": "2026-11-20T08:00:00Z", "device_seq": i + 1}
                })
            })
            .collect();
        let (status, _, body) = post(
            addr,
            "/api/v1/sync",
            Some(&token),
            &json!({"protocol": 1, "device_id": device, "batch_id": uuid::Uuid::now_v7(), "cursor": 0,
                    "visits": visits}),
        );
        assert_eq!(status, 200, "batch {batch}: {body}");
        assert_eq!(
            body.matches(r#""status":"accepted""#).count(),
            chunk.len(),
            "batch {batch}: {body}"
        );
    }
    enrol("sup").1
}

/// Users, form and one assignment per visit; the server is started on the same directory afterwards.
fn prepare(data: &Path) {
    admin(
        data,
        &[
            "create-user",
            "--id",
            "sup",
            "--name",
            "Supervisor",
            "--role",
            "supervisor",
            "--region",
            "17.71",
        ],
    );
    admin(
        data,
        &[
            "create-user",
            "--id",
            "enum",
            "--name",
            "Enumerator",
            "--role",
            "enumerator",
            "--region",
            "17.71.01",
        ],
    );
    let dir = data.parent().unwrap();
    let form = dir.join("roster.json");
    std::fs::write(&form, FORM).unwrap();
    admin(data, &["publish-form", form.to_str().unwrap()]);
    let mut csv = String::from("assignment_id,user_id,form_id,form_version,region_code,label\n");
    for i in 0..VISITS {
        csv.push_str(&format!("R-{i},enum,roster,1,17.71.01.1001,Rumah {i}\n"));
    }
    let file = dir.join("assignments.csv");
    std::fs::write(&file, csv).unwrap();
    admin(data, &["import-assignments", file.to_str().unwrap()]);
}

const EXPORT: &str = "/api/v1/supervisor/export/members.csv?form_id=roster";

/// Sends an export request on `stream` and reads only the status line: the client then stops reading.
fn stall_export<S: Read + Write>(mut stream: S, host: &str, token: &str) -> S {
    write!(
        stream,
        "GET {EXPORT} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(
        &status,
        b"HTTP/1.1 200",
        "{}",
        String::from_utf8_lossy(&status)
    );
    stream
}

/// An export over plain HTTP whose client reads the status line and then stops reading.
fn stalled_export(addr: &str, token: &str) -> TcpStream {
    stall_export(TcpStream::connect(addr).unwrap(), "x", token)
}

#[test]
fn forty_stalled_exports_keep_rss_under_200_mib_and_a_slot_limit_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    prepare(&data);
    let server = start(&data, &[], None);
    let token = world(&data, &server.addr);

    // One export read whole: its size makes the bound meaningful (40 of them could not sit in 200 MiB).
    let (status, _, body) = get(&server.addr, EXPORT, Some(&token));
    assert_eq!(status, 200);
    let export_bytes = body.len() as u64;
    assert!(
        export_bytes * 40 >= 2 * 200 * MIB,
        "each export must be large: {export_bytes} bytes"
    );
    drop(server);

    // A fresh process, so its peak measures the stalled exports, not the set-up.
    let server = start(&data, &[], None);
    let before = server.memory("VmRSS");
    let stalled: Vec<TcpStream> = (0..40)
        .map(|_| stalled_export(&server.addr, &token))
        .collect();
    // Let every writer fill what buffers it may, and check the server stays responsive meanwhile.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(300));
        assert!(healthz(&server.addr) < Duration::from_secs(1));
    }
    let peak = server.memory("VmHWM");
    eprintln!(
        "40 stalled exports of {:.1} MiB: RSS {:.1} MiB before, peak {:.1} MiB",
        export_bytes as f64 / MIB as f64,
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert!(
        peak <= 200 * MIB,
        "peak RSS {peak} bytes with 40 stalled exports"
    );
    drop(stalled);
    drop(server);

    // Two slots, both held by stalled exports: the next request waits 200 ms, then is refused.
    let server = start(
        &data,
        &["--max-concurrent-requests", "2", "--queue-wait-ms", "200"],
        None,
    );
    let held: Vec<TcpStream> = (0..2)
        .map(|_| stalled_export(&server.addr, &token))
        .collect();
    let started = Instant::now();
    let (status, head, body) = get(&server.addr, "/healthz", None);
    assert_eq!(status, 503, "{head}\n{body}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(
        head.to_ascii_lowercase().contains("\r\nretry-after: 2"),
        "{head}"
    );
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"], "busy", "{body}");
    // A stalled client that goes away frees its slot.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = get(&server.addr, "/healthz", None);
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "slots never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads one response with a Content-Length body from a kept-alive connection (byte by byte, so nothing after
/// it is consumed); returns its status line.
fn read_response(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head.lines().next().unwrap_or_default().to_string()
}

/// Opens `count` connections that never send a byte, each with the moment it was connected.
fn silent(addr: &str, count: usize) -> Vec<(TcpStream, Instant)> {
    (0..count)
        .map(|_| (TcpStream::connect(addr).unwrap(), Instant::now()))
        .collect()
}

/// Whether the server has closed the connection (EOF or reset), waiting up to `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn five_hundred_silent_connections_are_closed_within_the_header_timeout_while_healthz_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        &dir.path().join("data"),
        &["--header-timeout-secs", "2"],
        None,
    );
    let opened = Instant::now();
    let mut connections = silent(&server.addr, 500);
    eprintln!("500 connections opened in {:?}", opened.elapsed());
    // Throughout the header timeout, /healthz answers at once.
    while opened.elapsed() < Duration::from_millis(1800) {
        let took = healthz(&server.addr);
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every one is closed by the server within the 2 s header timeout of its connect (0.5 s allowed for the
    // watchdog's wake-up and scheduling on a loaded machine).
    for (i, (connection, connected)) in connections.iter_mut().enumerate() {
        let deadline = *connected + Duration::from_millis(2500);
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        assert!(
            closed_within(connection, wait),
            "connection {i} still open {:?} after it was connected",
            connected.elapsed()
        );
    }
    assert!(healthz(&server.addr) < Duration::from_secs(1));

    // A trickle of header bytes does not extend the timeout.
    let mut trickle = TcpStream::connect(&server.addr).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n".iter() {
        if trickle.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if started.elapsed() > Duration::from_secs(4) {
            break;
        }
    }
    assert!(
        closed || closed_within(&mut trickle, Duration::from_secs(1)),
        "a trickled head kept its connection {:?}",
        started.elapsed()
    );
}

#[test]
fn beyond_the_connection_limit_silent_connections_make_room_and_healthz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    // 512 descriptors: the connection limit falls to 512 - 64 - (2 × (64 + 10) + 1) = 299, well under 500.
    let server = start(
        &dir.path().join("data"),
        &["--header-timeout-secs", "30"],
        Some(512),
    );
    let mut connections = silent(&server.addr, 500);
    for _ in 0..10 {
        let took = healthz(&server.addr);
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    }
    // The oldest silent connections were closed to make room (long before their 30 s header timeout).
    assert!(closed_within(&mut connections[0].0, Duration::from_secs(2)));
    // A kept-alive client is served on the same connection, twice.
    let mut phone = TcpStream::connect(&server.addr).unwrap();
    phone
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for _ in 0..2 {
        phone
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let status = read_response(&mut phone);
        assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    }
    // The server survived: new connections still get answers.
    assert!(healthz(&server.addr) < Duration::from_secs(1));
}

#[test]
fn http_level_errors_answer_with_a_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"), &[], None);
    let cases = [
        (
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad\u{1}: y\r\n\r\n".to_string(),
            400,
            "bad_request",
        ),
        (
            "POST /api/v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
                .to_string(),
            400,
            "bad_request",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(20_000)
            ),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..100).map(|i| format!("X-{i}: y\r\n")).collect::<String>()
            ),
            431,
            "headers_too_large",
        ),
    ];
    for (raw, status, code) in cases {
        let (got, head, body) = request(&server.addr, &raw);
        assert_eq!(got, status, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let error: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {head}\n{body}"));
        assert_eq!(error["error"], code, "{body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(healthz(&server.addr) < Duration::from_secs(1));
}

#[test]
fn request_and_idle_timeouts_close_slow_uploads_idle_connections_and_stalled_responses() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    prepare(&data);
    let token = world(&data, &start(&data, &[], None).addr);
    let server = start(
        &data,
        &[
            "--request-timeout-secs",
            "1",
            "--idle-timeout-secs",
            "2",
            "--max-concurrent-requests",
            "1",
            "--queue-wait-ms",
            "100",
        ],
        None,
    );

    // A body that stops half-way: 408 with a JSON body after the request timeout, and the connection closes.
    let mut upload = TcpStream::connect(&server.addr).unwrap();
    upload
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    upload
        .write_all(
            b"POST /api/v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":",
        )
        .unwrap();
    let mut answer = String::new();
    let _ = upload.read_to_string(&mut answer);
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let error: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(error["error"], "request_timeout");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // A kept-alive connection that sends nothing more is closed after the idle timeout, not before.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let status = read_response(&mut idle);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let answered = Instant::now();
    assert!(!closed_within(&mut idle, Duration::from_millis(1000)));
    assert!(closed_within(&mut idle, Duration::from_secs(3)));
    let idle_for = answered.elapsed();
    assert!(
        idle_for >= Duration::from_millis(1500) && idle_for < Duration::from_secs(4),
        "closed after {idle_for:?}"
    );

    // An export whose client stopped reading holds the only slot until the idle timeout cuts it.
    let stalled = stalled_export(&server.addr, &token);
    let (status, _, _) = get(&server.addr, "/healthz", None);
    assert_eq!(status, 503, "the stalled export holds the only slot");
    let cut = Instant::now();
    loop {
        let (status, _, _) = get(&server.addr, "/healthz", None);
        if status == 200 {
            break;
        }
        assert!(
            cut.elapsed() < Duration::from_secs(8),
            "the stalled export was never cut"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(stalled);
}

/// An export over HTTPS whose client reads the status line and then stops reading.
fn stalled_tls_export(
    addr: &str,
    token: &str,
    config: &std::sync::Arc<rustls::ClientConfig>,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let stream = rustls::StreamOwned::new(connection, TcpStream::connect(addr).unwrap());
    stall_export(stream, "localhost", token)
}

#[test]
fn forty_stalled_exports_over_tls_keep_rss_under_200_mib() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    prepare(&data);
    let token = world(&data, &start(&data, &[], None).addr);

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_file, key_file) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );

    let server = start(
        &data,
        &[
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    let before = server.memory("VmRSS");
    let stalled: Vec<_> = (0..40)
        .map(|_| stalled_tls_export(&server.addr, &token, &config))
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let peak = server.memory("VmHWM");
    eprintln!(
        "40 stalled exports over TLS: RSS {:.1} MiB before, peak {:.1} MiB",
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert!(
        peak <= 200 * MIB,
        "peak RSS {peak} bytes with 40 stalled exports over TLS"
    );
    drop(stalled);
}
