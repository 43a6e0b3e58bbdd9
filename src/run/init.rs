//! `skconn init`: starts a connectors repository with the files `scaffold` renders. Needs no
//! settings and no credentials, and never overwrites a file.

use crate::base::error::{exit, Error, Result};
use crate::cli::{CiChoice, InitArgs};
use crate::output;
use crate::scaffold::{self, Ci, Options};

use super::Context;

pub(super) fn run(ctx: &Context, args: InitArgs) -> Result<i32> {
    let environments = if args.envs.is_empty() {
        scaffold::DEFAULT_ENVIRONMENTS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.envs
    };
    scaffold::check_environments(&environments).map_err(Error::Usage)?;
    let live = scaffold::live_environments(&environments, &args.live).map_err(Error::Usage)?;
    let opts = Options {
        environments,
        live,
        ci: match args.ci {
            CiChoice::Github => Ci::Github,
            CiChoice::Gitlab => Ci::Gitlab,
            CiChoice::None => Ci::None,
        },
    };
    let dir = args.dir;
    let outcome = scaffold::write(&dir, &scaffold::files(&opts)).map_err(|e| {
        Error::io(
            format!("cannot write the repository files in {}", dir.display()),
            e,
        )
    })?;
    let style = ctx.style;
    let shown = dir.display().to_string();
    let mut out = String::new();
    for path in &outcome.written {
        out.push_str(&format!("{} {path}\n", style.green("created")));
    }
    for path in &outcome.skipped {
        out.push_str(&format!(
            "{} {path} (exists; left as it is)\n",
            style.yellow("skipped")
        ));
    }
    if outcome.skipped.iter().any(|p| p == ".gitignore") && !ignores_state(&dir) {
        out.push_str(&format!(
            "{} .gitignore does not ignore .skconn/ (local state and locks); add a line `.skconn/`\n",
            style.yellow("note:")
        ));
    }
    if outcome.written.is_empty() {
        out.push_str(&format!(
            "\nNothing written: every file exists already in {shown}.\n"
        ));
    } else {
        out.push_str(&format!(
            "\nStarted a connectors repository in {}.\n",
            if shown == "." {
                "the current folder"
            } else {
                &shown
            }
        ));
    }
    if !ctx.quiet {
        out.push('\n');
        out.push_str(&scaffold::next_steps(&opts, &shown));
    }
    output::out(&out);
    Ok(exit::OK)
}

/// Whether the repository's existing `.gitignore` already ignores `.skconn/`.
fn ignores_state(dir: &std::path::Path) -> bool {
    std::fs::read_to_string(dir.join(".gitignore"))
        .map(|text| {
            text.lines().any(|l| {
                matches!(
                    l.trim(),
                    ".skconn" | ".skconn/" | "/.skconn" | "/.skconn/" | ".skconn/*"
                )
            })
        })
        .unwrap_or(false)
}
