//! The rules of one connector file, checked on the parsed value (no positions here: a problem
//! names its field path, and `load` turns the path into a line and column).
//!
//! Two layers: a walker that checks every key against the vocabulary table (`vocab`) — unknown
//! keys and value types — and the rules on top: the server's rules (names, URLs, metadata
//! limits) and the documented rules the server does not enforce (auth types, OAuth, MCP,
//! placeholders, fields).

use crate::model::{
    FileWarningKind, AUTH_TYPES, INPUT_TYPES, MAX_USER_METADATA_PAIRS, RESERVED_METADATA_KEYS,
};
use crate::model::{MAX_DISPLAY_NAME, MAX_URL};
use crate::vocabulary::connector::{self as vocab, Obj, Ty, SKCONN_KEY};
use crate::vocabulary::suggest::suggest;
use serde_json::{Map, Value};
use std::collections::HashMap;

const METADATA_KEY_LEN: (usize, usize) = (3, 25);
const METADATA_VALUE_LEN: (usize, usize) = (1, 256);
/// Placeholders that may be filled by a field of that name even without `is_path_param`.
const CONVENTIONAL_PLACEHOLDERS: &[&str] = &["domain", "version"];

/// Which position of the field a problem points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// The field's key (unknown keys, misplaced keys).
    Key,
    /// The field's value (a wrong value).
    Value,
    /// The object that should hold the field (a missing key).
    Parent,
}

/// A problem in one file, located by field path.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The field path; empty for the whole file.
    pub field: String,
    pub at: At,
    pub message: String,
    pub help: String,
    /// Where to point instead of `field`, when the value came from elsewhere (an override).
    pub located_at: Option<(String, At)>,
    /// The help suggests quoting the value: write it as the text has it, not as it was read.
    pub quote_hint: bool,
    /// The message ends by quoting the value (`` found the number `1.1` ``): quote it as the
    /// text has it (`1.10`), not as it was read.
    pub quotes_value: bool,
}

impl Problem {
    pub fn new(
        field: impl Into<String>,
        at: At,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Problem {
        Problem {
            field: field.into(),
            at,
            message: message.into(),
            help: help.into(),
            located_at: None,
            quote_hint: false,
            quotes_value: false,
        }
    }
}

/// Something valid but likely a mistake, located by field path like a [`Problem`].
#[derive(Debug, Clone)]
pub(crate) struct Warned {
    pub kind: FileWarningKind,
    pub problem: Problem,
}

/// The marker templates leave where a value is to be written (`skconn new`).
pub(crate) const TEMPLATE_MARKER: &str = "FILL IN";

/// The names a file claims, for the checks across files: only names that are valid.
#[derive(Debug, Default)]
pub(crate) struct Names {
    pub display: Option<String>,
    /// `(i, name)` for `skconn.previous_names[i]`.
    pub previous: Vec<(usize, String)>,
    /// How many problems were found but not kept (see [`Checker::problem`]).
    pub left_out: usize,
}

/// Checks a connector's top-level map. `environments` are the configured environment names,
/// which `skconn.overrides` may name. The contents of the overrides are not checked here: each
/// is checked merged over the base, as that environment's connector.
/// What is valid but likely a mistake goes to `warnings`.
pub(crate) fn validate(
    map: &Map<String, Value>,
    environments: &[String],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Warned>,
) -> Names {
    let skconn = map.get(SKCONN_KEY).and_then(Value::as_object);
    let pass: Vec<&str> = skconn
        .and_then(|s| s.get("pass_through_keys"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut c = Checker {
        problems,
        warnings,
        pass,
        walking: true,
        kept: [0, 0],
        left_out: 0,
    };
    c.walk_obj(&vocab::CONNECTOR, map, &mut String::new());
    c.walking = false;
    c.cautions(map);
    let display = c.connector(map);
    let mut names = Names {
        display: display.map(str::to_string),
        previous: Vec::new(),
        left_out: 0,
    };
    if let Some(s) = skconn {
        names.previous = c.skconn(s, display);
        if let Some(Value::Object(o)) = s.get("overrides") {
            c.override_names(o, environments);
        }
    }
    names.left_out = c.left_out;
    names
}

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
    warnings: &'a mut Vec<Warned>,
    pass: Vec<&'a str>,
    /// Whether the vocabulary walker is running (its problems come in the file's order).
    walking: bool,
    /// Problems kept, from the walker and from the rules.
    kept: [usize; 2],
    /// Problems found but not kept.
    left_out: usize,
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push_index(path: &mut String, i: usize) {
    path.push('[');
    path.push_str(&i.to_string());
    path.push(']');
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How a value is named in messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{}`", shorten(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => shorten(s),
        other => other.to_string(),
    }
}

impl Checker<'_> {
    fn problem(
        &mut self,
        field: impl Into<String>,
        at: At,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.keep(Problem::new(field, at, message, help));
    }

    /// Records a problem. The walker and the rules each find their problems in (about) the
    /// file's order, and only the first [`MAX_DIAGNOSTICS_PER_FILE`](crate::yaml::cap::MAX_DIAGNOSTICS_PER_FILE)
    /// of a file are shown: past that many from one of them, a problem is only counted, so that
    /// a hostile file of many mistakes costs little.
    fn keep(&mut self, p: Problem) {
        if self.full() {
            self.left_out += 1;
        } else {
            self.kept[usize::from(!self.walking)] += 1;
            self.problems.push(p);
        }
    }

    /// Whether the current finder (walker or rules) keeps no more problems: a problem is then
    /// counted without composing its message.
    fn full(&self) -> bool {
        self.kept[usize::from(!self.walking)] >= crate::yaml::cap::MAX_DIAGNOSTICS_PER_FILE
    }

    fn warn(
        &mut self,
        kind: FileWarningKind,
        field: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.warnings.push(Warned {
            kind,
            problem: Problem::new(field, At::Value, message, help),
        });
    }

    // ---- what is valid but likely a mistake -------------------------------------------------

    /// The warnings of a connector's values (the contents of `skconn:`, overrides included,
    /// are left out: each override is checked merged over the base).
    fn cautions(&mut self, map: &Map<String, Value>) {
        if let Some(Value::String(name)) = map.get("display_name") {
            if check_name(name).is_none() {
                if let Some((what, fixed)) = spacing(name) {
                    self.warn(
                        FileWarningKind::DisplayNameSpaces,
                        "display_name",
                        format!(
                            "display_name `{}` has {what}; a server may trim or collapse them and keep `{fixed}`",
                            shorten(name)
                        ),
                        format!("write `display_name: {fixed}`"),
                    );
                }
            }
        }
        let mut path = String::new();
        for (k, v) in map {
            if k == SKCONN_KEY {
                continue;
            }
            path.clear();
            path.push_str(k);
            self.value_cautions(k, v, &mut path);
        }
    }

    fn value_cautions(&mut self, key: &str, v: &Value, path: &mut String) {
        let base = path.len();
        match v {
            Value::String(s) => {
                if URL_KEYS.contains(&key) {
                    if let Some((host, why)) = crate::model::written_host(s).and_then(reserved_host)
                    {
                        self.warn(
                            FileWarningKind::ExampleHost,
                            path.as_str(),
                            format!("`{}` {why}", shorten(host)),
                            "write the real host of the API (a template's example left in?)",
                        );
                    }
                }
                if s.contains(TEMPLATE_MARKER) {
                    self.warn(
                        FileWarningKind::TemplateMarker,
                        path.as_str(),
                        format!("the value still holds the template's `{TEMPLATE_MARKER}` marker"),
                        "write the value the template asks for, without the marker",
                    );
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    push_index(path, i);
                    self.value_cautions(key, item, path);
                    path.truncate(base);
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    push_key(path, k);
                    self.value_cautions(k, item, path);
                    path.truncate(base);
                }
            }
            _ => {}
        }
    }

    // ---- the vocabulary walker -------------------------------------------------------------

    fn walk_obj(&mut self, obj: &'static Obj, map: &Map<String, Value>, path: &mut String) {
        let base = path.len();
        for (k, v) in map {
            push_key(path, k);
            match obj.get(k) {
                Some(ty) => self.walk_ty(ty, v, path),
                None if obj.api && self.pass.contains(&k.as_str()) => {}
                None => self.unknown_key(obj, k, path),
            }
            path.truncate(base);
        }
    }

    fn walk_ty(&mut self, ty: Ty, v: &Value, path: &mut String) {
        let base = path.len();
        match (ty, v) {
            (Ty::Str, Value::String(_)) | (Ty::Bool, Value::Bool(_)) => {}
            (Ty::Str, _) => self.wrong_type(path, "a string", v),
            (Ty::Bool, _) => self.wrong_type(path, "`true` or `false`", v),
            (Ty::StrList, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        push_index(path, i);
                        self.wrong_type(path, "a string", item);
                        path.truncate(base);
                    }
                }
            }
            (Ty::StrList, _) => self.wrong_type(path, "a list of strings", v),
            (Ty::StrMap, Value::Object(m)) => {
                for (k, item) in m {
                    if !item.is_string() {
                        push_key(path, k);
                        self.wrong_type(path, "a string", item);
                        path.truncate(base);
                    }
                }
            }
            (Ty::StrMap, _) => self.wrong_type(path, "a map of strings", v),
            (Ty::Obj(o), Value::Object(m)) => self.walk_obj(o, m, path),
            (Ty::Obj(o), _) => self.wrong_type(path, &format!("a map ({})", o.name), v),
            (Ty::ObjList(o), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    push_index(path, i);
                    match item {
                        Value::Object(m) => self.walk_obj(o, m, path),
                        _ => self.wrong_type(path, &format!("a map ({})", o.name), item),
                    }
                    path.truncate(base);
                }
            }
            (Ty::ObjList(o), _) => {
                self.wrong_type(path, &format!("a list of maps (each {})", o.name), v)
            }
            // Only the shape here: each map is checked merged over the base (see `validate`).
            (Ty::ObjMap(o), Value::Object(m)) => {
                for (k, item) in m {
                    if !item.is_object() {
                        push_key(path, k);
                        self.wrong_type(path, &format!("a map (part of {})", o.name), item);
                        path.truncate(base);
                    }
                }
            }
            (Ty::ObjMap(o), _) => self.wrong_type(
                path,
                &format!("a map of names to maps (each part of {})", o.name),
                v,
            ),
        }
    }

    fn wrong_type(&mut self, path: &str, expected: &str, found: &Value) {
        if self.full() {
            self.left_out += 1;
            return;
        }
        let quote_hint =
            expected == "a string" && matches!(found, Value::Bool(_) | Value::Number(_));
        let help = match found {
            Value::Null => "write a value after the colon, or remove the key".to_string(),
            _ if expected == "a string" => match found {
                Value::Bool(_) | Value::Number(_) => {
                    format!("put the value in quotes: `\"{}\"`", plain(found))
                }
                _ => "write a single text value".to_string(),
            },
            Value::String(s) if expected.starts_with("`true`") => {
                let lower = s.to_ascii_lowercase();
                if ["yes", "no", "on", "off", "y", "n"].contains(&lower.as_str()) {
                    "write `true` or `false` (YAML 1.2 reads `yes`, `no`, `on` and `off` as text)"
                        .to_string()
                } else {
                    "write `true` or `false`, without quotes".to_string()
                }
            }
            _ if expected.starts_with("`true`") => "write `true` or `false`".to_string(),
            _ if expected.starts_with("a list") => {
                "write a list: one `- item` per line under the key, or `[]` for none".to_string()
            }
            _ => "write `key: value` lines, indented under the key".to_string(),
        };
        let mut p = Problem::new(
            path,
            At::Value,
            format!("expected {expected}, found {}", describe(found)),
            help,
        );
        p.quote_hint = quote_hint;
        p.quotes_value = matches!(found, Value::Bool(_) | Value::Number(_));
        self.keep(p);
    }

    fn unknown_key(&mut self, obj: &'static Obj, key: &str, path: &str) {
        if self.full() {
            self.left_out += 1;
            return;
        }
        let message = format!("unknown key `{key}` in {}", obj.name);
        let help = if let Some(s) = suggest(key, obj.key_names()) {
            format!("did you mean `{s}`?")
        } else if obj.api
            && crate::model::SERVER_OWNED.contains(&key)
            && std::ptr::eq(obj, &vocab::CONNECTOR)
        {
            format!("`{key}` is set by the server and is never sent; remove it")
        } else if let Some(places) = places_of(key) {
            format!("`{key}` belongs in {places}, not in {}", obj.name)
        } else if obj.api {
            format!(
                "remove it; if it is a Scalekit field that skconn does not know yet, list it under \
                 `skconn:` in `pass_through_keys: [{key}]` to send it unchecked"
            )
        } else {
            let known: Vec<_> = obj.key_names().collect();
            format!("remove it; known keys here: {}", known.join(", "))
        };
        self.problem(path, At::Key, message, help);
    }

    // ---- the rules -------------------------------------------------------------------------

    /// The connector's own rules; returns the display name when it is valid.
    fn connector<'m>(&mut self, map: &'m Map<String, Value>) -> Option<&'m str> {
        let display = match map.get("display_name") {
            None => {
                self.missing(
                    "",
                    "display_name",
                    "the connector",
                    "`display_name: Acme CRM` (letters, digits and spaces)",
                );
                None
            }
            Some(Value::String(s)) => match check_name(s) {
                Some((m, h)) => {
                    self.problem("display_name", At::Value, m, h);
                    None
                }
                None => Some(s.as_str()),
            },
            Some(_) => None,
        };

        match map.get("proxy_url") {
            None => self.missing(
                "",
                "proxy_url",
                "the connector",
                "`proxy_url: https://api.example.com` (the base URL of the API)",
            ),
            Some(Value::String(s)) => {
                if let Some((m, h)) = check_url(s) {
                    self.problem("proxy_url", At::Value, m, h);
                }
            }
            Some(_) => {}
        }

        if let Some(Value::String(s)) = map.get("icon_src") {
            if !s.is_empty() {
                if let Some((m, h)) = check_url(s) {
                    self.problem(
                        "icon_src",
                        At::Value,
                        m,
                        format!("{h} (or `\"\"` for no icon)"),
                    );
                }
            }
        }

        if let Some(Value::Object(m)) = map.get("metadata") {
            self.metadata(m);
        }

        match map.get("auth_patterns") {
            None => self.missing(
                "",
                "auth_patterns",
                "the connector",
                "`auth_patterns:` with at least one pattern, e.g. `- type: BEARER`",
            ),
            Some(Value::Array(a)) if a.is_empty() => self.problem(
                "auth_patterns",
                At::Value,
                "auth_patterns is empty; a connector needs at least one auth pattern",
                "add a pattern, e.g. `- type: BEARER` with a `token` field, or `- type: NO_AUTH` for a public MCP server",
            ),
            Some(Value::Array(a)) => self.patterns(a, map.get("proxy_url").and_then(Value::as_str)),
            Some(_) => {}
        }
        display
    }

    fn missing(&mut self, parent: &str, key: &str, what: &str, example: &str) {
        self.problem(
            join(parent, key),
            At::Parent,
            format!("{what} has no `{key}`, which is required"),
            format!("add {example}"),
        );
    }

    fn metadata(&mut self, m: &Map<String, Value>) {
        if m.len() > MAX_USER_METADATA_PAIRS {
            self.problem(
                "metadata",
                At::Key,
                format!(
                    "metadata has {} pairs; at most {MAX_USER_METADATA_PAIRS} are allowed (Scalekit allows {}, skconn keeps {} for itself)",
                    m.len(),
                    crate::model::MAX_METADATA_PAIRS,
                    RESERVED_METADATA_KEYS.len()
                ),
                "remove some pairs, or combine them",
            );
        }
        for (k, v) in m {
            let field = join("metadata", k);
            let klen = k.chars().count();
            if RESERVED_METADATA_KEYS.contains(&k.as_str()) {
                self.problem(
                    field.as_str(),
                    At::Key,
                    format!("metadata key `{k}` is reserved: skconn writes it itself"),
                    "remove it (skconn marks the connectors it manages on its own)",
                );
            } else if klen < METADATA_KEY_LEN.0 || klen > METADATA_KEY_LEN.1 {
                self.problem(
                    field.as_str(),
                    At::Key,
                    format!(
                        "metadata key `{}` is {klen} characters long; keys must be {} to {} characters",
                        shorten(k),
                        METADATA_KEY_LEN.0,
                        METADATA_KEY_LEN.1
                    ),
                    "rename the key",
                );
            }
            if let Value::String(s) = v {
                let vlen = s.chars().count();
                if vlen < METADATA_VALUE_LEN.0 || vlen > METADATA_VALUE_LEN.1 {
                    self.problem(
                        field.as_str(),
                        At::Value,
                        format!(
                            "metadata value is {vlen} characters long; values must be {} to {} characters",
                            METADATA_VALUE_LEN.0, METADATA_VALUE_LEN.1
                        ),
                        if vlen == 0 {
                            "give the key a value, or remove the pair"
                        } else {
                            "shorten the value"
                        },
                    );
                }
            }
        }
    }

    fn patterns(&mut self, patterns: &[Value], proxy_url: Option<&str>) {
        let maps: Vec<(usize, &Map<String, Value>)> = patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_object().map(|m| (i, m)))
            .collect();
        let mcp_example = maps
            .iter()
            .find(|(_, m)| m.get("is_mcp") == Some(&Value::Bool(true)))
            .map(|(i, _)| *i);
        // Every field of every pattern, for the placeholder check: (name, is_path_param, path).
        let mut fields: Vec<(&str, bool, String)> = Vec::new();

        for &(i, p) in &maps {
            let path = format!("auth_patterns[{i}]");
            let ty = match p.get("type") {
                None => {
                    self.missing(
                        &path,
                        "type",
                        "this auth pattern",
                        &format!("`type:` with one of {}", AUTH_TYPES.join(", ")),
                    );
                    None
                }
                Some(Value::String(t)) if AUTH_TYPES.contains(&t.as_str()) => Some(t.as_str()),
                Some(Value::String(t)) => {
                    let help = match suggest(t, AUTH_TYPES.iter().copied()) {
                        Some(s) => {
                            format!("did you mean `{s}`? (one of {})", AUTH_TYPES.join(", "))
                        }
                        None => format!("use one of {}", AUTH_TYPES.join(", ")),
                    };
                    self.problem(
                        join(&path, "type"),
                        At::Value,
                        format!("unknown auth type `{}`", shorten(t)),
                        help,
                    );
                    None
                }
                Some(_) => None,
            };

            if let Some(first) = mcp_example {
                match p.get("is_mcp") {
                    Some(Value::Bool(true)) => {}
                    None => self.problem(
                        join(&path, "is_mcp"),
                        At::Parent,
                        format!("this is an MCP connector (auth_patterns[{first}] has `is_mcp: true`), but this pattern has no `is_mcp`"),
                        "add `is_mcp: true`: every pattern of an MCP connector carries it",
                    ),
                    Some(Value::Bool(false)) => self.problem(
                        join(&path, "is_mcp"),
                        At::Value,
                        format!("this is an MCP connector (auth_patterns[{first}] has `is_mcp: true`), but this pattern says `is_mcp: false`"),
                        "set `is_mcp: true` on every pattern, or remove it from every pattern for a REST API",
                    ),
                    Some(_) => {}
                }
            }

            let oauth = p.get("oauth_config");
            match ty {
                Some("OAUTH") if mcp_example.is_some() => self.mcp_oauth(&path, oauth),
                Some("OAUTH") => self.rest_oauth(&path, oauth),
                Some(other) if oauth.is_some() => self.problem(
                    join(&path, "oauth_config"),
                    At::Key,
                    format!(
                        "`oauth_config` belongs only on OAUTH patterns; this pattern is {other}"
                    ),
                    "remove `oauth_config`, or set `type: OAUTH`",
                ),
                _ => {}
            }

            let mut seen: HashMap<&str, String> = HashMap::new();
            for list in ["fields", "account_fields"] {
                let Some(Value::Array(items)) = p.get(list) else {
                    continue;
                };
                for (j, f) in items.iter().enumerate() {
                    let Some(f) = f.as_object() else { continue };
                    let fpath = format!("{path}.{list}[{j}]");
                    if let Some(name) = self.field(&fpath, f) {
                        if let Some(first) = seen.get(name) {
                            self.problem(
                                join(&fpath, "field_name"),
                                At::Value,
                                format!("field_name `{name}` is used twice in this pattern (also at {first})"),
                                "give each field of a pattern its own field_name",
                            );
                        } else {
                            seen.insert(name, fpath.clone());
                        }
                        let path_param = f.get("is_path_param") == Some(&Value::Bool(true));
                        fields.push((name, path_param, fpath));
                    }
                }
            }
        }

        if let Some(url) = proxy_url {
            self.placeholders(url, &fields, &maps);
        }
    }

    /// A REST OAuth pattern: the authorization server's endpoints.
    fn rest_oauth(&mut self, path: &str, oauth: Option<&Value>) {
        let cpath = join(path, "oauth_config");
        let c = match oauth {
            None => {
                self.problem(
                    cpath,
                    At::Parent,
                    "an OAUTH pattern needs `oauth_config` with `authorize_uri` and `token_uri`",
                    "add `oauth_config:` with `authorize_uri: https://...` and `token_uri: https://...` \
                     (for an MCP server, add `is_mcp: true` and `oauth_config: {pkce_enabled: true}` instead)",
                );
                return;
            }
            Some(Value::Object(c)) => c,
            Some(_) => return,
        };
        for key in ["authorize_uri", "token_uri"] {
            match c.get(key) {
                None => self.missing(
                    &cpath,
                    key,
                    "the OAUTH pattern's `oauth_config`",
                    &format!("`{key}: https://...` (the provider's OAuth endpoint)"),
                ),
                Some(Value::String(s)) => self.oauth_uri(&cpath, key, s),
                Some(_) => {}
            }
        }
        if let Some(Value::String(s)) = c.get("user_info_uri") {
            if !s.is_empty() {
                self.oauth_uri(&cpath, "user_info_uri", s);
            }
        }
        if let Some(Value::Array(scopes)) = c.get("available_scopes") {
            for (k, s) in scopes.iter().enumerate() {
                let Some(s) = s.as_object() else { continue };
                let spath = format!("{cpath}.available_scopes[{k}]");
                match s.get("scope") {
                    None => self.missing(
                        &spath,
                        "scope",
                        "this scope",
                        "`scope:` with the scope's name at the provider",
                    ),
                    Some(Value::String(v)) if v.is_empty() => self.problem(
                        join(&spath, "scope"),
                        At::Value,
                        "scope is empty",
                        "write the scope's name at the provider, e.g. `read`",
                    ),
                    _ => {}
                }
            }
        }
    }

    fn oauth_uri(&mut self, cpath: &str, key: &str, s: &str) {
        if let Some((m, h)) = check_url(s) {
            self.problem(join(cpath, key), At::Value, m, h);
        }
    }

    /// An MCP OAuth pattern: dynamic client registration, so exactly `{pkce_enabled: true}`.
    fn mcp_oauth(&mut self, path: &str, oauth: Option<&Value>) {
        let cpath = join(path, "oauth_config");
        let help = "an MCP server registers its OAuth client dynamically: write exactly \
                    `oauth_config: {pkce_enabled: true}`";
        let c = match oauth {
            None => {
                self.problem(
                    cpath,
                    At::Parent,
                    "an MCP OAUTH pattern needs `oauth_config: {pkce_enabled: true}`",
                    help,
                );
                return;
            }
            Some(Value::Object(c)) => c,
            Some(_) => return,
        };
        match c.get("pkce_enabled") {
            None => self.problem(
                join(&cpath, "pkce_enabled"),
                At::Parent,
                "an MCP OAUTH pattern needs `pkce_enabled: true`",
                help,
            ),
            Some(Value::Bool(false)) => self.problem(
                join(&cpath, "pkce_enabled"),
                At::Value,
                "an MCP OAUTH pattern needs `pkce_enabled: true`",
                help,
            ),
            _ => {}
        }
        for key in c.keys() {
            if key != "pkce_enabled" && vocab::OAUTH_CONFIG.get(key).is_some() {
                self.problem(
                    join(&cpath, key),
                    At::Key,
                    format!("`{key}` does not belong in an MCP OAUTH pattern's oauth_config"),
                    format!("remove `{key}`; {help}"),
                );
            }
        }
    }

    /// A field object's rules; returns its name when it has one.
    fn field<'m>(&mut self, fpath: &str, f: &'m Map<String, Value>) -> Option<&'m str> {
        let name = match f.get("field_name") {
            None => {
                self.missing(
                    fpath,
                    "field_name",
                    "this field",
                    "`field_name:` (e.g. `token`, `api_key`, `domain`)",
                );
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.problem(
                    join(fpath, "field_name"),
                    At::Value,
                    "field_name is empty",
                    "name the field, e.g. `token`",
                );
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => None,
        };
        let input_types = INPUT_TYPES.join(", ");
        match f.get("input_type") {
            None => self.missing(
                fpath,
                "input_type",
                "this field",
                &format!("`input_type:` with one of {input_types}"),
            ),
            // The server stores auth patterns as they are sent and checks little inside
            // them: a value skconn does not know may be one it does not know yet.
            Some(Value::String(t)) if !INPUT_TYPES.contains(&t.as_str()) => {
                let help = match suggest(t, INPUT_TYPES.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? If not, check that Scalekit supports `{}`",
                        shorten(t)
                    ),
                    None => format!(
                        "check that Scalekit supports `{}`, or use one of {input_types}",
                        shorten(t)
                    ),
                };
                self.warn(
                    FileWarningKind::UnknownValue,
                    join(fpath, "input_type"),
                    format!(
                        "unknown input_type `{}` (skconn knows {input_types}); it is sent as written",
                        shorten(t)
                    ),
                    help,
                );
            }
            Some(Value::String(t)) if t == "select" => match f.get("options") {
                None => self.missing(
                    fpath,
                    "options",
                    "this select field",
                    "`options:` with one `- value: ...` per choice",
                ),
                Some(Value::Array(o)) if o.is_empty() => self.problem(
                    join(fpath, "options"),
                    At::Value,
                    "a select field needs at least one option; options is empty",
                    "add `- value: ...` entries, one per choice",
                ),
                _ => {}
            },
            _ => {}
        }
        if let Some(Value::Array(options)) = f.get("options") {
            for (k, o) in options.iter().enumerate() {
                if let Some(o) = o.as_object() {
                    if !o.contains_key("value") {
                        self.missing(
                            &format!("{fpath}.options[{k}]"),
                            "value",
                            "this option",
                            "`value:` (what the field is set to when this option is chosen)",
                        );
                    }
                }
            }
        }
        name
    }

    /// Every `{{placeholder}}` of `proxy_url` needs a field that fills it.
    fn placeholders(
        &mut self,
        url: &str,
        fields: &[(&str, bool, String)],
        patterns: &[(usize, &Map<String, Value>)],
    ) {
        let Ok(names) = placeholders(url) else {
            return; // reported by check_url
        };
        for name in names {
            let named: Vec<&(&str, bool, String)> = fields.iter().filter(|f| f.0 == name).collect();
            if named.iter().any(|f| f.1) {
                continue;
            }
            if CONVENTIONAL_PLACEHOLDERS.contains(&name) && !named.is_empty() {
                continue;
            }
            let message = format!("proxy_url uses `{{{{{name}}}}}`, but no field fills it");
            let help = if let Some(f) = named.first() {
                format!("set `is_path_param: true` on the field `{name}` ({})", f.2)
            } else {
                let list = if patterns
                    .iter()
                    .any(|(_, p)| p.get("type").and_then(Value::as_str) == Some("OAUTH"))
                {
                    "account_fields"
                } else {
                    "fields"
                };
                format!(
                    "add a field to the pattern's `{list}`: `- field_name: {name}`, `input_type: text`, `is_path_param: true`"
                )
            };
            self.problem("proxy_url", At::Value, message, help);
        }
    }

    /// Every environment named under `skconn.overrides` is a configured one.
    fn override_names(&mut self, o: &Map<String, Value>, environments: &[String]) {
        for name in o.keys() {
            if environments.contains(name) {
                continue;
            }
            let help = if environments.is_empty() {
                "no environments are configured here: configure the environment in skconn.yaml, or remove the override".to_string()
            } else if let Some(s) = suggest(name, environments.iter().map(String::as_str)) {
                format!(
                    "did you mean `{s}`? (configured: {})",
                    environments.join(", ")
                )
            } else {
                format!(
                    "name an environment of skconn.yaml ({}), or remove the override",
                    environments.join(", ")
                )
            };
            self.problem(
                format!("skconn.overrides.{name}"),
                At::Key,
                format!("unknown environment `{name}` in overrides"),
                help,
            );
        }
    }

    /// `skconn:` rules; returns the valid previous names.
    fn skconn(&mut self, s: &Map<String, Value>, display: Option<&str>) -> Vec<(usize, String)> {
        let mut previous = Vec::new();
        if let Some(Value::Array(names)) = s.get("previous_names") {
            for (i, n) in names.iter().enumerate() {
                let Value::String(n) = n else { continue };
                let field = format!("skconn.previous_names[{i}]");
                if let Some((m, h)) = check_name(n) {
                    self.problem(field, At::Value, format!("previous name: {m}"), h);
                } else if Some(n.as_str()) == display {
                    self.problem(
                        field,
                        At::Value,
                        format!("`{n}` is the current display_name, not a previous one"),
                        "remove it from previous_names",
                    );
                } else if previous.iter().any(|(_, p)| p == n) {
                    self.problem(
                        field,
                        At::Value,
                        format!("`{n}` is listed twice"),
                        "remove one of the two entries",
                    );
                } else {
                    previous.push((i, n.clone()));
                }
            }
        }
        if let Some(Value::Array(keys)) = s.get("pass_through_keys") {
            for (i, k) in keys.iter().enumerate() {
                let Value::String(k) = k else { continue };
                let field = format!("skconn.pass_through_keys[{i}]");
                if k.is_empty() {
                    self.problem(field, At::Value, "empty key name", "remove the empty entry");
                } else if k == SKCONN_KEY || vocab::is_api_key(k) {
                    self.problem(
                        field,
                        At::Value,
                        format!(
                            "`{k}` is a key skconn knows and checks; it cannot be passed through"
                        ),
                        format!("remove `{k}` from pass_through_keys"),
                    );
                }
            }
        }
        previous
    }
}

/// Checks a display name against the server's rule
/// (`^[a-zA-Z0-9 ]*[a-zA-Z0-9][a-zA-Z0-9 ]*$`, 1–200 characters).
pub(crate) fn check_name(s: &str) -> Option<(String, String)> {
    let example = "e.g. `Acme CRM`";
    if s.is_empty() {
        return Some((
            "display name is empty".into(),
            format!("write a name of letters, digits and spaces, {example}"),
        ));
    }
    let len = s.chars().count();
    if len > MAX_DISPLAY_NAME {
        return Some((
            format!("display name is {len} characters long; the limit is {MAX_DISPLAY_NAME}"),
            "shorten the name".into(),
        ));
    }
    let mut bad: Vec<char> = s
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == ' '))
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        bad.dedup();
        let shown: Vec<String> = bad
            .iter()
            .map(|c| format!("`{}`", c.escape_debug()))
            .collect();
        let fixed = s
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let hyphen = if bad.contains(&'-') {
            " (hyphens are not allowed)"
        } else {
            ""
        };
        let suggestion = if fixed.is_empty() {
            example.to_string()
        } else {
            format!("e.g. `{fixed}`")
        };
        return Some((
            format!(
                "display name `{}` contains {}; only letters a–z, A–Z, digits and spaces are allowed",
                shorten(s),
                shown.join(", ")
            ),
            format!("use only letters, digits and spaces{hyphen}, {suggestion}"),
        ));
    }
    if s.trim().is_empty() {
        return Some((
            "display name has only spaces".into(),
            format!("write a name of letters, digits and spaces, {example}"),
        ));
    }
    None
}

/// Where a comment of the text holds the template marker: (1-based line, column of the marker).
/// A `#` starts a comment at the start of a line or after a space, outside quotes.
pub(crate) fn marker_comments(text: &str) -> Vec<(usize, usize)> {
    if !text.contains(TEMPLATE_MARKER) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if !line.contains(TEMPLATE_MARKER) {
            continue;
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (i, c) in line.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '#' && (prev == ' ' || prev == '\t') => {
                    if let Some(at) = line[i..].find(TEMPLATE_MARKER) {
                        out.push((n + 1, line[..i + at].chars().count() + 1));
                    }
                    break;
                }
                None => {}
            }
            prev = c;
        }
    }
    out
}

/// The keys whose values are URLs the connector calls or shows.
const URL_KEYS: &[&str] = &[
    "proxy_url",
    "icon_src",
    "authorize_uri",
    "token_uri",
    "user_info_uri",
];

/// What is odd about the spaces of a name (leading, trailing, doubled), and the name with
/// them trimmed and collapsed; `None` when its spaces are plain.
pub(crate) fn spacing(name: &str) -> Option<(String, String)> {
    let fixed = crate::model::collapse_spaces(name);
    if fixed == name {
        return None;
    }
    let mut what = Vec::new();
    if name.starts_with(' ') {
        what.push("a leading space");
    }
    if name.ends_with(' ') {
        what.push("a trailing space");
    }
    if name.trim().contains("  ") {
        what.push("doubled spaces");
    }
    Some((what.join(" and "), fixed))
}

/// Why a host names no API on the internet, when it does not: reserved for examples and
/// documentation (RFC 2606, RFC 6761, RFC 5737, RFC 3849), or this machine.
pub(crate) fn reserved_host(host: &str) -> Option<(&str, &'static str)> {
    if host.contains("{{") {
        return None;
    }
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let under = |domain: &str| h == domain || h.ends_with(&format!(".{domain}"));
    if ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| under(d))
    {
        return Some((
            host,
            "is a domain reserved for examples (RFC 2606): no real API is there",
        ));
    }
    if ["example", "test", "invalid"].iter().any(|d| under(d)) {
        return Some((host, "is in a top-level domain reserved for examples and tests (RFC 2606, RFC 6761): it never resolves on the internet"));
    }
    if under("localhost") {
        return Some((
            host,
            "is this machine (RFC 6761): the Scalekit proxy cannot reach it",
        ));
    }
    match h
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(std::net::IpAddr::V4(ip)) if ip.is_loopback() => {
            Some((host, "is this machine: the Scalekit proxy cannot reach it"))
        }
        Ok(std::net::IpAddr::V4(ip))
            if matches!(
                ip.octets(),
                [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
            ) =>
        {
            Some((
                host,
                "is an address reserved for documentation (RFC 5737): no real API is there",
            ))
        }
        Ok(std::net::IpAddr::V6(ip)) if ip.is_loopback() => {
            Some((host, "is this machine: the Scalekit proxy cannot reach it"))
        }
        Ok(std::net::IpAddr::V6(ip)) if ip.segments()[..2] == [0x2001, 0x0db8] => Some((
            host,
            "is an address reserved for documentation (RFC 3849): no real API is there",
        )),
        _ => None,
    }
}

/// The names of the `{{placeholders}}` in a URL, or what is wrong with one.
pub(crate) fn placeholders(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("has a `{{` without a closing `}}`".into());
        };
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "has an invalid placeholder `{{{{{}}}}}` (a placeholder is a field name: letters, digits, `_`)",
                shorten(&after[..end])
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    Ok(out)
}

/// Checks an `https://` URL that may hold `{{placeholders}}` (at most 2048 characters).
pub(crate) fn check_url(s: &str) -> Option<(String, String)> {
    if s.is_empty() {
        return Some(("the URL is empty".into(), "write an `https://` URL".into()));
    }
    let len = s.chars().count();
    if len > MAX_URL {
        return Some((
            format!("the URL is {len} characters long; the limit is {MAX_URL}"),
            "shorten the URL".into(),
        ));
    }
    if !s.starts_with("https://") {
        let help = match s.strip_prefix("http://") {
            Some(rest) => format!("use https: `https://{}`", shorten(rest)),
            None => "write a full URL that starts with `https://`, e.g. `https://api.example.com`"
                .into(),
        };
        return Some((
            format!("`{}` does not start with `https://`", shorten(s)),
            help,
        ));
    }
    if let Err(e) = placeholders(s) {
        return Some((
            format!("the URL {e}"),
            "write placeholders as `{{name}}`, e.g. `https://{{domain}}/api`".into(),
        ));
    }
    if crate::model::written_host(s).is_none() {
        return Some((
            format!(
                "`{}` has no host: nothing is written between `https://` and the path",
                shorten(s)
            ),
            "write the host after `https://`, e.g. `https://api.example.com/v2`".into(),
        ));
    }
    let mut filled = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        filled.push_str(&rest[..start]);
        filled.push('x');
        let end = rest[start..]
            .find("}}")
            .map_or(rest.len(), |e| start + e + 2);
        rest = &rest[end..];
    }
    filled.push_str(rest);
    if let Err(e) = url::Url::parse(&filled) {
        return Some((
            format!("`{}` is not a valid URL: {e}", shorten(s)),
            "check the host name and the characters of the URL".into(),
        ));
    }
    None
}

/// The object kinds that know `key`, for "belongs in" hints.
fn places_of(key: &str) -> Option<String> {
    let places: Vec<&str> = vocab::ALL
        .iter()
        .filter(|o| o.get(key).is_some())
        .map(|o| o.place)
        .collect();
    if places.is_empty() {
        None
    } else {
        Some(places.join(" or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_server_regex() {
        assert!(check_name("Acme CRM 2").is_none());
        assert!(check_name(" a ").is_none());
        assert!(check_name("").is_some());
        assert!(check_name("   ").is_some());
        let (m, h) = check_name("Acme-CRM").unwrap();
        assert!(m.contains("`-`"), "{m}");
        assert!(
            h.contains("hyphens are not allowed") && h.contains("`Acme CRM`"),
            "{h}"
        );
        assert!(check_name("Café").is_some());
        assert!(check_name(&"a".repeat(200)).is_none());
        assert!(check_name(&"a".repeat(201)).is_some());
    }

    #[test]
    fn urls() {
        assert!(check_url("https://{{domain}}/api").is_none());
        assert!(check_url("https://{{subdomain}}.zendesk.com/api/v2").is_none());
        assert!(check_url("http://x.com")
            .unwrap()
            .1
            .contains("https://x.com"));
        assert!(check_url("https://").is_some());
        assert!(check_url("https:///v2").unwrap().0.contains("has no host"));
        assert!(check_url("https://{{a").is_some());
        assert!(check_url("https://{{a b}}.com").is_some());
        assert_eq!(
            placeholders("https://{{a}}/{{ b }}/{{a}}").unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn reserved_hosts() {
        for host in [
            "api.example.com",
            "EXAMPLE.org",
            "example.net.",
            "auth.acme.example",
            "api.test",
            "x.invalid",
            "localhost",
            "a.localhost",
            "127.0.0.1",
            "[::1]",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.9",
            "[2001:db8::1]",
        ] {
            assert!(reserved_host(host).is_some(), "{host}");
        }
        for host in [
            "api.acme.com",
            "example.co",
            "myexample.com",
            "testing.io",
            "{{domain}}",
            "10.0.0.1",
            "api.contest",
        ] {
            assert!(reserved_host(host).is_none(), "{host}");
        }
    }

    #[test]
    fn markers_in_comments() {
        let text = "# FILL IN: a\na: b # FILL IN\nc: \"# FILL IN\"\nd: x#FILL IN\n  # ok\n";
        assert_eq!(marker_comments(text), [(1, 3), (2, 8)]);
        assert!(marker_comments("a: b\n").is_empty());
    }

    #[test]
    fn odd_spaces_in_names() {
        assert_eq!(spacing("Acme CRM"), None);
        let (what, fixed) = spacing("Internal  Billing API ").unwrap();
        assert_eq!(what, "a trailing space and doubled spaces");
        assert_eq!(fixed, "Internal Billing API");
        assert_eq!(spacing(" A").unwrap().0, "a leading space");
    }

    #[test]
    fn suggestions() {
        let keys = vocab::CONNECTOR.key_names();
        assert_eq!(suggest("proxy_ulr", keys), Some("proxy_url"));
        assert_eq!(
            suggest("Display-Name", vocab::CONNECTOR.key_names()),
            Some("display_name")
        );
        assert_eq!(suggest("zzz", vocab::CONNECTOR.key_names()), None);
        assert_eq!(suggest("oauth", AUTH_TYPES.iter().copied()), Some("OAUTH"));
    }
}
