//! The road in: `install.sh` against a release served on loopback, `skconn init`, completions,
//! the man page, `--version` and what `cargo package` ships.

use crate::support::{crate_root, Repo};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// One request the release server received: its path and its Authorization header.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    authorization: Option<String>,
}

/// A static file server on a loopback port: a stand-in for GitHub's release downloads and API.
struct ReleaseServer {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl ReleaseServer {
    fn serve(root: &Path) -> ReleaseServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = answer(stream, &root, &log);
            }
        });
        ReleaseServer { url, requests }
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }
}

fn answer(
    mut stream: std::net::TcpStream,
    root: &Path,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    log.lock().unwrap().push(Request {
        path: path.clone(),
        authorization,
    });
    let rel = path.trim_start_matches('/');
    let file = root.join(rel);
    let body = if rel.split('/').any(|p| p == "..") {
        None
    } else {
        std::fs::read(&file).ok()
    };
    let head = match &body {
        Some(b) => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            b.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    stream.write_all(head.as_bytes())?;
    if let Some(b) = body {
        stream.write_all(&b)?;
    }
    stream.flush()
}

/// The target install.sh detects on this machine.
fn this_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "macos" => format!("{arch}-apple-darwin"),
        _ => format!("{arch}-unknown-linux-musl"),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A release directory laid out as GitHub serves one: `v<version>/<asset>`, `<asset>.sha256`
/// and `SHA256SUMS`, the archive holding the real skconn binary.
struct Release {
    dir: tempfile::TempDir,
    version: String,
    asset: String,
}

impl Release {
    fn build(version: &str) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let target = this_target();
        let name = format!("skconn-{version}-{target}");
        let stage = dir.path().join("stage").join(&name);
        std::fs::create_dir_all(stage.join("completions")).unwrap();
        std::fs::create_dir_all(stage.join("man")).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_skconn"), stage.join("skconn")).unwrap();
        std::fs::copy(crate_root().join("README.md"), stage.join("README.md")).unwrap();
        std::fs::copy(crate_root().join("LICENSE"), stage.join("LICENSE")).unwrap();
        let release = dir.path().join(format!("v{version}"));
        std::fs::create_dir_all(&release).unwrap();
        let asset = format!("{name}.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(release.join(&asset))
            .arg("-C")
            .arg(dir.path().join("stage"))
            .arg(&name)
            .status()
            .expect("tar runs");
        assert!(status.success());
        let sum = sha256_hex(&std::fs::read(release.join(&asset)).unwrap());
        std::fs::write(
            release.join(format!("{asset}.sha256")),
            format!("{sum}  {asset}\n"),
        )
        .unwrap();
        std::fs::write(
            release.join("SHA256SUMS"),
            format!(
                "{}  skconn-{version}-other-target.tar.gz\n{sum}  {asset}\n",
                "0".repeat(64)
            ),
        )
        .unwrap();
        Release {
            dir,
            version: version.into(),
            asset,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("v{}", self.version))
            .join(name)
    }
}

struct Installed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `sh install.sh ARGS` with a clean environment and `vars`.
fn install_sh(args: &[&str], vars: &[(&str, &str)], home: &Path) -> Installed {
    let mut c = Command::new("sh");
    c.arg(crate_root().join("install.sh"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .stdin(std::process::Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.output().expect("sh runs");
    Installed {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn refuses(release: &Release, expect_in_message: &str) {
    let server = ReleaseServer::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let to = home.path().join("bin");
    let out = install_sh(
        &["--version", &release.version, "--to", to.to_str().unwrap()],
        &[("SKCONN_DOWNLOAD_URL", &server.url)],
        home.path(),
    );
    assert_ne!(out.code, Some(0), "install.sh succeeded\n{out}");
    assert!(
        out.stderr.contains(&release.asset),
        "names the asset\n{out}"
    );
    assert!(out.stderr.contains(expect_in_message), "{out}");
    assert!(out.stderr.contains("nothing was installed"), "{out}");
    assert!(!to.join("skconn").exists(), "a binary was installed");
    let left: Vec<_> = std::fs::read_dir(&to)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left in {}: {left:?}", to.display());
}

#[test]
fn install_sh_installs_a_verified_release_and_calls_no_api_with_a_version() {
    let release = Release::build("9.8.7");
    let server = ReleaseServer::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let to = home.path().join("tools").join("bin");
    let out = install_sh(
        &["--version", "v9.8.7", "--to", to.to_str().unwrap()],
        &[("SKCONN_DOWNLOAD_URL", &server.url)],
        home.path(),
    );
    assert_eq!(out.code, Some(0), "{out}");
    let installed = to.join("skconn");
    assert!(installed.is_file(), "{out}");
    assert!(
        out.stderr
            .contains(&format!("installed {}", installed.display())),
        "{out}"
    );
    assert!(out.stderr.contains("verified"), "{out}");
    // It prints the installed binary's --version, and that binary runs.
    assert!(out.stdout.starts_with("skconn "), "{out}");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(String::from_utf8_lossy(&version.stdout), out.stdout);
    // Only the two release files were asked for: no API call when the version is given.
    assert_eq!(
        server.paths(),
        [
            format!("/v9.8.7/{}", release.asset),
            "/v9.8.7/SHA256SUMS".to_string()
        ]
    );
}

#[test]
fn install_sh_resolves_the_latest_release_with_the_token() {
    let release = Release::build("1.2.3");
    let api = release
        .dir
        .path()
        .join("repos")
        .join("skconn")
        .join("skconn")
        .join("releases");
    std::fs::create_dir_all(&api).unwrap();
    std::fs::write(
        api.join("latest"),
        "{\n  \"url\": \"x\",\n  \"tag_name\": \"v1.2.3\",\n  \"name\": \"skconn 1.2.3\"\n}\n",
    )
    .unwrap();
    let server = ReleaseServer::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let out = install_sh(
        &[],
        &[
            ("SKCONN_DOWNLOAD_URL", &server.url),
            ("SKCONN_API_URL", &server.url),
            ("GITHUB_TOKEN", "ghs_test_token"),
        ],
        home.path(),
    );
    assert_eq!(out.code, Some(0), "{out}");
    // The default folder is ~/.local/bin.
    assert!(home.path().join(".local/bin/skconn").is_file(), "{out}");
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests[0].path, "/repos/skconn/skconn/releases/latest");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer ghs_test_token")
    );
    assert_eq!(requests[1].path, format!("/v1.2.3/{}", release.asset));
    // The token goes to the API only, never to the download host.
    assert!(requests[1..].iter().all(|r| r.authorization.is_none()));
}

#[test]
fn install_sh_refuses_a_tampered_archive() {
    let release = Release::build("0.9.1");
    let mut bytes = std::fs::read(release.file(&release.asset)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(release.file(&release.asset), bytes).unwrap();
    refuses(&release, "does not match SHA256SUMS");
}

#[test]
fn install_sh_refuses_an_archive_missing_from_sha256sums() {
    let release = Release::build("0.9.2");
    let sums = std::fs::read_to_string(release.file("SHA256SUMS")).unwrap();
    let kept: String = sums
        .lines()
        .filter(|l| !l.contains(&release.asset))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(release.file("SHA256SUMS"), kept).unwrap();
    refuses(&release, "has no line for");
}

#[test]
fn install_sh_refuses_a_release_without_sha256sums() {
    let release = Release::build("0.9.3");
    std::fs::remove_file(release.file("SHA256SUMS")).unwrap();
    refuses(&release, "SHA256SUMS");
}

#[test]
fn install_sh_names_a_missing_release() {
    let release = Release::build("0.9.4");
    let server = ReleaseServer::serve(release.dir.path());
    let home = tempfile::tempdir().unwrap();
    let out = install_sh(
        &["--version", "0.9.5"],
        &[("SKCONN_DOWNLOAD_URL", &server.url)],
        home.path(),
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("skconn-0.9.5-"), "{out}");
    assert!(!home.path().join(".local/bin/skconn").exists());
}

// ---- skconn init ----

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read_all(dir: &Path) -> Vec<(String, String)> {
    tree(dir)
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(&f)).unwrap();
            (f, text)
        })
        .collect()
}

#[test]
fn init_starts_a_repository_that_validates_with_no_variables() {
    let repo = Repo::new();
    let out = repo.skconn(["init"]);
    out.code(0)
        .stdout_has("created skconn.yaml")
        .stdout_has("Next steps")
        .stdout_has("SCALEKIT_DEV_CLIENT_SECRET")
        .stdout_has("SCALEKIT_PROD_CLIENT_SECRET");
    assert_eq!(
        tree(repo.path()),
        [
            ".github/workflows/skconn-apply.yml",
            ".github/workflows/skconn-drift.yml",
            ".github/workflows/skconn-plan.yml",
            ".gitignore",
            "connectors/example.yaml",
            "schema/config.schema.json",
            "schema/connector.schema.json",
            "skconn.yaml",
        ]
    );
    let gitignore = std::fs::read_to_string(repo.path().join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".skconn/"));
    let config = std::fs::read_to_string(repo.path().join("skconn.yaml")).unwrap();
    assert!(config.contains("url: ${SCALEKIT_DEV_URL}"));
    assert!(config.contains("client_secret: ${SCALEKIT_PROD_CLIENT_SECRET}"));
    assert!(config.find("  dev:").unwrap() < config.find("  prod:").unwrap());
    // The schema written is skconn's own.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("schema/connector.schema.json")).unwrap(),
        skconn::vocabulary::schema::schema_text()
    );
    // `Repo` runs skconn with a cleared environment: no SCALEKIT_* variable is set.
    repo.skconn(["validate"])
        .code(0)
        .stdout_has("1 connector file(s)");
    // Talking to an environment still needs its credentials, and says which.
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("SCALEKIT_DEV_URL")
        .stderr_lacks("unset.invalid");
}

#[test]
fn init_names_only_schemas_it_writes() {
    let repo = Repo::new();
    repo.skconn(["init", "--ci", "none"]).code(0);
    let mut named = 0;
    for (file, text) in read_all(repo.path()) {
        for line in text.lines() {
            if let Some(target) = line.strip_prefix("# yaml-language-server: $schema=") {
                let at = repo.path().join(&file).parent().unwrap().join(target);
                assert!(at.is_file(), "{file} names {target}, which does not exist");
                named += 1;
            }
        }
    }
    assert!(named >= 1);
}

#[test]
fn init_never_overwrites_and_lists_what_it_skipped() {
    let repo = Repo::new().file(
        "skconn.yaml",
        "# mine\nenvironments:\n  dev:\n    url: local\n",
    );
    let first = repo.skconn(["init"]);
    first
        .code(0)
        .stdout_has("skipped skconn.yaml")
        .stdout_has("created connectors/example.yaml")
        .stdout_lacks("does not ignore");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("skconn.yaml")).unwrap(),
        "# mine\nenvironments:\n  dev:\n    url: local\n"
    );
    // Change every file; a second init leaves every one as it is.
    for f in tree(repo.path()) {
        std::fs::write(repo.path().join(&f), format!("edited {f}\n")).unwrap();
    }
    let before = read_all(repo.path());
    let second = repo.skconn(["init"]);
    second
        .code(0)
        .stdout_lacks("created ")
        .stdout_has(".gitignore does not ignore .skconn/");
    for (f, _) in &before {
        second.stdout_has(&format!("skipped {f}"));
    }
    assert_eq!(read_all(repo.path()), before);
}

#[test]
fn init_writes_github_workflows_that_install_skconn_pinned_by_sha() {
    let repo = Repo::new();
    repo.skconn(["init", "site", "--env", "staging", "--env", "eu-prod"])
        .code(0)
        .stdout_has("cd site")
        .stdout_has("SCALEKIT_EU_PROD_CLIENT_SECRET");
    let root = repo.path().join("site");
    let workflows: Vec<(String, String)> = read_all(&root)
        .into_iter()
        .filter(|(f, _)| f.starts_with(".github/workflows/"))
        .collect();
    assert_eq!(workflows.len(), 3);
    let sha_pin = |r: &str| {
        let (_, at) = r.split_once('@').unwrap();
        let sha = at.split_whitespace().next().unwrap();
        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
    };
    for (file, text) in &workflows {
        assert!(!text.contains("cargo build"), "{file} builds from source");
        assert!(!text.contains("cargo install"), "{file} builds from source");
        assert!(!text.contains("pull_request_target"), "{file}");
        assert!(
            text.contains("permissions: {}"),
            "{file}: no default permissions"
        );
        let mut installs = 0;
        for line in text.lines() {
            let Some(uses) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            if uses.starts_with("skconn/skconn@") {
                installs += 1;
                // Pinned by the commit this skconn was built from, when the build knew it.
                match skconn::base::build_info::full_commit() {
                    Some(sha) => assert_eq!(
                        uses,
                        format!(
                            "skconn/skconn@{sha} # v{}",
                            skconn::base::build_info::VERSION
                        )
                    ),
                    None => assert_eq!(
                        uses,
                        format!("skconn/skconn@v{}", skconn::base::build_info::VERSION)
                    ),
                }
                continue;
            }
            assert!(sha_pin(uses), "{file}: `{uses}` is not pinned by SHA");
            assert!(uses.contains(" # v"), "{file}: `{uses}` has no tag comment");
        }
        assert!(installs >= 1, "{file} does not install skconn");
        // Every checkout drops the token.
        assert_eq!(
            text.matches("actions/checkout@").count(),
            text.matches("persist-credentials: false").count(),
            "{file}"
        );
    }
    let apply = &workflows
        .iter()
        .find(|(f, _)| f.ends_with("skconn-apply.yml"))
        .unwrap()
        .1;
    let doc: serde_yaml::Value = serde_yaml::from_str(apply).unwrap();
    for (env, stem, other) in [
        ("staging", "STAGING", "EU_PROD"),
        ("eu-prod", "EU_PROD", "STAGING"),
    ] {
        let job = &doc["jobs"][format!("apply-{env}").as_str()];
        let text = serde_yaml::to_string(job).unwrap();
        assert_eq!(job["environment"].as_str(), Some(env), "{text}");
        assert_eq!(
            job["concurrency"]["group"].as_str(),
            Some(format!("skconn-apply-{env}").as_str())
        );
        assert!(text.contains(&format!("secrets.SCALEKIT_{stem}_CLIENT_SECRET")));
        assert!(!text.contains(&format!("SCALEKIT_{other}_")), "{text}");
    }
    assert_eq!(
        doc["jobs"]["apply-eu-prod"]["needs"].as_str(),
        Some("apply-staging")
    );
    assert!(apply.contains("workflow_dispatch:"));
    let plan = &workflows
        .iter()
        .find(|(f, _)| f.ends_with("skconn-plan.yml"))
        .unwrap()
        .1;
    assert!(plan.contains("skconn github comment plans/plan-staging.json plans/plan-eu-prod.json"));
    assert!(plan.contains("if: always()"));
}

#[test]
fn init_with_gitlab_uses_the_container_image() {
    let repo = Repo::new();
    repo.skconn(["init", "--ci", "gitlab"]).code(0);
    assert!(!repo.path().join(".github").exists());
    let ci = std::fs::read_to_string(repo.path().join(".gitlab-ci.yml")).unwrap();
    assert!(ci.contains(&format!(
        "name: ghcr.io/skconn/skconn:{}",
        skconn::base::build_info::VERSION
    )));
    assert!(!ci.contains("cargo "));
    assert!(ci.contains("resource_group: skconn-apply-prod"));
    // Well-formed YAML, with the jobs in skconn.yaml's order: prod's apply (either of its two
    // jobs) needs dev's, whichever of dev's two ran.
    let doc: serde_yaml::Value = serde_yaml::from_str(&ci).unwrap();
    for job in ["apply-prod", "apply-prod-unreviewed"] {
        let needs = &doc[job]["needs"];
        assert_eq!(needs[0]["job"].as_str(), Some("apply-dev"), "{job}");
        assert_eq!(
            needs[1]["job"].as_str(),
            Some("apply-dev-unreviewed"),
            "{job}"
        );
        assert_eq!(needs[0]["optional"].as_bool(), Some(true), "{job}");
    }
    assert_eq!(
        doc["apply-dev"]["needs"].as_sequence().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        doc["apply-dev"]["environment"]["name"].as_str(),
        Some("dev")
    );
    assert_eq!(doc["default"]["image"]["entrypoint"][0].as_str(), Some(""));
    // Per environment: dev planned live in its environment, prod against its snapshot with no
    // environment (so none of its variables); snapshots kept by jobs of the default branch.
    assert_eq!(
        doc["plan-dev"]["environment"]["action"].as_str(),
        Some("prepare")
    );
    assert!(doc["plan-prod"]["environment"].is_null());
    let prod_plan = serde_yaml::to_string(&doc["plan-prod"]["script"]).unwrap();
    assert!(
        prod_plan.contains("skconn plan --env prod --against snapshots/prod.snapshot.json"),
        "{prod_plan}"
    );
    assert!(
        prod_plan.contains("skconn gitlab snapshot --env prod --out-dir snapshots"),
        "{prod_plan}"
    );
    assert!(!prod_plan.contains("CLIENT"), "{prod_plan}");
    assert_eq!(
        doc["snapshot-prod"]["script"][0].as_str(),
        Some("skconn snapshot --env prod --out-dir snapshots")
    );
    repo.skconn(["validate"]).code(0);
}

#[test]
fn init_refuses_bad_environment_names_and_writes_nothing() {
    let repo = Repo::new();
    repo.skconn(["init", "--env", "dev", "--env", "dev"])
        .code(1)
        .stderr_has("named twice");
    repo.skconn(["init", "--env", "no good"])
        .code(1)
        .stderr_has("not a valid environment name");
    assert!(tree(repo.path()).is_empty());
}

// ---- completions, man page, --version ----

#[test]
fn completions_are_printed_for_every_shell() {
    let repo = Repo::new();
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef skconn"),
        ("fish", "complete -c skconn"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[skconn]"),
    ] {
        let out = repo.skconn(["completions", shell]);
        out.code(0).stdout_has(mark);
        for sub in ["validate", "plan", "apply", "init", "completions"] {
            out.stdout_has(sub);
        }
    }
    repo.skconn(["completions", "tcsh"]).code(1);
}

#[test]
fn bash_completions_are_valid_bash() {
    let repo = Repo::new();
    let out = repo.skconn(["completions", "bash"]);
    out.code(0);
    let script = repo.path().join("skconn.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let status = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn man_page_is_roff_that_describes_every_command() {
    let repo = Repo::new();
    let out = repo.skconn(["man"]);
    out.code(0)
        .stdout_has(".TH skconn 1")
        .stdout_has(".SH NAME")
        .stdout_has(".SH SYNOPSIS")
        .stdout_has(".SH DESCRIPTION");
    for sub in crate::support::command_names() {
        out.stdout_has(&format!(".SS \"skconn {sub}\""));
    }
    // Each command's own options, the exit codes, and the release's version (the same page for
    // every target, so no commit or target).
    out.stdout_has("\\-\\-detailed\\-exitcode")
        .stdout_has(".SH \"EXIT STATUS AND ENVIRONMENT\"")
        .stdout_has(&format!(
            ".TH skconn 1  \"skconn {}\"",
            skconn::base::build_info::VERSION
        ));
    // One page: one title, one set of string definitions.
    assert_eq!(out.stdout.matches(".TH ").count(), 1);
    assert_eq!(out.stdout.matches(".ie \\n(.g").count(), 1);
    // No stray control characters.
    assert!(out
        .stdout
        .chars()
        .all(|c| c == '\n' || c == '\t' || !c.is_control()));
}

#[test]
fn init_completions_and_man_need_no_settings() {
    // A broken skconn.yaml would stop any command that reads settings.
    let repo = Repo::new().file("skconn.yaml", "environments: [not, a, map\n");
    repo.skconn(["man"]).code(0);
    repo.skconn(["completions", "zsh"]).code(0);
    repo.skconn(["init", "--ci", "none"])
        .code(0)
        .stdout_has("skipped skconn.yaml");
    repo.skconn(["validate"]).code(1);
}

#[test]
fn version_names_the_commit_and_target() {
    let out = Repo::new().skconn(["--version"]);
    out.code(0);
    let line = out.stdout.trim_end();
    let expected = match skconn::base::build_info::COMMIT {
        Some(c) => format!(
            "skconn {} ({} {})",
            skconn::base::build_info::VERSION,
            &c[..7],
            skconn::base::build_info::TARGET
        ),
        None => format!(
            "skconn {} ({})",
            skconn::base::build_info::VERSION,
            skconn::base::build_info::TARGET
        ),
    };
    assert_eq!(line, expected);
    assert!(!skconn::base::build_info::TARGET.is_empty());
}

// ---- packaging ----

#[test]
fn the_action_installs_the_version_of_its_own_release() {
    let action = std::fs::read_to_string(crate_root().join("action.yml")).unwrap();
    assert!(
        action.contains(&format!(
            "default: \"{}\"",
            skconn::base::build_info::VERSION
        )),
        "action.yml's version default must be Cargo.toml's version"
    );
}

#[test]
fn the_package_holds_the_sources_readme_license_and_schema_only() {
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--locked", "--allow-dirty"])
        .current_dir(crate_root())
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let list = String::from_utf8_lossy(&out.stdout);
    let files: Vec<&str> = list.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "docs/README.md",
        "LICENSE",
        "build.rs",
        "src/main.rs",
        "src/lib.rs",
        "src/scaffold/templates/github/skconn-plan.yml",
        "schema/connector.schema.json",
    ] {
        assert!(
            files.contains(&needed),
            "the package lacks {needed}:\n{list}"
        );
    }
    for f in &files {
        assert!(
            !f.starts_with("fuzz/")
                && !f.starts_with(".skconn/")
                && !f.starts_with("target/")
                && !f.starts_with(".github/")
                && !f.starts_with(".ci/"),
            "the package holds {f}"
        );
    }
}

// ---- action.yml, its script run as a runner would run it ----

/// Runs action.yml's install step with bash and a runner's variables against `server`.
fn run_action(server: &ReleaseServer, version: &str, runner: &Path) -> Installed {
    let action = std::fs::read_to_string(crate_root().join("action.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&action).unwrap();
    assert_eq!(doc["runs"]["using"].as_str(), Some("composite"));
    let script = doc["runs"]["steps"][0]["run"].as_str().unwrap().to_string();
    let (os, arch) = (
        match std::env::consts::OS {
            "macos" => "macOS",
            _ => "Linux",
        },
        match std::env::consts::ARCH {
            "aarch64" => "ARM64",
            _ => "X64",
        },
    );
    for d in ["tool-cache", "temp", "home"] {
        std::fs::create_dir_all(runner.join(d)).unwrap();
    }
    let o = Command::new("bash")
        .args(["--noprofile", "--norc", "-e", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", runner.join("home"))
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TOOL_CACHE", runner.join("tool-cache"))
        .env("RUNNER_TEMP", runner.join("temp"))
        .env("GITHUB_PATH", runner.join("github_path"))
        .env("GITHUB_OUTPUT", runner.join("github_output"))
        .env("SKCONN_VERSION", version)
        .env("SKCONN_GITHUB_TOKEN", "ghs_action_token")
        .env("SKCONN_ACTION_PATH", crate_root())
        .env("SKCONN_DOWNLOAD_URL", &server.url)
        .output()
        .unwrap();
    Installed {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn the_action_installs_into_the_tool_cache_and_reuses_it() {
    let release = Release::build("3.4.5");
    let server = ReleaseServer::serve(release.dir.path());
    let runner = tempfile::tempdir().unwrap();
    let out = run_action(&server, "3.4.5", runner.path());
    assert_eq!(out.code, Some(0), "{out}");
    let dir = runner
        .path()
        .join("tool-cache/skconn/3.4.5")
        .join(this_target());
    assert!(dir.join("skconn").is_file(), "{out}");
    let outputs = std::fs::read_to_string(runner.path().join("github_output")).unwrap();
    assert!(outputs.contains("version=3.4.5\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("path={}\n", dir.display())),
        "{outputs}"
    );
    let path = std::fs::read_to_string(runner.path().join("github_path")).unwrap();
    assert_eq!(path, format!("{}\n", dir.display()));
    assert_eq!(server.paths().len(), 2);
    // The second run finds it in the tool cache and downloads nothing.
    let again = run_action(&server, "3.4.5", runner.path());
    assert_eq!(again.code, Some(0), "{again}");
    assert!(again.stdout.contains("in the tool cache"), "{again}");
    assert_eq!(server.paths().len(), 2);
}

#[test]
fn the_action_installs_nothing_from_a_tampered_release() {
    let release = Release::build("3.4.6");
    let mut bytes = std::fs::read(release.file(&release.asset)).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(release.file(&release.asset), bytes).unwrap();
    let server = ReleaseServer::serve(release.dir.path());
    let runner = tempfile::tempdir().unwrap();
    let out = run_action(&server, "3.4.6", runner.path());
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains(&release.asset), "{out}");
    assert!(!runner.path().join("github_path").exists());
    assert!(!runner
        .path()
        .join("tool-cache/skconn/3.4.6")
        .join(this_target())
        .join("skconn")
        .exists());
}
