//! A software passkey: what a platform authenticator sends, made here so the
//! load test can register passkeys and sign in with them through the
//! gateway's own pages at rate (budget P13). An ES256 (P-256) key, the
//! authenticator data with user presence and verification, a "none"
//! attestation in CBOR, and the JSON the login page's script posts.
//!
//! The passkey behaves as a synced one (backup eligible and backed up) and
//! reports a signature counter of 0, as synced passkeys do, so concurrent
//! logins of one user are never mistaken for a clone.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_cbor_2::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Authenticator data flags (WebAuthn §6.1).
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const BACKUP_ELIGIBLE: u8 = 0x08;
const BACKED_UP: u8 = 0x10;
const ATTESTED_CREDENTIAL: u8 = 0x40;

/// One user's passkey, as the load tool holds it.
pub struct SoftPasskey {
    pub email: String,
    credential_id: Vec<u8>,
    key: SigningKey,
    /// The user handle the gateway gave at registration (base64url).
    user_handle: String,
    rp_id: String,
    origin: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the system's random source");
    b
}

impl SoftPasskey {
    /// A new key and credential id for `email`, for the site `origin` whose
    /// RP ID is `rp_id`.
    pub fn new(email: &str, rp_id: &str, origin: &str, user_handle: &str) -> SoftPasskey {
        let key = loop {
            // A random scalar is valid but for a chance of about 2^-128.
            if let Ok(k) = SigningKey::from_bytes(&random_bytes::<32>().into()) {
                break k;
            }
        };
        SoftPasskey {
            email: email.to_string(),
            credential_id: random_bytes::<16>().to_vec(),
            key,
            user_handle: user_handle.to_string(),
            rp_id: rp_id.to_string(),
            origin: origin.to_string(),
        }
    }

    /// One line of the passkeys file: "email id key handle rp_id origin".
    /// The key is a load-test key of a load-test user, in the run's own
    /// temporary directory.
    pub fn to_line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.email,
            B64.encode(&self.credential_id),
            B64.encode(self.key.to_bytes()),
            self.user_handle,
            self.rp_id,
            self.origin
        )
    }

    pub fn parse(line: &str) -> Option<SoftPasskey> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [email, id, key, handle, rp_id, origin] = f.as_slice() else {
            return None;
        };
        let key = B64.decode(key).ok()?;
        Some(SoftPasskey {
            email: email.to_string(),
            credential_id: B64.decode(id).ok()?,
            key: SigningKey::from_slice(&key).ok()?,
            user_handle: handle.to_string(),
            rp_id: rp_id.to_string(),
            origin: origin.to_string(),
        })
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn authenticator_data(&self, flags: u8, attested: Option<Vec<u8>>) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&0u32.to_be_bytes());
        data.extend(attested.unwrap_or_default());
        data
    }

    /// The public key as a COSE_Key (EC2, ES256, P-256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().expect("x"), point.y().expect("y"));
        let map: BTreeMap<Value, Value> = [
            (Value::Integer(1), Value::Integer(2)),
            (Value::Integer(3), Value::Integer(-7)),
            (Value::Integer(-1), Value::Integer(1)),
            (Value::Integer(-2), Value::Bytes(x.to_vec())),
            (Value::Integer(-3), Value::Bytes(y.to_vec())),
        ]
        .into_iter()
        .collect();
        serde_cbor_2::to_vec(&Value::Map(map)).expect("a COSE key encodes")
    }

    /// The answer to a registration challenge (`publicKey.challenge` of
    /// the options), as the page's script posts it.
    pub fn attestation(&self, challenge: &str) -> String {
        let mut attested = vec![0u8; 16]; // AAGUID: none.
        attested.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        attested.extend_from_slice(&self.credential_id);
        attested.extend(self.cose_key());
        let flags =
            USER_PRESENT | USER_VERIFIED | BACKUP_ELIGIBLE | BACKED_UP | ATTESTED_CREDENTIAL;
        let auth_data = self.authenticator_data(flags, Some(attested));
        let object: BTreeMap<Value, Value> = [
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), Value::Map(BTreeMap::new())),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]
        .into_iter()
        .collect();
        let object = serde_cbor_2::to_vec(&Value::Map(object)).expect("an attestation encodes");
        let id = B64.encode(&self.credential_id);
        serde_json::json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", challenge)),
                "attestationObject": B64.encode(object),
                "transports": ["internal"],
            },
            "extensions": {},
        })
        .to_string()
    }

    /// The answer to a login challenge: authenticator data and an ES256
    /// signature over it and the client data's hash.
    pub fn assertion(&self, challenge: &str) -> String {
        let client_data = self.client_data("webauthn.get", challenge);
        let flags = USER_PRESENT | USER_VERIFIED | BACKUP_ELIGIBLE | BACKED_UP;
        let auth_data = self.authenticator_data(flags, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.credential_id);
        serde_json::json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": self.user_handle,
            },
            "extensions": {},
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_survives_its_line() {
        let pk = SoftPasskey::new("a@example.jp", "localhost", "http://localhost:8440", "aGFu");
        let again = SoftPasskey::parse(&pk.to_line()).unwrap();
        assert_eq!(again.to_line(), pk.to_line());
        assert!(SoftPasskey::parse("a@example.jp too few").is_none());
    }

    #[test]
    fn the_assertion_verifies_under_the_public_key() {
        use p256::ecdsa::signature::Verifier as _;
        let pk = SoftPasskey::new("a@example.jp", "localhost", "http://localhost:8440", "aGFu");
        let v: serde_json::Value = serde_json::from_str(&pk.assertion("Y2hhbGxlbmdl")).unwrap();
        let r = &v["response"];
        let data = B64
            .decode(r["authenticatorData"].as_str().unwrap())
            .unwrap();
        assert_eq!(data[..32], Sha256::digest(b"localhost")[..]);
        assert_eq!(data[32] & (USER_PRESENT | USER_VERIFIED), 0x05);
        let client = B64.decode(r["clientDataJSON"].as_str().unwrap()).unwrap();
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&client));
        let sig = Signature::from_der(&B64.decode(r["signature"].as_str().unwrap()).unwrap());
        pk.key
            .verifying_key()
            .verify(&signed, &sig.unwrap())
            .unwrap();
    }
}
