//! Sign-in with OpenID providers (PRODUCT §3.2; SECURITY S36, S37): real
//! providers (npm `oidc-provider`) on loopback, the gateway as their
//! client, the authorization-code flow walked through the providers' own
//! pages.

use sekisho_policy::paths;
use sekisho_tests::oidc::{sign_in, OidcProvider};
use sekisho_tests::{free_addr, Client, Env, GatewayOptions, GOOD_PASSWORD};

/// A gateway with a Google-like and a Microsoft-like provider.
struct Setup {
    env: Env,
    google: OidcProvider,
    _microsoft: OidcProvider,
    _dir: tempfile::TempDir,
}

async fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    // The gateway's address is chosen before its peers start; an address
    // of its own keeps their ports from ever taking it.
    let listen = free_addr("127.0.0.6");
    let redirect = vec![format!("http://{listen}/.sekisho/federation/callback")];
    let google = OidcProvider::start(free_addr("127.0.0.1"), "", &redirect);
    let microsoft = OidcProvider::start(free_addr("127.0.0.1"), "", &redirect);
    let extra = google.config("google", dir.path()) + &microsoft.config("microsoft", dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        listen: Some(listen),
        extra,
        ..o
    })
    .await;
    Setup {
        env,
        google,
        _microsoft: microsoft,
        _dir: dir,
    }
}

/// Presses a provider's button on `page_path` (the login or registration
/// page) and returns where the gateway sends the browser.
async fn press(c: &mut Client, page_path: &str, provider: &str) -> String {
    let page = c.get(page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let purpose = if page_path.starts_with(paths::REGISTER) {
        "register"
    } else {
        "login"
    };
    let ticket = page_path.split("ticket=").nth(1).unwrap_or("").to_string();
    let r = c
        .post(
            paths::FEDERATION_START,
            &[
                ("csrf", &page.csrf()),
                ("provider", provider),
                ("purpose", purpose),
                ("ticket", &ticket),
                ("next", "/files/home"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_string()
}

/// Registers an invited holder with the provider account `login`.
async fn register_with(s: &Setup, email: &str, provider: &str, login: &str) -> Client {
    let link = s.env.invite_holder(email);
    let path = &link[link.find(paths::PREFIX).unwrap()..];
    let mut c = s.env.client();
    let page = c.get(path).await;
    assert!(
        page.body.contains("Googleアカウントで登録"),
        "{}",
        page.body
    );
    let auth = press(&mut c, path, provider).await;
    assert!(
        auth.contains("code_challenge_method=S256"),
        "PKCE S256: {auth}"
    );
    assert!(auth.contains("nonce=") && auth.contains("state="));
    let back = sign_in(&mut c, &auth, login).await;
    assert!(back.contains("iss="), "RFC 9207 iss: {back}");
    let done = c.get(&back).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("申込完了"), "{}", done.body);
    c
}

async fn log_in_with(c: &mut Client, provider: &str, login: &str) -> sekisho_tests::Resp {
    let auth = press(c, paths::LOGIN, provider).await;
    let back = sign_in(c, &auth, login).await;
    c.get(&back).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_log_in_with_a_provider() {
    let s = start().await;
    let email = "fed@example.jp";
    let mut c = register_with(&s, email, "google", "alice").await;
    let login_page = c.get(paths::LOGIN).await;
    assert!(login_page.body.contains("Googleアカウントでログイン"));
    assert!(login_page.body.contains("Microsoftアカウントでログイン"));
    // The forms may send the browser on to the providers, and only there.
    let csp = login_page.header("content-security-policy").unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {}", s.google.issuer)),
        "{csp}"
    );
    let r = log_in_with(&mut c, "google", "alice").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location(),
        "/files/home",
        "no second step after a provider"
    );
    let r = c.get("/files/home").await;
    assert_eq!(r.status, 200);
    let seen = s.env.upstream.last();
    assert_eq!(seen.one("x-auth-email"), email);
    assert_eq!(seen.one("x-auth-method"), "google");
    // The password does not open a federated account.
    let mut p = s.env.client();
    assert_eq!(p.login(email, GOOD_PASSWORD).await.status, 200);
    let metrics = s.env.gw.metrics().await;
    assert!(
        metrics.contains(
            "sekisho_federated_logins_total{outcome=\"succeeded\",provider=\"google\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s37_accounts_are_issuer_and_subject_never_email() {
    let s = start().await;
    register_with(&s, "bound@example.jp", "google", "alice").await;
    // Same subject at another issuer: nobody.
    let mut c = s.env.client();
    let r = log_in_with(&mut c, "microsoft", "alice").await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("このアカウントは登録されていません"),
        "{}",
        r.body
    );
    // A provider account whose email matches a password user: not linked.
    let link = s.env.invite_holder("bob@provider.test");
    let mut b = s.env.client();
    assert_eq!(b.register(&link, GOOD_PASSWORD).await.status, 200);
    let mut c = s.env.client();
    let r = log_in_with(&mut c, "google", "bob").await;
    assert_eq!(
        r.status, 403,
        "email bob@provider.test must not link: {}",
        r.body
    );
    // One provider account, one user.
    let link = s.env.invite_holder("second@example.jp");
    let path = link[link.find(paths::PREFIX).unwrap()..].to_string();
    let mut d = s.env.client();
    let auth = press(&mut d, &path, "google").await;
    let back = sign_in(&mut d, &auth, "alice").await;
    let r = d.get(&back).await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s36_state_is_single_use_bound_and_checked() {
    let s = start().await;
    register_with(&s, "state@example.jp", "google", "carol").await;
    let mut c = s.env.client();
    let auth = press(&mut c, paths::LOGIN, "google").await;
    let back = sign_in(&mut c, &auth, "carol").await;
    // Another browser cannot use the return (no matching pre-session).
    let mut thief = s.env.client();
    thief.get(paths::LOGIN).await;
    assert_eq!(thief.get(&back).await.status, 400);
    // ...and the state was used up by that attempt: a replay fails too.
    assert_eq!(c.get(&back).await.status, 400);
    // Missing or made-up state.
    let without: String = back
        .split('&')
        .filter(|p| !p.contains("state="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(c.get(&without).await.status, 400);
    // A wrong RFC 9207 iss.
    let auth = press(&mut c, paths::LOGIN, "google").await;
    let back = sign_in(&mut c, &auth, "carol").await;
    let forged = back.replace(
        &urlencode(&s.google.issuer),
        &urlencode("http://127.0.0.1:1"),
    );
    assert_ne!(forged, back);
    assert_eq!(c.get(&forged).await.status, 400);
    // A replayed code with a fresh state: the provider refuses it.
    let auth = press(&mut c, paths::LOGIN, "google").await;
    let state = auth
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let code = back
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let replay = format!("/.sekisho/federation/callback?code={code}&state={state}");
    assert_eq!(c.get(&replay).await.status, 400);
    let metrics = s.env.gw.metrics().await;
    assert!(metrics.contains("outcome=\"iss_mismatch\""), "{metrics}");
    assert!(metrics.contains("outcome=\"unknown_state\""), "{metrics}");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Builds the provider's answer for a flow's nonce.
type TokenMaker<'a> = Box<dyn Fn(&str) -> String + 'a>;

/// Starts a sign-in at the fake provider and returns with the token
/// `make` builds for the flow's nonce; the gateway's status.
async fn attempt(
    c: &mut Client,
    idp: &sekisho_tests::fake_idp::FakeIdp,
    make: TokenMaker<'_>,
) -> u16 {
    attempt_on(c, idp, paths::LOGIN, make).await.status
}

/// [`attempt`] from the page at `page_path` (login or registration), with
/// the gateway's whole answer.
async fn attempt_on(
    c: &mut Client,
    idp: &sekisho_tests::fake_idp::FakeIdp,
    page_path: &str,
    make: TokenMaker<'_>,
) -> sekisho_tests::Resp {
    let auth = press(c, page_path, "daccount").await;
    let param = |name: &str| {
        auth.split(&format!("{name}="))
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string()
    };
    let (state, nonce) = (param("state"), param("nonce"));
    idp.answer_with(make(&nonce));
    c.get(&format!(
        "/.sekisho/federation/callback?code=c&state={state}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s36_bad_id_tokens_are_refused() {
    use sekisho_tests::fake_idp::FakeIdp;
    let idp = FakeIdp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    let extra = format!(
        "[[federation.providers]]\nid = \"daccount\"\nissuer = \"{}\"\nclient_id = \"gw\"\nclient_secret_file = \"{}\"\n",
        idp.issuer,
        secret.display()
    );
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions { extra, ..o }).await;
    let now = env.gw.now();
    // Each case: start at the gateway, then return with the token the
    // provider is made to give.
    let mut c = env.client();
    // A correct token verifies: the account is simply not registered.
    let ok = attempt(
        &mut c,
        &idp,
        Box::new(|n| idp.sign_rs256(&idp.claims("gw", n, now), "k1")),
    )
    .await;
    assert_eq!(ok, 403, "a good token passes verification");
    let cases: Vec<(&str, TokenMaker)> = vec![
        (
            "alg none",
            Box::new(|n| idp.unsigned(&idp.claims("gw", n, now))),
        ),
        (
            "HS256 keyed with the RSA public key",
            Box::new(|n| idp.sign_hs256_with_public_key(&idp.claims("gw", n, now))),
        ),
        (
            "unknown kid",
            Box::new(|n| idp.sign_rs256(&idp.claims("gw", n, now), "k9")),
        ),
        (
            "wrong aud",
            Box::new(|n| idp.sign_rs256(&idp.claims("other", n, now), "k1")),
        ),
        (
            "wrong nonce",
            Box::new(|_| idp.sign_rs256(&idp.claims("gw", "not-the-nonce", now), "k1")),
        ),
        (
            "wrong iss",
            Box::new(|n| {
                let mut c = idp.claims("gw", n, now);
                c["iss"] = "http://127.0.0.1:1".into();
                idp.sign_rs256(&c, "k1")
            }),
        ),
        (
            "expired",
            Box::new(|n| {
                let mut c = idp.claims("gw", n, now);
                c["iat"] = (now - 7200).into();
                c["exp"] = (now - 3600).into();
                idp.sign_rs256(&c, "k1")
            }),
        ),
    ];
    for (name, make) in cases {
        assert_eq!(
            attempt(&mut c, &idp, make).await,
            400,
            "{name} must be refused"
        );
    }
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains(
            "sekisho_federated_logins_total{outcome=\"id_token_invalid\",provider=\"daccount\"} 7"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_change_password_to_provider_and_back() {
    let s = start().await;
    let email = "switcher@example.jp";
    let mut c = s.env.logged_in_holder(email).await;
    // ログイン方法の設定: the provider's button, from the menu.
    let page = c.get(paths::MENU_METHOD).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Googleアカウントで登録"),
        "{}",
        page.body
    );
    let r = c
        .post(
            paths::FEDERATION_START,
            &[
                ("csrf", &page.csrf()),
                ("provider", "google"),
                ("purpose", "method"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let back = sign_in(&mut c, r.location(), "dave").await;
    let done = c.get(&back).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!c.cookies.contains_key("sekisho"), "every session ended");
    s.env.smtp.wait_for(email, "ログイン方法変更のお知らせ");
    // Now the provider signs in, and the password does not.
    let r = log_in_with(&mut c, "google", "dave").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/files/x").await.status, 200);
    assert_eq!(s.env.upstream.last().one("x-auth-method"), "google");
    let mut p = s.env.client();
    assert_eq!(p.login(email, GOOD_PASSWORD).await.status, 200);

    // And back to a password: the provider account is released.
    let page = c.get(paths::MENU_METHOD).await;
    let new_password = "Momiji-Leaves-77";
    let r = c
        .post(
            paths::MENU_METHOD,
            &[
                ("csrf", &page.csrf()),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(p.login(email, new_password).await.status, 303);
    let mut g = s.env.client();
    assert_eq!(log_in_with(&mut g, "google", "dave").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facebook_registers_and_logs_in_and_cannot_switch_accounts() {
    use sekisho_tests::fake_facebook::FakeFacebook;
    let fb = FakeFacebook::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = fb.config(dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions { extra, ..o }).await;
    let email = "fb@example.jp";
    let link = env.invite_holder(email);
    let path = link[link.find(paths::PREFIX).unwrap()..].to_string();
    let mut c = env.client();
    let page = c.get(&path).await;
    assert!(
        page.body.contains("Facebookアカウントで登録"),
        "{}",
        page.body
    );
    // Registration: the dialog answers for frank at once.
    fb.next_user("frank");
    let auth = press(&mut c, &path, "facebook").await;
    assert!(auth.contains("code_challenge_method=S256"), "{auth}");
    let back = c.get(&auth).await;
    assert_eq!(back.status, 302);
    let done = c.get(back.location()).await;
    assert!(done.body.contains("申込完了"), "{}", done.body);
    // Login with the same account.
    let auth = press(&mut c, paths::LOGIN, "facebook").await;
    let back = c.get(&auth).await;
    let r = c.get(back.location()).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/files/x").await.status, 200);
    assert_eq!(env.upstream.last().one("x-auth-method"), "facebook");
    // Another Facebook account is nobody.
    fb.next_user("grace");
    let mut o = env.client();
    let auth = press(&mut o, paths::LOGIN, "facebook").await;
    let back = o.get(&auth).await;
    assert_eq!(o.get(back.location()).await.status, 403);
    // From Facebook straight to another Facebook account: not offered,
    // and refused if forced (manual §2-1).
    let page = c.get(paths::MENU_METHOD).await;
    assert!(
        !page.body.contains("Facebookアカウントで登録"),
        "{}",
        page.body
    );
    let r = c
        .post(
            paths::FEDERATION_START,
            &[
                ("csrf", &page.csrf()),
                ("provider", "facebook"),
                ("purpose", "method"),
            ],
        )
        .await;
    let back = c.get(r.location()).await;
    let r = c.get(back.location()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A forged code (replay) is refused by the token endpoint.
    let auth = press(&mut o, paths::LOGIN, "facebook").await;
    let state = auth
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let r = o
        .get(&format!(
            "/.sekisho/federation/callback?code=fb-code-1&state={state}"
        ))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_change_to_a_provider_by_an_administrators_link() {
    let s = start().await;
    let mut holder = s.env.logged_in_holder("admin-fed@example.jp").await;
    s.env
        .invited_user(&mut holder, "利用 者", "staff-fed@example.jp", "user")
        .await;
    let path = s
        .env
        .method_change_link(&mut holder, "staff-fed@example.jp")
        .await;
    let ticket = path.split("ticket=").nth(1).unwrap().to_string();

    // The staff member opens it and picks the provider.
    let mut c = s.env.client();
    let page = c.get(&path).await;
    assert!(
        page.body.contains("Googleアカウントで登録"),
        "{}",
        page.body
    );
    let r = c
        .post(
            paths::FEDERATION_START,
            &[
                ("csrf", &page.csrf()),
                ("provider", "google"),
                ("purpose", "method_link"),
                ("ticket", &ticket),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let back = sign_in(&mut c, r.location(), "heidi").await;
    let done = c.get(&back).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The link is used up; the provider now signs the staff member in.
    assert_eq!(c.get(&path).await.status, 400);
    let r = log_in_with(&mut c, "google", "heidi").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/files/x").await.status, 200);
    assert_eq!(
        s.env.upstream.last().one("x-auth-email"),
        "staff-fed@example.jp"
    );
}

/// A gateway with the d ACCOUNT preset at a provider shaped like docomo's
/// (see `fake_idp::Shape::Daccount`), with `id_token_hs256` as given.
async fn daccount_gateway(
    hs256: bool,
) -> (Env, sekisho_tests::fake_idp::FakeIdp, tempfile::TempDir) {
    use sekisho_tests::fake_idp::{FakeIdp, Shape};
    let idp = FakeIdp::start_shaped(Shape::Daccount).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, DACCOUNT_SECRET).unwrap();
    let extra = format!(
        "[[federation.providers]]\nid = \"daccount\"\nissuer = \"{}\"\nclient_id = \"gw\"\nclient_secret_file = \"{}\"\nid_token_hs256 = {hs256}\n",
        idp.issuer,
        secret.display()
    );
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions { extra, ..o }).await;
    (env, idp, dir)
}

const DACCOUNT_SECRET: &str = "docomo-client-secret-0123456789";

/// Claims as d ACCOUNT gives them: a pairwise subject, no email.
fn pairwise_claims(
    idp: &sekisho_tests::fake_idp::FakeIdp,
    nonce: &str,
    now: i64,
) -> serde_json::Value {
    let mut c = idp.claims("gw", nonce, now);
    c["sub"] = "pw-5f0c2a9e7b1d4c38".into();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daccount_signs_in_at_a_provider_shaped_like_docomos() {
    let (env, idp, _dir) = daccount_gateway(true).await;
    let now = env.gw.now();
    // Registration with an HS256 token under the client secret.
    let link = env.invite_holder("daccount@example.jp");
    let path = link[link.find(paths::PREFIX).unwrap()..].to_string();
    let mut c = env.client();
    let done = attempt_on(
        &mut c,
        &idp,
        &path,
        Box::new(|n| idp.sign_hs256_with_secret(&pairwise_claims(&idp, n, now), DACCOUNT_SECRET)),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("申込完了"), "{}", done.body);

    // Login with RS256 under a key that has no kid: chosen by algorithm.
    let r = attempt_on(
        &mut c,
        &idp,
        paths::LOGIN,
        Box::new(|n| idp.sign_rs256_without_kid(&pairwise_claims(&idp, n, now))),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/files/home");
    assert_eq!(c.get("/files/home").await.status, 200);
    let seen = env.upstream.last();
    assert_eq!(seen.one("x-auth-method"), "daccount");
    assert_eq!(seen.one("x-auth-email"), "daccount@example.jp");

    // And with HS256 again; then HS256 made with another secret is refused.
    let mut again = env.client();
    let r = attempt_on(
        &mut again,
        &idp,
        paths::LOGIN,
        Box::new(|n| idp.sign_hs256_with_secret(&pairwise_claims(&idp, n, now), DACCOUNT_SECRET)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut forger = env.client();
    let r = attempt(
        &mut forger,
        &idp,
        Box::new(|n| idp.sign_hs256_with_secret(&pairwise_claims(&idp, n, now), "another-secret")),
    )
    .await;
    assert_eq!(r, 400, "HS256 under another secret must be refused");
    // The algorithm confusion stays refused here too.
    let r = attempt(
        &mut forger,
        &idp,
        Box::new(|n| idp.sign_hs256_with_public_key(&pairwise_claims(&idp, n, now))),
    )
    .await;
    assert_eq!(r, 400);

    // Logging out asks nothing of the provider (it has no end-session
    // endpoint): the gateway's own logout ends the session.
    let page = c.get(paths::LOGOUT).await;
    let r = c.post(paths::LOGOUT, &[("csrf", &page.csrf())]).await;
    assert!(r.status == 200 || r.status == 303, "{}", r.body);
    assert_ne!(c.get("/files/home").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s36_hs256_is_refused_where_not_configured_whatever_the_provider_advertises() {
    let (env, idp, _dir) = daccount_gateway(false).await;
    let now = env.gw.now();
    let mut c = env.client();
    // The metadata lists HS256, but without id_token_hs256 a token under
    // the client secret is refused.
    let r = attempt(
        &mut c,
        &idp,
        Box::new(|n| idp.sign_hs256_with_secret(&pairwise_claims(&idp, n, now), DACCOUNT_SECRET)),
    )
    .await;
    assert_eq!(r, 400);
    // RS256 still verifies (the account is simply not registered).
    let r = attempt(
        &mut c,
        &idp,
        Box::new(|n| idp.sign_rs256_without_kid(&pairwise_claims(&idp, n, now))),
    )
    .await;
    assert_eq!(r, 403);
}

#[test]
fn id_token_hs256_is_for_the_daccount_preset_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "s").unwrap();
    let config = dir.path().join("sekisho.toml");
    std::fs::write(
        &config,
            "[internet]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://ff.example.net\"\n[upstream]\naddress = \"127.0.0.1:9000\"\n[mail]\nfrom = \"n@example.net\"\ntransport = \"outbox\"\n[assertion]\nsigning_key_file = \"key.pem\"\ngenerate_if_missing = true\n[two_step]\nseed_key_file = \"seed.key\"\ngenerate_seed_key = true\n[[federation.providers]]\nid = \"google\"\nclient_id = \"gw\"\nclient_secret_file = \"secret\"\nid_token_hs256 = true\n",
    )
    .unwrap();
    let out = std::process::Command::new(sekisho_tests::gateway::binary())
        .args(["check-config", "--syntax-only"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the key is known: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(sekisho_tests::gateway::binary())
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("federation.providers[0].id_token_hs256")
            && said.contains("only for the daccount preset"),
        "{said}"
    );
}
