//! The state file on disk, shared safely between processes: an exclusive lock (a `.lock` file
//! beside it, `flock(2)`) around each read-modify-write, a change check so that a process
//! rereads what another one wrote, and writes that never leave half a file (a uniquely named
//! temporary file, fsync, rename, fsync of the folder).
//!
//! It knows nothing of connectors: `state` decides what is written.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What identifies one version of a file: a rename makes a new inode, a write changes the
/// size or the modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

/// The fingerprint of the file now (`None` when it does not exist).
pub(crate) fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    Some(Fingerprint {
        dev,
        ino,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// An exclusive lock on a state file, held until dropped. Other processes wait for it.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// The lock file beside a state file: `local.json` → `local.json.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

impl FileLock {
    /// Waits for the exclusive lock of `path`'s state file.
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(lock_path(path))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            loop {
                // SAFETY: flock on a file descriptor this function owns; no memory is shared.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
                if rc == 0 {
                    break;
                }
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
        Ok(FileLock { _file: file })
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a part:
/// a uniquely named temporary file beside it, flushed to disk, renamed over it, and the
/// folder flushed so that the rename survives a crash.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(
        ".{}.{:016x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        // Readable by its owner only: the state may hold values that came from secret variables.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
