//! Reading a YAML text to check it, connector files and `skconn.yaml` alike: the guards (nesting
//! depth, alias bombs, several documents), and every problem the text allows at once.
//!
//! A structural problem that still leaves a document to check does not stop the checks: a
//! duplicate key is reported and its first value kept; a tab in indentation is reported and,
//! where the text can still be read with that indentation as spaces, the rest is read that way.
//! Only a syntax error that leaves nothing readable stops, explained in skconn's words
//! (`syntax`).
//!
//! It never changes a file: the text with expanded indentation exists only in memory, and
//! positions found in it are mapped back to the file's own columns ([`Source`]).

use super::index::Index;
use crate::base::error::Diagnostic;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::path::Path;

/// How deep collections may nest: serde_yaml's own limit, checked before serde_yaml runs.
pub(crate) const MAX_DEPTH: usize = 128;

/// At most this many lines with a tab in their indentation are read past; the rest of a file
/// with more is not checked.
const MAX_TAB_LINES: usize = 50;

/// A text larger than this is not read again to get past a tab (each attempt reads the text
/// up to the line): the tab is reported, and the rest of the file is not checked.
const MAX_RECOVERY_BYTES: usize = 64 * 1024;

/// A YAML text as read for checking.
pub(crate) struct Read<'t> {
    /// The one document, duplicate keys keeping their first value.
    pub value: Value,
    /// The text positions are looked up in.
    pub source: Source<'t>,
    /// The problems met while reading that left a document to check: duplicate keys, tabs.
    pub problems: Vec<Diagnostic>,
    /// The index of [`Read::source`], when placing the problems needed it (built once).
    pub index: Option<Index>,
    /// Problems found but not kept: duplicate keys past the first
    /// [`MAX_DIAGNOSTICS_PER_FILE`](super::cap::MAX_DIAGNOSTICS_PER_FILE), which are never shown.
    pub left_out: usize,
}

/// The text a document was read from: the file's own text, or a copy in which the indentation
/// of lines that held a tab is written with spaces. Positions found in it are the file's after
/// [`Source::index`] (or [`Source::original_column`]).
pub(crate) struct Source<'t> {
    pub text: Cow<'t, str>,
    /// The lines whose indentation was rewritten: (1-based line, original indentation in
    /// characters, spaces written instead).
    expanded: Vec<(usize, usize, usize)>,
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Source<'t> {
        Source {
            text: Cow::Borrowed(text),
            expanded: Vec::new(),
        }
    }

    /// Where the field paths of the text are, in the file's own lines and columns.
    pub fn index(&self) -> Index {
        let mut index = Index::build(&self.text);
        if !self.expanded.is_empty() {
            index.map_columns(|line, column| self.original_column(line, column));
        }
        index
    }

    /// The file's column for a column of the text as read.
    pub fn original_column(&self, line: usize, column: usize) -> usize {
        match self.expanded.iter().find(|(l, _, _)| *l == line) {
            None => column,
            Some(&(_, original, spaces)) if column > spaces => column - spaces + original,
            Some(&(_, original, _)) => column.min(original.max(1)),
        }
    }

    /// The text with line `line`'s indentation written as `spaces` spaces.
    fn with_indentation(&self, line: usize, spaces: usize) -> String {
        let mut out = String::with_capacity(self.text.len() + spaces);
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                out.extend(std::iter::repeat_n(' ', spaces));
                out.push_str(l.trim_start_matches([' ', '\t']));
            } else {
                out.push_str(l);
            }
        }
        out
    }
}

/// Reads one YAML document. `Err` holds the problems that left nothing to check (a syntax
/// error, several documents, an alias bomb, too deep a nesting), with any tab found before.
pub(crate) fn read<'t>(file: &Path, text: &'t str) -> Result<Read<'t>, Vec<Diagnostic>> {
    depth_guard(file, text)?;
    let mut source = Source::new(text);
    let mut problems: Vec<Diagnostic> = Vec::new();
    let duplicates = Cell::new(0usize);
    let value = loop {
        let e = match Lenient(&duplicates)
            .deserialize(serde_yaml::Deserializer::from_str(&source.text))
        {
            Ok(v) => break v,
            Err(e) => e,
        };
        let Some(loc) = e.location() else {
            problems.extend(syntax_error(file, &source, &e));
            return Err(problems);
        };
        let line_text = source
            .text
            .lines()
            .nth(loc.line().saturating_sub(1))
            .unwrap_or_default();
        let Some(tab) = tab_in_indentation(line_text) else {
            problems.extend(syntax_error(file, &source, &e));
            return Err(problems);
        };
        let line = loc.line();
        let readable = problems.len() < MAX_TAB_LINES
            && source.text.len() <= MAX_RECOVERY_BYTES
            && !source.expanded.iter().any(|(l, _, _)| *l == line);
        let spaces = if readable {
            indentation_to_try(&source.text, line)
                .into_iter()
                .find(|n| reads_past(&source.with_indentation(line, *n), line))
        } else {
            None
        };
        problems.push(tab_problem(file, line, tab, spaces));
        let Some(spaces) = spaces else {
            return Err(problems);
        };
        let original = line_text.len() - line_text.trim_start_matches([' ', '\t']).len();
        source.text = Cow::Owned(source.with_indentation(line, spaces));
        source.expanded.push((line, original, spaces));
    };
    let index = (duplicates.get() > 0).then(|| source.index());
    let mut left_out = 0;
    if let Some(index) = &index {
        let (found, more) = duplicate_problems(file, index, duplicates.get());
        problems.extend(found);
        left_out = more;
    }
    Ok(Read {
        value,
        source,
        problems,
        index,
        left_out,
    })
}

/// The character column (1-based) of the first tab in a line's indentation.
fn tab_in_indentation(line: &str) -> Option<usize> {
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    indent.find('\t').map(|i| indent[..i].chars().count() + 1)
}

fn tab_problem(file: &Path, line: usize, column: usize, spaces: Option<usize>) -> Diagnostic {
    let rest = match spaces {
        Some(n) => format!(
            "; the rest of the file was checked reading this indentation as {n} space{}",
            if n == 1 { "" } else { "s" }
        ),
        None => String::new(),
    };
    Diagnostic::new(
        file,
        format!("a tab character is used for indentation; YAML allows only spaces{rest}"),
    )
    .at(line, column)
    .help("indent with spaces (configure the editor to insert spaces for the Tab key)")
}

/// The indentations worth trying for a line that holds a tab, most likely first: tab stops of
/// 8, 4 and 2 columns, then the indentation of the lines above it (nearest first), where the
/// text of the line or of its first key after `- ` starts.
fn indentation_to_try(text: &str, line: usize) -> Vec<usize> {
    let this = text.lines().nth(line - 1).unwrap_or_default();
    let mut out: Vec<usize> = Vec::new();
    for stop in [8usize, 4, 2] {
        let mut col = 0usize;
        for c in this.chars().take_while(|c| *c == ' ' || *c == '\t') {
            col = if c == '\t' {
                (col / stop + 1) * stop
            } else {
                col + 1
            };
        }
        if !out.contains(&col) {
            out.push(col);
        }
    }
    let above = text.lines().take(line - 1).collect::<Vec<_>>();
    for l in above.iter().rev().filter(|l| !l.trim().is_empty()).take(4) {
        let indent = l.chars().take_while(|c| *c == ' ').count();
        let after_dash = indent
            + l.trim_start()
                .strip_prefix("- ")
                .map_or(0, |rest| 2 + rest.chars().take_while(|c| *c == ' ').count());
        for n in [indent, after_dash] {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Whether the parser gets past line `line` of `text`: no error, or one that starts after it,
/// or the tab of a later line.
fn reads_past(text: &str, line: usize) -> bool {
    match <de::IgnoredAny as serde::Deserialize>::deserialize(serde_yaml::Deserializer::from_str(
        text,
    )) {
        Ok(_) => true,
        Err(e) => match e.location() {
            Some(loc) => {
                let started = super::syntax::split(&e.to_string())
                    .context_at
                    .map_or(loc.line(), |(l, _)| l);
                let at = text.lines().nth(loc.line() - 1).unwrap_or_default();
                loc.line() > line && (started > line || tab_in_indentation(at).is_some())
            }
            // Several documents: the text was read.
            None => true,
        },
    }
}

/// The duplicate keys, at their second place, naming the first: the first
/// [`MAX_DIAGNOSTICS_PER_FILE`](super::cap::MAX_DIAGNOSTICS_PER_FILE) in the file's order, and how
/// many more there are (never shown: the file has that many problems before them).
fn duplicate_problems(file: &Path, index: &Index, count: usize) -> (Vec<Diagnostic>, usize) {
    if index.duplicates.is_empty() {
        // Inside an alias: the index sees the anchor's map once.
        let d = Diagnostic::new(
            file,
            format!("{count} duplicate key(s) in a map that an alias repeats"),
        )
        .help("remove the second of each pair of keys (a key may appear once per map)");
        return (vec![d], 0);
    }
    let shown = index
        .duplicates
        .iter()
        .take(super::cap::MAX_DIAGNOSTICS_PER_FILE)
        .map(|dup| {
            let name = match dup.path.rfind('.') {
                Some(i) => &dup.path[i + 1..],
                None => dup.path.as_str(),
            };
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
                "remove one of the two `{name}` entries (a key may appear once per map; the first is the one checked)"
            ))
        })
        .collect();
    let more = index
        .duplicates
        .len()
        .saturating_sub(super::cap::MAX_DIAGNOSTICS_PER_FILE);
    (shown, more)
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

/// A YAML value as serde_yaml's own `Value` reads it, except that a key written twice in a map
/// keeps its first value (and is counted) instead of failing the whole document. serde_yaml's
/// deserializer still applies its limits (recursion, alias repetition).
struct Lenient<'c>(&'c Cell<usize>);

impl<'de> DeserializeSeed<'de> for Lenient<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Lenient<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Lenient(self.0))? {
            out.push(v);
        }
        Ok(Value::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Mapping::new();
        while let Some(k) = map.next_key_seed(Lenient(self.0))? {
            let v = map.next_value_seed(Lenient(self.0))?;
            if out.contains_key(&k) {
                self.0.set(self.0.get() + 1);
            } else {
                out.insert(k, v);
            }
        }
        Ok(Value::Mapping(out))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        let (tag, contents): (String, _) = data.variant()?;
        if tag.is_empty() {
            return Err(de::Error::custom("empty YAML tag is not allowed"));
        }
        let value = contents.newtype_variant_seed(Lenient(self.0))?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

/// A syntax error (or a guard that refused the text) as diagnostics, in skconn's words.
pub(crate) fn syntax_error(file: &Path, source: &Source, e: &serde_yaml::Error) -> Vec<Diagnostic> {
    let msg = e.to_string();
    let text: &str = &source.text;
    if msg.starts_with("deserializing from YAML containing more than one document") {
        let index = source.index();
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
    if msg.contains("repetition limit exceeded") {
        return vec![Diagnostic::new(
            file,
            "aliases expand to too many values (a \"billion laughs\" YAML bomb?); the file was not loaded",
        )
        .help("write the values out, or use fewer `*alias` references")];
    }
    let at = |line: usize, column: usize| (line, source.original_column(line, column));
    if msg.contains("recursion limit exceeded") {
        let d = Diagnostic::new(
            file,
            format!("the YAML is nested too deeply (more than {MAX_DEPTH} levels)"),
        )
        .help("a connector needs only a few levels: flatten the structure");
        return vec![match e.location() {
            Some(l) => {
                let (line, column) = at(l.line(), l.column());
                d.at(line, column)
            }
            None => d,
        }];
    }
    let reported = super::syntax::split(&msg);
    if reported.context == Some("while scanning a quoted scalar")
        && reported.problem.contains("end of stream")
    {
        let d = Diagnostic::new(
            file,
            "a quoted string is never closed: the file ends inside it",
        )
        .help("add the closing quote where the value ends");
        let place = reported
            .context_at
            .or_else(|| e.location().map(|l| (l.line(), l.column())));
        return vec![match place {
            Some((line, column)) => {
                let (line, column) = at(line, column);
                d.at(line, column)
            }
            None => d,
        }];
    }
    let Some(loc) = e.location() else {
        return vec![
            Diagnostic::new(file, format!("the YAML cannot be read: {msg}"))
                .help("check the indentation, the colons, the quotes and the brackets"),
        ];
    };
    let explained = super::syntax::explain(&msg, text, loc.line(), loc.column());
    let (line, column) = explained.at.unwrap_or((loc.line(), loc.column()));
    let (line, column) = at(line, column);
    vec![Diagnostic::new(file, explained.message)
        .at(line, column)
        .help(explained.help)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(text: &str) -> Read<'_> {
        read(Path::new("f.yaml"), text).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn a_duplicate_key_keeps_its_first_value_and_is_reported() {
        let r = read_ok("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n");
        assert_eq!(r.value["a"], Value::from(1));
        assert_eq!(r.value["b"]["c"], Value::from(2));
        let got: Vec<_> = r
            .problems
            .iter()
            .map(|d| (d.line, d.column, d.field.clone().unwrap()))
            .collect();
        assert_eq!(
            got,
            [(4, 3, "b.c".to_string()), (5, 1, "a".to_string())],
            "{:#?}",
            r.problems
        );
    }

    #[test]
    fn tags_aliases_and_merge_keys_read_as_serde_yaml_reads_them() {
        let text = "base: &b {x: 1}\nc:\n  <<: *b\n  y: !t z\n";
        let r = read_ok(text);
        let expected: Value = serde_yaml::from_str(text).unwrap();
        assert_eq!(r.value, expected);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn a_tab_is_reported_and_the_rest_is_read_with_spaces_in_its_place() {
        let text = "a:\n  b:\n\t- x\n  c: 1\n";
        let r = read_ok(text);
        assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
        assert_eq!((r.problems[0].line, r.problems[0].column), (3, 1));
        assert!(r.problems[0].message.contains("tab"));
        assert_eq!(r.value["a"]["b"][0], Value::from("x"));
        assert_eq!(r.value["a"]["c"], Value::from(1));
        // Positions are the file's: `x` is at column 4 of line 3 (after the tab and `- `).
        let index = r.source.index();
        assert_eq!(
            index.value_pos("a.b[0]").map(|p| (p.line, p.column)),
            Some((3, 4))
        );
    }

    #[test]
    fn the_indentation_tried_for_a_tab_is_the_one_that_reads() {
        // Tab stops of 8 would put `fields:` inside the value of `type`; 4 is right.
        let text = "auth_patterns:\n  - type: BEARER\n\tfields: []\n";
        let r = read_ok(text);
        assert_eq!(
            r.value["auth_patterns"][0]["fields"],
            Value::Sequence(vec![])
        );
        assert!(
            r.problems[0].message.contains("as 4 spaces"),
            "{:#?}",
            r.problems
        );
    }

    #[test]
    fn a_tab_that_cannot_be_read_past_stops_with_the_tab_alone() {
        let d = read(Path::new("f.yaml"), "a: [\n\t: :\n").err().unwrap();
        assert!(d.iter().any(|d| d.message.contains("tab")), "{d:#?}");
    }
}
