//! A workflow file, read as GitHub reads it, for the subset of keys the test runner runs.
//!
//! Every key is checked against the ones GitHub defines at that level: a key GitHub knows that
//! the runner does not run (`strategy`, `container`, `services`, a reusable workflow's `uses`…)
//! panics naming it, and so does a key GitHub does not know, so a workflow cannot depend on
//! something the tests skip.

use serde_json::{Map, Value};
use std::path::Path;

/// A workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: Option<String>,
    /// `on:`, as written (the test picks the event).
    pub on: Value,
    pub permissions: Option<Value>,
    pub env: Map<String, Value>,
    pub defaults: Defaults,
    pub concurrency: Option<Value>,
    /// In the order of the file.
    pub jobs: Vec<Job>,
}

/// `defaults.run`.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub shell: Option<String>,
    pub working_directory: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub name: Option<String>,
    pub needs: Vec<String>,
    pub if_: Option<Value>,
    pub runs_on: Value,
    pub environment: Option<Value>,
    pub permissions: Option<Value>,
    pub env: Map<String, Value>,
    pub outputs: Map<String, Value>,
    pub defaults: Defaults,
    pub concurrency: Option<Value>,
    pub timeout_minutes: Option<Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: Option<String>,
    pub name: Option<String>,
    pub if_: Option<Value>,
    pub run: Option<String>,
    pub uses: Option<String>,
    pub with: Map<String, Value>,
    pub env: Map<String, Value>,
    pub shell: Option<String>,
    pub working_directory: Option<String>,
    pub continue_on_error: Option<Value>,
}

/// Keys GitHub defines that the runner does not run.
const UNSUPPORTED: &[&str] = &[
    "strategy",
    "container",
    "services",
    "uses",
    "secrets",
    "with",
    "continue-on-error",
    "run-name",
];

fn check_keys(map: &Map<String, Value>, allowed: &[&str], place: &str) {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            if UNSUPPORTED.contains(&key.as_str()) {
                panic!("the test runner does not run `{key}` ({place})");
            }
            panic!("`{key}` is not a key GitHub knows ({place})");
        }
    }
}

fn object<'a>(v: &'a Value, place: &str) -> &'a Map<String, Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("{place} is not a mapping: {v}"))
}

fn string(v: Option<&Value>, place: &str) -> Option<String> {
    v.map(|v| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("{place} is not a string: {other}"),
    })
}

fn env_map(v: Option<&Value>, place: &str) -> Map<String, Value> {
    match v {
        None => Map::new(),
        Some(v) => object(v, place).clone(),
    }
}

fn defaults(v: Option<&Value>, place: &str) -> Defaults {
    let Some(v) = v else {
        return Defaults::default();
    };
    let map = object(v, place);
    check_keys(map, &["run"], place);
    let Some(run) = map.get("run") else {
        return Defaults::default();
    };
    let run = object(run, &format!("{place}.run"));
    check_keys(
        run,
        &["shell", "working-directory"],
        &format!("{place}.run"),
    );
    Defaults {
        shell: string(run.get("shell"), place),
        working_directory: string(run.get("working-directory"), place),
    }
}

/// Reads a workflow file.
pub fn read(path: &Path) -> Workflow {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text, &path.display().to_string())
}

/// Parses a workflow's text (`place` names it in messages).
pub fn parse(text: &str, place: &str) -> Workflow {
    let doc: Value =
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{place} is not valid YAML: {e}"));
    let top = object(&doc, place);
    check_keys(
        top,
        &[
            "name",
            "on",
            "permissions",
            "env",
            "defaults",
            "concurrency",
            "jobs",
        ],
        place,
    );
    let on = top
        .get("on")
        .cloned()
        .unwrap_or_else(|| panic!("{place} has no `on:`"));
    let jobs = object(
        top.get("jobs")
            .unwrap_or_else(|| panic!("{place} has no `jobs:`")),
        &format!("{place}: jobs"),
    );
    let jobs = jobs
        .iter()
        .map(|(id, job)| parse_job(id, job, &format!("{place}: jobs.{id}")))
        .collect();
    Workflow {
        name: string(top.get("name"), place),
        on,
        permissions: top.get("permissions").cloned(),
        env: env_map(top.get("env"), &format!("{place}: env")),
        defaults: defaults(top.get("defaults"), &format!("{place}: defaults")),
        concurrency: top.get("concurrency").cloned(),
        jobs,
    }
}

fn parse_job(id: &str, job: &Value, place: &str) -> Job {
    let map = object(job, place);
    check_keys(
        map,
        &[
            "name",
            "needs",
            "if",
            "runs-on",
            "environment",
            "permissions",
            "env",
            "outputs",
            "defaults",
            "concurrency",
            "timeout-minutes",
            "steps",
        ],
        place,
    );
    let needs = match map.get("needs") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| string(Some(i), &format!("{place}.needs")).unwrap())
            .collect(),
        Some(other) => panic!("{place}.needs is {other}"),
    };
    let steps = map
        .get("steps")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{place} has no `steps:` list"));
    Job {
        id: id.to_string(),
        name: string(map.get("name"), place),
        needs,
        if_: map.get("if").cloned(),
        runs_on: map
            .get("runs-on")
            .cloned()
            .unwrap_or_else(|| panic!("{place} has no `runs-on:`")),
        environment: map.get("environment").cloned(),
        permissions: map.get("permissions").cloned(),
        env: env_map(map.get("env"), &format!("{place}.env")),
        outputs: env_map(map.get("outputs"), &format!("{place}.outputs")),
        defaults: defaults(map.get("defaults"), &format!("{place}.defaults")),
        concurrency: map.get("concurrency").cloned(),
        timeout_minutes: map.get("timeout-minutes").cloned(),
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, s)| parse_step(s, &format!("{place}.steps[{i}]")))
            .collect(),
    }
}

fn parse_step(step: &Value, place: &str) -> Step {
    let map = object(step, place);
    let mut allowed = vec![
        "id",
        "name",
        "if",
        "env",
        "continue-on-error",
        "timeout-minutes",
    ];
    if map.contains_key("run") {
        allowed.extend(["run", "shell", "working-directory"]);
    } else if map.contains_key("uses") {
        allowed.extend(["uses", "with"]);
    } else {
        panic!("{place} has neither `run:` nor `uses:`");
    }
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            panic!("`{key}` is not a key of this step ({place})");
        }
    }
    Step {
        id: string(map.get("id"), place),
        name: string(map.get("name"), place),
        if_: map.get("if").cloned(),
        run: string(map.get("run"), place),
        uses: string(map.get("uses"), place),
        with: env_map(map.get("with"), &format!("{place}.with")),
        env: env_map(map.get("env"), &format!("{place}.env")),
        shell: string(map.get("shell"), place),
        working_directory: string(map.get("working-directory"), place),
        // `timeout-minutes` is accepted and not enforced.
        continue_on_error: map.get("continue-on-error").cloned(),
    }
}

impl Workflow {
    /// The events the workflow runs on.
    pub fn events(&self) -> Vec<String> {
        match &self.on {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("`on:` is {other}"),
        }
    }

    /// `on.workflow_dispatch.inputs`.
    pub fn dispatch_inputs(&self) -> Map<String, Value> {
        self.on
            .get("workflow_dispatch")
            .and_then(|d| d.get("inputs"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }
}
