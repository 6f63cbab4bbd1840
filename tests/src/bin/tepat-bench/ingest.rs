//! Figure 4: server ingest with 20 devices syncing at once over loopback, each through the phone's own HTTP
//! transport (gzip JSON, one batch = one day of 12 visits), against the real release `tepat-server`; against raw
//! rusqlite inserts of the rows the server stored (same schema and pragmas, one transaction per batch).
//!
//! Commits are fsynced and a shared VM's fsync time swings several-fold from one minute to the next, so server
//! and raw runs alternate ([`RUNS`] of each, each raw run right after the server run whose rows it inserts again)
//! and the figure is the median of each: both meet the same disk.

use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, TransactionBehavior};
use tepat_e2e::field::{Field, REGION, assignments_csv};
use tepat_protocol::{
    Assignment, EnrolRequest, PROTOCOL_VERSION, ReceiptStatus, SyncRequest, VisitDoc,
};
use tepat_runtime::{HttpConfig, HttpTransport, Transport};
use uuid::Uuid;

use crate::memory::{DAY, Rss, rss_of};

pub const DEVICES: usize = 20;
/// Server runs, and as many raw runs, alternating.
pub const RUNS: usize = 3;

/// One server run and the raw run after it.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// The server's load: every device's batches of this run.
    pub server: Duration,
    /// CPU seconds used during it by the server and by the 20 simulated devices (this process): both share the
    /// machine's cores.
    pub server_cpu: f64,
    pub devices_cpu: f64,
    /// The same rows inserted again, raw.
    pub raw: Duration,
}

pub struct Ingest {
    pub devices: usize,
    /// Visits per run.
    pub visits: usize,
    /// Batches per run.
    pub batches: usize,
    pub batch_size: usize,
    /// In the order run.
    pub runs: Vec<Run>,
    /// The server before the first run (started, set up) and after the last.
    pub server_before: Rss,
    pub server_after: Rss,
    /// `CompiledForm::validate` of one run's visits in one thread of this process: the form engine's share.
    pub validation: Duration,
}

/// The middle value (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

impl Ingest {
    /// Median server rate, visits per second.
    pub fn rate(&self) -> f64 {
        median(
            self.runs
                .iter()
                .map(|r| self.per_second(r.server))
                .collect(),
        )
    }
    /// Median raw rate, visits per second.
    pub fn raw_rate(&self) -> f64 {
        median(self.runs.iter().map(|r| self.per_second(r.raw)).collect())
    }
    /// Median server CPU per visit, milliseconds.
    pub fn cpu_per_visit_ms(&self) -> f64 {
        median(
            self.runs
                .iter()
                .map(|r| r.server_cpu * 1000.0 / self.visits.max(1) as f64)
                .collect(),
        )
    }
    fn per_second(&self, d: Duration) -> f64 {
        self.visits as f64 / d.as_secs_f64().max(1e-9)
    }
}

pub struct Device {
    transport: HttpTransport,
    device_id: String,
    cursor: u64,
    days: Vec<Vec<VisitDoc>>,
}

/// [`DEVICES`] enumerators, each with `RUNS * days` days of assignments imported, enrolled on a device that syncs
/// straight to `url_of(device index)` (not through the harness's proxy) and has had its morning sync; and what one
/// run sends (the first run's visits; every run's are alike).
pub fn enrol_devices(
    field: &mut Field,
    dir: &Path,
    days: usize,
    prefix: &str,
    url_of: impl Fn(usize) -> String,
) -> Result<(Vec<Device>, Vec<VisitDoc>), String> {
    let e = |e: tepat_e2e::Error| e.to_string();
    let mut people: Vec<(String, Vec<Assignment>)> = Vec::new();
    for i in 0..DEVICES {
        let user = format!("{prefix}{:02}", i + 1);
        field
            .admin
            .create_user(
                &user,
                &format!("Pendamping {}", i + 1),
                "enumerator",
                &[REGION],
            )
            .map_err(e)?;
        let assignments = field
            .generator
            .assignments(REGION, RUNS * days * DAY.len())
            .map_err(|e| e.to_string())?;
        people.push((user, assignments));
    }
    let rows: Vec<(&str, &Assignment)> = people
        .iter()
        .flat_map(|(user, list)| list.iter().map(move |a| (user.as_str(), a)))
        .collect();
    let csv = dir.join(format!("{prefix}-assignments.csv"));
    std::fs::write(&csv, assignments_csv(&rows)).map_err(|e| e.to_string())?;
    field.admin.import_assignments(&csv).map_err(e)?;
    let mut devices = Vec::new();
    for (i, (user, assignments)) in people.iter().enumerate() {
        let transport =
            HttpTransport::new(&HttpConfig::new(url_of(i))).map_err(|e| e.to_string())?;
        let enrolled = transport
            .enrol(&EnrolRequest {
                code: field.admin.enrol_code(user).map_err(e)?,
                device_name: format!("HP {user}"),
            })
            .map_err(|e| format!("enrol {user}: {}", e.detail))?;
        transport.set_token(Some(&enrolled.token));
        let mut docs = Vec::new();
        for (k, assignment) in assignments.iter().enumerate() {
            let outcome = DAY.get(k % DAY.len()).copied().unwrap_or_default();
            docs.push(
                field
                    .generator
                    .visit_for(assignment, outcome)
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut device = Device {
            transport,
            device_id: enrolled.device_id,
            cursor: 0,
            days: docs.chunks(DAY.len()).map(<[VisitDoc]>::to_vec).collect(),
        };
        // The morning sync brings the assignments; the measured syncs then carry only the day's visits.
        loop {
            let morning = sync(&device, Vec::new())?;
            device.cursor = morning.0;
            if !morning.1 {
                break;
            }
        }
        devices.push(device);
    }
    let one_run: Vec<VisitDoc> = devices
        .iter()
        .flat_map(|d| d.days.iter().take(days).flatten().cloned())
        .collect();
    Ok((devices, one_run))
}

/// One run: every device sends its next `days` batches, all devices at once (released together by a barrier).
/// Returns the time from the release to the last receipt, and the visits sent.
pub fn send_run(devices: &mut [Device], days: usize) -> Result<(Duration, usize), String> {
    let barrier = Barrier::new(devices.len() + 1);
    std::thread::scope(|s| -> Result<(Duration, usize), String> {
        let handles: Vec<_> = devices
            .iter_mut()
            .map(|device| {
                let barrier = &barrier;
                s.spawn(move || -> Result<usize, String> {
                    barrier.wait();
                    let mut sent = 0;
                    for day in device
                        .days
                        .drain(..days.min(device.days.len()))
                        .collect::<Vec<_>>()
                    {
                        let n = day.len();
                        let (cursor, _) = sync(device, day)?;
                        device.cursor = cursor;
                        sent += n;
                    }
                    Ok(sent)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let mut sent = 0;
        for handle in handles {
            sent += handle.join().map_err(|_| "a device thread panicked")??;
        }
        Ok((started.elapsed(), sent))
    })
}

pub fn run(field: &mut Field, dir: &Path, days: usize) -> Result<Ingest, String> {
    // Straight to the server: the proxy is the test harness's, not part of what is measured.
    let url = field.server.url();
    let (mut devices, one_run) = enrol_devices(field, dir, days, "ingest", |_| url.clone())?;
    let db_path = field.server.data().join("tepat.db");
    let pid = server_pid(field.server.data()).ok_or("the server process is not found in /proc")?;
    let server_before = rss_of(&pid).unwrap_or_default();
    let mut runs = Vec::new();
    let mut visits = 0;
    for run in 0..RUNS {
        // The raw run inserts this run's rows into the database as it was just before it.
        let baseline = dir.join(format!("raw-{run}.db"));
        snapshot(&db_path, &baseline)?;
        let (first_seq, last_received) = max_seq(&db_path)?;
        let (server_cpu_before, own_cpu_before) = (cpu_seconds(&pid), cpu_seconds("self"));
        let (elapsed, sent) = send_run(&mut devices, days)?;
        let server_cpu = cpu_seconds(&pid) - server_cpu_before;
        let devices_cpu = cpu_seconds("self") - own_cpu_before;
        let raw = raw_inserts(&db_path, &baseline, first_seq, &last_received, DAY.len())?;
        let _ = std::fs::remove_file(&baseline);
        if run > 0 && sent != visits {
            return Err(format!("run {run} sent {sent} visits, run 0 sent {visits}"));
        }
        visits = sent;
        runs.push(Run {
            server: elapsed,
            server_cpu,
            devices_cpu,
            raw,
        });
    }
    let server_after = rss_of(&pid).unwrap_or_default();
    let form = crate::household::dtsen()?;
    let started = Instant::now();
    for doc in &one_run {
        std::hint::black_box(form.validate(&doc.answers, doc.visit_date));
    }
    let validation = started.elapsed();
    Ok(Ingest {
        validation,
        runs,
        devices: DEVICES,
        visits,
        batches: DEVICES * days,
        batch_size: DAY.len(),
        server_before,
        server_after,
    })
}

/// One sync with these visits; every receipt must be `accepted` (or `duplicate` after a retry). Returns the next
/// cursor and whether more changes wait.
fn sync(device: &Device, visits: Vec<VisitDoc>) -> Result<(u64, bool), String> {
    let n = visits.len();
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: device.device_id.clone(),
        batch_id: Uuid::now_v7(),
        cursor: device.cursor,
        visits,
        trails: Vec::new(),
    };
    let response = device
        .transport
        .sync(&request)
        .map_err(|e| format!("sync of {}: {:?} {}", device.device_id, e.kind, e.detail))?;
    let accepted = response
        .receipts
        .iter()
        .filter(|r| matches!(r.status, ReceiptStatus::Accepted | ReceiptStatus::Duplicate))
        .count();
    if accepted != n {
        return Err(format!(
            "{} of {n} visits accepted: {:?}",
            accepted,
            response
                .receipts
                .iter()
                .find(|r| r.status == ReceiptStatus::Rejected)
        ));
    }
    Ok((response.next_cursor, response.more))
}

/// A consistent copy of the server's database as it is now (schema, users, assignments, forms).
fn snapshot(db: &Path, to: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(to);
    let conn = Connection::open(db).map_err(|e| e.to_string())?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    conn.execute("VACUUM INTO ?1", [to.display().to_string()])
        .map_err(|e| format!("VACUUM INTO: {e}"))?;
    Ok(())
}

/// The highest `seq` and the latest `received_at` of the stored visits: what a run's rows come after.
fn max_seq(db: &Path) -> Result<(i64, String), String> {
    let conn = Connection::open(db).map_err(|e| e.to_string())?;
    conn.query_row(
        "SELECT coalesce(max(seq), 0), coalesce(max(received_at), '') FROM visits",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(|e| e.to_string())
}

/// The server's rows of this run, inserted again into the snapshot `raw` with the server's pragmas (WAL,
/// `synchronous=FULL`, foreign keys), `batch` rows per IMMEDIATE transaction. Returns the time taken.
fn raw_inserts(
    server_db: &Path,
    raw: &Path,
    after_seq: i64,
    received_after: &str,
    batch: usize,
) -> Result<Duration, String> {
    let sql = |e: rusqlite::Error| format!("raw inserts: {e}");
    let source = Connection::open(server_db).map_err(sql)?;
    let mut select = source
        // Rows received in this run: an earlier visit whose signals of fabrication this run changed also moved to
        // a higher `seq` (server/README.md), but it is in the snapshot already.
        .prepare("SELECT * FROM visits WHERE seq > ?1 AND received_at > ?2 ORDER BY seq")
        .map_err(sql)?;
    let columns: Vec<String> = select.column_names().map(str::to_string).collect();
    let rows: Vec<Vec<SqlValue>> = select
        .query_map(rusqlite::params![after_seq, received_after], |row| {
            (0..columns.len())
                .map(|i| row.get::<_, SqlValue>(i))
                .collect()
        })
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    let mut conn = Connection::open(raw).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql)?;
    let insert = format!(
        "INSERT INTO visits ({}) VALUES ({})",
        columns.join(", "),
        (1..=columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let started = Instant::now();
    for chunk in rows.chunks(batch.max(1)) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        {
            let mut stmt = tx.prepare_cached(&insert).map_err(sql)?;
            for row in chunk {
                stmt.execute(rusqlite::params_from_iter(row.iter()))
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
    }
    Ok(started.elapsed())
}

/// User + system CPU time of a process (`self` or a pid), in seconds (clock ticks of 1/100 s, as Linux reports).
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after its closing parenthesis are plain.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The pid of the `tepat-server serve` whose data directory is `data` (the harness keeps its child private).
pub fn server_pid(data: &Path) -> Option<String> {
    server_pids(data).into_iter().next()
}

/// Every `tepat-server serve` process of the data directory `data` (servers of one PostgreSQL database share it).
pub fn server_pids(data: &Path) -> Vec<String> {
    processes(|args| args.iter().any(|a| a == "serve") && args.iter().any(|a| Path::new(a) == data))
}

/// The pids of the processes whose command line (its arguments) `wanted` accepts.
pub fn processes(wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().to_string();
            if !pid.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).to_string())
                .collect();
            wanted(&args).then_some(pid)
        })
        .collect()
}
