//! A pendamping PKH at `tepat-field`: the new-case menu lists only the 6T monitoring (the form lets pendamping
//! start it), a PPKS asesmen is refused in words naming who may start it, and a monitoring visit starts without
//! an assignment in the pendamping's own area.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/forms")
}

fn run(role: &str, lines: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-field"))
        .arg("--db")
        .arg(dir.path().join("hp.db"))
        .arg("--forms")
        .arg(forms_dir())
        .args(["--role", role, "--user", "u01", "--name", "Rina"])
        .args(["--regions", "17.71"])
        .args(["--today", "2026-03-16"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = lines.join("\n") + "\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "exit {:?}\n{}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The forms the new-case line offers, by id, in order.
fn offered(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Kasus baru dengan 'kasus-baru N'"))
        .unwrap_or_default();
    line.split(", ")
        .filter_map(|part| part.split_once('=').map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_pendamping_may_start_a_6t_monitoring_and_no_ppks_asesmen() {
    let stdout = run(
        "enumerator",
        &[
            "daftar",
            "kasus-baru ppks_asesmen",
            "kasus-baru 1",
            "bagian 2",
            "keluar",
        ],
    );
    assert_eq!(offered(&stdout), ["monitoring_6t"], "{stdout}");
    assert!(
        stdout.contains(
            "Asesmen PPKS: kasus baru tanpa penugasan hanya dapat dimulai oleh TKSK (asesor); Anda masuk \
             sebagai Pendamping PKH."
        ),
        "{stdout}"
    );
    // The monitoring opened, its village choice in the pendamping's own area (Kota Bengkulu's districts).
    assert!(stdout.contains("Titik penyaluran"), "{stdout}");
    assert!(stdout.contains("Gading Cempaka"), "{stdout}");
    assert!(!stdout.contains("Aceh"), "{stdout}");
}

#[test]
fn an_assessor_is_offered_every_form_an_assessor_may_start() {
    let stdout = run("assessor", &["daftar", "keluar"]);
    assert_eq!(
        offered(&stdout),
        [
            "dtsen_groundcheck",
            "monitoring_6t",
            "ppks_asesmen",
            "satgas_laporan"
        ],
        "{stdout}"
    );
}
