//! `skconn import --env NAME`: writes a connector file for each live connector that no file
//! defines yet, so that connectors built by hand in the dashboard can be adopted. The next plan
//! shows each imported connector as an adoption and nothing else; applying it adds skconn's
//! marker, after which the connector is managed like any other.

use super::{connect_all, relative, Context};
use crate::base::error::{exit, Error, Result};
use crate::cli::ImportArgs;
use crate::model::Live;
use crate::output;
use crate::output::escape::inert;
use crate::plan::view;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::Path;

pub(super) async fn run(ctx: &Context, config: Option<&Path>, args: ImportArgs) -> Result<i32> {
    let settings = ctx.settings(config)?;
    let env = settings.select(std::slice::from_ref(&args.env))?[0].clone();
    // The files must be valid: they decide what is already defined.
    let desired = ctx.load(&settings)?;
    let defined: HashSet<&str> = desired
        .iter()
        .flat_map(|d| {
            std::iter::once(d.display_name.as_str())
                .chain(d.previous_names.iter().map(String::as_str))
        })
        .collect();
    let conn = connect_all(&[&env], &super::client_options(&args.http))?.remove(0);
    let live = conn.client.list().await?;
    for n in &args.names {
        if !live.iter().any(|l| &l.display_name == n) {
            return Err(Error::Usage(format!(
                "environment {} has no custom connector named \"{n}\"",
                env.name
            )));
        }
    }
    std::fs::create_dir_all(&settings.connectors_dir).map_err(|e| {
        Error::io(
            format!("cannot create {}", settings.connectors_dir.display()),
            e,
        )
    })?;
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    for l in &live {
        if !args.names.is_empty() && !args.names.contains(&l.display_name) {
            continue;
        }
        if let Some(theirs) = l.owner().filter(|o| *o != settings.owner) {
            // Another repository's skconn owns it: a file for it here would be refused.
            if !args.names.is_empty() {
                skipped.push(format!(
                    "\"{}\" is owned by `{}`, not by this repository's owner `{}`",
                    inert(&l.display_name),
                    inert(theirs),
                    settings.owner
                ));
            }
            continue;
        }
        if defined.contains(l.display_name.as_str()) {
            if !args.names.is_empty() {
                skipped.push(format!(
                    "\"{}\" is already defined by a file",
                    inert(&l.display_name)
                ));
            }
            continue;
        }
        let path = settings
            .connectors_dir
            .join(format!("{}.yaml", file_stem(&l.display_name)));
        if path.exists() && !args.force {
            skipped.push(format!(
                "\"{}\": {} exists (pass --force to overwrite it)",
                inert(&l.display_name),
                inert(&relative(&settings.root, &path))
            ));
            continue;
        }
        let text = match to_yaml_that_loads(l, &env.name) {
            Ok(text) => text,
            Err(problems) => {
                // A file that does not load would make every later plan fail: not written.
                let first: Vec<String> = problems
                    .iter()
                    .take(3)
                    .map(|d| match &d.field {
                        Some(f) => format!("{f}: {}", d.message),
                        None => d.message.clone(),
                    })
                    .collect();
                skipped.push(format!(
                    "\"{}\": it holds values skconn cannot check ({}); no file was written",
                    inert(&l.display_name),
                    inert(&first.join("; "))
                ));
                continue;
            }
        };
        if !crate::output::escape::is_inert_text(&text) {
            // A control character, bidirectional override or line separator in a value would
            // be written raw by the YAML emitter (or escaped, changing the value): no file.
            skipped.push(format!(
                "\"{}\": a value holds a control character, bidirectional override or line separator, which a connector file would hide or change; no file was written (edit it in the dashboard first)",
                inert(&l.display_name)
            ));
            continue;
        }
        output::write_file(&path, &text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        written.push(path);
    }
    for p in &written {
        output::out(&format!("wrote {}\n", inert(&relative(&settings.root, p))));
    }
    for s in &skipped {
        output::err(&format!("skipped {s}\n"));
    }
    output::out(&format!(
        "Imported {} connector(s) from environment {}; {} skipped.\n",
        written.len(),
        env.name,
        skipped.len()
    ));
    if !written.is_empty() {
        output::out(&format!(
            "They are not managed by skconn yet: `skconn plan` shows them as adoptions, and `skconn apply --env {}` adopts them (writes each once with skconn's marker, nothing else changes). Commit the files first.\n",
            env.name
        ));
    }
    // What was written must load: check it now rather than at the next plan, and say what
    // in it is valid but odd (a value skconn does not know, sent as written).
    if !written.is_empty() {
        let loaded = ctx.load_all(&settings)?;
        let theirs: Vec<crate::model::FileWarning> = loaded
            .warnings
            .into_iter()
            .filter(|w| written.contains(&settings.root.join(&w.diagnostic.file)))
            .collect();
        ctx.show_warnings(&theirs);
    }
    Ok(if skipped.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// `Asana Tasks` → `asana-tasks`.
pub fn file_stem(display_name: &str) -> String {
    crate::authoring::slug(display_name)
}

/// The canonical file for a live connector (see [`to_yaml_with`]), with the keys skconn's
/// vocabulary does not know (the server stores auth patterns as free-form JSON) listed under
/// `skconn.pass_through_keys`, so that the file validates and round-trips instead of making
/// every later plan fail. When even that does not load (a value the vocabulary refuses), the
/// problems.
pub fn to_yaml_that_loads(
    l: &Live,
    env: &str,
) -> Result<String, Vec<crate::base::error::Diagnostic>> {
    let check = |text: &str| crate::load::load_str(std::path::Path::new("imported.yaml"), text);
    let mut pass: Vec<String> = Vec::new();
    let mut text = to_yaml_with(l, env, &pass);
    // Each round may reveal keys hidden behind the per-file diagnostics cap.
    for _ in 0..8 {
        let Err(diags) = check(&text) else {
            return Ok(text);
        };
        let mut new: Vec<String> = diags
            .iter()
            .filter_map(|d| unknown_key(&d.message))
            .filter(|k| !pass.contains(k))
            .collect();
        new.sort();
        new.dedup();
        if new.is_empty() {
            return Err(diags);
        }
        pass.extend(new);
        text = to_yaml_with(l, env, &pass);
    }
    check(&text).map(|_| text)
}

/// `unknown key `foo` in auth pattern` → `foo`.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown key `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// The canonical YAML file for a live connector: API fields only, server-owned fields and
/// skconn's marker removed, zero values left out, keys in reading order.
fn to_yaml_with(l: &Live, env: &str, pass_through: &[String]) -> String {
    let body = view::readable(&l.body);
    let obj = body.as_object().cloned().unwrap_or_default();
    // `proxy_enabled: true` is the files' default; `false` (absent once normalised) is written.
    let enabled = obj.contains_key("proxy_enabled");
    let mut out = Map::new();
    for (k, v) in obj {
        if k == "proxy_enabled" {
            continue;
        }
        let after_url = k == "proxy_url";
        out.insert(k, v);
        if after_url && !enabled {
            out.insert("proxy_enabled".into(), Value::Bool(false));
        }
    }
    if !enabled {
        out.entry("proxy_enabled").or_insert(Value::Bool(false));
    }
    if !pass_through.is_empty() {
        let mut skconn = Map::new();
        skconn.insert(
            "pass_through_keys".into(),
            Value::Array(pass_through.iter().cloned().map(Value::String).collect()),
        );
        out.insert("skconn".into(), Value::Object(skconn));
    }
    let yaml = serde_yaml::to_string(&Value::Object(out)).unwrap_or_default();
    format!(
        "# yaml-language-server: $schema={}\n# Imported from environment {env} by skconn import.\n{yaml}",
        crate::vocabulary::SCHEMA_URL
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(file_stem("Asana Tasks"), "asana-tasks");
        assert_eq!(file_stem("  My  API 2 "), "my-api-2");
        assert_eq!(file_stem("   "), "connector");
    }
}
