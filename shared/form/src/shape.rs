//! Reports every JSON-shape problem of a form (serde stops at the first), each at its path.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::LoadError;
use super::model::{Choice, Field, Text};

fn try_as<T: DeserializeOwned>(v: &Json, path: &str, out: &mut Vec<LoadError>) {
    if let Err(e) = serde_json::from_value::<T>(v.clone()) {
        out.push(LoadError {
            path: path.to_owned(),
            message: e.to_string(),
        });
    }
}

fn object<'a>(
    v: &'a Json,
    path: &str,
    allowed: &[&str],
    required: &[&str],
    out: &mut Vec<LoadError>,
) -> Option<&'a serde_json::Map<String, Json>> {
    let Json::Object(o) = v else {
        out.push(LoadError {
            path: path.to_owned(),
            message: "expected a JSON object".to_owned(),
        });
        return None;
    };
    let at = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    for k in o.keys().filter(|k| !allowed.contains(&k.as_str())) {
        out.push(LoadError {
            path: at(k),
            message: format!(
                "unknown key `{k}` (expected one of: {})",
                allowed.join(", ")
            ),
        });
    }
    for k in required.iter().filter(|k| !o.contains_key(**k)) {
        out.push(LoadError {
            path: at(k),
            message: format!("missing key `{k}`"),
        });
    }
    Some(o)
}

fn field(v: &Json, path: &str, out: &mut Vec<LoadError>) {
    match v.get("fields").and_then(Json::as_array) {
        Some(children) => {
            let mut without = v.clone();
            if let Some(o) = without.as_object_mut() {
                o.remove("fields");
            }
            try_as::<Field>(&without, path, out);
            for (k, child) in children.iter().enumerate() {
                field(child, &format!("{path}.fields[{k}]"), out);
            }
        }
        None => try_as::<Field>(v, path, out),
    }
}

/// Every shape problem of a form document.
pub(crate) fn problems(v: &Json) -> Vec<LoadError> {
    let mut out = Vec::new();
    let allowed = [
        "id",
        "version",
        "title",
        "description",
        "outcome",
        "start_without_assignment",
        "choices",
        "sections",
    ];
    let Some(o) = object(
        v,
        "",
        &allowed,
        &["id", "version", "title", "sections"],
        &mut out,
    ) else {
        return out;
    };
    if let Some(id) = o.get("id") {
        try_as::<String>(id, "id", &mut out);
    }
    if let Some(version) = o.get("version") {
        try_as::<u32>(version, "version", &mut out);
    }
    if let Some(outcome) = o.get("outcome") {
        try_as::<String>(outcome, "outcome", &mut out);
    }
    if let Some(roles) = o.get("start_without_assignment") {
        try_as::<Vec<crate::FieldRole>>(roles, "start_without_assignment", &mut out);
    }
    for key in ["title", "description"] {
        if let Some(t) = o.get(key) {
            try_as::<Text>(t, key, &mut out);
        }
    }
    if let Some(choices) = o.get("choices")
        && let Some(lists) = object(choices, "choices", &[], &[], &mut Vec::new())
    {
        for (name, list) in lists {
            let path = format!("choices.{name}");
            let Some(items) = list.as_array() else {
                out.push(LoadError {
                    path,
                    message: "expected a list of choices".to_owned(),
                });
                continue;
            };
            for (i, c) in items.iter().enumerate() {
                try_as::<Choice>(c, &format!("{path}[{i}]"), &mut out);
            }
        }
    } else if let Some(choices) = o.get("choices") {
        try_as::<std::collections::BTreeMap<String, Json>>(choices, "choices", &mut out);
    }
    match o.get("sections") {
        Some(Json::Array(sections)) => {
            for (s, section) in sections.iter().enumerate() {
                let path = format!("sections[{s}]");
                let Some(so) = object(
                    section,
                    &path,
                    &["id", "title", "relevant", "fields"],
                    &["id", "title", "fields"],
                    &mut out,
                ) else {
                    continue;
                };
                for key in ["id", "relevant"] {
                    if let Some(v) = so.get(key) {
                        try_as::<String>(v, &format!("{path}.{key}"), &mut out);
                    }
                }
                if let Some(t) = so.get("title") {
                    try_as::<Text>(t, &format!("{path}.title"), &mut out);
                }
                match so.get("fields") {
                    Some(Json::Array(fields)) => {
                        for (i, f) in fields.iter().enumerate() {
                            field(f, &format!("{path}.fields[{i}]"), &mut out);
                        }
                    }
                    Some(_) => out.push(LoadError {
                        path: format!("{path}.fields"),
                        message: "expected a list of fields".to_owned(),
                    }),
                    None => {}
                }
            }
        }
        Some(_) => out.push(LoadError {
            path: "sections".to_owned(),
            message: "expected a list of sections".to_owned(),
        }),
        None => {}
    }
    out
}
