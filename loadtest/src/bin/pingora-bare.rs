//! The "pingora-bare" baseline: a minimal Pingora pass-through with the same
//! Pingora version, features and thread count as the gateway, and nothing
//! else. Usage: pingora-bare LISTEN UPSTREAM [THREADS [CERT KEY]]
//! (e.g. `pingora-bare 127.0.0.1:6188 127.0.0.1:9000 2`). With a
//! certificate and key it listens over TLS, offering h2 and http/1.1 by
//! ALPN as the gateway does (P17).

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;
use std::net::SocketAddr;

/// The gateway's allocator, so the baseline measures only the gateway's work.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Pass {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Pass {
    type CTX = ();
    fn new_ctx(&self) {}
    async fn upstream_peer(&self, _s: &mut Session, _c: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (
        args.get(1),
        args.get(2).and_then(|u| u.parse::<SocketAddr>().ok()),
    ) else {
        eprintln!("usage: pingora-bare LISTEN UPSTREAM [THREADS]");
        std::process::exit(2);
    };
    let threads = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(2);
    let conf = ServerConf {
        threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, Pass { upstream });
    match (args.get(4), args.get(5)) {
        (Some(cert), Some(key)) => {
            let mut tls = pingora::listeners::tls::TlsSettings::intermediate(cert, key)
                .expect("TLS settings");
            tls.enable_h2();
            proxy.add_tls_with_settings(listen, None, tls);
        }
        _ => proxy.add_tcp(listen),
    }
    server.add_service(proxy);
    server.run_forever();
}
