//! Refresh tokens: opaque random strings, stored only as hashes.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Random bytes per token: 256 bits, twice the 128 the OWASP session cheat sheet asks for.
const TOKEN_BYTES: usize = 32;
/// Longest string worth hashing; ours are 43 characters. Anything longer is refused unread.
const MAX_PRESENTED_LEN: usize = 256;

/// A refresh token as handed to a client. Not `Serialize`, and `Debug` is redacted: it travels
/// only in its HttpOnly cookie or the token response, never into a page or a log line.
pub struct RefreshToken(String);

impl RefreshToken {
    /// A new token from the OS random generator (base64url, no padding).
    ///
    /// # Errors
    /// [`AppError::Internal`] if the OS random generator fails.
    pub fn generate() -> Result<Self, AppError> {
        use base64::Engine;
        let mut raw = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut raw).map_err(|e| AppError::internal("OS random generator", e))?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value stored in the database.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// The stored form of a presented token, or `None` when it cannot be one of ours. SHA-256 is
/// enough here (no salt, no argon2): the input has 256 random bits, so there is nothing to
/// brute-force, and a plain hash lets the lookup use the primary key.
pub fn hash_presented(presented: &str) -> Option<String> {
    let presented = presented.trim();
    if presented.is_empty() || presented.len() > MAX_PRESENTED_LEN {
        return None;
    }
    Some(sha256_hex(presented))
}

/// SHA-256 of `text`, as lower-case hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = RefreshToken::generate().unwrap();
        let b = RefreshToken::generate().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(hash_presented(a.expose()), Some(a.hash()));
        assert_ne!(a.hash(), a.expose());
    }

    #[test]
    fn garbage_is_refused_before_hashing() {
        assert_eq!(hash_presented(""), None);
        assert_eq!(hash_presented("   "), None);
        assert_eq!(hash_presented(&"x".repeat(MAX_PRESENTED_LEN + 1)), None);
    }

    #[test]
    fn debug_output_never_contains_the_token() {
        let t = RefreshToken::generate().unwrap();
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
