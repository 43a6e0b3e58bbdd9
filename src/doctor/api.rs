//! The checks that talk to the API, read-only: the token (and the server's clock, from its
//! `Date` header), the listing walked page by page (see `listing`), the usage look-ups and the
//! rate-limit headers every answer carried.

use super::listing::Shape;
use super::{Check, EnvReport};
use crate::remote::retry::{parse_http_date, read_reset, ResetForm};
use crate::remote::{
    refuses_page_size, AuthProblem, Client, RawAnswer, RemoteError, APP_CONNECTIONS_PAGE_SIZE,
    APP_CONNECTIONS_PATH, CONNECTED_ACCOUNTS_PATH, CONNECTIONS_PATH, LIST_PATH,
    PROVIDER_FILTER_MAX,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A clock difference larger than this is worth a warning (a `Date` header has a resolution of
/// one second, and the answer takes its round trip to arrive).
const SKEW_WARNING: f64 = 10.0;
/// A header value longer than this is cut (server text).
const MAX_VALUE_CHARS: usize = 100;

/// What the API checks of one environment need.
pub struct ApiInput<'a> {
    pub client: &'a Client,
    /// Whether this environment's plans look up usage (`usage:` in skconn.yaml).
    pub usage: bool,
    /// The page size its plans ask for.
    pub page_size: usize,
    /// `--max-wait`.
    pub max_wait: Duration,
}

/// What the answers of one environment said besides their bodies.
#[derive(Default)]
struct Seen {
    /// Rate-limit headers, in the order seen (the last value of each wins).
    rate: Vec<(String, String)>,
    /// The first `Date` header of an API answer, and when it arrived.
    date: Option<(String, SystemTime)>,
}

impl Seen {
    fn note(&mut self, raw: &RawAnswer) {
        self.rate.extend(raw.rate_headers.iter().cloned());
        if self.date.is_none() {
            self.date = raw.date.clone().map(|d| (d, raw.received));
        }
    }
}

fn listing_query(page_size: usize) -> String {
    format!("filter.provider_type=CUSTOM&page_size={page_size}")
}

async fn walk(
    client: &Client,
    page_size: usize,
    shape: &mut Shape,
    seen: &mut Seen,
) -> Result<usize, RemoteError> {
    client
        .walk_pages("connectors", LIST_PATH, &listing_query(page_size), |raw| {
            seen.note(raw);
            shape.page(raw)
        })
        .await
}

/// Whether an error is about getting the token (not about the request it was for).
fn is_token_error(e: &RemoteError) -> bool {
    matches!(e, RemoteError::Auth(_))
        || e.call()
            .is_some_and(|c| c.path == "/oauth/token" && c.method == "POST")
}

fn token_advice(e: &RemoteError) -> &'static str {
    match e {
        RemoteError::Auth(a) => match a.problem {
            AuthProblem::InvalidCredentials => {
                "check the client_id and client_secret of this environment (API credentials in the Scalekit dashboard) and the variables they come from"
            }
            AuthProblem::Forbidden => "this client may not obtain a token: check its permissions in the Scalekit dashboard",
            AuthProblem::NoTokenEndpoint => {
                "check the environment's URL: there is no token endpoint (/oauth/token) there"
            }
            AuthProblem::Unavailable => "the token endpoint is failing or rate limited: run doctor again later",
            AuthProblem::Refused | AuthProblem::BadAnswer => "report this output",
        },
        _ => "check the network path (see the network checks) and run doctor again",
    }
}

fn duration_words(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s % 3600 == 0 {
        format!("{s} s ({} h)", s / 3600)
    } else if s >= 60 && s % 60 == 0 {
        format!("{s} s ({} min)", s / 60)
    } else {
        format!("{s} s")
    }
}

fn token_check(client: &Client) -> Check {
    const ID: &str = "token";
    let Some(t) = client.token_answer() else {
        return Check::ok(ID, "obtained");
    };
    let took = format!("obtained in {} ms", t.elapsed.as_millis());
    match t.lifetime {
        None => Check::ok(
            ID,
            format!(
                "{took}; the answer names no expires_in, so skconn takes it to last {} and fetches a new one when the API refuses it",
                duration_words(crate::remote::ASSUMED_TOKEN_LIFETIME)
            ),
        ),
        Some(l) if l.is_zero() => Check::warning(
            ID,
            format!("{took}; expires_in is 0: skconn fetches a new token for every request"),
            "nothing breaks, but every request costs a token request: check the token lifetime of this client in Scalekit",
        ),
        Some(l) => {
            let margin = Duration::from_secs(60).min(l / 10);
            Check::ok(
                ID,
                format!(
                    "{took}; expires_in {}; skconn renews it {} s before it ends",
                    duration_words(l),
                    margin.as_secs()
                ),
            )
        }
    }
}

fn clock_check(client: &Client, seen: &Seen) -> Check {
    const ID: &str = "clock";
    let (date, received, whose) =
        match client
            .token_answer()
            .and_then(|t| t.date.map(|d| (d, t.received)))
        {
            Some((d, r)) => (d, r, "the token answer"),
            None => match &seen.date {
                Some((d, r)) => (d.clone(), *r, "the listing"),
                None => return Check::ok(
                    ID,
                    "the server sends no Date header, so the clock difference cannot be measured",
                ),
            },
        };
    let Some(server) = parse_http_date(date.trim()) else {
        return Check::warning(
            ID,
            format!("the Date header of {whose} is not an HTTP date"),
            "report this output",
        );
    };
    let secs = |t: SystemTime| match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    // The header truncates to the second: the server's time is within the second it names.
    let skew = secs(server) + 0.5 - secs(received);
    let rounded = skew.round() as i64;
    if skew.abs() < SKEW_WARNING {
        return Check::ok(
            ID,
            format!("the server's clock and this machine's agree within {SKEW_WARNING:.0} s (Date header of {whose})"),
        );
    }
    let direction = if rounded > 0 { "ahead of" } else { "behind" };
    Check::warning(
        ID,
        format!(
            "the server's clock is {} s {direction} this machine's (Date header of {whose})",
            rounded.abs()
        ),
        format!("set this machine's clock (NTP): skconn reads X-RateLimit-Reset and Retry-After dates as times, so it would wait about {} s too long or too short, and certificates may look not yet valid or expired", rounded.abs()),
    )
}

/// The token, clock, listing, usage and rate-limit checks of one environment.
pub async fn api_checks(input: &ApiInput<'_>, report: &mut EnvReport) {
    let client = input.client;
    let mut seen = Seen::default();
    let mut shape = Shape::default();
    let mut asked = input.page_size.max(1);
    let mut refused = None;
    let mut walked = walk(client, asked, &mut shape, &mut seen).await;
    if let Err(e) = &walked {
        if shape.pages() == 0 && refuses_page_size(e) {
            refused = Some(asked);
            asked = (asked / 2).clamp(1, 100);
            shape = Shape::default();
            walked = walk(client, asked, &mut shape, &mut seen).await;
        }
    }
    // The token: obtained by the first request.
    match &walked {
        Err(e) if client.token_answer().is_none() && is_token_error(e) => {
            report
                .checks
                .push(Check::failed("token", e.to_string(), token_advice(e)));
            report.stop_after("token");
            return;
        }
        _ => report.checks.push(token_check(client)),
    }
    report.checks.push(clock_check(client, &seen));

    // The listing.
    match &walked {
        Ok(_) => report.checks.extend(shape.checks(asked, refused, None)),
        Err(RemoteError::Protocol(p)) if shape.pages() > 0 => {
            report
                .checks
                .extend(shape.checks(asked, refused, Some(&p.detail)));
        }
        Err(e) => {
            let advice = match e.status() {
                Some(401 | 403) => "this client may not list connectors: give it access to custom providers in the Scalekit dashboard",
                Some(404) => "the URL does not look like a Scalekit environment (no /api/v1/providers there): check it",
                _ => "run doctor again; if it stays, report this output",
            };
            for id in [
                "listing.casing",
                "listing.fields",
                "listing.is_custom",
                "listing.unknown_keys",
                "listing.total_size",
            ] {
                report.not_run.push(id);
            }
            report.checks.push(Check::failed(
                "listing.pages",
                format!("the listing failed: {e}"),
                advice,
            ));
            report.not_run.push("listing.page_size");
        }
    }

    // Usage look-ups.
    if input.usage {
        let (connections, accounts) = usage_checks(client, shape.first_custom(), &mut seen).await;
        report.checks.push(connections);
        report.checks.push(accounts);
    } else {
        let off = "off for this environment (`usage: off` in skconn.yaml): plans look nothing up, show no usage, and cannot hold back a delete of a connector still in use (the server refuses it; apply reports it)";
        report.checks.push(Check::ok("usage.connections", off));
        report
            .checks
            .push(Check::ok("usage.connected_accounts", off));
    }

    // Rate limiting.
    let mut rate = client
        .token_answer()
        .map(|t| t.rate_headers)
        .unwrap_or_default();
    rate.extend(seen.rate);
    report
        .checks
        .push(rate_check(&rate, client.rate_limit_pause(), input.max_wait));
}

const UNKNOWN_USAGE: &str = "plans will show \"usage unknown\" for every delete and auth-relevant update, and cannot hold back a delete of a connector still in use (the server refuses it; apply then reports it)";

/// Why a usage listing did not answer, as a warning.
fn usage_refused(id: &'static str, what: &str, e: &RemoteError, effect: &str) -> Check {
    match e.status() {
        Some(401 | 403) => Check::warning(
            id,
            format!("this client may not list {what} ({}): {effect}", status_words(e)),
            "give the client permission to read connections and connected accounts in the Scalekit dashboard, or set `usage: off` for this environment in skconn.yaml to stop the look-ups",
        ),
        _ => Check::warning(
            id,
            format!("listing {what} failed ({e}): {effect}"),
            "run doctor again; if it stays, set `usage: off` for this environment, or report this output",
        ),
    }
}

fn status_words(e: &RemoteError) -> String {
    let code = e
        .body()
        .and_then(|b| b.code_name())
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    format!("{}{code}", e.status().unwrap_or_default())
}

async fn usage_checks(client: &Client, connector: Option<&str>, seen: &mut Seen) -> (Check, Check) {
    // As a plan asks: filtered by a connector's identifier, at the documented page size.
    let mut query = format!("page_size={APP_CONNECTIONS_PAGE_SIZE}");
    if let Some(id) = connector.filter(|i| i.chars().count() <= PROVIDER_FILTER_MAX) {
        query.push_str("&provider=");
        query.extend(url::form_urlencoded::byte_serialize(id.as_bytes()));
    }
    let connections = match client.get_raw(APP_CONNECTIONS_PATH, &query).await {
        Ok(raw) => {
            seen.note(&raw);
            Check::ok(
                "usage.connections",
                format!("the app-connections listing ({APP_CONNECTIONS_PATH}, a preview) answers: plans show who uses each connector they delete or change in an auth-relevant way"),
            )
        }
        Err(e) if matches!(e.status(), Some(404 | 501)) => {
            let missing = format!(
                "the preview listing {APP_CONNECTIONS_PATH} is missing ({})",
                status_words(&e)
            );
            match client.get_raw(CONNECTIONS_PATH, "include=all").await {
                Ok(raw) => {
                    seen.note(&raw);
                    Check::ok(
                        "usage.connections",
                        format!("{missing}; skconn uses {CONNECTIONS_PATH}?include=all instead, which answers: plans show connections"),
                    )
                }
                Err(e) => {
                    let mut c =
                        usage_refused("usage.connections", "connections", &e, UNKNOWN_USAGE);
                    c.saw = format!("{missing}, and {}", c.saw);
                    c
                }
            }
        }
        Err(e) => usage_refused("usage.connections", "connections", &e, UNKNOWN_USAGE),
    };
    // Only `total_size` is read from the answer: the accounts' identifiers are end users'.
    let accounts = match client
        .get_raw(CONNECTED_ACCOUNTS_PATH, "page_size=1")
        .await
    {
        Ok(raw) => {
            seen.note(&raw);
            let counted = serde_json::from_slice::<Value>(&raw.body)
                .ok()
                .and_then(|v| {
                    let t = v.get("total_size")?;
                    t.as_u64().or_else(|| t.as_str()?.parse().ok())
                })
                .is_some_and(|t| t > 0);
            Check::ok(
                "usage.connected_accounts",
                format!(
                    "the connected-accounts listing answers{}: plans count each connection's accounts by status",
                    if counted {
                        " and reports total_size"
                    } else {
                        ""
                    }
                ),
            )
        }
        Err(e) if matches!(e.status(), Some(404 | 501)) => Check::warning(
            "usage.connected_accounts",
            format!("the connected-accounts listing {CONNECTED_ACCOUNTS_PATH} is missing ({}): plans will show \"usage unknown\" for connectors that have connections", status_words(&e)),
            "report this output, or set `usage: off` for this environment",
        ),
        Err(e) => usage_refused(
            "usage.connected_accounts",
            "connected accounts",
            &e,
            "plans will show \"usage unknown\" for connectors that have connections",
        ),
    };
    (connections, accounts)
}

fn cut(v: &str) -> String {
    super::cut(v, MAX_VALUE_CHARS)
}

fn rate_check(headers: &[(String, String)], paused: Option<Duration>, max_wait: Duration) -> Check {
    const ID: &str = "rate_limit";
    // The last value of each header, in the order the names were first seen.
    let mut last: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        match last.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1.clone_from(value),
            None => last.push((name.clone(), value.clone())),
        }
    }
    if last.is_empty() {
        let saw = "the server sends no rate-limit headers (X-RateLimit-*, RateLimit-*, Retry-After): skconn backs off on a 429 and honours Retry-After when one comes";
        return match paused {
            Some(_) => Check::warning(
                ID,
                format!("{saw}; this check was rate limited"),
                "run doctor again later",
            ),
            None => Check::ok(ID, saw),
        };
    }
    let now = SystemTime::now();
    let get = |name: &str| {
        last.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut problems: Vec<String> = Vec::new();
    let shown: Vec<String> = last
        .iter()
        .map(|(name, value)| {
            let mut text = format!("{name}: {}", cut(value));
            if name == "x-ratelimit-reset" {
                match read_reset(value, now) {
                    Some((wait, form)) => {
                        let form = match form {
                            ResetForm::UnixSeconds => "a Unix time",
                            ResetForm::UnixMillis => "a Unix time in milliseconds",
                            ResetForm::SecondsFromNow => "seconds from now",
                        };
                        text.push_str(&format!(
                            " (read as {form}: in {})",
                            crate::remote::error_seconds(wait)
                        ));
                        if wait > max_wait {
                            problems.push(format!("a reset {} away is more than --max-wait ({}): once the limit is used up skconn gives up rather than wait", crate::remote::error_seconds(wait), crate::remote::error_seconds(max_wait)));
                        }
                    }
                    None => problems.push(format!(
                        "skconn cannot read `x-ratelimit-reset: {}` as a time, and backs off instead",
                        cut(value)
                    )),
                }
            }
            text
        })
        .collect();
    if get("x-ratelimit-remaining").and_then(|v| v.trim().parse::<f64>().ok()) == Some(0.0) {
        problems.push("the limit is used up (X-RateLimit-Remaining: 0): skconn pauses every request to this environment until the reset".into());
    }
    if paused.is_some() {
        problems.push("this check was rate limited: skconn paused its requests".into());
    }
    let saw = format!("the server sends {}", shown.join(", "));
    if problems.is_empty() {
        return Check::ok(ID, format!("{saw}; skconn honours them"));
    }
    Check::warning(
        ID,
        format!("{saw}; {}", problems.join("; ")),
        "run doctor again later; if the limit stays low, lower `parallelism` for this environment, or raise --max-wait",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rate_limit_headers_are_read_as_skconn_reads_them() {
        let max = Duration::from_secs(120);
        let ok = rate_check(
            &h(&[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "50"),
                ("x-ratelimit-reset", "30"),
            ]),
            None,
            max,
        );
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert!(
            ok.saw
                .contains("x-ratelimit-reset: 30 (read as seconds from now: in 30.0s)"),
            "{ok:?}"
        );
        // The last value of a header wins.
        let used_up = rate_check(
            &h(&[
                ("x-ratelimit-remaining", "3"),
                ("x-ratelimit-remaining", "0"),
            ]),
            None,
            max,
        );
        assert_eq!(used_up.status, Status::Warning);
        assert!(used_up.saw.contains("the limit is used up"), "{used_up:?}");
        let unreadable = rate_check(&h(&[("x-ratelimit-reset", "soon")]), None, max);
        assert!(
            unreadable
                .saw
                .contains("cannot read `x-ratelimit-reset: soon`"),
            "{unreadable:?}"
        );
        let far = rate_check(&h(&[("x-ratelimit-reset", "3600")]), None, max);
        assert!(far.saw.contains("more than --max-wait (120.0s)"), "{far:?}");
        let paused = rate_check(&[], Some(Duration::from_secs(3)), max);
        assert_eq!(paused.status, Status::Warning);
        let none = rate_check(&[], None, max);
        assert_eq!(none.status, Status::Ok);
    }
}
