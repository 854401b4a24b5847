//! Two-step sign-in's building blocks: authenticator-app codes (TOTP, RFC 6238: HMAC-SHA-1,
//! 6 digits, 30-second steps, one step of clock skew either way), the key that keeps their
//! secrets encrypted in the database, recovery codes, and the enrolment QR code.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::{error::AppError, server::config::Config};

/// Seconds per code (what every authenticator app assumes).
pub const STEP_SECS: u64 = 30;
/// Steps either side of the current one a code may come from: a phone's clock a little off,
/// or a code typed just as it changed (RFC 6238 §5.2 recommends one).
const SKEW_STEPS: u16 = 1;
/// 160-bit secrets, as RFC 4226 §4 recommends.
const SECRET_LEN: usize = 20;
/// The name apps show above the code.
pub const ISSUER: &str = "Tasks";
/// How many recovery codes a person gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// An authenticator app's secret in clear. Not `Serialize`, and its `Debug` is redacted: it
/// leaves the server only once, when the person enrols.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the OS random generator fails.
    pub fn generate() -> Result<Self, AppError> {
        let mut bytes = vec![0_u8; SECRET_LEN];
        getrandom::fill(&mut bytes).map_err(|e| AppError::internal("OS random generator", e))?;
        Ok(Self(bytes))
    }

    fn totp(&self, account: &str) -> Result<totp_rs::Totp, AppError> {
        // The label's `issuer:account` form has no room for a colon in either part.
        let account = account.replace(':', "_");
        totp_rs::Builder::new()
            .with_secret(self.0.clone())
            .with_digits(6)
            .with_step_duration(STEP_SECS)
            .with_skew(SKEW_STEPS)
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build()
            .map_err(|e| AppError::internal("TOTP parameters refused", e))
    }

    /// The secret as the base32 text a person types into an app that cannot scan.
    pub fn base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    /// The `otpauth://totp/Tasks:{account}?secret=…&issuer=Tasks` URI apps read from the QR code.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the URI cannot be built.
    pub fn otpauth_uri(&self, account: &str) -> Result<String, AppError> {
        self.totp(account)?
            .to_url()
            .map_err(|e| AppError::internal("otpauth URI", e))
    }

    /// The time step of the code `code` matches at `now_secs` (the current step or one either
    /// side), compared in constant time. `None` for a wrong or malformed code.
    pub fn matching_step(&self, code: &str, now_secs: u64) -> Option<u64> {
        let code = normalize_code(code)?;
        self.totp("").ok()?.check(&code, now_secs)
    }

    /// The code for `time_secs` (tests and the development tools only need it; sign-in never
    /// generates codes).
    #[cfg(test)]
    fn code_at(&self, time_secs: u64) -> String {
        self.totp("").unwrap().generate(time_secs).to_string()
    }
}

/// A code as typed: spaces and hyphens ("123 456") dropped; `None` unless 6 digits remain.
pub fn normalize_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The enrolment QR code of `uri` as an SVG image (dark modules on white, with the quiet zone
/// scanners need), drawn here: the secret never goes to a QR service.
///
/// # Errors
/// [`AppError::Internal`] if the URI is too long for a QR code.
pub fn qr_svg(uri: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::internal("QR code of the otpauth URI", e))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// Prefix of the stored form: the format's version, so a later change of cipher or key can
/// tell old rows apart.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The key TOTP secrets are encrypted with in the database (XChaCha20-Poly1305), derived by
/// HKDF-SHA256 from `TOTP_ENCRYPTION_KEY` (or, in development without one, from `JWT_SECRET`
/// under a label of its own). Each secret is bound to its account: the account id is the
/// associated data, so a row copied onto another account does not decrypt.
pub struct SecretKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// The key for `config`.
    pub fn from_config(config: &Config) -> Self {
        let (material, info): (&[u8], &[u8]) = match &config.totp_encryption_key {
            Some(key) => (key.expose(), b"tasks totp secrets v1"),
            None => (
                config.jwt_secret.expose(),
                b"tasks totp secrets v1 (development, from JWT_SECRET)",
            ),
        };
        let mut key = [0_u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(None, material).expand(info, &mut key);
        Self(XChaCha20Poly1305::new(&key.into()))
    }

    /// Encrypts `secret` for account `user_id`: `v1.` + base64url(nonce ‖ ciphertext).
    ///
    /// # Errors
    /// [`AppError::Internal`] if the OS random generator or the cipher fails.
    pub fn seal(&self, user_id: i64, secret: &TotpSecret) -> Result<String, AppError> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| AppError::internal("OS random generator", e))?;
        let aad = user_id.to_be_bytes();
        let sealed = self
            .0
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &secret.0,
                    aad: &aad,
                },
            )
            .map_err(|_| AppError::internal("TOTP secret encryption", "the cipher refused"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Decrypts a stored secret of account `user_id`. `None` when it was not sealed with this
    /// key for this account (a changed `TOTP_ENCRYPTION_KEY`, or a tampered row).
    pub fn open(&self, user_id: i64, stored: &str) -> Option<TotpSecret> {
        let raw = URL_SAFE_NO_PAD
            .decode(stored.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if raw.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let aad = user_id.to_be_bytes();
        self.0
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()
            .map(TotpSecret)
    }
}

/// Crockford's base32 alphabet in lower case: no `i`, `l`, `o` or `u`, so a code read off
/// paper is not misread.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 16 characters of 5 bits: 80 random bits per code, so its stored SHA-256 cannot be reversed
/// by trying every code.
const RECOVERY_CHARS: usize = 16;

/// A fresh set of recovery codes, as shown to the person (`xxxx-xxxx-xxxx-xxxx`).
///
/// # Errors
/// [`AppError::Internal`] if the OS random generator fails.
pub fn new_recovery_codes() -> Result<Vec<String>, AppError> {
    let mut random = [0_u8; RECOVERY_CODES * RECOVERY_CHARS];
    getrandom::fill(&mut random).map_err(|e| AppError::internal("OS random generator", e))?;
    Ok(random
        .chunks(RECOVERY_CHARS)
        .map(|chunk| {
            // 256 is a multiple of 32: taking the low 5 bits of a uniform byte is uniform.
            let chars: Vec<u8> = chunk
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)])
                .collect();
            chars
                .chunks(4)
                .map(|group| String::from_utf8_lossy(group).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect())
}

/// A recovery code as typed (any case, with or without hyphens and spaces, Crockford's
/// look-alikes `i`/`l` → `1` and `o` → `0`) in its canonical form without hyphens; `None` when it
/// cannot be one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    (code.len() == RECOVERY_CHARS && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

/// What is stored of a recovery code: the SHA-256 of its canonical form.
pub fn recovery_code_hash(canonical: &str) -> String {
    super::refresh::sha256_hex(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret ("12345678901234567890") and its 8-digit vectors,
    /// cut to our 6 digits (the last six).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(secret.code_at(time), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_matches_its_own_step_and_one_either_side_only() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_800_000_015_u64;
        let step = now / STEP_SECS;
        for offset in [-1_i64, 0, 1] {
            let at = now.checked_add_signed(offset * 30).unwrap();
            let code = secret.code_at(at);
            assert_eq!(secret.matching_step(&code, now), Some(at / STEP_SECS));
        }
        for offset in [-2_i64, 2] {
            let code = secret.code_at(now.checked_add_signed(offset * 30).unwrap());
            let matched = secret.matching_step(&code, now);
            // A random code of another step may collide with one in the window (1 in 300,000).
            assert!(matched.is_none() || matched.unwrap().abs_diff(step) <= 1);
        }
        let code = secret.code_at(now);
        assert_eq!(
            secret.matching_step(&format!("{} {}", &code[..3], &code[3..]), now),
            Some(step)
        );
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("abcdef", now), None);
    }

    fn config(key: Option<&str>) -> Config {
        let mut pairs = vec![("JWT_SECRET", "unit-test-jwt-secret-0123456789abcdef0123")];
        pairs.extend(key.map(|k| ("TOTP_ENCRYPTION_KEY", k)));
        Config::from_pairs(&pairs).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_account() {
        let key =
            SecretKey::from_config(&config(Some("unit-test-totp-key-aaaaaaaaaaaaaaaaaaaaaaaa")));
        let secret = TotpSecret::generate().unwrap();
        let sealed = key.seal(7, &secret).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(key.open(7, &sealed).unwrap().0, secret.0);
        // Another account's row, another key, a flipped byte: nothing.
        assert!(key.open(8, &sealed).is_none());
        let other =
            SecretKey::from_config(&config(Some("unit-test-totp-key-bbbbbbbbbbbbbbbbbbbbbbbb")));
        assert!(other.open(7, &sealed).is_none());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key.open(7, &String::from_utf8(tampered).unwrap()).is_none());
        assert!(key.open(7, "v1.").is_none() && key.open(7, "garbage").is_none());
        // Two seals of one secret differ (random nonces).
        assert_ne!(key.seal(7, &secret).unwrap(), sealed);
        // Development without a key: derived from JWT_SECRET, and not the same key.
        let dev = SecretKey::from_config(&config(None));
        assert!(dev.open(7, &sealed).is_none());
        assert!(dev.open(7, &dev.seal(7, &secret).unwrap()).is_some());
        assert_eq!(
            format!("{key:?}{secret:?}"),
            "SecretKey([redacted])TotpSecret([redacted])"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_readable_and_normalized() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3);
            let canonical = normalize_recovery_code(code).unwrap();
            assert_eq!(canonical, code.replace('-', ""));
            assert_eq!(
                normalize_recovery_code(&code.to_uppercase().replace('-', " ")),
                Some(canonical)
            );
        }
        assert_eq!(
            normalize_recovery_code("ILO0-aaaa-bbbb-cccc").as_deref(),
            Some("1100aaaabbbbcccc")
        );
        assert_eq!(normalize_recovery_code("too-short"), None);
        assert_eq!(normalize_recovery_code("uuuu-aaaa-bbbb-cccc"), None);
    }

    #[test]
    fn the_otpauth_uri_and_qr_code_carry_the_secret_for_the_app() {
        let secret = TotpSecret::generate().unwrap();
        let uri = secret.otpauth_uri("ada@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Tasks:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", secret.base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Tasks"), "{uri}");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert!(!svg.contains(&secret.base32()));
        assert_eq!(normalize_code(" 123-456 ").as_deref(), Some("123456"));
    }
}
