//! The tools `skconn mcp` offers: their names, what each does, and the JSON Schema of each
//! one's input. Definitions only: what a tool does is the backend's (`run::mcp`).

use serde_json::{json, Value};

/// One tool of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Validate,
    Plan,
    NewConnector,
    ExplainConnector,
    ListConnectors,
    Schema,
    /// Offered only when the server is started with `--allow-apply`.
    Apply,
}

impl Tool {
    /// Every tool, in the order they are listed; `apply` last.
    pub const ALL: [Tool; 7] = [
        Tool::Validate,
        Tool::Plan,
        Tool::NewConnector,
        Tool::ExplainConnector,
        Tool::ListConnectors,
        Tool::Schema,
        Tool::Apply,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Validate => "validate",
            Tool::Plan => "plan",
            Tool::NewConnector => "new_connector",
            Tool::ExplainConnector => "explain_connector",
            Tool::ListConnectors => "list_connectors",
            Tool::Schema => "schema",
            Tool::Apply => "apply",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the tool only reads: every tool but `apply` (and `new_connector` with
    /// `write: true`, which writes one new file in the repository, never an environment).
    pub fn read_only(self) -> bool {
        !matches!(self, Tool::Apply | Tool::NewConnector)
    }

    pub fn title(self) -> &'static str {
        match self {
            Tool::Validate => "Validate the connector files",
            Tool::Plan => "Plan every environment",
            Tool::NewConnector => "Draft a new connector file",
            Tool::ExplainConnector => "Explain a connector file",
            Tool::ListConnectors => "List connector files and live connectors",
            Tool::Schema => "JSON Schemas",
            Tool::Apply => "Apply one reviewed plan",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Tool::Validate => "Checks the connector files and skconn.yaml, as `skconn validate` does; sends nothing. Returns every problem at once (file, line, column, field, message, help) and the warnings.",
            Tool::Plan => "What `skconn apply` would change, per environment: the changes, warnings, usage of connectors that would be deleted or re-authenticated, and each environment's plan digest (the JSON plan of `skconn plan --format json`), plus the Markdown body of the pull-request comment. Writes nothing. `against` plans environments from snapshot files without their credentials. Show the person the changes and the plan digest: `apply` takes that digest.",
            Tool::NewConnector => "Drafts a connector file as `skconn new` does: from a template (display_name and type), an OpenAPI document (from_openapi: a path or https URL) or a remote MCP server (from_mcp: its URL, probed without credentials). Returns the YAML and every decision made with its reason; review them with the person. Writes connectors/<name>.yaml (or `out`) only with write: true, and never overwrites a file. Sends nothing to any Scalekit environment.",
            Tool::ExplainConnector => "What a connector file means for the people who connect through it: its auth types, the fields they fill in, the scopes they are asked for, where requests go, and the problems `validate` finds in it.",
            Tool::ListConnectors => "The connector files, and with `env` the live custom connectors of that environment, read-only: names, auth types, owner and usage counts (connections and connected accounts). Never credentials or end-user identifiers.",
            Tool::Schema => "The JSON Schema of connector files (`connector`), of skconn.yaml (`config`) or of snapshots (`snapshot`).",
            Tool::Apply => "Applies the plan of one environment, only if the fresh plan's digest is the `plan_digest` given (the one `plan` returned and the person approved): otherwise nothing is sent and the result says what differs (exit 6, as `skconn apply --approved`). Returns what was applied, per change.",
        }
    }

    /// The JSON Schema of the tool's arguments.
    pub fn input_schema(self) -> Value {
        let safety = json!({
            "force": {"type": "boolean", "description": "Go past the change threshold (as --force)."},
            "allow_empty": {"type": "boolean", "description": "Allow deletes although the connectors folder is empty (as --allow-empty)."},
        });
        let mut schema = match self {
            Tool::Validate => json!({"type": "object", "properties": {}}),
            Tool::Plan => json!({
                "type": "object",
                "properties": {
                    "env": {"type": "array", "items": {"type": "string"}, "description": "Only these environments (default: all)."},
                    "against": {"type": "array", "items": {"type": "string"}, "description": "Snapshot files (`skconn snapshot`) to plan their environments from, with no credentials."},
                    "max_snapshot_age": {"type": "string", "description": "Refuse an older snapshot: 90m, 36h, 7d (default 7d)."},
                    "no_host_check": {"type": "boolean", "description": "With against: do not check the snapshots' hosts against the environments' URLs."},
                },
            }),
            Tool::NewConnector => json!({
                "type": "object",
                "properties": {
                    "display_name": {"type": "string", "description": "The display name: letters, digits and spaces (replaces an OpenAPI title)."},
                    "type": {"type": "string", "enum": ["oauth", "basic", "bearer", "api-key", "no-auth"], "description": "The auth pattern (with from_*: when the source does not say)."},
                    "mcp": {"type": "boolean", "description": "An MCP server connector (is_mcp: true)."},
                    "proxy_url": {"type": "string", "description": "The API's base URL (https)."},
                    "header": {"type": "string", "description": "The API key's header (type api-key)."},
                    "from_openapi": {"type": "string", "description": "An OpenAPI 3.x or Swagger 2.0 file (relative to the repository) or https URL."},
                    "from_mcp": {"type": "string", "description": "A remote MCP server's URL, probed without credentials."},
                    "scheme": {"type": "string", "description": "With from_openapi: the security scheme to use, by name."},
                    "base_url": {"type": "string", "description": "With from_openapi: the https URL relative servers resolve to."},
                    "out": {"type": "string", "description": "With write: the file to write instead of connectors/<name>.yaml."},
                    "write": {"type": "boolean", "description": "Write the file (never overwriting one); default false: only return it."},
                    "timeout": {"type": "integer", "minimum": 1, "description": "Seconds to wait for each request fetching a document or probing (default 30)."},
                },
            }),
            Tool::ExplainConnector => json!({
                "type": "object",
                "properties": {
                    "file": {"type": "string", "description": "The connector file, relative to the repository root (e.g. connectors/acme.yaml)."},
                },
                "required": ["file"],
            }),
            Tool::ListConnectors => json!({
                "type": "object",
                "properties": {
                    "env": {"type": "string", "description": "Also list this environment's live connectors (read-only)."},
                },
            }),
            Tool::Schema => json!({
                "type": "object",
                "properties": {
                    "which": {"type": "string", "enum": ["connector", "config", "snapshot"], "description": "Which schema (default: connector)."},
                },
            }),
            Tool::Apply => json!({
                "type": "object",
                "properties": {
                    "env": {"type": "string", "description": "The one environment to apply."},
                    "plan_digest": {"type": "string", "description": "The plan digest of that environment, as `plan` returned it and the person approved."},
                },
                "required": ["env", "plan_digest"],
            }),
        };
        if matches!(self, Tool::Plan | Tool::Apply) {
            if let (Some(props), Some(extra)) =
                (schema["properties"].as_object_mut(), safety.as_object())
            {
                props.extend(extra.clone());
            }
        }
        schema["additionalProperties"] = json!(false);
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_schema_is_an_object_schema() {
        for t in Tool::ALL {
            assert_eq!(Tool::from_name(t.name()), Some(t));
            assert_eq!(t.input_schema()["type"], "object");
        }
        assert_eq!(Tool::from_name("delete"), None);
    }
}
