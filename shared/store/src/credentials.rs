//! The device token from enrolment, kept with the identity it belongs to.
//!
//! The token is a bearer secret: it lives only in this database (in the app's private storage), is never
//! written to the audit log, and is replaced whole by a new enrolment.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Audit, Identity, Store, StoreError, audit};

impl Store {
    /// The device token, once enrolled through a server.
    pub fn device_token(&self) -> Result<Option<String>, StoreError> {
        self.setting("device_token")
    }

    /// Records an enrolment: who the device works for and its token, in one transaction (a device is never left
    /// with a token for nobody, or a user without the token).
    pub fn save_enrolment(
        &mut self,
        identity: &Identity,
        token: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.strict(|store| {
            let json =
                serde_json::to_string(identity).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let tx = store.conn.transaction()?;
            let old: Option<String> = tx
                .query_row(
                    "SELECT value FROM settings WHERE key = 'identity'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            for (key, value) in [("identity", json.as_str()), ("device_token", token)] {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = ?2",
                    params![key, value],
                )?;
            }
            let event = Audit {
                kind: "enrolled",
                old: old.as_deref(),
                new: Some(&json),
                ..Audit::default()
            };
            audit(&tx, at, &identity.user_id, &event)?;
            tx.commit()?;
            store.actor = identity.user_id.clone();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tepat_protocol::Role;

    fn identity(user: &str) -> Identity {
        Identity {
            device_id: format!("dev-{user}"),
            user_id: user.into(),
            name: "Siti".into(),
            role: Role::Enumerator,
            regions: vec!["17.71".into()],
        }
    }

    #[test]
    fn an_enrolment_keeps_identity_and_token_together_and_a_new_one_replaces_both() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.device_token().unwrap(), None);
        store
            .save_enrolment(&identity("pkh1"), "secret-1", Utc::now())
            .unwrap();
        assert_eq!(store.device_token().unwrap().as_deref(), Some("secret-1"));
        assert_eq!(store.settings().unwrap().identity, Some(identity("pkh1")));
        store
            .save_enrolment(&identity("pkh2"), "secret-2", Utc::now())
            .unwrap();
        assert_eq!(store.device_token().unwrap().as_deref(), Some("secret-2"));
        assert_eq!(store.settings().unwrap().identity, Some(identity("pkh2")));
    }

    #[test]
    fn the_token_never_reaches_the_audit_log() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .save_enrolment(&identity("pkh1"), "very-secret-token", Utc::now())
            .unwrap();
        let leaked: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM audit WHERE coalesce(old, '') || coalesce(new, '') LIKE '%very-secret%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(leaked, 0);
        let enrolled: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM audit WHERE kind = 'enrolled'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(enrolled, 1);
    }
}
