//! Enrolment codes and device tokens. Both are random secrets shown once; the database keeps only their SHA-256,
//! so a copy of the database does not let anyone act as a device.

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tepat_protocol::{Role, UserInfo, hex};

use crate::db::{self, DbError};

/// Prefix of device tokens, so a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "tpt_";

/// Enrolment code alphabet: no 0/O or 1/I, so codes can be read out over a phone call.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 12 symbols of 5 bits: 60 bits, far beyond guessing within a code's lifetime.
const CODE_SYMBOLS: usize = 12;

/// SHA-256 (hex) of a secret: what is stored instead of it.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new device token: 256 random bits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex(&bytes))
}

/// A new enrolment code, grouped for reading: `ABCD-EFGH-JKMN`.
pub fn new_enrol_code() -> String {
    let mut bytes = [0u8; CODE_SYMBOLS];
    rand::rng().fill_bytes(&mut bytes);
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What a person may type for a code: any case, with or without dashes and spaces.
pub fn normalise_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The user and device a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub device_id: String,
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub regions: Vec<String>,
}

impl Caller {
    pub fn user_info(&self) -> UserInfo {
        UserInfo {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            role: self.role,
            regions: self.regions.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not known to this server")]
    UnknownToken,
    #[error("this device was revoked; enrol again with a new code")]
    Revoked,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for AuthError {
    fn from(e: crate::db::sql::Error) -> Self {
        AuthError::Db(e.into())
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Supervisor => "supervisor",
        Role::Enumerator => "enumerator",
        Role::Assessor => "assessor",
    }
}

pub fn parse_role(text: &str) -> Option<Role> {
    match text {
        "admin" => Some(Role::Admin),
        "supervisor" => Some(Role::Supervisor),
        "enumerator" => Some(Role::Enumerator),
        "assessor" => Some(Role::Assessor),
        _ => None,
    }
}

/// The user's regions, in code order.
pub fn user_regions(
    tx: &Transaction<'_>,
    user_id: &str,
) -> Result<Vec<String>, crate::db::sql::Error> {
    let mut stmt = tx.prepare_cached(
        "SELECT region_code FROM user_regions WHERE user_id = ?1 ORDER BY region_code",
    )?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    rows.collect()
}

/// A user's id, name and role.
pub fn load_user(tx: &Transaction<'_>, user_id: &str) -> Result<Option<UserInfo>, DbError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT name, role FROM users WHERE user_id = ?1",
            [user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((name, role)) = row else {
        return Ok(None);
    };
    let role = parse_role(&role)
        .ok_or_else(|| DbError::Corrupt(format!("user {user_id} has role {role:?}")))?;
    let regions = user_regions(tx, user_id)?;
    Ok(Some(UserInfo {
        user_id: user_id.to_string(),
        name,
        role,
        regions,
    }))
}

/// Finds the device a bearer token belongs to.
pub fn authenticate(tx: &Transaction<'_>, token: &str) -> Result<Caller, AuthError> {
    let row: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT device_id, user_id, revoked_at FROM devices WHERE token_hash = ?1",
            [hash_secret(token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((device_id, user_id, revoked_at)) = row else {
        return Err(AuthError::UnknownToken);
    };
    if revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    let user = load_user(tx, &user_id)?
        .ok_or_else(|| DbError::Corrupt(format!("device {device_id} has no user")))?;
    Ok(Caller {
        device_id,
        user_id,
        name: user.name,
        role: user.role,
        regions: user.regions,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("the enrolment code is not known; check it or ask the admin for a new one")]
    UnknownCode,
    #[error("the enrolment code was already used; each code enrols one device")]
    CodeUsed,
    #[error("the enrolment code expired at {0}; ask the admin for a new one")]
    CodeExpired(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for EnrolError {
    fn from(e: crate::db::sql::Error) -> Self {
        EnrolError::Db(e.into())
    }
}

/// A device just enrolled: its id, its token (shown once) and its user.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub user: UserInfo,
}

/// Spends a one-time code and registers a device for the code's user.
pub fn enrol(
    tx: &Transaction<'_>,
    code: &str,
    device_name: &str,
    now: DateTime<Utc>,
) -> Result<Enrolled, EnrolError> {
    let code_hash = hash_secret(&normalise_code(code));
    let row: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT user_id, expires_at, used_at FROM enrol_codes WHERE code_hash = ?1",
            [&code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user_id, expires_at, used_at)) = row else {
        return Err(EnrolError::UnknownCode);
    };
    if used_at.is_some() {
        return Err(EnrolError::CodeUsed);
    }
    if db::parse_timestamp(&expires_at)? <= now {
        return Err(EnrolError::CodeExpired(expires_at));
    }
    let user = load_user(tx, &user_id)?
        .ok_or_else(|| DbError::Corrupt(format!("code for missing user {user_id}")))?;
    let device_id = format!("dev-{}", uuid::Uuid::now_v7());
    let token = new_token();
    let now_text = db::timestamp(now);
    tx.execute(
        "INSERT INTO devices (device_id, user_id, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device_id, user_id, device_name, hash_secret(&token), now_text],
    )?;
    tx.execute(
        "UPDATE enrol_codes SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
        params![now_text, device_id, code_hash],
    )?;
    let detail = serde_json::json!({"user_id": user_id, "name": device_name});
    crate::ledger::append(
        tx,
        now,
        &user_id,
        "device_enrolled",
        &format!("device:{device_id}"),
        &detail,
    )?;
    Ok(Enrolled {
        device_id,
        token,
        user,
    })
}

/// Issues a one-time code for a user; returns the code (shown once).
pub fn issue_enrol_code(
    tx: &Transaction<'_>,
    user_id: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, crate::db::sql::Error> {
    let code = new_enrol_code();
    tx.execute(
        "INSERT INTO enrol_codes (code_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash_secret(&normalise_code(&code)), user_id, db::timestamp(now), db::timestamp(now + ttl)],
    )?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_in_hex() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert!(
            a[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    }

    #[test]
    fn codes_are_grouped_and_normalise_back() {
        let code = new_enrol_code();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise_code(&typed), code.replace('-', ""));
        assert_eq!(
            hash_secret(&normalise_code(&code)),
            hash_secret(&normalise_code(&typed))
        );
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [
            Role::Admin,
            Role::Supervisor,
            Role::Enumerator,
            Role::Assessor,
        ] {
            assert_eq!(parse_role(role_name(role)), Some(role));
        }
        assert_eq!(parse_role("root"), None);
    }
}
