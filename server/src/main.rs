//! `tepat-server`: the sync server (`serve`) and the admin commands (`admin`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tepat_protocol::Role;
use tepat_server::admin;
use tepat_server::config::{ConnectionLimits, Limits, SignalThresholds};
use tepat_server::db::{Db, Location};
use tepat_server::serve;

#[derive(Debug, Parser)]
#[command(
    name = "tepat-server",
    version,
    about = "Tepat sync server: enrolment, sync, supervisor review and export"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP(S) API until SIGTERM/SIGINT.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 (port 0 picks a free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Data directory (created if missing); holds the SQLite database, and the photos (also with --database:
        /// then a directory every server of the database shares).
        #[arg(long)]
        data: PathBuf,
        /// Store everything but photos in this PostgreSQL database instead of the data directory's SQLite file:
        /// `postgres://user:password@host:port/dbname` (libpq's URL; `?tepat_pool=N` caps this server's
        /// connections, default --max-concurrent-requests + 1). Several servers may serve one database at once.
        #[arg(long, env = "TEPAT_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// Log format.
        #[arg(long, value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
        /// Largest request body as sent, in bytes.
        #[arg(long, default_value_t = Limits::default().max_body_bytes)]
        max_body_bytes: usize,
        /// Largest request body after gzip decompression, in bytes.
        #[arg(long, default_value_t = Limits::default().max_decompressed_bytes)]
        max_decompressed_bytes: usize,
        /// Most visits in one sync batch.
        #[arg(long, default_value_t = Limits::default().max_visits_per_batch)]
        max_visits_per_batch: usize,
        /// Most items in one page (sync changes, supervisor pull).
        #[arg(long, default_value_t = Limits::default().max_page_size)]
        max_page_size: usize,
        /// Most bytes of stored visits or changes in one page (a page stops before exceeding it and says `more`).
        #[arg(long, default_value_t = Limits::default().max_page_bytes)]
        max_page_bytes: usize,
        /// Requests served at once (an export counts until its last byte); more wait up to --queue-wait-ms for a
        /// slot, then get 503 with Retry-After. Also the number of threads doing blocking work.
        #[arg(long, default_value_t = Limits::default().max_concurrent_requests as u32, value_parser = clap::value_parser!(u32).range(1..=4096))]
        max_concurrent_requests: u32,
        /// How long a request waits for a free slot, in milliseconds.
        #[arg(long, default_value_t = Limits::default().queue_wait.as_millis() as u64)]
        queue_wait_ms: u64,
        /// Seconds a new connection has to complete its request head (TLS handshake included).
        #[arg(long, default_value_t = ConnectionLimits::default().header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
        header_timeout_secs: u64,
        /// Seconds from a request's head to its response (body upload and the work); then 408.
        #[arg(long, default_value_t = ConnectionLimits::default().request_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
        request_timeout_secs: u64,
        /// Seconds a kept-alive connection may wait for its next request, and a response may wait for a client
        /// that stopped reading it.
        #[arg(long, default_value_t = ConnectionLimits::default().idle_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
        idle_timeout_secs: u64,
        /// Connections held at once (default 4096, and never more than the open-file limit leaves room for);
        /// beyond it new connections wait in the kernel's backlog.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: Option<u32>,
        /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. Reloaded on SIGHUP and
        /// when the file changes.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Thresholds of the signals of fabrication: a JSON file whose keys (any of them) replace the defaults
        /// (server/README.md, "Signals of fabrication").
        #[arg(long)]
        signal_thresholds: Option<PathBuf>,
    },
    /// Administration: users, enrolment codes, assignments, forms.
    Admin {
        /// Data directory (created if missing), with the SQLite database.
        #[arg(long, required_unless_present = "database")]
        data: Option<PathBuf>,
        /// The PostgreSQL database instead (as `serve --database`); admin commands work from any host that
        /// reaches it.
        #[arg(long, env = "TEPAT_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Supervisor,
    Enumerator,
    Assessor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Enumerator => Role::Enumerator,
            RoleArg::Assessor => Role::Assessor,
        }
    }
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user; supervisors, enumerators and assessors need --region (repeatable; a code prefix).
    CreateUser {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long = "region")]
        regions: Vec<String>,
    },
    /// Issue a one-time enrolment code for a user's device (printed once; only its hash is stored).
    EnrolCode {
        #[arg(long)]
        user: String,
        #[arg(long, default_value_t = admin::DEFAULT_CODE_TTL_HOURS)]
        ttl_hours: u32,
    },
    /// Set or reset the web console password of a supervisor or admin, read from the first line of stdin
    /// (at least 10 characters); their console sessions end.
    SetPassword {
        #[arg(long)]
        user: String,
    },
    /// Import assignments (format: schemas/assignments.md); all or nothing. FILE is a households CSV (with
    /// --members, the members CSV keyed by assignment_id) or JSON lines (*.jsonl: one household per line).
    ImportAssignments {
        file: PathBuf,
        #[arg(long)]
        members: Option<PathBuf>,
    },
    /// Withdraw an assignment; the user's devices learn it on their next sync.
    WithdrawAssignment { id: String },
    /// Publish a form version (checked by the form engine; versions are immutable once published).
    PublishForm { file: PathBuf },
    /// List users with their role, regions and active devices.
    ListUsers,
    /// List enrolled devices.
    ListDevices,
    /// Revoke a device: its token stops working at once.
    RevokeDevice { id: String },
    /// Recompute every chain (the server's ledger, the devices' trails) and every stored visit's hash; print
    /// each mismatch (which row, which visit, expected against found) and exit 1 if there is any.
    Verify,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// `admin verify`: the report on stdout; exit 1 when anything does not match.
fn verify(db: &Db) -> ExitCode {
    match tepat_server::verify::run(db) {
        Ok((text, clean)) => {
            println!("{text}");
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data,
            database,
            log_format,
            max_body_bytes,
            max_decompressed_bytes,
            max_visits_per_batch,
            max_page_size,
            max_page_bytes,
            max_concurrent_requests,
            queue_wait_ms,
            header_timeout_secs,
            request_timeout_secs,
            idle_timeout_secs,
            max_connections,
            tls_cert,
            tls_key,
            signal_thresholds,
        } => {
            init_logging(log_format);
            let signals = match signal_thresholds
                .as_deref()
                .map(SignalThresholds::from_file)
            {
                None => SignalThresholds::default(),
                Some(Ok(thresholds)) => thresholds,
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(serve::TlsFiles { cert, key }),
                _ => {
                    tracing::warn!(
                        "serving plain HTTP (no --tls-cert/--tls-key): put the server behind a TLS-terminating \
                         proxy (nginx, Caddy) before phones sync over any network"
                    );
                    None
                }
            };
            let limits = Limits {
                max_body_bytes,
                max_decompressed_bytes,
                max_visits_per_batch,
                max_page_size,
                default_page_size: Limits::default().default_page_size.min(max_page_size),
                max_page_bytes,
                max_concurrent_requests: max_concurrent_requests as usize,
                queue_wait: Duration::from_millis(queue_wait_ms),
                signals,
                ..Limits::default()
            };
            let connections = ConnectionLimits {
                header_timeout: Duration::from_secs(header_timeout_secs),
                request_timeout: Duration::from_secs(request_timeout_secs),
                idle_timeout: Duration::from_secs(idle_timeout_secs),
                max_connections: max_connections.map(|n| n as usize),
            };
            let options = serve::ServeOptions::new(connections, tls, &limits);
            // Blocking work is bounded by the request slots; the runtime's pool gets a few more threads for
            // start-up and the export writers that finish after their client left.
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(limits.max_concurrent_requests + 8)
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = runtime.block_on(async {
                let (listener, router) =
                    serve::bind(&listen, &data, database.as_deref(), limits).await?;
                serve::serve_with(listener, router, options, serve::shutdown_signal()).await
            });
            // Dropping the runtime waits for blocking work (a batch being written) to finish.
            drop(runtime);
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin {
            data,
            database,
            command,
        } => {
            init_logging(LogFormat::Human);
            let location = match (database, data) {
                (Some(url), _) => Location::Postgres(url),
                (None, Some(dir)) => Location::Sqlite(dir),
                (None, None) => {
                    eprintln!("error: give --data DIR or --database postgres://…");
                    return ExitCode::FAILURE;
                }
            };
            let db = match Db::open_location(&location) {
                Ok(db) => db,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = match command {
                AdminCommand::CreateUser {
                    id,
                    name,
                    role,
                    regions,
                } => admin::create_user(&db, &id, &name, role.into(), &regions),
                AdminCommand::EnrolCode { user, ttl_hours } => {
                    admin::enrol_code(&db, &user, ttl_hours)
                }
                AdminCommand::SetPassword { user } => {
                    let mut line = String::new();
                    match std::io::stdin().read_line(&mut line) {
                        Ok(_) => {
                            admin::set_password(&db, &user, line.trim_end_matches(['\r', '\n']))
                        }
                        Err(e) => {
                            eprintln!("error: reading the password from stdin: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                AdminCommand::ImportAssignments { file, members } => {
                    admin::import_assignments(&db, &file, members.as_deref())
                }
                AdminCommand::WithdrawAssignment { id } => admin::withdraw_assignment(&db, &id),
                AdminCommand::PublishForm { file } => admin::publish_form(&db, &file),
                AdminCommand::ListUsers => admin::list_users(&db),
                AdminCommand::ListDevices => admin::list_devices(&db),
                AdminCommand::RevokeDevice { id } => admin::revoke_device(&db, &id),
                AdminCommand::Verify => return verify(&db),
            };
            match result {
                Ok(text) => {
                    println!("{}", text.trim_end());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
