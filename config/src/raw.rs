//! The file format, exactly as an operator writes it. Every table refuses
//! unknown keys, so a typo is an error that names the key, not a silent
//! default. Defaults live here; meaning and cross-checks live in `validate`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The product name used in pages and mail (【…】 in subjects).
    #[serde(default = "default_service_name")]
    pub service_name: String,
    pub internet: RawListener,
    /// The closed-network listener for line authentication (回線認証);
    /// absent: no closed route.
    #[serde(default)]
    pub closed: Option<RawClosed>,
    pub upstream: RawUpstream,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub session: RawSession,
    #[serde(default)]
    pub password_hashing: RawHashing,
    /// New passwords checked against the operator's breach list.
    #[serde(default)]
    pub password: RawPassword,
    /// The mail sent on a sign-in from a browser the account has not used.
    #[serde(default)]
    pub new_device: RawNewDevice,
    /// Device-bound sessions (DBSC).
    #[serde(default)]
    pub device_binding: RawDeviceBinding,
    /// SCIM provisioning from each tenant's directory.
    #[serde(default)]
    pub scim: RawScim,
    pub mail: RawMail,
    pub assertion: RawAssertion,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub http2: RawHttp2,
    #[serde(default)]
    pub lock: RawLock,
    #[serde(default)]
    pub throttle: RawThrottle,
    #[serde(default)]
    pub two_step: RawTwoStep,
    /// OpenID providers offered on the login and registration pages.
    #[serde(default)]
    pub federation: RawFederation,
    /// Absent: SMS is not offered and two-step set-up uses the
    /// authenticator app only.
    #[serde(default)]
    pub sms: Option<RawSms>,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub logging: RawLogging,
    /// Where audit events go beside the logs, and how long the console
    /// shows them.
    #[serde(default)]
    pub audit: RawAudit,
    /// OpenTelemetry traces over OTLP; absent: none.
    #[serde(default)]
    pub traces: Option<RawTraces>,
    /// Passkeys (WebAuthn): on by default wherever the internet route's
    /// host is a domain name.
    #[serde(default)]
    pub passkeys: RawPasskeys,
    #[serde(default)]
    pub development: RawDevelopment,
    /// The operator's logo, favicon, colour and footer links.
    #[serde(default)]
    pub branding: RawBranding,
}

fn default_service_name() -> String {
    "おまかせクラウドストレージ".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub listen: String,
    pub public_url: String,
    pub tls: Option<RawTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClosed {
    pub listen: String,
    pub public_url: String,
    pub tls: Option<RawTls>,
    /// The header the carrier edge puts the line number in.
    #[serde(default = "default_line_header")]
    pub line_header: String,
    /// Peers (CIDRs) whose line header is believed.
    #[serde(default)]
    pub trusted_edges: Vec<String>,
    /// Source networks that are a line by themselves (no header needed).
    #[serde(default)]
    pub static_lines: Vec<RawStaticLine>,
}

fn default_line_header() -> String {
    "X-Line-Id".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaticLine {
    pub cidr: String,
    pub line: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert_file: String,
    pub key_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub address: String,
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub sni: Option<String>,
    #[serde(default = "default_audience")]
    pub audience: String,
    #[serde(default = "d_3000")]
    pub connect_timeout_ms: u64,
    #[serde(default = "d_60000")]
    pub read_timeout_ms: u64,
    #[serde(default = "d_60000")]
    pub write_timeout_ms: u64,
    #[serde(default = "d_30000")]
    pub idle_timeout_ms: u64,
}

fn default_audience() -> String {
    "storage".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    #[serde(default = "default_backend")]
    pub backend: String,
    #[serde(default = "default_store_path")]
    pub path: String,
    #[serde(default = "d_2000")]
    pub timeout_ms: u64,
    /// The old name of `cache_max_age_ms`, from when the cache guessed:
    /// still read (at most 10000), and used when given.
    #[serde(default)]
    pub cache_ttl_ms: Option<u64>,
    /// The session cache's safety bound: the longest any cached view is
    /// used, whatever notices arrive (each change is told as it happens).
    #[serde(default = "d_60000")]
    pub cache_max_age_ms: u64,
    /// With `backend = "redis"`.
    #[serde(default)]
    pub redis: Option<RawRedis>,
    /// With `backend = "postgres"`.
    #[serde(default)]
    pub postgres: Option<RawPostgres>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    /// `postgres://host:port/database`, without credentials or options.
    #[serde(default)]
    pub url: Option<String>,
    /// The role the gateway signs in as.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Pooled connections per gateway process.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// `verify-full` (TLS, the server's name checked against its
    /// certificate) or `off` (a socket the operator trusts, e.g. loopback).
    #[serde(default = "default_postgres_tls")]
    pub tls: String,
    /// PEM file of the CA(s) to trust for TLS (a private CA); absent: the
    /// public web roots.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// `at-start` (each gateway brings the schema up to date, under an
    /// advisory lock) or `by-command` (only `sekisho admin migrate` does;
    /// a gateway refuses to start on an older schema).
    #[serde(default = "default_migrations")]
    pub migrations: String,
}

fn default_postgres_tls() -> String {
    "verify-full".into()
}
fn default_migrations() -> String {
    "at-start".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://host:port/db`, or `rediss://…` for TLS. With sentinels,
    /// only its scheme (TLS or not) and database are used.
    #[serde(default)]
    pub url: Option<String>,
    /// Redis Sentinel addresses (`redis://host:26379`): the gateway asks
    /// them for the primary, at start and after a failed call.
    #[serde(default)]
    pub sentinels: Vec<String>,
    /// The primary's name at the Sentinels.
    #[serde(default)]
    pub master_name: Option<String>,
    /// The ACL user (Redis 6+).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Every key starts with it: one Redis can hold several deployments.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Pooled connections per gateway process.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// PEM file of the CA(s) to trust for `rediss://` (a private CA);
    /// absent: the public web roots.
    #[serde(default)]
    pub ca_file: Option<String>,
}

fn default_key_prefix() -> String {
    "sekisho:".into()
}
fn default_pool_size() -> usize {
    16
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            backend: default_backend(),
            path: default_store_path(),
            timeout_ms: 2000,
            cache_ttl_ms: None,
            cache_max_age_ms: d_60000(),
            redis: None,
            postgres: None,
        }
    }
}

fn default_backend() -> String {
    "embedded".into()
}
fn default_store_path() -> String {
    "sekisho.sqlite3".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    #[serde(default = "d_30")]
    pub idle_minutes: u64,
    #[serde(default = "d_12")]
    pub absolute_hours: u64,
}

impl Default for RawSession {
    fn default() -> Self {
        RawSession {
            idle_minutes: 30,
            absolute_hours: 12,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHashing {
    #[serde(default = "d_19456")]
    pub memory_kib: u32,
    #[serde(default = "d_2u32")]
    pub iterations: u32,
    #[serde(default = "d_1u32")]
    pub parallelism: u32,
    /// Threads that hash; default: half the machine's cores (at least one).
    #[serde(default)]
    pub pool_threads: Option<usize>,
    #[serde(default = "d_64")]
    pub queue_capacity: usize,
    #[serde(default = "d_2000")]
    pub max_wait_ms: u64,
}

impl Default for RawHashing {
    fn default() -> Self {
        RawHashing {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            pool_threads: None,
            queue_capacity: 64,
            max_wait_ms: 2000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    pub from: String,
    /// `smtp` or `outbox`.
    pub transport: String,
    #[serde(default)]
    pub outbox_dir: Option<String>,
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    #[serde(default = "default_smtp_security")]
    pub security: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "d_10000")]
    pub timeout_ms: u64,
}

fn default_smtp_security() -> String {
    "starttls".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssertion {
    pub signing_key_file: String,
    /// Keys published in the JWKS beside the signing key, but not used to
    /// sign: the next key before a rotation, the previous one after it.
    #[serde(default)]
    pub also_publish_key_files: Vec<String>,
    #[serde(default = "d_300")]
    pub lifetime_seconds: u64,
    #[serde(default)]
    pub generate_if_missing: bool,
}

/// What the operator shows on every page, in Japanese and English as
/// `service_name` is one name for both.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBranding {
    /// PNG, SVG or WebP, at most 256 KiB: the header's logo.
    pub logo_file: Option<String>,
    /// ICO, PNG or SVG, at most 256 KiB.
    pub favicon_file: Option<String>,
    /// `#rrggbb` for buttons and links; white text must read on it.
    pub primary_colour: Option<String>,
    pub copyright_ja: Option<String>,
    pub copyright_en: Option<String>,
    /// The footer's links, in order.
    pub links: Vec<RawBrandLink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrandLink {
    /// `terms` (利用規約), `privacy` (プライバシーポリシー), `contact`
    /// (お問い合わせ, also offered on error pages) or `other`.
    pub kind: String,
    pub label_ja: String,
    pub label_en: String,
    pub url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    #[serde(default)]
    pub listen: Option<String>,
}

/// HTTP/2 on the TLS listeners (S60): offered by ALPN, with the limits the
/// rapid-reset and CONTINUATION attacks taught. Pingora's bounded defaults,
/// stated here.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawHttp2 {
    /// Offer h2 beside http/1.1 (nginx `http2 on`).
    pub enabled: bool,
    /// Streams open at once on one connection (nginx
    /// `http2_max_concurrent_streams`).
    pub max_concurrent_streams: u32,
    /// Largest decoded header list of a request, CONTINUATION frames
    /// included (nginx `large_client_header_buffers`).
    pub max_header_list_bytes: u32,
    /// Streams a client may reset before the gateway has taken them up;
    /// past it the connection ends with GOAWAY (rapid reset,
    /// CVE-2023-44487).
    pub max_pending_reset_streams: usize,
    /// Streams the gateway may have to reset for a client's protocol
    /// errors before the connection ends.
    pub max_error_reset_streams: usize,
    /// A connection with no stream open for this long is closed (nginx
    /// `keepalive_timeout` on HTTP/2).
    pub idle_timeout_ms: u64,
}

impl Default for RawHttp2 {
    fn default() -> Self {
        RawHttp2 {
            enabled: true,
            max_concurrent_streams: 100,
            max_header_list_bytes: 65536,
            max_pending_reset_streams: 20,
            max_error_reset_streams: 1024,
            idle_timeout_ms: 60000,
        }
    }
}

/// Limits on clients: the gateway's own forms, and every connection (each
/// key names its nginx equivalent in the README).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLimits {
    pub form_body_bytes: usize,
    /// Per-connection read buffer of the listeners. None by default: the
    /// connection guard reads each request's header into a buffer of its
    /// own, bodies are read past any buffer, and a buffer would stay with
    /// every idle keep-alive connection (Pingora's default of 64 KiB turns
    /// 10,000 of them into 640 MiB; even 1 KiB is 10 MiB, P8).
    pub client_read_buffer_bytes: usize,
    pub form_body_timeout_ms: u64,
    /// Longest wait for each read of a request body (nginx
    /// `client_body_timeout`).
    pub client_read_timeout_ms: u64,
    /// A request's whole header must arrive within this, from the
    /// connection's start or the request's first byte (nginx
    /// `client_header_timeout`, which nginx applies per read).
    pub header_timeout_ms: u64,
    /// A kept-alive connection that starts no new request within this is
    /// closed (nginx `keepalive_timeout`).
    pub keepalive_timeout_ms: u64,
    /// Largest request header; a larger one is answered 431 (nginx
    /// `large_client_header_buffers`).
    pub header_bytes: usize,
    /// Open connections one client address may hold (nginx `limit_conn`);
    /// the trusted proxies are exempt.
    pub connections_per_address: usize,
    /// Open connections in all (nginx `worker_connections`). Unset, as
    /// many as the process's open-file limit allows (two descriptors each,
    /// beside a reserve), up to 20,000.
    pub connections_total: Option<usize>,
    /// A TLS handshake must finish within this from accept (nginx
    /// `ssl_handshake_timeout`).
    pub tls_handshake_timeout_ms: u64,
    /// A proxied request body must arrive within this from the request's
    /// start, extended by a second for each `body_min_bytes_per_second`
    /// bytes received (Apache `mod_reqtimeout`'s `body=…,MinRate=…`): a
    /// trickle ends, a large upload at a sane rate never does.
    pub body_timeout_ms: u64,
    pub body_min_bytes_per_second: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            form_body_bytes: 16384,
            client_read_buffer_bytes: 0,
            form_body_timeout_ms: 10000,
            client_read_timeout_ms: 10000,
            header_timeout_ms: 10000,
            keepalive_timeout_ms: 60000,
            header_bytes: 32768,
            connections_per_address: 2048,
            connections_total: None,
            tls_handshake_timeout_ms: 10000,
            body_timeout_ms: 60000,
            body_min_bytes_per_second: 1024,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLock {
    /// Consecutive wrong passwords that lock an account.
    #[serde(default = "d_10u32")]
    pub threshold: u32,
    /// Least time between two unlock (or two reset) mails to one user.
    #[serde(default = "d_900")]
    pub mail_interval_seconds: u64,
    /// A run of wrong passwords (or codes) short of the threshold is
    /// forgotten after this long without an attempt (S51).
    #[serde(default = "d_24")]
    pub forget_after_hours: u64,
}

impl Default for RawLock {
    fn default() -> Self {
        RawLock {
            threshold: 10,
            mail_interval_seconds: 900,
            forget_after_hours: 24,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThrottle {
    /// Login, forgotten-password, unlock-resend, SMS and recovery-code
    /// requests per client address per minute (also the burst): a ceiling
    /// an office behind one address stays under.
    #[serde(default = "d_300u32")]
    pub per_ip_per_minute: u32,
    /// Login and forgotten-password requests for one account from one
    /// address per minute.
    #[serde(default = "d_5u32")]
    pub per_address_account_per_minute: u32,
    /// Login and forgotten-password requests for one account from every
    /// address together, per minute.
    #[serde(default = "d_20u32")]
    pub per_account_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

impl Default for RawThrottle {
    fn default() -> Self {
        RawThrottle {
            per_ip_per_minute: 300,
            per_address_account_per_minute: 5,
            per_account_per_minute: 20,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTwoStep {
    /// How long "remember this browser" lasts since the browser's last use.
    #[serde(default = "d_30")]
    pub trust_days: u64,
    /// Wrong codes (SMS, app, recovery) one user may enter, across logins,
    /// before the account locks (S24).
    #[serde(default = "d_30u32")]
    pub code_cap: u32,
    /// Lifetime of an SMS code.
    #[serde(default = "d_600")]
    pub sms_code_seconds: u64,
    /// Time to finish the second step after the password.
    #[serde(default = "d_900")]
    pub pending_seconds: u64,
    /// Least time between two SMS to one user.
    #[serde(default = "d_30")]
    pub sms_resend_seconds: u64,
    /// Most SMS to one user per hour.
    #[serde(default = "d_10u32")]
    pub sms_per_hour: u32,
    /// The key (32 random bytes as 64 hex digits) that seals the
    /// authenticator apps' seeds in the store (S50).
    #[serde(default)]
    pub seed_key_file: Option<String>,
    /// Make the seed key when its file is missing (demo and tests; in
    /// production give every gateway sharing a store the same key).
    #[serde(default)]
    pub generate_seed_key: bool,
}

impl Default for RawTwoStep {
    fn default() -> Self {
        RawTwoStep {
            trust_days: 30,
            code_cap: 30,
            sms_code_seconds: 600,
            pending_seconds: 900,
            sms_resend_seconds: 30,
            sms_per_hour: 10,
            seed_key_file: None,
            generate_seed_key: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFederation {
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    /// Facebook Login (OAuth 2.0, not OpenID Connect).
    #[serde(default)]
    pub facebook: Option<RawFacebook>,
    /// Per-tenant Active Directory (ADFS over OpenID Connect), set up by
    /// each contract holder; absent: not offered.
    #[serde(default)]
    pub active_directory: Option<RawActiveDirectory>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActiveDirectory {
    /// A file holding 32 random bytes as 64 hex digits: the key that seals
    /// each tenant's ADFS client secret in the store.
    pub secret_key_file: String,
    /// Lets holders enter `http://` issuers. Development and tests only.
    #[serde(default)]
    pub allow_http_issuers: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFacebook {
    pub client_id: String,
    pub client_secret_file: String,
    #[serde(default = "default_fb_authorize")]
    pub authorize_url: String,
    #[serde(default = "default_fb_token")]
    pub token_url: String,
    /// Answers `{"id": …}` for the access token.
    #[serde(default = "default_fb_user")]
    pub user_url: String,
}

fn default_fb_authorize() -> String {
    "https://www.facebook.com/v19.0/dialog/oauth".into()
}
fn default_fb_token() -> String {
    "https://graph.facebook.com/v19.0/oauth/access_token".into()
}
fn default_fb_user() -> String {
    "https://graph.facebook.com/v19.0/me?fields=id".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Which login method it is: `google`, `microsoft` or `daccount`.
    pub id: String,
    /// The OpenID issuer (discovery); defaults to the preset of `id`.
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    /// A file holding the client secret.
    pub client_secret_file: String,
    /// d ACCOUNT only: accept ID tokens signed with HS256 under the client
    /// secret, as docomo may send them. Every other provider, and d
    /// ACCOUNT without it, accepts asymmetric signatures only (S36).
    #[serde(default)]
    pub id_token_hs256: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSms {
    /// `http` (a provider's JSON API) or `outbox` (printed to the console).
    pub transport: String,
    #[serde(default)]
    pub http: Option<RawSmsHttp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmsHttp {
    /// The provider's endpoint; every message is one POST.
    pub url: String,
    /// The header carrying the credential, e.g. `Authorization`.
    #[serde(default = "default_auth_header")]
    pub auth_header: String,
    /// A file whose content (trimmed) is the header's value.
    pub auth_secret_file: String,
    /// The request body; `{{to}}` and `{{text}}` are replaced by the
    /// JSON-escaped number (E.164) and message.
    #[serde(default = "default_sms_body")]
    pub body: String,
    #[serde(default = "d_5000")]
    pub timeout_ms: u64,
}

fn default_auth_header() -> String {
    "Authorization".into()
}
fn default_sms_body() -> String {
    r#"{"to":"{{to}}","text":"{{text}}"}"#.into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default = "d_5")]
    pub grace_period_seconds: u64,
    #[serde(default = "d_5")]
    pub graceful_shutdown_timeout_seconds: u64,
    #[serde(default = "d_upgrade_socket")]
    pub upgrade_socket: String,
    #[serde(default)]
    pub pid_file: Option<String>,
}

fn d_upgrade_socket() -> String {
    "/run/sekisho/upgrade.sock".into()
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            threads: None,
            grace_period_seconds: 5,
            graceful_shutdown_timeout_seconds: 5,
            upgrade_socket: d_upgrade_socket(),
            pid_file: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPassword {
    /// The filter `sekisho admin breached-import` writes; absent: no list.
    #[serde(default)]
    pub breached_filter_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNewDevice {
    /// Browsers remembered per user; the oldest is forgotten past this.
    #[serde(default = "d_20")]
    pub browsers_kept: u64,
}

fn d_20() -> u64 {
    20
}

impl Default for RawNewDevice {
    fn default() -> Self {
        RawNewDevice {
            browsers_kept: d_20(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeviceBinding {
    /// Ask DBSC browsers to bind each new session to a key of theirs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Life of the bound cookie: how often a browser proves its key.
    #[serde(default = "d_600")]
    pub cookie_seconds: u64,
    /// Life of a registration or refresh challenge.
    #[serde(default = "d_300")]
    pub challenge_seconds: u64,
    /// After a binding, how long requests without the bound cookie count.
    #[serde(default = "d_60")]
    pub grace_seconds: u64,
    /// Where binding is required, how long a session may wait for its
    /// browser to register.
    #[serde(default = "d_60")]
    pub registration_window_seconds: u64,
}

fn d_60() -> u64 {
    60
}

impl Default for RawDeviceBinding {
    fn default() -> Self {
        RawDeviceBinding {
            enabled: yes(),
            cookie_seconds: d_600(),
            challenge_seconds: d_300(),
            grace_seconds: d_60(),
            registration_window_seconds: d_60(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScim {
    /// Offer SCIM 2.0 to tenants on the basic plan.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Requests a minute one token may make (its burst is the same).
    #[serde(default = "d_600")]
    pub requests_per_minute: u64,
    /// The largest request body read.
    #[serde(default = "d_65536")]
    pub body_bytes: u64,
}

fn d_65536() -> u64 {
    65_536
}

impl Default for RawScim {
    fn default() -> Self {
        RawScim {
            enabled: yes(),
            requests_per_minute: d_600(),
            body_bytes: d_65536(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// JSON lines appended here (one event each), beside the logs.
    #[serde(default)]
    pub file: Option<String>,
    /// Days the store keeps a tenant's events for its console.
    #[serde(default = "d_90")]
    pub keep_days: u64,
}

fn d_90() -> u64 {
    90
}

impl Default for RawAudit {
    fn default() -> Self {
        RawAudit {
            file: None,
            keep_days: 90,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPasskeys {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long a WebAuthn challenge may be answered.
    #[serde(default = "d_300")]
    pub challenge_seconds: u64,
    /// How recent a sign-in must be to register a passkey.
    #[serde(default = "d_600")]
    pub fresh_sign_in_seconds: u64,
}

fn yes() -> bool {
    true
}

impl Default for RawPasskeys {
    fn default() -> Self {
        RawPasskeys {
            enabled: true,
            challenge_seconds: 300,
            fresh_sign_in_seconds: 600,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraces {
    /// OTLP over HTTP with protobuf, e.g. `http://collector:4318/v1/traces`.
    pub otlp_endpoint: String,
    #[serde(default = "default_trace_service")]
    pub service_name: String,
    /// The share of new traces kept, 0 to 1; a trusted hop's decision is
    /// followed.
    #[serde(default = "default_sample")]
    pub sample_ratio: f64,
    #[serde(default = "d_5000")]
    pub export_interval_ms: u64,
    #[serde(default = "d_5000")]
    pub timeout_ms: u64,
}

fn default_trace_service() -> String {
    "sekisho".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    #[serde(default = "default_log_format")]
    pub format: String,
    #[serde(default = "default_log_level")]
    pub level: String,
    /// One line per request (target `access`), in the logs' format.
    #[serde(default)]
    pub access_log: bool,
    /// The share of requests the access log keeps, 0 to 1.
    #[serde(default = "default_sample")]
    pub access_log_sample: f64,
}

fn default_sample() -> f64 {
    1.0
}

impl Default for RawLogging {
    fn default() -> Self {
        RawLogging {
            format: default_log_format(),
            level: default_log_level(),
            access_log: false,
            access_log_sample: 1.0,
        }
    }
}

fn default_log_format() -> String {
    "json".into()
}
fn default_log_level() -> String {
    "info".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevelopment {
    /// Cookies without `Secure` and without the `__Host-` prefix, for a
    /// gateway reached over plain HTTP. Never in production.
    #[serde(default)]
    pub insecure_http_cookies: bool,
    /// Address of the built-in demo upstream, started in-process.
    #[serde(default)]
    pub demo_upstream_listen: Option<String>,
    /// A file holding a number of seconds added to the system clock, read on
    /// every clock call: lets tests move time by days without waiting.
    #[serde(default)]
    pub clock_offset_file: Option<String>,
    /// The benchmark's ablation: how much of the proxied path runs.
    #[serde(default)]
    pub proxy_steps: crate::ProxySteps,
}

fn d_3000() -> u64 {
    3000
}
fn d_60000() -> u64 {
    60000
}
fn d_30000() -> u64 {
    30000
}
fn d_2000() -> u64 {
    2000
}
fn d_10000() -> u64 {
    10000
}
fn d_30() -> u64 {
    30
}
fn d_12() -> u64 {
    12
}
fn d_300() -> u64 {
    300
}
fn d_5() -> u64 {
    5
}
fn d_19456() -> u32 {
    19456
}
fn d_2u32() -> u32 {
    2
}
fn d_1u32() -> u32 {
    1
}
fn d_64() -> usize {
    64
}
fn d_10u32() -> u32 {
    10
}
fn d_20u32() -> u32 {
    20
}
fn d_30u32() -> u32 {
    30
}
fn d_600() -> u64 {
    600
}
fn d_5000() -> u64 {
    5000
}
fn d_24() -> u64 {
    24
}
fn d_300u32() -> u32 {
    300
}
fn d_5u32() -> u32 {
    5
}
fn d_900() -> u64 {
    900
}
