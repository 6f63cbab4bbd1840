//! `tepat-server`: the sync server (`serve`) and the admin commands (`admin`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shared::protocol::Role;
use tepat_server::admin;
use tepat_server::config::Limits;
use tepat_server::db::Db;
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
    /// Serve the HTTP API until SIGTERM/SIGINT.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 (port 0 picks a free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Data directory (created if missing); holds the SQLite database.
        #[arg(long)]
        data: PathBuf,
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
    },
    /// Administration: users, enrolment codes, assignments, forms.
    Admin {
        /// Data directory (created if missing).
        #[arg(long)]
        data: PathBuf,
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
    /// Import assignments from a CSV file (format: schemas/assignments.md); all or nothing.
    ImportAssignments { file: PathBuf },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data,
            log_format,
            max_body_bytes,
            max_decompressed_bytes,
            max_visits_per_batch,
            max_page_size,
        } => {
            init_logging(log_format);
            let limits = Limits {
                max_body_bytes,
                max_decompressed_bytes,
                max_visits_per_batch,
                max_page_size,
                default_page_size: Limits::default().default_page_size.min(max_page_size),
                ..Limits::default()
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = runtime.block_on(async {
                let (listener, router) = serve::bind(&listen, &data, limits).await?;
                serve::serve(listener, router, serve::shutdown_signal()).await
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
        Command::Admin { data, command } => {
            init_logging(LogFormat::Human);
            let db = match Db::open(&data) {
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
                AdminCommand::ImportAssignments { file } => admin::import_assignments(&db, &file),
                AdminCommand::WithdrawAssignment { id } => admin::withdraw_assignment(&db, &id),
                AdminCommand::PublishForm { file } => admin::publish_form(&db, &file),
                AdminCommand::ListUsers => admin::list_users(&db),
                AdminCommand::ListDevices => admin::list_devices(&db),
                AdminCommand::RevokeDevice { id } => admin::revoke_device(&db, &id),
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
