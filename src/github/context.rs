//! The job's GitHub context: the variables GitHub Actions sets (`GITHUB_API_URL`,
//! `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_RUN_ID`, `GITHUB_SERVER_URL`,
//! `GITHUB_STEP_SUMMARY`, `GITHUB_EVENT_PATH`), the token (`GITHUB_TOKEN` or `GH_TOKEN`) and the
//! pull request of the event file.
//!
//! Reads variables through a lookup function and files from disk; sends nothing. The token is
//! wrapped in a [`Secret`] (registered for redaction) the moment it is read, and never shown.

use super::error::GithubError;
use crate::output::secret::Secret;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// GitHub's API when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// GitHub's web address when `GITHUB_SERVER_URL` is not set.
pub const DEFAULT_SERVER_URL: &str = "https://github.com";
/// The largest event file read.
const MAX_EVENT_BYTES: u64 = 32 << 20;

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    /// Reads `owner/name` (letters, digits, `-`, `_` and `.`), as `GITHUB_REPOSITORY` holds it.
    pub fn parse(s: &str) -> Option<RepoName> {
        let (owner, name) = s.split_once('/')?;
        let ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        (ok(owner) && ok(name)).then(|| RepoName {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// `/repos/{owner}/{name}`: the API path of the repository.
    pub fn api_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }

    /// Whether `full_name` (as GitHub writes it in events) names this repository; GitHub's
    /// names are case-insensitive.
    pub fn is(&self, full_name: &str) -> bool {
        full_name.eq_ignore_ascii_case(&self.to_string())
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What a job knows of where it runs.
#[derive(Debug)]
pub struct Actions {
    /// The REST API's base URL (`https://api.github.com`, or `https://HOST/api/v3` on GitHub
    /// Enterprise Server).
    pub api: url::Url,
    /// The web address, for links (`https://github.com`).
    pub server: String,
    pub repository: RepoName,
    /// The workflow run (digits), for the run's link.
    pub run_id: Option<String>,
    /// The commit the workflow runs for.
    pub sha: Option<String>,
    pub event_path: Option<PathBuf>,
    /// `GITHUB_EVENT_NAME`: `pull_request`, `push`, …
    pub event_name: Option<String>,
    pub token: Option<Secret>,
}

impl Actions {
    /// Reads the context from variables. Missing `GITHUB_REPOSITORY`, an API URL that is not
    /// https (http is accepted for loopback only), a malformed run id or commit are errors.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Actions, GithubError> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        // The token first, so that nothing below can show it.
        let token = var("GITHUB_TOKEN")
            .or_else(|| var("GH_TOKEN"))
            .map(|t| Secret::new(t.trim()));
        let api_text = var("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let api = check_api_url(&api_text)?;
        let server = match var("GITHUB_SERVER_URL") {
            None => DEFAULT_SERVER_URL.to_string(),
            Some(s) => match url::Url::parse(&s) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
                    s.trim_end_matches('/').to_string()
                }
                _ => {
                    return Err(GithubError::Context(format!(
                        "GITHUB_SERVER_URL {:?} is not an http(s) URL",
                        crate::output::escape::inert(&s)
                    )))
                }
            },
        };
        let repository = match var("GITHUB_REPOSITORY") {
            None => {
                return Err(GithubError::Context(
                    "GITHUB_REPOSITORY is not set: run this in a GitHub Actions job, or set it to `owner/name`".into(),
                ))
            }
            Some(r) => RepoName::parse(r.trim()).ok_or_else(|| {
                GithubError::Context(format!(
                    "GITHUB_REPOSITORY {:?} is not `owner/name`",
                    crate::output::escape::inert(&r)
                ))
            })?,
        };
        let run_id = match var("GITHUB_RUN_ID") {
            None => None,
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => Some(id),
            Some(id) => {
                return Err(GithubError::Context(format!(
                    "GITHUB_RUN_ID {:?} is not a run id (digits)",
                    crate::output::escape::inert(&id)
                )))
            }
        };
        let sha = match var("GITHUB_SHA") {
            None => None,
            Some(s) => Some(check_sha(s.trim()).ok_or_else(|| {
                GithubError::Context(format!(
                    "GITHUB_SHA {:?} is not a commit SHA",
                    crate::output::escape::inert(&s)
                ))
            })?),
        };
        Ok(Actions {
            api,
            server,
            repository,
            run_id,
            sha,
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            event_name: var("GITHUB_EVENT_NAME").map(|n| n.trim().to_string()),
            token,
        })
    }

    /// The run's page, which also shows its job summaries.
    pub fn run_url(&self) -> Option<String> {
        self.run_id
            .as_ref()
            .map(|id| format!("{}/{}/actions/runs/{id}", self.server, self.repository))
    }

    /// The token, or an error naming the variables to set.
    pub fn token(&self) -> Result<&Secret, GithubError> {
        self.token.as_ref().ok_or_else(|| {
            GithubError::Context(
                "no GitHub token: set GITHUB_TOKEN (or GH_TOKEN), e.g. `env: GITHUB_TOKEN: ${{ github.token }}`".into(),
            )
        })
    }

    /// Whether the job runs for a push (`GITHUB_EVENT_NAME=push`; without that variable, an
    /// event file with no `pull_request` but the pushed commit in `after`).
    pub fn is_push(&self) -> bool {
        match self.event_name.as_deref() {
            Some(name) => name == "push",
            None => self
                .event()
                .is_some_and(|v| v.get("pull_request").is_none() && v.get("after").is_some()),
        }
    }

    /// The event file as JSON, when it can be read (bounded).
    fn event(&self) -> Option<Value> {
        self.event_path
            .as_ref()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_EVENT_BYTES))
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    }

    /// The repository's default branch, as the event file names it
    /// (`repository.default_branch`).
    pub fn default_branch(&self) -> Option<String> {
        self.event()?
            .pointer("/repository/default_branch")?
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_string)
    }

    /// The pull request of the event file (`pull_request` and `pull_request_target` events).
    pub fn pull_event(&self) -> Result<PullEvent, GithubError> {
        let Some(path) = &self.event_path else {
            return Err(GithubError::Context(
                "GITHUB_EVENT_PATH is not set: run this in a GitHub Actions job triggered by a pull request".into(),
            ));
        };
        PullEvent::read(path)
    }
}

/// A commit SHA: 40 (SHA-1) or 64 (SHA-256) hex digits, lowercased.
pub fn check_sha(s: &str) -> Option<String> {
    ((s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

/// `https://` anywhere, `http://` on loopback only; no credentials, query or fragment.
fn check_api_url(text: &str) -> Result<url::Url, GithubError> {
    let bad = |why: &str| GithubError::Context(format!("GITHUB_API_URL {why}"));
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not hold a user name or password; the token goes in GITHUB_TOKEN",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if crate::remote::is_loopback(&url) => {}
        "http" => {
            return Err(bad(&format!(
                "{url} uses plain http://, which would send the token in clear; use https:// \
                 (http:// is accepted only for loopback hosts)"
            )))
        }
        other => {
            return Err(bad(&format!(
                "has the scheme `{other}`; an https:// URL is required"
            )))
        }
    }
    if url.host().is_none() {
        return Err(bad("has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not hold a query or fragment"));
    }
    Ok(url)
}

/// The pull request a `pull_request` event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullEvent {
    pub number: u64,
    /// The head commit the workflow planned.
    pub head_sha: String,
    /// `owner/name` of the repository the head branch lives in; `None` when GitHub no longer
    /// knows it (a deleted fork).
    pub head_repo: Option<String>,
}

impl PullEvent {
    /// Reads `pull_request.number`, `.head.sha` and `.head.repo.full_name` from an event file.
    pub fn read(path: &Path) -> Result<PullEvent, GithubError> {
        let fail = |why: String| {
            GithubError::Context(format!(
                "the event file {} (GITHUB_EVENT_PATH) {why}",
                path.display()
            ))
        };
        let size = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot be read: {e}")))?
            .len();
        if size > MAX_EVENT_BYTES {
            return Err(fail(format!(
                "is larger than {} MiB",
                MAX_EVENT_BYTES >> 20
            )));
        }
        let text = std::fs::read(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
        let v: Value =
            serde_json::from_slice(&text).map_err(|e| fail(format!("is not JSON: {e}")))?;
        let Some(pr) = v.get("pull_request").filter(|p| p.is_object()) else {
            return Err(fail(
                "has no `pull_request`: this command runs on pull_request events".into(),
            ));
        };
        let number = pr
            .get("number")
            .and_then(Value::as_u64)
            .ok_or_else(|| fail("has no pull_request.number".into()))?;
        let head_sha = pr
            .pointer("/head/sha")
            .and_then(Value::as_str)
            .and_then(check_sha)
            .ok_or_else(|| fail("has no commit SHA in pull_request.head.sha".into()))?;
        let head_repo = pr
            .pointer("/head/repo/full_name")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(PullEvent {
            number,
            head_sha,
            head_repo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let list: Vec<(String, String)> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| list.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_api_url_must_be_https_unless_loopback() {
        for ok in [
            "https://api.github.com",
            "https://ghe.example.com/api/v3",
            "http://127.0.0.1:4000",
        ] {
            let a = Actions::from_env(&vars(&[
                ("GITHUB_API_URL", ok),
                ("GITHUB_REPOSITORY", "o/r"),
            ]));
            assert!(a.is_ok(), "{ok}");
        }
        for bad in [
            "http://api.github.com",
            "ftp://x",
            "https://u:p@api.github.com",
            "https://api.github.com/?a=1",
        ] {
            let a = Actions::from_env(&vars(&[
                ("GITHUB_API_URL", bad),
                ("GITHUB_REPOSITORY", "o/r"),
            ]));
            assert!(matches!(a, Err(GithubError::Context(_))), "{bad}");
        }
    }

    #[test]
    fn repository_run_id_and_sha_are_checked() {
        assert!(Actions::from_env(&vars(&[])).is_err());
        assert!(Actions::from_env(&vars(&[("GITHUB_REPOSITORY", "o/../x")])).is_err());
        assert!(Actions::from_env(&vars(&[
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "1/../2")
        ]))
        .is_err());
        assert!(Actions::from_env(&vars(&[
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_SHA", "main")
        ]))
        .is_err());
        let a = Actions::from_env(&vars(&[
            ("GITHUB_REPOSITORY", "Octo/Repo.js"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_SHA", &"A".repeat(40)),
        ]))
        .unwrap();
        assert_eq!(
            a.run_url().unwrap(),
            "https://github.com/Octo/Repo.js/actions/runs/42"
        );
        assert_eq!(a.sha.unwrap(), "a".repeat(40));
        assert!(a.repository.is("octo/repo.js"));
        assert!(a.token.is_none());
    }
}
