//! The comment an apply on main leaves on the pull request it merged, when an environment was
//! not applied cleanly: one comment per environment, first line `<!-- skconn-apply env=NAME -->`
//! (so a rerun updates it), saying that the apply stopped or failed, why (the approval's
//! reasons, or what failed), the fresh plan, and how to proceed (the manual run of the apply
//! workflow). It is never the plan comment: that one stays the record of what was approved.
//!
//! GitLab's note on a stopped apply is the same body: only the forge's words ([`Words`]: the
//! merge request, the pipeline, the way forward) differ.
//!
//! Pure: builds the body from an apply report (`skconn apply --report`); sends nothing.

use crate::plan::approval::{Check, Reason};
use crate::plan::EnvPlan;
use crate::render::json::EnvExtras;
use crate::render::markdown;
use serde_json::Value;
use std::fmt::Write;

/// The first line of an environment's apply comment.
pub fn marker(env: &str) -> String {
    format!("<!-- skconn-apply env={env} -->")
}

/// The words of the forge the body is written for: what the reviewed change is called, what
/// a run is, where more is kept, and the way forward (the manual run).
#[derive(Debug)]
pub struct Words {
    /// `pull request #` / `merge request !`: the reviewed change, before its number.
    pub request: &'static str,
    /// `pull request` / `merge request`.
    pub request_kind: &'static str,
    /// `comment` / `note`: what holds the reviewed plan.
    pub plan_holder: &'static str,
    /// `run` / `pipeline`.
    pub run_word: &'static str,
    /// Where the whole report is kept: `job summary` / `job log`.
    pub more: &'static str,
    /// `GitHub` / `GitLab`.
    pub forge: &'static str,
    /// How to apply an environment's current plan by hand, after showing it.
    pub manual_run: fn(&str) -> String,
}

/// GitHub's words.
pub const GITHUB: Words = Words {
    request: "pull request #",
    request_kind: "pull request",
    plan_holder: "comment",
    run_word: "run",
    more: "job summary",
    forge: "GitHub",
    manual_run,
};

/// GitLab's words.
pub const GITLAB: Words = Words {
    request: "merge request !",
    request_kind: "merge request",
    plan_holder: "note",
    run_word: "pipeline",
    more: "job log",
    forge: "GitLab",
    manual_run: gitlab_manual_run,
};

/// Where and for what the apply ran.
#[derive(Debug, Clone)]
pub struct ApplyMeta {
    /// The forge's words.
    pub words: &'static Words,
    pub pull_request: u64,
    /// The pushed (merge) commit.
    pub merge_sha: String,
    pub run_id: Option<String>,
    pub run_url: Option<String>,
}

/// How an environment's apply ended, as its report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Every change applied, or none to apply: nothing to comment on.
    Clean,
    /// The fresh plan is not the approved one: nothing was sent.
    Differs,
    /// Some changes failed, or none could be applied.
    Failed,
    /// Nothing was sent, for another reason (refused, an earlier environment failed).
    NotAttempted,
}

/// How the apply of `extras`' environment ended.
pub fn ended(extras: &EnvExtras) -> Ended {
    let status = extras
        .outcome
        .as_ref()
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("not_attempted");
    let differs = extras
        .approval
        .as_ref()
        .and_then(|a| a.get("matches"))
        .and_then(Value::as_bool)
        == Some(false);
    match status {
        "applied" | "no_changes" => Ended::Clean,
        "not_attempted" if differs => Ended::Differs,
        "not_attempted" => Ended::NotAttempted,
        _ => Ended::Failed,
    }
}

/// The approval check as the report wrote it, for the Markdown renderer.
fn check(env: &EnvPlan, extras: &EnvExtras) -> Option<Check> {
    let a = extras.approval.as_ref()?;
    let strings = |k: &str| -> Option<Vec<String>> {
        a.get(k)?.as_array().map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    };
    Some(Check {
        environment: env.name.clone(),
        approved: a
            .get("approved_digest")
            .and_then(Value::as_str)
            .map(str::to_string),
        fresh: extras.plan_digest.clone().unwrap_or_default(),
        reasons: a
            .get("reasons")
            .cloned()
            .and_then(|r| serde_json::from_value::<Vec<Reason>>(r).ok())
            .unwrap_or_default(),
        approved_changes: strings("approved_changes"),
        fresh_changes: strings("fresh_changes").unwrap_or_default(),
    })
}

/// What the manual run is, in the words of the workflows `skconn init` writes.
pub fn manual_run(env: &str) -> String {
    format!(
        "run the apply workflow by hand from main (Actions → skconn apply → Run workflow, \
         environment `{}`): its `show` job puts the environment's current plan and digest in \
         the job summary, and once the reviewers of the GitHub environment `{}` approve, it \
         applies exactly that plan (or nothing, if the environment moved in between)",
        crate::output::escape::markdown(env),
        crate::output::escape::markdown(env)
    )
}

/// What running a pipeline by hand is, in the words of the `.gitlab-ci.yml` `skconn init --ci
/// gitlab` writes.
pub fn gitlab_manual_run(env: &str) -> String {
    format!(
        "run a pipeline by hand on the default branch (Build → Pipelines → Run pipeline): its \
         job `apply-{}-unreviewed` plans `{}` afresh, shows that plan in its log and applies it \
         (behind the GitLab environment `{}`'s protection, if it has one)",
        crate::output::escape::markdown(env),
        crate::output::escape::markdown(env),
        crate::output::escape::markdown(env)
    )
}

/// The body of the apply comment for one environment, within `limit` characters (UTF-16
/// units). Over it, the fresh plan's table and bodies are left out (the job summary, or on
/// GitLab the job log, holds them).
pub fn build(env: &EnvPlan, extras: &EnvExtras, meta: &ApplyMeta, limit: usize) -> String {
    let w = meta.words;
    let e = crate::output::escape::markdown(&env.name);
    let mut head = format!("{}\n## skconn apply: `{e}`\n\n", marker(&env.name));
    let outcome = extras.outcome.as_ref();
    let count = |k: &str| {
        outcome
            .and_then(|o| o.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let reason = outcome
        .and_then(|o| o.get("reason"))
        .and_then(Value::as_str)
        .map(markdown::escape);
    match ended(extras) {
        Ended::Differs => match check(env, extras) {
            Some(c) => {
                let _ = write!(
                    head,
                    "The apply of `{e}` **stopped**: its fresh plan is not the plan this {}'s {} showed and a reviewer approved.\n\n",
                    w.request_kind,
                    w.plan_holder
                );
                head.push_str(&crate::render::approval::markdown(&c));
            }
            None => {
                let _ = write!(head, "> [!CAUTION]\n> **The apply of `{e}` stopped**: the fresh plan differs from the approved plan. Nothing was sent to it or to any later environment.\n\n");
            }
        },
        Ended::Failed => {
            let _ = writeln!(
                head,
                "> [!WARNING]\n> **The apply of `{e}` failed**: {} applied, {} failed, {} not attempted. Later environments were not applied.{}\n",
                count("applied"),
                count("failed"),
                count("not_attempted"),
                reason.as_deref().map(|r| format!("\n>\n> {r}")).unwrap_or_default()
            );
            let failed: Vec<String> = outcome
                .and_then(|o| o.get("changes"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("status").and_then(Value::as_str) != Some("applied"))
                .map(|c| {
                    format!(
                        "- {} \"{}\": {}{}",
                        c.get("status")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .replace('_', " "),
                        crate::output::escape::markdown(
                            c.get("display_name").and_then(Value::as_str).unwrap_or("?")
                        ),
                        c.get("action").and_then(Value::as_str).unwrap_or("?"),
                        c.get("message")
                            .and_then(Value::as_str)
                            .map(|m| format!(" — {}", crate::output::escape::markdown(m)))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if !failed.is_empty() {
                let _ = writeln!(head, "{}\n", failed.join("\n"));
            }
        }
        Ended::NotAttempted | Ended::Clean => {
            let _ = writeln!(
                head,
                "> [!CAUTION]\n> **`{e}` was not applied**: {}. Nothing was sent to it.\n",
                reason.as_deref().unwrap_or("the apply stopped before it")
            );
        }
    }
    let proceed = format!(
        "**How to proceed:** read the fresh plan below; to apply it, {}. Nothing that no comment showed is applied.\n\n",
        (w.manual_run)(&env.name)
    );
    let parts = markdown::env_section(env);
    let title = "The fresh plan, which was **not** applied:\n\n".to_string();
    let mut section = parts.head.clone();
    section.push_str(&parts.lists);
    if !parts.rows.is_empty() {
        section.push_str(&parts.table_head);
        for r in &parts.rows {
            section.push_str(r);
        }
        section.push('\n');
        for d in &parts.details {
            section.push_str(d);
        }
    }
    if !section.ends_with("\n\n") {
        section.push('\n');
    }
    if let Some(d) = &extras.plan_digest {
        let _ = writeln!(section, "<sub>{}</sub>\n", markdown::digest_footer(d));
    }
    let footer = footer(meta);
    let whole = format!("{head}{proceed}{title}{section}{footer}");
    if whole.encode_utf16().count() <= limit {
        return whole;
    }
    // Too long: the summary line stays, the table and bodies go (the job summary has them).
    let where_ = match &meta.run_url {
        Some(u) => format!("the [{}]({u})", w.more),
        None => format!("the {}", w.more),
    };
    format!(
        "{head}{proceed}{title}{}_The fresh plan's changes are left out here to fit {}'s limit; {where_} holds them._\n\n{footer}",
        parts.head,
        w.forge
    )
}

/// The body for an environment whose apply failed before it had a plan (its report is a failed
/// document: the error, and the environments it was asked for).
pub fn build_failed(env: &str, error: &str, meta: &ApplyMeta) -> String {
    let e = crate::output::escape::markdown(env);
    format!(
        "{}\n## skconn apply: `{e}`\n\n> [!WARNING]\n> **The apply of `{e}` failed before it had a plan**: nothing was sent to it or to any later environment.\n\n{}\n**How to proceed:** fix the cause (the job log has the details); then re-run the failed job, or {}.\n\n{}",
        marker(env),
        markdown::error_quote(error),
        (meta.words.manual_run)(env),
        footer(meta)
    )
}

fn footer(meta: &ApplyMeta) -> String {
    let short: String = meta.merge_sha.chars().take(12).collect();
    let mut out = format!(
        "---\n\nApply of merge commit `{short}` ({}{})",
        meta.words.request, meta.pull_request
    );
    let run = meta.words.run_word;
    match (&meta.run_id, &meta.run_url) {
        (Some(id), Some(url)) => {
            let _ = write!(out, " in [{run} {id}]({url})");
        }
        (Some(id), None) => {
            let _ = write!(out, " in {run} {id}");
        }
        _ => {}
    }
    let _ = writeln!(out, " by skconn {}.", env!("CARGO_PKG_VERSION"));
    if let Some(id) = &meta.run_id {
        let _ = write!(out, "\n{}\n", super::markers::run(id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(approval: Option<Value>, outcome: Value) -> crate::render::json::Document {
        let mut env = json!({
            "name": "prod", "source": {"kind": "live", "taken_at": null},
            "plan_digest": "a".repeat(64),
            "summary": {"create": 1, "adopt": 0, "update": 0, "delete": 0, "unchanged": 0},
            "changes": [{"action": "create", "display_name": "Delta", "identifier": null,
                "file": "connectors/delta.yaml", "drift": false, "before": null,
                "after": {"display_name": "Delta"}, "diff": [], "warnings": [], "usage": null,
                "blocked": null}],
            "not_managed": [], "other_owners": [], "outcome": outcome,
        });
        if let Some(a) = approval {
            env["approval"] = a;
        }
        let doc =
            json!({"format_version": "2", "refused": [], "environments": [env], "exit_code": 6});
        crate::render::json::parse(std::path::Path::new("r.json"), &doc.to_string()).unwrap()
    }

    fn meta() -> ApplyMeta {
        ApplyMeta {
            words: &GITHUB,
            pull_request: 12,
            merge_sha: "m".repeat(40),
            run_id: Some("77".into()),
            run_url: Some("https://github.example/o/r/actions/runs/77".into()),
        }
    }

    #[test]
    fn a_stop_says_why_shows_the_fresh_plan_and_the_manual_run() {
        let d = report(
            Some(json!({"approved_digest": "b".repeat(64), "matches": false,
                "approved_changes": [], "fresh_changes": ["create \"Delta\""],
                "reasons": [{"cause": "not_approved", "connector": "Delta",
                    "message": "create \"Delta\" is not in the approved plan: the plan also holds changes merged by another pull request (or pushed after the review)"}]})),
            json!({"status": "not_attempted", "applied": 0, "failed": 0, "not_attempted": 1,
                "reason": "x", "changes": []}),
        );
        assert_eq!(ended(&d.extras[0]), Ended::Differs);
        let body = build(&d.plan.environments[0], &d.extras[0], &meta(), 65_536);
        assert!(
            body.starts_with("<!-- skconn-apply env=prod -->\n"),
            "{body}"
        );
        assert!(body.contains("**stopped**"), "{body}");
        assert!(body.contains("merged by another pull request"), "{body}");
        assert!(
            body.contains("The fresh plan, which was **not** applied"),
            "{body}"
        );
        assert!(body.contains("Delta"), "{body}");
        assert!(body.contains("Run workflow, environment `prod`"), "{body}");
        assert!(body.contains("pull request #12"), "{body}");
        assert!(!body.contains("<!-- skconn-plan -->"), "{body}");
        assert!(!body.contains("<!-- skconn-digest "), "{body}");
        let limit = body.encode_utf16().count() - 50;
        let short = build(&d.plan.environments[0], &d.extras[0], &meta(), limit);
        assert!(short.encode_utf16().count() <= limit, "{short}");
        assert!(short.contains("left out here"), "{short}");
    }

    #[test]
    fn on_gitlab_the_same_body_speaks_of_the_merge_request_and_the_pipeline() {
        let d = report(
            Some(json!({"approved_digest": "b".repeat(64), "matches": false,
                "approved_changes": [], "fresh_changes": ["create \"Delta\""],
                "reasons": [{"cause": "not_approved", "connector": "Delta",
                    "message": "create \"Delta\" is not in the approved plan"}]})),
            json!({"status": "not_attempted", "applied": 0, "failed": 0, "not_attempted": 1,
                "reason": "x", "changes": []}),
        );
        let gitlab = ApplyMeta {
            words: &GITLAB,
            run_url: Some("https://gitlab.example/o/r/-/pipelines/77".into()),
            ..meta()
        };
        let env = &d.plan.environments[0];
        let body = build(env, &d.extras[0], &gitlab, 1_000_000);
        let github = build(env, &d.extras[0], &meta(), 1_000_000);
        assert!(
            body.starts_with("<!-- skconn-apply env=prod -->\n"),
            "{body}"
        );
        assert!(body.contains("this merge request's note showed"), "{body}");
        assert!(body.contains("Build → Pipelines → Run pipeline"), "{body}");
        assert!(body.contains("`apply-prod-unreviewed`"), "{body}");
        assert!(
            body.contains("(merge request !12) in [pipeline 77]("),
            "{body}"
        );
        assert!(
            !body.contains("pull request") && !body.contains("Run workflow"),
            "{body}"
        );
        // Only the words differ: the reasons and the fresh plan are GitHub's, byte for byte.
        let tail = |b: &str| {
            b[b.find("The fresh plan, which").unwrap()..b.find("---\n").unwrap()].to_string()
        };
        assert_eq!(tail(&body), tail(&github));
        assert!(github.contains("Run workflow"), "{github}");
    }

    #[test]
    fn a_clean_apply_is_clean_and_a_failure_lists_what_failed() {
        let d = report(
            None,
            json!({"status": "applied", "applied": 1, "failed": 0, "not_attempted": 0,
                "reason": null, "changes": []}),
        );
        assert_eq!(ended(&d.extras[0]), Ended::Clean);
        let d = report(
            None,
            json!({"status": "failed", "applied": 0, "failed": 1, "not_attempted": 0,
                "reason": null, "changes": [{"action": "create", "display_name": "Delta",
                "status": "failed", "message": "the server answered 500"}]}),
        );
        assert_eq!(ended(&d.extras[0]), Ended::Failed);
        let body = build(&d.plan.environments[0], &d.extras[0], &meta(), 65_536);
        assert!(body.contains("**The apply of `prod` failed**"), "{body}");
        assert!(body.contains("the server answered 500"), "{body}");
    }
}
