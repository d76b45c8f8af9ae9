//! Active Directory設定 (PRODUCT §3.3, manual §0, §1-3): the contract holder
//! (both plans) enters the tenant's ADFS issuer, client ID and secret.
//! The issuer must answer OpenID discovery before anything is saved; the
//! secret is sealed with the configured key; the gateway issues the
//! connection ID (接続ID) once and mails the holder the AD login URLs with
//! it (Active Directoryアカウントのログイン用URL・接続ID通知).

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::active_directory::not_offered;
use crate::flows::providers::{login_url, redirect_uri, secret_context};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{AdConnection, StoreError};
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, Field, FormPage, Guide, Texts};
use sekisho_policy::ad::{
    check_ad_settings, AdSettingProblem, CONNECTION_ALPHABET, CONNECTION_PREFIX,
    CONNECTION_SUFFIX_LEN,
};
use sekisho_policy::model::Route;
use sekisho_policy::paths;
use std::sync::Arc;

fn problem_text(t: &Texts, p: AdSettingProblem) -> &'static str {
    match p {
        AdSettingProblem::IssuerNotUrl => t.ad_issuer_invalid,
        AdSettingProblem::IssuerHasQuery => t.ad_issuer_query,
        AdSettingProblem::ClientIdMissing => t.ad_client_id_missing,
        AdSettingProblem::TooLong => t.ad_too_long,
        AdSettingProblem::SecretMissing => t.ad_secret_missing,
    }
}

/// The form, with what the holder typed (`typed`: issuer, client id) when
/// it comes back with problems.
fn page(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    typed: Option<(&str, &str)>,
    problems: Vec<String>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let ad = live.view.tenant.ad.as_ref();
    let facts = vec![(
        t.ad_connection_id_label,
        ad.map(|a| a.connection_id.clone())
            .unwrap_or_else(|| t.ad_not_set.to_string()),
    )];
    // The redirect URIs, one per route, to copy into the ADFS application.
    let uris: Vec<String> = ad
        .map(|a| {
            let mut uris = vec![redirect_uri(app, Route::Internet, &a.connection_id)];
            if app.config.closed.is_some() {
                uris.push(redirect_uri(app, Route::Closed, &a.connection_id));
            }
            uris
        })
        .unwrap_or_default();
    let (issuer, client_id) = typed.unwrap_or_else(|| {
        ad.map(|a| (a.issuer.as_str(), a.client_id.as_str()))
            .unwrap_or(("", ""))
    });
    let text = |label, name: &'static str, value: &str| Field {
        label,
        name,
        kind: "text",
        value: value.to_string(),
        autocomplete: "off",
    };
    let mut intro = vec![t.ad_setting_intro];
    if ad.is_some() {
        intro.push(t.ad_secret_keep_note);
    }
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title: t.ad_setting_title,
        intro,
        facts,
        problems,
        action: paths::MENU_AD,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: Vec::new(),
        fields: vec![
            text(t.ad_issuer_label, "issuer", issuer),
            text(t.ad_client_id_label, "client_id", client_id),
            Field {
                label: t.ad_client_secret_label,
                name: "client_secret",
                kind: "password",
                value: String::new(),
                autocomplete: "new-password",
            },
        ],
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.ad_save_button,
        back: Some((paths::MENU, t.back_to_menu)),
        guide: Some(Guide {
            heading: t.ad_guide_heading,
            steps: vec![
                t.ad_guide_step1,
                t.ad_guide_step2,
                t.ad_guide_step3,
                t.ad_guide_step4,
            ],
            block_label: if uris.is_empty() {
                t.ad_redirect_after_save
            } else {
                t.ad_redirect_note
            },
            lines: uris,
        }),
    });
    Answer::html(status, html)
}

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    if app.config.active_directory.is_none() {
        return not_offered(app, req, true);
    }
    ("ad_setting", page(app, req, &live, 200, None, Vec::new()))
}

fn new_connection_id() -> String {
    format!(
        "{CONNECTION_PREFIX}{}",
        crate::crypto::random_code(CONNECTION_SUFFIX_LEN, CONNECTION_ALPHABET)
    )
}

/// POST 保存: checks, discovers, seals, saves, mails.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let Some(ad_config) = app.config.active_directory.as_ref() else {
        return not_offered(app, req, true);
    };
    let t = req.lang.texts();
    let tenant = &live.view.tenant;
    let (issuer, client_id, secret) = (
        form.get("issuer").trim(),
        form.get("client_id").trim(),
        form.get("client_secret").trim(),
    );
    let problems = check_ad_settings(
        issuer,
        client_id,
        secret,
        tenant.ad.is_some(),
        ad_config.allow_http_issuers,
    );
    let typed = Some((issuer, client_id));
    if !problems.is_empty() {
        let texts = problems
            .into_iter()
            .map(|p| problem_text(t, p).to_string())
            .collect();
        return ("ad_refused", page(app, req, &live, 422, typed, texts));
    }
    if app.federation.discover(issuer).await.is_err() {
        let texts = vec![t.ad_unreachable.to_string()];
        return ("ad_unreachable", page(app, req, &live, 422, typed, texts));
    }
    // The connection ID is issued once; a second try only on the
    // (astronomically unlikely) collision of a new one.
    let mut saved = None;
    for _ in 0..2 {
        let connection_id = tenant
            .ad
            .as_ref()
            .map(|a| a.connection_id.clone())
            .unwrap_or_else(new_connection_id);
        let context = secret_context(&tenant.id, &connection_id);
        let sealed = match (&tenant.ad, secret.is_empty()) {
            (Some(old), true) => old.client_secret_sealed.clone(),
            _ => crate::crypto::seal_secret(&ad_config.secret_key, &context, secret),
        };
        let connection = AdConnection {
            connection_id,
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
            client_secret_sealed: sealed,
            updated_at: app.clock.now(),
        };
        match app.store.save_ad_connection(&tenant.id, connection).await {
            Ok(t) => {
                saved = Some(t);
                break;
            }
            Err(StoreError::Stale) if tenant.ad.is_none() => continue,
            Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
        }
    }
    let Some(updated) = saved else {
        return ("store_unavailable", answers::error_page(app, req, 503));
    };
    app.sessions.forget_tenant(&updated.id);
    let connection_id = updated
        .ad
        .as_ref()
        .map(|a| a.connection_id.clone())
        .unwrap_or_default();
    let internet = login_url(&app.config.internet.public_url, &connection_id);
    let closed = app
        .config
        .closed
        .as_ref()
        .map(|c| login_url(&c.listener.public_url, &connection_id));
    let user = &live.view.user;
    let text = sekisho_pages::mail::ad_connection(
        &app.config.service_name,
        &user.name,
        &internet,
        closed.as_deref(),
        &connection_id,
    );
    app.mailer
        .send_later("ad_connection", user.email.clone(), text);
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["ad_connection_saved"])
        .inc();
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&updated.id),
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
    };
    audit::event(crate::audit::Event::AdConnectionSaved, &who, &connection_id);
    let text = format!(
        "{} {}: {connection_id}",
        t.ad_saved_text, t.ad_connection_id_label
    );
    (
        "ad_connection_saved",
        answers::message_page(
            app,
            req,
            200,
            t.ad_saved_title,
            &text,
            Some((paths::MENU, t.back_to_menu)),
        ),
    )
}
