//! Latency and error statistics: HdrHistogram in microseconds (1 µs to 60 s,
//! 3 significant digits), merged across workers, summarised as percentiles.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What one worker (or a whole run) recorded.
#[derive(Clone)]
pub struct Recorder {
    pub latency: Histogram<u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

impl Recorder {
    /// Records a successful request that took `d` (saturating at 60 s).
    pub fn ok(&mut self, d: Duration) {
        self.ok += 1;
        self.latency
            .saturating_record((d.as_micros() as u64).max(1));
    }

    /// Counts an error of `kind` (e.g. `status_502`, `connect`, `timeout`).
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds");
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn summary(&self, name: &str, elapsed: Duration) -> Summary {
        let q = |p: f64| {
            if self.latency.is_empty() {
                0.0
            } else {
                self.latency.value_at_quantile(p) as f64 / 1000.0
            }
        };
        let curve = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0]
            .iter()
            .map(|&p| (p * 100.0, q(p)))
            .collect();
        Summary {
            name: name.to_string(),
            requests: self.ok,
            errors: self.errors.clone(),
            seconds: elapsed.as_secs_f64(),
            throughput_rps: self.ok as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if self.latency.is_empty() {
                0.0
            } else {
                self.latency.max() as f64 / 1000.0
            },
            percentiles: curve,
        }
    }
}

/// The JSON summary of one measured stream of requests.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    pub name: String,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
    pub seconds: f64,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// (percentile, latency ms) points for the plot.
    pub percentiles: Vec<(f64, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_errors_and_latencies() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for i in 1..=100 {
            a.ok(Duration::from_micros(i * 10));
        }
        for _ in 0..100 {
            b.ok(Duration::from_millis(5));
        }
        a.error("status_502");
        b.error("status_502");
        b.error("timeout");
        a.merge(&b);
        assert_eq!(a.ok, 200);
        assert_eq!(a.error_count(), 3);
        assert_eq!(a.errors["status_502"], 2);
        let s = a.summary("x", Duration::from_secs(2));
        assert_eq!(s.throughput_rps, 100.0);
        assert!((s.p50_ms - 1.0).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.p99_ms - 5.0).abs() < 0.01, "{}", s.p99_ms);
        assert!((s.max_ms - 5.0).abs() < 0.01);
    }

    #[test]
    fn empty_summary_is_zero_not_a_panic() {
        let s = Recorder::default().summary("none", Duration::from_secs(1));
        assert_eq!((s.requests, s.p99_ms), (0, 0.0));
    }
}
