//! What the tests that run the real `tepat-server` binary share: the admin CLI, starting `serve` on a free port
//! and reading the address it prints, and the process's memory as the kernel counts it.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tepat-server");
pub const MIB: u64 = 1024 * 1024;

/// `tepat-server admin --data DATA ARGS`, whatever its outcome.
pub fn admin_output(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("admin")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
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
