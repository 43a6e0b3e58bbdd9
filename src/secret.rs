//! Secrets (client secrets, access tokens) and the guarantee that they are never printed.
//!
//! A [`Secret`] shows as `***` in `Debug` and `Display`; only [`Secret::expose`] gives the value,
//! and only the HTTP client calls it. As a second line of defence every secret is registered
//! in a process-wide list, and all output skconn writes (stdout, stderr, logs) passes through
//! [`redact`], which replaces any registered value that slipped into a message.

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

fn registry() -> &'static Mutex<Vec<String>> {
    static REGISTRY: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds a value to the list of strings that [`redact`] removes. Values shorter than 4
/// characters are not registered: they would mangle ordinary text and protect nothing.
pub fn register(value: &str) {
    if value.len() < 4 {
        return;
    }
    let mut list = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
        // Longest first, so a secret that contains another is replaced whole.
        list.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// Replaces every registered secret in `text` with `***`.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let list = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in list.iter() {
        out = out.replace(s.as_str(), "***");
    }
    std::borrow::Cow::Owned(out)
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
}
