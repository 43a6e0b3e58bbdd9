//! The live side: the only code in skconn that knows HTTP. It gets the access token, lists,
//! creates, updates and deletes the custom providers ("connectors") of one environment, and
//! retries what is safe to retry. `usage` reads who uses a connector (connections and
//! connected-account counts), never anything that carries credentials.
//!
//! - [`Client`] holds one keep-alive HTTP client, one cached token and one rate-limit pause per
//!   environment; share it by reference (or in an `Arc`) between concurrent callers.
//! - Plain `http://` is refused except for loopback hosts (the local emulator).
//! - Errors ([`RemoteError`]) name the environment, the request, the server's answer and the
//!   attempts made; see `error` for their shapes and `call` for the retry policy.
//!
//! What it must never do: put a client secret, an access token, an `Authorization` header, the
//! token request's form or the token answer into a log line, an error or a `Debug` output;
//! repeat a create whose outcome is unknown (the caller lists again instead).

mod call;
mod error;
mod retry;
mod token;
mod usage;

pub use error::{
    ApiError, AuthError, AuthProblem, CallInfo, ErrorBody, FieldViolation, ProtocolError,
    RemoteError, ThrottledError, TransportError, TransportKind,
};

pub use usage::{AccountTally, Connection as AppConnection, PROVIDER_FILTER_MAX};

use crate::model::Live;
use crate::secret::Secret;
use call::{Answer, Kind, Request};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// The list endpoint.
pub const LIST_PATH: &str = "/api/v1/providers";
/// The create endpoint; update and delete add `/{identifier}`.
pub const CUSTOM_PROVIDERS_PATH: &str = "/api/v1/custom-providers";

/// Where and how to reach one environment.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The environment's name in skconn.yaml (for messages).
    pub env: String,
    /// Base URL, e.g. `https://acme.scalekit.dev` (no trailing slash needed).
    pub url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Tuning of the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// The page size asked for when listing (the server may return fewer).
    pub page_size: usize,
    /// Attempts per request, first one included.
    pub max_attempts: u32,
    /// Overall deadline for one logical request, retries included.
    pub deadline: Duration,
    /// First backoff delay; doubled each retry, with jitter.
    pub base_backoff: Duration,
    /// Upper bound of one backoff delay.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            page_size: 1000,
            max_attempts: 6,
            deadline: Duration::from_secs(300),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Longest time to wait for a TCP (and TLS) connection, within the request timeout. A connect
/// error proves the request was not sent, so it is worth telling apart from a slow answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one environment. Share it by reference (or in an `Arc`) between concurrent
/// callers: they share its connections, its token and its rate-limit pause.
pub struct Client {
    env: String,
    url: url::Url,
    /// The URL without a trailing slash; paths are appended to it.
    base: String,
    client_id: String,
    http: reqwest::Client,
    options: ClientOptions,
    tokens: token::Tokens,
    pause: retry::Pause,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("env", &self.env)
            .field("url", &self.base)
            .field("client_id", &self.client_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for this endpoint. Refuses URLs that are not `https://` (plain `http://` is
    /// accepted for loopback hosts only), that carry credentials, a query or a fragment, and
    /// an empty client id. Sends nothing.
    pub fn new(endpoint: Endpoint, options: ClientOptions) -> Result<Client, RemoteError> {
        let Endpoint {
            env,
            url,
            client_id,
            client_secret,
        } = endpoint;
        let invalid = |message: String| RemoteError::Invalid {
            env: env.clone(),
            message,
        };
        check_url(&url).map_err(invalid)?;
        if client_id.trim().is_empty() {
            return Err(invalid("the client_id is empty".into()));
        }
        if client_secret.is_empty() {
            return Err(invalid(format!(
                "the client_secret of client_id `{client_id}` is empty"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("skconn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("the HTTP client could not be set up: {e}")))?;
        let base = url.as_str().trim_end_matches('/').to_string();
        let tokens = token::Tokens::new(&env, &base, &client_id, &client_secret);
        Ok(Client {
            env,
            url,
            base,
            client_id,
            http,
            options,
            tokens,
            pause: retry::Pause::default(),
        })
    }

    /// The environment's name.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// The environment's base URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// How long every request of this client must still wait because the environment rate
    /// limited one of them (`None` when requests may go now).
    pub fn rate_limit_pause(&self) -> Option<Duration> {
        self.pause.remaining()
    }

    /// How many token requests this client has made so far (successful or not).
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches()
    }

    /// Every custom connector of the environment, following `next_page_token` to the end.
    ///
    /// Lenient about the answer's shape (unknown keys ignored, missing or `null` keys are
    /// defaults); providers without identifier are skipped with a warning, providers marked
    /// `is_custom: false` are left out, and a provider seen on two pages is kept once.
    pub async fn list(&self) -> Result<Vec<Live>, RemoteError> {
        let page_size = self.options.page_size.max(1);
        let mut out: Vec<Live> = Vec::new();
        let mut identifiers: HashSet<String> = HashSet::new();
        let mut tokens_seen: HashSet<String> = HashSet::new();
        let mut page_token = String::new();
        let mut pages = 0usize;
        loop {
            let mut query = format!("filter.provider_type=CUSTOM&page_size={page_size}");
            if !page_token.is_empty() {
                query.push_str("&page_token=");
                query.extend(url::form_urlencoded::byte_serialize(page_token.as_bytes()));
            }
            let answer = self
                .send(&Request {
                    method: Method::GET,
                    path: LIST_PATH.to_string(),
                    query: Some(query),
                    body: None,
                    kind: Kind::Read,
                })
                .await?;
            pages += 1;
            let (items, next) =
                read_page(&self.env, &answer.body).map_err(|detail| answer.unusable(detail))?;
            for live in items {
                if identifiers.insert(live.identifier.clone()) {
                    out.push(live);
                } else {
                    tracing::debug!(env = %self.env, identifier = %live.identifier,
                        "skipping a connector listed twice");
                }
            }
            if next.is_empty() {
                tracing::debug!(env = %self.env, pages, connectors = out.len(), "listed");
                return Ok(out);
            }
            if !tokens_seen.insert(next.clone()) {
                return Err(answer.unusable(format!(
                    "the server returned the page token {next:?} a second time (after {pages} pages); \
                     stopping instead of listing forever"
                )));
            }
            page_token = next;
        }
    }

    /// Creates a connector; `body` is the connector object itself. Never retried after an
    /// ambiguous failure: see [`RemoteError::may_have_been_applied`].
    pub async fn create(&self, body: &Value) -> Result<Live, RemoteError> {
        let answer = self
            .send(&Request {
                method: Method::POST,
                path: CUSTOM_PROVIDERS_PATH.to_string(),
                query: None,
                body: Some(body),
                kind: Kind::Create,
            })
            .await?;
        provider_of(&answer)
    }

    /// Replaces the connector with this identifier by `body` (the complete object).
    pub async fn update(&self, identifier: &str, body: &Value) -> Result<Live, RemoteError> {
        let answer = self
            .send(&Request {
                method: Method::PUT,
                path: self.provider_path(identifier)?,
                query: None,
                body: Some(body),
                kind: Kind::Change,
            })
            .await?;
        provider_of(&answer)
    }

    /// Deletes the connector with this identifier.
    pub async fn delete(&self, identifier: &str) -> Result<(), RemoteError> {
        self.send(&Request {
            method: Method::DELETE,
            path: self.provider_path(identifier)?,
            query: None,
            body: None,
            kind: Kind::Change,
        })
        .await
        .map(|_| ())
    }

    fn provider_path(&self, identifier: &str) -> Result<String, RemoteError> {
        if identifier.is_empty() {
            return Err(RemoteError::Invalid {
                env: self.env.clone(),
                message: "a connector identifier is empty".into(),
            });
        }
        Ok(format!(
            "{CUSTOM_PROVIDERS_PATH}/{}",
            encode_segment(identifier)
        ))
    }
}

/// The connectors of one list page and the next page token (empty on the last page).
/// Lenient: an empty or `null` body is an empty page, `providers` may be missing or `null`,
/// unknown keys are ignored; a provider without identifier is skipped with a warning and one
/// marked `is_custom: false` is left out.
fn read_page(env: &str, body: &[u8]) -> Result<(Vec<Live>, String), String> {
    let page = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| format!("the answer is not JSON ({e})"))?
    };
    if !page.is_object() && !page.is_null() {
        return Err("the answer is not a JSON object".into());
    }
    let providers = match page.get("providers") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("`providers` is not a list".into()),
    };
    let mut items = Vec::with_capacity(providers.len());
    for p in providers {
        if p.get("is_custom") == Some(&Value::Bool(false)) {
            tracing::debug!(env = %env, "skipping a listed provider that is not custom");
            continue;
        }
        match Live::from_provider(p) {
            Some(live) => items.push(live),
            None => {
                let name = p.get("display_name").and_then(Value::as_str);
                tracing::warn!(env = %env, display_name = name.unwrap_or("?"),
                    "skipping a listed connector without identifier");
            }
        }
    }
    let next = match page.get("next_page_token") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    Ok((items, next))
}

/// The connector in a create or update answer: `{"provider": {...}}`, or the object itself.
fn provider_of(answer: &Answer) -> Result<Live, RemoteError> {
    let v: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| answer.unusable(format!("the answer is not JSON ({e})")))?;
    let provider = match v.get("provider") {
        Some(p @ Value::Object(_)) => p,
        _ => &v,
    };
    Live::from_provider(provider)
        .ok_or_else(|| answer.unusable("the answer holds no connector with an identifier"))
}

/// Percent-encodes an opaque identifier as exactly one path segment: everything but
/// unreserved characters, `:` and `@` is encoded (so `/`, `?`, `#`, `%` and spaces are), and a
/// segment of only dots is encoded so that no URL parser takes it for `.` or `..`.
pub fn encode_segment(s: &str) -> String {
    let all_dots = s.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'~' | b':' | b'@')
            || (b == b'.' && !all_dots);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `https://` anywhere; `http://` only on loopback; no credentials, query or fragment.
fn check_url(url: &url::Url) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => {
            return Err(format!(
                "the URL {url} uses plain http://; https:// is required \
                 (http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost)"
            ))
        }
        other => {
            return Err(format!(
                "the URL {url} has the scheme `{other}`; an https:// URL is required"
            ))
        }
    }
    if url.host().is_none() {
        return Err(format!("the URL {url} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not hold a user name or password; use client_id and client_secret".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "the URL {} must not hold a query or fragment",
            url.as_str().split(['?', '#']).next().unwrap_or_default()
        ));
    }
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint {
            env: "dev".into(),
            url: url.parse().unwrap(),
            client_id: "skc_1".into(),
            client_secret: Secret::new("unit-test-secret-1"),
        }
    }

    #[test]
    fn https_is_required_except_on_loopback() {
        for ok in [
            "https://acme.scalekit.dev",
            "https://acme.scalekit.dev/",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(
                Client::new(endpoint(ok), ClientOptions::default()).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://acme.scalekit.dev",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "ftp://acme.scalekit.dev",
            "https://user:pw@acme.scalekit.dev",
            "https://acme.scalekit.dev/?x=1",
        ] {
            let err = Client::new(endpoint(bad), ClientOptions::default()).unwrap_err();
            assert!(matches!(err, RemoteError::Invalid { .. }), "{bad}");
            assert!(err.to_string().starts_with("environment `dev`: "), "{err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let err = Client::new(
            endpoint("http://acme.scalekit.dev"),
            ClientOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment `dev`: the URL http://acme.scalekit.dev/ uses plain http://; https:// is \
             required (http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost)"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Client::new(
            endpoint("https://acme.scalekit.dev"),
            ClientOptions::default(),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(
            d.contains("skc_1") && !d.contains("unit-test-secret-1"),
            "{d}"
        );
    }

    #[test]
    fn list_pages_are_read_leniently() {
        let names = |body: &str| {
            let (items, next) = read_page("dev", body.as_bytes()).unwrap();
            let names: Vec<String> = items.into_iter().map(|l| l.display_name).collect();
            (names, next)
        };
        assert_eq!(names(""), (vec![], String::new()));
        assert_eq!(names("null"), (vec![], String::new()));
        assert_eq!(
            names(r#"{"providers":null,"next_page_token":null}"#),
            (vec![], String::new())
        );
        assert_eq!(names(r#"{"total_size":0}"#), (vec![], String::new()));
        let page = r#"{"providers":[
            {"identifier":"a:1","display_name":"A","is_custom":true,"new_field":1},
            {"display_name":"No Identifier"},
            {"identifier":"","id":"prov_2","display_name":"B"},
            {"identifier":"google","display_name":"Google","is_custom":false}
        ],"next_page_token":"t2","prev_page_token":"","total_size":0}"#;
        assert_eq!(
            names(page),
            (vec!["A".to_string(), "B".to_string()], "t2".to_string())
        );
        assert!(read_page("dev", b"[1]").is_err());
        assert!(read_page("dev", br#"{"providers":{}}"#).is_err());
        assert!(read_page("dev", b"<html>").is_err());
    }

    #[test]
    fn identifiers_are_one_path_segment() {
        assert_eq!(encode_segment("my_asana:48213"), "my_asana:48213");
        assert_eq!(encode_segment("prov_1.2-x~"), "prov_1.2-x~");
        assert_eq!(encode_segment("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}
