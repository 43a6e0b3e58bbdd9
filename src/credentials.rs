//! Credentials of one environment, resolved when — and only when — a command talks to it.
//!
//! `validate`, `schema` and every command that sends nothing resolve none; `plan --env dev`
//! resolves dev's and no other, so a job holds only the secret of the environment it works on.
//! A variable that is unset or empty is missing (`${VAR:-default}` allows a default); a missing
//! variable is an error naming it, the environment and the line that uses it. Values of
//! credentials are registered for redaction as soon as they are read, and never quoted.

use crate::error::Diagnostic;
use crate::secret::Secret;
use crate::settings::{expand_all, parse_url, EnvLookup, RemoteSpec, Written};
use std::path::PathBuf;

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
    let mut expand = |field: &str, w: &Written, secret: bool| {
        expand_field(env, spec, lookup, field, w, secret, &mut problems)
    };
    let url = expand("url", &spec.url, false);
    let client_id = expand("client_id", &spec.client_id, false);
    let client_secret = expand("client_secret", &spec.client_secret, true);
    let ca_file = spec.ca_file.as_ref().map(|w| expand("ca_file", w, false));
    let parsed = url.and_then(|u| checked_url(env, spec, &u, &mut problems));
    let mut at = |field: &str, w: &Written, message: String, help: &str| {
        problems.push(
            Diagnostic::new(&spec.file, message)
                .at(w.line, w.column)
                .field(format!("environments.{env}.{field}"))
                .help(help.to_string()),
        );
    };
    if client_id.as_deref().is_some_and(|s| s.trim().is_empty()) {
        at(
            "client_id",
            &spec.client_id,
            "`client_id` is empty".into(),
            "set it to the client id shown in the Scalekit dashboard",
        );
    }
    if client_secret.as_deref().is_some_and(|s| s.is_empty()) {
        at(
            "client_secret",
            &spec.client_secret,
            "`client_secret` is empty".into(),
            "set it from this environment's secret",
        );
    }
    let ca_file = match ca_file {
        Some(Some(p)) if p.trim().is_empty() => None,
        Some(Some(p)) => {
            let path = spec.root.join(p.trim());
            if !path.is_file() {
                at(
                    "ca_file",
                    spec.ca_file.as_ref().expect("present"),
                    format!("the CA file {} does not exist", path.display()),
                    "point ca_file at a PEM file holding the CA certificate(s) to trust",
                );
            }
            Some(path)
        }
        _ => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Credentials {
        url: parsed.expect("checked"),
        client_id: client_id.expect("checked"),
        client_secret: Secret::new(client_secret.expect("checked")),
        ca_file,
    })
}

/// The URL of environment `env` alone, for a plan against a snapshot of it: only the URL's
/// variables are looked up, never those of the client id, the client secret or the CA file.
pub fn resolve_url(
    env: &str,
    spec: &RemoteSpec,
    lookup: EnvLookup<'_>,
) -> Result<url::Url, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let url = expand_field(env, spec, lookup, "url", &spec.url, false, &mut problems);
    match url.and_then(|u| checked_url(env, spec, &u, &mut problems)) {
        Some(u) if problems.is_empty() => Ok(u),
        _ => Err(problems),
    }
}

/// One value of the environment's settings with its variables expanded; a missing variable is
/// a problem naming it, the environment and its line. The values of a secret are registered
/// for redaction.
fn expand_field(
    env: &str,
    spec: &RemoteSpec,
    lookup: EnvLookup<'_>,
    field: &str,
    w: &Written,
    secret: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<String> {
    let e = expand_all(&w.text, lookup);
    if secret {
        for (_, v) in &e.used {
            crate::secret::register(v);
        }
        crate::secret::register(&e.value);
    }
    for var in &e.missing {
        let (line, column) = place_of(&spec.text, var).unwrap_or((w.line, w.column));
        let set_but_empty = lookup(var).is_some();
        problems.push(
            Diagnostic::new(
                &spec.file,
                format!(
                    "the environment variable `{var}` is {} (needed by environment `{env}`)",
                    if set_but_empty {
                        "set but empty"
                    } else {
                        "not set"
                    }
                ),
            )
            .at(line, column)
            .field(format!("environments.{env}.{field}"))
            .help(format!(
                "set {var} before running skconn (in CI, from this environment's secrets); \
                 write `${{{var}:-default}}` to allow an empty or default value"
            )),
        );
    }
    e.missing.is_empty().then_some(e.value)
}

/// The environment's URL, expanded, checked (its user name and password registered for
/// redaction, never shown).
fn checked_url(
    env: &str,
    spec: &RemoteSpec,
    url: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<url::Url> {
    crate::settings::register_userinfo(url);
    match parse_url(url) {
        Ok(u) => Some(u),
        Err(m) => {
            problems.push(
                Diagnostic::new(&spec.file, m)
                    .at(spec.url.line, spec.url.column)
                    .field(format!("environments.{env}.url"))
                    .help("use the environment URL from the Scalekit dashboard (https://…), or `local`"),
            );
            None
        }
    }
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
        assert_eq!(err.len(), 1);
        assert!(err[0].message.contains("`PROD_SECRET` is not set"));
        assert!(err[0].message.contains("environment `prod`"));
        assert_eq!(err[0].line, 9);
    }

    #[test]
    fn the_url_alone_reads_no_credential_variable() {
        let asked = std::sync::Mutex::new(Vec::new());
        let l = |k: &str| {
            asked.lock().unwrap().push(k.to_string());
            (k == "DEV_URL").then(|| "https://d.scalekit.dev".to_string())
        };
        let s = Settings::from_file(Path::new("skconn.yaml"), TWO, &l).unwrap();
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
