//! The authenticator apps' seeds at rest (S50): sealed with
//! XChaCha20-Poly1305 under `two_step.seed_key_file`, a key kept outside the
//! store, and bound to the user's id, so a copy of the store (a backup, an
//! export, a Redis replica) yields no second factor, and a sealed seed
//! moved to another user does not open.
//!
//! Seeds an earlier version stored in clear are still read, and are sealed
//! by [`seal_clear_seeds`] at start and after their next use.

use sekisho_config::SeedKey;
use std::io::Write;

/// What a sealed seed starts with; a base32 seed never holds a colon.
const SEALED_PREFIX: &str = "v1:";

fn context(user_id: &str) -> String {
    format!("sekisho-totp-seed\0{user_id}")
}

/// The stored form of `seed` (base32) for `user_id`.
pub fn seal(key: &[u8; 32], user_id: &str, seed: &str) -> String {
    crate::crypto::seal_secret(key, &context(user_id), seed)
}

/// A stored seed as base32: sealed ones opened with the key, clear ones
/// from an earlier version as they are. `None` when it does not open
/// (another key, another user's record, altered).
pub fn open(key: &[u8; 32], user_id: &str, stored: &str) -> Option<String> {
    if is_sealed(stored) {
        crate::crypto::open_secret(key, &context(user_id), stored)
    } else {
        Some(stored.to_string())
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The seed key from its file, made first (readable by its owner only)
/// when it is missing and the configuration allows.
pub fn load_key(cfg: &SeedKey) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = cfg.key {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&crate::crypto::random_bytes(32));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(&cfg.file) {
        Ok(file) => file,
        // Another gateway sharing the folder made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_key(&cfg.file),
        Err(e) => {
            return Err(crate::error::InputError::error(format!(
                "two_step.seed_key_file: cannot make {}: {e}",
                cfg.file.display()
            )))
        }
    };
    writeln!(file, "{}", hex::encode(key))?;
    tracing::info!(path = %cfg.file.display(), "made a new seed key");
    Ok(key)
}

/// A key file another process just made (it may still be being written).
fn read_key(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    for _ in 0..50 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Ok(bytes) = hex::decode(text.trim()) {
            if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(key);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(crate::error::InputError::error(format!(
        "two_step.seed_key_file: {} does not hold 64 hex digits",
        path.display()
    )))
}

/// Seals every seed still stored in clear; returns how many it sealed.
/// A seed that changed meanwhile (reset, re-registered) is left to its
/// new owner.
pub async fn seal_clear_seeds(
    store: &(impl crate::store::AccountStore + crate::store::TwoStepStore + ?Sized),
    seed_key: &[u8; 32],
) -> crate::store::StoreResult<usize> {
    let mut sealed = 0;
    for user in store.list_users(None).await? {
        let Some(clear) = user
            .two_step
            .as_ref()
            .and_then(|r| r.totp_secret.as_deref())
        else {
            continue;
        };
        if is_sealed(clear) {
            continue;
        }
        let to = seal(seed_key, &user.id, clear);
        if store.replace_totp_secret(&user.id, clear, &to).await? {
            sealed += 1;
        }
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_seed_opens_for_its_user_under_its_key_only() {
        let key = [7u8; 32];
        let stored = seal(&key, "u1", "JBSWY3DPEHPK3PXP");
        assert!(is_sealed(&stored));
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            open(&key, "u1", &stored).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(open(&key, "u2", &stored), None);
        assert_eq!(open(&[8u8; 32], "u1", &stored), None);
    }

    #[test]
    fn a_clear_seed_from_an_earlier_version_still_reads() {
        assert!(!is_sealed("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            open(&[7u8; 32], "u1", "JBSWY3DPEHPK3PXP").as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
    }
}
