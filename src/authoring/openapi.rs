//! `skconn new --from-openapi`: derives a connector from an OpenAPI 3.0/3.1 or Swagger 2.0
//! document, by the rules of `openapi-inference` §3, writing down every decision and doubt.
//!
//! The document is read selectively ([`super::document`]): only `info`, `servers` (or
//! Swagger's `host`, `basePath`, `schemes`), `security`, the security schemes, the reusable
//! parameters and, in `paths`, each operation's `security`, `servers` and `parameters`;
//! everything else (schemas, responses, examples) is skipped unread, and nothing is
//! dereferenced but security schemes and parameters. [`Doc`] and [`wanted`] name the same parts,
//! for JSON and for YAML: change them together. This keeps a 10 MB description cheap.
//!
//! Derivation never guesses an auth pattern: several usable schemes need `--scheme`; none
//! (none defined, keys in a query or cookie, client credentials only) is a refusal that says
//! what the document has and suggests `--type`. Schemes of one security requirement are needed
//! together; a connector sends one credential, so it is written with one of them and a warning
//! names what it cannot send.

use super::document::{self, Want};
use super::template::{self, path_param};
use super::{
    first_sentence, first_sentence_cut, sanitize_name, title_case, Choice, Draft, Kind, Slot, Stop,
};
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
    #[serde(rename = "x-mcp")]
    x_mcp: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Info {
    title: Option<Value>,
    summary: Option<Value>,
    description: Option<Value>,
    version: Option<Value>,
    #[serde(rename = "x-mcp")]
    x_mcp: Option<Value>,
}

/// The longest description taken from a document: a first sentence longer than this is cut.
const DESCRIPTION_MAX: usize = 1000;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The paths of a YAML document that [`Doc`] reads: the same parts, so that a large or hostile
/// document is read no further than they go.
fn wanted(p: &[&str]) -> Want {
    let param = |k: &str| matches!(k, "$ref" | "name" | "in" | "required");
    match p {
        [] | ["info" | "components" | "paths"] | ["paths", _] => Want::Walk,
        ["openapi"
        | "swagger"
        | "host"
        | "basePath"
        | "schemes"
        | "servers"
        | "security"
        | "securityDefinitions"
        | "x-mcp"] => Want::Keep,
        ["info", "title" | "summary" | "description" | "version" | "x-mcp"] => Want::Keep,
        ["components", "securitySchemes"] => Want::Keep,
        ["components", "parameters"] | ["parameters"] => Want::Walk,
        ["components", "parameters", _] | ["parameters", _] => Want::Walk,
        ["components", "parameters", _, k] | ["parameters", _, k] if param(k) => Want::Keep,
        ["paths", _, "servers"] => Want::Keep,
        ["paths", _, "parameters"] | ["paths", _, "parameters", "[]"] => Want::Walk,
        ["paths", _, "parameters", "[]", k] if param(k) => Want::Keep,
        ["paths", _, m] if METHODS.contains(m) => Want::Walk,
        ["paths", _, m, "security" | "servers"] if METHODS.contains(m) => Want::Keep,
        ["paths", _, m, "parameters"] | ["paths", _, m, "parameters", "[]"]
            if METHODS.contains(m) =>
        {
            Want::Walk
        }
        ["paths", _, m, "parameters", "[]", k] if METHODS.contains(m) && param(k) => Want::Keep,
        _ => Want::Skip,
    }
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

/// Parses the parts of the document skconn reads (JSON when it starts with `{`, else YAML);
/// errors name `label` and, when known, the line and column.
fn parse(label: &str, bytes: &[u8]) -> Result<Doc, String> {
    let doc: Doc = document::read(bytes, wanted).map_err(|e| match e.at {
        Some((line, col)) => format!("{label}:{line}:{col}: {}", e.message),
        None => format!("{label}: {}", e.message),
    })?;
    if doc.openapi.is_none() && doc.swagger.is_none() {
        return Err(format!(
            "{label}: neither `openapi:` nor `swagger:` is set: this is not an OpenAPI or Swagger document"
        ));
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

/// A prefix stated by the document for an API key, with where it was found: `x-default` (the
/// header's example value, such as `Acme-Key your-key`), or a backticked example in the
/// description such as `` `Token token=<API_KEY>` ``. Either way the prefix is the text before
/// the example key, never the key itself.
fn key_prefix(s: &Value, header: &str) -> Option<(String, String)> {
    if let Some(d) = str_of(s, "x-default").filter(|d| !d.is_empty()) {
        // The header's whole value: the key is where a placeholder starts, else its last word
        // (after its `=`, as in `token=abc`).
        let last_word = || {
            let start = d.rfind(' ').map_or(0, |i| i + 1);
            d[start..]
                .find('=')
                .map(|i| start + i + 1)
                .or((start > 0).then_some(start))
        };
        let prefix = example_key_at(d).or_else(last_word).map(|at| &d[..at]);
        return prefix
            .filter(|p| !p.trim().is_empty() && p.len() <= 64)
            .map(|p| (p.to_string(), "the scheme's `x-default`".into()));
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
        if let Some(at) = example_key_at(t) {
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

/// Where an example key starts in a header value: a `<…>`, `{…}` or `$…` placeholder, or a
/// word such as `your-…` or `api_key` (a word: `Klaviyo-API-Key` is a prefix, not a key).
fn example_key_at(t: &str) -> Option<usize> {
    t.find(['<', '{', '$']).or_else(|| {
        let lower = t.to_ascii_lowercase();
        ["your-", "your_", "your ", "api_key", "api-key", "apikey"]
            .iter()
            .flat_map(|w| lower.match_indices(w).map(|(i, _)| i))
            .filter(|&i| i == 0 || matches!(lower.as_bytes()[i - 1], b' ' | b'='))
            .min()
    })
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
    let doc = parse(label, bytes).map_err(Stop::Refuse)?;
    let swagger = doc.swagger.is_some() && doc.openapi.is_none();
    let version = if swagger {
        format!("Swagger {}", text(&doc.swagger).unwrap_or_default())
    } else {
        format!("OpenAPI {}", text(&doc.openapi).unwrap_or_default())
    };
    let sha = crate::base::hex::hex(Sha256::digest(bytes));
    let mut d = Draft::default();
    d.decide(format!("read {label} as {version}"));
    let mcp_server = describes_mcp(&doc);
    let reqs = Requirements::of(&doc);
    if let Some(m) = &mcp_server {
        if opts.mcp {
            d.decide(format!(
                "--mcp: an MCP connector; the document describes an MCP server too ({})",
                m.reasons.join("; ")
            ));
        } else {
            d.warn(format!(
                "the document describes an MCP server ({}): written as an MCP connector (`is_mcp: true`, proxy_url its endpoint); `skconn new --from-mcp {}` probes how it signs users in",
                m.reasons.join("; "),
                m.endpoint
            ));
        }
    }
    let opts = &Options {
        mcp: opts.mcp || mcp_server.is_some(),
        ..opts.clone()
    };

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
            let mcp_hint = match &mcp_server {
                Some(m) => format!(
                    ". It describes an MCP server ({}): to find how it signs users in, probe it with `skconn new --from-mcp {}`; or pass --type {} (e.g. --type bearer)",
                    m.reasons.join("; "),
                    m.endpoint,
                    kinds_list()
                ),
                None => format!(
                    ". Pass --type {} (e.g. --type bearer), or --from-mcp URL for an MCP server",
                    kinds_list()
                ),
            };
            return Err(Stop::Refuse(format!(
                "{label} defines no security scheme (no `{schemes_key}`), so its auth pattern cannot be derived; \
                 skconn does not guess it from prose{mcp_hint}"
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
                let usable: Vec<_> = matching.iter().map(|i| usable[*i].clone()).collect();
                return Err(choose_scheme(label, &usable, from, &reqs));
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
            return Err(choose_scheme(label, &usable, from, &reqs));
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
    if let Some((name, _)) = &chosen {
        let usable: Vec<&str> = defined
            .iter()
            .filter(|(_, v)| classify(&resolve_scheme(v), swagger).is_ok())
            .map(|(n, _)| n.as_str())
            .collect();
        together_warning(&mut d, name, &reqs, &usable, |o| {
            defined.get(o).map(resolve_scheme)
        });
    }
    let mut base = base;
    if let (Some(path), None) = (
        mcp_server.as_ref().and_then(|m| m.path.as_ref()),
        &opts.proxy_url,
    ) {
        base.url = format!("{}{path}", base.url.trim_end_matches('/'));
        d.decide(format!(
            "proxy_url `{}`: the server and the MCP endpoint `{path}`",
            base.url
        ));
    }

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
    // The first sentence whole: only one longer than DESCRIPTION_MAX is cut, and then says so.
    let description = text(&doc.info.summary)
        .filter(|s| !s.trim().is_empty())
        .map(|s| (first_sentence_cut(&s, DESCRIPTION_MAX), "info.summary"))
        .or_else(|| {
            text(&doc.info.description)
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    (
                        first_sentence_cut(&s, DESCRIPTION_MAX),
                        "the first sentence of info.description",
                    )
                })
        })
        .filter(|((s, _), _)| !s.is_empty());
    match description {
        Some(((s, cut), from)) => {
            d.decide(format!("description from {from}, markup stripped"));
            d.connector.insert("description".into(), json!(s));
            if cut {
                d.warn(format!(
                    "the description from {from} is one sentence of more than {DESCRIPTION_MAX} characters: cut; shorten it"
                ));
                d.comment(
                    "description",
                    format!("FILL IN: {from} runs past {DESCRIPTION_MAX} characters; shorten it to a sentence users read."),
                );
            }
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
            None,
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

fn choose_scheme(
    label: &str,
    usable: &[(String, Usable, String)],
    from: &str,
    reqs: &Requirements,
) -> Stop {
    let list: Vec<String> = usable
        .iter()
        .map(|(n, u, desc)| format!("{n} ({desc} → {})", u.kind().api_type()))
        .collect();
    let names: Vec<&str> = usable.iter().map(|u| u.0.as_str()).collect();
    // Requirement objects that name several of these schemes: those are needed together.
    let groups: Vec<String> = reqs
        .compound_groups(from != "the global `security`")
        .into_iter()
        .filter(|g| g.iter().filter(|n| names.contains(&n.as_str())).count() > 1)
        .map(|g| format!("{} are needed together", and_list(&g)))
        .collect();
    let mut message = format!(
        "{label} offers {} usable security schemes in {from}: {}",
        usable.len(),
        list.join(", ")
    );
    if groups.is_empty() {
        message.push_str("; a connector has one auth pattern, so pick one with --scheme NAME");
    } else {
        message.push_str(&format!(
            ". {} (schemes of one security requirement are), and a connector sends one credential: with one of them it cannot send the others. A connector has one auth pattern, so pick one with --scheme NAME",
            groups.join("; ")
        ));
    }
    if let Some((best, n)) = reqs.best_alone(&names) {
        message.push_str(&format!(
            "; suggested: --scheme {best}, which alone satisfies {}",
            reqs.of_total(n)
        ));
    }
    if reqs.alternatives(from != "the global `security`") > 1 {
        message.push_str(" (for a second connector, run again with another alternative)");
    }
    Stop::Choose(Choice {
        slot: Slot::Scheme,
        message,
        question: "Which security scheme should the connector use?".into(),
        options: usable
            .iter()
            .zip(&list)
            .map(|((n, _, _), l)| (n.clone(), l.clone()))
            .collect(),
    })
}

/// The warning for a scheme chosen from a requirement object that names others: they are
/// needed together, and the connector cannot send theirs.
fn together_warning(
    d: &mut Draft,
    name: &str,
    reqs: &Requirements,
    usable: &[&str],
    scheme: impl Fn(&str) -> Option<Value>,
) {
    let (n, others) = reqs.together(name);
    if n == 0 {
        return;
    }
    let cannot: Vec<String> = others
        .iter()
        .map(|o| unsent(o, scheme(o).as_ref()))
        .collect();
    let mut w = format!(
        "`{name}` is needed together with {} by {} (schemes of one security requirement are needed together): a connector sends one credential, so it cannot send {}, and every caller must",
        and_list(&others),
        reqs.of_total(n),
        cannot.join(" or ")
    );
    if let Some((best, b)) = reqs.best_alone(usable) {
        if best != name && b > reqs.alone(name) {
            w.push_str(&format!(
                "; `{best}` alone satisfies {} (--scheme {best})",
                reqs.of_total(b)
            ));
        }
    }
    d.warn(w);
}

/// `a`, `` `a` and `b` ``, `` `a`, `b` and `c` ``.
fn and_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

// ---- security requirements --------------------------------------------------------------------

/// The security requirements each operation is held to: its own `security`, else the
/// document's. A requirement object lists schemes that are needed together; the objects of one
/// list are alternatives. With no operation, the document's `security` stands for one.
struct Requirements<'d> {
    /// Each operation (`GET /x`) and its requirement objects (`None`: none declared).
    units: Vec<(String, Option<Objects<'d>>)>,
    /// Whether `units` are operations (else the one unit is the document's `security`).
    ops: bool,
    global: Option<Objects<'d>>,
}

/// A list of security requirement objects.
type Objects<'d> = &'d [Map<String, Value>];

impl<'d> Requirements<'d> {
    fn of(doc: &'d Doc) -> Requirements<'d> {
        let global = doc.security.as_deref();
        let mut units = Vec::new();
        for (path, item) in doc.paths.iter().flat_map(|p| p.iter()) {
            for (method, op) in item.operations() {
                units.push((
                    format!("{method} {path}"),
                    op.security.as_deref().or(global),
                ));
            }
        }
        let ops = !units.is_empty();
        if !ops {
            units.push(("the global `security`".into(), global));
        }
        Requirements { units, ops, global }
    }

    fn total(&self) -> usize {
        if self.ops {
            self.units.len()
        } else {
            1
        }
    }

    /// `3 of 4 operations`, or the document's `security` when it stands for them.
    fn of_total(&self, n: usize) -> String {
        if self.ops {
            format!("{n} of {} operations", self.total())
        } else {
            "the global `security`".into()
        }
    }

    /// The requirement objects of the global `security`, or (`ops`) of every operation.
    fn objects(&self, ops: bool) -> Vec<&'d Map<String, Value>> {
        if ops {
            self.units
                .iter()
                .flat_map(|u| u.1.unwrap_or_default().iter())
                .collect()
        } else {
            self.global.into_iter().flatten().collect()
        }
    }

    /// How many different requirement objects there are (the alternatives).
    fn alternatives(&self, ops: bool) -> usize {
        let mut seen: Vec<Vec<&String>> = Vec::new();
        for r in self.objects(ops) {
            let k: Vec<&String> = r.keys().collect();
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
        seen.len()
    }

    /// The requirement objects that name several schemes, each once.
    fn compound_groups(&self, ops: bool) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for r in self.objects(ops) {
            let g: Vec<String> = r.keys().cloned().collect();
            if g.len() > 1 && !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// How many operations `scheme` alone satisfies (a requirement object naming only it).
    fn alone(&self, scheme: &str) -> usize {
        self.units
            .iter()
            .filter(|(_, r)| {
                r.unwrap_or_default()
                    .iter()
                    .any(|o| o.len() == 1 && o.contains_key(scheme))
            })
            .count()
    }

    /// Of `names`, the scheme that alone satisfies the most operations (the first on a tie),
    /// when one satisfies any.
    fn best_alone<'n>(&self, names: &[&'n str]) -> Option<(&'n str, usize)> {
        let mut best: Option<(&str, usize)> = None;
        for n in names {
            let c = self.alone(n);
            if c > 0 && best.is_none_or(|(_, b)| c > b) {
                best = Some((n, c));
            }
        }
        best
    }

    /// The operations that accept `scheme` only together with other schemes, and those other
    /// schemes in the order they appear.
    fn together(&self, scheme: &str) -> (usize, Vec<String>) {
        let mut n = 0;
        let mut others: Vec<String> = Vec::new();
        for (_, r) in &self.units {
            let objects: Vec<&Map<String, Value>> = r.unwrap_or_default().iter().collect();
            let alone = objects
                .iter()
                .any(|o| o.is_empty() || (o.len() == 1 && o.contains_key(scheme)));
            let compound: Vec<&&Map<String, Value>> = objects
                .iter()
                .filter(|o| o.len() > 1 && o.contains_key(scheme))
                .collect();
            if alone || compound.is_empty() {
                continue;
            }
            n += 1;
            for o in compound {
                for k in o.keys().filter(|k| *k != scheme) {
                    if !others.contains(k) {
                        others.push(k.clone());
                    }
                }
            }
        }
        (n, others)
    }
}

/// What a connector cannot send when it carries another scheme's credential than `scheme`'s.
fn unsent(name: &str, scheme: Option<&Value>) -> String {
    let Some(s) = scheme else {
        return format!("the credential of `{name}`");
    };
    match (str_of(s, "type"), str_of(s, "in"), str_of(s, "name")) {
        (Some("apiKey"), Some("header"), Some(h)) => format!("the header `{h}`"),
        (Some("apiKey"), Some("query"), Some(q)) => format!("the query parameter `{q}`"),
        (Some("apiKey"), Some("cookie"), Some(c)) => format!("the cookie `{c}`"),
        (Some("http"), ..) => format!(
            "the `Authorization` credential of `{name}` (http {})",
            str_of(s, "scheme").unwrap_or("?")
        ),
        (Some("oauth2" | "openIdConnect"), ..) => format!("an OAuth access token (`{name}`)"),
        _ => format!("the credential of `{name}`"),
    }
}

// ---- MCP servers ------------------------------------------------------------------------------

/// A document that describes an MCP server, and why skconn thinks so.
#[derive(Debug)]
struct McpServer {
    reasons: Vec<String>,
    /// The endpoint's path (`/mcp`), when the document has one.
    path: Option<String>,
    /// The endpoint's URL, for messages: the first server with the path.
    endpoint: String,
}

/// Whether a document describes an MCP server rather than a REST API: an `x-mcp` extension; or
/// all operations on one path ending in `/mcp` (or `/sse`); or one JSON-RPC-style endpoint (one
/// path, with a POST, and only POST, GET and DELETE) that the server URL or `info` names as
/// MCP. One REST path among many is never enough.
fn describes_mcp(doc: &Doc) -> Option<McpServer> {
    let mut reasons: Vec<String> = Vec::new();
    if doc.x_mcp.is_some() || doc.info.x_mcp.is_some() {
        reasons.push("it has an `x-mcp` extension".into());
    }
    let paths: Vec<(&String, &PathItem)> = doc
        .paths
        .iter()
        .flat_map(|p| p.iter())
        .filter(|(_, i)| i.operations().next().is_some())
        .collect();
    let mcp_path = |p: &str| {
        let p = p.trim_end_matches('/').to_ascii_lowercase();
        p.ends_with("/mcp") || p.ends_with("/sse")
    };
    let server = doc
        .servers
        .iter()
        .flatten()
        .find_map(server_url)
        .unwrap_or_default()
        .to_string();
    let server_path = server
        .split_once("://")
        .map(|(_, r)| r.find('/').map_or("", |i| &r[i..]))
        .unwrap_or("");
    let mut path = None;
    if let [(p, item)] = paths.as_slice() {
        let methods: Vec<&str> = item.operations().map(|(m, _)| m).collect();
        let endpoint = methods.contains(&"POST")
            && methods
                .iter()
                .all(|m| matches!(*m, "POST" | "GET" | "DELETE"));
        let ops = methods.join(", ");
        if mcp_path(p) {
            reasons.push(format!(
                "its only operations, `{ops} {p}`, are on an MCP endpoint path"
            ));
            path = Some(p.to_string());
        } else if endpoint {
            let info = [&doc.info.title, &doc.info.summary, &doc.info.description]
                .into_iter()
                .filter_map(text)
                .any(|t| names_mcp(&t));
            if info {
                reasons.push(format!(
                    "its one JSON-RPC-style endpoint `{ops} {p}` and `info` name MCP"
                ));
                path = Some(p.to_string());
            } else if mcp_path(server_path) {
                reasons.push(format!(
                    "its one JSON-RPC-style endpoint `{ops} {p}` is under the server `{server}`"
                ));
                path = Some(p.to_string());
            }
        }
    } else if paths.is_empty() && mcp_path(server_path) {
        reasons.push(format!("its server `{server}` is an MCP endpoint path"));
    }
    if reasons.is_empty() {
        return None;
    }
    let endpoint = format!(
        "{}{}",
        server.trim_end_matches('/'),
        path.as_deref().unwrap_or("")
    );
    Some(McpServer {
        reasons,
        path,
        endpoint,
    })
}

/// Whether text names the Model Context Protocol: the words, or `MCP` as a word.
fn names_mcp(t: &str) -> bool {
    t.to_ascii_lowercase().contains("model context protocol")
        || t.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "MCP")
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
    let (header, prefix) = match u {
        Usable::ApiKey { header, prefix } => (
            Some(header.as_str()),
            prefix.as_ref().map(|(p, _)| p.as_str()),
        ),
        _ => (None, None),
    };
    let mut p = template::pattern(
        d,
        u.kind(),
        opts.mcp,
        service,
        header,
        prefix,
        base.fields.clone(),
    );
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
            // Pseudo-scopes ("no scope required") are not scopes to request: left out.
            let pseudo: Vec<(String, String)> = all
                .iter()
                .filter(|(s, desc, _)| {
                    s == "none" || desc.to_ascii_lowercase().contains("no scope required")
                })
                .map(|(s, desc, _)| (s.clone(), desc.clone()))
                .collect();
            all.retain(|(s, _, _)| !pseudo.iter().any(|(p, _)| p == s));
            for (s, desc) in &pseudo {
                d.warn(format!(
                    "pseudo-scope `{s}`{} left out of available_scopes: it is not a scope to request",
                    if desc.is_empty() {
                        String::new()
                    } else {
                        format!(" (\"{desc}\")")
                    }
                ));
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
            if let Some((s, _, _)) = all.first() {
                d.heuristic(format!(
                    "scope display names made from the scope names (e.g. `{s}` → `{}`)",
                    title_case(s)
                ));
            }
            let offline = all.iter().any(|(s, _, _)| {
                let l = s.to_ascii_lowercase();
                l == "offline_access" || l == "offline" || l.contains("refresh")
            });
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
                d.decide(format!(
                    "auth_header_key_override `{header}`: the scheme's header"
                ));
            }
            if let Some((prefix, whence)) = prefix {
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

/// An OAuth endpoint as an absolute URL: a relative one is resolved against the server, as
/// OpenAPI defines it (RFC 3986; the server's `{{placeholders}}` are kept). A decision, not a
/// heuristic.
fn absolute(u: &str, server: &str, d: &mut Draft) -> String {
    if u.starts_with("https://") || u.starts_with("http://") {
        return u.to_string();
    }
    match resolve_reference(server, u) {
        Some(joined) => {
            d.decide(format!(
                "the relative OAuth endpoint `{u}` resolved against the server `{server}`, as OpenAPI resolves relative URLs: `{joined}`"
            ));
            joined
        }
        None => {
            d.warn(format!(
                "the OAuth endpoint `{u}` is relative and the server `{server}` is not a URL to resolve it against: write it in full"
            ));
            u.to_string()
        }
    }
}

/// `reference` resolved against `base` (RFC 3986, as the `url` crate does it), with the
/// `{{placeholders}}` of `base` kept as they are.
fn resolve_reference(base: &str, reference: &str) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    let mut tokenized = String::new();
    let mut rest = base;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        tokenized.push_str(&rest[..start]);
        tokenized.push_str(&format!("skconn-placeholder-{}", names.len()));
        names.push(rest[start..start + end + 2].to_string());
        rest = &rest[start + end + 2..];
    }
    tokenized.push_str(rest);
    let joined = url::Url::parse(&tokenized).ok()?.join(reference).ok()?;
    let mut out = joined.to_string();
    for (i, n) in names.iter().enumerate().rev() {
        out = out.replace(&format!("skconn-placeholder-{i}"), n);
    }
    Some(out)
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
        // An example value shows a prefix and an example key: only the prefix is kept.
        for (example, prefix) in [
            (
                "Klaviyo-API-Key your-private-api-key",
                Some("Klaviyo-API-Key "),
            ),
            ("Bearer <token>", Some("Bearer ")),
            ("Token token=abc123", Some("Token token=")),
            ("abc123", None),
        ] {
            let s = json!({"x-default": example});
            assert_eq!(
                key_prefix(&s, "Authorization").map(|p| p.0),
                prefix.map(String::from),
                "{example}"
            );
        }
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
