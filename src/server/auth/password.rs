//! Password hashing with argon2id, always off the async runtime and with bounded concurrency.

use std::{fmt, sync::Arc};

use argon2::{Argon2, PasswordHasher, PasswordVerifier, password_hash};
use tokio::sync::Semaphore;

use crate::{error::AppError, server::error::StartupError};

/// An argon2id PHC string as stored in the database. Not `Serialize`, and `Debug` is redacted:
/// a hash must never reach a client or a log line.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read back from the database.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }
    /// The PHC string, for storing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// Hashes and verifies passwords.
///
/// argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1: the OWASP minimum). Each
/// computation takes tens of milliseconds of CPU, so it runs on tokio's blocking pool, never on
/// an async worker, and a semaphore caps how many run at once, so a login flood can neither
/// exhaust memory nor starve other requests of CPU.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Hash of a random password, verified against when an email is unknown so that an unknown
    /// email costs the same time as a wrong password (no account enumeration by timing).
    dummy: Arc<PasswordHash>,
}

impl Hasher {
    /// Creates the hasher and proves it works by hashing the dummy password.
    ///
    /// # Errors
    /// argon2 failed (misconfiguration or no OS randomness).
    pub async fn new(permits: Arc<Semaphore>) -> Result<Self, StartupError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| StartupError::Hasher(e.to_string()))?;
        let dummy_password: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let dummy = tokio::task::spawn_blocking(move || hash_now(&dummy_password))
            .await
            .map_err(|e| StartupError::Hasher(e.to_string()))?
            .map_err(|e| StartupError::Hasher(e.to_string()))?;
        Ok(Self {
            permits,
            dummy: Arc::new(dummy),
        })
    }

    /// Hashes a new password.
    ///
    /// # Errors
    /// [`AppError::Internal`] if argon2 or the blocking pool fails.
    pub async fn hash(&self, password: String) -> Result<PasswordHash, AppError> {
        self.run(move || hash_now(&password))
            .await?
            .map_err(|e| AppError::internal("hashing a password failed", e))
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no account, in
    /// which case the answer is always `false` but takes the same time.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the stored hash is unreadable or the blocking pool fails.
    pub async fn verify(
        &self,
        password: String,
        hash: Option<PasswordHash>,
    ) -> Result<bool, AppError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        let matches = self.run(move || verify_now(&password, &hash)).await??;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::internal("password hasher semaphore closed", e))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal("password hashing task failed", e))
    }
}

fn hash_now(password: &str) -> Result<PasswordHash, password_hash::Error> {
    // The salt (16 random bytes) is generated inside `hash_password`.
    Ok(PasswordHash(
        Argon2::default()
            .hash_password(password.as_bytes())?
            .to_string(),
    ))
}

fn verify_now(password: &str, hash: &PasswordHash) -> Result<bool, AppError> {
    // Parameters come from the stored PHC string, and the final comparison is constant-time.
    match Argon2::default().verify_password(password.as_bytes(), hash.expose()) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(AppError::internal(
            "a stored password hash could not be checked",
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn hasher() -> Hasher {
        Hasher::new(Arc::new(Semaphore::new(2))).await.unwrap()
    }

    #[tokio::test]
    async fn hash_is_argon2id_phc_with_owasp_parameters() {
        let hash = hasher()
            .await
            .hash("correct horse battery".into())
            .await
            .unwrap();
        assert!(
            hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.expose()
        );
    }

    #[tokio::test]
    async fn verify_accepts_the_right_password_only() {
        let h = hasher().await;
        let hash = h.hash("correct horse battery".into()).await.unwrap();
        assert!(
            h.verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("correct horse batterY".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify(String::new(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt_each_time() {
        let h = hasher().await;
        let a = h.hash("same password".into()).await.unwrap();
        let b = h.hash("same password".into()).await.unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let h = hasher().await;
        assert!(!h.verify("anything at all".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn corrupt_stored_hash_is_an_internal_error_not_a_match() {
        let h = hasher().await;
        let result = h
            .verify(
                "x".into(),
                Some(PasswordHash::from_stored("garbage".into())),
            )
            .await;
        assert_eq!(result, Err(AppError::Internal));
    }

    #[test]
    fn debug_is_redacted() {
        let hash = PasswordHash::from_stored("$argon2id$secret".into());
        assert!(!format!("{hash:?}").contains("argon2id"));
    }
}
