//! `skconn gitlab note`, `skconn gitlab approved` and `skconn gitlab snapshot`: read the inputs
//! and the job's CI variables, call `gitlab`, write the messages, the job log's copy of the
//! plans (or of a stopped apply's note), `--save`'s file and the downloaded snapshot.

use super::github::{
    apply_bodies, check_snapshot, env_name, finish, read_plans, reports_are_clean, save_approved,
    say, say_approved, taken_at, write_snapshot,
};
use super::{client_options, Context};
use crate::base::error::{exit, Error, Result};
use crate::cli::{
    GitlabApprovedArgs, GitlabArgs, GitlabCommand, GitlabNoteArgs, GitlabSnapshotArgs,
};
use crate::github::comment::{self, Input, Limit, Meta};
use crate::github::Written;
use crate::gitlab::{self, Gitlab, GitlabError, Pipeline, TOKEN_VARIABLE};
use crate::output;

pub(super) async fn run(ctx: &Context, args: GitlabArgs) -> Result<i32> {
    match args.command {
        GitlabCommand::Note(a) => note(ctx, a).await,
        GitlabCommand::Approved(a) => approved(ctx, a).await,
        GitlabCommand::Snapshot(a) => snapshot(ctx, a).await,
    }
}

fn gl(e: GitlabError) -> Error {
    Error::Github(Box::new(e))
}

fn pipeline() -> Result<Pipeline> {
    Pipeline::from_env(&|k| std::env::var(k).ok()).map_err(gl)
}

/// A client for the job's API, or `None` without a token.
fn client(p: &Pipeline, http: &crate::cli::HttpArgs) -> Result<Option<Gitlab>> {
    let Some(token) = &p.token else {
        return Ok(None);
    };
    Gitlab::new(&p.api, token.clone(), client_options(http))
        .map(Some)
        .map_err(gl)
}

async fn author(client: &Gitlab, given: &Option<String>) -> Result<String> {
    match given {
        Some(a) if !a.trim().is_empty() => Ok(a.trim().to_string()),
        _ => client.username().await.map_err(gl),
    }
}

async fn note(ctx: &Context, args: GitlabNoteArgs) -> Result<i32> {
    let inputs = read_plans(&args.plans)?;
    let p = pipeline()?;
    if p.on_default_branch() {
        return note_apply(ctx, &args, &inputs, &p).await;
    }
    let outcome = comment::outcome(&inputs);
    let (Some(iid), Some(head)) = (p.merge_request, p.head_sha.clone()) else {
        return Err(gl(GitlabError::Context(
            "CI_MERGE_REQUEST_IID and CI_COMMIT_SHA are not both set: run this in a merge-request pipeline (`rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`)".into(),
        )));
    };
    let meta = Meta {
        reference: format!("!{iid}"),
        run_word: "pipeline",
        head_sha: head.clone(),
        run_id: p.pipeline_id.clone(),
        run_url: p.pipeline_url.clone(),
    };
    let to_log = |why: &str| {
        let body = comment::build(&inputs, &meta, &Limit::gitlab_note(None));
        say(
            ctx,
            &format!("notice: {why}, so the plans are in this job's log only, not in a note on merge request !{iid}"),
        );
        output::out(&body.text);
    };
    let Some(client) = client(&p, &args.http)? else {
        to_log(&format!(
            "{TOKEN_VARIABLE} is not set (a project access token with the `api` scope, as a masked CI/CD variable)"
        ));
        return finish(&outcome);
    };
    let mr = client.merge_request(&p.project, iid).await.map_err(gl)?;
    if mr.sha != head {
        say(ctx, &format!(
            "notice: this pipeline planned commit {head}, but merge request !{iid}'s head is now {}: the note is left to that commit's pipeline",
            mr.sha
        ));
        to_log("the note is not this pipeline's to write");
        return finish(&outcome);
    }
    let author = author(&client, &args.author).await?;
    let body = comment::build(&inputs, &meta, &Limit::gitlab_note(meta.run_url.as_deref()));
    if !body.left_out.is_empty() {
        say(ctx, &format!(
            "notice: the note was shortened to fit GitLab's limit (left out: {}); the plan jobs' logs hold more",
            body.left_out.join(", ")
        ));
    }
    let (written, _) = gitlab::write_note(&client, &p.project, iid, &author, &body.text)
        .await
        .map_err(gl)?;
    let what = match written {
        Written::Created => "Created",
        Written::Updated => "Updated",
        Written::Unchanged => "Kept (already current)",
    };
    say(
        ctx,
        &format!(
            "{} {what} skconn's note on merge request !{iid}{}",
            ctx.err_style.green("✓"),
            mr.web_url
                .map(|u| format!(": {}", crate::output::escape::inert(&u)))
                .unwrap_or_default()
        ),
    );
    finish(&outcome)
}

/// `gitlab note` on the default branch: for each environment of the apply reports that was
/// not applied cleanly, one note (GitHub's apply comment, in GitLab's words) on the merge
/// request the commit merged, created or updated on a rerun, never the plan note. Exit 0 once
/// written: the apply's own exit is what fails the job.
async fn note_apply(
    ctx: &Context,
    args: &GitlabNoteArgs,
    inputs: &[Input],
    p: &Pipeline,
) -> Result<i32> {
    use crate::github::apply_comment::{self, ApplyMeta};
    if reports_are_clean(inputs, "on the default branch, `gitlab note` notes applies")? {
        say(
            ctx,
            "Every environment in the reports was applied cleanly: nothing to note.",
        );
        return Ok(exit::OK);
    }
    let sha = p.sha.clone().ok_or_else(|| {
        gl(GitlabError::Context(
            "CI_COMMIT_SHA is not set: run this in a GitLab CI job of the default branch".into(),
        ))
    })?;
    let client = client(p, &args.http)?;
    let mr = match &client {
        Some(c) => {
            let requests = c
                .merge_requests_of_commit(&p.project, &sha)
                .await
                .map_err(gl)?;
            gitlab::merged_request(&requests, &sha).ok().cloned()
        }
        None => None,
    };
    let meta = ApplyMeta {
        words: &apply_comment::GITLAB,
        pull_request: mr.as_ref().map_or(0, |m| m.iid),
        merge_sha: sha.clone(),
        run_id: p.pipeline_id.clone(),
        run_url: p.pipeline_url.clone(),
    };
    let bodies = apply_bodies(inputs, &meta, gitlab::NOTE_LIMIT);
    let to_log = |why: String| {
        say(
            ctx,
            &format!("notice: {why}, so the report is in this job's log only, not in a note"),
        );
        for (_, body) in &bodies {
            output::out(&format!("{body}\n"));
        }
    };
    let Some(client) = client else {
        to_log(format!(
            "{TOKEN_VARIABLE} is not set (a project access token with the `api` scope, as a masked CI/CD variable)"
        ));
        return Ok(exit::OK);
    };
    let Some(mr) = mr else {
        to_log(format!(
            "no merge request was merged as commit {sha}, so there is none to note on"
        ));
        return Ok(exit::OK);
    };
    let author = author(&client, &args.author).await?;
    for (env, body) in &bodies {
        let marker = apply_comment::marker(env);
        let (written, _) =
            gitlab::write_marked_note(&client, &p.project, mr.iid, &author, &marker, body)
                .await
                .map_err(gl)?;
        say(
            ctx,
            &format!(
                "{} {} the apply note of `{env}` on merge request !{}{}",
                ctx.err_style.green("✓"),
                match written {
                    Written::Created => "Created",
                    Written::Updated => "Updated",
                    Written::Unchanged => "Kept (already current)",
                },
                mr.iid,
                mr.web_url
                    .as_deref()
                    .map(|u| format!(": {}", crate::output::escape::inert(u)))
                    .unwrap_or_default()
            ),
        );
    }
    Ok(exit::OK)
}

async fn approved(ctx: &Context, args: GitlabApprovedArgs) -> Result<i32> {
    // Its standard output is `ENV=DIGEST` lines and nothing else.
    output::stdout_is_a_document();
    for env in &args.envs {
        env_name(env)?;
    }
    let p = pipeline()?;
    let sha = p.sha.clone().ok_or_else(|| {
        gl(GitlabError::Context(
            "CI_COMMIT_SHA is not set: run this in a GitLab CI job of the default branch".into(),
        ))
    })?;
    let Some(client) = client(&p, &args.http)? else {
        return Err(gl(GitlabError::Context(format!(
            "{TOKEN_VARIABLE} is not set: reading what the merge request's note approved needs a project access token with the `api` scope"
        ))));
    };
    let author = author(&client, &args.author).await?;
    let (approval, _) = gitlab::find_approval(&client, &p.project, &sha, &author, &args.envs)
        .await
        .map_err(gl)?;
    if let Some(file) = &args.save {
        let doc = crate::github::approved::saved_document(&approval, &p.project_name(), &sha);
        save_approved(file, &doc)?;
    }
    say_approved(ctx, &approval, "note on merge request !", "pipeline");
    Ok(exit::OK)
}

async fn snapshot(ctx: &Context, args: GitlabSnapshotArgs) -> Result<i32> {
    let env = &args.env;
    env_name(env)?;
    let p = pipeline()?;
    let branch = args
        .branch
        .clone()
        .or_else(|| p.default_branch.clone())
        .unwrap_or_else(|| "main".to_string());
    let Some(token) = &p.job_token else {
        return Err(gl(GitlabError::Context(
            "CI_JOB_TOKEN is not set: run this in a GitLab CI job (its own token reads the artifacts)".into(),
        )));
    };
    let client =
        Gitlab::with_job_token(&p.api, token.clone(), client_options(&args.http)).map_err(gl)?;
    let job = format!("snapshot-{env}");
    let path = format!("snapshots/{env}.snapshot.json");
    let found = match client.artifact_file(&p.project, &branch, &path, &job).await {
        Err(GitlabError::Status {
            call,
            status: status @ (401 | 403),
            ..
        }) => {
            return Err(gl(GitlabError::Context(format!(
                "GitLab refused the job's CI_JOB_TOKEN on {call} ({status}): run this in a job of this project's pipeline; \
                 a job of another project needs this project's Settings → CI/CD → Job token permissions to allow it"
            ))))
        }
        other => other.map_err(gl)?,
    };
    let Some(bytes) = found else {
        say(
            ctx,
            &format!(
                "notice: the latest successful pipeline of {} kept no {path} (job {job}), so nothing was written. \
                 No snapshot of {env} yet: run a pipeline on {} once (Build → Pipelines → Run pipeline), or merge: both keep one",
                crate::output::escape::inert(&branch),
                crate::output::escape::inert(&branch)
            ),
        );
        return Ok(exit::OK);
    };
    let what = format!("{path} of job {job} is not a snapshot: ");
    let not = |why: String| gl(GitlabError::NotApproved(format!("{what}{why}")));
    let (doc, text) = check_snapshot(bytes, env).map_err(not)?;
    let file = write_snapshot(&args.out_dir, env, &text)?;
    say(
        ctx,
        &format!(
            "{} Wrote {}: the snapshot of {env} taken {} (job {job}, the latest successful pipeline of {})",
            ctx.err_style.green("✓"),
            file.display(),
            taken_at(&doc),
            crate::output::escape::inert(&branch)
        ),
    );
    Ok(exit::OK)
}
