//! Snapshots: one environment's live state as data, so that a plan can be made from it without
//! contacting the environment and without its credentials (`skconn plan --against FILE`).
//!
//! A snapshot holds everything a plan reads from an environment: its custom connectors as
//! listed (server-owned fields dropped, skconn's marker kept), whether each was edited outside
//! skconn since skconn wrote it, the usage counts of each (when usage look-ups are on), and the
//! *templates*: the places where the live value was, when the snapshot was taken, exactly what
//! the files' `${VAR}` text (or a masked value) expanded to, so that a plan made where the
//! variable is not set can tell an unchanged value from a change (see [`against`]).
//!
//! [`take`] builds a snapshot from what was listed; [`read`] reads one back and checks it,
//! reporting every problem with its place; `schema` is its JSON Schema.
//!
//! Pure (no I/O, no clock); it depends on `model`, `plan` (the digest's [`MaskKey`], usage
//! counts, drift) and `output::secret` only, never on `run`, `remote` or `render`. What it must never
//! do: put a secret, a token, a masked value's text or an end user's identifier into a
//! snapshot. Strings that hold a masked value are written as keyed digests
//! (`hmac-sha256:…`, [`MaskKey::mask`]) with, beside them, the text as every output shows it
//! (the masked part as `***`).

pub mod against;
pub mod schema;

use crate::base::error::Diagnostic;
use crate::model::{Desired, Live};
use crate::plan::digest::{MaskKey, MASKED_PREFIX};
use crate::plan::Usage;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// What the `kind` of a snapshot document says.
pub const KIND: &str = "skconn-snapshot";
/// The version of the snapshot format this skconn writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// The host of a local environment (`url: local`).
pub const LOCAL_HOST: &str = "local";
/// The largest snapshot file skconn reads (64 MiB).
pub const MAX_BYTES: u64 = 64 << 20;

/// One environment's live state, as written to a snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub kind: String,
    pub format_version: String,
    /// The environment's name in skconn.yaml.
    pub environment: String,
    /// The host (`host[:port]`) of the environment's URL; `local` for a local environment.
    pub host: String,
    /// When the listing began: RFC 3339, UTC, whole seconds.
    pub taken_at: String,
    pub skconn_version: String,
    /// The owner skconn.yaml named where the snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `recorded` when usage was looked up, `off` when the environment has `usage: off`.
    pub usage: UsageRecord,
    pub connectors: Vec<Connector>,
    pub templates: Vec<Template>,
}

/// Whether a snapshot holds usage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageRecord {
    Recorded,
    Off,
}

/// One live custom connector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connector {
    pub identifier: String,
    /// The object as listed, server-owned fields dropped, marker kept, masked strings keyed.
    pub body: Value,
    /// Edited outside skconn since skconn last wrote it (see `plan::has_drifted`).
    pub drift: bool,
    /// Who uses it (`None` when usage is off).
    pub usage: Option<Usage>,
    /// For each keyed digest in `body`: the string as outputs show it (masked part `***`).
    pub masked: BTreeMap<String, String>,
}

/// A place where the live value was what the files' text expanded to when the snapshot was
/// taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    /// The live connector.
    pub identifier: String,
    /// The JSON Pointer of the place in the connector's body.
    pub pointer: String,
    /// The text as the files write it (`https://${TENANT}.vq4z.net`).
    pub written: String,
    /// The live value there, as the body holds it (keyed when masked).
    pub value: Value,
}

/// What a snapshot is taken from.
pub struct Taken<'a> {
    pub environment: &'a str,
    pub host: String,
    /// Unix seconds of when the listing began.
    pub taken_at: u64,
    pub owner: &'a str,
    pub live: Vec<Live>,
    /// Usage by identifier; `None` when usage is off.
    pub usage: Option<&'a HashMap<String, Usage>>,
    /// This environment's connectors as the files define them (for the templates).
    pub desired: &'a [Desired],
    /// The masked variables the files use, `(name, value)` (for the templates).
    pub variables: &'a [(String, String)],
    pub mask: &'a MaskKey,
}

/// Builds the snapshot of what was listed. Masked strings become keyed digests.
pub fn take(t: Taken) -> Snapshot {
    let templates = templates(&t);
    let connectors = t
        .live
        .into_iter()
        .map(|l| {
            let drift = crate::plan::has_drifted(&l);
            let mut body = l.body;
            let mut masked = BTreeMap::new();
            t.mask.mask_in_place(&mut body, &mut |text, keyed| {
                masked.insert(
                    keyed.to_string(),
                    crate::output::secret::redact(text).into_owned(),
                );
            });
            Connector {
                usage: t.usage.map(|u| {
                    u.get(&l.identifier).cloned().unwrap_or(Usage::Unknown {
                        reason: "it was not looked up".into(),
                    })
                }),
                identifier: l.identifier,
                body,
                drift,
                masked,
            }
        })
        .collect();
    Snapshot {
        kind: KIND.into(),
        format_version: FORMAT_VERSION.into(),
        environment: t.environment.into(),
        host: t.host.clone(),
        taken_at: crate::base::time::rfc3339(t.taken_at),
        skconn_version: env!("CARGO_PKG_VERSION").into(),
        owner: Some(t.owner.into()),
        usage: if t.usage.is_some() {
            UsageRecord::Recorded
        } else {
            UsageRecord::Off
        },
        connectors,
        templates,
    }
}

/// The live connector a file's connector is planned against: the one of its display name,
/// else one of its previous names that no file claims (as the plan matches them).
pub fn matched<'l>(
    d: &Desired,
    by_name: &HashMap<&str, &'l Live>,
    wanted: &HashSet<&str>,
) -> Option<&'l Live> {
    by_name.get(d.display_name.as_str()).copied().or_else(|| {
        d.previous_names
            .iter()
            .filter(|p| !wanted.contains(p.as_str()))
            .find_map(|p| by_name.get(p.as_str()).copied())
    })
}

/// The templates of an environment:
///
/// - for every file matched to a live connector, every string place where the file's text
///   differs from its expansion (it holds `${VAR}`) or the expansion is masked, and the live
///   value there equals the expansion;
/// - for every live string that holds a masked variable's value, the same string with each
///   such value written as `${NAME}` (so that a file written later the same way matches it).
fn templates(t: &Taken) -> Vec<Template> {
    let (live, desired, mask) = (&t.live, t.desired, t.mask);
    let by_name: HashMap<&str, &Live> = live.iter().map(|l| (l.display_name.as_str(), l)).collect();
    let wanted: HashSet<&str> = desired.iter().map(|d| d.display_name.as_str()).collect();
    let mut out = Vec::new();
    let mut variables: Vec<&(String, String)> =
        t.variables.iter().filter(|(_, v)| !v.is_empty()).collect();
    // Longest value first, so that a value holding another is written whole.
    variables.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for l in live.iter().filter(|_| !variables.is_empty()) {
        let mut places = Vec::new();
        crate::model::string_places(&l.body, &l.body, String::new(), &mut places);
        for (pointer, s, _) in places {
            if s.contains("${") || !crate::output::secret::contains_secret(s) {
                continue;
            }
            let mut written = s.to_string();
            for (name, value) in &variables {
                written = written.replace(value.as_str(), &format!("${{{name}}}"));
            }
            if written != s {
                out.push(Template {
                    identifier: l.identifier.clone(),
                    pointer,
                    written,
                    value: mask.mask(&Value::String(s.to_string())),
                });
            }
        }
    }
    for d in desired {
        let Some(l) = matched(d, &by_name, &wanted) else {
            continue;
        };
        let mut places = Vec::new();
        crate::model::string_places(d.written(), &d.body, String::new(), &mut places);
        for (pointer, written, expanded) in places {
            let templated = written != expanded || crate::output::secret::contains_secret(expanded);
            let live_value = l.body.pointer(&pointer);
            let known = out.iter().any(|t| {
                t.identifier == l.identifier && t.pointer == pointer && t.written == written
            });
            if templated && !known && live_value.and_then(Value::as_str) == Some(expanded) {
                out.push(Template {
                    identifier: l.identifier.clone(),
                    pointer,
                    written: written.to_string(),
                    value: mask.mask(live_value.expect("just read")),
                });
            }
        }
    }
    out
}

impl Snapshot {
    /// The pretty JSON text of the document, with a trailing newline.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The Unix seconds of `taken_at` (checked when read).
    pub fn taken_at_secs(&self) -> u64 {
        crate::base::time::parse_rfc3339(&self.taken_at).unwrap_or(0)
    }

    /// The live connectors, as a listing would have returned them (masked strings keyed).
    /// Their bodies are moved out: the connectors keep everything else.
    pub fn take_live(&mut self) -> Vec<Live> {
        self.connectors
            .iter_mut()
            .filter_map(|c| {
                let Value::Object(mut body) = std::mem::take(&mut c.body) else {
                    return None;
                };
                // As a listing is read (an edited snapshot may hold them).
                body.retain(|k, v| {
                    !crate::model::SERVER_OWNED.contains(&k.as_str()) && !v.is_null()
                });
                Some(Live {
                    display_name: body.get("display_name")?.as_str()?.to_string(),
                    identifier: c.identifier.clone(),
                    body: Value::Object(body),
                })
            })
            .collect()
    }

    /// The connector with this identifier.
    pub fn connector(&self, identifier: &str) -> Option<&Connector> {
        self.connectors.iter().find(|c| c.identifier == identifier)
    }
}

// ---- reading --------------------------------------------------------------------------------

/// Reads and checks a snapshot document. `file` names it in diagnostics. Every problem is
/// reported, each with its field and, for top-level fields, its line.
pub fn read(file: &Path, text: &str) -> Result<Snapshot, Vec<Diagnostic>> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        vec![Diagnostic::new(file, format!("not a JSON document: {e}"))
            .at(e.line(), e.column())
            .help("give --against a file that `skconn snapshot` wrote")]
    })?;
    let mut r = Reader {
        file,
        text,
        problems: Vec::new(),
    };
    let snapshot = r.document(doc);
    match snapshot {
        Some(s) if r.problems.is_empty() => Ok(s),
        _ => Err(r.problems),
    }
}

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Diagnostic>,
}

const TOP_KEYS: &[&str] = &[
    "kind",
    "format_version",
    "environment",
    "host",
    "taken_at",
    "skconn_version",
    "owner",
    "usage",
    "connectors",
    "templates",
];
const CONNECTOR_KEYS: &[&str] = &["identifier", "body", "drift", "usage", "masked"];
const TEMPLATE_KEYS: &[&str] = &["identifier", "pointer", "written", "value"];

/// The line and column of a top-level field of a snapshot's text (skconn writes one key a
/// line), of the top-level field a path starts with; `(0, 0)` when not found.
pub fn key_position(text: &str, field: &str) -> (usize, usize) {
    let top = field.split(['.', '[']).next().unwrap_or(field);
    if top.is_empty() {
        return (0, 0);
    }
    let needle = format!("\"{top}\":");
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(&needle).map(|c| (i + 1, c + 1)))
        .unwrap_or((0, 0))
}

impl Reader<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>, help: &str) {
        let (line, column) = key_position(self.text, field);
        let mut d = Diagnostic::new(self.file, message).help(help);
        if line > 0 {
            d = d.at(line, column);
        }
        if !field.is_empty() {
            d = d.field(field);
        }
        self.problems.push(d);
    }

    fn string(&mut self, obj: &Map<String, Value>, field: &str, path: &str) -> Option<String> {
        match obj.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            None => {
                self.problem(path, format!("`{field}` is missing"), REWRITE);
                None
            }
            Some(_) => {
                self.problem(path, format!("`{field}` must be a string"), REWRITE);
                None
            }
        }
    }

    fn unknown_keys(&mut self, obj: &Map<String, Value>, known: &[&str], at: &str) {
        for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            self.problem(
                &path,
                format!(
                    "unknown key `{}` (this skconn reads snapshot format {FORMAT_VERSION})",
                    crate::output::escape::inert(k)
                ),
                REWRITE,
            );
        }
    }

    fn document(&mut self, doc: Value) -> Option<Snapshot> {
        let Value::Object(mut obj) = doc else {
            self.problem("", "a snapshot is a JSON object", REWRITE);
            return None;
        };
        // The kind and the version first: another document, or another version, is named as
        // such rather than as a list of unknown keys.
        match obj.get("kind") {
            Some(Value::String(k)) if k == KIND => {}
            _ => {
                self.problem(
                    "kind",
                    format!("this is not a skconn snapshot (`kind` is not `{KIND}`)"),
                    "give --against a file that `skconn snapshot` wrote",
                );
                return None;
            }
        }
        match obj.get("format_version") {
            Some(Value::String(v)) if v == FORMAT_VERSION => {}
            other => {
                let was = other.map_or("missing".to_string(), |v| {
                    format!("`{}`", crate::output::escape::inert(&v.to_string()))
                });
                self.problem(
                    "format_version",
                    format!("snapshot format {was}: this skconn reads format {FORMAT_VERSION}"),
                    "take the snapshot again with this version of skconn (`skconn snapshot`)",
                );
                return None;
            }
        }
        self.unknown_keys(&obj, TOP_KEYS, "");
        let environment = self.string(&obj, "environment", "environment");
        if environment.as_deref() == Some("") {
            self.problem("environment", "`environment` is empty", REWRITE);
        }
        let host = self.string(&obj, "host", "host");
        if host.as_deref() == Some("") {
            self.problem("host", "`host` is empty", REWRITE);
        }
        let taken_at = self.string(&obj, "taken_at", "taken_at");
        if let Some(t) = &taken_at {
            if crate::base::time::parse_rfc3339(t).is_none() {
                self.problem(
                    "taken_at",
                    format!(
                        "`{}` is not an RFC 3339 time",
                        crate::output::escape::inert(t)
                    ),
                    "skconn writes it as 2026-12-03T09:12:00Z",
                );
            }
        }
        let skconn_version = self.string(&obj, "skconn_version", "skconn_version");
        let owner = match obj.get("owner") {
            None | Some(Value::Null) => None,
            Some(Value::String(o)) => Some(o.clone()),
            Some(_) => {
                self.problem("owner", "`owner` must be a string", REWRITE);
                None
            }
        };
        let usage = match obj.get("usage") {
            Some(Value::String(u)) if u == "recorded" => Some(UsageRecord::Recorded),
            Some(Value::String(u)) if u == "off" => Some(UsageRecord::Off),
            _ => {
                self.problem("usage", "`usage` must be `recorded` or `off`", REWRITE);
                None
            }
        };
        let connectors = match obj.remove("connectors") {
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut seen = HashSet::new();
                for (i, item) in items.into_iter().enumerate() {
                    if let Some(id) = item.get("identifier").and_then(Value::as_str) {
                        if !seen.insert(id.to_string()) {
                            self.problem(
                                &format!("connectors[{i}].identifier"),
                                format!(
                                    "the identifier `{}` is listed twice",
                                    crate::output::escape::inert(id)
                                ),
                                REWRITE,
                            );
                        }
                    }
                    if let Some(c) = self.connector(item, i, usage) {
                        out.push(c);
                    }
                }
                Some(out)
            }
            _ => {
                self.problem("connectors", "`connectors` must be a list", REWRITE);
                None
            }
        };
        let templates = match obj.get("templates") {
            Some(Value::Array(items)) => {
                let ids: HashSet<&str> = connectors
                    .iter()
                    .flatten()
                    .map(|c| c.identifier.as_str())
                    .collect();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = self.template(item, i, &ids) {
                        out.push(t);
                    }
                }
                Some(out)
            }
            _ => {
                self.problem("templates", "`templates` must be a list", REWRITE);
                None
            }
        };
        Some(Snapshot {
            kind: KIND.into(),
            format_version: FORMAT_VERSION.into(),
            environment: environment?,
            host: host?,
            taken_at: taken_at?,
            skconn_version: skconn_version?,
            owner,
            usage: usage?,
            connectors: connectors?,
            templates: templates?,
        })
    }

    fn connector(
        &mut self,
        item: Value,
        i: usize,
        usage: Option<UsageRecord>,
    ) -> Option<Connector> {
        let at = format!("connectors[{i}]");
        let Value::Object(mut obj) = item else {
            self.problem(&at, "a connector is an object", REWRITE);
            return None;
        };
        self.unknown_keys(&obj, CONNECTOR_KEYS, &at);
        let identifier = self.string(&obj, "identifier", &format!("{at}.identifier"));
        if identifier.as_deref() == Some("") {
            self.problem(
                &format!("{at}.identifier"),
                "`identifier` is empty",
                REWRITE,
            );
        }
        let body = match obj.remove("body") {
            Some(Value::Object(b)) => {
                match b.get("display_name") {
                    Some(Value::String(n)) if !n.is_empty() => {}
                    _ => self.problem(
                        &format!("{at}.body.display_name"),
                        "the body has no display name",
                        REWRITE,
                    ),
                }
                Some(Value::Object(b))
            }
            _ => {
                self.problem(&format!("{at}.body"), "`body` must be an object", REWRITE);
                None
            }
        };
        let drift = match obj.get("drift") {
            Some(Value::Bool(b)) => Some(*b),
            _ => {
                self.problem(
                    &format!("{at}.drift"),
                    "`drift` must be true or false",
                    REWRITE,
                );
                None
            }
        };
        let usage = match (obj.remove("usage"), usage) {
            (None | Some(Value::Null), Some(UsageRecord::Off)) => Some(None),
            (Some(u), Some(UsageRecord::Recorded)) if !u.is_null() => {
                match serde_json::from_value::<Usage>(u) {
                    Ok(u) => Some(Some(u)),
                    Err(e) => {
                        self.problem(
                            &format!("{at}.usage"),
                            format!("not a usage record: {e}"),
                            REWRITE,
                        );
                        None
                    }
                }
            }
            (_, None) => None,
            (_, Some(UsageRecord::Recorded)) => {
                self.problem(
                    &format!("{at}.usage"),
                    "the snapshot records usage, but this connector has none",
                    REWRITE,
                );
                None
            }
            (_, Some(UsageRecord::Off)) => {
                self.problem(
                    &format!("{at}.usage"),
                    "the snapshot records no usage (`usage: off`), but this connector has some",
                    REWRITE,
                );
                None
            }
        };
        let masked = match obj.get("masked") {
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    match v {
                        Value::String(s) if is_keyed(k) => {
                            out.insert(k.clone(), s.clone());
                        }
                        _ => self.problem(
                            &format!("{at}.masked"),
                            "`masked` maps keyed digests (hmac-sha256:…) to the text outputs show",
                            REWRITE,
                        ),
                    }
                }
                Some(out)
            }
            _ => {
                self.problem(
                    &format!("{at}.masked"),
                    "`masked` must be an object",
                    REWRITE,
                );
                None
            }
        };
        Some(Connector {
            identifier: identifier?,
            body: body?,
            drift: drift?,
            usage: usage?,
            masked: masked?,
        })
    }

    fn template(&mut self, item: &Value, i: usize, ids: &HashSet<&str>) -> Option<Template> {
        let at = format!("templates[{i}]");
        let Some(obj) = item.as_object() else {
            self.problem(&at, "a template is an object", REWRITE);
            return None;
        };
        self.unknown_keys(obj, TEMPLATE_KEYS, &at);
        let identifier = self.string(obj, "identifier", &format!("{at}.identifier"))?;
        if !ids.contains(identifier.as_str()) {
            self.problem(
                &format!("{at}.identifier"),
                format!(
                    "no connector of the snapshot has the identifier `{}`",
                    crate::output::escape::inert(&identifier)
                ),
                REWRITE,
            );
        }
        let pointer = self.string(obj, "pointer", &format!("{at}.pointer"))?;
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            self.problem(
                &format!("{at}.pointer"),
                "`pointer` must be a JSON Pointer",
                REWRITE,
            );
        }
        let written = self.string(obj, "written", &format!("{at}.written"))?;
        let Some(value) = obj.get("value").cloned() else {
            self.problem(&format!("{at}.value"), "`value` is missing", REWRITE);
            return None;
        };
        Some(Template {
            identifier,
            pointer,
            written,
            value,
        })
    }
}

/// What to do about a snapshot that does not read.
const REWRITE: &str =
    "snapshots are written by `skconn snapshot`: take it again rather than edit it";

/// Whether a string is a keyed digest as [`MaskKey::keyed`] writes them.
pub fn is_keyed(s: &str) -> bool {
    s.strip_prefix(MASKED_PREFIX)
        .is_some_and(crate::plan::digest::is_digest)
}

/// `host[:port]` of a URL, lower case, as a snapshot records it.
pub fn host_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::digest::tests::{desired, live};
    use serde_json::json;

    fn taken<'a>(live: &'a [Live], desired: &'a [Desired], mask: &'a MaskKey) -> Snapshot {
        take(Taken {
            environment: "prod",
            host: "p.example:8443".into(),
            taken_at: 1_796_289_120,
            owner: "default",
            live: live.to_vec(),
            usage: None,
            desired,
            variables: &[],
            mask,
        })
    }

    #[test]
    fn masked_strings_are_keyed_and_shown_as_outputs_show_them() {
        let secret = "qz-snapshot-masked-7731";
        crate::output::secret::register(secret);
        let mask = MaskKey::new("prod", b"k");
        let l = [live(
            "Alpha",
            json!({"proxy_url": format!("https://{secret}.vq4z.net"), "description": "plain"}),
        )];
        let s = taken(&l, &[], &mask);
        let text = s.to_text();
        assert!(!text.contains(secret), "{text}");
        let c = &s.connectors[0];
        let keyed = c.body["proxy_url"].as_str().unwrap();
        assert!(is_keyed(keyed), "{keyed}");
        assert_eq!(c.masked[keyed], "https://***.vq4z.net");
        assert_eq!(c.body["description"], "plain");
        assert_eq!(
            c.body["metadata"]["managed_by"], "skconn",
            "the marker is kept"
        );
        assert_eq!(read(Path::new("s.json"), &text), Ok(s));
    }

    #[test]
    fn templates_record_places_whose_live_value_is_the_expansion() {
        let mask = MaskKey::new("prod", b"k");
        let b = |url: &str, d: &str| json!({"proxy_url": url, "description": d});
        let l = [
            live("Alpha", b("https://t1.vq4z.net", "edited")),
            live("Beta", b("https://t2.vq4z.net", "x")),
        ];
        let d = [
            desired(
                "Alpha",
                b("https://t1.vq4z.net", "from t1"),
                b("https://${T}.vq4z.net", "from ${T}"),
            ),
            desired(
                "Beta",
                b("https://t1.vq4z.net", "x"),
                b("https://${T}.vq4z.net", "x"),
            ),
        ];
        let s = taken(&l, &d, &mask);
        // Alpha's URL matched; its description was edited; Beta's URL differs; plain text
        // is no template.
        assert_eq!(
            s.templates,
            [Template {
                identifier: "alpha:1".into(),
                pointer: "/proxy_url".into(),
                written: "https://${T}.vq4z.net".into(),
                value: json!("https://t1.vq4z.net"),
            }]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let text = r#"{
  "kind": "skconn-snapshot",
  "format_version": "1",
  "environment": "",
  "host": "",
  "taken_at": "yesterday",
  "skconn_version": "0.1.0",
  "usage": "off",
  "extra": 1,
  "connectors": [{"identifier": "a", "body": {}, "drift": "no", "masked": {"x": "y"}},
                 {"identifier": "a", "body": {"display_name": "A"}, "drift": false, "masked": {}}],
  "templates": [{"identifier": "zz", "pointer": "x", "written": "w", "value": 1}]
}"#;
        let d = read(Path::new("prod.snapshot.json"), text).unwrap_err();
        let fields: Vec<&str> = d.iter().filter_map(|d| d.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "extra",
                "environment",
                "host",
                "taken_at",
                "connectors[0].body.display_name",
                "connectors[0].drift",
                "connectors[0].masked",
                "connectors[1].identifier",
                "templates[0].identifier",
                "templates[0].pointer",
            ]
        );
        assert_eq!(d[1].line, 4, "{}", d[1]);
        let other = read(Path::new("plan.json"), r#"{"format_version": "2"}"#).unwrap_err();
        assert!(
            other[0].message.contains("not a skconn snapshot"),
            "{}",
            other[0]
        );
        let newer = read(
            Path::new("s.json"),
            r#"{"kind": "skconn-snapshot", "format_version": "2"}"#,
        )
        .unwrap_err();
        assert!(
            newer[0].message.contains("this skconn reads format 1"),
            "{}",
            newer[0]
        );
        let bad = read(Path::new("s.json"), "{\n  \"kind\": ").unwrap_err();
        assert_eq!(bad[0].line, 2);
    }

    #[test]
    fn hosts_keep_a_port_that_is_not_the_default() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            host_of(&u("https://Acme.Scalekit.dev/")),
            "acme.scalekit.dev"
        );
        assert_eq!(
            host_of(&u("https://acme.scalekit.dev:443")),
            "acme.scalekit.dev"
        );
        assert_eq!(host_of(&u("http://127.0.0.1:8787")), "127.0.0.1:8787");
    }
}
