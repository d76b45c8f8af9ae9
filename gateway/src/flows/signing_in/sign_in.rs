//! One tail for every way in (anchor: Authelia's `Handle1FAResponse`). A
//! way in (password, passkey, a provider, a tenant's Active Directory)
//! only identifies the user and says how, as a [`Proof`]; [`finish`] does
//! the rest, the same for all of them: the lock, the gate's verdict (the
//! trial's end, the route and line, the second step or the tenant's passkey
//! requirement), a remembered browser, the session, the metrics, the audit
//! record and the way on. The second step ends here too.

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::two_step_entry::{self as two_step, Opening};
use crate::flows::{login_page, refusal, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::User;
use crate::web::Answer;
use sekisho_policy::gate::{self, Place, Verdict};
use sekisho_policy::line::Access;
use sekisho_policy::model::{LoginMethod, Route};
use std::sync::Arc;

/// How a way in proved who the user is.
#[derive(Debug, Clone, Copy)]
pub enum Proof {
    /// The account's password, checked (and counted) by `password_check`.
    Password,
    /// A discoverable passkey of a password user.
    Passkey,
    /// A provider's or a tenant's Active Directory's word, for a user bound
    /// to that method.
    Provider(LoginMethod),
    /// The second step of a password login has passed. The gate was asked
    /// at the password; the pending login carried its verdict here.
    SecondStep(Stepped),
}

/// How the second step ended.
#[derive(Debug, Clone, Copy)]
pub enum Done {
    SetUp,
    Verified(&'static str),
    Recovered,
    /// A passkey registered under the tenant's requirement.
    Enrolled,
}

/// How a second step ended, and what it asked for.
#[derive(Debug, Clone, Copy)]
pub struct Stepped {
    pub done: Done,
    /// The user ticked 「このブラウザを記憶する」.
    pub remember: bool,
    /// The registration's generation the step passed at (a set-up has just
    /// saved a new one), which a remembered browser is bound to.
    pub generation: u32,
}

impl Proof {
    /// The proof as the gate weighs it; none for a second step, whose
    /// first factor was already weighed.
    fn at_gate(self) -> Option<gate::Proof> {
        match self {
            Proof::Password => Some(gate::Proof::Password),
            Proof::Passkey => Some(gate::Proof::Passkey),
            Proof::Provider(_) => Some(gate::Proof::Provider),
            Proof::SecondStep(_) => None,
        }
    }

    /// The session's login method: a passkey and a second step sign a
    /// password user in.
    fn method(self) -> LoginMethod {
        match self {
            Proof::Provider(method) => method,
            _ => LoginMethod::Password,
        }
    }

    /// The audit record's words for it.
    fn detail(self) -> String {
        match self {
            Proof::Password => "password".into(),
            Proof::Passkey => "passkey".into(),
            Proof::Provider(method) => method.as_str().into(),
            Proof::SecondStep(step) => {
                let how = match step.done {
                    Done::SetUp => "set-up",
                    Done::Verified(kind) => kind,
                    Done::Recovered => "recovery code",
                    Done::Enrolled => "passkey registered",
                };
                format!("password + two-step ({how})")
            }
        }
    }

    /// The way in as the new-browser mail says it, in Japanese and English.
    fn way_in(self) -> (&'static str, &'static str) {
        use LoginMethod::*;
        match self {
            Proof::Password => ("パスワード", "password"),
            Proof::Passkey => ("パスキー", "passkey"),
            Proof::SecondStep(_) => (
                "パスワードと2段階認証",
                "password and two-step verification",
            ),
            Proof::Provider(method) => match method {
                Google => ("Google", "Google"),
                Facebook => ("Facebook", "Facebook"),
                Microsoft => ("Microsoft", "Microsoft"),
                Daccount => ("dアカウント", "d ACCOUNT"),
                Ad => ("Active Directory", "Active Directory"),
                Password => ("パスワード", "password"),
            },
        }
    }

    /// The way in's own counter, beside `sekisho_logins_total`.
    fn count_success(self) {
        match self {
            Proof::Password => {}
            Proof::Passkey => crate::metrics::PASSKEYS
                .with_label_values(&["login", "succeeded"])
                .inc(),
            Proof::Provider(method) => {
                crate::metrics::count_federated(method.as_str(), "succeeded")
            }
            Proof::SecondStep(_) => crate::metrics::TWO_STEP
                .with_label_values(&["passed"])
                .inc(),
        }
    }
}

/// A login that has identified its user.
pub struct SignIn<'a> {
    pub user: &'a User,
    pub proof: Proof,
    /// The listener's route the session will belong to.
    pub route: Route,
    /// Started at the account menu's login page.
    pub menu: bool,
    /// Where to go on: a path of the service, already made safe.
    pub next: &'a str,
}

impl SignIn<'_> {
    fn who<'a>(&'a self, req: &'a Req) -> Who<'a> {
        Who {
            user_id: Some(&self.user.id),
            tenant_id: Some(&self.user.tenant_id),
            client_ip: Some(&req.client_ip),
            route: Some(self.route),
        }
    }

    fn kind(&self) -> login_page::Kind {
        if self.menu {
            login_page::Kind::Menu
        } else {
            login_page::Kind::Service
        }
    }

    /// The proof's words, and where the login started.
    fn detail(&self) -> String {
        let place = if self.menu { ", account menu" } else { "" };
        format!("{}{place}", self.proof.detail())
    }
}

/// Finishes a login that identified its user: every way in ends here.
pub async fn finish(app: &Arc<App>, req: &Req, sign_in: SignIn<'_>) -> Outcome {
    let mut renewed_trust = None;
    // Deactivated by the tenant's directory (S65): no way in at all.
    if !sign_in.user.active() {
        audit::event(
            Event::LoginRefusedDeactivated,
            &sign_in.who(req),
            &sign_in.detail(),
        );
        let t = req.lang.texts();
        let text = t.login_deactivated;
        return login_page::again(app, req, sign_in.kind(), sign_in.next, text, 200);
    }
    if let Some(proof) = sign_in.proof.at_gate() {
        if sign_in.user.locked {
            audit::event(
                Event::LoginRefusedLocked,
                &sign_in.who(req),
                &sign_in.detail(),
            );
            let t = req.lang.texts();
            let text = if sign_in.user.locked_down {
                t.locked_down_login
            } else {
                t.locked
            };
            return login_page::again(app, req, sign_in.kind(), sign_in.next, text, 200);
        }
        let place = Place::Login {
            account_menu: sign_in.menu,
            proof,
        };
        let method = sign_in.proof.method();
        let verdict = match login_verdict(app, req, sign_in.user, method, place).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        match verdict {
            Verdict::Pass => {}
            Verdict::SecondStep => match two_step::trusted_browser(app, req, sign_in.user).await {
                Ok(Some(cookie)) => {
                    crate::metrics::TWO_STEP
                        .with_label_values(&["trusted"])
                        .inc();
                    renewed_trust = Some(cookie);
                }
                Ok(None) => return two_step::begin(app, req, opening(&sign_in)).await,
                Err(_) => return two_step::store_down(app, req),
            },
            Verdict::PasskeyRequired { second_step } => {
                return two_step::begin_required(app, req, opening(&sign_in), second_step).await;
            }
            // The line error names whose sign-in it is (the password was
            // right), with the way to another account.
            Verdict::Route(access @ (Access::LineMissing | Access::LineUnregistered)) => {
                refused_audit(req, &sign_in, Verdict::Route(access));
                crate::refusals::count(access);
                let who = Some(sign_in.user.email.as_str());
                let page = crate::refusals::line_error_page_for(app, req, who);
                return ("line_auth_failed", page);
            }
            refused => {
                refused_audit(req, &sign_in, refused);
                return refusal(app, req, place, refused);
            }
        }
    }
    start(app, req, &sign_in, renewed_trust).await
}

/// The login a pending second step is opened for.
fn opening<'a>(sign_in: &'a SignIn<'_>) -> Opening<'a> {
    Opening {
        user: sign_in.user,
        route: sign_in.route,
        menu: sign_in.menu,
        next: sign_in.next,
    }
}

/// The audit record of a login the gate refused: the plan, or the route
/// and line (with the line that was seen).
fn refused_audit(req: &Req, sign_in: &SignIn<'_>, refused: Verdict) {
    let (event, detail) = match refused {
        Verdict::PlanEnded(_) => (Event::LoginRefusedPlan, sign_in.detail()),
        _ => {
            let line = req.line.as_deref().unwrap_or("no line");
            (
                Event::LoginRefusedRoute,
                format!("{}; {line}", sign_in.detail()),
            )
        }
    };
    audit::event(event, &sign_in.who(req), &detail);
}

/// The session starts: a new id replacing any the browser had (S29), the
/// browser remembered when the second step asked, counted and audited,
/// then on to the service (or, after a set-up or a recovery, the page that
/// says what happened).
async fn start(
    app: &Arc<App>,
    req: &Req,
    sign_in: &SignIn<'_>,
    renewed_trust: Option<String>,
) -> Outcome {
    let method = sign_in.proof.method();
    let noting = crate::flows::new_browser::prepare(app, req, sign_in.user);
    let note = noting.note.clone();
    let (session_value, seen) =
        match start_session(app, req, sign_in.user, (sign_in.route, method), note).await {
            Ok(started) => started,
            Err(o) => return o,
        };
    let session_cookie = app.cookies.set(app.cookies.session, &session_value);
    let mut cookies = vec![session_cookie, noting.cookie.clone()];
    cookies.extend(renewed_trust);
    let arrival = crate::flows::new_browser::Arrival {
        user: sign_in.user,
        route: sign_in.route,
        way_in: sign_in.proof.way_in(),
    };
    crate::flows::new_browser::mail_if_new(app, req, arrival, noting, seen).await;
    if let Proof::SecondStep(step) = sign_in.proof {
        cookies.push(app.cookies.clear(app.cookies.pending));
        if step.remember {
            let user = User {
                two_step_generation: step.generation,
                ..sign_in.user.clone()
            };
            match two_step::remember_browser(app, req, &user).await {
                Ok(c) => cookies.push(c),
                Err(_) => return two_step::store_down(app, req),
            }
        }
    }
    crate::metrics::LOGINS
        .with_label_values(&["succeeded"])
        .inc();
    sign_in.proof.count_success();
    audit::event(Event::LoginSucceeded, &sign_in.who(req), &sign_in.detail());
    let (outcome, mut answer) = way_on(app, req, sign_in);
    // A DBSC browser binds the new session to a key of its own (S62).
    if let Some(offer) = crate::flows::device_binding::offer(app, &session_value) {
        answer = answer.with_header("secure-session-registration", offer);
    }
    (
        outcome,
        cookies.into_iter().fold(answer, Answer::with_cookie),
    )
}

/// Where a started session goes: straight on, or after a second step that
/// set something up, through a page that says so. A password on the breach
/// list (S64) is let in and asked to change it first, with a way on.
fn way_on(app: &App, req: &Req, sign_in: &SignIn<'_>) -> Outcome {
    let t = req.lang.texts();
    let next = sign_in.next;
    if sign_in.user.password_breached() {
        let ways = vec![
            (sekisho_policy::paths::MENU_PASSWORD, t.item_password_change),
            (next, t.breached_notice_later),
        ];
        return (
            "password_breached",
            answers::page_with_ways(
                app,
                req,
                200,
                t.breached_notice_title,
                t.breached_notice_text,
                ways,
            ),
        );
    }
    let said = |title, text| {
        (
            "two_step_passed",
            answers::message_page(app, req, 200, title, text, Some((next, t.go_login))),
        )
    };
    match sign_in.proof {
        Proof::SecondStep(step) => match step.done {
            Done::Verified(_) => ("two_step_passed", Answer::redirect(next)),
            Done::SetUp => said(t.two_step_done_title, t.two_step_done_text),
            Done::Recovered => said(t.recovery_used_title, t.recovery_used_text),
            Done::Enrolled => said(t.passkey_enrolled_title, t.passkey_enrolled_text),
        },
        _ => ("login_succeeded", Answer::redirect(next)),
    }
}

/// The gate's verdict on a login that has identified `user`, signing in
/// by `method` at `place` (a `Place::Login`) on this request's listener:
/// one question for password, passkey and provider logins alike.
async fn login_verdict(
    app: &App,
    req: &Req,
    user: &crate::store::User,
    method: sekisho_policy::model::LoginMethod,
    place: Place,
) -> Result<Verdict, Outcome> {
    let tenant = match app.store.get_tenant(&user.tenant_id).await {
        Ok(Some(t)) => t,
        _ => return Err(("store_unavailable", answers::error_page(app, req, 503))),
    };
    let mut standing = sekisho_policy::gate::Standing {
        route: req.route,
        line: req.line.as_deref(),
        role: user.role,
        method,
        tenant: crate::request::tenant_standing(&tenant),
        // A login starts a session; its binding comes after.
        binding: sekisho_policy::binding::BindingCheck::Pass,
    };
    // The requirement holds only where this gateway offers passkeys: a
    // gateway without them (an address for its public URL) falls back to
    // the tenant's ordinary second step rather than lock everyone out.
    standing.tenant.passkeys_required &=
        crate::flows::providers::passkeys_offered(app, req).is_some();
    Ok(gate::gate(
        &req.arrival(place),
        Some(&standing),
        app.clock.now(),
    ))
}

/// Starts the session of a login (after its second step, when one was
/// asked): a new id replacing any the browser had (S29), and the browser
/// noted on the user in the same transaction (S63). Returns the session
/// cookie's value and what the browser was to the user.
async fn start_session(
    app: &App,
    req: &Req,
    user: &crate::store::User,
    (route, method): (Route, sekisho_policy::model::LoginMethod),
    note: crate::store::BrowserNote,
) -> Result<(String, crate::store::BrowserSeen), Outcome> {
    let new = crate::sessions::NewSession {
        user,
        route,
        method,
        client_ip: &req.client_ip,
        user_agent: &req.user_agent,
        line: if route == Route::Closed {
            req.line.as_deref()
        } else {
            None
        },
    };
    crate::metrics::LOGINS_BY_ROUTE
        .with_label_values(&[route.as_str()])
        .inc();
    match app
        .sessions
        .start_noting(new, req.cookies.session(), app.clock.now(), Some(note))
        .await
    {
        Ok((c, seen)) => Ok((c, seen.unwrap_or(crate::store::BrowserSeen::Known))),
        Err(_) => Err(("store_unavailable", answers::error_page(app, req, 503))),
    }
}
