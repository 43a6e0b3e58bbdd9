//! The live side: the only code that knows HTTP. Token, list, create, update, delete, retries.
//!
//! STUB — interface only; the implementation replaces the bodies.

use crate::model::Live;
use crate::secret::Secret;
use serde_json::Value;
use std::time::Duration;

/// Where and how to reach one environment.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The environment's name in skconn.yaml (for messages).
    pub env: String,
    /// Base URL, e.g. `https://acme.scalekit.dev` (no trailing slash needed).
    pub url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Tuning of the client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// The page size asked for when listing (the server may return fewer).
    pub page_size: usize,
    /// Attempts per request, first one included.
    pub max_attempts: u32,
    /// Overall deadline for one logical request, retries included.
    pub deadline: Duration,
    /// First backoff delay; doubled each retry, with jitter.
    pub base_backoff: Duration,
    /// Upper bound of one backoff delay.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            page_size: 1000,
            max_attempts: 6,
            deadline: Duration::from_secs(300),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A failed call to an environment.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("stub")]
    Stub,
}

impl RemoteError {
    pub fn is_conflict(&self) -> bool { unimplemented!() }
    pub fn is_not_found(&self) -> bool { unimplemented!() }
    pub fn is_in_use(&self) -> bool { unimplemented!() }
    pub fn may_have_been_applied(&self) -> bool { unimplemented!() }
}

/// A client for one environment. Cheap to share by reference across tasks.
#[derive(Debug)]
pub struct Client {}

impl Client {
    pub fn new(_endpoint: Endpoint, _options: ClientOptions) -> Result<Client, RemoteError> {
        unimplemented!()
    }
    pub fn env(&self) -> &str {
        unimplemented!()
    }
    pub async fn list(&self) -> Result<Vec<Live>, RemoteError> {
        unimplemented!()
    }
    pub async fn create(&self, _body: &Value) -> Result<Live, RemoteError> {
        unimplemented!()
    }
    pub async fn update(&self, _identifier: &str, _body: &Value) -> Result<Live, RemoteError> {
        unimplemented!()
    }
    pub async fn delete(&self, _identifier: &str) -> Result<(), RemoteError> {
        unimplemented!()
    }
}
