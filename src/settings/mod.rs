//! Resolved settings: flags, environment variables and `skconn.yaml`, merged and checked once.
//! The rest of skconn sees only [`Settings`].
//!
//! `skconn.yaml`:
//!
//! ```yaml
//! connectors_dir: connectors          # default
//! environments:                       # applied in this order
//!   dev:
//!     url: ${SCALEKIT_DEV_URL}        # or `local` for the embedded emulator (also as a
//!                                     # variable's value: ${SCALEKIT_DEV_URL:-local})
//!     client_id: ${SCALEKIT_DEV_CLIENT_ID}
//!     client_secret: ${SCALEKIT_DEV_CLIENT_SECRET}
//!     prune: managed                  # off (default) | managed | all
//!     usage: off                      # on (default) | off: no usage look-ups in plans
//!     ca_file: certs/corp-ca.pem      # extra CA certificates (PEM) to trust for this environment
//!     page_size: 1000                 # listing page size asked for (default 1000)
//!     change_threshold: {percent: 30, min_managed: 10}   # or `off`
//! show_vars: [API_HOST]               # variables whose values connector files may show
//! owner: platform                     # who owns what skconn writes (default `default`)
//! ```
//!
//! The file is looked for as `skconn.yaml` (or `skconn.yml`) in the working directory and each
//! folder above it up to the repository root (the folder holding `.git`).
//!
//! Without the file: one environment `default` from `SCALEKIT_ENVIRONMENT_URL`,
//! `SCALEKIT_CLIENT_ID` and `SCALEKIT_CLIENT_SECRET` when the URL is set, otherwise the embedded
//! `local` environment (marked [`Environment::implicit`]).
//!
//! Credentials are not resolved here: an environment keeps its `url`, `client_id`,
//! `client_secret` and `ca_file` as written, and `credentials` resolves them for the
//! environments a command talks to, and only those. The values of the variables credentials
//! are taken from are registered for redaction here, for every environment.
//!
//! `connectors_dir` must stay inside the configuration file's folder once `..` and links are
//! resolved ([`confined`]); it is never read outside it.

pub mod credentials;
pub mod file;
pub mod local_dir;
pub mod safety;

use crate::base::error::{Diagnostic, Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What to delete: live custom connectors that are not in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prune {
    /// Never delete.
    Off,
    /// Delete connectors that skconn wrote (they carry its marker).
    Managed,
    /// Delete every custom connector not in the files.
    All,
}

/// Whether plans look up who uses a connector before deleting it or changing its auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum UsageSwitch {
    On,
    Off,
}

/// Where an environment lives.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Scalekit environment reached over HTTP; its credentials as written, resolved only when
    /// a command talks to it (see [`crate::settings::credentials`]).
    Remote(Box<RemoteSpec>),
    /// The embedded emulator, started in this process, state kept in `state_file`.
    Local { state_file: PathBuf },
}

/// One value of a remote environment as written (with `${VAR}`s), and where.
#[derive(Debug, Clone)]
pub struct Written {
    pub text: String,
    /// 1-based line and column in the configuration file (0 when unknown).
    pub line: usize,
    pub column: usize,
}

/// A remote environment's settings, unresolved.
#[derive(Debug, Clone)]
pub struct RemoteSpec {
    /// Where the values were written: the configuration file, or "environment variables".
    pub file: PathBuf,
    /// The configuration file's text, to place problems with variables.
    pub text: std::sync::Arc<str>,
    pub url: Written,
    pub client_id: Written,
    pub client_secret: Written,
    pub ca_file: Option<Written>,
    /// The folder relative paths (`ca_file`) are read from.
    pub root: PathBuf,
    /// Whether the values were written in a configuration file (false: the `default`
    /// environment made of `SCALEKIT_*` variables, without a file).
    pub in_file: bool,
}

/// One environment, resolved.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub target: Target,
    pub prune: Prune,
    /// Display names no plan may delete.
    pub protect: Vec<String>,
    /// Requests in flight at once, when set in skconn.yaml.
    pub parallelism: Option<usize>,
    /// Look up connections and connected accounts for deletes and auth-relevant updates
    /// (`usage: on`, the default; `usage: off` for a token without that permission).
    pub usage: bool,
    /// The page size asked for when listing, when set in skconn.yaml.
    pub page_size: Option<usize>,
    /// The change threshold, when set in skconn.yaml (`None`: the defaults).
    pub change_threshold: Option<crate::settings::safety::Threshold>,
    /// The local environment chosen for lack of any configuration, not named by the user.
    pub implicit: bool,
}

/// Everything a command needs to know, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository root: the folder of skconn.yaml, or the working directory.
    pub root: PathBuf,
    /// The folder of connector files.
    pub connectors_dir: PathBuf,
    /// The configured environments, in the order written.
    pub environments: Vec<Environment>,
    /// The configuration file, when one was read.
    pub config_file: Option<PathBuf>,
    /// Variables whose values, used in connector files, are shown rather than masked.
    pub show_vars: Vec<String>,
    /// Who owns the connectors skconn writes here (`owner:` in skconn.yaml, default
    /// `default`); see [`crate::model::owner_marker`].
    pub owner: String,
    /// The variables skconn.yaml takes a credential from (`client_secret`, and keys that look
    /// like one), in every environment, run or not: connector files may not use them, and their
    /// values are masked.
    pub credential_vars: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    connectors_dir: Option<String>,
    #[serde(default)]
    environments: serde_yaml::Mapping,
    #[serde(default)]
    show_vars: Vec<String>,
    #[serde(default)]
    owner: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEnvironment {
    url: String,
    // Credentials are read as any YAML value and checked here, so that no error message of
    // the YAML reader ever quotes one.
    #[serde(default)]
    client_id: Option<serde_yaml::Value>,
    #[serde(default)]
    client_secret: Option<serde_yaml::Value>,
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    prune: Option<Prune>,
    #[serde(default)]
    protect: Vec<String>,
    #[serde(default)]
    parallelism: Option<usize>,
    #[serde(default)]
    usage: Option<UsageSwitch>,
    page_size: Option<usize>,
    #[serde(default)]
    change_threshold: Option<serde_yaml::Value>,
}

/// Reads the process environment. A function so that resolution can be tested without touching
/// the real environment. `Sync`, so that connector files can be loaded on several threads.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

impl Settings {
    /// Resolves the settings from `--config` (if given) and the process environment.
    pub fn resolve(config: Option<&Path>, lookup: EnvLookup<'_>) -> Result<Settings> {
        let (path, explicit) = match config {
            Some(p) => (p.to_path_buf(), true),
            None => match crate::settings::file::discover()? {
                Some(found) => (found, true),
                None => (PathBuf::from("skconn.yaml"), false),
            },
        };
        match crate::settings::file::read(&path) {
            Ok(text) => Self::from_file(&path, &text, lookup),
            Err(crate::settings::file::ReadError::Refused(d)) => Err(Error::Input(vec![d])),
            Err(crate::settings::file::ReadError::Io(e))
                if e.kind() == std::io::ErrorKind::NotFound && !explicit =>
            {
                Self::without_file(lookup)
            }
            Err(crate::settings::file::ReadError::Io(e)) => {
                Err(Error::Input(vec![Diagnostic::new(
                    &path,
                    format!("cannot read the configuration file: {e}"),
                )
                .help("check the path given to --config (or SKCONN_CONFIG)")]))
            }
        }
    }

    fn without_file(lookup: EnvLookup<'_>) -> Result<Settings> {
        let root = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the working directory", e))?;
        let url = lookup("SCALEKIT_ENVIRONMENT_URL").filter(|s| !s.is_empty());
        let environment = match url {
            Some(_) => {
                let var = |name: &str| Written {
                    text: format!("${{{name}}}"),
                    line: 0,
                    column: 0,
                };
                Environment {
                    name: "default".into(),
                    target: Target::Remote(Box::new(RemoteSpec {
                        file: PathBuf::from("environment variables"),
                        text: std::sync::Arc::from(""),
                        url: var("SCALEKIT_ENVIRONMENT_URL"),
                        client_id: var("SCALEKIT_CLIENT_ID"),
                        client_secret: var("SCALEKIT_CLIENT_SECRET"),
                        ca_file: None,
                        root: root.clone(),
                        in_file: false,
                    })),
                    prune: Prune::Off,
                    protect: Vec::new(),
                    parallelism: None,
                    usage: true,
                    page_size: None,
                    change_threshold: None,
                    implicit: false,
                }
            }
            None => Environment {
                name: "local".into(),
                target: Target::Local {
                    state_file: root.join(".skconn").join("local.json"),
                },
                prune: Prune::Managed,
                protect: Vec::new(),
                parallelism: None,
                usage: true,
                page_size: None,
                change_threshold: None,
                implicit: true,
            },
        };
        let connectors_dir = confined(&root, "connectors").map_err(|m| {
            Error::Input(vec![Diagnostic::new("connectors", m).help(
                "without skconn.yaml the connector files are in `connectors/` of the working directory: make it a folder there",
            )])
        })?;
        Ok(Settings {
            connectors_dir,
            root,
            environments: vec![environment],
            config_file: None,
            show_vars: Vec::new(),
            owner: crate::model::DEFAULT_OWNER.into(),
            credential_vars: vec!["SCALEKIT_CLIENT_SECRET".into()],
        })
    }

    pub(crate) fn from_file(path: &Path, text: &str, lookup: EnvLookup<'_>) -> Result<Settings> {
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::env::current_dir()
                .map_err(|e| Error::io("cannot read the working directory", e))?,
        };
        let display = path.to_path_buf();
        // The guards of connector files (size, depth, aliases) first; a duplicate key or a tab
        // is a problem that still leaves the document to check.
        let read = crate::settings::file::parse(&display, text).map_err(Error::Input)?;
        // Credentials are registered for redaction before any message can quote them: those
        // written in the file, and the values of the variables they are taken from, in every
        // environment, whether or not this command talks to it.
        let mut credential_vars = Vec::new();
        if let Some(envs) = read.value.get("environments").and_then(|e| e.as_mapping()) {
            for env in envs.values() {
                register_credentials(env, &mut credential_vars);
            }
        }
        for var in &credential_vars {
            if let Some(value) = lookup(var) {
                crate::output::secret::register(&value);
            }
        }
        // Then the vocabulary: every unknown key, misspelt word and wrong type at once, each at
        // its line and column. The rules below read what the vocabulary left, so that their
        // problems come in the same run.
        let vocabulary =
            crate::vocabulary::config::check(&display, &read.value, read.source.index());
        let left_out = read.left_out;
        let mut found: Vec<Diagnostic> = read.problems;
        found.extend(vocabulary.problems.iter().cloned());
        let config: FileConfig = match serde_yaml::from_value(vocabulary.rest.clone()) {
            Ok(c) => c,
            Err(e) => {
                if found.is_empty() {
                    found.push(
                        Diagnostic::new(&display, yaml_message(&e))
                            .help("the format: https://github.com/skconn/skconn/blob/main/docs/configuration.md"),
                    );
                }
                return Err(Error::Input(found));
            }
        };
        let mut problems = Vec::new();
        let mut environments = Vec::new();
        for (key, value) in &config.environments {
            let Some(name) = key.as_str() else {
                problems.push(
                    Diagnostic::new(&display, "an environment name must be a string")
                        .field("environments"),
                );
                continue;
            };
            let at = |needle: &str| line_of(text, needle);
            if !valid_env_name(name) {
                let (l, c) = at(&format!("{name}:"));
                problems.push(
                    Diagnostic::new(
                        &display,
                        format!("`{name}` is not a valid environment name"),
                    )
                    .at(l, c)
                    .field(format!("environments.{name}"))
                    .help("use letters, digits, `-` and `_` (e.g. dev, prod)"),
                );
                continue;
            }
            let env: FileEnvironment = match serde_yaml::from_value(value.clone()) {
                Ok(e) => e,
                Err(e) => {
                    let (l, c) = at(&format!("{name}:"));
                    problems.push(
                        Diagnostic::new(&display, yaml_message(&e))
                            .at(l, c)
                            .field(format!("environments.{name}"))
.help("an environment has `url`, `client_id`, `client_secret`, and optionally `prune: off|managed|all`, `protect: [names]`, `parallelism: N`, `usage: on|off`, `ca_file: PATH`, `page_size: N`, `change_threshold: {percent: P, min_managed: N}` or `off`"),
                    );
                    continue;
                }
            };
            let prune = env.prune.unwrap_or(Prune::Off);
            // `local`, written or as a variable's value or default (`${SCALEKIT_DEV_URL:-local}`:
            // the embedded environment until a Scalekit URL is given).
            let local = env.url.trim() == "local"
                || (env.url.contains('$')
                    && expand_vars(env.url.trim(), lookup).is_ok_and(|u| u.trim() == "local"));
            let target = if local {
                let state_file = root.join(".skconn").join(format!("{name}.json"));
                Target::Local { state_file }
            } else {
                let (l, c) = at(&format!("{name}:"));
                let written = |field: &str, value: &str| {
                    let (line, column) = line_of_field(text, name, field).unwrap_or((l, c));
                    Written {
                        text: value.to_string(),
                        line,
                        column,
                    }
                };
                let mut credential = |field: &str, value: &Option<serde_yaml::Value>| {
                    match value {
                        Some(serde_yaml::Value::String(v)) => Some(written(field, v)),
                        value => {
                            let example = format!(
                                "{field}: ${{SCALEKIT_{}_{}}}",
                                name.to_uppercase().replace('-', "_"),
                                field.to_uppercase()
                            );
                            // Never quote a value: it may be a secret written by mistake.
                            let (message, help, (line, column)) = match value {
                                None | Some(serde_yaml::Value::Null) => (
                                    format!("`{field}` is required for a remote environment"),
                                    format!("add `{example}`"),
                                    (l, c),
                                ),
                                _ => (
                                    format!("`{field}` must be a string"),
                                    format!("write it as a variable, e.g. `{example}`"),
                                    line_of_field(text, name, field).unwrap_or((l, c)),
                                ),
                            };
                            problems.push(
                                Diagnostic::new(&display, message)
                                    .at(line, column)
                                    .field(format!("environments.{name}.{field}"))
                                    .help(help),
                            );
                            None
                        }
                    }
                };
                let client_id = credential("client_id", &env.client_id);
                let client_secret = credential("client_secret", &env.client_secret);
                let url = written("url", &env.url);
                // A URL written without variables is checked now; one with variables when the
                // environment is used.
                if !env.url.contains('$') {
                    if let Err(m) = parse_url(&env.url) {
                        problems.push(
                            Diagnostic::new(&display, m)
                                .at(url.line, url.column)
                                .field(format!("environments.{name}.url"))
                                .help("use the environment URL from the Scalekit dashboard (https://…), or `local`"),
                        );
                    }
                }
                let (Some(client_id), Some(client_secret)) = (client_id, client_secret) else {
                    continue;
                };
                Target::Remote(Box::new(RemoteSpec {
                    file: display.clone(),
                    text: std::sync::Arc::from(text),
                    url,
                    client_id,
                    client_secret,
                    ca_file: env.ca_file.as_deref().map(|v| written("ca_file", v)),
                    root: root.clone(),
                    in_file: true,
                }))
            };
            if env.parallelism == Some(0) {
                let (l, c) = at("parallelism:");
                problems.push(
                    Diagnostic::new(&display, "parallelism must be at least 1")
                        .at(l, c)
                        .field(format!("environments.{name}.parallelism"))
                        .help("remove it for the default (8), or set a positive number"),
                );
            }
            if env.page_size == Some(0) {
                let (l, c) = at("page_size:");
                problems.push(
                    Diagnostic::new(&display, "page_size must be at least 1")
                        .at(l, c)
                        .field(format!("environments.{name}.page_size"))
                        .help("remove it for the default (1000), or set a positive number"),
                );
            }
            let change_threshold = match &env.change_threshold {
                None => None,
                Some(v) => match crate::settings::safety::Threshold::from_yaml(v) {
                    Ok(t) => Some(t),
                    Err(m) => {
                        let (l, c) = at("change_threshold:");
                        problems.push(
                            Diagnostic::new(&display, m)
                                .at(l, c)
                                .field(format!("environments.{name}.change_threshold"))
                                .help("write `change_threshold: {percent: 30, min_managed: 10}` or `change_threshold: off`"),
                        );
                        None
                    }
                },
            };
            environments.push(Environment {
                name: name.to_string(),
                target,
                prune,
                protect: env.protect,
                parallelism: env.parallelism,
                usage: env.usage != Some(UsageSwitch::Off),
                page_size: env.page_size,
                change_threshold,
                implicit: false,
            });
        }
        if config.environments.is_empty() {
            problems.push(
                Diagnostic::new(&display, "no environments are configured")
                    .field("environments")
                    .help("add at least one environment under `environments:`"),
            );
        }
        let owner = config
            .owner
            .unwrap_or_else(|| crate::model::DEFAULT_OWNER.into());
        if let Err(m) = crate::model::check_owner(&owner) {
            let (l, c) = line_of(text, "owner:");
            problems.push(Diagnostic::new(&display, m)
                .at(l, c)
                .field("owner")
                .help("use letters, digits, `-`, `_` and `.`, at most 40 characters (e.g. `platform-team`)"));
        }
        // Every problem at once: the reading's, the vocabulary's, and those of the rules above
        // that the vocabulary did not report already.
        problems.retain(|d| !d.field.as_deref().is_some_and(|f| vocabulary.covers(f)));
        found.extend(problems);
        if !found.is_empty() {
            found.sort_by_key(|d| (d.line, d.column));
            return Err(Error::Input(crate::yaml::cap::cap_per_file_counting(
                found,
                |_| left_out,
            )));
        }
        let written = config.connectors_dir.as_deref().unwrap_or("connectors");
        let connectors_dir = confined(&root, written).map_err(|m| {
            let (l, c) = line_of(text, "connectors_dir:");
            Error::Input(vec![Diagnostic::new(&display, m)
                .at(l, c)
                .field("connectors_dir")
                .help("write a folder inside the folder of skconn.yaml, relative to it (e.g. `connectors_dir: connectors`); a link there must lead inside it too")])
        })?;
        Ok(Settings {
            root,
            connectors_dir,
            environments,
            config_file: Some(path.to_path_buf()),
            show_vars: config.show_vars,
            owner,
            credential_vars,
        })
    }

    /// The environments named by `--env` (all when none), in configuration order.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Environment>> {
        for n in names {
            if !self.environments.iter().any(|e| &e.name == n) {
                let known: Vec<&str> = self.environments.iter().map(|e| e.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "unknown environment `{n}`; configured: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(self
            .environments
            .iter()
            .filter(|e| names.is_empty() || names.contains(&e.name))
            .collect())
    }
}

/// Registers, for redaction, the value of every key of an environment that looks like a
/// credential (`client_secret`, and mistyped keys such as `client_secert` or `password`), whatever
/// its type, before anything can print it, and adds the variables such a value is taken from to
/// `vars`. A URL's password is registered too.
fn register_credentials(env: &serde_yaml::Value, vars: &mut Vec<String>) {
    let Some(map) = env.as_mapping() else { return };
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default().to_ascii_lowercase();
        let value = match v {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        let credential = crate::vocabulary::config::looks_like_credential(&key);
        if credential && value.contains("${") {
            for var in expand_all(&value, &|_| None).named {
                if !vars.contains(&var) {
                    vars.push(var);
                }
            }
        } else if credential {
            crate::output::secret::register(&value);
        }
        if key == "url" {
            register_userinfo(&value);
        }
    }
}

/// The folder `written` names, relative to `root`, when it stays inside `root` once `..` and
/// links are resolved (`root` itself included); otherwise why not. A folder that does not exist
/// yet is judged by the part of its path that does.
pub fn confined(root: &Path, written: &str) -> std::result::Result<PathBuf, String> {
    use std::path::Component;
    let joined = root.join(written.trim());
    let outside = || {
        format!(
            "`{}` leads outside the folder of skconn.yaml ({}); connector files must be inside it",
            written.trim(),
            root.display()
        )
    };
    let Ok(canon_root) = std::fs::canonicalize(root) else {
        return Ok(joined);
    };
    // The longest part of the path that exists, resolved; the rest taken as written.
    let mut existing = joined.as_path();
    let mut rest: Vec<Component<'_>> = Vec::new();
    let resolved = loop {
        match std::fs::canonicalize(existing) {
            Ok(p) => break p,
            Err(_) => {
                let Some(parent) = existing.parent() else {
                    return Err(outside());
                };
                if let Some(last) = existing.components().next_back() {
                    rest.push(last);
                }
                existing = parent;
            }
        }
    };
    let mut full = resolved;
    for c in rest.into_iter().rev() {
        match c {
            Component::Normal(n) => full.push(n),
            Component::ParentDir => {
                full.pop();
            }
            _ => {}
        }
    }
    if full.starts_with(&canon_root) {
        Ok(joined)
    } else {
        Err(outside())
    }
}

/// Registers the password of a URL (`https://user:pass@host`), if any. A user name is not a
/// secret: registered, it would mask the same word in every message ("a *** name").
pub fn register_userinfo(raw: &str) {
    if let Some((_, rest)) = raw.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                crate::output::secret::register(password);
            }
        }
    }
}

/// A URL as it may be shown: any `user:password@` removed.
pub fn shown_url(raw: &str) -> String {
    let raw = raw.trim();
    if let Some((scheme, rest)) = raw.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    raw.to_string()
}

/// The line and column of `field:` inside the block of environment `env`.
fn line_of_field(text: &str, env: &str, field: &str) -> Option<(usize, usize)> {
    let mut in_env = false;
    let mut env_indent = 0;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.starts_with(&format!("{env}:")) {
            in_env = true;
            env_indent = indent;
            continue;
        }
        if in_env {
            if !body.is_empty() && !body.starts_with('#') && indent <= env_indent {
                in_env = false;
                continue;
            }
            if body.starts_with(&format!("{field}:")) {
                return Some((i + 1, indent + 1));
            }
        }
    }
    None
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn yaml_message(e: &serde_yaml::Error) -> String {
    // serde_yaml appends " at line L column C"; the diagnostic carries the position already.
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// 1-based line and column of the first occurrence of `needle`, or (0, 0).
fn line_of(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (i + 1, c + 1);
        }
    }
    (0, 0)
}

/// Expands `${VAR}` from the environment; `$${` is a literal `${`. Returns the first missing
/// variable's name as the error.
pub fn expand_vars(raw: &str, lookup: EnvLookup<'_>) -> std::result::Result<String, String> {
    let e = expand_all(raw, lookup);
    match e.missing.into_iter().next() {
        Some(var) => Err(var),
        None => Ok(e.value),
    }
}

/// The outcome of expanding the `${VAR}`s of one string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The string with every variable that is set replaced by its value.
    pub value: String,
    /// `(name, value)` of each variable used, in order of use.
    pub used: Vec<(String, String)>,
    /// The names of the variables that are not set, in order of use.
    pub missing: Vec<String>,
    /// The name of every variable written, set or not, default or not, in order.
    pub named: Vec<String>,
}

/// Like [`expand_vars`], and reports every variable used and every one missing.
///
/// `${VAR}` needs `VAR` set and not empty (CI systems turn an unset variable into an empty
/// string); `${VAR:-default}` takes `default` when `VAR` is unset or empty (the default may be
/// empty); `$${` is a literal `${`.
pub fn expand_all(raw: &str, lookup: EnvLookup<'_>) -> Expansion {
    let mut e = Expansion::default();
    if !raw.contains('$') {
        e.value = raw.to_string();
        return e;
    }
    let out = &mut e.value;
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix("${") {
            match body.find('}') {
                Some(end) => {
                    let inner = &body[..end];
                    let (var, default) = match inner.split_once(":-") {
                        Some((v, d)) => (v, Some(d)),
                        None => (inner, None),
                    };
                    e.named.push(var.to_string());
                    match (lookup(var).filter(|v| !v.is_empty()), default) {
                        (Some(v), _) => {
                            out.push_str(&v);
                            e.used.push((var.to_string(), v));
                        }
                        (None, Some(d)) => out.push_str(d),
                        (None, None) => e.missing.push(var.to_string()),
                    }
                    rest = &body[end + 1..];
                }
                None => {
                    out.push_str(after);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    e
}

/// Parses an environment URL: `https://`, or `http://` on a loopback host only; a host is
/// required, and a user name or password is refused (and never shown).
pub fn parse_url(raw: &str) -> std::result::Result<url::Url, String> {
    let shown = shown_url(raw);
    let trimmed = raw.trim();
    if let Some((_, rest)) = trimmed.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            register_userinfo(trimmed);
            return Err(format!(
                "`{shown}` must not hold a user name or password; use client_id and client_secret"
            ));
        }
        if crate::model::written_host(trimmed).is_none() {
            return Err(format!("`{shown}` has no host"));
        }
    }
    let url = url::Url::parse(trimmed).map_err(|e| format!("`{shown}` is not a URL: {e}"))?;
    if url.host().is_none() {
        return Err(format!("`{shown}` has no host"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{shown}` uses http://; only https:// is allowed (http:// only on loopback)"
        )),
        other => Err(format!("`{shown}` has scheme `{other}`; use https://")),
    }
}

/// Whether a URL's host is on this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A lookup of these variables only.
    pub(crate) fn env(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn expands_and_escapes() {
        let l = env(&[("A", "1")]);
        assert_eq!(expand_vars("x${A}y$${A}", &l).unwrap(), "x1y${A}");
        assert_eq!(expand_vars("${B}", &l).unwrap_err(), "B");
        assert_eq!(expand_vars("cost $5", &l).unwrap(), "cost $5");
        let all = expand_all("${A}-${B}-${C}-$${A}", &l);
        assert_eq!(all.value, "1---${A}");
        assert_eq!(all.used, [("A".to_string(), "1".to_string())]);
        assert_eq!(all.missing, ["B", "C"]);
    }

    /// The field names serde reads for a struct (serde hands them to `deserialize_struct`).
    fn serde_fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        use serde::de::{value::Error as E, Error, Visitor};
        struct Capture<'a>(&'a mut &'static [&'static str]);
        impl<'de> serde::Deserializer<'de> for Capture<'_> {
            type Error = E;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, E> {
                Err(E::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> std::result::Result<V::Value, E> {
                *self.0 = fields;
                Err(E::custom("captured"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
                identifier ignored_any
            }
        }
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(Capture(&mut fields));
        fields
    }

    /// The vocabulary table (`config`) and what this module reads are the same keys: a key
    /// added to one must be added to the other.
    #[test]
    fn the_config_vocabulary_names_exactly_the_keys_read_here() {
        let names = |keys: &[crate::vocabulary::config::Key]| {
            let mut v: Vec<&str> = keys.iter().map(|k| k.name).collect();
            v.sort_unstable();
            v
        };
        let sorted = |f: &[&'static str]| {
            let mut v = f.to_vec();
            v.sort_unstable();
            v
        };
        assert_eq!(
            names(crate::vocabulary::config::TOP),
            sorted(serde_fields::<FileConfig>())
        );
        assert_eq!(
            names(crate::vocabulary::config::ENVIRONMENT),
            sorted(serde_fields::<FileEnvironment>())
        );
    }

    #[test]
    fn show_vars_are_read() {
        let text = "environments:\n  dev:\n    url: local\nshow_vars: [API_HOST]\n";
        let s = Settings::from_file(Path::new("/r/skconn.yaml"), text, &env(&[])).unwrap();
        assert_eq!(s.show_vars, ["API_HOST"]);
    }

    #[test]
    fn url_rules() {
        assert!(parse_url("https://acme.scalekit.dev").is_ok());
        assert!(parse_url("http://127.0.0.1:8787").is_ok());
        assert!(parse_url("http://localhost:1").is_ok());
        assert!(parse_url("http://acme.scalekit.dev").is_err());
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("https:///v2").is_err());
        assert!(parse_url("https://u:p@a.scalekit.dev").is_err());
    }

    #[test]
    fn a_credential_of_the_wrong_type_is_refused_without_quoting_it() {
        let text = "environments:\n  dev:\n    url: https://a.scalekit.dev\n    client_id: x\n    client_secret: 98765432101\n";
        let err = Settings::from_file(Path::new("skconn.yaml"), text, &env(&[])).unwrap_err();
        let Error::Input(d) = err else { panic!() };
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("expected text"), "{}", d[0]);
        assert!(!d[0].to_string().contains("98765432101"));
        assert!(!format!("{:?}", d[0].help).contains("98765432101"));
        assert_eq!(d[0].line, 5);
        assert_eq!(crate::output::secret::redact("98765432101"), "***");
    }

    #[test]
    fn shown_urls_lose_their_userinfo() {
        assert_eq!(shown_url("https://u:p@h.example/x"), "https://h.example/x");
        assert_eq!(shown_url("https://h.example/x@y"), "https://h.example/x@y");
    }

    #[test]
    fn environments_keep_their_order() {
        let text =
            "environments:\n  prod:\n    url: local\n  dev:\n    url: local\n    prune: all\n";
        let s = Settings::from_file(Path::new("/r/skconn.yaml"), text, &env(&[])).unwrap();
        let names: Vec<_> = s.environments.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["prod", "dev"]);
        assert_eq!(s.environments[1].prune, Prune::All);
        assert_eq!(s.connectors_dir, Path::new("/r/connectors"));
    }
}
