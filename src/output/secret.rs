//! Secrets (client secrets, access tokens, masked `${VAR}` values) and the guarantee that they
//! are never written anywhere.
//!
//! A [`Secret`] shows as `***` in `Debug` and `Display`; only [`Secret::expose`] gives the value,
//! and only the HTTP client calls it. Every secret is also registered in one process-wide
//! registry, and every byte skconn writes — stdout, stderr, log lines at every level, saved
//! plans, job summaries, annotations, imported files — passes through [`redact`] on its way
//! out, after any truncation, quoting or rewriting.
//!
//! One mechanism covers every derived form. Rather than keeping a list of encodings of each
//! secret, the matcher reads the text the way a decoder would: at each position a character of
//! the secret may appear as itself or as any of its escapes —
//!
//! - percent-encoding (`%2B`, `%2b`, double-encoded `%252B`) and form-encoding (`+` for a space),
//! - JSON escapes (`\"`, `\\`, `\/`, `\u002b`, `\n`…) and Markdown backslash escapes (`\|`),
//! - HTML entities (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&#x2b;`…),
//!
//! in any mix, and without regard to ASCII case (a server that stores `x-tenant-…` as
//! `X-Tenant-…` still shows `***`). A match of the whole secret is replaced by `***`, and so is any run of eight or
//! more characters of text that spells a part of a secret (at least four of its characters):
//! a secret cut short — by a server that echoes a request and shortens its message, or by a
//! message skconn shortens — never leaves a recognisable piece behind.
//!
//! What it must never do: keep a secret anywhere but in the registry and in [`Secret`]s, or let
//! an output path bypass [`redact`].

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// A value that must never be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and registers it for redaction.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Values shorter than this (in characters) are never registered: they would mask ordinary
/// words and protect nothing (a credential that short is refused where it is read).
pub const MIN_SECRET_CHARS: usize = 8;
/// A piece of a secret is redacted when its text is at least this long…
const MIN_RUN_TEXT: usize = 8;
/// …and spells at least this many characters of the secret.
const MIN_RUN_DECODED: usize = 4;
/// What a secret is replaced by.
pub const MASK: &str = "***";

/// One registered secret: its bytes in ASCII lower case and, per (lower-case) byte value,
/// where it occurs in them. Text is compared with it in lower case too.
struct Entry {
    bytes: Vec<u8>,
    positions: Vec<Vec<usize>>,
    /// Every pair of consecutive bytes of `bytes`, as a bit set of 65,536 bits: a match that
    /// starts with two bytes written as themselves starts with one of these pairs.
    pairs: Box<[u64; 1024]>,
}

impl Entry {
    fn has_pair(&self, a: u8, b: u8) -> bool {
        let i = usize::from(a) << 8 | usize::from(b);
        self.pairs[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Whether a byte of text can only stand for itself (it starts no escape [`decodings`] reads).
fn plain(b: u8) -> bool {
    !matches!(b, b'+' | b'%' | b'\\' | b'&')
}

fn registry() -> &'static Mutex<Vec<Entry>> {
    static REGISTRY: OnceLock<Mutex<Vec<Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds a value to the secrets that [`redact`] removes, in every derived form.
pub fn register(value: &str) {
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let bytes = value.as_bytes().to_ascii_lowercase();
    let mut list = registry().lock().unwrap_or_else(|e| e.into_inner());
    if list.iter().any(|e| e.bytes == bytes) {
        return;
    }
    let mut positions = vec![Vec::new(); 256];
    for (i, b) in bytes.iter().enumerate() {
        positions[*b as usize].push(i);
    }
    let mut pairs = Box::new([0u64; 1024]);
    for w in bytes.windows(2) {
        let i = usize::from(w[0]) << 8 | usize::from(w[1]);
        pairs[i / 64] |= 1 << (i % 64);
    }
    list.push(Entry {
        bytes,
        positions,
        pairs,
    });
}

/// Whether `text` holds a registered secret (or a recognisable piece of one) in any form.
pub fn contains_secret(text: &str) -> bool {
    matches!(redact(text), Cow::Owned(_))
}

/// Replaces every registered secret in `text`, in any derived form, and every recognisable
/// piece of one, with `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let list = registry().lock().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        return Cow::Borrowed(text);
    }
    let t = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < t.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let end = list.iter().filter_map(|e| longest_match(e, t, i)).max();
        match end {
            Some(mut end) => {
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[copied..i]);
                o.push_str(MASK);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The end of the longest qualifying match of (a part of) `e` starting at `t[i]`.
fn longest_match(e: &Entry, t: &[u8], i: usize) -> Option<usize> {
    // A qualifying match spells at least two bytes of the secret (secrets have eight or more):
    // where the first two bytes of text stand for themselves, they must be a pair of it (in
    // lower case). Most positions of ordinary text end here, before any of the search below.
    match (t.get(i), t.get(i + 1)) {
        (Some(&a), Some(&b))
            if plain(a)
                && plain(b)
                && !e.has_pair(a.to_ascii_lowercase(), b.to_ascii_lowercase()) =>
        {
            return None
        }
        (_, None) => return None,
        _ => {}
    }
    exhaustive_match(e, t, i)
}

/// [`longest_match`] without its shortcut.
fn exhaustive_match(e: &Entry, t: &[u8], i: usize) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (b, _) in decodings(t, i) {
        for &k in &e.positions[b.to_ascii_lowercase() as usize] {
            let mut budget = 512u32;
            if let Some(end) = extend(e, t, i, i, k, k, &mut budget) {
                best = best.max(Some(end));
            }
        }
    }
    best
}

/// Matches `e.bytes[k..]` against `t[j..]` (a match that began at `t[start]`, secret byte
/// `k0`); returns the end of the longest qualifying match.
fn extend(
    e: &Entry,
    t: &[u8],
    start: usize,
    j: usize,
    k0: usize,
    k: usize,
    budget: &mut u32,
) -> Option<usize> {
    let whole = k0 == 0 && k == e.bytes.len();
    let qualifies = whole || (j - start >= MIN_RUN_TEXT && k - k0 >= MIN_RUN_DECODED);
    let mut best = qualifies.then_some(j);
    if k == e.bytes.len() || *budget == 0 {
        return best;
    }
    *budget -= 1;
    for (b, len) in decodings(t, j) {
        if b.to_ascii_lowercase() == e.bytes[k] {
            if let Some(end) = extend(e, t, start, j + len, k0, k + 1, budget) {
                best = best.max(Some(end));
            }
        }
    }
    best
}

/// Every byte the text at `t[i..]` may stand for, with the length of its spelling.
fn decodings(t: &[u8], i: usize) -> impl Iterator<Item = (u8, usize)> {
    let mut out: [(u8, usize); 4] = [(0, 0); 4];
    if i >= t.len() {
        return out.into_iter().take(0);
    }
    let mut n = 0;
    let mut push = |b: u8, len: usize| {
        if n < out.len() {
            out[n] = (b, len);
            n += 1;
        }
    };
    let c = t[i];
    push(c, 1);
    let at = |k: usize| t.get(i + k).copied();
    let hex = |k: usize| -> Option<u8> {
        let h = std::str::from_utf8(t.get(i + k..i + k + 2)?).ok()?;
        u8::from_str_radix(h, 16).ok()
    };
    match c {
        b'+' => push(b' ', 1),
        b'%' => {
            if let Some(b) = hex(1) {
                push(b, 3);
                if b == b'%' {
                    if let Some(b2) = hex(3) {
                        push(b2, 5);
                    }
                }
            }
        }
        b'\\' => match at(1) {
            Some(b'u') => {
                let cp = std::str::from_utf8(t.get(i + 2..i + 6).unwrap_or_default())
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if let Some(cp) = cp.filter(|cp| *cp < 0x80) {
                    push(cp as u8, 6);
                }
            }
            Some(b'n') => push(b'\n', 2),
            Some(b't') => push(b'\t', 2),
            Some(b'r') => push(b'\r', 2),
            Some(b'x') => {
                if let Some(b) = hex(2) {
                    push(b, 4);
                }
            }
            Some(p) if p.is_ascii_punctuation() => push(p, 2),
            _ => {}
        },
        b'&' => {
            let rest = &t[i..t.len().min(i + 10)];
            let end = rest.iter().position(|&b| b == b';');
            if let Some(end) = end {
                let name = &rest[1..end];
                let b = match name {
                    b"amp" => Some(b'&'),
                    b"lt" => Some(b'<'),
                    b"gt" => Some(b'>'),
                    b"quot" => Some(b'"'),
                    b"apos" => Some(b'\''),
                    [b'#', b'x' | b'X', h @ ..] => std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok()),
                    [b'#', d @ ..] => std::str::from_utf8(d).ok().and_then(|d| d.parse().ok()),
                    _ => None,
                };
                if let Some(b) = b.filter(u8::is_ascii) {
                    push(b, end + 1);
                }
            }
        }
        _ => {}
    }
    out.into_iter().take(n)
}

/// The endings that make a variable's name a secret's (compared without regard to ASCII case).
pub const SECRET_NAME_ENDINGS: &[&str] = &["CLIENT_SECRET", "_TOKEN", "_PASSWORD", "_SECRET"];

/// Whether a variable's name says it holds a secret: it ends in one of
/// [`SECRET_NAME_ENDINGS`], in any case. Such a value is masked whether or not anything uses it,
/// and a connector file may not use it.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAME_ENDINGS.iter().any(|end| {
        name.len() >= end.len()
            && name.is_char_boundary(name.len() - end.len())
            && name[name.len() - end.len()..].eq_ignore_ascii_case(end)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redact_replaces_registered_values() {
        let _s = Secret::new("tok-abcdef-123456");
        assert_eq!(redact("Bearer tok-abcdef-123456 x"), "Bearer *** x");
        assert_eq!(redact("nothing here"), "nothing here");
    }

    /// `%2B` → `%2b`, the rest unchanged.
    fn lower_hex(s: &str) -> String {
        let mut out = String::new();
        let mut left = 0;
        for c in s.chars() {
            if c == '%' {
                left = 2;
                out.push(c);
            } else if left > 0 {
                left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn every_derived_form_is_redacted() {
        let raw = "Sup3r+Secret/Value== & 100%: \"ok\" <b>|x";
        register(raw);
        let forms = [
            raw.to_string(),
            url::form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>(),
            lower_hex(&url::form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>()),
            serde_json::to_string(raw)
                .unwrap()
                .trim_matches('"')
                .to_string(),
            raw.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;"),
            raw.replace('|', "\\|"),
            raw.replace('%', "%25"),
        ];
        for f in forms {
            let text = format!("before {f} after");
            let r = redact(&text);
            assert_eq!(r, "before *** after", "form {f:?}");
        }
    }

    #[test]
    fn a_cut_piece_of_a_secret_is_redacted() {
        register("Cut7Secret+Value/Long==");
        // A server that echoes the form and cuts its message.
        let cut = "client_secret=Cut7Secret%2BVal…";
        assert_eq!(redact(cut), "client_secret=***…");
        let tail = "…et%2BValue%2FLong%3D%3D";
        assert_eq!(redact(tail), "…***");
        // Short pieces of ordinary text are left alone.
        assert_eq!(redact("Cut7 Value"), "Cut7 Value");
    }

    #[test]
    fn case_does_not_hide_a_secret_in_any_form() {
        register("x-tenant-Case7-private");
        assert_eq!(redact("kept X-Tenant-CASE7-Private."), "kept ***.");
        assert_eq!(redact("kept X%2DTENANT-case7-PRIVATE"), "kept ***");
        assert_eq!(redact("cut X-TENANT-CA…"), "cut ***…");
        // Short pieces of ordinary text are left alone, in any case.
        assert_eq!(redact("X-TEN private"), "X-TEN private");
    }

    #[test]
    fn the_pair_shortcut_finds_every_match_the_exhaustive_search_finds() {
        let secret = "Pa1r+Sh0rt/cut=&%x";
        register(secret);
        let list = registry().lock().unwrap_or_else(|e| e.into_inner());
        let e = list
            .iter()
            .find(|e| e.bytes == secret.as_bytes().to_ascii_lowercase())
            .unwrap();
        // Texts made of pieces of the secret, its escapes and ordinary text.
        let pieces = [
            "Pa1r", "PA1R", "+", "Sh0rt", "sH0RT", "%2F", "/", "cut", "=", "&amp;", "%25", "x",
            "a", " ", "\\/", "rt/c", "Sh", "0r", "%2B", "\\u002b", "&#x2b;", "q",
        ];
        let mut seed = 0x9e37_79b9_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 9 + 1) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let t = text.as_bytes();
            for i in 0..t.len() {
                assert_eq!(
                    longest_match(e, t, i),
                    exhaustive_match(e, t, i),
                    "{text:?} at {i}"
                );
            }
        }
    }

    #[test]
    fn unicode_text_around_a_secret_stays_valid() {
        register("üñï-secret-ü");
        assert_eq!(redact("→ üñï-secret-ü ←"), "→ *** ←");
        assert_eq!(redact("→ ü ←"), "→ ü ←");
    }
}
