//! Making text that skconn did not write itself — display names, identifiers and messages from a
//! server, file names — inert in the places skconn writes it: a terminal, a Markdown comment, a
//! GitHub Actions log and its workflow commands.
//!
//! Pure string functions; nothing here writes anywhere.

use std::borrow::Cow;

/// Whether a character must not reach a terminal or log as itself: C0 and C1 controls, DEL,
/// line and paragraph separators, and the bidirectional overrides that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes control characters: `\n`, `\r`, `\t`, and `\u{1b}` for the others, so that a
/// server-supplied string stays on one line and cannot colour, move the cursor or start a
/// workflow command. Ordinary text (any script, emoji) is unchanged.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`inert`], but keeps line breaks: for whole messages skconn composed over several
/// lines, which may quote server-supplied text (a line that would start a workflow command is
/// defused when written, see `output`).
pub fn inert_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<String> = s.split('\n').map(|l| inert(l).into_owned()).collect();
    Cow::Owned(lines.join("\n"))
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
/// commands; they are written as `: :` instead.
pub fn defuse_workflow_commands(text: &str) -> Cow<'_, str> {
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !text.split('\n').any(starts_command) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            if starts_command(line) {
                line.replacen("::", ": :", 1)
            } else {
                line.to_string()
            }
        })
        .collect();
    Cow::Owned(lines.join("\n"))
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

/// A word a POSIX shell reads back as `s`, exactly: single-quoted, each `'` written `'\''`.
pub fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
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
            inert("a\n::warning x\x1b[31m\u{202e}"),
            "a\\n::warning x\\u{1b}[31m\\u{202e}"
        );
    }

    #[test]
    fn github_escaping() {
        assert_eq!(github_message("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(github_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            defuse_workflow_commands("ok\n  ::error::x\n::set-output"),
            "ok\n  : :error::x\n: :set-output"
        );
    }
}
