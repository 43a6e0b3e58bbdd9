//! A fake GitLab REST API (v4) for the `skconn gitlab` tests: a real HTTP server on loopback
//! (axum, on a runtime of its own in a background thread), as strict as GitLab where skconn
//! could get it wrong:
//!
//! - exact paths and methods under `/api/v4` (anything else is GitLab's 404);
//! - the `PRIVATE-TOKEN` header with a known token (401 "401 Unauthorized" otherwise; a token
//!   in any other header does not count);
//! - JSON bodies `{"body": "…"}` (400 "body is missing" without one, 400 "Note is too long"
//!   over 1,000,000 characters, as GitLab's note validation says);
//! - pagination by `per_page` (default 20, at most 100) and `page`, with `X-Next-Page`,
//!   `X-Page`, `X-Per-Page`, `X-Total` headers;
//! - a note can be edited by its author only (403 otherwise);
//! - injectable faults: a status before carrying the request out, or after;
//! - a log of every request (method, path, query, JSON body, status; whether it carried a
//!   valid token, never the token itself).
//!
//! It holds one project (id 77, `acme/connectors`): its merge requests, which merge requests
//! each commit belongs to, the merge requests' notes, and the job artifacts of the latest
//! successful pipeline of each branch (`GET /projects/:id/jobs/artifacts/:ref/raw/*path?job=`,
//! which takes a job's `JOB-TOKEN` and answers the file's bytes, or 404).

#![allow(dead_code)]

use super::fake_server::{self, Faults, Running};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// GitLab's limit on a note's body, in characters.
pub const NOTE_LIMIT: usize = 1_000_000;
/// The user the project access token writes as.
pub const BOT: &str = "project_77_bot_5e1f";
pub const PROJECT_ID: u64 = 77;
pub const PROJECT_PATH: &str = "acme/connectors";

/// A fault for the next matching requests.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status, without carrying the request out.
    Status(u16),
    /// Carries the request out, then answers this status (a proxy that lost the answer).
    AfterApplying(u16),
}

/// A merge request of the project.
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub iid: u64,
    pub sha: String,
    pub state: String,
    pub merge_commit_sha: Option<String>,
    pub squash_commit_sha: Option<String>,
}

/// A note on a merge request.
#[derive(Debug, Clone)]
pub struct StoredNote {
    pub id: u64,
    pub iid: u64,
    pub body: String,
    pub author: String,
    pub system: bool,
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
}

struct Inner {
    /// token → username.
    tokens: Vec<(String, String)>,
    mrs: Vec<MergeRequest>,
    commit_mrs: HashMap<String, Vec<u64>>,
    notes: Vec<StoredNote>,
    next_id: u64,
    faults: Faults<Fault>,
    requests: Vec<Recorded>,
    /// (ref, job, path) → the file, from the latest successful pipeline of the ref.
    artifacts: HashMap<(String, String, String), Vec<u8>>,
    job_token: String,
}

type Shared = Arc<Mutex<Inner>>;

/// The fake API; stops when dropped.
pub struct FakeGitlab {
    addr: SocketAddr,
    token: String,
    shared: Shared,
    _server: Running,
}

impl FakeGitlab {
    /// A fake holding the project `acme/connectors` (id 77), whose token writes as [`BOT`].
    pub fn start() -> FakeGitlab {
        let token = format!("glpat-{:020x}", fastrand::u128(..));
        let shared: Shared = Arc::new(Mutex::new(Inner {
            tokens: vec![(token.clone(), BOT.into())],
            mrs: Vec::new(),
            commit_mrs: HashMap::new(),
            notes: Vec::new(),
            next_id: 5_000,
            faults: Faults::default(),
            requests: Vec::new(),
            artifacts: HashMap::new(),
            job_token: format!("glcbt-{:020x}", fastrand::u128(..)),
        }));
        let (listener, addr) = fake_server::bind();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        FakeGitlab {
            addr,
            token,
            shared,
            _server: Running::serve(listener, app, Vec::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The API's base URL (`CI_API_V4_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/api/v4", self.addr)
    }

    /// The project access token (`SKCONN_GITLAB_TOKEN`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The `CI_JOB_TOKEN` of the jobs of a pipeline: it reads artifacts, and nothing else here.
    pub fn job_token(&self) -> String {
        self.lock().job_token.clone()
    }

    /// Keeps the artifacts of a successful pipeline of `git_ref`: they replace that job's
    /// earlier ones (GitLab serves the latest successful pipeline's).
    pub fn keep_artifacts(&self, git_ref: &str, job: &str, files: &[(String, Vec<u8>)]) {
        let mut inner = self.lock();
        inner
            .artifacts
            .retain(|(r, j, _), _| !(r == git_ref && j == job));
        for (path, bytes) in files {
            inner
                .artifacts
                .insert((git_ref.into(), job.into(), path.clone()), bytes.clone());
        }
    }

    /// A file of the artifacts GitLab serves for `job` of the latest successful pipeline.
    pub fn artifact(&self, git_ref: &str, job: &str, path: &str) -> Option<Vec<u8>> {
        self.lock()
            .artifacts
            .get(&(git_ref.into(), job.into(), path.into()))
            .cloned()
    }

    /// Another valid token, writing as `username`.
    pub fn user_token(&self, username: &str) -> String {
        let t = format!("glpat-{:020x}", fastrand::u128(..));
        self.lock().tokens.push((t.clone(), username.into()));
        t
    }

    /// Opens merge request `iid` with head `sha` (its head commit belongs to it).
    pub fn open(&self, iid: u64, sha: &str) {
        let mut inner = self.lock();
        inner.mrs.retain(|m| m.iid != iid);
        inner.mrs.push(MergeRequest {
            iid,
            sha: sha.into(),
            state: "opened".into(),
            merge_commit_sha: None,
            squash_commit_sha: None,
        });
        inner.commit_mrs.entry(sha.into()).or_default().push(iid);
    }

    /// Pushes `sha` to merge request `iid`'s source branch.
    pub fn push(&self, iid: u64, sha: &str) {
        let mut inner = self.lock();
        if let Some(m) = inner.mrs.iter_mut().find(|m| m.iid == iid) {
            m.sha = sha.into();
        }
        inner.commit_mrs.entry(sha.into()).or_default().push(iid);
    }

    /// Merges `iid` with the merge commit `merge_sha` on the default branch.
    pub fn merge(&self, iid: u64, merge_sha: &str) {
        let mut inner = self.lock();
        if let Some(m) = inner.mrs.iter_mut().find(|m| m.iid == iid) {
            m.state = "merged".into();
            m.merge_commit_sha = Some(merge_sha.into());
        }
        inner
            .commit_mrs
            .entry(merge_sha.into())
            .or_default()
            .push(iid);
    }

    /// Lists merge request `iid` among those of commit `sha` too.
    pub fn associate(&self, sha: &str, iid: u64) {
        self.lock()
            .commit_mrs
            .entry(sha.into())
            .or_default()
            .push(iid);
    }

    /// A note written directly (by a person, or a bot other than skconn's).
    pub fn add_note(&self, iid: u64, author: &str, body: &str) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.notes.push(StoredNote {
            id,
            iid,
            body: body.into(),
            author: author.into(),
            system: false,
        });
        id
    }

    /// A system note ("added 1 commit").
    pub fn add_system_note(&self, iid: u64, body: &str) {
        let id = self.add_note(iid, BOT, body);
        let mut inner = self.lock();
        if let Some(n) = inner.notes.iter_mut().find(|n| n.id == id) {
            n.system = true;
        }
    }

    pub fn notes(&self, iid: u64) -> Vec<StoredNote> {
        self.lock()
            .notes
            .iter()
            .filter(|n| n.iid == iid)
            .cloned()
            .collect()
    }

    /// Answers `fault` to the next `times` requests of `method` whose path starts with
    /// `path_prefix` (after `/api/v4`).
    pub fn fault(&self, method: &str, path_prefix: &str, fault: Fault, times: usize) {
        self.lock().faults.add(method, path_prefix, fault, times);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Every request that was not a read.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
}

fn answer(status: u16, headers: &[(&str, String)], body: Value) -> Response<Body> {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, HeaderValue::from_str(v).unwrap());
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn message(status: u16, text: &str) -> Response<Body> {
    answer(status, &[], json!({ "message": text }))
}

fn not_found() -> Response<Body> {
    message(404, "404 Not Found")
}

async fn handle(State(shared): State<Shared>, req: Request<Body>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    let json_body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
    let user = private_token(&headers).and_then(|t| {
        inner
            .tokens
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, u)| u.clone())
    });
    let job_token = headers
        .get("job-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim() == inner.job_token);
    let response = route(
        &mut inner,
        &method,
        &path,
        &query,
        json_body.as_ref(),
        user.as_deref(),
        job_token,
    );
    inner.requests.push(Recorded {
        method: method.to_string(),
        path,
        query,
        body: json_body,
        status: response.status().as_u16(),
        had_token: user.is_some(),
    });
    response
}

fn private_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get("private-token")?
        .to_str()
        .ok()
        .map(|s| s.trim().to_string())
}

fn route(
    inner: &mut Inner,
    method: &Method,
    path: &str,
    query: &str,
    body: Option<&Value>,
    user: Option<&str>,
    job_token: bool,
) -> Response<Body> {
    let Some(rest) = path.strip_prefix("/api/v4") else {
        return not_found();
    };
    let artifacts = format!("/projects/{PROJECT_ID}/jobs/artifacts/");
    if let (Some(rest), true) = (rest.strip_prefix(&artifacts), method == Method::GET) {
        let Some((git_ref, file)) = rest.split_once("/raw/") else {
            return not_found();
        };
        // The job's own token (a project access token could read it too; no job sends one).
        if !job_token {
            return message(401, "401 Unauthorized");
        }
        let job = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("job="))
            .unwrap_or_default();
        return match inner
            .artifacts
            .get(&(git_ref.to_string(), job.to_string(), file.to_string()))
        {
            Some(bytes) => Response::builder()
                .status(200)
                .header("content-type", "application/octet-stream")
                .body(Body::from(bytes.clone()))
                .unwrap(),
            None => message(404, "404 Not found"),
        };
    }
    let Some(user) = user else {
        return message(401, "401 Unauthorized");
    };
    let fault = inner.faults.take(method.as_str(), rest);
    if let Some(Fault::Status(s)) = fault {
        return message(s, "fault");
    }
    let response = dispatch(inner, method, rest, query, body, user);
    match fault {
        Some(Fault::AfterApplying(s)) => message(s, "fault after applying"),
        _ => response,
    }
}

fn dispatch(
    inner: &mut Inner,
    method: &Method,
    rest: &str,
    query: &str,
    body: Option<&Value>,
    user: &str,
) -> Response<Body> {
    if rest == "/user" && method == Method::GET {
        return answer(200, &[], json!({"id": 1, "username": user, "bot": true}));
    }
    let project = format!("/projects/{PROJECT_ID}");
    let Some(rest) = rest.strip_prefix(&project) else {
        return not_found();
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["repository", "commits", sha, "merge_requests"]) => {
            let iids = inner.commit_mrs.get(*sha).cloned().unwrap_or_default();
            let mut seen = Vec::new();
            let items: Vec<Value> = iids
                .into_iter()
                .filter(|i| {
                    let new = !seen.contains(i);
                    seen.push(*i);
                    new
                })
                .filter_map(|i| inner.mrs.iter().find(|m| m.iid == i))
                .map(mr_json)
                .collect();
            page(query, items)
        }
        ("GET", ["merge_requests", iid]) => match find_mr(inner, iid) {
            Some(m) => answer(200, &[], mr_json(m)),
            None => not_found(),
        },
        ("GET", ["merge_requests", iid, "notes"]) => {
            let Some(m) = find_mr(inner, iid) else {
                return not_found();
            };
            let iid = m.iid;
            let mut notes: Vec<&StoredNote> = inner.notes.iter().filter(|n| n.iid == iid).collect();
            // GitLab's default is newest first; skconn asks for oldest first.
            let asc = query.split('&').any(|p| p == "sort=asc");
            if !asc {
                notes.reverse();
            }
            let items = notes.into_iter().map(note_json).collect();
            page(query, items)
        }
        ("POST", ["merge_requests", iid, "notes"]) => {
            let Some(m) = find_mr(inner, iid) else {
                return not_found();
            };
            let iid = m.iid;
            let text = match note_body(body) {
                Ok(t) => t,
                Err(r) => return *r,
            };
            inner.next_id += 1;
            let note = StoredNote {
                id: inner.next_id,
                iid,
                body: text,
                author: user.into(),
                system: false,
            };
            let out = note_json(&note);
            inner.notes.push(note);
            answer(201, &[], out)
        }
        ("PUT", ["merge_requests", iid, "notes", id]) => {
            let Some(m) = find_mr(inner, iid) else {
                return not_found();
            };
            let iid = m.iid;
            let text = match note_body(body) {
                Ok(t) => t,
                Err(r) => return *r,
            };
            let Some(n) = inner
                .notes
                .iter_mut()
                .find(|n| n.iid == iid && id.parse::<u64>().ok() == Some(n.id))
            else {
                return not_found();
            };
            if n.author != user || n.system {
                return message(403, "403 Forbidden");
            }
            n.body = text;
            answer(200, &[], note_json(n))
        }
        _ => not_found(),
    }
}

fn find_mr<'a>(inner: &'a Inner, iid: &str) -> Option<&'a MergeRequest> {
    let iid: u64 = iid.parse().ok()?;
    inner.mrs.iter().find(|m| m.iid == iid)
}

fn note_body(body: Option<&Value>) -> Result<String, Box<Response<Body>>> {
    let Some(text) = body.and_then(|b| b.get("body")).and_then(Value::as_str) else {
        return Err(Box::new(answer(
            400,
            &[],
            json!({"error": "body is missing"}),
        )));
    };
    if text.chars().count() > NOTE_LIMIT {
        return Err(Box::new(answer(
            400,
            &[],
            json!({"message": {"note": ["is too long (maximum is 1000000 characters)"]}}),
        )));
    }
    Ok(text.to_string())
}

/// One page of `items`, with GitLab's pagination headers.
fn page(query: &str, items: Vec<Value>) -> Response<Body> {
    let mut per_page = 20usize;
    let mut page = 1usize;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("per_page", v)) => per_page = v.parse().unwrap_or(20).clamp(1, 100),
            Some(("page", v)) => page = v.parse().unwrap_or(1).max(1),
            _ => {}
        }
    }
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let chunk: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    answer(
        200,
        &[
            ("x-next-page", next),
            ("x-page", page.to_string()),
            ("x-per-page", per_page.to_string()),
            ("x-total", total.to_string()),
            ("x-total-pages", pages.to_string()),
        ],
        Value::Array(chunk),
    )
}

fn mr_json(m: &MergeRequest) -> Value {
    json!({
        "id": 90_000 + m.iid,
        "iid": m.iid,
        "project_id": PROJECT_ID,
        "state": m.state,
        "sha": m.sha,
        "merge_commit_sha": m.merge_commit_sha,
        "squash_commit_sha": m.squash_commit_sha,
        "web_url": format!("https://gitlab.example.com/{PROJECT_PATH}/-/merge_requests/{}", m.iid),
    })
}

fn note_json(n: &StoredNote) -> Value {
    json!({
        "id": n.id,
        "body": n.body,
        "author": {"id": 3, "username": n.author, "name": n.author},
        "system": n.system,
        "noteable_type": "MergeRequest",
        "noteable_iid": n.iid,
    })
}
