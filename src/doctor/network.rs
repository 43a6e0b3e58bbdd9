//! The network checks: the host's name, the route (a proxy, or not), TLS (who issued the
//! certificate, and which roots verified it), and the round trip. One probe (`remote`) sends two
//! `GET /` and, for https, one more per kind of root tried; none carries a credential.

use super::{x509, Check};
use crate::remote::{Dns, NetworkProbe, Route, TransportKind, VerifiedBy};
use std::time::Duration;

/// A certificate that ends sooner than this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 86_400);
/// A round trip slower than this is worth a warning.
const SLOW: Duration = Duration::from_secs(2);

fn ms(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        crate::remote::error_seconds(d)
    }
}

/// The checks of a probe, and whether the environment can be reached (the later checks can
/// run).
pub fn network_checks(p: &NetworkProbe, env: &str) -> (Vec<Check>, bool) {
    let mut checks = Vec::new();
    let proxied = matches!(p.route, Route::Proxy { .. });
    let host = &p.host;

    // DNS.
    let dns_ok = match &p.dns {
        Dns::Address(ip) => {
            checks.push(Check::ok(
                "network.dns",
                format!("{ip} is an IP address: nothing to resolve"),
            ));
            true
        }
        Dns::Resolved { addresses, elapsed } => {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            checks.push(Check::ok(
                "network.dns",
                format!(
                    "{host} resolves to {} in {}",
                    if list.is_empty() {
                        "no address".to_string()
                    } else {
                        list.join(", ")
                    },
                    ms(*elapsed)
                ),
            ));
            !list.is_empty() || proxied
        }
        Dns::Failed { detail, .. } if proxied => {
            checks.push(Check::warning(
                "network.dns",
                format!(
                    "{host} does not resolve on this machine ({detail}); the proxy resolves it"
                ),
                "nothing to do if the proxy reaches it; otherwise check the host name in the URL",
            ));
            true
        }
        Dns::Failed { detail, .. } => {
            checks.push(Check::failed(
                "network.dns",
                format!("{host} does not resolve ({detail})"),
                "check the host name in the environment's URL and this machine's DNS; behind a proxy, set HTTPS_PROXY",
            ));
            false
        }
    };

    // The route.
    let proxy_failed = matches!(&p.first, Err((TransportKind::Proxy, _)));
    checks.push(match (&p.route, &p.first) {
        (Route::Proxy { proxy, variable }, Err((TransportKind::Proxy, detail))) => Check::failed(
            "network.proxy",
            format!("through the proxy {proxy} ({variable}), which refused or failed the connection ({detail})"),
            format!("check the proxy's address and credentials in {variable}, or add {host} to NO_PROXY"),
        ),
        (Route::Proxy { proxy, variable }, _) => Check::ok(
            "network.proxy",
            format!("through the proxy {proxy} ({variable})"),
        ),
        (Route::Loopback { proxy: Some(v) }, _) => Check::ok(
            "network.proxy",
            format!("direct: loopback is never proxied ({v} is set but not used for it)"),
        ),
        (Route::Loopback { proxy: None }, _) => {
            Check::ok("network.proxy", "direct: loopback is never proxied")
        }
        (Route::NoProxy { variable }, _) => Check::ok(
            "network.proxy",
            format!("direct: NO_PROXY names {host}, so the proxy of {variable} is bypassed"),
        ),
        (Route::Direct, _) => Check::ok(
            "network.proxy",
            format!("direct: no proxy variable applies to {}", if p.https { "https" } else { "http" }),
        ),
    });
    if !dns_ok {
        return (checks, false);
    }

    // TLS.
    let info = p.certificate.as_deref().and_then(x509::read);
    let issuer = info
        .as_ref()
        .map(|i| format!(", issued by `{}`", i.issuer))
        .unwrap_or_default();
    let authority = format!("{host}:{}", p.port);
    let tls_ok = if !p.https {
        checks.push(Check::ok(
            "network.tls",
            "not used: plain http:// on loopback",
        ));
        true
    } else {
        match (&p.first, p.verified_by) {
            (Err((TransportKind::Tls, detail)), _) => {
                let ca = info
                    .as_ref()
                    .map(|i| format!(" (the CA `{}`)", i.issuer))
                    .unwrap_or_default();
                checks.push(Check::failed(
                    "network.tls",
                    format!("the certificate of {authority}{issuer} is not trusted ({detail})"),
                    format!("if {host} is reached through a TLS-inspecting proxy or uses a private CA, set `ca_file:` for environment {env} in skconn.yaml (or pass --ca-file, or set SSL_CERT_FILE) to the PEM file of the CA that issued it{ca}"),
                ));
                false
            }
            (Ok(_), Some(by)) => {
                let by = match by {
                    VerifiedBy::BuiltIn => "the operating system's roots (or SSL_CERT_FILE / SSL_CERT_DIR, which replace them when set) or the bundled web PKI roots",
                    VerifiedBy::CaFiles => "the environment's ca_file or --ca-file",
                    VerifiedBy::CertVariables => "SSL_CERT_FILE or SSL_CERT_DIR",
                };
                let until = info
                    .as_ref()
                    .and_then(|i| i.not_after.clone().zip(i.not_after_unix))
                    .map(|(text, unix)| (format!(", valid until {text}"), unix));
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let saw = format!(
                    "the certificate of {authority}{issuer}{} is verified by {by}",
                    until.as_ref().map(|u| u.0.as_str()).unwrap_or_default()
                );
                let soon = until
                    .as_ref()
                    .is_some_and(|u| u.1 - now < EXPIRY_WARNING.as_secs() as i64);
                checks.push(if soon {
                    Check::warning(
                        "network.tls",
                        saw,
                        "the certificate ends within 14 days: once it has, every request fails until the server has a new one",
                    )
                } else {
                    Check::ok("network.tls", saw)
                });
                true
            }
            // Not reached for another reason: the round trip says why.
            _ => {
                checks.push(Check::ok("network.tls", "not reached: see the round trip"));
                true
            }
        }
    };

    // The round trip.
    let reached = match &p.first {
        Ok(first) => {
            let mut saw = format!(
                "GET / answered {} in {} on a new connection{}",
                first.status,
                ms(first.elapsed),
                if p.https { " (TLS included)" } else { "" }
            );
            if let Some(again) = p.again {
                saw.push_str(&format!(", then in {} on the open connection", ms(again)));
            }
            let slow = p.again.unwrap_or(first.elapsed) > SLOW;
            checks.push(if slow {
                Check::warning(
                    "network.http",
                    saw,
                    "each request is slow: large listings take long; raise --timeout if requests time out",
                )
            } else {
                Check::ok("network.http", saw)
            });
            true
        }
        Err((TransportKind::Tls, _)) => false,
        Err(_) if proxy_failed => false,
        Err((kind, detail)) => {
            let what = match kind {
                TransportKind::Connect => "could not connect",
                TransportKind::Timeout => "got no answer",
                TransportKind::Dropped => "lost the connection",
                _ => "failed",
            };
            checks.push(Check::failed(
                "network.http",
                format!("GET / to {authority} {what} ({detail})"),
                "check that the URL's host and port are right and reachable from this machine (a firewall, a proxy to set in HTTPS_PROXY)",
            ));
            false
        }
    };
    (checks, tls_ok && reached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::remote::Reached;

    fn probe(
        route: Route,
        dns: Dns,
        first: Result<Reached, (TransportKind, String)>,
    ) -> NetworkProbe {
        NetworkProbe {
            host: "acme.scalekit.example".into(),
            port: 443,
            https: true,
            dns,
            route,
            first,
            again: Some(Duration::from_millis(12)),
            certificate: None,
            verified_by: Some(VerifiedBy::BuiltIn),
        }
    }

    fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks.iter().find(|c| c.id == id).unwrap()
    }

    const REACHED: Reached = Reached {
        status: 404,
        elapsed: Duration::from_millis(40),
    };

    #[test]
    fn a_proxy_is_named_and_resolves_what_this_machine_cannot() {
        let via = Route::Proxy {
            proxy: "http://proxy.corp:3128".into(),
            variable: "HTTPS_PROXY",
        };
        let failed_dns = Dns::Failed {
            detail: "no such host".into(),
            elapsed: Duration::ZERO,
        };
        let (checks, reachable) =
            network_checks(&probe(via.clone(), failed_dns.clone(), Ok(REACHED)), "prod");
        assert!(reachable);
        assert_eq!(find(&checks, "network.dns").status, Status::Warning);
        assert_eq!(
            find(&checks, "network.proxy").saw,
            "through the proxy http://proxy.corp:3128 (HTTPS_PROXY)"
        );
        // Without a proxy the same DNS failure stops the checks.
        let (checks, reachable) =
            network_checks(&probe(Route::Direct, failed_dns, Ok(REACHED)), "prod");
        assert!(!reachable);
        assert_eq!(find(&checks, "network.dns").status, Status::Failed);
        // A proxy that refuses the tunnel.
        let ip = Dns::Address("10.0.0.1".parse().unwrap());
        let (checks, reachable) = network_checks(
            &probe(via, ip.clone(), Err((TransportKind::Proxy, "407".into()))),
            "prod",
        );
        assert!(!reachable);
        let c = find(&checks, "network.proxy");
        assert_eq!(c.status, Status::Failed);
        assert!(c.advice.contains("NO_PROXY"), "{c:?}");
        let (checks, _) = network_checks(
            &probe(
                Route::NoProxy {
                    variable: "HTTPS_PROXY",
                },
                ip,
                Ok(REACHED),
            ),
            "prod",
        );
        assert!(find(&checks, "network.proxy")
            .saw
            .contains("NO_PROXY names acme.scalekit.example"));
        assert!(find(&checks, "network.http")
            .saw
            .contains("then in 12 ms on the open connection"));
    }
}
