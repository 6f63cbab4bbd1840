//! The device store: everything the phone keeps, in one SQLite file (rusqlite, WAL).
//!
//! Every operation is one transaction: an answer, a note, finalising (visit state and outbox row together),
//! applying a sync answer. Whatever returned `Ok` survives the app being killed at the next instant; whatever
//! returned `Err` left nothing behind. Audit events (who, when, what, old → new) are written in the same
//! transactions and are append-only (triggers refuse updates and deletes).
//!
//! Crate `tepat-store`: depends on `tepat-form`, `tepat-protocol`, `tepat-records` and rusqlite; never on the App.

mod chain;
mod credentials;
mod encryption;
mod execute;
mod photo_outbox;
mod schema;
mod sync;
mod today;
mod visits;

#[cfg(test)]
mod tests;

use std::path::Path;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

pub use chain::ChainProblem;
pub use encryption::{DatabaseKey, KeyLengthError};
pub use execute::execute;
pub use photo_outbox::{PhotosWaiting, WaitingPhoto};
pub use tepat_form::paths::{
    AnswerRow, PathError, Segment, diff, flatten, parse_path, repeat_ids, unflatten,
};
// The records and operations the store keeps and performs (plain data, shared with the App).
pub use schema::CURRENT_VERSION;
pub use tepat_records::*;

use tepat_form::{Form, Lang};

/// How hard commits push to the disk.
///
/// Measured on the development VM: an fsynced answer commit costs ~3.6 ms, an unsynced one ~0.07 ms, against
/// a goal of ≤ 1 ms from answer to view model. So by default answers commit with `synchronous=NORMAL`, which in
/// WAL mode survives the app being killed at any instant (the pages are with the OS) and never corrupts the
/// file; only a power cut or OS crash could lose the last answers. State changes that matter beyond the screen
/// (finalising, sync, reopening, identity) commit with `synchronous=FULL`, which also makes everything before
/// them durable. Shells call [`Store::flush`] when the app goes to the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Answers `NORMAL`, state changes `FULL` (see above).
    #[default]
    Balanced,
    /// Every commit fsynced (`synchronous=FULL`).
    Full,
}

/// The open device database.
pub struct Store {
    conn: Connection,
    durability: Durability,
    /// Who the audit log names for local actions: the enrolled user, or `device` before enrolment.
    actor: String,
}

/// The `actor` of audit events made before a user is known.
pub const NO_USER: &str = "device";

impl Store {
    /// Opens (creating if needed) the unencrypted database at `path` and brings its schema up to date (tools and
    /// tests; the phone opens with [`Store::open_encrypted`]).
    pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::setup(conn, durability)
    }

    /// Opens (creating if needed) the database at `path` encrypted with `key` (SQLCipher), encrypting an
    /// unencrypted one an older app left first (every row kept, crash-safe), and brings its schema up to date.
    /// Another key (or a damaged file) is [`StoreError::WrongKey`], with nothing opened, changed or created.
    pub fn open_encrypted(
        path: &Path,
        key: &DatabaseKey,
        durability: Durability,
    ) -> Result<Store, StoreError> {
        let conn = encryption::open(path, key)?;
        Store::setup(conn, durability)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::setup(Connection::open_in_memory()?, Durability::Balanced)
    }

    fn setup(mut conn: Connection, durability: Durability) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // journal_mode answers with a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")?;
        schema::migrate(&mut conn)?;
        conn.execute_batch(chain::CLOCK_READING)?;
        if durability == Durability::Balanced {
            conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        }
        let mut store = Store {
            conn,
            durability,
            actor: NO_USER.to_string(),
        };
        if let Some(identity) = store.settings()?.identity {
            store.actor = identity.user_id;
        }
        Ok(store)
    }

    /// Makes every commit so far durable against power loss (a WAL checkpoint syncs the log): call when the app
    /// goes to the background.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let _busy: (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(())
    }

    /// Runs `work` with every commit fsynced (see [`Durability`]).
    fn strict<T>(
        &mut self,
        work: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.durability == Durability::Full {
            return work(self);
        }
        self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        let result = work(self);
        let restored = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        let value = result?;
        restored?;
        Ok(value)
    }

    /// `PRAGMA integrity_check`: `"ok"` for a healthy file.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    // -----------------------------------------------------------------------------------------------------------
    // Settings

    pub fn settings(&self) -> Result<Settings, StoreError> {
        let lang = match self.setting("lang")?.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Id,
        };
        let identity = match self.setting("identity")? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        };
        Ok(Settings { lang, identity })
    }

    pub fn set_language(&mut self, lang: Lang) -> Result<(), StoreError> {
        let value = match lang {
            Lang::Id => "id",
            Lang::En => "en",
        };
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES ('lang', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1",
            params![value],
        )?;
        Ok(())
    }

    /// Records who this device works for (enrolment; or a trainer's local identity) and audits it.
    pub fn set_identity(
        &mut self,
        identity: &Identity,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.strict(|store| store.set_identity_now(identity, at))
    }

    fn set_identity_now(
        &mut self,
        identity: &Identity,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(identity).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let tx = self.conn.transaction()?;
        let old: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE key = 'identity'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('identity', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1",
            params![json],
        )?;
        let event = Audit {
            kind: "identity_set",
            old: old.as_deref(),
            new: Some(&json),
            ..Audit::default()
        };
        audit(&tx, at, &identity.user_id, &event)?;
        tx.commit()?;
        self.actor = identity.user_id.clone();
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    // -----------------------------------------------------------------------------------------------------------
    // Forms

    /// Installs a form version. Versions are immutable: the same content again is a no-op, different content
    /// under the same version is refused.
    pub fn install_form(
        &mut self,
        form: &Form,
        at: DateTime<Utc>,
    ) -> Result<FormInstall, StoreError> {
        let tx = self.conn.transaction()?;
        let result = install_form_in(&tx, form, at, &self.actor)?;
        tx.commit()?;
        Ok(result)
    }

    /// The definition of an installed form version.
    pub fn form(&self, form_id: &str, version: u32) -> Result<Form, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT definition FROM forms WHERE form_id = ?1 AND version = ?2",
                params![form_id, version],
                |r| r.get(0),
            )
            .optional()?;
        let json = json.ok_or_else(|| StoreError::FormNotInstalled {
            form_id: form_id.to_string(),
            version,
        })?;
        Ok(serde_json::from_str(&json)?)
    }

    /// Every installed form version, newest version of each form first.
    pub fn forms(&self) -> Result<Vec<FormInfo>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT definition FROM forms ORDER BY form_id, version DESC")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut forms = Vec::new();
        for json in rows {
            let form: Form = serde_json::from_str(&json?)?;
            forms.push(FormInfo {
                form_id: form.id,
                version: form.version,
                title: form.title,
                start_without_assignment: form.start_without_assignment,
            });
        }
        Ok(forms)
    }

    // -----------------------------------------------------------------------------------------------------------
    // Assignments

    /// Adds or updates assignments (from the server, or a training file); an assignment seen again is active
    /// again (not withdrawn).
    pub fn import_assignments(
        &mut self,
        assignments: &[tepat_protocol::Assignment],
        at: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        self.strict(|store| store.import_assignments_now(assignments, at))
    }

    fn import_assignments_now(
        &mut self,
        assignments: &[tepat_protocol::Assignment],
        at: DateTime<Utc>,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.conn.transaction()?;
        let mut summary = ImportSummary::default();
        for assignment in assignments {
            match upsert_assignment(&tx, assignment, at, &self.actor)? {
                Upsert::Added => summary.added += 1,
                Upsert::Updated => summary.updated += 1,
                Upsert::Unchanged => summary.unchanged += 1,
            }
        }
        tx.commit()?;
        Ok(summary)
    }

    pub fn assignment(&self, assignment_id: &str) -> Result<AssignmentRecord, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE assignment_id = ?1"),
                params![assignment_id],
                read_assignment,
            )
            .optional()?
            .ok_or_else(|| StoreError::AssignmentNotFound(assignment_id.to_string()))?
    }

    /// The audit trail of one visit, oldest first.
    pub fn audit_of(&self, visit_id: Uuid) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, device_seq, actor, visit_id, revision, kind, path, old, new FROM audit
             WHERE visit_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![visit_id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<u32>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, at, device_seq, actor, visit, revision, kind, path, old, new) = row?;
            events.push(AuditEvent {
                seq: seq as u64,
                at: parse_time(&at)?,
                device_seq: device_seq as u64,
                actor,
                visit_id: visit.as_deref().map(parse_uuid).transpose()?,
                revision,
                kind,
                path,
                old,
                new,
            });
        }
        Ok(events)
    }

    /// The device's monotonic counter (last value handed out).
    pub fn device_seq(&self) -> Result<u64, StoreError> {
        let seq: i64 =
            self.conn
                .query_row("SELECT seq FROM device_clock WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        Ok(seq as u64)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the store's modules.

/// One audit event to write.
#[derive(Debug, Default)]
struct Audit<'a> {
    visit_id: Option<Uuid>,
    revision: Option<u32>,
    kind: &'a str,
    path: Option<&'a str>,
    old: Option<&'a str>,
    new: Option<&'a str>,
}

/// Takes the next value of the device's monotonic counter.
fn next_seq(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let seq: i64 = tx
        .prepare_cached("UPDATE device_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq")?
        .query_row([], |r| r.get(0))?;
    Ok(seq as u64)
}

/// Appends an audit event at the next position of the device's hash chain (with its own device sequence number)
/// and returns that number.
fn audit(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    actor: &str,
    event: &Audit<'_>,
) -> Result<u64, StoreError> {
    chain::append(tx, at, actor, event)
}

fn install_form_in(
    tx: &Transaction<'_>,
    form: &Form,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<FormInstall, StoreError> {
    let json = serde_json::to_string(form).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT definition FROM forms WHERE form_id = ?1 AND version = ?2",
            params![form.id, form.version],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(existing) = existing {
        // Compare parsed forms, so formatting differences are not a conflict.
        let existing: Form = serde_json::from_str(&existing)?;
        return if existing == *form {
            Ok(FormInstall::AlreadyInstalled)
        } else {
            Err(StoreError::FormVersionConflict {
                form_id: form.id.clone(),
                version: form.version,
            })
        };
    }
    tx.execute(
        "INSERT INTO forms (form_id, version, definition, installed_at) VALUES (?1, ?2, ?3, ?4)",
        params![form.id, form.version, json, time_text(at)],
    )?;
    let name = format!("{} v{}", form.id, form.version);
    audit(
        tx,
        at,
        actor,
        &Audit {
            kind: "form_installed",
            new: Some(&name),
            ..Audit::default()
        },
    )?;
    Ok(FormInstall::Installed)
}

enum Upsert {
    Added,
    Updated,
    Unchanged,
}

const ASSIGNMENT_COLUMNS: &str =
    "assignment_id, form_id, form_version, region_code, label, prefill, withdrawn, prefill_repeats";

fn read_assignment(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<AssignmentRecord, StoreError>> {
    let prefill: String = r.get(5)?;
    let assignment = tepat_protocol::Assignment {
        assignment_id: r.get(0)?,
        form_id: r.get(1)?,
        form_version: r.get(2)?,
        region_code: r.get(3)?,
        label: r.get(4)?,
        prefill: Default::default(),
        prefill_repeats: Default::default(),
    };
    let withdrawn: bool = r.get(6)?;
    let repeats: String = r.get(7)?;
    let parsed = serde_json::from_str(&prefill).and_then(|prefill| {
        serde_json::from_str(&repeats).map(|prefill_repeats| (prefill, prefill_repeats))
    });
    Ok(parsed
        .map(|(prefill, prefill_repeats)| AssignmentRecord {
            assignment: tepat_protocol::Assignment {
                prefill,
                prefill_repeats,
                ..assignment
            },
            withdrawn,
        })
        .map_err(StoreError::from))
}

fn upsert_assignment(
    tx: &Transaction<'_>,
    a: &tepat_protocol::Assignment,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<Upsert, StoreError> {
    let existing = tx
        .query_row(
            &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE assignment_id = ?1"),
            params![a.assignment_id],
            read_assignment,
        )
        .optional()?
        .transpose()?;
    let prefill =
        serde_json::to_string(&a.prefill).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let repeats = serde_json::to_string(&a.prefill_repeats)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let outcome = match existing {
        Some(record) if record.assignment == *a && !record.withdrawn => {
            return Ok(Upsert::Unchanged);
        }
        Some(_) => {
            tx.execute(
                "UPDATE assignments SET form_id = ?2, form_version = ?3, region_code = ?4, label = ?5, prefill = ?6,
                 withdrawn = 0, prefill_repeats = ?7 WHERE assignment_id = ?1",
                params![a.assignment_id, a.form_id, a.form_version, a.region_code, a.label, prefill, repeats],
            )?;
            Upsert::Updated
        }
        None => {
            let seq = next_seq(tx)?;
            tx.execute(
                "INSERT INTO assignments (assignment_id, form_id, form_version, region_code, label, prefill,
                 withdrawn, received_seq, prefill_repeats) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
                params![a.assignment_id, a.form_id, a.form_version, a.region_code, a.label, prefill, seq as i64,
                    repeats],
            )?;
            Upsert::Added
        }
    };
    let kind = match outcome {
        Upsert::Added => "assignment_added",
        _ => "assignment_updated",
    };
    audit(
        tx,
        at,
        actor,
        &Audit {
            kind,
            path: Some(&a.assignment_id),
            ..Audit::default()
        },
    )?;
    Ok(outcome)
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so they sort as text.
fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {text:?}: {e}")))
}

fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("date {text:?}: {e}")))
}

/// A UUIDv7 from the given wall clock (its random bits keep it unique even when the clock is wrong).
fn new_v7(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        at.timestamp_subsec_nanos(),
    ))
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("visit id {text:?}: {e}")))
}
