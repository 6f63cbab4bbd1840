//! The real `tepat-server` binary as a child process on a loopback port, and its admin CLI.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::Error;
use crate::tls::TlsFiles;

/// The `tepat-server` binary of this build (`target/<profile>/tepat-server`, beside the test executable), built
/// with the same cargo, target directory and profile when it is missing or older than its sources; or
/// `TEPAT_SERVER_BIN` when set.
pub fn server_binary() -> Result<PathBuf, Error> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_server().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Setup)
}

fn build_server() -> Result<PathBuf, Error> {
    if let Some(bin) = std::env::var_os("TEPAT_SERVER_BIN") {
        return Ok(PathBuf::from(bin));
    }
    // The test (or demo) executable lives in <target>/<profile>/ or <target>/<profile>/deps/.
    let exe = std::env::current_exe().map_err(|e| Error::Setup(format!("current_exe: {e}")))?;
    let mut profile_dir = exe
        .parent()
        .ok_or_else(|| Error::Setup("executable without a directory".into()))?
        .to_path_buf();
    if profile_dir.ends_with("deps") {
        profile_dir.pop();
    }
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| Error::Setup("no target directory".into()))?
        .to_path_buf();
    let bin = profile_dir.join("tepat-server");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // `cargo test --workspace` has just built it: building again with this package's feature set would only
    // make a second copy. Rebuild only when a source is newer than the binary.
    if is_fresh(&bin, &workspace) {
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&workspace)
        .args([
            "build",
            "--quiet",
            "-p",
            "tepat-server",
            "--bin",
            "tepat-server",
        ])
        .env("CARGO_TARGET_DIR", &target_dir);
    if profile == "release" {
        build.arg("--release");
    }
    match build.status() {
        Ok(status) if status.success() => Ok(bin),
        // No cargo here (a copied binary): use what is beside us, if anything.
        _ if bin.exists() => Ok(bin),
        Ok(status) => Err(Error::Setup(format!(
            "cargo build -p tepat-server failed ({status})"
        ))),
        Err(e) => Err(Error::Setup(format!("cannot run cargo: {e}"))),
    }
}

/// True when `bin` exists and no source it is built from (server, shared, the manifests) is newer.
fn is_fresh(bin: &Path, workspace: &Path) -> bool {
    fn newest(path: &Path, newest_so_far: &mut std::time::SystemTime) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                newest(&entry.path(), newest_so_far);
            }
        } else if let Ok(modified) = meta.modified() {
            *newest_so_far = (*newest_so_far).max(modified);
        }
    }
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let mut sources = std::time::SystemTime::UNIX_EPOCH;
    for part in [
        "server/src",
        "server/Cargo.toml",
        // The shared crates the server builds with (tepat-form, tepat-protocol).
        "shared/form",
        "shared/protocol",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        newest(&workspace.join(part), &mut sources);
    }
    sources <= built
}

/// A running `tepat-server serve`. Killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    /// `http` or `https`, as the server's first line said.
    scheme: &'static str,
    data: PathBuf,
}

impl Server {
    /// Starts the server on a free loopback port with its database in `data` (created if missing).
    pub fn start(data: &Path) -> Result<Server, Error> {
        Server::start_with(data, &[])
    }

    /// The same over HTTPS with the run's throw-away certificate (`--tls-cert`, `--tls-key`).
    pub fn start_https(data: &Path, tls: &TlsFiles) -> Result<Server, Error> {
        let options = tls.serve_options();
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let server = Server::start_with(data, &options)?;
        if !server.is_https() {
            return Err(Error::Setup(format!(
                "tepat-server was given --tls-cert but serves {}",
                server.url()
            )));
        }
        Ok(server)
    }

    /// The same, with extra `serve` options (limits, TLS).
    pub fn start_with(data: &Path, options: &[&str]) -> Result<Server, Error> {
        std::fs::create_dir_all(data)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("server.log"))?;
        let mut child = Command::new(server_binary()?)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data",
            ])
            .arg(data)
            .args(options)
            // The store is what `options` say (`--database`), never the caller's environment.
            .env_remove("TEPAT_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Setup("server stdout".into()))?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        let listening = first.trim().strip_prefix("listening on ");
        let addr = listening.and_then(|l| {
            let (scheme, addr) = if let Some(a) = l.strip_prefix("https://") {
                ("https", a)
            } else {
                ("http", l.strip_prefix("http://")?)
            };
            Some((scheme, addr.parse().ok()?))
        });
        let Some((scheme, addr)) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(data.join("server.log")).unwrap_or_default();
            return Err(Error::Setup(format!(
                "tepat-server did not start: {first:?}\n{log}"
            )));
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Ok(Server {
            child,
            addr,
            scheme,
            data: data.to_path_buf(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (the certificate names 127.0.0.1 too).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Whether the server speaks HTTPS itself.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    pub fn data(&self) -> &Path {
        &self.data
    }

    /// SIGKILL: no shutdown, no flush; whatever SQLite had not committed is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the server finishes in-flight batches and exits.
    pub fn stop(&mut self) -> Result<(), Error> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tepat-server admin --data DIR ...`, or `admin --database URL ...`.
#[derive(Debug, Clone)]
pub struct Admin {
    data: PathBuf,
    /// The PostgreSQL database the commands work on instead of `data`'s SQLite file.
    database: Option<String>,
}

impl Admin {
    pub fn new(data: &Path) -> Admin {
        Admin {
            data: data.to_path_buf(),
            database: None,
        }
    }

    /// Admin commands on a PostgreSQL database (`admin --database URL`).
    pub fn on_database(data: &Path, url: &str) -> Admin {
        Admin {
            data: data.to_path_buf(),
            database: Some(url.to_string()),
        }
    }

    /// `tepat-server admin` with the store's option.
    fn command(&self) -> Result<Command, Error> {
        let mut command = Command::new(server_binary()?);
        command.arg("admin").env_remove("TEPAT_DATABASE_URL");
        match &self.database {
            Some(url) => command.args(["--database", url]),
            None => command.arg("--data").arg(&self.data),
        };
        Ok(command)
    }

    /// Runs an admin command; its stdout, or an error with its stderr.
    pub fn run(&self, args: &[&str]) -> Result<String, Error> {
        let output = self
            .command()?
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(Error::Admin {
                command: args.join(" "),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// Sets a supervisor's or admin's web console password (`admin set-password`, which reads it from stdin).
    pub fn set_password(&self, user: &str, password: &str) -> Result<String, Error> {
        use std::io::Write;
        let mut child = self
            .command()?
            .args(["set-password", "--user", user])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{password}")?;
        }
        let output = child.wait_with_output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(Error::Admin {
                command: format!("set-password --user {user}"),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    pub fn create_user(
        &self,
        id: &str,
        name: &str,
        role: &str,
        regions: &[&str],
    ) -> Result<(), Error> {
        let mut args = vec!["create-user", "--id", id, "--name", name, "--role", role];
        for region in regions {
            args.extend(["--region", region]);
        }
        self.run(&args).map(drop)
    }

    /// A one-time enrolment code for a device of `user`.
    pub fn enrol_code(&self, user: &str) -> Result<String, Error> {
        self.run(&["enrol-code", "--user", user])
    }

    pub fn publish_form(&self, file: &Path) -> Result<String, Error> {
        self.run(&["publish-form", &file.display().to_string()])
    }

    pub fn import_assignments(&self, csv: &Path) -> Result<String, Error> {
        self.run(&["import-assignments", &csv.display().to_string()])
    }

    /// Imports households with their registered members (`--members`, long format).
    pub fn import_assignments_with_members(
        &self,
        csv: &Path,
        members: &Path,
    ) -> Result<String, Error> {
        self.run(&[
            "import-assignments",
            &csv.display().to_string(),
            "--members",
            &members.display().to_string(),
        ])
    }

    pub fn withdraw_assignment(&self, id: &str) -> Result<String, Error> {
        self.run(&["withdraw-assignment", id])
    }
}

/// The forms that ship with Tepat (`schemas/forms`).
pub fn form_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/forms")
        .join(format!("{name}.json"))
}
