//! Progress and wake-ups from other replicas (PostgreSQL): one task per replica ([`follow`])
//! `LISTEN`s for the job ids every replica announces. A progress announcement of a job someone
//! follows here is read from the database and sent to this replica's event streams; a wake-up
//! (a job created, cancelled, retried, or its lease given back) wakes this replica's worker.
//! After the connection was lost and is back, the followed jobs are read again and the worker
//! woken, since what was announced meanwhile is lost. On SQLite there is nothing to follow.

use std::sync::Arc;
use std::time::Duration;

use almanac_store::notify::{Announcement, Heard};

use crate::jobs::services::Services;

/// Follows the announcements until the task is aborted; returns at once on SQLite.
pub async fn follow(svc: Arc<Services>) {
    loop {
        let mut listener = match svc.store.listen().await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for job announcements; will try again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        resync(&svc).await;
        loop {
            match listener.next().await {
                Ok(Heard::Job(Announcement::Progress, id)) => {
                    if svc.followed.contains(&id) {
                        svc.publish_local(&id).await;
                    }
                }
                Ok(Heard::Job(Announcement::Wake, id)) => {
                    svc.wake.notify_one();
                    if svc.followed.contains(&id) {
                        svc.publish_local(&id).await;
                    }
                }
                Ok(Heard::Reconnected) => {
                    tracing::info!("LISTEN connection restored; reading followed jobs again");
                    resync(&svc).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// Reads every followed job again and wakes the worker (announcements may have been missed).
async fn resync(svc: &Services) {
    svc.wake.notify_one();
    for id in svc.followed.ids() {
        svc.publish_local(&id).await;
    }
}
