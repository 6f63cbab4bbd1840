//! The HTTP transport against tiny loopback servers written here (plain and TLS), so every answer can be
//! exactly what the test needs: gzip both ways, the token, status codes, answers cut short, foreign CAs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

use chrono::Utc;
use flate2::read::GzDecoder;
use uuid::Uuid;

use super::*;
use tepat_protocol::{Changes, PROTOCOL_VERSION, Role, UserInfo};

/// What the server saw.
#[derive(Debug, Default)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

fn read_request(stream: &mut impl Read) -> Seen {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut seen = Seen {
        head,
        body: Vec::new(),
    };
    let length: usize = seen
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    seen.body = vec![0; length];
    reader.read_exact(&mut seen.body).unwrap();
    seen
}

/// Serves one request on a plain loopback connection with `answer` (raw bytes), then closes.
fn serve_once(answer: Vec<u8>) -> (String, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let seen = read_request(&mut stream);
        let _ = stream.write_all(&answer);
        seen
    });
    (format!("http://{addr}"), thread)
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn request() -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: "dev-1".into(),
        batch_id: Uuid::nil(),
        cursor: 7,
        visits: Vec::new(),
        trails: Vec::new(),
    }
}

fn answer() -> SyncResponse {
    SyncResponse {
        protocol: PROTOCOL_VERSION,
        receipts: Vec::new(),
        changes: Changes::default(),
        next_cursor: 9,
        more: false,
        server_time: Utc::now(),
    }
}

fn transport(url: &str) -> HttpTransport {
    let transport = HttpTransport::new(&HttpConfig::new(url)).unwrap();
    transport.set_token(Some("tok-123"));
    transport
}

#[test]
fn a_sync_goes_gzipped_with_the_token_and_a_gzipped_answer_is_read() {
    let body = gzip(&serde_json::to_vec(&answer()).unwrap()).unwrap();
    let (url, server) = serve_once(response(
        "200 OK",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &body,
    ));
    let transport = transport(&url);
    let got = transport.sync(&request()).unwrap();
    assert_eq!(got.next_cursor, 9);
    let seen = server.join().unwrap();
    assert!(seen.head.starts_with("POST /api/v1/sync HTTP/1.1"));
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer tok-123")
    );
    assert_eq!(seen.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(seen.header("accept-encoding").as_deref(), Some("gzip"));
    let mut json = Vec::new();
    GzDecoder::new(seen.body.as_slice())
        .read_to_end(&mut json)
        .unwrap();
    let sent: SyncRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(sent, request());
    let stats = transport.stats();
    assert_eq!(stats.round_trips, 1);
    assert_eq!(stats.failed_round_trips, 0);
    assert_eq!(stats.bytes_up, seen.body.len() as u64);
    assert_eq!(stats.bytes_down, body.len() as u64);
}

#[test]
fn enrolment_sends_no_token_and_reads_the_new_one() {
    let enrolled = EnrolResponse {
        device_id: "dev-9".into(),
        token: "fresh".into(),
        user: UserInfo {
            user_id: "pkh1".into(),
            name: "Siti".into(),
            role: Role::Enumerator,
            regions: vec!["17.71".into()],
        },
        server_time: Utc::now(),
    };
    let (url, server) = serve_once(response(
        "200 OK",
        &[("Content-Type", "application/json")],
        &serde_json::to_vec(&enrolled).unwrap(),
    ));
    let transport = HttpTransport::new(&HttpConfig::new(url)).unwrap();
    let got = transport
        .enrol(&EnrolRequest {
            code: "K7QM-2HXD-9TPA".into(),
            device_name: "HP Siti".into(),
        })
        .unwrap();
    assert_eq!(got, enrolled);
    let seen = server.join().unwrap();
    assert!(seen.head.starts_with("POST /api/v1/enrol "));
    assert_eq!(seen.header("authorization"), None);
}

#[test]
fn a_refused_enrolment_carries_the_servers_error_code_and_says_what_to_do() {
    let (url, server) = serve_once(response(
        "409 Conflict",
        &[("Content-Type", "application/json")],
        br#"{"error":"code_used","message":"this enrolment code has been used"}"#,
    ));
    let transport = HttpTransport::new(&HttpConfig::new(url)).unwrap();
    let error = transport
        .enrol(&EnrolRequest {
            code: "K7QM-2HXD-9TPA".into(),
            device_name: "HP Siti".into(),
        })
        .unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind, TransportErrorKind::Refused);
    assert_eq!(error.server_code, Some(tepat_protocol::ErrorCode::CodeUsed));
    let message = crate::EnrolError::Transport(error).message(tepat_form::Lang::En);
    assert!(message.contains("has been used already"), "{message}");
}

#[test]
fn an_error_answer_without_an_error_body_has_no_server_code() {
    let (url, server) = serve_once(response(
        "502 Bad Gateway",
        &[],
        b"<html>bad gateway</html>",
    ));
    let error = transport(&url).sync(&request()).unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind, TransportErrorKind::Server);
    assert_eq!(error.server_code, None);
}

#[test]
fn without_a_token_a_sync_is_not_even_tried() {
    let transport = HttpTransport::new(&HttpConfig::new("http://127.0.0.1:9")).unwrap();
    let error = transport.sync(&request()).unwrap_err();
    assert_eq!(error.kind, TransportErrorKind::Unauthorized);
    assert_eq!(transport.stats().bytes_up, 0);
}

#[test]
fn status_codes_become_kinds_the_app_can_explain() {
    for (status, kind) in [
        ("401 Unauthorized", TransportErrorKind::Unauthorized),
        ("413 Payload Too Large", TransportErrorKind::TooLarge),
        ("409 Conflict", TransportErrorKind::Refused),
        ("400 Bad Request", TransportErrorKind::Refused),
        ("500 Internal Server Error", TransportErrorKind::Server),
        ("503 Service Unavailable", TransportErrorKind::Server),
        ("429 Too Many Requests", TransportErrorKind::Timeout),
    ] {
        let body = br#"{"error":"too_many_visits","message":"visits: 300 visits in one batch; the limit is 200","limit":200}"#;
        let (url, server) = serve_once(response(
            status,
            &[("Content-Type", "application/json")],
            body,
        ));
        let error = transport(&url).sync(&request()).unwrap_err();
        server.join().unwrap();
        assert_eq!(error.kind, kind, "{status}");
        assert_eq!(
            error.server_code,
            Some(tepat_protocol::ErrorCode::Other("too_many_visits".into()))
        );
        let code = status.split(' ').next().unwrap();
        assert!(
            error
                .detail
                .starts_with(&format!("{code} too_many_visits: visits: 300")),
            "{}",
            error.detail
        );
    }
}

#[test]
fn an_answer_cut_short_is_a_dropped_connection_not_a_bad_server() {
    let whole = gzip(&serde_json::to_vec(&answer()).unwrap()).unwrap();
    let mut cut = response("200 OK", &[("Content-Encoding", "gzip")], &whole);
    cut.truncate(cut.len() - whole.len() / 2);
    let (url, server) = serve_once(cut);
    let error = transport(&url).sync(&request()).unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind, TransportErrorKind::Timeout, "{}", error.detail);
}

#[test]
fn a_gzip_stream_that_ends_early_is_a_dropped_connection() {
    let whole = gzip(&serde_json::to_vec(&answer()).unwrap()).unwrap();
    let half = &whole[..whole.len() / 2];
    let (url, server) = serve_once(response("200 OK", &[("Content-Encoding", "gzip")], half));
    let error = transport(&url).sync(&request()).unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind, TransportErrorKind::Timeout, "{}", error.detail);
}

#[test]
fn an_answer_that_is_not_the_protocol_is_a_bad_response() {
    let (url, server) = serve_once(response("200 OK", &[], b"<html>captive portal</html>"));
    let error = transport(&url).sync(&request()).unwrap_err();
    server.join().unwrap();
    assert_eq!(error.kind, TransportErrorKind::BadResponse);
}

#[test]
fn no_server_listening_is_offline() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = transport(&format!("http://127.0.0.1:{port}"))
        .sync(&request())
        .unwrap_err();
    assert_eq!(error.kind, TransportErrorKind::Offline, "{}", error.detail);
}

#[test]
fn bad_configuration_is_named() {
    assert!(matches!(
        HttpTransport::new(&HttpConfig::new("ftp://server")),
        Err(HttpSetupError::BadUrl(_))
    ));
    let mut config = HttpConfig::new("https://localhost");
    config.ca_pem = Some("not a certificate".into());
    assert!(matches!(
        HttpTransport::new(&config),
        Err(HttpSetupError::NoCertificate | HttpSetupError::BadCertificate(_))
    ));
}

// ---------------------------------------------------------------------------------------------------------------
// TLS: a loopback server whose certificate a throw-away CA, made in the test, signed.

/// A CA made for one test and thrown away with it.
struct ThrowAwayCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

/// A server's certificate chain and key, as rustls takes them.
struct ServerCert {
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl ThrowAwayCa {
    fn new(name: &str) -> ThrowAwayCa {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        ThrowAwayCa {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// The CA's certificate, as a phone pins it.
    fn pem(&self) -> String {
        self.pem.clone()
    }

    /// A certificate for `host`, valid now.
    fn server_cert(&self, host: &str) -> ServerCert {
        self.server_cert_until(host, 2099)
    }

    /// A certificate for `host` valid from 2020 until the first of January of `year`.
    fn server_cert_until(&self, host: &str, year: i32) -> ServerCert {
        let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, host);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(year, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        }
    }
}

/// Serves one TLS connection with `cert` and answers `answer` (a JSON body, gzipped on the way) if the
/// handshake succeeds; what the server read, `None` when no request came (the handshake failed).
fn serve_tls_once(cert: ServerCert, answer: Vec<u8>) -> (SocketAddr, JoinHandle<Option<Seen>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (stream, _): (TcpStream, _) = listener.accept().ok()?;
        let connection = rustls::ServerConnection::new(config).ok()?;
        let mut tls = rustls::StreamOwned::new(connection, stream);
        let seen = read_request(&mut tls);
        if seen.head.is_empty() {
            return None;
        }
        let body = gzip(&answer).ok()?;
        let _ = tls.write_all(&response("200 OK", &[("Content-Encoding", "gzip")], &body));
        tls.conn.send_close_notify();
        let _ = tls.flush();
        Some(seen)
    });
    (addr, thread)
}

fn sync_answer() -> Vec<u8> {
    serde_json::to_vec(&answer()).unwrap()
}

/// A transport to `https://{host}:{port}` (the name resolves to 127.0.0.1 through `localhost` only), with the
/// token set.
fn tls_transport(host: &str, addr: SocketAddr, ca_pem: Option<String>) -> HttpTransport {
    let mut config = HttpConfig::new(format!("https://{host}:{}", addr.port()));
    config.ca_pem = ca_pem;
    let transport = HttpTransport::new(&config).unwrap();
    transport.set_token(Some("tok-123"));
    transport
}

/// The handshake was refused as the phone refuses a certificate, and the server never read a request: the
/// token did not leave the phone.
fn assert_refused_untrusted(error: &TransportError, server: JoinHandle<Option<Seen>>, cause: &str) {
    assert_eq!(
        error.kind,
        TransportErrorKind::UntrustedCertificate,
        "{}",
        error.detail
    );
    assert!(error.detail.contains(cause), "{}", error.detail);
    assert!(server.join().unwrap().is_none(), "a request got through");
}

#[test]
fn a_server_signed_by_the_pinned_ca_is_trusted_for_enrolment_and_sync() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let enrolled = EnrolResponse {
        device_id: "dev-9".into(),
        token: "fresh".into(),
        user: UserInfo {
            user_id: "pkh1".into(),
            name: "Siti".into(),
            role: Role::Enumerator,
            regions: vec!["17.71".into()],
        },
        server_time: Utc::now(),
    };
    let (addr, server) = serve_tls_once(
        ca.server_cert("localhost"),
        serde_json::to_vec(&enrolled).unwrap(),
    );
    let transport = tls_transport("localhost", addr, Some(ca.pem()));
    let got = transport
        .enrol(&EnrolRequest {
            code: "K7QM-2HXD-9TPA".into(),
            device_name: "HP Siti".into(),
        })
        .unwrap();
    assert_eq!(got, enrolled);
    assert!(server.join().unwrap().is_some());

    let (addr, server) = serve_tls_once(ca.server_cert("localhost"), sync_answer());
    let got = tls_transport("localhost", addr, Some(ca.pem()))
        .sync(&request())
        .unwrap();
    assert_eq!(got.next_cursor, 9);
    let seen = server.join().unwrap().unwrap();
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer tok-123")
    );
}

#[test]
fn a_server_signed_by_another_ca_is_an_untrusted_certificate_and_nothing_is_sent() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let stranger = ThrowAwayCa::new("Somebody else's CA");
    let (addr, server) = serve_tls_once(stranger.server_cert("localhost"), sync_answer());
    let transport = tls_transport("localhost", addr, Some(ca.pem()));
    let error = transport.sync(&request()).unwrap_err();
    assert_refused_untrusted(&error, server, "UnknownIssuer");
    assert_eq!(transport.stats().failed_round_trips, 1);
}

#[test]
fn a_certificate_for_another_host_is_an_untrusted_certificate() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let (addr, server) = serve_tls_once(ca.server_cert("tepat.other.example"), sync_answer());
    let error = tls_transport("localhost", addr, Some(ca.pem()))
        .sync(&request())
        .unwrap_err();
    assert_refused_untrusted(&error, server, "not valid for name");
}

#[test]
fn an_expired_certificate_is_an_untrusted_certificate() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let expired = ca.server_cert_until("localhost", 2021);
    let (addr, server) = serve_tls_once(expired, sync_answer());
    let error = tls_transport("localhost", addr, Some(ca.pem()))
        .sync(&request())
        .unwrap_err();
    assert_refused_untrusted(&error, server, "expired");
}

/// Exactly what a phone runs when its config pins no CA (the public-certificate deployment): the bundled
/// Mozilla roots, no platform verifier, so a CA nobody published is refused the same way on every platform.
#[test]
fn without_a_pinned_ca_the_bundled_roots_refuse_a_private_ca() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let (addr, server) = serve_tls_once(ca.server_cert("localhost"), sync_answer());
    let error = tls_transport("localhost", addr, None)
        .sync(&request())
        .unwrap_err();
    assert_refused_untrusted(&error, server, "UnknownIssuer");
}

#[test]
fn plain_http_to_a_tls_server_is_not_taken_for_a_certificate_problem() {
    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let (addr, server) = serve_tls_once(ca.server_cert("localhost"), sync_answer());
    let error = transport(&format!("http://{addr}"))
        .sync(&request())
        .unwrap_err();
    drop(server);
    assert_ne!(error.kind, TransportErrorKind::UntrustedCertificate);
}

/// The whole phone (runtime, outbox, view) against a server it does not trust: the sync fails with the
/// certificate message in Bahasa Indonesia first, and the visit stays in the outbox.
#[test]
fn an_untrusted_server_leaves_the_visit_in_the_outbox_with_a_clear_message() {
    use crate::tests::{RecordingShell, finalise_one, in_memory, set_up};
    use tepat_app::UiEvent;

    let ca = ThrowAwayCa::new("Dinsos Kota Bengkulu CA");
    let (addr, server) = serve_tls_once(ca.server_cert("localhost"), sync_answer());
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell, Arc::new(tls_transport("localhost", addr, None)));
    set_up(&runtime);
    finalise_one(&runtime, "A-1");
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    assert!(server.join().unwrap().is_none(), "a request got through");
    let view = runtime.view();
    assert_eq!(view.sync.outbox, 1);
    let message = view.sync.last_error.unwrap_or_default();
    assert!(
        message.starts_with("Sertifikat server tidak dipercaya"),
        "{message}"
    );
    assert_eq!(
        runtime.inspect_store(|s| s.outbox()).unwrap().len(),
        1,
        "the visit is still waiting in the device store"
    );
}
