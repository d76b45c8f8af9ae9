//! Per-tenant Active Directory (PRODUCT §3.3, manual §1-3, §1-5; SECURITY
//! S36, S37): ADFS-like OpenID providers (npm `oidc-provider` under
//! `/adfs`, sending `upn`) on loopback, set up by each tenant's contract
//! holder in the account menu; the connection ID comes by mail and leads
//! users in through the AD login URL, the login page's prompt or the
//! registration page.

use sekisho_policy::paths;
use sekisho_tests::client::hidden;
use sekisho_tests::oidc::{sign_in, OidcProvider, CLIENT_ID, CLIENT_SECRET};
use sekisho_tests::{free_addr, Client, Env, GatewayOptions, Resp, GOOD_PASSWORD};

const LINE: &str = "CAF0000000001";

struct Setup {
    env: Env,
    adfs_a: OidcProvider,
    adfs_b: OidcProvider,
    _dir: tempfile::TempDir,
}

async fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr("127.0.0.7");
    // Each tenant's callback is registered at its ADFS once its connection
    // ID is known; the stand-ins accept any connection's callback.
    let redirects = vec![
        format!("http://{listen}/.sekisho/ad/*/callback"),
        "http://127.0.0.1:*/.sekisho/ad/*/callback".to_string(),
    ];
    let adfs_a = OidcProvider::start(free_addr("127.0.0.1"), "/adfs", &redirects);
    let adfs_b = OidcProvider::start(free_addr("127.0.0.1"), "/adfs", &redirects);
    let key = dir.path().join("ad.key");
    std::fs::write(&key, "5a".repeat(32)).unwrap();
    let extra = format!(
        "[federation.active_directory]\nsecret_key_file = \"{}\"\nallow_http_issuers = true\n",
        key.display()
    );
    let env = Env::start_with(|o: GatewayOptions| {
        GatewayOptions {
            listen: Some(listen),
            extra,
            ..o
        }
        .closed()
    })
    .await;
    Setup {
        env,
        adfs_a,
        adfs_b,
        _dir: dir,
    }
}

/// The holder saves the tenant's ADFS; returns the connection ID from the
/// mail, checking the mail on the way.
async fn set_up_ad(s: &Setup, holder: &mut Client, email: &str, issuer: &str) -> String {
    let page = holder.get(paths::MENU_AD).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = holder
        .post(
            paths::MENU_AD,
            &[
                ("csrf", &page.csrf()),
                ("issuer", issuer),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Active Directory設定完了"), "{}", r.body);
    // Its way on says where it goes (issue 32, 3), not the page's own name.
    assert!(
        r.body.contains("認証・契約情報変更メニューへ戻る"),
        "{}",
        r.body
    );
    let mail = s.env.smtp.wait_for(
        email,
        "【おまかせクラウドストレージ】Active Directoryアカウントのログイン用URL・接続ID通知",
    );
    let at = mail.body.find("接続ID : adfs-").expect("the connection ID") + "接続ID : ".len();
    let id = mail.body[at..at + 23].to_string();
    assert!(r.body.contains(&id), "the completion page shows it too");
    let internet = format!(
        "インターネット用 : {}/.sekisho/ad/start?connection_id={id}",
        s.env.gw.base
    );
    assert!(mail.body.contains(&internet), "{}", mail.body);
    let closed = format!(
        "回線認証用 : {}/.sekisho/ad/start?connection_id={id}",
        s.env.gw.closed_base.as_deref().unwrap()
    );
    assert!(mail.body.contains(&closed), "{}", mail.body);
    id
}

/// Invites `email` from the holder's console; returns the registration path.
async fn invite(s: &Setup, holder: &mut Client, email: &str) -> String {
    let link = s.env.invite(holder, "利用者", email, "user").await;
    link[link.find(paths::PREFIX).unwrap()..].to_string()
}

/// Follows a 303 to the 接続ID確認 page, presses 確認 there and walks the
/// ADFS pages as `login`; returns the gateway's answer to the callback.
async fn confirm_and_sign_in(c: &mut Client, confirm_path: &str, login: &str) -> Resp {
    let page = c.get(confirm_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let field = |n| hidden(&page.body, n).unwrap_or_default();
    let r = c
        .post(
            paths::AD_START,
            &[
                ("csrf", &page.csrf()),
                ("connection_id", &field("connection_id")),
                ("purpose", &field("purpose")),
                ("next", &field("next").replace("&#x2f;", "/")),
                ("ticket", &field("ticket")),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let auth = r.location().to_string();
    assert!(auth.contains("/adfs/auth"), "{auth}");
    assert!(auth.contains("code_challenge_method=S256"), "{auth}");
    let back = sign_in(c, &auth, login).await;
    assert!(back.contains("/.sekisho/ad/adfs-"), "{back}");
    c.get(&back).await
}

/// Registers an invited user with the tenant's AD from the registration
/// page's button.
async fn register_with_ad(c: &mut Client, register_path: &str, login: &str) -> Resp {
    let page = c.get(register_path).await;
    assert!(
        page.body.contains("Active Directoryアカウントで登録"),
        "{}",
        page.body
    );
    let ticket = register_path.split("ticket=").nth(1).unwrap();
    let at = page.body.find(paths::AD_FIND).expect("the AD form");
    let connection_id = hidden(&page.body[at..], "connection_id").unwrap();
    let r = c
        .post(
            paths::AD_FIND,
            &[
                ("csrf", &page.csrf()),
                ("connection_id", &connection_id),
                ("purpose", "register"),
                ("ticket", ticket),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let confirm = r.location().to_string();
    let page = c.get(&confirm).await;
    assert!(page.body.contains("接続ID確認"), "{}", page.body);
    assert!(
        page.body.contains("そのサービスからログアウトしてから"),
        "the advice to log out of the provider first"
    );
    assert!(page.body.contains(&connection_id));
    confirm_and_sign_in(c, &confirm, login).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_is_set_up_by_the_holder_and_signs_users_in_by_connection_id() {
    let mut s = start().await;
    let holder_email = "ad-holder@example.jp";
    let mut holder = s.env.logged_in_holder(holder_email).await;
    let menu = holder.get(paths::MENU).await;
    assert!(menu.body.contains("Active Directory設定"), "{}", menu.body);

    // Refusals name the problem and save nothing.
    let page = holder.get(paths::MENU_AD).await;
    assert!(page.body.contains("未設定"), "{}", page.body);
    // The set-up guide sits in the page once, and never in its title.
    let title = page
        .body
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next());
    assert_eq!(
        title,
        Some("Active Directory設定 | おまかせクラウドストレージ"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("設定の手順").count(), 1, "{}", page.body);
    let r = holder
        .post(
            paths::MENU_AD,
            &[
                ("csrf", &page.csrf()),
                ("issuer", "ftp://adfs.example/adfs"),
                ("client_id", ""),
                ("client_secret", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("https:// で始まるURL"), "{}", r.body);
    assert!(r.body.contains("クライアントIDを入力してください"));
    assert!(r
        .body
        .contains("クライアントシークレットを入力してください"));
    let r = holder
        .post(
            paths::MENU_AD,
            &[
                ("csrf", &page.csrf()),
                ("issuer", "http://127.0.0.1:1/adfs"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("取得できませんでした"), "{}", r.body);
    assert!(holder.get(paths::MENU_AD).await.body.contains("未設定"));

    let issuer = s.adfs_a.issuer.clone();
    let id = set_up_ad(&s, &mut holder, holder_email, &issuer).await;
    // The client secret is sealed in the store, never kept in the clear.
    let store_dir = s.env.gw.data_dir().join("data");
    assert!(store_dir.join("sekisho.sqlite3").is_file());
    for entry in std::fs::read_dir(store_dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes
                .windows(CLIENT_SECRET.len())
                .any(|w| w == CLIENT_SECRET.as_bytes()),
            "the client secret in the clear in the store"
        );
    }
    // Saving again keeps the connection ID.
    let again = set_up_ad(&s, &mut holder, holder_email, &issuer).await;
    assert_eq!(again, id);

    // An invited user registers with AD from the registration page.
    let register = invite(&s, &mut holder, "ad-user@example.jp").await;
    let mut u = s.env.client();
    let done = register_with_ad(&mut u, &register, "taro").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("申込完了"), "{}", done.body);

    // Login through the mailed AD login URL.
    let mut c = s.env.client();
    let path = format!("/.sekisho/ad/start?connection_id={id}");
    let page = c.get(&path).await;
    let csp = page.header("content-security-policy").unwrap().to_string();
    let adfs_origin = issuer.trim_end_matches("/adfs");
    assert!(
        csp.contains(adfs_origin),
        "form-action lists the ADFS: {csp}"
    );
    let r = confirm_and_sign_in(&mut c, &path, "taro").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/", "no second step after Active Directory");
    assert_eq!(c.get("/files/ad").await.status, 200);
    let seen = s.env.upstream.last();
    assert_eq!(seen.one("x-auth-email"), "ad-user@example.jp");
    assert_eq!(seen.one("x-auth-method"), "ad");
    // The password does not open an AD account.
    let mut p = s.env.client();
    assert_eq!(
        p.login("ad-user@example.jp", GOOD_PASSWORD).await.status,
        200
    );

    // Login through the login page's button and the connection-ID prompt,
    // typed full-width in capitals.
    let mut c = s.env.client();
    let login = c.get("/.sekisho/login?next=/files/home").await;
    assert!(
        login.body.contains("Active Directoryアカウントでログイン"),
        "{}",
        login.body
    );
    let prompt = c
        .get("/.sekisho/ad/start?purpose=login&next=%2Ffiles%2Fhome")
        .await;
    assert_eq!(prompt.status, 200);
    assert!(prompt.body.contains("name=\"connection_id\""));
    let carry = |n| hidden(&prompt.body, n).unwrap_or_default();
    let mut form = [
        ("csrf", prompt.csrf()),
        ("purpose", carry("purpose")),
        ("next", "/files/home".to_string()),
        ("ticket", String::new()),
        ("connection_id", "adfs-nosuchconnection0".to_string()),
    ];
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post(paths::AD_FIND, &refs).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("接続IDが正しくありません"), "{}", r.body);
    let full_width: String = id
        .to_uppercase()
        .chars()
        .map(|ch| match ch {
            '!'..='~' => char::from_u32(ch as u32 + 0xFEE0).unwrap(),
            other => other,
        })
        .collect();
    form.last_mut().unwrap().1 = full_width;
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post(paths::AD_FIND, &refs).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let confirm = r.location().to_string();
    assert!(confirm.contains(&id), "{confirm}");
    let r = confirm_and_sign_in(&mut c, &confirm, "taro").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/files/home");

    // Login through the closed-route URL, from a registered line.
    let page = holder.get(paths::CONSOLE_LINES).await;
    let r = holder
        .post(
            paths::CONSOLE_LINES,
            &[
                ("csrf", &page.csrf()),
                ("route", "line_and_internet"),
                ("lines", LINE),
            ],
        )
        .await;
    assert!(r.status == 303 || r.status == 200, "{}", r.body);
    let mut closed = s.env.closed_client("127.0.0.2", Some(LINE));
    let r = confirm_and_sign_in(&mut closed, &path, "taro").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(closed.get("/files/closed").await.status, 200);
    let seen = s.env.upstream.last();
    assert_eq!(seen.one("x-auth-route"), "closed");
    assert_eq!(seen.one("x-auth-method"), "ad");

    let metrics = s.env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_federated_logins_total{outcome=\"succeeded\",provider=\"ad\"} 3"),
        "{metrics}"
    );
    // A restart keeps the connection (and its sealed secret) working.
    s.env.gw.restart();
    let mut c = s.env.client();
    let r = confirm_and_sign_in(&mut c, &path, "taro").await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// Starts a login at connection `id` and walks its ADFS as `login`;
/// returns the callback URL without opening it.
async fn start_login(c: &mut Client, id: &str, login: &str) -> String {
    let page = c
        .get(&format!("/.sekisho/ad/start?connection_id={id}"))
        .await;
    let r = c
        .post(
            paths::AD_START,
            &[
                ("csrf", &page.csrf()),
                ("connection_id", id),
                ("purpose", "login"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    sign_in(c, r.location(), login).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s37_one_tenants_ad_never_signs_in_another_tenants_user() {
    let s = start().await;
    // Tenants A and B use the same ADFS; tenant C another.
    let mut a = s.env.logged_in_holder("holder-a@example.jp").await;
    let mut b = s.env.logged_in_holder("holder-b@example.jp").await;
    let mut c = s.env.logged_in_holder("holder-c@example.jp").await;
    let shared = s.adfs_a.issuer.clone();
    let id_a = set_up_ad(&s, &mut a, "holder-a@example.jp", &shared).await;
    let id_b = set_up_ad(&s, &mut b, "holder-b@example.jp", &shared).await;
    let other = s.adfs_b.issuer.clone();
    let id_c = set_up_ad(&s, &mut c, "holder-c@example.jp", &other).await;
    assert_ne!(id_a, id_b);

    // B's user binds the shared ADFS account "jiro"; C's user "saburo" at
    // C's ADFS.
    let reg_b = invite(&s, &mut b, "user-b@example.jp").await;
    let mut ub = s.env.client();
    assert_eq!(register_with_ad(&mut ub, &reg_b, "jiro").await.status, 200);
    let reg_c = invite(&s, &mut c, "user-c@example.jp").await;
    let mut uc = s.env.client();
    assert_eq!(
        register_with_ad(&mut uc, &reg_c, "saburo").await.status,
        200
    );

    // Through A's connection the same ADFS account finds B's user: refused.
    let mut x = s.env.client();
    let path_a = format!("/.sekisho/ad/start?connection_id={id_a}");
    let r = confirm_and_sign_in(&mut x, &path_a, "jiro").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!x.cookies.contains_key("sekisho"), "no session");
    // Through B's it is B's user.
    let path_b = format!("/.sekisho/ad/start?connection_id={id_b}");
    let r = confirm_and_sign_in(&mut x, &path_b, "jiro").await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The same subject at another ADFS is nobody (issuer and subject).
    let mut y = s.env.client();
    let r = confirm_and_sign_in(&mut y, &path_a, "saburo").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("このアカウントは登録されていません"),
        "{}",
        r.body
    );

    // A's invitation cannot be completed through B's connection.
    let reg_a = invite(&s, &mut a, "user-a@example.jp").await;
    let ticket = reg_a.split("ticket=").nth(1).unwrap().to_string();
    let mut ua = s.env.client();
    let page = ua
        .get(&format!(
            "/.sekisho/ad/start?connection_id={id_b}&purpose=register&ticket={ticket}"
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = ua
        .post(
            paths::AD_START,
            &[
                ("csrf", &page.csrf()),
                ("connection_id", &id_b),
                ("purpose", "register"),
                ("ticket", &ticket),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // ...and a flow of A's connection brought to C's callback is refused
    // (S36: another tenant's issuer at this tenant's callback).
    let back = start_login(&mut ua, &id_a, "jiro").await;
    let moved = back.replace(&id_a, &id_c);
    assert_ne!(moved, back);
    assert_eq!(ua.get(&moved).await.status, 400);
    assert_eq!(ua.get(&back).await.status, 400, "the flow was used up");
    // A configured provider's callback does not take an AD flow either.
    let back = start_login(&mut ua, &id_a, "jiro").await;
    let query = back.split_once('?').unwrap().1;
    let r = ua
        .get(&format!("/.sekisho/federation/callback?{query}"))
        .await;
    assert_eq!(r.status, 400);

    // The holder can never choose AD: not offered on the method page, and
    // refused when posted.
    let page = a.get(paths::MENU_METHOD).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Active Directoryアカウントで登録"));
    let start = a.get(&path_a).await;
    let r = a
        .post(
            paths::AD_START,
            &[
                ("csrf", &start.csrf()),
                ("connection_id", &id_a),
                ("purpose", "method"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let metrics = s.env.gw.metrics().await;
    assert!(
        metrics
            .contains("sekisho_federated_logins_total{outcome=\"other_tenant\",provider=\"ad\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_change_to_ad_by_an_administrators_link() {
    let s = start().await;
    let mut holder = s.env.logged_in_holder("ad-admin@example.jp").await;
    let issuer = s.adfs_a.issuer.clone();
    let id = set_up_ad(&s, &mut holder, "ad-admin@example.jp", &issuer).await;
    s.env
        .invited_user(&mut holder, "利用 者", "ad-staff@example.jp", "user")
        .await;
    let path = s
        .env
        .method_change_link(&mut holder, "ad-staff@example.jp")
        .await;
    let ticket = path.split("ticket=").nth(1).unwrap().to_string();
    let mut c = s.env.client();
    let page = c.get(&path).await;
    assert!(
        page.body.contains("Active Directoryアカウントで登録"),
        "{}",
        page.body
    );
    let r = c
        .post(
            paths::AD_FIND,
            &[
                ("csrf", &page.csrf()),
                ("connection_id", &id),
                ("purpose", "method_link"),
                ("ticket", &ticket),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let done = confirm_and_sign_in(&mut c, r.location(), "shiro").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(c.get(&path).await.status, 400, "the link is used up");
    let mut p = s.env.client();
    assert_eq!(
        p.login("ad-staff@example.jp", GOOD_PASSWORD).await.status,
        200,
        "the password no longer signs in"
    );
    let mut d = s.env.client();
    let r = confirm_and_sign_in(
        &mut d,
        &format!("/.sekisho/ad/start?connection_id={id}"),
        "shiro",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(d.get("/files/x").await.status, 200);
    assert_eq!(
        s.env.upstream.last().one("x-auth-email"),
        "ad-staff@example.jp"
    );
}
