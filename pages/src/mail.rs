//! Mail texts, following the manual's wording (件名 【<service>】…). Plain
//! text only: links are written out in full, so they survive any mail client.

/// A message ready to send: the gateway adds From and To.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

fn footer(service: &str) -> String {
    format!(
        "=====\n本メールは「{service}」のシステムより自動的に送信しております。\n\
         送信専用となっておりますので、ご返信いただきましてもご対応いたしかねますので\n\
         予めご了承ください。\n=====\n"
    )
}

fn addressee(name: &str) -> &str {
    if name.trim().is_empty() {
        "ご利用者"
    } else {
        name
    }
}

/// 利用者登録のご案内 (manual §1-5). `inviter` is the contract holder's address
/// when an admin invites a user; `None` for the contract holder's own
/// registration, which the operator starts.
pub fn invitation(service: &str, name: &str, inviter: Option<&str>, url: &str) -> MailText {
    let who = addressee(name);
    let registered = match inviter {
        Some(inviter) => {
            format!("{inviter}より{who}様が\n本サービスの利用者として登録されました。")
        }
        None => format!("{who}様が\n本サービスのご契約者として登録されました。"),
    };
    MailText {
        subject: format!("【{service}】利用者登録のご案内"),
        body: format!(
            "{who} 様\n\n\
             こちらは、{service}システムです。\n\
             {registered}\n\
             本メール受領後、14日以内に下記URLへアクセスして利用者登録を完了してください。\n\n\
             ■利用者登録用URL\n\n\
             {url}\n\n\
             {}",
            footer(service)
        ),
    }
}

fn greeting(service: &str, name: &str) -> String {
    format!(
        "{} 様\n\n平素より、{service}サービスをご利用いただき誠にありがとうございます。\n",
        addressee(name)
    )
}

/// アカウントロック (manual §6-1): sent once, when the account locks.
pub fn unlock(service: &str, name: &str, url: &str) -> MailText {
    MailText {
        subject: format!("【{service}】アカウントロック"),
        body: format!(
            "{}\n\
             サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。\n\n\
             下記URLへアクセスすることでロックを解除できます。\n\n\
             {url}\n\n\
             ※有効期限: 本メール受領後14日間\n\n\
             なお、上記URLが有効期限切れの場合、ログイン画面の「パスワードを忘れた方はこちら」からパスワードを再設定することによりロックを解除できます。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// パスワードリセット (manual §6-2).
pub fn reset(service: &str, name: &str, url: &str) -> MailText {
    MailText {
        subject: format!("【{service}】パスワードリセット"),
        body: format!(
            "{}\
             パスワードリセットについて承りました。\n\
             下記URLへアクセスし新しいパスワードを登録ください。\n\n\
             {url}\n\n\
             本メール受領後、14日間以内に新しいパスワードの登録が完了しない場合は処理がキャンセルとなりますのでご注意ください。\n\
             お心当たりのない場合は、このメールを破棄してください。パスワードは変更されません。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// The notice after a password was set by reset: the owner hears of every
/// change to their sign-in.
///
/// `passkeys` names the passkeys still registered: a reset does not remove
/// them, so the owner sees which ones still sign in.
pub fn password_reset_notice(
    service: &str,
    name: &str,
    when: &str,
    passkeys: &[String],
) -> MailText {
    let remaining = if passkeys.is_empty() {
        String::new()
    } else {
        format!(
            "登録済みのパスキー（引き続きログインに使えます）: {}\n\
             お心当たりのないものは、認証・契約情報変更メニューの「パスキー」から削除してください。\n",
            passkeys.join("、")
        )
    };
    MailText {
        subject: format!("【{service}】パスワード変更のお知らせ"),
        body: format!(
            "{}\
             {when}、パスワードリセットによりパスワードが変更されました。\n\
             あわせてアカウントのブロックが解除され、すべての端末からログアウトし、2段階認証の登録がリセットされました。\n\
             {remaining}\n\
             お心当たりのない場合は、至急、ご契約者様または管理者にご連絡ください。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// メールアドレス変更登録 (manual §2-1 ②), to the new address.
pub fn email_change(service: &str, name: &str, url: &str) -> MailText {
    MailText {
        subject: format!("【{service}】メールアドレス変更登録"),
        body: format!(
            "{}\
             下記URLへアクセスし、ご登録いただきましたメールアドレスへの変更を完了してください。\n\n\
             {url}\n\n\
             本メール受領後、14日間以内にアクセスが完了しない場合は、変更処理がキャンセルとなりますのでご注意ください。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// ログイン方法の設定変更 (manual §2-2 ①), sent by an administrator.
pub fn method_change(service: &str, name: &str, url: &str) -> MailText {
    MailText {
        subject: format!("【{service}】ログイン方法の設定変更"),
        body: format!(
            "{}\
             下記URLへアクセスし、ログイン方法の設定変更を完了してください。\n\n\
             {url}\n\n\
             ログイン方法に認証連携しているサービスアカウントを設定する場合は、\n\
             当該サービスのアカウントからログアウトした後に、本メールに記載のリンク\n\
             にアクセスし、{service}のログイン設定を進めることを推奨します。\n\
             ※お客さまが意図しない認証連携サービスのアカウントに\n\
             紐づいてしまうことを防ぐため\n\n\
             本メール受領後、14日間以内にログイン方法の設定変更が完了しない場合は\n\
             変更処理がキャンセルとなりますのでご注意ください。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// Active Directoryアカウントのログイン用URL・接続ID通知 (manual §1-3), sent
/// to the contract holder when the tenant's ADFS is set up. `closed_url`
/// is `None` when the gateway has no closed-network route.
pub fn ad_connection(
    service: &str,
    name: &str,
    internet_url: &str,
    closed_url: Option<&str>,
    connection_id: &str,
) -> MailText {
    let closed = match closed_url {
        Some(u) => format!("・回線認証用 : {u}\n"),
        None => String::new(),
    };
    MailText {
        subject: format!("【{service}】Active Directoryアカウントのログイン用URL・接続ID通知"),
        body: format!(
            "{}\
             Active Directoryアカウントのログイン用URLおよび接続IDをご連絡いたします。\n\n\
             ※契約者の方は、Active Directoryアカウントでログインをする利用者に対して、\
             事前に接続IDを通知してください。\n\
             利用者がログイン方法のActive Directoryアカウントに設定する際に、\
             接続IDの入力が必要となります。\n\n\
             ■ Active Directoryアカウントのログイン用URL\n\
             ・インターネット用 : {internet_url}\n\
             {closed}\n\
             ■ Active Directoryアカウントのログイン設定に必要な接続ID\n\
             ・Active Directoryの接続ID : {connection_id}\n\
             {service}へログイン時に、接続IDの入力画面が表示された場合、\
             上記の接続IDを入力してください。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// A notice of a change to someone's sign-in: `what` says which (e.g.
/// パスワード, メールアドレス, ログイン方法), `detail` adds a sentence.
pub fn sign_in_changed_notice(
    service: &str,
    name: &str,
    what: &str,
    when: &str,
    detail: &str,
) -> MailText {
    MailText {
        subject: format!("【{service}】{what}変更のお知らせ"),
        body: format!(
            "{}\
             {when}、{what}が変更されました。\n\
             {detail}\n\n\
             お心当たりのない場合は、至急、ご契約者様または管理者にご連絡ください。\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// What the new-browser mail says about a sign-in (S63).
#[derive(Debug, Clone)]
pub struct SignInSeen<'a> {
    /// When, as [`format_jst`] writes it.
    pub when: &'a str,
    /// Browser and OS, e.g. "Chrome / Windows 10".
    pub browser: &'a str,
    pub address: &'a str,
    /// The route: true for the closed network (回線認証).
    pub closed: bool,
    /// The way in, in Japanese and in English (e.g. パスワード, password).
    pub way_in: (&'a str, &'a str),
}

/// 新しいブラウザからのログイン (S63): sent when an account signs in from a
/// browser it has not used, with the one-time 「心当たりがない場合」 link.
/// Japanese first, then English.
pub fn new_browser(service: &str, name: &str, seen: &SignInSeen<'_>, not_me_url: &str) -> MailText {
    let (route_ja, route_en) = if seen.closed {
        ("閉域網 (回線認証)", "closed network (line authentication)")
    } else {
        ("インターネット", "internet")
    };
    MailText {
        subject: format!("【{service}】新しいブラウザからのログインのお知らせ"),
        body: format!(
            "{}\
             お使いのアカウントに、これまでご利用のないブラウザからログインがありました。\n\n\
             ■日時: {when}\n\
             ■ブラウザ: {browser}\n\
             ■IPアドレス: {address}\n\
             ■接続経路: {route_ja}\n\
             ■ログイン方法: {way_ja}\n\n\
             ご本人によるログインであれば、このメールへの対応は不要です。\n\n\
             ■心当たりがない場合\n\
             下記URLを開き、表示された画面のボタンを押してください。アカウントをロックし、\
             すべての端末からログアウトします。ロックはパスワードの再設定で解除できます。\n\n\
             {not_me_url}\n\n\
             (このURLは一度だけ、14日間有効です。)\n\n\
             ---- English ----\n\
             Your account was signed in to from a browser it has not used before.\n\
             When: {when}\n\
             Browser: {browser}\n\
             IP address: {address}\n\
             Route: {route_en}\n\
             Signed in with: {way_en}\n\n\
             If this was you, there is nothing to do.\n\
             If it was not, open the link above and press the button on its page: your account \
             is locked and every browser signed out. Setting a new password lifts the lock.\n\n\
             {}",
            greeting(service, name),
            footer(service),
            when = seen.when,
            browser = seen.browser,
            address = seen.address,
            way_ja = seen.way_in.0,
            way_en = seen.way_in.1,
        ),
    }
}

/// アカウントのロック (S63): to the user after their 「心当たりがない場合」,
/// with the reset link that lifts it (`None` for a user who signs in with
/// a provider, whose lock the contract holder or operator lifts).
pub fn locked_down(service: &str, name: &str, when: &str, reset_url: Option<&str>) -> MailText {
    let (way_ja, way_en) = match reset_url {
        Some(url) => (
            format!("下記URLから新しいパスワードを設定すると、ロックが解除されます。\n\n■パスワード再設定用URL\n\n{url}\n"),
            "Set a new password at the link above to lift the lock.".to_string(),
        ),
        None => (
            "ロックの解除は、ご契約者様または管理者にご連絡ください。\nあわせて、ログインに使っているアカウント (Google など) のパスワードを変更してください。\n".to_string(),
            "Ask your contract holder or administrator to lift the lock, and change the password of the account you sign in with (Google and so on).".to_string(),
        ),
    };
    MailText {
        subject: format!("【{service}】アカウントをロックしました"),
        body: format!(
            "{}\
             {when}、「心当たりがない場合」の操作により、アカウントをロックしました。\n\
             すべての端末からログアウトし、記憶したブラウザ、パスキー、送信済みのURLはすべて無効になりました。\n\
             {way_ja}\n\
             ---- English ----\n\
             Your account was locked at your request: every browser is signed out, and remembered \
             browsers, passkeys and links already mailed no longer work.\n\
             {way_en}\n\n\
             {}",
            greeting(service, name),
            footer(service)
        ),
    }
}

/// To the contract holder when one of the tenant's users locked their
/// account with 「心当たりがない場合」 (S63).
pub fn locked_down_holder(service: &str, holder: &str, user_email: &str, when: &str) -> MailText {
    MailText {
        subject: format!("【{service}】利用者がアカウントをロックしました"),
        body: format!(
            "{}\
             {when}、{user_email} 様が、心当たりのないログインがあったとしてアカウントをロックしました。\n\
             ご本人がパスワードを再設定するまで、このアカウントではログインできません。\n\
             不審な操作がないか、管理画面の監査ログをご確認ください。\n\n\
             ---- English ----\n\
             {user_email} locked their account, reporting a sign-in they did not make. It stays \
             locked until they set a new password. Please check the audit log in the console.\n\n\
             {}",
            greeting(service, holder),
            footer(service)
        ),
    }
}

/// The SMS that carries a two-step code. Short: one SMS segment of
/// Japanese text holds 70 characters.
pub fn sms_code(service: &str, code: &str, minutes: u64) -> String {
    format!("【{service}】認証コード: {code}\n有効期限: {minutes}分\nこのコードを他人に教えないでください。")
}

/// A Unix time as Japan Standard Time, `2026年11月25日 15時04分`.
pub fn format_jst(unix: i64) -> String {
    let (year, month, day, hour, minute) = jst_parts(unix);
    format!("{year}年{month}月{day}日 {hour:02}時{minute:02}分 (日本時間)")
}

/// The same time as an English page writes it: `2026-11-25 15:04 JST`.
pub fn format_jst_en(unix: i64) -> String {
    let (year, month, day, hour, minute) = jst_parts(unix);
    format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02} JST")
}

/// Year, month, day, hour and minute of a Unix time in Japan.
fn jst_parts(unix: i64) -> (i64, i64, i64, i64, i64) {
    let t = unix + 9 * 3600;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day, secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_follows_the_manual() {
        let m = invitation(
            "おまかせクラウドストレージ",
            "山田 花子",
            Some("holder@example.jp"),
            "https://ff.example.net/.sekisho/register?ticket=T",
        );
        assert_eq!(
            m.subject,
            "【おまかせクラウドストレージ】利用者登録のご案内"
        );
        assert!(m.body.starts_with("山田 花子 様\n"));
        assert!(m.body.contains(
            "holder@example.jpより山田 花子様が\n本サービスの利用者として登録されました。"
        ));
        assert!(m.body.contains("14日以内"));
        assert!(m
            .body
            .contains("https://ff.example.net/.sekisho/register?ticket=T"));
        let h = invitation("S", "", None, "u");
        assert!(h.body.starts_with("ご利用者 様"));
        assert!(h
            .body
            .contains("ご利用者様が\n本サービスのご契約者として登録されました。"));
    }

    #[test]
    fn security_mails_follow_the_manual() {
        let u = unlock(
            "おまかせクラウドストレージ",
            "花子",
            "https://x/.sekisho/unlock?ticket=T",
        );
        assert_eq!(u.subject, "【おまかせクラウドストレージ】アカウントロック");
        assert!(u.body.contains(
            "サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。"
        ));
        assert!(u.body.contains("※有効期限: 本メール受領後14日間"));
        let r = reset(
            "おまかせクラウドストレージ",
            "花子",
            "https://x/.sekisho/reset?ticket=T",
        );
        assert_eq!(
            r.subject,
            "【おまかせクラウドストレージ】パスワードリセット"
        );
        assert!(r.body.contains("パスワードリセットについて承りました。"));
        let n = password_reset_notice("S", "花子", &format_jst(0), &[]);
        assert!(n.body.contains("1970年1月1日 09時00分"), "{}", n.body);
        assert!(!n.body.contains("パスキー"));
        let n = password_reset_notice(
            "S",
            "花子",
            &format_jst(0),
            &["iPhone".into(), "会社のPC".into()],
        );
        assert!(
            n.body
                .contains("登録済みのパスキー（引き続きログインに使えます）: iPhone、会社のPC"),
            "{}",
            n.body
        );
        assert_eq!(
            format_jst(1_800_000_000),
            "2027年1月15日 17時00分 (日本時間)"
        );
    }
}
