//! YAML syntax errors in skconn's words: what the YAML parser (libyaml, through serde_yaml)
//! reports, turned into the likely cause (indentation, a missing colon, an unquoted `: `, an
//! unclosed bracket or quote, ...) at the place to fix, with the parser's own text kept as a
//! detail in the help.
//!
//! Pure: it reads the parser's message and the line it points at, nothing else. It never
//! guesses silently: when no cause fits, it says the YAML cannot be read here and still shows
//! the parser's words.

/// A syntax error as the parser reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reported<'m> {
    /// What went wrong, e.g. "did not find expected '-' indicator".
    pub problem: &'m str,
    /// What the parser was doing, e.g. "while parsing a block collection".
    pub context: Option<&'m str>,
    /// Where the construct named by `context` begins (1-based line and column).
    pub context_at: Option<(usize, usize)>,
}

/// Splits serde_yaml's message: `PROBLEM at line L column C, while CONTEXT at line L2 column C2`
/// (each location optional).
pub(crate) fn split(msg: &str) -> Reported<'_> {
    let (head, context) = match msg.find(", while ") {
        Some(i) => (&msg[..i], Some(&msg[i + 2..])),
        None => (msg, None),
    };
    let problem = strip_at(head).0;
    let (context, context_at) = match context {
        Some(c) => {
            let (text, at) = strip_at(c);
            (Some(text), at)
        }
        None => (None, None),
    };
    Reported {
        problem,
        context,
        context_at,
    }
}

/// `TEXT at line L column C` → (`TEXT`, `Some((L, C))`); text without a location as it is.
fn strip_at(s: &str) -> (&str, Option<(usize, usize)>) {
    let Some(i) = s.rfind(" at line ") else {
        return (s, None);
    };
    let rest = &s[i + " at line ".len()..];
    let Some((line, column)) = rest.split_once(" column ") else {
        return (s, None);
    };
    let digits: String = column.chars().take_while(char::is_ascii_digit).collect();
    match (line.parse(), digits.parse()) {
        (Ok(l), Ok(c)) if digits.len() == column.len() => (&s[..i], Some((l, c))),
        _ => (s, None),
    }
}

/// What skconn says about a syntax error: the message, the help, and the place to point at
/// when it is not where the parser stopped (a missing colon is shown at its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explained {
    pub message: String,
    pub help: String,
    pub at: Option<(usize, usize)>,
}

/// Explains a syntax error reported at `(line, column)` of `text` (1-based); `raw` is the
/// parser's whole message, kept in the help.
pub(crate) fn explain(raw: &str, text: &str, line: usize, column: usize) -> Explained {
    let r = split(raw);
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let indent = indentation(line_text);
    let context_line = |at: Option<(usize, usize)>| at.map_or(0, |(l, _)| l);
    let (message, fix, at): (String, String, Option<(usize, usize)>) = if r
        .problem
        .starts_with("mapping values are not allowed")
    {
        match separator(line_text) {
            Some(sep) if sep < column => {
                let colon = byte_at(line_text, sep - 1);
                let key = line_text[..colon].trim().trim_start_matches("- ");
                let value = line_text[colon + 1..].trim();
                (
                    "unquoted `: ` in a value: YAML reads the text before it as a key".to_string(),
                    format!(
                        "put the whole value in quotes: `{key}: \"{}\"`",
                        shorten(&value.replace('"', "\\\""))
                    ),
                    None,
                )
            }
            _ => {
                let above = previous_content_line(text, line);
                let key = line_text.trim().split(':').next().unwrap_or_default();
                let help = match above {
                    Some((n, above)) if indentation(above) < indent => format!(
                        "likely the indentation: `{key}:` is indented further than line {n}, whose value is already given; align it with the keys above it (column {}), or nest it under a key that ends with `:`",
                        indentation(above) + 1
                    ),
                    _ => format!(
                        "check the indentation of `{key}:`, or put the value of the line above in quotes if it holds `: `"
                    ),
                };
                (
                    "a key where a value continues: YAML cannot nest a key under a value"
                        .to_string(),
                    help,
                    None,
                )
            }
        }
    } else if r.problem.starts_with("did not find expected key") {
        let map_col = r.context_at.map(|(_, c)| c);
        let trimmed = line_text.trim_start();
        if trimmed.starts_with("- ") || trimmed == "-" {
            (
                "a list item (`- `) where the map expects a key".to_string(),
                match r.context_at {
                    Some((l, c)) => format!(
                        "likely the indentation: the map that starts at line {l} has its keys at column {c}; put the list under the key it belongs to (`key:` on its own line, the items indented below it)"
                    ),
                    None => "put the list under the key it belongs to (`key:` on its own line, the items indented below it)".to_string(),
                },
                None,
            )
        } else if column > indent + 1 {
            (
                "more text after a value that is complete (a closing quote, or a `]` or `}`)"
                    .to_string(),
                "put the whole value in quotes, or move the extra text onto a line of its own"
                    .to_string(),
                None,
            )
        } else {
            (
                match map_col {
                    Some(c) => format!(
                        "wrong indentation: this line starts at column {}, but the keys of the map that starts at line {} are at column {c}",
                        indent + 1,
                        context_line(r.context_at)
                    ),
                    None => format!(
                        "wrong indentation: this line starts at column {}, where no key of the map above fits",
                        indent + 1
                    ),
                },
                match (map_col, previous_key(text, line)) {
                    (Some(c), Some((n, key, kc))) if kc != c => format!(
                        "indent it to the column of the key it goes with: `{key}:` on line {n} is at column {kc}, the keys of that map at column {c}"
                    ),
                    (Some(c), _) => format!(
                        "indent it to column {c} like the keys next to it, or further under a key that ends with `:` to nest it"
                    ),
                    (None, _) => "indent it like the keys next to it".to_string(),
                },
                None,
            )
        }
    } else if r.problem.starts_with("did not find expected '-' indicator") {
        let list_col = r.context_at.map_or(0, |(_, c)| c);
        let start = context_line(r.context_at);
        if indent + 1 == list_col {
            (
                format!(
                    "a line at the indentation of the list that starts at line {start} (column {list_col}) is not an item: it has no `- `"
                ),
                "start it with `- ` to make it an item, indent it further to put it inside the item above, or indent it less to end the list".to_string(),
                None,
            )
        } else {
            (
                format!(
                    "wrong indentation: this line starts at column {}, but the items of the list that starts at line {start} are at column {list_col}",
                    indent + 1
                ),
                format!(
                    "start each item with `- ` at column {list_col}; the keys of an item go under it, in line with the first key after the `- `"
                ),
                None,
            )
        }
    } else if r.problem.starts_with("could not find expected ':'") {
        let (key_line, key_col) = r.context_at.unwrap_or((line, column));
        let written = text
            .lines()
            .nth(key_line.saturating_sub(1))
            .unwrap_or_default()
            .trim();
        (
            format!("missing colon: `{}` is not `key: value`", shorten(written)),
            "write a colon and a space after the key (`key: value`); a line of text that belongs to the value above goes in that value's quotes".to_string(),
            Some((key_line, key_col)),
        )
    } else if r
        .problem
        .starts_with("found character that cannot start any token")
    {
        let c = line_text
            .chars()
            .nth(column.saturating_sub(1))
            .unwrap_or(' ');
        let value = line_text
            .chars()
            .skip(column.saturating_sub(1))
            .collect::<String>();
        let value = value.trim_end();
        (
            format!("a value starts with `{c}`, a character YAML reserves"),
            format!(
                "put the value in quotes: `\"{}\"`",
                shorten(&value.replace('"', "\\\""))
            ),
            None,
        )
    } else if r.problem.starts_with("found unknown escape character") {
        (
            "a backslash in a double-quoted value starts an escape sequence, and this one is not known".to_string(),
            "use single quotes, in which `\\` is an ordinary character (`'C:\\dir'`), or double the backslash (`\\\\`)".to_string(),
            None,
        )
    } else if r.problem.starts_with("did not find expected ',' or ']'")
        || r.problem.starts_with("did not find expected ',' or '}'")
    {
        let (open, close) = if r.problem.ends_with("']'") {
            ('[', ']')
        } else {
            ('{', '}')
        };
        let opened = r
            .context_at
            .map(|(l, c)| format!(" (opened at line {l}, column {c})"))
            .unwrap_or_default();
        (
            format!("a `{open}` is never closed{opened}"),
            format!(
                "close it with `{close}` (separate the entries with `, `), or put a value that starts with `{open}` in quotes"
            ),
            r.context_at,
        )
    } else if r
        .problem
        .starts_with("block sequence entries are not allowed")
    {
        (
            "a list item (`- `) on the same line as its key".to_string(),
            "start the list on the next line, indented under the key (`key:`, then `  - item`), or write it as `key: [a, b]`".to_string(),
            None,
        )
    } else if r.problem.starts_with("unknown anchor") {
        let alias: String = line_text
            .chars()
            .skip(column.saturating_sub(1))
            .take_while(|c| !c.is_whitespace() && !",]}".contains(*c))
            .collect();
        let alias = if alias.starts_with('*') {
            alias
        } else {
            "*…".to_string()
        };
        (
            format!(
                "unknown anchor: the alias `{}` names no anchor defined above it",
                shorten(&alias)
            ),
            format!(
                "define the anchor (`&{}`) on a value above this line, or put the value in quotes if it is text",
                shorten(alias.trim_start_matches('*'))
            ),
            None,
        )
    } else if r
        .problem
        .starts_with("did not find expected alphabetic or numeric character")
    {
        (
            "`*` or `&` starts an alias or an anchor here, but no name follows".to_string(),
            "put the value in quotes if `*` or `&` is part of the text".to_string(),
            None,
        )
    } else if r.problem.starts_with("did not find expected node content") {
        (
            "a value is missing here, or starts with a character YAML reserves".to_string(),
            "write the value, in quotes if it starts with one of `- ? : , [ ] { } # & * ! | > ' \" % @ ``".to_string(),
            None,
        )
    } else if r.problem.starts_with("found undefined tag handle") {
        (
            "an unknown YAML tag (`!...`)".to_string(),
            "remove the tag, or put the value in quotes if `!` is part of the text".to_string(),
            None,
        )
    } else {
        (
            format!("the YAML cannot be read here: {}", r.problem),
            "check the indentation, the colons, the quotes and the brackets of this line and of the line above".to_string(),
            None,
        )
    };
    Explained {
        message,
        help: format!("{fix} (the YAML parser says: {raw})"),
        at,
    }
}

/// The number of spaces (and tabs) a line starts with, in characters.
fn indentation(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// The byte index of the `n`th character (0-based) of `s`.
fn byte_at(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// The 1-based column of the `:` that ends the key of a `key: value` line (after any `- `),
/// outside quotes; `None` when the line has none.
fn separator(line: &str) -> Option<usize> {
    let chars: Vec<char> = line.chars().collect();
    let mut quote: Option<char> = None;
    let mut i = indentation(line);
    while chars.get(i) == Some(&'-') && chars.get(i + 1) == Some(&' ') {
        i += 2;
        while chars.get(i) == Some(&' ') {
            i += 1;
        }
    }
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && i > 0 && chars[i - 1] == ' ' => return None,
            None if c == ':' && chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t') => {
                return Some(i + 1)
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// The key of the nearest line above `line` that holds one: (its line, the key, the 1-based
/// column the key starts at, after any `- `).
fn previous_key(text: &str, line: usize) -> Option<(usize, String, usize)> {
    let (n, above) = previous_content_line(text, line)?;
    let sep = separator(above)?;
    let colon = byte_at(above, sep - 1);
    let indent = indentation(above);
    let mut start = indent;
    let chars: Vec<char> = above.chars().collect();
    while chars.get(start) == Some(&'-') && chars.get(start + 1) == Some(&' ') {
        start += 2;
        while chars.get(start) == Some(&' ') {
            start += 1;
        }
    }
    let key = above[byte_at(above, start)..colon].trim().to_string();
    Some((n, key, start + 1))
}

/// The nearest line above `line` (1-based) that holds more than spaces and comments.
fn previous_content_line(text: &str, line: usize) -> Option<(usize, &str)> {
    text.lines()
        .enumerate()
        .take(line.saturating_sub(1))
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .last()
        .map(|(i, l)| (i + 1, l))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_yaml reports for `text`: its message and where.
    fn reported(text: &str) -> (String, usize, usize) {
        let e = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        let l = e.location().unwrap();
        (e.to_string(), l.line(), l.column())
    }

    fn explained(text: &str) -> Explained {
        let (msg, line, column) = reported(text);
        explain(&msg, text, line, column)
    }

    #[test]
    fn messages_are_split_into_problem_and_context() {
        let r = split("did not find expected '-' indicator at line 5 column 4, while parsing a block collection at line 4 column 3");
        assert_eq!(r.problem, "did not find expected '-' indicator");
        assert_eq!(r.context, Some("while parsing a block collection"));
        assert_eq!(r.context_at, Some((4, 3)));
        let r = split("mapping values are not allowed in this context at line 2 column 18");
        assert_eq!(r.problem, "mapping values are not allowed in this context");
        assert_eq!(r.context, None);
        assert_eq!(split("unknown anchor").problem, "unknown anchor");
    }

    #[test]
    fn each_common_mistake_gets_its_likely_cause_and_keeps_the_parser_text() {
        let cases: &[(&str, &str, &str)] = &[
            // A list item indented one space too few.
            (
                "a:\n  - type: BEARER\n   fields: []\n",
                "wrong indentation: this line starts at column 4, but the items of the list that starts at line 2 are at column 3",
                "did not find expected '-' indicator",
            ),
            (
                "a:\n  - b\n  c: d\n",
                "is not an item: it has no `- `",
                "did not find expected '-' indicator",
            ),
            (
                "l:\n  - t: B\n    f:\n      - n: x\n     i: p\n",
                "wrong indentation: this line starts at column 6, but the keys of the map that starts at line 2 are at column 5",
                "did not find expected key",
            ),
            (
                "a: 1\nb c\nd: 2\n",
                "missing colon: `b c` is not `key: value`",
                "could not find expected ':'",
            ),
            (
                "description: Note: this is it\n",
                "unquoted `: ` in a value",
                "mapping values are not allowed",
            ),
            (
                "a: 1\n  b: 2\n",
                "a key where a value continues",
                "mapping values are not allowed",
            ),
            ("a: @x\n", "a value starts with `@`", "cannot start any token"),
            ("a: \"c:\\q\"\n", "a backslash in a double-quoted value", "unknown escape"),
            ("a: [1, 2\nb: 3\n", "a `[` is never closed (opened at line 1, column 4)", "did not find expected ',' or ']'"),
            ("a: {x: 1\nb: 3\n", "a `{` is never closed", "did not find expected ',' or '}'"),
            ("a: - x\n", "a list item (`- `) on the same line as its key", "block sequence entries"),
            ("a: *nothing\n", "the alias `*nothing` names no anchor", "unknown anchor"),
            ("a: 1\n- x\n", "a list item (`- `) where the map expects a key", "did not find expected key"),
            ("a: \"x\" y\n", "more text after a value that is complete", "did not find expected key"),
        ];
        for (text, message, parser) in cases {
            let e = explained(text);
            assert!(e.message.contains(message), "{text:?}: {e:#?}");
            assert!(
                e.help.contains("(the YAML parser says: "),
                "{text:?}: {e:#?}"
            );
            assert!(e.help.contains(parser), "{text:?}: {e:#?}");
        }
    }

    #[test]
    fn fixes_quote_what_was_written() {
        let e = explained("description: Note: this is it\n");
        assert!(
            e.help
                .starts_with("put the whole value in quotes: `description: \"Note: this is it\"`"),
            "{e:#?}"
        );
        let e = explained("l:\n  - t: B\n    f:\n      - n: x\n     i: p\n");
        assert!(
            e.help.starts_with("indent it to the column of the key it goes with: `n:` on line 4 is at column 9, the keys of that map at column 5"),
            "{e:#?}"
        );
        let e = explained("a: 1\n  b: 2\n");
        assert!(
            e.help
                .contains("align it with the keys above it (column 1)"),
            "{e:#?}"
        );
        let e = explained("a: @x y\n");
        assert!(
            e.help.starts_with("put the value in quotes: `\"@x y\"`"),
            "{e:#?}"
        );
    }

    #[test]
    fn a_missing_colon_is_shown_at_its_key_not_on_the_next_line() {
        let text = "a: 1\nb c\nd: 2\n";
        let (msg, line, column) = reported(text);
        assert_eq!(line, 3, "{msg}");
        let e = explain(&msg, text, line, column);
        assert_eq!(e.at, Some((2, 1)), "{e:#?}");
    }
}
