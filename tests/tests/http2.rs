//! HTTP/2 on the TLS listener (S60), against the real binary: the gate,
//! the pages and the proxied path as on HTTP/1; rapid reset and
//! CONTINUATION floods ending their connection; h2 connections under the
//! per-address cap, the first request's header deadline and the idle
//! timeout. Each drill is bounded in frames and time.

use sekisho_policy::paths;
use sekisho_tests::http2::{frame, h2_client, h2_get, h2_raw, send, until_goaway, PREFACE};
use sekisho_tests::{Env, GatewayOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// A TLS gateway with `extra` configuration; its certificate's file.
async fn tls_env(extra: &str) -> (Env, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert.clone(), key)),
        extra: extra.to_string(),
        ..o
    })
    .await;
    (env, cert, dir)
}

fn authority(env: &Env) -> String {
    env.gw.addr.to_string()
}

/// HPACK for `GET https://{authority}{path}`: the static table's method
/// and scheme, literal path and authority.
fn get_block(authority: &str, path: &str) -> Vec<u8> {
    let mut b = vec![0x82, 0x87, 0x04, path.len() as u8];
    b.extend_from_slice(path.as_bytes());
    b.extend_from_slice(&[0x01, authority.len() as u8]);
    b.extend_from_slice(authority.as_bytes());
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s60_the_gate_the_pages_and_the_proxied_path_are_as_on_http1() {
    let (env, cert, _dir) = tls_env("").await;
    let holder = env.logged_in_holder("h2@example.jp").await;
    let cookie: Vec<String> = holder
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let cookie = cookie.join("; ");
    let mut h2 = h2_client(env.gw.addr, "127.0.0.3", &cert).await;
    let here = authority(&env);
    let (status, body) = h2_get(&mut h2, &here, paths::LOGIN, "").await;
    assert_eq!(status, 200);
    assert!(body.contains("ログイン"), "{body:.300}");
    // Signed in, the storage service answers; without the cookie, the gate.
    let (status, _) = h2_get(&mut h2, &here, "/files/report.pdf", &cookie).await;
    assert_eq!(status, 200);
    let (without, _) = h2_get(&mut h2, &here, "/files/report.pdf", "").await;
    let mut h1 = env.client();
    let over_h1 = h1.get("/files/report.pdf").await.status;
    assert_eq!(without, over_h1, "the gate answers alike");
    assert_ne!(without, 200);
    // Many requests on one connection, each through the gate.
    for i in 0..20 {
        let (status, _) = h2_get(&mut h2, &here, &format!("/files/{i}"), &cookie).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s60_rapid_reset_ends_the_connection_and_others_are_served() {
    let (env, cert, _dir) = tls_env("[http2]\nmax_pending_reset_streams = 20\n").await;
    let here = authority(&env);
    let mut tls = h2_raw(env.gw.addr, "127.0.0.3", &cert).await.unwrap();
    assert!(send(&mut tls, PREFACE).await);
    assert!(send(&mut tls, &frame(SETTINGS, 0, 0, &[])).await);
    // Each stream opened and at once reset (RST_STREAM, CANCEL): at most
    // 2,000, within 20 s.
    let started = Instant::now();
    let mut written = 0;
    let mut burst = Vec::new();
    for i in 0..2000u32 {
        let stream = 2 * i + 1;
        burst.extend(frame(
            HEADERS,
            END_STREAM | END_HEADERS,
            stream,
            &get_block(&here, paths::HEALTHZ),
        ));
        burst.extend(frame(0x3, 0, stream, &8u32.to_be_bytes()));
        if burst.len() > 16_000 {
            if !send(&mut tls, &burst).await {
                break;
            }
            written = i;
            burst.clear();
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    let ended = until_goaway(&mut tls, Duration::from_secs(10)).await;
    assert!(
        ended.is_ok(),
        "the connection went on after {written} resets"
    );
    assert!(written < 1999, "every reset was taken");
    // Another client is served meanwhile.
    let mut other = h2_client(env.gw.addr, "127.0.0.4", &cert).await;
    assert_eq!(h2_get(&mut other, &here, paths::HEALTHZ, "").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s60_a_continuation_flood_ends_at_the_header_list_limit() {
    let (env, cert, _dir) = tls_env("").await;
    let here = authority(&env);
    let mut tls = h2_raw(env.gw.addr, "127.0.0.3", &cert).await.unwrap();
    assert!(send(&mut tls, PREFACE).await);
    assert!(send(&mut tls, &frame(SETTINGS, 0, 0, &[])).await);
    assert!(
        send(
            &mut tls,
            &frame(HEADERS, END_STREAM, 1, &get_block(&here, "/files/x"))
        )
        .await
    );
    // Literal headers of 1,000 bytes each, fifteen a frame, never ending:
    // 64 KiB of header list is passed by the fifth frame.
    let mut header = vec![0x00, 0x03, b'x', b'-', b'a', 0x7f, 0xE9, 0x06];
    header.extend(std::iter::repeat_n(b'v', 1000));
    let block: Vec<u8> = header.repeat(15);
    let mut sent = 0;
    for _ in 0..1000 {
        if !send(&mut tls, &frame(CONTINUATION, 0, 1, &block)).await {
            break;
        }
        sent += 1;
    }
    let ended = until_goaway(&mut tls, Duration::from_secs(10)).await;
    assert!(ended.is_ok(), "no end after {sent} CONTINUATION frames");
    let mut other = h2_client(env.gw.addr, "127.0.0.4", &cert).await;
    assert_eq!(h2_get(&mut other, &here, paths::HEALTHZ, "").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s60_h2_connections_meet_the_caps_the_header_deadline_and_the_idle_timeout() {
    let (env, cert, _dir) = tls_env(
        "[limits]\nconnections_per_address = 3\nheader_timeout_ms = 1500\n[http2]\nidle_timeout_ms = 4000\n",
    )
    .await;
    let here = authority(&env);
    // Three connections that speak h2 but send no request.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tls = h2_raw(env.gw.addr, "127.0.0.3", &cert).await.unwrap();
        assert!(send(&mut tls, PREFACE).await);
        assert!(send(&mut tls, &frame(SETTINGS, 0, 0, &[])).await);
        held.push(tls);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h2_raw(env.gw.addr, "127.0.0.3", &cert).await.is_err(),
        "a fourth h2 connection from one address"
    );
    // Each is closed by the first request's header deadline (1.5 s), well
    // before the idle timeout (4 s).
    let started = Instant::now();
    for mut tls in held {
        assert!(until_goaway(&mut tls, Duration::from_secs(5)).await.is_ok());
    }
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "{:?}",
        started.elapsed()
    );
    // A connection that made a request and went quiet: the idle timeout.
    let mut tls = h2_raw(env.gw.addr, "127.0.0.3", &cert).await.unwrap();
    assert!(send(&mut tls, PREFACE).await);
    assert!(send(&mut tls, &frame(SETTINGS, 0, 0, &[])).await);
    let get = get_block(&here, paths::HEALTHZ);
    assert!(send(&mut tls, &frame(HEADERS, END_STREAM | END_HEADERS, 1, &get)).await);
    let quiet = Instant::now();
    assert!(until_goaway(&mut tls, Duration::from_secs(6)).await.is_ok());
    assert!(
        quiet.elapsed() >= Duration::from_millis(1000),
        "closed before its idle timeout"
    );
}
