//! The live side: the only code in skconn that knows HTTP. It gets the access token, lists,
//! creates, updates and deletes the custom providers ("connectors") of one environment, and
//! retries what is safe to retry. `usage` reads who uses a connector (connections and
//! connected-account counts), never anything that carries credentials.
//!
//! - [`Client`] holds one keep-alive HTTP client, one cached token and one rate-limit pause per
//!   environment; share it by reference (or in an `Arc`) between concurrent callers.
//! - Plain `http://` is refused except for loopback hosts (the local emulator).
//! - TLS trusts the operating system's roots, the bundled web PKI roots, `SSL_CERT_FILE` /
//!   `SSL_CERT_DIR`, and the CA files of [`ClientOptions::ca_files`]. Certificate and handshake
//!   failures are not retried and name the host and `ca_file`.
//! - Loopback is never proxied; other hosts honour `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
//! - Answers are read up to [`MAX_ANSWER_BYTES`]; listings are bounded in pages (`pages`).
//! - Errors ([`RemoteError`]) name the environment, the request, the server's answer and the
//!   attempts made; see `error` for their shapes and `call` for the retry policy.
//!
//! What it must never do: put a client secret, an access token, an `Authorization` header, the
//! token request's form or the token answer into a log line, an error or a `Debug` output;
//! repeat a create whose outcome is unknown (the caller lists again instead).

mod call;
mod error;
mod pages;
mod probe;
/// Retry timing, shared with the GitHub client.
pub(crate) mod retry;
mod tls;
mod token;
mod usage;

pub use error::{
    ApiError, AuthError, AuthProblem, CallInfo, ErrorBody, FieldViolation, ProtocolError,
    RemoteError, ThrottledError, TransportError, TransportKind,
};

pub use pages::MAX_PAGES;
pub use probe::{
    probe_network, refuses_page_size, route, Dns, NetworkProbe, PageSeen, RawAnswer, Reached,
    Route, VerifiedBy, ASSUMED_TOKEN_LIFETIME,
};
pub use retry::parse_http_date;
pub use tls::count_ca_certificates;
pub use token::TokenAnswer;
pub use usage::{AccountTally, Connection as AppConnection, PROVIDER_FILTER_MAX};
pub use usage::{
    ACCOUNTS_PAGE_SIZE, APP_CONNECTIONS_PAGE_SIZE, APP_CONNECTIONS_PATH, CONNECTED_ACCOUNTS_PATH,
    CONNECTIONS_PATH,
};

/// What the GitHub client shares with this one: the capped read of an answer, the names of
/// transport failures, the extra CA roots and the loopback test.
pub(crate) use call::{classify_transport, read_capped};
pub(crate) use error::seconds as error_seconds;
pub(crate) use tls::extra_roots;

use crate::model::Live;
use crate::output::secret::Secret;
use call::{Answer, Kind, Request};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// The path of the token endpoint, below the environment's URL.
pub(crate) const TOKEN_PATH: &str = "/oauth/token";
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
    /// PEM files of CA certificates to trust besides the operating system's roots, the bundled
    /// web PKI roots and `SSL_CERT_FILE` / `SSL_CERT_DIR`.
    pub ca_files: Vec<std::path::PathBuf>,
    /// The longest wait a server may ask for (`Retry-After`, `X-RateLimit-Reset`); a longer
    /// one fails the request with a clear error instead of hanging.
    pub max_wait: Duration,
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
            ca_files: Vec::new(),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Longest time to wait for a TCP (and TLS) connection, within the request timeout. A connect
/// error proves the request was not sent, so it is worth telling apart from a slow answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer skconn reads; past it the request fails with a clear error.
pub const MAX_ANSWER_BYTES: usize = 32 << 20;

/// A client for one environment. Share it by reference (or in an `Arc`) between concurrent
/// callers: they share its connections, its token and its rate-limit pause.
pub struct Client {
    env: String,
    url: url::Url,
    /// The URL without a trailing slash; paths are appended to it.
    base: String,
    /// `host` or `host:port`, for messages.
    host: String,
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
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("skconn/", env!("CARGO_PKG_VERSION")));
        // Loopback (the local environment, a test server) is never sent through a proxy: the
        // request would carry the client secret, in clear, to whatever the proxy is.
        if is_loopback(&url) {
            builder = builder.no_proxy();
        }
        for cert in tls::extra_roots(&options.ca_files).map_err(&invalid)? {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| invalid(format!("the HTTP client could not be set up: {e}")))?;
        let base = url.as_str().trim_end_matches('/').to_string();
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        let tokens = token::Tokens::new(&env, &base, &client_id, &client_secret);
        Ok(Client {
            env,
            url,
            base,
            host,
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
    /// Lenient about what the contract leaves open (unknown keys ignored, missing or `null`
    /// keys are defaults, a provider seen on two pages is kept once), strict about what would
    /// make a plan wrong: a success answer that cannot be parsed (cut short, not JSON) is
    /// retried like a transient fault; a listing whose entries lack `identifier` or
    /// `display_name`, or whose keys are not snake_case, is refused as unusable; an entry not
    /// marked `is_custom: true` (a server that ignored the filter) is reported and left out.
    /// A 400 that names the page size is retried once with a smaller page. A listing that
    /// does not end is stopped (see `pages`).
    pub async fn list(&self) -> Result<Vec<Live>, RemoteError> {
        let mut page_size = self.options.page_size.max(1);
        let mut shrunk = false;
        let mut out: Vec<Live> = Vec::new();
        let mut identifiers: HashSet<String> = HashSet::new();
        let mut pages = pages::Pages::new("connectors");
        let mut page_token = String::new();
        let mut not_custom = 0usize;
        let mut garbled = 0u32;
        loop {
            let mut query = format!("filter.provider_type=CUSTOM&page_size={page_size}");
            if !page_token.is_empty() {
                query.push_str("&page_token=");
                query.extend(url::form_urlencoded::byte_serialize(page_token.as_bytes()));
            }
            let answer = match self
                .send(&Request {
                    method: Method::GET,
                    path: LIST_PATH.to_string(),
                    query: Some(query),
                    body: None,
                    kind: Kind::Read,
                })
                .await
            {
                Ok(a) => a,
                Err(e) if !shrunk && names_page_size(&e) => {
                    shrunk = true;
                    let smaller = (page_size / 2).clamp(1, 100);
                    tracing::warn!(env = %self.env, page_size, smaller,
                        "the server refused the page size; listing again with a smaller one");
                    page_size = smaller;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let page = match read_page(&answer.body) {
                Ok(page) => page,
                Err(PageProblem::Garbled(detail))
                    if garbled + 1 < self.options.max_attempts.max(1) =>
                {
                    garbled += 1;
                    let wait = retry::backoff(
                        garbled,
                        self.options.base_backoff,
                        self.options.max_backoff,
                    );
                    tracing::warn!(env = %self.env, method = "GET", path = LIST_PATH,
                        attempt = garbled, wait_ms = wait.as_millis() as u64,
                        "the listing answer is unusable ({detail}); reading it again");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(PageProblem::Garbled(detail) | PageProblem::Unusable(detail)) => {
                    return Err(answer.unusable(detail))
                }
            };
            not_custom += page.not_custom.len();
            let entries = page.items.len() + page.not_custom.len();
            for name in &page.not_custom {
                tracing::warn!(env = %self.env, display_name = %name,
                    "the listing holds a provider that is not custom (the server ignored the filter); \
                     skconn leaves it alone");
            }
            for live in page.items {
                if identifiers.insert(live.identifier.clone()) {
                    out.push(live);
                } else {
                    tracing::debug!(env = %self.env, identifier = %live.identifier,
                        "skipping a connector listed twice");
                }
            }
            match pages.next(entries, out.len(), page.total, page.next) {
                Ok(Some(next)) => page_token = next,
                Ok(None) => {
                    tracing::debug!(env = %self.env, pages = pages.read(), connectors = out.len(),
                        not_custom, "listed");
                    return Ok(out);
                }
                Err(why) => return Err(answer.unusable(why)),
            }
        }
    }

    /// The attempts a create may take, listing between them (`max_attempts`).
    pub fn max_attempts(&self) -> u32 {
        self.options.max_attempts.max(1)
    }

    /// The wait before try number `retry + 1` of a request the caller repeats itself.
    pub fn backoff(&self, retry: u32) -> Duration {
        retry::backoff(retry, self.options.base_backoff, self.options.max_backoff)
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

/// One page of a listing.
#[derive(Debug)]
struct Page {
    items: Vec<Live>,
    /// Display names of entries not marked `is_custom: true`: left out.
    not_custom: Vec<String>,
    /// The next page token (empty on the last page).
    next: String,
    /// The total the server reports (`total_size`), if any.
    total: Option<u64>,
}

/// Why a listing answer cannot be used.
#[derive(Debug)]
enum PageProblem {
    /// Cut short or not JSON: a transient fault, worth reading again.
    Garbled(String),
    /// Well-formed but not the contract's shape: planning from it could delete connectors.
    Unusable(String),
}

/// Keys of a listing page the contract spells in snake_case (besides the connector's own
/// fields, [`crate::model::API_FIELDS`] and [`crate::model::SERVER_OWNED`]).
pub const PAGE_KEYS: &[&str] = &[
    "providers",
    "next_page_token",
    "prev_page_token",
    "total_size",
];

/// The snake_case key a lowerCamelCase key stands for, when it is one of the contract's.
pub fn camel_key(key: &str) -> Option<&'static str> {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut snake = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    PAGE_KEYS
        .iter()
        .chain(crate::model::API_FIELDS)
        .chain(crate::model::SERVER_OWNED)
        .copied()
        .find(|k| *k == snake)
}

/// One list page. Lenient where the contract is open: an empty or `null` body is an empty
/// page, `providers` may be missing or `null`, unknown keys are ignored. Strict where a wrong
/// reading would make the plan wrong (see [`Client::list`]).
fn read_page(body: &[u8]) -> Result<Page, PageProblem> {
    let page = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| PageProblem::Garbled(format!("the answer is not JSON ({e})")))?
    };
    if !page.is_object() && !page.is_null() {
        return Err(PageProblem::Garbled(
            "the answer is not a JSON object".into(),
        ));
    }
    let camel = |obj: &serde_json::Map<String, Value>| {
        obj.keys()
            .find_map(|k| camel_key(k).map(|s| (k.clone(), s)))
    };
    let not_contract = |found: String, meant: &str| {
        PageProblem::Unusable(format!(
            "the listing uses the key `{found}` where the contract has `{meant}` (snake_case); \
             skconn cannot read it safely, so nothing is changed"
        ))
    };
    if let Some((found, meant)) = page.as_object().and_then(camel) {
        return Err(not_contract(found, meant));
    }
    let providers = match page.get("providers") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(PageProblem::Unusable("`providers` is not a list".into())),
    };
    let mut items = Vec::with_capacity(providers.len());
    let mut not_custom = Vec::new();
    for (i, p) in providers.iter().enumerate() {
        let Some(obj) = p.as_object() else {
            return Err(PageProblem::Unusable(format!(
                "entry {} of `providers` is not an object",
                i + 1
            )));
        };
        if let Some((found, meant)) = camel(obj) {
            return Err(not_contract(found, meant));
        }
        let name = obj.get("display_name").and_then(Value::as_str);
        let identifier = obj
            .get("identifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if obj.get("is_custom") != Some(&Value::Bool(true)) {
            not_custom.push(name.unwrap_or("?").to_string());
            continue;
        }
        let (Some(name), Some(_)) = (name.filter(|n| !n.is_empty()), identifier) else {
            return Err(PageProblem::Unusable(format!(
                "entry {} of `providers` ({}) has no {}; skconn cannot tell which connector it is, so nothing is changed",
                i + 1,
                name.map_or_else(|| "without display_name".to_string(), |n| format!("{n:?}")),
                if identifier.is_none() { "`identifier`" } else { "`display_name`" }
            )));
        };
        let _ = name;
        match Live::from_provider(p) {
            Some(live) => items.push(live),
            None => {
                return Err(PageProblem::Unusable(format!(
                    "entry {} of `providers` is unusable",
                    i + 1
                )))
            }
        }
    }
    let next = match page.get("next_page_token") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(Page {
        items,
        not_custom,
        next,
        total: page.get("total_size").and_then(total_size),
    })
}

/// A `total_size` as a number: JSON numbers, or decimal text (proto's 64-bit integers).
fn total_size(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// A 400 whose message or field violations name the page size.
fn names_page_size(e: &RemoteError) -> bool {
    if e.status() != Some(400) {
        return false;
    }
    let Some(body) = e.body() else { return false };
    let mentions = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("page_size") || s.contains("page size") || s.contains("pagesize")
    };
    body.message.as_deref().is_some_and(mentions)
        || body
            .field_violations
            .iter()
            .any(|v| mentions(&v.field) || mentions(&v.description))
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
    // First, so that no message below prints a URL holding credentials.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not hold a user name or password; use client_id and client_secret".into(),
        );
    }
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
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "the URL {} must not hold a query or fragment",
            url.as_str().split(['?', '#']).next().unwrap_or_default()
        ));
    }
    Ok(())
}

pub(crate) fn is_loopback(url: &url::Url) -> bool {
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
            "http://user:pw@acme.scalekit.dev",
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
    fn list_pages_are_read_leniently_where_the_contract_is_open() {
        let names = |body: &str| {
            let page = read_page(body.as_bytes()).unwrap();
            let names: Vec<String> = page.items.into_iter().map(|l| l.display_name).collect();
            (names, page.next, page.not_custom)
        };
        assert_eq!(names(""), (vec![], String::new(), vec![]));
        assert_eq!(names("null"), (vec![], String::new(), vec![]));
        assert_eq!(
            names(r#"{"providers":null,"next_page_token":null}"#),
            (vec![], String::new(), vec![])
        );
        assert_eq!(
            names(r#"{"total_size":0}"#),
            (vec![], String::new(), vec![])
        );
        let page = r#"{"providers":[
            {"identifier":"a:1","display_name":"A","is_custom":true,"new_field":1},
            {"identifier":"google","display_name":"Google","is_custom":false},
            {"identifier":"slack","display_name":"Slack"}
        ],"next_page_token":"t2","prev_page_token":"","total_size":0}"#;
        assert_eq!(
            names(page),
            (
                vec!["A".to_string()],
                "t2".to_string(),
                vec!["Google".to_string(), "Slack".to_string()]
            )
        );
    }

    #[test]
    fn list_pages_are_read_strictly_where_a_misreading_would_delete() {
        let problem = |body: &str| match read_page(body.as_bytes()) {
            Err(PageProblem::Garbled(d)) => format!("garbled: {d}"),
            Err(PageProblem::Unusable(d)) => format!("unusable: {d}"),
            Ok(p) => panic!("read {p:?}"),
        };
        assert!(problem("[1]").starts_with("garbled"));
        assert!(problem("<html>").starts_with("garbled"));
        assert!(problem(r#"{"providers":[{"ident"#).starts_with("garbled"));
        assert!(problem(r#"{"providers":{}}"#).starts_with("unusable"));
        let camel = problem(r#"{"providers":[],"nextPageToken":""}"#);
        assert!(camel.contains("`nextPageToken`") && camel.contains("`next_page_token`"));
        let camel =
            problem(r#"{"providers":[{"identifier":"a:1","displayName":"A","isCustom":true}]}"#);
        assert!(camel.starts_with("unusable"), "{camel}");
        let no_id = problem(r#"{"providers":[{"display_name":"A","is_custom":true}]}"#);
        assert!(no_id.contains("`identifier`"), "{no_id}");
        let no_name = problem(r#"{"providers":[{"identifier":"a:1","is_custom":true}]}"#);
        assert!(no_name.contains("`display_name`"), "{no_name}");
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
