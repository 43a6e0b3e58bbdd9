//! `skconn plan`: prepare, render in the chosen format, optionally save the plan.

use super::prepare::prepare;
use super::{overrides, refuse, saved, step_summary, Context};
use crate::cli::{Format, PlanArgs};
use crate::error::{exit, Error, Result};
use crate::output::{self, Style};
use crate::plan::Plan;
use crate::render;

pub(super) fn render_plan(plan: &Plan, format: Format, style: &Style) -> String {
    match format {
        Format::Text => render::text::plan(plan, style),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&render::json::plan(plan)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Markdown => render::markdown::plan(plan, render::markdown::GITHUB_COMMENT_LIMIT),
    }
}

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: PlanArgs,
) -> Result<i32> {
    let p = prepare(ctx, config, &args.envs, overrides(args.safety)).await?;
    output::out(&render_plan(&p.plan, args.format, &ctx.style));
    step_summary(&render::markdown::plan(
        &p.plan,
        render::markdown::GITHUB_COMMENT_LIMIT,
    ));
    if !p.refusals.is_empty() {
        return Err(refuse(&p.refusals));
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
        if args.format == Format::Text && !ctx.quiet {
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
