//! The only module that writes to the terminal and to output files (saved plans, job summaries,
//! imported connector files). On its way out, every byte passes through the same three steps,
//! last and in this order, whatever the caller did:
//!
//! 1. the inert-text rule ([`crate::output::escape::inert_lines`]): no control character, escape
//!    sequence, bidirectional override or lone CR from any text reaches a terminal, a log or a
//!    file as itself. The only escape sequences written are skconn's own styling (below);
//! 2. in GitHub Actions (`GITHUB_ACTIONS=true`), no line can start a workflow command
//!    (`::warning ...`) unless it was written by [`annotation`]: any other line that starts
//!    with `::` is written as `: :`. Once standard output carries a document a program reads
//!    ([`stdout_is_a_document`]), workflow commands go to standard error;
//! 3. [`crate::output::secret::redact`], so a secret that slipped into a message is still never shown.
//!
//! # Why server text cannot style or move the terminal
//!
//! [`Style`] does not put escape sequences into the text it colours: it puts tokens — a Unicode
//! noncharacter, a random nonce made once per process, the SGR code, the noncharacter again.
//! When the text is written, each token becomes its escape sequence, and everything between
//! tokens goes through the inert-text rule, which escapes raw ESC bytes and noncharacters alike.
//! Text from anywhere else cannot make a token (it does not know the nonce, which is never
//! written), so the class "server text reaches the terminal as a control sequence" is closed
//! here, for every caller, rather than by each renderer remembering to escape each field.
//! Renderers still make single-line fields [`crate::output::escape::inert`], so that a line break in a
//! display name cannot start a line of its own.
//!
//! What it must never do: write a byte that has not gone through [`finish`], or turn text that
//! did not come from [`Style`] (or [`styled_ansi`], for clap's help) into an escape sequence.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod escape;
pub mod log;
pub mod secret;

use crate::output::secret::redact;
use std::io::{IsTerminal, Write};

/// When to colour what skconn writes (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Colours and emphasis, or plain text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub const PLAIN: Style = Style { color: false };

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{}{s}{}", token(code), token("0"))
        } else {
            s.to_string()
        }
    }
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Whether to colour a stream: `always`, `never`, or on a terminal or in a GitHub Actions job
/// log (`GITHUB_ACTIONS=true`, whose log shows colours) unless `NO_COLOR` is set (to anything
/// but the empty string) or `TERM=dumb`.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            (is_terminal || std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true"))
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Starts and ends a styling token (a Unicode noncharacter: never interchanged, and escaped by
/// the inert-text rule wherever else it appears).
const MARK: char = '\u{FDD0}';

/// The token payload of the progress line's "return to the line start and clear it".
const CLEAR_LINE: &str = "K";

/// This process's nonce: 16 hex digits from the operating system's random source, never
/// written anywhere (every token is replaced on its way out).
fn nonce() -> &'static str {
    static NONCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NONCE.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::getrandom(&mut bytes).is_err() {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            bytes = h.finish().to_le_bytes();
        }
        crate::base::hex::hex(bytes)
    })
}

/// A styling token: `MARK nonce payload MARK`. The payload is an SGR parameter list (`1`,
/// `32`, `1;4`) or [`CLEAR_LINE`].
fn token(payload: &str) -> String {
    format!("{MARK}{}{payload}{MARK}", nonce())
}

/// The escape sequence of a token at the start of `s`, and the token's length in bytes.
fn parse_token(s: &str) -> Option<(String, usize)> {
    let rest = s.strip_prefix(MARK)?.strip_prefix(nonce())?;
    let end = rest.find(MARK)?;
    let payload = &rest[..end];
    let seq = if payload == CLEAR_LINE {
        "\r\x1b[2K".to_string()
    } else if !payload.is_empty()
        && payload.len() <= 16
        && payload.bytes().all(|b| b.is_ascii_digit() || b == b';')
    {
        format!("\x1b[{payload}m")
    } else {
        return None;
    };
    let len = s.len() - rest.len() + end + MARK.len_utf8();
    Some((seq, len))
}

/// The first step of every write: skconn's own styling tokens become their escape sequences,
/// and all other text goes through the inert-text rule.
pub fn finish(text: &str) -> std::borrow::Cow<'_, str> {
    use crate::output::escape::inert_lines;
    if !text.contains(MARK) {
        return inert_lines(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        match parse_token(&rest[i..]) {
            Some((seq, len)) => {
                out.push_str(&inert_lines(&rest[..i]));
                out.push_str(&seq);
                rest = &rest[i + len..];
            }
            None => {
                // Not a token of this process: the mark is text, escaped with what precedes it.
                let end = i + MARK.len_utf8();
                out.push_str(&inert_lines(&rest[..end]));
                rest = &rest[end..];
            }
        }
    }
    out.push_str(&inert_lines(rest));
    std::borrow::Cow::Owned(out)
}

/// Text as it is written: [`finish`], workflow commands defused, secrets redacted.
fn prepared(text: &str) -> String {
    let text = finish(text);
    let text = inert_commands(&text);
    redact(&text).into_owned()
}

/// Clap's styled help or error (its ANSI rendering of skconn's own command definitions), with
/// its SGR sequences turned into styling tokens; any other escape sequence stays text, and is
/// made inert when written.
pub fn styled_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let params = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .filter(|&n| after[n..].starts_with('m') && n > 0);
        match params {
            Some(n) => {
                out.push_str(&token(&after[..n]));
                rest = &after[n + 1..];
            }
            None => {
                out.push_str("\x1b[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text as [`out`] would write it, for a document that is written by other means: the MCP
/// server's results, serialised onto standard output by its protocol. The same steps, except
/// that a document carries no styling: a styling token is text here, escaped like any other.
pub fn as_written(text: &str) -> String {
    let text = crate::output::escape::inert_lines(text);
    let text = inert_commands(&text);
    redact(&text).into_owned()
}

/// While `Some`, what [`out`] is given is kept here instead of written: standard output
/// carries a protocol ([`stdout_carries_protocol`]), and the text goes into the result of the
/// request that made it.
static CAPTURED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Says that standard output carries a protocol (`skconn mcp`): from now on nothing but the
/// protocol is written to it. What commands print there is kept for [`take_captured`];
/// workflow commands go to standard error.
pub fn stdout_carries_protocol() {
    stdout_is_a_document();
    let mut c = CAPTURED.lock().unwrap_or_else(|e| e.into_inner());
    c.get_or_insert_with(String::new);
}

/// What [`out`] kept since the last call (already inert and redacted), emptied.
pub fn take_captured() -> String {
    let mut c = CAPTURED.lock().unwrap_or_else(|e| e.into_inner());
    c.as_mut().map(std::mem::take).unwrap_or_default()
}

/// Writes to stdout. A closed pipe (`skconn plan | head`) is not an error worth a panic.
pub fn out(text: &str) {
    let text = prepared(text);
    {
        let mut c = CAPTURED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kept) = c.as_mut() {
            kept.push_str(&text);
            return;
        }
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Writes to stderr.
pub fn err(text: &str) {
    let text = prepared(text);
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.flush();
}

/// Set once standard output carries a document a program reads (a JSON plan, Markdown, curl
/// commands, `ENV=DIGEST` lines).
static STDOUT_IS_A_DOCUMENT: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Says that standard output carries a document (`plan --format json > plan.json`): from now
/// on, workflow commands ([`annotation`]) go to standard error, which GitHub's runner reads
/// them from as well, so that the document stays whole.
pub fn stdout_is_a_document() {
    STDOUT_IS_A_DOCUMENT.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Writes one GitHub Actions workflow command to stdout (to stderr once
/// [`stdout_is_a_document`]), e.g.
/// `annotation("error", &[("file", "a.yaml"), ("line", "3")], "message")`. Property values and
/// the message are escaped per GitHub's rules, so that nothing in them can end the command or
/// start another one.
pub fn annotation(command: &str, properties: &[(&str, &str)], message: &str) {
    let mut line = format!("::{command}");
    for (i, (k, v)) in properties.iter().enumerate() {
        line.push(if i == 0 { ' ' } else { ',' });
        line.push_str(k);
        line.push('=');
        line.push_str(&crate::output::escape::github_property(v));
    }
    line.push_str("::");
    line.push_str(&crate::output::escape::github_message(message));
    line.push('\n');
    // Its properties and message hold no line break (escaped above): only the inert-text rule
    // and the redaction apply.
    let line = finish(&line);
    if STDOUT_IS_A_DOCUMENT.load(std::sync::atomic::Ordering::SeqCst) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(redact(&line).as_bytes());
        let _ = e.flush();
        return;
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(redact(&line).as_bytes());
    let _ = o.flush();
}

/// Writes (creates or replaces) a file: inert, redacted.
pub fn write_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let text = finish(text);
    std::fs::write(path, redact(&text).as_bytes())
}

/// Appends to a file (a job summary): inert, redacted.
pub fn append_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let text = finish(text);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(redact(&text).as_bytes())
}

fn in_github_actions() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true"))
}

/// In GitHub Actions, lines that would start a workflow command are defused.
fn inert_commands(text: &str) -> std::borrow::Cow<'_, str> {
    if !in_github_actions() {
        return std::borrow::Cow::Borrowed(text);
    }
    crate::output::escape::defuse_workflow_commands(text)
}

/// Reads one line from stdin (for confirmation prompts).
pub fn read_line() -> Option<String> {
    let mut s = String::new();
    match std::io::stdin().read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim().to_string()),
    }
}

/// A progress line on stderr, rewritten in place; only used on a terminal.
pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress { enabled }
    }
    pub fn update(&self, text: &str) {
        if self.enabled {
            err(&format!(
                "{}{}",
                token(CLEAR_LINE),
                crate::output::escape::inert(text)
            ));
        }
    }
    pub fn finish(&self) {
        if self.enabled {
            err(&token(CLEAR_LINE));
        }
    }
}

/// A `tracing` writer for stderr: every log line is written like any other text.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

/// One log event's bytes, written (redacted) when the event is complete.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        // Coloured or not, like every other write: the formatter's colours are `Style` tokens.
        err(&String::from_utf8_lossy(&self.0));
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skconns_own_styling_becomes_escape_sequences() {
        let style = Style { color: true };
        let text = format!("{} plain", style.green("+"));
        assert_eq!(finish(&text), "\x1b[32m+\x1b[0m plain");
        // Raw sequences and forged tokens from any other text are shown, escaped.
        let forged = format!("{MARK}0000000000000000{}32{MARK}x", "");
        assert_eq!(
            finish(&format!("a\x1b[2Jb {forged}")),
            "a\\u001b[2Jb \\ufdd0000000000000000032\\ufdd0x"
        );
        let cut = format!("{}{MARK}", &token("1")[..5]);
        assert!(!finish(&cut).contains('\x1b'));
        // A CR is a line break; the progress line's own CR is not text.
        assert_eq!(finish("a\rb"), "a\nb");
        assert_eq!(finish(&token(CLEAR_LINE)), "\r\x1b[2K");
    }

    #[test]
    fn clap_colours_become_tokens_and_nothing_else_does() {
        let help = "\x1b[1m\x1b[4mUsage:\x1b[0m skconn \x1b[2J\x1b]0;t\x07";
        assert_eq!(
            finish(&styled_ansi(help)),
            "\x1b[1m\x1b[4mUsage:\x1b[0m skconn \\u001b[2J\\u001b]0;t\\u0007"
        );
    }
}
