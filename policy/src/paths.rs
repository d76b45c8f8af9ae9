//! Every path the gateway serves under `/.sekisho/`, named once. The
//! gateway's route table (`gateway/src/routes.rs`) says what each one does;
//! the pages, the mails and the tests use these names, so a path is spelt in
//! this file alone.

/// Where the gateway's own pages live; everything else is the service's.
pub const PREFIX: &str = "/.sekisho/";

// Signing in, and leaving.
pub const LOGIN: &str = "/.sekisho/login";
pub const LOGOUT: &str = "/.sekisho/logout";
pub const PASSKEY_LOGIN: &str = "/.sekisho/passkey/login";
pub const PASSKEY_LOGIN_OPTIONS: &str = "/.sekisho/passkey/login/options";
pub const FEDERATION_START: &str = "/.sekisho/federation/start";
pub const FEDERATION_CALLBACK: &str = "/.sekisho/federation/callback";
pub const AD_START: &str = "/.sekisho/ad/start";
pub const AD_FIND: &str = "/.sekisho/ad/find";
/// A tenant's ADFS callback: `/.sekisho/ad/{connection id}/callback`.
pub const AD_CALLBACK: Pattern = Pattern {
    prefix: "/.sekisho/ad/",
    suffix: "/callback",
};
pub const LINE_CONSENT: &str = "/.sekisho/line/consent";

// The second step of a login.
pub const TWO_STEP: &str = "/.sekisho/2fa";
pub const TWO_STEP_SMS: &str = "/.sekisho/2fa/sms";
pub const TWO_STEP_SMS_SEND: &str = "/.sekisho/2fa/sms/send";
pub const TWO_STEP_APP: &str = "/.sekisho/2fa/app";
pub const TWO_STEP_RECOVERY: &str = "/.sekisho/2fa/recovery";
pub const TWO_STEP_SAVED: &str = "/.sekisho/2fa/saved";
pub const TWO_STEP_CANCEL: &str = "/.sekisho/2fa/cancel";
pub const TWO_STEP_PASSKEY: &str = "/.sekisho/2fa/passkey";
pub const TWO_STEP_PASSKEY_OPTIONS: &str = "/.sekisho/2fa/passkey/options";
pub const PASSKEY_ENROL: &str = "/.sekisho/2fa/passkey/enrol";
pub const PASSKEY_ENROL_OPTIONS: &str = "/.sekisho/2fa/passkey/enrol/options";

// Pages opened by a mailed link.
pub const REGISTER: &str = "/.sekisho/register";
pub const FORGOT: &str = "/.sekisho/forgot";
pub const RESET: &str = "/.sekisho/reset";
pub const UNLOCK: &str = "/.sekisho/unlock";
pub const UNLOCK_RESEND: &str = "/.sekisho/unlock/resend";
pub const EMAIL_CONFIRM: &str = "/.sekisho/email/confirm";
pub const METHOD_LINK: &str = "/.sekisho/method";

/// Device-bound sessions (DBSC, S62): the browser's registration of its
/// key, and the refresh of the bound cookie (POST by the browser; a GET
/// is a navigation sent through it).
pub const DBSC_REGISTER: &str = "/.sekisho/dbsc/register";
pub const DBSC_REFRESH: &str = "/.sekisho/dbsc/refresh";

// The account menu (認証・契約情報変更メニュー).
/// The new-browser mail's 「心当たりがない場合」 link (S63).
pub const NOT_ME: &str = "/.sekisho/not-me";
pub const MENU: &str = "/.sekisho/menu";
pub const MENU_LOGIN: &str = "/.sekisho/menu/login";
pub const MENU_PASSWORD: &str = "/.sekisho/menu/password";
pub const MENU_EMAIL: &str = "/.sekisho/menu/email";
pub const MENU_METHOD: &str = "/.sekisho/menu/method";
pub const MENU_SESSIONS: &str = "/.sekisho/menu/sessions";
pub const MENU_SESSIONS_END: &str = "/.sekisho/menu/sessions/end";
pub const MENU_SESSIONS_END_ALL: &str = "/.sekisho/menu/sessions/end-all";
pub const MENU_TWO_STEP: &str = "/.sekisho/menu/two-step";
pub const MENU_TWO_STEP_CONFIRM: &str = "/.sekisho/menu/two-step/confirm";
pub const MENU_PASSKEY_POLICY: &str = "/.sekisho/menu/passkey-policy";
pub const MENU_PASSKEY_POLICY_CONFIRM: &str = "/.sekisho/menu/passkey-policy/confirm";
pub const MENU_NEW_DEVICE_MAIL: &str = "/.sekisho/menu/new-device-mail";
pub const MENU_NEW_DEVICE_MAIL_CONFIRM: &str = "/.sekisho/menu/new-device-mail/confirm";
pub const MENU_DEVICE_BINDING: &str = "/.sekisho/menu/device-binding";
pub const MENU_DEVICE_BINDING_CONFIRM: &str = "/.sekisho/menu/device-binding/confirm";
pub const MENU_PASSKEYS: &str = "/.sekisho/menu/passkeys";
pub const MENU_PASSKEYS_OPTIONS: &str = "/.sekisho/menu/passkeys/options";
pub const MENU_PASSKEYS_ADD: &str = "/.sekisho/menu/passkeys/add";
pub const MENU_PASSKEYS_RENAME: &str = "/.sekisho/menu/passkeys/rename";
pub const MENU_PASSKEYS_REMOVE: &str = "/.sekisho/menu/passkeys/remove";
pub const MENU_AD: &str = "/.sekisho/menu/ad";
pub const MENU_ACCESS_ROUTE: &str = "/.sekisho/menu/access-route";
pub const MENU_ACCESS_ROUTE_CONFIRM: &str = "/.sekisho/menu/access-route/confirm";
/// 設定 → SCIM: the holder's tokens for the directory (S65).
pub const MENU_SCIM: &str = "/.sekisho/menu/scim";
pub const MENU_SCIM_CREATE: &str = "/.sekisho/menu/scim/create";
pub const MENU_SCIM_ROTATE: &str = "/.sekisho/menu/scim/rotate";
pub const MENU_SCIM_REVOKE: &str = "/.sekisho/menu/scim/revoke";
/// The SCIM 2.0 service (RFC 7644): every resource below it; the tenant
/// is the bearer token's.
pub const SCIM: &str = "/.sekisho/scim/v2/";
pub const MENU_BROWSERS: &str = "/.sekisho/menu/browsers";
pub const MENU_BROWSERS_REVOKE: &str = "/.sekisho/menu/browsers/revoke";

// The tenant's console (管理画面).
/// The console without its slash: a redirect to [`CONSOLE`].
pub const CONSOLE_BARE: &str = "/.sekisho/admin";
/// The console's user list.
pub const CONSOLE: &str = "/.sekisho/admin/";
pub const CONSOLE_INVITE: &str = "/.sekisho/admin/invite";
pub const CONSOLE_EVENTS: &str = "/.sekisho/admin/events";
pub const CONSOLE_LINES: &str = "/.sekisho/admin/lines";
/// One user of the console: `/.sekisho/admin/users/{id}`.
pub const CONSOLE_USER: Pattern = Pattern {
    prefix: "/.sekisho/admin/users/",
    suffix: "",
};
/// The console's actions on one user, each `/.sekisho/admin/users/{id}/…`.
pub const CONSOLE_USER_RESEND: Pattern = user_action("/resend");
pub const CONSOLE_USER_UNLOCK: Pattern = user_action("/unlock");
pub const CONSOLE_USER_CHANGE_LINK: Pattern = user_action("/change-link");
pub const CONSOLE_USER_ROLE: Pattern = user_action("/role");
pub const CONSOLE_USER_RESET_TWO_STEP: Pattern = user_action("/reset-two-step");
pub const CONSOLE_USER_REVOKE_PASSKEYS: Pattern = user_action("/revoke-passkeys");
pub const CONSOLE_USER_REMOVE: Pattern = user_action("/remove");

const fn user_action(suffix: &'static str) -> Pattern {
    Pattern {
        prefix: CONSOLE_USER.prefix,
        suffix,
    }
}

// Assets, health, the language switch.
pub const JWKS: &str = "/.sekisho/jwks.json";
pub const HEALTHZ: &str = "/.sekisho/healthz";
pub const READYZ: &str = "/.sekisho/readyz";
/// Where every static file of the pages lives.
pub const STATIC_PREFIX: &str = "/.sekisho/static/";
pub const STYLESHEET: &str = "/.sekisho/static/sekisho.css";
pub const BRAND_STYLESHEET: &str = "/.sekisho/static/brand.css";
pub const LOGO: &str = "/.sekisho/static/logo";
pub const FAVICON: &str = "/.sekisho/static/favicon";
pub const LANGUAGE: &str = "/.sekisho/lang";

/// A path with one segment of its own between a fixed prefix and suffix:
/// a user's id in the console, a tenant's connection ID in its callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub prefix: &'static str,
    pub suffix: &'static str,
}

impl Pattern {
    /// The segment of `path` when it is this pattern's: non-empty, without
    /// a slash.
    pub fn segment<'p>(&self, path: &'p str) -> Option<&'p str> {
        let segment = path.strip_prefix(self.prefix)?.strip_suffix(self.suffix)?;
        (!segment.is_empty() && !segment.contains('/')).then_some(segment)
    }

    /// The path of this pattern for `segment`, percent-encoded.
    pub fn with(&self, segment: &str) -> String {
        let encoded: String = form_urlencoded_segment(segment);
        format!("{}{encoded}{}", self.prefix, self.suffix)
    }
}

/// A path segment with every byte outside the unreserved set escaped, so a
/// segment can never add a slash, a query or a fragment.
fn form_urlencoded_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The login page with a notice shown above its form (after a logout, a
/// registration, an unlock).
pub fn login_with_notice(notice: &str) -> String {
    format!("{LOGIN}?notice={notice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_takes_one_segment_and_no_more() {
        assert_eq!(
            CONSOLE_USER_REMOVE.segment("/.sekisho/admin/users/u1/remove"),
            Some("u1")
        );
        assert_eq!(CONSOLE_USER.segment("/.sekisho/admin/users/u1"), Some("u1"));
        assert_eq!(
            CONSOLE_USER.segment("/.sekisho/admin/users/u1/remove"),
            None
        );
        assert_eq!(CONSOLE_USER.segment("/.sekisho/admin/users/"), None);
        assert_eq!(
            AD_CALLBACK.segment("/.sekisho/ad/tenant-7/callback"),
            Some("tenant-7")
        );
        assert_eq!(AD_CALLBACK.segment("/.sekisho/ad/a/b/callback"), None);
    }

    #[test]
    fn a_segment_is_escaped_into_its_pattern() {
        assert_eq!(CONSOLE_USER.with("u1"), "/.sekisho/admin/users/u1");
        assert_eq!(
            CONSOLE_USER_REMOVE.with("a/b?c"),
            "/.sekisho/admin/users/a%2Fb%3Fc/remove"
        );
    }
}
