//! Evaluation, with ODK's semantics where sensible: an empty operand makes arithmetic empty and comparisons
//! false (`x = ''` / `x != ''` test for an answer), non-relevant fields read as empty, `today()` is the visit
//! date. Total: every tree evaluates without panicking.

use chrono::{Datelike, NaiveDate};

use super::super::identity;
use super::super::value::Value;
use super::ast::{Agg, BinOp, FieldId, Func, Node};

/// What an expression can see.
pub trait Env {
    /// A field's value (empty when not relevant or not answered). `member` is the member whose repeat children
    /// are meant; top-level fields ignore it.
    fn field(&self, id: FieldId, member: Option<usize>) -> Value;
    /// Members of a repeat (0 when the repeat is not relevant).
    fn member_count(&self, repeat: FieldId) -> usize;
    /// `.`: the value of the field a constraint is on.
    fn current(&self) -> Value {
        Value::Empty
    }
    /// An attribute of the candidate choice in a `choice_filter` (`value` is its code).
    fn attr(&self, _name: &str) -> Value {
        Value::Empty
    }
    /// The visit date: `today()`.
    fn visit_date(&self) -> NaiveDate;
}

/// Evaluates `node` for the given member of the expression's repeat (`None` at top level).
pub fn eval<E: Env + ?Sized>(node: &Node, env: &E, member: Option<usize>) -> Value {
    match node {
        Node::Const(v) => v.clone(),
        Node::Field(id) => env.field(*id, member),
        Node::MemberCount(r) => Value::Num(env.member_count(*r) as f64),
        Node::Current => env.current(),
        Node::Attr(name) => env.attr(name),
        Node::Neg(x) => match eval(x, env, member).as_num() {
            Some(n) => Value::num(-n),
            None => Value::Empty,
        },
        Node::IsEmpty(x) => Value::Bool(eval(x, env, member).is_empty()),
        Node::NotEmpty(x) => Value::Bool(!eval(x, env, member).is_empty()),
        Node::Binary(op, l, r) => binary(*op, l, r, env, member),
        Node::Call(f, args) => call(*f, args, env, member),
        Node::Aggregate { agg, over, arg } => aggregate(*agg, *over, arg, env, member),
        Node::Regex(x, re) => Value::Bool(re.is_match(&eval(x, env, member).as_text())),
    }
}

fn binary<E: Env + ?Sized>(op: BinOp, l: &Node, r: &Node, env: &E, member: Option<usize>) -> Value {
    match op {
        BinOp::And => Value::Bool(eval(l, env, member).as_bool() && eval(r, env, member).as_bool()),
        BinOp::Or => Value::Bool(eval(l, env, member).as_bool() || eval(r, env, member).as_bool()),
        _ => {
            let a = eval(l, env, member);
            let b = eval(r, env, member);
            if op.is_comparison() {
                Value::Bool(compare(op, &a, &b))
            } else {
                arithmetic(op, &a, &b)
            }
        }
    }
}

/// Comparisons: false whenever an operand is empty.
pub fn compare(op: BinOp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let ordering: Option<Ordering> = match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Date(x), other) => other.as_date().map(|y| x.cmp(&y)),
        (other, Value::Date(y)) => other.as_date().map(|x| x.cmp(y)),
        (Value::Bool(_), _) | (_, Value::Bool(_)) => {
            matches!(op, BinOp::Eq | BinOp::Ne).then(|| a.as_bool().cmp(&b.as_bool()))
        }
        (Value::Num(_), _) | (_, Value::Num(_)) => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            // A non-numeric code is simply not equal to a number.
            _ => return op == BinOp::Ne,
        },
        _ => {
            let (x, y) = (a.as_text(), b.as_text());
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(nx), Ok(ny)) if !matches!(op, BinOp::Eq | BinOp::Ne) => nx.partial_cmp(&ny),
                _ => Some(x.cmp(&y)),
            }
        }
    };
    let Some(o) = ordering else { return false };
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Ge => o != Ordering::Less,
        _ => false,
    }
}

fn add_days(d: NaiveDate, days: f64) -> Value {
    if !days.is_finite() || days.abs() > 3_000_000.0 {
        return Value::Empty;
    }
    d.checked_add_signed(chrono::Duration::days(days.trunc() as i64))
        .map_or(Value::Empty, Value::Date)
}

fn arithmetic(op: BinOp, a: &Value, b: &Value) -> Value {
    if a.is_empty() || b.is_empty() {
        return Value::Empty;
    }
    match (op, a, b) {
        (BinOp::Add, Value::Date(d), n) | (BinOp::Add, n, Value::Date(d))
            if !matches!(n, Value::Date(_)) =>
        {
            n.as_num().map_or(Value::Empty, |n| add_days(*d, n))
        }
        (BinOp::Sub, Value::Date(x), Value::Date(y)) => Value::Num((*x - *y).num_days() as f64),
        (BinOp::Sub, Value::Date(d), n) => n.as_num().map_or(Value::Empty, |n| add_days(*d, -n)),
        _ => {
            let (Some(x), Some(y)) = (a.as_num(), b.as_num()) else {
                return Value::Empty;
            };
            match op {
                BinOp::Add => Value::num(x + y),
                BinOp::Sub => Value::num(x - y),
                BinOp::Mul => Value::num(x * y),
                BinOp::Div if y != 0.0 => Value::num(x / y),
                BinOp::Mod if y != 0.0 => Value::num(x % y),
                _ => Value::Empty,
            }
        }
    }
}

/// Whole years from `birth` to `on` (negative if born after).
pub fn whole_years(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

fn call<E: Env + ?Sized>(f: Func, args: &[Node], env: &E, member: Option<usize>) -> Value {
    let arg = |i: usize| args.get(i).map_or(Value::Empty, |a| eval(a, env, member));
    match f {
        Func::If => {
            if arg(0).as_bool() {
                arg(1)
            } else {
                arg(2)
            }
        }
        Func::Not => Value::Bool(!arg(0).as_bool()),
        Func::Selected => {
            let code = arg(1);
            let code = code.as_text();
            Value::Bool(match arg(0) {
                Value::Multi(codes) => codes.iter().any(|c| **c == *code),
                Value::Empty => false,
                other => other.as_text().split_whitespace().any(|c| c == code),
            })
        }
        Func::CountSelected => Value::Num(match arg(0) {
            Value::Multi(codes) => codes.len() as f64,
            Value::Empty => 0.0,
            other => other.as_text().split_whitespace().count() as f64,
        }),
        Func::Today => Value::Date(env.visit_date()),
        Func::Age => match arg(0).as_date() {
            Some(birth) => Value::Num(f64::from(whole_years(birth, env.visit_date()))),
            None => Value::Empty,
        },
        Func::StringLength => Value::Num(arg(0).as_text().chars().count() as f64),
        Func::Coalesce => args
            .iter()
            .map(|a| eval(a, env, member))
            .find(|v| !v.is_empty())
            .unwrap_or_default(),
        Func::Int => arg(0)
            .as_num()
            .map_or(Value::Empty, |n| Value::num(n.trunc())),
        Func::Round => {
            let Some(n) = arg(0).as_num() else {
                return Value::Empty;
            };
            let digits = if args.len() > 1 {
                arg(1).as_num()
            } else {
                Some(0.0)
            };
            let Some(digits) = digits.filter(|d| d.abs() <= 15.0) else {
                return Value::Empty;
            };
            let scale = 10f64.powi(digits.trunc() as i32);
            Value::num((n * scale).round() / scale)
        }
        Func::Concat => {
            let mut s = String::new();
            for a in args {
                s.push_str(&eval(a, env, member).as_text());
            }
            Value::text(&s)
        }
        Func::Date => match arg(0) {
            Value::Date(d) => Value::Date(d),
            Value::Num(days) => NaiveDate::from_ymd_opt(1970, 1, 1)
                .map_or(Value::Empty, |epoch| add_days(epoch, days)),
            other => other.as_date().map_or(Value::Empty, Value::Date),
        },
        Func::True => Value::Bool(true),
        Func::False => Value::Bool(false),
        Func::NikBirthDate => identity::nik_birth_date(&arg(0).as_text(), env.visit_date())
            .map_or(Value::Empty, Value::Date),
        Func::NikSex => {
            identity::nik_sex(&arg(0).as_text()).map_or(Value::Empty, |s| Value::text(s.code()))
        }
        Func::Min | Func::Max => extreme(f == Func::Min, args.iter().map(|a| eval(a, env, member))),
    }
}

/// The smallest / largest of the non-empty values (dates compare as dates, everything else as numbers).
fn extreme(min: bool, values: impl Iterator<Item = Value>) -> Value {
    let mut best: Option<Value> = None;
    for v in values {
        let better = match (&best, &v) {
            (_, Value::Empty) => false,
            (None, v) => matches!(v, Value::Date(_)) || v.as_num().is_some(),
            (Some(Value::Date(b)), Value::Date(d)) => (d < b) == min && d != b,
            (Some(b), v) => match (b.as_num(), v.as_num()) {
                (Some(b), Some(n)) => (n < b) == min && n != b,
                _ => false,
            },
        };
        if better {
            best = Some(match v {
                Value::Date(d) => Value::Date(d),
                other => other.as_num().map_or(Value::Empty, Value::num),
            });
        }
    }
    best.unwrap_or_default()
}

fn aggregate<E: Env + ?Sized>(
    agg: Agg,
    over: Option<FieldId>,
    arg: &Node,
    env: &E,
    member: Option<usize>,
) -> Value {
    // `count(${repeat})` is the member count itself.
    if let (Agg::Count, Node::MemberCount(r)) = (agg, arg) {
        return Value::Num(env.member_count(*r) as f64);
    }
    let n = over.map_or(1, |r| env.member_count(r));
    let values = (0..n).map(|j| eval(arg, env, if over.is_some() { Some(j) } else { member }));
    match agg {
        // A condition counts when true; any other value when answered.
        Agg::Count => Value::Num(
            values
                .filter(|v| {
                    if let Value::Bool(b) = v {
                        *b
                    } else {
                        !v.is_empty()
                    }
                })
                .count() as f64,
        ),
        Agg::Sum => Value::num(values.filter_map(|v| v.as_num()).sum()),
        Agg::Min => extreme(true, values),
        Agg::Max => extreme(false, values),
    }
}
