//! One logical request to an environment: the attempts, the retry decisions and the errors.
//!
//! Policy, per attempt outcome:
//! - 2xx: done.
//! - 401 from the API: the token is dropped, a fresh one fetched, and the request sent once
//!   more (this extra attempt is not counted against `max_attempts`).
//! - 429: retried for every kind of request, after the server's wait hint (or a backoff); the
//!   wait pauses every request of the client.
//! - 500, 502, 503, 504, timeouts, lost connections: retried, except for creates, whose failure
//!   is returned at once with `may_have_been_applied` set, so that the caller lists again
//!   rather than creating a duplicate.
//! - connect errors (nothing was sent) and token-endpoint trouble (the API request was not
//!   sent): retried for every kind of request.
//! - anything else: returned at once.
//!
//! A retry waits the server's hint (`Retry-After` in seconds or as an HTTP date, the body's
//! `retry_after`, `X-RateLimit-Reset` with `X-RateLimit-Remaining: 0`; the longest wins) or
//! else an exponential backoff with full jitter (`base_backoff · 2^n`, at most `max_backoff`).
//! A call ends after `max_attempts` attempts, or at once when the next wait would pass its
//! `deadline`; the error then says "after N attempts in T".
//!
//! Never logged: headers, the token, request or response bodies.

use super::error::{
    ApiError, AuthError, AuthProblem, CallInfo, ErrorBody, ProtocolError, RemoteError,
    ThrottledError, TransportError, TransportKind,
};
use super::retry::{backoff, rate_limit_reset, wait_hint};
use super::{Client, TOKEN_PATH};
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// What a request does, for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No effect on the server (list).
    Read,
    /// Not idempotent: repeating it after an ambiguous failure could create a duplicate.
    Create,
    /// Idempotent change (update, delete).
    Change,
}

/// A request to send.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    /// Percent-encoded path below the environment's URL, e.g. `/api/v1/providers`.
    pub(crate) path: String,
    /// Encoded query string without `?`.
    pub(crate) query: Option<String>,
    pub(crate) body: Option<&'a Value>,
    pub(crate) kind: Kind,
}

/// A success answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// Its headers: read by `probe` (the `Date` and rate-limit headers only), never logged.
    pub(crate) headers: HeaderMap,
    /// When it arrived, by this machine's clock.
    pub(crate) received: SystemTime,
    pub(crate) call: CallInfo,
}

impl Answer {
    /// An error about this answer's content.
    pub(crate) fn unusable(&self, detail: impl Into<String>) -> RemoteError {
        let mut call = self.call.clone();
        // A success status means the change was carried out, whatever the body says.
        call.maybe_applied = call.method != "GET";
        RemoteError::Protocol(Box::new(ProtocolError {
            call,
            status: Some(self.status),
            detail: detail.into(),
        }))
    }
}

/// How one attempt failed.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The API answered with an error status.
    Status {
        status: u16,
        body: ErrorBody,
        hint: Option<Duration>,
    },
    /// The token endpoint refused, failed, or answered without a token.
    Token {
        status: Option<u16>,
        problem: AuthProblem,
        body: ErrorBody,
        hint: Option<Duration>,
    },
    /// No (complete) answer.
    Transport {
        kind: TransportKind,
        detail: String,
        /// The failed request was the token request: the API request was not sent.
        token_request: bool,
    },
}

impl Failure {
    /// Whether trying again could help and is safe for this kind of request.
    fn retryable(&self, kind: Kind) -> bool {
        match self {
            Failure::Status { status: 429, .. } => true,
            Failure::Status { status, .. } => {
                kind != Kind::Create && super::error::RETRYABLE_STATUSES.contains(status)
            }
            Failure::Token { problem, .. } => *problem == AuthProblem::Unavailable,
            Failure::Transport {
                kind: TransportKind::Tls | TransportKind::Proxy | TransportKind::TooLarge,
                ..
            } => false,
            Failure::Transport {
                token_request: true,
                ..
            }
            | Failure::Transport {
                kind: TransportKind::Connect,
                ..
            } => true,
            Failure::Transport { .. } => kind != Kind::Create,
        }
    }

    /// Whether the API request may have been carried out although it failed.
    fn maybe_applied(&self) -> bool {
        match self {
            Failure::Status { status, .. } => (500..=599).contains(status),
            Failure::Token { .. } => false,
            Failure::Transport {
                kind,
                token_request,
                ..
            } => {
                !token_request
                    && !matches!(
                        kind,
                        TransportKind::Connect | TransportKind::Tls | TransportKind::Proxy
                    )
            }
        }
    }

    /// The method and path of the request that failed: the token request's when getting a
    /// token failed, else the API request's.
    fn request<'a>(&self, req: &'a Request<'_>) -> (&'static str, &'a str) {
        match self {
            Failure::Token { .. }
            | Failure::Transport {
                token_request: true,
                ..
            } => ("POST", TOKEN_PATH),
            _ => (method_name(&req.method), req.path.as_str()),
        }
    }

    /// A token refresh may be worth waiting for (the endpoint is failing, not refusing).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failure::Token { problem, .. } => *problem == AuthProblem::Unavailable,
            Failure::Transport { .. } => true,
            Failure::Status { .. } => false,
        }
    }

    fn hint(&self) -> Option<Duration> {
        match self {
            Failure::Status { hint, .. } | Failure::Token { hint, .. } => *hint,
            Failure::Transport { .. } => None,
        }
    }

    /// A rate limit: the wait applies to every request of the client.
    fn is_rate_limit(&self) -> bool {
        match self {
            Failure::Status { status, hint, .. }
            | Failure::Token {
                status: Some(status),
                hint,
                ..
            } => *status == 429 || hint.is_some(),
            _ => false,
        }
    }

    /// For logs: `503`, `timed out`, `token 503`.
    fn label(&self) -> String {
        match self {
            Failure::Status { status, .. } => status.to_string(),
            Failure::Token { status, .. } => {
                format!("token {}", status.map_or("?".into(), |s| s.to_string()))
            }
            Failure::Transport { detail, .. } => detail.clone(),
        }
    }

    fn into_error(self, mut call: CallInfo, client_id: &str) -> RemoteError {
        match self {
            Failure::Status { status, body, .. } => {
                RemoteError::Api(Box::new(ApiError { call, status, body }))
            }
            Failure::Token {
                status,
                problem,
                body,
                ..
            } => {
                call.method = "POST";
                call.path = TOKEN_PATH.to_string();
                RemoteError::Auth(Box::new(AuthError {
                    call,
                    client_id: client_id.to_string(),
                    status,
                    problem,
                    body,
                }))
            }
            Failure::Transport {
                kind,
                detail,
                token_request,
            } => {
                if token_request {
                    call.method = "POST";
                    call.path = TOKEN_PATH.to_string();
                }
                RemoteError::Transport(Box::new(TransportError { call, kind, detail }))
            }
        }
    }
}

/// What kind of transport failure a reqwest error is, and its lowest-level cause as text
/// (never the URL).
pub(crate) fn classify_transport(e: &reqwest::Error, timeout: Duration) -> (TransportKind, String) {
    let mut root: Option<String> = None;
    let mut io_kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        root = Some(s.to_string());
        source = s.source();
    }
    let chain = chain_text(e).to_ascii_lowercase();
    if chain.contains("tunnel") || chain.contains("proxy") {
        let detail = root.unwrap_or_else(|| "proxy error".into());
        return (TransportKind::Proxy, detail);
    }
    if chain.contains("certificate")
        || chain.contains("handshake")
        || chain.contains("unknownissuer")
        || chain.contains("tls")
    {
        let detail = root.unwrap_or_else(|| "TLS error".into());
        return (TransportKind::Tls, detail);
    }
    if e.is_connect() {
        let detail = root.unwrap_or_else(|| "connect error".into());
        return (TransportKind::Connect, detail);
    }
    if e.is_timeout() {
        return (
            TransportKind::Timeout,
            format!("no answer within {}", super::error::seconds(timeout)),
        );
    }
    use std::io::ErrorKind as K;
    let dropped = matches!(
        io_kind,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
    ) || root.as_deref().is_some_and(|r| {
        r.contains("connection closed")
            || r.contains("connection reset")
            || r.contains("IncompleteMessage")
    });
    let detail = root.unwrap_or_else(|| {
        let e = reqwest::Error::to_string(e);
        crate::output::secret::redact(&e).into_owned()
    });
    let kind = if dropped {
        TransportKind::Dropped
    } else {
        TransportKind::Other
    };
    (kind, detail)
}

/// The messages of an error's sources, without the top one (which holds the URL).
fn chain_text(e: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(&s.to_string());
        out.push(' ');
        out.push_str(&format!("{s:?}"));
        out.push('\n');
        source = s.source();
    }
    out
}

/// An answer's body, read up to [`super::MAX_ANSWER_BYTES`].
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, (TransportKind, String)> {
    let cap = super::MAX_ANSWER_BYTES;
    let too_large = || {
        (
            TransportKind::TooLarge,
            format!("larger than {} MiB; skconn stopped reading it", cap >> 20),
        )
    };
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(classify_transport(&e, timeout)),
        }
    }
}

impl Client {
    /// Sends a request with the retry policy of the module docs.
    pub(crate) async fn send(&self, req: &Request<'_>) -> Result<Answer, RemoteError> {
        let started = Instant::now();
        let deadline = started + self.options.deadline;
        let max_attempts = self.options.max_attempts.max(1);
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        let mut maybe_applied = false;
        let mut last: Option<Failure> = None;
        let info = |attempts: u32, maybe_applied: bool| CallInfo {
            env: self.env.clone(),
            method: method_name(&req.method),
            path: req.path.clone(),
            host: self.host.clone(),
            attempts,
            elapsed: started.elapsed(),
            maybe_applied,
        };
        loop {
            // A rate limit seen by any request of this client holds for this one too.
            while let Some(wait) = self.pause.remaining() {
                let left = deadline.saturating_duration_since(Instant::now());
                if wait > left {
                    let call = info(attempts, maybe_applied);
                    return Err(match last {
                        Some(f) => f.into_error(call, &self.client_id),
                        None => RemoteError::Throttled(Box::new(ThrottledError {
                            call,
                            wait,
                            remaining: left,
                            max_wait: None,
                        })),
                    });
                }
                tracing::debug!(env = %self.env, method = %req.method, path = %req.path,
                    wait_ms = wait.as_millis() as u64, "waiting: the environment is rate limited");
                tokio::time::sleep(wait).await;
            }
            attempts += 1;
            let (failure, generation) = match self.attempt(req, deadline, attempts).await {
                Ok((status, body, headers)) => {
                    return Ok(Answer {
                        status,
                        body,
                        headers,
                        received: SystemTime::now(),
                        call: info(attempts, maybe_applied),
                    })
                }
                Err(x) => x,
            };
            // A read changes nothing, whatever happened to it.
            maybe_applied |= req.kind != Kind::Read && failure.maybe_applied();

            if let (Failure::Status { status: 401, .. }, false) = (&failure, reauthenticated) {
                reauthenticated = true;
                if let Some(g) = generation {
                    self.tokens.invalidate(g).await;
                }
                tracing::info!(env = %self.env, method = %req.method, path = %req.path, attempt = attempts,
                    "the access token was refused; fetching a new one and trying again");
                last = Some(failure);
                continue;
            }

            let budget = max_attempts + u32::from(reauthenticated);
            let retries_so_far = attempts - u32::from(reauthenticated);
            // The server's wait when it names one (a zero wait is no wait: back off instead).
            let delay = failure.hint().filter(|h| !h.is_zero()).unwrap_or_else(|| {
                backoff(
                    retries_so_far,
                    self.options.base_backoff,
                    self.options.max_backoff,
                )
            });
            // A wait longer than --max-wait is not waited out: the server is misreporting, or
            // the environment is unusable for now. Either way, say so rather than hang.
            if let Some(hint) = failure.hint().filter(|h| *h > self.options.max_wait) {
                tracing::warn!(env = %self.env, method = %req.method, path = %req.path,
                    status = %failure.label(), attempt = attempts, wait_ms = u64::try_from(hint.as_millis()).unwrap_or(u64::MAX),
                    "giving up: the server asked for a wait longer than --max-wait");
                return Err(RemoteError::Throttled(Box::new(ThrottledError {
                    call: info(attempts, maybe_applied),
                    wait: hint,
                    remaining: self.options.max_wait,
                    max_wait: Some(self.options.max_wait),
                })));
            }
            // The server's wait holds for every request of the client, even if this one
            // gives up.
            let rate_limited = failure.is_rate_limit();
            if rate_limited && self.pause.extend_to(Instant::now() + delay) {
                let (method, path) = failure.request(req);
                tracing::info!(env = %self.env, method, path,
                    status = %failure.label(), wait_ms = delay.as_millis() as u64,
                    "rate limited: pausing every request to this environment");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let (method, path) = failure.request(req);
            if !failure.retryable(req.kind) || attempts >= budget || delay >= left {
                if failure.retryable(req.kind) {
                    tracing::warn!(env = %self.env, host = %self.host, method, path,
                        error = %failure.label(), attempt = attempts,
                        "giving up: {}", if attempts >= budget { "no attempts left" } else { "the deadline would pass" });
                }
                return Err(failure.into_error(info(attempts, maybe_applied), &self.client_id));
            }
            if rate_limited {
                tracing::warn!(env = %self.env, host = %self.host, method, path,
                    status = %failure.label(), attempt = attempts, wait_ms = delay.as_millis() as u64,
                    "rate limited; retrying after the pause");
            } else {
                tracing::warn!(env = %self.env, host = %self.host, method, path,
                    error = %failure.label(), attempt = attempts, wait_ms = delay.as_millis() as u64,
                    "request failed; retrying");
                tokio::time::sleep(delay).await;
            }
            last = Some(failure);
        }
    }

    /// One attempt: a token, then the request. On failure, also the token generation used.
    async fn attempt(
        &self,
        req: &Request<'_>,
        deadline: Instant,
        attempt: u32,
    ) -> Result<(u16, Vec<u8>, HeaderMap), (Failure, Option<u64>)> {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = self.options.timeout.min(left).max(Duration::from_millis(1));
        let token = self
            .tokens
            .get(&self.http, timeout)
            .await
            .map_err(|f| (f, None))?;
        let mut url = format!("{}{}", self.base, req.path);
        if let Some(q) = &req.query {
            url.push('?');
            url.push_str(q);
        }
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .bearer_auth(token.value.expose())
            .header(ACCEPT, "application/json")
            .timeout(timeout);
        if let Some(body) = req.body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let failed = |e: reqwest::Error| {
            let (kind, detail) = classify_transport(&e, timeout);
            tracing::debug!(env = %self.env, method = %req.method, path = %req.path, attempt,
                error = %detail, elapsed_ms = started.elapsed().as_millis() as u64, "request failed");
            (
                Failure::Transport {
                    kind,
                    detail,
                    token_request: false,
                },
                Some(token.generation),
            )
        };
        let response = builder.send().await.map_err(&failed)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response, timeout)
            .await
            .map_err(|(kind, detail)| {
                (
                    Failure::Transport {
                        kind,
                        detail,
                        token_request: false,
                    },
                    Some(token.generation),
                )
            })?;
        tracing::debug!(env = %self.env, method = %req.method, path = %req.path, attempt, status,
            elapsed_ms = started.elapsed().as_millis() as u64, "request");
        if (200..300).contains(&status) {
            self.note_rate_limit(&headers);
            return Ok((status, body, headers));
        }
        let body = ErrorBody::decode(&body, header_request_id(&headers));
        let hint = wait_hint(&headers, body.retry_after);
        Err((
            Failure::Status { status, body, hint },
            Some(token.generation),
        ))
    }

    /// `X-RateLimit-Remaining: 0` on a success: pause until the reset rather than run into 429s.
    fn note_rate_limit(&self, headers: &HeaderMap) {
        let Some(wait) = rate_limit_reset(headers, SystemTime::now()) else {
            return;
        };
        let wait = wait
            .min(self.options.max_backoff)
            .min(self.options.max_wait);
        if !wait.is_zero() && self.pause.extend_to(Instant::now() + wait) {
            tracing::info!(env = %self.env, wait_ms = wait.as_millis() as u64,
                "rate limit exhausted: pausing every request to this environment until it resets");
        }
    }
}

fn header_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}
