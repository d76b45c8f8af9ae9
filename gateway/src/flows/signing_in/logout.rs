//! Logging out: GET shows a button (no state change on GET), POST ends the
//! session after the CSRF check. Only a session of this listener's route
//! is ended here (S39); logging out is open whatever the plan or line.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_pages::{render, LogoutPage};
use sekisho_policy::paths;

pub async fn show(app: &App, req: &Req) -> Outcome {
    match req
        .session_here(&app.sessions, &app.clock)
        .await
        .ok()
        .flatten()
    {
        Some(live) => {
            let c = answers::chrome(app, req);
            let html = render(&LogoutPage {
                c: &c,
                csrf: &app.csrf.token(&live.id_hash),
            });
            ("logout_page", Answer::html(200, html))
        }
        None => ("logout_page", Answer::redirect(paths::LOGIN)),
    }
}

pub async fn submit(app: &App, session: &mut Session, req: &Req) -> Outcome {
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let live = match req.session_here(&app.sessions, &app.clock).await {
        Ok(l) => l,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let Some(live) = live else {
        return ("logout_without_session", Answer::redirect(paths::LOGIN));
    };
    if !app.csrf.accepts(&live.id_hash, form.get("csrf")) {
        return ("csrf_failed", answers::error_page(app, req, 403));
    }
    if app.sessions.end(&live.id_hash).await.is_err() {
        return ("store_unavailable", answers::error_page(app, req, 503));
    }
    audit::event(
        crate::audit::Event::Logout,
        &Who {
            user_id: Some(&live.view.user.id),
            tenant_id: Some(&live.view.tenant.id),
            client_ip: Some(&req.client_ip),
            route: Some(live.view.session.route),
        },
        "",
    );
    (
        "logged_out",
        Answer::redirect(&paths::login_with_notice("logged_out"))
            .with_cookie(app.cookies.clear(app.cookies.session)),
    )
}
