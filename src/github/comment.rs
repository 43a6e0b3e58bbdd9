//! The body of skconn's pull-request comment, from the JSON plans of one or more jobs: every
//! environment's section as `plan --format markdown` renders it, its digest (a footer line and
//! a hidden marker), its digest input (a hidden block), the sections of plans that failed or
//! were refused saying why, and a footer naming the head commit and linking the run.
//!
//! Over a limit (GitHub's 65,536 characters for a comment, 1 MiB for a job summary) it leaves
//! out the least important parts first — the digest inputs, then the not-managed and
//! other-owner lists, then collapsed bodies (largest first), then table rows — and says so.
//! It drops whole parts only, so no line, table, fence or `<details>` is ever cut in half;
//! digests, markers and the footer are always kept.
//!
//! Pure: builds a string from parsed plans; sends and writes nothing.

use super::markers;
use crate::render::json::Document;
use crate::render::markdown::{self, PLAN_MARKER};
use crate::render::text::summary_line;
use std::collections::BinaryHeap;
use std::fmt::Write;
use std::path::PathBuf;

/// One input file, read.
#[derive(Debug, Clone)]
pub struct Input {
    pub file: PathBuf,
    pub doc: Document,
}

/// What the comment says about where and for what it was planned.
#[derive(Debug, Clone)]
pub struct Meta {
    /// How the footer names the review: `#7` (a pull request), `!7` (a merge request).
    pub reference: String,
    pub head_sha: String,
    pub run_id: Option<String>,
    /// What the footer calls the run: `run` (GitHub Actions), `pipeline` (GitLab CI).
    pub run_word: &'static str,
    /// The run's page, which shows the job summary.
    pub run_url: Option<String>,
}

/// How a length is counted against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// UTF-16 code units: never fewer than characters, so a body under the limit in these is
    /// under GitHub's limit in characters however GitHub counts them.
    Utf16,
    Bytes,
}

/// A limit on the body's length, and what to say when it had to be shortened.
#[derive(Debug, Clone)]
pub struct Limit {
    pub max: usize,
    pub unit: Unit,
    /// `GitHub's limit of 65,536 characters for a comment`.
    pub name: String,
    /// Where the rest is: `The whole plan is in the [job summary](…).`
    pub elsewhere: String,
}

/// GitHub's limit on a job summary (one step's), in bytes.
pub const SUMMARY_LIMIT: usize = 1 << 20;

/// GitLab's limit on a merge-request note's body, in characters: the same body goes there.
pub const GITLAB_NOTE_LIMIT: usize = 1_000_000;

impl Limit {
    /// The limit of a pull-request comment.
    pub fn comment(run_url: Option<&str>) -> Limit {
        Limit {
            max: markdown::GITHUB_COMMENT_LIMIT,
            unit: Unit::Utf16,
            name: "GitHub's limit of 65,536 characters for a comment".into(),
            elsewhere: match run_url {
                Some(u) => format!("The whole plan is in the [job summary]({u})."),
                None => "The whole plan is in the job summary.".into(),
            },
        }
    }

    /// The limit of a GitLab merge-request note ([`GITLAB_NOTE_LIMIT`] characters).
    pub fn gitlab_note(pipeline_url: Option<&str>) -> Limit {
        Limit {
            max: GITLAB_NOTE_LIMIT,
            unit: Unit::Utf16,
            name: "GitLab's limit of 1,000,000 characters for a note".into(),
            elsewhere: match pipeline_url {
                Some(u) => {
                    format!("The whole plan is in the plan jobs' logs of the [pipeline]({u}).")
                }
                None => "The whole plan is in the plan jobs' logs.".into(),
            },
        }
    }

    /// The limit of a job summary.
    pub fn summary() -> Limit {
        Limit {
            max: SUMMARY_LIMIT,
            unit: Unit::Bytes,
            name: "GitHub's limit of 1 MiB for a job summary".into(),
            elsewhere: "The JSON plans (the plan jobs' output) hold everything.".into(),
        }
    }

    fn measure(&self, s: &str) -> usize {
        match self.unit {
            Unit::Utf16 => s.encode_utf16().count(),
            Unit::Bytes => s.len(),
        }
    }
}

/// A body, and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub text: String,
    /// What was left out, for people (empty when nothing was).
    pub left_out: Vec<String>,
}

/// How the plans of the inputs ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Environments whose plans failed (`None`: a failed plan that named none).
    pub failed: Vec<Option<String>>,
    /// Environments whose plans were refused as unsafe.
    pub refused: Vec<String>,
}

/// The environments an input's plans are refused for: when its plan holds refusals, `apply`
/// changes nothing while they hold, so none of its environments is approvable.
fn refused_envs(doc: &Document) -> Vec<String> {
    if doc.plan.refused.is_empty() {
        return Vec::new();
    }
    doc.plan
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// How the inputs' plans ended.
pub fn outcome(inputs: &[Input]) -> Outcome {
    let mut o = Outcome::default();
    for i in inputs {
        if i.doc.error.is_some() {
            if i.doc.selected.is_empty() {
                o.failed.push(None);
            } else {
                o.failed.extend(i.doc.selected.iter().cloned().map(Some));
            }
        }
        o.refused.extend(refused_envs(&i.doc));
    }
    o
}

/// Environments planned by more than one input, or both planned and failed: a comment cannot
/// say which plan holds. Returns the duplicates with the files that name them.
pub fn duplicates(inputs: &[Input]) -> Vec<(String, Vec<PathBuf>)> {
    let mut seen: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for i in inputs {
        let names = i
            .doc
            .plan
            .environments
            .iter()
            .map(|e| e.name.clone())
            .chain(
                i.doc
                    .selected
                    .iter()
                    .filter(|_| i.doc.error.is_some())
                    .cloned(),
            );
        for n in names {
            match seen.iter_mut().find(|(s, _)| *s == n) {
                Some((_, files)) => files.push(i.file.clone()),
                None => seen.push((n, vec![i.file.clone()])),
            }
        }
    }
    seen.retain(|(_, files)| files.len() > 1);
    seen
}

/// One environment's section, in parts that may be left out.
struct Section {
    /// Always kept: the heading and summary (or the failed section), the source line, the
    /// refusal line.
    head: String,
    lists: String,
    table_head: String,
    rows: Vec<String>,
    details: Vec<String>,
    /// Always kept: the digest footer line and the hidden markers.
    tail: String,
    /// The hidden digest-input block (first to go).
    input: String,
    /// Which parts are kept.
    keep_lists: bool,
    keep_input: bool,
    keep_rows: usize,
    keep_details: Vec<bool>,
}

impl Section {
    fn render(&self, out: &mut String) {
        out.push_str(&self.head);
        if self.keep_lists {
            out.push_str(&self.lists);
        }
        let rows = self.keep_rows.min(self.rows.len());
        if rows > 0 {
            out.push_str(&self.table_head);
            for r in &self.rows[..rows] {
                out.push_str(r);
            }
            out.push('\n');
        }
        // A collapsed body stays only with its row.
        let mut cut_details = 0;
        for (i, d) in self.details.iter().enumerate() {
            if i < rows && self.keep_details[i] {
                out.push_str(d);
            } else if i < rows {
                cut_details += 1;
            }
        }
        let cut_rows = self.rows.len() - rows;
        if cut_details > 0 || cut_rows > 0 {
            let mut parts = Vec::new();
            if cut_rows > 0 {
                parts.push(format!("{cut_rows} change(s) not listed"));
            }
            if cut_details > 0 {
                parts.push(format!(
                    "{cut_details} collapsed bod{} not shown",
                    if cut_details == 1 { "y" } else { "ies" }
                ));
            }
            let _ = writeln!(
                out,
                "\n_{} here, to keep the comment short._\n",
                parts.join(", ")
            );
        }
        if !out.ends_with("\n\n") {
            // An HTML block (`</details>`) ends only at a blank line.
            out.push('\n');
        }
        out.push_str(&self.tail);
        if self.keep_input {
            out.push_str(&self.input);
        }
        out.push('\n');
    }
}

/// The comment (or summary) body for these inputs, within `limit`.
pub fn build(inputs: &[Input], meta: &Meta, limit: &Limit) -> Body {
    let outcome = outcome(inputs);
    let mut head = format!("{PLAN_MARKER}\n## skconn plan\n\n");
    let refusals: Vec<_> = inputs
        .iter()
        .flat_map(|i| i.doc.plan.refused.iter().cloned())
        .collect();
    let top = markdown::refused(&refusals);
    let planned: Vec<_> = inputs
        .iter()
        .flat_map(|i| &i.doc.plan.environments)
        .collect();
    let mut total = crate::plan::Summary::default();
    for e in &planned {
        total.add(e.summary());
    }
    let mut after_head = top;
    if planned.len() + outcome.failed.len() > 1 && !planned.is_empty() {
        let _ = writeln!(after_head, "**Total:** {}\n", summary_line(&total));
    }
    let mut sections = Vec::new();
    for i in inputs {
        if let Some(error) = &i.doc.error {
            let names: Vec<Option<&str>> = if i.doc.selected.is_empty() {
                vec![None]
            } else {
                i.doc.selected.iter().map(|s| Some(s.as_str())).collect()
            };
            for env in names {
                sections.push(Section {
                    head: markdown::failed_section(env, error),
                    lists: String::new(),
                    table_head: String::new(),
                    rows: Vec::new(),
                    details: Vec::new(),
                    tail: format!("{}\n", markers::failed(env)),
                    input: String::new(),
                    keep_lists: false,
                    keep_input: false,
                    keep_rows: 0,
                    keep_details: Vec::new(),
                });
            }
            continue;
        }
        let refused = !i.doc.plan.refused.is_empty();
        for (env, extras) in i.doc.plan.environments.iter().zip(&i.doc.extras) {
            // The section says itself where its live side came from (its source).
            let parts = markdown::env_section(env);
            let head = parts.head;
            let mut tail = String::new();
            if refused {
                let _ = writeln!(
                    tail,
                    "⛔ **Refused as unsafe** (see above): this plan is not approved for `skconn apply`.\n"
                );
            }
            match &extras.plan_digest {
                Some(d) => {
                    let _ = writeln!(tail, "{}\n", markdown::digest_footer(d));
                }
                None if refused => {}
                None => tail.push_str("_No plan digest: this plan was made by a skconn without digests, so it cannot be approved for apply._\n\n"),
            }
            if refused {
                let _ = writeln!(tail, "{}", markers::refused(&env.name));
            } else if let Some(d) = &extras.plan_digest {
                let _ = writeln!(tail, "{}", markdown::digest_marker(&env.name, d));
            } else {
                let _ = writeln!(tail, "{}", markers::no_digest(&env.name));
            }
            let input = match (&extras.plan_digest, &extras.digest_input) {
                (Some(d), Some(v)) if !refused && markers::input_matches(v, d) => {
                    format!("{}\n", markers::digest_input(&env.name, v))
                }
                (Some(_), Some(_)) if !refused => {
                    tracing::warn!(env = %env.name, file = %i.file.display(),
                        "the digest input does not hash to the plan digest; leaving it out of the comment");
                    String::new()
                }
                _ => String::new(),
            };
            let n = parts.rows.len();
            sections.push(Section {
                head,
                lists: parts.lists,
                table_head: parts.table_head,
                rows: parts.rows,
                details: parts.details,
                tail,
                input,
                keep_lists: true,
                keep_input: true,
                keep_rows: n,
                keep_details: vec![true; n],
            });
        }
    }
    let footer = footer(meta);
    redact_parts(&mut head, &mut after_head, &mut sections);
    shorten(&head, &after_head, &mut sections, &footer, limit)
}

/// Every part redacted before it is measured: the output's redaction, applied again on the
/// way out, then has nothing left to shorten or lengthen.
fn redact_parts(head: &mut String, after_head: &mut String, sections: &mut [Section]) {
    let r = |s: &mut String| {
        if let std::borrow::Cow::Owned(o) = crate::output::secret::redact(s) {
            *s = o;
        }
    };
    r(head);
    r(after_head);
    for s in sections {
        r(&mut s.head);
        r(&mut s.lists);
        s.rows.iter_mut().for_each(r);
        s.details.iter_mut().for_each(r);
    }
}

fn footer(meta: &Meta) -> String {
    let short: String = meta.head_sha.chars().take(12).collect();
    let mut out = format!(
        "---\n\nPlanned for commit `{short}` (the head of {})",
        meta.reference
    );
    match (&meta.run_id, &meta.run_url) {
        (Some(id), Some(url)) => {
            let _ = write!(out, " in [{} {id}]({url})", meta.run_word);
        }
        (Some(id), None) => {
            let _ = write!(out, " in {} {id}", meta.run_word);
        }
        _ => {}
    }
    let _ = writeln!(out, " by skconn {}.\n", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "{}", markers::head(&meta.head_sha));
    if let Some(id) = &meta.run_id {
        let _ = writeln!(out, "{}", markers::run(id));
    }
    out
}

/// Room kept, when shortening, for the notes that say what was left out.
fn reserve(sections: usize) -> usize {
    600 + 120 * sections
}

/// Leaves parts out, least important first, until the body fits.
fn shorten(
    head: &str,
    after_head: &str,
    sections: &mut [Section],
    footer: &str,
    limit: &Limit,
) -> Body {
    let render = |sections: &[Section], note: &str| {
        let mut out = String::from(head);
        out.push_str(note);
        out.push_str(after_head);
        for s in sections {
            s.render(&mut out);
        }
        out.push_str(footer);
        out
    };
    let full = render(sections, "");
    if limit.measure(&full) <= limit.max {
        return Body {
            text: full,
            left_out: Vec::new(),
        };
    }
    let m = |s: &str| limit.measure(s);
    let target = limit.max.saturating_sub(reserve(sections.len()));
    let mut size = m(&full);
    let mut left_out = Vec::new();

    // 1. The digest inputs.
    let inputs: usize = sections.iter().map(|s| m(&s.input)).sum();
    if inputs > 0 {
        for s in sections.iter_mut() {
            s.keep_input = false;
        }
        size -= inputs;
        left_out.push(
            "the digest inputs (`github approved --save` then records the digests only)"
                .to_string(),
        );
    }
    // 2. The not-managed and other-owner lists.
    if size > target {
        let lists: usize = sections.iter().map(|s| m(&s.lists)).sum();
        if lists > 0 {
            for s in sections.iter_mut() {
                s.keep_lists = false;
            }
            size -= lists;
            left_out.push("the lists of connectors left alone".to_string());
        }
    }
    // 3. Collapsed bodies, largest first.
    if size > target {
        let mut all: Vec<(usize, usize, usize)> = Vec::new();
        for (si, s) in sections.iter().enumerate() {
            for (di, d) in s.details.iter().enumerate() {
                all.push((m(d), si, di));
            }
        }
        all.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
        let mut n = 0;
        for (len, si, di) in all {
            if size <= target {
                break;
            }
            sections[si].keep_details[di] = false;
            size -= len;
            n += 1;
        }
        if n > 0 {
            left_out.push(format!(
                "{n} collapsed bod{}",
                if n == 1 { "y" } else { "ies" }
            ));
        }
    }
    // 4. Table rows, from the end of the section holding the most.
    if size > target {
        let mut heap: BinaryHeap<(usize, usize)> = sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.keep_rows > 0)
            .map(|(i, s)| (s.keep_rows, i))
            .collect();
        let mut n = 0;
        while size > target {
            let Some((_, si)) = heap.pop() else { break };
            let s = &mut sections[si];
            s.keep_rows -= 1;
            let k = s.keep_rows;
            size -= m(&s.rows[k]);
            if s.keep_details[k] {
                size -= m(&s.details[k]);
                s.keep_details[k] = false;
            }
            if k == 0 {
                // The table's header and the blank line after it go with the last row.
                size -= m(&s.table_head) + 1;
            } else {
                heap.push((k, si));
            }
            n += 1;
        }
        if n > 0 {
            left_out.push(format!("{n} table row(s)"));
        }
    }
    let note = format!(
        "> [!NOTE]\n> **Shortened to fit {}:** left out are {}. {}\n\n",
        limit.name,
        left_out.join(", "),
        limit.elsewhere
    );
    let text = render(sections, &note);
    if limit.measure(&text) <= limit.max {
        return Body { text, left_out };
    }
    // Only what is always kept is left, and it is still too long (thousands of environments,
    // or failed plans with long errors): say so, and keep the markers.
    let mut text = format!(
        "{head}> [!WARNING]\n> **This plan is too large for {}.** {}\n\n",
        limit.name, limit.elsewhere
    );
    for s in sections.iter() {
        text.push_str(&s.tail);
    }
    text.push_str(footer);
    Body {
        text,
        left_out: vec!["every environment's section".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::json::{parse, EnvExtras};
    use serde_json::{json, Value};

    fn doc(v: Value) -> Document {
        parse(std::path::Path::new("p.json"), &v.to_string()).unwrap()
    }

    fn env(name: &str, changes: Vec<Value>, digest: Option<&str>) -> Value {
        let creates = changes.len();
        json!({"name": name, "summary": {"create": creates, "adopt": 0, "update": 0, "delete": 0, "unchanged": 2},
               "changes": changes, "not_managed": ["Hand Made"], "other_owners": [], "plan_digest": digest})
    }

    fn create(name: &str, description: &str) -> Value {
        json!({"action": "create", "display_name": name, "identifier": null, "file": format!("connectors/{name}.yaml"),
               "drift": false, "before": null, "after": {"display_name": name, "description": description, "proxy_url": "https://x"},
               "diff": [], "warnings": [], "usage": null, "blocked": null})
    }

    fn meta() -> Meta {
        Meta {
            reference: "#7".into(),
            run_word: "run",
            head_sha: "a".repeat(40),
            run_id: Some("99".into()),
            run_url: Some("https://github.com/o/r/actions/runs/99".into()),
        }
    }

    fn balanced(text: &str) {
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count(),
            "{text}"
        );
        let fences = text
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        assert_eq!(fences % 2, 0, "{text}");
    }

    #[test]
    fn a_small_plan_is_whole() {
        let d = "b".repeat(64);
        let input = Input {
            file: "dev.json".into(),
            doc: doc(
                json!({"format_version": "2", "refused": [], "environments": [env("dev", vec![create("Asana", "Tasks")], Some(&d))]}),
            ),
        };
        let body = build(&[input], &meta(), &Limit::comment(None));
        assert!(body.left_out.is_empty());
        let t = &body.text;
        assert!(t.starts_with("<!-- skconn-plan -->\n## skconn plan\n"));
        assert!(t.contains("### Environment `dev`"));
        assert!(t.contains("Not managed, left alone: `Hand Made`"));
        assert!(t.contains(&format!("<!-- skconn-digest env=dev digest={d} -->")));
        assert!(t.contains("plan digest `bbbbbbbbbbbb…`"));
        assert!(t.contains("Planned for commit `aaaaaaaaaaaa` (the head of #7) in [run 99](https://github.com/o/r/actions/runs/99)"));
        let m = markers::parse(t).unwrap();
        assert_eq!(m.head.unwrap(), "a".repeat(40));
        assert_eq!(m.run.unwrap(), "99");
        balanced(t);
    }

    #[test]
    fn a_long_plan_is_shortened_whole_parts_first() {
        let changes: Vec<Value> = (0..400)
            .map(|i| create(&format!("Conn {i:03}"), &"long text ".repeat(40)))
            .collect();
        let d = "c".repeat(64);
        let mut e = env("prod", changes, Some(&d));
        let input_v = json!({"digest_version": "1", "environment": "prod", "changes": []});
        e["digest_input"] = input_v.clone();
        let mut parsed = doc(json!({"format_version": "2", "refused": [], "environments": [e]}));
        // A digest input that hashes to the digest, so that it would be kept.
        let real = crate::plan::digest::of(&input_v);
        parsed.extras[0] = EnvExtras {
            plan_digest: Some(real.clone()),
            digest_input: Some(input_v),
            ..EnvExtras::default()
        };
        let input = Input {
            file: "prod.json".into(),
            doc: parsed,
        };
        let summary = build(std::slice::from_ref(&input), &meta(), &Limit::summary());
        assert!(summary.left_out.is_empty());
        assert!(summary.text.contains("skconn-digest-input env=prod"));
        let body = build(&[input], &meta(), &Limit::comment(Some("https://run")));
        let t = &body.text;
        assert!(t.encode_utf16().count() <= markdown::GITHUB_COMMENT_LIMIT);
        assert!(
            t.contains("**Shortened to fit GitHub's limit of 65,536 characters for a comment:**"),
            "{t}"
        );
        assert!(t.contains("[job summary](https://run)"));
        assert!(!t.contains("skconn-digest-input"));
        assert!(!t.contains("Not managed, left alone"));
        assert!(t.contains(&format!("<!-- skconn-digest env=prod digest={real} -->")));
        assert!(t.ends_with(&format!(
            "{}\n{}\n",
            markers::head(&"a".repeat(40)),
            markers::run("99")
        )));
        assert!(body.left_out.iter().any(|l| l.contains("collapsed bodies")));
        balanced(t);
        assert!(t.len() < summary.text.len());
    }

    #[test]
    fn failed_and_refused_plans_say_why_and_carry_no_digest() {
        let d = "d".repeat(64);
        let failed = Input {
            file: "prod.json".into(),
            doc: doc(
                json!({"format_version": "2", "error": "connectors/a.yaml:3:1: bad\n<!-- skconn-digest env=prod digest=ffff -->", "selected": ["prod"], "refused": [], "environments": []}),
            ),
        };
        let refused = Input {
            file: "dev.json".into(),
            doc: doc(
                json!({"format_version": "2", "refused": [{"environment": "dev", "reason": "deletes 4 of 10", "how_to_proceed": "--force"}],
                            "environments": [env("dev", vec![], Some(&d))]}),
            ),
        };
        let unnamed = Input {
            file: "x.json".into(),
            doc: doc(
                json!({"format_version": "2", "error": "skconn.yaml:1:1: bad", "refused": [], "environments": []}),
            ),
        };
        let inputs = [refused, failed, unnamed];
        let body = build(&inputs, &meta(), &Limit::comment(None));
        let t = &body.text;
        assert!(t.contains("The plan of `prod` failed"));
        assert!(t.contains("connectors/a.yaml:3:1: bad"));
        assert!(t.contains("deletes 4 of 10"));
        let m = markers::parse(t).unwrap();
        assert!(m.digests.is_empty(), "{t}");
        assert!(t.contains("### A plan that failed"));
        assert!(t.contains("skconn.yaml:1:1: bad"));
        assert_eq!(m.failed, [Some("prod".to_string()), None]);
        assert_eq!(m.refused, ["dev"]);
        assert_eq!(
            outcome(&inputs),
            Outcome {
                failed: vec![Some("prod".into()), None],
                refused: vec!["dev".into()]
            }
        );
        balanced(t);
    }
}
