//! Times as skconn writes and reads them: RFC 3339 (UTC; a snapshot's `taken_at`, log lines),
//! the age a plan shows ("3 h ago"), and durations as flags take them (`--max-snapshot-age
//! 90m`, `36h`, `7d`).
//!
//! Pure: the caller passes the current time in; nothing here reads the clock.

use std::time::Duration;

/// Seconds since the Unix epoch of a time, or 0 before it.
pub fn unix_secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-12-03T09:12:05Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-12-03 09:12 UTC`: as people read a time in a plan.
pub fn readable(secs: u64) -> String {
    let (y, mo, d, h, mi, _) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// Year, month, day, hour, minute, second (UTC) of a Unix time (Howard Hinnant's algorithm).
pub(crate) fn civil(secs: u64) -> (i64, u64, u64, u64, u64, u64) {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 date-time (`2026-12-03T09:12:05Z`, `…T09:12:05.25+01:00`; `t` and a
/// space are accepted for `T`, `z` for `Z`) into seconds since the Unix epoch (fractions
/// dropped). `None` for anything else, and for times before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let month_days = [
        31,
        28 + i64::from(leap(year)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= month_days[(month.clamp(1, 12) - 1) as usize]
        && hour <= 23
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let (oh, om): (i64, i64) = (rest[1..3].parse().ok()?, rest[4..6].parse().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59)
            - offset;
    u64::try_from(secs).ok()
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// How long ago, as a plan says it: `less than a minute ago`, `12 min ago`, `3 h ago`,
/// `9 d ago` (whole units, rounded down).
pub fn ago(age_secs: u64) -> String {
    match age_secs {
        0..=59 => "less than a minute ago".into(),
        60..=3599 => format!("{} min ago", age_secs / 60),
        3600..=172_799 => format!("{} h ago", age_secs / 3600),
        _ => format!("{} d ago", age_secs / 86_400),
    }
}

/// Parses a duration as `--max-snapshot-age` takes it: one or more whole numbers each followed
/// by a unit, `s`, `m`, `h` or `d` (`90m`, `36h`, `7d`, `1d12h`). The message quotes the text
/// as given: the caller makes it inert.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a duration: write a whole number and a unit, s, m, h or d (e.g. 90m, 36h, 7d)",
            text
        )
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = match rest[digits..].chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = &rest[digits + 1..];
    }
    Ok(Duration::from_secs(total))
}

/// A duration as `--max-snapshot-age` would be written: the largest whole unit (`7d`, `36h`,
/// `90m`, `45s`).
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s > 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_reads_offsets() {
        let t = 1_796_289_120; // 2026-12-03T09:12:00Z
        assert_eq!(rfc3339(t), "2026-12-03T09:12:00Z");
        assert_eq!(readable(t), "2026-12-03 09:12 UTC");
        assert_eq!(parse_rfc3339("2026-12-03T09:12:00Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03t09:12:00.999z"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03T10:12:00+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03T08:42:00-00:30"), Some(t));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "2026-12-03",
            "2026-12-03T09:12:00",
            "2026-13-03T09:12:00Z",
            "2025-02-29T00:00:00Z",
            "2026-12-03T24:00:00Z",
            "2026-12-03T09:12:00+1:00",
            "1969-12-31T23:59:59Z",
            "2026-12-03T09:12:00.Z",
            "２026-12-03T09:12:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages_read_in_whole_units() {
        assert_eq!(ago(5), "less than a minute ago");
        assert_eq!(ago(12 * 60 + 59), "12 min ago");
        assert_eq!(ago(3 * 3600 + 10), "3 h ago");
        assert_eq!(ago(47 * 3600), "47 h ago");
        assert_eq!(ago(9 * 86_400), "9 d ago");
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        for bad in [
            "",
            "7",
            "d",
            "7w",
            "-1d",
            "1.5h",
            "99999999999999999999d",
            "7d ",
        ] {
            let trimmed_ok = bad == "7d ";
            assert_eq!(parse_duration(bad).is_ok(), trimmed_ok, "{bad:?}");
        }
        assert!(parse_duration("7x")
            .unwrap_err()
            .contains("e.g. 90m, 36h, 7d"));
        assert_eq!(duration_text(Duration::from_secs(604_800)), "7d");
        assert_eq!(duration_text(Duration::from_secs(129_600)), "36h");
        assert_eq!(duration_text(Duration::from_secs(5400)), "90m");
        assert_eq!(duration_text(Duration::from_secs(61)), "61s");
    }
}
