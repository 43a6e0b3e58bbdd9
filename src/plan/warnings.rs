//! What a reviewer should know about a change, as typed values, and the one definition of which
//! field changes are auth-relevant: they change how connections authenticate, so existing
//! connections and connected accounts may need to re-authorize.
//!
//! [`is_auth_relevant`] is the predicate every caller uses (the planner's warnings, and any check
//! that must look before an auth-relevant update). Pure.

use crate::model::FileWarning;
pub use crate::model::FileWarningKind;
use crate::plan::diff::{FieldChange, Op};
use serde::Serialize;
use serde_json::Value;

/// The kind of a warning; programs match on it, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// OAuth scopes added or removed (named in the message).
    Scopes,
    /// Other auth-relevant changes: existing connections may need to re-authorize.
    Reauthorize,
    /// The connector is renamed in place.
    Rename,
    /// A live connector skconn did not write is adopted (gets skconn's marker).
    Adopt,
    /// A delete of a connector skconn did not write (`prune: all`).
    NotCreatedBySkconn,
    /// What `validate` warns about in the connector's file (`example_host`, `template_marker`,
    /// `display_name_spaces`, `unknown_value`); the warning says where.
    #[serde(untagged)]
    File(FileWarningKind),
}

/// One warning: its kind and a message for people; for a warning about the connector's file,
/// where in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

/// Where in a connector file a warning points, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub file: String,
    /// 1-based; 0 when the warning is about the whole file.
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Warning {
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Warning {
        Warning {
            kind,
            message: message.into(),
            place: None,
        }
    }

    /// A warning about a connector's file, as the plan shows it beside the change.
    pub fn from_file(w: &FileWarning) -> Warning {
        let d = &w.diagnostic;
        Warning {
            kind: WarningKind::File(w.kind),
            message: d.message.clone(),
            place: Some(Place {
                file: d.file.display().to_string(),
                line: d.line,
                column: d.column,
                field: d.field.clone(),
                help: d.help.clone(),
            }),
        }
    }

    /// Where the warning points, as `file:line:column: field` (empty when nowhere).
    pub fn location(&self) -> String {
        let Some(p) = &self.place else {
            return String::new();
        };
        let mut s = p.file.clone();
        if p.line > 0 {
            s.push_str(&format!(":{}", p.line));
            if p.column > 0 {
                s.push_str(&format!(":{}", p.column));
            }
        }
        if let Some(f) = &p.field {
            s.push_str(&format!(": {f}"));
        }
        s
    }
}

/// The places whose changes are auth-relevant, as key paths (list positions left out). `true`:
/// everything below the place counts too.
const AUTH_RELEVANT: &[(&[&str], bool)] = &[
    (&["proxy_url"], false),
    (&["auth_patterns", "type"], false),
    (&["auth_patterns", "oauth_config", "authorize_uri"], false),
    (&["auth_patterns", "oauth_config", "token_uri"], false),
    (&["auth_patterns", "oauth_config", "pkce_enabled"], false),
    (&["auth_patterns", "oauth_config", "available_scopes"], true),
    (&["auth_patterns", "auth_header_key_override"], false),
    (&["auth_patterns", "auth_field_mutations"], true),
    (&["auth_patterns", "fields", "required"], false),
    (&["auth_patterns", "account_fields", "required"], false),
];

/// The keys of a JSON Pointer, list positions left out.
fn shape(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .filter(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()))
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Whether a field change is auth-relevant: auth type, authorize or token URI, PKCE, scopes,
/// header override, field mutations, proxy URL, or which fields are required. A pure reorder
/// never is. An added or removed object is when it holds such a place (a new required field,
/// a new auth pattern, a whole `oauth_config`).
pub fn is_auth_relevant(f: &FieldChange) -> bool {
    if f.op == Op::Reorder {
        return false;
    }
    let at = shape(&f.pointer);
    AUTH_RELEVANT.iter().any(|(place, below)| {
        let place: Vec<&str> = place.to_vec();
        if at.len() >= place.len() {
            at[..place.len()] == place[..] && (*below || at.len() == place.len())
        } else if place[..at.len()] == at.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            // A whole object comes or goes: relevant if it holds the place with a value.
            let rest = &place[at.len()..];
            [f.old.as_ref(), f.new.as_ref()]
                .into_iter()
                .flatten()
                .any(|v| holds(v, rest))
        } else {
            false
        }
    })
}

/// Whether `v` holds a non-zero value at the key path `rest` (through lists).
fn holds(v: &Value, rest: &[&str]) -> bool {
    match (v, rest.split_first()) {
        (Value::Array(a), _) => a.iter().any(|i| holds(i, rest)),
        (_, None) => !matches!(v, Value::Null | Value::Bool(false)),
        (Value::Object(m), Some((k, tail))) => m.get(*k).is_some_and(|c| holds(c, tail)),
        _ => false,
    }
}

/// The auth-relevant changes of a diff.
pub fn auth_relevant(diff: &[FieldChange]) -> Vec<&FieldChange> {
    diff.iter().filter(|f| is_auth_relevant(f)).collect()
}

/// Whether a change is about the OAuth scopes list or one scope.
fn is_scope_change(f: &FieldChange) -> bool {
    shape(&f.pointer).iter().any(|k| k == "available_scopes")
}

/// The warnings an update's diff carries: scopes added and removed by name, then one
/// re-authorization warning naming the other auth-relevant changes. None for a diff with no
/// auth-relevant change (a description, icon or metadata edit).
pub fn update_warnings(old: &Value, new: &Value, diff: &[FieldChange]) -> Vec<Warning> {
    let mut out = Vec::new();
    let (before, after) = (scopes(old), scopes(new));
    let added: Vec<&str> = after
        .iter()
        .filter(|s| !before.contains(s))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|s| !after.contains(s))
        .map(String::as_str)
        .collect();
    if !added.is_empty() {
        out.push(Warning::new(
            WarningKind::Scopes,
            format!(
                "OAuth scopes added: {}; connected accounts authorized before this update do not grant them until they re-authorize",
                added.join(", ")
            ),
        ));
    }
    if !removed.is_empty() {
        out.push(Warning::new(
            WarningKind::Scopes,
            format!(
                "OAuth scopes removed: {}; new authorizations no longer request them, and existing connected accounts keep what they granted until they re-authorize",
                removed.join(", ")
            ),
        ));
    }
    let mut others: Vec<String> = Vec::new();
    for f in auth_relevant(diff) {
        // Scopes added or removed are named above; a scope's own settings are named here.
        if is_scope_change(f) && f.op != Op::Replace && (!added.is_empty() || !removed.is_empty()) {
            continue;
        }
        let what = match f.op {
            Op::Add => format!("{} added", f.path),
            Op::Remove => format!("{} removed", f.path),
            _ => f.path.clone(),
        };
        if !others.contains(&what) {
            others.push(what);
        }
    }
    if !others.is_empty() {
        out.push(Warning::new(
            WarningKind::Reauthorize,
            format!(
                "changes how connections authenticate ({}): existing connections and connected accounts may need to re-authorize after this update",
                others.join(", ")
            ),
        ));
    }
    out
}

/// The OAuth scope names of every pattern of a connector body, in order.
fn scopes(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in body
        .get("auth_patterns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let list = p
            .pointer("/oauth_config/available_scopes")
            .and_then(Value::as_array);
        for s in list.into_iter().flatten() {
            if let Some(name) = s.get("scope").and_then(Value::as_str) {
                if !out.iter().any(|o| o == name) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::diff::diff;
    use serde_json::json;

    fn relevant(old: Value, new: Value) -> Vec<String> {
        diff(&old, &new)
            .iter()
            .filter(|f| is_auth_relevant(f))
            .map(|f| f.path.clone())
            .collect()
    }

    #[test]
    fn description_icon_and_metadata_are_not_auth_relevant() {
        assert!(relevant(json!({"description": "a"}), json!({"description": "b"})).is_empty());
        assert!(relevant(json!({"icon_src": "https://a"}), json!({})).is_empty());
        assert!(relevant(json!({}), json!({"metadata": {"team": "x"}})).is_empty());
        let p = |label: &str| json!({"auth_patterns": [{"type": "BEARER", "display_name": label, "fields": [{"field_name": "t", "label": label}]}]});
        assert!(relevant(p("a"), p("b")).is_empty());
    }

    #[test]
    fn auth_places_are_relevant() {
        let p = |v: Value| json!({"auth_patterns": [v]});
        assert_eq!(
            relevant(
                json!({"proxy_url": "https://a"}),
                json!({"proxy_url": "https://b"})
            ),
            ["proxy_url"]
        );
        assert_eq!(
            relevant(
                p(json!({"type": "BEARER", "fields": [{"field_name": "t", "required": true}]})),
                p(json!({"type": "BEARER", "fields": [{"field_name": "t"}]}))
            ),
            ["auth_patterns[BEARER].fields[t].required"]
        );
        assert_eq!(
            relevant(
                p(json!({"type": "OAUTH", "oauth_config": {"token_uri": "https://a"}})),
                p(
                    json!({"type": "OAUTH", "oauth_config": {"token_uri": "https://b", "pkce_enabled": true}})
                )
            ),
            [
                "auth_patterns[OAUTH].oauth_config.token_uri",
                "auth_patterns[OAUTH].oauth_config.pkce_enabled"
            ]
        );
        // A new required field is relevant; a new optional one is not.
        let f = |fields: Value| p(json!({"type": "BASIC", "fields": fields}));
        assert_eq!(
            relevant(
                f(json!([])),
                f(json!([{"field_name": "d", "required": true}]))
            )
            .len(),
            1
        );
        assert!(relevant(
            f(json!([{"field_name": "a"}])),
            f(json!([{"field_name": "a"}, {"field_name": "d"}]))
        )
        .is_empty());
        // Another auth type altogether.
        assert!(!relevant(p(json!({"type": "BEARER"})), p(json!({"type": "API_KEY"}))).is_empty());
        assert!(!relevant(
            p(json!({"type": "API_KEY"})),
            p(json!({"type": "API_KEY", "auth_header_key_override": "x-api-key"}))
        )
        .is_empty());
    }

    #[test]
    fn scope_warnings_name_the_scopes_and_nothing_else_warns() {
        let o = |s: Value| json!({"auth_patterns": [{"type": "OAUTH", "oauth_config": {"available_scopes": s}}]});
        let (a, b) = (
            o(json!([{"scope": "read"}])),
            o(json!([{"scope": "tasks:write"}, {"scope": "read"}])),
        );
        let w = update_warnings(&a, &b, &diff(&a, &b));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, WarningKind::Scopes);
        assert!(w[0].message.starts_with("OAuth scopes added: tasks:write;"));
        let (a, b) = (json!({"description": "a"}), json!({"description": "b"}));
        assert!(update_warnings(&a, &b, &diff(&a, &b)).is_empty());
    }
}
