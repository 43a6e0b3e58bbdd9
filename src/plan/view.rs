//! A connector body as people read it: normalised, skconn's marker left out, keys in reading
//! order (`display_name`, `description`, `proxy_url`, ... then `auth_patterns`; inside, the
//! identity key first). Used for the `before` and `after` of a change and by `import`. Pure.

use crate::model;
use crate::model::normalize::normalize;
use serde_json::Value;

/// Top-level keys in the order a person reads a connector.
pub const TOP_ORDER: &[&str] = &[
    "display_name",
    "description",
    "proxy_url",
    "proxy_enabled",
    "icon_src",
    "metadata",
    "auth_patterns",
];

/// Keys that lead inside nested objects, in this order; the rest follow sorted.
const LEADING: &[&str] = &[
    "type",
    "field_name",
    "scope",
    "value",
    "label",
    "display_name",
    "description",
];

/// The readable form of a connector body: normalised, marker removed, keys in reading order.
pub fn readable(body: &Value) -> Value {
    ordered(&normalize(&model::without_marker(body)))
}

/// The readable form of a body already normalised (`normalize` drops the marker too): keys in
/// reading order.
pub fn ordered(body: &Value) -> Value {
    let Some(obj) = body.as_object() else {
        return body.clone();
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_by_key(|k| {
        (
            TOP_ORDER
                .iter()
                .position(|t| t == k)
                .unwrap_or(TOP_ORDER.len()),
            k.as_str(),
        )
    });
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), order(&obj[k])))
            .collect(),
    )
}

/// A copy of `v` with every nested object's keys in reading order.
pub fn order(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| {
                (
                    LEADING.iter().position(|l| l == k).unwrap_or(LEADING.len()),
                    k.as_str(),
                )
            });
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), order(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(order).collect()),
        other => other.clone(),
    }
}
