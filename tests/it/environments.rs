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
fn import_writes_files_that_plan_as_no_changes() {
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
        .stdout_has("Imported 2 connector(s) from environment dev; 0 skipped.");
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
    // Round trip: only the file that differed from the live one shows.
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("~ update \"Hand Made Two\"")
        .stdout_has("Plan: 0 to create, 1 to update, 0 to delete.");
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
        .stdout_has("No changes.");
    prod.edit("Asana Tasks", |c| {
        c["description"] = json!("edited in prod")
    });
    dev.insert(hand_made("Only In Dev", "x"));
    let out = repo.skconn(["compare", "dev", "prod"]);
    out.code(2)
        .stdout_has("~ update \"Asana Tasks\"")
        .stdout_has("/description: \"edited in prod\" → ")
        .stdout_has("+ create \"Only In Dev\"")
        .stdout_has("Plan: 1 to create, 1 to update, 0 to delete.");
    let json_out = repo.skconn(["compare", "dev", "prod", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json_out.stdout).unwrap();
    let changes = doc["environments"][0]["changes"].as_array().unwrap();
    let names: Vec<&str> = changes
        .iter()
        .map(|c| c["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Only In Dev", "Asana Tasks"]);
    repo.skconn(["compare", "dev", "dev"])
        .code(1)
        .stderr_has("two different environments");
}
