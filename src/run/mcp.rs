//! `skconn mcp`: the tools of the MCP server (`crate::mcp`), each the code of the command it
//! stands for — `validate`'s loading, `plan`'s preparation and renderers, `new`'s authoring,
//! `apply --approved`'s check — called, not copied. Tool results are built here; the server
//! makes every string in them inert and redacted.
//!
//! What it must never do: write to an environment from any tool but `apply`, which the server
//! offers only with `--allow-apply`; apply anything but the plan whose digest was given; ask
//! a question on the terminal (standard input carries the protocol); return credentials,
//! tokens or end-user identifiers (usage is counts only).

use super::prepare::{connect_all, prepare_with, Against};
use super::{client_options, new, relative, Context};
use crate::base::error::{Diagnostic, Error, Result};
use crate::cli::{ApplyArgs, ApprovalArgs, AuthType, HttpArgs, McpArgs, NewArgs, SafetyArgs};
use crate::mcp::{self, Answer, Backend as _, Failure, Tool, ToolFuture};
use crate::output::Style;
use crate::render;
use rmcp::model::JsonObject;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) async fn run(ctx: Context, config: Option<PathBuf>, args: McpArgs) -> Result<i32> {
    let backend = Backend {
        ctx: Context {
            style: Style::PLAIN,
            err_style: ctx.err_style,
            quiet: ctx.quiet,
            verbose: ctx.verbose,
        },
        config,
    };
    mcp::serve(mcp::Server::new(Arc::new(backend), args.allow_apply)).await?;
    Ok(crate::base::error::exit::OK)
}

struct Backend {
    ctx: Context,
    config: Option<PathBuf>,
}

/// The HTTP options' defaults, as the command line declares them.
fn default_http() -> HttpArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        http: HttpArgs,
    }
    Defaults::parse_from(["skconn"]).http
}

/// A tool's failure from skconn's error: its message as `report_error` prints it, and for
/// invalid input its diagnostics.
fn failure(e: Error) -> Failure {
    let mut f = Failure::from_error(&e, super::plan::error_text(&e));
    if let Error::Input(list) = &e {
        f.detail = json!({"diagnostics": list.iter().map(diagnostic).collect::<Vec<_>>()});
    }
    f
}

fn usage(message: impl Into<String>) -> Failure {
    failure(Error::Usage(message.into()))
}

fn diagnostic(d: &Diagnostic) -> Value {
    json!({
        "file": d.file.display().to_string(),
        "line": d.line,
        "column": d.column,
        "field": d.field,
        "message": d.message,
        "help": d.help,
    })
}

fn warning(w: &crate::model::FileWarning) -> Value {
    let mut v = diagnostic(&w.diagnostic);
    v["kind"] = json!(w.kind);
    v
}

fn string(args: &JsonObject, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_string)
}

fn flag(args: &JsonObject, key: &str) -> bool {
    args.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(args: &JsonObject, key: &str) -> Vec<String> {
    args.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn safety(args: &JsonObject) -> SafetyArgs {
    SafetyArgs {
        force: flag(args, "force"),
        allow_empty: flag(args, "allow_empty"),
    }
}

/// The auth types of a connector object: its auth patterns' `type`s.
fn auth_types(body: &Value) -> Vec<String> {
    body["auth_patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["type"].as_str().map(str::to_string))
        .collect()
}

impl mcp::Backend for Backend {
    fn call(&self, tool: Tool, args: JsonObject) -> ToolFuture<'_> {
        Box::pin(async move {
            match tool {
                Tool::Validate => self.validate(),
                Tool::Plan => self.plan(&args).await,
                Tool::NewConnector => self.new_connector(&args).await,
                Tool::ExplainConnector => self.explain(&args),
                Tool::ListConnectors => self.list(&args).await,
                Tool::Schema => schema(&args),
                Tool::Apply => self.apply(&args).await,
            }
        })
    }

    fn connector_files(&self) -> Vec<String> {
        let Ok(settings) = self.ctx.settings(self.config.as_deref()) else {
            return Vec::new();
        };
        new::connector_files(&settings.connectors_dir)
            .iter()
            .map(|p| relative(&settings.root, p))
            .collect()
    }

    fn read_connector_file(&self, rel: &str) -> Option<String> {
        let settings = self.ctx.settings(self.config.as_deref()).ok()?;
        let path = settings.root.join(rel);
        let too_large = std::fs::metadata(&path).ok()?.len() > crate::yaml::MAX_FILE_BYTES;
        if too_large {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }
}

fn schema(args: &JsonObject) -> std::result::Result<Answer, Failure> {
    let which = string(args, "which").unwrap_or_else(|| "connector".into());
    let text = mcp::schema_text(&which).ok_or_else(|| usage(format!("no schema `{which}`")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| failure(Error::Local(format!("the {which} schema is not JSON: {e}"))))?;
    Ok(Answer {
        structured: json!({"which": which, "schema": doc}),
        text,
    })
}

impl Backend {
    fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// Where `new_connector` may write with `out`: a new `.yaml`/`.yml` file under the
    /// connectors folder, named relative to the repository root. A tool writes nowhere else.
    fn out_path(&self, out: &str) -> std::result::Result<PathBuf, Failure> {
        use std::path::Component;
        let settings = self.ctx.settings(self.config()).map_err(failure)?;
        let rel = Path::new(out);
        let dir = relative(&settings.root, &settings.connectors_dir);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        let path = settings.root.join(rel);
        let yaml = rel.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if !plain || !yaml || !path.starts_with(&settings.connectors_dir) {
            return Err(usage(format!(
                "out: `{}` is not a new file under {dir}: name a .yaml file there, relative to the repository root (e.g. {dir}/acme.yaml)",
                crate::output::escape::inert(out)
            )));
        }
        Ok(path)
    }

    fn validate(&self) -> std::result::Result<Answer, Failure> {
        let settings = self.ctx.project(self.config()).map_err(failure)?;
        let dir = relative(&settings.root, &settings.connectors_dir);
        let report = super::load_report(&settings, &[]);
        match report.loaded {
            Ok(loaded) => Ok(Answer {
                structured: json!({
                    "valid": true,
                    "connectors_dir": dir,
                    "files": loaded.connectors.len(),
                    "diagnostics": [],
                    "warnings": loaded.warnings.iter().map(warning).collect::<Vec<_>>(),
                }),
                text: format!(
                    "✓ {} connector file(s) in {dir} are valid.\n{}",
                    loaded.connectors.len(),
                    render::text::file_warnings(&loaded.warnings, &Style::PLAIN)
                ),
            }),
            Err(list) => Ok(Answer {
                structured: json!({
                    "valid": false,
                    "connectors_dir": dir,
                    "diagnostics": list.iter().map(diagnostic).collect::<Vec<_>>(),
                    "warnings": report.warnings.iter().map(warning).collect::<Vec<_>>(),
                }),
                text: format!(
                    "{}{}",
                    render::text::file_warnings(&report.warnings, &Style::PLAIN),
                    render::text::diagnostics(&list, &Style::PLAIN)
                ),
            }),
        }
    }

    async fn plan(&self, args: &JsonObject) -> std::result::Result<Answer, Failure> {
        let files: Vec<PathBuf> = strings(args, "against")
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let max_age = string(args, "max_snapshot_age").unwrap_or_else(|| "7d".into());
        let max_age = crate::base::time::parse_duration(&max_age)
            .map_err(|m| usage(format!("max_snapshot_age: {m}")))?;
        let against = Against {
            files: &files,
            max_age,
            check_host: !flag(args, "no_host_check"),
        };
        let p = prepare_with(
            &self.ctx,
            self.config(),
            &strings(args, "env"),
            (!files.is_empty()).then_some(&against),
            super::overrides(safety(args)),
            &client_options(&default_http()),
        )
        .await
        .map_err(failure)?;
        let mut text = render::text::plan(&p.plan, &Style::PLAIN);
        text.push_str(&render::text::digests(&p.plan, &Style::PLAIN));
        if !p.plan.refused.is_empty() {
            text.push_str(&format!("\n{}\n", super::refuse(&p.plan.refused)));
        }
        Ok(Answer {
            structured: json!({
                "plan": render::json::plan(&p.plan),
                "markdown": render::markdown::plan(&p.plan, render::markdown::GITHUB_COMMENT_LIMIT),
                "has_changes": p.plan.has_changes(),
                "refused": !p.plan.refused.is_empty(),
            }),
            text,
        })
    }

    async fn new_connector(&self, args: &JsonObject) -> std::result::Result<Answer, Failure> {
        use clap::ValueEnum;
        let kind = match string(args, "type") {
            Some(t) => Some(
                AuthType::from_str(&t, true).map_err(|_| usage(format!("unknown type `{t}`")))?,
            ),
            None => None,
        };
        let write = flag(args, "write");
        let out = match string(args, "out") {
            Some(_) if !write => {
                return Err(usage("`out` names the file to write: it needs write: true"))
            }
            Some(out) => Some(self.out_path(&out)?),
            None => None,
        };
        let new_args = NewArgs {
            display_name: None,
            name: string(args, "display_name"),
            kind,
            mcp: flag(args, "mcp"),
            proxy_url: string(args, "proxy_url"),
            header: string(args, "header"),
            out,
            stdout: false,
            from_openapi: string(args, "from_openapi"),
            from_mcp: string(args, "from_mcp"),
            scheme: string(args, "scheme"),
            base_url: string(args, "base_url"),
            explain: true,
            timeout: args.get("timeout").and_then(Value::as_u64).unwrap_or(30),
        };
        if new_args.scheme.is_some() && new_args.from_openapi.is_none() {
            return Err(usage("`scheme` applies only with from_openapi"));
        }
        if new_args.base_url.is_some() && new_args.from_openapi.is_none() {
            return Err(usage("`base_url` applies only with from_openapi"));
        }
        if new_args.from_openapi.is_some() && new_args.from_mcp.is_some() {
            return Err(usage("give from_openapi or from_mcp, not both"));
        }
        let template = new_args.from_openapi.is_none() && new_args.from_mcp.is_none();
        let missing: Vec<&str> = [
            ("display_name", new_args.name.is_none()),
            ("type", new_args.kind.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| (template && m).then_some(k))
        .collect();
        if !missing.is_empty() {
            return Err(usage(format!(
                "new_connector from a template needs {} (or give from_openapi or from_mcp)",
                missing
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        }
        let file = new::make(&self.ctx, self.config(), &new_args, false)
            .await
            .map_err(failure)?;
        if write {
            new::write(&file).map_err(failure)?;
        }
        let notes: Vec<Value> = file
            .draft
            .notes
            .iter()
            .map(|n| {
                let kind = match n.kind {
                    crate::authoring::NoteKind::Decision => "decision",
                    crate::authoring::NoteKind::Heuristic => "heuristic",
                    crate::authoring::NoteKind::Warning => "warning",
                };
                json!({"kind": kind, "text": crate::output::escape::inert(&n.text)})
            })
            .collect();
        let fill_in = file.text.matches("FILL IN").count();
        let mut text = String::new();
        for n in &notes {
            text.push_str(&format!(
                "{}: {}\n",
                n["kind"].as_str().unwrap_or_default(),
                n["text"].as_str().unwrap_or_default()
            ));
        }
        text.push_str(&if write {
            format!("wrote {}\n", file.shown)
        } else {
            format!(
                "{}\n(not written: call again with write: true to write {})\n",
                file.text, file.shown
            )
        });
        Ok(Answer {
            structured: json!({
                "file": file.shown,
                "written": write,
                "yaml": file.text,
                "display_name": file.draft.display_name(),
                "decisions": notes,
                "fill_in": fill_in,
            }),
            text,
        })
    }

    fn explain(&self, args: &JsonObject) -> std::result::Result<Answer, Failure> {
        let settings = self.ctx.project(self.config()).map_err(failure)?;
        let rel = string(args, "file").unwrap_or_default();
        if !self.connector_files().contains(&rel) {
            return Err(usage(format!(
                "{rel} is not a connector file of this repository (under {}); list_connectors names them",
                relative(&settings.root, &settings.connectors_dir)
            )));
        }
        let text = self
            .read_connector_file(&rel)
            .ok_or_else(|| usage(format!("cannot read {rel}")))?;
        let report = super::load_report(&settings, &[]);
        let (problems, warnings) = match report.loaded {
            Ok(l) => (Vec::new(), l.warnings),
            Err(list) => (list, report.warnings),
        };
        let mine = |f: &Path| f == Path::new(&rel);
        let problems: Vec<Value> = problems
            .iter()
            .filter(|d| mine(&d.file))
            .map(diagnostic)
            .collect();
        let warnings: Vec<Value> = warnings
            .iter()
            .filter(|w| mine(&w.diagnostic.file))
            .map(warning)
            .collect();
        let body: Value = serde_yaml::from_str(&text).unwrap_or(Value::Null);
        Ok(explanation(&rel, &body, problems, warnings))
    }

    async fn list(&self, args: &JsonObject) -> std::result::Result<Answer, Failure> {
        let settings = self.ctx.project(self.config()).map_err(failure)?;
        let (files, problems) = match self.ctx.load_all(&settings) {
            Ok(l) => (l.connectors, Vec::new()),
            Err(Error::Input(list)) => (Vec::new(), list),
            Err(e) => return Err(failure(e)),
        };
        let mut text = String::new();
        let files: Vec<Value> = if problems.is_empty() {
            files
                .iter()
                .map(|d| {
                    let types = auth_types(&d.body);
                    text.push_str(&format!(
                        "{}  {} ({})\n",
                        d.origin.file.display(),
                        crate::output::escape::inert(&d.display_name),
                        types.join(", ")
                    ));
                    json!({"file": d.origin.file.display().to_string(), "display_name": d.display_name, "types": types})
                })
                .collect()
        } else {
            text.push_str(
                "The connector files have problems (validate lists them); their names:\n",
            );
            self.connector_files()
                .into_iter()
                .map(|f| {
                    text.push_str(&format!("{f}\n"));
                    json!({"file": f})
                })
                .collect()
        };
        let mut result = json!({
            "files": files,
            "valid": problems.is_empty(),
        });
        if let Some(env) = string(args, "env") {
            let selected = settings
                .select(std::slice::from_ref(&env))
                .map_err(failure)?;
            let connections =
                connect_all(&selected, &client_options(&default_http())).map_err(failure)?;
            let conn = &connections[0];
            let live = conn.client.list().await.map_err(|e| failure(e.into()))?;
            let usage = if conn.env.usage {
                super::usage::look_up_all(
                    conn.client.clone(),
                    live.iter().map(|l| l.identifier.clone()).collect(),
                    conn.env.parallelism.unwrap_or(super::DEFAULT_PARALLELISM),
                )
                .await
            } else {
                Default::default()
            };
            text.push_str(&format!(
                "\nLive in {}:\n",
                crate::output::escape::inert(&env)
            ));
            let live: Vec<Value> = live
                .iter()
                .map(|l| {
                    let types = auth_types(&l.body);
                    let u = usage.get(&l.identifier);
                    text.push_str(&format!(
                        "{} ({}){}{}\n",
                        crate::output::escape::inert(&l.display_name),
                        types.join(", "),
                        l.owner()
                            .map(|o| format!(
                                ", managed by skconn ({})",
                                crate::output::escape::inert(o)
                            ))
                            .unwrap_or_default(),
                        u.map(|u| format!(", {}", render::usage::phrase(u)))
                            .unwrap_or_default()
                    ));
                    json!({
                        "display_name": l.display_name,
                        "types": types,
                        "is_mcp": l.body["is_mcp"].as_bool().unwrap_or(false),
                        "owner": l.owner(),
                        "managed": l.owner() == Some(settings.owner.as_str()),
                        "usage": render::usage::json(u),
                    })
                })
                .collect();
            result["environment"] = json!({"name": env, "connectors": live});
        }
        Ok(Answer {
            structured: result,
            text,
        })
    }

    async fn apply(&self, args: &JsonObject) -> std::result::Result<Answer, Failure> {
        let env = string(args, "env").unwrap_or_default();
        let digest = string(args, "plan_digest").unwrap_or_default();
        let apply_args = ApplyArgs {
            envs: vec![env.clone()],
            auto_approve: true,
            plan_file: None,
            parallelism: None,
            report: None,
            approval: ApprovalArgs {
                approved: vec![format!("{env}={digest}")],
                approved_plan: Vec::new(),
            },
            safety: safety(args),
            http: default_http(),
        };
        let (result, report) =
            super::apply::run_reported(&self.ctx, self.config(), apply_args).await;
        let printed = crate::output::take_captured();
        match result {
            Ok(code) => Ok(Answer {
                structured: json!({"applied": true, "exit_code": code, "report": report}),
                text: printed,
            }),
            Err(e) => {
                let mut f = failure(e);
                f.message = format!("{}\n\n{printed}", f.message);
                f.detail = json!({"report": report});
                Err(f)
            }
        }
    }
}

/// What a connector file means for the people who connect through it.
fn explanation(rel: &str, body: &Value, problems: Vec<Value>, warnings: Vec<Value>) -> Answer {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let mut text = format!(
        "{rel}: {}\n",
        crate::output::escape::inert(body["display_name"].as_str().unwrap_or("(no display_name)"))
    );
    let proxy = s(&body["proxy_url"]);
    let is_mcp = body["is_mcp"].as_bool().unwrap_or(false);
    text.push_str(&format!(
        "{} requests go to {}\n",
        if is_mcp { "An MCP server:" } else { "An API:" },
        proxy
            .as_deref()
            .map(crate::output::escape::url)
            .unwrap_or_else(|| "(no proxy_url)".into())
    ));
    let patterns: Vec<Value> = body["auth_patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let fields: Vec<Value> = p["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    json!({
                        "field_name": f["field_name"],
                        "label": f["label"],
                        "input_type": f["input_type"],
                        "required": f.get("required").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            let oauth = &p["oauth_config"];
            let scopes: Vec<Value> = oauth["available_scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|sc| json!({"scope": sc["scope"], "display_name": sc["display_name"], "required": sc["required"]}))
                .collect();
            let kind = p["type"].as_str().unwrap_or("(no type)");
            text.push_str(&format!("- {}: ", crate::output::escape::inert(kind)));
            let what = match kind {
                "OAUTH" => format!(
                    "people sign in at {} and grant {}",
                    oauth["authorize_uri"].as_str().map(crate::output::escape::url).unwrap_or_else(|| "(no authorize_uri)".into()),
                    if scopes.is_empty() {
                        "no scopes listed".to_string()
                    } else {
                        scopes
                            .iter()
                            .map(|sc| crate::output::escape::inert(sc["scope"].as_str().unwrap_or("?")).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                "NO_AUTH" => "people enter nothing".to_string(),
                _ if fields.is_empty() => "people enter no fields".to_string(),
                _ => format!(
                    "people enter {}",
                    fields
                        .iter()
                        .map(|f| crate::output::escape::inert(f["label"].as_str().or(f["field_name"].as_str()).unwrap_or("?")).into_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            text.push_str(&format!("{what}\n"));
            json!({
                "type": p["type"],
                "display_name": p["display_name"],
                "fields": fields,
                "scopes": scopes,
                "authorize_uri": oauth.get("authorize_uri").cloned().unwrap_or(Value::Null),
                "token_uri": oauth.get("token_uri").cloned().unwrap_or(Value::Null),
                "pkce_enabled": oauth.get("pkce_enabled").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    if problems.is_empty() {
        text.push_str("validate finds no problem in it.\n");
    } else {
        text.push_str(&format!("validate finds {} problem(s):\n", problems.len()));
        for p in &problems {
            text.push_str(&format!(
                "  {}:{}:{}: {}\n",
                p["file"].as_str().unwrap_or_default(),
                p["line"],
                p["column"],
                p["message"].as_str().unwrap_or_default()
            ));
        }
    }
    Answer {
        structured: json!({
            "file": rel,
            "display_name": body["display_name"],
            "description": body["description"],
            "is_mcp": is_mcp,
            "proxy_url": proxy,
            "auth_patterns": patterns,
            "problems": problems,
            "warnings": warnings,
        }),
        text,
    }
}
