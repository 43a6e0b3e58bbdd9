//! The house rules of `src/`, checked by reading the source tree as text (in the habit of
//! rust-analyzer's tidy tests): every `crate::` path points down the declared order of rooms, no
//! files import each other round a circle, `src/` holds `main.rs`, `lib.rs` and folders only, and
//! every module file opens with a `//!` doc saying what it is for.
//!
//! The order of rooms is written once, in `ARCHITECTURE.md` (the `text` block under "The order
//! of rooms", lowest first); this test parses it from there. There are no exceptions.
//!
//! What is read: every `crate::…` path in code (in `use` lines, grouped `use crate::{a::…, b::…}`
//! included, and in expressions and types), `super::…` and `self::…` paths (inline `mod tests`
//! taken into account), and, in a file that declares child modules, paths that start with a
//! child's name. Comments and string literals are not code and are not read. A path points at
//! the deepest module file it names.
//!
//! A file may use the files above it in its own module tree (a child its parent, the room's
//! face, as Rust's privacy lets it); every other arrow — between sibling files, from a parent to
//! its children, across rooms — counts, and none may close a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One module file: its path as shown (`src/model/mod.rs`), its module path (`["model"]`) and its
/// text.
struct File {
    shown: String,
    module: Vec<String>,
    text: String,
}

/// One dependency of a file on another: where it is written and how.
#[derive(Clone)]
struct Edge {
    to: usize,
    line: usize,
    import: String,
}

/// The order of rooms, lowest first, from the `text` block under "The order of rooms" in
/// `ARCHITECTURE.md`. A line may hold several rooms separated by spaces: rooms of one line stand
/// on the lines below and never import each other.
fn declared_order(architecture: &str) -> Vec<Vec<String>> {
    let after = architecture
        .split_once("## The order of rooms")
        .expect("ARCHITECTURE.md has a section \"## The order of rooms\"")
        .1;
    let block = after
        .split_once("```text\n")
        .expect("the section \"The order of rooms\" holds a ```text block")
        .1
        .split_once("```")
        .expect("the ```text block of \"The order of rooms\" is closed")
        .0;
    block
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .map(|line| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|rooms| !rooms.is_empty())
        .collect()
}

/// The module path of a file below `src/`: `model/mod.rs` → `model`, `run/apply.rs` →
/// `run::apply`, `lib.rs` → the crate root. `None` for `main.rs` (the binary, not the library).
fn module_of(relative: &str) -> Option<Vec<String>> {
    let stem = relative.strip_suffix(".rs")?;
    if stem == "main" {
        return None;
    }
    if stem == "lib" {
        return Some(Vec::new());
    }
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    Some(parts)
}

/// The text with comments and the contents of string and character literals replaced by
/// spaces, newlines kept, so that positions and line numbers stay those of the source.
fn code_only(text: &str) -> Vec<char> {
    let src: Vec<char> = text.chars().collect();
    let mut out = src.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in out.iter_mut().take(to).skip(from) {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let next = src.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = src[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(src.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < src.len() && depth > 0 {
                if src[j] == '/' && src.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if src[j] == '*' && src.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && (i == 0 || !ident(src[i - 1]))
            && {
                let k = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = src[k..].iter().take_while(|&&c| c == '#').count();
                src.get(k + hashes) == Some(&'"')
            }
        {
            let k = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = src[k..].iter().take_while(|&&c| c == '#').count();
            let start = k + hashes + 1;
            let mut j = start;
            while j < src.len() {
                if src[j] == '"'
                    && src[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&c| c == '#')
                        .count()
                        == hashes
                {
                    break;
                }
                j += 1;
            }
            blank(&mut out, start, j);
            i = (j + 1 + hashes).min(src.len());
        } else if c == '"' {
            let mut j = i + 1;
            while j < src.len() && src[j] != '"' {
                j += if src[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j.min(src.len()));
            i = j + 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if next == Some('\\') {
                let end = src[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(src.len(), |p| i + 2 + p);
                blank(&mut out, i + 1, end);
                i = end + 1;
            } else if src.get(i + 2) == Some(&'\'') {
                blank(&mut out, i + 1, i + 2);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A reader of paths in code: `start` is where the first segment begins; returns every full
/// path written there (a group `{a, b::c}` gives several), each with the text as written.
struct Paths<'a> {
    code: &'a [char],
}

impl Paths<'_> {
    fn skip_space(&self, mut i: usize) -> usize {
        while i < self.code.len() && self.code[i].is_whitespace() {
            i += 1;
        }
        i
    }

    /// Every identifier of the code: where it starts, the word, where it ends, and the character
    /// before it.
    fn words(&self) -> Vec<(usize, String, usize, char)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.code.len() {
            match self.ident(i) {
                Some((word, end)) => {
                    let before = if i == 0 { ' ' } else { self.code[i - 1] };
                    out.push((i, word, end, before));
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    fn ident(&self, i: usize) -> Option<(String, usize)> {
        let mut j = i;
        while j < self.code.len() && (self.code[j].is_alphanumeric() || self.code[j] == '_') {
            j += 1;
        }
        (j > i).then(|| (self.code[i..j].iter().collect(), j))
    }

    /// Reads `seg::seg::…`, `seg::{…}` or `*` from `i`, adding each path to `out` after `prefix`.
    fn tree(&self, i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
        let mut path = prefix.to_vec();
        let mut i = self.skip_space(i);
        loop {
            if self.code.get(i) == Some(&'{') {
                i += 1;
                loop {
                    i = self.skip_space(i);
                    match self.code.get(i) {
                        Some('}') => return i + 1,
                        Some(',') => i += 1,
                        None => return i,
                        _ => {
                            let before = i;
                            i = self.tree(i, &path, out);
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            if self.code.get(i) == Some(&'*') {
                out.push(path);
                return i + 1;
            }
            let Some((segment, end)) = self.ident(i) else {
                if path.len() > prefix.len() {
                    out.push(path);
                }
                return i;
            };
            if segment != "self" || path.is_empty() {
                path.push(segment);
            }
            i = self.skip_space(end);
            if self.code.get(i) == Some(&':') && self.code.get(i + 1) == Some(&':') {
                i = self.skip_space(i + 2);
                continue;
            }
            out.push(path);
            return i;
        }
    }
}

/// The file a module path names: the deepest module file that is a prefix of it.
fn target(modules: &BTreeMap<Vec<String>, usize>, path: &[String]) -> Option<usize> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n]).copied())
}

/// The inline modules of a file (`mod tests { … }`): where each begins and ends, and its name.
fn inline_modules(code: &[char], reader: &Paths) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (_, word, end, before) in reader.words() {
        if word == "mod" && !(before.is_alphanumeric() || before == '_') {
            let at_name = reader.skip_space(end);
            if let Some((name, after)) = reader.ident(at_name) {
                let open = reader.skip_space(after);
                if code.get(open) == Some(&'{') {
                    let mut depth = 0usize;
                    let mut close = open;
                    for (n, c) in code.iter().enumerate().skip(open) {
                        match c {
                            '{' => depth += 1,
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    close = n;
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    found.push((open, close, name));
                }
            }
        }
    }
    found
}

/// Every dependency of every file, by reading its paths.
fn edges(files: &[File]) -> Vec<Vec<Edge>> {
    let modules: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(n, f)| (f.module.clone(), n))
        .collect();
    files
        .iter()
        .enumerate()
        .map(|(me, file)| {
            let code = code_only(&file.text);
            let reader = Paths { code: &code };
            let line_of = |pos: usize| code[..pos].iter().filter(|&&c| c == '\n').count() + 1;
            // The child modules this file declares (`mod x;`), for paths that start with one.
            let children: BTreeSet<String> = file
                .text
                .lines()
                .filter_map(|l| {
                    let l = l.trim_start();
                    let l = l
                        .strip_prefix("pub(crate) ")
                        .or_else(|| l.strip_prefix("pub "))
                        .unwrap_or(l);
                    l.strip_prefix("mod ")?
                        .strip_suffix(';')
                        .map(str::to_string)
                })
                .collect();
            let inline = inline_modules(&code, &reader);
            // The module a position is in: the file's, then the inline modules around it.
            let module_at = |pos: usize| {
                let mut module = file.module.clone();
                module.extend(
                    inline
                        .iter()
                        .filter(|(from, to, _)| *from <= pos && pos < *to)
                        .map(|(_, _, name)| name.clone()),
                );
                module
            };
            let mut found: Vec<Edge> = Vec::new();
            let mut read_to = 0;
            for (i, word, end, before) in reader.words() {
                if i < read_to {
                    continue;
                }
                let after_colons = i >= 2 && code[i - 1] == ':' && code[i - 2] == ':';
                let starts_path = code.get(end) == Some(&':') && code.get(end + 1) == Some(&':');
                let base: Option<Vec<String>> = if !starts_path || before == '$' || after_colons {
                    None
                } else if word == "crate" {
                    Some(Vec::new())
                } else if word == "self" {
                    Some(module_at(i))
                } else if word == "super" {
                    let mut up = module_at(i);
                    up.pop();
                    Some(up)
                } else if children.contains(&word) && module_at(i) == file.module {
                    Some(file.module.clone())
                } else {
                    None
                };
                let Some(base) = base else {
                    continue;
                };
                let mut paths = Vec::new();
                let first = if matches!(word.as_str(), "crate" | "self" | "super") {
                    end + 2
                } else {
                    i
                };
                let stop = reader.tree(first, &base, &mut paths);
                for path in paths {
                    let Some(to) = target(&modules, &path) else {
                        continue;
                    };
                    // A file may use what the files above it in the module tree define (a
                    // child its parent, the room's face): that is the tree, not a circle.
                    if to == me || file.module.starts_with(&files[to].module) {
                        continue;
                    }
                    if !found.iter().any(|e| e.to == to) {
                        found.push(Edge {
                            to,
                            line: line_of(i),
                            import: format!("crate::{}", path.join("::")),
                        });
                    }
                }
                read_to = stop.max(end);
            }
            found
        })
        .collect()
}

/// Every breach of the house rules in `files`, one message each, in file order.
fn problems(files: &[File], order: &[Vec<String>]) -> Vec<String> {
    let level = |room: &str| order.iter().position(|l| l.iter().any(|r| r == room));
    let mut out = Vec::new();
    for file in files {
        let first = file.text.lines().find(|l| !l.trim().is_empty());
        if !first.is_some_and(|l| l.trim_start().starts_with("//!")) {
            out.push(format!(
                "{}:1: the module has no `//!` doc: say what it is for and what it must never do",
                file.shown
            ));
        }
        if let Some(room) = file.module.first() {
            if level(room).is_none() {
                out.push(format!(
                    "{}:1: room `{room}` is not in the declared order of rooms (ARCHITECTURE.md, \
                     \"The order of rooms\"): add it where it stands",
                    file.shown
                ));
            }
        }
    }
    let edges = edges(files);
    // Arrows between rooms point down the declared order.
    for (from, list) in edges.iter().enumerate() {
        for edge in list {
            let (Some(a), Some(b)) = (files[from].module.first(), files[edge.to].module.first())
            else {
                continue;
            };
            if a == b {
                continue;
            }
            if let (Some(la), Some(lb)) = (level(a), level(b)) {
                if lb >= la {
                    let why = if lb == la {
                        "stands on the same level as"
                    } else {
                        "stands above"
                    };
                    out.push(format!(
                        "{}:{}: `{}` points up the order of rooms: room `{b}` {why} room `{a}` \
                         (ARCHITECTURE.md, \"The order of rooms\"); move what is shared down",
                        files[from].shown, edge.line, edge.import
                    ));
                }
            }
        }
    }
    // No circle between files: every strongly connected group of two or more files is one.
    for group in circles(files.len(), &edges) {
        let start = *group.iter().min().expect("a circle has files");
        let walk = walk_circle(start, &group, &edges);
        let mut text = String::new();
        for (file, edge) in &walk {
            text.push_str(&format!(
                "{}:{} `{}` → ",
                files[*file].shown, edge.line, edge.import
            ));
        }
        text.push_str(&files[start].shown);
        let knot = if group.len() > walk.len() {
            let mut all: Vec<&str> = group.iter().map(|&f| files[f].shown.as_str()).collect();
            if all.len() > 12 {
                all.truncate(12);
                all.push("…");
            }
            format!(
                " (one of the circles in a knot of {} files: {})",
                group.len(),
                all.join(", ")
            )
        } else {
            String::new()
        };
        out.push(format!(
            "circle between files: {text}{knot}; move the shared piece down into a file both use"
        ));
    }
    out
}

/// The strongly connected groups of two or more files (Tarjan's algorithm), each sorted.
fn circles(n: usize, edges: &[Vec<Edge>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [Vec<Edge>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        groups: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for e in &s.edges[v] {
            match s.index[e.to] {
                None => {
                    visit(s, e.to);
                    s.low[v] = s.low[v].min(s.low[e.to]);
                }
                Some(i) if s.on_stack[e.to] => s.low[v] = s.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut group = Vec::new();
            loop {
                let w = s.stack.pop().expect("v is on the stack");
                s.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort_unstable();
                s.groups.push(group);
            }
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        groups: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.groups.sort();
    s.groups
}

/// One shortest way round a circle from `start` back to it, inside `group`: each file with the
/// import that leads on.
fn walk_circle(start: usize, group: &[usize], edges: &[Vec<Edge>]) -> Vec<(usize, Edge)> {
    // Breadth first from start, back to start.
    let mut came: BTreeMap<usize, (usize, Edge)> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for e in &edges[v] {
            if !group.contains(&e.to) {
                continue;
            }
            if e.to == start {
                let mut walk = vec![(v, e.clone())];
                let mut at = v;
                while at != start {
                    let (prev, edge) = came[&at].clone();
                    walk.push((prev, edge));
                    at = prev;
                }
                walk.reverse();
                return walk;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = came.entry(e.to) {
                slot.insert((v, e.clone()));
                queue.push_back(e.to);
            }
        }
    }
    Vec::new()
}

fn read_tree(dir: &Path, root: &Path, out: &mut Vec<File>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("src/ is readable").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(root)
                .expect("below src/")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("source files are UTF-8");
            let module = module_of(&relative);
            let shown = format!("src/{relative}");
            match module {
                Some(module) => out.push(File {
                    shown,
                    module,
                    text,
                }),
                // main.rs: its doc is checked; it uses the library by its name, not `crate::`.
                None => out.push(File {
                    shown,
                    module: vec!["main.rs".into()],
                    text,
                }),
            }
        }
    }
}

#[test]
fn the_house_keeps_its_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md is at the root");
    let mut order = declared_order(&architecture);
    // The binary is above every room: it only calls `run`.
    order.push(vec!["main.rs".into()]);
    let mut files = Vec::new();
    read_tree(&root.join("src"), &root.join("src"), &mut files);
    assert!(files.len() > 50, "src/ was read");
    let problems = problems(&files, &order);
    assert!(
        problems.is_empty(),
        "the house rules are broken ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn src_holds_folders_only_beside_main_and_lib() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut loose: Vec<String> = std::fs::read_dir(&root)
        .expect("src/ is readable")
        .map(|e| e.expect("src/ is readable").path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "main.rs" && name != "lib.rs")
        .collect();
    loose.sort();
    assert!(
        loose.is_empty(),
        "src/ holds main.rs, lib.rs and folders only; move these into their room: {loose:?}"
    );
}

#[test]
fn the_order_is_the_one_architecture_md_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let order = declared_order(&architecture);
    let lowest = &order[0];
    assert_eq!(lowest, &["base"], "the lowest room uses nothing else");
    assert_eq!(order.last().unwrap(), &["run"], "run wires every command");
}

/// Planted trees: the checks can fail, and say where.
fn planted(files: &[(&str, &str)]) -> Vec<File> {
    files
        .iter()
        .map(|(path, text)| File {
            shown: format!("src/{path}"),
            module: module_of(path).unwrap(),
            text: (*text).to_string(),
        })
        .collect()
}

fn planted_order() -> Vec<Vec<String>> {
    declared_order("## The order of rooms\n\n```text\nbase\nmodel  vocabulary\nplan\n```\n")
}

#[test]
fn an_upward_import_is_named_with_its_file_and_line() {
    let files = planted(&[
        (
            "lib.rs",
            "//! root\npub mod base;\npub mod model;\npub mod plan;\n",
        ),
        ("base/mod.rs", "//! base\n"),
        (
            "model/mod.rs",
            "//! model\n\nuse crate::{base, plan::diff::Change};\n",
        ),
        ("plan/mod.rs", "//! plan\npub mod diff;\n"),
        (
            "plan/diff.rs",
            "//! diff\nuse crate::base;\npub struct Change;\n",
        ),
    ]);
    assert_eq!(
        problems(&files, &planted_order()),
        [
            "src/model/mod.rs:3: `crate::plan::diff::Change` points up the order of rooms: room \
          `plan` stands above room `model` (ARCHITECTURE.md, \"The order of rooms\"); move what \
          is shared down"
        ]
    );
}

#[test]
fn rooms_of_one_level_do_not_import_each_other() {
    let files = planted(&[
        (
            "model/mod.rs",
            "//! model\nfn f() { crate::vocabulary::TOP; }\n",
        ),
        ("vocabulary/mod.rs", "//! vocabulary\n"),
    ]);
    assert_eq!(
        problems(&files, &planted_order()),
        [
            "src/model/mod.rs:2: `crate::vocabulary::TOP` points up the order of rooms: room \
          `vocabulary` stands on the same level as room `model` (ARCHITECTURE.md, \"The order of \
          rooms\"); move what is shared down"
        ]
    );
}

#[test]
fn a_circle_between_files_is_named_round_its_way() {
    // Two files of one room; `normalize` uses `model/fields.rs` through `super`, and the
    // parent's name for its child is a path too.
    let files = planted(&[
        (
            "model/mod.rs",
            "//! model\nmod fields;\nmod normalize;\n\npub fn f() { normalize::g() }\n",
        ),
        (
            "model/fields.rs",
            "//! fields\npub fn h() { crate::model::normalize::g() }\n",
        ),
        (
            "model/normalize.rs",
            "//! normalize\nuse super::fields::h;\npub fn g() {}\n",
        ),
    ]);
    assert_eq!(
        problems(&files, &planted_order()),
        [
            "circle between files: src/model/fields.rs:2 `crate::model::normalize::g` → \
          src/model/normalize.rs:2 `crate::model::fields::h` → src/model/fields.rs; move the \
          shared piece down into a file both use"
        ]
    );
}

#[test]
fn a_child_may_use_its_parent() {
    let files = planted(&[
        (
            "model/mod.rs",
            "//! model\nmod normalize;\n\npub fn f() { normalize::g() }\npub struct Model;\n",
        ),
        (
            "model/normalize.rs",
            "//! normalize\nuse super::Model;\npub fn g() {}\n",
        ),
    ]);
    assert_eq!(problems(&files, &planted_order()), Vec::<String>::new());
}

#[test]
fn a_longer_circle_and_a_missing_doc_are_found() {
    let files = planted(&[
        ("plan/a.rs", "//! a\nuse crate::plan::b::X;\n"),
        ("plan/b.rs", "//! b\nuse crate::plan::c::{self, Y};\n"),
        (
            "plan/c.rs",
            "// not a module doc\nfn f() { crate::plan::a::Z }\n",
        ),
    ]);
    assert_eq!(
        problems(&files, &planted_order()),
        [
            "src/plan/c.rs:1: the module has no `//!` doc: say what it is for and what it must \
             never do",
            "circle between files: src/plan/a.rs:2 `crate::plan::b::X` → src/plan/b.rs:2 \
             `crate::plan::c` → src/plan/c.rs:2 `crate::plan::a::Z` → src/plan/a.rs; move the \
             shared piece down into a file both use",
        ]
    );
}

#[test]
fn comments_strings_and_macros_are_not_imports() {
    let files = planted(&[
        (
            "model/mod.rs",
            "//! model: see [`crate::plan::Plan`]\n// crate::plan::x\nconst S: &str = \"crate::plan::y\";\n\
             const R: &str = r#\"crate::plan::z\"#;\nconst C: char = '\"';\nfn f<'a>(_: &'a str) {}\n\
             macro_rules! m { () => { $crate::plan::w } }\n/* crate::plan::v */\n",
        ),
        ("plan/mod.rs", "//! plan\nuse crate::model;\n"),
    ]);
    assert_eq!(problems(&files, &planted_order()), Vec::<String>::new());
}

#[test]
fn a_room_outside_the_order_is_named() {
    let files = planted(&[("mystery/mod.rs", "//! what is this\n")]);
    assert_eq!(
        problems(&files, &planted_order()),
        [
            "src/mystery/mod.rs:1: room `mystery` is not in the declared order of rooms \
          (ARCHITECTURE.md, \"The order of rooms\"): add it where it stands"
        ]
    );
}
