//! Read-only look-ups of who uses a connector: the environment's connections and their
//! connected accounts (`scalekit-usage-api.md` §2–3).
//!
//! Every answer is decoded into the allow-listed fields below and nothing else: no `flatten`,
//! no catch-all, so a field the server adds later (a token, a secret) is dropped on arrival and
//! cannot reach a log line or an output. What it must never do: call an endpoint that returns
//! credentials (`/api/v1/connected_accounts/auth`, `…/details`, `/api/v1/connections/{id}`),
//! or hand an end user's identifier (`connected_account.identifier`) to its caller: that field
//! is not even decoded.

use super::call::{Kind, Request};
use super::pages::Pages;
use super::{Client, RemoteError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The app-connections listing (PREVIEW: it may be missing).
pub const APP_CONNECTIONS_PATH: &str = "/api/v1/connections/app";
/// The full connections listing (public; no pagination, no provider filter).
pub const CONNECTIONS_PATH: &str = "/api/v1/connections";
/// The connected-accounts listing (public; never returns authorization details).
pub const CONNECTED_ACCOUNTS_PATH: &str = "/api/v1/connected_accounts";

/// The documented largest page of the app-connections listing.
pub const APP_CONNECTIONS_PAGE_SIZE: usize = 30;
/// The documented largest page of the connected-accounts listing.
pub const ACCOUNTS_PAGE_SIZE: usize = 100;
/// The longest `provider` filter the app-connections listing accepts.
pub const PROVIDER_FILTER_MAX: usize = 50;
/// Pages of connected accounts read for the per-status counts when the server reports the
/// total; past them the rest is counted as `uncounted` from the reported total.
const MAX_ACCOUNT_PAGES: usize = 20;

/// One connection, as far as skconn reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `conn_…`.
    pub id: String,
    /// The connection name (`key_id`): what connected accounts point at.
    pub name: String,
    /// The connector identifier it belongs to, possibly followed by `:` and a suffix.
    pub provider_key: String,
    /// `DRAFT`, `IN_PROGRESS`, `COMPLETED` (as the server sent it).
    pub status: String,
    pub enabled: bool,
}

impl Connection {
    /// Whether it belongs to the connector with this identifier: its `provider_key` is the
    /// identifier, or the identifier followed by `:` and a suffix.
    pub fn belongs_to(&self, identifier: &str) -> bool {
        self.provider_key == identifier
            || self
                .provider_key
                .strip_prefix(identifier)
                .is_some_and(|rest| rest.starts_with(':'))
    }
}

/// Connected accounts counted by status (as the server sent it, e.g. `ACTIVE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTally {
    pub by_status: BTreeMap<String, usize>,
    /// Accounts the reported total holds beyond the pages read (very large connections).
    pub uncounted: usize,
}

#[derive(Deserialize)]
struct ConnectionsPage {
    #[serde(default)]
    connections: Option<Vec<ConnectionItem>>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    total_size: Option<Value>,
}

#[derive(Deserialize)]
struct ConnectionItem {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    key_id: Option<Value>,
    #[serde(default)]
    provider_key: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    enabled: Option<Value>,
}

#[derive(Deserialize)]
struct AccountsPage {
    #[serde(default)]
    connected_accounts: Option<Vec<AccountItem>>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    total_size: Option<Value>,
}

/// Only the status: not the id, not the end user's identifier.
#[derive(Deserialize)]
struct AccountItem {
    #[serde(default)]
    status: Option<Value>,
}

/// A string field, leniently: a string as is, a number as its digits, anything else empty.
fn text(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A reported total (`total_size`): a number or decimal text, 0 meaning "not counted".
fn reported(v: &Option<Value>) -> Option<u64> {
    v.as_ref()
        .and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()))
        .filter(|t| *t > 0)
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| format!("the answer is not the expected JSON ({e})"))
}

impl From<ConnectionItem> for Connection {
    fn from(c: ConnectionItem) -> Connection {
        Connection {
            id: text(&c.id),
            name: text(&c.key_id),
            provider_key: text(&c.provider_key),
            status: text(&c.status),
            // A missing `enabled` is the zero value of a proto bool.
            enabled: matches!(c.enabled, Some(Value::Bool(true))),
        }
    }
}

impl Client {
    /// The connections of the connector with this identifier from the app-connections
    /// listing, filtered by provider and paged at its documented limit; `Ok(None)` when the
    /// endpoint is missing on this server (404 or 501) or cannot take this identifier as a
    /// filter, so that the caller falls back to [`Client::all_connections`].
    pub async fn app_connections(
        &self,
        identifier: &str,
    ) -> Result<Option<Vec<Connection>>, RemoteError> {
        if identifier.is_empty() || identifier.chars().count() > PROVIDER_FILTER_MAX {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut page_token = String::new();
        let mut pages = Pages::new("connections");
        loop {
            let mut query = format!("page_size={APP_CONNECTIONS_PAGE_SIZE}&provider=");
            query.extend(url::form_urlencoded::byte_serialize(identifier.as_bytes()));
            if !page_token.is_empty() {
                query.push_str("&page_token=");
                query.extend(url::form_urlencoded::byte_serialize(page_token.as_bytes()));
            }
            let answer = match self.read(APP_CONNECTIONS_PATH, query).await {
                Ok(a) => a,
                Err(e) if page_token.is_empty() && matches!(e.status(), Some(404 | 501)) => {
                    tracing::debug!(env = %self.env, "the app-connections listing is missing: {e}");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let page: ConnectionsPage = decode(&answer.body).map_err(|d| answer.unusable(d))?;
            let items = page.connections.unwrap_or_default();
            let entries = items.len();
            out.extend(
                items
                    .into_iter()
                    .map(Connection::from)
                    .filter(|c| c.belongs_to(identifier)),
            );
            let next = page.next_page_token.unwrap_or_default();
            match pages.next(entries, out.len(), reported(&page.total_size), next) {
                Ok(Some(next)) => page_token = next,
                Ok(None) => return Ok(Some(out)),
                Err(why) => return Err(answer.unusable(why)),
            }
        }
    }

    /// Every connection of the environment, draft and disabled ones included
    /// (`include=all`: without it the server hides them and "unused" could be wrong).
    pub async fn all_connections(&self) -> Result<Vec<Connection>, RemoteError> {
        let answer = self.read(CONNECTIONS_PATH, "include=all".into()).await?;
        let page: ConnectionsPage = decode(&answer.body).map_err(|d| answer.unusable(d))?;
        Ok(page
            .connections
            .unwrap_or_default()
            .into_iter()
            .map(Connection::from)
            .collect())
    }

    /// The connected accounts of the connection with this name, counted by status. Pages are
    /// read to the end (the per-status counts need every account); for a connection larger
    /// than [`MAX_ACCOUNT_PAGES`] pages whose total the server reports, the rest is counted
    /// from that total. Without a total, a listing longer than
    /// [`MAX_PAGES`](super::MAX_PAGES) pages fails.
    pub async fn count_connected_accounts(
        &self,
        connection_name: &str,
    ) -> Result<AccountTally, RemoteError> {
        let mut tally = AccountTally::default();
        let mut counted = 0usize;
        let mut page_token = String::new();
        let mut pages = Pages::new("connected accounts");
        loop {
            let mut query = format!("page_size={ACCOUNTS_PAGE_SIZE}&connector=");
            query.extend(url::form_urlencoded::byte_serialize(
                connection_name.as_bytes(),
            ));
            if !page_token.is_empty() {
                query.push_str("&page_token=");
                query.extend(url::form_urlencoded::byte_serialize(page_token.as_bytes()));
            }
            let answer = self.read(CONNECTED_ACCOUNTS_PATH, query).await?;
            let page: AccountsPage = decode(&answer.body).map_err(|d| answer.unusable(d))?;
            let items = page.connected_accounts.unwrap_or_default();
            let entries = items.len();
            for a in items {
                *tally.by_status.entry(text(&a.status)).or_default() += 1;
                counted += 1;
            }
            // A reported total of 0 next to accounts is "not reported" (some servers send 0
            // when they do not count).
            let total = reported(&page.total_size);
            let next = page.next_page_token.unwrap_or_default();
            if let Some(total) =
                total.filter(|_| !next.is_empty() && pages.read() + 1 >= MAX_ACCOUNT_PAGES)
            {
                tally.uncounted = usize::try_from(total)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(counted);
                return Ok(tally);
            }
            match pages.next(entries, counted, total, next) {
                Ok(Some(next)) => page_token = next,
                Ok(None) => return Ok(tally),
                Err(why) => return Err(answer.unusable(why)),
            }
        }
    }

    async fn read(&self, path: &str, query: String) -> Result<super::call::Answer, RemoteError> {
        self.send(&Request {
            method: Method::GET,
            path: path.to_string(),
            query: Some(query),
            body: None,
            kind: Kind::Read,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_belongs_by_identifier_or_suffix() {
        let c = |key: &str| Connection {
            id: "conn_1".into(),
            name: "n".into(),
            provider_key: key.into(),
            status: "COMPLETED".into(),
            enabled: true,
        };
        assert!(c("my_asana:48213").belongs_to("my_asana:48213"));
        assert!(c("my_asana:48213:x1").belongs_to("my_asana:48213"));
        assert!(!c("my_asana:482130").belongs_to("my_asana:48213"));
        assert!(!c("other").belongs_to("my_asana:48213"));
    }

    #[test]
    fn only_allow_listed_fields_are_decoded() {
        let page: AccountsPage = decode(
            br#"{"connected_accounts":[{"id":"ca_1","identifier":"u@example.com","status":"ACTIVE",
                "authorization_details":{"oauth_token":{"access_token":"tok"}}}],"total_size":1}"#,
        )
        .unwrap();
        let items = page.connected_accounts.unwrap();
        assert_eq!(text(&items[0].status), "ACTIVE");
        let page: ConnectionsPage = decode(
            br#"{"connections":[{"id":"conn_1","key_id":"asana-1","provider_key":"a:1","status":"DRAFT",
                "oauth_config":{"client_secret":"s"}}]}"#,
        )
        .unwrap();
        let c = Connection::from(page.connections.unwrap().remove(0));
        assert_eq!(c.name, "asana-1");
        assert!(!c.enabled);
        let empty: ConnectionsPage = decode(b"").unwrap();
        assert!(empty.connections.is_none());
    }
}
