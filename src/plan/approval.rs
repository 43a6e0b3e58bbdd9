//! Approved plans: whether a fresh plan is the one a reviewer approved, and if not, why.
//!
//! An approval names an environment and a plan digest (`--approved prod=3f2a…`), and may carry
//! the approved plan's digest input (from a JSON plan, or the file `skconn github approved
//! --save` writes), which is used only when it hashes to the approved digest. Comparing the
//! fresh plan's digest input with the approved one tells, change by change, what moved: a live
//! connector edited since the review (drift), files changed after the review, a change already
//! applied, a change no one approved.
//!
//! Pure: no I/O. What it must never do: decide that a plan matches on anything but the digest.

use super::{digest, EnvPlan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What was approved for one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub environment: String,
    pub digest: String,
    /// The approved plan's digest input, when at hand and verified against `digest`.
    pub input: Option<Value>,
}

/// Parses `ENV=DIGEST` approvals: each value may hold several, separated by white space or
/// newlines (so that `--approved "$(skconn github approved)"` works). Every problem is reported.
pub fn parse(values: &[String]) -> Result<Vec<Approved>, Vec<String>> {
    let mut out: Vec<Approved> = Vec::new();
    let mut problems = Vec::new();
    for item in values.iter().flat_map(|v| v.split_whitespace()) {
        let Some((env, d)) = item.split_once('=') else {
            problems.push(format!(
                "`{}` is not ENV=DIGEST (e.g. prod=3f2a…, the 64-digit plan digest)",
                crate::output::escape::inert(item)
            ));
            continue;
        };
        if !digest::is_digest(d) {
            problems.push(format!(
                "the approved digest of `{}` is not a plan digest (64 lowercase hex digits)",
                crate::output::escape::inert(env)
            ));
            continue;
        }
        match out.iter().find(|a| a.environment == env) {
            Some(a) if a.digest != d => problems.push(format!(
                "environment `{}` is approved twice with different digests",
                crate::output::escape::inert(env)
            )),
            Some(_) => {}
            None => out.push(Approved {
                environment: env.to_string(),
                digest: d.to_string(),
                input: None,
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Merges approvals from several sources (values, files): the same environment approved twice
/// with different digests is a problem; an input found in one source is kept.
pub fn merge(into: &mut Vec<Approved>, more: Vec<Approved>, problems: &mut Vec<String>) {
    for a in more {
        match into.iter_mut().find(|b| b.environment == a.environment) {
            Some(b) if b.digest != a.digest => problems.push(format!(
                "environment `{}` is approved twice with different digests",
                crate::output::escape::inert(&a.environment)
            )),
            Some(b) => {
                if b.input.is_none() {
                    b.input = a.input;
                }
            }
            None => into.push(a),
        }
    }
}

/// The approvals a document holds: each of its `environments[]` with a `name` and a
/// `plan_digest` (a JSON plan, the plan of a saved plan, or the file `skconn github approved
/// --save` writes), with its `digest_input` attached when it hashes to that digest. A document
/// that holds none, or a failed plan (`error`), is a problem: it approves nothing.
pub fn from_document(document: &Value) -> Result<Vec<Approved>, String> {
    if let Some(error) = document.get("error").and_then(Value::as_str) {
        return Err(format!(
            "it is a plan that failed, so it approves nothing (its error: {})",
            crate::output::escape::inert(error)
        ));
    }
    let Some(envs) = document.get("environments").and_then(Value::as_array) else {
        return Err("it has no `environments` list: give a JSON plan (`skconn plan --format json`), a saved plan, or the file `skconn github approved --save` writes".into());
    };
    let mut out: Vec<Approved> = Vec::new();
    let mut problems = Vec::new();
    for (i, e) in envs.iter().enumerate() {
        // Names are checked against the plan later (an unknown one is an error there).
        let Some(name) = e
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            problems.push(format!("environments[{i}] has no environment `name`"));
            continue;
        };
        let Some(d) = e.get("plan_digest").and_then(Value::as_str) else {
            problems.push(format!(
                "environment `{}` has no `plan_digest` (a plan made by a skconn without digests?)",
                crate::output::escape::inert(name)
            ));
            continue;
        };
        if !digest::is_digest(d) {
            problems.push(format!(
                "the plan_digest of `{}` is not a plan digest (64 lowercase hex digits)",
                crate::output::escape::inert(name)
            ));
            continue;
        }
        let input = e
            .get("digest_input")
            .filter(|i| !i.is_null() && digest::of(i) == d)
            .cloned();
        merge(
            &mut out,
            vec![Approved {
                environment: name.to_string(),
                digest: d.to_string(),
                input,
            }],
            &mut problems,
        );
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if out.is_empty() {
        return Err("it holds no environment's plan digest, so it approves nothing".into());
    }
    Ok(out)
}

/// Attaches approved digest inputs found in a document (a JSON plan, or the file `skconn github
/// approved --save` writes: both list `environments[]` with `name`, `plan_digest` and
/// `digest_input`) to the approvals they hash to. Returns how many were attached.
pub fn attach_inputs(approved: &mut [Approved], document: &Value) -> usize {
    let mut n = 0;
    let envs = document
        .get("environments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for e in envs {
        let Some(input) = e.get("digest_input") else {
            continue;
        };
        let hashed = digest::of(input);
        let name = e.get("name").and_then(Value::as_str);
        for a in approved.iter_mut() {
            if a.digest == hashed && name.is_none_or(|n| n == a.environment) && a.input.is_none() {
                a.input = Some(input.clone());
                n += 1;
            }
        }
    }
    n
}

/// Why a fresh plan differs from the approved one, as far as skconn can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The live connector changed since the review (its value before differs).
    Drift,
    /// The files changed after the review (the value after differs, or the action).
    FilesChanged,
    /// An approved change is no longer needed: the live connector already matches the files.
    AlreadyApplied,
    /// A change that the approved plan did not hold (another pull request merged, a later
    /// commit, or an edit outside skconn).
    NotApproved,
    /// Whether a delete is blocked by connections changed.
    UsageChanged,
    /// The approved plan is not at hand, so only the digests can be compared.
    Unknown,
}

/// One reason, about one connector (or the whole environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub cause: Cause,
    /// The connector it is about; `None` for the environment as a whole.
    pub connector: Option<String>,
    pub message: String,
}

/// The verdict of one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub environment: String,
    /// The approved digest; `None` when none was given for this environment.
    pub approved: Option<String>,
    /// The fresh plan's digest.
    pub fresh: String,
    /// Why they differ (empty when they match).
    pub reasons: Vec<Reason>,
    /// The approved changes as `action "connector"`, when the approved plan is at hand.
    pub approved_changes: Option<Vec<String>>,
    /// The fresh plan's changes, as `action "connector"`.
    pub fresh_changes: Vec<String>,
}

impl Check {
    pub fn matches(&self) -> bool {
        self.approved.as_deref() == Some(self.fresh.as_str())
    }
}

fn change_list(input: &Value) -> Vec<&Value> {
    input
        .get("changes")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn label(c: &Value) -> String {
    format!(
        "{} \"{}\"",
        c.get("action").and_then(Value::as_str).unwrap_or("?"),
        crate::output::escape::inert(c.get("connector").and_then(Value::as_str).unwrap_or("?"))
    )
}

fn fields_by_pointer(c: &Value) -> BTreeMap<String, (&Value, &Value)> {
    c.get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f.get("pointer")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                (
                    f.get("before").unwrap_or(&Value::Null),
                    f.get("after").unwrap_or(&Value::Null),
                ),
            )
        })
        .collect()
}

fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        "the whole connector".to_string()
    } else {
        format!("`{pointer}`")
    }
}

/// Compares a fresh environment plan with its approval (`None`: none was given).
pub fn check(env: &EnvPlan, approved: Option<&Approved>) -> Check {
    let fresh_input = digest::input(env);
    let fresh = digest::of(&fresh_input);
    let fresh_changes: Vec<String> = change_list(&fresh_input).into_iter().map(label).collect();
    let Some(a) = approved else {
        return Check {
            environment: env.name.clone(),
            approved: None,
            fresh,
            reasons: vec![Reason {
                cause: Cause::Unknown,
                connector: None,
                message: format!(
                    "no approved digest was given for environment {} (--approved {}=DIGEST): it is not applied",
                    env.name, env.name
                ),
            }],
            approved_changes: None,
            fresh_changes,
        };
    };
    let mut check = Check {
        environment: env.name.clone(),
        approved: Some(a.digest.clone()),
        fresh,
        reasons: Vec::new(),
        approved_changes: a
            .input
            .as_ref()
            .map(|i| change_list(i).into_iter().map(label).collect()),
        fresh_changes,
    };
    if check.matches() {
        return check;
    }
    let drifted = |name: &str| {
        env.changes
            .iter()
            .any(|c| c.display_name == name && c.drift)
    };
    let Some(approved_input) = &a.input else {
        let mut reasons: Vec<Reason> = env
            .changes
            .iter()
            .filter(|c| c.drift)
            .map(|c| Reason {
                cause: Cause::Drift,
                connector: Some(c.display_name.clone()),
                message: format!(
                    "\"{}\" was edited outside skconn since skconn last wrote it (drift)",
                    crate::output::escape::inert(&c.display_name)
                ),
            })
            .collect();
        reasons.push(Reason {
            cause: Cause::Unknown,
            connector: None,
            message: if env.changes.is_empty() {
                "the environment already matches the files: the approved changes were probably applied already".to_string()
            } else {
                "the approved plan is not at hand (pass --approved-plan with the approved JSON plan, or the file `skconn github approved --save` writes), so skconn can compare only the digests".to_string()
            },
        });
        check.reasons = reasons;
        return check;
    };
    let key = |c: &Value| {
        c.get("connector")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let approved_by: BTreeMap<String, &Value> = change_list(approved_input)
        .into_iter()
        .map(|c| (key(c), c))
        .collect();
    let fresh_by: BTreeMap<String, &Value> = change_list(&fresh_input)
        .into_iter()
        .map(|c| (key(c), c))
        .collect();
    let reason = |cause, name: &str, message: String| Reason {
        cause,
        connector: Some(name.to_string()),
        message,
    };
    let mut reasons = Vec::new();
    for (name, ac) in &approved_by {
        let shown = crate::output::escape::inert(name);
        let Some(fc) = fresh_by.get(name) else {
            reasons.push(reason(
                Cause::AlreadyApplied,
                name,
                format!("the approved {} is no longer needed: the live connector already matches the files (the change was applied already, by an earlier run or by hand)", label(ac)),
            ));
            continue;
        };
        if ac == fc {
            continue;
        }
        if ac.get("action") != fc.get("action") {
            let cause = if drifted(name) {
                Cause::Drift
            } else {
                Cause::FilesChanged
            };
            reasons.push(reason(
                cause,
                name,
                format!(
                    "\"{shown}\": the approved plan would {} it, the fresh plan would {} it",
                    ac.get("action").and_then(Value::as_str).unwrap_or("?"),
                    fc.get("action").and_then(Value::as_str).unwrap_or("?")
                ),
            ));
            continue;
        }
        if ac.get("identifier") != fc.get("identifier") {
            reasons.push(reason(
                Cause::Drift,
                name,
                format!("\"{shown}\": the live connector is not the one reviewed (its identifier changed: deleted and created again since)"),
            ));
        }
        if ac.get("blocked") != fc.get("blocked") {
            let now = fc.get("blocked") == Some(&Value::Bool(true));
            reasons.push(reason(
                Cause::UsageChanged,
                name,
                format!(
                    "\"{shown}\": its connections changed since the review: the delete is {} blocked",
                    if now { "now" } else { "no longer" }
                ),
            ));
        }
        let af = fields_by_pointer(ac);
        let ff = fields_by_pointer(fc);
        let mut drift_places = Vec::new();
        let mut file_places = Vec::new();
        for (p, (ab, aa)) in &af {
            match ff.get(p) {
                Some((fb, fa)) => {
                    if ab != fb {
                        drift_places.push(place(p));
                    }
                    if aa != fa {
                        file_places.push(place(p));
                    }
                }
                None => file_places.push(place(p)),
            }
        }
        for p in ff.keys().filter(|p| !af.contains_key(*p)) {
            // A field the approved plan left alone changes now: the files or the live side moved.
            if drifted(name) {
                drift_places.push(place(p));
            } else {
                file_places.push(place(p));
            }
        }
        if !drift_places.is_empty() {
            reasons.push(reason(
                Cause::Drift,
                name,
                format!(
                    "\"{shown}\": the live connector changed since the review (drift) at {}",
                    drift_places.join(", ")
                ),
            ));
        }
        if !file_places.is_empty() {
            reasons.push(reason(
                Cause::FilesChanged,
                name,
                format!(
                    "\"{shown}\": the files changed after the review at {}",
                    file_places.join(", ")
                ),
            ));
        }
    }
    for (name, fc) in &fresh_by {
        if approved_by.contains_key(name) {
            continue;
        }
        let (cause, why) = if drifted(name) {
            (
                Cause::Drift,
                "the live connector was edited outside skconn since the review (drift)",
            )
        } else {
            (
                Cause::NotApproved,
                "the plan also holds changes merged by another pull request (or pushed after the review)",
            )
        };
        reasons.push(reason(
            cause,
            name,
            format!("{} is not in the approved plan: {why}", label(fc)),
        ));
    }
    if reasons.is_empty() {
        reasons.push(Reason {
            cause: Cause::Unknown,
            connector: None,
            message: "the plans hold the same changes but their digests differ (a plan digest of another version?)".into(),
        });
    }
    check.reasons = reasons;
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{self, Desired, Live, Origin};
    use crate::plan::diff_env;
    use crate::settings::Prune;
    use serde_json::json;

    fn desired(name: &str, body: Value) -> Desired {
        let mut body = body;
        body["display_name"] = json!(name);
        Desired {
            display_name: name.into(),
            written: None,
            body,
            previous_names: vec![],
            origin: Origin {
                file: format!("connectors/{name}.yaml").into(),
            },
            unknown: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn live(name: &str, body: Value) -> Live {
        let mut sent = body;
        sent["display_name"] = json!(name);
        let mut stored = model::body_to_send(&sent);
        stored["identifier"] = json!(format!("{}:1", name.to_lowercase()));
        stored["is_custom"] = json!(true);
        Live::from_provider(&stored).unwrap()
    }

    fn env_plan(d: &[Desired], l: &[Live]) -> EnvPlan {
        let mut p = diff_env("prod", d, l, Prune::Managed);
        digest::fill(&mut p, &digest::MaskKey::new("prod", b"k"));
        p
    }

    fn approval(p: &EnvPlan) -> Approved {
        let input = digest::input(p);
        Approved {
            environment: "prod".into(),
            digest: digest::of(&input),
            input: Some(input),
        }
    }

    fn causes(c: &Check) -> Vec<Cause> {
        c.reasons.iter().map(|r| r.cause).collect()
    }

    #[test]
    fn approvals_parse_from_lines_and_refuse_what_is_not_a_digest() {
        let d = "a".repeat(64);
        let ok = parse(&[format!("dev={d}\nprod={d}")]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].environment, "prod");
        let e = parse(&["prod".into(), "dev=xyz".into()]).unwrap_err();
        assert_eq!(e.len(), 2);
        let e = parse(&[format!("dev={d}"), format!("dev={}", "b".repeat(64))]).unwrap_err();
        assert!(e[0].contains("twice"));
    }

    #[test]
    fn drift_files_changed_already_applied_and_not_approved_are_told_apart() {
        let b = |d: &str| json!({"proxy_url": "https://a.example.net", "description": d});
        let reviewed = env_plan(
            &[desired("A", b("new")), desired("B", b("new"))],
            &[live("A", b("old")), live("B", b("old"))],
        );
        let a = approval(&reviewed);
        assert!(check(&reviewed, Some(&a)).matches());

        // A was edited in the dashboard after the review.
        let fresh = env_plan(
            &[desired("A", b("new")), desired("B", b("new"))],
            &[live("A", b("edited")), live("B", b("old"))],
        );
        let c = check(&fresh, Some(&a));
        assert!(!c.matches());
        assert_eq!(causes(&c), [Cause::Drift]);
        assert!(c.reasons[0].message.contains("`/description`"));

        // B's file changed after the review.
        let fresh = env_plan(
            &[desired("A", b("new")), desired("B", b("newer"))],
            &[live("A", b("old")), live("B", b("old"))],
        );
        assert_eq!(causes(&check(&fresh, Some(&a))), [Cause::FilesChanged]);

        // A was applied already; C comes from another pull request.
        let fresh = env_plan(
            &[
                desired("A", b("new")),
                desired("B", b("new")),
                desired("C", b("x")),
            ],
            &[live("A", b("new")), live("B", b("old"))],
        );
        assert_eq!(
            causes(&check(&fresh, Some(&a))),
            [Cause::AlreadyApplied, Cause::NotApproved]
        );
    }

    #[test]
    fn without_the_approved_plan_only_digests_are_compared() {
        let b = |d: &str| json!({"proxy_url": "https://a.example.net", "description": d});
        let p = env_plan(&[desired("A", b("new"))], &[live("A", b("old"))]);
        let a = Approved {
            environment: "prod".into(),
            digest: "0".repeat(64),
            input: None,
        };
        let c = check(&p, Some(&a));
        assert!(!c.matches());
        assert_eq!(causes(&c), [Cause::Unknown]);
        let none = check(&p, None);
        assert!(!none.matches());
        assert!(none.reasons[0].message.contains("--approved prod=DIGEST"));
    }

    #[test]
    fn inputs_attach_only_when_they_hash_to_the_approved_digest() {
        let b = json!({"proxy_url": "https://a.example.net"});
        let p = env_plan(&[desired("A", b)], &[]);
        let input = digest::input(&p);
        let d = digest::of(&input);
        let mut a = parse(&[format!("prod={d}")]).unwrap();
        let mut forged = input.clone();
        forged["changes"] = json!([]);
        let doc = json!({"environments": [{"name": "prod", "digest_input": forged}]});
        assert_eq!(attach_inputs(&mut a, &doc), 0);
        let doc = json!({"environments": [{"name": "prod", "digest_input": input}]});
        assert_eq!(attach_inputs(&mut a, &doc), 1);
        assert!(a[0].input.is_some());
    }
}
