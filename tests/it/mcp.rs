//! `skconn mcp`: the real binary driven over stdio by the rmcp client, against the emulator.
//! Initialize, list the tools (each with an input schema), call each one and check its
//! structured result and what the emulator then holds; `apply` is absent without
//! `--allow-apply`, applies the digest shown with it and refuses a stale one; hostile text is
//! inert and no secret or end-user identifier reaches a result.

use crate::support::{api_writes, bearer, emulator, repo_with, Repo};
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::{json, Value};

type Client = RunningService<RoleClient, ()>;

/// Runs `f` with a client connected to `skconn mcp <extra>` started in `repo`.
fn with_server<T>(repo: &Repo, extra: &[&str], f: impl AsyncFnOnce(&Client) -> T) -> T {
    let mut args = vec!["mcp"];
    args.extend_from_slice(extra);
    let cmd = tokio::process::Command::from(repo.cmd(&args).0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("skconn mcp starts");
        let client = ().serve(transport).await.expect("the MCP connection starts");
        let out = f(&client).await;
        client.cancel().await.expect("the connection ends");
        out
    })
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// A successful call's structured result.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args).await;
    assert_eq!(r.is_error, Some(false), "{tool} failed: {r:?}");
    assert!(!r.content.is_empty(), "{tool}: no text form");
    r.structured_content.expect("a structured result")
}

/// A failed call's structured error.
async fn failed(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args).await;
    assert_eq!(r.is_error, Some(true), "{tool} did not fail: {r:?}");
    r.structured_content.expect("a structured error")["error"].clone()
}

fn plan_digest(plan: &Value, env: &str) -> String {
    plan["plan"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == env)
        .unwrap()["plan_digest"]
        .as_str()
        .unwrap()
        .to_string()
}

const TOOLS: [&str; 6] = [
    "validate",
    "plan",
    "new_connector",
    "explain_connector",
    "list_connectors",
    "schema",
];

#[test]
fn initializes_and_lists_every_tool_with_an_input_schema_and_no_apply_without_allow_apply() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    with_server(&repo, &[], async |c| {
        let info = c.peer_info().expect("initialized");
        assert_eq!(info.server_info.name, "skconn");
        assert!(info.capabilities.tools.is_some() && info.capabilities.resources.is_some());
        let tools = c.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, TOOLS);
        for t in &tools {
            assert_eq!(t.input_schema["type"], "object", "{}", t.name);
            assert!(t.input_schema.contains_key("properties"), "{}", t.name);
            assert!(t.description.as_deref().is_some_and(|d| !d.is_empty()));
        }
        let e = c
            .call_tool(CallToolRequestParams::new("apply").with_arguments(
                serde_json::from_value(json!({"env": "dev", "plan_digest": "x"})).unwrap(),
            ))
            .await
            .expect_err("apply is not offered");
        assert!(e.to_string().contains("--allow-apply"), "{e}");
        let e =
            c.call_tool(CallToolRequestParams::new("plan").with_arguments(
                serde_json::from_value(json!({"env": "dev", "bogus": 1})).unwrap(),
            ))
            .await
            .expect_err("arguments are checked");
        assert!(e.to_string().contains("unknown argument `bogus`"), "{e}");
    });
    assert_eq!(api_writes(&dev), 0);
    let listed = with_server(&repo, &["--allow-apply"], async |c| {
        c.list_all_tools().await.unwrap()
    });
    let apply = listed.iter().find(|t| t.name == "apply").expect("offered");
    let required = apply.input_schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("plan_digest")) && required.contains(&json!("env")));
}

#[test]
fn validate_returns_every_problem_with_file_line_column_and_help() {
    let repo = Repo::new()
        .connector("good.yaml", bearer("Good"))
        .connector(
        "bad.yaml",
        "display_name: Bad\nproxy_url: ftp://x.example.com\nauth_patterns:\n  - type: BEARERS\n",
    );
    let bad = with_server(&repo, &[], async |c| ok(c, "validate", json!({})).await);
    assert_eq!(bad["valid"], false);
    let d = bad["diagnostics"].as_array().unwrap();
    assert!(d.len() >= 2, "every problem at once: {d:?}");
    assert!(
        bad["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "example_host"),
        "warnings beside the problems: {bad}"
    );
    for x in d {
        assert_eq!(x["file"], "connectors/bad.yaml");
        assert!(x["line"].as_u64().unwrap() > 0, "{x}");
        assert!(x["column"].as_u64().unwrap() > 0, "{x}");
        assert!(x["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(x["help"].as_str().is_some_and(|m| !m.is_empty()), "{x}");
    }
    let repo = repo.remove("connectors/bad.yaml");
    let good = with_server(&repo, &[], async |c| ok(c, "validate", json!({})).await);
    assert_eq!(good["valid"], true);
    assert_eq!(good["files"], 1);
}

#[test]
fn plan_returns_changes_digest_and_markdown_and_sends_nothing() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    let secret = dev.client_secret().to_string();
    let (plan, text) = with_server(&repo, &[], async |c| {
        let r = call(c, "plan", json!({})).await;
        let text = format!("{r:?}");
        (r.structured_content.unwrap(), text)
    });
    let env = &plan["plan"]["environments"][0];
    assert_eq!(env["name"], "dev");
    assert_eq!(env["summary"]["create"], 2);
    let digest = plan_digest(&plan, "dev");
    assert!(
        digest.starts_with("sha256:") || digest.len() >= 16,
        "{digest}"
    );
    let md = plan["markdown"].as_str().unwrap();
    assert!(md.contains(&digest), "{md}");
    assert!(md.contains("Conn 00"));
    assert_eq!(plan["has_changes"], true);
    assert_eq!(api_writes(&dev), 0);
    assert!(
        !text.contains(&secret),
        "the client secret reached a result"
    );
    // The CLI's own JSON plan carries the same digest: the tool is the command.
    let cli: Value =
        serde_json::from_str(&repo.skconn(["plan", "--format", "json"]).stdout).unwrap();
    assert_eq!(cli["environments"][0]["plan_digest"], digest.as_str());
}

#[test]
fn a_failing_tool_is_an_error_result_with_skconns_message_and_exit_code() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed").unset("SK_DEV_SECRET");
    let cli = repo.skconn(["plan"]);
    cli.code(1);
    let e = with_server(&repo, &[], async |c| failed(c, "plan", json!({})).await);
    assert_eq!(e["exit_code"], 1);
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("SK_DEV_SECRET"), "{m}");
    assert!(
        cli.stderr.contains(m.lines().next().unwrap()),
        "the command's message: {m}\n{}",
        cli.stderr
    );
    assert!(dev.requests().is_empty(), "nothing sent");
}

#[test]
fn plan_against_a_snapshot_uses_no_credentials() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    let snap = repo.path().join("dev.snapshot.json");
    repo.skconn(["snapshot", "--env", "dev", "--out", snap.to_str().unwrap()])
        .code(0);
    dev.clear_requests();
    let repo = repo.unset("SK_DEV_SECRET").unset("SK_DEV_ID");
    let plan = with_server(&repo, &[], async |c| {
        ok(c, "plan", json!({"against": ["dev.snapshot.json"]})).await
    });
    let env = &plan["plan"]["environments"][0];
    assert_eq!(env["source"]["kind"], "snapshot");
    assert_eq!(env["summary"]["create"], 1);
    assert!(dev.requests().is_empty(), "nothing is sent to dev");
}

const OPENAPI: &str = r#"{"openapi": "3.0.3", "info": {"title": "Acme CRM", "version": "1"},
"servers": [{"url": "https://api.acme-crm.com/v2"}],
"components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
"security": [{"token": []}], "paths": {}}"#;

#[test]
fn new_connector_returns_the_yaml_and_its_decisions_and_writes_only_when_asked_never_overwriting() {
    let repo = Repo::new().file("openapi.json", OPENAPI);
    let file = repo.path().join("connectors/acme-crm.yaml");
    let (draft, written, again) = with_server(&repo, &[], async |c| {
        let draft = ok(c, "new_connector", json!({"from_openapi": "openapi.json"})).await;
        assert!(!file.exists(), "not written without write: true");
        let written = ok(
            c,
            "new_connector",
            json!({"from_openapi": "openapi.json", "write": true}),
        )
        .await;
        let again = failed(
            c,
            "new_connector",
            json!({"from_openapi": "openapi.json", "write": true}),
        )
        .await;
        (draft, written, again)
    });
    assert_eq!(draft["written"], false);
    assert_eq!(draft["file"], "connectors/acme-crm.yaml");
    let yaml = draft["yaml"].as_str().unwrap();
    assert!(yaml.contains("display_name: Acme CRM"), "{yaml}");
    assert!(yaml.contains("type: BEARER"), "{yaml}");
    let decisions = draft["decisions"].as_array().unwrap();
    assert!(
        decisions
            .iter()
            .any(|d| d["kind"] == "decision" && d["text"].as_str().unwrap().contains("token")),
        "{decisions:?}"
    );
    assert_eq!(written["written"], true);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), yaml);
    let message = again["message"].as_str().unwrap();
    assert!(message.contains("already"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        yaml,
        "never overwritten"
    );
    repo.skconn(["validate"]).code(0);
}

#[test]
fn new_connector_takes_a_template_an_openapi_url_or_an_mcp_server_and_writes_only_under_connectors()
{
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::Router;
    let docs = crate::authoring::Server::start(|_| {
        Router::new().route("/openapi.json", get(|| async { OPENAPI }))
    });
    let mcp = crate::authoring::Server::start(|_| {
        Router::new()
            .route(
                "/mcp",
                post(|| async { (StatusCode::UNAUTHORIZED, "token required") }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    });
    let repo = Repo::new();
    let doc_url = format!("{}/openapi.json", docs.url);
    let mcp_url = format!("{}/mcp", mcp.url);
    let (template, missing, from_url, from_mcp, outside, written) =
        with_server(&repo, &[], async |c| {
            let template = ok(
                c,
                "new_connector",
                json!({"display_name": "Acme Keys", "type": "api-key",
                "header": "X-Api-Key", "proxy_url": "https://api.acme-keys.com"}),
            )
            .await;
            let missing = failed(
                c,
                "new_connector",
                json!({"proxy_url": "https://api.acme-keys.com"}),
            )
            .await;
            let from_url = ok(c, "new_connector", json!({"from_openapi": doc_url})).await;
            let from_mcp = ok(
                c,
                "new_connector",
                json!({"display_name": "Acme Static", "from_mcp": mcp_url,
                "type": "bearer", "proxy_url": "https://mcp.acme-tools.com/mcp"}),
            )
            .await;
            let mut outside = Vec::new();
            for out in [
                "../escape.yaml",
                "/tmp/abs.yaml",
                "skconn.yaml",
                "connectors/x.txt",
            ] {
                outside.push(
                    failed(
                        c,
                        "new_connector",
                        json!({"display_name": "Acme Keys", "type": "bearer",
                    "out": out, "write": true}),
                    )
                    .await,
                );
            }
            let written = ok(
                c,
                "new_connector",
                json!({"display_name": "Acme Keys", "type": "bearer",
                "out": "connectors/team/keys.yaml", "write": true}),
            )
            .await;
            (template, missing, from_url, from_mcp, outside, written)
        });
    let yaml = template["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("type: API_KEY") && yaml.contains("auth_header_key_override: X-Api-Key"),
        "{yaml}"
    );
    assert_eq!(template["file"], "connectors/acme-keys.yaml");
    assert!(template["fill_in"].as_u64().unwrap() >= 1, "{template}");
    let m = missing["message"].as_str().unwrap();
    assert!(
        m.contains("`display_name` and `type`"),
        "the tool's own argument names: {m}"
    );
    assert_eq!(missing["exit_code"], 1, "a usage error, as the command's");
    let yaml = from_url["yaml"].as_str().unwrap();
    assert!(yaml.contains(&format!("# Source: {doc_url}\n")), "{yaml}");
    assert!(yaml.contains("display_name: Acme CRM"), "{yaml}");
    let yaml = from_mcp["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("is_mcp: true") && yaml.contains("type: BEARER"),
        "{yaml}"
    );
    for o in &outside {
        assert!(
            o["message"]
                .as_str()
                .unwrap()
                .contains("not a new file under connectors"),
            "{o}"
        );
    }
    assert_eq!(written["file"], "connectors/team/keys.yaml");
    assert!(repo.path().join("connectors/team/keys.yaml").exists());
    assert!(
        !repo.path().join("connectors/acme-keys.yaml").exists(),
        "only write: true writes"
    );
    assert!(!repo.path().join("../escape.yaml").exists());
    repo.skconn(["validate"]).code(0);
}

#[test]
fn explain_connector_says_what_users_fill_in_the_scopes_where_requests_go_and_the_problems() {
    let repo = Repo::examples().connector(
        "broken.yaml",
        "display_name: Broken\nproxy_url: http://api.broken.example.org\nauth_patterns:\n  - type: API_KEY\n    fields:\n      - field_name: key\n        label: API key\n        input_type: passwordd\n",
    );
    let (asana, broken, outside) = with_server(&repo, &[], async |c| {
        (
            ok(
                c,
                "explain_connector",
                json!({"file": "connectors/asana.yaml"}),
            )
            .await,
            ok(
                c,
                "explain_connector",
                json!({"file": "connectors/broken.yaml"}),
            )
            .await,
            failed(c, "explain_connector", json!({"file": "../../etc/passwd"})).await,
        )
    });
    assert_eq!(asana["proxy_url"], "https://app.asana.com/api/1.0");
    let p = &asana["auth_patterns"][0];
    assert_eq!(p["type"], "OAUTH");
    let scopes: Vec<&str> = p["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["openid", "profile", "default"]);
    assert_eq!(asana["problems"], json!([]));
    assert_eq!(broken["auth_patterns"][0]["fields"][0]["label"], "API key");
    let problems = broken["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "only this file's problems: {problems:?}");
    let p = &problems[0];
    assert_eq!(p["file"], "connectors/broken.yaml");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(2), Some(12)),
        "{p}"
    );
    assert_eq!(p["field"], "proxy_url");
    assert!(p["message"].as_str().unwrap().contains("https://"), "{p}");
    assert!(
        p["help"]
            .as_str()
            .unwrap()
            .contains("https://api.broken.example.org"),
        "{p}"
    );
    let warnings = broken["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["field"] == "auth_patterns[0].fields[0].input_type"),
        "the warnings too, beside the problems: {warnings:?}"
    );
    assert!(outside["message"]
        .as_str()
        .unwrap()
        .contains("not a connector file"));
}

#[test]
fn list_connectors_shows_files_and_live_connectors_with_usage_counts_never_credentials_or_accounts()
{
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    dev.insert(
        json!({"display_name": "Hand Made", "proxy_url": "https://h.example.com",
        "proxy_enabled": true, "auth_patterns": [{"type": "NO_AUTH"}]}),
    );
    dev.add_connection("Hand Made", "hand-live", "COMPLETED", true);
    dev.add_connected_accounts("hand-live", "ACTIVE", 3);
    let (listed, raw) = with_server(&repo, &[], async |c| {
        let r = call(c, "list_connectors", json!({"env": "dev"})).await;
        (
            r.structured_content.clone().unwrap(),
            serde_json::to_string(&r).unwrap(),
        )
    });
    assert_eq!(listed["files"][0]["display_name"], "Conn 00");
    assert_eq!(listed["files"][0]["types"], json!(["BEARER"]));
    let live = listed["environment"]["connectors"].as_array().unwrap();
    let hand = live
        .iter()
        .find(|l| l["display_name"] == "Hand Made")
        .unwrap();
    assert_eq!(hand["types"], json!(["NO_AUTH"]));
    assert_eq!(hand["managed"], false);
    assert_eq!(hand["usage"]["connections"]["total"], 1);
    assert_eq!(hand["usage"]["connected_accounts"]["total"], 3, "{hand}");
    assert_eq!(api_writes(&dev), 0);
    assert!(!raw.contains(dev.client_secret()));
    for a in dev.connected_accounts() {
        for key in ["identifier", "id"] {
            let v = a[key].as_str().unwrap();
            assert!(!raw.contains(v), "end-user {key} {v} in a result");
        }
    }
}

#[test]
fn schema_and_resources_give_the_schemas_and_the_connector_files() {
    let repo = Repo::new().connector("a.yaml", bearer("Alpha"));
    let (schema, config, resources, file) = with_server(&repo, &[], async |c| {
        let schema = ok(c, "schema", json!({})).await;
        let config = ok(c, "schema", json!({"which": "config"})).await;
        let resources = c.list_all_resources().await.unwrap();
        let file = c
            .read_resource(ReadResourceRequestParams::new(
                "skconn://files/connectors/a.yaml",
            ))
            .await
            .unwrap();
        let missing = c
            .read_resource(ReadResourceRequestParams::new("skconn://files/skconn.yaml"))
            .await;
        assert!(missing.is_err(), "only connector files are served");
        (schema, config, resources, file)
    });
    let printed: Value = serde_json::from_str(&repo.skconn(["schema"]).stdout).unwrap();
    assert_eq!(schema["schema"], printed);
    let printed: Value = serde_json::from_str(&repo.skconn(["schema", "config"]).stdout).unwrap();
    assert_eq!(config["schema"], printed);
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(
        uris.contains(&"skconn://files/connectors/a.yaml"),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"skconn://schema/connector.schema.json"),
        "{uris:?}"
    );
    let text = serde_json::to_string(&file).unwrap();
    assert!(text.contains("display_name: Alpha"), "{text}");
}

#[test]
fn apply_applies_the_digest_shown_and_refuses_a_stale_one_sending_nothing() {
    let dev = emulator();
    let repo = repo_with(1, &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo
        .edit("connectors/c00.yaml", |t| {
            t.replace("Conn 00 API", "Conn 00 API, reviewed")
        })
        .connector("c01.yaml", bearer("Conn 01"));
    dev.clear_requests();
    let (stale, fresh) = with_server(&repo, &["--allow-apply"], async |c| {
        let shown = ok(c, "plan", json!({"env": ["dev"]})).await;
        let digest = plan_digest(&shown, "dev");
        // Someone edits the connector in the dashboard after the plan was shown.
        dev.edit("Conn 00", |x| {
            x["description"] = "edited in the dashboard".into()
        });
        let stale = failed(c, "apply", json!({"env": "dev", "plan_digest": digest})).await;
        assert_eq!(api_writes(&dev), 0, "a stale digest sends nothing");
        assert!(dev.connector("Conn 01").is_none());
        let shown = ok(c, "plan", json!({"env": ["dev"]})).await;
        let fresh = ok(
            c,
            "apply",
            json!({"env": "dev", "plan_digest": plan_digest(&shown, "dev")}),
        )
        .await;
        (stale, fresh)
    });
    assert_eq!(stale["exit_code"], 6);
    let m = stale["message"].as_str().unwrap();
    assert!(m.contains("differs from the approved plan"), "{m}");
    assert_eq!(fresh["applied"], true);
    assert_eq!(fresh["exit_code"], 0);
    assert_eq!(
        dev.connector("Conn 00").unwrap()["description"],
        "Conn 00 API, reviewed"
    );
    assert!(dev.connector("Conn 01").is_some());
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

/// Every string of a result (and every key) is inert: no control character but a line break
/// or tab, no bidirectional override, no styling mark. The escaped spelling (`\u001b` as six
/// characters) is inert text and allowed: it is how skconn shows such a character everywhere.
fn assert_inert(label: &str, v: &Value) {
    fn walk(label: &str, v: &Value) {
        let check = |s: &str| {
            let bad = s.chars().find(|&c| {
                (c.is_control() && c != '\n' && c != '\t')
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FDD0}'..='\u{FDEF}')
            });
            assert!(
                bad.is_none(),
                "{label}: {bad:?} reached a result as itself: {s:?}"
            );
        };
        match v {
            Value::String(s) => check(s),
            Value::Array(a) => a.iter().for_each(|x| walk(label, x)),
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                check(k);
                walk(label, x)
            }),
            _ => {}
        }
    }
    walk(label, v)
}

#[test]
fn hostile_text_in_a_file_or_a_live_connector_is_inert_in_every_result() {
    let dev = emulator();
    let hostile =
        "Evil \u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{7} \u{1b}[2J \u{202e}gnp.exe";
    let file = format!(
        "display_name: Conn 00\ndescription: \"{}\"\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        label: \"Token \\u001b[31m\"\n        input_type: password\n",
        hostile.replace('\u{1b}', "\\e").replace('\u{7}', "\\a").replace('\u{202e}', "\\u202e")
    );
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .connector("c00.yaml", file);
    repo.skconn(["apply", "--auto-approve"]).code(0);
    // The server's text differs from the file's: the plan shows both.
    let server = "Server \u{1b}[31mred\u{9b}2J\r::warning::injected \u{2066}x\u{2069}";
    dev.edit("Conn 00", |x| x["description"] = server.into());
    dev.insert(json!({"display_name": "Hand Made", "description": hostile,
        "proxy_url": "https://h.example.com", "proxy_enabled": true,
        "auth_patterns": [{"type": "NO_AUTH"}]}));
    let results = with_server(&repo, &[], async |c| {
        let mut all = Vec::new();
        for (tool, args) in [
            ("validate", json!({})),
            ("plan", json!({})),
            ("list_connectors", json!({"env": "dev"})),
            ("explain_connector", json!({"file": "connectors/c00.yaml"})),
        ] {
            let r = call(c, tool, args).await;
            assert_eq!(r.is_error, Some(false), "{tool}: {r:?}");
            all.push((tool, serde_json::to_value(&r).unwrap()));
        }
        let r = c
            .read_resource(ReadResourceRequestParams::new(
                "skconn://files/connectors/c00.yaml",
            ))
            .await
            .unwrap();
        all.push(("resource", serde_json::to_value(&r).unwrap()));
        all
    });
    for (label, v) in &results {
        assert_inert(label, v);
    }
    let plan = results[1].1.to_string();
    // The text itself is shown, escaped: the file's and the server's.
    assert!(
        plan.contains(r"Evil \\u001b]8;;https://evil.example\\u0007click"),
        "{plan}"
    );
    assert!(plan.contains(r"Server \\u001b[31mred\\u009b2J"), "{plan}");
    let explained = results[3].1.to_string();
    assert!(explained.contains(r"Token \\u001b[31m"), "{explained}");
}

#[test]
fn a_file_with_raw_control_characters_is_served_and_reported_inert() {
    // Raw ESC, BEL and a right-to-left override in the file itself (YAML refuses them; the
    // resource and the diagnostics still carry them only escaped).
    let raw = "display_name: Raw\n# \u{1b}[2J\u{7}\u{202e}txt.exe\nproxy_url: https://api.raw-example.org\nauth_patterns:\n  - type: NO_AUTH\n";
    let repo = Repo::new().connector("raw.yaml", raw);
    let results = with_server(&repo, &[], async |c| {
        let mut all = Vec::new();
        for (tool, args) in [
            ("validate", json!({})),
            ("plan", json!({})),
            ("explain_connector", json!({"file": "connectors/raw.yaml"})),
            ("list_connectors", json!({})),
        ] {
            all.push((
                tool,
                serde_json::to_value(call(c, tool, args).await).unwrap(),
            ));
        }
        let r = c
            .read_resource(ReadResourceRequestParams::new(
                "skconn://files/connectors/raw.yaml",
            ))
            .await
            .unwrap();
        all.push(("resource", serde_json::to_value(&r).unwrap()));
        all
    });
    for (label, v) in &results {
        assert_inert(label, v);
    }
    assert_eq!(
        results[0].1["structuredContent"]["valid"], false,
        "{}",
        results[0].1
    );
    assert_eq!(
        results[1].1["isError"], true,
        "plan refuses invalid input: {}",
        results[1].1
    );
    let text = results[4].1["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains(r"# \u001b[2J\u0007\u202etxt.exe"), "{text}");
    assert!(
        text.starts_with("display_name: Raw\n"),
        "line breaks stay: {text:?}"
    );
}

#[test]
fn help_shows_each_clients_configuration_and_what_allow_apply_does() {
    let repo = Repo::new();
    let out = repo.skconn(["mcp", "--help"]);
    out.code(0)
        .stdout_has("claude mcp add skconn -- skconn mcp")
        .stdout_has("claude_desktop_config.json")
        .stdout_has(".cursor/mcp.json")
        .stdout_has(".vscode/mcp.json")
        .stdout_has("--allow-apply");
    // Each snippet: an indented block starting with `{`, maybe over two lines.
    let mut snippets: Vec<Value> = Vec::new();
    let mut block = String::new();
    for l in out.stdout.lines().chain([""]) {
        if l.starts_with("  {") || (!block.is_empty() && l.starts_with("    ")) {
            block.push_str(l);
        } else if !block.is_empty() {
            let b = std::mem::take(&mut block);
            snippets.push(serde_json::from_str(&b).unwrap_or_else(|e| panic!("{b}: {e}")));
        }
    }
    assert_eq!(snippets.len(), 3, "{}", out.stdout);
    for s in &snippets {
        let server = s["mcpServers"]["skconn"]
            .as_object()
            .or(s["servers"]["skconn"].as_object());
        let server = server.unwrap_or_else(|| panic!("{s}"));
        assert_eq!(server["command"], "skconn");
        assert_eq!(server["args"][0], "mcp");
    }
}
