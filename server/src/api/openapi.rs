//! Test support: `schemas/openapi.yaml` read into JSON and a checker for the subset of OpenAPI 3.0 schema objects
//! the document uses (type, nullable, properties, required, additionalProperties, items, enum, $ref, format,
//! minimum, maximum). Every response the API tests receive goes through [`OpenApi::check_response`].

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

pub const DOCUMENT: &str = include_str!("../../../schemas/openapi.yaml");

pub struct OpenApi {
    pub doc: Value,
}

/// The document, parsed once per test binary.
pub fn openapi() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let docs =
            YamlLoader::load_from_str(DOCUMENT).unwrap_or_else(|e| panic!("openapi.yaml: {e}"));
        let doc = docs.first().map(yaml_to_json).unwrap_or(Value::Null);
        OpenApi { doc }
    })
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unsupported YAML key {other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("unsupported YAML node {y:?}"),
    }
}

impl OpenApi {
    /// Every documented (METHOD, path).
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        let mut node = node;
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference.trim_start_matches('#');
            node = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    /// Checks a response against the document: the status is documented for the operation, the content type
    /// is one documented, and a JSON body matches the schema.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let operation = self.doc["paths"]
            .get(path)
            .and_then(|p| p.get(method.to_lowercase()))
            .ok_or_else(|| format!("{method} {path} is not in the document"))?;
        let response = operation["responses"]
            .get(status.to_string())
            .map(|r| self.resolve(r))
            .ok_or_else(|| format!("{method} {path}: status {status} is not documented"))?;
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let Some(content) = response.get("content") else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(format!("{method} {path} {status}: undocumented body"))
            };
        };
        let media = content.get(essence).ok_or_else(|| {
            format!("{method} {path} {status}: content type {essence:?} is not documented")
        })?;
        if essence != "application/json" {
            return Ok(());
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{method} {path} {status}: not JSON: {e}"))?;
        self.check(&media["schema"], &value, "$")
            .map_err(|e| format!("{method} {path} {status}: {e}"))
    }

    /// Checks a value against a schema object; the error names the path inside the value.
    pub fn check(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if value.is_null() {
            return if schema["nullable"] == Value::Bool(true) {
                Ok(())
            } else {
                Err(format!("{at}: null is not allowed"))
            };
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {options:?}"));
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.check_object(schema, value, at),
            Some("array") => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{at}: expected an array, got {value}"))?;
                items
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, v)| self.check(&schema["items"], v, &format!("{at}[{i}]")))
            }
            Some("string") => {
                let s = value
                    .as_str()
                    .ok_or_else(|| format!("{at}: expected a string, got {value}"))?;
                check_format(schema.get("format").and_then(Value::as_str), s)
                    .map_err(|e| format!("{at}: {e}"))
            }
            Some("integer") => {
                let ok = value.is_i64() || value.is_u64();
                if !ok {
                    return Err(format!("{at}: expected an integer, got {value}"));
                }
                check_range(schema, value, at)
            }
            Some("number") => value
                .is_number()
                .then_some(())
                .ok_or_else(|| format!("{at}: expected a number")),
            Some("boolean") => value
                .is_boolean()
                .then_some(())
                .ok_or_else(|| format!("{at}: expected a boolean")),
            Some(other) => Err(format!(
                "{at}: schema type {other} is not supported by this checker"
            )),
            None => Ok(()),
        }
    }

    fn check_object(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let object: &Map<String, Value> = value
            .as_object()
            .ok_or_else(|| format!("{at}: expected an object, got {value}"))?;
        for required in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                return Err(format!("{at}: required property {required:?} is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, v) in object {
            let here = format!("{at}.{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(property) => self.check(property, v, &here)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{here}: property not in the document"));
                    }
                    Some(extra @ Value::Object(_)) => self.check(extra, v, &here)?,
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

fn check_range(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let v = value.as_f64().unwrap_or_default();
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && v < min
    {
        return Err(format!("{at}: {value} is below the minimum {min}"));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && v > max
    {
        return Err(format!("{at}: {value} is above the maximum {max}"));
    }
    Ok(())
}

fn check_format(format: Option<&str>, s: &str) -> Result<(), String> {
    match format {
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(s)
            .map(|_| ())
            .map_err(|e| format!("{s:?} is not a date-time: {e}")),
        Some("date") => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|_| ())
            .map_err(|e| format!("{s:?} is not a date: {e}")),
        Some("uuid") => uuid::Uuid::parse_str(s)
            .map(|_| ())
            .map_err(|e| format!("{s:?} is not a uuid: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_ref_in_the_document_resolves() {
        fn walk(doc: &OpenApi, v: &Value) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        assert!(
                            doc.doc.pointer(r.trim_start_matches('#')).is_some(),
                            "dangling {r}"
                        );
                    }
                    map.values().for_each(|x| walk(doc, x));
                }
                Value::Array(items) => items.iter().for_each(|x| walk(doc, x)),
                _ => {}
            }
        }
        let doc = openapi();
        assert_eq!(doc.doc["openapi"], json!("3.0.3"));
        walk(doc, &doc.doc);
    }

    #[test]
    fn the_checker_catches_what_it_should() {
        let doc = openapi();
        let schema = json!({"$ref": "#/components/schemas/ApiError"});
        assert!(
            doc.check(&schema, &json!({"error": "x", "message": "y"}), "$")
                .is_ok()
        );
        assert!(
            doc.check(&schema, &json!({"error": "x"}), "$")
                .unwrap_err()
                .contains("message")
        );
        assert!(
            doc.check(
                &schema,
                &json!({"error": "x", "message": "y", "extra": 1}),
                "$"
            )
            .is_err()
        );
        assert!(
            doc.check(&schema, &json!({"error": 1, "message": "y"}), "$")
                .is_err()
        );
        assert!(
            doc.check(
                &schema,
                &json!({"error": "x", "message": "y", "limit": -1}),
                "$"
            )
            .is_err()
        );
        let receipt = json!({"$ref": "#/components/schemas/Receipt"});
        let good = json!({"visit_id": "00000000-0000-0000-0000-000000000000", "revision": 1, "status": "accepted", "error_count": 0});
        assert!(doc.check(&receipt, &good, "$").is_ok());
        let mut bad = good.clone();
        bad["status"] = json!("lost");
        assert!(doc.check(&receipt, &bad, "$").is_err());
        bad = good;
        bad["visit_id"] = json!("nope");
        assert!(doc.check(&receipt, &bad, "$").is_err());
    }
}
