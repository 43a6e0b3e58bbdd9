//! Reading the parts of an OpenAPI or Swagger document that derivation uses, and only those.
//!
//! JSON goes to serde_json, streaming into the typed structs of `openapi`; what they do not
//! name is skipped unread. YAML goes through yaml-rust2's event parser, pulled one event at a
//! time: the caller's selection ([`Want`] for each path) says which subtrees to build; the rest
//! pass by as events and are never built, so memory follows the parts read, not the document.
//!
//! Both stay linear in the document's size whatever its shape: nesting deeper than
//! [`MAX_DEPTH`] levels is refused where it starts (serde_json's own limit, which also bounds
//! the scanner's work per token in flow collections), the values built, aliases expanded
//! included, are counted against [`MAX_VALUES`], and a flow collection that the scanner would
//! have to hold whole is refused past [`MAX_KEY_POSITION_FLOW`] bytes.
//!
//! What it must never do: build a value of the whole document, follow a `$ref`, or read a
//! file or the network (it gets bytes).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// How deep collections may nest in a document: serde_json's limit, for YAML too.
pub const MAX_DEPTH: usize = 128;

/// How many values the parts read may hold, aliases expanded included: far more than any real
/// description's security schemes, servers and parameters.
pub const MAX_VALUES: usize = 1_000_000;

/// What the selection wants of the node at a path (keys, and `[]` for a sequence's items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Not read.
    Skip,
    /// Read: its children are selected by their own paths.
    Walk,
    /// Read whole.
    Keep,
}

/// Why a document could not be read, with the place when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl ReadError {
    fn at(mark: Marker, message: impl Into<String>) -> ReadError {
        ReadError {
            at: Some((mark.line(), mark.col() + 1)),
            message: message.into(),
        }
    }

    fn too_deep(at: Option<(usize, usize)>) -> ReadError {
        ReadError {
            at,
            message: format!(
                "the document is nested more than {MAX_DEPTH} levels deep here; skconn reads documents nested up to {MAX_DEPTH} levels (a real description needs far fewer)"
            ),
        }
    }
}

/// Reads a document: JSON when it starts with `{`, YAML otherwise (a byte-order mark first is
/// allowed). `select` is the YAML selection; for JSON, `T` itself selects.
pub fn read<T: DeserializeOwned>(
    bytes: &[u8],
    select: impl Fn(&[&str]) -> Want,
) -> Result<T, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if start == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| {
            let at = Some((e.line(), e.column()));
            if e.to_string().starts_with("recursion limit exceeded") {
                ReadError::too_deep(at)
            } else {
                ReadError {
                    at,
                    message: format!("not valid JSON: {e}"),
                }
            }
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| ReadError {
        at: None,
        message: format!("not UTF-8 text: {e}"),
    })?;
    let value = read_yaml(text, &select)?;
    serde_json::from_value(value).map_err(|e| ReadError {
        at: None,
        message: format!("not an OpenAPI or Swagger document skconn can read: {e}"),
    })
}

/// The parts of a YAML text that `select` wants, as JSON values: a mapping's keys as text;
/// `null`, `~` and the empty plain scalar as null, `true`/`false` as booleans, every other
/// scalar as the text written (so `1.10` stays `1.10`).
pub fn read_yaml(text: &str, select: &dyn Fn(&[&str]) -> Want) -> Result<Value, ReadError> {
    lookahead_guard(text)?;
    let mut r = Reader {
        parser: Parser::new_from_str(text),
        select,
        path: Vec::new(),
        anchors: HashMap::new(),
        values: 0,
    };
    let mut doc = Value::Null;
    let mut documents = 0;
    loop {
        let (ev, mark) = r.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(ReadError::at(
                        mark,
                        "the text holds more than one YAML document (`---`); an OpenAPI document is one",
                    ));
                }
            }
            ev => doc = r.node(ev, mark, Want::Walk, 0)?.unwrap_or(Value::Null),
        }
    }
    Ok(doc)
}

/// How deep flow collections may nest in a YAML document (see [`lookahead_guard`]).
pub const MAX_FLOW_DEPTH: usize = 64;

/// The longest flow collection skconn reads where it could be an implicit key (see
/// [`lookahead_guard`]).
pub const MAX_KEY_POSITION_FLOW: usize = 1 << 20;

/// Refuses a flow collection that opens where an implicit key may start — at the start of a
/// line, after `- ` or `? `, or inside a flow collection after `[`, `{` or `,` — and runs on for
/// more than [`MAX_KEY_POSITION_FLOW`] bytes. yaml-rust2 decides whether such a collection is a
/// key only at its end (it never lets the question lapse inside flow collections, as YAML's
/// 1024-character limit on implicit keys would), holding every token until then: about 70 bytes
/// of memory per byte of text. Below the limit that stays small; a real document never comes
/// near it. The scan is linear and skips comments, quoted and block scalars.
///
/// It also refuses flow collections nested more than [`MAX_FLOW_DEPTH`] levels: yaml-rust2's
/// work per token grows with the flow depth it is in.
fn lookahead_guard(text: &str) -> Result<(), ReadError> {
    let b = text.as_bytes();
    let n = b.len();
    let at = |i: usize| {
        let line = b[..i].iter().filter(|&&c| c == b'\n').count() + 1;
        let col = i - b[..i]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
            + 1;
        Some((line, col))
    };
    let too_long = |open: usize| {
        ReadError {
            at: at(open),
            message: format!(
                "a flow collection (`[…]` or `{{…}}`) that could be a key runs on for more than {} MiB here; skconn reads such collections up to that size: write it in block style, or the document as JSON",
                MAX_KEY_POSITION_FLOW >> 20
            ),
        }
    };
    let blank = |c: u8| c == b' ' || c == b'\t' || c == b'\r' || c == b'\n';
    // Skips a quoted scalar that starts at `i`; returns the index after it.
    let quoted = |i: usize| -> usize {
        let q = b[i];
        let mut j = i + 1;
        while j < n {
            match b[j] {
                b'\\' if q == b'"' => j += 2,
                c if c == q => {
                    if q == b'\'' && b.get(j + 1) == Some(&b'\'') {
                        j += 2;
                    } else {
                        return j + 1;
                    }
                }
                _ => j += 1,
            }
        }
        n
    };
    // The flow collections open: where each opened, and whether at a key position.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut i = 0;
    // Block context: `key_start` is true where an implicit key may start.
    let mut key_start = true;
    let mut line_indent = 0usize;
    let mut block_scalar: Option<usize> = None;
    let mut prev = b'[';
    while i < n {
        let c = b[i];
        if stack.is_empty() {
            if c == b'\n' {
                i += 1;
                // A new line: its indentation, and whether a block scalar goes on.
                let start = i;
                while i < n && b[i] == b' ' {
                    i += 1;
                }
                line_indent = i - start;
                if let Some(parent) = block_scalar {
                    let blank_line = i >= n || b[i] == b'\n' || b[i] == b'\r';
                    if blank_line || line_indent > parent {
                        while i < n && b[i] != b'\n' {
                            i += 1;
                        }
                        continue;
                    }
                    block_scalar = None;
                }
                key_start = true;
                continue;
            }
            if c == b' ' || c == b'\t' {
                i += 1;
                continue;
            }
            if c == b'#' && (i == 0 || blank(b[i - 1])) {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            match c {
                b'[' | b'{' => {
                    stack.push((i, key_start));
                    prev = c;
                    i += 1;
                }
                b'"' | b'\'' => {
                    i = quoted(i);
                    key_start = false;
                }
                b'|' | b'>' if !key_start => {
                    block_scalar = Some(line_indent);
                    while i < n && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'-' | b'?' if b.get(i + 1).is_none_or(|&d| blank(d)) => {
                    key_start = true;
                    i += 1;
                }
                b':' if b.get(i + 1).is_none_or(|&d| blank(d)) => {
                    // A value: a flow collection here is not a key.
                    key_start = false;
                    i += 1;
                    while i < n && (b[i] == b' ' || b[i] == b'\t') {
                        i += 1;
                    }
                    match b.get(i) {
                        Some(b'[' | b'{') => {
                            stack.push((i, false));
                            prev = b[i];
                            i += 1;
                        }
                        Some(b'|' | b'>') => {
                            block_scalar = Some(line_indent);
                            while i < n && b[i] != b'\n' {
                                i += 1;
                            }
                        }
                        _ => {}
                    }
                }
                _ => {
                    // A plain scalar (or a key): to the next `: `, ` #` or the end of the line.
                    key_start = false;
                    while i < n && b[i] != b'\n' {
                        if b[i] == b':' && b.get(i + 1).is_none_or(|&d| blank(d)) {
                            break;
                        }
                        if b[i] == b'#' && blank(b[i - 1]) {
                            break;
                        }
                        i += 1;
                    }
                }
            }
            continue;
        }
        // Flow context.
        match c {
            b'[' | b'{' => {
                if stack.len() >= MAX_FLOW_DEPTH {
                    return Err(ReadError {
                        at: at(i),
                        message: format!(
                            "the document nests flow collections (`[…]`, `{{…}}`) more than {MAX_FLOW_DEPTH} levels deep here; skconn reads them nested up to {MAX_FLOW_DEPTH} levels (block style, up to {MAX_DEPTH})"
                        ),
                    });
                }
                stack.push((i, matches!(prev, b'[' | b'{' | b',' | b'?')));
                prev = c;
                i += 1;
            }
            b']' | b'}' => {
                if let Some((open, key)) = stack.pop() {
                    if key && i - open > MAX_KEY_POSITION_FLOW {
                        return Err(too_long(open));
                    }
                }
                prev = c;
                i += 1;
                if stack.is_empty() {
                    key_start = false;
                }
            }
            b',' | b':' => {
                prev = c;
                i += 1;
            }
            b'?' if b.get(i + 1).is_none_or(|&d| blank(d)) => {
                prev = c;
                i += 1;
            }
            b'#' if blank(b[i - 1]) => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                i = quoted(i);
                prev = b'"';
            }
            b'&' | b'!' => {
                // An anchor or a tag: the node it belongs to comes next, in the same position.
                while i < n && !blank(b[i]) && !matches!(b[i], b',' | b'[' | b']' | b'{' | b'}') {
                    i += 1;
                }
            }
            c if blank(c) => i += 1,
            _ => {
                // A plain scalar: to a flow indicator, `: ` or ` #`.
                while i < n && !matches!(b[i], b',' | b'[' | b']' | b'{' | b'}') {
                    if b[i] == b':' && b.get(i + 1).is_none_or(|&d| blank(d) || d == b',') {
                        break;
                    }
                    if b[i] == b'#' && blank(b[i - 1]) {
                        break;
                    }
                    i += 1;
                }
                prev = b'a';
            }
        }
    }
    // A collection never closed: the reader would hold all the rest.
    match stack
        .iter()
        .find(|(o, k)| *k && n - *o > MAX_KEY_POSITION_FLOW)
    {
        Some(&(open, _)) => Err(too_long(open)),
        None => Ok(()),
    }
}

struct Reader<'t, 's> {
    parser: Parser<std::str::Chars<'t>>,
    select: &'s dyn Fn(&[&str]) -> Want,
    /// Where the reader is, in the parts it reads.
    path: Vec<String>,
    /// Anchored nodes, built wherever they are so that an alias in a part read resolves.
    anchors: HashMap<usize, Value>,
    values: usize,
}

impl Reader<'_, '_> {
    fn next(&mut self) -> Result<(Event, Marker), ReadError> {
        self.parser.next_token().map_err(|e| {
            let at = Some((e.marker().line(), e.marker().col() + 1));
            // yaml-rust2 stops flow collections nested past its own limit.
            if e.info().contains("recursion limit") {
                ReadError::too_deep(at)
            } else {
                ReadError {
                    at,
                    message: format!("not valid YAML: {}", e.info()),
                }
            }
        })
    }

    fn want(&self, child: &str, want: Want) -> Want {
        match want {
            Want::Skip | Want::Keep => want,
            Want::Walk => {
                let mut p: Vec<&str> = self.path.iter().map(String::as_str).collect();
                p.push(child);
                (self.select)(&p)
            }
        }
    }

    fn count(&mut self, n: usize, mark: Marker) -> Result<(), ReadError> {
        self.values += n;
        if self.values > MAX_VALUES {
            return Err(ReadError::at(
                mark,
                format!(
                    "the parts of the document skconn reads hold more than {MAX_VALUES} values (aliases expanded)"
                ),
            ));
        }
        Ok(())
    }

    /// The node that starts with `ev`: built when `want` is not `Skip` (or it is anchored),
    /// otherwise read past.
    fn node(
        &mut self,
        ev: Event,
        mark: Marker,
        want: Want,
        depth: usize,
    ) -> Result<Option<Value>, ReadError> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if want == Want::Skip && anchor == 0 {
                    return Ok(None);
                }
                self.count(1, mark)?;
                let v = scalar(text, style, tag.as_ref());
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                Ok((want != Want::Skip).then_some(v))
            }
            Event::Alias(id) => {
                if want == Want::Skip {
                    return Ok(None);
                }
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.count(size(&v), mark)?;
                Ok(Some(v))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(ReadError::too_deep(Some((mark.line(), mark.col() + 1))));
                }
                let mapping = matches!(ev, Event::MappingStart(..));
                // An anchored node is built whole: an alias may name it from a part read.
                let want = if anchor != 0 && want == Want::Skip {
                    Want::Keep
                } else {
                    want
                };
                let v = if mapping {
                    self.mapping(want, depth + 1)?
                } else {
                    self.sequence(want, depth + 1)?
                };
                if let Some(v) = &v {
                    self.count(1, mark)?;
                    if anchor != 0 {
                        self.anchors.insert(anchor, v.clone());
                    }
                }
                Ok(v)
            }
            // Ends and stream events never start a node.
            _ => Ok(None),
        }
    }

    fn sequence(&mut self, want: Want, depth: usize) -> Result<Option<Value>, ReadError> {
        let child = self.want("[]", want);
        let mut items = Vec::new();
        loop {
            let (ev, mark) = self.next()?;
            if ev == Event::SequenceEnd {
                break;
            }
            self.path.push("[]".into());
            let item = self.node(ev, mark, child, depth);
            self.path.pop();
            if let Some(v) = item? {
                items.push(v);
            }
        }
        Ok((want != Want::Skip).then_some(Value::Array(items)))
    }

    fn mapping(&mut self, want: Want, depth: usize) -> Result<Option<Value>, ReadError> {
        let mut map = Map::new();
        loop {
            let (ev, mark) = self.next()?;
            if ev == Event::MappingEnd {
                break;
            }
            if want == Want::Skip {
                self.node(ev, mark, Want::Skip, depth)?;
                let (ev, mark) = self.next()?;
                self.node(ev, mark, Want::Skip, depth)?;
                continue;
            }
            let key = match ev {
                Event::Scalar(text, ..) => text,
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Bool(b)) => b.to_string(),
                    Some(Value::Null) => String::new(),
                    _ => return Err(ReadError::at(mark, "a key that is not text")),
                },
                _ => return Err(ReadError::at(mark, "a key that is not text")),
            };
            if map.contains_key(&key) {
                return Err(ReadError::at(
                    mark,
                    format!("the key `{key}` appears twice in one mapping"),
                ));
            }
            let child = self.want(&key, want);
            let (ev, vmark) = self.next()?;
            self.path.push(key.clone());
            let v = self.node(ev, vmark, child, depth);
            self.path.pop();
            if let Some(v) = v? {
                map.insert(key, v);
            }
        }
        Ok((want != Want::Skip).then_some(Value::Object(map)))
    }
}

/// A scalar as JSON: quoted and tagged-as-text scalars are text; plain ones are null, a boolean
/// or the text written.
fn scalar(text: String, style: TScalarStyle, tag: Option<&yaml_rust2::parser::Tag>) -> Value {
    let core = tag.filter(|t| t.handle == "tag:yaml.org,2002:");
    if style != TScalarStyle::Plain || core.is_some_and(|t| t.suffix == "str") {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::String(text),
    }
}

/// How many values `v` holds.
fn size(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(size).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn only_info(p: &[&str]) -> Want {
        match p {
            [] => Want::Walk,
            ["info"] => Want::Walk,
            ["info", "title" | "version"] => Want::Keep,
            ["list"] => Want::Walk,
            ["list", "[]"] => Want::Walk,
            ["list", "[]", "name"] => Want::Keep,
            _ => Want::Skip,
        }
    }

    #[test]
    fn reads_only_what_is_selected() {
        let text = "info:\n  title: Acme\n  version: 1.10\n  other: [1, 2]\nlist:\n  - {name: a, x: 1}\n  - name: ~\nskipped: {deep: [[[1]]]}\n";
        assert_eq!(
            read_yaml(text, &only_info).unwrap(),
            json!({"info": {"title": "Acme", "version": "1.10"},
                   "list": [{"name": "a"}, {"name": null}]})
        );
    }

    #[test]
    fn anchors_resolve_anywhere_and_count() {
        let text = "skipped: &t Acme\ninfo:\n  title: *t\n";
        assert_eq!(
            read_yaml(text, &only_info).unwrap(),
            json!({"info": {"title": "Acme"}})
        );
        // A billion laughs in a part read stops at the budget.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        bomb.push_str("info:\n  title: *a9\n");
        let e = read_yaml(&bomb, &only_info).unwrap_err();
        assert!(e.message.contains("more than 1000000 values"), "{e:?}");
    }

    #[test]
    fn nesting_is_bounded_where_it_starts() {
        let deep = format!("x: {}{}\n", "[".repeat(200), "]".repeat(200));
        let e = read_yaml(&deep, &only_info).unwrap_err();
        assert!(e.message.contains("more than 64 levels"), "{e:?}");
        assert_eq!(e.at, Some((1, 4 + 64)));
        let ok = format!("x: {}{}\n", "[".repeat(64), "]".repeat(64));
        assert!(read_yaml(&ok, &only_info).is_ok());
        let e = read_yaml(&format!("x: {}", "[".repeat(100_000)), &only_info).unwrap_err();
        assert!(e.message.contains("more than 64 levels"), "{e:?}");
        // Block nesting: the document's own mapping is the first of 128 levels.
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&format!("{}a:\n", "  ".repeat(i)));
        }
        let e = read_yaml(&block, &only_info).unwrap_err();
        assert!(e.message.contains("more than 128 levels"), "{e:?}");
        assert_eq!(e.at.map(|a| a.0), Some(129));
    }

    #[test]
    fn flow_collections_that_could_be_keys_are_bounded() {
        let big = ", 0".repeat(MAX_KEY_POSITION_FLOW / 3 + 10);
        for (text, refused) in [
            (format!("x: [[0{big}]]\n"), Some((1, 5))),
            (format!("x:\n  - [0{big}]\n"), Some((2, 5))),
            (format!("x:\n  [0{big}]\n"), Some((2, 3))),
            (
                format!("x: [{{a: 0{}}}]\n", big.replace(", 0", ", k: 0")),
                Some((1, 5)),
            ),
            // A value is never a key: read.
            (format!("x: [0{big}]\n"), None),
            (format!("x: {{a: [0{big}]}}\n"), None),
            // Brackets in quoted and block scalars and in comments are text.
            (format!("x: \"[[{big}\"\ny: 1\n"), None),
            (format!("x: |\n  [[{big}\n# [[{big}\ny: '[[{big}'\n"), None),
        ] {
            let e = lookahead_guard(&text).err();
            assert_eq!(e.as_ref().and_then(|e| e.at), refused, "{}", &text[..30]);
        }
    }

    #[test]
    fn duplicate_keys_and_documents_in_parts_read() {
        let e = read_yaml("info:\n  title: a\n  title: b\n", &only_info).unwrap_err();
        assert_eq!(e.at, Some((3, 3)));
        assert!(read_yaml("skipped: {a: 1, a: 2}\n", &only_info).is_ok());
        let e = read_yaml("info: {}\n---\ninfo: {}\n", &only_info).unwrap_err();
        assert!(e.message.contains("more than one YAML document"), "{e:?}");
    }
}
