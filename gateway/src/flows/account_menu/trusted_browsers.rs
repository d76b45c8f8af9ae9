//! 記憶しているブラウザ: the browsers a user asked to remember for two-step
//! verification, each with a revoke button, and one to revoke them all
//! (S28).

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::format_time;
use sekisho_pages::{render, SessionRow, TrustedBrowsersPage};
use sekisho_policy::paths;

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let list = match app.store.list_trusted_browsers(&live.view.user.id).await {
        Ok(l) => l,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let this = req
        .cookies
        .trust()
        .and_then(|v| v.split_once('.'))
        .map(|(token, _)| crate::crypto::token_hash(token));
    let rows = list
        .into_iter()
        .map(|b| SessionRow {
            current: this.as_deref() == Some(b.id_hash.as_str()),
            handle: b.id,
            browser: crate::web::readable_agent(&b.user_agent, req.lang),
            agent: b.user_agent,
            address: format_time(b.created_at, req.lang),
            last_seen: format_time(b.last_used, req.lang),
        })
        .collect();
    let c = answers::chrome(app, req);
    let html = render(&TrustedBrowsersPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        rows,
    });
    ("trusted_browsers", Answer::html(200, html))
}

/// Revokes one remembered browser (by its public id) or all of them.
pub async fn revoke(app: &App, req: &Req, live: Live, form: Form) -> Outcome {
    let user_id = &live.view.user.id;
    let target = form.get("browser");
    let result = if target == "all" {
        app.store
            .revoke_trusted_browsers(user_id)
            .await
            .map(|n| n > 0)
    } else {
        app.store.revoke_trusted_browser(user_id, target).await
    };
    match result {
        Ok(true) => {}
        Ok(false) => return ("not_own_browser", answers::error_page(app, req, 404)),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    let who = Who {
        user_id: Some(user_id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::TrustedBrowserRevoked,
        &who,
        if target == "all" { "all" } else { "one" },
    );
    (
        "trusted_browser_revoked",
        Answer::redirect(paths::MENU_BROWSERS),
    )
}
