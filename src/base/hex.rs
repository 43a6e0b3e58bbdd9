//! Bytes as lowercase hexadecimal, two digits a byte: the one way skconn writes digests, keys and
//! salts as text. Pure.

/// `[0x0a, 0xff]` → `"0aff"`.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = bytes.as_ref();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn two_lowercase_digits_a_byte() {
        assert_eq!(hex([0x00, 0x0a, 0xff, 0x10]), "000aff10");
        assert_eq!(hex([]), "");
    }
}
