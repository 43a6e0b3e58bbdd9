//! The canonical form of a connector, and everything skconn knows about the object kind.
//!
//! Both sides of a comparison end up here: the desired side (a YAML file, see `load`) and the
//! live side (a provider returned by the API, see `remote`). Knowledge of the API object — its
//! fields, which of them the server owns, skconn's ownership marker — lives in this one module so
//! that no other layer keeps its own `match` on field names.
//!
//! This module does no I/O and knows neither YAML nor HTTP.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub mod fields;
pub mod normalize;

pub use fields::*;

/// Where a desired connector came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Path of the file, relative to the repository root when possible.
    pub file: PathBuf,
}

/// A connector as the files want it, for one environment.
#[derive(Debug, Clone)]
pub struct Desired {
    pub display_name: String,
    /// The complete API object to send (defaults applied, no marker). Not normalised.
    pub body: Value,
    /// The same object as the files write it, every string that holds a `${VAR}` expression
    /// left unexpanded (what a plan digest records as the value after a change); `None` when
    /// that is `body` itself (no expression), so that most connectors hold one copy. Read it
    /// with [`Desired::written`].
    pub written: Option<Value>,
    /// Earlier display names: a live connector with one of these is renamed in place.
    pub previous_names: Vec<String>,
    pub origin: Origin,
    /// JSON Pointers of the places in `body` whose value is unknown: the files take it from a
    /// variable that is not set, in an environment planned against a snapshot (the body holds
    /// `(from ${VAR}, known at apply)` there). Empty everywhere else.
    pub unknown: Vec<String>,
    /// What the file holds that is valid but likely a mistake, for this environment's
    /// connector: shown beside its change in a plan.
    pub warnings: Vec<FileWarning>,
}

impl Desired {
    /// The object as the files write it (`${VAR}` unexpanded): see [`Desired::written`]'s field.
    pub fn written(&self) -> &Value {
        self.written.as_ref().unwrap_or(&self.body)
    }
}

/// Something a connector file holds that is valid but likely a mistake: `validate` warns about
/// it (and still succeeds), and `plan` shows it beside the connector's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWarning {
    pub kind: FileWarningKind,
    /// Where it is, what it is and what to do about it.
    pub diagnostic: crate::base::error::Diagnostic,
}

/// The kind of a [`FileWarning`]; programs match on it (in JSON plans, as the warning's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileWarningKind {
    /// A URL's host is reserved for examples or is not on the internet (RFC 2606, RFC 6761,
    /// documentation addresses, loopback): a template's placeholder left in, most likely.
    ExampleHost,
    /// A template's `FILL IN` marker is still in a value or in a comment.
    TemplateMarker,
    /// The display name has leading, trailing or doubled spaces, which a server may trim or
    /// collapse.
    DisplayNameSpaces,
    /// A value skconn does not know where it knows a list of values (an `input_type`); it is
    /// sent as written.
    UnknownValue,
}

/// A connector as one environment holds it.
#[derive(Debug, Clone)]
pub struct Live {
    pub display_name: String,
    /// The server's identifier, used for update and delete. Opaque.
    pub identifier: String,
    /// The API object as returned, server-owned fields removed. Not normalised; the marker is
    /// still in `metadata`.
    pub body: Value,
}

/// A display name as servers that normalise names keep it: leading and trailing spaces
/// trimmed, runs of spaces collapsed to one.
pub fn collapse_spaces(name: &str) -> String {
    name.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The host of a URL as written between `scheme://` and the path (user information and port
/// left out), or `None` when none is written. Every URL skconn reads follows this one rule,
/// in connector files and in skconn.yaml alike: it names its host. `https:///v2` names none,
/// although a URL parser reads `v2` as its host.
pub fn written_host(url: &str) -> Option<&str> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then_some(host)
}

/// The marker value naming `owner`: `skconn` for the owner `default` (the marker skconn always
/// wrote, so that connectors written before owners existed stay owned by `default`), and
/// `skconn/NAME` otherwise. One metadata pair either way.
pub fn owner_marker(owner: &str) -> String {
    if owner == DEFAULT_OWNER {
        MARKER_VALUE.to_string()
    } else {
        format!("{MARKER_VALUE}/{owner}")
    }
}

/// The owner a marker value names, if it is skconn's marker.
pub fn owner_of_marker(value: &str) -> Option<&str> {
    if value == MARKER_VALUE {
        return Some(DEFAULT_OWNER);
    }
    value
        .strip_prefix(MARKER_VALUE)?
        .strip_prefix('/')
        .filter(|o| !o.is_empty())
}

/// Whether a name can be an owner: 1 to 40 letters, digits, `-`, `_` and `.`.
pub fn check_owner(owner: &str) -> Result<(), String> {
    let ok = !owner.is_empty()
        && owner.chars().count() <= MAX_OWNER_CHARS
        && owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a valid owner name",
            crate::output::escape::inert(owner)
        ))
    }
}

impl Live {
    /// Whether skconn wrote this connector (its metadata carries the marker), for any owner.
    pub fn is_managed(&self) -> bool {
        self.owner().is_some()
    }

    /// The owner named by skconn's marker (`default` for the plain `skconn` marker), or
    /// `None` when the connector is not marked.
    pub fn owner(&self) -> Option<&str> {
        owner_of_marker(metadata_value(&self.body, MARKER_KEY)?)
    }

    /// Sets the owner in the marker of a body about to be sent (see [`body_to_send`]).
    pub fn set_owner(body: &mut Value, owner: &str) {
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            if m.contains_key(MARKER_KEY) {
                m.insert(MARKER_KEY.into(), Value::String(owner_marker(owner)));
            }
        }
    }

    /// The hash skconn recorded when it last wrote this connector, if any: of the body it
    /// sent.
    pub fn recorded_hash(&self) -> Option<&str> {
        metadata_value(&self.body, HASH_KEY).map(|h| h.split('/').next().unwrap_or(h))
    }

    /// The hash of the body the server kept, when it rewrote what skconn sent and skconn
    /// recorded that (`SENT/KEPT` in the hash value).
    pub fn kept_hash(&self) -> Option<&str> {
        metadata_value(&self.body, HASH_KEY).and_then(|h| h.split_once('/').map(|(_, k)| k))
    }

    /// Builds a live connector from a provider object as the API returns it. Lenient: unknown
    /// keys are kept (and ignored by the planner unless the files name them), `null` is absent.
    pub fn from_provider(provider: &Value) -> Option<Live> {
        let obj = provider.as_object()?;
        let identifier = obj
            .get("identifier")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| obj.get("id").and_then(Value::as_str))?
            .to_string();
        let display_name = obj
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut body = Map::new();
        for (k, v) in obj {
            if SERVER_OWNED.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            body.insert(k.clone(), v.clone());
        }
        Some(Live {
            display_name,
            identifier,
            body: Value::Object(body),
        })
    }
}

/// The content hash in a body's metadata (a body skconn is about to send carries one).
pub fn metadata_hash(body: &Value) -> Option<&str> {
    metadata_value(body, HASH_KEY)
}

fn metadata_value<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get("metadata")?.get(key)?.as_str()
}

/// A copy of a body without skconn's marker keys in `metadata`.
pub fn without_marker(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(m) = b.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in RESERVED_METADATA_KEYS {
            m.remove(*k);
        }
    }
    b
}

/// The body skconn sends for a desired connector: the whole object (update replaces), every
/// API field present, and skconn's marker and hash in `metadata`.
pub fn body_to_send(desired: &Value) -> Value {
    body_to_send_hashed(desired, content_hash(desired))
}

/// [`body_to_send`] with the content hash already computed (see [`canonical_hash`]), for a
/// caller that holds the body's canonical form.
pub fn body_to_send_hashed(desired: &Value, hash: String) -> Value {
    let mut obj = desired.as_object().cloned().unwrap_or_default();
    for field in API_FIELDS {
        if !obj.contains_key(*field) {
            let zero = match *field {
                "auth_patterns" => Value::Array(vec![]),
                "proxy_enabled" => Value::Bool(false),
                "metadata" => Value::Object(Map::new()),
                _ => Value::String(String::new()),
            };
            obj.insert(field.to_string(), zero);
        }
    }
    let metadata = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    let m = metadata.as_object_mut().expect("metadata is an object");
    m.insert(MARKER_KEY.into(), Value::String(MARKER_VALUE.into()));
    m.insert(HASH_KEY.into(), Value::String(hash));
    Value::Object(obj)
}

/// A body to send (see [`body_to_send`]) whose hash also records `kept`, the hash of the body
/// the server kept when it rewrote what skconn sent: a later plan then reads the server's
/// rewrite as such, not as an edit made outside skconn.
pub fn with_kept_hash(body: &Value, kept: &str) -> Value {
    let mut b = body.clone();
    if let Some(m) = b.get_mut("metadata").and_then(Value::as_object_mut) {
        let sent = m
            .get(HASH_KEY)
            .and_then(Value::as_str)
            .map(|h| h.split('/').next().unwrap_or(h).to_string())
            .unwrap_or_default();
        m.insert(HASH_KEY.into(), Value::String(format!("{sent}/{kept}")));
    }
    b
}

/// A short, stable hash of a connector body's canonical form (marker keys excluded, the name's
/// spaces trimmed and collapsed), recorded in the marker so that a later plan can tell an edit
/// made outside skconn from a git change.
pub fn content_hash(body: &Value) -> String {
    canonical_hash(&crate::model::normalize::normalize(body))
}

/// [`content_hash`] of a body from its canonical form (`normalize`'s output).
pub fn canonical_hash(canonical: &Value) -> String {
    use sha2::{Digest, Sha256};
    // The spacing of the name is not content: a server may trim and collapse it.
    let respaced;
    let canonical = match canonical.get("display_name").and_then(Value::as_str) {
        Some(name) if collapse_spaces(name) != name => {
            let mut b = canonical.clone();
            let collapsed = collapse_spaces(name);
            match b.as_object_mut() {
                // An empty name is a zero value: the canonical form has no such key.
                Some(m) if collapsed.is_empty() => {
                    m.remove("display_name");
                }
                _ => b["display_name"] = Value::String(collapsed),
            }
            respaced = b;
            &respaced
        }
        _ => canonical,
    };
    let bytes = serde_json::to_vec(&sort_keys(canonical)).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    crate::base::hex::hex(&digest[..6])
}

/// A copy of a JSON value with every object's keys in sorted order.
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Every string of `written` with the string at the same place of `expanded` (the same
/// structure: expansion only changes strings), and its JSON Pointer.
pub fn string_places<'v>(
    written: &'v Value,
    expanded: &'v Value,
    pointer: String,
    out: &mut Vec<(String, &'v str, &'v str)>,
) {
    match (written, expanded) {
        (Value::String(w), Value::String(e)) => out.push((pointer, w, e)),
        (Value::Array(w), Value::Array(e)) => {
            for (i, (w, e)) in w.iter().zip(e).enumerate() {
                string_places(w, e, format!("{pointer}/{i}"), out);
            }
        }
        (Value::Object(w), Value::Object(e)) => {
            for (k, wv) in w {
                if let Some(ev) = e.get(k) {
                    let seg = k.replace('~', "~0").replace('/', "~1");
                    string_places(wv, ev, format!("{pointer}/{seg}"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_host_or_has_none() {
        assert_eq!(
            written_host("https://api.acme.test/v2"),
            Some("api.acme.test")
        );
        assert_eq!(written_host("https://u:p@h.test:8443/x"), Some("h.test"));
        assert_eq!(written_host("https://[::1]:8443/x"), Some("::1"));
        assert_eq!(written_host("https://{{domain}}/api"), Some("{{domain}}"));
        for none in [
            "https:///v2",
            "https://:8443/v2",
            "https://user@/v2",
            "https://",
            "v2",
        ] {
            assert_eq!(written_host(none), None, "{none}");
        }
    }
}
