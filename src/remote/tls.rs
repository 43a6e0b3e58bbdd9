//! The CA certificates trusted besides the built-in ones (the operating system's roots and the
//! bundled web PKI roots, which reqwest loads): `SSL_CERT_FILE`, every PEM file in the folders
//! of `SSL_CERT_DIR`, and the `ca_file`s of skconn.yaml and `--ca-file`.
//!
//! A `ca_file` that cannot be read or holds no certificate is an error; `SSL_CERT_*` entries that
//! cannot be read are skipped with a note in the log (they are machine-wide settings, often set
//! for other tools).

use std::path::{Path, PathBuf};

/// Certificates to add to the built-in roots.
pub(crate) fn extra_roots(ca_files: &[PathBuf]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut out = Vec::new();
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        match read_pem(Path::new(&file)) {
            Ok(c) => out.extend(c),
            Err(e) => tracing::debug!("SSL_CERT_FILE: {e}"),
        }
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
        for dir in std::env::split_paths(&dirs) {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                tracing::debug!("SSL_CERT_DIR: cannot read {}", dir.display());
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(c) = read_pem(&entry.path()) {
                    out.extend(c);
                }
            }
        }
    }
    for file in ca_files {
        out.extend(read_pem(file)?);
    }
    Ok(out)
}

/// The certificates of these CA files alone (not `SSL_CERT_*`): what `probe` tries to tell
/// which roots verified a server.
pub(crate) fn ca_file_roots(ca_files: &[PathBuf]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut out = Vec::new();
    for file in ca_files {
        out.extend(read_pem(file)?);
    }
    Ok(out)
}

/// How many certificates a CA file holds, or why it cannot be used.
pub fn count_ca_certificates(path: &Path) -> Result<usize, String> {
    read_pem(path).map(|c| c.len())
}

fn read_pem(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes)
        .map_err(|e| format!("the CA file {} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "the CA file {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}
