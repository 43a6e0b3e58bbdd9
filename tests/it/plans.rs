//! A plan CI can trust: JSON and Markdown formats, saved plans, drift, the settle check, renames
//! and the GitHub Actions integration — all through the real binary against emulators.

use crate::support::*;
use serde_json::{json, Value};
use skconn::emulator::Rewrite;

const BEARER: &str = "display_name: Demo Bearer\ndescription: A bearer token API\nproxy_url: https://api.demo.example.com\nauth_patterns:\n  - type: BEARER\n    display_name: Bearer token\n    fields:\n      - field_name: token\n        label: Token\n        input_type: password\n        required: true\n";

const OAUTH: &str = "display_name: Demo OAuth\nproxy_url: https://api.oauth.example.com\nauth_patterns:\n  - type: OAUTH\n    display_name: OAuth\n    oauth_config:\n      authorize_uri: https://auth.example.com/authorize\n      token_uri: https://auth.example.com/token\n      available_scopes:\n        - scope: read\n          display_name: Read\n        - scope: write\n          display_name: Write\n";

fn bearer(name: &str, description: &str) -> String {
    BEARER
        .replace("Demo Bearer", name)
        .replace("A bearer token API", description)
}

fn write_count(emu: &skconn::emulator::Emulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .count()
}

fn seeded() -> skconn::emulator::Emulator {
    emulator_with(|c| c.seed = Some(7))
}

/// A repository with one connector of each action against `dev`: one to create, one to update
/// (with an OAuth scope change), one to delete, one unchanged, one hand-made.
fn mixed() -> (skconn::emulator::Emulator, Repo) {
    let dev = seeded();
    let repo = Repo::new()
        .connector("keep.yaml", bearer("Keep Me", "unchanged"))
        .connector("gone.yaml", bearer("Gone Soon", "to be deleted"))
        .connector("oauth.yaml", OAUTH)
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.insert(
        json!({"display_name": "Hand Made", "proxy_url": "https://hand.example.com",
        "auth_patterns": [{"type": "NO_AUTH", "is_mcp": true}]}),
    );
    let repo = repo
        .remove("connectors/gone.yaml")
        .connector("new.yaml", bearer("Brand New", "created"))
        .edit("connectors/oauth.yaml", |t| {
            t.replace(
                "scope: write\n          display_name: Write",
                "scope: admin\n          display_name: Admin",
            )
        });
    (dev, repo)
}

#[test]
fn json_plan_is_a_documented_contract() {
    let (_dev, repo) = mixed();
    let out = repo.skconn(["plan", "--format", "json", "--detailed-exitcode"]);
    out.code(2);
    let doc: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["format_version"], "2");
    assert_eq!(doc["refused"], json!([]));
    let env = &doc["environments"][0];
    assert_eq!(env["name"], "dev");
    assert_eq!(
        env["summary"],
        json!({"create": 1, "adopt": 0, "update": 1, "delete": 1, "unchanged": 1})
    );
    assert_eq!(env["not_managed"], json!(["Hand Made"]));
    let changes = env["changes"].as_array().unwrap();
    let actions: Vec<&str> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"]);
    for c in changes {
        for key in [
            "action",
            "display_name",
            "identifier",
            "file",
            "drift",
            "before",
            "after",
            "diff",
            "warnings",
        ] {
            assert!(c.get(key).is_some(), "change lacks {key}: {c}");
        }
        assert_eq!(c["drift"], false);
    }
    let create = &changes[0];
    assert!(
        create["identifier"].is_null(),
        "a create has no identifier yet"
    );
    assert!(create["before"].is_null());
    assert_eq!(create["after"]["display_name"], "Brand New");
    assert_eq!(create["after"]["proxy_url"], "https://api.demo.example.com");
    assert_eq!(
        create["after"]["auth_patterns"][0]["fields"][0]["field_name"],
        "token"
    );
    let delete = &changes[2];
    assert!(delete["after"].is_null());
    assert_eq!(delete["before"]["description"], "to be deleted");
    assert!(
        delete["before"]["metadata"].is_null(),
        "skconn's marker is not content: {delete}"
    );
    let update = &changes[1];
    assert_eq!(update["display_name"], "Demo OAuth");
    assert!(update["identifier"]
        .as_str()
        .unwrap()
        .starts_with("demo_oauth"));
    assert_eq!(
        update["before"]["auth_patterns"][0]["oauth_config"]["available_scopes"][1]["scope"],
        "write"
    );
    assert_eq!(
        update["after"]["auth_patterns"][0]["oauth_config"]["available_scopes"][1]["scope"],
        "admin"
    );
    // By meaning: one scope added, one removed, each named by its identity.
    assert_eq!(
        update["diff"],
        json!([
            {"op": "add", "path": "auth_patterns[OAUTH].oauth_config.available_scopes[admin]",
             "pointer": "/auth_patterns/0/oauth_config/available_scopes/1",
             "old": null, "new": {"scope": "admin", "display_name": "Admin"}},
            {"op": "remove", "path": "auth_patterns[OAUTH].oauth_config.available_scopes[write]",
             "pointer": "/auth_patterns/0/oauth_config/available_scopes/1",
             "old": {"scope": "write", "display_name": "Write"}, "new": null},
        ])
    );
    // The change's own warnings (those about the file, its example hosts, carry `file`).
    let warnings: Vec<&Value> = update["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.get("file").is_none())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "scopes");
    assert!(warnings[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("OAuth scopes added: admin;"));
    assert_eq!(warnings[1]["kind"], "scopes");
    assert!(warnings[1]["message"]
        .as_str()
        .unwrap()
        .starts_with("OAuth scopes removed: write;"));

    // The whole document. Identifiers depend on the order of parallel creates: redacted.
    insta::assert_snapshot!("json_plan", redact_identifiers(&out.stdout));
}

#[test]
fn text_plan_shows_every_action_and_the_warnings() {
    let (_dev, repo) = mixed();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("+ create \"Brand New\"")
        .stdout_has("~ update \"Demo OAuth\"")
        .stdout_has("- delete \"Gone Soon\"")
        .stdout_has("! OAuth scopes added: admin")
        .stdout_has("! OAuth scopes removed: write")
        .stdout_has("1 unchanged.")
        .stdout_has("Not managed, left alone: \"Hand Made\"")
        .stdout_has("Plan: 1 to create, 1 to update, 1 to delete.")
        .stdout_lacks("\x1b[");
    // Colour only when asked for (or on a terminal without NO_COLOR).
    repo.skconn(["plan", "--color", "always"])
        .code(0)
        .stdout_has("\x1b[");
}

#[test]
fn markdown_plan_of_500_connectors_stays_under_the_comment_limit() {
    let dev = emulator_with(|c| c.max_page_size = 100);
    let mut repo = Repo::new().env("dev", &dev, "managed");
    for i in 0..500 {
        repo = repo.connector(
            &format!("c{i:03}.yaml"),
            bearer(&format!("Connector {i:03}"), "short"),
        );
    }
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 500);
    let long = "a much longer description ".repeat(8);
    for i in 0..500 {
        repo = repo.edit(&format!("connectors/c{i:03}.yaml"), |t| {
            t.replace("description: short", &format!("description: {long}"))
        });
    }
    // 500 of 500 updated: past the change threshold, so --force.
    let out = repo.skconn(["plan", "--format", "markdown", "--force"]);
    out.code(0)
        .stdout_has("<!-- skconn-plan -->")
        .stdout_has("Plan: 0 to create, 500 to update, 0 to delete.")
        .stdout_has("| 🟡 | update | Connector 000 |");
    let chars = out.stdout.chars().count();
    assert!(chars <= 65_536, "markdown is {chars} characters");
    assert!(
        out.stdout.contains("not shown") || out.stdout.contains("Truncated"),
        "no truncation note"
    );
    // Whole <details> blocks only.
    assert_eq!(
        out.stdout.matches("<details>").count(),
        out.stdout.matches("</details>").count()
    );
}

#[test]
fn a_saved_plan_is_applied_exactly() {
    let (dev, repo) = mixed();
    let plan_file = repo.path().join("plan.json");
    repo.skconn(["plan", "--out", plan_file.to_str().unwrap()])
        .code(0)
        .stdout_has("Saved the plan to");
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    assert!(
        !saved.contains(dev.client_secret()),
        "the saved plan holds the client secret"
    );
    for t in dev.issued_tokens() {
        assert!(!saved.contains(&t), "the saved plan holds a token");
    }
    let saved: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["kind"], "skconn-saved-plan");
    assert_eq!(saved["plan"]["format_version"], "2");

    dev.clear_requests();
    // A saved plan is the approval: no prompt, no --auto-approve needed.
    repo.skconn(["apply", plan_file.to_str().unwrap()])
        .code(0)
        .stdout_has("Applied 3 change(s), 0 failed, 0 not attempted.");
    assert_eq!(write_count(&dev), 3);
    assert!(dev.connector("Brand New").is_some());
    assert!(dev.connector("Gone Soon").is_none());
    // Applying it again: it was already applied, and says so; nothing is sent.
    dev.clear_requests();
    repo.skconn(["apply", plan_file.to_str().unwrap()])
        .code(0)
        .stdout_has("was already applied");
    assert_eq!(write_count(&dev), 0);
}

#[test]
fn a_stale_saved_plan_is_refused_with_zero_writes() {
    let (dev, repo) = mixed();
    let plan_file = repo.path().join("plan.json");
    let f = plan_file.to_str().unwrap();
    repo.skconn(["plan", "--out", f]).code(0);

    // Someone edits a connector in the dashboard.
    dev.edit("Keep Me", |c| {
        c["description"] = json!("edited in the dashboard")
    });
    dev.clear_requests();
    repo.skconn(["apply", f])
        .code(1)
        .stderr_has("environment dev changed since the plan was made")
        .stderr_has("plan --out");
    assert_eq!(write_count(&dev), 0);

    // The files change.
    let repo = repo.edit("connectors/keep.yaml", |t| {
        t.replace("unchanged", "changed in git")
    });
    repo.skconn(["apply", f])
        .code(1)
        .stderr_has("the connector files changed since the plan was made");
    assert_eq!(write_count(&dev), 0);
}

#[test]
fn an_edit_outside_skconn_is_drift_and_a_git_edit_is_not() {
    let dev = seeded();
    let repo = Repo::new()
        .connector("a.yaml", bearer("Edited Live", "original"))
        .connector("b.yaml", bearer("Edited In Git", "original"))
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.edit("Edited Live", |c| {
        c["description"] = json!("changed in the dashboard")
    });
    let repo = repo.edit("connectors/b.yaml", |t| {
        t.replace("original", "changed in git")
    });

    let out = repo.skconn(["plan", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let changes = doc["environments"][0]["changes"].as_array().unwrap();
    let drift =
        |name: &str| changes.iter().find(|c| c["display_name"] == name).unwrap()["drift"].clone();
    assert_eq!(drift("Edited Live"), json!(true));
    assert_eq!(drift("Edited In Git"), json!(false));
    repo.skconn(["plan"])
        .stdout_has("update \"Edited Live\"")
        .stdout_has("(drift: edited outside skconn)");
    repo.skconn(["plan", "--format", "markdown"])
        .stdout_has("**drift**");
    // A scheduled drift check fails on it.
    repo.skconn(["plan", "--detailed-exitcode"]).code(2);
    // Applying restores the file's version and the drift is gone.
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_field_the_server_rewrites_is_caught_by_the_settle_check() {
    let dev = emulator_with(|c| c.rewrite = Rewrite::LowercaseProxyHost);
    let repo = Repo::new()
        .connector(
            "a.yaml",
            bearer("Upper Host", "x").replace(
                "https://api.demo.example.com",
                "https://API.Demo.example.com/v1",
            ),
        )
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"])
        .code(5)
        .stderr_has("the server did not keep what skconn wrote")
        .stderr_has("\"Upper Host\" proxy_url")
        .stderr_has("write \"https://api.demo.example.com/v1\" at proxy_url in connectors/a.yaml");
    // Following the hint settles it.
    let repo = repo.edit("connectors/a.yaml", |t| t.replace("API.Demo", "api.demo"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn previous_names_rename_in_place_keeping_the_identifier() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("a.yaml", bearer("Old Name", "x"))
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let id = dev.connector("Old Name").unwrap()["identifier"].clone();
    let repo = repo.edit("connectors/a.yaml", |t| {
        format!(
            "{}skconn:\n  previous_names: [Old Name]\n",
            t.replace("Old Name", "New Name")
        )
    });
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("~ update \"New Name\"")
        .stdout_has("renames \"Old Name\" in place")
        .stdout_has("Plan: 0 to create, 1 to update, 0 to delete.");
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connector("New Name").unwrap()["identifier"], id);
    assert!(dev.connector("Old Name").is_none());
    assert!(dev
        .requests()
        .iter()
        .all(|r| r.method != "DELETE" && r.method != "POST" || r.path == "/oauth/token"));
}

#[test]
fn the_job_summary_gets_the_markdown_plan() {
    let (_dev, repo) = mixed();
    let summary = repo.path().join("summary.md");
    repo.cmd(["plan"])
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run()
        .code(0);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("## skconn plan"));
    assert!(text.contains("| 🟢 | create | Brand New |"));
    repo.cmd(["apply", "--auto-approve"])
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run()
        .code(0);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("### Apply result"));
    assert!(text.contains("created \"Brand New\""));
}

/// Replaces the server-made number in `"identifier": "name:12345"` with `N`.
fn redact_identifiers(text: &str) -> String {
    redact_digests(text)
        .lines()
        .map(|l| match l.find("\"identifier\": \"") {
            Some(_) => match l.rfind(':') {
                Some(i) if l[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    let tail: String = l[i + 1..]
                        .chars()
                        .skip_while(char::is_ascii_digit)
                        .collect();
                    format!("{}:N{tail}", &l[..i])
                }
                _ => l.to_string(),
            },
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
