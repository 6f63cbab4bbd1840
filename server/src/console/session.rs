//! Console accounts: argon2id passwords, sessions kept in the database by the SHA-256 of their cookie, a CSRF
//! token per session, idle expiry, and failed logins slowed per account and per address.

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use tepat_protocol::{Role, UserInfo, hex};

use crate::auth::{self, hash_secret};
use crate::db::{self, Db, DbError};

/// A session not used for this long ends (the next request goes to the login page).
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after login whatever its use.
pub const MAX_SESSION_AGE: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, so reading pages does not write on every request.
const TOUCH_EVERY: Duration = Duration::seconds(60);

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 200;

/// Failed logins a key (an account or an address) may make before each further attempt must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between attempts.
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// Failures older than this are forgotten.
const FAILURE_MEMORY: Duration = Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error(
        "the password must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_CHARS}"
    )]
    Length,
    #[error("the password cannot be hashed: {0}")]
    Hash(String),
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error(
        "{0} accounts use the phone, not the console: only supervisors and admins get a password"
    )]
    NoConsole(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for PasswordError {
    fn from(e: crate::db::sql::Error) -> Self {
        PasswordError::Db(e.into())
    }
}

fn argon2() -> argon2::Argon2<'static> {
    // argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's recommended minimum).
    argon2::Argon2::default()
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of a password.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(PasswordError::Length);
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the stored PHC string.
pub fn verify_password(stored: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordHash::new(stored)
        .is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash no password matches, verified when the user is unknown so that an unknown user takes as long as a
/// wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        hash_password(&hex(&secret)).unwrap_or_default()
    })
}

/// Sets (or resets) a supervisor's or admin's password; the user's sessions end.
pub fn set_password(
    tx: &Transaction<'_>,
    user_id: &str,
    password: &str,
) -> Result<(), PasswordError> {
    let user = auth::load_user(tx, user_id)?
        .ok_or_else(|| PasswordError::UnknownUser(user_id.to_string()))?;
    if !uses_console(user.role) {
        return Err(PasswordError::NoConsole(auth::role_name(user.role)));
    }
    let hash = hash_password(password)?;
    tx.execute(
        "UPDATE users SET password_hash = ?1 WHERE user_id = ?2",
        params![hash, user_id],
    )?;
    tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [user_id])?;
    crate::ledger::append(
        tx,
        chrono::Utc::now(),
        "admin",
        "password_set",
        &format!("user:{user_id}"),
        &serde_json::json!({}),
    )?;
    Ok(())
}

/// Supervisors review and admins administer; enumerators and assessors work on their phones.
pub fn uses_console(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}

/// A random secret of 256 bits, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Equality of two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A logged-in person.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserInfo,
    pub csrf: String,
    pub token_hash: String,
}

/// What checking a password gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The session cookie's value (shown once) for this user.
    Ok { token: String, user_id: String },
    /// Wrong user or password (the same answer for both).
    Failed,
    /// Right password, but the role does not use the console.
    NoConsole,
    /// Too many failures: try again after this many seconds (the password was not checked).
    Wait(i64),
}

/// The throttle keys of an attempt: the account and the address.
pub fn throttle_keys(user_id: &str, address: &str) -> [String; 2] {
    [format!("user:{user_id}"), format!("addr:{address}")]
}

/// Seconds an attempt must still wait because of earlier failures of any of `keys`, or 0.
pub fn wait_secs(
    tx: &Transaction<'_>,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let mut wait = 0i64;
    for key in keys {
        let row: Option<(u32, String)> = tx
            .query_row(
                "SELECT failures, last_failure_at FROM login_failures WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((failures, last)) = row else {
            continue;
        };
        let last = db::parse_timestamp(&last)?;
        if failures < FREE_FAILURES || now - last > FAILURE_MEMORY {
            continue;
        }
        // 2 s after the 5th failure, doubling with each further one, at most 15 minutes.
        let delay = 1i64
            .checked_shl(failures - FREE_FAILURES + 1)
            .unwrap_or(MAX_WAIT_SECS)
            .min(MAX_WAIT_SECS);
        // Whole seconds, rounded up: a wait of 1.2 s is told as 2.
        let left_ms = (last + Duration::seconds(delay) - now).num_milliseconds();
        wait = wait.max((left_ms + 999).div_euclid(1000));
    }
    Ok(wait)
}

fn record_failure(
    tx: &Transaction<'_>,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let at = db::timestamp(now);
    let forget_before = db::timestamp(now - FAILURE_MEMORY);
    for key in keys {
        tx.execute(
            "INSERT INTO login_failures (key, failures, last_failure_at) VALUES (?1, 1, ?2)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_failures.last_failure_at < ?3 THEN 1
                                 ELSE login_failures.failures + 1 END,
                 last_failure_at = ?2",
            params![key, at, forget_before],
        )?;
    }
    Ok(())
}

/// Checks a login attempt and, when it succeeds, opens a session. The password hash is read and checked outside
/// any write transaction (argon2 takes tens of milliseconds and must not hold the writer that sync needs); the
/// failure is then counted, or the session opened, in a short write. The password is checked only when no key
/// must wait.
pub fn login(
    db: &Db,
    user_id: &str,
    password: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Login, DbError> {
    let keys = throttle_keys(user_id, address);
    let (wait, stored) = db.read(|tx| {
        let wait = wait_secs(tx, &keys, now)?;
        let stored: Option<(Option<String>, String)> = tx
            .query_row(
                "SELECT password_hash, role FROM users WHERE user_id = ?1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok::<_, DbError>((wait, stored))
    })?;
    if wait > 0 {
        return Ok(Login::Wait(wait));
    }
    let (matches, role) = match stored {
        Some((Some(hash), role)) => (verify_password(&hash, password), Some(role)),
        _ => {
            let _ = verify_password(decoy_hash(), password);
            (false, None)
        }
    };
    if !matches {
        db.write(|tx| record_failure(tx, &keys, now))?;
        return Ok(Login::Failed);
    }
    if !role
        .as_deref()
        .and_then(auth::parse_role)
        .is_some_and(uses_console)
    {
        return Ok(Login::NoConsole);
    }
    let token = new_secret();
    db.write(|tx| {
        tx.execute("DELETE FROM login_failures WHERE key = ?1", [&keys[0]])?;
        let at = db::timestamp(now);
        tx.execute(
            "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![hash_secret(&token), user_id, new_secret(), at],
        )?;
        // Sessions of anyone that expired are dropped here, so the table holds live sessions only.
        tx.execute(
            "DELETE FROM console_sessions WHERE last_seen_at < ?1 OR created_at < ?2",
            params![
                db::timestamp(now - IDLE_TIMEOUT),
                db::timestamp(now - MAX_SESSION_AGE)
            ],
        )?;
        Ok::<_, DbError>(())
    })?;
    Ok(Login::Ok {
        token,
        user_id: user_id.to_string(),
    })
}

/// What a session cookie stands for.
#[derive(Debug, Clone)]
pub enum Found {
    Live(Session),
    /// Live, and its `last_seen_at` is old enough to be written again.
    Stale(Session),
    None,
}

/// The live session of a cookie value (read-only: see [`touch`]).
pub fn find(tx: &Transaction<'_>, token: &str, now: DateTime<Utc>) -> Result<Found, DbError> {
    let token_hash = hash_secret(token);
    let row: Option<(String, String, String, String)> = tx
        .query_row(
            "SELECT user_id, csrf, created_at, last_seen_at FROM console_sessions WHERE token_hash = ?1",
            [&token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((user_id, csrf, created_at, last_seen_at)) = row else {
        return Ok(Found::None);
    };
    let created_at = db::parse_timestamp(&created_at)?;
    let last_seen_at = db::parse_timestamp(&last_seen_at)?;
    if now - last_seen_at > IDLE_TIMEOUT || now - created_at > MAX_SESSION_AGE {
        return Ok(Found::None);
    }
    let Some(user) = auth::load_user(tx, &user_id)? else {
        return Ok(Found::None);
    };
    if !uses_console(user.role) {
        return Ok(Found::None);
    }
    let session = Session {
        user,
        csrf,
        token_hash,
    };
    Ok(if now - last_seen_at > TOUCH_EVERY {
        Found::Stale(session)
    } else {
        Found::Live(session)
    })
}

/// Marks a session used now (idle expiry counts from here).
pub fn touch(
    tx: &Transaction<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), crate::db::sql::Error> {
    tx.execute(
        "UPDATE console_sessions SET last_seen_at = ?1 WHERE token_hash = ?2",
        params![db::timestamp(now), token_hash],
    )?;
    Ok(())
}

/// Ends a session: its cookie is refused from now on.
pub fn end(tx: &Transaction<'_>, token_hash: &str) -> Result<(), crate::db::sql::Error> {
    tx.execute(
        "DELETE FROM console_sessions WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Kit;

    fn login_at(kit: &Kit, user: &str, password: &str, address: &str, now: DateTime<Utc>) -> Login {
        login(kit.db(), user, password, address, now).unwrap()
    }

    fn with_password(kit: &Kit, user: &str, password: &str) {
        kit.db()
            .write(|tx| set_password(tx, user, password))
            .unwrap();
    }

    #[test]
    fn passwords_are_argon2id_and_verify_only_themselves() {
        let hash = hash_password("rahasia-korkab-1").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, "rahasia-korkab-1"));
        assert!(!verify_password(&hash, "rahasia-korkab-2"));
        assert!(!verify_password("not a hash", "rahasia-korkab-1"));
        assert!(matches!(
            hash_password("pendek"),
            Err(PasswordError::Length)
        ));
    }

    #[test]
    fn only_supervisors_and_admins_get_a_password() {
        let kit = Kit::world();
        let refused = kit
            .db()
            .write(|tx| set_password(tx, "enum1", "sandi-pencacah-1"))
            .unwrap_err();
        assert!(matches!(refused, PasswordError::NoConsole("enumerator")));
        let unknown = kit
            .db()
            .write(|tx| set_password(tx, "nobody", "sandi-pencacah-1"))
            .unwrap_err();
        assert!(matches!(unknown, PasswordError::UnknownUser(_)));
    }

    #[test]
    fn a_session_lives_while_used_and_ends_after_idling_or_logout() {
        let kit = Kit::world();
        with_password(&kit, "sup", "sandi-korkab-17");
        let t0 = Utc::now();
        let Login::Ok { token, .. } = login_at(&kit, "sup", "sandi-korkab-17", "10.0.0.1", t0)
        else {
            panic!("login failed")
        };
        let found = |at| kit.db().read(|tx| find(tx, &token, at)).unwrap();
        let Found::Live(session) = found(t0) else {
            panic!("no session")
        };
        assert_eq!(session.user.user_id, "sup");
        assert_eq!(session.csrf.len(), 64);
        // Used 20 minutes later: still live, and worth touching; touched, it lives 30 more minutes.
        let t1 = t0 + Duration::minutes(20);
        assert!(matches!(found(t1), Found::Stale(_)));
        kit.db()
            .write(|tx| touch(tx, &session.token_hash, t1))
            .unwrap();
        assert!(!matches!(found(t1 + Duration::minutes(29)), Found::None));
        assert!(matches!(found(t1 + Duration::minutes(31)), Found::None));
        // Logged out: gone at once.
        kit.db().write(|tx| end(tx, &session.token_hash)).unwrap();
        assert!(matches!(found(t1), Found::None));
        // A new password ends every session of the user.
        let Login::Ok { token, .. } = login_at(&kit, "sup", "sandi-korkab-17", "10.0.0.1", t0)
        else {
            panic!("login failed")
        };
        with_password(&kit, "sup", "sandi-korkab-18");
        assert!(matches!(
            kit.db().read(|tx| find(tx, &token, t0)).unwrap(),
            Found::None
        ));
    }

    #[test]
    fn sessions_end_after_twelve_hours_however_busy() {
        let kit = Kit::world();
        with_password(&kit, "sup", "sandi-korkab-17");
        let t0 = Utc::now();
        let Login::Ok { token, .. } = login_at(&kit, "sup", "sandi-korkab-17", "a", t0) else {
            panic!()
        };
        let hash = hash_secret(&token);
        let late = t0 + MAX_SESSION_AGE + Duration::minutes(1);
        kit.db()
            .write(|tx| touch(tx, &hash, late - Duration::minutes(1)))
            .unwrap();
        assert!(matches!(
            kit.db().read(|tx| find(tx, &token, late)).unwrap(),
            Found::None
        ));
    }

    #[test]
    fn failed_logins_are_slowed_per_account_and_per_address() {
        let kit = Kit::world();
        with_password(&kit, "sup", "sandi-korkab-17");
        with_password(&kit, "sup_other", "sandi-korkab-99");
        let t0 = Utc::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(
                login_at(&kit, "sup", "salah-salah", "10.0.0.1", t0),
                Login::Failed
            );
        }
        // The account must wait, even with the right password, and from another address.
        assert_eq!(
            login_at(&kit, "sup", "sandi-korkab-17", "10.0.0.2", t0),
            Login::Wait(2)
        );
        // The address must wait for any account.
        assert_eq!(
            login_at(&kit, "sup_other", "sandi-korkab-99", "10.0.0.1", t0),
            Login::Wait(2)
        );
        // After the wait, the right password works again (from a fresh address).
        let later = t0 + Duration::seconds(3);
        assert!(matches!(
            login_at(&kit, "sup", "sandi-korkab-17", "10.0.0.3", later),
            Login::Ok { .. }
        ));
        // Each further failure doubles the wait.
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            let wait = kit
                .db()
                .read(|tx| wait_secs(tx, &throttle_keys("x", "10.0.0.9"), at))
                .unwrap();
            at += Duration::seconds(wait);
            assert_eq!(
                login_at(&kit, "x", "salah-salah", "10.0.0.9", at),
                Login::Failed
            );
        }
        for _ in 0..4 {
            let wait = kit
                .db()
                .read(|tx| wait_secs(tx, &throttle_keys("x", "10.0.0.9"), at))
                .unwrap();
            waits.push(wait);
            at += Duration::seconds(wait);
            assert_eq!(
                login_at(&kit, "x", "salah-salah", "10.0.0.9", at),
                Login::Failed
            );
        }
        assert_eq!(waits, vec![0, 2, 4, 8]);
    }

    #[test]
    fn an_enumerator_with_a_password_gets_no_session() {
        let kit = Kit::world();
        kit.db()
            .write(|tx| {
                tx.execute(
                    "UPDATE users SET password_hash = ?1 WHERE user_id = 'enum1'",
                    [hash_password("sandi-pencacah-1").unwrap()],
                )
            })
            .unwrap();
        assert_eq!(
            login_at(&kit, "enum1", "sandi-pencacah-1", "a", Utc::now()),
            Login::NoConsole
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
