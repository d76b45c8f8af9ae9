//! Sessions: a 256-bit random id in a cookie, the record in the store under
//! the id's hash, and a local cache of each session's view that is told of
//! changes instead of guessing.
//!
//! Revocation bound: a change made through this process (logout, rotation,
//! revoking a user's sessions) removes the cached entry at once. Every
//! store also tells every gateway of each change to a session, user or
//! tenant (`ChangeNotices::changes`): Redis and PostgreSQL push them, the
//! embedded store's change log is read every 100 ms (so an admin command's
//! change is seen within that). A view is used at most
//! `store.cache_max_age_ms` (default 60 s) whatever happens, which bounds a
//! lost notice; a lost channel drops every view at once.

use crate::assertion::{Claims, Signer};
use crate::crypto;
use crate::store::{SessionRecord, SessionStore, SessionView, StoreError, User};
use crate::view_cache::ViewCache;
use moka::sync::Cache;
use sekisho_policy::model::{LoginMethod, Route, UserStatus};
use sekisho_policy::session::{session_expiry, should_touch, SessionLimits};
use sekisho_policy::UnixTime;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Who a request is, as sent upstream in headers and the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub email: String,
    pub tenant_id: String,
    pub role: &'static str,
    pub plan: &'static str,
    pub method: &'static str,
    pub route: Route,
    pub line: Option<String>,
    /// The identity headers, built once per cached session rather than per
    /// request (a `HeaderValue` clone is a reference-count increment).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl Identity {
    pub fn of(view: &SessionView) -> Identity {
        let mut id = Identity {
            user_id: view.user.id.clone(),
            email: view.user.email.clone(),
            tenant_id: view.tenant.id.clone(),
            role: view.user.role.as_str(),
            plan: view.tenant.plan.as_str(),
            method: view.session.method.as_str(),
            route: view.session.route,
            line: view.session.line.clone(),
            headers: Vec::new(),
        };
        let value = |s: &str| {
            http::HeaderValue::from_str(s).unwrap_or_else(|_| http::HeaderValue::from_static(""))
        };
        let mut headers = vec![
            (
                http::HeaderName::from_static("x-auth-user"),
                value(&id.user_id),
            ),
            (
                http::HeaderName::from_static("x-auth-email"),
                value(&id.email),
            ),
            (
                http::HeaderName::from_static("x-auth-tenant"),
                value(&id.tenant_id),
            ),
            (
                http::HeaderName::from_static("x-auth-role"),
                http::HeaderValue::from_static(id.role),
            ),
            (
                http::HeaderName::from_static("x-auth-plan"),
                http::HeaderValue::from_static(id.plan),
            ),
            (
                http::HeaderName::from_static("x-auth-method"),
                http::HeaderValue::from_static(id.method),
            ),
            (
                http::HeaderName::from_static("x-auth-route"),
                http::HeaderValue::from_static(id.route.as_str()),
            ),
        ];
        if let Some(line) = &id.line {
            headers.push((http::HeaderName::from_static("x-auth-line"), value(line)));
        }
        id.headers = headers;
        id
    }
}

/// A session view as cached: the store's answer, the identity made of it,
/// and the assertion signed for that identity.
struct Cached {
    view: Arc<SessionView>,
    identity: Arc<Identity>,
    assertion: Arc<AssertionSlot>,
}

/// The assertion signed for one identity and its expiry, kept with the
/// cached view it was made of: a request finds its assertion without a
/// second cache look-up (about 1,000 instructions, P15). A view read again
/// starts with an empty slot, filled from the per-session cache.
type AssertionSlot = std::sync::Mutex<Option<(http::HeaderValue, UnixTime)>>;

/// A live session as a request sees it.
#[derive(Debug, Clone)]
pub struct Live {
    /// The SHA-256 the store files the session under (hex).
    pub id_hash: Arc<str>,
    pub view: Arc<SessionView>,
    pub identity: Arc<Identity>,
    assertion: Arc<AssertionSlot>,
}

struct CachedAssertion {
    identity: Arc<Identity>,
    token: http::HeaderValue,
    exp: UnixTime,
}

/// One store read of a session view, shared by every request that missed
/// the cache for it while the read was under way.
type Flight = Arc<tokio::sync::OnceCell<Result<Option<Arc<Cached>>, StoreError>>>;

pub struct Sessions {
    store: Arc<dyn SessionStore>,
    limits: SessionLimits,
    views: Option<ViewCache<Arc<Cached>>>,
    /// Reads under way, by id hash: a burst of requests of one session
    /// that all miss (an office at 9:00, a page's many assets) costs one
    /// store read, not one each.
    flights: std::sync::Mutex<std::collections::HashMap<String, Flight>>,
    /// Moves on at every invalidation: a read that was under way when a
    /// change was told may hold the old state, so it is not cached.
    generation: std::sync::atomic::AtomicU64,
    /// Last-seen times waiting to be written, flushed in one store step.
    touches: std::sync::Mutex<std::collections::HashMap<String, UnixTime>>,
    assertions: Cache<String, Arc<CachedAssertion>>,
    issuer: String,
    audience: String,
    assertion_lifetime: i64,
}

/// What starting a session needs to know.
pub struct NewSession<'a> {
    pub user: &'a User,
    pub route: Route,
    pub method: LoginMethod,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
    /// The line of a closed-route login.
    pub line: Option<&'a str>,
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, cfg: &sekisho_config::Config) -> Sessions {
        let ttl = cfg.store.cache_max_age;
        let lifetime = cfg.assertion.lifetime;
        Sessions {
            store,
            limits: SessionLimits {
                idle_seconds: cfg.session.idle.as_secs() as i64,
                absolute_seconds: cfg.session.absolute.as_secs() as i64,
            },
            views: (!ttl.is_zero()).then(|| ViewCache::new(200_000, ttl)),
            touches: std::sync::Mutex::new(std::collections::HashMap::new()),
            flights: std::sync::Mutex::new(std::collections::HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            assertions: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(lifetime)
                .build(),
            issuer: cfg.internet.public_url.clone(),
            audience: cfg.upstream.audience.clone(),
            assertion_lifetime: lifetime.as_secs() as i64,
        }
    }

    /// Resolves a cookie value to a live session, or `None` when it is not
    /// one (unknown, expired, user gone or not active). Expired records
    /// are deleted on sight. Store trouble is an error: the caller fails
    /// closed.
    pub async fn resolve(&self, cookie: &str, now: UnixTime) -> Result<Option<Live>, StoreError> {
        if !crypto::looks_like_token(cookie) {
            return Ok(None);
        }
        // A cached view is found by the cookie's tag: no SHA-256 for it.
        let at = std::time::Instant::now();
        let tag = self.views.as_ref().map(|c| c.tag(cookie));
        let hit = self
            .views
            .as_ref()
            .zip(tag)
            .and_then(|(c, tag)| c.get(tag, at));
        let (cached, id_hash) = match hit {
            Some(found) => {
                crate::metrics::SESSION_CACHE_HIT.inc();
                found
            }
            None => {
                let id_hash: Arc<str> = Arc::from(crypto::token_hash(cookie));
                match self.read_view(&id_hash, tag).await {
                    Ok(Some(c)) => (c, id_hash),
                    Ok(None) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
        let s = &cached.view.session;
        if session_expiry(self.limits, s.created_at, s.last_seen, now).is_some() {
            self.forget(&id_hash);
            let _ = self.store.delete_session(&id_hash).await;
            return Ok(None);
        }
        // A lock guards the login, not sessions already open: otherwise ten
        // wrong passwords from anyone would log the owner out everywhere.
        // A user the directory deactivated has no session, even one that
        // raced the deactivation (S65).
        if cached.view.user.status != UserStatus::Active || !cached.view.user.active() {
            self.forget(&id_hash);
            return Ok(None);
        }
        let cached = if should_touch(s.last_seen, now) {
            self.touch(&id_hash, tag, &cached, now)
        } else {
            cached
        };
        Ok(Some(Live {
            id_hash,
            view: cached.view.clone(),
            identity: cached.identity.clone(),
            assertion: cached.assertion.clone(),
        }))
    }

    /// After a change: reads under way (of `id_hash`, or all) are not
    /// cached, and requests after this point start a read of their own.
    fn invalidated(&self, id_hash: Option<&str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut flights) = self.flights.lock() {
            match id_hash {
                Some(h) => {
                    flights.remove(h);
                }
                None => flights.clear(),
            }
        }
    }

    /// A cache miss: the store's view, read once for every request that
    /// missed it meanwhile, and cached.
    async fn read_view(
        &self,
        id_hash: &str,
        tag: Option<crate::view_cache::Tag>,
    ) -> Result<Option<Arc<Cached>>, StoreError> {
        let flight = match self.flights.lock() {
            Ok(mut flights) => flights.entry(id_hash.to_string()).or_default().clone(),
            Err(_) => Flight::default(),
        };
        let result = flight
            .get_or_init(|| async {
                let before = self.generation.load(Ordering::Acquire);
                match self.store.session_view(id_hash).await {
                    Ok(Some(mut v)) => {
                        // A last-seen time not yet flushed to the store is
                        // still this session's: a view read again after a
                        // change notice must not lose it (the idle timeout).
                        if let Some(seen) = self
                            .touches
                            .lock()
                            .ok()
                            .and_then(|t| t.get(id_hash).copied())
                        {
                            v.session.last_seen = v.session.last_seen.max(seen);
                        }
                        let c = Arc::new(Cached {
                            identity: Arc::new(Identity::of(&v)),
                            view: Arc::new(v),
                            assertion: Arc::default(),
                        });
                        if let Some((cache, tag)) = self.views.as_ref().zip(tag) {
                            crate::metrics::SESSION_CACHE_MISS.inc();
                            cache.insert_if(
                                tag,
                                id_hash,
                                c.clone(),
                                std::time::Instant::now(),
                                || self.generation.load(Ordering::Acquire) == before,
                            );
                        }
                        Ok(Some(c))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => {
                        crate::metrics::STORE_ERRORS
                            .with_label_values(&["session_view"])
                            .inc();
                        Err(e)
                    }
                }
            })
            .await
            .clone();
        if let Ok(mut flights) = self.flights.lock() {
            if flights
                .get(id_hash)
                .is_some_and(|f| Arc::ptr_eq(f, &flight))
            {
                flights.remove(id_hash);
            }
        }
        result
    }

    /// Moves last-seen forward: in the cache at once; in the store with the
    /// next flush (a lost flush only shortens the idle window a little).
    fn touch(
        &self,
        id_hash: &str,
        tag: Option<crate::view_cache::Tag>,
        cached: &Arc<Cached>,
        now: UnixTime,
    ) -> Arc<Cached> {
        let mut view = (*cached.view).clone();
        view.session.last_seen = now;
        let fresh = Arc::new(Cached {
            view: Arc::new(view),
            identity: cached.identity.clone(),
            assertion: cached.assertion.clone(),
        });
        if let Some((c, tag)) = self.views.as_ref().zip(tag) {
            c.replace(tag, fresh.clone());
        }
        if let Ok(mut pending) = self.touches.lock() {
            pending.insert(id_hash.to_string(), now);
        }
        fresh
    }

    /// Writes the waiting last-seen times (called every few seconds).
    pub async fn flush_touches(&self) {
        if let Some(cache) = &self.views {
            cache.sweep(std::time::Instant::now());
            crate::metrics::SESSIONS_CACHED.set(cache.len() as i64);
        }
        let batch: Vec<(String, UnixTime)> = match self.touches.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return,
        };
        if !batch.is_empty() && self.store.touch_sessions(batch).await.is_err() {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["touch_sessions"])
                .inc();
        }
    }

    /// Starts a session and returns the cookie value. With `replacing`, the
    /// browser's previous session is deleted in the same store step (a new
    /// id at every privilege change, S29).
    pub async fn start(
        &self,
        new: NewSession<'_>,
        replacing: Option<&str>,
        now: UnixTime,
    ) -> Result<String, StoreError> {
        self.start_noting(new, replacing, now, None)
            .await
            .map(|(cookie, _)| cookie)
    }

    /// [`Self::start`] for a sign-in whose browser is noted on its user in
    /// the same transaction (S63): what the browser was to the user, when
    /// a note was given.
    pub async fn start_noting(
        &self,
        new: NewSession<'_>,
        replacing: Option<&str>,
        now: UnixTime,
        note: Option<crate::store::BrowserNote>,
    ) -> Result<(String, Option<crate::store::BrowserSeen>), StoreError> {
        let cookie = crypto::random_token();
        let record = SessionRecord {
            id_hash: crypto::token_hash(&cookie),
            user_id: new.user.id.clone(),
            tenant_id: new.user.tenant_id.clone(),
            created_at: now,
            last_seen: now,
            expires_at: now + self.limits.absolute_seconds,
            route: new.route,
            method: new.method,
            client_ip: new.client_ip.to_string(),
            user_agent: new.user_agent.to_string(),
            line: new.line.map(str::to_string),
            binding: None,
        };
        let old_hash = replacing
            .filter(|c| crypto::looks_like_token(c))
            .map(crypto::token_hash);
        if let Some(old) = &old_hash {
            self.forget(old);
        }
        let result = match (note, &old_hash) {
            (Some(note), _) => self
                .store
                .start_session_noting(record, old_hash.as_deref(), note)
                .await
                .map(Some),
            (None, Some(old)) => self.store.rotate_session(old, record).await.map(|_| None),
            (None, None) => self.store.create_session(record).await.map(|_| None),
        };
        let seen = result.inspect_err(|_| {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["create_session"])
                .inc()
        })?;
        Ok((cookie, seen))
    }

    /// Ends the session with this id hash.
    pub async fn end(&self, id_hash: &str) -> Result<(), StoreError> {
        self.forget(id_hash);
        self.store.delete_session(id_hash).await
    }

    /// Drops a session from the local caches.
    /// Drops every cached session of a tenant, after a change of its
    /// settings (access route, lines, two-step) made in this process: open
    /// sessions see it on their next request.
    pub fn forget_tenant(&self, tenant_id: &str) {
        self.invalidated(None);
        if let Some(c) = &self.views {
            c.retain(|v| v.view.tenant.id != tenant_id);
        }
    }

    /// Drops every cached session of a user (changed or removed elsewhere).
    pub fn forget_user(&self, user_id: &str) {
        self.invalidated(None);
        if let Some(c) = &self.views {
            c.retain(|v| v.view.user.id != user_id);
        }
    }

    /// Applies a change notice from the store (another gateway's, or this
    /// one's): what it names is read from the store again.
    pub fn apply(&self, change: &crate::store::Change) {
        use crate::store::Change;
        match change {
            Change::Session(h) => self.forget(h),
            Change::User(u) => self.forget_user(u),
            Change::Tenant(t) => self.forget_tenant(t),
            Change::Everything => {
                self.invalidated(None);
                if let Some(c) = &self.views {
                    c.clear();
                }
            }
        }
    }

    pub fn forget(&self, id_hash: &str) {
        self.invalidated(Some(id_hash));
        if let Some(c) = &self.views {
            c.remove_session(id_hash);
        }
        if let Ok(mut pending) = self.touches.lock() {
            pending.remove(id_hash);
        }
        self.assertions.invalidate(id_hash);
    }

    /// The signed assertion for a live session, re-signed only when the
    /// identity changed or it has less than a minute left.
    pub fn assertion(&self, live: &Live, signer: &Signer, now: UnixTime) -> http::HeaderValue {
        if let Some((token, exp)) = live.assertion.lock().ok().and_then(|s| s.clone()) {
            if exp - now > 60 {
                return token;
            }
        }
        // A view read again (its age, a change elsewhere) has an empty
        // slot: the assertion kept by session still serves while its
        // identity is the same, so a refresh of many views signs nothing
        // (P3). Without a view cache this is the only place it is kept.
        if let Some(c) = self.assertions.get(&*live.id_hash) {
            if (Arc::ptr_eq(&c.identity, &live.identity) || c.identity == live.identity)
                && c.exp - now > 60
            {
                if let Ok(mut slot) = live.assertion.lock() {
                    *slot = Some((c.token.clone(), c.exp));
                }
                return c.token.clone();
            }
        }
        let id = &live.identity;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: id.user_id.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.assertion_lifetime,
            email: id.email.clone(),
            tenant: id.tenant_id.clone(),
            role: id.role.to_string(),
            plan: id.plan.to_string(),
            method: id.method.to_string(),
            route: id.route.as_str().to_string(),
            line: id.line.clone(),
        };
        let token = http::HeaderValue::from_str(&signer.sign(&claims))
            .expect("a JWT is a valid header value");
        if let Ok(mut slot) = live.assertion.lock() {
            *slot = Some((token.clone(), claims.exp));
        }
        self.assertions.insert(
            live.id_hash.to_string(),
            Arc::new(CachedAssertion {
                identity: live.identity.clone(),
                token: token.clone(),
                exp: claims.exp,
            }),
        );
        token
    }
}
