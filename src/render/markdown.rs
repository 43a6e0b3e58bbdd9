//! The Markdown form of a plan, for pull-request comments and job summaries: per environment a
//! summary and a table, field diffs in collapsible blocks. It stays under GitHub's comment limit,
//! cutting whole entries and saying so.

use crate::escape::inert;
use crate::plan::{Action, Change, Op, Plan};
use crate::render::text::{summary_line, value};
use std::fmt::Write;

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the truncation note and the closing lines.
const RESERVE: usize = 1_024;

/// The plan as Markdown of at most `limit` characters.
pub fn plan(plan: &Plan, limit: usize) -> String {
    let budget = limit.saturating_sub(RESERVE);
    let mut out = String::from("<!-- skconn-plan -->\n## skconn plan\n\n");
    let total = plan.summary();
    if plan.environments.len() > 1 {
        let _ = writeln!(out, "**Total:** {}\n", summary_line(&total));
    }
    let mut omitted = 0usize;
    for env in &plan.environments {
        let s = env.summary();
        let mut head = String::new();
        let _ = writeln!(head, "### Environment `{}`\n", escape(&env.name));
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
            continue;
        }
        if env.changes.is_empty() {
            continue;
        }
        let _ = push(
            &mut out,
            "| | Action | Connector | What changes |\n|---|---|---|---|\n",
            budget,
        );
        let mut details = String::new();
        for c in &env.changes {
            let row = row(c);
            if !push(&mut out, &row, budget) {
                omitted += 1;
                continue;
            }
            if !c.diff.is_empty() || !c.warnings.is_empty() {
                details.push_str(&detail(c));
            }
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
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\n> **Truncated:** {omitted} change(s) are not listed because GitHub comments are limited to {GITHUB_COMMENT_LIMIT} characters. Run `skconn plan` (or see the job log) for the full plan."
        );
    }
    out
}

/// Appends `s` if it fits in the budget.
fn push(out: &mut String, s: &str, budget: usize) -> bool {
    if out.chars().count() + s.chars().count() > budget {
        return false;
    }
    out.push_str(s);
    true
}

fn row(c: &Change) -> String {
    let (icon, action) = match c.action {
        Action::Create => ("🟢", "create"),
        Action::Update => ("🟡", "update"),
        Action::Delete => ("🔴", "delete"),
    };
    let mut what = match c.action {
        Action::Create => "new connector".to_string(),
        Action::Delete => "removed".to_string(),
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
    format!(
        "| {icon} | {action} | {} | {what} |\n",
        escape(&c.display_name)
    )
}

fn detail(c: &Change) -> String {
    let mut s = format!(
        "<details><summary>{} <code>{}</code></summary>\n\n",
        c.action.verb(),
        html(&c.display_name)
    );
    if !c.diff.is_empty() {
        s.push_str("```diff\n");
        for f in &c.diff {
            match f.op {
                Op::Add => {
                    let _ = writeln!(s, "+ {}: {}", inert(&f.path), value(f.new.as_ref()));
                }
                Op::Remove => {
                    let _ = writeln!(s, "- {}: {}", inert(&f.path), value(f.old.as_ref()));
                }
                Op::Replace => {
                    let _ = writeln!(s, "- {}: {}", inert(&f.path), value(f.old.as_ref()));
                    let _ = writeln!(s, "+ {}: {}", inert(&f.path), value(f.new.as_ref()));
                }
            }
        }
        s.push_str("```\n\n");
    }
    for w in &c.warnings {
        let _ = writeln!(s, "- ⚠️ {}", escape(w));
    }
    s.push_str("\n</details>\n");
    s
}

use crate::escape::{html, markdown as escape};
