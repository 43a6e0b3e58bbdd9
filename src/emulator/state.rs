//! What the emulated environment holds: its custom connectors, the counters that make its
//! identifiers, and their persistence in a JSON file.
//!
//! The file is rewritten whole after each batch of changes, atomically (see `persist`), so a
//! crash never leaves half a state; a store rereads the file when another process changed it. Identifiers and the creation counter are saved
//! too: the local environment restarts the emulator on every run, and its connectors must keep
//! their identifiers across runs, as a real environment's do.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

/// Version of the state file layout.
const FORMAT: u32 = 1;

/// One custom connector as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// Creation sequence number: the list order.
    pub seq: u64,
    pub id: String,
    pub identifier: String,
    /// The API fields (never the server-owned ones), as validated, or as an out-of-band edit
    /// left them.
    pub body: Map<String, Value>,
}

impl Stored {
    pub fn display_name(&self) -> &str {
        self.body
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The object as the API returns it.
    ///
    /// The contract lets a server omit zero values or send them, and skconn must cope with
    /// both. This server does both, by one fixed rule: `description` and `icon_src` are left out
    /// when empty and `proxy_enabled` when false; every other field is always sent, `metadata`
    /// as `{}` when there is none, and the server-owned fields with their values (`categories:
    /// []`, `display_priority: 0`, `coming_soon: false`, `is_custom: true`, `is_custom_mcp`).
    pub fn render(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::String(self.id.clone()));
        out.insert("identifier".into(), Value::String(self.identifier.clone()));
        for (k, v) in &self.body {
            let zero_omitted = match k.as_str() {
                "description" | "icon_src" => v.as_str() == Some(""),
                "proxy_enabled" => v == &Value::Bool(false),
                _ => false,
            };
            if !zero_omitted {
                out.insert(k.clone(), v.clone());
            }
        }
        if !out.contains_key("metadata") {
            out.insert("metadata".into(), json!({}));
        }
        let is_mcp = self
            .body
            .get("auth_patterns")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|p| p.get("is_mcp") == Some(&Value::Bool(true)))
            });
        out.insert("categories".into(), json!([]));
        out.insert("display_priority".into(), json!(0));
        out.insert("coming_soon".into(), json!(false));
        out.insert("is_custom".into(), json!(true));
        out.insert("is_custom_mcp".into(), json!(is_mcp));
        Value::Object(out)
    }
}

/// A copy of the state, to be written to the state file.
pub(crate) struct Snapshot(Persisted);

impl Snapshot {
    /// Writes it (see `persist::write_atomically`).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(&self.0).map_err(io::Error::other)?;
        text.push('\n');
        super::persist::write_atomically(path, text.as_bytes())
    }
}

#[derive(Serialize, Deserialize)]
struct Persisted {
    format: u32,
    salt: u64,
    next_seq: u64,
    connectors: Vec<Stored>,
    /// Connections and connected accounts (see `usage`); left out while there are none.
    #[serde(default, skip_serializing_if = "super::usage::UsageData::is_empty")]
    usage: super::usage::UsageData,
}

/// Why a create or update was refused.
#[derive(Debug)]
pub(crate) enum StoreError {
    NotFound,
    /// Another connector already has this display name.
    Duplicate,
}

/// The connectors of one environment, in creation order.
pub(crate) struct Store {
    /// Per-instance randomness behind identifiers and page tokens: random unless a seed is
    /// given, and kept in the state file.
    pub salt: u64,
    next_seq: u64,
    items: Vec<Stored>,
    /// Display name → identifier, and every identifier and id in use: creates stay O(1)
    /// however many connectors the environment holds.
    names: HashMap<String, String>,
    taken: HashSet<String>,
    file: Option<PathBuf>,
    /// The environment's connections and connected accounts.
    pub usage: super::usage::UsageData,
    /// The file's version this store last read or wrote.
    seen: Option<super::persist::Fingerprint>,
}

impl Store {
    /// A new store, loaded from `file` if that exists. A saved state keeps its own salt, so
    /// `seed` only applies to a new state.
    pub fn open(file: Option<PathBuf>, seed: Option<u64>) -> io::Result<Store> {
        let seen = file.as_deref().and_then(super::persist::fingerprint);
        let mut store = Store::read(file, seed)?;
        store.seen = seen;
        Ok(store)
    }

    /// The state file, if there is one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Rereads the state file if another process changed it since this store last read or
    /// wrote it; a state without file is left alone.
    pub fn refresh(&mut self) -> io::Result<()> {
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let now = super::persist::fingerprint(&path);
        if now.is_none() || now == self.seen {
            return Ok(());
        }
        self.reload()
    }

    /// Rereads the state file unconditionally (after a failed save: nothing unsaved is kept).
    pub fn reload(&mut self) -> io::Result<()> {
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let seen = super::persist::fingerprint(&path);
        let fresh = Store::read(Some(path), Some(self.salt))?;
        *self = Store { seen, ..fresh };
        Ok(())
    }

    fn read(file: Option<PathBuf>, seed: Option<u64>) -> io::Result<Store> {
        if let Some(path) = &file {
            match std::fs::read(path) {
                Ok(bytes) => {
                    let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: not an emulator state file: {e}", path.display()),
                        )
                    })?;
                    if p.format != FORMAT {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{}: state file format {} is not supported (expected {FORMAT})",
                                path.display(),
                                p.format
                            ),
                        ));
                    }
                    let mut items = p.connectors;
                    items.sort_by_key(|s| s.seq);
                    let mut store = Store {
                        salt: p.salt,
                        next_seq: p.next_seq,
                        items,
                        names: HashMap::new(),
                        taken: HashSet::new(),
                        file,
                        usage: p.usage,
                        seen: None,
                    };
                    store.reindex();
                    return Ok(store);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Store {
            salt: seed.unwrap_or_else(|| fastrand::u64(..)),
            next_seq: 1,
            items: Vec::new(),
            names: HashMap::new(),
            taken: HashSet::new(),
            file,
            usage: super::usage::UsageData::default(),
            seen: None,
        })
    }

    fn reindex(&mut self) {
        self.names = self
            .items
            .iter()
            .map(|s| (s.display_name().to_string(), s.identifier.clone()))
            .collect();
        self.taken = self
            .items
            .iter()
            .flat_map(|s| [s.identifier.clone(), s.id.clone()])
            .collect();
    }

    /// What [`Store::save`] would write, taken quickly so that it can be written without
    /// holding up other requests: the file and a copy of the state.
    pub fn snapshot(&self) -> Option<(PathBuf, Snapshot)> {
        let path = self.file.clone()?;
        Some((
            path,
            Snapshot(Persisted {
                format: FORMAT,
                salt: self.salt,
                next_seq: self.next_seq,
                connectors: self.items.clone(),
                usage: self.usage.clone(),
            }),
        ))
    }

    /// Records that the file now holds what this store holds (after a snapshot was written).
    pub fn mark_saved(&mut self) {
        self.seen = self.file.as_deref().and_then(super::persist::fingerprint);
    }

    /// Writes the state file, if there is one: a temporary file next to it, then a rename.
    pub fn save(&mut self) -> io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let p = Persisted {
            format: FORMAT,
            salt: self.salt,
            next_seq: self.next_seq,
            connectors: self.items.clone(),
            usage: self.usage.clone(),
        };
        let mut text = serde_json::to_string_pretty(&p).map_err(io::Error::other)?;
        text.push('\n');
        super::persist::write_atomically(path, text.as_bytes())?;
        self.seen = super::persist::fingerprint(path);
        Ok(())
    }

    /// All connectors, in creation order.
    pub fn items(&self) -> &[Stored] {
        &self.items
    }

    pub fn by_name_mut(&mut self, display_name: &str) -> Option<&mut Stored> {
        self.items
            .iter_mut()
            .find(|s| s.display_name() == display_name)
    }

    fn name_taken(&self, display_name: &str, except_identifier: Option<&str>) -> bool {
        self.names
            .get(display_name)
            .is_some_and(|id| Some(id.as_str()) != except_identifier)
    }

    /// Records that the connector at `index` is now named `new_name`.
    fn rename(&mut self, index: usize, new_name: &str) {
        let old = self.items[index].display_name().to_string();
        if self.names.get(&old) == Some(&self.items[index].identifier) {
            self.names.remove(&old);
        }
        self.names
            .insert(new_name.to_string(), self.items[index].identifier.clone());
    }

    /// Stores a new connector from a validated body, giving it an id and an identifier.
    pub fn create(&mut self, body: Map<String, Value>) -> Result<&Stored, StoreError> {
        let name = body
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if self.name_taken(&name, None) {
            return Err(StoreError::Duplicate);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // One generator per creation, derived from the salt and the sequence number: the
        // identifiers do not depend on what else happened, and survive a restart.
        let mut rng = fastrand::Rng::with_seed(self.salt ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let slug = slug(&name);
        let (id, identifier) = loop {
            let identifier = format!("{slug}:{}", rng.u32(10_000..100_000));
            let id = format!("prov_{:016x}", rng.u64(..));
            if !self.taken.contains(&identifier) && !self.taken.contains(&id) {
                break (id, identifier);
            }
        };
        self.taken.insert(identifier.clone());
        self.taken.insert(id.clone());
        self.names.insert(name.clone(), identifier.clone());
        self.items.push(Stored {
            seq,
            id,
            identifier,
            body,
        });
        Ok(self.items.last().expect("just pushed"))
    }

    /// Replaces the body of a connector; the identifier stays, even when the name changes.
    pub fn update(
        &mut self,
        identifier: &str,
        body: Map<String, Value>,
    ) -> Result<&Stored, StoreError> {
        let name = body
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let index = self
            .items
            .iter()
            .position(|s| s.identifier == identifier)
            .ok_or(StoreError::NotFound)?;
        if self.name_taken(name, Some(identifier)) {
            return Err(StoreError::Duplicate);
        }
        let name = name.to_string();
        self.rename(index, &name);
        self.items[index].body = body;
        Ok(&self.items[index])
    }

    pub fn delete(&mut self, identifier: &str) -> Result<Stored, StoreError> {
        let index = self
            .items
            .iter()
            .position(|s| s.identifier == identifier)
            .ok_or(StoreError::NotFound)?;
        let gone = self.items.remove(index);
        if self.names.get(gone.display_name()) == Some(&gone.identifier) {
            self.names.remove(gone.display_name());
        }
        self.taken.remove(&gone.identifier);
        self.taken.remove(&gone.id);
        Ok(gone)
    }

    /// Replaces a body without any check but display-name uniqueness (an edit in the
    /// dashboard, or a test planting a state the API would refuse).
    pub fn replace_raw(
        &mut self,
        display_name: &str,
        body: Map<String, Value>,
    ) -> Result<(), StoreError> {
        let identifier = self
            .by_name_mut(display_name)
            .ok_or(StoreError::NotFound)?
            .identifier
            .clone();
        let new_name = body
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if self.name_taken(new_name, Some(&identifier)) {
            return Err(StoreError::Duplicate);
        }
        let new_name = new_name.to_string();
        let index = self
            .items
            .iter()
            .position(|s| s.identifier == identifier)
            .expect("found above");
        self.rename(index, &new_name);
        self.items[index].body = body;
        Ok(())
    }
}

/// `My Asana` → `my_asana`: lowercase letters and digits, every other run of characters one
/// `_`.
fn slug(display_name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in display_name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        out.push_str("provider");
    }
    out
}

/// The built-in providers every environment has. They are not custom connectors: the `CUSTOM`
/// filter never returns them, and the custom-provider endpoints do not know them.
pub(crate) fn default_providers() -> Vec<Value> {
    vec![
        json!({
            "id": "prov_0000000000000001",
            "identifier": "slack",
            "display_name": "Slack",
            "description": "Send messages and read channels in Slack",
            "auth_patterns": [{
                "type": "OAUTH",
                "display_name": "OAuth 2.0",
                "fields": [],
                "oauth_config": {
                    "authorize_uri": "https://slack.com/oauth/v2/authorize",
                    "token_uri": "https://slack.com/api/oauth.v2.access",
                    "available_scopes": [{"scope": "chat:write", "display_name": "Write messages", "required": true}]
                }
            }],
            "proxy_url": "https://slack.com/api",
            "proxy_enabled": true,
            "icon_src": "https://cdn.scalekit.com/icons/slack.svg",
            "metadata": {},
            "categories": ["communication"],
            "display_priority": 10,
            "coming_soon": false,
            "is_custom": false,
            "is_custom_mcp": false
        }),
        json!({
            "id": "prov_0000000000000002",
            "identifier": "gmail",
            "display_name": "Gmail",
            "description": "Read and send email with Gmail",
            "auth_patterns": [{
                "type": "OAUTH",
                "display_name": "OAuth 2.0",
                "fields": [],
                "oauth_config": {
                    "authorize_uri": "https://accounts.google.com/o/oauth2/v2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "available_scopes": [{"scope": "https://www.googleapis.com/auth/gmail.readonly", "display_name": "Read mail", "required": true}]
                }
            }],
            "proxy_url": "https://gmail.googleapis.com",
            "proxy_enabled": true,
            "icon_src": "https://cdn.scalekit.com/icons/gmail.svg",
            "metadata": {},
            "categories": ["email"],
            "display_priority": 20,
            "coming_soon": false,
            "is_custom": false,
            "is_custom_mcp": false
        }),
    ]
}

/// Page tokens: opaque strings naming "the items after position key K". Keys order the list:
/// the default providers take 1, 2, …; custom connectors `1 << 32` plus their sequence number.
/// Key 0 means "from the start". The key is scrambled with the instance salt and carries a
/// check, so a token that this server did not make is refused rather than misread.
pub(crate) fn page_token(salt: u64, after_key: u64) -> String {
    let x = after_key ^ salt;
    format!("pt_{x:016x}{:04x}", token_check(x))
}

pub(crate) fn parse_page_token(salt: u64, token: &str) -> Option<u64> {
    let hex = token.strip_prefix("pt_")?;
    if hex.len() != 20 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let x = u64::from_str_radix(&hex[..16], 16).ok()?;
    let check = u16::from_str_radix(&hex[16..], 16).ok()?;
    (check == token_check(x)).then_some(x ^ salt)
}

fn token_check(x: u64) -> u16 {
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 48) as u16
}

/// The list position key of a custom connector.
pub(crate) fn custom_key(seq: u64) -> u64 {
    (1 << 32) + seq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("My Asana"), "my_asana");
        assert_eq!(slug("  Big   Co 2 "), "big_co_2");
        assert_eq!(slug("   "), "provider");
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_forgeries() {
        let salt = 0x1234_5678_9abc_def0;
        for key in [0, 1, 2, custom_key(7)] {
            assert_eq!(parse_page_token(salt, &page_token(salt, key)), Some(key));
        }
        assert_eq!(parse_page_token(salt, "pt_3"), None);
        assert_eq!(parse_page_token(salt, "3"), None);
        let mut forged = page_token(salt, 5);
        forged.replace_range(5..6, if &forged[5..6] == "0" { "1" } else { "0" });
        assert_eq!(parse_page_token(salt, &forged), None);
    }
}
