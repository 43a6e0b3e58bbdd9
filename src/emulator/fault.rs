//! Injected faults and server-side rewrites: the ways a test (or `skconn emulator --fault`)
//! makes the emulator misbehave on purpose.
//!
//! # Fault syntax
//!
//! A [`Fault`] parses from, and prints as, a short string:
//!
//! ```text
//! KIND[:METHOD[:TIMES]][@PATH_PREFIX]
//! ```
//!
//! | part | values | default |
//! |---|---|---|
//! | `KIND` | a status from 400 to 599, e.g. `500`, `503`; `429` or `429/SECS` (429 carrying `Retry-After: SECS`); `drop` (the connection is closed without an answer); `lost` (the request is carried out, the client gets a 503); `lost-drop` (the request is carried out, the connection is closed without an answer); `latency/DURATION` with `DURATION` like `250ms` or `2s` (the request is delayed, then answered normally); `echo` or `echo/N` (the request is refused with a 400 whose message echoes it — see [`FaultKind::Echo`] — cut to `N` characters when given); `echo-text` or `echo-text/N` (the same as a `text/plain` body); or one of the server behaviours the contract allows, below | — |
//! | `METHOD` | `GET`, `POST`, `PUT`, `DELETE`, … or `*` for any | `*` |
//! | `TIMES` | how many matching requests the fault applies to: a positive number, or `*` for every one | `1` |
//! | `PATH_PREFIX` | only requests whose path starts with this, e.g. `/api/v1/custom-providers` | any path |
//!
//! Server behaviours the contract allows (each carried out normally unless said otherwise):
//!
//! | `KIND` | what the client gets |
//! |---|---|
//! | `truncated` | a success answer cut short in the middle of its JSON |
//! | `empty-answer` | a success answer whose body is `{}` |
//! | `camel-case` | a success answer whose keys are lowerCamelCase (`displayName`, `nextPageToken`) |
//! | `ignore-filter` | a listing that also holds the built-in, non-custom providers |
//! | `reset/VALUE` | a 429 with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset: VALUE` (not carried out) |
//! | `conflict` | a create that meets another writer: a connector of that name, with other content, is stored first, then a 409 |
//! | `page-size/N` | a listing asking for more than `N` per page is refused with a 400 naming `page_size` |
//! | `lag/DURATION` | a listing that does not yet show connectors created within `DURATION` |
//! | `endless-pages` | a listing (connectors, app connections, connected accounts) whose every page carries a fresh `next_page_token`: the first page, again and again, never a last one |
//!
//! Examples: `503:PUT:2` (the next two PUTs get a 503), `429/30:*:3`, `drop:POST`,
//! `lost:PUT@/api/v1/custom-providers`, `latency/200ms:GET:*`, `500@/oauth/token`.
//!
//! # Order
//!
//! Faults wait in a queue in the order they were added. When a request arrives, the first fault
//! in the queue whose matcher fits it applies (one fault at most per request) and uses up one of
//! its times; a fault with no times left leaves the queue. Requests are matched in arrival order,
//! so a sequential client sees faults deterministically.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The fault syntax, for `skconn emulator --help` (the table above, in short).
pub const SYNTAX_HELP: &str = "\
Inject a fault (repeatable): KIND[:METHOD[:TIMES]][@PATH_PREFIX].

KIND:
  400 to 599        that status, e.g. 500 or 503 (not carried out)
  429/SECS          a 429 with Retry-After: SECS
  drop              the connection is closed without an answer
  lost              carried out, then the client gets a 503
  lost-drop         carried out, then the connection is closed
  latency/DURATION  delayed, e.g. latency/250ms or latency/2s
  echo, echo/N      a 400 whose message echoes the request (cut to N)
  echo-text[/N]     the same as text/plain
Server behaviours the contract allows:
  truncated         a success answer cut short
  empty-answer      a success answer that is {}
  camel-case        a success answer with lowerCamelCase keys
  ignore-filter     a listing that holds the built-in providers too
  reset/VALUE       a 429 with X-RateLimit-Reset: VALUE
  conflict          another writer creates it first, then a 409
  page-size/N       a 400 when a page of more than N is asked for
  lag/DURATION      connectors created within DURATION not listed
METHOD: GET, POST, PUT, DELETE, ... or * for any (the default).
TIMES: how many matching requests (default 1), or * for all.
PATH_PREFIX: only requests whose path starts with it.

Examples: 503:PUT:2, 429/30:*:3, drop:POST, latency/200ms:GET:*,
lost:PUT@/api/v1/custom-providers, 500@/oauth/token";

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// The HTTP method (compared case-insensitively); `None` matches any.
    pub method: Option<String>,
    /// A prefix of the request path (as sent, before percent-decoding); `None` matches any.
    pub path_prefix: Option<String>,
}

impl Matcher {
    /// Whether a request with this method and path matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// What happens to a request a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The request waits this long, then is handled normally.
    Latency(Duration),
    /// The request is refused with this HTTP status (400–599) and the matching gRPC error
    /// body, without being carried out. A 429 carries `error_code: "RATE_LIMITED"`; when
    /// `retry_after` is set, also a `Retry-After` header, `X-RateLimit-*` headers and
    /// `retry_after` in the `ErrorInfo`.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// The connection is closed without an answer; the request is not carried out.
    Drop,
    /// The request is carried out, but its answer is lost: the client gets a 503, or with
    /// `drop_connection` the connection is closed without an answer.
    LostAnswer { drop_connection: bool },
    /// The request is refused with a 400 whose message echoes it, the way careless servers do:
    /// `METHOD PATH?QUERY authorization=HEADER body=BODY`, the body as received (the token
    /// request's form, percent-encoded, client secret included). In the error shape of the
    /// endpoint (OAuth for the token endpoint, gRPC otherwise), or as `text/plain` with
    /// `text`; cut to `cut` characters when set. For testing that no secret reaches any output.
    Echo { text: bool, cut: Option<usize> },
    /// Carried out; a success answer is cut short in the middle.
    Truncated,
    /// Carried out; a success answer's body is `{}`.
    EmptyAnswer,
    /// Carried out; a success answer's keys are lowerCamelCase.
    CamelCase,
    /// A listing that ignores `filter.provider_type` and holds the built-in providers too.
    IgnoreFilter,
    /// Refused with 429, `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` set to this text.
    RateLimitReset(String),
    /// Another writer creates a connector of the same name with other content first; the
    /// request then meets a 409.
    Conflict,
    /// A listing asking for more than this many per page is refused with a 400.
    PageSizeLimit(usize),
    /// A listing leaves out connectors created less than this long ago.
    Lag(Duration),
    /// A listing answers its first page to every request, each time with a new
    /// `next_page_token` (one it accepts back), so that it never ends.
    EndlessPages,
}

/// A fault to inject: which requests, how many of them, and what happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub matcher: Matcher,
    /// How many matching requests the fault applies to; `None` means every one, forever.
    pub times: Option<u32>,
    pub kind: FaultKind,
}

impl Fault {
    /// A fault applying once, to the next request of any kind.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            matcher: Matcher::default(),
            times: Some(1),
            kind,
        }
    }

    /// A refusal with this status (no `Retry-After`).
    pub fn status(status: u16) -> Fault {
        Fault::new(FaultKind::Status {
            status,
            retry_after: None,
        })
    }

    /// A 429 with `Retry-After: secs`.
    pub fn rate_limited(retry_after_secs: u64) -> Fault {
        Fault::new(FaultKind::Status {
            status: 429,
            retry_after: Some(retry_after_secs),
        })
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Fault {
        self.matcher.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose path starts with this.
    pub fn path(mut self, prefix: &str) -> Fault {
        self.matcher.path_prefix = Some(prefix.to_string());
        self
    }

    /// Applies to this many matching requests (at least one).
    pub fn times(mut self, times: u32) -> Fault {
        self.times = Some(times.max(1));
        self
    }

    /// Applies to every matching request, forever.
    pub fn always(mut self) -> Fault {
        self.times = None;
        self
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Latency(d) => {
                if d.subsec_millis() == 0 && d.as_secs() > 0 && d.subsec_nanos() == 0 {
                    write!(f, "latency/{}s", d.as_secs())
                } else {
                    write!(f, "latency/{}ms", d.as_millis())
                }
            }
            FaultKind::Status {
                status,
                retry_after: Some(secs),
            } => write!(f, "{status}/{secs}"),
            FaultKind::Status {
                status,
                retry_after: None,
            } => write!(f, "{status}"),
            FaultKind::Drop => f.write_str("drop"),
            FaultKind::LostAnswer {
                drop_connection: false,
            } => f.write_str("lost"),
            FaultKind::LostAnswer {
                drop_connection: true,
            } => f.write_str("lost-drop"),
            FaultKind::Echo { text, cut } => {
                f.write_str(if *text { "echo-text" } else { "echo" })?;
                if let Some(n) = cut {
                    write!(f, "/{n}")?;
                }
                Ok(())
            }
            FaultKind::Truncated => f.write_str("truncated"),
            FaultKind::EmptyAnswer => f.write_str("empty-answer"),
            FaultKind::CamelCase => f.write_str("camel-case"),
            FaultKind::IgnoreFilter => f.write_str("ignore-filter"),
            FaultKind::RateLimitReset(v) => write!(f, "reset/{v}"),
            FaultKind::Conflict => f.write_str("conflict"),
            FaultKind::PageSizeLimit(n) => write!(f, "page-size/{n}"),
            FaultKind::Lag(d) => write!(f, "lag/{}ms", d.as_millis()),
            FaultKind::EndlessPages => f.write_str("endless-pages"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        let method = self.matcher.method.as_deref().unwrap_or("*");
        match self.times {
            Some(1) if method == "*" => {}
            Some(1) => write!(f, ":{method}")?,
            Some(n) => write!(f, ":{method}:{n}")?,
            None => write!(f, ":{method}:*")?,
        }
        if let Some(prefix) = &self.matcher.path_prefix {
            write!(f, "@{prefix}")?;
        }
        Ok(())
    }
}

/// Why a fault string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fault `{spec}`: {reason} (expected KIND[:METHOD[:TIMES]][@PATH], e.g. `503:PUT:2`)"
)]
pub struct ParseFaultError {
    pub spec: String,
    pub reason: String,
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultKind, String> {
        let (name, param) = match s.split_once('/') {
            Some((n, p)) => (n, Some(p)),
            None => (s, None),
        };
        match (name.to_ascii_lowercase().as_str(), param) {
            ("drop", None) => Ok(FaultKind::Drop),
            ("lost", None) => Ok(FaultKind::LostAnswer {
                drop_connection: false,
            }),
            ("lost-drop", None) => Ok(FaultKind::LostAnswer {
                drop_connection: true,
            }),
            ("latency", Some(d)) => parse_duration(d).map(FaultKind::Latency),
            (kind @ ("echo" | "echo-text"), param) => {
                let cut = match param {
                    None => None,
                    Some(p) => Some(
                        p.parse::<usize>()
                            .map_err(|_| format!("`{p}` is not a number of characters"))?,
                    ),
                };
                Ok(FaultKind::Echo {
                    text: kind == "echo-text",
                    cut,
                })
            }
            ("truncated", None) => Ok(FaultKind::Truncated),
            ("empty-answer", None) => Ok(FaultKind::EmptyAnswer),
            ("camel-case", None) => Ok(FaultKind::CamelCase),
            ("ignore-filter", None) => Ok(FaultKind::IgnoreFilter),
            ("conflict", None) => Ok(FaultKind::Conflict),
            ("endless-pages", None) => Ok(FaultKind::EndlessPages),
            ("reset", Some(v)) if !v.is_empty() => Ok(FaultKind::RateLimitReset(v.to_string())),
            ("page-size", Some(n)) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .map(FaultKind::PageSizeLimit)
                .ok_or_else(|| format!("`{n}` is not a positive page size")),
            ("lag", Some(d)) => parse_duration(d).map(FaultKind::Lag),
            ("latency", None) => Err("latency needs a duration, e.g. `latency/250ms`".into()),
            (n, param) => {
                let status: u16 = n.parse().map_err(|_| format!("unknown fault kind `{n}`"))?;
                if !(400..=599).contains(&status) {
                    return Err(format!("status {status} is not between 400 and 599"));
                }
                let retry_after = match param {
                    None => None,
                    Some(p) => Some(
                        p.parse::<u64>()
                            .map_err(|_| format!("`{p}` is not a number of seconds"))?,
                    ),
                };
                Ok(FaultKind::Status {
                    status,
                    retry_after,
                })
            }
        }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration like `250ms` or `2s`");
    if let Some(ms) = s.strip_suffix("ms") {
        ms.parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| bad())
    } else if let Some(secs) = s.strip_suffix('s') {
        secs.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| bad())
    } else {
        Err(bad())
    }
}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(spec: &str) -> Result<Fault, ParseFaultError> {
        let err = |reason: String| ParseFaultError {
            spec: spec.to_string(),
            reason,
        };
        let (head, path) = match spec.split_once('@') {
            Some((h, p)) if p.starts_with('/') => (h, Some(p.to_string())),
            Some(_) => return Err(err("the path after `@` must start with `/`".into())),
            None => (spec, None),
        };
        let mut parts = head.split(':');
        let kind: FaultKind = parts
            .next()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| err("the kind is missing".into()))?
            .parse()
            .map_err(err)?;
        let method = match parts.next() {
            None | Some("*") => None,
            Some(m) if !m.is_empty() && m.chars().all(|c| c.is_ascii_alphabetic()) => {
                Some(m.to_ascii_uppercase())
            }
            Some(m) => return Err(err(format!("`{m}` is not an HTTP method or `*`"))),
        };
        let times = match parts.next() {
            None => Some(1),
            Some("*") => None,
            Some(t) => match t.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(err(format!("`{t}` is not a positive number or `*`"))),
            },
        };
        if let Some(extra) = parts.next() {
            return Err(err(format!("unexpected `:{extra}`")));
        }
        Ok(Fault {
            matcher: Matcher {
                method,
                path_prefix: path,
            },
            times,
            kind,
        })
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    #[test]
    fn the_help_names_every_kind_and_its_examples_parse() {
        let examples = SYNTAX_HELP.rsplit("Examples: ").next().unwrap();
        let examples: Vec<&str> = examples
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        assert!(examples.len() >= 5);
        for e in examples {
            e.parse::<Fault>()
                .unwrap_or_else(|err| panic!("{e}: {err}"));
        }
        for kind in [
            "drop",
            "lost",
            "lost-drop",
            "latency/",
            "echo",
            "echo-text",
            "truncated",
            "empty-answer",
            "camel-case",
            "ignore-filter",
            "reset/",
            "conflict",
            "page-size/",
            "lag/",
            "429/",
        ] {
            assert!(SYNTAX_HELP.contains(kind), "{kind}");
        }
    }
}

/// A change the server makes to every connector it stores through the API (create, update, and
/// [`super::Emulator::insert`]), the way a real server normalises what it is given. It lets a
/// test check that skconn notices when what it reads back differs from what it wrote.
#[derive(Clone, Default)]
pub enum Rewrite {
    /// Store what was sent.
    #[default]
    None,
    /// Lowercase the host of `proxy_url` (`https://API.Example.com/x` → `https://api.example.com/x`).
    LowercaseProxyHost,
    /// Append `/` to `proxy_url` unless it already ends with one.
    ProxyUrlTrailingSlash,
    /// Trim the spaces around `display_name` and collapse runs of them
    /// (`"Internal  Billing API "` → `"Internal Billing API"`), as servers that normalise names
    /// do; the name is unique in its normalised form (a second create of it meets a 409).
    CollapseNameSpaces,
    /// Any change to the stored body (an object with the API fields, server-owned ones absent).
    Custom(Arc<dyn Fn(&mut Value) + Send + Sync>),
}

impl fmt::Debug for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::None => f.write_str("None"),
            Rewrite::LowercaseProxyHost => f.write_str("LowercaseProxyHost"),
            Rewrite::ProxyUrlTrailingSlash => f.write_str("ProxyUrlTrailingSlash"),
            Rewrite::CollapseNameSpaces => f.write_str("CollapseNameSpaces"),
            Rewrite::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Rewrite {
    pub(crate) fn apply(&self, body: &mut Value) {
        let proxy_url = |body: &mut Value, f: &dyn Fn(&str) -> String| {
            if let Some(Value::String(url)) = body.get_mut("proxy_url") {
                *url = f(url);
            }
        };
        match self {
            Rewrite::None => {}
            Rewrite::LowercaseProxyHost => proxy_url(body, &lowercase_host),
            Rewrite::ProxyUrlTrailingSlash => proxy_url(body, &|u: &str| {
                if u.ends_with('/') {
                    u.to_string()
                } else {
                    format!("{u}/")
                }
            }),
            Rewrite::CollapseNameSpaces => {
                if let Some(Value::String(name)) = body.get_mut("display_name") {
                    *name = crate::model::collapse_spaces(name);
                }
            }
            Rewrite::Custom(f) => f(body),
        }
    }
}

/// Lowercases the authority of an `https://` URL by hand: a `proxy_url` may hold
/// `{{placeholders}}`, which a URL parser refuses.
fn lowercase_host(url: &str) -> String {
    let Some(rest) = url.strip_prefix("https://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!(
        "https://{}{}",
        rest[..end].to_ascii_lowercase(),
        &rest[end..]
    )
}
