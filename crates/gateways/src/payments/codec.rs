//! `application/x-www-form-urlencoded` helpers shared by the providers.

/// Percent-encodes `s` (RFC 3986 unreserved characters kept; space as `%20`).
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes pairs as a form body.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn unpct(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Decodes a form body; `None` if malformed. A repeated key is malformed too (a signature
/// must cover exactly one value per key).
pub fn form_decode(body: &[u8]) -> Option<Vec<(String, String)>> {
    let s = std::str::from_utf8(body).ok()?;
    let mut out: Vec<(String, String)> = Vec::new();
    for part in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (unpct(k)?, unpct(v)?);
        if out.iter().any(|(x, _)| *x == k) {
            return None;
        }
        out.push((k, v));
    }
    Some(out)
}

/// The value of `key`.
pub fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Yuan string (`12.30`) → fen; `None` unless it has at most two decimals.
pub fn yuan_to_fen(s: &str) -> Option<i64> {
    domain::Money::parse_yuan(s).ok().map(|m| m.fen())
}
