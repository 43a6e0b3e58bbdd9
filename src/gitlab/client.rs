//! A client for GitLab's REST API (v4): the few calls skconn makes (the token's user, a merge
//! request, the merge requests of a commit, a merge request's notes, creating and updating
//! one note, one file of a job's artifacts).
//!
//! - Every request carries `PRIVATE-TOKEN: <token>` (or, for a client of the job's own token,
//!   `JOB-TOKEN: <token>`, which only reads artifacts) and `User-Agent: skconn/<version>`.
//! - Retries with the Scalekit client's timing (`remote::retry`): 5xx, timeouts and lost
//!   connections (never a create whose outcome is unknown: the caller lists again), and 429,
//!   waiting what GitLab asks (`Retry-After`, `RateLimit-Reset`; at most `--max-wait`).
//! - Listings follow `X-Next-Page` (`page`, `per_page=100`), at most [`MAX_PAGES`] pages;
//!   answers are read up to `remote::MAX_ANSWER_BYTES` (32 MiB).
//!
//! What it must never do: put the token in a log line, an error or a `Debug` output; send a
//! request body that was not redacted; follow a redirect; send the token anywhere but the
//! API's own origin.

use super::GitlabError;
use crate::forge::{CallInfo, Conn, Kind, Service, PER_PAGE};
use crate::output::secret::Secret;
use crate::remote::retry::wait_hint;
use crate::remote::ClientOptions;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

pub use crate::forge::MAX_PAGES;

/// A merge request, as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub iid: u64,
    /// Its head commit (for a merged one: the head that was merged).
    pub sha: String,
    /// `opened`, `merged`, `closed`, …
    pub state: String,
    pub merge_commit_sha: Option<String>,
    pub squash_commit_sha: Option<String>,
    pub web_url: Option<String>,
}

/// A note on a merge request, as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: u64,
    pub body: String,
    /// The author's username; empty when GitLab names none.
    pub author: String,
    /// A note GitLab itself wrote ("added 1 commit").
    pub system: bool,
}

#[derive(Deserialize)]
struct RawMergeRequest {
    iid: u64,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    squash_commit_sha: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Deserialize)]
struct RawNote {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    author: Option<RawUser>,
    #[serde(default)]
    system: bool,
}

#[derive(Deserialize)]
struct RawUser {
    username: String,
}

impl From<RawMergeRequest> for MergeRequest {
    fn from(m: RawMergeRequest) -> MergeRequest {
        let lower = |s: Option<String>| s.map(|s| s.to_ascii_lowercase());
        MergeRequest {
            iid: m.iid,
            sha: m.sha.unwrap_or_default().to_ascii_lowercase(),
            state: m.state,
            merge_commit_sha: lower(m.merge_commit_sha),
            squash_commit_sha: lower(m.squash_commit_sha),
            web_url: m.web_url,
        }
    }
}

impl From<RawNote> for Note {
    fn from(n: RawNote) -> Note {
        Note {
            id: n.id,
            body: n.body.unwrap_or_default(),
            author: n.author.map(|a| a.username).unwrap_or_default(),
            system: n.system,
        }
    }
}

/// How one attempt failed; beside its status, GitLab's `message` (made inert).
type Failure = crate::forge::Failure<Option<String>>;

/// GitLab's retry decisions and their words.
enum Api {}

impl Service for Api {
    type Said = Option<String>;
    type Error = GitlabError;

    fn retries(status: u16) -> bool {
        status >= 500
    }

    fn applied(status: u16) -> bool {
        status >= 500
    }

    fn throttled(_: &Failure, call: CallInfo, wait: Duration, max_wait: Duration) -> GitlabError {
        GitlabError::Throttled {
            call,
            wait,
            max_wait,
        }
    }

    fn failed(failure: Failure, call: CallInfo, maybe_applied: bool) -> GitlabError {
        match failure {
            Failure::Status {
                status,
                said: message,
                ..
            } => GitlabError::Status {
                call,
                status,
                message,
                maybe_applied,
            },
            Failure::Transport { kind, detail } => GitlabError::Transport {
                call,
                kind,
                detail,
                maybe_applied,
            },
        }
    }

    fn giving_up(_: &Failure, _: &CallInfo, _: bool) {}

    fn retrying(_: &Failure, call: &CallInfo, delay: Duration) {
        tracing::warn!(method = call.method, path = %call.path, attempt = call.attempts,
            wait_ms = delay.as_millis() as u64, "GitLab request failed; retrying");
    }
}

/// A client for one GitLab API (gitlab.com or a self-managed GitLab).
pub struct Gitlab {
    conn: Conn,
    /// `PRIVATE-TOKEN`, or `JOB-TOKEN` for the job's own token.
    header: &'static str,
}

impl std::fmt::Debug for Gitlab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gitlab")
            .field("base", &self.conn.base)
            .finish_non_exhaustive()
    }
}

struct Answer {
    body: Vec<u8>,
    call: CallInfo,
    next_page: Option<u64>,
}

impl Gitlab {
    /// A client for the API at `api` (checked by `context`). Sends nothing.
    pub fn new(
        api: &url::Url,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Gitlab, GitlabError> {
        Ok(Gitlab {
            conn: Conn::new(api, token, options).map_err(GitlabError::Context)?,
            header: "PRIVATE-TOKEN",
        })
    }

    /// A client that sends the job's own token (`CI_JOB_TOKEN`) as `JOB-TOKEN`.
    pub fn with_job_token(
        api: &url::Url,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Gitlab, GitlabError> {
        let mut gl = Gitlab::new(api, token, options)?;
        gl.header = "JOB-TOKEN";
        Ok(gl)
    }

    /// `GET /projects/:id/jobs/artifacts/:ref/raw/*path?job=NAME`: one file of the artifacts of
    /// job `job` in the latest successful pipeline of `git_ref`; `None` when GitLab has none
    /// (404).
    pub async fn artifact_file(
        &self,
        project: &str,
        git_ref: &str,
        path: &str,
        job: &str,
    ) -> Result<Option<Vec<u8>>, GitlabError> {
        let file: Vec<String> = path.split('/').map(crate::remote::encode_segment).collect();
        let url = format!(
            "{}{}/jobs/artifacts/{}/raw/{}?job={}",
            self.conn.base,
            Self::project_path(project),
            crate::remote::encode_segment(git_ref),
            file.join("/"),
            crate::remote::encode_segment(job)
        );
        match self.send(Method::GET, &url, None, Kind::Read).await {
            Ok(answer) => Ok(Some(answer.body)),
            Err(GitlabError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// How many times a caller may repeat a create it checks itself (`--max-attempts`).
    pub fn max_attempts(&self) -> u32 {
        self.conn.max_attempts()
    }

    /// The wait before try number `retry + 1` of a request the caller repeats itself.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.conn.backoff(retry)
    }

    fn project_path(project: &str) -> String {
        format!("/projects/{}", crate::remote::encode_segment(project))
    }

    /// `GET /user`: the username the token writes as.
    pub async fn username(&self) -> Result<String, GitlabError> {
        let answer = self
            .send(
                Method::GET,
                &format!("{}/user", self.conn.base),
                None,
                Kind::Read,
            )
            .await?;
        let user: RawUser = decode(&answer)?;
        Ok(user.username)
    }

    /// `GET /projects/:id/merge_requests/:iid`.
    pub async fn merge_request(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<MergeRequest, GitlabError> {
        let url = format!(
            "{}{}/merge_requests/{iid}",
            self.conn.base,
            Self::project_path(project)
        );
        let answer = self.send(Method::GET, &url, None, Kind::Read).await?;
        Ok(decode::<RawMergeRequest>(&answer)?.into())
    }

    /// `GET /projects/:id/repository/commits/:sha/merge_requests`, every page.
    pub async fn merge_requests_of_commit(
        &self,
        project: &str,
        sha: &str,
    ) -> Result<Vec<MergeRequest>, GitlabError> {
        let path = format!(
            "{}/repository/commits/{sha}/merge_requests",
            Self::project_path(project)
        );
        let raw: Vec<RawMergeRequest> = self.list(&path, "").await?;
        Ok(raw.into_iter().map(Into::into).collect())
    }

    /// `GET /projects/:id/merge_requests/:iid/notes`, oldest first, every page.
    pub async fn notes(&self, project: &str, iid: u64) -> Result<Vec<Note>, GitlabError> {
        let path = format!("{}/merge_requests/{iid}/notes", Self::project_path(project));
        let raw: Vec<RawNote> = self.list(&path, "sort=asc&order_by=created_at").await?;
        Ok(raw.into_iter().map(Into::into).collect())
    }

    /// `POST /projects/:id/merge_requests/:iid/notes` (never repeated after an ambiguous
    /// failure: the caller lists again).
    pub async fn create_note(
        &self,
        project: &str,
        iid: u64,
        body: &str,
    ) -> Result<Note, GitlabError> {
        let url = format!(
            "{}{}/merge_requests/{iid}/notes",
            self.conn.base,
            Self::project_path(project)
        );
        let body = json!({"body": crate::output::secret::redact(body)});
        let answer = self
            .send(Method::POST, &url, Some(&body), Kind::Create)
            .await?;
        Ok(decode::<RawNote>(&answer)?.into())
    }

    /// `PUT /projects/:id/merge_requests/:iid/notes/:note_id`.
    pub async fn update_note(
        &self,
        project: &str,
        iid: u64,
        id: u64,
        body: &str,
    ) -> Result<Note, GitlabError> {
        let url = format!(
            "{}{}/merge_requests/{iid}/notes/{id}",
            self.conn.base,
            Self::project_path(project)
        );
        let body = json!({"body": crate::output::secret::redact(body)});
        let answer = self
            .send(Method::PUT, &url, Some(&body), Kind::Change)
            .await?;
        Ok(decode::<RawNote>(&answer)?.into())
    }

    /// Every item of a listing, following `X-Next-Page`.
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<Vec<T>, GitlabError> {
        let query = crate::forge::query_prefix(query);
        let mut out = Vec::new();
        let mut page = 1u64;
        for read in 1..=MAX_PAGES {
            let url = format!(
                "{}{path}?{query}per_page={PER_PAGE}&page={page}",
                self.conn.base
            );
            let answer = self.send(Method::GET, &url, None, Kind::Read).await?;
            let items: Vec<T> = decode(&answer)?;
            out.extend(items);
            match answer.next_page {
                None => {
                    tracing::debug!(path, pages = read, items = out.len(), "listed");
                    return Ok(out);
                }
                Some(next) if next <= page => {
                    return Err(unusable(
                        &answer,
                        format!("its X-Next-Page ({next}) does not come after page {page}; stopping instead of listing forever"),
                    ))
                }
                Some(next) => page = next,
            }
        }
        Err(GitlabError::Unusable {
            call: format!("GET {path}"),
            detail: crate::forge::too_many_pages(),
        })
    }

    /// Sends a request with the retry policy of the module docs.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Answer, GitlabError> {
        let method_name = match method {
            Method::POST => "POST",
            Method::PUT => "PUT",
            _ => "GET",
        };
        let ((body, next_page), call) = crate::forge::send::<Api, _, _, _>(
            &self.conn.options,
            method_name,
            url,
            kind,
            |deadline| self.attempt(&method, url, body, deadline),
        )
        .await?;
        Ok(Answer {
            body,
            call,
            next_page,
        })
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<(Vec<u8>, Option<u64>), Failure> {
        let timeout = crate::forge::attempt_timeout(&self.conn.options, deadline);
        let request = self
            .conn
            .http
            .request(method.clone(), url)
            .header(self.header, self.conn.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(timeout);
        let (status, headers, bytes) = crate::forge::exchange(request, body, timeout).await?;
        tracing::debug!(method = %method, status, "gitlab request");
        if (200..300).contains(&status) {
            let next = headers
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .and_then(|v| v.parse::<u64>().ok());
            return Ok((bytes, next));
        }
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        // GitLab says why in `message` (a string, or an object of field errors) or `error`.
        let message = parsed.as_ref().and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .map(|m| match m {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .map(|s| crate::output::escape::inert(&s).into_owned())
        });
        let wait =
            (status == 429).then(|| wait_hint(&headers, None).unwrap_or(Duration::from_secs(60)));
        Err(Failure::Status {
            status,
            wait,
            said: message,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, GitlabError> {
    serde_json::from_slice(&answer.body)
        .map_err(|e| unusable(answer, format!("it is not the JSON GitLab documents ({e})")))
}

fn unusable(answer: &Answer, detail: String) -> GitlabError {
    GitlabError::Unusable {
        call: answer.call.to_string(),
        detail,
    }
}
