//! Reading what authoring starts from: a local file or an `https://` URL (plain `http://` only
//! on a loopback address). Only ever called when a user asks for it.

use std::time::Duration;

/// The largest document skconn reads, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// A document and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given, or the URL without credentials, query or fragment.
    pub label: String,
    pub bytes: Vec<u8>,
}

/// Whether `s` names a URL rather than a file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Checks that skconn may fetch `raw`: https, or http to a loopback address.
pub fn check_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a valid URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::settings::is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{}` uses plain http; skconn fetches only https URLs (http only on a loopback address)",
            label(&url)
        )),
        other => Err(format!("`{raw}`: unsupported URL scheme `{other}`")),
    }
}

/// The URL as it may be shown and written: no user, password, query or fragment.
pub fn label(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// An HTTP client for authoring requests.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
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
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Reads a file or fetches a URL.
pub async fn read(path_or_url: &str, timeout: Duration) -> Result<Source, String> {
    if !is_url(path_or_url) {
        let meta = std::fs::metadata(path_or_url)
            .map_err(|e| format!("cannot read {path_or_url}: {e}"))?;
        if meta.len() > MAX_DOCUMENT_BYTES as u64 {
            return Err(format!(
                "{path_or_url} is {} bytes; skconn reads documents up to {MAX_DOCUMENT_BYTES} bytes",
                meta.len()
            ));
        }
        let bytes =
            std::fs::read(path_or_url).map_err(|e| format!("cannot read {path_or_url}: {e}"))?;
        return Ok(Source {
            label: path_or_url.to_string(),
            bytes,
        });
    }
    let url = check_url(path_or_url)?;
    let shown = label(&url);
    let client = client(timeout)?;
    let mut resp = client
        .get(url)
        .header(
            "Accept",
            "application/json, application/yaml, text/yaml, */*",
        )
        .send()
        .await
        .map_err(|e| format!("cannot fetch {shown}: {}", error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("cannot fetch {shown}: HTTP {}", resp.status()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("cannot fetch {shown}: {}", error_chain(&e)))?
    {
        if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(format!(
                "{shown} is larger than {MAX_DOCUMENT_BYTES} bytes; download it and pass the file"
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Source {
        label: shown,
        bytes,
    })
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
        let u = url::Url::parse("https://u:p@h.example/x?token=s#f").unwrap();
        assert_eq!(label(&u), "https://h.example/x");
    }
}
