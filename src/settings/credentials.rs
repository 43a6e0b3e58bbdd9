//! Credentials of one environment, resolved when — and only when — a command talks to it, and
//! the rules that keep a credential with its environment.
//!
//! `validate`, `schema` and every command that sends nothing resolve none; `plan --env dev`
//! resolves dev's and no other, so a job holds only the secret of the environment it works on.
//! A variable that is unset or empty is missing (`${VAR:-default}` allows a default); a missing
//! variable is an error naming it, the environment and the line that uses it, and the help
//! names the variables to set, never a default for a credential. Values of credentials are
//! registered for redaction as soon as they are read, and never quoted; a client secret
//! shorter than [`MIN_SECRET_CHARS`] characters is refused (it could not be masked).
//!
//! A client secret taken from a variable goes only where that variable's family says: the URL
//! must be the variable of the same family (`…_URL` or `…_ENVIRONMENT_URL` beside `…SECRET`,
//! see [`url_variables`]) or a host listed in `SKCONN_TRUSTED_HOSTS`, a variable the CI system
//! sets ([`TRUSTED_HOSTS_VAR`]). Otherwise nothing is sent: a pull request that edits
//! skconn.yaml cannot point an environment's secret at a server of its own.
//!
//! What it must never do: read `SKCONN_TRUSTED_HOSTS` from a file, or let a secret's variable
//! be used anywhere but in skconn.yaml's credentials (see [`crate::output::secret::is_secret_name`]).

use crate::base::error::Diagnostic;
use crate::output::secret::{Secret, MIN_SECRET_CHARS};
use crate::settings::{expand_all, parse_url, EnvLookup, RemoteSpec, Written};
use std::path::PathBuf;

/// The variable that lists the hosts a client secret may be sent to whatever skconn.yaml
/// says: set by the CI system, never read from a file.
pub const TRUSTED_HOSTS_VAR: &str = "SKCONN_TRUSTED_HOSTS";

fn ends_with_ignore_case(name: &str, end: &str) -> bool {
    name.len() >= end.len()
        && name.is_char_boundary(name.len() - end.len())
        && name[name.len() - end.len()..].eq_ignore_ascii_case(end)
}

/// Registers for redaction the value of every variable whose name says it is a secret
/// ([`crate::output::secret::is_secret_name`]), from these `(name, value)` pairs (the process
/// environment).
pub fn register_secret_variables(vars: impl IntoIterator<Item = (String, String)>) {
    for (name, value) in vars {
        if crate::output::secret::is_secret_name(&name) {
            crate::output::secret::register(&value);
        }
    }
}

/// The URL variables of a client secret's family: strip `CLIENT_SECRET`, else `SECRET`, from
/// the end of its name to get `P`; they are `P` + `URL` and `P` + `ENVIRONMENT_URL`
/// (`SCALEKIT_PROD_CLIENT_SECRET` → `SCALEKIT_PROD_URL`, `SCALEKIT_PROD_ENVIRONMENT_URL`).
/// `None` for a name without either ending: no URL variable belongs with it.
pub fn url_variables(secret_var: &str) -> Option<[String; 2]> {
    let prefix = ["CLIENT_SECRET", "SECRET"]
        .iter()
        .find(|end| ends_with_ignore_case(secret_var, end))
        .map(|end| &secret_var[..secret_var.len() - end.len()])?;
    Some([format!("{prefix}URL"), format!("{prefix}ENVIRONMENT_URL")])
}

/// One entry of `SKCONN_TRUSTED_HOSTS`: a host, and the port when one is written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TrustedHost {
    host: url::Host<String>,
    port: Option<u16>,
}

/// Reads `SKCONN_TRUSTED_HOSTS`: host names or IP addresses separated by commas or white
/// space, each optionally with `:PORT` (IPv6 in brackets: `[::1]:8443`). A host without a
/// port matches any port. No scheme, path, user or wildcard.
fn trusted_hosts(raw: &str) -> Result<Vec<TrustedHost>, String> {
    let mut out = Vec::new();
    for entry in raw.split(|c: char| c == ',' || c.is_whitespace()) {
        if entry.is_empty() {
            continue;
        }
        let bad = |why: &str| format!("`{entry}` in {TRUSTED_HOSTS_VAR} is not a host name: {why}");
        if entry.contains(['/', '@', '*', '?', '#']) {
            return Err(bad("write the host alone (`acme.scalekit.com`), without scheme, path, user or wildcard"));
        }
        let (host, port) = match entry.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((h, "")) => (format!("[{h}]"), None),
                Some((h, p)) => match p.strip_prefix(':') {
                    Some(p) => (format!("[{h}]"), Some(p)),
                    None => return Err(bad("an IPv6 address is written `[::1]` or `[::1]:PORT`")),
                },
                None => return Err(bad("an IPv6 address is written `[::1]` or `[::1]:PORT`")),
            },
            None => match entry.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (entry.to_string(), None),
            },
        };
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
        };
        let host = url::Host::parse(&host).map_err(|e| bad(&e.to_string()))?;
        out.push(TrustedHost { host, port });
    }
    Ok(out)
}

/// Whether `url` is on one of these hosts (and port, when the entry has one).
fn is_trusted(url: &url::Url, hosts: &[TrustedHost]) -> bool {
    let Some(host) = url.host().map(|h| h.to_owned()) else {
        return false;
    };
    hosts.iter().any(|t| {
        t.host == host
            && t.port
                .is_none_or(|p| Some(p) == url.port_or_known_default())
    })
}

/// The variable a URL is written as, when it is exactly one `${VAR}` (or `${VAR:-default}`).
fn sole_variable(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    let var = inner.split_once(":-").map_or(inner, |(v, _)| v);
    (!var.is_empty() && !var.contains(['$', '{', '}'])).then_some(var)
}

/// What it takes to reach one remote environment.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// Extra CA certificates (PEM) to trust for this environment.
    pub ca_file: Option<PathBuf>,
}

/// Resolves the credentials of environment `env`. Every problem is reported at once.
pub fn resolve(
    env: &str,
    spec: &RemoteSpec,
    lookup: EnvLookup<'_>,
) -> Result<Credentials, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut secret_vars: Vec<String> = Vec::new();
    let mut expand = |field: &str, w: &Written, secret: bool| -> Option<String> {
        let e = expand_all(&w.text, lookup);
        if secret {
            for (_, v) in &e.used {
                crate::output::secret::register(v);
            }
            crate::output::secret::register(&e.value);
            secret_vars.clone_from(&e.named);
        }
        for var in &e.missing {
            problems.push(missing(env, field, var, w, spec, lookup));
        }
        e.missing.is_empty().then_some(e.value)
    };
    let url = expand("url", &spec.url, false);
    let client_id = expand("client_id", &spec.client_id, false);
    let client_secret = expand("client_secret", &spec.client_secret, true);
    let ca_file = spec
        .ca_file
        .as_ref()
        .map(|w| (w, expand("ca_file", w, false)));
    if let Some(u) = &url {
        crate::settings::register_userinfo(u);
    }
    let mut at = |field: &str, w: &Written, message: String, help: &str| {
        problems.push(
            Diagnostic::new(&spec.file, message)
                .at(w.line, w.column)
                .field(format!("environments.{env}.{field}"))
                .help(help.to_string()),
        );
    };
    let parsed = match url.as_deref().map(parse_url) {
        Some(Ok(u)) => Some(u),
        Some(Err(m)) => {
            at(
                "url",
                &spec.url,
                m,
                "use the environment URL from the Scalekit dashboard (https://…), or `local`",
            );
            None
        }
        None => None,
    };
    if let Some(u) = &parsed {
        if let Some((message, help)) = unbound(&spec.url.text, u, &secret_vars, lookup) {
            at("url", &spec.url, message, &help);
        }
    }
    if client_id.as_deref().is_some_and(|s| s.trim().is_empty()) {
        at(
            "client_id",
            &spec.client_id,
            "`client_id` is empty".into(),
            "set it to the client id shown in the Scalekit dashboard",
        );
    }
    match client_secret.as_deref() {
        Some("") => at(
            "client_secret",
            &spec.client_secret,
            "`client_secret` is empty".into(),
            "set it from this environment's secret",
        ),
        Some(s) if s.chars().count() < MIN_SECRET_CHARS => at(
            "client_secret",
            &spec.client_secret,
            format!(
                "`client_secret` is shorter than {MIN_SECRET_CHARS} characters: no client secret is that short, and skconn could not mask one that is"
            ),
            "set it to this environment's client secret from the Scalekit dashboard",
        ),
        _ => {}
    }
    let ca_file = match ca_file {
        Some((_, Some(p))) if p.trim().is_empty() => None,
        Some((written, Some(p))) => {
            let path = spec.root.join(p.trim());
            if !path.is_file() {
                at(
                    "ca_file",
                    written,
                    format!("the CA file {} does not exist", path.display()),
                    "point ca_file at a PEM file holding the CA certificate(s) to trust",
                );
            }
            Some(path)
        }
        _ => None,
    };
    if !spec.in_file {
        // No file to point at: the variables are named instead.
        for d in &mut problems {
            d.field = None;
            d.line = 0;
            d.column = 0;
        }
    }
    // Each value is missing only with a problem said about it, so credentials exist exactly
    // when nothing was said.
    match (parsed, client_id, client_secret) {
        (Some(url), Some(client_id), Some(client_secret)) if problems.is_empty() => {
            Ok(Credentials {
                url,
                client_id,
                client_secret: Secret::new(client_secret),
                ca_file,
            })
        }
        _ => Err(problems),
    }
}

/// The URL of environment `env` alone, for a plan against a snapshot of it: only the URL's
/// variables are looked up, never those of the client id, the client secret or the CA file.
pub fn resolve_url(
    env: &str,
    spec: &RemoteSpec,
    lookup: EnvLookup<'_>,
) -> Result<url::Url, Vec<Diagnostic>> {
    let e = expand_all(&spec.url.text, lookup);
    if !e.missing.is_empty() {
        return Err(e
            .missing
            .iter()
            .map(|var| missing(env, "url", var, &spec.url, spec, lookup))
            .collect());
    }
    crate::settings::register_userinfo(&e.value);
    parse_url(&e.value).map_err(|m| {
        vec![Diagnostic::new(&spec.file, m)
            .at(spec.url.line, spec.url.column)
            .field(format!("environments.{env}.url"))
            .help("use the environment URL from the Scalekit dashboard (https://…), or `local`")]
    })
}

/// A variable that is not set (or is empty): where it is used, and what to set. A default is
/// suggested only for `ca_file`: a credential's or a URL's default would be written in the file.
fn missing(
    env: &str,
    field: &str,
    var: &str,
    w: &Written,
    spec: &RemoteSpec,
    lookup: EnvLookup<'_>,
) -> Diagnostic {
    let state = if lookup(var).is_some() {
        "set but empty"
    } else {
        "not set"
    };
    let message =
        format!("the environment variable `{var}` is {state} (needed by environment `{env}`)");
    if !spec.in_file {
        return Diagnostic::new(&spec.file, message).help(format!(
            "no skconn.yaml was found, so environment `{env}` is made of SCALEKIT_ENVIRONMENT_URL, \
             SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET: set {var} (in CI, from a secret), \
             or write a skconn.yaml (`skconn init`)"
        ));
    }
    let (line, column) = place_of(&spec.text, var).unwrap_or((w.line, w.column));
    let help = if field == "ca_file" {
        format!("set {var} before running skconn; `${{{var}:-default}}` allows an empty or default value")
    } else {
        format!("set {var} before running skconn (in CI, from this environment's secrets)")
    };
    Diagnostic::new(&spec.file, message)
        .at(line, column)
        .field(format!("environments.{env}.{field}"))
        .help(help)
}

/// Why a client secret taken from `secret_vars` may not be sent to `url` (written as
/// `written`), with how to fix it; `None` when it may: no secret comes from a variable, the URL
/// is the variable of the secret's family (and set), or its host is trusted.
fn unbound(
    written: &str,
    url: &url::Url,
    secret_vars: &[String],
    lookup: EnvLookup<'_>,
) -> Option<(String, String)> {
    bind(written, url, secret_vars, lookup).err()
}

/// What allows a client secret to go to an environment's URL (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The secret is written in skconn.yaml itself, not taken from a variable: no rule binds it.
    NotFromVariable,
    /// The URL is the variable of the secret's family.
    Family { secret_var: String, url_var: String },
    /// The URL's host is listed in `SKCONN_TRUSTED_HOSTS`.
    TrustedHost { secret_var: String, host: String },
}

/// What lets this environment's client secret go to `url` (its resolved URL), or why it may
/// not go (the message and how to fix it), as [`resolve`] decides.
pub fn binding(
    spec: &RemoteSpec,
    url: &url::Url,
    lookup: EnvLookup<'_>,
) -> Result<Binding, (String, String)> {
    let secret_vars = expand_all(&spec.client_secret.text, lookup).named;
    bind(&spec.url.text, url, &secret_vars, lookup)
}

fn bind(
    written: &str,
    url: &url::Url,
    secret_vars: &[String],
    lookup: EnvLookup<'_>,
) -> Result<Binding, (String, String)> {
    let Some(first) = secret_vars.first() else {
        return Ok(Binding::NotFromVariable);
    };
    let url_var = sole_variable(written).filter(|v| lookup(v).is_some_and(|x| !x.is_empty()));
    let stray = secret_vars.iter().find(|s| {
        !url_variables(s).is_some_and(|family| {
            url_var.is_some_and(|u| family.iter().any(|f| f.eq_ignore_ascii_case(u)))
        })
    });
    let Some(stray) = stray else {
        return Ok(Binding::Family {
            secret_var: first.clone(),
            url_var: url_var.unwrap_or_default().to_string(),
        });
    };
    let trusted = lookup(TRUSTED_HOSTS_VAR).unwrap_or_default();
    let hosts = trusted_hosts(&trusted).map_err(|m| {
        (
            m,
            format!("{TRUSTED_HOSTS_VAR} lists host names, separated by commas or spaces: `acme.scalekit.com, [::1]:8443`"),
        )
    })?;
    let host = url.host_str().unwrap_or_default();
    if is_trusted(url, &hosts) {
        return Ok(Binding::TrustedHost {
            secret_var: stray.clone(),
            host: host.to_string(),
        });
    }
    let family = url_variables(stray);
    let source = match sole_variable(written) {
        Some(v) if url_var.is_some() => format!("the URL from `{v}`, which is not of its family"),
        _ => format!("the URL is written in skconn.yaml (host `{host}`)"),
    };
    let family_text = match &family {
        Some([a, b]) => format!("`{a}` or `{b}`"),
        None => "none: its name does not end in SECRET".into(),
    };
    let message = format!(
        "the client secret comes from `{stray}` but {source}, and `{host}` is not in \
         {TRUSTED_HOSTS_VAR}: a secret from a variable is sent only to the URL of its own family \
         ({family_text}) or to a trusted host, so nothing was sent"
    );
    let help = match &family {
        Some([a, _]) => format!(
            "write `url: ${{{a}}}` and set {a} beside {stray} in the CI system, or add `{host}` to \
             {TRUSTED_HOSTS_VAR} there (a variable of the CI system, never a file)"
        ),
        None => format!(
            "take the secret from a variable named …SECRET with its URL in …URL beside it, or add \
             `{host}` to {TRUSTED_HOSTS_VAR} in the CI system"
        ),
    };
    Err((message, help))
}

/// The line and column of `${var` (or `${var:-`) in the configuration text.
fn place_of(text: &str, var: &str) -> Option<(usize, usize)> {
    for needle in [format!("${{{var}}}"), format!("${{{var}:-")] {
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = line.find(&needle) {
                return Some((i + 1, c + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::env;
    use crate::settings::{Settings, Target};
    use std::path::Path;

    const TWO: &str = "environments:\n  dev:\n    url: ${DEV_URL}\n    client_id: x\n    client_secret: ${DEV_SECRET}\n  prod:\n    url: https://p.scalekit.dev\n    client_id: y\n    client_secret: ${PROD_SECRET}\n";

    fn spec<'a>(s: &'a Settings, name: &str) -> &'a RemoteSpec {
        match &s
            .environments
            .iter()
            .find(|e| e.name == name)
            .unwrap()
            .target
        {
            Target::Remote(r) => r,
            Target::Local { .. } => panic!("remote expected"),
        }
    }

    #[test]
    fn only_the_environment_used_needs_its_variables() {
        let l = env(&[
            ("DEV_URL", "https://d.scalekit.dev"),
            ("DEV_SECRET", "dev-secret-1"),
        ]);
        let s = Settings::from_file(Path::new("skconn.yaml"), TWO, &l).unwrap();
        let dev = resolve("dev", spec(&s, "dev"), &l).unwrap();
        assert_eq!(dev.url.as_str(), "https://d.scalekit.dev/");
        let err = resolve("prod", spec(&s, "prod"), &l).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].message.contains("`PROD_SECRET` is not set"));
        assert!(err[0].message.contains("environment `prod`"));
        assert_eq!(err[0].line, 9);
        // And, all at once: prod's URL is written in the file, not trusted for its secret.
        assert!(err[1]
            .message
            .contains("`p.scalekit.dev` is not in SKCONN_TRUSTED_HOSTS"));
        assert_eq!(err[1].line, 7);
    }

    #[test]
    fn a_secret_s_family_names_its_url_variables() {
        let fam = |s: &str| url_variables(s).map(|[a, b]| format!("{a} {b}"));
        assert_eq!(
            fam("SCALEKIT_PROD_CLIENT_SECRET").as_deref(),
            Some("SCALEKIT_PROD_URL SCALEKIT_PROD_ENVIRONMENT_URL")
        );
        assert_eq!(
            fam("SCALEKIT_CLIENT_SECRET").as_deref(),
            Some("SCALEKIT_URL SCALEKIT_ENVIRONMENT_URL")
        );
        assert_eq!(
            fam("SK_DEV_SECRET").as_deref(),
            Some("SK_DEV_URL SK_DEV_ENVIRONMENT_URL")
        );
        assert_eq!(
            fam("sk_dev_secret").as_deref(),
            Some("sk_dev_URL sk_dev_ENVIRONMENT_URL")
        );
        assert_eq!(fam("PROD_KEY"), None);
        assert_eq!(sole_variable(" ${A_URL} "), Some("A_URL"));
        assert_eq!(sole_variable("${A_URL:-https://x}"), Some("A_URL"));
        assert_eq!(sole_variable("https://${HOST}"), None);
        assert_eq!(sole_variable("${A}${B}"), None);
    }

    #[test]
    fn trusted_hosts_are_exact_hosts_with_an_optional_port() {
        let hosts = trusted_hosts("Acme.Scalekit.Dev, 127.0.0.1:8443  [::1]\n").unwrap();
        let ok = |u: &str| is_trusted(&url::Url::parse(u).unwrap(), &hosts);
        assert!(ok("https://acme.scalekit.dev"));
        assert!(ok("https://ACME.scalekit.dev:9000/x"));
        assert!(ok("http://127.0.0.1:8443"));
        assert!(!ok("http://127.0.0.1:8444"));
        assert!(ok("http://[::1]:1"));
        assert!(!ok("https://evil.acme.scalekit.dev"));
        assert!(!ok("https://acme.scalekit.dev.evil.example"));
        let https = trusted_hosts("acme.scalekit.dev:443").unwrap();
        assert!(is_trusted(
            &url::Url::parse("https://acme.scalekit.dev").unwrap(),
            &https
        ));
        for bad in [
            "https://a.example",
            "*.example.com",
            "a.example/x",
            "u@a.example",
            "a:b",
            "[::1",
        ] {
            assert!(trusted_hosts(bad).is_err(), "{bad}");
        }
        assert!(trusted_hosts(" , ").unwrap().is_empty());
    }

    #[test]
    fn a_short_secret_is_refused_without_being_quoted() {
        let text = "environments:\n  dev:\n    url: ${DEV_URL}\n    client_id: x\n    client_secret: ${DEV_SECRET}\n";
        let l = env(&[
            ("DEV_URL", "https://d.scalekit.dev"),
            ("DEV_SECRET", "s3cr3t"),
        ]);
        let s = Settings::from_file(Path::new("skconn.yaml"), text, &l).unwrap();
        let err = resolve("dev", spec(&s, "dev"), &l).unwrap_err();
        assert!(
            err[0].message.contains("shorter than 8 characters"),
            "{err:?}"
        );
        assert!(!err[0].to_string().contains("s3cr3t"));
    }

    #[test]
    fn the_url_alone_reads_no_credential_variable() {
        let asked = std::sync::Mutex::new(Vec::new());
        let l = |k: &str| {
            asked.lock().unwrap().push(k.to_string());
            (k == "DEV_URL").then(|| "https://d.scalekit.dev".to_string())
        };
        let s = Settings::from_file(Path::new("skconn.yaml"), TWO, &l).unwrap();
        // Reading skconn.yaml registers its credential variables for masking; resolving the
        // URL alone reads nothing else.
        asked.lock().unwrap().clear();
        let url = resolve_url("dev", spec(&s, "dev"), &l).unwrap();
        assert_eq!(url.as_str(), "https://d.scalekit.dev/");
        assert_eq!(*asked.lock().unwrap(), ["DEV_URL"]);
        let none = |_: &str| None;
        let err = resolve_url("dev", spec(&s, "dev"), &none).unwrap_err();
        assert!(
            err[0].message.contains("`DEV_URL` is not set"),
            "{}",
            err[0]
        );
        assert_eq!(err[0].field.as_deref(), Some("environments.dev.url"));
    }

    #[test]
    fn an_empty_variable_is_missing_unless_a_default_allows_it() {
        let l = env(&[("DEV_URL", "https://d.scalekit.dev"), ("DEV_SECRET", "")]);
        let s = Settings::from_file(Path::new("skconn.yaml"), TWO, &l).unwrap();
        let err = resolve("dev", spec(&s, "dev"), &l).unwrap_err();
        assert!(err[0].message.contains("`DEV_SECRET` is set but empty"));
        let text = TWO.replace("${DEV_SECRET}", "${DEV_SECRET:-fallback-secret}");
        let s = Settings::from_file(Path::new("skconn.yaml"), &text, &l).unwrap();
        let dev = resolve("dev", spec(&s, "dev"), &l).unwrap();
        assert_eq!(dev.client_secret.expose(), "fallback-secret");
    }

    #[test]
    fn urls_need_a_host_and_no_credentials() {
        for (url, says) in [
            ("https:///v2", "has no host"),
            (
                "https://user:hunter2-pass@x.scalekit.dev",
                "user name or password",
            ),
            ("ftp://user:hunter2-pass@x", "user name or password"),
        ] {
            let text = "environments:\n  dev:\n    url: ${U}\n    client_id: x\n    client_secret: s3cret-value\n";
            let l = move |k: &str| (k == "U").then(|| url.to_string());
            let s = Settings::from_file(Path::new("skconn.yaml"), text, &l).unwrap();
            let err = resolve("dev", spec(&s, "dev"), &l).unwrap_err();
            assert!(err[0].message.contains(says), "{url}: {}", err[0].message);
            assert!(!err[0].message.contains("hunter2"), "{}", err[0].message);
        }
    }
}
