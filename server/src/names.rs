//! Checks on identifiers and on text people type (names, labels, comments).
//!
//! Names are stored verbatim (apostrophes, quotes, emoji and combining marks are ordinary in names and every
//! query is parameterised), but invisible control and direction-override characters are refused: they can hide
//! or reorder what an admin or supervisor reads.

/// A text that cannot be taken, naming the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TextError {
    pub field: String,
    pub message: String,
}

fn problem(field: &str, message: impl Into<String>) -> TextError {
    TextError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Longest identifier (user, assignment, form id).
pub const MAX_ID_CHARS: usize = 64;

/// An identifier: 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_id(field: &str, value: &str) -> Result<(), TextError> {
    if value.is_empty() {
        return Err(problem(field, "is empty"));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(problem(
            field,
            format!("is longer than {MAX_ID_CHARS} characters"),
        ));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(problem(
            field,
            format!("{value:?} must start with a letter or digit"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(problem(
            field,
            format!("{value:?} has {bad:?}; only letters, digits, '.', '_' and '-' are allowed"),
        ));
    }
    Ok(())
}

/// A one-line name: trimmed, non-empty, at most `max_chars`, no control or direction-override characters.
pub fn clean_name(field: &str, value: &str, max_chars: usize) -> Result<String, TextError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(problem(field, "is empty"));
    }
    check_text(field, trimmed, max_chars, false)?;
    Ok(trimmed.to_string())
}

/// A free comment: trimmed, may span lines (newline and tab allowed), at most `max_chars`.
pub fn clean_comment(field: &str, value: &str, max_chars: usize) -> Result<String, TextError> {
    let trimmed = value.trim();
    check_text(field, trimmed, max_chars, true)?;
    Ok(trimmed.to_string())
}

fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<(), TextError> {
    let count = value.chars().count();
    if count > max_chars {
        return Err(problem(
            field,
            format!("has {count} characters; at most {max_chars} are allowed"),
        ));
    }
    for c in value.chars() {
        if multiline && matches!(c, '\n' | '\t') {
            continue;
        }
        if c.is_control() {
            return Err(problem(
                field,
                format!("contains the control character U+{:04X}", c as u32),
            ));
        }
        if is_direction_control(c) {
            return Err(problem(
                field,
                format!("contains the invisible direction mark U+{:04X}", c as u32),
            ));
        }
        if is_noncharacter(c) {
            return Err(problem(
                field,
                format!("contains the noncharacter U+{:04X}", c as u32),
            ));
        }
    }
    Ok(())
}

/// Bidirectional formatting characters (marks, embeddings, overrides, isolates).
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_noncharacter(c: char) -> bool {
    let v = c as u32;
    (0xFDD0..=0xFDEF).contains(&v) || (v & 0xFFFE) == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_restricted_to_a_safe_alphabet() {
        assert!(check_id("user_id", "enum-01.a_b").is_ok());
        assert!(check_id("user_id", "").is_err());
        assert!(check_id("user_id", "-lead").is_err());
        let err = check_id("user_id", "a'; DROP TABLE users;--").unwrap_err();
        assert_eq!(err.field, "user_id");
        assert!(err.message.contains("'\\''"), "{err}");
        assert!(check_id("user_id", &"a".repeat(65)).is_err());
    }

    #[test]
    fn names_keep_quotes_emoji_and_combining_marks() {
        for name in [
            "Ma'ruf Amin",
            "Robert'); DROP TABLE users;--",
            "Siti 🌺",
            "Nguye\u{0302}n",
            "名前",
        ] {
            assert_eq!(
                clean_name("name", &format!("  {name} "), 100).unwrap(),
                name
            );
        }
    }

    #[test]
    fn names_refuse_control_and_direction_characters() {
        for (bad, code) in [
            ("a\u{0}b", "U+0000"),
            ("a\nb", "U+000A"),
            ("a\u{202E}b", "U+202E"),
            ("a\u{200F}b", "U+200F"),
        ] {
            let err = clean_name("device_name", bad, 100).unwrap_err();
            assert!(err.message.contains(code), "{err}");
            assert_eq!(err.field, "device_name");
        }
        assert!(clean_name("name", "   ", 100).is_err());
        assert!(clean_name("name", &"x".repeat(101), 100).is_err());
        assert!(clean_name("name", "a\u{FFFF}", 100).is_err());
    }

    #[test]
    fn comments_may_span_lines() {
        assert_eq!(
            clean_comment("comment", " baris 1\nbaris 2\t. ", 100).unwrap(),
            "baris 1\nbaris 2\t."
        );
        assert!(clean_comment("comment", "a\u{0}", 100).is_err());
    }

    proptest::proptest! {
        #[test]
        fn checks_never_panic(s in "\\PC*|.*") {
            let _ = check_id("f", &s);
            let _ = clean_name("f", &s, 50);
            let _ = clean_comment("f", &s, 50);
        }
    }
}
