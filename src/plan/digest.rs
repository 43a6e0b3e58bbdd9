//! The plan digest: what a reviewer approves, as one SHA-256 per environment.
//!
//! The digest is taken over a canonical form of an environment's changes, its *digest input*:
//! per change its action, connector, identifier and whether it is blocked, and per changed
//! field the value before (as the live side, or a snapshot of it, showed it) and after (as the
//! files write it, `${VAR}` expressions left unexpanded). The same files against the same live
//! state give the same digest on any machine, whether the plan was made live or against a
//! snapshot, and whether or not the variables are set where the plan was made. What does not
//! change what `apply` would send is left out: warnings, drift flags, usage counts, unchanged
//! connectors, timestamps.
//!
//! Masked values (secrets and the values of hidden variables) never appear in a digest input as
//! text: they are replaced by a keyed digest ([`MaskKey`]), so that an input can be published
//! (in a JSON plan, a pull-request comment) without letting anyone test guesses of a value.
//!
//! Pure: no I/O. What it must never do: put a masked value's text into an input, or depend on
//! anything but the plan (no clock, no machine, no order of hash maps).

use super::{Action, Change, EnvPlan, Op};
use crate::model::sort_keys;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The version of the canonical form. A change to what goes into a digest input is a new
/// version: digests of different versions never compare equal.
pub const DIGEST_VERSION: &str = "1";

/// The prefix of a keyed digest that stands for a masked value.
pub const MASKED_PREFIX: &str = "hmac-sha256:";

/// The key that masked values of one environment are digested with: derived from the
/// environment's plan key (its client secret; for a local environment the key kept in
/// `.skconn/`) and its name, so that only a holder of that key can recompute a keyed digest,
/// and the same value gives different digests in different environments.
#[derive(Clone)]
pub struct MaskKey([u8; 32]);

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

impl MaskKey {
    pub fn new(environment: &str, plan_key: &[u8]) -> MaskKey {
        let mut message = b"skconn mask v1\0".to_vec();
        message.extend_from_slice(environment.as_bytes());
        MaskKey(super::saved::hmac_sha256(plan_key, &message))
    }

    /// The keyed digest that stands for `value`: `hmac-sha256:<64 hex>`.
    pub fn keyed(&self, value: &str) -> String {
        format!(
            "{MASKED_PREFIX}{}",
            crate::base::hex::hex(super::saved::hmac_sha256(&self.0, value.as_bytes()))
        )
    }

    /// A copy of `v` in which every string that holds a masked value (as the one redaction
    /// recognises it) is replaced by its keyed digest. Keys are left alone (they are never
    /// masked values), and so is a string that already is a keyed digest.
    pub fn mask(&self, v: &Value) -> Value {
        let mut v = v.clone();
        self.mask_in_place(&mut v, &mut |_, _| {});
        v
    }

    /// [`MaskKey::mask`] in place; `masked(text, keyed)` is told of every string replaced.
    pub fn mask_in_place(&self, v: &mut Value, masked: &mut dyn FnMut(&str, &str)) {
        match v {
            Value::String(s) if !s.starts_with(MASKED_PREFIX) && is_masked(s) => {
                let keyed = self.keyed(s);
                masked(s, &keyed);
                *s = keyed;
            }
            Value::Array(a) => a.iter_mut().for_each(|e| self.mask_in_place(e, masked)),
            Value::Object(m) => m.values_mut().for_each(|e| self.mask_in_place(e, masked)),
            _ => {}
        }
    }
}

/// Whether a string holds a secret or a masked variable's value.
fn is_masked(s: &str) -> bool {
    crate::output::secret::contains_secret(s)
}

/// The value at a JSON Pointer, if there is one.
fn at<'v>(v: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        Some(v)
    } else {
        v.pointer(pointer)
    }
}

/// The digest entries of one change's fields, from the change as `diff_env` made it (before
/// any masking for display): creates carry the whole body as written, deletes the whole live
/// body, updates one entry per field change, adoptions none. `written` is the connector as
/// the files write it (readable form), `${VAR}` unexpanded.
pub fn fields(change: &Change, mask: &MaskKey) -> Vec<Value> {
    let entry = |pointer: &str, before: Option<Value>, after: Option<Value>| json!({"pointer": pointer, "before": before, "after": after});
    let written = change.written.as_ref();
    match change.action() {
        Action::Create => vec![entry("", None, written.or(change.after.as_ref()).cloned())],
        Action::Delete => vec![entry(
            "",
            change.before.as_ref().map(|b| mask.mask(b)),
            None,
        )],
        Action::Adopt => Vec::new(),
        Action::Update => change
            .diff
            .iter()
            .map(|f| {
                let before = f.old.as_ref().map(|v| mask.mask(v));
                let after = match f.op {
                    Op::Remove => None,
                    // The identities, in their new order: names, not values.
                    Op::Reorder => f.new.clone(),
                    Op::Add | Op::Replace => written
                        .and_then(|w| at(w, &f.pointer))
                        .cloned()
                        .or_else(|| f.new.as_ref().map(|v| mask.mask(v))),
                };
                entry(&f.pointer, before, after)
            })
            .collect(),
    }
}

/// Computes and keeps each change's digest entries (see [`fields`]). Called once per
/// environment, right after the diff and before anything masks values for display.
pub fn fill(env: &mut EnvPlan, mask: &MaskKey) {
    for c in &mut env.changes {
        c.digest_fields = fields(c, mask);
    }
}

/// The digest input of an environment's plan: the canonical form the digest is taken over.
pub fn input(env: &EnvPlan) -> Value {
    json!({
        "digest_version": DIGEST_VERSION,
        "environment": env.name,
        "changes": env.changes.iter().map(|c| json!({
            "action": c.action().verb(),
            "connector": c.display_name,
            "identifier": c.identifier(),
            "blocked": super::usage::blocked(c),
            "fields": c.digest_fields,
        })).collect::<Vec<_>>(),
    })
}

/// The canonical serialisation of a value: object keys sorted (bytewise) at every depth, no
/// whitespace, serde_json's string escaping.
pub fn canonical(v: &Value) -> String {
    serde_json::to_string(&sort_keys(v)).unwrap_or_default()
}

/// The digest of a digest input: lowercase hex SHA-256 of its canonical serialisation.
pub fn of(input: &Value) -> String {
    crate::base::hex::hex(Sha256::digest(canonical(input).as_bytes()))
}

/// The plan digest of an environment's plan.
pub fn env_digest(env: &EnvPlan) -> String {
    of(&input(env))
}

/// Whether a string is a plan digest as skconn writes them (64 lowercase hex digits).
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The short form shown in footers and messages: the first 12 hex digits.
pub fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{self, Desired, Live, Origin};
    use crate::plan::diff_env;
    use crate::settings::Prune;

    /// A connector `name` as the files define it: `body` expanded, `written` as written.
    pub(crate) fn desired(name: &str, body: Value, written: Value) -> Desired {
        let mut body = body;
        body["display_name"] = json!(name);
        let mut written = written;
        written["display_name"] = json!(name);
        Desired {
            display_name: name.into(),
            body,
            written: Some(written),
            previous_names: vec![],
            origin: Origin {
                file: format!("connectors/{name}.yaml").into(),
            },
            unknown: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A live connector `name` as skconn would have written it (marker and hash), identifier
    /// `<name, lower case>:1`.
    pub(crate) fn live(name: &str, body: Value) -> Live {
        let mut sent = body;
        sent["display_name"] = json!(name);
        let mut stored = model::body_to_send(&sent);
        stored["identifier"] = json!(format!("{}:1", name.to_lowercase()));
        stored["is_custom"] = json!(true);
        Live::from_provider(&stored).unwrap()
    }

    fn digest_of(d: &[Desired], l: &[Live]) -> (String, Value) {
        let mut p = diff_env("dev", d, l, Prune::Managed);
        fill(&mut p, &MaskKey::new("dev", b"key"));
        (env_digest(&p), input(&p))
    }

    #[test]
    fn after_values_are_written_form_and_the_digest_ignores_expansion() {
        let b = |url: &str| json!({"proxy_url": url, "proxy_enabled": true});
        let w = b("https://${TENANT}.zz9");
        let live_old = [live("A", b("https://qx7-old.zz9"))];
        let (d1, input1) = digest_of(
            &[desired("A", b("https://qx7-acme.zz9"), w.clone())],
            &live_old,
        );
        let (d2, _) = digest_of(&[desired("A", b("https://qx7-other.zz9"), w)], &live_old);
        assert_eq!(d1, d2, "the same written files give the same digest");
        let f = &input1["changes"][0]["fields"][0];
        assert_eq!(f["pointer"], "/proxy_url");
        assert_eq!(f["before"], "https://qx7-old.zz9");
        assert_eq!(f["after"], "https://${TENANT}.zz9");
        assert!(is_digest(&d1));
    }

    #[test]
    fn an_unrelated_live_edit_does_not_change_the_digest_a_related_one_does() {
        let b = |d: &str| json!({"proxy_url": "https://a.example.net", "description": d});
        let files = [
            desired("A", b("new"), b("new")),
            desired("B", b("same"), b("same")),
        ];
        let (base, _) = digest_of(&files, &[live("A", b("old")), live("B", b("same"))]);
        // B is unchanged by the plan; a server-owned field of it moves.
        let mut b_live = live("B", b("same"));
        b_live.body["display_priority"] = json!(7);
        let (unrelated, _) = digest_of(&files, &[live("A", b("old")), b_live]);
        assert_eq!(base, unrelated);
        // A's live value (the plan's `before`) moves: the approved change is not this one.
        let (related, _) = digest_of(&files, &[live("A", b("edited")), live("B", b("same"))]);
        assert_ne!(base, related);
    }

    #[test]
    fn an_empty_plan_has_a_digest_per_environment() {
        let (a, input) = digest_of(&[], &[]);
        assert_eq!(input["changes"], json!([]));
        let mut p = diff_env("prod", &[], &[], Prune::Managed);
        fill(&mut p, &MaskKey::new("prod", b"key"));
        assert_ne!(a, env_digest(&p), "the environment is part of the input");
    }

    #[test]
    fn masked_values_are_keyed_and_never_text() {
        let secret = "tenant-secret-value-4711";
        crate::output::secret::register(secret);
        let k = MaskKey::new("dev", b"key");
        let masked = k.mask(&json!({"a": [format!("https://{secret}.x")], "b": "plain"}));
        assert!(!masked.to_string().contains(secret));
        assert!(masked["a"][0].as_str().unwrap().starts_with(MASKED_PREFIX));
        assert_eq!(masked["b"], "plain");
        assert_eq!(k.mask(&masked), masked, "masking is idempotent");
        assert_ne!(
            MaskKey::new("prod", b"key").keyed(secret),
            k.keyed(secret),
            "keyed per environment"
        );
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        assert_eq!(
            canonical(&json!({"b": 1, "a": {"d": [true, null], "c": "x"}})),
            r#"{"a":{"c":"x","d":[true,null]},"b":1}"#
        );
    }
}
