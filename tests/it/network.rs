//! The network boundary: TLS with a CA made in the test (trusted through `SSL_CERT_FILE`,
//! `ca_file` and `--ca-file`, refused without them in one attempt that names the host), and
//! proxies that never see loopback traffic.

use crate::support::*;
use skconn::emulator::Emulator;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio_rustls::rustls;

/// A CA and a server certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "skconn test inspecting proxy CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: leaf_cert.der().to_vec(),
        key_der: leaf_key.serialize_der(),
    }
}

/// TLS on loopback in front of an emulator: it terminates TLS and forwards the bytes. Counts
/// the connections it accepted.
struct TlsFront {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

fn tls_front(pki: &Pki, backend: SocketAddr) -> TlsFront {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    TlsFront {
        addr,
        accepted,
        _runtime: runtime,
    }
}

fn tls_repo(front: &TlsFront, emu: &Emulator, extra: &str) -> Repo {
    Repo::examples()
        .config(&format!(
            "environments:\n  dev:\n    url: https://{}\n    client_id: {}\n    client_secret: ${{DEV_SECRET}}\n    prune: managed\n{extra}",
            front.addr,
            emu.client_id()
        ))
        .var("DEV_SECRET", emu.client_secret())
        // The URL is written in skconn.yaml: its host must be trusted to receive the secret.
        .var("SKCONN_TRUSTED_HOSTS", &front.addr.ip().to_string())
}

#[test]
fn tls_with_a_private_ca_is_refused_at_once_then_trusted_through_each_setting() {
    let pki = pki();
    let dev = emulator();
    let front = tls_front(&pki, dev.addr());
    let host = front.addr.to_string();

    // Without the CA: one attempt, no retry, the host named and `ca_file` suggested.
    let repo = tls_repo(&front, &dev, "");
    std::fs::write(repo.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let out = repo.skconn(["plan"]);
    out.code(1)
        .stderr_has(&format!("[host {host}]"))
        .stderr_has("after 1 attempt")
        .stderr_has("set `ca_file:` for environment dev")
        .stderr_has("certificate");
    assert_eq!(front.accepted.load(Ordering::SeqCst), 1, "{out}");
    assert!(dev.requests().is_empty());

    // SSL_CERT_FILE.
    let ca = repo.path().join("ca.pem");
    repo.cmd(["plan"])
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .run()
        .code(0)
        .stdout_has("to create");
    // --ca-file.
    repo.skconn(["plan", "--ca-file", "ca.pem"])
        .code(0)
        .stdout_has("to create");
    // ca_file in skconn.yaml, relative to the repository root; apply goes through it too.
    let repo = tls_repo(&front, &dev, "    ca_file: certs/corp-ca.pem\n")
        .file("certs/corp-ca.pem", &pki.ca_pem);
    repo.skconn(["apply", "--auto-approve"]).code(0);
    assert_eq!(dev.connectors().len(), example_count());
}

#[test]
fn a_ca_file_that_does_not_exist_is_an_input_error() {
    let dev = emulator();
    let repo = Repo::new().config(&format!(
        "environments:\n  dev:\n    url: https://127.0.0.1:9\n    client_id: {}\n    client_secret: x-secret\n    ca_file: missing.pem\n",
        dev.client_id()
    ));
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("environments.dev.ca_file")
        .stderr_has("missing.pem does not exist");
}

/// A listening socket that records connections (in its backlog): none may arrive.
fn trap() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

fn assert_never_contacted(l: &TcpListener) {
    l.set_nonblocking(true).unwrap();
    match l.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("the proxy was contacted (from {from})"),
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn loopback_is_never_sent_through_a_proxy() {
    let (proxy, proxy_url) = trap();
    let dev = emulator();
    let repo = Repo::examples().env("dev", &dev, "managed");
    let with_proxy = |args: &[&str]| {
        let mut c = repo.cmd(args);
        for k in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            c = c.env(k, &proxy_url);
        }
        c.run()
    };
    with_proxy(&["apply", "--auto-approve"]).code(0);
    with_proxy(&["plan", "--detailed-exitcode"]).code(0);
    assert_eq!(dev.connectors().len(), example_count());
    // The local environment too.
    let local = Repo::examples();
    let mut c = local.cmd(["apply", "--auto-approve"]);
    for k in ["HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
        c = c.env(k, &proxy_url);
    }
    c.run().code(0);
    assert_never_contacted(&proxy);
}

#[test]
fn an_error_from_a_proxy_says_so_and_names_the_host() {
    use std::io::{Read, Write};
    // A proxy on loopback that refuses every CONNECT with 407; the environment's host is never
    // reached (nothing leaves loopback).
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in proxy.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = s.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    let repo = Repo::examples()
        .config(
            "environments:\n  prod:\n    url: https://acme.scalekit.example\n    client_id: x\n    client_secret: ${PROD_SECRET}\n",
        )
        .var("PROD_SECRET", "proxy-test-secret-1")
        .var("SKCONN_TRUSTED_HOSTS", "acme.scalekit.example");
    let out = repo.cmd(["plan"]).env("HTTPS_PROXY", &proxy_url).run();
    out.code(1)
        .stderr_has("prod: POST /oauth/token failed: the proxy refused or failed the connection")
        .stderr_has("[host acme.scalekit.example]")
        .stderr_has("The error came from the proxy")
        .stderr_has("after 1 attempt");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("CONNECT acme.scalekit.example:443"),
        "{seen:?}"
    );
    // The tunnel was refused before TLS: the secret never went to the proxy.
    assert!(!seen[0].contains("proxy-test-secret-1"));
}

#[test]
fn an_answer_past_the_size_cap_is_refused_clearly() {
    use std::io::{Read, Write};
    // A server whose token endpoint announces a 40 MiB answer.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41943040\r\n\r\n{\"access_token\":",
            );
        }
    });
    let repo = Repo::examples()
        .config(&format!(
            "environments:\n  dev:\n    url: {url}\n    client_id: x\n    client_secret: size-test-secret\n"
        ));
    repo.skconn(["plan"])
        .code(1)
        .stderr_has("dev: POST /oauth/token failed: the answer is too large (larger than 32 MiB")
        .stderr_has("after 1 attempt");
}

/// A plain HTTP server on loopback that answers every request with `body` (as JSON), then
/// closes the connection.
fn document_server(body: &'static str) -> SocketAddr {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn authoring_fetches_trust_the_same_extra_roots_as_environments() {
    const DOC: &str = r#"{"openapi": "3.0.0", "info": {"title": "Acme Search", "version": "1"},
 "servers": [{"url": "https://search.acme.example.net/v2"}],
 "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
 "security": [{"token": []}], "paths": {}}"#;
    let pki = pki();
    let front = tls_front(&pki, document_server(DOC));
    let repo = Repo::new();
    let url = format!("https://127.0.0.1:{}/openapi.json", front.addr.port());
    let args = ["new", "--from-openapi", url.as_str(), "--stdout"];
    // Not trusted: refused, nothing written.
    repo.cmd(args).run().code(1);
    // Trusted through SSL_CERT_FILE (the operating system's roots, which both clients load,
    // honour it), as `plan` would be.
    let ca = repo.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    repo.cmd(args)
        .env("SSL_CERT_FILE", ca.to_str().unwrap())
        .run()
        .code(0)
        .stdout_has("type: BEARER");
}
