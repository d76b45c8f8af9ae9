//! 認証・契約情報変更メニュー (PRODUCT §3.9): only what the permission matrix
//! allows is shown, and the user's signed-in browsers can be seen and
//! logged out.

use super::{forget_all, read_session_post, require_session, Outcome};
use crate::audit::{self, Who};
use crate::state::App;
use crate::web::{Answer, Req};
use pingora::proxy::Session;
use sekisho_pages::{render, MenuPage, SessionRow, SessionsPage};
use sekisho_policy::menu::{allowed, can_administer, MenuItem};

pub async fn show(app: &App, req: &Req) -> Outcome {
    let live = match require_session(app, req).await {
        Ok(l) => l,
        Err(o) => return o,
    };
    let (user, tenant) = (&live.view.user, &live.view.tenant);
    let c = app.chrome(req);
    let t = c.t;
    let ok = |item| allowed(item, user.role, tenant.plan, user.method);
    let mut change_items = Vec::new();
    if ok(MenuItem::LoginMethod) {
        change_items.push(("/.sekisho/menu/method", t.item_login_method));
    }
    if ok(MenuItem::EmailChange) {
        change_items.push(("/.sekisho/menu/email", t.item_email_change));
    }
    if ok(MenuItem::PasswordChange) {
        change_items.push(("/.sekisho/menu/password", t.item_password_change));
    }
    let mut settings_items = Vec::new();
    if ok(MenuItem::AccessRoute) {
        settings_items.push(("/.sekisho/menu/access-route", t.item_access_route));
    }
    if ok(MenuItem::TwoStep) {
        settings_items.push(("/.sekisho/menu/two-step", t.item_two_step));
    }
    // Only where this gateway offers passkeys on this route.
    if ok(MenuItem::PasskeyPolicy) && super::passkey_login::offered(app, req).is_some() {
        settings_items.push((super::passkey_policy::PATH, t.item_passkey_policy));
    }
    // Only where the operator offers Active Directory (no dead links).
    if ok(MenuItem::ActiveDirectory) && app.config.active_directory.is_some() {
        settings_items.push((super::ad_setting::PATH, t.item_ad));
    }
    let mut other_items = vec![("/.sekisho/menu/sessions", t.item_sessions)];
    if ok(MenuItem::Passkeys) && super::passkey_login::offered(app, req).is_some() {
        other_items.push((super::passkeys::PATH, t.item_passkeys));
    }
    if user.method == sekisho_policy::model::LoginMethod::Password {
        other_items.push(("/.sekisho/menu/browsers", t.item_trusted_browsers));
    }
    if can_administer(user.role) {
        other_items.push(("/.sekisho/admin/", t.item_admin));
    }
    let html = render(&MenuPage {
        c: &c,
        change_items,
        settings_items,
        other_items,
    });
    ("menu", Answer::html(200, html))
}

pub async fn sessions(app: &App, req: &Req) -> Outcome {
    let live = match require_session(app, req).await {
        Ok(l) => l,
        Err(o) => return o,
    };
    let records = match app.store.list_user_sessions(&live.view.user.id).await {
        Ok(r) => r,
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    let rows = records
        .into_iter()
        .map(|s| SessionRow {
            current: s.id_hash == live.id_hash,
            handle: s.id_hash,
            browser: crate::web::readable_agent(&s.user_agent, req.lang),
            agent: s.user_agent,
            address: s.client_ip,
            last_seen: sekisho_pages::mail::format_jst(s.last_seen),
        })
        .collect();
    let c = app.chrome(req);
    let html = render(&SessionsPage {
        c: &c,
        csrf: &app.csrf(&live.id_hash),
        rows,
    });
    ("sessions", Answer::html(200, html))
}

/// Logs out one of the user's own browsers.
pub async fn end_session(app: &App, session: &mut Session, req: &Req) -> Outcome {
    let (live, form) = match read_session_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let target = form.get("session");
    let own = match app.store.list_user_sessions(&live.view.user.id).await {
        Ok(list) => list.iter().any(|s| s.id_hash == target),
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    if !own {
        return ("not_own_session", app.error_page(req, 403));
    }
    if app.sessions.end(target).await.is_err() {
        return ("store_unavailable", app.error_page(req, 503));
    }
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(crate::audit::Event::SessionEndedByUser, &who, "");
    if target == live.id_hash {
        return (
            "logged_out",
            Answer::redirect("/.sekisho/login?notice=logged_out")
                .with_cookie(app.cookies.clear(app.cookies.session)),
        );
    }
    ("session_ended", Answer::redirect("/.sekisho/menu/sessions"))
}

/// Logs out every browser of the user, this one included.
pub async fn end_all(app: &App, session: &mut Session, req: &Req) -> Outcome {
    let (live, _) = match read_session_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let ended = match app.store.delete_user_sessions(&live.view.user.id).await {
        Ok(e) => e,
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    // "Log out everywhere" also forgets every remembered browser (S28).
    if app
        .store
        .revoke_trusted_browsers(&live.view.user.id)
        .await
        .is_err()
    {
        return ("store_unavailable", app.error_page(req, 503));
    }
    forget_all(app, &ended);
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::LoggedOutEverywhere,
        &who,
        &format!("sessions_ended={}", ended.len()),
    );
    (
        "logged_out_everywhere",
        Answer::redirect("/.sekisho/login?notice=logged_out")
            .with_cookie(app.cookies.clear(app.cookies.session)),
    )
}
