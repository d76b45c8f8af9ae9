//! SCIM 2.0's door (RFC 7644, S65, S66): a tenant's bearer token, checked
//! against the hash its tenant keeps, from the networks it allows, at the
//! rate the operator allows a token; its bounded JSON body; and its error
//! documents. The resources themselves are the flows in
//! `flows/provisioning/`.

use crate::store::{ScimToken, Tenant, TenantStore};
use crate::web::{Answer, FormError};
use governor::clock::DefaultClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use pingora::proxy::Session;
use sekisho_policy::model::Plan;
use sekisho_policy::UnixTime;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// The error document's schema (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// A list's schema (RFC 7644 §3.4.2).
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request's schema (RFC 7644 §3.5.2).
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// How long a client may take to send its body.
const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The directory client a request came from: its tenant and its token's
/// name (what the audit trail shows).
#[derive(Debug, Clone)]
pub struct ScimClient {
    pub tenant: Tenant,
    pub token_id: String,
    pub token_name: String,
}

/// The SCIM door: the operator's settings and each token's allowance.
pub struct Scim {
    pub enabled: bool,
    pub body_bytes: usize,
    per_token: RateLimiter<
        String,
        DefaultKeyedStateStore<String>,
        DefaultClock,
        NoOpMiddleware<governor::clock::QuantaInstant>,
    >,
}

/// Why a request did not pass the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, one of another shape, unknown, revoked or wrong: 401.
    Unauthorized,
    /// A good token from a network it does not allow, or for a tenant not
    /// on the basic plan: 403 with the reason.
    Forbidden(&'static str),
    /// Past the token's rate: 429 with the wait.
    TooMany(Duration),
    /// The store did not answer: 503.
    Unavailable,
}

impl Scim {
    pub fn new(cfg: &sekisho_config::Scim) -> Scim {
        let rate = NonZeroU32::new(cfg.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        Scim {
            enabled: cfg.enabled,
            body_bytes: cfg.body_bytes,
            per_token: RateLimiter::keyed(Quota::per_minute(rate)),
        }
    }

    /// Checks a request's `Authorization` header (S65): the token must be
    /// of our shape, name a tenant and one of its tokens, carry the secret
    /// whose hash the tenant keeps, come from a network the token allows,
    /// for a tenant on the basic plan, within the token's rate (S66).
    pub async fn admit(
        &self,
        store: &dyn TenantStore,
        authorization: Option<&str>,
        client_ip: &str,
    ) -> Result<ScimClient, Refusal> {
        let bearer = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(Refusal::Unauthorized)?;
        let parts = sekisho_policy::scim::token_parts(bearer).ok_or(Refusal::Unauthorized)?;
        let tenant = store
            .get_tenant(parts.tenant_id)
            .await
            .map_err(|_| Refusal::Unavailable)?
            .ok_or(Refusal::Unauthorized)?;
        let token = tenant
            .scim_tokens
            .iter()
            .find(|t| t.id == parts.token_id)
            .ok_or(Refusal::Unauthorized)?;
        if !crate::crypto::same(&crate::crypto::token_hash(parts.secret), &token.hash) {
            return Err(Refusal::Unauthorized);
        }
        if !network_allowed(&token.networks, client_ip) {
            return Err(Refusal::Forbidden(
                "this token is not allowed from the client's network",
            ));
        }
        if tenant.plan != Plan::Basic {
            return Err(Refusal::Forbidden(
                "SCIM provisioning is a setting of the basic plan",
            ));
        }
        if let Err(not_until) = self.per_token.check_key(&token.id) {
            use governor::clock::Clock;
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Refusal::TooMany(wait));
        }
        Ok(ScimClient {
            token_id: token.id.clone(),
            token_name: token.name.clone(),
            tenant,
        })
    }

    /// Forgets the allowances of tokens idle long enough to be full again.
    pub fn forget_idle(&self) {
        self.per_token.retain_recent();
    }
}

/// Whether `client_ip` is in one of `networks` (none: any network).
pub fn network_allowed(networks: &[String], client_ip: &str) -> bool {
    if networks.is_empty() {
        return true;
    }
    let Ok(ip) = client_ip.parse::<IpAddr>() else {
        return false;
    };
    networks.iter().any(|n| {
        n.parse::<ipnet::IpNet>()
            .map(|net| net.contains(&ip))
            .unwrap_or(false)
    })
}

/// Reads a list of client networks as a holder or operator types them:
/// CIDR or single addresses, separated by commas, spaces or lines. `Err`
/// names the first that is neither.
pub fn parse_networks(text: &str) -> Result<Vec<String>, String> {
    let mut networks = Vec::new();
    for item in text
        .split([',', ' ', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
    {
        let net = match item.parse::<ipnet::IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => match item.parse::<IpAddr>() {
                Ok(ip) => ipnet::IpNet::from(ip),
                Err(_) => return Err(item.to_string()),
            },
        };
        if !networks.contains(&net.to_string()) {
            networks.push(net.to_string());
        }
    }
    if networks.len() > 32 {
        return Err(networks[32].clone());
    }
    Ok(networks)
}

/// A new token for `tenant_id`: what the client is shown once, and what
/// the tenant keeps (its hash).
pub fn issue(
    tenant_id: &str,
    name: &str,
    networks: Vec<String>,
    now: UnixTime,
) -> (String, ScimToken) {
    let id = crate::crypto::random_id();
    let secret = crate::crypto::random_token();
    let shown = sekisho_policy::scim::token(tenant_id, &id, &secret);
    let kept = ScimToken {
        id,
        name: name.to_string(),
        hash: crate::crypto::token_hash(&secret),
        created_at: now,
        networks,
    };
    (shown, kept)
}

/// A usable token name: 1–64 printable characters.
pub fn usable_token_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n) && !name.chars().any(char::is_control)
}

/// A SCIM answer: `application/scim+json`, never cached.
pub fn document(status: u16, body: &Value) -> Answer {
    Answer {
        content_type: "application/scim+json",
        ..Answer::json(status, body.to_string())
    }
}

/// An error document (RFC 7644 §3.12): the status, a `scimType` where the
/// RFC names one, and what was wrong.
pub fn error(status: u16, scim_type: Option<&str>, detail: &str) -> Answer {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    document(status, &body)
}

/// The answer to a refused door.
pub fn refusal(r: &Refusal) -> Answer {
    match r {
        Refusal::Unauthorized => error(401, None, "a valid SCIM bearer token is required")
            .with_header("www-authenticate", "Bearer realm=\"SCIM\"".into()),
        Refusal::Forbidden(why) => error(403, None, why),
        Refusal::TooMany(wait) => error(429, None, "too many requests for this token")
            .with_header("retry-after", wait.as_secs().max(1).to_string()),
        Refusal::Unavailable => error(503, None, "the store is unavailable; try again"),
    }
}

/// Reads a request's JSON body (S66): `application/scim+json` or
/// `application/json`, at most `limit` bytes, an object. Any refusal is
/// its error document.
pub async fn read_json(session: &mut Session, limit: usize) -> Result<Value, Answer> {
    if !crate::web::content_type_is(session, &["application/scim+json", "application/json"]) {
        return Err(error(
            415,
            None,
            "the body must be application/scim+json or application/json",
        ));
    }
    let body = match crate::web::read_bounded(session, limit, BODY_DEADLINE).await {
        Ok(b) => b,
        Err(FormError::TooLarge) => {
            return Err(error(413, None, "the body is over the size limit").closing())
        }
        Err(_) => return Err(error(400, None, "the body did not arrive in time").closing()),
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(error(
            400,
            Some("invalidSyntax"),
            "the body must be a JSON object",
        )),
        Err(_) => Err(error(400, Some("invalidSyntax"), "the body is not JSON")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s65_networks_allow_only_their_clients() {
        let nets = parse_networks("10.0.0.0/8, 192.0.2.7\n2001:db8::/32").unwrap();
        assert_eq!(nets, vec!["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(network_allowed(&nets, "10.1.2.3"));
        assert!(network_allowed(&nets, "192.0.2.7"));
        assert!(!network_allowed(&nets, "192.0.2.8"));
        assert!(network_allowed(&[], "203.0.113.9"));
        assert!(!network_allowed(&nets, "not an address"));
        assert_eq!(parse_networks("10.0.0.0/33"), Err("10.0.0.0/33".into()));
        assert_eq!(parse_networks("10.1.2.3/8").unwrap(), vec!["10.0.0.0/8"]);
    }

    #[test]
    fn s65_an_issued_token_is_kept_only_as_its_hash() {
        let (shown, kept) = issue("t1", "entra", Vec::new(), 0);
        let parts = sekisho_policy::scim::token_parts(&shown).unwrap();
        assert_eq!(parts.tenant_id, "t1");
        assert_eq!(parts.token_id, kept.id);
        assert_eq!(kept.hash, crate::crypto::token_hash(parts.secret));
        assert!(!format!("{kept:?}").contains(parts.secret));
    }

    #[test]
    fn s66_error_documents_follow_the_rfc() {
        let a = error(400, Some("invalidFilter"), "only eq");
        assert_eq!(a.content_type, "application/scim+json");
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["schemas"][0], ERROR_SCHEMA);
        assert_eq!(v["status"], "400");
        assert_eq!(v["scimType"], "invalidFilter");
    }
}
