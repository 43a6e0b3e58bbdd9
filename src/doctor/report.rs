//! The report, written: text (a line per check), Markdown (a table per environment) and JSON
//! (`format_version` "1", made to be attached to a bug report as it is). Pure functions of the
//! report value; `output` applies the redaction and the inert-text rule when they are written.

use super::{title, Check, EnvReport, Report, Status, Tally};
use crate::output::escape::{inert, markdown};
use crate::output::Style;
use serde_json::{json, Value};

/// The version of the JSON report. Within a version fields are only ever added.
pub const FORMAT_VERSION: &str = "1";

fn mark(status: Status, style: &Style) -> String {
    match status {
        Status::Ok => style.green("ok     "),
        Status::Warning => style.yellow("warning"),
        Status::Failed => style.red("failed "),
    }
}

fn counts(t: &Tally) -> String {
    format!(
        "{} ok, {} warning{}, {} failed",
        t.ok,
        t.warning,
        if t.warning == 1 { "" } else { "s" },
        t.failed
    )
}

fn text_line(c: &Check, style: &Style) -> String {
    let mut line = format!(
        "  {} {}: {}",
        mark(c.status, style),
        style.bold(c.title()),
        inert(&c.saw)
    );
    if !c.advice.is_empty() {
        line.push_str(&format!(" {} {}", style.dim("→"), inert(&c.advice)));
    }
    line.push('\n');
    line
}

fn not_run_text(ids: &[&str]) -> String {
    let titles: Vec<&str> = ids.iter().map(|i| title(i)).collect();
    format!(
        "not checked (an earlier check failed): {}",
        titles.join(", ")
    )
}

/// The report as text: the project's checks, then each environment's, one line a check.
pub fn text(r: &Report, style: &Style) -> String {
    let mut out = String::new();
    if !r.checks.is_empty() {
        out.push_str(&format!("{}\n", style.bold("This folder")));
        for c in &r.checks {
            out.push_str(&text_line(c, style));
        }
    }
    for e in &r.environments {
        out.push('\n');
        let url = if e.url.is_empty() {
            String::new()
        } else {
            format!(" ({})", inert(&e.url))
        };
        out.push_str(&format!(
            "{}{url}\n",
            style.bold(&format!("Environment {}", inert(&e.name)))
        ));
        for c in &e.checks {
            out.push_str(&text_line(c, style));
        }
        if !e.not_run.is_empty() {
            out.push_str(&format!("  {}\n", style.dim(&not_run_text(&e.not_run))));
        }
    }
    out.push_str(&format!("\nDoctor: {}.\n", counts(&r.tally())));
    out
}

fn emoji(status: Status) -> &'static str {
    match status {
        Status::Ok => "✅",
        Status::Warning => "⚠️",
        Status::Failed => "❌",
    }
}

fn table(checks: &[Check]) -> String {
    let mut out = String::from("| | check | saw | what to do |\n|---|---|---|---|\n");
    for c in checks {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            emoji(c.status),
            markdown(c.title()),
            markdown(&c.saw),
            markdown(&c.advice)
        ));
    }
    out
}

/// The report as Markdown: a table for the folder, then one per environment.
pub fn markdown_report(r: &Report) -> String {
    let t = r.tally();
    let mut out = format!("## {} skconn doctor\n\n{}\n", emoji(t.status()), counts(&t));
    if !r.checks.is_empty() {
        out.push_str(&format!("\n### This folder\n\n{}", table(&r.checks)));
    }
    for e in &r.environments {
        let url = if e.url.is_empty() {
            String::new()
        } else {
            format!(" ({})", markdown(&e.url))
        };
        out.push_str(&format!(
            "\n### {} Environment `{}`{url}\n\n{}\n\n{}",
            emoji(e.tally().status()),
            markdown(&e.name),
            counts(&e.tally()),
            table(&e.checks)
        ));
        if !e.not_run.is_empty() {
            out.push_str(&format!("\n{}\n", markdown(&not_run_text(&e.not_run))));
        }
    }
    out
}

fn check_json(c: &Check) -> Value {
    json!({
        "id": c.id,
        "title": c.title(),
        "status": c.status,
        "saw": c.saw,
        "advice": c.advice,
    })
}

fn tally_json(t: &Tally) -> Value {
    json!({"status": t.status(), "ok": t.ok, "warning": t.warning, "failed": t.failed})
}

fn env_json(e: &EnvReport) -> Value {
    json!({
        "name": e.name,
        "url": e.url,
        "summary": tally_json(&e.tally()),
        "checks": e.checks.iter().map(check_json).collect::<Vec<_>>(),
        "not_run": e.not_run,
    })
}

/// The report as one JSON document (see `docs/doctor.md` and `schema/doctor.schema.json`).
pub fn json(r: &Report) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "skconn_version": env!("CARGO_PKG_VERSION"),
        "summary": tally_json(&r.tally()),
        "checks": r.checks.iter().map(check_json).collect::<Vec<_>>(),
        "environments": r.environments.iter().map(env_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut e = EnvReport::new("dev");
        e.url = "https://acme.scalekit.dev".into();
        e.checks
            .push(Check::ok("config.url", "https://acme.scalekit.dev"));
        e.checks.push(Check::warning("clock", "a | b\nc", "fix it"));
        e.checks
            .push(Check::failed("network.tls", "not trusted", "set ca_file"));
        e.stop_after("network.tls");
        Report {
            checks: vec![Check::ok("folder", "fine")],
            environments: vec![e],
        }
    }

    #[test]
    fn text_has_a_line_per_check_and_a_summary() {
        let t = text(&report(), &Style::PLAIN);
        assert!(
            t.contains("  ok      Environment URL: https://acme.scalekit.dev\n"),
            "{t}"
        );
        assert!(t.contains("  warning Clock: a | b\\nc → fix it\n"), "{t}");
        assert!(
            t.contains("not checked (an earlier check failed): Round trip, Access token"),
            "{t}"
        );
        assert!(t.ends_with("Doctor: 2 ok, 1 warning, 1 failed.\n"), "{t}");
    }

    #[test]
    fn markdown_cells_are_escaped() {
        let m = markdown_report(&report());
        assert!(m.contains("| ⚠️ | Clock | a \\| b\\nc | fix it |"), "{m}");
        assert!(m.starts_with("## ❌ skconn doctor"), "{m}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let j = json(&report());
        assert_eq!(j["format_version"], "1");
        assert_eq!(j["summary"]["status"], "failed");
        let e = &j["environments"][0];
        assert_eq!(e["checks"][1]["id"], "clock");
        assert_eq!(e["checks"][1]["title"], "Clock");
        assert_eq!(e["checks"][1]["status"], "warning");
        assert_eq!(e["not_run"][0], "network.http");
    }
}
