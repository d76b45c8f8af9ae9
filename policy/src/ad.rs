//! Active Directory connections (manual §1-3, §1-5): the connection ID
//! (接続ID) the gateway issues per tenant, and the rules for the ADFS
//! settings a contract holder types.

use unicode_normalization::UnicodeNormalization;

/// Every connection ID starts with this.
pub const CONNECTION_PREFIX: &str = "adfs-";
/// Characters after the prefix (the manual's `adfs-XXXXXXXXXXXXXXXXXX`).
pub const CONNECTION_SUFFIX_LEN: usize = 18;
/// The characters of the suffix: lower-case letters and digits, without
/// the look-alikes `0 o 1 l i`, so a person can read one out over the phone.
pub const CONNECTION_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The canonical form of a typed connection ID: trimmed, full-width folded
/// to half-width (NFKC), lower-case. `None` when it is not one.
pub fn canonical_connection_id(typed: &str) -> Option<String> {
    let folded: String = typed.trim().nfkc().collect::<String>().to_lowercase();
    let suffix = folded.strip_prefix(CONNECTION_PREFIX)?;
    let ok = suffix.len() == CONNECTION_SUFFIX_LEN
        && suffix.bytes().all(|b| CONNECTION_ALPHABET.contains(&b));
    ok.then_some(folded)
}

/// What is wrong with the ADFS settings a holder typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdSettingProblem {
    /// Not an absolute `https://` URL with a host (or `http://` where the
    /// operator allowed it for development).
    IssuerNotUrl,
    /// The URL carries a query or fragment, which an issuer never has.
    IssuerHasQuery,
    ClientIdMissing,
    /// Longer than any real client id or secret; refused before storing.
    TooLong,
    /// Needed the first time; later an empty field keeps the stored one.
    SecretMissing,
}

/// The longest issuer, client id or secret accepted.
pub const MAX_SETTING_LEN: usize = 512;

/// Checks the holder's ADFS settings; `has_secret` says a secret is stored
/// already, so an empty secret field keeps it.
pub fn check_ad_settings(
    issuer: &str,
    client_id: &str,
    client_secret: &str,
    has_secret: bool,
    allow_http: bool,
) -> Vec<AdSettingProblem> {
    let mut out = Vec::new();
    let (issuer, client_id) = (issuer.trim(), client_id.trim());
    if [issuer, client_id, client_secret]
        .iter()
        .any(|s| s.len() > MAX_SETTING_LEN)
    {
        out.push(AdSettingProblem::TooLong);
        return out;
    }
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://").filter(|_| allow_http));
    match rest {
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or("");
            let host_ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
            if !host_ok || issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
                out.push(AdSettingProblem::IssuerNotUrl);
            } else if issuer.contains('?') || issuer.contains('#') {
                out.push(AdSettingProblem::IssuerHasQuery);
            }
        }
        None => out.push(AdSettingProblem::IssuerNotUrl),
    }
    if client_id.is_empty() || client_id.chars().any(char::is_control) {
        out.push(AdSettingProblem::ClientIdMissing);
    }
    if client_secret.trim().is_empty() && !has_secret {
        out.push(AdSettingProblem::SecretMissing);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_are_canonicalised_or_refused() {
        let id = "adfs-abcdefghjkmnpqrs23";
        assert_eq!(canonical_connection_id(id).as_deref(), Some(id));
        assert_eq!(
            canonical_connection_id("  ADFS-ABCDEFGHJKMNPQRS23 ").as_deref(),
            Some(id)
        );
        // Full-width, as typed on a Japanese keyboard.
        assert_eq!(
            canonical_connection_id("ａｄｆｓ－ａｂｃｄｅｆｇｈｊｋｍｎｐｑｒｓ２３").as_deref(),
            Some(id)
        );
        for bad in [
            "",
            "adfs-",
            "adfs-abcdefghjkmnpqrs2",   // 17
            "adfs-abcdefghjkmnpqrs234", // 19
            "adfs-abcdefghjkmnpqrs0o",  // look-alikes
            "ad-abcdefghjkmnpqrs23x",
            "adfs-abcdefghjkmnpq s23",
            "adfs-abcdefghjkmnpqrs2\u{0}",
        ] {
            assert_eq!(canonical_connection_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn settings_need_an_https_issuer_a_client_and_a_secret() {
        use AdSettingProblem::*;
        let ok = check_ad_settings("https://adfs.corp.example/adfs", "cid", "s", false, false);
        assert!(ok.is_empty());
        assert_eq!(
            check_ad_settings("http://adfs.corp.example/adfs", "cid", "s", false, false),
            vec![IssuerNotUrl]
        );
        assert!(check_ad_settings("http://127.0.0.1:9/adfs", "cid", "s", false, true).is_empty());
        assert_eq!(
            check_ad_settings("https://x/adfs?a=b", "cid", "s", false, false),
            vec![IssuerHasQuery]
        );
        assert_eq!(
            check_ad_settings("https://", " ", "", false, false),
            vec![IssuerNotUrl, ClientIdMissing, SecretMissing]
        );
        assert!(check_ad_settings("https://x/adfs", "cid", "", true, false).is_empty());
        assert_eq!(
            check_ad_settings("https://x/adfs", &"c".repeat(600), "s", false, false),
            vec![TooLong]
        );
        assert_eq!(
            check_ad_settings("javascript:alert(1)", "cid", "s", false, false),
            vec![IssuerNotUrl]
        );
    }
}
