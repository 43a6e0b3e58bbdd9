//! Tests of the emulator: real HTTP against `Emulator::spawn`, checked against the contract in
//! `scalekit-api.md`.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use skconn::emulator::{Config, Emulator, Fault, FaultKind, Rewrite};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start(config: Config) -> Emulator {
    Emulator::spawn(config).expect("the emulator starts")
}

/// An answer: status, JSON body (`Null` when empty or not JSON), headers.
struct Resp {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

impl Resp {
    /// The `ErrorInfo` of an error body.
    fn info(&self) -> &Value {
        &self.body["details"][0]
    }

    /// The fields named in the validation violations, in order.
    fn violated_fields(&self) -> Vec<String> {
        self.info()["validation_error_info"]["field_violations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the gRPC error shape: HTTP status, gRPC code, error code, a request id.
    #[track_caller]
    fn assert_error(&self, status: u16, code: u64, error_code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["code"], json!(code), "body: {}", self.body);
        assert!(self.body["message"].is_string(), "body: {}", self.body);
        let info = self.info();
        assert_eq!(
            info["@type"],
            json!("type.googleapis.com/scalekit.v1.errdetails.ErrorInfo")
        );
        assert_eq!(info["error_code"], json!(error_code), "body: {}", self.body);
        let request_id = info["request_info"]["request_id"]
            .as_str()
            .unwrap_or_default();
        assert!(request_id.starts_with("req_"), "body: {}", self.body);
    }
}

/// A minimal HTTP client for the emulator, with a token once `login` ran.
struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    fn anonymous(emu: &Emulator) -> Client {
        Client {
            base: emu.url(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    async fn login(emu: &Emulator) -> Client {
        let mut c = Client::anonymous(emu);
        let r = c
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("client_id", emu.client_id()),
                ("client_secret", emu.client_secret()),
            ])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        c.token = Some(r.body["access_token"].as_str().unwrap().to_string());
        c
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(form)
            .send()
            .await
            .expect("token request");
        to_resp(r).await
    }

    async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<Resp> {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        Ok(to_resp(rb.send().await?).await)
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.try_send(method, path, body)
            .await
            .expect("the request gets an answer")
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    async fn create(&self, body: &Value) -> Resp {
        self.send(Method::POST, "/api/v1/custom-providers", Some(body))
            .await
    }

    async fn update(&self, identifier: &str, body: &Value) -> Resp {
        self.send(Method::PUT, &provider_path(identifier), Some(body))
            .await
    }

    async fn delete(&self, identifier: &str) -> Resp {
        self.send(Method::DELETE, &provider_path(identifier), None)
            .await
    }

    async fn list(&self, query: &str) -> Resp {
        self.get(&format!("/api/v1/providers?{query}")).await
    }

    /// Every custom connector, following `next_page_token`, with the sizes of the pages.
    async fn list_all_custom(&self, page_size: usize) -> (Vec<Value>, Vec<usize>) {
        let mut all = Vec::new();
        let mut sizes = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = format!("filter.provider_type=CUSTOM&page_size={page_size}");
            if !token.is_empty() {
                query.push_str(&format!("&page_token={token}"));
            }
            let r = self.list(&query).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let page = r.body["providers"].as_array().unwrap().clone();
            sizes.push(page.len());
            all.extend(page);
            token = r.body["next_page_token"].as_str().unwrap().to_string();
            if token.is_empty() {
                return (all, sizes);
            }
            assert!(sizes.len() < 100, "pagination does not end");
        }
    }
}

async fn to_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("the body arrives");
    Resp {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

/// The path of one custom provider, its identifier percent-encoded as a careful client does.
fn provider_path(identifier: &str) -> String {
    format!(
        "/api/v1/custom-providers/{}",
        identifier.replace('%', "%25").replace(':', "%3A")
    )
}

/// The contract's OAuth REST example.
fn asana(name: &str) -> Value {
    json!({
        "display_name": name,
        "description": "Connect to Asana",
        "auth_patterns": [{
            "type": "OAUTH", "display_name": "OAuth 2.0", "description": "Sign in", "fields": [],
            "oauth_config": {
                "authorize_uri": "https://app.asana.com/-/oauth_authorize",
                "token_uri": "https://app.asana.com/-/oauth_token",
                "available_scopes": [{"scope": "profile", "display_name": "Profile", "required": true}]
            }
        }],
        "proxy_url": "https://app.asana.com/api",
        "proxy_enabled": true,
        "metadata": {"team": "payments"}
    })
}

/// The smallest valid body.
fn minimal(name: &str) -> Value {
    json!({
        "display_name": name,
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token", "input_type": "password"}]}],
        "proxy_url": "https://api.example.com"
    })
}

fn identifier_of(provider: &Value) -> String {
    provider["identifier"]
        .as_str()
        .expect("an identifier")
        .to_string()
}

fn names(providers: &[Value]) -> Vec<&str> {
    providers
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Token and bearer

#[tokio::test]
async fn token_is_issued_for_the_right_credentials_only() {
    let emu = start(Config::default());
    let c = Client::anonymous(&emu);
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", emu.client_id()),
        ("client_secret", emu.client_secret()),
    ];
    let r = c.token_request(&good).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "openid");
    let first = r.body["access_token"].as_str().unwrap().to_string();
    assert!(first.len() >= 16);
    let second = c.token_request(&good).await;
    assert_ne!(second.body["access_token"].as_str().unwrap(), first);

    let r = c
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", emu.client_id()),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_client");
    assert!(r.body["error_description"].is_string());

    let r = c
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "someone_else"),
            ("client_secret", emu.client_secret()),
        ])
        .await;
    assert_eq!(r.status, 401);

    let r = c
        .token_request(&[
            ("grant_type", "password"),
            ("client_id", emu.client_id()),
            ("client_secret", emu.client_secret()),
        ])
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "unsupported_grant_type");

    let r = c
        .token_request(&[
            ("client_id", emu.client_id()),
            ("client_secret", emu.client_secret()),
        ])
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_request");

    // The form is the only accepted encoding.
    let r = c
        .http
        .post(format!("{}/oauth/token", emu.url()))
        .json(&json!({"grant_type": "client_credentials", "client_id": emu.client_id(), "client_secret": emu.client_secret()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // The secret never lands in what the emulator records.
    let recorded = format!("{:?}", emu.requests());
    assert!(!recorded.contains(emu.client_secret()));
    assert!(emu
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .all(|r| r.body.is_none()));
}

#[tokio::test]
async fn tokens_expire() {
    // A zero lifetime: every token is expired on arrival.
    let emu = start(Config {
        token_ttl: Duration::ZERO,
        ..Config::default()
    });
    let c = Client::login(&emu).await;
    let r = c.list("filter.provider_type=CUSTOM").await;
    r.assert_error(401, 16, "UNAUTHENTICATED");
    assert!(r.body["message"].as_str().unwrap().contains("expired"));

    // A normal lifetime, then the clock runs out.
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    assert_eq!(c.list("filter.provider_type=CUSTOM").await.status, 200);
    emu.expire_tokens();
    c.list("filter.provider_type=CUSTOM")
        .await
        .assert_error(401, 16, "UNAUTHENTICATED");
    let fresh = Client::login(&emu).await;
    assert_eq!(fresh.list("filter.provider_type=CUSTOM").await.status, 200);
}

#[tokio::test]
async fn every_api_call_needs_a_valid_bearer_token() {
    let emu = start(Config::default());
    emu.insert(minimal("Existing"));
    let anonymous = Client::anonymous(&emu);
    let r = anonymous.list("filter.provider_type=CUSTOM").await;
    r.assert_error(401, 16, "UNAUTHENTICATED");
    anonymous
        .create(&minimal("New"))
        .await
        .assert_error(401, 16, "UNAUTHENTICATED");
    anonymous
        .delete("existing:12345")
        .await
        .assert_error(401, 16, "UNAUTHENTICATED");

    let forged = Client {
        token: Some("skt_not_a_token".into()),
        ..Client::anonymous(&emu)
    };
    forged
        .list("filter.provider_type=CUSTOM")
        .await
        .assert_error(401, 16, "UNAUTHENTICATED");

    let c = Client::login(&emu).await;
    let basic = c
        .http
        .get(format!("{}/api/v1/providers", emu.url()))
        .basic_auth(emu.client_id(), Some(emu.client_secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);

    assert_eq!(c.list("filter.provider_type=CUSTOM").await.status, 200);
    assert_eq!(emu.connectors().len(), 1, "refused calls changed nothing");

    let seen: Vec<(u16, bool)> = emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.status, r.has_authorization))
        .collect();
    assert_eq!(
        seen,
        vec![
            (401, false),
            (401, false),
            (401, false),
            (401, true),
            (401, true),
            (200, true)
        ]
    );
    let token = c.token.as_deref().unwrap();
    assert!(!format!("{:?}", emu.requests()).contains(token));
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn pagination_caps_the_page_size_and_follows_tokens_to_the_end() {
    let emu = start(Config {
        max_page_size: 3,
        ..Config::default()
    });
    // Created in reverse name order: the list keeps creation order.
    let created: Vec<String> = (1..=8).rev().map(|i| format!("Conn {i}")).collect();
    for name in &created {
        emu.insert(minimal(name));
    }
    let c = Client::login(&emu).await;

    let (all, sizes) = c.list_all_custom(1000).await;
    assert_eq!(sizes, vec![3, 3, 2], "the server's maximum wins");
    assert_eq!(names(&all), created);

    let (_, sizes) = c.list_all_custom(2).await;
    assert_eq!(sizes, vec![2, 2, 2, 2]);
    let (_, sizes) = c.list_all_custom(0).await;
    assert_eq!(sizes, vec![3, 3, 2], "page_size 0 means the maximum");

    let first = c.list("filter.provider_type=CUSTOM&page_size=1000").await;
    assert_eq!(first.body["total_size"], 8);
    assert_eq!(first.body["prev_page_token"], "");
    let next = first.body["next_page_token"].as_str().unwrap().to_string();
    assert!(next.starts_with("pt_"), "{next}");
    assert!(next.parse::<u64>().is_err(), "the token is opaque");

    let second = c
        .list(&format!("filter.provider_type=CUSTOM&page_token={next}"))
        .await;
    assert_eq!(
        names(second.body["providers"].as_array().unwrap()),
        ["Conn 5", "Conn 4", "Conn 3"]
    );
    let prev = second.body["prev_page_token"].as_str().unwrap();
    assert!(!prev.is_empty());
    let back = c
        .list(&format!("filter.provider_type=CUSTOM&page_token={prev}"))
        .await;
    assert_eq!(back.body["providers"], first.body["providers"]);

    // A delete between pages neither skips nor repeats an item.
    let victim = identifier_of(&emu.connector("Conn 7").unwrap());
    assert_eq!(c.delete(&victim).await.status, 200);
    let second = c
        .list(&format!("filter.provider_type=CUSTOM&page_token={next}"))
        .await;
    assert_eq!(
        names(second.body["providers"].as_array().unwrap()),
        ["Conn 5", "Conn 4", "Conn 3"]
    );
    assert_eq!(second.body["total_size"], 7);

    for bad in ["3", "pt_0000", "garbage", &next[..next.len() - 1]] {
        let r = c
            .list(&format!("filter.provider_type=CUSTOM&page_token={bad}"))
            .await;
        r.assert_error(400, 3, "INVALID_ARGUMENT");
        assert_eq!(r.violated_fields(), ["page_token"]);
    }
    c.list("page_size=-1")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn the_custom_filter_never_returns_default_providers() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;

    let r = c.list("filter.provider_type=CUSTOM&page_size=1000").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"providers": [], "next_page_token": "", "prev_page_token": "", "total_size": 0})
    );

    let r = c.list("filter.provider_type=DEFAULT").await;
    let defaults = r.body["providers"].as_array().unwrap();
    assert_eq!(names(defaults), ["Slack", "Gmail"]);
    assert!(defaults.iter().all(|p| p["is_custom"] == false));

    let mine = emu.insert(asana("My Asana"));
    let r = c.list("filter.provider_type=CUSTOM").await;
    assert_eq!(r.body["providers"], json!([mine]));
    assert_eq!(r.body["total_size"], 1);

    for all in ["filter.provider_type=ALL", ""] {
        let r = c.list(all).await;
        assert_eq!(
            names(r.body["providers"].as_array().unwrap()),
            ["Slack", "Gmail", "My Asana"]
        );
    }

    let r = c
        .list(&format!(
            "filter.provider_type=ALL&identifier={}",
            identifier_of(&mine).replace(':', "%3A")
        ))
        .await;
    assert_eq!(r.body["providers"], json!([mine]));

    let r = c.list("filter.provider_type=MINE").await;
    r.assert_error(400, 3, "INVALID_ARGUMENT");
    assert_eq!(r.violated_fields(), ["filter.provider_type"]);
    let r = c.list("filter.provider_type=CUSTOM&pageSize=5").await;
    r.assert_error(400, 3, "INVALID_ARGUMENT");
    assert_eq!(r.violated_fields(), ["pageSize"]);
}

// ---------------------------------------------------------------------------------------------
// Create, update, delete

#[tokio::test]
async fn create_update_delete_round_trip() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;

    let r = c.create(&asana("My Asana")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.body["provider"].clone();
    let identifier = identifier_of(&created);
    let (slug, number) = identifier.split_once(':').unwrap();
    assert_eq!(slug, "my_asana");
    assert!(number.len() == 5 && number.bytes().all(|b| b.is_ascii_digit()));
    assert!(created["id"].as_str().unwrap().starts_with("prov_"));
    assert_eq!(emu.connector("My Asana"), Some(created.clone()));

    c.create(&asana("My Asana"))
        .await
        .assert_error(409, 6, "ALREADY_EXISTS");

    // A rename keeps the identifier.
    let mut renamed = asana("Asana Work");
    renamed["description"] = json!("Renamed");
    let r = c.update(&identifier, &renamed).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["provider"]["identifier"], json!(identifier));
    assert_eq!(r.body["provider"]["id"], created["id"]);
    assert_eq!(r.body["provider"]["display_name"], "Asana Work");
    assert!(emu.connector("My Asana").is_none());

    // Renaming onto another connector's name conflicts.
    let other = c.create(&minimal("Other")).await.body["provider"].clone();
    c.update(&identifier_of(&other), &asana("Asana Work"))
        .await
        .assert_error(409, 6, "ALREADY_EXISTS");

    c.update("nobody:00000", &asana("Ghost"))
        .await
        .assert_error(404, 5, "NOT_FOUND");

    // The identifier is percent-decoded; an unencoded ':' works too.
    let r = c
        .send(
            Method::DELETE,
            &format!("/api/v1/custom-providers/{identifier}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({}));
    c.delete(&identifier)
        .await
        .assert_error(404, 5, "NOT_FOUND");
    c.update(&identifier, &asana("Asana Work"))
        .await
        .assert_error(404, 5, "NOT_FOUND");
    let r = c.delete(&identifier_of(&other)).await;
    assert_eq!(r.status, 200);
    assert!(emu.connectors().is_empty());
    assert_eq!(emu.writes(), 10);
}

#[tokio::test]
async fn update_replaces_the_whole_object() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    let mut full = asana("My Asana");
    full["icon_src"] = json!("https://cdn.example.com/asana.svg");
    let identifier = identifier_of(&c.create(&full).await.body["provider"]);
    assert_eq!(
        emu.connector("My Asana").unwrap()["metadata"],
        json!({"team": "payments"})
    );

    let r = c.update(&identifier, &minimal("My Asana")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = emu.connector("My Asana").unwrap();
    assert_eq!(r.body["provider"], stored);
    assert_eq!(stored["metadata"], json!({}), "omitted metadata is wiped");
    for wiped in ["description", "icon_src", "proxy_enabled"] {
        assert!(stored.get(wiped).is_none(), "{wiped} left: {stored}");
    }
    assert_eq!(stored["auth_patterns"], minimal("x")["auth_patterns"]);
}

#[tokio::test]
async fn in_use_connectors_cannot_be_deleted() {
    let emu = start(Config::default());
    let identifier = identifier_of(&emu.insert(asana("My Asana")));
    emu.add_connection("My Asana", "asana-draft", "DRAFT", false);
    let c = Client::login(&emu).await;
    let r = c.delete(&identifier).await;
    r.assert_error(400, 9, "FAILED_PRECONDITION");
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("remove the related connections or connected accounts"));
    assert!(emu.connector("My Asana").is_some());
    // The other reading of the contract: a 403.
    emu.set_usage_options(|o| o.in_use_refusal = skconn::emulator::InUseRefusal::Forbidden);
    c.delete(&identifier)
        .await
        .assert_error(403, 7, "PERMISSION_DENIED");
    // Updates are still allowed.
    assert_eq!(c.update(&identifier, &asana("My Asana")).await.status, 200);
    assert_eq!(emu.remove_connections("My Asana"), 1);
    assert_eq!(c.delete(&identifier).await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Validation

#[tokio::test]
async fn validation_lists_every_violation() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    let long_key = "k".repeat(26);
    let body = json!({
        "display_name": "My-Asana!",
        "auth_patterns": [],
        "proxy_url": "http://app.asana.com",
        "icon_src": "http://cdn.example.com/i.svg",
        "metadata": {"ab": "", long_key.clone(): "v"},
        "id": "prov_1",
        "identifier": "my_asana:1",
        "is_custom": true,
        "colour": "red"
    });
    let r = c.create(&body).await;
    r.assert_error(400, 3, "INVALID_ARGUMENT");
    let mut fields = r.violated_fields();
    fields.sort();
    let mut expected = vec![
        "id".to_string(),
        "identifier".into(),
        "is_custom".into(),
        "colour".into(),
        "display_name".into(),
        "auth_patterns".into(),
        "proxy_url".into(),
        "icon_src".into(),
        "metadata.ab".into(),
        "metadata.ab".into(),
        format!("metadata.{long_key}"),
    ];
    expected.sort();
    assert_eq!(fields, expected);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("display_name: value does not match regex pattern"));
    assert!(emu.connectors().is_empty());
}

#[tokio::test]
async fn each_validation_rule_is_enforced() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    let with = |key: &str, value: Value| {
        let mut b = minimal("Valid Name");
        b[key] = value;
        b
    };
    let without = |key: &str| {
        let mut b = minimal("Valid Name");
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let long_key_field = format!("metadata.{}", "k".repeat(26));
    let many_pairs: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("key{i}"), json!("v"))).collect();
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "display_name missing",
            without("display_name"),
            vec!["display_name"],
        ),
        (
            "display_name empty",
            with("display_name", json!("")),
            vec!["display_name"],
        ),
        (
            "display_name null",
            with("display_name", Value::Null),
            vec!["display_name"],
        ),
        (
            "display_name 201 chars",
            with("display_name", json!("a".repeat(201))),
            vec!["display_name"],
        ),
        (
            "display_name only spaces",
            with("display_name", json!("   ")),
            vec!["display_name"],
        ),
        (
            "display_name hyphen",
            with("display_name", json!("My-Asana")),
            vec!["display_name"],
        ),
        (
            "display_name accent",
            with("display_name", json!("Café")),
            vec!["display_name"],
        ),
        (
            "display_name number",
            with("display_name", json!(7)),
            vec!["display_name"],
        ),
        (
            "auth_patterns missing",
            without("auth_patterns"),
            vec!["auth_patterns"],
        ),
        (
            "auth_patterns empty",
            with("auth_patterns", json!([])),
            vec!["auth_patterns"],
        ),
        (
            "auth_patterns object",
            with("auth_patterns", json!({"type": "OAUTH"})),
            vec!["auth_patterns"],
        ),
        (
            "auth_patterns items",
            with("auth_patterns", json!(["OAUTH", {}, 3])),
            vec!["auth_patterns[0]", "auth_patterns[2]"],
        ),
        ("proxy_url missing", without("proxy_url"), vec!["proxy_url"]),
        (
            "proxy_url empty",
            with("proxy_url", json!("")),
            vec!["proxy_url"],
        ),
        (
            "proxy_url http",
            with("proxy_url", json!("http://api.example.com")),
            vec!["proxy_url"],
        ),
        (
            "proxy_url too long",
            with("proxy_url", json!(format!("https://{}", "a".repeat(2041)))),
            vec!["proxy_url"],
        ),
        (
            "proxy_enabled string",
            with("proxy_enabled", json!("yes")),
            vec!["proxy_enabled"],
        ),
        (
            "description number",
            with("description", json!(5)),
            vec!["description"],
        ),
        (
            "icon_src ftp",
            with("icon_src", json!("ftp://x/icon.svg")),
            vec!["icon_src"],
        ),
        (
            "icon_src too long",
            with("icon_src", json!(format!("https://{}", "a".repeat(2041)))),
            vec!["icon_src"],
        ),
        (
            "metadata 21 pairs",
            with("metadata", Value::Object(many_pairs)),
            vec!["metadata"],
        ),
        (
            "metadata short key",
            with("metadata", json!({"ab": "v"})),
            vec!["metadata.ab"],
        ),
        (
            "metadata long key",
            with("metadata", json!({"k".repeat(26): "v"})),
            vec![long_key_field.as_str()],
        ),
        (
            "metadata empty value",
            with("metadata", json!({"abc": ""})),
            vec!["metadata.abc"],
        ),
        (
            "metadata long value",
            with("metadata", json!({"abc": "v".repeat(257)})),
            vec!["metadata.abc"],
        ),
        (
            "metadata number value",
            with("metadata", json!({"abc": 5})),
            vec!["metadata.abc"],
        ),
        (
            "metadata array",
            with("metadata", json!(["abc"])),
            vec!["metadata"],
        ),
        (
            "unknown key",
            with("client_secret", json!("x")),
            vec!["client_secret"],
        ),
    ];
    for (what, body, fields) in cases {
        let r = c.create(&body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        r.assert_error(400, 3, "INVALID_ARGUMENT");
        assert_eq!(r.violated_fields(), fields, "{what}");
    }
    for owned in [
        "id",
        "identifier",
        "categories",
        "display_priority",
        "coming_soon",
        "is_custom",
        "is_custom_mcp",
    ] {
        let r = c.create(&with(owned, json!("x"))).await;
        r.assert_error(400, 3, "INVALID_ARGUMENT");
        assert_eq!(r.violated_fields(), [owned]);
    }

    // The body must be a JSON object, sent as JSON.
    let r = c.create(&json!([minimal("Valid Name")])).await;
    r.assert_error(400, 3, "INVALID_ARGUMENT");
    let r = c
        .http
        .post(format!("{}/api/v1/custom-providers", emu.url()))
        .bearer_auth(c.token.as_deref().unwrap())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    to_resp(r).await.assert_error(400, 3, "INVALID_ARGUMENT");
    let r = c
        .http
        .post(format!("{}/api/v1/custom-providers", emu.url()))
        .bearer_auth(c.token.as_deref().unwrap())
        .header("content-type", "text/plain")
        .body(minimal("Valid Name").to_string())
        .send()
        .await
        .unwrap();
    to_resp(r).await.assert_error(400, 3, "INVALID_ARGUMENT");

    // An update is validated like a create, before the identifier is looked up.
    c.update("nobody:1", &with("proxy_url", json!("http://x")))
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    assert!(emu.connectors().is_empty());

    // The limits themselves are allowed; null means absent.
    let edge_pairs: serde_json::Map<String, Value> = (0..20)
        .map(|i| (format!("{i:0>25}"), json!("v".repeat(256))))
        .collect();
    let mut edge = with("display_name", json!("a".repeat(200)));
    edge["metadata"] = Value::Object(edge_pairs);
    edge["proxy_url"] = json!(format!("https://{}", "a".repeat(2040)));
    edge["icon_src"] = json!("");
    edge["description"] = Value::Null;
    let r = c.create(&edge).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .create(&with("display_name", json!(" Spaced  Name 2 ")))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["provider"]["identifier"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("spaced_name_2")
    );
}

#[tokio::test]
async fn auth_patterns_pass_through_untouched() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    let patterns = json!([{
        "type": "SOMETHING_NEW",
        "display_name": "Odd",
        "fields": [{"field_name": "x", "weird": [1, 2, {"deep": null}]}],
        "future_key": {"nested": true},
        "is_mcp": false
    }]);
    let mut body = minimal("Odd One");
    body["auth_patterns"] = patterns.clone();
    let r = c.create(&body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["provider"]["auth_patterns"], patterns);
    assert_eq!(emu.connector("Odd One").unwrap()["auth_patterns"], patterns);
}

// ---------------------------------------------------------------------------------------------
// Returned objects and identifiers

#[tokio::test]
async fn returned_objects_carry_server_owned_fields() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    let p = c.create(&minimal("Bare")).await.body["provider"].clone();
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "identifier",
            "display_name",
            "auth_patterns",
            "proxy_url",
            "metadata",
            "categories",
            "display_priority",
            "coming_soon",
            "is_custom",
            "is_custom_mcp"
        ],
        "zero description, icon_src and proxy_enabled are omitted: {p}"
    );
    assert_eq!(p["categories"], json!([]));
    assert_eq!(p["display_priority"], 0);
    assert_eq!(p["coming_soon"], false);
    assert_eq!(p["is_custom"], true);
    assert_eq!(p["is_custom_mcp"], false);
    assert_eq!(p["metadata"], json!({}));

    let full = c.create(&asana("Full")).await.body["provider"].clone();
    assert_eq!(full["description"], "Connect to Asana");
    assert_eq!(full["proxy_enabled"], true);

    let mut mcp = minimal("Copilot");
    mcp["auth_patterns"] =
        json!([{"type": "OAUTH", "is_mcp": true, "oauth_config": {"pkce_enabled": true}}]);
    mcp["proxy_url"] = json!("https://api.githubcopilot.com/mcp/");
    let p = c.create(&mcp).await.body["provider"].clone();
    assert_eq!(p["is_custom_mcp"], true);

    // The list returns the same objects.
    let r = c.list("filter.provider_type=CUSTOM").await;
    let listed = r.body["providers"].as_array().unwrap();
    assert_eq!(listed[2], p);
}

#[tokio::test]
async fn identifiers_differ_between_instances_unless_seeded() {
    let one = start(Config::default());
    let two = start(Config::default());
    let a = one.insert(asana("My Asana"));
    let b = two.insert(asana("My Asana"));
    assert_ne!(a["identifier"], b["identifier"]);
    assert_ne!(a["id"], b["id"]);

    let seeded = || {
        start(Config {
            seed: Some(42),
            ..Config::default()
        })
    };
    let (x, y) = (seeded(), seeded());
    assert_eq!(x.insert(asana("My Asana")), y.insert(asana("My Asana")));
}

#[tokio::test]
async fn out_of_band_edits_show_through_the_api() {
    let emu = start(Config::default());
    let before = emu.insert(asana("My Asana"));
    emu.edit("My Asana", |p| {
        p["description"] = json!("Edited in the dashboard");
        p["metadata"]["team"] = json!("platform");
        p["auth_patterns"][0]["is_mcp"] = json!(true);
        p["brand_new_server_field"] = json!({"x": 1});
        p["identifier"] = json!("cannot:change");
    });
    let c = Client::login(&emu).await;
    let listed = c.list("filter.provider_type=CUSTOM").await.body["providers"][0].clone();
    assert_eq!(listed["description"], "Edited in the dashboard");
    assert_eq!(listed["metadata"]["team"], "platform");
    assert_eq!(listed["brand_new_server_field"], json!({"x": 1}));
    assert_eq!(listed["is_custom_mcp"], true);
    assert_eq!(listed["identifier"], before["identifier"]);
    assert_eq!(emu.writes(), 0, "edits are not API writes");
}

#[tokio::test]
async fn the_rewrite_rule_changes_what_is_stored() {
    let emu = start(Config {
        rewrite: Rewrite::LowercaseProxyHost,
        ..Config::default()
    });
    let c = Client::login(&emu).await;
    let mut body = minimal("Shouty");
    body["proxy_url"] = json!("https://API.Example.COM/V1/{{Tenant}}");
    let r = c.create(&body).await;
    assert_eq!(
        r.body["provider"]["proxy_url"],
        "https://api.example.com/V1/{{Tenant}}"
    );

    emu.set_rewrite(Rewrite::ProxyUrlTrailingSlash);
    let identifier = identifier_of(&r.body["provider"]);
    let r = c.update(&identifier, &body).await;
    assert_eq!(
        r.body["provider"]["proxy_url"],
        "https://API.Example.COM/V1/{{Tenant}}/"
    );

    emu.set_rewrite(Rewrite::Custom(Arc::new(|b| {
        b["description"] = json!("normalised");
    })));
    let r = c.update(&identifier, &body).await;
    assert_eq!(r.body["provider"]["description"], "normalised");
}

// ---------------------------------------------------------------------------------------------
// State file

#[tokio::test]
async fn the_state_file_keeps_connectors_and_identifiers_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repo/.skconn/local.json");
    let config = Config {
        state_file: Some(file.clone()),
        ..Config::default()
    };

    let emu = start(config.clone());
    let c = Client::login(&emu).await;
    assert_eq!(c.create(&asana("My Asana")).await.status, 201);
    emu.insert(minimal("Busy"));
    emu.add_connection("Busy", "busy-1", "COMPLETED", true);
    emu.add_connected_accounts("busy-1", "ACTIVE", 2);
    let before = emu.connectors();
    drop(c);
    drop(emu);

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\n  "), "pretty JSON");
    let mut leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    leftovers.sort();
    // The lock file stays (removing it would race with another process taking it).
    assert_eq!(
        leftovers,
        ["local.json", "local.json.lock"],
        "no temporary file left"
    );

    let emu = start(config.clone());
    assert_eq!(emu.connectors(), before);
    let c = Client::login(&emu).await;
    let busy = identifier_of(&emu.connector("Busy").unwrap());
    c.delete(&busy)
        .await
        .assert_error(400, 9, "FAILED_PRECONDITION");
    let third = c.create(&minimal("Third")).await.body["provider"].clone();
    assert!(before
        .iter()
        .all(|p| p["identifier"] != third["identifier"]));
    let r = c.list("filter.provider_type=CUSTOM").await;
    assert_eq!(
        names(r.body["providers"].as_array().unwrap()),
        ["My Asana", "Busy", "Third"],
        "the creation order survives"
    );
    let asana_id = identifier_of(&emu.connector("My Asana").unwrap());
    assert_eq!(c.delete(&asana_id).await.status, 200);
    drop(emu);

    let emu = start(config.clone());
    assert_eq!(names(&emu.connectors()), ["Busy", "Third"]);
    drop(emu);

    std::fs::write(&file, "{ not state").unwrap();
    let err = Emulator::spawn(config).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn status_faults_refuse_matching_requests_in_order() {
    let emu = start(Config::default());
    let identifier = identifier_of(&emu.insert(asana("My Asana")));
    let c = Client::login(&emu).await;
    emu.push_fault("503:PUT:2".parse().unwrap());
    emu.push_fault(Fault::status(500).method("GET"));
    assert_eq!(emu.pending_faults(), 2);

    c.list("").await.assert_error(500, 13, "INTERNAL");
    assert_eq!(c.list("").await.status, 200);
    let mut changed = asana("My Asana");
    changed["description"] = json!("Changed");
    c.update(&identifier, &changed)
        .await
        .assert_error(503, 14, "UNAVAILABLE");
    c.update(&identifier, &changed)
        .await
        .assert_error(503, 14, "UNAVAILABLE");
    assert_eq!(
        emu.connector("My Asana").unwrap()["description"],
        "Connect to Asana",
        "a refused write changes nothing"
    );
    assert_eq!(c.update(&identifier, &changed).await.status, 200);
    assert_eq!(emu.pending_faults(), 0);

    let applied: Vec<Option<FaultKind>> = emu
        .requests()
        .iter()
        .filter(|r| r.path != "/oauth/token")
        .map(|r| r.fault.clone())
        .collect();
    let s = |status| {
        Some(FaultKind::Status {
            status,
            retry_after: None,
        })
    };
    assert_eq!(applied, [s(500), None, s(503), s(503), None]);

    // A path prefix narrows the matcher; `*` times applies forever.
    emu.push_fault("500:*:*@/api/v1/custom-providers".parse().unwrap());
    assert_eq!(c.list("").await.status, 200);
    for _ in 0..3 {
        c.create(&minimal("Never"))
            .await
            .assert_error(500, 13, "INTERNAL");
    }
    assert_eq!(emu.pending_faults(), 1);
    emu.clear_faults();
    assert_eq!(c.create(&minimal("Now")).await.status, 201);
}

#[tokio::test]
async fn rate_limit_faults_carry_retry_after() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    emu.push_fault(Fault::rate_limited(7));
    let r = c.list("").await;
    r.assert_error(429, 8, "RATE_LIMITED");
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(r.info()["retry_after"], 7);
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    let reset: u64 = r.headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_600_000_000);

    emu.push_fault("429".parse().unwrap());
    let r = c.list("").await;
    r.assert_error(429, 8, "RATE_LIMITED");
    assert!(r.headers.get("retry-after").is_none());
    assert!(r.info().get("retry_after").is_none());
    assert_eq!(c.list("").await.status, 200);
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_changes_nothing() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    emu.push_fault("drop:POST".parse().unwrap());
    let err = c
        .try_send(
            Method::POST,
            "/api/v1/custom-providers",
            Some(&minimal("Dropped")),
        )
        .await
        .err()
        .expect("a connection error");
    assert!(err.status().is_none(), "{err}");
    assert!(emu.connectors().is_empty());
    let last = emu.requests().last().unwrap().clone();
    assert_eq!(last.status, 0);
    assert_eq!(last.fault, Some(FaultKind::Drop));
    assert_eq!(last.body, Some(minimal("Dropped")));

    // The next request works, on a new connection.
    assert_eq!(c.create(&minimal("Dropped")).await.status, 201);
    assert_eq!(emu.writes(), 2);
}

#[tokio::test]
async fn a_lost_answer_still_performs_the_write() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    emu.push_fault("lost:POST".parse().unwrap());
    c.create(&asana("My Asana"))
        .await
        .assert_error(503, 14, "UNAVAILABLE");
    let stored = emu.connector("My Asana").expect("the create happened");
    // A naive retry now conflicts.
    c.create(&asana("My Asana"))
        .await
        .assert_error(409, 6, "ALREADY_EXISTS");

    emu.push_fault(Fault::new(FaultKind::LostAnswer {
        drop_connection: true,
    }));
    let r = c
        .try_send(
            Method::DELETE,
            &provider_path(&identifier_of(&stored)),
            None,
        )
        .await;
    assert!(r.is_err(), "the connection is dropped");
    assert!(emu.connector("My Asana").is_none(), "the delete happened");
    let statuses: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 503, 409, 0]);
}

#[tokio::test]
async fn latency_delays_requests() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    emu.push_fault("latency/300ms:GET".parse().unwrap());
    let t = Instant::now();
    assert_eq!(c.list("").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(emu.pending_faults(), 0);

    let slow = start(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    });
    let t = Instant::now();
    let c = Client::login(&slow).await;
    assert_eq!(c.list("").await.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "both requests wait"
    );
}

#[tokio::test]
async fn faults_can_be_configured_at_start() {
    let emu = start(Config {
        faults: vec!["503@/oauth/token".parse().unwrap()],
        ..Config::default()
    });
    let c = Client::anonymous(&emu);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", emu.client_id()),
        ("client_secret", emu.client_secret()),
    ];
    c.token_request(&form)
        .await
        .assert_error(503, 14, "UNAVAILABLE");
    assert_eq!(c.token_request(&form).await.status, 200);
}

#[test]
fn fault_strings_parse_and_print() {
    let cases: Vec<(&str, Fault)> = vec![
        ("503:PUT:2", Fault::status(503).method("PUT").times(2)),
        ("500", Fault::status(500)),
        ("429/30:*:3", Fault::rate_limited(30).times(3)),
        ("drop:POST", Fault::new(FaultKind::Drop).method("POST")),
        (
            "lost:PUT@/api/v1/custom-providers",
            Fault::new(FaultKind::LostAnswer {
                drop_connection: false,
            })
            .method("PUT")
            .path("/api/v1/custom-providers"),
        ),
        (
            "lost-drop:DELETE",
            Fault::new(FaultKind::LostAnswer {
                drop_connection: true,
            })
            .method("DELETE"),
        ),
        (
            "latency/250ms:GET:*",
            Fault::new(FaultKind::Latency(Duration::from_millis(250)))
                .method("GET")
                .always(),
        ),
        (
            "latency/2s",
            Fault::new(FaultKind::Latency(Duration::from_secs(2))),
        ),
        ("500@/oauth/token", Fault::status(500).path("/oauth/token")),
        (
            "truncated:GET",
            Fault::new(FaultKind::Truncated).method("GET"),
        ),
        (
            "empty-answer:PUT",
            Fault::new(FaultKind::EmptyAnswer).method("PUT"),
        ),
        (
            "camel-case:GET:*",
            Fault::new(FaultKind::CamelCase).method("GET").always(),
        ),
        ("ignore-filter", Fault::new(FaultKind::IgnoreFilter)),
        (
            "reset/1e20:GET",
            Fault::new(FaultKind::RateLimitReset("1e20".into())).method("GET"),
        ),
        (
            "conflict:POST",
            Fault::new(FaultKind::Conflict).method("POST"),
        ),
        ("page-size/100", Fault::new(FaultKind::PageSizeLimit(100))),
        (
            "endless-pages:GET:*",
            Fault::new(FaultKind::EndlessPages).method("GET").always(),
        ),
        (
            "lag/1500ms:GET:*",
            Fault::new(FaultKind::Lag(Duration::from_millis(1500)))
                .method("GET")
                .always(),
        ),
    ];
    for (text, fault) in cases {
        assert_eq!(text.parse::<Fault>().as_ref(), Ok(&fault), "{text}");
        assert_eq!(fault.to_string(), text);
    }
    assert_eq!(
        "503:put".parse::<Fault>().unwrap(),
        Fault::status(503).method("PUT")
    );
    for bad in [
        "",
        "999",
        "200",
        "teapot",
        "latency",
        "latency/soon",
        "429/x",
        "503:PUT:0",
        "503:P-T",
        "drop:GET:1:2",
        "503@api",
        "page-size/0",
        "reset/",
        "lag/soon",
    ] {
        let err = bad.parse::<Fault>().unwrap_err();
        assert!(
            err.to_string().contains("KIND[:METHOD[:TIMES]]"),
            "{bad}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Recording and routing

#[tokio::test]
async fn requests_are_recorded_in_order() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    c.list("filter.provider_type=CUSTOM&page_size=5").await;
    c.create(&minimal("One")).await;
    let recorded = emu.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(
        (
            recorded[0].method.as_str(),
            recorded[0].path.as_str(),
            recorded[0].status
        ),
        ("POST", "/oauth/token", 200)
    );
    assert!(!recorded[0].has_authorization);
    assert_eq!(recorded[1].method, "GET");
    assert_eq!(recorded[1].path, "/api/v1/providers");
    assert_eq!(recorded[1].query, "filter.provider_type=CUSTOM&page_size=5");
    assert_eq!(recorded[1].body, None);
    assert_eq!(recorded[2].body, Some(minimal("One")));
    assert_eq!(recorded[2].status, 201);
    assert!(recorded[2].has_authorization);
    assert_eq!(emu.writes(), 1);

    emu.clear_requests();
    assert!(emu.requests().is_empty());
    c.list("").await;
    assert_eq!(emu.requests().len(), 1);
    assert_eq!(emu.requests()[0].status, 200);
    assert_eq!(emu.writes(), 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let emu = start(Config::default());
    let c = Client::login(&emu).await;
    c.get("/api/v1/nothing")
        .await
        .assert_error(404, 5, "NOT_FOUND");
    c.get("/").await.assert_error(404, 5, "NOT_FOUND");
    c.get("/api/v1/custom-providers")
        .await
        .assert_error(405, 12, "UNIMPLEMENTED");
    c.send(Method::PATCH, "/api/v1/custom-providers/x:1", None)
        .await
        .assert_error(405, 12, "UNIMPLEMENTED");
    c.send(Method::DELETE, "/api/v1/custom-providers/a/b", None)
        .await
        .assert_error(404, 5, "NOT_FOUND");
    c.send(Method::DELETE, "/api/v1/custom-providers/%zz", None)
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    Client::anonymous(&emu)
        .get("/api/v1/nothing")
        .await
        .assert_error(401, 16, "UNAUTHENTICATED");
}

#[tokio::test]
async fn serve_runs_on_the_callers_runtime_until_shutdown() {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = Config::default();
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let server = tokio::spawn(Emulator::serve_until(
        config,
        move |addr| {
            let _ = ready_tx.send(addr);
        },
        async {
            let _ = stop_rx.await;
        },
    ));
    let addr = ready_rx.await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn the_config_never_shows_the_client_secret() {
    let config = Config {
        client_secret: "very-secret-value".into(),
        ..Config::default()
    };
    assert!(!format!("{config:?}").contains("very-secret-value"));
}

// ---------------------------------------------------------------------------------------------
// Connections and connected accounts

#[tokio::test]
async fn connections_and_connected_accounts_are_listed_with_their_filters_and_limits() {
    let emu = start(Config::default());
    let id = identifier_of(&emu.insert(asana("My Asana")));
    emu.insert(minimal("Other"));
    emu.add_connection("My Asana", "asana-live", "COMPLETED", true);
    emu.add_connection("My Asana", "asana-draft", "DRAFT", false);
    emu.add_connection_for_key(&format!("{id}:eu"), "asana-eu", "IN_PROGRESS", true);
    emu.add_connection("Other", "other-1", "COMPLETED", true);
    emu.add_connected_accounts("asana-live", "ACTIVE", 25);
    emu.add_connected_accounts("asana-live", "EXPIRED", 3);
    let c = Client::login(&emu).await;

    // App connections: provider filter (suffixes included), page size at most 30, pages.
    let r = c
        .get(&format!(
            "/api/v1/connections/app?provider={id}&page_size=2"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total_size"], 3);
    assert_eq!(r.body["connections"].as_array().unwrap().len(), 2);
    let next = r.body["next_page_token"].as_str().unwrap().to_string();
    assert!(!next.is_empty());
    let r = c
        .get(&format!(
            "/api/v1/connections/app?provider={id}&page_size=2&page_token={next}"
        ))
        .await;
    assert_eq!(r.body["connections"][0]["key_id"], "asana-eu");
    assert_eq!(r.body["next_page_token"], "");
    c.get("/api/v1/connections/app?page_size=31")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    c.get("/api/v1/connections/app?owner=x")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    c.get("/api/v1/connections/app?page_token=nonsense")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");

    // The full listing: only completed and enabled ones without include=all.
    let keys = |r: &Resp| -> Vec<String> {
        r.body["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        keys(&c.get("/api/v1/connections").await),
        ["asana-live", "other-1"]
    );
    assert_eq!(
        keys(&c.get("/api/v1/connections?include=all").await),
        ["asana-live", "asana-draft", "asana-eu", "other-1"]
    );

    // Connected accounts: by connection name, page size at most 100, total_size.
    let r = c
        .get("/api/v1/connected_accounts?connector=asana-live&page_size=10")
        .await;
    assert_eq!(r.body["total_size"], 28);
    assert_eq!(r.body["connected_accounts"].as_array().unwrap().len(), 10);
    let a = &r.body["connected_accounts"][0];
    assert!(a["identifier"].as_str().unwrap().contains('@'));
    assert!(a["id"].as_str().unwrap().starts_with("ca_"));
    assert!(a.get("authorization_details").is_none());
    c.get("/api/v1/connected_accounts?page_size=101")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    c.get("/api/v1/connected_accounts?connector=a/b")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    c.get("/api/v1/connected_accounts?connector=a&connection_names=b")
        .await
        .assert_error(400, 3, "INVALID_ARGUMENT");
    let r = c
        .get("/api/v1/connected_accounts?connection_names=asana-live&connection_names=other-1&page_size=100")
        .await;
    assert_eq!(r.body["total_size"], 28);

    // Switches: the preview endpoint missing, no total, a planted token-like field.
    emu.set_usage_options(|o| {
        o.app_connections_missing = true;
        o.hide_total_size = true;
        o.extra_secret = Some("planted-token".into());
    });
    c.get("/api/v1/connections/app")
        .await
        .assert_error(404, 5, "NOT_FOUND");
    let r = c
        .get("/api/v1/connected_accounts?connector=asana-live")
        .await;
    assert_eq!(r.body["total_size"], 0);
    assert_eq!(
        r.body["connected_accounts"][0]["authorization_details"]["oauth_token"]["access_token"],
        "planted-token"
    );
    let r = c.get("/api/v1/connections?include=all").await;
    assert_eq!(
        r.body["connections"][0]["oauth_config"]["client_secret"],
        "planted-token"
    );
    assert_eq!(
        c.send(Method::POST, "/api/v1/connections", Some(&json!({})))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn connections_given_at_start_are_served_and_refuse_the_delete() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let emu = start(Config {
        state_file: Some(file.clone()),
        ..Config::default()
    });
    let id = identifier_of(&emu.insert(minimal("Busy")));
    drop(emu);
    // The identifier is server-made: start again with a connection pointing at it.
    let config = Config {
        state_file: Some(file.clone()),
        connections: vec![format!("{id}=busy-live:COMPLETED:3").parse().unwrap()],
        usage: skconn::emulator::UsageOptions {
            in_use_refusal: skconn::emulator::InUseRefusal::Forbidden,
            ..Default::default()
        },
        ..Config::default()
    };
    let emu = start(config.clone());
    assert_eq!(emu.connections().len(), 1);
    assert_eq!(emu.connected_accounts().len(), 3);
    let c = Client::login(&emu).await;
    c.delete(&id)
        .await
        .assert_error(403, 7, "PERMISSION_DENIED");
    drop(c);
    drop(emu);
    // Kept in the state file, and not seeded twice.
    let emu = start(config);
    assert_eq!(emu.connections().len(), 1);
    assert_eq!(emu.connected_accounts().len(), 3);
}

// ---- the `skconn emulator` command ---------------------------------------------------------

/// A child process stopped (by its own handle) when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_emulator_prints_export_lines_that_a_shell_reads_back_exactly() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let odd_id = "it's a $HOME `id`";
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_skconn"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--client-id", odd_id])
            .env_remove("SKCONN_EMULATOR_CLIENT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("skconn emulator starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("Press Ctrl-C") {
            break;
        }
        lines.push(line);
    }
    let exports: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with("export SCALEKIT_"))
        .collect();
    assert_eq!(exports.len(), 3, "{lines:#?}");
    // Pasted into a shell as printed, they set exactly the values.
    let script = format!(
        "{}\nprintf '%s\\n' \"$SCALEKIT_ENVIRONMENT_URL\" \"$SCALEKIT_CLIENT_ID\" \"$SCALEKIT_CLIENT_SECRET\"",
        exports.join("\n")
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let values: Vec<&str> = printed.lines().collect();
    assert!(values[0].starts_with("http://127.0.0.1:"), "{values:?}");
    assert_eq!(values[1], odd_id);
    assert!(values[2].starts_with("emu-"), "{values:?}");
    // And skconn reaches the emulator with them.
    crate::support::Repo::new()
        .file("connectors/.keep", "")
        .cmd(["plan"])
        .env("SCALEKIT_ENVIRONMENT_URL", values[0])
        .env("SCALEKIT_CLIENT_ID", values[1])
        .env("SCALEKIT_CLIENT_SECRET", values[2])
        .run()
        .code(0)
        .stdout_has("Plan: 0 to create");
}

#[test]
fn the_emulator_help_lists_the_fault_syntax() {
    let repo = crate::support::Repo::new();
    let out = repo.skconn(["emulator", "--help"]);
    out.code(0)
        .stdout_lacks("see the README")
        .stdout_has("KIND[:METHOD[:TIMES]][@PATH_PREFIX]");
    for kind in [
        "429/SECS",
        "lost-drop",
        "latency/DURATION",
        "echo-text",
        "camel-case",
        "page-size/N",
        "lag/DURATION",
        "conflict",
    ] {
        out.stdout_has(kind);
    }
    out.stdout_has("Examples: 503:PUT:2");
    // `-h` stays short.
    repo.skconn(["emulator", "-h"])
        .code(0)
        .stdout_lacks("lost-drop")
        .stdout_has("KIND[:METHOD[:TIMES]][@PATH_PREFIX]");
}
