//! The filter's keys: a password's SHA-1, as the downloaded lists hash it.

use sha1::{Digest, Sha1};

/// The filter's key of a SHA-1 digest: its first 8 bytes, big-endian, so
/// that the top bits (the shard) follow the list's sort order.
pub fn key_of_digest(digest: &[u8; 20]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The filter's key of a password, as the list hashes it (SHA-1 of its
/// UTF-8 bytes).
pub fn key_of_password(password: &str) -> u64 {
    let digest: [u8; 20] = Sha1::digest(password.as_bytes()).into();
    key_of_digest(&digest)
}
