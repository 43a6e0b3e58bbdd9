//! Per-environment values: `${VAR}` expansion in string values, `skconn.overrides` merged over
//! the base (JSON Merge Patch, RFC 7396), and where a problem of a merged connector is written.
//!
//! What it must never do: read the value of a credential's variable (or of one named like a
//! secret) into a connector, or let a problem with a masked value describe that value.

use super::validate::{At, Problem};
use super::LoadOptions;
use crate::settings::expand_all;
use serde_json::{Map, Value};

/// The key under `skconn:` that holds the overrides.
pub(crate) const OVERRIDES_KEY: &str = "overrides";

/// Expands `${VAR}` in every string value of `map` (keys are left alone). Missing variables,
/// and variables a connector file may not use, become problems at the string; returns the
/// `(name, value)` of every variable used, and adds `(field path, name)` of each to `from_vars`.
pub(crate) fn expand_map(
    map: &mut Map<String, Value>,
    opts: &LoadOptions<'_>,
    problems: &mut Vec<Problem>,
    from_vars: &mut Vec<(String, String)>,
    unknown: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut used = Vec::new();
    let mut path = String::new();
    let mut out = Out {
        opts,
        problems,
        used: &mut used,
        from_vars,
        unknown,
    };
    for (k, v) in map.iter_mut() {
        path.clear();
        path.push_str(k);
        expand_value(v, &mut path, &mut out);
    }
    used
}

/// What stands in a connector for a value whose variable is not set, where that makes the
/// value unknown (an environment planned against a snapshot): `written` is the text as the
/// file writes it.
pub fn unknown_text(written: &str) -> String {
    format!("(from {written}, known at apply)")
}

/// The places of `body` that hold an unknown value ([`unknown_text`] of the text `written`
/// has there): `(JSON Pointer, field path)` each.
pub(crate) fn unknown_places(written: &Value, body: &Value) -> Vec<(String, String)> {
    fn walk(w: &Value, b: &Value, pointer: String, field: String, out: &mut Vec<(String, String)>) {
        match (w, b) {
            (Value::String(w), Value::String(b)) if w.contains("${") && *b == unknown_text(w) => {
                out.push((pointer, field));
            }
            (Value::Array(w), Value::Array(b)) => {
                for (i, (w, b)) in w.iter().zip(b).enumerate() {
                    walk(w, b, format!("{pointer}/{i}"), format!("{field}[{i}]"), out);
                }
            }
            (Value::Object(w), Value::Object(b)) => {
                for (k, wv) in w {
                    if let Some(bv) = b.get(k) {
                        let seg = k.replace('~', "~0").replace('/', "~1");
                        let f = if field.is_empty() {
                            k.clone()
                        } else {
                            format!("{field}.{k}")
                        };
                        walk(wv, bv, format!("{pointer}/{seg}"), f, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(written, body, String::new(), String::new(), &mut out);
    out
}

/// Where [`expand_value`] writes what it finds.
struct Out<'o, 'a> {
    opts: &'o LoadOptions<'a>,
    problems: &'o mut Vec<Problem>,
    used: &'o mut Vec<(String, String)>,
    from_vars: &'o mut Vec<(String, String)>,
    /// The field paths of the strings made unknown (see [`LoadOptions::unknown_in`]).
    unknown: &'o mut Vec<String>,
}

/// Why a connector file may not use this variable, if it may not.
fn forbidden(var: &str, opts: &LoadOptions<'_>) -> Option<String> {
    if opts.credential_vars.iter().any(|c| c == var) {
        return Some(format!(
            "`{var}` holds a credential (skconn.yaml takes one from it): a connector file may not use it"
        ));
    }
    crate::output::secret::is_secret_name(var).then(|| {
        let end = crate::output::secret::SECRET_NAME_ENDINGS
            .iter()
            .find(|e| var.to_ascii_uppercase().ends_with(*e))
            .copied()
            .unwrap_or_default();
        format!(
            "`{var}` is named like a secret (it ends in `{end}`): a connector file may not use it"
        )
    })
}

fn expand_value(v: &mut Value, path: &mut String, out: &mut Out<'_, '_>) {
    let base = path.len();
    match v {
        Value::String(s) if s.contains('$') => {
            let refused: Vec<String> = expand_all(s, &|_| None)
                .named
                .iter()
                .filter_map(|var| forbidden(var, out.opts))
                .collect();
            if !refused.is_empty() {
                // Not expanded: the value of a secret never enters a connector.
                for message in refused {
                    out.problems.push(Problem::new(
                        path.as_str(),
                        At::Value,
                        message,
                        "a connector file is shown in plans and pull requests: take secrets only in skconn.yaml's credentials (a connector's own secrets are filled in by each user in Scalekit); rename the variable if it holds no secret",
                    ));
                }
                return;
            }
            let e = expand_all(s, out.opts.lookup);
            if !e.missing.is_empty() && super::tolerates_unknown(out.opts, path) {
                for (var, _) in &e.used {
                    out.from_vars.push((path.clone(), var.clone()));
                }
                out.used.extend(e.used);
                out.unknown.push(path.clone());
                *s = unknown_text(s);
                return;
            }
            for var in e.missing {
                out.problems.push(Problem::new(
                    path.as_str(),
                    At::Value,
                    format!("the environment variable `{var}` is not set (or is empty)"),
                    format!(
                        "set {var} before running skconn (in CI, from a secret); `${{{var}:-default}}` allows an empty or default value, `$${{` is a literal `${{`"
                    ),
                ));
            }
            for (var, _) in &e.used {
                out.from_vars.push((path.clone(), var.clone()));
            }
            out.used.extend(e.used);
            *s = e.value;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push('[');
                path.push_str(&i.to_string());
                path.push(']');
                expand_value(item, path, out);
                path.truncate(base);
            }
        }
        Value::Object(m) => {
            for (k, item) in m.iter_mut() {
                path.push('.');
                path.push_str(k);
                expand_value(item, path, out);
                path.truncate(base);
            }
        }
        _ => {}
    }
}

/// Rewrites every problem about a value that came from a variable not in `show_vars` so that
/// it says nothing about the value — not what is wrong with it, not its length, not a
/// suggestion derived from it: only the field and the variable. `from_vars` holds
/// `(field path, variable)` as [`expand_map`] found them.
/// Whether a problem is about a value that came from a variable whose values are masked.
pub(crate) fn is_masked_problem(
    p: &Problem,
    from_vars: &[(String, String)],
    show_vars: &[String],
) -> bool {
    let written_at = p
        .located_at
        .as_ref()
        .map_or(p.field.as_str(), |(f, _)| f.as_str());
    from_vars
        .iter()
        .any(|(path, var)| (path == written_at || *path == p.field) && !show_vars.contains(var))
}

pub(crate) fn mask_problems(
    problems: &mut [Problem],
    from_vars: &[(String, String)],
    show_vars: &[String],
) {
    for p in problems.iter_mut() {
        let written_at = p
            .located_at
            .as_ref()
            .map_or(p.field.as_str(), |(f, _)| f.as_str());
        let Some((_, var)) = from_vars.iter().find(|(path, var)| {
            (path == written_at || *path == p.field) && !show_vars.contains(var)
        }) else {
            continue;
        };
        let env = p
            .message
            .rfind(" (in environment ")
            .filter(|_| p.message.ends_with(')'))
            .map(|i| p.message[i..].to_string())
            .unwrap_or_default();
        p.message = format!(
            "the value from `{var}` is not valid here; it is masked, so what is wrong with it is not shown{env}"
        );
        p.help = format!(
            "check the value of {var} against what `{}` takes (`skconn schema` describes it), or list {var} in `show_vars` of skconn.yaml if it is not secret",
            p.field
        );
        p.quote_hint = false;
    }
}

/// Takes `skconn.overrides` out of the base: the overrides that are maps, by environment.
pub(crate) fn take_overrides(map: &mut Map<String, Value>) -> Vec<(String, Map<String, Value>)> {
    let Some(Value::Object(skconn)) = map.get_mut(crate::vocabulary::connector::SKCONN_KEY) else {
        return Vec::new();
    };
    let Some(Value::Object(o)) = skconn.shift_remove(OVERRIDES_KEY) else {
        return Vec::new();
    };
    o.into_iter()
        .filter_map(|(env, v)| match v {
            Value::Object(m) => Some((env, m)),
            _ => None,
        })
        .collect()
}

/// The path of the override of `env` for a field path of the merged connector.
pub(crate) fn override_path(env: &str, field: &str) -> String {
    let mut p = format!(
        "{}.{OVERRIDES_KEY}.{env}",
        crate::vocabulary::connector::SKCONN_KEY
    );
    if !field.is_empty() {
        p.push('.');
        p.push_str(field);
    }
    p
}

/// Where a problem of the merged connector of `env` is written: at the override when the value
/// (or the removal) came from it, else at the base. Returns `None` for the base.
pub(crate) fn locate_in_override(
    partial: &Value,
    base: &Value,
    env: &str,
    field: &str,
    at: At,
) -> Option<(String, At)> {
    if field.is_empty() {
        return None;
    }
    if let Some(exact) = from_override(partial, field) {
        // A required key removed with `null`: point at the `null`.
        let at = if at == At::Parent && exact {
            At::Key
        } else {
            at
        };
        return Some((override_path(env, field), at));
    }
    if at == At::Parent {
        // A key missing from a map that only the override writes.
        let parent = crate::yaml::index::parent(field)?;
        if !parent.is_empty()
            && from_override(partial, parent).is_some()
            && get(base, parent).is_none()
        {
            return Some((override_path(env, field), at));
        }
    }
    None
}

/// Whether the merged value at `path` came from the override: `Some(true)` when the override
/// writes exactly that path, `Some(false)` when it writes an ancestor that is not a map (which
/// replaces the base's whole subtree), `None` when the value comes from the base.
fn from_override(partial: &Value, path: &str) -> Option<bool> {
    let mut cur = partial;
    for seg in segments(path) {
        match (cur, seg) {
            (Value::Object(m), Seg::Key(k)) => cur = m.get(k)?,
            // A map in the override is merged into the base's map: it cannot hold a list item.
            (Value::Object(_), Seg::Index(_)) => return None,
            // A list or a scalar replaces the base's value whole.
            _ => return Some(false),
        }
    }
    Some(true)
}

fn get<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    for seg in segments(path) {
        cur = match (cur, seg) {
            (Value::Object(m), Seg::Key(k)) => m.get(k)?,
            (Value::Array(a), Seg::Index(i)) => a.get(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[derive(Debug, PartialEq)]
enum Seg<'p> {
    Key(&'p str),
    Index(usize),
}

/// The steps of a field path: `a.b[2].c` → `a`, `b`, `[2]`, `c`.
fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            match r[..end].parse() {
                Ok(i) => out.push(Seg::Index(i)),
                Err(_) => out.push(Seg::Key(&r[..end])),
            }
            rest = &r[end + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            segments("a.b[2][0].c"),
            [
                Seg::Key("a"),
                Seg::Key("b"),
                Seg::Index(2),
                Seg::Index(0),
                Seg::Key("c")
            ]
        );
        assert!(segments("").is_empty());
    }

    #[test]
    fn values_are_located_where_they_were_written() {
        let base = json!({"proxy_url": "https://a", "auth_patterns": [{"type": "BEARER"}],
            "metadata": {"team": "x"}});
        let partial = json!({"auth_patterns": [{"type": "NOPE"}], "metadata": {"owner": "y"},
            "proxy_url": null});
        let at = |field: &str, at: At| locate_in_override(&partial, &base, "prod", field, at);
        assert_eq!(
            at("auth_patterns[0].type", At::Value),
            Some((
                "skconn.overrides.prod.auth_patterns[0].type".into(),
                At::Value
            ))
        );
        assert_eq!(
            at("proxy_url", At::Parent),
            Some(("skconn.overrides.prod.proxy_url".into(), At::Key))
        );
        assert_eq!(at("metadata.team", At::Key), None);
        assert!(at("metadata.owner", At::Key).is_some());
        assert_eq!(at("display_name", At::Parent), None);
    }

    #[test]
    fn masking_covers_shortened_values() {
        use crate::output::secret::{redact, register};
        register("s3cr3t-value-0123456789");
        assert_eq!(redact("a s3cr3t-value-0123456789 b"), "a *** b");
        assert_eq!(redact("`https://x/s3cr3t-val…`"), "`https://x/***…`");
        assert_eq!(redact("plain … text"), "plain … text");
    }
}
