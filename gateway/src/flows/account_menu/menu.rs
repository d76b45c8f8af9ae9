//! 認証・契約情報変更メニュー (PRODUCT §3.9): only what the permission matrix
//! allows is shown, and the user's signed-in browsers can be seen and
//! logged out.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{forget_all, Outcome};
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, MenuPage, SessionRow, SessionsPage};
use sekisho_policy::menu::{allowed, can_administer, MenuItem};
use sekisho_policy::paths;

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let (user, tenant) = (&live.view.user, &live.view.tenant);
    let c = answers::chrome(app, req);
    let t = c.t;
    let ok = |item| allowed(item, user.role, tenant.plan, user.method);
    let mut change_items = Vec::new();
    if ok(MenuItem::LoginMethod) {
        change_items.push((paths::MENU_METHOD, t.item_login_method));
    }
    if ok(MenuItem::EmailChange) {
        change_items.push((paths::MENU_EMAIL, t.item_email_change));
    }
    if ok(MenuItem::PasswordChange) {
        change_items.push((paths::MENU_PASSWORD, t.item_password_change));
    }
    let mut settings_items = Vec::new();
    if ok(MenuItem::AccessRoute) {
        settings_items.push((paths::MENU_ACCESS_ROUTE, t.item_access_route));
    }
    if ok(MenuItem::TwoStep) {
        settings_items.push((paths::MENU_TWO_STEP, t.item_two_step));
    }
    // Only where this gateway offers passkeys on this route.
    if ok(MenuItem::PasskeyPolicy) && crate::flows::providers::passkeys_offered(app, req).is_some()
    {
        settings_items.push((paths::MENU_PASSKEY_POLICY, t.item_passkey_policy));
    }
    if ok(MenuItem::NewDeviceMail) {
        settings_items.push((paths::MENU_NEW_DEVICE_MAIL, t.item_new_device_mail));
    }
    if ok(MenuItem::DeviceBinding) && app.dbsc.enabled {
        settings_items.push((paths::MENU_DEVICE_BINDING, t.item_device_binding));
    }
    if ok(MenuItem::Scim) && app.scim.enabled {
        settings_items.push((paths::MENU_SCIM, t.item_scim));
    }
    // Only where the operator offers Active Directory (no dead links).
    if ok(MenuItem::ActiveDirectory) && app.config.active_directory.is_some() {
        settings_items.push((paths::MENU_AD, t.item_ad));
    }
    let mut other_items = vec![(paths::MENU_SESSIONS, t.item_sessions)];
    if ok(MenuItem::Passkeys) && crate::flows::providers::passkeys_offered(app, req).is_some() {
        other_items.push((paths::MENU_PASSKEYS, t.item_passkeys));
    }
    if user.method == sekisho_policy::model::LoginMethod::Password {
        other_items.push((paths::MENU_BROWSERS, t.item_trusted_browsers));
    }
    if can_administer(user.role) {
        other_items.push((paths::CONSOLE, t.item_admin));
    }
    let html = render(&MenuPage {
        c: &c,
        who: &user.email,
        tenant_id: &tenant.id,
        password_breached: user.password_breached(),
        change_items,
        settings_items,
        other_items,
    });
    ("menu", Answer::html(200, html))
}

pub async fn sessions(app: &App, req: &Req, live: Live) -> Outcome {
    let records = match app.store.list_user_sessions(&live.view.user.id).await {
        Ok(r) => r,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let rows = records
        .into_iter()
        .map(|s| SessionRow {
            current: *s.id_hash == *live.id_hash,
            handle: s.id_hash,
            browser: crate::web::readable_agent(&s.user_agent, req.lang),
            agent: s.user_agent,
            address: s.client_ip,
            last_seen: sekisho_pages::format_time(s.last_seen, req.lang),
        })
        .collect();
    let c = answers::chrome(app, req);
    let html = render(&SessionsPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        rows,
    });
    ("sessions", Answer::html(200, html))
}

/// Logs out one of the user's own browsers.
pub async fn end_session(app: &App, req: &Req, live: Live, form: Form) -> Outcome {
    let target = form.get("session");
    let own = match app.store.list_user_sessions(&live.view.user.id).await {
        Ok(list) => list.iter().any(|s| s.id_hash == target),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    if !own {
        return ("not_own_session", answers::error_page(app, req, 403));
    }
    if app.sessions.end(target).await.is_err() {
        return ("store_unavailable", answers::error_page(app, req, 503));
    }
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(crate::audit::Event::SessionEndedByUser, &who, "");
    if target == &*live.id_hash {
        return (
            "logged_out",
            Answer::redirect(&paths::login_with_notice("logged_out"))
                .with_cookie(app.cookies.clear(app.cookies.session)),
        );
    }
    ("session_ended", Answer::redirect(paths::MENU_SESSIONS))
}

/// Logs out every browser of the user, this one included.
pub async fn end_all(app: &App, req: &Req, live: Live, _: Form) -> Outcome {
    let ended = match app.store.delete_user_sessions(&live.view.user.id).await {
        Ok(e) => e,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    // "Log out everywhere" also forgets every remembered browser (S28).
    if app
        .store
        .revoke_trusted_browsers(&live.view.user.id)
        .await
        .is_err()
    {
        return ("store_unavailable", answers::error_page(app, req, 503));
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
        Answer::redirect(&paths::login_with_notice("logged_out"))
            .with_cookie(app.cookies.clear(app.cookies.session)),
    )
}
