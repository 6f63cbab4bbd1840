//! Findings and their bilingual messages (each names the field's label and the problem), the checks that need
//! no expression (member counts, region codes, answers that fit no field) and turning typed input into answers.

use serde_json::Value as Json;

use super::compile::{Compiled, FieldInfo};
use super::model::{Choice, FieldType, Level, RegionLevel, Text};
use super::region;
use super::value::{GeoPoint, json_is_empty, parse_answer, parse_date};
use super::{AnswerError, Finding};

/// A finding on a field: "Label: problem" in both languages.
pub(crate) fn finding(
    info: &FieldInfo,
    path: &str,
    rule: &str,
    level: Level,
    problem: &Text,
) -> Finding {
    Finding {
        path: path.to_owned(),
        field: info.id.clone(),
        rule: rule.to_owned(),
        level,
        message: Text {
            id: format!("{}: {}", info.label.id, problem.id),
            en: format!("{}: {}", info.label.en, problem.en),
        },
    }
}

pub(crate) fn required(info: &FieldInfo, path: &str) -> Finding {
    let (id, en) = if info.kind == FieldType::Repeat {
        (
            "belum ada anggota; minimal satu wajib diisi",
            "has no members; at least one is required",
        )
    } else {
        ("wajib diisi", "is required")
    };
    let missing = info.missing.as_ref();
    Finding {
        path: path.to_owned(),
        field: info.id.clone(),
        rule: missing
            .and_then(|m| m.rule.clone())
            .unwrap_or_else(|| "required".to_owned()),
        level: missing.map_or(Level::Error, |m| m.level),
        message: missing
            .and_then(|m| m.message.clone())
            .unwrap_or_else(|| Text {
                id: format!("{} {id}", info.label.id),
                en: format!("{} {en}", info.label.en),
            }),
    }
}

pub(crate) fn member_counts(info: &FieldInfo, path: &str, count: usize, out: &mut Vec<Finding>) {
    if let Some(min) = info.min_count
        && count < min as usize
    {
        let msg = Text::new(
            format!("minimal {min} anggota (sekarang {count})"),
            format!("needs at least {min} members (there are {count})"),
        );
        out.push(finding(info, path, "min_count", Level::Error, &msg));
    }
    if let Some(max) = info.max_count
        && count > max as usize
    {
        let msg = Text::new(
            format!("paling banyak {max} anggota (sekarang {count})"),
            format!("allows at most {max} members (there are {count})"),
        );
        out.push(finding(info, path, "max_count", Level::Error, &msg));
    }
}

/// A text answer longer than the field's `max_length` (characters): what is wrong, in both languages.
pub(crate) fn too_long(info: &FieldInfo, value: &super::Value) -> Option<Text> {
    let max = info.max_length? as usize;
    let super::Value::Text(text) = value else {
        return None;
    };
    let count = text.chars().count();
    (count > max).then(|| {
        Text::new(
            format!("paling banyak {max} karakter (sekarang {count})"),
            format!("allows at most {max} characters (there are {count})"),
        )
    })
}

pub(crate) fn not_in_list(info: &FieldInfo, path: &str, code: &str) -> Finding {
    let msg = Text::new(
        format!("pilihan {code} tidak ada dalam daftar"),
        format!("{code} is not one of the choices"),
    );
    finding(info, path, "type", Level::Error, &msg)
}

pub(crate) fn filtered_out(info: &FieldInfo, path: &str, choice: &Choice) -> Finding {
    let msg = Text::new(
        format!(
            "pilihan «{}» tidak berlaku dengan jawaban sebelumnya",
            choice.label.id
        ),
        format!(
            "the choice «{}» does not apply given the earlier answers",
            choice.label.en
        ),
    );
    finding(info, path, "choice_filter", Level::Error, &msg)
}

pub(crate) fn outside_indonesia(info: &FieldInfo, path: &str) -> Finding {
    let msg = Text::new(
        "titik GPS berada di luar wilayah Indonesia; periksa kembali",
        "the GPS fix is outside Indonesia; please check it",
    );
    finding(
        info,
        path,
        "geopoint_outside_indonesia",
        Level::Warning,
        &msg,
    )
}

fn level_names(level: RegionLevel) -> (&'static str, &'static str, &'static str) {
    match level {
        RegionLevel::Province => ("provinsi", "province", "PP"),
        RegionLevel::Regency => ("kabupaten/kota", "regency/city", "PP.KK"),
        RegionLevel::District => ("kecamatan", "district", "PP.KK.CC"),
        RegionLevel::Village => ("desa/kelurahan", "village", "PP.KK.CC.DDDD"),
    }
}

/// A region answer: a known code, of the field's level, under its `region_within` (if that has a value).
pub(crate) fn region(
    info: &FieldInfo,
    path: &str,
    code: &str,
    within: &str,
    out: &mut Vec<Finding>,
) {
    let regions = region::regions();
    let (lid, len, shape) = level_names(info.region_level);
    let problem = if region::level_of_code(code).is_none() {
        Some(Text::new(
            format!("{code} bukan kode wilayah Kemendagri (bentuk {shape})"),
            format!("{code} is not a Kemendagri region code (form {shape})"),
        ))
    } else if !regions.contains(code) {
        Some(Text::new(
            format!("kode wilayah {code} tidak ada dalam daftar Kemendagri 2025"),
            format!("region code {code} is not in the 2025 Kemendagri list"),
        ))
    } else if regions.level(code) != Some(info.region_level) {
        Some(Text::new(
            format!("harus kode {lid} ({shape}), bukan {code}"),
            format!("must be a {len} code ({shape}), not {code}"),
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        out.push(finding(info, path, "region", Level::Error, &p));
        return;
    }
    if !within.is_empty() && !region::is_within(code, within) {
        let name = regions.name(within).unwrap_or(within);
        let msg = Text::new(
            format!("{code} tidak berada di wilayah {within} ({name})"),
            format!("{code} is not within {within} ({name})"),
        );
        out.push(finding(info, path, "region_within", Level::Error, &msg));
    }
}

/// Answers that fit no field: unknown keys (top level and in members), computed fields answered, a repeat that
/// is not a list of members.
pub(crate) fn structural(form: &Compiled, answers: &super::Answers, out: &mut Vec<Finding>) {
    let unknown = |path: String, key: &str, why: (&str, &str)| Finding {
        path,
        field: key.to_owned(),
        rule: "unknown_field".to_owned(),
        level: Level::Error,
        message: Text::new(
            format!("jawaban «{key}» {}", why.0),
            format!("answer «{key}» {}", why.1),
        ),
    };
    const NOT_IN_FORM: (&str, &str) = (
        "tidak sesuai dengan pertanyaan mana pun pada formulir",
        "matches no question of the form",
    );
    const COMPUTED: (&str, &str) = (
        "adalah isian terhitung atau catatan dan tidak diisi",
        "is a calculation or note and takes no answer",
    );
    for (key, value) in answers {
        let info = form.field_by_id(key).and_then(|f| form.fields.get(f));
        match info {
            None => out.push(unknown(key.clone(), key, NOT_IN_FORM)),
            Some(i) if i.repeat.is_some() => out.push(unknown(key.clone(), key, NOT_IN_FORM)),
            Some(i)
                if matches!(i.kind, FieldType::Note | FieldType::Calculate)
                    && !json_is_empty(value) =>
            {
                out.push(unknown(key.clone(), key, COMPUTED));
            }
            Some(i) if i.kind == FieldType::Repeat => match value {
                Json::Null => {}
                Json::Array(members) => {
                    for (m, member) in members.iter().enumerate() {
                        let Some(obj) = member.as_object() else {
                            out.push(finding(
                                i,
                                &format!("{key}[{m}]"),
                                "type",
                                Level::Error,
                                &Text::new(
                                    "anggota harus berupa objek jawaban",
                                    "a member must be an object of answers",
                                ),
                            ));
                            continue;
                        };
                        for (k, v) in obj {
                            let child = form
                                .field_by_id(k)
                                .filter(|c| i.children.contains(c))
                                .and_then(|c| form.fields.get(c));
                            let why = match child {
                                None => NOT_IN_FORM,
                                Some(c) if !c.is_input() && !json_is_empty(v) => COMPUTED,
                                Some(_) => continue,
                            };
                            out.push(unknown(format!("{key}[{m}].{k}"), k, why));
                        }
                    }
                }
                _ => out.push(finding(
                    i,
                    key,
                    "type",
                    Level::Error,
                    &Text::new("harus berupa daftar anggota", "must be a list of members"),
                )),
            },
            Some(_) => {}
        }
    }
}

/// Indonesian number input: `1.500.000` (thousands dots) and `2,5` (decimal comma) are read as people mean them.
fn normalise_number(s: &str) -> String {
    // `1.250,5`: thousands dots before a decimal comma.
    let (whole, fraction) = match s.split_once(',') {
        Some((whole, fraction)) if whole.contains('.') => (whole, Some(fraction)),
        _ => (s, None),
    };
    if let Some(fraction) = fraction {
        let grouped = whole.split('.').skip(1).all(|g| g.len() == 3);
        if grouped && !fraction.contains(['.', ',']) {
            return format!("{}.{fraction}", whole.replace('.', ""));
        }
        return s.to_owned();
    }
    let groups: Vec<&str> = s.split('.').collect();
    let thousands = groups.len() > 1
        && groups
            .first()
            .is_some_and(|g| (1..=3).contains(&g.trim_start_matches('-').len()))
        && groups
            .iter()
            .skip(1)
            .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
    let s = if thousands {
        s.replace('.', "")
    } else {
        s.to_owned()
    };
    if s.contains(',') && !s.contains('.') {
        s.replacen(',', ".", 1)
    } else {
        s
    }
}

fn input_error(info: &FieldInfo, path: &str, id: &str, en: &str) -> AnswerError {
    AnswerError {
        path: path.to_owned(),
        message: Text {
            id: format!("{} {id}", info.label.id),
            en: format!("{} {en}", info.label.en),
        },
    }
}

/// What a person typed → the JSON answer for the field.
pub(crate) fn parse_input(
    info: &FieldInfo,
    list: Option<&[Choice]>,
    path: &str,
    input: &str,
) -> Result<Json, AnswerError> {
    let text = input.trim();
    if text.is_empty() {
        return Ok(Json::Null);
    }
    let check_code = |code: &str| -> Result<(), AnswerError> {
        match list {
            Some(l) if !l.iter().any(|c| c.value == code) => Err(input_error(
                info,
                path,
                &format!("tidak punya pilihan {code}"),
                &format!("has no choice {code}"),
            )),
            _ => Ok(()),
        }
    };
    let json = match info.kind {
        FieldType::Text => match info.input {
            Some(how) => Json::String(how.canonical(text)),
            None => Json::String(input.to_owned()),
        },
        FieldType::Nik | FieldType::Kk => Json::String(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
                .collect(),
        ),
        FieldType::Region => Json::String(text.to_owned()),
        FieldType::Integer => {
            let n = normalise_number(text);
            match n.parse::<i64>() {
                Ok(v) if v.unsigned_abs() <= 9_007_199_254_740_992 => Json::from(v),
                _ => {
                    return Err(input_error(
                        info,
                        path,
                        "harus bilangan bulat",
                        "must be a whole number",
                    ));
                }
            }
        }
        FieldType::Decimal => {
            let n = normalise_number(text);
            match n
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .and_then(serde_json::Number::from_f64)
            {
                Some(v) => Json::Number(v),
                None => {
                    return Err(input_error(
                        info,
                        path,
                        "harus berupa angka",
                        "must be a number",
                    ));
                }
            }
        }
        FieldType::Date => {
            let iso = parse_date(text).or_else(|| {
                let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
                match parts.as_slice() {
                    [d, m, y] if y.len() == 4 => chrono::NaiveDate::from_ymd_opt(
                        y.parse().ok()?,
                        m.parse().ok()?,
                        d.parse().ok()?,
                    ),
                    _ => None,
                }
            });
            match iso {
                Some(d) => Json::String(d.format("%Y-%m-%d").to_string()),
                None => {
                    return Err(input_error(
                        info,
                        path,
                        "harus tanggal yang benar (HH/BB/TTTT)",
                        "must be a real date (DD/MM/YYYY)",
                    ));
                }
            }
        }
        FieldType::SelectOne => {
            check_code(text)?;
            Json::String(text.to_owned())
        }
        FieldType::SelectMultiple => {
            let mut codes: Vec<&str> = Vec::new();
            for code in text
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|c| !c.is_empty())
            {
                check_code(code)?;
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            Json::Array(
                codes
                    .into_iter()
                    .map(|c| Json::String(c.to_owned()))
                    .collect(),
            )
        }
        FieldType::Geopoint => {
            let nums: Vec<f64> = text
                .split([' ', ',', ';'])
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.parse().ok())
                .collect();
            let point = match nums.as_slice() {
                [lat, lon] => Some(GeoPoint {
                    lat: *lat,
                    lon: *lon,
                    accuracy_m: 0.0,
                }),
                [lat, lon, acc] => Some(GeoPoint {
                    lat: *lat,
                    lon: *lon,
                    accuracy_m: *acc,
                }),
                _ => None,
            };
            let Some(p) = point else {
                return Err(input_error(
                    info,
                    path,
                    "harus \"lintang bujur [akurasi]\"",
                    "must be \"latitude longitude [accuracy]\"",
                ));
            };
            serde_json::json!({"lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m})
        }
        FieldType::Photo | FieldType::Note | FieldType::Calculate | FieldType::Repeat => {
            return Err(input_error(
                info,
                path,
                "tidak diisi dengan ketikan",
                "is not answered by typing",
            ));
        }
    };
    // The same shape check `set` applies, so a parsed input is always accepted.
    parse_answer(info.kind, &json).map_err(|p| AnswerError {
        path: path.to_owned(),
        message: Text {
            id: format!("{}: {}", info.label.id, p.0.id),
            en: format!("{}: {}", info.label.en, p.0.en),
        },
    })?;
    Ok(json)
}
