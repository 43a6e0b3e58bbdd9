//! What `plan`, `apply`, `compare` and `import` share: connecting to the selected environments,
//! listing them, and diffing them against the files. It never writes to an environment.

use super::Context;
use crate::emulator::{self, Emulator};
use crate::error::{Error, Result};
use crate::model::{Desired, Live};
use crate::output;
use crate::plan::safety::{self, Overrides, Policy};
use crate::plan::{self, EnvPlan, Plan};
use crate::remote::{Client, ClientOptions, Endpoint};
use crate::secret::{self, Secret};
use crate::settings::{Environment, Target};
use std::sync::Arc;

/// An environment made reachable: its client, and the embedded emulator behind it if local.
pub(super) struct Connection {
    pub(super) env: Environment,
    pub(super) client: Arc<Client>,
    _emulator: Option<Emulator>,
}

pub(super) fn connect(env: &Environment, options: &ClientOptions) -> Result<Connection> {
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
pub(super) struct Prepared {
    pub(super) connections: Vec<Connection>,
    /// Per connection (same order), that environment's desired connectors.
    pub(super) desired: Vec<Vec<Desired>>,
    pub(super) lives: Vec<Vec<Live>>,
    /// The plan; `plan.refused` says why it is refused as unsafe (empty when safe).
    pub(super) plan: Plan,
}

pub(super) async fn prepare(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
    allow: Overrides,
    client: &ClientOptions,
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
        .map(|e| connect(e, client))
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
    let mut plan = Plan {
        environments,
        refused: refusals,
    };
    // After the pure diff: who uses what the plan deletes or changes in an auth-relevant way.
    super::usage::look_up(&connections, &mut plan, super::DEFAULT_PARALLELISM).await;
    Ok(Prepared {
        connections,
        desired,
        lives,
        plan,
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
