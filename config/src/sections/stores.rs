//! The store and its backend's table.

use crate::checker::*;
use crate::raw::*;
use crate::typed::*;
use std::time::Duration;

/// The store ([store] and its backend's table).
pub(crate) fn store(c: &mut Checker, raw: &RawConfig) -> Store {
    let backend = match raw.store.backend.as_str() {
        "embedded" => {
            if raw.store.path.trim().is_empty() {
                c.err("store.path", "must name a file");
            }
            StoreBackend::Embedded {
                path: c.path(&raw.store.path),
            }
        }
        "redis" => match &raw.store.redis {
            Some(r) => redis_backend(c, r),
            None => {
                c.err(
                    "store.redis",
                    "backend = \"redis\" needs a [store.redis] table with its url",
                );
                StoreBackend::Embedded {
                    path: c.path(&raw.store.path),
                }
            }
        },
        "postgres" => match &raw.store.postgres {
            Some(p) => postgres_backend(c, p),
            None => {
                c.err(
                    "store.postgres",
                    "backend = \"postgres\" needs a [store.postgres] table with its url",
                );
                StoreBackend::Embedded {
                    path: c.path(&raw.store.path),
                }
            }
        },
        other => {
            c.err(
                "store.backend",
                format!("'{other}' is not one of: embedded, redis, postgres"),
            );
            StoreBackend::Embedded {
                path: c.path(&raw.store.path),
            }
        }
    };

    Store {
        backend,
        timeout: c.timeout_ms("store.timeout_ms", raw.store.timeout_ms),
        cache_max_age: match raw.store.cache_ttl_ms {
            Some(old) => {
                if old > 10_000 {
                    c.err(
                        "store.cache_ttl_ms",
                        "at most 10000 (the old name of cache_max_age_ms, which allows more)",
                    );
                }
                Duration::from_millis(old)
            }
            None => {
                if raw.store.cache_max_age_ms > 600_000 {
                    c.err(
                        "store.cache_max_age_ms",
                        "at most 600000: it bounds how long a lost change notice can go unseen",
                    );
                }
                Duration::from_millis(raw.store.cache_max_age_ms)
            }
        },
    }
}

pub(crate) fn redis_backend(c: &mut Checker, r: &RawRedis) -> StoreBackend {
    let redis_url = |u: &str| {
        (u.starts_with("redis://") || u.starts_with("rediss://"))
            && u.split("://").nth(1).is_some_and(|rest| !rest.is_empty())
    };
    let url = r.url.as_deref().unwrap_or("").trim().to_string();
    match (url.is_empty(), r.sentinels.is_empty()) {
        (true, true) => c.err(
            "store.redis.url",
            "give the server's url, or sentinels and master_name",
        ),
        (false, _) if !redis_url(&url) => c.err(
            "store.redis.url",
            format!("'{url}' is not a redis:// or rediss:// (TLS) URL"),
        ),
        _ => {}
    }
    if url.contains('@') {
        c.err(
            "store.redis.url",
            "keep credentials out of the URL: use username and password_file or password_env",
        );
    }
    for (i, s) in r.sentinels.iter().enumerate() {
        if !redis_url(s.trim()) || s.contains('@') {
            c.err(
                &format!("store.redis.sentinels[{i}]"),
                format!("'{s}' is not a redis:// or rediss:// address without credentials"),
            );
        }
    }
    let master_name = r.master_name.clone().unwrap_or_default();
    if !r.sentinels.is_empty() && master_name.trim().is_empty() {
        c.err(
            "store.redis.master_name",
            "sentinels need the name they monitor the primary under",
        );
    }
    let password = password_from(c, "store.redis", &r.password_file, &r.password_env);
    if r.key_prefix.is_empty()
        || r.key_prefix
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
    {
        c.err(
            "store.redis.key_prefix",
            "must be a non-empty word without spaces, e.g. \"sekisho:\"",
        );
    }
    if r.pool_size == 0 || r.pool_size > 1024 {
        c.err("store.redis.pool_size", "must be between 1 and 1024");
    }
    let ca_pem = ca_pem_from(c, "store.redis.ca_file", &r.ca_file);
    StoreBackend::Redis(sekisho_store::redis::RedisSettings {
        url,
        sentinels: r.sentinels.iter().map(|s| s.trim().to_string()).collect(),
        master_name,
        username: r.username.clone(),
        password,
        key_prefix: r.key_prefix.clone(),
        pool_size: r.pool_size,
        ca_pem,
    })
}

pub(crate) fn postgres_backend(c: &mut Checker, p: &RawPostgres) -> StoreBackend {
    let url = p.url.as_deref().unwrap_or("").trim().to_string();
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"));
    match rest {
        _ if url.is_empty() => c.err(
            "store.postgres.url",
            "give the server's url, e.g. postgres://db.internal:5432/sekisho",
        ),
        None | Some("") => c.err(
            "store.postgres.url",
            format!("'{url}' is not a postgres:// URL"),
        ),
        Some(rest) if rest.contains('@') => c.err(
            "store.postgres.url",
            "keep credentials out of the URL: use username and password_file or password_env",
        ),
        Some(rest) if rest.contains('?') => c.err(
            "store.postgres.url",
            "give TLS and the rest as [store.postgres] keys, not URL options",
        ),
        Some(rest) if !rest.contains('/') || rest.ends_with('/') => c.err(
            "store.postgres.url",
            format!("'{url}' names no database: postgres://host:port/database"),
        ),
        Some(_) => {}
    }
    let password = password_from(c, "store.postgres", &p.password_file, &p.password_env);
    if p.pool_size == 0 || p.pool_size > 1024 {
        c.err("store.postgres.pool_size", "must be between 1 and 1024");
    }
    let tls = match p.tls.as_str() {
        "verify-full" => true,
        "off" => false,
        other => {
            c.err(
                "store.postgres.tls",
                format!("'{other}' is not one of: verify-full, off"),
            );
            true
        }
    };
    let ca_pem = ca_pem_from(c, "store.postgres.ca_file", &p.ca_file);
    if ca_pem.is_some() && !tls {
        c.err(
            "store.postgres.ca_file",
            "a CA is for TLS: set tls = \"verify-full\" or remove ca_file",
        );
    }
    let migrate_at_start = match p.migrations.as_str() {
        "at-start" => true,
        "by-command" => false,
        other => {
            c.err(
                "store.postgres.migrations",
                format!("'{other}' is not one of: at-start, by-command"),
            );
            true
        }
    };
    StoreBackend::Postgres(sekisho_store::postgres::PostgresSettings {
        url,
        username: p.username.clone(),
        password,
        pool_size: p.pool_size,
        tls,
        ca_pem,
        migrate_at_start,
    })
}
