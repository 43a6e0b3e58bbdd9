//! The server's validation of a connector body (create and update), written from the contract
//! on its own, not from skconn's model: the emulator is a second, independent reading of the
//! contract, so that a mistake in skconn's model shows up as a refused request in tests.
//!
//! Every rule is checked and every violation reported, not just the first, as the real server's
//! `validation_error_info.field_violations` does.

use serde_json::{Map, Value};

/// Top-level fields a client may send, in the order the server stores and returns them.
pub(crate) const API_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "auth_patterns",
    "proxy_url",
    "proxy_enabled",
    "icon_src",
    "metadata",
];

/// Fields that only the server sets; sending one is an error.
pub(crate) const SERVER_OWNED: &[&str] = &[
    "id",
    "identifier",
    "categories",
    "display_priority",
    "coming_soon",
    "is_custom",
    "is_custom_mcp",
];

const MAX_DISPLAY_NAME: usize = 200;
const MAX_URL: usize = 2048;
const MAX_METADATA_PAIRS: usize = 20;
const METADATA_KEY_LEN: (usize, usize) = (3, 25);
const METADATA_VALUE_LEN: (usize, usize) = (1, 256);

/// One broken rule: the field (a path such as `auth_patterns[1]`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub field: String,
    pub description: String,
}

fn violation(field: impl Into<String>, description: impl Into<String>) -> Violation {
    Violation {
        field: field.into(),
        description: description.into(),
    }
}

/// Checks a create or update body. On success returns the object to store: every API field
/// present, in [`API_FIELDS`] order, absent or `null` fields replaced by their zero value
/// (update replaces the whole object, so an omitted field is wiped).
pub(crate) fn connector_body(body: &Value) -> Result<Map<String, Value>, Vec<Violation>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![violation(
            "",
            "the request body must be a JSON object",
        )]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if SERVER_OWNED.contains(&key.as_str()) {
            errors.push(violation(
                key,
                "is set by the server and cannot be sent in a request",
            ));
        } else if !API_FIELDS.contains(&key.as_str()) {
            errors.push(violation(key, "unknown field"));
        }
    }
    // protojson reads `null` as "not set" for every field kind.
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());

    match get("display_name") {
        None => errors.push(violation("display_name", "value is required")),
        Some(Value::String(s)) => {
            let len = s.chars().count();
            if len == 0 {
                errors.push(violation("display_name", "value is required"));
            } else {
                if len > MAX_DISPLAY_NAME {
                    errors.push(violation(
                        "display_name",
                        format!("value length must be between 1 and {MAX_DISPLAY_NAME} characters"),
                    ));
                }
                if !display_name_matches(s) {
                    errors.push(violation(
                        "display_name",
                        "value does not match regex pattern `^[a-zA-Z0-9 ]*[a-zA-Z0-9][a-zA-Z0-9 ]*$`",
                    ));
                }
            }
        }
        Some(_) => errors.push(violation("display_name", "must be a string")),
    }

    if let Some(v) = get("description") {
        if !v.is_string() {
            errors.push(violation("description", "must be a string"));
        }
    }

    match get("auth_patterns") {
        None => errors.push(violation("auth_patterns", "value is required")),
        Some(Value::Array(a)) if a.is_empty() => errors.push(violation(
            "auth_patterns",
            "at least one auth pattern is required",
        )),
        Some(Value::Array(a)) => {
            for (i, p) in a.iter().enumerate() {
                if !p.is_object() {
                    errors.push(violation(
                        format!("auth_patterns[{i}]"),
                        "must be an object",
                    ));
                }
            }
        }
        Some(_) => errors.push(violation("auth_patterns", "must be an array of objects")),
    }

    match get("proxy_url") {
        None => errors.push(violation("proxy_url", "value is required")),
        Some(Value::String(s)) if s.is_empty() => {
            errors.push(violation("proxy_url", "value is required"))
        }
        Some(Value::String(s)) => check_https_url("proxy_url", s, &mut errors),
        Some(_) => errors.push(violation("proxy_url", "must be a string")),
    }

    if let Some(v) = get("proxy_enabled") {
        if !v.is_boolean() {
            errors.push(violation("proxy_enabled", "must be a boolean"));
        }
    }

    match get("icon_src") {
        None => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => check_https_url("icon_src", s, &mut errors),
        Some(_) => errors.push(violation("icon_src", "must be a string")),
    }

    match get("metadata") {
        None => {}
        Some(Value::Object(m)) => {
            if m.len() > MAX_METADATA_PAIRS {
                errors.push(violation(
                    "metadata",
                    format!(
                        "at most {MAX_METADATA_PAIRS} pairs are allowed, got {}",
                        m.len()
                    ),
                ));
            }
            for (k, v) in m {
                let field = format!("metadata.{k}");
                let klen = k.chars().count();
                if klen < METADATA_KEY_LEN.0 || klen > METADATA_KEY_LEN.1 {
                    errors.push(violation(
                        &field,
                        format!(
                            "key length must be between {} and {} characters",
                            METADATA_KEY_LEN.0, METADATA_KEY_LEN.1
                        ),
                    ));
                }
                match v {
                    Value::String(s) => {
                        let vlen = s.chars().count();
                        if vlen < METADATA_VALUE_LEN.0 || vlen > METADATA_VALUE_LEN.1 {
                            errors.push(violation(
                                &field,
                                format!(
                                    "value length must be between {} and {} characters",
                                    METADATA_VALUE_LEN.0, METADATA_VALUE_LEN.1
                                ),
                            ));
                        }
                    }
                    _ => errors.push(violation(&field, "value must be a string")),
                }
            }
        }
        Some(_) => errors.push(violation("metadata", "must be an object of string values")),
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    let mut out = Map::new();
    for field in API_FIELDS {
        let value = match get(field) {
            Some(v) => v.clone(),
            None => match *field {
                "proxy_enabled" => Value::Bool(false),
                "metadata" => Value::Object(Map::new()),
                _ => Value::String(String::new()),
            },
        };
        out.insert(field.to_string(), value);
    }
    Ok(out)
}

/// `^[a-zA-Z0-9 ]*[a-zA-Z0-9][a-zA-Z0-9 ]*$`: ASCII letters, digits and spaces, at least one
/// letter or digit.
fn display_name_matches(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && s.chars().any(|c| c.is_ascii_alphanumeric())
}

fn check_https_url(field: &str, s: &str, errors: &mut Vec<Violation>) {
    if s.chars().count() > MAX_URL {
        errors.push(violation(
            field,
            format!("value length must be at most {MAX_URL} characters"),
        ));
    }
    if !s.starts_with("https://") {
        errors.push(violation(field, "value must start with `https://`"));
    }
}
