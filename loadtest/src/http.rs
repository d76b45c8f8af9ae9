//! A pooled HTTP/1.1 client (hyper), bodies sent and read as streams so a
//! gigabyte upload or download never sits in the load tool's memory either.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub type ReqBody = BoxBody<Bytes, Infallible>;
pub type HttpClient = Client<HttpConnector, ReqBody>;

pub fn client(max_idle: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(max_idle)
        .build(connector)
}

pub fn empty() -> ReqBody {
    Empty::new().boxed()
}

pub fn form(pairs: &[(&str, &str)]) -> ReqBody {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Full::new(Bytes::from(body)).boxed()
}

/// A body of `len` bytes produced 1 MiB at a time.
pub struct Stream {
    left: u64,
    chunk: Bytes,
}

impl Stream {
    pub fn body(len: u64) -> ReqBody {
        Stream {
            left: len,
            chunk: Bytes::from(vec![b'z'; 1 << 20]),
        }
        .boxed()
    }
}

impl Body for Stream {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(self.chunk.len() as u64) as usize;
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }
}

/// Reads a response body to its end, counting its bytes and keeping at most
/// `keep` of them (for pages whose form fields are needed).
pub async fn read_body(
    resp: Response<Incoming>,
    keep: usize,
) -> Result<(u64, Vec<u8>), hyper::Error> {
    let mut body = resp.into_body();
    let (mut n, mut kept) = (0u64, Vec::new());
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            n += data.len() as u64;
            if kept.len() < keep {
                kept.extend_from_slice(&data[..data.len().min(keep - kept.len())]);
            }
        }
    }
    Ok((n, kept))
}

/// A request with optional Host and Cookie headers.
pub fn request(
    method: &str,
    url: &str,
    host: Option<&str>,
    cookie: Option<&str>,
    body: ReqBody,
) -> Request<ReqBody> {
    let mut b = Request::builder().method(method).uri(url);
    if let Some(h) = host {
        b = b.header("host", h);
    }
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    if method == "POST" {
        b = b.header("content-type", "application/x-www-form-urlencoded");
    }
    b.body(body).expect("a well-formed request")
}

/// The value of cookie `name` among a response's Set-Cookie fields.
pub fn set_cookie(resp: &Response<Incoming>, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let first = v.split(';').next()?;
            let (n, value) = first.split_once('=')?;
            (n.trim() == name && !value.is_empty()).then(|| value.to_string())
        })
}

/// The value of the hidden field `name` in a page.
pub fn hidden(html: &[u8], name: &str) -> Option<String> {
    let html = std::str::from_utf8(html).ok()?;
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hidden_fields() {
        let page =
            br#"<input type="hidden" name="csrf" value="abc-123"><input name="next" value="/">"#;
        assert_eq!(hidden(page, "csrf").as_deref(), Some("abc-123"));
        assert_eq!(hidden(page, "ticket"), None);
    }
}
