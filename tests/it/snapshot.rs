//! Snapshots and plans against them, end to end: `skconn snapshot` reads an emulator and writes
//! documents that validate against `schema/snapshot.schema.json` and hold no secret; `skconn
//! plan --against` plans from them with no credentials in the process and sends nothing.

use crate::support::*;
use serde_json::Value;
use skconn::emulator::Emulator;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "schema/snapshot.schema.json";

/// The committed snapshot schema, compiled.
struct SnapshotSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl SnapshotSchema {
    fn new() -> SnapshotSchema {
        let text = std::fs::read_to_string(crate_root().join(SCHEMA)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource(skconn::snapshot::schema::ID, schema)
            .unwrap();
        let index = compiler
            .compile(skconn::snapshot::schema::ID, &mut schemas)
            .unwrap_or_else(|e| panic!("the snapshot schema does not compile: {e:#}"));
        SnapshotSchema { schemas, index }
    }

    #[track_caller]
    fn check(&self, doc: &Value) {
        if let Err(e) = self.schemas.validate(doc, self.index) {
            panic!("the snapshot does not match {SCHEMA}: {e:#}\n{doc:#}");
        }
    }
}

/// Takes the snapshot of `env` into `<repo>/<env>.snapshot.json`; checks it against the
/// schema and returns it with its path.
#[track_caller]
pub fn take(repo: &Repo, env: &str) -> (Value, PathBuf) {
    let path = repo.path().join(format!("{env}.snapshot.json"));
    repo.skconn(["snapshot", "--env", env, "--out", path.to_str().unwrap()])
        .code(0);
    (read_checked(&path), path)
}

/// A snapshot file, checked against the schema.
#[track_caller]
fn read_checked(path: &Path) -> Value {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    SnapshotSchema::new().check(&doc);
    doc
}

fn connector<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"]["display_name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {snapshot:#}"))
}

fn count(emu: &Emulator, path: &str) -> usize {
    emu.requests().iter().filter(|r| r.path == path).count()
}

#[test]
fn the_committed_schema_is_what_skconn_schema_snapshot_prints_and_is_valid_2020_12() {
    let committed = std::fs::read_to_string(crate_root().join(SCHEMA)).unwrap_or_default();
    let printed = Repo::new().skconn(["schema", "snapshot"]);
    printed.code(0);
    assert!(
        committed == printed.stdout && committed == skconn::snapshot::schema::text(),
        "{SCHEMA} is not what `skconn schema snapshot` prints; regenerate it with\n    \
         cargo run -q -- schema snapshot > {SCHEMA}"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let meta = compiler
        .compile("https://json-schema.org/draft/2020-12/schema", &mut schemas)
        .unwrap();
    let schema: Value = serde_json::from_str(&committed).unwrap();
    schemas
        .validate(&schema, meta)
        .unwrap_or_else(|e| panic!("not a valid 2020-12 schema: {e:#}"));
    SnapshotSchema::new();
}

#[test]
fn a_snapshot_holds_the_live_connectors_drift_usage_and_templates() {
    let prod = emulator();
    let repo = Repo::new()
        .env("prod", &prod, "managed")
        .var("TENANT", "acme")
        .config("show_vars: [TENANT]\n")
        .connector("alpha.yaml", bearer("Alpha"))
        .connector(
            "beta.yaml",
            bearer("Beta").replace("https://api.example.com", "https://${TENANT}.example.com"),
        );
    repo.skconn(["apply", "--auto-approve"]).code(0);
    prod.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    prod.insert(
        serde_json::json!({"display_name": "Hand Made", "proxy_url": "https://h.example.com",
        "auth_patterns": [{"type": "BEARER"}]}),
    );
    prod.add_connection("Beta", "beta-live", "COMPLETED", true);
    prod.add_connected_accounts("beta-live", "ACTIVE", 3);
    let before = std::time::SystemTime::now();
    let (s, _) = take(&repo, "prod");
    assert_eq!(s["kind"], "skconn-snapshot");
    assert_eq!(s["format_version"], "1");
    assert_eq!(s["environment"], "prod");
    assert_eq!(s["host"], prod.url().trim_start_matches("http://"));
    assert_eq!(s["skconn_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["owner"], "default");
    assert_eq!(s["usage"], "recorded");
    let taken = skconn::snapshot::time::parse_rfc3339(s["taken_at"].as_str().unwrap()).unwrap();
    let now = skconn::snapshot::time::unix_secs(before);
    assert!(
        (now.saturating_sub(1)..=now + 60).contains(&taken),
        "{}",
        s["taken_at"]
    );
    assert_eq!(s["connectors"].as_array().unwrap().len(), 3);
    let alpha = connector(&s, "Alpha");
    assert_eq!(alpha["drift"], true);
    assert_eq!(alpha["body"]["description"], "edited in the dashboard");
    assert_eq!(
        alpha["body"]["metadata"]["managed_by"], "skconn",
        "marker kept"
    );
    assert!(alpha["body"].get("identifier").is_none() && alpha["body"].get("is_custom").is_none());
    assert_eq!(connector(&s, "Beta")["drift"], false);
    assert_eq!(connector(&s, "Hand Made")["drift"], false);
    let usage = &connector(&s, "Beta")["usage"];
    assert_eq!(usage["state"], "known");
    assert_eq!(usage["connections"]["total"], 1);
    assert_eq!(usage["connected_accounts"]["by_status"]["active"], 3);
    assert_eq!(connector(&s, "Alpha")["usage"]["connections"]["total"], 0);
    let templates = s["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 1, "{templates:#?}");
    assert_eq!(templates[0]["pointer"], "/proxy_url");
    assert_eq!(templates[0]["written"], "https://${TENANT}.example.com");
    assert_eq!(templates[0]["value"], "https://acme.example.com");
    assert_eq!(
        templates[0]["identifier"],
        connector(&s, "Beta")["identifier"]
    );
}

#[test]
fn usage_is_read_with_one_connections_listing_and_usage_off_records_none() {
    let prod = emulator();
    let repo = repo_with(4, &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    prod.add_connection("Conn 01", "c1-a", "COMPLETED", true);
    prod.add_connection("Conn 01", "c1-b", "DRAFT", false);
    prod.add_connected_accounts("c1-a", "ACTIVE", 2);
    // A connection of a connector that is not custom: never counted.
    prod.add_connection_for_key("slack", "slack-main", "COMPLETED", true);
    prod.add_connected_accounts("slack-main", "ACTIVE", 5);
    prod.clear_requests();
    let (s, _) = take(&repo, "dev");
    assert_eq!(count(&prod, "/api/v1/connections"), 1);
    assert_eq!(count(&prod, "/api/v1/connections/app"), 0);
    let accounts: Vec<String> = prod
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/connected_accounts")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert!(
        accounts.iter().all(|q| !q.contains("slack")),
        "{accounts:?}"
    );
    let u = &connector(&s, "Conn 01")["usage"];
    assert_eq!(u["connections"]["total"], 2);
    assert_eq!(u["connections"]["disabled"], 1);
    assert_eq!(u["connected_accounts"]["total"], 2);

    let off = repo.edit("skconn.yaml", |t| {
        t.replace("prune: managed", "prune: managed\n    usage: off")
    });
    prod.clear_requests();
    let (s, _) = take(&off, "dev");
    assert_eq!(s["usage"], "off");
    assert!(s["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["usage"].is_null()));
    assert!(prod
        .requests()
        .iter()
        .all(|r| !r.path.starts_with("/api/v1/conn")));
}

#[test]
fn a_snapshot_holds_no_secret_token_masked_value_or_account_identifier() {
    const MASKED: &str = "m@sk+ed/V=al & 50%: tenant";
    let prod = emulator();
    let leak = "display_name: Leak API\ndescription: Key ${LEAK_VALUE} here\nproxy_url: https://api.example.com/v1\nmetadata:\n  note: ${LEAK_VALUE}\nauth_patterns:\n  - type: BEARER\n";
    let repo = Repo::new()
        .env("prod", &prod, "managed")
        .var("LEAK_VALUE", MASKED)
        .connector("leak.yaml", leak);
    repo.skconn(["apply", "--auto-approve"]).code(0);
    prod.add_connection("Leak API", "leak-live", "COMPLETED", true);
    prod.add_connected_accounts("leak-live", "ACTIVE", 4);
    let path = repo.path().join("prod.snapshot.json");
    let out = repo.skconn([
        "snapshot",
        "--env",
        "prod",
        "--out",
        path.to_str().unwrap(),
        "-vvv",
    ]);
    out.code(0);
    let stdout = repo.skconn(["snapshot"]);
    stdout.code(0);
    let text = std::fs::read_to_string(&path).unwrap();
    let everything = format!("{text}{}{}", out.all(), stdout.all());
    let mut forbidden = vec![prod.client_secret().to_string(), MASKED.to_string()];
    forbidden.extend(prod.issued_tokens());
    for a in prod.connected_accounts() {
        forbidden.push(a["identifier"].as_str().unwrap().to_string());
        forbidden.push(a["id"].as_str().unwrap().to_string());
    }
    for f in &forbidden {
        assert!(
            !everything.contains(f.as_str()),
            "{f:?} is in a snapshot or its output"
        );
    }
    let s = read_checked(&path);
    let body = &connector(&s, "Leak API")["body"];
    let keyed = body["description"].as_str().unwrap();
    assert!(skconn::snapshot::is_keyed(keyed), "{keyed}");
    let note = body["metadata"]["note"].as_str().unwrap();
    assert!(skconn::snapshot::is_keyed(note) && note != keyed, "{note}");
    assert_eq!(connector(&s, "Leak API")["masked"][keyed], "Key *** here");
    assert_eq!(connector(&s, "Leak API")["masked"][note], "***");
    let mut from_stdout: Value = serde_json::from_str(&stdout.stdout).unwrap();
    from_stdout["taken_at"] = s["taken_at"].clone();
    assert_eq!(from_stdout, s, "stdout holds the same document");
}

#[test]
fn one_environment_a_file_several_a_folder_and_the_local_environment_is_host_local() {
    let dev = emulator();
    let prod = emulator();
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed")
        .connector("alpha.yaml", bearer("Alpha"));
    let two = repo.skconn(["snapshot"]);
    two.code(1).stderr_has("--out-dir");
    let out = repo.path().join("one.json");
    repo.skconn(["snapshot", "--out", out.to_str().unwrap()])
        .code(1)
        .stderr_has("name one with --env");
    assert!(dev.requests().is_empty() && prod.requests().is_empty());
    let dir = repo.path().join("snaps/new");
    repo.skconn(["snapshot", "--out-dir", dir.to_str().unwrap()])
        .code(0)
        .stderr_has("the snapshot of dev (0 connector(s)")
        .stderr_has("snaps/new/prod.snapshot.json");
    for env in ["dev", "prod"] {
        let s = read_checked(&dir.join(format!("{env}.snapshot.json")));
        assert_eq!(s["environment"], env);
    }

    let local = Repo::new()
        .file(
            "skconn.yaml",
            "environments:\n  dev:\n    url: local\n    prune: managed\n",
        )
        .connector("alpha.yaml", bearer("Alpha"));
    local.skconn(["apply", "--auto-approve"]).code(0);
    let (s, _) = take(&local, "dev");
    assert_eq!(s["host"], "local");
    assert_eq!(connector(&s, "Alpha")["usage"]["state"], "known");
}
