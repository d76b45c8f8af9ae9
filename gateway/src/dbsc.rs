//! Device Bound Session Credentials (DBSC, S62), the protocol's server
//! side as the W3C draft (`w3c/webappsec-dbsc`, the `Secure-Session-*`
//! headers Chromium speaks since 145) defines it: the registration header,
//! the challenges, the browser's signed proof (an ES256 JWT of type
//! `dbsc+jwt`), the bound cookie, and the session instructions.
//!
//! Nothing here is kept per challenge: a challenge is the session's id
//! hash, the binding's refresh count and its time, sealed by a key every
//! gateway shares. A registration challenge is used once because a session
//! is bound once; a refresh challenge because a refresh moves the count on
//! (`SessionStore::advance_binding`). The bound cookie is sealed the same
//! way, so checking it costs one HMAC and no store read.
//!
//! The policy (when a binding counts) is `sekisho_policy::binding`; the
//! flows are `flows::device_binding`.

use crate::crypto;
use crate::sessions::Live;
use crate::store::SessionBinding;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sekisho_policy::binding::{self, BindingCheck, BindingLimits, BindingStanding};
use sekisho_policy::paths;
use sekisho_policy::UnixTime;

/// The longest proof read: an ES256 JWT with its key is under 700 bytes.
const MAX_PROOF_BYTES: usize = 4096;

/// The protocol's keys and settings, built once per process.
pub struct Dbsc {
    key: Vec<u8>,
    /// Whether sign-ins ask browsers to register (`[device_binding]`).
    pub enabled: bool,
    pub limits: BindingLimits,
}

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// Not a compact JWT of the draft's shape (type, algorithm, claims).
    Malformed,
    /// The signature is not the session's key's (or, at registration, the
    /// key it carries).
    BadSignature,
}

/// A proof whose signature checked: its challenge, and at registration the
/// key it was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jti: String,
    pub x: String,
    pub y: String,
}

/// The kinds of challenge, sealed into each so one cannot stand for the
/// other.
#[derive(Clone, Copy)]
enum Kind {
    Registration,
    Refresh,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Registration => "r",
            Kind::Refresh => "f",
        }
    }
}

impl Dbsc {
    pub fn new(key: Vec<u8>, config: &sekisho_config::Config) -> Dbsc {
        Dbsc {
            key,
            enabled: config.device_binding.enabled,
            limits: config.device_binding.limits,
        }
    }

    /// What the session's binding says of a request carrying `bound` (the
    /// bound cookie, when it came once) at `now`.
    pub fn check(&self, live: &Live, bound: Option<&str>, now: UnixTime) -> BindingCheck {
        let s = &live.view.session;
        let standing = match &s.binding {
            Some(b) => BindingStanding::Bound {
                bound_at: b.bound_at,
                fresh: bound.is_some_and(|c| self.bound_cookie_fresh(c, &live.id_hash, b, now)),
            },
            // The requirement holds only where this gateway offers binding.
            None if self.enabled
                && binding::required_of(live.view.user.role, live.view.tenant.binding_required) =>
            {
                BindingStanding::UnboundRequired {
                    started_at: s.created_at,
                }
            }
            None => BindingStanding::Unbound,
        };
        binding::check(standing, self.limits, now)
    }

    fn seal(&self, purpose: &str, parts: &[&str]) -> String {
        let mac = crypto::keyed_bytes(&self.key, purpose, parts);
        B64.encode(&mac[..18])
    }

    fn challenge(&self, kind: Kind, id_hash: &str, count: u64, now: UnixTime) -> String {
        let (count, now) = (count.to_string(), now.to_string());
        let mac = self.seal("dbsc-challenge", &[kind.tag(), id_hash, &count, &now]);
        format!("{}.{count}.{now}.{mac}", kind.tag())
    }

    /// The refresh count a live challenge of `kind` for this session was
    /// issued at; `None` for anything else (forged, another session's,
    /// expired).
    fn challenge_count(
        &self,
        kind: Kind,
        challenge: &str,
        id_hash: &str,
        now: UnixTime,
    ) -> Option<u64> {
        let mut parts = challenge.splitn(4, '.');
        let (tag, count, issued, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if tag != kind.tag() {
            return None;
        }
        let expected = self.seal("dbsc-challenge", &[tag, id_hash, count, issued]);
        if !crypto::same(&expected, mac) {
            return None;
        }
        let issued_at: UnixTime = issued.parse().ok()?;
        binding::challenge_live(issued_at, self.limits, now).then_some(())?;
        count.parse().ok()
    }

    /// The `Secure-Session-Registration` header a sign-in answers with:
    /// ES256 only, the registration path, a challenge for this session.
    pub fn registration_header(&self, id_hash: &str, now: UnixTime) -> String {
        let challenge = self.challenge(Kind::Registration, id_hash, 0, now);
        format!(
            "(ES256);path=\"{}\";challenge=\"{challenge}\"",
            paths::DBSC_REGISTER
        )
    }

    /// Whether `jti` is a live registration challenge of this session.
    pub fn registration_challenge_ok(&self, jti: &str, id_hash: &str, now: UnixTime) -> bool {
        self.challenge_count(Kind::Registration, jti, id_hash, now) == Some(0)
    }

    /// A `Secure-Session-Challenge` value for the binding's next refresh.
    pub fn challenge_header(
        &self,
        id_hash: &str,
        binding: &SessionBinding,
        now: UnixTime,
    ) -> String {
        let challenge = self.challenge(Kind::Refresh, id_hash, binding.refreshes, now);
        format!("\"{challenge}\";id=\"{}\"", binding.id)
    }

    /// The refresh count a live refresh challenge of this session names.
    pub fn refresh_challenge_count(&self, jti: &str, id_hash: &str, now: UnixTime) -> Option<u64> {
        self.challenge_count(Kind::Refresh, jti, id_hash, now)
    }

    /// A bound cookie's value for this session and binding, and its life.
    pub fn bound_cookie(&self, id_hash: &str, b: &SessionBinding, now: UnixTime) -> (String, i64) {
        let life = self.limits.cookie_seconds;
        let expires = (now + life).to_string();
        let mac = self.seal("dbsc-bound", &[id_hash, &b.id, &expires]);
        (format!("{expires}.{mac}"), life)
    }

    fn bound_cookie_fresh(
        &self,
        value: &str,
        id_hash: &str,
        b: &SessionBinding,
        now: UnixTime,
    ) -> bool {
        let Some((expires, mac)) = value.split_once('.') else {
            return false;
        };
        let Ok(expires_at) = expires.parse::<UnixTime>() else {
            return false;
        };
        binding::cookie_fresh(expires_at, self.limits, now)
            && crypto::same(&self.seal("dbsc-bound", &[id_hash, &b.id, expires]), mac)
    }
}

/// The value of a structured-field string header (`"…"`, parameters
/// ignored), or the bare value a lenient client sends.
pub fn sf_string(value: &str) -> Option<&str> {
    let value = value.trim();
    let value = match value.strip_prefix('"') {
        Some(rest) => &rest[..rest.find('"')?],
        None => value.split(';').next()?.trim(),
    };
    (!value.is_empty() && value.len() <= MAX_PROOF_BYTES).then_some(value)
}

#[derive(serde::Deserialize)]
struct JwtHeader {
    alg: String,
    typ: String,
    #[serde(default)]
    jwk: Option<Jwk>,
}

#[derive(serde::Deserialize)]
struct Jwk {
    kty: String,
    crv: String,
    x: String,
    y: String,
}

#[derive(serde::Deserialize)]
struct Claims {
    jti: String,
}

fn part<T: serde::de::DeserializeOwned>(b64: &str) -> Result<T, ProofError> {
    let bytes = B64.decode(b64).map_err(|_| ProofError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed)
}

fn verifying_key(x: &str, y: &str) -> Result<VerifyingKey, ProofError> {
    let (x, y) = (
        B64.decode(x).map_err(|_| ProofError::Malformed)?,
        B64.decode(y).map_err(|_| ProofError::Malformed)?,
    );
    let coordinate = |v: Vec<u8>| -> Result<p256::FieldBytes, ProofError> {
        let bytes: [u8; 32] = v.try_into().map_err(|_| ProofError::Malformed)?;
        Ok(bytes.into())
    };
    let point =
        p256::EncodedPoint::from_affine_coordinates(&coordinate(x)?, &coordinate(y)?, false);
    VerifyingKey::from_encoded_point(&point).map_err(|_| ProofError::Malformed)
}

/// Checks a proof (`Secure-Session-Response`): a compact JWT of type
/// `dbsc+jwt`, ES256, signed by `key` (a refresh: the session's) or, with
/// no key given (a registration), by the key its header carries.
pub fn verify_proof(jwt: &str, key: Option<(&str, &str)>) -> Result<Proof, ProofError> {
    if jwt.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed);
    }
    let mut parts = jwt.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header: JwtHeader = part(h)?;
    let claims: Claims = part(p)?;
    if header.alg != "ES256" || !header.typ.eq_ignore_ascii_case("dbsc+jwt") {
        return Err(ProofError::Malformed);
    }
    let (x, y) = match (key, &header.jwk) {
        (Some((x, y)), _) => (x.to_string(), y.to_string()),
        (None, Some(jwk)) if jwk.kty == "EC" && jwk.crv == "P-256" => {
            (jwk.x.clone(), jwk.y.clone())
        }
        (None, _) => return Err(ProofError::Malformed),
    };
    let verifying = verifying_key(&x, &y)?;
    let sig = B64.decode(s).map_err(|_| ProofError::Malformed)?;
    let sig = Signature::from_slice(&sig).map_err(|_| ProofError::Malformed)?;
    let signed = &jwt[..h.len() + 1 + p.len()];
    verifying
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| ProofError::BadSignature)?;
    if claims.jti.is_empty() {
        return Err(ProofError::Malformed);
    }
    Ok(Proof {
        jti: claims.jti,
        x,
        y,
    })
}

/// The session instructions (the draft's JSON) of a bound session: its
/// identifier, the refresh path, the whole origin as its scope but the
/// static assets, and the bound cookie.
pub fn instructions(binding_id: &str, origin: &str, cookie_name: &str, secure: bool) -> String {
    let attributes = if secure {
        "Path=/; Secure; HttpOnly; SameSite=Lax"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    };
    serde_json::json!({
        "session_identifier": binding_id,
        "refresh_url": paths::DBSC_REFRESH,
        "scope": {
            "origin": origin,
            "include_site": false,
            "scope_specification": [
                { "type": "exclude", "domain": "*", "path": paths::STATIC_PREFIX },
            ],
        },
        "credentials": [
            { "type": "cookie", "name": cookie_name, "attributes": attributes },
        ],
    })
    .to_string()
}

/// The instructions that end a browser's bound session (its sign-in
/// session is gone, or is another's).
pub fn ended(binding_id: &str) -> String {
    serde_json::json!({ "session_identifier": binding_id, "continue": false }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::SigningKey;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
    }

    fn jwk(k: &SigningKey) -> (String, String) {
        let point = k.verifying_key().to_encoded_point(false);
        (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        )
    }

    fn proof(k: &SigningKey, jti: &str, with_key: bool) -> String {
        let (x, y) = jwk(k);
        let mut header = serde_json::json!({"alg": "ES256", "typ": "dbsc+jwt"});
        if with_key {
            header["jwk"] = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
        }
        let signed = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::json!({ "jti": jti }).to_string())
        );
        let sig: Signature = k.sign(signed.as_bytes());
        format!("{signed}.{}", B64.encode(sig.to_bytes()))
    }

    fn dbsc() -> Dbsc {
        Dbsc {
            key: vec![1; 32],
            enabled: true,
            limits: BindingLimits {
                cookie_seconds: 600,
                challenge_seconds: 300,
                grace_seconds: 60,
                registration_window_seconds: 60,
            },
        }
    }

    fn bound() -> SessionBinding {
        SessionBinding {
            id: "b1".into(),
            x: String::new(),
            y: String::new(),
            bound_at: 1000,
            refreshes: 3,
        }
    }

    #[test]
    fn s62_a_proof_checks_against_its_own_or_the_sessions_key() {
        let k = key();
        let p = verify_proof(&proof(&k, "c1", true), None).unwrap();
        assert_eq!(p.jti, "c1");
        let (x, y) = jwk(&k);
        assert_eq!((p.x.clone(), p.y.clone()), (x.clone(), y.clone()));
        assert!(verify_proof(&proof(&k, "c2", false), Some((&x, &y))).is_ok());
        let other = SigningKey::from_bytes(&[9u8; 32].into()).unwrap();
        assert_eq!(
            verify_proof(&proof(&other, "c2", false), Some((&x, &y))),
            Err(ProofError::BadSignature),
            "a foreign key"
        );
        assert_eq!(
            verify_proof(&proof(&k, "c3", false), None),
            Err(ProofError::Malformed),
            "a registration carries its key"
        );
        for bad in ["", "a.b", "a.b.c.d", "x.y.z", &"a".repeat(5000)] {
            assert_eq!(
                verify_proof(bad, None),
                Err(ProofError::Malformed),
                "{bad:.20}"
            );
        }
        // A tampered claim breaks the signature.
        let good = proof(&k, "c4", false);
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged = B64.encode(r#"{"jti":"c5"}"#);
        parts[1] = &forged;
        assert_eq!(
            verify_proof(&parts.join("."), Some((&x, &y))),
            Err(ProofError::BadSignature)
        );
    }

    #[test]
    fn s62_challenges_are_the_sessions_own_and_short_lived() {
        let d = dbsc();
        let header = d.registration_header("h1", 1000);
        let challenge = header
            .split("challenge=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        assert!(d.registration_challenge_ok(challenge, "h1", 1299));
        assert!(
            !d.registration_challenge_ok(challenge, "h1", 1300),
            "expired"
        );
        assert!(
            !d.registration_challenge_ok(challenge, "h2", 1000),
            "another session's"
        );
        let refresh = d.challenge_header("h1", &bound(), 1000);
        let value = sf_string(&refresh).unwrap();
        assert!(refresh.ends_with(";id=\"b1\""));
        assert_eq!(d.refresh_challenge_count(value, "h1", 1001), Some(3));
        assert_eq!(d.refresh_challenge_count(value, "h2", 1001), None);
        assert!(
            !d.registration_challenge_ok(value, "h1", 1001),
            "kinds differ"
        );
        assert_eq!(d.refresh_challenge_count(challenge, "h1", 1001), None);
        let forged = value.replacen(".3.", ".4.", 1);
        assert_eq!(d.refresh_challenge_count(&forged, "h1", 1001), None);
    }

    #[test]
    fn s62_a_bound_cookie_is_the_sessions_and_expires() {
        let d = dbsc();
        let (value, life) = d.bound_cookie("h1", &bound(), 1000);
        assert_eq!(life, 600);
        assert!(d.bound_cookie_fresh(&value, "h1", &bound(), 1599));
        assert!(!d.bound_cookie_fresh(&value, "h1", &bound(), 1600));
        assert!(!d.bound_cookie_fresh(&value, "h2", &bound(), 1000));
        let later = value.replacen("1600", "9600", 1);
        assert!(!d.bound_cookie_fresh(&later, "h1", &bound(), 1000));
        assert!(!d.bound_cookie_fresh("junk", "h1", &bound(), 1000));
    }

    #[test]
    fn structured_strings_are_read_leniently() {
        assert_eq!(sf_string("\"abc\";x=1"), Some("abc"));
        assert_eq!(sf_string(" abc "), Some("abc"));
        assert_eq!(sf_string("\"\""), None);
        assert_eq!(sf_string("\"open"), None);
    }
}
