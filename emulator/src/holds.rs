//! Holds: [`Emulator::hold_next`](crate::Emulator::hold_next) stops one response at a
//! [`HoldPoint`] *after* its effect is applied (the batch is created, the cells are written) and
//! before it is sent, so that a test can kill the client exactly between "the remote side did it"
//! and "the client learnt it". `arm` keeps an [`Armed`] hold in the state and hands out its
//! [`Hold`]; handlers call `pause` at their points.

use std::sync::Arc;

use tokio::sync::{Notify, oneshot};

use crate::faults::{Armed, HoldPoint};
use crate::state::Shared;

/// A response held at a [`HoldPoint`]. Dropping it releases the response, or disarms the hold if
/// no call has reached it yet.
pub struct Hold {
    reached: Option<oneshot::Receiver<()>>,
    release: Arc<Notify>,
    shared: Arc<Shared>,
}

impl Hold {
    /// Resolves once a call has reached the point (its effect applied, its response waiting).
    /// Returns `false` if the emulator stopped first.
    pub async fn reached(&mut self) -> bool {
        match self.reached.take() {
            Some(rx) => rx.await.is_ok(),
            None => true,
        }
    }

    /// Lets the held response go.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.shared
            .lock()
            .holds
            .retain(|armed| !Arc::ptr_eq(&armed.release, &self.release));
        self.release.notify_one();
    }
}

/// Arms a hold at `point` and returns its handle.
pub(crate) fn arm(shared: &Arc<Shared>, point: HoldPoint) -> Hold {
    let (tx, rx) = oneshot::channel();
    let release = Arc::new(Notify::new());
    shared.lock().holds.push(Armed {
        point,
        reached: Some(tx),
        release: release.clone(),
    });
    Hold {
        reached: Some(rx),
        release,
        shared: shared.clone(),
    }
}

/// Called by a handler at `point` with no lock held: waits if a hold is armed there.
pub(crate) async fn pause(shared: &Shared, point: HoldPoint) {
    let armed = {
        let mut state = shared.lock();
        state
            .holds
            .iter()
            .position(|h| h.point == point)
            .map(|i| state.holds.remove(i))
    };
    if let Some(mut armed) = armed {
        if let Some(tx) = armed.reached.take() {
            let _ = tx.send(());
        }
        armed.release.notified().await;
    }
}
