//! Every string a page shows, Japanese and English side by side, so a missing
//! translation is a compile error rather than a blank on the page.

macro_rules! texts {
    ($($field:ident : $ja:expr, $en:expr;)*) => {
        /// The strings of one language.
        #[derive(Debug)]
        pub struct Texts { $(pub $field: &'static str,)* }
        /// 日本語 (the default).
        pub static JA: Texts = Texts { $($field: $ja,)* };
        /// English.
        pub static EN: Texts = Texts { $($field: $en,)* };
    };
}

texts! {
    lang_code: "ja", "en";
    switch_label: "English", "日本語";
    switch_to: "en", "ja";
    skip_to_content: "本文へ移動", "Skip to content";
    login_title: "ログイン", "Log in";
    email_label: "メールアドレス", "Email address";
    password_label: "パスワード", "Password";
    password_confirm_label: "パスワード (確認用)", "Password (confirmation)";
    login_button: "ログイン", "Log in";
    forgot_link: "パスワードを忘れた方はこちら", "Forgot your password?";
    menu_link: "パスワード変更、その他認証・契約情報の変更はこちら", "Change your password or other sign-in and contract settings";
    or_separator: "または", "or";
    login_failed: "メールアドレスまたはパスワードが正しくありません。", "The email address or password is incorrect.";
    logged_out: "ログアウトしました。", "You have been logged out.";
    session_ended: "セッションの有効期限が切れました。もう一度ログインしてください。", "Your session has ended. Please log in again.";
    registered_notice: "利用者登録が完了しました。ログインしてください。", "Registration is complete. Please log in.";
    form_expired: "画面の有効期限が切れました。もう一度お試しください。", "This form has expired. Please try again.";
    password_rule: "パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上で設定してください", "Use at least 8 characters with at least 3 of: upper-case letters, lower-case letters, digits, symbols.";
    register_title: "利用者ログイン登録", "Register your login";
    register_button: "登録", "Register";
    register_intro: "ログインに使うパスワードを設定してください。", "Set the password you will use to log in.";
    confirm_title: "申込確認", "Confirm your registration";
    confirm_intro: "以下の内容で登録します。よろしければ「確定」をクリックしてください。", "You are about to register with the following. Click Confirm to finish.";
    confirm_method_label: "登録方法", "Login method";
    method_password: "メールアドレスとパスワード", "Email address and password";
    confirm_button: "確定", "Confirm";
    back_button: "戻る", "Back";
    done_title: "利用者登録完了", "Registration complete";
    done_text: "利用者登録が完了しました。「ログインする」をクリックしてログインしてください。", "Your registration is complete. Click Log in to sign in.";
    go_login: "ログインする", "Log in";
    problem_too_short: "8文字以上にしてください。", "Use at least 8 characters.";
    problem_too_long: "長すぎます (1024文字まで)。", "Too long (at most 1024 characters).";
    problem_classes: "次の種類の文字が足りません: ", "Add characters of these kinds: ";
    class_upper: "英大文字", "upper-case letters";
    class_lower: "英小文字", "lower-case letters";
    class_digit: "数字", "digits";
    class_symbol: "記号", "symbols";
    list_separator: "、", ", ";
    problem_common: "よく使われているパスワードのため使用できません。推測されにくいものにしてください。", "This password is too common. Choose one that is harder to guess.";
    problem_mismatch: "パスワードとパスワード (確認用) が一致しません。", "The password and its confirmation differ.";
    ticket_invalid_title: "このURLは無効です", "This link is not valid";
    ticket_invalid_text: "URLの有効期限が切れているか、すでに使用されているか、正しくありません。お手数ですが、管理者に登録のご案内の再送を依頼してください。", "The link has expired, has already been used, or is incorrect. Please ask your administrator to send a new one.";
    error_400_title: "リクエストが正しくありません", "Bad request";
    error_400_text: "送信された内容を処理できませんでした。", "The request could not be understood.";
    error_401_title: "ログインが必要です", "Login required";
    error_401_text: "このページを表示するにはログインしてください。", "Please log in to see this page.";
    error_403_title: "この操作は許可されていません", "Not allowed";
    error_403_text: "この画面を表示する権限がないか、別のサイトから送信されたため受け付けられませんでした。", "You may not open this page, or the request came from another site and was refused.";
    error_404_title: "ページが見つかりません", "Page not found";
    error_404_text: "お探しのページは存在しません。", "There is no page at this address.";
    error_405_title: "この操作はできません", "Method not allowed";
    error_405_text: "このページはこの方法では利用できません。", "This page cannot be used this way.";
    error_413_title: "送信内容が大きすぎます", "Too large";
    error_413_text: "入力内容が長すぎるため受け付けられませんでした。", "What was sent is too large to accept.";
    error_429_title: "しばらくしてからお試しください", "Please wait a moment";
    error_429_text: "短時間に多くのリクエストがありました。しばらく待ってからもう一度お試しください。", "Too many requests in a short time. Please wait and try again.";
    error_500_title: "エラーが発生しました", "Something went wrong";
    error_500_text: "処理中にエラーが発生しました。しばらくしてからもう一度お試しください。", "An error occurred. Please try again later.";
    error_502_title: "サービスに接続できません", "Service unreachable";
    error_502_text: "ストレージサービスに接続できませんでした。しばらくしてからもう一度お試しください。", "The storage service could not be reached. Please try again in a moment.";
    error_503_title: "ただいま混み合っています", "Busy";
    error_503_text: "ただいまアクセスが集中しています。しばらくしてからもう一度お試しください。", "The service is busy. Please try again in a moment.";
    logout_title: "ログアウト", "Log out";
    logout_text: "ログアウトしますか？", "Do you want to log out?";
    logout_button: "ログアウト", "Log out";
    locked: "ログインを複数回連続して試行したため、アカウントがブロックされました。ブロック解除のためのメールをお送りしましたのでご確認ください。", "Because of repeated failed logins, the account has been blocked. We have sent an email to unblock it; please check your mail.";
    resend_unlock_button: "ブロック解除メールを再送する", "Send the unblock email again";
    forgot_title: "パスワードを忘れた方", "Forgot your password";
    forgot_intro: "ご登録のメールアドレスを入力してください。パスワードを再設定するためのURLをお送りします。", "Enter your registered email address. We will send you a link to set a new password.";
    forgot_button: "送信", "Send";
    email_missing: "メールアドレスを入力してください。", "Please enter your email address.";
    forgot_sent_title: "メールをご確認ください", "Please check your mail";
    forgot_sent_text: "入力されたメールアドレスがパスワードでログインするアカウントとして登録されている場合、パスワード再設定用のURLをお送りしました。14日以内に手続きを完了してください。", "If the address belongs to an account that logs in with a password, we have sent it a link to set a new password. Please complete it within 14 days.";
    unlock_resent_text: "入力されたメールアドレスのアカウントがブロックされている場合、ブロック解除のためのメールをお送りしました。", "If the account of this address is blocked, we have sent it an email to unblock it.";
    reset_title: "リセットパスワード", "Reset your password";
    new_password_label: "新しいパスワード", "New password";
    new_password_confirm_label: "新しいパスワード (確認用)", "New password (confirmation)";
    reset_button: "送信", "Send";
    reset_done_title: "パスワードリセット完了", "Password reset complete";
    reset_done_text: "リセットパスワードの手続きが完了いたしました。※この手順を実施後は、2段階認証の登録がリセットされます。次回ログイン時に、2段階認証を再登録してください。", "Your password has been reset. Two-step verification has been reset too: register it again at your next login.";
    ok_button: "OK", "OK";
    reset_invalid_text: "URLの有効期限が切れているか、すでに使用されているか、正しくありません。お手数ですが、もう一度パスワードリセットをお申し込みください。", "The link has expired, has already been used, or is incorrect. Please request a new password reset.";
    unlock_title: "アカウントロック解除", "Unblock your account";
    unlock_text: "「ロックを解除する」をクリックすると、アカウントのブロックが解除されます。", "Click Unblock to unblock your account.";
    unlock_button: "ロックを解除する", "Unblock";
    unlock_done_title: "ロックを解除しました", "Account unblocked";
    unlock_done_text: "アカウントのブロックを解除しました。ログイン画面からログインしてください。", "Your account is unblocked. Please log in.";
    unlock_invalid_text: "URLの有効期限が切れているか、すでに使用されているか、正しくありません。ログイン画面の「パスワードを忘れた方はこちら」からパスワードを再設定すると、ブロックも解除されます。", "The link has expired, has already been used, or is incorrect. Setting a new password through \"Forgot your password?\" on the login page unblocks the account as well.";
    to_forgot: "パスワードを忘れた方はこちら", "Forgot your password?";
    back_to_login: "ログイン画面へ", "To the login page";
    back_to_top: "トップへ戻る", "Back to the start";
}
