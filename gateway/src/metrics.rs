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

/// Passkey sign-ins and second steps by outcome (`succeeded`, `failed`,
/// `cloned`: a signature counter that went backwards).
pub static PASSKEYS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_passkey_attempts_total",
        "Passkey sign-ins and second steps by ceremony and outcome",
        &["ceremony", "outcome"]
    )
    .unwrap()
});

/// Device-bound sessions (DBSC, S62) by what became of a registration or
/// refresh (`bound`, `refreshed`, `asked_again`, `ended`, `refused`).
pub static DEVICE_BINDING: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_device_binding_total",
        "Device-bound session registrations and refreshes by result",
        &["result"]
    )
    .unwrap()
});

/// SMS by kind and outcome (`sent`, `failed`).
pub static SMS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_sms_total",
        "SMS messages by kind and outcome",
        &["kind", "outcome"]
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

/// Every request's time, from its header to the end of the answer, by the
/// listener's route, kind (`proxy`, `gateway`) and status class (RED).
pub static REQUEST_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sekisho_request_duration_seconds",
        "Time from a request's header to the end of its answer",
        &["route", "kind", "class"],
        vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    )
    .unwrap()
});

/// The status classes of [`REQUEST_SECONDS`], by a status's hundreds.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

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

/// Audit records that did not reach their sink or the store (a full
/// queue, a write that failed). The log line was still written.
pub static AUDIT_DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "sekisho_audit_dropped_total",
        "Audit records lost on the way to the audit sink or the store"
    )
    .unwrap()
});

/// Every store call's time, by operation (the store trait's method).
pub static STORE_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sekisho_store_seconds",
        "Time of one store call, by operation",
        &["op"],
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
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

/// Hashing jobs waiting for a thread now, and the queue's room: the
/// saturation alert's ratio.
pub static HASH_QUEUE_DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "sekisho_hash_queue_depth",
        "Password-hashing jobs waiting for a hashing thread"
    )
    .unwrap()
});
pub static HASH_QUEUE_CAPACITY: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "sekisho_hash_queue_capacity",
        "How many hashing jobs may wait before logins are answered busy"
    )
    .unwrap()
});

/// The gateway's own pages, by page (a fixed word per flow, from the
/// route table: `routes::page_of`)
/// and status class, and their time.
pub static PAGE_RESPONSES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_page_responses_total",
        "The gateway's own pages answered, by page and status class",
        &["page", "class"]
    )
    .unwrap()
});
pub static PAGE_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sekisho_page_duration_seconds",
        "Time to answer one of the gateway's own pages, by page",
        &["page"],
        vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
    )
    .unwrap()
});

/// Session look-ups answered by this gateway's cache, and those that went
/// to the store: the hit ratio.
pub static SESSION_CACHE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sekisho_session_cache_total",
        "Session look-ups by the cache's answer (hit, miss)",
        &["outcome"]
    )
    .unwrap()
});
pub static SESSION_CACHE_HIT: LazyLock<IntCounter> =
    LazyLock::new(|| SESSION_CACHE.with_label_values(&["hit"]));
pub static SESSION_CACHE_MISS: LazyLock<IntCounter> =
    LazyLock::new(|| SESSION_CACHE.with_label_values(&["miss"]));

/// Sessions this gateway holds in its cache now.
pub static SESSIONS_CACHED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "sekisho_sessions_cached",
        "Live sessions held in this gateway's session cache"
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
/// The binary's version and commit, always 1: joins other series to a
/// release (`* on (instance) group_left(version) sekisho_build_info`).
pub static BUILD_INFO: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        "sekisho_build_info",
        "The running binary's version and commit (always 1)",
        &["version", "commit"]
    )
    .unwrap()
});

/// When each listener's TLS certificate expires (Unix seconds), read at
/// start: the certificate-expiry alert's series.
pub static CERTIFICATE_EXPIRY: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        "sekisho_tls_certificate_expiry_timestamp_seconds",
        "When the listener's TLS certificate expires (Unix time)",
        &["listener"]
    )
    .unwrap()
});

/// Notes when the first certificate of the PEM file `cert_file` expires.
pub fn note_certificate(listener: &str, cert_file: &std::path::Path) {
    let expiry = std::fs::read(cert_file).ok().and_then(|pem| {
        let (_, block) = x509_parser::pem::parse_x509_pem(&pem).ok()?;
        let cert = block.parse_x509().ok()?;
        Some(cert.validity().not_after.timestamp())
    });
    match expiry {
        Some(t) => CERTIFICATE_EXPIRY.with_label_values(&[listener]).set(t),
        None => tracing::warn!(listener, "could not read the TLS certificate's expiry"),
    }
}

/// The label values every fixed family starts with, at 0, so that rules
/// and dashboards see a series before its first event (no `absent()`).
fn start_at_zero() {
    for op in [
        "admit_attempt",
        "changes",
        "create_session",
        "find_user",
        "lock_user",
        "ping",
        "purge",
        "record_audit",
        "session_view",
        "touch_sessions",
    ] {
        STORE_ERRORS.with_label_values(&[op]);
    }
    for kind in [
        "ad_connection",
        "email_change",
        "email_changed_notice",
        "invitation",
        "method_change",
        "method_changed_notice",
        "passkey_notice",
        "password_changed_notice",
        "reset",
        "reset_notice",
        "two_step_notice",
        "unlock",
    ] {
        for outcome in ["sent", "failed"] {
            MAIL.with_label_values(&[kind, outcome]);
        }
    }
    for kind in ["set_up", "verify"] {
        for outcome in ["sent", "failed"] {
            SMS.with_label_values(&[kind, outcome]);
        }
    }
    for outcome in ["succeeded", "failed", "locked", "busy"] {
        LOGINS.with_label_values(&[outcome]);
    }
    for ceremony in ["login", "second_step", "register"] {
        for outcome in ["succeeded", "failed", "cloned"] {
            PASSKEYS.with_label_values(&[ceremony, outcome]);
        }
    }
    for endpoint in [
        "login",
        "forgot",
        "unlock_resend",
        "sms",
        "recovery",
        "federation",
        "passkey",
    ] {
        for limit in ["address", "address_account", "account"] {
            THROTTLED.with_label_values(&[endpoint, limit]);
        }
    }
    for outcome in ["forwarded", "upstream_error", "error"] {
        REQUESTS.with_label_values(&["proxy", outcome]);
    }
    for class in ["ok", "4xx", "5xx"] {
        UPSTREAM_SECONDS.with_label_values(&[class]);
    }
    for event in [
        "lock",
        "unlock_link",
        "unlock_admin",
        "reset_requested",
        "reset_completed",
        "new_browser_mailed",
        "lockdown",
    ] {
        ACCOUNT_EVENTS.with_label_values(&[event]);
    }
}

pub fn register_all() {
    BUILD_INFO
        .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("SEKISHO_COMMIT")])
        .set(1);
    // process_cpu_seconds_total, process_resident_memory_bytes, open fds…
    #[cfg(target_os = "linux")]
    let _ = prometheus::register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    start_at_zero();
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
    LazyLock::force(&HASH_QUEUE_DEPTH);
    LazyLock::force(&AUDIT_DROPPED);
    LazyLock::force(&HASH_QUEUE_CAPACITY);
    LazyLock::force(&SESSION_CACHE_HIT);
    LazyLock::force(&SESSION_CACHE_MISS);
    LazyLock::force(&SESSIONS_CACHED);
}

/// Registers one label value of a counted vector up front, so a dashboard
/// sees a zero rather than nothing; each part of the gateway names its own
/// (the store its operations, the connection guard its refusals, the route
/// table its pages).
pub fn register_labels(
    vec: &prometheus::core::MetricVec<impl prometheus::core::MetricVecBuilder>,
    labels: &[&str],
) {
    vec.with_label_values(labels);
}

/// The text exposition of every registered metric.
pub fn render() -> Vec<u8> {
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&prometheus::gather(), &mut out);
    out
}

/// Registers the gateway pages' series up front, one per page word and
/// status class, so a dashboard sees zeros rather than nothing. The route
/// table owns the words.
pub fn register_pages(pages: &[&str]) {
    for page in pages {
        PAGE_SECONDS.with_label_values(&[page]);
        for class in STATUS_CLASSES {
            PAGE_RESPONSES.with_label_values(&[page, class]);
        }
    }
}

/// A provider's login (or registration, or method change) by its outcome.
pub fn count_federated(provider: &str, outcome: &'static str) {
    FEDERATED_LOGINS
        .with_label_values(&[provider, outcome])
        .inc();
}
