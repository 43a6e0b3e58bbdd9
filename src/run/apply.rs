//! `skconn apply`: prepare, confirm, apply each environment in order, check that it settled.

use super::prepare::{prepare, Connection};
use super::{overrides, refuse, saved, step_summary, Context};
use crate::apply::{self, EnvOutcome, Status};
use crate::cli::ApplyArgs;
use crate::error::{exit, Error, Result};
use crate::model::Desired;
use crate::output::{self, Style};
use crate::plan::{self, Action, EnvPlan};
use crate::render;
use std::sync::Arc;

/// How many writes are in flight at once per environment.
pub const DEFAULT_PARALLELISM: usize = 8;

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: ApplyArgs,
) -> Result<i32> {
    let p = prepare(
        ctx,
        config,
        &args.envs,
        overrides(args.safety),
        &super::client_options(&args.http),
    )
    .await?;
    if let Some(file) = &args.plan_file {
        if saved::check_saved(file, &p)? == saved::Checked::AlreadyApplied {
            output::out(&format!(
                "The saved plan {} was already applied: every environment it covers matches the files. Nothing to do.\n",
                file.display()
            ));
            return Ok(exit::OK);
        }
    }
    output::out(&render::text::plan(&p.plan, &ctx.style));
    if !p.plan.refused.is_empty() {
        return Err(refuse(&p.plan.refused));
    }
    if !p.plan.has_changes() {
        output::out("Nothing to apply: every environment matches the files.\n");
        step_summary(&render::markdown::plan(
            &p.plan,
            render::markdown::GITHUB_COMMENT_LIMIT,
        ));
        return Ok(exit::OK);
    }
    if args.plan_file.is_none() {
        confirm(ctx, args.auto_approve)?;
    }
    let progress_on = output::stderr_is_terminal() && !ctx.quiet;
    let mut outcomes: Vec<EnvOutcome> = Vec::new();
    let mut unsettled: Vec<String> = Vec::new();
    let mut stop: Option<String> = None;
    for ((conn, env_plan), desired) in p
        .connections
        .iter()
        .zip(&p.plan.environments)
        .zip(&p.desired)
    {
        if let Some(why) = &stop {
            outcomes.push(EnvOutcome::skipped(env_plan, why));
            continue;
        }
        if !env_plan.has_changes() {
            continue;
        }
        let parallelism = args
            .parallelism
            .or(conn.env.parallelism)
            .unwrap_or(DEFAULT_PARALLELISM);
        let outcome = apply_one(conn, env_plan, parallelism, progress_on).await;
        if outcome.has_failures() {
            stop = Some(format!(
                "environment {} did not apply cleanly",
                env_plan.name
            ));
        }
        match settle_check(conn, desired, &outcome).await {
            Ok(list) => unsettled.extend(list),
            Err(e) => unsettled.push(format!(
                "environment {}: could not re-read it to check the result: {e}",
                env_plan.name
            )),
        }
        outcomes.push(outcome);
    }
    let report = render::text::outcome(&outcomes, &ctx.style);
    output::out(&format!("\n{report}"));
    step_summary(&format!(
        "{}\n### Apply result\n\n```text\n{}```\n",
        render::markdown::plan(&p.plan, render::markdown::GITHUB_COMMENT_LIMIT / 2),
        render::text::outcome(&outcomes, &Style::PLAIN)
    ));
    if !unsettled.is_empty() {
        let mut msg = String::from(
            "the server did not keep what skconn wrote, so the next plan would show these changes again:",
        );
        for u in &unsettled {
            msg.push_str("\n  - ");
            msg.push_str(u);
        }
        output::err(&format!("{} {msg}\n", ctx.err_style.yellow("warning:")));
    }
    let applied: usize = outcomes.iter().map(|o| o.counts().0).sum();
    let failed = outcomes.iter().any(|o| !o.all_applied());
    Ok(match (failed, applied) {
        (true, 0) => exit::ERROR,
        (true, _) => exit::PARTIAL,
        (false, _) if !unsettled.is_empty() => exit::UNSETTLED,
        (false, _) => exit::OK,
    })
}

/// After an apply, reads the environment again and plans once more: a connector that was just
/// written but still shows a change is one the server rewrote. Reported by connector and JSON
/// path, with what to write in the file instead.
async fn settle_check(
    conn: &Connection,
    desired: &[Desired],
    outcome: &EnvOutcome,
) -> Result<Vec<String>> {
    let written: Vec<&str> = outcome
        .changes
        .iter()
        .filter(|o| matches!(o.status, Status::Applied { .. }) && o.action != Action::Delete)
        .map(|o| o.display_name.as_str())
        .collect();
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let live = conn.client.list().await?;
    let again = plan::diff_env(&conn.env.name, desired, &live, crate::settings::Prune::Off);
    let mut out = Vec::new();
    for c in again
        .changes
        .iter()
        .filter(|c| written.contains(&c.display_name.as_str()))
    {
        if c.action == Action::Create {
            out.push(format!(
                "environment {}: \"{}\" was created but is not listed under that name",
                conn.env.name, c.display_name
            ));
            continue;
        }
        for f in &c.diff {
            let file = c
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let hint = match &f.old {
                Some(kept) => format!(
                    "write {} at {} in {file}",
                    render::text::value(Some(kept)),
                    f.path
                ),
                None => format!("remove {} from {file}", f.path),
            };
            out.push(format!(
                "environment {}: \"{}\" {}: skconn wrote {}, the server keeps {}; {hint}",
                conn.env.name,
                c.display_name,
                f.path,
                render::text::value(f.new.as_ref()),
                render::text::value(f.old.as_ref()),
            ));
        }
    }
    Ok(out)
}

async fn apply_one(
    conn: &Connection,
    env_plan: &EnvPlan,
    parallelism: usize,
    progress_on: bool,
) -> EnvOutcome {
    let name = env_plan.name.clone();
    let progress = Arc::new(output::Progress::new(progress_on));
    let p = progress.clone();
    let on_progress: apply::OnProgress = Arc::new(move |done, total| {
        p.update(&format!("{name}: applied {done}/{total}"));
    });
    let outcome = apply::apply_env(conn.client.clone(), env_plan, parallelism, on_progress).await;
    progress.finish();
    outcome
}

fn confirm(ctx: &Context, auto_approve: bool) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !output::stdin_is_terminal() {
        return Err(Error::NotApproved(
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan above and pass --auto-approve to apply it (as CI does)".into(),
        ));
    }
    output::err(&format!(
        "{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        ctx.err_style.bold("Do you want to apply these changes?")
    ));
    match output::read_line().as_deref() {
        Some("yes") => Ok(()),
        _ => Err(Error::NotApproved(
            "apply cancelled: nothing was changed".into(),
        )),
    }
}
