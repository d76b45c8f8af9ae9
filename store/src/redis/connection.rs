//! The connections to Redis: a pool per server, TLS with a private CA,
//! and the primary found through Sentinel.

use crate::{StoreError, StoreResult};
use deadpool::managed::{Metrics, Object, RecycleError, RecycleResult};
use std::time::Duration;

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Asks the Sentinels for the primary, from synchronous start-up code.
pub(super) fn ask_sentinels_blocking(
    sentinels: &[::redis::ConnectionInfo],
    master: &str,
    ca_pem: Option<&[u8]>,
    timeout: Duration,
) -> StoreResult<(String, u16)> {
    let mut last = String::from("no sentinel answered");
    for s in sentinels {
        let Ok(client) = client_for(s.clone(), ca_pem) else {
            continue;
        };
        let asked = client
            .get_connection_with_timeout(timeout)
            .and_then(|mut conn| {
                ::redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(master)
                    .query::<Option<(String, u16)>>(&mut conn)
            });
        match asked {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => last = format!("the sentinels do not know master '{master}'"),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unavailable(format!("store.redis.sentinels: {last}")))
}

/// One Redis server and the connections to it.
pub(super) struct Node {
    pub(super) addr: String,
    pub(super) pool: Pool,
    pub(super) client: ::redis::Client,
}

/// Makes and checks the pool's connections to one server. A transaction
/// holds one alone while it WATCHes.
pub(super) struct Connections {
    client: ::redis::Client,
}

impl deadpool::managed::Manager for Connections {
    type Type = ::redis::aio::MultiplexedConnection;
    type Error = ::redis::RedisError;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        self.client.get_multiplexed_async_connection().await
    }

    async fn recycle(&self, conn: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        let pong: String = ::redis::cmd("PING").query_async(conn).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RecycleError::message("unexpected answer to PING"))
        }
    }
}

pub(super) type Pool = deadpool::managed::Pool<Connections>;

pub(super) type Pooled = Object<Connections>;

/// A client for `info`, trusting `ca_pem` for TLS when given.
pub(super) fn client_for(
    info: ::redis::ConnectionInfo,
    ca_pem: Option<&[u8]>,
) -> StoreResult<::redis::Client> {
    match ca_pem {
        Some(pem) => ::redis::Client::build_with_tls(
            info,
            ::redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        ),
        None => ::redis::Client::open(info),
    }
    .map_err(unavailable)
}

pub(super) fn node_for(
    info: ::redis::ConnectionInfo,
    ca_pem: Option<&[u8]>,
    pool_size: usize,
    timeout: Duration,
) -> StoreResult<Node> {
    let addr = info.addr().to_string();
    let client = client_for(info, ca_pem)?;
    let pool = Pool::builder(Connections {
        client: client.clone(),
    })
    .max_size(pool_size.max(1))
    .wait_timeout(Some(timeout))
    .create_timeout(Some(timeout))
    .recycle_timeout(Some(timeout))
    .runtime(deadpool::Runtime::Tokio1)
    .build()
    .map_err(unavailable)?;
    Ok(Node { addr, pool, client })
}

/// The template's connection to `host:port` (TLS when the template has it).
pub(super) fn at_address(
    template: &::redis::ConnectionInfo,
    host: String,
    port: u16,
) -> StoreResult<::redis::ConnectionInfo> {
    use ::redis::{ConnectionAddr, IntoConnectionInfo};
    let addr = match template.addr() {
        ConnectionAddr::TcpTls { insecure, .. } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: *insecure,
            tls_params: None,
        },
        _ => ConnectionAddr::Tcp(host, port),
    };
    Ok(addr
        .into_connection_info()
        .map_err(unavailable)?
        .set_redis_settings(template.redis_settings().clone()))
}
