//! Property: for random connector files and random live states, `apply` converges and is
//! careful. After `apply --auto-approve`, `plan --detailed-exitcode` finds nothing to change, and
//! a connector skconn does not manage (no marker) and that no file names is never written to:
//! no PUT or DELETE reaches its identifier, and it is byte-for-byte what it was.
//!
//! Each case builds a live state in three ways: connectors made by hand before anything else
//! (unmarked; a name may collide with a file's, which makes skconn adopt it), an earlier
//! `apply` of another random set of files, and more hand-made connectors and edits in the
//! dashboard after it. Then the
//! files change to a second random set and skconn applies them with `prune: off` or
//! `prune: managed` (`all` deletes unmanaged connectors by design). Some files take values from
//! a hidden (masked) variable.
//!
//! The second property: a plan against a snapshot of a live state, made with no credentials in
//! the process, has the same changes and the same plan digest as the live plan of that state.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{json, Map, Value};
use skconn::emulator::Emulator;
use std::collections::{BTreeMap, BTreeSet};

/// Words of generated display names. A small pool, so that names collide across files and
/// hand-made connectors; `alpha` differs from `Alpha` only by case.
const WORDS: &[&str] = &["Alpha", "alpha", "Beta", "Gamma", "Delta", "7", "X"];

/// The shapes of auth pattern a generated connector takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bearer,
    ApiKey,
    BasicDomain,
    OAuthScopes,
    McpNoAuth,
    McpOAuth,
    SelectPathParam,
}

const KINDS: &[Kind] = &[
    Kind::Bearer,
    Kind::ApiKey,
    Kind::BasicDomain,
    Kind::OAuthScopes,
    Kind::McpNoAuth,
    Kind::McpOAuth,
    Kind::SelectPathParam,
];

/// The value of the masked variable `SNAP_TENANT` that some files use.
const TENANT: &str = "qz7-tenant-4410";

/// One generated connector.
#[derive(Debug, Clone)]
struct Spec {
    /// Its file takes the tenant from `${SNAP_TENANT}` (description, and a BEARER's URL).
    masked: bool,
    name: String,
    kind: Kind,
    description: Option<String>,
    metadata: BTreeMap<String, String>,
    icon: bool,
    proxy_enabled: Option<bool>,
    /// Variant bits: which optional parts each shape includes.
    bits: u16,
    /// `skconn.previous_names` of the file (unused for a hand-made connector).
    previous: Option<String>,
}

impl Spec {
    fn bit(&self, i: u32) -> bool {
        self.bits & (1 << i) != 0
    }

    fn slug(&self) -> String {
        self.name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase()
    }

    /// The API object: the body of a file (as YAML) and of a hand-made connector alike.
    fn body(&self) -> Value {
        let slug = self.slug();
        let mut obj = Map::new();
        obj.insert("display_name".into(), json!(self.name));
        match (&self.description, self.masked) {
            (d, true) => {
                let d = format!("Tenant {TENANT}: {}", d.as_deref().unwrap_or_default());
                obj.insert("description".into(), json!(d));
            }
            (Some(d), false) => {
                obj.insert("description".into(), json!(d));
            }
            (None, false) => {}
        }
        let tenant = if self.masked {
            format!("{TENANT}.")
        } else {
            String::new()
        };
        let (proxy_url, pattern) = match self.kind {
            Kind::Bearer => (
                format!("https://api.{tenant}{slug}.example.com"),
                json!({
                    "type": "BEARER",
                    "display_name": "Access token",
                    "fields": [{
                        "field_name": "token",
                        "label": "Token",
                        "input_type": "password",
                        "required": self.bit(0),
                    }],
                }),
            ),
            Kind::ApiKey => {
                let mut p = json!({
                    "type": "API_KEY",
                    "display_name": "API key",
                    "fields": [{
                        "field_name": "api_key",
                        "label": "API key",
                        "input_type": "password",
                        "required": true,
                    }],
                });
                if self.bit(0) {
                    p["auth_header_key_override"] = json!("X-Api-Key");
                }
                (format!("https://{slug}.example.com/api"), p)
            }
            Kind::BasicDomain => {
                let mut p = json!({
                    "type": "BASIC",
                    "display_name": "Username and password",
                    "fields": [
                        {"field_name": "domain", "label": "Domain", "input_type": "text",
                         "hint": "yourcompany.example.com", "required": true},
                        {"field_name": "username", "label": "User", "input_type": "text",
                         "required": self.bit(0)},
                    ],
                });
                if self.bit(1) {
                    p["auth_field_mutations"] = json!({"password": {"default": "X"}});
                }
                (format!("https://{{{{domain}}}}/api/v{}", self.bits % 4), p)
            }
            Kind::OAuthScopes => {
                let scopes: Vec<Value> = ["openid", "profile", "email", "read", "write"]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.bit(*i as u32))
                    .map(|(i, s)| {
                        json!({"scope": s, "display_name": s.to_uppercase(),
                               "required": self.bit(5 + i as u32)})
                    })
                    .collect();
                let mut config = json!({
                    "authorize_uri": format!("https://{slug}.example.com/oauth/authorize"),
                    "token_uri": format!("https://{slug}.example.com/oauth/token"),
                    "pkce_enabled": self.bit(10),
                });
                if !scopes.is_empty() {
                    config["available_scopes"] = Value::Array(scopes);
                }
                (
                    format!("https://{slug}.example.com/api/1.0"),
                    json!({"type": "OAUTH", "display_name": "OAuth 2.0", "fields": [],
                           "oauth_config": config}),
                )
            }
            Kind::McpNoAuth => (
                format!("https://mcp.{slug}.example.com/mcp"),
                json!({"type": "NO_AUTH", "display_name": "No authentication", "is_mcp": true,
                       "fields": []}),
            ),
            Kind::McpOAuth => (
                format!("https://mcp.{slug}.example.com/mcp/"),
                json!({"type": "OAUTH", "display_name": "Sign in", "is_mcp": true,
                       "oauth_config": {"pkce_enabled": true}}),
            ),
            Kind::SelectPathParam => {
                let options: Vec<Value> = ["us", "eu", "ap"]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i == 0 || self.bit(*i as u32))
                    .map(|(i, r)| {
                        json!({"value": format!("{r}.example.com"),
                                         "display_name": r.to_uppercase(),
                                         "default": i == 0})
                    })
                    .collect();
                (
                    format!("https://api.{{{{region}}}}/{slug}"),
                    json!({
                        "type": "API_KEY",
                        "display_name": "API key",
                        "fields": [
                            {"field_name": "region", "label": "Region", "input_type": "select",
                             "required": true, "is_path_param": true, "options": options},
                            {"field_name": "api_key", "label": "API key",
                             "input_type": "password", "required": true},
                        ],
                    }),
                )
            }
        };
        obj.insert("proxy_url".into(), json!(proxy_url));
        if let Some(enabled) = self.proxy_enabled {
            obj.insert("proxy_enabled".into(), json!(enabled));
        }
        if self.icon {
            obj.insert(
                "icon_src".into(),
                json!(format!("https://cdn.example.com/{slug}.svg")),
            );
        }
        if !self.metadata.is_empty() {
            obj.insert("metadata".into(), json!(self.metadata));
        }
        obj.insert("auth_patterns".into(), json!([pattern]));
        Value::Object(obj)
    }

    /// The connector file: the API object in YAML, the tenant written as `${SNAP_TENANT}`.
    fn yaml(&self) -> String {
        let mut file = self.body();
        for key in ["description", "proxy_url"] {
            if let Some(Value::String(s)) = file.get_mut(key) {
                *s = s.replace(TENANT, "${SNAP_TENANT}");
            }
        }
        if let Some(p) = &self.previous {
            file["skconn"] = json!({"previous_names": [p]});
        }
        format!(
            "# generated: {:?}\n{}",
            self.kind,
            serde_yaml::to_string(&file).expect("YAML of a JSON value")
        )
    }
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..=3)
        .prop_map(|words| format!("Gen {}", words.join(" ")))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        name(),
        prop::sample::select(KINDS),
        prop::option::of("[A-Za-z0-9 ,.:#'\"!?()é-]{0,30}"),
        prop::collection::btree_map("[a-z][a-z0-9_]{2,12}", "[A-Za-z0-9 ./:#-]{1,16}", 0..4),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        any::<u16>(),
        prop::option::weighted(0.3, name()),
        prop::bool::weighted(0.4),
    )
        .prop_map(
            |(
                name,
                kind,
                description,
                mut metadata,
                icon,
                proxy_enabled,
                bits,
                previous,
                masked,
            )| {
                for reserved in skconn::model::RESERVED_METADATA_KEYS {
                    metadata.remove(*reserved);
                }
                Spec {
                    name,
                    kind,
                    description,
                    metadata,
                    icon,
                    proxy_enabled,
                    bits,
                    previous,
                    masked,
                }
            },
        )
}

/// Up to `max - 1` connectors with distinct display names (the first of a name wins), and
/// previous names as the loader allows them: each claimed by one file, none a display name.
fn specs(max: usize) -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(spec(), 0..max).prop_map(|all| {
        let mut seen = BTreeSet::new();
        let mut all: Vec<Spec> = all
            .into_iter()
            .filter(|s| seen.insert(s.name.clone()))
            .collect();
        let mut claimed = BTreeSet::new();
        for s in &mut all {
            if let Some(p) = &s.previous {
                if seen.contains(p) || !claimed.insert(p.clone()) {
                    s.previous = None;
                }
            }
        }
        all
    })
}

/// An edit made in the dashboard, out of band, to a live connector.
#[derive(Debug, Clone)]
enum Drift {
    Description,
    Metadata,
    /// A key skconn does not know, as a newer server might return.
    UnknownKey,
    ProxyDisabled,
}

fn drifts() -> impl Strategy<Value = Vec<(prop::sample::Index, Drift)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![
                Drift::Description,
                Drift::Metadata,
                Drift::UnknownKey,
                Drift::ProxyDisabled,
            ]),
        ),
        0..3,
    )
}

fn drift(emu: &Emulator, edits: &[(prop::sample::Index, Drift)]) {
    let names: Vec<String> = emu
        .connectors()
        .iter()
        .map(|c| c["display_name"].as_str().unwrap().to_string())
        .collect();
    if names.is_empty() {
        return;
    }
    for (at, what) in edits {
        emu.edit(&names[at.index(names.len())], |c| match what {
            Drift::Description => c["description"] = json!("Edited in the dashboard"),
            Drift::Metadata => {
                if !c["metadata"].is_object() {
                    c["metadata"] = json!({});
                }
                c["metadata"]["edited_by"] = json!("someone");
            }
            Drift::UnknownKey => c["beta_setting"] = json!({"enabled": true}),
            Drift::ProxyDisabled => c["proxy_enabled"] = json!(false),
        });
    }
}

fn prune() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["off", "managed"][..])
}

fn repo(emu: &Emulator, prune: &str, files: &[Spec]) -> Repo {
    let mut repo = Repo::new()
        .env("dev", emu, prune)
        .var("SNAP_TENANT", TENANT);
    for (i, s) in files.iter().enumerate() {
        repo = repo.connector(&format!("c{i}.yaml"), s.yaml());
    }
    repo
}

/// Inserts hand-made connectors whose names are free.
fn insert_by_hand(emu: &Emulator, specs: &[Spec]) {
    for s in specs {
        if emu.connector(&s.name).is_none() {
            // Made by hand: no skconn defaults, so an absent `proxy_enabled` is false.
            emu.insert(s.body());
        }
    }
}

fn is_marked(c: &Value) -> bool {
    c["metadata"][skconn::model::MARKER_KEY] == json!(skconn::model::MARKER_VALUE)
}

/// The last path segment, percent-decoded (an identifier as the server reads it).
fn last_segment(path: &str) -> String {
    let seg = path.rsplit('/').next().unwrap_or_default();
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or_default();
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_case(
    hand_early: &[Spec],
    before: &[Spec],
    prune_before: &str,
    hand_late: &[Spec],
    edits: &[(prop::sample::Index, Drift)],
    after: &[Spec],
    prune_after: &str,
) {
    let emu = emulator();
    insert_by_hand(&emu, hand_early);
    let first = repo(&emu, prune_before, before);
    // `--allow-empty`: an empty set of files is a random case like any other, not a mistake.
    let apply = ["apply", "--auto-approve", "--allow-empty"];
    first.skconn(apply).code(0);
    first.skconn(["plan", "--detailed-exitcode"]).code(0);
    insert_by_hand(&emu, hand_late);
    drift(&emu, edits);

    // Unmanaged and named by no file (neither as its name nor as a previous name): apply must
    // not write to these.
    let wanted: BTreeSet<&str> = after
        .iter()
        .flat_map(|s| std::iter::once(s.name.as_str()).chain(s.previous.as_deref()))
        .collect();
    let untouchable: Vec<Value> = emu
        .connectors()
        .into_iter()
        .filter(|c| !is_marked(c) && !wanted.contains(c["display_name"].as_str().unwrap()))
        .collect();
    emu.clear_requests();

    let last = repo(&emu, prune_after, after);
    let applied = last.skconn(apply);
    applied.code(0);
    let writes: Vec<(String, String)> = emu
        .requests()
        .into_iter()
        .filter(|r| matches!(r.method.as_str(), "PUT" | "DELETE" | "PATCH"))
        .map(|r| (r.method, last_segment(&r.path)))
        .collect();
    let planned = last.skconn(["plan", "--detailed-exitcode"]);
    assert_eq!(
        planned.code,
        Some(0),
        "plan after apply still has changes\n--- apply:\n{applied}\n--- plan:\n{planned}"
    );

    for before in &untouchable {
        let name = before["display_name"].as_str().unwrap();
        let id = before["identifier"].as_str().unwrap();
        assert!(
            !writes.iter().any(|(_, seg)| seg == id),
            "apply wrote to the unmanaged connector {name:?} ({id}): {writes:?}\n{applied}"
        );
        assert_eq!(
            emu.connector(name).as_ref(),
            Some(before),
            "the unmanaged connector {name:?} changed\n{applied}"
        );
    }
    for s in after {
        assert!(
            emu.connector(&s.name).is_some(),
            "{:?} is in the files but not live\n{applied}",
            s.name
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn apply_then_plan_has_no_changes_and_leaves_unmanaged_connectors_alone(
        hand_early in specs(4),
        before in specs(8),
        prune_before in prune(),
        hand_late in specs(4),
        edits in drifts(),
        after in specs(8),
        prune_after in prune(),
    ) {
        check_case(&hand_early, &before, prune_before, &hand_late, &edits, &after, prune_after);
    }
}

/// A file that uses the masked variable in every case: where a snapshot is taken, the
/// variable's value is known to be masked (a value is masked only once the files use it).
fn anchor() -> Spec {
    Spec {
        masked: true,
        name: "Gen Anchor".into(),
        kind: Kind::Bearer,
        description: None,
        metadata: BTreeMap::new(),
        icon: false,
        proxy_enabled: None,
        bits: 0,
        previous: None,
    }
}

/// The JSON plan of `repo`, planned live or against `snapshot` with no credentials in the
/// process (and, with `wrong_secret`, a wrong client secret present instead).
fn json_plan(repo: &Repo, snapshot: Option<(&std::path::Path, bool)>) -> (Option<i32>, Value, Out) {
    let mut args = vec!["plan", "--format", "json", "--allow-empty"];
    let mut cmd = match snapshot {
        Some((path, _)) => {
            args.extend(["--against", path.to_str().unwrap()]);
            repo.cmd(&args)
                .env_remove("SK_DEV_ID")
                .env_remove("SK_DEV_SECRET")
        }
        None => repo.cmd(&args),
    };
    if let Some((_, true)) = snapshot {
        cmd = cmd.env("SK_DEV_SECRET", "not-the-secret-of-dev");
    }
    let out = cmd.run();
    let doc = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    (out.code, doc, out)
}

#[allow(clippy::too_many_arguments)]
fn check_snapshot_case(
    hand_early: &[Spec],
    before: &[Spec],
    prune_before: &str,
    hand_late: &[Spec],
    edits: &[(prop::sample::Index, Drift)],
    busy: &[prop::sample::Index],
    after: &[Spec],
    prune_after: &str,
    wrong_secret: bool,
) {
    let emu = emulator();
    insert_by_hand(&emu, hand_early);
    let before: Vec<Spec> = std::iter::once(anchor())
        .chain(before.iter().cloned())
        .collect();
    let after: Vec<Spec> = std::iter::once(anchor())
        .chain(after.iter().cloned())
        .collect();
    let first = repo(&emu, prune_before, &before);
    first
        .skconn(["apply", "--auto-approve", "--allow-empty"])
        .code(0);
    insert_by_hand(&emu, hand_late);
    drift(&emu, edits);
    let live_names: Vec<String> = emu
        .connectors()
        .iter()
        .map(|c| c["display_name"].as_str().unwrap().to_string())
        .collect();
    for (i, at) in busy.iter().enumerate() {
        let name = &live_names[at.index(live_names.len())];
        emu.add_connection(name, &format!("busy-{i}"), "COMPLETED", i % 2 == 0);
        emu.add_connected_accounts(&format!("busy-{i}"), "ACTIVE", i + 1);
    }
    // The snapshot is taken with the files of main; the pull request then changes them.
    let path = first.path().join("dev.snapshot.json");
    first
        .skconn(["snapshot", "--out", path.to_str().unwrap()])
        .code(0);
    let last = repo(&emu, prune_after, &after);
    emu.clear_requests();
    let (code, against, out) = json_plan(&last, Some((&path, wrong_secret)));
    assert!(
        emu.requests().is_empty(),
        "the plan against the snapshot sent requests\n{out}"
    );
    let (live_code, live, live_out) = json_plan(&last, None);
    assert_eq!(
        code, live_code,
        "exit codes differ\n--- against:\n{out}\n--- live:\n{live_out}"
    );
    let (a, l) = (&against["environments"][0], &live["environments"][0]);
    assert_eq!(
        a["changes"], l["changes"],
        "changes differ\n--- against:\n{out}\n--- live:\n{live_out}"
    );
    assert_eq!(
        a["plan_digest"], l["plan_digest"],
        "digests differ\n{:#}\n{:#}",
        a["digest_input"], l["digest_input"]
    );
    assert_eq!(against["refused"], live["refused"]);
    assert_eq!(a["source"]["kind"], "snapshot");
    assert!(
        !out.all().contains(TENANT),
        "the masked value is shown\n{out}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_plan_against_a_snapshot_equals_the_live_plan_with_no_credentials(
        hand_early in specs(3),
        before in specs(7),
        prune_before in prune(),
        hand_late in specs(3),
        edits in drifts(),
        busy in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        after in specs(7),
        prune_after in prune(),
        wrong_secret in any::<bool>(),
    ) {
        check_snapshot_case(&hand_early, &before, prune_before, &hand_late, &edits, &busy, &after, prune_after, wrong_secret);
    }
}
