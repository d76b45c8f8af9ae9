//! What the pages show of the sign-in providers, and where a tenant's
//! Active Directory is reached: the provider buttons and their labels, the
//! connection-ID prompt's link, a tenant's ADFS settings and its URLs.
//! The login, registration and method-change pages import this; the flows
//! behind the buttons (`federation`, `active_directory`) do too, so no flow
//! needs another's module for a label.

use crate::federation::OidcSettings;
use crate::passkeys::RelyingParty;
use crate::request::Req;
use crate::state::App;
use crate::store::Tenant;
use sekisho_pages::Texts;
use sekisho_policy::model::LoginMethod;
use sekisho_policy::paths;

/// The label of a provider's button.
pub fn button(t: &Texts, method: LoginMethod, register: bool) -> String {
    let name = match method {
        LoginMethod::Google => t.provider_google,
        LoginMethod::Facebook => t.provider_facebook,
        LoginMethod::Microsoft => t.provider_microsoft,
        LoginMethod::Ad => t.provider_ad,
        _ => t.provider_daccount,
    };
    if register {
        format!("{}{name}{}", t.register_with_before, t.register_with_after)
    } else {
        format!("{}{name}{}", t.login_with_before, t.login_with_after)
    }
}

/// The buttons of the configured providers.
pub fn buttons(app: &App, t: &Texts, register: bool) -> Vec<(&'static str, String)> {
    app.federation
        .methods()
        .into_iter()
        .map(|m| (m.as_str(), button(t, m, register)))
        .collect()
}

/// The sealing context of a tenant's client secret: the record it
/// belongs to.
pub fn secret_context(tenant_id: &str, connection_id: &str) -> String {
    format!("ad-client-secret/{tenant_id}/{connection_id}")
}

/// The tenant's ADFS as an OpenID client, when the gateway offers Active
/// Directory and the tenant set it up.
pub fn settings(app: &App, tenant: &Tenant) -> Option<OidcSettings> {
    let key = &app.config.active_directory.as_ref()?.secret_key;
    let ad = tenant.ad.as_ref()?;
    let client_secret = crate::crypto::open_secret(
        key,
        &secret_context(&tenant.id, &ad.connection_id),
        &ad.client_secret_sealed,
    )?;
    Some(OidcSettings {
        issuer: ad.issuer.clone(),
        client_id: ad.client_id.clone(),
        client_secret,
        hs256_with_client_secret: false,
    })
}

/// The callback of a connection on the route a request came by.
pub fn redirect_uri(app: &App, route: sekisho_policy::model::Route, connection_id: &str) -> String {
    format!(
        "{}/.sekisho/ad/{connection_id}/callback",
        app.config.public_url(route)
    )
}

/// The AD login URL of a connection on a route (mailed to the holder).
pub fn login_url(public_url: &str, connection_id: &str) -> String {
    format!(
        "{public_url}{AD_START}?connection_id={connection_id}",
        AD_START = paths::AD_START
    )
}

/// The login page's link to the connection-ID prompt.
pub fn prompt_href(app: &App, purpose: &str, next: &str) -> Option<String> {
    app.config.active_directory.as_ref()?;
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Some(format!(
        "{AD_START}?purpose={purpose}&next={next}",
        AD_START = paths::AD_START
    ))
}

/// The relying party where passkeys are offered on this request's route.
pub fn passkeys_offered<'a>(app: &'a App, req: &Req) -> Option<&'a RelyingParty> {
    app.passkeys.as_ref().filter(|rp| rp.offered_on(req.route))
}
