//! `skconn new NAME --type T`: a valid connector for each auth pattern, with the documented
//! defaults (PKCE on, `is_mcp: true` on MCP patterns, the usual field names) and a comment on
//! every value the user must fill in. The pattern builders here are shared with the OpenAPI and
//! MCP derivations.

use super::{with_noun, Draft, Kind};
use serde_json::{json, Map, Value};

/// What a template needs.
#[derive(Debug, Clone)]
pub struct Input {
    pub display_name: String,
    pub kind: Kind,
    pub mcp: bool,
    pub proxy_url: Option<String>,
    /// The header an API key is sent in (API_KEY only).
    pub header: Option<String>,
}

/// A field object.
pub fn field(name: &str, label: &str, input_type: &str, hint: Option<&str>) -> Value {
    let mut f = Map::new();
    f.insert("field_name".into(), json!(name));
    f.insert("label".into(), json!(label));
    f.insert("input_type".into(), json!(input_type));
    if let Some(h) = hint.filter(|h| !h.is_empty()) {
        f.insert("hint".into(), json!(h));
    }
    f.insert("required".into(), json!(true));
    Value::Object(f)
}

/// A path-parameter field filling `{{name}}` in `proxy_url`.
pub fn path_param(name: &str, label: &str, hint: Option<&str>) -> Value {
    let mut f = field(name, label, "text", hint);
    f["is_path_param"] = json!(true);
    f
}

/// A path-parameter field for each `{{placeholder}}` of a URL the user gave.
pub fn placeholder_fields(url: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut rest = url;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !out.iter().any(|f| f["field_name"] == json!(name))
        {
            out.push(path_param(name, &super::title_case(name), None));
        }
        rest = &after[end + 2..];
    }
    out
}

/// An auth pattern of `kind` with the usual field names. `path_params` go into `fields`, or
/// `account_fields` for OAuth. An API key goes in `header` (default `Authorization`) after
/// `prefix`, and a comment says so as the file has it. Values the user must fill in are
/// commented in `draft` (pattern index 0).
pub fn pattern(
    draft: &mut Draft,
    kind: Kind,
    mcp: bool,
    service: &str,
    header: Option<&str>,
    prefix: Option<&str>,
    path_params: Vec<Value>,
) -> Map<String, Value> {
    let at = |k: &str| format!("auth_patterns[0].{k}");
    let mut p = Map::new();
    p.insert("type".into(), json!(kind.api_type()));
    let (display, description) = match kind {
        Kind::Oauth if mcp => ("OAuth 2.1".to_string(), format!("Sign in to {service}.")),
        Kind::Oauth => ("OAuth 2.0".into(), format!("Sign in with {service}.")),
        Kind::Basic => (
            "Username and password".into(),
            format!("Your {service} username and password."),
        ),
        Kind::Bearer => (
            "API token".into(),
            format!("Your {}.", with_noun(service, "API token")),
        ),
        Kind::ApiKey => (
            "API key".into(),
            format!("Your {}.", with_noun(service, "API key")),
        ),
        Kind::NoAuth => (
            "No authentication".into(),
            "A public server; nothing to enter.".into(),
        ),
    };
    p.insert("display_name".into(), json!(display));
    p.insert("description".into(), json!(description));
    draft.comment(
        at("display_name"),
        "What users see when they connect: adjust the label and the description.",
    );
    if mcp {
        p.insert("is_mcp".into(), json!(true));
    }
    let mut fields: Vec<Value> = Vec::new();
    match kind {
        Kind::Oauth | Kind::NoAuth => {}
        Kind::Basic => {
            fields.push(field("username", "Username", "text", None));
            fields.push(field("password", "Password", "password", None));
        }
        Kind::Bearer => fields.push(field("token", "API token", "password", None)),
        Kind::ApiKey => fields.push(field("api_key", "API key", "password", None)),
    }
    if kind != Kind::Oauth {
        fields.extend(path_params.iter().cloned());
    }
    if !fields.is_empty() && kind != Kind::NoAuth {
        draft.comment(
            at("fields"),
            "What users enter when they connect: check each label and add a hint (e.g. where to find the value).",
        );
    }
    p.insert("fields".into(), Value::Array(fields));
    if kind == Kind::Oauth && !path_params.is_empty() {
        p.insert("account_fields".into(), Value::Array(path_params));
    }
    if kind == Kind::ApiKey {
        if let Some(h) = header.filter(|h| !h.eq_ignore_ascii_case("authorization")) {
            p.insert("auth_header_key_override".into(), json!(h));
        }
        if let Some(pre) = prefix {
            p.insert(
                "auth_field_mutations".into(),
                json!({"api_key": {"prefix": pre}}),
            );
        }
        // Says how this file sends the key, and how to change what it leaves at the default.
        let mut c = format!(
            "The key is sent as `{}: {}<key>`.",
            header.unwrap_or("Authorization"),
            prefix.unwrap_or("")
        );
        if header.is_none() {
            c.push_str("\nFor another header add `auth_header_key_override: X-API-Key`.");
        }
        if prefix.is_none() {
            c.push_str(
                "\nFor a prefix add `auth_field_mutations: {api_key: {prefix: \"Token \"}}`.",
            );
        }
        draft.comment(at("fields"), c);
    }
    if kind == Kind::Oauth {
        if mcp {
            p.insert("oauth_config".into(), json!({"pkce_enabled": true}));
            draft.comment(
                at("oauth_config"),
                "An MCP server registers its OAuth client dynamically: PKCE, nothing else.",
            );
        } else {
            p.insert(
                "oauth_config".into(),
                json!({
                    "authorize_uri": "https://auth.example.com/oauth/authorize",
                    "token_uri": "https://auth.example.com/oauth/token",
                    "pkce_enabled": true,
                    "available_scopes": [
                        {"scope": "read", "display_name": "Read", "description": "Read access.", "required": true}
                    ]
                }),
            );
            draft.comment(
                at("oauth_config.authorize_uri"),
                "FILL IN: the provider's authorization endpoint.",
            );
            draft.comment(
                at("oauth_config.token_uri"),
                "FILL IN: the provider's token endpoint.",
            );
            draft.comment(
                at("oauth_config.pkce_enabled"),
                "PKCE is on by default; set it to false only if the provider rejects it.",
            );
            draft.comment(
                at("oauth_config.available_scopes"),
                "FILL IN: the provider's scopes; `required: true` for those always requested.",
            );
        }
    }
    p
}

/// The whole template connector.
pub fn build(input: &Input) -> Draft {
    let mut d = Draft::default();
    d.connector
        .insert("display_name".into(), json!(input.display_name));
    d.comment(
        "display_name",
        "Letters, digits and spaces. Scalekit derives the connector's identifier from it.",
    );
    d.connector.insert(
        "description".into(),
        json!(format!(
            "{}.",
            with_noun(
                &input.display_name,
                if input.mcp { "MCP server" } else { "API" }
            )
        )),
    );
    d.comment("description", "FILL IN: one sentence users read.");
    let mut params = Vec::new();
    let url = match &input.proxy_url {
        Some(u) => {
            params = placeholder_fields(u);
            u.clone()
        }
        None => {
            d.comment(
                "proxy_url",
                if input.mcp {
                    "FILL IN: the MCP server's URL (https)."
                } else {
                    "FILL IN: the API's base URL (https). Each `{{name}}` placeholder needs a field `name` with\n`is_path_param: true`; `{{domain}}` and `{{version}}` need only a field of that name."
                },
            );
            if input.mcp {
                "https://mcp.example.com/mcp".into()
            } else {
                "https://api.example.com".into()
            }
        }
    };
    d.connector.insert("proxy_url".into(), json!(url));
    let p = pattern(
        &mut d,
        input.kind,
        input.mcp,
        &input.display_name,
        input.header.as_deref(),
        None,
        params,
    );
    d.connector
        .insert("auth_patterns".into(), Value::Array(vec![Value::Object(p)]));
    d.decide(format!(
        "auth pattern {} from --type {}{}",
        input.kind.api_type(),
        input.kind.flag(),
        if input.mcp { " --mcp" } else { "" }
    ));
    d
}
