//! `skconn new --from-openapi`: derives a connector from an OpenAPI 3.0/3.1 or Swagger 2.0
//! document, by the rules of `openapi-inference` §3, writing down every decision and doubt.
//!
//! The document is read selectively: serde reads only `info`, `servers` (or Swagger's `host`,
//! `basePath`, `schemes`), `security`, the security schemes, the reusable parameters and, in
//! `paths`, each operation's `security`, `servers` and `parameters`; everything else (schemas,
//! responses, examples) is skipped unread, and nothing is dereferenced but security schemes and
//! parameters. This keeps a 10 MB description cheap.
//!
//! Derivation never guesses an auth pattern: several usable schemes need `--scheme`; none
//! (none defined, keys in a query or cookie, client credentials only) is a refusal that says
//! what the document has and suggests `--type`.

use super::template::{self, path_param};
use super::{first_sentence, sanitize_name, title_case, Choice, Draft, Kind, Slot, Stop};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What the user passed besides the document.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--scheme`
    pub scheme: Option<String>,
    /// `--type`
    pub kind: Option<Kind>,
    /// `--name` (or the first argument)
    pub name: Option<String>,
    /// `--base-url`: resolves a relative server URL.
    pub base_url: Option<String>,
    /// `--proxy-url`: replaces the derived one.
    pub proxy_url: Option<String>,
    /// `--mcp`
    pub mcp: bool,
    /// `--header` (API_KEY from `--type`)
    pub header: Option<String>,
}

// ---- the parts of a document skconn reads -----------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct Doc {
    openapi: Option<Value>,
    swagger: Option<Value>,
    #[serde(default)]
    info: Info,
    servers: Option<Vec<Server>>,
    security: Option<Vec<Map<String, Value>>>,
    components: Option<Components>,
    #[serde(rename = "securityDefinitions")]
    security_definitions: Option<Map<String, Value>>,
    parameters: Option<BTreeMap<String, Param>>,
    host: Option<Value>,
    #[serde(rename = "basePath")]
    base_path: Option<Value>,
    schemes: Option<Vec<Value>>,
    paths: Option<BTreeMap<String, PathItem>>,
}

#[derive(Debug, Default, Deserialize)]
struct Info {
    title: Option<Value>,
    summary: Option<Value>,
    description: Option<Value>,
    version: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Components {
    #[serde(rename = "securitySchemes")]
    security_schemes: Option<Map<String, Value>>,
    parameters: Option<BTreeMap<String, Param>>,
}

#[derive(Debug, Default, Deserialize, Clone)]
struct Server {
    url: Option<Value>,
    variables: Option<Map<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
struct PathItem {
    servers: Option<Vec<Server>>,
    parameters: Option<Vec<Param>>,
    get: Option<Operation>,
    put: Option<Operation>,
    post: Option<Operation>,
    delete: Option<Operation>,
    options: Option<Operation>,
    head: Option<Operation>,
    patch: Option<Operation>,
    trace: Option<Operation>,
}

#[derive(Debug, Default, Deserialize)]
struct Operation {
    security: Option<Vec<Map<String, Value>>>,
    servers: Option<Vec<Server>>,
    parameters: Option<Vec<Param>>,
}

/// A parameter, or a `$ref` to a shared one: only what the header check needs (its schema and
/// everything else are skipped unread).
#[derive(Debug, Default, Deserialize)]
struct Param {
    #[serde(rename = "$ref")]
    reference: Option<Value>,
    name: Option<Value>,
    #[serde(rename = "in")]
    location: Option<Value>,
    required: Option<Value>,
}

impl PathItem {
    fn operations(&self) -> impl Iterator<Item = (&'static str, &Operation)> {
        [
            ("GET", &self.get),
            ("PUT", &self.put),
            ("POST", &self.post),
            ("DELETE", &self.delete),
            ("OPTIONS", &self.options),
            ("HEAD", &self.head),
            ("PATCH", &self.patch),
            ("TRACE", &self.trace),
        ]
        .into_iter()
        .filter_map(|(m, o)| o.as_ref().map(|o| (m, o)))
    }
}

fn text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses the parts of the document skconn reads (JSON when it starts with `{`, else YAML).
fn parse(bytes: &[u8]) -> Result<Doc, String> {
    let start = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    let doc: Doc = if start == Some(&b'{') {
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        serde_yaml::from_slice(bytes).map_err(|e| format!("not valid YAML: {e}"))?
    };
    if doc.openapi.is_none() && doc.swagger.is_none() {
        return Err(
            "neither `openapi:` nor `swagger:` is set: this is not an OpenAPI or Swagger document"
                .into(),
        );
    }
    Ok(doc)
}

// ---- security schemes -------------------------------------------------------------------------

/// What a scheme gives a connector.
#[derive(Debug, Clone)]
enum Usable {
    Oauth {
        authorize: String,
        token: String,
        scopes: Vec<(String, String)>,
    },
    Bearer,
    Basic,
    ApiKey {
        header: String,
        prefix: Option<(String, String)>,
    },
}

impl Usable {
    fn kind(&self) -> Kind {
        match self {
            Usable::Oauth { .. } => Kind::Oauth,
            Usable::Bearer => Kind::Bearer,
            Usable::Basic => Kind::Basic,
            Usable::ApiKey { .. } => Kind::ApiKey,
        }
    }
}

/// How a scheme is described in messages, e.g. `oauth2 (authorization code)`.
fn describe_scheme(s: &Value, swagger: bool) -> String {
    let ty = str_of(s, "type").unwrap_or("?");
    match ty {
        "http" => format!("http {}", str_of(s, "scheme").unwrap_or("?").to_lowercase()),
        "apiKey" => format!(
            "apiKey in {} `{}`",
            str_of(s, "in").unwrap_or("?"),
            str_of(s, "name").unwrap_or("?")
        ),
        "oauth2" if swagger => format!("oauth2 flow {}", str_of(s, "flow").unwrap_or("?")),
        "oauth2" => {
            let flows: Vec<&str> = s
                .get("flows")
                .and_then(Value::as_object)
                .map(|f| f.keys().map(String::as_str).collect())
                .unwrap_or_default();
            format!("oauth2 flows {}", flows.join(", "))
        }
        other => other.to_string(),
    }
}

fn scopes_of(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, d)| (k.clone(), d.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What a scheme gives a connector, or why it gives nothing.
fn classify(s: &Value, swagger: bool) -> Result<Usable, String> {
    let ty = str_of(s, "type").unwrap_or("");
    match ty {
        "oauth2" => {
            let (flow, label) = if swagger {
                match str_of(s, "flow") {
                    Some("accessCode") => (Some(s), ""),
                    Some("application") => (None, "client credentials (`application`) only"),
                    Some("implicit") => (None, "the implicit flow only"),
                    Some("password") => (None, "the password flow only"),
                    _ => (None, "no flow"),
                }
            } else {
                let flows = s.get("flows");
                match flows.and_then(|f| f.get("authorizationCode")) {
                    Some(f) => (Some(f), ""),
                    None => {
                        let keys: Vec<&str> = flows
                            .and_then(Value::as_object)
                            .map(|m| m.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        if keys == ["clientCredentials"] {
                            (None, "client credentials only")
                        } else if keys.is_empty() {
                            (None, "no flows")
                        } else {
                            (None, "no authorization-code flow")
                        }
                    }
                }
            };
            let Some(f) = flow else {
                return Err(format!(
                    "oauth2 with {label}: a connector needs the authorization-code flow, where users sign in{}",
                    if label.contains("client credentials") {
                        " (client credentials are machine-to-machine)"
                    } else {
                        ""
                    }
                ));
            };
            let authorize = str_of(f, "authorizationUrl").unwrap_or("").to_string();
            let token = str_of(f, "tokenUrl").unwrap_or("").to_string();
            if authorize.is_empty() || token.is_empty() {
                return Err("oauth2 authorization code without `authorizationUrl` or `tokenUrl`".into());
            }
            Ok(Usable::Oauth {
                authorize,
                token,
                scopes: scopes_of(f.get("scopes")),
            })
        }
        "http" => match str_of(s, "scheme").map(str::to_ascii_lowercase).as_deref() {
            Some("bearer") => Ok(Usable::Bearer),
            Some("basic") => Ok(Usable::Basic),
            Some(other) => Err(format!(
                "http `{other}`: a connector supports only basic and bearer"
            )),
            None => Err("http without a `scheme`".into()),
        },
        "basic" if swagger => Ok(Usable::Basic),
        "apiKey" => {
            let name = str_of(s, "name").unwrap_or("");
            match str_of(s, "in") {
                Some("header") if !name.is_empty() => Ok(Usable::ApiKey {
                    header: name.to_string(),
                    prefix: key_prefix(s, name),
                }),
                Some("header") => Err("apiKey in a header without a `name`".into()),
                Some(place @ ("query" | "cookie")) => Err(format!(
                    "apiKey in a {place} (`{name}`): a connector sends credentials only in a header"
                )),
                _ => Err("apiKey without `in`".into()),
            }
        }
        "openIdConnect" => Err(format!(
            "openIdConnect ({}): skconn does not fetch discovery documents; pass `--type oauth` and copy the endpoints from it",
            str_of(s, "openIdConnectUrl").unwrap_or("no openIdConnectUrl")
        )),
        "mutualTLS" => Err("mutualTLS: a connector cannot present client certificates".into()),
        "" => Err("a scheme without `type`".into()),
        other => Err(format!("`{other}` is not a security scheme type skconn knows")),
    }
}

/// A prefix stated by the document for an API key, with where it was found: `x-default`, or a
/// backticked example in the description such as `` `Token token=<API_KEY>` ``.
fn key_prefix(s: &Value, header: &str) -> Option<(String, String)> {
    if let Some(d) = str_of(s, "x-default").filter(|d| !d.is_empty()) {
        return Some((d.to_string(), "the scheme's `x-default`".into()));
    }
    let desc = str_of(s, "description")?;
    for (i, part) in desc.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let mut t = part.trim();
        // `Authorization: Token token=<key>` → drop the header name.
        if let Some((h, rest)) = t.split_once(':') {
            if h.trim().eq_ignore_ascii_case(header) {
                t = rest.trim_start();
            }
        }
        let at = t.find(['<', '{', '$']).or_else(|| {
            let lower = t.to_ascii_lowercase();
            ["your-", "your_", "your ", "api_key", "api-key", "apikey"]
                .iter()
                .filter_map(|w| lower.find(w))
                .min()
        });
        if let Some(at) = at {
            let prefix = &t[..at];
            if !prefix.trim().is_empty() && prefix.len() <= 64 {
                return Some((
                    prefix.to_string(),
                    format!("the example `{part}` in the scheme's description"),
                ));
            }
        }
    }
    None
}

// ---- servers ----------------------------------------------------------------------------------

/// A server URL turned into a `proxy_url`.
#[derive(Debug, Default)]
struct Base {
    url: String,
    fields: Vec<Value>,
    notes: Vec<String>,
}

/// Applies server variables: `protocol`/`scheme` → `https`, single-value enums substituted,
/// the rest `{{placeholders}}` with path-parameter fields.
fn apply_variables(raw: &str, vars: Option<&Map<String, Value>>) -> Base {
    let mut b = Base::default();
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        let var = vars.and_then(|v| v.get(name));
        let one_enum = var
            .and_then(|v| v.get("enum"))
            .and_then(Value::as_array)
            .filter(|a| a.len() == 1)
            .and_then(|a| a[0].as_str());
        if name.eq_ignore_ascii_case("protocol") || name.eq_ignore_ascii_case("scheme") {
            out.push_str("https");
            b.notes.push(format!(
                "server variable `{name}` set to `https` (a connector's URL must be https)"
            ));
        } else if let Some(v) = one_enum {
            out.push_str(v);
            b.notes.push(format!(
                "server variable `{name}` has one allowed value, `{v}`: substituted"
            ));
        } else {
            let field_name: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            out.push_str("{{");
            out.push_str(&field_name);
            out.push_str("}}");
            let label = var
                .and_then(|v| str_of(v, "description"))
                .map(|d| first_sentence(d, 100))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| title_case(name));
            let default = var.and_then(|v| v.get("default")).and_then(|d| match d {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            let enum_values: Option<Vec<&str>> = var
                .and_then(|v| v.get("enum"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect());
            let hint = match &enum_values {
                Some(values) => Some(format!("one of: {}", values.join(", "))),
                None => default.clone(),
            };
            if !b
                .fields
                .iter()
                .any(|f| f["field_name"] == json!(field_name))
            {
                b.fields
                    .push(path_param(&field_name, &label, hint.as_deref()));
                b.notes.push(format!(
                    "server variable `{name}` becomes the placeholder `{{{{{field_name}}}}}`, filled by a path-parameter field{}",
                    match (&enum_values, &default) {
                        (Some(_), _) => " (its allowed values are the hint)".to_string(),
                        (None, Some(d)) => format!(" (its default `{d}` is the hint)"),
                        (None, None) => String::new(),
                    }
                ));
            }
        }
    }
    out.push_str(rest);
    b.url = out;
    b
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// Hosts that are examples to be replaced rather than an API's own host.
fn placeholder_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h.contains("{{")
        || h.contains("example")
        || h.contains("your")
        || h.contains("localhost")
        || h.starts_with("127.")
        || h == "hostname"
        || h == "host"
        || h.contains("domain")
}

fn server_url(s: &Server) -> Option<&str> {
    s.url.as_ref().and_then(Value::as_str)
}

// ---- derivation -------------------------------------------------------------------------------

/// Derives a connector from a document. `label` is where it came from (path or URL).
pub fn derive(label: &str, bytes: &[u8], opts: &Options) -> Result<Draft, Stop> {
    let doc = parse(bytes).map_err(|e| Stop::Refuse(format!("{label}: {e}")))?;
    let swagger = doc.swagger.is_some() && doc.openapi.is_none();
    let version = if swagger {
        format!("Swagger {}", text(&doc.swagger).unwrap_or_default())
    } else {
        format!("OpenAPI {}", text(&doc.openapi).unwrap_or_default())
    };
    let sha = hex(&Sha256::digest(bytes));
    let mut d = Draft::default();
    d.decide(format!("read {label} as {version}"));

    // ---- the scheme ----
    let empty = Map::new();
    let defined: &Map<String, Value> = if swagger {
        doc.security_definitions.as_ref().unwrap_or(&empty)
    } else {
        doc.components
            .as_ref()
            .and_then(|c| c.security_schemes.as_ref())
            .unwrap_or(&empty)
    };
    let resolve_scheme = |v: &Value| resolve_ref(v, defined);
    let mut global_names: Vec<String> = Vec::new();
    for req in doc.security.iter().flatten() {
        for k in req.keys() {
            if !global_names.contains(k) {
                global_names.push(k.clone());
            }
        }
    }
    let mut op_names: Vec<String> = Vec::new();
    let mut total_ops = 0usize;
    for item in doc.paths.iter().flat_map(|p| p.values()) {
        for (_, op) in item.operations() {
            total_ops += 1;
            for req in op.security.iter().flatten() {
                for k in req.keys() {
                    if !op_names.contains(k) {
                        op_names.push(k.clone());
                    }
                }
            }
        }
    }
    let (candidates, from): (Vec<String>, &str) = if !global_names.is_empty() {
        (global_names.clone(), "the global `security`")
    } else if !op_names.is_empty() {
        (op_names.clone(), "the operations' `security`")
    } else {
        (defined.keys().cloned().collect(), "the defined schemes")
    };
    let schemes_key = if swagger {
        "securityDefinitions"
    } else {
        "components.securitySchemes"
    };

    let mut chosen: Option<(String, Usable)> = None;
    let mut unused_type_note: Option<String> = None;
    if let Some(name) = &opts.scheme {
        let Some(s) = defined.get(name) else {
            let list: Vec<&str> = defined.keys().map(String::as_str).collect();
            return Err(Stop::Refuse(format!(
                "--scheme {name}: {label} defines no security scheme `{name}` ({})",
                if list.is_empty() {
                    "it defines none".to_string()
                } else {
                    format!("it defines: {}", list.join(", "))
                }
            )));
        };
        let s = resolve_scheme(s);
        match classify(&s, swagger) {
            Ok(u) => {
                d.decide(format!(
                    "security scheme `{name}` ({}) chosen by --scheme",
                    describe_scheme(&s, swagger)
                ));
                chosen = Some((name.clone(), u));
            }
            Err(why) => {
                return Err(Stop::Refuse(format!(
                    "--scheme {name}: skconn cannot derive a connector from it: {why}; pass --type {} instead",
                    kinds_list()
                )))
            }
        }
    } else if defined.is_empty() {
        if opts.kind.is_none() {
            return Err(Stop::Refuse(format!(
                "{label} defines no security scheme (no `{schemes_key}`), so its auth pattern cannot be derived; \
                 skconn does not guess it from prose. Pass --type {} (e.g. --type bearer), or --from-mcp URL for an MCP server",
                kinds_list()
            )));
        }
    } else {
        let mut usable: Vec<(String, Usable, String)> = Vec::new();
        let mut unusable: Vec<String> = Vec::new();
        for name in &candidates {
            let Some(s) = defined.get(name) else {
                d.warn(format!(
                    "{from} names the scheme `{name}`, which `{schemes_key}` does not define"
                ));
                continue;
            };
            let s = resolve_scheme(s);
            match classify(&s, swagger) {
                Ok(u) => usable.push((name.clone(), u, describe_scheme(&s, swagger))),
                Err(why) => unusable.push(format!("`{name}`: {why}")),
            }
        }
        if let Some(k) = opts.kind {
            let matching: Vec<usize> = usable
                .iter()
                .enumerate()
                .filter(|(_, u)| u.1.kind() == k)
                .map(|(i, _)| i)
                .collect();
            if matching.len() == 1 {
                let (n, u, desc) = usable.swap_remove(matching[0]);
                d.decide(format!(
                    "security scheme `{n}` ({desc}) chosen: the only one of {from} that gives --type {}",
                    k.flag()
                ));
                chosen = Some((n, u));
            } else if matching.len() > 1 {
                return Err(choose_scheme(label, &usable, from));
            } else {
                unused_type_note = Some(format!(
                    "--type {} does not match any usable scheme of the document ({}); the connector uses --type and none of the document's schemes",
                    k.flag(),
                    if usable.is_empty() {
                        unusable.join("; ")
                    } else {
                        usable
                            .iter()
                            .map(|u| format!("`{}`: {}", u.0, u.2))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            }
        } else if usable.len() == 1 {
            let (n, u, desc) = usable.remove(0);
            d.decide(format!(
                "security scheme `{n}` ({desc}) chosen: the only usable scheme of {from}"
            ));
            for u in &unusable {
                d.warn(format!("scheme not used: {u}"));
            }
            chosen = Some((n, u));
        } else if usable.len() > 1 {
            return Err(choose_scheme(label, &usable, from));
        } else {
            return Err(Stop::Refuse(format!(
                "{label} has no security scheme a connector can use ({from}: {}); skconn does not guess. \
                 Pass --type {} to write the pattern yourself",
                unusable.join("; "),
                kinds_list()
            )));
        }
    }
    if let Some(n) = unused_type_note {
        d.warn(n);
    }
    let kind = match (&chosen, opts.kind) {
        (Some((_, u)), _) => u.kind(),
        (None, Some(k)) => {
            d.decide(format!(
                "auth pattern {} from --type {} (the document's security schemes give none)",
                k.api_type(),
                k.flag()
            ));
            k
        }
        (None, None) => unreachable!("refused above"),
    };

    // ---- proxy_url ----
    let base = match &opts.proxy_url {
        Some(u) => {
            d.decide(format!("proxy_url `{u}` from --proxy-url"));
            Base {
                url: u.clone(),
                fields: template::placeholder_fields(u),
                notes: Vec::new(),
            }
        }
        None => choose_server(&doc, swagger, opts, &mut d).map_err(Stop::Refuse)?,
    };
    for n in &base.notes {
        d.decide(n.clone());
    }
    let host = host_of(&base.url).to_string();
    if host.contains("{{") {
        d.warn(format!(
            "the API's host is a placeholder (`{host}`): each user fills it in when they connect"
        ));
    } else if placeholder_host(&host) {
        d.warn(format!(
            "the server's host `{host}` looks like a placeholder, not the API's own host: check proxy_url"
        ));
    }

    // ---- operations: other servers, security, required headers ----
    let key_header = match &chosen {
        Some((_, Usable::ApiKey { header, .. })) => Some(header.as_str()),
        _ => opts.header.as_deref(),
    };
    operations_report(
        &doc,
        swagger,
        chosen.as_ref().map(|c| c.0.as_str()),
        &base,
        &mut d,
        total_ops,
        &global_names,
        key_header,
    );

    // ---- names ----
    let title = text(&doc.info.title).unwrap_or_default();
    let display = match &opts.name {
        Some(n) => {
            d.decide(format!("display_name `{n}` from --name"));
            n.clone()
        }
        None => {
            let clean = sanitize_name(&title);
            if clean.is_empty() {
                return Err(Stop::Choose(Choice {
                    slot: Slot::Name,
                    message: format!(
                        "the document's title `{title}` gives no usable display name (letters, digits and spaces); pass --name NAME"
                    ),
                    question: "Display name of the connector".into(),
                    options: Vec::new(),
                }));
            }
            if clean != title {
                d.heuristic(format!(
                    "display_name `{clean}` sanitised from the title `{title}` (a display name holds only letters, digits and spaces; Scalekit derives the identifier from it); pass --name to choose another"
                ));
            } else {
                d.decide(format!("display_name `{clean}` from info.title"));
            }
            clean
        }
    };
    d.connector.insert("display_name".into(), json!(display));
    let description = text(&doc.info.summary)
        .filter(|s| !s.trim().is_empty())
        .map(|s| (first_sentence(&s, 200), "info.summary"))
        .or_else(|| {
            text(&doc.info.description)
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    (
                        first_sentence(&s, 200),
                        "the first sentence of info.description",
                    )
                })
        })
        .filter(|(s, _)| !s.is_empty());
    match description {
        Some((s, from)) => {
            d.decide(format!("description from {from}, markup stripped"));
            d.connector.insert("description".into(), json!(s));
        }
        None => {
            d.decide("no description: the document has no info.summary or info.description");
            d.connector.insert("description".into(), json!(""));
            d.comment(
                "description",
                "FILL IN: one sentence users read (the document has none).",
            );
        }
    }
    d.connector.insert("proxy_url".into(), json!(base.url));

    // ---- the pattern ----
    let mut p = match &chosen {
        None => template::pattern(
            &mut d,
            kind,
            opts.mcp,
            &display,
            opts.header.as_deref(),
            base.fields.clone(),
        ),
        Some((name, u)) => {
            pattern_from_scheme(&mut d, name, u, &doc, defined, &display, opts, &base)
        }
    };
    if opts.mcp && !p.contains_key("is_mcp") {
        p.insert("is_mcp".into(), json!(true));
    }
    d.connector
        .insert("auth_patterns".into(), Value::Array(vec![Value::Object(p)]));

    // ---- age ----
    if swagger {
        d.warn(format!(
            "the document is Swagger 2.0 (info.version {}), a format superseded by OpenAPI 3.0 in 2017: it may describe legacy endpoints; review every value",
            text(&doc.info.version).unwrap_or_else(|| "unknown".into())
        ));
    }

    // ---- provenance ----
    let prov = vec![
        "Derived by `skconn new --from-openapi`. Review every value before `skconn apply`;"
            .to_string(),
        "run it again on a new version of the document and compare.".into(),
        format!("Source: {label}"),
        format!(
            "Document: {version}, \"{}\" version {}",
            title,
            text(&doc.info.version).unwrap_or_else(|| "?".into())
        ),
        format!("SHA-256: {sha}"),
        match &chosen {
            Some((n, _)) => format!("Security scheme: {n} → {}", kind.api_type()),
            None => format!(
                "Security scheme: none used; {} from --type {}",
                kind.api_type(),
                kind.flag()
            ),
        },
    ];
    d.set_provenance(prov);
    Ok(d)
}

fn kinds_list() -> String {
    Kind::ALL.map(Kind::flag).join("|")
}

fn choose_scheme(label: &str, usable: &[(String, Usable, String)], from: &str) -> Stop {
    let list: Vec<String> = usable
        .iter()
        .map(|(n, u, desc)| format!("{n} ({desc} → {})", u.kind().api_type()))
        .collect();
    Stop::Choose(Choice {
        slot: Slot::Scheme,
        message: format!(
            "{label} offers {} usable security schemes in {from}: {}; a connector has one auth pattern, so pick one with --scheme NAME (run again with the other for a second connector)",
            usable.len(),
            list.join(", ")
        ),
        question: "Which security scheme should the connector use?".into(),
        options: usable
            .iter()
            .zip(&list)
            .map(|((n, _, _), l)| (n.clone(), l.clone()))
            .collect(),
    })
}

fn choose_server(doc: &Doc, swagger: bool, opts: &Options, d: &mut Draft) -> Result<Base, String> {
    let (raw, vars, origin): (String, Option<Map<String, Value>>, String) = if swagger {
        let host = text(&doc.host);
        let base_path = text(&doc.base_path).unwrap_or_default();
        let schemes: Vec<String> = doc
            .schemes
            .iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_ascii_lowercase))
            .collect();
        match host {
            None => (
                base_path.clone(),
                None,
                "`basePath` (no `host`)".to_string(),
            ),
            Some(h) => {
                let scheme = if schemes.is_empty() || schemes.iter().any(|s| s == "https") {
                    if schemes.is_empty() {
                        d.heuristic("the document lists no `schemes`: https assumed");
                    }
                    "https"
                } else {
                    "http"
                };
                (
                    format!("{scheme}://{h}{base_path}"),
                    None,
                    "`schemes`, `host` and `basePath`".to_string(),
                )
            }
        }
    } else {
        let servers = doc.servers.clone().unwrap_or_default();
        type Pick = (String, Option<Map<String, Value>>, usize);
        let mut pick: Option<Pick> = None;
        for (i, s) in servers.iter().enumerate() {
            let Some(u) = server_url(s) else { continue };
            let trial = apply_variables(u, s.variables.as_ref());
            if trial.url.starts_with("https://") {
                pick = Some((u.to_string(), s.variables.clone(), i));
                break;
            }
        }
        match pick {
            Some((u, v, i)) => (
                u,
                v,
                format!("servers[{i}], the first absolute https server"),
            ),
            None => match servers.iter().find_map(server_url) {
                Some(u) => (u.to_string(), None, "servers[0]".to_string()),
                None => (
                    "/".into(),
                    None,
                    "the default server `/` (no `servers`)".to_string(),
                ),
            },
        }
    };
    let mut base = apply_variables(&raw, vars.as_ref());
    if base.url.starts_with("https://") {
        if let Some(b) = &opts.base_url {
            d.warn(format!(
                "--base-url {b} is not used: the document's server `{}` is absolute",
                base.url
            ));
        }
        base.notes
            .insert(0, format!("proxy_url `{}` from {origin}", base.url));
        return Ok(base);
    }
    if base.url.starts_with("http://") {
        return Err(format!(
            "the document's server `{raw}` ({origin}) is plain http, and a connector's proxy_url must be https; pass --proxy-url https://..."
        ));
    }
    let Some(b) = &opts.base_url else {
        return Err(format!(
            "the document's server `{raw}` ({origin}) is relative, so the API's host is unknown; pass --base-url https://HOST (the server is resolved against it) or --proxy-url"
        ));
    };
    if !b.starts_with("https://") {
        return Err(format!("--base-url {b}: must start with https://"));
    }
    let rel = base.url.trim_start_matches('/');
    base.url = if rel.is_empty() {
        b.trim_end_matches('/').to_string()
    } else {
        format!("{}/{rel}", b.trim_end_matches('/'))
    };
    base.notes.insert(
        0,
        format!(
            "proxy_url `{}`: the relative server `{raw}` ({origin}) resolved against --base-url",
            base.url
        ),
    );
    Ok(base)
}

/// Reports operations on other servers, operations without (or without the chosen) security,
/// and required headers a connector cannot send.
#[allow(clippy::too_many_arguments)]
fn operations_report(
    doc: &Doc,
    swagger: bool,
    scheme: Option<&str>,
    base: &Base,
    d: &mut Draft,
    total: usize,
    global_names: &[String],
    key_header: Option<&str>,
) {
    let empty = BTreeMap::new();
    let shared_params = if swagger {
        doc.parameters.as_ref().unwrap_or(&empty)
    } else {
        doc.components
            .as_ref()
            .and_then(|c| c.parameters.as_ref())
            .unwrap_or(&empty)
    };
    let mut skip_headers = vec![
        "authorization".to_string(),
        "accept".into(),
        "content-type".into(),
    ];
    if let Some(h) = key_header {
        skip_headers.push(h.to_ascii_lowercase());
    }
    let mut other_servers: BTreeMap<String, usize> = BTreeMap::new();
    let mut no_security: Vec<String> = Vec::new();
    let mut optional_security: Vec<String> = Vec::new();
    let mut not_chosen: Vec<String> = Vec::new();
    let mut headers: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let doc_server = base.url.clone();
    for (path, item) in doc.paths.iter().flat_map(|p| p.iter()) {
        for (method, op) in item.operations() {
            let op_name = format!("{method} {path}");
            let servers = op.servers.as_ref().or(item.servers.as_ref());
            if let Some(servers) = servers {
                if let Some(u) = servers.iter().find_map(server_url) {
                    let applied = apply_variables(u, None).url;
                    if applied.trim_end_matches('/') != doc_server.trim_end_matches('/') {
                        *other_servers.entry(u.to_string()).or_default() += 1;
                    }
                }
            }
            let security = op.security.as_ref().or(doc.security.as_ref());
            match security {
                None => no_security.push(op_name.clone()),
                Some(reqs) if reqs.is_empty() => no_security.push(op_name.clone()),
                Some(reqs) => {
                    if reqs.iter().any(Map::is_empty) {
                        optional_security.push(op_name.clone());
                    }
                    if let Some(s) = scheme {
                        if !reqs.iter().any(|r| r.contains_key(s))
                            && !reqs.iter().any(Map::is_empty)
                        {
                            not_chosen.push(op_name.clone());
                        }
                    }
                }
            }
            let mut seen: Vec<String> = Vec::new();
            for p in op
                .parameters
                .iter()
                .flatten()
                .chain(item.parameters.iter().flatten())
            {
                let Some(p) = resolve_param(p, shared_params) else {
                    continue;
                };
                if p.location.as_ref().and_then(Value::as_str) != Some("header") {
                    continue;
                }
                let Some(name) = p.name.as_ref().and_then(Value::as_str) else {
                    continue;
                };
                let lower = name.to_ascii_lowercase();
                if seen.contains(&lower) {
                    continue; // the operation's own parameter overrides the path item's
                }
                seen.push(lower.clone());
                if p.required == Some(Value::Bool(true)) && !skip_headers.contains(&lower) {
                    headers.entry(lower).or_insert((name.to_string(), 0)).1 += 1;
                }
            }
        }
    }
    let examples = |v: &[String]| {
        let shown: Vec<&str> = v.iter().take(3).map(String::as_str).collect();
        format!(
            "{}{}",
            shown.join(", "),
            if v.len() > 3 { ", …" } else { "" }
        )
    };
    for (u, n) in &other_servers {
        d.warn(format!(
            "{n} operation(s) use another server, `{u}`, which this connector does not reach (one connector per host)"
        ));
    }
    if scheme.is_some() {
        if !no_security.is_empty() {
            d.warn(format!(
                "{} of {total} operations declare no security ({}){}",
                no_security.len(),
                examples(&no_security),
                if global_names.is_empty() {
                    ""
                } else {
                    " or `security: []`"
                }
            ));
        }
        if !optional_security.is_empty() {
            d.warn(format!(
                "{} of {total} operations accept requests without credentials ({})",
                optional_security.len(),
                examples(&optional_security)
            ));
        }
        if !not_chosen.is_empty() {
            d.warn(format!(
                "{} of {total} operations do not accept the chosen scheme ({})",
                not_chosen.len(),
                examples(&not_chosen)
            ));
        }
    }
    for (name, n) in headers.values() {
        if *n * 2 > total {
            d.warn(format!(
                "the header `{name}` is required by {n} of {total} operations; a connector cannot send it, so every caller must"
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pattern_from_scheme(
    d: &mut Draft,
    name: &str,
    u: &Usable,
    doc: &Doc,
    defined: &Map<String, Value>,
    service: &str,
    opts: &Options,
    base: &Base,
) -> Map<String, Value> {
    let at = |k: &str| format!("auth_patterns[0].{k}");
    let _ = defined;
    let mut p = template::pattern(d, u.kind(), opts.mcp, service, None, base.fields.clone());
    match u {
        Usable::Oauth {
            authorize,
            token,
            scopes,
        } if !opts.mcp => {
            let mut all: Vec<(String, String, bool)> = scopes
                .iter()
                .map(|(s, desc)| (s.clone(), desc.clone(), true))
                .collect();
            let mut reqs: Vec<&Map<String, Value>> = doc.security.iter().flatten().collect();
            for item in doc.paths.iter().flat_map(|p| p.values()) {
                for (_, op) in item.operations() {
                    reqs.extend(op.security.iter().flatten());
                }
            }
            for r in reqs {
                for s in r.get(name).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(s) = s.as_str() {
                        if !all.iter().any(|(x, _, _)| x == s) {
                            all.push((s.to_string(), String::new(), false));
                        }
                    }
                }
            }
            let declared = all.iter().filter(|s| s.2).count();
            let extra: Vec<&str> = all.iter().filter(|s| !s.2).map(|s| s.0.as_str()).collect();
            let mut useless = 0;
            let list: Vec<Value> = all
                .iter()
                .map(|(s, desc, _)| {
                    let mut m = Map::new();
                    m.insert("scope".into(), json!(s));
                    m.insert("display_name".into(), json!(title_case(s)));
                    let desc = desc.trim();
                    if !desc.is_empty() && !desc.eq_ignore_ascii_case(s) {
                        m.insert("description".into(), json!(desc));
                    } else if !desc.is_empty() {
                        useless += 1;
                    }
                    m.insert("required".into(), json!(false));
                    Value::Object(m)
                })
                .collect();
            d.decide(format!(
                "{declared} scope(s) declared by the scheme{}; none marked required (operations list scopes as alternatives as often as not)",
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", plus {} named only by operations ({})",
                        extra.len(),
                        extra.join(", ")
                    )
                }
            ));
            if useless > 0 {
                d.decide(format!(
                    "{useless} scope description(s) only repeat the scope's name: left out"
                ));
            }
            d.heuristic(
                "scope display names made from the scope names (e.g. `tasks:read` → `Tasks Read`)",
            );
            let offline = all.iter().any(|(s, _, _)| {
                let l = s.to_ascii_lowercase();
                l == "offline_access" || l == "offline" || l.contains("refresh")
            });
            let pseudo: Vec<&str> = all
                .iter()
                .filter(|(s, desc, _)| {
                    s == "none" || desc.to_ascii_lowercase().contains("no scope required")
                })
                .map(|(s, _, _)| s.as_str())
                .collect();
            if !pseudo.is_empty() {
                d.warn(format!(
                    "pseudo-scope(s) {} (\"no scope required\"): not a scope to request; remove from available_scopes",
                    pseudo.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                ));
            }
            let openid = all.iter().any(|(s, _, _)| s == "openid");
            if openid && !offline {
                d.warn("the provider speaks OpenID Connect (scope `openid`) but declares no offline-access scope: if refresh tokens need `offline_access` (or the provider's own), add it to available_scopes");
            }
            d.uncomment(&at("oauth_config"));
            let mut c = Map::new();
            c.insert(
                "authorize_uri".into(),
                json!(absolute(authorize, &base.url, d)),
            );
            c.insert("token_uri".into(), json!(absolute(token, &base.url, d)));
            c.insert("pkce_enabled".into(), json!(true));
            c.insert("available_scopes".into(), Value::Array(list));
            d.comment(
                at("oauth_config.pkce_enabled"),
                "PKCE is on by default; set it to false if the provider rejects it.",
            );
            d.comment(
                at("oauth_config.available_scopes"),
                "From the document. Set `required: true` on the scopes always requested.",
            );
            p.insert("oauth_config".into(), Value::Object(c));
            d.decide(format!(
                "authorize_uri and token_uri from the scheme `{name}`'s authorization-code flow (refreshUrl is not used)"
            ));
        }
        Usable::Oauth { .. } => {
            d.decide("--mcp: an MCP OAUTH pattern is exactly `oauth_config: {pkce_enabled: true}`; the document's endpoints and scopes are not used");
        }
        Usable::Basic => {
            // `accountSid_authToken` → labels "Account SID" and "Auth Token".
            if let Some((user, pass)) = name
                .split_once('_')
                .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('_'))
            {
                if let Some(Value::Array(fields)) = p.get_mut("fields") {
                    fields[0]["label"] = json!(title_case(user));
                    fields[1]["label"] = json!(title_case(pass));
                    d.heuristic(format!(
                        "field labels `{}` and `{}` read from the scheme's name `{name}`",
                        title_case(user),
                        title_case(pass)
                    ));
                }
            }
            d.decide("fields `username` and `password` (http basic)");
        }
        Usable::Bearer => {
            d.decide("field `token` (http bearer; bearerFormat is informational)");
        }
        Usable::ApiKey { header, prefix } => {
            if header.eq_ignore_ascii_case("authorization") {
                d.decide("the key goes in the `Authorization` header: no auth_header_key_override");
            } else {
                p.insert("auth_header_key_override".into(), json!(header));
                d.decide(format!(
                    "auth_header_key_override `{header}`: the scheme's header"
                ));
            }
            if let Some((prefix, whence)) = prefix {
                p.insert(
                    "auth_field_mutations".into(),
                    json!({"api_key": {"prefix": prefix}}),
                );
                d.heuristic(format!("API key prefix `{prefix}` read from {whence}"));
                d.comment(
                    at("auth_field_mutations"),
                    "A heuristic: the prefix was read from the document's prose. Check it.",
                );
            }
        }
    }
    p
}

/// An OAuth endpoint as an absolute URL: a relative one is resolved against the server.
fn absolute(u: &str, server: &str, d: &mut Draft) -> String {
    if u.starts_with("https://") || u.starts_with("http://") {
        return u.to_string();
    }
    let joined = if u.starts_with('/') {
        format!("https://{}{u}", host_of(server))
    } else {
        format!("{}/{u}", server.trim_end_matches('/'))
    };
    d.heuristic(format!(
        "the relative OAuth endpoint `{u}` resolved against the server: `{joined}`"
    ));
    joined
}

/// A parameter, or the shared one its `$ref` names (`#/components/parameters/X`, Swagger
/// `#/parameters/X`).
fn resolve_param<'a>(p: &'a Param, shared: &'a BTreeMap<String, Param>) -> Option<&'a Param> {
    match p.reference.as_ref().and_then(Value::as_str) {
        Some(r) => r.rsplit('/').next().and_then(|n| shared.get(n)),
        None => Some(p),
    }
}

/// A `$ref` to a local component (`#/components/securitySchemes/X`) replaced
/// by the component; anything else as it is. Only one level: components are not dereferenced
/// further.
fn resolve_ref(v: &Value, components: &Map<String, Value>) -> Value {
    match str_of(v, "$ref") {
        Some(r) => r
            .rsplit('/')
            .next()
            .and_then(|n| components.get(n))
            .cloned()
            .unwrap_or(Value::Null),
        None => v.clone(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let s = json!({"type": "apiKey", "in": "header", "name": "Authorization",
                       "description": "Send `Authorization: Token token=<API_KEY>` with each request."});
        assert_eq!(key_prefix(&s, "Authorization").unwrap().0, "Token token=");
        let s = json!({"description": "Use `Acme-Key your-key`."});
        assert_eq!(key_prefix(&s, "X").unwrap().0, "Acme-Key ");
        let s = json!({"description": "The key from `settings`."});
        assert!(key_prefix(&s, "X").is_none());
    }

    #[test]
    fn variables() {
        let vars = json!({"hostname": {"default": "HOSTNAME"}, "protocol": {"default": "http"},
                          "region": {"enum": ["eu"], "default": "eu"}});
        let b = apply_variables("{protocol}://{hostname}.{region}/api/v3", vars.as_object());
        assert_eq!(b.url, "https://{{hostname}}.eu/api/v3");
        assert_eq!(b.fields.len(), 1);
        assert_eq!(b.fields[0]["hint"], "HOSTNAME");
    }
}
