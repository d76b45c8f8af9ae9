//! The "pingora-bare" baseline: a minimal Pingora pass-through with the same
//! Pingora version, features and thread count as the gateway, and nothing
//! else. Usage: pingora-bare LISTEN UPSTREAM [THREADS]
//! (e.g. `pingora-bare 127.0.0.1:6188 127.0.0.1:9000 2`).

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
    proxy.add_tcp(listen);
    server.add_service(proxy);
    server.run_forever();
}
