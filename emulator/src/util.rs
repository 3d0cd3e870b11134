//! Small helpers shared by the emulator's modules: identifiers in the formats the real services use,
//! a stable hash (FNV-1a, so that generated content is the same on every platform and Rust release),
//! the current Unix time, and percent-decoding of URL paths, query strings and form bodies.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as the OpenAI API reports `created_at` and friends.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 64-bit FNV-1a hash of `bytes`. Stable across platforms and compiler versions, unlike
/// `std::collections::hash_map::DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// 32 random lowercase hex digits (a v4 UUID without dashes).
pub fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `n` random characters from `[A-Za-z0-9]`, the alphabet of OpenAI's `file-…` and `chatcmpl-…` ids.
pub fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == n {
                break;
            }
            out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (and, when `plus_is_space`, `+` as a space, as in
/// `application/x-www-form-urlencoded` query strings). Invalid escapes are kept literally; invalid
/// UTF-8 is replaced with U+FFFD.
pub fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=2&b=3` (a query string or a form body) into decoded pairs, keeping repeats in order.
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The first value of `key` in decoded pairs.
pub fn form_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_utf8_plus_and_bad_escapes() {
        assert_eq!(percent_decode("%F0%9F%8C%B5%20a+b", false), "🌵 a+b");
        assert_eq!(percent_decode("%F0%9F%8C%B5+a", true), "🌵 a");
        assert_eq!(percent_decode("%27D3%27%21A1", false), "'D3'!A1");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    }

    #[test]
    fn forms_keep_repeated_keys() {
        let pairs = parse_form("ranges=A%3AA&ranges=Sheet1%21B1&x=");
        assert_eq!(
            pairs,
            vec![
                ("ranges".to_string(), "A:A".to_string()),
                ("ranges".to_string(), "Sheet1!B1".to_string()),
                ("x".to_string(), String::new()),
            ]
        );
        assert_eq!(form_get(&pairs, "ranges"), Some("A:A"));
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn random_ids_have_the_requested_shape() {
        assert_eq!(random_hex().len(), 32);
        let id = random_alnum(24);
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
