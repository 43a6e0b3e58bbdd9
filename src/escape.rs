//! Making text that skconn did not write itself — display names, identifiers and messages from a
//! server, file names — inert in the places skconn writes it: a terminal, a Markdown comment, a
//! GitHub Actions log and its workflow commands.
//!
//! Pure string functions; nothing here writes anywhere.

use std::borrow::Cow;

/// Whether a character must not reach a terminal or log as itself: C0 and C1 controls, DEL,
/// line and paragraph separators, and the bidirectional overrides that reorder what is shown.
pub fn is_unsafe(c: char) -> bool {
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
    fn control_characters_are_escaped() {
        assert_eq!(inert("plain ünïcode 🙂"), "plain ünïcode 🙂");
        assert_eq!(
            inert("a\n::warning x\x1b[31m\u{202e}"),
            "a\\n::warning x\\u{1b}[31m\\u{202e}"
        );
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(url("https://h.example/a/b"), "https://h.example/a/b");
        assert_eq!(
            url("https://u:p@h.example:8443/x?api_key=s&page=2&flag&empty=#access_token=t&a"),
            "https://***@h.example:8443/x?api_key=***&page=***&***&empty=#access_token=***&a"
        );
        assert_eq!(
            url("http://127.0.0.1:1/mcp?k=v"),
            "http://127.0.0.1:1/mcp?k=***"
        );
        // Text that is not a URL, or not a valid one, is treated alike.
        assert_eq!(url("https://exa mple/x?t=s"), "https://exa mple/x?t=***");
        assert_eq!(url("ftp://a@b/?t=s"), "ftp://***@b/?t=***");
        assert_eq!(url("no url here"), "no url here");
        assert_eq!(url("https://h/x?t=a\r\nb"), "https://h/x?t=***");
        assert_eq!(
            url("https://h/x\r::warning::y"),
            "https://h/x\\r::warning::y"
        );
        assert_eq!(url("https://h/p@q"), "https://h/p@q");
        assert_eq!(url("https://u:pa#ss@h/x"), "https://***@h/x");
        assert_eq!(url("http://h?k=v"), "http://h?k=***");
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
