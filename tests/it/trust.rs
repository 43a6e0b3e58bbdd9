//! Trust boundaries: each command resolves only the credentials of the environments it talks
//! to; empty variables are missing; owners keep two repositories sharing an environment apart;
//! server-supplied text cannot hijack a terminal or a GitHub Actions log; `.skconn/` is private.

use crate::support::*;
use serde_json::json;

fn two_envs() -> (skconn::emulator::Emulator, skconn::emulator::Emulator, Repo) {
    let (dev, prod) = (emulator(), emulator());
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .env("prod", &prod, "managed");
    (dev, prod, repo)
}

#[test]
fn validate_and_a_dev_plan_need_only_devs_variables() {
    let (dev, prod, repo) = two_envs();
    let repo = repo
        .unset("SK_PROD_URL")
        .unset("SK_PROD_ID")
        .unset("SK_PROD_SECRET");
    repo.skconn(["validate"]).code(0);
    repo.skconn(["schema"]).code(0);
    repo.skconn(["plan", "--env", "dev"])
        .code(0)
        .stdout_has("Environment dev:")
        .stdout_lacks("Environment prod:");
    repo.skconn(["apply", "--env", "dev", "--auto-approve"])
        .code(0);
    assert_eq!(dev.connectors().len(), example_count());
    dev.clear_requests();
    // Every selected environment's variables are needed, and all missing ones are named.
    let out = repo.skconn(["plan"]);
    out.code(1)
        .stderr_has("`SK_PROD_URL` is not set (needed by environment `prod`)")
        .stderr_has("`SK_PROD_SECRET` is not set (needed by environment `prod`)")
        .stderr_has("skconn.yaml:")
        .stderr_has("environments.prod.client_secret");
    // Nothing was sent to dev while prod's credentials were missing.
    assert!(dev.requests().is_empty() && prod.requests().is_empty());
    repo.skconn(["compare", "dev", "prod"])
        .code(1)
        .stderr_has("SK_PROD_SECRET");
}

#[test]
fn an_empty_variable_is_missing_and_a_default_is_explicit() {
    let dev = emulator();
    let repo = Repo::examples()
        .env("dev", &dev, "managed")
        .var("SK_DEV_SECRET", "");
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("`SK_DEV_SECRET` is set but empty (needed by environment `dev`)")
        .stderr_has("${SK_DEV_SECRET:-default}");
    assert!(dev.requests().is_empty());

    // In connector files too; `${VAR:-default}` allows it.
    let repo = Repo::new()
        .connector(
            "a.yaml",
            "display_name: A\ndescription: tier ${TIER}\nproxy_url: https://a.example.com\nauth_patterns:\n  - type: NO_AUTH\n",
        )
        .env("dev", &dev, "managed")
        .var("TIER", "");
    repo.skconn(["validate"])
        .code(1)
        .stderr_has("`TIER` is not set (or is empty)");
    let repo = repo.edit("connectors/a.yaml", |t| {
        t.replace("${TIER}", "${TIER:-standard}")
    });
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connector("A").unwrap()["description"], "tier standard");
}

#[test]
fn a_url_without_host_or_with_credentials_is_refused() {
    let dev = emulator();
    for (url, says) in [
        ("https:///v2", "has no host"),
        (
            "https://deploy:hunter2-pw-77@acme.scalekit.dev",
            "must not hold a user name or password",
        ),
    ] {
        let repo = Repo::examples()
            .env("dev", &dev, "managed")
            .var("SK_DEV_URL", url);
        let out = repo.skconn(["plan"]);
        out.code(1).stderr_has(says);
        assert!(!out.all().contains("hunter2"), "{out}");
    }
    assert!(dev.requests().is_empty());
}

const TEAM_B_FILE: &str = "display_name: Team B API\nproxy_url: https://b.example.com/v1\nauth_patterns:\n  - type: NO_AUTH\n";

#[test]
fn two_owners_share_an_environment_and_neither_touches_the_others() {
    let shared = emulator();
    let n = example_count();
    // Repository A: no `owner:`, so `default`, written with today's marker.
    let a = Repo::examples().env("dev", &shared, "managed");
    a.skconn(["apply", "--auto-approve"]).code(0);
    let asana = shared.connector("Asana Tasks").unwrap();
    assert_eq!(asana["metadata"]["managed_by"], "skconn");

    // Repository B, owner team-b, prune managed, one connector of its own.
    let b = Repo::new()
        .connector("b.yaml", TEAM_B_FILE)
        .env("dev", &shared, "managed")
        .config("owner: team-b\n");
    b.skconn(["plan"])
        .code(0)
        .stdout_has("Plan: 1 to create, 0 to update, 0 to delete.")
        .stdout_has("Owned by others, left alone: \"Asana Tasks\" (owner default)");
    b.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(shared.connectors().len(), n + 1);
    let team_b = shared.connector("Team B API").unwrap();
    assert_eq!(team_b["metadata"]["managed_by"], "skconn/team-b");

    // A plans again: B's connector is not A's to delete.
    a.skconn(["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("Owned by others, left alone: \"Team B API\" (owner team-b)");
    let json = a.skconn(["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["environments"][0]["other_owners"],
        json!([{"display_name": "Team B API", "owner": "team-b"}])
    );
    // Importing into A leaves B's connector out: a file for it would be refused.
    a.skconn(["import", "--env", "dev"])
        .code(0)
        .stdout_has("Imported 0 connector(s)");
    a.skconn(["import", "--env", "dev", "--name", "Team B API"])
        .code(1)
        .stderr_has("is owned by `team-b`");
    // B removes its file: only its own connector goes.
    let b = b
        .remove("connectors/b.yaml")
        .connector("c.yaml", TEAM_B_FILE.replace("Team B API", "Team B Two"));
    b.skconn(["apply", "--auto-approve"]).code(0);
    assert!(shared.connector("Team B API").is_none());
    assert_eq!(shared.connectors().len(), n + 1);

    // A file in B defining A's connector is an error naming both owners; nothing is sent.
    let b = b.connector(
        "asana.yaml",
        std::fs::read_to_string(crate_root().join("connectors/asana.yaml")).unwrap(),
    );
    let writes = shared.writes();
    b.skconn(["plan"])
        .code(1)
        .stderr_has("connectors/asana.yaml")
        .stderr_has("\"Asana Tasks\" is owned by `default`")
        .stderr_has("this repository's owner `team-b`");
    b.skconn(["apply", "--auto-approve"]).code(1);
    assert_eq!(shared.writes(), writes);
}

#[test]
fn server_text_with_control_characters_is_inert() {
    let dev = emulator();
    dev.insert(
        json!({"display_name": "Evil", "proxy_url": "https://e.example.com",
        "auth_patterns": [{"type": "NO_AUTH"}]}),
    );
    let evil = "Evil\n::warning title=pwned::owned\x1b[2J\x1b[31m";
    dev.edit("Evil", |c| c["display_name"] = json!(evil));
    let repo = Repo::new()
        .connector("a.yaml", TEAM_B_FILE)
        .env("dev", &dev, "off");
    let summary = repo.path().join("summary.md");
    for format in ["text", "markdown", "json"] {
        let out = repo
            .cmd(["plan", "--format", format])
            .env("GITHUB_ACTIONS", "true")
            // skconn's own colour is off, so any ESC written could only come from the server.
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "trace")
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
            .run();
        out.code(0);
        for line in out.stdout.lines().chain(out.stderr.lines()) {
            assert!(!line.trim_start().starts_with("::"), "{format}: {line:?}");
        }
        assert!(!out.all().contains('\x1b'), "{format}: ESC written\n{out}");
        if format != "json" {
            out.stdout_has("Evil\\n::warning title=pwned::owned\\u001b[2J");
        }
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(!md.contains('\x1b') && !md.contains("\n::warning"), "{md}");

    // With colour on (GitHub Actions colours its log), skconn's own colours reach the log as
    // colours, not as escaped text, and the server's escape sequences still do not.
    let out = repo
        .cmd(["plan"])
        .env("GITHUB_ACTIONS", "true")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "trace")
        .run();
    out.code(0);
    assert!(out.stderr.contains("\x1b["), "no colour in the log\n{out}");
    assert!(
        !out.stderr.contains("\\u001b[2m"),
        "colour escaped as text\n{out}"
    );
    assert!(
        !out.all().contains("\x1b[2J"),
        "the server's ESC written\n{out}"
    );
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        assert!(!line.trim_start().starts_with("::"), "{line:?}");
    }
}

#[test]
#[cfg(unix)]
fn the_local_state_folder_is_private_and_ignored_by_git() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::examples();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    let dir = repo.path().join(".skconn");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("local.json")), 0o600);
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "*\n"
    );
    repo.skconn(["plan", "--out", "plan.json"]).code(0);
    assert_eq!(mode(&dir.join("plan.key")), 0o600);
    // Fingerprints are keyed with a salt of each plan: the same inputs never hash alike.
    repo.skconn(["plan", "--out", "again.json"]).code(0);
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(repo.path().join(f)).unwrap()).unwrap()
    };
    let (one, two) = (read("plan.json"), read("again.json"));
    assert_ne!(one["salt"], two["salt"]);
    assert_ne!(one["inputs"], two["inputs"]);
    assert_ne!(
        one["environments"][0]["live"],
        two["environments"][0]["live"]
    );
    repo.skconn(["apply", "plan.json"]).code(0);
}
