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
        // No default is suggested for a credential.
        .stderr_lacks("${SK_DEV_SECRET:-");
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

// ---- credentials stay with their environment ------------------------------------------------

/// A repository whose skconn.yaml is `config`, with dev's and prod's variables set: dev is
/// `dev`, prod's secret is `prod`'s.
fn bound_repo(
    dev: &skconn::emulator::Emulator,
    prod: &skconn::emulator::Emulator,
    config: &str,
) -> Repo {
    Repo::examples()
        .file("skconn.yaml", config)
        .var("SK_DEV_URL", &dev.url())
        .var("SK_DEV_ID", dev.client_id())
        .var("SK_DEV_SECRET", dev.client_secret())
        .var("SK_PROD_URL", "https://prod.scalekit.example")
        .var("SK_PROD_ID", prod.client_id())
        .var("SK_PROD_SECRET", prod.client_secret())
}

fn env_block(name: &str, url: &str, secret_var: &str) -> String {
    let up = name.to_uppercase();
    format!(
        "  {name}:\n    url: {url}\n    client_id: ${{SK_{up}_ID}}\n    client_secret: ${{{secret_var}}}\n"
    )
}

#[test]
fn a_client_secret_is_sent_only_to_the_url_of_its_own_family_or_a_trusted_host() {
    let (dev, attacker) = (emulator(), emulator());
    let dev_block = env_block("dev", "${SK_DEV_URL}", "SK_DEV_SECRET");
    let config = |prod_url: &str| {
        format!(
            "environments:\n{dev_block}{}",
            env_block("prod", prod_url, "SK_PROD_SECRET")
        )
    };
    let attacker_host = attacker.addr().ip().to_string();
    let cases: [(&str, &[&str]); 3] = [
        // Another variable (one a pull request may control), another family's URL, a literal.
        (
            "${PR_TITLE}",
            &[
                "`SK_PROD_SECRET`",
                "`PR_TITLE`",
                "SK_PROD_URL",
                "SKCONN_TRUSTED_HOSTS",
            ],
        ),
        ("${SK_DEV_URL}", &["`SK_PROD_SECRET`", "`SK_DEV_URL`"]),
        (
            &attacker.url(),
            &["`SK_PROD_SECRET`", &attacker_host, "SKCONN_TRUSTED_HOSTS"],
        ),
    ];
    for (url, names) in cases {
        let repo = bound_repo(&dev, &attacker, &config(url)).var("PR_TITLE", &attacker.url());
        for args in [
            &["plan"][..],
            &["plan", "--env", "prod"],
            &["apply", "--auto-approve"],
        ] {
            let out = repo.skconn(args);
            out.code(1).stderr_has("environments.prod.url");
            for name in names {
                out.stderr_has(name);
            }
            assert!(!out.all().contains(attacker.client_secret()), "{out}");
        }
        repo.skconn(["compare", "dev", "prod"])
            .code(1)
            .stderr_has("SK_PROD_SECRET");
        assert!(
            attacker.requests().is_empty(),
            "{url}: {:?}",
            attacker.requests()
        );
        assert!(dev.requests().is_empty(), "{url}: {:?}", dev.requests());
    }
    // A host the CI system trusts (exact, any case, separated by commas or spaces) is reached.
    let repo = bound_repo(&dev, &attacker, &config(&attacker.url()));
    repo.cmd(["plan", "--env", "prod"])
        .env(
            "SKCONN_TRUSTED_HOSTS",
            &format!("Acme.Scalekit.Dev, {attacker_host}"),
        )
        .run()
        .code(0)
        .stdout_has("Environment prod:");
    assert!(!attacker.requests().is_empty());
    // The URL of the secret's own family is reached, in both spellings.
    for url_var in ["SK_PROD_URL", "SK_PROD_ENVIRONMENT_URL"] {
        attacker.clear_requests();
        let repo = bound_repo(&dev, &attacker, &config(&format!("${{{url_var}}}")))
            .var(url_var, &attacker.url());
        repo.skconn(["plan"])
            .code(0)
            .stdout_has("Environment prod:");
        assert!(!attacker.requests().is_empty());
    }
}

#[test]
fn the_default_environment_from_scalekit_variables_is_one_family() {
    let dev = emulator();
    let repo = Repo::examples()
        .var("SCALEKIT_ENVIRONMENT_URL", &dev.url())
        .var("SCALEKIT_CLIENT_ID", dev.client_id())
        .var("SCALEKIT_CLIENT_SECRET", dev.client_secret());
    repo.skconn(["plan"])
        .code(0)
        .stdout_has("Environment default:");
}

const LEAK: &str = "display_name: Leak\ndescription: ${SK_PROD_SECRET}\nproxy_url: https://l.example.com\nauth_patterns:\n  - type: NO_AUTH\n";

#[test]
fn a_connector_file_may_not_use_a_credential_variable_of_any_environment() {
    let (dev, prod, repo) = two_envs();
    let secret = prod.client_secret().to_string();
    let summary = repo.path().join("summary.md");
    let repo = repo.connector("leak.yaml", LEAK);
    for args in [
        &["validate"][..],
        &["plan", "--env", "dev"],
        &["plan", "--env", "dev", "--format", "markdown"],
        &[
            "plan",
            "--env",
            "dev",
            "--format",
            "json",
            "--out",
            "plan.json",
        ],
        &["apply", "--env", "dev", "--auto-approve"],
    ] {
        let out = repo
            .cmd(args)
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
            .run();
        out.code(1)
            .stderr_has("connectors/leak.yaml:2:14")
            .stderr_has("`SK_PROD_SECRET`");
        assert!(!out.all().contains(&secret), "{out}");
    }
    assert!(!repo.path().join("plan.json").exists());
    let md = std::fs::read_to_string(&summary).unwrap_or_default();
    assert!(!md.contains(&secret), "{md}");
    assert!(dev.requests().is_empty() && prod.requests().is_empty());

    // Variables named like secrets, whether or not skconn.yaml names them, with a default too.
    for var in [
        "SCALEKIT_PROD_CLIENT_SECRET",
        "DEPLOY_TOKEN",
        "DB_PASSWORD",
        "UNSET_API_SECRET:-fallback-0042",
    ] {
        let name = var.split(":-").next().unwrap();
        let out = Repo::examples()
            .env("dev", &dev, "managed")
            .connector("leak.yaml", LEAK.replace("SK_PROD_SECRET", var))
            .var("SCALEKIT_PROD_CLIENT_SECRET", "prod-client-secret-0042")
            .var("DEPLOY_TOKEN", "deploy-token-0042")
            .var("DB_PASSWORD", "hunter2-db-0042")
            .skconn(["plan"]);
        out.code(1)
            .stderr_has("connectors/leak.yaml:2:14")
            .stderr_has(&format!("`{name}`"));
        assert!(!out.all().contains("-0042"), "{out}");
    }
}

#[test]
fn the_secrets_of_environments_outside_the_run_are_masked_everywhere() {
    let (dev, _prod, repo) = two_envs();
    repo.skconn(["apply", "--env", "dev", "--auto-approve"])
        .code(0);
    // Values that share no piece with dev's secret (which is masked in every form and piece).
    let prod_secret = "zq-prod-only-wxyz-7";
    let repo = repo.var("SK_PROD_SECRET", prod_secret);
    let other = "kl-staging-only-uvw-8";
    // The live connector's description holds prod's secret, and another environment's secret
    // that skconn.yaml does not name: the plan of dev alone shows neither.
    dev.edit("Asana Tasks", |c| {
        c["description"] = json!(format!("{prod_secret} {other}"))
    });
    let repo = repo.var("SCALEKIT_STAGING_CLIENT_SECRET", other);
    let summary = repo.path().join("summary.md");
    for format in ["text", "markdown", "json"] {
        let out = repo
            .cmd([
                "plan",
                "--env",
                "dev",
                "--format",
                format,
                "--out",
                "plan.json",
            ])
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
            .env("RUST_LOG", "trace")
            .run();
        out.code(0).stdout_has("Asana Tasks");
        assert!(!out.all().contains(prod_secret), "{format}: {out}");
        assert!(!out.all().contains(other), "{format}: {out}");
        let saved = std::fs::read_to_string(repo.path().join("plan.json")).unwrap();
        assert!(
            !saved.contains(prod_secret) && !saved.contains(other),
            "{saved}"
        );
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("Asana Tasks"));
    assert!(!md.contains(prod_secret) && !md.contains(other), "{md}");
    // prod left out of skconn.yaml altogether: its secret, named like one, is still masked.
    let dev_only = Repo::examples()
        .env("dev", &dev, "managed")
        .var("SK_PROD_SECRET", prod_secret);
    let out = dev_only.skconn(["plan"]);
    out.code(0).stdout_has("Asana Tasks");
    assert!(!out.all().contains(prod_secret), "{out}");
}

// ---- local state stays in the repository, and is never taken from git -----------------------

/// Runs git in the repository for the test's set-up (skconn itself never runs git).
fn git(repo: &Repo, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(repo.path())
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
#[cfg(unix)]
fn a_skconn_folder_that_is_a_symlink_or_holds_one_is_refused() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let outside = tempfile::tempdir().unwrap();
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let repo = Repo::examples();
    symlink(outside.path(), repo.path().join(".skconn")).unwrap();
    for args in [
        &["plan"][..],
        &["plan", "--out", "plan.json"],
        &["apply", "--auto-approve"],
    ] {
        repo.skconn(args)
            .code(1)
            .stderr_has(".skconn")
            .stderr_has("is a symbolic link");
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    let mode = std::fs::metadata(outside.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o755);

    // A real folder holding a link (to a file outside) is refused too; the file is untouched.
    std::fs::remove_file(repo.path().join(".skconn")).unwrap();
    repo.skconn(["plan"]).code(0);
    let target = outside.path().join("key");
    std::fs::write(&target, "not a key").unwrap();
    let key = repo.path().join(".skconn/plan.key");
    let _ = std::fs::remove_file(&key);
    symlink(&target, &key).unwrap();
    repo.skconn(["plan", "--out", "plan.json"])
        .code(1)
        .stderr_has(".skconn/plan.key")
        .stderr_has("is a symbolic link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a key");
    assert!(!repo.path().join("plan.json").exists());
}

/// Twelve connectors applied, nine of their files removed, and a forced apply of the nine
/// deletes that failed: `.skconn/forced.json` records them as approved.
fn forced_record(dev: &skconn::emulator::Emulator) -> Repo {
    let mut repo = repo_with(12, dev, "managed");
    repo.skconn(["apply", "--auto-approve"]).code(0);
    for i in 0..9 {
        repo = repo.remove(&format!("connectors/c{i:02}.yaml"));
    }
    dev.push_fault(format!("500:DELETE:*@{WRITES}").parse().unwrap());
    // Nothing applied: exit 1.
    repo.skconn(["apply", "--auto-approve", "--force", "--max-attempts", "1"])
        .code(1);
    dev.clear_faults();
    assert!(repo.path().join(".skconn/forced.json").exists());
    assert_eq!(dev.connectors().len(), 12);
    repo
}

#[test]
fn a_committed_forced_apply_record_is_refused_whatever_the_index_format() {
    let dev = emulator();
    let repo = forced_record(&dev);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-f", ".skconn/forced.json", "skconn.yaml"]);
    let refused = |repo: &Repo| {
        repo.skconn(["apply", "--auto-approve"])
            .code(1)
            .stderr_has(".skconn/forced.json")
            .stderr_has("tracked by git")
            .stderr_has("git rm -r --cached .skconn");
        assert_eq!(dev.connectors().len(), 12);
    };
    let version = |repo: &Repo| {
        let index = std::fs::read(repo.path().join(".git/index")).unwrap();
        u32::from_be_bytes(index[4..8].try_into().unwrap())
    };
    assert_eq!(version(&repo), 2);
    refused(&repo);
    // An intent-to-add entry has extended flags: git writes version 3.
    git(&repo, &["add", "-N", "connectors/c10.yaml"]);
    assert_eq!(version(&repo), 3);
    refused(&repo);
    // Version 4 compresses each path against the one before.
    git(&repo, &["update-index", "--index-version", "4"]);
    assert_eq!(version(&repo), 4);
    refused(&repo);
    // A worktree's `.git` is a file naming its git folder.
    let gitdir = tempfile::tempdir().unwrap();
    let moved = gitdir.path().join("repo.git");
    std::fs::rename(repo.path().join(".git"), &moved).unwrap();
    std::fs::write(
        repo.path().join(".git"),
        format!("gitdir: {}\n", moved.display()),
    )
    .unwrap();
    refused(&repo);
    // skconn reads the index without running git: a repository's configuration cannot make
    // it run a command.
    std::fs::rename(&moved, repo.path().join(".git.tmp")).unwrap();
    std::fs::remove_file(repo.path().join(".git")).unwrap();
    std::fs::rename(repo.path().join(".git.tmp"), repo.path().join(".git")).unwrap();
    git(&repo, &["config", "core.fsmonitor", "touch PWNED; false"]);
    refused(&repo);
    assert!(!repo.path().join("PWNED").exists());
    // Untracked again, the record is honoured: the rerun completes what was approved.
    std::fs::remove_file(repo.path().join(".git/config")).unwrap();
    std::fs::remove_dir_all(repo.path().join(".git")).unwrap();
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), 3);
}

#[test]
fn connectors_dir_stays_inside_the_folder_of_skconn_yaml() {
    let dev = emulator();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.yaml"), bearer("Outside")).unwrap();
    let out_dir = outside.path().display().to_string();
    for dir in ["/", "..", "../elsewhere", "sub/../..", out_dir.as_str()] {
        let repo = Repo::examples()
            .env("dev", &dev, "managed")
            .config(&format!("connectors_dir: {dir}\n"));
        for args in [&["validate"][..], &["plan"], &["import", "--env", "dev"]] {
            let out = repo.skconn(args);
            out.code(1)
                .stderr_has("skconn.yaml:7:")
                .stderr_has("connectors_dir")
                .stderr_has("outside the folder of skconn.yaml");
            assert!(out.stderr.lines().count() < 8, "{dir}: {out}");
        }
    }
    // After resolving links: a folder inside that leads outside is refused; one that stays
    // inside is followed.
    #[cfg(unix)]
    {
        let repo = Repo::examples()
            .env("dev", &dev, "managed")
            .config("connectors_dir: defs\n");
        std::os::unix::fs::symlink(outside.path(), repo.path().join("defs")).unwrap();
        repo.skconn(["validate"])
            .code(1)
            .stderr_has("outside the folder of skconn.yaml");
        std::fs::remove_file(repo.path().join("defs")).unwrap();
        std::os::unix::fs::symlink("connectors", repo.path().join("defs")).unwrap();
        repo.skconn(["validate"]).code(0);
        // Links in the folder are held to it too: to a folder or a file outside, never read.
        let c = repo.path().join("connectors");
        std::os::unix::fs::symlink(outside.path(), c.join("more")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.yaml"), c.join("x.yaml")).unwrap();
        let out = repo.skconn(["validate"]);
        out.code(1)
            .stderr_has("defs/more: this leads outside the folder of skconn.yaml")
            .stderr_has("defs/x.yaml: this leads outside the folder of skconn.yaml")
            .stderr_lacks("Outside");
    }
    assert!(dev.requests().is_empty());
}

#[test]
fn a_problem_with_a_masked_value_says_nothing_about_the_value() {
    let long = "q".repeat(313);
    let cases = [
        ("display_name: ${NAME_VAR}", "NAME_VAR", long.clone()),
        (
            "display_name: A\nmetadata: {team: \"${TEAM_VAR}\"}",
            "TEAM_VAR",
            long.clone(),
        ),
        (
            "display_name: A\nicon_src: ${ICON_VAR}",
            "ICON_VAR",
            "http://icon.example.com/i.svg".into(),
        ),
    ];
    for (head, var, value) in cases {
        let file = format!(
            "{head}\nproxy_url: https://a.example.com\nauth_patterns:\n  - type: NO_AUTH\n"
        );
        let repo = Repo::new().connector("a.yaml", file).var(var, &value);
        let out = repo.skconn(["validate"]);
        out.code(1)
            .stderr_has("connectors/a.yaml:")
            .stderr_has(&format!("`{var}`"))
            .stderr_has("masked");
        assert!(!out.all().contains("313"), "{out}");
        assert!(!out.all().contains("http://icon"), "{out}");
        assert!(!out.all().contains("qqqq"), "{out}");
    }
}

#[test]
fn a_forced_apply_record_is_honoured_only_for_the_plan_it_was_written_for() {
    let dev = emulator();
    let repo = forced_record(&dev);
    // The files move after the interrupted forced apply: one more connector is removed. The
    // record's names still cover most of the plan, but it was written for another plan.
    let repo = repo.remove("connectors/c09.yaml");
    repo.skconn(["apply", "--auto-approve"])
        .code(3)
        .stderr_has("the plan would delete 10 of 12 managed connectors");
    assert_eq!(dev.connectors().len(), 12, "nothing was deleted");
    // The same names with a changed connector (its `before` moved): not the plan approved either.
    let repo = repo.file("connectors/c09.yaml", bearer("Conn 09"));
    dev.edit("Conn 00", |c| {
        c["description"] = "edited in the dashboard".into()
    });
    repo.skconn(["apply", "--auto-approve"]).code(3);
    assert_eq!(dev.connectors().len(), 12);
}
