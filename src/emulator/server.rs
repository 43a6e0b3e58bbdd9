//! The HTTP side of the emulator: the accept loop, the routes, and the error shapes.
//!
//! Connections are served with hyper directly rather than through `axum::serve`, because a
//! fault must be able to close one connection without answering: each connection
//! listens on its own kill switch, and dropping the connection future closes the socket.

use super::api_error::{json_response, ApiError};
use super::fault::{FaultKind, Rewrite};
use super::state::{self, Store, StoreError};
use super::validate;
use super::{Config, Fault, Recorded};
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Largest request body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;
const LIST_PATH: &str = "/api/v1/providers";
const CUSTOM_PATH: &str = "/api/v1/custom-providers";
const TOKEN_PATH: &str = "/oauth/token";

/// A fault waiting in the queue, with how many times it has left.
struct Pending {
    fault: Fault,
    left: Option<u32>,
}

/// Everything that changes while the server runs.
pub(crate) struct Inner {
    pub store: Store,
    /// Access token → when it stops being valid.
    tokens: HashMap<String, Instant>,
    /// Every access token ever issued, so that tests can search output for them.
    pub issued: Vec<String>,
    faults: Vec<Pending>,
    pub requests: Vec<Recorded>,
    /// How many recorded requests were cleared: a request's number less this is its index.
    cleared: usize,
    pub writes: usize,
    pub rewrite: Rewrite,
    /// How the connections and connected-accounts endpoints answer.
    pub usage_options: super::usage::UsageOptions,
    /// Usage requests in progress, and the most there ever were at once.
    pub usage_load: super::usage::Load,
    rng: fastrand::Rng,
    /// When each connector was created through the API (for the `lag` fault).
    created_at: HashMap<String, Instant>,
    /// The state file's lock, held from the first change of a batch until it is saved.
    held: Option<super::persist::FileLock>,
    /// Changes made in memory so far (a counter), and how many of them are saved.
    changed: u64,
    saved: u64,
    /// Ranges of changes whose save failed (their requests answer 500).
    failed: Vec<(u64, u64)>,
    /// Answers the `rate-headers` fault has given (what `X-RateLimit-Remaining` counts down).
    rate_answers: u64,
}

/// Put on the response of a change that still has to reach the state file.
#[derive(Clone, Copy)]
struct Unsaved(u64);

impl Inner {
    /// Before a change: with a state file, takes its lock (waiting for other processes) and
    /// rereads what they wrote.
    fn begin_change(&mut self) -> Result<(), ApiError> {
        let Some(path) = self.store.file().map(Path::to_path_buf) else {
            return Ok(());
        };
        if self.held.is_some() {
            return Ok(());
        }
        let lock = super::persist::FileLock::acquire(&path).map_err(state_error)?;
        self.store.refresh().map_err(state_error)?;
        self.held = Some(lock);
        Ok(())
    }

    /// After a change in memory: its number, for [`Shared::persist`].
    fn note_change(&mut self) -> Unsaved {
        self.changed += 1;
        Unsaved(self.changed)
    }

    /// After a request that changed nothing: lets other processes go if nothing waits to be
    /// saved.
    fn end_without_change(&mut self) {
        if self.changed == self.saved {
            self.held = None;
        }
    }

    /// Before a read: rereads the state file if another process changed it (unless this
    /// process is in the middle of a batch, whose changes are newer).
    fn refresh_for_read(&mut self) {
        if self.held.is_none() {
            if let Err(e) = self.store.refresh() {
                tracing::warn!(error = %e, "emulator: could not reread the state file");
            }
        }
    }
}

fn state_error(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "emulator: the state file could not be used");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        13,
        "INTERNAL",
        "the state could not be saved",
    )
}

/// State shared by the server and the [`super::Emulator`] handle.
pub(crate) struct Shared {
    client_id: String,
    client_secret: String,
    max_page_size: usize,
    token_ttl: Duration,
    latency: Duration,
    /// Seconds added to the time in every answer's `Date` header (a server clock that is off).
    clock_skew_secs: i64,
    inner: Mutex<Inner>,
    /// One save at a time; changes that arrive meanwhile are saved together by the next.
    saving: tokio::sync::Mutex<()>,
}

impl Shared {
    pub fn new(config: &Config) -> std::io::Result<Shared> {
        let mut store = Store::open(config.state_file.clone(), config.seed)?;
        if !config.connections.is_empty() {
            let salt = store.salt;
            store.usage.seed(salt, &config.connections);
            store.save()?;
        }
        let mut inner = Inner {
            store,
            tokens: HashMap::new(),
            issued: Vec::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            cleared: 0,
            writes: 0,
            rewrite: config.rewrite.clone(),
            usage_options: config.usage.clone(),
            usage_load: super::usage::Load::default(),
            rng: fastrand::Rng::new(),
            created_at: HashMap::new(),
            held: None,
            changed: 0,
            saved: 0,
            failed: Vec::new(),
            rate_answers: 0,
        };
        for fault in &config.faults {
            inner.push_fault(fault.clone());
        }
        Ok(Shared {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            max_page_size: config.max_page_size.max(1),
            token_ttl: config.token_ttl,
            latency: config.latency,
            clock_skew_secs: config.clock_skew_secs,
            inner: Mutex::new(inner),
            saving: tokio::sync::Mutex::new(()),
        })
    }

    /// Makes sure change number `n` is in the state file. Changes are saved in batches: the
    /// first waiting request writes every change made so far, once, and the others find theirs
    /// saved. A failed save fails every request of its batch and drops their changes from
    /// memory (the file is reread), so that nothing unsaved is ever listed.
    async fn persist(&self, n: u64) -> Result<(), ApiError> {
        let _one_at_a_time = self.saving.lock().await;
        let pending = {
            let mut inner = self.lock();
            if inner.saved >= n {
                None
            } else {
                match inner.store.snapshot() {
                    // No state file: nothing to write.
                    None => {
                        inner.saved = inner.changed;
                        None
                    }
                    Some(snapshot) => Some((inner.saved + 1, inner.changed, snapshot)),
                }
            }
        };
        if let Some((from, upto, (path, snapshot))) = pending {
            // Written without holding the state: requests keep arriving meanwhile, and the
            // next save takes them all at once.
            let written = tokio::task::spawn_blocking(move || snapshot.write(&path))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
            let mut inner = self.lock();
            match written {
                Ok(()) => {
                    inner.store.mark_saved();
                    inner.saved = upto;
                }
                Err(e) => {
                    // Nothing unsaved stays in memory: every change not in the file fails.
                    let upto = inner.changed;
                    inner.failed.push((from, upto));
                    inner.saved = upto;
                    if let Err(r) = inner.store.reload() {
                        tracing::error!(error = %r, "emulator: could not reread the state file");
                    }
                    inner.held = None;
                    return Err(state_error(e));
                }
            }
            if inner.saved == inner.changed {
                inner.held = None;
            }
        }
        let inner = self.lock();
        if inner.failed.iter().any(|(a, b)| (*a..=*b).contains(&n)) {
            return Err(state_error(std::io::Error::other("an earlier save failed")));
        }
        Ok(())
    }

    /// The state, even if a panic (say, in a test's `edit` closure) poisoned the lock.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    pub fn push_fault(&mut self, fault: Fault) {
        let left = fault.times;
        self.faults.push(Pending { fault, left });
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    pub fn pending_faults(&self) -> usize {
        self.faults.len()
    }

    pub fn clear_requests(&mut self) {
        self.cleared += self.requests.len();
        self.requests.clear();
    }

    pub fn expire_tokens(&mut self) {
        let now = Instant::now();
        for expiry in self.tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Takes the first queued fault matching the request, using up one of its times.
    fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let index = self
            .faults
            .iter()
            .position(|p| p.fault.matcher.matches(method, path))?;
        let kind = self.faults[index].fault.kind.clone();
        if let Some(left) = &mut self.faults[index].left {
            *left -= 1;
            if *left == 0 {
                self.faults.remove(index);
            }
        }
        Some(kind)
    }

    fn set_status(&mut self, number: usize, status: u16) {
        if let Some(r) = number
            .checked_sub(self.cleared)
            .and_then(|i| self.requests.get_mut(i))
        {
            r.status = status;
        }
    }
}

/// Serves connections from `listener` until `shutdown` completes.
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, shared.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::debug!(error = %e, "emulator: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let kill = kill.clone();
            async move { Ok::<_, Infallible>(handle(&shared, &kill, req).await) }
        })
    };
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    // `notify_one` stores a permit when nobody waits yet, so a kill is never missed.
    tokio::select! {
        result = conn => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "emulator: connection ended with an error");
            }
        }
        _ = kill.notified() => {
            tracing::debug!("emulator: connection dropped by a fault");
        }
    }
}

/// What a route needs to know about a request.
struct Req {
    method: Method,
    path: String,
    query: String,
    authorization: Option<String>,
    content_type: String,
    body: axum::body::Bytes,
    request_id: String,
    /// A listing leaves out connectors created less than this long ago (`lag` fault).
    lag: Option<Duration>,
}

async fn handle(shared: &Shared, kill: &Notify, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header_str(header::AUTHORIZATION);
    let content_type = header_str(header::CONTENT_TYPE).unwrap_or_default();
    let body = axum::body::to_bytes(Body::new(body), MAX_BODY).await;

    // Never keep the token form: it holds the client secret. Parsed before taking the lock,
    // which every concurrent request needs.
    let json_body = match &body {
        Ok(b) if path != TOKEN_PATH && !b.is_empty() => serde_json::from_slice(b).ok(),
        _ => None,
    };
    // Record the request and pick its fault in one step, under the lock: that fixes the
    // arrival order both share.
    let (number, fault, request_id) = {
        let mut inner = shared.lock();
        let number = inner.cleared + inner.requests.len();
        let fault = inner.take_fault(method.as_str(), &path);
        inner.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            body: json_body,
            status: 0,
            has_authorization: authorization.is_some(),
            fault: fault.clone(),
        });
        if matches!(method, Method::POST | Method::PUT | Method::DELETE)
            && path.starts_with(CUSTOM_PATH)
        {
            inner.writes += 1;
        }
        if super::usage::handles(&path) {
            inner.usage_load.start();
        }
        let request_id = format!("req_{:016x}", inner.rng.u64(..));
        (number, fault, request_id)
    };

    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }

    let body = match body {
        Ok(b) => b,
        Err(_) => {
            let resp = ApiError::invalid(format!(
                "the request body could not be read (limit {MAX_BODY} bytes)"
            ))
            .response(&request_id);
            return finish(shared, number, &method, &path, resp);
        }
    };
    let endless = matches!(fault, Some(FaultKind::EndlessPages))
        && method == Method::GET
        && (path == LIST_PATH
            || path == super::usage::APP_PATH
            || path == super::usage::ACCOUNTS_PATH);
    let query = if endless {
        without_endless_token(&query)
    } else {
        query
    };
    let req = Req {
        method: method.clone(),
        path: path.clone(),
        query,
        authorization,
        content_type,
        body,
        request_id: request_id.clone(),
        lag: match &fault {
            Some(FaultKind::Lag(d)) => Some(*d),
            _ => None,
        },
    };

    let resp = match fault {
        None | Some(FaultKind::Lag(_)) => routed(shared, &req).await,
        Some(FaultKind::Latency(d)) => {
            tokio::time::sleep(d).await;
            routed(shared, &req).await
        }
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => fault_status(status, retry_after, &request_id),
        Some(FaultKind::Drop) => return drop_connection(kill, &method, &path).await,
        Some(FaultKind::Echo { text, cut }) => echo(&req, text, cut),
        Some(FaultKind::LostAnswer { drop_connection: d }) => {
            let done = routed(shared, &req).await;
            tracing::debug!(method = %method, path = %path, status = done.status().as_u16(), "emulator: answer lost by a fault");
            if d {
                return drop_connection(kill, &method, &path).await;
            }
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                14,
                "UNAVAILABLE",
                "upstream connect error or disconnect/reset before headers",
            )
            .response(&request_id)
        }
        Some(FaultKind::RateLimitReset(value)) => {
            let mut resp = fault_status(429, None, &request_id);
            let h = resp.headers_mut();
            h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert("x-ratelimit-reset", v);
            }
            resp
        }
        Some(FaultKind::PageSizeLimit(limit)) => {
            let asked = url::form_urlencoded::parse(req.query.as_bytes())
                .find(|(k, _)| k == "page_size")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            if path == LIST_PATH && asked > limit {
                ApiError::invalid_field("page_size", &format!("must be at most {limit}"))
                    .response(&request_id)
            } else {
                routed(shared, &req).await
            }
        }
        Some(FaultKind::Conflict) => {
            if method == Method::POST && path == CUSTOM_PATH {
                another_writer(shared, &req);
            }
            routed(shared, &req).await
        }
        Some(FaultKind::EndlessPages) => {
            let done = routed(shared, &req).await;
            if endless && done.status().is_success() {
                endless_page(done, number).await
            } else {
                done
            }
        }
        Some(FaultKind::RateHeaders(limit)) => {
            let mut done = routed(shared, &req).await;
            let given = {
                let mut inner = shared.lock();
                inner.rate_answers += 1;
                inner.rate_answers
            };
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
                + 60;
            let h = done.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(limit));
            h.insert(
                "x-ratelimit-remaining",
                HeaderValue::from(limit.saturating_sub(given)),
            );
            h.insert("x-ratelimit-reset", HeaderValue::from(reset));
            done
        }
        Some(
            kind @ (FaultKind::Truncated
            | FaultKind::EmptyAnswer
            | FaultKind::CamelCase
            | FaultKind::IgnoreFilter
            | FaultKind::NoTotal
            | FaultKind::NoIsCustom
            | FaultKind::UnknownKey(_)),
        ) => {
            let done = routed(shared, &req).await;
            if done.status().is_success() {
                reshape(done, &kind).await
            } else {
                done
            }
        }
    };
    finish(shared, number, &method, &path, resp)
}

/// Handles a request and, for a change, waits until it is in the state file.
async fn routed(shared: &Shared, req: &Req) -> Response<Body> {
    let resp = route(shared, req);
    match resp.extensions().get::<Unsaved>().copied() {
        Some(Unsaved(n)) => match shared.persist(n).await {
            Ok(()) => resp,
            Err(e) => e.response(&req.request_id),
        },
        None => resp,
    }
}

/// Stores, as another writer would, a connector with the display name of this create but
/// other content (and another content hash in its metadata).
fn another_writer(shared: &Shared, req: &Req) {
    let Ok(mut value) = serde_json::from_slice::<Value>(&req.body) else {
        return;
    };
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "description".into(),
            Value::String("written by another writer".into()),
        );
        if let Some(Value::Object(m)) = obj.get_mut("metadata") {
            if m.contains_key("skconn_hash") {
                m.insert("skconn_hash".into(), Value::String("0123456789ab".into()));
            }
        }
    }
    let Ok(body) = validate::connector_body(&value) else {
        return;
    };
    let mut inner = shared.lock();
    let body = rewritten(&inner.rewrite, body);
    if inner.store.create(body).is_ok() {
        let _ = inner.store.save();
    }
}

/// The page tokens of the `endless-pages` fault start with this.
const ENDLESS_TOKEN: &str = "endless-";

/// A listing query without a page token of the `endless-pages` fault, so that the first page
/// is answered again.
fn without_endless_token(query: &str) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, v)| !(k == "page_token" && v.starts_with(ENDLESS_TOKEN)))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish()
}

/// A listing answer whose `next_page_token` is a new one, made from the request's number.
async fn endless_page(resp: Response<Body>, number: usize) -> Response<Body> {
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), MAX_BODY * 16)
        .await
        .unwrap_or_default();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "next_page_token".into(),
            Value::String(format!("{ENDLESS_TOKEN}{number}")),
        );
    }
    let mut out = Response::new(Body::from(v.to_string()));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// A success answer reshaped the way a fault says.
async fn reshape(resp: Response<Body>, kind: &FaultKind) -> Response<Body> {
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), MAX_BODY * 16)
        .await
        .unwrap_or_default();
    let text: Vec<u8> = match kind {
        FaultKind::Truncated => bytes[..bytes.len() / 2].to_vec(),
        FaultKind::EmptyAnswer => b"{}".to_vec(),
        FaultKind::CamelCase => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => camel_case(v).to_string().into_bytes(),
            Err(_) => bytes.to_vec(),
        },
        FaultKind::IgnoreFilter => match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v) => {
                if let Some(Value::Array(list)) = v.get_mut("providers") {
                    for (i, p) in state::default_providers().into_iter().enumerate() {
                        list.insert(i, p);
                    }
                }
                v.to_string().into_bytes()
            }
            Err(_) => bytes.to_vec(),
        },
        FaultKind::NoTotal | FaultKind::NoIsCustom | FaultKind::UnknownKey(_) => {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut v) => {
                    listing_quirk(&mut v, kind);
                    v.to_string().into_bytes()
                }
                Err(_) => bytes.to_vec(),
            }
        }
        _ => bytes.to_vec(),
    };
    let mut out = Response::new(Body::from(text));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// A listing answer changed the way a quirk of the contract allows: no count, providers without
/// `is_custom`, or providers with a key the contract does not have.
fn listing_quirk(v: &mut Value, kind: &FaultKind) {
    let Some(obj) = v.as_object_mut() else { return };
    if let FaultKind::NoTotal = kind {
        if obj.contains_key("total_size") {
            obj.insert("total_size".into(), json!(0));
        }
        return;
    }
    let Some(Value::Array(providers)) = obj.get_mut("providers") else {
        return;
    };
    for p in providers.iter_mut().filter_map(Value::as_object_mut) {
        match kind {
            FaultKind::NoIsCustom => {
                p.remove("is_custom");
            }
            FaultKind::UnknownKey(name) => {
                p.insert(
                    name.clone(),
                    Value::String(super::fault::unknown_key_value(name)),
                );
            }
            _ => {}
        }
    }
}

/// The keys of an answer and of its providers in lowerCamelCase (`display_name` →
/// `displayName`); values are left as they are.
fn camel_case(v: Value) -> Value {
    fn key(k: &str) -> String {
        let mut out = String::with_capacity(k.len());
        let mut upper = false;
        for c in k.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }
    fn object(m: Map<String, Value>, deeper: bool) -> Value {
        Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Array(a) if deeper => Value::Array(
                            a.into_iter()
                                .map(|p| match p {
                                    Value::Object(m) => object(m, false),
                                    other => other,
                                })
                                .collect(),
                        ),
                        Value::Object(m) if deeper => object(m, false),
                        other => other,
                    };
                    (key(&k), v)
                })
                .collect(),
        )
    }
    match v {
        Value::Object(m) => object(m, true),
        other => other,
    }
}

fn finish(
    shared: &Shared,
    number: usize,
    method: &Method,
    path: &str,
    mut resp: Response<Body>,
) -> Response<Body> {
    let status = resp.status().as_u16();
    {
        let mut inner = shared.lock();
        inner.set_status(number, status);
        if super::usage::handles(path) {
            inner.usage_load.end();
        }
    }
    tracing::debug!(method = %method, path = %path, status, "emulator");
    if shared.clock_skew_secs != 0 {
        let now = SystemTime::now();
        let skew = Duration::from_secs(shared.clock_skew_secs.unsigned_abs());
        let at = if shared.clock_skew_secs > 0 {
            now.checked_add(skew)
        } else {
            now.checked_sub(skew)
        };
        if let Ok(v) = HeaderValue::from_str(&http_date(at.unwrap_or(now))) {
            resp.headers_mut().insert(header::DATE, v);
        }
    }
    if !resp.headers().contains_key(header::CONTENT_TYPE) {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    resp
}

/// An HTTP date (IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2));
    let (year, month, day, hour, minute, second) = crate::base::time::civil(secs.max(0) as u64);
    format!(
        "{}, {day:02} {} {year} {hour:02}:{minute:02}:{second:02} GMT",
        DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

/// Closes the connection without answering: its serving loop is told to drop it, and this
/// request never completes.
async fn drop_connection(kill: &Notify, method: &Method, path: &str) -> Response<Body> {
    tracing::debug!(method = %method, path = %path, "emulator: dropping the connection");
    kill.notify_one();
    std::future::pending().await
}

fn route(shared: &Shared, req: &Req) -> Response<Body> {
    let path = req.path.as_str();
    if path == TOKEN_PATH {
        if req.method != Method::POST {
            return method_not_allowed(&req.request_id);
        }
        return token(shared, req);
    }
    if !path.starts_with("/api/") {
        return ApiError::not_found(format!("no route for {path}")).response(&req.request_id);
    }
    if let Err(e) = authenticate(shared, req.authorization.as_deref()) {
        return e.response(&req.request_id);
    }
    let result = match path {
        LIST_PATH if req.method == Method::GET => list(shared, req),
        LIST_PATH => return method_not_allowed(&req.request_id),
        CUSTOM_PATH if req.method == Method::POST => create(shared, req),
        CUSTOM_PATH => return method_not_allowed(&req.request_id),
        p if super::usage::handles(p) => {
            if req.method != Method::GET {
                return method_not_allowed(&req.request_id);
            }
            let inner = shared.lock();
            super::usage::list(
                &inner.store.usage,
                &inner.usage_options,
                inner.store.salt,
                p,
                &req.query,
            )
            .map(|v| json_response(StatusCode::OK, &v))
        }
        _ => match path
            .strip_prefix(CUSTOM_PATH)
            .and_then(|p| p.strip_prefix('/'))
        {
            Some(segment) if !segment.is_empty() && !segment.contains('/') => {
                match percent_decode(segment) {
                    None => Err(ApiError::invalid(
                        "the identifier in the path is not valid percent-encoded UTF-8",
                    )),
                    Some(identifier) => match req.method {
                        Method::PUT => update(shared, req, &identifier),
                        Method::DELETE => delete(shared, &identifier),
                        _ => return method_not_allowed(&req.request_id),
                    },
                }
            }
            _ => Err(ApiError::not_found(format!("no route for {path}"))),
        },
    };
    match result {
        Ok(resp) => resp,
        Err(e) => {
            shared.lock().end_without_change();
            e.response(&req.request_id)
        }
    }
}

fn method_not_allowed(request_id: &str) -> Response<Body> {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        12,
        "UNIMPLEMENTED",
        "Method Not Allowed",
    )
    .response(request_id)
}

// ---------------------------------------------------------------------------------------------
// Token

/// An OAuth error: the token endpoint answers in the OAuth shape, not the gRPC one.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn token(shared: &Shared, req: &Req) -> Response<Body> {
    let media_type = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let mut form: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&req.body) {
        if form.insert(k.to_string(), v.to_string()).is_some() {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("parameter {k} is repeated"),
            );
        }
    }
    match form.get("grant_type").map(String::as_str) {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only the client_credentials grant is supported",
            )
        }
    }
    let id_ok = form.get("client_id") == Some(&shared.client_id);
    let secret_ok = form.get("client_secret") == Some(&shared.client_secret);
    if !id_ok || !secret_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let mut inner = shared.lock();
    let now = Instant::now();
    inner.tokens.retain(|_, expiry| *expiry > now);
    let token = format!("skt_{:016x}{:016x}", inner.rng.u64(..), inner.rng.u64(..));
    inner.tokens.insert(token.clone(), now + shared.token_ttl);
    inner.issued.push(token.clone());
    drop(inner);
    let mut resp = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": shared.token_ttl.as_secs(),
            "scope": "openid",
        }),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn authenticate(shared: &Shared, authorization: Option<&str>) -> Result<(), ApiError> {
    let unauthenticated =
        |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, 16, "UNAUTHENTICATED", m);
    let value =
        authorization.ok_or_else(|| unauthenticated("the Authorization header is missing"))?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.is_empty())
        .map(|(_, t)| t.trim())
        .ok_or_else(|| unauthenticated("the Authorization header is not a bearer token"))?;
    let inner = shared.lock();
    match inner.tokens.get(token) {
        None => Err(unauthenticated("the access token is not valid")),
        Some(expiry) if *expiry <= Instant::now() => {
            Err(unauthenticated("the access token has expired"))
        }
        Some(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Providers

fn list(shared: &Shared, req: &Req) -> Result<Response<Body>, ApiError> {
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(req.query.as_bytes()) {
        if !matches!(
            k.as_ref(),
            "filter.provider_type" | "page_size" | "page_token" | "identifier"
        ) {
            return Err(ApiError::invalid_field(
                k.as_ref(),
                "unknown query parameter",
            ));
        }
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ApiError::invalid_field(k.as_ref(), "parameter is repeated"));
        }
    }
    let (defaults, customs) = match params.get("filter.provider_type").map(String::as_str) {
        None | Some("ALL") => (true, true),
        Some("CUSTOM") => (false, true),
        Some("DEFAULT") => (true, false),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "filter.provider_type",
                "must be one of DEFAULT, CUSTOM, ALL",
            ))
        }
    };
    let page_size = match params.get("page_size") {
        None => 0,
        Some(s) => s
            .parse::<u32>()
            .map_err(|_| ApiError::invalid_field("page_size", "must be a non-negative integer"))?
            as usize,
    };
    let page_size = if page_size == 0 {
        shared.max_page_size
    } else {
        page_size.min(shared.max_page_size)
    };
    let mut inner = shared.lock();
    inner.refresh_for_read();
    let inner = inner;
    let salt = inner.store.salt;
    let after = match params.get("page_token").map(String::as_str) {
        None | Some("") => None,
        Some(t) => Some(
            state::parse_page_token(salt, t)
                .ok_or_else(|| ApiError::invalid_field("page_token", "invalid page token"))?,
        ),
    };

    // Only the page served is rendered: rendering every connector for every page made a full
    // listing cost O(N²/page) under the lock, which stalled concurrent requests and dominated
    // large listings.
    let defaults_list = if defaults {
        state::default_providers()
    } else {
        Vec::new()
    };
    let identifier = params.get("identifier").filter(|i| !i.is_empty());
    let wanted = |i: &str| identifier.is_none_or(|want| want == i);
    let mut all: Vec<(u64, Item<'_>)> = defaults_list
        .iter()
        .enumerate()
        .filter(|(_, p)| wanted(p.get("identifier").and_then(Value::as_str).unwrap_or("")))
        .map(|(i, p)| (i as u64 + 1, Item::Default(p)))
        .collect();
    let lagging = |identifier: &str| {
        req.lag.is_some_and(|lag| {
            inner
                .created_at
                .get(identifier)
                .is_some_and(|t| t.elapsed() < lag)
        })
    };
    if customs {
        all.extend(
            inner
                .store
                .items()
                .iter()
                .filter(|s| wanted(&s.identifier) && !lagging(&s.identifier))
                .map(|s| (state::custom_key(s.seq), Item::Custom(s))),
        );
    }

    // Keyset pagination: a token names the last item already seen, so deletes between pages
    // neither skip nor repeat items.
    let start = match after {
        None | Some(0) => 0,
        Some(k) => all.partition_point(|(key, _)| *key <= k),
    };
    let end = (start + page_size).min(all.len());
    let next = if end < all.len() {
        state::page_token(salt, all[end - 1].0)
    } else {
        String::new()
    };
    let prev = if start == 0 {
        String::new()
    } else {
        let prev_start = start.saturating_sub(page_size);
        let after_key = if prev_start == 0 {
            0
        } else {
            all[prev_start - 1].0
        };
        state::page_token(salt, after_key)
    };
    let total = all.len();
    let providers: Vec<Value> = all[start..end]
        .iter()
        .map(|(_, item)| match item {
            Item::Default(p) => (*p).clone(),
            Item::Custom(s) => s.render(),
        })
        .collect();
    drop(inner);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "providers": providers,
            "next_page_token": next,
            "prev_page_token": prev,
            "total_size": total,
        }),
    ))
}

/// One entry of a listing, rendered only if it falls on the page served.
enum Item<'a> {
    Default(&'a Value),
    Custom(&'a state::Stored),
}

/// Parses and validates a create or update body; the rewrite rule applied.
fn connector_body(shared: &Shared, req: &Req) -> Result<Map<String, Value>, ApiError> {
    let media_type = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::invalid(
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    if req.body.is_empty() {
        return Err(ApiError::invalid("the request body is empty"));
    }
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    let body = validate::connector_body(&value).map_err(ApiError::violations)?;
    Ok(rewritten(&shared.lock().rewrite, body))
}

pub(crate) fn rewritten(rule: &Rewrite, body: Map<String, Value>) -> Map<String, Value> {
    let mut value = Value::Object(body);
    rule.apply(&mut value);
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn create(shared: &Shared, req: &Req) -> Result<Response<Body>, ApiError> {
    let body = connector_body(shared, req)?;
    let name = body["display_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut inner = shared.lock();
    inner.begin_change()?;
    let stored = inner
        .store
        .create(body)
        .map_err(|e| store_error(e, &name))?
        .render();
    let unsaved = inner.note_change();
    if let Some(identifier) = stored.get("identifier").and_then(Value::as_str) {
        inner
            .created_at
            .insert(identifier.to_string(), Instant::now());
    }
    Ok(unsaved_response(
        StatusCode::CREATED,
        &json!({ "provider": stored }),
        unsaved,
    ))
}

fn update(shared: &Shared, req: &Req, identifier: &str) -> Result<Response<Body>, ApiError> {
    let body = connector_body(shared, req)?;
    let name = body["display_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut inner = shared.lock();
    inner.begin_change()?;
    let stored = inner
        .store
        .update(identifier, body)
        .map_err(|e| match e {
            StoreError::NotFound => not_found(identifier),
            e => store_error(e, &name),
        })?
        .render();
    let unsaved = inner.note_change();
    Ok(unsaved_response(
        StatusCode::OK,
        &json!({ "provider": stored }),
        unsaved,
    ))
}

fn delete(shared: &Shared, identifier: &str) -> Result<Response<Body>, ApiError> {
    let mut inner = shared.lock();
    inner.begin_change()?;
    let exists = inner
        .store
        .items()
        .iter()
        .any(|s| s.identifier == identifier);
    if exists {
        if let Some(refusal) =
            super::usage::refuse_delete(&inner.store.usage, &inner.usage_options, identifier)
        {
            return Err(refusal);
        }
    }
    inner.store.delete(identifier).map_err(|e| match e {
        StoreError::NotFound => not_found(identifier),
        e => store_error(e, identifier),
    })?;
    let unsaved = inner.note_change();
    Ok(unsaved_response(StatusCode::OK, &json!({}), unsaved))
}

/// A success answer that is sent only once its change is in the state file.
fn unsaved_response(status: StatusCode, body: &Value, unsaved: Unsaved) -> Response<Body> {
    let mut resp = json_response(status, body);
    resp.extensions_mut().insert(unsaved);
    resp
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!("custom provider {identifier} not found"))
}

fn store_error(e: StoreError, display_name: &str) -> ApiError {
    match e {
        StoreError::Duplicate => ApiError::new(
            StatusCode::CONFLICT,
            6,
            "ALREADY_EXISTS",
            format!("a provider with display_name \"{display_name}\" already exists"),
        ),
        StoreError::NotFound => not_found(display_name),
    }
}

/// `%3A` → `:`; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    // percent-encoding passes a bad escape through as it is: the contract refuses it.
    let bytes = s.as_bytes();
    let bad = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if bad {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The answer of an `Echo` fault: the request echoed into an error message.
fn echo(req: &Req, text: bool, cut: Option<usize>) -> Response<Body> {
    let mut target = req.path.clone();
    if !req.query.is_empty() {
        target.push('?');
        target.push_str(&req.query);
    }
    let mut message = format!(
        "{} {target} authorization={} body={}",
        req.method,
        req.authorization.as_deref().unwrap_or_default(),
        String::from_utf8_lossy(&req.body)
    );
    if let Some(n) = cut {
        message = message.chars().take(n).collect();
    }
    if text {
        let mut resp = Response::new(Body::from(message));
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return resp;
    }
    if req.path == TOKEN_PATH {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &message);
    }
    ApiError::invalid(message).response(&req.request_id)
}

/// The answer of a `Status` fault: the gRPC code and error code that go with the HTTP status.
fn fault_status(status: u16, retry_after: Option<u64>, request_id: &str) -> Response<Body> {
    let (code, error_code, message) = match status {
        400 => (3, "INVALID_ARGUMENT", "invalid argument"),
        401 => (16, "UNAUTHENTICATED", "unauthenticated"),
        403 => (7, "PERMISSION_DENIED", "permission denied"),
        404 => (5, "NOT_FOUND", "not found"),
        409 => (6, "ALREADY_EXISTS", "already exists"),
        429 => (8, "RATE_LIMITED", "rate limit exceeded, retry later"),
        500 => (13, "INTERNAL", "internal error"),
        501 => (12, "UNIMPLEMENTED", "not implemented"),
        502 | 503 => (14, "UNAVAILABLE", "service unavailable"),
        504 => (4, "DEADLINE_EXCEEDED", "deadline exceeded"),
        _ if status < 500 => (9, "FAILED_PRECONDITION", "request refused"),
        _ => (2, "UNKNOWN", "server error"),
    };
    let http = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError {
        retry_after,
        ..ApiError::new(http, code, error_code, message)
    }
    .response(request_id)
}

#[cfg(test)]
mod tests {
    use super::{http_date, percent_decode};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn http_dates() {
        let at = |s: u64| http_date(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("my_asana%3A48213").as_deref(),
            Some("my_asana:48213")
        );
        assert_eq!(percent_decode("a:b").as_deref(), Some("a:b"));
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
