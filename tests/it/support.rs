//! Test support: a builder for a repository of connector files, the emulators it talks to, and
//! the real `skconn` binary run against them.
//!
//! ```ignore
//! let dev = emulator();
//! let repo = Repo::examples().env("dev", &dev, "managed");
//! repo.skconn(["apply", "--auto-approve"]).code(0).stdout_has("Plan: 8 to create");
//! assert_eq!(dev.connectors().len(), 8);
//! ```

#![allow(dead_code)]

use skconn::emulator::{Config, Emulator};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's root (where `connectors/` and `tests/fixtures/` are).
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How many example connectors `connectors/` holds.
pub fn example_count() -> usize {
    std::fs::read_dir(crate_root().join("connectors"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
        })
        .count()
}

/// An emulator on a loopback port with a small page size, so that listing always paginates.
pub fn emulator() -> Emulator {
    emulator_with(|_| {})
}

pub fn emulator_with(f: impl FnOnce(&mut Config)) -> Emulator {
    let mut config = Config {
        max_page_size: 3,
        client_secret: format!("test-secret-{:016x}", fastrand::u64(..)),
        ..Config::default()
    };
    f(&mut config);
    Emulator::spawn(config).expect("the emulator starts")
}

/// A temporary repository: connector files, skconn.yaml, and the variables its `${VAR}`s need.
pub struct Repo {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
    vars: Vec<(String, String)>,
    extra_config: String,
}

impl Repo {
    /// An empty repository (no connectors/ folder).
    pub fn new() -> Repo {
        Repo {
            dir: tempfile::tempdir().expect("temp dir"),
            envs: Vec::new(),
            vars: Vec::new(),
            extra_config: String::new(),
        }
    }

    /// A repository holding a copy of the example connectors.
    pub fn examples() -> Repo {
        let repo = Repo::new();
        copy_dir(
            &crate_root().join("connectors"),
            &repo.path().join("connectors"),
        );
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (relative to the repository root), creating folders.
    pub fn file(self, rel: &str, text: impl AsRef<[u8]>) -> Repo {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// Writes `connectors/<name>`.
    pub fn connector(self, name: &str, yaml: impl AsRef<[u8]>) -> Repo {
        self.file(&format!("connectors/{name}"), yaml)
    }

    pub fn remove(self, rel: &str) -> Repo {
        std::fs::remove_file(self.path().join(rel)).unwrap();
        self
    }

    /// Edits a file in place.
    pub fn edit(self, rel: &str, f: impl FnOnce(String) -> String) -> Repo {
        let p = self.path().join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, f(text)).unwrap();
        self
    }

    /// Adds an environment pointing at `emu`, with its credentials passed as `${VAR}`s.
    pub fn env(mut self, name: &str, emu: &Emulator, prune: &str) -> Repo {
        let up = name.to_uppercase();
        self.vars.push((format!("SK_{up}_URL"), emu.url()));
        self.vars
            .push((format!("SK_{up}_ID"), emu.client_id().to_string()));
        self.vars
            .push((format!("SK_{up}_SECRET"), emu.client_secret().to_string()));
        self.envs.push((
            name.to_string(),
            format!(
                "  {name}:\n    url: ${{SK_{up}_URL}}\n    client_id: ${{SK_{up}_ID}}\n    client_secret: ${{SK_{up}_SECRET}}\n    prune: {prune}\n"
            ),
        ));
        self.write_config()
    }

    /// Adds lines at the end of skconn.yaml (top-level keys such as `owner:`).
    pub fn config(mut self, extra: &str) -> Repo {
        self.extra_config.push_str(extra);
        self.write_config()
    }

    /// Removes a variable set for the skconn process.
    pub fn unset(mut self, k: &str) -> Repo {
        self.vars.retain(|(n, _)| n != k);
        self
    }

    /// Sets a variable for the skconn process.
    pub fn var(mut self, k: &str, v: &str) -> Repo {
        self.vars.push((k.into(), v.into()));
        self
    }

    fn write_config(self) -> Repo {
        let mut text = String::new();
        if !self.envs.is_empty() {
            text.push_str("environments:\n");
        }
        for (_, block) in &self.envs {
            text.push_str(block);
        }
        text.push_str(&self.extra_config);
        let p = self.path().join("skconn.yaml");
        std::fs::write(p, text).unwrap();
        self
    }

    /// A command line for the real binary, run in the repository with a clean environment.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new(env!("CARGO_BIN_EXE_skconn"));
        c.current_dir(self.path()).args(args).env_clear();
        for keep in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(v) = std::env::var(keep) {
                c.env(keep, v);
            }
        }
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.stdin(std::process::Stdio::null());
        Cmd(c)
    }

    /// Runs the binary and returns its output.
    pub fn skconn<I, S>(&self, args: I) -> Out
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd(args).run()
    }
}

pub struct Cmd(pub Command);

impl Cmd {
    pub fn env(mut self, k: &str, v: &str) -> Cmd {
        self.0.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: &str) -> Cmd {
        self.0.env_remove(k);
        self
    }

    pub fn run(mut self) -> Out {
        let o = self.0.output().expect("skconn runs");
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// What a run of skconn printed and returned; the assertions read like a spec.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Out {
        assert_eq!(self.code, Some(expected), "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Out {
        assert!(self.stdout.contains(s), "stdout lacks {s:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, s: &str) -> &Out {
        assert!(!self.stdout.contains(s), "stdout has {s:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Out {
        assert!(self.stderr.contains(s), "stderr lacks {s:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, s: &str) -> &Out {
        assert!(!self.stderr.contains(s), "stderr has {s:?}\n{self}");
        self
    }

    /// Everything printed, both streams.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Where creates, updates and deletes go (faults on POST alone would also hit the token
/// endpoint).
pub const WRITES: &str = "/api/v1/custom-providers";

/// A small valid BEARER connector file named `name`.
pub fn bearer(name: &str) -> String {
    format!(
        "display_name: {name}\ndescription: {name} API\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        label: Token\n        input_type: password\n"
    )
}

/// A repository whose one environment `dev` is `emu`, with `n` connectors `Conn 00`, `Conn 01`…
pub fn repo_with(n: usize, emu: &Emulator, prune: &str) -> Repo {
    let mut repo = Repo::new().env("dev", emu, prune);
    for i in 0..n {
        repo = repo.connector(&format!("c{i:02}.yaml"), bearer(&format!("Conn {i:02}")));
    }
    repo
}

/// The display names the emulator holds, in its order.
pub fn names(emu: &Emulator) -> Vec<String> {
    emu.connectors()
        .iter()
        .map(|c| c["display_name"].as_str().unwrap().to_string())
        .collect()
}

/// How many writes (requests other than GET to the API) the emulator received.
pub fn api_writes(emu: &Emulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .count()
}

/// The names of skconn's commands, from its command-line definition (so a new command is
/// covered by every test that walks them).
pub fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    skconn::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Replaces plan digests (64 lowercase hex digits), keyed digests and the 12-digit short form
/// after "plan digest `" with `<digest>`: they depend on server-made identifiers.
pub fn redact_digests(text: &str) -> String {
    let is_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| is_hex(**c)).count();
        let bounded = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let short = run == 12 && out.ends_with("plan digest `");
        if bounded && (run == 64 || short) {
            out.push_str("<digest>");
            i += run;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}
