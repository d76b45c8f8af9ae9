//! Every client connection's limits, applied before Pingora reads a request
//! (S42, S43, S45, S46):
//! * a total deadline for each request's header, from the connection's
//!   start or from the request's first byte on a reused connection;
//! * an idle timeout between kept-alive requests;
//! * a header size cap, answered 431;
//! * caps on open connections per client address and in all.
//!
//! Pingora 0.9 bounds each *read* of a header, never the whole header, and
//! waits without end between kept-alive requests (`KeepaliveStatus::Infinite`
//! on reuse). It has no hook between requests. So each listener's
//! `HttpProxy` is wrapped in [`GuardedHttp`], which runs the HTTP/1
//! keep-alive loop itself, the way Pingora's own loop in
//! `pingora-core/src/apps/mod.rs` does. It reads each request's header
//! under the deadline and the cap, then hands Pingora a session whose
//! header is already complete. That uses Pingora's own pipelined-prefix
//! path (`set_pipelined_prefix`), so Pingora's parser never waits on the
//! network. Between requests only this loop's small future and the socket
//! remain; the proxy's per-request state is freed (PERFORMANCE P8).
//!
//! The connection caps are checked twice. Pingora's `ConnectionFilter`
//! ([`AcceptFilter`]) refuses at accept from the counts. The exact count is
//! taken as Pingora hands the accepted connection over ([`Tally::admit`]),
//! before any TLS, and released when it ends. On a TLS listener the
//! handshake follows, under `limits.tls_handshake_timeout_ms` (S54).

use async_trait::async_trait;
use bytes::BytesMut;
use ipnet::IpNet;
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::listeners::tls::Acceptor;
use pingora::listeners::ConnectionFilter;
use pingora::prelude::fast_timeout::fast_timeout;
use pingora::protocols::http::ServerSession;
use pingora::protocols::{Stream, ALPN};
use pingora::server::ShutdownWatch;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};

/// What one connection may take, from `[limits]`.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub header_bytes: usize,
    pub body_read_timeout: Duration,
    pub per_address: usize,
    pub total: usize,
    /// From accept to a finished TLS handshake, on the TLS listeners.
    pub tls_handshake_timeout: Duration,
    /// The trusted proxies: every client behind them shares their address,
    /// so they count towards the total only.
    pub exempt: Vec<IpNet>,
}

impl ConnectionLimits {
    /// The limits of `[limits]`, with `total` the cap the process's file
    /// descriptors allow ([`crate::descriptors::connections_total`]).
    pub fn from_config(cfg: &sekisho_config::Config, total: usize) -> Self {
        let l = &cfg.limits;
        ConnectionLimits {
            header_timeout: l.header_timeout,
            keepalive_timeout: l.keepalive_timeout,
            header_bytes: l.header_bytes,
            body_read_timeout: l.client_read_timeout,
            per_address: l.connections_per_address,
            total,
            tls_handshake_timeout: l.tls_handshake_timeout,
            exempt: cfg.throttle.trusted_proxies.clone(),
        }
    }
}

/// Why a connection was refused or closed early (the metric's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerAddress,
    Total,
    HeaderTimeout,
    HeaderTooLarge,
    TlsHandshakeTimeout,
    TlsHandshakeFailed,
    /// A proxied body past its total deadline (S61).
    BodyTimeout,
}

/// Registers the refusals' series up front.
pub fn register_metrics() {
    for why in Refusal::ALL {
        crate::metrics::register_labels(&crate::metrics::CONNECTION_REFUSALS, &[why.as_str()]);
    }
}

impl Refusal {
    pub const ALL: [Refusal; 7] = [
        Refusal::PerAddress,
        Refusal::Total,
        Refusal::HeaderTimeout,
        Refusal::HeaderTooLarge,
        Refusal::TlsHandshakeTimeout,
        Refusal::TlsHandshakeFailed,
        Refusal::BodyTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::PerAddress => "per_address",
            Refusal::Total => "total",
            Refusal::HeaderTimeout => "header_timeout",
            Refusal::HeaderTooLarge => "header_too_large",
            Refusal::TlsHandshakeTimeout => "tls_handshake_timeout",
            Refusal::TlsHandshakeFailed => "tls_handshake_failed",
            Refusal::BodyTimeout => "body_timeout",
        }
    }

    pub(crate) fn count(self) {
        crate::metrics::CONNECTION_REFUSALS
            .with_label_values(&[self.as_str()])
            .inc();
    }
}

/// Open connections, per client address and in all, shared by every
/// listener of the process.
#[derive(Debug)]
pub struct Tally {
    per_address: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
    limits: ConnectionLimits,
}

/// One admitted connection; dropping it gives its place back.
#[derive(Debug)]
pub struct Slot {
    tally: Arc<Tally>,
    counted_address: Option<IpAddr>,
}

impl Tally {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Tally {
            per_address: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
            limits,
        })
    }

    fn is_exempt(&self, ip: IpAddr) -> bool {
        self.limits.exempt.iter().any(|net| net.contains(&ip))
    }

    fn addresses(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // A panic cannot happen while the lock is held (plain arithmetic),
        // but a poisoned lock must not stop the gateway from accepting.
        self.per_address
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a new connection from `peer` would fit, without taking a
    /// place (the check at accept).
    pub fn has_room(&self, peer: Option<IpAddr>) -> bool {
        if self.total.load(Ordering::Relaxed) >= self.limits.total {
            return false;
        }
        match peer {
            Some(ip) if !self.is_exempt(ip) => self
                .addresses()
                .get(&ip)
                .is_none_or(|n| *n < self.limits.per_address),
            _ => true,
        }
    }

    /// Takes a place for a connection from `peer`, or says which cap it
    /// would break.
    pub fn admit(self: &Arc<Self>, peer: Option<IpAddr>) -> Result<Slot, Refusal> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.limits.total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Total);
        }
        let counted_address = peer.filter(|ip| !self.is_exempt(*ip));
        if let Some(ip) = counted_address {
            let mut open = self.addresses();
            let n = open.entry(ip).or_insert(0);
            if *n >= self.limits.per_address {
                drop(open);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(Refusal::PerAddress);
            }
            *n += 1;
        }
        crate::metrics::CONNECTIONS_OPEN.inc();
        Ok(Slot {
            tally: self.clone(),
            counted_address,
        })
    }

    /// Open connections in all.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.counted_address {
            let mut open = self.tally.addresses();
            if let Some(n) = open.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&ip);
                }
            }
        }
        self.tally.total.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::CONNECTIONS_OPEN.dec();
    }
}

/// Pingora's accept-time hook: a connection past a cap is closed before
/// TLS or any read.
#[derive(Debug)]
pub struct AcceptFilter(pub Arc<Tally>);

#[async_trait]
impl ConnectionFilter for AcceptFilter {
    async fn should_accept(&self, addr: Option<&SocketAddr>) -> bool {
        let room = self.0.has_room(addr.map(SocketAddr::ip));
        if !room {
            let reason = if self.0.open() >= self.0.limits.total {
                Refusal::Total
            } else {
                Refusal::PerAddress
            };
            reason.count();
        }
        room
    }
}

/// A listener's proxy behind the connection limits, and its TLS when the
/// listener has some: Pingora's listener accepts plain TCP, so that the
/// handshake happens here, with a place taken and under its own deadline
/// (S54, [`crate::tls`]).
pub struct GuardedHttp<A> {
    proxy: Arc<A>,
    tally: Arc<Tally>,
    tls: Option<Acceptor>,
}

impl<A> GuardedHttp<A> {
    pub fn new(proxy: A, tally: Arc<Tally>, tls: Option<Acceptor>) -> Self {
        GuardedHttp {
            proxy: Arc::new(proxy),
            tally,
            tls,
        }
    }
}

/// The outcome of waiting for one request's header.
#[derive(Debug)]
enum Head {
    /// The whole header, perhaps followed by the start of the body.
    Complete(BytesMut),
    /// The client closed, went quiet between requests, or the server is
    /// shutting down: close without an answer.
    Closed,
    /// Answer and close.
    Refused(Refusal),
}

/// The end of the header section in `buf`: the first blank line after the
/// request line (CRLF or bare LF, as Pingora's parser accepts), ignoring
/// empty lines before the request line (RFC 9112 §2.2). `scanned` keeps
/// the work linear when a header arrives a byte at a time.
fn head_is_complete(buf: &[u8], scanned: &mut usize) -> bool {
    let Some(start) = buf.iter().position(|b| *b != b'\r' && *b != b'\n') else {
        *scanned = buf.len();
        return false;
    };
    let from = (*scanned).max(start);
    let complete = buf[from..].iter().enumerate().any(|(i, b)| {
        let at = from + i;
        *b == b'\n'
            && (buf.get(at + 1) == Some(&b'\n')
                || (buf.get(at + 1) == Some(&b'\r') && buf.get(at + 2) == Some(&b'\n')))
    });
    // The blank line may straddle the next read.
    *scanned = buf.len().saturating_sub(2).max(start);
    complete
}

/// How long a quiet kept-alive connection stays open once the process
/// drains, for a request the client had already sent.
const LAST_CALL: Duration = Duration::from_millis(500);

/// Reads one request's header under the limits. On the connection's first
/// request the deadline runs from its start; on a reused one the client
/// has `keepalive_timeout` to begin and then `header_timeout` to finish.
///
/// The waits use Pingora's timers (a 10 ms wheel armed by a thread of its
/// own), not tokio's: a tokio timer earlier than the runtime's next wake
/// writes to the I/O driver's eventfd to wake it, one `write` and one more
/// `epoll_wait` for every kept-alive request (`loadtest/analysis.md`).
async fn read_head(
    stream: &mut Stream,
    first_request: bool,
    limits: &ConnectionLimits,
    shutdown: &ShutdownWatch,
) -> Head {
    let started = Instant::now();
    let quiet_limit = if first_request {
        limits.header_timeout
    } else {
        limits.keepalive_timeout
    };
    let cap = limits.header_bytes;
    let mut stopping = shutdown.clone();
    let arrived = tokio::select! {
        biased;
        read = fast_timeout(quiet_limit, first_bytes(stream, cap + 1)) => Some(read),
        _ = stopping.wait_for(|stop| *stop), if !first_request => None,
    };
    // Draining (an upgrade or SIGTERM): a request already on its way is
    // still served, and answered with `Connection: close`. Closing at once
    // could cross a client's next request on the wire, which it would see
    // fail.
    let arrived = match arrived {
        Some(read) => read,
        None => fast_timeout(LAST_CALL, first_bytes(stream, cap + 1)).await,
    };
    let mut buf = match arrived {
        Ok(Ok(Some(buf))) => buf,
        Ok(_) => return Head::Closed,
        Err(_) if first_request => {
            Refusal::HeaderTimeout.count();
            return Head::Closed;
        }
        Err(_) => return Head::Closed,
    };
    let deadline = if first_request {
        started + limits.header_timeout
    } else {
        Instant::now() + limits.header_timeout
    };
    let mut scanned = 0;
    loop {
        if head_is_complete(&buf, &mut scanned) {
            return Head::Complete(buf);
        }
        let room = (cap + 1).saturating_sub(buf.len());
        if room == 0 {
            return Head::Refused(Refusal::HeaderTooLarge);
        }
        if buf.capacity() == buf.len() {
            buf.reserve(FIRST_READ.min(room));
        }
        let mut limited = (&mut *stream).take(room as u64);
        let left = deadline.saturating_duration_since(Instant::now());
        match fast_timeout(left, limited.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Head::Closed,
            Ok(Ok(_)) => {}
            Err(_) => return Head::Refused(Refusal::HeaderTimeout),
        }
    }
}

/// The most a header's first read takes, and how much more room each
/// further read of an unfinished header is given.
const FIRST_READ: usize = 4096;

/// Waits for a request's first bytes and reads what has come, up to
/// `limit` bytes, in one read: `None` when the client closed.
///
/// The read's buffer is on the stack of each poll, never in the future:
/// an idle kept-alive connection waiting here holds no buffer (P8), and
/// the header is still read with one `recv`, not one for its first byte
/// and another for the rest.
async fn first_bytes(stream: &mut Stream, limit: usize) -> std::io::Result<Option<BytesMut>> {
    use std::task::Poll;
    std::future::poll_fn(|cx| {
        let mut space = [std::mem::MaybeUninit::<u8>::uninit(); FIRST_READ];
        let wanted = limit.clamp(1, FIRST_READ);
        let mut read = tokio::io::ReadBuf::uninit(&mut space[..wanted]);
        match std::pin::Pin::new(&mut *stream).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Ok(None)),
            // As large as what came: an unfinished header's next reads
            // grow it (`read_head`).
            Poll::Ready(Ok(())) => Poll::Ready(Ok(Some(BytesMut::from(read.filled())))),
        }
    })
    .await
}

/// Answers a refused header and closes. The write side is shut first and
/// the rest of the client's bytes drained for a moment (nginx's lingering
/// close): closing with unread bytes would reset the connection and could
/// destroy the answer before the client reads it.
async fn refuse(mut stream: Stream, why: Refusal) {
    why.count();
    let answer: &[u8] = match why {
        Refusal::HeaderTooLarge => {
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\nConnection: close\r\n\r\nRequest header fields too large\n"
        }
        _ => {
            b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\nConnection: close\r\n\r\nRequest timeout\n"
        }
    };
    let linger = Duration::from_secs(1);
    let _ = timeout(linger, async {
        stream.write_all(answer).await?;
        stream.flush().await?;
        AsyncWriteExt::shutdown(&mut stream).await
    })
    .await;
    // On the heap: an array here would sit in every connection's future,
    // refused or not (4 KiB each of 10,000 idle connections, P8).
    let mut sink = vec![0u8; 4096];
    let drain = async {
        let mut drained = 0usize;
        while drained < 256 * 1024 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = timeout(linger, drain).await;
}

/// HTTP/2 connections still waiting for their first request's header, by
/// the address of their socket digest (which all of a connection's
/// streams share): the proxy says when one arrives.
static AWAITING_FIRST_REQUEST: std::sync::LazyLock<
    Mutex<HashMap<usize, Arc<tokio::sync::Notify>>>,
> = std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

fn awaiting() -> std::sync::MutexGuard<'static, HashMap<usize, Arc<tokio::sync::Notify>>> {
    AWAITING_FIRST_REQUEST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The key of the connection a stream or session belongs to.
fn connection_key(digest: &Arc<pingora::protocols::SocketDigest>) -> usize {
    Arc::as_ptr(digest) as usize
}

/// Tells an HTTP/2 connection's guard that a request's header has arrived
/// (called by the proxy for each HTTP/2 request; a map lookup).
pub fn request_arrived(session: &ServerSession) {
    let Some(digest) = session.digest().and_then(|d| d.socket_digest.as_ref()) else {
        return;
    };
    if let Some(arrived) = awaiting().remove(&connection_key(digest)) {
        arrived.notify_one();
    }
}

/// A connection's place in [`AWAITING_FIRST_REQUEST`], given up when it
/// ends.
struct Awaiting(usize);

impl Drop for Awaiting {
    fn drop(&mut self) {
        awaiting().remove(&self.0);
    }
}

impl<A> GuardedHttp<A>
where
    A: HttpServerApp + ServerApp + Send + Sync + 'static,
{
    /// Serves an HTTP/2 connection through Pingora. Its first request's
    /// header must arrive within `header_timeout`, from the handshake's
    /// end (the TLS handshake had its own deadline), as on HTTP/1.
    async fn serve_h2(&self, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let Some(key) = stream.get_socket_digest().map(|d| connection_key(&d)) else {
            return self.proxy.process_new(stream, shutdown).await;
        };
        let arrived = Arc::new(tokio::sync::Notify::new());
        awaiting().insert(key, arrived.clone());
        let waiting = Awaiting(key);
        let served = self.proxy.process_new(stream, shutdown);
        tokio::pin!(served);
        tokio::select! {
            biased;
            done = &mut served => return done,
            _ = arrived.notified() => {}
            _ = tokio::time::sleep(self.tally.limits.header_timeout) => {
                Refusal::HeaderTimeout.count();
                return None;
            }
        }
        drop(waiting);
        served.await
    }
}

#[async_trait]
impl<A> ServerApp for GuardedHttp<A>
where
    A: HttpServerApp + ServerApp + Send + Sync + 'static,
{
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let peer = stream
            .get_socket_digest()
            .and_then(|d| d.peer_addr().and_then(|a| a.as_inet()).map(|a| a.ip()));
        // The place is taken at accept, before TLS: a handshake left
        // unfinished holds it until its deadline, never beyond the caps.
        let _slot = match self.tally.admit(peer) {
            Ok(slot) => slot,
            Err(why) => {
                why.count();
                return None;
            }
        };
        let limits = &self.tally.limits;
        // Boxed: the handshake's state (rustls's) would otherwise sit in
        // every connection's future for its whole life, TLS or not (P8).
        if let Some(acceptor) = &self.tls {
            let shaking = Box::pin(crate::tls::handshake(
                acceptor,
                stream,
                limits.tls_handshake_timeout,
            ));
            stream = match shaking.await {
                Ok(tls) => tls,
                Err(crate::tls::Unshaken::TimedOut) => {
                    Refusal::TlsHandshakeTimeout.count();
                    return None;
                }
                Err(crate::tls::Unshaken::Failed) => {
                    Refusal::TlsHandshakeFailed.count();
                    return None;
                }
            };
        }
        // HTTP/2 (negotiated by ALPN on TLS) multiplexes its own requests:
        // Pingora's path, with its limits and idle timeout (S60), and the
        // header deadline for the first request.
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            return Box::pin(self.serve_h2(stream, shutdown)).await;
        }
        let mut first_request = true;
        loop {
            let head = match read_head(&mut stream, first_request, limits, shutdown).await {
                Head::Complete(head) => head,
                Head::Closed => return None,
                Head::Refused(why) => {
                    refuse(stream, why).await;
                    return None;
                }
            };
            let mut session = ServerSession::new_http1(stream);
            session.set_pipelined_prefix(head);
            session.set_read_timeout(Some(limits.body_read_timeout));
            // Pingora's pipelining stays off, so the persistent settings
            // carry no prefix; the keep-alive they carry is ours to keep.
            let reused = self.proxy.process_new_http(session, shutdown).await?;
            stream = reused.consume().0;
            first_request = false;
        }
    }

    async fn cleanup(&self) {
        self.proxy.cleanup().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> bool {
        head_is_complete(bytes, &mut 0)
    }

    #[test]
    fn a_header_ends_at_its_first_blank_line() {
        assert!(complete(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(complete(b"GET / HTTP/1.1\nHost: a\n\nbody"));
        assert!(complete(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!complete(b"GET / HTTP/1.1\r\nHost: a\r\n"));
        assert!(!complete(b"GET / HTTP/1.1\r\nHost: a\r\n\r"));
    }

    #[test]
    fn empty_lines_before_the_request_line_are_not_its_end() {
        assert!(!complete(b"\r\n\r\n\r\n"));
        assert!(!complete(b"\r\n\r\nGET / HTTP/1.1\r\n"));
        assert!(complete(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn a_header_trickled_byte_by_byte_is_found_once_whole() {
        let whole = b"GET /x HTTP/1.1\r\nHost: a\r\nCookie: b\r\n\r\n";
        let mut scanned = 0;
        for end in 1..whole.len() {
            assert!(!head_is_complete(&whole[..end], &mut scanned), "at {end}");
        }
        assert!(head_is_complete(whole, &mut scanned));
    }

    /// What an idle connection holds while it waits is these futures'
    /// state: kept small, since 10,000 of them wait at once (P8).
    #[tokio::test]
    async fn the_futures_an_idle_connection_waits_in_stay_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut stream: Stream = Box::new(pingora::protocols::l4::stream::Stream::from(server));
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let limits = limits(1, 1);
        let waiting = read_head(&mut stream, false, &limits, &shutdown);
        assert!(
            std::mem::size_of_val(&waiting) <= 768,
            "read_head's future is {} bytes",
            std::mem::size_of_val(&waiting)
        );
        drop(waiting);
        let refusing = refuse(stream, Refusal::HeaderTooLarge);
        assert!(
            std::mem::size_of_val(&refusing) <= 512,
            "refuse's future is {} bytes",
            std::mem::size_of_val(&refusing)
        );
    }

    /// A proxy that forwards nowhere: enough to build the guard around.
    struct Nowhere;

    #[async_trait]
    impl pingora::proxy::ProxyHttp for Nowhere {
        type CTX = ();
        fn new_ctx(&self) {}
        async fn upstream_peer(
            &self,
            _session: &mut pingora::proxy::Session,
            _ctx: &mut (),
        ) -> pingora::Result<Box<pingora::upstreams::peer::HttpPeer>> {
            Err(pingora::Error::new(pingora::ErrorType::ConnectRefused))
        }
    }

    /// The connection's whole future, which every idle connection keeps:
    /// the TLS handshake's and HTTP/2's states are boxed out of it (P8;
    /// 840 bytes boxed, 7,528 with them inline).
    #[tokio::test]
    async fn a_connections_future_keeps_no_tls_or_h2_state() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let stream: Stream = Box::new(pingora::protocols::l4::stream::Stream::from(server));
        let conf = Arc::new(pingora::server::configuration::ServerConf::default());
        let guard = Arc::new(GuardedHttp::new(
            pingora::proxy::http_proxy(&conf, Nowhere),
            Tally::new(limits(1, 1)),
            None,
        ));
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let serving = guard.process_new(stream, &shutdown);
        let size = std::mem::size_of_val(&*serving);
        assert!(size <= 1024, "a connection's future is {size} bytes");
    }

    fn limits(per_address: usize, total: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            keepalive_timeout: Duration::from_secs(1),
            header_bytes: 1024,
            body_read_timeout: Duration::from_secs(1),
            per_address,
            total,
            tls_handshake_timeout: Duration::from_secs(1),
            exempt: vec!["127.0.0.2/32".parse().unwrap()],
        }
    }

    #[test]
    fn the_per_address_cap_leaves_room_for_other_addresses() {
        let tally = Tally::new(limits(2, 10));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let one = tally.admit(Some(a)).unwrap();
        let _two = tally.admit(Some(a)).unwrap();
        assert_eq!(tally.admit(Some(a)).unwrap_err(), Refusal::PerAddress);
        assert!(!tally.has_room(Some(a)));
        assert!(tally.has_room(Some(b)));
        let _other = tally.admit(Some(b)).unwrap();
        drop(one);
        assert!(tally.has_room(Some(a)));
        assert_eq!(tally.open(), 2);
    }

    #[test]
    fn the_total_cap_counts_exempt_proxies_too() {
        let tally = Tally::new(limits(1, 3));
        let edge: IpAddr = "127.0.0.2".parse().unwrap();
        let held: Vec<Slot> = (0..3).map(|_| tally.admit(Some(edge)).unwrap()).collect();
        assert_eq!(tally.admit(Some(edge)).unwrap_err(), Refusal::Total);
        assert_eq!(
            tally.admit(Some("10.0.0.9".parse().unwrap())).unwrap_err(),
            Refusal::Total
        );
        drop(held);
        assert_eq!(tally.open(), 0);
        assert!(tally.addresses().is_empty());
    }
}
