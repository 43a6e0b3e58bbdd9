//! End to end: the real `skconn` binary against emulators on loopback, asserting on exit codes,
//! output, and what the server then holds and received.

use crate::support::*;
use serde_json::{json, Value};

fn writes(emu: &skconn::emulator::Emulator) -> Vec<(String, String)> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

const BEARER: &str = "display_name: Demo Bearer\ndescription: A bearer token API\nproxy_url: https://api.demo.example.com\nauth_patterns:\n  - type: BEARER\n    display_name: Bearer token\n    fields:\n      - field_name: token\n        label: Token\n        input_type: password\n        required: true\n";

#[test]
fn examples_validate_without_any_request() {
    let dev = emulator();
    let repo = Repo::examples().env("dev", &dev, "managed");
    repo.skconn(["validate"])
        .code(0)
        .stdout_has(&format!("{} connector file(s)", example_count()));
    assert!(dev.requests().is_empty(), "validate sent requests");
}

#[test]
fn plan_then_apply_creates_every_example_across_pages_then_settles() {
    let dev = emulator(); // page size 3: several pages
    let repo = Repo::examples().env("dev", &dev, "managed");
    let n = example_count();

    repo.skconn(["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has(&format!("Plan: {n} to create, 0 to update, 0 to delete."));
    assert!(writes(&dev).is_empty(), "plan wrote");

    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has(&format!(
            "Applied {n} change(s), 0 failed, 0 not attempted."
        ));
    let stored = dev.connectors();
    assert_eq!(stored.len(), n);
    for c in &stored {
        assert_eq!(
            c["metadata"]["managed_by"], "skconn",
            "marker missing on {c}"
        );
    }
    assert!(n > 3, "the examples must span several pages");

    dev.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Nothing to apply");
    assert!(
        writes(&dev).is_empty(),
        "a second apply wrote: {:?}",
        writes(&dev)
    );
    // Listing followed every page.
    let pages = dev
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/providers")
        .count();
    assert_eq!(pages, n.div_ceil(3));
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
}

#[test]
fn one_changed_file_gives_one_put_with_the_whole_body() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let id = dev.connector("Demo Bearer").unwrap()["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    let repo = repo.edit("connectors/bearer.yaml", |t| {
        t.replace("A bearer token API", "A changed description")
    });
    dev.clear_requests();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("~ update \"Demo Bearer\"")
        .stdout_has("~ description: \"A bearer token API\" → \"A changed description\"")
        .stdout_has("Plan: 0 to create, 1 to update, 0 to delete.");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let puts: Vec<_> = dev
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    let encoded: String = url_path_segment(&id);
    assert_eq!(puts[0].path, format!("/api/v1/custom-providers/{encoded}"));
    let body = puts[0].body.clone().expect("PUT has a body");
    // The whole object: every API field, and the marker.
    for field in [
        "display_name",
        "description",
        "proxy_url",
        "proxy_enabled",
        "auth_patterns",
        "metadata",
        "icon_src",
    ] {
        assert!(body.get(field).is_some(), "PUT body lacks {field}: {body}");
    }
    assert_eq!(body["proxy_enabled"], json!(true));
    assert_eq!(body["metadata"]["managed_by"], json!("skconn"));
    assert_eq!(
        dev.connector("Demo Bearer").unwrap()["description"],
        "A changed description"
    );
    assert_eq!(
        dev.connector("Demo Bearer").unwrap()["identifier"],
        json!(id)
    );
}

fn url_path_segment(s: &str) -> String {
    // What a client may send for an identifier: ':' needs no escaping in a path segment, but
    // either form is acceptable; normalise to the decoded form for comparison.
    s.to_string()
}

fn hand_made(name: &str) -> Value {
    json!({"display_name": name, "proxy_url": "https://hand.example.com", "proxy_enabled": true,
           "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token", "input_type": "password"}]}]})
}

#[test]
fn prune_off_keeps_everything_not_in_git() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "off");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.insert(hand_made("Hand Made"));
    let repo = repo
        .remove("connectors/bearer.yaml")
        .connector("other.yaml", BEARER.replace("Demo Bearer", "Other Bearer"));
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Not managed, left alone: \"Demo Bearer\", \"Hand Made\"");
    assert!(dev.connector("Demo Bearer").is_some());
    assert!(dev.connector("Hand Made").is_some());
    assert!(writes(&dev).iter().all(|(m, _)| m != "DELETE"));
}

#[test]
fn prune_managed_deletes_only_what_skconn_wrote() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.insert(hand_made("Hand Made"));
    let repo = repo
        .remove("connectors/bearer.yaml")
        .connector("other.yaml", BEARER.replace("Demo Bearer", "Other Bearer"));
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("- delete \"Demo Bearer\"")
        .stdout_has("Not managed, left alone: \"Hand Made\"");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert!(dev.connector("Demo Bearer").is_none());
    assert!(
        dev.connector("Hand Made").is_some(),
        "a hand-made connector must survive prune: managed"
    );
    assert!(dev.connector("Other Bearer").is_some());
}

#[test]
fn prune_all_deletes_every_connector_not_in_git() {
    let dev = emulator();
    dev.insert(hand_made("Hand Made"));
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "all");
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("- delete \"Hand Made\"");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let names: Vec<_> = dev
        .connectors()
        .iter()
        .map(|c| c["display_name"].clone())
        .collect();
    assert_eq!(names, [json!("Demo Bearer")]);
}

#[test]
fn apply_without_a_terminal_refuses_without_auto_approve() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed");
    repo.skconn(["apply"])
        .code(1)
        .stderr_has("stdin is not a terminal")
        .stderr_has("--auto-approve");
    assert!(writes(&dev).is_empty());
}

#[test]
fn wrong_client_secret_fails_clearly_and_names_the_environment() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed")
        .var("SK_DEV_SECRET", "definitely-the-wrong-secret");
    let out = repo.skconn(["plan"]);
    out.code(1).stderr_has("dev");
    assert!(
        out.stderr.to_lowercase().contains("credentials") || out.stderr.contains("invalid_client"),
        "{out}"
    );
    assert!(
        !out.all().contains("definitely-the-wrong-secret"),
        "the secret was printed\n{out}"
    );
}

#[test]
fn a_missing_variable_in_skconn_yaml_is_named_and_nothing_is_sent() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed");
    let repo = repo.edit("skconn.yaml", |t| {
        t.replace("${SK_DEV_ID}", "${SK_DEV_MISSING_ID}")
    });
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("skconn.yaml:4")
        .stderr_has("SK_DEV_MISSING_ID");
    assert!(dev.requests().is_empty());
}

#[test]
fn two_environments_get_the_same_connectors_with_their_own_identifiers() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    let n = example_count();
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("Environment dev:")
        .stdout_has("Environment prod:")
        .stdout_has(&format!("Total: Plan: {} to create", 2 * n));
    assert_eq!(dev.connectors().len(), n);
    assert_eq!(prod.connectors().len(), n);
    for d in dev.connectors() {
        let p = prod.connector(d["display_name"].as_str().unwrap()).unwrap();
        assert_ne!(
            d["identifier"], p["identifier"],
            "identifiers must differ per environment"
        );
    }
    // --env picks one.
    let dev2 = emulator();
    let repo = repo.env("later", &dev2, "managed");
    repo.skconn(["plan", "--env", "later"])
        .code(0)
        .stdout_lacks("Environment dev:");
    repo.skconn(["plan", "--env", "nope"])
        .code(1)
        .stderr_has("unknown environment `nope`");
}

#[test]
fn the_local_environment_round_trips_with_no_configuration() {
    let repo = Repo::examples();
    let n = example_count();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("Environment local:")
        .stdout_has(&format!("Plan: {n} to create"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert!(repo.path().join(".skconn/local.json").exists());
    repo.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Plan: 0 to create, 0 to update, 0 to delete.");
    // A deleted file is pruned from the local environment (prune: managed).
    let first = std::fs::read_dir(repo.path().join("connectors"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(first).unwrap();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("0 to update, 1 to delete.");
}

#[test]
fn no_secret_or_token_appears_at_trace_level() {
    let dev = emulator_with(|c| c.token_ttl = std::time::Duration::from_secs(3600));
    let repo = Repo::examples().env("dev", &dev, "managed");
    let mut everything = String::new();
    for args in [
        vec!["validate"],
        vec!["plan"],
        vec!["apply", "--auto-approve"],
        vec!["plan", "--detailed-exitcode"],
        vec!["-vvv", "plan"],
        vec!["plan", "--out", "saved-plan.json"],
        vec!["apply", "saved-plan.json"],
        vec!["import", "--env", "dev"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
    ] {
        let out = repo.cmd(&args).env("RUST_LOG", "trace").run();
        everything.push_str(&out.all());
    }
    // Wrong secret at trace level too.
    let bad = repo
        .cmd(["plan"])
        .env("RUST_LOG", "trace")
        .env("SK_DEV_SECRET", "wrong-secret-value-123")
        .run();
    everything.push_str(&bad.all());
    everything.push_str(&std::fs::read_to_string(repo.path().join("saved-plan.json")).unwrap());
    assert!(
        everything.contains("\ntrace: ") || everything.contains("\ndebug: "),
        "trace logging was not on"
    );
    let secret = dev.client_secret().to_string();
    assert!(
        !everything.contains(&secret),
        "the client secret was printed"
    );
    assert!(
        !everything.contains("wrong-secret-value-123"),
        "a wrong secret was printed"
    );
    let tokens = dev.issued_tokens();
    assert!(!tokens.is_empty());
    for t in tokens {
        assert!(!everything.contains(&t), "an access token was printed");
    }
}

/// The `# expect: LINE:COL FIELD MESSAGE` lines at the top of a fixture.
fn expectations(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ' ');
            let pos = parts.next().unwrap_or_default().to_string();
            let field = parts.next().unwrap_or_default().to_string();
            let msg = parts.next().unwrap_or_default().to_string();
            (pos, field, msg)
        })
        .collect()
}

#[test]
fn every_invalid_fixture_fails_with_file_line_and_field_and_sends_nothing() {
    let dir = crate_root().join("tests/fixtures/invalid");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 30,
        "expected a fixture per rule, found {}",
        fixtures.len()
    );
    let dev = emulator();
    for path in fixtures {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = expectations(&text);
        assert!(!expected.is_empty(), "{name} has no `# expect:` line");
        // Next to a valid connector, so the failure is the fixture's alone.
        let repo = Repo::new()
            .connector("ok.yaml", BEARER)
            .connector(&name, &text)
            .env("dev", &dev, "managed");
        for cmd in ["validate", "plan"] {
            let out = repo.skconn([cmd]);
            out.code(1)
                .stderr_has("nothing was sent to any environment");
            for (pos, field, msg) in &expected {
                // 0:0 is a problem of the whole file: no line to point at.
                let location = if pos == "0:0" {
                    format!("connectors/{name}: ")
                } else {
                    format!("connectors/{name}:{pos}")
                };
                out.stderr_has(&location).stderr_has(msg);
                if field != "-" {
                    out.stderr_has(&format!("{field}: "));
                }
                let line = out
                    .stderr
                    .lines()
                    .find(|l| l.contains(&location) && l.contains(msg.as_str()))
                    .unwrap_or_else(|| {
                        panic!("{name}: no line with {location} and {msg:?}\n{out}")
                    });
                assert!(line.starts_with("error: "), "{name}: {line}");
            }
            assert!(out.stderr.contains("help:"), "{name}: no help given\n{out}");
        }
    }
    assert!(
        dev.requests().is_empty(),
        "requests were sent while input was invalid: {:?}",
        dev.requests().len()
    );
}

#[test]
fn github_actions_gets_error_annotations_for_bad_files() {
    let text = std::fs::read_to_string(
        crate_root().join("tests/fixtures/invalid/display_name_hyphen.yaml"),
    )
    .unwrap();
    let repo = Repo::new().connector("bad.yaml", &text);
    let out = repo.cmd(["validate"]).env("GITHUB_ACTIONS", "true").run();
    out.code(1)
        .stdout_has("::error file=connectors/bad.yaml,line=3,col=15::display_name: ");
}

#[test]
fn a_document_on_stdout_stays_whole_in_github_actions() {
    // In a job, `plan --format json > plan.json` must stay a JSON document when the files are
    // invalid (or carry warnings): the workflow commands go to stderr, which GitHub reads too.
    let text = std::fs::read_to_string(
        crate_root().join("tests/fixtures/invalid/display_name_hyphen.yaml"),
    )
    .unwrap();
    let repo = Repo::new()
        .file("skconn.yaml", "environments:\n  dev:\n    url: local\n")
        .connector("bad.yaml", &text);
    for format in ["json", "markdown"] {
        let out = repo
            .cmd(["plan", "--format", format])
            .env("GITHUB_ACTIONS", "true")
            .run();
        out.code(1)
            .stdout_lacks("::error")
            .stderr_has("::error file=connectors/bad.yaml,line=3,col=15::display_name: ");
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{out}"));
            assert!(doc["error"].as_str().unwrap().contains("display_name"));
        }
    }
    // A text plan keeps them on stdout, as before.
    repo.cmd(["plan"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .code(1)
        .stdout_has("::error file=connectors/bad.yaml");
}

/// Runs `skconn apply` on a pseudo-terminal (util-linux `script`), typing `answer`.
fn apply_on_a_terminal(repo: &Repo, dev: &skconn::emulator::Emulator, answer: &str) -> Out {
    use std::io::Write;
    let mut c = std::process::Command::new("script");
    c.current_dir(repo.path())
        .args([
            "-qec",
            &format!("{} apply", env!("CARGO_BIN_EXE_skconn")),
            "/dev/null",
        ])
        .env("SK_DEV_URL", dev.url())
        .env("SK_DEV_ID", dev.client_id())
        .env("SK_DEV_SECRET", dev.client_secret())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("util-linux `script` runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("bearer.yaml", BEARER)
        .env("dev", &dev, "managed");
    let out = apply_on_a_terminal(&repo, &dev, "no");
    out.stdout_has("Do you want to apply these changes?")
        .stdout_has("apply cancelled");
    assert!(writes(&dev).is_empty(), "a refused apply wrote");
    let out = apply_on_a_terminal(&repo, &dev, "yes");
    out.stdout_has("Applied 1 change(s)")
        // A terminal, but NO_COLOR: no colour.
        .stdout_lacks("\x1b[32m")
        // Progress is shown on a terminal.
        .stdout_has("dev: applied 1/1");
    assert!(dev.connector("Demo Bearer").is_some());
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let repo = Repo::new();
    repo.skconn(["bogus"])
        .code(1)
        .stderr_has("unrecognized subcommand");
    repo.skconn(["plan", "--format", "yaml"]).code(1);
    repo.skconn(["--help"])
        .code(0)
        .stdout_has("Exit codes:")
        .stdout_has("NO_COLOR");
    repo.skconn(["apply", "--help"])
        .code(0)
        .stdout_has("--auto-approve");
}

// ---- every problem at once, and warnings ----------------------------------------------------

#[test]
fn skconn_yaml_reports_every_problem_in_one_run() {
    // An unknown key, a duplicate key, a wrong type and a tab used to hide the rules checked
    // after them (a URL with a user and password, a percent over 100, the owner's name).
    let repo = Repo::new().file(
        "skconn.yaml",
        "environments:\n  dev:\n    url: https://someone:hunter2-password@dev.acme.test\n    client_id: ${ID}\n    client_secret: ${SECRET}\n    prnue: managed\n    change_threshold: {percent: 300}\n  prod:\n    url: https://:8443/v2\n    client_id: 1.10\n    client_secret: ${SECRET}\n\tprune: off\nowner: \"two words\"\nowner: x\n",
    );
    let out = repo.skconn(["validate"]);
    out.code(1)
        .stderr_has("skconn.yaml:3:5: environments.dev.url: ")
        .stderr_has("must not hold")
        .stderr_has("skconn.yaml:6:5: environments.dev.prnue: unknown key `prnue`")
        .stderr_has("skconn.yaml:7:5: environments.dev.change_threshold: `percent` must be a whole number from 0 to 100")
        .stderr_has("skconn.yaml:9:5: environments.prod.url: `https://:8443/v2` has no host")
        .stderr_has("skconn.yaml:10:16: environments.prod.client_id: expected text")
        .stderr_has("skconn.yaml:12:1: a tab character is used for indentation")
        .stderr_has("skconn.yaml:13:1: owner: `two words` is not a valid owner name")
        .stderr_has("skconn.yaml:14:1: owner: duplicate key `owner`")
        .stderr_has("8 problems in the input")
        .stderr_lacks("hunter2");
}

#[test]
fn a_url_without_a_host_is_refused_in_skconn_yaml_as_in_connector_files() {
    for url in ["https:///v2", "https://:8443/v2"] {
        let repo = Repo::new()
            .file(
                "skconn.yaml",
                format!("environments:\n  dev:\n    url: {url}\n    client_id: a\n    client_secret: ${{S}}\n"),
            )
            .var("S", "a-long-enough-secret");
        repo.skconn(["validate"]).code(1).stderr_has(&format!(
            "skconn.yaml:3:5: environments.dev.url: `{url}` has no host"
        ));
        let repo = Repo::new().connector(
            "a.yaml",
            format!("display_name: No Host\nproxy_url: {url}\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\n"),
        );
        repo.skconn(["validate"]).code(1).stderr_has(&format!(
            "connectors/a.yaml:2:12: proxy_url: `{url}` has no host"
        ));
    }
}

const UNFILLED: &str = "# FILL IN: the API's base URL.\ndisplay_name: Unfilled API\nproxy_url: https://api.example.com/v1\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n";

#[test]
fn validate_warns_about_what_a_template_left_and_still_succeeds() {
    let repo = Repo::new().connector("t.yaml", UNFILLED);
    let out = repo.skconn(["validate"]);
    out.code(0)
        .stdout_has("1 connector file(s)")
        .stderr_has("warning: connectors/t.yaml:1:3: a comment still holds the template's `FILL IN` marker")
        .stderr_has("warning: connectors/t.yaml:3:12: proxy_url: `api.example.com` is a domain reserved for examples (RFC 2606)")
        .stderr_has("help: write the real host of the API");
    repo.cmd(["validate"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .code(0)
        .stdout_has("::warning file=connectors/t.yaml,line=3,col=12::proxy_url: `api.example.com` is a domain reserved");
    // What `skconn new` writes is caught the same way.
    let repo = Repo::new();
    repo.skconn(["new", "Acme CRM", "--type", "bearer"]).code(0);
    repo.skconn(["validate"])
        .code(0)
        .stderr_has("warning: connectors/acme-crm.yaml:")
        .stderr_has("FILL IN");
}

#[test]
fn plan_shows_file_warnings_beside_the_change_in_text_markdown_and_json() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("t.yaml", UNFILLED)
        .env("dev", &dev, "managed");
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("  + create \"Unfilled API\"")
        .stdout_has("      ! connectors/t.yaml:3:12: proxy_url: `api.example.com` is a domain reserved for examples")
        .stdout_has("      ! connectors/t.yaml:1:3: a comment still holds the template's `FILL IN` marker")
        // The plan shows them; it does not print them again on stderr.
        .stderr_lacks("warning:");
    repo.skconn(["plan", "--format", "markdown"])
        .code(0)
        .stdout_has("- ⚠️ <code>connectors/t.yaml:3:12: proxy_url</code>: `api.example.com` is a domain reserved");
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let warnings = &plan["environments"][0]["changes"][0]["warnings"];
    let host = warnings
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "example_host")
        .unwrap_or_else(|| panic!("{warnings:#}"));
    assert_eq!(host["file"], "connectors/t.yaml");
    assert_eq!(
        (host["line"].clone(), host["column"].clone()),
        (json!(3), json!(12))
    );
    assert_eq!(host["field"], "proxy_url");
    assert!(host["help"].as_str().unwrap().contains("real host"));
    assert!(warnings
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["kind"] == "template_marker" && w.get("field").is_none()));
    // The JSON plan still follows its schema (format 2).
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(crate_root().join("schema/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:skconn:plan:2", schema).unwrap();
    let index = compiler.compile("urn:skconn:plan:2", &mut schemas).unwrap();
    schemas
        .validate(&plan, index)
        .unwrap_or_else(|e| panic!("{e:#}\n{plan:#}"));
    assert_eq!(plan["format_version"], "2");
    // Once applied, the connector has no change, and no warning is shown for it.
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan"])
        .code(0)
        .stdout_lacks("! connectors/t.yaml");
}

#[test]
fn a_file_with_problems_and_warnings_reports_both_at_once() {
    let repo = Repo::new().connector(
        "t.yaml",
        UNFILLED.replace("display_name: Unfilled API", "display_name: Unfilled-API"),
    );
    repo.skconn(["validate"])
        .code(1)
        .stderr_has("warning: connectors/t.yaml:3:12: proxy_url: `api.example.com`")
        .stderr_has("error: connectors/t.yaml:2:15: display_name: ")
        .stderr_has("1 problem in the input");
}
