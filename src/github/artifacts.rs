//! The snapshots the workflows keep as artifacts (`skconn-snapshot-<env>`): which artifact is
//! the latest snapshot of an environment taken on the default branch, and the one snapshot
//! file inside its zip archive.
//!
//! Pure: decides from a listing already fetched and reads an archive already downloaded. What it
//! must never do: trust an artifact uploaded by a run of another branch or of a fork (a pull
//! request can upload an artifact of that name too), or read an archive unbounded, several
//! files, a link or a path that leaves the folder.

use super::client::Artifact;
use std::io::Read;

/// The artifacts' name: `skconn-snapshot-<env>`.
pub fn artifact_name(env: &str) -> String {
    format!("skconn-snapshot-{env}")
}

/// The largest snapshot read out of an archive.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 << 20;

/// The artifacts named `name` that a run on `branch` of this repository itself uploaded and
/// that have not expired, newest first.
pub fn candidates<'a>(list: &'a [Artifact], name: &str, branch: &str) -> Vec<&'a Artifact> {
    let mut out: Vec<&Artifact> = list
        .iter()
        .filter(|a| a.name == name && !a.expired)
        .filter(|a| a.head_branch.as_deref() == Some(branch))
        // A fork's pull request runs in this repository with its head elsewhere, and its
        // branch may be called `main` too.
        .filter(|a| match (a.repository_id, a.head_repository_id) {
            (Some(r), Some(h)) => r == h,
            _ => true,
        })
        .collect();
    out.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    out
}

/// Why the runs' artifacts named `name` were passed over, for the message when none is used.
pub fn passed_over(list: &[Artifact], name: &str, branch: &str) -> Vec<String> {
    let mut why = Vec::new();
    let named: Vec<&Artifact> = list.iter().filter(|a| a.name == name).collect();
    let expired = named.iter().filter(|a| a.expired).count();
    if expired > 0 {
        why.push(format!("{expired} expired"));
    }
    let elsewhere = named
        .iter()
        .filter(|a| !a.expired && a.head_branch.as_deref() != Some(branch))
        .count();
    if elsewhere > 0 {
        why.push(format!("{elsewhere} from runs of other branches"));
    }
    let forks = named
        .iter()
        .filter(|a| {
            !a.expired
                && a.head_branch.as_deref() == Some(branch)
                && matches!((a.repository_id, a.head_repository_id), (Some(r), Some(h)) if r != h)
        })
        .count();
    if forks > 0 {
        why.push(format!("{forks} from runs of forks"));
    }
    why
}

/// The one file of a snapshot artifact's zip archive: exactly one regular file (directory
/// entries aside), a name that stays inside the folder, at most [`MAX_SNAPSHOT_BYTES`].
pub fn unzip_one(archive: &[u8]) -> Result<Vec<u8>, String> {
    unzip_bounded(archive, MAX_SNAPSHOT_BYTES)
}

fn unzip_bounded(archive: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive))
        .map_err(|e| format!("it is not a zip archive ({e})"))?;
    let mut found: Option<(usize, String)> = None;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("its entry {i} cannot be read ({e})"))?;
        let name = entry.name().to_string();
        let shown = crate::output::escape::inert(&name).into_owned();
        if entry.enclosed_name().is_none() || name.contains('\\') {
            return Err(format!(
                "it holds `{shown}`, a path that leaves the folder; skconn reads no such archive"
            ));
        }
        if entry.is_symlink() {
            return Err(format!(
                "it holds `{shown}`, a link; a snapshot is a regular file"
            ));
        }
        if entry.is_dir() {
            continue;
        }
        if let Some((_, first)) = &found {
            return Err(format!(
                "it holds more than one file (`{first}` and `{shown}`); a snapshot artifact holds one"
            ));
        }
        if entry.size() > max {
            return Err(format!(
                "its file `{shown}` is larger than {} MiB",
                max >> 20
            ));
        }
        found = Some((i, shown));
    }
    let Some((i, _)) = found else {
        return Err("it holds no file".into());
    };
    let entry = zip
        .by_index(i)
        .map_err(|e| format!("its file cannot be read ({e})"))?;
    let mut out = Vec::new();
    // The size the archive declares is not trusted: the read itself is bounded.
    entry
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("its file cannot be decompressed ({e})"))?;
    if out.len() as u64 > max {
        return Err(format!("its file is larger than {} MiB", max >> 20));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn artifact(id: u64, branch: &str, created: &str, expired: bool) -> Artifact {
        Artifact {
            id,
            name: artifact_name("prod"),
            size_in_bytes: 10,
            expired,
            created_at: Some(created.into()),
            run_id: Some(id * 10),
            head_branch: Some(branch.into()),
            head_sha: None,
            repository_id: Some(1),
            head_repository_id: Some(1),
        }
    }

    #[test]
    fn the_newest_unexpired_artifact_of_the_default_branch_is_chosen() {
        let mut fork = artifact(5, "main", "2026-01-05T00:00:00Z", false);
        fork.head_repository_id = Some(2);
        let list = [
            artifact(1, "main", "2026-01-01T00:00:00Z", false),
            artifact(2, "feature", "2026-01-04T00:00:00Z", false),
            artifact(3, "main", "2026-01-03T00:00:00Z", true),
            artifact(4, "main", "2026-01-02T00:00:00Z", false),
            fork,
        ];
        let c = candidates(&list, &artifact_name("prod"), "main");
        assert_eq!(c.iter().map(|a| a.id).collect::<Vec<_>>(), [4, 1]);
        assert!(candidates(&list, &artifact_name("dev"), "main").is_empty());
        assert_eq!(
            passed_over(&list, &artifact_name("prod"), "main"),
            [
                "1 expired",
                "1 from runs of other branches",
                "1 from runs of forks"
            ]
        );
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, opts).unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn one_regular_file_is_read_and_anything_else_refused() {
        let ok = zip_of(&[("prod.snapshot.json", b"{\"a\": 1}")]);
        assert_eq!(unzip_one(&ok).unwrap(), b"{\"a\": 1}");
        let with_dir = zip_of(&[("snap/", b""), ("snap/prod.snapshot.json", b"{}")]);
        assert_eq!(unzip_one(&with_dir).unwrap(), b"{}");
        let two = zip_of(&[("a.json", b"{}"), ("b.json", b"{}")]);
        assert!(unzip_one(&two).unwrap_err().contains("more than one file"));
        let up = zip_of(&[("../prod.snapshot.json", b"{}")]);
        assert!(unzip_one(&up).unwrap_err().contains("leaves the folder"));
        assert!(unzip_one(b"not a zip").unwrap_err().contains("not a zip"));
        assert!(unzip_one(&zip_of(&[])).unwrap_err().contains("no file"));
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.add_symlink(
            "prod.snapshot.json",
            "/etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let link = w.finish().unwrap().into_inner();
        assert!(unzip_one(&link).unwrap_err().contains("a link"));
    }

    #[test]
    fn a_file_over_the_bound_is_refused() {
        let big = vec![b' '; 3 << 20];
        let bomb = zip_of(&[("prod.snapshot.json", &big)]);
        assert!(bomb.len() < 64 << 10, "deflate packs spaces tightly");
        assert!(unzip_bounded(&bomb, 1 << 20)
            .unwrap_err()
            .contains("larger than 1 MiB"));
        assert_eq!(unzip_bounded(&bomb, 4 << 20).unwrap().len(), 3 << 20);
    }
}
