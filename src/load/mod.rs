//! The desired side: reads the connector files of a repository, checks them, and turns each
//! into a [`Desired`]. It reads YAML through `yaml` and checks keys against `vocabulary`.
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
//!   overrides:                       # per environment: merged over the rest of the file
//!     prod: {proxy_url: "https://${ASANA_PROD_HOST}/api"}
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
//! - `${VAR}` in any string value (not in keys) is replaced by the variable's value, in the
//!   base and in overrides, before anything is checked; `$${` is a literal `${`. A missing
//!   variable is an error at the string, and the file is checked no further. The values of
//!   variables not listed in `show_vars` (skconn.yaml) are returned in [`Loaded::masked`],
//!   except values shorter than [`MIN_MASKED_CHARS`] characters, which cannot be masked without
//!   mangling ordinary text; a problem with a value from such a variable says nothing about the
//!   value (not even its length). A variable skconn.yaml takes a credential from, or one named
//!   like a secret (`…CLIENT_SECRET`, `…_TOKEN`, `…_PASSWORD`, `…_SECRET`), may not be used at
//!   all: an error at the string, and the value is never read.
//! - `skconn.overrides` maps an environment name (one of skconn.yaml) to a partial connector,
//!   merged over the rest of the file with JSON Merge Patch (RFC 7396): maps merge key by key,
//!   lists and other values replace, `null` removes a key. Each environment's merged connector
//!   is checked like a file of its own, and the checks across files run per environment too; a
//!   problem found there names the environment and points at the override when the value came
//!   from it. The file without its overrides must be valid as well.
//!
//! # Rules
//!
//! Beyond the vocabulary and value types (`vocab`), the rules of `validate`: the server's own
//! (display name, URLs, metadata limits) and the documented ones it does not enforce (auth
//! type, OAuth endpoints, `oauth_config` only on OAUTH, MCP patterns, placeholders, fields).
//!
//! What is valid but likely a mistake is a warning, not a problem ([`Loaded::warnings`], and on
//! each [`Desired`] for its plan): hosts reserved for examples, a template's `FILL IN` marker,
//! odd spaces in a display name, an `input_type` skconn does not know.
//!
//! # Design
//!
//! `read` reads each file once into a value with serde_yaml (it reports syntax errors, several
//! documents, and refuses alias bombs); a duplicate key or a tab in indentation is a problem
//! that leaves the rest to check, and a syntax error is explained in skconn's words (`syntax`).
//! The value is then checked with field paths only. Only when a file has something to report is
//! it parsed a second time, by yaml-rust2's marked event parser (`index`), to turn field paths
//! into lines and columns; valid files without warnings are parsed once.

mod parse;
mod per_env;
pub(crate) mod validate;

use crate::base::error::Diagnostic;
use crate::model::{Desired, FileWarning, FileWarningKind, Origin};
use crate::settings::EnvLookup;
use crate::vocabulary::connector as vocab;
use crate::yaml::cap::{cap_by_file, cap_per_file_counting, MAX_DIAGNOSTICS_PER_FILE};
use crate::yaml::index::{self, Index};
use crate::yaml::MAX_FILE_BYTES;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use validate::{At, Names, Problem, Warned};

/// What loading needs to know beyond the files.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    /// The configured environments: the names `skconn.overrides` may use, and the environments
    /// [`Loaded::per_env`] holds.
    pub environments: &'a [String],
    /// Where `${VAR}` values come from.
    pub lookup: EnvLookup<'a>,
    /// Variables whose values are shown; the values of all others are listed in
    /// [`Loaded::masked`].
    pub show_vars: &'a [String],
    /// Variables skconn.yaml takes credentials from: a connector file may not use them, nor
    /// any variable named like a secret ([`crate::output::secret::is_secret_name`]).
    pub credential_vars: &'a [String],
    /// Environments in which a variable that is not set makes the value *unknown* instead of
    /// an error (environments planned against a snapshot, and those not planned at all): the
    /// connector holds `(from ${VAR}, known at apply)` there, listed in [`Desired::unknown`],
    /// and that value is not checked. A display name is never unknown. A value of the file's
    /// base is unknown only when every environment tolerates it.
    pub unknown_in: &'a [String],
}

fn no_variables(_: &str) -> Option<String> {
    None
}

impl LoadOptions<'static> {
    /// No environments (so any override is an error) and no variables (so any `${VAR}` is
    /// missing).
    pub fn none() -> LoadOptions<'static> {
        LoadOptions {
            environments: &[],
            lookup: &no_variables,
            show_vars: &[],
            credential_vars: &[],
            unknown_in: &[],
        }
    }
}

/// Values shorter than this (in characters) are not masked: masking them would mangle ordinary
/// text. The same bound as every secret's ([`crate::output::secret::MIN_SECRET_CHARS`]).
pub const MIN_MASKED_CHARS: usize = crate::output::secret::MIN_SECRET_CHARS;

/// The outcome of loading a connectors directory.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The connectors as the files define them without overrides, in file path order.
    pub connectors: Vec<Desired>,
    /// For each configured environment, every connector with that environment's override merged
    /// in (validated), in file path order.
    pub per_env: BTreeMap<String, Vec<Desired>>,
    /// The values that came from variables not listed in `show_vars`, to be masked in all
    /// output. Values shorter than [`MIN_MASKED_CHARS`] are left out.
    pub masked: Vec<String>,
    /// Entries that were skipped because they are not connector files (not `.yaml`/`.yml`, or
    /// hidden), relative to the root, in path order. For verbose logging.
    pub ignored: Vec<PathBuf>,
    /// The directory does not exist (then `connectors` is empty). An empty list from a missing
    /// directory may mean a wrong path rather than "no connectors"; the caller decides.
    pub dir_missing: bool,
    /// What the files hold that is valid but likely a mistake, ordered by file path, then line
    /// and column (each connector also carries its own, per environment).
    pub warnings: Vec<FileWarning>,
}

/// Everything a load found: the connectors or every problem, and the warnings either way, so
/// that a run reports them all at once.
#[derive(Debug, Clone)]
pub struct Report {
    pub loaded: Result<Loaded, Vec<Diagnostic>>,
    /// As [`Loaded::warnings`], also when the load failed.
    pub warnings: Vec<FileWarning>,
}

/// Loads and validates every connector file under `dir`, with no environments and no
/// variables ([`LoadOptions::none`]). Returns every problem at once. `root` is the repository
/// root: file paths in diagnostics are relative to it.
pub fn load_dir(root: &Path, dir: &Path) -> Result<Vec<Desired>, Vec<Diagnostic>> {
    load_dir_report(root, dir).map(|l| l.connectors)
}

/// Like [`load_dir`], and also reports the ignored entries and whether the directory is
/// missing. Diagnostics are ordered by file path, then line and column.
pub fn load_dir_report(root: &Path, dir: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    load_dir_with(root, dir, &LoadOptions::none())
}

/// Loads and validates every connector file under `dir` for the environments of `opts`:
/// variables are expanded, and each environment's overrides merged and checked. Returns every
/// problem at once, ordered by file path, then line and column; values from variables that are
/// not shown are masked in the diagnostics.
pub fn load_dir_with(
    root: &Path,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Loaded, Vec<Diagnostic>> {
    load_dir_reporting(root, dir, opts).loaded
}

/// Like [`load_dir_with`], and also returns the warnings when the load fails.
pub fn load_dir_reporting(root: &Path, dir: &Path, opts: &LoadOptions) -> Report {
    let without_warnings = |loaded| Report {
        loaded,
        warnings: Vec::new(),
    };
    let shown_dir = relative(root, dir);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return without_warnings(Err(vec![Diagnostic::new(
                &shown_dir,
                "the connectors directory is not a directory",
            )
            .help("point skconn at the folder that holds the connector files")]))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(dir).is_err() => {
            return without_warnings(Ok(Loaded {
                dir_missing: true,
                ..Loaded::default()
            }))
        }
        Err(e) => {
            return without_warnings(Err(vec![Diagnostic::new(
                &shown_dir,
                format!("cannot read the connectors directory: {e}"),
            )
            .help("check that the directory (or the symlink to it) exists and is readable")]))
        }
    }

    let mut walk = Walk {
        bound: fs::canonicalize(root).ok(),
        ..Walk::default()
    };
    walk.dir(dir, &shown_dir);
    let Walk {
        mut files,
        mut ignored,
        mut diags,
        ..
    } = walk;
    files.sort_by(|a, b| a.1.cmp(&b.1));
    ignored.sort();

    let mut entries = check_files(files, opts);
    cross_file_all(&mut entries, opts.environments);

    let mut masked: Vec<String> = Vec::new();
    for e in &entries {
        for (var, value) in &e.check.used {
            if !opts.show_vars.contains(var)
                && value.chars().count() >= MIN_MASKED_CHARS
                && !masked.contains(value)
            {
                masked.push(value.clone());
            }
        }
    }
    // Longest first, so that a value holding another is masked whole.
    masked.sort_by_key(|v| std::cmp::Reverse(v.len()));
    // Registered for the one redaction that guards every output, in every derived form, from
    // here on: diagnostics, plans, logs.
    for value in &masked {
        crate::output::secret::register(value);
    }

    let mut connectors = Vec::with_capacity(entries.len());
    let mut per_env: BTreeMap<String, Vec<Desired>> = opts
        .environments
        .iter()
        .map(|e| (e.clone(), Vec::with_capacity(entries.len())))
        .collect();
    let mut warnings: Vec<FileWarning> = Vec::new();
    let mut left_out: HashMap<PathBuf, usize> = HashMap::new();
    for e in entries {
        if e.check.left_out > 0 {
            left_out.insert(e.shown.clone(), e.check.left_out);
        }
        diags.extend(e.check.diags);
        warnings.extend(e.check.warnings);
        if let Some(d) = e.check.desired {
            for (env, list) in per_env.iter_mut() {
                list.push(
                    e.check
                        .env
                        .get(env)
                        .map_or_else(|| d.clone(), |v| v.0.clone()),
                );
            }
            connectors.push(d);
        }
    }
    warnings.sort_by(|a, b| {
        let (a, b) = (&a.diagnostic, &b.diagnostic);
        (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column))
    });
    let mut warnings = cap_warnings(warnings);
    let redact = |d: &mut Diagnostic| {
        d.message = crate::output::secret::redact(&d.message).into_owned();
        d.help = d
            .help
            .as_deref()
            .map(|h| crate::output::secret::redact(h).into_owned());
    };
    if !masked.is_empty() {
        warnings.iter_mut().for_each(|w| redact(&mut w.diagnostic));
    }
    let loaded = if diags.is_empty() {
        Ok(Loaded {
            connectors,
            per_env,
            masked,
            ignored,
            dir_missing: false,
            warnings: warnings.clone(),
        })
    } else {
        diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        let mut diags =
            cap_per_file_counting(diags, |f| left_out.get(f).copied().unwrap_or_default());
        if !masked.is_empty() {
            diags.iter_mut().for_each(redact);
        }
        Err(diags)
    };
    Report { loaded, warnings }
}

/// Keeps the first [`MAX_DIAGNOSTICS_PER_FILE`] warnings of each file (the list is sorted by
/// file) and says how many more there were.
fn cap_warnings(warnings: Vec<FileWarning>) -> Vec<FileWarning> {
    cap_by_file(
        warnings,
        |w| &w.diagnostic.file,
        |_| 0,
        |first, more| FileWarning {
            kind: first.kind,
            diagnostic: Diagnostic::new(
                &first.diagnostic.file,
                format!("and {more} more warning(s) in this file, not shown"),
            )
            .help(format!(
                "see to the {MAX_DIAGNOSTICS_PER_FILE} warnings above and run again to see the rest"
            )),
        },
    )
}

/// Loads one connector from its text, with no environments and no variables
/// ([`LoadOptions::none`]). `display_path` names the file in diagnostics and in [`Origin`].
/// Checks across files (duplicate names) are not made.
pub fn load_str(display_path: &Path, text: &str) -> Result<Desired, Vec<Diagnostic>> {
    into_result(check_text(display_path, text, &LoadOptions::none()))
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
        _ => {
            let mut diags = c.diags;
            diags.sort_by_key(|d| (d.line, d.column));
            Err(cap_per_file_counting(diags, |_| c.left_out))
        }
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
    /// The connector without overrides.
    desired: Option<Desired>,
    diags: Vec<Diagnostic>,
    /// Problems found but not kept in `diags`: never shown, counted in "and N more".
    left_out: usize,
    /// What `validate` warns about: the file's warnings, and those only an environment has.
    warnings: Vec<FileWarning>,
    names: Names,
    /// Built when the file had problems; reused for problems found across files.
    index: Option<Index>,
    /// For each environment with an override: its connector and names, and the override.
    env: BTreeMap<String, (Desired, Names, Value)>,
    /// `(name, value)` of each variable used.
    used: Vec<(String, String)>,
}

impl FileCheck {
    fn failed(diags: Vec<Diagnostic>) -> FileCheck {
        FileCheck {
            diags,
            ..FileCheck::default()
        }
    }
}

fn check_text(file: &Path, text: &str, opts: &LoadOptions) -> FileCheck {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parse::Parsed {
        mut map,
        mut problems,
        read_problems,
        source,
        index: mut built,
        left_out: read_left_out,
    } = match parse::parse(file, text) {
        Ok(p) => p,
        Err(d) => return FileCheck::failed(d),
    };
    let before = problems.len();
    // The file as written, `${VAR}` unexpanded: what a plan digest records.
    let mut written_map = map.clone();
    let mut from_vars = Vec::new();
    let mut unknown = Vec::new();
    let used = per_env::expand_map(&mut map, opts, &mut problems, &mut from_vars, &mut unknown);
    if problems.len() > before {
        // Variables are missing: the values are incomplete, so checking them would only add
        // noise. Nothing more is checked until they are set.
        let index = built.take().unwrap_or_else(|| source.index());
        let mut diags = locate(file, &index, problems);
        diags.extend(read_problems);
        diags.sort_by_key(|d| (d.line, d.column));
        return FileCheck {
            diags,
            left_out: read_left_out,
            index: Some(index),
            used,
            ..FileCheck::default()
        };
    }
    let mut warned = Vec::new();
    let names = validate::validate(&map, opts.environments, &mut problems, &mut warned);
    // An unknown value is not checked: it is known at apply, and checked there.
    if !unknown.is_empty() {
        let at_unknown = |field: &str| under_any(field, unknown.iter().map(String::as_str));
        problems.retain(|p| !at_unknown(&p.field));
        warned.retain(|w| !at_unknown(&w.problem.field));
    }
    let mut left_out = read_left_out + names.left_out;
    let overrides = per_env::take_overrides(&mut map);
    let written_overrides = per_env::take_overrides(&mut written_map);
    let written_base = Value::Object(written_map.clone());

    // Kept to compare each environment's connector with; not needed (nor copied) without
    // overrides.
    let with_overrides = !overrides.is_empty();
    let base_problems: Vec<(String, String)> = if with_overrides {
        problems
            .iter()
            .map(|p| (p.field.clone(), p.message.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let base_value = if with_overrides {
        Value::Object(map.clone())
    } else {
        Value::Null
    };
    let mut merged_envs = Vec::new();
    // The warnings `validate` lists: the base's, then those only an environment has.
    let mut listed: Vec<Warned> = warned.clone();
    for (env, mut partial) in overrides {
        if !opts.environments.contains(&env) {
            continue; // reported by validate
        }
        if let Some(Value::Object(s)) = partial.get_mut(vocab::SKCONN_KEY) {
            if s.shift_remove(per_env::OVERRIDES_KEY).is_some() {
                problems.push(Problem::new(
                    per_env::override_path(&env, "skconn.overrides"),
                    At::Key,
                    "an override cannot hold overrides of its own",
                    "remove it: overrides are listed once, under the file's top-level `skconn:`",
                ));
            }
        }
        let partial = Value::Object(partial);
        let mut merged = base_value.clone();
        json_patch::merge(&mut merged, &partial);
        let Value::Object(merged) = merged else {
            unreachable!("a map merged with a map is a map")
        };
        let mut written_merged = written_base.clone();
        if let Some((_, w)) = written_overrides.iter().find(|(e, _)| *e == env) {
            json_patch::merge(&mut written_merged, &Value::Object(w.clone()));
        }
        let mut found = Vec::new();
        let mut env_warned = Vec::new();
        let env_names = validate::validate(&merged, opts.environments, &mut found, &mut env_warned);
        if !unknown.is_empty() {
            let places = per_env::unknown_places(&written_merged, &Value::Object(merged.clone()));
            let at_unknown = |field: &str| under_any(field, places.iter().map(|(_, f)| f.as_str()));
            found.retain(|p| !at_unknown(&p.field));
            env_warned.retain(|w| !at_unknown(&w.problem.field));
        }
        left_out += env_names.left_out;
        for mut p in found {
            p.located_at = per_env::locate_in_override(&partial, &base_value, &env, &p.field, p.at);
            if p.located_at.is_none()
                && base_problems
                    .iter()
                    .any(|(f, m)| *f == p.field && *m == p.message)
            {
                continue; // the base's own problem, reported once
            }
            p.message = format!("{} (in environment {env})", p.message);
            problems.push(p);
        }
        for w in &mut env_warned {
            let p = &mut w.problem;
            p.located_at = per_env::locate_in_override(&partial, &base_value, &env, &p.field, p.at);
            let the_base_has_it = p.located_at.is_none()
                && warned
                    .iter()
                    .any(|b| b.problem.field == p.field && b.problem.message == p.message);
            if !the_base_has_it {
                let mut only_here = w.clone();
                only_here.problem.message =
                    format!("{} (in environment {env})", only_here.problem.message);
                listed.push(only_here);
            }
        }
        merged_envs.push((env, merged, written_merged, env_names, partial, env_warned));
    }
    // A warning about a masked value would say something about it: left out, like the value.
    listed.retain(|w| !per_env::is_masked_problem(&w.problem, &from_vars, opts.show_vars));

    // Warnings need positions: the index is built for them too (a file without any is still
    // read once).
    let comments = validate::marker_comments(text);
    let mut index = (!problems.is_empty()
        || !read_problems.is_empty()
        || !listed.is_empty()
        || !comments.is_empty())
    .then(|| built.take().unwrap_or_else(|| source.index()));
    let in_comments: Vec<FileWarning> = comments
        .iter()
        .map(|&(line, column)| FileWarning {
            kind: FileWarningKind::TemplateMarker,
            diagnostic: Diagnostic::new(
                file,
                format!(
                    "a comment still holds the template's `{}` marker",
                    validate::TEMPLATE_MARKER
                ),
            )
            .at(line, column)
            .help("write the value the comment asks for, then remove the marker (or the comment)"),
        })
        .collect();
    let warnings_of = |warned: Vec<Warned>, index: &Option<Index>| -> Vec<FileWarning> {
        let Some(index) = index else {
            return Vec::new();
        };
        let mut out: Vec<FileWarning> = warned
            .into_iter()
            .map(|w| FileWarning {
                kind: w.kind,
                diagnostic: place(file, index, w.problem),
            })
            .chain(in_comments.iter().cloned())
            .collect();
        out.sort_by_key(|w| (w.diagnostic.line, w.diagnostic.column));
        out
    };
    let listed = warnings_of(listed, &index);

    if !problems.is_empty() || !read_problems.is_empty() {
        per_env::mask_problems(&mut problems, &from_vars, opts.show_vars);
        let index = index.take().unwrap_or_else(|| source.index());
        let mut diags = locate(file, &index, problems);
        diags.extend(read_problems);
        diags.sort_by_key(|d| (d.line, d.column));
        return FileCheck {
            diags,
            left_out,
            warnings: listed,
            names,
            index: Some(index),
            used,
            ..FileCheck::default()
        };
    }
    let track_unknown = !unknown.is_empty();
    let Some(desired) = build(
        file,
        map,
        written_base,
        &names,
        warnings_of(warned, &index),
        track_unknown,
    ) else {
        // validate reports a missing or invalid display name; this is a safety net.
        return FileCheck::failed(vec![Diagnostic::new(
            file,
            "the connector has no valid display_name",
        )
        .help("add `display_name:`")]);
    };
    let mut env = BTreeMap::new();
    for (name, merged, written, env_names, partial, env_warned) in merged_envs {
        if let Some(d) = build(
            file,
            merged,
            written,
            &env_names,
            warnings_of(env_warned, &index),
            track_unknown,
        ) {
            env.insert(name, (d, env_names, partial));
        }
    }
    FileCheck {
        desired: Some(desired),
        diags: Vec::new(),
        left_out: 0,
        warnings: listed,
        names,
        index,
        env,
        used,
    }
}

/// The connector to send, from a checked map: `skconn:` removed, defaults filled. `written`
/// is the same map as the file writes it (`${VAR}` unexpanded), given the same treatment.
/// With `track_unknown`, the places holding unknown values are listed.
fn build(
    file: &Path,
    map: Map<String, Value>,
    written: Value,
    names: &Names,
    warnings: Vec<FileWarning>,
    track_unknown: bool,
) -> Option<Desired> {
    let display_name = names.display.clone()?;
    let finish = |mut map: Map<String, Value>| {
        map.shift_remove(vocab::SKCONN_KEY);
        if !map.contains_key("proxy_enabled") {
            map.insert("proxy_enabled".into(), Value::Bool(true));
        }
        Value::Object(map)
    };
    let written = match written {
        Value::Object(w) => finish(w),
        other => other,
    };
    let previous_names = names.previous.iter().map(|(_, n)| n.clone()).collect();
    let body = finish(map);
    let unknown = if track_unknown {
        per_env::unknown_places(&written, &body)
            .into_iter()
            .map(|(pointer, _)| pointer)
            .collect()
    } else {
        Vec::new()
    };
    let written = (written != body).then_some(written);
    Some(Desired {
        display_name,
        body,
        written,
        previous_names,
        origin: Origin {
            file: file.to_path_buf(),
        },
        unknown,
        warnings,
    })
}

/// Whether a string at this field path whose variable is not set is an unknown value rather
/// than a problem (see [`LoadOptions::unknown_in`]).
pub(crate) fn tolerates_unknown(opts: &LoadOptions, path: &str) -> bool {
    if opts.unknown_in.is_empty() {
        return false;
    }
    let overrides = format!("{}.{}.", vocab::SKCONN_KEY, per_env::OVERRIDES_KEY);
    let (envs, field): (Vec<&str>, &str) = match path.strip_prefix(&overrides) {
        Some(rest) => match rest.split_once('.') {
            Some((env, field)) => (vec![env], field),
            None => return false,
        },
        None if path.starts_with(vocab::SKCONN_KEY) => return false,
        None => (opts.environments.iter().map(String::as_str).collect(), path),
    };
    !envs.is_empty()
        && envs.iter().all(|e| opts.unknown_in.iter().any(|u| u == e))
        && field != "display_name"
}

/// Whether a field path is one of `places` or lies under one.
fn under_any<'p>(field: &str, mut places: impl Iterator<Item = &'p str>) -> bool {
    places.any(|u| {
        field == u
            || field
                .strip_prefix(u)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// Turns problems (field paths) into diagnostics (lines and columns), ordered by position.
fn locate(file: &Path, index: &Index, problems: Vec<Problem>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| place(file, index, p))
        .collect();
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// A problem (a field path) as a diagnostic (a line and column).
fn place(file: &Path, index: &Index, p: Problem) -> Diagnostic {
    let (path, at) = match &p.located_at {
        Some((path, at)) => (path.as_str(), *at),
        None => (p.field.as_str(), p.at),
    };
    let pos = match at {
        At::Key => index.key_pos(path),
        At::Value => index.value_pos(path),
        At::Parent => index::parent(path).and_then(|parent| index.key_pos(parent)),
    };
    // A value is quoted as written (`1.10`, not the number read, `1.1`), in the message
    // and in a hint to put it in quotes.
    let (message, help) = match (p.quote_hint, at) {
        (true, At::Key) => match index.raw_key(path) {
            Some(raw) => (
                // "the key `1.10` is a number": the first quoted text is the key.
                requote(&p.message, raw, Quoted::First),
                format!("put the key in quotes: `\"{raw}\": ...`"),
            ),
            None => (p.message, p.help),
        },
        (quote, At::Value) => match index.raw(path) {
            Some(raw) => (
                // "expected a string, found the number `1.1`": the last is the value.
                if p.quotes_value {
                    requote(&p.message, raw, Quoted::Last)
                } else {
                    p.message
                },
                if quote {
                    format!("put the value in quotes: `\"{raw}\"`")
                } else {
                    p.help
                },
            ),
            None => (p.message, p.help),
        },
        _ => (p.message, p.help),
    };
    let mut d = Diagnostic::new(file, message).help(help);
    if let Some(pos) = pos {
        d = d.at(pos.line, pos.column);
    }
    if !p.field.is_empty() {
        d = d.field(p.field);
    }
    d
}

/// Which text between backticks of a message [`requote`] replaces.
#[derive(Clone, Copy)]
enum Quoted {
    First,
    Last,
}

/// `message` with its first (or last) text between backticks replaced by `raw`.
fn requote(message: &str, raw: &str, which: Quoted) -> String {
    let ticks: Vec<usize> = message.match_indices('`').map(|(i, _)| i).collect();
    let pair = match which {
        Quoted::First if ticks.len() >= 2 => Some((ticks[0], ticks[1])),
        Quoted::Last if ticks.len() >= 2 => Some((ticks[ticks.len() - 2], ticks[ticks.len() - 1])),
        _ => None,
    };
    match pair {
        Some((open, close)) => format!("{}`{raw}`{}", &message[..open], &message[close + 1..]),
        None => message.to_string(),
    }
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
    /// The repository root, resolved: nothing outside it is read, whatever a link says.
    bound: Option<PathBuf>,
}

impl Walk {
    /// Whether a resolved path is outside the repository root; if so, says so at `shown`.
    fn outside(&mut self, canon: &Path, shown: &Path) -> bool {
        if self.bound.as_ref().is_none_or(|b| canon.starts_with(b)) {
            return false;
        }
        self.diags.push(
            Diagnostic::new(
                shown,
                "this leads outside the folder of skconn.yaml; skconn reads connector files only inside it",
            )
            .help("copy the file into the repository, or make the link point inside it"),
        );
        true
    }
}

impl Walk {
    fn dir(&mut self, path: &Path, shown: &Path) {
        match fs::canonicalize(path) {
            Ok(canon) => {
                if self.outside(&canon, shown) {
                    return;
                }
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
                let linked = entry.file_type().is_ok_and(|t| t.is_symlink());
                if linked && fs::canonicalize(&child).is_ok_and(|c| self.outside(&c, &shown_child))
                {
                    continue;
                }
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

fn check_one((path, shown): &(PathBuf, PathBuf), opts: &LoadOptions) -> Entry {
    let (text, check) = match read_file(path, shown) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                let check = check_text(shown, &text, opts);
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
fn check_files(files: Vec<(PathBuf, PathBuf)>, opts: &LoadOptions) -> Vec<Entry> {
    const PER_THREAD: usize = 64;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().div_ceil(PER_THREAD))
        .max(1);
    if threads == 1 {
        return files.iter().map(|f| check_one(f, opts)).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|f| check_one(f, opts)).collect::<Vec<_>>()))
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

/// The checks across files, for the files as written and for each environment whose overrides
/// change names. A problem that only an environment has says so, and points at the override
/// when the name came from it.
fn cross_file_all(entries: &mut [Entry], environments: &[String]) {
    let base = cross_file(entries, |_| None);
    let mut found = base.clone();
    for env in environments {
        if !entries.iter().any(|e| e.check.env.contains_key(env)) {
            continue;
        }
        for (e, mut p) in cross_file(entries, |entry| entry.check.env.get(env)) {
            if base
                .iter()
                .any(|(g, b)| *g == e && b.field == p.field && b.message == p.message)
            {
                continue;
            }
            if let Some((_, _, partial)) = entries[e].check.env.get(env) {
                let base_value = Value::Null;
                p.located_at =
                    per_env::locate_in_override(partial, &base_value, env, &p.field, p.at);
            }
            p.message = format!("{} (in environment {env})", p.message);
            found.push((e, p));
        }
    }
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

/// Display names are unique; a previous name belongs to one file and is no file's display name.
/// `env_of` gives a file's connector for an environment, when it has an override there.
fn cross_file<'e>(
    entries: &'e [Entry],
    env_of: impl Fn(&'e Entry) -> Option<&'e (Desired, Names, Value)>,
) -> Vec<(usize, Problem)> {
    // name -> (entry, None for the display name or Some(i) for previous_names[i]).
    let mut claimed: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
    let mut found: Vec<(usize, Problem)> = Vec::new();
    for (e, entry) in entries.iter().enumerate() {
        let names = env_of(entry).map_or(&entry.check.names, |(_, n, _)| n);
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
    found
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
        let e = check_one(
            &(gone, PathBuf::from("connectors/gone.yaml")),
            &LoadOptions::none(),
        );
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

    // ---- per-environment values ---------------------------------------------------------------

    const BASE: &str = "display_name: Acme\ndescription: Base text\nproxy_url: https://api.acme.example\nmetadata:\n  team: platform\n  owner: alice\nauth_patterns:\n  - type: BEARER\n    fields:\n      - field_name: token\n        input_type: password\n";

    fn envs() -> Vec<String> {
        vec!["dev".into(), "prod".into()]
    }

    fn vars(k: &str) -> Option<String> {
        match k {
            "HOST" => Some("api.secret-host.example".into()),
            "TEAM" => Some("infra".into()),
            "NO" => Some("x".into()),
            _ => None,
        }
    }

    fn load_files(files: &[(&str, &str)], show_vars: &[String]) -> Result<Loaded, Vec<Diagnostic>> {
        load_tolerating(files, show_vars, &[])
    }

    fn load_tolerating(
        files: &[(&str, &str)],
        show_vars: &[String],
        unknown_in: &[String],
    ) -> Result<Loaded, Vec<Diagnostic>> {
        let dir = tempfile::tempdir().unwrap();
        let connectors = dir.path().join("connectors");
        fs::create_dir_all(&connectors).unwrap();
        for (name, text) in files {
            fs::write(connectors.join(name), text).unwrap();
        }
        let environments = envs();
        let opts = LoadOptions {
            environments: &environments,
            lookup: &vars,
            show_vars,
            credential_vars: &[],
            unknown_in,
        };
        load_dir_with(dir.path(), &connectors, &opts)
    }

    fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        load_files(files, &[]).expect_err("the files are invalid")
    }

    #[test]
    fn an_override_is_merged_only_into_its_environment() {
        let text = format!(
            "{BASE}skconn:\n  overrides:\n    prod:\n      proxy_url: https://prod.acme.example\n      description: null\n      metadata:\n        owner: null\n        tier: gold\n"
        );
        let l = load_files(&[("acme.yaml", &text)], &[]).unwrap();
        let base = &l.connectors[0].body;
        assert_eq!(base["proxy_url"], "https://api.acme.example");
        assert_eq!(base["description"], "Base text");
        assert!(base.get("skconn").is_none());
        assert_eq!(l.per_env["dev"][0].body, *base);
        let prod = &l.per_env["prod"][0].body;
        assert_eq!(prod["proxy_url"], "https://prod.acme.example");
        // `null` removes a key; maps merge key by key.
        assert!(prod.get("description").is_none(), "{prod}");
        assert_eq!(
            prod["metadata"],
            serde_json::json!({"team": "platform", "tier": "gold"})
        );
        assert_eq!(prod["auth_patterns"], base["auth_patterns"]);
        assert_eq!(prod["proxy_enabled"], true);
    }

    #[test]
    fn a_list_in_an_override_replaces_the_base_list() {
        let text = format!(
            "{BASE}skconn:\n  overrides:\n    dev:\n      auth_patterns:\n        - type: NO_AUTH\n          is_mcp: true\n"
        );
        let l = load_files(&[("acme.yaml", &text)], &[]).unwrap();
        assert_eq!(
            l.per_env["dev"][0].body["auth_patterns"],
            serde_json::json!([{"type": "NO_AUTH", "is_mcp": true}])
        );
        assert_eq!(
            l.per_env["prod"][0].body["auth_patterns"][0]["type"],
            "BEARER"
        );
    }

    #[test]
    fn an_override_of_an_unknown_environment_is_an_error() {
        let text = format!("{BASE}skconn:\n  overrides:\n    prdo:\n      description: x\n");
        let d = errors(&[("acme.yaml", &text)]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].line, d[0].column), (14, 5));
        assert_eq!(d[0].field.as_deref(), Some("skconn.overrides.prdo"));
        assert!(
            d[0].message.contains("unknown environment `prdo`"),
            "{}",
            d[0]
        );
        assert!(d[0]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `prod`"));
        // Without environments, every override is unknown.
        let d = load_str(Path::new("a.yaml"), &text).unwrap_err();
        assert!(d[0].help.as_deref().unwrap().contains("no environments"));
    }

    #[test]
    fn problems_of_a_merged_connector_point_at_the_override_and_name_the_environment() {
        // Lines: 12 skconn, 13 overrides, 14 prod, 15 proxy_ulr, 16 auth_patterns, 17 - type,
        // 18 display_name (null).
        let text = format!(
            "{BASE}skconn:\n  overrides:\n    prod:\n      proxy_ulr: https://x.example\n      auth_patterns:\n        - type: BEARR\n      display_name: null\n"
        );
        let d = errors(&[("acme.yaml", &text)]);
        let find = |field: &str| {
            d.iter()
                .find(|d| d.field.as_deref() == Some(field))
                .unwrap_or_else(|| panic!("no diagnostic for {field}: {d:?}"))
        };
        let unknown = find("proxy_ulr");
        assert_eq!((unknown.line, unknown.column), (15, 7));
        assert!(
            unknown.message.ends_with("(in environment prod)"),
            "{unknown}"
        );
        assert!(unknown
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean `proxy_url`"));
        let ty = find("auth_patterns[0].type");
        assert_eq!((ty.line, ty.column), (17, 17));
        assert!(ty.message.ends_with("(in environment prod)"), "{ty}");
        // A required key removed with `null`: at the `null`.
        let name = find("display_name");
        assert_eq!(name.line, 18, "{name}");
        assert!(name.message.contains("(in environment prod)"));
        assert_eq!(d.len(), 3, "{d:?}");
    }

    #[test]
    fn a_merged_problem_from_a_base_value_points_at_the_base() {
        // The override adds a placeholder that the base's fields do not fill: the problem is
        // the override's URL.
        let text = format!(
            "{BASE}skconn:\n  overrides:\n    prod:\n      proxy_url: https://{{{{domain}}}}.acme.example\n"
        );
        let d = errors(&[("acme.yaml", &text)]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, 15);
        assert_eq!(d[0].field.as_deref(), Some("proxy_url"));
        assert!(d[0].message.contains("(in environment prod)"));

        // A base problem is reported once, without an environment, even with an override.
        let bad_base = BASE.replace("https://api.acme.example", "http://api.acme.example");
        let text = format!("{bad_base}skconn:\n  overrides:\n    prod:\n      description: x\n");
        let d = errors(&[("acme.yaml", &text)]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, 3);
        assert!(!d[0].message.contains("environment"), "{}", d[0]);
    }

    #[test]
    fn warnings_of_an_override_belong_to_its_environment_and_point_at_it() {
        // Lines: 12 skconn, 13 overrides, 14 prod, 15 proxy_url.
        let text = format!(
            "{BASE}skconn:\n  overrides:\n    prod:\n      proxy_url: https://api.acme.test\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let connectors = dir.path().join("connectors");
        fs::create_dir_all(&connectors).unwrap();
        fs::write(connectors.join("acme.yaml"), &text).unwrap();
        let environments = envs();
        let opts = LoadOptions {
            environments: &environments,
            lookup: &vars,
            show_vars: &[],
            credential_vars: &[],
            unknown_in: &[],
        };
        let report = load_dir_reporting(dir.path(), &connectors, &opts);
        let loaded = report.loaded.unwrap();
        // BASE's own host is `api.acme.example` (reserved too): every environment has that one.
        let hosts = |ws: &[FileWarning]| -> Vec<(usize, String)> {
            ws.iter()
                .filter(|w| w.kind == FileWarningKind::ExampleHost)
                .map(|w| (w.diagnostic.line, w.diagnostic.message.clone()))
                .collect()
        };
        let listed = hosts(&report.warnings);
        assert_eq!(listed.len(), 2, "{listed:#?}");
        assert_eq!(listed[0].0, 3);
        assert_eq!(listed[1].0, 15);
        assert!(
            listed[1].1.ends_with("(in environment prod)"),
            "{listed:#?}"
        );
        let dev = hosts(&loaded.per_env["dev"][0].warnings);
        assert_eq!(dev.iter().map(|h| h.0).collect::<Vec<_>>(), [3]);
        let prod = hosts(&loaded.per_env["prod"][0].warnings);
        assert_eq!(prod.iter().map(|h| h.0).collect::<Vec<_>>(), [15]);
        assert!(prod[0].1.contains("`api.acme.test`"));
    }

    #[test]
    fn duplicate_names_are_checked_per_environment() {
        let a = format!("{BASE}skconn:\n  overrides:\n    prod:\n      display_name: Other\n");
        let b = BASE.replace("Acme", "Other");
        let d = errors(&[("a.yaml", &a), ("b.yaml", &b)]);
        assert_eq!(d.len(), 1, "{d:?}");
        // b.yaml comes second: its own display_name (a base value) collides in prod.
        assert_eq!(d[0].file, Path::new("connectors/b.yaml"));
        assert_eq!(d[0].line, 1);
        assert!(d[0].message.contains("(in environment prod)"), "{}", d[0]);
        // The other way round, the collision is at a's override.
        let d = errors(&[("b.yaml", &a), ("a.yaml", &b)]);
        assert_eq!(d[0].file, Path::new("connectors/b.yaml"));
        assert_eq!(d[0].line, 15, "{}", d[0]);
    }

    #[test]
    fn variables_expand_in_values_and_are_masked_unless_shown() {
        let text = "display_name: Acme\ndescription: costs $${PRICE}, team ${TEAM} ${NO}\nproxy_url: https://${HOST}/v1\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\nskconn:\n  overrides:\n    prod:\n      description: ${HOST}\n";
        let l = load_files(&[("acme.yaml", text)], &[]).unwrap();
        let body = &l.connectors[0].body;
        assert_eq!(body["proxy_url"], "https://api.secret-host.example/v1");
        assert_eq!(body["description"], "costs ${PRICE}, team infra x");
        assert_eq!(
            l.per_env["prod"][0].body["description"],
            "api.secret-host.example"
        );
        // `infra` and `x` are too short to mask (under 8 characters).
        assert_eq!(l.masked, ["api.secret-host.example"]);
        let l = load_files(&[("acme.yaml", text)], &["HOST".to_string()]).unwrap();
        assert!(l.masked.is_empty());
    }

    #[test]
    fn missing_variables_are_all_reported_with_their_places() {
        let text = "display_name: Acme\ndescription: ${MISSING_ONE} and ${HOST}\nproxy_url: https://${MISSING_TWO}/v1\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\nskconn:\n  overrides:\n    prod:\n      description: ${MISSING_ONE}\n";
        let d = errors(&[("acme.yaml", text)]);
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.line, d.column, d.field.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            [
                (2, 14, "description".to_string()),
                (3, 12, "proxy_url".to_string()),
                (10, 20, "skconn.overrides.prod.description".to_string()),
            ]
        );
        assert!(d[0].message.contains("`MISSING_ONE`"), "{}", d[0]);
        assert!(d[1].message.contains("`MISSING_TWO`"));
        assert!(d[0].help.as_deref().unwrap().starts_with("set MISSING_ONE"));
        // A value from a variable never shows in a diagnostic.
        assert!(d.iter().all(|d| !d.to_string().contains("secret-host")));
        // Without variables, a `${VAR}` is missing.
        let d = load_str(Path::new("a.yaml"), text).unwrap_err();
        assert!(d.iter().any(|d| d.message.contains("`HOST`")));
    }

    #[test]
    fn a_variable_not_set_is_an_unknown_value_only_where_every_environment_using_it_tolerates_it() {
        // The base's URL lacks TENANT (an invalid URL as it stands); prod's override lacks
        // PROD_ONLY.
        let text = "display_name: Acme\nproxy_url: ${TENANT}\nauth_patterns:\n  - type: BEARER\nskconn:\n  overrides:\n    prod:\n      description: team ${TEAM} at ${PROD_ONLY}\n";
        let both: Vec<String> = envs();
        let l = load_tolerating(&[("acme.yaml", text)], &[], &both).unwrap();
        let prod = &l.per_env["prod"][0];
        assert_eq!(prod.body["proxy_url"], "(from ${TENANT}, known at apply)");
        assert_eq!(
            prod.body["description"],
            "(from team ${TEAM} at ${PROD_ONLY}, known at apply)"
        );
        assert_eq!(prod.unknown, ["/proxy_url", "/description"]);
        assert_eq!(prod.written()["proxy_url"], "${TENANT}");
        assert_eq!(l.per_env["dev"][0].unknown, ["/proxy_url"]);
        // Dev is planned live: the base's variable must be set, the prod override's need not.
        let only_prod = vec!["prod".to_string()];
        let d = load_tolerating(&[("acme.yaml", text)], &[], &only_prod).unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("`TENANT`"), "{}", d[0]);
        let set = text.replace("${TENANT}", "https://api.acme.example");
        let l = load_tolerating(&[("acme.yaml", &set)], &[], &only_prod).unwrap();
        assert!(l.per_env["dev"][0].unknown.is_empty());
        assert_eq!(l.per_env["prod"][0].unknown, ["/description"]);
        // Without the mode, nothing changes: every missing variable is an error.
        assert_eq!(
            load_tolerating(&[("acme.yaml", text)], &[], &[])
                .unwrap_err()
                .len(),
            2
        );
        // A display name is never unknown.
        let named = "display_name: ${NAME}\nproxy_url: https://a.acme.example\nauth_patterns:\n  - type: BEARER\n";
        let d = load_tolerating(&[("acme.yaml", named)], &[], &both).unwrap_err();
        assert!(d[0].message.contains("`NAME`"), "{}", d[0]);
    }

    #[test]
    fn values_from_variables_are_masked_in_diagnostics() {
        let text = "display_name: Acme\nproxy_url: http://${HOST}/v1\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\n";
        let d = errors(&[("acme.yaml", text)]);
        let shown: String = d.iter().map(|d| format!("{d}\n{:?}", d.help)).collect();
        assert!(!shown.contains("secret-host"), "{shown}");
        // Nor what is wrong with it (`http://`): only the field and the variable.
        assert!(!shown.contains("http"), "{shown}");
        assert!(
            shown.contains("`HOST`") && shown.contains("masked"),
            "{shown}"
        );
        assert_eq!(d[0].field.as_deref(), Some("proxy_url"));
    }
}
