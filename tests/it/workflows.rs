//! The GitHub workflows `skconn init` writes, read as data: least privilege in every job, every
//! action pinned, no secret where a pull request could reach it, every environment planned from
//! a snapshot planned `--against` it with no credential, thin steps; and this repository's own
//! workflows, which are init's apart from how skconn is installed, the timeouts and the triggers.

use crate::support::*;
use serde_yaml::{Mapping, Value};

/// The three workflows `skconn init` writes for these arguments, parsed, by file name.
fn init_workflows(args: &[&str]) -> Vec<(String, String, Value)> {
    let repo = Repo::new();
    let mut all = vec!["init", "--ci", "github"];
    all.extend_from_slice(args);
    repo.skconn(&all).code(0);
    ["skconn-plan.yml", "skconn-apply.yml", "skconn-drift.yml"]
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(repo.path().join(".github/workflows").join(f)).unwrap();
            let doc: Value = serde_yaml::from_str(&text).unwrap();
            (f.to_string(), text, doc)
        })
        .collect()
}

fn jobs(doc: &Value) -> Vec<(String, &Value)> {
    doc["jobs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .collect()
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_sequence().unwrap()
}

fn text(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap()
}

/// A job's permissions as (scope, level) pairs, sorted.
fn permissions(job: &Value) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = job["permissions"]
        .as_mapping()
        .unwrap_or_else(|| panic!("a job without its own permissions:\n{}", text(job)))
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    p.sort();
    p
}

fn perms(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    p.sort();
    p
}

/// The environments and live choices the checks run over: 1, 2 and 3 environments.
const CASES: &[(&[&str], &[&str], &[&str])] = &[
    // (init arguments, environments, planned live)
    (&["--env", "prod"], &["prod"], &["prod"]),
    (&["--env", "prod", "--live", "none"], &["prod"], &[]),
    (&[], &["dev", "prod"], &["dev"]),
    (
        &["--env", "dev", "--env", "staging", "--env", "eu-prod"],
        &["dev", "staging", "eu-prod"],
        &["dev"],
    ),
    (
        &[
            "--env", "dev", "--env", "staging", "--env", "eu-prod", "--live", "staging", "--live",
            "dev",
        ],
        &["dev", "staging", "eu-prod"],
        &["dev", "staging"],
    ),
];

fn stem(env: &str) -> String {
    env.to_uppercase().replace('-', "_")
}

#[test]
fn every_workflow_starts_with_no_permission_and_pins_every_action() {
    for (args, _, _) in CASES {
        for (file, raw, doc) in init_workflows(args) {
            assert_eq!(
                doc["permissions"],
                Value::Mapping(Mapping::new()),
                "{file}: `permissions: {{}}` on top"
            );
            assert!(!raw.contains("pull_request_target"), "{file}");
            for (id, job) in jobs(&doc) {
                permissions(job);
                for step in steps(job) {
                    let Some(uses) = step["uses"].as_str() else {
                        continue;
                    };
                    let (_, at) = uses.split_once('@').unwrap();
                    let pin = at.split_whitespace().next().unwrap();
                    let by_sha = pin.len() == 40 && pin.bytes().all(|b| b.is_ascii_hexdigit());
                    let own_release = uses.starts_with("skconn/skconn@v");
                    assert!(by_sha || own_release, "{file} {id}: `{uses}` is not pinned");
                    if uses.starts_with("actions/checkout@") {
                        assert_eq!(
                            step["with"]["persist-credentials"],
                            Value::Bool(false),
                            "{file} {id}"
                        );
                    }
                }
                // The pins keep their tag as a comment, for Dependabot and people.
                for line in raw.lines().filter(|l| l.trim_start().starts_with("uses: ")) {
                    assert!(
                        line.contains(" # v") || line.contains("skconn/skconn@v"),
                        "{line}"
                    );
                }
            }
        }
    }
}

#[test]
fn each_job_has_the_least_it_needs_and_no_pull_request_job_holds_a_secret_and_a_write() {
    for (args, envs, live) in CASES {
        let all = init_workflows(args);
        for (file, _, doc) in &all {
            for (id, job) in jobs(doc) {
                let t = text(job);
                let expected: &[(&str, &str)] = if id == "comment" {
                    &[("pull-requests", "write")]
                } else if id.starts_with("plan-") || id.starts_with("show-") {
                    &[("actions", "read"), ("contents", "read")]
                } else if id.starts_with("apply-manual-") || id.starts_with("drift-") {
                    &[("contents", "read")]
                } else if id.starts_with("apply-") {
                    &[("contents", "read"), ("pull-requests", "write")]
                } else {
                    panic!("{file}: a job skconn does not know: {id}");
                };
                assert_eq!(permissions(job), perms(expected), "{file} {id}");
                let pull_request_job = file == "skconn-plan.yml" || id.starts_with("show-");
                if pull_request_job && t.contains("secrets.") {
                    assert!(
                        permissions(job).iter().all(|(_, level)| level != "write"),
                        "{file} {id} holds a secret and a write permission"
                    );
                }
                // A job names its own environment's variables and no other's.
                let own = ["plan-", "apply-manual-", "apply-", "show-", "drift-"]
                    .iter()
                    .find_map(|p| id.strip_prefix(p).filter(|e| envs.contains(e)));
                for env in envs.iter() {
                    if Some(*env) != own {
                        assert!(
                            !t.contains(&format!("SCALEKIT_{}_", stem(env))),
                            "{file} {id} names {env}'s variables"
                        );
                    }
                }
            }
        }
        let plan = &all[0].2;
        let comment = &plan["jobs"]["comment"];
        let t = text(comment);
        assert!(
            !t.contains("secrets."),
            "the comment job has a secret:\n{t}"
        );
        assert!(!t.contains("SCALEKIT_"), "{t}");
        assert!(t.contains("GITHUB_TOKEN: ${{ github.token }}"), "{t}");
        assert_eq!(comment["if"].as_str(), Some("always()"));
        let needs: Vec<&str> = comment["needs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        let expected: Vec<String> = envs.iter().map(|e| format!("plan-{e}")).collect();
        assert_eq!(needs, expected);
        for env in envs.iter() {
            let job = &plan["jobs"][format!("plan-{env}").as_str()];
            let t = text(job);
            let st = stem(env);
            let plans: Vec<&str> = steps(job)
                .iter()
                .filter_map(|s| s["run"].as_str())
                .filter(|r| r.starts_with("skconn plan"))
                .collect();
            assert!(!plans.is_empty(), "plan-{env} plans nothing");
            for p in &plans {
                assert!(p.contains(&format!("--env {env} ")), "{p}");
            }
            if live.contains(env) {
                // Live: its own credentials, for a pull request of this repository; a fork's
                // plans against the snapshot.
                assert!(t.contains(&format!("secrets.SCALEKIT_{st}_CLIENT_SECRET")));
                assert!(plans.iter().any(|p| !p.contains("--against")));
                assert!(plans.iter().any(|p| p.contains("--against")));
            } else {
                // Snapshot: `--against` in every plan, and no credential of any kind.
                for p in &plans {
                    assert!(
                        p.contains(&format!("--against snapshots/{env}.snapshot.json")),
                        "{p}"
                    );
                }
                assert!(!t.contains("secrets."), "plan-{env}:\n{t}");
                assert!(!t.contains("CLIENT_ID"), "plan-{env}:\n{t}");
                assert!(!t.contains("CLIENT_SECRET"), "plan-{env}:\n{t}");
                assert!(t.contains(&format!("skconn github snapshot --env {env}")));
            }
        }
        // The plan workflow says which environments are planned which way.
        let header = &all[0].1;
        let named = |list: &[&str]| {
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        };
        let snapshot: Vec<&str> = envs.iter().copied().filter(|e| !live.contains(e)).collect();
        assert!(
            header.contains(&format!("SCALEKIT_<ENV>_CLIENT_SECRET): {}\n", named(live))),
            "{header}"
        );
        assert!(
            header.contains(&format!("#   {}\n", named(&snapshot))),
            "{header}"
        );
    }
}

#[test]
fn apply_jobs_run_in_order_behind_their_environment_and_apply_only_what_was_approved() {
    for (args, envs, _) in CASES {
        let all = init_workflows(args);
        let apply = &all[1].2;
        let drift = &all[2].2;
        for (i, env) in envs.iter().enumerate() {
            let job = &apply["jobs"][format!("apply-{env}").as_str()];
            assert_eq!(job["environment"].as_str(), Some(*env));
            assert_eq!(
                job["concurrency"]["group"].as_str(),
                Some(format!("skconn-apply-{env}").as_str())
            );
            assert_eq!(job["concurrency"]["cancel-in-progress"], Value::Bool(false));
            match i {
                0 => assert!(job["needs"].is_null()),
                _ => assert_eq!(
                    job["needs"].as_str(),
                    Some(format!("apply-{}", envs[i - 1]).as_str())
                ),
            }
            let runs: Vec<&str> = steps(job)
                .iter()
                .filter_map(|s| s["run"].as_str())
                .collect();
            assert_eq!(
                runs,
                [
                    format!("skconn github approved --env {env} --save approved.json").as_str(),
                    &format!("skconn apply --env {env} --auto-approve --approved @approved.json --report apply-{env}.json"),
                    &format!("skconn github comment apply-{env}.json"),
                    &format!("skconn snapshot --env {env} --out-dir snapshots"),
                ]
            );
            let upload = steps(job).last().unwrap();
            assert_eq!(
                upload["with"]["name"].as_str(),
                Some(format!("skconn-snapshot-{env}").as_str())
            );
            // The manual run: shown without credentials, applied behind the environment.
            let show = &apply["jobs"][format!("show-{env}").as_str()];
            assert!(show["environment"].is_null());
            assert!(!text(show).contains("secrets."));
            let manual = &apply["jobs"][format!("apply-manual-{env}").as_str()];
            assert_eq!(manual["environment"].as_str(), Some(*env));
            assert_eq!(
                manual["needs"].as_str(),
                Some(format!("show-{env}").as_str())
            );
            assert!(manual["if"]
                .as_str()
                .unwrap()
                .contains("github.ref == 'refs/heads/main'"));
            for r in steps(manual).iter().filter_map(|s| s["run"].as_str()) {
                if r.starts_with("skconn apply") {
                    assert!(r.contains(&format!("--approved @plan-{env}.json")), "{r}");
                }
            }
            // Drift: behind the environment, then a snapshot.
            let d = &drift["jobs"][format!("drift-{env}").as_str()];
            assert_eq!(d["environment"].as_str(), Some(*env));
            let runs: Vec<&str> = steps(d).iter().filter_map(|s| s["run"].as_str()).collect();
            assert_eq!(
                runs,
                [
                    format!("skconn plan --env {env} --detailed-exitcode").as_str(),
                    &format!("skconn snapshot --env {env} --out-dir snapshots"),
                ]
            );
        }
        let options: Vec<&str> = apply["on"]["workflow_dispatch"]["inputs"]["environment"]
            ["options"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(&options, envs);
    }
}

#[test]
fn every_step_is_one_skconn_command_and_a_redirect_runs_with_pipefail() {
    for (args, _, _) in CASES {
        for (file, _, doc) in init_workflows(args) {
            for (id, job) in jobs(&doc) {
                for step in steps(job) {
                    let Some(run) = step["run"].as_str() else {
                        continue;
                    };
                    assert_eq!(run.lines().count(), 1, "{file} {id}: {run}");
                    assert!(run.starts_with("skconn "), "{file} {id}: {run}");
                    assert_eq!(run.matches("skconn ").count(), 1, "{file} {id}: {run}");
                    if run.contains('|') || run.contains('>') {
                        assert_eq!(step["shell"].as_str(), Some("bash"), "{file} {id}: {run}");
                    }
                    assert!(
                        !run.contains("${{"),
                        "{file} {id}: an expression in a script"
                    );
                }
            }
        }
    }
}

/// A workflow with what may differ between this repository and `skconn init` left out: the
/// triggers, the timeouts and the steps that install skconn (named `Install skconn…`).
fn comparable(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let m = doc.as_mapping_mut().unwrap();
    m.remove("on");
    for (_, job) in m
        .get_mut("jobs")
        .unwrap()
        .as_mapping_mut()
        .unwrap()
        .iter_mut()
    {
        let job = job.as_mapping_mut().unwrap();
        job.remove("timeout-minutes");
        let steps = job.get_mut("steps").unwrap().as_sequence_mut().unwrap();
        steps.retain(|s| {
            !s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Install skconn"))
        });
    }
    doc
}

#[test]
fn this_repository_runs_the_workflows_init_writes() {
    // Its skconn.yaml names dev and prod; both are planned live in pull requests: while no
    // Scalekit environment is configured they are the embedded local environment, which lives
    // only as long as a job and holds no credential (docs/development.md).
    let config = std::fs::read_to_string(crate_root().join("skconn.yaml")).unwrap();
    let config: Value = serde_yaml::from_str(&config).unwrap();
    let envs: Vec<&str> = config["environments"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(envs, ["dev", "prod"]);
    let generated = init_workflows(&["--live", "dev", "--live", "prod"]);
    for (file, _, expected) in &generated {
        let path = crate_root().join(".github/workflows").join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ours: Value = serde_yaml::from_str(&text).unwrap();
        let (a, b) = (comparable(&ours), comparable(expected));
        assert!(
            a == b,
            "{file} differs from `skconn init --live dev --live prod` beyond install steps, \
             timeouts and triggers:\n--- this repository\n{}\n--- skconn init\n{}",
            text_of(&a),
            text_of(&b)
        );
        // skconn is built from the commit under test, never installed from a release.
        assert!(!text.contains("uses: skconn/skconn@"), "{file}");
        for (id, job) in jobs(&ours) {
            let installs: Vec<&Value> = steps(job)
                .iter()
                .filter(|s| {
                    s["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("Install skconn"))
                })
                .collect();
            assert!(!installs.is_empty(), "{file} {id} does not install skconn");
            assert!(job["timeout-minutes"].as_u64().is_some(), "{file} {id}");
        }
    }
}

fn text_of(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap()
}

#[test]
fn init_prints_exactly_what_to_set_up_on_github() {
    let repo = Repo::new();
    let out = repo.skconn(["init", "--ci", "github"]);
    out.code(0);
    let text = &out.stdout;
    let repo_part = text
        .split("for the repository:")
        .nth(1)
        .and_then(|t| t.split("Settings → Environments").next())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        repo_part.contains("variables SCALEKIT_DEV_URL, SCALEKIT_PROD_URL"),
        "{text}"
    );
    assert!(
        repo_part.contains("variable SCALEKIT_DEV_CLIENT_ID and secret SCALEKIT_DEV_CLIENT_SECRET (dev is planned live"),
        "{text}"
    );
    // Production's credentials never go to the repository level.
    assert!(!repo_part.contains("SCALEKIT_PROD_CLIENT"), "{text}");
    assert!(
        repo_part.contains("prod is planned against snapshots"),
        "{text}"
    );
    for (env, stem) in [("dev", "DEV"), ("prod", "PROD")] {
        assert!(
            text.contains(&format!(
                "`{env}`: variable SCALEKIT_{stem}_CLIENT_ID, secret SCALEKIT_{stem}_CLIENT_SECRET; deployment branches: `main` only"
            )),
            "{text}"
        );
    }
    let prod_line = text
        .lines()
        .find(|l| l.contains("`prod`: variable"))
        .unwrap();
    assert!(prod_line.contains("required reviewers"), "{prod_line}");
    let dev_line = text
        .lines()
        .find(|l| l.contains("`dev`: variable"))
        .unwrap();
    assert!(!dev_line.contains("required reviewers"), "{dev_line}");
    assert!(
        text.contains("run the skconn drift workflow once"),
        "{text}"
    );
    // With no environment planned live, no secret is set at the repository level at all.
    let none = Repo::new();
    let out = none.skconn(["init", "--live", "none"]);
    out.code(0).stdout_lacks("and secret SCALEKIT_");
    none.skconn(["init", "again", "--live", "qa"])
        .code(1)
        .stderr_has("no environment `qa`");
}
