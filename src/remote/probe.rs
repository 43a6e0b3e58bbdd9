//! What `skconn doctor` reads from the live side beyond what a plan needs: success answers as
//! they came (status, body, and the `Date` and rate-limit headers), a bounded walk over a
//! listing whose pages the caller reads, what the token endpoint said about its token, and a
//! probe of the network path to an environment (DNS, proxy, TLS, round trips).
//!
//! Read-only: every request made here is a GET (the token request aside, made as for any call).
//! What it must never do: keep a header other than `Date` and the rate-limit family; send a
//! token or a secret over a connection whose certificate was not verified (the probe that reads
//! an untrusted certificate sends a bare `GET /` and nothing else); follow a redirect.

use super::call::{classify_transport, Answer, Kind, Request};
use super::error::TransportKind;
use super::pages::Pages;
use super::token::{rate_headers, TokenAnswer, DEFAULT_LIFETIME};
use super::{is_loopback, tls, Client, RemoteError};
use reqwest::Method;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The lifetime skconn assumes for a token whose answer names none.
pub const ASSUMED_TOKEN_LIFETIME: Duration = DEFAULT_LIFETIME;

/// A success answer as it came.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    /// The body. The caller reads what it needs from it; nothing here logs it.
    pub body: Vec<u8>,
    /// The `Date` header, as sent.
    pub date: Option<String>,
    /// The rate-limit headers.
    pub rate_headers: Vec<(String, String)>,
    /// When it arrived, by this machine's clock.
    pub received: SystemTime,
}

impl RawAnswer {
    fn of(a: &Answer) -> RawAnswer {
        RawAnswer {
            status: a.status,
            date: a
                .headers
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            rate_headers: rate_headers(&a.headers),
            received: a.received,
            body: a.body.clone(),
        }
    }
}

/// What the caller read on one page of a listing: how many entries it holds, the total the
/// server reported on it (0 or none: not reported) and the next page token (empty on the last
/// page).
#[derive(Debug, Clone, Default)]
pub struct PageSeen {
    pub entries: usize,
    pub total: Option<u64>,
    pub next: String,
}

/// Whether an error is a 400 that names the page size (a server refusing the size asked).
pub fn refuses_page_size(e: &RemoteError) -> bool {
    super::names_page_size(e)
}

impl Client {
    /// One GET below the environment's URL (`query` encoded, without `?`), with the retry
    /// policy of every read; the success answer as it came.
    pub async fn get_raw(&self, path: &str, query: &str) -> Result<RawAnswer, RemoteError> {
        self.send(&Request {
            method: Method::GET,
            path: path.to_string(),
            query: (!query.is_empty()).then(|| query.to_string()),
            body: None,
            kind: Kind::Read,
        })
        .await
        .map(|a| RawAnswer::of(&a))
    }

    /// Reads a listing page after page: `query` (encoded, without `?`) plus `page_token` from
    /// the second page on. `visit` reads each page and says what it holds; the walk follows the
    /// token it returns and is bounded like every listing (`pages`). Returns the pages read.
    pub async fn walk_pages(
        &self,
        what: &'static str,
        path: &str,
        query: &str,
        mut visit: impl FnMut(&RawAnswer) -> PageSeen,
    ) -> Result<usize, RemoteError> {
        let mut pages = Pages::new(what);
        let mut token = String::new();
        let mut listed = 0usize;
        loop {
            let mut q = query.to_string();
            if !token.is_empty() {
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str("page_token=");
                q.extend(url::form_urlencoded::byte_serialize(token.as_bytes()));
            }
            let answer = self
                .send(&Request {
                    method: Method::GET,
                    path: path.to_string(),
                    query: Some(q),
                    body: None,
                    kind: Kind::Read,
                })
                .await?;
            let seen = visit(&RawAnswer::of(&answer));
            listed += seen.entries;
            match pages.next(seen.entries, listed, seen.total, seen.next) {
                Ok(Some(next)) => token = next,
                Ok(None) => return Ok(pages.read()),
                Err(why) => return Err(answer.unusable(why)),
            }
        }
    }

    /// What the token endpoint said about the last token it gave this client.
    pub fn token_answer(&self) -> Option<TokenAnswer> {
        self.tokens.last_answer()
    }
}

/// How a host's name resolved.
#[derive(Debug, Clone)]
pub enum Dns {
    /// The URL names an IP address: nothing to resolve.
    Address(IpAddr),
    Resolved {
        addresses: Vec<IpAddr>,
        elapsed: Duration,
    },
    Failed {
        detail: String,
        elapsed: Duration,
    },
}

/// How requests to the host travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Loopback: never proxied, whatever the variables say; `proxy` is the variable that
    /// would otherwise apply.
    Loopback { proxy: Option<&'static str> },
    /// No proxy variable applies to this scheme.
    Direct,
    /// A proxy is set (by `variable`), but `NO_PROXY` names this host.
    NoProxy { variable: &'static str },
    /// Through this proxy (its address without credentials), named by `variable`.
    Proxy {
        proxy: String,
        variable: &'static str,
    },
}

/// Which trusted roots verified the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedBy {
    /// The operating system's roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`, which replace them
    /// when set) or the bundled web PKI roots.
    BuiltIn,
    /// The environment's `ca_file` or `--ca-file`.
    CaFiles,
    /// The other extra roots: the folders of `SSL_CERT_DIR`, `SSL_CERT_FILE`.
    CertVariables,
}

/// A request that got an answer.
#[derive(Debug, Clone, Copy)]
pub struct Reached {
    /// The HTTP status (any status: the point is that the server answered).
    pub status: u16,
    pub elapsed: Duration,
}

/// The network path to an environment, as seen from this machine.
#[derive(Debug, Clone)]
pub struct NetworkProbe {
    pub host: String,
    pub port: u16,
    pub https: bool,
    pub dns: Dns,
    pub route: Route,
    /// The first `GET /`, on a new connection (TLS included): answered, or how it failed.
    pub first: Result<Reached, (TransportKind, String)>,
    /// A second `GET /` on the open connection, when the first was answered.
    pub again: Option<Duration>,
    /// The server's certificate (DER): from the verified connection, or, when verification
    /// failed, read over a connection that does not verify it.
    pub certificate: Option<Vec<u8>>,
    /// Which roots verified it (https, first request answered).
    pub verified_by: Option<VerifiedBy>,
}

/// The proxy variable that applies to `scheme`, as reqwest reads them: `HTTPS_PROXY` (or
/// `HTTP_PROXY` for http), else `ALL_PROXY`, upper case first. Its value is never returned.
fn proxy_variable(scheme: &str) -> Option<&'static str> {
    let first = |names: [&'static str; 2]| {
        names
            .into_iter()
            .find(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
    };
    let specific = if scheme == "https" {
        ["HTTPS_PROXY", "https_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy"]
    };
    first(specific).or_else(|| first(["ALL_PROXY", "all_proxy"]))
}

/// How a request to `url` travels, by the same rules as reqwest (loopback never proxied).
pub fn route(url: &url::Url) -> Route {
    let variable = proxy_variable(url.scheme());
    if is_loopback(url) {
        return Route::Loopback { proxy: variable };
    }
    let Some(variable) = variable else {
        return Route::Direct;
    };
    let Ok(uri) = url.as_str().parse::<hyper::Uri>() else {
        return Route::Direct;
    };
    match hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri) {
        Some(found) => Route::Proxy {
            // The matcher keeps credentials apart from the address; the address alone is shown.
            proxy: crate::settings::shown_url(&found.uri().to_string())
                .trim_end_matches('/')
                .to_string(),
            variable,
        },
        None if std::env::var_os("REQUEST_METHOD").is_some() => Route::Direct,
        None => Route::NoProxy { variable },
    }
}

/// Which roots a probe client trusts.
#[derive(Clone, Copy)]
enum Roots {
    /// What the environment's client trusts: built-in and every extra root.
    All,
    BuiltInOnly,
    CaFilesOnly,
}

fn probe_client(
    url: &url::Url,
    ca_files: &[PathBuf],
    roots: Roots,
    verify: bool,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("skconn/", env!("CARGO_PKG_VERSION"), " doctor"))
        .tls_info(true)
        // One connection, kept, so that the second request measures a round trip alone.
        .pool_max_idle_per_host(1);
    if is_loopback(url) {
        builder = builder.no_proxy();
    }
    let extra = match roots {
        Roots::All => tls::extra_roots(ca_files)?,
        Roots::BuiltInOnly => Vec::new(),
        Roots::CaFilesOnly => {
            builder = builder.tls_built_in_root_certs(false);
            tls::ca_file_roots(ca_files)?
        }
    };
    for cert in extra {
        builder = builder.add_root_certificate(cert);
    }
    if !verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| format!("the HTTP client could not be set up: {e}"))
}

/// `GET {base}/`: the status, the time, and the peer certificate.
async fn get_root(
    client: &reqwest::Client,
    base: &str,
    timeout: Duration,
) -> Result<(Reached, Option<Vec<u8>>), (TransportKind, String)> {
    let started = Instant::now();
    let response = client
        .get(format!("{base}/"))
        .send()
        .await
        .map_err(|e| classify_transport(&e, timeout))?;
    let elapsed = started.elapsed();
    let certificate = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .map(<[u8]>::to_vec);
    let status = response.status().as_u16();
    // The body is not needed; reading it (capped) lets the connection be reused.
    let _ = super::call::read_capped(response, timeout).await;
    Ok((Reached { status, elapsed }, certificate))
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Dns {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Dns::Address(ip);
    }
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await {
        Ok(Ok(found)) => {
            let mut addresses: Vec<IpAddr> = Vec::new();
            for a in found {
                if !addresses.contains(&a.ip()) {
                    addresses.push(a.ip());
                }
            }
            Dns::Resolved {
                addresses,
                elapsed: started.elapsed(),
            }
        }
        Ok(Err(e)) => Dns::Failed {
            detail: e.to_string(),
            elapsed: started.elapsed(),
        },
        Err(_) => Dns::Failed {
            detail: format!("no answer within {}", super::error::seconds(timeout)),
            elapsed: started.elapsed(),
        },
    }
}

/// Probes the network path to `url`: its name, the route, two `GET /` (a new connection, then
/// the open one), and for https which roots verify its certificate. Sends no credential.
pub async fn probe_network(
    url: &url::Url,
    ca_files: &[PathBuf],
    timeout: Duration,
) -> NetworkProbe {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let https = url.scheme() == "https";
    let base = url.as_str().trim_end_matches('/').to_string();
    let dns = resolve(&host, port, timeout).await;
    let route = route(url);
    let mut probe = NetworkProbe {
        host,
        port,
        https,
        dns,
        route,
        first: Err((TransportKind::Other, String::new())),
        again: None,
        certificate: None,
        verified_by: None,
    };
    let client = match probe_client(url, ca_files, Roots::All, true, timeout) {
        Ok(c) => c,
        Err(e) => {
            probe.first = Err((TransportKind::Other, e));
            return probe;
        }
    };
    match get_root(&client, &base, timeout).await {
        Ok((reached, certificate)) => {
            probe.first = Ok(reached);
            probe.certificate = certificate;
            probe.again = get_root(&client, &base, timeout)
                .await
                .ok()
                .map(|(r, _)| r.elapsed);
        }
        Err(failed) => {
            if failed.0 == TransportKind::Tls {
                // Only to name who issued the certificate that was refused: a bare `GET /`.
                if let Ok(c) = probe_client(url, ca_files, Roots::BuiltInOnly, false, timeout) {
                    probe.certificate = get_root(&c, &base, timeout).await.ok().and_then(|r| r.1);
                }
            }
            probe.first = Err(failed);
            return probe;
        }
    }
    if https {
        let answers = |roots: Roots| {
            let base = base.clone();
            async move {
                match probe_client(url, ca_files, roots, true, timeout) {
                    Ok(c) => get_root(&c, &base, timeout).await.is_ok(),
                    Err(_) => false,
                }
            }
        };
        probe.verified_by = Some(if answers(Roots::BuiltInOnly).await {
            VerifiedBy::BuiltIn
        } else if !ca_files.is_empty() && answers(Roots::CaFilesOnly).await {
            VerifiedBy::CaFiles
        } else {
            VerifiedBy::CertVariables
        });
    }
    probe
}
