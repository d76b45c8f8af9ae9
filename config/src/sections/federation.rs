//! Sign-in by providers and a tenant's Active Directory.

use crate::checker::*;
use crate::raw::*;
use crate::typed::*;

/// The issuers of the presets (overridable per provider).
pub(crate) fn preset_issuer(method: sekisho_policy::model::LoginMethod) -> Option<&'static str> {
    use sekisho_policy::model::LoginMethod::*;
    match method {
        Google => Some("https://accounts.google.com"),
        // Personal Microsoft accounts; organisations give their tenant's
        // issuer instead.
        Microsoft => {
            Some("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
        }
        Daccount => Some("https://conf.uw.docomo.ne.jp/"),
        _ => None,
    }
}

pub(crate) fn providers(c: &mut Checker, f: &RawFederation) -> Vec<Provider> {
    use sekisho_policy::model::LoginMethod;
    let mut out: Vec<Provider> = Vec::new();
    for (i, p) in f.providers.iter().enumerate() {
        let key = |k: &str| format!("federation.providers[{i}].{k}");
        let method = match LoginMethod::parse(&p.id) {
            Some(m @ (LoginMethod::Google | LoginMethod::Microsoft | LoginMethod::Daccount)) => m,
            _ => {
                c.err(
                    &key("id"),
                    format!("'{}' is not one of: google, microsoft, daccount", p.id),
                );
                continue;
            }
        };
        if out.iter().any(|o| o.method == method) {
            c.err(&key("id"), format!("'{}' is configured twice", p.id));
        }
        let issuer = p
            .issuer
            .clone()
            .or_else(|| preset_issuer(method).map(str::to_string))
            .unwrap_or_default();
        let issuer_ok = (issuer.starts_with("https://") || issuer.starts_with("http://"))
            && http::Uri::try_from(issuer.as_str()).is_ok_and(|u| u.host().is_some());
        if !issuer_ok {
            c.err(
                &key("issuer"),
                format!("'{issuer}' is not an https issuer URL"),
            );
        }
        if p.client_id.trim().is_empty() {
            c.err(&key("client_id"), "must not be empty");
        }
        let path = c.path(&p.client_secret_file);
        let client_secret = match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            Ok(_) => {
                c.err(
                    &key("client_secret_file"),
                    format!("{} is empty", path.display()),
                );
                String::new()
            }
            Err(e) => {
                c.err(
                    &key("client_secret_file"),
                    format!("cannot read {}: {e}", path.display()),
                );
                String::new()
            }
        };
        if p.id_token_hs256 && method != LoginMethod::Daccount {
            c.err(
                &key("id_token_hs256"),
                "only for the daccount preset: other providers sign ID tokens asymmetrically, and a secret-keyed token from them is refused (S36)",
            );
        }
        out.push(Provider {
            method,
            issuer,
            client_id: p.client_id.clone(),
            client_secret,
            id_token_hs256: p.id_token_hs256 && method == LoginMethod::Daccount,
        });
    }
    out
}

pub(crate) fn facebook(c: &mut Checker, f: &RawFacebook) -> Facebook {
    for (key, url) in [
        ("federation.facebook.authorize_url", &f.authorize_url),
        ("federation.facebook.token_url", &f.token_url),
        ("federation.facebook.user_url", &f.user_url),
    ] {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && http::Uri::try_from(url.as_str()).is_ok_and(|u| u.host().is_some());
        if !ok {
            c.err(key, format!("'{url}' is not an http(s) URL"));
        }
    }
    if f.client_id.trim().is_empty() {
        c.err("federation.facebook.client_id", "must not be empty");
    }
    Facebook {
        client_id: f.client_id.clone(),
        client_secret: secret_file(
            c,
            "federation.facebook.client_secret_file",
            &f.client_secret_file,
        ),
        authorize_url: f.authorize_url.clone(),
        token_url: f.token_url.clone(),
        user_url: f.user_url.clone(),
    }
}

pub(crate) fn active_directory(c: &mut Checker, a: &RawActiveDirectory) -> ActiveDirectory {
    let key = "federation.active_directory.secret_key_file";
    let text = secret_file(c, key, &a.secret_key_file);
    let mut secret_key = [0u8; 32];
    match hex::decode(&text) {
        Ok(bytes) if bytes.len() == 32 => secret_key.copy_from_slice(&bytes),
        _ if text.is_empty() => {}
        _ => c.err(
            key,
            "must hold 32 random bytes as 64 hex digits (e.g. `openssl rand -hex 32`)",
        ),
    }
    ActiveDirectory {
        secret_key,
        allow_http_issuers: a.allow_http_issuers,
    }
}
