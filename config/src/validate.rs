//! From the file format to [`Config`]: each check names its key.

use crate::checker::*;
use crate::raw::*;
use crate::sections::accounts::*;
use crate::sections::federation::*;
use crate::sections::listeners::*;
use crate::sections::operations::*;
use crate::sections::stores::*;
use crate::typed::*;
use std::path::Path;

pub fn from_toml_str(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
    // Unknown keys and wrong types are set aside and the rest is checked
    // in the same pass, so one run names every problem of every kind.
    let (raw, set_aside) = read_raw(text)?;
    let Some(raw) = raw else {
        return Err(ConfigErrors(set_aside));
    };
    let mut c = Checker {
        base,
        errors: set_aside,
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
    match read_raw(text)? {
        (Some(raw), errors) if errors.is_empty() => Ok(raw),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// The file read with every unknown key and wrong type set aside: what is
/// left (none when a required key was among them), and each set-aside key
/// as a problem.
fn read_raw(text: &str) -> Result<(Option<RawConfig>, Vec<ConfigError>), ConfigErrors> {
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
            Ok(raw) => return Ok((Some(raw), errors)),
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
            return Ok((None, errors));
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
            return Ok((None, errors));
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

    let internet = internet(c, &raw);
    let closed = raw
        .closed
        .as_ref()
        .map(|cl| closed(c, cl, &internet, insecure));

    let upstream = upstream(c, &raw);
    let store = store(c, &raw);
    let session = session(c, &raw);
    let hashing = hashing(c, &raw);
    let password = password(c, &raw);
    let new_device = new_device(c, &raw);
    let device_binding = device_binding(c, &raw);
    let scim = scim(c, &raw);
    let mail = mail(c, &raw);
    let assertion = assertion(c, &raw);
    let metrics_listen = raw
        .metrics
        .listen
        .as_deref()
        .and_then(|l| c.listen("metrics.listen", l));

    let limits = limits(c, &raw);
    let http2 = http2(c, &raw);
    let lock = lock(c, &raw);
    let throttle = throttle(c, &raw);
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

    let server = server(c, &raw);
    let logging = logging(c, &raw);
    let traces = traces(c, &raw);
    let audit = audit(c, &raw);
    let passkeys = passkeys(c, &raw);
    let development = development(c, &raw);
    Config {
        service_name: raw.service_name.clone(),
        internet,
        closed,
        upstream,
        store,
        session,
        hashing,
        password,
        new_device,
        device_binding,
        scim,
        mail,
        assertion,
        metrics_listen,
        limits,
        http2,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

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
            "store.cache_max_age_ms",
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
            "limits.tls_handshake_timeout_ms",
            "limits.body_timeout_ms",
            "limits.body_min_bytes_per_second",
            "http2.max_concurrent_streams",
            "http2.max_header_list_bytes",
            "http2.max_pending_reset_streams",
            "http2.max_error_reset_streams",
            "http2.idle_timeout_ms",
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

    /// No read buffer by default (each idle connection holds none, P8); a
    /// buffer, when set, between 1 KiB and 1 MiB.
    #[test]
    fn the_client_read_buffer_is_none_or_between_1_kib_and_1_mib() {
        let config = load(MINIMAL).unwrap();
        assert_eq!(config.limits.client_read_buffer_bytes, 0);
        for ok in [0, 1024, 65536, 1048576] {
            let text = format!("{MINIMAL}[limits]\nclient_read_buffer_bytes = {ok}\n");
            assert_eq!(load(&text).unwrap().limits.client_read_buffer_bytes, ok);
        }
        for refused in [1, 1023, 1048577] {
            let text = format!("{MINIMAL}[limits]\nclient_read_buffer_bytes = {refused}\n");
            assert_eq!(
                keys(&text),
                ["limits.client_read_buffer_bytes"],
                "{refused}"
            );
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
            StoreBackend::Redis(r) => {
                assert_eq!(r.url, "rediss://redis.internal:6380/2");
                assert_eq!(r.username.as_deref(), Some("sekisho"));
                assert_eq!(r.password.as_deref(), Some("s3cret"));
                assert_eq!((r.key_prefix.as_str(), r.pool_size), ("sekisho:", 16));
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
        // The unknown key and the missing file, in one pass (issue 32, 9).
        assert_eq!(
            keys(&missing),
            vec![
                "federation.active_directory.allow_http",
                "federation.active_directory.secret_key_file"
            ]
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
