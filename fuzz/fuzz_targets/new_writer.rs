//! The writer of `skconn new`: arbitrary text from a document or a server — an OpenAPI
//! document's title, version, description, server variable and key example, an MCP server's
//! name, metadata and probe steps — always gives a file that parses as YAML with exactly the keys
//! and values the writer meant: nothing injects a key, ends a comment early or changes a value.
//!
//! The input is split on `\0` into up to four texts, so that each place gets its own.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use skconn::authoring::{mcp, openapi, writer, Draft};

/// What the file must read back as: the connector, with `${` written as `$${`.
fn expected(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("${", "$${")),
        Value::Array(a) => Value::Array(a.iter().map(expected).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), expected(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn check(draft: &Draft) {
    let text = writer::render(draft, "# yaml-language-server: $schema=x");
    let back: Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("the written file does not parse: {e}\n{text}"));
    assert_eq!(
        back,
        expected(&Value::Object(draft.connector.clone())),
        "{text}"
    );
    for line in text.lines() {
        let t = line.trim_start();
        // Every line is a comment, a key or a list item the writer wrote: none holds a raw
        // line break or control character.
        assert!(!line.chars().any(|c| c.is_control()), "{text:?}");
        assert!(t.starts_with('#') || t.contains(':') || t.starts_with("- "), "{text}");
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut parts = input.splitn(4, '\0');
    let a = parts.next().unwrap_or("").to_string();
    let b = parts.next().unwrap_or("").to_string();
    let c = parts.next().unwrap_or("").to_string();
    let d = parts.next().unwrap_or("").to_string();

    // An OpenAPI document whose texts are the input.
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": format!("Fuzz {a}"), "version": b, "description": c},
        "servers": [{"url": "https://{region}.fuzz.example.net",
                     "variables": {"region": {"default": d, "description": a}}}],
        "components": {"securitySchemes": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Fuzz-Key",
                    "x-default": format!("{b} your-key"), "description": c},
            "oauth": {"type": "oauth2", "flows": {"authorizationCode": {
                "authorizationUrl": format!("/authorize?{d}"), "tokenUrl": "https://fuzz.example.net/token",
                "scopes": {a.clone(): b.clone(), "read": d.clone()}}}}}},
        "paths": {"/x": {"get": {"security": [{"key": [], "oauth": [c.clone()]}]}}}
    });
    let bytes = serde_json::to_vec(&doc).unwrap();
    for scheme in ["key", "oauth"] {
        let opts = openapi::Options {
            scheme: Some(scheme.into()),
            name: Some("Fuzz Connector".into()),
            ..Default::default()
        };
        if let Ok(draft) = openapi::derive("fuzz.json", &bytes, &opts) {
            check(&draft);
        }
    }

    // What an MCP server answered.
    let probe = mcp::Probe {
        url: "https://mcp.fuzz.example.net/mcp".into(),
        shown: skconn::escape::url(&a),
        had_query: !b.is_empty(),
        status: 401,
        finding: mcp::Finding::Oauth {
            resource_metadata: b.clone(),
            via: c.clone(),
            authorization_servers: vec![d.clone()],
            server_metadata: Some(json!({
                "registration_endpoint": a, "scopes_supported": [b, c],
                "code_challenge_methods_supported": [d]})),
            server_metadata_error: None,
            open_initialize: false,
        },
        server_name: Some(format!("Fuzz {a}")),
        steps: vec![b.clone(), c.clone()],
    };
    if let Ok(draft) = mcp::build(&probe, &mcp::Options::default()) {
        check(&draft);
    }
});
