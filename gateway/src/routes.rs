//! The route table: every gateway page (`/.sekisho/…`) registered once,
//! with its method, its guard, its handler, its metrics label and, for a
//! POST, the page a language switch after it lands on. The dispatcher, the
//! 405 answer, the page labels of the metrics and the guard's place at the
//! gate are all read from here; nothing else keeps a list of paths.
//!
//! A guard runs before its handler, so a handler never asks for the session
//! or reads the form itself (anchor: Authelia's `internal/server/handlers.go`,
//! each route registered once, wrapped in its guard).

use crate::answers;
use crate::flows::{self, Outcome};
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::{Answer, Form};
use pingora::proxy::Session;
use sekisho_policy::gate::Place;
use sekisho_policy::menu::MenuItem;
use sekisho_policy::model::Route;
use sekisho_policy::paths::{self, Pattern};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

/// What a handler is given besides its guard's findings.
pub struct Call<'a> {
    pub app: &'a Arc<App>,
    pub session: &'a mut Session,
    pub req: &'a Req,
    /// The listener's route (internet or closed).
    pub route: Route,
    /// The segment of a patterned path (a user's id, a connection ID);
    /// empty for a fixed path.
    pub segment: &'a str,
}

/// A handler's answer, to be awaited by the dispatcher.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// Who may reach a handler, and what the guard hands it.
pub enum Guard {
    /// Anyone. The handler reads its own form when it has one, because
    /// its refusals are its own page (a login's expired form is the login
    /// page again, not an error page).
    Open(for<'a> fn(Call<'a>) -> Reply<'a>),
    /// A signed-in user whom the gate lets in at this place.
    Signed(Place, for<'a> fn(Call<'a>, Live) -> Reply<'a>),
    /// The same, posting a same-site, bounded form with the session's
    /// CSRF token (S34).
    SignedForm(Place, for<'a> fn(Call<'a>, Live, Form) -> Reply<'a>),
    /// A form posted from a page a mailed link opened: same-site, bounded,
    /// with the pre-session CSRF token; no session needed.
    LinkForm(for<'a> fn(Call<'a>, Form) -> Reply<'a>),
    /// A tenant's directory (SCIM, S65): a bearer token of the tenant, from
    /// a network the token allows, within its rate; on the internet route.
    /// No cookie or session counts here.
    Scim(for<'a> fn(Call<'a>, crate::scim::ScimClient) -> Reply<'a>),
}

/// The methods an entry answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET and HEAD.
    Get,
    Post,
    /// Every method (a redirect).
    Any,
}

impl Method {
    fn admits(self, method: &str) -> bool {
        match self {
            Method::Get => method == "GET" || method == "HEAD",
            Method::Post => method == "POST",
            Method::Any => true,
        }
    }
}

/// A fixed path, a pattern with one segment of its own, or every path
/// below a prefix (a service with its own resources: SCIM).
#[derive(Clone, Copy, Debug)]
pub enum At {
    Path(&'static str),
    Pattern(Pattern),
    Under(&'static str),
}

impl At {
    fn matches<'p>(&self, path: &'p str) -> Option<&'p str> {
        match self {
            At::Path(p) => (*p == path).then_some(""),
            At::Pattern(p) => p.segment(path),
            At::Under(prefix) => path.strip_prefix(prefix),
        }
    }
}

/// Where a language switch on the page a POST answered lands: a page that
/// a GET shows again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Landing {
    /// The same path, which a GET shows.
    Same,
    /// Another page.
    At(&'static str),
}

/// One gateway page.
pub struct Entry {
    pub at: At,
    pub method: Method,
    pub guard: Guard,
    /// The page word of the metrics (`sekisho_page_*{page=…}`).
    pub page: &'static str,
    /// For a POST: where a language switch after it lands.
    pub landing: Landing,
    /// Where this gateway does not offer the page (no passkeys, no Active
    /// Directory), the answer it gives before any guard.
    pub unless_offered: Option<fn(&App, &Req) -> Option<Outcome>>,
}

impl Entry {
    /// The same page, answered only where `check` finds it offered.
    fn offered_when(mut self, check: fn(&App, &Req) -> Option<Outcome>) -> Entry {
        self.unless_offered = Some(check);
        self
    }

    /// A POST whose page a language switch replaces with `landing`.
    fn lands(mut self, landing: &'static str) -> Entry {
        self.landing = Landing::At(landing);
        self
    }

    /// The place the gate is asked at, for a signed-in guard.
    pub fn place(&self) -> Option<Place> {
        match self.guard {
            Guard::Signed(place, _) | Guard::SignedForm(place, _) => Some(place),
            _ => None,
        }
    }
}

fn entry(at: At, method: Method, page: &'static str, guard: Guard) -> Entry {
    Entry {
        at,
        method,
        guard,
        page,
        landing: Landing::Same,
        unless_offered: None,
    }
}

fn get(path: &'static str, page: &'static str, guard: Guard) -> Entry {
    entry(At::Path(path), Method::Get, page, guard)
}

fn post(path: &'static str, page: &'static str, guard: Guard) -> Entry {
    entry(At::Path(path), Method::Post, page, guard)
}

/// The account menu's place, for one of its items or its front page.
const fn menu(item: MenuItem) -> Place {
    Place::Menu(Some(item))
}

const MENU: Place = Place::Menu(None);
const CONSOLE: Place = Place::Console;

/// A handler's future, boxed: the table holds plain function pointers.
macro_rules! reply {
    ($body:expr) => {
        Box::pin($body) as Reply<'_>
    };
}

/// Handlers that are plain functions answer at once.
macro_rules! now {
    ($body:expr) => {
        Box::pin(std::future::ready($body)) as Reply<'_>
    };
}

fn passkeys_offered(app: &App, req: &Req) -> Option<Outcome> {
    flows::providers::passkeys_offered(app, req)
        .is_none()
        .then(|| ("not_found", answers::error_page(app, req, 404)))
}

fn scim_offered(app: &App, req: &Req) -> Option<Outcome> {
    (!app.scim.enabled).then(|| ("not_found", answers::error_page(app, req, 404)))
}

fn ad_offered(app: &App, req: &Req) -> Option<Outcome> {
    app.config
        .active_directory
        .is_none()
        .then(|| flows::active_directory::not_offered(app, req, false))
}

/// Every gateway page. Order matters only where two entries could match one
/// request, and none do.
pub static ROUTES: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    use crate::flows::*;
    use Guard::*;
    use MenuItem as Item;
    vec![
        // Signing in, and leaving.
        get(
            paths::LOGIN,
            "login",
            Open(|c| now!(login_page::show(c.app, c.req, login_page::Kind::Service))),
        ),
        post(
            paths::LOGIN,
            "login",
            Open(|c| {
                reply!(login::submit(
                    c.app,
                    c.session,
                    c.req,
                    c.route,
                    login_page::Kind::Service
                ))
            }),
        ),
        get(
            paths::MENU_LOGIN,
            "login",
            Open(|c| now!(login_page::show(c.app, c.req, login_page::Kind::Menu))),
        ),
        post(
            paths::MENU_LOGIN,
            "login",
            Open(|c| {
                reply!(login::submit(
                    c.app,
                    c.session,
                    c.req,
                    c.route,
                    login_page::Kind::Menu
                ))
            }),
        ),
        get(
            paths::LOGOUT,
            "logout",
            Open(|c| reply!(logout::show(c.app, c.req))),
        ),
        post(
            paths::LOGOUT,
            "logout",
            Open(|c| reply!(logout::submit(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        post(
            paths::PASSKEY_LOGIN_OPTIONS,
            "passkey",
            Open(|c| reply!(passkey_login::options(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        post(
            paths::PASSKEY_LOGIN,
            "passkey",
            Open(|c| reply!(passkey_login::submit(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        post(
            paths::FEDERATION_START,
            "federation",
            Open(|c| reply!(federation::start(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        get(
            paths::FEDERATION_CALLBACK,
            "federation",
            Open(|c| reply!(federation::callback(c.app, c.req))),
        ),
        get(
            paths::AD_START,
            "federation",
            Open(|c| reply!(active_directory::show_start(c.app, c.req))),
        ),
        post(
            paths::AD_START,
            "federation",
            Open(|c| reply!(active_directory::start(c.app, c.session, c.req))),
        ),
        post(
            paths::AD_FIND,
            "federation",
            LinkForm(|c, f| reply!(active_directory::find(c.app, c.req, f))),
        )
        .lands(paths::LOGIN)
        .offered_when(ad_offered),
        entry(
            At::Pattern(paths::AD_CALLBACK),
            Method::Get,
            "federation",
            Open(|c| reply!(active_directory::callback(c.app, c.req, c.segment))),
        ),
        get(
            paths::LINE_CONSENT,
            "line",
            Signed(Place::Consent, |c, l| {
                reply!(line_consent::show_consent(c.app, c.req, l))
            }),
        ),
        post(
            paths::LINE_CONSENT,
            "line",
            SignedForm(Place::Consent, |c, l, f| {
                reply!(line_consent::submit_consent(c.app, c.req, l, f))
            }),
        ),
        // Device-bound sessions (DBSC, S62): called by the browser itself.
        post(
            paths::DBSC_REGISTER,
            "device_binding",
            Open(|c| reply!(device_binding::register(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        post(
            paths::DBSC_REFRESH,
            "device_binding",
            Open(|c| reply!(device_binding::refresh(c.app, c.session, c.req))),
        ),
        get(
            paths::DBSC_REFRESH,
            "device_binding",
            Open(|c| reply!(device_binding::through(c.app, c.req))),
        ),
        // The second step of a login.
        get(
            paths::TWO_STEP,
            "two_step",
            Open(|c| reply!(two_step::show(c.app, c.req))),
        ),
        get(
            paths::TWO_STEP_SMS,
            "two_step",
            Open(|c| reply!(two_step::show_sms_setup(c.app, c.req))),
        ),
        post(
            paths::TWO_STEP_SMS,
            "two_step",
            Open(|c| reply!(two_step::submit_sms(c.app, c.session, c.req))),
        ),
        post(
            paths::TWO_STEP_SMS_SEND,
            "two_step",
            Open(|c| reply!(two_step::send_sms(c.app, c.session, c.req))),
        )
        .lands(paths::TWO_STEP_SMS),
        get(
            paths::TWO_STEP_APP,
            "two_step",
            Open(|c| reply!(two_step::show_app_setup(c.app, c.req))),
        ),
        post(
            paths::TWO_STEP_APP,
            "two_step",
            Open(|c| reply!(two_step::submit_app(c.app, c.session, c.req))),
        ),
        get(
            paths::TWO_STEP_RECOVERY,
            "two_step",
            Open(|c| reply!(two_step::show_recovery(c.app, c.req))),
        ),
        post(
            paths::TWO_STEP_RECOVERY,
            "two_step",
            Open(|c| reply!(two_step::submit_recovery(c.app, c.session, c.req))),
        ),
        post(
            paths::TWO_STEP_SAVED,
            "two_step",
            Open(|c| reply!(two_step::submit_saved(c.app, c.session, c.req))),
        )
        .lands("/"),
        post(
            paths::TWO_STEP_CANCEL,
            "two_step",
            Open(|c| reply!(two_step::cancel(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        post(
            paths::TWO_STEP_PASSKEY_OPTIONS,
            "passkey",
            Open(|c| reply!(two_step_passkey::passkey_options(c.app, c.session, c.req))),
        )
        .lands(paths::TWO_STEP),
        post(
            paths::TWO_STEP_PASSKEY,
            "passkey",
            Open(|c| reply!(two_step_passkey::submit_passkey(c.app, c.session, c.req))),
        )
        .lands(paths::TWO_STEP),
        post(
            paths::PASSKEY_ENROL_OPTIONS,
            "passkey",
            Open(|c| reply!(passkey_enrolment::options(c.app, c.session, c.req))),
        )
        .lands(paths::TWO_STEP),
        post(
            paths::PASSKEY_ENROL,
            "passkey",
            Open(|c| reply!(passkey_enrolment::submit(c.app, c.session, c.req))),
        )
        .lands(paths::TWO_STEP),
        // Pages opened by a mailed link; their GET needs the link, so a
        // language switch after a POST lands on the login page.
        get(
            paths::REGISTER,
            "register",
            Open(|c| reply!(register::show(c.app, c.req))),
        ),
        post(
            paths::REGISTER,
            "register",
            LinkForm(|c, f| reply!(register::submit(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        get(
            paths::FORGOT,
            "password_reset",
            Open(|c| now!(forgot::show(c.app, c.req))),
        ),
        post(
            paths::FORGOT,
            "password_reset",
            Open(|c| reply!(forgot::submit(c.app, c.session, c.req))),
        ),
        get(
            paths::RESET,
            "password_reset",
            Open(|c| reply!(reset::show(c.app, c.req))),
        ),
        post(
            paths::RESET,
            "password_reset",
            LinkForm(|c, f| reply!(reset::submit(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        get(
            paths::UNLOCK,
            "unlock",
            Open(|c| reply!(unlock::show(c.app, c.req))),
        ),
        post(
            paths::UNLOCK,
            "unlock",
            LinkForm(|c, f| reply!(unlock::submit(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        get(
            paths::NOT_ME,
            "not_me",
            Open(|c| reply!(not_me::show(c.app, c.req))),
        ),
        post(
            paths::NOT_ME,
            "not_me",
            LinkForm(|c, f| reply!(not_me::submit(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        post(
            paths::UNLOCK_RESEND,
            "unlock",
            Open(|c| reply!(forgot::resend_unlock(c.app, c.session, c.req))),
        )
        .lands(paths::LOGIN),
        get(
            paths::EMAIL_CONFIRM,
            "email_change",
            Open(|c| reply!(email_change::show_confirm(c.app, c.req))),
        ),
        post(
            paths::EMAIL_CONFIRM,
            "email_change",
            LinkForm(|c, f| reply!(email_change::submit_confirm(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        get(
            paths::METHOD_LINK,
            "method_change",
            Open(|c| reply!(method_change::show_link(c.app, c.req))),
        ),
        post(
            paths::METHOD_LINK,
            "method_change",
            LinkForm(|c, f| reply!(method_change::submit_link(c.app, c.req, f))),
        )
        .lands(paths::LOGIN),
        // The account menu.
        get(
            paths::MENU,
            "menu",
            Signed(MENU, |c, l| reply!(menu::show(c.app, c.req, l))),
        ),
        get(
            paths::MENU_SESSIONS,
            "menu",
            Signed(MENU, |c, l| reply!(menu::sessions(c.app, c.req, l))),
        ),
        post(
            paths::MENU_SESSIONS_END,
            "menu",
            SignedForm(MENU, |c, l, f| {
                reply!(menu::end_session(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        post(
            paths::MENU_SESSIONS_END_ALL,
            "menu",
            SignedForm(MENU, |c, l, f| reply!(menu::end_all(c.app, c.req, l, f))),
        )
        .lands(paths::MENU),
        get(
            paths::MENU_PASSWORD,
            "password_change",
            Signed(menu(Item::PasswordChange), |c, l| {
                reply!(password_change::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_PASSWORD,
            "password_change",
            SignedForm(menu(Item::PasswordChange), |c, l, f| {
                reply!(password_change::submit(c.app, c.req, c.route, l, f))
            }),
        ),
        get(
            paths::MENU_EMAIL,
            "email_change",
            Signed(menu(Item::EmailChange), |c, l| {
                reply!(email_change::show_request(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_EMAIL,
            "email_change",
            SignedForm(menu(Item::EmailChange), |c, l, f| {
                reply!(email_change::submit_request(c.app, c.req, l, f))
            }),
        ),
        get(
            paths::MENU_METHOD,
            "method_change",
            Signed(menu(Item::LoginMethod), |c, l| {
                reply!(method_change::show_menu(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_METHOD,
            "method_change",
            SignedForm(menu(Item::LoginMethod), |c, l, f| {
                reply!(method_change::submit_menu(c.app, c.req, l, f))
            }),
        ),
        get(
            paths::MENU_TWO_STEP,
            "two_step_setting",
            Signed(menu(Item::TwoStep), |c, l| {
                reply!(two_step_setting::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_TWO_STEP,
            "two_step_setting",
            SignedForm(menu(Item::TwoStep), |c, l, f| {
                reply!(two_step_setting::submit(c.app, c.req, l, f))
            }),
        ),
        post(
            paths::MENU_TWO_STEP_CONFIRM,
            "two_step_setting",
            SignedForm(menu(Item::TwoStep), |c, l, f| {
                reply!(two_step_setting::confirm(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        get(
            paths::MENU_DEVICE_BINDING,
            "device_binding",
            Signed(menu(Item::DeviceBinding), |c, l| {
                reply!(device_binding_setting::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_DEVICE_BINDING,
            "device_binding",
            SignedForm(menu(Item::DeviceBinding), |c, l, f| {
                reply!(device_binding_setting::submit(c.app, c.req, l, f))
            }),
        ),
        post(
            paths::MENU_DEVICE_BINDING_CONFIRM,
            "device_binding",
            SignedForm(menu(Item::DeviceBinding), |c, l, f| {
                reply!(device_binding_setting::confirm(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        // 設定 → SCIM (S65): the holder's tokens for the directory.
        get(
            paths::MENU_SCIM,
            "scim_setting",
            Signed(menu(Item::Scim), |c, l| {
                reply!(scim_tokens::show(c.app, c.req, l))
            }),
        )
        .offered_when(scim_offered),
        post(
            paths::MENU_SCIM_CREATE,
            "scim_setting",
            SignedForm(menu(Item::Scim), |c, l, f| {
                reply!(scim_tokens::create(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU_SCIM)
        .offered_when(scim_offered),
        post(
            paths::MENU_SCIM_ROTATE,
            "scim_setting",
            SignedForm(menu(Item::Scim), |c, l, f| {
                reply!(scim_tokens::change(c.app, c.req, l, f, true))
            }),
        )
        .lands(paths::MENU_SCIM)
        .offered_when(scim_offered),
        post(
            paths::MENU_SCIM_REVOKE,
            "scim_setting",
            SignedForm(menu(Item::Scim), |c, l, f| {
                reply!(scim_tokens::change(c.app, c.req, l, f, false))
            }),
        )
        .lands(paths::MENU_SCIM)
        .offered_when(scim_offered),
        // The SCIM 2.0 service: the directory's own requests (S65, S66).
        entry(
            At::Under(paths::SCIM),
            Method::Any,
            "scim",
            Scim(|c, client| {
                let rest = c.segment;
                let call = scim_api::ScimCall {
                    app: c.app,
                    session: c.session,
                    req: c.req,
                    client,
                };
                reply!(scim_service::serve(call, rest))
            }),
        ),
        get(
            paths::MENU_NEW_DEVICE_MAIL,
            "new_device_mail",
            Signed(menu(Item::NewDeviceMail), |c, l| {
                reply!(new_device_mail::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_NEW_DEVICE_MAIL,
            "new_device_mail",
            SignedForm(menu(Item::NewDeviceMail), |c, l, f| {
                reply!(new_device_mail::submit(c.app, c.req, l, f))
            }),
        ),
        post(
            paths::MENU_NEW_DEVICE_MAIL_CONFIRM,
            "new_device_mail",
            SignedForm(menu(Item::NewDeviceMail), |c, l, f| {
                reply!(new_device_mail::confirm(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        get(
            paths::MENU_PASSKEY_POLICY,
            "passkey",
            Signed(menu(Item::PasskeyPolicy), |c, l| {
                reply!(passkey_policy::show(c.app, c.req, l))
            }),
        )
        .offered_when(passkeys_offered),
        post(
            paths::MENU_PASSKEY_POLICY,
            "passkey",
            SignedForm(menu(Item::PasskeyPolicy), |c, l, f| {
                reply!(passkey_policy::submit(c.app, c.req, l, f))
            }),
        )
        .offered_when(passkeys_offered),
        post(
            paths::MENU_PASSKEY_POLICY_CONFIRM,
            "passkey",
            SignedForm(menu(Item::PasskeyPolicy), |c, l, f| {
                reply!(passkey_policy::confirm(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU)
        .offered_when(passkeys_offered),
        get(
            paths::MENU_PASSKEYS,
            "passkey",
            Signed(menu(Item::Passkeys), |c, l| {
                reply!(passkey_menu::show(c.app, c.req, l))
            }),
        )
        .offered_when(passkeys_offered),
        post(
            paths::MENU_PASSKEYS_OPTIONS,
            "passkey",
            SignedForm(menu(Item::Passkeys), |c, l, f| {
                reply!(passkey_menu::options(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU_PASSKEYS),
        post(
            paths::MENU_PASSKEYS_ADD,
            "passkey",
            SignedForm(menu(Item::Passkeys), |c, l, f| {
                reply!(passkey_menu::add(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU_PASSKEYS),
        post(
            paths::MENU_PASSKEYS_RENAME,
            "passkey",
            SignedForm(menu(Item::Passkeys), |c, l, f| {
                reply!(passkey_menu::rename(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU_PASSKEYS),
        post(
            paths::MENU_PASSKEYS_REMOVE,
            "passkey",
            SignedForm(menu(Item::Passkeys), |c, l, f| {
                reply!(passkey_menu::remove(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU_PASSKEYS),
        get(
            paths::MENU_AD,
            "federation",
            Signed(menu(Item::ActiveDirectory), |c, l| {
                reply!(ad_setting::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_AD,
            "federation",
            SignedForm(menu(Item::ActiveDirectory), |c, l, f| {
                reply!(ad_setting::submit(c.app, c.req, l, f))
            }),
        ),
        get(
            paths::MENU_ACCESS_ROUTE,
            "line",
            Signed(menu(Item::AccessRoute), |c, l| {
                reply!(access_route::show(c.app, c.req, l))
            }),
        ),
        post(
            paths::MENU_ACCESS_ROUTE,
            "line",
            SignedForm(menu(Item::AccessRoute), |c, l, f| {
                reply!(access_route::submit(c.app, c.req, l, f))
            }),
        ),
        post(
            paths::MENU_ACCESS_ROUTE_CONFIRM,
            "line",
            SignedForm(menu(Item::AccessRoute), |c, l, f| {
                reply!(access_route::confirm(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        get(
            paths::MENU_BROWSERS,
            "menu",
            Signed(MENU, |c, l| reply!(trusted_browsers::show(c.app, c.req, l))),
        ),
        post(
            paths::MENU_BROWSERS_REVOKE,
            "menu",
            SignedForm(MENU, |c, l, f| {
                reply!(trusted_browsers::revoke(c.app, c.req, l, f))
            }),
        )
        .lands(paths::MENU),
        // The tenant's console.
        entry(
            At::Path(paths::CONSOLE_BARE),
            Method::Any,
            "console",
            Open(|_| now!(("redirect", Answer::redirect(paths::CONSOLE)))),
        ),
        get(
            paths::CONSOLE,
            "console",
            Signed(CONSOLE, |c, l| {
                reply!(admin_console::users(c.app, c.req, l))
            }),
        ),
        get(
            paths::CONSOLE_INVITE,
            "console",
            Signed(CONSOLE, |c, l| {
                reply!(admin_console::show_invite(c.app, c.req, l))
            }),
        ),
        post(
            paths::CONSOLE_INVITE,
            "console",
            SignedForm(CONSOLE, |c, l, f| {
                reply!(admin_console::submit_invite(c.app, c.req, l, f))
            }),
        ),
        get(
            paths::CONSOLE_EVENTS,
            "console",
            Signed(CONSOLE, |c, l| reply!(audit_log::show(c.app, c.req, l))),
        ),
        get(
            paths::CONSOLE_LINES,
            "line",
            Signed(CONSOLE, |c, l| reply!(line_settings::show(c.app, c.req, l))),
        ),
        post(
            paths::CONSOLE_LINES,
            "line",
            SignedForm(CONSOLE, |c, l, f| {
                reply!(line_settings::submit(c.app, c.req, l, f))
            }),
        ),
        entry(
            At::Pattern(paths::CONSOLE_USER),
            Method::Get,
            "console",
            Signed(CONSOLE, |c, l| {
                reply!(admin_console::user_page(c.app, c.req, l, c.segment))
            }),
        ),
        user_action(paths::CONSOLE_USER_RESEND, |c, l, f| {
            reply!(admin_console::resend(c.app, c.req, l, f, c.segment))
        }),
        user_action(paths::CONSOLE_USER_UNLOCK, |c, l, f| {
            reply!(admin_console::unlock(c.app, c.req, l, f, c.segment))
        }),
        user_action(paths::CONSOLE_USER_CHANGE_LINK, |c, l, f| {
            reply!(admin_console::change_link(c.app, c.req, l, f, c.segment))
        }),
        user_action(paths::CONSOLE_USER_ROLE, |c, l, f| {
            reply!(admin_console::role(c.app, c.req, l, f, c.segment))
        }),
        user_action(paths::CONSOLE_USER_RESET_TWO_STEP, |c, l, f| {
            reply!(admin_console::reset_two_step(c.app, c.req, l, f, c.segment))
        }),
        user_action(paths::CONSOLE_USER_REVOKE_PASSKEYS, |c, l, f| {
            reply!(admin_console::revoke_passkeys(
                c.app, c.req, l, f, c.segment
            ))
        }),
        user_action(paths::CONSOLE_USER_REMOVE, |c, l, f| {
            reply!(admin_console::remove(c.app, c.req, l, f, c.segment))
        }),
        // Assets, health, the language switch.
        get(paths::JWKS, "assets", Open(|c| now!(misc::jwks(c.app)))),
        get(
            paths::STYLESHEET,
            "assets",
            Open(|_| now!(misc::stylesheet())),
        ),
        get(
            paths::BRAND_STYLESHEET,
            "assets",
            Open(|c| now!(misc::brand_stylesheet(c.app, c.req))),
        ),
        get(
            paths::LOGO,
            "assets",
            Open(|c| now!(misc::brand_asset(c.app, c.req, "logo"))),
        ),
        get(
            paths::FAVICON,
            "assets",
            Open(|c| now!(misc::brand_asset(c.app, c.req, "favicon"))),
        ),
        get(paths::HEALTHZ, "health", Open(|_| now!(misc::healthz()))),
        get(
            paths::READYZ,
            "health",
            Open(|c| reply!(misc::readyz(c.app))),
        ),
        get(
            paths::LANGUAGE,
            "language",
            Open(|c| now!(misc::switch_language(c.app, c.req))),
        ),
    ]
});

/// A console action on one user: a POST whose language switch lands on the
/// user list.
fn user_action(pattern: Pattern, handler: for<'a> fn(Call<'a>, Live, Form) -> Reply<'a>) -> Entry {
    let mut e = entry(
        At::Pattern(pattern),
        Method::Post,
        "console",
        Guard::SignedForm(CONSOLE, handler),
    );
    e.landing = Landing::At(paths::CONSOLE);
    e
}

/// The page label of the metrics for a request to a gateway path; `other`
/// for a path the table does not have.
pub fn page_of(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|e| e.at.matches(path).is_some())
        .map_or("other", |e| e.page)
}

/// Every page label, for the metrics to register up front.
pub fn pages() -> Vec<&'static str> {
    let mut pages: Vec<&'static str> = ROUTES.iter().map(|e| e.page).collect();
    pages.push("other");
    pages.sort_unstable();
    pages.dedup();
    pages
}

/// Where a page shown after a POST to `path` switches language to: a page
/// a GET shows again (`None`: `path` itself); the login page for a path
/// the table does not have.
pub fn landing(path: &str) -> Option<&'static str> {
    let entry = ROUTES
        .iter()
        .find(|e| e.method == Method::Post && e.at.matches(path).is_some());
    match entry.map(|e| e.landing) {
        Some(Landing::Same) => None,
        Some(Landing::At(there)) => Some(there),
        None => Some(paths::LOGIN),
    }
}

/// [`landing`] as a path.
#[cfg(test)]
fn landing_after_post(path: &str) -> &str {
    landing(path).unwrap_or(path)
}

/// The SCIM guard: offered by the operator, on the internet route, with a
/// token the tenant keeps. A refusal is an error document and, but for a
/// missing token (a directory's first probe), an audit line.
async fn admit_scim(
    app: &Arc<App>,
    session: &Session,
    req: &Req,
    route: Route,
) -> Result<crate::scim::ScimClient, Outcome> {
    use crate::scim::{error, refusal, Refusal};
    if !app.scim.enabled || route != Route::Internet {
        return Err(("not_found", error(404, None, "SCIM is not offered here")));
    }
    let authorization = session
        .req_header()
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match app
        .scim
        .admit(&*app.store, authorization, &req.client_ip)
        .await
    {
        Ok(client) => Ok(client),
        Err(r) => {
            let words = match &r {
                Refusal::Unauthorized => "token",
                Refusal::Forbidden(_) => "forbidden",
                Refusal::TooMany(_) => "rate",
                Refusal::Unavailable => "store",
            };
            if authorization.is_some() && r != Refusal::Unavailable {
                let who = crate::audit::Who {
                    user_id: None,
                    tenant_id: None,
                    route: Some(route),
                    client_ip: Some(&req.client_ip),
                };
                crate::audit::event(crate::audit::Event::ScimRefused, &who, words);
            }
            let word = if r == Refusal::Unavailable {
                "store_unavailable"
            } else {
                "scim_refused"
            };
            Err((word, refusal(&r)))
        }
    }
}

/// Runs a gateway request through its entry: the page's offer, the guard,
/// then the handler. A path with entries for other methods only is 405; a
/// path with none is 404.
pub async fn dispatch(app: &Arc<App>, session: &mut Session, req: &Req, route: Route) -> Outcome {
    let mut known = false;
    let mut found = None;
    for e in ROUTES.iter() {
        if let Some(segment) = e.at.matches(&req.path) {
            known = true;
            if e.method.admits(&req.method) {
                found = Some((e, segment));
                break;
            }
        }
    }
    let Some((entry, segment)) = found else {
        return if known {
            (
                "method_not_allowed",
                crate::answers::error_page(app, req, 405).closing(),
            )
        } else {
            ("not_found", crate::answers::error_page(app, req, 404))
        };
    };
    if let Some(refusal) = entry.unless_offered.and_then(|check| check(app, req)) {
        return refusal;
    }
    let call = |session| Call {
        app,
        session,
        req,
        route,
        segment,
    };
    match entry.guard {
        Guard::Open(handler) => handler(call(session)).await,
        Guard::Signed(place, handler) => match flows::require_session(app, req, place).await {
            Ok(live) => handler(call(session), live).await,
            Err(refused) => refused,
        },
        Guard::SignedForm(place, handler) => {
            match flows::read_session_post(app, session, req, place).await {
                Ok((live, form)) => handler(call(session), live, form).await,
                Err(refused) => refused,
            }
        }
        Guard::LinkForm(handler) => match flows::read_link_post(app, session, req).await {
            Ok(form) => handler(call(session), form).await,
            Err(refused) => refused,
        },
        Guard::Scim(handler) => match admit_scim(app, session, req, route).await {
            Ok(client) => handler(call(session), client).await,
            Err(refused) => refused,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_entries_answer_one_request() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                let same_method =
                    a.method == b.method || a.method == Method::Any || b.method == Method::Any;
                let overlap = match (a.at, b.at) {
                    (At::Path(x), At::Path(y)) => x == y,
                    (At::Pattern(p), At::Path(x)) | (At::Path(x), At::Pattern(p)) => {
                        p.segment(x).is_some()
                    }
                    (At::Pattern(p), At::Pattern(q)) => p == q,
                    (At::Under(u), At::Path(x)) | (At::Path(x), At::Under(u)) => x.starts_with(u),
                    (At::Under(u), At::Pattern(p)) | (At::Pattern(p), At::Under(u)) => {
                        p.prefix.starts_with(u) || u.starts_with(p.prefix)
                    }
                    (At::Under(u), At::Under(v)) => u.starts_with(v) || v.starts_with(u),
                };
                assert!(!(same_method && overlap), "{:?} and {:?}", a.at, b.at);
            }
        }
    }

    #[test]
    fn every_landing_is_a_page_a_get_shows() {
        let shown_by_get = |path: &str| {
            path == "/"
                || ROUTES
                    .iter()
                    .any(|e| e.method == Method::Get && e.at.matches(path).is_some())
        };
        for e in ROUTES.iter().filter(|e| e.method == Method::Post) {
            let At::Path(path) = e.at else {
                assert_ne!(e.landing, Landing::Same, "{:?}", e.at);
                continue;
            };
            let landing = landing_after_post(path);
            assert!(shown_by_get(landing), "{path} lands on {landing}");
        }
    }

    #[test]
    fn a_page_after_a_post_switches_language_to_a_page_a_get_shows() {
        assert_eq!(landing_after_post(paths::LOGIN), paths::LOGIN);
        assert_eq!(
            landing_after_post(paths::MENU_PASSWORD),
            paths::MENU_PASSWORD
        );
        assert_eq!(landing_after_post(paths::REGISTER), paths::LOGIN);
        assert_eq!(landing_after_post(paths::RESET), paths::LOGIN);
        assert_eq!(landing_after_post(paths::TWO_STEP_SAVED), "/");
        assert_eq!(
            landing_after_post(paths::TWO_STEP_SMS_SEND),
            paths::TWO_STEP_SMS
        );
        assert_eq!(landing_after_post(paths::MENU_SESSIONS_END), paths::MENU);
        assert_eq!(
            landing_after_post(&paths::CONSOLE_USER_REMOVE.with("0123")),
            paths::CONSOLE
        );
    }

    #[test]
    fn every_gateway_path_has_one_of_the_fixed_pages() {
        for (path, page) in [
            (paths::LOGIN, "login"),
            (paths::MENU_LOGIN, "login"),
            (paths::FORGOT, "password_reset"),
            (paths::RESET, "password_reset"),
            (paths::TWO_STEP_SMS_SEND, "two_step"),
            (paths::MENU_TWO_STEP_CONFIRM, "two_step_setting"),
            (&paths::AD_CALLBACK.with("tenant-7"), "federation"),
            (paths::MENU_ACCESS_ROUTE, "line"),
            (&paths::CONSOLE_USER_REMOVE.with("u1"), "console"),
            (paths::MENU_SESSIONS_END, "menu"),
            (paths::LOGO, "assets"),
            (paths::READYZ, "health"),
            (paths::LANGUAGE, "language"),
            (&format!("{}no/such/page/../x", paths::PREFIX), "other"),
            (paths::PREFIX, "other"),
        ] {
            assert_eq!(page_of(path), page, "{path}");
            assert!(pages().contains(&page));
        }
    }

    #[test]
    fn the_menu_items_are_guarded_at_their_place() {
        let place = |path: &str, method: Method| {
            ROUTES
                .iter()
                .find(|e| e.method == method && e.at.matches(path).is_some())
                .and_then(Entry::place)
        };
        assert_eq!(
            place(paths::MENU_TWO_STEP_CONFIRM, Method::Post),
            Some(menu(MenuItem::TwoStep))
        );
        assert_eq!(
            place(paths::MENU_PASSKEYS_REMOVE, Method::Post),
            Some(menu(MenuItem::Passkeys))
        );
        assert_eq!(place(paths::MENU, Method::Get), Some(MENU));
        assert_eq!(
            place(paths::LINE_CONSENT, Method::Get),
            Some(Place::Consent)
        );
        assert_eq!(
            place(&paths::CONSOLE_USER.with("u1"), Method::Get),
            Some(Place::Console)
        );
        assert_eq!(place(paths::LOGIN, Method::Get), None);
    }
}
