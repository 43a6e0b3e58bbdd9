//! The only module that writes to the terminal and to output files (saved plans, job summaries,
//! imported connector files). Everything passes through [`crate::secret::redact`] last, on its
//! way out, so a secret that slipped into a message is still never shown.
//!
//! In GitHub Actions (`GITHUB_ACTIONS=true`) no line written to stdout or stderr can start a
//! workflow command (`::warning ...`) unless it was written by [`annotation`]: any other line
//! that starts with `::` is written as `: :`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::cli::ColorChoice;
use crate::secret::redact;
use std::io::{IsTerminal, Write};

/// Colours and emphasis, or plain text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub const PLAIN: Style = Style { color: false };

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
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

/// Writes to stdout. A closed pipe (`skconn plan | head`) is not an error worth a panic.
pub fn out(text: &str) {
    let text = inert_commands(text);
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(redact(&text).as_bytes());
    let _ = o.flush();
}

/// Writes to stderr.
pub fn err(text: &str) {
    let text = inert_commands(text);
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(redact(&text).as_bytes());
    let _ = e.flush();
}

/// Writes one GitHub Actions workflow command to stdout, e.g.
/// `annotation("error", &[("file", "a.yaml"), ("line", "3")], "message")`. Property values and
/// the message are escaped per GitHub's rules, so that nothing in them can end the command or
/// start another one.
pub fn annotation(command: &str, properties: &[(&str, &str)], message: &str) {
    let mut line = format!("::{command}");
    for (i, (k, v)) in properties.iter().enumerate() {
        line.push(if i == 0 { ' ' } else { ',' });
        line.push_str(k);
        line.push('=');
        line.push_str(&crate::escape::github_property(v));
    }
    line.push_str("::");
    line.push_str(&crate::escape::github_message(message));
    line.push('\n');
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(redact(&line).as_bytes());
    let _ = o.flush();
}

/// Writes (creates or replaces) a file, redacted.
pub fn write_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, redact(text).as_bytes())
}

/// Appends to a file (a job summary), redacted.
pub fn append_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(redact(text).as_bytes())
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
    crate::escape::defuse_workflow_commands(text)
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
            err(&format!("\r\x1b[2K{text}"));
        }
    }
    pub fn finish(&self) {
        if self.enabled {
            err("\r\x1b[2K");
        }
    }
}

/// A `tracing` writer for stderr that redacts secrets from every log line.
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
        let line = String::from_utf8_lossy(&self.0);
        if LOG_COLOR.load(std::sync::atomic::Ordering::Relaxed) {
            err(&line);
        } else {
            // Without colours, no escape sequence belongs in a log line: one there came from a
            // server-supplied value.
            err(&crate::escape::inert_lines(&line));
        }
    }
}

/// Whether log lines carry colour: decided once, where logging is set up (`log::init`, from
/// `--color` like every other output), so that the formatter and this writer agree. With colour
/// on, the formatter escapes control characters in logged values itself.
static LOG_COLOR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records whether log lines are coloured (see [`LOG_COLOR`]).
pub fn set_log_color(on: bool) {
    LOG_COLOR.store(on, std::sync::atomic::Ordering::Relaxed);
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}
