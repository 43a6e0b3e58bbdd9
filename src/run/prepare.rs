//! What `plan`, `apply`, `compare` and `import` share: connecting to the selected environments,
//! listing them, and diffing them against the files. It never writes to an environment.
//!
//! An environment planned against a snapshot (`plan --against`) is not connected to: its
//! credentials are not resolved, only its URL (to check the snapshot's host), and the
//! snapshot's connectors and usage stand in for the listing and the look-ups. Everything else
//! — the diff, ownership, the digest, the safety checks — is the same code path.

use super::Context;
use crate::base::error::{Diagnostic, Error, Result};
use crate::emulator::{self, Emulator};
use crate::model::{Desired, Live};
use crate::output;
use crate::output::secret::{self, Secret};
use crate::plan::safety::{self, Overrides, Policy};
use crate::plan::{self, ownership, EnvPlan, Plan};
use crate::remote::{Client, ClientOptions, Endpoint};
use crate::settings::credentials::{self, Credentials};
use crate::settings::{Environment, Settings, Target};
use crate::snapshot::{self, Snapshot};
use std::sync::Arc;

/// An environment made reachable: its client, and the embedded emulator behind it if local.
pub(super) struct Connection {
    pub(super) env: Environment,
    pub(super) client: Arc<Client>,
    /// What keys this environment's part of a saved plan: its client secret, or for a local
    /// environment the key kept in `.skconn/`.
    pub(super) plan_key: Secret,
    _emulator: Option<Emulator>,
}

impl Connection {
    /// The key masked values of this environment are digested with (plan digests, snapshots).
    pub(super) fn mask_key(&self) -> plan::digest::MaskKey {
        plan::digest::MaskKey::new(&self.env.name, self.plan_key.expose().as_bytes())
    }
}

/// Resolves the credentials of these environments — of these only — and connects to each.
/// Every missing or invalid credential of every one of them is reported at once; nothing is
/// sent before all are resolved.
pub(super) fn connect_all(
    envs: &[&Environment],
    options: &ClientOptions,
) -> Result<Vec<Connection>> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for env in envs {
        match &env.target {
            Target::Remote(spec) => match credentials::resolve(&env.name, spec, &lookup) {
                Ok(c) => resolved.push(Some(c)),
                Err(d) => {
                    problems.extend(d);
                    resolved.push(None);
                }
            },
            Target::Local { .. } => resolved.push(None),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    envs.iter()
        .zip(resolved)
        .map(|(env, creds)| connect(env, creds, options))
        .collect()
}

fn connect(
    env: &Environment,
    creds: Option<Credentials>,
    options: &ClientOptions,
) -> Result<Connection> {
    let mut options = options.clone();
    let (endpoint, emulator, plan_key) = match (&env.target, creds) {
        (Target::Remote(_), Some(c)) => {
            options.ca_files.extend(c.ca_file);
            (
                Endpoint {
                    env: env.name.clone(),
                    url: c.url,
                    client_id: c.client_id,
                    client_secret: c.client_secret.clone(),
                },
                None,
                c.client_secret,
            )
        }
        (Target::Remote(_), None) => {
            return Err(Error::Local(format!(
                "environment {}: credentials were not resolved",
                env.name
            )))
        }
        (Target::Local { state_file }, _) => {
            let secret = Secret::new(format!("local-{:016x}", fastrand::u64(..)));
            let config = emulator::Config {
                client_id: "skconn-local".into(),
                client_secret: secret.expose().to_string(),
                state_file: Some(state_file.clone()),
                ..emulator::Config::default()
            };
            let dir = state_file.parent().unwrap_or(std::path::Path::new("."));
            crate::settings::local_dir::ensure(dir)
                .map_err(|e| Error::io(format!("cannot use {}", dir.display()), e))?;
            let key = crate::settings::local_dir::plan_key(dir).map_err(|e| {
                Error::io(format!("cannot use the plan key in {}", dir.display()), e)
            })?;
            let key = crate::base::hex::hex(key);
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
                Secret::new(key),
            )
        }
    };
    if let Some(n) = env.page_size {
        options.page_size = n;
    }
    let client = Client::new(endpoint, options)?;
    Ok(Connection {
        env: env.clone(),
        client: Arc::new(client),
        plan_key,
        _emulator: emulator,
    })
}

/// Lists every environment concurrently. All environments are tried; if any fails, the errors
/// of all are reported together.
pub(super) async fn list_all(connections: &[Connection]) -> Result<Vec<Vec<Live>>> {
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
                    let text = e.to_string();
                    output::err(&format!(
                        "error: {}\n",
                        crate::output::escape::inert_lines(&text)
                    ));
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
pub(super) struct Prepared {
    /// The environments planned live. Without snapshots (always for `apply` and saved
    /// plans), every selected environment, in the order of `desired`, `lives` and the plan.
    pub(super) connections: Vec<Connection>,
    /// Per selected environment, its desired connectors.
    pub(super) desired: Vec<Vec<Desired>>,
    /// Per selected environment, its live connectors (skconn's owner's).
    pub(super) lives: Vec<Vec<Live>>,
    /// The plan; `plan.refused` says why it is refused as unsafe (empty when safe).
    pub(super) plan: Plan,
    /// The repository root (where `.skconn/` lives).
    pub(super) root: std::path::PathBuf,
}

pub(super) async fn prepare(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
    allow: Overrides,
    client: &ClientOptions,
) -> Result<Prepared> {
    prepare_with(ctx, config, envs, None, allow, client).await
}

/// Snapshots to plan their environments against (`plan --against`), and how old they may be.
pub(super) struct Against<'a> {
    pub(super) files: &'a [std::path::PathBuf],
    pub(super) max_age: std::time::Duration,
    /// Whether each snapshot's host is checked against its environment's URL (`false`:
    /// `--no-host-check`, the URL is not read at all).
    pub(super) check_host: bool,
}

/// One selected environment, made reachable or read from its snapshot.
enum Side {
    Live(usize),
    Snapshot(Box<Snapshot>),
}

/// Like [`prepare`]; the environments of the snapshots in `against` are planned from them.
pub(super) async fn prepare_with(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
    against: Option<&Against<'_>>,
    allow: Overrides,
    client: &ClientOptions,
) -> Result<Prepared> {
    let settings = ctx.project(config)?;
    let selected = settings.select(envs)?;
    let (mut snapshots, snapshot_problems) = match against {
        Some(a) => read_snapshots(&settings, envs, &selected, a),
        None => (Vec::new(), Vec::new()),
    };
    let from_snapshot: Vec<String> = snapshots.iter().map(|s| s.environment.clone()).collect();
    for e in &selected {
        if from_snapshot.contains(&e.name) {
            continue;
        }
        if let (true, Target::Local { state_file }) = (e.implicit, &e.target) {
            if !ctx.quiet {
                crate::output::log::message("warn", Some(&e.name), &format!(
                    "{} no skconn.yaml and no SCALEKIT_* variables: using the local environment, an emulator on this machine that keeps its connectors in {} (not Scalekit)\n",
                    ctx.err_style.yellow("notice:"),
                    super::relative(&settings.root, state_file)
                ));
            }
        }
    }
    let approved = super::forced::read(&settings.root)?;
    // Nothing is sent anywhere until every input file (snapshots included) is valid. Where
    // environments are planned from snapshots, a variable that is not set is an unknown value
    // in them and in the environments not planned at all.
    let unknown_in: Vec<String> = if against.is_some() {
        settings
            .environments
            .iter()
            .filter(|e| {
                from_snapshot.contains(&e.name) || !selected.iter().any(|s| s.name == e.name)
            })
            .map(|e| e.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let mut loaded = match (ctx.load_all_with(&settings, &unknown_in), snapshot_problems) {
        (Ok(l), p) if p.is_empty() => l,
        (Ok(_), p) => return Err(Error::Input(p)),
        (Err(Error::Input(mut d)), p) => {
            d.extend(p);
            return Err(Error::Input(d));
        }
        (Err(e), _) => return Err(e),
    };
    let mut desired: Vec<Vec<Desired>> = selected
        .iter()
        .map(|e| loaded.per_env.remove(&e.name).unwrap_or_default())
        .collect();
    let live_envs: Vec<&Environment> = selected
        .iter()
        .copied()
        .filter(|e| !from_snapshot.contains(&e.name))
        .collect();
    let connections = connect_all(&live_envs, client)?;
    let mut listed = list_all(&connections).await?.into_iter();
    let mut sides = Vec::with_capacity(selected.len());
    let mut lives = Vec::with_capacity(selected.len());
    for e in &selected {
        match snapshots.iter().position(|s| s.environment == e.name) {
            Some(i) => {
                let mut s = snapshots.swap_remove(i);
                lives.push(s.take_live());
                sides.push(Side::Snapshot(Box::new(s)));
            }
            None => {
                let i = sides.iter().filter(|s| matches!(s, Side::Live(_))).count();
                lives.push(listed.next().unwrap_or_default());
                sides.push(Side::Live(i));
            }
        }
    }
    let mut environments = Vec::new();
    let mut conflicts = Vec::new();
    let mut lives_ours = Vec::new();
    for (((env, side), live), desired) in selected
        .iter()
        .zip(&sides)
        .zip(lives)
        .zip(desired.iter_mut())
    {
        let (ours, others) = ownership::split(live, &settings.owner);
        let mask = match side {
            Side::Live(i) => connections[*i].mask_key(),
            Side::Snapshot(s) => {
                snapshot::against::resolve(s, &ours, desired);
                // The snapshot's masked values are keyed already; this key is never needed
                // for them (see `plan::digest::MaskKey::mask`).
                plan::digest::MaskKey::new(&env.name, &fastrand::u64(..).to_le_bytes())
            }
        };
        conflicts.extend(ownership::conflicts(
            &env.name,
            &settings.owner,
            desired,
            &others,
        ));
        let mut env_plan = plan::diff_env(&env.name, desired, &ours, env.prune);
        ownership::mark(&mut env_plan, &settings.owner, &others);
        // What a reviewer approves, before anything is masked for display.
        plan::digest::fill(&mut env_plan, &mask);
        mask_replaced_values(&mut env_plan);
        if let Side::Snapshot(s) = side {
            snapshot::against::finish(s, &mut env_plan, env.usage);
        }
        lives_ours.push(ours);
        environments.push(env_plan);
    }
    if !conflicts.is_empty() {
        return Err(Error::Input(conflicts));
    }
    let lives = lives_ours;
    let mut plan = Plan::new(environments);
    // After the pure diff: who uses what the plan deletes or changes in an auth-relevant way
    // (from the snapshot for an environment planned against one).
    let reached: Vec<Option<(&Environment, &Arc<Client>)>> = sides
        .iter()
        .map(|s| match s {
            Side::Live(i) => Some((&connections[*i].env, &connections[*i].client)),
            Side::Snapshot(_) => None,
        })
        .collect();
    super::usage::look_up(&reached, &mut plan, super::DEFAULT_PARALLELISM).await;
    // The safety checks, once the plan is whole (its digest includes what usage blocks): an
    // unfinished forced apply counts as approved only for exactly the plan it left.
    for ((env, env_plan), desired) in selected.iter().zip(&plan.environments).zip(&desired) {
        let mut policy = Policy {
            protect: env.protect.clone(),
            ..Policy::default()
        };
        if let Some(t) = env.change_threshold {
            policy = t.apply_to(policy);
        }
        let already = approved
            .get(&env.name)
            .map_or(&[][..], |left| left.for_plan(env_plan));
        plan.refused.extend(safety::check_with(
            env_plan,
            desired.is_empty(),
            &policy,
            allow,
            already,
        ));
    }
    Ok(Prepared {
        connections,
        desired,
        lives,
        plan,
        root: settings.root.clone(),
    })
}

/// Where a field's new value holds a masked value, its old value is masked whole: it is most
/// likely the same secret before a rotation, which skconn cannot recognise by itself. The same
/// old value is masked in the change's `before` object.
pub(super) fn mask_replaced_values(env_plan: &mut EnvPlan) {
    for c in &mut env_plan.changes {
        let mut old_values = Vec::new();
        for f in &mut c.diff {
            // A keyed digest (from a snapshot) stands for a masked value too.
            let masked_new = f.new.as_ref().is_some_and(|v| {
                let text = v.to_string();
                secret::redact(&text) != text || text.contains(plan::digest::MASKED_PREFIX)
            });
            if masked_new && f.old.is_some() {
                old_values.extend(f.old.take());
                f.old = Some(serde_json::Value::String("***".into()));
            }
        }
        if let Some(before) = c.before.as_mut() {
            for old in &old_values {
                mask_value(before, old);
            }
        }
    }
}

/// Replaces every occurrence of `target` inside `v` by `"***"`.
fn mask_value(v: &mut serde_json::Value, target: &serde_json::Value) {
    if v == target {
        *v = serde_json::Value::String("***".into());
        return;
    }
    match v {
        serde_json::Value::Object(m) => m.values_mut().for_each(|c| mask_value(c, target)),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|c| mask_value(c, target)),
        _ => {}
    }
}

/// Reads the snapshots of `plan --against` and checks each against the configuration: its
/// environment is configured, selected (when `--env` names any) and given once, its host is
/// the one the environment's URL names (only the URL is resolved: no credential is read), and
/// it is not older than `--max-snapshot-age`. Returns the snapshots and every problem found.
fn read_snapshots(
    settings: &Settings,
    envs: &[String],
    selected: &[&Environment],
    against: &Against<'_>,
) -> (Vec<Snapshot>, Vec<Diagnostic>) {
    let lookup = |k: &str| std::env::var(k).ok();
    let now = crate::base::time::unix_secs(std::time::SystemTime::now());
    let mut out: Vec<Snapshot> = Vec::new();
    let mut problems = Vec::new();
    let configured: Vec<&str> = settings
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let mut seen: Vec<(String, String)> = Vec::new();
    for file in against.files {
        let shown = super::relative(&settings.root, file);
        let text = match read_capped(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Diagnostic::new(&shown, e).help(
                    "give --against the file `skconn snapshot` wrote (e.g. prod.snapshot.json)",
                ));
                continue;
            }
        };
        let s = match snapshot::read(std::path::Path::new(&shown), &text) {
            Ok(s) => s,
            Err(d) => {
                problems.extend(d);
                continue;
            }
        };
        let problem = |field: &str, message: String, help: String| {
            let (line, column) = snapshot::key_position(&text, field);
            Diagnostic::new(&shown, message)
                .at(line, column)
                .field(field)
                .help(help)
        };
        let name = crate::output::escape::inert(&s.environment).into_owned();
        let Some(env) = settings
            .environments
            .iter()
            .find(|e| e.name == s.environment)
        else {
            problems.push(problem(
                "environment",
                format!("the snapshot is of environment `{name}`, which skconn.yaml does not configure (configured: {})", configured.join(", ")),
                "plan against a snapshot of a configured environment, or add the environment to skconn.yaml".into(),
            ));
            continue;
        };
        if !envs.is_empty() && !selected.iter().any(|e| e.name == s.environment) {
            problems.push(problem(
                "environment",
                format!("the snapshot is of environment `{name}`, which --env does not select"),
                format!("add --env {name}, or leave this snapshot out"),
            ));
            continue;
        }
        if let Some((_, other)) = seen.iter().find(|(e, _)| *e == s.environment) {
            problems.push(problem(
                "environment",
                format!("a second snapshot of environment `{name}` (the first is {other})"),
                "give one snapshot per environment".into(),
            ));
            continue;
        }
        seen.push((s.environment.clone(), shown.clone()));
        let host = match &env.target {
            Target::Remote(_) if !against.check_host => {
                crate::output::log::message(
                    "warn",
                    Some(&env.name),
                    &format!(
                        "warning: the snapshot of {name} is of host `{}`, which was not checked against the environment's URL (--no-host-check)\n",
                        crate::output::escape::inert(&s.host)
                    ),
                );
                None
            }
            Target::Local { .. } => Some(snapshot::LOCAL_HOST.to_string()),
            Target::Remote(spec) => match credentials::resolve_url(&env.name, spec, &lookup) {
                Ok(url) => Some(snapshot::host_of(&url)),
                Err(d) => {
                    problems.extend(d);
                    None
                }
            },
        };
        if let Some(host) = host.filter(|h| !h.eq_ignore_ascii_case(&s.host)) {
            problems.push(problem(
                "host",
                format!(
                    "the snapshot is of host `{}`, but environment `{name}` is configured at `{host}`",
                    crate::output::escape::inert(&s.host)
                ),
                format!("take a snapshot of {name} as configured here (`skconn snapshot --env {name}`)"),
            ));
        }
        let taken = s.taken_at_secs();
        let max = against.max_age.as_secs();
        // A clock a little ahead is tolerated; a snapshot from the future is not.
        if taken > now + FUTURE_TOLERANCE_SECS {
            problems.push(problem(
                "taken_at",
                format!(
                    "the snapshot was taken at {}, in the future: a clock is wrong here or where it was taken",
                    crate::base::time::readable(taken)
                ),
                "check the clocks, and take the snapshot again".into(),
            ));
        } else if now.saturating_sub(taken) > max {
            problems.push(problem(
                "taken_at",
                format!(
                    "the snapshot of {name} was taken {}, {}: older than --max-snapshot-age ({})",
                    crate::base::time::readable(taken),
                    crate::base::time::ago(now - taken),
                    crate::base::time::duration_text(against.max_age)
                ),
                format!("take a fresh one (`skconn snapshot --env {name}`), or allow an older one with --max-snapshot-age"),
            ));
        }
        out.push(s);
    }
    (out, problems)
}

/// How far ahead of this machine's clock a snapshot's time may be.
const FUTURE_TOLERANCE_SECS: u64 = 300;

/// A snapshot file's text, refused unread over [`snapshot::MAX_BYTES`].
fn read_capped(file: &std::path::Path) -> std::result::Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(|e| format!("cannot read the snapshot: {e}"))?;
    let mut text = String::new();
    f.take(snapshot::MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the snapshot: {e}"))?;
    if text.len() as u64 > snapshot::MAX_BYTES {
        return Err(format!(
            "the snapshot is larger than {} MiB; skconn does not read it",
            snapshot::MAX_BYTES >> 20
        ));
    }
    Ok(text)
}
