//! A Scalekit-compatible server for custom connectors ("custom providers"), faithful and strict
//! to the contract in `scalekit-api.md`.
//!
//! It serves the token endpoint, the list, create, update and delete endpoints, with the
//! contract's validation rules, error shapes, pagination, identifiers and server-owned fields,
//! and the connections and connected-accounts listings (`usage`) that say who uses a connector.
//! skconn's client is tolerant; this server is strict, so that anything the client gets away
//! with here is something the real server accepts too.
//!
//! Three users: integration tests ([`Emulator::spawn`], in-process, with faults and out-of-band
//! edits driven from test code), `skconn emulator` ([`Emulator::serve`], in the foreground), and
//! the "local" environment (in-process, its state kept in a file).
//!
//! The emulator is its own world: it shares no code with skconn's loader, planner or client, so
//! that it is an independent reading of the contract.

mod api_error;
mod fault;
mod persist;
mod server;
mod state;
mod usage;
mod validate;

pub use fault::{
    unknown_key_value, Fault, FaultKind, Matcher, ParseFaultError, Rewrite,
    SYNTAX_HELP as FAULT_HELP,
};
pub use usage::{InUseRefusal, SeedConnection, UsageOptions};

use serde_json::{Map, Value};
use server::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How an emulator runs.
#[derive(Clone)]
pub struct Config {
    /// Where to listen; port 0 takes any free port.
    pub listen: SocketAddr,
    /// The only client id the token endpoint accepts.
    pub client_id: String,
    /// The only client secret the token endpoint accepts. Never logged or shown by `Debug`.
    pub client_secret: String,
    /// Keep the connectors in this JSON file: loaded at start if it exists, rewritten after
    /// every change.
    pub state_file: Option<PathBuf>,
    /// The largest page the list endpoint returns, whatever the client asks for.
    pub max_page_size: usize,
    /// Lifetime of access tokens. `Duration::ZERO` makes every token expired on arrival.
    pub token_ttl: Duration,
    /// Added to every request before it is handled (benchmarks, slow-network runs).
    pub latency: Duration,
    /// Seconds added to the time every answer's `Date` header gives (negative: behind), as a
    /// server whose clock is off. 0 leaves the header to the HTTP server.
    pub clock_skew_secs: i64,
    /// Seed for identifiers. Without one, every new state gets random identifiers, so two
    /// emulators (two environments) never agree on them. A loaded state file keeps its own.
    pub seed: Option<u64>,
    /// Faults queued at start (see [`Fault`] for the string syntax `skconn emulator --fault`
    /// takes).
    pub faults: Vec<Fault>,
    /// A change the server makes to what it stores (see [`Rewrite`]).
    pub rewrite: Rewrite,
    /// How the connections and connected-accounts endpoints answer (see [`UsageOptions`]).
    pub usage: UsageOptions,
    /// Connections created at start (see [`SeedConnection`]).
    pub connections: Vec<SeedConnection>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "skc_local".into(),
            client_secret: "local-secret".into(),
            state_file: None,
            max_page_size: 20,
            token_ttl: Duration::from_secs(3600),
            latency: Duration::ZERO,
            clock_skew_secs: 0,
            seed: None,
            faults: Vec::new(),
            rewrite: Rewrite::None,
            usage: UsageOptions::default(),
            connections: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("state_file", &self.state_file)
            .field("max_page_size", &self.max_page_size)
            .field("token_ttl", &self.token_ttl)
            .field("latency", &self.latency)
            .field("clock_skew_secs", &self.clock_skew_secs)
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("rewrite", &self.rewrite)
            .field("usage", &self.usage)
            .field("connections", &self.connections)
            .finish()
    }
}

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// The path as sent (not percent-decoded).
    pub path: String,
    /// The query string as sent, without `?`; empty when there is none.
    pub query: String,
    /// The body, when it is JSON. Never the token request's form, which holds the secret.
    pub body: Option<Value>,
    /// The status answered; 0 while the request is in progress, or when no answer was sent (a
    /// dropped connection).
    pub status: u16,
    /// Whether an `Authorization` header was present (its value is never kept).
    pub has_authorization: bool,
    /// The fault applied to this request, if any.
    pub fault: Option<FaultKind>,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    client_id: String,
    client_secret: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Starts the server on its own thread with its own tokio runtime (so that synchronous
    /// tests and async callers alike can use it); returns once it is listening.
    pub fn spawn(config: Config) -> std::io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("skconn-emulator")
            .enable_all()
            .build()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("skconn-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            server::run(listener, server_shared, async {
                                let _ = stopped.await;
                            })
                            .await
                        }
                        Err(e) => tracing::error!(error = %e, "emulator: cannot listen"),
                    }
                });
                // Dropping the runtime here ends every open connection.
            })?;
        tracing::debug!(%addr, "emulator: listening");
        Ok(Emulator {
            addr,
            client_id: config.client_id,
            client_secret: config.client_secret,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Runs the server on the current runtime until Ctrl-C (for `skconn emulator`).
    /// `on_ready` gets the address once the server is listening.
    pub async fn serve(config: Config, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
        Emulator::serve_until(config, on_ready, async {
            if tokio::signal::ctrl_c().await.is_err() {
                // No signal handling available: run until the process is killed.
                std::future::pending::<()>().await;
            }
        })
        .await
    }

    /// Runs the server on the current runtime until `shutdown` completes. Open connections
    /// are not waited for.
    pub async fn serve_until(
        config: Config,
        on_ready: impl FnOnce(SocketAddr),
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config)?);
        on_ready(addr);
        server::run(listener, shared, shutdown).await;
        Ok(())
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Every custom connector, as the API returns it, sorted by display name.
    pub fn connectors(&self) -> Vec<Value> {
        let inner = self.shared.lock();
        let mut items: Vec<_> = inner.store.items().iter().collect();
        items.sort_by(|a, b| a.display_name().cmp(b.display_name()));
        items.iter().map(|s| s.render()).collect()
    }

    /// The custom connector with this display name, as the API returns it.
    pub fn connector(&self, display_name: &str) -> Option<Value> {
        let inner = self.shared.lock();
        inner
            .store
            .items()
            .iter()
            .find(|s| s.display_name() == display_name)
            .map(|s| s.render())
    }

    /// Creates a connector as if made in the dashboard: validated like a create (and rewritten
    /// by the rewrite rule), but not counted as a request. Returns the stored object.
    ///
    /// # Panics
    /// If the body is invalid or its display name is taken.
    pub fn insert(&self, body: Value) -> Value {
        let body = validate::connector_body(&body)
            .unwrap_or_else(|v| panic!("emulator insert: invalid connector: {v:?}"));
        let mut inner = self.shared.lock();
        let body = server::rewritten(&inner.rewrite, body);
        let name = body["display_name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let stored = match inner.store.create(body) {
            Ok(s) => s.render(),
            Err(e) => panic!("emulator insert: cannot create {name:?}: {e:?}"),
        };
        inner.store.save().expect("emulator: save the state file");
        stored
    }

    /// Changes a connector out of band (an edit in the dashboard), to simulate drift. The
    /// closure gets the object as the API returns it; whatever it leaves in the non-server-owned
    /// fields is stored as is, without validation, so a test can also plant a state the API
    /// would refuse (unknown keys included). Server-owned fields cannot be changed this way.
    ///
    /// # Panics
    /// If no connector has this display name, the result is not an object, or its display
    /// name belongs to another connector.
    pub fn edit(&self, display_name: &str, f: impl FnOnce(&mut Value)) {
        let mut value = self
            .connector(display_name)
            .unwrap_or_else(|| panic!("emulator edit: no connector named {display_name:?}"));
        // The closure runs without the lock held, so it may itself call this handle.
        f(&mut value);
        let Value::Object(obj) = value else {
            panic!("emulator edit: the connector must stay a JSON object");
        };
        let body: Map<String, Value> = obj
            .into_iter()
            .filter(|(k, _)| !validate::SERVER_OWNED.contains(&k.as_str()))
            .collect();
        let mut inner = self.shared.lock();
        if let Err(e) = inner.store.replace_raw(display_name, body) {
            panic!("emulator edit of {display_name:?}: {e:?}");
        }
        inner.store.save().expect("emulator: save the state file");
    }

    /// Adds a connection to the connector with this display name (as if made in the
    /// dashboard; not counted as a request). `status` is `DRAFT`, `IN_PROGRESS` or
    /// `COMPLETED`; `name` is the connection name (`key_id`). Returns the connection id. A
    /// connector with connections refuses to be deleted.
    ///
    /// # Panics
    /// If no connector has this display name, the status is unknown or the name is taken.
    pub fn add_connection(
        &self,
        display_name: &str,
        name: &str,
        status: &str,
        enabled: bool,
    ) -> String {
        let identifier = self
            .connector(display_name)
            .and_then(|c| c["identifier"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                panic!("emulator add_connection: no connector named {display_name:?}")
            });
        self.add_connection_for_key(&identifier, name, status, enabled)
    }

    /// Adds a connection whose `provider_key` is exactly `provider_key` (a suffixed key, or
    /// one of a connector that does not exist).
    pub fn add_connection_for_key(
        &self,
        provider_key: &str,
        name: &str,
        status: &str,
        enabled: bool,
    ) -> String {
        let mut inner = self.shared.lock();
        let salt = inner.store.salt;
        let id = inner
            .store
            .usage
            .add_connection(salt, provider_key, name, status, enabled);
        inner.store.save().expect("emulator: save the state file");
        id
    }

    /// Adds `count` connected accounts with this status (`ACTIVE`, `EXPIRED`, `PENDING_AUTH`,
    /// `PENDING_VERIFICATION`, `DISCONNECTED`) to the connection named `connection`.
    ///
    /// # Panics
    /// If there is no such connection, or the status is unknown.
    pub fn add_connected_accounts(&self, connection: &str, status: &str, count: usize) {
        let mut inner = self.shared.lock();
        let salt = inner.store.salt;
        inner
            .store
            .usage
            .add_accounts(salt, connection, status, count);
        inner.store.save().expect("emulator: save the state file");
    }

    /// Removes the connections of the connector with this display name and their connected
    /// accounts (what a user does in the dashboard before deleting it). Returns how many
    /// connections went.
    ///
    /// # Panics
    /// If no connector has this display name.
    pub fn remove_connections(&self, display_name: &str) -> usize {
        let identifier = self
            .connector(display_name)
            .and_then(|c| c["identifier"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                panic!("emulator remove_connections: no connector named {display_name:?}")
            });
        let mut inner = self.shared.lock();
        let n = inner.store.usage.remove_for(&identifier);
        inner.store.save().expect("emulator: save the state file");
        n
    }

    /// Every connection, as the API lists it.
    pub fn connections(&self) -> Vec<Value> {
        self.shared.lock().store.usage.rendered_connections()
    }

    /// Every connected account, as the API lists it (end-user identifiers included: tests
    /// search skconn's output for them).
    pub fn connected_accounts(&self) -> Vec<Value> {
        self.shared.lock().store.usage.rendered_accounts()
    }

    /// The most connections and connected-accounts requests that were ever in progress at
    /// once.
    pub fn usage_max_in_flight(&self) -> usize {
        self.shared.lock().usage_load.max
    }

    /// Changes how the connections and connected-accounts endpoints answer.
    pub fn set_usage_options(&self, f: impl FnOnce(&mut UsageOptions)) {
        f(&mut self.shared.lock().usage_options);
    }

    /// Every request received since the start (or the last [`Emulator::clear_requests`]), in
    /// arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().clear_requests();
    }

    /// How many POST, PUT and DELETE requests reached `/api/v1/custom-providers…`, whether or
    /// not they succeeded (a faulted request counts too). Not reset by `clear_requests`.
    pub fn writes(&self) -> usize {
        self.shared.lock().writes
    }

    /// Queues a fault (see [`Fault`] for the order in which faults apply).
    pub fn push_fault(&self, fault: Fault) {
        self.shared.lock().push_fault(fault);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().clear_faults();
    }

    /// How many faults are still queued (a fault leaves the queue when its times are used up).
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().pending_faults()
    }

    /// Sets the rewrite rule for later writes.
    pub fn set_rewrite(&self, rule: Rewrite) {
        self.shared.lock().rewrite = rule;
    }

    /// Makes every access token issued so far expired, as if its lifetime had passed.
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_tokens();
    }

    /// Every access token this emulator has issued (tests search output for them).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
