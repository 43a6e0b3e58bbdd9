//! `.skconn/`, the folder of local state (the local environment's connectors, the key of saved
//! plans): created readable by its owner only (0700, files 0600) and holding a `.gitignore` of
//! `*`, so that nothing in it is committed by accident.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates `dir` (and its `.gitignore`) if needed, and makes it private to its owner.
pub fn ensure(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write_private(&ignore, b"*\n")?;
    }
    Ok(())
}

/// Writes a file readable and writable by its owner only (0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The key that keys saved plans' fingerprints of local environments: 32 random bytes kept in
/// `.skconn/plan.key`, made on first use.
pub fn plan_key(dir: &Path) -> std::io::Result<Vec<u8>> {
    ensure(dir)?;
    let path: PathBuf = dir.join("plan.key");
    match std::fs::read(&path) {
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
