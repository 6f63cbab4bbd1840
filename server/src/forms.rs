//! Published form versions: publishing (checked by the shared form engine, immutable once published) and a cache
//! of compiled forms for ingest.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use tepat_form::{self as form, CompiledForm, Field, FieldType, Form, LoadErrors};

use crate::changes;
use crate::db::{self, DbError};
use crate::names;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Load(LoadErrors),
    #[error("form id: {0}")]
    BadId(names::TextError),
    #[error(
        "{form_id} version {version} is already published with different content; published versions are \
         immutable, publish the change as version {next}"
    )]
    Immutable {
        form_id: String,
        version: u32,
        next: u32,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for PublishError {
    fn from(e: crate::db::sql::Error) -> Self {
        PublishError::Db(e.into())
    }
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    New {
        form_id: String,
        version: u32,
    },
    /// The identical form was already published: nothing changed.
    Unchanged {
        form_id: String,
        version: u32,
    },
}

/// Checks a form with the shared engine and publishes it; devices receive it on their next sync.
pub fn publish(
    tx: &Transaction<'_>,
    json: &str,
    now: DateTime<Utc>,
) -> Result<Published, PublishError> {
    let compiled = form::load(json).map_err(PublishError::Load)?;
    let form = compiled.form();
    names::check_id("id", &form.id).map_err(PublishError::BadId)?;
    // Compare the parsed forms, so whitespace and key order in the file do not count as a change.
    let canonical = serde_json::to_string(form).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT json FROM forms WHERE form_id = ?1 AND version = ?2",
            params![form.id, form.version],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(stored) = existing {
        let stored: Form =
            serde_json::from_str(&stored).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let stored = serde_json::to_string(&stored).map_err(|e| DbError::Corrupt(e.to_string()))?;
        if stored == canonical {
            return Ok(Published::Unchanged {
                form_id: form.id.clone(),
                version: form.version,
            });
        }
        let latest: u32 = tx.query_row(
            "SELECT max(version) FROM forms WHERE form_id = ?1",
            [&form.id],
            |r| r.get(0),
        )?;
        return Err(PublishError::Immutable {
            form_id: form.id.clone(),
            version: form.version,
            next: latest.saturating_add(1),
        });
    }
    tx.execute(
        "INSERT INTO forms (form_id, version, json, published_at) VALUES (?1, ?2, ?3, ?4)",
        params![form.id, form.version, canonical, db::timestamp(now)],
    )?;
    changes::record_form(tx, &form.id, form.version, now)?;
    let detail = serde_json::json!({"sha256": crate::ledger::doc_sha256(&canonical)});
    crate::ledger::append(
        tx,
        now,
        "admin",
        "form_published",
        &format!("form:{}:{}", form.id, form.version),
        &detail,
    )?;
    Ok(Published::New {
        form_id: form.id.clone(),
        version: form.version,
    })
}

/// Whether a form id/version is published.
pub fn is_published(
    tx: &Transaction<'_>,
    form_id: &str,
    version: u32,
) -> Result<bool, crate::db::sql::Error> {
    tx.query_row(
        "SELECT 1 FROM forms WHERE form_id = ?1 AND version = ?2",
        params![form_id, version],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// Reads a published form.
pub fn load_form(
    tx: &Transaction<'_>,
    form_id: &str,
    version: u32,
) -> Result<Option<Form>, DbError> {
    let json: Option<String> = tx
        .query_row(
            "SELECT json FROM forms WHERE form_id = ?1 AND version = ?2",
            params![form_id, version],
            |r| r.get(0),
        )
        .optional()?;
    json.map(|j| {
        serde_json::from_str(&j)
            .map_err(|e| DbError::Corrupt(format!("form {form_id} v{version}: {e}")))
    })
    .transpose()
}

/// Every published version of a form, oldest first.
pub fn versions(tx: &Transaction<'_>, form_id: &str) -> Result<Vec<Form>, DbError> {
    let mut stmt = tx.prepare("SELECT json FROM forms WHERE form_id = ?1 ORDER BY version")?;
    let rows = stmt.query_map([form_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for json in rows {
        out.push(
            serde_json::from_str(&json?)
                .map_err(|e| DbError::Corrupt(format!("form {form_id}: {e}")))?,
        );
    }
    Ok(out)
}

/// Compiled forms by (id, version). Published forms never change, so a found form stays cached; a miss is not
/// cached, because an admin may publish the form a moment later.
#[derive(Debug, Default)]
pub struct FormCache {
    compiled: RwLock<HashMap<(String, u32), CompiledForm>>,
}

impl FormCache {
    pub fn get(
        &self,
        tx: &Transaction<'_>,
        form_id: &str,
        version: u32,
    ) -> Result<Option<CompiledForm>, DbError> {
        let key = (form_id.to_string(), version);
        if let Some(found) = self
            .compiled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(Some(found.clone()));
        }
        let Some(form) = load_form(tx, form_id, version)? else {
            return Ok(None);
        };
        let compiled = form::compile(form).map_err(|e| {
            DbError::Corrupt(format!(
                "published form {form_id} v{version} no longer loads: {e}"
            ))
        })?;
        self.compiled
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, compiled.clone());
        Ok(Some(compiled))
    }
}

/// Fields outside repeats that hold answers, in form order.
pub fn top_level_fields(form: &Form) -> impl Iterator<Item = &Field> {
    form.sections
        .iter()
        .flat_map(|s| s.fields.iter())
        .filter(|f| holds_answer(f.kind) && f.kind != FieldType::Repeat)
}

/// Repeat groups (member rosters and the like), in form order.
pub fn repeats(form: &Form) -> impl Iterator<Item = &Field> {
    form.sections
        .iter()
        .flat_map(|s| s.fields.iter())
        .filter(|f| f.kind == FieldType::Repeat)
}

/// Whether a field of this type has an answer (notes do not).
pub fn holds_answer(kind: FieldType) -> bool {
    kind != FieldType::Note
}

/// The field whose answer is the visit outcome (found, not found, moved, ...), for progress: as the form declares
/// it ([`Form::outcome_field`], the definition the phone reads too).
pub fn outcome_field(form: &Form) -> Option<&str> {
    form.outcome_field().map(|f| f.id.as_str())
}

/// The top-level fields of a type, in form order (the household's NIK, No. KK, region fields). A visit's key is
/// the first of them it answered: a form may have several, some hidden for a given visit.
pub fn of_type(form: &Form, kind: FieldType) -> impl Iterator<Item = &str> {
    top_level_fields(form)
        .filter(move |f| f.kind == kind)
        .map(|f| f.id.as_str())
}

#[cfg(test)]
mod tests;
