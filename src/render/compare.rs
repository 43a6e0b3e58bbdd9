//! The forms of `skconn compare`: its own text, its own Markdown (own heading and marker, so a
//! workflow never mistakes it for a plan comment) and its own JSON document. Display names,
//! identifiers and the keys in diffs come from servers: inert in the text, escaped in Markdown.

use crate::output::escape::{html, inert, markdown as escape};
use crate::output::Style;
use crate::plan::compare::{Comparison, OnlyIn};
use crate::render::text::{diff_lines, object_lines};
use serde_json::{json, Value};
use std::fmt::Write;

/// The version of the JSON compare document.
pub const FORMAT_VERSION: &str = "1";

/// The marker of a compare comment.
pub const MARKER: &str = "<!-- skconn-compare -->";

/// `2 only in dev, 0 only in prod, 1 different, 5 the same.`
pub fn summary_line(c: &Comparison) -> String {
    format!(
        "{} only in {}, {} only in {}, {} different, {} the same.",
        c.only_in_a.len(),
        inert(&c.a),
        c.only_in_b.len(),
        inert(&c.b),
        c.different.len(),
        c.same
    )
}

pub fn text(c: &Comparison, style: &Style) -> String {
    let mut s = format!(
        "{}\n",
        style.bold(&format!(
            "Comparing environment {a} with environment {b} (values shown {a} → {b}):",
            a = inert(&c.a),
            b = inert(&c.b)
        ))
    );
    if !c.differs() {
        let _ = writeln!(s, "  No differences: {} connector(s) are the same.", c.same);
    }
    for (list, sign, side) in [(&c.only_in_a, '+', &c.a), (&c.only_in_b, '-', &c.b)] {
        for o in list {
            let mark = if sign == '+' {
                style.green("+")
            } else {
                style.red("-")
            };
            let _ = writeln!(
                s,
                "  {mark} only in {}: \"{}\" {}",
                inert(side),
                inert(&o.display_name),
                style.dim(&format!("[{}]", inert(&o.identifier)))
            );
        }
    }
    for d in &c.different {
        let _ = writeln!(
            s,
            "  {} differs: \"{}\" {}",
            style.yellow("~"),
            inert(&d.display_name),
            style.dim(&format!(
                "[{}] [{}]",
                inert(&d.identifier_a),
                inert(&d.identifier_b)
            ))
        );
        for (mark, line) in diff_lines(&d.diff) {
            let _ = writeln!(s, "      {mark} {line}");
        }
    }
    let _ = writeln!(s, "{}", summary_line(c));
    s
}

pub fn markdown(c: &Comparison) -> String {
    let mut s = format!(
        "{MARKER}\n## skconn compare: `{}` and `{}`\n\n{}\n\n",
        escape(&c.a),
        escape(&c.b),
        escape(&summary_line(c))
    );
    let only = |s: &mut String, list: &[OnlyIn], sign: char, env: &str| {
        if list.is_empty() {
            return;
        }
        let _ = writeln!(s, "### Only in `{}`\n", escape(env));
        for o in list {
            let _ = writeln!(
                s,
                "<details><summary><code>{}</code></summary>\n\n```diff",
                html(&o.display_name)
            );
            for (indent, _, l) in object_lines(&o.connector) {
                let _ = writeln!(s, "{sign} {indent}{}", l.replace("```", "` ` `"));
            }
            let _ = writeln!(s, "```\n\n</details>\n");
        }
    };
    only(&mut s, &c.only_in_a, '+', &c.a);
    only(&mut s, &c.only_in_b, '-', &c.b);
    if !c.different.is_empty() {
        let _ = writeln!(
            s,
            "### Different (`{}` → `{}`)\n",
            escape(&c.a),
            escape(&c.b)
        );
        for d in &c.different {
            let _ = writeln!(
                s,
                "<details><summary><code>{}</code></summary>\n\n```diff",
                html(&d.display_name)
            );
            for (mark, l) in diff_lines(&d.diff) {
                let mark = if mark == '~' { '!' } else { mark };
                let _ = writeln!(s, "{mark} {}", l.replace("```", "` ` `"));
            }
            let _ = writeln!(s, "```\n\n</details>\n");
        }
    }
    s
}

pub fn json(c: &Comparison) -> Value {
    let only = |list: &[OnlyIn]| -> Vec<Value> {
        list.iter()
            .map(|o| json!({"display_name": o.display_name, "identifier": o.identifier, "connector": o.connector}))
            .collect()
    };
    json!({
        "format_version": FORMAT_VERSION,
        "compare": {
            "a": c.a,
            "b": c.b,
            "only_in_a": only(&c.only_in_a),
            "only_in_b": only(&c.only_in_b),
            "different": c.different.iter().map(|d| json!({
                "display_name": d.display_name,
                "identifier_a": d.identifier_a,
                "identifier_b": d.identifier_b,
                "diff": d.diff.iter().map(crate::render::json::field).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "same": c.same,
        }
    })
}
