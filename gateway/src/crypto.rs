//! Small cryptographic helpers: random tokens, stored-form hashes, and the
//! CSRF token. Everything secret that leaves the process is random from the
//! OS; everything stored is a hash of it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS as URL-safe base64 (43 characters, 256 bits):
/// session ids, tickets, pre-session ids.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Random bytes for keys.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A short random reference for an error page and its log line: 48 bits,
/// in groups support can read out over the phone (e.g. `3f9a-c2e1-07bd`).
pub fn reference() -> String {
    let h = hex::encode(random_bytes(6));
    format!("{}-{}-{}", &h[..4], &h[4..8], &h[8..])
}

/// A random id for records (users, tenants): 128 bits, hex.
pub fn random_id() -> String {
    hex_text(&random_bytes(16))
}

/// Lower-case hex, by table: `hex::encode` goes a `char` at a time, which
/// on the proxied path (a session's digest, the request id) cost about
/// 2,000 instructions a request where this costs about 100 (P15).
pub fn hex_text(bytes: &[u8]) -> String {
    let mut text = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut text).expect("the buffer is twice the input");
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// The stored form of a token: SHA-256, hex. A copy of the store therefore
/// holds no usable session id or mailed link.
pub fn token_hash(token: &str) -> String {
    hex_text(&Sha256::digest(token.as_bytes()))
}

/// True when `token` has the shape of a token this gateway issues; anything
/// else is refused before any look-up.
pub fn looks_like_token(token: &str) -> bool {
    sekisho_policy::ticket::looks_like_ticket(token)
}

/// The CSRF token for a form bound to `binding` (the session's hash, or the
/// pre-session id before login): HMAC-SHA256 under the gateway's CSRF key.
pub fn csrf_token(key: &[u8], binding: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"sekisho-csrf\0");
    mac.update(binding.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The key of every CSRF token, shared by the gateways of one store.
pub struct CsrfKey(pub Vec<u8>);

impl CsrfKey {
    /// The token for a form bound to `binding` (a session, a pre-session,
    /// a pending login).
    pub fn token(&self, binding: &str) -> String {
        csrf_token(&self.0, binding)
    }

    /// Whether `submitted` is the token for `binding`, in constant time.
    pub fn accepts(&self, binding: &str, submitted: &str) -> bool {
        csrf_valid(&self.0, binding, submitted)
    }
}

/// Checks a submitted CSRF token in constant time.
pub fn csrf_valid(key: &[u8], binding: &str, submitted: &str) -> bool {
    let expected = csrf_token(key, binding);
    expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}

/// A keyed hash (HMAC-SHA256, hex) of `parts` under `key`, with `purpose`
/// separating uses: how short codes (SMS, recovery) are stored, since a
/// plain hash of six digits is reversed by trying them all.
pub fn keyed_hash(key: &[u8], purpose: &str, parts: &[&str]) -> String {
    hex_text(&keyed_bytes(key, purpose, parts))
}

/// The raw HMAC-SHA256 behind [`keyed_hash`].
pub fn keyed_bytes(key: &[u8], purpose: &str, parts: &[&str]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    for p in parts {
        mac.update(b"\0");
        mac.update(p.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// Compares two strings in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling over
/// the OS's random bytes): SMS and recovery codes.
pub fn random_code(n: usize, alphabet: &[u8]) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Seals a short text (at most 32 bytes) under `secret`, a token the
/// store never holds: XOR with an HMAC-derived pad under a fresh nonce.
/// Keeps a recovery code readable by its own browser only, while shown.
pub fn seal_short(secret: &str, purpose: &str, text: &str) -> Option<String> {
    if text.len() > 32 {
        return None;
    }
    let nonce = hex::encode(random_bytes(12));
    let pad = keyed_bytes(secret.as_bytes(), purpose, &[&nonce]);
    let sealed: Vec<u8> = text.bytes().zip(pad).map(|(a, b)| a ^ b).collect();
    Some(format!("{nonce}:{}", hex::encode(sealed)))
}

/// Opens what [`seal_short`] sealed; `None` for another secret's seal
/// that does not decode, or anything malformed.
pub fn unseal_short(secret: &str, purpose: &str, sealed: &str) -> Option<String> {
    let (nonce, body) = sealed.split_once(':')?;
    let body = hex::decode(body).ok()?;
    if body.len() > 32 {
        return None;
    }
    let pad = keyed_bytes(secret.as_bytes(), purpose, &[nonce]);
    String::from_utf8(body.iter().zip(pad).map(|(a, b)| a ^ b).collect()).ok()
}

/// Seals a secret for the store (a tenant's ADFS client secret) with
/// XChaCha20-Poly1305 under `key`, bound to `context` (whose record it
/// is): a copy of the store alone does not give it away, and a sealed
/// value moved to another record does not open.
pub fn seal_secret(key: &[u8; 32], context: &str, secret: &str) -> String {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let nonce = random_bytes(24);
    let mut n = [0u8; 24];
    n.copy_from_slice(&nonce);
    let sealed = cipher
        .encrypt(
            &chacha20poly1305::XNonce::from(n),
            Payload {
                msg: secret.as_bytes(),
                aad: context.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encryption of a short secret cannot fail");
    format!("v1:{}:{}", hex::encode(nonce), hex::encode(sealed))
}

/// Opens what [`seal_secret`] sealed; `None` for another key or context,
/// or anything altered.
pub fn open_secret(key: &[u8; 32], context: &str, sealed: &str) -> Option<String> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let mut parts = sealed.split(':');
    let (Some("v1"), Some(nonce), Some(body), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let nonce: [u8; 24] = hex::decode(nonce).ok()?.try_into().ok()?;
    let body = hex::decode(body).ok()?;
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.into());
    let plain = cipher
        .decrypt(
            &chacha20poly1305::XNonce::from(nonce),
            Payload {
                msg: &body,
                aad: context.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_by_table_is_the_hex_crate_s() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_text(&bytes), hex::encode(&bytes));
        assert_eq!(hex_text(&[]), "");
    }

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(looks_like_token(&a));
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn codes_use_only_their_alphabet() {
        let c = random_code(64, b"0123456789");
        assert_eq!(c.len(), 64);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(keyed_hash(b"k", "a", &["x"]), keyed_hash(b"k", "b", &["x"]));
        assert_ne!(
            keyed_hash(b"k", "a", &["x", "y"]),
            keyed_hash(b"k", "a", &["xy"])
        );
        assert!(same("abc", "abc") && !same("abc", "abd"));
    }

    #[test]
    fn sealed_text_opens_with_its_secret_only() {
        let sealed = seal_short("token-a", "p", "ABCD-EFGH").unwrap();
        assert_eq!(
            unseal_short("token-a", "p", &sealed).as_deref(),
            Some("ABCD-EFGH")
        );
        assert_ne!(
            unseal_short("token-b", "p", &sealed).as_deref(),
            Some("ABCD-EFGH")
        );
        assert_ne!(seal_short("token-a", "p", "ABCD-EFGH").unwrap(), sealed);
        assert_eq!(unseal_short("token-a", "p", "garbage"), None);
    }

    #[test]
    fn sealed_secrets_open_with_their_key_and_context_only() {
        let key = [7u8; 32];
        let sealed = seal_secret(&key, "tenant-a", "client-secret");
        assert!(!sealed.contains("client-secret"));
        assert_eq!(
            open_secret(&key, "tenant-a", &sealed).as_deref(),
            Some("client-secret")
        );
        assert_eq!(open_secret(&[8u8; 32], "tenant-a", &sealed), None);
        assert_eq!(open_secret(&key, "tenant-b", &sealed), None);
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(open_secret(&key, "tenant-a", &flipped), None);
        assert_eq!(open_secret(&key, "tenant-a", "v1:zz:zz"), None);
        assert_ne!(seal_secret(&key, "tenant-a", "client-secret"), sealed);
    }

    #[test]
    fn csrf_binds_to_its_binding() {
        let key = random_bytes(32);
        let t = csrf_token(&key, "pre-1");
        assert!(csrf_valid(&key, "pre-1", &t));
        assert!(!csrf_valid(&key, "pre-2", &t));
        assert!(!csrf_valid(&key, "pre-1", ""));
        assert!(!csrf_valid(&random_bytes(32), "pre-1", &t));
    }
}
