//! The end-to-end harness: real peers on loopback, the real `sekisho` binary.
//!
//! * [`Upstream`]: an HTTP server (hyper) that records every request.
//! * [`SmtpSink`]: a real SMTP server (Python `aiosmtpd`).
//! * [`SmsProvider`]: the SMS carrier's stand-in (a local HTTP endpoint).
//! * [`Gateway`]: the built binary with a temporary config, a clock the test
//!   moves, and its logs kept for inspection.
//! * [`Client`]: an HTTP client that keeps cookies like a browser.
//!
//! Every server is started by the test and killed by its process id when
//! the value drops.

pub mod breached;
pub mod browser;
pub mod client;
pub mod dbsc;
pub mod drills;
pub mod fake_facebook;
pub mod fake_idp;
pub mod gateway;
pub mod http2;
pub mod local;
pub mod net;
pub mod oidc;
pub mod otlp;
pub mod postgres;
pub mod redis;
pub mod scim;
pub mod serve;
pub mod sms;
pub mod smtp;
pub mod two_step;
pub mod upstream;

pub use client::{Client, Resp};
pub use gateway::{Gateway, GatewayOptions};
pub use local::{free_addr, free_port, test_certificate, workspace_dir};
pub use net::{connect_from, read_until_closed, Connection, Transport};

use sekisho_policy::paths;
pub use sms::{Sms, SmsProvider};
pub use smtp::{Mail, SmtpSink};
use std::net::SocketAddr;
pub use upstream::{Recorded, Upstream};

/// A password that satisfies the rule.
pub const GOOD_PASSWORD: &str = "Sakura-Gate-2024";

/// A gateway with its real peers: a recording upstream and an SMTP sink.
pub struct Env {
    pub upstream: Upstream,
    pub smtp: SmtpSink,
    pub gw: Gateway,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(|o| o).await
    }

    /// Starts with options adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(GatewayOptions) -> GatewayOptions) -> Env {
        let upstream = Upstream::start().await;
        let smtp = SmtpSink::start();
        let opts = adjust(GatewayOptions::new(upstream.addr).smtp(smtp.port));
        let gw = tokio::task::spawn_blocking(move || Gateway::start(opts))
            .await
            .unwrap();
        Env { upstream, smtp, gw }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.gw.base)
    }

    /// A client on the closed-network route, connecting from `from` (e.g.
    /// 127.0.0.2, the trusted edge) and sending `line` in `X-Line-Id`.
    pub fn closed_client(&self, from: &str, line: Option<&str>) -> Client {
        let base = self
            .gw
            .closed_base
            .as_deref()
            .expect("a gateway with the closed route");
        let mut c = Client::from_address(base, Some(from.parse().unwrap()));
        if let Some(l) = line {
            c.extra.push(("x-line-id".into(), l.into()));
        }
        c
    }

    /// Creates a tenant whose holder is `email`, and returns the link from
    /// the invitation mail.
    pub fn invite_holder(&self, email: &str) -> String {
        self.gw.create_tenant("basic", email);
        self.smtp
            .wait_for(email, "利用者登録のご案内")
            .link("/.sekisho/register?ticket=")
            .expect("a registration link in the mail")
    }

    /// A registered contract holder, logged in on a fresh client.
    pub async fn logged_in_holder(&self, email: &str) -> Client {
        self.logged_in_holder_on("basic", email).await
    }

    /// A registered contract holder of a `plan` tenant, logged in.
    pub async fn logged_in_holder_on(&self, plan: &str, email: &str) -> Client {
        self.gw.create_tenant(plan, email);
        let link = self
            .smtp
            .wait_for(email, "利用者登録のご案内")
            .link("/.sekisho/register?ticket=")
            .expect("a registration link");
        let mut c = self.client();
        let done = c.register(&link, GOOD_PASSWORD).await;
        assert_eq!(done.status, 200, "{}", done.body);
        let r = c.login(email, GOOD_PASSWORD).await;
        assert_eq!(r.status, 303, "{}", r.body);
        c
    }

    /// Has `admin` (logged in) invite a user through the console; returns
    /// the link from the invitation mail.
    pub async fn invite(&self, admin: &mut Client, name: &str, email: &str, role: &str) -> String {
        let page = admin.get(paths::CONSOLE_INVITE).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let r = admin
            .post(
                paths::CONSOLE_INVITE,
                &[
                    ("csrf", &page.csrf()),
                    ("name", name),
                    ("email", email),
                    ("role", role),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        self.smtp
            .wait_for(email, "利用者登録のご案内")
            .link("/.sekisho/register?ticket=")
            .expect("a registration link in the mail")
    }

    /// Has `admin` (logged in) invite a user through the console, registers
    /// them from the mailed link, and returns them logged in.
    pub async fn invited_user(
        &self,
        admin: &mut Client,
        name: &str,
        email: &str,
        role: &str,
    ) -> Client {
        let link = self.invite(admin, name, email, role).await;
        let mut c = self.client();
        assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
        assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
        c
    }

    /// The console's detail page of the user `email`, with the user's id.
    pub async fn user_page(&self, admin: &mut Client, email: &str) -> (String, Resp) {
        let list = admin.get(paths::CONSOLE).await;
        let ids: Vec<String> = list
            .body
            .match_indices("/.sekisho/admin/users/")
            .map(|(i, _)| list.body[i + 22..i + 54].to_string())
            .collect();
        for id in ids {
            let page = admin.get(&format!("/.sekisho/admin/users/{id}")).await;
            if page.body.contains(email) {
                return (id, page);
            }
        }
        panic!("no detail page for {email}");
    }

    /// Has `admin` (logged in) remove the user `email` in the console.
    pub async fn remove_user(&self, admin: &mut Client, email: &str) {
        let (id, page) = self.user_page(admin, email).await;
        let action = format!("/.sekisho/admin/users/{id}/remove");
        // First the confirmation, which names the user and removes nothing.
        let confirm = admin.post(&action, &[("csrf", &page.csrf())]).await;
        assert_eq!(confirm.status, 200, "{}", confirm.body);
        assert!(
            confirm.body.contains("ユーザー削除の確認"),
            "{}",
            confirm.body
        );
        assert!(confirm.body.contains(email), "{}", confirm.body);
        let r = admin
            .post(&action, &[("csrf", &page.csrf()), ("confirmed", "yes")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("ユーザーを削除しました"), "{}", r.body);
    }

    /// Posts a console change-link form and confirms it.
    pub async fn send_change_link(
        &self,
        admin: &mut Client,
        action: &str,
        csrf: &str,
        email: &str,
    ) {
        let confirm = admin
            .post(action, &[("csrf", csrf), ("email", email)])
            .await;
        assert_eq!(confirm.status, 200, "{}", confirm.body);
        assert!(confirm.body.contains("URL送信の確認"), "{}", confirm.body);
        let r = admin
            .post(
                action,
                &[("csrf", csrf), ("email", email), ("confirmed", "yes")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// Has `admin` (logged in) send `email`'s user a login-method change
    /// link from the console; returns the link's path.
    pub async fn method_change_link(&self, admin: &mut Client, email: &str) -> String {
        let (id, page) = self.user_page(admin, email).await;
        let action = format!("/.sekisho/admin/users/{id}/change-link");
        self.send_change_link(admin, &action, &page.csrf(), email)
            .await;
        let link = self
            .smtp
            .wait_for(email, "ログイン方法の設定変更")
            .link("/.sekisho/method?ticket=")
            .expect("a method-change link");
        link[link.find(paths::PREFIX).unwrap()..].to_string()
    }
}

/// Walks the holder's アクセス経路設定 to `route`; returns the confirmation
/// page.
pub async fn set_access_route(c: &mut Client, route: &str) -> String {
    let page = c.get(paths::MENU_ACCESS_ROUTE).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let confirm = c
        .post(
            paths::MENU_ACCESS_ROUTE,
            &[("csrf", &page.csrf()), ("route", route)],
        )
        .await;
    assert!(
        confirm.body.contains("アクセス経路変更確認"),
        "{}",
        confirm.body
    );
    let done = c
        .post(
            paths::MENU_ACCESS_ROUTE_CONFIRM,
            &[("csrf", &confirm.csrf()), ("route", route)],
        )
        .await;
    assert!(done.body.contains("アクセス経路設定完了"), "{}", done.body);
    confirm.body
}

/// Sends raw bytes on a new connection and returns what came back within
/// `wait` (the connection may stay open).
pub async fn raw_request(addr: SocketAddr, bytes: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
