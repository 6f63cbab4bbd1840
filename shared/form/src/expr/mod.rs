//! XLSForm-style expressions: `${field}`, `.`, literals, `+ - * div mod /`, `= != < <= > >=`, `and`, `or`,
//! unary minus, parentheses and functions (`if`, `selected`, `count`, `sum`, `age`, `regex`, `nik-sex`, …).
//!
//! An expression is parsed once ([`parse`]) to an [`ast::Expr`], resolved and type-checked against the form
//! ([`types::resolve`]) to an [`ast::Node`], and evaluated many times ([`eval::eval`]).

pub mod ast;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod types;

pub use ast::{Expr, FieldId, Node};
pub use parser::parse;

/// A syntax error, with the 1-based column (in characters) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {col}: {message}")]
pub struct ParseError {
    pub col: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(col: usize, message: impl Into<String>) -> Self {
        ParseError {
            col,
            message: message.into(),
        }
    }
}
