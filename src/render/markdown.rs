//! The Markdown form of a plan, for pull-request comments and job summaries: per environment a
//! summary and a table, field diffs in collapsible blocks. It stays under GitHub's comment limit,
//! cutting whole entries and saying so.

use crate::escape::inert;
use crate::plan::{Action, Change, Plan};
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
    out.push_str("```text\n");
    out.push_str(&crate::secret::redact(message).replace("```", "` ` `"));
    if !message.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(
        "```\n\nFix the cause and run `skconn plan` again; see the job log for details.\n",
    );
    out
}

/// The refusals of a plan, as a block that cannot be missed.
fn refused(plan: &Plan) -> String {
    if plan.refused.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "> [!CAUTION]\n> **Refused as unsafe: `skconn apply` will change nothing while these hold.**\n>\n",
    );
    for r in &plan.refused {
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

/// The plan as Markdown of at most `limit` characters.
pub fn plan(plan: &Plan, limit: usize) -> String {
    let budget = limit.saturating_sub(RESERVE);
    let mut out = format!("{PLAN_MARKER}\n## skconn plan\n\n");
    out.push_str(&refused(plan));
    let total = plan.summary();
    if plan.environments.len() > 1 {
        let _ = writeln!(out, "**Total:** {}\n", summary_line(&total));
    }
    let mut omitted = 0usize;
    for env in &plan.environments {
        let s = env.summary();
        let mut head = String::new();
        let _ = writeln!(head, "### Environment `{}`\n", escape(&env.name));
        if let Some(from) = super::source::sentence(env) {
            let _ = writeln!(
                head,
                "> [!NOTE]\n> {} (not read live; usage counts are from the snapshot).\n",
                escape(&from)
            );
        }
        let _ = writeln!(head, "{} {} unchanged.\n", summary_line(&s), s.unchanged);
        if !env.not_managed.is_empty() {
            let names: Vec<String> = env
                .not_managed
                .iter()
                .map(|n| format!("`{}`", escape(n)))
                .collect();
            let _ = writeln!(head, "Not managed, left alone: {}\n", names.join(", "));
        }
        if !env.other_owners.is_empty() {
            let names: Vec<String> = env
                .other_owners
                .iter()
                .map(|(n, o)| format!("`{}` (owner `{}`)", escape(n), escape(o)))
                .collect();
            let _ = writeln!(head, "Owned by others, left alone: {}\n", names.join(", "));
        }
        if !push(&mut out, &head, budget) {
            omitted += env.changes.len();
            out.push_str(&digest_footer(env));
            continue;
        }
        if env.changes.is_empty() {
            out.push_str(&digest_footer(env));
            continue;
        }
        let _ = push(
            &mut out,
            "| | Action | Connector | What changes |\n|---|---|---|---|\n",
            budget,
        );
        let mut details = String::new();
        for c in &env.changes {
            let row = row(c, super::source::from_snapshot(env));
            if !push(&mut out, &row, budget) {
                omitted += 1;
                continue;
            }
            details.push_str(&detail(c));
        }
        out.push('\n');
        // Details after the table; each one whole or not at all.
        let mut cut_details = 0;
        for block in details.split_inclusive("</details>\n") {
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
        out.push_str(&digest_footer(env));
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\n> **Truncated:** {omitted} change(s) are not listed because GitHub comments are limited to {GITHUB_COMMENT_LIMIT} characters. Run `skconn plan` (or see the job log) for the full plan."
        );
    }
    out
}

/// The prefix of the hidden line that carries an environment's plan digest.
pub const DIGEST_MARKER: &str = "<!-- skconn-digest ";

/// The hidden line that carries an environment's full plan digest (read back by `skconn github
/// approved`), and the short footer a reviewer sees. Always written whole: the limit reserves
/// room for them. Environment names are letters, digits, `-` and `_`: safe in a comment.
pub fn digest_footer(env: &crate::plan::EnvPlan) -> String {
    let d = crate::plan::digest::env_digest(env);
    format!(
        "\n{}\n<sub>plan digest `{}`</sub>\n\n",
        digest_marker(&env.name, &d),
        crate::plan::digest::short(&d)
    )
}

/// `<!-- skconn-digest env=NAME digest=HEX -->`.
pub fn digest_marker(env: &str, digest: &str) -> String {
    format!("{DIGEST_MARKER}env={env} digest={digest} -->")
}

/// The `(environment, digest)` pairs of the digest marker lines in a Markdown body, in order.
/// Lines that are not exactly a marker skconn writes are ignored.
pub fn digest_markers(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(DIGEST_MARKER)?.strip_suffix(" -->")?;
            let (env, digest) = rest.strip_prefix("env=")?.split_once(" digest=")?;
            let env_ok = !env.is_empty()
                && env
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            (env_ok && crate::plan::digest::is_digest(digest))
                .then(|| (env.to_string(), digest.to_string()))
        })
        .collect()
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
    let (icon, action) = match c.action {
        Action::Create => ("🟢", "create"),
        Action::Adopt => ("🔵", "adopt"),
        Action::Update => ("🟡", "update"),
        Action::Delete => ("🔴", "delete"),
    };
    let mut what = match c.action {
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
        c.action.verb(),
        html(&c.display_name)
    );
    let mut lines: Vec<String> = Vec::new();
    let whole = match c.action {
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
        let _ = writeln!(s, "- ⚠️ {}", escape(&w.message));
    }
    if !c.warnings.is_empty() {
        s.push('\n');
    }
    s.push_str("</details>\n");
    s
}

pub(crate) use crate::escape::{html, markdown as escape};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_markers_are_read_back_exactly_as_written() {
        let d = "0123456789abcdef".repeat(4);
        let body = format!(
            "x\n{}\n{}\n<!-- skconn-digest env=bad name digest={d} -->\n<!-- skconn-digest env=p digest=ABC -->\n",
            digest_marker("dev", &d),
            digest_marker("prod-eu_1", &d)
        );
        assert_eq!(
            digest_markers(&body),
            [("dev".to_string(), d.clone()), ("prod-eu_1".to_string(), d)]
        );
    }
}
