//! One normalisation, applied to both sides before they are compared.
//!
//! Rules: server-owned fields and skconn's metadata marker are dropped; `null` and zero values
//! (`""`, `false`, `0`, `[]`, `{}`) inside objects are the same as an absent key, at every depth;
//! object key order is irrelevant (keys come out sorted). Array order is kept: it is meaningful
//! (the order of auth patterns, fields and scopes is what users see).
//!
//! Pure: no I/O.

use crate::model::fields::{RESERVED_METADATA_KEYS, SERVER_OWNED};
use serde_json::{Map, Value};

/// The canonical form of a connector body.
pub fn normalize(body: &Value) -> Value {
    let Some(obj) = body.as_object() else {
        return strip_zero(body).unwrap_or(Value::Null);
    };
    let mut out = Map::new();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    for k in keys {
        if SERVER_OWNED.contains(&k.as_str()) {
            continue;
        }
        let mut v = obj[k].clone();
        if k == "metadata" {
            if let Some(m) = v.as_object_mut() {
                for r in RESERVED_METADATA_KEYS {
                    m.remove(*r);
                }
            }
        }
        if let Some(v) = strip_zero(&v) {
            out.insert(k.clone(), v);
        }
    }
    Value::Object(out)
}

/// Removes zero values from objects, recursively; returns `None` if the value itself is zero.
fn strip_zero(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Array(a) => Some(Value::Array(
            // Elements of an array keep their place: a zero element becomes null, not nothing.
            a.iter()
                .map(|e| strip_zero(e).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let out: Map<String, Value> = keys
                .into_iter()
                .filter_map(|k| strip_zero(&m[k]).map(|v| (k.clone(), v)))
                .collect();
            if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            }
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_values_and_absent_keys_are_equal() {
        let a = json!({"display_name": "A", "description": "", "proxy_enabled": true,
                       "metadata": {}, "auth_patterns": [{"type": "BEARER", "fields": [], "required": false}]});
        let b = json!({"proxy_enabled": true, "display_name": "A", "description": null,
                       "auth_patterns": [{"type": "BEARER"}], "id": "x", "is_custom": true});
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn marker_is_invisible_and_user_metadata_is_not() {
        let a = json!({"metadata": {"managed_by": "skconn", "skconn_hash": "abc", "team": "x"}});
        let b = json!({"metadata": {"team": "x"}});
        assert_eq!(normalize(&a), normalize(&b));
        assert_ne!(normalize(&b), normalize(&json!({})));
    }

    #[test]
    fn array_order_matters() {
        let a = json!({"auth_patterns": [{"type": "A"}, {"type": "B"}]});
        let b = json!({"auth_patterns": [{"type": "B"}, {"type": "A"}]});
        assert_ne!(normalize(&a), normalize(&b));
    }
}
