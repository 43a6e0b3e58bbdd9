//! The vocabulary of `skconn.yaml`, as one table, and the check of a configuration text against
//! it: every problem at once, each at the offending key's (or value's) line and column, with
//! "did you mean" for keys and for words.
//!
//! The tables [`TOP`] and [`ENVIRONMENT`] are the only list of keys: the check, the JSON Schema
//! (`schema::config_schema`) and the table in `docs/configuration.md` follow them. Adding a key
//! is one line here (and reading it in `settings`, and a row in that table). Pure: no I/O.

use crate::base::error::Diagnostic;
use crate::vocabulary::suggest::suggest;
use crate::yaml::index::Index;
use serde_yaml::Value;
use std::path::Path;

/// The type of a key's value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Text; `${VAR}` is replaced by the variable's value.
    Text,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A whole number of at least `min`.
    Integer { min: u64 },
    /// A list of text.
    TextList,
    /// The environments: a map from names to maps of [`ENVIRONMENT`] keys.
    Environments,
    /// A map of [`THRESHOLD`] keys, or the word `off`.
    ThresholdOrOff,
}

/// One key of `skconn.yaml`.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub description: &'static str,
}

const fn key(name: &'static str, ty: Ty, description: &'static str) -> Key {
    Key {
        name,
        ty,
        required: false,
        description,
    }
}

const fn required(name: &'static str, ty: Ty, description: &'static str) -> Key {
    Key {
        name,
        ty,
        required: true,
        description,
    }
}

/// The values of `prune`.
pub const PRUNE_VALUES: &[&str] = &["off", "managed", "all"];
/// The values of `usage`.
pub const USAGE_VALUES: &[&str] = &["on", "off"];

/// The keys at the top of `skconn.yaml`.
pub const TOP: &[Key] = &[
    key("connectors_dir", Ty::Text, "The folder of connector files, relative to skconn.yaml (default `connectors`)."),
    required("environments", Ty::Environments, "The environments, applied in the order written: a map from names (letters, digits, `-`, `_`) to environments."),
    key("show_vars", Ty::TextList, "Variables whose values connector files may show in plans (every other `${VAR}` value is masked)."),
    key("owner", Ty::Text, "Who owns the connectors this repository writes (letters, digits, `-`, `_`, `.`; default `default`): `prune: managed` deletes only this owner's, and other owners' connectors are never changed."),
];

/// The keys of one environment.
pub const ENVIRONMENT: &[Key] = &[
    required("url", Ty::Text, "The environment URL from the Scalekit dashboard (https://...), or `local` for the embedded emulator."),
    key("client_id", Ty::Text, "The client id; required for a remote environment. Usually `${VARIABLE}`."),
    key("client_secret", Ty::Text, "The client secret; required for a remote environment. Always `${VARIABLE}`, never the secret itself."),
    key("prune", Ty::OneOf(PRUNE_VALUES), "What to delete: `off` (default) nothing, `managed` connectors skconn wrote whose file is gone, `all` every custom connector not in the files."),
    key("protect", Ty::TextList, "Display names no plan may delete, whatever the flags."),
    key("parallelism", Ty::Integer { min: 1 }, "Requests in flight at once when applying (default 8)."),
    key("ca_file", Ty::Text, "A PEM file of extra CA certificates to trust for this environment (a TLS-inspecting proxy's, say), relative to skconn.yaml."),
    key("page_size", Ty::Integer { min: 1 }, "The page size asked for when listing connectors (default 1000); a server that refuses it is asked again with a smaller one."),
    key("change_threshold", Ty::ThresholdOrOff, "When a plan is refused as unsafe: `{percent: 30, min_managed: 10}` (the default) refuses deleting or updating more than `percent` of the managed connectors once there are at least `min_managed`; `off` never refuses for size (`--force` goes past it once)."),
    key("usage", Ty::OneOf(USAGE_VALUES), "`on` (default): plans look up the connections and connected accounts of connectors they delete or change in an auth-relevant way; `off` for a token without that permission."),
];

/// The keys of an environment's `change_threshold` map.
pub const THRESHOLD: &[Key] = &[
    key("percent", Ty::Integer { min: 0 }, "The largest share of the managed connectors, in percent (0 to 100), a plan may delete or update (default 30)."),
    key("min_managed", Ty::Integer { min: 0 }, "The threshold applies once the environment holds at least this many managed connectors (default 10)."),
];

/// Whether a key of an environment names a credential, or looks like a mistyped one
/// (`client_secert`, `password`, `token`): its value is never shown in any message.
pub fn looks_like_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "secert",
        "password",
        "passwd",
        "token",
        "credential",
        "key",
    ]
    .iter()
    .any(|w| key.contains(w))
}

/// What the vocabulary check of a configuration document found.
#[derive(Debug)]
pub struct Checked {
    /// Every unknown key, misspelt word and wrong type, each at its line and column, in order.
    pub problems: Vec<Diagnostic>,
    /// The document without the keys the problems are about (unknown keys, values of the wrong
    /// type): what the settings can still read, to check the rules the vocabulary cannot
    /// (variables, URLs, names, ranges), so that every problem of the file is reported at once.
    pub rest: Value,
    /// The field paths of the problems (a missing key: the path it would have).
    fields: Vec<String>,
}

impl Checked {
    /// Whether a problem about `field`, a field inside it, or a field it is inside of, is
    /// reported already: a later check of the same place would only repeat it.
    pub fn covers(&self, field: &str) -> bool {
        let within = |inner: &str, outer: &str| {
            inner == outer
                || (!outer.is_empty()
                    && inner.starts_with(outer)
                    && inner[outer.len()..].starts_with(['.', '[']))
        };
        self.fields
            .iter()
            .any(|f| within(field, f) || within(f, field))
    }
}

/// Checks a configuration document (read with `crate::yaml::read_yaml`) against the
/// vocabulary; `index` places the problems.
pub(crate) fn check(file: &Path, doc: &Value, index: Index) -> Checked {
    let mut c = Checker {
        file,
        index,
        out: Vec::new(),
        fields: Vec::new(),
    };
    let rest = match doc {
        Value::Mapping(top) => Value::Mapping(c.map(top, TOP, "", "skconn.yaml")),
        // Not a map: the settings say so.
        other => other.clone(),
    };
    c.out.sort_by_key(|d| (d.line, d.column));
    Checked {
        problems: c.out,
        rest,
        fields: c.fields,
    }
}

struct Checker<'a> {
    file: &'a Path,
    index: Index,
    out: Vec<Diagnostic>,
    fields: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}

impl Checker<'_> {
    fn at_key(&mut self, path: &str, message: String, help: String) {
        let pos = self.index.key_pos(path);
        self.fields.push(path.to_string());
        self.push(pos, path, message, help);
    }

    fn at_value(&mut self, path: &str, message: String, help: String) {
        let pos = self.index.value_pos(path);
        self.fields.push(path.to_string());
        self.push(pos, path, message, help);
    }

    fn push(
        &mut self,
        pos: Option<crate::yaml::index::Pos>,
        path: &str,
        message: String,
        help: String,
    ) {
        let mut d = Diagnostic::new(self.file, message).help(help);
        if let Some(p) = pos {
            d = d.at(p.line, p.column);
        }
        if !path.is_empty() {
            d = d.field(path);
        }
        self.out.push(d);
    }

    /// Checks a map's keys; returns the map without the entries that have problems.
    fn map(
        &mut self,
        m: &serde_yaml::Mapping,
        keys: &[Key],
        path: &str,
        what: &str,
    ) -> serde_yaml::Mapping {
        let mut kept = serde_yaml::Mapping::new();
        for (k, v) in m {
            let Some(name) = k.as_str() else {
                self.at_key(
                    path,
                    format!("a key in {what} is not text"),
                    "write `name: value`".into(),
                );
                continue;
            };
            let here = join(path, name);
            match keys.iter().find(|key| key.name == name) {
                Some(key) => {
                    if let Some(value) = self.value(key, v, &here) {
                        kept.insert(k.clone(), value);
                    }
                }
                None => {
                    let known: Vec<&str> = keys.iter().map(|k| k.name).collect();
                    let help = match suggest(name, known.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known keys here: {}", known.join(", ")),
                    };
                    self.at_key(&here, format!("unknown key `{name}` in {what}"), help);
                }
            }
        }
        for key in keys.iter().filter(|k| k.required) {
            if !m.contains_key(key.name) {
                self.fields.push(join(path, key.name));
                let message = format!("`{}` is missing from {what}", key.name);
                let help = format!("add `{}:` ({})", key.name, key.description);
                let pos = match path {
                    "" => None,
                    _ => self.index.key_pos(path),
                };
                self.push(pos, path, message, help);
            }
        }
        kept
    }

    /// Checks a value; returns it (without its entries that have problems, for a map), or
    /// `None` when it is itself wrong.
    fn value(&mut self, key: &Key, v: &Value, path: &str) -> Option<Value> {
        let before = self.out.len();
        match (key.ty, v) {
            (Ty::Environments, Value::Mapping(envs)) => {
                let mut kept = serde_yaml::Mapping::new();
                for (name, env) in envs {
                    let Some(name) = name.as_str() else {
                        kept.insert(name.clone(), env.clone());
                        continue;
                    };
                    let here = join(path, name);
                    match env {
                        Value::Mapping(m) => {
                            let what = format!("environment `{name}`");
                            let env = self.map(m, ENVIRONMENT, &here, &what);
                            kept.insert(name.into(), Value::Mapping(env));
                        }
                        other => self.at_value(
                            &here,
                            format!("environment `{name}` must be a map, found {}", describe(other)),
                            "indent `url:`, `client_id:`, `client_secret:` and `prune:` under the environment's name".into(),
                        ),
                    }
                }
                return Some(Value::Mapping(kept));
            }
            (Ty::ThresholdOrOff, Value::Mapping(m)) => {
                let what = format!("`{}`", key.name);
                return Some(Value::Mapping(self.map(m, THRESHOLD, path, &what)));
            }
            _ => self.leaf(key, v, path),
        }
        (self.out.len() == before).then(|| v.clone())
    }

    /// Checks a value that is not a map of keys the vocabulary knows.
    fn leaf(&mut self, key: &Key, v: &Value, path: &str) {
        match (key.ty, v) {
            (Ty::Text, Value::String(_)) => {}
            (Ty::Text, _) => self.not_text(path, v),
            (Ty::OneOf(words), Value::String(s)) if words.contains(&s.as_str()) => {}
            (Ty::OneOf(words), _) => {
                let found = match v {
                    Value::String(s) => format!("`{s}`"),
                    other => describe(other).to_string(),
                };
                let help = match v.as_str().and_then(|s| suggest(s, words.iter().copied())) {
                    Some(s) => format!("did you mean `{s}`? (one of {})", words.join(", ")),
                    None => format!("use one of {}", words.join(", ")),
                };
                self.at_value(
                    path,
                    format!(
                        "`{}` must be one of {}, found {found}",
                        key.name,
                        words.join(", ")
                    ),
                    help,
                );
            }
            (Ty::Integer { min }, Value::Number(n)) if n.as_u64().is_some_and(|n| n >= min) => {}
            (Ty::Integer { min }, _) => {
                let help = match v {
                    Value::String(s) if s.trim().parse::<u64>().is_ok() => {
                        format!(
                            "write the number without quotes: `{}: {}`",
                            key.name,
                            s.trim()
                        )
                    }
                    _ => format!("write a whole number of at least {min}"),
                };
                self.at_value(
                    path,
                    format!(
                        "`{}` must be a whole number of at least {min}, found {}",
                        key.name,
                        self.shown(path, v)
                    ),
                    help,
                );
            }
            (Ty::TextList, Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        self.not_text(&format!("{path}[{i}]"), item);
                    }
                }
            }
            (Ty::TextList, _) => self.at_value(
                path,
                format!("`{}` must be a list, found {}", key.name, describe(v)),
                format!("write `{}: [a, b]`, or one `- item` per line", key.name),
            ),
            (Ty::ThresholdOrOff, Value::String(w)) if w == "off" => {}
            (Ty::ThresholdOrOff, _) => self.at_value(
                path,
                format!(
                    "`{}` must be a map or `off`, found {}",
                    key.name,
                    self.shown(path, v)
                ),
                format!(
                    "write `{}: {{percent: 30, min_managed: 10}}` or `{}: off`",
                    key.name, key.name
                ),
            ),
            (Ty::Environments, _) => self.at_value(
                path,
                format!(
                    "`environments` must be a map of names to environments, found {}",
                    describe(v)
                ),
                "write `environments:` and, indented under it, `dev:` with `url: ...` under that"
                    .into(),
            ),
        }
    }

    /// A value as written, for messages.
    fn shown(&self, path: &str, v: &Value) -> String {
        match self.index.raw(path) {
            Some(raw) => format!("`{raw}`"),
            None => describe(v).to_string(),
        }
    }

    /// A value that should be text: quoting it is the fix, written exactly as the file has it
    /// (`1.10` stays `"1.10"`, `0x1F` stays `"0x1F"`).
    fn not_text(&mut self, path: &str, v: &Value) {
        let key = path.rsplit('.').next().unwrap_or(path);
        let help = match (v, self.index.raw(path)) {
            // Never repeat a credential's value, not even to suggest quoting it.
            (Value::Bool(_) | Value::Number(_), Some(_)) if looks_like_credential(key) => {
                "put the value in quotes (or better, take it from a `${VARIABLE}`)".into()
            }
            (Value::Bool(_) | Value::Number(_), Some(raw)) => {
                format!("put the value in quotes: `\"{raw}\"`")
            }
            (Value::Null, _) => "write a value after the colon, or remove the key".into(),
            _ => "write a single text value".into(),
        };
        self.at_value(path, format!("expected text, found {}", describe(v)), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Vec<Diagnostic> {
        let file = Path::new("skconn.yaml");
        let read = crate::yaml::read_yaml(file, text).unwrap();
        check(file, &read.value, read.source.index()).problems
    }

    #[test]
    fn typos_are_found_at_their_key_with_a_suggestion_all_at_once() {
        let text = "environments:\n  dev:\n    url: local\n    prnue: managed\n  prod:\n    url: local\n    prune: manged\nshow_var: [A]\n";
        let d = check_text(text);
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!((d[0].line, d[0].column), (4, 5));
        assert_eq!(d[0].help.as_deref(), Some("did you mean `prune`?"));
        assert_eq!((d[1].line, d[1].column), (7, 12));
        assert!(d[1]
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `managed`?"));
        assert_eq!((d[2].line, d[2].column), (8, 1));
        assert_eq!(d[2].help.as_deref(), Some("did you mean `show_vars`?"));
    }

    #[test]
    fn a_quote_hint_keeps_the_value_as_written() {
        let d = check_text(
            "environments:\n  dev:\n    url: local\n    client_id: 1.10\n    client_secret: 0x1F\nconnectors_dir: 0x1F\n",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(
            d[0].help.as_deref(),
            Some("put the value in quotes: `\"1.10\"`")
        );
        // A credential's value is never repeated, not even in a hint.
        assert!(!d[1].to_string().contains("0x1F"), "{}", d[1]);
        assert!(!format!("{:?}", d[1].help).contains("0x1F"));
        assert_eq!(
            d[2].help.as_deref(),
            Some("put the value in quotes: `\"0x1F\"`")
        );
        assert_eq!((d[0].line, d[0].column), (4, 16));
    }

    #[test]
    fn missing_url_and_bad_parallelism() {
        let d = check_text("environments:\n  dev:\n    parallelism: 0\n");
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(d
            .iter()
            .any(|d| d.message.contains("`url` is missing") && d.line == 2));
        assert!(d
            .iter()
            .any(|d| d.message.contains("at least 1") && d.line == 3));
    }
}
