//! The form definition as authored in `schemas/forms/*.json` and documented by `schemas/form.schema.json`.
//!
//! These types are plain data: a form is checked and compiled by [`super::load`] before anything evaluates it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A text in Bahasa Indonesia (`id`, shown by default) and English (`en`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub id: String,
    pub en: String,
}

impl Text {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            en: en.into(),
        }
    }

    /// The text in the given language.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Id => &self.id,
            Lang::En => &self.en,
        }
    }
}

/// The two languages every user-facing text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bahasa Indonesia, the default.
    #[default]
    Id,
    En,
}

/// A whole form: identity, named choice lists and sections of fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Stable identifier, e.g. `dtsen_groundcheck`.
    pub id: String,
    /// Version number; a draft stays on the version it started with.
    pub version: u32,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// The id of the top-level `select_one` whose answer is the visit's outcome (found, not found, moved, ...):
    /// what progress counts visits by, and what the phone reads to offer a revisit. Read it through
    /// [`Form::outcome_field`], which also serves forms written before this key existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The field roles that may start a visit of this form without an assignment (a new case, a monitoring
    /// visit): the phone offers the form in its "new case" menu only to them, and the server refuses an
    /// unassigned visit of this form from anyone else. Default: assessors only (TKSK, the PPKS asesmen);
    /// `[]`: only with an assignment. Read it through [`Form::may_start_without_assignment`].
    #[serde(
        default = "FieldRole::default_starters",
        skip_serializing_if = "FieldRole::is_default_starters"
    )]
    pub start_without_assignment: Vec<FieldRole>,
    /// Named choice lists referenced by `select_one` / `select_multiple` fields.
    #[serde(default)]
    pub choices: BTreeMap<String, Vec<Choice>>,
    pub sections: Vec<Section>,
}

/// The roles that make visits in the field, as a form names them in `start_without_assignment` (the protocol's
/// `Role` maps onto it; supervisors and admins make no visits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldRole {
    /// Pendamping PKH: ground checks of assigned households, monitoring visits.
    Enumerator,
    /// TKSK officer: PPKS asesmen, new cases.
    Assessor,
}

impl FieldRole {
    /// Who may start a form without an assignment when the form does not say: assessors, as before the key.
    pub fn default_starters() -> Vec<FieldRole> {
        vec![FieldRole::Assessor]
    }

    fn is_default_starters(roles: &[FieldRole]) -> bool {
        roles == Self::default_starters().as_slice()
    }
}

/// Field ids that name the outcome of a form without an `outcome` key, in order of preference: the convention
/// forms followed before the key existed (a top-level `select_one` of one of these names).
pub const CONVENTIONAL_OUTCOME_FIELDS: [&str; 2] = ["visit_outcome", "outcome"];

impl Form {
    /// Whether `role` may start a visit of this form without an assignment (`start_without_assignment`).
    pub fn may_start_without_assignment(&self, role: FieldRole) -> bool {
        self.start_without_assignment.contains(&role)
    }

    /// The field whose answer is a visit's outcome. The one definition the phone and the server share:
    /// - a form with an `outcome` key: the field it names (the loader checks it is a top-level `select_one`);
    /// - a form without the key (published before it existed): a top-level `select_one` named `visit_outcome`,
    ///   else one named `outcome`;
    /// - otherwise none: the form's visits have no outcome (a PPKS asesmen counts cases, not outcomes).
    pub fn outcome_field(&self) -> Option<&Field> {
        let top_level_select = |id: &str| {
            self.sections
                .iter()
                .flat_map(|s| s.fields.iter())
                .find(|f| f.id == id && f.kind == FieldType::SelectOne)
        };
        match &self.outcome {
            Some(id) => top_level_select(id),
            None => CONVENTIONAL_OUTCOME_FIELDS
                .iter()
                .find_map(|id| top_level_select(id)),
        }
    }
}

/// One option of a choice list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The stored code, e.g. `"1"`.
    pub value: String,
    pub label: Text,
    /// Extra attributes a `choice_filter` may test by bare name (as XLSForm's extra choice columns),
    /// e.g. `{"cluster": "anak"}` with `choice_filter: "cluster = ${atensi_cluster}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

/// A screenful of fields; a section whose `relevant` is false is skipped as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<String>,
    pub fields: Vec<Field>,
}

/// The type of a field, as named in the form JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    /// `YYYY-MM-DD`.
    Date,
    SelectOne,
    SelectMultiple,
    /// A GPS fix: latitude, longitude, accuracy in metres.
    Geopoint,
    /// A photo reference: file name and SHA-256 of its bytes.
    Photo,
    /// Nomor Induk Kependudukan: 16 digits, checked against birth date, sex and region prefix.
    Nik,
    /// Nomor Kartu Keluarga: 16 digits with a known region prefix.
    Kk,
    /// A Kemendagri region code, chosen level by level (province → regency → district → village).
    Region,
    /// Text shown to the enumerator; holds no answer.
    Note,
    /// A value computed from `calculate`; never typed.
    Calculate,
    /// A repeated group of fields (e.g. the member roster); its answer is a list of members.
    Repeat,
}

/// `required` is either a constant or an expression (XLSForm's "yes" or a condition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Requirement {
    Always(bool),
    When(String),
}

impl Default for Requirement {
    fn default() -> Self {
        Requirement::Always(false)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Needs a short enumerator note before finalising.
    Warning,
    /// Blocks finalising.
    Error,
}

/// A rule on a field: `expr` must be true (`.` is the field's own value) or the finding is raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    pub expr: String,
    pub message: Text,
    #[serde(default = "Constraint::default_level")]
    pub level: Level,
    /// A short stable name for the rule (e.g. `one_head`), used in exports and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Constraint {
    fn default_level() -> Level {
        Level::Error
    }
}

/// The finding a required field raises when it has no answer, when not the default error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    #[serde(default = "Constraint::default_level")]
    pub level: Level,
    /// The rule name of the finding (default `required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The message (default: "<label> wajib diisi / is required").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
}

/// The deepest level a `region` field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionLevel {
    Province,
    Regency,
    District,
    Village,
}

/// One question (or note, calculation, repeat group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Unique in the whole form (repeat children included), `[a-z][a-z0-9_]*`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Text>,
    #[serde(default, skip_serializing_if = "is_not_required")]
    pub required: Requirement,
    /// What a missing required answer raises; by default an error (`required`) that blocks finalising.
    /// A warning here lets the enumerator finalise with a note (e.g. no GPS fix under a roof: KOSONG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
    /// Skip logic: when false the field is hidden, its answer neither validated nor exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// For `calculate` fields: the expression giving the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculate: Option<String>,
    /// For `select_one` / `select_multiple`: the name of a list in [`Form::choices`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<String>,
    /// For selects: keeps the choices for which this is true (bare names are the choice's `attrs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice_filter: Option<String>,
    /// For `region`: how deep the answer must go (default: village).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_level: Option<RegionLevel>,
    /// For `region`: restrict choices to codes under this expression's value (e.g. the assignment's regency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_within: Option<String>,
    /// Pre-filled from the assignment's prefill entry of this name (editable unless `read_only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// For `repeat`: the member fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// For `repeat`: bounds on the number of members. The server refuses a visit with more than `max_count`
    /// members before evaluating it; without `max_count` its server-wide list limit (100) applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u32>,
    /// For `text`: the most characters an answer may have (at most the server-wide cap,
    /// [`crate::text_rules::DEFAULT_MAX_TEXT_CHARS`], which applies when this is not set). Typing beyond it
    /// is refused; a longer stored answer is an error finding (`max_length`), and the server refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// For `text`: what the answer is, so that it is stored in one form however it is typed (`phone`,
    /// `digits`). Absent: the text as typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<TextInput>,
}

/// What a text field holds, for reading it as people write it (`Field::input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextInput {
    /// An Indonesian mobile number: `0812-3456-7890`, `+62 812 3456 7890` and `6281234567890` are all
    /// stored `081234567890` (national form, digits only).
    Phone,
    /// A number made of digits that people group with spaces, dots or dashes (PLN customer ID, meter number):
    /// stored as the digits alone.
    Digits,
}

impl TextInput {
    /// The canonical form of `text` (already trimmed). Text that is not wholly digits once the separators
    /// people use are dropped is kept as typed, so the field's constraint names the problem.
    pub fn canonical(self, text: &str) -> String {
        let digits: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')' | '/'))
            .collect();
        let (plus, rest) = match digits.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, digits.as_str()),
        };
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return text.to_string();
        }
        match self {
            TextInput::Digits if !plus => rest.to_string(),
            TextInput::Digits => text.to_string(),
            // +62 8…, 62 8…, 0062 8… → 08…; a number already starting 0 stays.
            TextInput::Phone => {
                let national = rest
                    .strip_prefix("0062")
                    .or_else(|| rest.strip_prefix("62"));
                match national {
                    Some(subscriber) if subscriber.starts_with('8') => format!("0{subscriber}"),
                    _ if !plus => rest.to_string(),
                    _ => text.to_string(),
                }
            }
        }
    }
}

fn is_not_required(r: &Requirement) -> bool {
    *r == Requirement::Always(false)
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::TextInput;

    #[test]
    fn phone_numbers_come_to_the_national_form() {
        for typed in [
            "0812-3456-7890",
            "+62 812 3456 7890",
            "6281234567890",
            "0062 812 3456 7890",
        ] {
            assert_eq!(
                TextInput::Phone.canonical(typed),
                "081234567890",
                "{typed:?}"
            );
        }
        // Anything else is kept as typed, for the form's check to name.
        for typed in ["+1 555 0100", "0812 abc", "+", "-"] {
            assert_eq!(TextInput::Phone.canonical(typed), typed);
        }
        // A landline number: digits only, as typed otherwise.
        assert_eq!(TextInput::Phone.canonical("(0736) 21-234"), "073621234");
    }

    #[test]
    fn digits_lose_the_separators_people_group_them_with() {
        assert_eq!(
            TextInput::Digits.canonical("5123 4567 8901"),
            "512345678901"
        );
        assert_eq!(
            TextInput::Digits.canonical("5123.4567.8901"),
            "512345678901"
        );
        assert_eq!(TextInput::Digits.canonical("5123 ABCD"), "5123 ABCD");
        assert_eq!(TextInput::Digits.canonical("+5123"), "+5123");
    }

    const DTSEN: &str = include_str!("../../../schemas/forms/dtsen_groundcheck.json");
    const PPKS: &str = include_str!("../../../schemas/forms/ppks_asesmen.json");

    /// A form whose sections hold `fields` (JSON objects), with `extra` top-level keys.
    fn form(extra: &str, fields: &str) -> String {
        format!(
            r#"{{"id": "f", "version": 1, "title": {{"id": "F", "en": "F"}}, {extra}
              "choices": {{"codes": [{{"value": "1", "label": {{"id": "Satu", "en": "One"}}}}]}},
              "sections": [{{"id": "s", "title": {{"id": "S", "en": "S"}}, "fields": [{fields}]}}]}}"#
        )
    }

    fn select(id: &str) -> String {
        format!(
            r#"{{"id": "{id}", "type": "select_one", "choices": "codes", "label": {{"id": "x", "en": "x"}}}}"#
        )
    }

    fn outcome_of(json: &str) -> Option<String> {
        let compiled = load(json).unwrap_or_else(|e| panic!("{e}"));
        compiled.form().outcome_field().map(|f| f.id.clone())
    }

    #[test]
    fn the_dtsen_form_declares_its_outcome_and_the_ppks_form_has_none() {
        let dtsen = load(DTSEN).unwrap();
        assert_eq!(dtsen.form().outcome.as_deref(), Some("visit_outcome"));
        assert_eq!(outcome_of(DTSEN).as_deref(), Some("visit_outcome"));
        // PPKS has select_ones (its first is `case_source`), none of them an outcome.
        let ppks = load(PPKS).unwrap();
        assert_eq!(ppks.form().outcome, None);
        assert_eq!(outcome_of(PPKS), None);
    }

    #[test]
    fn a_declared_outcome_wins_over_the_conventional_names() {
        let fields = [select("kind"), select("outcome"), select("result")].join(",");
        assert_eq!(
            outcome_of(&form(r#""outcome": "result","#, &fields)).as_deref(),
            Some("result")
        );
    }

    #[test]
    fn without_the_key_the_conventional_names_count_and_never_the_first_select() {
        let fields = [select("kind"), select("outcome"), select("visit_outcome")].join(",");
        assert_eq!(
            outcome_of(&form("", &fields)).as_deref(),
            Some("visit_outcome")
        );
        let fields = [select("kind"), select("outcome")].join(",");
        assert_eq!(outcome_of(&form("", &fields)).as_deref(), Some("outcome"));
        let fields = [select("case_source"), select("urgency")].join(",");
        assert_eq!(outcome_of(&form("", &fields)), None);
        // A conventional name on a field that is not a select_one is no outcome.
        let text = r#"{"id": "outcome", "type": "text", "label": {"id": "x", "en": "x"}}"#;
        assert_eq!(outcome_of(&form("", text)), None);
    }

    #[test]
    fn who_may_start_a_form_without_an_assignment_is_the_form_s_to_say() {
        use super::FieldRole::{Assessor, Enumerator};
        // Without the key: assessors only, as before the key existed; the key is not written back.
        let fields = select("kind");
        let plain = load(&form("", &fields)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.form().start_without_assignment, vec![Assessor]);
        assert!(plain.form().may_start_without_assignment(Assessor));
        assert!(!plain.form().may_start_without_assignment(Enumerator));
        let written = serde_json::to_value(plain.form()).unwrap_or_default();
        assert!(written.get("start_without_assignment").is_none());
        assert!(!PPKS.contains("start_without_assignment"));
        // Both field roles; none (assignments only).
        let both = r#""start_without_assignment": ["enumerator", "assessor"],"#;
        let both = load(&form(both, &fields)).unwrap_or_else(|e| panic!("{e}"));
        assert!(both.form().may_start_without_assignment(Enumerator));
        assert!(both.form().may_start_without_assignment(Assessor));
        let written = serde_json::to_value(both.form()).unwrap_or_default();
        assert_eq!(
            written["start_without_assignment"],
            serde_json::json!(["enumerator", "assessor"])
        );
        let none = load(&form(r#""start_without_assignment": [],"#, &fields))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!none.form().may_start_without_assignment(Assessor));
        // A role that makes no visits, and a role named twice, are load-time problems.
        let errors = load(&form(
            r#""start_without_assignment": ["supervisor"],"#,
            &fields,
        ))
        .unwrap_err();
        assert!(errors.to_string().contains("supervisor"), "{errors}");
        let errors = load(&form(
            r#""start_without_assignment": ["assessor", "assessor"],"#,
            &fields,
        ))
        .unwrap_err();
        assert!(
            errors
                .0
                .iter()
                .any(|e| e.path == "start_without_assignment[1]"),
            "{errors}"
        );
    }

    #[test]
    fn an_outcome_key_must_name_a_top_level_select_one() {
        let repeat = format!(
            r#"{{"id": "rows", "type": "repeat", "label": {{"id": "x", "en": "x"}}, "fields": [{}]}}"#,
            select("inner")
        );
        let text = r#"{"id": "note_text", "type": "text", "label": {"id": "x", "en": "x"}}"#;
        let fields = [select("kind"), repeat, text.to_string()].join(",");
        for (key, says) in [
            ("nowhere", "does not have"),
            ("inner", "outside any repeat"),
            ("note_text", "must be a select_one"),
        ] {
            let errors = load(&form(&format!(r#""outcome": "{key}","#), &fields)).unwrap_err();
            assert!(
                errors
                    .0
                    .iter()
                    .any(|e| e.path == "outcome" && e.message.contains(says)),
                "{key}: {errors}"
            );
        }
        let errors = load(&form(r#""outcome": 5,"#, &fields)).unwrap_err();
        assert!(errors.0.iter().any(|e| e.path == "outcome"), "{errors}");
    }
}
