//! The test runner itself, on small workflows: it runs what GitHub runs the way GitHub runs it
//! (environments, precedence, files, shells, `needs`, conditions, artifacts) and refuses the
//! rest.

use super::{Conclusion, Environment, Runner};
use crate::fake_github::FakeGithub;
use serde_json::json;

const HEAD: &str = "1111111111111111111111111111111111111111";

fn pull_request(gh: &FakeGithub, head_repo: &str) -> serde_json::Value {
    gh.open_pull(7, HEAD);
    json!({"number": 7, "pull_request": {"number": 7,
        "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": head_repo}},
        "base": {"ref": "main"}}})
}

fn push() -> serde_json::Value {
    json!({"ref": "refs/heads/main", "after": "2222222222222222222222222222222222222222"})
}

#[test]
fn a_step_has_exactly_the_environment_github_gives_it() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh)
        .var("URL", "https://repo.example.com")
        .secret("REPO_SECRET", "repo-secret-value")
        .secret("UNUSED_SECRET", "never-mapped-value")
        .environment(
            "prod",
            Environment::new()
                .var("URL", "https://prod.example.com")
                .secret("PROD_SECRET", "prod-secret-value"),
        )
        .event("push", push())
        .run_text(
            r##"
on: push
permissions: {}
env:
  LEVEL: workflow
  FROM_WORKFLOW: "1"
jobs:
  plain:
    runs-on: ubuntu-latest
    env:
      LEVEL: job
      MAPPED: ${{ secrets.REPO_SECRET }}
      PROD: ${{ secrets.PROD_SECRET }}
      URL: ${{ vars.URL }}
    steps:
      - run: echo "LATER=from-github-env" >> "$GITHUB_ENV"
      - env:
          LEVEL: step
        run: env | sort
  deploy:
    runs-on: ubuntu-latest
    environment: prod
    permissions:
      contents: read
    env:
      PROD: ${{ secrets.PROD_SECRET }}
      URL: ${{ vars.URL }}
      TOKEN: ${{ github.token }}
    steps:
      - run: "true"
"##,
        );
    assert!(run.succeeded(), "{run}");
    let plain = run.job("plain");
    let env = &plain.steps[1].env;
    // Step over GITHUB_ENV over job over workflow.
    assert_eq!(env["LEVEL"], "step");
    assert_eq!(env["FROM_WORKFLOW"], "1");
    assert_eq!(env["LATER"], "from-github-env");
    assert_eq!(env["MAPPED"], "repo-secret-value");
    // A secret of an environment the job is not behind is empty; one never mapped is absent.
    assert_eq!(env["PROD"], "");
    assert_eq!(env["URL"], "https://repo.example.com");
    assert!(plain
        .environment_values()
        .all(|(_, v)| !v.contains("never-mapped-value") && !v.contains("prod-secret-value")));
    assert!(!env.contains_key("GITHUB_TOKEN"));
    assert!(!env.values().any(|v| v == &plain.token));
    let mut names: Vec<&str> = env.keys().map(String::as_str).collect();
    names.retain(|k| !k.starts_with("GITHUB_") && !k.starts_with("RUNNER_"));
    assert_eq!(
        names,
        [
            "CI",
            "FROM_WORKFLOW",
            "HOME",
            "LATER",
            "LEVEL",
            "MAPPED",
            "PATH",
            "PROD",
            "TMPDIR",
            "URL"
        ]
    );
    // What the process saw is what was recorded.
    let printed = &plain.steps[1].stdout;
    assert!(printed.contains("LEVEL=step\n"), "{printed}");
    assert!(!printed.contains("never-mapped-value"), "{printed}");
    // `permissions: {}` at the top: the job's token may read nothing.
    assert!(plain.permissions.is_empty());

    // Behind its environment, a job gets the environment's variables and secrets.
    let deploy = run.job("deploy");
    let env = &deploy.steps[0].env;
    assert_eq!(env["PROD"], "prod-secret-value");
    assert_eq!(env["URL"], "https://prod.example.com");
    assert_eq!(env["TOKEN"], deploy.token);
    assert_eq!(deploy.environment.as_deref(), Some("prod"));
    assert_eq!(
        deploy.permissions,
        [("contents".to_string(), "read".to_string())].into()
    );
}

#[test]
fn a_forks_pull_request_gets_no_secret_no_variable_and_a_read_only_token() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh)
        .secret("SECRET", "repo-secret-value")
        .var("URL", "https://dev.example.com")
        .event("pull_request", pull_request(&gh, "mallory/connectors"))
        .run_text(
            r##"
on: pull_request
jobs:
  comment:
    runs-on: ubuntu-latest
    permissions:
      pull-requests: write
    env:
      SECRET: ${{ secrets.SECRET }}
      URL: ${{ vars.URL }}
      GH_TOKEN: ${{ github.token }}
    steps:
      - run: gh api --method POST "repos/$GITHUB_REPOSITORY/issues/7/comments" -f body=hello
"##,
        );
    let job = run.job("comment");
    assert!(job.read_only_token);
    assert_eq!(job.steps[0].env["SECRET"], "");
    assert_eq!(job.steps[0].env["URL"], "");
    assert_eq!(job.result, Conclusion::Failure, "{job}");
    assert!(
        job.steps[0]
            .stderr
            .contains("Resource not accessible by integration (HTTP 403)"),
        "{job}"
    );
    assert!(gh.comments(7).is_empty());
}

#[test]
fn the_token_can_do_only_what_the_job_permits() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh)
        .event("pull_request", pull_request(&gh, "octo/connectors"))
        .run_text(
            r##"
on: pull_request
permissions: {}
jobs:
  read-only:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    env:
      GH_TOKEN: ${{ github.token }}
    steps:
      - run: gh api --method POST "repos/$GITHUB_REPOSITORY/issues/7/comments" -f body=no
  writer:
    runs-on: ubuntu-latest
    needs: read-only
    if: always()
    permissions:
      pull-requests: write
    env:
      GH_TOKEN: ${{ github.token }}
    steps:
      - run: |
          gh api --method POST "repos/$GITHUB_REPOSITORY/issues/7/comments" -f body=yes > /dev/null
          gh api --paginate "repos/$GITHUB_REPOSITORY/issues/7/comments" --jq '.[] | .body'
"##,
        );
    assert_eq!(run.job("read-only").result, Conclusion::Failure);
    let writer = run.job("writer");
    assert_eq!(writer.result, Conclusion::Success, "{writer}");
    assert_eq!(writer.steps[0].stdout, "yes\n");
    let bodies: Vec<String> = gh.comments(7).into_iter().map(|c| c.body).collect();
    assert_eq!(bodies, ["yes"]);
}

#[test]
fn needs_outputs_conditions_and_the_files_of_a_job() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh)
        .event("workflow_dispatch", json!({}))
        .input("force", json!(true))
        .run_text(
            r##"
on:
  workflow_dispatch:
    inputs:
      force:
        type: boolean
        default: false
      environment:
        type: choice
        options: [dev, prod]
        default: dev
jobs:
  second:
    runs-on: ubuntu-latest
    needs: first
    outputs:
      echoed: ${{ needs.first.outputs.digest }}-${{ needs.first.result }}
    steps:
      - id: show
        run: |
          echo "got=${{ needs.first.outputs.digest }}" >> "$GITHUB_OUTPUT"
          echo "summary of second" >> "$GITHUB_STEP_SUMMARY"
  first:
    runs-on: ubuntu-latest
    outputs:
      digest: ${{ steps.make.outputs.digest }}
    steps:
      - id: make
        run: |
          echo "digest=abc123" >> "$GITHUB_OUTPUT"
          {
            echo "notes<<EOF"
            echo "line one"
            echo "line two"
            echo "EOF"
          } >> "$GITHUB_OUTPUT"
          mkdir -p "$RUNNER_TEMP/bin"
          printf '#!/bin/sh\necho tool ran\n' > "$RUNNER_TEMP/bin/mytool"
          chmod +x "$RUNNER_TEMP/bin/mytool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "# First" >> "$GITHUB_STEP_SUMMARY"
      - run: mytool
      - name: Fails
        id: fails
        run: exit 3
      - name: Skipped after the failure
        run: echo never
      - name: On failure
        if: failure() && steps.fails.outcome == 'failure'
        run: echo "notes were ${{ steps.make.outputs.notes }}"
      - name: Always
        if: always()
        run: echo "force=${{ inputs.force }} env=${{ inputs.environment }} event=${{ github.event.inputs.force }}"
  after-failure:
    runs-on: ubuntu-latest
    needs: first
    steps:
      - run: echo never
  on-failure:
    runs-on: ubuntu-latest
    needs: [first, after-failure]
    if: failure()
    steps:
      - run: echo "first was ${{ needs.first.result }}"
"##,
        );
    let order: Vec<&str> = run.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(order, ["first", "second", "after-failure", "on-failure"]);
    let first = run.job("first");
    assert_eq!(first.result, Conclusion::Failure, "{first}");
    assert_eq!(first.step("make").outputs["notes"], "line one\nline two");
    assert_eq!(first.steps[1].stdout, "tool ran\n");
    assert_eq!(first.step("fails").code, Some(3));
    assert_eq!(
        first.step("Skipped after the failure").outcome,
        Conclusion::Skipped
    );
    assert_eq!(
        first.step("On failure").stdout,
        "notes were line one\nline two\n"
    );
    assert_eq!(
        first.step("Always").stdout,
        "force=true env=dev event=true\n"
    );
    assert_eq!(first.summary, "# First\n");
    assert_eq!(first.outputs["digest"], "abc123");
    // A job whose need failed is skipped; `if: failure()` runs.
    assert_eq!(run.job("second").result, Conclusion::Skipped);
    assert_eq!(run.job("after-failure").result, Conclusion::Skipped);
    let on_failure = run.job("on-failure");
    assert_eq!(
        on_failure.steps[0].stdout, "first was failure\n",
        "{on_failure}"
    );
}

#[test]
fn job_outputs_reach_the_jobs_that_need_them() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh).event("push", push()).run_text(
        r##"
on: push
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      digest: ${{ steps.make.outputs.digest }}
    steps:
      - id: make
        run: echo "digest=abc123" >> "$GITHUB_OUTPUT"
  second:
    runs-on: ubuntu-latest
    needs: first
    if: needs.first.outputs.digest != ''
    steps:
      - run: echo "${{ needs.first.outputs.digest }} ${{ needs.first.result }}"
"##,
    );
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.job("second").steps[0].stdout, "abc123 success\n");
}

#[test]
fn shells_are_the_ones_github_uses() {
    let gh = FakeGithub::start();
    let run = Runner::new(&gh).event("push", push()).run_text(
        r##"
on: push
jobs:
  shells:
    runs-on: ubuntu-latest
    steps:
      - name: default bash has no pipefail
        run: false | tee /dev/null
      - name: bash with -e stops at the first failure
        id: stops
        continue-on-error: true
        run: |
          false
          echo not reached
      - name: shell bash has pipefail
        id: pipefail
        continue-on-error: true
        shell: bash
        run: false | tee /dev/null
      - name: sh
        shell: sh
        run: false | echo plain sh
      - name: working directory
        working-directory: sub
        run: pwd
"##,
    );
    let job = run.job("shells");
    assert_eq!(
        job.step("default bash has no pipefail").outcome,
        Conclusion::Success
    );
    let stops = job.step("stops");
    assert_eq!(
        (stops.outcome, stops.conclusion),
        (Conclusion::Failure, Conclusion::Success)
    );
    assert_eq!(stops.stdout, "");
    assert_eq!(job.step("pipefail").outcome, Conclusion::Failure);
    assert_eq!(job.step("sh").stdout, "plain sh\n", "{job}");
    assert_eq!(job.step("sh").shell, ["sh", "-e"]);
    assert_eq!(
        job.step("default bash has no pipefail").shell,
        ["bash", "-e"]
    );
    assert_eq!(
        job.step("pipefail").shell,
        ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    );
    // A working directory that does not exist fails the step, as on GitHub.
    assert_eq!(job.step("working directory").outcome, Conclusion::Failure);
    assert_eq!(job.result, Conclusion::Failure);
}

#[test]
fn artifacts_go_from_job_to_job_and_stay_for_later_runs() {
    let gh = FakeGithub::start();
    let workflow = r##"
on: [push, pull_request]
jobs:
  make:
    runs-on: ubuntu-latest
    steps:
      - run: |
          mkdir -p snapshots/.hidden
          echo '{"env": "dev"}' > snapshots/dev.snapshot.json
          echo '{"env": "prod"}' > snapshots/prod.snapshot.json
          echo secret > snapshots/.hidden/x
          echo plan-dev > plan-dev.json
          echo plan-prod > plan-prod.json
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: snapshots
          path: snapshots/
          retention-days: 30
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: plan-dev
          path: plan-dev.json
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: plan-prod
          path: plan-prod.json
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: nothing
          path: missing/*.json
          if-no-files-found: warn
      - id: twice
        continue-on-error: true
        uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with:
          name: plan-dev
          path: plan-dev.json
  use:
    runs-on: ubuntu-latest
    needs: make
    steps:
      - run: test ! -e plan-dev.json
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          pattern: plan-*
          merge-multiple: true
          path: plans
      - uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          pattern: plan-*
          path: apart
      - id: one
        uses: actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0
        with:
          name: snapshots
          path: restored
      - run: |
          cat plans/plan-dev.json plans/plan-prod.json apart/plan-dev/plan-dev.json
          ls -A restored
"##;
    let first = Runner::new(&gh).event("push", push()).run_text(workflow);
    let make = first.job("make");
    assert_eq!(make.step("twice").outcome, Conclusion::Failure, "{make}");
    assert!(make.step("twice").stderr.contains("(409) Conflict"));
    assert!(make.steps[4].annotations[0].contains("No files were found"));
    let used = first.job("use");
    assert_eq!(used.result, Conclusion::Success, "{used}");
    assert_eq!(
        used.steps[4].stdout,
        "plan-dev\nplan-prod\nplan-dev\ndev.snapshot.json\nprod.snapshot.json\n"
    );
    assert!(used.step("one").outputs["download-path"].ends_with("/restored"));

    // A later run of a pull request sees its own artifacts in-run, and the API lists both runs'.
    let second = Runner::new(&gh)
        .event("pull_request", pull_request(&gh, "octo/connectors"))
        .run_text(workflow);
    assert_ne!(first.id, second.id);
    let all = gh.artifacts();
    assert_eq!(all.len(), 6);
    let snapshots: Vec<_> = all.iter().filter(|a| a.name == "snapshots").collect();
    assert_eq!(
        snapshots
            .iter()
            .map(|a| (a.run_id, a.head_branch.as_str()))
            .collect::<Vec<_>>(),
        [(first.id, "main"), (second.id, "feature")]
    );
    assert_eq!(
        snapshots[0].expires_at - snapshots[0].created_at,
        30 * 86_400
    );
}

#[track_caller]
fn panics_with(workflow: &str, expected: &str) {
    let gh = FakeGithub::start();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Runner::new(&gh).event("push", push()).run_text(workflow)
    }));
    let err = result.err().expect("the runner refuses the workflow");
    let message = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains(expected), "{message}");
}

fn one_step(step: &str) -> String {
    format!("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n{step}")
}

#[test]
fn the_runner_refuses_what_it_does_not_run() {
    panics_with(
        &one_step("      - uses: someone/action@v1\n"),
        "no shim for the action someone/action",
    );
    panics_with(
        &one_step("      - uses: actions/checkout@v4\n"),
        "persist-credentials: false",
    );
    panics_with(
        &one_step("      - run: echo ${{ hashFiles('x') }}\n"),
        "`hashfiles()` is not a function",
    );
    panics_with(
        &one_step("      - run: echo ${{ secret.X }}\n"),
        "`secret` is not a context",
    );
    panics_with(
        &one_step("      - shell: python\n        run: print(1)\n"),
        "`shell: python`",
    );
    panics_with(
        &one_step("      - run: gh pr comment 7 --body hi\n"),
        "only `gh api` is available",
    );
    panics_with(
        &one_step("      - run: gh api --paginate repos/o/r/issues --jq 'map(.id)'\n"),
        "jq `map(.id)`",
    );
    panics_with(
        &one_step("      - run: echo 'broken' >> \"$GITHUB_OUTPUT\"\n"),
        "is neither `name=value` nor `name<<DELIMITER`",
    );
    panics_with(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        os: [a]\n    steps:\n      - run: 'true'\n",
        "does not run `strategy`",
    );
    panics_with(
        "on: push\njobs:\n  j:\n    runs-on: windows-latest\n    steps:\n      - run: 'true'\n",
        "ubuntu runners only",
    );
    panics_with(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    if: secrets.X != ''\n    steps:\n      - run: 'true'\n",
        "does not offer the `secrets` context here",
    );
    panics_with(
        "on: pull_request\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: 'true'\n",
        "does not run on push",
    );
    panics_with(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    needs: k\n    steps:\n      - run: 'true'\n",
        "needs k, which the workflow does not have",
    );
    panics_with(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    permissions:\n      pull_requests: write\n    steps:\n      - run: 'true'\n",
        "`pull_requests` is not a permission",
    );
}
