//! Accounts: sessions, password hashing, the lock and throttle, two-step
//! verification and its SMS, passkeys, mail.

use crate::checker::*;
use crate::raw::*;
use crate::typed::*;
use std::path::PathBuf;
use std::time::Duration;

/// Session lifetimes ([session]).
pub(crate) fn session(c: &mut Checker, raw: &RawConfig) -> Session {
    let s = &raw.session;
    let idle_minutes = c.within(
        "session.idle_minutes",
        s.idle_minutes,
        1,
        525_600,
        "minutes (a year)",
    );
    let absolute_hours = c.within(
        "session.absolute_hours",
        s.absolute_hours,
        1,
        8_760,
        "hours (a year)",
    );
    if idle_minutes > absolute_hours * 60 {
        c.err(
            "session.idle_minutes",
            "must not exceed session.absolute_hours",
        );
    }

    Session {
        idle: Duration::from_secs(idle_minutes * 60),
        absolute: Duration::from_secs(absolute_hours * 3600),
    }
}

/// The breach list ([password]). Whether the file opens is checked at
/// start, where it is read (`preflight`).
pub(crate) fn password(c: &mut Checker, raw: &RawConfig) -> Password {
    Password {
        breached_filter_file: c.optional_path(
            "password.breached_filter_file",
            raw.password.breached_filter_file.as_deref(),
        ),
    }
}

/// The new-browser mail ([new_device]).
pub(crate) fn new_device(c: &mut Checker, raw: &RawConfig) -> NewDevice {
    let n = &raw.new_device;
    let kept = c.within(
        "new_device.browsers_kept",
        n.browsers_kept,
        1,
        200,
        "browsers",
    );
    NewDevice {
        browsers_kept: kept as usize,
    }
}

/// Device-bound sessions ([device_binding]).
pub(crate) fn device_binding(c: &mut Checker, raw: &RawConfig) -> DeviceBinding {
    let d = &raw.device_binding;
    let mut seconds = |key: &str, value: u64, min: u64, max: u64| {
        c.within(&format!("device_binding.{key}"), value, min, max, "seconds") as i64
    };
    let limits = sekisho_policy::binding::BindingLimits {
        cookie_seconds: seconds("cookie_seconds", d.cookie_seconds, 30, 86_400),
        challenge_seconds: seconds("challenge_seconds", d.challenge_seconds, 10, 3_600),
        grace_seconds: seconds("grace_seconds", d.grace_seconds, 0, 600),
        registration_window_seconds: seconds(
            "registration_window_seconds",
            d.registration_window_seconds,
            5,
            3_600,
        ),
    };
    DeviceBinding {
        enabled: d.enabled,
        limits,
    }
}

/// SCIM provisioning ([scim]): a token's rate and a request's size (S66).
pub(crate) fn scim(c: &mut Checker, raw: &RawConfig) -> Scim {
    let s = &raw.scim;
    let rate = c.within(
        "scim.requests_per_minute",
        s.requests_per_minute,
        1,
        60_000,
        "requests",
    );
    let body = c.within("scim.body_bytes", s.body_bytes, 1_024, 1_048_576, "bytes");
    Scim {
        enabled: s.enabled,
        requests_per_minute: rate as u32,
        body_bytes: body as usize,
    }
}

/// The argon2id pool ([password_hashing]).
pub(crate) fn hashing(c: &mut Checker, raw: &RawConfig) -> Hashing {
    let h = &raw.password_hashing;
    let cores = available_cores();
    let parallelism = c.within(
        "password_hashing.parallelism",
        u64::from(h.parallelism),
        1,
        16,
        "lanes",
    );
    if u64::from(h.memory_kib) < 8 * parallelism {
        c.err(
            "password_hashing.memory_kib",
            "must be at least 8 × parallelism",
        );
    }
    if h.memory_kib > 4 * 1024 * 1024 {
        c.err("password_hashing.memory_kib", "at most 4194304 (4 GiB)");
    }
    c.positive("password_hashing.iterations", h.iterations as u64);
    // Half the cores by default: a login flood must leave CPU for proxying.
    let pool_threads = h.pool_threads.unwrap_or((cores / 2).max(1));
    if pool_threads == 0 || pool_threads > 256 {
        c.err("password_hashing.pool_threads", "must be between 1 and 256");
    }
    c.positive("password_hashing.queue_capacity", h.queue_capacity as u64);
    let max_wait = c.timeout_ms("password_hashing.max_wait_ms", h.max_wait_ms);

    Hashing {
        memory_kib: h.memory_kib,
        iterations: h.iterations,
        parallelism: h.parallelism,
        pool_threads,
        queue_capacity: h.queue_capacity,
        max_wait,
    }
}

/// The account lock ([lock]).
pub(crate) fn lock(c: &mut Checker, raw: &RawConfig) -> Lock {
    if raw.lock.threshold == 0 || raw.lock.threshold > 1000 {
        c.err("lock.threshold", "must be between 1 and 1000");
    }

    Lock {
        threshold: raw.lock.threshold,
        mail_interval: Duration::from_secs(c.within(
            "lock.mail_interval_seconds",
            raw.lock.mail_interval_seconds,
            0,
            30 * 86_400,
            "seconds (30 days)",
        )),
        forget_after: Duration::from_secs(
            c.within(
                "lock.forget_after_hours",
                raw.lock.forget_after_hours,
                1,
                24 * 366,
                "hours (a year)",
            ) * 3600,
        ),
    }
}

/// The login throttle ([throttle]).
pub(crate) fn throttle(c: &mut Checker, raw: &RawConfig) -> Throttle {
    let per_minute = |c: &mut Checker, key: &str, v: u32| {
        c.within(key, u64::from(v), 1, 1_000_000, "requests a minute") as u32
    };
    let per_ip_per_minute = per_minute(
        c,
        "throttle.per_ip_per_minute",
        raw.throttle.per_ip_per_minute,
    );
    let per_address_account_per_minute = per_minute(
        c,
        "throttle.per_address_account_per_minute",
        raw.throttle.per_address_account_per_minute,
    );
    let per_account_per_minute = per_minute(
        c,
        "throttle.per_account_per_minute",
        raw.throttle.per_account_per_minute,
    );
    let mut trusted_proxies = Vec::new();
    for (i, cidr) in raw.throttle.trusted_proxies.iter().enumerate() {
        match cidr
            .parse::<ipnet::IpNet>()
            .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        {
            Ok(n) => trusted_proxies.push(n),
            Err(_) => c.err(
                &format!("throttle.trusted_proxies[{i}]"),
                format!("'{cidr}' is not an address or CIDR like 10.0.0.0/8"),
            ),
        }
    }

    Throttle {
        per_ip_per_minute,
        per_address_account_per_minute,
        per_account_per_minute,
        trusted_proxies,
    }
}

pub(crate) fn seed_key(c: &mut Checker, t: &RawTwoStep) -> SeedKey {
    let key = "two_step.seed_key_file";
    let Some(file) = &t.seed_key_file else {
        c.err(
            key,
            "required: a file of 32 random bytes as 64 hex digits (`openssl rand -hex 32`) that seals \
             the authenticator-app seeds in the store; every gateway sharing a store needs the same \
             one (or set two_step.generate_seed_key = true to make it)",
        );
        return SeedKey {
            file: PathBuf::new(),
            key: None,
            generate_if_missing: false,
        };
    };
    let path = c.path(file);
    let mut seed = SeedKey {
        file: path.clone(),
        key: None,
        generate_if_missing: t.generate_seed_key,
    };
    if !path.exists() && t.generate_seed_key {
        return seed;
    }
    let text = secret_file(c, key, file);
    match hex::decode(&text) {
        Ok(bytes) if bytes.len() == 32 => {
            let mut k = [0u8; 32];
            k.copy_from_slice(&bytes);
            seed.key = Some(k);
        }
        _ if text.is_empty() => {}
        _ => c.err(
            key,
            "must hold 32 random bytes as 64 hex digits (e.g. `openssl rand -hex 32`)",
        ),
    }
    seed
}

pub(crate) fn two_step(c: &mut Checker, t: &RawTwoStep) -> TwoStep {
    let trust_days = c.within("two_step.trust_days", t.trust_days, 1, 365, "days");
    if t.code_cap == 0 || t.code_cap > 1000 {
        c.err("two_step.code_cap", "must be between 1 and 1000");
    }
    if t.sms_code_seconds == 0 || t.sms_code_seconds > 600 {
        c.err(
            "two_step.sms_code_seconds",
            "must be between 1 and 600 (SMS codes live 10 minutes at most)",
        );
    }
    let pending = c.within(
        "two_step.pending_seconds",
        t.pending_seconds,
        1,
        86_400,
        "seconds (a day)",
    );
    if t.sms_per_hour == 0 {
        c.err("two_step.sms_per_hour", "must be greater than 0");
    }
    TwoStep {
        trust: Duration::from_secs(trust_days * 86_400),
        code_cap: t.code_cap,
        sms_code_lifetime: Duration::from_secs(t.sms_code_seconds),
        pending_lifetime: Duration::from_secs(pending),
        sms_resend_interval: Duration::from_secs(c.within(
            "two_step.sms_resend_seconds",
            t.sms_resend_seconds,
            0,
            3_600,
            "seconds",
        )),
        sms_per_hour: t.sms_per_hour,
    }
}

pub(crate) fn sms(c: &mut Checker, s: &RawSms) -> Sms {
    match (s.transport.as_str(), &s.http) {
        ("outbox", None) => Sms::Outbox,
        ("outbox", Some(_)) => {
            c.err("sms.http", "given, but sms.transport is 'outbox'");
            Sms::Outbox
        }
        ("http", None) => {
            c.err(
                "sms.http",
                "missing: sms.transport = 'http' needs an [sms.http] table",
            );
            Sms::Outbox
        }
        ("http", Some(h)) => Sms::Http(sms_http(c, h)),
        (other, _) => {
            c.err(
                "sms.transport",
                format!("'{other}' is not one of: http, outbox"),
            );
            Sms::Outbox
        }
    }
}

pub(crate) fn sms_http(c: &mut Checker, h: &RawSmsHttp) -> SmsHttp {
    let url_ok = (h.url.starts_with("https://") || h.url.starts_with("http://"))
        && http::Uri::try_from(h.url.as_str()).is_ok_and(|u| u.host().is_some());
    if !url_ok {
        c.err("sms.http.url", format!("'{}' is not an http(s) URL", h.url));
    }
    let auth_header = match http::HeaderName::try_from(h.auth_header.as_str()) {
        Ok(n) => n,
        Err(_) => {
            c.err(
                "sms.http.auth_header",
                format!("'{}' is not a header name", h.auth_header),
            );
            http::header::AUTHORIZATION
        }
    };
    let path = c.path(&h.auth_secret_file);
    let auth_value = match std::fs::read_to_string(&path) {
        Ok(v) if http::HeaderValue::try_from(v.trim()).is_ok() && !v.trim().is_empty() => {
            v.trim().to_string()
        }
        Ok(_) => {
            c.err(
                "sms.http.auth_secret_file",
                format!("{} is empty or not a valid header value", path.display()),
            );
            String::new()
        }
        Err(e) => {
            c.err(
                "sms.http.auth_secret_file",
                format!("cannot read {}: {e}", path.display()),
            );
            String::new()
        }
    };
    let sample = h
        .body
        .replace("{{to}}", "+819012345678")
        .replace("{{text}}", "sample \\\"text\\\"");
    if !h.body.contains("{{to}}") || !h.body.contains("{{text}}") {
        c.err("sms.http.body", "must contain both {{to}} and {{text}}");
    } else if serde_json::from_str::<serde_json::Value>(&sample).is_err() {
        c.err(
            "sms.http.body",
            "is not JSON once {{to}} and {{text}} are filled in (put them inside quotes)",
        );
    }
    SmsHttp {
        url: h.url.clone(),
        auth_header,
        auth_value,
        body: h.body.clone(),
        timeout: c.timeout_ms("sms.http.timeout_ms", h.timeout_ms),
    }
}

/// Passkeys ([passkeys]).
pub(crate) fn passkeys(c: &mut Checker, raw: &RawConfig) -> Passkeys {
    Passkeys {
        enabled: raw.passkeys.enabled,
        challenge_lifetime: Duration::from_secs(c.within(
            "passkeys.challenge_seconds",
            raw.passkeys.challenge_seconds,
            10,
            3600,
            "seconds",
        )),
        fresh_sign_in: Duration::from_secs(c.within(
            "passkeys.fresh_sign_in_seconds",
            raw.passkeys.fresh_sign_in_seconds,
            10,
            86_400,
            "seconds",
        )),
    }
}

/// Mail ([mail] and [mail.smtp]).
pub(crate) fn mail(c: &mut Checker, raw: &RawConfig) -> Mail {
    let m = &raw.mail;
    if !m.from.contains('@') {
        c.err("mail.from", format!("'{}' is not a mail address", m.from));
    }
    let transport = match m.transport.as_str() {
        "outbox" => {
            if m.smtp.is_some() {
                c.err("mail.smtp", "given, but mail.transport is 'outbox'");
            }
            MailTransport::Outbox {
                dir: m.outbox_dir.as_deref().map(|d| c.path(d)),
            }
        }
        "smtp" => match &m.smtp {
            None => {
                c.err(
                    "mail.smtp",
                    "missing: mail.transport = 'smtp' needs a [mail.smtp] table",
                );
                MailTransport::Outbox { dir: None }
            }
            Some(s) => MailTransport::Smtp(smtp(c, s)),
        },
        other => {
            c.err(
                "mail.transport",
                format!("'{other}' is not one of: smtp, outbox"),
            );
            MailTransport::Outbox { dir: None }
        }
    };

    Mail {
        from: m.from.clone(),
        transport,
    }
}

pub(crate) fn smtp(c: &mut Checker, s: &RawSmtp) -> Smtp {
    let security = match s.security.as_str() {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "none" => SmtpSecurity::None,
        other => {
            c.err(
                "mail.smtp.security",
                format!("'{other}' is not one of: starttls, tls, none"),
            );
            SmtpSecurity::StartTls
        }
    };
    if s.host.trim().is_empty() {
        c.err("mail.smtp.host", "must not be empty");
    }
    let port = s.port.unwrap_or(match security {
        SmtpSecurity::Tls => 465,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::None => 25,
    });
    let password = password_from(c, "mail.smtp", &s.password_file, &s.password_env);
    if password.is_some() && s.username.is_none() {
        c.err("mail.smtp.username", "a password is given but no username");
    }
    Smtp {
        host: s.host.clone(),
        port,
        security,
        username: s.username.clone(),
        password,
        timeout: c.timeout_ms("mail.smtp.timeout_ms", s.timeout_ms),
    }
}
