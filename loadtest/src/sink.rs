//! A streaming upstream for the transfer benchmarks: it drains any request
//! body (answering with the byte count) and serves `GET /big?bytes=N` as a
//! stream of N bytes. Neither direction is ever held in memory.

use crate::http::Stream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

async fn handle(req: Request<Incoming>) -> Result<Response<crate::http::ReqBody>, hyper::Error> {
    if req.method() == hyper::Method::GET && req.uri().path() == "/big" {
        let bytes: u64 = req
            .uri()
            .query()
            .and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "bytes")
                    .and_then(|(_, v)| v.parse().ok())
            })
            .unwrap_or(1 << 30);
        return Ok(Response::builder()
            .header("content-length", bytes.to_string())
            .body(Stream::body(bytes))
            .expect("response"));
    }
    let mut body = req.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame?.data_ref() {
            n += d.len() as u64;
        }
    }
    Ok(Response::new(
        Full::new(Bytes::from(format!("{n} bytes\n"))).boxed(),
    ))
}

/// Serves until the process is stopped.
pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
