//! Where things are in a YAML text: a map from field path to the line and column of the key and
//! of the value, built from yaml-rust2's marked event stream.
//!
//! serde_yaml gives the values but not their positions; this index supplies the positions. It
//! is built only for files that have something to report, so a valid file is parsed once.
//! Paths use the same spelling as diagnostics: `auth_patterns[0].oauth_config.token_uri`; the
//! root is the empty path. Aliases are not expanded here (an alias is one node at the place it
//! is written), so a hostile file cannot make the index large.
//!
//! The index also records what serde_yaml reports without a precise place: the position of
//! every duplicate key and the start of every document.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A place in the text: 1-based line and column (columns count characters), and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
    offset: usize,
}

impl Pos {
    fn from_marker(m: Marker) -> Pos {
        Pos {
            line: m.line(),
            // yaml-rust2 counts columns from 0.
            column: m.col() + 1,
            offset: m.index(),
        }
    }
}

/// The positions of one node: its key (when it is a map entry) and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// A key written twice in the same map.
#[derive(Debug, Clone)]
pub(crate) struct Duplicate {
    pub path: String,
    pub first: Pos,
    pub second: Pos,
}

/// Positions of the nodes of a YAML text, by path.
#[derive(Debug, Default)]
pub(crate) struct Index {
    nodes: HashMap<String, Node>,
    /// Duplicate keys, outermost only (the contents of a duplicated map are not repeated).
    pub duplicates: Vec<Duplicate>,
    /// Where each document starts.
    pub documents: Vec<Pos>,
    /// The text of each plain scalar value as written (`1.10`, `0x1F`), by path.
    raws: HashMap<String, String>,
    /// The text of each key YAML reads as a number, boolean or null, as written, by path (the
    /// path names the key as the loader does: `1.10` is `1.1`).
    raw_keys: HashMap<String, String>,
}

impl Index {
    /// Indexes `text`. A syntax error stops the index where it happened; what was seen before
    /// is kept (serde_yaml reports the error itself).
    pub fn build(text: &str) -> Index {
        let mut b = Builder::default();
        // The pull interface, not `Parser::load`: `load` recurses once per nesting level.
        let mut parser = Parser::new_from_str(text);
        while let Ok((ev, mark)) = parser.next_token() {
            if ev == Event::StreamEnd {
                break;
            }
            b.on_event(ev, mark);
        }
        let mut index = b.index;
        // Keep only outermost duplicates: a duplicate inside another duplicate's value says
        // nothing new. Linear: each path's ancestors (at most MAX_DEPTH) are looked up in a set.
        let dups = std::mem::take(&mut index.duplicates);
        let paths: std::collections::HashSet<&str> = dups.iter().map(|d| d.path.as_str()).collect();
        let outermost = |path: &str| {
            let mut p = path;
            while let Some(up) = parent(p) {
                if paths.contains(up) {
                    return false;
                }
                p = up;
            }
            true
        };
        index.duplicates = dups
            .iter()
            .filter(|d| outermost(&d.path))
            .cloned()
            .collect();
        index
    }

    /// Moves every column through `f(line, column)`: for an index built from a text whose
    /// indentation was rewritten, back to the columns of the file.
    pub fn map_columns(&mut self, f: impl Fn(usize, usize) -> usize) {
        let move_pos = |p: &mut Pos| p.column = f(p.line, p.column);
        for n in self.nodes.values_mut() {
            if let Some(k) = n.key.as_mut() {
                move_pos(k);
            }
            move_pos(&mut n.value);
        }
        for d in &mut self.duplicates {
            move_pos(&mut d.first);
            move_pos(&mut d.second);
        }
        self.documents.iter_mut().for_each(move_pos);
    }

    /// The text of the plain scalar at `path` as written, if it is one.
    pub fn raw(&self, path: &str) -> Option<&str> {
        self.raws.get(path).map(String::as_str)
    }

    /// The text of the key of `path` as written, when YAML reads it as something else than
    /// the text (`1.10`, `0x1F`, `true`).
    pub fn raw_key(&self, path: &str) -> Option<&str> {
        self.raw_keys.get(path).map(String::as_str)
    }

    #[cfg(test)]
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The position of the key of `path` (the value when it has no key), or of its nearest
    /// indexed ancestor.
    pub fn key_pos(&self, path: &str) -> Option<Pos> {
        self.nearest(path).map(|n| n.key.unwrap_or(n.value))
    }

    /// The position of the value of `path`; for a node that is not indexed (inside an alias,
    /// or produced by a merge key), its nearest indexed ancestor's key.
    pub fn value_pos(&self, path: &str) -> Option<Pos> {
        match self.nodes.get(path) {
            Some(n) => Some(n.value),
            None => self.key_pos(parent(path)?),
        }
    }

    fn nearest(&self, mut path: &str) -> Option<&Node> {
        loop {
            if let Some(n) = self.nodes.get(path) {
                return Some(n);
            }
            path = parent(path)?;
        }
    }
}

/// Where the nesting of collections first goes deeper than `limit`, if it does. Reads only as
/// far as that place, so a hostile file costs little.
pub(crate) fn too_deep(text: &str, limit: usize) -> Option<Pos> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (ev, mark) = match parser.next_token() {
            Ok(e) => e,
            // yaml-rust2 has a flow-nesting limit of its own.
            Err(e) if e.info().contains("recursion limit") => {
                return Some(Pos::from_marker(*e.marker()))
            }
            Err(_) => return None,
        };
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > limit {
                    return Some(Pos::from_marker(mark));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            Event::StreamEnd => break,
            _ => {}
        }
    }
    None
}

/// The parent of a path: `a.b[2]` → `a.b` → `a` → `` (the root); `None` for the root.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = if path.ends_with(']') {
        path.rfind('[')
    } else {
        path.rfind('.')
    };
    Some(&path[..cut.unwrap_or(0)])
}

/// How deep the index goes; deeper nodes are located at their nearest indexed ancestor.
const MAX_DEPTH: usize = 130;

enum Frame {
    Map {
        /// Length of `Builder::path` for this map itself.
        base: usize,
        /// The key whose value comes next, once read.
        key: Option<(String, Pos)>,
        first_key_seen: bool,
    },
    Seq {
        base: usize,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    path: String,
    stack: Vec<Frame>,
    /// Depth inside a complex (non-scalar) key, which is skipped.
    skip: usize,
    index: Index,
}

impl Builder {
    /// Handles a node in value position: records it and, for a container, enters it.
    fn value(&mut self, ev: &Event, pos: Pos) {
        let mut key_pos = None;
        match self.stack.last_mut() {
            Some(Frame::Map { base, key, .. }) => {
                let (name, kp) = key.take().unwrap_or_else(|| ("?".into(), pos));
                self.path.truncate(*base);
                if *base > 0 {
                    self.path.push('.');
                }
                self.path.push_str(&name);
                key_pos = Some(kp);
            }
            Some(Frame::Seq { base, next }) => {
                self.path.truncate(*base);
                self.path.push('[');
                self.path.push_str(&next.to_string());
                self.path.push(']');
                *next += 1;
            }
            None => self.path.clear(),
        }
        // An empty plain scalar (`key:` with nothing after it) is best shown at its key.
        let value_pos = match ev {
            Event::Scalar(s, TScalarStyle::Plain, ..) if s.is_empty() => key_pos.unwrap_or(pos),
            _ => pos,
        };
        if let Some(existing) = self.index.nodes.get(&self.path) {
            if let (Some(first), Some(second)) = (existing.key, key_pos) {
                self.index.duplicates.push(Duplicate {
                    path: self.path.clone(),
                    first,
                    second,
                });
            }
        } else {
            if let Event::Scalar(raw, TScalarStyle::Plain, ..) = ev {
                self.index.raws.insert(self.path.clone(), raw.clone());
            }
            self.index.nodes.insert(
                self.path.clone(),
                Node {
                    key: key_pos,
                    value: value_pos,
                },
            );
        }
        let base = self.path.len();
        let container = matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..));
        if container && self.stack.len() >= MAX_DEPTH {
            // Deeper than any valid file: not indexed (keeps paths, and so the cost, bounded).
            self.skip = 1;
            return;
        }
        match ev {
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                base,
                key: None,
                first_key_seen: false,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq { base, next: 0 }),
            _ => {}
        }
    }

    /// Handles a node in key position.
    fn key(&mut self, ev: &Event, pos: Pos) {
        let mut raw = None;
        let name = match ev {
            Event::Scalar(s, TScalarStyle::Plain, ..) => match as_loaded_key(s) {
                Some(loaded) => {
                    raw = Some(s.clone());
                    loaded
                }
                None => s.clone(),
            },
            Event::Scalar(s, ..) => s.clone(),
            Event::Alias(_) => "*".into(),
            _ => {
                self.skip = 1;
                "?".into()
            }
        };
        let Some(Frame::Map {
            base,
            key,
            first_key_seen,
        }) = self.stack.last_mut()
        else {
            return;
        };
        // A block mapping's start mark lies after its first key; show the map at that key.
        if !*first_key_seen {
            *first_key_seen = true;
            let map_path = &self.path[..*base];
            if let Some(n) = self.index.nodes.get_mut(map_path) {
                if pos.offset < n.value.offset {
                    n.value = pos;
                }
            }
        }
        if let Some(raw) = raw {
            let path = if *base > 0 {
                format!("{}.{name}", &self.path[..*base])
            } else {
                name.clone()
            };
            self.index.raw_keys.insert(path, raw);
        }
        *key = Some((name, pos));
    }
}

/// How the loader names a plain key that YAML reads as a number, boolean or null (`1.10` is
/// `1.1`, `0x1F` is `31`), when it differs from the text; `None` for a key read as text.
fn as_loaded_key(text: &str) -> Option<String> {
    let maybe = text.starts_with(|c: char| c.is_ascii_digit() || "+-.~".contains(c))
        || matches!(
            text,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null" | "NULL"
        );
    if !maybe {
        return None;
    }
    let loaded = match serde_yaml::from_str::<serde_yaml::Value>(text).ok()? {
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Null => "null".to_string(),
        _ => return None,
    };
    (loaded != text).then_some(loaded)
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        if self.skip > 0 {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skip += 1,
                Event::MappingEnd | Event::SequenceEnd => self.skip -= 1,
                _ => {}
            }
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.index.documents.push(pos);
                self.stack.clear();
                self.path.clear();
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    self.key(&ev, pos);
                } else {
                    self.value(&ev, pos);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(index: &Index, path: &str) -> (Option<(usize, usize)>, (usize, usize)) {
        let n = index.node(path).unwrap_or_else(|| panic!("no node {path}"));
        (
            n.key.map(|k| (k.line, k.column)),
            (n.value.line, n.value.column),
        )
    }

    #[test]
    fn keys_and_values_have_positions() {
        let text = "# c\nk: v\nl:\n  - a: 1\n    b: \"x\"\n  - 2\nm: {x: 1}\nn:\n";
        let i = Index::build(text);
        assert_eq!(at(&i, ""), (None, (2, 1)));
        assert_eq!(at(&i, "k"), (Some((2, 1)), (2, 4)));
        assert_eq!(at(&i, "l"), (Some((3, 1)), (4, 3)));
        assert_eq!(at(&i, "l[0]"), (None, (4, 5)));
        assert_eq!(at(&i, "l[0].b"), (Some((5, 5)), (5, 8)));
        assert_eq!(at(&i, "l[1]"), (None, (6, 5)));
        assert_eq!(at(&i, "m"), (Some((7, 1)), (7, 4)));
        assert_eq!(at(&i, "m.x"), (Some((7, 5)), (7, 8)));
        assert_eq!(at(&i, "n"), (Some((8, 1)), (8, 1)));
    }

    #[test]
    fn duplicates_and_documents_are_found() {
        let i = Index::build("a:\n  b: 1\n  b: {c: 1}\nd: 1\nd: 2\n---\nx: 1\n");
        let d: Vec<_> = i
            .duplicates
            .iter()
            .map(|d| (d.path.as_str(), d.first.line, d.second.line))
            .collect();
        assert_eq!(d, [("a.b", 2, 3), ("d", 4, 5)]);
        assert_eq!(i.documents.len(), 2);
        assert_eq!(i.documents[1].line, 6);
    }

    #[test]
    fn complex_keys_and_aliases_are_skipped() {
        let i = Index::build("? [a, {b: 1}]\n: 1\nz: &x {y: 1}\nw: *x\n");
        assert!(i.node("?").is_some());
        assert_eq!(at(&i, "w"), (Some((4, 1)), (4, 4)));
        assert_eq!(i.value_pos("w.y").map(|p| p.line), Some(4));
    }

    #[test]
    fn deep_nesting_is_found_without_recursion() {
        let n = 200_000;
        let text = format!("a:\n{}x\n", "- ".repeat(n));
        assert_eq!(too_deep(&text, 128).map(|p| p.line), Some(2));
        assert!(too_deep("a: [[1]]\n", 128).is_none());
        let i = Index::build(&text);
        assert!(i.node("a[0][0][0]").is_some());
        assert!(i.nodes.len() < 200);
        let text = format!("a: {}\n", "[".repeat(n));
        assert_eq!(too_deep(&text, 128).map(|p| p.line), Some(1));
    }

    #[test]
    fn parents() {
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a.b"), Some("a"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }
}
