//! From the file format to [`Config`]: each check names its key.

use crate::raw::*;
use crate::typed::*;
use std::net::SocketAddr;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Checker<'a> {
    base: &'a Path,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn err(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.into(),
            message: message.into(),
        });
    }

    /// An optional path key: absent is none, empty is refused.
    fn optional_path(&mut self, key: &str, p: Option<&str>) -> Option<PathBuf> {
        let p = p?;
        if p.trim().is_empty() {
            self.err(key, "must not be empty (leave the key out for none)");
        }
        Some(self.path(p))
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }

    /// A listen address: an IP and a port, no name resolution.
    fn listen(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
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
    fn resolve(&mut self, key: &str, s: &str) -> Option<SocketAddr> {
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

    fn positive(&mut self, key: &str, v: u64) -> u64 {
        if v == 0 {
            self.err(key, "must be greater than 0");
        }
        v
    }

    /// A number that must lie in `min..=max` (`unit` names what it counts),
    /// checked before any arithmetic; out of range, a keyed error and `min`,
    /// so that nothing after it overflows.
    fn within(&mut self, key: &str, v: u64, min: u64, max: u64, unit: &str) -> u64 {
        if (min..=max).contains(&v) {
            v
        } else {
            self.err(key, format!("must be between {min} and {max} {unit}"));
            min
        }
    }

    /// A timeout in milliseconds: from 1 ms to one hour (store calls and
    /// SQLite's busy wait take at most 2^31 - 1 ms).
    fn timeout_ms(&mut self, key: &str, v: u64) -> Duration {
        Duration::from_millis(self.within(key, v, 1, MAX_TIMEOUT_MS, "milliseconds (one hour)"))
    }

    fn public_url(&mut self, key: &str, s: &str, insecure: bool) -> String {
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

    fn existing_file(&mut self, key: &str, p: &str) -> PathBuf {
        let path = self.path(p);
        if !path.is_file() {
            self.err(key, format!("no readable file at {}", path.display()));
        }
        path
    }
}

/// Parses and validates a configuration text; `base` is the folder relative
/// paths are taken from.
/// Refuses, by the later key, a listener on an address another already
/// takes: the same port on the same address, or on the wildcard address
/// beside a specific one. Two services on one socket would share its
/// connections (`/metrics` on the public port, S44).
fn colliding_listeners(c: &mut Checker, listeners: &[(&str, SocketAddr)]) {
    for (i, (key, addr)) in listeners.iter().enumerate() {
        let taken = listeners[..i].iter().find(|(_, earlier)| {
            earlier.port() == addr.port()
                && (earlier.ip() == addr.ip()
                    || earlier.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        let said = c.errors.iter().any(|e| e.key == *key);
        if let Some((earlier_key, _)) = taken {
            if addr.port() != 0 && !said {
                c.err(key, format!("{addr} is already {earlier_key}"));
            }
        }
    }
}

/// A Unix socket's path: not empty, and short enough for `sun_path`
/// (107 bytes on Linux), or binding it fails only at the upgrade.
fn unix_socket_path(c: &mut Checker, key: &str, p: &str) -> PathBuf {
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

/// The longest timeout any `*_timeout_ms` key may set: one hour.
const MAX_TIMEOUT_MS: u64 = 3_600_000;

pub fn from_toml_str(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
    let raw = parse_raw(text)?;
    let mut c = Checker {
        base,
        errors: Vec::new(),
    };
    let config = build(&mut c, raw);
    colliding_listeners(&mut c, &config.listeners());
    if c.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(c.errors))
    }
}

/// Checks only that `text` is TOML of known keys and types (CI's
/// `check-config --syntax-only`): no file is read and no name resolved.
pub fn check_syntax(text: &str) -> Result<(), ConfigErrors> {
    parse_raw(text).map(|_| ())
}

/// The file as written: TOML, every key known, every value of its type.
fn parse_raw(text: &str) -> Result<RawConfig, ConfigErrors> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigErrors(vec![ConfigError {
            key: "(syntax)".into(),
            message: e.to_string().trim().to_string(),
        }])
    })?;
    // serde stops at the first wrong key. Each one found is named, set
    // aside, and the rest read again, so one run names every unknown key
    // and wrong type at once (bounded: each round removes a key).
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut set_aside: Vec<String> = Vec::new();
    loop {
        let value = toml::Value::Table(table.clone());
        let e = match serde_path_to_error::deserialize::<_, RawConfig>(value) {
            Ok(raw) if errors.is_empty() => return Ok(raw),
            Ok(_) => return Err(ConfigErrors(errors)),
            Err(e) => e,
        };
        let segments: Vec<serde_path_to_error::Segment> = e.path().iter().cloned().collect();
        let key = match e.path().to_string() {
            k if k == "." || k.is_empty() => "(top level)".to_string(),
            k => k,
        };
        let message = e.into_inner().message().trim().to_string();
        // A key set aside for its type is not also reported missing.
        if message.starts_with("missing field")
            && set_aside.iter().any(|k| missing_is(&key, &message, k))
        {
            return Err(ConfigErrors(errors));
        }
        let message = match unknown_key(&message) {
            Some((name, known)) => unknown_key_message(name, &known),
            None => message,
        };
        errors.push(ConfigError {
            key: key.clone(),
            message,
        });
        if !remove_key(&mut table, &segments) {
            return Err(ConfigErrors(errors));
        }
        set_aside.push(key);
    }
}

/// Whether serde's "missing field `x`" at `container` is the key `removed`.
fn missing_is(container: &str, message: &str, removed: &str) -> bool {
    let field = message.split('`').nth(1).unwrap_or_default();
    let full = if container == "(top level)" {
        field.to_string()
    } else {
        format!("{container}.{field}")
    };
    full == removed
}

/// The unknown name and the names known in its table, from serde's
/// "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or
/// "there are no fields").
fn unknown_key(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest.split('`').skip(1).step_by(2).collect();
    Some((name, known))
}

/// "unknown key; did you mean `x`?" when one known name is close, else the
/// names this table knows.
fn unknown_key_message(name: &str, known: &[&str]) -> String {
    let closest = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((_, k)) => format!("unknown key; did you mean `{k}`?"),
        None if known.is_empty() => "unknown key; this table takes no keys".to_string(),
        None => format!(
            "unknown key; this table knows {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Removes the key at `path` from the file's table; false when the path
/// does not lead to a key (nothing more can be set aside).
fn remove_key(table: &mut toml::Table, path: &[serde_path_to_error::Segment]) -> bool {
    use serde_path_to_error::Segment;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut here: &mut toml::Value = match parents.first() {
        None => {
            return match last {
                Segment::Map { key } => table.remove(key).is_some(),
                _ => false,
            }
        }
        Some(Segment::Map { key }) => match table.get_mut(key) {
            Some(v) => v,
            None => return false,
        },
        Some(_) => return false,
    };
    for segment in &parents[1..] {
        let next = match (segment, here) {
            (Segment::Map { key }, toml::Value::Table(t)) => t.get_mut(key),
            (Segment::Seq { index }, toml::Value::Array(a)) => a.get_mut(*index),
            _ => None,
        };
        match next {
            Some(v) => here = v,
            None => return false,
        }
    }
    match (last, here) {
        (Segment::Map { key }, toml::Value::Table(t)) => t.remove(key).is_some(),
        _ => false,
    }
}

fn build(c: &mut Checker, raw: RawConfig) -> Config {
    let dev = &raw.development;
    let insecure = dev.insecure_http_cookies;

    if raw.service_name.trim().is_empty() {
        c.err("service_name", "must not be empty");
    }

    let internet = Listener {
        listen: c
            .listen("internet.listen", &raw.internet.listen)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        public_url: c.public_url("internet.public_url", &raw.internet.public_url, insecure),
        tls: raw.internet.tls.as_ref().map(|t| Tls {
            cert_file: c.existing_file("internet.tls.cert_file", &t.cert_file),
            key_file: c.existing_file("internet.tls.key_file", &t.key_file),
        }),
    };

    let closed = raw
        .closed
        .as_ref()
        .map(|cl| closed(c, cl, &internet, insecure));

    let u = &raw.upstream;
    let upstream = Upstream {
        address: c
            .resolve("upstream.address", &u.address)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        tls: u.tls,
        sni: u.sni.clone().unwrap_or_else(|| {
            u.address
                .rsplit_once(':')
                .map(|(h, _)| h.to_string())
                .unwrap_or_default()
        }),
        audience: {
            if u.audience.trim().is_empty() {
                c.err("upstream.audience", "must not be empty");
            }
            u.audience.clone()
        },
        connect_timeout: c.timeout_ms("upstream.connect_timeout_ms", u.connect_timeout_ms),
        read_timeout: c.timeout_ms("upstream.read_timeout_ms", u.read_timeout_ms),
        write_timeout: c.timeout_ms("upstream.write_timeout_ms", u.write_timeout_ms),
        idle_timeout: c.timeout_ms("upstream.idle_timeout_ms", u.idle_timeout_ms),
    };

    let backend = match raw.store.backend.as_str() {
        "embedded" => {
            if raw.store.path.trim().is_empty() {
                c.err("store.path", "must name a file");
            }
            StoreBackend::Embedded {
                path: c.path(&raw.store.path),
            }
        }
        "redis" => match &raw.store.redis {
            Some(r) => redis_backend(c, r),
            None => {
                c.err(
                    "store.redis",
                    "backend = \"redis\" needs a [store.redis] table with its url",
                );
                StoreBackend::Embedded {
                    path: c.path(&raw.store.path),
                }
            }
        },
        "postgres" => match &raw.store.postgres {
            Some(p) => postgres_backend(c, p),
            None => {
                c.err(
                    "store.postgres",
                    "backend = \"postgres\" needs a [store.postgres] table with its url",
                );
                StoreBackend::Embedded {
                    path: c.path(&raw.store.path),
                }
            }
        },
        other => {
            c.err(
                "store.backend",
                format!("'{other}' is not one of: embedded, redis, postgres"),
            );
            StoreBackend::Embedded {
                path: c.path(&raw.store.path),
            }
        }
    };
    let store = Store {
        backend,
        timeout: c.timeout_ms("store.timeout_ms", raw.store.timeout_ms),
        cache_ttl: {
            if raw.store.cache_ttl_ms > 10_000 {
                c.err(
                    "store.cache_ttl_ms",
                    "at most 10000: it bounds how late a revocation made elsewhere is seen",
                );
            }
            Duration::from_millis(raw.store.cache_ttl_ms)
        },
    };

    let s = &raw.session;
    let idle_minutes = c.within(
        "session.idle_minutes",
        s.idle_minutes,
        1,
        525_600,
        "minutes (a year)",
    );
    let absolute_hours = c.within(
        "session.absolute_hours",
        s.absolute_hours,
        1,
        8_760,
        "hours (a year)",
    );
    if idle_minutes > absolute_hours * 60 {
        c.err(
            "session.idle_minutes",
            "must not exceed session.absolute_hours",
        );
    }
    let session = Session {
        idle: Duration::from_secs(idle_minutes * 60),
        absolute: Duration::from_secs(absolute_hours * 3600),
    };

    let h = &raw.password_hashing;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let parallelism = c.within(
        "password_hashing.parallelism",
        u64::from(h.parallelism),
        1,
        16,
        "lanes",
    );
    if u64::from(h.memory_kib) < 8 * parallelism {
        c.err(
            "password_hashing.memory_kib",
            "must be at least 8 × parallelism",
        );
    }
    if h.memory_kib > 4 * 1024 * 1024 {
        c.err("password_hashing.memory_kib", "at most 4194304 (4 GiB)");
    }
    c.positive("password_hashing.iterations", h.iterations as u64);
    // Half the cores by default: a login flood must leave CPU for proxying.
    let pool_threads = h.pool_threads.unwrap_or((cores / 2).max(1));
    if pool_threads == 0 || pool_threads > 256 {
        c.err("password_hashing.pool_threads", "must be between 1 and 256");
    }
    c.positive("password_hashing.queue_capacity", h.queue_capacity as u64);
    let max_wait = c.timeout_ms("password_hashing.max_wait_ms", h.max_wait_ms);
    let hashing = Hashing {
        memory_kib: h.memory_kib,
        iterations: h.iterations,
        parallelism: h.parallelism,
        pool_threads,
        queue_capacity: h.queue_capacity,
        max_wait,
    };

    let m = &raw.mail;
    if !m.from.contains('@') {
        c.err("mail.from", format!("'{}' is not a mail address", m.from));
    }
    let transport = match m.transport.as_str() {
        "outbox" => {
            if m.smtp.is_some() {
                c.err("mail.smtp", "given, but mail.transport is 'outbox'");
            }
            MailTransport::Outbox {
                dir: m.outbox_dir.as_deref().map(|d| c.path(d)),
            }
        }
        "smtp" => match &m.smtp {
            None => {
                c.err(
                    "mail.smtp",
                    "missing: mail.transport = 'smtp' needs a [mail.smtp] table",
                );
                MailTransport::Outbox { dir: None }
            }
            Some(s) => MailTransport::Smtp(smtp(c, s)),
        },
        other => {
            c.err(
                "mail.transport",
                format!("'{other}' is not one of: smtp, outbox"),
            );
            MailTransport::Outbox { dir: None }
        }
    };
    let mail = Mail {
        from: m.from.clone(),
        transport,
    };

    let a = &raw.assertion;
    let key_path = c.path(&a.signing_key_file);
    if !a.generate_if_missing && !key_path.is_file() {
        c.err(
            "assertion.signing_key_file",
            format!(
                "no key at {} (run `sekisho keygen {}` or set generate_if_missing = true)",
                key_path.display(),
                key_path.display()
            ),
        );
    }
    let lifetime = c.positive("assertion.lifetime_seconds", a.lifetime_seconds);
    if lifetime > 300 {
        c.err(
            "assertion.lifetime_seconds",
            "at most 300: the assertion is a short-lived proof",
        );
    }
    if lifetime > 0 && lifetime < 60 {
        c.err(
            "assertion.lifetime_seconds",
            "at least 60, so an assertion survives one slow upstream request",
        );
    }
    let also_publish: Vec<PathBuf> = a
        .also_publish_key_files
        .iter()
        .enumerate()
        .map(|(i, f)| c.existing_file(&format!("assertion.also_publish_key_files[{i}]"), f))
        .collect();
    let assertion = Assertion {
        also_publish_key_files: also_publish,
        signing_key_file: key_path,
        lifetime: Duration::from_secs(lifetime),
        generate_if_missing: a.generate_if_missing,
    };

    let metrics_listen = raw
        .metrics
        .listen
        .as_deref()
        .and_then(|l| c.listen("metrics.listen", l));

    let l = &raw.limits;
    if l.form_body_bytes < 1024 || l.form_body_bytes > 1024 * 1024 {
        c.err("limits.form_body_bytes", "must be between 1024 and 1048576");
    }
    if l.client_read_buffer_bytes < 1024 || l.client_read_buffer_bytes > 1024 * 1024 {
        c.err(
            "limits.client_read_buffer_bytes",
            "must be between 1024 and 1048576",
        );
    }
    let limits = Limits {
        form_body_bytes: l.form_body_bytes,
        client_read_buffer_bytes: l.client_read_buffer_bytes,
        form_body_timeout: c.timeout_ms("limits.form_body_timeout_ms", l.form_body_timeout_ms),
        client_read_timeout: c
            .timeout_ms("limits.client_read_timeout_ms", l.client_read_timeout_ms),
        header_timeout: c.timeout_ms("limits.header_timeout_ms", l.header_timeout_ms),
        keepalive_timeout: c.timeout_ms("limits.keepalive_timeout_ms", l.keepalive_timeout_ms),
        header_bytes: c.within(
            "limits.header_bytes",
            l.header_bytes as u64,
            1024,
            1024 * 1024 - 1,
            "bytes",
        ) as usize,
        connections_per_address: c.within(
            "limits.connections_per_address",
            l.connections_per_address as u64,
            1,
            1_000_000,
            "connections",
        ) as usize,
        connections_total: c.within(
            "limits.connections_total",
            l.connections_total as u64,
            1,
            1_000_000,
            "connections",
        ) as usize,
    };

    if raw.lock.threshold == 0 || raw.lock.threshold > 1000 {
        c.err("lock.threshold", "must be between 1 and 1000");
    }
    let lock = Lock {
        threshold: raw.lock.threshold,
        mail_interval: Duration::from_secs(c.within(
            "lock.mail_interval_seconds",
            raw.lock.mail_interval_seconds,
            0,
            30 * 86_400,
            "seconds (30 days)",
        )),
        forget_after: Duration::from_secs(
            c.within(
                "lock.forget_after_hours",
                raw.lock.forget_after_hours,
                1,
                24 * 366,
                "hours (a year)",
            ) * 3600,
        ),
    };

    let per_minute = |c: &mut Checker, key: &str, v: u32| {
        c.within(key, u64::from(v), 1, 1_000_000, "requests a minute") as u32
    };
    let per_ip_per_minute = per_minute(
        c,
        "throttle.per_ip_per_minute",
        raw.throttle.per_ip_per_minute,
    );
    let per_address_account_per_minute = per_minute(
        c,
        "throttle.per_address_account_per_minute",
        raw.throttle.per_address_account_per_minute,
    );
    let per_account_per_minute = per_minute(
        c,
        "throttle.per_account_per_minute",
        raw.throttle.per_account_per_minute,
    );
    let mut trusted_proxies = Vec::new();
    for (i, cidr) in raw.throttle.trusted_proxies.iter().enumerate() {
        match cidr
            .parse::<ipnet::IpNet>()
            .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        {
            Ok(n) => trusted_proxies.push(n),
            Err(_) => c.err(
                &format!("throttle.trusted_proxies[{i}]"),
                format!("'{cidr}' is not an address or CIDR like 10.0.0.0/8"),
            ),
        }
    }
    let throttle = Throttle {
        per_ip_per_minute,
        per_address_account_per_minute,
        per_account_per_minute,
        trusted_proxies,
    };

    let two_step = two_step(c, &raw.two_step);
    let seed_key = seed_key(c, &raw.two_step);
    let branding = branding(c, &raw.branding);
    let providers = providers(c, &raw.federation);
    let facebook = raw.federation.facebook.as_ref().map(|f| facebook(c, f));
    let active_directory = raw
        .federation
        .active_directory
        .as_ref()
        .map(|a| active_directory(c, a));
    let sms = raw.sms.as_ref().map(|s| sms(c, s));

    let threads = raw.server.threads.unwrap_or(cores);
    if threads == 0 || threads > 1024 {
        c.err("server.threads", "must be between 1 and 1024");
    }
    let server = Server {
        threads,
        grace_period_seconds: c.within(
            "server.grace_period_seconds",
            raw.server.grace_period_seconds,
            0,
            3_600,
            "seconds",
        ),
        graceful_shutdown_timeout_seconds: c.within(
            "server.graceful_shutdown_timeout_seconds",
            raw.server.graceful_shutdown_timeout_seconds,
            0,
            3_600,
            "seconds",
        ),
        upgrade_socket: unix_socket_path(c, "server.upgrade_socket", &raw.server.upgrade_socket),
        pid_file: c.optional_path("server.pid_file", raw.server.pid_file.as_deref()),
    };

    let format = match raw.logging.format.as_str() {
        "json" => LogFormat::Json,
        "text" => LogFormat::Text,
        other => {
            c.err(
                "logging.format",
                format!("'{other}' is not one of: json, text"),
            );
            LogFormat::Json
        }
    };
    if !["error", "warn", "info", "debug", "trace"].contains(&raw.logging.level.as_str()) {
        c.err(
            "logging.level",
            format!(
                "'{}' is not one of: error, warn, info, debug, trace",
                raw.logging.level
            ),
        );
    }
    let sample = raw.logging.access_log_sample;
    if !(sample > 0.0 && sample <= 1.0) {
        c.err(
            "logging.access_log_sample",
            "must be more than 0 and at most 1 (the share of requests logged)",
        );
    }
    let logging = Logging {
        format,
        level: raw.logging.level.clone(),
        access_log_every: (raw.logging.access_log && sample > 0.0 && sample <= 1.0)
            .then(|| (1.0 / sample).round().max(1.0) as u64),
    };

    let traces = raw.traces.as_ref().map(|t| {
        // The exporter's HTTP client is built without TLS: spans go to a
        // collector (an agent) on the host or the private network.
        match t.otlp_endpoint.parse::<http::Uri>() {
            Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => {}
            Ok(u) if u.scheme_str() == Some("https") => c.err(
                "traces.otlp_endpoint",
                "https is not supported: send to an OpenTelemetry Collector on this host or network over http (it can forward over TLS)",
            ),
            _ => c.err(
                "traces.otlp_endpoint",
                "must be an http:// URL, e.g. http://127.0.0.1:4318/v1/traces",
            ),
        }
        if !(0.0..=1.0).contains(&t.sample_ratio) {
            c.err("traces.sample_ratio", "must be between 0 and 1");
        }
        if t.service_name.trim().is_empty() {
            c.err("traces.service_name", "must not be empty");
        }
        Traces {
            otlp_endpoint: t.otlp_endpoint.clone(),
            service_name: t.service_name.clone(),
            sample_ratio: t.sample_ratio,
            export_interval: c.timeout_ms("traces.export_interval_ms", t.export_interval_ms),
            timeout: c.timeout_ms("traces.timeout_ms", t.timeout_ms),
        }
    });

    let audit = Audit {
        file: c.optional_path("audit.file", raw.audit.file.as_deref()),
        keep_days: c.within("audit.keep_days", raw.audit.keep_days, 1, 3650, "days"),
    };

    let passkeys = Passkeys {
        enabled: raw.passkeys.enabled,
        challenge_lifetime: Duration::from_secs(c.within(
            "passkeys.challenge_seconds",
            raw.passkeys.challenge_seconds,
            10,
            3600,
            "seconds",
        )),
        fresh_sign_in: Duration::from_secs(c.within(
            "passkeys.fresh_sign_in_seconds",
            raw.passkeys.fresh_sign_in_seconds,
            10,
            86_400,
            "seconds",
        )),
    };

    let development = Development {
        insecure_http_cookies: insecure,
        demo_upstream_listen: dev
            .demo_upstream_listen
            .as_deref()
            .and_then(|l| c.listen("development.demo_upstream_listen", l)),
        clock_offset_file: dev.clock_offset_file.as_deref().map(|p| c.path(p)),
        proxy_steps: dev.proxy_steps,
    };
    if dev.proxy_steps != crate::ProxySteps::Full && !insecure {
        c.err(
            "development.proxy_steps",
            "forwards without identity: only with development.insecure_http_cookies = true (benchmarks)",
        );
    }

    Config {
        service_name: raw.service_name.clone(),
        internet,
        closed,
        upstream,
        store,
        session,
        hashing,
        mail,
        assertion,
        metrics_listen,
        limits,
        lock,
        throttle,
        two_step,
        seed_key,
        providers,
        facebook,
        active_directory,
        sms,
        server,
        logging,
        traces,
        audit,
        passkeys,
        development,
        branding,
    }
}

/// An address or CIDR, as the trusted-proxy and edge lists take them.
fn cidr(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .ok()
}

/// The part of a public URL after the scheme: host and port.
fn authority(url: &str) -> &str {
    url.split_once("://").map(|(_, a)| a).unwrap_or(url)
}

fn closed(c: &mut Checker, cl: &RawClosed, internet: &Listener, insecure: bool) -> Closed {
    let listener = Listener {
        listen: c
            .listen("closed.listen", &cl.listen)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        public_url: c.public_url("closed.public_url", &cl.public_url, insecure),
        tls: cl.tls.as_ref().map(|t| Tls {
            cert_file: c.existing_file("closed.tls.cert_file", &t.cert_file),
            key_file: c.existing_file("closed.tls.key_file", &t.key_file),
        }),
    };
    if listener.listen == internet.listen && listener.listen.port() != 0 {
        c.err("closed.listen", "must differ from internet.listen");
    }
    if !listener.public_url.is_empty()
        && authority(&listener.public_url).eq_ignore_ascii_case(authority(&internet.public_url))
    {
        c.err(
            "closed.public_url",
            "must name another host (or port) than internet.public_url: the route follows the listener",
        );
    }
    let line_header = match http::HeaderName::try_from(cl.line_header.as_str()) {
        Ok(n)
            if !n.as_str().starts_with("x-auth-")
                && ![
                    "host",
                    "cookie",
                    "authorization",
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "x-forwarded-for",
                ]
                .contains(&n.as_str()) =>
        {
            n
        }
        _ => {
            c.err(
                "closed.line_header",
                format!(
                    "'{}' cannot carry the line: give a header name of its own, like X-Line-Id",
                    cl.line_header
                ),
            );
            http::HeaderName::from_static("x-line-id")
        }
    };
    let mut trusted_edges = Vec::new();
    for (i, e) in cl.trusted_edges.iter().enumerate() {
        match cidr(e) {
            Some(n) => trusted_edges.push(n),
            None => c.err(
                &format!("closed.trusted_edges[{i}]"),
                format!("'{e}' is not an address or CIDR like 10.0.0.0/8"),
            ),
        }
    }
    let mut static_lines = Vec::new();
    for (i, s) in cl.static_lines.iter().enumerate() {
        let net = cidr(&s.cidr);
        if net.is_none() {
            c.err(
                &format!("closed.static_lines[{i}].cidr"),
                format!("'{}' is not an address or CIDR like 192.0.2.0/24", s.cidr),
            );
        }
        let line = sekisho_policy::line::normalize_line(&s.line);
        if line.is_err() {
            c.err(
                &format!("closed.static_lines[{i}].line"),
                format!(
                    "'{}' is not a line number: CAF and 10 letters or digits (NTT East), or COP and 8 (NTT West)",
                    s.line
                ),
            );
        }
        if let (Some(n), Ok(l)) = (net, line) {
            static_lines.push((n, l));
        }
    }
    if trusted_edges.is_empty() && static_lines.is_empty() {
        c.err(
            "closed.trusted_edges",
            "give trusted_edges (with line_header) or static_lines: otherwise no request has a line",
        );
    }
    Closed {
        listener,
        line_header,
        trusted_edges,
        static_lines,
    }
}

/// The issuers of the presets (overridable per provider).
fn preset_issuer(method: sekisho_policy::model::LoginMethod) -> Option<&'static str> {
    use sekisho_policy::model::LoginMethod::*;
    match method {
        Google => Some("https://accounts.google.com"),
        // Personal Microsoft accounts; organisations give their tenant's
        // issuer instead.
        Microsoft => {
            Some("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
        }
        Daccount => Some("https://conf.uw.docomo.ne.jp/"),
        _ => None,
    }
}

fn providers(c: &mut Checker, f: &RawFederation) -> Vec<Provider> {
    use sekisho_policy::model::LoginMethod;
    let mut out: Vec<Provider> = Vec::new();
    for (i, p) in f.providers.iter().enumerate() {
        let key = |k: &str| format!("federation.providers[{i}].{k}");
        let method = match LoginMethod::parse(&p.id) {
            Some(m @ (LoginMethod::Google | LoginMethod::Microsoft | LoginMethod::Daccount)) => m,
            _ => {
                c.err(
                    &key("id"),
                    format!("'{}' is not one of: google, microsoft, daccount", p.id),
                );
                continue;
            }
        };
        if out.iter().any(|o| o.method == method) {
            c.err(&key("id"), format!("'{}' is configured twice", p.id));
        }
        let issuer = p
            .issuer
            .clone()
            .or_else(|| preset_issuer(method).map(str::to_string))
            .unwrap_or_default();
        let issuer_ok = (issuer.starts_with("https://") || issuer.starts_with("http://"))
            && http::Uri::try_from(issuer.as_str()).is_ok_and(|u| u.host().is_some());
        if !issuer_ok {
            c.err(
                &key("issuer"),
                format!("'{issuer}' is not an https issuer URL"),
            );
        }
        if p.client_id.trim().is_empty() {
            c.err(&key("client_id"), "must not be empty");
        }
        let path = c.path(&p.client_secret_file);
        let client_secret = match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            Ok(_) => {
                c.err(
                    &key("client_secret_file"),
                    format!("{} is empty", path.display()),
                );
                String::new()
            }
            Err(e) => {
                c.err(
                    &key("client_secret_file"),
                    format!("cannot read {}: {e}", path.display()),
                );
                String::new()
            }
        };
        if p.id_token_hs256 && method != LoginMethod::Daccount {
            c.err(
                &key("id_token_hs256"),
                "only for the daccount preset: other providers sign ID tokens asymmetrically, and a secret-keyed token from them is refused (S36)",
            );
        }
        out.push(Provider {
            method,
            issuer,
            client_id: p.client_id.clone(),
            client_secret,
            id_token_hs256: p.id_token_hs256 && method == LoginMethod::Daccount,
        });
    }
    out
}

/// A password from a file or an environment variable (never inline in the
/// config), for the table at `table`.
fn password_from(
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

fn secret_file(c: &mut Checker, key: &str, file: &str) -> String {
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

fn facebook(c: &mut Checker, f: &RawFacebook) -> Facebook {
    for (key, url) in [
        ("federation.facebook.authorize_url", &f.authorize_url),
        ("federation.facebook.token_url", &f.token_url),
        ("federation.facebook.user_url", &f.user_url),
    ] {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && http::Uri::try_from(url.as_str()).is_ok_and(|u| u.host().is_some());
        if !ok {
            c.err(key, format!("'{url}' is not an http(s) URL"));
        }
    }
    if f.client_id.trim().is_empty() {
        c.err("federation.facebook.client_id", "must not be empty");
    }
    Facebook {
        client_id: f.client_id.clone(),
        client_secret: secret_file(
            c,
            "federation.facebook.client_secret_file",
            &f.client_secret_file,
        ),
        authorize_url: f.authorize_url.clone(),
        token_url: f.token_url.clone(),
        user_url: f.user_url.clone(),
    }
}

fn redis_backend(c: &mut Checker, r: &RawRedis) -> StoreBackend {
    let redis_url = |u: &str| {
        (u.starts_with("redis://") || u.starts_with("rediss://"))
            && u.split("://").nth(1).is_some_and(|rest| !rest.is_empty())
    };
    let url = r.url.as_deref().unwrap_or("").trim().to_string();
    match (url.is_empty(), r.sentinels.is_empty()) {
        (true, true) => c.err(
            "store.redis.url",
            "give the server's url, or sentinels and master_name",
        ),
        (false, _) if !redis_url(&url) => c.err(
            "store.redis.url",
            format!("'{url}' is not a redis:// or rediss:// (TLS) URL"),
        ),
        _ => {}
    }
    if url.contains('@') {
        c.err(
            "store.redis.url",
            "keep credentials out of the URL: use username and password_file or password_env",
        );
    }
    for (i, s) in r.sentinels.iter().enumerate() {
        if !redis_url(s.trim()) || s.contains('@') {
            c.err(
                &format!("store.redis.sentinels[{i}]"),
                format!("'{s}' is not a redis:// or rediss:// address without credentials"),
            );
        }
    }
    let master_name = r.master_name.clone().unwrap_or_default();
    if !r.sentinels.is_empty() && master_name.trim().is_empty() {
        c.err(
            "store.redis.master_name",
            "sentinels need the name they monitor the primary under",
        );
    }
    let password = password_from(c, "store.redis", &r.password_file, &r.password_env);
    if r.key_prefix.is_empty()
        || r.key_prefix
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
    {
        c.err(
            "store.redis.key_prefix",
            "must be a non-empty word without spaces, e.g. \"sekisho:\"",
        );
    }
    if r.pool_size == 0 || r.pool_size > 1024 {
        c.err("store.redis.pool_size", "must be between 1 and 1024");
    }
    let ca_pem = ca_pem_from(c, "store.redis.ca_file", &r.ca_file);
    StoreBackend::Redis {
        url,
        sentinels: r.sentinels.iter().map(|s| s.trim().to_string()).collect(),
        master_name,
        username: r.username.clone(),
        password,
        key_prefix: r.key_prefix.clone(),
        pool_size: r.pool_size,
        ca_pem,
    }
}

/// The PEM certificates of `file` (`key`), checked to hold one.
fn ca_pem_from(c: &mut Checker, key: &str, file: &Option<String>) -> Option<Vec<u8>> {
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

fn postgres_backend(c: &mut Checker, p: &RawPostgres) -> StoreBackend {
    let url = p.url.as_deref().unwrap_or("").trim().to_string();
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"));
    match rest {
        _ if url.is_empty() => c.err(
            "store.postgres.url",
            "give the server's url, e.g. postgres://db.internal:5432/sekisho",
        ),
        None | Some("") => c.err(
            "store.postgres.url",
            format!("'{url}' is not a postgres:// URL"),
        ),
        Some(rest) if rest.contains('@') => c.err(
            "store.postgres.url",
            "keep credentials out of the URL: use username and password_file or password_env",
        ),
        Some(rest) if rest.contains('?') => c.err(
            "store.postgres.url",
            "give TLS and the rest as [store.postgres] keys, not URL options",
        ),
        Some(rest) if !rest.contains('/') || rest.ends_with('/') => c.err(
            "store.postgres.url",
            format!("'{url}' names no database: postgres://host:port/database"),
        ),
        Some(_) => {}
    }
    let password = password_from(c, "store.postgres", &p.password_file, &p.password_env);
    if p.pool_size == 0 || p.pool_size > 1024 {
        c.err("store.postgres.pool_size", "must be between 1 and 1024");
    }
    let tls = match p.tls.as_str() {
        "verify-full" => true,
        "off" => false,
        other => {
            c.err(
                "store.postgres.tls",
                format!("'{other}' is not one of: verify-full, off"),
            );
            true
        }
    };
    let ca_pem = ca_pem_from(c, "store.postgres.ca_file", &p.ca_file);
    if ca_pem.is_some() && !tls {
        c.err(
            "store.postgres.ca_file",
            "a CA is for TLS: set tls = \"verify-full\" or remove ca_file",
        );
    }
    let migrate_at_start = match p.migrations.as_str() {
        "at-start" => true,
        "by-command" => false,
        other => {
            c.err(
                "store.postgres.migrations",
                format!("'{other}' is not one of: at-start, by-command"),
            );
            true
        }
    };
    StoreBackend::Postgres(Postgres {
        url,
        username: p.username.clone(),
        password,
        pool_size: p.pool_size,
        tls,
        ca_pem,
        migrate_at_start,
    })
}

fn active_directory(c: &mut Checker, a: &RawActiveDirectory) -> ActiveDirectory {
    let key = "federation.active_directory.secret_key_file";
    let text = secret_file(c, key, &a.secret_key_file);
    let mut secret_key = [0u8; 32];
    match hex::decode(&text) {
        Ok(bytes) if bytes.len() == 32 => secret_key.copy_from_slice(&bytes),
        _ if text.is_empty() => {}
        _ => c.err(
            key,
            "must hold 32 random bytes as 64 hex digits (e.g. `openssl rand -hex 32`)",
        ),
    }
    ActiveDirectory {
        secret_key,
        allow_http_issuers: a.allow_http_issuers,
    }
}

/// The largest logo or favicon accepted.
const ASSET_BYTES: u64 = 256 * 1024;

fn asset(c: &mut Checker, key: &str, file: &str, kinds: &[&'static str]) -> Option<Asset> {
    let path = c.path(file);
    let bytes = match std::fs::metadata(&path) {
        Ok(m) if m.len() > ASSET_BYTES => {
            c.err(key, format!("{} is larger than 256 KiB", path.display()));
            return None;
        }
        Ok(_) => match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                c.err(key, format!("cannot read {}: {e}", path.display()));
                return None;
            }
        },
        Err(e) => {
            c.err(key, format!("cannot read {}: {e}", path.display()));
            return None;
        }
    };
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head);
    let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if bytes.starts_with(&[0, 0, 1, 0]) {
        "image/x-icon"
    } else if text.contains("<svg") {
        "image/svg+xml"
    } else {
        ""
    };
    if kinds.contains(&kind) {
        Some(Asset {
            bytes,
            content_type: kind,
        })
    } else {
        c.err(
            key,
            format!("{} is not one of: {}", path.display(), kinds.join(", ")),
        );
        None
    }
}

/// WCAG's relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

fn branding(c: &mut Checker, b: &RawBranding) -> Branding {
    let logo = b.logo_file.as_deref().and_then(|f| {
        asset(
            c,
            "branding.logo_file",
            f,
            &["image/png", "image/svg+xml", "image/webp"],
        )
    });
    let favicon = b.favicon_file.as_deref().and_then(|f| {
        asset(
            c,
            "branding.favicon_file",
            f,
            &["image/x-icon", "image/png", "image/svg+xml"],
        )
    });
    let primary_colour = b.primary_colour.as_deref().and_then(|v| {
        let hex = v.strip_prefix('#').filter(|h| h.len() == 6);
        let rgb = hex.and_then(|h| {
            let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?])
        });
        let Some(rgb) = rgb else {
            c.err("branding.primary_colour", format!("'{v}' is not a colour like #0b57d0"));
            return None;
        };
        // White text on it, and it as text on white: 4.5:1 (WCAG AA).
        let contrast = 1.05 / (luminance(rgb) + 0.05);
        if contrast < 4.5 {
            c.err(
                "branding.primary_colour",
                format!("{v} is too light for white text on buttons (contrast {contrast:.1}:1, needs 4.5:1)"),
            );
            return None;
        }
        Some(v.to_ascii_lowercase())
    });
    let mut links = Vec::new();
    for (i, l) in b.links.iter().enumerate() {
        let key = |field: &str| format!("branding.links[{i}].{field}");
        let kind = match l.kind.as_str() {
            "terms" => "terms",
            "privacy" => "privacy",
            "contact" => "contact",
            "other" => "other",
            other => {
                c.err(
                    &key("kind"),
                    format!("'{other}' is not terms, privacy, contact or other"),
                );
                continue;
            }
        };
        let mut ok = true;
        for (field, label) in [("label_ja", &l.label_ja), ("label_en", &l.label_en)] {
            if label.trim().is_empty() || label.chars().count() > 40 {
                c.err(&key(field), "must be 1 to 40 characters");
                ok = false;
            }
        }
        let url_ok = (l.url.starts_with("https://")
            || l.url.starts_with("http://")
            || l.url.starts_with("mailto:"))
            && !l
                .url
                .chars()
                .any(|ch| ch.is_whitespace() || ch == '"' || ch == '<');
        if !url_ok {
            c.err(
                &key("url"),
                format!("'{}' is not an http(s) or mailto: URL", l.url),
            );
            ok = false;
        }
        if ok {
            links.push(BrandLink {
                kind,
                label_ja: l.label_ja.trim().to_string(),
                label_en: l.label_en.trim().to_string(),
                url: l.url.clone(),
            });
        }
    }
    let text = |c: &mut Checker, key: &str, v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .and_then(|t| {
                if t.chars().count() > 120 {
                    c.err(key, "must be at most 120 characters");
                    None
                } else {
                    Some(t.to_string())
                }
            })
    };
    Branding {
        logo,
        favicon,
        primary_colour,
        copyright_ja: text(c, "branding.copyright_ja", &b.copyright_ja),
        copyright_en: text(c, "branding.copyright_en", &b.copyright_en),
        links,
    }
}

fn seed_key(c: &mut Checker, t: &RawTwoStep) -> SeedKey {
    let key = "two_step.seed_key_file";
    let Some(file) = &t.seed_key_file else {
        c.err(
            key,
            "required: a file of 32 random bytes as 64 hex digits (`openssl rand -hex 32`) that seals \
             the authenticator-app seeds in the store; every gateway sharing a store needs the same \
             one (or set two_step.generate_seed_key = true to make it)",
        );
        return SeedKey {
            file: PathBuf::new(),
            key: None,
            generate_if_missing: false,
        };
    };
    let path = c.path(file);
    let mut seed = SeedKey {
        file: path.clone(),
        key: None,
        generate_if_missing: t.generate_seed_key,
    };
    if !path.exists() && t.generate_seed_key {
        return seed;
    }
    let text = secret_file(c, key, file);
    match hex::decode(&text) {
        Ok(bytes) if bytes.len() == 32 => {
            let mut k = [0u8; 32];
            k.copy_from_slice(&bytes);
            seed.key = Some(k);
        }
        _ if text.is_empty() => {}
        _ => c.err(
            key,
            "must hold 32 random bytes as 64 hex digits (e.g. `openssl rand -hex 32`)",
        ),
    }
    seed
}

fn two_step(c: &mut Checker, t: &RawTwoStep) -> TwoStep {
    let trust_days = c.within("two_step.trust_days", t.trust_days, 1, 365, "days");
    if t.code_cap == 0 || t.code_cap > 1000 {
        c.err("two_step.code_cap", "must be between 1 and 1000");
    }
    if t.sms_code_seconds == 0 || t.sms_code_seconds > 600 {
        c.err(
            "two_step.sms_code_seconds",
            "must be between 1 and 600 (SMS codes live 10 minutes at most)",
        );
    }
    let pending = c.within(
        "two_step.pending_seconds",
        t.pending_seconds,
        1,
        86_400,
        "seconds (a day)",
    );
    if t.sms_per_hour == 0 {
        c.err("two_step.sms_per_hour", "must be greater than 0");
    }
    TwoStep {
        trust: Duration::from_secs(trust_days * 86_400),
        code_cap: t.code_cap,
        sms_code_lifetime: Duration::from_secs(t.sms_code_seconds),
        pending_lifetime: Duration::from_secs(pending),
        sms_resend_interval: Duration::from_secs(c.within(
            "two_step.sms_resend_seconds",
            t.sms_resend_seconds,
            0,
            3_600,
            "seconds",
        )),
        sms_per_hour: t.sms_per_hour,
    }
}

fn sms(c: &mut Checker, s: &RawSms) -> Sms {
    match (s.transport.as_str(), &s.http) {
        ("outbox", None) => Sms::Outbox,
        ("outbox", Some(_)) => {
            c.err("sms.http", "given, but sms.transport is 'outbox'");
            Sms::Outbox
        }
        ("http", None) => {
            c.err(
                "sms.http",
                "missing: sms.transport = 'http' needs an [sms.http] table",
            );
            Sms::Outbox
        }
        ("http", Some(h)) => Sms::Http(sms_http(c, h)),
        (other, _) => {
            c.err(
                "sms.transport",
                format!("'{other}' is not one of: http, outbox"),
            );
            Sms::Outbox
        }
    }
}

fn sms_http(c: &mut Checker, h: &RawSmsHttp) -> SmsHttp {
    let url_ok = (h.url.starts_with("https://") || h.url.starts_with("http://"))
        && http::Uri::try_from(h.url.as_str()).is_ok_and(|u| u.host().is_some());
    if !url_ok {
        c.err("sms.http.url", format!("'{}' is not an http(s) URL", h.url));
    }
    let auth_header = match http::HeaderName::try_from(h.auth_header.as_str()) {
        Ok(n) => n,
        Err(_) => {
            c.err(
                "sms.http.auth_header",
                format!("'{}' is not a header name", h.auth_header),
            );
            http::header::AUTHORIZATION
        }
    };
    let path = c.path(&h.auth_secret_file);
    let auth_value = match std::fs::read_to_string(&path) {
        Ok(v) if http::HeaderValue::try_from(v.trim()).is_ok() && !v.trim().is_empty() => {
            v.trim().to_string()
        }
        Ok(_) => {
            c.err(
                "sms.http.auth_secret_file",
                format!("{} is empty or not a valid header value", path.display()),
            );
            String::new()
        }
        Err(e) => {
            c.err(
                "sms.http.auth_secret_file",
                format!("cannot read {}: {e}", path.display()),
            );
            String::new()
        }
    };
    let sample = h
        .body
        .replace("{{to}}", "+819012345678")
        .replace("{{text}}", "sample \\\"text\\\"");
    if !h.body.contains("{{to}}") || !h.body.contains("{{text}}") {
        c.err("sms.http.body", "must contain both {{to}} and {{text}}");
    } else if serde_json::from_str::<serde_json::Value>(&sample).is_err() {
        c.err(
            "sms.http.body",
            "is not JSON once {{to}} and {{text}} are filled in (put them inside quotes)",
        );
    }
    SmsHttp {
        url: h.url.clone(),
        auth_header,
        auth_value,
        body: h.body.clone(),
        timeout: c.timeout_ms("sms.http.timeout_ms", h.timeout_ms),
    }
}

fn smtp(c: &mut Checker, s: &RawSmtp) -> Smtp {
    let security = match s.security.as_str() {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "none" => SmtpSecurity::None,
        other => {
            c.err(
                "mail.smtp.security",
                format!("'{other}' is not one of: starttls, tls, none"),
            );
            SmtpSecurity::StartTls
        }
    };
    if s.host.trim().is_empty() {
        c.err("mail.smtp.host", "must not be empty");
    }
    let port = s.port.unwrap_or(match security {
        SmtpSecurity::Tls => 465,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::None => 25,
    });
    let password = password_from(c, "mail.smtp", &s.password_file, &s.password_env);
    if password.is_some() && s.username.is_none() {
        c.err("mail.smtp.username", "a password is given but no username");
    }
    Smtp {
        host: s.host.clone(),
        port,
        security,
        username: s.username.clone(),
        password,
        timeout: c.timeout_ms("mail.smtp.timeout_ms", s.timeout_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[internet]
listen = "127.0.0.1:8080"
public_url = "https://ff.example.net"
[upstream]
address = "127.0.0.1:9000"
[mail]
from = "noreply@example.net"
transport = "outbox"
[assertion]
signing_key_file = "key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "seed.key"
generate_seed_key = true
"#;

    fn load(text: &str) -> Result<Config, ConfigErrors> {
        from_toml_str(text, Path::new("/tmp"))
    }

    /// The numeric keys under a property test (S49): every one, set to any
    /// value TOML can hold, gets a keyed error or a config, never a panic.
    mod numbers {
        use super::{from_toml_str, MINIMAL};
        use proptest::prelude::*;
        use std::path::Path;

        /// Every numeric key, as a path of tables and the key.
        const NUMERIC_KEYS: &[&str] = &[
            "upstream.connect_timeout_ms",
            "upstream.read_timeout_ms",
            "upstream.write_timeout_ms",
            "upstream.idle_timeout_ms",
            "store.timeout_ms",
            "store.cache_ttl_ms",
            "store.redis.pool_size",
            "session.idle_minutes",
            "session.absolute_hours",
            "password_hashing.memory_kib",
            "password_hashing.iterations",
            "password_hashing.parallelism",
            "password_hashing.queue_capacity",
            "password_hashing.max_wait_ms",
            "assertion.lifetime_seconds",
            "limits.form_body_bytes",
            "limits.client_read_buffer_bytes",
            "limits.form_body_timeout_ms",
            "limits.client_read_timeout_ms",
            "limits.header_timeout_ms",
            "limits.keepalive_timeout_ms",
            "limits.header_bytes",
            "limits.connections_per_address",
            "limits.connections_total",
            "lock.threshold",
            "lock.mail_interval_seconds",
            "throttle.per_ip_per_minute",
            "throttle.per_address_account_per_minute",
            "throttle.per_account_per_minute",
            "lock.forget_after_hours",
            "two_step.trust_days",
            "two_step.code_cap",
            "two_step.sms_code_seconds",
            "two_step.pending_seconds",
            "two_step.sms_resend_seconds",
            "two_step.sms_per_hour",
            "server.grace_period_seconds",
            "server.graceful_shutdown_timeout_seconds",
        ];

        /// The minimal configuration with `key` set to `value`.
        fn with(key: &str, value: i64) -> String {
            let mut doc: toml::Table = MINIMAL.parse().unwrap();
            let mut parts: Vec<&str> = key.split('.').collect();
            let leaf = parts.pop().unwrap();
            let mut table = &mut doc;
            for part in parts {
                table = table
                    .entry(part)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .unwrap();
            }
            table.insert(leaf.into(), toml::Value::Integer(value));
            toml::to_string(&doc).unwrap()
        }

        fn check(key: &str, value: i64) -> Result<(), TestCaseError> {
            let text = with(key, value);
            let outcome =
                std::panic::catch_unwind(|| from_toml_str(&text, Path::new("/tmp")).map(|_| ()));
            prop_assert!(outcome.is_ok(), "{key} = {value} panicked");
            if let Ok(Err(errors)) = outcome {
                // A refusal names a key, and a refused number names its own.
                prop_assert!(!errors.0.is_empty());
                prop_assert!(errors.0.iter().all(|e| !e.key.is_empty()));
            }
            Ok(())
        }

        /// Values at the edges every key meets: zero, one, the 32-bit limits,
        /// the largest TOML integer, and negatives.
        const EDGES: &[i64] = &[
            0,
            1,
            -1,
            i32::MAX as i64,
            i32::MAX as i64 + 1,
            u32::MAX as i64,
            u32::MAX as i64 + 1,
            1 << 53,
            i64::MAX / 1000,
            i64::MAX,
            i64::MIN,
        ];

        #[test]
        fn s49_every_numeric_key_at_its_edges() {
            for key in NUMERIC_KEYS {
                for value in EDGES {
                    check(key, *value).unwrap();
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
            #[test]
            fn s49_every_numeric_key_any_value(index in 0..NUMERIC_KEYS.len(), value in any::<i64>()) {
                check(NUMERIC_KEYS[index], value)?;
            }
        }
    }

    #[test]
    fn s49_colliding_listeners_are_refused_by_key() {
        let text = MINIMAL.to_string() + "[metrics]\nlisten = \"127.0.0.1:8080\"\n";
        assert_eq!(keys(&text), ["metrics.listen"]);
        let text = MINIMAL.to_string() + "[metrics]\nlisten = \"0.0.0.0:8080\"\n";
        assert_eq!(keys(&text), ["metrics.listen"]);
        let text = MINIMAL.to_string() + "[metrics]\nlisten = \"127.0.0.1:9464\"\n";
        assert!(load(&text).is_ok());
        let text = MINIMAL.to_string()
            + "[metrics]\nlisten = \"127.0.0.1:9464\"\n[development]\ndemo_upstream_listen = \"127.0.0.1:9464\"\n";
        assert_eq!(keys(&text), ["development.demo_upstream_listen"]);
    }

    fn keys(text: &str) -> Vec<String> {
        load(text)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect()
    }

    #[test]
    fn minimal_has_documented_defaults() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.session.idle, Duration::from_secs(1800));
        assert_eq!(c.session.absolute, Duration::from_secs(12 * 3600));
        assert_eq!(c.hashing.memory_kib, 19456);
        assert_eq!(c.hashing.iterations, 2);
        assert_eq!(c.limits.form_body_bytes, 16384);
        assert_eq!(c.assertion.signing_key_file, PathBuf::from("/tmp/key.pem"));
        assert_eq!(c.internet.public_url, "https://ff.example.net");
    }

    #[test]
    fn closed_listener_is_checked_key_by_key() {
        let good = MINIMAL.to_string()
            + "[closed]\nlisten = \"127.0.0.1:8443\"\npublic_url = \"https://ff.example.biz\"\ntrusted_edges = [\"127.0.0.2\"]\n[[closed.static_lines]]\ncidr = \"192.0.2.0/24\"\nline = \"caf1234567890\"\n";
        let c = load(&good).unwrap().closed.unwrap();
        assert_eq!(c.line_header.as_str(), "x-line-id");
        assert_eq!(c.static_lines[0].1, "CAF1234567890");
        assert!(load(MINIMAL).unwrap().closed.is_none());
        let bad = MINIMAL.to_string()
            + "[closed]\nlisten = \"127.0.0.1:8080\"\npublic_url = \"https://ff.example.net\"\nline_header = \"X-Auth-Line\"\ntrusted_edges = [\"edge\"]\n[[closed.static_lines]]\ncidr = \"192.0.2.0/33\"\nline = \"CAF12\"\n";
        assert_eq!(
            keys(&bad),
            vec![
                "closed.listen",
                "closed.public_url",
                "closed.line_header",
                "closed.trusted_edges[0]",
                "closed.static_lines[0].cidr",
                "closed.static_lines[0].line",
                "closed.trusted_edges"
            ]
        );
    }

    #[test]
    fn postgres_store_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pg-password");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let good = format!(
            "{MINIMAL}[store]\nbackend = \"postgres\"\n[store.postgres]\nurl = \"postgres://db.internal:5432/sekisho\"\nusername = \"gateway\"\npassword_file = \"{}\"\nmigrations = \"by-command\"\n",
            pw.display()
        );
        let cfg = load(&good).unwrap();
        match &cfg.store.backend {
            StoreBackend::Postgres(p) => {
                assert_eq!(p.url, "postgres://db.internal:5432/sekisho");
                assert_eq!(p.username.as_deref(), Some("gateway"));
                assert_eq!(p.password.as_deref(), Some("s3cret"));
                assert!(p.tls, "TLS is verified unless turned off");
                assert!(!p.migrate_at_start);
                assert_eq!(p.pool_size, 16);
                let shown = format!("{:?}", cfg.store.backend);
                assert!(
                    !shown.contains("s3cret") && shown.contains("<redacted>"),
                    "{shown}"
                );
            }
            other => panic!("{other:?}"),
        }
        let missing = MINIMAL.to_string() + "[store]\nbackend = \"postgres\"\n";
        assert_eq!(keys(&missing), vec!["store.postgres"]);
        let bad = MINIMAL.to_string()
            + "[store]\nbackend = \"postgres\"\n[store.postgres]\nurl = \"postgres://u:p@db/x\"\npool_size = 0\ntls = \"prefer\"\nmigrations = \"never\"\nca_file = \"/nonexistent/ca.pem\"\n";
        assert_eq!(
            keys(&bad),
            vec![
                "store.postgres.url",
                "store.postgres.pool_size",
                "store.postgres.tls",
                "store.postgres.ca_file",
                "store.postgres.migrations"
            ]
        );
        for (url, why) in [
            ("mysql://db/x", "is not a postgres:// URL"),
            ("postgres://db:5432", "names no database"),
            ("postgres://db/x?sslmode=disable", "not URL options"),
        ] {
            let text = format!(
                "{MINIMAL}[store]\nbackend = \"postgres\"\n[store.postgres]\nurl = \"{url}\"\n"
            );
            let errors = load(&text).unwrap_err();
            assert!(errors.to_string().contains(why), "{url}: {errors}");
        }
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let off_with_ca = format!(
            "{MINIMAL}[store]\nbackend = \"postgres\"\n[store.postgres]\nurl = \"postgres://db/x\"\ntls = \"off\"\nca_file = \"{}\"\n",
            ca.display()
        );
        let errors = load(&off_with_ca).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert!(errors.to_string().contains("a CA is for TLS"), "{errors}");
        let unknown = MINIMAL.to_string() + "[store]\nbackend = \"mongodb\"\n";
        let errors = load(&unknown).unwrap_err();
        assert!(
            errors.to_string().contains("embedded, redis, postgres"),
            "{errors}"
        );
    }

    #[test]
    fn redis_store_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("redis-password");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let good = MINIMAL.to_string()
            + &format!(
                "[store]\nbackend = \"redis\"\n[store.redis]\nurl = \"rediss://redis.internal:6380/2\"\nusername = \"sekisho\"\npassword_file = \"{}\"\n",
                pw.display()
            );
        let c = load(&good).unwrap();
        match &c.store.backend {
            StoreBackend::Redis {
                url,
                username,
                password,
                key_prefix,
                pool_size,
                ..
            } => {
                assert_eq!(url, "rediss://redis.internal:6380/2");
                assert_eq!(username.as_deref(), Some("sekisho"));
                assert_eq!(password.as_deref(), Some("s3cret"));
                assert_eq!((key_prefix.as_str(), *pool_size), ("sekisho:", 16));
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{:?}", c.store).contains("s3cret"), "redacted");
        let missing = MINIMAL.to_string() + "[store]\nbackend = \"redis\"\n";
        assert_eq!(keys(&missing), vec!["store.redis"]);
        let no_server = MINIMAL.to_string() + "[store]\nbackend = \"redis\"\n[store.redis]\n";
        assert_eq!(keys(&no_server), vec!["store.redis.url"]);
        let sentinels = MINIMAL.to_string()
            + "[store]\nbackend = \"redis\"\n[store.redis]\nsentinels = [\"redis://10.0.0.1:26379\", \"tcp://x\"]\n";
        assert_eq!(
            keys(&sentinels),
            vec!["store.redis.sentinels[1]", "store.redis.master_name"]
        );
        let bad = MINIMAL.to_string()
            + "[store]\nbackend = \"redis\"\n[store.redis]\nurl = \"http://u:p@x\"\nkey_prefix = \"a b\"\npool_size = 0\npassword_env = \"SEKISHO_TEST_UNSET_VAR\"\nca_file = \"/nonexistent/ca.pem\"\n";
        assert_eq!(
            keys(&bad),
            vec![
                "store.redis.url",
                "store.redis.url",
                "store.redis.password_env",
                "store.redis.key_prefix",
                "store.redis.pool_size",
                "store.redis.ca_file"
            ]
        );
        let not_pem = MINIMAL.to_string()
            + &format!(
                "[store]\nbackend = \"redis\"\n[store.redis]\nurl = \"rediss://r:6380\"\nca_file = \"{}\"\n",
                pw.display()
            );
        assert_eq!(keys(&not_pem), vec!["store.redis.ca_file"]);
    }

    #[test]
    fn active_directory_key_must_be_32_hex_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("ad.key");
        std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
        let good = format!(
            "{MINIMAL}[federation.active_directory]\nsecret_key_file = \"{}\"\n",
            key.display()
        );
        let a = load(&good).unwrap().active_directory.unwrap();
        assert_eq!(a.secret_key, [0xab; 32]);
        assert!(!a.allow_http_issuers);
        assert!(!format!("{a:?}").contains("171"));
        assert!(load(MINIMAL).unwrap().active_directory.is_none());
        std::fs::write(&key, "not hex").unwrap();
        assert_eq!(
            keys(&good),
            vec!["federation.active_directory.secret_key_file"]
        );
        let missing = format!(
            "{MINIMAL}[federation.active_directory]\nsecret_key_file = \"/nonexistent\"\nallow_http = true\n"
        );
        assert_eq!(
            keys(&missing),
            vec!["federation.active_directory.allow_http"]
        );
    }

    #[test]
    fn facebook_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("fb");
        std::fs::write(&secret, "fb-secret").unwrap();
        let good = format!(
            "{MINIMAL}[federation.facebook]\nclient_id = \"app\"\nclient_secret_file = \"{}\"\n",
            secret.display()
        );
        let f = load(&good).unwrap().facebook.unwrap();
        assert!(f.token_url.starts_with("https://graph.facebook.com/"));
        assert!(!format!("{f:?}").contains("fb-secret"));
        let bad = format!(
            "{MINIMAL}[federation.facebook]\nclient_id = \"\"\nclient_secret_file = \"/nonexistent\"\ntoken_url = \"graph\"\n"
        );
        assert_eq!(
            keys(&bad),
            vec![
                "federation.facebook.token_url",
                "federation.facebook.client_id",
                "federation.facebook.client_secret_file"
            ]
        );
    }

    #[test]
    fn providers_are_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("s");
        std::fs::write(&secret, "top-secret\n").unwrap();
        let good = format!(
            "{MINIMAL}[[federation.providers]]\nid = \"google\"\nclient_id = \"cid\"\nclient_secret_file = \"{}\"\n",
            secret.display()
        );
        let c = load(&good).unwrap();
        assert_eq!(c.providers[0].issuer, "https://accounts.google.com");
        assert_eq!(c.providers[0].client_secret, "top-secret");
        assert!(!format!("{:?}", c.providers[0]).contains("top-secret"));
        let bad = format!(
            "{MINIMAL}[[federation.providers]]\nid = \"myspace\"\nclient_id = \"x\"\nclient_secret_file = \"/nonexistent\"\n[[federation.providers]]\nid = \"google\"\nissuer = \"ftp://x\"\nclient_id = \"\"\nclient_secret_file = \"/nonexistent\"\n"
        );
        assert_eq!(
            keys(&bad),
            vec![
                "federation.providers[0].id",
                "federation.providers[1].issuer",
                "federation.providers[1].client_id",
                "federation.providers[1].client_secret_file"
            ]
        );
    }

    #[test]
    fn two_step_defaults_follow_the_manual() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.two_step.trust, Duration::from_secs(30 * 86_400));
        assert_eq!(c.two_step.code_cap, 30);
        assert_eq!(c.two_step.sms_code_lifetime, Duration::from_secs(600));
        assert!(c.sms.is_none(), "no SMS unless configured");
        let text = MINIMAL.replace(
            "[two_step]\n",
            "[two_step]\ntrust_days = 0\ncode_cap = 0\nsms_code_seconds = 601\n",
        );
        assert_eq!(
            keys(&text),
            vec![
                "two_step.trust_days",
                "two_step.code_cap",
                "two_step.sms_code_seconds"
            ]
        );
    }

    #[test]
    fn sms_provider_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("cred");
        std::fs::write(&secret, "Bearer abc\n").unwrap();
        let good = format!(
            "{MINIMAL}[sms]\ntransport = \"http\"\n[sms.http]\nurl = \"https://sms.example.net/send\"\nauth_secret_file = \"{}\"\n",
            secret.display()
        );
        let c = load(&good).unwrap();
        match c.sms {
            Some(Sms::Http(h)) => {
                assert_eq!(h.auth_value, "Bearer abc");
                assert!(
                    !format!("{h:?}").contains("abc"),
                    "the credential is redacted"
                );
            }
            other => panic!("{other:?}"),
        }
        let bad = format!(
            "{MINIMAL}[sms]\ntransport = \"http\"\n[sms.http]\nurl = \"ftp:/x\"\nauth_header = \"Bad Header\"\nauth_secret_file = \"/nonexistent/cred\"\nbody = '{{\"to\":{{{{to}}}}}}'\n"
        );
        assert_eq!(
            keys(&bad),
            vec![
                "sms.http.url",
                "sms.http.auth_header",
                "sms.http.auth_secret_file",
                "sms.http.body"
            ]
        );
        let unquoted = good.replace(
            "auth_secret_file",
            "body = '{\"to\":{{to}},\"text\":\"{{text}}\"}'\nauth_secret_file",
        );
        assert_eq!(keys(&unquoted), vec!["sms.http.body"]);
        let text = MINIMAL.to_string() + "[sms]\ntransport = \"pigeon\"\n";
        assert_eq!(keys(&text), vec!["sms.transport"]);
        let text = MINIMAL.to_string() + "[sms]\ntransport = \"http\"\n";
        assert_eq!(keys(&text), vec!["sms.http"]);
    }

    #[test]
    fn unknown_key_is_named() {
        let text = MINIMAL.replace("[upstream]", "[upstream]\nadress = \"x\"");
        let err = load(&text).unwrap_err();
        assert_eq!(err.0[0].key, "upstream.adress");
        assert_eq!(err.0[0].message, "unknown key; did you mean `address`?");
    }

    #[test]
    fn the_trace_endpoint_is_plain_http_to_a_collector() {
        let with =
            |url: &str| MINIMAL.to_string() + &format!("[traces]\notlp_endpoint = \"{url}\"\n");
        assert!(load(&with("http://127.0.0.1:4318/v1/traces")).is_ok());
        for bad in ["https://collector:4318/v1/traces", "collector:4318", ""] {
            let err = load(&with(bad)).unwrap_err();
            assert_eq!(err.0[0].key, "traces.otlp_endpoint", "{bad}");
        }
    }

    #[test]
    fn every_unknown_key_is_named_at_once() {
        let text = MINIMAL.replace("[upstream]", "[upstream]\nadress = \"x\"")
            + "[server]\ngrace_perod_seconds = 3\nthreads = \"two\"\n[limits]\nzzz = 1\n";
        let err = load(&text).unwrap_err();
        let mut keys: Vec<&str> = err.0.iter().map(|e| e.key.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "limits.zzz",
                "server.grace_perod_seconds",
                "server.threads",
                "upstream.adress"
            ],
            "{err:?}"
        );
        let grace = err
            .0
            .iter()
            .find(|e| e.key == "server.grace_perod_seconds")
            .unwrap();
        assert_eq!(
            grace.message,
            "unknown key; did you mean `grace_period_seconds`?"
        );
        let far = err.0.iter().find(|e| e.key == "limits.zzz").unwrap();
        assert!(
            far.message.starts_with("unknown key; this table knows `"),
            "{}",
            far.message
        );
    }

    #[test]
    fn a_required_key_of_the_wrong_type_is_named_once() {
        let text = MINIMAL.replace("[upstream]", "[upstream]\nadress = \"x\"");
        let text = text.replacen("address = ", "address = 5 #", 1);
        let err = load(&text).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|e| e.key.as_str()).collect();
        assert!(keys.contains(&"upstream.adress"), "{err:?}");
        assert_eq!(
            keys.iter()
                .filter(|k| k.starts_with("upstream.address"))
                .count(),
            1,
            "{err:?}"
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let text = MINIMAL.replace("[session]", "") + "[session]\nidle_minutes = \"thirty\"\n";
        let err = load(&text).unwrap_err();
        assert_eq!(err.0[0].key, "session.idle_minutes");
    }

    #[test]
    fn bad_values_are_all_named() {
        let text = MINIMAL
            .replace("127.0.0.1:8080", "localhost")
            .replace("https://ff.example.net", "http://ff.example.net/login")
            .replace("transport = \"outbox\"", "transport = \"pigeon\"")
            + "[session]\nidle_minutes = 0\n[logging]\nformat = \"xml\"\n";
        let k = keys(&text);
        for key in [
            "internet.listen",
            "internet.public_url",
            "mail.transport",
            "session.idle_minutes",
            "logging.format",
        ] {
            assert!(k.contains(&key.to_string()), "{key} not in {k:?}");
        }
    }

    #[test]
    fn missing_key_file_without_generation() {
        let text = MINIMAL.replace("generate_if_missing = true", "");
        assert_eq!(keys(&text), vec!["assertion.signing_key_file"]);
    }

    #[test]
    fn smtp_needs_its_table_and_secret_rules() {
        let text = MINIMAL.replace("transport = \"outbox\"", "transport = \"smtp\"");
        assert_eq!(keys(&text), vec!["mail.smtp"]);
        let text = MINIMAL.replace("transport = \"outbox\"", "transport = \"smtp\"")
            + "[mail.smtp]\nhost = \"smtp.example.net\"\npassword_env = \"SEKISHO_TEST_UNSET_VAR\"\n";
        assert_eq!(keys(&text), vec!["mail.smtp.password_env"]);
        let text = MINIMAL.replace("transport = \"outbox\"", "transport = \"smtp\"")
            + "[mail.smtp]\nhost = \"smtp.example.net\"\npassword_env = \"PATH\"\n";
        assert_eq!(keys(&text), vec!["mail.smtp.username"]);
    }

    #[test]
    fn lock_and_throttle() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.lock.threshold, 10);
        assert_eq!(c.throttle.per_ip_per_minute, 300);
        assert_eq!(c.throttle.per_address_account_per_minute, 5);
        assert_eq!(c.throttle.per_account_per_minute, 20);
        assert_eq!(c.lock.forget_after, Duration::from_secs(86_400));
        let text = MINIMAL.to_string() + "[throttle]\ntrusted_proxies = [\"127.0.0.2\", \"10.0.0.0/8\", \"bogus\"]\n[lock]\nthreshold = 0\n";
        assert_eq!(
            keys(&text),
            vec!["lock.threshold", "throttle.trusted_proxies[2]"]
        );
    }

    #[test]
    fn syntax_error_is_reported() {
        let err = load("[internet\nlisten=").unwrap_err();
        assert_eq!(err.0[0].key, "(syntax)");
    }

    #[test]
    fn branding_is_checked_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("logo.svg"),
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        )
        .unwrap();
        std::fs::write(dir.path().join("logo.txt"), "not an image").unwrap();
        let good = format!(
            "{MINIMAL}[branding]\nlogo_file = \"logo.svg\"\nprimary_colour = \"#0B57D0\"\ncopyright_ja = \"© 2026 例\"\n\
             [[branding.links]]\nkind = \"contact\"\nlabel_ja = \"お問い合わせ\"\nlabel_en = \"Contact\"\nurl = \"https://example.jp/contact\"\n"
        );
        let c = from_toml_str(&good, dir.path()).unwrap();
        let b = c.branding;
        assert_eq!(b.logo.unwrap().content_type, "image/svg+xml");
        assert_eq!(b.primary_colour.as_deref(), Some("#0b57d0"));
        assert_eq!(b.links[0].kind, "contact");
        let bad = format!(
            "{MINIMAL}[branding]\nlogo_file = \"logo.txt\"\nprimary_colour = \"#ffcc00\"\n\
             [[branding.links]]\nkind = \"faq\"\nlabel_ja = \"\"\nlabel_en = \"x\"\nurl = \"javascript:alert(1)\"\n"
        );
        let keys: Vec<String> = from_toml_str(&bad, dir.path())
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            keys,
            vec![
                "branding.logo_file",
                "branding.primary_colour",
                "branding.links[0].kind"
            ]
        );
        let bad_link = format!(
            "{MINIMAL}[[branding.links]]\nkind = \"terms\"\nlabel_ja = \"\"\nlabel_en = \"Terms\"\nurl = \"javascript:alert(1)\"\n"
        );
        let keys: Vec<String> = from_toml_str(&bad_link, dir.path())
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(
            keys,
            vec!["branding.links[0].label_ja", "branding.links[0].url"]
        );
    }

    #[test]
    fn the_example_file_is_valid_but_for_its_missing_files() {
        let text = include_str!("../sekisho.example.toml");
        let keys = keys(text);
        let expected_missing = [
            "internet.tls.cert_file",
            "internet.tls.key_file",
            "mail.smtp.password_file",
            "sms.http.auth_secret_file",
            "assertion.signing_key_file",
            "two_step.seed_key_file",
        ];
        assert!(
            keys.iter().all(|k| expected_missing.contains(&k.as_str())),
            "{keys:?}"
        );
    }

    #[test]
    fn the_demo_file_is_valid() {
        // scripts/demo.sh writes the local provider's secret and the AD
        // sealing key before the gateway starts; here a folder with them
        // stands in.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("config");
        std::fs::create_dir_all(root.path().join("demo-data")).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(root.path().join("demo-data/provider-client-secret"), "s").unwrap();
        std::fs::write(root.path().join("demo-data/ad-secret.key"), "ab".repeat(32)).unwrap();
        std::fs::write(dir.join("demo-logo.svg"), include_str!("../demo-logo.svg")).unwrap();
        let c = from_toml_str(include_str!("../demo.toml"), &dir).unwrap();
        assert_eq!(c.providers.len(), 1);
        assert!(c.active_directory.is_some_and(|a| a.allow_http_issuers));
        assert!(c.development.insecure_http_cookies);
        assert!(c.development.demo_upstream_listen.is_some());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Smtp {
            host: "h".into(),
            port: 1,
            security: SmtpSecurity::None,
            username: Some("u".into()),
            password: Some("hunter2".into()),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
