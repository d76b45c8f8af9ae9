//! Attacks on the connection layer, against the real binary and bounded in
//! time: slowloris headers (S42), huge headers (S43), kept-alive
//! connections held quiet or mid-header (S45), the connection caps (S46),
//! and unfinished TLS handshakes (S54). Each drill checks that the attack's
//! connections close by their deadline, that memory stays within the header
//! cap times the connections, and that a normal client keeps working
//! meanwhile.

use sekisho_tests::{connect_from, read_until_closed, Connection, Env, Transport};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Short deadlines, so the drills take seconds.
async fn env_with(limits: &str) -> Env {
    let limits = format!("[limits]\n{limits}");
    Env::start_with(|mut o| {
        o.extra = limits;
        o
    })
    .await
}

/// A drill's gateway and how to reach it: plain, or over TLS with a test
/// certificate (kept in `_dir`).
struct Drill {
    env: Env,
    t: Transport,
    _dir: Option<tempfile::TempDir>,
}

async fn drill(limits: &str, tls: bool) -> Drill {
    if !tls {
        let env = env_with(limits).await;
        return Drill {
            env,
            t: Transport::Plain,
            _dir: None,
        };
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let limits = format!("[limits]\n{limits}");
    let env = Env::start_with(|mut o| {
        o.extra = limits;
        o.tls = Some((cert.clone(), key));
        o
    })
    .await;
    Drill {
        env,
        t: Transport::Tls(std::sync::Arc::new(cert)),
        _dir: Some(dir),
    }
}

/// The session cookie of `c` as a Cookie header value (its name has the
/// `__Host-` prefix over TLS).
fn session_cookie(c: &sekisho_tests::Client) -> String {
    let (name, value) = c
        .cookies
        .iter()
        .find(|(name, _)| name.ends_with("sekisho"))
        .expect("a session cookie");
    format!("{name}={value}")
}

/// Each drill runs twice: on plain HTTP, and over TLS.
macro_rules! plain_and_tls {
    ($plain:ident, $tls:ident, $drill:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $plain() {
            $drill(false).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $tls() {
            $drill(true).await
        }
    };
}

/// A complete request on `s`, and its whole answer (the demo upstream and
/// the gateway's pages always frame with Content-Length).
async fn request(s: &mut (impl Connection + ?Sized), path: &str, cookie: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed before answering");
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
}

plain_and_tls!(
    s42_a_slowloris_header_is_closed_by_its_total_deadline,
    s42_a_slowloris_header_over_tls_is_closed_by_its_total_deadline,
    slowloris
);

async fn slowloris(tls: bool) {
    let Drill { env, t, _dir } = drill("header_timeout_ms = 1500\n", tls).await;
    let addr = env.gw.addr;
    // 100 connections, each trickling a header a byte every 200 ms: every
    // read is quick, so only a total deadline can end them.
    let attackers: Vec<_> = (0..100)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut s = t.connect(addr, "127.0.0.3").await.unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
                let (mut read, mut write) = tokio::io::split(s);
                let trickle = tokio::spawn(async move {
                    for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                        .iter()
                        .cycle()
                    {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if write.write_all(&[*b]).await.is_err() {
                            return;
                        }
                    }
                });
                let mut answer = Vec::new();
                let closed =
                    tokio::time::timeout(Duration::from_secs(6), read.read_to_end(&mut answer))
                        .await
                        .is_ok();
                trickle.abort();
                (
                    closed,
                    started.elapsed(),
                    String::from_utf8_lossy(&answer).into_owned(),
                )
            })
        })
        .collect();
    // One that sends nothing at all is closed by the same deadline.
    let quiet_t = t.clone();
    let quiet = tokio::spawn(async move {
        let t = quiet_t;
        let started = Instant::now();
        let mut s = t.connect(addr, "127.0.0.4").await.unwrap();
        let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(6)).await;
        (closed, started.elapsed(), answer)
    });
    // Meanwhile a normal client registers, logs in and browses.
    let mut c = env.logged_in_holder("office@example.jp").await;
    for _ in 0..5 {
        assert_eq!(c.get("/files").await.status, 200);
    }
    for a in attackers {
        let (closed, took, answer) = a.await.unwrap();
        assert!(closed, "a slowloris connection was still open after 6 s");
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_millis(3500),
            "closed after {took:?}, not by the 1.5 s header deadline"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.80}");
    }
    let (closed, took, answer) = quiet.await.unwrap();
    assert!(closed && took < Duration::from_millis(3500), "{took:?}");
    assert!(answer.is_empty(), "{answer:.80}");
}

plain_and_tls!(
    s43_a_header_over_the_cap_is_answered_431_with_flat_memory,
    s43_a_header_over_the_cap_over_tls_is_answered_431_with_flat_memory,
    huge_headers
);

async fn huge_headers(tls: bool) {
    let Drill { env, t, _dir } = drill("header_bytes = 16384\n", tls).await;
    let addr = env.gw.addr;
    let before = env.gw.rss_kib();
    // 200 connections each sending a 1,000,000-byte header.
    let floods: Vec<_> = (0..200)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let s = t.connect(addr, "127.0.0.3").await.unwrap();
                let (mut read, mut write) = tokio::io::split(s);
                let flood = tokio::spawn(async move {
                    let _ = write.write_all(b"GET / HTTP/1.1\r\nX-Big: ").await;
                    let _ = write.write_all(&vec![b'a'; 1_000_000]).await;
                });
                let mut answer = vec![0u8; 256];
                let n = tokio::time::timeout(Duration::from_secs(5), read.read(&mut answer))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or(0);
                flood.abort();
                String::from_utf8_lossy(&answer[..n]).into_owned()
            })
        })
        .collect();
    for f in floods {
        let answer = f.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
    }
    let grown = env.gw.rss_kib().saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "RSS grew {grown} KiB for 200 oversized headers"
    );
    // Just under the cap is still a request.
    let cookie = "x=1";
    let mut s = t.connect(addr, "127.0.0.1").await.unwrap();
    let mut req = format!("GET /.sekisho/login HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-Pad: ");
    req.push_str(&"p".repeat(12 * 1024));
    req.push_str("\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut s, Duration::from_millis(1500)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.80}");
}

plain_and_tls!(
    s45_a_reused_connection_that_goes_quiet_or_stops_mid_header_is_closed,
    s45_a_reused_tls_connection_that_goes_quiet_or_stops_mid_header_is_closed,
    quiet_keepalive
);

async fn quiet_keepalive(tls: bool) {
    let Drill { env, t, _dir } = drill(
        "header_timeout_ms = 2000\nkeepalive_timeout_ms = 1000\n",
        tls,
    )
    .await;
    let addr = env.gw.addr;
    let mut c = env.logged_in_holder("keepalive@example.jp").await;
    let cookie = session_cookie(&c);

    // Quiet after one request: closed by the keep-alive timeout.
    let mut s = t.connect(addr, "127.0.0.3").await.unwrap();
    assert!(request(&mut s, "/files", &cookie)
        .await
        .starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "{answer:.80}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "an idle kept-alive connection closed after {took:?}"
    );

    // A second request's header begun and never finished: closed by the
    // header deadline, however the keep-alive timeout compares.
    let before = env.gw.rss_kib();
    let holders: Vec<_> = (0..200)
        .map(|_| {
            let cookie = cookie.clone();
            let t = t.clone();
            tokio::spawn(async move {
                // Two hundred upstream connections opened at once on a
                // loaded CI machine: a 502 (the upstream's connect deadline)
                // is tried once more on a new connection; this drill is
                // about the client's header deadline, not the upstream.
                let mut s = t.connect(addr, "127.0.0.3").await.unwrap();
                let mut first = request(&mut s, "/files", &cookie).await;
                if first.starts_with("HTTP/1.1 502") {
                    s = t.connect(addr, "127.0.0.3").await.unwrap();
                    first = request(&mut s, "/files", &cookie).await;
                }
                assert!(first.starts_with("HTTP/1.1 200"), "{first:.300}");
                let mut part = b"GET /files HTTP/1.1\r\nHost: x\r\nX-Fill: ".to_vec();
                part.extend(std::iter::repeat_n(b'f', 30 * 1024));
                s.write_all(&part).await.unwrap();
                let started = Instant::now();
                let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(6)).await;
                (closed, started.elapsed(), answer)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let held = env.gw.rss_kib().saturating_sub(before);
    // The cap (32 KiB) times the connections, and room for the allocator.
    assert!(
        held < 200 * 32 * 2 + 24 * 1024,
        "200 unfinished headers held {held} KiB"
    );
    // A normal client still works while they are held.
    assert_eq!(c.get("/files").await.status, 200);
    for h in holders {
        let (closed, took, answer) = h.await.unwrap();
        assert!(closed, "an unfinished header was still open after 6 s");
        assert!(took < Duration::from_millis(3500), "{took:?}");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.80}");
    }
}

/// Whether a new connection from `from` is served (true) or closed at
/// accept with no answer (false).
async fn served(t: &Transport, addr: std::net::SocketAddr, from: &str) -> bool {
    let Ok(mut s) = t.connect(addr, from).await else {
        return false;
    };
    let _ = s
        .write_all(b"GET /.sekisho/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(3)).await;
    answer.starts_with("HTTP/1.1 200")
}

/// Opens `n` connections from `from` that stay open (a header never sent
/// within the test's 30 s deadline).
async fn hold(
    t: &Transport,
    addr: std::net::SocketAddr,
    from: &str,
    n: usize,
) -> Vec<Box<dyn Connection>> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(t.connect(addr, from).await.unwrap());
    }
    // Let the gateway take them all before the next one comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    held
}

fn refusals(metrics: &str, reason: &str) -> u64 {
    let series = format!("sekisho_connection_refusals_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Waits (up to 5 s) until the gateway counts `n` open connections.
async fn open_connections_become(env: &Env, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let open = metrics(env)
            .await
            .lines()
            .find_map(|l| l.strip_prefix("sekisho_connections_open "))
            .map_or(u64::MAX, |v| v.trim().parse().unwrap_or(u64::MAX));
        if open == n || Instant::now() > deadline {
            assert_eq!(open, n, "open connections");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metrics(env: &Env) -> String {
    reqwest::get(format!("http://{}/metrics", env.gw.metrics_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

plain_and_tls!(
    s46_past_the_per_address_cap_new_connections_are_refused_and_others_work,
    s46_past_the_per_address_cap_tls_connections_are_refused_and_others_work,
    per_address_cap
);

async fn per_address_cap(tls: bool) {
    let Drill { env, t, _dir } = drill(
        "header_timeout_ms = 30000\nconnections_per_address = 10\n",
        tls,
    )
    .await;
    let addr = env.gw.addr;
    let start = metrics(&env).await;
    assert_eq!(
        refusals(&start, "per_address"),
        0,
        "present at 0 from the start"
    );
    let mut held = hold(&t, addr, "127.0.0.3", 10).await;
    assert!(
        !served(&t, addr, "127.0.0.3").await,
        "the 11th connection was served"
    );
    assert!(
        served(&t, addr, "127.0.0.4").await,
        "another address was refused"
    );
    let mut c = env.logged_in_holder("neighbour@example.jp").await;
    assert_eq!(c.get("/files").await.status, 200);
    // A place given back is a place again.
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(served(&t, addr, "127.0.0.3").await);
    assert!(refusals(&metrics(&env).await, "per_address") >= 1);
    drop(held);
}

plain_and_tls!(
    s46_past_the_total_cap_new_connections_are_refused_until_one_ends,
    s46_past_the_total_cap_tls_connections_are_refused_until_one_ends,
    total_cap
);

async fn total_cap(tls: bool) {
    let Drill { env, t, _dir } =
        drill("header_timeout_ms = 30000\nconnections_total = 15\n", tls).await;
    let addr = env.gw.addr;
    let mut held = hold(&t, addr, "127.0.0.3", 8).await;
    held.extend(hold(&t, addr, "127.0.0.4", 7).await);
    assert!(
        !served(&t, addr, "127.0.0.6").await,
        "the 16th connection was served"
    );
    held.truncate(14);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(served(&t, addr, "127.0.0.6").await);
    assert!(refusals(&metrics(&env).await, "total") >= 1);
    drop(held);
}

/// Whether a TLS client from `from` is served the login page.
async fn served_over_tls(base: &str, from: &str) -> bool {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let page = client
        .get(format!("{base}{}", sekisho_policy::paths::LOGIN))
        .send()
        .await;
    matches!(page, Ok(r) if r.status() == 200)
}

/// Opens `n` connections from `from` that start a TLS handshake and never
/// finish it: half a ClientHello, or (`silent`) nothing at all.
async fn hold_handshakes(
    addr: std::net::SocketAddr,
    from: &str,
    n: usize,
    silent: bool,
) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut s = connect_from(addr, from).await.unwrap();
        if !silent {
            // A handshake record's header announcing 512 bytes, and 6 of them.
            s.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                .await
                .unwrap();
        }
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    held
}

/// S54: a connection counts from accept, before its TLS handshake, so
/// unfinished handshakes meet the per-address and total caps like any
/// other connection, end by `tls_handshake_timeout_ms`, raise no error
/// line, and leave the metrics listener and its health check answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s54_unfinished_tls_handshakes_count_from_accept_and_end_by_their_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|mut o| {
        o.tls = Some((cert, key));
        o.extra = "[limits]\nheader_timeout_ms = 30000\nconnections_per_address = 10\n\
                   connections_total = 20\ntls_handshake_timeout_ms = 10000\n"
            .into();
        o
    })
    .await;
    let (addr, base) = (env.gw.addr, env.gw.base.clone());
    let mut held = hold_handshakes(addr, "127.0.0.3", 10, false).await;
    assert!(
        !served_over_tls(&base, "127.0.0.3").await,
        "an 11th connection from one address shook hands"
    );
    assert!(
        served_over_tls(&base, "127.0.0.4").await,
        "another address was refused"
    );
    // That client's connection has closed before the next batch: held
    // open a moment longer, it would take one of their places and free it
    // later, for the check below to find.
    open_connections_become(&env, 10).await;
    held.extend(hold_handshakes(addr, "127.0.0.5", 10, true).await);
    assert!(
        !served_over_tls(&base, "127.0.0.4").await,
        "a 21st connection shook hands"
    );
    // The internal listener answers all the while.
    let health = reqwest::get(format!("http://{}/healthz", env.gw.metrics_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(metrics(&env).await.contains("sekisho_connections_open"));

    // Each held connection is closed by the gateway at its deadline. (The
    // deadline leaves the set-up above seconds to spare on a loaded
    // machine: a first batch closed early would free its places.)
    let started = Instant::now();
    for mut s in held {
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(14)).await;
        assert!(closed, "a handshake outlived its deadline");
    }
    assert!(started.elapsed() < Duration::from_secs(14));
    assert!(served_over_tls(&base, "127.0.0.3").await);
    assert!(served_over_tls(&base, "127.0.0.4").await);
    let after = metrics(&env).await;
    assert!(refusals(&after, "tls_handshake_timeout") >= 20, "{after}");
    assert!(refusals(&after, "per_address") >= 1);
    assert!(refusals(&after, "total") >= 1);
    let errors: Vec<String> = env
        .gw
        .logs()
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .map(str::to_string)
        .collect();
    assert!(errors.is_empty(), "error lines a client raised: {errors:?}");
}

// S61: a signed-in upload trickled a byte at a time, each byte inside the
// per-read timeout, ends by the body's total deadline with 408; an upload
// at a sane rate earns the time it needs.
plain_and_tls!(
    s61_a_trickled_body_ends_by_its_total_deadline,
    s61_a_trickled_body_over_tls_ends_by_its_total_deadline,
    trickled_body
);

async fn trickled_body(tls: bool) {
    let Drill { env, t, _dir } = drill(
        "client_read_timeout_ms = 1000\nbody_timeout_ms = 1500\nbody_min_bytes_per_second = 100000\n",
        tls,
    )
    .await;
    let c = env.logged_in_holder("uploader@example.jp").await;
    let cookie = session_cookie(&c);

    let mut s = t.connect(env.gw.addr, "127.0.0.1").await.unwrap();
    let head = format!(
        "PUT /files/slow.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Length: 1000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = tokio::io::split(s);
    // One byte every 300 ms: each read well inside its 1 s.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut answer)).await;
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.200}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended after {:?}",
        started.elapsed()
    );
    assert!(refusals(&metrics(&env).await, "body_timeout") >= 1);

    // 1 MB at once: its bytes earn it time far beyond the 1.5 s.
    let mut s = t.connect(env.gw.addr, "127.0.0.1").await.unwrap();
    let body = vec![b'y'; 1_000_000];
    let head = format!(
        "PUT /files/fast.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
}
