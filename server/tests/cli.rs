//! The `tepat-server` binary: admin commands and `serve` (address on stdout, JSON logs, graceful shutdown that
//! finishes a batch in flight).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{ChildStderr, Command, Output, Stdio};

mod common;

// Here admin commands are expected to fail too: each test reads the outcome.
use common::{BIN, Running, admin_output as admin, serve_args};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

const FORM: &str = r#"{"id": "mini", "version": 1, "title": {"id": "Mini", "en": "Mini"},
  "sections": [{"id": "s", "title": {"id": "S", "en": "S"},
    "fields": [{"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}}]}]}"#;

#[test]
fn admin_commands_report_success_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = admin(
        &data,
        &[
            "create-user",
            "--id",
            "pkh1",
            "--name",
            "Siti Ma'rifah",
            "--role",
            "enumerator",
            "--region",
            "17.71.01",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("created enumerator pkh1"));

    let out = admin(
        &data,
        &[
            "create-user",
            "--id",
            "pkh2",
            "--name",
            "X",
            "--role",
            "enumerator",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--region"), "{}", stderr(&out));
    let out = admin(
        &data,
        &[
            "create-user",
            "--id",
            "pkh2",
            "--name",
            "X",
            "--role",
            "supervisor",
            "--region",
            "17.7",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a region code"),
        "{}",
        stderr(&out)
    );
    let out = admin(
        &data,
        &[
            "create-user",
            "--id",
            "pkh1",
            "--name",
            "Again",
            "--role",
            "enumerator",
            "--region",
            "17.71",
        ],
    );
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let form = dir.path().join("form.json");
    std::fs::write(&form, FORM).unwrap();
    let out = admin(&data, &["publish-form", form.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "published mini version 1");
    std::fs::write(&form, FORM.replace("Mini", "Changed")).unwrap();
    let out = admin(&data, &["publish-form", form.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("immutable"), "{}", stderr(&out));
    std::fs::write(&form, FORM.replace("\"text\"", "\"textarea\"")).unwrap();
    let out = admin(&data, &["publish-form", form.to_str().unwrap()]);
    assert!(!out.status.success());

    let csv = dir.path().join("a.csv");
    std::fs::write(&csv, "assignment_id,user_id,form_id,form_version,region_code,label\nX-1,pkh1,mini,1,17.71.01.1001,Rumah 1\nX-2,nobody,mini,1,17.71.01.1001,Rumah 2\n").unwrap();
    let out = admin(&data, &["import-assignments", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 3, column user_id: unknown user \"nobody\""),
        "{}",
        stderr(&out)
    );
    std::fs::write(&csv, "assignment_id,user_id,form_id,form_version,region_code,label\nX-1,pkh1,mini,1,17.71.01.1001,Rumah 1\n").unwrap();
    let out = admin(&data, &["import-assignments", csv.to_str().unwrap()]);
    assert_eq!(stdout(&out), "imported 1 assignment(s); 0 unchanged");
    let out = admin(&data, &["import-assignments", csv.to_str().unwrap()]);
    assert_eq!(stdout(&out), "imported 0 assignment(s); 1 unchanged");
    let out = admin(&data, &["withdraw-assignment", "X-1"]);
    assert_eq!(stdout(&out), "withdrew X-1");

    let out = admin(&data, &["enrol-code", "--user", "pkh1"]);
    let code = stdout(&out);
    assert_eq!(code.len(), 14, "{code}");
    let out = admin(&data, &["enrol-code", "--user", "ghost"]);
    assert!(!out.status.success());

    let out = admin(&data, &["list-users"]);
    assert!(
        stdout(&out).contains("pkh1\tenumerator\tSiti Ma'rifah\tregions: 17.71.01\tdevices: 0"),
        "{}",
        stdout(&out)
    );
    let out = admin(&data, &["revoke-device", "dev-none"]);
    assert!(stderr(&out).contains("unknown device"), "{}", stderr(&out));
}

struct Server {
    running: Running,
    logs: BufReader<ChildStderr>,
}

impl std::ops::Deref for Server {
    type Target = Running;

    fn deref(&self) -> &Running {
        &self.running
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Running {
        &mut self.running
    }
}

fn start(data: &Path) -> Server {
    let mut command = Command::new(BIN);
    serve_args(&mut command, data);
    command
        .args(["--log-format", "json"])
        .stderr(Stdio::piped());
    let mut running = Running::start(command);
    let logs = BufReader::new(running.child.stderr.take().unwrap());
    Server { running, logs }
}

impl Server {
    /// Reads JSON log lines until one has this message; every line must be JSON.
    fn wait_for_log(&mut self, message: &str) -> serde_json::Value {
        loop {
            let mut line = String::new();
            assert!(
                self.logs.read_line(&mut line).unwrap() > 0,
                "log ended before {message:?}"
            );
            let value: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if value["message"] == message {
                return value;
            }
        }
    }
}

fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_prints_its_address_logs_json_and_finishes_a_batch_in_flight_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &data,
        &[
            "create-user",
            "--id",
            "tksk",
            "--name",
            "T",
            "--role",
            "assessor",
            "--region",
            "17.71",
        ],
    );
    let form = dir.path().join("form.json");
    std::fs::write(&form, FORM).unwrap();
    admin(&data, &["publish-form", form.to_str().unwrap()]);
    let code = stdout(&admin(&data, &["enrol-code", "--user", "tksk"]));

    let mut server = start(&data);
    server.wait_for_log("listening");
    let health = http(
        &server.addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let request_log = server.wait_for_log("request");
    assert_eq!(request_log["path"], "/healthz");
    assert_eq!(request_log["status"], 200);

    let body = format!(r#"{{"code":"{code}","device_name":"cli test"}}"#);
    let enrol = http(
        &server.addr,
        &format!(
            "POST /api/v1/enrol HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    let json = enrol.split("\r\n\r\n").nth(1).unwrap();
    let enrolled: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {enrol}"));
    let (device, token) = (
        enrolled["device_id"].as_str().unwrap(),
        enrolled["token"].as_str().unwrap(),
    );
    assert!(
        !common::stored_bytes(&data)
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );

    // A sync whose body is only half sent when SIGTERM arrives.
    let sync = serde_json::json!({
        "protocol": 1, "device_id": device, "batch_id": "0190a0a0-0000-7000-8000-000000000001", "cursor": 0,
        "visits": [{"visit_id": "0190a0a0-0000-7000-8000-0000000000aa", "revision": 1, "form_id": "mini",
            "form_version": 1, "visit_date": "2026-11-20", "answers": {"name": "Andi"},
            "device_times": {"started_at": "2026-11-20T08:00:00Z", "device_seq": 1}}]
    })
    .to_string();
    let (head, tail) = sync.split_at(sync.len() / 2);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        sync.len()
    )
    .unwrap();
    stream.flush().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait_for_log("SIGTERM: shutting down");
    stream.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"accepted""#), "{response}");
    server.wait_for_log("stopped: in-flight requests finished");
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    // The batch is on disk.
    let mut restarted = start(&data);
    restarted.wait_for_log("listening");
    let body = sync;
    let again = http(
        &restarted.addr,
        &format!(
            "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(
        again.contains(r#""status":"accepted""#),
        "the re-sent batch gets its stored receipts: {again}"
    );
    Command::new("kill")
        .args(["-INT", &restarted.child.id().to_string()])
        .status()
        .unwrap();
    restarted.wait_for_log("SIGINT: shutting down");
    assert!(restarted.child.wait().unwrap().success());
}
