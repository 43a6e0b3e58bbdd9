//! Reading what authoring starts from: a local file or an `https://` URL (plain `http://` only
//! on a loopback address). Only ever called when a user asks for it.
//!
//! Every read is bounded: a file must be a regular file of at most [`MAX_DOCUMENT_BYTES`]
//! (refused up front, by its size), and every answer read from the network stops at the Scalekit
//! client's cap ([`crate::remote::MAX_ANSWER_BYTES`]). Requests to loopback never go through a
//! proxy, like the Scalekit client's. What it must never do: print a URL other than through
//! [`crate::output::escape::url`] (no user, password or query value is ever shown), send a credential.

use std::time::Duration;

/// The largest document file skconn reads, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// A document and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given, or the URL as skconn prints it ([`crate::output::escape::url`]).
    pub label: String,
    pub bytes: Vec<u8>,
}

/// Whether `s` names a URL (`scheme://…`, whatever the scheme: [`check_url`] refuses those
/// skconn does not fetch) rather than a file.
pub fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Checks that skconn may fetch `raw`: https, or http to a loopback address. Messages show the
/// URL as [`crate::output::escape::url`] prints it.
pub fn check_url(raw: &str) -> Result<url::Url, String> {
    let shown = crate::output::escape::url(raw);
    let url = url::Url::parse(raw).map_err(|e| format!("`{shown}` is not a valid URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::settings::is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{shown}` uses plain http; skconn fetches only https URLs (http only on a loopback address)"
        )),
        other => Err(format!("`{shown}`: unsupported URL scheme `{other}`")),
    }
}

/// The URL without user, password, query or fragment: what a connector's `proxy_url` may take
/// from it. (For messages, use [`crate::output::escape::url`].)
pub fn bare(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// The HTTP clients of authoring requests: one for loopback, never proxied (as the Scalekit
/// client does it), and one for every other host, which honours `HTTPS_PROXY` / `HTTP_PROXY` /
/// `NO_PROXY`. Both follow at most five redirects, each to a URL [`check_url`] accepts.
pub struct Http {
    direct: reqwest::Client,
    proxied: reqwest::Client,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Http, String> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(timeout)
                .user_agent(concat!("skconn/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    if attempt.previous().len() >= 5 {
                        attempt.error("too many redirects")
                    } else if check_url(attempt.url().as_str()).is_err() {
                        attempt.error("redirected to a URL skconn does not fetch (https only)")
                    } else {
                        attempt.follow()
                    }
                }))
        };
        let build = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| format!("cannot build an HTTP client: {}", error_chain(&e)))
        };
        Ok(Http {
            direct: build(builder().no_proxy())?,
            proxied: build(builder())?,
            timeout,
        })
    }

    /// The client for a request to `url`.
    pub fn client(&self, url: &url::Url) -> &reqwest::Client {
        if crate::settings::is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        }
    }

    /// An answer's body, up to [`crate::remote::MAX_ANSWER_BYTES`]; the error says why it stopped
    /// and whether it was the cap.
    pub async fn body(
        &self,
        resp: reqwest::Response,
    ) -> Result<Vec<u8>, (crate::remote::TransportKind, String)> {
        crate::remote::read_capped(resp, self.timeout).await
    }
}

/// Reads a file or fetches a URL.
pub async fn read(path_or_url: &str, timeout: Duration) -> Result<Source, String> {
    if !is_url(path_or_url) {
        return read_file(path_or_url);
    }
    let url = check_url(path_or_url)?;
    let shown = crate::output::escape::url(path_or_url);
    let http = Http::new(timeout)?;
    let resp = http
        .client(&url)
        .get(url)
        .header(
            "Accept",
            "application/json, application/yaml, text/yaml, */*",
        )
        .send()
        .await
        .map_err(|e| format!("cannot fetch {shown}: {}", http_error(e)))?;
    if !resp.status().is_success() {
        return Err(format!("cannot fetch {shown}: HTTP {}", resp.status()));
    }
    let bytes = http.body(resp).await.map_err(|(kind, e)| match kind {
        crate::remote::TransportKind::TooLarge => format!(
            "cannot fetch {shown}: the answer is {e}; download the document and pass the file (read up to {} MiB)",
            MAX_DOCUMENT_BYTES >> 20
        ),
        _ => format!("cannot fetch {shown}: {e}"),
    })?;
    Ok(Source {
        label: shown,
        bytes,
    })
}

/// Reads a regular file of at most [`MAX_DOCUMENT_BYTES`]. A device, a pipe or a folder is
/// refused without reading (opening does not wait for a pipe's writer), and a file that grows
/// while it is read stops at the limit.
fn read_file(path: &str) -> Result<Source, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {path}: {e}");
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(format!(
            "{path} is not a regular file{}; pass an OpenAPI or Swagger document",
            if meta.is_dir() {
                " (it is a folder)"
            } else {
                ""
            }
        ));
    }
    let too_large = |size: u64| {
        format!(
            "{path} is {:.1} MiB; skconn reads documents up to {} MiB",
            size as f64 / (1024.0 * 1024.0),
            MAX_DOCUMENT_BYTES >> 20
        )
    };
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Source {
        label: path.to_string(),
        bytes,
    })
}

/// A reqwest error with its causes, on one line, without the URL it carries (which may hold a
/// query or user information; callers name the URL through [`crate::output::escape::url`]).
pub fn http_error(e: reqwest::Error) -> String {
    error_chain(&e.without_url())
}

/// An error with its causes, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://api.example.com/openapi.json").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        assert!(check_url("http://example.com/x")
            .unwrap_err()
            .contains("plain http"));
        assert!(check_url("ftp://example.com/x").is_err());
        let e = check_url("ftp://u:p@example.com/x?token=s").unwrap_err();
        assert!(!e.contains("token=s") && !e.contains("u:p"), "{e}");
        let u = url::Url::parse("https://u:p@h.example/x?token=s#f").unwrap();
        assert_eq!(bare(&u), "https://h.example/x");
    }
}
