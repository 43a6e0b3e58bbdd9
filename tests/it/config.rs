//! skconn.yaml kept as well as connector files: every mistake at once, at its key's line and
//! column, with "did you mean"; its JSON Schema; and `--help` that groups flags honestly.

use crate::support::*;
use serde_json::Value;

fn with_config(text: &str) -> Repo {
    Repo::new().file("skconn.yaml", text)
}

#[test]
fn typos_in_skconn_yaml_are_reported_at_their_key_with_a_suggestion_all_at_once() {
    let repo = with_config(
        "environments:\n  dev:\n    url: local\n    prnue: managed\n  prod:\n    url: local\n    prune: manged\n    parallelism: \"4\"\nshow_var: [A]\n",
    );
    let out = repo.skconn(["validate"]);
    out.code(1)
        .stderr_has("skconn.yaml:4:5: environments.dev.prnue: unknown key `prnue` in environment `dev`")
        .stderr_has("help: did you mean `prune`?")
        .stderr_has("skconn.yaml:7:12: environments.prod.prune: `prune` must be one of off, managed, all, found `manged`")
        .stderr_has("help: did you mean `managed`?")
        .stderr_has("skconn.yaml:8:18: environments.prod.parallelism:")
        .stderr_has("write the number without quotes: `parallelism: 4`")
        .stderr_has("skconn.yaml:9:1: show_var: unknown key `show_var` in skconn.yaml")
        .stderr_has("help: did you mean `show_vars`?")
        .stderr_has("4 problems in the input");
    // In GitHub Actions, annotations point at the same places.
    repo.cmd(["validate"])
        .env("GITHUB_ACTIONS", "true")
        .run()
        .code(1)
        .stdout_has("::error file=skconn.yaml,line=4,col=5::environments.dev.prnue: unknown key");
}

#[test]
fn a_quote_hint_never_changes_the_value_it_suggests_quoting() {
    // skconn.yaml: values that YAML reads as numbers.
    let repo = with_config(
        "environments:\n  dev:\n    url: local\n    client_id: 1.10\n    client_secret: 0x1F\nconnectors_dir: 0x1F\n",
    );
    repo.skconn(["validate"])
        .code(1)
        .stderr_has("skconn.yaml:4:16: environments.dev.client_id: expected text, found a number")
        .stderr_has("put the value in quotes: `\"1.10\"`")
        .stderr_has("connectors_dir: expected text, found a number")
        .stderr_has("put the value in quotes: `\"0x1F\"`")
        // A credential's value is never repeated, not even to suggest quoting it.
        .stderr_has("client_secret: expected text, found a number\n  help: put the value in quotes (or better")
        .stderr_lacks("\"1.1\"")
        .stderr_lacks("\"31\"");
    // Connector files too.
    let repo = Repo::new().connector(
        "a.yaml",
        "display_name: Versioned\ndescription: 1.10\nicon_src: 0x1F\nproxy_url: https://a.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n",
    );
    repo.skconn(["validate"])
        .code(1)
        .stderr_has("put the value in quotes: `\"1.10\"`")
        .stderr_has("put the value in quotes: `\"0x1F\"`")
        .stderr_lacks("`\"1.1\"`")
        .stderr_lacks("`\"31\"`");
    // Keys as well, at the key's own line and column.
    let repo = Repo::new().connector(
        "b.yaml",
        "display_name: Keyed
proxy_url: https://a.example.com
metadata:
  1.10: x
  0x1F: y
auth_patterns:
  - type: BEARER
    fields:
      - field_name: token
        input_type: password
",
    );
    repo.skconn(["validate"])
        .code(1)
        .stderr_has(
            "connectors/b.yaml:4:3: metadata.1.1: the key `1.10` is a number; keys must be strings",
        )
        .stderr_has("put the key in quotes: `\"1.10\": ...`")
        .stderr_has("connectors/b.yaml:5:3: metadata.31: the key `0x1F` is a number")
        .stderr_has("put the key in quotes: `\"0x1F\": ...`")
        .stderr_lacks("`\"1.1\": ...`")
        .stderr_lacks("`\"31\": ...`");
}

fn compile(schema: Value, id: &str) -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(id, schema).unwrap();
    let index = compiler
        .compile(id, &mut schemas)
        .unwrap_or_else(|e| panic!("{id} does not compile: {e:#}"));
    (schemas, index)
}

#[test]
fn schema_config_prints_a_json_schema_of_skconn_yaml() {
    let repo = Repo::new();
    let out = repo.skconn(["schema", "config"]);
    out.code(0);
    let schema: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(schema["$id"], "urn:skconn:config-file");
    assert_eq!(
        schema["$defs"]["environment"]["properties"]["prune"]["enum"],
        serde_json::json!(["off", "managed", "all"])
    );
    let (schemas, index) = compile(schema, "urn:skconn:config-file");
    let yaml = |t: &str| -> Value { serde_yaml::from_str(t).unwrap() };
    let good = yaml("connectors_dir: connectors\nenvironments:\n  dev:\n    url: ${U}\n    client_id: ${I}\n    client_secret: ${S}\n    prune: managed\n    protect: [Billing API]\n    parallelism: 4\nshow_vars: [HOST]\n");
    schemas.validate(&good, index).unwrap();
    for bad in [
        "environments:\n  dev:\n    url: local\n    prnue: managed\n",
        "environments:\n  dev:\n    url: local\n    prune: manged\n",
        "environments:\n  dev:\n    client_id: x\n",
        "environments:\n  dev:\n    url: local\n    parallelism: 0\n",
        "environments: {}\n",
        "show_var: [A]\nenvironments:\n  dev:\n    url: local\n",
    ] {
        assert!(
            schemas.validate(&yaml(bad), index).is_err(),
            "accepted:\n{bad}"
        );
    }
    // `schema` alone and `schema connector` stay the connector schema.
    let plain = repo.skconn(["schema"]);
    let connector = repo.skconn(["schema", "connector"]);
    assert_eq!(plain.stdout, connector.stdout);
    assert_eq!(plain.stdout, skconn::vocabulary::schema::schema_text());
}

#[test]
fn the_plan_schema_is_a_valid_2020_12_schema() {
    let text = std::fs::read_to_string(crate_root().join("schema/plan.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let meta = compiler
        .compile("https://json-schema.org/draft/2020-12/schema", &mut schemas)
        .unwrap();
    schemas.validate(&schema, meta).unwrap();
    assert_eq!(
        schema["properties"]["format_version"]["const"],
        skconn::render::json::FORMAT_VERSION
    );
}

const HTTP_FLAGS: [&str; 3] = ["--timeout", "--max-attempts", "--deadline"];

#[test]
fn http_flags_are_only_on_commands_that_make_http_calls() {
    let repo = Repo::new();
    for cmd in ["plan", "apply", "compare", "import", "doctor"] {
        let out = repo.skconn([cmd, "--help"]);
        out.code(0)
            .stdout_has("HTTP options:")
            .stdout_has("Global options:");
        for f in HTTP_FLAGS {
            out.stdout_has(f);
        }
    }
    for cmd in [
        vec!["--help"],
        vec!["validate", "--help"],
        vec!["schema", "--help"],
        vec!["emulator", "--help"],
    ] {
        let out = repo.skconn(&cmd);
        out.code(0).stdout_lacks("HTTP options:");
        for f in HTTP_FLAGS {
            out.stdout_lacks(f);
        }
    }
    repo.skconn(["validate", "--timeout", "5"])
        .code(1)
        .stderr_has("unexpected argument '--timeout'");
    // Global flags still work on every command, before or after it.
    repo.skconn(["--color", "never", "schema"]).code(0);
    repo.skconn(["schema", "--color", "never"]).code(0);
}

#[test]
fn help_has_no_orphaned_words() {
    let repo = Repo::new();
    for columns in [None, Some("80"), Some("120")] {
        let commands = command_names();
        let top = std::iter::once("");
        for cmd in top.chain(commands.iter().map(String::as_str)) {
            for flag in ["-h", "--help"] {
                let args: Vec<&str> = [cmd, flag].into_iter().filter(|a| !a.is_empty()).collect();
                let mut c = repo.cmd(&args);
                if let Some(w) = columns {
                    c = c.env("COLUMNS", w);
                }
                let out = c.run();
                let lines: Vec<&str> = out.stdout.lines().collect();
                for pair in lines.windows(2) {
                    let (prev, line) = (pair[0].trim(), pair[1].trim());
                    let single_word = !line.is_empty()
                        && !line.contains(' ')
                        && !line.starts_with(['-', '<', '['])
                        && !line.ends_with(':');
                    assert!(
                        !(single_word && !prev.is_empty() && !prev.ends_with(':')),
                        "`skconn {}` ({columns:?} columns) leaves {line:?} alone on a line after {prev:?}",
                        args.join(" ")
                    );
                }
            }
        }
    }
}

#[test]
fn committed_config_schema_is_current() {
    let committed =
        std::fs::read_to_string(crate_root().join("schema/config.schema.json")).unwrap_or_default();
    assert!(
        committed == skconn::vocabulary::schema::config_schema_text(),
        "schema/config.schema.json is not what `skconn schema config` prints; regenerate it with\n    \
         cargo run -q -- schema config > schema/config.schema.json"
    );
}

#[test]
fn a_folder_without_skconn_yaml_or_connectors_is_refused_and_left_empty() {
    let repo = Repo::new();
    let here = repo.path().display().to_string();
    for args in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
        repo.skconn(args)
            .code(1)
            .stderr_has("no skconn.yaml")
            .stderr_has("no connectors folder")
            .stderr_has(&here)
            .stderr_has("skconn init")
            .stdout_lacks("are valid");
    }
    let left: Vec<_> = std::fs::read_dir(repo.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // A connectors folder alone (the quick start of this repository) is a project.
    Repo::examples().skconn(["validate"]).code(0);
}

#[test]
fn without_skconn_yaml_the_variables_to_set_are_named_and_no_default_is_suggested() {
    let dev = emulator();
    let out = Repo::examples()
        .var("SCALEKIT_ENVIRONMENT_URL", &dev.url())
        .skconn(["plan"]);
    out.code(1)
        .stderr_has("SCALEKIT_CLIENT_ID")
        .stderr_has("SCALEKIT_CLIENT_SECRET")
        .stderr_lacks("environments.default")
        .stderr_lacks(":-")
        .stderr_lacks("skconn.yaml:");
    // With a file, the secret's help suggests no default either.
    let out = Repo::examples()
        .env("dev", &dev, "managed")
        .unset("SK_DEV_SECRET")
        .unset("SK_DEV_ID")
        .skconn(["plan"]);
    out.code(1)
        .stderr_has("`SK_DEV_SECRET` is not set")
        .stderr_has("`SK_DEV_ID` is not set")
        .stderr_lacks(":-");
    assert!(dev.requests().is_empty());
}

#[test]
fn a_user_name_in_a_url_is_not_a_secret_and_short_credentials_are_refused() {
    let dev = emulator();
    let url = "https://user:hunter2-pw-77xq@acme.scalekit.dev";
    // Written in skconn.yaml and from a variable.
    let literal = with_config(&format!(
        "environments:\n  dev:\n    url: {url}\n    client_id: x\n    client_secret: ${{S}}\n"
    ))
    .var("S", "a-long-enough-secret");
    let variable = Repo::examples()
        .env("dev", &dev, "managed")
        .var("SK_DEV_URL", url);
    for repo in [literal, variable] {
        let out = repo.skconn(["plan"]);
        out.code(1)
            .stderr_has("must not hold a user name or password");
        assert!(!out.all().contains("hunter2"), "{out}");
    }
    // A secret shorter than 8 characters is refused, and never masks ordinary words.
    let out = Repo::examples()
        .env("dev", &dev, "managed")
        .var("SK_DEV_SECRET", "plan")
        .skconn(["plan"]);
    out.code(1)
        .stderr_has("environments.dev.client_secret")
        .stderr_has("shorter than 8 characters")
        .stderr_lacks("***");
    assert!(dev.requests().is_empty());
}
