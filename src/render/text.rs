//! The Terraform-like text form of a plan and of an apply's outcome.

use crate::apply::{ChangeOutcome, EnvOutcome, Status};
use crate::error::Diagnostic;
use crate::output::Style;
use crate::plan::{Action, Change, EnvPlan, Op, Plan, Summary};
use serde_json::Value;
use std::fmt::Write;

/// Longest value shown inline in a diff line; longer values are cut with an ellipsis.
const MAX_VALUE_CHARS: usize = 160;

/// The whole plan, one block per environment.
pub fn plan(plan: &Plan, style: &Style) -> String {
    let mut s = String::new();
    for env in &plan.environments {
        env_plan(&mut s, env, style);
    }
    if plan.environments.len() > 1 {
        let t = plan.summary();
        let _ = writeln!(s, "{}", style.bold(&format!("Total: {}", summary_line(&t))));
    }
    s
}

fn env_plan(s: &mut String, env: &EnvPlan, style: &Style) {
    let _ = writeln!(s, "{}", style.bold(&format!("Environment {}:", env.name)));
    if env.changes.is_empty() {
        let _ = writeln!(
            s,
            "  No changes. {} connector(s) match the files.",
            env.unchanged
        );
    }
    for c in &env.changes {
        change(s, c, style);
    }
    if !env.changes.is_empty() && env.unchanged > 0 {
        let _ = writeln!(s, "  {} unchanged.", env.unchanged);
    }
    if !env.not_managed.is_empty() {
        let names: Vec<String> = env.not_managed.iter().map(|n| format!("\"{n}\"")).collect();
        let _ = writeln!(
            s,
            "  {}",
            style.dim(&format!("Not managed, left alone: {}", names.join(", ")))
        );
    }
    let _ = writeln!(s, "{}\n", summary_line(&env.summary()));
}

/// `Plan: 1 to create, 2 to update, 0 to delete.`
pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to delete.",
        s.create, s.update, s.delete
    )
}

fn change(s: &mut String, c: &Change, style: &Style) {
    let (sign, paint): (&str, fn(&Style, &str) -> String) = match c.action {
        Action::Create => ("+", Style::green),
        Action::Update => ("~", Style::yellow),
        Action::Delete => ("-", Style::red),
    };
    let mut head = format!(
        "  {} {} \"{}\"",
        paint(style, sign),
        c.action.verb(),
        c.display_name
    );
    if let Some(id) = &c.identifier {
        let _ = write!(head, " {}", style.dim(&format!("[{id}]")));
    }
    if let Some(f) = &c.file {
        let _ = write!(head, " {}", style.dim(&format!("({})", f.display())));
    }
    if c.drift {
        let _ = write!(head, " {}", style.yellow("(drift: edited outside skconn)"));
    }
    let _ = writeln!(s, "{head}");
    for f in &c.diff {
        let line = match f.op {
            Op::Add => format!(
                "      {} {}: {}",
                style.green("+"),
                f.path,
                value(f.new.as_ref())
            ),
            Op::Remove => format!(
                "      {} {}: {}",
                style.red("-"),
                f.path,
                value(f.old.as_ref())
            ),
            Op::Replace => format!(
                "      {} {}: {} → {}",
                style.yellow("~"),
                f.path,
                value(f.old.as_ref()),
                value(f.new.as_ref())
            ),
        };
        let _ = writeln!(s, "{line}");
    }
    for w in &c.warnings {
        let _ = writeln!(s, "      {} {}", style.yellow("!"), w);
    }
}

/// A JSON value on one line, cut to a readable length.
pub fn value(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(none)".into() };
    // Masked values are removed before cutting, so a cut can never leave a secret's start.
    let s = crate::secret::redact(&serde_json::to_string(v).unwrap_or_default()).into_owned();
    if s.chars().count() > MAX_VALUE_CHARS {
        let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// What an apply did, per environment.
pub fn outcome(outcomes: &[EnvOutcome], style: &Style) -> String {
    let mut s = String::new();
    for env in outcomes {
        let _ = writeln!(s, "{}", style.bold(&format!("Environment {}:", env.name)));
        if let Some(e) = &env.error {
            let _ = writeln!(s, "  {} {}", style.red("error:"), e);
        }
        for o in &env.changes {
            let _ = writeln!(s, "  {}", outcome_line(o, style));
        }
        let (a, f, n) = env.counts();
        let _ = writeln!(s, "Applied {a} change(s), {f} failed, {n} not attempted.\n");
    }
    s
}

/// What happened to one change, on one line (`✓ created "A"`, `✗ update "B" failed: …`).
pub fn outcome_line(o: &ChangeOutcome, style: &Style) -> String {
    let what = format!("{} \"{}\"", o.action.verb(), o.display_name);
    match &o.status {
        Status::Applied { note } => {
            let mut l = format!("{} {}", style.green("✓"), past(o.action, &o.display_name));
            if let Some(n) = note {
                let _ = write!(l, " {}", style.dim(&format!("({n})")));
            }
            l
        }
        Status::Failed(msg) => format!("{} {what} failed: {msg}", style.red("✗")),
        Status::NotAttempted(why) => format!("{} {what} not attempted: {why}", style.dim("·")),
    }
}

fn past(action: Action, name: &str) -> String {
    match action {
        Action::Create => format!("created \"{name}\""),
        Action::Update => format!("updated \"{name}\""),
        Action::Delete => format!("deleted \"{name}\""),
    }
}

/// Input problems, one block each, then a count.
pub fn diagnostics(list: &[Diagnostic], style: &Style) -> String {
    let mut s = String::new();
    for d in list {
        let _ = write!(s, "{} {}: ", style.red("error:"), style.bold(&d.location()));
        if let Some(f) = &d.field {
            let _ = write!(s, "{}: ", style.cyan(f));
        }
        let _ = writeln!(s, "{}", d.message);
        if let Some(h) = &d.help {
            let _ = writeln!(s, "  {} {h}", style.dim("help:"));
        }
    }
    s
}

/// GitHub Actions annotations for input problems (`::error file=…,line=…,col=…::message`).
pub fn github_annotations(list: &[Diagnostic]) -> String {
    let mut s = String::new();
    for d in list {
        let mut msg = String::new();
        if let Some(f) = &d.field {
            let _ = write!(msg, "{f}: ");
        }
        msg.push_str(&d.message);
        if let Some(h) = &d.help {
            let _ = write!(msg, " (help: {h})");
        }
        let msg = msg
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let file = d
            .file
            .display()
            .to_string()
            .replace(',', "%2C")
            .replace(':', "%3A");
        let _ = write!(s, "::error file={file}");
        if d.line > 0 {
            let _ = write!(s, ",line={}", d.line);
        }
        if d.column > 0 {
            let _ = write!(s, ",col={}", d.column);
        }
        let _ = writeln!(s, "::{msg}");
    }
    s
}
