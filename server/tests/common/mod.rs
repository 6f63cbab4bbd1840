//! What the tests that run the real `tepat-server` binary share: the admin CLI, starting `serve` on a free port
//! and reading the address it prints, and the process's memory as the kernel counts it.
//!
//! When `TEPAT_TEST_POSTGRES` names a throw-away cluster (`make test-postgres`), every data directory gets a
//! PostgreSQL database of its own there, and `serve` and `admin` on that directory use it (`TEPAT_DATABASE_URL`):
//! the same tests then run the binary on PostgreSQL.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tepat-server");
pub const MIB: u64 = 1024 * 1024;

/// `tepat-server admin --data DATA ARGS`, whatever its outcome.
pub fn admin_output(data: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.arg("admin").arg("--data").arg(data).args(args);
    store_of(&mut command, data);
    command.output().unwrap()
}

/// The PostgreSQL database of a data directory when the tests run on PostgreSQL: created on first use (its URL
/// kept in the directory), never dropped (the cluster is thrown away after the run).
pub fn database_of(data: &Path) -> Option<String> {
    let cluster = std::env::var("TEPAT_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())?;
    let marker = data.join(".test-database-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    std::fs::create_dir_all(data).unwrap();
    let name = format!("tepat_cli_{}", uuid::Uuid::now_v7().simple());
    postgres(&cluster, &format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", cluster.rsplit_once('/').unwrap().0);
    std::fs::write(&marker, &url).unwrap();
    Some(url)
}

/// `command` (a `serve` or `admin` on `data`) on the data directory's PostgreSQL database when there is one.
pub fn store_of(command: &mut Command, data: &Path) {
    match database_of(data) {
        Some(url) => command.env("TEPAT_DATABASE_URL", url),
        None => command.env_remove("TEPAT_DATABASE_URL"),
    };
}

/// One statement on a PostgreSQL database; the first column of each row, as text.
pub fn postgres(url: &str, sql: &str) -> Vec<Option<String>> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(connection);
            let rows = client.simple_query(&sql).await.unwrap();
            drop(client);
            let _ = driver.await;
            rows.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some(row.get(0).map(str::to_string))
                    }
                    _ => None,
                })
                .collect()
        })
    })
    .join()
    .unwrap()
}

/// Everything the server stored, as bytes to search: the SQLite file, or every row of every table of the
/// PostgreSQL database as text.
pub fn stored_bytes(data: &Path) -> Vec<u8> {
    match database_of(data) {
        None => std::fs::read(data.join("tepat.db")).unwrap(),
        Some(url) => {
            let tables = postgres(
                &url,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            );
            let mut out = Vec::new();
            for table in tables.into_iter().flatten() {
                for row in postgres(&url, &format!("SELECT t::text FROM {table} t")) {
                    out.extend(row.unwrap_or_default().into_bytes());
                    out.push(b'\n');
                }
            }
            out
        }
    }
}

/// Rows of a table in the server's database (SQLite file or PostgreSQL).
pub fn count_rows(data: &Path, table: &str) -> i64 {
    match database_of(data) {
        None => {
            let db = rusqlite::Connection::open(data.join("tepat.db")).unwrap();
            db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        }
        Some(url) => postgres(&url, &format!("SELECT count(*) FROM {table}"))
            .first()
            .cloned()
            .flatten()
            .and_then(|n| n.parse().ok())
            .unwrap(),
    }
}

/// `tepat-server admin --data DATA ARGS`, which must succeed.
pub fn admin(data: &Path, args: &[&str]) -> Output {
    let out = admin_output(data, args);
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A form shipped in `schemas/forms/`.
pub fn form_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/forms")
        .join(name)
}

/// The arguments of `serve` on a free loopback port over `data`; the caller adds flags and stdio.
pub fn serve_args(command: &mut Command, data: &Path) {
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data);
    store_of(command, data);
}

/// A started `serve`: the process and the `host:port` it printed. Killed when dropped.
pub struct Running {
    pub child: Child,
    pub addr: String,
    /// Whether the first line said `https://`.
    pub https: bool,
}

impl Running {
    /// Spawns `command` (a `serve`, stdout is piped here) and reads its first line, `listening on
    /// http(s)://ADDR`; the rest of stdout is drained so the server never blocks on it.
    pub fn start(mut command: Command) -> Running {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let first = first_line(&mut stdout);
        let (https, addr) = match first.strip_prefix("listening on https://") {
            Some(addr) => (true, addr),
            None => (
                false,
                first
                    .strip_prefix("listening on http://")
                    .unwrap_or_else(|| panic!("not an address line: {first:?}")),
            ),
        };
        let addr = addr.to_string();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        Running { child, addr, https }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
            * 1024
    }

    /// Resets the peak (`VmHWM`) to the current resident set and returns that.
    pub fn reset_peak(&self) -> u64 {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").unwrap();
        self.memory("VmRSS")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line, read byte by byte so nothing after it is taken from the pipe.
fn first_line(stdout: &mut ChildStdout) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).trim().to_string()
}
