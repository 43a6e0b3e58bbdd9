//! The documentation keeps itself true: every relative link in the Markdown files at the root
//! and in `docs/` resolves to a file of the repository (and an `#anchor` to a heading of that
//! file, by GitHub's slug rules); every `skconn …` command shown in a fenced block parses with
//! the current CLI; every address of skconn's own pages that a message names resolves too.
//! It reads files only: it never follows a link to another site, never runs a command.
//!
//! Which lines are commands (the convention `docs/development.md` documents): in a `sh`, `bash`,
//! `shell` or `zsh` block, every line (after `\` continuations are joined) whose simple commands
//! start with `skconn` or `cargo run … --`; in a `console` or `text` block, only the lines that
//! start with `$ `. A line holding `…` is an elision, not a command, and is skipped.

use crate::support::crate_root;
use clap::Parser;
use skconn::cli::Cli;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// skconn's canonical repository: links to its files on the default branch are checked like
/// relative links.
const REPO_URL: &str = "https://github.com/skconn/skconn";

// ---- what the checks read ----

/// The Markdown files checked: `*.md` at the root and under `docs/`, as paths relative to `root`.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.extension().is_some_and(|e| e == "md") {
            files.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// A fenced code block: its info string's first word and its lines, numbered from 1.
struct Block {
    lang: String,
    lines: Vec<(usize, String)>,
}

/// Splits Markdown into the lines outside fenced blocks (numbered) and the fenced blocks.
fn split_fences(text: &str) -> (Vec<(usize, &str)>, Vec<Block>) {
    let mut prose = Vec::new();
    let mut blocks = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let is_fence =
            fence.len() >= 3 && fence.chars().all(|c| c == fence.chars().next().unwrap());
        match open.take() {
            Some((marker, block)) => {
                if is_fence
                    && fence.starts_with(&marker)
                    && trimmed[fence.len()..].trim().is_empty()
                {
                    blocks.push(block);
                } else {
                    let mut block = block;
                    block.lines.push((n, line.to_string()));
                    open = Some((marker, block));
                }
            }
            None if is_fence => {
                let lang = trimmed[fence.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                open = Some((
                    fence,
                    Block {
                        lang,
                        lines: Vec::new(),
                    },
                ));
            }
            None => prose.push((n, line)),
        }
    }
    if let Some((_, block)) = open {
        blocks.push(block);
    }
    (prose, blocks)
}

/// A line with its inline code spans removed, so that text shown as code is never read as a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        match after.find(&"`".repeat(ticks)) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

// ---- headings and GitHub's anchors ----

/// GitHub's anchor for a heading: lowercase, spaces become `-`, every other character that is
/// not a letter, a digit, `-` or `_` is dropped.
fn slug(heading: &str) -> String {
    // A link in a heading anchors by its text.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](") else {
            break;
        };
        let Some(end) = rest[open + close..].find(')') else {
            break;
        };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..open + close]);
        rest = &rest[open + close + end + 1..];
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings, a repeated one suffixed `-1`, `-2`, … as GitHub does.
fn anchors(text: &str) -> HashSet<String> {
    let (prose, _) = split_fences(text);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashSet::new();
    for (_, line) in prose {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let heading = line[hashes..].trim().trim_end_matches('#').trim();
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

// ---- links ----

/// Every link target outside code: inline `[text](target)` and `![alt](target)` (the title, if
/// any, left out) and reference definitions `[label]: target`, with their line numbers.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let (prose, _) = split_fences(text);
    let mut out = Vec::new();
    for (n, line) in prose {
        let line = without_code_spans(line);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if let Some(close) = trimmed.find("]:") {
                if let Some(target) = trimmed[close + 2..].split_whitespace().next() {
                    out.push((n, target.trim_matches(['<', '>']).to_string()));
                    continue;
                }
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else {
                break;
            };
            let inner = after[..end].trim();
            let target = inner.split_whitespace().next().unwrap_or("");
            out.push((n, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end + 1..];
        }
    }
    out
}

/// `path` joined onto `base` (both relative to the repository root), `..` resolved; `None` when
/// it leaves the repository.
fn resolve(base: &Path, path: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = Vec::new();
    for component in base.join(path.replace("%20", " ")).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// The repository-relative path of a link target, or `None` for a link to another site. Links
/// to skconn's own repository on the default branch (`…/blob/main/PATH`, `…/tree/main/PATH`, or
/// the repository itself, whose page is the README) count as repository paths.
fn repository_target(from_dir: &Path, target: &str) -> Option<Result<(PathBuf, String), String>> {
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let anchor = anchor.to_string();
    if let Some(rest) = path.strip_prefix(REPO_URL) {
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Some(Ok((PathBuf::from("README.md"), anchor)));
        }
        for tree in ["/blob/main/", "/tree/main/"] {
            if let Some(p) = rest.strip_prefix(tree) {
                return Some(Ok((PathBuf::from(p), anchor)));
            }
        }
        return None;
    }
    if path.contains("://") || path.starts_with("mailto:") {
        return None;
    }
    if path.starts_with('/') {
        return Some(Err(format!(
            "`{target}` is absolute: write it relative to the file"
        )));
    }
    Some(
        resolve(from_dir, path)
            .map(|p| (p, anchor))
            .ok_or(format!("`{target}` points outside the repository")),
    )
}

/// Checks that `target`, named in `from` (relative to `root`), resolves: the file (or folder)
/// exists, and an anchor into a Markdown file names one of its headings.
fn check_target(root: &Path, from: &Path, target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("an empty link target".into());
    }
    let from_dir = from.parent().unwrap_or(Path::new(""));
    let (path, anchor) = match repository_target(from_dir, target) {
        None => return Ok(()),
        Some(Err(e)) => return Err(e),
        Some(Ok(p)) => p,
    };
    // `#anchor` alone points into the file itself.
    let path = if target.starts_with('#') {
        from.to_path_buf()
    } else {
        path
    };
    let full = root.join(&path);
    if !full.exists() {
        return Err(format!("`{target}`: {} does not exist", path.display()));
    }
    if !anchor.is_empty() && full.extension().is_some_and(|e| e == "md") {
        let text = std::fs::read_to_string(&full).unwrap();
        if !anchors(&text).contains(&anchor) {
            return Err(format!(
                "`{target}`: {} has no heading whose anchor is `#{anchor}`",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Every broken link of the Markdown files at `root` and under `root/docs`, as `file:line: why`.
fn broken_links(root: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in markdown_files(root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        for (n, target) in link_targets(&text) {
            checked += 1;
            if let Err(why) = check_target(root, &file, &target) {
                problems.push(format!("{}:{n}: {why}", file.display()));
            }
        }
    }
    (checked, problems)
}

// ---- commands ----

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    /// `&&`, `||`, `|`, `;`, `&`: the end of a simple command.
    Separator,
    /// `>`, `>>`, `<`, `2>`, `&>`, …; `true` when it names its target itself (`2>&1`).
    Redirect(bool),
}

/// Splits a shell line as `sh` would into words (quotes removed), separators and redirects; a
/// `#` starting a word begins a comment. Expansions (`$VAR`, `$(…)`) are kept as written.
fn shell_tokens(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    let end_word = |tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                quoted = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars.next().unwrap())
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '#' if !in_word => break,
            ' ' | '\t' => {
                end_word(&mut tokens, &mut word, &mut in_word);
                quoted = false;
            }
            '|' | ';' => {
                end_word(&mut tokens, &mut word, &mut in_word);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                tokens.push(Token::Separator);
                quoted = false;
            }
            '&' => {
                end_word(&mut tokens, &mut word, &mut in_word);
                match chars.peek() {
                    Some('&') => {
                        chars.next();
                        tokens.push(Token::Separator);
                    }
                    Some('>') => {
                        chars.next();
                        tokens.push(redirect_rest(&mut chars));
                    }
                    _ => tokens.push(Token::Separator),
                }
                quoted = false;
            }
            '>' | '<' => {
                // `2>`: the digits before a redirect are its file descriptor, not a word.
                if in_word && !quoted && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                end_word(&mut tokens, &mut word, &mut in_word);
                tokens.push(redirect_rest(&mut chars));
                quoted = false;
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut tokens, &mut word, &mut in_word);
    tokens
}

/// The rest of a redirect operator after its first `>` or `<`: `>>`, `>&1`, `>|`.
fn redirect_rest(chars: &mut std::iter::Peekable<std::str::Chars>) -> Token {
    if matches!(chars.peek(), Some('>' | '|')) {
        chars.next();
    }
    if chars.peek() == Some(&'&') {
        chars.next();
        let mut fd = false;
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || *c == '-')
        {
            chars.next();
            fd = true;
        }
        return Token::Redirect(fd);
    }
    Token::Redirect(false)
}

/// The skconn argument lists of a shell line: each simple command that runs `skconn` (or
/// `cargo run … -- `), with leading `NAME=value` assignments and redirects left out.
fn skconn_invocations(line: &str) -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = vec![Vec::new()];
    let mut skip_target = false;
    for token in shell_tokens(line) {
        match token {
            Token::Separator => commands.push(Vec::new()),
            Token::Redirect(names_target) => skip_target = !names_target,
            Token::Word(_) if skip_target => skip_target = false,
            Token::Word(w) => commands.last_mut().unwrap().push(w),
        }
    }
    commands
        .into_iter()
        .filter_map(|words| {
            let start = words
                .iter()
                .position(|w| !is_assignment(w))
                .unwrap_or(words.len());
            let words = &words[start..];
            match words.first().map(String::as_str) {
                Some("skconn") => Some(words.to_vec()),
                Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
                    let dashes = words.iter().position(|w| w == "--")?;
                    let mut args = vec!["skconn".to_string()];
                    args.extend(words[dashes + 1..].iter().cloned());
                    Some(args)
                }
                _ => None,
            }
        })
        .collect()
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// The command lines shown in `text`'s fenced blocks (see the module docs), with line numbers.
fn command_lines(text: &str) -> Vec<(usize, String)> {
    let (_, blocks) = split_fences(text);
    let mut out = Vec::new();
    for block in blocks {
        let prompt_only = match block.lang.as_str() {
            "sh" | "bash" | "shell" | "zsh" => false,
            "console" | "text" => true,
            _ => continue,
        };
        let mut pending: Option<(usize, String)> = None;
        for (n, line) in &block.lines {
            let (start, mut joined) = match pending.take() {
                Some((start, head)) => (start, head + " " + line.trim()),
                None => {
                    let line = line.trim_start();
                    let command = if prompt_only {
                        match line.strip_prefix("$ ") {
                            Some(c) => c,
                            None => continue,
                        }
                    } else {
                        line
                    };
                    (*n, command.to_string())
                }
            };
            if joined.ends_with('\\') {
                joined.pop();
                pending = Some((start, joined));
                continue;
            }
            out.push((start, joined));
        }
        if let Some(p) = pending {
            out.push(p);
        }
    }
    out
}

/// Every `skconn …` command in `text`'s fenced blocks that the current CLI refuses, as
/// `file:line: why`, and how many were checked.
fn bad_commands(file: &str, text: &str) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (n, line) in command_lines(text) {
        if line.contains('…') {
            continue;
        }
        for args in skconn_invocations(&line) {
            checked += 1;
            if let Err(e) = Cli::try_parse_from(&args) {
                use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
                if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                    continue;
                }
                let why = e.to_string();
                let why = why
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                problems.push(format!("{file}:{n}: `{}`: {why}", args.join(" ")));
            }
        }
    }
    (checked, problems)
}

// ---- the repository's documents ----

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let root = crate_root();
    let files = markdown_files(&root);
    for needed in ["README.md", "docs/README.md"] {
        assert!(
            files.contains(&PathBuf::from(needed)),
            "{needed} is missing: {files:?}"
        );
    }
    let (checked, problems) = broken_links(&root);
    assert!(
        checked > 50,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_docs_page_is_linked_from_the_readme_and_the_docs_index() {
    let root = crate_root();
    for index in ["README.md", "docs/README.md"] {
        let text = std::fs::read_to_string(root.join(index)).unwrap();
        let from_dir = Path::new(index).parent().unwrap();
        let linked: HashSet<PathBuf> = link_targets(&text)
            .into_iter()
            .filter_map(|(_, t)| match repository_target(from_dir, &t) {
                Some(Ok((path, _))) if !t.starts_with('#') => Some(path),
                _ => None,
            })
            .collect();
        let unlinked: Vec<PathBuf> = markdown_files(&root)
            .into_iter()
            .filter(|f| f.starts_with("docs") && f.as_path() != Path::new(index))
            .filter(|f| !linked.contains(f))
            .collect();
        assert!(unlinked.is_empty(), "{index} does not link to {unlinked:?}");
    }
}

#[test]
fn every_skconn_command_in_a_fenced_block_parses_with_the_current_cli() {
    let root = crate_root();
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in markdown_files(&root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let (n, p) = bad_commands(&file.display().to_string(), &text);
        checked += n;
        problems.extend(p);
    }
    assert!(
        checked > 30,
        "only {checked} commands found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "commands the CLI refuses:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_docs_address_a_message_or_template_names_resolves() {
    let root = crate_root();
    let mut sources = vec![root.join("action.yml"), root.join("install.sh")];
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                sources.push(path);
            }
        }
    }
    let mut found = 0;
    let mut problems = Vec::new();
    for source in sources {
        let text = std::fs::read_to_string(&source).unwrap();
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find(REPO_URL) {
                let url: String = rest[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && !"\"'`)>,;".contains(*c))
                    .collect();
                rest = &rest[at + url.len()..];
                let url = url.trim_end_matches('.');
                // The repository's own address (for the action, releases, images) is not a page.
                let page = url[REPO_URL.len()..].trim_end_matches('/');
                if !(page.starts_with("/blob/")
                    || page.starts_with("/tree/")
                    || page.starts_with('#'))
                {
                    continue;
                }
                found += 1;
                let rel = source.strip_prefix(&root).unwrap();
                if let Err(why) = check_target(&root, Path::new("README.md"), url) {
                    problems.push(format!("{}:{}: {why}", rel.display(), i + 1));
                }
                if page.starts_with("/blob/") && !page.starts_with("/blob/main/") {
                    problems.push(format!(
                        "{}:{}: `{url}`: point to the default branch (blob/main)",
                        rel.display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(found > 0, "no message names a docs page");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The rows of the table under `## Keys` in `docs/configuration.md`: each row's first cell, split
/// into its key names.
fn documented_config_keys(text: &str) -> Vec<String> {
    let (prose, _) = split_fences(text);
    let mut keys = Vec::new();
    let mut in_section = false;
    for (_, line) in prose {
        if line.starts_with("## ") {
            in_section = line == "## Keys";
            continue;
        }
        if !in_section || !line.starts_with('|') {
            continue;
        }
        let first = line.trim_start_matches('|').split('|').next().unwrap_or("");
        for name in first.split(',') {
            let name = name.trim();
            if let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
                keys.push(name.to_string());
            }
        }
    }
    keys
}

#[test]
fn the_configuration_page_lists_every_key_of_skconn_yaml_and_no_other() {
    let text = std::fs::read_to_string(crate_root().join("docs/configuration.md")).unwrap();
    let documented: HashSet<String> = documented_config_keys(&text).into_iter().collect();
    let known: HashSet<String> = skconn::vocabulary::config::TOP
        .iter()
        .chain(skconn::vocabulary::config::ENVIRONMENT)
        .map(|k| k.name.to_string())
        .collect();
    let mut missing: Vec<_> = known.difference(&documented).collect();
    let mut unknown: Vec<_> = documented.difference(&known).collect();
    missing.sort();
    unknown.sort();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/configuration.md's table of keys lacks {missing:?} and names keys skconn.yaml does not have: {unknown:?}"
    );
    // The keys of `change_threshold` are named in its row.
    let row = text
        .lines()
        .find(|l| l.starts_with("| `change_threshold`"))
        .unwrap();
    for key in skconn::vocabulary::config::THRESHOLD {
        assert!(
            row.contains(key.name),
            "the change_threshold row lacks {}",
            key.name
        );
    }
}

// ---- the checks can fail ----

#[test]
fn the_link_check_reports_a_missing_file_a_missing_anchor_and_an_escape() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Tool\n\n## Quick start: `tool init`\n\n\
         See [the guide](docs/guide.md#saved-plans), [gone](docs/gone.md), \
         [no such heading](docs/guide.md#nope), [start](#quick-start-tool-init), \
         [self broken](#quick-start), [outside](../elsewhere.md), [site](https://example.com/x#y) \
         and `[code](not/a/link.md)`.\n\n\
         ```sh\n[fenced](not/a/link.md)\n```\n\n[ref]: docs/missing-ref.md\n",
    )
    .unwrap();
    std::fs::write(
        root.join("docs/guide.md"),
        "# Guide\n\n## Saved plans\n\n## Saved plans\n\nBack to [the README](../README.md#tool) \
         and [the second](#saved-plans-1), [a third](#saved-plans-2).\n",
    )
    .unwrap();
    let (checked, problems) = broken_links(root);
    assert_eq!(checked, 11, "{problems:#?}");
    let expected = [
        "README.md:5: `docs/gone.md`: docs/gone.md does not exist",
        "README.md:5: `docs/guide.md#nope`: docs/guide.md has no heading whose anchor is `#nope`",
        "README.md:5: `#quick-start`: README.md has no heading whose anchor is `#quick-start`",
        "README.md:5: `../elsewhere.md` points outside the repository",
        "README.md:11: `docs/missing-ref.md`: docs/missing-ref.md does not exist",
        "docs/guide.md:7: `#saved-plans-2`: docs/guide.md has no heading whose anchor is `#saved-plans-2`",
    ];
    assert_eq!(problems, expected);
}

#[test]
fn the_command_check_reports_a_bad_flag_a_bad_command_and_a_bad_value() {
    let text = "\
```sh
skconn plan --env dev --detailed-exitcode    # fine
skconn plan --detailed-exit-code
cargo run -q -- apply --auto-approve && cargo run -q -- plna
skconn completions bash > ~/.local/share/bash-completion/completions/skconn
skconn plan --format markdown --out plan.json > plan.md 2> plan.err
CI=true skconn apply --env local \\
  --auto-aprove
skconn plan --env … --format yaml
```

```console
$ skconn plan --format yaml
skconn 0.1.0 (abc1234 x86_64-unknown-linux-musl)
error: not a command line, only output
```

```yaml
run: skconn plan --no-such-flag
```
";
    let (checked, problems) = bad_commands("X.md", text);
    assert_eq!(checked, 8, "{problems:#?}");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("X.md:3: `skconn plan --detailed-exit-code`: unexpected argument '--detailed-exit-code'"), "{problems:#?}");
    assert!(
        problems[1].starts_with("X.md:4: `skconn plna`: unrecognized subcommand 'plna'"),
        "{problems:#?}"
    );
    assert!(
        problems[2].starts_with(
            "X.md:7: `skconn apply --env local --auto-aprove`: unexpected argument '--auto-aprove'"
        ),
        "{problems:#?}"
    );
    assert!(
        problems[3].starts_with("X.md:13: `skconn plan --format yaml`: invalid value 'yaml'"),
        "{problems:#?}"
    );
}

#[test]
fn shell_lines_split_as_sh_splits_them() {
    assert_eq!(
        skconn_invocations(r#"skconn completions zsh > "${fpath[1]}/_skconn"  # also: fish"#),
        [["skconn", "completions", "zsh"]]
    );
    assert_eq!(
        skconn_invocations(
            r#"skconn new "Acme CRM" --type 'api-key' --header X\ Key 2>&1 | tee out"#
        ),
        [["skconn", "new", "Acme CRM", "--type", "api-key", "--header", "X Key"]]
    );
    assert_eq!(
        skconn_invocations("cargo run -q -- apply --auto-approve && cargo run -q -- plan"),
        [
            vec!["skconn", "apply", "--auto-approve"],
            vec!["skconn", "plan"]
        ]
    );
    assert!(skconn_invocations("cargo test --locked -- --ignored").is_empty());
    assert!(skconn_invocations("docker run --rm ghcr.io/skconn/skconn:0.1.0 validate").is_empty());
}

#[test]
fn anchors_follow_githubs_slug_rules() {
    let text = "# skconn\n\n## Start a connectors repository: `skconn init`\n\n\
                ## Configuring environments: `skconn.yaml`\n\n### Exit codes\n\n### Exit codes\n\n\
                ## The [emulator](docs/emulator.md)\n\n## snake_case and -dashes- (v2.0)!\n\n\
                ```sh\n# not a heading\n```\n";
    let mut got: Vec<String> = anchors(text).into_iter().collect();
    got.sort();
    assert_eq!(
        got,
        [
            "configuring-environments-skconnyaml",
            "exit-codes",
            "exit-codes-1",
            "skconn",
            "snake_case-and--dashes--v20",
            "start-a-connectors-repository-skconn-init",
            "the-emulator",
        ]
    );
}

// ---- the assistant skill ----

/// The inline code spans of a line, as written between their backticks.
fn code_spans(line: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        match after.find(&"`".repeat(ticks)) {
            Some(end) => {
                spans.push(after[..end].trim().to_string());
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    spans
}

/// `skills/skconn/SKILL.md` is an Agent Skill: YAML front matter with `name` (the folder's name:
/// lowercase letters, digits and hyphens, at most 64) and `description` (at most 1024
/// characters), then instructions. Every tool of `skconn mcp` is named in it; every
/// snake_case name it shows as code is a tool, an argument of one, or a result field the MCP
/// tests check (`fill_in`); every `skconn …` command in it, in a fenced block or inline, parses.
#[test]
fn the_skill_has_its_front_matter_and_names_only_tools_and_commands_that_exist() {
    use skconn::mcp::Tool;
    let rel = "skills/skconn/SKILL.md";
    let text = std::fs::read_to_string(crate_root().join(rel)).unwrap();
    let rest = text.strip_prefix("---\n").expect("front matter first");
    let (front, body) = rest
        .split_once("\n---\n")
        .expect("front matter ends with ---");
    let meta: serde_yaml::Mapping = serde_yaml::from_str(front).expect("front matter is YAML");
    let allowed = [
        "name",
        "description",
        "license",
        "compatibility",
        "metadata",
        "allowed-tools",
    ];
    for k in meta.keys() {
        let k = k.as_str().unwrap_or_default();
        assert!(allowed.contains(&k), "{rel}: unknown front-matter key {k}");
    }
    let name = meta["name"].as_str().expect("name");
    assert_eq!(name, "skconn", "the name is the folder's");
    assert!(
        name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    let description = meta["description"].as_str().expect("description");
    assert!(!description.trim().is_empty() && description.chars().count() <= 1024);

    let tools: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
    let arguments: HashSet<String> = Tool::ALL
        .iter()
        .flat_map(|t| {
            t.input_schema()["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    for t in &tools {
        assert!(
            body.contains(&format!("`{t}`")),
            "{rel} does not name the tool `{t}`"
        );
    }
    let (checked, mut problems) = bad_commands(rel, body);
    assert!(checked >= 5, "only {checked} commands found in {rel}");
    let (prose, _) = split_fences(body);
    for (n, line) in prose {
        for span in code_spans(line) {
            let snake =
                span.contains('_') && span.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if snake
                && !tools.contains(&span.as_str())
                && !arguments.contains(&span)
                && span != "fill_in"
            {
                problems.push(format!(
                    "{rel}:{n}: `{span}` is no tool, argument or result field"
                ));
            }
            if !span.starts_with("skconn ") {
                continue;
            }
            for args in skconn_invocations(&span) {
                if let Err(e) = Cli::try_parse_from(&args) {
                    let why = e.to_string();
                    problems.push(format!(
                        "{rel}:{n}: `{span}`: {}",
                        why.lines().next().unwrap_or("")
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
