//! A [`MediaClient`] joined to a [`MediaServer`] in the same process, the caller standing
//! in for the signalling: the client's offer goes to the server, the answer back, and a
//! task relays every later server offer to the client and its answer back. The media
//! itself goes over real UDP. For tests and the benchmark; the real signalling (Socket.IO
//! events) does the same through the network.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use thiserror::Error;
use tokio::task::JoinHandle;

use crate::client::{ClientError, ClientOptions, ClientStats, MediaClient};
use crate::{LeaveReason, MediaError, MediaServer, PeerEvent, PeerHandle};

/// How long joining waits for the server's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Why joining failed.
#[derive(Debug, Error)]
pub enum LoopbackError {
    /// The server refused.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The client refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The client's socket could not be opened.
    #[error("client socket: {0}")]
    Socket(#[from] std::io::Error),
    /// The server did not answer the offer in time.
    #[error("no answer within {ANSWER_TIMEOUT:?}")]
    Timeout,
}

#[derive(Default)]
struct RelayLog {
    errors: Vec<String>,
    closed: Option<LeaveReason>,
}

/// A participant: the server-side session, the client, and the signalling relay.
pub struct LoopbackParticipant {
    /// The participant id.
    pub name: String,
    /// The server side of the session.
    pub peer: PeerHandle,
    /// The client (shared with the relay task).
    pub client: Arc<MediaClient>,
    relay: JoinHandle<()>,
    log: Arc<Mutex<RelayLog>>,
}

impl Drop for LoopbackParticipant {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

impl LoopbackParticipant {
    /// Joins `name` to `room` with a new client publishing what `options` say, and waits
    /// for the offer/answer (not for the connection: see [`ClientStats::connected`]).
    pub async fn join(
        server: &MediaServer,
        room: &str,
        name: &str,
        options: ClientOptions,
    ) -> Result<LoopbackParticipant, LoopbackError> {
        let (peer, mut events) = server.join(room, name)?;
        let client = Arc::new(MediaClient::start(options).await?);
        let offer = client.create_offer().await?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, peer.accept_offer(&offer))
            .await
            .map_err(|_| LoopbackError::Timeout)??;
        client.accept_answer(&answer).await?;
        let log = Arc::new(Mutex::new(RelayLog::default()));
        let relay = tokio::spawn({
            let (peer, client, log) = (peer.clone(), client.clone(), log.clone());
            async move {
                while let Some(event) = events.next().await {
                    match event {
                        PeerEvent::Offer(sdp) => {
                            let outcome = match client.accept_offer(&sdp).await {
                                Ok(answer) => {
                                    peer.accept_answer(&answer).await.map_err(|e| e.to_string())
                                }
                                Err(e) => Err(e.to_string()),
                            };
                            if let Err(e) = outcome {
                                lock(&log).errors.push(e);
                            }
                        }
                        PeerEvent::Closed(reason) => lock(&log).closed = Some(reason),
                        PeerEvent::Connected => {}
                    }
                }
            }
        });
        Ok(LoopbackParticipant { name: name.to_owned(), peer, client, relay, log })
    }

    /// The client's counters now.
    pub fn stats(&self) -> ClientStats {
        self.client.stats()
    }

    /// Renegotiations that failed on either side (none is expected).
    pub fn relay_errors(&self) -> Vec<String> {
        lock(&self.log).errors.clone()
    }

    /// Why the session ended, once it has.
    pub fn closed(&self) -> Option<LeaveReason> {
        lock(&self.log).closed.clone()
    }

    /// Waits until `condition` holds for the client's counters; panics with `what` and the
    /// counters after `timeout` (for tests and the benchmark's set-up).
    pub async fn expect(
        &self,
        timeout: Duration,
        what: &str,
        condition: impl Fn(&ClientStats) -> bool,
    ) -> ClientStats {
        match self.client.wait_for(timeout, condition).await {
            Ok(stats) => stats,
            Err(stats) => panic!(
                "{}: timed out waiting for {what}; renegotiation errors: {:?}; stats: {stats:#?}",
                self.name,
                self.relay_errors()
            ),
        }
    }
}

fn lock(log: &Mutex<RelayLog>) -> MutexGuard<'_, RelayLog> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
