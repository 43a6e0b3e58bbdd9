//! The timing side of retries: exponential backoff with full jitter, the server's wait hints
//! (`Retry-After`, `retry_after`, `X-RateLimit-*`), and the shared pause that a rate limit puts
//! on every request of one environment.
//!
//! Pure timing: no HTTP is sent from here, and nothing here logs.

use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The delay before retry number `retry` (1 for the first retry): a random duration between
/// zero and `base · 2^(retry-1)`, capped at `max` ("full jitter").
pub(crate) fn backoff(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(30));
    let ceiling = base.saturating_mul(factor).min(max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// A "not before" instant shared by every request of one client: a rate limit seen by one
/// request pauses all of them.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    not_before: Mutex<Option<Instant>>,
}

impl Pause {
    /// Pauses every request until at least `until`. Returns whether the pause grew.
    pub(crate) fn extend_to(&self, until: Instant) -> bool {
        let mut nb = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        match *nb {
            Some(t) if t >= until => false,
            _ => {
                *nb = Some(until);
                true
            }
        }
    }

    /// How long requests must still wait (`None` when they may go now).
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let nb = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        nb.filter(|t| *t > now).map(|t| t - now)
    }
}

/// How long the server asked to wait, from the headers and the body's `retry_after`: the
/// longest of `Retry-After` (seconds or an HTTP date), `retry_after` and — when
/// `X-RateLimit-Remaining` is 0 — `X-RateLimit-Reset`.
pub(crate) fn wait_hint(
    headers: &HeaderMap,
    body_retry_after: Option<Duration>,
) -> Option<Duration> {
    let now = SystemTime::now();
    [
        header(headers, "retry-after").and_then(|v| parse_retry_after(v, now)),
        body_retry_after,
        rate_limit_reset(headers, now),
    ]
    .into_iter()
    .flatten()
    .max()
}

/// When `X-RateLimit-Remaining: 0`, the wait until `X-RateLimit-Reset`.
pub(crate) fn rate_limit_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let remaining: f64 = header(headers, "x-ratelimit-remaining")?.parse().ok()?;
    if remaining > 0.0 {
        return None;
    }
    read_reset(header(headers, "x-ratelimit-reset")?, now).map(|(wait, _)| wait)
}

/// How an `X-RateLimit-Reset` value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetForm {
    /// A small number: seconds from now.
    SecondsFromNow,
    /// A Unix time in seconds (the contract's reading).
    UnixSeconds,
    /// A Unix time in milliseconds.
    UnixMillis,
}

/// The wait an `X-RateLimit-Reset` value names, and how it was read; `None` when it is not a
/// usable number.
pub(crate) fn read_reset(value: &str, now: SystemTime) -> Option<(Duration, ResetForm)> {
    let reset: f64 = value.trim().parse().ok()?;
    if !reset.is_finite() || reset < 0.0 {
        return None;
    }
    // A Unix time per the contract; a small number can only be seconds from now.
    if reset < 1e9 {
        return Some((Duration::from_secs_f64(reset), ResetForm::SecondsFromNow));
    }
    // A Unix time in milliseconds (a date after 2001 in milliseconds is above 1e12; in
    // seconds it stays below 1e11 for the next thousand years).
    let (secs, form) = if reset >= 1e12 {
        (reset / 1000.0, ResetForm::UnixMillis)
    } else {
        (reset, ResetForm::UnixSeconds)
    };
    // Absurd values (1e20) stay representable: anything past a year is a year, which every
    // --max-wait refuses.
    let secs = secs.min(now_secs(now) + YEAR_SECS);
    let at = UNIX_EPOCH + Duration::from_secs_f64(secs);
    Some((at.duration_since(now).unwrap_or_default(), form))
}

const YEAR_SECS: f64 = 365.0 * 86_400.0;

fn now_secs(now: SystemTime) -> f64 {
    now.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// `Retry-After`: delay seconds (a decimal is tolerated) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(YEAR_SECS)));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP senders must use.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let rest = s.split_once(", ").map_or(s, |(_, r)| r);
    let mut parts = rest.split_whitespace();
    let day: u64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    if !parts.next()?.eq_ignore_ascii_case("GMT") {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u64 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    let days = crate::base::time::days_from_civil(year, month as i64, day as i64);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + sec;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..200 {
            assert!(backoff(1, base, max) <= base);
            assert!(backoff(3, base, max) <= base * 4);
            assert!(backoff(40, base, max) <= max);
        }
    }

    #[test]
    fn parses_http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_secs(), 784_111_777);
        let t = parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_709_164_800
        );
        assert!(parse_http_date("yesterday").is_none());
        assert!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET").is_none());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn rate_limit_headers_count_only_when_exhausted() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("3"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1700000005"));
        assert_eq!(rate_limit_reset(&h, now), None);
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(5)));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("7"));
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(7)));
        // Milliseconds since the epoch.
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("1700000005000"),
        );
        assert_eq!(rate_limit_reset(&h, now), Some(Duration::from_secs(5)));
        // Absurd values neither panic nor overflow: they become a year.
        for absurd in ["1e20", "1e300", "18446744073709551616", "9e18"] {
            h.insert("x-ratelimit-reset", HeaderValue::from_static(absurd));
            let wait = rate_limit_reset(&h, now).unwrap();
            assert!(
                wait > Duration::from_secs(364 * 86_400),
                "{absurd}: {wait:?}"
            );
        }
        for junk in ["NaN", "inf", "-5", "soon", ""] {
            h.insert("x-ratelimit-reset", HeaderValue::from_static(junk));
            assert_eq!(rate_limit_reset(&h, now), None, "{junk}");
        }
        let mut r = HeaderMap::new();
        r.insert("retry-after", HeaderValue::from_static("1e20"));
        assert!(wait_hint(&r, None).is_some());
    }

    #[test]
    fn the_longest_hint_wins() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1"));
        assert_eq!(
            wait_hint(&h, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(wait_hint(&HeaderMap::new(), None), None);
    }

    #[test]
    fn a_pause_only_grows() {
        let p = Pause::default();
        assert!(p.remaining().is_none());
        let later = Instant::now() + Duration::from_secs(30);
        assert!(p.extend_to(later));
        assert!(!p.extend_to(later - Duration::from_secs(10)));
        let left = p.remaining().unwrap();
        assert!(left > Duration::from_secs(20) && left <= Duration::from_secs(30));
    }
}
