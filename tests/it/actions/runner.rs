//! Runs a workflow's jobs as GitHub's runner would, one job after another in `needs:` order, on
//! this machine: `run:` steps under the shell GitHub uses, with exactly the environment GitHub
//! gives the step, and `uses:` steps through the shims of [`super::shims`].
//!
//! It must never run a workflow more kindly than GitHub: no variable, secret or token reaches a
//! step that the workflow did not map into it, a fork's pull request gets no secrets and a
//! read-only token, and anything it does not run panics.

use super::expr::{self, Scope, Status};
use super::gh::GhShim;
use super::shims::{self, ShimContext};
use super::workflow::{self, Job, Step, Workflow};
use crate::fake_github::FakeGithub;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directories of an Ubuntu runner's `PATH`, after the tools the runner adds.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// GitHub's permission scopes.
const SCOPES: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

/// Contexts GitHub offers, per place (its table of context availability).
const AT_WORKFLOW_ENV: &[&str] = &["github", "secrets", "inputs", "vars"];
const AT_WORKFLOW_CONCURRENCY: &[&str] = &["github", "inputs", "vars"];
const AT_JOB_IF: &[&str] = &["github", "needs", "vars", "inputs"];
const AT_JOB_ENV: &[&str] = &["github", "needs", "vars", "secrets", "inputs"];
const AT_STEP: &[&str] = &[
    "github", "needs", "job", "runner", "env", "vars", "secrets", "steps", "inputs",
];

/// A job's or step's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
    Skipped,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
            Conclusion::Skipped => "skipped",
        }
    }
}

/// A GitHub environment's variables and secrets.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl Environment {
    pub fn new() -> Environment {
        Environment::default()
    }

    pub fn var(mut self, k: &str, v: &str) -> Environment {
        self.vars.insert(k.into(), v.into());
        self
    }

    pub fn secret(mut self, k: &str, v: &str) -> Environment {
        self.secrets.insert(k.into(), v.into());
        self
    }
}

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepRun {
    pub id: Option<String>,
    pub name: String,
    pub outcome: Conclusion,
    pub conclusion: Conclusion,
    /// The shell and its options a `run:` step ran under (the script's path follows them).
    pub shell: Vec<String>,
    /// The exit code of a `run:` step.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The process environment the step had (for a `uses:` step, the one its action had).
    pub env: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// `::error::`, `::warning::` and `::notice::` lines of its output, and the shims' warnings.
    pub annotations: Vec<String>,
}

/// What a job did.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub id: String,
    pub name: String,
    pub result: Conclusion,
    /// The GitHub environment it ran behind.
    pub environment: Option<String>,
    /// The permissions its token had, as the workflow gave them (without the implicit
    /// `metadata: read`).
    pub permissions: BTreeMap<String, String>,
    /// Its `GITHUB_TOKEN`.
    pub token: String,
    /// Whether the token was read-only (a fork's pull request).
    pub read_only_token: bool,
    pub steps: Vec<StepRun>,
    /// The job summary (every step's `GITHUB_STEP_SUMMARY`, in order).
    pub summary: String,
    pub outputs: BTreeMap<String, String>,
    pub workspace: PathBuf,
    /// `concurrency:` (evaluated) and `timeout-minutes:`, recorded and not enforced.
    pub concurrency: Option<Value>,
    pub timeout_minutes: Option<Value>,
}

impl JobRun {
    /// The step with this `id` or name.
    #[track_caller]
    pub fn step(&self, id_or_name: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.id.as_deref() == Some(id_or_name) || s.name == id_or_name)
            .unwrap_or_else(|| panic!("job {} has no step {id_or_name:?}\n{self}", self.id))
    }

    /// Every value the job's steps had in their environment.
    pub fn environment_values(&self) -> impl Iterator<Item = (&String, &String)> {
        self.steps.iter().flat_map(|s| s.env.iter())
    }
}

impl std::fmt::Display for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "=== job {} ({}): {}",
            self.id,
            self.name,
            self.result.as_str()
        )?;
        for s in &self.steps {
            writeln!(
                f,
                "--- step {:?}: {} (exit {:?})",
                s.name,
                s.outcome.as_str(),
                s.code
            )?;
            if !s.stdout.is_empty() {
                writeln!(f, "stdout:\n{}", s.stdout.trim_end())?;
            }
            if !s.stderr.is_empty() {
                writeln!(f, "stderr:\n{}", s.stderr.trim_end())?;
            }
        }
        if !self.summary.is_empty() {
            writeln!(f, "--- summary:\n{}", self.summary.trim_end())?;
        }
        Ok(())
    }
}

/// A workflow run.
pub struct Run {
    pub id: u64,
    pub event_name: String,
    /// The workflow's `on:`, as written.
    pub on: Value,
    /// In the order they ran.
    pub jobs: Vec<JobRun>,
    /// `concurrency:` of the workflow, evaluated.
    pub concurrency: Option<Value>,
    /// Holds the workspaces, for as long as the run is kept.
    _dir: tempfile::TempDir,
}

impl Run {
    #[track_caller]
    pub fn job(&self, id: &str) -> &JobRun {
        self.jobs
            .iter()
            .find(|j| j.id == id)
            .unwrap_or_else(|| panic!("the run has no job {id}\n{self}"))
    }

    pub fn succeeded(&self) -> bool {
        self.jobs.iter().all(|j| j.result != Conclusion::Failure)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "run {} ({})", self.id, self.event_name)?;
        for j in &self.jobs {
            write!(f, "{j}")?;
        }
        Ok(())
    }
}

/// Runs workflows against the fake GitHub; every run shares it (its artifacts, comments).
#[derive(Clone)]
pub struct Runner<'a> {
    github: &'a FakeGithub,
    repo: Option<PathBuf>,
    event_name: Option<String>,
    event: Value,
    git_ref: Option<String>,
    sha: Option<String>,
    vars: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    environments: BTreeMap<String, Environment>,
    inputs: Map<String, Value>,
    skconn: PathBuf,
}

impl<'a> Runner<'a> {
    pub fn new(github: &'a FakeGithub) -> Runner<'a> {
        Runner {
            github,
            repo: None,
            event_name: None,
            event: json!({}),
            git_ref: None,
            sha: None,
            vars: BTreeMap::new(),
            secrets: BTreeMap::new(),
            environments: BTreeMap::new(),
            inputs: Map::new(),
            skconn: PathBuf::from(env!("CARGO_BIN_EXE_skconn")),
        }
    }

    /// The repository `actions/checkout` checks out.
    pub fn repo(mut self, dir: &Path) -> Self {
        self.repo = Some(dir.to_path_buf());
        self
    }

    /// The event that triggers the run, and its payload (`github.event`).
    pub fn event(mut self, name: &str, payload: Value) -> Self {
        self.event_name = Some(name.into());
        self.event = payload;
        self
    }

    /// `github.ref` (default: `refs/pull/N/merge` for a pull request, else `refs/heads/main`).
    pub fn git_ref(mut self, r: &str) -> Self {
        self.git_ref = Some(r.into());
        self
    }

    /// `github.sha` (default: a push's `after`, else made up).
    pub fn sha(mut self, sha: &str) -> Self {
        self.sha = Some(sha.into());
        self
    }

    /// A repository variable.
    pub fn var(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    /// A repository secret.
    pub fn secret(mut self, k: &str, v: &str) -> Self {
        self.secrets.insert(k.into(), v.into());
        self
    }

    /// A GitHub environment.
    pub fn environment(mut self, name: &str, env: Environment) -> Self {
        self.environments.insert(name.into(), env);
        self
    }

    /// A `workflow_dispatch` input.
    pub fn input(mut self, k: &str, v: Value) -> Self {
        self.inputs.insert(k.into(), v);
        self
    }

    /// Runs the workflow file's jobs.
    pub fn run_workflow(&self, path: &Path) -> Run {
        self.run(&workflow::read(path))
    }

    /// Runs a workflow given as text.
    pub fn run_text(&self, text: &str) -> Run {
        self.run(&workflow::parse(text, "the workflow"))
    }

    fn run(&self, wf: &Workflow) -> Run {
        let event_name = self
            .event_name
            .clone()
            .expect("Runner::event names the event");
        if event_name == "pull_request_target" {
            panic!("the test runner does not run pull_request_target");
        }
        if !wf.events().contains(&event_name) {
            panic!(
                "the workflow does not run on {event_name} (only {:?})",
                wf.events()
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let run_id = self.github.next_run_id();
        let repository = self.github.repo();
        let inputs = self.inputs(wf, &event_name);
        let mut event = self.event.clone();
        if event_name == "workflow_dispatch" && event.get("inputs").is_none() {
            let as_text: Map<String, Value> = inputs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(expr::to_text(v))))
                .collect();
            event["inputs"] = Value::Object(as_text);
        }
        let pull = event.get("pull_request").cloned();
        let git_ref = self.git_ref.clone().unwrap_or_else(|| match &pull {
            Some(p) => format!("refs/pull/{}/merge", p["number"]),
            None => "refs/heads/main".into(),
        });
        let sha = self.sha.clone().unwrap_or_else(|| {
            event
                .get("after")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{:032x}{:08x}", fastrand::u128(..), fastrand::u32(..)))
        });
        let (head_branch, head_sha) = match &pull {
            Some(p) => (
                p["head"]["ref"].as_str().unwrap_or("feature").to_string(),
                p["head"]["sha"].as_str().unwrap_or(&sha).to_string(),
            ),
            None => (
                git_ref
                    .strip_prefix("refs/heads/")
                    .unwrap_or(&git_ref)
                    .to_string(),
                sha.clone(),
            ),
        };
        let fork = pull.as_ref().is_some_and(|p| {
            !p["head"]["repo"]["full_name"]
                .as_str()
                .is_some_and(|r| r.eq_ignore_ascii_case(&repository))
        });
        let event_path = dir.path().join("event.json");
        std::fs::write(&event_path, serde_json::to_string_pretty(&event).unwrap()).unwrap();
        let ref_name = ["refs/heads/", "refs/tags/", "refs/pull/"]
            .iter()
            .find_map(|p| git_ref.strip_prefix(p))
            .unwrap_or(&git_ref)
            .to_string();
        let github = json!({
            "event_name": event_name,
            "event": event,
            "event_path": event_path.display().to_string(),
            "ref": git_ref,
            "ref_name": ref_name,
            "ref_type": if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" },
            "sha": sha,
            "repository": repository,
            "repository_owner": repository.split('/').next().unwrap(),
            "run_id": run_id.to_string(),
            "run_number": "1",
            "run_attempt": "1",
            "server_url": "https://github.com",
            "api_url": self.github.url(),
            "graphql_url": format!("{}/graphql", self.github.url()),
            "actor": "octocat",
            "triggering_actor": "octocat",
            "workflow": wf.name.clone().unwrap_or_default(),
            "head_ref": pull.as_ref().map(|p| p["head"]["ref"].clone()).unwrap_or(json!("")),
            "base_ref": pull.as_ref().map(|p| p["base"]["ref"].clone()).unwrap_or(json!("")),
            "retention_days": "90",
        });
        let mut state = RunState {
            runner: self,
            wf,
            dir: dir.path().to_path_buf(),
            run_id,
            head_branch,
            head_sha,
            fork,
            github,
            inputs: Value::Object(inputs),
            results: BTreeMap::new(),
            gh: GhShim::start(self.github.url()),
        };
        let concurrency = wf.concurrency.as_ref().map(|c| {
            let contexts = state.base_contexts();
            evaluate_value(c, &contexts, AT_WORKFLOW_CONCURRENCY, "concurrency")
        });
        let mut jobs = Vec::new();
        for job in order(wf) {
            let done = state.run_job(job);
            state.results.insert(job.id.clone(), done.clone());
            jobs.push(done);
        }
        Run {
            id: run_id,
            event_name,
            on: wf.on.clone(),
            jobs,
            concurrency,
            _dir: dir,
        }
    }

    /// The `inputs` context: the test's inputs over the defaults, typed as declared.
    fn inputs(&self, wf: &Workflow, event_name: &str) -> Map<String, Value> {
        if event_name != "workflow_dispatch" {
            if !self.inputs.is_empty() {
                panic!("inputs are given but the event is {event_name}");
            }
            return Map::new();
        }
        let declared = wf.dispatch_inputs();
        for k in self.inputs.keys() {
            if !declared.contains_key(k) {
                panic!("the workflow declares no input {k}");
            }
        }
        let mut out = Map::new();
        for (k, spec) in &declared {
            let kind = spec.get("type").and_then(Value::as_str).unwrap_or("string");
            let given = self.inputs.get(k).or_else(|| spec.get("default")).cloned();
            let Some(v) = given else {
                if spec.get("required").and_then(Value::as_bool) == Some(true) {
                    panic!("input {k} is required");
                }
                let empty = if kind == "boolean" {
                    json!(false)
                } else {
                    json!("")
                };
                out.insert(k.clone(), empty);
                continue;
            };
            let text = expr::to_text(&v);
            let typed = match kind {
                "boolean" => match text.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => panic!("input {k} is boolean, not {text:?}"),
                },
                "number" => json!(text
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("input {k} is a number, not {text:?}"))),
                "choice" => {
                    let options = spec["options"].as_array().cloned().unwrap_or_default();
                    if !options.iter().any(|o| expr::to_text(o) == text) {
                        panic!("input {k} is one of {options:?}, not {text:?}");
                    }
                    json!(text)
                }
                "string" | "environment" => json!(text),
                other => panic!("input {k} has type {other}, which the runner does not know"),
            };
            out.insert(k.clone(), typed);
        }
        out
    }
}

/// The jobs in the order they run: each after the jobs it needs, otherwise in file order.
fn order(wf: &Workflow) -> Vec<&Job> {
    for job in &wf.jobs {
        for need in &job.needs {
            if !wf.jobs.iter().any(|j| &j.id == need) {
                panic!(
                    "job {} needs {need}, which the workflow does not have",
                    job.id
                );
            }
        }
    }
    let mut done: Vec<&Job> = Vec::new();
    while done.len() < wf.jobs.len() {
        let next = wf.jobs.iter().find(|j| {
            !done.iter().any(|d| d.id == j.id)
                && j.needs.iter().all(|n| done.iter().any(|d| &d.id == n))
        });
        match next {
            Some(j) => done.push(j),
            None => panic!("the jobs' needs form a cycle"),
        }
    }
    done
}

/// Evaluates every string inside a value (a `concurrency:` block, an `environment:`).
fn evaluate_value(
    v: &Value,
    contexts: &Map<String, Value>,
    allowed: &[&str],
    place: &str,
) -> Value {
    let scope = Scope {
        contexts,
        allowed,
        status: None,
        place,
    };
    match v {
        Value::String(s) => Value::String(expr::interpolate(s, &scope)),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), evaluate_value(v, contexts, allowed, place)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Evaluates an `env:`, `with:` or `outputs:` mapping into text values.
fn evaluate_map(
    map: &Map<String, Value>,
    contexts: &Map<String, Value>,
    allowed: &[&str],
    place: &str,
) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let place = format!("{place}.{k}");
            let scope = Scope {
                contexts,
                allowed,
                status: None,
                place: &place,
            };
            let text = match v {
                Value::String(s) => expr::interpolate(s, &scope),
                Value::Null => String::new(),
                Value::Bool(_) | Value::Number(_) => expr::to_text(v),
                other => panic!("{place} is {other}, not a value"),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Resolves a `permissions:` value; `None` when absent.
fn permissions(v: Option<&Value>, place: &str) -> Option<BTreeMap<String, String>> {
    let v = v?;
    let all = |level: &str| {
        SCOPES
            .iter()
            .map(|s| (s.to_string(), level.to_string()))
            .collect()
    };
    Some(match v {
        Value::String(s) if s == "read-all" => all("read"),
        Value::String(s) if s == "write-all" => all("write"),
        Value::Object(map) => map
            .iter()
            .filter_map(|(scope, level)| {
                if !SCOPES.contains(&scope.as_str()) {
                    panic!("{place}: `{scope}` is not a permission GitHub knows");
                }
                match level.as_str() {
                    Some("read" | "write") => Some((scope.clone(), level.as_str()?.to_string())),
                    Some("none") => None,
                    _ => panic!("{place}: `{scope}: {level}` is not read, write or none"),
                }
            })
            .collect(),
        other => panic!("{place}: permissions is {other}"),
    })
}

struct RunState<'r, 'a> {
    runner: &'r Runner<'a>,
    wf: &'r Workflow,
    dir: PathBuf,
    run_id: u64,
    head_branch: String,
    head_sha: String,
    fork: bool,
    github: Value,
    inputs: Value,
    results: BTreeMap<String, JobRun>,
    gh: GhShim,
}

/// What a job's steps share while it runs.
struct JobState {
    workspace: PathBuf,
    temp: PathBuf,
    home: PathBuf,
    tools: PathBuf,
    /// `GITHUB_ENV` values so far.
    github_env: BTreeMap<String, String>,
    /// `GITHUB_PATH` entries so far, the latest first.
    paths: Vec<String>,
    steps: Map<String, Value>,
    summary: String,
}

impl RunState<'_, '_> {
    /// The contexts every place has: github, vars (none for a fork's pull request), inputs.
    fn base_contexts(&self) -> Map<String, Value> {
        let mut c = Map::new();
        c.insert("github".into(), self.github.clone());
        c.insert("inputs".into(), self.inputs.clone());
        let vars = if self.fork {
            json!({})
        } else {
            json!(self.runner.vars)
        };
        c.insert("vars".into(), vars);
        c
    }

    fn needs_context(&self, job: &Job) -> Value {
        let mut needs = Map::new();
        for n in &job.needs {
            let r = &self.results[n];
            needs.insert(
                n.clone(),
                json!({"result": r.result.as_str(), "outputs": r.outputs}),
            );
        }
        Value::Object(needs)
    }

    /// Every job `job` depends on, directly or not.
    fn ancestors(&self, job: &Job) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo = job.needs.clone();
        while let Some(n) = todo.pop() {
            if !out.contains(&n) {
                let j = self.wf.jobs.iter().find(|j| j.id == n).unwrap();
                todo.extend(j.needs.clone());
                out.push(n);
            }
        }
        out
    }

    fn run_job(&mut self, job: &Job) -> JobRun {
        let place = format!("jobs.{}", job.id);
        let mut contexts = self.base_contexts();
        contexts.insert("needs".into(), self.needs_context(job));
        let ancestors = self.ancestors(job);
        let status = Status {
            success: ancestors
                .iter()
                .all(|a| self.results[a].result == Conclusion::Success),
            failure: ancestors
                .iter()
                .any(|a| self.results[a].result == Conclusion::Failure),
        };
        let runs_on = evaluate_value(&job.runs_on, &contexts, AT_JOB_IF, &place);
        if !runs_on.as_str().is_some_and(|r| r.starts_with("ubuntu-")) {
            panic!("{place}: the test runner runs ubuntu runners only, not {runs_on}");
        }
        let name = job
            .name
            .as_ref()
            .map(|n| {
                let scope = Scope {
                    contexts: &contexts,
                    allowed: AT_JOB_IF,
                    status: None,
                    place: &place,
                };
                expr::interpolate(n, &scope)
            })
            .unwrap_or_else(|| job.id.clone());
        let declared = permissions(job.permissions.as_ref(), &place)
            .or_else(|| permissions(self.wf.permissions.as_ref(), "the workflow"))
            .unwrap_or_else(|| {
                // A repository's default GITHUB_TOKEN permissions (restricted).
                [("contents", "read"), ("packages", "read")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            });
        let environment = job.environment.as_ref().map(|e| {
            let e = evaluate_value(e, &contexts, AT_JOB_IF, &format!("{place}.environment"));
            match e {
                Value::String(s) => s,
                Value::Object(m) => m
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{place}.environment has no name"))
                    .to_string(),
                other => panic!("{place}.environment is {other}"),
            }
        });
        let mut run = JobRun {
            id: job.id.clone(),
            name,
            result: Conclusion::Skipped,
            environment: environment.clone(),
            permissions: declared.clone(),
            token: String::new(),
            read_only_token: self.fork,
            steps: Vec::new(),
            summary: String::new(),
            outputs: BTreeMap::new(),
            workspace: PathBuf::new(),
            concurrency: job
                .concurrency
                .as_ref()
                .map(|c| evaluate_value(c, &contexts, AT_JOB_IF, &format!("{place}.concurrency"))),
            timeout_minutes: job.timeout_minutes.clone(),
        };
        let condition = job.if_.clone().unwrap_or(json!("success()"));
        let scope = Scope {
            contexts: &contexts,
            allowed: AT_JOB_IF,
            status: Some(status),
            place: &format!("{place}.if"),
        };
        if !expr::eval_if(&condition, &scope) {
            return run;
        }

        // The job's token, variables and secrets.
        let mut granted = declared.clone();
        granted.insert("metadata".into(), "read".into());
        let token = self.runner.github.job_token(&granted, self.fork);
        run.token = token.clone();
        let gh_env = environment
            .as_ref()
            .and_then(|e| self.runner.environments.get(e))
            .cloned()
            .unwrap_or_default();
        // A fork's pull request gets neither secrets nor variables.
        let (mut vars, mut secrets) = (BTreeMap::new(), BTreeMap::new());
        if !self.fork {
            vars = self.runner.vars.clone();
            vars.extend(gh_env.vars);
            secrets = self.runner.secrets.clone();
            secrets.extend(gh_env.secrets);
        }
        secrets.insert("GITHUB_TOKEN".to_string(), token.clone());
        let mut github = self.github.clone();
        github["token"] = json!(token);
        github["job"] = json!(job.id);
        let job_dir = self.dir.join(&job.id);
        let js = JobState {
            workspace: job_dir.join("work"),
            temp: job_dir.join("temp"),
            home: job_dir.join("home"),
            tools: job_dir.join("tools"),
            github_env: BTreeMap::new(),
            paths: Vec::new(),
            steps: Map::new(),
            summary: String::new(),
        };
        for d in [&js.workspace, &js.temp, &js.home, &js.tools] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(js.tools.join("gh"), self.gh.script()).unwrap();
        make_executable(&js.tools.join("gh"));
        github["workspace"] = json!(js.workspace.display().to_string());
        contexts.insert("github".into(), github);
        contexts.insert("vars".into(), json!(vars));
        contexts.insert("secrets".into(), json!(secrets));
        contexts.insert(
            "runner".into(),
            json!({"os": "Linux", "arch": "X64", "name": "skconn-test-runner",
                   "environment": "github-hosted", "temp": js.temp.display().to_string(),
                   "tool_cache": js.tools.display().to_string(), "debug": ""}),
        );

        let mut workflow_env = evaluate_map(&self.wf.env, &contexts, AT_WORKFLOW_ENV, "env");
        let job_env = evaluate_map(&job.env, &contexts, AT_JOB_ENV, &format!("{place}.env"));
        workflow_env.extend(job_env);
        run.workspace = js.workspace.clone();
        let mut js = js;
        for (i, step) in job.steps.iter().enumerate() {
            let place = format!("{place}.steps[{i}]");
            let done = self.run_step(
                job,
                step,
                &place,
                &workflow_env,
                &mut contexts,
                &mut js,
                &run,
            );
            if let Some(id) = &step.id {
                js.steps.insert(
                    id.clone(),
                    json!({"outputs": done.outputs, "outcome": done.outcome.as_str(),
                           "conclusion": done.conclusion.as_str()}),
                );
            }
            run.steps.push(done);
        }
        let failed = run
            .steps
            .iter()
            .any(|s| s.conclusion == Conclusion::Failure);
        run.result = if failed {
            Conclusion::Failure
        } else {
            Conclusion::Success
        };
        contexts.insert("steps".into(), Value::Object(js.steps.clone()));
        contexts.insert("job".into(), json!({"status": run.result.as_str()}));
        let mut env_ctx = workflow_env.clone();
        env_ctx.extend(js.github_env.clone());
        contexts.insert("env".into(), json!(env_ctx));
        run.outputs = evaluate_map(
            &job.outputs,
            &contexts,
            AT_STEP,
            &format!("{place}.outputs"),
        );
        run.summary = js.summary;
        run
    }

    #[allow(clippy::too_many_arguments)]
    fn run_step(
        &self,
        job: &Job,
        step: &Step,
        place: &str,
        job_env: &BTreeMap<String, String>,
        contexts: &mut Map<String, Value>,
        js: &mut JobState,
        run: &JobRun,
    ) -> StepRun {
        let failed_before = run
            .steps
            .iter()
            .any(|s| s.conclusion == Conclusion::Failure);
        let status = Status {
            success: !failed_before,
            failure: failed_before,
        };
        contexts.insert("steps".into(), Value::Object(js.steps.clone()));
        contexts.insert(
            "job".into(),
            json!({"status": if failed_before { "failure" } else { "success" }}),
        );
        let mut env_ctx = job_env.clone();
        env_ctx.extend(js.github_env.clone());
        contexts.insert("env".into(), json!(env_ctx));
        let step_env = evaluate_map(&step.env, contexts, AT_STEP, &format!("{place}.env"));
        env_ctx.extend(step_env);
        contexts.insert("env".into(), json!(env_ctx));
        let scope = |p: &str| -> String { format!("{place}.{p}") };
        let name = match &step.name {
            Some(n) => expr::interpolate(
                n,
                &Scope {
                    contexts,
                    allowed: AT_STEP,
                    status: None,
                    place: &scope("name"),
                },
            ),
            None => match (&step.run, &step.uses) {
                (Some(r), _) => format!("Run {}", r.lines().next().unwrap_or_default()),
                (_, Some(u)) => format!("Run {u}"),
                _ => unreachable!(),
            },
        };
        let mut done = StepRun {
            id: step.id.clone(),
            name,
            outcome: Conclusion::Skipped,
            conclusion: Conclusion::Skipped,
            shell: Vec::new(),
            code: None,
            stdout: String::new(),
            stderr: String::new(),
            env: BTreeMap::new(),
            outputs: BTreeMap::new(),
            annotations: Vec::new(),
        };
        let condition = step.if_.clone().unwrap_or(json!("success()"));
        let if_place = scope("if");
        let if_scope = Scope {
            contexts,
            allowed: AT_STEP,
            status: Some(status),
            place: &if_place,
        };
        if !expr::eval_if(&condition, &if_scope) {
            return done;
        }
        let step_scope_place = scope("run");
        let step_scope = Scope {
            contexts,
            allowed: AT_STEP,
            status: None,
            place: &step_scope_place,
        };

        // The files GitHub gives a step, fresh for each.
        let n = run.steps.len();
        let files = |what: &str| js.temp.join(format!("_{what}_{n}"));
        let (output_file, env_file, path_file, summary_file) = (
            files("output"),
            files("env"),
            files("path"),
            files("summary"),
        );
        for f in [&output_file, &env_file, &path_file, &summary_file] {
            std::fs::write(f, "").unwrap();
        }
        let mut path: Vec<String> = js.paths.clone();
        path.push(js.tools.display().to_string());
        path.push(SYSTEM_PATH.to_string());
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("PATH".into(), path.join(":"));
        env.insert("HOME".into(), js.home.display().to_string());
        env.insert("TMPDIR".into(), js.temp.display().to_string());
        // `CI` may be changed by the workflow; GitHub's other variables may not.
        env.insert("CI".into(), "true".into());
        env.extend(env_ctx.clone());
        let github = &contexts["github"];
        let g = |k: &str| expr::to_text(&github[k]);
        for (k, v) in [
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_WORKSPACE", js.workspace.display().to_string()),
            ("GITHUB_REPOSITORY", g("repository")),
            ("GITHUB_REPOSITORY_OWNER", g("repository_owner")),
            ("GITHUB_SHA", g("sha")),
            ("GITHUB_REF", g("ref")),
            ("GITHUB_REF_NAME", g("ref_name")),
            ("GITHUB_HEAD_REF", g("head_ref")),
            ("GITHUB_BASE_REF", g("base_ref")),
            ("GITHUB_EVENT_NAME", g("event_name")),
            ("GITHUB_EVENT_PATH", g("event_path")),
            ("GITHUB_RUN_ID", g("run_id")),
            ("GITHUB_RUN_NUMBER", g("run_number")),
            ("GITHUB_RUN_ATTEMPT", g("run_attempt")),
            ("GITHUB_JOB", job.id.clone()),
            ("GITHUB_WORKFLOW", g("workflow")),
            ("GITHUB_ACTOR", g("actor")),
            ("GITHUB_SERVER_URL", g("server_url")),
            ("GITHUB_API_URL", g("api_url")),
            ("GITHUB_GRAPHQL_URL", g("graphql_url")),
            ("GITHUB_OUTPUT", output_file.display().to_string()),
            ("GITHUB_ENV", env_file.display().to_string()),
            ("GITHUB_PATH", path_file.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary_file.display().to_string()),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
            ("RUNNER_TEMP", js.temp.display().to_string()),
            ("RUNNER_TOOL_CACHE", js.tools.display().to_string()),
        ] {
            env.insert(k.to_string(), v);
        }
        done.env = env.clone();

        let ok = if let Some(script) = &step.run {
            let script = expr::interpolate(script, &step_scope);
            let shell = step
                .shell
                .clone()
                .or_else(|| job.defaults.shell.clone())
                .or_else(|| self.wf.defaults.shell.clone());
            let args: Vec<&str> = match shell.as_deref() {
                None => vec!["bash", "-e"],
                Some("bash") => vec!["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                Some("sh") => vec!["sh", "-e"],
                Some(other) => panic!("{place}: the test runner does not run `shell: {other}`"),
            };
            done.shell = args.iter().map(|a| a.to_string()).collect();
            let file = js.temp.join(format!("step-{n}.sh"));
            std::fs::write(&file, &script).unwrap();
            let wd = step
                .working_directory
                .clone()
                .or_else(|| job.defaults.working_directory.clone())
                .or_else(|| self.wf.defaults.working_directory.clone());
            let wd = match wd {
                Some(d) => js.workspace.join(expr::interpolate(&d, &step_scope)),
                None => js.workspace.clone(),
            };
            let out = std::process::Command::new(args[0])
                .args(&args[1..])
                .arg(&file)
                .current_dir(&wd)
                .env_clear()
                .envs(&env)
                .stdin(std::process::Stdio::null())
                .output();
            match out {
                Ok(o) => {
                    done.code = o.status.code();
                    done.stdout = String::from_utf8_lossy(&o.stdout).into_owned();
                    done.stderr = String::from_utf8_lossy(&o.stderr).into_owned();
                    o.status.success()
                }
                Err(e) => {
                    done.stderr = format!("cannot start {} in {}: {e}", args[0], wd.display());
                    false
                }
            }
        } else {
            let uses = step.uses.as_deref().unwrap();
            let with = evaluate_map(&step.with, contexts, AT_STEP, &scope("with"));
            let mut shim = ShimContext {
                github: self.runner.github,
                repo: self.runner.repo.as_deref(),
                skconn: &self.runner.skconn,
                workspace: &js.workspace,
                home: &js.home,
                tools: &js.tools,
                run_id: self.run_id,
                head_branch: &self.head_branch,
                head_sha: &self.head_sha,
                place,
                added_paths: Vec::new(),
                warnings: Vec::new(),
            };
            let result = shims::run(uses, &with, &mut shim);
            done.annotations
                .extend(shim.warnings.iter().map(|w| format!("warning: {w}")));
            for p in shim.added_paths {
                js.paths.insert(0, p);
            }
            match result {
                Ok(outputs) => {
                    done.outputs = outputs;
                    true
                }
                Err(message) => {
                    done.stderr = message;
                    false
                }
            }
        };
        if let Some(refused) = self.gh.take_refusal() {
            panic!("{place}: {refused}");
        }
        // GitHub's runner reads workflow commands from both streams.
        for line in done.stdout.lines().chain(done.stderr.lines()) {
            for kind in ["error", "warning", "notice"] {
                if let Some(rest) = line.strip_prefix(&format!("::{kind}")) {
                    let message = rest.split_once("::").map(|(_, m)| m).unwrap_or(rest);
                    done.annotations.push(format!("{kind}: {message}"));
                }
            }
        }

        // What the step left in its files.
        let read = |f: &Path| std::fs::read_to_string(f).unwrap_or_default();
        done.outputs
            .extend(file_commands(&read(&output_file), &scope("GITHUB_OUTPUT")));
        for (k, v) in file_commands(&read(&env_file), &scope("GITHUB_ENV")) {
            // GitHub's own variables cannot be changed.
            if !(k.starts_with("GITHUB_") || k.starts_with("RUNNER_")) {
                js.github_env.insert(k, v);
            }
        }
        for line in read(&path_file).lines().filter(|l| !l.trim().is_empty()) {
            js.paths.insert(0, line.trim().to_string());
        }
        js.summary.push_str(&read(&summary_file));

        done.outcome = if ok {
            Conclusion::Success
        } else {
            Conclusion::Failure
        };
        let continue_on_error = step.continue_on_error.as_ref().is_some_and(|c| match c {
            Value::Bool(b) => *b,
            Value::String(s) => match expr::interpolate(s, &step_scope).as_str() {
                "true" => true,
                "false" => false,
                other => panic!("{place}: continue-on-error is {other:?}, not a boolean"),
            },
            other => panic!("{place}: continue-on-error is {other}"),
        });
        done.conclusion = if !ok && continue_on_error {
            Conclusion::Success
        } else {
            done.outcome
        };
        done
    }
}

/// The `name=value` and `name<<DELIMITER` lines of `GITHUB_OUTPUT` and `GITHUB_ENV`.
fn file_commands(text: &str, place: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                        None => panic!("{place}: no line `{delimiter}` ends `{name}`"),
                    }
                }
                out.push((name.to_string(), value.join("\n")));
            }
            _ => panic!("{place}: `{line}` is neither `name=value` nor `name<<DELIMITER`"),
        }
    }
    out
}

pub(super) fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
