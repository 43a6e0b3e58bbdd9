//! `skconn apply`: prepare, confirm, apply each environment in order, check that it settled.

use super::prepare::{prepare, Connection};

mod report;
use super::{forced, interrupt, overrides, refuse, saved, step_summary, Context};
use crate::apply::{self, EnvOutcome, Status};
use crate::base::error::{exit, Error, Result};
use crate::cli::ApplyArgs;
use crate::model::Desired;
use crate::output::{self, Style};
use crate::plan::{self, Action, EnvPlan};
use crate::render;
use std::sync::Arc;

/// How many writes are in flight at once per environment.
pub const DEFAULT_PARALLELISM: usize = 8;
/// Requests in flight at once for the embedded local environment.
pub const LOCAL_PARALLELISM: usize = 128;

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: ApplyArgs,
) -> Result<i32> {
    let report_file = args.report.clone();
    let envs = args.envs.clone();
    let mut rec = Recorded::default();
    let result = apply(ctx, config, args, &mut rec).await;
    if let Some(file) = report_file {
        let doc = report::document(&rec, &result, &|| super::plan::selected(ctx, config, &envs));
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
        if let Err(e) = output::write_file(&file, &text) {
            let e = Error::io(
                format!("cannot write the apply report to {}", file.display()),
                e,
            );
            // The apply's own error comes first; a report that cannot be written is one more.
            return match result {
                Ok(_) => Err(e),
                Err(first) => {
                    output::err(&format!(
                        "{} {}\n",
                        ctx.err_style.red("error:"),
                        super::with_causes(&e)
                    ));
                    Err(first)
                }
            };
        }
    }
    result
}

/// Applies as `run` does, without writing a report file; returns the result with the report
/// document `--report` would write (the fresh plan, approvals, outcomes, exit code).
pub(super) async fn run_reported(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: ApplyArgs,
) -> (Result<i32>, serde_json::Value) {
    let envs = args.envs.clone();
    let mut rec = Recorded::default();
    let result = apply(ctx, config, args, &mut rec).await;
    let doc = report::document(&rec, &result, &|| super::plan::selected(ctx, config, &envs));
    (result, doc)
}

/// What an apply got to, for `--report`.
#[derive(Default)]
pub(super) struct Recorded {
    /// The fresh plan, as its JSON document.
    pub plan: Option<serde_json::Value>,
    pub checks: Vec<crate::plan::approval::Check>,
    pub outcomes: Vec<EnvOutcome>,
}

async fn apply(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: ApplyArgs,
    rec: &mut Recorded,
) -> Result<i32> {
    refuse_implicit_local_in_ci(ctx, config, &args.envs)?;
    let approved = super::approval::read(&args.approval)?;
    if approved.is_some() && args.plan_file.is_some() {
        return Err(Error::Usage(
            "a saved plan is its own approval: apply it alone, or apply a fresh plan with --approved".into(),
        ));
    }
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
    rec.plan = Some(render::json::plan(&p.plan));
    if !p.plan.refused.is_empty() {
        return Err(refuse(&p.plan.refused));
    }
    // With --approved: the first environment with something to send whose fresh plan is not
    // the approved one stops the apply there; it and every later environment are not applied.
    let checks = match &approved {
        Some(a) => {
            super::approval::unknown_environments(&p.plan, a)?;
            let checks = super::approval::check(&p.plan, a);
            rec.checks = checks.clone();
            if !ctx.quiet {
                output::out(&render::text::digests(&p.plan, &ctx.style));
            }
            checks
        }
        None => Vec::new(),
    };
    let cut = checks
        .iter()
        .zip(&p.plan.environments)
        .position(|(c, e)| !c.matches() && e.has_changes());
    let stopped: Vec<&crate::plan::approval::Check> = cut
        .map(|i| {
            checks[i..]
                .iter()
                .zip(&p.plan.environments[i..])
                .filter(|(c, e)| !c.matches() && e.has_changes())
                .map(|(c, _)| c)
                .collect()
        })
        .unwrap_or_default();
    let stop_md: String = stopped
        .iter()
        .map(|c| render::approval::markdown(c))
        .collect();
    let differs = || {
        Error::Differs(
            stopped
                .iter()
                .map(|c| render::approval::text(c))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    };
    if cut == Some(0) {
        step_summary(&format!(
            "{stop_md}{}",
            render::markdown::plan(&p.plan, render::markdown::GITHUB_COMMENT_LIMIT)
        ));
        return Err(differs());
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
    let progress = if ctx.quiet {
        ProgressMode::Off
    } else if output::stderr_is_terminal() {
        ProgressMode::Line
    } else {
        ProgressMode::Lines
    };
    interrupt::set_applying(true);
    let stop_flag = interrupt::stop_flag();
    let mut outcomes: Vec<EnvOutcome> = Vec::new();
    let mut unsettled: Vec<String> = Vec::new();
    let mut stop: Option<String> = None;
    for (i, ((conn, env_plan), desired)) in p
        .connections
        .iter()
        .zip(&p.plan.environments)
        .zip(&p.desired)
        .enumerate()
    {
        if stop.is_none() && interrupt::received().is_some() {
            stop = Some(apply::STOPPED.to_string());
        }
        if stop.is_none() && cut == Some(i) {
            stop = Some(format!(
                "the plan of environment {} differs from the approved plan",
                env_plan.name
            ));
        }
        if let Some(why) = &stop {
            if env_plan.has_changes() {
                outcomes.push(EnvOutcome::skipped(env_plan, why));
            }
            continue;
        }
        if !env_plan.has_changes() {
            continue;
        }
        let parallelism =
            args.parallelism
                .or(conn.env.parallelism)
                .unwrap_or(match conn.env.target {
                    // The embedded environment answers at once and batches its file writes: more
                    // requests in flight mean fewer, larger writes.
                    crate::settings::Target::Local { .. } => LOCAL_PARALLELISM,
                    _ => DEFAULT_PARALLELISM,
                });
        let outcome = apply_one(conn, env_plan, parallelism, progress, stop_flag.clone()).await;
        if outcome.has_failures() {
            stop = Some(format!(
                "environment {} did not apply cleanly",
                env_plan.name
            ));
        }
        if interrupt::received().is_some() {
            // Exit promptly: the summary says what was applied; the next plan shows the rest.
            outcomes.push(outcome);
            continue;
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
    forced::update(&p.root, args.safety.force, &p.plan, &outcomes);
    rec.outcomes = outcomes.clone();
    let report = render::text::outcome(&outcomes, &ctx.style);
    output::out(&format!("\n{report}"));
    step_summary(&format!(
        "{stop_md}{}\n### Apply result\n\n```text\n{}```\n",
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
        output::err(&format!(
            "{} {}\n",
            ctx.err_style.yellow("warning:"),
            crate::output::escape::inert_lines(&msg)
        ));
    }
    let applied: usize = outcomes.iter().map(|o| o.counts().0).sum();
    let failed = outcomes.iter().any(|o| !o.all_applied());
    if let Some(code) = interrupt::received() {
        crate::output::log::message("warn", None, &format!(
            "skconn was {}: {applied} change(s) applied, the rest not attempted; run apply again to finish\n",
            if code == interrupt::SIGTERM_EXIT { "terminated" } else { "interrupted" }
        ));
        return Ok(code);
    }
    if let Some(i) = cut {
        // The environments from the cut on were held back on purpose: the stop is exit 6,
        // unless an environment before it failed.
        let held: Vec<&str> = p.plan.environments[i..]
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let failed_before = outcomes
            .iter()
            .any(|o| !held.contains(&o.name.as_str()) && !o.all_applied());
        if !failed_before {
            return Err(differs());
        }
    }
    if outcomes.iter().any(EnvOutcome::has_conflict) {
        // Another writer: a conflict is never "nothing was applied" nor "unsettled".
        return Ok(exit::PARTIAL);
    }
    Ok(match (failed, applied) {
        (true, 0) => exit::ERROR,
        (true, _) => exit::PARTIAL,
        (false, _) if !unsettled.is_empty() => exit::UNSETTLED,
        (false, _) => exit::OK,
    })
}

/// With `CI` set, an apply to the local environment chosen for lack of configuration is almost
/// certainly a mistake (a missing skconn.yaml or missing secrets): refused unless named with
/// `--env local` (or configured with `url: local`).
fn refuse_implicit_local_in_ci(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
) -> Result<()> {
    let ci = std::env::var("CI")
        .ok()
        .filter(|v| !v.is_empty() && v != "false" && v != "0");
    if ci.is_none() {
        return Ok(());
    }
    let settings = ctx.project(config)?;
    let implicit = settings
        .environments
        .iter()
        .any(|e| e.implicit && !envs.contains(&e.name));
    if implicit {
        return Err(Error::Usage(
            "refusing to apply to the local environment (.skconn/local.json) in CI: no skconn.yaml was found and no SCALEKIT_* variables are set. \
             Add skconn.yaml (or set SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET), or name the local environment explicitly with --env local"
                .into(),
        ));
    }
    Ok(())
}

/// Waits between re-reads when a listing may lag behind writes: a few seconds in all.
const SETTLE_WAITS_MS: &[u64] = &[250, 500, 1000, 2000];

/// After an apply, reads the environment again and plans once more: a connector that was just
/// written but still shows a change is one the server rewrote. Reported by connector and JSON
/// path, with what to write in the file instead. A listing may lag behind writes, so the
/// environment is re-read a few times (with a short backoff) before anything is reported; a
/// connector the server keeps under another name (trimmed spaces) is reported with that name.
async fn settle_check(
    conn: &Connection,
    desired: &[Desired],
    outcome: &EnvOutcome,
) -> Result<Vec<String>> {
    let written: Vec<(&str, Option<&crate::model::Live>)> = outcome
        .changes
        .iter()
        .filter(|o| matches!(o.status, Status::Applied { .. }) && o.action != Action::Delete)
        .map(|o| (o.display_name.as_str(), o.written.as_ref()))
        .collect();
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let mut waits = SETTLE_WAITS_MS.iter();
    loop {
        let live = conn.client.list().await?;
        let (found, rewritten, lagging) = unsettled(conn, desired, &live, &written);
        if found.is_empty() {
            return Ok(found);
        }
        // Only a listing that does not yet show what the server answered is worth reading
        // again; a server that answered with its rewrite has settled.
        match waits.next().filter(|_| lagging) {
            Some(ms) => {
                tracing::info!(env = %conn.env.name, unsettled = found.len(), wait_ms = ms,
                    "the listing does not show every write yet; reading it again");
                tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            }
            None => {
                record_rewrites(conn, &rewritten).await;
                return Ok(found);
            }
        }
    }
}

/// Records, in the marker of each connector the server rewrote, the hash of what it kept, so
/// that the next plan does not take the server's rewrite for an edit made outside skconn.
async fn record_rewrites(conn: &Connection, rewritten: &[(String, serde_json::Value)]) {
    for (identifier, body) in rewritten {
        if let Err(e) = conn.client.update(identifier, body).await {
            tracing::warn!(env = %conn.env.name, identifier = %identifier,
                "could not record the server's rewrite in the marker: {e}");
        }
    }
}

/// What still differs after an apply: messages; for each connector the server rewrote, its
/// identifier and the body that records the server's version in the marker; and whether the
/// listing may simply lag behind the writes (it does not show what the server answered).
type Unsettled = (Vec<String>, Vec<(String, serde_json::Value)>, bool);

fn unsettled(
    conn: &Connection,
    desired: &[Desired],
    live: &[crate::model::Live],
    written: &[(&str, Option<&crate::model::Live>)],
) -> Unsettled {
    let again = plan::diff_env(&conn.env.name, desired, live, crate::settings::Prune::Off);
    let mut out = Vec::new();
    let mut rewritten = Vec::new();
    let mut lagging = false;
    for c in again.changes.iter() {
        let Some((_, answered)) = written.iter().find(|(n, _)| *n == c.display_name) else {
            continue;
        };
        let identifier = answered.map(|l| l.identifier.as_str());
        let listed = identifier.and_then(|id| live.iter().find(|l| l.identifier == id));
        match (answered, listed) {
            (Some(a), Some(l)) if a.body == l.body => {}
            _ => lagging = true,
        }
        if c.action() == Action::Create {
            let kept = listed.map(|l| l.display_name.as_str());
            out.push(match kept {
                Some(kept) => format!(
                    "environment {}: \"{}\" was created, but the server keeps it under the name {:?}; write that name in the file (display names are compared exactly)",
                    conn.env.name, c.display_name, kept
                ),
                None => format!(
                    "environment {}: \"{}\" was created but is not listed under that name",
                    conn.env.name, c.display_name
                ),
            });
            continue;
        }
        if let (Some(id), Some(body)) = (c.identifier(), c.body()) {
            if let Some(l) = live.iter().find(|l| l.identifier == id) {
                let kept = crate::model::content_hash(&l.body);
                if l.kept_hash() != Some(kept.as_str()) {
                    rewritten.push((id.to_string(), crate::model::with_kept_hash(body, &kept)));
                }
            }
        }
        for f in &c.diff {
            let file = c
                .file()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            // A masked value cannot be shown, so neither can a hint that writes it: the server
            // changed it (its letter case, say), and the variable is what to fix.
            let masked = [&f.old, &f.new]
                .into_iter()
                .flatten()
                .any(|v| crate::output::secret::contains_secret(&v.to_string()));
            let hint = match &f.old {
                _ if masked => format!(
                    "the value comes from a masked variable and the server changed it (its letter case, for example): set the variable to the value as the server keeps it, for {} in {file}",
                    f.path
                ),
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
    (out, rewritten, lagging)
}

/// How `apply` shows changes as they complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProgressMode {
    /// `--quiet`: nothing.
    Off,
    /// A terminal: one progress line, rewritten in place, cleared at the end.
    Line,
    /// Not a terminal (CI): one line per change as it completes, so that a cancelled or
    /// timed-out job still shows what happened.
    Lines,
}

async fn apply_one(
    conn: &Connection,
    env_plan: &EnvPlan,
    parallelism: usize,
    mode: ProgressMode,
    stop: apply::Stop,
) -> EnvOutcome {
    let name = env_plan.name.clone();
    let progress = Arc::new(output::Progress::new(mode == ProgressMode::Line));
    let p = progress.clone();
    let on_progress: apply::OnProgress = Arc::new(move |done, total, outcome| match mode {
        ProgressMode::Off => {}
        ProgressMode::Line => p.update(&format!("{name}: applied {done}/{total}")),
        ProgressMode::Lines => crate::output::log::message(
            match outcome.status {
                Status::Applied { .. } => "info",
                Status::Failed(_) => "error",
                Status::NotAttempted(_) | Status::Blocked(_) => "warn",
            },
            Some(&name),
            &format!(
                "{name}: [{done}/{total}] {}\n",
                render::text::outcome_line(outcome, &Style::PLAIN)
            ),
        ),
    });
    let outcome = apply::apply_env(
        conn.client.clone(),
        env_plan,
        parallelism,
        on_progress,
        stop,
    )
    .await;
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
