//! The connections and connected-accounts side of the emulator (`scalekit-usage-api.md`
//! §2–3): the app-connections listing (PREVIEW), the full connections listing, the
//! connected-accounts listing, and the refusal to delete a connector that still has
//! connections.
//!
//! Strict like the rest of the emulator: documented page-size limits are enforced (30 for app
//! connections, 100 for connected accounts), unknown query parameters are refused, draft and
//! disabled connections are hidden from the full listing unless `include=all`. Tests seed the
//! state through [`super::Emulator`] (`add_connection`, `add_connected_accounts`, …) and change
//! how it answers through [`UsageOptions`].

use super::api_error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The app-connections listing (PREVIEW).
pub(crate) const APP_PATH: &str = "/api/v1/connections/app";
/// The full connections listing.
pub(crate) const CONNECTIONS_PATH: &str = "/api/v1/connections";
/// The connected-accounts listing.
pub(crate) const ACCOUNTS_PATH: &str = "/api/v1/connected_accounts";

const APP_MAX_PAGE: usize = 30;
const ACCOUNTS_MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 10;

/// How many usage requests are being served at once, and the most there ever were (tests check
/// that a client stays within its request budget). A request whose connection a fault drops
/// stays counted.
#[derive(Debug, Default)]
pub(crate) struct Load {
    now: usize,
    pub max: usize,
}

impl Load {
    pub fn start(&mut self) {
        self.now += 1;
        self.max = self.max.max(self.now);
    }

    pub fn end(&mut self) {
        self.now = self.now.saturating_sub(1);
    }
}

/// How the server refuses to delete a connector that still has connections. The contract
/// does not say; both readings are served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InUseRefusal {
    /// 400 with gRPC `FAILED_PRECONDITION` (9).
    #[default]
    FailedPrecondition,
    /// 403 with gRPC `PERMISSION_DENIED` (7).
    Forbidden,
}

/// How the usage endpoints answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageOptions {
    /// The PREVIEW app-connections listing is missing: it answers 404 as an unknown route.
    pub app_connections_missing: bool,
    /// How a delete of a connector with connections is refused.
    pub in_use_refusal: InUseRefusal,
    /// The connected-accounts listing reports `total_size: 0` (as servers that do not count).
    pub hide_total_size: bool,
    /// A value every usage answer carries in fields a careful client never reads: an
    /// `access_token` on every item, a `client_secret` in every connection's `oauth_config`,
    /// `authorization_details` on every connected account. Tests search output for it.
    pub extra_secret: Option<String>,
    /// Every connection's and connected account's status is answered as this text: a server
    /// with statuses the contract does not list (a client counts them under their own name).
    /// Tests plant hostile text here.
    pub undocumented_status: Option<String>,
}

/// One connection as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StoredConnection {
    pub id: String,
    /// The connection name.
    pub key_id: String,
    pub provider_key: String,
    /// `DRAFT`, `IN_PROGRESS` or `COMPLETED`.
    pub status: String,
    pub enabled: bool,
}

/// One connected account as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StoredAccount {
    pub id: String,
    /// The end user's identifier (personal data: skconn must never show it).
    pub identifier: String,
    pub connection_id: String,
    /// The connection name.
    pub connector: String,
    pub provider: String,
    pub status: String,
}

/// The connections and connected accounts of one environment (kept in the state file).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct UsageData {
    #[serde(default)]
    pub connections: Vec<StoredConnection>,
    #[serde(default)]
    pub accounts: Vec<StoredAccount>,
    #[serde(default)]
    next: u64,
}

pub(crate) const CONNECTION_STATUSES: &[&str] = &["DRAFT", "IN_PROGRESS", "COMPLETED"];
pub(crate) const ACCOUNT_STATUSES: &[&str] = &[
    "ACTIVE",
    "EXPIRED",
    "PENDING_AUTH",
    "PENDING_VERIFICATION",
    "DISCONNECTED",
];

/// Whether a connection's `provider_key` points at the connector with this identifier: the
/// identifier itself, or it followed by `:` and a suffix (`:` is reserved for internal
/// suffixing).
fn belongs(provider_key: &str, identifier: &str) -> bool {
    provider_key == identifier
        || provider_key
            .strip_prefix(identifier)
            .is_some_and(|r| r.starts_with(':'))
}

impl UsageData {
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty() && self.accounts.is_empty()
    }

    fn next_id(&mut self, prefix: &str, salt: u64) -> String {
        self.next += 1;
        let mut rng =
            fastrand::Rng::with_seed(salt ^ self.next.wrapping_mul(0xA24B_AED4_963E_E407));
        format!("{prefix}_{:018}", rng.u64(..10u64.pow(18)))
    }

    /// Adds a connection; returns its id.
    ///
    /// # Panics
    /// On a status that is not a connection status, or a name already taken.
    pub fn add_connection(
        &mut self,
        salt: u64,
        provider_key: &str,
        key_id: &str,
        status: &str,
        enabled: bool,
    ) -> String {
        assert!(
            CONNECTION_STATUSES.contains(&status),
            "emulator: {status:?} is not one of {CONNECTION_STATUSES:?}"
        );
        assert!(
            !self.connections.iter().any(|c| c.key_id == key_id),
            "emulator: a connection named {key_id:?} exists"
        );
        let id = self.next_id("conn", salt);
        self.connections.push(StoredConnection {
            id: id.clone(),
            key_id: key_id.into(),
            provider_key: provider_key.into(),
            status: status.into(),
            enabled,
        });
        id
    }

    /// Adds `n` connected accounts with this status to the connection with this name.
    ///
    /// # Panics
    /// On an unknown connection or status.
    pub fn add_accounts(&mut self, salt: u64, connection: &str, status: &str, n: usize) {
        assert!(
            ACCOUNT_STATUSES.contains(&status),
            "emulator: {status:?} is not one of {ACCOUNT_STATUSES:?}"
        );
        let conn = self
            .connections
            .iter()
            .find(|c| c.key_id == connection)
            .unwrap_or_else(|| panic!("emulator: no connection named {connection:?}"))
            .clone();
        for _ in 0..n {
            let id = self.next_id("ca", salt);
            let user = format!("user{}.{}@example.com", self.next, &id[3..11]);
            self.accounts.push(StoredAccount {
                id,
                identifier: user,
                connection_id: conn.id.clone(),
                connector: conn.key_id.clone(),
                provider: conn.provider_key.clone(),
                status: status.into(),
            });
        }
    }

    /// Removes the connections of the connector with this identifier and their accounts
    /// (what a user does in the dashboard before deleting it); returns how many connections.
    pub fn remove_for(&mut self, identifier: &str) -> usize {
        let gone: Vec<String> = self
            .connections
            .iter()
            .filter(|c| belongs(&c.provider_key, identifier))
            .map(|c| c.id.clone())
            .collect();
        self.connections.retain(|c| !gone.contains(&c.id));
        self.accounts.retain(|a| !gone.contains(&a.connection_id));
        gone.len()
    }

    /// How many connections point at the connector with this identifier.
    pub fn connections_of(&self, identifier: &str) -> usize {
        self.connections
            .iter()
            .filter(|c| belongs(&c.provider_key, identifier))
            .count()
    }

    fn render_connection(c: &StoredConnection, options: &UsageOptions) -> Value {
        let mut v = json!({
            "id": c.id,
            "provider": "CUSTOM",
            "type": "OAUTH",
            "status": c.status,
            "enabled": c.enabled,
            "organization_id": "",
            "organization_name": "",
            "domains": [],
            "ui_button_title": "",
            "provider_key": c.provider_key,
            "key_id": c.key_id,
            "created_at": "2026-01-01T00:00:00Z",
        });
        if let Some(status) = &options.undocumented_status {
            v["status"] = json!(status);
        }
        if let Some(secret) = &options.extra_secret {
            v["access_token"] = json!(secret);
            v["oauth_config"] = json!({"client_id": "cid", "client_secret": secret});
        }
        v
    }

    fn render_account(a: &StoredAccount, options: &UsageOptions) -> Value {
        let mut v = json!({
            "id": a.id,
            "identifier": a.identifier,
            "provider": a.provider,
            "connector": a.connector,
            "connection_id": a.connection_id,
            "status": a.status,
            "authorization_type": "OAUTH",
            "token_expires_at": "2026-12-31T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "last_used_at": "2026-01-02T00:00:00Z",
        });
        if let Some(status) = &options.undocumented_status {
            v["status"] = json!(status);
        }
        if let Some(secret) = &options.extra_secret {
            v["access_token"] = json!(secret);
            v["authorization_details"] =
                json!({"oauth_token": {"access_token": secret, "refresh_token": secret}});
        }
        v
    }

    /// The accounts as the API lists them (tests search output for their identifiers).
    pub fn rendered_accounts(&self) -> Vec<Value> {
        self.accounts
            .iter()
            .map(|a| Self::render_account(a, &UsageOptions::default()))
            .collect()
    }

    /// The connections as the API lists them.
    pub fn rendered_connections(&self) -> Vec<Value> {
        self.connections
            .iter()
            .map(|c| Self::render_connection(c, &UsageOptions::default()))
            .collect()
    }
}

/// Why a delete of this connector is refused, if it is.
pub(crate) fn refuse_delete(
    data: &UsageData,
    options: &UsageOptions,
    identifier: &str,
) -> Option<ApiError> {
    let n = data.connections_of(identifier);
    if n == 0 {
        return None;
    }
    let message = format!(
        "custom provider {identifier} has {n} connection(s); remove the related connections or connected accounts before retrying the delete flow"
    );
    Some(match options.in_use_refusal {
        InUseRefusal::FailedPrecondition => {
            ApiError::new(StatusCode::BAD_REQUEST, 9, "FAILED_PRECONDITION", message)
        }
        InUseRefusal::Forbidden => {
            ApiError::new(StatusCode::FORBIDDEN, 7, "PERMISSION_DENIED", message)
        }
    })
}

/// Whether a GET on this path is one of the usage listings.
pub(crate) fn handles(path: &str) -> bool {
    matches!(path, APP_PATH | CONNECTIONS_PATH | ACCOUNTS_PATH)
}

/// Serves a usage listing (`path` is one [`handles`] accepts; the method was checked).
pub(crate) fn list(
    data: &UsageData,
    options: &UsageOptions,
    salt: u64,
    path: &str,
    query: &str,
) -> Result<Value, ApiError> {
    match path {
        APP_PATH if options.app_connections_missing => {
            Err(ApiError::not_found(format!("no route for {path}")))
        }
        APP_PATH => app_connections(data, options, salt, query),
        CONNECTIONS_PATH => connections(data, options, query),
        _ => accounts(data, options, salt, query),
    }
}

/// The query parameters, refusing unknown and repeated ones (`repeated` may repeat).
fn params(
    query: &str,
    known: &[&str],
    repeated: &[&str],
) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(ApiError::invalid_field(&k, "unknown query parameter"));
        }
        let list = out.entry(k.to_string()).or_default();
        if !list.is_empty() && !repeated.contains(&k.as_ref()) {
            return Err(ApiError::invalid_field(&k, "parameter is repeated"));
        }
        list.push(v.into_owned());
    }
    Ok(out)
}

fn one<'a>(p: &'a HashMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    p.get(k).and_then(|v| v.first()).map(String::as_str)
}

fn page_size(p: &HashMap<String, Vec<String>>, max: usize) -> Result<usize, ApiError> {
    let n = match one(p, "page_size") {
        None => 0,
        Some(s) => s
            .parse::<u32>()
            .map_err(|_| ApiError::invalid_field("page_size", "must be a non-negative integer"))?
            as usize,
    };
    if n > max {
        return Err(ApiError::invalid_field(
            "page_size",
            &format!("value must be less than or equal to {max}"),
        ));
    }
    Ok(if n == 0 { DEFAULT_PAGE.min(max) } else { n })
}

/// Page tokens are offsets, salted so that a client cannot make them up.
fn token(salt: u64, offset: usize) -> String {
    format!("u{:x}", (offset as u64) ^ (salt & 0xFFFF_FFFF))
}

fn offset(p: &HashMap<String, Vec<String>>, salt: u64) -> Result<usize, ApiError> {
    match one(p, "page_token") {
        None | Some("") => Ok(0),
        Some(t) => t
            .strip_prefix('u')
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map(|n| (n ^ (salt & 0xFFFF_FFFF)) as usize)
            .ok_or_else(|| ApiError::invalid_field("page_token", "invalid page token")),
    }
}

fn page<T>(items: &[T], start: usize, size: usize, salt: u64) -> (&[T], String, String) {
    let start = start.min(items.len());
    let end = (start + size).min(items.len());
    let next = if end < items.len() {
        token(salt, end)
    } else {
        String::new()
    };
    let prev = if start == 0 {
        String::new()
    } else {
        token(salt, start.saturating_sub(size))
    };
    (&items[start..end], next, prev)
}

fn app_connections(
    data: &UsageData,
    options: &UsageOptions,
    salt: u64,
    query: &str,
) -> Result<Value, ApiError> {
    let p = params(
        query,
        &["page_size", "page_token", "provider", "query"],
        &[],
    )?;
    let size = page_size(&p, APP_MAX_PAGE)?;
    let start = offset(&p, salt)?;
    let provider = one(&p, "provider");
    if let Some(pr) = provider {
        if pr.is_empty() || pr.chars().count() > 50 {
            return Err(ApiError::invalid_field(
                "provider",
                "value length must be between 1 and 50 characters",
            ));
        }
    }
    let text = one(&p, "query");
    if let Some(q) = text {
        if !(3..=100).contains(&q.chars().count()) {
            return Err(ApiError::invalid_field(
                "query",
                "value length must be between 3 and 100 characters",
            ));
        }
    }
    let all: Vec<&StoredConnection> = data
        .connections
        .iter()
        .filter(|c| provider.is_none_or(|pr| belongs(&c.provider_key, pr)))
        .filter(|c| {
            text.is_none_or(|q| {
                let q = q.to_lowercase();
                c.key_id.to_lowercase().contains(&q) || c.provider_key.to_lowercase().contains(&q)
            })
        })
        .collect();
    let (items, next, prev) = page(&all, start, size, salt);
    Ok(json!({
        "connections": items.iter().map(|c| UsageData::render_connection(c, options)).collect::<Vec<_>>(),
        "next_page_token": next,
        "prev_page_token": prev,
        "total_size": all.len(),
    }))
}

fn connections(data: &UsageData, options: &UsageOptions, query: &str) -> Result<Value, ApiError> {
    let p = params(query, &["organization_id", "domain", "include"], &[])?;
    let all = one(&p, "include") == Some("all");
    let list: Vec<Value> = data
        .connections
        .iter()
        .filter(|c| all || (c.status == "COMPLETED" && c.enabled))
        .map(|c| UsageData::render_connection(c, options))
        .collect();
    Ok(json!({ "connections": list }))
}

fn accounts(
    data: &UsageData,
    options: &UsageOptions,
    salt: u64,
    query: &str,
) -> Result<Value, ApiError> {
    let p = params(
        query,
        &[
            "organization_id",
            "user_id",
            "connector",
            "identifier",
            "provider",
            "page_size",
            "page_token",
            "query",
            "connection_names",
        ],
        &["connection_names"],
    )?;
    let size = page_size(&p, ACCOUNTS_MAX_PAGE)?;
    let start = offset(&p, salt)?;
    let connector = one(&p, "connector");
    if let Some(c) = connector {
        let ok = c.len() <= 400
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | ':' | ' ' | '-'));
        if !ok {
            return Err(ApiError::invalid_field(
                "connector",
                "value does not match regex pattern `^[a-zA-Z0-9_: -]*$`",
            ));
        }
    }
    let names = p.get("connection_names").cloned().unwrap_or_default();
    if !names.is_empty() && connector.is_some() {
        return Err(ApiError::invalid_field(
            "connection_names",
            "cannot be combined with connector",
        ));
    }
    if names.len() > 20 {
        return Err(ApiError::invalid_field(
            "connection_names",
            "at most 20 names per request",
        ));
    }
    let identifier = one(&p, "identifier");
    let provider = one(&p, "provider");
    let all: Vec<&StoredAccount> = data
        .accounts
        .iter()
        .filter(|a| connector.is_none_or(|c| c.is_empty() || a.connector == c))
        .filter(|a| names.is_empty() || names.contains(&a.connector))
        .filter(|a| identifier.is_none_or(|i| i.is_empty() || a.identifier == i))
        .filter(|a| provider.is_none_or(|pr| pr.is_empty() || a.provider == pr))
        .collect();
    let (items, next, prev) = page(&all, start, size, salt);
    let mut out = Map::new();
    out.insert(
        "connected_accounts".into(),
        Value::Array(
            items
                .iter()
                .map(|a| UsageData::render_account(a, options))
                .collect(),
        ),
    );
    out.insert("next_page_token".into(), json!(next));
    out.insert("prev_page_token".into(), json!(prev));
    let total = if options.hide_total_size {
        0
    } else {
        all.len()
    };
    out.insert("total_size".into(), json!(total));
    Ok(Value::Object(out))
}

/// A connection to create when the emulator starts (`skconn emulator --connection`), written
/// `PROVIDER_KEY=NAME[:STATUS[:ACCOUNTS]]`: the connector identifier the connection points
/// at, the connection name, its status (`COMPLETED` by default; `DRAFT`, `IN_PROGRESS`) and how
/// many `ACTIVE` connected accounts it holds (0 by default). A connection whose name the state
/// already holds is left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedConnection {
    pub provider_key: String,
    pub name: String,
    pub status: String,
    pub accounts: usize,
}

impl std::str::FromStr for SeedConnection {
    type Err = String;

    fn from_str(s: &str) -> Result<SeedConnection, String> {
        let (key, rest) = s
            .split_once('=')
            .ok_or("expected PROVIDER_KEY=NAME[:STATUS[:ACCOUNTS]], e.g. my_asana:48213=asana-live:COMPLETED:37")?;
        let mut parts = rest.split(':');
        let name = parts.next().unwrap_or_default();
        let status = parts.next().unwrap_or("COMPLETED").to_ascii_uppercase();
        let accounts = match parts.next() {
            None => 0,
            Some(n) => n
                .parse()
                .map_err(|_| format!("{n:?} is not a number of connected accounts"))?,
        };
        if key.is_empty() || name.is_empty() || parts.next().is_some() {
            return Err(format!(
                "{s:?}: expected PROVIDER_KEY=NAME[:STATUS[:ACCOUNTS]]"
            ));
        }
        if !CONNECTION_STATUSES.contains(&status.as_str()) {
            return Err(format!(
                "{status:?} is not a connection status ({})",
                CONNECTION_STATUSES.join(", ")
            ));
        }
        Ok(SeedConnection {
            provider_key: key.into(),
            name: name.into(),
            status,
            accounts,
        })
    }
}

impl UsageData {
    /// Creates the seed connections whose names are not taken yet.
    pub fn seed(&mut self, salt: u64, seeds: &[SeedConnection]) {
        for s in seeds {
            if self.connections.iter().any(|c| c.key_id == s.name) {
                continue;
            }
            self.add_connection(salt, &s.provider_key, &s.name, &s.status, true);
            self.add_accounts(salt, &s.name, "ACTIVE", s.accounts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_connections_parse() {
        let s: SeedConnection = "my_asana:48213=asana-live:draft:37".parse().unwrap();
        assert_eq!(
            s,
            SeedConnection {
                provider_key: "my_asana:48213".into(),
                name: "asana-live".into(),
                status: "DRAFT".into(),
                accounts: 37
            }
        );
        let s: SeedConnection = "k=n".parse().unwrap();
        assert_eq!((s.status.as_str(), s.accounts), ("COMPLETED", 0));
        for bad in ["k", "=n", "k=", "k=n:GONE", "k=n:DRAFT:x", "k=n:DRAFT:1:2"] {
            assert!(bad.parse::<SeedConnection>().is_err(), "{bad}");
        }
    }
}
