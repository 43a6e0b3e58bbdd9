//! A fake GitHub REST API for the `skconn github` tests: a real HTTP server on loopback (axum,
//! on a runtime of its own in a background thread), as strict as GitHub where skconn could get
//! it wrong:
//!
//! - exact paths and methods (anything else is GitHub's 404);
//! - `Authorization` with a configured token (401 "Bad credentials" otherwise, "Requires
//!   authentication" without one) and a `User-Agent` (403 without, as GitHub);
//! - JSON bodies `{"body": "…"}` (400 when not JSON, 422 without `body`, 422 "body is too long"
//!   over 65,536 characters);
//! - pagination by `per_page` (default 30, at most 100) and `page`, with `Link` headers in the
//!   `/repositories/{id}/…` form GitHub sends, which the server also answers;
//! - read-only tokens (a fork's): 403 "Resource not accessible by integration" on every write;
//! - injectable faults: a secondary rate limit with `retry-after`, a primary one with
//!   `x-ratelimit-remaining: 0`, a 502 before or after carrying the request out;
//! - a log of every request (method, path, query, JSON body, status; whether it carried the
//!   token, never the token itself), so that tests assert calls, bodies and counts;
//! - job tokens with a job's `permissions` (403 "Resource not accessible by integration" for a
//!   scope the job was not given, as GitHub answers);
//! - Actions artifacts: listed newest first (`?name=`, paginated), each `…/zip` download a `302`
//!   to a blob URL on another loopback origin that refuses any request carrying an
//!   `Authorization` header, as GitHub's blob storage does, and `410` once expired.
//!
//! It holds one repository: its pull requests, which pull requests each commit belongs to, issue
//! comments (id, body, author login and type) and the artifacts of workflow runs.

#![allow(dead_code)]

use super::fake_server::{self, Faults, Running};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// GitHub's limit on a comment body, in characters.
pub const BODY_LIMIT: usize = 65_536;
/// The bot the job's token writes as.
pub const BOT: &str = "github-actions[bot]";

/// A fault for the next matching requests.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 403 with `retry-after: SECONDS` and GitHub's secondary-rate-limit message.
    SecondaryRateLimit { retry_after: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` SECONDS from now.
    PrimaryRateLimit { reset_in: u64 },
    /// This status, without carrying the request out.
    Status(u16),
    /// Carries the request out, then answers this status (a proxy that lost the answer).
    AfterApplying(u16),
}

/// A pull request of the repository.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub head_sha: String,
    /// `None`: the head's fork was deleted.
    pub head_repo: Option<String>,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
}

/// An issue comment.
#[derive(Debug, Clone)]
pub struct StoredComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub login: String,
    pub user_type: String,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Option<Value>,
    pub status: u16,
    pub had_token: bool,
    pub user_agent: Option<String>,
}

struct Token {
    value: String,
    read_only: bool,
    login: String,
    user_type: String,
    /// A job's token: scope (`contents`, `pull-requests`, `actions`…) → `read` or `write`.
    /// `None`: every scope.
    permissions: Option<BTreeMap<String, String>>,
}

impl Token {
    /// Whether the token may read (or, with `write`, write) one of `scopes`.
    fn allows(&self, scopes: &[&str], write: bool) -> bool {
        let Some(granted) = &self.permissions else {
            return true;
        };
        scopes
            .iter()
            .any(|scope| match granted.get(*scope).map(String::as_str) {
                Some("write") => true,
                Some("read") => !write,
                _ => false,
            })
    }
}

/// An artifact of a workflow run.
#[derive(Debug, Clone)]
pub struct StoredArtifact {
    pub id: u64,
    pub name: String,
    /// The zip archive, as uploaded.
    pub zip: Vec<u8>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    pub expires_at: u64,
    /// Expired by the test whatever `expires_at` says.
    pub expired: bool,
    pub run_id: u64,
    pub head_branch: String,
    pub head_sha: String,
    /// What the blob URL must carry.
    signature: String,
}

impl StoredArtifact {
    fn is_expired(&self) -> bool {
        self.expired || self.expires_at <= now()
    }
}

/// One request to the blob origin.
#[derive(Debug, Clone)]
pub struct BlobRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub had_authorization: bool,
}

struct Inner {
    owner: String,
    name: String,
    repo_id: u64,
    tokens: Vec<Token>,
    pulls: Vec<Pull>,
    commit_pulls: HashMap<String, Vec<u64>>,
    comments: Vec<StoredComment>,
    next_id: u64,
    faults: Faults<Fault>,
    requests: Vec<Recorded>,
    artifacts: Vec<StoredArtifact>,
    next_run_id: u64,
    /// `http://127.0.0.1:PORT` of the blob origin.
    blob_origin: String,
    blob_requests: Vec<BlobRequest>,
}

type Shared = Arc<Mutex<Inner>>;

/// The fake API; stops when dropped.
pub struct FakeGithub {
    addr: SocketAddr,
    token: String,
    shared: Shared,
    _server: Running,
}

impl FakeGithub {
    /// A fake holding the repository `octo/connectors` (id 4242), whose write token writes as
    /// `github-actions[bot]`.
    pub fn start() -> FakeGithub {
        let token = format!("ghs_{:032x}", fastrand::u128(..));
        let shared: Shared = Arc::new(Mutex::new(Inner {
            owner: "octo".into(),
            name: "connectors".into(),
            repo_id: 4242,
            tokens: vec![Token {
                value: token.clone(),
                read_only: false,
                login: BOT.into(),
                user_type: "Bot".into(),
                permissions: None,
            }],
            pulls: Vec::new(),
            commit_pulls: HashMap::new(),
            comments: Vec::new(),
            next_id: 1_000,
            faults: Faults::default(),
            requests: Vec::new(),
            artifacts: Vec::new(),
            next_run_id: 7_000,
            blob_origin: String::new(),
            blob_requests: Vec::new(),
        }));
        let (listener, addr) = fake_server::bind();
        let (blob_listener, blob_addr) = fake_server::bind();
        shared.lock().unwrap().blob_origin = format!("http://{blob_addr}");
        let blob_app = axum::Router::new()
            .fallback(handle_blob)
            .with_state(shared.clone());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        // The blob origin stops with the API.
        let server = Running::serve(listener, app, vec![(blob_listener, blob_app)]);
        FakeGithub {
            addr,
            token,
            shared,
            _server: server,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The API's base URL (`GITHUB_API_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The write token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `owner/name`.
    pub fn repo(&self) -> String {
        let i = self.lock();
        format!("{}/{}", i.owner, i.name)
    }

    /// Adds a token that may read but not write (a fork's pull request).
    pub fn read_only_token(&self) -> String {
        let t = format!("ghs_ro_{:032x}", fastrand::u128(..));
        self.lock().tokens.push(Token {
            value: t.clone(),
            read_only: true,
            login: BOT.into(),
            user_type: "Bot".into(),
            permissions: None,
        });
        t
    }

    /// Adds a workflow job's `GITHUB_TOKEN`: it may do what `permissions` (scope → `read` or
    /// `write`) grant and nothing else; `read_only` (a fork's pull request) turns every write
    /// into a read.
    pub fn job_token(&self, permissions: &BTreeMap<String, String>, read_only: bool) -> String {
        let t = format!("ghs_job_{:032x}", fastrand::u128(..));
        self.lock().tokens.push(Token {
            value: t.clone(),
            read_only,
            login: BOT.into(),
            user_type: "Bot".into(),
            permissions: Some(permissions.clone()),
        });
        t
    }

    /// Adds a token that writes as another bot (a GitHub App's installation token).
    pub fn app_token(&self, login: &str) -> String {
        let t = format!("ghs_app_{:032x}", fastrand::u128(..));
        self.lock().tokens.push(Token {
            value: t.clone(),
            read_only: false,
            login: login.into(),
            user_type: "Bot".into(),
            permissions: None,
        });
        t
    }

    /// Opens a pull request from a branch of this repository.
    pub fn open_pull(&self, number: u64, head_sha: &str) {
        let repo = self.repo();
        self.open_pull_from(number, head_sha, Some(&repo));
    }

    /// Opens a pull request from `head_repo` (a fork's `owner/name`; `None`: a deleted fork).
    pub fn open_pull_from(&self, number: u64, head_sha: &str, head_repo: Option<&str>) {
        let mut i = self.lock();
        i.pulls.retain(|p| p.number != number);
        i.pulls.push(Pull {
            number,
            head_sha: head_sha.into(),
            head_repo: head_repo.map(str::to_string),
            merged: false,
            merge_commit_sha: None,
        });
        i.commit_pulls
            .entry(head_sha.into())
            .or_default()
            .push(number);
    }

    /// Pushes a new head commit to an open pull request.
    pub fn push(&self, number: u64, head_sha: &str) {
        let mut i = self.lock();
        if let Some(p) = i.pulls.iter_mut().find(|p| p.number == number) {
            p.head_sha = head_sha.into();
        }
        i.commit_pulls
            .entry(head_sha.into())
            .or_default()
            .push(number);
    }

    /// Merges a pull request as the commit `merge_sha` (which then lists it).
    pub fn merge(&self, number: u64, merge_sha: &str) {
        let mut i = self.lock();
        if let Some(p) = i.pulls.iter_mut().find(|p| p.number == number) {
            p.merged = true;
            p.merge_commit_sha = Some(merge_sha.into());
        }
        i.commit_pulls
            .entry(merge_sha.into())
            .or_default()
            .push(number);
    }

    /// Lists pull request `number` among those of commit `sha` (without merging it).
    pub fn associate(&self, sha: &str, number: u64) {
        self.lock()
            .commit_pulls
            .entry(sha.into())
            .or_default()
            .push(number);
    }

    /// Adds a comment by `login` (`user_type` `User` or `Bot`).
    pub fn add_comment(&self, issue: u64, login: &str, user_type: &str, body: &str) -> u64 {
        let mut i = self.lock();
        i.next_id += 1;
        let id = i.next_id;
        i.comments.push(StoredComment {
            id,
            issue,
            body: body.into(),
            login: login.into(),
            user_type: user_type.into(),
        });
        id
    }

    /// The comments of an issue, oldest first.
    pub fn comments(&self, issue: u64) -> Vec<StoredComment> {
        self.lock()
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    /// Answers the next `times` requests whose method is `method` and whose path starts with
    /// `path_prefix` with `fault`.
    pub fn fault(&self, method: &str, path_prefix: &str, fault: Fault, times: usize) {
        self.lock().faults.add(method, path_prefix, fault, times);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests other than GET.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    /// A new workflow run's id.
    pub fn next_run_id(&self) -> u64 {
        let mut i = self.lock();
        i.next_run_id += 1;
        i.next_run_id
    }

    /// Stores an artifact of workflow run `run_id` (on `head_branch` at `head_sha`), created now
    /// and kept `retention_days`; returns its id.
    pub fn add_artifact(
        &self,
        run_id: u64,
        head_branch: &str,
        head_sha: &str,
        name: &str,
        zip: Vec<u8>,
        retention_days: u64,
    ) -> u64 {
        let mut i = self.lock();
        i.next_id += 1;
        let created_at = now();
        let artifact = StoredArtifact {
            id: i.next_id,
            name: name.into(),
            zip,
            created_at,
            expires_at: created_at + retention_days * 86_400,
            expired: false,
            run_id,
            head_branch: head_branch.into(),
            head_sha: head_sha.into(),
            signature: format!("{:032x}", fastrand::u128(..)),
        };
        i.artifacts.push(artifact);
        i.next_id
    }

    /// Every artifact, in the order they were stored.
    pub fn artifacts(&self) -> Vec<StoredArtifact> {
        self.lock().artifacts.clone()
    }

    /// Removes an artifact (an upload that overwrites it).
    pub fn delete_artifact(&self, id: u64) {
        self.lock().artifacts.retain(|a| a.id != id);
    }

    /// Makes an artifact expired (listed with `expired: true`, its download `410`).
    pub fn expire_artifact(&self, id: u64) {
        if let Some(a) = self.lock().artifacts.iter_mut().find(|a| a.id == id) {
            a.expired = true;
        }
    }

    /// Moves an artifact's creation (and expiry) `seconds` into the past.
    pub fn age_artifact(&self, id: u64, seconds: u64) {
        if let Some(a) = self.lock().artifacts.iter_mut().find(|a| a.id == id) {
            a.created_at -= seconds;
            a.expires_at -= seconds;
        }
    }

    /// Every request the blob origin received, in order.
    pub fn blob_requests(&self) -> Vec<BlobRequest> {
        self.lock().blob_requests.clone()
    }
}

fn answer(status: u16, headers: &[(&str, String)], body: Value) -> Response<Body> {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json; charset=utf-8");
    for (k, v) in headers {
        r = r.header(*k, HeaderValue::from_str(v).unwrap());
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn message(status: u16, text: &str) -> Response<Body> {
    answer(
        status,
        &[],
        json!({"message": text, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

fn not_found() -> Response<Body> {
    message(404, "Not Found")
}

fn iso(n: u64) -> String {
    format!("2026-01-01T00:{:02}:{:02}Z", (n / 60) % 60, n % 60)
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `2026-05-01T12:00:00Z`, as GitHub writes times.
fn timestamp(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

async fn handle(State(shared): State<Shared>, req: Request<Body>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), 8 << 20)
        .await
        .unwrap_or_default();
    let json_body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
    let token = bearer(&headers);
    let known = token
        .as_deref()
        .and_then(|t| inner.tokens.iter().position(|k| k.value == t));
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Links are absolute, on the host the request was sent to.
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let mut response = route(
        &mut inner,
        &method,
        &path,
        &query,
        &headers,
        &bytes,
        json_body.as_ref(),
        known,
    );
    if let Some(link) = response.headers().get("link").and_then(|v| v.to_str().ok()) {
        let link = link.replace("{host}", &host);
        response
            .headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    inner.requests.push(Recorded {
        method: method.to_string(),
        path,
        query,
        body: json_body,
        status: response.status().as_u16(),
        had_token: known.is_some(),
        user_agent,
    });
    response
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, value) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| value.trim().to_string())
}

#[allow(clippy::too_many_arguments)]
fn route(
    inner: &mut Inner,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    bytes: &[u8],
    body: Option<&Value>,
    token: Option<usize>,
) -> Response<Body> {
    if headers.get("user-agent").is_none() {
        return message(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).",
        );
    }
    if headers.get("authorization").is_none() {
        return message(401, "Requires authentication");
    }
    let Some(token) = token else {
        return message(401, "Bad credentials");
    };
    // Faults, in the order they were added.
    let fault = inner.faults.take(method.as_str(), path);
    match &fault {
        Some(Fault::SecondaryRateLimit { retry_after }) => {
            return answer(
                403,
                &[("retry-after", retry_after.to_string())],
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                       "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            )
        }
        Some(Fault::PrimaryRateLimit { reset_in }) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            return answer(
                403,
                &[
                    ("x-ratelimit-limit", "5000".into()),
                    ("x-ratelimit-remaining", "0".into()),
                    ("x-ratelimit-reset", (now + reset_in).to_string()),
                ],
                json!({"message": "API rate limit exceeded for installation ID 1."}),
            );
        }
        Some(Fault::Status(s)) => return message(*s, "Server Error"),
        _ => {}
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let response = dispatch(inner, method, path, query, host, bytes, body, token);
    match fault {
        Some(Fault::AfterApplying(s)) => message(s, "Server Error"),
        _ => response,
    }
}

/// The paths of the repository, in both forms GitHub answers: `/repos/{owner}/{name}/…` and
/// `/repositories/{id}/…`. Returns what follows the repository.
fn repo_rest<'a>(inner: &Inner, path: &'a str) -> Option<&'a str> {
    let by_name = format!("/repos/{}/{}/", inner.owner, inner.name);
    let by_id = format!("/repositories/{}/", inner.repo_id);
    if path.len() >= by_name.len() && path[..by_name.len()].eq_ignore_ascii_case(&by_name) {
        return Some(&path[by_name.len()..]);
    }
    path.strip_prefix(by_id.as_str())
}

/// The scopes of a job token, any one of which allows a request (GitHub's fine-grained rules).
fn scopes_for(parts: &[&str]) -> &'static [&'static str] {
    match parts {
        ["pulls", ..] => &["pull-requests"],
        ["commits", _, "pulls"] => &["pull-requests"],
        ["issues", ..] => &["issues", "pull-requests"],
        ["actions", ..] => &["actions"],
        _ => &["metadata"],
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    inner: &mut Inner,
    method: &Method,
    path: &str,
    query: &str,
    host: &str,
    bytes: &[u8],
    body: Option<&Value>,
    token: usize,
) -> Response<Body> {
    if method == Method::GET
        && path.eq_ignore_ascii_case(&format!("/repos/{}/{}", inner.owner, inner.name))
    {
        return answer(
            200,
            &[],
            json!({"id": inner.repo_id, "name": inner.name, "full_name": format!("{}/{}", inner.owner, inner.name),
                   "owner": {"login": inner.owner}, "private": false, "default_branch": "main"}),
        );
    }
    let Some(rest) = repo_rest(inner, path) else {
        return not_found();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let write = *method != Method::GET;
    if write && inner.tokens[token].read_only {
        return message(403, "Resource not accessible by integration");
    }
    if !inner.tokens[token].allows(scopes_for(&parts), write) {
        return message(403, "Resource not accessible by integration");
    }
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["actions", "artifacts"]) => {
            let name = query_value(query, "name");
            let items = artifact_list(inner, host, |a| name.as_ref().is_none_or(|n| a.name == *n));
            let keep: Vec<(&str, String)> = name.iter().map(|n| ("name", n.clone())).collect();
            artifacts_page(inner, "actions/artifacts", query, &keep, items)
        }
        ("GET", ["actions", "runs", run, "artifacts"]) => {
            let Ok(run) = run.parse::<u64>() else {
                return not_found();
            };
            let name = query_value(query, "name");
            let items = artifact_list(inner, host, |a| {
                a.run_id == run && name.as_ref().is_none_or(|n| a.name == *n)
            });
            let keep: Vec<(&str, String)> = name.iter().map(|n| ("name", n.clone())).collect();
            artifacts_page(
                inner,
                &format!("actions/runs/{run}/artifacts"),
                query,
                &keep,
                items,
            )
        }
        ("GET", ["actions", "artifacts", id]) => {
            match id
                .parse::<u64>()
                .ok()
                .and_then(|id| inner.artifacts.iter().find(|a| a.id == id))
            {
                Some(a) => answer(200, &[], artifact_json(inner, host, a)),
                None => not_found(),
            }
        }
        ("GET", ["actions", "artifacts", id, "zip"]) => {
            let Some(a) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| inner.artifacts.iter().find(|a| a.id == id))
            else {
                return not_found();
            };
            if a.is_expired() {
                return message(410, "Artifact has expired");
            }
            let location = format!(
                "{}/blob/{}/{}.zip?sig={}",
                inner.blob_origin, a.id, a.name, a.signature
            );
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", HeaderValue::from_str(&location).unwrap())
                .body(Body::empty())
                .unwrap()
        }
        ("GET", ["pulls", n]) => {
            let Some(p) = n
                .parse::<u64>()
                .ok()
                .and_then(|n| inner.pulls.iter().find(|p| p.number == n))
            else {
                return not_found();
            };
            answer(200, &[], pull_json(inner, p, true))
        }
        ("GET", ["commits", sha, "pulls"]) => {
            let numbers = inner.commit_pulls.get(*sha).cloned().unwrap_or_default();
            let items: Vec<Value> = numbers
                .iter()
                .filter_map(|n| inner.pulls.iter().find(|p| p.number == *n))
                .map(|p| pull_json(inner, p, false))
                .collect();
            page(inner, &format!("commits/{sha}/pulls"), query, items)
        }
        ("GET", ["issues", n, "comments"]) => {
            let Ok(n) = n.parse::<u64>() else {
                return not_found();
            };
            if !inner.pulls.iter().any(|p| p.number == n) {
                return not_found();
            }
            let items: Vec<Value> = inner
                .comments
                .iter()
                .filter(|c| c.issue == n)
                .map(|c| comment_json(inner, c))
                .collect();
            page(inner, &format!("issues/{n}/comments"), query, items)
        }
        ("POST", ["issues", n, "comments"]) => {
            let Ok(n) = n.parse::<u64>() else {
                return not_found();
            };
            if !inner.pulls.iter().any(|p| p.number == n) {
                return not_found();
            }
            let text = match comment_body(bytes, body) {
                Ok(t) => t,
                Err(r) => return *r,
            };
            inner.next_id += 1;
            let c = StoredComment {
                id: inner.next_id,
                issue: n,
                body: text,
                login: inner.tokens[token].login.clone(),
                user_type: inner.tokens[token].user_type.clone(),
            };
            let v = comment_json(inner, &c);
            inner.comments.push(c);
            answer(201, &[], v)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let Ok(id) = id.parse::<u64>() else {
                return not_found();
            };
            let text = match comment_body(bytes, body) {
                Ok(t) => t,
                Err(r) => return *r,
            };
            let login = inner.tokens[token].login.clone();
            let Some(i) = inner.comments.iter().position(|c| c.id == id) else {
                return not_found();
            };
            // A bot may edit only its own comments.
            if inner.comments[i].login != login {
                return message(403, "Resource not accessible by integration");
            }
            inner.comments[i].body = text;
            let v = comment_json(inner, &inner.comments[i]);
            answer(200, &[], v)
        }
        _ => not_found(),
    }
}

/// The `body` of a create or update, checked as GitHub does.
fn comment_body(bytes: &[u8], body: Option<&Value>) -> Result<String, Box<Response<Body>>> {
    let Some(v) = body else {
        return Err(Box::new(message(
            if bytes.is_empty() { 422 } else { 400 },
            if bytes.is_empty() {
                "Invalid request.\n\n\"body\" wasn't supplied."
            } else {
                "Problems parsing JSON"
            },
        )));
    };
    let Some(text) = v.get("body").and_then(Value::as_str) else {
        return Err(Box::new(message(
            422,
            "Invalid request.\n\n\"body\" wasn't supplied.",
        )));
    };
    if text.chars().count() > BODY_LIMIT {
        return Err(Box::new(answer(
            422,
            &[],
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                               "message": "body is too long (maximum is 65536 characters)"}],
                   "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment"}),
        )));
    }
    Ok(text.to_string())
}

/// One page of a listing, with GitHub's `Link` header in the `/repositories/{id}/…` form.
fn page(inner: &Inner, rest: &str, query: &str, items: Vec<Value>) -> Response<Body> {
    let (chunk, link) = paginate(inner, rest, query, &[], items);
    let mut r = answer(200, &[], Value::Array(chunk));
    if let Some(link) = link {
        r.headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    r
}

/// A page of artifacts: `{"total_count", "artifacts"}`, with the `Link` header.
fn artifacts_page(
    inner: &Inner,
    rest: &str,
    query: &str,
    keep: &[(&str, String)],
    items: Vec<Value>,
) -> Response<Body> {
    let total = items.len();
    let (chunk, link) = paginate(inner, rest, query, keep, items);
    let mut r = answer(200, &[], json!({"total_count": total, "artifacts": chunk}));
    if let Some(link) = link {
        r.headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    r
}

/// A query parameter's value, percent-decoded.
fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The artifacts `keep` selects, newest first, as GitHub lists them.
fn artifact_list(inner: &Inner, host: &str, keep: impl Fn(&StoredArtifact) -> bool) -> Vec<Value> {
    let mut selected: Vec<&StoredArtifact> = inner.artifacts.iter().filter(|a| keep(a)).collect();
    selected.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
    selected
        .into_iter()
        .map(|a| artifact_json(inner, host, a))
        .collect()
}

fn artifact_json(inner: &Inner, host: &str, a: &StoredArtifact) -> Value {
    let base = format!(
        "http://{host}/repos/{}/{}/actions/artifacts/{}",
        inner.owner, inner.name, a.id
    );
    json!({
        "id": a.id,
        "node_id": format!("MDg6QXJ0aWZhY3Q{}", a.id),
        "name": a.name,
        "size_in_bytes": a.zip.len(),
        "url": base,
        "archive_download_url": format!("{base}/zip"),
        "expired": a.is_expired(),
        "digest": Value::Null,
        "created_at": timestamp(a.created_at),
        "updated_at": timestamp(a.created_at),
        "expires_at": timestamp(a.expires_at),
        "workflow_run": {
            "id": a.run_id,
            "repository_id": inner.repo_id,
            "head_repository_id": inner.repo_id,
            "head_branch": a.head_branch,
            "head_sha": a.head_sha,
        },
    })
}

/// The blob origin: serves an artifact's zip at the signed URL the API redirected to, and
/// refuses any request that carries an `Authorization` header (GitHub's blob storage answers a
/// signed URL only).
async fn handle_blob(State(shared): State<Shared>, req: Request<Body>) -> Response<Body> {
    let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
    let had_authorization = req.headers().contains_key("authorization");
    let path = req.uri().path().to_string();
    let signature = req.uri().query().and_then(|q| query_value(q, "sig"));
    let xml = |status: u16, code: &str, text: &str| {
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", "application/xml")
            .body(Body::from(format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{text}</Message></Error>"
            )))
            .unwrap()
    };
    let found = path
        .strip_prefix("/blob/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| inner.artifacts.iter().find(|a| a.id == id));
    let response = if had_authorization {
        xml(
            400,
            "InvalidAuthenticationInfo",
            "Authentication information is not given in the correct format. Check the value of Authorization header.",
        )
    } else if req.method() != Method::GET {
        xml(
            405,
            "UnsupportedHttpVerb",
            "The resource doesn't support the specified HTTP verb.",
        )
    } else {
        match found {
            Some(a) if signature.as_deref() == Some(a.signature.as_str()) => Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/zip")
                .body(Body::from(a.zip.clone()))
                .unwrap(),
            Some(_) => xml(403, "AuthenticationFailed", "Signature did not match."),
            None => xml(404, "BlobNotFound", "The specified blob does not exist."),
        }
    };
    inner.blob_requests.push(BlobRequest {
        method: req.method().to_string(),
        path,
        status: response.status().as_u16(),
        had_authorization,
    });
    response
}

/// One page of `items` and the `Link` header for the others (keeping the `keep` parameters).
fn paginate(
    inner: &Inner,
    rest: &str,
    query: &str,
    keep: &[(&str, String)],
    items: Vec<Value>,
) -> (Vec<Value>, Option<String>) {
    let mut per_page = 30usize;
    let mut page = 1usize;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("per_page", v)) => per_page = v.parse().unwrap_or(30).clamp(1, 100),
            Some(("page", v)) => page = v.parse().unwrap_or(1).max(1),
            _ => {}
        }
    }
    let pages = items.len().div_ceil(per_page).max(1);
    let chunk: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let kept: String = keep
        .iter()
        .map(|(k, v)| {
            let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={v}&")
        })
        .collect();
    let link = |p: usize, rel: &str| {
        format!(
            "<http://{{host}}/repositories/{}/{rest}?{kept}per_page={per_page}&page={p}>; rel=\"{rel}\"",
            inner.repo_id
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link(page - 1, "prev"));
        links.push(link(1, "first"));
    }
    if page < pages {
        links.push(link(page + 1, "next"));
        links.push(link(pages, "last"));
    }
    (chunk, (!links.is_empty()).then(|| links.join(", ")))
}

fn pull_json(inner: &Inner, p: &Pull, full: bool) -> Value {
    let mut v = json!({
        "number": p.number,
        "state": if p.merged { "closed" } else { "open" },
        "merged_at": if p.merged { Value::from(iso(p.number)) } else { Value::Null },
        "merge_commit_sha": p.merge_commit_sha,
        "head": {"ref": format!("feature-{}", p.number), "sha": p.head_sha,
                 "repo": p.head_repo.as_ref().map(|r| json!({"full_name": r}))},
        "base": {"ref": "main", "repo": {"full_name": format!("{}/{}", inner.owner, inner.name)}},
        "html_url": format!("https://github.com/{}/{}/pull/{}", inner.owner, inner.name, p.number),
    });
    if full {
        v["merged"] = json!(p.merged);
    }
    v
}

fn comment_json(inner: &Inner, c: &StoredComment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_{}", c.id),
        "body": c.body,
        "user": {"login": c.login, "id": c.id % 97, "type": c.user_type},
        "created_at": iso(c.id),
        "updated_at": iso(c.id),
        "html_url": format!("https://github.com/{}/{}/pull/{}#issuecomment-{}", inner.owner, inner.name, c.issue, c.id),
        "author_association": if c.user_type == "Bot" { "NONE" } else { "MEMBER" },
    })
}
