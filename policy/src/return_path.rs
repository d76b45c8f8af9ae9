//! Where to send a person after login (SECURITY S35). Only a same-origin
//! relative path passes; anything a browser might read as another origin
//! falls back to `/`.

/// Longest return path kept.
pub const MAX_RETURN_PATH: usize = 2048;

/// Returns `raw` when it is a safe same-origin path, otherwise `/`.
///
/// Refused: absolute URLs and schemes (`https:`, `javascript:`), scheme-
/// relative `//host` and `/\host`, any control character or backslash —
/// checked both as sent and after percent-decoding, because browsers drop
/// tabs and newlines and some servers decode `%2F` before routing.
pub fn safe_return_path(raw: &str) -> String {
    if is_safe(raw) {
        raw.to_string()
    } else {
        "/".to_string()
    }
}

fn is_safe(raw: &str) -> bool {
    if raw.is_empty() || raw.len() > MAX_RETURN_PATH || !raw.starts_with('/') {
        return false;
    }
    let decoded = percent_decode_lossy(raw);
    for candidate in [raw, decoded.as_str()] {
        if candidate.starts_with("//")
            || candidate.starts_with("/\\")
            || candidate.chars().any(|c| c.is_control() || c == '\\')
        {
            return false;
        }
    }
    // A second decoding must not turn it into something else either
    // (`%252F%252F` → `%2F%2F` → `//`).
    let twice = percent_decode_lossy(&decoded);
    !(twice.starts_with("//") || twice.starts_with("/\\") || twice.chars().any(|c| c.is_control()))
}

fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s35_open_redirects_fall_back_to_root() {
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/\\evil.test",
            "/%09/evil.test",
            "/%2F%2Fevil.test",
            "/%2f/evil.test",
            "/%5Cevil.test",
            "https:evil.test",
            "javascript:alert(1)",
            "/ok\r\nLocation: https://evil.test",
            "/%0d%0aSet-Cookie:x=1",
            "/%252F%252Fevil.test",
            "",
            "evil.test",
        ] {
            assert_eq!(safe_return_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn same_origin_paths_pass() {
        for good in ["/", "/files/a%20b?x=1&y=2#top", "/s/日本語", "/a/b/"] {
            assert_eq!(safe_return_path(good), good);
        }
        assert_eq!(safe_return_path(&format!("/{}", "a".repeat(3000))), "/");
    }
}
