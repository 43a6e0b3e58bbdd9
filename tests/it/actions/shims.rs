//! The actions a workflow's `uses:` steps may name, done here as those actions do them:
//!
//! - `actions/checkout`: copies the test's repository into the job's workspace; it requires
//!   `persist-credentials: false` (so no token is left in `.git/config`);
//! - skconn's own action (`skconn/skconn@…`): puts the skconn binary under test on `PATH`;
//! - `actions/upload-artifact`: zips the files (deflate) into the fake GitHub's artifacts of the
//!   run, with `name`, `path` (lines, globs, `!` exclusions), `if-no-files-found`,
//!   `retention-days`, `overwrite`, `include-hidden-files`, `compression-level`;
//! - `actions/download-artifact`: unzips this run's artifacts, by `name` or `pattern`, with
//!   `merge-multiple` and `path`.
//!
//! Any other action, or an input these actions have that the shims do not do, panics. A pin
//! (`@` a commit SHA or a tag) is accepted as it is.

use crate::fake_github::FakeGithub;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// What a shim can reach.
pub struct ShimContext<'a> {
    pub github: &'a FakeGithub,
    /// The repository `actions/checkout` copies.
    pub repo: Option<&'a Path>,
    pub skconn: &'a Path,
    pub workspace: &'a Path,
    pub home: &'a Path,
    pub tools: &'a Path,
    pub run_id: u64,
    pub head_branch: &'a str,
    pub head_sha: &'a str,
    pub place: &'a str,
    /// Folders to put first on `PATH` for the later steps.
    pub added_paths: Vec<String>,
    pub warnings: Vec<String>,
}

type Outputs = BTreeMap<String, String>;

fn only(with: &BTreeMap<String, String>, known: &[&str], action: &str, place: &str) {
    for k in with.keys() {
        if !known.contains(&k.as_str()) {
            panic!("{place}: the test runner's {action} does not take `{k}`");
        }
    }
}

/// Runs the action `uses` names; `Err` is the step failing with that message.
pub fn run(
    uses: &str,
    with: &BTreeMap<String, String>,
    cx: &mut ShimContext,
) -> Result<Outputs, String> {
    let place = cx.place;
    if uses.starts_with("./") || uses.starts_with("docker://") {
        panic!("{place}: the test runner does not run local or docker actions ({uses})");
    }
    let Some((action, _pin)) = uses.split_once('@') else {
        panic!("{place}: `{uses}` has no `@` pin");
    };
    match action {
        "actions/checkout" => checkout(with, cx),
        "actions/upload-artifact" => upload(with, cx),
        "actions/download-artifact" => download(with, cx),
        a if a == skconn::base::build_info::REPOSITORY => install_skconn(with, cx),
        other => panic!("{place}: the test runner has no shim for the action {other}"),
    }
}

fn checkout(with: &BTreeMap<String, String>, cx: &mut ShimContext) -> Result<Outputs, String> {
    only(with, &["persist-credentials"], "actions/checkout", cx.place);
    if with.get("persist-credentials").map(String::as_str) != Some("false") {
        panic!(
            "{}: actions/checkout without `persist-credentials: false` leaves the job's token in .git/config",
            cx.place
        );
    }
    let repo = cx
        .repo
        .unwrap_or_else(|| panic!("{}: checkout, but Runner::repo was not given", cx.place));
    for entry in std::fs::read_dir(cx.workspace).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    crate::support::copy_dir(repo, cx.workspace);
    Ok(Outputs::new())
}

fn install_skconn(
    with: &BTreeMap<String, String>,
    cx: &mut ShimContext,
) -> Result<Outputs, String> {
    only(
        with,
        &["version", "github-token"],
        "skconn action",
        cx.place,
    );
    let dir = cx.tools.join("skconn");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("skconn");
    if !link.exists() {
        std::os::unix::fs::symlink(cx.skconn, &link).unwrap();
    }
    cx.added_paths.push(dir.display().to_string());
    Ok(Outputs::from([
        (
            "version".to_string(),
            skconn::base::build_info::VERSION.to_string(),
        ),
        ("path".to_string(), dir.display().to_string()),
    ]))
}

/// `~` and relative paths, as the artifact actions resolve them.
fn resolve(path: &str, cx: &ShimContext) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => cx.home.join(rest),
        None if path == "~" => cx.home.to_path_buf(),
        None => cx.workspace.join(path),
    }
}

/// Whether `name` matches the glob `pattern` (`*` and `?` within a segment, `**` across).
fn glob_match(pattern: &str, name: &str, place: &str) -> bool {
    if pattern.contains(['[', '{']) {
        panic!("{place}: the test runner does not match `[` or `{{` in `{pattern}`");
    }
    fn seg(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => seg(&p[1..], s) || (!s.is_empty() && seg(p, &s[1..])),
            (Some('?'), Some(_)) => seg(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn parts(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => parts(&p[1..], s) || (!s.is_empty() && parts(p, &s[1..])),
            (Some(a), Some(b)) => {
                let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                seg(&a, &b) && parts(&p[1..], &s[1..])
            }
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    parts(&p, &s)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let p = entry.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The folder a pattern searches: its part before the first glob character.
fn search_path(pattern: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in pattern.components() {
        if c.as_os_str().to_string_lossy().contains(['*', '?']) {
            break;
        }
        out.push(c);
    }
    out
}

fn common_ancestor(paths: &[PathBuf]) -> PathBuf {
    let mut common: Vec<Component> = paths[0].components().collect();
    for p in &paths[1..] {
        let other: Vec<Component> = p.components().collect();
        let n = common
            .iter()
            .zip(&other)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(n);
    }
    common.iter().collect()
}

fn upload(with: &BTreeMap<String, String>, cx: &mut ShimContext) -> Result<Outputs, String> {
    let place = cx.place;
    only(
        with,
        &[
            "name",
            "path",
            "if-no-files-found",
            "retention-days",
            "compression-level",
            "overwrite",
            "include-hidden-files",
        ],
        "actions/upload-artifact",
        place,
    );
    let name = with
        .get("name")
        .cloned()
        .unwrap_or_else(|| "artifact".into());
    let lines: Vec<&str> = with
        .get("path")
        .unwrap_or_else(|| panic!("{place}: upload-artifact needs `path`"))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let flag = |k: &str| match with.get(k).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => panic!("{place}: `{k}: {other}` is not a boolean"),
    };
    let (overwrite, hidden) = (flag("overwrite"), flag("include-hidden-files"));
    let retention: u64 = match with.get("retention-days").map(String::as_str) {
        None | Some("") => 90,
        Some(v) => match v.parse() {
            Ok(n) if (1..=90).contains(&n) => n,
            _ => panic!("{place}: retention-days {v:?} is not 1 to 90"),
        },
    };
    if let Some(level) = with.get("compression-level") {
        if !matches!(level.parse::<u8>(), Ok(0..=9)) {
            panic!("{place}: compression-level {level:?} is not 0 to 9");
        }
    }
    let (excludes, includes): (Vec<&str>, Vec<&str>) =
        lines.iter().partition(|l| l.starts_with('!'));
    let includes: Vec<PathBuf> = includes.iter().map(|l| resolve(l, cx)).collect();
    let excludes: Vec<PathBuf> = excludes.iter().map(|l| resolve(&l[1..], cx)).collect();
    let searches: Vec<PathBuf> = includes.iter().map(|p| search_path(p)).collect();
    let mut files: Vec<PathBuf> = Vec::new();
    for (pattern, search) in includes.iter().zip(&searches) {
        let mut candidates = Vec::new();
        if search.is_file() {
            candidates.push(search.clone());
        } else {
            walk(search, &mut candidates);
        }
        let text = pattern.display().to_string();
        let exact = !text.contains(['*', '?']);
        for f in candidates {
            let f_text = f.display().to_string();
            let matched = if exact {
                f.starts_with(pattern)
            } else {
                glob_match(&text, &f_text, place)
                    || (glob_match(&format!("{text}/**"), &f_text, place))
            };
            let excluded = excludes.iter().any(|x| {
                let x = x.display().to_string();
                f.starts_with(&x) || glob_match(&x, &f_text, place)
            });
            if matched && !excluded && !files.contains(&f) {
                files.push(f);
            }
        }
    }
    let root = if searches.len() == 1 && searches[0].is_file() {
        searches[0].parent().unwrap().to_path_buf()
    } else {
        common_ancestor(&searches)
    };
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(&root).unwrap().to_path_buf();
            let is_hidden = rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            (hidden || !is_hidden).then(|| {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                (rel.join("/"), f)
            })
        })
        .collect();
    entries.sort();
    if entries.is_empty() {
        let message = format!(
            "No files were found with the provided path: {}. No artifacts will be uploaded.",
            lines.join("\n")
        );
        return match with.get("if-no-files-found").map(String::as_str) {
            None | Some("warn") => {
                cx.warnings.push(message);
                Ok(Outputs::new())
            }
            Some("ignore") => Ok(Outputs::new()),
            Some("error") => Err(message),
            Some(other) => {
                panic!("{place}: if-no-files-found {other:?} is not warn, error or ignore")
            }
        };
    }
    let existing = cx
        .github
        .artifacts()
        .into_iter()
        .find(|a| a.run_id == cx.run_id && a.name == name);
    if let Some(a) = existing {
        if !overwrite {
            return Err(format!(
                "Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run ({name})"
            ));
        }
        cx.github.delete_artifact(a.id);
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (rel, file) in &entries {
        zip.start_file(rel.as_str(), options).unwrap();
        zip.write_all(&std::fs::read(file).unwrap()).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let id = cx.github.add_artifact(
        cx.run_id,
        cx.head_branch,
        cx.head_sha,
        &name,
        bytes,
        retention,
    );
    Ok(Outputs::from([
        ("artifact-id".to_string(), id.to_string()),
        (
            "artifact-url".to_string(),
            format!(
                "https://github.com/{}/actions/runs/{}/artifacts/{id}",
                cx.github.repo(),
                cx.run_id
            ),
        ),
    ]))
}

/// Unzips an artifact into `dir`, refusing any entry that would land outside it.
pub fn unzip(bytes: &[u8], dir: &Path) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let rel = entry
            .enclosed_name()
            .unwrap_or_else(|| panic!("the artifact holds an unsafe path {:?}", entry.name()));
        let target = dir.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            continue;
        }
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        std::fs::write(&target, data).unwrap();
    }
}

fn download(with: &BTreeMap<String, String>, cx: &mut ShimContext) -> Result<Outputs, String> {
    let place = cx.place;
    for k in ["github-token", "repository", "run-id"] {
        if with.contains_key(k) {
            panic!("{place}: the test runner's download-artifact reads this run's artifacts only (`{k}`)");
        }
    }
    only(
        with,
        &["name", "pattern", "path", "merge-multiple"],
        "actions/download-artifact",
        place,
    );
    let dir = resolve(with.get("path").map(String::as_str).unwrap_or("."), cx);
    let merge = match with.get("merge-multiple").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => panic!("{place}: merge-multiple {other:?} is not a boolean"),
    };
    let mine: Vec<_> = cx
        .github
        .artifacts()
        .into_iter()
        .filter(|a| a.run_id == cx.run_id)
        .collect();
    if let Some(name) = with.get("name") {
        if with.contains_key("pattern") {
            cx.warnings
                .push("inputs 'name' and 'pattern' both given: 'pattern' is ignored".into());
        }
        let Some(a) = mine.iter().find(|a| &a.name == name) else {
            return Err(format!(
                "Unable to download artifact(s): Artifact not found for name: {name}"
            ));
        };
        std::fs::create_dir_all(&dir).unwrap();
        unzip(&a.zip, &dir);
    } else {
        let pattern = with.get("pattern");
        for a in &mine {
            if pattern.is_some_and(|p| !glob_match(p, &a.name, place)) {
                continue;
            }
            let target = if merge {
                dir.clone()
            } else {
                dir.join(&a.name)
            };
            std::fs::create_dir_all(&target).unwrap();
            unzip(&a.zip, &target);
        }
    }
    Ok(Outputs::from([(
        "download-path".to_string(),
        dir.display().to_string(),
    )]))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("plan-*", "plan-dev", "t"));
        assert!(!glob_match("plan-*", "skconn-plan", "t"));
        assert!(glob_match("/w/*.json", "/w/plan.json", "t"));
        assert!(!glob_match("/w/*.json", "/w/sub/plan.json", "t"));
        assert!(glob_match("/w/**/*.json", "/w/sub/deep/plan.json", "t"));
        assert!(glob_match("/w/**/*.json", "/w/plan.json", "t"));
        assert!(glob_match("a?c", "abc", "t"));
    }
}
