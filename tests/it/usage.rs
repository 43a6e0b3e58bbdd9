//! Usage-aware plans, end to end: the real binary against the emulator's connections and
//! connected-accounts endpoints. Deletes and auth-relevant updates show who depends on the
//! connector; a delete of a connector in use is not sent; failures make usage unknown; no end
//! user's identifier and no token-like field ever reaches an output.

use crate::support::*;
use serde_json::Value;
use skconn::emulator::{Emulator, Fault, Recorded};

/// The exact phrase for two connections (one draft) and 37 accounts.
const BUSY: &str =
    "in use: 2 connections (1 completed, 1 draft), 37 connected accounts (31 active, 6 expired)";

fn oauth(name: &str, scopes: &[&str]) -> String {
    let mut s = format!(
        "display_name: {name}\ndescription: {name} API\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: OAUTH\n    oauth_config:\n      authorize_uri: https://auth.example.com/authorize\n      token_uri: https://auth.example.com/token\n      pkce_enabled: true\n      available_scopes:\n"
    );
    for sc in scopes {
        s.push_str(&format!("        - scope: {sc}\n"));
    }
    s
}

/// A repository of OAuth connectors named `names` (files `connectors/<name, lower case>.yaml`),
/// applied to `dev` with `prune: managed`.
fn applied(dev: &Emulator, names: &[&str]) -> Repo {
    let mut repo = Repo::new().env("dev", dev, "managed");
    for n in names {
        repo = repo.connector(&format!("{}.yaml", n.to_lowercase()), oauth(n, &["read"]));
    }
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo
}

/// Requests to the connections and connected-accounts endpoints.
fn usage_requests(emu: &Emulator) -> Vec<Recorded> {
    emu.requests()
        .into_iter()
        .filter(|r| {
            r.path.starts_with("/api/v1/connections") || r.path.starts_with("/api/v1/connected")
        })
        .collect()
}

fn count(emu: &Emulator, method: &str, path: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

fn identifier(emu: &Emulator, name: &str) -> String {
    emu.connector(name).unwrap()["identifier"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Two connections (one draft) and 37 connected accounts (31 active, 6 expired).
fn make_busy(emu: &Emulator, name: &str) {
    emu.add_connection(name, "busy-live", "COMPLETED", true);
    emu.add_connection(name, "busy-draft", "DRAFT", true);
    emu.add_connected_accounts("busy-live", "ACTIVE", 30);
    emu.add_connected_accounts("busy-live", "EXPIRED", 6);
    emu.add_connected_accounts("busy-draft", "ACTIVE", 1);
}

/// The change for `name` in a JSON plan.
fn json_change(stdout: &str, name: &str) -> Value {
    let v: Value = serde_json::from_str(stdout).expect("JSON plan");
    v["environments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["display_name"] == name)
        .unwrap_or_else(|| panic!("no change for {name} in {stdout}"))
        .clone()
}

/// No end user's identifier, account id or the planted secret anywhere in `text`.
#[track_caller]
fn assert_nothing_personal(emu: &Emulator, text: &str, secret: Option<&str>) {
    let accounts = emu.connected_accounts();
    assert!(!accounts.is_empty());
    for a in &accounts {
        for key in ["identifier", "id"] {
            let v = a[key].as_str().unwrap();
            assert!(!text.contains(v), "{key} {v} appears in output:\n{text}");
        }
    }
    if let Some(s) = secret {
        assert!(
            !text.contains(s),
            "the planted secret appears in output:\n{text}"
        );
    }
}

#[test]
fn a_delete_of_a_connector_in_use_shows_its_usage_in_every_format_and_is_not_sent() {
    let dev = emulator();
    let repo = applied(&dev, &["Busy", "Other"]);
    make_busy(&dev, "Busy");
    let repo = repo
        .remove("connectors/busy.yaml")
        .edit("connectors/other.yaml", |t| {
            t.replace("Other API", "changed")
        });

    let text = repo.skconn(["plan", "--detailed-exitcode"]);
    text.code(2)
        .stdout_has("- delete \"Busy\"")
        .stdout_has("blocked: in use")
        .stdout_has(BUSY)
        .stdout_has("Plan: 0 to create, 1 to update, 1 to delete.");
    let md = repo.skconn(["plan", "--format", "markdown"]);
    md.code(0).stdout_has("blocked: in use").stdout_has(BUSY);
    let json = repo.skconn(["plan", "--format", "json"]);
    json.code(0);
    let busy = json_change(&json.stdout, "Busy");
    assert_eq!(busy["blocked"], "in use");
    let u = &busy["usage"];
    assert_eq!(u["state"], "known");
    assert_eq!(u["in_use"], true);
    assert_eq!(u["connections"]["total"], 2);
    assert_eq!(u["connections"]["by_status"]["completed"], 1);
    assert_eq!(u["connections"]["by_status"]["draft"], 1);
    assert_eq!(u["connected_accounts"]["total"], 37);
    assert_eq!(u["connected_accounts"]["by_status"]["active"], 31);
    assert_eq!(u["connected_accounts"]["by_status"]["expired"], 6);
    // A description change is not auth-relevant: not looked up.
    assert_eq!(json_change(&json.stdout, "Other")["usage"], Value::Null);
    assert_eq!(json_change(&json.stdout, "Other")["blocked"], Value::Null);

    dev.clear_requests();
    let apply = repo.skconn(["apply", "--auto-approve"]);
    apply
        .code(4)
        .stdout_has("✓ updated \"Other\"")
        .stdout_has("⊘ delete \"Busy\" not applied, blocked: in use by 2 connection(s) with 37 connected account(s)")
        .stdout_has("Scalekit dashboard")
        .stdout_has("then delete the connections")
        .stdout_has("Applied 1 change(s), 0 failed, 1 not attempted.");
    assert!(dev.connector("Busy").is_some());
    assert_eq!(
        count(
            &dev,
            "DELETE",
            &format!("/api/v1/custom-providers/{}", identifier(&dev, "Busy"))
        ),
        0
    );
    assert!(
        !dev.requests().iter().any(|r| r.method == "DELETE"),
        "the blocked delete is not sent"
    );
    for out in [&text, &md, &json, &apply] {
        assert_nothing_personal(&dev, &out.all(), None);
    }

    // The connections removed in the dashboard, the next apply deletes it.
    assert_eq!(dev.remove_connections("Busy"), 2);
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("not in use: no connections")
        .stdout_lacks("blocked");
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ deleted \"Busy\"");
    assert!(dev.connector("Busy").is_none());
    repo.skconn(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn only_a_blocked_delete_applies_nothing_and_fails() {
    let dev = emulator();
    let repo = applied(&dev, &["Busy", "Keep"]);
    make_busy(&dev, "Busy");
    let repo = repo.remove("connectors/busy.yaml");
    repo.skconn(["apply", "--auto-approve"])
        .code(1)
        .stdout_has("blocked: in use")
        .stdout_has("Applied 0 change(s), 0 failed, 1 not attempted.");
    assert!(dev.connector("Busy").is_some());
}

#[test]
fn an_auth_relevant_update_shows_its_usage_and_a_description_change_looks_nothing_up() {
    let dev = emulator();
    let repo = applied(&dev, &["Asana"]);
    dev.add_connection("Asana", "asana-1", "COMPLETED", true);
    dev.add_connected_accounts("asana-1", "ACTIVE", 3);
    let id = identifier(&dev, "Asana");

    // A description change: no look-up at all.
    let repo = repo.edit("connectors/asana.yaml", |t| t.replace("Asana API", "Tasks"));
    dev.clear_requests();
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    assert_eq!(json_change(&out.stdout, "Asana")["usage"], Value::Null);
    assert!(
        usage_requests(&dev).is_empty(),
        "{:?}",
        usage_requests(&dev)
    );

    // A scope added: auth-relevant, looked up with one listing and one count.
    let repo = repo.edit("connectors/asana.yaml", |t| {
        format!("{t}        - scope: write\n")
    });
    dev.clear_requests();
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("~ update \"Asana\"")
        .stdout_has("in use: 1 connection (1 completed), 3 connected accounts (3 active)")
        .stdout_lacks("blocked");
    let calls = usage_requests(&dev);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].path, "/api/v1/connections/app");
    let enc: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    assert_eq!(calls[0].query, format!("page_size=30&provider={enc}"));
    assert_eq!(calls[1].path, "/api/v1/connected_accounts");
    assert_eq!(calls[1].query, "page_size=100&connector=asana-1");
    assert!(calls.iter().all(|r| r.status == 200 && r.method == "GET"));

    // An update applies whatever its usage.
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ updated \"Asana\"");
}

#[test]
fn a_plan_without_deletes_or_auth_changes_sends_no_usage_request() {
    let dev = emulator();
    let repo = Repo::new()
        .connector("a.yaml", oauth("Asana", &["read"]))
        .env("dev", &dev, "managed");
    repo.skconn(["plan"]).code(0);
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.skconn(["plan"]).code(0);
    assert!(usage_requests(&dev).is_empty());
}

#[test]
fn a_missing_preview_endpoint_falls_back_to_the_full_listing() {
    let dev = emulator();
    let repo = applied(&dev, &["Alpha", "Beta", "Gamma"]);
    dev.set_usage_options(|o| o.app_connections_missing = true);
    // Alpha: a disabled draft (hidden without include=all) and a suffixed provider key.
    dev.add_connection("Alpha", "alpha-draft", "DRAFT", false);
    let alpha = identifier(&dev, "Alpha");
    dev.add_connection_for_key(&format!("{alpha}:eu"), "alpha-eu", "COMPLETED", true);
    dev.add_connected_accounts("alpha-eu", "PENDING_AUTH", 2);
    // Gamma's connection is not Alpha's or Beta's.
    dev.add_connection("Gamma", "gamma-1", "COMPLETED", true);
    let repo = repo
        .remove("connectors/alpha.yaml")
        .remove("connectors/beta.yaml");
    dev.clear_requests();
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    let a = json_change(&out.stdout, "Alpha");
    assert_eq!(a["blocked"], "in use");
    assert_eq!(a["usage"]["connections"]["total"], 2);
    assert_eq!(a["usage"]["connections"]["disabled"], 1);
    assert_eq!(
        a["usage"]["connected_accounts"]["by_status"]["pending_auth"],
        2
    );
    let b = json_change(&out.stdout, "Beta");
    assert_eq!(b["usage"]["state"], "known");
    assert_eq!(b["usage"]["in_use"], false);
    assert_eq!(b["blocked"], Value::Null);
    // The preview endpoint asked once, the full listing read once for both connectors.
    assert_eq!(count(&dev, "GET", "/api/v1/connections/app"), 1);
    let full: Vec<Recorded> = dev
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/connections")
        .collect();
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].query, "include=all");
    repo.skconn(["plan"]).code(0).stdout_has(
        "in use: 2 connections (1 completed, 1 draft; 1 disabled), 2 connected accounts (2 pending auth)",
    );
}

#[test]
fn a_failing_look_up_shows_unknown_and_the_delete_is_attempted() {
    let dev = emulator();
    let repo = applied(&dev, &["Alpha", "Beta", "Kept"]);
    let repo = repo
        .remove("connectors/alpha.yaml")
        .remove("connectors/beta.yaml");
    // No permission to list connections.
    dev.push_fault(
        Fault::status(403)
            .method("GET")
            .path("/api/v1/connections")
            .always(),
    );
    dev.clear_requests();
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    // Refused once: the other connector is not asked for.
    assert_eq!(usage_requests(&dev).len(), 1, "{:?}", usage_requests(&dev));
    assert_eq!(
        json_change(&out.stdout, "Beta")["usage"]["state"],
        "unknown"
    );
    let a = json_change(&out.stdout, "Alpha");
    assert!(
        a["usage"]["reason"]
            .as_str()
            .unwrap()
            .contains("usage: off"),
        "{a}"
    );
    assert_eq!(a["usage"]["state"], "unknown");
    assert_eq!(a["usage"]["in_use"], Value::Null);
    assert!(
        a["usage"]["reason"].as_str().unwrap().contains("403"),
        "{a}"
    );
    assert_eq!(a["blocked"], Value::Null);
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("usage unknown: its connections could not be listed")
        .stdout_lacks("not in use")
        .stdout_lacks("blocked");
    repo.skconn(["plan", "--format", "markdown"])
        .code(0)
        .stdout_has("❔ usage unknown");
    dev.clear_faults();

    // Counting accounts fails after retries (503 on every try): unknown too.
    dev.push_fault(
        Fault::status(503)
            .method("GET")
            .path("/api/v1/connected_accounts")
            .always(),
    );
    dev.add_connection("Alpha", "alpha-1", "COMPLETED", true);
    repo.skconn(["plan", "--max-attempts", "2"])
        .code(0)
        .stdout_has("usage unknown: its connected accounts could not be counted");
    dev.remove_connections("Alpha");

    // Unknown usage: the deletes are sent as before.
    dev.clear_faults();
    dev.push_fault(
        Fault::status(403)
            .method("GET")
            .path("/api/v1/connections")
            .always(),
    );
    repo.skconn(["apply", "--auto-approve"])
        .code(0)
        .stdout_has("✓ deleted \"Alpha\"")
        .stdout_has("✓ deleted \"Beta\"");
    assert_eq!(dev.connectors().len(), 1);
}

#[test]
fn accounts_are_paged_when_the_total_is_not_reported() {
    let dev = emulator();
    let repo = applied(&dev, &["Alpha", "Kept"]);
    dev.set_usage_options(|o| o.hide_total_size = true);
    dev.add_connection("Alpha", "alpha-1", "COMPLETED", true);
    dev.add_connected_accounts("alpha-1", "ACTIVE", 120);
    dev.add_connected_accounts("alpha-1", "DISCONNECTED", 30);
    let repo = repo.remove("connectors/alpha.yaml");
    dev.clear_requests();
    repo.skconn(["plan"]).code(0).stdout_has(
        "in use: 1 connection (1 completed), 150 connected accounts (120 active, 30 disconnected)",
    );
    assert_eq!(count(&dev, "GET", "/api/v1/connected_accounts"), 2);
}

#[test]
fn no_account_identifier_or_extra_token_like_field_reaches_any_output() {
    let dev = emulator();
    let planted = format!("tok-planted-{:016x}", fastrand::u64(..));
    let summary = tempfile::NamedTempFile::new().unwrap();
    let repo = Repo::new()
        .connector("busy.yaml", oauth("Busy", &["read"]))
        .connector("auth.yaml", oauth("Auth", &["read"]))
        .env("dev", &dev, "managed")
        .var("GITHUB_STEP_SUMMARY", summary.path().to_str().unwrap());
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.set_usage_options(|o| o.extra_secret = Some(planted.clone()));
    make_busy(&dev, "Busy");
    dev.add_connection("Auth", "auth-1", "COMPLETED", true);
    dev.add_connected_accounts("auth-1", "EXPIRED", 4);
    let repo = repo
        .remove("connectors/busy.yaml")
        .edit("connectors/auth.yaml", |t| {
            t.replace("pkce_enabled: true", "pkce_enabled: false")
        });
    let mut all = String::new();
    for args in [
        vec!["plan"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
        vec!["plan", "--out", "saved.json"],
        vec!["apply", "--auto-approve"],
    ] {
        let out = repo.cmd(&args).env("RUST_LOG", "trace").run();
        assert!(
            out.stderr.contains("trace: ") || out.stderr.contains("debug: "),
            "{out}"
        );
        all.push_str(&out.all());
    }
    all.push_str(&std::fs::read_to_string(repo.path().join("saved.json")).unwrap());
    all.push_str(&std::fs::read_to_string(summary.path()).unwrap());
    assert!(all.contains(BUSY), "the usage was shown: {all}");
    assert!(all.contains("4 connected accounts (4 expired)"));
    assert_nothing_personal(&dev, &all, Some(&planted));
    // Only the three listings were read: never an endpoint that returns credentials
    // (`/api/v1/connected_accounts/auth`, `/api/v1/connections/{id}`, …).
    let paths: std::collections::BTreeSet<String> =
        usage_requests(&dev).into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        ["/api/v1/connected_accounts", "/api/v1/connections/app"]
    );
    // The emulator really sent them.
    assert!(dev.connected_accounts().len() == 41);
}

#[test]
fn usage_off_looks_nothing_up() {
    let dev = emulator();
    let repo = applied(&dev, &["Alpha", "Kept"]);
    let repo = repo
        .remove("connectors/alpha.yaml")
        .edit("skconn.yaml", |t| {
            t.replace("prune: managed", "prune: managed\n    usage: off")
        });
    dev.clear_requests();
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    assert_eq!(json_change(&out.stdout, "Alpha")["usage"], Value::Null);
    assert!(usage_requests(&dev).is_empty());
    let bad = repo.edit("skconn.yaml", |t| t.replace("usage: off", "usage: maybe"));
    bad.skconn(["plan"]).code(1).stderr_has("usage");
}

#[test]
fn a_saved_plan_ignores_new_accounts_but_not_a_delete_that_became_unblocked() {
    let dev = emulator();
    let repo = applied(&dev, &["Busy", "Other"]);
    make_busy(&dev, "Busy");
    let repo = repo
        .remove("connectors/busy.yaml")
        .edit("connectors/other.yaml", |t| {
            t.replace("Other API", "changed")
        });
    repo.skconn(["plan", "--out", "saved.json"])
        .code(0)
        .stdout_has("blocked: in use");
    // Users keep connecting: the counts change, what apply does does not.
    dev.add_connected_accounts("busy-live", "ACTIVE", 5);
    repo.skconn(["apply", "saved.json"])
        .code(4)
        .stdout_has("✓ updated \"Other\"")
        .stdout_has("⊘ delete \"Busy\" not applied");

    repo.skconn(["plan", "--out", "saved.json"]).code(0);
    dev.remove_connections("Busy");
    repo.skconn(["apply", "saved.json"])
        .code(1)
        .stderr_has("a delete is blocked or unblocked now that was not when the plan was made");
    assert!(dev.connector("Busy").is_some());
}

#[test]
fn look_ups_stay_within_the_environments_request_budget() {
    let dev = emulator();
    let names = ["C1", "C2", "C3", "C4", "C5", "Kept"];
    let repo = applied(&dev, &names);
    for n in &names[..5] {
        for (i, status) in ["COMPLETED", "DRAFT"].iter().enumerate() {
            let conn = format!("{}-{i}", n.to_lowercase());
            dev.add_connection(n, &conn, status, true);
            dev.add_connected_accounts(&conn, "ACTIVE", 2);
        }
    }
    // Slow answers, so that look-ups overlap whenever they may.
    dev.push_fault(
        Fault::new(skconn::emulator::FaultKind::Latency(
            std::time::Duration::from_millis(20),
        ))
        .method("GET")
        .path("/api/v1/conn")
        .always(),
    );
    let mut repo = repo;
    for n in &names[..5] {
        repo = repo.remove(&format!("connectors/{}.yaml", n.to_lowercase()));
    }
    let repo = repo.edit("skconn.yaml", |t| {
        t.replace("prune: managed", "prune: managed\n    parallelism: 2")
    });
    dev.clear_requests();
    let out = repo.skconn(["plan"]);
    out.code(0);
    assert_eq!(
        out.stdout
            .matches(
                "in use: 2 connections (1 completed, 1 draft), 4 connected accounts (4 active)"
            )
            .count(),
        5,
        "{out}"
    );
    // 5 connection listings and 10 account counts, never more than 2 at once.
    assert_eq!(usage_requests(&dev).len(), 15);
    assert!(
        dev.usage_max_in_flight() <= 2,
        "{}",
        dev.usage_max_in_flight()
    );
    assert!(dev.usage_max_in_flight() >= 1);
}

#[test]
fn each_environment_is_looked_up_on_its_own_and_usage_off_is_per_environment() {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::new()
        .connector("busy.yaml", oauth("Busy", &["read"]))
        .connector("kept.yaml", oauth("Kept", &["read"]))
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    make_busy(&prod, "Busy");
    let repo = repo.remove("connectors/busy.yaml");
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let delete = |e: usize| v["environments"][e]["changes"][0].clone();
    assert_eq!(delete(0)["usage"]["in_use"], false);
    assert_eq!(delete(0)["blocked"], Value::Null);
    assert_eq!(delete(1)["usage"]["connected_accounts"]["total"], 37);
    assert_eq!(delete(1)["blocked"], "in use");

    // Dev's client may not read connections: off there, still on in prod.
    let repo = repo.edit("skconn.yaml", |t| {
        t.replacen("prune: managed", "prune: managed\n    usage: off", 1)
    });
    dev.clear_requests();
    prod.clear_requests();
    repo.skconn(["apply", "--auto-approve"])
        .code(4)
        .stdout_has("✓ deleted \"Busy\"")
        .stdout_has("⊘ delete \"Busy\" not applied");
    assert!(usage_requests(&dev).is_empty());
    assert!(!usage_requests(&prod).is_empty());
    assert!(dev.connector("Busy").is_none());
    assert!(prod.connector("Busy").is_some());
}

#[test]
fn the_emulator_command_refuses_a_malformed_connection_before_listening() {
    let repo = Repo::new();
    repo.skconn([
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--connection",
        "no-equals-sign",
    ])
    .code(1)
    .stderr_has("--connection no-equals-sign: expected PROVIDER_KEY=NAME[:STATUS[:ACCOUNTS]]")
    .stdout_lacks("listening");
    repo.skconn([
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--connection",
        "k:1=n:GONE",
    ])
    .code(1)
    .stderr_has("\"GONE\" is not a connection status");
    repo.skconn(["emulator", "--in-use-status", "500"])
        .code(1)
        .stderr_has("500");
}
