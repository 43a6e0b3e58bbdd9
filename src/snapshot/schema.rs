//! The JSON Schema of snapshot documents, for `skconn schema snapshot` and
//! `schema/snapshot.schema.json` (kept identical by a test).

use serde_json::{json, Value};

/// The identifier of the snapshot schema.
pub const ID: &str = "urn:skconn:snapshot:1";

/// The JSON Schema (2020-12) of a snapshot document.
pub fn schema() -> Value {
    let counts = json!({
        "type": "object",
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "by_status": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        },
        "required": ["total", "by_status"],
    });
    let mut connections = counts.clone();
    connections["properties"]["disabled"] = json!({"type": "integer", "minimum": 0});
    connections["required"] = json!(["total", "by_status", "disabled"]);
    json!({
        "$schema": crate::vocabulary::schema::DRAFT,
        "$id": ID,
        "title": "skconn snapshot",
        "description": "One environment's live custom connectors as `skconn snapshot` writes them, for `skconn plan --against`. It holds no secret and no token: a string that holds a masked value is a keyed digest (hmac-sha256:…), with the text outputs show for it under `masked`.",
        "type": "object",
        "properties": {
            "kind": {"const": super::KIND},
            "format_version": {"const": super::FORMAT_VERSION},
            "environment": {"type": "string", "minLength": 1, "description": "The environment's name in skconn.yaml."},
            "host": {"type": "string", "minLength": 1, "description": "host[:port] of the environment's URL; `local` for a local environment."},
            "taken_at": {
                "type": "string",
                "format": "date-time",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                "description": "When the listing began (RFC 3339, UTC).",
            },
            "skconn_version": {"type": "string"},
            "owner": {"type": "string", "description": "The owner skconn.yaml named where the snapshot was taken."},
            "usage": {"enum": ["recorded", "off"], "description": "Whether usage counts were looked up (`off`: the environment has `usage: off`)."},
            "connectors": {"type": "array", "items": {"$ref": "#/$defs/connector"}},
            "templates": {"type": "array", "items": {"$ref": "#/$defs/template"}},
        },
        "required": ["kind", "format_version", "environment", "host", "taken_at", "skconn_version", "usage", "connectors", "templates"],
        "additionalProperties": false,
        "$defs": {
            "connector": {
                "type": "object",
                "properties": {
                    "identifier": {"type": "string", "minLength": 1},
                    "body": {
                        "type": "object",
                        "properties": {"display_name": {"type": "string", "minLength": 1}},
                        "required": ["display_name"],
                        "description": "The connector as listed, server-owned fields dropped, skconn's marker kept.",
                    },
                    "drift": {"type": "boolean", "description": "Edited outside skconn since skconn last wrote it."},
                    "usage": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/usage"}]},
                    "masked": {
                        "type": "object",
                        "propertyNames": {"pattern": "^hmac-sha256:[0-9a-f]{64}$"},
                        "additionalProperties": {"type": "string"},
                        "description": "For each keyed digest in the body, the text as outputs show it (the masked part as ***).",
                    },
                },
                "required": ["identifier", "body", "drift", "usage", "masked"],
                "additionalProperties": false,
            },
            "usage": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "state": {"const": "known"},
                            "connections": connections,
                            "connected_accounts": counts,
                        },
                        "required": ["state", "connections", "connected_accounts"],
                        "additionalProperties": false,
                    },
                    {
                        "type": "object",
                        "properties": {"state": {"const": "unknown"}, "reason": {"type": "string"}},
                        "required": ["state", "reason"],
                        "additionalProperties": false,
                    },
                ],
            },
            "template": {
                "type": "object",
                "description": "A place where the live value was what the files' text expanded to when the snapshot was taken.",
                "properties": {
                    "identifier": {"type": "string", "minLength": 1},
                    "pointer": {"type": "string", "pattern": "^(/.*)?$"},
                    "written": {"type": "string", "description": "The text as the files write it, ${VAR} unexpanded."},
                    "value": {"description": "The live value there, as the body holds it."},
                },
                "required": ["identifier", "pointer", "written", "value"],
                "additionalProperties": false,
            },
        },
    })
}

/// The schema as pretty JSON text, with a trailing newline.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value serializes");
    text.push('\n');
    text
}
