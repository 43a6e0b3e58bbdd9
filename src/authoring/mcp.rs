//! `skconn new --from-mcp URL`: classifies a remote MCP server's authorization the way the MCP
//! authorization specification defines it, and drafts the matching MCP connector.
//!
//! [`probe`] sends one unauthenticated JSON-RPC `initialize` and, when the server asks for
//! credentials, follows its discovery: `WWW-Authenticate: Bearer resource_metadata="…"` or
//! the well-known protected-resource metadata path (RFC 9728), then the authorization server's
//! metadata (RFC 8414 or OpenID Connect discovery). It sends no credentials, only ever runs when
//! a user asks for it, and fetches only https URLs (http only on loopback). [`build`] turns
//! what it found into a draft, offline.

use super::fetch::{bare, check_url, http_error, Http};
use super::template;
use super::{sanitize_name, with_noun, Choice, Draft, Kind, Slot, Stop};
use crate::output::escape;
use serde_json::{json, Value};
use std::time::Duration;

/// What the probe found.
#[derive(Debug, Clone)]
pub enum Finding {
    /// Protected-resource metadata names an authorization server: OAuth with PKCE.
    Oauth {
        /// Where the metadata was found, and how.
        resource_metadata: String,
        via: String,
        authorization_servers: Vec<String>,
        /// The first authorization server's metadata, when it could be read.
        server_metadata: Option<Value>,
        /// Why the authorization server's metadata could not be read.
        server_metadata_error: Option<String>,
        /// Whether `initialize` was answered without credentials.
        open_initialize: bool,
    },
    /// A 401 without any metadata: a static credential (token or key) in a header.
    Static { challenge: Option<String> },
    /// An answer without a challenge: probably no authorization.
    Open,
    /// Something else (403, 404, 405, ...).
    Unknown { status: u16 },
}

#[derive(Debug, Clone)]
pub struct Probe {
    /// The URL probed, without credentials, query or fragment: what `proxy_url` may take.
    pub url: String,
    /// The URL probed as skconn prints it ([`crate::output::escape::url`]).
    pub shown: String,
    /// Whether the URL given had a query, which `url` leaves out.
    pub had_query: bool,
    pub status: u16,
    pub finding: Finding,
    /// The server's name: `resource_name` of the metadata, or `serverInfo.name`.
    pub server_name: Option<String>,
    /// Every request made and its answer, in order.
    pub steps: Vec<String>,
}

/// What the user passed besides the URL.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub name: Option<String>,
    pub kind: Option<Kind>,
    pub header: Option<String>,
    pub proxy_url: Option<String>,
}

const PROTOCOL_VERSION: &str = "2025-06-18";

/// Probes `raw_url`. Every URL in the steps and errors is shown as [`crate::output::escape::url`]
/// prints it, and every answer is read up to the Scalekit client's cap.
pub async fn probe(raw_url: &str, timeout: Duration) -> Result<Probe, String> {
    let url = check_url(raw_url)?;
    let shown = escape::url(raw_url);
    let http = Http::new(timeout)?;
    let mut steps = Vec::new();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                   "clientInfo": {"name": "skconn", "version": env!("CARGO_PKG_VERSION")}}
    });
    let resp = http
        .client(&url)
        .post(url.clone())
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", PROTOCOL_VERSION)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("cannot reach {shown}: {}", http_error(e)))?;
    let status = resp.status().as_u16();
    let challenge: Vec<String> = resp
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|h| h.to_str().ok().map(str::to_string))
        .collect();
    steps.push(format!(
        "POST {shown} (initialize, no credentials) → {status}{}",
        if challenge.is_empty() {
            String::new()
        } else {
            format!(", WWW-Authenticate: {}", challenge.join(", "))
        }
    ));
    let mut server_name = None;
    if (200..300).contains(&status) {
        server_name = initialize_name(resp).await;
    }

    let from_header = challenge.iter().find_map(|c| param(c, "resource_metadata"));
    let mut prm: Option<(String, String, Value)> = None;
    if status == 401 || (200..300).contains(&status) {
        let mut tries: Vec<(String, String)> = Vec::new();
        if let Some(h) = &from_header {
            tries.push((
                h.clone(),
                "the `resource_metadata` of WWW-Authenticate".into(),
            ));
        }
        let origin = url.origin().ascii_serialization();
        let path = url.path().trim_end_matches('/');
        if !path.is_empty() {
            tries.push((
                format!("{origin}/.well-known/oauth-protected-resource{path}"),
                "the well-known path for the server's path".into(),
            ));
        }
        tries.push((
            format!("{origin}/.well-known/oauth-protected-resource"),
            "the well-known path at the root".into(),
        ));
        for (u, how) in tries {
            let shown_u = escape::url(&u);
            match get_json(&http, &u).await {
                Ok(v)
                    if v.get("authorization_servers")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty()) =>
                {
                    steps.push(format!("GET {shown_u} → protected-resource metadata"));
                    prm = Some((shown_u, how, v));
                    break;
                }
                Ok(_) => steps.push(format!(
                    "GET {shown_u} → JSON without `authorization_servers`, not usable metadata"
                )),
                Err(e) => steps.push(format!("GET {shown_u} → {e}")),
            }
        }
    }

    let finding = match (status, prm) {
        (401 | 200..=299, Some((u, via, v))) => {
            if let Some(n) = v.get("resource_name").and_then(Value::as_str) {
                server_name = Some(n.to_string());
            }
            let servers: Vec<String> = v["authorization_servers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            let (meta, err) = match servers.first() {
                Some(first) => server_metadata(&http, first, &mut steps).await,
                None => (None, Some("no authorization server is named".into())),
            };
            Finding::Oauth {
                resource_metadata: u,
                via,
                authorization_servers: servers.iter().map(|s| escape::url(s)).collect(),
                server_metadata: meta,
                server_metadata_error: err,
                open_initialize: status != 401,
            }
        }
        (401, None) => Finding::Static {
            challenge: challenge.first().cloned(),
        },
        (200..=299, None) => Finding::Open,
        (s, _) => Finding::Unknown { status: s },
    };
    Ok(Probe {
        url: bare(&url),
        shown,
        had_query: url.query().is_some(),
        status,
        finding,
        server_name,
        steps,
    })
}

/// `serverInfo.name` from an `initialize` answer, JSON or the first event of a stream.
async fn initialize_name(mut resp: reqwest::Response) -> Option<String> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.extend_from_slice(&chunk);
        let text = String::from_utf8_lossy(&buf);
        let json = if text.trim_start().starts_with('{') {
            serde_json::from_str::<Value>(&text).ok()
        } else {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        };
        if let Some(v) = json {
            return v
                .pointer("/result/serverInfo/name")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if buf.len() > 64 * 1024 {
            break;
        }
    }
    None
}

/// A `key="value"` (or `key=value`) parameter of a `WWW-Authenticate` value.
fn param(header: &str, key: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(key) {
        let at = from + i;
        let before = lower[..at].chars().last();
        let rest = header[at + key.len()..].trim_start();
        if before.is_none_or(|c| c == ' ' || c == ',') {
            if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim_start();
                return Some(match v.strip_prefix('"') {
                    Some(q) => q.split('"').next().unwrap_or("").to_string(),
                    None => v.split([',', ' ']).next().unwrap_or("").to_string(),
                });
            }
        }
        from = at + key.len();
    }
    None
}

async fn get_json(http: &Http, raw: &str) -> Result<Value, String> {
    let u = check_url(raw)?;
    let resp = http
        .client(&u)
        .get(u)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(http_error)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{}", status.as_u16()));
    }
    let bytes = http.body(resp).await.map_err(|(_, e)| e)?;
    serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
}

/// The authorization server's metadata: RFC 8414, then OpenID Connect discovery (path
/// inserted, then appended), as the MCP specification orders them.
async fn server_metadata(
    http: &Http,
    issuer: &str,
    steps: &mut Vec<String>,
) -> (Option<Value>, Option<String>) {
    let Ok(u) = url::Url::parse(issuer) else {
        return (
            None,
            Some(format!("`{}` is not a URL", escape::url(issuer))),
        );
    };
    let origin = u.origin().ascii_serialization();
    let path = u.path().trim_end_matches('/');
    let tries = if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    };
    let mut last = String::new();
    for t in tries {
        let shown = escape::url(&t);
        match get_json(http, &t).await {
            Ok(v) if v.is_object() => {
                steps.push(format!("GET {shown} → authorization server metadata"));
                return (Some(v), None);
            }
            Ok(_) => last = format!("{shown}: not a JSON object"),
            Err(e) => {
                steps.push(format!("GET {shown} → {e}"));
                last = format!("{shown}: {e}");
            }
        }
    }
    (None, Some(last))
}

/// Why the probed URL cannot be the connector's `proxy_url` when none is given: it must be
/// https. `shown` is the URL as printed, `bare` as a `proxy_url` would take it. Checked before
/// anything is sent, and again by [`build`].
pub fn needs_proxy_url(shown: &str, bare: &str) -> Option<String> {
    (!bare.starts_with("https://")).then(|| {
        format!(
            "{shown} is not an https URL, and a connector's proxy_url must be: pass --proxy-url https://... (the URL users' connections reach)"
        )
    })
}

/// The draft for what the probe found.
pub fn build(p: &Probe, opts: &Options) -> Result<Draft, Stop> {
    let mut d = Draft::default();
    for s in &p.steps {
        d.decide(s.clone());
    }
    let kind = match (&p.finding, opts.kind) {
        (Finding::Oauth { via, open_initialize, .. }, k) => {
            d.decide(format!(
                "OAUTH with PKCE: protected-resource metadata found through {via} names an authorization server (MCP authorization)"
            ));
            if *open_initialize {
                d.warn("the server answered `initialize` without credentials but publishes protected-resource metadata: some methods need sign-in");
            }
            if let Some(k) = k.filter(|k| *k != Kind::Oauth) {
                d.warn(format!("--type {} overrides what the server advertises (OAuth)", k.flag()));
                k
            } else {
                Kind::Oauth
            }
        }
        (Finding::Static { challenge }, None) => {
            return Err(Stop::Choose(Choice {
                slot: Slot::Type,
                message: format!(
                    "{} answered 401{} without protected-resource metadata: it takes a static credential, and the MCP specification does not say which header; confirm it with --type bearer (Authorization: Bearer <token>) or --type api-key --header NAME",
                    p.shown,
                    challenge.as_ref().map(|c| format!(" (WWW-Authenticate: {c})")).unwrap_or_default()
                ),
                question: "The server takes a static credential. How is it sent?".into(),
                options: vec![
                    ("bearer".into(), "bearer: Authorization: Bearer <token>".into()),
                    ("api-key".into(), "api-key: a key in a header you name".into()),
                ],
            }))
        }
        (Finding::Static { .. }, Some(k)) => {
            if k == Kind::ApiKey && opts.header.is_none() {
                return Err(Stop::Choose(Choice {
                    slot: Slot::Header,
                    message: "--type api-key: pass --header NAME, the header the server reads the key from (e.g. --header X-API-Key, or --header Authorization)".into(),
                    question: "Header the key is sent in".into(),
                    options: Vec::new(),
                }));
            }
            d.decide(format!(
                "{}: the server answered 401 without metadata (a static credential); --type {} confirms how it is sent",
                k.api_type(),
                k.flag()
            ));
            k
        }
        (Finding::Open, k) => {
            match k {
                Some(k) if k != Kind::NoAuth => {
                    d.decide(format!("{} from --type {}: the server answered without asking for credentials", k.api_type(), k.flag()));
                    k
                }
                _ => {
                    d.decide("NO_AUTH, probably: the server answered `initialize` without credentials and publishes no protected-resource metadata");
                    d.warn("NO_AUTH is probable, not certain: MCP servers may protect only some methods (e.g. tools/call); check with the server's documentation");
                    Kind::NoAuth
                }
            }
        }
        (Finding::Unknown { status }, Some(k)) => {
            d.warn(format!("the server answered {status}, which says nothing about its authorization; --type {} used", k.flag()));
            k
        }
        (Finding::Unknown { status }, None) => {
            return Err(Stop::Refuse(format!(
                "{} answered {status} to an unauthenticated `initialize`: neither a 401 challenge nor an answer, so the authorization cannot be classified (is it an MCP endpoint? stateful servers and SSE-only servers cannot be probed); pass --type {}",
                p.shown,
                Kind::ALL.map(Kind::flag).join("|")
            )))
        }
    };
    if let Finding::Oauth {
        server_metadata,
        server_metadata_error,
        authorization_servers,
        ..
    } = &p.finding
    {
        d.decide(format!(
            "authorization server(s): {}",
            authorization_servers.join(", ")
        ));
        match server_metadata {
            Some(m) => {
                let dcr = m.get("registration_endpoint").and_then(Value::as_str);
                let cimd =
                    m.get("client_id_metadata_document_supported") == Some(&Value::Bool(true));
                if let Some(r) = dcr {
                    d.decide(format!("dynamic client registration at {}", escape::url(r)));
                }
                if cimd {
                    d.decide("client ID metadata documents supported");
                }
                if dcr.is_none() && !cimd {
                    d.warn("the authorization server advertises neither dynamic client registration nor client ID metadata documents: the connection in Scalekit will need client credentials entered by hand");
                }
                match m.get("code_challenge_methods_supported").and_then(Value::as_array) {
                    Some(a) if a.iter().any(|x| x == "S256") => {}
                    Some(_) => d.warn("the authorization server does not list S256 in code_challenge_methods_supported"),
                    None => d.warn("the authorization server's metadata has no code_challenge_methods_supported: MCP clients must refuse to proceed without it"),
                }
                if let Some(s) = m.get("scopes_supported").and_then(Value::as_array) {
                    let s: Vec<&str> = s.iter().filter_map(Value::as_str).collect();
                    d.decide(format!(
                        "scopes supported (for information): {}",
                        s.join(" ")
                    ));
                }
            }
            None => d.warn(format!(
                "the authorization server's metadata could not be read ({}); sign-in may fail",
                server_metadata_error.clone().unwrap_or_default()
            )),
        }
    }

    let proxy_url = match &opts.proxy_url {
        Some(u) => {
            d.decide(format!("proxy_url `{u}` from --proxy-url"));
            u.clone()
        }
        None => {
            if let Some(refusal) = needs_proxy_url(&p.shown, &p.url) {
                return Err(Stop::Refuse(refusal));
            }
            d.decide("proxy_url: the probed URL");
            if p.had_query {
                d.warn(format!(
                    "proxy_url `{}` leaves out the query of {}: a connector's URL carries no credentials (they belong in its auth pattern); pass --proxy-url if the server needs another URL",
                    p.url, p.shown
                ));
            }
            p.url.clone()
        }
    };
    let name = match (&opts.name, &p.server_name) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) if !sanitize_name(n).is_empty() => {
            let clean = sanitize_name(n);
            if &clean != n {
                d.heuristic(format!("display_name `{clean}` sanitised from the server's name `{n}`"));
            } else {
                d.decide(format!("display_name `{clean}`: the server's own name"));
            }
            clean
        }
        _ => {
            return Err(Stop::Choose(Choice {
                slot: Slot::Name,
                message: "the server does not give its name; pass the display name as the first argument (or --name NAME)".into(),
                question: "Display name of the connector".into(),
                options: Vec::new(),
            }))
        }
    };
    d.connector.insert("display_name".into(), json!(name));
    d.connector.insert(
        "description".into(),
        json!(format!("{}.", with_noun(&name, "MCP server"))),
    );
    d.comment("description", "FILL IN: one sentence users read.");
    d.connector.insert("proxy_url".into(), json!(proxy_url));
    let pattern = template::pattern(
        &mut d,
        kind,
        true,
        &name,
        opts.header.as_deref(),
        None,
        template::placeholder_fields(&proxy_url),
    );
    d.connector.insert("auth_patterns".into(), json!([pattern]));

    let what = match (&p.finding, kind) {
        (Finding::Oauth { .. }, Kind::Oauth) => "OAuth (protected-resource metadata)".to_string(),
        (Finding::Open, Kind::NoAuth) => {
            "no authorization, probably (answered without credentials)".into()
        }
        (Finding::Static { .. }, k) => format!(
            "a static credential (401 without metadata), sent as --type {}",
            k.flag()
        ),
        (_, k) => format!("--type {}", k.flag()),
    };
    let prov = vec![
        "Derived by `skconn new --from-mcp`. Review every value before `skconn apply`.".to_string(),
        format!(
            "Probed: {} (unauthenticated initialize → {})",
            p.shown, p.status
        ),
        format!("Found: {what} → {}", kind.api_type()),
    ];
    d.set_provenance(prov);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_params() {
        let h = r#"Bearer error="invalid_token", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#;
        assert_eq!(
            param(h, "resource_metadata").unwrap(),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(param("Bearer realm=x, scope=y", "scope").unwrap(), "y");
        assert!(param("Bearer realm=\"x\"", "resource_metadata").is_none());
    }
}
