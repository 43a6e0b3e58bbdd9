//! What the GitHub and GitLab rooms share: an HTTP client with retries, rate limits, bounded
//! pagination and the errors of a call.
//!
//! - [`Conn`]: what a client of either service holds (the token, kept as a `Secret`);
//!   [`http_client`]: the client both build — the per-request timeout, a connect timeout of at
//!   most 10 s, no redirects followed, `User-Agent: skconn/<version>`, no proxy on the way to a
//!   loopback server, and the extra CA roots of `--ca-file`.
//! - [`exchange`]: one attempt's round trip — the body sent, the answer read up to
//!   `remote::MAX_ANSWER_BYTES`, a failure to get it told by its [`TransportKind`].
//! - [`send`]: the retry loop with the Scalekit client's timing (`remote::retry`): a rate limit
//!   is waited out as the service asks (at most `--max-wait`), other failures are retried with
//!   backoff until `--max-attempts` or the deadline, and a create whose outcome is unknown is
//!   never repeated (the caller lists again instead: [`Failure::may_have_applied`]).
//! - [`MAX_PAGES`] and [`PER_PAGE`]: the bounds of every listing, which each room pages through
//!   in its own way.
//! - [`CallInfo`] and the words of an error that every service says the same way.
//!
//! Each room keeps what differs: its authentication header, how it pages (GitHub's `Link`
//! headers, GitLab's `X-Next-Page`), how it recognises a rate limit, its log lines and the
//! wording that names the service ([`Service`]).
//!
//! What it must never do: know a service's URLs or the header its token goes in (it never puts
//! the token on a request: the room does), log anything itself (a room's log lines keep the
//! room's name), or put a token into an error or a `Debug` output.

use crate::output::secret::Secret;
use crate::remote::retry::backoff;
use crate::remote::{ClientOptions, TransportKind};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The most pages one listing reads (100 items a page).
pub const MAX_PAGES: u64 = 100;
/// Items asked for per page (the maximum of both services).
pub const PER_PAGE: u64 = 100;

/// The request an error is about: method and path (never the query, never the host's
/// credentials), e.g. `GET /projects/12/merge_requests/7/notes`.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub method: &'static str,
    pub path: String,
    pub attempts: u32,
    pub elapsed: Duration,
}

impl std::fmt::Display for CallInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// ` (after 3 attempts in 2.5s)` for a call tried more than once; empty otherwise.
pub fn attempts(call: &CallInfo) -> String {
    if call.attempts <= 1 {
        String::new()
    } else {
        format!(
            " (after {} attempts in {})",
            call.attempts,
            crate::remote::error_seconds(call.elapsed)
        )
    }
}

/// What a request that got no (complete) answer did: `could not connect`, `timed out`, ….
pub fn transport_words(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Connect => "could not connect",
        TransportKind::Timeout => "timed out",
        TransportKind::Dropped => "lost the connection",
        TransportKind::Tls => "failed the TLS handshake (is the CA trusted? see --ca-file)",
        TransportKind::Proxy => "failed at the proxy",
        TransportKind::TooLarge => "got an answer too large to read",
        TransportKind::Other => "failed",
    }
}

/// A listing's own query (URL-encoded, possibly empty) as the start of a page's query, before
/// the paging parameters: `name=x&`, or nothing.
pub fn query_prefix(query: &str) -> String {
    if query.is_empty() {
        String::new()
    } else {
        format!("{query}&")
    }
}

/// The detail of a listing that has more than [`MAX_PAGES`] pages.
pub fn too_many_pages() -> String {
    format!("it has more than {MAX_PAGES} pages of {PER_PAGE}; skconn reads no further")
}

/// What a request does, for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    /// Idempotent (an update of a comment or a note).
    Change,
    /// Not idempotent: repeating it after an ambiguous failure could write a second one.
    Create,
    /// A read whose answer is a redirect (an artifact's download).
    Redirect,
}

/// How one attempt failed; `S` is what the service said beside its status.
pub enum Failure<S> {
    Status {
        status: u16,
        /// How long the service asked to wait (a rate limit), when it did.
        wait: Option<Duration>,
        said: S,
    },
    Transport {
        kind: TransportKind,
        detail: String,
    },
}

impl<S> Failure<S> {
    /// The wait a rate limit asked for.
    pub fn wait(&self) -> Option<Duration> {
        match self {
            Failure::Status { wait, .. } => *wait,
            Failure::Transport { .. } => None,
        }
    }

    /// The status, or what went wrong on the way, for log lines.
    pub fn label(&self) -> String {
        match self {
            Failure::Status { status, .. } => status.to_string(),
            Failure::Transport { detail, .. } => detail.clone(),
        }
    }

    /// Whether trying again is safe and may help: a rate limit always; a status the service
    /// retries, or a lost answer, unless the request is a create; a refused connection always.
    pub fn retryable(&self, kind: Kind, retries: fn(u16) -> bool) -> bool {
        match self {
            Failure::Status { wait: Some(_), .. } => true,
            Failure::Status { status, .. } => kind != Kind::Create && retries(*status),
            Failure::Transport {
                kind: TransportKind::Connect,
                ..
            } => true,
            Failure::Transport {
                kind: TransportKind::Tls | TransportKind::Proxy | TransportKind::TooLarge,
                ..
            } => false,
            Failure::Transport { .. } => kind != Kind::Create,
        }
    }

    /// Whether a write may have been carried out although it failed: a status after which the
    /// service may have written it (`applied`), or an answer lost after the request left.
    pub fn may_have_applied(&self, kind: Kind, applied: fn(u16) -> bool) -> bool {
        matches!(kind, Kind::Change | Kind::Create)
            && match self {
                Failure::Status { status, wait, .. } => wait.is_none() && applied(*status),
                Failure::Transport { kind, .. } => !matches!(
                    kind,
                    TransportKind::Connect | TransportKind::Tls | TransportKind::Proxy
                ),
            }
    }
}

/// What a service decides in the retry loop, and how it says it.
pub trait Service {
    /// What the service said beside an error status.
    type Said;
    /// The service's error.
    type Error;
    /// Error statuses (with no rate-limit wait) worth trying again.
    fn retries(status: u16) -> bool;
    /// Error statuses after which a write may have been carried out.
    fn applied(status: u16) -> bool;
    /// The error for a rate limit that asks for more than `--max-wait` (and its log line).
    fn throttled(
        failure: &Failure<Self::Said>,
        call: CallInfo,
        wait: Duration,
        max_wait: Duration,
    ) -> Self::Error;
    /// The error for the last attempt's failure.
    fn failed(failure: Failure<Self::Said>, call: CallInfo, maybe_applied: bool) -> Self::Error;
    /// The log line of a retryable failure that is not retried (`out_of_attempts`: because no
    /// attempts are left, else because the deadline would pass).
    fn giving_up(failure: &Failure<Self::Said>, call: &CallInfo, out_of_attempts: bool);
    /// The log line before a retry, after `delay`.
    fn retrying(failure: &Failure<Self::Said>, call: &CallInfo, delay: Duration);
}

/// What a client of either service holds: the HTTP client, the API's base URL (without a
/// trailing slash), the token and the options.
pub struct Conn {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Secret,
    pub options: ClientOptions,
}

impl Conn {
    /// The connection to the API at `api` (checked by the room's `context`). Sends nothing.
    pub fn new(api: &url::Url, token: Secret, options: ClientOptions) -> Result<Conn, String> {
        Ok(Conn {
            http: http_client(api, &options)?,
            base: api.as_str().trim_end_matches('/').to_string(),
            token,
            options,
        })
    }

    /// How many times a caller may repeat a create it checks itself (`--max-attempts`).
    pub fn max_attempts(&self) -> u32 {
        self.options.max_attempts.max(1)
    }

    /// The wait before try number `retry + 1` of a request the caller repeats itself.
    pub fn backoff(&self, retry: u32) -> Duration {
        backoff(retry, self.options.base_backoff, self.options.max_backoff)
    }
}

/// The client both rooms build for the API at `api`; the error is said as the rooms say it.
pub fn http_client(api: &url::Url, options: &ClientOptions) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("skconn/", env!("CARGO_PKG_VERSION")));
    // The token never goes through a proxy to a loopback test server.
    if crate::remote::is_loopback(api) {
        builder = builder.no_proxy();
    }
    for cert in crate::remote::extra_roots(&options.ca_files)? {
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("the HTTP client could not be set up: {e}"))
}

/// The timeout of an attempt that must end by `deadline`.
pub fn attempt_timeout(options: &ClientOptions, deadline: Instant) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    options.timeout.min(left).max(Duration::from_millis(1))
}

/// One round trip: `request` (its headers set, `timeout` its timeout) sent with `body` as JSON;
/// the answer's status, headers and body, or how getting it failed.
pub async fn exchange<S>(
    request: reqwest::RequestBuilder,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, HeaderMap, Vec<u8>), Failure<S>> {
    let request = match body {
        Some(b) => request.json(b),
        None => request,
    };
    let transport = |(kind, detail): (TransportKind, String)| Failure::Transport { kind, detail };
    let response = request
        .send()
        .await
        .map_err(|e| transport(crate::remote::classify_transport(&e, timeout)))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = crate::remote::read_capped(response, timeout)
        .await
        .map_err(transport)?;
    Ok((status, headers, bytes))
}

/// Sends one request (`method` on `url`, each attempt made by `attempt`, given the deadline)
/// with the retry policy of the module docs; the answer and the call it came from.
pub async fn send<V, T, A, F>(
    options: &ClientOptions,
    method: &'static str,
    url: &str,
    kind: Kind,
    mut attempt: A,
) -> Result<(T, CallInfo), V::Error>
where
    V: Service,
    A: FnMut(Instant) -> F,
    F: Future<Output = Result<T, Failure<V::Said>>>,
{
    let started = Instant::now();
    let deadline = started + options.deadline;
    let path = path_of(url);
    let max_attempts = options.max_attempts.max(1);
    let info = |attempts| CallInfo {
        method,
        path: path.clone(),
        attempts,
        elapsed: started.elapsed(),
    };
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let failure = match attempt(deadline).await {
            Ok(answer) => return Ok((answer, info(attempts))),
            Err(f) => f,
        };
        let hint = failure.wait();
        if let Some(wait) = hint.filter(|h| *h > options.max_wait) {
            return Err(V::throttled(
                &failure,
                info(attempts),
                wait,
                options.max_wait,
            ));
        }
        let delay = hint
            .filter(|h| !h.is_zero())
            .unwrap_or_else(|| backoff(attempts, options.base_backoff, options.max_backoff));
        let left = deadline.saturating_duration_since(Instant::now());
        let retryable = failure.retryable(kind, V::retries);
        if !retryable || attempts >= max_attempts || delay >= left {
            let call = info(attempts);
            if retryable {
                V::giving_up(&failure, &call, attempts >= max_attempts);
            }
            let maybe_applied = failure.may_have_applied(kind, V::applied);
            return Err(V::failed(failure, call, maybe_applied));
        }
        V::retrying(&failure, &info(attempts), delay);
        tokio::time::sleep(delay).await;
    }
}

/// The path of a URL, for messages and logs (no query: page numbers only add noise).
pub fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, wait: Option<Duration>) -> Failure<()> {
        Failure::Status {
            status,
            wait,
            said: (),
        }
    }

    #[test]
    fn a_create_is_repeated_only_when_it_surely_was_not_carried_out() {
        let server = |s: u16| s >= 500;
        let lost = Failure::<()>::Transport {
            kind: TransportKind::Timeout,
            detail: "timed out".into(),
        };
        assert!(lost.retryable(Kind::Read, server));
        assert!(!lost.retryable(Kind::Create, server));
        assert!(lost.may_have_applied(Kind::Create, server));
        assert!(!lost.may_have_applied(Kind::Read, server));
        assert!(!status(502, None).retryable(Kind::Create, server));
        assert!(status(502, None).may_have_applied(Kind::Change, server));
        let limited = status(429, Some(Duration::from_secs(1)));
        assert!(limited.retryable(Kind::Create, server));
        assert!(!limited.may_have_applied(Kind::Create, |_| true));
        let refused = Failure::<()>::Transport {
            kind: TransportKind::Connect,
            detail: "refused".into(),
        };
        assert!(refused.retryable(Kind::Create, server));
        assert!(!refused.may_have_applied(Kind::Create, server));
    }
}
