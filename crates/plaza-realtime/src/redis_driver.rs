//! The Redis pub/sub driver for the Socket.IO adapter, on a connection that survives
//! Redis restarts.
//!
//! socketioxide-redis's own driver holds one multiplexed connection: once Redis
//! restarts, that node neither hears nor reaches the others until it is restarted. This
//! one uses redis-rs's `ConnectionManager`, which reconnects by itself and subscribes
//! again to every channel. Events published while Redis was away are lost to the other
//! nodes, so a lost connection is also reported (`gaps`): the node then closes its
//! sockets, and their clients reconnect and catch up from their last message.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, PushInfo, PushKind};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::{mpsc, watch};

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

#[derive(Clone)]
pub(crate) struct ReconnectingDriver {
    connection: ConnectionManager,
    handlers: Handlers,
    metrics: Arc<plaza_metrics::Metrics>,
}

/// The driver's errors, as Redis reports them.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct DriverError(#[from] redis::RedisError);

fn deliver(
    push: PushInfo,
    handlers: &Handlers,
    gaps: &watch::Sender<u64>,
    metrics: &plaza_metrics::Metrics,
) {
    match push.kind {
        PushKind::Message | PushKind::SMessage if push.data.len() >= 2 => {
            let mut data = push.data.into_iter();
            let (Some(channel), Some(payload)) = (data.next(), data.next()) else { return };
            let (Ok(channel), Ok(payload)) =
                (String::from_redis_value(channel), Vec::<u8>::from_redis_value(payload))
            else {
                tracing::warn!("unreadable message from Redis pub/sub");
                return;
            };
            let sender = handlers.read().ok().and_then(|h| h.get(&channel).cloned());
            match sender {
                Some(sender) => {
                    if let Err(error) = sender.try_send((channel, payload)) {
                        tracing::warn!(%error, "Redis pub/sub queue full: event dropped");
                    }
                }
                None => tracing::debug!(channel, "message for a channel nobody listens to"),
            }
        }
        PushKind::Disconnection => {
            tracing::warn!("lost the connection to Redis; reconnecting");
            gaps.send_modify(|count| *count += 1);
            metrics.adapter_reconnected();
        }
        _ => {}
    }
}

impl ReconnectingDriver {
    /// Connects; `gaps` counts the times the connection was lost.
    pub(crate) async fn connect(
        client: redis::Client,
        gaps: watch::Sender<u64>,
        metrics: Arc<plaza_metrics::Metrics>,
    ) -> Result<Self, redis::RedisError> {
        let handlers: Handlers = Arc::new(RwLock::new(HashMap::new()));
        let for_pushes = handlers.clone();
        let metrics_for_pushes = metrics.clone();
        let config = ConnectionManagerConfig::new().set_automatic_resubscription().set_push_sender(
            move |push: PushInfo| {
                deliver(push, &for_pushes, &gaps, &metrics_for_pushes);
                Ok::<(), std::convert::Infallible>(())
            },
        );
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(ReconnectingDriver { connection, handlers, metrics })
    }

    /// Subscribes to `chan`: its messages, `size` at most waiting.
    pub(crate) async fn listen(
        &self,
        chan: String,
        size: usize,
    ) -> Result<mpsc::Receiver<ChanItem>, redis::RedisError> {
        let (sender, receiver) = mpsc::channel(size);
        if let Ok(mut handlers) = self.handlers.write() {
            handlers.insert(chan.clone(), sender);
        }
        self.connection.clone().subscribe(chan).await?;
        Ok(receiver)
    }
}

impl Driver for ReconnectingDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let mut connection = self.connection.clone();
        let started = std::time::Instant::now();
        redis::cmd("PUBLISH").arg(chan).arg(val).query_async::<()>(&mut connection).await?;
        self.metrics.adapter_published(started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        Ok(MessageStream::new(self.listen(chan, size).await?))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        if let Ok(mut handlers) = self.handlers.write() {
            handlers.remove(&chan);
        }
        self.connection.clone().unsubscribe(chan).await?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut connection = self.connection.clone();
        let (_, count): (String, u16) =
            redis::cmd("PUBSUB").arg("NUMSUB").arg(chan).query_async(&mut connection).await?;
        Ok(count)
    }
}

/// After each lost Redis connection, once Redis answers again, closes this node's
/// sockets: what the other nodes published meanwhile never reached them, and their
/// clients reconnect and catch up from their last message.
pub(crate) async fn close_sockets_after_gaps<A: Adapter>(
    driver: ReconnectingDriver,
    mut gaps: watch::Receiver<u64>,
    io: SocketIo<A>,
) {
    while gaps.changed().await.is_ok() {
        let mut connection = driver.connection.clone();
        while redis::cmd("PING").query_async::<String>(&mut connection).await.is_err() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tracing::warn!("Redis is back; closing this node's sockets so that clients catch up");
        for namespace in io.nsps() {
            if let Err(error) = namespace.local().disconnect().await {
                tracing::warn!(%error, "closing sockets after a Redis gap failed");
            }
        }
    }
}
