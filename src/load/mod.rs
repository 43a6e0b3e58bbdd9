//! The desired side: reads the connector files of a repository, checks them, and turns each
//! into a [`Desired`]. This is the only code that knows YAML (for connector files).
//!
//! Loading is offline and read-only: it never touches the network, never writes a file, and
//! never panics on bad input. Every problem of every file is reported at once, each with its
//! file, line and column, field path, what is wrong and how to fix it, so that a broken
//! repository is refused before anything is sent.
//!
//! # The connector file format
//!
//! One connector per file. Every `*.yaml` and `*.yml` file under the connectors directory is a
//! connector, in subfolders too; files are read in path order. Other files, and every file or
//! folder whose name starts with `.`, are ignored (listed in [`Loaded::ignored`]).
//!
//! A file is the API object itself, written in YAML with the API's own field names at the top
//! level, so a JSON body from Scalekit's documentation converts one-to-one:
//!
//! ```yaml
//! # Asana, OAuth 2.0 (a comment line describing the connector)
//! display_name: Asana Tasks          # required; letters, digits, spaces; 1-200 characters
//! description: Tasks and projects in Asana
//! proxy_url: https://app.asana.com/api   # required; https://, may hold {{placeholders}}
//! proxy_enabled: true                # optional; default true (unlike the API, where omitted = false)
//! icon_src: https://example.com/asana.svg   # optional; empty or https://
//! metadata: {team: platform}         # optional; string -> string
//! auth_patterns:                     # required; at least one
//!   - type: OAUTH
//!     oauth_config:
//!       authorize_uri: https://app.asana.com/-/oauth_authorize
//!       token_uri: https://app.asana.com/-/oauth_token
//! skconn:                            # optional; skconn's own settings, never sent
//!   previous_names: [My Asana]       # earlier display names: the live connector is renamed
//!   pass_through_keys: [new_field]   # keys skconn does not know yet, sent unchecked
//! ```
//!
//! - The body sent to Scalekit is the file without `skconn:`, keys in file order, with
//!   `proxy_enabled: true` added when the file leaves it out. Unknown keys are errors, except
//!   those listed in `skconn.pass_through_keys`, which are accepted in any API object (top
//!   level, auth patterns, fields, ...) and sent untouched.
//! - YAML 1.2: `yes`/`no`/`on`/`off` are text, not booleans. Anchors, aliases and `<<` merge
//!   keys work; tags (`!x`), non-string keys and several documents in one file do not. A UTF-8
//!   byte-order mark is accepted; other encodings are refused. Files larger than 1 MiB are
//!   refused unread.
//! - Metadata keys `managed_by` and `skconn_hash` are reserved for skconn; a file has at most
//!   [`MAX_USER_METADATA_PAIRS`](crate::model::MAX_USER_METADATA_PAIRS) pairs.
//! - Display names are unique across files, and a previous name may be claimed by one file only
//!   and may not be another file's display name.
//!
//! # Rules
//!
//! Beyond the vocabulary and value types (`vocab`), the rules of `validate`: the server's own
//! (display name, URLs, metadata limits) and the documented ones it does not enforce (auth
//! type, OAuth endpoints, `oauth_config` only on OAUTH, MCP patterns, placeholders, fields).
//!
//! # Design
//!
//! serde_yaml parses each file once into a value (it reports syntax errors with positions,
//! duplicate keys, several documents, and refuses alias bombs); the value is then checked with
//! field paths only. Only when a file has problems is it parsed a second time, by yaml-rust2's
//! marked event parser (`index`), to turn field paths into lines and columns; valid files are
//! parsed once.

mod index;
mod parse;
mod validate;
mod vocab;

use crate::error::Diagnostic;
use crate::model::{Desired, Origin};
use index::Index;
use serde_json::Value;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use validate::{At, Names, Problem};

/// The largest connector file skconn reads, in bytes (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The outcome of loading a connectors directory.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The connectors, in file path order.
    pub connectors: Vec<Desired>,
    /// Entries that were skipped because they are not connector files (not `.yaml`/`.yml`, or
    /// hidden), relative to the root, in path order. For verbose logging.
    pub ignored: Vec<PathBuf>,
    /// The directory does not exist (then `connectors` is empty). An empty list from a missing
    /// directory may mean a wrong path rather than "no connectors"; the caller decides.
    pub dir_missing: bool,
}

/// Loads and validates every connector file under `dir`. Returns every problem at once.
/// `root` is the repository root: file paths in diagnostics are relative to it.
pub fn load_dir(root: &Path, dir: &Path) -> Result<Vec<Desired>, Vec<Diagnostic>> {
    load_dir_report(root, dir).map(|l| l.connectors)
}

/// Like [`load_dir`], and also reports the ignored entries and whether the directory is
/// missing. Diagnostics are ordered by file path, then line and column.
pub fn load_dir_report(root: &Path, dir: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let shown_dir = relative(root, dir);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(vec![Diagnostic::new(
                &shown_dir,
                "the connectors directory is not a directory",
            )
            .help("point skconn at the folder that holds the connector files")])
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(dir).is_err() => {
            return Ok(Loaded {
                dir_missing: true,
                ..Loaded::default()
            })
        }
        Err(e) => {
            return Err(vec![Diagnostic::new(
                &shown_dir,
                format!("cannot read the connectors directory: {e}"),
            )
            .help(
                "check that the directory (or the symlink to it) exists and is readable",
            )])
        }
    }

    let mut walk = Walk::default();
    walk.dir(dir, &shown_dir);
    let Walk {
        mut files,
        mut ignored,
        mut diags,
        ..
    } = walk;
    files.sort_by(|a, b| a.1.cmp(&b.1));
    ignored.sort();

    let mut entries = check_files(files);
    cross_file(&mut entries);

    let mut connectors = Vec::with_capacity(entries.len());
    for e in entries {
        diags.extend(e.check.diags);
        if let Some(d) = e.check.desired {
            connectors.push(d);
        }
    }
    if diags.is_empty() {
        Ok(Loaded {
            connectors,
            ignored,
            dir_missing: false,
        })
    } else {
        diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        Err(diags)
    }
}

/// Loads one connector from its text. `display_path` names the file in diagnostics and in
/// [`Origin`]. Checks across files (duplicate names) are not made.
pub fn load_str(display_path: &Path, text: &str) -> Result<Desired, Vec<Diagnostic>> {
    into_result(check_text(display_path, text))
}

/// Loads one connector from the bytes of a file (checks that they are UTF-8 first).
pub fn load_bytes(display_path: &Path, bytes: &[u8]) -> Result<Desired, Vec<Diagnostic>> {
    let text = decode(display_path, bytes).map_err(|d| vec![d])?;
    load_str(display_path, text)
}

/// Whether a file name is a connector file name (`.yaml` or `.yml`, any case, not hidden).
pub fn is_connector_file(name: &Path) -> bool {
    let hidden = name
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    !hidden
        && name
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn into_result(c: FileCheck) -> Result<Desired, Vec<Diagnostic>> {
    match c.desired {
        Some(d) if c.diags.is_empty() => Ok(d),
        _ => Err(c.diags),
    }
}

/// `path` relative to `root` when it lies under it (also after resolving symlinks).
fn relative(root: &Path, path: &Path) -> PathBuf {
    if let Ok(r) = path.strip_prefix(root) {
        return r.to_path_buf();
    }
    if let (Ok(root), Ok(path)) = (fs::canonicalize(root), fs::canonicalize(path)) {
        if let Ok(r) = path.strip_prefix(&root) {
            return r.to_path_buf();
        }
    }
    path.to_path_buf()
}

// ---- one file -------------------------------------------------------------------------------

/// The check of one file.
#[derive(Default)]
struct FileCheck {
    desired: Option<Desired>,
    diags: Vec<Diagnostic>,
    names: Names,
    /// Built when the file had problems; reused for problems found across files.
    index: Option<Index>,
}

impl FileCheck {
    fn failed(diags: Vec<Diagnostic>) -> FileCheck {
        FileCheck {
            diags,
            ..FileCheck::default()
        }
    }
}

fn check_text(file: &Path, text: &str) -> FileCheck {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parse::Parsed {
        mut map,
        mut problems,
    } = match parse::parse(file, text) {
        Ok(p) => p,
        Err(d) => return FileCheck::failed(d),
    };
    let names = validate::validate(&map, &mut problems);
    if !problems.is_empty() {
        let index = Index::build(text);
        let diags = locate(file, &index, problems);
        return FileCheck {
            desired: None,
            diags,
            names,
            index: Some(index),
        };
    }
    let Some(display_name) = names.display.clone() else {
        // validate reports a missing or invalid display name; this is a safety net.
        return FileCheck::failed(vec![Diagnostic::new(
            file,
            "the connector has no valid display_name",
        )
        .help("add `display_name:`")]);
    };
    map.shift_remove(vocab::SKCONN_KEY);
    if !map.contains_key("proxy_enabled") {
        map.insert("proxy_enabled".into(), Value::Bool(true));
    }
    let previous_names = names.previous.iter().map(|(_, n)| n.clone()).collect();
    FileCheck {
        desired: Some(Desired {
            display_name,
            body: Value::Object(map),
            previous_names,
            origin: Origin {
                file: file.to_path_buf(),
            },
        }),
        diags: Vec::new(),
        names,
        index: None,
    }
}

/// Turns problems (field paths) into diagnostics (lines and columns), ordered by position.
fn locate(file: &Path, index: &Index, problems: Vec<Problem>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| {
            let pos = match p.at {
                At::Key => index.key_pos(&p.field),
                At::Value => index.value_pos(&p.field),
                At::Parent => index::parent(&p.field).and_then(|parent| index.key_pos(parent)),
            };
            let mut d = Diagnostic::new(file, p.message).help(p.help);
            if let Some(pos) = pos {
                d = d.at(pos.line, pos.column);
            }
            if !p.field.is_empty() {
                d = d.field(p.field);
            }
            d
        })
        .collect();
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// Checks that the bytes are UTF-8; names the first bad byte.
fn decode<'b>(file: &Path, bytes: &'b [u8]) -> Result<&'b str, Diagnostic> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(
            Diagnostic::new(file, "the file is not UTF-8: it is encoded as UTF-16")
                .at(1, 1)
                .help("save the file as UTF-8"),
        );
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let before = &bytes[..offset];
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Diagnostic::new(
            file,
            format!(
                "the file is not UTF-8: byte 0x{:02X} at byte offset {offset} is not valid UTF-8",
                bytes[offset]
            ),
        )
        .at(line, column)
        .help("save the file as UTF-8 (a byte like this usually means Latin-1 or Windows-1252)")
    })
}

// ---- the directory --------------------------------------------------------------------------

#[derive(Default)]
struct Walk {
    /// (path to read, path to show).
    files: Vec<(PathBuf, PathBuf)>,
    ignored: Vec<PathBuf>,
    diags: Vec<Diagnostic>,
    /// Directories read so far, by canonical path, with the path they were shown as.
    visited: HashMap<PathBuf, PathBuf>,
}

impl Walk {
    fn dir(&mut self, path: &Path, shown: &Path) {
        match fs::canonicalize(path) {
            Ok(canon) => {
                if let Some(first) = self.visited.get(&canon) {
                    self.diags.push(
                        Diagnostic::new(
                            shown,
                            format!(
                                "this leads to `{}`, a directory that is already read (a symlink loop, or a second link to the same directory)",
                                first.display()
                            ),
                        )
                        .help("remove the symlink"),
                    );
                    return;
                }
                self.visited.insert(canon, shown.to_path_buf());
            }
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(shown, format!("cannot resolve the directory: {e}"))
                        .help("check the directory and the symlinks leading to it"),
                );
                return;
            }
        }
        let read = match fs::read_dir(path) {
            Ok(r) => r,
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(shown, format!("cannot read the directory: {e}")).help(
                        "make the directory readable (or move it out of the connectors directory)",
                    ),
                );
                return;
            }
        };
        for entry in read {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.diags.push(
                        Diagnostic::new(shown, format!("cannot list the directory: {e}"))
                            .help("make the directory readable"),
                    );
                    continue;
                }
            };
            let name = entry.file_name();
            let child = entry.path();
            let shown_child = shown.join(&name);
            if name.to_string_lossy().starts_with('.') {
                self.ignored.push(shown_child);
                continue;
            }
            let kind = match entry.file_type() {
                Ok(t) if t.is_symlink() => fs::metadata(&child).map(|m| m.file_type()),
                other => other,
            };
            let kind = match kind {
                Ok(k) => k,
                Err(e) => {
                    let (message, help) = if e.kind() == io::ErrorKind::NotFound {
                        (
                            "broken symlink: its target does not exist".to_string(),
                            "fix the symlink's target, or remove the symlink",
                        )
                    } else {
                        (
                            format!("cannot follow this entry: {e}"),
                            "fix or remove it (a symlink loop shows as too many levels of symbolic links)",
                        )
                    };
                    self.diags
                        .push(Diagnostic::new(&shown_child, message).help(help));
                    continue;
                }
            };
            if kind.is_dir() {
                self.dir(&child, &shown_child);
            } else if is_connector_file(&shown_child) {
                if kind.is_file() {
                    self.files.push((child, shown_child));
                } else {
                    self.diags.push(
                        Diagnostic::new(
                            &shown_child,
                            "not a regular file (a device, socket or pipe)",
                        )
                        .help("a connector file must be a regular file: replace or rename it"),
                    );
                }
            } else {
                self.ignored.push(shown_child);
            }
        }
    }
}

/// A file read and checked.
struct Entry {
    shown: PathBuf,
    /// The text (kept to locate problems found across files); empty if unreadable.
    text: String,
    check: FileCheck,
}

fn check_one((path, shown): &(PathBuf, PathBuf)) -> Entry {
    let (text, check) = match read_file(path, shown) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                let check = check_text(shown, &text);
                (text, check)
            }
            Err(e) => {
                let d = decode(shown, e.as_bytes()).err();
                (String::new(), FileCheck::failed(d.into_iter().collect()))
            }
        },
        Err(d) => (String::new(), FileCheck::failed(vec![d])),
    };
    Entry {
        shown: shown.clone(),
        text,
        check,
    }
}

/// Reads and checks the files, in parallel when there are many; keeps their order.
fn check_files(files: Vec<(PathBuf, PathBuf)>) -> Vec<Entry> {
    const PER_THREAD: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().div_ceil(PER_THREAD))
        .max(1);
    if threads == 1 {
        return files.iter().map(check_one).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(check_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Reads a file of at most [`MAX_FILE_BYTES`], refusing larger ones before reading them.
fn read_file(path: &Path, shown: &Path) -> Result<Vec<u8>, Diagnostic> {
    let io_error = |e: io::Error| {
        let (message, help) = match e.kind() {
            io::ErrorKind::NotFound => (
                "the file disappeared while the directory was being read".to_string(),
                "run the command again once nothing else is changing the directory",
            ),
            io::ErrorKind::PermissionDenied => (
                "cannot read the file: permission denied".to_string(),
                "make the file readable (e.g. `chmod a+r`)",
            ),
            _ => (format!("cannot read the file: {e}"), "check the file"),
        };
        Diagnostic::new(shown, message).help(help)
    };
    let too_large = |size: u64| {
        Diagnostic::new(
            shown,
            format!("the file is {size} bytes; connector files are limited to 1 MiB ({MAX_FILE_BYTES} bytes)"),
        )
        .help("a connector file is a few kilobytes: check that this is the right file")
    };
    let file = fs::File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(Diagnostic::new(shown, "not a regular file")
            .help("a connector file must be a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew after it was measured.
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

// ---- across files ---------------------------------------------------------------------------

/// Display names are unique; a previous name belongs to one file and is no file's display name.
fn cross_file(entries: &mut [Entry]) {
    // name -> (entry, None for the display name or Some(i) for previous_names[i]).
    let mut claimed: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
    let mut found: Vec<(usize, Problem)> = Vec::new();
    for (e, entry) in entries.iter().enumerate() {
        let names = &entry.check.names;
        let other = |g: usize| entries[g].shown.display().to_string();
        if let Some(d) = names.display.as_deref() {
            match claimed.get(d) {
                Some(&(g, None)) => found.push((
                    e,
                    Problem::new(
                        "display_name",
                        At::Value,
                        format!("another connector file, `{}`, has the same display_name `{d}`", other(g)),
                        "display names are unique within an environment: rename one of the two connectors",
                    ),
                )),
                Some(&(g, Some(i))) => found.push((
                    e,
                    Problem::new(
                        "display_name",
                        At::Value,
                        format!(
                            "`{}` lists `{d}` in skconn.previous_names[{i}], but `{d}` is this connector's display_name",
                            other(g)
                        ),
                        format!("remove `{d}` from previous_names in `{}`, or rename this connector", other(g)),
                    ),
                )),
                None => {}
            }
        }
        for (i, p) in &names.previous {
            let field = format!("skconn.previous_names[{i}]");
            match claimed.get(p.as_str()) {
                Some(&(g, None)) => found.push((
                    e,
                    Problem::new(
                        field,
                        At::Value,
                        format!("`{}` has `{p}` as its display_name, so it cannot be a previous name here", other(g)),
                        "remove it from previous_names: a connector can only be renamed from a name no other connector has",
                    ),
                )),
                Some(&(g, Some(_))) => found.push((
                    e,
                    Problem::new(
                        field,
                        At::Value,
                        format!("`{}` also lists `{p}` as a previous name", other(g)),
                        "only one connector can be renamed from a name: remove it from one of the two files",
                    ),
                )),
                None => {}
            }
        }
        if let Some(d) = names.display.as_deref() {
            claimed.entry(d).or_insert((e, None));
        }
        for (i, p) in &names.previous {
            claimed.entry(p.as_str()).or_insert((e, Some(*i)));
        }
    }
    drop(claimed);
    for (e, problem) in found {
        let entry = &mut entries[e];
        let index = entry.check.index.get_or_insert_with(|| {
            Index::build(entry.text.strip_prefix('\u{feff}').unwrap_or(&entry.text))
        });
        let d = locate(&entry.shown, index, vec![problem]);
        entry.check.desired = None;
        entry.check.diags.extend(d);
        entry.check.diags.sort_by_key(|d| (d.line, d.column));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_vanished_before_reading_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.yaml");
        let d = read_file(&gone, Path::new("connectors/gone.yaml")).unwrap_err();
        assert_eq!(d.file, Path::new("connectors/gone.yaml"));
        assert!(d.message.contains("disappeared"), "{d}");
        assert!(d.help.is_some());
        // The same through the whole pipeline: listed, then gone.
        let e = check_one(&(gone, PathBuf::from("connectors/gone.yaml")));
        assert!(e.check.desired.is_none());
        assert!(e.check.diags[0].message.contains("disappeared"));
    }

    #[test]
    fn connector_file_names() {
        assert!(is_connector_file(Path::new("a/b.yaml")));
        assert!(is_connector_file(Path::new("b.YML")));
        assert!(!is_connector_file(Path::new(".b.yaml")));
        assert!(!is_connector_file(Path::new("b.yaml.bak")));
        assert!(!is_connector_file(Path::new("yaml")));
    }

    #[test]
    fn defaults_are_filled_and_skconn_is_removed() {
        let text = "display_name: A\nproxy_url: https://a.example\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\nskconn:\n  previous_names: [B]\n";
        let d = load_str(Path::new("a.yaml"), text).unwrap();
        assert_eq!(
            d.body,
            serde_json::json!({"display_name": "A", "proxy_url": "https://a.example",
                "auth_patterns": [{"type": "NO_AUTH", "is_mcp": true}], "proxy_enabled": true})
        );
        assert_eq!(d.previous_names, ["B"]);
        assert_eq!(d.origin.file, Path::new("a.yaml"));
    }
}
