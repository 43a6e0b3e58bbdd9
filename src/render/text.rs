//! The Terraform-like text form of a plan and of an apply's outcome.

use crate::apply::{ChangeOutcome, EnvOutcome, Status};
use crate::base::error::Diagnostic;
use crate::output::escape::inert;
use crate::output::Style;
use crate::plan::{Action, Change, EnvPlan, FieldChange, Op, Plan, Summary};
use serde_json::Value;
use std::fmt::Write;

/// Longest value shown inline in a diff line; longer values are cut with an ellipsis.
const MAX_VALUE_CHARS: usize = 160;

/// Where the value of a line of a whole object wraps.
const WRAP_COLUMN: usize = 72;

/// Longest value shown in a diff line: a reviewer sees the whole value, up to this.
const MAX_DIFF_VALUE_CHARS: usize = 2_000;

/// An added or removed object longer than this on one line is shown as a block.
const BLOCK_OVER_CHARS: usize = 100;

/// The whole plan, one block per environment, then the refusals.
pub fn plan(plan: &Plan, style: &Style) -> String {
    let mut s = String::new();
    for env in &plan.environments {
        env_plan(&mut s, env, style);
    }
    if plan.environments.len() > 1 {
        let t = plan.summary();
        let _ = writeln!(s, "{}", style.bold(&format!("Total: {}", summary_line(&t))));
    }
    if !plan.refused.is_empty() {
        let _ =
            writeln!(
                s,
                "{}",
                style.red(&style.bold(
                    "Refused: this plan is not safe to apply, and apply will change nothing."
                ))
            );
        for r in &plan.refused {
            let _ = writeln!(
                s,
                "  - environment {}: {}",
                inert(&r.environment),
                inert(&r.reason)
            );
            let _ = writeln!(s, "    to proceed: {}", inert(&r.how_to_proceed));
        }
        s.push('\n');
    }
    s
}

/// One line per environment naming its plan digest (shown with `-v`, and by `apply` when a
/// digest is checked).
pub fn digests(plan: &Plan, style: &Style) -> String {
    let mut s = String::new();
    for env in &plan.environments {
        let _ = writeln!(
            s,
            "{} plan digest {}",
            env.name,
            style.dim(&crate::plan::digest::env_digest(env))
        );
    }
    s
}

fn env_plan(s: &mut String, env: &EnvPlan, style: &Style) {
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!("Environment {}:", inert(&env.name)))
    );
    if let Some(from) = super::source::sentence(env) {
        let _ = writeln!(
            s,
            "  {}",
            style.cyan(&format!(
                "{from} (not read live; usage counts are from the snapshot)."
            ))
        );
    }
    if env.changes.is_empty() {
        let _ = writeln!(
            s,
            "  No changes. {} connector(s) match the files.",
            env.unchanged
        );
    }
    for c in &env.changes {
        change(s, c, super::source::from_snapshot(env), style);
    }
    if !env.changes.is_empty() && env.unchanged > 0 {
        let _ = writeln!(s, "  {} unchanged.", env.unchanged);
    }
    if !env.not_managed.is_empty() {
        let names: Vec<String> = env
            .not_managed
            .iter()
            .map(|n| format!("\"{}\"", inert(n)))
            .collect();
        let _ = writeln!(
            s,
            "  {}",
            style.dim(&format!("Not managed, left alone: {}", names.join(", ")))
        );
    }
    if !env.other_owners.is_empty() {
        let names: Vec<String> = env
            .other_owners
            .iter()
            .map(|(n, o)| format!("\"{}\" (owner {})", inert(n), inert(o)))
            .collect();
        let _ = writeln!(
            s,
            "  {}",
            style.dim(&format!(
                "Owned by others, left alone: {}",
                names.join(", ")
            ))
        );
    }
    let _ = writeln!(s, "{}\n", summary_line(&env.summary()));
}

/// `Plan: 1 to create, 2 to update, 0 to delete.`; adoptions are counted when there are any.
pub fn summary_line(s: &Summary) -> String {
    let adopt = if s.adopt > 0 {
        format!("{} to adopt, ", s.adopt)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to create, {adopt}{} to update, {} to delete.",
        s.create, s.update, s.delete
    )
}

/// The sign of an action.
pub fn sign(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Adopt => "=",
        Action::Update => "~",
        Action::Delete => "-",
    }
}

fn change(s: &mut String, c: &Change, from_snapshot: bool, style: &Style) {
    let paint: fn(&Style, &str) -> String = match c.action() {
        Action::Create => Style::green,
        Action::Adopt => Style::cyan,
        Action::Update => Style::yellow,
        Action::Delete => Style::red,
    };
    let mut head = format!(
        "  {} {} \"{}\"",
        paint(style, sign(c.action())),
        c.action().verb(),
        inert(&c.display_name)
    );
    if let Some(id) = c.identifier() {
        let _ = write!(head, " {}", style.dim(&format!("[{}]", inert(id))));
    }
    if let Some(f) = c.file() {
        let _ = write!(
            head,
            " {}",
            style.dim(&format!("({})", inert(&f.display().to_string())))
        );
    }
    if c.drift {
        let _ = write!(head, " {}", style.yellow("(drift: edited outside skconn)"));
    }
    if crate::plan::usage::blocked(c) {
        let _ = write!(head, " {}", style.red(super::usage::BLOCKED));
    }
    let _ = writeln!(s, "{head}");
    if let Some(u) = &c.usage {
        let _ = writeln!(s, "{}", super::usage::text(u, from_snapshot, style));
    }
    let whole = match c.action() {
        Action::Create => c.after.as_ref().map(|v| ('+', v)),
        Action::Delete => c.before.as_ref().map(|v| ('-', v)),
        _ => None,
    };
    if let Some((sign, v)) = whole {
        for (indent, signed, line) in object_lines(v) {
            let mark = match (signed, sign) {
                (false, _) => " ".to_string(),
                (true, '+') => style.green("+"),
                (true, _) => style.red("-"),
            };
            let _ = writeln!(s, "      {indent}{mark} {}", inert(&line));
        }
    }
    for (mark, line) in diff_lines(&c.diff) {
        let mark = match mark {
            '+' => style.green("+"),
            '-' => style.red("-"),
            _ => style.yellow("~"),
        };
        let _ = writeln!(s, "      {mark} {}", inert(&line));
    }
    for w in &c.warnings {
        let at = w.location();
        let at = if at.is_empty() {
            at
        } else {
            format!("{}: ", style.bold(&inert(&at)))
        };
        let _ = writeln!(s, "      {} {at}{}", style.yellow("!"), inert(&w.message));
    }
}

/// The lines of a diff by meaning: a sign (`+`, `-`, `~`) and the text after it, inert (a
/// path holds keys from a server; values are JSON). A value is shown whole (up to a generous
/// limit); an added or removed object too long for one line is shown as a block, like a create.
pub fn diff_lines(diff: &[FieldChange]) -> Vec<(char, String)> {
    let mut out = Vec::new();
    for f in diff {
        match f.op {
            Op::Add | Op::Remove => {
                let (sign, v) = if f.op == Op::Add {
                    ('+', f.new.as_ref())
                } else {
                    ('-', f.old.as_ref())
                };
                let one_line = value_up_to(v, MAX_DIFF_VALUE_CHARS);
                match v {
                    Some(obj @ Value::Object(_)) if one_line.chars().count() > BLOCK_OVER_CHARS => {
                        out.push((sign, inert(&f.path).into_owned()));
                        for (indent, _, line) in object_lines(obj) {
                            out.push((sign, format!("    {indent}{line}")));
                        }
                    }
                    _ => out.push((sign, format!("{} = {one_line}", inert(&f.path)))),
                }
            }
            Op::Replace => out.push((
                '~',
                format!(
                    "{}: {} → {}",
                    inert(&f.path),
                    value_up_to(f.old.as_ref(), MAX_DIFF_VALUE_CHARS),
                    value_up_to(f.new.as_ref(), MAX_DIFF_VALUE_CHARS)
                ),
            )),
            Op::Reorder => out.push((
                '~',
                format!(
                    "{}: order changed: {} → {}",
                    if f.path.is_empty() {
                        "(list)".into()
                    } else {
                        inert(&f.path)
                    },
                    names(f.old.as_ref()),
                    names(f.new.as_ref())
                ),
            )),
        }
    }
    out
}

/// `[a, b]` from a JSON list of identities.
fn names(v: Option<&Value>) -> String {
    let list: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            i.as_str()
                .map_or_else(|| i.to_string(), |s| inert(s).into_owned())
        })
        .collect();
    crate::output::secret::redact(&format!("[{}]", list.join(", "))).into_owned()
}

/// A whole connector object, Terraform-style: one `key = value` line per value, nested objects
/// and identified list items as headings (`auth_patterns[OAUTH]`) with their keys indented below.
/// Long values wrap; masked values stay masked; keys and labels are inert (values are JSON).
/// Returns, per line, its indentation, whether it carries the sign (continuation lines of a
/// wrapped value do not), and its text.
pub fn object_lines(v: &Value) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        object_into(m, 0, &mut out);
    }
    out
}

fn object_into(
    m: &serde_json::Map<String, Value>,
    depth: usize,
    out: &mut Vec<(String, bool, String)>,
) {
    let indent = "    ".repeat(depth);
    let width = m
        .iter()
        .filter(|(_, v)| is_leaf(v))
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    // Values first, then nested objects and lists, as Terraform shows attributes before blocks.
    let entries = m
        .iter()
        .filter(|(_, v)| is_leaf(v))
        .chain(m.iter().filter(|(_, v)| !is_leaf(v)));
    for (k, v) in entries {
        match v {
            Value::Object(child) => {
                out.push((indent.clone(), true, inert(k).into_owned()));
                object_into(child, depth + 1, out);
            }
            Value::Array(items) if !is_leaf(v) => {
                let id_key = crate::plan::diff::identity_key(k);
                for (i, item) in items.iter().enumerate() {
                    let label = id_key
                        .and_then(|id| item.get(id))
                        .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))
                        .unwrap_or_else(|| i.to_string());
                    out.push((
                        indent.clone(),
                        true,
                        format!("{}[{}]", inert(k), inert(&label)),
                    ));
                    match item {
                        Value::Object(child) => object_into(child, depth + 1, out),
                        other => out.push((
                            format!("{indent}    "),
                            true,
                            crate::output::secret::redact(&other.to_string()).into_owned(),
                        )),
                    }
                }
            }
            leaf => {
                let key = format!("{:width$} = ", inert(k));
                let text = crate::output::secret::redact(&leaf.to_string()).into_owned();
                let pad = " ".repeat(key.chars().count());
                for (i, piece) in wrap(&text, WRAP_COLUMN).into_iter().enumerate() {
                    let rest = if i == 0 {
                        format!("{key}{piece}")
                    } else {
                        format!("{pad}{piece}")
                    };
                    out.push((indent.clone(), i == 0, rest));
                }
            }
        }
    }
}

/// A value shown on the line of its key: a scalar, or a list of scalars.
fn is_leaf(v: &Value) -> bool {
    match v {
        Value::Object(_) => false,
        Value::Array(a) => a.iter().all(|i| !i.is_object() && !i.is_array()),
        _ => true,
    }
}

/// Cuts `text` into pieces of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > width {
        let cut = rest[..width]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|&i| i > width / 2)
            .map_or(width, |i| i + 1);
        // The space a line breaks at is not shown at its end.
        out.push(
            rest[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        rest = rest[cut..].to_vec();
    }
    out.push(rest.into_iter().collect());
    out
}

/// A JSON value on one line, cut to a readable length.
pub fn value(v: Option<&Value>) -> String {
    value_up_to(v, MAX_VALUE_CHARS)
}

/// A JSON value on one line, cut after `limit` characters.
fn value_up_to(v: Option<&Value>, limit: usize) -> String {
    let Some(v) = v else { return "(none)".into() };
    // Masked values are removed before cutting, so a cut can never leave a secret's start.
    // JSON escapes every control character, so the value is inert.
    let s =
        crate::output::secret::redact(&serde_json::to_string(v).unwrap_or_default()).into_owned();
    if s.chars().count() > limit {
        let cut: String = s.chars().take(limit).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// What an apply did, per environment.
pub fn outcome(outcomes: &[EnvOutcome], style: &Style) -> String {
    let mut s = String::new();
    for env in outcomes {
        let _ = writeln!(
            s,
            "{}",
            style.bold(&format!("Environment {}:", inert(&env.name)))
        );
        if let Some(e) = &env.error {
            let _ = writeln!(s, "  {} {}", style.red("error:"), inert(e));
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
    let what = format!("{} \"{}\"", o.action.verb(), inert(&o.display_name));
    match &o.status {
        Status::Applied { note } => {
            let mut l = format!(
                "{} {}",
                style.green("✓"),
                past(o.action, &inert(&o.display_name))
            );
            if let Some(n) = note {
                let _ = write!(l, " {}", style.dim(&format!("({})", inert(n))));
            }
            l
        }
        Status::Failed(msg) => format!("{} {what} failed: {}", style.red("✗"), inert(msg)),
        Status::NotAttempted(why) => {
            format!("{} {what} not attempted: {}", style.dim("·"), inert(why))
        }
        Status::Blocked(why) => {
            format!("{} {what} not applied, {}", style.red("⊘"), inert(why))
        }
    }
}

fn past(action: Action, name: &str) -> String {
    match action {
        Action::Create => format!("created \"{name}\""),
        Action::Adopt => format!("adopted \"{name}\""),
        Action::Update => format!("updated \"{name}\""),
        Action::Delete => format!("deleted \"{name}\""),
    }
}

/// Input problems, one block each, then a count.
pub fn diagnostics(list: &[Diagnostic], style: &Style) -> String {
    blocks(list.iter(), &style.red("error:"), style)
}

/// Warnings about input files (valid, but likely mistakes), one block each.
pub fn file_warnings(list: &[crate::model::FileWarning], style: &Style) -> String {
    blocks(
        list.iter().map(|w| &w.diagnostic),
        &style.yellow("warning:"),
        style,
    )
}

fn blocks<'d>(list: impl Iterator<Item = &'d Diagnostic>, level: &str, style: &Style) -> String {
    let mut s = String::new();
    for d in list {
        let _ = write!(s, "{level} {}: ", style.bold(&inert(&d.location())));
        if let Some(f) = &d.field {
            let _ = write!(s, "{}: ", style.cyan(&inert(f)));
        }
        let _ = writeln!(s, "{}", inert(&d.message));
        if let Some(h) = &d.help {
            let _ = writeln!(s, "  {} {}", style.dim("help:"), inert(h));
        }
    }
    s
}

/// Writes a GitHub Actions `::error` annotation for each input problem (file, line, column;
/// escaped per GitHub's rules).
pub fn github_annotations(list: &[Diagnostic]) {
    annotations("error", list.iter());
}

/// Writes a GitHub Actions `::warning` annotation for each warning about an input file.
pub fn github_warning_annotations(list: &[crate::model::FileWarning]) {
    annotations("warning", list.iter().map(|w| &w.diagnostic));
}

fn annotations<'d>(command: &str, list: impl Iterator<Item = &'d Diagnostic>) {
    for d in list {
        let mut msg = String::new();
        if let Some(f) = &d.field {
            let _ = write!(msg, "{f}: ");
        }
        msg.push_str(&d.message);
        if let Some(h) = &d.help {
            let _ = write!(msg, " (help: {h})");
        }
        let file = d.file.display().to_string();
        let (line, col) = (d.line.to_string(), d.column.to_string());
        let mut props = vec![("file", file.as_str())];
        if d.line > 0 {
            props.push(("line", line.as_str()));
        }
        if d.column > 0 {
            props.push(("col", col.as_str()));
        }
        crate::output::annotation(command, &props, &msg);
    }
}
