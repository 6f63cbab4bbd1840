//! Test support: each test's database, on SQLite (a file in the test's directory) or, when the environment names a
//! PostgreSQL cluster (`TEPAT_TEST_POSTGRES`, an admin URL: `server/scripts/pg-cluster.sh run` sets it), on a
//! database of its own in that cluster, dropped when the test ends. So the same tests run on both stores:
//! `cargo test -p tepat-server` (SQLite) and `make test-postgres` (PostgreSQL).

use std::path::Path;

use super::{Db, Location};

/// The environment variable naming the throw-away cluster's admin URL.
pub const POSTGRES_ENV: &str = "TEPAT_TEST_POSTGRES";

/// A PostgreSQL database created for one test; dropped (with its connections) when this is.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(&self.admin_url, statement) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Where a test's database lives: PostgreSQL when [`POSTGRES_ENV`] is set, else SQLite in `dir`.
pub fn location(dir: &Path) -> (Location, Option<TestDatabase>) {
    match std::env::var(POSTGRES_ENV) {
        Ok(admin_url) if !admin_url.is_empty() => {
            let database = create(&admin_url);
            (Location::Postgres(database.url.clone()), Some(database))
        }
        _ => (Location::Sqlite(dir.to_path_buf()), None),
    }
}

/// A test's database, opened (see [`location`]). Keep the second value alive as long as the database.
pub fn open(dir: &Path) -> (Db, Option<TestDatabase>) {
    let (location, database) = location(dir);
    let db = Db::open_location(&location).unwrap_or_else(|e| panic!("opening {location:?}: {e}"));
    (db, database)
}

/// True when the tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty())
}

/// A new, empty database in the cluster.
pub fn create(admin_url: &str) -> TestDatabase {
    let name = format!("tepat_test_{}", uuid::Uuid::now_v7().simple());
    admin(admin_url, format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("creating a test database in {admin_url}: {e}"));
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("{POSTGRES_ENV} must end with /DATABASE: {admin_url}"),
    };
    TestDatabase {
        admin_url: admin_url.to_string(),
        name,
        url,
    }
}

/// One statement outside a transaction, on a thread of its own (callable from async tests too).
fn admin(admin_url: &str, statement: String) -> Result<(), String> {
    let admin_url = admin_url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            let driver = tokio::spawn(connection);
            let result = client
                .batch_execute(&statement)
                .await
                .map_err(|e| e.to_string());
            drop(client);
            let _ = driver.await;
            result
        })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_string())?
}
