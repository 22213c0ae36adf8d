//! The signalling layer's side of a participant's media session: the handle it calls
//! (offer, answer, candidates, leave) and the events it relays.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::MediaError;
use crate::link::{Control, Reply};
use crate::room::{LeaveReason, Room};
use crate::simulcast::Quality;

/// What a participant's session tells the signalling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The server offers a renegotiation (others' tracks to receive, or to stop): send it
    /// to the client and pass its answer to [`PeerHandle::accept_answer`].
    Offer(String),
    /// ICE and DTLS are up.
    Connected,
    /// The session ended; nothing follows.
    Closed(LeaveReason),
}

struct HandleInner {
    control: mpsc::UnboundedSender<Control>,
    /// Dropped with the last handle: the session ends.
    _alive: oneshot::Sender<()>,
}

/// The signalling layer's handle on one participant's media session. Clones share the
/// session; it ends with [`PeerHandle::leave`] or when the last clone is dropped.
#[derive(Clone)]
pub struct PeerHandle {
    participant: Arc<str>,
    room: Room,
    inner: Arc<HandleInner>,
}

/// The events of one participant's session (see [`PeerEvent`]).
pub struct PeerEvents {
    pub(crate) events: mpsc::UnboundedReceiver<PeerEvent>,
}

impl PeerEvents {
    /// The next event; `None` once the session has ended and every event was read.
    pub async fn next(&mut self) -> Option<PeerEvent> {
        self.events.recv().await
    }
}

impl PeerHandle {
    pub(crate) fn new(
        participant: &str,
        room: Room,
        control: mpsc::UnboundedSender<Control>,
        alive: oneshot::Sender<()>,
    ) -> Self {
        PeerHandle {
            participant: participant.into(),
            room,
            inner: Arc::new(HandleInner { control, _alive: alive }),
        }
    }

    /// The participant id.
    pub fn participant(&self) -> &str {
        &self.participant
    }

    /// The room this session belongs to.
    pub fn room(&self) -> &Room {
        &self.room
    }

    /// Answers the client's SDP offer (the first one, or a renegotiation of its own, e.g.
    /// a camera added). Returns the SDP answer to send back.
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, MediaError> {
        let sdp = sdp.to_owned();
        self.request(|reply| Control::AcceptOffer { sdp, reply }).await
    }

    /// Completes a renegotiation the server offered ([`PeerEvent::Offer`]).
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), MediaError> {
        let sdp = sdp.to_owned();
        self.request(|reply| Control::AcceptAnswer { sdp, reply }).await
    }

    /// Adds a trickled ICE candidate of the client (`candidate:...`, with or without
    /// `a=`). An ICE-lite server learns the client's address from its checks anyway, so
    /// this is optional.
    pub async fn add_remote_candidate(&self, candidate: &str) -> Result<(), MediaError> {
        let candidate = candidate.to_owned();
        self.request(|reply| Control::AddCandidate { candidate, reply }).await
    }

    /// Asks for `publisher`'s simulcast video at `quality` (the size of its tile): the
    /// server still lowers it when the bandwidth towards this client is short. Videos not
    /// asked for come at [`Quality::High`].
    pub fn set_quality(&self, publisher: &str, quality: Quality) {
        let publisher = publisher.to_owned();
        let _ = self.inner.control.send(Control::SetQuality { publisher, quality });
    }

    /// Ends the session now (other clones included); the room reports
    /// [`crate::RoomEvent::Left`] with [`LeaveReason::Left`].
    pub fn leave(&self) {
        let _ = self.inner.control.send(Control::Leave);
    }

    #[cfg(test)]
    pub(crate) fn inject_panic(&self) {
        let _ = self.inner.control.send(Control::Panic);
    }

    async fn request<T>(&self, command: impl FnOnce(Reply<T>) -> Control) -> Result<T, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.inner.control.send(command(reply)).map_err(|_| MediaError::SessionEnded)?;
        answer.await.map_err(|_| MediaError::SessionEnded)?
    }
}
