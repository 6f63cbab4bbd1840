//! What a form prefills: the keys an import may carry for one form version, and whether a value fits the field
//! that reads it (parsed by the form engine exactly as the phone will parse it, so a value that would silently
//! not prefill on the phone is refused at import instead).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tepat_form::{CompiledForm, Field, FieldType, FormSession, identity};
use tepat_protocol::Answers;

/// The prefill key a repeat's child field reads to mark a member as being on the register (set by the import for
/// every member record it carries, so the phone can ask a registered member for their status and offer *new
/// member* only for people added on the day).
pub const REGISTERED_KEY: &str = "registered";

/// The prefill key an assignment's own `region_code` fills without a column of its own.
pub const REGION_CODE_KEY: &str = "region_code";

/// One prefilled field: its id (or path inside the first member) and type.
#[derive(Debug, Clone)]
struct Target {
    path: String,
    kind: FieldType,
}

/// A repeat the form prefills (the family's members on record).
#[derive(Debug, Clone)]
pub struct RepeatKeys {
    /// The repeat's own `prefill` key (`members`).
    pub key: String,
    keys: BTreeMap<String, Target>,
    /// The repeat's `max_count`, if any: a registered family never has more members than the form allows.
    pub max_count: Option<u32>,
}

/// The prefill keys of one form version.
#[derive(Clone)]
pub struct FormKeys {
    pub form_id: String,
    pub version: u32,
    top: BTreeMap<String, Target>,
    repeats: Vec<RepeatKeys>,
    compiled: CompiledForm,
}

impl FormKeys {
    pub fn of(compiled: &CompiledForm) -> FormKeys {
        let form = compiled.form();
        let mut top = BTreeMap::new();
        let mut repeats = Vec::new();
        for field in form.sections.iter().flat_map(|s| s.fields.iter()) {
            if field.kind == FieldType::Repeat {
                if let Some(key) = &field.prefill {
                    repeats.push(RepeatKeys {
                        key: key.clone(),
                        keys: member_keys(field),
                        max_count: field.max_count,
                    });
                }
            } else if let Some(key) = &field.prefill {
                top.insert(
                    key.clone(),
                    Target {
                        path: field.id.clone(),
                        kind: field.kind,
                    },
                );
            }
        }
        FormKeys {
            form_id: form.id.clone(),
            version: form.version,
            top,
            repeats,
            compiled: compiled.clone(),
        }
    }

    pub fn knows(&self, key: &str) -> bool {
        self.top.contains_key(key)
    }

    /// The household keys, sorted, for an error message.
    pub fn known(&self) -> String {
        list(self.top.keys())
    }

    pub fn prefills_region_code(&self) -> bool {
        self.top.contains_key(REGION_CODE_KEY)
    }

    /// The repeat with this prefill key.
    pub fn repeat(&self, key: &str) -> Option<&RepeatKeys> {
        self.repeats.iter().find(|r| r.key == key)
    }

    /// The form's only prefilled repeat (what a members file fills), or why there is none to fill.
    pub fn only_repeat(&self) -> Result<&RepeatKeys, String> {
        match self.repeats.as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "form {} version {} prefills no roster, so it takes no members",
                self.form_id, self.version
            )),
            many => Err(format!(
                "form {} version {} prefills {} rosters ({}); import it as JSON lines, naming the roster",
                self.form_id,
                self.version,
                many.len(),
                list(many.iter().map(|r| &r.key))
            )),
        }
    }

    pub fn repeat_keys(&self) -> String {
        list(self.repeats.iter().map(|r| &r.key))
    }

    /// Why a household value cannot prefill its field (`None`: it can).
    pub fn household_value_problem(&self, key: &str, value: &str) -> Option<String> {
        let target = self.top.get(key)?;
        self.value_problem(target, value, None)
    }

    /// Why a member value cannot prefill its field (`None`: it can).
    pub fn member_value_problem(
        &self,
        repeat: &RepeatKeys,
        key: &str,
        value: &str,
    ) -> Option<String> {
        let target = repeat.keys.get(key)?;
        self.value_problem(target, value, Some(&repeat.key))
    }

    fn value_problem(&self, target: &Target, value: &str, repeat: Option<&str>) -> Option<String> {
        let identity = match target.kind {
            FieldType::Nik => identity::check_nik(value).err().map(|p| ("NIK", p)),
            FieldType::Kk => identity::check_kk(value).err().map(|p| ("No. KK", p)),
            _ => None,
        };
        if let Some((kind, problems)) = identity {
            return Some(format!(
                "bad {kind} format: {}",
                problems
                    .iter()
                    .map(|p| p.message.en.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        let session = self.session_for(repeat)?;
        session
            .parse_input(&target.path, value)
            .err()
            .map(|e| format!("{:?} does not fit the field: {}", value, e.message.en))
    }

    /// An empty session, with one member in the repeat being checked (a member field's path is inside it).
    fn session_for(&self, repeat: Option<&str>) -> Option<FormSession> {
        // The date only matters to expressions, which parsing a value never evaluates.
        let date = NaiveDate::from_ymd_opt(2026, 1, 1)?;
        let mut session = self.compiled.session(Answers::new(), date).ok()?;
        if let Some(key) = repeat {
            let field = self
                .compiled
                .form()
                .sections
                .iter()
                .flat_map(|s| s.fields.iter())
                .find(|f| f.kind == FieldType::Repeat && f.prefill.as_deref() == Some(key))?;
            session.add_member(&field.id).ok()?;
        }
        Some(session)
    }
}

impl RepeatKeys {
    pub fn knows(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    pub fn known(&self) -> String {
        list(self.keys.keys().filter(|k| *k != REGISTERED_KEY))
    }

    /// Whether the roster has a field marking members on the register.
    pub fn marks_registered(&self) -> bool {
        self.keys.contains_key(REGISTERED_KEY)
    }
}

fn member_keys(repeat: &Field) -> BTreeMap<String, Target> {
    repeat
        .fields
        .iter()
        .filter_map(|f| {
            let key = f.prefill.as_ref()?;
            Some((
                key.clone(),
                Target {
                    path: format!("{}[0].{}", repeat.id, f.id),
                    kind: f.kind,
                },
            ))
        })
        .collect()
}

fn list<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<&str> = keys.map(String::as_str).collect();
    if keys.is_empty() {
        "none".into()
    } else {
        keys.join(", ")
    }
}
