//! `skconn plan`: prepare, render in the chosen format, optionally save the plan. A plan that
//! fails still writes its Markdown (or JSON) body, saying it failed and why, so that a
//! pull-request comment never keeps showing an older plan.

use super::prepare::{prepare_with, Against};
use super::{client_options, overrides, refuse, saved, step_summary, Context};
use crate::base::error::{exit, Error, Result};
use crate::cli::{PlanArgs, PlanFormat};
use crate::output::{self, Style};
use crate::plan::Plan;
use crate::render;

pub(super) fn render_plan(plan: &Plan, format: PlanFormat, style: &Style) -> String {
    match format {
        PlanFormat::Text => render::text::plan(plan, style),
        PlanFormat::Json => pretty(&render::json::plan(plan)),
        PlanFormat::Markdown => {
            render::markdown::plan(plan, render::markdown::GITHUB_COMMENT_LIMIT)
        }
        PlanFormat::Curl => render::curl::plan(plan),
    }
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The message of an error as `report_error` prints it (without colour), for failure bodies;
/// redacted on the way out, like everything written.
pub(super) fn error_text(e: &Error) -> String {
    let mut msg = super::with_causes(e);
    if let Error::Input(list) = e {
        for d in list {
            msg.push_str(&format!("\n{d}"));
        }
    }
    msg
}

/// The environments a plan was asked for, for a failed plan's JSON document: the `--env`s, else
/// every configured environment when the settings can be read, else none (not known).
pub(super) fn selected(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
) -> Vec<String> {
    if !envs.is_empty() {
        return envs.to_vec();
    }
    ctx.settings(config)
        .map(|s| s.environments.iter().map(|e| e.name.clone()).collect())
        .unwrap_or_default()
}

/// `--format curl` prints commands to run later, against the environment they were planned for.
/// The local environment is an emulator inside this process: gone when skconn exits, nothing
/// could answer them, and its identifiers exist in no other environment, so the same commands
/// sent elsewhere would change connectors no plan showed. Refused before anything is read or
/// created.
fn refuse_curl_for_local(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
) -> Result<()> {
    let settings = ctx.settings(config)?;
    let local: Vec<String> = settings
        .select(envs)?
        .into_iter()
        .filter(|e| matches!(e.target, crate::settings::Target::Local { .. }))
        .map(|e| format!("`{}`", e.name))
        .collect();
    if local.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to print curl commands for the local environment {}: it is an emulator inside this skconn process, gone when skconn exits, so nothing could answer them, and its identifiers exist in no other environment, so sent elsewhere they would change connectors no plan showed. \
         For commands you can run, start `skconn emulator` (or use a Scalekit environment) and point an environment's `url` at it in skconn.yaml; to read the plan here, use --format text, markdown or json",
        local.join(", ")
    )))
}

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: PlanArgs,
) -> Result<i32> {
    if args.format != PlanFormat::Text {
        output::stdout_is_a_document();
    }
    let approved = super::approval::read(&args.approval)?;
    if approved.is_some() && args.out.is_some() {
        return Err(Error::Usage(
            "--approved checks a fresh plan against the approved one; it cannot be combined with --out (a saved plan is its own approval)".into(),
        ));
    }
    if args.format == PlanFormat::Curl {
        refuse_curl_for_local(ctx, config, &args.envs)?;
    }
    if !args.against.is_empty() && args.out.is_some() {
        return Err(Error::Usage(
            "--against cannot be combined with --out: a plan made against a snapshot is for review, not to apply (apply plans every environment live again, and --approved checks that it is the plan reviewed)".into(),
        ));
    }
    let max_age = crate::base::time::parse_duration(&args.max_snapshot_age).map_err(|m| {
        Error::Usage(format!(
            "--max-snapshot-age: {}",
            crate::output::escape::inert(&m)
        ))
    })?;
    let against = Against {
        files: &args.against,
        max_age,
        check_host: !args.no_host_check,
    };
    let prepared = prepare_with(
        ctx,
        config,
        &args.envs,
        (!args.against.is_empty()).then_some(&against),
        overrides(args.safety),
        &client_options(&args.http),
    )
    .await;
    let p = match prepared {
        Ok(p) => p,
        Err(e) => {
            let message = error_text(&e);
            let failed_md = render::markdown::failed(&message);
            match args.format {
                PlanFormat::Markdown => output::out(&failed_md),
                PlanFormat::Json => output::out(&pretty(&render::json::failed(
                    &message,
                    &selected(ctx, config, &args.envs),
                ))),
                PlanFormat::Text | PlanFormat::Curl => {}
            }
            step_summary(&failed_md);
            return Err(e);
        }
    };
    let checks = match &approved {
        Some(a) => {
            super::approval::unknown_environments(&p.plan, a)?;
            super::approval::check(&p.plan, a)
        }
        None => Vec::new(),
    };
    let differing: Vec<&crate::plan::approval::Check> =
        checks.iter().filter(|c| !c.matches()).collect();
    let approval_md: String = differing
        .iter()
        .map(|c| render::approval::markdown(c))
        .collect();
    match args.format {
        PlanFormat::Json if !checks.is_empty() => {
            let mut doc = render::json::plan(&p.plan);
            if let Some(envs) = doc["environments"].as_array_mut() {
                for (e, c) in envs.iter_mut().zip(&checks) {
                    e["approval"] = render::approval::json(c);
                }
            }
            output::out(&pretty(&doc));
        }
        PlanFormat::Markdown if !approval_md.is_empty() => {
            let md = render_plan(&p.plan, args.format, &ctx.style);
            // The stop first, under the marker line, so that no reader misses it.
            let (marker, rest) = md.split_once('\n').unwrap_or((&md, ""));
            output::out(&format!("{marker}\n{approval_md}{rest}"));
        }
        format => output::out(&render_plan(&p.plan, format, &ctx.style)),
    }
    if args.format == PlanFormat::Text && ctx.verbose > 0 {
        output::out(&render::text::digests(&p.plan, &ctx.style));
    }
    step_summary(&format!(
        "{approval_md}{}",
        render::markdown::plan(&p.plan, render::markdown::GITHUB_COMMENT_LIMIT)
    ));
    if !p.plan.refused.is_empty() {
        return Err(refuse(&p.plan.refused));
    }
    if let Some(e) = super::approval::differs(&checks) {
        return Err(e);
    }
    if let Some(out) = &args.out {
        let salt = crate::plan::saved::new_salt()
            .map_err(|e| Error::io("cannot make a random salt for the saved plan", e))?;
        let saved = crate::plan::saved::SavedPlan {
            kind: crate::plan::saved::KIND.into(),
            format_version: crate::plan::saved::FORMAT_VERSION.into(),
            skconn_version: env!("CARGO_PKG_VERSION").into(),
            inputs: saved::inputs_fingerprint(&salt, &p),
            environments: p
                .connections
                .iter()
                .zip(&p.lives)
                .map(|(c, l)| crate::plan::saved::SavedEnv {
                    name: c.env.name.clone(),
                    live: crate::plan::saved::keyed_live_fingerprint(
                        &salt,
                        &c.env.name,
                        c.plan_key.expose().as_bytes(),
                        l,
                    ),
                })
                .collect(),
            salt,
            plan: render::json::plan(&p.plan),
        };
        let text = serde_json::to_string_pretty(&saved).unwrap_or_default();
        output::write_file(out, &text)
            .map_err(|e| Error::io(format!("cannot write the plan to {}", out.display()), e))?;
        if args.format == PlanFormat::Text && !ctx.quiet {
            output::out(&format!(
                "Saved the plan to {}. Apply exactly it with: skconn apply {}\n",
                out.display(),
                out.display()
            ));
        }
    }
    Ok(if args.detailed_exitcode && p.plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
