//! Expressions between XLSForm and Tepat. Tepat's expression language is XLSForm's (`${x}`, `.`, `selected()`,
//! `count-selected()`, `regex()`, `if()`, `today()`, …), so most expressions pass through as written. What
//! differs:
//! - in a `choice_filter`, XLSForm names a choice's code `name`; Tepat calls it `value`;
//! - `contains(x, 'a')`, `starts-with(x, 'a')` and `ends-with(x, 'a')` with a literal become `regex()`;
//! - XPath that is not XLSForm's `${}` style (`jr:choice-name()`, `instance('…')`, `/data/x`, `..`) is refused
//!   with a message saying what to write instead.
//!
//! Everything else (unknown functions, types, fields) is left to the form engine's own checks.

use tepat_form::expr::ast::{Expr, ExprKind};
use tepat_form::expr::lexer::{Tok, lex};
use tepat_form::expr::parse;

/// Where an expression is used: a choice filter reads the candidate choice's columns by bare name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Plain,
    ChoiceFilter,
}

/// An expression XLSForm writes, as Tepat writes it. `Err` says what cannot be carried (with the column).
pub(crate) fn to_tepat(src: &str, context: Context) -> Result<String, String> {
    if let Some(message) = xpath_only(src) {
        return Err(message);
    }
    let renamed = match context {
        Context::Plain => src.to_string(),
        Context::ChoiceFilter => rename_bare(src, "name", "value").map_err(|e| e.to_string())?,
    };
    // Parsed only to find the functions that need rewriting; a syntax error is left to the engine's check,
    // which reports it with its column.
    let Ok(tree) = parse(&renamed) else {
        return Ok(renamed);
    };
    if !uses_rewritten_function(&tree) {
        return Ok(renamed);
    }
    let mut out = String::new();
    print(&rewrite(tree)?, &mut out);
    Ok(out)
}

/// A Tepat expression as XLSForm writes it.
pub(crate) fn to_xlsform(src: &str, context: Context) -> Result<String, String> {
    match context {
        Context::Plain => Ok(src.to_string()),
        Context::ChoiceFilter => rename_bare(src, "value", "name").map_err(|e| e.to_string()),
    }
}

/// XPath syntax Tepat's `${}` style has no place for, with what to write instead.
fn xpath_only(src: &str) -> Option<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {
                let col = i + 1;
                // A namespace prefix: `jr:choice-name(`, `jr:itext(`, `odk:…`.
                if c == ':' {
                    let start = chars
                        .get(..i)
                        .unwrap_or_default()
                        .iter()
                        .rposition(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
                        .map_or(0, |p| p + 1);
                    let prefix: String = chars.get(start..i).unwrap_or_default().iter().collect();
                    let name: String = chars
                        .get(i + 1..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == '-' || **c == '_')
                        .collect();
                    return Some(format!(
                        "column {}: `{prefix}:{name}` (an XPath function with a namespace) is not supported",
                        start + 1
                    ));
                }
                let word_start = i == 0
                    || chars
                        .get(i - 1)
                        .is_some_and(|p| !(p.is_ascii_alphanumeric() || *p == '_' || *p == '-'));
                if word_start
                    && chars
                        .get(i..i + 9)
                        .is_some_and(|w| w.iter().collect::<String>() == "instance(")
                {
                    return Some(format!(
                        "column {col}: instance('…') (secondary instances) is not supported"
                    ));
                }
                if c == '.' && chars.get(i + 1) == Some(&'.') {
                    return Some(format!(
                        "column {col}: `..` (the parent node) is not supported: name the field, ${{name}}"
                    ));
                }
                // An absolute path `/data/x`: a `/` followed by a name where a value is expected.
                if c == '/' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
                    let before = chars
                        .get(..i)
                        .unwrap_or_default()
                        .iter()
                        .rev()
                        .find(|c| !c.is_whitespace());
                    let starts_value = match before {
                        None => true,
                        Some(p) => matches!(p, '(' | ',' | '=' | '<' | '>' | '+' | '*' | '-'),
                    };
                    if starts_value {
                        return Some(format!(
                            "column {col}: an XPath path (`/data/…`) is not supported: name the field, ${{name}}"
                        ));
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// Renames every bare name `from` (not a function call, not inside a text or `${}`) to `to`, keeping the rest of
/// the expression as written.
fn rename_bare(src: &str, from: &str, to: &str) -> Result<String, tepat_form::expr::ParseError> {
    let tokens = lex(src)?;
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut copied = 0;
    for (k, (tok, col)) in tokens.iter().enumerate() {
        let Tok::Name(name) = tok else { continue };
        let next_is_call = matches!(tokens.get(k + 1), Some((Tok::LParen, _)));
        if name != from || next_is_call {
            continue;
        }
        let start = col - 1;
        out.extend(chars.get(copied..start).unwrap_or_default());
        out.push_str(to);
        copied = start + from.chars().count();
    }
    out.extend(chars.get(copied..).unwrap_or_default());
    Ok(out)
}

const REWRITTEN: [&str; 3] = ["contains", "starts-with", "ends-with"];

fn uses_rewritten_function(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call(name, args) => {
            REWRITTEN.contains(&name.as_str()) || args.iter().any(uses_rewritten_function)
        }
        ExprKind::Neg(inner) => uses_rewritten_function(inner),
        ExprKind::Binary(_, l, r) => uses_rewritten_function(l) || uses_rewritten_function(r),
        _ => false,
    }
}

/// The characters a regular expression treats specially, escaped: a literal as a pattern.
fn regex_literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn rewrite(e: Expr) -> Result<Expr, String> {
    let col = e.col;
    let kind = match e.kind {
        ExprKind::Call(name, args) => {
            let args = args
                .into_iter()
                .map(rewrite)
                .collect::<Result<Vec<_>, _>>()?;
            if REWRITTEN.contains(&name.as_str()) {
                let [subject, literal]: [Expr; 2] = args
                    .try_into()
                    .map_err(|_| format!("column {col}: {name}() takes 2 arguments"))?;
                let ExprKind::Str(text) = literal.kind else {
                    return Err(format!(
                        "column {col}: {name}() is carried only with a literal 'text' as its second argument"
                    ));
                };
                let pattern = match name.as_str() {
                    "contains" => regex_literal(&text),
                    "starts-with" => format!("^{}", regex_literal(&text)),
                    _ => format!("{}$", regex_literal(&text)),
                };
                ExprKind::Call(
                    "regex".to_string(),
                    vec![
                        subject,
                        Expr {
                            kind: ExprKind::Str(pattern),
                            col: literal.col,
                        },
                    ],
                )
            } else {
                ExprKind::Call(name, args)
            }
        }
        ExprKind::Neg(inner) => ExprKind::Neg(Box::new(rewrite(*inner)?)),
        ExprKind::Binary(op, l, r) => {
            ExprKind::Binary(op, Box::new(rewrite(*l)?), Box::new(rewrite(*r)?))
        }
        other => other,
    };
    Ok(Expr { kind, col })
}

/// Writes a parsed expression back as text, every operation in parentheses (the engine reads it the same).
fn print(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Num(n) => out.push_str(&n.to_string()),
        ExprKind::Str(s) => {
            let q = if s.contains('\'') { '"' } else { '\'' };
            out.push(q);
            out.push_str(s);
            out.push(q);
        }
        ExprKind::Ref(name) => {
            out.push_str("${");
            out.push_str(name);
            out.push('}');
        }
        ExprKind::Current => out.push('.'),
        ExprKind::Name(name) => out.push_str(name),
        ExprKind::Neg(inner) => {
            out.push_str("-(");
            print(inner, out);
            out.push(')');
        }
        ExprKind::Binary(op, l, r) => {
            out.push('(');
            print(l, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            print(r, out);
            out.push(')');
        }
        ExprKind::Call(name, args) => {
            out.push_str(name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(a, out);
            }
            out.push(')');
        }
    }
}

/// `(a) and (b)`: a nested group's relevance joined to its questions' own.
pub(crate) fn and(conditions: &[String]) -> Option<String> {
    match conditions {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(
            many.iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" and "),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsform_expressions_pass_through_as_written() {
        for src in [
            "${age} >= 18 and selected(${jkn}, '1')",
            "count-selected(.) <= 3",
            "regex(., '^[0-9]{16}$')",
            "if(${a} = '', 0, ${a} + 1)",
            "today() - ${birth} > 365",
            "string-length(${name}) >= 2",
        ] {
            assert_eq!(to_tepat(src, Context::Plain).unwrap(), src);
        }
    }

    #[test]
    fn a_choice_filter_s_name_is_tepat_s_value_and_back() {
        let xls = "name != '5' or ${registered} != '1'";
        let tepat = to_tepat(xls, Context::ChoiceFilter).unwrap();
        assert_eq!(tepat, "value != '5' or ${registered} != '1'");
        assert_eq!(to_xlsform(&tepat, Context::ChoiceFilter).unwrap(), xls);
        // Only the bare name: not a field, a text or another column.
        let src = "cluster = ${name} and 'name' = label_name";
        assert_eq!(to_tepat(src, Context::ChoiceFilter).unwrap(), src);
    }

    #[test]
    fn contains_starts_and_ends_with_become_regex() {
        assert_eq!(
            to_tepat("contains(${note}, 'a.b')", Context::Plain).unwrap(),
            r"regex(${note}, 'a\.b')"
        );
        assert_eq!(
            to_tepat(
                "starts-with(${kk}, '17') and ends-with(${kk}, '1')",
                Context::Plain
            )
            .unwrap(),
            "(regex(${kk}, '^17') and regex(${kk}, '1$'))"
        );
        assert!(
            to_tepat("contains(${a}, ${b})", Context::Plain)
                .unwrap_err()
                .contains("literal")
        );
    }

    #[test]
    fn xpath_only_syntax_is_refused_with_its_column() {
        let e = to_tepat("jr:choice-name(${x}, '${x}')", Context::Plain).unwrap_err();
        assert!(
            e.starts_with("column 1:") && e.contains("jr:choice-name"),
            "{e}"
        );
        let e = to_tepat("/data/age > 5", Context::Plain).unwrap_err();
        assert!(e.contains("XPath path"), "{e}");
        let e = to_tepat("${a} = ../b", Context::Plain).unwrap_err();
        assert!(e.starts_with("column 8:"), "{e}");
        let e = to_tepat("count(instance('c')/root/item)", Context::Plain).unwrap_err();
        assert!(e.contains("instance"), "{e}");
        // Division and text with those characters are fine.
        assert!(to_tepat("${a} / 2 > 1 and ${b} != 'x:y/z..'", Context::Plain).is_ok());
    }
}
