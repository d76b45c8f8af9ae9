//! The store, as the gateway uses it: `sekisho-store` (its records, parts,
//! domain steps and backends), opened with the gateway's observer, which
//! times every call for the metrics and runs it in a `store` span of the
//! request's trace, whichever backend runs.

pub use sekisho_store::*;

use std::time::Duration;

/// What the gateway learns of each store call: its time by operation
/// (`sekisho_store_seconds{op}`) and, when traces are on, its span.
pub struct StoreCalls;

impl StoreObserver for StoreCalls {
    fn span(&self, op: &'static str) -> tracing::Span {
        crate::call_span!("store", db.operation.name = op)
    }

    fn finished(&self, op: &'static str, elapsed: Duration) {
        crate::metrics::STORE_SECONDS
            .with_label_values(&[op])
            .observe(elapsed.as_secs_f64());
    }
}

/// Registers the store operations' series up front.
pub fn register_metrics() {
    for op in sekisho_store::operations() {
        crate::metrics::register_labels(&crate::metrics::STORE_SECONDS, &[op]);
    }
}
