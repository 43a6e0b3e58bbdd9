//! `skconn new`: templates, OpenAPI documents, and MCP probes against small servers on loopback.
//! Every written file must pass `skconn validate`.
//!
//! Every derivation rule is covered by the small documents in `tests/fixtures/openapi/`, written
//! for these tests. The tests on the real documents in `../shared/openapi/` (beside our own
//! checkouts, never in the repository) are `#[ignore]`d: `cargo test --locked` passes in a clean
//! clone, and `.ci/run` runs them with `-- --ignored` when that folder exists.

use crate::support::{crate_root, Out, Repo};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// A real document from `../shared/openapi/` (never copied into the repository).
fn shared(name: &str) -> String {
    let p = crate_root().join("../shared/openapi").join(name);
    assert!(p.is_file(), "{} is missing", p.display());
    p.display().to_string()
}

fn fixture(name: &str) -> String {
    crate_root()
        .join("tests/fixtures/openapi")
        .join(name)
        .display()
        .to_string()
}

/// The file `new` wrote, parsed.
fn written(repo: &Repo, rel: &str) -> Value {
    let text = std::fs::read_to_string(repo.path().join(rel)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn text(repo: &Repo, rel: &str) -> String {
    std::fs::read_to_string(repo.path().join(rel)).unwrap()
}

#[track_caller]
fn validates(repo: &Repo, n: usize) {
    repo.skconn(["validate"])
        .code(0)
        .stdout_has(&format!("{n} connector file(s)"));
}

/// Runs `new --from-openapi DOC ARGS... --stdout` and returns the parsed connector, after
/// checking that the same run writing a file passes `validate`.
#[track_caller]
fn from_openapi(doc: &str, args: &[&str]) -> (Value, Out) {
    let repo = Repo::new();
    let mut a = vec!["new", "--from-openapi", doc];
    a.extend_from_slice(args);
    let out = repo.skconn(&a);
    out.code(0);
    let rel = out
        .stdout
        .strip_prefix("wrote ")
        .and_then(|s| s.lines().next())
        .unwrap_or_else(|| panic!("no path printed\n{out}"))
        .to_string();
    validates(&repo, 1);
    (written(&repo, &rel), out)
}

/// The file `new --from-openapi DOC` writes to `rel`, after checking the lines every
/// provenance header starts with: the schema line, the source and the document's SHA-256.
#[track_caller]
fn provenance_of(doc: &str, rel: &str) -> String {
    let repo = Repo::new().file("schema/connector.schema.json", "{}");
    repo.skconn(["new", "--from-openapi", doc]).code(0);
    let t = text(&repo, rel);
    assert_eq!(
        t.lines().next().unwrap(),
        "# yaml-language-server: $schema=../schema/connector.schema.json"
    );
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(std::fs::read(doc).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(t.contains(&format!("# Source: {doc}\n")), "{t}");
    assert!(t.contains(&format!("# SHA-256: {sha}\n")), "{t}");
    t
}

fn pattern(c: &Value) -> &Value {
    &c["auth_patterns"][0]
}

fn scopes(c: &Value) -> Vec<&str> {
    pattern(c)["oauth_config"]["available_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect()
}

// ---- templates ------------------------------------------------------------------------------

#[test]
fn every_template_round_trips_through_validate() {
    let repo = Repo::new().file("schema/connector.schema.json", "{}");
    let cases: &[(&str, &[&str], &str)] = &[
        ("Acme OAuth", &["--type", "oauth"], "OAUTH"),
        ("Acme Basic", &["--type", "basic"], "BASIC"),
        ("Acme Bearer", &["--type", "bearer"], "BEARER"),
        ("Acme Key", &["--type", "api-key"], "API_KEY"),
        (
            "Acme Header Key",
            &["--type", "api-key", "--header", "X-Api-Key"],
            "API_KEY",
        ),
        ("Acme Public", &["--type", "no-auth"], "NO_AUTH"),
        ("Acme MCP", &["--type", "oauth", "--mcp"], "OAUTH"),
        ("Acme Open MCP", &["--type", "no-auth", "--mcp"], "NO_AUTH"),
        (
            "Acme Token MCP",
            &[
                "--type",
                "bearer",
                "--mcp",
                "--proxy-url",
                "https://mcp.acme.example.net/mcp",
            ],
            "BEARER",
        ),
    ];
    for (i, (name, args, ty)) in cases.iter().enumerate() {
        let mut a = vec!["new", name];
        a.extend_from_slice(args);
        let out = repo.skconn(&a);
        let slug = name.to_lowercase().replace(' ', "-");
        out.code(0)
            .stdout_has(&format!("wrote connectors/{slug}.yaml"));
        let rel = format!("connectors/{slug}.yaml");
        let t = text(&repo, &rel);
        assert!(
            t.starts_with("# yaml-language-server: $schema=../schema/connector.schema.json\n"),
            "{t}"
        );
        let c = written(&repo, &rel);
        assert_eq!(c["display_name"], *name);
        assert_eq!(pattern(&c)["type"], *ty);
        validates(&repo, i + 1);
    }
    let c = written(&repo, "connectors/acme-mcp.yaml");
    assert_eq!(pattern(&c)["is_mcp"], true);
    assert_eq!(pattern(&c)["oauth_config"], json!({"pkce_enabled": true}));
    let c = written(&repo, "connectors/acme-oauth.yaml");
    assert_eq!(pattern(&c)["oauth_config"]["pkce_enabled"], true);
    assert!(text(&repo, "connectors/acme-oauth.yaml")
        .contains("# FILL IN: the provider's token endpoint."));
    let c = written(&repo, "connectors/acme-header-key.yaml");
    assert_eq!(pattern(&c)["auth_header_key_override"], "X-Api-Key");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "api_key");
    let c = written(&repo, "connectors/acme-basic.yaml");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "username");
    assert_eq!(pattern(&c)["fields"][1]["input_type"], "password");
    let c = written(&repo, "connectors/acme-token-mcp.yaml");
    assert_eq!(c["proxy_url"], "https://mcp.acme.example.net/mcp");
    assert_eq!(pattern(&c)["is_mcp"], true);
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "token");
}

#[test]
fn placeholders_of_a_given_proxy_url_get_fields() {
    let repo = Repo::new();
    repo.skconn([
        "new",
        "Acme Tenant",
        "--type",
        "oauth",
        "--proxy-url",
        "https://{{subdomain}}.acme.example.net/api",
    ])
    .code(0);
    let c = written(&repo, "connectors/acme-tenant.yaml");
    let f = &pattern(&c)["account_fields"][0];
    assert_eq!(f["field_name"], "subdomain");
    assert_eq!(f["is_path_param"], true);
    let (c, _) = from_openapi(
        &fixture("custom-header.json"),
        &["--proxy-url", "https://{{region}}.search.example.net"],
    );
    assert_eq!(c["proxy_url"], "https://{{region}}.search.example.net");
    assert_eq!(pattern(&c)["fields"][1]["field_name"], "region");
    validates(&repo, 1);
}

#[test]
fn new_never_overwrites_a_file() {
    let repo = Repo::new().connector("acme-crm.yaml", "# mine\n");
    repo.skconn(["new", "Acme CRM", "--type", "bearer"])
        .code(1)
        .stderr_has("connectors/acme-crm.yaml already exists")
        .stderr_has("never overwrites");
    assert_eq!(text(&repo, "connectors/acme-crm.yaml"), "# mine\n");
    repo.skconn([
        "new",
        "Acme CRM",
        "--type",
        "bearer",
        "--out",
        "connectors/acme-crm.yaml",
    ])
    .code(1);
    assert_eq!(text(&repo, "connectors/acme-crm.yaml"), "# mine\n");
    // --out elsewhere works, and the schema line is never a path that does not exist.
    repo.skconn([
        "new",
        "Acme CRM",
        "--type",
        "bearer",
        "--out",
        "other/crm.yaml",
    ])
    .code(0)
    .stdout_has("wrote other/crm.yaml");
    assert!(!text(&repo, "other/crm.yaml").contains("$schema=../"));
}

#[test]
fn a_display_name_another_file_has_is_refused() {
    let repo = Repo::new().connector(
        "sub/old.yaml",
        "display_name: Acme Old\nproxy_url: https://${HOST}\nauth_patterns: [{type: NO_AUTH}]\nskconn: {previous_names: [Acme Older]}\n",
    );
    repo.skconn(["new", "Acme Older", "--type", "bearer"])
        .code(1)
        .stderr_has("connectors/sub/old.yaml already defines a connector named \"Acme Older\"");
    repo.skconn(["new", "Acme CRM", "--type", "bearer"]).code(0);
    repo.skconn([
        "new",
        "Acme CRM",
        "--type",
        "basic",
        "--out",
        "connectors/x.yaml",
    ])
    .code(1)
    .stderr_has("already defines a connector named \"Acme CRM\"");
    assert!(!repo.path().join("connectors/x.yaml").exists());
}

#[test]
fn without_a_terminal_missing_answers_name_the_flags() {
    let repo = Repo::new();
    repo.skconn(["new"])
        .code(1)
        .stderr_has("the display name as the first argument")
        .stderr_has("--type oauth|basic|bearer|api-key|no-auth");
    repo.skconn(["new", "Acme CRM"])
        .code(1)
        .stderr_has("--type oauth|basic|bearer|api-key|no-auth")
        .stderr_lacks("first argument");
    repo.skconn(["new", "Acme-CRM", "--type", "bearer"])
        .code(1)
        .stderr_has("only letters, digits and spaces")
        .stderr_has("\"Acme CRM\"");
    assert!(!repo.path().join("connectors").exists());
}

#[test]
fn stdout_prints_the_file_and_writes_nothing() {
    let repo = Repo::new();
    repo.skconn(["new", "Acme CRM", "--type", "oauth", "--stdout"])
        .code(0)
        .stdout_has("display_name: Acme CRM\n")
        .stdout_has("type: OAUTH");
    assert!(!repo.path().join("connectors").exists());
}

// ---- the real documents (opt-in: `../shared/openapi/`) -------------------------------------------

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn asana_needs_a_scheme_and_gives_oauth_or_bearer() {
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &shared("asana.yaml")])
        .code(1)
        .stderr_has("personalAccessToken")
        .stderr_has("oauth2")
        .stderr_has("--scheme");
    assert!(!repo.path().join("connectors").exists());

    let (c, _) = from_openapi(&shared("asana.yaml"), &["--scheme", "oauth2"]);
    assert_eq!(c["display_name"], "Asana");
    assert_eq!(c["proxy_url"], "https://app.asana.com/api/1.0");
    assert_eq!(
        c["description"],
        "This is the interface for interacting with the Asana Platform."
    );
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://app.asana.com/-/oauth_authorize"
    );
    assert_eq!(
        p["oauth_config"]["token_uri"],
        "https://app.asana.com/-/oauth_token"
    );
    let s = scopes(&c);
    assert_eq!(s.len(), 50);
    for extra in ["goals:write", "stories:delete", "workspaces.typeahead:read"] {
        assert!(s.contains(&extra), "{extra}");
    }
    let all = p["oauth_config"]["available_scopes"].as_array().unwrap();
    assert!(all.iter().all(|s| s["required"] == false));
    let read = all.iter().find(|s| s["scope"] == "tasks:read").unwrap();
    assert_eq!(read["display_name"], "Tasks Read");
    assert_eq!(read["description"], "View access to tasks");

    let (c, _) = from_openapi(&shared("asana.yaml"), &["--scheme", "personalAccessToken"]);
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "token");
    assert_eq!(c["proxy_url"], "https://app.asana.com/api/1.0");
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn xero_gives_oauth_and_warns_about_its_tenant_header() {
    let (c, out) = from_openapi(&shared("xero-accounting.yaml"), &[]);
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://login.xero.com/identity/connect/authorize"
    );
    assert_eq!(
        p["oauth_config"]["token_uri"],
        "https://identity.xero.com/connect/token"
    );
    let s = scopes(&c);
    assert_eq!(s.len(), 16);
    assert!(s.contains(&"accounting.transactions") && s.contains(&"accounting.settings.read"));
    assert_eq!(c["proxy_url"], "https://api.xero.com/api.xro/2.0");
    assert_eq!(c["description"], "");
    out.stderr_has("`xero-tenant-id` is required by 235 of 235 operations")
        .stderr_has("offline_access");
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn slack_is_swagger_2_and_old() {
    let (c, out) = from_openapi(&shared("slack-web.json"), &[]);
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://slack.com/oauth/authorize"
    );
    assert_eq!(
        p["oauth_config"]["token_uri"],
        "https://slack.com/api/oauth.access"
    );
    assert_eq!(c["proxy_url"], "https://slack.com/api");
    let all = p["oauth_config"]["available_scopes"].as_array().unwrap();
    // 67 declared, less the pseudo-scope `none`.
    assert_eq!(all.len(), 66);
    assert!(all.iter().all(|s| s["scope"] != "none"));
    let described = all
        .iter()
        .filter(|s| s.get("description").is_some())
        .count();
    assert_eq!(described, 67 - 63 - 1);
    let bot = all.iter().find(|s| s["scope"] == "chat:write:bot").unwrap();
    assert_eq!(bot["description"], "Author messages as a bot");
    out.stderr_has("Swagger 2.0")
        .stderr_has("1.7.0")
        .stderr_has("pseudo-scope `none` (\"No scope required\") left out of available_scopes");
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn pagerduty_mcp_is_refused_then_takes_a_type() {
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &shared("pagerduty-mcp.json")])
        .code(1)
        .stderr_has("defines no security scheme")
        .stderr_has("describes an MCP server")
        .stderr_has("--type")
        .stderr_has("--from-mcp https://mcp.pagerduty.com/mcp");
    // Detected as an MCP server without --mcp, and said why.
    let (c, out) = from_openapi(&shared("pagerduty-mcp.json"), &["--type", "bearer"]);
    out.stderr_has("describes an MCP server")
        .stderr_has("`POST /mcp`");
    assert_eq!(c["proxy_url"], "https://mcp.pagerduty.com/mcp");
    assert_eq!(c["display_name"], "PagerDuty MCP API");
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(pattern(&c)["is_mcp"], true);
    assert_eq!(pattern(&c)["description"], "Your PagerDuty MCP API token.");
    assert!(!c["description"].as_str().unwrap().ends_with('…'));
    let (c2, _) = from_openapi(
        &shared("pagerduty-mcp.json"),
        &["--type", "bearer", "--mcp"],
    );
    assert_eq!(c2, c);
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn twilio_gives_basic_and_a_sanitised_name() {
    let (c, out) = from_openapi(&shared("twilio-api-v2010.json"), &["--explain"]);
    assert_eq!(c["display_name"], "Twilio Api");
    assert_eq!(c["description"], "This is the public Twilio REST API.");
    assert_eq!(c["proxy_url"], "https://api.twilio.com");
    let p = pattern(&c);
    assert_eq!(p["type"], "BASIC");
    assert_eq!(p["fields"][0]["field_name"], "username");
    assert_eq!(p["fields"][0]["label"], "Account SID");
    assert_eq!(p["fields"][1]["field_name"], "password");
    assert_eq!(p["fields"][1]["label"], "Auth Token");
    out.stderr_has("sanitised from the title `Twilio - Api`")
        .stderr_has("decision:")
        .stderr_lacks("another server");
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn github_is_refused_then_takes_a_type() {
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &shared("github.yaml")])
        .code(1)
        .stderr_has("defines no security scheme")
        .stderr_has("--type");
    let (c, _) = from_openapi(
        &shared("github.yaml"),
        &["--type", "bearer", "--name", "GitHub"],
    );
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "token");
    assert_eq!(c["proxy_url"], "https://api.github.com");
}

#[test]
#[ignore = "reads the third-party documents in ../shared/openapi/ (.ci/run runs it when that folder exists)"]
fn the_provenance_header_names_source_hash_scheme_and_heuristics() {
    let t = provenance_of(
        &shared("twilio-api-v2010.json"),
        "connectors/twilio-api.yaml",
    );
    assert!(
        t.contains("# Security scheme: accountSid_authToken → BASIC\n"),
        "{t}"
    );
    assert!(t.contains("# Heuristics:\n"), "{t}");
}

// ---- the rules, on small documents ------------------------------------------------------------

#[test]
fn swagger_2_flows() {
    let (c, out) = from_openapi(&fixture("swagger2-flows.yaml"), &[]);
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://auth.acme.example.net/authorize"
    );
    assert_eq!(c["proxy_url"], "https://ledger.acme.example.net/v1");
    assert_eq!(c["description"], "The Acme ledger API.");
    assert_eq!(scopes(&c), ["ledger:read", "ledger:write", "ledger:admin"]);
    let all = p["oauth_config"]["available_scopes"].as_array().unwrap();
    assert!(
        all[1].get("description").is_none(),
        "a description equal to the scope is dropped"
    );
    out.stderr_has("Swagger 2.0");

    Repo::new()
        .skconn(["new", "--from-openapi", &fixture("swagger2-m2m.json")])
        .code(1)
        .stderr_has("client credentials")
        .stderr_has("--type");
    Repo::new()
        .skconn([
            "new",
            "--from-openapi",
            &fixture("swagger2-flows.yaml"),
            "--scheme",
            "browser",
        ])
        .code(1)
        .stderr_has("implicit");
}

#[test]
fn server_variables_become_placeholders_with_fields() {
    let (c, out) = from_openapi(&fixture("server-variables.yaml"), &["--explain"]);
    assert_eq!(c["proxy_url"], "https://{{tenant}}.acme.example.io/v2/api");
    let f = &pattern(&c)["fields"];
    assert_eq!(f[0]["field_name"], "token");
    assert_eq!(f[1]["field_name"], "tenant");
    assert_eq!(f[1]["is_path_param"], true);
    assert_eq!(f[1]["hint"], "mycompany");
    assert_eq!(f[1]["label"], "Your tenant's subdomain.");
    out.stderr_has("`protocol` set to `https`")
        .stderr_has("one allowed value, `v2`")
        .stderr_has("another server, `https://upload.acme.example.io`");

    let (c, _) = from_openapi(&fixture("server-variables-oauth.json"), &[]);
    assert_eq!(c["proxy_url"], "https://{{region}}.api.acme.example.io");
    assert_eq!(c["description"], "Regional Acme data.");
    let p = pattern(&c);
    assert_eq!(p["account_fields"][0]["field_name"], "region");
    assert_eq!(p["account_fields"][0]["hint"], "one of: eu, us");
    assert_eq!(p["fields"], json!([]));
}

#[test]
fn several_schemes_need_a_choice() {
    let doc = fixture("several-schemes.yaml");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc])
        .code(1)
        .stderr_has("3 usable security schemes")
        .stderr_has("basicAuth")
        .stderr_has("bearerAuth")
        .stderr_has("keyAuth")
        .stderr_has("--scheme NAME");
    let (c, _) = from_openapi(&doc, &["--scheme", "keyAuth"]);
    assert_eq!(pattern(&c)["type"], "API_KEY");
    assert_eq!(pattern(&c)["auth_header_key_override"], "X-Acme-Key");
    let (c, _) = from_openapi(&doc, &["--type", "basic"]);
    assert_eq!(pattern(&c)["type"], "BASIC");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc, "--scheme", "queryKey"])
        .code(1)
        .stderr_has("query");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc, "--scheme", "nope"])
        .code(1)
        .stderr_has("defines no security scheme `nope`");
}

#[test]
fn header_keys_prefixes_and_warnings() {
    let (c, out) = from_openapi(&fixture("header-keys.yaml"), &[]);
    let p = pattern(&c);
    assert_eq!(p["type"], "API_KEY");
    assert!(p.get("auth_header_key_override").is_none());
    assert_eq!(
        p["auth_field_mutations"]["api_key"]["prefix"],
        "Token token="
    );
    assert_eq!(c["description"], "Alerts for Acme teams.");
    out.stderr_has("`X-Tenant` is required by 2 of 3 operations")
        .stderr_has("1 of 3 operations declare no security");
    let t = out.stdout.clone();
    assert!(t.starts_with("wrote "));

    let (c, _) = from_openapi(&fixture("custom-header.json"), &[]);
    let p = pattern(&c);
    assert_eq!(p["auth_header_key_override"], "X-Api-Key");
    assert!(p.get("auth_field_mutations").is_none());
    assert_eq!(c["proxy_url"], "https://search.acme.example.net/v2");
}

#[test]
fn no_usable_scheme_is_a_refusal() {
    Repo::new()
        .skconn(["new", "--from-openapi", &fixture("no-schemes.json")])
        .code(1)
        .stderr_has("defines no security scheme")
        .stderr_has("--type");
    Repo::new()
        .skconn(["new", "--from-openapi", &fixture("query-key.yaml")])
        .code(1)
        .stderr_has("no security scheme a connector can use")
        .stderr_has("query")
        .stderr_has("cookie")
        .stderr_has("--type");
    let (c, _) = from_openapi(&fixture("no-schemes.json"), &["--type", "no-auth"]);
    assert_eq!(pattern(&c)["type"], "NO_AUTH");
    assert_eq!(c["proxy_url"], "https://open.acme.example.net");
}

#[test]
fn a_relative_server_needs_a_base_url() {
    let doc = fixture("relative-server.yaml");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc])
        .code(1)
        .stderr_has("relative")
        .stderr_has("--base-url");
    let (c, _) = from_openapi(&doc, &["--base-url", "https://acme.example.net/"]);
    assert_eq!(c["proxy_url"], "https://acme.example.net/api/v3");
    let (c, out) = from_openapi(&doc, &["--base-url", "https://your-company.net"]);
    assert_eq!(c["proxy_url"], "https://your-company.net/api/v3");
    out.stderr_has("`your-company.net` looks like a placeholder");
}

#[test]
fn not_a_document_is_an_error() {
    let repo = Repo::new().file("doc.yaml", "title: nothing\n");
    repo.skconn(["new", "--from-openapi", "doc.yaml"])
        .code(1)
        .stderr_has("not an OpenAPI or Swagger document");
    repo.skconn(["new", "--from-openapi", "missing.yaml"])
        .code(1)
        .stderr_has("cannot read missing.yaml");
}

// ---- loopback servers -------------------------------------------------------------------------

/// A server on 127.0.0.1 for the length of a test; `build` gets its base URL.
pub(crate) struct Server {
    pub(crate) url: String,
    _running: super::fake_server::Running,
}

impl Server {
    pub(crate) fn start(build: impl FnOnce(String) -> Router) -> Server {
        let (listener, addr) = super::fake_server::bind();
        let url = format!("http://{addr}");
        let app = build(url.clone());
        Server {
            url,
            _running: super::fake_server::Running::serve(listener, app, Vec::new()),
        }
    }
}

/// What a probed server received: (method path, Authorization header present).
type Log = Arc<Mutex<Vec<(String, bool)>>>;

fn logged(log: &Log, method: &str, path: &str, headers: &HeaderMap) {
    log.lock().unwrap().push((
        format!("{method} {path}"),
        headers.contains_key(header::AUTHORIZATION),
    ));
}

#[test]
fn openapi_from_a_url() {
    let body = std::fs::read(fixture("custom-header.json")).unwrap();
    let server = Server::start(move |_| {
        Router::new().route("/openapi.json", get(move || async move { body.clone() }))
    });
    let repo = Repo::new();
    let url = format!("{}/openapi.json", server.url);
    repo.skconn(["new", "--from-openapi", &url])
        .code(0)
        .stdout_has("wrote connectors/acme-search.yaml");
    assert!(text(&repo, "connectors/acme-search.yaml").contains(&format!("# Source: {url}\n")));
    validates(&repo, 1);
    // Plain http is refused before anything is sent, except on loopback.
    repo.skconn(["new", "--from-openapi", "http://openapi.invalid/x.json"])
        .code(1)
        .stderr_has("plain http");
}

#[test]
fn mcp_probe_finds_oauth() {
    let log: Log = Arc::default();
    let l = log.clone();
    let server = Server::start(move |base| {
        let (l1, l2, l3) = (l.clone(), l.clone(), l.clone());
        let prm = format!("{base}/.well-known/oauth-protected-resource/mcp");
        let prm_body = json!({"resource": format!("{base}/mcp"),
                              "authorization_servers": [format!("{base}/auth")],
                              "resource_name": "Acme Tools"});
        let as_body = json!({"issuer": format!("{base}/auth"),
                             "authorization_endpoint": format!("{base}/auth/authorize"),
                             "token_endpoint": format!("{base}/auth/token"),
                             "registration_endpoint": format!("{base}/auth/register"),
                             "code_challenge_methods_supported": ["S256"]});
        Router::new()
            .route(
                "/mcp",
                post(move |h: HeaderMap| async move {
                    logged(&l1, "POST", "/mcp", &h);
                    (
                        StatusCode::UNAUTHORIZED,
                        [(
                            header::WWW_AUTHENTICATE,
                            format!("Bearer resource_metadata=\"{prm}\""),
                        )],
                        "",
                    )
                }),
            )
            .route(
                "/.well-known/oauth-protected-resource/mcp",
                get(move |h: HeaderMap| async move {
                    logged(&l2, "GET", "/.well-known/oauth-protected-resource/mcp", &h);
                    Json(prm_body)
                }),
            )
            .route(
                "/.well-known/oauth-authorization-server/auth",
                get(move |h: HeaderMap| async move {
                    logged(
                        &l3,
                        "GET",
                        "/.well-known/oauth-authorization-server/auth",
                        &h,
                    );
                    Json(as_body)
                }),
            )
    });
    let repo = Repo::new();
    let url = format!("{}/mcp", server.url);
    // Its URL is http (loopback): the connector's proxy_url must be given.
    repo.skconn(["new", "--from-mcp", &url])
        .code(1)
        .stderr_has("--proxy-url");
    let out = repo.skconn([
        "new",
        "--from-mcp",
        &url,
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
        "--explain",
    ]);
    out.code(0)
        .stdout_has("wrote connectors/acme-tools.yaml")
        .stderr_has("protected-resource metadata")
        .stderr_has("dynamic client registration");
    let c = written(&repo, "connectors/acme-tools.yaml");
    assert_eq!(c["display_name"], "Acme Tools");
    assert_eq!(c["proxy_url"], "https://mcp.acme.example.net/mcp");
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(p["is_mcp"], true);
    assert_eq!(p["oauth_config"], json!({"pkce_enabled": true}));
    validates(&repo, 1);
    let log = log.lock().unwrap();
    assert!(log
        .iter()
        .any(|(r, _)| r == "GET /.well-known/oauth-authorization-server/auth"));
    assert!(
        log.iter().all(|(_, auth)| !auth),
        "no credentials are ever sent: {log:?}"
    );
}

#[test]
fn mcp_probe_finds_a_static_token() {
    let server = Server::start(|_| {
        Router::new()
            .route(
                "/mcp",
                post(|| async { (StatusCode::UNAUTHORIZED, "token required").into_response() }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    });
    let url = format!("{}/mcp", server.url);
    let repo = Repo::new();
    repo.skconn([
        "new",
        "Acme Static",
        "--from-mcp",
        &url,
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ])
    .code(1)
    .stderr_has("static credential")
    .stderr_has("--type bearer")
    .stderr_has("--header");
    repo.skconn([
        "new",
        "Acme Static",
        "--from-mcp",
        &url,
        "--type",
        "api-key",
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ])
    .code(1)
    .stderr_has("--header NAME");
    repo.skconn([
        "new",
        "Acme Static",
        "--from-mcp",
        &url,
        "--type",
        "api-key",
        "--header",
        "X-Acme-Key",
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ])
    .code(0);
    let c = written(&repo, "connectors/acme-static.yaml");
    let p = pattern(&c);
    assert_eq!(p["type"], "API_KEY");
    assert_eq!(p["is_mcp"], true);
    assert_eq!(p["auth_header_key_override"], "X-Acme-Key");
    repo.skconn([
        "new",
        "Acme Bearer",
        "--from-mcp",
        &url,
        "--type",
        "bearer",
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ])
    .code(0);
    assert_eq!(
        pattern(&written(&repo, "connectors/acme-bearer.yaml"))["type"],
        "BEARER"
    );
    validates(&repo, 2);
}

#[test]
fn mcp_probe_finds_no_auth_probably() {
    let server = Server::start(|_| {
        Router::new()
            .route(
                "/mcp",
                post(|| async {
                    Json(json!({"jsonrpc": "2.0", "id": 1, "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "serverInfo": {"name": "Open Docs", "version": "1"}}}))
                }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    });
    let repo = Repo::new();
    let out = repo.skconn([
        "new",
        "--from-mcp",
        &format!("{}/mcp", server.url),
        "--proxy-url",
        "https://docs.acme.example.net/mcp",
    ]);
    out.code(0).stderr_has("probable");
    let c = written(&repo, "connectors/open-docs.yaml");
    assert_eq!(pattern(&c)["type"], "NO_AUTH");
    assert_eq!(pattern(&c)["is_mcp"], true);
    assert!(text(&repo, "connectors/open-docs.yaml").contains("no authorization, probably"));
    validates(&repo, 1);
}

#[test]
fn mcp_probe_of_something_else_is_refused() {
    let server = Server::start(|_| Router::new().fallback(|| async { StatusCode::NOT_FOUND }));
    Repo::new()
        .skconn([
            "new",
            "X",
            "--from-mcp",
            &format!("{}/mcp", server.url),
            "--proxy-url",
            "https://mcp.acme.example.net/mcp",
        ])
        .code(1)
        .stderr_has("answered 404")
        .stderr_has("--type");
}

#[test]
fn mcp_probe_falls_back_to_the_well_known_paths() {
    // No `resource_metadata` in the challenge: the metadata is at the root well-known path,
    // and the authorization server offers only OpenID Connect discovery, without registration.
    let server = Server::start(|base| {
        let prm = json!({"resource": format!("{base}/mcp"),
                         "authorization_servers": [format!("{base}/")]});
        let oidc = json!({"issuer": format!("{base}/"),
                          "authorization_endpoint": format!("{base}/authorize"),
                          "token_endpoint": format!("{base}/token")});
        Router::new()
            .route(
                "/mcp",
                post(|| async {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer realm=\"acme\"")],
                    )
                }),
            )
            .route(
                "/.well-known/oauth-protected-resource",
                get(move || async move { Json(prm) }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(oidc) }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    });
    let repo = Repo::new();
    let out = repo.skconn([
        "new",
        "Acme Discovered",
        "--from-mcp",
        &format!("{}/mcp", server.url),
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ]);
    out.code(0)
        .stderr_has("neither dynamic client registration nor client ID metadata documents")
        .stderr_has("code_challenge_methods_supported");
    let c = written(&repo, "connectors/acme-discovered.yaml");
    assert_eq!(pattern(&c)["type"], "OAUTH");
    assert_eq!(pattern(&c)["oauth_config"], json!({"pkce_enabled": true}));
    let t = text(&repo, "connectors/acme-discovered.yaml");
    assert!(
        t.contains("# Found: OAuth (protected-resource metadata) → OAUTH"),
        "{t}"
    );
    validates(&repo, 1);
}

/// Runs `skconn ARGS` in a pseudo-terminal (util-linux `script`), typing `keys`.
#[cfg(target_os = "linux")]
fn in_terminal(repo: &Repo, args: &str, keys: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_skconn")),
            "/dev/null",
        ])
        .current_dir(repo.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(target_os = "linux")]
#[test]
fn in_a_terminal_missing_answers_are_asked_for() {
    const DOWN: &str = "\x1b[B";
    let repo = Repo::new();
    // Name, then the third type (bearer), then the base URL.
    let screen = in_terminal(
        &repo,
        "new",
        &format!("Acme Asked\r{DOWN}{DOWN}\rhttps://api.asked.example.net\r"),
    );
    assert!(
        screen.contains("wrote connectors/acme-asked.yaml"),
        "{screen}"
    );
    let c = written(&repo, "connectors/acme-asked.yaml");
    assert_eq!(c["display_name"], "Acme Asked");
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(c["proxy_url"], "https://api.asked.example.net");

    // Several schemes: the second one is picked from the list.
    let screen = in_terminal(
        &repo,
        &format!("new --from-openapi {}", fixture("several-schemes.yaml")),
        &format!("{DOWN}\r"),
    );
    assert!(
        screen.contains("wrote connectors/acme-payments.yaml"),
        "{screen}"
    );
    assert_eq!(
        pattern(&written(&repo, "connectors/acme-payments.yaml"))["type"],
        "BEARER"
    );
    validates(&repo, 2);
}

#[test]
fn new_needs_no_credentials_and_follows_connectors_dir() {
    // The environment's variables are not set here: `new` still works, in `connectors_dir`.
    let repo = Repo::new().file(
        "skconn.yaml",
        "connectors_dir: defs\nenvironments:\n  prod:\n    url: ${PROD_URL}\n    client_id: ${PROD_ID}\n    client_secret: ${PROD_SECRET}\n",
    );
    repo.skconn(["new", "Acme Defs", "--type", "basic"])
        .code(0)
        .stdout_has("wrote defs/acme-defs.yaml");
    assert_eq!(
        written(&repo, "defs/acme-defs.yaml")["auth_patterns"][0]["type"],
        "BASIC"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::start(|_| {
        Router::new().fallback(|| async {
            std::future::pending::<()>().await;
            StatusCode::OK
        })
    });
    Repo::new()
        .skconn([
            "new",
            "X",
            "--from-mcp",
            &format!("{}/mcp", server.url),
            "--proxy-url",
            "https://mcp.acme.example.net/mcp",
            "--timeout",
            "1",
        ])
        .code(1)
        .stderr_has("cannot reach")
        .stderr_has("timed out");
}

// ---- every rule on small documents (what the real documents showed) -----------------------------

#[test]
fn oauth_beside_a_token_needs_a_choice_and_takes_every_scope() {
    let doc = fixture("oauth-scopes.yaml");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc])
        .code(1)
        .stderr_has("personalToken (http bearer → BEARER)")
        .stderr_has("oauth2 (oauth2 flows authorizationCode → OAUTH)")
        .stderr_has("--scheme NAME");
    let (c, out) = from_openapi(&doc, &["--scheme", "oauth2"]);
    assert_eq!(c["display_name"], "Acme Notes");
    assert_eq!(c["proxy_url"], "https://notes.acme.example.net/api/1.0");
    assert_eq!(
        c["description"],
        "Notes for Acme teams, read and written through the Acme Notes platform."
    );
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://notes.acme.example.net/-/oauth_authorize"
    );
    assert_eq!(
        p["oauth_config"]["token_uri"], "https://notes.acme.example.net/-/oauth_token",
        "refreshUrl is not used"
    );
    assert_eq!(p["oauth_config"]["pkce_enabled"], true);
    // Declared scopes in order, then those only operations name.
    assert_eq!(
        scopes(&c),
        ["notes:read", "notes:write", "openid", "notes:delete"]
    );
    let all = p["oauth_config"]["available_scopes"].as_array().unwrap();
    assert!(all.iter().all(|s| s["required"] == false));
    assert_eq!(all[0]["display_name"], "Notes Read");
    assert_eq!(all[0]["description"], "View notes");
    assert!(all[1].get("description").is_none(), "it repeats the scope");
    out.stderr_has("offline_access");

    let (c, _) = from_openapi(&doc, &["--scheme", "personalToken"]);
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "token");
    assert_eq!(c["proxy_url"], "https://notes.acme.example.net/api/1.0");
}

#[test]
fn basic_labels_come_from_the_scheme_name_and_titles_are_sanitised() {
    let (c, out) = from_openapi(&fixture("basic-labels.json"), &["--explain"]);
    assert_eq!(c["display_name"], "Acme Voice");
    assert_eq!(c["description"], "Calls and queues of Acme Voice.");
    assert_eq!(c["proxy_url"], "https://voice.acme.example.net");
    let p = pattern(&c);
    assert_eq!(p["type"], "BASIC");
    assert_eq!(p["fields"][0]["field_name"], "username");
    assert_eq!(p["fields"][0]["label"], "Account ID");
    assert_eq!(p["fields"][1]["field_name"], "password");
    assert_eq!(p["fields"][1]["label"], "Secret Key");
    assert_eq!(p["fields"][1]["input_type"], "password");
    // The path items repeat the document's server (once with a trailing slash): not another one.
    out.stderr_has("sanitised from the title `Acme - Voice`")
        .stderr_has("decision:")
        .stderr_lacks("another server");
}

#[test]
fn the_provenance_header_names_source_hash_scheme_and_heuristics_of_a_fixture() {
    let t = provenance_of(&fixture("basic-labels.json"), "connectors/acme-voice.yaml");
    assert!(
        t.contains("# Document: OpenAPI 3.0.1, \"Acme - Voice\" version 1.0.0\n"),
        "{t}"
    );
    assert!(
        t.contains("# Security scheme: accountId_secretKey → BASIC\n"),
        "{t}"
    );
    assert!(
        t.contains("# Heuristics:\n#   - display_name `Acme Voice`"),
        "{t}"
    );
    assert!(
        t.contains("field labels `Account ID` and `Secret Key`"),
        "{t}"
    );
}

#[test]
fn swagger_2_basic_without_schemes_assumes_https() {
    let (c, out) = from_openapi(&fixture("swagger2-basic.json"), &["--explain"]);
    assert_eq!(c["proxy_url"], "https://archive.acme.example.net/v1");
    assert_eq!(pattern(&c)["type"], "BASIC");
    out.stderr_has("heuristic: the document lists no `schemes`: https assumed")
        .stderr_has("Swagger 2.0 (info.version 0.1)");
}

#[test]
fn schemes_a_connector_cannot_use_are_each_named() {
    Repo::new()
        .skconn(["new", "--from-openapi", &fixture("unusable-schemes.yaml")])
        .code(1)
        .stderr_has("no security scheme a connector can use")
        .stderr_has("`oidc`: openIdConnect")
        .stderr_has("`mtls`: mutualTLS")
        .stderr_has("`digest`: http `digest`")
        .stderr_has("`machine`: oauth2 with client credentials only")
        .stderr_has("--type oauth|basic|bearer|api-key|no-auth");
    Repo::new()
        .skconn(["new", "--from-openapi", &fixture("plain-http.yaml")])
        .code(1)
        .stderr_has("plain http")
        .stderr_has("--proxy-url");
}

#[test]
fn no_schemes_takes_a_type_and_a_name() {
    let (c, _) = from_openapi(
        &fixture("no-schemes.json"),
        &["--type", "bearer", "--name", "Acme Public"],
    );
    assert_eq!(c["display_name"], "Acme Public");
    assert_eq!(pattern(&c)["type"], "BEARER");
    assert_eq!(pattern(&c)["fields"][0]["field_name"], "token");
    assert_eq!(c["proxy_url"], "https://open.acme.example.net");
    assert_eq!(c["description"], "");
    let repo = Repo::new();
    repo.skconn([
        "new",
        "--from-openapi",
        &fixture("no-schemes.json"),
        "--type",
        "bearer",
    ])
    .code(0);
    assert!(text(&repo, "connectors/acme-open.yaml")
        .contains("# FILL IN: one sentence users read (the document has none).\ndescription: ''"));
}

// ---- what a newcomer tripped over -----------------------------------------------------------------

#[test]
fn a_plain_http_mcp_url_without_a_proxy_url_is_refused_before_anything_is_sent() {
    let log: Log = Arc::default();
    let l = log.clone();
    let server = Server::start(move |_| {
        Router::new().fallback(move |h: HeaderMap| async move {
            logged(&l, "ANY", "/", &h);
            StatusCode::UNAUTHORIZED
        })
    });
    let repo = Repo::new();
    repo.skconn(["new", "--from-mcp", &format!("{}/mcp", server.url)])
        .code(1)
        .stderr_has("is not an https URL")
        .stderr_has("--proxy-url https://")
        .stderr_lacks("Probing");
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
    assert!(!repo.path().join("connectors").exists());
}

#[test]
fn the_template_says_what_a_placeholder_needs_as_the_contract_does() {
    let out = Repo::new().skconn(["new", "Acme CRM", "--type", "basic", "--stdout"]);
    out.code(0)
        .stdout_has("# FILL IN: the API's base URL (https). Each `{{name}}` placeholder needs a field `name` with\n# `is_path_param: true`; `{{domain}}` and `{{version}}` need only a field of that name.\n")
        .stdout_lacks("A `{{domain}}` placeholder needs a");
    // Following it works: `{{domain}}` with a plain field of that name is valid.
    let repo = Repo::new().connector(
        "crm.yaml",
        "display_name: Acme CRM\nproxy_url: https://{{domain}}/api\nauth_patterns:\n  - type: BASIC\n    fields:\n      - {field_name: domain, label: Domain, input_type: text}\n      - {field_name: username, label: User, input_type: text}\n      - {field_name: password, label: Password, input_type: password}\n",
    );
    validates(&repo, 1);
}

#[test]
fn schemes_of_one_requirement_are_needed_together() {
    let doc = fixture("compound-keys.yaml");
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &doc])
        .code(1)
        .stderr_has("`apiKeyAuth` and `appKeyAuth` are needed together")
        .stderr_has("suggested: --scheme AuthZ, which alone satisfies 2 of 4 operations")
        .stderr_lacks("run again with the other");
    assert!(!repo.path().join("connectors").exists());

    let (c, out) = from_openapi(&doc, &["--scheme", "apiKeyAuth"]);
    let p = pattern(&c);
    assert_eq!(p["type"], "API_KEY");
    assert_eq!(p["auth_header_key_override"], "ACME-API-KEY");
    out.stderr_has("`apiKeyAuth` is needed together with `appKeyAuth` by 3 of 4 operations")
        .stderr_has("cannot send the header `ACME-APPLICATION-KEY`")
        .stderr_has("--scheme AuthZ");
    // The warning is in the file too.
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &doc, "--scheme", "apiKeyAuth"])
        .code(0);
    assert!(text(&repo, "connectors/acme-metrics.yaml").contains("ACME-APPLICATION-KEY"));

    // `--type api-key` matches both keys: still a choice.
    Repo::new()
        .skconn(["new", "--from-openapi", &doc, "--type", "api-key"])
        .code(1)
        .stderr_has("needed together");

    // The OAuth alternative: relative endpoints resolved against the server, as OpenAPI defines.
    let (c, out) = from_openapi(&doc, &["--scheme", "AuthZ", "--explain"]);
    let p = pattern(&c);
    assert_eq!(p["type"], "OAUTH");
    assert_eq!(c["proxy_url"], "https://api.{{site}}");
    assert_eq!(
        p["oauth_config"]["authorize_uri"],
        "https://api.{{site}}/oauth2/v1/authorize"
    );
    assert_eq!(
        p["oauth_config"]["token_uri"],
        "https://api.{{site}}/oauth2/v1/token"
    );
    assert_eq!(p["account_fields"][0]["field_name"], "site");
    out.stderr_has("decision: the relative OAuth endpoint `/oauth2/v1/authorize`")
        .stderr_lacks("heuristic: the relative OAuth endpoint")
        .stderr_has("2 of 4 operations do not accept the chosen scheme");
}

#[test]
fn the_api_key_comment_says_how_this_file_sends_the_key() {
    let out = Repo::new().skconn([
        "new",
        "Acme Key",
        "--type",
        "api-key",
        "--header",
        "X-Acme-Key",
        "--stdout",
    ]);
    out.code(0)
        .stdout_has("The key is sent as `X-Acme-Key: <key>`.")
        .stdout_lacks("`Authorization: <key>`");
    Repo::new()
        .skconn(["new", "Acme Key", "--type", "api-key", "--stdout"])
        .code(0)
        .stdout_has("The key is sent as `Authorization: <key>`.");
    let repo = Repo::new();
    repo.skconn(["new", "--from-openapi", &fixture("header-keys.yaml")])
        .code(0);
    let t = text(&repo, "connectors/acme-alerts.yaml");
    assert!(
        t.contains("The key is sent as `Authorization: Token token=<key>`."),
        "{t}"
    );
    assert!(!t.contains("`Authorization: <key>`"), "{t}");
    repo.skconn(["new", "--from-openapi", &fixture("custom-header.json")])
        .code(0);
    let t = text(&repo, "connectors/acme-search.yaml");
    assert!(t.contains("The key is sent as `X-Api-Key: <key>`."), "{t}");
    assert!(!t.contains("`Authorization: <key>`"), "{t}");
}

#[test]
fn a_prefix_from_an_example_value_leaves_the_example_key_out() {
    let (c, out) = from_openapi(&fixture("key-default.yaml"), &["--explain"]);
    let p = pattern(&c);
    assert_eq!(p["type"], "API_KEY");
    assert_eq!(
        p["auth_field_mutations"]["api_key"]["prefix"],
        "Acme-Mail-Key "
    );
    out.stderr_has("API key prefix `Acme-Mail-Key ` read from the scheme's `x-default`");
}

#[test]
fn wording_has_no_doubled_words_and_follows_the_document() {
    let repo = Repo::new();
    repo.skconn(["new", "Acme MCP", "--type", "oauth", "--mcp"])
        .code(0);
    assert_eq!(
        written(&repo, "connectors/acme-mcp.yaml")["description"],
        "Acme MCP server."
    );
    repo.skconn(["new", "Acme Notes API", "--type", "api-key"])
        .code(0);
    let c = written(&repo, "connectors/acme-notes-api.yaml");
    assert_eq!(c["description"], "Acme Notes API.");
    assert_eq!(pattern(&c)["description"], "Your Acme Notes API key.");
    repo.skconn(["new", "Acme PAT", "--type", "bearer"]).code(0);
    assert_eq!(
        pattern(&written(&repo, "connectors/acme-pat.yaml"))["description"],
        "Your Acme PAT."
    );

    // The MCP document: its first sentence whole, however long, and no "API API".
    let (c, _) = from_openapi(&fixture("mcp-endpoint.json"), &["--type", "bearer"]);
    assert_eq!(
        c["description"],
        "The Acme MCP API is a remote Model Context Protocol server through which agents read and \
         change the incidents, schedules, services and escalation policies of an Acme account, \
         using JSON-RPC over one streaming HTTP endpoint at /mcp."
    );
    assert_eq!(pattern(&c)["description"], "Your Acme MCP API token.");

    // The heuristic note shows this document's own scope; the pseudo-scope is left out, and the
    // warning says so.
    let (c, out) = from_openapi(
        &fixture("oauth-scopes.yaml"),
        &["--scheme", "oauth2", "--explain"],
    );
    out.stderr_has("(e.g. `notes:read` → `Notes Read`)")
        .stderr_lacks("tasks:read")
        .stderr_has("pseudo-scope `none` (\"No scope required\") left out of available_scopes")
        .stderr_lacks("remove from available_scopes");
    assert!(!scopes(&c).contains(&"none"));

    // Resolving a relative OAuth endpoint is what OpenAPI defines: a decision, not a heuristic.
    let repo = Repo::new();
    repo.skconn([
        "new",
        "--from-openapi",
        &fixture("compound-keys.yaml"),
        "--scheme",
        "AuthZ",
    ])
    .code(0);
    let t = text(&repo, "connectors/acme-metrics.yaml");
    assert!(!t.contains("relative OAuth endpoint"), "{t}");
}

#[test]
fn a_document_describing_an_mcp_server_gives_an_mcp_connector_and_says_why() {
    let doc = fixture("mcp-endpoint.json");
    Repo::new()
        .skconn(["new", "--from-openapi", &doc])
        .code(1)
        .stderr_has("describes an MCP server")
        .stderr_has("skconn new --from-mcp https://mcp.acme.example.net/mcp")
        .stderr_has("--type");
    let (c, out) = from_openapi(&doc, &["--type", "bearer"]);
    assert_eq!(c["proxy_url"], "https://mcp.acme.example.net/mcp");
    let p = pattern(&c);
    assert_eq!(p["type"], "BEARER");
    assert_eq!(p["is_mcp"], true);
    out.stderr_has("describes an MCP server")
        .stderr_has("`POST /mcp`");
    // With --mcp it is the same connector.
    let (c2, _) = from_openapi(&doc, &["--type", "bearer", "--mcp"]);
    assert_eq!(c2, c);
    // A REST document is not taken for one.
    let (c, _) = from_openapi(&fixture("custom-header.json"), &[]);
    assert!(pattern(&c).get("is_mcp").is_none());
}

// ---- trust: nothing from a document or server injects, leaks or runs unbounded --------------------

/// An MCP server whose `initialize` answers with `serverInfo.name` as given.
fn open_mcp_server(name: &'static str) -> Server {
    Server::start(move |_| {
        Router::new()
            .route(
                "/mcp",
                post(move || async move {
                    Json(json!({"jsonrpc": "2.0", "id": 1, "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "serverInfo": {"name": name, "version": "1"}}}))
                }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    })
}

/// The keys of a written connector file, as both YAML readers see them.
fn keys_of(text: &str) -> Vec<String> {
    let v: Value = serde_yaml::from_str(text).unwrap();
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn a_cr_in_server_or_document_text_injects_no_key() {
    let emu = crate::support::emulator();
    emu.insert(json!({
        "display_name": "Payroll API", "description": "Payroll.",
        "proxy_url": "https://payroll.acme.example.net",
        "auth_patterns": [{"type": "BEARER", "display_name": "Token", "description": "A token.",
            "fields": [{"field_name": "token", "label": "Token", "input_type": "password"}]}]
    }));
    let repo = Repo::new().env("dev", &emu, "off");

    // The server's name, from an MCP `initialize` answer.
    let server = open_mcp_server("Evil MCP\ricon_src: https://evil.example.net/x.svg #");
    let out = repo.skconn([
        "new",
        "--from-mcp",
        &format!("{}/mcp", server.url),
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
    ]);
    out.code(0);
    let rel = out
        .stdout
        .trim()
        .strip_prefix("wrote ")
        .unwrap()
        .to_string();
    let t = text(&repo, &rel);
    assert!(!t.contains('\r'), "{t:?}");
    assert_eq!(
        keys_of(&t),
        ["auth_patterns", "description", "display_name", "proxy_url"]
    );

    // A version string from an OpenAPI document.
    let doc = r#"{"openapi": "3.0.0",
        "info": {"title": "Acme Search", "version": "1\rskconn: {previous_names: [Payroll API]}",
                 "description": "Search\r\u2028proxy_url: https://evil.example.net\u0085x"},
        "servers": [{"url": "https://search.acme.example.net/v2"}],
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
            "x-default": "Acme\rskconn: {previous_names: [Payroll API]} your-key"}}},
        "paths": {}}"#;
    let repo = repo.file("doc.json", doc);
    repo.skconn(["new", "--from-openapi", "doc.json"]).code(0);
    let t = text(&repo, "connectors/acme-search.yaml");
    assert!(!t.contains('\r'), "{t:?}");
    assert_eq!(
        keys_of(&t),
        ["auth_patterns", "description", "display_name", "proxy_url"]
    );
    assert_eq!(
        written(&repo, "connectors/acme-search.yaml")["proxy_url"],
        "https://search.acme.example.net/v2"
    );

    // What the environment then holds: the two new connectors, and Payroll API untouched.
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let payroll = emu
        .connector("Payroll API")
        .expect("Payroll API is still there");
    assert_eq!(payroll["proxy_url"], "https://payroll.acme.example.net");
    assert_eq!(emu.connectors().len(), 3);
    for c in emu.connectors() {
        assert!(
            c.get("icon_src").is_none_or(Value::is_null),
            "no icon_src was injected: {c}"
        );
    }
}

#[test]
fn explain_prints_server_text_inert() {
    let server = Server::start(|base| {
        let prm = json!({"resource": format!("{base}/mcp"),
                         "authorization_servers": [format!("{base}/auth")]});
        let meta = json!({"issuer": format!("{base}/auth"),
                          "registration_endpoint": "https://as.example.net/register\u{1b}[2J\r::warning::pwned",
                          "scopes_supported": ["read\u{1b}[31m", "write\r::error::x"],
                          "code_challenge_methods_supported": ["S256"]});
        let challenge = format!("Bearer resource_metadata=\"{base}/prm\"");
        Router::new()
            .route(
                "/mcp",
                post(move || async move {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, challenge)],
                    )
                }),
            )
            .route("/prm", get(move || async move { Json(prm) }))
            .route(
                "/.well-known/oauth-authorization-server/auth",
                get(move || async move { Json(meta) }),
            )
    });
    let out = Repo::new().skconn([
        "new",
        "Acme Tools",
        "--from-mcp",
        &format!("{}/mcp", server.url),
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
        "--explain",
        "--stdout",
    ]);
    out.code(0)
        .stderr_has("dynamic client registration at https://as.example.net/register\\u001b[2J\\r::warning::pwned")
        .stderr_has("read\\u001b[31m");
    let all = out.all();
    assert!(!all.contains('\u{1b}'), "{all:?}");
    assert!(!all.contains('\r'), "{all:?}");
    assert!(
        !all.lines().any(|l| l.trim_start().starts_with("::")),
        "{all:?}"
    );
}

#[test]
fn urls_are_printed_without_their_credentials() {
    let secret = "s3cr3t-value-4242";
    let repo = Repo::new();
    let cases = [
        // Refused before anything is sent (plain http, no --proxy-url).
        vec![
            "-vvv".to_string(),
            "new".into(),
            "X".into(),
            "--from-mcp".into(),
            format!("http://127.0.0.1:1/mcp?api_key={secret}&x=1"),
        ],
        // Sent, and the connection is refused.
        vec![
            "-vvv".into(),
            "new".into(),
            "X".into(),
            "--from-mcp".into(),
            format!("http://127.0.0.1:1/mcp?api_key={secret}"),
            "--proxy-url".into(),
            "https://mcp.acme.example.net/mcp".into(),
        ],
        vec![
            "-vvv".into(),
            "new".into(),
            "X".into(),
            "--from-mcp".into(),
            format!("http://user:{secret}@127.0.0.1:1/mcp"),
            "--proxy-url".into(),
            "https://mcp.acme.example.net/mcp".into(),
        ],
        vec![
            "-vvv".into(),
            "new".into(),
            "--from-openapi".into(),
            format!("http://127.0.0.1:1/openapi.json?token={secret}"),
        ],
        vec![
            "new".into(),
            "--from-openapi".into(),
            format!("ftp://127.0.0.1:1/openapi.json?token={secret}"),
        ],
        vec![
            "new".into(),
            "--from-openapi".into(),
            format!("https://exa mple.net/openapi.json?token={secret}"),
        ],
    ];
    for args in cases {
        let out = repo.skconn(&args);
        out.code(1);
        assert!(!out.all().contains(secret), "{args:?}\n{out}");
    }
    repo.skconn([
        "new",
        "--from-mcp",
        &format!("http://127.0.0.1:1/mcp?api_key={secret}&x=1"),
    ])
    .code(1)
    .stderr_has("http://127.0.0.1:1/mcp?api_key=***&x=***");

    // A document fetched with a token in its URL: the file names the URL without it.
    let body = std::fs::read(fixture("custom-header.json")).unwrap();
    let server = Server::start(move |_| {
        Router::new().route("/openapi.json", get(move || async move { body.clone() }))
    });
    repo.skconn([
        "new",
        "--from-openapi",
        &format!("{}/openapi.json?token={secret}", server.url),
    ])
    .code(0);
    let t = text(&repo, "connectors/acme-search.yaml");
    assert!(!t.contains(secret), "{t}");
    assert!(
        t.contains(&format!(
            "# Source: {}/openapi.json?token=***\n",
            server.url
        )),
        "{t}"
    );
}

#[test]
fn requests_to_loopback_bypass_the_proxy() {
    let proxied: Log = Arc::default();
    let l = proxied.clone();
    let proxy = Server::start(move |_| {
        Router::new().fallback(move |h: HeaderMap| async move {
            logged(&l, "ANY", "proxy", &h);
            StatusCode::BAD_GATEWAY
        })
    });
    let body = std::fs::read(fixture("custom-header.json")).unwrap();
    let server = Server::start(move |_| {
        Router::new().route("/openapi.json", get(move || async move { body.clone() }))
    });
    let mcp = open_mcp_server("Open Docs");
    let repo = Repo::new();
    let with_proxy = |args: &[&str]| {
        let mut c = repo.cmd(args);
        for v in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            c = c.env(v, &proxy.url);
        }
        c.run()
    };
    with_proxy(&[
        "new",
        "--from-openapi",
        &format!("{}/openapi.json", server.url),
    ])
    .code(0);
    with_proxy(&[
        "new",
        "--from-mcp",
        &format!("{}/mcp", mcp.url),
        "--proxy-url",
        "https://docs.acme.example.net/mcp",
    ])
    .code(0);
    assert!(
        proxied.lock().unwrap().is_empty(),
        "{:?}",
        proxied.lock().unwrap()
    );
}

/// A body that never ends; counts the bytes it produced.
struct Endless(Arc<std::sync::atomic::AtomicUsize>);

impl hyper::body::Body for Endless {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        const CHUNK: &[u8] = &[b' '; 64 * 1024];
        self.0
            .fetch_add(CHUNK.len(), std::sync::atomic::Ordering::Relaxed);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
            hyper::body::Bytes::from_static(CHUNK),
        ))))
    }
}

#[test]
fn network_reads_are_capped() {
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = sent.clone();
    let server = Server::start(move |base| {
        let challenge = format!("Bearer resource_metadata=\"{base}/prm\"");
        let (s1, s2) = (s.clone(), s.clone());
        Router::new()
            .route(
                "/mcp",
                post(move || async move {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, challenge)],
                    )
                }),
            )
            .route(
                "/prm",
                get(move || async move { axum::body::Body::new(Endless(s1)) }),
            )
            .route(
                "/openapi.json",
                get(move || async move { axum::body::Body::new(Endless(s2)) }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND })
    });
    let cap = 32 << 20;
    let out = Repo::new().skconn([
        "new",
        "Acme Stream",
        "--from-mcp",
        &format!("{}/mcp", server.url),
        "--type",
        "bearer",
        "--proxy-url",
        "https://mcp.acme.example.net/mcp",
        "--explain",
        "--stdout",
        "--timeout",
        "3",
    ]);
    out.code(0).stderr_has("larger than 32 MiB");
    let n = sent.swap(0, std::sync::atomic::Ordering::Relaxed);
    assert!(n < cap + (16 << 20), "the server sent {n} bytes");

    Repo::new()
        .skconn([
            "new",
            "--from-openapi",
            &format!("{}/openapi.json", server.url),
            "--timeout",
            "3",
        ])
        .code(1)
        .stderr_has("larger than 32 MiB");
    let n = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(n < cap + (16 << 20), "the server sent {n} bytes");
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    let repo = Repo::new().file("dir/x.yaml", "openapi: 3.0.0\n");
    let fifo = repo.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for path in ["/dev/zero", "fifo", "dir"] {
        repo.skconn(["new", "--from-openapi", path])
            .code(1)
            .stderr_has(&format!("{path} is not a regular file"));
    }
    // Over 64 MiB: refused up front, naming the size.
    let big = std::fs::File::create(repo.path().join("big.yaml")).unwrap();
    big.set_len(65 << 20).unwrap();
    repo.skconn(["new", "--from-openapi", "big.yaml"])
        .code(1)
        .stderr_has("big.yaml is 65.0 MiB")
        .stderr_has("up to 64 MiB");
}

#[test]
fn hostile_documents_are_read_or_refused_clearly() {
    let head = "openapi: 3.0.0\ninfo:\n  title: Acme Hostile\n  version: \"1\"\nservers: [{url: \"https://h.acme.example.net\"}]\ncomponents:\n  securitySchemes:\n    t: {type: http, scheme: bearer}\nsecurity: [{t: []}]\n";
    // A description of brackets: read, and cut at a word boundary since it has no end.
    let doc = format!("{head}paths: {{}}\n").replacen(
        "  version: \"1\"\n",
        &format!(
            "  version: \"1\"\n  description: \"{}\"\n",
            "[".repeat(200_000)
        ),
        1,
    );
    let repo = Repo::new().file("brackets.yaml", doc);
    repo.skconn(["new", "--from-openapi", "brackets.yaml"])
        .code(0);
    // Deep flow nesting in a key skconn does not read: refused, with the place.
    let deep = format!(
        "{head}x-deep: {}{}\npaths: {{}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let repo = repo.file("deep.yaml", deep);
    repo.skconn(["new", "--from-openapi", "deep.yaml"])
        .code(1)
        .stderr_has("deep.yaml:10:73:")
        .stderr_has("nests flow collections (`[…]`, `{…}`) more than 64 levels");
    // A flow collection the YAML reader would have to hold whole, to learn whether it is a key.
    let held = format!(
        "{head}x-held: [[0{}]]\npaths: {{}}\n",
        ", 0".repeat(400_000)
    );
    let repo = repo.file("held.yaml", held);
    repo.skconn(["new", "--from-openapi", "held.yaml"])
        .code(1)
        .stderr_has("held.yaml:10:10:")
        .stderr_has("could be a key runs on for more than 1 MiB");
    // JSON: serde_json reads past an ignored key in linear time, and refuses the depth in a
    // part skconn reads.
    let deep_json = |at: &str| {
        format!(
            "{{\"openapi\": \"3.0.0\", \"info\": {{\"title\": \"Acme Deep\"}}, {at}{}{}}}}}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
    };
    let repo = repo.file("deep.json", deep_json("\"x-deep\": {\"a\": {\"b\": "));
    repo.skconn(["new", "--from-openapi", "deep.json", "--type", "bearer"])
        .code(1)
        .stderr_has("no `servers`");
    let repo = repo.file(
        "deep.json",
        deep_json("\"components\": {\"securitySchemes\": {\"k\": "),
    );
    repo.skconn(["new", "--from-openapi", "deep.json"])
        .code(1)
        .stderr_has("deep.json:1:")
        .stderr_has("nested more than 128 levels");
    // Block nesting likewise.
    let mut block = String::from(head);
    block.push_str("x-deep:\n");
    for i in 0..200 {
        block.push_str(&" ".repeat(2 * i + 2));
        block.push_str("a:\n");
    }
    let repo = repo.file("block.yaml", block);
    repo.skconn(["new", "--from-openapi", "block.yaml"])
        .code(1)
        .stderr_has("nested more than 128 levels");
}
