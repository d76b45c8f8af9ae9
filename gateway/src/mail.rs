//! Sending mail: SMTP through lettre, or the development outbox (console and
//! optionally one file per message). Mail always goes to an address read from
//! the store, never to one typed into a form (S17).

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sekisho_config::{MailTransport, SmtpSecurity};
use sekisho_pages::mail::MailText;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox {
        dir: Option<PathBuf>,
        seq: AtomicU64,
    },
}

impl Mailer {
    /// Sends a mail in the background, so the answer takes as long whether
    /// or not a mail went out (S03).
    pub fn send_later(
        self: &std::sync::Arc<Self>,
        kind: &'static str,
        to: String,
        text: sekisho_pages::mail::MailText,
    ) {
        let mailer = self.clone();
        tokio::spawn(async move {
            let _ = mailer.send(kind, &to, &text).await;
        });
    }

    pub fn new(cfg: &sekisho_config::Mail) -> anyhow::Result<Mailer> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| crate::error::InputError::error(format!("mail.from: {e}")))?;
        let transport = match &cfg.transport {
            MailTransport::Outbox { dir } => {
                if let Some(d) = dir {
                    std::fs::create_dir_all(d).map_err(|e| {
                        crate::error::InputError::error(format!(
                            "mail.outbox_dir: {}: {e}",
                            d.display()
                        ))
                    })?;
                }
                Transport::Outbox {
                    dir: dir.clone(),
                    seq: AtomicU64::new(0),
                }
            }
            MailTransport::Smtp(s) => {
                let tls = || {
                    TlsParameters::new(s.host.clone())
                        .map_err(|e| crate::error::InputError::error(format!("mail.smtp: {e}")))
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(s.timeout));
                b = match s.security {
                    SmtpSecurity::None => b.tls(Tls::None),
                    SmtpSecurity::StartTls => b.tls(Tls::Required(tls()?)),
                    SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
                };
                if let (Some(u), Some(p)) = (&s.username, &s.password) {
                    b = b.credentials(Credentials::new(u.clone(), p.clone()));
                }
                Transport::Smtp(b.build())
            }
        };
        Ok(Mailer { from, transport })
    }

    /// Sends `text` to `to`. `kind` is a fixed word for metrics.
    pub async fn send(&self, kind: &'static str, to: &str, text: &MailText) -> anyhow::Result<()> {
        let result = self
            .send_inner(to, text)
            .instrument(crate::call_span!("smtp", sekisho.mail = kind))
            .await;
        crate::metrics::MAIL
            .with_label_values(&[kind, if result.is_ok() { "sent" } else { "failed" }])
            .inc();
        if let Err(e) = &result {
            tracing::warn!(kind, error = %e, "mail could not be sent");
        }
        result
    }

    async fn send_inner(&self, to: &str, text: &MailText) -> anyhow::Result<()> {
        let to_box: Mailbox = to.parse()?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(text.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(text.body.clone())?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message).await?;
            }
            Transport::Outbox { dir, seq } => {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                // A closed console must never stop the gateway: write, ignore errors.
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "\n──── outbox: mail {n} ─────────────────────────────\nTo: {to}\nSubject: {}\n\n{}────────────────────────────────────────────\n",
                    text.subject, text.body
                );
                if let Some(d) = dir {
                    let stamp = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis())
                        .unwrap_or(0);
                    let path = d.join(format!("{stamp}-{n}.eml"));
                    tokio::fs::write(&path, message.formatted()).await?;
                }
            }
        }
        Ok(())
    }
}
