//! The authenticator app's codes (RFC 6238 through totp-rs: SHA-1, 6
//! digits, 30 s, one step either side) and the QR code of its set-up,
//! drawn by the gateway itself (the secret never leaves for an outside
//! service).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use sekisho_policy::two_step::{TOTP_DIGITS, TOTP_PERIOD, TOTP_SKEW};
use sekisho_policy::UnixTime;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Bytes of a new secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

fn authenticator(secret: &[u8], account: &str, issuer: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_skew(TOTP_SKEW as u16)
        .with_step_duration(TOTP_PERIOD)
        .with_secret(secret.to_vec())
        // The label may not hold a colon; addresses never do, names might.
        .with_account_name(account.replace(':', " "))
        .with_issuer(Some(issuer.replace(':', " ")))
        .build()
        .ok()
}

/// The base32 form of a secret, as stored and as shown for typing in.
pub fn encode_secret(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The step a typed code belongs to, if it is right for `now` (±1 step).
pub fn matched_step(secret_base32: &str, code: &str, now: UnixTime) -> Option<u64> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    let totp = authenticator(secret.as_bytes(), "-", "-")?;
    totp.check(code, now.max(0) as u64)
}

/// The `otpauth://` URI and its QR code as inline SVG, for set-up.
pub fn setup_qr(secret: &[u8], account: &str, issuer: &str) -> Option<(String, String)> {
    let uri = authenticator(secret, account, issuer)?.to_url().ok()?;
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in the page: the XML prologue has no place there.
    let inline = match image.find("<svg") {
        Some(i) => image[i..].to_string(),
        None => image,
    };
    Some((uri, inline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let secret = [7u8; SECRET_BYTES];
        let b32 = encode_secret(&secret);
        let totp = authenticator(&secret, "a@example.jp", "Sekisho").unwrap();
        let now: UnixTime = 1_800_000_015;
        let code = totp.generate(now as u64).to_string();
        let step = now as u64 / TOTP_PERIOD;
        assert_eq!(matched_step(&b32, &code, now), Some(step));
        assert_eq!(matched_step(&b32, &code, now + 30), Some(step));
        assert_eq!(matched_step(&b32, &code, now - 30), Some(step));
        assert_eq!(matched_step(&b32, &code, now + 60), None);
        assert_eq!(matched_step(&b32, "12345", now), None);
        assert_eq!(matched_step("not base32!", &code, now), None);
    }

    #[test]
    fn qr_is_inline_svg_of_the_uri() {
        let (uri, svg) =
            setup_qr(&[1u8; SECRET_BYTES], "a@example.jp", "おまかせ:ストレージ").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("secret="));
        assert!(svg.starts_with("<svg"));
    }
}
