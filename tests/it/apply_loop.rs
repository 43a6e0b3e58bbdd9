//! The commands the apply workflow runs, end to end against the emulator and the fake GitHub
//! API: `--approved @FILE` in each of its forms, the report `apply --report` writes whatever the
//! exit code, and `skconn github comment` on the push that merged a pull request, which says on
//! the pull request why an environment was not applied.

use crate::fake_github::{FakeGithub, BOT};
use crate::support::*;
use serde_json::{json, Value};
use skconn::emulator::Emulator;

const HEAD: &str = "1111111111111111111111111111111111111111";
const MERGE: &str = "9999999999999999999999999999999999999999";

/// Two connectors applied to `dev`; then "Alpha" changes and "Gamma" is new (the change under
/// review).
fn reviewed_change(dev: &Emulator) -> Repo {
    let repo = Repo::new()
        .env("dev", dev, "managed")
        .connector("alpha.yaml", bearer("Alpha"))
        .connector("beta.yaml", bearer("Beta"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    repo.edit("connectors/alpha.yaml", |t| {
        t.replace("description: Alpha API", "description: Alpha API, reviewed")
    })
    .connector("gamma.yaml", bearer("Gamma"))
}

/// The JSON plan of `repo`, written to `name` in it; returns the document.
fn plan_to(repo: &Repo, name: &str) -> Value {
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    std::fs::write(repo.path().join(name), &out.stdout).unwrap();
    serde_json::from_str(&out.stdout).unwrap()
}

fn read_json(repo: &Repo, name: &str) -> Value {
    let text =
        std::fs::read_to_string(repo.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Checks a document against schema/plan.schema.json.
#[track_caller]
fn valid_plan_document(doc: &Value) {
    let text = std::fs::read_to_string(crate_root().join("schema/plan.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("urn:skconn:plan:2", schema).unwrap();
    let index = compiler.compile("urn:skconn:plan:2", &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("not a plan document of schema/plan.schema.json: {e:#}\n{doc:#}");
    }
}

#[test]
fn approvals_are_read_from_a_file_in_each_of_its_forms() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    let doc = plan_to(&repo, "plan.json");
    let digest = doc["environments"][0]["plan_digest"].as_str().unwrap();
    // ENV=DIGEST lines (comments and blank lines allowed), a saved plan, and the file
    // `github approved --save` writes: each is the same approval.
    std::fs::write(
        repo.path().join("approved.txt"),
        format!("# what the comment approved\n\ndev={digest}\n"),
    )
    .unwrap();
    let saved = repo.path().join("saved.json");
    repo.skconn(["plan", "--out", saved.to_str().unwrap()])
        .code(0);
    let env = &doc["environments"][0];
    std::fs::write(
        repo.path().join("github-approved.json"),
        json!({"kind": "skconn-approved-plan", "format_version": "1", "environments": [
            {"name": "dev", "plan_digest": env["plan_digest"], "digest_input": env["digest_input"]}]})
        .to_string(),
    )
    .unwrap();
    for file in [
        "@approved.txt",
        "@saved.json",
        "@github-approved.json",
        "@plan.json",
    ] {
        repo.skconn(["plan", "--approved", file])
            .code(0)
            .stderr_lacks("differs");
    }
    // A file with the approved plan explains a difference change by change, as --approved-plan.
    dev.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    dev.clear_requests();
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        "@github-approved.json",
    ])
    .code(6)
    .stderr_has("\"Alpha\": the live connector changed since the review (drift) at `/description`");
    // ENV=DIGEST lines alone do not hold the approved plan: only digests are compared.
    repo.skconn(["apply", "--auto-approve", "--approved", "@approved.txt"])
        .code(6)
        .stderr_has("the approved plan is not at hand");
    assert_eq!(api_writes(&dev), 0);
}

#[test]
fn every_problem_of_the_approval_files_is_reported_and_nothing_is_sent() {
    let dev = emulator();
    let repo = reviewed_change(&dev)
        .file("failed.json", json!({"format_version": "2", "error": "boom", "selected": ["dev"], "refused": [], "environments": []}).to_string())
        .file("broken.json", "{\"environments\": [\n")
        .file("empty.txt", "\n# nothing\n");
    dev.clear_requests();
    let out = repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        "@missing.json",
        "--approved",
        "@failed.json",
        "--approved",
        "@broken.json",
        "--approved",
        "@empty.txt",
        "--approved",
        "dev=xyz",
    ]);
    out.code(1)
        .stderr_has("missing.json")
        .stderr_has("failed.json: it is a plan that failed, so it approves nothing")
        .stderr_has("broken.json:2:")
        .stderr_has("empty.txt is empty")
        .stderr_has("the approved digest of `dev` is not a plan digest");
    assert!(dev.requests().is_empty(), "{:?}", dev.requests());
}

#[test]
fn the_report_says_what_was_applied_and_why_not_whatever_the_exit_code() {
    let dev = emulator();
    let repo = reviewed_change(&dev);
    plan_to(&repo, "plan.json");
    // A stop (exit 6): nothing sent, the approval and the outcome say why.
    dev.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        "@plan.json",
        "--report",
        "stopped.json",
    ])
    .code(6);
    let r = read_json(&repo, "stopped.json");
    valid_plan_document(&r);
    assert_eq!(r["exit_code"], 6);
    let env = &r["environments"][0];
    assert_eq!(env["approval"]["matches"], false);
    assert_eq!(env["approval"]["reasons"][0]["cause"], "drift");
    assert_eq!(env["outcome"]["status"], "not_attempted");
    assert_eq!(env["outcome"]["applied"], 0);
    assert_eq!(env["outcome"]["not_attempted"], 2);
    assert!(env["outcome"]["reason"]
        .as_str()
        .unwrap()
        .contains("differs from the approved plan"));
    assert!(r["apply_error"].as_str().unwrap().contains("differs"));
    // Approved as it now is: applied, and the report counts it.
    plan_to(&repo, "plan.json");
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        "@plan.json",
        "--report",
        "applied.json",
    ])
    .code(0);
    let r = read_json(&repo, "applied.json");
    valid_plan_document(&r);
    assert_eq!(r["exit_code"], 0);
    let outcome = &r["environments"][0]["outcome"];
    assert_eq!(outcome["status"], "applied");
    assert_eq!(outcome["applied"], 2);
    assert_eq!(outcome["changes"][0]["status"], "applied");
    assert!(r.get("apply_error").is_none() && r.get("error").is_none());
    // Nothing left: no changes.
    repo.skconn(["apply", "--auto-approve", "--report", "none.json"])
        .code(0);
    let r = read_json(&repo, "none.json");
    assert_eq!(r["environments"][0]["outcome"]["status"], "no_changes");
    // An apply that fails before it has a plan still writes its report: the error, and the
    // environments it was asked for.
    let broken = repo.unset("SK_DEV_SECRET");
    broken
        .skconn([
            "apply",
            "--auto-approve",
            "--env",
            "dev",
            "--report",
            "failed.json",
        ])
        .code(1);
    let r = read_json(&broken, "failed.json");
    valid_plan_document(&r);
    assert_eq!(r["exit_code"], 1);
    assert_eq!(r["selected"], json!(["dev"]));
    assert!(
        r["error"].as_str().unwrap().contains("SK_DEV_SECRET"),
        "{r:#}"
    );
}

#[test]
fn a_failed_change_is_in_the_report() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    dev.push_fault(format!("500:POST:*@{WRITES}").parse().unwrap());
    let out = repo.skconn([
        "apply",
        "--auto-approve",
        "--max-attempts",
        "1",
        "--report",
        "r.json",
    ]);
    assert!(matches!(out.code, Some(1) | Some(4)), "{out}");
    let r = read_json(&repo, "r.json");
    valid_plan_document(&r);
    let outcome = &r["environments"][0]["outcome"];
    assert_eq!(outcome["status"], "failed", "{r:#}");
    assert_eq!(outcome["failed"], 2);
    assert_eq!(outcome["changes"][0]["status"], "failed");
    assert!(outcome["changes"][0]["message"].as_str().is_some());
}

// ---- github comment on the push that merged a pull request ----

/// The variables of the job of a push to main whose commit is `sha`.
fn push_job(repo: &Repo, gh: &FakeGithub, sha: &str) -> Vec<(String, String)> {
    let event = repo.path().join("push-event.json");
    std::fs::write(
        &event,
        json!({"ref": "refs/heads/main", "before": HEAD, "after": sha,
               "repository": {"full_name": gh.repo(), "default_branch": "main"}})
        .to_string(),
    )
    .unwrap();
    [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "push".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_API_URL", gh.url()),
        ("GITHUB_REPOSITORY", gh.repo()),
        ("GITHUB_SHA", sha.into()),
        ("GITHUB_RUN_ID", "2002".into()),
        ("GITHUB_TOKEN", gh.token().into()),
        (
            "GITHUB_STEP_SUMMARY",
            repo.path().join("summary.md").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn run_with(repo: &Repo, vars: &[(String, String)], args: &[&str]) -> Out {
    let mut c = repo.cmd(args);
    for (k, v) in vars {
        c = c.env(k, v);
    }
    let out = c.run();
    assert!(!out.all().contains("ghs_"), "the token was printed\n{out}");
    out
}

#[test]
fn a_stopped_apply_is_said_on_the_merged_pull_request_in_a_comment_of_its_own() {
    let dev = emulator();
    let gh = FakeGithub::start();
    let repo = reviewed_change(&dev);
    gh.open_pull(7, HEAD);
    gh.merge(7, MERGE);
    let plan_comment = gh.add_comment(7, BOT, "Bot", "<!-- skconn-plan -->\n## skconn plan\n");
    plan_to(&repo, "plan.json");
    // Another pull request merged "Delta" before this run: the fresh plan holds it too.
    let repo = repo.connector("delta.yaml", bearer("Delta"));
    repo.skconn([
        "apply",
        "--auto-approve",
        "--approved",
        "@plan.json",
        "--report",
        "apply-dev.json",
    ])
    .code(6);
    let vars = push_job(&repo, &gh, MERGE);
    let out = run_with(&repo, &vars, &["github", "comment", "apply-dev.json"]);
    out.code(0)
        .stderr_has("Created the apply comment of `dev` on pull request #7");
    let comments = gh.comments(7);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].id, plan_comment);
    assert_eq!(comments[0].body, "<!-- skconn-plan -->\n## skconn plan\n");
    let body = &comments[1].body;
    assert!(
        body.starts_with("<!-- skconn-apply env=dev -->\n"),
        "{body}"
    );
    assert!(body.contains("**stopped**"), "{body}");
    assert!(
        body.contains("the plan also holds changes merged by another pull request"),
        "{body}"
    );
    assert!(body.contains("Delta"), "{body}");
    assert!(body.contains("Run workflow, environment `dev`"), "{body}");
    assert!(
        body.contains("merge commit `999999999999` (pull request #7)"),
        "{body}"
    );
    let summary = std::fs::read_to_string(repo.path().join("summary.md")).unwrap();
    assert!(summary.contains("<!-- skconn-apply env=dev -->"));
    // A rerun updates that comment; there is never a second one, and the plan comment stays.
    run_with(&repo, &vars, &["github", "comment", "apply-dev.json"]).code(0);
    let again = gh.comments(7);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].id, comments[1].id);
    assert_eq!(again[0].body, comments[0].body);
    assert!(gh
        .writes()
        .iter()
        .all(|w| !w.path.ends_with(&format!("/comments/{plan_comment}"))));
}

#[test]
fn a_push_no_pull_request_merged_or_a_clean_apply_gets_no_comment() {
    let dev = emulator();
    let gh = FakeGithub::start();
    let repo = reviewed_change(&dev);
    repo.skconn(["apply", "--auto-approve", "--report", "clean.json"])
        .code(0);
    plan_to(&repo, "plan.json");
    let vars = push_job(&repo, &gh, MERGE);
    run_with(&repo, &vars, &["github", "comment", "clean.json"])
        .code(0)
        .stderr_has("applied cleanly: nothing to comment on");
    assert!(gh.requests().is_empty());
    // A failed apply of a commit no pull request merged: the summary only.
    let repo = repo.unset("SK_DEV_SECRET");
    repo.skconn([
        "apply",
        "--auto-approve",
        "--env",
        "dev",
        "--report",
        "failed.json",
    ])
    .code(1);
    let out = run_with(&repo, &vars, &["github", "comment", "failed.json"]);
    out.code(0)
        .stderr_has("no pull request was merged as commit");
    assert!(gh.writes().is_empty());
    let summary = std::fs::read_to_string(repo.path().join("summary.md")).unwrap();
    assert!(summary.contains("failed before it had a plan"), "{summary}");
    // A JSON plan is not an apply report: on a push it is refused before anything is sent.
    let before = gh.requests().len();
    run_with(&repo, &vars, &["github", "comment", "plan.json"])
        .code(1)
        .stderr_has("not an apply report");
    assert_eq!(gh.requests().len(), before);
}

// ---- github snapshot: the latest snapshot kept by a run of the default branch ----

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn snapshot_doc(env: &str, marker: &str) -> Vec<u8> {
    json!({"format_version": "1", "environment": env, "host": "127.0.0.1:1",
           "taken_at": "2026-01-01T00:00:00Z", "skconn_version": "0.1.0",
           "connectors": [], "templates": [], "marker": marker})
    .to_string()
    .into_bytes()
}

fn pull_job(repo: &Repo, gh: &FakeGithub) -> Vec<(String, String)> {
    let event = repo.path().join("pr-event.json");
    std::fs::write(
        &event,
        json!({"number": 7, "pull_request": {"number": 7, "head": {"sha": HEAD, "repo": {"full_name": gh.repo()}}},
               "repository": {"full_name": gh.repo(), "default_branch": "main"}})
        .to_string(),
    )
    .unwrap();
    [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_API_URL", gh.url()),
        ("GITHUB_REPOSITORY", gh.repo()),
        ("GITHUB_TOKEN", gh.token().into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn github_snapshot_takes_the_newest_of_the_default_branch_and_no_token_to_the_blob() {
    let gh = FakeGithub::start();
    let repo = Repo::new();
    let name = "skconn-snapshot-prod";
    let one = |m: &str| zip_of(&[("prod.snapshot.json", &snapshot_doc("prod", m))]);
    gh.add_artifact(1, "main", MERGE, name, one("older"), 30);
    let newest = gh.add_artifact(2, "main", MERGE, name, one("newest"), 30);
    // Newer, but of a pull request's branch, or expired: never used.
    gh.add_artifact(3, "feature", HEAD, name, one("branch"), 30);
    let expired = gh.add_artifact(4, "main", MERGE, name, one("expired"), 30);
    gh.expire_artifact(expired);
    let vars = pull_job(&repo, &gh);
    let out = run_with(
        &repo,
        &vars,
        &["github", "snapshot", "--env", "prod", "--out-dir", "snaps"],
    );
    out.code(0).stderr_has(&format!("artifact {newest}, run 2"));
    let written = std::fs::read_to_string(repo.path().join("snaps/prod.snapshot.json")).unwrap();
    assert!(written.contains("\"newest\""), "{written}");
    // The API got the token; the blob storage, on another origin, never did.
    let blobs = gh.blob_requests();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(!blobs[0].had_authorization);
    assert!(gh.requests().iter().all(|r| r.had_token));
}

#[test]
fn github_snapshot_with_none_writes_nothing_and_says_how_to_make_one() {
    let gh = FakeGithub::start();
    let repo = Repo::new();
    let vars = pull_job(&repo, &gh);
    gh.add_artifact(
        3,
        "feature",
        HEAD,
        "skconn-snapshot-prod",
        zip_of(&[("prod.snapshot.json", &snapshot_doc("prod", "x"))]),
        30,
    );
    run_with(
        &repo,
        &vars,
        &["github", "snapshot", "--env", "prod", "--out-dir", "snaps"],
    )
    .code(0)
    .stderr_has("no artifact skconn-snapshot-prod from a run on main")
    .stderr_has("1 from runs of other branches")
    .stderr_has("run the skconn drift workflow once");
    assert!(!repo.path().join("snaps").exists());
}

#[test]
fn github_snapshot_refuses_an_archive_that_is_not_one_snapshot_of_the_environment() {
    let gh = FakeGithub::start();
    let repo = Repo::new();
    let vars = pull_job(&repo, &gh);
    let get = |env: &str| {
        run_with(
            &repo,
            &vars,
            &["github", "snapshot", "--env", env, "--out-dir", "snaps"],
        )
    };
    gh.add_artifact(
        1,
        "main",
        MERGE,
        "skconn-snapshot-two",
        zip_of(&[("a.json", b"{}"), ("b.json", b"{}")]),
        30,
    );
    get("two").code(1).stderr_has("more than one file");
    gh.add_artifact(
        2,
        "main",
        MERGE,
        "skconn-snapshot-other",
        zip_of(&[("prod.snapshot.json", &snapshot_doc("prod", "x"))]),
        30,
    );
    get("other")
        .code(1)
        .stderr_has("it is the snapshot of `prod`, not of other");
    assert!(!repo.path().join("snaps").exists());
    // A token that may not read the repository's Actions is told apart.
    let denied = gh.job_token(
        &[("contents".to_string(), "read".to_string())].into(),
        false,
    );
    let mut no_actions = vars.clone();
    no_actions.retain(|(k, _)| k != "GITHUB_TOKEN");
    no_actions.push(("GITHUB_TOKEN".into(), denied));
    run_with(
        &repo,
        &no_actions,
        &["github", "snapshot", "--env", "two", "--out-dir", "snaps"],
    )
    .code(1)
    .stderr_has("403")
    .stderr_has("the job needs `permissions: actions: read`");
}
