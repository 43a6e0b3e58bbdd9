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

/// Two environments, dev and prod, and one connector file (Alpha).
fn dev_and_prod() -> (Emulator, Emulator, Repo) {
    let dev = emulator();
    let prod = emulator();
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed")
        .connector("alpha.yaml", bearer("Alpha"));
    (dev, prod, repo)
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
    let taken = skconn::base::time::parse_rfc3339(s["taken_at"].as_str().unwrap()).unwrap();
    let now = skconn::base::time::unix_secs(before);
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
    let (s, path) = take(&off, "dev");
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
    // Planned where usage is on, a delete's usage is unknown, and says why: never "unused".
    let on = off
        .edit("skconn.yaml", |t| t.replace("\n    usage: off", ""))
        .remove("connectors/c01.yaml");
    let doc = json(&without_credentials(
        &on,
        "dev",
        [
            "plan",
            "--against",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    let usage = &doc["environments"][0]["changes"][0]["usage"];
    assert_eq!(usage["state"], "unknown", "{usage:#}");
    assert!(usage["reason"]
        .as_str()
        .unwrap()
        .contains("the snapshot holds no usage"));
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
    let (dev, prod, repo) = dev_and_prod();
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
    let (s, path) = take(&local, "dev");
    assert_eq!(s["host"], "local");
    assert_eq!(connector(&s, "Alpha")["usage"]["state"], "known");
    let local = local.connector("beta.yaml", bearer("Beta"));
    let doc = json(
        local
            .skconn([
                "plan",
                "--against",
                path.to_str().unwrap(),
                "--format",
                "json",
            ])
            .code(0),
    );
    assert_eq!(doc["environments"][0]["source"]["kind"], "snapshot");
    assert_eq!(doc["environments"][0]["summary"]["create"], 1);
}

// ---- plans against snapshots ----------------------------------------------------------------

/// `skconn ARGS` with the credentials of `env` absent from the process (its URL stays).
fn without_credentials<I, S>(repo: &Repo, env: &str, args: I) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let up = env.to_uppercase();
    repo.cmd(args)
        .env_remove(&format!("SK_{up}_ID"))
        .env_remove(&format!("SK_{up}_SECRET"))
        .run()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// A prod environment with Alpha, Beta and Gamma applied, then a file edit (Alpha), a file
/// removed (Gamma: a delete) and a new one (Delta).
fn prod_with_changes() -> (Emulator, Repo) {
    let prod = emulator();
    let repo = Repo::new()
        .env("prod", &prod, "managed")
        .connector("alpha.yaml", bearer("Alpha"))
        .connector("beta.yaml", bearer("Beta"))
        .connector("gamma.yaml", bearer("Gamma"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    (prod, repo)
}

fn edit_files(repo: Repo) -> Repo {
    repo.edit("connectors/alpha.yaml", |t| {
        t.replace("description: Alpha API", "description: Alpha API, v2")
    })
    .remove("connectors/gamma.yaml")
    .connector("delta.yaml", bearer("Delta"))
}

#[test]
fn a_plan_against_a_snapshot_reads_no_credential_sends_nothing_and_equals_the_live_plan() {
    let (prod, repo) = prod_with_changes();
    prod.add_connection("Gamma", "gamma-live", "COMPLETED", true);
    prod.add_connected_accounts("gamma-live", "ACTIVE", 2);
    let (s, path) = take(&repo, "prod");
    let repo = edit_files(repo);
    let file = path.to_str().unwrap();
    prod.clear_requests();
    let against = without_credentials(
        &repo,
        "prod",
        ["plan", "--against", file, "--format", "json"],
    );
    against.code(0);
    let wrong = repo
        .cmd(["plan", "--against", file, "--format", "json"])
        .env("SK_PROD_SECRET", "a-wrong-secret-value")
        .run();
    wrong.code(0);
    let mut formats = Vec::new();
    for format in ["text", "markdown", "curl"] {
        let out = without_credentials(
            &repo,
            "prod",
            ["plan", "--against", file, "--format", format],
        );
        out.code(0);
        formats.push((format, out));
    }
    assert!(prod.requests().is_empty(), "{:?}", prod.requests());
    let live = json(repo.skconn(["plan", "--format", "json"]).code(0));
    let live_requests = prod
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count();
    let (a, w) = (json(&against), json(&wrong));
    assert_eq!(a, w, "a wrong secret present changes nothing");
    crate::review::PlanSchema::new().check(&a);
    let (ae, le) = (&a["environments"][0], &live["environments"][0]);
    assert_eq!(ae["changes"], le["changes"]);
    assert_eq!(ae["plan_digest"], le["plan_digest"]);
    assert_eq!(
        ae["source"],
        serde_json::json!({"kind": "snapshot", "taken_at": s["taken_at"]})
    );
    assert_eq!(le["source"]["kind"], "live");
    let gamma = ae["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["display_name"] == "Gamma")
        .unwrap();
    assert_eq!(gamma["blocked"], "in use");
    assert_eq!(gamma["usage"]["connected_accounts"]["total"], 2);
    let said = "Planned against the snapshot of prod taken ";
    for (format, out) in &formats {
        out.stdout_has(said);
        assert!(out.stdout.contains(" ago"), "{format}: {out}");
    }
    formats[0]
        .1
        .stdout_has("(counts from the snapshot)")
        .stdout_has("~ update \"Alpha\"");
    formats[1]
        .1
        .stdout_has("(counts from the snapshot)")
        .stdout_has("> [!NOTE]");
    assert!(formats[2]
        .1
        .stdout
        .contains("# Planned against the snapshot of prod"));
    // The digest a reviewer approves from it is the live plan's.
    let digest = le["plan_digest"].as_str().unwrap();
    let approved = format!("prod={digest}");
    let other = format!("prod={}", "0".repeat(64));
    without_credentials(
        &repo,
        "prod",
        ["plan", "--against", file, "--approved", &approved],
    )
    .code(0);
    without_credentials(
        &repo,
        "prod",
        ["plan", "--against", file, "--approved", &other],
    )
    .code(6);
    assert_eq!(
        prod.requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .count(),
        live_requests,
        "only the live plan sent requests"
    );
}

#[test]
fn against_combines_with_live_environments_each_reading_only_its_own_credentials() {
    let (dev, prod, repo) = dev_and_prod();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let (_, path) = take(&repo, "prod");
    let repo = repo.connector("beta.yaml", bearer("Beta"));
    prod.clear_requests();
    dev.clear_requests();
    let out = without_credentials(
        &repo,
        "prod",
        [
            "plan",
            "--against",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    out.code(0);
    let doc = json(&out);
    assert_eq!(doc["environments"][0]["source"]["kind"], "live");
    assert_eq!(doc["environments"][1]["source"]["kind"], "snapshot");
    assert_eq!(doc["environments"][1]["summary"]["create"], 1);
    assert!(!dev.requests().is_empty());
    assert!(prod.requests().is_empty());
    // With --env, only what it names.
    dev.clear_requests();
    let only = without_credentials(
        &repo,
        "prod",
        ["plan", "--env", "prod", "--against", path.to_str().unwrap()],
    );
    only.code(0).stdout_lacks("Environment dev");
    assert!(dev.requests().is_empty() && prod.requests().is_empty());
}

#[test]
fn each_refusal_names_its_cause_and_nothing_is_sent() {
    let (prod, repo) = prod_with_changes();
    let dev = emulator();
    let repo = repo.env("dev", &dev, "managed");
    let (s, path) = take(&repo, "prod");
    prod.clear_requests();
    let file = path.to_str().unwrap().to_string();
    let write = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut doc = s.clone();
        edit(&mut doc);
        let p = repo.path().join(name);
        std::fs::write(&p, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let day = 86_400;
    let taken = skconn::base::time::parse_rfc3339(s["taken_at"].as_str().unwrap()).unwrap();
    let old = write("old.json", &|d| {
        d["taken_at"] = skconn::base::time::rfc3339(taken - 10 * day).into()
    });
    let future = write("future.json", &|d| {
        d["taken_at"] = skconn::base::time::rfc3339(taken + day).into()
    });
    let other_env = write("staging.json", &|d| d["environment"] = "staging".into());
    let other_host = write("host.json", &|d| d["host"] = "prod.scalekit.example".into());
    let not_snapshot = repo.path().join("plan.json");
    std::fs::write(
        &not_snapshot,
        "{\"format_version\": \"2\", \"environments\": []}",
    )
    .unwrap();
    let host = prod.url().trim_start_matches("http://").to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--against", &old], "older than --max-snapshot-age (7d)"),
        (vec!["--against", &old, "--max-snapshot-age", "9d"], "older than --max-snapshot-age (9d)"),
        (vec!["--against", &future], "in the future"),
        (vec!["--against", &other_env], "environment `staging`, which skconn.yaml does not configure (configured: prod, dev)"),
        (vec!["--against", &other_host], "the snapshot is of host `prod.scalekit.example`, but environment `prod` is configured at"),
        (vec!["--against", &file, &old], "a second snapshot of environment `prod`"),
        (vec!["--against", not_snapshot.to_str().unwrap()], "this is not a skconn snapshot"),
        (vec!["--against", &file, "--env", "dev"], "which --env does not select"),
        (vec!["--against", &file, "--out", "p.json"], "--against cannot be combined with --out"),
        (vec!["--against", &file, "--max-snapshot-age", "a week"], "--max-snapshot-age: `a week` is not a duration"),
        (vec!["--max-snapshot-age", "1d"], "--against"),
    ];
    for (args, says) in cases {
        let mut all = vec!["plan"];
        all.extend(&args);
        let out = without_credentials(&repo, "prod", all.clone());
        assert_ne!(out.code, Some(0), "{all:?}\n{out}");
        assert!(
            out.stderr.contains(says),
            "{all:?} does not say {says:?}\n{out}"
        );
        assert!(
            prod.requests().is_empty() && dev.requests().is_empty(),
            "{all:?} sent requests"
        );
    }
    let host_refusal = without_credentials(&repo, "prod", ["plan", "--against", &other_host]);
    host_refusal
        .stderr_has(&format!("configured at `{host}`"))
        .stderr_has("host.json");
    // An old snapshot is planned when the flag allows it.
    for (age, code) in [("11d", 0), ("239h", 1)] {
        let args = [
            "plan",
            "--env",
            "prod",
            "--against",
            &old,
            "--max-snapshot-age",
            age,
        ];
        without_credentials(&repo, "prod", args).code(code);
    }
    // The URL variable is still needed, to check the host.
    let no_url = repo
        .cmd(["plan", "--env", "prod", "--against", file.as_str()])
        .env_remove("SK_PROD_ID")
        .env_remove("SK_PROD_SECRET")
        .env_remove("SK_PROD_URL")
        .run();
    no_url.code(1).stderr_has("`SK_PROD_URL` is not set");
    assert!(prod.requests().is_empty() && dev.requests().is_empty());
    // --no-host-check: no URL read at all (a fork's job has no variable), any host planned,
    // and the plan says which host it was, unchecked.
    for (snapshot, shown) in [
        (&file, host.as_str()),
        (&other_host, "prod.scalekit.example"),
    ] {
        let unchecked = repo
            .cmd([
                "plan",
                "--env",
                "prod",
                "--against",
                snapshot.as_str(),
                "--no-host-check",
            ])
            .env_remove("SK_PROD_ID")
            .env_remove("SK_PROD_SECRET")
            .env_remove("SK_PROD_URL")
            .run();
        unchecked
            .code(0)
            .stderr_has(&format!("is of host `{shown}`, which was not checked"))
            .stdout_has("Planned against the snapshot of prod");
    }
    assert!(prod.requests().is_empty() && dev.requests().is_empty());
    // It is a flag of plans against snapshots only.
    repo.cmd(["plan", "--no-host-check"])
        .run()
        .code(1)
        .stderr_has("required arguments were not provided:\n  --against");
}

#[test]
fn a_value_from_a_variable_not_set_is_unknown_never_guessed_and_never_fails_the_plan() {
    let prod = emulator();
    let file = bearer("Alpha").replace(
        "https://api.example.com",
        "https://${PROD_TENANT}.example.com",
    );
    let repo = Repo::new()
        .env("prod", &prod, "managed")
        .var("PROD_TENANT", "acme-prod-tenant")
        .connector("alpha.yaml", file)
        .connector("beta.yaml", bearer("Beta"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let (_, path) = take(&repo, "prod");
    let file = path.to_str().unwrap().to_string();
    let plan = |repo: &Repo, format: &str| {
        repo.cmd(["plan", "--against", file.as_str(), "--format", format])
            .env_remove("SK_PROD_ID")
            .env_remove("SK_PROD_SECRET")
            .env_remove("PROD_TENANT")
            .run()
    };
    // Unchanged: the snapshot says the live URL was what the same text expanded to.
    plan(&repo, "text").code(0).stdout_has("No changes.");
    // Another field of it changes: the URL stays unchanged, and the digest is the live one.
    let repo = repo.edit("connectors/alpha.yaml", |t| {
        t.replace("description: Alpha API", "description: Alpha v2")
    });
    let against = json(plan(&repo, "json").code(0));
    let live = json(repo.skconn(["plan", "--format", "json"]).code(0));
    let diff = &against["environments"][0]["changes"][0]["diff"];
    assert_eq!(diff.as_array().unwrap().len(), 1, "{diff:#}");
    assert_eq!(diff[0]["path"], "description");
    assert_eq!(
        against["environments"][0]["plan_digest"],
        live["environments"][0]["plan_digest"]
    );
    // The text changes: the new value is unknown here, and shown so in every format.
    let repo = repo.edit("connectors/alpha.yaml", |t| {
        t.replace("${PROD_TENANT}.example.com", "${PROD_TENANT}.example.org")
    });
    let unknown = "(from https://${PROD_TENANT}.example.org, known at apply)";
    let doc = json(plan(&repo, "json").code(0));
    let change = &doc["environments"][0]["changes"][0];
    let url = change["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "proxy_url")
        .unwrap();
    assert_eq!(url["new"], unknown);
    assert_eq!(
        url["old"], "https://***.example.com",
        "a masked value, shown as outputs show it"
    );
    assert_eq!(change["after"]["proxy_url"], unknown);
    assert!(
        change["usage"].is_object(),
        "an auth-relevant change shows its usage"
    );
    plan(&repo, "text").code(0).stdout_has(unknown);
    plan(&repo, "markdown").code(0).stdout_has("known at apply");
    let live = json(repo.skconn(["plan", "--format", "json"]).code(0));
    assert_eq!(
        doc["environments"][0]["plan_digest"],
        live["environments"][0]["plan_digest"]
    );
    // A plan without --against still needs the variable.
    repo.cmd(["plan"])
        .env_remove("PROD_TENANT")
        .run()
        .code(1)
        .stderr_has("`PROD_TENANT`");
}

#[test]
fn safety_rules_hold_against_a_snapshot_exactly_as_live() {
    let prod = emulator();
    let repo = repo_with(10, &prod, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let (_, path) = take(&repo, "dev");
    let mut repo = repo;
    for i in 0..4 {
        repo = repo.remove(&format!("connectors/c{i:02}.yaml"));
    }
    prod.clear_requests();
    let against = without_credentials(
        &repo,
        "dev",
        [
            "plan",
            "--against",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    against.code(3).stderr_has("refused");
    assert!(prod.requests().is_empty());
    let live = repo.skconn(["plan", "--format", "json"]);
    live.code(3);
    assert_eq!(json(&against)["refused"], json(&live)["refused"]);
}
