//! What operators see and set: the assertion, the branding, logs, traces,
//! the audit sink, development switches.

use crate::checker::*;
use crate::raw::*;
use crate::typed::*;
use std::path::PathBuf;
use std::time::Duration;

/// The signed assertion ([assertion]).
pub(crate) fn assertion(c: &mut Checker, raw: &RawConfig) -> Assertion {
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

    Assertion {
        also_publish_key_files: also_publish,
        signing_key_file: key_path,
        lifetime: Duration::from_secs(lifetime),
        generate_if_missing: a.generate_if_missing,
    }
}

/// The largest logo or favicon accepted.
pub(crate) const ASSET_BYTES: u64 = 256 * 1024;

pub(crate) fn asset(
    c: &mut Checker,
    key: &str,
    file: &str,
    kinds: &[&'static str],
) -> Option<Asset> {
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
pub(crate) fn luminance(rgb: [u8; 3]) -> f64 {
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

pub(crate) fn branding(c: &mut Checker, b: &RawBranding) -> Branding {
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

/// Logs ([logging]).
pub(crate) fn logging(c: &mut Checker, raw: &RawConfig) -> Logging {
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

    Logging {
        format,
        level: raw.logging.level.clone(),
        access_log_every: (raw.logging.access_log && sample > 0.0 && sample <= 1.0)
            .then(|| (1.0 / sample).round().max(1.0) as u64),
    }
}

/// Traces over OTLP ([traces]).
pub(crate) fn traces(c: &mut Checker, raw: &RawConfig) -> Option<Traces> {
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
    traces
}

/// The audit sink ([audit]).
pub(crate) fn audit(c: &mut Checker, raw: &RawConfig) -> Audit {
    let audit = Audit {
        file: c.optional_path("audit.file", raw.audit.file.as_deref()),
        keep_days: c.within("audit.keep_days", raw.audit.keep_days, 1, 3650, "days"),
    };
    audit
}

/// Development switches ([development]).
pub(crate) fn development(c: &mut Checker, raw: &RawConfig) -> Development {
    let insecure = raw.development.insecure_http_cookies;
    let dev = &raw.development;
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
    development
}
