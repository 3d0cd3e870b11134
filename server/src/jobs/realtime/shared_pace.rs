//! The realtime pacer's buckets shared by every replica ([`StoreBudget`]): each call reserves its
//! share of the account's requests and tokens per minute in one database statement
//! (`Store::reserve_pace`) and waits as long as the database says, so that N replicas together
//! stay under the provider's limits; a 429's `retry-after` pauses them all (`Store::pause_pace`).

use std::time::Duration;

use almanac_store::Store;
use almanac_store::limits::Bucket;
use futures::future::BoxFuture;

use crate::jobs::realtime::pacer::SharedBudget;

/// The account bucket `name` (`realtime:<endpoint>`) in the store.
pub struct StoreBudget {
    store: Store,
    name: String,
}

impl StoreBudget {
    /// The bucket `name` of `store`.
    pub fn new(store: Store, name: String) -> StoreBudget {
        StoreBudget { store, name }
    }
}

impl SharedBudget for StoreBudget {
    fn reserve(
        &self,
        requests: Option<Bucket>,
        tokens: Option<(Bucket, f64)>,
    ) -> BoxFuture<'_, Duration> {
        Box::pin(async move {
            match self.store.reserve_pace(&self.name, requests, tokens).await {
                Ok(wait) => wait.unwrap_or_default(),
                Err(e) => {
                    // Unpaced for this call: the provider's 429s (retried) are the fallback.
                    tracing::warn!(error = %e, "cannot reserve in the shared pacer");
                    Duration::ZERO
                }
            }
        })
    }

    fn pause(&self, wait: Duration) {
        let (store, name) = (self.store.clone(), self.name.clone());
        tokio::spawn(async move {
            if let Err(e) = store.pause_pace(&name, wait).await {
                tracing::warn!(error = %e, "cannot share a 429's pause");
            }
        });
    }
}
