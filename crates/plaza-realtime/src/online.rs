//! Whether a user has an open connection on any node: what the email digest asks
//! before mailing someone about what they missed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use plaza_core::ObjectId;
use plaza_core::digest::OnlineUsers;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use crate::NAMESPACES;

type Probe = dyn Fn(ObjectId) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync;

/// Asks the adapter for the sockets in the user's `user:<id>` room, in every namespace:
/// across nodes with Redis or PostgreSQL. A node that does not answer in time counts as
/// having none, and an adapter error as "online" (better a late digest than a wrong one).
#[derive(Clone)]
pub struct OnlineProbe(Arc<Probe>);

impl OnlineProbe {
    pub(crate) fn new<A: Adapter>(io: &SocketIo<A>) -> Self {
        let io = io.clone();
        OnlineProbe(Arc::new(move |user_id| {
            let io = io.clone();
            Box::pin(async move {
                let room = format!("user:{user_id}");
                for path in NAMESPACES {
                    let Some(namespace) = io.of(path) else { continue };
                    match namespace.within(room.clone()).fetch_sockets().await {
                        Ok(sockets) if sockets.is_empty() => {}
                        Ok(_) => return true,
                        Err(error) => {
                            tracing::warn!(%error, "could not ask the other nodes who is online");
                            return true;
                        }
                    }
                }
                false
            })
        }))
    }
}

#[async_trait]
impl OnlineUsers for OnlineProbe {
    async fn is_online(&self, user_id: ObjectId) -> bool {
        (self.0)(user_id).await
    }
}
