//! `tepat-server serve --tls-cert --tls-key`: HTTPS from the real binary with a throw-away CA made here, a
//! certificate reloaded on SIGHUP and when its files change (a bad one is refused and the old one kept), and
//! clients that do not speak TLS 1.2+ refused without harm to the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};

mod common;

use common::{BIN, Running, serve_args};

/// A throw-away certificate authority.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for localhost and 127.0.0.1: (chain PEM, key PEM, leaf DER).
    fn leaf(&self) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

struct Server {
    running: Running,
    logs: Receiver<serde_json::Value>,
}

impl std::ops::Deref for Server {
    type Target = Running;

    fn deref(&self) -> &Running {
        &self.running
    }
}

fn start(data: &Path, cert: &Path, key: &Path) -> Server {
    let mut command = Command::new(BIN);
    serve_args(&mut command, data);
    command
        .args(["--log-format", "json", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stderr(Stdio::piped());
    let mut running = Running::start(command);
    assert!(running.https, "HTTPS announced");
    let (sender, logs) = channel();
    let stderr = BufReader::new(running.child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { return };
            let value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if sender.send(value).is_err() {
                return;
            }
        }
    });
    Server { running, logs }
}

impl Server {
    /// The next log line with this message (and these fields), within 20 s.
    fn wait_for_log(&self, message: &str, fields: &[(&str, &str)]) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(line)
                    if line["message"] == message && fields.iter().all(|(k, v)| line[*k] == *v) =>
                {
                    return line;
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no log {message:?} {fields:?} in 20 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("log ended before {message:?}"),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// `GET path` over HTTPS trusting only `ca`: the response and the certificate the server showed.
fn https_get(addr: &str, ca: &Ca, path: &str) -> Result<(String, Vec<u8>), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut socket);
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Err(tls_error(e));
    }
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // The server may close without close_notify once the response is complete.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(tls_error(e)),
    }
    let leaf = tls
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    Ok((String::from_utf8_lossy(&response).into_owned(), leaf))
}

fn tls_error(e: std::io::Error) -> rustls::Error {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(tls)) => *tls,
        other => panic!("not a TLS error: {other:?}"),
    }
}

fn write_pair(dir: &Path, cert_pem: &str, key_pem: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    (cert, key)
}

fn assert_healthy(response: &str) {
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#), "{response}");
}

#[test]
fn serves_https_with_a_certificate_from_the_given_files() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Tepat test CA");
    let (cert_pem, key_pem, leaf) = ca.leaf();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &key_pem);
    let server = start(&dir.path().join("data"), &cert, &key);
    server.wait_for_log("serving HTTPS (TLS 1.2 and 1.3)", &[]);

    let (response, shown) = https_get(&server.addr, &ca, "/healthz").unwrap();
    assert_healthy(&response);
    assert_eq!(shown, leaf);

    // A client that trusts another CA refuses the server: it is not reachable by mistake over a forged name.
    let stranger = Ca::new("Another CA");
    let refused = https_get(&server.addr, &stranger, "/healthz").unwrap_err();
    assert!(
        matches!(refused, rustls::Error::InvalidCertificate(_)),
        "{refused:?}"
    );
}

#[test]
fn sighup_and_changed_files_reload_the_certificate_and_a_bad_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Tepat test CA");
    let (cert_pem, key_pem, first) = ca.leaf();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &key_pem);
    let server = start(&dir.path().join("data"), &cert, &key);
    assert_eq!(https_get(&server.addr, &ca, "/healthz").unwrap().1, first);

    // A renewal, announced with SIGHUP.
    let (cert_pem, key_pem, second) = ca.leaf();
    write_pair(dir.path(), &cert_pem, &key_pem);
    server.signal("HUP");
    server.wait_for_log("TLS certificate reloaded", &[("trigger", "SIGHUP")]);
    let (response, shown) = https_get(&server.addr, &ca, "/healthz").unwrap();
    assert_healthy(&response);
    assert_eq!(shown, second, "the renewed certificate is served");

    // A broken renewal (a key that belongs to another certificate): refused, logged, the old one still served.
    let (_, other_key_pem, _) = ca.leaf();
    let (third_cert_pem, _, _) = ca.leaf();
    write_pair(dir.path(), &third_cert_pem, &other_key_pem);
    server.signal("HUP");
    let refused = server.wait_for_log(
        "TLS certificate not reloaded; still serving the previous one",
        &[("trigger", "SIGHUP")],
    );
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot serve the certificate")),
        "{refused}"
    );
    let (response, shown) = https_get(&server.addr, &ca, "/healthz").unwrap();
    assert_healthy(&response);
    assert_eq!(shown, second, "the previous certificate is kept");

    // Not PEM at all: the same.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    let refused = server.wait_for_log(
        "TLS certificate not reloaded; still serving the previous one",
        &[("trigger", "SIGHUP")],
    );
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("no PEM certificate")),
        "{refused}"
    );
    assert_eq!(https_get(&server.addr, &ca, "/healthz").unwrap().1, second);

    // A renewal without a signal: noticed when the files change.
    let (cert_pem, key_pem, fourth) = ca.leaf();
    write_pair(dir.path(), &cert_pem, &key_pem);
    server.wait_for_log(
        "TLS certificate reloaded",
        &[("trigger", "the files changed")],
    );
    let (response, shown) = https_get(&server.addr, &ca, "/healthz").unwrap();
    assert_healthy(&response);
    assert_eq!(shown, fourth);
}

/// A TLS 1.1 ClientHello offering suites and signature schemes the server has (so only the version is wrong).
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0); // session id
    // ECDHE-ECDSA/RSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-SHA, AES128-SHA.
    body.extend_from_slice(&[0x00, 0x08, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x14, 0x00, 0x2f]);
    body.extend_from_slice(&[0x01, 0x00]); // compression: none
    // Extensions: signature_algorithms (ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256), which rustls needs
    // before it looks at the version.
    body.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04,
    ]);
    let mut handshake = vec![0x01, 0x00, 0x00, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    record
}

fn exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    // The server answers and closes; a reset after the answer is fine.
    let _ = socket.read_to_end(&mut answer);
    answer
}

#[test]
fn tls_1_1_and_plain_http_are_refused_cleanly_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Tepat test CA");
    let (cert_pem, key_pem, _) = ca.leaf();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &key_pem);
    let server = start(&dir.path().join("data"), &cert, &key);

    // TLS 1.1: a fatal protocol_version alert (record type 21, level 2, description 70), then the close.
    let answer = exchange(&server.addr, &tls11_client_hello());
    assert!(answer.len() >= 7, "{answer:?}");
    assert_eq!(answer[0], 21, "an alert record: {answer:?}");
    assert_eq!(
        &answer[5..7],
        &[2, 70],
        "fatal protocol_version: {answer:?}"
    );

    // Plain HTTP: a readable 400 saying to use HTTPS.
    let answer = exchange(
        &server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let error: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(error["error"], "https_required");

    // Garbage that looks like a handshake record: dropped.
    exchange(&server.addr, &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);

    let (response, _) = https_get(&server.addr, &ca, "/healthz").unwrap();
    assert_healthy(&response);
}

#[test]
fn a_missing_or_bad_certificate_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Tepat test CA");
    let (cert_pem, _, _) = ca.leaf();
    let (_, other_key_pem, _) = ca.leaf();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &other_key_pem);
    let serve = |cert: &Path, key: &Path| {
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .output()
            .unwrap()
    };
    let out = serve(&cert, &key);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no address is announced");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot serve the certificate"), "{stderr}");

    let out = serve(&dir.path().join("missing.crt"), &key);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.crt"),
        "{stderr}"
    );

    // One flag without the other is a usage error.
    let out = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tls-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plain_http_says_so_in_its_first_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    serve_args(&mut command, &dir.path().join("data"));
    command
        .args(["--log-format", "json"])
        .stderr(Stdio::piped());
    let mut running = Running::start(command);
    assert!(!running.https, "plain HTTP announced");
    let mut log = String::new();
    BufReader::new(running.child.stderr.take().unwrap())
        .read_line(&mut log)
        .unwrap();
    drop(running);
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    assert_eq!(log["level"], "WARN", "{log}");
    assert!(
        log["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("serving plain HTTP")),
        "{log}"
    );
}
