//! Expression trees: [`Expr`] as parsed (names as written), [`Node`] as resolved against a form (field ids,
//! functions, compiled regexes) and evaluated.

use std::sync::Arc;

use super::super::value::Value;

/// Index of a field in the compiled form's field table (repeat children included).
pub type FieldId = usize;

/// A parsed expression with the 1-based column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Num(f64),
    Str(String),
    /// `${name}`
    Ref(String),
    /// `.`: the field's own value.
    Current,
    /// A bare name: an attribute of the candidate choice inside a `choice_filter`.
    Name(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    /// `/` and `div` (both divide as decimals, as XPath does).
    Div,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "div",
            BinOp::Mod => "mod",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
        )
    }
}

/// The functions an expression may call (aggregates are [`Node::Aggregate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    If,
    Not,
    Selected,
    CountSelected,
    Today,
    Age,
    StringLength,
    Coalesce,
    Int,
    Round,
    Concat,
    Date,
    True,
    False,
    NikBirthDate,
    NikSex,
    /// `min`/`max` with two or more arguments: the smallest / largest of them.
    Min,
    Max,
}

/// Aggregates over the members of a repeat (or, without a repeat child in the argument, over one value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    /// Members whose value is non-empty (true, for a condition); `count(${repeat})` is the member count.
    Count,
    Sum,
    Min,
    Max,
}

/// A resolved expression, ready to evaluate. Evaluation is total: any tree, even an ill-typed one, evaluates
/// without panicking (unusable parts give [`Value::Empty`]).
#[derive(Debug, Clone)]
pub enum Node {
    Const(Value),
    /// A field's value: a top-level field, or the current member's value of a repeat child.
    Field(FieldId),
    /// The number of members of a repeat (only as `count(${repeat})`).
    MemberCount(FieldId),
    Current,
    /// An attribute of the candidate choice (`value` is its code).
    Attr(Arc<str>),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `x = ''`
    IsEmpty(Box<Node>),
    /// `x != ''`
    NotEmpty(Box<Node>),
    Call(Func, Vec<Node>),
    /// `over`: the repeat whose members the argument is evaluated for; `None` evaluates it once.
    Aggregate {
        agg: Agg,
        over: Option<FieldId>,
        arg: Box<Node>,
    },
    Regex(Box<Node>, Arc<regex::Regex>),
}
