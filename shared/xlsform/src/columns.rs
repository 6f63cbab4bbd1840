//! Column headers: XLSForm's names and their usual variants (`list name`, `jr:constraintMsg`, …), languages
//! (`label::Bahasa Indonesia (id)`, `label::English (en)`, `label::English`, `label::en`, plain `label`), and
//! Tepat's own `tepat:` columns.

use std::collections::{BTreeMap, BTreeSet};

use tepat_form::{Lang, Text};

use crate::read::{Row, Sheet, column_letter};
use crate::{Place, Problem};

/// The language of a plain (untranslated) text column: the settings' `default_language`, else Bahasa
/// Indonesia.
pub(crate) fn language(spec: &str) -> Option<Lang> {
    let s = spec.trim();
    if let (Some(open), true) = (s.rfind('('), s.ends_with(')')) {
        let code = s.get(open + 1..s.len() - 1).unwrap_or_default();
        return match code.trim().to_lowercase().as_str() {
            "id" | "in" | "ind" => Some(Lang::Id),
            "en" | "eng" => Some(Lang::En),
            _ => None,
        };
    }
    match s.to_lowercase().as_str() {
        "bahasa indonesia" | "indonesian" | "indonesia" | "bahasa" | "id" | "ind" | "in" => {
            Some(Lang::Id)
        }
        "english" | "en" | "eng" | "inggris" | "bahasa inggris" => Some(Lang::En),
        _ => None,
    }
}

/// A header's base name, with XLSForm's usual variants brought to one spelling, and its language part.
pub(crate) fn parse_header(header: &str) -> (String, Option<String>) {
    let header = header.trim();
    let (base, lang) = match header.split_once("::") {
        Some((base, lang)) => (base, Some(lang.trim().to_string())),
        None => (header, None),
    };
    let base = base.trim().to_lowercase().replace(' ', "_");
    let base = match base.as_str() {
        "relevance" => "relevant",
        "calculate" => "calculation",
        "constraint_msg" | "jr:constraintmsg" => "constraint_message",
        "required_msg" | "jr:requiredmsg" => "required_message",
        "readonly" => "read_only",
        "jr:count" => "repeat_count",
        "id_string" => "form_id",
        "title" => "form_title",
        "image" | "audio" | "video" | "big-image" => "media",
        other => other,
    };
    (base.to_string(), lang)
}

/// Which columns of a text (label, hint, message) hold which language.
#[derive(Debug, Clone, Default)]
struct TextColumns {
    id: Option<u32>,
    en: Option<u32>,
}

/// A sheet's columns, by base name, with the text columns by language.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub sheet: String,
    headers: BTreeMap<u32, String>,
    single: BTreeMap<String, u32>,
    texts: BTreeMap<String, TextColumns>,
    /// Columns no base of this sheet knows (the choices sheet's attributes; elsewhere, problems).
    pub other: Vec<u32>,
}

impl Columns {
    /// Sorts a sheet's headers into `singles` (one column each), `texts` (one column per language) and the
    /// rest. Two columns for the same thing, and a language other than Bahasa Indonesia and English, are
    /// problems (the latter once per column that holds any text).
    pub fn new(
        sheet: &Sheet,
        singles: &[&str],
        texts: &[&str],
        default: Lang,
        problems: &mut Vec<Problem>,
    ) -> Columns {
        let mut cols = Columns {
            sheet: sheet.name.clone(),
            headers: sheet.headers.clone(),
            single: BTreeMap::new(),
            texts: BTreeMap::new(),
            other: Vec::new(),
        };
        for (&col, header) in &sheet.headers {
            let (base, lang) = parse_header(header);
            let place = cols.header_place(col);
            let is_text = texts.contains(&base.as_str()) || is_numbered_message(&base);
            if is_text {
                let lang = match &lang {
                    None => Some(default),
                    Some(spec) => language(spec),
                };
                let Some(lang) = lang else {
                    let used = sheet
                        .rows
                        .iter()
                        .filter(|r| r.cells.contains_key(&col))
                        .count();
                    if used > 0 {
                        problems.push(Problem {
                            place,
                            message: format!(
                                "a language other than Bahasa Indonesia and English is not carried (Tepat forms \
                                 hold those two); its {used} cell(s) would be lost"
                            ),
                        });
                    }
                    continue;
                };
                let slot = cols.texts.entry(base.clone()).or_default();
                let target = match lang {
                    Lang::Id => &mut slot.id,
                    Lang::En => &mut slot.en,
                };
                if let Some(first) = target.replace(col) {
                    problems.push(Problem {
                        place,
                        message: format!(
                            "a second {} column for `{base}` (the first is {})",
                            match lang {
                                Lang::Id => "Bahasa Indonesia",
                                Lang::En => "English",
                            },
                            column_letter(first)
                        ),
                    });
                }
            } else if lang.is_none() && (singles.contains(&base.as_str()) || is_numbered(&base)) {
                if let Some(first) = cols.single.insert(base.clone(), col) {
                    problems.push(Problem {
                        place,
                        message: format!(
                            "a second `{base}` column (the first is {})",
                            column_letter(first)
                        ),
                    });
                }
            } else {
                cols.other.push(col);
            }
        }
        cols
    }

    fn header_place(&self, col: u32) -> Place {
        Place {
            sheet: self.sheet.clone(),
            row: Some(1),
            column: Some(self.column_name(col)),
        }
    }

    /// `header (letter)`.
    pub fn column_name(&self, col: u32) -> String {
        let header = self.headers.get(&col).map(String::as_str).unwrap_or("");
        format!("{header} ({})", column_letter(col))
    }

    /// The place of a row's cell in a column of this base (the column's header, or the base when the sheet has
    /// no such column).
    pub fn place(&self, row: &Row, base: &str) -> Place {
        let column = self
            .single
            .get(base)
            .copied()
            .or_else(|| self.texts.get(base).and_then(|t| t.id.or(t.en)))
            .map(|c| self.column_name(c))
            .unwrap_or_else(|| base.to_string());
        Place {
            sheet: self.sheet.clone(),
            row: Some(row.number),
            column: Some(column),
        }
    }

    pub fn row_place(&self, row: &Row) -> Place {
        Place {
            sheet: self.sheet.clone(),
            row: Some(row.number),
            column: None,
        }
    }

    pub fn has(&self, base: &str) -> bool {
        self.single.contains_key(base) || self.texts.contains_key(base)
    }

    /// The cell of a one-column base, trimmed; `None` when empty.
    pub fn get<'r>(&self, row: &'r Row, base: &str) -> Option<&'r str> {
        let col = self.single.get(base)?;
        row.cells
            .get(col)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The cell of a one-column base as written (not trimmed: expressions and texts keep their spaces).
    pub fn raw<'r>(&self, row: &'r Row, base: &str) -> Option<&'r str> {
        let col = self.single.get(base)?;
        row.cells
            .get(col)
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// A text in both languages. A text given in one language only is used for both, with a warning.
    pub fn text(&self, row: &Row, base: &str, warnings: &mut Vec<Problem>) -> Option<Text> {
        let cols = self.texts.get(base)?;
        let cell = |c: Option<u32>| {
            c.and_then(|c| row.cells.get(&c))
                .filter(|s| !s.trim().is_empty())
                .cloned()
        };
        match (cell(cols.id), cell(cols.en)) {
            (Some(id), Some(en)) => Some(Text { id, en }),
            (None, None) => None,
            (Some(id), None) => {
                warnings.push(Problem {
                    place: self.place(row, base),
                    message: format!(
                        "`{base}` has no English text: the Bahasa Indonesia text is used for both"
                    ),
                });
                Some(Text { en: id.clone(), id })
            }
            (None, Some(en)) => {
                warnings.push(Problem {
                    place: self.place(row, base),
                    message: format!(
                        "`{base}` has no Bahasa Indonesia text: the English text is used for both"
                    ),
                });
                Some(Text { id: en.clone(), en })
            }
        }
    }

    /// Every non-empty cell of this row in a column the sheet does not know, as problems: their content would
    /// otherwise be lost.
    pub fn unknown_cells(&self, row: &Row, what: &str, problems: &mut Vec<Problem>) {
        for &col in &self.other {
            if row.cells.get(&col).is_some_and(|s| !s.trim().is_empty()) {
                let header = self.headers.get(&col).map(String::as_str).unwrap_or("");
                let (base, _) = parse_header(header);
                problems.push(Problem {
                    place: Place {
                        sheet: self.sheet.clone(),
                        row: Some(row.number),
                        column: Some(self.column_name(col)),
                    },
                    message: unsupported_column(&base, what),
                });
            }
        }
    }

    /// The numbered constraint columns present (`tepat:constraint_2` … ), in order.
    pub fn numbered_constraints(&self) -> Vec<u32> {
        let numbers: BTreeSet<u32> = self
            .single
            .keys()
            .chain(self.texts.keys())
            .filter_map(|base| numbered(base))
            .collect();
        numbers.into_iter().collect()
    }

    /// The header text of a column this sheet keeps as "other" (choice attributes).
    pub fn header(&self, col: u32) -> &str {
        self.headers.get(&col).map(String::as_str).unwrap_or("")
    }
}

/// Why a column's content cannot be carried.
fn unsupported_column(base: &str, what: &str) -> String {
    let why = match base {
        "appearance" => "Tepat's app lays out questions itself (no appearances)",
        "default" => "Tepat fills answers from the assignment (`tepat:prefill`), not from defaults",
        "parameters" => "no question parameters (randomize, max-pixels, start/end, …)",
        "trigger" => "no triggers: use a calculation",
        "guidance_hint" => "no guidance hints: write it in the hint",
        "media" => "no images, audio or video in questions or choices",
        "repeat_count" => "a repeat count must be a whole number (it becomes min and max count)",
        "autoplay" | "body" | "bind" | "instance" => "no custom XForm attributes",
        b if b.starts_with("tepat:") => {
            "not a column Tepat knows (shared/xlsform/README.md lists them)"
        }
        _ => "not a column Tepat knows",
    };
    format!("{what}: column `{base}` is not carried: {why}")
}

/// `tepat:constraint_N`, `tepat:constraint_N_rule`, `tepat:constraint_N_level` (N ≥ 2) → N.
fn numbered(base: &str) -> Option<u32> {
    let rest = base.strip_prefix("tepat:constraint_")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let tail = rest.get(digits.len()..)?;
    if !matches!(tail, "" | "_rule" | "_level" | "_message") {
        return None;
    }
    digits.parse().ok().filter(|n| *n >= 2)
}

fn is_numbered(base: &str) -> bool {
    numbered(base).is_some() && !base.ends_with("_message")
}

fn is_numbered_message(base: &str) -> bool {
    numbered(base).is_some() && base.ends_with("_message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_in_their_usual_spellings() {
        for id in [
            "Bahasa Indonesia (id)",
            "Indonesian (id)",
            "Bahasa",
            "id",
            "Indonesia",
            "Bahasa (in)",
        ] {
            assert_eq!(language(id), Some(Lang::Id), "{id}");
        }
        for en in ["English (en)", "English", "en", "Inggris"] {
            assert_eq!(language(en), Some(Lang::En), "{en}");
        }
        for other in ["Français (fr)", "French", "Jawa (jv)", ""] {
            assert_eq!(language(other), None, "{other}");
        }
    }

    #[test]
    fn headers_come_to_one_spelling() {
        assert_eq!(
            parse_header("label::English (en)"),
            ("label".into(), Some("English (en)".into()))
        );
        assert_eq!(parse_header("List Name"), ("list_name".into(), None));
        assert_eq!(
            parse_header("jr:constraintMsg::Indonesian (id)"),
            ("constraint_message".into(), Some("Indonesian (id)".into()))
        );
        assert_eq!(
            parse_header("media::image"),
            ("media".into(), Some("image".into()))
        );
        assert_eq!(parse_header("tepat:rule"), ("tepat:rule".into(), None));
    }

    #[test]
    fn numbered_constraint_columns_are_recognised() {
        assert_eq!(numbered("tepat:constraint_2"), Some(2));
        assert_eq!(numbered("tepat:constraint_12_rule"), Some(12));
        assert_eq!(numbered("tepat:constraint_3_message"), Some(3));
        assert_eq!(numbered("tepat:constraint_1"), None);
        assert_eq!(numbered("tepat:constraint_rule"), None);
        assert_eq!(numbered("tepat:constraint_2_other"), None);
    }
}
