//! `skconn github comment`, `skconn github approved` and `skconn github snapshot`: read the
//! inputs and the job's context, call `github`, write the job summary, the messages, `--save`'s
//! file and the downloaded snapshot.

use super::{client_options, step_summary, Context};
use crate::base::error::{exit, Diagnostic, Error, Result};
use crate::cli::{
    GithubApprovedArgs, GithubArgs, GithubCommand, GithubCommentArgs, GithubSnapshotArgs,
};
use crate::github::comment::{self, Input, Limit, Meta};
use crate::github::{self, Actions, Github, GithubError, Written};
use crate::output;
use crate::render;

/// The largest JSON plan read.
const MAX_PLAN_BYTES: u64 = 256 << 20;

pub(super) async fn run(ctx: &Context, args: GithubArgs) -> Result<i32> {
    match args.command {
        GithubCommand::Comment(a) => comment(ctx, a).await,
        GithubCommand::Approved(a) => approved(ctx, a).await,
        GithubCommand::Snapshot(a) => snapshot(ctx, a).await,
    }
}

fn gh(e: GithubError) -> Error {
    Error::Github(Box::new(e))
}

fn actions() -> Result<Actions> {
    Actions::from_env(&|k| std::env::var(k).ok()).map_err(gh)
}

/// Reads every plan; all problems at once, and nothing is sent while any input is invalid.
pub(super) fn read_plans(files: &[std::path::PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let text = match std::fs::metadata(file) {
            Ok(m) if m.len() > MAX_PLAN_BYTES => {
                Err(format!("is larger than {} MiB", MAX_PLAN_BYTES >> 20))
            }
            _ => std::fs::read_to_string(file).map_err(|e| format!("cannot be read: {e}")),
        };
        let text = match text {
            Ok(t) => t,
            Err(why) => {
                problems
                    .push(Diagnostic::new(file, format!("the JSON plan {why}")).help(
                        "give the files `skconn plan --format json` wrote, one per plan job",
                    ));
                continue;
            }
        };
        match render::json::parse(file, &text) {
            Ok(doc) => inputs.push(Input {
                file: file.clone(),
                doc,
            }),
            Err(list) => problems.extend(list),
        }
    }
    for (env, files) in comment::duplicates(&inputs) {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        problems.push(
            Diagnostic::new(
                &files[0],
                format!(
                    "the environment `{env}` is in more than one plan: {}",
                    names.join(", ")
                ),
            )
            .help("give each environment's plan once"),
        );
    }
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(Error::Input(problems))
    }
}

/// A message on stderr unless `-q`.
pub(super) fn say(ctx: &Context, text: &str) {
    if !ctx.quiet {
        output::err(&format!("{text}\n"));
    }
}

async fn comment(ctx: &Context, args: GithubCommentArgs) -> Result<i32> {
    let inputs = read_plans(&args.plans)?;
    let actions = actions()?;
    if actions.is_push() {
        return comment_push(ctx, &args, &inputs, &actions).await;
    }
    let event = actions.pull_event().map_err(gh)?;
    let meta = Meta {
        reference: format!("#{}", event.number),
        run_word: "run",
        head_sha: event.head_sha.clone(),
        run_id: actions.run_id.clone(),
        run_url: actions.run_url(),
    };
    let summary = comment::build(&inputs, &meta, &Limit::summary());
    step_summary(&summary.text);
    // Where a run that cannot comment leaves the plan: the job summary, or, outside GitHub
    // Actions, standard output.
    let has_summary = std::env::var_os("GITHUB_STEP_SUMMARY").is_some_and(|v| !v.is_empty());
    let elsewhere = || {
        if has_summary {
            "the job summary"
        } else {
            output::out(&summary.text);
            "standard output (GITHUB_STEP_SUMMARY is not set)"
        }
    };
    let outcome = comment::outcome(&inputs);
    let repo = &actions.repository;
    let fork = match &event.head_repo {
        Some(head) if repo.is(head) => None,
        Some(head) => Some(format!(
            "comes from the fork {}",
            crate::output::escape::inert(head)
        )),
        None => Some("comes from a fork that no longer exists".to_string()),
    };
    if let Some(why) = fork {
        say(ctx, &format!(
            "notice: pull request #{} {why}: its job's token may not write to {repo}, so the plan is in {} only, not in a comment",
            event.number,
            elsewhere()
        ));
        return finish(&outcome);
    }
    let client = Github::new(
        &actions.api,
        actions.token().map_err(gh)?.clone(),
        client_options(&args.http),
    )
    .map_err(gh)?;
    let pull = client.pull_request(repo, event.number).await.map_err(gh)?;
    if pull.head_sha != event.head_sha {
        say(ctx, &format!(
            "notice: this run planned commit {}, but pull request #{}'s head is now {}: the comment is left to that commit's run (this plan is in {})",
            event.head_sha, event.number, pull.head_sha, elsewhere()
        ));
        return finish(&outcome);
    }
    let body = comment::build(&inputs, &meta, &Limit::comment(meta.run_url.as_deref()));
    if !body.left_out.is_empty() {
        say(ctx, &format!(
            "notice: the comment was shortened to fit GitHub's limit (left out: {}); the job summary holds more",
            body.left_out.join(", ")
        ));
    }
    match github::write_comment(&client, repo, event.number, &args.author, &body.text).await {
        Ok((written, c)) => {
            let what = match written {
                Written::Created => "Created",
                Written::Updated => "Updated",
                Written::Unchanged => "Kept (already current)",
            };
            let url = c
                .html_url
                .map(|u| format!(": {}", crate::output::escape::inert(&u)))
                .unwrap_or_default();
            say(
                ctx,
                &format!(
                    "{} {what} skconn's comment on pull request #{}{url}",
                    ctx.err_style.green("✓"),
                    event.number
                ),
            );
        }
        Err(e) if e.is_read_only() => {
            say(ctx, &format!(
                "notice: the token may not comment on pull request #{} ({e}), so the plan is in {} only",
                event.number,
                elsewhere()
            ));
        }
        Err(e) => return Err(gh(e)),
    }
    finish(&outcome)
}

/// `github comment` on a push to main: for each environment of the apply reports that was not
/// applied cleanly, one comment on the pull request the pushed commit merged (created, or
/// updated on a rerun), never the plan comment. Exit 0 once written: the apply step's own
/// exit is what fails the job.
async fn comment_push(
    ctx: &Context,
    args: &GithubCommentArgs,
    inputs: &[Input],
    actions: &Actions,
) -> Result<i32> {
    use crate::github::apply_comment::{self, ApplyMeta};
    if reports_are_clean(inputs, "on a push, `github comment` reports applies")? {
        say(
            ctx,
            "Every environment in the reports was applied cleanly: nothing to comment on.",
        );
        return Ok(exit::OK);
    }
    let sha = actions.sha.clone().ok_or_else(|| {
        gh(GithubError::Context(
            "GITHUB_SHA is not set: run this in the GitHub Actions job of a push".into(),
        ))
    })?;
    let client = Github::new(
        &actions.api,
        actions.token().map_err(gh)?.clone(),
        client_options(&args.http),
    )
    .map_err(gh)?;
    let repo = &actions.repository;
    let pulls = client.pulls_of_commit(repo, &sha).await.map_err(gh)?;
    let pull = github::approved::merged_pull(&pulls, &sha).ok();
    let meta = ApplyMeta {
        words: &apply_comment::GITHUB,
        pull_request: pull.map_or(0, |p| p.number),
        merge_sha: sha.clone(),
        run_id: actions.run_id.clone(),
        run_url: actions.run_url(),
    };
    let bodies = apply_bodies(inputs, &meta, render::markdown::GITHUB_COMMENT_LIMIT);
    for (_, body) in &bodies {
        step_summary(body);
    }
    let Some(pull) = pull else {
        say(ctx, &format!(
            "notice: no pull request was merged as commit {sha}, so there is none to comment on: the report is in the job summary"
        ));
        return Ok(exit::OK);
    };
    for (env, body) in &bodies {
        let marker = apply_comment::marker(env);
        match github::write_marked_comment(&client, repo, pull.number, &args.author, &marker, body)
            .await
        {
            Ok((written, _)) => say(
                ctx,
                &format!(
                    "{} {} the apply comment of `{env}` on pull request #{}",
                    ctx.err_style.green("✓"),
                    match written {
                        Written::Created => "Created",
                        Written::Updated => "Updated",
                        Written::Unchanged => "Kept (already current)",
                    },
                    pull.number
                ),
            ),
            Err(e) if e.is_read_only() => say(ctx, &format!(
                "notice: the token may not comment on pull request #{} ({e}), so the report is in the job summary only",
                pull.number
            )),
            Err(e) => return Err(gh(e)),
        }
    }
    Ok(exit::OK)
}

/// Whether every environment of the apply reports `inputs` was applied cleanly (nothing to
/// say); an input error at each file that is not an apply report (`what`: the command's words,
/// e.g. ``on a push, `github comment` reports applies``).
pub(super) fn reports_are_clean(inputs: &[Input], what: &str) -> Result<bool> {
    use crate::github::apply_comment::{self, Ended};
    let not_reports: Vec<Diagnostic> = inputs
        .iter()
        .filter(|i| i.doc.error.is_none() && i.doc.extras.iter().all(|e| e.outcome.is_none()))
        .map(|i| {
            Diagnostic::new(
                &i.file,
                format!(
                    "{what}, and this is not an apply report (it has no environment `outcome`)"
                ),
            )
            .help("give the file `skconn apply --report FILE` wrote")
        })
        .collect();
    if !not_reports.is_empty() {
        return Err(Error::Input(not_reports));
    }
    Ok(inputs.iter().all(|i| {
        i.doc.error.is_none()
            && i.doc
                .extras
                .iter()
                .all(|e| apply_comment::ended(e) == Ended::Clean)
    }))
}

/// Each environment of the apply reports not applied cleanly, with its apply comment's body
/// (within `limit`), in the reports' order.
pub(super) fn apply_bodies(
    inputs: &[Input],
    meta: &crate::github::apply_comment::ApplyMeta,
    limit: usize,
) -> Vec<(String, String)> {
    use crate::github::apply_comment::{self, Ended};
    let mut bodies: Vec<(String, String)> = Vec::new();
    for i in inputs {
        if let Some(error) = &i.doc.error {
            for env in &i.doc.selected {
                bodies.push((env.clone(), apply_comment::build_failed(env, error, meta)));
            }
            continue;
        }
        for (env, extras) in i.doc.plan.environments.iter().zip(&i.doc.extras) {
            if apply_comment::ended(extras) != Ended::Clean {
                bodies.push((
                    env.name.clone(),
                    apply_comment::build(env, extras, meta, limit),
                ));
            }
        }
    }
    bodies
}

/// The exit of `github comment` once the comment is written: a failed plan is an error (1), a
/// refused one is refused (3), so that the comment job fails the check and says why.
pub(super) fn finish(o: &comment::Outcome) -> Result<i32> {
    if !o.failed.is_empty() {
        let names: Vec<String> = o
            .failed
            .iter()
            .map(|e| {
                e.as_deref()
                    .map_or("a plan".to_string(), |e| format!("the plan of `{e}`"))
            })
            .collect();
        return Err(gh(GithubError::NotApproved(format!(
            "{} failed: the comment says why",
            names.join(", ")
        ))));
    }
    if !o.refused.is_empty() {
        return Err(Error::Unsafe(format!(
            "the plan of {} was refused as unsafe: the comment says why",
            o.refused
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(exit::OK)
}

async fn approved(ctx: &Context, args: GithubApprovedArgs) -> Result<i32> {
    // Its standard output is `ENV=DIGEST` lines and nothing else.
    output::stdout_is_a_document();
    for env in &args.envs {
        env_name(env)?;
    }
    let actions = actions()?;
    let sha = actions.sha.clone().ok_or_else(|| {
        gh(GithubError::Context(
            "GITHUB_SHA is not set: run this in the GitHub Actions job of a push to main".into(),
        ))
    })?;
    let client = Github::new(
        &actions.api,
        actions.token().map_err(gh)?.clone(),
        client_options(&args.http),
    )
    .map_err(gh)?;
    let approval =
        github::find_approval(&client, &actions.repository, &sha, &args.author, &args.envs)
            .await
            .map_err(gh)?;
    if let Some(file) = &args.save {
        let doc =
            github::approved::saved_document(&approval, &actions.repository.to_string(), &sha);
        save_approved(file, &doc)?;
        for e in approval.environments.iter().filter(|e| e.input.is_none()) {
            say(ctx, &format!(
                "notice: the comment holds no digest input for `{}` (it was shortened): {} records its digest only",
                e.env,
                file.display()
            ));
        }
    }
    say_approved(ctx, &approval, "comment on pull request #", "run");
    Ok(exit::OK)
}

/// `--env NAME` must be an environment's name.
pub(super) fn env_name(env: &str) -> Result<()> {
    if render::json::valid_env_name(env) {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--env {env:?} is not an environment name"
        )))
    }
}

/// `--save`'s file: the approved plan's document.
pub(super) fn save_approved(file: &std::path::Path, doc: &serde_json::Value) -> Result<()> {
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
    output::write_file(file, &text).map_err(|e| {
        Error::io(
            format!("cannot write the approved plan to {}", file.display()),
            e,
        )
    })
}

/// What `approved` says (`by`: `comment on pull request #`; `run`: `run`) and its standard
/// output, an `ENV=DIGEST` line an environment.
pub(super) fn say_approved(
    ctx: &Context,
    approval: &github::approved::Approval,
    by: &str,
    run: &str,
) {
    let mut lines = String::new();
    for e in &approval.environments {
        lines.push_str(&format!("{}={}\n", e.env, e.digest));
    }
    say(
        ctx,
        &format!(
            "Approved by skconn's {by}{} (planned for {}{}): {}",
            approval.pull_request,
            approval.head_sha,
            approval
                .run_id
                .as_deref()
                .map(|r| format!(", {run} {r}"))
                .unwrap_or_default(),
            approval
                .environments
                .iter()
                .map(|e| format!("`{}`", e.env))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    output::out(&lines);
}

/// A downloaded snapshot's document and text, when it is JSON naming `env`; else why not.
pub(super) fn check_snapshot(
    bytes: Vec<u8>,
    env: &str,
) -> std::result::Result<(serde_json::Value, String), String> {
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("it is not JSON ({e})"))?;
    let named = doc.get("environment").and_then(|v| v.as_str());
    if named != Some(env) {
        return Err(format!(
            "it is the snapshot of {}, not of {env}",
            named.map_or("no environment".to_string(), |n| format!(
                "`{}`",
                crate::output::escape::inert(n)
            ))
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
    Ok((doc, text))
}

/// Writes `env`'s snapshot into `out_dir` (created when missing); the file written.
pub(super) fn write_snapshot(
    out_dir: &std::path::Path,
    env: &str,
    text: &str,
) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("cannot create the folder {}", out_dir.display()), e))?;
    let file = out_dir.join(format!("{env}.snapshot.json"));
    output::write_file(&file, text).map_err(|e| {
        Error::io(
            format!("cannot write the snapshot to {}", file.display()),
            e,
        )
    })?;
    Ok(file)
}

/// When a snapshot was taken, for messages: its `taken_at`, or `at an unknown time`.
pub(super) fn taken_at(doc: &serde_json::Value) -> String {
    doc.get("taken_at")
        .and_then(|t| t.as_str())
        .map(|t| crate::output::escape::inert(t).into_owned())
        .unwrap_or_else(|| "at an unknown time".into())
}

/// What to say when an environment has no snapshot to plan against yet.
pub(super) fn no_snapshot_advice(env: &str) -> String {
    format!(
        "no snapshot of {env} yet: run the skconn drift workflow once (Actions → skconn drift → Run workflow), or merge to main: both keep one"
    )
}

async fn snapshot(ctx: &Context, args: GithubSnapshotArgs) -> Result<i32> {
    let env = &args.env;
    env_name(env)?;
    let actions = actions()?;
    let branch = args
        .branch
        .clone()
        .or_else(|| actions.default_branch())
        .unwrap_or_else(|| "main".to_string());
    let client = Github::new(
        &actions.api,
        actions.token().map_err(gh)?.clone(),
        client_options(&args.http),
    )
    .map_err(gh)?;
    let repo = &actions.repository;
    let name = github::artifacts::artifact_name(env);
    let listed = client.artifacts(repo, &name).await.map_err(gh)?;
    let mut expired_since = 0;
    for a in github::artifacts::candidates(&listed, &name, &branch) {
        let archive = match client.download_artifact(repo, a.id).await {
            Ok(bytes) => bytes,
            // Expired between the listing and the download: the next one, if any.
            Err(GithubError::Status(s)) if s.status == 410 => {
                expired_since += 1;
                continue;
            }
            Err(e) => return Err(gh(e)),
        };
        let what = format!(
            "the artifact {name} (id {}{}) is not a snapshot: ",
            a.id,
            a.run_id.map(|r| format!(", run {r}")).unwrap_or_default()
        );
        let not = |why: String| gh(GithubError::NotApproved(format!("{what}{why}")));
        let bytes = github::artifacts::unzip_one(&archive).map_err(not)?;
        let (doc, text) = check_snapshot(bytes, env).map_err(not)?;
        let file = write_snapshot(&args.out_dir, env, &text)?;
        say(
            ctx,
            &format!(
                "{} Wrote {}: the snapshot of {env} taken {} (artifact {}{}{} on {branch})",
                ctx.err_style.green("✓"),
                file.display(),
                taken_at(&doc),
                a.id,
                a.run_id.map(|r| format!(", run {r}")).unwrap_or_default(),
                a.head_sha
                    .as_deref()
                    .map(|s| format!(
                        ", commit {}",
                        crate::output::escape::inert(&s.chars().take(12).collect::<String>())
                    ))
                    .unwrap_or_default(),
            ),
        );
        return Ok(exit::OK);
    }
    let mut why = github::artifacts::passed_over(&listed, &name, &branch);
    if expired_since > 0 {
        why.push(format!("{expired_since} expired while being read"));
    }
    let also = if why.is_empty() {
        String::new()
    } else {
        format!(" (artifacts {name} passed over: {})", why.join(", "))
    };
    say(
        ctx,
        &format!(
            "notice: no artifact {name} from a run on {branch}{also}, so nothing was written. {}",
            no_snapshot_advice(env)
        ),
    );
    Ok(exit::OK)
}
