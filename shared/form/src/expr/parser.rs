//! Recursive-descent parser: `or` < `and` < `= !=` < `< <= > >=` < `+ -` < `* / div mod` < unary `-`.

use super::ParseError;
use super::ast::{BinOp, Expr, ExprKind};
use super::lexer::{Tok, lex};

/// Deepest expression tree accepted: deep enough for any real form, shallow enough that evaluating and dropping
/// the tree can never exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses one expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
    };
    if matches!(p.peek(), Tok::End) {
        return Err(ParseError::new(1, "the expression is empty"));
    }
    let (e, _) = p.or()?;
    match p.peek() {
        Tok::End => Ok(e),
        other => Err(ParseError::new(
            p.col(),
            format!(
                "expected an operator or the end of the expression, found {}",
                other.describe()
            ),
        )),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// Open parentheses, calls and unary minuses around the current position: bounds the recursion.
    nesting: usize,
}

type Parsed = Result<(Expr, usize), ParseError>;

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::End, |(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(1, |(_, c)| *c)
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == w)
    }

    fn binary(&self, op: BinOp, (l, dl): (Expr, usize), (r, dr): (Expr, usize)) -> Parsed {
        let depth = dl.max(dr) + 1;
        if depth > MAX_DEPTH {
            return Err(ParseError::new(
                r.col,
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let col = l.col;
        Ok((
            Expr {
                kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                col,
            },
            depth,
        ))
    }

    fn or(&mut self) -> Parsed {
        let mut lhs = self.and()?;
        while self.word("or") {
            self.bump();
            let rhs = self.and()?;
            lhs = self.binary(BinOp::Or, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Parsed {
        let mut lhs = self.equality()?;
        while self.word("and") {
            self.bump();
            let rhs = self.equality()?;
            lhs = self.binary(BinOp::And, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn equality(&mut self) -> Parsed {
        let mut lhs = self.relational()?;
        loop {
            let op = match self.peek() {
                Tok::Eq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.relational()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn relational(&mut self) -> Parsed {
        let mut lhs = self.additive()?;
        loop {
            let op = match self.peek() {
                Tok::Lt => BinOp::Lt,
                Tok::Le => BinOp::Le,
                Tok::Gt => BinOp::Gt,
                Tok::Ge => BinOp::Ge,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.additive()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn additive(&mut self) -> Parsed {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.multiplicative()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn multiplicative(&mut self) -> Parsed {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Name(n) if n == "div" => BinOp::Div,
                Tok::Name(n) if n == "mod" => BinOp::Mod,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(ParseError::new(
                self.col(),
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Parsed {
        if matches!(self.peek(), Tok::Minus) {
            let col = self.col();
            self.bump();
            self.enter()?;
            let (inner, depth) = self.unary()?;
            self.nesting -= 1;
            return Ok((
                Expr {
                    kind: ExprKind::Neg(Box::new(inner)),
                    col,
                },
                depth + 1,
            ));
        }
        self.primary()
    }

    /// A sub-expression inside parentheses or arguments, one level deeper.
    fn nested(&mut self) -> Parsed {
        self.enter()?;
        let (e, depth) = self.or()?;
        self.nesting -= 1;
        if depth + self.nesting > MAX_DEPTH * 2 {
            return Err(ParseError::new(
                e.col,
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok((e, depth))
    }

    fn primary(&mut self) -> Parsed {
        let col = self.col();
        let leaf = |kind| Ok((Expr { kind, col }, 1));
        match self.bump() {
            Tok::Num(n) => leaf(ExprKind::Num(n)),
            Tok::Str(s) => leaf(ExprKind::Str(s)),
            Tok::Ref(r) => leaf(ExprKind::Ref(r)),
            Tok::Dot => leaf(ExprKind::Current),
            Tok::LParen => {
                let (inner, depth) = self.nested()?;
                self.expect_close("to close the `(` at column", col)?;
                Ok((inner, depth))
            }
            Tok::Name(name) => {
                if !matches!(self.peek(), Tok::LParen) {
                    return leaf(ExprKind::Name(name));
                }
                self.bump();
                let mut args = Vec::new();
                let mut depth = 1;
                if matches!(self.peek(), Tok::RParen) {
                    self.bump();
                } else {
                    loop {
                        let (arg, d) = self.nested()?;
                        depth = depth.max(d + 1);
                        args.push(arg);
                        match self.bump() {
                            Tok::Comma => continue,
                            Tok::RParen => break,
                            other => {
                                let at = self
                                    .toks
                                    .get(self.pos.saturating_sub(1))
                                    .map_or(col, |(_, c)| *c);
                                return Err(ParseError::new(
                                    at,
                                    format!(
                                        "expected `,` or `)` in the arguments of `{name}`, found {}",
                                        other.describe()
                                    ),
                                ));
                            }
                        }
                    }
                }
                Ok((
                    Expr {
                        kind: ExprKind::Call(name, args),
                        col,
                    },
                    depth,
                ))
            }
            other => Err(ParseError::new(
                col,
                format!(
                    "expected a value (number, 'text', ${{field}}, function or `(`), found {}",
                    other.describe()
                ),
            )),
        }
    }

    fn expect_close(&mut self, what: &str, open_col: usize) -> Result<(), ParseError> {
        match self.peek() {
            Tok::RParen => {
                self.bump();
                Ok(())
            }
            other => Err(ParseError::new(
                self.col(),
                format!("expected `)` {what} {open_col}, found {}", other.describe()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Num(n) => format!("{n}"),
            ExprKind::Str(s) => format!("'{s}'"),
            ExprKind::Ref(r) => format!("${{{r}}}"),
            ExprKind::Current => ".".into(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Neg(x) => format!("(-{})", show(x)),
            ExprKind::Binary(op, l, r) => format!("({} {} {})", show(l), op.symbol(), show(r)),
            ExprKind::Call(f, args) => format!(
                "{f}({})",
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn p(src: &str) -> String {
        show(&parse(src).unwrap_or_else(|e| panic!("{src}: {e}")))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(p("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(p("1 - 2 - 3"), "((1 - 2) - 3)");
        assert_eq!(
            p("${a} > 1 and ${b} = 'x' or not(${c})"),
            "(((${a} > 1) and (${b} = 'x')) or not(${c}))"
        );
        assert_eq!(p("-${a} div 2 mod 3"), "(((-${a}) div 2) mod 3)");
        assert_eq!(p(". >= 0 and . <= 120"), "((. >= 0) and (. <= 120))");
        assert_eq!(
            p("count-selected(${x}) != 0"),
            "(count-selected(${x}) != 0)"
        );
        assert_eq!(p("string-length(.) = 16"), "(string-length(.) = 16)");
        assert_eq!(p("cluster = ${c}"), "(cluster = ${c})");
        assert_eq!(p("today()"), "today()");
        assert_eq!(p("\"a\" = 'b'"), "('a' = 'b')");
        assert_eq!(p("(1 + 2) * .5"), "((1 + 2) * 0.5)");
        assert_eq!(p("${a}-1"), "(${a} - 1)");
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        let e = parse("${age} > ").unwrap_err();
        assert_eq!(e.col, 10);
        assert!(e.message.contains("expected a value"), "{e}");
        let e = parse("if(${a} = 1, 2 3)").unwrap_err();
        assert_eq!(e.col, 16);
        assert!(
            e.message
                .contains("expected `,` or `)` in the arguments of `if`"),
            "{e}"
        );
        let e = parse("${a").unwrap_err();
        assert!(e.message.contains("expected `}`"), "{e}");
        let e = parse("'abc").unwrap_err();
        assert_eq!(e.col, 1);
        let e = parse("(1 + 2").unwrap_err();
        assert!(e.message.contains("expected `)`"), "{e}");
        let e = parse("1 2").unwrap_err();
        assert_eq!(
            (e.col, e.message.contains("expected an operator")),
            (3, true)
        );
        assert!(parse("").is_err());
        assert!(parse("   ").is_err());
        assert!(
            parse("a # b")
                .unwrap_err()
                .message
                .contains("unexpected character `#`")
        );
        assert!(parse(&"(".repeat(500)).is_err());
        assert!(parse(&"-".repeat(500)).is_err());
        assert!(parse(&vec!["1"; 500].join("+")).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn expression_like_text_never_panics(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("${a}"), Just("${b}"), Just("."), Just("1"), Just("2.5"), Just("'x'"), Just("\""),
                    Just("("), Just(")"), Just(","), Just("+"), Just("-"), Just("*"), Just("div"), Just("mod"),
                    Just("="), Just("!="), Just("<"), Just(">="), Just("and"), Just("or"), Just("if("),
                    Just("count("), Just("${"), Just("}"), Just(" "), Just("name"),
                ],
                0..40,
            )
        ) {
            let _ = parse(&parts.concat());
        }
    }
}
