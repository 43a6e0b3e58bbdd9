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
    let mut options = options.clone();
    if let Some(n) = env.page_size {
        options.page_size = n;
    }
    let client = Client::new(endpoint, options)?;
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
    pub(super) plan: Plan,
    /// Per environment, why its plan is refused as unsafe (empty when safe).
    pub(super) refusals: Vec<String>,
    /// The repository root (where `.skconn/` lives).
    pub(super) root: std::path::PathBuf,
}

pub(super) async fn prepare(
    ctx: &Context,
    config: Option<&std::path::Path>,
    envs: &[String],
    allow: Overrides,
) -> Result<Prepared> {
    let settings = ctx.settings(config)?;
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
    let approved = super::forced::read(&settings.root);
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
        let mut policy = Policy {
            protect: c.env.protect.clone(),
            ..Policy::default()
        };
        if let Some(t) = c.env.change_threshold {
            policy = t.apply_to(policy);
        }
        let already = approved.get(&c.env.name).map_or(&[][..], Vec::as_slice);
        refusals.extend(safety::check_with(
            &env_plan,
            desired.is_empty(),
            &policy,
            allow,
            already,
        ));
        environments.push(env_plan);
    }
    let plan = Plan { environments };
    Ok(Prepared {
        connections,
        desired,
        lives,
        plan,
        refusals,
        root: settings.root.clone(),
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
