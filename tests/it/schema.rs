//! The JSON Schema of connector files: the committed copy is current, it is a valid 2020-12
//! schema, it accepts every example and valid fixture, rejects invalid ones, and agrees with the
//! loader at the limits it states.

use crate::load::{invalid_fixtures, repo};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

const COMMITTED: &str = "schema/connector.schema.json";
const MODELINE: &str = "# yaml-language-server: $schema=../schema/connector.schema.json";

/// The schema, compiled by an independent validator (which also checks it against the 2020-12
/// meta-schema).
struct Checker {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Checker {
    fn new() -> Checker {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource(
                skconn::vocabulary::schema::ID,
                skconn::vocabulary::schema::schema(),
            )
            .expect("schema resource");
        let index = compiler
            .compile(skconn::vocabulary::schema::ID, &mut schemas)
            .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
        Checker { schemas, index }
    }

    fn check(&self, doc: &Value) -> Result<(), String> {
        self.schemas
            .validate(doc, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

/// A YAML document as the JSON value a validator sees, with `<<` merge keys applied.
fn yaml_to_json(text: &str) -> Value {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    doc.apply_merge().expect("merge keys");
    serde_json::to_value(doc).expect("JSON")
}

/// The files the loader reads under `dir`.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("directory") {
        let path = entry.expect("entry").path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() && !hidden {
            out.extend(yaml_files(&path));
        } else if skconn::load::is_connector_file(&path) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn committed_schema_is_current() {
    let path = repo().join(COMMITTED);
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == skconn::vocabulary::schema::schema_text(),
        "{COMMITTED} is not what `skconn schema` prints; regenerate it with\n    \
         cargo run -q -- schema > {COMMITTED}"
    );
}

#[test]
fn schema_is_valid_2020_12() {
    let schema = skconn::vocabulary::schema::schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let meta = compiler
        .compile("https://json-schema.org/draft/2020-12/schema", &mut schemas)
        .expect("meta-schema");
    schemas
        .validate(&schema, meta)
        .unwrap_or_else(|e| panic!("not a valid 2020-12 schema: {e:#}"));
    Checker::new();
}

#[test]
fn examples_start_with_the_modeline_and_validate() {
    let checker = Checker::new();
    let files = yaml_files(&repo().join("connectors"));
    assert!(files.len() >= 8, "examples: {files:?}");
    assert_eq!(
        MODELINE,
        format!(
            "# yaml-language-server: $schema={}",
            skconn::vocabulary::SCHEMA_URL
        )
    );
    for path in files {
        let text = fs::read_to_string(&path).expect("example");
        assert_eq!(
            text.lines().next(),
            Some(MODELINE),
            "{} does not start with the schema line",
            path.display()
        );
        if let Err(e) = checker.check(&yaml_to_json(&text)) {
            panic!("{} does not validate: {e}", path.display());
        }
    }
}

#[test]
fn valid_fixtures_validate() {
    let checker = Checker::new();
    for path in yaml_files(&repo().join("tests/fixtures/valid")) {
        let text = fs::read_to_string(&path).expect("fixture");
        let doc = yaml_to_json(&text);
        let passes_through = doc
            .pointer("/skconn/pass_through_keys")
            .is_some_and(|k| k.as_array().is_some_and(|a| !a.is_empty()));
        match checker.check(&doc) {
            Ok(()) => assert!(
                !passes_through,
                "{}: the schema cannot know pass-through keys",
                path.display()
            ),
            // The one thing the schema cannot follow (see its description).
            Err(e) if passes_through => assert!(e.contains("additional"), "{e}"),
            Err(e) => panic!("{} does not validate: {e}", path.display()),
        }
    }
}

#[test]
fn invalid_fixtures_are_rejected() {
    let checker = Checker::new();
    let fixtures = invalid_fixtures();
    for name in [
        "display_name_hyphen.yaml",
        "display_name_missing.yaml",
        "display_name_too_long.yaml",
        "unknown_key_top.yaml",
        "unknown_key_skconn.yaml",
        "unknown_key_field.yaml",
        "server_owned_key.yaml",
        "auth_type_unknown.yaml",
        "auth_patterns_empty.yaml",
        "proxy_url_http.yaml",
        "proxy_url_missing.yaml",
        "icon_src_http.yaml",
        "metadata_too_many_pairs.yaml",
        "metadata_reserved_key.yaml",
        "metadata_value_number.yaml",
    ] {
        let (_, text) = fixtures
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no fixture {name}"));
        assert!(
            checker.check(&yaml_to_json(text)).is_err(),
            "the schema accepts {name}"
        );
    }
}

/// At each limit the schema states, it accepts what the loader accepts and rejects what the
/// loader rejects.
#[test]
fn schema_and_loader_agree_at_the_limits() {
    let checker = Checker::new();
    let base = json!({
        "display_name": "Limits",
        "proxy_url": "https://api.example.com",
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token", "input_type": "password"}]}],
    });
    let pairs = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("key{i:02}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let cases: Vec<(&str, Value)> = vec![
        ("/display_name", json!("a".repeat(200))),
        ("/display_name", json!("a".repeat(201))),
        ("/display_name", json!(" ")),
        ("/display_name", json!("My CRM 2")),
        ("/display_name", json!("My_CRM")),
        (
            "/proxy_url",
            json!(format!("https://a.example.com/{}", "p".repeat(2000))),
        ),
        (
            "/proxy_url",
            json!(format!("https://a.example.com/{}", "p".repeat(2100))),
        ),
        ("/icon_src", json!("")),
        ("/icon_src", json!("http://a.example.com/i.svg")),
        ("/metadata", json!({"abc": "v"})),
        ("/metadata", json!({"ab": "v"})),
        ("/metadata", json!({"k".repeat(25): "v"})),
        ("/metadata", json!({"k".repeat(26): "v"})),
        ("/metadata", json!({"key": ""})),
        ("/metadata", json!({"key": "v".repeat(256)})),
        ("/metadata", json!({"key": "v".repeat(257)})),
        ("/metadata", json!({"managed_by": "someone"})),
        ("/metadata", pairs(skconn::model::MAX_USER_METADATA_PAIRS)),
        (
            "/metadata",
            pairs(skconn::model::MAX_USER_METADATA_PAIRS + 1),
        ),
        ("/auth_patterns/0/type", json!("BASIC")),
        ("/auth_patterns/0/type", json!("bearer")),
        ("/auth_patterns/0/fields/0/input_type", json!("textarea")),
        ("/auth_patterns/0/fields/0/input_type", json!("number")),
        ("/auth_patterns/0/fields/0/field_name", json!("")),
        ("/proxy_enabled", json!("yes")),
    ];
    for (pointer, value) in cases {
        let mut doc = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        doc.pointer_mut(parent).unwrap()[key] = value;
        let text = serde_yaml::to_string(&doc).unwrap();
        let loader = skconn::load::load_str(Path::new("limits.yaml"), &text).is_ok();
        let schema = checker.check(&doc);
        assert_eq!(
            schema.is_ok(),
            loader,
            "{pointer}: loader {}, schema {schema:?}\n{text}",
            if loader { "accepts" } else { "rejects" }
        );
    }
}
