//! Admission of new jobs one at a time per spreadsheet (see `Store::admit` in [`crate::limits`]):
//! an in-process lock on SQLite, a transaction-scoped PostgreSQL advisory lock on a small pool of
//! its own otherwise.

use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};

use crate::error::StoreResult;

/// What serialises admissions.
#[derive(Debug)]
pub(crate) enum AdmissionLocks {
    /// One process: an in-process lock.
    Local(Arc<tokio::sync::Mutex<()>>),
    /// Advisory locks on connections of their own.
    Postgres(PgPool),
}

/// Held while one new job of a spreadsheet is checked and stored; dropping it lets the next in.
pub enum Admission {
    /// SQLite: the process-wide lock.
    Local(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
    /// PostgreSQL: a transaction holding `pg_advisory_xact_lock` (rolled back on drop, which
    /// releases the lock).
    Postgres(#[allow(dead_code)] Transaction<'static, Postgres>),
}

impl AdmissionLocks {
    /// Waits for the admission lock of `spreadsheet_id`.
    pub(crate) async fn lock(&self, spreadsheet_id: &str) -> StoreResult<Admission> {
        match self {
            AdmissionLocks::Local(lock) => Ok(Admission::Local(lock.clone().lock_owned().await)),
            AdmissionLocks::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(format!("admit:{spreadsheet_id}"))
                    .execute(&mut *tx)
                    .await?;
                Ok(Admission::Postgres(tx))
            }
        }
    }
}
