//! The configuration checks: the local folder, and per environment its URL, which variables its
//! credentials come from (named, never shown), the rule that keeps its client secret with its
//! URL, and the proxy and CA settings in force. Nothing here sends anything.

use super::{Check, Status};
use crate::base::error::Diagnostic;
use crate::settings::credentials::{self, Binding, Credentials, TRUSTED_HOSTS_VAR};
use crate::settings::{expand_all, parse_url, shown_url, EnvLookup, Environment, Target, Written};
use std::path::{Path, PathBuf};

/// What the project's folder holds.
#[derive(Debug, Clone)]
pub struct Folder {
    /// skconn.yaml, as shown (relative to the repository root), when one was read.
    pub config_file: Option<String>,
    /// Without skconn.yaml: whether the environment comes from `SCALEKIT_*` variables (else it
    /// is the local one).
    pub from_variables: bool,
    /// The connectors folder, as shown.
    pub connectors_dir: String,
    /// Neither a skconn.yaml nor a connectors folder: nothing to plan.
    pub no_project: bool,
    /// The connectors folder does not exist.
    pub dir_missing: bool,
    /// Connector files read (all valid), or how many problems they and skconn.yaml have.
    pub files: Result<usize, usize>,
}

/// The `folder` check when the configuration cannot be read at all (`problems` problems, or
/// this message).
pub fn unreadable_config(problems: Result<usize, String>) -> Check {
    let saw = match problems {
        Ok(n) => format!("the configuration cannot be read: {n} problem(s)"),
        Err(message) => format!("the configuration cannot be read: {message}"),
    };
    Check::failed(
        "folder",
        saw,
        "fix what the error names (file, line and column are on standard error), then run doctor again",
    )
}

/// The `folder` check.
pub fn folder_check(f: &Folder) -> Check {
    const ID: &str = "folder";
    if f.no_project {
        return Check::warning(
            ID,
            format!(
                "no skconn.yaml and no {} folder here: nothing to plan",
                f.connectors_dir
            ),
            "run skconn in your connectors repository (or pass --config), or start one with `skconn init`",
        );
    }
    let config = match &f.config_file {
        Some(p) => format!("configuration {p}"),
        None if f.from_variables => {
            "no skconn.yaml: environment `default` from SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET".into()
        }
        None => "no skconn.yaml and no SCALEKIT_* variables: the local environment".into(),
    };
    match f.files {
        Err(n) => Check::failed(
            ID,
            format!("{config}; {n} problem(s) in the connector files or skconn.yaml"),
            "run `skconn validate`: it names each problem's file, line and column",
        ),
        Ok(_) if f.dir_missing => Check::warning(
            ID,
            format!(
                "{config}; the connectors folder {} does not exist",
                f.connectors_dir
            ),
            format!(
                "create {} and put the connector files there (`skconn new`, `skconn import`)",
                f.connectors_dir
            ),
        ),
        Ok(n) => Check::ok(
            ID,
            format!(
                "{config}; {n} connector file(s) in {}, all valid",
                f.connectors_dir
            ),
        ),
    }
}

/// What the configuration checks of one environment read.
pub struct ConfigInput<'a> {
    pub env: &'a Environment,
    /// The outcome of resolving a remote environment's credentials.
    pub resolved: Option<&'a Result<Credentials, Vec<Diagnostic>>>,
    /// `--ca-file`, when given.
    pub cli_ca_file: Option<&'a Path>,
    /// The repository root, to show paths relative to it.
    pub root: &'a Path,
    pub lookup: EnvLookup<'a>,
}

/// Which check a problem of resolving the credentials belongs to.
fn concerns(d: &Diagnostic, url_vars: &[String]) -> &'static str {
    let field = d.field.as_deref().unwrap_or_default();
    if d.message.contains(TRUSTED_HOSTS_VAR) {
        "config.secret_binding"
    } else if field.ends_with(".url") || url_vars.iter().any(|v| d.message.contains(v.as_str())) {
        "config.url"
    } else if field.ends_with(".ca_file") {
        "config.ca"
    } else {
        "config.credentials"
    }
}

/// A check that failed with these problems: their messages, and their help as the advice.
fn problems(id: &'static str, found: &[&Diagnostic]) -> Check {
    let saw: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    let mut help: Vec<&str> = found.iter().filter_map(|d| d.help.as_deref()).collect();
    help.dedup();
    Check::failed(id, saw.join("; "), help.join("; "))
}

/// Where a value comes from: `from `VAR` (set)`, or written in the file.
fn source(w: &Written, lookup: EnvLookup<'_>) -> String {
    let e = expand_all(&w.text, lookup);
    if e.named.is_empty() {
        return "written in skconn.yaml".into();
    }
    let vars: Vec<String> = e
        .named
        .iter()
        .map(|v| {
            let state = match lookup(v) {
                Some(x) if !x.is_empty() => "set",
                Some(_) => "set but empty",
                None => "not set",
            };
            format!("`{v}` ({state})")
        })
        .collect();
    format!("from {}", vars.join(", "))
}

/// The proxy variables set, as `NAME=address` (credentials removed), in the order reqwest reads
/// them.
fn proxy_variables() -> Vec<String> {
    let mut out = Vec::new();
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        let Ok(value) = std::env::var(name) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("NO_PROXY") {
            out.push(format!("{name}={}", value.trim()));
        } else {
            crate::settings::register_userinfo(&value);
            out.push(format!("{name}={}", shown_url(&value)));
        }
    }
    out
}

fn shown_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// One CA source: `label path (N certificates)`, or why it cannot be used.
fn ca_source(label: &str, shown: &str, path: &Path) -> Result<String, String> {
    match crate::remote::count_ca_certificates(path) {
        Ok(n) => Ok(format!("{label} {shown} ({n} certificate(s))")),
        Err(e) => Err(format!("{label}: {e}")),
    }
}

/// The configuration checks of one environment, and the checks that cannot run for what they
/// found.
pub fn configuration(input: &ConfigInput<'_>) -> (Vec<Check>, Vec<&'static str>) {
    let mut checks = Vec::new();
    let mut not_run = Vec::new();
    let env = input.env;
    let lookup = input.lookup;
    let spec = match &env.target {
        Target::Local { state_file } => {
            let state = shown_path(input.root, state_file);
            checks.push(if env.implicit {
                Check::warning(
                    "config.url",
                    format!("no skconn.yaml and no SCALEKIT_* variables: the local environment, an emulator on this machine that keeps its connectors in {state} (not Scalekit)"),
                    "to check a Scalekit environment, set SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET, or write a skconn.yaml (`skconn init`)",
                )
            } else {
                Check::ok(
                    "config.url",
                    format!("local: the embedded emulator on this machine, its connectors kept in {state} (not Scalekit)"),
                )
            });
            checks.push(Check::ok(
                "config.credentials",
                "none needed: the local environment makes its own",
            ));
            checks.push(Check::ok(
                "config.secret_binding",
                "nothing is sent off this machine",
            ));
            checks.push(Check::ok("config.proxy", proxy_text(true)));
            checks.push(Check::ok(
                "config.ca",
                "not used: the local environment is plain http:// on loopback",
            ));
            return (checks, not_run);
        }
        Target::Remote(spec) => spec,
    };
    let diags: Vec<&Diagnostic> = match input.resolved {
        Some(Err(d)) => d.iter().collect(),
        _ => Vec::new(),
    };
    let url_vars = expand_all(&spec.url.text, lookup).named;
    let of = |id: &str| -> Vec<&Diagnostic> {
        diags
            .iter()
            .copied()
            .filter(|d| concerns(d, &url_vars) == id)
            .collect()
    };

    // The URL.
    let url_from = source(&spec.url, lookup);
    let url = match input.resolved {
        Some(Ok(c)) => Some(c.url.clone()),
        _ => {
            let e = expand_all(&spec.url.text, lookup);
            e.missing
                .is_empty()
                .then(|| parse_url(&e.value).ok())
                .flatten()
        }
    };
    let found = of("config.url");
    checks.push(if !found.is_empty() {
        problems("config.url", &found)
    } else {
        match &url {
            Some(u) => Check::ok(
                "config.url",
                format!(
                    "{}, {url_from}",
                    shown_url(u.as_str()).trim_end_matches('/')
                ),
            ),
            None => Check::failed(
                "config.url",
                format!("the URL cannot be read ({url_from})"),
                "set it to the environment URL from the Scalekit dashboard (https://…)",
            ),
        }
    });

    // The credentials: where they come from, never what they are.
    let found = of("config.credentials");
    let secret_written = expand_all(&spec.client_secret.text, lookup)
        .named
        .is_empty();
    let saw = format!(
        "client_id {}; client_secret {}",
        source(&spec.client_id, lookup),
        source(&spec.client_secret, lookup)
    );
    checks.push(if !found.is_empty() {
        let mut c = problems("config.credentials", &found);
        c.saw = format!("{saw}: {}", c.saw);
        c
    } else if secret_written {
        Check::warning(
            "config.credentials",
            saw,
            format!(
                "take the secret from a variable set in your CI's secret store (`client_secret: ${{SCALEKIT_{}_CLIENT_SECRET}}`), and rotate the one written in the file",
                env.name.to_uppercase().replace('-', "_")
            ),
        )
    } else {
        Check::ok("config.credentials", saw)
    });

    // Where the secret may go.
    let found = of("config.secret_binding");
    if !found.is_empty() {
        checks.push(problems("config.secret_binding", &found));
    } else {
        match input.resolved {
            Some(Ok(c)) => checks.push(match credentials::binding(spec, &c.url, lookup) {
                Ok(Binding::Family { secret_var, url_var }) => Check::ok(
                    "config.secret_binding",
                    format!("the secret from `{secret_var}` goes only to the URL of its family, `{url_var}`"),
                ),
                Ok(Binding::TrustedHost { secret_var, host }) => Check::ok(
                    "config.secret_binding",
                    format!("the secret from `{secret_var}` may go to `{host}`: it is listed in {TRUSTED_HOSTS_VAR}"),
                ),
                Ok(Binding::NotFromVariable) => Check::ok(
                    "config.secret_binding",
                    "the secret is written in skconn.yaml itself, so no variable family binds it (see Credentials)",
                ),
                Err((message, help)) => Check::failed("config.secret_binding", message, help),
            }),
            _ => not_run.push("config.secret_binding"),
        }
    }

    // Proxies.
    checks.push(Check::ok(
        "config.proxy",
        proxy_text(url.as_ref().is_some_and(crate::settings::is_loopback)),
    ));

    // CA certificates.
    let found = of("config.ca");
    if !found.is_empty() {
        checks.push(problems("config.ca", &found));
    } else if url.as_ref().is_some_and(|u| u.scheme() == "http") {
        checks.push(Check::ok(
            "config.ca",
            "not used: the URL is plain http:// on loopback",
        ));
    } else {
        checks.push(ca_check(input));
    }
    (checks, not_run)
}

fn proxy_text(loopback: bool) -> String {
    let set = proxy_variables();
    let mut text = if set.is_empty() {
        "no proxy variable is set (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY)".to_string()
    } else {
        set.join(", ")
    };
    if loopback {
        text.push_str("; loopback is never proxied");
    }
    text
}

fn ca_check(input: &ConfigInput<'_>) -> Check {
    const ID: &str = "config.ca";
    let mut sources = Vec::new();
    let mut broken = Vec::new();
    let mut skipped = Vec::new();
    let env_ca: Option<PathBuf> = match input.resolved {
        Some(Ok(c)) => c.ca_file.clone(),
        _ => None,
    };
    if let Some(p) = &env_ca {
        match ca_source("ca_file", &shown_path(input.root, p), p) {
            Ok(s) => sources.push(s),
            Err(e) => broken.push(e),
        }
    }
    if let Some(p) = input.cli_ca_file {
        match ca_source("--ca-file", &p.display().to_string(), p) {
            Ok(s) => sources.push(s),
            Err(e) => broken.push(e),
        }
    }
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&file);
        match ca_source("SSL_CERT_FILE", &p.display().to_string(), &p) {
            Ok(s) => sources.push(s),
            Err(e) => skipped.push(e),
        }
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
        sources.push(format!("SSL_CERT_DIR {}", PathBuf::from(dirs).display()));
    }
    let mut saw = if sources.is_empty() {
        "no extra CA certificates: the operating system's roots and the bundled web PKI roots"
            .to_string()
    } else {
        format!(
            "{}, besides the operating system's roots and the bundled web PKI roots",
            sources.join(", ")
        )
    };
    if !broken.is_empty() {
        return Check::failed(
            ID,
            broken.join("; "),
            "point ca_file (or --ca-file) at a readable PEM file holding the CA certificate(s) to trust",
        );
    }
    if !skipped.is_empty() {
        saw.push_str(&format!("; {} (skipped)", skipped.join("; ")));
        return Check::warning(
            ID,
            saw,
            "fix or unset SSL_CERT_FILE: skconn skips a file it cannot read",
        );
    }
    Check::new(ID, Status::Ok, saw)
}
