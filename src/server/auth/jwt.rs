//! Access tokens: HS256 JWTs with strict, explicit validation.

use std::{fmt, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    server::{config::Config, error::StartupError},
};

/// Tokens longer than this are refused before any parsing (ours are ~300 bytes).
const MAX_TOKEN_LEN: usize = 4096;

/// The `typ` claim of access tokens. Checked on every request, so that no other token we might
/// ever sign (a password-reset link, an email confirmation) can be used as an access token.
pub const ACCESS_TOKEN_TYPE: &str = "access";
/// The `typ` claim of device tokens (the device cookie of `attempt_limits`).
pub const DEVICE_TOKEN_TYPE: &str = "device";

/// A device token's claims: which account this device signed in to (as the SHA-256 of the
/// normalized email, so the cookie does not carry the address) and the device's own id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceClaims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub iss: String,
    pub aud: String,
    /// The device id: its failed logins are counted under it.
    pub jti: String,
    pub typ: String,
}

/// Clock skew tolerated on `exp`/`nbf`. Small: our replicas share NTP time, and every second of
/// leeway is a second a stolen expired token still works (jsonwebtoken's default is 60 s).
const LEEWAY_SECS: u64 = 5;

/// The claims we sign and require.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a decimal string (RFC 7519 `sub` is a string).
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub iss: String,
    pub aud: String,
    /// Unique token id, for audit trails.
    pub jti: String,
    /// The server-side session this token belongs to; the token is accepted only while that
    /// session is live.
    pub sid: String,
    /// What kind of token this is: always [`ACCESS_TOKEN_TYPE`] for access tokens.
    pub typ: String,
}

impl Claims {
    /// The user id this token was issued to.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// A signed access token. Not `Serialize` and `Debug` is redacted: it travels only in the
/// HttpOnly cookie or a response body meant for it, never into a page or a log line.
pub struct AccessToken(String);

impl AccessToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Why a presented token was refused. Logged at debug level; clients only ever see 401.
#[derive(Debug, thiserror::Error)]
pub enum TokenRejection {
    #[error("token is empty or longer than {MAX_TOKEN_LEN} bytes")]
    Size,
    #[error("token failed validation: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("token subject is not a user id")]
    BadSubject,
    #[error("token is not an access token")]
    WrongType,
    #[error("token names no session")]
    NoSession,
}

/// Signing and verification keys plus the one validation policy every token must pass.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Builds the keys and the validation policy from the configuration.
    ///
    /// # Errors
    /// Never at present; kept fallible for key formats that can be malformed (RS/ES keys).
    pub fn new(config: &Config) -> Result<Self, StartupError> {
        let secret = config.jwt_secret.expose();
        // Pin the algorithm: a token whose header says anything else (`none`, RS256 with our
        // secret as a "public key", ...) is rejected before its signature is looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "sub", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl: config.access_token_ttl,
        })
    }

    /// How long a new token is valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a new access token for `user_id`'s session `session_id`.
    ///
    /// # Errors
    /// [`AppError::Internal`] if signing fails.
    pub fn issue(&self, user_id: i64, session_id: &str) -> Result<AccessToken, AppError> {
        let now = jsonwebtoken::get_current_timestamp();
        self.sign(&Claims {
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + self.ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session_id.to_owned(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        })
    }

    /// Signs arbitrary claims (tests use this to forge expired or mis-addressed tokens).
    ///
    /// # Errors
    /// [`AppError::Internal`] if signing fails.
    pub fn sign(&self, claims: &Claims) -> Result<AccessToken, AppError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map(AccessToken)
            .map_err(|e| AppError::internal("signing an access token failed", e))
    }

    /// Fully validates a token: size, algorithm, signature, `exp`, `nbf`, `iss`, `aud`, that
    /// `typ` says access token, that `sid` names a session and that `sub` is a user id. Whether
    /// the session is still live is the caller's check (it needs the database).
    ///
    /// # Errors
    /// [`TokenRejection`] saying why the token is not acceptable.
    pub fn verify(&self, token: &str) -> Result<(i64, Claims), TokenRejection> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenRejection::Size);
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)?.claims;
        if claims.typ != ACCESS_TOKEN_TYPE {
            return Err(TokenRejection::WrongType);
        }
        if claims.sid.is_empty() {
            return Err(TokenRejection::NoSession);
        }
        let user_id = claims.user_id().ok_or(TokenRejection::BadSubject)?;
        Ok((user_id, claims))
    }

    /// Signs a device token for the account `account_key` (the SHA-256 of its normalized
    /// email), valid for `lifetime`, under the device id `device_id`.
    ///
    /// # Errors
    /// [`AppError::Internal`] if signing fails.
    pub fn issue_device(
        &self,
        account_key: &str,
        device_id: &str,
        lifetime: Duration,
    ) -> Result<String, AppError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = DeviceClaims {
            sub: account_key.to_owned(),
            iat: now,
            nbf: now,
            exp: now + lifetime.as_secs(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: device_id.to_owned(),
            typ: DEVICE_TOKEN_TYPE.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal("signing a device token failed", e))
    }

    /// The claims of a valid device token (same checks as an access token: size, algorithm,
    /// signature, times, issuer, audience; and `typ` must say device). `None` for anything
    /// else: an invalid device cookie just means an unknown device.
    pub fn verify_device(&self, token: &str) -> Option<DeviceClaims> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let claims = decode::<DeviceClaims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        (claims.typ == DEVICE_TOKEN_TYPE && !claims.jti.is_empty()).then_some(claims)
    }

    /// Signs and verifies one token, so a broken crypto setup stops startup instead of the
    /// first login.
    ///
    /// # Errors
    /// [`StartupError::Jwt`] if the round trip fails.
    pub fn self_test(&self) -> Result<(), StartupError> {
        let token = self
            .issue(0, "self-test")
            .map_err(|_| StartupError::Jwt("signing failed".into()))?;
        match self.verify(token.expose()) {
            Ok((0, _)) => Ok(()),
            Ok(_) => Err(StartupError::Jwt("round trip changed the subject".into())),
            Err(e) => Err(StartupError::Jwt(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

    fn keys_with(secret: &str, issuer: &str, audience: &str) -> JwtKeys {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", secret),
            ("JWT_ISSUER", issuer),
            ("JWT_AUDIENCE", audience),
        ])
        .unwrap();
        JwtKeys::new(&cfg).unwrap()
    }

    fn keys() -> JwtKeys {
        keys_with(SECRET, "tasks", "tasks")
    }

    #[test]
    fn device_tokens_round_trip_and_are_never_access_tokens() {
        let keys = keys();
        let token = keys
            .issue_device("abc", "device-1", Duration::from_secs(60))
            .unwrap();
        let claims = keys.verify_device(&token).expect("valid");
        assert_eq!(
            (claims.sub.as_str(), claims.jti.as_str()),
            ("abc", "device-1")
        );
        assert!(
            keys.verify(&token).is_err(),
            "a device token is no access token"
        );
        let access = keys.issue(1, "s").unwrap();
        assert!(keys.verify_device(access.expose()).is_none());
        let other = keys_with(
            "another-secret-another-secret-another-0123",
            "tasks",
            "tasks",
        );
        assert!(
            other.verify_device(&token).is_none(),
            "signed by another key"
        );
        assert!(keys.verify_device("").is_none());
    }

    fn claims(now: u64) -> Claims {
        Claims {
            sub: "42".into(),
            iat: now,
            nbf: now,
            exp: now + 600,
            iss: "tasks".into(),
            aud: "tasks".into(),
            jti: "j".into(),
            sid: "s".into(),
            typ: ACCESS_TOKEN_TYPE.into(),
        }
    }

    /// Signs any JSON-able claims with `key`, bypassing [`JwtKeys::sign`]'s typed claims.
    fn encode_raw(claims: &impl Serialize, algorithm: Algorithm, key: &str) -> String {
        encode(
            &Header::new(algorithm),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn issued_token_round_trips() {
        let k = keys();
        let token = k.issue(7, "session-1").unwrap();
        let (id, claims) = k.verify(token.expose()).unwrap();
        assert_eq!(id, 7);
        assert_eq!(claims.iss, "tasks");
        assert_eq!(claims.sid, "session-1");
        assert_eq!(claims.typ, "access");
        assert_eq!(
            claims.exp - claims.iat,
            15 * 60,
            "default lifetime is 15 minutes"
        );
        assert!(!claims.jti.is_empty());
        k.self_test().unwrap();
    }

    #[test]
    fn expired_token_is_rejected() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let mut c = claims(now - 3600);
        c.exp = now - 60;
        let token = k.sign(&c).unwrap();
        assert!(k.verify(token.expose()).is_err());
    }

    #[test]
    fn token_not_yet_valid_is_rejected() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let mut c = claims(now);
        c.nbf = now + 600;
        assert!(k.verify(k.sign(&c).unwrap().expose()).is_err());
    }

    #[test]
    fn wrong_signature_is_rejected() {
        let other = keys_with(
            "another-secret-another-secret-another-secret",
            "tasks",
            "tasks",
        );
        let token = other.issue(42, "s").unwrap();
        assert!(keys().verify(token.expose()).is_err());
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let k = keys();
        let token = k.issue(42, "s").unwrap();
        let parts: Vec<&str> = token.expose().split('.').collect();
        let now = jsonwebtoken::get_current_timestamp();
        let mut forged = claims(now);
        forged.sub = "1".into();
        let payload = b64(serde_json::to_string(&forged).unwrap().as_bytes());
        let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
        assert!(k.verify(&tampered).is_err());
    }

    #[test]
    fn alg_none_is_rejected_in_any_spelling() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let payload = b64(serde_json::to_string(&claims(now)).unwrap().as_bytes());
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            for token in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
            ] {
                assert!(k.verify(&token).is_err(), "accepted alg {alg}: {token}");
            }
        }
    }

    #[test]
    fn other_algorithms_are_rejected_even_with_the_right_key() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let token = encode_raw(&claims(now), Algorithm::HS512, SECRET);
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let mut wrong_aud = claims(now);
        wrong_aud.aud = "someone-else".into();
        assert!(k.verify(k.sign(&wrong_aud).unwrap().expose()).is_err());
        let mut wrong_iss = claims(now);
        wrong_iss.iss = "evil".into();
        assert!(k.verify(k.sign(&wrong_iss).unwrap().expose()).is_err());
    }

    #[test]
    fn missing_required_claims_are_rejected() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        #[derive(Serialize)]
        struct NoExp<'a> {
            sub: &'a str,
            iat: u64,
            nbf: u64,
            iss: &'a str,
            aud: &'a str,
        }
        let token = encode_raw(
            &NoExp {
                sub: "42",
                iat: now,
                nbf: now,
                iss: "tasks",
                aud: "tasks",
            },
            Algorithm::HS256,
            SECRET,
        );
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn tokens_of_another_type_or_without_a_session_are_rejected() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        for typ in ["refresh", "Access", "", "password_reset"] {
            let mut c = claims(now);
            c.typ = typ.into();
            assert!(
                matches!(
                    k.verify(k.sign(&c).unwrap().expose()),
                    Err(TokenRejection::WrongType)
                ),
                "accepted typ {typ:?}"
            );
        }
        let mut c = claims(now);
        c.sid = String::new();
        assert!(matches!(
            k.verify(k.sign(&c).unwrap().expose()),
            Err(TokenRejection::NoSession)
        ));
    }

    #[test]
    fn string_typed_exp_and_missing_typ_are_rejected() {
        // GHSA-h395-gr6q-cpjc: a string `exp` must not be read as "no expiry".
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        let mut value = serde_json::to_value(claims(now)).unwrap();
        value["exp"] = serde_json::Value::String((now + 600).to_string());
        let token = encode_raw(&value, Algorithm::HS256, SECRET);
        assert!(k.verify(&token).is_err());
        let mut value = serde_json::to_value(claims(now)).unwrap();
        value.as_object_mut().unwrap().remove("typ");
        let token = encode_raw(&value, Algorithm::HS256, SECRET);
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn empty_or_guessed_keys_cannot_sign() {
        let k = keys();
        let now = jsonwebtoken::get_current_timestamp();
        for guess in ["", "secret", "tasks", "changeme", "your-256-bit-secret"] {
            let token = encode_raw(&claims(now), Algorithm::HS256, guess);
            assert!(k.verify(&token).is_err(), "accepted key {guess:?}");
        }
    }

    #[test]
    fn non_numeric_subject_is_rejected() {
        let k = keys();
        let mut c = claims(jsonwebtoken::get_current_timestamp());
        c.sub = "admin".into();
        assert!(matches!(
            k.verify(k.sign(&c).unwrap().expose()),
            Err(TokenRejection::BadSubject)
        ));
    }

    #[test]
    fn garbage_and_oversized_tokens_are_rejected() {
        let k = keys();
        for token in [
            "",
            "garbage",
            "a.b.c",
            "....",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(k.verify(token).is_err(), "accepted {token:.20}");
        }
    }

    #[test]
    fn debug_output_never_contains_the_token() {
        let token = keys().issue(1, "s").unwrap();
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
