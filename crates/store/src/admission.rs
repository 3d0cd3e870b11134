//! Admission of new jobs one at a time per spreadsheet — and, when the operator caps spending per
//! user or in all, one at a time per user or in all (see `Store::admit` in [`crate::limits`]): an
//! in-process lock on SQLite, transaction-scoped PostgreSQL advisory locks on a small pool of its
//! own otherwise, taken in the order given (callers always give the widest scope first, so two
//! admissions never wait for each other crosswise).

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
    /// Waits for the admission lock of each key in turn (one transaction holds them all).
    pub(crate) async fn lock(&self, keys: &[String]) -> StoreResult<Admission> {
        match self {
            AdmissionLocks::Local(lock) => Ok(Admission::Local(lock.clone().lock_owned().await)),
            AdmissionLocks::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for key in keys {
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(format!("admit:{key}"))
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(Admission::Postgres(tx))
            }
        }
    }
}
