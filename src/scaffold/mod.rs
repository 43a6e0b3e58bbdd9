//! Starting a connectors repository (`skconn init`): the files a new repository needs —
//! `skconn.yaml`, an example connector, the JSON Schemas those files name, a `.gitignore` and the
//! CI files — rendered from the templates in `templates/`, the one place they live.
//!
//! This module only renders text and creates files that do not exist yet. It must never
//! overwrite a file, read credentials or settings, or talk to any environment.

use crate::base::build_info;
use crate::vocabulary::schema::{self, Describes};
use std::path::{Path, PathBuf};

/// Which CI system to write files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    Github,
    Gitlab,
    None,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Environment names, in the order apply visits them.
    pub environments: Vec<String>,
    /// The environments pull requests plan live, with their credentials; every other one is
    /// planned against its latest snapshot, with none ([`live_environments`] resolves the
    /// choice).
    pub live: Vec<String>,
    pub ci: Ci,
}

/// The environments planned live in pull requests, from `skconn init --live`: by default the
/// first; `none` for none; otherwise the names given, each one of `environments`.
pub fn live_environments(environments: &[String], asked: &[String]) -> Result<Vec<String>, String> {
    if asked.is_empty() {
        return Ok(environments.iter().take(1).cloned().collect());
    }
    if asked.iter().any(|a| a == "none") {
        if asked.len() > 1 {
            return Err("--live none plans no environment live; it does not combine with other --live values".into());
        }
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for a in asked {
        if !environments.contains(a) {
            return Err(format!(
                "--live {a}: there is no environment `{a}` (the environments: {})",
                environments.join(", ")
            ));
        }
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    // In skconn.yaml's order.
    Ok(environments
        .iter()
        .filter(|e| out.contains(e))
        .cloned()
        .collect())
}

/// The environments `init` writes when none are named.
pub const DEFAULT_ENVIRONMENTS: [&str; 2] = ["dev", "prod"];

/// Third-party actions the GitHub workflows use, pinned by full commit SHA: (action, SHA, tag).
pub const PINNED_ACTIONS: &[(&str, &str, &str)] = &[
    (
        "actions/checkout",
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
    ),
    (
        "actions/upload-artifact",
        "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
    ),
    (
        "actions/download-artifact",
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
    ),
];

/// One file to write, its path relative to the repository root (with `/` separators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

/// What [`write`] did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files created, relative to the root.
    pub written: Vec<String>,
    /// Files that existed already and were left as they were.
    pub skipped: Vec<String>,
}

const SKCONN_YAML: &str = include_str!("templates/skconn.yaml");
const ENVIRONMENT: &str = include_str!("templates/environment.yaml");
const EXAMPLE: &str = include_str!("templates/example.yaml");
const GITIGNORE: &str = include_str!("templates/gitignore");
const GH_PLAN: &str = include_str!("templates/github/skconn-plan.yml");
const GH_PLAN_LIVE_JOB: &str = include_str!("templates/github/plan-live-job.yml");
const GH_PLAN_SNAPSHOT_JOB: &str = include_str!("templates/github/plan-snapshot-job.yml");
const GH_APPLY: &str = include_str!("templates/github/skconn-apply.yml");
const GH_APPLY_JOB: &str = include_str!("templates/github/apply-job.yml");
const GH_MANUAL_JOBS: &str = include_str!("templates/github/manual-jobs.yml");
const GH_DRIFT: &str = include_str!("templates/github/skconn-drift.yml");
const GH_DRIFT_JOB: &str = include_str!("templates/github/drift-job.yml");
const GH_CREDENTIALS: &str = include_str!("templates/github/credentials.yml");
const GH_URL: &str = include_str!("templates/github/url.yml");
const GITLAB_CI: &str = include_str!("templates/gitlab/gitlab-ci.yml");
const GITLAB_PLAN_LIVE_JOB: &str = include_str!("templates/gitlab/plan-live-job.yml");
const GITLAB_PLAN_SNAPSHOT_JOB: &str = include_str!("templates/gitlab/plan-snapshot-job.yml");
const GITLAB_NOTE_JOB: &str = include_str!("templates/gitlab/note-job.yml");
const GITLAB_APPLY_JOB: &str = include_str!("templates/gitlab/apply-job.yml");
const GITLAB_DRIFT_JOB: &str = include_str!("templates/gitlab/drift-job.yml");
const GITLAB_SNAPSHOT_JOB: &str = include_str!("templates/gitlab/snapshot-job.yml");

/// The folder, relative to the root, that holds the schema documents.
pub const SCHEMA_DIR: &str = "schema";

/// Checks the environment names: the rules of `skconn.yaml` (letters, digits, `-`, `_`), no
/// repeats, and distinct variable names (`a-b` and `a_b` would share `SCALEKIT_A_B_URL`).
pub fn check_environments(names: &[String]) -> Result<(), String> {
    let mut stems: Vec<(String, &str)> = Vec::new();
    for name in names {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "`{name}` is not a valid environment name; use letters, digits, `-` and `_` (e.g. dev, prod)"
            ));
        }
        let stem = variable_stem(name);
        if let Some((_, other)) = stems.iter().find(|(s, _)| *s == stem) {
            return Err(if *other == name.as_str() {
                format!("environment `{name}` is named twice")
            } else {
                format!("environments `{other}` and `{name}` would share the variables SCALEKIT_{stem}_*; rename one")
            });
        }
        stems.push((stem, name));
    }
    Ok(())
}

/// `prod` → `PROD`, `eu-prod` → `EU_PROD`: the middle of an environment's variable names.
pub fn variable_stem(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// How the GitHub workflows install skconn: through skconn's action at the commit this binary was
/// built from (a full SHA, with the version in a comment), or, when the build did not know its
/// commit, at the version's tag.
pub fn action_reference() -> String {
    match build_info::full_commit() {
        Some(sha) => format!(
            "{}@{} # v{}",
            build_info::REPOSITORY,
            sha.to_ascii_lowercase(),
            build_info::VERSION
        ),
        None => format!("{}@v{}", build_info::REPOSITORY, build_info::VERSION),
    }
}

fn pinned(action: &str) -> String {
    let (name, sha, tag) = PINNED_ACTIONS
        .iter()
        .find(|(n, _, _)| *n == action)
        .expect("every action a template uses is pinned");
    format!("{name}@{sha} # {tag}")
}

/// Replaces each `{{key}}` of `template` by its value, in the order given (so a value may hold
/// keys that come later). GitHub's own `${{ expression }}`s have spaces and are left alone.
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// Every file `init` writes for these options, in the order it writes them.
pub fn files(opts: &Options) -> Vec<File> {
    let documents = schema::documents();
    let schema_line = |describes: Describes, prefix: &str| {
        documents
            .iter()
            .find(|d| d.describes == describes)
            .map(|d| {
                format!(
                    "# yaml-language-server: $schema={prefix}{SCHEMA_DIR}/{}\n",
                    d.file_name
                )
            })
            .unwrap_or_default()
    };
    let version = build_info::VERSION;
    let environments: String = opts
        .environments
        .iter()
        .map(|name| {
            render(
                ENVIRONMENT,
                &[("name", name), ("stem", &variable_stem(name))],
            )
        })
        .collect();
    let mut files = vec![
        File {
            path: "skconn.yaml".into(),
            text: render(
                SKCONN_YAML,
                &[
                    ("schema_line", &schema_line(Describes::ConfigFile, "")),
                    ("environments", environments.trim_end()),
                ],
            ),
        },
        File {
            path: "connectors/example.yaml".into(),
            text: render(
                EXAMPLE,
                &[("schema_line", &schema_line(Describes::ConnectorFile, "../"))],
            ),
        },
    ];
    for doc in &documents {
        files.push(File {
            path: format!("{SCHEMA_DIR}/{}", doc.file_name),
            text: doc.text.clone(),
        });
    }
    files.push(File {
        path: ".gitignore".into(),
        text: GITIGNORE.into(),
    });
    match opts.ci {
        Ci::Github => files.extend(github(opts, version)),
        Ci::Gitlab => files.push(gitlab(opts, version)),
        Ci::None => {}
    }
    files
}

fn github(opts: &Options, version: &str) -> Vec<File> {
    let action = action_reference();
    let checkout = pinned("actions/checkout");
    let upload = pinned("actions/upload-artifact");
    let download = pinned("actions/download-artifact");
    let envs = &opts.environments;
    // Per environment: its name, its variables' stem, its credentials and its URL alone, as
    // a step's `env:` entries.
    let per_env = |name: &str| -> Vec<(&'static str, String)> {
        let stem = variable_stem(name);
        vec![
            (
                "credentials",
                render(GH_CREDENTIALS, &[("stem", &stem)])
                    .trim_end()
                    .to_string(),
            ),
            (
                "url",
                render(GH_URL, &[("stem", &stem)]).trim_end().to_string(),
            ),
            ("name", name.to_string()),
            ("stem", stem),
        ]
    };
    let common = |template: &str, extra: &[(&str, String)]| {
        // The extra values (blocks of jobs, an environment's credentials) first: they hold
        // keys that follow.
        let mut values: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        values.extend_from_slice(&[
            ("version", version),
            ("action", action.as_str()),
            ("checkout", checkout.as_str()),
            ("upload_artifact", upload.as_str()),
            ("download_artifact", download.as_str()),
        ]);
        render(template, &values)
    };
    let names = |list: Vec<&String>| {
        if list.is_empty() {
            "none".to_string()
        } else {
            list.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let live: Vec<&String> = envs.iter().filter(|e| opts.live.contains(e)).collect();
    let snapshot: Vec<&String> = envs.iter().filter(|e| !opts.live.contains(e)).collect();
    let plan_jobs: Vec<String> = envs
        .iter()
        .map(|name| {
            let job = if opts.live.contains(name) {
                GH_PLAN_LIVE_JOB
            } else {
                GH_PLAN_SNAPSHOT_JOB
            };
            common(job, &per_env(name))
        })
        .collect();
    let plan_ids: Vec<String> = envs.iter().map(|n| format!("plan-{n}")).collect();
    let plan_files: Vec<String> = envs
        .iter()
        .map(|n| format!("plans/plan-{n}.json"))
        .collect();
    let plan = common(
        GH_PLAN,
        &[
            ("plan_jobs", plan_jobs.join("\n").trim_end().to_string()),
            ("plan_job_ids", plan_ids.join(", ")),
            ("plan_files", plan_files.join(" ")),
            ("live_names", names(live)),
            ("snapshot_names", names(snapshot)),
        ],
    );
    let apply_jobs: Vec<String> = envs
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let needs = match i {
                0 => String::new(),
                _ => format!("\n    needs: apply-{}", envs[i - 1]),
            };
            let mut values = vec![("needs", needs)];
            values.extend(per_env(name));
            common(GH_APPLY_JOB, &values)
        })
        .collect();
    let manual_jobs: Vec<String> = envs
        .iter()
        .map(|name| common(GH_MANUAL_JOBS, &per_env(name)))
        .collect();
    let options: Vec<String> = envs.iter().map(|n| format!("          - {n}")).collect();
    let apply = common(
        GH_APPLY,
        &[
            ("apply_jobs", apply_jobs.join("\n")),
            ("manual_jobs", manual_jobs.join("\n").trim_end().to_string()),
            ("environment_options", options.join("\n")),
        ],
    );
    let drift_jobs: Vec<String> = envs
        .iter()
        .map(|name| common(GH_DRIFT_JOB, &per_env(name)))
        .collect();
    let drift = common(
        GH_DRIFT,
        &[("drift_jobs", drift_jobs.join("\n").trim_end().to_string())],
    );
    vec![
        File {
            path: ".github/workflows/skconn-plan.yml".into(),
            text: plan,
        },
        File {
            path: ".github/workflows/skconn-apply.yml".into(),
            text: apply,
        },
        File {
            path: ".github/workflows/skconn-drift.yml".into(),
            text: drift,
        },
    ]
}

fn gitlab(opts: &Options, version: &str) -> File {
    let envs = &opts.environments;
    let each = |template: &str, extra: &dyn Fn(usize) -> Vec<(&'static str, String)>| {
        envs.iter()
            .enumerate()
            .map(|(i, name)| {
                let mut values = extra(i);
                values.push(("name", name.clone()));
                let values: Vec<(&str, &str)> =
                    values.iter().map(|(k, v)| (*k, v.as_str())).collect();
                render(template, &values).trim_end().to_string()
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let plan_jobs: Vec<String> = envs
        .iter()
        .map(|name| {
            let job = if opts.live.contains(name) {
                GITLAB_PLAN_LIVE_JOB
            } else {
                GITLAB_PLAN_SNAPSHOT_JOB
            };
            render(job, &[("name", name)]).trim_end().to_string()
        })
        .collect();
    let apply_jobs = each(GITLAB_APPLY_JOB, &|i| {
        vec![(
            "needs",
            match i {
                0 => " []".to_string(),
                // The previous environment's apply, whichever of its two jobs runs.
                _ => format!(
                    "\n    - job: apply-{0}\n      optional: true\n    - job: apply-{0}-unreviewed\n      optional: true",
                    envs[i - 1]
                ),
            },
        )]
    });
    let plan_needs: Vec<String> = envs
        .iter()
        .map(|name| format!("    - job: plan-{name}\n      artifacts: true"))
        .collect();
    let plan_files: Vec<String> = envs
        .iter()
        .map(|name| format!("plan-{name}.json"))
        .collect();
    let note_job = render(
        GITLAB_NOTE_JOB,
        &[
            ("plan_needs", &plan_needs.join("\n")),
            ("plan_files", &plan_files.join(" ")),
        ],
    );
    let names = |live: bool| {
        let list: Vec<&str> = envs
            .iter()
            .filter(|e| opts.live.contains(e) == live)
            .map(String::as_str)
            .collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    File {
        path: ".gitlab-ci.yml".into(),
        text: render(
            GITLAB_CI,
            &[
                ("plan_jobs", &plan_jobs.join("\n\n")),
                ("note_job", note_job.trim_end()),
                ("apply_jobs", &apply_jobs),
                ("drift_jobs", &each(GITLAB_DRIFT_JOB, &|_| Vec::new())),
                ("snapshot_jobs", &each(GITLAB_SNAPSHOT_JOB, &|_| Vec::new())),
                ("live_names", &names(true)),
                ("snapshot_names", &names(false)),
                ("version", version),
                ("image", build_info::IMAGE),
            ],
        ),
    }
}

/// Creates each file under `root` unless it exists (then it is skipped, never touched).
pub fn write(root: &Path, files: &[File]) -> std::io::Result<Outcome> {
    let mut outcome = Outcome::default();
    for file in files {
        let path: PathBuf = root.join(file.path.split('/').collect::<PathBuf>());
        if std::fs::symlink_metadata(&path).is_ok() {
            outcome.skipped.push(file.path.clone());
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path);
        match created {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(file.text.as_bytes())?;
                outcome.written.push(file.path.clone());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                outcome.skipped.push(file.path.clone());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}

/// What to set up on GitHub for the workflows `init` writes, one step a line group: the
/// repository's variables and secrets, the GitHub environments with theirs and their protection
/// rules, and the first snapshots.
pub fn github_setup(opts: &Options) -> Vec<String> {
    let envs = &opts.environments;
    let stems: Vec<String> = envs.iter().map(|e| variable_stem(e)).collect();
    let mut repo =
        String::from("on GitHub, Settings → Secrets and variables → Actions, for the repository:");
    repo.push_str(&format!(
        "\n       variables {} (every environment: plans against a snapshot check its host)",
        stems
            .iter()
            .map(|s| format!("SCALEKIT_{s}_URL"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (name, stem) in envs.iter().zip(&stems) {
        if opts.live.contains(name) {
            repo.push_str(&format!(
                "\n       variable SCALEKIT_{stem}_CLIENT_ID and secret SCALEKIT_{stem}_CLIENT_SECRET ({name} is planned live in pull requests)"
            ));
        }
    }
    let snapshot: Vec<&String> = envs.iter().filter(|e| !opts.live.contains(e)).collect();
    if !snapshot.is_empty() {
        repo.push_str(&format!(
            "\n       nothing else: {} planned against snapshots in pull requests, with no credential there",
            if snapshot.len() == 1 {
                format!("{} is", snapshot[0])
            } else {
                format!(
                    "{} are",
                    snapshot.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
        ));
    }
    let mut environments = String::from(
        "on GitHub, Settings → Environments, one environment per skconn environment (the apply and drift jobs run in it):",
    );
    for (i, (name, stem)) in envs.iter().zip(&stems).enumerate() {
        let reviewers = if i + 1 == envs.len() {
            "; required reviewers (they approve every apply and manual run)"
        } else {
            ""
        };
        environments.push_str(&format!(
            "\n       `{name}`: variable SCALEKIT_{stem}_CLIENT_ID, secret SCALEKIT_{stem}_CLIENT_SECRET; deployment branches: `main` only{reviewers}"
        ));
    }
    let first = if snapshot.is_empty() {
        "run the skconn drift workflow once (Actions → skconn drift → Run workflow): it checks every environment and keeps its first snapshot".to_string()
    } else {
        format!(
            "run the skconn drift workflow once (Actions → skconn drift → Run workflow) to keep the first snapshots: pull requests plan {} against them",
            snapshot.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )
    };
    vec![repo, environments, first]
}

/// The GitLab side of `init`'s next steps: exactly which CI/CD variables to create, with which
/// flags, and why.
fn gitlab_setup(opts: &Options) -> Vec<String> {
    let mut vars = String::from(
        "in GitLab, Settings → CI/CD → Variables, create (Visibility \"Masked\" for secrets; \"Protected\" gives a variable to pipelines of protected branches only):",
    );
    for name in &opts.environments {
        let stem = variable_stem(name);
        let protected = if opts.live.contains(name) {
            "not protected (merge requests plan it live, from unprotected branches)"
        } else {
            "protected (only the default branch applies it; merge requests plan it against its snapshot)"
        };
        vars.push_str(&format!(
            "\n       SCALEKIT_{stem}_URL: all environments (*), not protected, not masked (snapshot plans check the host)\
             \n       SCALEKIT_{stem}_CLIENT_ID and SCALEKIT_{stem}_CLIENT_SECRET (masked): environment scope `{name}`, {protected}"
        ));
    }
    vars.push_str(
        "\n       SKCONN_GITLAB_TOKEN (masked, not protected): a project access token (Settings → Access tokens) with the role Reporter and the scope `api`, \
         which the note job writes the plan note with and the apply jobs read it back with; without it, notes go to the job log and applies are not held to a reviewed plan",
    );
    vec![
        vars,
        format!(
            "protect the default branch, and add a pipeline schedule on it (Build → Pipeline schedules) for the drift check; run a pipeline on it once (Build → Pipelines → Run pipeline) to keep the first snapshots. The jobs run {}:{}",
            build_info::IMAGE,
            build_info::VERSION
        ),
    ]
}

/// What to do after `init`: the variables and secrets to set, per environment.
pub fn next_steps(opts: &Options, dir: &str) -> String {
    let mut out = String::from("Next steps:\n");
    let mut n = 1;
    let mut step = |text: String| {
        out.push_str(&format!("  {n}. {text}\n"));
        n += 1;
    };
    if dir != "." {
        step(format!("cd {dir}"));
    }
    step("edit connectors/example.yaml into your first connector (or run `skconn import --env NAME` to write files for the connectors an environment already has), then `skconn validate`".into());
    let mut vars = String::from("set each environment's credentials (`skconn plan` and `skconn apply` read them; `skconn validate` needs none):");
    for name in &opts.environments {
        let stem = variable_stem(name);
        vars.push_str(&format!(
            "\n       {name}: SCALEKIT_{stem}_URL, SCALEKIT_{stem}_CLIENT_ID, SCALEKIT_{stem}_CLIENT_SECRET"
        ));
    }
    step(vars);
    match opts.ci {
        Ci::Github => {
            for text in github_setup(opts) {
                step(text);
            }
        }
        Ci::Gitlab => {
            for text in gitlab_setup(opts) {
                step(text);
            }
        }
        Ci::None => {}
    }
    step(match opts.ci {
        Ci::Github => "commit, open a pull request and read the plan comment; merge to apply exactly what it showed".into(),
        Ci::Gitlab => "commit, open a merge request and read skconn's plan note; merge to apply exactly what it showed".into(),
        Ci::None => "commit, open a pull request and read the plan; merge to apply".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(ci: Ci) -> Options {
        Options {
            environments: vec!["dev".into(), "eu-prod".into()],
            live: vec!["dev".into()],
            ci,
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for ci in [Ci::Github, Ci::Gitlab, Ci::None] {
            for f in files(&opts(ci)) {
                if f.path.ends_with(".json") {
                    continue;
                }
                let left = f.text.split("{{").skip(1).find(|rest| {
                    rest.split("}}").next().is_some_and(|k| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    })
                });
                assert!(left.is_none(), "{}:\n{}", f.path, f.text);
            }
        }
    }

    #[test]
    fn files_name_only_schemas_that_are_written() {
        let all = files(&opts(Ci::None));
        for f in &all {
            for line in f.text.lines() {
                if let Some(target) = line.strip_prefix("# yaml-language-server: $schema=") {
                    let base = Path::new(&f.path).parent().unwrap();
                    let joined = base.join(target);
                    let mut parts: Vec<String> = Vec::new();
                    for c in joined.components() {
                        match c {
                            std::path::Component::ParentDir => {
                                parts.pop();
                            }
                            std::path::Component::Normal(s) => {
                                parts.push(s.to_string_lossy().into())
                            }
                            _ => {}
                        }
                    }
                    let resolved = parts.join("/");
                    assert!(
                        all.iter().any(|g| g.path == resolved),
                        "{} names {resolved}, which init does not write",
                        f.path
                    );
                }
            }
        }
    }

    #[test]
    fn every_job_names_only_its_own_environment_s_variables() {
        let all = files(&opts(Ci::Github));
        for f in all.iter().filter(|f| f.path.starts_with(".github/")) {
            let doc: serde_yaml::Value = serde_yaml::from_str(&f.text).unwrap();
            for (id, job) in doc["jobs"].as_mapping().unwrap() {
                let id = id.as_str().unwrap();
                let text = serde_yaml::to_string(job).unwrap();
                let (own, other) = if id.ends_with("-dev") {
                    ("SCALEKIT_DEV_", "SCALEKIT_EU_PROD_")
                } else if id.ends_with("-eu-prod") {
                    ("SCALEKIT_EU_PROD_", "SCALEKIT_DEV_")
                } else {
                    assert_eq!(id, "comment", "{}", f.path);
                    assert!(!text.contains("SCALEKIT_"), "{text}");
                    continue;
                };
                assert!(text.contains(own), "{} {id}", f.path);
                assert!(!text.contains(other), "{} {id}:\n{text}", f.path);
            }
        }
        let apply = &all
            .iter()
            .find(|f| f.path.ends_with("skconn-apply.yml"))
            .unwrap()
            .text;
        let doc: serde_yaml::Value = serde_yaml::from_str(apply).unwrap();
        let ids: Vec<&str> = doc["jobs"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "apply-dev",
                "apply-eu-prod",
                "show-dev",
                "apply-manual-dev",
                "show-eu-prod",
                "apply-manual-eu-prod"
            ]
        );
        assert_eq!(
            doc["jobs"]["apply-eu-prod"]["needs"].as_str(),
            Some("apply-dev")
        );
    }

    #[test]
    fn the_live_environments_are_a_choice() {
        let envs: Vec<String> = vec!["dev".into(), "stage".into(), "prod".into()];
        let live = |asked: &[&str]| {
            live_environments(
                &envs,
                &asked.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(live(&[]).unwrap(), ["dev"]);
        assert!(live(&["none"]).unwrap().is_empty());
        assert_eq!(live(&["prod", "dev", "prod"]).unwrap(), ["dev", "prod"]);
        assert!(live(&["none", "dev"])
            .unwrap_err()
            .contains("does not combine"));
        assert!(live(&["qa"]).unwrap_err().contains("no environment `qa`"));
    }

    #[test]
    fn environment_names_are_checked() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_environments(&names(&["dev", "prod"])).is_ok());
        assert!(check_environments(&names(&["dev", "dev"])).is_err());
        assert!(check_environments(&names(&["a-b", "a_b"])).is_err());
        assert!(check_environments(&names(&["no spaces"])).is_err());
        assert!(check_environments(&names(&[""])).is_err());
    }

    #[test]
    fn render_replaces_every_key() {
        assert_eq!(
            render("{{a}}-{{b}}-{{a}}", &[("a", "1"), ("b", "2")]),
            "1-2-1"
        );
    }
}
