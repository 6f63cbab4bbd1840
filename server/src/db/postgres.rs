//! The server's store on PostgreSQL (`tepat-server serve --database postgres://…`): a pool of tokio-postgres
//! connections driven by a runtime of their own, so the server's blocking code (`api::blocking`, admin
//! commands, tests) runs its statements as it does on SQLite, from any thread.
//!
//! Several server processes may share one database. What SQLite gets from its single writer, PostgreSQL gets from
//! one transaction-scoped advisory lock taken by every write transaction ([`WRITE_LOCK`]): writes are serialised
//! across every node, so sequence numbers (the change feed's `seq`, the supervisors' pull counter) are handed out
//! in commit order and a cursor never skips a change committed late; unique constraints still refuse what a
//! retried batch would duplicate. Reads run in parallel in REPEATABLE READ snapshots, as SQLite's WAL readers do.
//!
//! Depends on `sql` (the portable statements) and `migrations` (the version this server knows).

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use futures_executor::block_on;
use tokio_postgres::types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type, to_sql_checked};
use tokio_postgres::{Client, IsolationLevel, NoTls};

use super::DbError;
use super::sql::{Changes, Column, Error, Result, Transaction, Value, ValueRef};

/// The PostgreSQL schema as of [`BASELINE_VERSION`]: what a new database is created with.
const SCHEMA: &str = include_str!("postgres_schema.sql");

/// The SQLite schema version that [`SCHEMA`] matches.
pub const BASELINE_VERSION: u32 = 12;

/// Steps after the baseline, in order: step `i` brings version `BASELINE_VERSION + i` to the next. Every SQLite
/// migration added after version 12 adds its PostgreSQL counterpart here (a test checks both reach the same version).
pub const MIGRATIONS: &[&str] = &[
    // 13 (SQLite's SIGNAL_FLAG_DETAIL): a village's "not found" flag keeps its numbers once per enumerator.
    "ALTER TABLE signal_village_flags ADD COLUMN detail TEXT COLLATE \"C\";",
];

/// The schema version a PostgreSQL database reaches with [`MIGRATIONS`].
pub const LATEST_VERSION: u32 = BASELINE_VERSION + MIGRATIONS.len() as u32;

/// Every write transaction holds this advisory lock until it ends (see the module's doc).
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(7346721001)";

/// Migrating holds this one, so two servers starting together do not both create the schema.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7346721002)";

/// How long a statement waits for a lock (another node's write) before giving up with `busy`, as SQLite's busy
/// timeout.
const LOCK_TIMEOUT: &str = "10s";

/// How long a request waits for a free connection before `busy`.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Distinct statements kept prepared per connection (the console's filters compose a few hundred at most).
const STATEMENT_CACHE: usize = 512;

/// Connections an admin command (or a caller that names no size) keeps open at most, unless the URL's
/// `tepat_pool` says otherwise; `serve` opens as many as it has request slots (`--max-concurrent-requests`).
pub const DEFAULT_POOL: usize = 16;

/// One PostgreSQL database: the connection settings, the pool and the runtime that drives the connections.
pub struct PgDb {
    config: tokio_postgres::Config,
    /// Where the URL came from, for messages: host and database name, never the password.
    label: String,
    max_connections: usize,
    pool: Mutex<Pool>,
    available: Condvar,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb")
            .field("database", &self.label)
            .finish()
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<PgSession>,
    open: usize,
}

/// One connection and the statements prepared on it.
pub struct PgSession {
    client: Client,
    statements: RefCell<HashMap<String, tokio_postgres::Statement>>,
}

impl PgDb {
    /// Connects (checking the URL, the server and the schema) and brings the schema to [`LATEST_VERSION`].
    pub fn connect(url: &str, default_pool: usize) -> Result<PgDb, DbError> {
        let (url, max_connections) = pool_size(url, default_pool.clamp(1, 1000))?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| DbError::DatabaseUrl(format!("{e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("tepat-server");
        }
        let label = describe(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tepat-postgres")
            .enable_all()
            .build()
            .map_err(|e| DbError::Corrupt(format!("cannot start the PostgreSQL runtime: {e}")))?;
        let db = PgDb {
            config,
            label,
            max_connections,
            pool: Mutex::new(Pool::default()),
            available: Condvar::new(),
            runtime: Some(runtime),
        };
        db.migrate()?;
        Ok(db)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    fn open_session(&self) -> Result<PgSession, Error> {
        let Some(runtime) = &self.runtime else {
            return Err(Error::Connection("the server is stopping".to_string()));
        };
        let config = self.config.clone();
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        // The connection is driven by this database's own runtime, whatever thread (or runtime) asked.
        runtime.spawn(async move {
            match config.connect(NoTls).await {
                Ok((client, connection)) => {
                    let _ = sender.send(Ok(client));
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %e, "PostgreSQL connection ended");
                    }
                }
                Err(e) => {
                    let _ = sender.send(Err(e));
                }
            }
        });
        let client = receiver
            .recv()
            .map_err(|_| Error::Connection("the PostgreSQL runtime stopped".to_string()))??;
        block_on(client.batch_execute(&format!(
            "SET lock_timeout = '{LOCK_TIMEOUT}'; SET TIME ZONE 'UTC'"
        )))?;
        Ok(PgSession {
            client,
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// A connection from the pool (opened when none is idle and the pool is not full; waits otherwise).
    fn session(&self) -> Result<Pooled<'_>, Error> {
        let mut pool = lock(&self.pool);
        loop {
            while let Some(session) = pool.idle.pop() {
                if !session.client.is_closed() {
                    return Ok(Pooled {
                        db: self,
                        session: Some(session),
                    });
                }
                pool.open -= 1;
            }
            if pool.open < self.max_connections {
                pool.open += 1;
                drop(pool);
                return match self.open_session() {
                    Ok(session) => Ok(Pooled {
                        db: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        lock(&self.pool).open -= 1;
                        self.available.notify_one();
                        Err(e)
                    }
                };
            }
            let (guard, timeout) = self
                .available
                .wait_timeout(pool, POOL_WAIT)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            pool = guard;
            if timeout.timed_out() && pool.idle.is_empty() && pool.open >= self.max_connections {
                return Err(Error::Connection(format!(
                    "all {} connections to {} are busy",
                    self.max_connections, self.label
                )));
            }
        }
    }

    /// Runs `f` in one write transaction holding [`WRITE_LOCK`]: committed when `f` returns Ok.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut pooled = self.session()?;
        let session = pooled.get()?;
        let PgSession { client, statements } = session;
        let tx = block_on(client.transaction()).map_err(Error::from)?;
        block_on(tx.batch_execute(WRITE_LOCK)).map_err(Error::from)?;
        run_and_commit(tx, statements, f)
    }

    /// Runs `f` in one read-only REPEATABLE READ transaction (a consistent snapshot).
    pub fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut pooled = self.session()?;
        let session = pooled.get()?;
        let PgSession { client, statements } = session;
        let tx = block_on(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )
        .map_err(Error::from)?;
        run_and_commit(tx, statements, f)
    }

    /// Creates the schema in an empty database, refuses one newer than this server, applies missing steps.
    fn migrate(&self) -> Result<(), DbError> {
        let mut pooled = self.session()?;
        let session = pooled.get()?;
        let tx = block_on(session.client.transaction()).map_err(Error::from)?;
        block_on(tx.batch_execute(MIGRATION_LOCK)).map_err(Error::from)?;
        let exists: bool =
            block_on(tx.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]))
                .map_err(Error::from)?
                .get(0);
        if !exists {
            block_on(tx.batch_execute(SCHEMA)).map_err(Error::from)?;
            tracing::info!(version = BASELINE_VERSION, database = %self.label, "PostgreSQL schema created");
        }
        let found: i64 = block_on(tx.query_one("SELECT max(version) FROM schema_version", &[]))
            .map_err(Error::from)?
            .try_get::<_, Option<i64>>(0)
            .map_err(Error::from)?
            .ok_or_else(|| DbError::Corrupt("schema_version holds no row".to_string()))?;
        let found = u32::try_from(found)
            .map_err(|_| DbError::Corrupt(format!("schema_version {found}")))?;
        if found > LATEST_VERSION {
            return Err(DbError::TooNew {
                found,
                known: LATEST_VERSION,
            });
        }
        if found < BASELINE_VERSION {
            return Err(DbError::Corrupt(format!(
                "schema_version {found} is older than the PostgreSQL baseline {BASELINE_VERSION}"
            )));
        }
        for (step, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip((found - BASELINE_VERSION) as usize)
        {
            block_on(tx.batch_execute(sql)).map_err(Error::from)?;
            let version = i64::from(BASELINE_VERSION) + step as i64 + 1;
            block_on(tx.execute("UPDATE schema_version SET version = $1", &[&version]))
                .map_err(Error::from)?;
            tracing::info!(version, database = %self.label, "PostgreSQL schema migrated");
        }
        block_on(tx.commit()).map_err(Error::from)?;
        Ok(())
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32, DbError> {
        let version: i64 = self
            .read(|tx| tx.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0)))?;
        u32::try_from(version).map_err(|_| DbError::Corrupt(format!("schema_version {version}")))
    }
}

/// Runs `f` on an open transaction: committed when `f` returns Ok, rolled back (when dropped) otherwise.
fn run_and_commit<T, E>(
    tx: tokio_postgres::Transaction<'_>,
    statements: &RefCell<HashMap<String, tokio_postgres::Statement>>,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Error>,
{
    let pg = PgTx {
        tx,
        statements,
        changes: Changes::default(),
    };
    let value = f(&Transaction::postgres(&pg))?;
    block_on(pg.tx.commit()).map_err(Error::from)?;
    Ok(value)
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Dropping a runtime blocks; a database dropped on an async task (a test, a server stopping) must not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `tepat_pool=N` in the URL's query: how many connections this server opens at most (taken out of the URL,
/// which tokio-postgres would refuse with it).
fn pool_size(url: &str, default: usize) -> Result<(String, usize), DbError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), default));
    };
    let mut size = default;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("tepat_pool=") {
            Some(n) => {
                size = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        DbError::DatabaseUrl(format!(
                            "tepat_pool={n}: expected 1 to 1000 connections"
                        ))
                    })?;
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, size))
}

/// Host(s) and database name of a configuration, for logs and errors: never its password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => format!("{}", path.display()),
        })
        .collect();
    format!(
        "postgres://{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connection lent by the pool; back to it when dropped (closed ones are not kept).
struct Pooled<'p> {
    db: &'p PgDb,
    session: Option<PgSession>,
}

impl Pooled<'_> {
    fn get(&mut self) -> Result<&mut PgSession, Error> {
        // Only `Drop` takes the session out.
        self.session
            .as_mut()
            .ok_or_else(|| Error::Connection("connection already returned".to_string()))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut pool = lock(&self.db.pool);
        match self.session.take() {
            Some(session) if !session.client.is_closed() => pool.idle.push(session),
            _ => pool.open = pool.open.saturating_sub(1),
        }
        drop(pool);
        self.db.available.notify_one();
    }
}

/// One open PostgreSQL transaction with its connection's statement cache.
pub struct PgTx<'c> {
    tx: tokio_postgres::Transaction<'c>,
    statements: &'c RefCell<HashMap<String, tokio_postgres::Statement>>,
    changes: Changes,
}

impl PgTx<'_> {
    pub(super) fn prepare(&self, sql: &str) -> Result<PgStatement<'_>> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(PgStatement {
                tx: self,
                statement: statement.clone(),
            });
        }
        let statement = block_on(self.tx.prepare(&translate_placeholders(sql)))?;
        let mut statements = self.statements.borrow_mut();
        if statements.len() >= STATEMENT_CACHE {
            statements.clear();
        }
        statements.insert(sql.to_string(), statement.clone());
        Ok(PgStatement {
            tx: self,
            statement,
        })
    }

    pub(super) fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(block_on(self.tx.batch_execute(sql))?)
    }

    pub(super) fn changes(&self) -> u64 {
        self.changes.get()
    }
}

/// A statement prepared on one transaction's connection.
pub struct PgStatement<'t> {
    tx: &'t PgTx<'t>,
    statement: tokio_postgres::Statement,
}

impl<'t> PgStatement<'t> {
    fn bind<'v>(&self, values: &'v [ValueRef<'v>]) -> Result<Vec<PgParam<'v>>> {
        let expected = self.statement.params().len();
        if values.len() != expected {
            return Err(Error::Parameter {
                index: values.len(),
                problem: format!("{} values for {expected} placeholders", values.len()),
            });
        }
        Ok(values.iter().map(|v| PgParam(*v)).collect())
    }

    pub(super) fn execute(&self, values: &[ValueRef<'_>]) -> Result<usize> {
        let params = self.bind(values)?;
        let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let changed = block_on(self.tx.tx.execute(&self.statement, &refs))?;
        self.tx.changes.set(changed);
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Every row of the result at once (a lookup: one round trip).
    pub(super) fn query_all(&self, values: &[ValueRef<'_>]) -> Result<Vec<tokio_postgres::Row>> {
        let params = self.bind(values)?;
        let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
        Ok(block_on(self.tx.tx.query(&self.statement, &refs))?)
    }

    /// The rows through a cursor (a portal of this transaction), [`FETCH_ROWS`] at a time: an export of 100,000
    /// visits holds one chunk in memory, and other statements may run on the connection between chunks.
    pub(super) fn query(&self, values: &[ValueRef<'_>]) -> Result<PgRows<'t>> {
        let params = self.bind(values)?;
        let refs: Vec<&(dyn PgToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let portal = block_on(self.tx.tx.bind(&self.statement, &refs))?;
        Ok(PgRows {
            tx: self.tx,
            portal: Some(portal),
            buffer: std::collections::VecDeque::new(),
            current: None,
        })
    }

    /// The same rows read from [`PgStatement::query_all`]'s one round trip.
    pub(super) fn query_collected(&self, values: &[ValueRef<'_>]) -> Result<PgRows<'t>> {
        Ok(PgRows {
            tx: self.tx,
            portal: None,
            buffer: self.query_all(values)?.into(),
            current: None,
        })
    }
}

/// Rows fetched per round trip by [`PgStatement::query`]: few, as a row may be large (a visit of a family of 30 with
/// its exported answers is tens of kilobytes) and every stalled export holds one chunk.
const FETCH_ROWS: i32 = 32;

/// A query's rows: fetched in chunks from its portal while it has one, else all already in `buffer`.
pub struct PgRows<'t> {
    tx: &'t PgTx<'t>,
    /// `None` once the portal gave its last chunk (or for collected rows).
    portal: Option<tokio_postgres::Portal>,
    buffer: std::collections::VecDeque<tokio_postgres::Row>,
    /// The row [`PgRows::next`] lent out last.
    current: Option<tokio_postgres::Row>,
}

impl PgRows<'_> {
    pub(super) fn next(&mut self) -> Result<Option<&tokio_postgres::Row>> {
        if self.buffer.is_empty()
            && let Some(portal) = &self.portal
        {
            let chunk = block_on(self.tx.tx.query_portal(portal, FETCH_ROWS))?;
            if chunk.len() < FETCH_ROWS as usize {
                self.portal = None;
            }
            self.buffer.extend(chunk);
        }
        self.current = self.buffer.pop_front();
        Ok(self.current.as_ref())
    }
}

/// The value of a column of a PostgreSQL row.
pub(super) fn column_value(row: &tokio_postgres::Row, column: Column<'_>) -> Result<Value> {
    let index = match column {
        Column::At(i) => i,
        Column::Named(name) => row
            .columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::Column {
                column: name.to_string(),
                problem: super::sql::FromSqlError::Other("no such column".to_string()),
            })?,
    };
    Ok(row.try_get::<_, PgValue>(index)?.0)
}

/// SQLite's placeholders (`?NNN`, `?`) as PostgreSQL's (`$NNN`), outside string literals, quoted names and
/// comments.
pub fn translate_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut highest = 0u32;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    out.push(inner);
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let number = match digits.parse::<u32>() {
                    Ok(n) => n,
                    // A bare `?` is one past the highest number so far, as in SQLite.
                    Err(_) => highest + 1,
                };
                highest = highest.max(number);
                out.push('$');
                out.push_str(&number.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value bound to a placeholder, encoded in the type PostgreSQL inferred for it.
#[derive(Debug)]
struct PgParam<'a>(ValueRef<'a>);

type BoxError = Box<dyn StdError + Sync + Send>;

impl PgToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let text_types = [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::UNKNOWN,
        ];
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                ref t if text_types.contains(t) => i.to_string().to_sql(&Type::TEXT, out),
                ref t => Err(format!("an integer cannot be stored as {t}").into()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                ref t if text_types.contains(t) => f.to_string().to_sql(&Type::TEXT, out),
                ref t => Err(format!("a real cannot be stored as {t}").into()),
            },
            ValueRef::Text(s) => match *ty {
                ref t if text_types.contains(t) => s.to_sql(&Type::TEXT, out),
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                ref t => Err(format!("text cannot be stored as {t}").into()),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                ref t => Err(format!("a blob cannot be stored as {t}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column read in SQLite's storage classes.
struct PgValue(Value);

impl<'a> PgFromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(PgValue(match *ty {
            Type::BOOL => Value::Integer(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Value::Integer(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Integer(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::OID => Value::Integer(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                Value::Text(String::from_sql(&Type::TEXT, raw)?)
            }
            Type::JSONB => match raw.split_first() {
                Some((1, json)) => Value::Text(std::str::from_utf8(json)?.to_string()),
                _ => return Err("unknown JSONB version".into()),
            },
            Type::BYTEA => Value::Blob(raw.to_vec()),
            ref t => return Err(format!("columns of type {t} are not read by this server").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC (what `sum` of BIGINTs gives): an integer when it has no fractional digits and
/// fits, a real otherwise.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC".into())
    };
    let digits = usize::try_from(word(0)?)?;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    let scale = word(3)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let negative = sign == 0x4000;
    let mut integer: Option<i64> = Some(0);
    let mut real = 0f64;
    for i in 0..digits {
        let digit = i64::from(word(4 + i)?);
        let power = weight - i as i32;
        real += digit as f64 * 10_000f64.powi(power);
        integer = match (integer, power) {
            (Some(acc), p) if p >= 0 => 10_000i64
                .checked_pow(p as u32)
                .and_then(|m| digit.checked_mul(m))
                .and_then(|d| acc.checked_add(d)),
            (acc, _) if digit == 0 => acc,
            _ => None,
        };
    }
    Ok(match integer.filter(|_| scale == 0) {
        Some(i) => Value::Integer(if negative { -i } else { i }),
        None => Value::Real(if negative { -real } else { real }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_numbers_outside_literals() {
        assert_eq!(
            translate_placeholders(
                "SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?3' -- ?4\n AND e = ?"
            ),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?3' -- ?4\n AND e = $13"
        );
        assert_eq!(
            translate_placeholders("SELECT \"?x\", /* ? */ ?, ?"),
            "SELECT \"?x\", /* ? */ $1, $2"
        );
    }

    #[test]
    fn numeric_sums_read_as_integers_or_reals() {
        // 123456789 = 1|2345|6789 in base 10,000: weight 2.
        let mut raw = Vec::new();
        for w in [3i16, 2, 0, 0, 1, 2345, 6789] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(123_456_789));
        // -1.5 = 1 . 5000, weight 0, negative, scale 1.
        let mut raw = Vec::new();
        for w in [2i16, 0, 0x4000, 1, 1, 5000] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&raw).unwrap(), Value::Real(-1.5));
        // Zero: no digits.
        let mut raw = Vec::new();
        for w in [0i16, 0, 0, 0] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(0));
    }

    #[test]
    fn the_pool_size_is_taken_out_of_the_url() {
        let (url, size) = pool_size("postgres://u@h/db?tepat_pool=4&sslmode=disable", 16).unwrap();
        assert_eq!(
            (url.as_str(), size),
            ("postgres://u@h/db?sslmode=disable", 4)
        );
        assert!(matches!(
            pool_size("postgres://u@h/db?tepat_pool=0", 16),
            Err(DbError::DatabaseUrl(_))
        ));
        assert_eq!(pool_size("postgres://u@h/db", 64).unwrap().1, 64);
    }
}
