//! Finding and reading `skconn.yaml`: discovery from the working directory upward to the
//! repository root, and the same guards as connector files (size, depth, aliases). It only
//! reads; `settings` interprets what it finds.

use crate::base::error::{Diagnostic, Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The names a configuration file may have, in order of preference.
pub const NAMES: &[&str] = &["skconn.yaml", "skconn.yml"];

/// The largest configuration file read (as for connector files).
pub const MAX_BYTES: u64 = crate::yaml::MAX_FILE_BYTES;

/// The configuration file for the working directory: `skconn.yaml` (or `skconn.yml`) in it or
/// in a folder above it, up to the repository root (the nearest folder holding `.git`).
/// Outside a repository only the working directory is looked at.
pub fn discover() -> Result<Option<PathBuf>> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working directory", e))?;
    Ok(discover_from(&cwd).map(|found| as_seen_from(&cwd, found)))
}

/// A file found in `cwd` or a folder above it, as users name it from `cwd`: `skconn.yaml`,
/// `../skconn.yaml`, so that messages point at it the way the user would.
fn as_seen_from(cwd: &Path, found: PathBuf) -> PathBuf {
    let (Some(dir), Some(name)) = (found.parent(), found.file_name()) else {
        return found;
    };
    let Ok(below) = cwd.strip_prefix(dir) else {
        return found;
    };
    let mut rel: PathBuf = below.components().map(|_| "..").collect();
    rel.push(name);
    rel
}

/// [`discover`] from a given folder.
pub fn discover_from(start: &Path) -> Option<PathBuf> {
    let in_repo = start.ancestors().any(|d| d.join(".git").exists());
    for dir in start.ancestors() {
        if let Some(found) = in_dir(dir) {
            return Some(found);
        }
        if !in_repo || dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Where [`discover_from`] looks, in words: `start`, and in a repository each folder above it
/// up to the repository root.
pub fn searched(start: &Path) -> String {
    let top = start.ancestors().find(|d| d.join(".git").exists());
    match top {
        Some(top) if top != start => format!(
            "{} or any folder above it up to the repository root {}",
            start.display(),
            top.display()
        ),
        _ => start.display().to_string(),
    }
}

fn in_dir(dir: &Path) -> Option<PathBuf> {
    let found: Vec<PathBuf> = NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect();
    if found.len() > 1 {
        tracing::warn!(
            "both {} and {} exist; using {}",
            found[0].display(),
            found[1].display(),
            found[0].display()
        );
    }
    found.into_iter().next()
}

/// Why a configuration file was not read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// Read, but refused (too large, not UTF-8).
    Refused(Diagnostic),
}

/// Reads a configuration file of at most [`MAX_BYTES`], refusing larger ones before reading
/// them whole.
pub fn read(path: &Path) -> std::result::Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(ReadError::Refused(
            Diagnostic::new(
                path,
                format!("the configuration file is larger than 1 MiB ({MAX_BYTES} bytes)"),
            )
            .help("a skconn.yaml needs a few lines per environment: check that this is the right file"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Refused(
            Diagnostic::new(
                path,
                format!(
                    "the configuration file is not UTF-8 (byte {} is invalid)",
                    e.utf8_error().valid_up_to() + 1
                ),
            )
            .help("save the file as UTF-8"),
        )
    })
}

/// The configuration file's text read with the guards of connector files: the document, the
/// text positions are found in, and the problems (duplicate keys, tabs) that still leave the
/// document to check. `Err` for the problems that leave nothing to check.
pub(crate) fn parse<'t>(
    path: &Path,
    text: &'t str,
) -> std::result::Result<crate::yaml::read::Read<'t>, Vec<Diagnostic>> {
    crate::yaml::read_yaml(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_file_is_named_as_seen_from_the_working_directory() {
        let cwd = Path::new("/r/connectors/team");
        assert_eq!(
            as_seen_from(cwd, PathBuf::from("/r/skconn.yaml")),
            Path::new("../../skconn.yaml")
        );
        assert_eq!(
            as_seen_from(Path::new("/r"), PathBuf::from("/r/skconn.yml")),
            Path::new("skconn.yml")
        );
    }

    #[test]
    fn discovery_goes_up_to_the_repository_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let deep = root.join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        // Above the repository root: never used.
        std::fs::write(dir.path().join("skconn.yaml"), "x").unwrap();
        assert_eq!(discover_from(&deep), None);
        std::fs::write(root.join("skconn.yml"), "x").unwrap();
        assert_eq!(discover_from(&deep), Some(root.join("skconn.yml")));
        std::fs::write(root.join("a").join("skconn.yaml"), "x").unwrap();
        assert_eq!(
            discover_from(&deep),
            Some(root.join("a").join("skconn.yaml"))
        );
        // Outside a repository: the working directory only.
        let lone = dir.path().join("lone").join("sub");
        std::fs::create_dir_all(&lone).unwrap();
        std::fs::write(dir.path().join("lone").join("skconn.yaml"), "x").unwrap();
        assert_eq!(discover_from(&lone), None);
    }
}
