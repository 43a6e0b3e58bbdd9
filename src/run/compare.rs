//! `skconn compare ENV_A ENV_B`: how two environments' live connectors differ, by display name.
//!
//! It reuses the planner: A's connectors play the files, B is the live side, so the result reads
//! as "what it would take to make B match A" and renders in every plan format.

use super::plan::render_plan;
use super::{connect_all, list_all, Context};
use crate::cli::CompareArgs;
use crate::error::{exit, Error, Result};
use crate::model::{self, Desired, Origin};
use crate::output;
use crate::plan::{self, Plan};
use crate::settings::Prune;

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: CompareArgs,
) -> Result<i32> {
    if args.a == args.b {
        return Err(Error::Usage(format!(
            "compare needs two different environments (got `{}` twice)",
            args.a
        )));
    }
    let settings = ctx.settings(config)?;
    // The files are loaded, though compare reads only live connectors: their `${VAR}` values
    // are what the live connectors hold, and must be masked here as in every output.
    ctx.load_all(&settings)?;
    let mut envs = Vec::new();
    for name in [&args.a, &args.b] {
        let found = settings.select(std::slice::from_ref(name))?;
        envs.push(found[0].clone());
    }
    let connections = connect_all(&envs.iter().collect::<Vec<_>>(), &ctx.client)?;
    let lives = list_all(&connections).await?;
    let reference: Vec<Desired> = lives[0]
        .iter()
        .map(|l| Desired {
            display_name: l.display_name.clone(),
            body: model::without_marker(&l.body),
            previous_names: Vec::new(),
            origin: Origin {
                file: format!("environment {}", args.a).into(),
            },
        })
        .collect();
    let name = format!("{} compared with {}", args.b, args.a);
    let mut env_plan = plan::diff_env(&name, &reference, &lives[1], Prune::All);
    for c in &mut env_plan.changes {
        c.file = None;
        c.drift = false;
        c.body = None;
        c.warnings.retain(|w| w.starts_with("OAuth scopes"));
    }
    env_plan.not_managed.clear();
    let differ = env_plan.has_changes();
    if args.format == crate::cli::Format::Text && !ctx.quiet {
        output::out(&format!(
            "Comparing {b} with {a}: `+` only in {a}, `-` only in {b}, `~` differs ({b}'s value → {a}'s).\n\n",
            a = args.a,
            b = args.b
        ));
    }
    let plan = Plan {
        environments: vec![env_plan],
    };
    output::out(&render_plan(&plan, args.format, &ctx.style));
    Ok(if differ { exit::CHANGES } else { exit::OK })
}
