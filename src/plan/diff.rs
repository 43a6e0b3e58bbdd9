//! Diff by meaning: the field-level changes between two normalised connector bodies, as a
//! reviewer reads them.
//!
//! Lists whose items have an identity (a scope by its `scope`, a field by its `field_name`, ...)
//! are matched by it, never by position: adding one scope at the top of a list is one added
//! scope, not a shift of every item. A list whose items keep their identities but change places
//! is one "order changed" entry. A boolean that changes is a change from old to new, even where
//! normalisation left `false` out. Each change names its place twice: a readable path
//! (`auth_patterns[OAUTH].oauth_config.available_scopes[tasks:write]`) and the JSON Pointer.
//!
//! The identity rules are the one table [`IDENTITY`]. Pure: no I/O, no printing.

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// Lists whose items have an identity: the list's key, and the key of each item that names it.
/// This table is the only place that knows it.
pub const IDENTITY: &[(&str, &str)] = &[
    ("auth_patterns", "type"),
    ("fields", "field_name"),
    ("account_fields", "field_name"),
    ("available_scopes", "scope"),
    ("options", "value"),
];

/// The identity key of the items of the list held under `list_key`, if they have one.
pub fn identity_key(list_key: &str) -> Option<&'static str> {
    IDENTITY
        .iter()
        .find(|(list, _)| *list == list_key)
        .map(|(_, id)| *id)
}

/// The kind of one field change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// A key or list item that is new.
    Add,
    /// A key or list item that goes.
    Remove,
    /// A value that changes (a boolean from `true` to `false` included).
    Replace,
    /// The same list items in another order; `old` and `new` hold their identities.
    Reorder,
}

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub op: Op,
    /// Readable: `auth_patterns[OAUTH].oauth_config.available_scopes[tasks:write]`.
    pub path: String,
    /// The JSON Pointer of the place in the new object (in the old one for a removal).
    pub pointer: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The changes from `old` to `new` (both normalised), in the order of the new object.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(Some(old), Some(new), "", "", None, &mut out);
    out
}

fn pointer_push(ptr: &str, seg: &str) -> String {
    format!("{ptr}/{}", seg.replace('~', "~0").replace('/', "~1"))
}

fn path_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.into())),
    }
}

fn walk(
    old: Option<&Value>,
    new: Option<&Value>,
    ptr: &str,
    path: &str,
    key: Option<&str>,
    out: &mut Vec<FieldChange>,
) {
    let change = |op, old: Option<&Value>, new: Option<&Value>| FieldChange {
        op,
        path: path.to_string(),
        pointer: ptr.to_string(),
        old: old.cloned(),
        new: new.cloned(),
    };
    match (old, new) {
        (None, None) => {}
        // Normalisation leaves `false` out: a boolean that goes or comes is a flip.
        (Some(Value::Bool(true)), None) => out.push(change(
            Op::Replace,
            Some(&Value::Bool(true)),
            Some(&Value::Bool(false)),
        )),
        (None, Some(Value::Bool(true))) => out.push(change(
            Op::Replace,
            Some(&Value::Bool(false)),
            Some(&Value::Bool(true)),
        )),
        (Some(o), None) => out.push(change(Op::Remove, Some(o), None)),
        (None, Some(n)) => out.push(change(Op::Add, None, Some(n))),
        (Some(o), Some(n)) if o == n => {}
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            let keys = n.keys().chain(o.keys().filter(|k| !n.contains_key(*k)));
            for k in keys {
                walk(
                    o.get(k),
                    n.get(k),
                    &pointer_push(ptr, k),
                    &path_key(path, k),
                    Some(k),
                    out,
                );
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n))) => {
            let id_key = key.and_then(identity_key);
            match id_key.and_then(|id| Some((ids(o, id)?, ids(n, id)?))) {
                Some((old_ids, new_ids)) => by_identity(o, n, &old_ids, &new_ids, ptr, path, out),
                None if o.iter().chain(n).all(|v| !v.is_object() && !v.is_array()) => {
                    out.push(change(Op::Replace, old, new));
                }
                None => {
                    for i in 0..o.len().max(n.len()) {
                        walk(
                            o.get(i),
                            n.get(i),
                            &pointer_push(ptr, &i.to_string()),
                            &format!("{path}[{i}]"),
                            None,
                            out,
                        );
                    }
                }
            }
        }
        (Some(o), Some(n)) => out.push(change(Op::Replace, Some(o), Some(n))),
    }
}

/// The identity of every item of a list, when every item has one and no two share it.
fn ids(list: &[Value], id_key: &str) -> Option<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let id = match item.get(id_key)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        if !seen.insert(id.clone()) {
            return None;
        }
        out.push(id);
    }
    Some(out)
}

fn by_identity(
    o: &[Value],
    n: &[Value],
    old_ids: &[String],
    new_ids: &[String],
    ptr: &str,
    path: &str,
    out: &mut Vec<FieldChange>,
) {
    let old_at: HashMap<&str, usize> = old_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let new_at: HashMap<&str, usize> = new_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let item_path = |id: &str| format!("{path}[{id}]");
    for (j, id) in new_ids.iter().enumerate() {
        let old_item = old_at.get(id.as_str()).map(|&i| &o[i]);
        walk(
            old_item,
            Some(&n[j]),
            &pointer_push(ptr, &j.to_string()),
            &item_path(id),
            None,
            out,
        );
    }
    for (i, id) in old_ids.iter().enumerate() {
        if !new_at.contains_key(id.as_str()) {
            out.push(FieldChange {
                op: Op::Remove,
                path: item_path(id),
                pointer: pointer_push(ptr, &i.to_string()),
                old: Some(o[i].clone()),
                new: None,
            });
        }
    }
    let kept_old: Vec<&String> = old_ids
        .iter()
        .filter(|id| new_at.contains_key(id.as_str()))
        .collect();
    let kept_new: Vec<&String> = new_ids
        .iter()
        .filter(|id| old_at.contains_key(id.as_str()))
        .collect();
    if kept_old != kept_new {
        out.push(FieldChange {
            op: Op::Reorder,
            path: path.to_string(),
            pointer: ptr.to_string(),
            old: Some(Value::from(
                kept_old.into_iter().cloned().collect::<Vec<_>>(),
            )),
            new: Some(Value::from(
                kept_new.into_iter().cloned().collect::<Vec<_>>(),
            )),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oauth(scopes: &[&str]) -> Value {
        let list: Vec<Value> = scopes
            .iter()
            .map(|s| json!({"scope": s, "display_name": s.to_uppercase()}))
            .collect();
        json!({"auth_patterns": [{"type": "OAUTH", "oauth_config": {"available_scopes": list}}]})
    }

    #[test]
    fn a_scope_added_at_the_top_is_one_change() {
        let d = diff(
            &oauth(&["a", "b", "c"]),
            &oauth(&["tasks:write", "a", "b", "c"]),
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].op, Op::Add);
        assert_eq!(
            d[0].path,
            "auth_patterns[OAUTH].oauth_config.available_scopes[tasks:write]"
        );
        assert_eq!(
            d[0].pointer,
            "/auth_patterns/0/oauth_config/available_scopes/0"
        );
    }

    #[test]
    fn a_pure_reorder_is_one_order_changed_entry() {
        let d = diff(&oauth(&["a", "b"]), &oauth(&["b", "a"]));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].op, Op::Reorder);
        assert_eq!(d[0].old, Some(json!(["a", "b"])));
        assert_eq!(d[0].new, Some(json!(["b", "a"])));
    }

    #[test]
    fn a_label_change_is_one_line_under_its_field() {
        let f = |label: &str| json!({"auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "x", "label": "X"}, {"field_name": "token", "label": label}]}]});
        let d = diff(&f("Token"), &f("API token"));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "auth_patterns[BEARER].fields[token].label");
        assert_eq!(d[0].pointer, "/auth_patterns/0/fields/1/label");
    }

    #[test]
    fn a_boolean_flip_is_old_to_new_whatever_normalisation_left_out() {
        let d = diff(&json!({"proxy_enabled": true}), &json!({}));
        assert_eq!(d[0].op, Op::Replace);
        assert_eq!(
            (d[0].old.clone(), d[0].new.clone()),
            (Some(json!(true)), Some(json!(false)))
        );
        let d = diff(&json!({}), &json!({"proxy_enabled": true}));
        assert_eq!(
            (d[0].old.clone(), d[0].new.clone()),
            (Some(json!(false)), Some(json!(true)))
        );
    }

    #[test]
    fn lists_without_identity_fall_back_to_positions() {
        let d = diff(
            &json!({"fields": [{"label": "a"}, {"label": "b"}]}),
            &json!({"fields": [{"label": "a"}, {"label": "c"}]}),
        );
        assert_eq!(d[0].path, "fields[1].label");
        let d = diff(
            &json!({"allowed_proxy_domains": ["a"]}),
            &json!({"allowed_proxy_domains": ["a", "b"]}),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].op, Op::Replace);
    }

    #[test]
    fn odd_keys_are_quoted_in_readable_paths() {
        let d = diff(
            &json!({"metadata": {"a.b": "1"}}),
            &json!({"metadata": {"a.b": "2"}}),
        );
        assert_eq!(d[0].path, "metadata[\"a.b\"]");
        assert_eq!(d[0].pointer, "/metadata/a.b");
    }
}
