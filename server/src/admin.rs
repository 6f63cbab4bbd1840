//! `tepat-server admin …`: what the dinas sosial admin does on the server machine. Each command opens the
//! database (created and migrated if needed), does its work in one transaction and returns the text to print.

use std::fmt::Write as _;
use std::path::Path;

use crate::db::sql::params;
use chrono::{Duration, Utc};
use tepat_protocol::Role;

use crate::assignments::{self, ImportError, WithdrawError};
use crate::auth;
use crate::db::{self, Db, DbError};
use crate::forms::{self, PublishError, Published};
use crate::ledger;
use crate::names;
use crate::regions;

/// Longest user name.
pub const MAX_NAME_CHARS: usize = 100;
/// Default lifetime of an enrolment code.
pub const DEFAULT_CODE_TTL_HOURS: u32 = 72;

/// The actor the ledger names for admin changes (the CLI and the console's admin pages).
const ADMIN: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Withdraw(#[from] WithdrawError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl From<crate::db::sql::Error> for AdminError {
    fn from(e: crate::db::sql::Error) -> Self {
        AdminError::Db(e.into())
    }
}

impl From<names::TextError> for AdminError {
    fn from(e: names::TextError) -> Self {
        AdminError::Invalid(e.to_string())
    }
}

/// Creates a user. Supervisors, enumerators and assessors need at least one region (their scope).
pub fn create_user(
    db: &Db,
    user_id: &str,
    name: &str,
    role: Role,
    regions: &[String],
) -> Result<String, AdminError> {
    names::check_id("--id", user_id)?;
    let name = names::clean_name("--name", name, MAX_NAME_CHARS)?;
    if role != Role::Admin && regions.is_empty() {
        return Err(AdminError::Invalid(format!(
            "--region: a {} works in regions; give at least one region code (e.g. --region 17.71)",
            auth::role_name(role)
        )));
    }
    for code in regions {
        regions::check_scope_code(code)
            .map_err(|m| AdminError::Invalid(format!("--region: {m}")))?;
    }
    db.write(|tx| {
        let exists: bool = tx.query_row(
            "SELECT count(*) FROM users WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        if exists {
            return Err(AdminError::Invalid(format!(
                "--id: user {user_id:?} already exists"
            )));
        }
        tx.execute(
            "INSERT INTO users (user_id, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                user_id,
                name,
                auth::role_name(role),
                db::timestamp(Utc::now())
            ],
        )?;
        for code in regions {
            tx.execute(
                "INSERT INTO user_regions (user_id, region_code) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![user_id, code],
            )?;
        }
        let detail =
            serde_json::json!({"name": name, "role": auth::role_name(role), "regions": regions});
        ledger::append(
            tx,
            Utc::now(),
            ADMIN,
            "user_created",
            &format!("user:{user_id}"),
            &detail,
        )?;
        Ok(format!(
            "created {} {user_id} ({name})",
            auth::role_name(role)
        ))
    })
}

/// Sets or resets the console password of a supervisor or admin (argon2id); their open sessions end.
pub fn set_password(db: &Db, user_id: &str, password: &str) -> Result<String, AdminError> {
    use crate::console::session::{self, PasswordError};
    db.write(|tx| session::set_password(tx, user_id, password))
        .map_err(|e| match e {
            PasswordError::Db(e) => AdminError::Db(e),
            other => AdminError::Invalid(other.to_string()),
        })?;
    Ok(format!(
        "password set for {user_id}; their console sessions ended"
    ))
}

/// Issues a one-time enrolment code; only its hash is stored, so it is printed once here.
pub fn enrol_code(db: &Db, user_id: &str, ttl_hours: u32) -> Result<String, AdminError> {
    if ttl_hours == 0 {
        return Err(AdminError::Invalid("--ttl-hours must be at least 1".into()));
    }
    db.write(|tx| {
        let user = auth::load_user(tx, user_id)?
            .ok_or_else(|| AdminError::Invalid(format!("--user: unknown user {user_id:?}")))?;
        if user.role == Role::Admin {
            return Err(AdminError::Invalid(
                "--user: admins work with `tepat-server admin`, not a device".into(),
            ));
        }
        let now = Utc::now();
        let code = auth::issue_enrol_code(tx, user_id, Duration::hours(i64::from(ttl_hours)), now)?;
        let detail = serde_json::json!({"ttl_hours": ttl_hours});
        ledger::append(
            tx,
            now,
            ADMIN,
            "enrol_code_issued",
            &format!("user:{user_id}"),
            &detail,
        )?;
        Ok(code)
    })
}

/// Imports assignments (all or nothing): a households CSV with an optional members CSV, or JSON lines (a file
/// named `*.jsonl` / `*.ndjson`, one household with its members per line). Format: `schemas/assignments.md`.
pub fn import_assignments(
    db: &Db,
    path: &Path,
    members: Option<&Path>,
) -> Result<String, AdminError> {
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|source| AdminError::File {
                path: path.display().to_string(),
                source,
            })
    };
    let file = open(path)?;
    let report = if is_json_lines(path) {
        if let Some(members) = members {
            return Err(AdminError::Invalid(format!(
                "{} holds each household's members itself; --members {} is for a households CSV",
                path.display(),
                members.display()
            )));
        }
        db.write(|tx| assignments::import_jsonl(tx, file, Utc::now()))?
    } else {
        let members = members.map(open).transpose()?;
        db.write(|tx| assignments::import_csv_with_members(tx, file, members, Utc::now()))?
    };
    Ok(format!(
        "imported {} assignment(s); {} unchanged",
        report.added, report.unchanged
    ))
}

/// Whether an assignment file is JSON lines (by its name: `.jsonl`, `.ndjson`).
fn is_json_lines(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"))
}

pub fn withdraw_assignment(db: &Db, assignment_id: &str) -> Result<String, AdminError> {
    let changed = db.write(|tx| assignments::withdraw(tx, assignment_id, Utc::now()))?;
    Ok(if changed {
        format!("withdrew {assignment_id}")
    } else {
        format!("{assignment_id} was already withdrawn")
    })
}

/// Publishes a form version after the shared engine has checked it.
pub fn publish_form(db: &Db, path: &Path) -> Result<String, AdminError> {
    let json = std::fs::read_to_string(path).map_err(|source| AdminError::File {
        path: path.display().to_string(),
        source,
    })?;
    let outcome = db.write(|tx| forms::publish(tx, &json, Utc::now()))?;
    Ok(match outcome {
        Published::New { form_id, version } => format!("published {form_id} version {version}"),
        Published::Unchanged { form_id, version } => {
            format!("{form_id} version {version} is already published")
        }
    })
}

/// Users with their role, regions and devices.
pub fn list_users(db: &Db) -> Result<String, AdminError> {
    db.read(|tx| {
        let mut out = String::new();
        let mut stmt = tx.prepare(
            "SELECT u.user_id, u.name, u.role,
                    (SELECT string_agg(region_code, ' ') FROM user_regions r WHERE r.user_id = u.user_id),
                    (SELECT count(*) FROM devices d WHERE d.user_id = u.user_id AND d.revoked_at IS NULL)
             FROM users u ORDER BY u.user_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, u32>(4)?))
        })?;
        for row in rows {
            let (id, name, role, regions, devices) = row?;
            let _ = writeln!(out, "{id}\t{role}\t{name}\tregions: {}\tdevices: {devices}", regions.unwrap_or_default());
        }
        Ok(out)
    })
}

/// Devices of a user (or all), with their state.
pub fn list_devices(db: &Db) -> Result<String, AdminError> {
    db.read(|tx| {
        let mut out = String::new();
        let mut stmt = tx.prepare(
            "SELECT device_id, user_id, name, enrolled_at, coalesce(last_seen_at, '-'), revoked_at
             FROM devices ORDER BY user_id, enrolled_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        for row in rows {
            let (device, user, name, enrolled, seen, revoked) = row?;
            let state = revoked.map_or("active".to_string(), |at| format!("revoked {at}"));
            let _ = writeln!(
                out,
                "{device}\t{user}\t{name}\tenrolled {enrolled}\tlast seen {seen}\t{state}"
            );
        }
        Ok(out)
    })
}

/// Revokes a device: its token stops working at once.
pub fn revoke_device(db: &Db, device_id: &str) -> Result<String, AdminError> {
    db.write(|tx| {
        let changed = tx.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE device_id = ?2 AND revoked_at IS NULL",
            params![db::timestamp(Utc::now()), device_id],
        )?;
        if changed == 1 {
            let detail = serde_json::json!({});
            ledger::append(
                tx,
                Utc::now(),
                ADMIN,
                "device_revoked",
                &format!("device:{device_id}"),
                &detail,
            )?;
            return Ok(format!("revoked {device_id}"));
        }
        let known: bool = tx.query_row(
            "SELECT count(*) FROM devices WHERE device_id = ?1",
            [device_id],
            |r| r.get(0),
        )?;
        if known {
            Ok(format!("{device_id} was already revoked"))
        } else {
            Err(AdminError::Invalid(format!("unknown device {device_id:?}")))
        }
    })
}
