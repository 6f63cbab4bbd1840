//! Splits an expression into tokens, each with its 1-based column.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(f64),
    Str(String),
    /// `${name}`
    Ref(String),
    /// A bare name, a function name or a word operator (`and`, `or`, `div`, `mod`).
    Name(String),
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    Comma,
    End,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number {n}"),
            Tok::Str(s) => format!("text '{s}'"),
            Tok::Ref(r) => format!("${{{r}}}"),
            Tok::Name(n) => format!("`{n}`"),
            Tok::Dot => "`.`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::End => "the end of the expression".into(),
        }
    }
}

/// Longest expression accepted, in characters: keeps parsing and evaluation bounded.
pub const MAX_LEN: usize = 10_000;

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Tokens with their columns; the last is always [`Tok::End`].
pub fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    if chars.len() > MAX_LEN {
        return Err(ParseError::new(
            1,
            format!("expression is longer than {MAX_LEN} characters"),
        ));
    }
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two = |next: char| at(i + 1) == Some(next);
        let (tok, len) = match c {
            '$' => {
                if at(i + 1) != Some('{') {
                    return Err(ParseError::new(
                        col,
                        "expected `{` after `$` (a field is written ${name})",
                    ));
                }
                let start = i + 2;
                let mut j = start;
                while at(j).is_some_and(is_name_char) {
                    j += 1;
                }
                if at(j) != Some('}') {
                    let what =
                        at(j).map_or("the end of the expression".to_owned(), |c| format!("`{c}`"));
                    return Err(ParseError::new(
                        j + 1,
                        format!("expected `}}` to close the field name, found {what}"),
                    ));
                }
                let name: String = chars.get(start..j).unwrap_or_default().iter().collect();
                if name.is_empty() {
                    return Err(ParseError::new(col, "empty field name `${}`"));
                }
                (Tok::Ref(name), j + 1 - i)
            }
            '\'' | '"' => {
                let mut j = i + 1;
                while at(j).is_some_and(|d| d != c) {
                    j += 1;
                }
                if at(j).is_none() {
                    return Err(ParseError::new(
                        col,
                        format!("text starting here is not closed with {c}"),
                    ));
                }
                let s: String = chars.get(i + 1..j).unwrap_or_default().iter().collect();
                (Tok::Str(s), j + 1 - i)
            }
            '0'..='9' => number(&chars, i)?,
            '.' if at(i + 1).is_some_and(|d| d.is_ascii_digit()) => number(&chars, i)?,
            '.' if two('.') => {
                return Err(ParseError::new(
                    col,
                    "`..` (parent) is not supported; use ${name}",
                ));
            }
            '.' => (Tok::Dot, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '=' => (Tok::Eq, 1),
            '!' if two('=') => (Tok::Ne, 2),
            '<' if two('=') => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if two('=') => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            c if is_name_start(c) => {
                let mut j = i + 1;
                while at(j).is_some_and(is_name_char) {
                    j += 1;
                }
                // A trailing '-' belongs to a following minus (`a- 1`), not to the name.
                while j > i + 1 && at(j - 1) == Some('-') {
                    j -= 1;
                }
                let name: String = chars.get(i..j).unwrap_or_default().iter().collect();
                (Tok::Name(name), j - i)
            }
            other => {
                return Err(ParseError::new(
                    col,
                    format!("unexpected character `{other}`"),
                ));
            }
        };
        out.push((tok, col));
        i += len;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

fn number(chars: &[char], start: usize) -> Result<(Tok, usize), ParseError> {
    let mut j = start;
    let mut seen_dot = false;
    while let Some(&c) = chars.get(j) {
        if c.is_ascii_digit() {
            j += 1;
        } else if c == '.' && !seen_dot {
            seen_dot = true;
            j += 1;
        } else {
            break;
        }
    }
    let text: String = chars.get(start..j).unwrap_or_default().iter().collect();
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok((Tok::Num(n), j - start)),
        _ => Err(ParseError::new(
            start + 1,
            format!("`{text}` is not a number"),
        )),
    }
}
