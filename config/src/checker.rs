//! The checker every section's conversion reports to: each problem keyed,
//! all of them collected; and the small readings they share (paths, files,
//! secrets, addresses).

use crate::typed::*;
use std::net::SocketAddr;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest timeout any `*_timeout_ms` key may set: one hour.
pub(crate) const MAX_TIMEOUT_MS: u64 = 3_600_000;

pub(crate) struct Checker<'a> {
    pub(crate) base: &'a Path,
    pub(crate) errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(crate) fn err(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.into(),
            message: message.into(),
        });
    }

    /// An optional path key: absent is none, empty is refused.
    pub(crate) fn optional_path(&mut self, key: &str, p: Option<&str>) -> Option<PathBuf> {
        let p = p?;
        if p.trim().is_empty() {
            self.err(key, "must not be empty (leave the key out for none)");
        }
        Some(self.path(p))
    }

    pub(crate) fn path(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }

    /// A listen address: an IP and a port, no name resolution.
    pub(crate) fn listen(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
        match s.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(
                    key,
                    format!("'{s}' is not an address like 127.0.0.1:8080 or [::1]:8080"),
                );
                None
            }
        }
    }

    /// An upstream address: `host:port`, resolved now.
    pub(crate) fn resolve(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Some(a);
        }
        if !s.contains(':') {
            self.err(key, format!("'{s}' needs a port, like host:8080"));
            return None;
        }
        match s.to_socket_addrs() {
            Ok(mut addrs) => match addrs.next() {
                Some(a) => Some(a),
                None => {
                    self.err(key, format!("'{s}' resolves to no address"));
                    None
                }
            },
            Err(e) => {
                self.err(key, format!("cannot resolve '{s}': {e}"));
                None
            }
        }
    }

    pub(crate) fn positive(&mut self, key: &str, v: u64) -> u64 {
        if v == 0 {
            self.err(key, "must be greater than 0");
        }
        v
    }

    /// A number that must lie in `min..=max` (`unit` names what it counts),
    /// checked before any arithmetic; out of range, a keyed error and `min`,
    /// so that nothing after it overflows.
    pub(crate) fn within(&mut self, key: &str, v: u64, min: u64, max: u64, unit: &str) -> u64 {
        if (min..=max).contains(&v) {
            v
        } else {
            self.err(key, format!("must be between {min} and {max} {unit}"));
            min
        }
    }

    /// A timeout in milliseconds: from 1 ms to one hour (store calls and
    /// SQLite's busy wait take at most 2^31 - 1 ms).
    pub(crate) fn timeout_ms(&mut self, key: &str, v: u64) -> Duration {
        Duration::from_millis(self.within(key, v, 1, MAX_TIMEOUT_MS, "milliseconds (one hour)"))
    }

    pub(crate) fn public_url(&mut self, key: &str, s: &str, insecure: bool) -> String {
        let trimmed = s.trim_end_matches('/');
        let rest = if let Some(r) = trimmed.strip_prefix("https://") {
            r
        } else if let Some(r) = trimmed.strip_prefix("http://") {
            if !insecure {
                self.err(
                    key,
                    "http:// needs development.insecure_http_cookies = true (secure cookies only travel over https)",
                );
            }
            r
        } else {
            self.err(key, format!("'{s}' must start with https://"));
            return String::new();
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            self.err(
                key,
                format!(
                    "'{s}' must be a scheme and host (and port) only, like https://ff.example.net"
                ),
            );
        }
        trimmed.to_string()
    }

    pub(crate) fn existing_file(&mut self, key: &str, p: &str) -> PathBuf {
        let path = self.path(p);
        if !path.is_file() {
            self.err(key, format!("no readable file at {}", path.display()));
        }
        path
    }
}

/// A Unix socket's path: not empty, and short enough for `sun_path`
/// (107 bytes on Linux), or binding it fails only at the upgrade.
pub(crate) fn unix_socket_path(c: &mut Checker, key: &str, p: &str) -> PathBuf {
    let path = c.path(p);
    let len = path.as_os_str().len();
    if p.trim().is_empty() {
        c.err(key, "must not be empty");
    } else if len > 107 {
        c.err(
            key,
            format!("a Unix socket path is at most 107 bytes; this one is {len}"),
        );
    }
    path
}

/// The machine's cores: the hashing pool and Pingora's threads default
/// from them.
pub(crate) fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// An address or CIDR, as the trusted-proxy and edge lists take them.
pub(crate) fn cidr(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .ok()
}

/// The part of a public URL after the scheme: host and port.
pub(crate) fn authority(url: &str) -> &str {
    url.split_once("://").map(|(_, a)| a).unwrap_or(url)
}

/// A password from a file or an environment variable (never inline in the
/// config), for the table at `table`.
pub(crate) fn password_from(
    c: &mut Checker,
    table: &str,
    file: &Option<String>,
    env: &Option<String>,
) -> Option<String> {
    match (file, env) {
        (Some(_), Some(_)) => {
            c.err(
                &format!("{table}.password_env"),
                "give password_file or password_env, not both",
            );
            None
        }
        (Some(f), None) => {
            let path = c.path(f);
            match std::fs::read_to_string(&path) {
                Ok(p) => Some(p.trim_end_matches(['\r', '\n']).to_string()),
                Err(e) => {
                    c.err(
                        &format!("{table}.password_file"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            }
        }
        (None, Some(var)) => match std::env::var(var) {
            Ok(p) => Some(p),
            Err(_) => {
                c.err(
                    &format!("{table}.password_env"),
                    format!("environment variable {var} is not set"),
                );
                None
            }
        },
        (None, None) => None,
    }
}

pub(crate) fn secret_file(c: &mut Checker, key: &str, file: &str) -> String {
    let path = c.path(file);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        Ok(_) => {
            c.err(key, format!("{} is empty", path.display()));
            String::new()
        }
        Err(e) => {
            c.err(key, format!("cannot read {}: {e}", path.display()));
            String::new()
        }
    }
}

/// The PEM certificates of `file` (`key`), checked to hold one.
pub(crate) fn ca_pem_from(c: &mut Checker, key: &str, file: &Option<String>) -> Option<Vec<u8>> {
    let path = c.path(file.as_ref()?);
    match std::fs::read(&path) {
        Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => {
            Some(pem)
        }
        Ok(_) => {
            c.err(key, format!("{} holds no PEM certificate", path.display()));
            None
        }
        Err(e) => {
            c.err(key, format!("cannot read {}: {e}", path.display()));
            None
        }
    }
}
