//! What the build knew about itself (set by `build.rs`): the version line `skconn --version`
//! prints, the commit the binary was built from, and the target it was built for. Constants only;
//! nothing here reads the environment at run time.

/// The package version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `0.1.0 (abc1234 x86_64-unknown-linux-musl)`: the version with the commit and target when known.
pub const VERSION_LINE: &str = env!("SKCONN_VERSION_LINE");

/// The full commit the binary was built from, when the build knew it.
pub const COMMIT: Option<&str> = option_env!("SKCONN_COMMIT");

/// The Rust target triple the binary was built for.
pub const TARGET: &str = env!("SKCONN_TARGET");

/// The repository skconn is developed and released from.
pub const REPOSITORY: &str = "skconn/skconn";

/// The container image of each release, `ghcr.io/skconn/skconn:<version>`.
pub const IMAGE: &str = "ghcr.io/skconn/skconn";

/// The full commit, when it is a full 40-hex-digit SHA (what an action can be pinned by).
pub fn full_commit() -> Option<&'static str> {
    COMMIT.filter(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
}
