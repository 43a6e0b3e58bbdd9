//! The hidden lines of skconn's pull-request comment, written and read back: which head commit
//! and run it was planned for, each environment's plan digest and digest input, and which
//! environments' plans failed or were refused.
//!
//! A marker is a whole line `<!-- skconn-… -->` at the start of the line, outside any fenced
//! block. Everything else skconn writes into the comment either escapes `<` (names, messages)
//! or sits in a fenced block (diffs, errors), so no text from a plan can pass for a marker.
//! Pure.

use crate::render::markdown::PLAN_MARKER;
use base64::Engine;
use serde_json::Value;

const HEAD: &str = "skconn-head";
const RUN: &str = "skconn-run";
const DIGEST: &str = "skconn-digest";
const INPUT: &str = "skconn-digest-input";
const FAILED: &str = "skconn-failed";
const REFUSED: &str = "skconn-refused";
const NO_DIGEST: &str = "skconn-no-digest";

/// `<!-- skconn-head SHA -->`: the head commit the comment was planned for.
pub fn head(sha: &str) -> String {
    format!("<!-- {HEAD} {sha} -->")
}

/// `<!-- skconn-run ID -->`: the workflow run that wrote the comment.
pub fn run(id: &str) -> String {
    format!("<!-- {RUN} {id} -->")
}

/// `<!-- skconn-digest-input env=NAME BASE64URL -->`: the environment's digest input in its
/// canonical form, so that what was approved can be read back whole.
pub fn digest_input(env: &str, input: &Value) -> String {
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(crate::plan::digest::canonical(input));
    format!("<!-- {INPUT} env={env} {encoded} -->")
}

/// `<!-- skconn-failed env=NAME -->` (or without `env=` when the failed plan did not say which
/// environments it planned).
pub fn failed(env: Option<&str>) -> String {
    match env {
        Some(e) => format!("<!-- {FAILED} env={e} -->"),
        None => format!("<!-- {FAILED} -->"),
    }
}

/// `<!-- skconn-refused env=NAME -->`.
pub fn refused(env: &str) -> String {
    format!("<!-- {REFUSED} env={env} -->")
}

/// `<!-- skconn-no-digest env=NAME -->`: a plan made by a skconn without digests.
pub fn no_digest(env: &str) -> String {
    format!("<!-- {NO_DIGEST} env={env} -->")
}

/// Whether `input` hashes to `digest` (the check that makes an input worth keeping).
pub fn input_matches(input: &Value, digest: &str) -> bool {
    crate::plan::digest::of(input) == digest
}

/// What a skconn comment's markers say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Markers {
    pub head: Option<String>,
    pub run: Option<String>,
    /// `(environment, digest)`, in the comment's order.
    pub digests: Vec<(String, String)>,
    /// `(environment, digest input)`; only inputs that decode to JSON.
    pub inputs: Vec<(String, Value)>,
    /// Environments whose plans failed; `None` for a failed plan that named none.
    pub failed: Vec<Option<String>>,
    pub refused: Vec<String>,
    /// Environments planned without a digest.
    pub no_digest: Vec<String>,
}

impl Markers {
    /// Every environment the comment names, in its order, each once.
    pub fn environments(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let names = self
            .digests
            .iter()
            .map(|(e, _)| e)
            .chain(self.failed.iter().flatten())
            .chain(&self.refused)
            .chain(&self.no_digest);
        for n in names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }
}

/// Reads the markers of a comment body; `None` when its first line is not skconn's plan
/// marker (not a plan comment at all).
pub fn parse(body: &str) -> Option<Markers> {
    let mut lines = body.lines();
    if lines.next()?.trim_end() != PLAN_MARKER {
        return None;
    }
    let mut m = Markers::default();
    let mut fence: Option<String> = None;
    for line in lines {
        let line = line.trim_end_matches('\r');
        if let Some(f) = &fence {
            if line.trim_start().starts_with(f.as_str())
                && line.trim().chars().all(|c| c == f.as_bytes()[0] as char)
            {
                fence = None;
            }
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            let ch = t.chars().next().unwrap_or('`');
            let n = t.chars().take_while(|c| *c == ch).count();
            fence = Some(std::iter::repeat_n(ch, n).collect());
            continue;
        }
        let Some(inner) = line
            .strip_prefix("<!-- ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut words = inner.split(' ');
        let kind = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        let env = |w: &str| {
            w.strip_prefix("env=")
                .filter(|e| crate::render::json::valid_env_name(e))
                .map(str::to_string)
        };
        match (kind, rest.as_slice()) {
            (HEAD, [sha]) => m.head = crate::github::context::check_sha(sha),
            (RUN, [id]) if id.bytes().all(|b| b.is_ascii_digit()) => m.run = Some(id.to_string()),
            (DIGEST, [e, d]) => {
                if let (Some(e), Some(d)) = (env(e), d.strip_prefix("digest=")) {
                    if crate::render::json::is_digest(d) {
                        m.digests.push((e, d.to_string()));
                    }
                }
            }
            (INPUT, [e, data]) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(data)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                if let (Some(e), Some(v)) = (env(e), decoded) {
                    m.inputs.push((e, v));
                }
            }
            (FAILED, []) => m.failed.push(None),
            (FAILED, [e]) => {
                if let Some(e) = env(e) {
                    m.failed.push(Some(e));
                }
            }
            (REFUSED, [e]) => {
                if let Some(e) = env(e) {
                    m.refused.push(e);
                }
            }
            (NO_DIGEST, [e]) => {
                if let Some(e) = env(e) {
                    m.no_digest.push(e);
                }
            }
            _ => {}
        }
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::markdown::digest_marker;
    use serde_json::json;

    #[test]
    fn markers_round_trip() {
        let d = "a".repeat(64);
        let input = json!({"environment": "dev", "changes": [], "digest_version": "1"});
        let body = [
            PLAN_MARKER.to_string(),
            "## skconn plan".into(),
            digest_marker("dev", &d),
            digest_input("dev", &input),
            failed(Some("prod")),
            failed(None),
            refused("eu"),
            head(&"B".repeat(40)),
            run("77"),
        ]
        .join("\n");
        let m = parse(&body).unwrap();
        assert_eq!(m.digests, [("dev".to_string(), d)]);
        assert_eq!(m.inputs, [("dev".to_string(), input)]);
        assert_eq!(m.failed, [Some("prod".to_string()), None]);
        assert_eq!(m.refused, ["eu"]);
        assert_eq!(m.head.as_deref(), Some("b".repeat(40).as_str()));
        assert_eq!(m.run.as_deref(), Some("77"));
        assert_eq!(m.environments(), ["dev", "prod", "eu"]);
    }

    #[test]
    fn markers_in_fenced_blocks_or_indented_do_not_count() {
        let d = "c".repeat(64);
        let body = format!(
            "{PLAN_MARKER}\n```text\n{}\n```\n  {}\n~~~~\n{}\n~~~~\nx {}\n",
            digest_marker("prod", &d),
            digest_marker("dev", &d),
            digest_marker("eu", &d),
            digest_marker("us", &d)
        );
        assert!(parse(&body).unwrap().digests.is_empty());
        assert!(parse(&format!("hello\n{}", digest_marker("dev", &d))).is_none());
    }
}
