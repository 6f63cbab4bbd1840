//! What any text a person types may hold: the length cap and the hidden-character rule shared by the form
//! engine (while a visit is typed) and the protocol's body bounds (while the server parses a sync body).

/// The server-wide cap on a text answer, also the form engine's `max_length` where a form sets none.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 4_000;

/// Why a text cannot be taken: a control character (only `\n` is allowed, for multi-line answers and notes),
/// an invisible direction mark/embedding/override/isolate (they can hide or reorder what a supervisor reads),
/// or a Unicode noncharacter. The same rule as names and comments on the server.
pub fn text_problem(text: &str) -> Option<String> {
    text.chars().find_map(|c| {
        if c == '\n' {
            None
        } else if c.is_control() {
            Some(format!("contains the control character U+{:04X}", c as u32))
        } else if is_direction_mark(c) {
            Some(format!(
                "contains the invisible direction mark U+{:04X}",
                c as u32
            ))
        } else if is_noncharacter(c) {
            Some(format!("contains the noncharacter U+{:04X}", c as u32))
        } else {
            None
        }
    })
}

/// Bidirectional formatting characters: marks, embeddings, overrides, isolates.
fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_noncharacter(c: char) -> bool {
    let v = c as u32;
    (0xFDD0..=0xFDEF).contains(&v) || (v & 0xFFFE) == 0xFFFE
}
