//! The SQL the server speaks, over either store: one [`Transaction`] type whose statements run on SQLite (rusqlite)
//! or on PostgreSQL (tokio-postgres, `super::postgres`). Every module of the server writes its SQL once, in the
//! dialect both accept (`?N` placeholders, `INSERT ... ON CONFLICT`, `RETURNING`, `CASE` rather than boolean
//! arithmetic, no JSON functions), reads typed values with [`Row::get`] and binds them with [`params!`]: the
//! same shapes as rusqlite's, so a query reads the same whichever store answers it.
//!
//! Values cross as SQLite's five storage classes ([`Value`]): PostgreSQL's BIGINT/BOOLEAN/NUMERIC read as
//! integers, DOUBLE PRECISION as reals, TEXT/JSON as text, BYTEA as blobs; a parameter is encoded in whatever
//! type PostgreSQL inferred for its placeholder (an integer bound where text is expected is sent as its decimal
//! text, as SQLite's affinity would store it).
//!
//! Depends on rusqlite and tokio-postgres only; knows nothing of the server's tables.

use std::cell::Cell;
use std::fmt;

use super::postgres::{PgStatement, PgTx};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which store answers: the few statements that cannot be written once ask (e.g. SQLite's page cache pragma).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// SQL for the JSON text of a top-level member of the JSON document in `column` whose value is an object or
    /// an array (NULL when absent); `key` is a literal identifier of the server's own, never input.
    pub fn json_member(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Dialect::Postgres => format!("({column}::json -> '{key}')::text"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Sqlite(rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("query returned no rows")]
    QueryReturnedNoRows,
    #[error("column {column}: {problem}")]
    Column {
        column: String,
        problem: FromSqlError,
    },
    #[error("parameter {index}: {problem}")]
    Parameter { index: usize, problem: String },
    #[error("PostgreSQL connection: {0}")]
    Connection(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::QueryReturnedNoRows,
            e => Error::Sqlite(e),
        }
    }
}

/// PostgreSQL's own message with its detail, e.g. which key a unique constraint refused.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => e.to_string(),
    }
}

impl Error {
    /// True when the store gave up waiting for a lock or aborted a transaction to let another finish: worth a 503
    /// and a retry, not a 500.
    pub fn is_busy(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            Error::Postgres(e) => {
                use tokio_postgres::error::SqlState;
                e.is_closed()
                    || e.code().is_some_and(|code| {
                        [
                            SqlState::LOCK_NOT_AVAILABLE,
                            SqlState::T_R_SERIALIZATION_FAILURE,
                            SqlState::T_R_DEADLOCK_DETECTED,
                            SqlState::QUERY_CANCELED,
                            SqlState::TOO_MANY_CONNECTIONS,
                        ]
                        .contains(code)
                    })
            }
            Error::Connection(_) => true,
            _ => false,
        }
    }

    /// True when a unique or primary key constraint refused the statement.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            Error::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }
}

/// Why a column's value is not the type asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FromSqlError {
    #[error("expected {expected}, found {found}")]
    InvalidType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("{0} is out of range")]
    OutOfRange(i64),
    #[error("{0}")]
    Other(String),
}

/// One value in one of SQLite's storage classes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// A borrowed [`Value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl<'a> ValueRef<'a> {
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }

    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(s) => Value::Text(s.to_string()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    fn to_rusqlite(self) -> rusqlite::types::ValueRef<'a> {
        match self {
            ValueRef::Null => rusqlite::types::ValueRef::Null,
            ValueRef::Integer(i) => rusqlite::types::ValueRef::Integer(i),
            ValueRef::Real(f) => rusqlite::types::ValueRef::Real(f),
            ValueRef::Text(s) => rusqlite::types::ValueRef::Text(s.as_bytes()),
            ValueRef::Blob(b) => rusqlite::types::ValueRef::Blob(b),
        }
    }
}

/// A Rust value bound to a placeholder.
pub trait ToSql {
    fn to_sql(&self) -> Result<ValueRef<'_>>;
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        (**self).to_sql()
    }
}

impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        (**self).to_sql()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        match self {
            Some(value) => value.to_sql(),
            None => Ok(ValueRef::Null),
        }
    }
}

macro_rules! integer_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Result<ValueRef<'_>> {
                i64::try_from(*self).map(ValueRef::Integer).map_err(|_| Error::Parameter {
                    index: 0,
                    problem: format!("{} does not fit a 64-bit integer", self),
                })
            }
        }
    )*};
}
integer_to_sql!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl ToSql for bool {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Integer(i64::from(*self)))
    }
}

impl ToSql for f64 {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Real(*self))
    }
}

impl ToSql for f32 {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Real(f64::from(*self)))
    }
}

impl ToSql for str {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self))
    }
}

impl ToSql for String {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self))
    }
}

impl ToSql for std::borrow::Cow<'_, str> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self))
    }
}

impl ToSql for [u8] {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}

impl ToSql for Vec<u8> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(self.as_ref())
    }
}

impl ToSql for ValueRef<'_> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(*self)
    }
}

/// A column's value read as a Rust value.
pub trait FromSql: Sized {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError>;
}

impl<T: FromSql> FromSql for Option<T> {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Null => Ok(None),
            value => T::column_result(value).map(Some),
        }
    }
}

fn invalid<T>(expected: &'static str, found: ValueRef<'_>) -> Result<T, FromSqlError> {
    Err(FromSqlError::InvalidType {
        expected,
        found: found.kind(),
    })
}

macro_rules! integer_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
                match value {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| FromSqlError::OutOfRange(i)),
                    other => invalid("an integer", other),
                }
            }
        }
    )*};
}
integer_from_sql!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl FromSql for bool {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Integer(i) => Ok(i != 0),
            other => invalid("an integer", other),
        }
    }
}

impl FromSql for f64 {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Real(f) => Ok(f),
            // As SQLite does: an integer stored in a REAL column reads as a real.
            ValueRef::Integer(i) => Ok(i as f64),
            other => invalid("a real", other),
        }
    }
}

impl FromSql for String {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Text(s) => Ok(s.to_string()),
            other => invalid("text", other),
        }
    }
}

impl FromSql for Vec<u8> {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        match value {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => invalid("a blob", other),
        }
    }
}

impl FromSql for Value {
    fn column_result(value: ValueRef<'_>) -> Result<Self, FromSqlError> {
        Ok(value.to_owned())
    }
}

/// The placeholders' values of one statement.
pub trait Params {
    fn values(&self) -> Result<Vec<ValueRef<'_>>>;
}

fn bind_all<'a, T: ToSql + 'a>(
    items: impl IntoIterator<Item = &'a T>,
) -> Result<Vec<ValueRef<'a>>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            item.to_sql().map_err(|e| match e {
                Error::Parameter { problem, .. } => Error::Parameter {
                    index: i + 1,
                    problem,
                },
                e => e,
            })
        })
        .collect()
}

impl Params for [&dyn ToSql; 0] {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        Ok(Vec::new())
    }
}

impl<T: ToSql> Params for &[T] {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        bind_all(self.iter())
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self) -> Result<Vec<ValueRef<'_>>> {
                bind_all(self.iter())
            }
        }
        impl<T: ToSql> Params for &[T; $n] {
            fn values(&self) -> Result<Vec<ValueRef<'_>>> {
                bind_all(self.iter())
            }
        }
    )*};
}
array_params!(
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24
);

/// Placeholders' values from an iterator (a query whose filters vary).
pub struct ParamsFromIter<T>(Vec<T>);

pub fn params_from_iter<I: IntoIterator>(items: I) -> ParamsFromIter<I::Item>
where
    I::Item: ToSql,
{
    ParamsFromIter(items.into_iter().collect())
}

impl<T: ToSql> Params for ParamsFromIter<T> {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        bind_all(self.0.iter())
    }
}

/// `params![a, b]`: the values of `?1`, `?2`.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::db::sql::ToSql]
    };
    ($($param:expr),+ $(,)?) => {
        &[$(&$param as &dyn $crate::db::sql::ToSql),+] as &[&dyn $crate::db::sql::ToSql]
    };
}
pub use crate::params;

/// rusqlite's adapter: our values bound to its statements.
struct SqliteParam<'a>(ValueRef<'a>);

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(self.0.to_rusqlite()))
    }
}

fn sqlite_params<'a>(values: &'a [ValueRef<'a>]) -> impl rusqlite::Params + 'a {
    rusqlite::params_from_iter(values.iter().map(|v| SqliteParam(*v)))
}

/// A column named or numbered.
pub trait RowIndex {
    fn column(&self) -> Column<'_>;
}

#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    At(usize),
    Named(&'a str),
}

impl fmt::Display for Column<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::At(i) => write!(f, "{i}"),
            Column::Named(name) => f.write_str(name),
        }
    }
}

impl RowIndex for usize {
    fn column(&self) -> Column<'_> {
        Column::At(*self)
    }
}

impl RowIndex for &str {
    fn column(&self) -> Column<'_> {
        Column::Named(self)
    }
}

/// One row of a result.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// The column's value as `T`: an error naming the column when it is not one.
    pub fn get<I: RowIndex, T: FromSql>(&self, index: I) -> Result<T> {
        let column = index.column();
        let column_error = |problem| Error::Column {
            column: column.to_string(),
            problem,
        };
        match &self.inner {
            RowInner::Sqlite(row) => {
                let value = match column {
                    Column::At(i) => row.get_ref(i)?,
                    Column::Named(name) => row.get_ref(name)?,
                };
                T::column_result(from_rusqlite(value).map_err(column_error)?).map_err(column_error)
            }
            RowInner::Postgres(row) => {
                let value = super::postgres::column_value(row, column)?;
                T::column_result(value.as_ref()).map_err(column_error)
            }
        }
    }

    /// The column's value whatever its type (an export writes every column as it is).
    pub fn get_value<I: RowIndex>(&self, index: I) -> Result<Value> {
        self.get::<I, Value>(index)
    }

    pub fn column_count(&self) -> usize {
        match &self.inner {
            RowInner::Sqlite(row) => row.as_ref().column_count(),
            RowInner::Postgres(row) => row.len(),
        }
    }
}

fn from_rusqlite(value: rusqlite::types::ValueRef<'_>) -> Result<ValueRef<'_>, FromSqlError> {
    Ok(match value {
        rusqlite::types::ValueRef::Null => ValueRef::Null,
        rusqlite::types::ValueRef::Integer(i) => ValueRef::Integer(i),
        rusqlite::types::ValueRef::Real(f) => ValueRef::Real(f),
        rusqlite::types::ValueRef::Text(bytes) => ValueRef::Text(
            std::str::from_utf8(bytes)
                .map_err(|e| FromSqlError::Other(format!("text is not UTF-8: {e}")))?,
        ),
        rusqlite::types::ValueRef::Blob(b) => ValueRef::Blob(b),
    })
}

/// One transaction on either store; the server's modules take `&Transaction<'_>`.
pub struct Transaction<'c> {
    inner: TxInner<'c>,
}

enum TxInner<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(&'c PgTx<'c>),
}

impl<'c> Transaction<'c> {
    /// Statements on an open SQLite transaction (or connection).
    pub fn sqlite(conn: &'c rusqlite::Connection) -> Self {
        Transaction {
            inner: TxInner::Sqlite(conn),
        }
    }

    pub(super) fn postgres(tx: &'c PgTx<'c>) -> Self {
        Transaction {
            inner: TxInner::Postgres(tx),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas); `None` on PostgreSQL.
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match self.inner {
            TxInner::Sqlite(conn) => Some(conn),
            TxInner::Postgres(_) => None,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// The first row's `f`, or [`Error::QueryReturnedNoRows`].
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match self.inner {
                TxInner::Sqlite(conn) => StmtInner::Sqlite(conn.prepare(sql)?),
                TxInner::Postgres(tx) => StmtInner::Postgres(tx.prepare(sql)?),
            },
        })
    }

    /// A statement kept for reuse on this connection (SQLite's cache; PostgreSQL's connection prepares every
    /// statement once anyway).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match self.inner {
                TxInner::Sqlite(conn) => StmtInner::SqliteCached(conn.prepare_cached(sql)?),
                TxInner::Postgres(tx) => StmtInner::Postgres(tx.prepare(sql)?),
            },
        })
    }

    /// Several statements without parameters (schema changes, tests).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            TxInner::Postgres(tx) => tx.execute_batch(sql),
        }
    }

    /// Rows changed by the last statement run on this transaction.
    pub fn changes(&self) -> u64 {
        match self.inner {
            TxInner::Sqlite(conn) => conn.changes(),
            TxInner::Postgres(tx) => tx.changes(),
        }
    }
}

/// A prepared statement.
pub struct Statement<'t> {
    inner: StmtInner<'t>,
}

enum StmtInner<'t> {
    Sqlite(rusqlite::Statement<'t>),
    SqliteCached(rusqlite::CachedStatement<'t>),
    Postgres(PgStatement<'t>),
}

impl Statement<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values()?;
        match &mut self.inner {
            StmtInner::Sqlite(stmt) => Ok(stmt.execute(sqlite_params(&values))?),
            StmtInner::SqliteCached(stmt) => Ok(stmt.execute(sqlite_params(&values))?),
            StmtInner::Postgres(stmt) => stmt.execute(&values),
        }
    }

    /// The rows one by one (`while let Some(row) = rows.next()?`); on PostgreSQL through a cursor, 32 rows per
    /// round trip, so an export of any size holds one chunk.
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values()?;
        let inner = match &mut self.inner {
            StmtInner::Sqlite(stmt) => RowsInner::Sqlite(stmt.query(sqlite_params(&values))?),
            StmtInner::SqliteCached(stmt) => RowsInner::Sqlite(stmt.query(sqlite_params(&values))?),
            StmtInner::Postgres(stmt) => RowsInner::Postgres(stmt.query(&values)?),
        };
        Ok(Rows { inner })
    }

    /// The rows through `f`. On PostgreSQL they come in one round trip (a lookup's few rows, collected); a long
    /// result read row by row belongs to [`Statement::query`], which reads it through a cursor.
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let rows = match &self.inner {
            StmtInner::Postgres(stmt) => Rows {
                inner: RowsInner::Postgres(stmt.query_collected(&params.values()?)?),
            },
            _ => self.query(params)?,
        };
        Ok(MappedRows { rows, map: f })
    }

    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        if let StmtInner::Postgres(stmt) = &self.inner {
            // One round trip, not a cursor's two.
            let values = params.values()?;
            return match stmt.query_all(&values)?.first() {
                Some(row) => f(&Row {
                    inner: RowInner::Postgres(row),
                }),
                None => Err(Error::QueryReturnedNoRows),
            };
        }
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(Error::QueryReturnedNoRows),
        }
    }

    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        if let StmtInner::Postgres(stmt) = &self.inner {
            let values = params.values()?;
            return Ok(!stmt.query_all(&values)?.is_empty());
        }
        Ok(self.query(params)?.next()?.is_some())
    }
}

/// The rows of a query, in order.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(super::postgres::PgRows<'s>),
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|row| Row {
                inner: RowInner::Sqlite(row),
            })),
            RowsInner::Postgres(rows) => Ok(rows.next()?.map(|row| Row {
                inner: RowInner::Postgres(row),
            })),
        }
    }
}

/// [`Statement::query_map`]'s rows, each through the closure.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    map: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.map)(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// rusqlite's `optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The count of rows changed, kept per PostgreSQL transaction for [`Transaction::changes`].
#[derive(Debug, Default)]
pub(super) struct Changes(Cell<u64>);

impl Changes {
    pub(super) fn set(&self, n: u64) {
        self.0.set(n);
    }

    pub(super) fn get(&self) -> u64 {
        self.0.get()
    }
}

#[cfg(test)]
mod tests;
