//! `skconn compare ENV_A ENV_B`: how two environments' live connectors differ, by display name,
//! in its own text, Markdown and JSON forms (see `render::compare`).

use super::{connect_all, list_all, Context};
use crate::base::error::{exit, Error, Result};
use crate::cli::{CompareArgs, Format};
use crate::output;
use crate::plan::compare::compare;
use crate::render;

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: CompareArgs,
) -> Result<i32> {
    if args.format != Format::Text {
        crate::output::stdout_is_a_document();
    }
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
    let client = super::client_options(&args.http);
    let connections = connect_all(&envs.iter().collect::<Vec<_>>(), &client)?;
    let lives = list_all(&connections).await?;
    let c = compare(&args.a, &lives[0], &args.b, &lives[1]);
    let text = match args.format {
        Format::Text => render::compare::text(&c, &ctx.style),
        Format::Markdown => render::compare::markdown(&c),
        Format::Json => {
            let mut s =
                serde_json::to_string_pretty(&render::compare::json(&c)).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    output::out(&text);
    Ok(if c.differs() { exit::CHANGES } else { exit::OK })
}
