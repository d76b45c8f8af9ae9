//! Everything a request handler can reach, built once at start-up.

use crate::assertion::Signer;
use crate::clock::Clock;
use crate::hashing::Hasher;
use crate::mail::Mailer;
use crate::sessions::Sessions;
use crate::store::sqlite::SqliteStore;
use crate::store::SharedStore;
use crate::web::CookieNames;
use pingora::upstreams::peer::HttpPeer;
use sekisho_config::{Config, StoreBackend};
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: SharedStore,
    pub clock: Clock,
    pub hasher: Hasher,
    pub mailer: Arc<Mailer>,
    pub signer: Signer,
    pub sessions: Sessions,
    /// The lock's counting, over the store's counters.
    pub attempts: crate::attempts::Attempts,
    pub csrf: crate::crypto::CsrfKey,
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
    /// Device-bound sessions (DBSC, S62): the shared key of their
    /// challenges and bound cookies, and `[device_binding]`.
    pub dbsc: crate::dbsc::Dbsc,
    /// SCIM's door: tokens' rate and bodies' size (S65, S66).
    pub scim: crate::scim::Scim,
    /// The operator's breach list, mapped (S64); `None` when not configured.
    pub breached: Option<Arc<sekisho_breached::BreachedList>>,
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

/// Opens the configured store. Its failure counters are keyed under a
/// key from the seed key, kept outside the store (S58): set first, so
/// every part of the process keys alike.
pub fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    let seed_key = crate::seeds::load_key(&config.seed_key)?;
    crate::store::set_counter_key(crate::crypto::keyed_bytes(
        &seed_key,
        "failure-counters",
        &[],
    ));
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
    /// Checks a new password (the rule, and the breach list when there is
    /// one): every path that sets a password asks here (S04, S64).
    pub async fn check_new_password(
        &self,
        password: &str,
        confirmation: &str,
    ) -> Result<String, Vec<sekisho_policy::password::PasswordProblem>> {
        let typed = password.to_string();
        let normalized = sekisho_policy::password::normalize(password);
        let listed = self.breached_among(vec![typed, normalized]).await;
        sekisho_policy::password::check_new_password_with(password, confirmation, |p| {
            listed.iter().any(|l| l == p)
        })
    }

    /// Those of `passwords` on the operator's breach list. The look-up
    /// reads the mapped file, which may wait on the disk, so it runs on
    /// the blocking pool, never on the event loop.
    pub async fn breached_among(&self, passwords: Vec<String>) -> Vec<String> {
        let Some(list) = self.breached.clone() else {
            return Vec::new();
        };
        tokio::task::spawn_blocking(move || {
            passwords
                .into_iter()
                .filter(|p| !p.is_empty() && list.contains_password(p))
                .collect()
        })
        .await
        .unwrap_or_default()
    }

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
        let binding_key = rt
            .block_on(store.secret("device-binding", crate::crypto::random_bytes(32)))
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
        let mailer = Arc::new(Mailer::new(&config.mail)?);
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
        let breached = match &config.password.breached_filter_file {
            Some(file) => {
                let list = sekisho_breached::BreachedList::open(file)?;
                tracing::info!(target: "sekisho", entries = list.entries(), file = %file.display(), "breach list loaded");
                Some(Arc::new(list))
            }
            None => None,
        };
        let dbsc = crate::dbsc::Dbsc::new(binding_key, &config);
        let scim = crate::scim::Scim::new(&config.scim);
        Ok(App {
            dbsc,
            scim,
            breached,
            store,
            clock,
            hasher,
            mailer,
            signer,
            sessions,
            attempts,
            csrf: crate::crypto::CsrfKey(csrf_key),
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
}
