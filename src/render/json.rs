//! The JSON form of a plan: a contract for programs. Changing its shape means a new
//! [`FORMAT_VERSION`]; docs/plans.md documents it, and `schema/plan.schema.json` describes it.
//!
//! [`parse`] reads such a document back into a [`Plan`] (a JSON plan is also an input: the
//! pull-request comment is rendered from the plans of other jobs by the same renderers as
//! `plan`); rendering what it read gives the same document again.

use crate::base::error::Diagnostic;
use crate::model::FileWarningKind;
use crate::plan::usage::{ConnectionCounts, StatusCounts};
use crate::plan::{
    digest, Action, Change, EnvPlan, FieldChange, Op, Plan, Refusal, Summary, Usage,
};
use crate::plan::{Warning, WarningKind, What};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The version of the JSON plan format.
pub const FORMAT_VERSION: &str = "2";

/// The whole plan as one JSON document.
pub fn plan(plan: &Plan) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "digest_version": DIGEST_VERSION,
        "refused": plan.refused,
        "environments": plan.environments.iter().map(env).collect::<Vec<_>>(),
    })
}

fn env(e: &EnvPlan) -> Value {
    let s = e.summary();
    let input = digest::input(e);
    let source = match &e.source {
        crate::plan::Source::Live => json!({"kind": "live", "taken_at": null}),
        crate::plan::Source::Snapshot { taken_at } => {
            json!({"kind": "snapshot", "taken_at": taken_at})
        }
    };
    json!({
        "name": e.name,
        "source": source,
        "plan_digest": digest::of(&input),
        "digest_input": input,
        "summary": {"create": s.create, "adopt": s.adopt, "update": s.update, "delete": s.delete, "unchanged": s.unchanged},
        "changes": e.changes.iter().map(change).collect::<Vec<_>>(),
        "not_managed": e.not_managed,
        "other_owners": e.other_owners.iter()
            .map(|(n, o)| json!({"display_name": n, "owner": o}))
            .collect::<Vec<_>>(),
    })
}

/// One change: what happens, to which connector, the whole object before and after (`null`
/// where absent), the field diff by meaning and the typed warnings.
pub fn change(c: &Change) -> Value {
    json!({
        "action": c.action().verb(),
        "display_name": c.display_name,
        "identifier": c.identifier(),
        "file": c.file().map(|f| f.display().to_string()),
        "drift": c.drift,
        "before": c.before,
        "after": c.after,
        "diff": c.diff.iter().map(field).collect::<Vec<_>>(),
        "warnings": c.warnings,
        "usage": super::usage::json(c.usage.as_ref()),
        "blocked": super::usage::blocked_json(c),
    })
}

/// One field change: `path` readable, `pointer` the JSON Pointer.
pub fn field(f: &FieldChange) -> Value {
    json!({
        "op": f.op,
        "path": f.path,
        "pointer": f.pointer,
        "old": f.old,
        "new": f.new,
    })
}

/// The version of the plan digest's canonical form that documents written by this skconn carry.
pub use crate::plan::digest::DIGEST_VERSION;

/// The document written when no plan could be made: the error, the environments the command
/// was asked to plan (`selected`, when known), and no environments planned.
pub fn failed(message: &str, selected: &[String]) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "digest_version": DIGEST_VERSION,
        "error": message,
        "selected": selected,
        "refused": [],
        "environments": [],
    })
}

/// A JSON plan document read back (`skconn github comment` reads the plans of other jobs):
/// the [`Plan`] it describes, so that the same renderers show it, and what the document holds
/// beside the plan.
#[derive(Debug, Clone)]
pub struct Document {
    pub plan: Plan,
    /// Why no plan could be made (a failed plan); `None` for a plan.
    pub error: Option<String>,
    /// The environments a failed plan was asked to plan (empty when not known).
    pub selected: Vec<String>,
    pub digest_version: Option<String>,
    /// What each environment carries beside its plan, in the order of `plan.environments`.
    pub extras: Vec<EnvExtras>,
    /// The exit code of the apply, in the report of `skconn apply --report`.
    pub exit_code: Option<i64>,
}

/// An environment's digest, digest input and source, as its JSON plan holds them (each absent
/// in plans made before digests existed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvExtras {
    /// 64 lowercase hex digits.
    pub plan_digest: Option<String>,
    pub digest_input: Option<Value>,
    pub source: Option<Source>,
    /// `approval` (a plan or apply made with `--approved`), as written.
    pub approval: Option<Value>,
    /// `outcome` (the report of `skconn apply --report`), as written.
    pub outcome: Option<Value>,
}

/// Where an environment's live state came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `live` or `snapshot`.
    pub kind: String,
    /// When the snapshot was taken (RFC 3339); `None` for a live plan.
    pub taken_at: Option<String>,
}

/// Reads a JSON plan document (format [`FORMAT_VERSION`]). Keys this skconn does not know are
/// ignored (later skconns add optional ones); a missing or mistyped key, an unknown action, op
/// or warning kind, counts that disagree with the changes, or an environment name skconn would
/// not accept are errors, all of them reported at once, naming the place.
pub fn parse(file: &Path, text: &str) -> Result<Document, Vec<Diagnostic>> {
    let at = |e: &serde_json::Error| {
        Diagnostic::new(file, format!("not a JSON plan: {}", message_of(e)))
            .at(e.line(), e.column())
    };
    let version: VersionOnly = serde_json::from_str(text).map_err(|e| vec![at(&e)])?;
    match version.format_version.as_ref().and_then(Value::as_str) {
        Some(FORMAT_VERSION) => {}
        Some(other) => {
            return Err(vec![Diagnostic::new(
                file,
                format!("format_version {other:?} is not one this skconn reads (it reads {FORMAT_VERSION:?})"),
            )
            .field("format_version")
            .help("plan and comment with the same skconn version")])
        }
        None => {
            return Err(vec![Diagnostic::new(
                file,
                "no format_version: this is not a JSON plan (write one with `skconn plan --format json`)",
            )
            .field("format_version")])
        }
    }
    let doc: JDoc = serde_json::from_str(text).map_err(|e| vec![at(&e)])?;
    let mut problems = Vec::new();
    let mut bad = |field: String, message: String| {
        problems.push(Diagnostic::new(file, message).field(field));
    };
    for (i, name) in doc.selected.iter().enumerate() {
        if !valid_env_name(name) {
            bad(
                format!("selected[{i}]"),
                format!("{name:?} is not an environment name"),
            );
        }
    }
    if doc.error.is_some() && !doc.environments.is_empty() {
        bad(
            "error".into(),
            "a failed plan (with `error`) holds no environments, but this one does".into(),
        );
    }
    let mut environments = Vec::new();
    let mut extras = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, e) in doc.environments.into_iter().enumerate() {
        let here = format!("environments[{i}]");
        if !valid_env_name(&e.name) {
            bad(
                format!("{here}.name"),
                format!(
                    "{:?} is not an environment name (letters, digits, `-` and `_`)",
                    e.name
                ),
            );
        } else if !seen.insert(e.name.clone()) {
            bad(
                format!("{here}.name"),
                format!("the environment `{}` is planned twice", e.name),
            );
        }
        if let Some(d) = &e.plan_digest {
            if !is_digest(d) {
                bad(
                    format!("{here}.plan_digest"),
                    format!("{d:?} is not a digest (64 lowercase hex digits)"),
                );
            }
        }
        let source = e.source.map(|s| Source {
            kind: s.kind,
            taken_at: s.taken_at,
        });
        if let Some(s) = &source {
            if s.kind != "live" && s.kind != "snapshot" {
                bad(
                    format!("{here}.source.kind"),
                    format!("{:?} is neither `live` nor `snapshot`", s.kind),
                );
            }
        }
        let mut changes = Vec::new();
        let input_changes = e
            .digest_input
            .as_ref()
            .and_then(|i| i.get("changes"))
            .and_then(Value::as_array);
        for (j, c) in e.changes.into_iter().enumerate() {
            match c.into_change() {
                Ok(mut c) => {
                    // The digest entries, as the digest input holds them: rendering what was
                    // read gives the same digest.
                    if let Some(f) = input_changes
                        .and_then(|list| list.get(j))
                        .and_then(|ic| ic.get("fields"))
                        .and_then(Value::as_array)
                    {
                        c.digest_fields = f.clone();
                    }
                    changes.push(c)
                }
                Err((field, message)) => bad(format!("{here}.changes[{j}].{field}"), message),
            }
        }
        let plan_source = match &source {
            Some(Source {
                kind,
                taken_at: Some(t),
            }) if kind == "snapshot" => crate::plan::Source::Snapshot {
                taken_at: t.clone(),
            },
            _ => crate::plan::Source::Live,
        };
        let env = EnvPlan {
            name: e.name,
            source: plan_source,
            changes,
            unchanged: e.summary.unchanged,
            not_managed: e.not_managed,
            managed_live: 0,
            other_owners: e
                .other_owners
                .into_iter()
                .map(|o| (o.display_name, o.owner))
                .collect(),
        };
        let counted = env.summary();
        let given = Summary {
            create: e.summary.create,
            adopt: e.summary.adopt,
            update: e.summary.update,
            delete: e.summary.delete,
            unchanged: e.summary.unchanged,
        };
        if counted != given {
            bad(
                format!("{here}.summary"),
                format!(
                    "the counts ({} to create, {} to adopt, {} to update, {} to delete) disagree with the changes listed ({}, {}, {}, {})",
                    given.create, given.adopt, given.update, given.delete,
                    counted.create, counted.adopt, counted.update, counted.delete
                ),
            );
        }
        environments.push(env);
        extras.push(EnvExtras {
            plan_digest: e.plan_digest,
            digest_input: e.digest_input.filter(|v| !v.is_null()),
            source,
            approval: e.approval.filter(Value::is_object),
            outcome: e.outcome.filter(Value::is_object),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let plan = Plan {
        environments,
        refused: doc
            .refused
            .into_iter()
            .map(|r| Refusal {
                environment: r.environment,
                reason: r.reason,
                how_to_proceed: r.how_to_proceed,
            })
            .collect(),
    };
    Ok(Document {
        plan,
        error: doc.error,
        selected: doc.selected,
        digest_version: doc.digest_version,
        extras,
        exit_code: doc.exit_code,
    })
}

/// Whether `s` is a plan digest: 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The environment names skconn.yaml accepts: letters, digits, `-` and `_`.
pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// serde_json's message without its " at line L column C" (the diagnostic carries it).
fn message_of(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a JSON plan object")]
struct JDoc {
    refused: Vec<JRefusal>,
    environments: Vec<JEnv>,
    error: Option<String>,
    #[serde(default)]
    selected: Vec<String>,
    digest_version: Option<String>,
    exit_code: Option<i64>,
}

#[derive(Deserialize)]
#[serde(expecting = "a refusal object (environment, reason, how_to_proceed)")]
struct JRefusal {
    environment: String,
    reason: String,
    how_to_proceed: String,
}

#[derive(Deserialize)]
#[serde(expecting = "an environment object")]
struct JEnv {
    name: String,
    summary: JSummary,
    changes: Vec<JChange>,
    not_managed: Vec<String>,
    other_owners: Vec<JOwner>,
    plan_digest: Option<String>,
    digest_input: Option<Value>,
    source: Option<JSource>,
    approval: Option<Value>,
    outcome: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a summary object")]
struct JSummary {
    create: usize,
    adopt: usize,
    update: usize,
    delete: usize,
    unchanged: usize,
}

#[derive(Deserialize)]
#[serde(expecting = "an object with display_name and owner")]
struct JOwner {
    display_name: String,
    owner: String,
}

#[derive(Deserialize)]
#[serde(expecting = "a source object (kind, taken_at)")]
struct JSource {
    kind: String,
    taken_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a change object")]
struct JChange {
    action: String,
    display_name: String,
    identifier: Option<String>,
    file: Option<String>,
    drift: bool,
    before: Option<Value>,
    after: Option<Value>,
    diff: Vec<JField>,
    warnings: Vec<JWarning>,
    usage: Option<Value>,
    blocked: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a field change object")]
struct JField {
    op: String,
    path: String,
    pointer: String,
    old: Option<Value>,
    new: Option<Value>,
}

#[derive(Deserialize)]
#[serde(expecting = "a warning object (kind, message)")]
struct JWarning {
    kind: String,
    message: String,
    /// Where in the connector's file (file warnings only).
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    help: Option<String>,
}

impl JChange {
    /// The change, or the field (relative to the change) that is wrong and why.
    fn into_change(self) -> Result<Change, (String, String)> {
        let action = by_name(ACTIONS, &self.action).ok_or_else(|| {
            (
                "action".to_string(),
                format!(
                    "{:?} is not an action (create, adopt, update, delete)",
                    self.action
                ),
            )
        })?;
        let mut diff = Vec::with_capacity(self.diff.len());
        for (k, f) in self.diff.into_iter().enumerate() {
            let op = by_name(OPS, &f.op).ok_or_else(|| {
                (
                    format!("diff[{k}].op"),
                    format!("{:?} is not an op (add, remove, replace, reorder)", f.op),
                )
            })?;
            diff.push(FieldChange {
                op,
                path: f.path,
                pointer: f.pointer,
                old: f.old,
                new: f.new,
            });
        }
        let mut warnings = Vec::with_capacity(self.warnings.len());
        for (k, w) in self.warnings.into_iter().enumerate() {
            let kind = by_name(WARNING_KINDS, &w.kind).ok_or_else(|| {
                (
                    format!("warnings[{k}].kind"),
                    format!("{:?} is not a warning kind", w.kind),
                )
            })?;
            let place = w.file.map(|file| crate::plan::warnings::Place {
                file,
                line: w.line,
                column: w.column,
                field: w.field,
                help: w.help,
            });
            warnings.push(Warning {
                kind,
                message: w.message,
                place,
            });
        }
        let usage = match self.usage {
            None => None,
            Some(u) => Some(read_usage(&u).map_err(|m| ("usage".to_string(), m))?),
        };
        let what = what(action, self.identifier, self.file)?;
        let change = Change {
            what,
            display_name: self.display_name,
            before: self.before,
            after: self.after,
            diff,
            drift: self.drift,
            warnings,
            usage,
            written: None,
            digest_fields: Vec::new(),
        };
        let blocked = match self.blocked.as_deref() {
            None => false,
            Some("in use") => true,
            Some(other) => {
                return Err((
                    "blocked".into(),
                    format!("{other:?} is not `in use` or null"),
                ))
            }
        };
        if blocked != crate::plan::usage::blocked(&change) {
            return Err((
                "blocked".into(),
                "disagrees with usage: a delete is blocked exactly when its usage says it is in use".into(),
            ));
        }
        Ok(change)
    }
}

/// What a change read back does, from its action, `identifier` and `file`: each action names
/// exactly what it needs (a create its file and no identifier, an adoption or an update both,
/// a delete its identifier and no file), as skconn writes them. The JSON plan carries no
/// bodies: a plan read back is shown, never applied, and its bodies are `null`.
fn what(
    action: Action,
    identifier: Option<String>,
    file: Option<String>,
) -> Result<What, (String, String)> {
    let wrong = |field: &str, why: &str| {
        (
            field.to_string(),
            format!("a change with action `{}` {why}", action.verb()),
        )
    };
    let needed = |v: Option<String>, field: &str| {
        v.ok_or_else(|| {
            wrong(
                field,
                &format!("needs its `{field}` (it is null or missing)"),
            )
        })
    };
    Ok(match action {
        Action::Create => {
            if identifier.is_some() {
                return Err(wrong(
                    "identifier",
                    "has no identifier yet (it must be null)",
                ));
            }
            What::Create {
                file: PathBuf::from(needed(file, "file")?),
                body: Value::Null,
            }
        }
        Action::Adopt => What::Adopt {
            identifier: needed(identifier, "identifier")?,
            file: PathBuf::from(needed(file, "file")?),
            body: Value::Null,
        },
        Action::Update => What::Update {
            identifier: needed(identifier, "identifier")?,
            file: PathBuf::from(needed(file, "file")?),
            body: Value::Null,
        },
        Action::Delete => {
            if file.is_some() {
                return Err(wrong("file", "comes from no file (it must be null)"));
            }
            What::Delete {
                identifier: needed(identifier, "identifier")?,
            }
        }
    })
}

const ACTIONS: &[Action] = &[
    Action::Create,
    Action::Adopt,
    Action::Update,
    Action::Delete,
];
const OPS: &[Op] = &[Op::Add, Op::Remove, Op::Replace, Op::Reorder];
const WARNING_KINDS: &[WarningKind] = &[
    WarningKind::Scopes,
    WarningKind::Reauthorize,
    WarningKind::Rename,
    WarningKind::Adopt,
    WarningKind::NotCreatedBySkconn,
    WarningKind::File(FileWarningKind::ExampleHost),
    WarningKind::File(FileWarningKind::TemplateMarker),
    WarningKind::File(FileWarningKind::DisplayNameSpaces),
    WarningKind::File(FileWarningKind::UnknownValue),
];

/// The value of `all` whose JSON name is `name` (the names are the types' own serialisation).
fn by_name<T: serde::Serialize + Copy>(all: &[T], name: &str) -> Option<T> {
    all.iter().copied().find(|v| {
        serde_json::to_value(v)
            .ok()
            .as_ref()
            .and_then(Value::as_str)
            == Some(name)
    })
}

/// A change's `usage` object (see `render::usage::json`).
fn read_usage(u: &Value) -> Result<Usage, String> {
    let counts = |v: &Value, what: &str| -> Result<StatusCounts, String> {
        let total = v
            .get("total")
            .and_then(Value::as_u64)
            .ok_or(format!("{what}.total is not a count"))?;
        let mut by_status = std::collections::BTreeMap::new();
        for (k, n) in v
            .get("by_status")
            .and_then(Value::as_object)
            .ok_or(format!("{what}.by_status is not an object"))?
        {
            let n = n
                .as_u64()
                .ok_or(format!("{what}.by_status.{k} is not a count"))?;
            by_status.insert(k.clone(), n as usize);
        }
        Ok(StatusCounts {
            total: total as usize,
            by_status,
        })
    };
    match u.get("state").and_then(Value::as_str) {
        Some("unknown") => Ok(Usage::Unknown {
            reason: u
                .get("reason")
                .and_then(Value::as_str)
                .ok_or("reason is not a string")?
                .to_string(),
        }),
        Some("known") => {
            let c = u.get("connections").ok_or("connections is missing")?;
            Ok(Usage::Known {
                connections: ConnectionCounts {
                    counts: counts(c, "connections")?,
                    disabled: c.get("disabled").and_then(Value::as_u64).unwrap_or(0) as usize,
                },
                connected_accounts: counts(
                    u.get("connected_accounts")
                        .ok_or("connected_accounts is missing")?,
                    "connected_accounts",
                )?,
            })
        }
        _ => Err("state is neither `known` nor `unknown`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::usage::ConnectionCounts;

    fn change(action: Action, name: &str) -> Change {
        let identifier = format!("{}:1", name.to_lowercase());
        let file = PathBuf::from(format!("connectors/{name}.yaml"));
        let body = Value::Null;
        let what = match action {
            Action::Create => What::Create { file, body },
            Action::Adopt => What::Adopt {
                identifier,
                file,
                body,
            },
            Action::Update => What::Update {
                identifier,
                file,
                body,
            },
            Action::Delete => What::Delete { identifier },
        };
        Change {
            what,
            display_name: name.into(),
            before: (action != Action::Create)
                .then(|| json!({"display_name": name, "proxy_url": "https://a"})),
            after: (action != Action::Delete)
                .then(|| json!({"display_name": name, "proxy_url": "https://b"})),
            diff: Vec::new(),
            drift: false,
            warnings: Vec::new(),
            usage: None,
            written: None,
            digest_fields: Vec::new(),
        }
    }

    /// A plan with every kind of thing the JSON form holds.
    fn sample() -> Plan {
        let mut update = change(Action::Update, "Billing");
        update.drift = true;
        update.diff = vec![
            FieldChange {
                op: Op::Replace,
                path: "proxy_url".into(),
                pointer: "/proxy_url".into(),
                old: Some(json!("https://a")),
                new: Some(json!("https://b")),
            },
            FieldChange {
                op: Op::Add,
                path: "x".into(),
                pointer: "/x".into(),
                old: None,
                new: Some(json!({"a": [1, 2]})),
            },
            FieldChange {
                op: Op::Remove,
                path: "y".into(),
                pointer: "/y".into(),
                old: Some(json!(true)),
                new: None,
            },
            FieldChange {
                op: Op::Reorder,
                path: "fields".into(),
                pointer: "/fields".into(),
                old: Some(json!(["a", "b"])),
                new: Some(json!(["b", "a"])),
            },
        ];
        update.warnings = WARNING_KINDS
            .iter()
            .map(|k| Warning::new(*k, format!("{k:?}")))
            .collect();
        // A file warning says where it is.
        update.warnings.push(Warning {
            kind: WarningKind::File(FileWarningKind::ExampleHost),
            message: "reserved host".into(),
            place: Some(crate::plan::warnings::Place {
                file: "connectors/billing.yaml".into(),
                line: 3,
                column: 12,
                field: Some("proxy_url".into()),
                help: Some("write the real host".into()),
            }),
        });
        update.usage = Some(Usage::Unknown {
            reason: "no permission".into(),
        });
        let mut busy = change(Action::Delete, "Busy");
        let mut conns = ConnectionCounts::default();
        conns.counts.add("COMPLETED", 2);
        conns.disabled = 1;
        let mut accounts = StatusCounts::default();
        accounts.add("ACTIVE", 5);
        busy.usage = Some(Usage::Known {
            connections: conns,
            connected_accounts: accounts,
        });
        let mut idle = change(Action::Delete, "Idle");
        idle.usage = Some(Usage::Known {
            connections: ConnectionCounts::default(),
            connected_accounts: StatusCounts::default(),
        });
        let mut dev = EnvPlan {
            name: "dev".into(),
            source: crate::plan::Source::Live,
            changes: vec![
                change(Action::Create, "Asana"),
                change(Action::Adopt, "Hand"),
                update,
                busy,
                idle,
            ],
            unchanged: 3,
            not_managed: vec!["Loose".into()],
            managed_live: 0,
            other_owners: vec![("Theirs".into(), "team-b".into())],
        };
        dev.changes[1].after = dev.changes[1].before.clone();
        let prod = EnvPlan {
            name: "prod".into(),
            source: crate::plan::Source::Snapshot {
                taken_at: "2026-12-03T09:12:00Z".into(),
            },
            changes: vec![],
            unchanged: 0,
            not_managed: vec![],
            managed_live: 0,
            other_owners: vec![],
        };
        let mut p = Plan::new(vec![dev, prod]);
        p.refused.push(Refusal {
            environment: "dev".into(),
            reason: "r".into(),
            how_to_proceed: "h".into(),
        });
        p
    }

    #[test]
    fn a_plan_read_back_renders_the_same() {
        let p = sample();
        let text = serde_json::to_string_pretty(&plan(&p)).unwrap();
        let doc = parse(Path::new("plan.json"), &text).unwrap();
        assert_eq!(plan(&doc.plan), plan(&p));
        let limit = crate::render::markdown::GITHUB_COMMENT_LIMIT;
        assert_eq!(
            crate::render::markdown::plan(&doc.plan, limit),
            crate::render::markdown::plan(&p, limit)
        );
        assert!(doc.error.is_none());
        // Every environment carries its digest and source; read back, they are the same.
        for (e, x) in p.environments.iter().zip(&doc.extras) {
            assert_eq!(
                x.plan_digest.as_deref(),
                Some(digest::env_digest(e).as_str())
            );
            assert_eq!(x.digest_input.as_ref(), Some(&digest::input(e)));
        }
        assert_eq!(doc.extras[1].source.as_ref().unwrap().kind, "snapshot");
        assert_eq!(doc.plan.environments[1].source, p.environments[1].source);
    }

    #[test]
    fn extras_and_failed_documents_are_read() {
        let d = "0123456789abcdef".repeat(4);
        let mut v = plan(&sample());
        v["environments"][0]["plan_digest"] = json!(d);
        v["environments"][0]["digest_input"] = json!({"changes": []});
        v["environments"][0]["source"] =
            json!({"kind": "snapshot", "taken_at": "2026-12-03T09:12:00Z"});
        v["environments"][1]["source"] = json!({"kind": "live", "taken_at": null});
        v["some_later_key"] = json!(1);
        let doc = parse(Path::new("p.json"), &v.to_string()).unwrap();
        assert_eq!(doc.extras[0].plan_digest.as_deref(), Some(d.as_str()));
        assert_eq!(
            doc.extras[0].source.as_ref().unwrap().taken_at.as_deref(),
            Some("2026-12-03T09:12:00Z")
        );
        assert_eq!(doc.extras[1].source.as_ref().unwrap().kind, "live");
        let f = failed("boom", &["prod".into()]);
        assert_eq!(f["digest_version"], DIGEST_VERSION);
        let doc = parse(Path::new("f.json"), &f.to_string()).unwrap();
        assert_eq!(doc.error.as_deref(), Some("boom"));
        assert_eq!(doc.selected, ["prod"]);
    }

    #[test]
    fn bad_documents_name_the_place() {
        let err = |text: &str| -> Vec<String> {
            parse(Path::new("p.json"), text)
                .unwrap_err()
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        assert_eq!(
            err("{\n  \"format_version\": \"2\",\n  \"refused\": []\n}"),
            ["p.json:4:1: not a JSON plan: missing field `environments`"]
        );
        assert!(err("{\"format_version\": \"3\"}")[0]
            .contains("format_version: format_version \"3\" is not one"));
        assert!(err("[1]")[0].contains("no format_version"));
        assert!(err("{\"format_version\": \"2\",")[0].starts_with("p.json:1:"));
        assert!(err("{}")[0].contains("no format_version"));
        let mut v = plan(&sample());
        v["environments"][0]["changes"][0]["action"] = json!("rename");
        v["environments"][0]["summary"]["delete"] = json!(9);
        v["environments"][1]["name"] = json!("dev");
        v["environments"][0]["plan_digest"] = json!("ABC");
        v["environments"][0]["changes"][3]["blocked"] = json!(null);
        let e = err(&v.to_string());
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(e
            .iter()
            .any(|m| m.contains("environments[0].changes[0].action: \"rename\" is not an action")));
        assert!(e
            .iter()
            .any(|m| m.contains("environments[0].summary: the counts")));
        assert!(e
            .iter()
            .any(|m| m.contains("environments[1].name: the environment `dev` is planned twice")));
        assert!(e.iter().any(|m| m.contains("environments[0].plan_digest")));
        assert!(e
            .iter()
            .any(|m| m.contains("environments[0].changes[3].blocked: disagrees with usage")));
    }

    /// A change read back carries what its action needs: a document that leaves out an update's
    /// identifier, gives a create one, or gives a delete a file is refused, naming the field.
    #[test]
    fn a_change_read_back_names_what_its_action_needs() {
        let err = |v: &Value| -> Vec<String> {
            parse(Path::new("p.json"), &v.to_string())
                .unwrap_err()
                .iter()
                .map(|d| d.to_string())
                .collect()
        };
        let good = plan(&sample());
        let read = parse(Path::new("p.json"), &good.to_string()).unwrap();
        let dev = &read.plan.environments[0];
        assert_eq!(
            dev.changes[2].what,
            What::Update {
                identifier: "billing:1".into(),
                file: "connectors/Billing.yaml".into(),
                body: Value::Null,
            }
        );
        assert_eq!(
            dev.changes[3].what,
            What::Delete {
                identifier: "busy:1".into()
            }
        );
        let mut v = good.clone();
        v["environments"][0]["changes"][0]["identifier"] = json!("asana:1");
        v["environments"][0]["changes"][1]["file"] = json!(null);
        v["environments"][0]["changes"][2]["identifier"] = json!(null);
        v["environments"][0]["changes"][3]["file"] = json!("connectors/busy.yaml");
        // Each at once, and then the counts, which the changes that could be read no longer
        // make up.
        let e = err(&v);
        assert_eq!(e.len(), 5, "{e:#?}");
        assert!(
            e[4].contains("environments[0].summary: the counts"),
            "{e:#?}"
        );
        assert!(e[0].contains(
            "environments[0].changes[0].identifier: a change with action `create` has no identifier yet (it must be null)"
        ), "{e:#?}");
        assert!(e[1].contains(
            "environments[0].changes[1].file: a change with action `adopt` needs its `file` (it is null or missing)"
        ), "{e:#?}");
        assert!(e[2].contains(
            "environments[0].changes[2].identifier: a change with action `update` needs its `identifier`"
        ), "{e:#?}");
        assert!(
            e[3].contains(
                "environments[0].changes[3].file: a change with action `delete` comes from no file"
            ),
            "{e:#?}"
        );
    }
}
