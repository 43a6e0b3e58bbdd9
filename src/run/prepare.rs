//! What `plan`, `apply`, `compare` and `import` share: connecting to the selected environments,
//! listing them, and diffing them against the files. It never writes to an environment.

use super::Context;
use crate::credentials::{self, Credentials};
use crate::emulator::{self, Emulator};
use crate::error::{Error, Result};
use crate::model::{Desired, Live};
use crate::output;
use crate::plan::safety::{self, Overrides, Policy};
use crate::plan::{self, ownership, EnvPlan, Plan};
use crate::remote::{Client, ClientOptions, Endpoint};
use crate::secret::{self, Secret};
use crate::settings::{Environment, Target};
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
            crate::local_dir::ensure(dir)
                .map_err(|e| Error::io(format!("cannot use {}", dir.display()), e))?;
            let key = crate::local_dir::plan_key(dir).map_err(|e| {
                Error::io(format!("cannot use the plan key in {}", dir.display()), e)
            })?;
            let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
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
                    output::err(&format!("error: {}\n", crate::escape::inert_lines(&text)));
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
    pub(super) connections: Vec<Connection>,
    /// Per connection (same order), that environment's desired connectors.
    pub(super) desired: Vec<Vec<Desired>>,
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
    let settings = ctx.project(config)?;
    let selected = settings.select(envs)?;
    for e in &selected {
        if let (true, Target::Local { state_file }) = (e.implicit, &e.target) {
            if !ctx.quiet {
                crate::log::message("warn", Some(&e.name), &format!(
                    "{} no skconn.yaml and no SCALEKIT_* variables: using the local environment, an emulator on this machine that keeps its connectors in {} (not Scalekit)\n",
                    ctx.err_style.yellow("notice:"),
                    super::relative(&settings.root, state_file)
                ));
            }
        }
    }
    let approved = super::forced::read(&settings.root)?;
    // Nothing is sent anywhere until every input file is valid.
    let mut loaded = ctx.load_all(&settings)?;
    let desired: Vec<Vec<Desired>> = selected
        .iter()
        .map(|e| loaded.per_env.remove(&e.name).unwrap_or_default())
        .collect();
    let connections = connect_all(&selected, client)?;
    let lives = list_all(&connections).await?;
    let mut environments = Vec::new();
    let mut conflicts = Vec::new();
    let mut lives_ours = Vec::new();
    for ((c, live), desired) in connections.iter().zip(lives).zip(&desired) {
        let (ours, others) = ownership::split(live, &settings.owner);
        conflicts.extend(ownership::conflicts(
            &c.env.name,
            &settings.owner,
            desired,
            &others,
        ));
        let mut env_plan = plan::diff_env(&c.env.name, desired, &ours, c.env.prune);
        ownership::mark(&mut env_plan, &settings.owner, &others);
        // What a reviewer approves, before anything is masked for display.
        plan::digest::fill(&mut env_plan, &c.mask_key());
        mask_replaced_values(&mut env_plan);
        lives_ours.push(ours);
        environments.push(env_plan);
    }
    if !conflicts.is_empty() {
        return Err(Error::Input(conflicts));
    }
    let lives = lives_ours;
    let mut plan = Plan::new(environments);
    // After the pure diff: who uses what the plan deletes or changes in an auth-relevant way.
    super::usage::look_up(&connections, &mut plan, super::DEFAULT_PARALLELISM).await;
    // The safety checks, once the plan is whole (its digest includes what usage blocks): an
    // unfinished forced apply counts as approved only for exactly the plan it left.
    for ((c, env_plan), desired) in connections.iter().zip(&plan.environments).zip(&desired) {
        let mut policy = Policy {
            protect: c.env.protect.clone(),
            ..Policy::default()
        };
        if let Some(t) = c.env.change_threshold {
            policy = t.apply_to(policy);
        }
        let already = approved
            .get(&c.env.name)
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
            let masked_new = f.new.as_ref().is_some_and(|v| {
                let text = v.to_string();
                secret::redact(&text) != text
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
