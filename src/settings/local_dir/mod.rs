//! `.skconn/`, the folder of local state (the local environment's connectors, the key of saved
//! plans, the record of an unfinished forced apply): created readable by its owner only (0700,
//! files 0600) and holding a `.gitignore` of `*`, so that nothing in it is committed by accident.
//!
//! Nothing in it is taken from the repository: before each use ([`check`]) it is refused when
//! it, or any folder between it and the repository root, is a symbolic link, when it holds a
//! symbolic link, and when git tracks any file in it (read from the index, see `git_index`; an
//! index that cannot be read refuses too, since what it would say is unknown). Its files are
//! opened without following links (`O_NOFOLLOW`).
//!
//! What it must never do: write, chmod or read anything outside the repository through a link,
//! or run git.

mod git_index;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why `dir` may not be used as `.skconn/`, if it may not. Nothing is created or changed.
pub fn check(dir: &Path) -> std::io::Result<()> {
    let refused = |m: String| std::io::Error::other(m);
    let dir = std::path::absolute(dir)?;
    let repo = git_index::repository(dir.parent().unwrap_or(&dir));
    let top = match &repo {
        Some(Ok((top, _))) => Some(top.clone()),
        _ => None,
    };
    // Every folder from the one below the repository root down to `dir` (only `dir` outside a
    // repository) must be a real folder.
    for d in dir.ancestors() {
        if top.as_deref() == Some(d) {
            break;
        }
        if std::fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused(format!(
                "{} is a symbolic link: skconn keeps its local state only in a real folder inside the repository; remove the link (and its entry in git)",
                d.display()
            )));
        }
        if top.is_none() {
            break;
        }
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(()); // not there yet: nothing in it to refuse
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            return Err(refused(format!(
                "{} is a symbolic link: skconn writes and reads only real files in {}; remove it",
                entry.path().display(),
                dir.display()
            )));
        }
    }
    let Some(repo) = repo else { return Ok(()) };
    let (top, git_dir) = repo.map_err(|e| {
        refused(format!(
            "cannot tell whether git tracks files in {}: {e}; skconn uses it only when it knows git tracks none",
            dir.display()
        ))
    })?;
    let prefix: Vec<String> = dir
        .strip_prefix(&top)
        .unwrap_or(&dir)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let tracked = git_index::tracked_under(&git_dir, &prefix.join("/")).map_err(|e| {
        refused(format!(
            "cannot tell whether git tracks files in {}: {e}; skconn uses it only when it knows git tracks none",
            dir.display()
        ))
    })?;
    if tracked.is_empty() {
        return Ok(());
    }
    let list = tracked.join(", ");
    Err(refused(format!(
        "{list} {} tracked by git: skconn keeps only this machine's state in {} and trusts no file committed there; remove {} from git (`git rm -r --cached {}`) and commit that",
        if tracked.len() == 1 { "is" } else { "are" },
        dir.display(),
        if tracked.len() == 1 { "it" } else { "them" },
        prefix.join("/"),
    )))
}

/// Creates `dir` (and its `.gitignore`) if needed, and makes it private to its owner; refused
/// as [`check`] says.
pub fn ensure(dir: &Path) -> std::io::Result<()> {
    check(dir)?;
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let ignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        write_private(&ignore, b"*\n")?;
    }
    Ok(())
}

/// Opening options that never follow a link at the file itself.
fn no_follow(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
    #[cfg(not(unix))]
    let _ = options;
}

/// Writes a file readable and writable by its owner only (0600), never through a link.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    no_follow(&mut options);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Reads a file of `.skconn/`, never through a link.
pub fn read_private(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    let mut bytes = Vec::new();
    options.open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The key that keys saved plans' fingerprints of local environments: 32 random bytes kept in
/// `.skconn/plan.key`, made on first use.
pub fn plan_key(dir: &Path) -> std::io::Result<Vec<u8>> {
    ensure(dir)?;
    let path: PathBuf = dir.join("plan.key");
    match read_private(&path) {
        Ok(k) if k.len() >= 32 => Ok(k),
        _ => {
            let key = random_bytes::<32>()?.to_vec();
            write_private(&path, &key)?;
            Ok(key)
        }
    }
}

/// Bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b)
}
