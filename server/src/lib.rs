//! `tepat-server`: Tepat's sync server.
//!
//! Phones enrol with a one-time code and sync batches of visits; supervisors pull, review, watch progress and
//! export. Everything lives in one SQLite database in the data directory. One module per concept:
//! - [`db`]: the database, its connections and versioned migrations;
//! - [`auth`]: enrolment codes, device tokens and the authenticated caller;
//! - [`names`]: checks on identifiers and human-entered names;
//! - [`regions`]: region codes, their names, and the region scope of supervisors;
//! - [`forms`]: published form versions and the compiled-form cache;
//! - [`assignments`]: the CSV import of assignments and their withdrawal;
//! - [`changes`]: the per-user change feed that sync sends down;
//! - [`ingest`]: idempotent batch ingest and receipts; [`trail`]: checking and keeping the phones' hash-chained
//!   trails; [`paradata`]: how a visit was filled in, from its trail;
//! - [`ledger`]: the server's own chain of visits stored, reviews and admin changes; [`verify`]: `admin verify`;
//! - [`media`]: photos, uploaded resumably by their SHA-256 and stored content-addressed;
//! - [`review`], [`pull`], [`progress`], [`export`]: the supervisor's work;
//! - [`signals`]: signals of fabrication, computed at ingest;
//! - [`admin`]: the `tepat-server admin` commands; [`console`]: the supervisors' and admins' web console;
//! - [`api`]: the HTTP API; [`serve`]: the listener, logging and graceful shutdown.

pub mod admin;
pub mod api;
pub mod assignments;
pub mod auth;
pub mod changes;
pub mod config;
pub mod console;
pub mod db;
pub mod export;
pub mod forms;
pub mod ingest;
pub mod ledger;
pub mod media;
pub mod monitoring;
pub mod names;
pub mod paradata;
pub mod progress;
pub mod pull;
pub mod regions;
pub mod review;
pub mod serve;
pub mod signals;
pub mod trail;
pub mod verify;

#[cfg(test)]
pub(crate) mod testkit;
