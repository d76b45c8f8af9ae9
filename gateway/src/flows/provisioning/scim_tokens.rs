//! 設定 → SCIM (S65): the contract holder of a basic-plan tenant makes,
//! names, rotates and revokes the tokens their directory provisions users
//! with. A token is shown once, on the page that made it, and kept only as
//! its hash; rotating and revoking go through the confirmation page of the
//! other settings. Each change is audited with the token's name.

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::scim::{issue, parse_networks, usable_token_name};
use crate::sessions::Live;
use crate::state::App;
use crate::store::{ScimTokenChange, StoreError};
use crate::web::{Answer, Form};
use sekisho_pages::{format_time, render, ConfirmPage, ScimPage, ScimTokenRow};
use sekisho_policy::paths;
use std::sync::Arc;

/// What the page shows besides the tokens.
#[derive(Default)]
struct Shown {
    token: Option<String>,
    problems: Vec<String>,
    name: String,
    networks: String,
}

fn page(app: &App, req: &Req, live: &Live, status: u16, shown: Shown) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let tenant = &live.view.tenant;
    let rows = tenant
        .scim_tokens
        .iter()
        .map(|k| ScimTokenRow {
            id: k.id.clone(),
            name: k.name.clone(),
            created: format_time(k.created_at, req.lang),
            networks: if k.networks.is_empty() {
                t.scim_any_network.to_string()
            } else {
                k.networks.join(", ")
            },
        })
        .collect();
    let base_url = format!(
        "{}{}",
        app.config.internet.public_url.trim_end_matches('/'),
        paths::SCIM
    );
    let html = render(&ScimPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        base_url,
        rows,
        shown: shown.token,
        problems: shown.problems,
        typed_name: shown.name,
        typed_networks: shown.networks,
    });
    // A page that shows a token is never kept by a cache.
    Answer::html(status, html).with_header("cache-control", "no-store".into())
}

fn who<'a>(live: &'a Live, req: &'a Req) -> Who<'a> {
    Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        route: Some(req.route),
        client_ip: Some(&req.client_ip),
    }
}

/// GET: the tokens and the form.
pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    ("scim_setting", page(app, req, &live, 200, Shown::default()))
}

/// POST of the form: a new token, shown once.
pub async fn create(app: &Arc<App>, req: &Req, mut live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    let name = form.get("name").trim().to_string();
    let typed = form.get("networks").to_string();
    let mut problems = Vec::new();
    if !usable_token_name(&name) {
        problems.push(t.scim_name_invalid.to_string());
    }
    let networks = match parse_networks(&typed) {
        Ok(n) => n,
        Err(bad) => {
            problems.push(format!("{}{bad}", t.scim_networks_invalid));
            Vec::new()
        }
    };
    let refused = |problems| Shown {
        problems,
        name: name.clone(),
        networks: typed.clone(),
        ..Shown::default()
    };
    if !problems.is_empty() {
        let shown = refused(problems);
        return ("scim_token_refused", page(app, req, &live, 422, shown));
    }
    let tenant_id = live.view.tenant.id.clone();
    let (token, kept) = issue(&tenant_id, &name, networks, app.clock.now());
    let change = ScimTokenChange::Add(kept.clone());
    match save(app, &mut live, change).await {
        Ok(()) => {}
        Err(StoreError::Stale) => {
            let shown = refused(vec![t.scim_name_taken.to_string()]);
            return ("scim_token_refused", page(app, req, &live, 409, shown));
        }
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    audit::event(
        Event::ScimTokenCreated,
        &who(&live, req),
        &format!("token={:?} networks={}", kept.name, kept.networks.len()),
    );
    let shown = Shown {
        token: Some(token),
        ..Shown::default()
    };
    ("scim_token_created", page(app, req, &live, 200, shown))
}

/// Saves a change of the tenant's tokens; the tenant's cached sessions
/// read it again, and this page shows the tenant as it now is.
async fn save(app: &App, live: &mut Live, change: ScimTokenChange) -> Result<(), StoreError> {
    let tenant = app
        .store
        .change_scim_tokens(&live.view.tenant.id, change)
        .await?;
    app.sessions.forget_tenant(&tenant.id);
    let mut view = (*live.view).clone();
    view.tenant = tenant;
    live.view = Arc::new(view);
    Ok(())
}

/// The confirmation page of a rotation or revocation.
fn confirm(app: &App, req: &Req, live: &Live, rotate: bool, name: &str, id: &str) -> Answer {
    let t = req.lang.texts();
    let (title, text) = if rotate {
        (t.scim_rotate_title, t.scim_rotate_text)
    } else {
        (t.scim_revoke_title, t.scim_revoke_text)
    };
    let page = ConfirmPage {
        c: &answers::chrome(app, req),
        title,
        text,
        facts: vec![(t.scim_col_name, name.to_string())],
        consequences: Vec::new(),
        action: &req.path,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: vec![("token", id.to_string())],
        confirm_label: if rotate {
            t.scim_rotate_button
        } else {
            t.scim_revoke_button
        },
        cancel_href: paths::MENU_SCIM,
        danger: !rotate,
    };
    Answer::html(200, render(&page))
}

/// POST of 再発行 / 失効: the confirmation page, then the change.
pub async fn change(
    app: &Arc<App>,
    req: &Req,
    mut live: Live,
    form: Form,
    rotate: bool,
) -> Outcome {
    let t = req.lang.texts();
    let id = form.get("token").to_string();
    let Some(name) = live
        .view
        .tenant
        .scim_tokens
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.name.clone())
    else {
        let shown = Shown {
            problems: vec![t.scim_token_unknown.to_string()],
            ..Shown::default()
        };
        return ("scim_token_refused", page(app, req, &live, 404, shown));
    };
    if form.get("confirmed") != "yes" {
        return (
            "scim_token_confirm",
            confirm(app, req, &live, rotate, &name, &id),
        );
    }
    let tenant_id = live.view.tenant.id.clone();
    let (token, change, event) = if rotate {
        let (token, kept) = issue(&tenant_id, &name, Vec::new(), app.clock.now());
        let change = ScimTokenChange::Rotate {
            id: id.clone(),
            token: kept,
        };
        (Some(token), change, Event::ScimTokenRotated)
    } else {
        (
            None,
            ScimTokenChange::Revoke { id },
            Event::ScimTokenRevoked,
        )
    };
    match save(app, &mut live, change).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => {
            let shown = Shown {
                problems: vec![t.scim_token_unknown.to_string()],
                ..Shown::default()
            };
            return ("scim_token_refused", page(app, req, &live, 404, shown));
        }
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    audit::event(event, &who(&live, req), &format!("token={name:?}"));
    match token {
        Some(token) => {
            let shown = Shown {
                token: Some(token),
                ..Shown::default()
            };
            ("scim_token_rotated", page(app, req, &live, 200, shown))
        }
        None => {
            let link = Some((paths::MENU_SCIM, t.scim_title));
            let done =
                answers::message_page(app, req, 200, t.scim_title, t.scim_revoked_text, link);
            ("scim_token_revoked", done)
        }
    }
}
