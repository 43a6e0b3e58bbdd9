//! Errors of calls to an environment, and the decoding of the server's error bodies.
//!
//! Every error says which environment, which request (method and path, never headers or a
//! query), what the server answered (HTTP status, gRPC code, message, `error_code`, field
//! violations, request id) and how many attempts were made in how long. No error ever holds a
//! client secret or an access token: the token request's form is never kept, and the token
//! endpoint's successful answer is never part of an error.

use crate::output::escape::inert;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// The request a failure belongs to and what was spent on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The environment's name in skconn.yaml.
    pub env: String,
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The request path as sent (percent-encoded), without host and query.
    pub path: String,
    /// The host (and port) the request went to, e.g. `acme.scalekit.dev`.
    pub host: String,
    /// Requests sent (or tried) for this call, first one included.
    pub attempts: u32,
    /// Time from the first attempt to the failure, waits included.
    pub elapsed: Duration,
    /// Whether some attempt of a create, update or delete may have reached the server and been
    /// carried out although no success was seen (a timeout, a dropped connection or a 5xx after
    /// the request was sent). Never set for a list.
    pub maybe_applied: bool,
}

impl CallInfo {
    fn write_tail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            " after {} attempt{} in {}",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            seconds(self.elapsed)
        )?;
        if self.maybe_applied {
            f.write_str(" (the request may have been carried out)")?;
        }
        if !self.host.is_empty() {
            write!(f, " [host {}]", self.host)?;
        }
        Ok(())
    }
}

/// One entry of `validation_error_info.field_violations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// What an error answer's body (and headers) told. Every part is optional: the body may be
/// the gRPC-gateway status shape, an OAuth error, anything else, or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorBody {
    /// The gRPC status code (`code`), not the HTTP status.
    pub code: Option<i32>,
    /// The server's message (`message`, or an OAuth `error_description`, or plain text).
    pub message: Option<String>,
    /// `error_code` from the details (or an `ErrorInfo.reason`).
    pub error_code: Option<String>,
    /// Field violations from the details.
    pub field_violations: Vec<FieldViolation>,
    /// The request id: `details[].request_info.request_id`, a top-level `request_id`, or the
    /// `x-request-id` header.
    pub request_id: Option<String>,
    /// An OAuth `error` code such as `invalid_client`.
    pub oauth_error: Option<String>,
    /// `retry_after` from the details or the top level, in seconds.
    pub retry_after: Option<Duration>,
}

impl ErrorBody {
    /// Decodes an error answer's body leniently; `header_request_id` is the `x-request-id`
    /// header, used when the body names no request id.
    pub fn decode(bytes: &[u8], header_request_id: Option<String>) -> ErrorBody {
        let mut out = match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => ErrorBody::from_json(&v),
            _ => ErrorBody {
                message: plain_text(bytes),
                ..ErrorBody::default()
            },
        };
        if out.request_id.is_none() {
            out.request_id = header_request_id.filter(|s| !s.is_empty());
        }
        out
    }

    fn from_json(v: &Value) -> ErrorBody {
        let mut out = ErrorBody {
            code: v.get("code").and_then(grpc_code),
            message: non_empty_str(v.get("message"))
                .or_else(|| non_empty_str(v.get("error_description")))
                .or_else(|| non_empty_str(v.get("error_message"))),
            request_id: non_empty_str(v.get("request_id")),
            retry_after: v.get("retry_after").and_then(duration_secs),
            ..ErrorBody::default()
        };
        if let Some(err) = non_empty_str(v.get("error")) {
            // OAuth: a short code; old gateways: the message again.
            if out.message.is_none() && err.contains(' ') {
                out.message = Some(err);
            } else if !err.contains(' ') {
                out.oauth_error = Some(err);
            }
        }
        out.error_code = non_empty_str(v.get("error_code"));
        for d in v
            .get("details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.read_detail(d);
        }
        out
    }

    fn read_detail(&mut self, d: &Value) {
        if self.error_code.is_none() {
            self.error_code =
                non_empty_str(d.get("error_code")).or_else(|| non_empty_str(d.get("reason")));
        }
        let rid = d
            .get("request_info")
            .and_then(|ri| non_empty_str(ri.get("request_id")))
            .or_else(|| non_empty_str(d.get("request_id")));
        if rid.is_some() {
            // The details' request id wins over a top-level one.
            self.request_id = rid;
        }
        if let Some(ra) = d.get("retry_after").and_then(duration_secs) {
            self.retry_after = Some(ra);
        }
        let violations = d
            .get("validation_error_info")
            .and_then(|vi| vi.get("field_violations"))
            .or_else(|| d.get("field_violations"))
            .and_then(Value::as_array);
        for fv in violations.into_iter().flatten() {
            let field = non_empty_str(fv.get("field")).unwrap_or_default();
            let description = non_empty_str(fv.get("description"))
                .or_else(|| non_empty_str(fv.get("message")))
                .unwrap_or_default();
            if !field.is_empty() || !description.is_empty() {
                self.field_violations
                    .push(FieldViolation { field, description });
            }
        }
    }

    /// The name of the gRPC code, e.g. `ALREADY_EXISTS`.
    pub fn code_name(&self) -> Option<&'static str> {
        self.code.and_then(grpc_code_name)
    }

    /// ` (CODE, ERROR_CODE): message; field: description [request id]`
    fn write_details(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut labels: Vec<&str> = Vec::new();
        if let Some(name) = self.code_name() {
            labels.push(name);
        }
        for extra in [&self.error_code, &self.oauth_error].into_iter().flatten() {
            if !labels.iter().any(|l| l.eq_ignore_ascii_case(extra)) {
                labels.push(extra);
            }
        }
        if !labels.is_empty() {
            write!(f, " ({})", inert(&labels.join(", ")))?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {}", inert(m))?;
        }
        for v in &self.field_violations {
            let text = match (v.field.is_empty(), v.description.is_empty()) {
                (false, false) => format!("{}: {}", v.field, v.description),
                (false, true) => v.field.clone(),
                _ => v.description.clone(),
            };
            let already = self.message.as_deref().is_some_and(|m| m.contains(&text));
            if !already {
                write!(f, "; {}", inert(&text))?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {}]", inert(id))?;
        }
        Ok(())
    }
}

/// The environment answered a request with an error status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub call: CallInfo,
    /// The HTTP status.
    pub status: u16,
    pub body: ErrorBody,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.call;
        write!(
            f,
            "{}: {} {} failed: {}",
            c.env,
            c.method,
            c.path,
            status_text(self.status)
        )?;
        self.body.write_details(f)?;
        c.write_tail(f)
    }
}

/// Why the token endpoint did not give a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProblem {
    /// The client id or secret was refused.
    InvalidCredentials,
    /// The client is known but may not obtain a token (403).
    Forbidden,
    /// There is no token endpoint at the environment's URL (404, 405).
    NoTokenEndpoint,
    /// The token endpoint refused the request for another reason.
    Refused,
    /// The token endpoint is rate limited or failing (429, 5xx), also after retries.
    Unavailable,
    /// A success answer without a usable `access_token`.
    BadAnswer,
}

/// Getting an access token failed.
#[derive(Debug, Clone)]
pub struct AuthError {
    /// The call the token was wanted for; its method and path are the token request's.
    pub call: CallInfo,
    /// The client id (not secret) the token was asked for.
    pub client_id: String,
    /// The HTTP status of the token endpoint's answer.
    pub status: Option<u16>,
    pub problem: AuthProblem,
    pub body: ErrorBody,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authentication to environment `{}` failed: ",
            self.call.env
        )?;
        match self.problem {
            AuthProblem::InvalidCredentials => write!(
                f,
                "invalid client credentials (check client_id/client_secret; client_id is `{}`)",
                self.client_id
            )?,
            AuthProblem::Forbidden => write!(
                f,
                "client `{}` may not obtain a token (check its permissions)",
                self.client_id
            )?,
            AuthProblem::NoTokenEndpoint => write!(
                f,
                "no token endpoint at {} (check the environment URL)",
                self.call.path
            )?,
            AuthProblem::Refused => f.write_str("the token endpoint refused the request")?,
            AuthProblem::Unavailable => f.write_str("the token endpoint is unavailable")?,
            AuthProblem::BadAnswer => {
                f.write_str("the token endpoint's answer holds no usable access token")?
            }
        }
        if let Some(status) = self.status {
            write!(f, ": {}", status_text(status))?;
        }
        self.body.write_details(f)?;
        write!(f, " (request: {} {})", self.call.method, self.call.path)?;
        self.call.write_tail(f)
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made; the request was provably not sent.
    Connect,
    /// No complete answer within the timeout; the request may have been carried out.
    Timeout,
    /// The connection was closed or reset before the answer was complete.
    Dropped,
    /// Any other I/O or protocol failure after the connection was made.
    Other,
    /// The TLS handshake failed (most often: a certificate not signed by a trusted CA). Not
    /// retried; the request was not sent.
    Tls,
    /// A proxy refused or failed the connection (e.g. `407 Proxy Authentication Required`, a
    /// refused CONNECT). Not retried; the request was not sent.
    Proxy,
    /// The answer was larger than skconn reads (see `remote::MAX_ANSWER_BYTES`).
    TooLarge,
}

/// A request got no HTTP answer.
#[derive(Debug, Clone)]
pub struct TransportError {
    /// For a failed token request, method and path are the token request's.
    pub call: CallInfo,
    pub kind: TransportKind,
    /// The lowest-level cause, e.g. `Connection refused (os error 111)`.
    pub detail: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.call;
        let what = match self.kind {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Dropped => "the connection was lost",
            TransportKind::Other => "the request failed",
            TransportKind::Tls => "the TLS connection could not be made",
            TransportKind::Proxy => "the proxy refused or failed the connection",
            TransportKind::TooLarge => "the answer is too large",
        };
        write!(f, "{}: {} {} failed: {what}", c.env, c.method, c.path)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", inert(&self.detail))?;
        }
        c.write_tail(f)?;
        match self.kind {
            TransportKind::Tls => write!(
                f,
                ". {host}'s certificate is not trusted: if {host} is reached through a \
                 TLS-inspecting proxy or uses a private CA, set `ca_file:` for environment {env} \
                 in skconn.yaml (or pass --ca-file, or set SSL_CERT_FILE) to that CA's PEM file",
                host = c.host,
                env = c.env
            ),
            TransportKind::Proxy => f.write_str(
                ". The error came from the proxy (HTTPS_PROXY / HTTP_PROXY), not from the \
                 environment: check the proxy's address and credentials, or add the host to NO_PROXY",
            ),
            _ => Ok(()),
        }
    }
}

/// A success answer that could not be used, or a server that breaks the protocol.
#[derive(Debug, Clone)]
pub struct ProtocolError {
    pub call: CallInfo,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    pub detail: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.call;
        write!(f, "{}: {} {} failed: ", c.env, c.method, c.path)?;
        if let Some(s) = self.status {
            write!(f, "the answer ({}) is unusable: ", status_text(s))?;
        }
        f.write_str(&self.detail)?;
        c.write_tail(f)
    }
}

/// A request not sent because the environment asked to pause longer than the deadline allows.
#[derive(Debug, Clone)]
pub struct ThrottledError {
    pub call: CallInfo,
    /// How long the environment asked every request to wait.
    pub wait: Duration,
    /// What was left of the deadline.
    pub remaining: Duration,
    /// Set when the wait was refused for passing `--max-wait` rather than the deadline.
    pub max_wait: Option<Duration>,
}

impl fmt::Display for ThrottledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.call;
        if let Some(max) = self.max_wait {
            write!(
                f,
                "{}: {} {} gave up: the environment asked to wait {} before trying again, more than --max-wait ({}); \
                 run again later, or raise --max-wait",
                c.env,
                c.method,
                c.path,
                if self.wait >= Duration::from_secs(86_400) {
                    "more than a day".to_string()
                } else {
                    seconds(self.wait)
                },
                seconds(max)
            )?;
            return c.write_tail(f);
        }
        write!(
            f,
            "{}: {} {} not sent: the environment is rate limited for another {}, more than the {} left before the deadline",
            c.env,
            c.method,
            c.path,
            seconds(self.wait),
            seconds(self.remaining)
        )?;
        c.write_tail(f)
    }
}

/// A failed call to an environment.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The endpoint or the request is unusable; nothing was sent.
    #[error("environment `{env}`: {message}")]
    Invalid { env: String, message: String },
    /// No access token could be obtained.
    #[error("{0}")]
    Auth(Box<AuthError>),
    /// The API answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// No HTTP answer: connect failure, timeout, dropped connection.
    #[error("{0}")]
    Transport(Box<TransportError>),
    /// An unusable answer (undecodable body, looping pagination).
    #[error("{0}")]
    Protocol(Box<ProtocolError>),
    /// Rate limited for longer than the deadline allows.
    #[error("{0}")]
    Throttled(Box<ThrottledError>),
}

impl From<RemoteError> for crate::base::error::Error {
    fn from(e: RemoteError) -> Self {
        crate::base::error::Error::Remote(Box::new(e))
    }
}

impl RemoteError {
    /// The environment's name.
    pub fn env(&self) -> &str {
        match self {
            RemoteError::Invalid { env, .. } => env,
            other => &other.call().expect("every other variant has a call").env,
        }
    }

    /// The request and what was spent on it (`None` when nothing was sent).
    pub fn call(&self) -> Option<&CallInfo> {
        match self {
            RemoteError::Invalid { .. } => None,
            RemoteError::Auth(e) => Some(&e.call),
            RemoteError::Api(e) => Some(&e.call),
            RemoteError::Transport(e) => Some(&e.call),
            RemoteError::Protocol(e) => Some(&e.call),
            RemoteError::Throttled(e) => Some(&e.call),
        }
    }

    /// The HTTP status of an error answer (of the API, or of the token endpoint).
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Api(e) => Some(e.status),
            RemoteError::Auth(e) => e.status,
            _ => None,
        }
    }

    /// The decoded error body, when the server answered with one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            RemoteError::Api(e) => Some(&e.body),
            RemoteError::Auth(e) => Some(&e.body),
            _ => None,
        }
    }

    /// The gRPC code of an error answer.
    pub fn grpc_code(&self) -> Option<i32> {
        self.body().and_then(|b| b.code)
    }

    /// The server's request id, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.body().and_then(|b| b.request_id.as_deref())
    }

    /// Attempts made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.call().map_or(0, |c| c.attempts)
    }

    /// 404, or gRPC `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.api_status() == Some(404)
            || (self.is_api() && self.grpc_code() == Some(GRPC_NOT_FOUND))
    }

    /// 409, or gRPC `ALREADY_EXISTS` (e.g. a duplicate display name).
    pub fn is_conflict(&self) -> bool {
        self.api_status() == Some(409)
            || (self.is_api() && self.grpc_code() == Some(GRPC_ALREADY_EXISTS))
    }

    /// A delete refused because the connector is still in use (connections or connected
    /// accounts exist). The contract does not fix the status: 403, or gRPC
    /// `FAILED_PRECONDITION` (usually with 400) are both taken as "in use".
    pub fn is_in_use(&self) -> bool {
        self.api_status() == Some(403)
            || (self.is_api() && self.grpc_code() == Some(GRPC_FAILED_PRECONDITION))
    }

    /// Credentials refused, or a token refused by the API even after a refresh.
    pub fn is_unauthenticated(&self) -> bool {
        match self {
            RemoteError::Auth(e) => e.problem == AuthProblem::InvalidCredentials,
            RemoteError::Api(e) => e.status == 401 || e.body.code == Some(GRPC_UNAUTHENTICATED),
            _ => false,
        }
    }

    /// Whether trying the same call again later may succeed (rate limits, server trouble,
    /// network trouble).
    pub fn is_retryable(&self) -> bool {
        match self {
            RemoteError::Api(e) => RETRYABLE_STATUSES.contains(&e.status),
            RemoteError::Auth(e) => e.problem == AuthProblem::Unavailable,
            RemoteError::Transport(_) | RemoteError::Throttled(_) => true,
            RemoteError::Invalid { .. } | RemoteError::Protocol(_) => false,
        }
    }

    /// Whether the request may have been carried out although no success was seen: a
    /// timeout, a connection lost after sending, a 5xx, or a success answer that could not be
    /// read. Always false for a list (it changes nothing). After a failed create the caller
    /// lists the environment again instead of repeating the create.
    pub fn may_have_been_applied(&self) -> bool {
        self.call().is_some_and(|c| c.maybe_applied)
    }

    /// A success status whose body could not be used (a change was carried out).
    pub fn is_unusable_success(&self) -> bool {
        matches!(self, RemoteError::Protocol(p)
            if p.status.is_some_and(|s| (200..300).contains(&s)) && p.call.method != "GET")
    }

    fn is_api(&self) -> bool {
        matches!(self, RemoteError::Api(_))
    }

    fn api_status(&self) -> Option<u16> {
        match self {
            RemoteError::Api(e) => Some(e.status),
            _ => None,
        }
    }
}

/// HTTP statuses after which a call is tried again (creates only after a 429).
pub(crate) const RETRYABLE_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

pub(crate) const GRPC_NOT_FOUND: i32 = 5;
pub(crate) const GRPC_ALREADY_EXISTS: i32 = 6;
pub(crate) const GRPC_PERMISSION_DENIED: i32 = 7;
pub(crate) const GRPC_FAILED_PRECONDITION: i32 = 9;
pub(crate) const GRPC_UNAUTHENTICATED: i32 = 16;

const GRPC_NAMES: &[&str] = &[
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

fn grpc_code_name(code: i32) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| GRPC_NAMES.get(i).copied())
}

/// A gRPC code given as a number or as its name.
fn grpc_code(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => match s.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => GRPC_NAMES
                .iter()
                .position(|name| name.eq_ignore_ascii_case(s))
                .and_then(|i| i32::try_from(i).ok()),
        },
        _ => None,
    }
}

/// `60`, `1.5`, `"60"` or `"60s"` (a protobuf Duration) as a duration.
pub(crate) fn duration_secs(v: &Value) -> Option<Duration> {
    let secs = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('s').parse::<f64>().ok()?,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

fn non_empty_str(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-JSON body as one short line of text. Secrets are redacted before the cut (and again
/// when the message is written), so the cut cannot leave the start of one behind.
fn plain_text(bytes: &[u8]) -> Option<String> {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(bytes);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = crate::output::secret::redact(&line).into_owned();
    if line.is_empty() {
        return None;
    }
    if line.len() > MAX {
        let mut cut = MAX;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    Some(crate::output::secret::redact(&line).into_owned())
}

/// `409 Conflict`
pub(crate) fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    match reason {
        Some(r) => format!("{status} {r}"),
        None => status.to_string(),
    }
}

/// `0.2s`, `12.0s`
pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call() -> CallInfo {
        CallInfo {
            env: "dev".into(),
            method: "PUT",
            path: "/api/v1/custom-providers/my_asana:1".into(),
            host: String::new(),
            attempts: 1,
            elapsed: Duration::from_millis(200),
            maybe_applied: false,
        }
    }

    #[test]
    fn decodes_the_gateway_shape() {
        let body = json!({
            "code": 3,
            "message": "display_name: value does not match regex pattern",
            "details": [{
                "@type": "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo",
                "error_code": "INVALID_ARGUMENT",
                "request_info": {"request_id": "req_9"},
                "validation_error_info": {"field_violations": [
                    {"field": "display_name", "description": "value does not match regex pattern"},
                    {"field": "proxy_url", "description": "must start with https://"}
                ]}
            }]
        });
        let b = ErrorBody::decode(body.to_string().as_bytes(), Some("hdr".into()));
        assert_eq!(b.code, Some(3));
        assert_eq!(b.error_code.as_deref(), Some("INVALID_ARGUMENT"));
        assert_eq!(b.request_id.as_deref(), Some("req_9"));
        assert_eq!(b.field_violations.len(), 2);
        let e = ApiError {
            call: call(),
            status: 400,
            body: b,
        };
        assert_eq!(
            e.to_string(),
            "dev: PUT /api/v1/custom-providers/my_asana:1 failed: 400 Bad Request (INVALID_ARGUMENT): \
             display_name: value does not match regex pattern; proxy_url: must start with https:// \
             [request req_9] after 1 attempt in 0.2s"
        );
    }

    #[test]
    fn displays_like_the_documented_example() {
        let body = json!({"code": 6, "message": "a connector named \"X\" already exists",
            "details": [{"error_code": "ALREADY_EXISTS", "request_info": {"request_id": "req_123"}}]});
        let e = RemoteError::Api(Box::new(ApiError {
            call: call(),
            status: 409,
            body: ErrorBody::decode(body.to_string().as_bytes(), None),
        }));
        assert_eq!(
            e.to_string(),
            "dev: PUT /api/v1/custom-providers/my_asana:1 failed: 409 Conflict (ALREADY_EXISTS): \
             a connector named \"X\" already exists [request req_123] after 1 attempt in 0.2s"
        );
        assert!(e.is_conflict());
        assert!(!e.is_not_found() && !e.is_retryable() && !e.may_have_been_applied());
        assert_eq!(e.request_id(), Some("req_123"));
        assert_eq!(e.status(), Some(409));
    }

    #[test]
    fn decodes_oauth_errors_plain_text_and_header_ids() {
        let b = ErrorBody::decode(
            br#"{"error":"invalid_client","error_description":"bad client"}"#,
            None,
        );
        assert_eq!(b.oauth_error.as_deref(), Some("invalid_client"));
        assert_eq!(b.message.as_deref(), Some("bad client"));

        let b = ErrorBody::decode(b"<html>\n Bad   gateway </html>", Some("r-7".into()));
        assert_eq!(b.message.as_deref(), Some("<html> Bad gateway </html>"));
        assert_eq!(b.request_id.as_deref(), Some("r-7"));

        let b = ErrorBody::decode(b"", None);
        assert_eq!(b, ErrorBody::default());

        let b = ErrorBody::decode(
            br#"{"code":"FAILED_PRECONDITION","message":null,"request_id":"top","details":null}"#,
            None,
        );
        assert_eq!(b.code, Some(GRPC_FAILED_PRECONDITION));
        assert_eq!(b.request_id.as_deref(), Some("top"));
        assert_eq!(b.message, None);
    }

    #[test]
    fn reads_retry_after_in_several_forms() {
        let b = ErrorBody::decode(
            br#"{"code":8,"details":[{"error_code":"RATE_LIMIT_EXCEEDED","retry_after":60}]}"#,
            None,
        );
        assert_eq!(b.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(
            duration_secs(&json!("1.5s")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(duration_secs(&json!(-1)), None);
    }

    #[test]
    fn in_use_is_403_or_failed_precondition() {
        let mk = |status, code: Option<i32>| {
            RemoteError::Api(Box::new(ApiError {
                call: call(),
                status,
                body: ErrorBody {
                    code,
                    ..ErrorBody::default()
                },
            }))
        };
        assert!(mk(403, None).is_in_use());
        assert!(mk(400, Some(9)).is_in_use());
        assert!(!mk(400, Some(3)).is_in_use());
        assert!(mk(503, None).is_retryable());
        assert!(!mk(501, None).is_retryable());
        assert!(mk(401, None).is_unauthenticated());
    }
}
