//! The `.gitlab-ci.yml` that `skconn init --ci gitlab` writes, run as a GitLab runner would run
//! it: a mini pipeline for the subset of GitLab CI the file uses (`stages`, `default.image`,
//! jobs with `stage`, `rules` (`if`, `when`, `variables`), `environment`, `resource_group`,
//! `needs` (`job`, `optional`, `artifacts`), `variables`, `script`, `after_script`,
//! `artifacts` (`when`, `expire_in`, `paths`)), against the fake GitLab API and the emulators; then the stories of
//! the review loop on GitLab.
//!
//! Like the GitHub runner, it is never kinder than GitLab: it panics on any key or rule
//! expression it does not run, a job gets exactly the variables GitLab would give it (the
//! predefined ones, the CI/CD variables its environment and branch may see, its own), each
//! job starts in a fresh copy of the repository with only the artifacts of the jobs it needs,
//! and its `script:` lines run in order in one `sh -e`; then, as GitLab does, its
//! `after_script:` lines in another `sh -e` in the same directory, whatever the script did,
//! with `CI_JOB_STATUS` (`success` or `failed`), their exit never changing the job's status.

use crate::fake_gitlab::{FakeGitlab, BOT, PROJECT_ID, PROJECT_PATH};
use crate::support::*;
use serde_yaml::Value;
use skconn::emulator::Emulator;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A CI/CD variable of the project (Settings → CI/CD → Variables).
#[derive(Clone)]
struct CiVar {
    name: String,
    value: String,
    /// Only pipelines of protected branches (here: the default branch) get it.
    protected: bool,
    /// Only jobs of this environment get it (`None`: all environments, `*`).
    scope: Option<String>,
}

/// What started a pipeline.
#[derive(Clone)]
enum Source {
    /// A merge-request pipeline of `iid` at its head `sha`.
    MergeRequest { iid: u64, sha: String },
    /// A push to the default branch.
    Push { sha: String },
    /// Run by hand on the default branch, with these variables.
    Web {
        sha: String,
        vars: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Success,
    Failed,
    /// Not run: a job it needs, or an earlier stage, did not succeed.
    Skipped,
}

/// One job of a pipeline, once run (or skipped).
#[derive(Debug)]
struct JobRun {
    name: String,
    status: Status,
    code: Option<i32>,
    log: String,
    /// The variables it ran with.
    env: BTreeMap<String, String>,
    /// Its artifacts, as uploaded.
    artifacts: Vec<(String, Vec<u8>)>,
}

#[derive(Debug)]
struct PipelineRun {
    jobs: Vec<JobRun>,
}

impl PipelineRun {
    #[track_caller]
    fn job(&self, name: &str) -> &JobRun {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .unwrap_or_else(|| panic!("no job {name} in the pipeline: {:?}", self.names()))
    }

    fn names(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.name.as_str()).collect()
    }

    fn succeeded(&self) -> bool {
        self.jobs.iter().all(|j| j.status == Status::Success)
    }
}

impl std::fmt::Display for PipelineRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for j in &self.jobs {
            writeln!(
                f,
                "=== {} {:?} (exit {:?})\n{}",
                j.name, j.status, j.code, j.log
            )?;
        }
        Ok(())
    }
}

const JOB_KEYS: &[&str] = &[
    "stage",
    "rules",
    "environment",
    "resource_group",
    "needs",
    "variables",
    "script",
    "after_script",
    "artifacts",
];

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn mapping_vars(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Null => Vec::new(),
        Value::Mapping(m) => m.iter().map(|(k, v)| (text(k), text(v))).collect(),
        other => panic!("variables is not a mapping: {other:?}"),
    }
}

/// One term of a rule's `if`: `$A`, `$A == "x"`, `$A != "x"`, `$A == $B`, `$A == null`.
fn term(t: &str, vars: &BTreeMap<String, String>) -> bool {
    let value = |side: &str| -> Option<String> {
        let side = side.trim();
        if let Some(name) = side.strip_prefix('$') {
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "a rule names {side:?}, which this runner does not read"
            );
            vars.get(name).cloned()
        } else if side == "null" {
            None
        } else if let Some(s) = side.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(s.to_string())
        } else {
            panic!("a rule compares with {side:?}, which this runner does not read")
        }
    };
    for (op, equal) in [("==", true), ("!=", false)] {
        if let Some((a, b)) = t.split_once(op) {
            return (value(a) == value(b)) == equal;
        }
    }
    // A variable alone: defined and not empty.
    value(t).is_some_and(|v| !v.is_empty())
}

fn rule_matches(expr: &str, vars: &BTreeMap<String, String>) -> bool {
    assert!(
        !expr.contains("||") && !expr.contains('(') && !expr.contains("=~"),
        "a rule this runner does not read: {expr}"
    );
    expr.split("&&").all(|t| term(t, vars))
}

/// A job in the pipeline: its name, its definition, its rule's `when` and `variables`.
type Selected<'d> = (String, &'d Value, String, Vec<(String, String)>);

struct Pipeline<'a> {
    repo: &'a Path,
    gl: &'a FakeGitlab,
    vars: &'a [CiVar],
    bin: PathBuf,
    id: u64,
}

impl Pipeline<'_> {
    /// The predefined variables of every job of this pipeline.
    fn predefined(&self, source: &Source) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        let mut set = |k: &str, x: String| {
            v.insert(k.to_string(), x);
        };
        set("CI", "true".into());
        set("GITLAB_CI", "true".into());
        set("CI_API_V4_URL", self.gl.url());
        set("CI_PROJECT_ID", PROJECT_ID.to_string());
        set("CI_PROJECT_PATH", PROJECT_PATH.into());
        set("CI_DEFAULT_BRANCH", "main".into());
        set("CI_PIPELINE_ID", self.id.to_string());
        set(
            "CI_PIPELINE_URL",
            format!(
                "https://gitlab.example.com/{PROJECT_PATH}/-/pipelines/{}",
                self.id
            ),
        );
        set("CI_JOB_TOKEN", self.gl.job_token());
        match source {
            Source::MergeRequest { iid, sha } => {
                set("CI_PIPELINE_SOURCE", "merge_request_event".into());
                set("CI_COMMIT_SHA", sha.clone());
                set("CI_MERGE_REQUEST_IID", iid.to_string());
                set("CI_MERGE_REQUEST_PROJECT_ID", PROJECT_ID.to_string());
            }
            Source::Push { sha } => {
                set("CI_PIPELINE_SOURCE", "push".into());
                set("CI_COMMIT_SHA", sha.clone());
                set("CI_COMMIT_BRANCH", "main".into());
            }
            Source::Web { sha, vars } => {
                set("CI_PIPELINE_SOURCE", "web".into());
                set("CI_COMMIT_SHA", sha.clone());
                set("CI_COMMIT_BRANCH", "main".into());
                for (k, x) in vars {
                    set(k, x.clone());
                }
            }
        }
        v
    }

    /// The CI/CD variables a job of `environment` gets on this pipeline's branch.
    fn project_vars(&self, source: &Source, environment: Option<&str>) -> Vec<(String, String)> {
        let protected_ref = !matches!(source, Source::MergeRequest { .. });
        self.vars
            .iter()
            .filter(|v| protected_ref || !v.protected)
            .filter(|v| v.scope.is_none() || v.scope.as_deref() == environment)
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }

    fn run(&self, ci_file: &Path, source: &Source) -> PipelineRun {
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(ci_file).unwrap()).unwrap();
        let Value::Mapping(top) = &doc else {
            panic!("not a mapping")
        };
        let stages: Vec<String> = doc["stages"]
            .as_sequence()
            .expect("stages")
            .iter()
            .map(text)
            .collect();
        assert!(doc["default"]["image"]["name"].is_string());
        let predefined = self.predefined(source);
        // The jobs in the pipeline: those whose first matching rule is not `never`.
        let mut selected: Vec<Selected> = Vec::new();
        for (k, job) in top {
            let name = text(k);
            if matches!(name.as_str(), "stages" | "default") {
                continue;
            }
            let Value::Mapping(m) = job else {
                panic!("{name} is not a job")
            };
            for key in m.keys() {
                assert!(
                    JOB_KEYS.contains(&text(key).as_str()),
                    "{name}: this runner does not run {key:?}"
                );
            }
            let mut rule_env = predefined.clone();
            rule_env.extend(self.project_vars(source, None));
            rule_env.extend(mapping_vars(&job["variables"]));
            let mut chosen = None;
            for rule in job["rules"].as_sequence().expect("every job has rules") {
                for key in rule.as_mapping().unwrap().keys() {
                    assert!(
                        matches!(text(key).as_str(), "if" | "when" | "variables"),
                        "{name}: rule key {key:?}"
                    );
                }
                if rule_matches(&text(&rule["if"]), &rule_env) {
                    let when = rule["when"].as_str().unwrap_or("on_success").to_string();
                    chosen = Some((when, mapping_vars(&rule["variables"])));
                    break;
                }
            }
            if let Some((when, vars)) = chosen {
                assert!(
                    matches!(when.as_str(), "on_success" | "always" | "never"),
                    "{name}: when {when}"
                );
                if when != "never" {
                    selected.push((name, job, when, vars));
                }
            }
        }
        let stage_of = |job: &Value| {
            let s = text(&job["stage"]);
            stages
                .iter()
                .position(|x| *x == s)
                .unwrap_or_else(|| panic!("stage {s} is not in stages"))
        };
        selected.sort_by_key(|(_, job, _, _)| stage_of(job));
        let mut done: Vec<JobRun> = Vec::new();
        for (name, job, when, rule_vars) in &selected {
            // What it needs: its `needs` (that are in the pipeline), else every earlier stage.
            let mut needed: Vec<(String, bool)> = Vec::new();
            if let Some(needs) = job["needs"].as_sequence() {
                for n in needs {
                    let (job_name, optional, artifacts) = match n {
                        Value::String(s) => (s.clone(), false, true),
                        Value::Mapping(m) => {
                            for key in m.keys() {
                                assert!(
                                    matches!(text(key).as_str(), "job" | "optional" | "artifacts"),
                                    "{name}: needs key {key:?}"
                                );
                            }
                            (
                                text(&n["job"]),
                                n["optional"].as_bool().unwrap_or(false),
                                n["artifacts"].as_bool().unwrap_or(true),
                            )
                        }
                        other => panic!("{name}: needs {other:?}"),
                    };
                    if selected.iter().any(|(s, ..)| *s == job_name) {
                        assert!(
                            done.iter().any(|d| d.name == job_name),
                            "{name} needs {job_name}, which runs after it"
                        );
                        needed.push((job_name, artifacts));
                    } else {
                        assert!(
                            optional,
                            "GitLab refuses the pipeline: {name} needs {job_name}, which is not in it"
                        );
                    }
                }
            } else {
                let mine = stage_of(job);
                for (other, o, ..) in &selected {
                    if stage_of(o) < mine {
                        needed.push((other.clone(), true));
                    }
                }
            }
            let ok = needed.iter().all(|(n, _)| {
                done.iter()
                    .find(|d| d.name == *n)
                    .is_some_and(|d| d.status == Status::Success)
            });
            let environment = job["environment"]["name"].as_str();
            let mut env = predefined.clone();
            env.insert("CI_JOB_NAME".into(), name.clone());
            if let Some(e) = environment {
                env.insert("CI_ENVIRONMENT_NAME".into(), e.into());
            }
            env.extend(self.project_vars(source, environment));
            env.extend(mapping_vars(&job["variables"]));
            env.extend(rule_vars.iter().cloned());
            if !ok && when != "always" {
                done.push(JobRun {
                    name: name.clone(),
                    status: Status::Skipped,
                    code: None,
                    log: String::new(),
                    env,
                    artifacts: Vec::new(),
                });
                continue;
            }
            // A fresh checkout, with the artifacts of the jobs it needs.
            let work = tempfile::tempdir().unwrap();
            copy_dir(self.repo, work.path());
            for (n, artifacts) in &needed {
                let d = done.iter().find(|d| d.name == *n).unwrap();
                if *artifacts {
                    for (path, bytes) in &d.artifacts {
                        let to = work.path().join(path);
                        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                        std::fs::write(to, bytes).unwrap();
                    }
                }
            }
            let script: Vec<String> = job["script"]
                .as_sequence()
                .expect("script")
                .iter()
                .map(text)
                .collect();
            let home = tempfile::tempdir().unwrap();
            let sh = |lines: &[String], extra: &[(&str, &str)]| {
                std::process::Command::new("sh")
                    .arg("-e")
                    .arg("-c")
                    .arg(lines.join("\n"))
                    .current_dir(work.path())
                    .env_clear()
                    .envs(&env)
                    .envs(extra.iter().copied())
                    .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
                    .env("HOME", home.path())
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("sh runs")
            };
            let mut out = sh(&script, &[]);
            let status = if out.status.success() {
                Status::Success
            } else {
                Status::Failed
            };
            if let Some(after) = job["after_script"].as_sequence() {
                let lines: Vec<String> = after.iter().map(text).collect();
                let job_status = match status {
                    Status::Success => "success",
                    _ => "failed",
                };
                let a = sh(&lines, &[("CI_JOB_STATUS", job_status)]);
                out.stdout.extend(a.stdout);
                out.stderr.extend(a.stderr);
            }
            let art = &job["artifacts"];
            let upload = match art["when"].as_str().unwrap_or("on_success") {
                "always" => true,
                "on_success" => status == Status::Success,
                other => panic!("{name}: artifacts when {other}"),
            };
            let mut artifacts = Vec::new();
            if upload {
                for p in art["paths"].as_sequence().into_iter().flatten() {
                    let p = text(p);
                    if let Ok(bytes) = std::fs::read(work.path().join(&p)) {
                        artifacts.push((p, bytes));
                    }
                }
            }
            done.push(JobRun {
                name: name.clone(),
                status,
                code: out.status.code(),
                log: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
                env,
                artifacts,
            });
        }
        let run = PipelineRun { jobs: done };
        // GitLab serves the artifacts of the latest successful pipeline of a branch.
        if !matches!(source, Source::MergeRequest { .. }) && run.succeeded() {
            for j in &run.jobs {
                self.gl.keep_artifacts("main", &j.name, &j.artifacts);
            }
        }
        run
    }
}

// ---- the stories ----

fn sha(n: u64) -> String {
    format!("{n:040x}")
}
fn merge_sha(n: u64) -> String {
    format!("{:040x}", 0xabc000 + n)
}

/// A connectors repository started by `skconn init --ci gitlab` (dev planned live, prod against
/// its snapshot), the emulators as dev and prod with the CI/CD variables `skconn init` lists,
/// and the fake GitLab.
struct Scene {
    gl: FakeGitlab,
    dev: Emulator,
    prod: Emulator,
    repo: Repo,
    bin: tempfile::TempDir,
    pipelines: std::cell::Cell<u64>,
    token: bool,
}

impl Scene {
    /// Started, with the example connector applied to both environments and a first pipeline
    /// run by hand on the default branch, which keeps the first snapshots.
    fn new(token: bool) -> Scene {
        let repo = Repo::new();
        repo.skconn(["init", "--ci", "gitlab"]).code(0);
        let bin = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_skconn"), bin.path().join("skconn"))
            .unwrap();
        let scene = Scene {
            gl: FakeGitlab::start(),
            dev: emulator(),
            prod: emulator(),
            repo,
            bin,
            pipelines: std::cell::Cell::new(4000),
            token,
        };
        let first = scene.pipeline(&Source::Web {
            sha: sha(0),
            vars: Vec::new(),
        });
        assert!(first.succeeded(), "{first}");
        scene.dev.clear_requests();
        scene.prod.clear_requests();
        scene
    }

    /// The CI/CD variables, as `skconn init --ci gitlab` says to create them.
    fn vars(&self) -> Vec<CiVar> {
        let var = |name: &str, value: &str, protected: bool, scope: Option<&str>| CiVar {
            name: name.into(),
            value: value.into(),
            protected,
            scope: scope.map(str::to_string),
        };
        let mut out = Vec::new();
        for (env, stem, emu, live) in [
            ("dev", "DEV", &self.dev, true),
            ("prod", "PROD", &self.prod, false),
        ] {
            out.push(var(
                &format!("SCALEKIT_{stem}_URL"),
                &emu.url(),
                false,
                None,
            ));
            out.push(var(
                &format!("SCALEKIT_{stem}_CLIENT_ID"),
                emu.client_id(),
                !live,
                Some(env),
            ));
            out.push(var(
                &format!("SCALEKIT_{stem}_CLIENT_SECRET"),
                emu.client_secret(),
                !live,
                Some(env),
            ));
        }
        if self.token {
            out.push(var("SKCONN_GITLAB_TOKEN", self.gl.token(), false, None));
        }
        out
    }

    fn pipeline(&self, source: &Source) -> PipelineRun {
        let id = self.pipelines.get() + 1;
        self.pipelines.set(id);
        let vars = self.vars();
        let p = Pipeline {
            repo: self.repo.path(),
            gl: &self.gl,
            vars: &vars,
            bin: self.bin.path().to_path_buf(),
            id,
        };
        let run = p.run(&self.repo.path().join(".gitlab-ci.yml"), source);
        // No job ever shows a secret in its log.
        let secrets = [
            self.gl.token(),
            self.dev.client_secret(),
            self.prod.client_secret(),
        ];
        for j in &run.jobs {
            for s in secrets {
                assert!(!j.log.contains(s), "{} showed a secret:\n{run}", j.name);
            }
        }
        run
    }

    /// Opens (or pushes to) merge request `n` and runs its pipeline.
    fn plan(&self, n: u64) -> PipelineRun {
        self.gl.open(n, &sha(n));
        self.pipeline(&Source::MergeRequest {
            iid: n,
            sha: sha(n),
        })
    }

    /// Merges merge request `n` and runs the default branch's pipeline for its merge commit.
    fn merge(&self, n: u64) -> PipelineRun {
        self.gl.merge(n, &merge_sha(n));
        self.pipeline(&Source::Push { sha: merge_sha(n) })
    }

    fn add_connector(&self, name: &str) {
        std::fs::write(
            self.repo
                .path()
                .join(format!("connectors/{}.yaml", name.to_lowercase())),
            bearer(name),
        )
        .unwrap();
    }

    /// skconn's one note on merge request `n`.
    #[track_caller]
    fn note(&self, n: u64) -> String {
        let mine: Vec<_> = self
            .gl
            .notes(n)
            .into_iter()
            .filter(|x| x.author == BOT && x.body.starts_with("<!-- skconn-plan -->"))
            .collect();
        assert_eq!(mine.len(), 1, "not exactly one skconn note: {mine:#?}");
        mine[0].body.clone()
    }
}

#[track_caller]
fn assert_no_credentials(job: &JobRun, stems: &[&str]) {
    for stem in stems {
        for what in ["CLIENT_ID", "CLIENT_SECRET"] {
            let k = format!("SCALEKIT_{stem}_{what}");
            assert!(!job.env.contains_key(&k), "{} was given {k}", job.name);
        }
    }
}

#[test]
fn a_merge_request_is_planned_per_environment_and_noted_once() {
    let s = Scene::new(true);
    s.add_connector("Zendesk");
    let run = s.plan(7);
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.names(), ["plan-dev", "plan-prod", "note"], "{run}");
    // Dev is planned live with its own credentials; prod against its snapshot with none; the
    // note job holds no Scalekit credential at all.
    assert!(run
        .job("plan-dev")
        .env
        .contains_key("SCALEKIT_DEV_CLIENT_SECRET"));
    assert_no_credentials(run.job("plan-dev"), &["PROD"]);
    assert_no_credentials(run.job("plan-prod"), &["DEV", "PROD"]);
    assert_no_credentials(run.job("note"), &["DEV", "PROD"]);
    assert_eq!(
        s.prod.requests().len(),
        0,
        "prod was reached from a merge request"
    );
    let note = s.note(7);
    for env in ["dev", "prod"] {
        assert!(
            note.contains(&format!("<!-- skconn-digest-input env={env} ")),
            "{note}"
        );
    }
    assert!(note.contains("Zendesk"), "{note}");
    assert!(note.contains(&sha(7)[..12]), "{note}");
    // A second push updates the same note.
    s.gl.push(7, &sha(8));
    let again = s.pipeline(&Source::MergeRequest {
        iid: 7,
        sha: sha(8),
    });
    assert!(again.succeeded(), "{again}");
    assert!(s.note(7).contains(&sha(8)[..12]));
}

#[test]
fn merged_with_nothing_else_changed_applies_what_the_note_showed() {
    let s = Scene::new(true);
    s.add_connector("Zendesk");
    assert!(s.plan(7).succeeded());
    let run = s.merge(7);
    assert!(run.succeeded(), "{run}");
    assert_eq!(
        run.names(),
        ["apply-dev", "apply-prod", "snapshot-dev", "snapshot-prod"],
        "{run}"
    );
    for (emu, job) in [(&s.dev, "apply-dev"), (&s.prod, "apply-prod")] {
        assert!(names(emu).contains(&"Zendesk".to_string()), "{run}");
        let log = &run.job(job).log;
        assert!(
            log.contains("Approved by skconn's note on merge request !7"),
            "{log}"
        );
        assert!(!log.contains("NOT held to a reviewed plan"), "{log}");
    }
    // The fresh snapshot is what the next merge request plans prod against: nothing to do.
    let next = s.plan(9);
    assert!(next.succeeded(), "{next}");
    let note = s.note(9);
    assert!(!note.contains("Zendesk"), "{note}");
}

#[test]
fn a_dashboard_edit_between_review_and_merge_stops_the_apply_and_sends_nothing() {
    let s = Scene::new(true);
    s.add_connector("Zendesk");
    assert!(s.plan(7).succeeded());
    assert!(s.merge(7).succeeded());
    // A change to Zendesk is reviewed…
    std::fs::write(
        s.repo.path().join("connectors/zendesk.yaml"),
        bearer("Zendesk").replace("description: Zendesk API", "description: Zendesk v2"),
    )
    .unwrap();
    assert!(s.plan(8).succeeded());
    let approved_note = s.note(8);
    // …then prod's copy is edited in the dashboard before the merge.
    s.prod.edit("Zendesk", |c| {
        c["description"] = serde_json::json!("edited by hand")
    });
    s.prod.clear_requests();
    let run = s.merge(8);
    assert_eq!(run.job("apply-dev").status, Status::Success, "{run}");
    let prod = run.job("apply-prod");
    assert_eq!(prod.status, Status::Failed, "{run}");
    assert_eq!(prod.code, Some(6), "{run}");
    assert!(
        prod.log
            .contains("the live connector changed since the review (drift)"),
        "{run}"
    );
    assert_eq!(api_writes(&s.prod), 0, "prod was written to:\n{run}");
    assert_eq!(
        s.prod.connector("Zendesk").unwrap()["description"],
        "edited by hand"
    );
    assert_eq!(
        s.dev.connector("Zendesk").unwrap()["description"],
        "Zendesk v2"
    );
    // The merged merge request gets one note saying why prod was not applied: the reasons, the
    // fresh plan, and the way forward; the plan note stays what was approved, and dev, applied
    // cleanly, gets none.
    assert_eq!(s.note(8), approved_note);
    let apply_notes: Vec<_> =
        s.gl.notes(8)
            .into_iter()
            .filter(|x| x.author == BOT && x.body.starts_with("<!-- skconn-apply "))
            .collect();
    assert_eq!(apply_notes.len(), 1, "{apply_notes:#?}\n{run}");
    let why = &apply_notes[0].body;
    assert!(why.starts_with("<!-- skconn-apply env=prod -->\n"), "{why}");
    assert!(why.contains("The apply of `prod` **stopped**"), "{why}");
    assert!(
        why.contains("the live connector changed since the review (drift)"),
        "{why}"
    );
    assert!(
        why.contains("The fresh plan, which was **not** applied"),
        "{why}"
    );
    assert!(why.contains("Zendesk"), "{why}");
    assert!(why.contains("Build → Pipelines → Run pipeline"), "{why}");
    assert!(why.contains("(merge request !8) in [pipeline "), "{why}");
    assert!(
        prod.log
            .contains("Created the apply note of `prod` on merge request !8"),
        "{run}"
    );
    assert!(!run.job("apply-dev").log.contains("apply note"), "{run}");
    assert!(s
        .gl
        .notes(7)
        .iter()
        .all(|x| !x.body.starts_with("<!-- skconn-apply ")));
    // The way past it: a pipeline run by hand applies each environment's current plan, which
    // its log shows, and says it is not held to a reviewed plan.
    let by_hand = s.pipeline(&Source::Web {
        sha: merge_sha(8),
        vars: Vec::new(),
    });
    assert!(by_hand.succeeded(), "{by_hand}");
    let log = &by_hand.job("apply-prod-unreviewed").log;
    assert!(log.contains("NOT held to a reviewed plan"), "{log}");
    assert!(log.contains("\"edited by hand\" → \"Zendesk v2\""), "{log}");
    assert_eq!(
        s.prod.connector("Zendesk").unwrap()["description"],
        "Zendesk v2"
    );
}

#[test]
fn without_a_token_the_note_is_the_log_and_the_apply_says_it_is_not_held() {
    let s = Scene::new(false);
    s.add_connector("Zendesk");
    let run = s.plan(7);
    assert!(run.succeeded(), "{run}");
    let note = &run.job("note").log;
    assert!(note.contains("SKCONN_GITLAB_TOKEN is not set"), "{note}");
    assert!(note.contains("Zendesk"), "{note}");
    assert!(s.gl.notes(7).is_empty());
    let merged = s.merge(7);
    assert!(merged.succeeded(), "{merged}");
    assert_eq!(
        merged.names(),
        [
            "apply-dev-unreviewed",
            "apply-prod-unreviewed",
            "snapshot-dev",
            "snapshot-prod"
        ],
        "{merged}"
    );
    let log = &merged.job("apply-prod-unreviewed").log;
    assert!(log.contains("NOT held to a reviewed plan"), "{log}");
    assert!(log.contains("SKCONN_GITLAB_TOKEN"), "{log}");
    assert!(names(&s.prod).contains(&"Zendesk".to_string()));
}

#[test]
fn an_invalid_file_fails_the_pipeline_the_note_says_why_and_nothing_is_applied() {
    let s = Scene::new(true);
    std::fs::write(
        s.repo.path().join("connectors/broken.yaml"),
        "display_name: Broken\nauth_type: NOPE\n",
    )
    .unwrap();
    let run = s.plan(7);
    assert!(!run.succeeded(), "{run}");
    assert_eq!(run.job("plan-dev").status, Status::Failed, "{run}");
    assert_eq!(run.job("note").status, Status::Failed, "{run}");
    let note = s.note(7);
    assert!(note.contains("broken.yaml"), "{note}");
    assert_eq!(api_writes(&s.dev), 0);
}

// ---- the file itself ----

fn init_gitlab(envs: &[&str]) -> (Value, String) {
    let repo = Repo::new();
    let mut args = vec!["init", "--ci", "gitlab"];
    for e in envs {
        args.extend(["--env", e]);
    }
    let out = repo.skconn(&args);
    out.code(0);
    let text = std::fs::read_to_string(repo.path().join(".gitlab-ci.yml")).unwrap();
    (serde_yaml::from_str(&text).unwrap(), out.stdout.clone())
}

fn script(doc: &Value, job: &str) -> Vec<String> {
    doc[job]["script"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no job {job}"))
        .iter()
        .map(text)
        .collect()
}

#[test]
fn the_file_is_the_loop_for_one_two_and_three_environments() {
    for envs in [&["dev"][..], &["dev", "prod"], &["dev", "staging", "prod"]] {
        let (doc, _) = init_gitlab(envs);
        // One note job, after every plan job with its artifacts, in no environment (so with no
        // environment's credentials), whichever plan failed.
        let note = &doc["note"];
        assert!(note["environment"].is_null());
        assert_eq!(note["rules"][0]["when"].as_str(), Some("always"));
        let needs: Vec<(String, bool)> = note["needs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| (text(&n["job"]), n["artifacts"].as_bool().unwrap()))
            .collect();
        let plans: Vec<String> = envs.iter().map(|e| format!("plan-{e}")).collect();
        assert_eq!(
            needs,
            plans.iter().map(|p| (p.clone(), true)).collect::<Vec<_>>()
        );
        let files: Vec<String> = envs.iter().map(|e| format!("plan-{e}.json")).collect();
        assert_eq!(
            script(&doc, "note"),
            [format!("skconn gitlab note {}", files.join(" "))]
        );
        for (i, e) in envs.iter().enumerate() {
            let plan = script(&doc, &format!("plan-{e}"));
            assert!(
                plan.last()
                    .unwrap()
                    .ends_with(&format!("--format json > plan-{e}.json")),
                "{plan:?}"
            );
            assert_eq!(
                doc[format!("plan-{e}").as_str()]["artifacts"]["when"].as_str(),
                Some("always")
            );
            assert_eq!(
                script(&doc, &format!("apply-{e}")),
                [
                    format!("skconn gitlab approved --env {e} --save approved-{e}.json"),
                    format!("skconn apply --env {e} --auto-approve --approved @approved-{e}.json --report apply-{e}.json"),
                ]
            );
            let unreviewed = script(&doc, &format!("apply-{e}-unreviewed"));
            assert!(unreviewed[0].contains("NOT held to a reviewed plan"));
            assert_eq!(unreviewed.len(), 2);
            for job in [format!("apply-{e}"), format!("apply-{e}-unreviewed")] {
                let j = &doc[job.as_str()];
                assert_eq!(j["environment"]["name"].as_str(), Some(*e));
                assert_eq!(
                    j["resource_group"].as_str(),
                    Some(format!("skconn-apply-{e}").as_str())
                );
                let needs: Vec<String> = j["needs"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|n| text(&n["job"]))
                    .collect();
                match i {
                    0 => assert!(needs.is_empty()),
                    _ => assert_eq!(
                        needs,
                        [
                            format!("apply-{}", envs[i - 1]),
                            format!("apply-{}-unreviewed", envs[i - 1])
                        ]
                    ),
                }
            }
            assert_eq!(
                script(&doc, &format!("snapshot-{e}")),
                [format!("skconn snapshot --env {e} --out-dir snapshots")]
            );
        }
        // Thin: no script line holds more than one skconn command.
        for (k, job) in doc.as_mapping().unwrap() {
            for line in job["script"].as_sequence().into_iter().flatten() {
                let line = text(line);
                assert!(line.matches("skconn ").count() <= 1, "{k:?}: {line}");
            }
        }
    }
}

#[test]
fn init_prints_exactly_which_gitlab_variables_to_create() {
    let (_, out) = init_gitlab(&["dev", "prod"]);
    for want in [
        "SKCONN_GITLAB_TOKEN (masked, not protected): a project access token",
        "the role Reporter and the scope `api`",
        "SCALEKIT_PROD_URL: all environments (*), not protected, not masked",
        "SCALEKIT_PROD_CLIENT_ID and SCALEKIT_PROD_CLIENT_SECRET (masked): environment scope `prod`, protected",
        "SCALEKIT_DEV_CLIENT_ID and SCALEKIT_DEV_CLIENT_SECRET (masked): environment scope `dev`, not protected",
        "read skconn's plan note",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn with_no_snapshot_yet_that_environment_says_so_and_the_others_still_plan() {
    let s = Scene::new(true);
    // The default branch's latest successful pipeline kept no snapshot of prod.
    s.gl.keep_artifacts("main", "snapshot-prod", &[]);
    s.add_connector("Zendesk");
    let run = s.plan(7);
    assert_eq!(run.job("plan-dev").status, Status::Success, "{run}");
    let prod = run.job("plan-prod");
    assert_eq!(prod.status, Status::Failed, "{run}");
    assert!(prod.log.contains("No snapshot of prod yet"), "{run}");
    assert_eq!(run.job("note").status, Status::Failed, "{run}");
    let note = s.note(7);
    assert!(note.contains("Zendesk"), "{note}");
    assert!(note.contains("<!-- skconn-failed env=prod -->"), "{note}");
    assert!(note.contains("cannot read the snapshot"), "{note}");
}

#[test]
fn gitlab_snapshot_reads_only_the_environments_own_snapshot_with_the_job_token() {
    let s = Scene::new(true);
    let dev =
        s.gl.artifact("main", "snapshot-dev", "snapshots/dev.snapshot.json")
            .expect("the first pipeline kept dev's snapshot");
    // A snapshot of dev kept as prod's is refused, and nothing is written.
    s.gl.keep_artifacts(
        "main",
        "snapshot-prod",
        &[("snapshots/prod.snapshot.json".into(), dev)],
    );
    let job = |token: &str| {
        s.repo
            .cmd(["gitlab", "snapshot", "--env", "prod", "--out-dir", "got"])
            .env("CI_API_V4_URL", &s.gl.url())
            .env("CI_PROJECT_ID", &PROJECT_ID.to_string())
            .env("CI_DEFAULT_BRANCH", "main")
            .env("CI_JOB_TOKEN", token)
            .run()
    };
    let out = job(&s.gl.job_token());
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        out.stderr.contains("is the snapshot of `dev`, not of prod"),
        "{}",
        out.all()
    );
    assert!(!s.repo.path().join("got/prod.snapshot.json").exists());
    // A wrong job token is GitLab's 401, and is never shown.
    let out = job("glcbt-not-the-one");
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(!out.all().contains("glcbt-not-the-one"), "{}", out.all());
    assert!(
        out.stderr.contains("GitLab refused the job's CI_JOB_TOKEN"),
        "{}",
        out.all()
    );
    assert!(!s.repo.path().join("got").exists());
}
