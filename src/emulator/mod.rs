//! A Scalekit-compatible server. STUB — interface only.

use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub client_id: String,
    pub client_secret: String,
    pub state_file: Option<PathBuf>,
    pub max_page_size: usize,
    pub token_ttl: Duration,
    pub latency: Duration,
}
pub struct Fault;
impl std::str::FromStr for Fault { type Err = String; fn from_str(_: &str) -> Result<Fault, String> { unimplemented!() } }

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            client_id: "skc_local".into(),
            client_secret: "local-secret".into(),
            state_file: None,
            max_page_size: 20,
            token_ttl: Duration::from_secs(3600),
            latency: Duration::ZERO,
        }
    }
}

pub struct Emulator {}

impl Emulator {
    pub fn spawn(_config: Config) -> std::io::Result<Emulator> {
        unimplemented!()
    }
    pub async fn serve(_config: Config, _on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> { unimplemented!() }
    pub fn push_fault(&self, _f: Fault) { unimplemented!() }
    pub fn url(&self) -> String {
        unimplemented!()
    }
    pub fn connectors(&self) -> Vec<Value> {
        unimplemented!()
    }
}
