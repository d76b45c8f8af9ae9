//! OpenTelemetry traces over OTLP (HTTP, protobuf), when `[traces]` is
//! configured. Each request is a `request` span. Its store calls, password
//! hashing, mail, SMS and OpenID calls are child spans, named `store`,
//! `hash`, `smtp`, `sms` and `openid`. The W3C `traceparent` of a trusted
//! hop (`throttle.trusted_proxies`) is the request span's parent. The
//! upstream receives the request span's own `traceparent`.
//!
//! Without `[traces]` no span is made: [`request_span`] gives
//! `Span::none()`, and a trusted `traceparent` goes upstream unchanged.
//! The request path pays one flag check. Spans go to their own layer,
//! filtered on its own, so the logs' level and format do not change.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;
use std::sync::OnceLock;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The provider, once traces are on: flushed when the process drains.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The target every span of ours carries, so the trace layer's filter
/// takes exactly them.
pub const TARGET: &str = "sekisho::trace";

/// Whether spans are made at all.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// The layer that sends spans to the collector, for the subscriber that
/// [`crate::server::init_logging`] builds.
pub fn layer<S>(cfg: &sekisho_config::Traces) -> anyhow::Result<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(cfg.otlp_endpoint.as_str())
        .with_timeout(cfg.timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("traces.otlp_endpoint: {e}"))?;
    // Its own thread: exporting never runs on the proxy's event loop.
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(cfg.export_interval)
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.clone())
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    let tracer = provider.tracer("sekisho");
    let _ = PROVIDER.set(provider);
    let only_ours =
        tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::TRACE);
    Ok(tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(only_ours))
}

/// Sends what is buffered: when the process drains, before it exits.
pub fn flush() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(e) = provider.force_flush() {
            tracing::warn!(error = %e, "traces: flushing failed");
        }
    }
}

/// A W3C `traceparent` as it may be believed: version `00`, a trace id
/// and a parent id of lower-case hex, neither all zeros, and flags.
pub fn acceptable_traceparent(v: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(v) else {
        return false;
    };
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && !zero(parts[1])
        && hex(parts[2], 16)
        && !zero(parts[2])
        && hex(parts[3], 2)
}

struct OneHeader<'a>(&'a str);

impl Extractor for OneHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

#[derive(Default)]
struct Traceparent(Option<String>);

impl Injector for Traceparent {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = Some(value);
        }
    }
}

/// The request's span, child of the trusted hop's `traceparent` if any.
pub fn request_span(
    method: &str,
    route: &'static str,
    request_id: &str,
    parent: Option<&http::HeaderValue>,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        sekisho.route = route,
        sekisho.request_id = request_id,
        sekisho.kind = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(text) = parent.and_then(|p| p.to_str().ok()) {
        let cx = TraceContextPropagator::new().extract(&OneHeader(text));
        let _ = span.set_parent(cx);
    }
    span
}

/// The `traceparent` for the upstream: the request span's own when traces
/// are on, else the trusted hop's unchanged.
pub fn upstream_traceparent(
    span: &Span,
    trusted: Option<&http::HeaderValue>,
) -> Option<http::HeaderValue> {
    if !enabled() || span.is_none() {
        return trusted.cloned();
    }
    let mut out = Traceparent::default();
    TraceContextPropagator::new().inject_context(&span.context(), &mut out);
    out.0.and_then(|v| http::HeaderValue::from_str(&v).ok())
}

/// The request span's trace id (32 hex), for the access log.
pub fn trace_id(span: &Span) -> Option<String> {
    if !enabled() || span.is_none() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// A child span of the current one, for a call out of the process (or
/// to the hashing pool); `Span::none()` without `[traces]`.
#[macro_export]
macro_rules! call_span {
    ($name:literal $(, $($field:tt)*)?) => {
        if $crate::traces::enabled() {
            tracing::info_span!(target: $crate::traces::TARGET, $name, otel.kind = "client" $(, $($field)*)?)
        } else {
            tracing::Span::none()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::acceptable_traceparent;

    #[test]
    fn only_a_well_formed_traceparent_is_believed() {
        assert!(acceptable_traceparent(
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        for bad in [
            &b""[..],
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(
                !acceptable_traceparent(bad),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
