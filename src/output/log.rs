//! Log lines on stderr: `--log-format text` (for people) or `json` (one object per line, for
//! log pipelines). Every line goes through the output layer, like all output: inert, defused,
//! redacted.
//!
//! A text line reads like skconn's other messages (`error: …`, `warning: …`), whatever its level:
//! `warning: request failed; retrying (env=dev method=GET path=/api/v1/providers attempt=1)`.
//! The level word is coloured with skconn's [`Style`] (so colour follows `--color` like every
//! other output), the message and the values are made inert, one event is one line. No
//! timestamp: terminals and CI logs carry their own, and the JSON lines have one.
//!
//! A JSON line holds `timestamp` (RFC 3339, UTC), `level`, `target`, `message`, `elapsed`
//! (seconds since skconn started), and when the event carries them `environment`,
//! `request: {method, path}`, `attempt`, plus any other field of the event under its own name.

use crate::output::escape::inert;
use crate::output::Style;
use serde_json::{Map, Value};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::Level;
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Writes a message meant for people on stderr (a notice, a per-change result line): as it is
/// with `--log-format text`, as one JSON object with `--log-format json`, so that a log
/// pipeline reads only JSON. `text` ends with a newline.
pub fn message(level: &str, environment: Option<&str>, text: &str) {
    if !JSON.load(std::sync::atomic::Ordering::Relaxed) {
        crate::output::err(text);
        return;
    }
    let mut fields = Map::new();
    fields.insert("message".into(), Value::String(text.trim().to_string()));
    if let Some(env) = environment {
        fields.insert("env".into(), Value::String(env.to_string()));
    }
    let elapsed = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    crate::output::err(&json_line(level, "skconn", elapsed, fields));
}

/// Sets up logging for the process: the level from `-v`/`-q` (or `RUST_LOG`), the format from
/// `--log-format`.
pub fn init(verbose: u8, quiet: bool, format: LogFormat, color: crate::output::ColorChoice) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "skconn=info,warn",
        (false, 2) => "skconn=debug,info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    match format {
        LogFormat::Text => {
            let style = Style {
                color: crate::output::use_color(color, crate::output::stderr_is_terminal()),
            };
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(crate::output::LogWriter)
                .with_ansi(false)
                .event_format(TextLines { style })
                .init();
        }
        LogFormat::Json => {
            JSON.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = tracing_subscriber::registry()
                .with(JsonLines {
                    started: *STARTED.get_or_init(Instant::now),
                })
                .with(filter)
                .try_init();
        }
    }
}

/// Writes each event as one line of text (see the module docs).
struct TextLines {
    style: Style,
}

impl<S, N> FormatEvent<S, N> for TextLines
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        writeln!(
            writer,
            "{}",
            text_line(*event.metadata().level(), fields.0, &self.style)
        )
    }
}

/// One text log line (without its line feed): the level word, the message, the other fields.
fn text_line(level: Level, mut fields: Map<String, Value>, style: &Style) -> String {
    let word = match level {
        Level::ERROR => style.red("error:"),
        Level::WARN => style.yellow("warning:"),
        Level::INFO => style.cyan("info:"),
        Level::DEBUG => style.dim("debug:"),
        Level::TRACE => style.dim("trace:"),
    };
    let message = match fields.remove("message") {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut line = format!("{word} {}", inert(&message));
    if !fields.is_empty() {
        let list: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", inert(k), field_value(v)))
            .collect();
        line.push(' ');
        line.push_str(&style.dim(&format!("({})", list.join(" "))));
    }
    line
}

/// A field's value in a text line: a plain word as it is, other text quoted, all of it inert.
fn field_value(v: &Value) -> String {
    match v {
        Value::String(s)
            if !s.is_empty() && !s.contains([' ', '"', '(', ')', '=']) && !s.contains('\\') =>
        {
            inert(s).into_owned()
        }
        other => inert(&other.to_string()).into_owned(),
    }
}

/// Writes each event as one JSON object on stderr.
struct JsonLines {
    started: Instant,
}

impl<S: tracing::Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = json_line(
            meta.level().as_str(),
            meta.target(),
            self.started.elapsed().as_secs_f64(),
            fields.0,
        );
        crate::output::err(&line);
    }
}

/// One log line from an event's level, target, elapsed time and fields.
fn json_line(level: &str, target: &str, elapsed: f64, mut fields: Map<String, Value>) -> String {
    let mut obj = Map::new();
    obj.insert(
        "timestamp".into(),
        Value::String(crate::output::log::rfc3339(std::time::SystemTime::now())),
    );
    obj.insert("level".into(), Value::String(level.to_ascii_lowercase()));
    obj.insert("target".into(), Value::String(target.to_string()));
    obj.insert(
        "message".into(),
        fields
            .remove("message")
            .unwrap_or(Value::String(String::new())),
    );
    if let Some(env) = fields.remove("env") {
        obj.insert("environment".into(), env);
    }
    let method = fields.remove("method");
    let path = fields.remove("path");
    if method.is_some() || path.is_some() {
        let mut req = Map::new();
        req.insert("method".into(), method.unwrap_or(Value::Null));
        req.insert("path".into(), path.unwrap_or(Value::Null));
        obj.insert("request".into(), Value::Object(req));
    }
    if let Some(attempt) = fields.remove("attempt") {
        obj.insert("attempt".into(), attempt);
    }
    let elapsed = (elapsed * 1000.0).round() / 1000.0;
    obj.insert("elapsed".into(), serde_json::json!(elapsed));
    for (k, v) in fields {
        obj.entry(k).or_insert(v);
    }
    let mut s = Value::Object(obj).to_string();
    s.push('\n');
    s
}

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

/// `2024-05-01T12:00:00.123Z`.
pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let (year, month, day, hour, minute, second) = crate::base::time::civil(d.as_secs());
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_709_164_800_123);
        assert_eq!(rfc3339(t), "2024-02-29T00:00:00.123Z");
    }

    #[test]
    fn a_text_line_reads_like_skconns_messages_and_is_inert() {
        let mut f = Map::new();
        f.insert("message".into(), "request failed; retrying".into());
        f.insert("env".into(), "dev".into());
        f.insert("path".into(), "/api/v1/providers".into());
        f.insert("attempt".into(), 2.into());
        assert_eq!(
            text_line(Level::WARN, f, &Style::PLAIN),
            "warning: request failed; retrying (attempt=2 env=dev path=/api/v1/providers)"
        );
        let hostile = "Evil\r::warning::x\x1b[2J\n";
        let mut f = Map::new();
        f.insert("message".into(), format!("listed {hostile}").into());
        f.insert("display_name".into(), hostile.into());
        let line = text_line(Level::ERROR, f, &Style { color: true });
        let written = crate::output::finish(&line);
        assert!(
            !written.contains("\x1b[2J") && !written.contains(['\r', '\n']),
            "{written:?}"
        );
        assert!(
            written.starts_with("\x1b[31merror:\x1b[0m listed Evil\\r::warning::x\\u001b[2J\\n"),
            "{written:?}"
        );
        assert!(
            written.ends_with("(display_name=Evil\\r::warning::x\\u001b[2J\\n)\x1b[0m"),
            "{written:?}"
        );
        let mut f = Map::new();
        f.insert("message".into(), "m".into());
        f.insert("detail".into(), "two words".into());
        assert_eq!(
            text_line(Level::DEBUG, f, &Style::PLAIN),
            "debug: m (detail=\"two words\")"
        );
    }

    #[test]
    fn a_line_has_the_named_fields() {
        let mut f = Map::new();
        f.insert("message".into(), "request failed; retrying".into());
        f.insert("env".into(), "dev".into());
        f.insert("method".into(), "PUT".into());
        f.insert("path".into(), "/api/v1/custom-providers/x".into());
        f.insert("attempt".into(), 2.into());
        f.insert("wait_ms".into(), 200.into());
        let line = json_line("WARN", "skconn::remote::call", 1.23456, f);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["target"], "skconn::remote::call");
        assert_eq!(v["environment"], "dev");
        assert_eq!(v["request"]["method"], "PUT");
        assert_eq!(v["request"]["path"], "/api/v1/custom-providers/x");
        assert_eq!(v["attempt"], 2);
        assert_eq!(v["elapsed"], 1.235);
        assert_eq!(v["wait_ms"], 200);
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
    }
}
