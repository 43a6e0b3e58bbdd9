//! Saved plans (`plan --out FILE`, `apply FILE`) and the fingerprints that keep them honest.
//!
//! A saved plan holds the JSON plan, a fingerprint of the connector files (after expansion) and
//! one of each environment's live state. `apply FILE` recomputes all three and applies only if
//! nothing moved. No secrets are stored: fingerprints are hashes, the plan's `before`/`after`
//! objects are masked, and the bodies to send are not saved (they are rebuilt from the
//! unchanged files).

use crate::model::{sort_keys, Desired, Live};
use crate::normalize::normalize;
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
    /// Fingerprint of the connector files, as loaded.
    pub inputs: String,
    /// Fingerprint of each environment's live custom connectors when the plan was made.
    pub environments: Vec<SavedEnv>,
    /// The plan itself, in the JSON plan format.
    pub plan: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedEnv {
    pub name: String,
    pub live: String,
}

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Fingerprint of the desired connectors of each environment (order-independent within an
/// environment; environments in the order given).
pub fn inputs_fingerprint(per_env: &[(&str, &[Desired])]) -> String {
    let mut h = Sha256::new();
    for (env, desired) in per_env {
        h.update(b"env\t");
        h.update(env.as_bytes());
        h.update(b"\n");
        h.update(desired_fingerprint(desired).as_bytes());
        h.update(b"\n");
    }
    hex(h.finalize())
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
