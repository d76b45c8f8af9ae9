//! The validated, typed configuration: what the gateway uses, with
//! addresses resolved, paths absolute, secrets read and durations typed;
//! and the keyed problems that refuse a file.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One problem in a configuration file, named by its key (`upstream.address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub service_name: String,
    pub internet: Listener,
    /// `None`: no closed-network route.
    pub closed: Option<Closed>,
    pub upstream: Upstream,
    pub store: Store,
    pub session: Session,
    pub hashing: Hashing,
    pub password: Password,
    pub new_device: NewDevice,
    pub device_binding: DeviceBinding,
    pub scim: Scim,
    pub mail: Mail,
    pub assertion: Assertion,
    pub metrics_listen: Option<SocketAddr>,
    pub limits: Limits,
    pub http2: Http2,
    pub lock: Lock,
    pub throttle: Throttle,
    pub two_step: TwoStep,
    /// The key that seals authenticator-app seeds in the store.
    pub seed_key: SeedKey,
    /// OpenID providers, in the order their buttons appear.
    pub providers: Vec<Provider>,
    /// Facebook Login, when configured.
    pub facebook: Option<Facebook>,
    /// Per-tenant Active Directory, when offered.
    pub active_directory: Option<ActiveDirectory>,
    /// `None`: SMS is not offered.
    pub sms: Option<Sms>,
    pub server: Server,
    pub logging: Logging,
    pub traces: Option<Traces>,
    pub audit: Audit,
    pub passkeys: Passkeys,
    pub development: Development,
    pub branding: Branding,
}

impl Config {
    /// The public URL of a route's listener (the internet one when there
    /// is no closed listener).
    pub fn public_url(&self, route: sekisho_policy::model::Route) -> &str {
        match (route, &self.closed) {
            (sekisho_policy::model::Route::Closed, Some(c)) => &c.listener.public_url,
            _ => &self.internet.public_url,
        }
    }
}

/// The operator's branding: logo, favicon, colour and footer.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    pub logo: Option<Asset>,
    pub favicon: Option<Asset>,
    /// `#rrggbb`, checked to carry white text at WCAG AA (4.5:1).
    pub primary_colour: Option<String>,
    pub copyright_ja: Option<String>,
    pub copyright_en: Option<String>,
    pub links: Vec<BrandLink>,
}

/// A file the gateway serves itself, read once at start.
#[derive(Clone)]
pub struct Asset {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Asset({}, {} bytes)",
            self.content_type,
            self.bytes.len()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandLink {
    /// `terms`, `privacy`, `contact` or `other`.
    pub kind: &'static str,
    pub label_ja: String,
    pub label_en: String,
    pub url: String,
}

/// A public listener and the URL people reach it by.
#[derive(Debug, Clone)]
pub struct Listener {
    pub listen: SocketAddr,
    /// Scheme, host and port, no trailing slash: `https://ff.example.net`.
    /// Every absolute link (mail included) is built from this, never from
    /// the request's `Host`.
    pub public_url: String,
    pub tls: Option<Tls>,
}

/// The closed-network listener and how it knows a request's line.
#[derive(Debug, Clone)]
pub struct Closed {
    pub listener: Listener,
    pub line_header: http::HeaderName,
    pub trusted_edges: Vec<ipnet::IpNet>,
    /// Source network → line, checked when no trusted edge named one.
    pub static_lines: Vec<(ipnet::IpNet, String)>,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    /// Resolved once at load (Pingora's peer resolves synchronously).
    pub address: SocketAddr,
    pub tls: bool,
    pub sni: String,
    /// The `aud` of the signed assertion.
    pub audience: String,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Where the store is: the embedded file, or the settings a shared
/// backend opens with (the store's own types, so nothing copies them).
#[derive(Debug, Clone)]
pub enum StoreBackend {
    /// The single-file embedded store.
    Embedded { path: PathBuf },
    /// Redis, shared by several gateways.
    Redis(sekisho_store::redis::RedisSettings),
    /// PostgreSQL, shared by several gateways.
    Postgres(sekisho_store::postgres::PostgresSettings),
}

#[derive(Debug, Clone)]
pub struct Store {
    pub backend: StoreBackend,
    /// Longest a store call may take before the request fails closed.
    pub timeout: Duration,
    /// How long a cached session view may be used at most (the safety
    /// bound; changes are told as they happen). Zero: no cache.
    pub cache_max_age: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub idle: Duration,
    pub absolute: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Hashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub pool_threads: usize,
    pub queue_capacity: usize,
    pub max_wait: Duration,
}

/// New passwords against the operator's breach list ([password]).
#[derive(Debug, Clone, Default)]
pub struct Password {
    pub breached_filter_file: Option<PathBuf>,
}

/// The new-browser mail and its 「心当たりがない場合」 link ([new_device]).
#[derive(Debug, Clone, Copy)]
pub struct NewDevice {
    pub browsers_kept: usize,
}

/// Device-bound sessions, DBSC ([device_binding]).
#[derive(Debug, Clone, Copy)]
pub struct DeviceBinding {
    /// Whether sign-ins ask DBSC browsers to register a key.
    pub enabled: bool,
    pub limits: sekisho_policy::binding::BindingLimits,
}

/// SCIM provisioning ([scim], S66).
#[derive(Debug, Clone, Copy)]
pub struct Scim {
    pub enabled: bool,
    pub requests_per_minute: u32,
    pub body_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub transport: MailTransport,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    Smtp(Smtp),
    /// Printed to the console and, when a folder is given, written there as
    /// one file per message.
    Outbox {
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    None,
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Assertion {
    pub signing_key_file: PathBuf,
    /// Published in the JWKS, never used to sign (key rotation).
    pub also_publish_key_files: Vec<PathBuf>,
    pub lifetime: Duration,
    pub generate_if_missing: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub form_body_bytes: usize,
    pub client_read_buffer_bytes: usize,
    pub form_body_timeout: Duration,
    pub client_read_timeout: Duration,
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub header_bytes: usize,
    pub connections_per_address: usize,
    /// Unset: as many as the open-file limit allows (the gateway decides
    /// at start, `descriptors`).
    pub connections_total: Option<usize>,
    pub tls_handshake_timeout: Duration,
    /// A proxied body's total time, before the extension its bytes earn.
    pub body_timeout: Duration,
    pub body_min_bytes_per_second: u64,
}

/// HTTP/2 on the TLS listeners (`[http2]`, S60).
#[derive(Debug, Clone, Copy)]
pub struct Http2 {
    pub enabled: bool,
    pub max_concurrent_streams: u32,
    pub max_header_list_bytes: u32,
    pub max_pending_reset_streams: usize,
    pub max_error_reset_streams: usize,
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Lock {
    pub threshold: u32,
    pub mail_interval: Duration,
    pub forget_after: Duration,
}

impl Lock {
    /// How wrong passwords count, per login identifier.
    pub fn password_rule(&self) -> sekisho_policy::lock::AttemptRule {
        sekisho_policy::lock::AttemptRule {
            threshold: self.threshold,
            forget_after: self.forget_after.as_secs() as i64,
        }
    }

    /// How wrong two-step codes count, per user, up to `code_cap`.
    pub fn code_rule(&self, code_cap: u32) -> sekisho_policy::lock::AttemptRule {
        sekisho_policy::lock::AttemptRule {
            threshold: code_cap,
            ..self.password_rule()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Throttle {
    pub per_ip_per_minute: u32,
    pub per_address_account_per_minute: u32,
    pub per_account_per_minute: u32,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The key that seals the authenticator apps' seeds in the store (S50):
/// kept outside the store, so a copy of the store yields no seed.
#[derive(Clone)]
pub struct SeedKey {
    pub file: PathBuf,
    /// `None` when the file is missing and may be made at start.
    pub key: Option<[u8; 32]>,
    pub generate_if_missing: bool,
}

impl fmt::Debug for SeedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedKey")
            .field("file", &self.file)
            .field("key", &self.key.map(|_| "[redacted]"))
            .field("generate_if_missing", &self.generate_if_missing)
            .finish()
    }
}

/// Two-step verification's thresholds (defaults from the manual).
#[derive(Debug, Clone, Copy)]
pub struct TwoStep {
    pub trust: Duration,
    pub code_cap: u32,
    pub sms_code_lifetime: Duration,
    pub pending_lifetime: Duration,
    pub sms_resend_interval: Duration,
    pub sms_per_hour: u32,
}

/// An OpenID Connect provider (authorization code with PKCE).
#[derive(Clone)]
pub struct Provider {
    pub method: sekisho_policy::model::LoginMethod,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// HS256 ID tokens under the client secret (d ACCOUNT only).
    pub id_token_hs256: bool,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("method", &self.method)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Facebook Login: OAuth 2.0 with its token and user endpoints.
#[derive(Clone)]
pub struct Facebook {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub user_url: String,
}

impl fmt::Debug for Facebook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facebook")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("user_url", &self.user_url)
            .finish()
    }
}

/// Per-tenant Active Directory: what the gateway needs to keep the
/// tenants' ADFS client secrets sealed.
#[derive(Clone)]
pub struct ActiveDirectory {
    pub secret_key: [u8; 32],
    pub allow_http_issuers: bool,
}

impl fmt::Debug for ActiveDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveDirectory")
            .field("secret_key", &"<redacted>")
            .field("allow_http_issuers", &self.allow_http_issuers)
            .finish()
    }
}

/// Where SMS codes go.
#[derive(Debug, Clone)]
pub enum Sms {
    /// Printed to the console (development and demo).
    Outbox,
    Http(SmsHttp),
}

/// A generic HTTP JSON SMS API.
#[derive(Clone)]
pub struct SmsHttp {
    pub url: String,
    pub auth_header: http::HeaderName,
    pub auth_value: String,
    pub body: String,
    pub timeout: Duration,
}

impl fmt::Debug for SmsHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsHttp")
            .field("url", &self.url)
            .field("auth_header", &self.auth_header)
            .field("auth_value", &"<redacted>")
            .field("body", &self.body)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Server {
    pub threads: usize,
    pub grace_period_seconds: u64,
    pub graceful_shutdown_timeout_seconds: u64,
    /// Where a new process asks this one for its listening sockets during
    /// an upgrade (a Unix socket path).
    pub upgrade_socket: PathBuf,
    /// Where the running process writes its id, so that `run --upgrade`
    /// knows whom to take over from.
    pub pid_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Passkeys (WebAuthn). The RP ID is the internet route's host.
#[derive(Debug, Clone)]
pub struct Passkeys {
    pub enabled: bool,
    pub challenge_lifetime: Duration,
    pub fresh_sign_in: Duration,
}

/// Where audit events go beside the logs.
#[derive(Debug, Clone)]
pub struct Audit {
    pub file: Option<PathBuf>,
    pub keep_days: u64,
}

/// Where and how traces go (OTLP over HTTP, protobuf).
#[derive(Debug, Clone)]
pub struct Traces {
    pub otlp_endpoint: String,
    pub service_name: String,
    pub sample_ratio: f64,
    pub export_interval: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Logging {
    pub format: LogFormat,
    pub level: String,
    /// Every n-th request goes to the access log (`None`: no access log).
    pub access_log_every: Option<u64>,
}

impl Config {
    /// Every address the gateway listens on, by its key: what start-up
    /// binds and what may not collide.
    pub fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut all = vec![("internet.listen", self.internet.listen)];
        if let Some(closed) = &self.closed {
            all.push(("closed.listen", closed.listener.listen));
        }
        all.extend(self.metrics_listen.map(|a| ("metrics.listen", a)));
        all.extend(
            self.development
                .demo_upstream_listen
                .map(|a| ("development.demo_upstream_listen", a)),
        );
        all
    }
}

#[derive(Debug, Clone, Default)]
pub struct Development {
    pub insecure_http_cookies: bool,
    pub demo_upstream_listen: Option<SocketAddr>,
    pub clock_offset_file: Option<PathBuf>,
    pub proxy_steps: ProxySteps,
}

/// How much of the proxied path runs, for the benchmark's ablation
/// (`loadtest/bench.sh`): each step adds one cost to the one before.
/// Anything but `full` forwards without the gateway's identity, so it is
/// refused outside development (`insecure_http_cookies`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxySteps {
    /// The session look-up and the verdict only.
    SessionOnly,
    /// … and removing client-sent identity headers and our cookies.
    Strip,
    /// … and the identity headers and `X-Forwarded-*`.
    Identity,
    /// … and the signed assertion.
    Assertion,
    /// … and the request metrics: the product.
    #[default]
    Full,
}
