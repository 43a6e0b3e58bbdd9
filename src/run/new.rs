//! `skconn new`: wires the authoring module to the command line — reads or probes the source,
//! asks for missing answers in a terminal (or names the flags that give them), validates the
//! file with the loader, and writes it without ever overwriting one. Sends nothing to any
//! Scalekit environment.

use super::{relative, Context};
use crate::authoring::{
    self, fetch, mcp, openapi, template, writer, Draft, Kind, NoteKind, Slot, Stop,
};
use crate::base::error::{exit, Error, Result};
use crate::cli::{AuthType, NewArgs};
use crate::output;
use crate::output::escape;
use std::path::Path;

/// The answers a draft needs; flags first, then the terminal.
#[derive(Debug, Default)]
struct Answers {
    name: Option<String>,
    kind: Option<Kind>,
    header: Option<String>,
    scheme: Option<String>,
}

enum Source {
    Template,
    OpenApi(fetch::Source),
    Mcp(Box<mcp::Probe>),
}

/// A connector file made by `new`, checked and not yet written.
pub(super) struct NewFile {
    /// The file's text, as it is written.
    pub(super) text: String,
    /// What it was made from, with its notes (decisions, heuristics, warnings).
    pub(super) draft: Draft,
    /// Where it is written (`None`: `--stdout`).
    pub(super) target: Option<std::path::PathBuf>,
    /// The target as users see it: relative to the repository root.
    pub(super) shown: String,
}

pub(super) async fn run(ctx: &Context, config: Option<&Path>, args: NewArgs) -> Result<i32> {
    let interactive = output::stdin_is_terminal() && output::stderr_is_terminal();
    let file = make(ctx, config, &args, interactive).await?;
    report_notes(ctx, &file.draft, args.explain);
    match &file.target {
        None => output::out(&file.text),
        Some(_) => {
            write(&file)?;
            output::out(&format!("wrote {}\n", file.shown));
            if !ctx.quiet {
                let fill = file.text.matches("FILL IN").count();
                output::err(&format!(
                    "Next: {}review it, then `skconn plan`.\n",
                    if fill > 0 {
                        format!("fill in the {fill} value(s) marked FILL IN, ")
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    Ok(exit::OK)
}

/// Writes the file `make` made to its target, which must not exist yet.
pub(super) fn write(file: &NewFile) -> Result<()> {
    match &file.target {
        Some(path) => write_new(path, &file.text, &file.shown),
        None => Ok(()),
    }
}

/// Makes the connector file of `args`: reads or probes the source, asks for missing answers
/// when `interactive` (otherwise names the flags that give them), and checks that the file
/// loads and that no other file defines its name. Writes nothing.
pub(super) async fn make(
    ctx: &Context,
    config: Option<&Path>,
    args: &NewArgs,
    interactive: bool,
) -> Result<NewFile> {
    // The repository's layout only: `new` talks to no environment and needs no credentials.
    let settings = ctx.settings(config)?;
    let (root, connectors_dir) = (settings.root, settings.connectors_dir);
    let timeout = std::time::Duration::from_secs(args.timeout.max(1));
    let mut answers = Answers {
        name: args.name.clone().or(args.display_name.clone()),
        kind: args.kind.map(kind),
        header: args.header.clone(),
        scheme: args.scheme.clone(),
    };
    if let Some(n) = &answers.name {
        check_name(n)?;
    }
    if answers.header.is_some() && !matches!(answers.kind, None | Some(Kind::ApiKey)) {
        return Err(Error::Usage(
            "--header applies only to --type api-key (the header the key is sent in)".into(),
        ));
    }

    let source = if let Some(src) = &args.from_openapi {
        Source::OpenApi(fetch::read(src, timeout).await.map_err(Error::Usage)?)
    } else if let Some(url) = &args.from_mcp {
        // Everything that refuses the URL does so before anything is sent.
        let parsed = fetch::check_url(url).map_err(Error::Usage)?;
        let shown = crate::output::escape::url(url);
        if args.proxy_url.is_none() {
            if let Some(refusal) = mcp::needs_proxy_url(&shown, &fetch::bare(&parsed)) {
                return Err(Error::Usage(refusal));
            }
        }
        if !ctx.quiet {
            output::err(&format!("Probing {shown} without credentials…\n"));
        }
        Source::Mcp(Box::new(
            mcp::probe(url, timeout).await.map_err(Error::Usage)?,
        ))
    } else {
        template_answers(&mut answers, interactive)?;
        Source::Template
    };

    let mut proxy_url = args.proxy_url.clone();
    if matches!(source, Source::Template) && proxy_url.is_none() && interactive {
        let u: String = dialoguer::Input::new()
            .with_prompt("Base URL of the API (https; empty: fill it in later)")
            .allow_empty(true)
            .interact_text()
            .map_err(prompt_error)?;
        proxy_url = Some(u.trim().to_string()).filter(|u| !u.is_empty());
    }

    let draft = loop {
        let attempt = match &source {
            Source::Template => Ok(template::build(&template::Input {
                display_name: answers.name.clone().unwrap_or_default(),
                kind: answers.kind.unwrap_or(Kind::Bearer),
                mcp: args.mcp,
                proxy_url: proxy_url.clone(),
                header: answers.header.clone(),
            })),
            Source::OpenApi(src) => openapi::derive(
                &src.label,
                &src.bytes,
                &openapi::Options {
                    scheme: answers.scheme.clone(),
                    kind: answers.kind,
                    name: answers.name.clone(),
                    base_url: args.base_url.clone(),
                    proxy_url: proxy_url.clone(),
                    mcp: args.mcp,
                    header: answers.header.clone(),
                },
            ),
            Source::Mcp(probe) => mcp::build(
                probe,
                &mcp::Options {
                    name: answers.name.clone(),
                    kind: answers.kind,
                    header: answers.header.clone(),
                    proxy_url: proxy_url.clone(),
                },
            ),
        };
        // Refusals and questions quote documents and servers: inert, like every note.
        match attempt {
            Ok(d) => break d,
            Err(Stop::Refuse(m)) => return Err(Error::Usage(escape::inert(&m).into_owned())),
            Err(Stop::Choose(c)) => {
                if !interactive {
                    return Err(Error::Usage(format!(
                        "{}\n(no terminal to ask in: pass {})",
                        escape::inert(&c.message),
                        c.slot.flag()
                    )));
                }
                let options: Vec<(String, String)> = c
                    .options
                    .iter()
                    .map(|(v, l)| (v.clone(), escape::inert(l).into_owned()))
                    .collect();
                let answer = ask(&escape::inert(&c.question), &options)?;
                match c.slot {
                    Slot::Scheme => answers.scheme = Some(answer),
                    Slot::Type => answers.kind = Kind::from_flag(&answer),
                    Slot::Header => answers.header = Some(answer),
                    Slot::Name => {
                        check_name(&answer)?;
                        answers.name = Some(answer)
                    }
                }
            }
        }
    };

    let target = if args.stdout {
        None
    } else {
        Some(match &args.out {
            Some(p) => p.clone(),
            None => connectors_dir.join(format!("{}.yaml", authoring::slug(draft.display_name()))),
        })
    };
    let schema_at = target
        .clone()
        .unwrap_or_else(|| connectors_dir.join("new.yaml"));
    let text = writer::render(&draft, &writer::schema_line(&root, &schema_at));
    let shown = target
        .as_deref()
        .map(|t| relative(&root, t))
        .unwrap_or_else(|| "(stdout)".into());

    // What is written must load.
    crate::load::load_str(Path::new(&shown), &text).map_err(Error::Input)?;
    if let Some(other) = defined_elsewhere(&root, &connectors_dir, draft.display_name()) {
        return Err(Error::Usage(format!(
            "{other} already defines a connector named \"{}\"; pick another display name (first argument or --name)",
            draft.display_name()
        )));
    }
    Ok(NewFile {
        text,
        draft,
        target,
        shown,
    })
}

fn kind(t: AuthType) -> Kind {
    match t {
        AuthType::Oauth => Kind::Oauth,
        AuthType::Basic => Kind::Basic,
        AuthType::Bearer => Kind::Bearer,
        AuthType::ApiKey => Kind::ApiKey,
        AuthType::NoAuth => Kind::NoAuth,
    }
}

fn check_name(n: &str) -> Result<()> {
    let clean = authoring::sanitize_name(n);
    if clean == n && !n.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "display name \"{n}\": only letters, digits and spaces are allowed (at most 200 characters){}",
        if clean.is_empty() {
            String::new()
        } else {
            format!(", e.g. \"{clean}\"")
        }
    )))
}

/// The template's required answers: asked in a terminal, otherwise all named in one error.
fn template_answers(a: &mut Answers, interactive: bool) -> Result<()> {
    let types = Kind::ALL.map(Kind::flag).join("|");
    if !interactive {
        let mut missing = Vec::new();
        if a.name.is_none() {
            missing.push(
                "the display name as the first argument (e.g. \"Acme CRM\") or --name NAME"
                    .to_string(),
            );
        }
        if a.kind.is_none() {
            missing.push(format!("--type {types}"));
        }
        if missing.is_empty() {
            return Ok(());
        }
        return Err(Error::Usage(format!(
            "skconn new needs answers that no terminal can be asked for here; pass:\n  - {}\n(or --from-openapi PATH|URL, or --from-mcp URL)",
            missing.join("\n  - ")
        )));
    }
    if a.name.is_none() {
        let n: String = dialoguer::Input::new()
            .with_prompt("Display name (letters, digits and spaces)")
            .validate_with(|s: &String| check_name(s).map_err(|e| e.to_string()))
            .interact_text()
            .map_err(prompt_error)?;
        a.name = Some(n);
    }
    if a.kind.is_none() {
        let options: Vec<(String, String)> = Kind::ALL
            .iter()
            .map(|k| {
                (
                    k.flag().to_string(),
                    format!("{} ({})", k.flag(), k.api_type()),
                )
            })
            .collect();
        a.kind = Kind::from_flag(&ask("Auth pattern", &options)?);
    }
    if a.kind == Some(Kind::ApiKey) && a.header.is_none() {
        let h: String = dialoguer::Input::new()
            .with_prompt("Header the key is sent in")
            .default("Authorization".into())
            .interact_text()
            .map_err(prompt_error)?;
        a.header = Some(h);
    }
    Ok(())
}

fn ask(question: &str, options: &[(String, String)]) -> Result<String> {
    if options.is_empty() {
        return dialoguer::Input::<String>::new()
            .with_prompt(question)
            .interact_text()
            .map_err(prompt_error);
    }
    let labels: Vec<&str> = options.iter().map(|o| o.1.as_str()).collect();
    let i = dialoguer::Select::new()
        .with_prompt(question)
        .items(&labels)
        .default(0)
        .interact()
        .map_err(prompt_error)?;
    Ok(options[i].0.clone())
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::Usage(format!("no answer: {e}"))
}

/// The file under the connectors folder that already uses `name` as its display name or a
/// previous name. Read leniently: a file that does not parse is left to `validate`.
fn defined_elsewhere(root: &Path, dir: &Path, name: &str) -> Option<String> {
    connector_files(dir).into_iter().find_map(|p| {
        let meta = std::fs::metadata(&p).ok()?;
        if meta.len() > crate::yaml::MAX_FILE_BYTES {
            return None;
        }
        let v: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
        let same = v.get("display_name").and_then(|n| n.as_str()) == Some(name)
            || v.get("skconn")
                .and_then(|s| s.get("previous_names"))
                .and_then(|l| l.as_sequence())
                .is_some_and(|l| l.iter().any(|n| n.as_str() == Some(name)));
        same.then(|| relative(root, &p))
    })
}

/// The connector files under `dir` (not hidden, `.yaml` or `.yml`), in path order; symbolic
/// links to folders are not followed.
pub(super) fn connector_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if crate::load::is_connector_file(&p) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn report_notes(ctx: &Context, d: &Draft, explain: bool) {
    let s = &ctx.err_style;
    let mut text = String::new();
    // A note quotes documents and servers: each is one line, inert (CR is a line break too).
    if explain {
        for n in &d.notes {
            let tag = match n.kind {
                NoteKind::Decision => s.cyan("decision:"),
                NoteKind::Heuristic => s.yellow("heuristic:"),
                NoteKind::Warning => continue,
            };
            text.push_str(&format!("{tag} {}\n", escape::inert(&n.text)));
        }
    }
    if !ctx.quiet || explain {
        for w in d.notes_of(NoteKind::Warning) {
            text.push_str(&format!("{} {}\n", s.yellow("warning:"), escape::inert(w)));
        }
    }
    if !text.is_empty() {
        output::err(&text);
    }
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str, shown: &str) -> Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    }
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage(format!(
                "{shown} already exists; skconn new never overwrites a file: pass --out FILE, another display name, or --stdout"
            )))
        }
        Err(e) => return Err(Error::io(format!("cannot write {shown}"), e)),
    };
    f.write_all(crate::output::secret::redact(text).as_bytes())
        .map_err(|e| Error::io(format!("cannot write {shown}"), e))
}
