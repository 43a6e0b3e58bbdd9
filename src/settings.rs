//! Resolved settings: flags, environment variables and `skconn.yaml`, merged and checked once.
//! The rest of skconn sees only [`Settings`].
//!
//! `skconn.yaml`:
//!
//! ```yaml
//! connectors_dir: connectors          # default
//! environments:                       # applied in this order
//!   dev:
//!     url: ${SCALEKIT_DEV_URL}        # or `local` for the embedded emulator
//!     client_id: ${SCALEKIT_DEV_CLIENT_ID}
//!     client_secret: ${SCALEKIT_DEV_CLIENT_SECRET}
//!     prune: managed                  # off (default) | managed | all
//!     page_size: 1000                 # listing page size asked for (default 1000)
//!     change_threshold: {percent: 30, min_managed: 10}   # or `off`
//! show_vars: [API_HOST]               # variables whose values connector files may show
//! ```
//!
//! The file is looked for as `skconn.yaml` (or `skconn.yml`) in the working directory and each
//! folder above it up to the repository root (the folder holding `.git`).
//!
//! Without the file: one environment `default` from `SCALEKIT_ENVIRONMENT_URL`,
//! `SCALEKIT_CLIENT_ID` and `SCALEKIT_CLIENT_SECRET` when they are set, otherwise the embedded
//! `local` environment (marked [`Environment::implicit`]).

use crate::error::{Diagnostic, Error, Result};
use crate::secret::Secret;
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

/// Where an environment lives.
#[derive(Debug, Clone)]
pub enum Target {
    /// A Scalekit environment reached over HTTP.
    Remote {
        url: url::Url,
        client_id: String,
        client_secret: Secret,
    },
    /// The embedded emulator, started in this process, state kept in `state_file`.
    Local { state_file: PathBuf },
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
    /// The page size asked for when listing, when set in skconn.yaml.
    pub page_size: Option<usize>,
    /// The change threshold, when set in skconn.yaml (`None`: the defaults).
    pub change_threshold: Option<crate::plan::safety::Threshold>,
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEnvironment {
    url: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    prune: Option<Prune>,
    #[serde(default)]
    protect: Vec<String>,
    #[serde(default)]
    parallelism: Option<usize>,
    #[serde(default)]
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
            None => match crate::config_file::discover()? {
                Some(found) => (found, true),
                None => (PathBuf::from("skconn.yaml"), false),
            },
        };
        match crate::config_file::read(&path) {
            Ok(text) => Self::from_file(&path, &text, lookup),
            Err(crate::config_file::ReadError::Refused(d)) => Err(Error::Input(vec![d])),
            Err(crate::config_file::ReadError::Io(e))
                if e.kind() == std::io::ErrorKind::NotFound && !explicit =>
            {
                Self::without_file(lookup)
            }
            Err(crate::config_file::ReadError::Io(e)) => Err(Error::Input(vec![Diagnostic::new(
                &path,
                format!("cannot read the configuration file: {e}"),
            )
            .help("check the path given to --config (or SKCONN_CONFIG)")])),
        }
    }

    fn without_file(lookup: EnvLookup<'_>) -> Result<Settings> {
        let root = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the working directory", e))?;
        let url = lookup("SCALEKIT_ENVIRONMENT_URL").filter(|s| !s.is_empty());
        let environment = match url {
            Some(url) => {
                let where_ = Path::new("environment variables");
                let mut problems = Vec::new();
                let id = lookup("SCALEKIT_CLIENT_ID").filter(|s| !s.is_empty());
                let secret = lookup("SCALEKIT_CLIENT_SECRET").filter(|s| !s.is_empty());
                if id.is_none() {
                    problems.push(
                        Diagnostic::new(
                            where_,
                            "SCALEKIT_ENVIRONMENT_URL is set but SCALEKIT_CLIENT_ID is not",
                        )
                        .help("set SCALEKIT_CLIENT_ID, or configure environments in skconn.yaml"),
                    );
                }
                if secret.is_none() {
                    problems.push(
                        Diagnostic::new(
                            where_,
                            "SCALEKIT_ENVIRONMENT_URL is set but SCALEKIT_CLIENT_SECRET is not",
                        )
                        .help(
                            "set SCALEKIT_CLIENT_SECRET, or configure environments in skconn.yaml",
                        ),
                    );
                }
                let url = parse_url(&url).map_err(|m| {
                    problems.push(Diagnostic::new(where_, format!("SCALEKIT_ENVIRONMENT_URL: {m}")).help("use the environment URL shown in the Scalekit dashboard, e.g. https://acme.scalekit.dev"));
                });
                if !problems.is_empty() {
                    return Err(Error::Input(problems));
                }
                Environment {
                    name: "default".into(),
                    target: Target::Remote {
                        url: url.expect("checked"),
                        client_id: id.expect("checked"),
                        client_secret: Secret::new(secret.expect("checked")),
                    },
                    prune: Prune::Off,
                    protect: Vec::new(),
                    parallelism: None,
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
                page_size: None,
                change_threshold: None,
                implicit: true,
            },
        };
        Ok(Settings {
            connectors_dir: root.join("connectors"),
            root,
            environments: vec![environment],
            config_file: None,
            show_vars: Vec::new(),
        })
    }

    fn from_file(path: &Path, text: &str, lookup: EnvLookup<'_>) -> Result<Settings> {
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::env::current_dir()
                .map_err(|e| Error::io("cannot read the working directory", e))?,
        };
        let display = path.to_path_buf();
        crate::config_file::guard(&display, text).map_err(Error::Input)?;
        let config: FileConfig = serde_yaml::from_str(text).map_err(|e| {
            let mut d = Diagnostic::new(&display, yaml_message(&e))
                .help("see the README section on skconn.yaml for the format");
            if let Some(loc) = e.location() {
                d = d.at(loc.line(), loc.column());
            }
            Error::Input(vec![d])
        })?;
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
                            .help("an environment has `url`, `client_id`, `client_secret`, and optionally `prune: off|managed|all`, `protect: [names]`, `parallelism: N`, `page_size: N`, `change_threshold: {percent: P, min_managed: N}` or `off`"),
                    );
                    continue;
                }
            };
            let mut expand_field = |field: &str, raw: &str| -> Option<String> {
                match expand_vars(raw, lookup) {
                    Ok(v) => Some(v),
                    Err(var) => {
                        let (l, c) = at(&format!("${{{var}}}"));
                        problems.push(
                            Diagnostic::new(&display, format!("the environment variable `{var}` is not set"))
                                .at(l, c)
                                .field(format!("environments.{name}.{field}"))
                                .help(format!("set {var} before running skconn (in CI, from a secret), or write the value here")),
                        );
                        None
                    }
                }
            };
            let url = expand_field("url", &env.url);
            let client_id = env
                .client_id
                .as_deref()
                .map(|v| expand_field("client_id", v));
            let client_secret = env
                .client_secret
                .as_deref()
                .map(|v| expand_field("client_secret", v));
            // Register the secret before anything can print it, even if resolution fails later.
            if let Some(Some(s)) = &client_secret {
                crate::secret::register(s);
            }
            let Some(url) = url else { continue };
            let prune = env.prune.unwrap_or(Prune::Off);
            let target = if url == "local" {
                let state_file = root.join(".skconn").join(format!("{name}.json"));
                Target::Local { state_file }
            } else {
                let (l, c) = at(&format!("{name}:"));
                let parsed = match parse_url(&url) {
                    Ok(u) => Some(u),
                    Err(m) => {
                        problems.push(
                            Diagnostic::new(&display, m)
                                .at(l, c)
                                .field(format!("environments.{name}.url"))
                                .help("use the environment URL from the Scalekit dashboard (https://…), or `local`"),
                        );
                        None
                    }
                };
                let mut missing = |field: &str| {
                    problems.push(
                        Diagnostic::new(
                            &display,
                            format!("`{field}` is required for a remote environment"),
                        )
                        .at(l, c)
                        .field(format!("environments.{name}.{field}"))
                        .help(format!(
                            "add `{field}: ${{SCALEKIT_{}_{}}}`",
                            name.to_uppercase().replace('-', "_"),
                            field.to_uppercase()
                        )),
                    );
                };
                match (parsed, client_id, client_secret) {
                    (Some(url), Some(Some(id)), Some(Some(secret))) => Target::Remote {
                        url,
                        client_id: id,
                        client_secret: Secret::new(secret),
                    },
                    (_, id, secret) => {
                        if id.is_none() {
                            missing("client_id");
                        }
                        if secret.is_none() {
                            missing("client_secret");
                        }
                        continue;
                    }
                }
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
                Some(v) => match crate::plan::safety::Threshold::from_yaml(v) {
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
        if !problems.is_empty() {
            return Err(Error::Input(problems));
        }
        let connectors_dir = root.join(config.connectors_dir.as_deref().unwrap_or("connectors"));
        Ok(Settings {
            root,
            connectors_dir,
            environments,
            config_file: Some(path.to_path_buf()),
            show_vars: config.show_vars,
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
}

/// Like [`expand_vars`], and reports every variable used and every one missing.
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
                    let var = &body[..end];
                    match lookup(var) {
                        Some(v) => {
                            out.push_str(&v);
                            e.used.push((var.to_string(), v));
                        }
                        None => e.missing.push(var.to_string()),
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

/// Parses an environment URL: `https://`, or `http://` on a loopback host only.
pub fn parse_url(raw: &str) -> std::result::Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{raw}` uses http://; only https:// is allowed (http:// only on loopback)"
        )),
        other => Err(format!("`{raw}` has scheme `{other}`; use https://")),
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
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
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
    }

    #[test]
    fn file_with_missing_variable_names_it_and_its_line() {
        let text = "environments:\n  dev:\n    url: ${DEV_URL}\n    client_id: x\n    client_secret: ${DEV_SECRET}\n";
        let l = env(&[("DEV_URL", "https://a.scalekit.dev")]);
        let err = Settings::from_file(Path::new("skconn.yaml"), text, &l).unwrap_err();
        let Error::Input(d) = err else { panic!() };
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("DEV_SECRET"));
        assert_eq!(d[0].line, 5);
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
