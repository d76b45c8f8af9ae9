//! Prometheus metrics, registered once in the default registry and served
//! only on the separate metrics listener. Labels are low-cardinality by
//! construction: fixed words, never a user, path or address (S44).

use prometheus::{
    register_histogram, register_histogram_vec, register_int_counter, register_int_counter_vec,
    register_int_gauge, Encoder, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    TextEncoder,
};
use std::sync::LazyLock;

/// Requests by kind (`proxy`, `gateway`) and outcome (fixed words).
pub static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_requests_total",
        "Requests by kind and outcome",
        &["kind", "outcome"]
    )
    .unwrap()
});

/// Password login attempts by outcome.
pub static LOGINS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_login_attempts_total",
        "Password login attempts by outcome",
        &["outcome"]
    )
    .unwrap()
});

/// SMS by kind and result (`sent`, `failed`).
pub static SMS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_sms_total",
        "SMS messages by kind and result",
        &["kind", "result"]
    )
    .unwrap()
});

/// Two-step verification events (fixed words: `asked`, `trusted`,
/// `set_up`, `passed`, `wrong_code`, `recovery_used`, `capped`).
pub static TWO_STEP: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_two_step_total",
        "Two-step verification events",
        &["event"]
    )
    .unwrap()
});

/// Requests by the route they arrived on (`internet`, `closed`).
pub static REQUESTS_BY_ROUTE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_requests_by_route_total",
        "Requests by the listener's route",
        &["route"]
    )
    .unwrap()
});

/// Successful logins by route.
pub static LOGINS_BY_ROUTE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_logins_by_route_total",
        "Successful logins by route",
        &["route"]
    )
    .unwrap()
});

/// Line-authentication refusals by reason (`missing`, `unregistered`,
/// `malformed_header`, `line_only`, `other_route`).
pub static LINE_AUTH_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_line_auth_failures_total",
        "Requests and logins refused by line authentication or the access route",
        &["reason"]
    )
    .unwrap()
});

/// Sign-ins at OpenID providers by provider and outcome (`succeeded`,
/// `registered`, `unbound`, `identity_taken`, or the refusal's reason).
pub static FEDERATED_LOGINS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_federated_logins_total",
        "Sign-ins at OpenID providers by provider and outcome",
        &["provider", "outcome"]
    )
    .unwrap()
});

/// Client connections open now, on every listener.
pub static CONNECTIONS_OPEN: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("sekisho_connections_open", "Client connections open now").unwrap()
});

/// Connections refused at accept (`per_address`, `total`) or closed for
/// their header (`header_timeout`, `header_too_large`).
pub static CONNECTION_REFUSALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_connection_refusals_total",
        "Client connections refused at accept or closed for a slow or oversized header",
        &["reason"]
    )
    .unwrap()
});

/// Seconds a hashing job waited in the queue.
pub static HASH_QUEUE_WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "sekisho_hash_queue_wait_seconds",
        "Time a password-hashing job waited for a hashing thread",
        vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0]
    )
    .unwrap()
});

/// Hashing jobs refused because the queue was full.
pub static HASH_REJECTED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "sekisho_hash_rejected_total",
        "Hashing jobs refused because the queue was full"
    )
    .unwrap()
});

/// Upstream response time, by status class.
pub static UPSTREAM_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sekisho_upstream_seconds",
        "Time from forwarding a request to the end of the upstream's answer",
        &["class"],
        vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    )
    .unwrap()
});

/// Store calls that failed (down, slow): the gateway failed closed.
pub static STORE_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_store_errors_total",
        "Store calls that failed, by operation",
        &["op"]
    )
    .unwrap()
});

/// Mail sends by outcome.
pub static MAIL: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_mail_total",
        "Mail sent, by kind and outcome",
        &["kind", "outcome"]
    )
    .unwrap()
});

/// Account events: `lock`, `unlock_link`, `unlock_admin`, `reset_requested`,
/// `reset_completed`, `unlock_mail_resent`.
pub static ACCOUNT_EVENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_account_events_total",
        "Locks, unlocks and password resets",
        &["event"]
    )
    .unwrap()
});

/// Requests refused by the per-address limit, by endpoint.
pub static THROTTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_throttled_total",
        "Requests refused by a rate limit, by endpoint and limit (address, address_account, account)",
        &["endpoint", "limit"]
    )
    .unwrap()
});

/// The proxied path's counters, resolved once: a label look-up takes a
/// lock and hashes, which every forwarded request would otherwise pay.
pub static FORWARDED: LazyLock<IntCounter> =
    LazyLock::new(|| REQUESTS.with_label_values(&["proxy", "forwarded"]));
pub static UPSTREAM_OK: LazyLock<Histogram> =
    LazyLock::new(|| UPSTREAM_SECONDS.with_label_values(&["ok"]));

/// Forces every metric into the registry, so a scrape shows them all at
/// zero from the start.
pub fn register_all() {
    LazyLock::force(&REQUESTS);
    LazyLock::force(&LOGINS);
    LazyLock::force(&HASH_QUEUE_WAIT);
    LazyLock::force(&HASH_REJECTED);
    LazyLock::force(&UPSTREAM_SECONDS);
    LazyLock::force(&STORE_ERRORS);
    LazyLock::force(&MAIL);
    LazyLock::force(&ACCOUNT_EVENTS);
    LazyLock::force(&THROTTLED);
    LazyLock::force(&SMS);
    LazyLock::force(&TWO_STEP);
    LazyLock::force(&REQUESTS_BY_ROUTE);
    LazyLock::force(&LOGINS_BY_ROUTE);
    LazyLock::force(&LINE_AUTH_FAILURES);
    LazyLock::force(&FEDERATED_LOGINS);
    LazyLock::force(&CONNECTIONS_OPEN);
    for why in crate::connections::Refusal::ALL {
        CONNECTION_REFUSALS.with_label_values(&[why.as_str()]);
    }
}

/// The text exposition of every registered metric.
pub fn render() -> Vec<u8> {
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&prometheus::gather(), &mut out);
    out
}
