//! From the text of one file to a JSON map: serde_yaml parses (and reports syntax errors,
//! duplicate keys, several documents and alias bombs), then the YAML value is moved into
//! `serde_json` form. What JSON cannot hold (non-string keys, tags, NaN) becomes a problem.

use super::index::Index;
use super::validate::{At, Problem};
use crate::error::Diagnostic;
use serde_json::{Map, Number, Value};
use std::path::Path;

/// A parsed file: the top-level map, and the problems met while converting it.
pub(crate) struct Parsed {
    pub map: Map<String, Value>,
    pub problems: Vec<Problem>,
}

/// How deep collections may nest: serde_yaml's own limit, checked before serde_yaml runs.
const MAX_DEPTH: usize = 128;

/// The guards every YAML text skconn reads goes through before it is used (connector files and
/// `skconn.yaml` alike): nesting depth, alias expansion ("billion laughs"), duplicate keys,
/// several documents, syntax. The diagnostics name the place.
pub(crate) fn guard(file: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    depth_guard(file, text)?;
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(syntax_error(file, text, &e)),
    }
}

/// Parses one YAML text (UTF-8, byte-order mark already removed).
pub(crate) fn parse(file: &Path, text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    depth_guard(file, text)?;
    let mut value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(syntax_error(file, text, &e)),
    };
    let found = match &value {
        serde_yaml::Value::Mapping(_) => None,
        serde_yaml::Value::Null => return Err(vec![no_connector(file, text)]),
        serde_yaml::Value::Sequence(_) => Some("a list".to_string()),
        serde_yaml::Value::Tagged(t) => Some(format!("a value tagged `{}`", t.tag)),
        other => Some(format!(
            "a single value ({})",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        )),
    };
    if let Some(found) = found {
        let pos = Index::build(text).value_pos("");
        let d = Diagnostic::new(
            file,
            format!("the file holds {found}; a connector file holds one connector, a map of keys"),
        )
        .help(
            "write the connector's keys at the top level (`display_name: ...`, `proxy_url: ...`, \
             `auth_patterns: ...`), without a leading `-`",
        );
        return Err(vec![match pos {
            Some(p) => d.at(p.line, p.column),
            None => d.at(1, 1),
        }]);
    }
    if let Err(e) = value.apply_merge() {
        return Err(vec![Diagnostic::new(
            file,
            format!("a `<<` merge key cannot be applied: {e}"),
        )
        .help(
            "`<<` merges maps: write `<<: *anchor` where the anchor names a map",
        )]);
    }
    let serde_yaml::Value::Mapping(m) = value else {
        unreachable!("checked above")
    };
    let mut problems = Vec::new();
    let mut path = String::new();
    let map = convert_map(m, &mut path, &mut problems);
    Ok(Parsed { map, problems })
}

/// libyaml's scanner slows down with the square of the depth of flow collections (`[[[...`);
/// serde_yaml's depth limit applies only after the whole text is scanned. A cheap count of
/// brackets finds the texts that may be that deep, and a partial parse confirms it.
fn depth_guard(file: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    if flow_depth_estimate(text) > MAX_DEPTH {
        if let Some(pos) = super::index::too_deep(text, MAX_DEPTH) {
            return Err(vec![Diagnostic::new(
                file,
                format!("the YAML is nested too deeply (more than {MAX_DEPTH} levels)"),
            )
            .at(pos.line, pos.column)
            .help(
                "a connector or skconn.yaml needs only a few levels: flatten the structure",
            )]);
        }
    }
    Ok(())
}

/// The deepest nesting of `[` and `{`, counting brackets wherever they are (also in strings and
/// comments): never less than the real depth of flow collections.
fn flow_depth_estimate(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
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

fn syntax_error(file: &Path, text: &str, e: &serde_yaml::Error) -> Vec<Diagnostic> {
    let msg = e.to_string();
    if msg.starts_with("deserializing from YAML containing more than one document") {
        let index = Index::build(text);
        let d = Diagnostic::new(
            file,
            format!(
                "the file holds {} YAML documents; a connector file holds exactly one",
                index.documents.len().max(2)
            ),
        )
        .help(
            "one connector per file: move each document after a `---` line into a file of its own",
        );
        return vec![match index.documents.get(1) {
            Some(p) => d.at(p.line, p.column),
            None => d,
        }];
    }
    if msg.contains("duplicate entry") {
        let index = Index::build(text);
        if !index.duplicates.is_empty() {
            return index
                .duplicates
                .iter()
                .map(|dup| {
                    let name = last_segment(&dup.path);
                    Diagnostic::new(
                        file,
                        format!(
                            "duplicate key `{name}`: it is already set at line {}",
                            dup.first.line
                        ),
                    )
                    .at(dup.second.line, dup.second.column)
                    .field(&dup.path)
                    .help(format!(
                        "remove one of the two `{name}` entries (a key may appear once per map)"
                    ))
                })
                .collect();
        }
    }
    if msg.contains("repetition limit exceeded") {
        return vec![Diagnostic::new(
            file,
            "aliases expand to too many values (a \"billion laughs\" YAML bomb?); the file was not loaded",
        )
        .help("write the values out, or use fewer `*alias` references")];
    }
    if msg.contains("recursion limit exceeded") {
        let d = Diagnostic::new(
            file,
            format!("the YAML is nested too deeply (more than {MAX_DEPTH} levels)"),
        )
        .help("a connector needs only a few levels: flatten the structure");
        return vec![with_location(d, e)];
    }
    if let Some(loc) = e.location() {
        if let Some(line) = text.lines().nth(loc.line().saturating_sub(1)) {
            let indent: &str = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
            if let Some(tab) = indent.find('\t') {
                return vec![Diagnostic::new(
                    file,
                    "a tab character is used for indentation; YAML allows only spaces",
                )
                .at(loc.line(), indent[..tab].chars().count() + 1)
                .help(
                    "indent with spaces (configure the editor to insert spaces for the Tab key)",
                )];
            }
        }
    }
    if msg.contains("while scanning a quoted scalar") && msg.contains("end of stream") {
        let d = Diagnostic::new(
            file,
            "a quoted string is never closed: the file ends inside it",
        )
        .help("add the closing quote where the value ends");
        return vec![match context_location(&msg) {
            Some((line, column)) => d.at(line, column),
            None => with_location(d, e),
        }];
    }
    let d = Diagnostic::new(file, format!("invalid YAML: {}", strip_location(&msg)))
        .help("fix the YAML syntax here (check quotes, colons, brackets and indentation)");
    vec![with_location(d, e)]
}

fn with_location(d: Diagnostic, e: &serde_yaml::Error) -> Diagnostic {
    match e.location() {
        Some(l) => d.at(l.line(), l.column()),
        None => d,
    }
}

/// serde_yaml's message without its first " at line N column M" (the diagnostic says where).
fn strip_location(msg: &str) -> String {
    if let Some(i) = msg.find(" at line ") {
        let rest = &msg[i + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(rest);
        if n > 0 {
            if let Some(after) = rest[n..].strip_prefix(" column ") {
                let m = digits(after);
                if m > 0 {
                    return format!("{}{}", &msg[..i], &after[m..]);
                }
            }
        }
    }
    msg.to_string()
}

/// The place libyaml names after ", while scanning ... at line N column M": where the construct
/// that failed began.
fn context_location(msg: &str) -> Option<(usize, usize)> {
    let ctx = &msg[msg.find(", while ")?..];
    let rest = &ctx[ctx.find(" at line ")? + " at line ".len()..];
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

fn last_segment(path: &str) -> &str {
    match path.rfind('.') {
        Some(i) => &path[i + 1..],
        None => path,
    }
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
    fn strips_serde_yaml_locations() {
        assert_eq!(
            strip_location("found x at line 2 column 1, while scanning"),
            "found x, while scanning"
        );
        assert_eq!(strip_location("no location"), "no location");
        assert_eq!(
            context_location(
                "found x at line 9 column 1, while scanning a quoted scalar at line 3 column 15"
            ),
            Some((3, 15))
        );
    }

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
