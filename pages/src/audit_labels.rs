//! What each audit event (by its stable name, `docs/audit.md`) reads as in
//! the console's 監査ログ, in Japanese and English.

/// The label of `event` in `lang` (`ja` or `en`); an unknown name is shown
/// as it is.
pub fn event_label(lang: &str, event: &str) -> String {
    let (ja, en) = match event {
        "login_succeeded" => ("ログイン成功", "Signed in"),
        "login_failed" => ("ログイン失敗", "Sign-in failed"),
        "login_refused_locked" => (
            "ロック中のためログイン拒否",
            "Sign-in refused: account locked",
        ),
        "login_refused_plan" => ("契約状態によりログイン拒否", "Sign-in refused: plan"),
        "login_refused_route" => (
            "アクセス経路によりログイン拒否",
            "Sign-in refused: access route",
        ),
        "federation_refused" => ("外部IDでのログイン拒否", "Federated sign-in refused"),
        "logout" => ("ログアウト", "Signed out"),
        "logged_out_everywhere" => ("すべての端末からログアウト", "Signed out everywhere"),
        "session_ended_by_user" => ("端末のログインを終了", "Ended a signed-in browser"),
        "account_locked" => ("アカウントロック", "Account locked"),
        "account_unlocked" => ("ロック解除", "Account unlocked"),
        "account_locked_down" => (
            "心当たりのないログインの報告によりロック",
            "Locked after a report of a sign-in that was not the user",
        ),
        "new_browser_mailed" => (
            "新しいブラウザからのログインを通知",
            "New-browser sign-in mailed",
        ),
        "password_breached" => (
            "流出したパスワードでログイン (変更を依頼)",
            "Signed in with a breached password (asked to change it)",
        ),
        "device_bound" => ("セッションを端末に結び付け", "Session bound to its device"),
        "scim_user_created" => (
            "ディレクトリからユーザーを作成",
            "User created by the directory",
        ),
        "scim_user_changed" => (
            "ディレクトリがユーザーを変更",
            "User changed by the directory",
        ),
        "scim_user_deactivated" => (
            "ディレクトリがユーザーを無効化",
            "User deactivated by the directory",
        ),
        "scim_user_removed" => (
            "ディレクトリがユーザーを削除",
            "User removed by the directory",
        ),
        "scim_refused" => ("SCIMの要求を拒否", "SCIM request refused"),
        "login_refused_deactivated" => (
            "無効化されたアカウントのログインを拒否",
            "Sign-in of a deactivated account refused",
        ),
        "scim_token_created" => ("SCIMトークンを発行", "SCIM token created"),
        "scim_token_rotated" => ("SCIMトークンを再発行", "SCIM token rotated"),
        "scim_token_revoked" => ("SCIMトークンを失効", "SCIM token revoked"),
        "device_binding_refused" => ("端末の確認を拒否", "Device proof refused"),
        "device_binding_required_changed" => (
            "端末に結び付けたセッションの設定を変更",
            "Device-bound session setting changed",
        ),
        "new_device_mail_changed" => (
            "新しいブラウザからのログイン通知設定を変更",
            "New-browser sign-in mail setting changed",
        ),
        "unlock_mail_resent" => ("ロック解除メール再送", "Unlock mail sent again"),
        "two_step_asked" => ("2段階認証を要求", "Second step asked"),
        "two_step_set_up" => ("2段階認証を設定", "Second step set up"),
        "two_step_code_wrong" => ("2段階認証コード誤り", "Wrong second-step code"),
        "two_step_code_replayed" => ("使用済みの認証コード", "Second-step code used again"),
        "two_step_capped" => ("認証コードの試行上限", "Second-step tries used up"),
        "two_step_cancelled" => ("2段階認証を中止", "Second step cancelled"),
        "two_step_recovery_used" => ("リカバリーコード使用", "Recovery code used"),
        "two_step_foreign_pending" => (
            "他の端末の認証途中を拒否",
            "Another browser's second step refused",
        ),
        "trusted_browser_revoked" => ("記憶した端末を解除", "Remembered browser removed"),
        "passkey_registered" => ("パスキーを登録", "Passkey registered"),
        "passkey_renamed" => ("パスキーの名前を変更", "Passkey renamed"),
        "passkey_removed" => ("パスキーを削除", "Passkey removed"),
        "passkey_refused" => ("パスキーでの認証を拒否", "Passkey refused"),
        "passkey_clone_refused" => ("複製の疑いのあるパスキーを拒否", "Cloned passkey refused"),
        "sms_sent" => ("SMS送信", "SMS sent"),
        "sms_failed" => ("SMS送信失敗", "SMS failed"),
        "sms_capped" => ("SMS送信上限", "SMS limit reached"),
        "registration_completed" => ("利用者登録完了", "Registration completed"),
        "password_changed" => ("パスワード変更", "Password changed"),
        "password_reset" => ("パスワード再設定", "Password reset"),
        "password_rule_refused" => ("パスワード条件を満たさず", "Password refused by the rule"),
        "reset_requested" => ("パスワード再設定の依頼", "Password reset asked"),
        "email_change_requested" => ("メールアドレス変更の依頼", "Email change asked"),
        "email_change_refused" => ("メールアドレス変更を拒否", "Email change refused"),
        "email_change_link_sent" => ("メールアドレス変更リンク送信", "Email change link sent"),
        "email_changed" => ("メールアドレス変更", "Email changed"),
        "method_change_link_sent" => ("ログイン方法変更リンク送信", "Sign-in method link sent"),
        "login_method_changed" => ("ログイン方法変更", "Sign-in method changed"),
        "user_invited" => ("ユーザー招待", "User invited"),
        "user_invite_refused" => ("ユーザー招待を拒否", "Invitation refused"),
        "invitation_resent" => ("招待メール再送", "Invitation sent again"),
        "user_removed" => ("ユーザー削除", "User removed"),
        "role_changed" => ("権限変更", "Role changed"),
        "two_step_reset" => ("2段階認証をリセット", "Second step reset"),
        "passkeys_revoked" => ("パスキーを無効化", "Passkeys revoked"),
        "tenant_created" => ("契約を作成", "Tenant created"),
        "plan_changed" => ("プラン変更", "Plan changed"),
        "two_step_setting_changed" => ("2段階認証設定を変更", "Two-step setting changed"),
        "passkey_policy_changed" => ("パスキー設定を変更", "Passkey setting changed"),
        "access_route_changed" => ("アクセス経路設定を変更", "Access route changed"),
        "line_settings_changed" => ("回線認証の設定を変更", "Line settings changed"),
        "line_consent_given" => ("回線の利用に同意", "Line consent given"),
        "ad_connection_saved" => ("Active Directory設定を保存", "Active Directory saved"),
        "throttled" => ("試行回数の制限", "Throttled"),
        "cross_site_refused" => ("他サイトからの送信を拒否", "Cross-site request refused"),
        other => return other.to_string(),
    };
    if lang == "ja" { ja } else { en }.to_string()
}

/// An event's detail as the console shows it in `lang`: a `user=ID` named
/// by `name_of` (name and address; or "removed"), `role=`, `by=` and
/// counts in words, and in Japanese the recorded words translated. What
/// is not known is shown as recorded (an address, a browser, a line).
pub fn detail_text(lang: &str, detail: &str, name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let ja = lang == "ja";
    let words: Vec<String> = detail
        .split(' ')
        .map(|token| match token.split_once('=') {
            Some(("user", id)) => {
                let who = name_of(id).unwrap_or_else(|| {
                    if ja {
                        "削除済みのユーザー"
                    } else {
                        "a removed user"
                    }
                    .to_string()
                });
                if ja {
                    format!("対象: {who}")
                } else {
                    format!("user: {who}")
                }
            }
            Some(("role", role)) => {
                let role = match (role, ja) {
                    ("admin", true) => "管理者",
                    ("user", true) => "一般",
                    ("contract_holder", true) => "契約者",
                    (r, _) => r,
                };
                if ja {
                    format!("権限: {role}")
                } else {
                    format!("role: {role}")
                }
            }
            Some(("by", "console")) => if ja {
                "管理コンソールから"
            } else {
                "from the console"
            }
            .to_string(),
            Some(("by", "operator")) => if ja {
                "運用者のコマンドから"
            } else {
                "by the operator's command"
            }
            .to_string(),
            Some(("count", n)) => {
                if ja {
                    format!("件数: {n}")
                } else {
                    format!("count: {n}")
                }
            }
            Some(("other_sessions_ended", n)) => {
                if ja {
                    format!("他の端末{n}件をログアウト")
                } else {
                    format!("{n} other sessions ended")
                }
            }
            _ => token.to_string(),
        })
        .collect();
    let text = words.join(" ");
    if !ja {
        return text;
    }
    // Longest first, so that a phrase wins over the words inside it.
    const PHRASES: &[(&str, &str)] = &[
        ("not mailed: off for the tenant", "通知オフのため送信せず"),
        ("password + two-step", "パスワード+2段階認証"),
        ("passkey registered", "パスキー登録"),
        ("malformed identifier", "形式が正しくないID"),
        ("unknown_identifier", "未登録のID"),
        ("at login (required)", "ログイン時 (必須)"),
        ("asked to change it", "変更を依頼"),
        ("sessions ended", "件の端末をログアウト"),
        ("wrong_password", "パスワード誤り"),
        ("recovery code", "リカバリーコード"),
        ("two-step codes", "認証コードの誤り"),
        (", account menu", "、認証・契約情報変更メニュー"),
        ("other_method", "別のログイン方法の利用者"),
        ("other_tenant", "他の契約"),
        ("locked down", "「心当たりがない場合」によるロック中"),
        ("not_active", "未登録の利用者"),
        ("by_holder", "契約者による"),
        ("password", "パスワード"),
        ("passkey", "パスキー"),
        ("set-up", "設定"),
        ("no line", "回線番号なし"),
        ("mailed", "メール送信"),
    ];
    const WHOLE: &[(&str, &str)] = &[
        ("empty", "未入力"),
        ("link", "メールのURLから"),
        ("on", "オン"),
        ("off", "オフ"),
        ("required", "必須"),
        ("optional", "任意"),
        ("totp", "認証アプリ"),
        ("sms", "SMS"),
    ];
    if let Some((_, ja)) = WHOLE.iter().find(|(en, _)| *en == text) {
        return ja.to_string();
    }
    let mut out = text;
    for (en, ja) in PHRASES {
        out = out.replace(en, ja);
    }
    out.replace("(totp)", "(認証アプリ)")
        .replace("(sms)", "(SMS)")
}

#[cfg(test)]
mod tests {
    use super::detail_text;

    #[test]
    fn details_read_in_words_with_the_user_named() {
        let names = |id: &str| (id == "u1").then(|| "花子 (hanako@example.jp)".to_string());
        assert_eq!(
            detail_text("ja", "user=u1 role=admin", &names),
            "対象: 花子 (hanako@example.jp) 権限: 管理者"
        );
        assert_eq!(
            detail_text("ja", "user=u9 by=console", &names),
            "対象: 削除済みのユーザー 管理コンソールから"
        );
        assert_eq!(
            detail_text("ja", "password + two-step (totp), account menu", &names),
            "パスワード+2段階認証 (認証アプリ)、認証・契約情報変更メニュー"
        );
        assert_eq!(
            detail_text("ja", "wrong_password", &names),
            "パスワード誤り"
        );
        assert_eq!(detail_text("ja", "on", &names), "オン");
        assert_eq!(
            detail_text("en", "user=u1 role=admin", &names),
            "user: 花子 (hanako@example.jp) role: admin"
        );
        assert_eq!(
            detail_text("ja", "Chrome（Windows）", &names),
            "Chrome（Windows）"
        );
    }
}
