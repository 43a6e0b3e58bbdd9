//! Authoring: writes the first version of a connector file, from a template, from an OpenAPI
//! or Swagger document, or from what a remote MCP server answers to an unauthenticated probe.
//!
//! Every way of starting a file ends in a [`Draft`]: the connector as a JSON map in the order
//! people read it, comments for the values users must check or fill in, and [`Note`]s — every
//! decision with its reason, the heuristics applied and the warnings — which `skconn new`
//! prints (`--explain`) and writes into the file's provenance header. [`writer`] renders it.
//!
//! Derivation is deterministic and offline: `openapi` reads bytes it is given, `mcp::build`
//! turns a finished probe into a draft. The only network access is `fetch` (an OpenAPI
//! document at an https URL) and `mcp::probe`, and both run only when a user asks for them.
//! Nothing here ever talks to a Scalekit environment, and `plan` never probes anything.
//! When a choice cannot be made from the input, derivation does not guess: it returns a
//! [`Stop`], either a question the caller may put to the user or a refusal.

pub mod document;
pub mod fetch;
pub mod mcp;
pub mod openapi;
pub mod template;
pub mod writer;

use serde_json::{Map, Value};

/// The auth pattern types a new connector can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Oauth,
    Basic,
    Bearer,
    ApiKey,
    NoAuth,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Oauth,
        Kind::Basic,
        Kind::Bearer,
        Kind::ApiKey,
        Kind::NoAuth,
    ];

    /// The value of `--type`.
    pub fn flag(self) -> &'static str {
        match self {
            Kind::Oauth => "oauth",
            Kind::Basic => "basic",
            Kind::Bearer => "bearer",
            Kind::ApiKey => "api-key",
            Kind::NoAuth => "no-auth",
        }
    }

    /// The pattern's `type`.
    pub fn api_type(self) -> &'static str {
        match self {
            Kind::Oauth => "OAUTH",
            Kind::Basic => "BASIC",
            Kind::Bearer => "BEARER",
            Kind::ApiKey => "API_KEY",
            Kind::NoAuth => "NO_AUTH",
        }
    }

    pub fn from_flag(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.flag() == s)
    }
}

/// What a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A decision and its reason (shown by `--explain`).
    Decision,
    /// A value guessed from prose or naming rather than read from a defined field: written into
    /// the provenance header and shown by `--explain`.
    Heuristic,
    /// Something the user must know: always printed, and written into the header.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
}

/// A connector file before it is rendered.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The connector, keys in reading order.
    pub connector: Map<String, Value>,
    /// Comment lines written above a key, by field path (`auth_patterns[0].oauth_config`).
    pub comments: Vec<(String, String)>,
    /// The provenance header (without `# `), empty for templates.
    pub provenance: Vec<String>,
    pub notes: Vec<Note>,
}

impl Draft {
    pub fn comment(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.comments.push((path.into(), text.into()));
    }

    /// Removes the comments on `path` and below it.
    pub fn uncomment(&mut self, path: &str) {
        self.comments
            .retain(|(p, _)| !(p == path || p.starts_with(&format!("{path}."))));
    }

    pub fn decide(&mut self, text: impl Into<String>) {
        self.note(NoteKind::Decision, text);
    }

    pub fn heuristic(&mut self, text: impl Into<String>) {
        self.note(NoteKind::Heuristic, text);
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.note(NoteKind::Warning, text);
    }

    fn note(&mut self, kind: NoteKind, text: impl Into<String>) {
        self.notes.push(Note {
            kind,
            text: text.into(),
        });
    }

    pub fn notes_of(&self, kind: NoteKind) -> impl Iterator<Item = &str> {
        self.notes
            .iter()
            .filter(move |n| n.kind == kind)
            .map(|n| n.text.as_str())
    }

    /// Sets the provenance header: `head` lines, then the heuristics and warnings noted so far,
    /// wrapped to fit a comment.
    pub fn set_provenance(&mut self, head: Vec<String>) {
        let mut prov = head;
        let heuristics: Vec<String> = self
            .notes_of(NoteKind::Heuristic)
            .map(str::to_string)
            .collect();
        let warnings: Vec<String> = self
            .notes_of(NoteKind::Warning)
            .map(str::to_string)
            .collect();
        if heuristics.is_empty() {
            prov.push("Heuristics: none".into());
        } else {
            prov.push("Heuristics:".into());
            prov.extend(heuristics.iter().map(|h| format!("  - {h}")));
        }
        if !warnings.is_empty() {
            prov.push("Warnings:".into());
            prov.extend(warnings.iter().map(|w| format!("  - {w}")));
        }
        self.provenance = prov.iter().flat_map(|l| writer::wrap(l, 96)).collect();
    }

    /// The display name, once set.
    pub fn display_name(&self) -> &str {
        self.connector
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Why derivation stopped without a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A choice only the user can make. A terminal asks it; otherwise it is an error that says
    /// which flag answers it.
    Choose(Choice),
    /// The input does not allow a connector to be derived; the message says what it holds and
    /// what to pass instead.
    Refuse(String),
}

/// A question with its possible answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What the answer fills in.
    pub slot: Slot,
    /// The full error message for when no one can be asked.
    pub message: String,
    /// The prompt.
    pub question: String,
    /// `(value, label)`; empty for free text.
    pub options: Vec<(String, String)>,
}

/// The option a [`Choice`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `--scheme`
    Scheme,
    /// `--type`
    Type,
    /// `--header`
    Header,
    /// The display name (first argument, or `--name`).
    Name,
}

impl Slot {
    pub fn flag(self) -> &'static str {
        match self {
            Slot::Scheme => "--scheme NAME",
            Slot::Type => "--type TYPE",
            Slot::Header => "--header NAME",
            Slot::Name => "--name NAME",
        }
    }
}

/// A display name made to fit the server's rule (letters, digits and spaces, at most 200
/// characters): separators become spaces, other characters are removed, spaces collapse.
pub fn sanitize_name(raw: &str) -> String {
    let mut s = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if c.is_whitespace() || matches!(c, '-' | '_' | '/' | '.' | ':' | '|' | '+' | ',') {
            s.push(' ');
        }
    }
    let mut out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 200 {
        out = out
            .chars()
            .take(200)
            .collect::<String>()
            .trim_end()
            .to_string();
    }
    out
}

/// `Asana Tasks` → `asana-tasks` (the file name of a new connector).
pub fn slug(display_name: &str) -> String {
    let mut s = String::new();
    for c in display_name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "connector".into()
    } else {
        s
    }
}

/// `tasks:read` → `Tasks Read`; `accountSid` → `Account SID`.
pub fn title_case(raw: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .map(|w| {
            let lower = w.to_lowercase();
            if ["id", "sid", "api", "url", "uri", "oauth", "mcp", "openid"]
                .contains(&lower.as_str())
            {
                match lower.as_str() {
                    "oauth" => "OAuth".to_string(),
                    "openid" => "OpenID".to_string(),
                    other => other.to_uppercase(),
                }
            } else {
                let mut cs = w.chars();
                match cs.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + cs.as_str(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plain text from Markdown or HTML: links keep their text, tags, emphasis and headings go.
pub fn strip_markup(raw: &str) -> String {
    // HTML tags.
    let mut no_tags = String::with_capacity(raw.len());
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => no_tags.push(c),
            _ => {}
        }
    }
    // Markdown links and images: `[text](url)`, also `[text] (url)` as folded YAML writes it.
    // Linear in the text: the next `]` (and `)`) after a place is looked up once and remembered,
    // since the next one after any earlier place is also the next one after every place before
    // it (a text of `[` alone would otherwise cost the square of its length).
    let b = no_tags.as_bytes();
    let mut out = String::with_capacity(no_tags.len());
    let mut next_close = NextByte::new(b']');
    let mut next_paren = NextByte::new(b')');
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'!' && b.get(i + 1) == Some(&b'[') {
            out.push_str(&no_tags[copied..i]);
            i += 1;
            copied = i;
            continue;
        }
        if c == b'[' {
            if let Some(close) = next_close.after(b, i) {
                out.push_str(&no_tags[copied..i]);
                out.push_str(&no_tags[i + 1..close]);
                let mut j = close + 1;
                while b.get(j) == Some(&b' ') {
                    j += 1;
                }
                i = close + 1;
                if b.get(j) == Some(&b'(') {
                    if let Some(end) = next_paren.after(b, j) {
                        i = end + 1;
                    }
                }
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&no_tags[copied..]);
    let lines: Vec<String> = out
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            l.trim()
                .trim_start_matches(['-', '>', '*'])
                .replace("**", "")
                .replace("__", "")
                .replace('`', "")
        })
        .collect();
    lines
        .join("\n")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// `name` followed by `noun`, without repeating the words they share (`Acme MCP` + `MCP
/// server` → `Acme MCP server`; `Acme API` + `API key` → `Acme API key`), and without a second
/// name for a credential the name already gives (`Acme PAT` + `API token` → `Acme PAT`).
pub fn with_noun(name: &str, noun: &str) -> String {
    let a: Vec<&str> = name.split_whitespace().collect();
    let b: Vec<&str> = noun.split_whitespace().collect();
    for k in (1..=a.len().min(b.len())).rev() {
        let same = a[a.len() - k..]
            .iter()
            .zip(&b[..k])
            .all(|(x, y)| x.eq_ignore_ascii_case(y));
        if same {
            return a
                .iter()
                .chain(&b[k..])
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    let credential = |w: &str| {
        ["pat", "token", "key", "apikey", "password"].contains(&w.to_ascii_lowercase().as_str())
    };
    if b.last().is_some_and(|w| credential(w)) && a.last().is_some_and(|w| credential(w)) {
        return a.join(" ");
    }
    a.iter().chain(&b).copied().collect::<Vec<_>>().join(" ")
}

/// The next place of one byte after a place, remembered: see [`strip_markup`].
struct NextByte {
    byte: u8,
    /// The last place found (`None`: none after `searched`), and how far the text was searched.
    found: Option<usize>,
    searched: usize,
}

impl NextByte {
    fn new(byte: u8) -> NextByte {
        NextByte {
            byte,
            found: None,
            searched: 0,
        }
    }

    fn after(&mut self, text: &[u8], at: usize) -> Option<usize> {
        match self.found {
            Some(f) if f > at => return Some(f),
            None if self.searched > at => return None,
            _ => {}
        }
        let from = at + 1;
        self.found = text[from..]
            .iter()
            .position(|&c| c == self.byte)
            .map(|p| from + p);
        self.searched = text.len();
        if let Some(f) = self.found {
            self.searched = f;
        }
        self.found
    }
}

/// The first sentence of a text (markup stripped, whitespace collapsed), whole however long,
/// up to `max` characters: a longer one is cut at a word and ends with `…`.
pub fn first_sentence(raw: &str, max: usize) -> String {
    first_sentence_cut(raw, max).0
}

/// [`first_sentence`], and whether it was cut.
pub fn first_sentence_cut(raw: &str, max: usize) -> (String, bool) {
    let plain = strip_markup(raw);
    // The first paragraph holds the first sentence.
    let para = plain
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or("");
    let flat = para.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = flat.len();
    for (i, c) in flat.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = flat[i + c.len_utf8()..].chars().next();
            if next.is_none_or(|n| n == ' ') {
                end = i + c.len_utf8();
                break;
            }
        }
    }
    let sentence = &flat[..end];
    if sentence.chars().count() <= max {
        return (sentence.to_string(), false);
    }
    let cut: String = sentence.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    (
        format!("{}…", cut.trim_end_matches([',', ';', ':', ' '])),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(sanitize_name("Twilio - Api"), "Twilio Api");
        assert_eq!(
            sanitize_name("GitHub's official OpenAPI spec + Octokit extension"),
            "GitHubs official OpenAPI spec Octokit extension"
        );
        assert_eq!(sanitize_name("Xero Accounting API"), "Xero Accounting API");
        assert_eq!(sanitize_name("é!"), "");
        assert_eq!(sanitize_name(&"a".repeat(300)).len(), 200);
        assert_eq!(slug("Twilio Api"), "twilio-api");
    }

    #[test]
    fn titles() {
        assert_eq!(title_case("tasks:read"), "Tasks Read");
        assert_eq!(title_case("accountSid"), "Account SID");
        assert_eq!(title_case("openid"), "OpenID");
        assert_eq!(
            title_case("workspaces.typeahead:read"),
            "Workspaces Typeahead Read"
        );
        assert_eq!(title_case("chat:write:bot"), "Chat Write Bot");
    }

    #[test]
    fn nouns_do_not_repeat_words() {
        assert_eq!(with_noun("Acme MCP", "MCP server"), "Acme MCP server");
        assert_eq!(
            with_noun("PagerDuty MCP API", "API key"),
            "PagerDuty MCP API key"
        );
        assert_eq!(with_noun("Acme api", "API"), "Acme api");
        assert_eq!(with_noun("Asana PAT", "API token"), "Asana PAT");
        assert_eq!(with_noun("Acme", "API token"), "Acme API token");
        assert_eq!(
            with_noun("Acme MCP Server", "MCP server"),
            "Acme MCP Server"
        );
    }

    #[test]
    fn sentences() {
        assert_eq!(
            first_sentence(
                "This is the interface for interacting with the [Asana Platform](https://developers.asana.com). Our API reference is generated.",
                200
            ),
            "This is the interface for interacting with the Asana Platform."
        );
        assert_eq!(
            first_sentence(
                "# Title\n\nThe **PagerDuty** API, see <b>docs</b>.\nMore",
                200
            ),
            "The PagerDuty API, see docs."
        );
        assert_eq!(first_sentence("v1.2 is here. Next", 200), "v1.2 is here.");
        let long = first_sentence(&"word ".repeat(100), 50);
        assert!(long.chars().count() <= 50, "{long}");
        assert!(long.ends_with('…'));
    }
}
