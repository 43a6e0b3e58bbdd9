//! `skconn github comment` and `skconn github approved`, run as the real binary against the
//! fake GitHub API and the emulator: one comment per pull request, the size limit, forks,
//! refused and failed plans, GitHub's errors and rate limits, and every stale case of an
//! approval.

use crate::fake_github::{FakeGithub, Fault, BOT};
use crate::support::*;
use serde_json::{json, Value};
use sha2::Digest;

pub(crate) const HEAD: &str = "1111111111111111111111111111111111111111";
pub(crate) const HEAD2: &str = "2222222222222222222222222222222222222222";
pub(crate) const MERGE: &str = "9999999999999999999999999999999999999999";

/// A GitHub Actions job around a repository: its variables, its event file, its summary.
#[derive(Clone)]
struct Job<'a> {
    repo: &'a Repo,
    gh: &'a FakeGithub,
    vars: Vec<(String, String)>,
}

impl<'a> Job<'a> {
    fn new(repo: &'a Repo, gh: &'a FakeGithub) -> Job<'a> {
        let job = Job {
            repo,
            gh,
            vars: vec![
                ("GITHUB_ACTIONS".into(), "true".into()),
                ("GITHUB_API_URL".into(), gh.url()),
                ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
                ("GITHUB_REPOSITORY".into(), gh.repo()),
                ("GITHUB_RUN_ID".into(), "1001".into()),
                ("GITHUB_TOKEN".into(), gh.token().into()),
                (
                    "GITHUB_STEP_SUMMARY".into(),
                    repo.path().join("summary.md").display().to_string(),
                ),
            ],
        };
        job.event(7, HEAD, Some(&gh.repo()))
    }

    fn var(mut self, k: &str, v: &str) -> Job<'a> {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.into(), v.into()));
        self
    }

    /// The event of a pull request `number` whose head is `head` in `head_repo`.
    fn event(self, number: u64, head: &str, head_repo: Option<&str>) -> Job<'a> {
        let path = self.repo.path().join(format!("event-{number}-{head}.json"));
        let repo = head_repo.map(|r| json!({"full_name": r}));
        let event = json!({"action": "synchronize", "number": number,
            "pull_request": {"number": number, "head": {"sha": head, "ref": "feature", "repo": repo},
                             "base": {"ref": "main"}}});
        std::fs::write(&path, event.to_string()).unwrap();
        self.var("GITHUB_EVENT_PATH", &path.display().to_string())
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
        // Whatever happened, the token is never shown.
        let given = [self.var_value("GITHUB_TOKEN"), self.var_value("GH_TOKEN")];
        for t in given
            .iter()
            .map(String::as_str)
            .chain([self.gh.token()])
            .filter(|t| !t.is_empty())
        {
            assert!(!out.all().contains(t), "the token was printed\n{out}");
            assert!(!self.summary().contains(t), "the token is in the summary");
        }
        out
    }

    fn var_value(&self, k: &str) -> String {
        self.vars
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.repo.path().join("summary.md")).unwrap_or_default()
    }

    fn clear_summary(&self) {
        let _ = std::fs::remove_file(self.repo.path().join("summary.md"));
    }
}

/// Writes a JSON document into the repository and returns its path (relative to it).
pub(crate) fn write(repo: &Repo, name: &str, doc: &Value) -> String {
    std::fs::write(
        repo.path().join(name),
        serde_json::to_string_pretty(doc).unwrap(),
    )
    .unwrap();
    name.to_string()
}

/// The SHA-256 of a digest input written with its keys in order already (its canonical form).
pub(crate) fn digest_of(input: &Value) -> String {
    let text = serde_json::to_string(input).unwrap();
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A digest input, its keys sorted.
pub(crate) fn input_of(env: &str, names: &[&str]) -> Value {
    let changes: Vec<Value> = names
        .iter()
        .map(|n| json!({"action": "create", "blocked": false, "connector": n,
                        "fields": [{"after": {"display_name": n}, "before": null, "pointer": ""}], "identifier": null}))
        .collect();
    json!({"changes": changes, "digest_version": "1", "environment": env})
}

pub(crate) fn create(name: &str, description: &str) -> Value {
    json!({"action": "create", "display_name": name, "identifier": null,
           "file": format!("connectors/{}.yaml", name.to_lowercase().replace(' ', "_")), "drift": false,
           "before": null,
           "after": {"display_name": name, "description": description, "proxy_url": "https://api.example.com",
                     "auth_patterns": [{"type": "BEARER"}]},
           "diff": [], "warnings": [], "usage": null, "blocked": null})
}

/// A JSON plan of one environment creating `names`, with a digest and its input.
pub(crate) fn plan_doc(env: &str, names: &[&str]) -> (Value, String) {
    let input = input_of(env, names);
    let digest = digest_of(&input);
    let changes: Vec<Value> = names
        .iter()
        .map(|n| create(n, &format!("{n} API")))
        .collect();
    let doc = json!({"format_version": "2", "digest_version": "1", "refused": [],
        "environments": [{"name": env,
            "summary": {"create": names.len(), "adopt": 0, "update": 0, "delete": 0, "unchanged": 1},
            "changes": changes, "not_managed": ["Hand Made"], "other_owners": [],
            "plan_digest": digest, "digest_input": input, "source": {"kind": "live", "taken_at": null}}]});
    (doc, digest)
}

pub(crate) fn failed_doc(env: &str, message: &str) -> Value {
    json!({"format_version": "2", "digest_version": "1", "error": message, "selected": [env],
           "refused": [], "environments": []})
}

/// The one comment by the bot on a pull request.
#[track_caller]
fn the_comment(gh: &FakeGithub, number: u64) -> String {
    let mine: Vec<_> = gh
        .comments(number)
        .into_iter()
        .filter(|c| c.login == BOT && c.body.starts_with("<!-- skconn-plan -->"))
        .collect();
    assert_eq!(mine.len(), 1, "not exactly one skconn comment: {mine:#?}");
    mine[0].body.clone()
}

#[track_caller]
pub(crate) fn assert_balanced(text: &str) {
    assert_eq!(
        text.matches("<details>").count(),
        text.matches("</details>").count(),
        "unbalanced <details>"
    );
    let fences = text
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(fences % 2, 0, "a code block is left open");
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with('|') {
            assert!(line.ends_with('|'), "a table row is cut: {line:?}");
            in_table = true;
        } else if in_table {
            assert!(
                line.is_empty(),
                "a table does not end with a blank line: {line:?}"
            );
            in_table = false;
        }
    }
}

// ---- the comment ----

#[test]
fn one_comment_per_pull_request_across_reruns_and_environments() {
    let dev = emulator();
    let prod = emulator();
    let repo = Repo::new()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed")
        .connector("asana.yaml", bearer("Asana"));
    // Real plans of two jobs, one environment each.
    for env in ["dev", "prod"] {
        let out = repo.skconn(["plan", "--env", env, "--format", "json"]);
        out.code(0);
        std::fs::write(repo.path().join(format!("{env}.json")), &out.stdout).unwrap();
    }
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    gh.add_comment(7, "alice", "User", "Looks good to me");
    // A person's look-alike comment is never the one skconn updates.
    gh.add_comment(
        7,
        "mallory",
        "User",
        "<!-- skconn-plan -->\n## skconn plan\nfake",
    );
    let job = Job::new(&repo, &gh);

    let out = job.run(["github", "comment", "dev.json", "prod.json"]);
    out.code(0)
        .stderr_has("Created skconn's comment on pull request #7");
    let body = the_comment(&gh, 7);
    assert!(body.contains("### Environment `dev`") && body.contains("### Environment `prod`"));
    assert!(
        body.find("`dev`").unwrap() < body.find("`prod`").unwrap(),
        "in the order given"
    );
    assert!(body.contains("| 🟢 | create | Asana |"));
    assert!(body.contains(&format!("<!-- skconn-head {HEAD} -->")));
    assert!(body.contains("<!-- skconn-run 1001 -->"));
    assert!(body.contains("in [run 1001](https://github.com/octo/connectors/actions/runs/1001)"));
    assert!(body.contains("Planned for commit `111111111111` (the head of #7)"));
    assert_eq!(gh.comments(7).len(), 3);
    assert!(
        job.summary().contains("### Environment `prod`"),
        "the job summary holds the plan"
    );
    assert_balanced(&body);

    // A rerun, and a later run for a new head: the same comment, updated.
    let job = job.var("GITHUB_RUN_ID", "1002");
    job.run(["github", "comment", "dev.json", "prod.json"])
        .code(0)
        .stderr_has("Updated skconn's comment");
    assert!(the_comment(&gh, 7).contains("<!-- skconn-run 1002 -->"));
    gh.push(7, HEAD2);
    let job = job
        .event(7, HEAD2, Some("octo/connectors"))
        .var("GITHUB_RUN_ID", "1003");
    job.run(["github", "comment", "dev.json", "prod.json"])
        .code(0);
    let body = the_comment(&gh, 7);
    assert!(body.contains(&format!("<!-- skconn-head {HEAD2} -->")));
    assert_eq!(gh.comments(7).len(), 3);
    // Same body again: nothing is written.
    job.run(["github", "comment", "dev.json", "prod.json"])
        .code(0)
        .stderr_has("Kept (already current)");

    let writes = gh.writes();
    assert_eq!(
        writes.iter().filter(|r| r.method == "POST").count(),
        1,
        "{writes:#?}"
    );
    assert_eq!(writes.iter().filter(|r| r.method == "PATCH").count(), 2);
    assert!(writes
        .iter()
        .all(|r| r.body.as_ref().unwrap()["body"].is_string()));
    for r in gh.requests() {
        assert!(r.had_token, "{r:?}");
        assert!(
            r.user_agent
                .as_deref()
                .unwrap_or_default()
                .starts_with("skconn/"),
            "{r:?}"
        );
        assert!(r.status < 300, "{r:?}");
    }
}

#[test]
fn the_comment_is_found_on_a_later_page_of_githubs_links() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    for i in 0..150 {
        gh.add_comment(7, "alice", "User", &format!("comment {i}"));
    }
    let job = Job::new(&repo, &gh);
    job.run(["github", "comment", &file]).code(0);
    // Listed again over two pages; the second through the `/repositories/{id}/…` link.
    let job = job.var("GITHUB_RUN_ID", "1002");
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has("Updated");
    assert_eq!(gh.comments(7).len(), 151);
    let second = gh
        .requests()
        .into_iter()
        .filter(|r| r.path == "/repositories/4242/issues/7/comments")
        .count();
    assert_eq!(second, 2, "{:#?}", gh.requests());
    assert!(gh
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/issues/7/comments") && r.query.contains("per_page=100")));
}

#[test]
fn a_huge_plan_is_shortened_to_fit_and_the_summary_holds_more() {
    let repo = Repo::new();
    let names: Vec<String> = (0..500).map(|i| format!("Connector {i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (mut doc, digest) = plan_doc("prod", &refs);
    let long = "a long description that fills the collapsed body of the connector ".repeat(12);
    for c in doc["environments"][0]["changes"].as_array_mut().unwrap() {
        c["after"]["description"] = json!(long);
    }
    let file = write(&repo, "prod.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let job = Job::new(&repo, &gh);
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has("the comment was shortened");
    let body = the_comment(&gh, 7);
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(
        body.contains("**Shortened to fit GitHub's limit of 65,536 characters for a comment:**")
    );
    assert!(body.contains("[job summary](https://github.com/octo/connectors/actions/runs/1001)"));
    assert!(body.contains(&format!("<!-- skconn-digest env=prod digest={digest} -->")));
    assert!(body.contains(&format!("<!-- skconn-head {HEAD} -->")));
    assert!(
        !body.contains("skconn-digest-input"),
        "the digest inputs go first"
    );
    assert_balanced(&body);
    // Whole lines only: every line of the comment is a line of the full body.
    let summary = job.summary();
    assert!(summary.len() > body.len() * 2);
    assert!(summary.contains("skconn-digest-input env=prod"));
    assert!(summary.contains("Connector 499"));
    assert_balanced(&summary);
    let full: std::collections::HashSet<&str> = summary.lines().collect();
    for line in body.lines() {
        if line.starts_with("> **Shortened")
            || line.starts_with("> [!NOTE]")
            || line.starts_with('_')
        {
            continue;
        }
        assert!(
            full.contains(line),
            "a line that is not in the full body: {line:?}"
        );
    }
}

#[test]
fn a_fork_gets_the_summary_only_and_no_write_request() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull_from(7, HEAD, Some("mallory/connectors"));
    let token = gh.read_only_token();
    let job = Job::new(&repo, &gh)
        .event(7, HEAD, Some("mallory/connectors"))
        .var("GITHUB_TOKEN", &token);
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has("comes from the fork mallory/connectors")
        .stderr_has("the plan is in the job summary only");
    assert!(gh.requests().is_empty(), "{:#?}", gh.requests());
    assert!(job.summary().contains("### Environment `dev`"));
    // A deleted fork, and no token at all: the same.
    job.clear_summary();
    let job = job.event(7, HEAD, None).var("GITHUB_TOKEN", "");
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has("a fork that no longer exists");
    assert!(job.summary().contains("Asana"));
    // Outside GitHub Actions (no job summary), the plan goes to standard output.
    let out = job
        .var("GITHUB_STEP_SUMMARY", "")
        .run(["github", "comment", &file]);
    out.code(0)
        .stderr_has("standard output (GITHUB_STEP_SUMMARY is not set)")
        .stdout_has("### Environment `dev`");
}

#[test]
fn a_read_only_token_gets_the_summary_only() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let token = gh.read_only_token();
    let job = Job::new(&repo, &gh).var("GITHUB_TOKEN", &token);
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has("the token may not comment on pull request #7")
        .stderr_has("Resource not accessible by integration");
    assert!(gh.comments(7).is_empty());
    assert_eq!(gh.writes().len(), 1, "one refused write, not retried");
    assert!(job.summary().contains("Asana"));
}

#[test]
fn refused_and_failed_plans_say_why_and_fail_the_check() {
    let dev = emulator();
    let prod = emulator();
    let repo = repo_with(3, &dev, "managed").env("prod", &prod, "managed");
    repo.skconn(["apply", "--auto-approve", "--env", "dev"])
        .code(0);
    // dev: every file gone, so the plan would delete all: refused.
    let repo = repo
        .remove("connectors/c00.yaml")
        .remove("connectors/c01.yaml")
        .remove("connectors/c02.yaml");
    let refused = repo.skconn(["plan", "--env", "dev", "--format", "json"]);
    refused.code(3);
    std::fs::write(repo.path().join("dev.json"), &refused.stdout).unwrap();
    // prod: an invalid file, so no plan at all.
    let repo = repo.connector("bad.yaml", "display_name: Bad\nproxy_url: ftp://nope\n");
    let failed = repo.skconn(["plan", "--env", "prod", "--format", "json"]);
    failed.code(1);
    let failed_doc: Value = serde_json::from_str(&failed.stdout).unwrap();
    assert_eq!(failed_doc["selected"], json!(["prod"]));
    assert_eq!(failed_doc["digest_version"], "1");
    std::fs::write(repo.path().join("prod.json"), &failed.stdout).unwrap();

    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let job = Job::new(&repo, &gh);
    job.run(["github", "comment", "dev.json"])
        .code(3)
        .stderr_has("the plan of `dev` was refused as unsafe: the comment says why");
    let body = the_comment(&gh, 7);
    assert!(body.contains("> [!CAUTION]"));
    assert!(body.contains("the connectors folder is empty or missing"));
    assert!(body.contains("<!-- skconn-refused env=dev -->"));
    assert!(!body.contains("<!-- skconn-digest "));

    job.run(["github", "comment", "dev.json", "prod.json"])
        .code(1)
        .stderr_has("the plan of `prod` failed: the comment says why");
    let body = the_comment(&gh, 7);
    assert!(body.contains("The plan of `prod` failed"));
    assert!(body.contains("bad.yaml"), "the section says why:\n{body}");
    assert!(body.contains("<!-- skconn-failed env=prod -->"));
    assert_balanced(&body);
}

#[test]
fn invalid_plan_files_send_nothing_and_are_all_reported() {
    let repo = Repo::new().file(
        "garbage.json",
        "{\"format_version\": \"2\",\n  \"refused\": [1]\n}",
    );
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let ok = write(&repo, "dev.json", &doc);
    let twice = write(&repo, "dev-again.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let job = Job::new(&repo, &gh);
    job.run([
        "--color",
        "never",
        "github",
        "comment",
        "garbage.json",
        "missing.json",
        &ok,
        &twice,
    ])
    .code(1)
    .stderr_has(
        "garbage.json:2:15: not a JSON plan: invalid type: integer `1`, expected a refusal object",
    )
    .stderr_has("missing.json: the JSON plan cannot be read")
    .stderr_has("the environment `dev` is in more than one plan")
    .stderr_has("3 problems in the input");
    assert!(gh.requests().is_empty());
    assert!(
        job.summary().is_empty(),
        "nothing written while the input is invalid"
    );
}

#[test]
fn a_run_for_an_older_head_leaves_the_comment_alone() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    gh.push(7, HEAD2);
    let job = Job::new(&repo, &gh);
    job.run(["github", "comment", &file])
        .code(0)
        .stderr_has(&format!("pull request #7's head is now {HEAD2}"));
    assert!(gh.writes().is_empty());
    assert!(gh.comments(7).is_empty());
}

#[test]
fn githubs_errors_are_retried_and_rate_limits_honoured() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let job = Job::new(&repo, &gh);
    // A 502 on the listing, then a secondary rate limit on the create.
    gh.fault(
        "GET",
        "/repos/octo/connectors/issues/7/comments",
        Fault::Status(502),
        1,
    );
    gh.fault(
        "POST",
        "/repos/",
        Fault::SecondaryRateLimit { retry_after: 1 },
        1,
    );
    job.run(["-v", "github", "comment", &file])
        .code(0)
        .stderr_has("rate limited by GitHub; retrying after the wait it asked for")
        .stderr_has("request failed; retrying");
    the_comment(&gh, 7);
    let statuses: Vec<(String, u16)> = gh
        .requests()
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_string(), 200),
            ("GET".to_string(), 502),
            ("GET".to_string(), 200),
            ("POST".to_string(), 403),
            ("POST".to_string(), 201)
        ]
    );
    // A primary rate limit (x-ratelimit-remaining: 0) is waited out too.
    gh.fault(
        "PATCH",
        "/repos/",
        Fault::PrimaryRateLimit { reset_in: 1 },
        1,
    );
    job.clone()
        .var("GITHUB_RUN_ID", "1002")
        .run(["github", "comment", &file])
        .code(0)
        .stderr_has("Updated");
    // A wait longer than --max-wait is not waited: it fails, saying so.
    gh.fault(
        "PATCH",
        "/repos/",
        Fault::SecondaryRateLimit { retry_after: 3600 },
        1,
    );
    job.var("GITHUB_RUN_ID", "1003")
        .run(["github", "comment", &file, "--max-wait", "5"])
        .code(1)
        .stderr_has("asked to wait 3600.0s, longer than --max-wait (5.0s)");
}

#[test]
fn a_create_that_may_have_worked_is_not_repeated_blindly() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    // GitHub writes the comment, but the answer is lost in a 502: skconn lists again, finds
    // it, and neither creates a second one nor repeats the write.
    gh.fault("POST", "/repos/", Fault::AfterApplying(502), 1);
    Job::new(&repo, &gh)
        .run(["github", "comment", &file])
        .code(0)
        .stderr_has("Kept (already current)");
    the_comment(&gh, 7);
    let methods: Vec<String> = gh.writes().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST"]);
    // A 502 that did not write: listed again, created once.
    gh.fault("POST", "/repos/", Fault::Status(502), 1);
    gh.open_pull(8, HEAD);
    Job::new(&repo, &gh)
        .event(8, HEAD, Some("octo/connectors"))
        .run(["github", "comment", &file])
        .code(0)
        .stderr_has("Created");
    the_comment(&gh, 8);
}

#[test]
fn a_refused_token_is_reported_clearly_and_never_shown() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let wrong = format!("ghp_{:036x}", 0xdead_beef_u64);
    let job = Job::new(&repo, &gh).var("GITHUB_TOKEN", &wrong);
    let out = job.run(["-vvv", "github", "comment", &file]);
    out.code(1)
        .stderr_has(
            "GitHub refused the token on GET /repos/octo/connectors/pulls/7: Bad credentials (401)",
        )
        .stderr_has("GITHUB_TOKEN");
    assert!(!out.all().contains(&wrong));
    assert!(
        job.summary().contains("Asana"),
        "the summary is written first"
    );
    // GH_TOKEN is read when GITHUB_TOKEN is not set.
    let job = job.var("GITHUB_TOKEN", "").var("GH_TOKEN", gh.token());
    job.run(["github", "comment", &file]).code(0);
    // No token at all: an error naming the variables.
    let job = job.var("GH_TOKEN", "");
    job.run(["github", "comment", &file])
        .code(1)
        .stderr_has("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN)");
}

#[test]
fn an_api_url_that_is_not_https_is_refused() {
    let repo = Repo::new();
    let (doc, _) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    let job = Job::new(&repo, &gh).var("GITHUB_API_URL", "http://api.github.example.com");
    job.run(["github", "comment", &file])
        .code(1)
        .stderr_has("GITHUB_API_URL http://api.github.example.com/ uses plain http://");
    let job = job.var("GITHUB_EVENT_PATH", "");
    job.var("GITHUB_API_URL", &gh.url())
        .run(["github", "comment", &file])
        .code(1)
        .stderr_has("GITHUB_EVENT_PATH is not set");
}

#[test]
fn an_app_token_writes_and_finds_its_own_bots_comment() {
    let repo = Repo::new();
    let (doc, digest) = plan_doc("dev", &["Asana"]);
    let file = write(&repo, "dev.json", &doc);
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    let token = gh.app_token("skconn-bot[bot]");
    let job = Job::new(&repo, &gh).var("GITHUB_TOKEN", &token);
    for run in ["1", "2"] {
        job.clone()
            .var("GITHUB_RUN_ID", run)
            .run(["github", "comment", &file, "--author", "skconn-bot[bot]"])
            .code(0);
    }
    assert_eq!(gh.comments(7).len(), 1);
    gh.merge(7, MERGE);
    let job = job.var("GITHUB_SHA", MERGE);
    job.run(["github", "approved"])
        .code(1)
        .stderr_has("only a comment written by the bot github-actions[bot] is trusted");
    job.run(["github", "approved", "--author", "skconn-bot[bot]"])
        .code(0)
        .stdout_has(&format!("dev={digest}\n"));
}

// ---- approvals ----

/// A pull request `number` commented on by skconn at `head` with dev's and prod's plans.
fn commented(
    repo: &Repo,
    gh: &FakeGithub,
    number: u64,
    head: &str,
    prod_failed: bool,
) -> (String, String) {
    let (dev, dev_digest) = plan_doc("dev", &["Asana"]);
    let (prod, prod_digest) = plan_doc("prod", &["Asana", "Billing"]);
    let dev_file = write(repo, &format!("dev-{number}.json"), &dev);
    let prod_file = if prod_failed {
        write(
            repo,
            &format!("prod-{number}.json"),
            &failed_doc("prod", "connectors/billing.yaml:2:12: proxy_url: not https"),
        )
    } else {
        write(repo, &format!("prod-{number}.json"), &prod)
    };
    gh.open_pull(number, head);
    Job::new(repo, gh)
        .event(number, head, Some("octo/connectors"))
        .run(["github", "comment", &dev_file, &prod_file])
        .code(if prod_failed { 1 } else { 0 });
    (dev_digest, prod_digest)
}

#[test]
fn approved_prints_the_digests_of_the_merged_pull_request() {
    let repo = Repo::new();
    let gh = FakeGithub::start();
    let (dev, prod) = commented(&repo, &gh, 7, HEAD, false);
    // A squash merge: the pushed commit is the pull request's merge commit. An open pull
    // request based on the same commit is not the one merged.
    gh.merge(7, MERGE);
    gh.open_pull(8, HEAD2);
    gh.associate(MERGE, 8);
    let job = Job::new(&repo, &gh).var("GITHUB_SHA", MERGE);
    let out = job.run(["github", "approved"]);
    out.code(0)
        .stderr_has("Approved by skconn's comment on pull request #7");
    assert_eq!(out.stdout, format!("dev={dev}\nprod={prod}\n"));
    let out = job.run([
        "github",
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
    assert_eq!(saved["pull_request"], 7);
    assert_eq!(saved["head_sha"], HEAD);
    assert_eq!(saved["merge_commit_sha"], MERGE);
    assert_eq!(saved["environments"][0]["name"], "prod");
    assert_eq!(saved["environments"][0]["plan_digest"], prod.as_str());
    assert_eq!(
        saved["environments"][0]["digest_input"],
        input_of("prod", &["Asana", "Billing"])
    );
    // Approving reads only: the one write is the comment's.
    assert_eq!(gh.writes().len(), 1);
}

#[test]
fn approved_refuses_every_stale_case() {
    let repo = Repo::new();
    let gh = FakeGithub::start();
    let job = |sha: &str| Job::new(&repo, &gh).var("GITHUB_SHA", sha);
    #[track_caller]
    fn refused(out: Out, says: &str) {
        out.code(1).stderr_has(says);
        assert!(out.stdout.is_empty(), "{out}");
    }

    // A push that no pull request merged.
    refused(
        job(MERGE).run(["github", "approved"]),
        &format!("no pull request was merged as commit {MERGE}"),
    );
    // A merged pull request without a skconn comment, and one with only a person's
    // look-alike of it.
    gh.open_pull(8, HEAD);
    gh.merge(8, "8888888888888888888888888888888888888888");
    refused(
        job("8888888888888888888888888888888888888888").run(["github", "approved"]),
        "pull request #8 has no skconn plan comment written by github-actions[bot]",
    );
    let (_, _) = commented(&repo, &gh, 9, HEAD, false);
    let copy = the_comment(&gh, 9);
    gh.open_pull(10, HEAD);
    gh.add_comment(10, "mallory", "User", &copy);
    gh.merge(10, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    refused(
        job("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").run(["github", "approved"]),
        "comments by mallory (User) carry skconn's marker",
    );
    // A comment for an older head: a commit was pushed after the last plan.
    let (_, _) = commented(&repo, &gh, 11, HEAD, false);
    gh.push(11, HEAD2);
    gh.merge(11, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    refused(
        job("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").run(["github", "approved"]),
        &format!("was planned for commit {HEAD}, but the pull request's final head is {HEAD2}"),
    );
    // An environment the comment does not hold, and a failed plan.
    let (dev, _) = commented(&repo, &gh, 12, HEAD, true);
    gh.merge(12, "cccccccccccccccccccccccccccccccccccccccc");
    let j = job("cccccccccccccccccccccccccccccccccccccccc");
    refused(
        j.run(["github", "approved", "--env", "eu"]),
        "there is no plan digest of `eu` (the comment holds: dev, prod)",
    );
    refused(j.run(["github", "approved"]), "the plan of `prod` failed");
    refused(
        j.run(["github", "approved", "--env", "prod"]),
        "the plan of `prod` failed",
    );
    let out = j.run(["github", "approved", "--env", "dev"]);
    out.code(0);
    assert_eq!(out.stdout, format!("dev={dev}\n"));
    // No GITHUB_SHA.
    refused(
        Job::new(&repo, &gh).run(["github", "approved"]),
        "GITHUB_SHA is not set",
    );
}

#[test]
fn approved_reads_a_comment_made_from_real_plans() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    let out = repo.skconn(["plan", "--format", "json"]);
    out.code(0);
    std::fs::write(repo.path().join("dev.json"), &out.stdout).unwrap();
    let gh = FakeGithub::start();
    gh.open_pull(7, HEAD);
    Job::new(&repo, &gh)
        .run(["github", "comment", "dev.json"])
        .code(0);
    gh.merge(7, MERGE);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let job = Job::new(&repo, &gh).var("GITHUB_SHA", MERGE);
    let approved = job.run(["github", "approved"]);
    match plan["environments"][0]["plan_digest"].as_str() {
        // Plans with digests: the digest goes through the comment unchanged.
        Some(d) => {
            approved.code(0);
            assert_eq!(approved.stdout, format!("dev={d}\n"));
        }
        // Plans made before digests: nothing can be approved, and it says so.
        None => {
            approved
                .code(1)
                .stderr_has("the plan of `dev` has no digest");
            assert!(the_comment(&gh, 7).contains("_No plan digest"));
        }
    }
}

#[test]
fn help_describes_both_commands() {
    let repo = Repo::new();
    repo.skconn(["github", "comment", "--help"])
        .code(0)
        .stdout_has("GITHUB_EVENT_PATH")
        .stdout_has("65,536 characters")
        .stdout_has("Exit status:");
    repo.skconn(["github", "approved", "--help"])
        .code(0)
        .stdout_has("ENV=DIGEST")
        .stdout_has("--save <FILE>");
    repo.skconn(["github", "comment"])
        .code(1)
        .stderr_has("<PLAN_JSON>...");
    let man = repo.skconn(["man"]);
    man.stdout_has(".SS \"skconn github comment\"")
        .stdout_has(".SS \"skconn github approved\"");
}
