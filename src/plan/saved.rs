//! Saved plans (`plan --out FILE`, `apply FILE`) and the fingerprints that keep them honest.
//!
//! A saved plan holds the JSON plan, a fingerprint of the connector files (after expansion) and
//! one of each environment's live state. `apply FILE` recomputes all three and applies only if
//! nothing moved. No secrets are stored: fingerprints are hashes, the plan's `before`/`after`
//! objects are masked, and the bodies to send are not saved (they are rebuilt from the
//! unchanged files).
//!
//! The fingerprint of the inputs is keyed: an HMAC-SHA256 whose key is made from a random salt
//! of the plan and each environment's key (its client secret; for a local environment a random
//! key kept in `.skconn/`). Whoever holds a plan file but not those keys cannot test guesses of
//! a masked value against it.

use crate::base::hex::hex;
use crate::model::normalize::normalize;
use crate::model::{sort_keys, Desired, Live};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What identifies a saved plan file.
pub const KIND: &str = "skconn-saved-plan";
/// The version of the saved plan format.
pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: String,
    /// The skconn version that wrote it.
    pub skconn_version: String,
    /// The random salt of this plan's keyed fingerprint (hex).
    #[serde(default)]
    pub salt: String,
    /// Fingerprint of the connector files, as loaded (keyed, see the module docs).
    pub inputs: String,
    /// Fingerprint of each environment's live custom connectors when the plan was made.
    pub environments: Vec<SavedEnv>,
    /// The plan itself, in the JSON plan format.
    pub plan: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedEnv {
    pub name: String,
    /// Keyed fingerprint of the environment's live connectors.
    pub live: String,
}

/// A new random salt, as hex.
pub fn new_salt() -> std::io::Result<String> {
    crate::settings::local_dir::random_bytes::<16>().map(hex)
}

/// Keyed fingerprint of the desired connectors of each environment (order-independent within
/// an environment; environments in the order given). `per_env` holds each environment's name,
/// key and desired connectors.
pub fn inputs_fingerprint(salt: &str, per_env: &[(&str, &[u8], &[Desired])]) -> String {
    let mut key = Sha256::new();
    key.update(b"skconn saved plan key\n");
    key.update(salt.as_bytes());
    let mut message = Vec::new();
    for (env, env_key, desired) in per_env {
        key.update(b"\n");
        key.update(env.as_bytes());
        key.update(b"\t");
        key.update(Sha256::digest(env_key));
        message.extend_from_slice(b"env\t");
        message.extend_from_slice(env.as_bytes());
        message.push(b'\n');
        message.extend_from_slice(desired_fingerprint(desired).as_bytes());
        message.push(b'\n');
    }
    hex(hmac_sha256(&key.finalize(), &message))
}

/// An environment's live fingerprint, keyed like the inputs' (the live connectors hold the
/// values of masked variables once applied).
pub fn keyed_live_fingerprint(salt: &str, env: &str, env_key: &[u8], live: &[Live]) -> String {
    let key = Sha256::new()
        .chain_update(b"skconn saved plan live key\n")
        .chain_update(salt.as_bytes())
        .chain_update(b"\n")
        .chain_update(env.as_bytes())
        .chain_update(b"\t")
        .chain_update(Sha256::digest(env_key))
        .finalize();
    hex(hmac_sha256(&key, live_fingerprint(live).as_bytes()))
}

/// HMAC-SHA256 (RFC 2104), from the RustCrypto `hmac` crate.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Fingerprint of one set of desired connectors (order-independent).
fn desired_fingerprint(desired: &[Desired]) -> String {
    set_hash(
        desired
            .iter()
            .map(|d| {
                serde_json::to_string(&serde_json::json!({
                    "name": d.display_name,
                    "body": sort_keys(&normalize(&d.body)),
                    "previous_names": d.previous_names,
                }))
                .unwrap_or_default()
            })
            .collect(),
    )
}

/// Fingerprint of an environment's live connectors: identifiers and full bodies, marker included.
pub fn live_fingerprint(live: &[Live]) -> String {
    set_hash(
        live.iter()
            .map(|l| {
                format!(
                    "{}\t{}",
                    l.identifier,
                    serde_json::to_string(&sort_keys(&l.body)).unwrap_or_default()
                )
            })
            .collect(),
    )
}

/// The hash of a set of lines, whatever their order.
fn set_hash(mut items: Vec<String>) -> String {
    items.sort();
    let mut h = Sha256::new();
    for i in items {
        h.update(i.as_bytes());
        h.update(b"\n");
    }
    hex(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_fingerprint_depends_on_salt_and_key() {
        let a = inputs_fingerprint("s1", &[("dev", b"k1", &[])]);
        assert_ne!(a, inputs_fingerprint("s2", &[("dev", b"k1", &[])]));
        assert_ne!(a, inputs_fingerprint("s1", &[("dev", b"k2", &[])]));
        assert_eq!(a, inputs_fingerprint("s1", &[("dev", b"k1", &[])]));
    }
}
