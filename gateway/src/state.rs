//! Everything a request handler can reach, built once at start-up.

use crate::assertion::Signer;
use crate::clock::Clock;
use crate::hashing::Hasher;
use crate::mail::Mailer;
use crate::request::Req;
use crate::sessions::Sessions;
use crate::store::sqlite::SqliteStore;
use crate::store::SharedStore;
use crate::web::{Answer, CookieNames};
use pingora::upstreams::peer::HttpPeer;
use sekisho_config::{Config, StoreBackend};
use sekisho_pages::{error_texts, render, Chrome, MessagePage};
use sekisho_policy::paths;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: SharedStore,
    pub clock: Clock,
    pub hasher: Hasher,
    pub mailer: Mailer,
    pub signer: Signer,
    pub sessions: Sessions,
    /// The lock's counting, over the store's counters.
    pub attempts: crate::attempts::Attempts,
    pub csrf_key: Vec<u8>,
    /// Keys the stored hashes of SMS and recovery codes and the trust
    /// cookie's signature.
    pub two_step_key: Vec<u8>,
    /// Seals the authenticator apps' seeds and derives the set-up seed;
    /// from the configuration, never from the store (S50).
    pub seed_key: [u8; 32],
    /// `None` when no SMS transport is configured.
    pub sms: Option<crate::sms::SmsSender>,
    /// The configured OpenID providers.
    pub federation: crate::federation::Federation,
    pub cookies: CookieNames,
    /// Template of the upstream peer, cloned per request (resolving at
    /// request time would block).
    pub peer: HttpPeer,
    pub hsts: bool,

    pub throttle: crate::throttle::Throttle,
    /// The operator's branding, per language.
    pub brand_ja: std::sync::Arc<sekisho_pages::Brand>,
    pub brand_en: std::sync::Arc<sekisho_pages::Brand>,
    /// The passkeys' relying party; `None` where they are off (see
    /// `passkeys::RelyingParty::from_config`).
    pub passkeys: Option<crate::passkeys::RelyingParty>,
}

/// The branding of `b` as pages in one language show it.
fn brand(b: &sekisho_config::Branding, ja: bool) -> std::sync::Arc<sekisho_pages::Brand> {
    let label = |l: &sekisho_config::BrandLink| {
        if ja {
            l.label_ja.clone()
        } else {
            l.label_en.clone()
        }
    };
    std::sync::Arc::new(sekisho_pages::Brand {
        logo: b.logo.is_some(),
        favicon: b.favicon.is_some(),
        colour: b.primary_colour.is_some(),
        footer: b.links.iter().map(|l| (l.url.clone(), label(l))).collect(),
        copyright: if ja {
            b.copyright_ja.clone().or_else(|| b.copyright_en.clone())
        } else {
            b.copyright_en.clone().or_else(|| b.copyright_ja.clone())
        },
        contact: b
            .links
            .iter()
            .find(|l| l.kind == "contact")
            .map(|l| l.url.clone()),
    })
}

/// Opens the configured store.
pub fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    match &config.store.backend {
        StoreBackend::Embedded { path } => Ok(Arc::new(
            SqliteStore::open(path, config.store.timeout)
                .map_err(|e| crate::error::InputError::error(format!("store.path: {e}")))?,
        )),
        StoreBackend::Redis(settings) => Ok(Arc::new(
            crate::store::redis::RedisStore::open(settings, config.store.timeout)
                .map_err(|e| crate::error::InputError::error(format!("store.redis: {e}")))?,
        )),
        StoreBackend::Postgres(settings) => Ok(Arc::new(
            crate::store::postgres::PostgresStore::open(settings, config.store.timeout)
                .map_err(|e| crate::error::InputError::error(format!("store.postgres: {e}")))?,
        )),
    }
}

impl App {
    /// Builds the application. Runs its few async start-up steps on a
    /// short-lived runtime of its own, before Pingora starts its runtimes.
    pub fn build(config: Config) -> anyhow::Result<App> {
        let store =
            crate::store::observed(open_store(&config)?, Arc::new(crate::store::StoreCalls));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let csrf_key = rt
            .block_on(store.secret("csrf", crate::crypto::random_bytes(32)))
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        let two_step_key = rt
            .block_on(store.secret("two-step", crate::crypto::random_bytes(32)))
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        drop(rt);
        let seed_key = crate::seeds::load_key(&config.seed_key)?;
        let passkeys = match crate::passkeys::RelyingParty::from_config(&config, &seed_key) {
            Ok(rp) => Some(rp),
            Err(why) => {
                tracing::info!(target: "sekisho", "passkeys are off: {why}");
                None
            }
        };
        let sms = config
            .sms
            .as_ref()
            .map(crate::sms::SmsSender::new)
            .transpose()?;
        let federation =
            crate::federation::Federation::new(&config.providers, config.facebook.as_ref())?;
        let signer = Signer::load(
            &config.assertion.signing_key_file,
            config.assertion.generate_if_missing,
        )?
        .also_publishing(&config.assertion.also_publish_key_files)?;
        let mailer = Mailer::new(&config.mail)?;
        let hasher = Hasher::start(&config.hashing);
        let clock = Clock::with_offset_file(config.development.clock_offset_file.clone());
        let sessions = Sessions::new(store.clone(), &config);
        let attempts = crate::attempts::Attempts::from_config(store.clone(), &config);
        let cookies = CookieNames::new(config.development.insecure_http_cookies);
        let u = &config.upstream;
        let mut peer = HttpPeer::new(u.address, u.tls, u.sni.clone());
        peer.options.connection_timeout = Some(u.connect_timeout);
        peer.options.total_connection_timeout = Some(u.connect_timeout);
        peer.options.read_timeout = Some(u.read_timeout);
        peer.options.write_timeout = Some(u.write_timeout);
        peer.options.idle_timeout = Some(u.idle_timeout);
        let hsts = config.internet.public_url.starts_with("https://");

        let throttle = crate::throttle::Throttle::new(&config.throttle);
        Ok(App {
            store,
            clock,
            hasher,
            mailer,
            signer,
            sessions,
            attempts,
            csrf_key,
            two_step_key,
            seed_key,
            sms,
            federation,
            cookies,
            peer,
            hsts,
            throttle,
            brand_ja: brand(&config.branding, true),
            brand_en: brand(&config.branding, false),
            passkeys,
            config,
        })
    }

    pub fn chrome(&self, req: &Req) -> Chrome {
        // A page shown after a POST switches language to a page that a GET
        // can show again (S: no dead ends).
        let here = if req.method == "GET" || req.method == "HEAD" {
            req.here()
        } else {
            req.after_post.unwrap_or(&req.path).to_string()
        };
        let brand = match req.lang {
            sekisho_pages::Lang::Ja => self.brand_ja.clone(),
            sekisho_pages::Lang::En => self.brand_en.clone(),
        };
        Chrome::new(req.lang, &self.config.service_name, &here).with_brand(brand)
    }

    /// The error page for `status`, in the request's language, with the
    /// ways back and a reference that the log line below carries too.
    pub fn error_page(&self, req: &Req, status: u16) -> Answer {
        let c = self.chrome(req);
        let t = c.t;
        let (title, text) = error_texts(t, status);
        // The request's id, which the access log and the upstream carry
        // too; a reference of its own when there is none.
        let reference = if req.request_id.is_empty() {
            crate::crypto::reference()
        } else {
            req.request_id.clone()
        };
        if status >= 500 {
            tracing::warn!(reference = %reference, status, path = %req.path, route = req.route.as_str(), "error page");
        } else {
            tracing::info!(reference = %reference, status, path = %req.path, route = req.route.as_str(), "error page");
        }
        let here = req.here();
        let mut links = Vec::new();
        let repeatable = req.method == "GET" || req.method == "HEAD";
        if matches!(status, 429 | 502 | 503) && repeatable {
            links.push((here.as_str(), t.way_retry));
        }
        if req.cookies.session().is_some() {
            links.push(("/", t.way_service));
            links.push((paths::MENU, t.way_menu));
        } else {
            links.push((paths::LOGIN, t.back_to_login));
        }
        if let Some(contact) = &c.brand.contact {
            links.push((contact.as_str(), t.way_contact));
        }
        Answer::html(
            status,
            render(&MessagePage {
                c: &c,
                title,
                text,
                checks: Vec::new(),
                links,
                reference: Some(&reference),
            }),
        )
    }

    /// A page with a title, a sentence and one link.
    pub fn message_page(
        &self,
        req: &Req,
        status: u16,
        title: &str,
        text: &str,
        link: Option<(&str, &str)>,
    ) -> Answer {
        self.page_with_ways(req, status, title, text, link.into_iter().collect())
    }

    /// A page with a title, a sentence and its ways on, the main one first.
    pub fn page_with_ways(
        &self,
        req: &Req,
        status: u16,
        title: &str,
        text: &str,
        links: Vec<(&str, &str)>,
    ) -> Answer {
        let c = self.chrome(req);
        Answer::html(
            status,
            render(&MessagePage {
                c: &c,
                title,
                text,
                checks: Vec::new(),
                links,
                reference: None,
            }),
        )
    }

    /// The public URL of a route's listener (the internet one when there
    /// is no closed listener).
    pub fn public_url(&self, route: sekisho_policy::model::Route) -> &str {
        match (route, &self.config.closed) {
            (sekisho_policy::model::Route::Closed, Some(c)) => &c.listener.public_url,
            _ => &self.config.internet.public_url,
        }
    }

    /// The pages' Content-Security-Policy, with the providers' origins in
    /// `form-action` (see `web::content_security_policy`).
    pub fn csp(&self) -> String {
        crate::web::content_security_policy(&self.federation.form_origins())
    }

    /// [`App::csp`] with a page's own extra origins (a tenant's ADFS).
    pub fn csp_with(&self, extra: &[String]) -> String {
        let mut origins = self.federation.form_origins();
        for o in extra {
            if !origins.contains(o) {
                origins.push(o.clone());
            }
        }
        crate::web::content_security_policy(&origins)
    }

    /// The CSRF token for a form bound to `binding`.
    pub fn csrf(&self, binding: &str) -> String {
        crate::crypto::csrf_token(&self.csrf_key, binding)
    }

    pub fn csrf_ok(&self, binding: &str, submitted: &str) -> bool {
        crate::crypto::csrf_valid(&self.csrf_key, binding, submitted)
    }

    /// Applies the per-address limit for `endpoint`; `Some` is the 429 page.
    pub fn throttled(&self, req: &Req, endpoint: &'static str) -> Option<Answer> {
        let ip: std::net::IpAddr = req.client_ip.parse().ok()?;
        let refused = self.throttle.check(ip).err()?;
        Some(self.throttle_page(req, endpoint, refused))
    }

    /// Applies the per-address and per-account limits for a request naming
    /// `account` (a canonical login identifier); `Some` is the 429 page.
    pub fn throttled_account(
        &self,
        req: &Req,
        endpoint: &'static str,
        account: &str,
    ) -> Option<Answer> {
        let ip: std::net::IpAddr = req.client_ip.parse().ok()?;
        let refused = self.throttle.check_account(ip, account).err()?;
        Some(self.throttle_page(req, endpoint, refused))
    }

    fn throttle_page(
        &self,
        req: &Req,
        endpoint: &'static str,
        (limit, wait): (crate::throttle::Limit, std::time::Duration),
    ) -> Answer {
        crate::metrics::THROTTLED
            .with_label_values(&[endpoint, limit.as_str()])
            .inc();
        crate::audit::event(
            crate::audit::Event::Throttled,
            &crate::audit::Who {
                client_ip: Some(&req.client_ip),
                ..Default::default()
            },
            &format!("{endpoint} {}", limit.as_str()),
        );
        let seconds = wait.as_secs().max(1);
        self.error_page(req, 429)
            .with_header("retry-after", seconds.to_string())
    }

    /// Sends a mail in the background, so the answer takes as long whether
    /// or not a mail went out (S03).
    pub fn send_mail_later(
        self: &std::sync::Arc<Self>,
        kind: &'static str,
        to: String,
        text: sekisho_pages::mail::MailText,
    ) {
        let app = self.clone();
        tokio::spawn(async move {
            let _ = app.mailer.send(kind, &to, &text).await;
        });
    }
}
