//! Attack drills that every store backend must pass alike: each test file
//! of a backend calls them on its own gateway.

use crate::Env;
use sekisho_policy::paths;

/// S57: identifiers no one can have (a NUL or another control character,
/// or longer than an address may be) get a clear answer at login and at
/// 「パスワードをお忘れの方」, and never reach the store: the store-error
/// metric stays at zero.
pub async fn s57_identifiers_no_one_can_have_stop_before_the_store(env: &Env) {
    let mut c = env.client();
    let too_long = format!("{}@example.jp", "a".repeat(300));
    for email in ["ta\u{0}ro@example.jp", "taro\u{7}@example.jp", &too_long] {
        let r = c.login(email, "Some-Password-1").await;
        assert_eq!(r.status, 200, "{email:?}");
        assert!(
            r.body
                .contains("メールアドレスまたはパスワードが正しくありません。"),
            "{email:?}"
        );
        let csrf = c.get(paths::FORGOT).await.csrf();
        let r = c
            .post(paths::FORGOT, &[("csrf", &csrf), ("email", email)])
            .await;
        assert_eq!(r.status, 422, "{email:?}");
        assert!(r.body.contains("メールアドレスの形式が正しくありません。"));
    }
    let metrics = env.gw.metrics().await;
    let faults: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("sekisho_store_errors_total{") && !l.ends_with(" 0"))
        .collect();
    assert!(faults.is_empty(), "counted as store faults: {faults:?}");
}
