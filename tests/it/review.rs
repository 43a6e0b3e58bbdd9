//! Plans a reviewer can approve: whole objects for creates and deletes, diffs by meaning,
//! warnings only where they mean something, refused and failed plans in every format, the curl
//! form, adoption, and the JSON Schema of the plan format — through the real binary against
//! emulators, with snapshots of what a reviewer reads.

use crate::support::*;
use serde_json::{json, Value};

const OAUTH: &str = "display_name: Tasks API\ndescription: Tasks of the team\nproxy_url: https://api.tasks.example.com\nauth_patterns:\n  - type: OAUTH\n    display_name: OAuth\n    oauth_config:\n      authorize_uri: https://auth.tasks.example.com/authorize\n      token_uri: https://auth.tasks.example.com/token\n      available_scopes:\n        - scope: tasks:read\n          display_name: Read tasks\n          required: true\n        - scope: profile\n          display_name: Profile\n";

const BEARER: &str = "display_name: Billing API\ndescription: Invoices and payments, with a description long enough to wrap onto a second line when a plan shows the whole object.\nproxy_url: https://api.billing.example.com/v2\nmetadata:\n  team: payments\nauth_patterns:\n  - type: BEARER\n    display_name: Bearer token\n    fields:\n      - field_name: token\n        label: API token\n        input_type: password\n        required: true\n";

/// Replaces server-made numbers (identifiers `name:12345`, ports `127.0.0.1:8787`: four digits
/// or more after a colon) with `N`; line and column numbers stay.
fn redact(text: &str) -> String {
    let text = &redact_digests(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        out.push(chars[i]);
        i += 1;
        if chars[i - 1] != ':'
            || i < 2
            || !(chars[i - 2].is_ascii_alphanumeric() || chars[i - 2] == '_')
        {
            continue;
        }
        let digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits >= 4 {
            out.push('N');
            i += digits;
        }
    }
    out
}

/// The warnings about a change itself: those about its file (the example hosts of these
/// connectors) carry `file` and are left out.
fn change_warnings(c: &Value) -> Vec<&Value> {
    c["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.get("file").is_none())
        .collect()
}

/// The plan JSON schema, compiled.
pub(crate) struct PlanSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl PlanSchema {
    pub(crate) fn new() -> PlanSchema {
        let text = std::fs::read_to_string(crate_root().join("schema/plan.schema.json")).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource("urn:skconn:plan:2", schema).unwrap();
        let index = compiler
            .compile("urn:skconn:plan:2", &mut schemas)
            .unwrap_or_else(|e| panic!("the plan schema does not compile: {e:#}"));
        PlanSchema { schemas, index }
    }

    #[track_caller]
    pub(crate) fn check(&self, doc: &Value) {
        if let Err(e) = self.schemas.validate(doc, self.index) {
            panic!("the JSON plan does not match schema/plan.schema.json: {e:#}\n{doc:#}");
        }
    }
}

/// Plans in text, Markdown and JSON, snapshots each (redacted), checks the JSON against the
/// schema, and returns the JSON document.
#[track_caller]
fn snapshot_plan(repo: &Repo, name: &str, code: i32) -> Value {
    let text = repo.skconn(["plan"]);
    text.code(code);
    let markdown = repo.skconn(["plan", "--format", "markdown"]);
    markdown.code(code);
    let json_out = repo.skconn(["plan", "--format", "json"]);
    json_out.code(code);
    let doc: Value = serde_json::from_str(&json_out.stdout).expect("one JSON document");
    PlanSchema::new().check(&doc);
    insta::assert_snapshot!(format!("{name}_text"), redact(&text.stdout));
    insta::assert_snapshot!(format!("{name}_markdown"), redact(&markdown.stdout));
    insta::assert_snapshot!(format!("{name}_json"), redact(&json_out.stdout));
    doc
}

/// A repository with `files` applied to a fresh (seeded) environment, then edited by `edit`.
fn applied(files: &[(&str, &str)], prune: &str) -> (skconn::emulator::Emulator, Repo) {
    let dev = emulator_with(|c| c.seed = Some(12));
    let mut repo = Repo::new().env("dev", &dev, prune);
    for (name, text) in files {
        repo = repo.connector(name, *text);
    }
    if !files.is_empty() {
        repo.skconn(["apply", "--auto-approve"]).code(0);
    }
    (dev, repo)
}

#[test]
fn a_create_shows_the_whole_object() {
    let (_dev, repo) = applied(&[], "managed");
    let repo = repo.connector("billing.yaml", BEARER);
    let doc = snapshot_plan(&repo, "create", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(c["action"], "create");
    assert_eq!(
        c["after"]["proxy_url"],
        "https://api.billing.example.com/v2"
    );
    assert_eq!(c["after"]["auth_patterns"][0]["type"], "BEARER");
    repo.skconn(["plan"])
        .stdout_has("+ proxy_url     = \"https://api.billing.example.com/v2\"")
        .stdout_has("+ auth_patterns[BEARER]")
        .stdout_has("+ fields[token]");
}

#[test]
fn a_delete_shows_what_goes() {
    let (_dev, repo) = applied(
        &[("billing.yaml", BEARER), ("tasks.yaml", OAUTH)],
        "managed",
    );
    let repo = repo.remove("connectors/billing.yaml");
    let doc = snapshot_plan(&repo, "delete", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(c["action"], "delete");
    assert_eq!(c["before"]["metadata"], json!({"team": "payments"}));
    assert!(c["after"].is_null());
}

#[test]
fn adding_a_scope_at_the_top_is_one_named_line_and_one_named_warning() {
    let (_dev, repo) = applied(&[("tasks.yaml", OAUTH)], "managed");
    let repo = repo.edit("connectors/tasks.yaml", |t| {
        t.replace(
            "      available_scopes:\n",
            "      available_scopes:\n        - scope: tasks:write\n          display_name: Write tasks\n",
        )
    });
    let doc = snapshot_plan(&repo, "scope_added", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(c["diff"].as_array().unwrap().len(), 1, "{c:#}");
    assert_eq!(
        c["diff"][0]["path"],
        "auth_patterns[OAUTH].oauth_config.available_scopes[tasks:write]"
    );
    assert_eq!(
        c["diff"][0]["pointer"],
        "/auth_patterns/0/oauth_config/available_scopes/0"
    );
    let warnings = change_warnings(c);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "scopes");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("OAuth scopes added: tasks:write"),
        "{message}"
    );
    assert!(message.contains("re-authorize"), "{message}");
}

#[test]
fn a_description_change_carries_no_warning() {
    let (_dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.edit("connectors/billing.yaml", |t| {
        t.replace("Invoices and payments", "Invoices, refunds and payments")
            .replace("team: payments", "team: finance")
    });
    let out = repo.skconn(["plan", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(c["action"], "update");
    // Only the file's own warning (its example host), no warning about the change.
    let kinds: Vec<&Value> = c["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["kind"])
        .collect();
    assert_eq!(kinds, [&json!("example_host")]);
    repo.skconn(["plan"])
        .stdout_has("~ description: ")
        .stdout_has("~ metadata.team: \"payments\" → \"finance\"")
        .stdout_lacks("re-authorize")
        .stdout_lacks("! OAuth");
}

#[test]
fn an_auth_relevant_change_names_what_changed() {
    let (_dev, repo) = applied(&[("tasks.yaml", OAUTH)], "managed");
    let repo = repo.edit("connectors/tasks.yaml", |t| {
        t.replace(
            "https://auth.tasks.example.com/token",
            "https://auth.tasks.example.com/oauth2/token",
        )
    });
    repo.skconn(["plan"])
        .stdout_has("! changes how connections authenticate (auth_patterns[OAUTH].oauth_config.token_uri): existing connections and connected accounts may need to re-authorize");
}

#[test]
fn a_field_label_change_is_one_line_under_that_field() {
    let (_dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.edit("connectors/billing.yaml", |t| {
        t.replace("label: API token", "label: Secret API token")
    });
    let doc = snapshot_plan(&repo, "label_changed", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(
        c["diff"],
        json!([{"op": "replace", "path": "auth_patterns[BEARER].fields[token].label",
                "pointer": "/auth_patterns/0/fields/0/label", "old": "API token", "new": "Secret API token"}])
    );
    assert!(change_warnings(c).is_empty(), "{c:#}");
}

#[test]
fn a_pure_reorder_is_one_order_changed_line() {
    let (_dev, repo) = applied(&[("tasks.yaml", OAUTH)], "managed");
    let repo = repo.edit("connectors/tasks.yaml", |t| {
        let read = "        - scope: tasks:read\n          display_name: Read tasks\n          required: true\n";
        let profile = "        - scope: profile\n          display_name: Profile\n";
        t.replace(&format!("{read}{profile}"), &format!("{profile}{read}"))
    });
    let doc = snapshot_plan(&repo, "reorder", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(
        c["diff"],
        json!([{"op": "reorder", "path": "auth_patterns[OAUTH].oauth_config.available_scopes",
                "pointer": "/auth_patterns/0/oauth_config/available_scopes",
                "old": ["tasks:read", "profile"], "new": ["profile", "tasks:read"]}])
    );
    assert!(change_warnings(c).is_empty(), "{c:#}");
    repo.skconn(["plan"]).stdout_has(
        "~ auth_patterns[OAUTH].oauth_config.available_scopes: order changed: [tasks:read, profile] → [profile, tasks:read]",
    );
}

#[test]
fn a_boolean_flip_shows_old_and_new() {
    let (_dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.edit("connectors/billing.yaml", |t| {
        t.replace("required: true", "required: false")
    });
    let doc = snapshot_plan(&repo, "boolean_flip", 0);
    let c = &doc["environments"][0]["changes"][0];
    assert_eq!(
        c["diff"],
        json!([{"op": "replace", "path": "auth_patterns[BEARER].fields[token].required",
                "pointer": "/auth_patterns/0/fields/0/required", "old": true, "new": false}])
    );
    // Which fields are required is auth-relevant.
    assert_eq!(c["warnings"][0]["kind"], "reauthorize");
    repo.skconn(["plan"])
        .stdout_has("~ auth_patterns[BEARER].fields[token].required: true → false");
}

#[test]
fn a_refused_plan_says_why_and_how_to_proceed_in_every_format() {
    let (dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.remove("connectors/billing.yaml");
    let doc = snapshot_plan(&repo, "refused", 3);
    let refused = doc["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["environment"], "dev");
    assert!(refused[0]["reason"]
        .as_str()
        .unwrap()
        .contains("empty or missing"));
    assert!(refused[0]["how_to_proceed"]
        .as_str()
        .unwrap()
        .contains("--allow-empty"));
    repo.skconn(["plan", "--format", "markdown"])
        .code(3)
        .stdout_has("> [!CAUTION]")
        .stdout_has("**To proceed:**");
    repo.skconn(["plan"])
        .code(3)
        .stdout_has("Refused: this plan is not safe to apply")
        .stderr_has("refused as unsafe");
    assert!(dev.connector("Billing API").is_some());
}

#[test]
fn a_failed_plan_still_writes_a_markdown_body_that_says_so() {
    let (_dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.connector(
        "broken.yaml",
        "display_name: Broken\nproxy_ulr: https://x.example.com\n",
    );
    let text = repo.skconn(["plan"]);
    text.code(1).stderr_has("did you mean `proxy_url`?");
    assert_eq!(text.stdout, "");
    let markdown = repo.skconn(["plan", "--format", "markdown"]);
    markdown
        .code(1)
        .stdout_has("<!-- skconn-plan -->")
        .stdout_has("**The plan failed: no plan was made, and nothing was changed.**")
        .stdout_has("connectors/broken.yaml:2:1");
    let json_out = repo.skconn(["plan", "--format", "json"]);
    json_out.code(1);
    let doc: Value = serde_json::from_str(&json_out.stdout).unwrap();
    PlanSchema::new().check(&doc);
    assert!(doc["error"].as_str().unwrap().contains("proxy_ulr"));
    insta::assert_snapshot!("failed_text", redact(&text.stderr));
    insta::assert_snapshot!("failed_markdown", redact(&markdown.stdout));
    insta::assert_snapshot!("failed_json", redact(&json_out.stdout));
    // The job summary gets it too, so that it never shows an older plan.
    let summary = repo.path().join("summary.md");
    repo.cmd(["plan"])
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run()
        .code(1);
    assert!(std::fs::read_to_string(&summary)
        .unwrap()
        .contains("The plan failed"));
}

#[test]
fn a_failed_plan_never_shows_a_secret() {
    let (dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let wrong = "wrong-secret-value-4711";
    for format in ["markdown", "json"] {
        let out = repo
            .cmd(["plan", "--format", format])
            .env("SK_DEV_SECRET", wrong)
            .run();
        out.code(1);
        assert!(!out.stdout.is_empty(), "no body for a failed plan");
        assert!(!out.all().contains(wrong), "{out}");
        assert!(!out.all().contains(dev.client_secret()), "{out}");
    }
}

#[test]
fn the_curl_form_is_the_requests_apply_sends() {
    let (dev, repo) = applied(
        &[("billing.yaml", BEARER), ("tasks.yaml", OAUTH)],
        "managed",
    );
    let repo = repo
        .remove("connectors/billing.yaml")
        .connector("new.yaml", BEARER.replace("Billing API", "Brand New"))
        .edit("connectors/tasks.yaml", |t| {
            t.replace("Tasks of the team", "Tasks of the team, and it's quoted")
        });
    let out = repo.skconn(["plan", "--format", "curl"]);
    out.code(0)
        .stdout_has("env_access_token=$(curl --location --request POST \"$SCALEKIT_ENVIRONMENT_URL/oauth/token\"")
        .stdout_has("--data-urlencode \"client_secret=$SCALEKIT_CLIENT_SECRET\"")
        .stdout_has("curl --location --request POST \"$SCALEKIT_ENVIRONMENT_URL/api/v1/custom-providers\"")
        .stdout_has("curl --location --request PUT \"$SCALEKIT_ENVIRONMENT_URL/api/v1/custom-providers/tasks_api:")
        .stdout_has("curl --location --request DELETE \"$SCALEKIT_ENVIRONMENT_URL/api/v1/custom-providers/billing_api:")
        .stdout_has("--header \"Authorization: Bearer $env_access_token\"")
        .stdout_has("it'\\''s quoted");
    assert!(!out.stdout.contains(dev.client_secret()));
    for t in dev.issued_tokens() {
        assert!(!out.stdout.contains(&t), "a token shows");
    }
    insta::assert_snapshot!("curl", redact(&out.stdout));

    // The bodies are exactly what apply sends.
    let bodies: Vec<Value> = out
        .stdout
        .split("--data '")
        .skip(1)
        .map(|rest| {
            let end = rest.find("}'\n").expect("body end") + 1;
            serde_json::from_str(&rest[..end].replace("'\\''", "'")).expect("JSON body")
        })
        .collect();
    assert_eq!(bodies.len(), 2);
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let sent: Vec<Value> = dev
        .requests()
        .iter()
        .filter(|r| r.method == "POST" || r.method == "PUT")
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.body.clone().expect("a JSON body"))
        .collect();
    assert_eq!(sent.len(), 2);
    for b in &bodies {
        assert!(sent.contains(b), "curl body {b:#} was not sent");
    }
}

#[test]
fn adoption_end_to_end() {
    let dev = emulator();
    dev.insert(json!({"display_name": "Hand Made", "description": "built in the dashboard",
        "proxy_url": "https://hand.example.com", "proxy_enabled": true,
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token", "input_type": "password"}]}]}));
    let repo = Repo::new().env("dev", &dev, "managed");
    repo.skconn(["import", "--env", "dev"])
        .code(0)
        .stdout_has("wrote connectors/hand-made.yaml")
        .stdout_has("adopts them");
    // Plan shows only the adoption, in every format; it is a change.
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("= adopt \"Hand Made\"")
        .stdout_has("Plan: 0 to create, 1 to adopt, 0 to update, 0 to delete.");
    repo.skconn(["plan", "--format", "markdown"])
        .stdout_has("| 🔵 | adopt | Hand Made |");
    let doc: Value =
        serde_json::from_str(&repo.skconn(["plan", "--format", "json"]).stdout).unwrap();
    PlanSchema::new().check(&doc);
    let env = &doc["environments"][0];
    assert_eq!(env["summary"]["adopt"], 1);
    assert_eq!(env["changes"][0]["action"], "adopt");
    assert_eq!(env["changes"][0]["diff"], json!([]));
    let before = dev.connector("Hand Made").unwrap();
    // Apply writes it once, with the marker, and nothing else changes.
    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ adopted \"Hand Made\"");
    let writes: Vec<_> = dev
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
    let after = dev.connector("Hand Made").unwrap();
    assert_eq!(after["metadata"]["managed_by"], "skconn");
    assert_eq!(after["identifier"], before["identifier"]);
    for key in ["description", "proxy_url", "auth_patterns"] {
        assert_eq!(after[key], before[key], "{key} changed");
    }
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
    // Managed now: with prune: managed, removing its file deletes it.
    let repo = repo.remove("connectors/hand-made.yaml");
    repo.skconn(["apply", "--auto-approve", "--allow-empty"])
        .code(0)
        .stdout_has("✓ deleted \"Hand Made\"");
    assert!(dev.connector("Hand Made").is_none());
}

#[test]
fn a_saved_plan_applied_twice_says_it_was_already_applied() {
    let (dev, repo) = applied(&[("billing.yaml", BEARER)], "managed");
    let repo = repo.connector("tasks.yaml", OAUTH);
    let f = repo.path().join("p.json");
    let f = f.to_str().unwrap();
    repo.skconn(["plan", "--out", f]).code(0);
    repo.skconn(["apply", f]).code(0);
    dev.clear_requests();
    repo.skconn(["apply", f])
        .code(0)
        .stdout_has("was already applied");
    assert!(dev
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.path == "/oauth/token"));
}

#[test]
fn colour_in_github_actions_unless_no_color_or_never() {
    let (_dev, repo) = applied(&[], "managed");
    let repo = repo.connector("billing.yaml", BEARER);
    repo.cmd(["plan"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .code(0)
        .stdout_has("\x1b[32m+");
    repo.cmd(["plan"])
        .env("GITHUB_ACTIONS", "true")
        .env("NO_COLOR", "1")
        .run()
        .stdout_lacks("\x1b[");
    repo.cmd(["plan", "--color", "never"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .stdout_lacks("\x1b[");
    repo.skconn(["plan"]).stdout_lacks("\x1b[");
}

#[test]
fn masked_values_stay_masked_in_whole_objects_diffs_and_curl() {
    let dev = emulator();
    let text = BEARER.replace(
        "https://api.billing.example.com/v2",
        "https://${BILLING_HOST}/v2",
    );
    let repo = Repo::new()
        .connector("billing.yaml", &text)
        .env("dev", &dev, "managed")
        .var("BILLING_HOST", "old-internal-host.example.com");
    for format in ["text", "markdown", "json", "curl"] {
        let out = repo.skconn(["plan", "--format", format]);
        out.code(0).stdout_has("***");
        assert!(!out.all().contains("old-internal-host"), "{format}\n{out}");
    }
    repo.skconn(["apply", "--auto-approve"]).code(0);
    // A rotated value: the old one is masked too, in the diff and in `before`.
    let repo = repo.var("BILLING_HOST", "new-internal-host.example.com");
    for format in ["text", "markdown", "json", "curl"] {
        let out = repo.skconn(["plan", "--format", format]);
        out.code(0);
        for leak in ["old-internal-host", "new-internal-host"] {
            assert!(!out.all().contains(leak), "{format} shows {leak}\n{out}");
        }
    }
}

#[test]
fn compare_has_its_own_shape_in_every_format() {
    let (dev, prod) = (
        emulator_with(|c| c.seed = Some(3)),
        emulator_with(|c| c.seed = Some(4)),
    );
    let repo = Repo::new()
        .connector("billing.yaml", BEARER)
        .connector("tasks.yaml", OAUTH)
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    prod.edit("Tasks API", |c| {
        let scopes = c["auth_patterns"][0]["oauth_config"]["available_scopes"]
            .as_array_mut()
            .unwrap();
        scopes.insert(
            0,
            json!({"scope": "tasks:write", "display_name": "Write tasks"}),
        );
    });
    prod.insert(
        json!({"display_name": "Only In Prod", "proxy_url": "https://prod.example.com",
        "auth_patterns": [{"type": "NO_AUTH", "is_mcp": true}]}),
    );
    for (format, name) in [
        ("text", "compare_text"),
        ("markdown", "compare_markdown"),
        ("json", "compare_json"),
    ] {
        let out = repo.skconn(["compare", "dev", "prod", "--format", format]);
        out.code(2);
        insta::assert_snapshot!(name, redact(&out.stdout));
    }
}

#[test]
fn compare_ignores_what_plan_ignores() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::new()
        .connector("billing.yaml", BEARER)
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    // Fields a server owns or added in a newer version, different in each environment.
    for (emu, n) in [(&dev, 1), (&prod, 2)] {
        emu.edit("Billing API", |c| {
            c["created_at"] = json!(format!("2026-01-0{n}T00:00:00Z"));
            c["update_time"] = json!(format!("2026-02-0{n}T00:00:00Z"));
            c["links"] = json!([{"rel": "self", "href": format!("https://env{n}.example.com/x")}]);
            c["provider_type"] = json!(if n == 1 { "CUSTOM" } else { "custom" });
            c["environment_id"] = json!(format!("env_{n}"));
        });
    }
    // plan reads no change there…
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
    // …and compare reads the same connector in both.
    for format in ["text", "markdown", "json"] {
        let out = repo.skconn(["compare", "dev", "prod", "--format", format]);
        out.code(0);
        for field in [
            "created_at",
            "update_time",
            "links",
            "provider_type",
            "environment_id",
        ] {
            out.stdout_lacks(field);
        }
    }
    repo.skconn(["compare", "dev", "prod"])
        .stdout_has("0 different, 1 the same.");
    // A field plan compares still differs.
    prod.edit("Billing API", |c| {
        c["description"] = json!("edited in prod")
    });
    repo.skconn(["compare", "dev", "prod"])
        .code(2)
        .stdout_has("~ description:");
}
