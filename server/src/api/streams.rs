//! The per-user cap on open streams (`GET /jobs/{id}/events` and streamed chat turns): each open
//! stream holds a [`StreamSlot`] of its caller, given back when the stream ends or the client goes
//! away; one past `LimitSettings::streams_per_user` is refused with 429 `too_many_streams`, while
//! other users are not. With replicas on one PostgreSQL the count is the database's
//! (`almanac_store::streams`: a row per open stream, renewed while it lives, expiring a minute
//! after a replica dies), so the cap holds across replicas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use almanac_store::Store;
use axum::http::StatusCode;
use tokio::task::JoinHandle;

use crate::api::error::ApiError;

/// How long a shared slot lives unless renewed; a replica that dies holds its streams' slots no
/// longer than this.
const SHARED_SLOT_TTL: Duration = Duration::from_secs(60);

/// Open streams by caller (`sub`), at most `cap` each: counted in this process, and also in the
/// database when replicas share one (`shared`), so that the cap holds across them.
#[derive(Clone, Debug)]
pub struct StreamSlots {
    cap: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
    shared: Option<Store>,
}

/// One open stream of a caller; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    owner: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
    shared: Option<SharedSlot>,
}

/// A slot's row in the database, renewed while the stream lives.
#[derive(Debug)]
struct SharedSlot {
    id: String,
    store: Store,
    renew: JoinHandle<()>,
}

impl StreamSlots {
    /// Slots for at most `cap` open streams per caller (at least 1), counted across replicas
    /// through `store` when it is shared (PostgreSQL).
    pub fn new(cap: usize, store: Option<Store>) -> StreamSlots {
        StreamSlots {
            cap: cap.max(1),
            open: Arc::default(),
            shared: store.filter(Store::is_shared),
        }
    }

    /// 429 `too_many_streams`.
    fn refusal(&self) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: almanac_protocol::ErrorCode::TooManyStreams,
            message: format!(
                "you already have {} streams open (the most one user may): close another sidebar, or wait for a job or answer to finish",
                self.cap
            ),
        }
    }

    /// A slot for one more stream of `owner`.
    ///
    /// # Errors
    /// 429 `too_many_streams` when `owner` already holds `cap` open streams (on any replica);
    /// 500 when the shared count cannot be read.
    pub async fn take(&self, owner: &str) -> Result<StreamSlot, ApiError> {
        let mut slot = self.take_local(owner)?;
        if let Some(store) = &self.shared {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let cap = u32::try_from(self.cap).unwrap_or(u32::MAX);
            let taken = store
                .take_stream_slot(owner, &id, cap, SHARED_SLOT_TTL)
                .await
                .map_err(|e| ApiError::internal(&e))?;
            if !taken {
                return Err(self.refusal());
            }
            slot.shared = Some(SharedSlot {
                renew: tokio::spawn(renew(store.clone(), id.clone())),
                id,
                store: store.clone(),
            });
        }
        Ok(slot)
    }

    /// A slot counted in this process.
    fn take_local(&self, owner: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(owner.to_owned()).or_default();
        if *n >= self.cap {
            return Err(self.refusal());
        }
        *n += 1;
        Ok(StreamSlot {
            owner: owner.to_owned(),
            open: self.open.clone(),
            shared: None,
        })
    }
}

/// Renews a shared slot every third of its life, until aborted.
async fn renew(store: Store, id: String) {
    loop {
        tokio::time::sleep(SHARED_SLOT_TTL / 3).await;
        if let Err(e) = store.renew_stream_slot(&id, SHARED_SLOT_TTL).await {
            tracing::warn!(error = %e, "cannot renew an open stream's slot; it expires unless renewed later");
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.owner);
            }
        }
        if let Some(shared) = self.shared.take() {
            shared.renew.abort();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = shared.store.release_stream_slot(&shared.id).await {
                        tracing::warn!(error = %e, "cannot release an open stream's slot; it expires instead");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_user_past_the_cap_is_refused_and_a_closed_stream_gives_its_slot_back() {
        let slots = StreamSlots::new(2, None);
        let a1 = slots.take("a").await.unwrap();
        let _a2 = slots.take("a").await.unwrap();
        let refused = slots.take("a").await.unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code, almanac_protocol::ErrorCode::TooManyStreams);
        let _b = slots
            .take("b")
            .await
            .expect("another user has slots of their own");
        drop(a1);
        let _a3 = slots
            .take("a")
            .await
            .expect("a closed stream's slot is free again");
    }
}
