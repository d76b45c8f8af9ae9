//! The new-browser mail (S63). Every sign-in notes its browser, known by a
//! long-lived device cookie, on its user; a browser the account has not
//! used before gets the user a mail saying when, which browser, from where,
//! by which route and way in, with a one-time 「心当たりがない場合」 link
//! (`flows::not_me`). The account's first browser is not "new" (there is
//! nothing to compare it with), so a registration's first sign-in sends
//! nothing. The note is kept in the session's own transaction: a sign-in
//! costs one commit. The tenant's holder can turn the mail off (設定 → 新しいブラウザ
//! からのログイン通知); the browsers are noted either way.

use crate::audit::{self, Event, Who};
use crate::request::Req;
use crate::state::App;
use crate::store::{BrowserNote, BrowserSeen, KnownBrowser, User};
use sekisho_pages::mail::{format_jst, SignInSeen};
use sekisho_policy::model::Route;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};
use std::sync::Arc;

/// The device cookie's life: 400 days, the most browsers keep a cookie.
const DEVICE_COOKIE_SECONDS: i64 = 400 * 86_400;

/// A sign-in's browser and how the user came in.
pub struct Arrival<'a> {
    pub user: &'a User,
    pub route: Route,
    /// The way in, in Japanese and in English.
    pub way_in: (&'static str, &'static str),
}

/// A sign-in's browser, ready to be noted with its session.
pub struct Noting {
    /// The renewed device cookie (`Set-Cookie`).
    pub cookie: String,
    /// For the store's step, in the session's transaction.
    pub note: BrowserNote,
    link_token: String,
    when: String,
    browser_name: String,
}

/// The device cookie (the browser's own, or a new one) and the note the
/// session's transaction keeps (S63).
pub fn prepare(app: &App, req: &Req, user: &User) -> Noting {
    let token = match req.cookies.device() {
        Some(t) if looks_like_ticket(t) => t.to_string(),
        _ => crate::crypto::random_token(),
    };
    let cookie = app
        .cookies
        .set_lasting(app.cookies.device, &token, DEVICE_COOKIE_SECONDS);
    let now = app.clock.now();
    let browser_name = crate::web::readable_agent(&req.user_agent, sekisho_pages::Lang::Ja);
    let when = format_jst(now);
    let (link_token, not_me) = crate::tickets::issue(
        now,
        &user.id,
        TicketPurpose::NotMe,
        Some(format!("{when}\n{browser_name}\n{}", req.client_ip)),
    );
    let note = BrowserNote {
        browser: KnownBrowser {
            id_hash: crate::crypto::token_hash(&token),
            first_seen: now,
            last_seen: now,
        },
        kept: app.config.new_device.browsers_kept as u32,
        not_me,
    };
    Noting {
        cookie,
        note,
        link_token,
        when,
        browser_name,
    }
}

/// After the session started with the note: a browser new to the account
/// mails its user (unless the tenant turned the mail off), with the
/// one-time 「心当たりがない場合」 link.
pub async fn mail_if_new(
    app: &Arc<App>,
    req: &Req,
    arrival: Arrival<'_>,
    noting: Noting,
    seen: BrowserSeen,
) {
    if seen != BrowserSeen::New {
        return;
    }
    let user = arrival.user;
    let mail_on = match app.store.get_tenant(&user.tenant_id).await {
        Ok(Some(tenant)) => tenant.new_device_mail,
        _ => true,
    };
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: Some(arrival.route),
    };
    if !mail_on {
        audit::event(
            Event::NewBrowserMailed,
            &who,
            "not mailed: off for the tenant",
        );
        return;
    }
    let link = crate::tickets::link(
        &app.config.internet.public_url,
        TicketPurpose::NotMe,
        &noting.link_token,
    );
    let seen = SignInSeen {
        when: &noting.when,
        browser: &noting.browser_name,
        address: &req.client_ip,
        closed: arrival.route == Route::Closed,
        way_in: arrival.way_in,
    };
    let text = sekisho_pages::mail::new_browser(&app.config.service_name, &user.name, &seen, &link);
    app.mailer
        .send_later("new_browser", user.email.clone(), text);
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["new_browser_mailed"])
        .inc();
    audit::event(Event::NewBrowserMailed, &who, &noting.browser_name);
}
