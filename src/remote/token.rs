//! The access token of one environment: fetched with the client-credentials grant, cached
//! until near its expiry, shared by every request of the client.
//!
//! Concurrent callers that find no usable token wait for one fetch instead of each sending
//! their own. A fetch that fails is reported to the callers that were waiting for it, so a
//! refused secret is asked about once, not once per waiting request.
//!
//! Never logged, never part of an error or a `Debug` output: the client secret, the form body
//! of the token request, the token endpoint's successful answer, the token itself (it is kept
//! in a [`Secret`], which also registers it for redaction).

use super::call::{classify_transport, Failure};
use super::error::{AuthProblem, ErrorBody};
use super::retry::wait_hint;
use super::TOKEN_PATH;
use crate::output::secret::Secret;
use reqwest::header::HeaderMap;
use reqwest::header::ACCEPT;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use std::time::SystemTime;
use tokio::time::Instant;

/// Whether a header is of the rate-limit family: `X-RateLimit-*` (and `X-Rate-Limit-*`), the
/// IETF draft's `RateLimit` and `RateLimit-*`, and `Retry-After`.
fn is_rate_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-ratelimit")
        || n.starts_with("x-rate-limit")
        || n.starts_with("ratelimit")
        || n == "retry-after"
}

/// The rate-limit headers of an answer, as `(lowercase name, value)`; a value that is not text
/// is left out.
pub(crate) fn rate_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| is_rate_header(n.as_str()))
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.trim().to_string())))
        .collect()
}

/// What the token endpoint's last successful answer said about itself (never the token).
#[derive(Debug, Clone)]
pub struct TokenAnswer {
    /// `expires_in`, when the answer gives one.
    pub lifetime: Option<Duration>,
    /// The `Date` header, as sent.
    pub date: Option<String>,
    /// When the answer arrived, by this machine's clock.
    pub received: SystemTime,
    /// How long the token request took.
    pub elapsed: Duration,
    /// Its rate-limit headers.
    pub rate_headers: Vec<(String, String)>,
}

/// Lifetime assumed when the token answer names none. (`expires_in: 0` is taken at its word:
/// such a token is fetched anew for every request.)
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// A token is renewed when less than this is left of it…
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// …or less than this fraction of its lifetime, whichever is shorter (short-lived tokens).
const REFRESH_FRACTION: u32 = 10;

/// A token to send, and which fetch produced it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    pub(crate) generation: u64,
}

struct Cached {
    token: Token,
    refresh_at: Instant,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The last failed fetch and its fetch number.
    last_failure: Option<(u64, Failure)>,
}

/// The token cache of one client.
pub(crate) struct Tokens {
    env: String,
    url: String,
    client_id: String,
    client_secret: Secret,
    state: tokio::sync::Mutex<State>,
    /// Fetches finished so far (successful or not); a token's generation is its fetch number.
    fetches: AtomicU64,
    /// What the last successful answer said about itself (never the token).
    last_answer: std::sync::Mutex<Option<TokenAnswer>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(env: &str, base: &str, client_id: &str, client_secret: &Secret) -> Tokens {
        Tokens {
            env: env.to_string(),
            url: format!("{base}{TOKEN_PATH}"),
            client_id: client_id.to_string(),
            client_secret: client_secret.clone(),
            state: tokio::sync::Mutex::new(State::default()),
            fetches: AtomicU64::new(0),
            last_answer: std::sync::Mutex::new(None),
        }
    }

    /// What the last successful token answer said about itself, if there was one.
    pub(crate) fn last_answer(&self) -> Option<TokenAnswer> {
        self.last_answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A usable token: the cached one, or a fresh one (one fetch shared by concurrent callers).
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Token, Failure> {
        let seen = self.fetches.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some(c) = &state.cached {
            if now < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        // A fetch finished while this caller waited for the lock, and failed: share its outcome.
        if let Some((n, failure)) = &state.last_failure {
            if *n > seen {
                return Err(failure.clone());
            }
        }
        let result = self.fetch(http, timeout).await;
        let generation = self.fetches.fetch_add(1, Ordering::AcqRel) + 1;
        match result {
            Ok((value, lifetime)) => {
                let lifetime = lifetime.unwrap_or(DEFAULT_LIFETIME);
                let now = Instant::now();
                let margin = MAX_REFRESH_MARGIN.min(lifetime / REFRESH_FRACTION);
                let token = Token { value, generation };
                state.cached = Some(Cached {
                    token: token.clone(),
                    refresh_at: now + lifetime.saturating_sub(margin),
                    expires_at: now + lifetime,
                });
                state.last_failure = None;
                Ok(token)
            }
            Err(failure) => {
                state.last_failure = Some((generation, failure.clone()));
                // A token near its end is still better than none while the endpoint is down.
                match &state.cached {
                    Some(c) if Instant::now() < c.expires_at && failure.is_transient() => {
                        tracing::warn!(env = %self.env, "could not renew the access token; using the current one until it expires");
                        Ok(c.token.clone())
                    }
                    _ => {
                        state.cached = None;
                        Err(failure)
                    }
                }
            }
        }
    }

    /// Forgets the token of this generation (the API refused it), unless it was already
    /// replaced.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .cached
            .as_ref()
            .is_some_and(|c| c.token.generation == generation)
        {
            state.cached = None;
        }
    }

    /// Fetches finished so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Acquire)
    }

    /// One token request.
    async fn fetch(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<(Secret, Option<Duration>), Failure> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let started = Instant::now();
        let sent = http
            .post(&self.url)
            .header(ACCEPT, "application/json")
            .form(&form)
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(transport_failure(&self.env, &e, timeout, started)),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = match super::call::read_capped(response, timeout).await {
            Ok(b) => b,
            Err((kind, detail)) => {
                return Err(Failure::Transport {
                    kind,
                    detail,
                    token_request: true,
                })
            }
        };
        tracing::debug!(
            env = %self.env,
            method = "POST",
            path = TOKEN_PATH,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "token request"
        );
        if (200..300).contains(&status) {
            let (token, lifetime) = read_token(&bytes).ok_or(Failure::Token {
                status: Some(status),
                problem: AuthProblem::BadAnswer,
                body: ErrorBody::default(),
                hint: None,
            })?;
            *self.last_answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(TokenAnswer {
                lifetime,
                date: headers
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                received: std::time::SystemTime::now(),
                elapsed: started.elapsed(),
                rate_headers: rate_headers(&headers),
            });
            return Ok((token, lifetime));
        }
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = ErrorBody::decode(&bytes, request_id);
        let hint = wait_hint(&headers, body.retry_after);
        Err(Failure::Token {
            status: Some(status),
            problem: auth_problem(status, &body),
            body,
            hint,
        })
    }
}

fn transport_failure(
    env: &str,
    e: &reqwest::Error,
    timeout: Duration,
    started: Instant,
) -> Failure {
    let (kind, detail) = classify_transport(e, timeout);
    tracing::debug!(
        env = %env,
        method = "POST",
        path = TOKEN_PATH,
        error = %detail,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "token request failed"
    );
    Failure::Transport {
        kind,
        detail,
        token_request: true,
    }
}

/// `access_token` and its lifetime (`expires_in`, when given) from a successful token answer.
fn read_token(bytes: &[u8]) -> Option<(Secret, Option<Duration>)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let token = v.get("access_token")?.as_str()?.trim();
    if token.is_empty() {
        return None;
    }
    let lifetime = match v.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s >= 0.0)
    .map(|s| Duration::from_secs_f64(s.min(1e9)));
    Some((Secret::new(token), lifetime))
}

/// What an error answer of the token endpoint means.
fn auth_problem(status: u16, body: &ErrorBody) -> AuthProblem {
    use super::error::{GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED};
    const CREDENTIAL_ERRORS: &[&str] = &["invalid_client", "unauthorized_client", "invalid_grant"];
    let about_credentials = || {
        body.oauth_error
            .as_deref()
            .is_some_and(|e| CREDENTIAL_ERRORS.contains(&e))
            || body.code == Some(GRPC_UNAUTHENTICATED)
            || body.message.as_deref().is_some_and(|m| {
                let m = m.to_ascii_lowercase();
                ["client", "credential", "secret"]
                    .iter()
                    .any(|w| m.contains(w))
            })
    };
    match status {
        401 => AuthProblem::InvalidCredentials,
        403 if body.code != Some(GRPC_PERMISSION_DENIED) && about_credentials() => {
            AuthProblem::InvalidCredentials
        }
        403 => AuthProblem::Forbidden,
        404 | 405 => AuthProblem::NoTokenEndpoint,
        429 | 500..=599 => AuthProblem::Unavailable,
        400..=499 if about_credentials() => AuthProblem::InvalidCredentials,
        _ => AuthProblem::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_token_answer() {
        let (t, life) = read_token(
            br#"{"access_token":"tok-read-1","token_type":"Bearer","expires_in":86399}"#,
        )
        .unwrap();
        assert_eq!(t.expose(), "tok-read-1");
        assert_eq!(life, Some(Duration::from_secs(86399)));
        let (_, life) = read_token(br#"{"access_token":"tok-read-2","expires_in":null}"#).unwrap();
        assert_eq!(life, None);
        let (_, life) = read_token(br#"{"access_token":"tok-read-3","expires_in":"0"}"#).unwrap();
        assert_eq!(life, Some(Duration::ZERO));
        assert!(read_token(br#"{"access_token":""}"#).is_none());
        assert!(read_token(b"not json").is_none());
    }

    #[test]
    fn classifies_token_errors() {
        let oauth = ErrorBody::decode(br#"{"error":"invalid_client"}"#, None);
        assert_eq!(auth_problem(400, &oauth), AuthProblem::InvalidCredentials);
        let grpc = ErrorBody::decode(br#"{"code":16,"message":"bad"}"#, None);
        assert_eq!(auth_problem(400, &grpc), AuthProblem::InvalidCredentials);
        let other = ErrorBody::decode(br#"{"error":"unsupported_grant_type"}"#, None);
        assert_eq!(auth_problem(400, &other), AuthProblem::Refused);
        assert_eq!(
            auth_problem(401, &ErrorBody::default()),
            AuthProblem::InvalidCredentials
        );
        assert_eq!(
            auth_problem(404, &ErrorBody::default()),
            AuthProblem::NoTokenEndpoint
        );
        assert_eq!(
            auth_problem(503, &ErrorBody::default()),
            AuthProblem::Unavailable
        );
        assert_eq!(
            auth_problem(403, &ErrorBody::default()),
            AuthProblem::Forbidden
        );
    }
}
