//! The job's GitLab context: the variables GitLab CI sets in a merge-request pipeline
//! (`CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_PROJECT_ID`, `CI_MERGE_REQUEST_IID`,
//! `CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`, `CI_COMMIT_SHA`, `CI_PIPELINE_ID`,
//! `CI_PIPELINE_URL`, `CI_PROJECT_PATH`, `CI_DEFAULT_BRANCH`), the token (`SKCONN_GITLAB_TOKEN`)
//! and the job's own token (`CI_JOB_TOKEN`, which reads artifacts).
//!
//! Reads variables through a lookup function; sends nothing. Both tokens are wrapped in a
//! [`Secret`] (registered for redaction) the moment they are read, and never shown.

use super::GitlabError;
use crate::output::secret::Secret;

/// The variable that holds the project access token.
pub const TOKEN_VARIABLE: &str = "SKCONN_GITLAB_TOKEN";
/// GitLab.com's API when `CI_API_V4_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://gitlab.com/api/v4";

/// What a job knows of where it runs.
#[derive(Debug)]
pub struct Pipeline {
    /// The REST API's base URL (`https://gitlab.com/api/v4`).
    pub api: url::Url,
    /// The project whose merge request it is (`CI_MERGE_REQUEST_PROJECT_ID`, else
    /// `CI_PROJECT_ID`): digits.
    pub project: String,
    /// `group/project`, for messages and `--save`.
    pub project_path: Option<String>,
    /// The merge request's IID (`CI_MERGE_REQUEST_IID`), in a merge-request pipeline.
    pub merge_request: Option<u64>,
    /// The merge request's head (`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA`, which GitLab sets in
    /// merged-results pipelines, else `CI_COMMIT_SHA`).
    pub head_sha: Option<String>,
    /// The commit the pipeline runs for (`CI_COMMIT_SHA`).
    pub sha: Option<String>,
    pub pipeline_id: Option<String>,
    pub pipeline_url: Option<String>,
    /// The project's default branch (`CI_DEFAULT_BRANCH`).
    pub default_branch: Option<String>,
    /// CI_COMMIT_BRANCH: the branch of a branch pipeline (unset in merge-request pipelines).
    pub branch: Option<String>,
    pub token: Option<Secret>,
    /// The job's own token (`CI_JOB_TOKEN`).
    pub job_token: Option<Secret>,
}

fn digits(name: &str, v: Option<String>) -> Result<Option<String>, GitlabError> {
    match v {
        None => Ok(None),
        Some(s) if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(s))
        }
        Some(s) => Err(GitlabError::Context(format!(
            "{name} {:?} is not a number",
            crate::output::escape::inert(&s)
        ))),
    }
}

fn sha(name: &str, v: Option<String>) -> Result<Option<String>, GitlabError> {
    match v {
        None => Ok(None),
        Some(s) => crate::github::context::check_sha(&s)
            .map(Some)
            .ok_or_else(|| {
                GitlabError::Context(format!(
                    "{name} {:?} is not a commit SHA",
                    crate::output::escape::inert(&s)
                ))
            }),
    }
}

impl Pipeline {
    /// Reads the context from variables. A missing project id, an API URL that is not https
    /// (http is accepted for loopback only), a malformed IID or commit are errors.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Pipeline, GitlabError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // The token first, so that nothing below can show it.
        let token = var(TOKEN_VARIABLE).map(Secret::new);
        let job_token = var("CI_JOB_TOKEN").map(Secret::new);
        let api_text = var("CI_API_V4_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let api = match url::Url::parse(&api_text) {
            Ok(u) if u.host().is_some()
                && u.username().is_empty()
                && u.password().is_none()
                && (u.scheme() == "https"
                    || (u.scheme() == "http" && crate::remote::is_loopback(&u))) =>
            {
                u
            }
            _ => {
                return Err(GitlabError::Context(format!(
                    "CI_API_V4_URL {:?} is not an https:// URL (plain http is accepted on loopback only)",
                    crate::output::escape::inert(&api_text)
                )))
            }
        };
        let project = digits(
            "CI_MERGE_REQUEST_PROJECT_ID",
            var("CI_MERGE_REQUEST_PROJECT_ID"),
        )?
        .or(digits("CI_PROJECT_ID", var("CI_PROJECT_ID"))?)
        .ok_or_else(|| {
            GitlabError::Context(
                "CI_PROJECT_ID is not set: run this in a GitLab CI job, or set it to the project's numeric id".into(),
            )
        })?;
        let merge_request = digits("CI_MERGE_REQUEST_IID", var("CI_MERGE_REQUEST_IID"))?
            .and_then(|n| n.parse().ok());
        let commit = sha("CI_COMMIT_SHA", var("CI_COMMIT_SHA"))?;
        let source = sha(
            "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
            var("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"),
        )?;
        let pipeline_url = var("CI_PIPELINE_URL")
            .filter(|u| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http")));
        Ok(Pipeline {
            api,
            project,
            project_path: var("CI_PROJECT_PATH")
                .map(|p| crate::output::escape::inert(&p).into_owned()),
            merge_request,
            head_sha: source.or_else(|| commit.clone()),
            sha: commit,
            pipeline_id: digits("CI_PIPELINE_ID", var("CI_PIPELINE_ID"))?,
            pipeline_url,
            default_branch: var("CI_DEFAULT_BRANCH"),
            branch: var("CI_COMMIT_BRANCH"),
            token,
            job_token,
        })
    }

    /// How messages and `--save` name the project.
    /// A branch pipeline of the default branch (CI_COMMIT_BRANCH is CI_DEFAULT_BRANCH), not a
    /// merge request's.
    pub fn on_default_branch(&self) -> bool {
        self.merge_request.is_none() && self.branch.is_some() && self.branch == self.default_branch
    }

    pub fn project_name(&self) -> String {
        self.project_path
            .clone()
            .unwrap_or_else(|| format!("project {}", self.project))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(list: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            list.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_merge_requests_head_is_its_source_sha_when_given() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let p = Pipeline::from_env(&vars(&[
            ("CI_PROJECT_ID", "12"),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("CI_COMMIT_SHA", &a),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", &b),
        ]))
        .unwrap();
        assert_eq!(p.head_sha.as_deref(), Some(b.as_str()));
        assert_eq!(p.sha.as_deref(), Some(a.as_str()));
        assert_eq!(p.merge_request, Some(7));
        assert_eq!(p.api.as_str(), "https://gitlab.com/api/v4");
    }

    #[test]
    fn bad_context_is_refused() {
        assert!(Pipeline::from_env(&vars(&[])).is_err());
        assert!(Pipeline::from_env(&vars(&[("CI_PROJECT_ID", "12/../x")])).is_err());
        let plain = [
            ("CI_PROJECT_ID", "1"),
            ("CI_API_V4_URL", "http://gitlab.example.com/api/v4"),
        ];
        assert!(Pipeline::from_env(&vars(&plain)).is_err());
        let bad_sha = [("CI_PROJECT_ID", "1"), ("CI_COMMIT_SHA", "main")];
        assert!(Pipeline::from_env(&vars(&bad_sha)).is_err());
    }
}
