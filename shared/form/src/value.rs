//! Typed values: what expressions compute with, and how a JSON answer of each field type becomes one.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::model::{FieldType, Text};

/// A value during evaluation. Strings are shared (`Arc`) so reading a field never copies its text.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Not answered, not relevant, or not computable (e.g. arithmetic on an empty answer).
    #[default]
    Empty,
    /// Always finite: a NaN or infinite result becomes [`Value::Empty`].
    Num(f64),
    /// Never empty: `''` is [`Value::Empty`].
    Text(Arc<str>),
    Bool(bool),
    Date(NaiveDate),
    /// The codes of a `select_multiple` answer (never empty).
    Multi(Arc<[Arc<str>]>),
}

impl Value {
    pub fn num(n: f64) -> Value {
        if n.is_finite() {
            Value::Num(n)
        } else {
            Value::Empty
        }
    }

    pub fn text(s: &str) -> Value {
        if s.is_empty() {
            Value::Empty
        } else {
            Value::Text(Arc::from(s))
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Value::Empty)
    }

    /// As a number: numbers, numeric text, booleans (1/0).
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(t) => t.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Empty | Value::Date(_) | Value::Multi(_) => None,
        }
    }

    /// As a truth value (XPath `boolean()`): empty is false, text and selections true when non-empty.
    pub fn as_bool(&self) -> bool {
        match self {
            Value::Empty => false,
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Text(_) | Value::Date(_) | Value::Multi(_) => true,
        }
    }

    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            Value::Text(t) => parse_date(t),
            _ => None,
        }
    }

    /// As text, as ODK prints it: whole numbers without decimals, dates `YYYY-MM-DD`, selections space-joined.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Value::Empty => Cow::Borrowed(""),
            Value::Text(t) => Cow::Borrowed(t),
            Value::Num(n) => Cow::Owned(format_num(*n)),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Value::Multi(codes) => {
                Cow::Owned(codes.iter().map(|c| &**c).collect::<Vec<_>>().join(" "))
            }
        }
    }
}

impl Value {
    /// As JSON, the way answers are written: numbers, text, booleans, dates `YYYY-MM-DD`, code lists.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Empty => Json::Null,
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Json::from(*n as i64),
            Value::Num(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Value::Text(t) => Json::String(t.to_string()),
            Value::Bool(b) => Json::Bool(*b),
            Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
            Value::Multi(codes) => {
                Json::Array(codes.iter().map(|c| Json::String(c.to_string())).collect())
            }
        }
    }
}

pub fn format_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `YYYY-MM-DD`, a real date, nothing else.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Why a JSON answer does not fit its field's type; bilingual, without the field's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeProblem(pub Text);

fn problem(id: &str, en: &str) -> TypeProblem {
    TypeProblem(Text::new(id, en))
}

/// Whether a JSON answer counts as "not answered": absent, `null`, `""`, `[]`.
pub fn json_is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::String(s) => s.is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Indonesia's bounding box (with a margin): a fix outside it is a warning, not an error.
pub const INDONESIA_LAT: (f64, f64) = (-11.5, 6.5);
pub const INDONESIA_LON: (f64, f64) = (94.5, 141.5);

/// Turns a JSON answer into a typed value by the field's type (the shape only: choice lists, identity numbers
/// and region codes are checked by the validator). Empty answers give [`Value::Empty`].
pub fn parse_answer(kind: FieldType, v: &Json) -> Result<Value, TypeProblem> {
    if json_is_empty(v) {
        return Ok(Value::Empty);
    }
    match kind {
        FieldType::Text
        | FieldType::Nik
        | FieldType::Kk
        | FieldType::Region
        | FieldType::SelectOne => match v {
            // Control characters and invisible direction marks are never an answer (the server refuses them):
            // they can hide or reorder what a supervisor reads.
            Json::String(s) => match crate::text_rules::text_problem(s) {
                None => Ok(Value::text(s)),
                Some(_) => Err(problem(
                    "berisi karakter kontrol atau tanda arah yang tidak terlihat",
                    "contains a control character or an invisible direction mark",
                )),
            },
            _ => Err(problem("harus berupa teks", "must be text")),
        },
        FieldType::Integer => match v.as_f64() {
            Some(n) if v.is_number() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 => {
                Ok(Value::Num(n))
            }
            _ => Err(problem("harus bilangan bulat", "must be a whole number")),
        },
        FieldType::Decimal => match v.as_f64() {
            Some(n) if v.is_number() => Ok(Value::num(n)),
            _ => Err(problem("harus berupa angka", "must be a number")),
        },
        FieldType::Date => match v.as_str().and_then(parse_date) {
            Some(d) => Ok(Value::Date(d)),
            None => Err(problem(
                "harus tanggal yang benar dalam format TTTT-BB-HH",
                "must be a real date written YYYY-MM-DD",
            )),
        },
        FieldType::SelectMultiple => {
            let Json::Array(items) = v else {
                return Err(problem(
                    "harus berupa daftar kode pilihan",
                    "must be a list of choice codes",
                ));
            };
            let mut codes: Vec<Arc<str>> = Vec::with_capacity(items.len());
            for item in items {
                let Some(code) = item.as_str().filter(|c| !c.is_empty()) else {
                    return Err(problem(
                        "harus berupa daftar kode pilihan",
                        "must be a list of choice codes",
                    ));
                };
                if codes.iter().any(|c| &**c == code) {
                    return Err(TypeProblem(Text::new(
                        format!("pilihan {code} tercantum dua kali"),
                        format!("choice {code} is listed twice"),
                    )));
                }
                codes.push(Arc::from(code));
            }
            Ok(Value::Multi(codes.into()))
        }
        FieldType::Geopoint => parse_geopoint(v).map(|g| Value::Text(Arc::from(g.as_text()))),
        FieldType::Photo => parse_photo(v).map(Value::text),
        FieldType::Note | FieldType::Calculate | FieldType::Repeat => {
            Err(problem("tidak menerima jawaban", "takes no answer"))
        }
    }
}

/// A GPS fix as answered: `{"lat": .., "lon": .., "accuracy_m": ..}` (optionally `altitude_m`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

impl GeoPoint {
    /// ODK's text form: `lat lon altitude accuracy`.
    pub fn as_text(&self) -> String {
        format!("{} {} 0 {}", self.lat, self.lon, self.accuracy_m)
    }

    pub fn in_indonesia(&self) -> bool {
        (INDONESIA_LAT.0..=INDONESIA_LAT.1).contains(&self.lat)
            && (INDONESIA_LON.0..=INDONESIA_LON.1).contains(&self.lon)
    }
}

pub fn parse_geopoint(v: &Json) -> Result<GeoPoint, TypeProblem> {
    let shape = || {
        problem(
            "harus titik GPS {lat, lon, accuracy_m}",
            "must be a GPS fix {lat, lon, accuracy_m}",
        )
    };
    let Json::Object(o) = v else {
        return Err(shape());
    };
    if o.keys()
        .any(|k| !matches!(k.as_str(), "lat" | "lon" | "accuracy_m" | "altitude_m"))
    {
        return Err(shape());
    }
    let num = |k: &str| o.get(k).and_then(Json::as_f64);
    let (Some(lat), Some(lon), Some(accuracy_m)) = (num("lat"), num("lon"), num("accuracy_m"))
    else {
        return Err(shape());
    };
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(problem(
            "lintang harus −90…90 dan bujur −180…180",
            "latitude must be −90…90 and longitude −180…180",
        ));
    }
    if !(0.0..=100_000.0).contains(&accuracy_m) {
        return Err(problem(
            "akurasi GPS harus 0…100000 m",
            "GPS accuracy must be 0…100000 m",
        ));
    }
    Ok(GeoPoint {
        lat,
        lon,
        accuracy_m,
    })
}

/// A photo reference as answered: `{"file": .., "sha256": <64 hex>}`; gives the file name.
pub fn parse_photo(v: &Json) -> Result<&str, TypeProblem> {
    let shape = || {
        problem(
            "harus rujukan foto {file, sha256} dengan sha256 64 digit heksadesimal",
            "must be a photo reference {file, sha256} with a 64-hex-digit sha256",
        )
    };
    let Json::Object(o) = v else {
        return Err(shape());
    };
    if o.len() != 2 {
        return Err(shape());
    }
    let file = o
        .get("file")
        .and_then(Json::as_str)
        .filter(|f| !f.is_empty())
        .ok_or_else(shape)?;
    let sha = o.get("sha256").and_then(Json::as_str).ok_or_else(shape)?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(shape());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_by_type() {
        assert_eq!(
            parse_answer(FieldType::Integer, &json!(3)),
            Ok(Value::Num(3.0))
        );
        assert!(parse_answer(FieldType::Integer, &json!(3.5)).is_err());
        assert!(parse_answer(FieldType::Integer, &json!("3")).is_err());
        assert_eq!(
            parse_answer(FieldType::Decimal, &json!(3.5)),
            Ok(Value::Num(3.5))
        );
        assert_eq!(parse_answer(FieldType::Text, &json!("")), Ok(Value::Empty));
        assert_eq!(
            parse_answer(FieldType::Text, &json!(null)),
            Ok(Value::Empty)
        );
        assert!(parse_answer(FieldType::Date, &json!("2023-02-29")).is_err());
        assert!(parse_answer(FieldType::Date, &json!("2024-2-29")).is_err());
        assert_eq!(
            parse_answer(FieldType::Date, &json!("2024-02-29")),
            Ok(Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()))
        );
        assert!(parse_answer(FieldType::SelectMultiple, &json!(["1", "1"])).is_err());
        assert!(parse_answer(FieldType::SelectMultiple, &json!("1")).is_err());
        assert_eq!(
            parse_answer(FieldType::SelectMultiple, &json!([])),
            Ok(Value::Empty)
        );
        let sha = "a".repeat(64);
        assert_eq!(
            parse_answer(FieldType::Photo, &json!({"file": "f.jpg", "sha256": sha})),
            Ok(Value::text("f.jpg"))
        );
        assert!(
            parse_answer(FieldType::Photo, &json!({"file": "f.jpg", "sha256": "abc"})).is_err()
        );
        assert!(
            parse_answer(
                FieldType::Geopoint,
                &json!({"lat": -3.8, "lon": 102.3, "accuracy_m": 5})
            )
            .is_ok()
        );
        assert!(
            parse_answer(
                FieldType::Geopoint,
                &json!({"lat": -93.8, "lon": 102.3, "accuracy_m": 5})
            )
            .is_err()
        );
        assert!(parse_answer(FieldType::Geopoint, &json!({"lat": -3.8, "lon": 102.3})).is_err());
    }

    #[test]
    fn conversions() {
        assert_eq!(Value::Num(5.0).as_text(), "5");
        assert_eq!(Value::Num(2.5).as_text(), "2.5");
        assert_eq!(Value::text("12").as_num(), Some(12.0));
        assert_eq!(Value::num(f64::NAN), Value::Empty);
        assert!(!Value::Empty.as_bool());
    }
}
