//! The only module that writes to the terminal. Everything passes through
//! [`crate::secret::redact`] on its way out, so a secret that slipped into a message is still
//! never shown.

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
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(redact(text).as_bytes());
    let _ = o.flush();
}

/// Writes to stderr.
pub fn err(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(redact(text).as_bytes());
    let _ = e.flush();
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
        err(&String::from_utf8_lossy(&self.0));
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}
