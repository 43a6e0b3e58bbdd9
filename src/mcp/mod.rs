//! `skconn mcp`: a Model Context Protocol server on standard input and output, for the
//! repository it is started in. This module is the protocol side: the tools and their input
//! schemas ([`tools`]), the resources (the connector files and the JSON Schemas), and the one
//! guard every result passes on its way out: each string in it — text, structured content,
//! object keys, resource contents, error messages — goes through the inert-text rule and the
//! redaction ([`crate::output::as_written`]), as everything skconn writes does. What each tool
//! does is the [`Backend`]'s (the commands' own code, wired in `run::mcp`).
//!
//! What it must never do: offer or run `apply` unless started with `--allow-apply`; run two
//! tools at once (a tool's printed text is collected per call); write anything to standard
//! output but the protocol; return a string that has not passed the guard.

pub mod tools;

use crate::base::error::Error;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, ErrorData, Implementation, JsonObject,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerInfo,
    Tool as McpTool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
pub use tools::Tool;

/// A tool's answer: its structured result and its short text form.
#[derive(Debug, Clone)]
pub struct Answer {
    pub structured: Value,
    pub text: String,
}

/// A tool's failure: skconn's message, its exit code and, for invalid input, the diagnostics.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub exit_code: i32,
    /// Anything more the failure knows (diagnostics, the apply's report), as JSON.
    pub detail: Value,
}

impl Failure {
    /// A failure from skconn's error, its message as `report_error` prints it.
    pub fn from_error(e: &Error, message: String) -> Failure {
        Failure {
            message,
            exit_code: e.exit_code(),
            detail: Value::Null,
        }
    }
}

pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<Answer, Failure>> + Send + 'a>>;

/// What the tools do and where the repository's files are.
pub trait Backend: Send + Sync + 'static {
    /// Runs a tool with its (schema-checked, object) arguments.
    fn call(&self, tool: Tool, args: JsonObject) -> ToolFuture<'_>;
    /// The connector files, relative to the repository root, in path order.
    fn connector_files(&self) -> Vec<String>;
    /// The text of one of [`Backend::connector_files`].
    fn read_connector_file(&self, rel: &str) -> Option<String>;
}

/// The URI of a connector file's resource.
fn file_uri(rel: &str) -> String {
    format!("skconn://files/{rel}")
}

/// The schemas offered as resources: (which, URI).
const SCHEMAS: [(&str, &str); 2] = [
    ("connector", "skconn://schema/connector.schema.json"),
    ("config", "skconn://schema/config.schema.json"),
];

/// The JSON Schema text of `which` (`connector`, `config` or `snapshot`).
pub fn schema_text(which: &str) -> Option<String> {
    match which {
        "connector" => Some(crate::vocabulary::schema::schema_text()),
        "config" => Some(crate::vocabulary::schema::config_schema_text()),
        "snapshot" => Some(crate::snapshot::schema::text()),
        _ => None,
    }
}

/// Every string of `v`, and every key, as skconn writes text: inert and redacted.
pub fn guard(v: &mut Value) {
    match v {
        Value::String(s) => {
            let written = crate::output::as_written(s);
            if written != *s {
                *s = written;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(guard),
        Value::Object(map) => {
            let unsafe_keys = map.keys().any(|k| crate::output::as_written(k) != *k);
            if unsafe_keys {
                let entries = std::mem::take(map);
                for (k, mut item) in entries {
                    guard(&mut item);
                    map.insert(crate::output::as_written(&k), item);
                }
            } else {
                map.values_mut().for_each(guard);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A protocol message with every string guarded, rebuilt as its rmcp type.
fn guarded<T: serde::Serialize + serde::de::DeserializeOwned>(message: T) -> Result<T, ErrorData> {
    let mut v = serde_json::to_value(&message)
        .map_err(|e| ErrorData::internal_error(format!("cannot encode a result: {e}"), None))?;
    guard(&mut v);
    serde_json::from_value(v)
        .map_err(|e| ErrorData::internal_error(format!("cannot encode a result: {e}"), None))
}

/// The server: the backend, whether `apply` is offered, and the lock that runs one tool at a
/// time.
pub struct Server {
    backend: Arc<dyn Backend>,
    allow_apply: bool,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Server {
    pub fn new(backend: Arc<dyn Backend>, allow_apply: bool) -> Server {
        Server {
            backend,
            allow_apply,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// The tools offered: every one, `apply` only with `--allow-apply`.
    pub fn offered(&self) -> Vec<Tool> {
        Tool::ALL
            .into_iter()
            .filter(|t| *t != Tool::Apply || self.allow_apply)
            .collect()
    }

    fn definition(tool: Tool) -> McpTool {
        let schema = match tool.input_schema() {
            Value::Object(m) => m,
            _ => JsonObject::new(),
        };
        let annotations = ToolAnnotations::with_title(tool.title())
            .read_only(tool.read_only())
            .destructive(tool == Tool::Apply)
            .open_world(false);
        McpTool::new(tool.name(), tool.description(), Arc::new(schema))
            .with_title(tool.title())
            .with_annotations(annotations)
    }

    /// Runs a call: the tool must be offered and its arguments an object of the declared
    /// properties; a failure of the tool is a tool error with skconn's message.
    async fn run(&self, params: CallToolRequestParams) -> Result<CallToolResult, ErrorData> {
        let tool = Tool::from_name(&params.name)
            .filter(|t| self.offered().contains(t))
            .ok_or_else(|| {
                let why = if params.name == Tool::Apply.name() {
                    "the tool `apply` is not offered: this server was started without --allow-apply, so no tool writes to any Scalekit environment (run `skconn apply` yourself, or restart the server with `skconn mcp --allow-apply`)".to_string()
                } else {
                    format!(
                        "no tool named `{}`; the tools are: {}",
                        crate::output::escape::inert(&params.name),
                        self.offered().iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                    )
                };
                ErrorData::invalid_params(why, None)
            })?;
        let args = params.arguments.unwrap_or_default();
        check_arguments(tool, &args).map_err(|m| ErrorData::invalid_params(m, None))?;
        let _one = self.one_at_a_time.lock().await;
        crate::output::take_captured();
        let answer = self.backend.call(tool, args).await;
        // What the commands printed on their way is not the result; it is left out.
        crate::output::take_captured();
        Ok(match answer {
            Ok(a) => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(a.text)]);
                r.structured_content = Some(a.structured);
                r
            }
            Err(f) => {
                let mut r = CallToolResult::error(vec![ContentBlock::text(format!(
                    "error: {}",
                    f.message
                ))]);
                r.structured_content = Some(json!({
                    "error": {"message": f.message, "exit_code": f.exit_code, "detail": f.detail}
                }));
                r
            }
        })
    }
}

/// Checks the arguments against the tool's schema: known properties of the declared types,
/// required ones present. Every problem at once.
fn check_arguments(tool: Tool, args: &JsonObject) -> Result<(), String> {
    let schema = tool.input_schema();
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (k, v) in args {
        let Some(p) = props.get(k) else {
            problems.push(format!(
                "unknown argument `{}` (the arguments of `{}` are: {})",
                crate::output::escape::inert(k),
                tool.name(),
                props.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        let ok = match p["type"].as_str() {
            Some("string") => v.as_str().is_some_and(|s| {
                p["enum"]
                    .as_array()
                    .is_none_or(|e| e.iter().any(|x| x.as_str() == Some(s)))
            }),
            Some("boolean") => v.is_boolean(),
            Some("integer") => v.as_u64().is_some_and(|n| n >= 1),
            Some("array") => v
                .as_array()
                .is_some_and(|a| a.iter().all(|i| i.is_string())),
            _ => true,
        };
        if !ok {
            let expected = match p["enum"].as_array() {
                Some(e) => format!(
                    "one of {}",
                    e.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => match p["type"].as_str() {
                    Some("array") => "an array of strings".into(),
                    Some("integer") => "a whole number of at least 1".into(),
                    Some(t) => format!("a {t}"),
                    None => "a value".into(),
                },
            };
            problems.push(format!("argument `{k}` must be {expected}"));
        }
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str().filter(|r| !args.contains_key(*r)) {
            problems.push(format!("argument `{r}` is required"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", tool.name(), problems.join("; ")))
    }
}

impl rmcp::ServerHandler for Server {
    fn get_info(&self) -> ServerInfo {
        let apply = if self.allow_apply {
            "`apply` applies one environment's plan only when its digest is the plan_digest the person approved."
        } else {
            "No tool writes to any Scalekit environment (the server was started without --allow-apply)."
        };
        ServerInfo::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("skconn", env!("CARGO_PKG_VERSION")))
        .with_instructions(format!(
            "skconn manages Scalekit custom connectors kept as YAML files in connectors/. Draft a file with new_connector (review its decisions with the person), check it with validate and explain_connector, then plan and show the person the changes and the plan digest. {apply} Production is applied by the repository's pipeline after review, not by an assistant."
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.offered().into_iter().map(Server::definition).collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        Tool::from_name(name)
            .filter(|t| self.offered().contains(t))
            .map(Server::definition)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        match self.run(request).await {
            Ok(r) => guarded(r),
            Err(e) => Err(guarded(e)?),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut list: Vec<Resource> = self
            .backend
            .connector_files()
            .iter()
            .map(|rel| {
                Resource::new(file_uri(rel), rel.clone())
                    .with_description("A connector file of this repository")
                    .with_mime_type("application/yaml")
            })
            .collect();
        for (which, uri) in SCHEMAS {
            list.push(
                Resource::new(uri, format!("{which}.schema.json"))
                    .with_description(format!(
                        "The JSON Schema of {}",
                        match which {
                            "connector" => "connector files",
                            _ => "skconn.yaml",
                        }
                    ))
                    .with_mime_type("application/schema+json"),
            );
        }
        guarded(ListResourcesResult::with_all_items(list))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, ErrorData> {
        let uri = request.uri;
        let schema = SCHEMAS
            .iter()
            .find(|(_, u)| *u == uri)
            .and_then(|(which, _)| schema_text(which))
            .map(|t| (t, "application/schema+json"));
        // Only the files listed are served: a URI names one of them exactly, never a path.
        let file = || {
            let rel = uri.strip_prefix("skconn://files/")?;
            if !self.backend.connector_files().iter().any(|f| f == rel) {
                return None;
            }
            self.backend
                .read_connector_file(rel)
                .map(|t| (t, "application/yaml"))
        };
        match schema.or_else(file) {
            Some((text, mime)) => guarded(ReadResourceResult::new(vec![ResourceContents::text(
                text, uri,
            )
            .with_mime_type(mime)])),
            None => Err(guarded(ErrorData::resource_not_found(
                format!(
                    "no resource {}: the resources are the connector files (skconn://files/…) and the schemas",
                    crate::output::escape::inert(&uri)
                ),
                None,
            ))?),
        }
    }
}

/// Serves `server` on standard input and output until the client closes them.
pub async fn serve(server: Server) -> Result<(), Error> {
    crate::output::stdout_carries_protocol();
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Local(format!("the MCP connection did not start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Local(format!("the MCP server stopped: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_makes_strings_and_keys_inert() {
        let mut v = json!({"a\u{1b}[2J": ["x\u{1b}]8;;evil\u{7}y", 1, null]});
        guard(&mut v);
        let key = v.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(key, "a\\u001b[2J");
        assert_eq!(v[&key][0], "x\\u001b]8;;evil\\u0007y");
        assert_eq!(v[&key][1], 1);
    }

    #[test]
    fn guard_writes_no_styling_even_for_this_processs_own_tokens() {
        let mut v = json!(crate::output::Style { color: true }.red("x"));
        guard(&mut v);
        let s = v.as_str().unwrap();
        assert!(!s.contains('\u{1b}') && !s.contains('\u{FDD0}'), "{s:?}");
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let args: JsonObject = serde_json::from_value(json!({"env": 3, "bogus": true})).unwrap();
        let e = check_arguments(Tool::Apply, &args).unwrap_err();
        assert!(e.contains("unknown argument `bogus`"), "{e}");
        assert!(e.contains("`env` must be a string"), "{e}");
        assert!(e.contains("`plan_digest` is required"), "{e}");
    }
}
