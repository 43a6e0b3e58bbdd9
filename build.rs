//! Build facts for `skconn --version` and for the workflows `skconn init` writes: the commit the
//! binary was built from and the target it was built for.
//!
//! The commit comes from, in order: `SKCONN_BUILD_COMMIT` (the release workflow sets it to the
//! tagged commit), `git rev-parse HEAD` when the crate is a git checkout, the `.cargo_vcs_info.json`
//! cargo writes into a published package, or nowhere (then `--version` omits it).
//!
//! To keep development builds incremental, this script reruns only when `SKCONN_BUILD_COMMIT`
//! changes or git's `HEAD` file does (a checkout or a branch switch), not on every commit: a
//! development binary may name a commit a little older than the one checked out.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SKCONN_BUILD_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let target = std::env::var("TARGET").unwrap_or_default();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();

    let commit = from_env()
        .or_else(|| from_git(&manifest_dir))
        .or_else(|| from_vcs_info(&manifest_dir));
    let short = commit.as_deref().map(|c| &c[..c.len().min(7)]);
    let line = match (short, target.is_empty()) {
        (Some(c), false) => format!("{version} ({c} {target})"),
        (Some(c), true) => format!("{version} ({c})"),
        (None, false) => format!("{version} ({target})"),
        (None, true) => version,
    };
    println!("cargo:rustc-env=SKCONN_VERSION_LINE={line}");
    println!("cargo:rustc-env=SKCONN_TARGET={target}");
    if let Some(c) = commit {
        println!("cargo:rustc-env=SKCONN_COMMIT={c}");
    }
}

fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn from_env() -> Option<String> {
    let c = std::env::var("SKCONN_BUILD_COMMIT").ok()?;
    let c = c.trim().to_ascii_lowercase();
    (c.len() >= 7 && c.bytes().all(|b| b.is_ascii_hexdigit())).then_some(c)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The commit of the checkout, only when the crate is the top of that checkout (not a crate
/// vendored into somebody else's repository).
fn from_git(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = std::fs::canonicalize(&top).ok()? == std::fs::canonicalize(dir).ok()?;
    if !same {
        return None;
    }
    if let Some(head) = git(dir, &["rev-parse", "--git-path", "HEAD"]) {
        let head = if Path::new(&head).is_absolute() {
            PathBuf::from(head)
        } else {
            dir.join(head)
        };
        // Only a file that exists: cargo reruns the script every time for a missing one.
        if head.exists() {
            println!("cargo:rerun-if-changed={}", head.display());
        }
    }
    git(dir, &["rev-parse", "HEAD"]).filter(|c| is_full_sha(c))
}

/// `cargo package` records the commit it packaged in `.cargo_vcs_info.json`.
fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let at = text.find("\"sha1\"")?;
    let rest = &text[at + 6..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    let sha = &rest[start..start + len];
    is_full_sha(sha).then(|| sha.to_ascii_lowercase())
}
