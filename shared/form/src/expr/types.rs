//! Resolution and type checking: names become field ids, functions are checked for arity and argument types,
//! regex literals are compiled, and the fields an expression reads are collected for the dependency graph.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::super::value::Value;
use super::ast::{Agg, BinOp, Expr, ExprKind, FieldId, Func, Node};

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Num,
    Text,
    Bool,
    Date,
    /// A `select_multiple` answer.
    Choices,
    /// A repeat group: only countable.
    Repeat,
    /// Unknown or mixed (e.g. an `if` whose branches differ): accepted anywhere, checked at run time.
    Any,
}

impl Type {
    pub fn describe(self) -> &'static str {
        match self {
            Type::Num => "a number",
            Type::Text => "text",
            Type::Bool => "a true/false condition",
            Type::Date => "a date",
            Type::Choices => "a multiple-choice answer",
            Type::Repeat => "a repeat group",
            Type::Any => "any value",
        }
    }

    fn unify(self, other: Type) -> Type {
        if self == other { self } else { Type::Any }
    }
}

/// What resolution needs to know about a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSig {
    pub id: FieldId,
    pub ty: Type,
    /// The repeat the field is inside, if any.
    pub repeat: Option<FieldId>,
}

/// The fields of the form, by name.
pub trait Fields {
    fn lookup(&self, name: &str) -> Option<FieldSig>;
    fn name(&self, id: FieldId) -> &str;
}

/// Where an expression lives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The repeat the expression's field is inside: its siblings resolve to the same member.
    pub own_repeat: Option<FieldId>,
    /// The type of `.`, where `.` is allowed (constraints).
    pub current: Option<Type>,
    /// Inside a `choice_filter`: the list's name and attribute names (`value` is always allowed).
    pub choice_attrs: Option<(&'a str, &'a BTreeSet<String>)>,
}

/// A field an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dep {
    pub field: FieldId,
    /// Read for every member (inside an aggregate), not just the expression's own member.
    pub all_members: bool,
    /// Reads the member count of the repeat `field` (not a value).
    pub count: bool,
}

/// A type or resolution error, at a 1-based column of the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    pub col: usize,
    pub message: String,
}

/// The outcome of resolving one expression; `errors` empty means `node` is usable.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub node: Node,
    pub ty: Type,
    pub deps: Vec<Dep>,
    pub errors: Vec<TypeError>,
}

pub fn resolve(expr: &Expr, fields: &dyn Fields, scope: &Scope<'_>) -> Resolved {
    let mut r = Resolver {
        fields,
        scope,
        deps: Vec::new(),
        errors: Vec::new(),
        aggregate: None,
    };
    let (node, ty) = r.expr(expr);
    let mut deps = r.deps;
    deps.sort_unstable();
    deps.dedup();
    Resolved {
        node,
        ty,
        deps,
        errors: r.errors,
    }
}

struct Resolver<'a> {
    fields: &'a dyn Fields,
    scope: &'a Scope<'a>,
    deps: Vec<Dep>,
    errors: Vec<TypeError>,
    /// Inside an aggregate's argument: the repeats whose children it reads.
    aggregate: Option<Vec<FieldId>>,
}

const NUMERIC: &[Type] = &[Type::Num];
const SCALAR: &[Type] = &[Type::Num, Type::Text, Type::Date, Type::Bool];

fn describe_expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ref(r) => format!("${{{r}}}"),
        ExprKind::Current => "`.`".into(),
        ExprKind::Num(n) => format!("{n}"),
        ExprKind::Str(s) => format!("'{s}'"),
        ExprKind::Name(n) => format!("`{n}`"),
        ExprKind::Call(f, _) => format!("{f}()"),
        ExprKind::Neg(_) | ExprKind::Binary(..) => "the expression".into(),
    }
}

impl Resolver<'_> {
    fn error(&mut self, col: usize, message: impl Into<String>) {
        self.errors.push(TypeError {
            col,
            message: message.into(),
        });
    }

    /// Checks that `ty` is one of `allowed` (or unknown), naming `what` needs it.
    fn want(&mut self, e: &Expr, ty: Type, allowed: &[Type], what: &str) {
        if ty == Type::Any || allowed.contains(&ty) {
            return;
        }
        let wanted = allowed
            .iter()
            .map(|t| t.describe())
            .collect::<Vec<_>>()
            .join(" or ");
        let message = format!(
            "{what} needs {wanted}, but {} is {}",
            describe_expr(e),
            ty.describe()
        );
        self.error(e.col, message);
    }

    fn expr(&mut self, e: &Expr) -> (Node, Type) {
        match &e.kind {
            ExprKind::Num(n) => (Node::Const(Value::num(*n)), Type::Num),
            ExprKind::Str(s) => (Node::Const(Value::text(s)), Type::Text),
            ExprKind::Ref(name) => self.reference(e, name),
            ExprKind::Current => match self.scope.current {
                Some(ty) => (Node::Current, ty),
                None => {
                    self.error(
                        e.col,
                        "`.` (the field's own value) can only be used in a constraint",
                    );
                    (Node::Const(Value::Empty), Type::Any)
                }
            },
            ExprKind::Name(name) => self.bare_name(e, name),
            ExprKind::Neg(inner) => {
                let (node, ty) = self.expr(inner);
                self.want(inner, ty, NUMERIC, "unary `-`");
                (Node::Neg(Box::new(node)), Type::Num)
            }
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r),
            ExprKind::Call(name, args) => self.call(e, name, args),
        }
    }

    fn reference(&mut self, e: &Expr, name: &str) -> (Node, Type) {
        let Some(sig) = self.fields.lookup(name) else {
            self.error(e.col, format!("unknown field ${{{name}}}"));
            return (Node::Const(Value::Empty), Type::Any);
        };
        if sig.ty == Type::Repeat {
            self.error(
                e.col,
                format!("${{{name}}} is a repeat group: count its members with count(${{{name}}})"),
            );
            return (Node::Const(Value::Empty), Type::Any);
        }
        let mut all_members = false;
        if let Some(repeat) = sig.repeat {
            if let Some(collected) = &mut self.aggregate {
                collected.push(repeat);
                all_members = true;
            } else if self.scope.own_repeat != Some(repeat) {
                let repeat_name = self.fields.name(repeat).to_owned();
                self.error(
                    e.col,
                    format!(
                        "${{{name}}} is inside the repeat `{repeat_name}`: outside it, use it only inside an \
                         aggregate (count, sum, min, max)"
                    ),
                );
            }
        }
        self.deps.push(Dep {
            field: sig.id,
            all_members,
            count: false,
        });
        (Node::Field(sig.id), sig.ty)
    }

    fn bare_name(&mut self, e: &Expr, name: &str) -> (Node, Type) {
        match self.scope.choice_attrs {
            Some((_, attrs)) if name == "value" || attrs.contains(name) => {
                (Node::Attr(Arc::from(name)), Type::Text)
            }
            Some((list, attrs)) => {
                let known = std::iter::once("value")
                    .chain(attrs.iter().map(String::as_str))
                    .collect::<Vec<_>>();
                self.error(
                    e.col,
                    format!(
                        "`{name}` is not an attribute of the choices in list `{list}` (it has: {})",
                        known.join(", ")
                    ),
                );
                (Node::Const(Value::Empty), Type::Any)
            }
            None => {
                self.error(
                    e.col,
                    format!("unexpected name `{name}`: a field is written ${{{name}}}"),
                );
                (Node::Const(Value::Empty), Type::Any)
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> (Node, Type) {
        // `x = ''` / `x != ''` test for an answer; every other comparison with an empty operand is false.
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            let empty_literal = |e: &Expr| matches!(&e.kind, ExprKind::Str(s) if s.is_empty());
            let other = if empty_literal(r) {
                Some(l)
            } else if empty_literal(l) {
                Some(r)
            } else {
                None
            };
            if let Some(other) = other {
                let (node, _) = self.expr(other);
                let node = Box::new(node);
                return (
                    if op == BinOp::Eq {
                        Node::IsEmpty(node)
                    } else {
                        Node::NotEmpty(node)
                    },
                    Type::Bool,
                );
            }
        }
        let (ln, lt) = self.expr(l);
        let (rn, rt) = self.expr(r);
        let what = format!("`{}`", op.symbol());
        let ty = match op {
            BinOp::And | BinOp::Or => {
                self.want(l, lt, &[Type::Bool], &what);
                self.want(r, rt, &[Type::Bool], &what);
                Type::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                self.comparable(l, lt, r, rt, &what, false);
                Type::Bool
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.comparable(l, lt, r, rt, &what, true);
                Type::Bool
            }
            BinOp::Add | BinOp::Sub => self.date_arithmetic(op, l, lt, r, rt, &what),
            BinOp::Mul | BinOp::Div | BinOp::Mod => {
                self.want(l, lt, NUMERIC, &what);
                self.want(r, rt, NUMERIC, &what);
                Type::Num
            }
        };
        (Node::Binary(op, Box::new(ln), Box::new(rn)), ty)
    }

    /// `+`/`-` on numbers, and date ± days, date − date (days).
    fn date_arithmetic(
        &mut self,
        op: BinOp,
        l: &Expr,
        lt: Type,
        r: &Expr,
        rt: Type,
        what: &str,
    ) -> Type {
        match (lt, rt) {
            (Type::Date, Type::Num | Type::Any) => Type::Date,
            (Type::Num | Type::Any, Type::Date) if op == BinOp::Add => Type::Date,
            (Type::Date, Type::Date) if op == BinOp::Sub => Type::Num,
            _ => {
                self.want(l, lt, NUMERIC, what);
                self.want(r, rt, NUMERIC, what);
                if lt == Type::Any || rt == Type::Any {
                    Type::Any
                } else {
                    Type::Num
                }
            }
        }
    }

    fn comparable(&mut self, l: &Expr, lt: Type, r: &Expr, rt: Type, what: &str, ordering: bool) {
        use Type::*;
        let ok = match (lt, rt) {
            (Any, _) | (_, Any) => true,
            (Repeat, _) | (_, Repeat) => false,
            (Bool, Bool) => !ordering,
            (Bool, _) | (_, Bool) => false,
            (Choices, Text) | (Text, Choices) | (Choices, Choices) => !ordering,
            (Choices, _) | (_, Choices) => false,
            // Codes and numbers compare numerically; dates with date text.
            (Num, Num)
            | (Text, Text)
            | (Date, Date)
            | (Num, Text)
            | (Text, Num)
            | (Date, Text)
            | (Text, Date) => true,
            (Date, Num) | (Num, Date) => false,
        };
        if !ok {
            let hint = if lt == Choices || rt == Choices {
                " (use selected() for a multiple-choice answer)"
            } else {
                ""
            };
            self.error(
                l.col,
                format!(
                    "{what} cannot compare {} ({}) with {} ({}){hint}",
                    describe_expr(l),
                    lt.describe(),
                    describe_expr(r),
                    rt.describe()
                ),
            );
        }
    }

    fn arity(
        &mut self,
        e: &Expr,
        name: &str,
        args: &[Expr],
        min: usize,
        max: Option<usize>,
    ) -> bool {
        let n = args.len();
        let ok = n >= min && max.is_none_or(|m| n <= m);
        if !ok {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            self.error(
                e.col,
                format!("{name}() takes {expected} argument(s), got {n}"),
            );
        }
        ok
    }

    fn call(&mut self, e: &Expr, name: &str, args: &[Expr]) -> (Node, Type) {
        match name {
            "count" | "sum" => {
                if !self.arity(e, name, args, 1, Some(1)) {
                    return (Node::Const(Value::Empty), Type::Num);
                }
                let agg = if name == "count" {
                    Agg::Count
                } else {
                    Agg::Sum
                };
                self.aggregate(name, agg, args)
            }
            "min" | "max" if args.len() == 1 => {
                let agg = if name == "min" { Agg::Min } else { Agg::Max };
                self.aggregate(name, agg, args)
            }
            "regex" => self.regex(e, args),
            _ => self.function(e, name, args),
        }
    }

    fn aggregate(&mut self, name: &str, agg: Agg, args: &[Expr]) -> (Node, Type) {
        let Some(arg) = args.first() else {
            return (Node::Const(Value::Empty), Type::Num);
        };
        // `count(${repeat})`: the number of members.
        if let ExprKind::Ref(r) = &arg.kind
            && let Some(sig) = self.fields.lookup(r)
            && sig.ty == Type::Repeat
        {
            if agg != Agg::Count {
                self.error(
                    arg.col,
                    format!(
                        "{name}() of a repeat group: use count(${{{r}}}) or {name}(${{field}})"
                    ),
                );
            }
            self.deps.push(Dep {
                field: sig.id,
                all_members: true,
                count: true,
            });
            return (Node::MemberCount(sig.id), Type::Num);
        }
        let outer = self.aggregate.replace(Vec::new());
        let (node, ty) = self.expr(arg);
        let mut repeats = std::mem::replace(&mut self.aggregate, outer).unwrap_or_default();
        repeats.sort_unstable();
        repeats.dedup();
        if repeats.len() > 1 {
            let names = repeats
                .iter()
                .map(|r| format!("`{}`", self.fields.name(*r)))
                .collect::<Vec<_>>();
            self.error(
                arg.col,
                format!(
                    "{name}() mixes fields of the repeats {}",
                    names.join(" and ")
                ),
            );
        }
        let over = repeats.first().copied();
        if let Some(r) = over {
            self.deps.push(Dep {
                field: r,
                all_members: true,
                count: true,
            });
        }
        let ty = match agg {
            Agg::Count => Type::Num,
            Agg::Sum => {
                self.want(arg, ty, &[Type::Num, Type::Bool], &format!("{name}()"));
                Type::Num
            }
            Agg::Min | Agg::Max => {
                self.want(arg, ty, &[Type::Num, Type::Date], &format!("{name}()"));
                if ty == Type::Date {
                    Type::Date
                } else {
                    Type::Num
                }
            }
        };
        (
            Node::Aggregate {
                agg,
                over,
                arg: Box::new(node),
            },
            ty,
        )
    }

    fn regex(&mut self, e: &Expr, args: &[Expr]) -> (Node, Type) {
        if !self.arity(e, "regex", args, 2, Some(2)) {
            return (Node::Const(Value::Bool(false)), Type::Bool);
        }
        let (Some(subject), Some(pattern)) = (args.first(), args.get(1)) else {
            return (Node::Const(Value::Bool(false)), Type::Bool);
        };
        let (node, ty) = self.expr(subject);
        self.want(subject, ty, SCALAR, "regex()");
        let ExprKind::Str(p) = &pattern.kind else {
            self.error(pattern.col, "regex() needs its pattern as a literal 'text'");
            return (Node::Const(Value::Bool(false)), Type::Bool);
        };
        match regex::Regex::new(p) {
            Ok(re) => (Node::Regex(Box::new(node), Arc::new(re)), Type::Bool),
            Err(err) => {
                let first_line = err
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                self.error(
                    pattern.col,
                    format!("bad regular expression '{p}': {first_line}"),
                );
                (Node::Const(Value::Bool(false)), Type::Bool)
            }
        }
    }

    fn function(&mut self, e: &Expr, name: &str, args: &[Expr]) -> (Node, Type) {
        let (func, min, max) = match name {
            "if" => (Func::If, 3, Some(3)),
            "not" => (Func::Not, 1, Some(1)),
            "selected" => (Func::Selected, 2, Some(2)),
            "count-selected" => (Func::CountSelected, 1, Some(1)),
            "today" => (Func::Today, 0, Some(0)),
            "age" => (Func::Age, 1, Some(1)),
            "string-length" => (Func::StringLength, 1, Some(1)),
            "coalesce" => (Func::Coalesce, 2, None),
            "int" => (Func::Int, 1, Some(1)),
            "round" => (Func::Round, 1, Some(2)),
            "concat" => (Func::Concat, 1, None),
            "date" => (Func::Date, 1, Some(1)),
            "true" => (Func::True, 0, Some(0)),
            "false" => (Func::False, 0, Some(0)),
            "nik-birth-date" => (Func::NikBirthDate, 1, Some(1)),
            "nik-sex" => (Func::NikSex, 1, Some(1)),
            "min" => (Func::Min, 2, None),
            "max" => (Func::Max, 2, None),
            _ => {
                self.error(e.col, format!("unknown function `{name}`"));
                for a in args {
                    self.expr(a);
                }
                return (Node::Const(Value::Empty), Type::Any);
            }
        };
        self.arity(e, name, args, min, max);
        let resolved: Vec<(Node, Type)> = args.iter().map(|a| self.expr(a)).collect();
        let what = format!("{name}()");
        let types: Vec<Type> = resolved.iter().map(|(_, t)| *t).collect();
        let ty_at = |i: usize| types.get(i).copied().unwrap_or(Type::Any);
        let mut check = |i: usize, allowed: &[Type]| {
            if let Some(a) = args.get(i) {
                self.want(a, ty_at(i), allowed, &what);
            }
        };
        let ty = match func {
            Func::If => {
                check(0, &[Type::Bool]);
                ty_at(1).unify(ty_at(2))
            }
            Func::Not => {
                check(0, &[Type::Bool]);
                Type::Bool
            }
            Func::Selected => {
                check(0, &[Type::Choices, Type::Text]);
                check(1, &[Type::Text, Type::Num]);
                Type::Bool
            }
            Func::CountSelected => {
                check(0, &[Type::Choices, Type::Text]);
                Type::Num
            }
            Func::Today => Type::Date,
            Func::Age => {
                check(0, &[Type::Date, Type::Text]);
                Type::Num
            }
            Func::StringLength => {
                check(0, SCALAR);
                Type::Num
            }
            Func::Coalesce => types
                .iter()
                .copied()
                .reduce(Type::unify)
                .unwrap_or(Type::Any),
            Func::Int => {
                check(0, &[Type::Num, Type::Text]);
                Type::Num
            }
            Func::Round => {
                check(0, NUMERIC);
                check(1, NUMERIC);
                Type::Num
            }
            Func::Concat => {
                for i in 0..args.len() {
                    check(
                        i,
                        &[Type::Num, Type::Text, Type::Date, Type::Bool, Type::Choices],
                    );
                }
                Type::Text
            }
            Func::Date => {
                check(0, &[Type::Text, Type::Num, Type::Date]);
                Type::Date
            }
            Func::True | Func::False => Type::Bool,
            Func::NikBirthDate => {
                check(0, &[Type::Text]);
                Type::Date
            }
            Func::NikSex => {
                check(0, &[Type::Text]);
                Type::Text
            }
            Func::Min | Func::Max => {
                for i in 0..args.len() {
                    check(i, &[Type::Num, Type::Date]);
                }
                types
                    .iter()
                    .copied()
                    .reduce(Type::unify)
                    .unwrap_or(Type::Any)
            }
        };
        (
            Node::Call(func, resolved.into_iter().map(|(n, _)| n).collect()),
            ty,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    /// a: integer, t: text, d: date, m: select_multiple, b: calc bool; members (repeat 10) with age (11), rel (12).
    struct TestFields;

    impl Fields for TestFields {
        fn lookup(&self, name: &str) -> Option<FieldSig> {
            let (id, ty, repeat) = match name {
                "a" => (0, Type::Num, None),
                "t" => (1, Type::Text, None),
                "d" => (2, Type::Date, None),
                "m" => (3, Type::Choices, None),
                "b" => (4, Type::Bool, None),
                "members" => (10, Type::Repeat, None),
                "age" => (11, Type::Num, Some(10)),
                "rel" => (12, Type::Text, Some(10)),
                _ => return None,
            };
            Some(FieldSig { id, ty, repeat })
        }

        fn name(&self, id: FieldId) -> &str {
            match id {
                10 => "members",
                _ => "?",
            }
        }
    }

    fn check(src: &str, scope: Scope<'_>) -> Resolved {
        let e = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        resolve(&e, &TestFields, &scope)
    }

    fn errors(src: &str) -> Vec<String> {
        check(src, Scope::default())
            .errors
            .into_iter()
            .map(|e| format!("{}: {}", e.col, e.message))
            .collect()
    }

    #[test]
    fn well_typed_expressions() {
        for src in [
            "${a} + 1 > 3",
            "${t} = '1' or ${t} = 2",
            "selected(${m}, '3') and not(${b})",
            "age(${d}) >= 17",
            "${d} < today() and today() - ${d} > 30",
            "count(${members}) = sum(if(${rel} = '1', 1, 0)) + 1",
            "count(${rel} = '1') = 1",
            "max(${age}) < 99 and min(${a}, 3) = 3",
            "regex(${t}, '^[0-9]{12}$')",
            "concat(${t}, '-', ${a}) != ''",
            "coalesce(${a}, 0) * 2 div 3 mod 2 = 0",
            "nik-sex(${t}) = '2' and nik-birth-date(${t}) = ${d}",
            "date('2020-01-01') < ${d} and round(${a} div 3, 1) > int('4')",
        ] {
            assert_eq!(errors(src), Vec::<String>::new(), "{src}");
        }
    }

    #[test]
    fn type_errors_name_the_problem() {
        let e = errors("${t} + 1");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("`+` needs a number, but ${t} is text"),
            "{e:?}"
        );
        assert!(errors("${m} = '1' and ${m} > 2")[0].contains("use selected()"));
        assert!(errors("${b} + 1")[0].contains("is a true/false condition"));
        assert!(errors("not(${a})")[0].contains("not() needs a true/false condition"));
        assert!(errors("${a} and ${b}")[0].starts_with("1: `and` needs"));
        assert!(errors("${nope} = 1")[0].contains("unknown field ${nope}"));
        assert!(errors("foo(1)")[0].contains("unknown function `foo`"));
        assert!(errors("if(${b}, 1)")[0].contains("if() takes 3 argument(s), got 2"));
        assert!(errors("today(1)")[0].contains("takes 0 argument(s)"));
        assert!(errors("regex(${t}, '[')")[0].contains("bad regular expression"));
        assert!(errors("regex(${t}, ${t})")[0].contains("literal"));
        assert!(errors(". > 1")[0].contains("only be used in a constraint"));
        assert!(errors("cluster = 'a'")[0].contains("a field is written ${cluster}"));
    }

    #[test]
    fn repeat_children_need_an_aggregate_outside_their_repeat() {
        let e = errors("${age} > 3");
        assert!(e[0].contains("inside the repeat `members`"), "{e:?}");
        assert!(errors("${members} > 3")[0].contains("count its members"));
        assert!(errors("sum(${members}) > 3")[0].contains("use count"));
        // Inside the repeat, a sibling is the same member.
        let inside = Scope {
            own_repeat: Some(10),
            ..Scope::default()
        };
        let r = check("${age} > 3 and ${a} > 1", inside);
        assert!(r.errors.is_empty());
        assert!(r.deps.contains(&Dep {
            field: 11,
            all_members: false,
            count: false
        }));
        // An aggregate over the roster reads every member, and its size.
        let r = check("count(${rel} = '1') = 1", inside);
        assert!(r.errors.is_empty());
        assert!(r.deps.contains(&Dep {
            field: 12,
            all_members: true,
            count: false
        }));
        assert!(r.deps.contains(&Dep {
            field: 10,
            all_members: true,
            count: true
        }));
    }

    #[test]
    fn choice_filters_see_attributes() {
        let attrs: BTreeSet<String> = ["cluster".to_owned()].into();
        let scope = Scope {
            choice_attrs: Some(("ppks", &attrs)),
            ..Scope::default()
        };
        assert!(
            check("cluster = ${t} and value != '3'", scope)
                .errors
                .is_empty()
        );
        let e = check("klaster = ${t}", scope).errors;
        assert!(
            e[0].message.contains(
                "not an attribute of the choices in list `ppks` (it has: value, cluster)"
            )
        );
    }

    #[test]
    fn empty_literal_comparisons_become_answer_tests() {
        let r = check("${a} = ''", Scope::default());
        assert!(matches!(r.node, Node::IsEmpty(_)));
        let r = check("'' != ${a}", Scope::default());
        assert!(matches!(r.node, Node::NotEmpty(_)));
    }
}
