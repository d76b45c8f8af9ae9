//! The OpenID Connect relying party (PRODUCT §3.2, SECURITY S36, S37): the
//! authorization-code flow with PKCE S256, `state` and `nonce`, RFC 9207's
//! `iss`, and the ID token checked by the `openidconnect` crate (signature
//! from the provider's JWKS, issuer, audience, expiry, nonce, algorithm).
//! Providers are found by discovery, cached for an hour. The same client
//! serves the configured providers and each tenant's ADFS.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use sekisho_config::Provider;
use sekisho_policy::model::LoginMethod;
use std::time::Duration;
use tracing::Instrument;

/// How long discovered metadata (with the signing keys) is trusted.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Why a sign-in at a provider did not give an identity. The words are
/// fixed, for metrics and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FedError {
    #[error("provider_unreachable")]
    Unreachable,
    #[error("token_exchange_failed")]
    Exchange,
    #[error("no_id_token")]
    NoIdToken,
    #[error("id_token_invalid")]
    IdTokenInvalid,
    #[error("iss_mismatch")]
    IssMismatch,
    #[error("configuration")]
    Configuration,
}

impl FedError {
    pub fn reason(self) -> &'static str {
        match self {
            FedError::Unreachable => "provider_unreachable",
            FedError::Exchange => "token_exchange_failed",
            FedError::NoIdToken => "no_id_token",
            FedError::IdTokenInvalid => "id_token_invalid",
            FedError::IssMismatch => "iss_mismatch",
            FedError::Configuration => "configuration",
        }
    }
}

/// Who the provider says signed in: the pair that identifies a person
/// (S37), never the address alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
}

/// What the gateway keeps between the redirect to the provider and the
/// return: the PKCE verifier and the nonce.
#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let uri = http::Uri::try_from(url).ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

/// The OpenID Connect client settings of one provider: a configured one,
/// or a tenant's ADFS (Active Directory設定).
#[derive(Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// ID tokens signed with HS256 under the client secret are accepted
    /// (the d ACCOUNT preset, when configured); else asymmetric only.
    pub hs256_with_client_secret: bool,
}

/// The ID-token algorithms accepted from a provider: the asymmetric ones
/// its metadata lists (never `none`, never HMAC, whatever it advertises:
/// an HMAC key is the client secret, S36), and HS256 only where
/// `hs256_with_client_secret` says so.
fn accepted_algorithms(s: &OidcSettings, m: &CoreProviderMetadata) -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as A;
    let mut algs: Vec<A> = m
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| !matches!(a, A::HmacSha256 | A::HmacSha384 | A::HmacSha512 | A::None))
        .cloned()
        .collect();
    if algs.is_empty() {
        algs.push(A::RsaSsaPkcs1V15Sha256);
    }
    if s.hs256_with_client_secret {
        algs.push(A::HmacSha256);
    }
    algs
}

pub struct Federation {
    providers: Vec<(LoginMethod, OidcSettings)>,
    facebook: Option<sekisho_config::Facebook>,
    /// Discovered metadata (with the signing keys) by issuer: the
    /// configured providers' and the tenants' ADFS.
    metadata: moka::sync::Cache<String, CoreProviderMetadata>,
    http: reqwest::Client,
}

/// The issuer name Facebook accounts are kept under (Facebook Login is
/// plain OAuth 2.0 and names no issuer of its own).
pub const FACEBOOK_ISSUER: &str = "https://www.facebook.com";

/// The manual's order of the buttons.
const ORDER: [LoginMethod; 4] = [
    LoginMethod::Google,
    LoginMethod::Facebook,
    LoginMethod::Microsoft,
    LoginMethod::Daccount,
];

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

impl Federation {
    /// The pages' Content-Security-Policy, with the providers' origins and
    /// a page's own `extra` ones (a tenant's ADFS) in `form-action` (see
    /// `web::content_security_policy`).
    pub fn csp(&self, extra: &[String]) -> String {
        let mut origins = self.form_origins();
        for o in extra {
            if !origins.contains(o) {
                origins.push(o.clone());
            }
        }
        crate::web::content_security_policy(&origins)
    }

    pub fn new(
        providers: &[Provider],
        facebook: Option<&sekisho_config::Facebook>,
    ) -> anyhow::Result<Federation> {
        let http = reqwest::Client::builder()
            // Following redirects would open the client to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Federation {
            providers: providers
                .iter()
                .map(|p| {
                    let settings = OidcSettings {
                        issuer: p.issuer.clone(),
                        client_id: p.client_id.clone(),
                        client_secret: p.client_secret.clone(),
                        hs256_with_client_secret: p.id_token_hs256,
                    };
                    (p.method, settings)
                })
                .collect(),
            facebook: facebook.cloned(),
            metadata: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(METADATA_TTL)
                .build(),
            http,
        })
    }

    /// The configured methods, in the manual's button order.
    pub fn methods(&self) -> Vec<LoginMethod> {
        ORDER
            .into_iter()
            .filter(|m| match m {
                LoginMethod::Facebook => self.facebook.is_some(),
                m => self.settings(*m).is_some(),
            })
            .collect()
    }

    fn settings(&self, method: LoginMethod) -> Option<&OidcSettings> {
        self.providers
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, s)| s)
    }

    /// The issuer's origin and its discovered authorization endpoint's
    /// (which may be another host), when known.
    fn origins_of(&self, issuer: &str, out: &mut Vec<String>) {
        let mut urls = vec![issuer.to_string()];
        if let Some(m) = self.metadata.get(issuer) {
            urls.push(m.authorization_endpoint().url().to_string());
        }
        for u in urls {
            if let Some(o) = origin(&u) {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
    }

    /// Origins the browser is sent to from the gateway's forms: each
    /// configured provider's. For the pages' `form-action`.
    pub fn form_origins(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(o) = self
            .facebook
            .as_ref()
            .and_then(|f| origin(&f.authorize_url))
        {
            out.push(o);
        }
        for (_, s) in &self.providers {
            self.origins_of(&s.issuer, &mut out);
        }
        out
    }

    /// Origins a page whose form starts a sign-in at this tenant's ADFS
    /// must allow; discovers the issuer first so its authorization
    /// endpoint is known.
    pub async fn ad_form_origins(&self, ad: &OidcSettings) -> Vec<String> {
        let _ = self.metadata(&ad.issuer, false).await;
        let mut out = Vec::new();
        self.origins_of(&ad.issuer, &mut out);
        out
    }

    /// Discovers every provider once, so the pages' policy knows their
    /// authorization endpoints before the first button is pressed.
    pub async fn warm_up(&self) {
        for (_, s) in &self.providers {
            let _ = self.metadata(&s.issuer, false).await;
        }
    }

    /// The provider's issuer as configured.
    pub fn issuer(&self, method: LoginMethod) -> Option<&str> {
        self.settings(method).map(|s| s.issuer.as_str())
    }

    /// Whether `issuer` answers OpenID discovery (checked before a holder's
    /// ADFS settings are saved).
    pub async fn discover(&self, issuer: &str) -> Result<(), FedError> {
        self.metadata(issuer, true).await.map(|_| ())
    }

    async fn metadata(
        &self,
        issuer: &str,
        refresh: bool,
    ) -> Result<CoreProviderMetadata, FedError> {
        if !refresh {
            if let Some(m) = self.metadata.get(issuer) {
                return Ok(m);
            }
        }
        let url = IssuerUrl::new(issuer.to_string()).map_err(|_| FedError::Configuration)?;
        let m = CoreProviderMetadata::discover_async(url, &self.http)
            .instrument(crate::call_span!("openid", openid.call = "discovery"))
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %issuer, error = %e, "OpenID discovery failed");
                FedError::Unreachable
            })?;
        self.metadata.insert(issuer.to_string(), m.clone());
        Ok(m)
    }

    fn client(
        s: &OidcSettings,
        m: CoreProviderMetadata,
        redirect: &str,
    ) -> Result<Client, FedError> {
        let redirect =
            RedirectUrl::new(redirect.to_string()).map_err(|_| FedError::Configuration)?;
        Ok(CoreClient::from_provider_metadata(
            m,
            ClientId::new(s.client_id.clone()),
            Some(ClientSecret::new(s.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL for a new sign-in, with fresh
    /// `state`, `nonce` and PKCE S256 challenge.
    pub async fn start(&self, method: LoginMethod, redirect: &str) -> Result<Started, FedError> {
        if method == LoginMethod::Facebook {
            return self.start_facebook(redirect);
        }
        let s = self.settings(method).ok_or(FedError::Configuration)?;
        self.start_oidc(s, redirect, &["email"]).await
    }

    /// A sign-in at any OpenID provider by its settings (a tenant's ADFS
    /// needs no scope beyond `openid`).
    pub async fn start_oidc(
        &self,
        s: &OidcSettings,
        redirect: &str,
        scopes: &[&str],
    ) -> Result<Started, FedError> {
        let client = Self::client(s, self.metadata(&s.issuer, false).await?, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// Exchanges the code and checks the ID token; `iss` is RFC 9207's
    /// parameter when the provider sent one.
    pub async fn finish(
        &self,
        method: LoginMethod,
        redirect: &str,
        code: &str,
        iss: Option<&str>,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, FedError> {
        if method == LoginMethod::Facebook {
            return self.finish_facebook(redirect, code, pkce_verifier).await;
        }
        let s = self.settings(method).ok_or(FedError::Configuration)?;
        self.finish_oidc(s, redirect, code, iss, pkce_verifier, nonce)
            .await
    }

    /// [`Federation::finish`] for any OpenID provider by its settings.
    pub async fn finish_oidc(
        &self,
        s: &OidcSettings,
        redirect: &str,
        code: &str,
        iss: Option<&str>,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, FedError> {
        if let Some(iss) = iss {
            if iss.trim_end_matches('/') != s.issuer.trim_end_matches('/') {
                return Err(FedError::IssMismatch);
            }
        }
        let metadata = self.metadata(&s.issuer, false).await?;
        let algorithms = accepted_algorithms(s, &metadata);
        let client = Self::client(s, metadata, redirect)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| FedError::Configuration)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .instrument(crate::call_span!("openid", openid.call = "token"))
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "token exchange refused");
                FedError::Exchange
            })?;
        let id_token = response.id_token().ok_or(FedError::NoIdToken)?;
        let nonce = Nonce::new(nonce.to_string());
        let verifier = client.id_token_verifier().set_allowed_algs(algorithms);
        let claims = match id_token.claims(&verifier, &nonce) {
            Ok(c) => c.clone(),
            Err(first) => {
                // A key rotated since discovery: look again, once.
                let metadata = self.metadata(&s.issuer, true).await?;
                let algorithms = accepted_algorithms(s, &metadata);
                let fresh = Self::client(s, metadata, redirect)?;
                let verifier = fresh.id_token_verifier().set_allowed_algs(algorithms);
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|_| {
                        tracing::info!(error = %first, "ID token refused");
                        FedError::IdTokenInvalid
                    })?
                    .clone();
                claims
            }
        };
        Ok(Identity {
            issuer: claims.issuer().as_str().to_string(),
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
        })
    }

    fn facebook_client(
        &self,
        redirect: &str,
    ) -> Result<
        oauth2::basic::BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        FedError,
    > {
        let f = self.facebook.as_ref().ok_or(FedError::Configuration)?;
        let bad = |_| FedError::Configuration;
        Ok(
            oauth2::basic::BasicClient::new(oauth2::ClientId::new(f.client_id.clone()))
                .set_client_secret(oauth2::ClientSecret::new(f.client_secret.clone()))
                .set_auth_uri(oauth2::AuthUrl::new(f.authorize_url.clone()).map_err(bad)?)
                .set_token_uri(oauth2::TokenUrl::new(f.token_url.clone()).map_err(bad)?)
                .set_redirect_uri(oauth2::RedirectUrl::new(redirect.to_string()).map_err(bad)?),
        )
    }

    /// Facebook Login: OAuth 2.0 code flow with PKCE S256 and `state`.
    fn start_facebook(&self, redirect: &str) -> Result<Started, FedError> {
        let client = self.facebook_client(redirect)?;
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(oauth2::CsrfToken::new_random)
            .add_scope(oauth2::Scope::new("public_profile".to_string()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce: String::new(),
        })
    }

    /// Exchanges the code, then asks the user endpoint who it is.
    async fn finish_facebook(
        &self,
        redirect: &str,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, FedError> {
        use oauth2::TokenResponse as _;
        let f = self.facebook.as_ref().ok_or(FedError::Configuration)?;
        let client = self.facebook_client(redirect)?;
        let token = client
            .exchange_code(oauth2::AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .instrument(crate::call_span!("openid", openid.call = "token"))
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "Facebook token exchange refused");
                FedError::Exchange
            })?;
        let me: serde_json::Value = self
            .http
            .get(&f.user_url)
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .map_err(|_| FedError::Unreachable)?
            .error_for_status()
            .map_err(|_| FedError::Exchange)?
            .json()
            .await
            .map_err(|_| FedError::Exchange)?;
        let id = me["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .ok_or(FedError::NoIdToken)?;
        Ok(Identity {
            issuer: FACEBOOK_ISSUER.to_string(),
            subject: id.to_string(),
            email: None,
        })
    }
}
