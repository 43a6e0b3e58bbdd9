//! Which field changes are auth-relevant: the ones that can break or change what existing
//! connections and connected accounts of a connector do. One rule, used wherever skconn needs
//! it (usage look-ups today). Pure; it knows JSON pointers into the connector object, nothing
//! else.
//!
//! Auth-relevant: the auth type (an auth pattern added, removed or retyped), the authorize and
//! token URIs, PKCE, scopes (added, removed, renamed, made required), the auth header override,
//! the auth field mutations, the proxy URL, and required fields (a field made required, or a
//! required field added). Not: names, descriptions, icons, labels, hints, metadata.

use crate::plan::{Action, Change, FieldChange, Op};
use serde_json::Value;

/// Whether this one field change is auth-relevant.
pub fn auth_relevant(change: &FieldChange) -> bool {
    let parts: Vec<&str> = change.path.split('/').skip(1).collect();
    match parts.as_slice() {
        ["proxy_url"] => true,
        // The list, or a whole pattern: its type comes or goes.
        ["auth_patterns"] | ["auth_patterns", _] => true,
        ["auth_patterns", _, rest @ ..] => pattern_part(rest, change),
        _ => false,
    }
}

/// Whether a change (not only its single fields) needs its usage looked up before a reviewer
/// approves it: every delete, and every update with an auth-relevant field change.
pub fn needs_usage(change: &Change) -> bool {
    match change.action {
        Action::Delete => true,
        Action::Update => change.diff.iter().any(auth_relevant),
        Action::Create => false,
    }
}

/// The part of a field change below `/auth_patterns/N`.
fn pattern_part(rest: &[&str], change: &FieldChange) -> bool {
    match rest {
        ["type"] | ["auth_header_key_override"] => true,
        ["auth_field_mutations", ..] => true,
        ["oauth_config"] => true,
        ["oauth_config", "authorize_uri" | "token_uri" | "pkce_enabled"] => true,
        ["oauth_config", "available_scopes"] | ["oauth_config", "available_scopes", _] => true,
        ["oauth_config", "available_scopes", _, "scope" | "required"] => true,
        ["fields" | "account_fields", _, "required"] => true,
        // A field (or the whole list) added or replaced: relevant when it brings a required one.
        ["fields" | "account_fields"] | ["fields" | "account_fields", _] => {
            change.op != Op::Remove && change.new.as_ref().is_some_and(has_required)
        }
        _ => false,
    }
}

/// Whether a field object, or any field of a list, has `required: true`.
fn has_required(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_required),
        Value::Object(o) => o.get("required") == Some(&Value::Bool(true)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fc(op: Op, path: &str, new: Option<Value>) -> FieldChange {
        FieldChange {
            op,
            path: path.into(),
            old: None,
            new,
        }
    }

    #[test]
    fn the_listed_changes_are_auth_relevant() {
        for path in [
            "/proxy_url",
            "/auth_patterns",
            "/auth_patterns/1",
            "/auth_patterns/0/type",
            "/auth_patterns/0/auth_header_key_override",
            "/auth_patterns/0/auth_field_mutations/headers/0",
            "/auth_patterns/0/oauth_config",
            "/auth_patterns/0/oauth_config/authorize_uri",
            "/auth_patterns/0/oauth_config/token_uri",
            "/auth_patterns/0/oauth_config/pkce_enabled",
            "/auth_patterns/0/oauth_config/available_scopes",
            "/auth_patterns/0/oauth_config/available_scopes/3",
            "/auth_patterns/0/oauth_config/available_scopes/0/scope",
            "/auth_patterns/0/oauth_config/available_scopes/0/required",
            "/auth_patterns/0/fields/2/required",
            "/auth_patterns/0/account_fields/0/required",
        ] {
            assert!(
                auth_relevant(&fc(Op::Replace, path, Some(json!(1)))),
                "{path}"
            );
        }
    }

    #[test]
    fn descriptions_names_and_metadata_are_not() {
        for path in [
            "/description",
            "/display_name",
            "/icon_src",
            "/metadata/team",
            "/proxy_enabled",
            "/auth_patterns/0/display_name",
            "/auth_patterns/0/description",
            "/auth_patterns/0/oauth_config/available_scopes/0/description",
            "/auth_patterns/0/fields/0/label",
            "/auth_patterns/0/fields/0/hint",
        ] {
            assert!(
                !auth_relevant(&fc(Op::Replace, path, Some(json!("x")))),
                "{path}"
            );
        }
    }

    #[test]
    fn a_field_added_counts_only_when_required() {
        let p = "/auth_patterns/0/fields/1";
        assert!(auth_relevant(&fc(
            Op::Add,
            p,
            Some(json!({"field_name": "a", "required": true}))
        )));
        assert!(!auth_relevant(&fc(
            Op::Add,
            p,
            Some(json!({"field_name": "a", "required": false}))
        )));
        assert!(!auth_relevant(&fc(Op::Remove, p, None)));
    }
}
