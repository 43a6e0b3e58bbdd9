//! The Markdown form of a plan, for pull-request comments and job summaries: per environment a
//! summary and a table, field diffs in collapsible blocks. It stays under GitHub's comment limit,
//! cutting whole entries and saying so.

use crate::output::escape::inert;
use crate::plan::{Action, Change, EnvPlan, Plan, Refusal};
use crate::render::text::{diff_lines, object_lines, summary_line};
use std::fmt::Write;

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the truncation note and the closing lines.
const RESERVE: usize = 1_024;

/// The marker that tells a plan comment from others (a workflow updates the comment holding it).
pub const PLAN_MARKER: &str = "<!-- skconn-plan -->";

/// The body written when a plan could not be made, so that a pull-request comment never keeps
/// showing an older plan. `message` is the error, as it is printed (redacted on output).
pub fn failed(message: &str) -> String {
    let mut out = format!("{PLAN_MARKER}\n## skconn plan\n\n");
    out.push_str(
        "> [!WARNING]\n> **The plan failed: no plan was made, and nothing was changed.**\n\n",
    );
    out.push_str(&error_block(message));
    out.push_str("\nFix the cause and run `skconn plan` again; see the job log for details.\n");
    out
}

/// The section of an environment whose plan failed (or of the plans of a failed job, when
/// the job did not say which environments it planned): the error, in a block.
pub fn failed_section(env: Option<&str>, message: &str) -> String {
    let mut out = match env {
        Some(name) => format!(
            "### Environment `{}`\n\n> [!WARNING]\n> **The plan of `{}` failed: no plan was made for it, and nothing was changed.**\n\n",
            escape(name),
            escape(name)
        ),
        None => "### A plan that failed\n\n> [!WARNING]\n> **A plan failed before it named its environments: no plan was made, and nothing was changed.**\n\n".to_string(),
    };
    out.push_str(&error_block(&bounded(message)));
    out.push('\n');
    out
}

/// An error message in a fenced block, whole lines only, bounded (the rest is in the job log).
pub fn error_quote(message: &str) -> String {
    error_block(&bounded(message))
}

/// Longest error text a section quotes, in lines and in characters; the rest is in the job log.
const ERROR_LINES: usize = 200;
const ERROR_CHARS: usize = 20_000;

/// `message`, whole lines of it only, at most [`ERROR_LINES`] and [`ERROR_CHARS`].
fn bounded(message: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let lines: Vec<&str> = message.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let n = line.chars().count() + 1;
        if i == ERROR_LINES || chars + n > ERROR_CHARS {
            let _ = write!(out, "… {} more line(s): see the job log", lines.len() - i);
            return out;
        }
        out.push_str(line);
        out.push('\n');
        chars += n;
    }
    out
}

/// An error message as a `text` block that nothing in it can close (redacted already, since
/// the fence escaping could otherwise split a secret that the output's redaction would catch).
fn error_block(message: &str) -> String {
    let mut out = String::from("```text\n");
    out.push_str(&crate::output::secret::redact(message).replace("```", "` ` `"));
    if !message.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

/// The line that says an environment was planned against a snapshot, and when it was taken
/// (`None` for a live plan).
pub fn source_line(env: &EnvPlan) -> Option<String> {
    super::source::sentence(env).map(|from| {
        format!(
            "> [!NOTE]\n> {} (not read live; usage counts are from the snapshot).\n\n",
            escape(&from)
        )
    })
}

/// The refusals of a plan, as a block that cannot be missed.
pub fn refused(refusals: &[Refusal]) -> String {
    if refusals.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "> [!CAUTION]\n> **Refused as unsafe: `skconn apply` will change nothing while these hold.**\n>\n",
    );
    for r in refusals {
        let _ = writeln!(
            out,
            "> - environment `{}`: {}. **To proceed:** {}.",
            escape(&r.environment),
            escape(&r.reason),
            escape(&r.how_to_proceed)
        );
    }
    out.push('\n');
    out
}

/// One environment's section in parts, so that a caller short of room can leave some out
/// (the pull-request comment does, least important first). Concatenated in field order, the
/// parts are the section `plan` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSection {
    /// The `### Environment` heading and the summary line.
    pub head: String,
    /// The not-managed and owned-by-others lists (empty when there are none).
    pub lists: String,
    /// The table's header rows (empty without changes).
    pub table_head: String,
    /// One table row per change.
    pub rows: Vec<String>,
    /// One collapsible block per change, in the order of the rows.
    pub details: Vec<String>,
}

/// The parts of one environment's section.
pub fn env_section(env: &EnvPlan) -> EnvSection {
    let s = env.summary();
    let mut head = String::new();
    let _ = writeln!(head, "### Environment `{}`\n", escape(&env.name));
    head.push_str(&source_line(env).unwrap_or_default());
    let _ = writeln!(head, "{} {} unchanged.\n", summary_line(&s), s.unchanged);
    let mut lists = String::new();
    if !env.not_managed.is_empty() {
        let names: Vec<String> = env
            .not_managed
            .iter()
            .map(|n| format!("`{}`", escape(n)))
            .collect();
        let _ = writeln!(lists, "Not managed, left alone: {}\n", names.join(", "));
    }
    if !env.other_owners.is_empty() {
        let names: Vec<String> = env
            .other_owners
            .iter()
            .map(|(n, o)| format!("`{}` (owner `{}`)", escape(n), escape(o)))
            .collect();
        let _ = writeln!(lists, "Owned by others, left alone: {}\n", names.join(", "));
    }
    let table_head = if env.changes.is_empty() {
        String::new()
    } else {
        "| | Action | Connector | What changes |\n|---|---|---|---|\n".to_string()
    };
    EnvSection {
        head,
        lists,
        table_head,
        rows: env
            .changes
            .iter()
            .map(|c| row(c, super::source::from_snapshot(env)))
            .collect(),
        details: env.changes.iter().map(detail).collect(),
    }
}

/// The plan as Markdown of at most `limit` characters.
pub fn plan(plan: &Plan, limit: usize) -> String {
    let budget = limit.saturating_sub(RESERVE);
    let mut out = format!("{PLAN_MARKER}\n## skconn plan\n\n");
    out.push_str(&refused(&plan.refused));
    let total = plan.summary();
    if plan.environments.len() > 1 {
        let _ = writeln!(out, "**Total:** {}\n", summary_line(&total));
    }
    let mut omitted = 0usize;
    for env in &plan.environments {
        let section = env_section(env);
        if !push(
            &mut out,
            &format!("{}{}", section.head, section.lists),
            budget,
        ) {
            omitted += env.changes.len();
            out.push_str(&digest_lines(env));
            continue;
        }
        if env.changes.is_empty() {
            out.push_str(&digest_lines(env));
            continue;
        }
        let _ = push(&mut out, &section.table_head, budget);
        let mut details = Vec::new();
        for (row, detail) in section.rows.iter().zip(&section.details) {
            if !push(&mut out, row, budget) {
                omitted += 1;
                continue;
            }
            details.push(detail);
        }
        out.push('\n');
        // Details after the table; each one whole or not at all.
        let mut cut_details = 0;
        for block in details {
            if !push(&mut out, block, budget) {
                cut_details += 1;
            }
        }
        if cut_details > 0 {
            let _ = writeln!(
                out,
                "\n_{cut_details} field diff(s) not shown: the comment would be too long._\n"
            );
        }
        out.push_str(&digest_lines(env));
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\n> **Truncated:** {omitted} change(s) are not listed because GitHub comments are limited to {GITHUB_COMMENT_LIMIT} characters. Run `skconn plan` (or see the job log) for the full plan."
        );
    }
    out
}

/// An environment's digest lines, after its section: the hidden marker with the whole digest
/// and the short footer a reviewer sees. Always written whole (the limit reserves room).
pub fn digest_lines(env: &crate::plan::EnvPlan) -> String {
    let d = crate::plan::digest::env_digest(env);
    format!(
        "\n{}\n<sub>{}</sub>\n\n",
        digest_marker(&env.name, &d),
        digest_footer(&d)
    )
}

/// The hidden line that carries an environment's plan digest (`github approved` reads it).
pub fn digest_marker(env: &str, digest: &str) -> String {
    format!("<!-- skconn-digest env={env} digest={digest} -->")
}

/// The short visible line naming an environment's plan digest: its first 12 hex digits.
pub fn digest_footer(digest: &str) -> String {
    let short: String = digest.chars().take(12).collect();
    format!("plan digest `{short}…`")
}

/// Appends `s` if it fits in the budget.
fn push(out: &mut String, s: &str, budget: usize) -> bool {
    if out.chars().count() + s.chars().count() > budget {
        return false;
    }
    out.push_str(s);
    true
}

fn row(c: &Change, from_snapshot: bool) -> String {
    let (icon, action) = match c.action() {
        Action::Create => ("🟢", "create"),
        Action::Adopt => ("🔵", "adopt"),
        Action::Update => ("🟡", "update"),
        Action::Delete => ("🔴", "delete"),
    };
    let mut what = match c.action() {
        Action::Create => format!("new connector{}", facts(c.after.as_ref())),
        Action::Delete => format!("removed{}", facts(c.before.as_ref())),
        Action::Adopt => "skconn's marker added; nothing else changes".to_string(),
        Action::Update => {
            let paths: Vec<String> = c
                .diff
                .iter()
                .map(|f| format!("`{}`", escape(&f.path)))
                .collect();
            if paths.is_empty() {
                "marker only".to_string()
            } else if paths.len() > 5 {
                format!("{} and {} more", paths[..5].join(", "), paths.len() - 5)
            } else {
                paths.join(", ")
            }
        }
    };
    if c.drift {
        what.push_str(" ⚠️ **drift**: edited outside skconn");
    }
    if crate::plan::usage::blocked(c) {
        let _ = write!(what, " ⛔ **{}**", super::usage::BLOCKED);
    }
    if let Some(u) = &c.usage {
        let _ = write!(
            what,
            "<br>{}",
            escape(&super::usage::markdown(u, from_snapshot))
        );
    }
    format!(
        "| {icon} | {action} | {} | {what} |\n",
        escape(&c.display_name)
    )
}

/// ` (BEARER, `https://…`)`: a whole connector's auth types and proxy URL, for the table.
fn facts(connector: Option<&serde_json::Value>) -> String {
    let Some(c) = connector else {
        return String::new();
    };
    let mut parts: Vec<String> = c
        .get("auth_patterns")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("type").and_then(serde_json::Value::as_str))
        .map(escape)
        .collect();
    if let Some(url) = c.get("proxy_url").and_then(serde_json::Value::as_str) {
        parts.push(format!("`{}`", escape(url)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// One connector's collapsible block: the whole object for creates and deletes, the diff for
/// updates, then the warnings.
fn detail(c: &Change) -> String {
    let mut s = format!(
        "<details><summary>{} <code>{}</code></summary>\n\n",
        c.action().verb(),
        html(&c.display_name)
    );
    let mut lines: Vec<String> = Vec::new();
    let whole = match c.action() {
        Action::Create => c.after.as_ref().map(|v| ('+', v)),
        Action::Delete => c.before.as_ref().map(|v| ('-', v)),
        _ => None,
    };
    if let Some((sign, v)) = whole {
        // The sign first, so that the diff block colours every line.
        lines.extend(
            object_lines(v)
                .into_iter()
                .map(|(indent, _, l)| format!("{sign} {indent}{l}")),
        );
    }
    lines.extend(diff_lines(&c.diff).into_iter().map(|(m, l)| {
        // `!` marks a changed line in a diff block.
        let m = if m == '~' { '!' } else { m };
        format!("{m} {l}")
    }));
    if !lines.is_empty() {
        s.push_str("```diff\n");
        for l in lines {
            let _ = writeln!(s, "{}", inert(&l).replace("```", "` ` `"));
        }
        s.push_str("```\n\n");
    }
    for w in &c.warnings {
        let at = w.location();
        let at = if at.is_empty() {
            at
        } else {
            format!("<code>{}</code>: ", html(&at))
        };
        let _ = writeln!(s, "- ⚠️ {at}{}", escape(&w.message));
    }
    if !c.warnings.is_empty() {
        s.push('\n');
    }
    s.push_str("</details>\n");
    s
}

pub(crate) use crate::output::escape::{html, markdown as escape};
