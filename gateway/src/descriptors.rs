//! The process's file descriptors, sized against the connection caps
//! (S54). A flood must meet `limits.connections_total` long before the
//! process runs out of descriptors, so that the metrics listener, its
//! health check, the store and the logs always have some left.
//!
//! At start the soft `nofile` limit is raised to the hard one (as nginx's
//! `worker_rlimit_nofile` and systemd's `LimitNOFILE` do), and a
//! `connections_total` that cannot fit under it, beside the reserve,
//! refuses the start with the key named. Left unset, it is what fits.
//!
//! A client connection holds one descriptor; a request in flight holds an
//! upstream connection too, which idle and half-open connections (the
//! floods) never do. So the cap must fit once, and the start warns when
//! the limit is short of twice the cap, where a full load of active
//! requests could run out (nginx counts both under `worker_connections`).

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors kept for everything that is not a client connection:
/// Pingora's idle upstream pool (128) and requests in flight beyond it,
/// the store's pool, the metrics listener and its health check, log and
/// audit files, mail.
pub const RESERVE: u64 = 1024;

/// The most client connections that fit under a `nofile` limit.
pub fn connections_that_fit(nofile: u64) -> usize {
    nofile.saturating_sub(RESERVE) as usize
}

/// The connection cap to run with: the configured one when it fits under
/// `nofile`, else a message for `limits.connections_total`; unset, what
/// fits (never more than the default's 20,000).
pub fn connections_total(configured: Option<usize>, nofile: u64) -> Result<usize, String> {
    let fits = connections_that_fit(nofile);
    match configured {
        None => Ok(fits.clamp(1, DEFAULT_TOTAL)),
        Some(n) if n <= fits => Ok(n),
        Some(n) => Err(format!(
            "{n} connections need {} file descriptors (one each and {RESERVE} kept for the \
             metrics listener, the store, the logs and upstream connections), but the process \
             may open {nofile} (its hard nofile limit): lower it to {fits} or raise LimitNOFILE",
            n as u64 + RESERVE
        )),
    }
}

/// Whether `nofile` leaves room for an upstream connection beside every
/// client connection of a full `total` (else the start warns).
pub fn room_for_full_load(total: usize, nofile: u64) -> bool {
    2 * total as u64 + RESERVE <= nofile
}

/// The cap used when `connections_total` is not set and descriptors allow.
pub const DEFAULT_TOTAL: usize = 20_000;

/// The hard `nofile` limit: how far the soft one can be raised.
pub fn hard_limit() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(u64::MAX, |(_, hard)| hard)
}

/// Raises the soft `nofile` limit to the hard one, and returns the limit
/// the process now runs under.
pub fn raise_to_hard_limit() -> u64 {
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot raise the open-file limit");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(_) => u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_fits_with_one_descriptor_each_and_the_reserve() {
        assert_eq!(connections_that_fit(20_000), 18_976);
        assert_eq!(connections_total(Some(18_976), 20_000), Ok(18_976));
        let refused = connections_total(Some(18_977), 20_000).unwrap_err();
        assert!(refused.contains("lower it to 18976"), "{refused}");
    }

    #[test]
    fn an_unset_cap_is_what_fits_up_to_the_default() {
        assert_eq!(connections_total(None, 20_000), Ok(18_976));
        assert_eq!(connections_total(None, 1 << 20), Ok(DEFAULT_TOTAL));
        assert_eq!(connections_total(None, 100), Ok(1));
    }

    #[test]
    fn a_full_load_needs_twice_the_cap() {
        assert!(room_for_full_load(20_000, 65_536));
        assert!(!room_for_full_load(18_976, 20_000));
    }
}
