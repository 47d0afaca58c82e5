//! JSON Web Tokens for plone.restapi's `@login`: HS256 only, with a secret shared by
//! every server process through the database.
//!
//! Written on hmac + sha2 + base64, which the build already holds for PostgreSQL's
//! SCRAM authentication; a general JWT crate would bring RSA and elliptic-curve code
//! for one HMAC.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's login.
    pub sub: String,
    /// The site the token is valid on: a token of one site is worth nothing on another.
    pub site: String,
    pub fullname: String,
    /// Issued at and expiry, seconds since the epoch.
    pub iat: i64,
    pub exp: i64,
    /// Token id, for revocation at logout.
    pub jti: String,
    /// The user's token generation when it was issued: a password change, a disable
    /// or a role taken away moves the user's on, and this token stops working.
    #[serde(default)]
    pub generation: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported token algorithm")]
    Algorithm,
    #[error("invalid token signature")]
    Signature,
    #[error("expired token")]
    Expired,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Clone)]
pub struct Jwt {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jwt(***)")
    }
}

impl Jwt {
    pub fn new(secret: &[u8]) -> Self {
        Self { secret: secret.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", B64.encode(sig))
    }

    /// Seals a value for one purpose: anyone may read it, nobody can forge or alter it,
    /// and a seal made for one purpose (or a token) is worth nothing for another.
    pub fn seal(&self, purpose: &str, value: &serde_json::Value) -> String {
        let payload = B64.encode(serde_json::to_vec(value).expect("JSON serializes"));
        let mut mac = self.mac();
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        format!("{payload}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    /// The value of a seal made by [`Jwt::seal`] for `purpose`, if it holds.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<serde_json::Value> {
        let (payload, sig) = sealed.split_once('.')?;
        let mut mac = self.mac();
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        mac.verify_slice(&B64.decode(sig).ok()?).ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }

    /// Checks the signature (in constant time) and the expiry against `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwtError::Malformed);
        };
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(h).map_err(|_| JwtError::Malformed)?)
            .map_err(|_| JwtError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(JwtError::Algorithm);
        }
        let sig = B64.decode(s).map_err(|_| JwtError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| JwtError::Signature)?;
        let claims: Claims = serde_json::from_slice(&B64.decode(p).map_err(|_| JwtError::Malformed)?)
            .map_err(|_| JwtError::Malformed)?;
        if claims.exp <= now {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_hold_only_for_their_purpose_and_content() {
        let j = Jwt::new(b"secret");
        let v = serde_json::json!({"blob": "abc", "user": "marie"});
        let sealed = j.seal("kept-upload", &v);
        assert_eq!(j.open("kept-upload", &sealed), Some(v));
        assert_eq!(j.open("other", &sealed), None);
        assert_eq!(Jwt::new(b"other secret").open("kept-upload", &sealed), None);
        let (payload, sig) = sealed.split_once('.').unwrap();
        let forged = B64.encode(br#"{"blob":"xyz","user":"marie"}"#);
        assert_eq!(j.open("kept-upload", &format!("{forged}.{sig}")), None);
        assert_eq!(j.open("kept-upload", payload), None);
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "admin".into(),
            site: "demo".into(),
            fullname: String::new(),
            iat: 0,
            exp,
            jti: "j".into(),
            generation: 0,
        }
    }

    #[test]
    fn round_trips_and_checks_expiry() {
        let j = Jwt::new(b"secret");
        let t = j.sign(&claims(100));
        assert_eq!(j.verify(&t, 99).unwrap(), claims(100));
        assert_eq!(j.verify(&t, 100), Err(JwtError::Expired));
    }

    #[test]
    fn refuses_forgeries() {
        let j = Jwt::new(b"secret");
        let t = j.sign(&claims(100));
        assert_eq!(Jwt::new(b"other").verify(&t, 0), Err(JwtError::Signature));
        // Same signature, payload swapped for another user's.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut forged = claims(100);
        forged.sub = "root".into();
        parts[1] = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(j.verify(&parts.join("."), 0), Err(JwtError::Signature));
        // "alg": "none" is refused before anything else.
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), parts[1]);
        assert_eq!(j.verify(&none, 0), Err(JwtError::Algorithm));
        assert_eq!(j.verify("a.b", 0), Err(JwtError::Malformed));
        assert_eq!(j.verify("", 0), Err(JwtError::Malformed));
    }
}
