//! `skconn gitlab note` and `skconn gitlab approved`, run as the real binary against the fake
//! GitLab API and the emulator: one note per merge request, a pipeline without a token,
//! forged, stale and missing approvals, `apply --approved` after a dashboard edit, tokens that
//! never show, and plan text that stays inert in the note.

use crate::fake_gitlab::{FakeGitlab, Fault, BOT, PROJECT_ID, PROJECT_PATH};
use crate::github::{failed_doc, input_of, plan_doc, write, HEAD, HEAD2, MERGE};
use crate::support::*;
use serde_json::{json, Value};

/// A GitLab CI job around a repository: its variables.
#[derive(Clone)]
struct Job<'a> {
    repo: &'a Repo,
    gl: &'a FakeGitlab,
    vars: Vec<(String, String)>,
}

impl<'a> Job<'a> {
    /// A merge-request pipeline of merge request 7 at `HEAD`, with the token.
    fn new(repo: &'a Repo, gl: &'a FakeGitlab) -> Job<'a> {
        Job {
            repo,
            gl,
            vars: vec![
                ("GITLAB_CI".into(), "true".into()),
                ("CI_API_V4_URL".into(), gl.url()),
                ("CI_PROJECT_ID".into(), PROJECT_ID.to_string()),
                ("CI_PROJECT_PATH".into(), PROJECT_PATH.into()),
                ("CI_PIPELINE_ID".into(), "3001".into()),
                (
                    "CI_PIPELINE_URL".into(),
                    format!("https://gitlab.example.com/{PROJECT_PATH}/-/pipelines/3001"),
                ),
                ("SKCONN_GITLAB_TOKEN".into(), gl.token().into()),
            ],
        }
        .merge_request(7, HEAD)
    }

    fn var(mut self, k: &str, v: &str) -> Job<'a> {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.into(), v.into()));
        self
    }

    fn without(mut self, k: &str) -> Job<'a> {
        self.vars.retain(|(n, _)| n != k);
        self
    }

    fn merge_request(self, iid: u64, head: &str) -> Job<'a> {
        self.var("CI_MERGE_REQUEST_IID", &iid.to_string())
            .var("CI_COMMIT_SHA", head)
            .var("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", head)
    }

    /// A pipeline of the default branch for the pushed commit `sha`.
    fn push(self, sha: &str) -> Job<'a> {
        self.without("CI_MERGE_REQUEST_IID")
            .without("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA")
            .var("CI_COMMIT_SHA", sha)
            .var("CI_COMMIT_BRANCH", "main")
            .var("CI_DEFAULT_BRANCH", "main")
    }

    fn run<I, S>(&self, args: I) -> Out
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = self.repo.cmd(args);
        for (k, v) in &self.vars {
            c = c.env(k, v);
        }
        let out = c.run();
        // Whatever happened, no token is ever shown.
        let given = self
            .vars
            .iter()
            .find(|(n, _)| n == "SKCONN_GITLAB_TOKEN")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        for t in [given.as_str(), self.gl.token()]
            .into_iter()
            .filter(|t| !t.is_empty())
        {
            assert!(!out.all().contains(t), "the token was printed\n{out}");
        }
        for r in self.gl.requests() {
            let sent = r.body.map(|b| b.to_string()).unwrap_or_default();
            assert!(
                !sent.contains(self.gl.token()),
                "the token was sent in a body"
            );
        }
        out
    }
}

/// skconn's one note on a merge request.
#[track_caller]
fn the_note(gl: &FakeGitlab, iid: u64) -> String {
    let mine: Vec<_> = gl
        .notes(iid)
        .into_iter()
        .filter(|n| n.author == BOT && !n.system && n.body.starts_with("<!-- skconn-plan -->"))
        .collect();
    assert_eq!(mine.len(), 1, "not exactly one skconn note: {mine:#?}");
    mine[0].body.clone()
}

/// Merge request `iid` noted by skconn at `head` with dev's and prod's plans.
fn noted(
    repo: &Repo,
    gl: &FakeGitlab,
    iid: u64,
    head: &str,
    prod_failed: bool,
) -> (String, String) {
    let (dev, dev_digest) = plan_doc("dev", &["Asana"]);
    let (prod, prod_digest) = plan_doc("prod", &["Asana", "Billing"]);
    let dev_file = write(repo, &format!("dev-{iid}.json"), &dev);
    let prod_file = if prod_failed {
        write(
            repo,
            &format!("prod-{iid}.json"),
            &failed_doc("prod", "connectors/billing.yaml:2:12: proxy_url: not https"),
        )
    } else {
        write(repo, &format!("prod-{iid}.json"), &prod)
    };
    gl.open(iid, head);
    Job::new(repo, gl)
        .merge_request(iid, head)
        .run(["gitlab", "note", &dev_file, &prod_file])
        .code(if prod_failed { 1 } else { 0 });
    (dev_digest, prod_digest)
}

// ---- the note ----

#[test]
fn one_note_per_merge_request_created_then_updated() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    gl.open(7, HEAD);
    // Others' notes first, more than a page of them, and a system note carrying the marker.
    for i in 0..120 {
        gl.add_note(7, "alice", &format!("looks good {i}"));
    }
    gl.add_note(7, "mallory", "<!-- skconn-plan -->\nforged");
    gl.add_system_note(7, "<!-- skconn-plan -->\nadded 1 commit");
    let (dev, dev_digest) = plan_doc("dev", &["Asana"]);
    let (prod, prod_digest) = plan_doc("prod", &["Asana", "Billing"]);
    let files = [
        write(&repo, "dev.json", &dev),
        write(&repo, "prod.json", &prod),
    ];
    let job = Job::new(&repo, &gl);
    job.run(["gitlab", "note", &files[0], &files[1]])
        .code(0)
        .stderr_has("Created skconn's note on merge request !7");
    let body = the_note(&gl, 7);
    assert!(
        body.contains(&format!(
            "<!-- skconn-digest env=dev digest={dev_digest} -->"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "<!-- skconn-digest env=prod digest={prod_digest} -->"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("<!-- skconn-head {HEAD} -->")),
        "{body}"
    );
    assert!(body.contains("(the head of !7)"), "{body}");
    assert!(
        body.contains(
            "in [pipeline 3001](https://gitlab.example.com/acme/connectors/-/pipelines/3001)"
        ),
        "{body}"
    );
    // The same body GitHub's comment has.
    crate::github::assert_balanced(&body);
    let notes_before = gl.notes(7).len();

    // Another pipeline of the same head with a changed plan: the same note, updated.
    let (dev2, dev2_digest) = plan_doc("dev", &["Asana", "Zendesk"]);
    let f = write(&repo, "dev2.json", &dev2);
    job.run(["gitlab", "note", &f, &files[1]])
        .code(0)
        .stderr_has("Updated skconn's note on merge request !7");
    let body = the_note(&gl, 7);
    assert!(
        body.contains(&dev2_digest) && !body.contains(&dev_digest),
        "{body}"
    );
    // Again, unchanged: nothing written.
    let writes = gl.writes().len();
    job.run(["gitlab", "note", &f, &files[1]])
        .code(0)
        .stderr_has("Kept (already current)");
    assert_eq!(gl.writes().len(), writes);
    assert_eq!(gl.notes(7).len(), notes_before);
    // Every request carried the token, in PRIVATE-TOKEN; the notes were listed page by page.
    assert!(gl.requests().iter().all(|r| r.had_token));
    assert!(gl
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/notes") && r.query.contains("page=2")));
    // The person's look-alike and the system note were left alone.
    assert!(gl
        .notes(7)
        .iter()
        .any(|n| n.author == "mallory" && n.body.ends_with("forged")));
}

#[test]
fn without_a_token_the_plans_go_to_the_job_log_and_nothing_is_sent() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    gl.open(7, HEAD);
    let (dev, digest) = plan_doc("dev", &["Asana"]);
    let f = write(&repo, "dev.json", &dev);
    let out = Job::new(&repo, &gl)
        .without("SKCONN_GITLAB_TOKEN")
        .run(["gitlab", "note", &f]);
    out.code(0)
        .stderr_has("SKCONN_GITLAB_TOKEN is not set")
        .stderr_has("the plans are in this job's log only");
    assert!(out.stdout.contains(&digest), "{out}");
    assert!(gl.requests().is_empty());
    // A failed plan still fails the job, token or not.
    let f = write(
        &repo,
        "bad.json",
        &failed_doc("dev", "connectors/a.yaml:1:1: bad"),
    );
    Job::new(&repo, &gl)
        .without("SKCONN_GITLAB_TOKEN")
        .run(["gitlab", "note", &f])
        .code(1);
}

#[test]
fn a_pipeline_for_an_older_head_leaves_the_note_alone() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    noted(&repo, &gl, 7, HEAD, false);
    gl.push(7, HEAD2);
    let before = the_note(&gl, 7);
    let (dev, _) = plan_doc("dev", &["Other"]);
    let f = write(&repo, "dev-old.json", &dev);
    Job::new(&repo, &gl)
        .run(["gitlab", "note", &f])
        .code(0)
        .stderr_has(&format!("merge request !7's head is now {HEAD2}"));
    assert_eq!(the_note(&gl, 7), before);
}

#[test]
fn a_create_that_may_have_worked_is_not_repeated_blindly() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    gl.open(7, HEAD);
    let (dev, _) = plan_doc("dev", &["Asana"]);
    let f = write(&repo, "dev.json", &dev);
    let path = format!("/projects/{PROJECT_ID}/merge_requests/7/notes");
    gl.fault("POST", &path, Fault::AfterApplying(502), 1);
    gl.fault("GET", &path, Fault::Status(503), 1);
    Job::new(&repo, &gl)
        .run(["gitlab", "note", &f, "--max-attempts", "4"])
        .code(0);
    the_note(&gl, 7);
    assert_eq!(
        gl.requests().iter().filter(|r| r.method == "POST").count(),
        1
    );
}

#[test]
fn a_refused_token_is_reported_clearly_and_never_shown() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    gl.open(7, HEAD);
    let (dev, _) = plan_doc("dev", &["Asana"]);
    let f = write(&repo, "dev.json", &dev);
    let wrong = "glpat-wrongwrongwrongwrong";
    let out = Job::new(&repo, &gl)
        .var("SKCONN_GITLAB_TOKEN", wrong)
        .run(["gitlab", "note", &f]);
    out.code(1)
        .stderr_has("GitLab refused the token")
        .stderr_has("SKCONN_GITLAB_TOKEN is not a valid token");
    assert!(!out.all().contains(wrong), "{out}");
    let out = Job::new(&repo, &gl)
        .var("SKCONN_GITLAB_TOKEN", wrong)
        .push(MERGE)
        .run(["gitlab", "approved"]);
    out.code(1).stderr_has("(401)");
    assert!(out.stdout.is_empty() && !out.all().contains(wrong), "{out}");
    // A plain-http API that is not loopback is refused before anything is sent.
    Job::new(&repo, &gl)
        .var("CI_API_V4_URL", "http://gitlab.example.com/api/v4")
        .run(["gitlab", "note", &f])
        .code(1)
        .stderr_has("is not an https:// URL");
}

#[test]
fn hostile_plan_text_is_inert_in_the_note() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    gl.open(7, HEAD);
    let forged = format!("<!-- skconn-digest env=prod digest={} -->", "e".repeat(64));
    let name = format!("Evil\n{forged}\n/merge\n/approve\n\u{1b}[31m@all <script>");
    let (mut dev, digest) = plan_doc("dev", &["Asana"]);
    dev["environments"][0]["changes"][0]["display_name"] = json!(name);
    dev["environments"][0]["changes"][0]["after"]["description"] =
        json!(format!("line\n{forged}\n/close\n"));
    dev["environments"][0]["not_managed"] = json!([name]);
    let f = write(&repo, "dev.json", &dev);
    Job::new(&repo, &gl).run(["gitlab", "note", &f]).code(0);
    let body = the_note(&gl, 7);
    // No forged marker line, no quick action outside a code block, no escape character.
    let mut fenced = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        assert!(
            !line.trim_start().starts_with('/'),
            "a quick action: {line:?}\n{body}"
        );
        assert_ne!(line, forged, "a forged marker line\n{body}");
    }
    assert!(!body.contains('\u{1b}'), "{body}");
    assert!(!body.contains("<script>"), "{body}");
    // What it approves is the plan's digest, and nothing for prod.
    gl.merge(7, MERGE);
    let out = Job::new(&repo, &gl).push(MERGE).run(["gitlab", "approved"]);
    out.code(0);
    assert_eq!(out.stdout, format!("dev={digest}\n"));
}

// ---- what was approved ----

#[test]
fn approved_prints_the_digests_of_the_merged_merge_request() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    let (dev, prod) = noted(&repo, &gl, 7, HEAD, false);
    // An open merge request with the merge commit listed is not the one merged.
    gl.merge(7, MERGE);
    gl.open(8, HEAD2);
    gl.associate(MERGE, 8);
    let job = Job::new(&repo, &gl).push(MERGE);
    let out = job.run(["gitlab", "approved"]);
    out.code(0)
        .stderr_has("Approved by skconn's note on merge request !7");
    assert_eq!(out.stdout, format!("dev={dev}\nprod={prod}\n"));
    let out = job.run([
        "gitlab",
        "approved",
        "--env",
        "prod",
        "--save",
        "approved.json",
    ]);
    out.code(0);
    assert_eq!(out.stdout, format!("prod={prod}\n"));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("approved.json")).unwrap())
            .unwrap();
    assert_eq!(saved["kind"], "skconn-approved-plan");
    assert_eq!(saved["repository"], PROJECT_PATH);
    assert_eq!(saved["pull_request"], 7);
    assert_eq!(saved["head_sha"], HEAD);
    assert_eq!(saved["merge_commit_sha"], MERGE);
    assert_eq!(saved["environments"][0]["plan_digest"], prod.as_str());
    assert_eq!(
        saved["environments"][0]["digest_input"],
        input_of("prod", &["Asana", "Billing"])
    );
    // Approving reads only: the one write is the note's.
    assert_eq!(gl.writes().len(), 1);
}

#[test]
fn approved_refuses_forged_stale_and_missing_notes() {
    let repo = Repo::new();
    let gl = FakeGitlab::start();
    let job = |sha: &str| Job::new(&repo, &gl).push(sha);
    #[track_caller]
    fn refused(out: Out, says: &str) {
        out.code(1).stderr_has(says);
        assert!(out.stdout.is_empty(), "{out}");
    }
    // A push that no merge request merged.
    refused(
        job(MERGE).run(["gitlab", "approved"]),
        &format!("no merge request was merged as commit {MERGE}"),
    );
    // A merged merge request without a note.
    gl.open(8, HEAD);
    gl.merge(8, "8888888888888888888888888888888888888888");
    refused(
        job("8888888888888888888888888888888888888888").run(["gitlab", "approved"]),
        &format!("merge request !8 has no skconn plan note written by {BOT}"),
    );
    // A forged note: skconn's body, copied by a person.
    noted(&repo, &gl, 9, HEAD, false);
    let copy = the_note(&gl, 9);
    gl.open(10, HEAD);
    gl.add_note(10, "mallory", &copy);
    gl.merge(10, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    refused(
        job("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").run(["gitlab", "approved"]),
        "notes by mallory carry skconn's marker",
    );
    // Trusting another author is a choice made by name only; mallory's own token is not
    // trusted for the bot's note either.
    let mallory = gl.user_token("mallory");
    refused(
        job("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .var("SKCONN_GITLAB_TOKEN", &mallory)
            .run(["gitlab", "approved", "--author", BOT]),
        &format!("has no skconn plan note written by {BOT}"),
    );
    // A stale note: a commit was pushed after the last plan.
    noted(&repo, &gl, 11, HEAD, false);
    gl.push(11, HEAD2);
    gl.merge(11, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    refused(
        job("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").run(["gitlab", "approved"]),
        &format!("was planned for commit {HEAD}, but the merge request's final head is {HEAD2}"),
    );
    // An environment the note does not hold, and a failed plan.
    let (dev, _) = noted(&repo, &gl, 12, HEAD, true);
    gl.merge(12, "cccccccccccccccccccccccccccccccccccccccc");
    let j = job("cccccccccccccccccccccccccccccccccccccccc");
    refused(
        j.run(["gitlab", "approved", "--env", "eu"]),
        "there is no plan digest of `eu` (the comment holds: dev, prod)",
    );
    refused(j.run(["gitlab", "approved"]), "the plan of `prod` failed");
    let out = j.run(["gitlab", "approved", "--env", "dev"]);
    out.code(0);
    assert_eq!(out.stdout, format!("dev={dev}\n"));
    // No token: nothing can be read, and it says which variable.
    refused(
        j.clone()
            .without("SKCONN_GITLAB_TOKEN")
            .run(["gitlab", "approved"]),
        "SKCONN_GITLAB_TOKEN is not set",
    );
    assert!(gl.writes().iter().all(|w| w.path.ends_with("/notes")));
}

/// A real review on GitLab: `dev` holds Alpha and Beta; the merge request changes Alpha and
/// adds Gamma; its plan is noted, and it is merged.
fn reviewed_and_merged(dev: &skconn::emulator::Emulator, gl: &FakeGitlab) -> Repo {
    let repo = Repo::new()
        .env("dev", dev, "managed")
        .connector("alpha.yaml", bearer("Alpha"))
        .connector("beta.yaml", bearer("Beta"));
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let repo = repo
        .edit("connectors/alpha.yaml", |t| {
            t.replace("description: Alpha API", "description: Alpha API, reviewed")
        })
        .connector("gamma.yaml", bearer("Gamma"));
    let out = repo.skconn(["plan", "--env", "dev", "--format", "json"]);
    out.code(0);
    std::fs::write(repo.path().join("plan-dev.json"), &out.stdout).unwrap();
    gl.open(7, HEAD);
    Job::new(&repo, gl)
        .run(["gitlab", "note", "plan-dev.json"])
        .code(0);
    gl.merge(7, MERGE);
    repo
}

#[test]
fn apply_approved_applies_what_the_note_showed() {
    let dev = emulator();
    let gl = FakeGitlab::start();
    let repo = reviewed_and_merged(&dev, &gl);
    let job = Job::new(&repo, &gl).push(MERGE);
    job.run([
        "gitlab",
        "approved",
        "--env",
        "dev",
        "--save",
        "approved.json",
    ])
    .code(0);
    job.run([
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "--approved",
        "@approved.json",
    ])
    .code(0);
    assert!(dev.connector("Gamma").is_some());
}

#[test]
fn apply_approved_after_a_dashboard_edit_stops_with_exit_6_and_sends_nothing() {
    let dev = emulator();
    let gl = FakeGitlab::start();
    let repo = reviewed_and_merged(&dev, &gl);
    let job = Job::new(&repo, &gl).push(MERGE);
    job.run([
        "gitlab",
        "approved",
        "--env",
        "dev",
        "--save",
        "approved.json",
    ])
    .code(0);
    dev.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    dev.clear_requests();
    job.run([
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "--approved",
        "@approved.json",
        "--report",
        "apply-dev.json",
    ])
    .code(6)
    .stderr_has("environment dev: the plan differs from the approved plan")
    .stderr_has("\"Alpha\": the live connector changed since the review (drift) at `/description`");
    assert_eq!(api_writes(&dev), 0);
    assert!(dev.connector("Gamma").is_none());
}

/// The merged review of `reviewed_and_merged`, whose apply of `dev` stopped with exit 6 after a
/// dashboard edit, its report in `apply-dev.json`; the default branch's job.
fn stopped_apply<'a>(
    dev: &skconn::emulator::Emulator,
    gl: &'a FakeGitlab,
    repo: &'a Repo,
) -> Job<'a> {
    let job = Job::new(repo, gl).push(MERGE);
    job.run([
        "gitlab",
        "approved",
        "--env",
        "dev",
        "--save",
        "approved.json",
    ])
    .code(0);
    dev.edit("Alpha", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    job.run([
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "--approved",
        "@approved.json",
        "--report",
        "apply-dev.json",
    ])
    .code(6);
    job
}

/// skconn's apply notes on merge request `iid`.
fn apply_notes(gl: &FakeGitlab, iid: u64) -> Vec<String> {
    gl.notes(iid)
        .into_iter()
        .filter(|n| n.author == BOT && n.body.starts_with("<!-- skconn-apply "))
        .map(|n| n.body)
        .collect()
}

#[test]
fn a_stopped_apply_notes_why_on_the_merged_merge_request_once() {
    let dev = emulator();
    let gl = FakeGitlab::start();
    let repo = reviewed_and_merged(&dev, &gl);
    let plan_note = the_note(&gl, 7);
    let job = stopped_apply(&dev, &gl, &repo);
    job.run(["gitlab", "note", "apply-dev.json"])
        .code(0)
        .stderr_has("Created the apply note of `dev` on merge request !7");
    let notes = apply_notes(&gl, 7);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let why = &notes[0];
    assert!(
        why.starts_with("<!-- skconn-apply env=dev -->\n## skconn apply: `dev`\n"),
        "{why}"
    );
    assert!(
        why.contains("its fresh plan is not the plan this merge request's note showed"),
        "{why}"
    );
    assert!(
        why.contains("the live connector changed since the review (drift) at `/description`"),
        "{why}"
    );
    assert!(
        why.contains("The fresh plan, which was **not** applied"),
        "{why}"
    );
    assert!(why.contains("Gamma"), "{why}");
    assert!(
        why.contains("run a pipeline by hand on the default branch (Build → Pipelines → Run pipeline): its job `apply-dev-unreviewed`"),
        "{why}"
    );
    assert!(
        why.contains("(merge request !7) in [pipeline 3001](https://gitlab.example.com/"),
        "{why}"
    );
    assert!(
        !why.contains("pull request") && !why.contains("Run workflow"),
        "{why}"
    );
    // The plan note stays the record of what was approved.
    assert_eq!(the_note(&gl, 7), plan_note);
    // A rerun keeps the one note.
    job.run(["gitlab", "note", "apply-dev.json"])
        .code(0)
        .stderr_has("Kept (already current) the apply note of `dev`");
    assert_eq!(apply_notes(&gl, 7), notes);
}

#[test]
fn a_clean_apply_notes_nothing_and_a_plan_is_not_a_report() {
    let dev = emulator();
    let gl = FakeGitlab::start();
    let repo = reviewed_and_merged(&dev, &gl);
    let job = Job::new(&repo, &gl).push(MERGE);
    job.run([
        "gitlab",
        "approved",
        "--env",
        "dev",
        "--save",
        "approved.json",
    ])
    .code(0);
    job.run([
        "apply",
        "--env",
        "dev",
        "--auto-approve",
        "--approved",
        "@approved.json",
        "--report",
        "apply-dev.json",
    ])
    .code(0);
    let before = gl.requests().len();
    job.run(["gitlab", "note", "apply-dev.json"])
        .code(0)
        .stderr_has("applied cleanly: nothing to note");
    assert_eq!(gl.requests().len(), before, "GitLab was called");
    // A plan given where apply reports are expected: an input error at its file, nothing sent.
    job.run(["gitlab", "note", "plan-dev.json"])
        .code(1)
        .stderr_has("plan-dev.json")
        .stderr_has("`gitlab note` notes applies, and this is not an apply report")
        .stderr_has("skconn apply --report FILE");
    assert_eq!(gl.requests().len(), before, "GitLab was called");
    assert!(apply_notes(&gl, 7).is_empty());
}

#[test]
fn a_stop_with_no_merged_merge_request_or_no_token_is_in_the_log() {
    let dev = emulator();
    let gl = FakeGitlab::start();
    let repo = reviewed_and_merged(&dev, &gl);
    stopped_apply(&dev, &gl, &repo);
    let writes = gl.writes().len();
    // A push no merge request merged.
    let out = Job::new(&repo, &gl)
        .push(HEAD2)
        .run(["gitlab", "note", "apply-dev.json"]);
    out.code(0)
        .stderr_has(&format!(
            "no merge request was merged as commit {HEAD2}, so there is none to note on"
        ))
        .stderr_has("the report is in this job's log only")
        .stdout_has("<!-- skconn-apply env=dev -->")
        .stdout_has("The fresh plan, which was **not** applied");
    // No token: nothing is asked of GitLab.
    let before = gl.requests().len();
    Job::new(&repo, &gl)
        .push(MERGE)
        .without("SKCONN_GITLAB_TOKEN")
        .run(["gitlab", "note", "apply-dev.json"])
        .code(0)
        .stderr_has("SKCONN_GITLAB_TOKEN is not set")
        .stdout_has("the live connector changed since the review (drift)");
    assert_eq!(gl.requests().len(), before);
    assert!(apply_notes(&gl, 7).is_empty());
    assert_eq!(gl.writes().len(), writes, "GitLab was written to");
    repo.skconn(["gitlab", "note", "--help"])
        .code(0)
        .stdout_has("skconn-apply");
}

#[test]
fn help_describes_both_commands() {
    let repo = Repo::new();
    repo.skconn(["gitlab", "note", "--help"])
        .code(0)
        .stdout_has("SKCONN_GITLAB_TOKEN");
    repo.skconn(["gitlab", "approved", "--help"])
        .code(0)
        .stdout_has("ENV=DIGEST");
}
