//! Making text that skconn did not write itself — display names, identifiers and messages from a
//! server, file names, values from documents — inert in the places skconn writes it: a terminal,
//! a Markdown comment, a GitHub Actions log and its workflow commands, a shell script.
//!
//! # The one inert-text rule
//!
//! A character is unsafe when it could act instead of being shown: C0 and C1 controls and DEL
//! (escape sequences, a carriage return that rewrites a line or starts a workflow command), the
//! line and paragraph separators, the bidirectional overrides and isolates that reorder what a
//! reviewer reads, and the Unicode noncharacters `U+FDD0`–`U+FDEF` (which `output` uses to mark
//! skconn's own styling). An unsafe character is shown escaped, spelled the way JSON and YAML's
//! double-quoted strings spell it (`\n`, `\r`, `\t`, `\u001b`), so that the escape means the
//! same character in a JSON document or YAML value and reads plainly in a terminal.
//!
//! - [`inert`]: one line; every unsafe character escaped (a field inside a line, a comment).
//! - [`inert_lines`]: whole text on its way out; line breaks and tabs stay, a carriage return
//!   (alone or before a line feed) is a line break, every other unsafe character is escaped.
//!   `output` applies it last to every byte it writes, whatever the caller did.
//!
//! A CR is a line break everywhere: GitHub Actions reads a line after a lone CR as a line of its
//! own, so a workflow command after one is defused like any other.
//!
//! Pure string functions; nothing here writes anywhere.

use std::borrow::Cow;

/// Whether a character must not reach a terminal or log as itself: C0 and C1 controls, DEL,
/// line and paragraph separators, the bidirectional overrides and isolates that reorder what is
/// shown, and the noncharacters `output` marks its own styling with.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
                | '\u{FDD0}'..='\u{FDEF}'
        )
}

/// Pushes the escape of one unsafe character: `\n`, `\r`, `\t`, or `\u` and four hex digits
/// (every unsafe character is in the Basic Multilingual Plane).
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{:04x}", c as u32)),
    }
}

/// Escapes every unsafe character (see the module docs), so that a server-supplied string
/// stays on one line and cannot colour, move the cursor, reorder text or start a workflow
/// command. Ordinary text (any script, emoji) is unchanged.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`inert`], but keeps line breaks and tabs: for whole messages and documents skconn
/// composed over several lines, which may quote server-supplied text. A CR, alone or before a
/// LF, is a line break (written as LF). The rule `output` applies last to everything it writes;
/// a line that would start a workflow command is defused there too.
pub fn inert_lines(s: &str) -> Cow<'_, str> {
    let keep = |c: char| c == '\n' || c == '\t';
    if !s.chars().any(|c| !keep(c) && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            c if keep(c) => out.push(c),
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `s` is already inert as whole text: [`inert_lines`] would leave it as it is.
pub fn is_inert_text(s: &str) -> bool {
    matches!(inert_lines(s), Cow::Borrowed(_))
}

/// A word for a POSIX shell: single-quoted, a `'` inside written `'\''`. Nothing in it is
/// expanded, split or run; a line break inside stays part of the word.
pub fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Escapes what is special inside a double-quoted shell word (`"`, `\\`, `$`, `` ` ``), for a
/// word that must also expand a variable skconn names (`"$SCALEKIT_ENVIRONMENT_URL/..."`).
pub fn shell_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A shell comment line (`# ...` and its line feed) that stays one line: the text made
/// [`inert`], so no CR, LF or control character ends the comment and starts a command.
pub fn shell_comment(text: &str) -> String {
    format!("# {}\n", inert(text))
}

/// A workflow command's message: `%`, CR and LF escaped (GitHub's rules), other control
/// characters made inert.
pub fn github_message(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if is_unsafe(c) => out.push_str(&inert(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's property value: like a message, and also `:` and `,`.
pub fn github_property(s: &str) -> String {
    github_message(s).replace(':', "%3A").replace(',', "%2C")
}

/// Lines that start (after blanks) with `::` would be read by GitHub Actions as workflow
/// commands; they are written as `: :` instead. A CR ends a line, like a LF.
pub fn defuse_workflow_commands(text: &str) -> Cow<'_, str> {
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !text.split(['\n', '\r']).any(starts_command) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for piece in text.split_inclusive(['\n', '\r']) {
        if starts_command(piece) {
            out.push_str(&piece.replacen("::", ": :", 1));
        } else {
            out.push_str(piece);
        }
    }
    Cow::Owned(out)
}

/// A URL as skconn prints it, in any output, log line or file: a user name and password become
/// `***`, and so does the value of every query and fragment parameter (`?api_key=***&page=***`;
/// a parameter without `=` in the query too); names, host and path stay, and the result is
/// [`inert`]. It works on the text, so that a URL that does not parse is printed as safely as
/// one that does.
pub fn url(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    if let Some((scheme, after)) = raw.split_once("://") {
        out.push_str(scheme);
        out.push_str("://");
        // User information ends at the last `@` before the path, whatever it holds.
        let segment = &after[..after.find('/').unwrap_or(after.len())];
        rest = match segment.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                &after[at + 1..]
            }
            None => after,
        };
    }
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    out.push_str(path);
    let params = |text: &str, bare_is_secret: bool| -> String {
        text.split('&')
            .map(|p| match p.split_once('=') {
                Some((k, v)) if !v.is_empty() => format!("{k}=***"),
                Some(_) => p.to_string(),
                None if bare_is_secret && !p.is_empty() => "***".to_string(),
                None => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(&params(q, true));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&params(f, false));
    }
    inert(&out).into_owned()
}

/// Escapes characters that would break a Markdown table cell or inline markup, and makes
/// control characters inert.
pub fn markdown(s: &str) -> String {
    inert(s)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes text for HTML (inside `<code>` in a `<summary>`), control characters made inert.
pub fn html(s: &str) -> String {
    inert(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_everything() {
        assert_eq!(shell_word("abc"), "'abc'");
        assert_eq!(shell_word("it's $HOME `x`"), "'it'\\''s $HOME `x`'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(inert("plain ünïcode 🙂"), "plain ünïcode 🙂");
        assert_eq!(
            inert("a\n::warning x\x1b[31m\u{202e}\u{9b}\u{fdd0}"),
            "a\\n::warning x\\u001b[31m\\u202e\\u009b\\ufdd0"
        );
    }

    #[test]
    fn whole_text_keeps_its_lines_and_a_cr_is_a_line_break() {
        assert_eq!(inert_lines("a\n\tb"), "a\n\tb");
        assert_eq!(
            inert_lines("a\r::warning::x\r\nb\x1b[2J"),
            "a\n::warning::x\nb\\u001b[2J"
        );
        assert!(is_inert_text("plain\n\ttext"));
        assert!(!is_inert_text("bidi \u{202e}"));
    }

    #[test]
    fn escapes_read_the_same_in_json() {
        let hostile = "a\u{1b}[2J\u{85}\u{2028}\u{202e}\u{7f}\u{fdd0}\r\n\t";
        let json = serde_json::to_string(hostile).unwrap();
        let back: String = serde_json::from_str(&inert_lines(&json)).unwrap();
        assert_eq!(back, hostile);
        let back: String = serde_json::from_str(&format!("\"{}\"", inert(hostile))).unwrap();
        assert_eq!(back, hostile);
    }

    #[test]
    fn shell_words_and_comments() {
        assert_eq!(shell_word("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(shell_double("a\"$`\\b"), "a\\\"\\$\\`\\\\b");
        assert_eq!(shell_comment("x\ntouch y\r"), "# x\\ntouch y\\r\n");
    }

    #[test]
    fn github_escaping() {
        assert_eq!(github_message("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(github_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            defuse_workflow_commands("ok\n  ::error::x\n::set-output\r::warning::y"),
            "ok\n  : :error::x\n: :set-output\r: :warning::y"
        );
    }
}
