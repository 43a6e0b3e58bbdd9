//! From the text of one file to a JSON map: `read` reads the YAML (and reports syntax errors,
//! duplicate keys, tabs, several documents and alias bombs), then the YAML value is moved into
//! `serde_json` form. What JSON cannot hold (non-string keys, tags, NaN) becomes a problem.

use super::validate::{At, Problem};
use crate::base::error::Diagnostic;
use crate::yaml::read::{Read, Source};
use serde_json::{Map, Number, Value};
use std::path::Path;

/// A parsed file: the top-level map, the problems met while converting it, and the problems
/// met while reading it (duplicate keys, tabs; placed already).
pub(crate) struct Parsed<'t> {
    pub map: Map<String, Value>,
    pub problems: Vec<Problem>,
    pub read_problems: Vec<Diagnostic>,
    /// The text positions are looked up in.
    pub source: Source<'t>,
    /// Its index, when reading built it already.
    pub index: Option<crate::yaml::index::Index>,
    /// Problems found while reading but not kept (see [`Read::left_out`]).
    pub left_out: usize,
}

/// Parses one YAML text (UTF-8, byte-order mark already removed).
pub(crate) fn parse<'t>(file: &Path, text: &'t str) -> Result<Parsed<'t>, Vec<Diagnostic>> {
    let Read {
        mut value,
        source,
        problems: read_problems,
        index,
        left_out,
    } = crate::yaml::read::read(file, text)?;
    let found = match &value {
        serde_yaml::Value::Mapping(_) => None,
        serde_yaml::Value::Null => {
            let mut d = read_problems;
            d.push(no_connector(file, text));
            return Err(d);
        }
        serde_yaml::Value::Sequence(_) => Some("a list".to_string()),
        serde_yaml::Value::Tagged(t) => Some(format!("a value tagged `{}`", t.tag)),
        other => Some(format!(
            "a single value ({})",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        )),
    };
    if let Some(found) = found {
        let pos = index.unwrap_or_else(|| source.index()).value_pos("");
        let d = Diagnostic::new(
            file,
            format!("the file holds {found}; a connector file holds one connector, a map of keys"),
        )
        .help(
            "write the connector's keys at the top level (`display_name: ...`, `proxy_url: ...`, \
             `auth_patterns: ...`), without a leading `-`",
        );
        let mut out = read_problems;
        out.push(match pos {
            Some(p) => d.at(p.line, p.column),
            None => d.at(1, 1),
        });
        return Err(out);
    }
    if let Err(e) = value.apply_merge() {
        let mut out = read_problems;
        out.push(
            Diagnostic::new(file, format!("a `<<` merge key cannot be applied: {e}"))
                .help("`<<` merges maps: write `<<: *anchor` where the anchor names a map"),
        );
        return Err(out);
    }
    let serde_yaml::Value::Mapping(m) = value else {
        unreachable!("checked above")
    };
    let mut problems = Vec::new();
    let mut path = String::new();
    let map = convert_map(m, &mut path, &mut problems);
    Ok(Parsed {
        map,
        problems,
        read_problems,
        source,
        index,
        left_out,
    })
}

/// An empty file, a file of comments, or a document that is just `null`.
fn no_connector(file: &Path, text: &str) -> Diagnostic {
    let content = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    });
    let what = if text.trim().is_empty() {
        "the file is empty"
    } else if !content {
        "the file holds only comments"
    } else {
        "the file's YAML document is empty (null)"
    };
    Diagnostic::new(file, format!("{what}: no connector is defined")).help(
        "write one connector (a map with `display_name`, `proxy_url` and `auth_patterns`), or delete the file",
    )
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn convert_map(
    m: serde_yaml::Mapping,
    path: &mut String,
    problems: &mut Vec<Problem>,
) -> Map<String, Value> {
    let mut out = Map::with_capacity(m.len());
    let base = path.len();
    for (k, v) in m {
        let (key, bad) = match k {
            serde_yaml::Value::String(s) => (s, None),
            serde_yaml::Value::Number(n) => (n.to_string(), Some("a number")),
            serde_yaml::Value::Bool(b) => (b.to_string(), Some("a boolean")),
            serde_yaml::Value::Null => ("null".to_string(), Some("null")),
            _ => ("?".to_string(), Some("not a plain value")),
        };
        push_key(path, &key);
        if let Some(kind) = bad {
            let mut p = Problem::new(
                path.as_str(),
                At::Key,
                format!("the key `{key}` is {kind}; keys must be strings"),
                format!("put the key in quotes: `\"{key}\": ...`"),
            );
            // Quoted as written (`1.10`, not `1.1`) where the text is known.
            p.quote_hint = true;
            problems.push(p);
        }
        let value = convert(v, path, problems);
        path.truncate(base);
        out.insert(key, value);
    }
    out
}

fn convert(v: serde_yaml::Value, path: &mut String, problems: &mut Vec<Problem>) -> Value {
    match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                match n.as_f64().and_then(Number::from_f64) {
                    Some(f) => Value::Number(f),
                    None => {
                        problems.push(Problem::new(
                            path.as_str(),
                            At::Value,
                            format!("`{n}` is not a finite number, which JSON cannot carry"),
                            "write a finite number, or put the value in quotes to make it a string",
                        ));
                        Value::Null
                    }
                }
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => {
            let base = path.len();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push('[');
                path.push_str(&i.to_string());
                path.push(']');
                out.push(convert(item, path, problems));
                path.truncate(base);
            }
            Value::Array(out)
        }
        serde_yaml::Value::Mapping(m) => Value::Object(convert_map(m, path, problems)),
        serde_yaml::Value::Tagged(t) => {
            problems.push(Problem::new(
                path.as_str(),
                At::Value,
                format!("YAML tags such as `{}` are not supported", t.tag),
                format!("remove the `{}` tag", t.tag),
            ));
            convert(t.value, path, problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_fast() {
        let text = format!("a: {}\n", "[".repeat(1_000_000));
        let start = std::time::Instant::now();
        let d = parse(Path::new("f.yaml"), &text).err().unwrap();
        assert!(d[0].message.contains("nested too deeply"), "{}", d[0]);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // Brackets in strings are not nesting.
        let text = format!("a: \"{}\"\n", "[".repeat(1000));
        assert!(parse(Path::new("f.yaml"), &text).is_ok());
    }

    #[test]
    fn non_json_values_are_problems() {
        let p = parse(Path::new("f.yaml"), "1: a\nb: !t x\nc: .nan\n")
            .ok()
            .unwrap();
        let fields: Vec<_> = p.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["1", "b", "c"]);
        assert_eq!(p.map["b"], "x");
    }
}
