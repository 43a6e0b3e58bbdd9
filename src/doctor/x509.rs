//! The two things `doctor` reads from a server's certificate: who issued it (the issuer's
//! distinguished name) and until when it is valid. A small DER reader over the fixed start of
//! an X.509 certificate; anything it does not understand gives `None`, never a panic.

/// What the report says of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The issuer, e.g. `CN=R11, O=Let's Encrypt, C=US`.
    pub issuer: String,
    /// The end of its validity, as written (`YYYY-MM-DD HH:MM:SS UTC`).
    pub not_after: Option<String>,
    /// Seconds since the Unix epoch of `not_after`.
    pub not_after_unix: Option<i64>,
}

/// One DER element: its tag, and its contents.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

/// Reads the issuer and validity of a DER certificate.
pub fn read(der: &[u8]) -> Option<CertInfo> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    let (mut tag, mut body, mut after) = element(rest)?;
    // [0] version, when present.
    if tag == 0xa0 {
        rest = after;
        (tag, body, after) = element(rest)?;
    }
    // serialNumber
    if tag != 0x02 {
        return None;
    }
    let _ = body;
    // signature AlgorithmIdentifier
    let (_, _, after_sig) = element(after)?;
    let (tag, issuer, after_issuer) = element(after_sig)?;
    if tag != SEQUENCE {
        return None;
    }
    let issuer = name(issuer)?;
    let (not_after, not_after_unix) = match element(after_issuer) {
        Some((SEQUENCE, validity, _)) => {
            let (_, _, after_before) = element(validity)?;
            let (tag, value, _) = element(after_before)?;
            match time(tag, value) {
                Some((text, unix)) => (Some(text), Some(unix)),
                None => (None, None),
            }
        }
        _ => (None, None),
    };
    Some(CertInfo {
        issuer,
        not_after,
        not_after_unix,
    })
}

/// A distinguished name as `CN=…, O=…`, in the order written, with the usual attributes.
fn name(mut rdns: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (tag, set, rest) = element(rdns)?;
        rdns = rest;
        if tag != SET {
            return None;
        }
        let mut attrs = set;
        while !attrs.is_empty() {
            let (tag, attr, rest) = element(attrs)?;
            attrs = rest;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, value) = element(attr)?;
            if tag != 0x06 {
                return None;
            }
            let (vtag, value, _) = element(value)?;
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x07] => "L",
                _ => continue,
            };
            if let Some(text) = string(vtag, value) {
                parts.push(format!("{label}={text}"));
            }
        }
    }
    Some(parts.join(", "))
}

/// A directory string: UTF8String, PrintableString, IA5String, TeletexString (read as
/// Latin-1) or BMPString (UTF-16).
fn string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        0x0c | 0x13 | 0x16 => std::str::from_utf8(value).ok().map(str::to_string),
        0x14 => Some(value.iter().map(|b| char::from(*b)).collect()),
        0x1e => {
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, value: &[u8]) -> Option<(String, i64)> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let num = |i: usize| -> Option<u64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day, h, m, s) = (num(0)?, num(2)?, num(4)?, num(6)?, num(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = crate::base::time::days_from_civil(year, month as i64, day as i64);
    let (h, m, s) = (h as i64, m as i64, s as i64);
    Some((
        format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC"),
        days * 86_400 + h * 3600 + m * 60 + s,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a certificate, built by hand: SEQUENCE { tbs SEQUENCE { [0] {INTEGER 2},
    /// INTEGER 1, SEQUENCE {OID}, issuer (CN=skconn test CA, O=skconn, and an attribute the
    /// report leaves out), validity, subject } }.
    fn der(not_after: &[u8]) -> Vec<u8> {
        let tlv = |tag: u8, body: &[u8]| {
            let mut v = vec![tag];
            match u8::try_from(body.len()) {
                Ok(n) if n < 0x80 => v.push(n),
                Ok(n) => v.extend([0x81, n]),
                Err(_) => v.extend([0x82, (body.len() >> 8) as u8, body.len() as u8]),
            }
            v.extend_from_slice(body);
            v
        };
        let attr = |oid: &[u8], value: &str| {
            tlv(
                SET,
                &tlv(
                    SEQUENCE,
                    &[tlv(0x06, oid), tlv(0x0c, value.as_bytes())].concat(),
                ),
            )
        };
        let issuer = tlv(
            SEQUENCE,
            &[
                attr(&[0x55, 0x04, 0x03], "skconn test CA"),
                attr(&[0x55, 0x04, 0x0a], "skconn"),
                attr(&[0x2a, 0x03], "ignored"),
            ]
            .concat(),
        );
        let validity = tlv(
            SEQUENCE,
            &[tlv(0x17, b"240101000000Z"), tlv(0x17, not_after)].concat(),
        );
        let tbs = tlv(
            SEQUENCE,
            &[
                tlv(0xa0, &tlv(0x02, &[2])),
                tlv(0x02, &[1]),
                tlv(SEQUENCE, &tlv(0x06, &[0x2a, 0x86, 0x48])),
                issuer.clone(),
                validity,
                issuer,
            ]
            .concat(),
        );
        tlv(SEQUENCE, &tbs)
    }

    #[test]
    fn reads_the_issuer_and_the_end_of_validity() {
        let info = read(&der(b"280229120000Z")).unwrap();
        assert_eq!(info.issuer, "CN=skconn test CA, O=skconn");
        assert_eq!(info.not_after.as_deref(), Some("2028-02-29 12:00:00 UTC"));
        assert_eq!(info.not_after_unix, Some(1_835_438_400));
    }

    #[test]
    fn garbage_is_none_never_a_panic() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x02\x30\x00",
            b"\x04\x00",
        ] {
            assert_eq!(read(bad), None);
        }
        let good = der(b"300101000000Z");
        for cut in 0..good.len() {
            let _ = read(&good[..cut]);
        }
    }
}
