//! The commands: each resolves settings, drives load → remote → plan → render / apply, and
//! returns an exit code (`init`, `completions` and `man` resolve no settings at all). This is the
//! only layer that sees all the others. Each command's wiring lives in a file of its own; this
//! file holds only the dispatch and what every command shares.

use crate::base::error::{exit, Error, Result};
use crate::cli::{Cli, Command, HttpArgs, SafetyArgs, SchemaKind};
use crate::model::Desired;
use crate::output::{self, Style};
use crate::plan::safety::Overrides;
use crate::remote::ClientOptions;
use crate::render;
use crate::settings::Settings;

mod apply;
mod approval;
mod compare;
mod docs;
mod doctor;
mod emulator;
mod forced;
mod github;
mod gitlab;
mod import;
mod init;
mod interrupt;
mod mcp;
mod new;
mod plan;
mod prepare;
mod saved;
mod snapshot;
mod usage;

pub use apply::DEFAULT_PARALLELISM;
use prepare::{connect_all, list_all};

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> Result<i32> {
    let style = Style {
        color: output::use_color(cli.color, output::stdout_is_terminal()),
    };
    let err_style = Style {
        color: output::use_color(cli.color, output::stderr_is_terminal()),
    };
    let ctx = Context {
        style,
        err_style,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    if !matches!(cli.command, Command::Emulator(_)) {
        interrupt::install();
    }
    match cli.command {
        Command::Emulator(args) => emulator::run(args).await,
        Command::Init(args) => init::run(&ctx, args),
        Command::Completions(args) => docs::completions(args.shell),
        Command::Man => docs::man(),
        Command::Validate => {
            let settings = ctx.project(cli.config.as_deref())?;
            let loaded = ctx.load_all(&settings)?;
            ctx.show_warnings(&loaded.warnings);
            if !ctx.quiet {
                output::out(&format!(
                    "{} {} connector file(s) in {} are valid.\n",
                    style.green("✓"),
                    loaded.connectors.len(),
                    relative(&settings.root, &settings.connectors_dir)
                ));
            }
            Ok(exit::OK)
        }
        Command::Plan(args) => plan::run(&ctx, cli.config.as_deref(), args).await,
        Command::Compare(args) => compare::run(&ctx, cli.config.as_deref(), args).await,
        Command::Doctor(args) => doctor::run(&ctx, cli.config.as_deref(), args).await,
        Command::Import(args) => import::run(&ctx, cli.config.as_deref(), args).await,
        Command::New(args) => new::run(&ctx, cli.config.as_deref(), args).await,
        Command::Snapshot(args) => snapshot::run(&ctx, cli.config.as_deref(), args).await,
        Command::Schema(args) => {
            output::out(&match args.which {
                SchemaKind::Connector => crate::vocabulary::schema::schema_text(),
                SchemaKind::Config => crate::vocabulary::schema::config_schema_text(),
                SchemaKind::Snapshot => crate::snapshot::schema::text(),
            });
            Ok(exit::OK)
        }
        Command::Apply(args) => apply::run(&ctx, cli.config.as_deref(), args).await,
        Command::Github(args) => github::run(&ctx, args).await,
        Command::Gitlab(args) => gitlab::run(&ctx, args).await,
        Command::Mcp(args) => mcp::run(ctx, cli.config, args).await,
    }
}

struct Context {
    style: Style,
    err_style: Style,
    quiet: bool,
    verbose: u8,
}

/// The HTTP client's options from the command's HTTP flags.
fn client_options(http: &HttpArgs) -> ClientOptions {
    ClientOptions {
        timeout: std::time::Duration::from_secs(http.timeout.max(1)),
        max_attempts: http.max_attempts.max(1),
        deadline: std::time::Duration::from_secs(http.deadline.max(1)),
        max_wait: std::time::Duration::from_secs(http.max_wait),
        ca_files: http.ca_file.iter().cloned().collect(),
        ..ClientOptions::default()
    }
}

impl Context {
    /// The settings; and, before anything can print them, the values of every variable named
    /// like a secret are registered for redaction (skconn.yaml's credentials are registered
    /// while it is read), whether or not any environment of this command uses them.
    fn settings(&self, config: Option<&std::path::Path>) -> Result<Settings> {
        crate::settings::credentials::register_secret_variables(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        );
        Settings::resolve(config, &|k| std::env::var(k).ok())
    }

    /// The settings of a command that needs a project: a skconn.yaml, or at least a connectors
    /// folder (the quick start's). In any other folder it fails, saying where it looked and
    /// suggesting `skconn init`, before anything is created or sent.
    fn project(&self, config: Option<&std::path::Path>) -> Result<Settings> {
        let settings = self.settings(config)?;
        if settings.config_file.is_some() || settings.connectors_dir.exists() {
            return Ok(settings);
        }
        let searched = crate::settings::file::searched(&settings.root);
        Err(Error::Usage(format!(
            "no skconn.yaml here: none in {searched}, and no connectors folder in {}; \
             run `skconn init` to start a repository of connectors here, or run skconn where \
             yours is (or pass --config)",
            settings.root.display()
        )))
    }

    /// Loads the connector files for every configured environment (overrides merged,
    /// `${VAR}`s expanded); the loader registers the values that came from hidden variables
    /// for redaction, so that no output shows them.
    fn load_all(&self, settings: &Settings) -> Result<crate::load::Loaded> {
        self.load_all_with(settings, &[])
    }

    /// Like [`Context::load_all`]; in the environments `unknown_in`, a variable that is not
    /// set is an unknown value (see `load::LoadOptions::unknown_in`).
    fn load_all_with(
        &self,
        settings: &Settings,
        unknown_in: &[String],
    ) -> Result<crate::load::Loaded> {
        let report = load_report(settings, unknown_in);
        // With problems, the warnings come in the same run; without, `validate` shows them and
        // plans show each beside its connector's change.
        let loaded = report
            .loaded
            .inspect_err(|_| self.show_warnings(&report.warnings));
        let loaded = loaded.map_err(Error::Input)?;
        for f in &loaded.ignored {
            tracing::info!("ignored {} (not a .yaml or .yml file)", f.display());
        }
        if loaded.dir_missing {
            tracing::warn!(
                "the connectors folder {} does not exist: no connectors are defined",
                settings.connectors_dir.display()
            );
        }
        Ok(loaded)
    }

    /// Prints warnings about connector files (stderr; GitHub annotations in GitHub Actions).
    fn show_warnings(&self, warnings: &[crate::model::FileWarning]) {
        if warnings.is_empty() {
            return;
        }
        output::err(&render::text::file_warnings(warnings, &self.err_style));
        if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
            render::text::github_warning_annotations(warnings);
        }
    }

    /// The connectors as the files define them, without overrides (all environments checked).
    fn load(&self, settings: &Settings) -> Result<Vec<Desired>> {
        self.load_all(settings).map(|l| l.connectors)
    }
}

/// Every connector file read and checked for every environment of `settings`, with the
/// problems and the warnings (nothing printed): the one way commands load files. In the
/// environments `unknown_in`, a variable that is not set is an unknown value.
fn load_report(settings: &Settings, unknown_in: &[String]) -> crate::load::Report {
    let environments: Vec<String> = settings
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let lookup = |k: &str| std::env::var(k).ok();
    let opts = crate::load::LoadOptions {
        environments: &environments,
        lookup: &lookup,
        show_vars: &settings.show_vars,
        credential_vars: &settings.credential_vars,
        unknown_in,
    };
    crate::load::load_dir_reporting(&settings.root, &settings.connectors_dir, &opts)
}

fn overrides(a: SafetyArgs) -> Overrides {
    Overrides {
        force: a.force,
        allow_empty: a.allow_empty,
    }
}

fn step_summary(markdown: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let written = output::append_file(std::path::Path::new(&path), &format!("{markdown}\n"));
    if let Err(e) = written {
        tracing::warn!(
            "cannot write the job summary to {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

fn refuse(refusals: &[crate::plan::Refusal]) -> Error {
    let mut msg = String::from("the plan was refused as unsafe; nothing was changed:");
    for r in refusals {
        msg.push_str("\n  - ");
        msg.push_str(&r.to_string());
    }
    Error::Unsafe(msg)
}

/// A path as users see it: relative to the repository root when it is inside it.
fn relative(root: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Prints an error the way every command does, and returns its exit code.
/// An error's message followed by its causes (`caused by: …`, one a line), server-supplied text
/// made inert.
fn with_causes(e: &Error) -> String {
    let mut msg = crate::output::escape::inert_lines(&e.to_string()).into_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        msg.push_str(&format!(
            "\n  caused by: {}",
            crate::output::escape::inert_lines(&text)
        ));
        source = s.source();
    }
    msg
}

pub fn report_error(e: &Error, color: crate::cli::ColorChoice) -> i32 {
    let style = Style {
        color: output::use_color(color, output::stderr_is_terminal()),
    };
    if let Error::Input(list) = e {
        output::err(&render::text::diagnostics(list, &style));
        if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
            render::text::github_annotations(list);
        }
    }
    let msg = format!("{} {}", style.red("error:"), with_causes(e));
    output::err(&format!("{msg}\n"));
    e.exit_code()
}
