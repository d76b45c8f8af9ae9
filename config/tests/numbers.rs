//! Every numeric key of the configuration, set to any value TOML can hold:
//! the validator answers with a keyed error or a config, and never panics
//! or overflows (SECURITY S49).

use proptest::prelude::*;
use std::path::Path;

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
"#;

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
    "lock.threshold",
    "lock.mail_interval_seconds",
    "throttle.per_ip_per_minute",
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
    let outcome = std::panic::catch_unwind(|| {
        sekisho_config::from_toml_str(&text, Path::new("/tmp")).map(|_| ())
    });
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
