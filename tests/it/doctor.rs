//! `skconn doctor`, end to end: the real binary against emulators whose fault and quirk options
//! give every reading the contract allows (casing, missing totals, short pages, a missing preview
//! endpoint, a refused look-up, clock skew, rate-limit headers, unknown keys, a missing
//! `is_custom`), a TLS server with a CA made here, and broken configurations. Each test checks
//! that doctor names what it saw and the status it gives, that it sent nothing but reads, and
//! that its output holds no secret, token, end user's identifier or connector value.

use crate::network::{pki, tls_front, tls_repo};
use crate::support::*;
use serde_json::Value;
use skconn::emulator::{Emulator, Fault, FaultKind};

/// The example connectors, applied to `dev` (page size 3: the listing takes three pages).
fn applied(dev: &Emulator) -> Repo {
    let repo = Repo::examples().env("dev", dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.clear_requests();
    repo
}

/// The example connectors applied to an emulator, this fault queued, and doctor's report.
fn with_fault(fault: &str) -> (Emulator, Repo, Out, Value) {
    let dev = emulator();
    let repo = applied(&dev);
    dev.push_fault(fault.parse().unwrap());
    let (out, doc) = doctor(&repo, &[]);
    (dev, repo, out, doc)
}

/// `skconn doctor --format json` (and extra arguments), its output and its JSON report.
fn doctor(repo: &Repo, extra: &[&str]) -> (Out, Value) {
    let mut args = vec!["doctor", "--format", "json"];
    args.extend_from_slice(extra);
    let out = repo.skconn(&args);
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e})\n{out}"));
    (out, doc)
}

/// The check `id` of environment `env` in a JSON report.
#[track_caller]
fn check<'a>(doc: &'a Value, env: &str, id: &str) -> &'a Value {
    doc["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == env)
        .unwrap_or_else(|| panic!("no environment {env}:\n{doc:#}"))["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {env}:\n{doc:#}"))
}

/// Asserts the status of a check and that what it saw (and its advice) holds each text.
#[track_caller]
fn assert_check(doc: &Value, id: &str, status: &str, has: &[&str]) {
    let c = check(doc, "dev", id);
    assert_eq!(c["status"], status, "{id}:\n{c:#}");
    let text = format!(
        "{} {}",
        c["saw"].as_str().unwrap(),
        c["advice"].as_str().unwrap()
    );
    for h in has {
        assert!(text.contains(h), "{id} lacks {h:?}:\n{c:#}");
    }
}

/// Every request the emulator received was a read: a GET, or the token request.
#[track_caller]
fn only_reads(emu: &Emulator) {
    for r in emu.requests() {
        assert!(
            r.method == "GET" || (r.method == "POST" && r.path == "/oauth/token"),
            "doctor sent {} {}",
            r.method,
            r.path
        );
    }
}

#[test]
fn a_healthy_environment_is_all_ok_and_only_read() {
    let dev = emulator();
    let repo = applied(&dev);
    dev.add_connection("Asana Tasks", "asana-live", "COMPLETED", true);
    dev.add_connected_accounts("asana-live", "ACTIVE", 3);
    let writes = dev.writes();
    let (out, doc) = doctor(&repo, &[]);
    out.code(0);
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["summary"]["status"], "ok");
    assert_eq!(doc["summary"]["failed"], 0);
    // Every check of the environment is there, in the documented order, and all are ok.
    let ids: Vec<&str> = doc["environments"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = skconn::doctor::CHECKS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| *id != "folder")
        .collect();
    assert_eq!(ids, expected);
    for c in doc["environments"][0]["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c:#}");
    }
    assert_check(
        &doc,
        "config.secret_binding",
        "ok",
        &["`SK_DEV_SECRET`", "`SK_DEV_URL`"],
    );
    assert_check(
        &doc,
        "config.credentials",
        "ok",
        &["client_id from `SK_DEV_ID` (set)"],
    );
    assert_check(&doc, "listing.pages", "ok", &["3 page(s)"]);
    assert_check(
        &doc,
        "listing.total_size",
        "ok",
        &[&format!("total_size {}", example_count())],
    );
    assert_check(
        &doc,
        "plan",
        "ok",
        &[
            "0 to create",
            "0 to delete",
            &format!("{} unchanged", example_count()),
        ],
    );
    assert_eq!(doc["checks"][0]["id"], "folder");
    assert_eq!(doc["checks"][0]["status"], "ok");
    // Read-only: nothing but GETs and the token request, and no write reached the connectors.
    only_reads(&dev);
    assert_eq!(dev.writes(), writes);
    assert!(dev
        .requests()
        .iter()
        .any(|r| r.path == "/api/v1/connected_accounts"));

    // Text: one line per check, then the summary; Markdown: a table per environment.
    let text = repo.skconn(["doctor"]);
    text.code(0)
        .stdout_has("Environment dev (http://127.0.0.1:")
        .stdout_has("  ok      Listing: key casing: every key is snake_case")
        .stdout_has(&format!(
            "Doctor: {} ok, 0 warnings, 0 failed.",
            expected.len() + 1
        ));
    let lines = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ok "))
        .count();
    assert_eq!(lines, expected.len() + 1, "{text}");
    let md = repo.skconn(["doctor", "--format", "markdown"]);
    md.code(0)
        .stdout_has("## ✅ skconn doctor")
        .stdout_has("### ✅ Environment `dev`")
        .stdout_has("| | check | saw | what to do |")
        .stdout_has("| ✅ | DNS | 127.0.0.1 is an IP address");
}

#[test]
fn the_json_report_matches_its_schema_and_holds_nothing_secret_or_personal() {
    let dev = emulator_with(|c| {
        c.faults = vec!["unknown-key/created_at:GET:*@/api/v1/providers"
            .parse()
            .unwrap()];
    });
    let repo = Repo::new()
        .connector(
            "leak.yaml",
            "display_name: Planted Name\ndescription: planted-description-value\nproxy_url: https://planted-host.example.com/v1\nmetadata:\n  note: planted-metadata-value\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n",
        )
        .env("dev", &dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    dev.add_connection("Planted Name", "planted-conn", "COMPLETED", true);
    dev.add_connected_accounts("planted-conn", "ACTIVE", 4);
    dev.clear_requests();
    let (out, doc) = doctor(&repo, &["-vvv"]);
    out.code(2);
    assert_check(
        &doc,
        "listing.unknown_keys",
        "warning",
        &["`created_at` (on 1 of 1)"],
    );

    let text = std::fs::read_to_string(crate_root().join("schema/doctor.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:skconn:doctor:1", schema)
        .unwrap();
    let index = compiler
        .compile("urn:skconn:doctor:1", &mut schemas)
        .unwrap_or_else(|e| panic!("the doctor schema does not compile: {e:#}"));
    if let Err(e) = schemas.validate(&doc, index) {
        panic!("the report does not match schema/doctor.schema.json: {e:#}\n{doc:#}");
    }

    let mut written = out.all();
    written.push_str(&repo.skconn(["doctor", "-vvv"]).all());
    written.push_str(
        &repo
            .skconn(["doctor", "--format", "markdown", "-vvv"])
            .all(),
    );
    let mut forbidden = vec![
        dev.client_secret().to_string(),
        "planted-description-value".into(),
        "planted-host".into(),
        "planted-metadata-value".into(),
        "Planted Name".into(),
        skconn::emulator::unknown_key_value("created_at"),
    ];
    forbidden.extend(dev.issued_tokens());
    for a in dev.connected_accounts() {
        forbidden.push(a["identifier"].as_str().unwrap().to_string());
        forbidden.push(a["id"].as_str().unwrap().to_string());
    }
    for f in &forbidden {
        assert!(
            !written.contains(f.as_str()),
            "the output holds {f:?}:\n{written}"
        );
    }
    only_reads(&dev);
}

#[test]
fn camel_case_keys_are_named_and_fail() {
    let (dev, _repo, out, doc) = with_fault("camel-case:GET:*@/api/v1/providers");
    out.code(1);
    assert_check(
        &doc,
        "listing.casing",
        "failed",
        &[
            "`displayName` for `display_name`",
            "`nextPageToken` for `next_page_token`",
            "snake_case",
        ],
    );
    // The walk still followed the camelCase token to the end: the other checks read every page.
    assert_check(&doc, "listing.pages", "ok", &["3 page(s)"]);
    assert_check(&doc, "listing.is_custom", "ok", &[]);
    // And plan itself refuses such a listing.
    assert_check(&doc, "plan", "failed", &["`nextPageToken`"]);
    only_reads(&dev);
}

#[test]
fn a_missing_total_and_short_pages_are_named_as_allowed() {
    let (_dev, repo, out, doc) = with_fault("no-total:GET:*@/api/v1/providers");
    out.code(0);
    assert_check(
        &doc,
        "listing.total_size",
        "ok",
        &[
            "total_size is 0 (or missing) on every page",
            "does not count",
            "1000 pages",
        ],
    );
    assert_check(
        &doc,
        "listing.page_size",
        "ok",
        &["short pages: at most 3 entries a page though page_size=1000 was asked for"],
    );
    // A page size the repository sets is the one asked for.
    let repo = repo.edit("skconn.yaml", |t| {
        t.replace("prune: managed\n", "prune: managed\n    page_size: 2\n")
    });
    let (_, doc) = doctor(&repo, &[]);
    assert_check(
        &doc,
        "listing.page_size",
        "ok",
        &["page_size=2 is honoured"],
    );
    assert_check(&doc, "listing.pages", "ok", &["4 page(s)"]);
}

#[test]
fn a_refused_page_size_is_a_warning_naming_the_size_to_set() {
    let (_dev, _repo, out, doc) = with_fault("page-size/100:GET:*@/api/v1/providers");
    out.code(2);
    assert_check(
        &doc,
        "listing.page_size",
        "warning",
        &[
            "the server refused page_size=1000",
            "asks again with 100",
            "`page_size: 100`",
        ],
    );
    assert_check(&doc, "listing.pages", "ok", &[]);
}

#[test]
fn a_missing_is_custom_fails_and_an_ignored_filter_warns() {
    let (dev, repo, out, doc) = with_fault("no-is-custom:GET:*@/api/v1/providers");
    out.code(1);
    let n = example_count();
    assert_check(
        &doc,
        "listing.is_custom",
        "failed",
        &[
            &format!("{n} of {n} entries have no `is_custom: true`"),
            "create them again",
        ],
    );

    dev.clear_faults();
    dev.push_fault("ignore-filter:GET:*@/api/v1/providers".parse().unwrap());
    let (out, doc) = doctor(&repo, &[]);
    out.code(2);
    assert_check(
        &doc,
        "listing.is_custom",
        "warning",
        &["`is_custom: false`", "ignored filter.provider_type=CUSTOM"],
    );
}

#[test]
fn a_listing_that_never_ends_fails_saying_where_it_stopped() {
    let dev = emulator();
    let repo = applied(&dev);
    dev.push_fault(
        Fault::new(FaultKind::EndlessPages)
            .method("GET")
            .path("/api/v1/providers")
            .always(),
    );
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_check(
        &doc,
        "listing.pages",
        "failed",
        &["the listing stopped after", "did not end"],
    );
    only_reads(&dev);
}

#[test]
fn a_missing_preview_endpoint_is_named_with_the_fallback_it_uses() {
    let dev = emulator();
    let repo = applied(&dev);
    dev.set_usage_options(|o| o.app_connections_missing = true);
    let (out, doc) = doctor(&repo, &[]);
    out.code(0);
    assert_check(
        &doc,
        "usage.connections",
        "ok",
        &[
            "/api/v1/connections/app is missing (404 NOT_FOUND)",
            "/api/v1/connections?include=all instead",
            "plans show connections",
        ],
    );
    assert!(dev
        .requests()
        .iter()
        .any(|r| r.path == "/api/v1/connections" && r.query == "include=all"));
}

#[test]
fn a_refused_usage_look_up_says_what_plans_will_show() {
    let (dev, repo, out, doc) = with_fault("403:GET:*@/api/v1/connections");
    out.code(2);
    assert_check(
        &doc,
        "usage.connections",
        "warning",
        &[
            "may not list connections (403 PERMISSION_DENIED)",
            "usage unknown",
            "`usage: off`",
        ],
    );
    assert_check(&doc, "usage.connected_accounts", "ok", &[]);

    dev.clear_faults();
    dev.push_fault("404:GET:*@/api/v1/connected_accounts".parse().unwrap());
    let (out, doc) = doctor(&repo, &[]);
    out.code(2);
    assert_check(
        &doc,
        "usage.connected_accounts",
        "warning",
        &["is missing (404 NOT_FOUND)", "usage unknown"],
    );

    // usage: off is the repository's choice, named as such.
    let repo = repo.edit("skconn.yaml", |t| {
        t.replace("prune: managed\n", "prune: managed\n    usage: off\n")
    });
    let (out, doc) = doctor(&repo, &[]);
    out.code(0);
    assert_check(&doc, "usage.connections", "ok", &["`usage: off`"]);
}

#[test]
fn clock_skew_is_measured_from_the_date_header() {
    for (skew, words) in [(3600, "3600 s ahead of"), (-7200, "7200 s behind")] {
        let dev = emulator_with(|c| c.clock_skew_secs = skew);
        let repo = Repo::examples().env("dev", &dev, "managed");
        let (out, doc) = doctor(&repo, &[]);
        out.code(2);
        assert_check(
            &doc,
            "clock",
            "warning",
            &[words, "Date header of the token answer", "NTP"],
        );
    }
    let dev = emulator();
    let repo = Repo::examples().env("dev", &dev, "managed");
    let (_, doc) = doctor(&repo, &[]);
    assert_check(&doc, "clock", "ok", &["agree within 10 s"]);
}

#[test]
fn rate_limit_headers_are_named_and_read() {
    let (dev, repo, out, doc) = with_fault("rate-headers/1000:*:*");
    out.code(0);
    assert_check(
        &doc,
        "rate_limit",
        "ok",
        &[
            "x-ratelimit-limit: 1000",
            "x-ratelimit-remaining: 9",
            "x-ratelimit-reset: ",
            "(read as a Unix time: in ",
            "skconn honours them",
        ],
    );
    dev.clear_faults();
    let (_, doc) = doctor(&repo, &[]);
    assert_check(&doc, "rate_limit", "ok", &["sends no rate-limit headers"]);
}

#[test]
fn a_private_ca_fails_naming_its_issuer_until_a_ca_file_verifies_it() {
    let pki = pki();
    let dev = emulator();
    let front = tls_front(&pki, dev.addr());
    let repo = tls_repo(&front, &dev, "");
    std::fs::write(repo.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_check(
        &doc,
        "network.tls",
        "failed",
        &[
            &format!("the certificate of {}", front.addr),
            "issued by `CN=skconn test inspecting proxy CA`",
            "is not trusted",
            "set `ca_file:` for environment dev",
        ],
    );
    assert!(doc["environments"][0]["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "token"));
    // The credentials never crossed the unverified connection: the emulator saw no token request.
    assert!(
        dev.requests()
            .iter()
            .all(|r| r.method == "GET" && r.path == "/"),
        "{:?}",
        dev.requests()
    );

    let (out, doc) = doctor(&repo, &["--ca-file", "ca.pem"]);
    out.code(0);
    assert_check(
        &doc,
        "network.tls",
        "ok",
        &[
            "issued by `CN=skconn test inspecting proxy CA`",
            "verified by the environment's ca_file or --ca-file",
        ],
    );
    assert_check(
        &doc,
        "config.ca",
        "ok",
        &["--ca-file ca.pem (1 certificate(s))"],
    );
    assert_check(
        &doc,
        "config.secret_binding",
        "ok",
        &["listed in SKCONN_TRUSTED_HOSTS"],
    );

    let repo = tls_repo(&front, &dev, "    ca_file: certs/corp-ca.pem\n")
        .file("certs/corp-ca.pem", &pki.ca_pem);
    let (out, doc) = doctor(&repo, &[]);
    out.code(0);
    assert_check(
        &doc,
        "config.ca",
        "ok",
        &["ca_file certs/corp-ca.pem (1 certificate(s))"],
    );
    only_reads(&dev);
}

#[test]
fn refused_credentials_fail_the_token_and_stop_the_checks_that_need_it() {
    let dev = emulator();
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .unset("SK_DEV_SECRET")
        .var("SK_DEV_SECRET", "not-the-right-secret");
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_check(
        &doc,
        "token",
        "failed",
        &["invalid client credentials", "client_id and client_secret"],
    );
    let not_run = &doc["environments"][0]["not_run"];
    for id in [
        "clock",
        "listing.casing",
        "usage.connections",
        "rate_limit",
        "plan",
    ] {
        assert!(
            not_run.as_array().unwrap().iter().any(|i| i == id),
            "{id}: {not_run}"
        );
    }
    assert!(!out.all().contains("not-the-right-secret"), "{out}");
    let text = repo.skconn(["doctor"]);
    text.code(1)
        .stdout_has("not checked (an earlier check failed): Clock, Listing: key casing");
}

#[test]
fn configuration_problems_are_reported_before_anything_is_sent() {
    let dev = emulator();
    // A variable not set: named, nothing sent.
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .unset("SK_DEV_ID");
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_check(
        &doc,
        "config.credentials",
        "failed",
        &[
            "client_id from `SK_DEV_ID` (not set)",
            "`SK_DEV_ID` is not set",
            "set SK_DEV_ID",
        ],
    );
    assert!(doc["environments"][0]["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "network.dns"));
    assert!(dev.requests().is_empty());

    // A URL written in skconn.yaml with a secret from a variable: the family rule refuses it.
    let repo = Repo::examples()
        .config(&format!(
            "environments:\n  dev:\n    url: {}\n    client_id: {}\n    client_secret: ${{DEV_SECRET}}\n",
            dev.url(),
            dev.client_id()
        ))
        .var("DEV_SECRET", dev.client_secret());
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_check(
        &doc,
        "config.secret_binding",
        "failed",
        &["comes from `DEV_SECRET`", "SKCONN_TRUSTED_HOSTS"],
    );
    assert!(dev.requests().is_empty());
    assert!(!out.all().contains(dev.client_secret()));

    // A secret written in the file: a warning to move it.
    let repo = Repo::examples().config(&format!(
        "environments:\n  dev:\n    url: {}\n    client_id: {}\n    client_secret: {}\n",
        dev.url(),
        dev.client_id(),
        dev.client_secret()
    ));
    let (out, doc) = doctor(&repo, &[]);
    out.code(2);
    assert_check(
        &doc,
        "config.credentials",
        "warning",
        &[
            "client_secret written in skconn.yaml",
            "SCALEKIT_DEV_CLIENT_SECRET",
        ],
    );
    assert!(!out.all().contains(dev.client_secret()));
}

#[test]
fn proxies_in_force_are_named_without_credentials_and_loopback_bypasses_them() {
    let dev = emulator();
    let repo = applied(&dev);
    let out = repo
        .cmd(["doctor", "--format", "json"])
        .env(
            "HTTPS_PROXY",
            "http://proxyuser:proxy-pass-1234@127.0.0.1:9",
        )
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", ".corp.example")
        .run();
    out.code(0);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_check(
        &doc,
        "config.proxy",
        "ok",
        &[
            "HTTPS_PROXY=http://127.0.0.1:9",
            "NO_PROXY=.corp.example",
            "loopback is never proxied",
        ],
    );
    assert_check(
        &doc,
        "network.proxy",
        "ok",
        &["direct: loopback is never proxied (HTTP_PROXY is set but not used for it)"],
    );
    assert!(
        !out.all().contains("proxy-pass-1234") && !out.all().contains("proxyuser"),
        "{out}"
    );
}

#[test]
fn what_plan_would_do_is_counted_with_blocked_deletes() {
    let dev = emulator();
    let repo = applied(&dev);
    dev.add_connection("Asana Tasks", "asana-live", "COMPLETED", true);
    let repo = repo
        .remove("connectors/asana.yaml")
        .remove("connectors/vercel.yaml");
    let (out, doc) = doctor(&repo, &[]);
    out.code(0);
    assert_check(
        &doc,
        "plan",
        "ok",
        &["0 to create", "2 to delete", "1 delete(s) blocked: in use"],
    );
    // The files are not valid: the plan is not made, and the folder says so.
    let repo = repo.connector("broken.yaml", "display_name: [\n");
    let (out, doc) = doctor(&repo, &[]);
    out.code(1);
    assert_eq!(doc["checks"][0]["status"], "failed");
    assert_check(&doc, "plan", "failed", &["skconn validate"]);
    only_reads(&dev);
}

#[test]
fn the_local_environment_is_checked_and_named_for_what_it_is() {
    let repo = Repo::examples();
    let (out, doc) = doctor(&repo, &[]);
    out.code(2);
    let c = check(&doc, "local", "config.url");
    assert_eq!(c["status"], "warning");
    assert!(c["saw"].as_str().unwrap().contains("not Scalekit"), "{c}");
    assert_eq!(check(&doc, "local", "plan")["status"], "ok");
    // Without a project, doctor still checks the environment it would use.
    let empty = Repo::new();
    let (out, doc) = doctor(&empty, &[]);
    out.code(2);
    assert_eq!(doc["checks"][0]["status"], "warning");
    assert!(check(&doc, "local", "plan")["saw"]
        .as_str()
        .unwrap()
        .contains("not planned"));
}

#[test]
fn docs_describe_every_check() {
    let text = std::fs::read_to_string(crate_root().join("docs/doctor.md")).unwrap();
    for (id, title) in skconn::doctor::CHECKS {
        assert!(
            text.contains(&format!("`{id}`")),
            "docs/doctor.md does not describe `{id}` ({title})"
        );
    }
}

#[test]
fn an_unreadable_configuration_fails_with_its_place_and_still_a_report() {
    let repo = Repo::examples().file(
        "skconn.yaml",
        "environments:\n  dev:\n    url: https://acme.scalekit.dev\n    prnue: managed\n",
    );
    let (out, doc) = doctor(&repo, &[]);
    out.code(1)
        .stderr_has("skconn.yaml:4:5")
        .stderr_has("prune");
    assert_eq!(doc["summary"]["status"], "failed");
    assert_eq!(doc["checks"][0]["id"], "folder");
    assert!(
        doc["checks"][0]["saw"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{doc:#}"
    );
    assert_eq!(doc["environments"], serde_json::json!([]));
    // In text, the error alone, as every command prints it.
    repo.skconn(["doctor"])
        .code(1)
        .stdout_lacks("Doctor:")
        .stderr_has("skconn.yaml:4:5");
}
