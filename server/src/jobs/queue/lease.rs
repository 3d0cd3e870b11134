//! A step (or a realtime run) held under a lease: [`hold`] runs the work with the lease in scope
//! (so that every store write it makes is fenced by the lease's version, see
//! `almanac_store::fence`) while a heartbeat renews the lease every
//! [`WorkerSettings::heartbeat`](crate::jobs::settings::WorkerSettings::heartbeat). When the
//! heartbeat finds the lease taken by another replica — or cannot renew it for a whole lease
//! duration (the database is unreachable, so another replica may have taken it) — the work is
//! dropped at its next `.await`: the step stops, and nothing it would still write could commit.

use std::future::Future;
use std::time::Instant;

use almanac_store::Lease;

use crate::jobs::services::Services;

/// Runs `work` under `lease` with a heartbeat; `None` when the lease was lost and the work
/// dropped.
pub async fn hold<T>(svc: &Services, lease: &Lease, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        out = almanac_store::fence::fenced(lease.clone(), work) => Some(out),
        () = heartbeat(svc, lease) => {
            metrics::counter!(crate::metrics::LEASES_LOST).increment(1);
            None
        }
    }
}

/// Renews `lease` until it is lost (then returns).
async fn heartbeat(svc: &Services, lease: &Lease) {
    let settings = &svc.settings;
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(settings.heartbeat()).await;
        match svc.store.renew_lease(lease, settings.lease).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                tracing::warn!(job_id = %lease.job_id, version = lease.version, "lease taken by another replica: stopping");
                return;
            }
            Err(e) if renewed.elapsed() >= settings.lease => {
                tracing::warn!(job_id = %lease.job_id, error = %e, "lease not renewed for a whole lease duration: stopping");
                return;
            }
            Err(e) => {
                tracing::warn!(job_id = %lease.job_id, error = %e, "cannot renew the lease; will try again");
            }
        }
    }
}

/// Gives `lease` back (the work ended), so that the job's next step may be claimed at once by
/// any replica; a failure only delays that until the lease expires.
pub async fn release(svc: &Services, lease: &Lease) {
    if let Err(e) = svc.store.release_lease(lease).await {
        tracing::warn!(job_id = %lease.job_id, error = %e, "cannot release the lease; it will expire");
    }
}
