//! The login page (PRODUCT §3.1) and the account menu's own login page
//! (認証・契約情報変更ログイン, §3.9): the form, its notices, and the page
//! again with one message when a way in refuses.

use crate::answers;
use crate::flows::{maybe_cookie, pre_binding, pre_session, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use sekisho_pages::{render, LoginPage};
use sekisho_policy::paths;
use sekisho_policy::return_path::safe_return_path;

/// Which login page: the service's, or the account menu's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Service,
    Menu,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Service => paths::LOGIN,
            Kind::Menu => paths::MENU_LOGIN,
        }
    }
}

pub(super) struct View<'a> {
    pub(super) status: u16,
    pub(super) email: &'a str,
    pub(super) next: &'a str,
    pub(super) error: Option<&'a str>,
    pub(super) notice: Option<&'a str>,
    pub(super) locked: bool,
    /// Whether the email field's passkey autofill starts by itself. Off
    /// on a page that answers a way in already refused (`again`): an
    /// authenticator or password manager that answers autofill at once
    /// would send the refused key again, page after page.
    pub(super) passkey_autofill: bool,
}

pub(super) fn page(app: &App, req: &Req, kind: Kind, v: View<'_>) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let (title, intro) = match kind {
        Kind::Service => (c.t.login_title, None),
        Kind::Menu => (c.t.menu_login_title, Some(c.t.menu_login_intro)),
    };
    let html = render(&LoginPage {
        c: &c,
        title,
        intro,
        action: kind.action(),
        csrf: &app.csrf.token(&pre_binding(&pre)),
        email: v.email,
        next: v.next,
        error: v.error,
        notice: v.notice,
        show_forgot_link: true,
        show_menu_link: kind == Kind::Service,
        show_resend_unlock: v.locked,
        providers: crate::flows::providers::buttons(app, c.t, false),
        purpose: if kind == Kind::Menu { "menu" } else { "login" },
        ad_href: crate::flows::providers::prompt_href(
            app,
            if kind == Kind::Menu { "menu" } else { "login" },
            v.next,
        ),
        ad_label: crate::flows::providers::button(
            c.t,
            sekisho_policy::model::LoginMethod::Ad,
            false,
        ),
        passkey: crate::flows::providers::passkeys_offered(app, req).is_some(),
        passkey_autofill: v.passkey_autofill,
    });
    maybe_cookie(Answer::html(v.status, html), cookie)
}

/// The login page again with `error`, after a sign-in that did not come
/// from its password form (a passkey's).
pub fn again(app: &App, req: &Req, kind: Kind, next: &str, error: &str, status: u16) -> Outcome {
    let v = View {
        status,
        email: "",
        next,
        error: Some(error),
        notice: None,
        locked: false,
        passkey_autofill: false,
    };
    ("login_failed", page(app, req, kind, v))
}

/// GET: the login page, with an optional notice (`logged_out`,
/// `registered`, `unlocked`, `changed`).
pub fn show(app: &App, req: &Req, kind: Kind) -> Outcome {
    let t = req.lang.texts();
    let default_next = if kind == Kind::Menu { paths::MENU } else { "/" };
    let next = safe_return_path(
        &req.query_param("next")
            .unwrap_or_else(|| default_next.to_string()),
    );
    let notice = match req.query_param("notice").as_deref() {
        Some("logged_out") => Some(t.logged_out),
        Some("registered") => Some(t.registered_notice),
        Some("unlocked") => Some(t.unlock_done_text),
        Some("expired") => Some(t.two_step_expired),
        Some("cancelled") => Some(t.two_step_cancelled),
        Some("locked") => Some(t.two_step_locked),
        _ => None,
    };
    let v = View {
        status: 200,
        email: "",
        next: &next,
        error: None,
        notice,
        locked: false,
        passkey_autofill: true,
    };
    ("login_page", page(app, req, kind, v))
}
