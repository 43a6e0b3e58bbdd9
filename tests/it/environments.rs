//! Environments: promotion to several environments, import of hand-made connectors, compare.

use crate::support::*;
use serde_json::json;

fn hand_made(name: &str, description: &str) -> serde_json::Value {
    json!({"display_name": name, "description": description,
           "proxy_url": "https://{{domain}}/api", "proxy_enabled": true,
           "metadata": {"team": "support"},
           "auth_patterns": [{"type": "BASIC", "display_name": "Basic", "fields": [
               {"field_name": "domain", "label": "Domain", "input_type": "text", "is_path_param": true, "required": true},
               {"field_name": "username", "label": "User", "input_type": "text", "required": true}],
             "auth_field_mutations": {"password": {"default": "X"}}}]})
}

#[test]
fn import_writes_files_that_plan_as_adoptions() {
    let dev = emulator();
    dev.insert(hand_made("Hand Made One", "first"));
    dev.insert(hand_made("Hand Made Two", "second"));
    dev.insert(
        json!({"display_name": "Public MCP", "proxy_url": "https://mcp.example.com/sse",
        "auth_patterns": [{"type": "NO_AUTH", "is_mcp": true}]}),
    );
    let repo = Repo::new()
        .connector("mine.yaml", "display_name: Hand Made Two\nproxy_url: https://x.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n")
        .env("dev", &dev, "managed");
    dev.clear_requests();
    repo.skconn(["import", "--env", "dev"])
        .code(0)
        .stdout_has("wrote connectors/hand-made-one.yaml")
        .stdout_has("wrote connectors/public-mcp.yaml")
        .stdout_has("Imported 2 connector(s) from environment dev; 0 skipped.")
        .stdout_has("`skconn apply --env dev` adopts them");
    assert!(
        dev.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path == "/oauth/token"),
        "import wrote to the environment"
    );
    let text = std::fs::read_to_string(repo.path().join("connectors/hand-made-one.yaml")).unwrap();
    assert!(
        !text.contains("identifier") && !text.contains("is_custom") && !text.contains("managed_by"),
        "{text}"
    );
    // The MCP connector without auth had proxy_enabled false on the server: kept explicitly.
    let mcp = std::fs::read_to_string(repo.path().join("connectors/public-mcp.yaml")).unwrap();
    assert!(mcp.contains("proxy_enabled: false"), "{mcp}");
    // Round trip: the imported connectors are adoptions and nothing else; the file that
    // differed from the live one is an update (which adopts it too).
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("= adopt \"Hand Made One\"")
        .stdout_has("= adopt \"Public MCP\"")
        .stdout_has("~ update \"Hand Made Two\"")
        .stdout_has("this update also adopts it")
        .stdout_has("Plan: 0 to create, 2 to adopt, 1 to update, 0 to delete.");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
}

#[test]
fn import_then_plan_round_trips_every_example() {
    let dev = emulator();
    let source = Repo::examples().env("dev", &dev, "managed");
    source.skconn(["apply", "--auto-approve"]).code(0);
    // A fresh repository adopting what the environment holds.
    let fresh = Repo::new().env("dev", &dev, "managed");
    fresh.skconn(["import", "--env", "dev"]).code(0);
    fresh.skconn(["validate"]).code(0);
    fresh
        .skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
}

#[test]
fn import_refuses_to_overwrite_an_existing_file_without_force() {
    let dev = emulator();
    dev.insert(hand_made("Hand Made One", "first"));
    let repo = Repo::new()
        .file("connectors/hand-made-one.yaml.txt", "unrelated")
        .env("dev", &dev, "managed");
    repo.skconn(["import", "--env", "dev"]).code(0);
    let path = repo.path().join("connectors/hand-made-one.yaml");
    std::fs::write(&path, "# a file with this name, not a connector yet\n").unwrap();
    // The folder is now invalid (a comment-only file): import needs valid files, and says so.
    repo.skconn(["import", "--env", "dev"])
        .code(1)
        .stderr_has("hand-made-one.yaml");
    std::fs::remove_file(&path).unwrap();
    repo.skconn(["import", "--env", "dev"]).code(0);
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("first", "edited locally");
    std::fs::write(&path, &edited).unwrap();
    // Defined by a file now: nothing to import, and the file is untouched.
    repo.skconn(["import", "--env", "dev"])
        .code(0)
        .stdout_has("Imported 0 connector(s)");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // Asking for it by name with --force rewrites it from the live connector.
    let repo = repo.remove("connectors/hand-made-one.yaml");
    std::fs::write(repo.path().join("connectors/other.yaml"), "display_name: Other\nproxy_url: https://o.example.com\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\n").unwrap();
    std::fs::write(&path, "display_name: Placeholder\nproxy_url: https://p.example.com\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\n").unwrap();
    repo.skconn(["import", "--env", "dev", "--name", "Hand Made One"])
        .code(1)
        .stderr_has("exists (pass --force to overwrite it)");
    repo.skconn([
        "import",
        "--env",
        "dev",
        "--name",
        "Hand Made One",
        "--force",
    ])
    .code(0);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("display_name: Hand Made One"));
}

#[test]
fn compare_reports_exactly_the_differing_connectors() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["compare", "dev", "prod"])
        .code(0)
        .stdout_has("No differences");
    prod.edit("Asana Tasks", |c| {
        c["description"] = json!("edited in prod")
    });
    dev.insert(hand_made("Only In Dev", "x"));
    let out = repo.skconn(["compare", "dev", "prod"]);
    out.code(2)
        .stdout_has("~ differs: \"Asana Tasks\"")
        .stdout_has("~ description: \"Read and update tasks")
        .stdout_has(" → \"edited in prod\"")
        .stdout_has("+ only in dev: \"Only In Dev\"")
        .stdout_has("1 only in dev, 0 only in prod, 1 different, 7 the same.");
    // The JSON document, field by field.
    let json_out = repo.skconn(["compare", "dev", "prod", "--format", "json"]);
    json_out.code(2);
    let doc: serde_json::Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(doc["format_version"], "1");
    let c = &doc["compare"];
    assert_eq!(c["a"], "dev");
    assert_eq!(c["b"], "prod");
    assert_eq!(c["same"], 7);
    assert_eq!(c["only_in_b"], json!([]));
    let only_a = c["only_in_a"].as_array().unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0]["display_name"], "Only In Dev");
    assert!(only_a[0]["identifier"]
        .as_str()
        .unwrap()
        .starts_with("only_in_dev"));
    assert_eq!(only_a[0]["connector"]["description"], "x");
    assert_eq!(only_a[0]["connector"]["metadata"]["team"], "support");
    let different = c["different"].as_array().unwrap();
    assert_eq!(different.len(), 1);
    let d = &different[0];
    assert_eq!(d["display_name"], "Asana Tasks");
    assert_eq!(
        d["identifier_a"],
        dev.connector("Asana Tasks").unwrap()["identifier"]
    );
    assert_eq!(
        d["identifier_b"],
        prod.connector("Asana Tasks").unwrap()["identifier"]
    );
    assert_eq!(
        d["diff"],
        json!([{"op": "replace", "path": "description", "pointer": "/description",
                "old": dev.connector("Asana Tasks").unwrap()["description"], "new": "edited in prod"}])
    );
    // Markdown: its own heading and marker, never the plan's.
    repo.skconn(["compare", "dev", "prod", "--format", "markdown"])
        .code(2)
        .stdout_has("<!-- skconn-compare -->\n## skconn compare: `dev` and `prod`")
        .stdout_lacks("skconn-plan")
        .stdout_has("### Only in `dev`");
    repo.skconn(["compare", "dev", "dev"])
        .code(1)
        .stderr_has("two different environments");
}

#[test]
fn a_url_that_defaults_to_local_is_the_embedded_environment_until_it_is_set() {
    let dev = emulator();
    let repo = Repo::examples().file(
        "skconn.yaml",
        "environments:\n  dev:\n    url: ${SK_DEV_URL:-local}\n    client_id: ${SK_DEV_ID}\n    client_secret: ${SK_DEV_SECRET}\n",
    );
    // Unset: the embedded environment, with no credential, even in CI (it is configured).
    repo.cmd(["apply", "--auto-approve"])
        .env("CI", "true")
        .run()
        .code(0);
    assert!(repo.path().join(".skconn/dev.json").is_file());
    assert!(dev.requests().is_empty());
    // Set: that Scalekit environment, which needs its credentials.
    let repo = repo.var("SK_DEV_URL", &dev.url());
    repo.skconn(["plan"]).code(1).stderr_has("SK_DEV_ID");
    let repo = repo
        .var("SK_DEV_ID", dev.client_id())
        .var("SK_DEV_SECRET", dev.client_secret());
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), example_count());
}

#[test]
fn this_repository_s_quick_start_plans_two_local_environments() {
    let repo = Repo::examples().file(
        "skconn.yaml",
        std::fs::read(crate_root().join("skconn.yaml")).unwrap(),
    );
    copy_dir(&crate_root().join("schema"), &repo.path().join("schema"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has(&format!("Plan: {} to create", example_count()));
    let out = repo.skconn(["plan"]);
    out.code(0)
        .stdout_has("Environment dev:")
        .stdout_has("Environment prod:")
        .stdout_has("Total: Plan: 0 to create, 0 to update, 0 to delete.");
    assert!(repo.path().join(".skconn/dev.json").is_file());
    assert!(repo.path().join(".skconn/prod.json").is_file());
}
