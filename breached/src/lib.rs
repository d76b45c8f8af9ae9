//! The operator's breach list, offline (S64; NIST SP 800-63B §3.1.1.2, ASVS
//! 6.2.12). A closed-network deployment cannot ask an online service
//! whether a password is known to attackers, so the operator downloads a
//! list (Have I Been Pwned's "SHA1-HEX:COUNT" lines) and `sekisho admin
//! breached-import` turns it into a compact filter file, which gateways
//! read memory-mapped.
//!
//! The file holds one binary fuse filter (16-bit fingerprints, about 18
//! bits an entry, a false positive in 65,536) per shard of the keys, a key
//! being the first 8 bytes of the password's SHA-1. Shards keep the import's
//! memory bounded: each is built alone from its own keys.
//!
//! A false positive refuses a good password as breached, one time in
//! 65,536, with a message that asks for another: no harm done. There are no
//! false negatives.

mod format;
mod import;
mod keys;

pub use format::{BreachedList, OpenError};
pub use import::{import, ImportError, ImportReport, Progress};
pub use keys::{key_of_digest, key_of_password};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_digests_first_eight_bytes() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        assert_eq!(key_of_password("password"), 0x5BAA_61E4_C9B9_3F3F);
    }
}
