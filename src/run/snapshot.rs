//! `skconn snapshot`: reads each selected environment's live custom connectors and their usage,
//! and writes one snapshot document per environment (`--out FILE`, `--out-dir DIR`, or
//! stdout), for `skconn plan --against`. It never writes to an environment.
//!
//! The connector files are loaded first, as for a plan (nothing is read from an environment
//! while any is invalid): they give the templates, and the values of their hidden variables
//! are masked like every secret.

use super::prepare::{connect_all, list_all};
use super::{client_options, relative, Context};
use crate::base::error::{exit, Error, Result};
use crate::cli::SnapshotArgs;
use crate::output;
use crate::settings::Target;
use crate::snapshot::{self, Snapshot};
use std::path::PathBuf;

pub(super) async fn run(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: SnapshotArgs,
) -> Result<i32> {
    let settings = ctx.settings(config)?;
    let selected = settings.select(&args.envs)?;
    if selected.len() > 1 && args.out_dir.is_none() {
        let names: Vec<&str> = selected.iter().map(|e| e.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "a snapshot is of one environment, and {} are selected ({}): name one with --env, or write one file each with --out-dir DIR",
            names.len(),
            names.join(", ")
        )));
    }
    let mut loaded = ctx.load_all(&settings)?;
    let connections = connect_all(&selected, &client_options(&args.http))?;
    // When the listing began: the snapshot shows the state at least this recent.
    let taken_at = crate::base::time::unix_secs(std::time::SystemTime::now());
    let lives = list_all(&connections).await?;
    let mut set = tokio::task::JoinSet::new();
    for (i, (c, live)) in connections.iter().zip(&lives).enumerate() {
        if !c.env.usage {
            continue;
        }
        let identifiers = live.iter().map(|l| l.identifier.clone()).collect();
        let budget = c.env.parallelism.unwrap_or(super::DEFAULT_PARALLELISM);
        let client = c.client.clone();
        set.spawn(async move {
            (
                i,
                super::usage::look_up_all(client, identifiers, budget).await,
            )
        });
    }
    let mut usage: Vec<Option<_>> = (0..connections.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, found) =
            joined.map_err(|e| Error::Local(format!("a usage look-up worker stopped: {e}")))?;
        usage[i] = Some(found);
    }
    let mut written = Vec::new();
    for ((c, live), usage) in connections.iter().zip(lives).zip(&usage) {
        let desired = loaded.per_env.remove(&c.env.name).unwrap_or_default();
        let variables = masked_variables(&desired, &loaded.masked);
        let host = match &c.env.target {
            Target::Local { .. } => snapshot::LOCAL_HOST.to_string(),
            Target::Remote(_) => snapshot::host_of(c.client.url()),
        };
        let count = live.len();
        let s = snapshot::take(snapshot::Taken {
            environment: &c.env.name,
            host,
            taken_at,
            owner: &settings.owner,
            live,
            usage: usage.as_ref(),
            desired: &desired,
            variables: &variables,
            mask: &c.mask_key(),
        });
        let to = write(&args, &settings.root, &s)?;
        written.push((c.env.name.clone(), count, to));
    }
    if !ctx.quiet {
        for (env, count, to) in &written {
            output::err(&format!(
                "{} Wrote the snapshot of {env} ({count} connector(s), taken {}) to {}.\n",
                ctx.err_style.green("✓"),
                crate::base::time::readable(taken_at),
                to.as_deref().unwrap_or("standard output")
            ));
        }
    }
    Ok(exit::OK)
}

/// Writes one snapshot where the arguments say; returns where, as users see it (`None`:
/// standard output).
fn write(args: &SnapshotArgs, root: &std::path::Path, s: &Snapshot) -> Result<Option<String>> {
    let text = s.to_text();
    let path: Option<PathBuf> = match (&args.out, &args.out_dir) {
        (Some(file), _) => Some(file.clone()),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            Some(dir.join(format!("{}.snapshot.json", s.environment)))
        }
        (None, None) => None,
    };
    match &path {
        Some(p) => output::write_file(p, &text)
            .map_err(|e| Error::io(format!("cannot write the snapshot to {}", p.display()), e))?,
        None => output::out(&text),
    }
    Ok(path.map(|p| {
        let abs = std::env::current_dir().map_or(p.clone(), |d| d.join(&p));
        relative(root, &abs)
    }))
}

/// The masked variables these connectors use: `(name, value)` of every variable whose value
/// is masked (not in `show_vars`), as this process expands them.
fn masked_variables(desired: &[crate::model::Desired], masked: &[String]) -> Vec<(String, String)> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut out: Vec<(String, String)> = Vec::new();
    if masked.is_empty() {
        return out;
    }
    for d in desired {
        let mut places = Vec::new();
        crate::model::string_places(d.written(), &d.body, String::new(), &mut places);
        for (_, written, _) in places.into_iter().filter(|(_, w, _)| w.contains("${")) {
            for pair in crate::settings::expand_all(written, &lookup).used {
                if masked.contains(&pair.1) && !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}
