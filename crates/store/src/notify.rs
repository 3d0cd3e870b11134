//! Job ids announced to every replica: PostgreSQL `NOTIFY` on one channel, received by each
//! replica's `LISTEN`ing [`Listener`]. A payload is a job id with a one-letter prefix saying why
//! ([`Announcement`]). On SQLite (one process) there is nothing to announce to: [`Store::announce`]
//! does nothing and [`Store::listen`] gives no listener.
//!
//! Notifications sent while a listener's connection is down are lost (sqlx's `PgListener`
//! reconnects by itself): [`Heard::Reconnected`] tells the replica to read again from the database
//! whatever it was following.

use almanac_core::ids::JobId;
use sqlx::postgres::PgListener;

use crate::pool::{Pool, on_pool};
use crate::{Store, StoreResult};

/// The channel every replica listens on.
pub const CHANNEL: &str = "almanac_jobs";

/// Why a job id is announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// Its progress changed: re-read it for the event streams that follow it.
    Progress,
    /// It may be stepped now (created, cancelled, retried, its lease given back): wake the
    /// workers — and re-read its progress.
    Wake,
}

impl Announcement {
    fn prefix(self) -> char {
        match self {
            Announcement::Progress => 'p',
            Announcement::Wake => 'w',
        }
    }
}

/// What a listener heard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A job id was announced.
    Job(Announcement, JobId),
    /// The connection was lost and is back: announcements may have been missed meanwhile.
    Reconnected,
}

/// A replica's subscription to [`CHANNEL`].
pub struct Listener(PgListener);

impl Listener {
    /// The next announcement (or a reconnection); waits as long as it takes.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] when the database cannot be reached (call again: it reconnects).
    pub async fn next(&mut self) -> StoreResult<Heard> {
        loop {
            let Some(n) = self.0.try_recv().await? else {
                return Ok(Heard::Reconnected);
            };
            let payload = n.payload();
            let kind = match payload.chars().next() {
                Some('p') => Announcement::Progress,
                Some('w') => Announcement::Wake,
                _ => continue,
            };
            return Ok(Heard::Job(kind, JobId::from(&payload[1..])));
        }
    }
}

impl Store {
    /// Announces a job id to every replica (PostgreSQL); nothing on SQLite.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] on a database failure.
    pub async fn announce(&self, why: Announcement, job_id: &JobId) -> StoreResult<()> {
        if !self.is_shared() {
            return Ok(());
        }
        let payload = format!("{}{job_id}", why.prefix());
        on_pool!(self.pool(), p => sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(p)
            .await?.rows_affected());
        Ok(())
    }

    /// A listener of the announcements (PostgreSQL: a connection of its own, `LISTEN`ing);
    /// `None` on SQLite.
    ///
    /// # Errors
    /// [`crate::StoreError::Sqlx`] when the database cannot be reached.
    pub async fn listen(&self) -> StoreResult<Option<Listener>> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Listener(listener)))
    }
}
