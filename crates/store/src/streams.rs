//! Open streams shared by replicas: the per-user cap on open job event streams and streamed chat
//! turns counts every replica's streams. Each open stream is a row of `open_streams` with an
//! expiry on the database's clock, renewed while the stream lives and deleted when it ends; the
//! rows of a replica that died stop counting once they expire. A user's count and insert run
//! under the admission lock `streams:<sub>`, so two replicas cannot together pass the cap.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use crate::pool::{in_tx, millis};
use crate::{Store, StoreResult};

impl Store {
    /// Takes one of `owner`'s at most `cap` open-stream slots, as `id`, until `ttl` from now on
    /// the database's clock (renew it with [`Store::renew_stream_slot`]); `false` when `owner`
    /// already holds `cap` live slots.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn take_stream_slot(
        &self,
        owner: &str,
        id: &str,
        cap: u32,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let _admission = self.admit(&[format!("streams:{owner}")]).await?;
        let now = self.pool().now_sql();
        let sweep = format!("DELETE FROM open_streams WHERE owner = $1 AND expires_at < {now}");
        let insert = format!(
            "INSERT INTO open_streams (id, owner, expires_at) SELECT $1, $2, {} \
             WHERE (SELECT COUNT(*) FROM open_streams WHERE owner = $2) < $4",
            self.pool().later_sql(3)
        );
        let taken = in_tx!(self.pool(), tx => {
            sqlx::query(AssertSqlSafe(sweep))
                .bind(owner)
                .execute(&mut *tx)
                .await?;
            sqlx::query(AssertSqlSafe(insert))
                .bind(id)
                .bind(owner)
                .bind(millis(ttl))
                .bind(i64::from(cap))
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Keeps the slot `id` until `ttl` from now.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn renew_stream_slot(&self, id: &str, ttl: Duration) -> StoreResult<()> {
        let sql = format!(
            "UPDATE open_streams SET expires_at = {} WHERE id = $2",
            self.pool().later_sql(1)
        );
        in_tx!(self.pool(), tx => sqlx::query(AssertSqlSafe(sql))
            .bind(millis(ttl))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Gives the slot `id` back.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn release_stream_slot(&self, id: &str) -> StoreResult<()> {
        in_tx!(self.pool(), tx => sqlx::query("DELETE FROM open_streams WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Store, scratch};

    /// A fresh store on each backend: SQLite in memory, and PostgreSQL when a test server is set.
    async fn backends(test: &str) -> Vec<Store> {
        let mut stores = vec![Store::connect("sqlite::memory:").await.unwrap()];
        if let Some(admin) = scratch::test_server(test) {
            let url = scratch::fresh_database(&admin, "streams").await.unwrap();
            stores.push(Store::connect(&url).await.unwrap());
        }
        stores
    }

    #[tokio::test]
    async fn a_users_open_streams_are_capped_across_replicas_and_expired_ones_stop_counting() {
        let minute = Duration::from_secs(60);
        for store in backends("a_users_open_streams_are_capped_across_replicas").await {
            assert!(store.take_stream_slot("a", "s1", 2, minute).await.unwrap());
            assert!(store.take_stream_slot("a", "s2", 2, minute).await.unwrap());
            assert!(!store.take_stream_slot("a", "s3", 2, minute).await.unwrap());
            assert!(store.take_stream_slot("b", "s4", 2, minute).await.unwrap());
            store.release_stream_slot("s1").await.unwrap();
            assert!(store.take_stream_slot("a", "s5", 2, minute).await.unwrap());
            // A slot whose replica stopped renewing it stops counting once it expires.
            store.renew_stream_slot("s2", Duration::ZERO).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(store.take_stream_slot("a", "s6", 2, minute).await.unwrap());
            assert!(!store.take_stream_slot("a", "s7", 2, minute).await.unwrap());
        }
    }
}
