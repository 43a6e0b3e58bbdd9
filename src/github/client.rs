//! A client for GitHub's REST API: the few calls skconn makes (a pull request, the pull
//! requests of a commit, an issue's comments, creating and updating one comment, listing a
//! repository's artifacts and downloading one).
//!
//! - Every request carries `Authorization: Bearer <token>`, `User-Agent: skconn/<version>`,
//!   `Accept: application/vnd.github+json` and `X-GitHub-Api-Version: 2022-11-28`.
//! - Retries like the Scalekit client, with its timing (`remote::retry`): 5xx, timeouts and lost
//!   connections (never a create whose outcome is unknown: the caller lists again), and rate
//!   limits — 429, or 403 with `retry-after` or `x-ratelimit-remaining: 0` (secondary and
//!   primary limits), waiting what GitHub asks (at most `--max-wait`).
//! - Listings follow `Link: <…>; rel="next"` as GitHub sends it (absolute URLs, the
//!   `/repositories/{id}/…` form included) on the API's own origin only, at most [`MAX_PAGES`].
//! - Answers are read up to `remote::MAX_ANSWER_BYTES` (32 MiB).
//!
//! - An artifact's download answers with a redirect to GitHub's blob storage on another host:
//!   that one request goes there **without** the token (the storage refuses it, and it must
//!   never leave GitHub's API), to an `https://` URL only (plain `http://` on loopback alone).
//!
//! What it must never do: put the token in a log line, an error or a `Debug` output; send a
//! request body that was not redacted; follow a link to another host; send the token anywhere
//! but the API's own origin.

use super::context::RepoName;
use super::error::{CallInfo, GithubError, StatusError, TransportFailure};
use crate::forge::{path_of, Conn, Kind, Service, PER_PAGE};
use crate::output::secret::Secret;
use crate::remote::retry::{backoff, wait_hint};
use crate::remote::ClientOptions;
use reqwest::header::{HeaderMap, ACCEPT, LINK, LOCATION};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::forge::MAX_PAGES;
/// GitHub's advice when a secondary rate limit names no wait: at least a minute.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// A pull request, as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The head commit (for a merged pull request: its final head).
    pub head_sha: String,
    /// `owner/name` of the head's repository (`None`: a deleted fork).
    pub head_repo: Option<String>,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
}

/// An issue comment, as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// The author's login and account type (`Bot`, `User`, …); empty for a deleted account.
    pub login: String,
    pub user_type: String,
    pub html_url: Option<String>,
}

#[derive(Deserialize)]
struct RawPull {
    number: u64,
    head: RawHead,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

#[derive(Deserialize)]
struct RawHead {
    sha: String,
    #[serde(default)]
    repo: Option<RawRepo>,
}

#[derive(Deserialize)]
struct RawRepo {
    full_name: String,
}

#[derive(Deserialize)]
struct RawComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<RawUser>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct RawUser {
    login: String,
    #[serde(rename = "type", default)]
    kind: String,
}

impl From<RawPull> for PullRequest {
    fn from(p: RawPull) -> PullRequest {
        PullRequest {
            number: p.number,
            head_sha: p.head.sha.to_ascii_lowercase(),
            head_repo: p.head.repo.map(|r| r.full_name),
            // The full object says `merged`; the lists of a commit's pull requests give only
            // `merged_at`.
            merged: p.merged.unwrap_or(false) || p.merged_at.is_some(),
            merge_commit_sha: p.merge_commit_sha.map(|s| s.to_ascii_lowercase()),
        }
    }
}

impl From<RawComment> for Comment {
    fn from(c: RawComment) -> Comment {
        let (login, user_type) = c.user.map(|u| (u.login, u.kind)).unwrap_or_default();
        Comment {
            id: c.id,
            body: c.body.unwrap_or_default(),
            login,
            user_type,
            html_url: c.html_url,
        }
    }
}

/// What GitHub said beside an error status.
#[derive(Default)]
struct Said {
    message: Option<String>,
    documentation_url: Option<String>,
    request_id: Option<String>,
}

type Failure = crate::forge::Failure<Said>;

/// GitHub's retry decisions and their words.
enum Api {}

impl Service for Api {
    type Said = Said;
    type Error = GithubError;

    fn retries(status: u16) -> bool {
        matches!(status, 500 | 502 | 503 | 504)
    }

    fn applied(status: u16) -> bool {
        (500..=599).contains(&status)
    }

    fn throttled(
        failure: &Failure,
        call: CallInfo,
        wait: Duration,
        max_wait: Duration,
    ) -> GithubError {
        tracing::warn!(method = call.method, path = %call.path, status = %failure.label(), attempt = call.attempts,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "giving up: GitHub asked for a wait longer than --max-wait");
        GithubError::Throttled {
            call,
            wait,
            max_wait,
        }
    }

    fn failed(failure: Failure, call: CallInfo, maybe_applied: bool) -> GithubError {
        match failure {
            Failure::Status { status, said, .. } => GithubError::Status(Box::new(StatusError {
                call,
                status,
                message: said.message,
                documentation_url: said.documentation_url,
                request_id: said.request_id,
                maybe_applied,
            })),
            Failure::Transport { kind, detail } => {
                GithubError::Transport(Box::new(TransportFailure {
                    call,
                    kind,
                    detail,
                    maybe_applied,
                }))
            }
        }
    }

    fn giving_up(failure: &Failure, call: &CallInfo, out_of_attempts: bool) {
        tracing::warn!(method = call.method, path = %call.path, error = %failure.label(), attempt = call.attempts,
            "giving up: {}", if out_of_attempts { "no attempts left" } else { "the deadline would pass" });
    }

    fn retrying(failure: &Failure, call: &CallInfo, delay: Duration) {
        if failure.wait().is_some() {
            tracing::warn!(method = call.method, path = %call.path, status = %failure.label(), attempt = call.attempts,
                wait_ms = delay.as_millis() as u64, "rate limited by GitHub; retrying after the wait it asked for");
        } else {
            tracing::warn!(method = call.method, path = %call.path, error = %failure.label(), attempt = call.attempts,
                wait_ms = delay.as_millis() as u64, "request failed; retrying");
        }
    }
}

/// A client for one GitHub API (github.com or a GitHub Enterprise Server).
pub struct Github {
    conn: Conn,
    api: url::Url,
}

impl std::fmt::Debug for Github {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Github")
            .field("api", &self.conn.base)
            .finish_non_exhaustive()
    }
}

/// A success answer.
struct Answer {
    body: Vec<u8>,
    call: CallInfo,
    /// The `rel="next"` link, when there is one.
    next: Option<String>,
    /// Where a redirect points (only for [`Kind::Redirect`] requests).
    location: Option<String>,
}

/// One attempt's success: the body, the next-page link, the redirect target.
type Attempted = (Vec<u8>, Option<String>, Option<String>);

/// An artifact of a workflow run, as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: u64,
    pub name: String,
    pub size_in_bytes: u64,
    pub expired: bool,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// The run that uploaded it.
    pub run_id: Option<u64>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    /// The run's repository and the repository of its head (they differ for a fork's pull
    /// request).
    pub repository_id: Option<u64>,
    pub head_repository_id: Option<u64>,
}

#[derive(Deserialize)]
struct RawArtifact {
    id: u64,
    name: String,
    #[serde(default)]
    size_in_bytes: u64,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    workflow_run: Option<RawRun>,
}

#[derive(Deserialize)]
struct RawRun {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    repository_id: Option<u64>,
    #[serde(default)]
    head_repository_id: Option<u64>,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
}

impl From<RawArtifact> for Artifact {
    fn from(a: RawArtifact) -> Artifact {
        let run = a.workflow_run;
        Artifact {
            id: a.id,
            name: a.name,
            size_in_bytes: a.size_in_bytes,
            expired: a.expired,
            created_at: a.created_at,
            run_id: run.as_ref().and_then(|r| r.id),
            head_branch: run.as_ref().and_then(|r| r.head_branch.clone()),
            head_sha: run.as_ref().and_then(|r| r.head_sha.clone()),
            repository_id: run.as_ref().and_then(|r| r.repository_id),
            head_repository_id: run.as_ref().and_then(|r| r.head_repository_id),
        }
    }
}

impl Github {
    /// A client for the API at `api` (checked by `context`). Sends nothing.
    pub fn new(
        api: &url::Url,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Github, GithubError> {
        Ok(Github {
            conn: Conn::new(api, token, options).map_err(GithubError::Context)?,
            api: api.clone(),
        })
    }

    /// How many times a caller may repeat a create it checks itself (`--max-attempts`).
    pub fn max_attempts(&self) -> u32 {
        self.conn.max_attempts()
    }

    /// The wait before try number `retry + 1` of a request the caller repeats itself.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.conn.backoff(retry)
    }

    /// `GET /repos/{owner}/{repo}/pulls/{number}`.
    pub async fn pull_request(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<PullRequest, GithubError> {
        let url = format!("{}{}/pulls/{number}", self.conn.base, repo.api_path());
        let answer = self.send(Method::GET, &url, None, Kind::Read).await?;
        decode::<RawPull>(&answer).map(PullRequest::from)
    }

    /// The pull requests a commit belongs to (`GET /repos/{owner}/{repo}/commits/{sha}/pulls`),
    /// every page.
    pub async fn pulls_of_commit(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GithubError> {
        let path = format!("{}/commits/{sha}/pulls", repo.api_path());
        let items: Vec<RawPull> = self.list(&path).await?;
        Ok(items.into_iter().map(PullRequest::from).collect())
    }

    /// Every comment of a pull request (`GET /repos/{owner}/{repo}/issues/{number}/comments`),
    /// every page, oldest first.
    pub async fn comments(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<Vec<Comment>, GithubError> {
        let path = format!("{}/issues/{number}/comments", repo.api_path());
        let items: Vec<RawComment> = self.list(&path).await?;
        Ok(items.into_iter().map(Comment::from).collect())
    }

    /// `POST /repos/{owner}/{repo}/issues/{number}/comments`. Not retried after an ambiguous
    /// failure ([`GithubError::may_have_been_applied`]): list again instead.
    pub async fn create_comment(
        &self,
        repo: &RepoName,
        number: u64,
        body: &str,
    ) -> Result<Comment, GithubError> {
        let url = format!(
            "{}{}/issues/{number}/comments",
            self.conn.base,
            repo.api_path()
        );
        let payload = serde_json::json!({ "body": crate::output::secret::redact(body) });
        let answer = self
            .send(Method::POST, &url, Some(&payload), Kind::Create)
            .await?;
        decode::<RawComment>(&answer).map(Comment::from)
    }

    /// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`: replaces the comment's body.
    pub async fn update_comment(
        &self,
        repo: &RepoName,
        id: u64,
        body: &str,
    ) -> Result<Comment, GithubError> {
        let url = format!("{}{}/issues/comments/{id}", self.conn.base, repo.api_path());
        let payload = serde_json::json!({ "body": crate::output::secret::redact(body) });
        let answer = self
            .send(Method::PATCH, &url, Some(&payload), Kind::Change)
            .await?;
        decode::<RawComment>(&answer).map(Comment::from)
    }

    /// A repository's artifacts named `name`, every page, as GitHub lists them (newest first)
    /// (`GET /repos/{owner}/{repo}/actions/artifacts?name=…`).
    pub async fn artifacts(
        &self,
        repo: &RepoName,
        name: &str,
    ) -> Result<Vec<Artifact>, GithubError> {
        let path = format!("{}/actions/artifacts", repo.api_path());
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("name", name)
            .finish();
        let items: Vec<RawArtifact> = self.list_in(&path, &query, Some("artifacts")).await?;
        Ok(items.into_iter().map(Artifact::from).collect())
    }

    /// An artifact's zip archive: `GET /repos/{owner}/{repo}/actions/artifacts/{id}/zip`
    /// answers with a redirect to the blob storage, which is then read without the token.
    pub async fn download_artifact(
        &self,
        repo: &RepoName,
        id: u64,
    ) -> Result<Vec<u8>, GithubError> {
        let url = format!(
            "{}{}/actions/artifacts/{id}/zip",
            self.conn.base,
            repo.api_path()
        );
        let answer = self.send(Method::GET, &url, None, Kind::Redirect).await?;
        let Some(location) = answer.location.clone() else {
            // Some servers answer with the archive itself.
            return Ok(answer.body);
        };
        let target = url::Url::parse(&url)
            .and_then(|u| u.join(&location))
            .map_err(|e| unusable(&answer, format!("its redirect is not a URL ({e})")))?;
        let safe = target.scheme() == "https"
            || (target.scheme() == "http" && crate::remote::is_loopback(&target));
        if !safe || !target.username().is_empty() || target.password().is_some() {
            return Err(unusable(
                &answer,
                format!(
                    "it redirects to {}, which is not an https:// URL; skconn does not follow it",
                    crate::output::escape::inert(target.origin().ascii_serialization().as_str())
                ),
            ));
        }
        self.blob(&target).await
    }

    /// Reads a blob-storage URL, without the token, retrying 5xx and lost connections.
    async fn blob(&self, target: &url::Url) -> Result<Vec<u8>, GithubError> {
        let started = Instant::now();
        let deadline = started + self.conn.options.deadline;
        let info = |attempts| CallInfo {
            method: "GET",
            path: format!("{} (the artifact's storage)", target.path()),
            attempts,
            elapsed: started.elapsed(),
        };
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let timeout = crate::forge::attempt_timeout(&self.conn.options, deadline);
            // No Authorization header: the token stays with the API.
            let sent = self
                .conn
                .http
                .get(target.clone())
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| crate::remote::classify_transport(&e, timeout));
            let failure = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match crate::remote::read_capped(response, timeout).await {
                        Ok(bytes) if (200..300).contains(&status) => return Ok(bytes),
                        Ok(_) => Failure::Status {
                            status,
                            wait: None,
                            said: Said::default(),
                        },
                        Err((kind, detail)) => Failure::Transport { kind, detail },
                    }
                }
                Err((kind, detail)) => Failure::Transport { kind, detail },
            };
            let delay = backoff(
                attempts,
                self.conn.options.base_backoff,
                self.conn.options.max_backoff,
            );
            let left = deadline.saturating_duration_since(Instant::now());
            if !failure.retryable(Kind::Read, Api::retries)
                || attempts >= self.max_attempts()
                || delay >= left
            {
                return Err(Api::failed(failure, info(attempts), false));
            }
            tracing::warn!(error = %failure.label(), attempt = attempts, wait_ms = delay.as_millis() as u64,
                "reading the artifact failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Every item of a listing, following `rel="next"` links.
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, GithubError> {
        self.list_in(path, "", None).await
    }

    /// Every item of a listing with `query` (URL-encoded), following `rel="next"` links; each
    /// page is an array, or an object holding it under `field`.
    async fn list_in<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
        field: Option<&str>,
    ) -> Result<Vec<T>, GithubError> {
        let query = crate::forge::query_prefix(query);
        let mut url = format!("{}{path}?{query}per_page={PER_PAGE}", self.conn.base);
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            seen.insert(url.clone());
            let answer = self.send(Method::GET, &url, None, Kind::Read).await?;
            let items: Vec<T> = match field {
                None => decode(&answer)?,
                Some(f) => {
                    let mut page: Value = decode(&answer)?;
                    let list = page
                        .get_mut(f)
                        .map(Value::take)
                        .ok_or_else(|| unusable(&answer, format!("it has no `{f}` list")))?;
                    serde_json::from_value(list).map_err(|e| {
                        unusable(
                            &answer,
                            format!("its `{f}` are not the JSON GitHub documents ({e})"),
                        )
                    })?
                }
            };
            out.extend(items);
            let Some(next) = answer.next.clone() else {
                tracing::debug!(path, pages = page, items = out.len(), "listed");
                return Ok(out);
            };
            let next = self
                .follow(&url, &next)
                .map_err(|detail| unusable(&answer, detail))?;
            if seen.contains(&next) {
                return Err(unusable(
                    &answer,
                    format!("its next-page link repeats a page already read (after {page} pages); stopping instead of listing forever"),
                ));
            }
            url = next;
        }
        Err(GithubError::Unusable {
            call: format!("GET {path}"),
            detail: crate::forge::too_many_pages(),
        })
    }

    /// The URL of a `rel="next"` link, resolved against the page it came from, when it stays on
    /// the API's origin and under its path.
    fn follow(&self, current: &str, link: &str) -> Result<String, String> {
        let base = url::Url::parse(current).map_err(|e| e.to_string())?;
        let next = base
            .join(link)
            .map_err(|e| format!("its next-page link is not a URL ({e})"))?;
        let prefix = self.api.path().trim_end_matches('/');
        let same_origin = next.origin() == self.api.origin();
        if !same_origin || !next.path().starts_with(prefix) {
            return Err(format!(
                "its next-page link leaves the API ({}); skconn does not follow it",
                crate::output::escape::inert(next.origin().ascii_serialization().as_str())
            ));
        }
        Ok(next.to_string())
    }

    /// Sends a request with the retry policy of the module docs.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Answer, GithubError> {
        let ((body, next, location), call) = crate::forge::send::<Api, _, _, _>(
            &self.conn.options,
            method_name(&method),
            url,
            kind,
            |deadline| self.attempt(&method, url, body, deadline, kind),
        )
        .await?;
        Ok(Answer {
            body,
            call,
            next,
            location,
        })
    }

    /// One attempt: the answer's body, next-page link and (for a [`Kind::Redirect`] request)
    /// redirect target, or how it failed.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        deadline: Instant,
        kind: Kind,
    ) -> Result<Attempted, Failure> {
        let timeout = crate::forge::attempt_timeout(&self.conn.options, deadline);
        let request = self
            .conn
            .http
            .request(method.clone(), url)
            .bearer_auth(self.conn.token.expose())
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .timeout(timeout);
        let (status, headers, bytes) = crate::forge::exchange(request, body, timeout).await?;
        tracing::debug!(method = %method, path = %path_of(url), status, "github request");
        if (200..300).contains(&status) {
            return Ok((bytes, next_link(&headers), None));
        }
        if kind == Kind::Redirect && matches!(status, 301 | 302 | 303 | 307 | 308) {
            if let Some(to) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) {
                return Ok((Vec::new(), None, Some(to.trim().to_string())));
            }
        }
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        let text = |k: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .map(|s| crate::output::escape::inert(s).into_owned())
        };
        let message = text("message");
        Err(Failure::Status {
            status,
            wait: rate_limit_wait(status, &headers, message.as_deref()),
            said: Said {
                documentation_url: text("documentation_url"),
                request_id: headers
                    .get("x-github-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(|s| crate::output::escape::inert(s.trim()).into_owned()),
                message,
            },
        })
    }
}

/// How long to wait when an error answer is one of GitHub's rate limits: 429, or 403 with
/// `retry-after`, with `x-ratelimit-remaining: 0`, or saying so. `None` when it is not one.
fn rate_limit_wait(status: u16, headers: &HeaderMap, message: Option<&str>) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    let hint = wait_hint(headers, None);
    let says_so = message.is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"));
    match hint {
        Some(h) => Some(h),
        None if says_so || status == 429 => Some(SECONDARY_WAIT),
        None => None,
    }
}

/// The `rel="next"` target of a `Link` header, e.g.
/// `<https://api.github.com/repositories/1/issues/2/comments?page=2>; rel="next", <…>; rel="last"`.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_of)
}

fn next_of(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches(|c| c == '"' || c == ',' || c == ' ')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_string());
        }
        rest = &after[params_end..];
    }
}

fn decode<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, GithubError> {
    serde_json::from_slice(&answer.body)
        .map_err(|e| unusable(answer, format!("it is not the JSON GitHub documents ({e})")))
}

fn unusable(answer: &Answer, detail: String) -> GithubError {
    GithubError::Unusable {
        call: answer.call.to_string(),
        detail,
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_next_link_is_found_in_githubs_forms() {
        let h = "<https://api.github.com/repositories/1300192/issues/3/comments?page=2&per_page=100>; rel=\"next\", <https://api.github.com/repositories/1300192/issues/3/comments?page=5&per_page=100>; rel=\"last\"";
        assert_eq!(
            next_of(h).unwrap(),
            "https://api.github.com/repositories/1300192/issues/3/comments?page=2&per_page=100"
        );
        let h = "<https://x/?page=1>; rel=\"prev\", <https://x/?page=3>; rel=\"next\"";
        assert_eq!(next_of(h).unwrap(), "https://x/?page=3");
        assert_eq!(
            next_of("<https://x/?page=3>; rel=next").unwrap(),
            "https://x/?page=3"
        );
        assert_eq!(
            next_of("<https://x/?page=3>; rel=\"prev last\"").as_deref(),
            None
        );
        assert_eq!(next_of("garbage").as_deref(), None);
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            HeaderValue::from_static("<https://x/?page=9>; rel=\"last\""),
        );
        headers.append(
            LINK,
            HeaderValue::from_static("<https://x/?page=2>; rel=\"next\""),
        );
        assert_eq!(next_link(&headers).unwrap(), "https://x/?page=2");
    }

    #[test]
    fn links_stay_on_the_api() {
        let api = url::Url::parse("https://ghe.example.com/api/v3").unwrap();
        let gh = Github::new(
            &api,
            Secret::new("unit-test-token-1"),
            ClientOptions::default(),
        )
        .unwrap();
        let here = "https://ghe.example.com/api/v3/repos/o/r/issues/1/comments?per_page=100";
        assert_eq!(
            gh.follow(
                here,
                "https://ghe.example.com/api/v3/repositories/7/issues/1/comments?page=2"
            )
            .unwrap(),
            "https://ghe.example.com/api/v3/repositories/7/issues/1/comments?page=2"
        );
        assert!(gh
            .follow(here, "https://evil.example.com/api/v3/x?page=2")
            .is_err());
        assert!(gh
            .follow(here, "http://ghe.example.com/api/v3/x?page=2")
            .is_err());
        assert!(gh
            .follow(here, "https://ghe.example.com/other?page=2")
            .is_err());
    }

    #[test]
    fn rate_limits_are_told_apart_from_refusals() {
        let mut h = HeaderMap::new();
        assert_eq!(
            rate_limit_wait(403, &h, Some("Resource not accessible by integration")),
            None
        );
        assert_eq!(rate_limit_wait(404, &h, Some("rate limit")), None);
        assert_eq!(
            rate_limit_wait(403, &h, Some("You have exceeded a secondary rate limit")),
            Some(SECONDARY_WAIT)
        );
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(rate_limit_wait(403, &h, None), Some(Duration::from_secs(3)));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("2"));
        assert_eq!(rate_limit_wait(429, &h, None), Some(Duration::from_secs(2)));
    }
}
