//! The per-user cap on open streams (`GET /jobs/{id}/events` and streamed chat turns): each open
//! stream holds a [`StreamSlot`] of its caller, given back when the stream ends or the client goes
//! away; one past `LimitSettings::streams_per_user` is refused with 429 `too_many_streams`, while
//! other users are not. Counted per replica, since a stream is a connection to one replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;

use crate::api::error::ApiError;

/// Open streams by caller (`sub`), at most `cap` each.
#[derive(Clone, Debug)]
pub struct StreamSlots {
    cap: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream of a caller; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    owner: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl StreamSlots {
    /// Slots for at most `cap` open streams per caller (at least 1).
    pub fn new(cap: usize) -> StreamSlots {
        StreamSlots {
            cap: cap.max(1),
            open: Arc::default(),
        }
    }

    /// A slot for one more stream of `owner`.
    ///
    /// # Errors
    /// 429 `too_many_streams` when `owner` already holds `cap` open streams.
    pub fn take(&self, owner: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(owner.to_owned()).or_default();
        if *n >= self.cap {
            return Err(ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: almanac_protocol::ErrorCode::TooManyStreams,
                message: format!(
                    "you already have {} streams open (the most one user may): close another sidebar, or wait for a job or answer to finish",
                    self.cap
                ),
            });
        }
        *n += 1;
        Ok(StreamSlot {
            owner: owner.to_owned(),
            open: self.open.clone(),
        })
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_past_the_cap_is_refused_and_a_closed_stream_gives_its_slot_back() {
        let slots = StreamSlots::new(2);
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        let refused = slots.take("a").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code, almanac_protocol::ErrorCode::TooManyStreams);
        let _b = slots
            .take("b")
            .expect("another user has slots of their own");
        drop(a1);
        let _a3 = slots
            .take("a")
            .expect("a closed stream's slot is free again");
    }
}
