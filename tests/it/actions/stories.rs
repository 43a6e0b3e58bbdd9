//! The six stories of the review loop, run as GitHub's runner would run the workflows `skconn
//! init` writes: a scratch repository started by `skconn init` (Dev planned live, Production
//! against its snapshot), the emulators as Dev and Production, the fake GitHub API holding the
//! pull requests, their comments and the runs' artifacts, shared by every run.

use super::{Conclusion, Environment, JobRun, Run, Runner};
use crate::fake_github::{FakeGithub, BOT};
use crate::support::*;
use serde_json::json;
use skconn::emulator::Emulator;
use std::path::PathBuf;

/// A head commit per pull request, and the merge commits.
fn sha(n: u64) -> String {
    format!("{n:040x}")
}
fn merge_sha(n: u64) -> String {
    format!("{:040x}", 0xabc000 + n)
}

/// A connectors repository started by `skconn init`, with Dev and Production (emulators) set up
/// as `skconn init` says: repository variables for every URL and for Dev's client id, Dev's
/// secret at the repository level (Dev is planned live), and a GitHub environment per skconn
/// environment holding its client id and secret.
struct Scene {
    gh: FakeGithub,
    dev: Emulator,
    prod: Emulator,
    repo: Repo,
}

impl Scene {
    /// Started, with the example connector applied to both environments and a first drift run
    /// on main, which keeps the first snapshots.
    fn new() -> Scene {
        let repo = Repo::new();
        repo.skconn(["init"]).code(0);
        let scene = Scene {
            gh: FakeGithub::start(),
            dev: emulator(),
            prod: emulator(),
            repo,
        };
        scene.apply_by_hand();
        let drift = scene.drift();
        assert!(drift.succeeded(), "{drift}");
        scene.dev.clear_requests();
        scene.prod.clear_requests();
        scene
    }

    /// Applies the files to both environments, outside CI.
    fn apply_by_hand(&self) {
        let mut c = self.repo.cmd(["apply", "--auto-approve"]);
        for (stem, emu) in [("DEV", &self.dev), ("PROD", &self.prod)] {
            c = c
                .env(&format!("SCALEKIT_{stem}_URL"), &emu.url())
                .env(&format!("SCALEKIT_{stem}_CLIENT_ID"), emu.client_id())
                .env(
                    &format!("SCALEKIT_{stem}_CLIENT_SECRET"),
                    emu.client_secret(),
                );
        }
        c.run().code(0);
    }

    fn workflow(&self, name: &str) -> PathBuf {
        self.repo.path().join(".github/workflows").join(name)
    }

    fn runner(&self) -> Runner<'_> {
        let mut runner = Runner::new(&self.gh).repo(self.repo.path());
        for (env, stem, emu) in [("dev", "DEV", &self.dev), ("prod", "PROD", &self.prod)] {
            let (url, id, secret) = (
                format!("SCALEKIT_{stem}_URL"),
                format!("SCALEKIT_{stem}_CLIENT_ID"),
                format!("SCALEKIT_{stem}_CLIENT_SECRET"),
            );
            runner = runner.var(&url, &emu.url()).environment(
                env,
                Environment::new()
                    .var(&id, emu.client_id())
                    .secret(&secret, emu.client_secret()),
            );
        }
        runner
            .var("SCALEKIT_DEV_CLIENT_ID", self.dev.client_id())
            .secret("SCALEKIT_DEV_CLIENT_SECRET", self.dev.client_secret())
    }

    /// Opens (or pushes to) pull request `n` from `head_repo`, and runs the plan workflow.
    fn plan_from(&self, n: u64, head_repo: &str) -> Run {
        self.gh.open_pull_from(n, &sha(n), Some(head_repo));
        let event = json!({"action": "synchronize", "number": n,
            "pull_request": {"number": n,
                "head": {"sha": sha(n), "ref": format!("change-{n}"), "repo": {"full_name": head_repo}},
                "base": {"ref": "main", "repo": {"full_name": self.gh.repo()}}},
            "repository": {"full_name": self.gh.repo(), "default_branch": "main"}});
        self.runner()
            .event("pull_request", event)
            .git_ref(&format!("refs/pull/{n}/merge"))
            .sha(&format!("{:040x}", 0xfeed000 + n))
            .run_workflow(&self.workflow("skconn-plan.yml"))
    }

    fn plan(&self, n: u64) -> Run {
        self.plan_from(n, &self.gh.repo())
    }

    /// Merges pull request `n` and runs the apply workflow for the push of its merge commit.
    fn merge(&self, n: u64) -> Run {
        self.gh.merge(n, &merge_sha(n));
        let event = json!({"ref": "refs/heads/main", "before": sha(0), "after": merge_sha(n),
            "repository": {"full_name": self.gh.repo(), "default_branch": "main"}});
        self.runner()
            .event("push", event)
            .run_workflow(&self.workflow("skconn-apply.yml"))
    }

    fn drift(&self) -> Run {
        self.runner()
            .event(
                "schedule",
                json!({"schedule": "17 6 * * *",
                       "repository": {"full_name": self.gh.repo(), "default_branch": "main"}}),
            )
            .run_workflow(&self.workflow("skconn-drift.yml"))
    }

    fn manual(&self, env: &str) -> Run {
        self.runner()
            .event(
                "workflow_dispatch",
                json!({"repository": {"full_name": self.gh.repo(), "default_branch": "main"}}),
            )
            .input("environment", json!(env))
            .input("force", json!(false))
            .run_workflow(&self.workflow("skconn-apply.yml"))
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.repo.path().join("connectors").join(file), text).unwrap();
    }

    /// Snapshot artifacts of `env` kept by runs on main.
    fn snapshots(&self, env: &str) -> Vec<u64> {
        self.gh
            .artifacts()
            .iter()
            .filter(|a| a.name == format!("skconn-snapshot-{env}") && a.head_branch == "main")
            .map(|a| a.run_id)
            .collect()
    }

    /// skconn's plan comment on pull request `n`.
    fn plan_comment(&self, n: u64) -> String {
        let comments = self.gh.comments(n);
        let plan: Vec<_> = comments
            .iter()
            .filter(|c| c.body.starts_with("<!-- skconn-plan -->") && c.login == BOT)
            .collect();
        assert_eq!(plan.len(), 1, "{comments:?}");
        plan[0].body.clone()
    }
}

/// Every value any step of `job` had in its process environment.
fn values(job: &JobRun) -> Vec<&String> {
    job.environment_values().map(|(_, v)| v).collect()
}

fn writes(emu: &Emulator) -> usize {
    api_writes(emu)
}

#[track_caller]
fn result(run: &Run, job: &str, expected: Conclusion) {
    assert_eq!(run.job(job).result, expected, "{run}");
}

#[test]
fn story_1_a_new_connector_is_planned_live_in_dev_and_against_the_snapshot_in_production() {
    let scene = Scene::new();
    scene.write("payments.yaml", &bearer("Payments"));
    let run = scene.plan(7);
    assert!(run.succeeded(), "{run}");
    assert!(run.on.get("pull_request").is_some());
    assert_eq!(
        run.concurrency,
        Some(json!({"group": "skconn-plan-7", "cancel-in-progress": true}))
    );
    let order: Vec<&str> = run.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(order, ["plan-dev", "plan-prod", "comment"]);
    // Production's job holds no Production credential, in any step, and read nothing live.
    let prod = run.job("plan-prod");
    for v in values(prod) {
        assert!(!v.contains(scene.prod.client_secret()), "{prod}");
        assert!(!v.contains(scene.prod.client_id()), "{prod}");
    }
    for step in &prod.steps {
        assert!(
            !step
                .env
                .keys()
                .any(|k| k.starts_with("SCALEKIT_PROD_CLIENT")),
            "{prod}"
        );
    }
    assert!(
        scene.prod.requests().is_empty(),
        "{:?}",
        scene.prod.requests()
    );
    assert_eq!(writes(&scene.dev), 0);
    // Dev's job holds Dev's credentials and nothing of Production's.
    let dev = run.job("plan-dev");
    assert!(values(dev).iter().any(|v| *v == scene.dev.client_secret()));
    assert!(values(dev)
        .iter()
        .all(|v| !v.contains(scene.prod.client_secret())));
    // One comment shows both, with their digests, Production planned against its snapshot.
    let body = scene.plan_comment(7);
    assert!(body.contains("### Environment `dev`"), "{body}");
    assert!(body.contains("### Environment `prod`"), "{body}");
    assert!(body.matches("Payments").count() >= 2, "{body}");
    assert!(
        body.contains("<!-- skconn-digest env=dev digest="),
        "{body}"
    );
    assert!(
        body.contains("<!-- skconn-digest env=prod digest="),
        "{body}"
    );
    assert!(body.to_lowercase().contains("snapshot"), "{body}");
    assert!(
        body.contains(&format!("<!-- skconn-head {} -->", sha(7))),
        "{body}"
    );
    // The comment job wrote it with the job's own token and held no secret.
    let comment = run.job("comment");
    assert_eq!(
        comment.permissions,
        [("pull-requests".to_string(), "write".to_string())].into()
    );
    for v in values(comment) {
        assert!(!v.contains(scene.dev.client_secret()));
        assert!(!v.contains(scene.prod.client_secret()));
    }
}

#[test]
fn story_2_the_merge_applies_dev_then_production_and_keeps_fresh_snapshots() {
    let scene = Scene::new();
    scene.write("payments.yaml", &bearer("Payments"));
    assert!(scene.plan(7).succeeded());
    let before = (scene.snapshots("dev").len(), scene.snapshots("prod").len());
    let run = scene.merge(7);
    assert!(run.succeeded(), "{run}");
    let applied: Vec<&str> = run
        .jobs
        .iter()
        .filter(|j| j.result == Conclusion::Success)
        .map(|j| j.id.as_str())
        .collect();
    assert_eq!(applied, ["apply-dev", "apply-prod"]);
    for emu in [&scene.dev, &scene.prod] {
        assert!(emu.connector("Payments").is_some());
    }
    // Each job read the approval, applied only it, and kept a fresh snapshot.
    for env in ["dev", "prod"] {
        let job = run.job(&format!("apply-{env}"));
        assert_eq!(job.environment.as_deref(), Some(env));
        assert_eq!(
            job.concurrency,
            Some(json!({"group": format!("skconn-apply-{env}"), "cancel-in-progress": false}))
        );
        assert_eq!(job.timeout_minutes, Some(json!(60)));
        assert_eq!(job.step("apply").code, Some(0), "{job}");
        assert!(job.step("apply").stdout.contains("plan digest"), "{job}");
        assert_eq!(
            job.step(&format!(
                "Say on the pull request why {env} was not applied"
            ))
            .outcome,
            Conclusion::Skipped
        );
    }
    assert_eq!(scene.snapshots("dev").len(), before.0 + 1);
    assert_eq!(scene.snapshots("prod").len(), before.1 + 1);
    assert_eq!(*scene.snapshots("prod").last().unwrap(), run.id);
    // Nothing is said on the pull request beyond its plan comment.
    assert_eq!(scene.gh.comments(7).len(), 1);
    // The next pull request plans Production against that snapshot: no changes left.
    let next = scene.plan(8);
    assert!(next.succeeded(), "{next}");
    let body = scene.plan_comment(8);
    assert_eq!(
        body.matches("Plan: 0 to create, 0 to update, 0 to delete.")
            .count(),
        3,
        "{body}"
    );
}

#[test]
fn story_3_a_dashboard_edit_between_review_and_merge_stops_the_production_apply() {
    let scene = Scene::new();
    scene.write("payments.yaml", &bearer("Payments"));
    assert!(scene.plan(7).succeeded());
    assert!(scene.merge(7).succeeded());
    // A change to Payments is reviewed…
    scene.write(
        "payments.yaml",
        &bearer("Payments").replace("description: Payments API", "description: Payments v2"),
    );
    assert!(scene.plan(8).succeeded());
    let approved = scene.plan_comment(8);
    // …then Production's copy is edited in the dashboard before the merge.
    scene
        .prod
        .edit("Payments", |c| c["description"] = json!("edited by hand"));
    scene.prod.clear_requests();
    let run = scene.merge(8);
    result(&run, "apply-dev", Conclusion::Success);
    result(&run, "apply-prod", Conclusion::Failure);
    let prod = run.job("apply-prod");
    assert_eq!(prod.step("apply").code, Some(6), "{prod}");
    assert!(prod
        .step("apply")
        .stderr
        .contains("the live connector changed since the review (drift)"));
    // Nothing was sent to Production, and Dev got the reviewed change.
    assert_eq!(writes(&scene.prod), 0);
    assert_eq!(
        scene.prod.connector("Payments").unwrap()["description"],
        "edited by hand"
    );
    assert_eq!(
        scene.dev.connector("Payments").unwrap()["description"],
        "Payments v2"
    );
    // The pull request is told, in a comment of its own; the plan comment is as approved.
    let comments = scene.gh.comments(8);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(comments[0].body, approved);
    let said = &comments[1].body;
    assert!(said.starts_with("<!-- skconn-apply env=prod -->"), "{said}");
    assert!(said.contains("drift"), "{said}");
    assert!(said.contains("Run workflow, environment `prod`"), "{said}");
    // The snapshot was taken anyway: it records what is really there.
    assert_eq!(*scene.snapshots("prod").last().unwrap(), run.id);
}

#[test]
fn story_4_an_invalid_file_fails_the_check_says_why_and_applies_nothing() {
    let scene = Scene::new();
    scene.write(
        "broken.yaml",
        "display_name: Broken\nproxy_ulr: https://api.example.com\n",
    );
    let run = scene.plan(9);
    assert!(!run.succeeded(), "{run}");
    result(&run, "plan-dev", Conclusion::Failure);
    result(&run, "plan-prod", Conclusion::Failure);
    result(&run, "comment", Conclusion::Failure);
    assert_eq!(
        run.job("comment").steps.last().unwrap().code,
        Some(1),
        "{run}"
    );
    let body = scene.plan_comment(9);
    assert!(body.contains("proxy_ulr"), "{body}");
    assert!(body.contains("<!-- skconn-failed env=dev -->"), "{body}");
    assert!(body.contains("<!-- skconn-failed env=prod -->"), "{body}");
    // Merged anyway: nothing is approved, so nothing is applied.
    let merged = scene.merge(9);
    result(&merged, "apply-dev", Conclusion::Failure);
    result(&merged, "apply-prod", Conclusion::Skipped);
    assert_eq!(writes(&scene.dev) + writes(&scene.prod), 0);
}

#[test]
fn story_5_a_fork_s_pull_request_plans_without_a_comment_and_the_summary_holds_the_plan() {
    let scene = Scene::new();
    scene.write("payments.yaml", &bearer("Payments"));
    let run = scene.plan_from(10, "someone/connectors");
    assert!(run.succeeded(), "{run}");
    // No secret reached any job, and nothing was written to GitHub.
    for job in &run.jobs {
        assert!(job.read_only_token, "{job}");
        for v in values(job) {
            assert!(!v.contains(scene.dev.client_secret()), "{job}");
            assert!(!v.contains(scene.prod.client_secret()), "{job}");
        }
    }
    assert!(scene.gh.comments(10).is_empty());
    assert!(scene.gh.writes().is_empty(), "{:?}", scene.gh.writes());
    assert!(scene.dev.requests().is_empty() && scene.prod.requests().is_empty());
    // Both environments were planned, from their snapshots, into the comment job's summary.
    let summary = &run.job("comment").summary;
    assert!(summary.contains("### Environment `dev`"), "{summary}");
    assert!(summary.contains("### Environment `prod`"), "{summary}");
    assert!(summary.contains("Payments"), "{summary}");
    let dev = run.job("plan-dev");
    assert_eq!(dev.step("Plan dev live").outcome, Conclusion::Skipped);
}

#[test]
fn story_6_two_merges_during_an_apply_stop_at_the_plan_no_comment_showed() {
    let scene = Scene::new();
    // Two pull requests, each reviewed on its own.
    scene.write("alpha.yaml", &bearer("Alpha"));
    assert!(scene.plan(11).succeeded());
    std::fs::remove_file(scene.repo.path().join("connectors/alpha.yaml")).unwrap();
    scene.write("beta.yaml", &bearer("Beta"));
    assert!(scene.plan(12).succeeded());
    // Both merge while an apply runs; GitHub keeps only the later merge's run waiting, and
    // main now holds both.
    scene.write("alpha.yaml", &bearer("Alpha"));
    scene.gh.merge(11, &merge_sha(11));
    let run = scene.merge(12);
    result(&run, "apply-dev", Conclusion::Failure);
    result(&run, "apply-prod", Conclusion::Skipped);
    let dev = run.job("apply-dev");
    let apply = dev.step("apply");
    assert_eq!(apply.code, Some(6), "{dev}");
    assert!(
        apply
            .stderr
            .contains("the plan also holds changes merged by another pull request"),
        "{dev}"
    );
    assert!(apply
        .stderr
        .contains("create \"Alpha\" is not in the approved plan"));
    assert!(apply.stderr.contains("manual run of the apply workflow"));
    // Nothing was applied that no comment showed.
    assert_eq!(writes(&scene.dev) + writes(&scene.prod), 0);
    let said = scene
        .gh
        .comments(12)
        .into_iter()
        .find(|c| c.body.starts_with("<!-- skconn-apply env=dev -->"))
        .expect("the pull request is told")
        .body;
    assert!(
        said.contains("the plan also holds changes merged by another pull request"),
        "{said}"
    );
    assert!(said.contains("Run workflow, environment `dev`"), "{said}");
    // The way on: the manual run shows Dev's current plan, then applies exactly it.
    let manual = scene.manual("dev");
    assert!(manual.succeeded(), "{manual}");
    let shown = &manual.job("show-dev").summary;
    assert!(shown.contains("Alpha") && shown.contains("Beta"), "{shown}");
    assert_eq!(
        manual.job("apply-manual-dev").environment.as_deref(),
        Some("dev")
    );
    for name in ["Alpha", "Beta"] {
        assert!(scene.dev.connector(name).is_some());
        assert!(scene.prod.connector(name).is_none());
    }
    result(&manual, "show-prod", Conclusion::Skipped);
}
