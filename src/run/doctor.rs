//! `skconn doctor`: resolves the settings, runs the checks of `doctor` on each selected
//! environment in turn, asks the plan path itself what `plan` would do there (counts only),
//! and writes the report. It never writes to an environment.

use super::prepare::{connect_all, prepare};
use super::{client_options, relative, Context};
use crate::base::error::{Error, Result};
use crate::cli::{DoctorArgs, Format};
use crate::doctor::{self, report, ApiInput, Check, ConfigInput, EnvReport, Folder, PlanOutcome};
use crate::output;
use crate::plan::safety::Overrides;
use crate::plan::{usage, Plan, Usage};
use crate::settings::{shown_url, Environment, Settings, Target};
use std::path::Path;

/// What `plan` would do in the one environment of `plan`, as counts.
fn counts(plan: &Plan) -> PlanOutcome {
    let Some(e) = plan.environments.first() else {
        return PlanOutcome::Failed("no environment was planned".into());
    };
    let s = e.summary();
    PlanOutcome::Counts {
        create: s.create,
        adopt: s.adopt,
        update: s.update,
        delete: s.delete,
        unchanged: s.unchanged,
        blocked: e.changes.iter().filter(|c| usage::blocked(c)).count(),
        usage_unknown: e
            .changes
            .iter()
            .filter(|c| matches!(c.usage, Some(Usage::Unknown { .. })))
            .count(),
        refused: plan.refused.len(),
    }
}

/// The project's folder: skconn.yaml, and whether the connector files load.
fn folder(ctx: &Context, settings: &Settings, no_project: bool) -> Result<Folder> {
    let mut f = Folder {
        config_file: settings
            .config_file
            .as_deref()
            .map(|p| relative(&settings.root, p)),
        from_variables: settings
            .environments
            .iter()
            .any(|e| matches!(e.target, Target::Remote(_))),
        connectors_dir: relative(&settings.root, &settings.connectors_dir),
        no_project,
        dir_missing: false,
        files: Ok(0),
    };
    if no_project {
        return Ok(f);
    }
    match ctx.load_all(settings) {
        Ok(loaded) => {
            f.dir_missing = loaded.dir_missing;
            f.files = Ok(loaded.connectors.len());
        }
        Err(Error::Input(problems)) => f.files = Err(problems.len()),
        Err(e) => return Err(e),
    }
    Ok(f)
}

/// Every check of one environment.
async fn check_env(
    ctx: &Context,
    config: Option<&Path>,
    settings: &Settings,
    env: &Environment,
    args: &DoctorArgs,
    no_project: bool,
) -> EnvReport {
    let options = client_options(&args.http);
    let lookup = |k: &str| std::env::var(k).ok();
    let mut report = EnvReport::new(&env.name);
    let resolved = match &env.target {
        Target::Remote(spec) => Some(crate::settings::credentials::resolve(
            &env.name, spec, &lookup,
        )),
        Target::Local { .. } => None,
    };
    let (checks, not_run) = doctor::configuration(&ConfigInput {
        env,
        resolved: resolved.as_ref(),
        cli_ca_file: args.http.ca_file.as_deref(),
        root: &settings.root,
        lookup: &lookup,
    });
    report.checks.extend(checks);
    report.not_run.extend(not_run);
    if let Some(Ok(c)) = &resolved {
        report.url = shown_url(c.url.as_str()).trim_end_matches('/').to_string();
    }
    if report.tally().failed > 0 {
        report.stop_after("config.ca");
        return report;
    }

    // Reach it: the same client plan uses (for the local environment, its emulator).
    let connection = match connect_all(&[env], &options) {
        Ok(mut c) => c.remove(0),
        Err(e) => {
            report.checks.push(Check::failed(
                "network.http",
                format!("the environment's client could not be set up: {e}"),
                "fix what the message names and run doctor again",
            ));
            report.stop_after("network.http");
            return report;
        }
    };
    let url = connection.client.url().clone();
    if report.url.is_empty() {
        report.url = shown_url(url.as_str()).trim_end_matches('/').to_string();
    }
    let mut ca_files = options.ca_files.clone();
    if let Some(Ok(c)) = &resolved {
        ca_files.extend(c.ca_file.clone());
    }
    let probe = crate::remote::probe_network(&url, &ca_files, options.timeout).await;
    let (checks, reachable) = doctor::network_checks(&probe, &env.name);
    report.checks.extend(checks);
    if !reachable {
        report.stop_after("network.http");
        return report;
    }
    doctor::api_checks(
        &ApiInput {
            client: &connection.client,
            usage: env.usage,
            page_size: env.page_size.unwrap_or(options.page_size),
            max_wait: options.max_wait,
        },
        &mut report,
    )
    .await;
    drop(connection);
    if report.not_run.contains(&"plan") {
        return report;
    }

    // What plan would do: the plan path itself, for this environment alone.
    let outcome = if no_project {
        PlanOutcome::NoProject
    } else {
        match prepare(
            ctx,
            config,
            std::slice::from_ref(&env.name),
            Overrides::default(),
            &options,
        )
        .await
        {
            Ok(p) => counts(&p.plan),
            Err(Error::Input(problems)) => PlanOutcome::InvalidInput(problems.len()),
            Err(e) => {
                PlanOutcome::Failed(crate::output::escape::inert(&e.to_string()).into_owned())
            }
        }
    };
    report.checks.push(doctor::plan_check(&outcome));
    report
}

fn render(report: &doctor::Report, format: Format, ctx: &Context) -> String {
    match format {
        Format::Text => report::text(report, &ctx.style),
        Format::Markdown => report::markdown_report(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report::json(report)).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

pub(super) async fn run(ctx: &Context, config: Option<&Path>, args: DoctorArgs) -> Result<i32> {
    if args.format != Format::Text {
        crate::output::stdout_is_a_document();
    }
    let settings = match ctx.settings(config) {
        Ok(s) => s,
        Err(e) => {
            // The report still says so (JSON and Markdown are read by programs and people who
            // may not see standard error); the error itself follows, as every command's.
            if args.format != Format::Text {
                let problems = match &e {
                    Error::Input(list) => Ok(list.len()),
                    other => Err(other.to_string()),
                };
                let mut r = doctor::Report::default();
                r.checks.push(doctor::unreadable_config(problems));
                output::out(&render(&r, args.format, ctx));
            }
            return Err(e);
        }
    };
    let selected = settings.select(&args.envs)?;
    let no_project = settings.config_file.is_none() && !settings.connectors_dir.exists();
    let mut report = doctor::Report::default();
    report
        .checks
        .push(doctor::folder_check(&folder(ctx, &settings, no_project)?));
    for env in selected {
        report
            .environments
            .push(check_env(ctx, config, &settings, env, &args, no_project).await);
    }
    output::out(&render(&report, args.format, ctx));
    Ok(report.exit_code())
}
