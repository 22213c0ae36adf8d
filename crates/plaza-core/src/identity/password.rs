use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::{CoreError, CoreResult};

/// Argon2id takes ~19 MiB and real CPU per call: at most this many run at once, so a
/// burst of logins queues instead of exhausting memory and blocking threads.
const CONCURRENT_HASHES: usize = 4;

async fn permit() -> CoreResult<tokio::sync::SemaphorePermit<'static>> {
    static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);
    HASHING.acquire().await.map_err(CoreError::internal)
}

/// Hashes a password with Argon2id into a PHC string, off the async runtime.
pub async fn hash(password: String) -> CoreResult<String> {
    let _permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| CoreError::internal(anyhow::anyhow!("hash password: {e}")))
    })
    .await
    .map_err(CoreError::internal)?
}

/// Checks a password against a PHC string, off the async runtime. A malformed stored
/// hash counts as a mismatch (and is logged by nobody: it cannot be told apart safely).
pub async fn verify(password: String, stored: String) -> CoreResult<bool> {
    let _permit = permit().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default().verify_password(password.as_bytes(), stored.as_str()).is_ok()
    })
    .await
    .map_err(CoreError::internal)
}

/// A valid hash of a random password, verified against when a username is unknown so
/// that "no such user" and "wrong password" take the same time.
pub(crate) async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let random = super::random_token();
            hash(random).await.unwrap_or_default()
        })
        .await
        .as_str()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let stored = super::hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("correct horse".into(), stored.clone()).await.unwrap());
        assert!(!super::verify("wrong horse".into(), stored).await.unwrap());
        assert!(!super::verify("x".into(), "not a hash".into()).await.unwrap());
    }
}
