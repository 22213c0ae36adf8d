use std::fmt;

/// What a backend reports when a store call fails.
///
/// Backends map their driver errors into these variants inside their own crate, so the
/// core never sees a driver type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint refused the write; `constraint` names it.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The database cannot be reached now (down, restarting, pool exhausted); the
    /// same call may work later.
    #[error("the database is unavailable: {0}")]
    Unavailable(anyhow::Error),
    /// Anything else: a bad migration, a driver bug.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StoreError {
    /// Wraps any displayable backend failure as [`StoreError::Other`].
    pub fn other(error: impl fmt::Display) -> Self {
        StoreError::Other(anyhow::anyhow!("{error}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
