//! An HTTP/2 client for the drills (S60): TLS with ALPN `h2` to the
//! gateway, trusting the test certificate, from a chosen loopback address.
//! [`h2_client`] speaks through the `h2` crate; [`h2_raw`] hands back the
//! TLS stream for hand-written frames (what no well-behaved client sends).

use std::net::SocketAddr;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

/// A TLS connection to `addr` from `from` that negotiated `h2`, trusting
/// `cert` (the test certificate, valid for 127.0.0.1).
pub async fn h2_raw(
    addr: SocketAddr,
    from: &str,
    cert: &Path,
) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
    let tls = crate::net::tls_connect(addr, from, cert, b"h2").await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    if alpn.as_deref() != Some(b"h2") {
        return Err(std::io::Error::other(format!("ALPN gave {alpn:?}, not h2")));
    }
    Ok(tls)
}

/// An `h2` client on a fresh connection; the connection runs in a task.
pub async fn h2_client(
    addr: SocketAddr,
    from: &str,
    cert: &Path,
) -> h2::client::SendRequest<bytes::Bytes> {
    let tls = h2_raw(addr, from, cert).await.expect("an h2 connection");
    let (send, connection) = h2::client::handshake(tls).await.expect("an h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

/// GET `path` on `send` with `cookie`: the status and the body.
pub async fn h2_get(
    send: &mut h2::client::SendRequest<bytes::Bytes>,
    authority: &str,
    path: &str,
    cookie: &str,
) -> (u16, String) {
    let mut request = http::Request::get(format!("https://{authority}{path}"));
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    let ready = send.clone().ready().await.expect("a stream");
    *send = ready;
    let (response, _) = send
        .send_request(request.body(()).unwrap(), true)
        .expect("a request");
    let response = response.await.expect("a response");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body data");
        let _ = body.flow_control().release_capacity(chunk.len());
        text.extend_from_slice(&chunk);
    }
    (status, String::from_utf8_lossy(&text).into_owned())
}

/// One HTTP/2 frame: its 9-byte header and payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The client's connection preface and an empty SETTINGS frame.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads frames until the server sends GOAWAY (its error code) or closes
/// (`None`), within `wait`.
pub async fn until_goaway(
    tls: &mut TlsStream<tokio::net::TcpStream>,
    wait: std::time::Duration,
) -> Result<Option<u32>, &'static str> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 16384];
        let n = match tokio::time::timeout_at(deadline, tls.read(&mut chunk)).await {
            Err(_) => return Err("neither GOAWAY nor close in time"),
            Ok(Err(_)) | Ok(Ok(0)) => return Ok(None),
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while buf.len() >= 9 {
            let len = ((buf[0] as usize) << 16) | ((buf[1] as usize) << 8) | buf[2] as usize;
            if buf.len() < 9 + len {
                break;
            }
            if buf[3] == 0x7 && len >= 8 {
                let code = u32::from_be_bytes([buf[13], buf[14], buf[15], buf[16]]);
                return Ok(Some(code));
            }
            buf.drain(..9 + len);
        }
    }
}

/// Writes `bytes`, ignoring a connection the server already ended.
pub async fn send(tls: &mut TlsStream<tokio::net::TcpStream>, bytes: &[u8]) -> bool {
    tls.write_all(bytes).await.is_ok() && tls.flush().await.is_ok()
}
