//! Sending SMS codes: a generic HTTP JSON provider (one POST per message,
//! a credential header read from a file, a templated body), or the
//! development outbox on the console. The message text (which holds the
//! code) never reaches a log; errors name only the status or the failure.

use sekisho_config::{Sms, SmsHttp};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

/// Why a message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS provider answered {0}")]
    Refused(u16),
    #[error("the SMS provider could not be reached: {0}")]
    Unreachable(String),
}

pub enum SmsSender {
    Outbox {
        seq: AtomicU64,
    },
    Http {
        cfg: SmsHttp,
        client: reqwest::Client,
    },
}

impl SmsSender {
    pub fn new(cfg: &Sms) -> anyhow::Result<SmsSender> {
        Ok(match cfg {
            Sms::Outbox => SmsSender::Outbox {
                seq: AtomicU64::new(0),
            },
            Sms::Http(h) => SmsSender::Http {
                client: reqwest::Client::builder()
                    .timeout(h.timeout)
                    .connect_timeout(h.timeout)
                    .build()?,
                cfg: h.clone(),
            },
        })
    }

    /// Sends `text` to `to` (E.164). `kind` is a fixed word for metrics.
    pub async fn send(&self, kind: &'static str, to: &str, text: &str) -> Result<(), SmsError> {
        let result = self
            .send_inner(to, text)
            .instrument(crate::call_span!("sms", sekisho.sms = kind))
            .await;
        crate::metrics::SMS
            .with_label_values(&[kind, if result.is_ok() { "sent" } else { "failed" }])
            .inc();
        if let Err(e) = &result {
            tracing::warn!(kind, error = %e, "SMS could not be sent");
        }
        result
    }

    async fn send_inner(&self, to: &str, text: &str) -> Result<(), SmsError> {
        match self {
            SmsSender::Outbox { seq } => {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "\n──── outbox: SMS {n} ──────────────────────────────\nTo: {to}\n\n{text}\n────────────────────────────────────────────\n"
                );
                Ok(())
            }
            SmsSender::Http { cfg, client } => {
                let response = client
                    .post(&cfg.url)
                    .header(cfg.auth_header.clone(), &cfg.auth_value)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(fill_body(&cfg.body, to, text))
                    .send()
                    .await
                    .map_err(|e| SmsError::Unreachable(without_url(e)))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(SmsError::Refused(status.as_u16()))
                }
            }
        }
    }
}

/// The provider's body with the number and text filled in as JSON strings
/// (the template puts the placeholders inside quotes; config checks that).
pub fn fill_body(template: &str, to: &str, text: &str) -> String {
    template
        .replace("{{to}}", &json_inner(to))
        .replace("{{text}}", &json_inner(text))
}

fn json_inner(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// reqwest's errors carry the URL, which may hold a provider key.
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_values_are_json_escaped() {
        let body = fill_body(
            r#"{"to":"{{to}}","text":"{{text}}"}"#,
            "+819012345678",
            "code \"1\"\n{{to}}",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "+819012345678");
        assert_eq!(v["text"], "code \"1\"\n{{to}}");
    }
}
