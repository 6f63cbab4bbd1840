//! Figure 9: server ingest on PostgreSQL with 20 devices (as figure 4: the phone's HTTP transport, one day of 12
//! visits per batch), first through one `tepat-server`, then through two server processes on the same database (10
//! devices on each); against raw inserts of the very rows the servers stored in each run into a copy of the
//! `visits` table in the same database (same indexes and trigger), 12 rows per transaction, with tokio-postgres's
//! prepared INSERT — in the same run, alternating with the server runs.
//!
//! It needs a PostgreSQL cluster: `make bench` runs the bench inside `server/scripts/pg-cluster.sh run` with
//! `PG_DURABLE=1` (fsync and synchronous commits on, as SQLite's `synchronous=FULL` in figure 4), which exports
//! the admin URL as `TEPAT_TEST_POSTGRES`; this figure creates its own database there.

use std::path::Path;
use std::time::{Duration, Instant};

use tepat_e2e::field::Field;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::ingest::{
    DEVICES, RUNS, cpu_seconds, enrol_devices, median, processes, send_run, server_pids,
};
use crate::memory::DAY;

/// The environment variable naming the cluster (an admin URL).
pub const CLUSTER_ENV: &str = "TEPAT_TEST_POSTGRES";

/// One server run (one or two nodes) and the raw run after it.
#[derive(Debug, Clone, Copy)]
pub struct PgRun {
    pub server: Duration,
    /// CPU seconds of the tepat-server processes and of the PostgreSQL processes during the server run.
    pub servers_cpu: f64,
    pub postgres_cpu: f64,
    pub raw: Duration,
}

pub struct PgIngest {
    /// Visits per run.
    pub visits: usize,
    pub batches: usize,
    pub one_node: Vec<PgRun>,
    pub two_nodes: Vec<PgRun>,
    pub version: String,
    /// Whether the cluster commits durably (fsync and synchronous_commit on).
    pub durable: bool,
}

impl PgIngest {
    fn per_second(&self, d: Duration) -> f64 {
        self.visits as f64 / d.as_secs_f64().max(1e-9)
    }
    pub fn rate(&self, runs: &[PgRun]) -> f64 {
        median(runs.iter().map(|r| self.per_second(r.server)).collect())
    }
    pub fn raw_rate(&self, runs: &[PgRun]) -> f64 {
        median(runs.iter().map(|r| self.per_second(r.raw)).collect())
    }
    /// Median CPU per visit of the tepat-server processes and of PostgreSQL, milliseconds.
    pub fn cpu_per_visit_ms(&self, runs: &[PgRun]) -> (f64, f64) {
        let per = |f: fn(&PgRun) -> f64| {
            median(
                runs.iter()
                    .map(|r| f(r) * 1000.0 / self.visits.max(1) as f64)
                    .collect(),
            )
        };
        (per(|r| r.servers_cpu), per(|r| r.postgres_cpu))
    }
}

/// A blocking tokio-postgres client for the baseline (its connection driven by a runtime of its own).
struct Raw {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Raw {
    fn connect(url: &str) -> Result<Raw, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, NoTls)
                .await
                .map_err(|e| format!("connecting to {url}: {e}"))?;
            tokio::spawn(connection);
            Ok::<_, String>(client)
        })?;
        Ok(Raw { runtime, client })
    }

    fn batch(&self, sql: &str) -> Result<(), String> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| format!("{sql}: {}", message(&e)))
    }

    fn one_row(&self, sql: &str) -> Result<tokio_postgres::Row, String> {
        self.runtime
            .block_on(self.client.query_one(sql, &[]))
            .map_err(|e| format!("{sql}: {}", message(&e)))
    }
}

/// PostgreSQL's own message when it has one ("db error" alone says nothing).
fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string())
}

pub fn run(work: &Path, seed: u64, days: usize) -> Result<PgIngest, String> {
    let cluster = std::env::var(CLUSTER_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            format!(
                "needs a PostgreSQL cluster: {CLUSTER_ENV} is not set (`make bench` starts one)"
            )
        })?;
    let admin = Raw::connect(&cluster)?;
    let name = format!("tepat_bench_{}", std::process::id());
    // One statement each: CREATE DATABASE cannot run inside the transaction a multi-statement string makes.
    admin.batch(&format!("DROP DATABASE IF EXISTS {name}"))?;
    admin.batch(&format!("CREATE DATABASE {name}"))?;
    let url = match cluster.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => return Err(format!("{CLUSTER_ENV} must end with /DATABASE")),
    };
    let result = measure(work, seed, days, &url);
    drop(admin.batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
    result
}

fn measure(work: &Path, seed: u64, days: usize, url: &str) -> Result<PgIngest, String> {
    let dir = work.join("pg-field");
    let mut field =
        Field::start_on_postgres(&dir, seed, url).map_err(|e| format!("the server: {e}"))?;
    let second = field
        .start_another_server()
        .map_err(|e| format!("the second server: {e}"))?;
    let raw = Raw::connect(url)?;
    let version: String = raw.one_row("SHOW server_version")?.get(0);
    let fsync: String = raw.one_row("SHOW fsync")?.get(0);
    let synchronous: String = raw.one_row("SHOW synchronous_commit")?.get(0);
    // A copy of `visits` for the baseline: its indexes, and the trigger that derives columns from the document.
    raw.batch(
        "CREATE TABLE raw_visits (LIKE visits INCLUDING ALL);
         CREATE TRIGGER raw_visits_derive BEFORE INSERT OR UPDATE OF doc ON raw_visits
             FOR EACH ROW EXECUTE FUNCTION visits_derive();",
    )?;
    let first = field.server.url();
    let other = second.url();
    let data = dir.join("server");

    let (mut alone, _) = enrol_devices(&mut field, work, days, "pgone", |_| first.clone())?;
    let visits = DEVICES * days * DAY.len();
    let one_node = runs(&raw, &data, visits, || send_run(&mut alone, days))?;
    // Half the devices on each server.
    let (mut shared, _) = enrol_devices(&mut field, work, days, "pgtwo", |i| {
        if i % 2 == 0 {
            first.clone()
        } else {
            other.clone()
        }
    })?;
    let two_nodes = runs(&raw, &data, visits, || send_run(&mut shared, days))?;
    drop(second);
    Ok(PgIngest {
        visits,
        batches: DEVICES * days,
        one_node,
        two_nodes,
        version,
        durable: fsync == "on" && synchronous == "on",
    })
}

/// [`RUNS`] server runs, each followed by its raw run.
fn runs(
    raw: &Raw,
    data: &Path,
    visits: usize,
    mut load: impl FnMut() -> Result<(Duration, usize), String>,
) -> Result<Vec<PgRun>, String> {
    let mut out = Vec::new();
    for _ in 0..RUNS {
        // The copy holds what `visits` holds before the run, as figure 4's snapshot does.
        raw.batch("TRUNCATE raw_visits; INSERT INTO raw_visits SELECT * FROM visits")?;
        let before = raw
            .one_row("SELECT coalesce(max(seq), 0), coalesce(max(received_at), '') FROM visits")?;
        let (after_seq, received_after): (i64, String) = (before.get(0), before.get(1));
        let servers = server_pids(data);
        let cpu = |pids: &[String]| pids.iter().map(|p| cpu_seconds(p)).sum::<f64>();
        let postgres = postgres_pids();
        let (servers_before, postgres_before) = (cpu(&servers), cpu(&postgres));
        let (server, sent) = load()?;
        let postgres_after = cpu(&postgres_pids());
        let servers_cpu = cpu(&servers) - servers_before;
        let raw_time = raw_inserts(raw, after_seq, &received_after)?;
        if sent != visits {
            return Err(format!("a run sent {sent} visits, not {visits}"));
        }
        out.push(PgRun {
            server,
            servers_cpu,
            // Backends that ended during the run took their CPU with them: a lower bound.
            postgres_cpu: (postgres_after - postgres_before).max(0.0),
            raw: raw_time,
        });
    }
    Ok(out)
}

/// The run's rows, read back and inserted into `raw_visits` [`DAY`]`.len()` rows per transaction. The time taken.
fn raw_inserts(raw: &Raw, after_seq: i64, received_after: &str) -> Result<Duration, String> {
    let e = |e: tokio_postgres::Error| format!("raw inserts: {}", message(&e));
    raw.runtime.block_on(async {
        let select = raw
            .client
            .prepare("SELECT * FROM visits WHERE seq > $1 AND received_at > $2 ORDER BY seq")
            .await
            .map_err(e)?;
        let rows = raw
            .client
            .query(&select, &[&after_seq, &received_after])
            .await
            .map_err(e)?;
        let columns: Vec<(String, Type)> = select
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.type_().clone()))
            .collect();
        let values: Vec<Vec<Box<dyn ToSql + Sync + Send>>> = rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(
                        |(i, (name, ty))| -> Result<Box<dyn ToSql + Sync + Send>, String> {
                            Ok(match *ty {
                                Type::INT8 => {
                                    Box::new(row.try_get::<_, Option<i64>>(i).map_err(e)?)
                                }
                                Type::FLOAT8 => {
                                    Box::new(row.try_get::<_, Option<f64>>(i).map_err(e)?)
                                }
                                Type::TEXT => {
                                    Box::new(row.try_get::<_, Option<String>>(i).map_err(e)?)
                                }
                                ref other => return Err(format!("column {name}: type {other}")),
                            })
                        },
                    )
                    .collect::<Result<_, String>>()
            })
            .collect::<Result<_, String>>()?;
        let insert = format!(
            "INSERT INTO raw_visits ({}) VALUES ({})",
            columns
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            (1..=columns.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let insert = raw.client.prepare(&insert).await.map_err(e)?;
        let started = Instant::now();
        for chunk in values.chunks(DAY.len().max(1)) {
            raw.client.batch_execute("BEGIN").await.map_err(e)?;
            for row in chunk {
                let params: Vec<&(dyn ToSql + Sync)> = row
                    .iter()
                    .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                raw.client.execute(&insert, &params).await.map_err(e)?;
            }
            raw.client.batch_execute("COMMIT").await.map_err(e)?;
        }
        Ok(started.elapsed())
    })
}

/// The PostgreSQL server's processes (postmaster and backends), by their command line.
fn postgres_pids() -> Vec<String> {
    processes(|args| {
        // The postmaster by its path, the backends by their title (`postgres: user db …`).
        args.first()
            .is_some_and(|a| a.starts_with("postgres") || a.ends_with("/postgres"))
    })
}
