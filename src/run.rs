//! The commands: each resolves settings, drives load → remote → plan → render / apply, and
//! returns an exit code. This is the only layer that sees all the others.

use crate::apply::{self, EnvOutcome};
use crate::cli::{ApplyArgs, Cli, Command, EmulatorArgs, PlanArgs};
use crate::emulator::{self, Emulator};
use crate::error::{exit, Error, Result};
use crate::model::Desired;
use crate::output::{self, Style};
use crate::plan::{self, EnvPlan, Plan};
use crate::remote::{Client, ClientOptions, Endpoint};
use crate::render;
use crate::secret::Secret;
use crate::settings::{Environment, Settings, Target};
use std::sync::Arc;

/// How many writes are in flight at once per environment.
pub const DEFAULT_PARALLELISM: usize = 8;

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
    };
    match cli.command {
        Command::Emulator(args) => run_emulator(args).await,
        Command::Validate => {
            let settings = ctx.settings(cli.config.as_deref())?;
            let desired = ctx.load(&settings)?;
            if !ctx.quiet {
                output::out(&format!(
                    "{} {} connector file(s) in {} are valid.\n",
                    style.green("✓"),
                    desired.len(),
                    relative(&settings, &settings.connectors_dir)
                ));
            }
            Ok(exit::OK)
        }
        Command::Plan(args) => run_plan(&ctx, cli.config.as_deref(), args).await,
        Command::Apply(args) => run_apply(&ctx, cli.config.as_deref(), args).await,
    }
}

struct Context {
    style: Style,
    err_style: Style,
    quiet: bool,
}

impl Context {
    fn settings(&self, config: Option<&std::path::Path>) -> Result<Settings> {
        Settings::resolve(config, &|k| std::env::var(k).ok())
    }

    fn load(&self, settings: &Settings) -> Result<Vec<Desired>> {
        crate::load::load_dir(&settings.root, &settings.connectors_dir).map_err(Error::Input)
    }
}

/// An environment made reachable: its client, and the embedded emulator behind it if local.
struct Connection {
    env: Environment,
    client: Arc<Client>,
    _emulator: Option<Emulator>,
}

fn connect(env: &Environment) -> Result<Connection> {
    let (endpoint, emulator) = match &env.target {
        Target::Remote {
            url,
            client_id,
            client_secret,
        } => (
            Endpoint {
                env: env.name.clone(),
                url: url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            },
            None,
        ),
        Target::Local { state_file } => {
            let secret = Secret::new(format!("local-{:016x}", fastrand::u64(..)));
            let config = emulator::Config {
                client_id: "skconn-local".into(),
                client_secret: secret.expose().to_string(),
                state_file: Some(state_file.clone()),
                ..emulator::Config::default()
            };
            if let Some(dir) = state_file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            }
            let emu = Emulator::spawn(config).map_err(|e| Error::Local(e.to_string()))?;
            let url = url::Url::parse(&emu.url()).map_err(|e| Error::Local(e.to_string()))?;
            (
                Endpoint {
                    env: env.name.clone(),
                    url,
                    client_id: "skconn-local".into(),
                    client_secret: secret,
                },
                Some(emu),
            )
        }
    };
    let client = Client::new(endpoint, ClientOptions::default())?;
    Ok(Connection {
        env: env.clone(),
        client: Arc::new(client),
        _emulator: emulator,
    })
}

/// Lists every environment concurrently and plans each. All environments are tried; if any
/// fails, the errors of all are reported together.
async fn make_plan(connections: &[Connection], desired: &[Desired]) -> Result<Plan> {
    let mut set = tokio::task::JoinSet::new();
    for (i, c) in connections.iter().enumerate() {
        let client = c.client.clone();
        set.spawn(async move { (i, client.list().await) });
    }
    let mut lists: Vec<Option<_>> = (0..connections.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.map_err(|e| Error::Local(format!("a listing worker stopped: {e}")))?;
        lists[i] = Some(r);
    }
    let mut environments = Vec::new();
    let mut first_error = None;
    for (c, list) in connections.iter().zip(lists) {
        match list.expect("every environment was listed") {
            Ok(live) => environments.push(plan::diff_env(&c.env.name, desired, &live, c.env.prune)),
            Err(e) => {
                if first_error.is_some() {
                    output::err(&format!("error: {e}\n"));
                } else {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(Plan { environments }),
    }
}

async fn prepare(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
) -> Result<(Settings, Vec<Connection>, Plan)> {
    let settings = ctx.settings(config)?;
    let selected = settings.select(envs)?;
    // Nothing is sent anywhere until every input file is valid.
    let desired = ctx.load(&settings)?;
    let connections = selected.into_iter().map(connect).collect::<Result<Vec<_>>>()?;
    let plan = make_plan(&connections, &desired).await?;
    Ok((settings, connections, plan))
}

async fn run_plan(ctx: &Context, config: Option<&std::path::Path>, args: PlanArgs) -> Result<i32> {
    let (_settings, _connections, plan) = prepare(ctx, config, &args.envs).await?;
    output::out(&render::text::plan(&plan, &ctx.style));
    Ok(if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

async fn run_apply(ctx: &Context, config: Option<&std::path::Path>, args: ApplyArgs) -> Result<i32> {
    let (_settings, connections, plan) = prepare(ctx, config, &args.envs).await?;
    output::out(&render::text::plan(&plan, &ctx.style));
    if !plan.has_changes() {
        output::out("Nothing to apply: every environment matches the files.\n");
        return Ok(exit::OK);
    }
    confirm(ctx, args.auto_approve)?;
    let progress_on = output::stderr_is_terminal() && !ctx.quiet;
    let mut outcomes: Vec<EnvOutcome> = Vec::new();
    let mut stop: Option<String> = None;
    for (conn, env_plan) in connections.iter().zip(&plan.environments) {
        if let Some(why) = &stop {
            outcomes.push(EnvOutcome::skipped(env_plan, why));
            continue;
        }
        if !env_plan.has_changes() {
            continue;
        }
        let outcome = apply_one(conn, env_plan, progress_on).await;
        if !outcome.all_applied() {
            stop = Some(format!("environment {} failed first", env_plan.name));
        }
        outcomes.push(outcome);
    }
    output::out(&format!("\n{}", render::text::outcome(&outcomes, &ctx.style)));
    let applied: usize = outcomes.iter().map(|o| o.counts().0).sum();
    let failed = outcomes.iter().any(|o| !o.all_applied());
    Ok(match (failed, applied) {
        (false, _) => exit::OK,
        (true, 0) => exit::ERROR,
        (true, _) => exit::PARTIAL,
    })
}

async fn apply_one(conn: &Connection, env_plan: &EnvPlan, progress_on: bool) -> EnvOutcome {
    let name = env_plan.name.clone();
    let progress = Arc::new(output::Progress::new(progress_on));
    let p = progress.clone();
    let on_progress: apply::OnProgress = Arc::new(move |done, total| {
        p.update(&format!("{name}: applied {done}/{total}"));
    });
    let outcome = apply::apply_env(conn.client.clone(), env_plan, DEFAULT_PARALLELISM, on_progress).await;
    progress.finish();
    outcome
}

fn confirm(ctx: &Context, auto_approve: bool) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !output::stdin_is_terminal() {
        return Err(Error::NotApproved(
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan above and pass --auto-approve to apply it (as CI does)".into(),
        ));
    }
    output::err(&format!(
        "{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        ctx.err_style.bold("Do you want to apply these changes?")
    ));
    match output::read_line().as_deref() {
        Some("yes") => Ok(()),
        _ => Err(Error::NotApproved("apply cancelled: nothing was changed".into())),
    }
}

async fn run_emulator(args: EmulatorArgs) -> Result<i32> {
    let generated = args.client_secret.is_none();
    let secret = args
        .client_secret
        .unwrap_or_else(|| format!("emu-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)));
    let mut faults = Vec::new();
    for spec in &args.faults {
        faults.push(
            spec.parse::<emulator::Fault>()
                .map_err(|e| Error::Usage(format!("--fault {spec}: {e}")))?,
        );
    }
    let _ = faults; // wired once the emulator takes faults at start
    let config = emulator::Config {
        listen: args.listen,
        client_id: args.client_id.clone(),
        client_secret: secret.clone(),
        state_file: args.state.clone(),
        max_page_size: args.max_page_size.max(1),
        token_ttl: std::time::Duration::from_secs(args.token_ttl),
        latency: std::time::Duration::from_millis(args.latency_ms),
        ..emulator::Config::default()
    };
    let client_id = args.client_id;
    emulator::Emulator::serve(config, move |addr| {
        // The emulator's own credentials are printed on purpose: they are what a user needs to
        // point skconn at it. A generated secret is new on every start.
        let shown = if generated { secret.clone() } else { "(as given)".to_string() };
        #[allow(clippy::print_stdout)]
        {
            println!("skconn emulator listening on http://{addr}");
            println!("  SCALEKIT_ENVIRONMENT_URL=http://{addr}");
            println!("  SCALEKIT_CLIENT_ID={client_id}");
            println!("  SCALEKIT_CLIENT_SECRET={shown}");
            println!("Press Ctrl-C to stop.");
        }
    })
    .await
    .map_err(|e| Error::Local(e.to_string()))?;
    Ok(exit::OK)
}

fn relative(settings: &Settings, path: &std::path::Path) -> String {
    path.strip_prefix(&settings.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Prints an error the way every command does, and returns its exit code.
pub fn report_error(e: &Error, color: crate::cli::ColorChoice) -> i32 {
    let style = Style {
        color: output::use_color(color, output::stderr_is_terminal()),
    };
    if let Error::Input(list) = e {
        output::err(&render::text::diagnostics(list, &style));
        if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
            output::out(&render::text::github_annotations(list));
        }
    }
    let mut msg = format!("{} {e}", style.red("error:"));
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    output::err(&format!("{msg}\n"));
    e.exit_code()
}
