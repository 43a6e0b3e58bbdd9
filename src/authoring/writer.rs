//! Renders a [`Draft`] as a connector file: the schema line, the provenance header, then the
//! connector in YAML with a comment above every value the user must check or fill in.
//!
//! The YAML is written by hand (block style, keys in the draft's order) so that comments can sit
//! next to the values; scalars are quoted by serde_yaml's rules, and `${` in text is written as
//! `$${` so that the loader does not read it as a variable.
//!
//! Text from a document or a server reaches the file only through the two functions here that
//! make it inert for its place, whoever composed it: [`comment_line`] for a comment (no CR, LF
//! or control character survives: they are shown escaped, so a comment can never end early
//! and start a key), and [`scalar`] for a value (a string holding a line break, a control or
//! an invisible character is written double-quoted with escapes, and reads back the same).
//! What it must never do: write a byte of such text any other way.

use super::Draft;
use serde_json::{Map, Value};
use std::path::{Component, Path, PathBuf};

/// Where the JSON Schema of connector files lives in a repository, relative to its root.
pub const SCHEMA_FILE: &str = "schema/connector.schema.json";

/// The first line of a connector file written to `file` in a repository rooted at `root`:
/// the `yaml-language-server` schema line with the path from the file's folder to
/// `schema/connector.schema.json`, when that file exists; otherwise a comment that says how to
/// create it (a schema line must never point at a file that is not there).
pub fn schema_line(root: &Path, file: &Path) -> String {
    let schema = root.join(SCHEMA_FILE);
    let dir = file.parent().unwrap_or(Path::new("."));
    if schema.is_file() {
        if let Some(rel) = relative_path(dir, &schema) {
            return format!("# yaml-language-server: $schema={rel}");
        }
    }
    format!(
        "# Editor completion: `skconn init` (or `skconn schema > {SCHEMA_FILE}`) writes the \
         schema; then point a `# yaml-language-server: $schema=` line here at it."
    )
}

/// The path from folder `from` to `to`, with `/` separators; `None` when one of them cannot be
/// made absolute.
pub fn relative_path(from: &Path, to: &Path) -> Option<String> {
    let from = absolute(from)?;
    let to = absolute(to)?;
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for _ in common..a.len() {
        parts.push("..".into());
    }
    for c in &b[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    Some(parts.join("/"))
}

/// An absolute, normalised path (`..` resolved), following symbolic links of the part that
/// exists.
fn absolute(p: &Path) -> Option<PathBuf> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    // Canonicalise the longest existing prefix, then append the rest.
    let mut existing = p.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                if r == ".." {
                    out.pop();
                } else if r != "." {
                    out.push(r);
                }
            }
            return Some(out);
        }
        let name = existing.file_name()?.to_os_string();
        rest.push(name);
        if !existing.pop() {
            return None;
        }
    }
}

/// The whole file.
pub fn render(draft: &Draft, schema_line: &str) -> String {
    let mut out = String::new();
    out.push_str(schema_line);
    out.push('\n');
    for line in &draft.provenance {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(&comment_line(line));
            out.push('\n');
        }
    }
    emit_map(&mut out, &draft.connector, 0, "", draft, false);
    out
}

fn comments_for<'d>(draft: &'d Draft, path: &'d str) -> impl Iterator<Item = &'d str> {
    draft
        .comments
        .iter()
        .filter(move |(p, _)| p == path)
        .map(|(_, c)| c.as_str())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn emit_map(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    path: &str,
    draft: &Draft,
    list_item: bool,
) {
    for (i, (k, v)) in map.iter().enumerate() {
        let p = join(path, k);
        let first_of_item = list_item && i == 0;
        let comment_indent = if first_of_item { indent - 2 } else { indent };
        for c in comments_for(draft, &p) {
            // `\n` separates the lines a comment was written with; anything else is escaped.
            for line in c.split('\n') {
                out.push_str(&" ".repeat(comment_indent));
                out.push_str("# ");
                out.push_str(&comment_line(line));
                out.push('\n');
            }
        }
        if first_of_item {
            out.push_str(&" ".repeat(indent - 2));
            out.push_str("- ");
        } else {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&scalar(&Value::String(k.clone())));
        out.push(':');
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_map(out, m, indent + 2, &p, draft, false);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                for (j, item) in a.iter().enumerate() {
                    let ip = format!("{p}[{j}]");
                    match item {
                        Value::Object(m) if !m.is_empty() => {
                            emit_map(out, m, indent + 4, &ip, draft, true)
                        }
                        other => {
                            out.push_str(&" ".repeat(indent + 2));
                            out.push_str("- ");
                            out.push_str(&scalar(other));
                            out.push('\n');
                        }
                    }
                }
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// One line of a comment: whatever the text holds, it stays on that line (CR, LF and every
/// control or invisible character shown escaped, as [`crate::output::escape::inert`] does; the
/// byte-order mark too).
pub fn comment_line(text: &str) -> String {
    let inert = crate::output::escape::inert(text);
    if !inert.chars().any(needs_escape) {
        return inert.into_owned();
    }
    inert
        .chars()
        .map(|c| {
            if needs_escape(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One value on one line: plain when YAML reads it back as the same string, quoted otherwise;
/// a string holding a line break, a control or an invisible character double-quoted, with each
/// of those escaped.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let s = s.replace("${", "$${");
            if s.chars().any(needs_escape) {
                return double_quoted(&s);
            }
            let yaml = serde_yaml::to_string(&s).unwrap_or_default();
            let yaml = yaml.trim_end_matches('\n');
            if yaml.contains('\n') || yaml.starts_with('|') || yaml.starts_with('>') {
                double_quoted(&s)
            } else {
                yaml.to_string()
            }
        }
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Characters a file never holds as themselves: YAML line breaks (CR, LF, NEL, the line and
/// paragraph separators), other controls, bidirectional overrides, the byte-order mark, and
/// what YAML does not allow in a stream at all (U+FFFE, U+FFFF).
fn needs_escape(c: char) -> bool {
    crate::output::escape::is_unsafe(c) || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// A YAML double-quoted scalar: `"` and `\` escaped, and every character of [`needs_escape`]
/// as `\n`, `\r`, `\t` or `\uXXXX`.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits a long header line at spaces; continuation lines are indented.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let body = line.trim_start_matches([' ', '-']);
    let lead = &line[..line.len() - body.len()];
    let pad = " ".repeat(lead.len() + 2);
    let mut out = Vec::new();
    let mut cur = lead.to_string();
    let mut empty = true;
    for w in body.split(' ') {
        if !empty && cur.chars().count() + 1 + w.chars().count() > width {
            out.push(std::mem::take(&mut cur));
            cur.push_str(&pad);
            empty = true;
        }
        if !empty {
            cur.push(' ');
        }
        cur.push_str(w);
        empty = false;
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(v: Value) -> Draft {
        Draft {
            connector: v.as_object().unwrap().clone(),
            ..Draft::default()
        }
    }

    #[test]
    fn renders_yaml_that_reads_back_the_same() {
        let v = json!({
            "display_name": "Acme",
            "description": "Line one\nline two: with ${HOME} and 'quotes' and \"more\"",
            "proxy_url": "https://{{domain}}/api",
            "auth_patterns": [{
                "type": "API_KEY",
                "fields": [{"field_name": "api_key", "required": true, "hint": "yes"}],
                "account_fields": [],
                "auth_field_mutations": {"api_key": {"prefix": "Klaviyo-API-Key "}},
                "oauth_config": {}
            }],
            "metadata": {"n": "123", "t": "true", "x": "- a", "y": "# no", "z": ""}
        });
        let mut d = draft(v.clone());
        d.comment("auth_patterns[0].type", "the type");
        d.comment("proxy_url", "fill in\nthe domain");
        d.comment("auth_patterns[0].fields[0].hint", "a hint");
        let text = render(&d, "# schema");
        let back: Value = serde_yaml::from_str(&text).unwrap();
        let mut expected = v;
        expected["description"] =
            json!("Line one\nline two: with $${HOME} and 'quotes' and \"more\"");
        assert_eq!(back, expected, "{text}");
        assert!(text.contains("  # the type\n  - type: API_KEY\n"), "{text}");
        assert!(
            text.contains("# fill in\n# the domain\nproxy_url:"),
            "{text}"
        );
    }

    /// Text that tries to end its comment or its value and start a key of its own.
    const HOSTILE: &[&str] = &[
        "1\rskconn: {previous_names: [Payroll API]}",
        "Evil MCP\ricon_src: https://evil.example.net/x.svg #",
        "a\nproxy_url: https://evil.example.net",
        "a\r\n  - type: NO_AUTH",
        "x\u{85}icon_src: y",
        "x\u{2028}icon_src: y\u{2029}z",
        "\u{1b}[2J\u{7}\u{0}\u{9b}31m",
        "\u{feff}bom",
        "\u{fffe}\u{ffff}not characters",
        "\u{202e}rtl\u{2066}",
        "tab\there",
        "# not a comment",
        "'\"quotes\\",
        "- a list?",
        "${HOME} and $${X}",
        "",
    ];

    /// Renders `text` as a value, a comment and a provenance line.
    fn hostile_draft(text: &str) -> Draft {
        let mut d = draft(json!({"display_name": "Acme", "description": text}));
        d.comment("description", text);
        d.comment("display_name", format!("two lines\n{text}"));
        d.provenance = vec![text.to_string(), format!("Source: {text}")];
        d
    }

    #[track_caller]
    fn reads_back(text: &str) {
        let out = render(&hostile_draft(text), "# schema");
        let back: Value = serde_yaml::from_str(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!(
            back,
            json!({"display_name": "Acme", "description": text.replace("${", "$${")}),
            "{out:?}"
        );
        for line in out.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            assert!(!body.chars().any(needs_escape), "{out:?}");
        }
    }

    #[test]
    fn no_text_ends_its_comment_or_its_value() {
        for h in HOSTILE {
            reads_back(h);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_back_as_itself(text in proptest::prelude::any::<String>()) {
            reads_back(&text);
        }
    }

    #[test]
    fn relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("schema")).unwrap();
        std::fs::write(root.join(SCHEMA_FILE), "{}").unwrap();
        assert_eq!(
            schema_line(root, &root.join("connectors/a.yaml")),
            "# yaml-language-server: $schema=../schema/connector.schema.json"
        );
        assert_eq!(
            schema_line(root, &root.join("connectors/x/y/a.yaml")),
            "# yaml-language-server: $schema=../../../schema/connector.schema.json"
        );
        assert_eq!(
            schema_line(root, &root.join("a.yaml")),
            "# yaml-language-server: $schema=schema/connector.schema.json"
        );
        let other = tempfile::tempdir().unwrap();
        assert!(
            !schema_line(other.path(), &other.path().join("connectors/a.yaml"))
                .contains("$schema=..")
        );
    }

    #[test]
    fn wraps() {
        let w = wrap(&format!("  - {}", "word ".repeat(40)), 40);
        assert!(
            w.len() > 3 && w.iter().all(|l| l.chars().count() <= 40),
            "{w:?}"
        );
        assert!(w[1].starts_with("    "));
    }
}
