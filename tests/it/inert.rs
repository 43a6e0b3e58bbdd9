//! Nothing skconn writes can run or inject. The curl script quotes every value and keeps every
//! comment on its line: it is run under `sh` with stub `curl` and `jq` alone on `PATH`, for
//! hostile file and display names and for generated ones. Hostile server text — control
//! sequences, a carriage return before a workflow command, line breaks, bidirectional
//! overrides — goes through every field skconn shows, in every format of plan, apply, compare
//! and import, in log lines with colour on and off, and in GitHub Actions with a step summary:
//! it reaches no output as a control sequence, a workflow command or a line of its own.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{json, Value};
use skconn::emulator::Emulator;
use skconn::plan::{Action, Change, EnvPlan, FieldChange, Op, Plan, Refusal, What};
use std::path::PathBuf;
use std::process::Command;

/// What a script did when run with stub `curl` and `jq` as the only commands on `PATH`.
#[derive(Debug)]
struct Ran {
    syntax_ok: bool,
    code: Option<i32>,
    stderr: String,
    /// One line per stub run: `curl` or `jq`.
    stubs: Vec<String>,
    /// What the script left in the (empty) folder it ran in.
    left: Vec<String>,
}

/// Runs `script` with `sh` in an empty folder, `PATH` holding only a folder of stubs: `curl`
/// (answers a token) and `jq` (prints it). Any other command would fail as not found.
#[cfg(unix)]
fn run_with_stubs(script: &str) -> Ran {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let log = dir.path().join("stubs.log");
    for (name, body) in [
        (
            "curl",
            "#!/bin/sh\nprintf 'curl\\n' >> \"$STUB_LOG\"\nprintf '{\"access_token\": \"t\"}\\n'\n",
        ),
        (
            "jq",
            "#!/bin/sh\nprintf 'jq\\n' >> \"$STUB_LOG\"\nwhile read -r _; do :; done\nprintf 't\\n'\n",
        ),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let file = dir.path().join("plan.sh");
    std::fs::write(&file, script).unwrap();
    let sh = |args: &[&std::ffi::OsStr]| {
        Command::new("/bin/sh")
            .args(args)
            .current_dir(&work)
            .env_clear()
            .env("PATH", &bin)
            .env("STUB_LOG", &log)
            .output()
            .expect("sh runs")
    };
    let syntax = sh(&["-n".as_ref(), file.as_os_str()]);
    let run = sh(&[file.as_os_str()]);
    let stubs = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let left = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    Ran {
        syntax_ok: syntax.status.success(),
        code: run.status.code(),
        stderr: String::from_utf8_lossy(&syntax.stderr).into_owned()
            + &String::from_utf8_lossy(&run.stderr),
        stubs,
        left,
    }
}

/// `jq` once and `curl` once per environment with changes, then `curl` once per change.
fn expected_stubs(changes_per_env: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for &n in changes_per_env.iter().filter(|n| **n > 0) {
        // The token request's `curl` and `jq` run together; their order in the log is the
        // order they start in, so compare as counts.
        out.push("curl".to_string());
        out.push("jq".to_string());
        out.extend(std::iter::repeat_n("curl".to_string(), n));
    }
    out
}

#[track_caller]
fn assert_ran_only_the_stubs(script: &str, ran: &Ran, changes_per_env: &[usize]) {
    assert!(ran.syntax_ok, "sh -n refused the script\n{ran:?}\n{script}");
    assert_eq!(ran.code, Some(0), "{ran:?}\n{script}");
    assert!(ran.stderr.is_empty(), "{ran:?}\n{script}");
    assert!(
        ran.left.is_empty(),
        "the script made files: {ran:?}\n{script}"
    );
    let mut got = ran.stubs.clone();
    let mut want = expected_stubs(changes_per_env);
    got.sort();
    want.sort();
    assert_eq!(got, want, "other commands ran\n{script}");
}

const HOSTILE_LIVE: &str = "Old\ntouch PWNED_LIVE\n#";

#[test]
#[cfg(unix)]
fn hostile_file_and_display_names_run_nothing_in_the_curl_script() {
    let dev = emulator();
    dev.insert(
        json!({"display_name": "Old", "proxy_url": "https://old.example.com",
        "metadata": {"managed_by": "skconn"}, "auth_patterns": [{"type": "NO_AUTH"}]}),
    );
    dev.edit("Old", |c| c["display_name"] = json!(HOSTILE_LIVE));
    let repo = Repo::new()
        .connector("x\ntouch PWNED_FILE\n#.yaml", bearer("Brand New"))
        .connector("y'$(touch PWNED_SUB)'.yaml", bearer("Quoted New"))
        .env("dev", &dev, "managed");
    let out = repo.skconn(["plan", "--format", "curl"]);
    out.code(0);
    let script = &out.stdout;
    // Comments stay on their line and show the characters escaped.
    assert!(
        script.contains("# delete \"Old\\ntouch PWNED_LIVE\\n#\""),
        "{script}"
    );
    assert!(script.contains("x\\ntouch PWNED_FILE\\n#.yaml"), "{script}");
    for line in script.lines() {
        assert!(
            !line.trim_start().starts_with("touch"),
            "a command line from a name: {line:?}\n{script}"
        );
    }
    let ran = run_with_stubs(script);
    assert_ran_only_the_stubs(script, &ran, &[3]);
    assert!(!repo.path().join("PWNED_FILE").exists());
}

/// Text that would run as shell, break a comment or a quoted word, or move the terminal.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "\n",
        "\r",
        "\r\n",
        "'",
        "\"",
        "$",
        "`",
        "\\",
        ";",
        "&",
        "|",
        "(",
        ")",
        "#",
        "!",
        "*",
        "~",
        " ",
        "\t",
        "{",
        "}",
        "<",
        ">",
        "\x1b[2J",
        "\u{85}",
        "\u{2028}",
        "\u{202e}",
        "\0",
        "$(touch PWNED)",
        "`touch PWNED`",
        "\ntouch PWNED\n",
        "'; touch PWNED; '",
        "\"; touch PWNED; \"",
        "${IFS}",
        "'\\''",
        "a",
        "é",
        "%0A",
        "\\n",
        "EOF",
    ]);
    prop::collection::vec(pieces, 0..10).prop_map(|v| v.concat())
}

fn change(action: Action, name: &str, id: &str, file: &str, value: &str) -> Change {
    let body = json!({"display_name": name, "description": value, "proxy_url": value,
        "metadata": {value: value}, "auth_patterns": [{"type": "BEARER", "display_name": value}]});
    let (before, after) = match action {
        Action::Create => (None, Some(body.clone())),
        Action::Delete => (Some(body.clone()), None),
        _ => (Some(body.clone()), Some(body.clone())),
    };
    let (identifier, file, sent) = (id.to_string(), PathBuf::from(file), body.clone());
    let what = match action {
        Action::Create => What::Create { file, body: sent },
        Action::Adopt => What::Adopt {
            identifier,
            file,
            body: sent,
        },
        Action::Update => What::Update {
            identifier,
            file,
            body: sent,
        },
        Action::Delete => What::Delete { identifier },
    };
    Change {
        what,
        display_name: name.to_string(),
        before,
        after,
        diff: vec![FieldChange {
            op: Op::Replace,
            path: format!("metadata.{value}"),
            pointer: format!("/metadata/{value}"),
            old: Some(json!(value)),
            new: Some(json!(name)),
        }],
        drift: false,
        warnings: Vec::new(),
        usage: None,
        written: None,
        digest_fields: Vec::new(),
    }
}

#[cfg(unix)]
fn check_generated(env: &str, name: &str, id: &str, file: &str, value: &str, reason: &str) {
    let changes: Vec<Change> = [
        Action::Create,
        Action::Adopt,
        Action::Update,
        Action::Delete,
    ]
    .into_iter()
    .map(|a| change(a, name, id, file, value))
    .collect();
    let plan = Plan {
        environments: vec![
            EnvPlan {
                name: env.to_string(),
                source: skconn::plan::Source::Live,
                changes,
                unchanged: 1,
                not_managed: vec![name.to_string()],
                managed_live: 1,
                other_owners: vec![(name.to_string(), value.to_string())],
            },
            EnvPlan {
                name: format!("{env}2"),
                source: skconn::plan::Source::Live,
                changes: Vec::new(),
                unchanged: 0,
                not_managed: Vec::new(),
                managed_live: 0,
                other_owners: Vec::new(),
            },
        ],
        refused: vec![Refusal {
            environment: env.to_string(),
            reason: reason.to_string(),
            how_to_proceed: value.to_string(),
        }],
    };
    let script = skconn::render::curl::plan(&plan);
    let ran = run_with_stubs(&script);
    assert_ran_only_the_stubs(&script, &ran, &[4, 0]);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    #[cfg(unix)]
    fn generated_hostile_names_run_nothing_but_curl_and_jq(
        env in hostile(),
        name in hostile(),
        id in hostile(),
        file in hostile(),
        value in hostile(),
        reason in hostile(),
    ) {
        check_generated(&env, &name, &id, &file, &value, &reason);
    }
}

#[test]
fn curl_commands_for_the_local_environment_are_refused() {
    // No skconn.yaml and no SCALEKIT_* variables: the local environment, an emulator inside
    // the skconn process, gone when it exits.
    let repo = Repo::examples();
    let out = repo.skconn(["plan", "--format", "curl"]);
    out.code(1)
        .stderr_has("local environment")
        .stderr_has("skconn emulator");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(!repo.path().join(".skconn").exists());
    // The other formats still work there.
    repo.skconn(["plan"]).code(0);
}

/// Server text that tries everything: a CR before a workflow command, line breaks, control
/// sequences (erase, conceal, a hyperlink, a C1 CSI), bidirectional overrides, a line
/// separator, and words that would start a line of their own.
const H: &str = "\r::warning::INJ1\x1b[2J\x1b[8m\nINJ2 \u{9b}31m\u{202e}\u{2028}INJ3\x1b]8;;https://x.example\x07|`<b>`\u{85}INJ4";

/// The SGR codes skconn's own styling uses.
const OWN_SGR: &[&str] = &["0", "1", "2", "31", "32", "33", "36"];

/// Every escape sequence in `text` is one of skconn's own colours (or its progress line's
/// clearing), and none of the hostile text's pieces got through.
#[track_caller]
fn assert_inert(label: &str, text: &str, colour: bool) {
    for bad in [
        "\x1b[2J", "\x1b[8m", "\x1b]", "\u{9b}", "\u{202e}", "\u{2028}", "\u{85}", "\r", "\x07",
    ] {
        assert!(!text.contains(bad), "{label}: {bad:?} written\n{text}");
    }
    if !colour {
        assert!(
            !text.contains('\x1b'),
            "{label}: ESC without colour\n{text}"
        );
    }
    for (i, _) in text.match_indices('\x1b') {
        let rest = &text[i + 1..];
        let code = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once('m'))
            .map(|(c, _)| c);
        assert!(
            code.is_some_and(|c| OWN_SGR.contains(&c)),
            "{label}: a sequence skconn does not write: {:?}\n{text}",
            &rest[..rest.len().min(12)]
        );
    }
    for line in text.lines() {
        let t = line.trim_start();
        // skconn's own annotations (`validate`'s warnings about a file) are the only workflow
        // commands: they name a file and hold none of the hostile text.
        let own = (t.starts_with("::warning file=") || t.starts_with("::error file="))
            && !t.contains("INJ");
        assert!(
            own || !t.starts_with("::"),
            "{label}: workflow command {line:?}"
        );
        assert!(!t.starts_with("INJ"), "{label}: a line of its own {line:?}");
    }
}

fn hostile_env(seed: u64) -> Emulator {
    let emu = emulator_with(|c| {
        c.seed = Some(seed);
        c.usage.undocumented_status = Some(format!("ACTIVE{H}"));
    });
    emu.insert(json!({"display_name": "Evil", "description": "d", "proxy_url": "https://e.example.com",
        "metadata": {"managed_by": "skconn"},
        "auth_patterns": [{"type": "BEARER", "fields": [{"field_name": "token", "label": "T", "input_type": "password"}]}]}));
    emu.edit("Evil", |c| {
        c["display_name"] = json!(format!("Evil{H}"));
        c["description"] = json!(format!("desc{H}{seed}"));
        c["metadata"][format!("key{H}")] = json!(format!("value{H}{seed}"));
        c["auth_patterns"][0]["fields"][0]["label"] = json!(format!("label{H}{seed}"));
    });
    emu.insert(
        json!({"display_name": format!("Hand {seed}"), "proxy_url": "https://h.example.com",
        "auth_patterns": [{"type": "NO_AUTH"}]}),
    );
    emu.edit(&format!("Hand {seed}"), |c| {
        c["display_name"] = json!(format!("Hand{H}{seed}"));
        c["description"] = json!(format!("hand{H}"));
    });
    // Importable: the YAML emitter escapes these; and one it would write raw.
    for (name, description) in [
        (
            format!("Plain {seed}"),
            "plain\x1b[2J\r::warning::x\u{85}".to_string(),
        ),
        (
            format!("Bidi {seed}"),
            "reads \u{202e}backwards".to_string(),
        ),
    ] {
        emu.insert(
            json!({"display_name": name, "proxy_url": "https://p.example.com",
            "auth_patterns": [{"type": "NO_AUTH"}]}),
        );
        emu.edit(&name, |c| c["description"] = json!(description));
    }
    let evil_id = emu.connector(&format!("Evil{H}")).unwrap()["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    emu.add_connection_for_key(&evil_id, &format!("busy-{seed}"), "COMPLETED", true);
    emu.add_connected_accounts(&format!("busy-{seed}"), "ACTIVE", 2);
    emu
}

#[test]
fn hostile_server_text_is_inert_in_every_output() {
    let (dev, prod) = (hostile_env(1), hostile_env(2));
    let repo = Repo::new()
        .connector("mine.yaml", bearer("Mine"))
        .env("dev", &dev, "managed")
        .env("prod", &prod, "off");
    let summary = repo.path().join("summary.md");
    let run = |args: &[&str], colour: bool| {
        let mut cmd = repo
            .cmd(args)
            .env("GITHUB_ACTIONS", "true")
            .env("RUST_LOG", "trace")
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
        if !colour {
            cmd = cmd.env("NO_COLOR", "1");
        }
        let out = cmd.run();
        let label = format!("{args:?} colour {colour}");
        assert!(out.code.is_some(), "{label}: killed\n{out}");
        assert_inert(&format!("{label} stdout"), &out.stdout, colour);
        assert_inert(&format!("{label} stderr"), &out.stderr, colour);
        out
    };
    let mut outputs = Vec::new();
    for colour in [false, true] {
        for format in ["text", "json", "markdown", "curl"] {
            outputs.push(run(&["plan", "--format", format], colour));
        }
        outputs.push(run(&["plan", "--log-format", "json"], colour));
        for format in ["text", "json", "markdown"] {
            outputs.push(run(&["compare", "dev", "prod", "--format", format], colour));
        }
    }
    // The hostile text is shown, escaped, not dropped.
    let text_plan = &outputs[0].stdout;
    assert!(
        text_plan.contains("Evil\\r::warning::INJ1\\u001b[2J"),
        "{text_plan}"
    );
    assert!(text_plan.contains("in use:"), "{text_plan}");
    // JSON stays JSON and keeps the value exactly.
    let plan: Value = serde_json::from_str(&outputs[1].stdout).expect("JSON plan");
    let names: Vec<&str> = plan["environments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_array().unwrap())
        .filter_map(|c| c["display_name"].as_str())
        .collect();
    assert!(names.contains(&format!("Evil{H}").as_str()), "{names:?}");
    let compare: Value = serde_json::from_str(&outputs[6].stdout).expect("JSON compare");
    assert_eq!(
        compare["compare"]["different"][0]["display_name"],
        format!("Evil{H}")
    );
    for line in outputs[4].stderr.lines() {
        serde_json::from_str::<Value>(line).expect("a JSON log line");
    }

    // Apply: the plan, the statuses of the usage that holds the delete back, the outcome.
    for colour in [false, true] {
        run(&["apply", "--auto-approve", "--env", "dev"], colour);
    }
    // Import: the files it writes and the connectors it skips.
    for colour in [false, true] {
        let out = run(&["import", "--env", "prod"], colour);
        if !colour {
            out.stdout_has("wrote connectors/plain-2.yaml").stderr_has(
                "skipped \"Bidi 2\": a value holds a control character, bidirectional override",
            );
        }
        run(
            &["import", "--env", "dev", "--name", &format!("Hand{H}1")],
            colour,
        );
    }
    let imported = std::fs::read_to_string(repo.path().join("connectors/plain-2.yaml")).unwrap();
    assert!(
        imported.contains("description: \"plain\\e[2J\\r::warning::x\\N\""),
        "{imported}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert_inert("step summary", &md, false);
    for entry in std::fs::read_dir(repo.path().join("connectors")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_inert(&path.display().to_string(), &text, false);
    }
}

#[test]
fn log_lines_have_one_style_and_json_lines_are_unchanged() {
    let dev = emulator();
    let repo = repo_with(2, &dev, "managed");
    dev.push_fault(
        skconn::emulator::Fault::status(503)
            .method("GET")
            .path("/api/v1/providers"),
    );
    let out = repo.skconn(["plan", "--max-attempts", "3"]);
    out.code(0);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning: request failed; retrying")),
        "{out}"
    );
    for l in &lines {
        let word = l.split_once(": ").map(|(w, _)| w);
        assert!(
            matches!(
                word,
                Some("error" | "warning" | "notice" | "info" | "debug" | "trace")
            ),
            "a log line of another style: {l:?}\n{out}"
        );
        assert!(!l.contains(" WARN "), "{l:?}");
    }
    // The JSON log format keeps its fields.
    dev.push_fault(
        skconn::emulator::Fault::status(503)
            .method("GET")
            .path("/api/v1/providers"),
    );
    let out = repo.skconn(["plan", "--max-attempts", "3", "--log-format", "json"]);
    out.code(0);
    let warn: Value = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .find(|v| v["level"] == "warn")
        .expect("a warning line");
    assert_eq!(warn["message"], "request failed; retrying");
    assert_eq!(warn["environment"], "dev");
    assert!(warn["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
}
