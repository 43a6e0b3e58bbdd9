//! Tests of the loader: the example connectors, every invalid fixture (driven by the
//! `# expect:` lines at the top of each fixture), checks across files, and hostile input.

use serde_json::json;
use skconn::base::error::Diagnostic;
use skconn::load::{
    load_bytes, load_dir, load_dir_report, load_dir_reporting, load_str, LoadOptions,
};
use skconn::model::FileWarningKind;
use skconn::yaml::MAX_FILE_BYTES;
use std::fs;
use std::path::{Path, PathBuf};

/// One `# expect: <line>:<col> <field or -> <message substring>` line of a fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub line: usize,
    pub column: usize,
    pub field: Option<String>,
    pub message: String,
}

/// The expectations written at the top of a fixture, in order.
pub fn expectations(text: &str) -> Vec<Expect> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ' ');
            let pos = parts.next().expect("position");
            let field = parts.next().expect("field");
            let message = parts.next().expect("message").to_string();
            let (line, column) = pos.split_once(':').expect("line:col");
            Expect {
                line: line.parse().expect("line"),
                column: column.parse().expect("column"),
                field: (field != "-").then(|| field.to_string()),
                message,
            }
        })
        .collect()
}

/// The repository's directory, which holds `connectors/` and `tests/fixtures/`.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The invalid fixtures: (file name, text), sorted.
pub fn invalid_fixtures() -> Vec<(String, String)> {
    let dir = repo().join("tests/fixtures/invalid");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).expect("fixture text"))
        })
        .collect();
    out.sort();
    out
}

fn matches(d: &Diagnostic, file: &Path, e: &Expect) -> bool {
    d.file == file
        && d.line == e.line
        && d.column == e.column
        && d.field == e.field
        && d.message.contains(&e.message)
}

/// Asserts that `diags` for `file` are exactly `expected`, in order, each with a help text.
fn assert_expected(file: &Path, diags: &[&Diagnostic], expected: &[Expect]) {
    let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        diags.len(),
        expected.len(),
        "{}: expected {expected:#?}\ngot {shown:#?}",
        file.display()
    );
    for (d, e) in diags.iter().zip(expected) {
        assert!(
            matches(d, file, e),
            "{}: expected {e:?}\ngot {d:?}",
            file.display()
        );
        let help = d.help.as_deref().unwrap_or_default();
        assert!(!help.trim().is_empty(), "no help: {d:?}");
        let text = d.to_string();
        assert!(text.contains(&file.display().to_string()), "{text}");
        assert!(text.contains("help: "), "{text}");
    }
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, bytes).unwrap();
}

/// A temporary repository with a `connectors/` directory.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("connectors")).unwrap();
        Repo { dir }
    }
    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn connectors(&self) -> PathBuf {
        self.root().join("connectors")
    }
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.connectors().join(name);
        write(&p, bytes);
        p
    }
    fn load(&self) -> Result<Vec<skconn::model::Desired>, Vec<Diagnostic>> {
        load_dir(self.root(), &self.connectors())
    }
    fn errors(&self) -> Vec<Diagnostic> {
        self.load().expect_err("the load should fail")
    }
}

const VALID: &str = "display_name: Acme CRM
proxy_url: https://api.acme.example
auth_patterns:
  - type: BEARER
    fields:
      - field_name: token
        input_type: password
";

/// The only diagnostic of a failed load, which must name `file`.
fn only(diags: &[Diagnostic], file: &str) -> Diagnostic {
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = diags[0].clone();
    assert_eq!(d.file, Path::new(file), "{d:?}");
    assert!(
        d.help.as_deref().is_some_and(|h| !h.is_empty()),
        "no help: {d:?}"
    );
    d
}

// ---- the examples --------------------------------------------------------------------------

#[test]
fn the_example_connectors_load_cleanly() {
    let root = repo();
    let loaded = load_dir_report(&root, &root.join("connectors")).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(!loaded.dir_missing);
    let files: Vec<String> = loaded
        .connectors
        .iter()
        .map(|c| c.origin.file.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "connectors/asana.yaml",
            "connectors/datadog.yaml",
            "connectors/deepwiki-mcp.yaml",
            "connectors/freshdesk.yaml",
            "connectors/github-copilot-mcp.yaml",
            "connectors/klaviyo.yaml",
            "connectors/vercel.yaml",
            "connectors/zendesk.yaml",
        ]
    );
    for c in &loaded.connectors {
        let body = c.body.as_object().unwrap();
        assert_eq!(body["display_name"], c.display_name.as_str());
        assert_eq!(body["proxy_enabled"], true, "{}", c.display_name);
        assert!(!body.contains_key("skconn"));
    }
    let freshdesk = &loaded.connectors[3];
    assert_eq!(freshdesk.display_name, "Freshdesk Helpdesk");
    assert_eq!(freshdesk.previous_names, ["Freshdesk"]);
    // Keys keep the file's order; proxy_enabled is added last.
    let keys: Vec<&String> = freshdesk.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "display_name",
            "description",
            "proxy_url",
            "auth_patterns",
            "proxy_enabled"
        ]
    );
}

#[test]
fn valid_fixtures_cover_pass_through_merge_keys_subfolders_and_ignored_files() {
    let root = repo().join("tests/fixtures");
    let loaded = load_dir_report(&root, &root.join("valid")).expect("valid fixtures");
    let files: Vec<String> = loaded
        .connectors
        .iter()
        .map(|c| c.origin.file.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "valid/anchors_and_merge.yml",
            "valid/nested/rest/bearer.yaml",
            "valid/pass_through.yaml",
            "valid/proxy_disabled.yaml",
            "valid/unknown_input_type.yaml",
        ]
    );
    assert_eq!(
        loaded.ignored,
        [
            PathBuf::from("valid/.draft.yaml"),
            PathBuf::from("valid/notes.md")
        ]
    );
    let merged = &loaded.connectors[0].body["auth_patterns"][0]["fields"][1];
    assert_eq!(merged["field_name"], "username");
    assert_eq!(merged["input_type"], "text");
    let pass = &loaded.connectors[2].body;
    assert_eq!(pass["connection_timeout"], 30);
    assert_eq!(pass["auth_patterns"][0]["beta_flag"], true);
    assert_eq!(
        pass["auth_patterns"][0]["fields"][0]["connection_timeout"],
        json!({"seconds": 5})
    );
    assert_eq!(loaded.connectors[3].body["proxy_enabled"], false);
}

// ---- the invalid fixtures ------------------------------------------------------------------

#[test]
fn every_invalid_fixture_reports_exactly_what_its_expect_lines_say() {
    let fixtures = invalid_fixtures();
    assert!(fixtures.len() >= 60, "{} fixtures", fixtures.len());
    for (name, text) in &fixtures {
        let expected = expectations(text);
        assert!(!expected.is_empty(), "{name} has no `# expect:` line");
        let repo = Repo::new();
        repo.file(name, text);
        let diags = repo.errors();
        let file = Path::new("connectors").join(name);
        assert_expected(&file, &diags.iter().collect::<Vec<_>>(), &expected);
    }
}

#[test]
fn the_invalid_fixtures_loaded_together_report_the_same_and_nothing_more() {
    let root = repo().join("tests/fixtures");
    let diags = load_dir(&root, &root.join("invalid")).expect_err("invalid");
    let fixtures = invalid_fixtures();
    let total: usize = fixtures.iter().map(|(_, t)| expectations(t).len()).sum();
    assert_eq!(diags.len(), total);
    for (name, text) in &fixtures {
        let file = Path::new("invalid").join(name);
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| d.file == file).collect();
        assert_expected(&file, &mine, &expectations(text));
    }
    // Ordered by file, then line.
    let keys: Vec<_> = diags
        .iter()
        .map(|d| (d.file.clone(), d.line, d.column))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn a_file_with_several_problems_reports_all_of_them_in_line_order() {
    let text =
        fs::read_to_string(repo().join("tests/fixtures/invalid/several_problems.yaml")).unwrap();
    let diags = load_str(Path::new("x.yaml"), &text).unwrap_err();
    assert_eq!(diags.len(), 5, "{diags:#?}");
    let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
    assert_eq!(lines, [7, 8, 9, 11, 13]);
}

#[test]
fn a_duplicate_key_does_not_hide_the_problems_after_it() {
    // The case that used to need five runs: each problem appeared only once the one before it
    // was fixed.
    let text = "display_name: Acme\nproxy_url: http://{{tenant}}.acme.test\nproxy_url: https://acme.test\nmetadata:\n  managed_by: me\nauth_patterns:\n  - type: BEARR\n";
    let diags = load_str(Path::new("a.yaml"), text).unwrap_err();
    let got: Vec<(usize, usize, &str)> = diags
        .iter()
        .map(|d| (d.line, d.column, d.field.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(
        got,
        [
            (2, 12, "proxy_url"),
            (2, 12, "proxy_url"),
            (3, 1, "proxy_url"),
            (5, 3, "metadata.managed_by"),
            (7, 11, "auth_patterns[0].type"),
        ],
        "{diags:#?}"
    );
    assert!(diags[2].message.contains("duplicate key `proxy_url`"));
}

#[test]
fn a_syntax_error_says_the_likely_cause_and_keeps_the_parser_words_in_the_help() {
    let text = "display_name: A\nauth_patterns:\n  - type: BEARER\n   fields: []\n";
    let diags = load_str(Path::new("a.yaml"), text).unwrap_err();
    let d = only(&diags, "a.yaml");
    assert_eq!((d.line, d.column), (4, 4));
    assert_eq!(
        d.message,
        "wrong indentation: this line starts at column 4, but the items of the list that starts at line 3 are at column 3"
    );
    let help = d.help.unwrap();
    assert!(
        help.ends_with("(the YAML parser says: did not find expected '-' indicator at line 4 column 4, while parsing a block collection at line 3 column 3)"),
        "{help}"
    );
}

#[test]
fn tabs_are_reported_and_the_file_is_checked_past_them() {
    // Line 5 holds a tab; read as 8 spaces the rest is a field without `input_type`, and the
    // name's hyphen is reported in the same run.
    let text = "display_name: Tab-Name\nproxy_url: https://a.example.com\nauth_patterns:\n  - type: BEARER\n    fields:\n\t- field_name: token\n";
    let diags = load_str(Path::new("a.yaml"), text).unwrap_err();
    let got: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(got, [(1, 15), (6, 1), (6, 4)], "{diags:#?}");
    assert!(diags[1]
        .message
        .contains("a tab character is used for indentation"));
    assert!(
        diags[2].message.contains("has no `input_type`"),
        "{:?}",
        diags[2]
    );
    // A tab the text cannot be read past is reported alone.
    let diags = load_str(Path::new("a.yaml"), "a: [\n\t: :\n").unwrap_err();
    assert!(diags[0].message.contains("tab"), "{diags:#?}");
}

#[test]
fn template_leftovers_odd_spaces_and_unknown_values_are_warnings_with_their_places() {
    let repo = Repo::new();
    repo.file(
        "t.yaml",
        "# FILL IN: the API's base URL.
display_name: \"Acme  CRM \"
description: FILL IN
proxy_url: https://api.example.com/v1
icon_src: https://cdn.acme.test/i.svg
auth_patterns:
  - type: OAUTH
    oauth_config:
      authorize_uri: https://auth.example.org/authorize
      token_uri: https://localhost/token
    fields:
      - field_name: site
        input_type: url
",
    );
    let report = load_dir_reporting(repo.root(), &repo.connectors(), &LoadOptions::none());
    let loaded = report.loaded.expect("warnings do not make a file invalid");
    let got: Vec<(usize, usize, FileWarningKind, Option<&str>)> = report
        .warnings
        .iter()
        .map(|w| {
            let d = &w.diagnostic;
            (d.line, d.column, w.kind, d.field.as_deref())
        })
        .collect();
    use FileWarningKind::*;
    assert_eq!(
        got,
        [
            (1, 3, TemplateMarker, None),
            (2, 15, DisplayNameSpaces, Some("display_name")),
            (3, 14, TemplateMarker, Some("description")),
            (4, 12, ExampleHost, Some("proxy_url")),
            (5, 11, ExampleHost, Some("icon_src")),
            (
                9,
                22,
                ExampleHost,
                Some("auth_patterns[0].oauth_config.authorize_uri")
            ),
            (
                10,
                18,
                ExampleHost,
                Some("auth_patterns[0].oauth_config.token_uri")
            ),
            (
                13,
                21,
                UnknownValue,
                Some("auth_patterns[0].fields[0].input_type")
            ),
        ],
        "{:#?}",
        report.warnings
    );
    let message = |i: usize| report.warnings[i].diagnostic.message.as_str();
    assert!(
        message(1).contains("a trailing space and doubled spaces"),
        "{}",
        message(1)
    );
    assert!(message(1).contains("`Acme CRM`"));
    assert!(message(3).contains("`api.example.com` is a domain reserved for examples (RFC 2606)"));
    assert!(message(6).contains("this machine"), "{}", message(6));
    assert!(
        message(7).contains("(skconn knows text, password, select, textarea)"),
        "{}",
        message(7)
    );
    for w in &report.warnings {
        assert!(w.diagnostic.help.as_deref().is_some_and(|h| !h.is_empty()));
    }
    // Each connector carries its own, for the plan; the unknown value is sent as written.
    let c = &loaded.connectors[0];
    assert_eq!(c.warnings, report.warnings);
    assert_eq!(c.body["auth_patterns"][0]["fields"][0]["input_type"], "url");
    assert_eq!(c.display_name, "Acme  CRM ");
}

#[test]
fn warnings_come_with_the_problems_of_the_same_run() {
    let repo = Repo::new();
    repo.file(
        "t.yaml",
        "display_name: Broken-Name\nproxy_url: https://api.example.com\nauth_patterns:\n  - type: NO_AUTH\n    is_mcp: true\n",
    );
    let report = load_dir_reporting(repo.root(), &repo.connectors(), &LoadOptions::none());
    assert_eq!(report.loaded.unwrap_err().len(), 1);
    assert_eq!(report.warnings.len(), 1, "{:#?}", report.warnings);
    assert_eq!(report.warnings[0].kind, FileWarningKind::ExampleHost);
}

#[test]
fn an_unknown_input_type_is_a_warning_but_an_unknown_auth_type_stays_an_error() {
    let text = VALID.replace("input_type: password", "input_type: url");
    let d = load_str(Path::new("a.yaml"), &text).expect("an unknown input_type loads");
    let unknown: Vec<_> = d
        .warnings
        .iter()
        .filter(|w| w.kind == FileWarningKind::UnknownValue)
        .collect();
    assert_eq!(unknown.len(), 1, "{:#?}", d.warnings);
    assert_eq!(
        unknown[0].diagnostic.field.as_deref(),
        Some("auth_patterns[0].fields[0].input_type")
    );
    let text = VALID.replace("type: BEARER", "type: MAGIC_LINK");
    let diags = load_str(Path::new("a.yaml"), &text).unwrap_err();
    assert!(diags[0].message.contains("unknown auth type `MAGIC_LINK`"));
}

#[test]
fn an_unknown_key_suggests_the_key_it_resembles() {
    let text = VALID.replace("proxy_url", "proxy_ulr");
    let diags = load_str(Path::new("connectors/acme.yaml"), &text).unwrap_err();
    let d = diags
        .iter()
        .find(|d| d.field.as_deref() == Some("proxy_ulr"))
        .expect("unknown key");
    assert_eq!((d.line, d.column), (2, 1));
    assert_eq!(d.help.as_deref(), Some("did you mean `proxy_url`?"));
    assert_eq!(
        d.to_string(),
        "connectors/acme.yaml:2:1: proxy_ulr: unknown key `proxy_ulr` in the connector\n  help: did you mean `proxy_url`?"
    );
}

// ---- across files --------------------------------------------------------------------------

#[test]
fn display_names_and_previous_names_collide_across_files() {
    let root = repo().join("tests/fixtures");
    let dir = root.join("duplicate_names");
    let diags = load_dir(&root, &dir).expect_err("duplicates");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut total = 0;
    for path in names {
        let expected = expectations(&fs::read_to_string(&path).unwrap());
        total += expected.len();
        let file = Path::new("duplicate_names").join(path.file_name().unwrap());
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| d.file == file).collect();
        assert_expected(&file, &mine, &expected);
    }
    assert_eq!(diags.len(), total);
}

#[test]
fn a_duplicate_name_is_reported_next_to_the_other_problems_of_the_file() {
    let repo = Repo::new();
    repo.file("a.yaml", VALID);
    repo.file("b.yaml", format!("{VALID}colour: blue\n"));
    let diags = repo.errors();
    assert_eq!(diags.len(), 2, "{diags:#?}");
    assert!(diags
        .iter()
        .all(|d| d.file == Path::new("connectors/b.yaml")));
    assert!(
        diags[0].message.contains("connectors/a.yaml"),
        "{}",
        diags[0]
    );
    assert_eq!(diags[0].line, 1);
    assert_eq!(diags[1].line, 8);
}

// ---- the directory -------------------------------------------------------------------------

#[test]
fn a_missing_directory_is_empty_and_says_so() {
    let repo = Repo::new();
    let loaded = load_dir_report(repo.root(), &repo.root().join("nowhere")).unwrap();
    assert!(loaded.dir_missing);
    assert!(loaded.connectors.is_empty());
    let loaded = load_dir_report(repo.root(), &repo.connectors()).unwrap();
    assert!(!loaded.dir_missing);
    assert!(loaded.connectors.is_empty());
}

#[test]
fn a_file_where_the_directory_should_be_is_an_error() {
    let repo = Repo::new();
    write(&repo.root().join("notadir"), "x");
    let diags = load_dir(repo.root(), &repo.root().join("notadir")).unwrap_err();
    assert!(only(&diags, "notadir").message.contains("not a directory"));
}

#[test]
fn files_load_in_path_order_through_subfolders_and_others_are_ignored() {
    let repo = Repo::new();
    for (path, name) in [
        ("b.yaml", "B"),
        ("a/z.yml", "AZ"),
        ("a.YAML", "A"),
        ("c/d/e.yaml", "CDE"),
    ] {
        repo.file(path, VALID.replace("Acme CRM", name));
    }
    repo.file("README.md", "docs");
    repo.file("c/notes.txt", "notes");
    repo.file(".hidden/x.yaml", "not: [valid");
    let loaded = load_dir_report(repo.root(), &repo.connectors()).unwrap();
    let names: Vec<&str> = loaded
        .connectors
        .iter()
        .map(|c| c.display_name.as_str())
        .collect();
    assert_eq!(names, ["AZ", "A", "B", "CDE"]);
    assert_eq!(
        loaded.ignored,
        [
            PathBuf::from("connectors/.hidden"),
            PathBuf::from("connectors/README.md"),
            PathBuf::from("connectors/c/notes.txt"),
        ]
    );
}

// ---- hostile and broken files ----------------------------------------------------------------

#[test]
fn an_empty_file_is_an_error() {
    let repo = Repo::new();
    repo.file("empty.yaml", "");
    let d = only(&repo.errors(), "connectors/empty.yaml");
    assert!(d.message.contains("the file is empty"), "{d}");
}

#[test]
fn latin1_bytes_are_not_utf8_and_the_place_is_named() {
    let repo = Repo::new();
    let mut bytes = b"display_name: Acme CRM\ndescription: caf".to_vec();
    bytes.push(0xE9); // é in Latin-1
    bytes.extend_from_slice(b"\nproxy_url: https://x.example\n");
    repo.file("latin1.yaml", &bytes);
    let d = only(&repo.errors(), "connectors/latin1.yaml");
    assert!(d.message.contains("not UTF-8"), "{d}");
    assert!(
        d.message.contains("0xE9") && d.message.contains("byte offset 39"),
        "{d}"
    );
    assert_eq!((d.line, d.column), (2, 17));

    let d = load_bytes(Path::new("u16.yaml"), b"\xFF\xFEd\0").unwrap_err();
    assert!(d[0].message.contains("UTF-16"), "{}", d[0]);
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let repo = Repo::new();
    repo.file("bom.yaml", format!("\u{feff}{VALID}"));
    repo.file(
        "bom-bad.yaml",
        format!("\u{feff}{}", VALID.replace("Acme CRM", "Acme-Bad")),
    );
    let diags = repo.errors();
    let d = only(&diags, "connectors/bom-bad.yaml");
    assert_eq!((d.line, d.column), (1, 15));
    assert!(load_bytes(Path::new("bom.yaml"), format!("\u{feff}{VALID}").as_bytes()).is_ok());
}

#[test]
fn a_billion_laughs_bomb_fails_fast() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    let repo = Repo::new();
    repo.file("bomb.yaml", &text);
    // How fast is the benchmark's to say; here, that it is refused by name.
    let diags = repo.errors();
    let d = only(&diags, "connectors/bomb.yaml");
    assert!(d.message.contains("billion laughs"), "{d}");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let repo = Repo::new();
    let flow = format!(
        "description: {}{}\n",
        "[".repeat(500_000),
        "]".repeat(500_000)
    );
    repo.file("flow.yaml", &flow);
    repo.file(
        "block.yaml",
        format!("description:\n{}x\n", "- ".repeat(500_000)),
    );
    repo.file(
        "duplicate.yaml",
        format!("a: 1\na: 2\nb:\n{}x\n", "- ".repeat(500_000)),
    );
    // No wall-clock bound here: on a loaded machine it fails for the wrong reason. What matters
    // is that loading returns (no stack overflow) with one diagnostic per file.
    let diags = repo.errors();
    let files: Vec<String> = diags.iter().map(|d| d.file.display().to_string()).collect();
    assert_eq!(
        files,
        [
            "connectors/block.yaml",
            "connectors/duplicate.yaml",
            "connectors/flow.yaml"
        ]
    );
    assert!(
        diags[0].message.contains("nested too deeply"),
        "{}",
        diags[0]
    );
    assert!(
        diags[2].message.contains("nested too deeply"),
        "{}",
        diags[2]
    );
}

#[test]
fn a_file_over_1_mib_is_refused_with_the_limit() {
    let repo = Repo::new();
    let path = repo.file("big.yaml", "");
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(8 * 1024 * 1024)
        .unwrap();
    let d = only(&repo.errors(), "connectors/big.yaml");
    assert!(
        d.message.contains("1 MiB") && d.message.contains("8388608 bytes"),
        "{d}"
    );
    // Exactly at the limit is still read (and then judged as YAML).
    let mut text = VALID.to_string();
    text.push_str(&format!(
        "# {}\n",
        "x".repeat(MAX_FILE_BYTES as usize - text.len() - 3)
    ));
    assert_eq!(text.len() as u64, MAX_FILE_BYTES);
    fs::write(&path, &text).unwrap();
    assert_eq!(repo.load().unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_broken_symlinks_are_named() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    let c = repo.connectors();
    repo.file("ok.yaml", VALID);
    symlink(c.join("loop-b.yaml"), c.join("loop-a.yaml")).unwrap();
    symlink(c.join("loop-a.yaml"), c.join("loop-b.yaml")).unwrap();
    symlink(c.join("missing.yaml"), c.join("dangling.yaml")).unwrap();
    fs::create_dir(c.join("sub")).unwrap();
    symlink("..", c.join("sub/up")).unwrap();
    let diags = repo.errors();
    let files: Vec<String> = diags.iter().map(|d| d.file.display().to_string()).collect();
    assert_eq!(
        files,
        [
            "connectors/dangling.yaml",
            "connectors/loop-a.yaml",
            "connectors/loop-b.yaml",
            "connectors/sub/up",
        ]
    );
    assert!(diags[0].message.contains("broken symlink"), "{}", diags[0]);
    assert!(diags[1].message.contains("symbolic links"), "{}", diags[1]);
    assert!(diags[3].message.contains("already read"), "{}", diags[3]);
    assert!(diags.iter().all(|d| d.help.is_some()));
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_loaded() {
    use std::os::unix::fs::symlink;
    let repo = Repo::new();
    write(&repo.root().join("shared/acme.yaml"), VALID);
    symlink(
        repo.root().join("shared/acme.yaml"),
        repo.connectors().join("acme.yaml"),
    )
    .unwrap();
    let loaded = repo.load().unwrap();
    assert_eq!(loaded[0].origin.file, Path::new("connectors/acme.yaml"));
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_directories_are_named() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let file = repo.file("secret.yaml", VALID);
    let dir = repo.connectors().join("locked");
    repo.file("locked/x.yaml", VALID.replace("Acme CRM", "Locked"));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&file).is_ok();
    let result = repo.load();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    if readable {
        // Running with privileges that ignore permissions: nothing to observe.
        return;
    }
    let diags = result.unwrap_err();
    let files: Vec<String> = diags.iter().map(|d| d.file.display().to_string()).collect();
    assert_eq!(files, ["connectors/locked", "connectors/secret.yaml"]);
    assert!(
        diags.iter().all(|d| d.message.contains("ermission denied")),
        "{diags:#?}"
    );
}

#[cfg(unix)]
#[test]
fn a_pipe_named_like_a_connector_is_not_read() {
    let repo = Repo::new();
    let fifo = repo.connectors().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo here
    }
    let d = only(&repo.errors(), "connectors/pipe.yaml");
    assert!(d.message.contains("not a regular file"), "{d}");
}

#[test]
fn many_files_in_subfolders_all_load() {
    let repo = Repo::new();
    for i in 0..2000 {
        repo.file(
            &format!("team{}/c{i:04}.yaml", i % 20),
            VALID.replace("Acme CRM", &format!("Acme CRM {i}")),
        );
    }
    // Speed is the benchmark's to check (`cargo bench --bench reconcile`), not a test's.
    let loaded = repo.load().unwrap();
    assert_eq!(loaded.len(), 2000);
}
