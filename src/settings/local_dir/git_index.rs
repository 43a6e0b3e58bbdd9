//! Which paths git tracks, read from the index file itself (`.git/index`, versions 2 to 4, SHA-1
//! or SHA-256 object names, a split index's shared part included), never by running git: a
//! repository's own configuration (`core.fsmonitor`, hooks, aliases) can make git run
//! commands, and the repository is what skconn must not trust.
//!
//! What it must never do: run a program, or read anything but the `.git` entry, the index
//! files it names and the worktree link.

use std::path::{Path, PathBuf};

/// The largest index file read (a repository of a million files has an index of about 100 MB).
const MAX_INDEX_BYTES: u64 = 512 << 20;

/// The repository whose work tree holds `dir`: the nearest folder at or above it with a `.git`
/// entry, and its git folder (`.git` itself, or the folder a `.git` file names with
/// `gitdir: PATH`, as worktrees and submodules have). `None` outside a repository.
pub(super) fn repository(dir: &Path) -> Option<Result<(PathBuf, PathBuf), String>> {
    let top = dir
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())?;
    let dot_git = top.join(".git");
    if dot_git.is_dir() {
        return Some(Ok((top.to_path_buf(), dot_git)));
    }
    let text = match std::fs::read_to_string(&dot_git) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("cannot read {}: {e}", dot_git.display()))),
    };
    let Some(target) = text
        .trim_start_matches('\u{feff}')
        .trim()
        .strip_prefix("gitdir:")
    else {
        return Some(Err(format!(
            "{} is neither a folder nor a `gitdir:` link",
            dot_git.display()
        )));
    };
    let git_dir = top.join(target.trim());
    Some(Ok((top.to_path_buf(), git_dir)))
}

/// The paths the index of `git_dir` lists under the folder `prefix` (relative to the work tree
/// top, `/`-separated), compared without regard to ASCII case (as a case-insensitive file
/// system would). A missing index lists nothing (a repository with nothing added yet).
pub(super) fn tracked_under(git_dir: &Path, prefix: &str) -> Result<Vec<String>, String> {
    let index = git_dir.join("index");
    let bytes = match read_capped(&index) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", index.display())),
    };
    let parsed = parse(&bytes).map_err(|e| format!("cannot read {}: {e}", index.display()))?;
    let mut paths = parsed.paths;
    if let Some(shared) = parsed.shared {
        // A split index: the entries that stay the same are in a shared file. Its entries are
        // all counted (also those the split part deletes): that only ever refuses more.
        let file = git_dir.join(format!("sharedindex.{shared}"));
        let bytes =
            read_capped(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let more = parse(&bytes).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        paths.extend(more.paths);
    }
    let mut folder = prefix.trim_end_matches('/').as_bytes().to_vec();
    folder.push(b'/');
    let mut out: Vec<String> = paths
        .into_iter()
        .filter(|p| {
            starts_with_ignore_case(p, &folder)
                // A sparse index keeps a folder outside the sparse cone as one entry `dir/`.
                || (p.ends_with(b"/") && starts_with_ignore_case(&folder, p))
        })
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_INDEX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_INDEX_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// What an index file holds, as far as skconn reads it.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    paths: Vec<Vec<u8>>,
    /// The object name (hex) of the shared index, for a split index.
    shared: Option<String>,
}

/// Reads an index with SHA-1 object names, else with SHA-256 ones: only the right length
/// reads to the end with every entry's name length, padding and the extensions in place.
fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    match parse_with(bytes, 20) {
        Ok(p) => Ok(p),
        Err(sha1) => parse_with(bytes, 32).map_err(|_| sha1),
    }
}

fn parse_with(b: &[u8], hash: usize) -> Result<Parsed, String> {
    let mut r = Reader { b, pos: 0 };
    if r.take(4)? != b"DIRC" {
        return Err("not a git index (no DIRC signature)".into());
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return Err(format!(
            "index version {version} is not one skconn reads (2 to 4)"
        ));
    }
    let count = r.u32()? as usize;
    let mut paths: Vec<Vec<u8>> = Vec::with_capacity(count.min(1 << 20));
    let mut previous: Vec<u8> = Vec::new();
    for n in 0..count {
        let start = r.pos;
        // ctime, mtime (8 bytes each), dev, ino, mode, uid, gid, size (4 each), object name.
        r.take(40 + hash)?;
        let flags = r.u16()?;
        if version >= 3 && flags & 0x4000 != 0 {
            r.u16()?;
        }
        let name_len = usize::from(flags & 0x0fff);
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous
                .len()
                .checked_sub(strip)
                .ok_or_else(|| format!("entry {n}: its path strips more than the one before"))?;
            let mut p = previous[..keep].to_vec();
            p.extend_from_slice(r.until_nul()?);
            p
        } else {
            let p = r.until_nul()?.to_vec();
            // The entry is padded with 1 to 8 NULs (the first ended the name) to 8 bytes.
            let used = r.pos - start;
            let padded = (used + 7) & !7;
            let pad = r.take(padded - used)?;
            if pad.iter().any(|&x| x != 0) {
                return Err(format!(
                    "entry {n}: the padding after its path is not zeros"
                ));
            }
            p
        };
        if name_len < 0x0fff && name_len != path.len() {
            return Err(format!(
                "entry {n}: its path length does not match its flags"
            ));
        }
        previous.clone_from(&path);
        paths.push(path);
    }
    // Extensions, then the checksum (one object name long).
    let mut shared = None;
    while b.len() - r.pos > hash {
        let signature = r.take(4)?.to_vec();
        let size = r.u32()? as usize;
        let data = r.take(size)?;
        if signature == b"link" {
            let name = data
                .get(..hash)
                .ok_or("the split-index extension is cut short")?;
            if name.iter().any(|&x| x != 0) {
                shared = Some(crate::base::hex::hex(name));
            }
        }
    }
    if b.len() - r.pos != hash {
        return Err("the file does not end with its checksum".into());
    }
    Ok(Parsed { paths, shared })
}

struct Reader<'b> {
    b: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or("the file is cut short")?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// The bytes up to the next NUL, which is consumed.
    fn until_nul(&mut self) -> Result<&'b [u8], String> {
        let rest = &self.b[self.pos..];
        let end = rest
            .iter()
            .position(|&x| x == 0)
            .ok_or("a path is not terminated")?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// Git's offset varint: 7 bits a byte, high bit set on all but the last, each
    /// continuation adding one (so every number has one spelling).
    fn varint(&mut self) -> Result<usize, String> {
        let mut c = self.take(1)?[0];
        let mut value = usize::from(c & 0x7f);
        while c & 0x80 != 0 {
            value = value
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .ok_or("a path prefix length is too large")?;
            c = self.take(1)?[0];
            value += usize::from(c & 0x7f);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of these paths, written as git writes it.
    fn index(version: u32, hash: usize, paths: &[&str], extended: &[bool]) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend(version.to_be_bytes());
        b.extend((paths.len() as u32).to_be_bytes());
        let mut previous = "";
        for (i, path) in paths.iter().enumerate() {
            let start = b.len();
            b.extend(std::iter::repeat_n(7u8, 40 + hash));
            let ext = extended.get(i).copied().unwrap_or(false);
            let flags = (path.len().min(0xfff) as u16) | if ext { 0x4000 } else { 0 };
            b.extend(flags.to_be_bytes());
            if ext {
                b.extend(0x2000u16.to_be_bytes());
            }
            if version == 4 {
                let common = previous
                    .bytes()
                    .zip(path.bytes())
                    .take_while(|(a, c)| a == c)
                    .count();
                let strip = previous.len() - common;
                b.extend(encode_varint(strip));
                b.extend(&path.as_bytes()[common..]);
                b.push(0);
            } else {
                b.extend(path.as_bytes());
                let used = b.len() - start;
                let padded = (used + 8) & !7;
                b.extend(std::iter::repeat_n(0u8, padded - used));
            }
            previous = path;
        }
        b.extend(b"TREE");
        b.extend(3u32.to_be_bytes());
        b.extend(b"abc");
        b.extend(std::iter::repeat_n(9u8, hash));
        b
    }

    fn encode_varint(mut v: usize) -> Vec<u8> {
        let mut out = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            v -= 1;
            out.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        out.reverse();
        out
    }

    const PATHS: &[&str] = &[
        ".skconn/forced.json",
        ".skconn/local.json",
        "connectors/asana.yaml",
        "infra/.SKCONN/plan.key",
        "skconn.yaml",
    ];

    #[test]
    fn every_version_and_object_format_reads_the_same_paths() {
        for version in [2, 3, 4] {
            for hash in [20, 32] {
                let ext = [false, version >= 3, false, version >= 3, false];
                let parsed = parse(&index(version, hash, PATHS, &ext)).unwrap();
                let got: Vec<String> = parsed
                    .paths
                    .iter()
                    .map(|p| String::from_utf8(p.clone()).unwrap())
                    .collect();
                assert_eq!(got, PATHS, "version {version}, hash {hash}");
            }
        }
        // Long prefixes compress across several varint bytes.
        let long = format!("{}/a", "d".repeat(300));
        let other = format!("{}/b", "e".repeat(10));
        let parsed = parse(&index(4, 20, &[&long, &other], &[])).unwrap();
        assert_eq!(parsed.paths[1], other.as_bytes());
    }

    #[test]
    fn a_damaged_or_unknown_index_is_an_error_not_an_empty_list() {
        let good = index(2, 20, PATHS, &[]);
        assert!(parse(&good[..good.len() - 30]).is_err());
        let mut v5 = good.clone();
        v5[7] = 5;
        assert!(parse(&v5).unwrap_err().contains("version 5"));
        assert!(parse(b"XXXX").is_err());
    }

    #[test]
    fn paths_under_a_folder_are_found_without_regard_to_case() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index"), index(4, 20, PATHS, &[])).unwrap();
        assert_eq!(
            tracked_under(dir.path(), ".skconn").unwrap(),
            [".skconn/forced.json", ".skconn/local.json"]
        );
        assert_eq!(
            tracked_under(dir.path(), "infra/.skconn").unwrap(),
            ["infra/.SKCONN/plan.key"]
        );
        assert!(tracked_under(dir.path(), "connectors/a")
            .unwrap()
            .is_empty());
        std::fs::write(dir.path().join("index"), index(2, 20, &["infra/"], &[])).unwrap();
        assert_eq!(
            tracked_under(dir.path(), "infra/.skconn").unwrap(),
            ["infra/"]
        );
        std::fs::remove_file(dir.path().join("index")).unwrap();
        assert!(tracked_under(dir.path(), ".skconn").unwrap().is_empty());
    }
}
