//! The commands: each resolves settings, drives load → remote → plan → render / apply, and
//! returns an exit code. This is the only layer that sees all the others.

use crate::apply::{self, EnvOutcome, Status};
use crate::cli::{ApplyArgs, Cli, Command, EmulatorArgs, Format, PlanArgs, SafetyArgs};
use crate::emulator::{self, Emulator};
use crate::error::{exit, Error, Result};
use crate::model::{Desired, Live};
use crate::output::{self, Style};
use crate::plan::safety::{self, Overrides, Policy};
use crate::plan::saved::{self, SavedEnv, SavedPlan};
use crate::plan::{self, Action, EnvPlan, Plan};
use crate::remote::{Client, ClientOptions, Endpoint};
use crate::render;
use crate::secret::{self, Secret};
use crate::settings::{Environment, Settings, Target};
use std::sync::Arc;

mod compare;
mod import;

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
        client: ClientOptions {
            timeout: std::time::Duration::from_secs(cli.timeout.max(1)),
            max_attempts: cli.max_attempts.max(1),
            deadline: std::time::Duration::from_secs(cli.deadline.max(1)),
            ..ClientOptions::default()
        },
    };
    match cli.command {
        Command::Emulator(args) => run_emulator(args).await,
        Command::Validate => {
            let settings = ctx.settings(cli.config.as_deref())?;
            let loaded = ctx.load_all(&settings)?;
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
        Command::Plan(args) => run_plan(&ctx, cli.config.as_deref(), args).await,
        Command::Compare(args) => compare::run(&ctx, cli.config.as_deref(), args).await,
        Command::Import(args) => import::run(&ctx, cli.config.as_deref(), args).await,
        Command::Schema => {
            output::out(&crate::schema::schema_text());
            Ok(exit::OK)
        }
        Command::Apply(args) => run_apply(&ctx, cli.config.as_deref(), args).await,
    }
}

struct Context {
    style: Style,
    err_style: Style,
    quiet: bool,
    client: ClientOptions,
}

impl Context {
    fn settings(&self, config: Option<&std::path::Path>) -> Result<Settings> {
        Settings::resolve(config, &|k| std::env::var(k).ok())
    }

    /// Loads the connector files for every configured environment (overrides merged,
    /// `${VAR}`s expanded), and registers the values that came from hidden variables for
    /// masking, so that no output shows them.
    fn load_all(&self, settings: &Settings) -> Result<crate::load::Loaded> {
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
        };
        let loaded = crate::load::load_dir_with(&settings.root, &settings.connectors_dir, &opts)
            .map_err(Error::Input)?;
        for value in &loaded.masked {
            // As written, and as it appears inside a JSON string (JSON output, saved plans).
            let json = serde_json::to_string(value).unwrap_or_default();
            let inner = json
                .strip_prefix('"')
                .and_then(|j| j.strip_suffix('"'))
                .unwrap_or(value);
            for form in [value.as_str(), inner] {
                secret::register(form);
                // As Markdown tables and HTML escape it.
                let escaped = form
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                secret::register(&escaped);
                secret::register(&escaped.replace('|', "\\|"));
                secret::register(
                    &form
                        .replace('|', "\\|")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;"),
                );
            }
        }
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

    /// The connectors as the files define them, without overrides (all environments checked).
    fn load(&self, settings: &Settings) -> Result<Vec<Desired>> {
        self.load_all(settings).map(|l| l.connectors)
    }
}

/// An environment made reachable: its client, and the embedded emulator behind it if local.
struct Connection {
    env: Environment,
    client: Arc<Client>,
    _emulator: Option<Emulator>,
}

fn connect(env: &Environment, options: &ClientOptions) -> Result<Connection> {
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
    let client = Client::new(endpoint, options.clone())?;
    Ok(Connection {
        env: env.clone(),
        client: Arc::new(client),
        _emulator: emulator,
    })
}

/// Lists every environment concurrently. All environments are tried; if any fails, the errors
/// of all are reported together.
async fn list_all(connections: &[Connection]) -> Result<Vec<Vec<Live>>> {
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
    let mut out = Vec::new();
    let mut first_error = None;
    for list in lists {
        match list.expect("every environment was listed") {
            Ok(live) => out.push(live),
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
        None => Ok(out),
    }
}

/// Everything a plan is made of, kept together so that apply and saved plans can check it.
struct Prepared {
    connections: Vec<Connection>,
    /// Per connection (same order), that environment's desired connectors.
    desired: Vec<Vec<Desired>>,
    lives: Vec<Vec<Live>>,
    plan: Plan,
    /// Per environment, why its plan is refused as unsafe (empty when safe).
    refusals: Vec<String>,
}

async fn prepare(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
    allow: Overrides,
) -> Result<Prepared> {
    let settings = ctx.settings(config)?;
    let selected = settings.select(envs)?;
    // Nothing is sent anywhere until every input file is valid.
    let mut loaded = ctx.load_all(&settings)?;
    let desired: Vec<Vec<Desired>> = selected
        .iter()
        .map(|e| loaded.per_env.remove(&e.name).unwrap_or_default())
        .collect();
    let connections = selected
        .into_iter()
        .map(|e| connect(e, &ctx.client))
        .collect::<Result<Vec<_>>>()?;
    let lives = list_all(&connections).await?;
    let mut environments = Vec::new();
    let mut refusals = Vec::new();
    for ((c, live), desired) in connections.iter().zip(&lives).zip(&desired) {
        let mut env_plan = plan::diff_env(&c.env.name, desired, live, c.env.prune);
        mask_replaced_values(&mut env_plan);
        let policy = Policy {
            protect: c.env.protect.clone(),
            ..Policy::default()
        };
        refusals.extend(safety::check(&env_plan, desired.is_empty(), &policy, allow));
        environments.push(env_plan);
    }
    let plan = Plan { environments };
    Ok(Prepared {
        connections,
        desired,
        lives,
        plan,
        refusals,
    })
}

/// Where a field's new value holds a masked value, its old value is masked whole: it is most
/// likely the same secret before a rotation, which skconn cannot recognise by itself.
fn mask_replaced_values(env_plan: &mut EnvPlan) {
    for c in &mut env_plan.changes {
        for f in &mut c.diff {
            let masked_new = f.new.as_ref().is_some_and(|v| {
                let text = v.to_string();
                secret::redact(&text) != text
            });
            if masked_new && f.old.is_some() {
                f.old = Some(serde_json::Value::String("***".into()));
            }
        }
    }
}

fn overrides(a: SafetyArgs) -> Overrides {
    Overrides {
        force: a.force,
        allow_empty: a.allow_empty,
    }
}

fn render_plan(plan: &Plan, format: Format, style: &Style) -> String {
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

/// Appends Markdown to the GitHub Actions job summary, when running there.
fn step_summary(markdown: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(secret::redact(markdown).as_bytes())?;
            f.write_all(b"\n")
        });
    if let Err(e) = written {
        tracing::warn!(
            "cannot write the job summary to {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

fn refuse(refusals: &[String]) -> Error {
    let mut msg = String::from("the plan was refused as unsafe; nothing was changed:");
    for r in refusals {
        msg.push_str("\n  - ");
        msg.push_str(r);
    }
    Error::Unsafe(msg)
}

async fn run_plan(ctx: &Context, config: Option<&std::path::Path>, args: PlanArgs) -> Result<i32> {
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
        let saved = SavedPlan {
            kind: saved::KIND.into(),
            format_version: saved::FORMAT_VERSION.into(),
            skconn_version: env!("CARGO_PKG_VERSION").into(),
            inputs: inputs_fingerprint(&p),
            environments: p
                .connections
                .iter()
                .zip(&p.lives)
                .map(|(c, l)| SavedEnv {
                    name: c.env.name.clone(),
                    live: saved::live_fingerprint(l),
                })
                .collect(),
            plan: render::json::plan(&p.plan),
        };
        let text = serde_json::to_string_pretty(&saved).unwrap_or_default();
        std::fs::write(out, secret::redact(&text).as_bytes())
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

/// The fingerprint of what the selected environments want.
fn inputs_fingerprint(p: &Prepared) -> String {
    let sets: Vec<(&str, &[Desired])> = p
        .connections
        .iter()
        .zip(&p.desired)
        .map(|(c, d)| (c.env.name.as_str(), d.as_slice()))
        .collect();
    saved::inputs_fingerprint(&sets)
}

/// A JSON value as it is written to a file: masked values replaced by `***`.
fn redacted_json(v: &serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string(v).unwrap_or_default();
    match secret::redact(&text) {
        std::borrow::Cow::Borrowed(_) => v.clone(),
        std::borrow::Cow::Owned(t) => serde_json::from_str(&t).unwrap_or_else(|_| v.clone()),
    }
}

/// Loads a saved plan and checks that nothing it was made from has moved.
fn check_saved(file: &std::path::Path, p: &Prepared) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("cannot read the saved plan {}", file.display()), e))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not a saved skconn plan: {e}",
            file.display()
        ))
    })?;
    if saved.kind != saved::KIND || saved.format_version != saved::FORMAT_VERSION {
        return Err(Error::Usage(format!(
            "{} is not a saved skconn plan of format {} (kind `{}`, format {})",
            file.display(),
            saved::FORMAT_VERSION,
            saved.kind,
            saved.format_version
        )));
    }
    let mut moved = Vec::new();
    if saved.inputs != inputs_fingerprint(p) {
        moved.push("the connector files changed since the plan was made".to_string());
    }
    let names: Vec<&str> = p.connections.iter().map(|c| c.env.name.as_str()).collect();
    let saved_names: Vec<&str> = saved.environments.iter().map(|e| e.name.as_str()).collect();
    if names != saved_names {
        moved.push(format!(
            "the plan covers environments [{}] but this run selects [{}] (use the same --env flags)",
            saved_names.join(", "),
            names.join(", ")
        ));
    } else {
        for ((c, live), s) in p.connections.iter().zip(&p.lives).zip(&saved.environments) {
            if saved::live_fingerprint(live) != s.live {
                moved.push(format!(
                    "environment {} changed since the plan was made (someone or something wrote to it)",
                    c.env.name
                ));
            }
        }
    }
    if moved.is_empty() && saved.plan != redacted_json(&render::json::plan(&p.plan)) {
        moved
            .push("the plan computed now differs from the saved one (skconn.yaml changed?)".into());
    }
    if moved.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "refusing to apply the saved plan {}; nothing was changed:",
        file.display()
    );
    for m in moved {
        msg.push_str("\n  - ");
        msg.push_str(&m);
    }
    msg.push_str("\nRun `skconn plan --out FILE` again, review it, and apply the new file.");
    Err(Error::Usage(msg))
}

async fn run_apply(
    ctx: &Context,
    config: Option<&std::path::Path>,
    args: ApplyArgs,
) -> Result<i32> {
    let p = prepare(ctx, config, &args.envs, overrides(args.safety)).await?;
    if let Some(file) = &args.plan_file {
        check_saved(file, &p)?;
    }
    output::out(&render::text::plan(&p.plan, &ctx.style));
    if !p.refusals.is_empty() {
        return Err(refuse(&p.refusals));
    }
    if !p.plan.has_changes() {
        output::out("Nothing to apply: every environment matches the files.\n");
        step_summary(&render::markdown::plan(
            &p.plan,
            render::markdown::GITHUB_COMMENT_LIMIT,
        ));
        return Ok(exit::OK);
    }
    if args.plan_file.is_none() {
        confirm(ctx, args.auto_approve)?;
    }
    let progress_on = output::stderr_is_terminal() && !ctx.quiet;
    let mut outcomes: Vec<EnvOutcome> = Vec::new();
    let mut unsettled: Vec<String> = Vec::new();
    let mut stop: Option<String> = None;
    for ((conn, env_plan), desired) in p
        .connections
        .iter()
        .zip(&p.plan.environments)
        .zip(&p.desired)
    {
        if let Some(why) = &stop {
            outcomes.push(EnvOutcome::skipped(env_plan, why));
            continue;
        }
        if !env_plan.has_changes() {
            continue;
        }
        let parallelism = args
            .parallelism
            .or(conn.env.parallelism)
            .unwrap_or(DEFAULT_PARALLELISM);
        let outcome = apply_one(conn, env_plan, parallelism, progress_on).await;
        if !outcome.all_applied() {
            stop = Some(format!(
                "environment {} did not apply cleanly",
                env_plan.name
            ));
        }
        match settle_check(conn, desired, &outcome).await {
            Ok(list) => unsettled.extend(list),
            Err(e) => unsettled.push(format!(
                "environment {}: could not re-read it to check the result: {e}",
                env_plan.name
            )),
        }
        outcomes.push(outcome);
    }
    let report = render::text::outcome(&outcomes, &ctx.style);
    output::out(&format!("\n{report}"));
    step_summary(&format!(
        "{}\n### Apply result\n\n```text\n{}```\n",
        render::markdown::plan(&p.plan, render::markdown::GITHUB_COMMENT_LIMIT / 2),
        render::text::outcome(&outcomes, &Style::PLAIN)
    ));
    if !unsettled.is_empty() {
        let mut msg = String::from(
            "the server did not keep what skconn wrote, so the next plan would show these changes again:",
        );
        for u in &unsettled {
            msg.push_str("\n  - ");
            msg.push_str(u);
        }
        output::err(&format!("{} {msg}\n", ctx.err_style.yellow("warning:")));
    }
    let applied: usize = outcomes.iter().map(|o| o.counts().0).sum();
    let failed = outcomes.iter().any(|o| !o.all_applied());
    Ok(match (failed, applied) {
        (true, 0) => exit::ERROR,
        (true, _) => exit::PARTIAL,
        (false, _) if !unsettled.is_empty() => exit::UNSETTLED,
        (false, _) => exit::OK,
    })
}

/// After an apply, reads the environment again and plans once more: a connector that was just
/// written but still shows a change is one the server rewrote. Reported by connector and JSON
/// path, with what to write in the file instead.
async fn settle_check(
    conn: &Connection,
    desired: &[Desired],
    outcome: &EnvOutcome,
) -> Result<Vec<String>> {
    let written: Vec<&str> = outcome
        .changes
        .iter()
        .filter(|o| matches!(o.status, Status::Applied { .. }) && o.action != Action::Delete)
        .map(|o| o.display_name.as_str())
        .collect();
    if written.is_empty() {
        return Ok(Vec::new());
    }
    let live = conn.client.list().await?;
    let again = plan::diff_env(&conn.env.name, desired, &live, crate::settings::Prune::Off);
    let mut out = Vec::new();
    for c in again
        .changes
        .iter()
        .filter(|c| written.contains(&c.display_name.as_str()))
    {
        if c.action == Action::Create {
            out.push(format!(
                "environment {}: \"{}\" was created but is not listed under that name",
                conn.env.name, c.display_name
            ));
            continue;
        }
        for f in &c.diff {
            let file = c
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let hint = match &f.old {
                Some(kept) => format!(
                    "write {} at {} in {file}",
                    render::text::value(Some(kept)),
                    f.path
                ),
                None => format!("remove {} from {file}", f.path),
            };
            out.push(format!(
                "environment {}: \"{}\" {}: skconn wrote {}, the server keeps {}; {hint}",
                conn.env.name,
                c.display_name,
                f.path,
                render::text::value(f.new.as_ref()),
                render::text::value(f.old.as_ref()),
            ));
        }
    }
    Ok(out)
}

async fn apply_one(
    conn: &Connection,
    env_plan: &EnvPlan,
    parallelism: usize,
    progress_on: bool,
) -> EnvOutcome {
    let name = env_plan.name.clone();
    let progress = Arc::new(output::Progress::new(progress_on));
    let p = progress.clone();
    let on_progress: apply::OnProgress = Arc::new(move |done, total| {
        p.update(&format!("{name}: applied {done}/{total}"));
    });
    let outcome = apply::apply_env(conn.client.clone(), env_plan, parallelism, on_progress).await;
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
        _ => Err(Error::NotApproved(
            "apply cancelled: nothing was changed".into(),
        )),
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
    let config = emulator::Config {
        listen: args.listen,
        client_id: args.client_id.clone(),
        client_secret: secret.clone(),
        state_file: args.state.clone(),
        max_page_size: args.max_page_size.max(1),
        token_ttl: std::time::Duration::from_secs(args.token_ttl),
        latency: std::time::Duration::from_millis(args.latency_ms),
        faults,
        ..emulator::Config::default()
    };
    let client_id = args.client_id;
    emulator::Emulator::serve(config, move |addr| {
        // The emulator's own credentials are printed on purpose: they are what a user needs to
        // point skconn at it. A generated secret is new on every start.
        let shown = if generated {
            secret.clone()
        } else {
            "(as given)".to_string()
        };
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

/// A path as users see it: relative to the repository root when it is inside it.
fn relative(root: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(root)
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
