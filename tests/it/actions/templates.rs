//! The workflows `skconn init` writes today, run by the test runner in a scratch repository
//! made by `skconn init` (Dev and Production), with emulators as the environments and the fake
//! GitHub holding the pull request.

use super::{Conclusion, Environment, Run, Runner};
use crate::fake_github::FakeGithub;
use crate::support::*;
use serde_json::{json, Value};
use skconn::emulator::Emulator;
use std::path::PathBuf;

const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "9999999999999999999999999999999999999999";

/// A repository started by `skconn init`, its two environments and the fake GitHub.
pub struct Scene {
    pub gh: FakeGithub,
    pub dev: Emulator,
    pub prod: Emulator,
    pub repo: Repo,
}

impl Scene {
    pub fn new() -> Scene {
        let repo = Repo::new();
        repo.skconn(["init"]).code(0);
        let repo = repo.connector("payments.yaml", bearer("Payments"));
        Scene {
            gh: FakeGithub::start(),
            dev: emulator(),
            prod: emulator(),
            repo,
        }
    }

    pub fn workflow(&self, name: &str) -> PathBuf {
        self.repo.path().join(".github/workflows").join(name)
    }

    /// A runner with each environment's credentials where the workflows' README says to put
    /// them: repository variables and secrets for plans, and the GitHub environment of the same
    /// name for applies.
    pub fn runner(&self) -> Runner<'_> {
        let mut runner = Runner::new(&self.gh).repo(self.repo.path());
        for (stem, emu) in [("DEV", &self.dev), ("PROD", &self.prod)] {
            let (url, id, secret) = (
                format!("SCALEKIT_{stem}_URL"),
                format!("SCALEKIT_{stem}_CLIENT_ID"),
                format!("SCALEKIT_{stem}_CLIENT_SECRET"),
            );
            runner = runner
                .var(&url, &emu.url())
                .var(&id, emu.client_id())
                .secret(&secret, emu.client_secret())
                .environment(
                    &stem.to_ascii_lowercase(),
                    Environment::new()
                        .var(&url, &emu.url())
                        .var(&id, emu.client_id())
                        .secret(&secret, emu.client_secret()),
                );
        }
        runner
    }

    /// The event of pull request 7 from a branch of the repository.
    pub fn pull_request(&self) -> Value {
        self.gh.open_pull(7, HEAD);
        json!({"action": "opened", "number": 7,
               "pull_request": {"number": 7,
                   "head": {"sha": HEAD, "ref": "add-payments", "repo": {"full_name": self.gh.repo()}},
                   "base": {"ref": "main", "repo": {"full_name": self.gh.repo()}}}})
    }

    /// The push of pull request 7's merge to main.
    pub fn push(&self) -> Value {
        self.gh.merge(7, MERGE);
        json!({"ref": "refs/heads/main", "before": HEAD, "after": MERGE,
               "repository": {"full_name": self.gh.repo()}})
    }
}

#[track_caller]
fn succeeded(run: &Run) {
    assert!(run.succeeded(), "{run}");
}

#[test]
fn the_plan_workflow_comments_the_plan_on_the_pull_request() {
    let scene = Scene::new();
    let run = scene
        .runner()
        .event("pull_request", scene.pull_request())
        .git_ref("refs/pull/7/merge")
        .sha(MERGE)
        .run_workflow(&scene.workflow("skconn-plan.yml"));
    succeeded(&run);
    assert!(run.on.get("pull_request").is_some());
    assert_eq!(
        run.concurrency,
        Some(json!({"group": "skconn-plan-7", "cancel-in-progress": true}))
    );
    let plan = run.job("plan");
    assert_eq!(plan.steps[2].env["GITHUB_SHA"], MERGE);
    assert_eq!(plan.steps[2].env["GITHUB_REF"], "refs/pull/7/merge");
    assert_eq!(plan.step("plan").outputs["exit_code"], "0", "{plan}");
    // The comment, posted with the job's own token through `gh api`.
    let comments = scene.gh.comments(7);
    assert_eq!(comments.len(), 1, "{plan}");
    let body = &comments[0].body;
    assert!(body.starts_with("<!-- skconn-plan -->"), "{body}");
    assert!(body.contains("Payments"), "{body}");
    assert!(body.contains(&format!("run {}", run.id)), "{body}");
    // The saved plan is kept as an artifact of the run, on the pull request's branch.
    let artifacts = scene.gh.artifacts();
    let saved: Vec<_> = artifacts
        .iter()
        .filter(|a| a.name == "skconn-plan")
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        (
            saved[0].run_id,
            saved[0].head_branch.as_str(),
            saved[0].head_sha.as_str()
        ),
        (run.id, "add-payments", HEAD)
    );
    // Planning sends nothing.
    assert_eq!(api_writes(&scene.dev) + api_writes(&scene.prod), 0);
    assert_eq!(
        plan.permissions,
        [("contents", "read"), ("pull-requests", "write")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into()
    );

    // A second push to the pull request updates the same comment.
    let again = scene
        .runner()
        .event("pull_request", scene.pull_request())
        .run_workflow(&scene.workflow("skconn-plan.yml"));
    succeeded(&again);
    let comments = scene.gh.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains(&format!("run {}", again.id)));
}

#[test]
fn the_apply_workflow_on_a_push_applies_dev_then_prod() {
    let scene = Scene::new();
    let run = scene
        .runner()
        .event("push", scene.push())
        .run_workflow(&scene.workflow("skconn-apply.yml"));
    succeeded(&run);
    let order: Vec<&str> = run.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(order, ["apply-dev", "apply-prod"]);
    for (job, env, emu) in [
        ("apply-dev", "dev", &scene.dev),
        ("apply-prod", "prod", &scene.prod),
    ] {
        let job = run.job(job);
        assert_eq!(job.result, Conclusion::Success, "{job}");
        assert_eq!(job.environment.as_deref(), Some(env));
        assert_eq!(
            job.concurrency,
            Some(json!({"group": format!("skconn-apply-{env}"), "cancel-in-progress": false}))
        );
        assert_eq!(job.timeout_minutes, Some(json!(60)));
        assert!(
            names(emu).contains(&"Payments".to_string()),
            "{env}: {:?}",
            names(emu)
        );
    }
    // Each job holds its own environment's secret and no other, and no token.
    let dev = run.job("apply-dev");
    for step in &dev.steps {
        assert!(
            step.env
                .values()
                .all(|v| !v.contains(scene.prod.client_secret())),
            "{dev}"
        );
        assert!(!step.env.contains_key("SCALEKIT_PROD_CLIENT_SECRET"));
        assert!(!step.env.contains_key("GITHUB_TOKEN"));
        assert!(!step.env.values().any(|v| v == &dev.token));
    }
    let apply = dev.step("Apply dev");
    assert_eq!(
        apply
            .env
            .get("SCALEKIT_DEV_CLIENT_SECRET")
            .map(String::as_str),
        Some(scene.dev.client_secret())
    );
    assert_eq!(apply.env.get("FORCE").map(String::as_str), Some("false"));
}

#[test]
fn a_failed_dev_apply_stops_before_prod() {
    let scene = Scene::new();
    let run = scene
        .runner()
        // Dev's GitHub environment holds a wrong secret.
        .environment(
            "dev",
            Environment::new()
                .var("SCALEKIT_DEV_URL", &scene.dev.url())
                .var("SCALEKIT_DEV_CLIENT_ID", scene.dev.client_id())
                .secret("SCALEKIT_DEV_CLIENT_SECRET", "not-the-secret-at-all"),
        )
        .event("push", scene.push())
        .run_workflow(&scene.workflow("skconn-apply.yml"));
    let dev = run.job("apply-dev");
    assert_eq!(dev.result, Conclusion::Failure, "{dev}");
    assert_eq!(dev.step("Apply dev").outcome, Conclusion::Failure);
    assert_eq!(
        dev.step("Plan dev again (must show no changes)").outcome,
        Conclusion::Skipped
    );
    assert_eq!(run.job("apply-prod").result, Conclusion::Skipped);
    assert!(run.job("apply-prod").steps.is_empty());
    assert_eq!(api_writes(&scene.dev) + api_writes(&scene.prod), 0);
}

#[test]
fn the_drift_workflow_fails_until_the_environments_match_the_files() {
    let scene = Scene::new();
    let drift = |scene: &Scene| {
        scene
            .runner()
            .event("schedule", json!({"schedule": "17 6 * * *"}))
            .run_workflow(&scene.workflow("skconn-drift.yml"))
    };
    // Nothing applied yet: the plan has changes, so the check fails.
    let before = drift(&scene);
    let job = before.job("drift");
    assert_eq!(job.result, Conclusion::Failure, "{job}");
    assert_eq!(job.steps[2].code, Some(2), "{job}");
    assert!(job.summary.contains("Payments"), "{job}");

    let apply = scene
        .runner()
        .event("push", scene.push())
        .run_workflow(&scene.workflow("skconn-apply.yml"));
    succeeded(&apply);
    succeeded(&drift(&scene));

    // An edit in Production's dashboard is drift.
    scene
        .prod
        .edit("Payments", |c| c["description"] = json!("edited by hand"));
    let after = drift(&scene);
    let job = after.job("drift");
    assert_eq!(job.result, Conclusion::Failure, "{job}");
    assert!(job.summary.contains("Payments"), "{job}");
    assert_eq!(api_writes(&scene.dev) + api_writes(&scene.prod), 4);
}
