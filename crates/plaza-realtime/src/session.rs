//! What a connected socket carries in its extensions, set by the connect middleware
//! (`auth::authenticate`) and read by every handler.

use plaza_core::identity::Principal;

/// The authenticated caller of a socket, kept in its extensions.
#[derive(Clone)]
pub struct SocketPrincipal(pub Principal);

/// Marks a socket counted in `sockets_open`, so that its disconnect uncounts it once.
#[derive(Clone)]
pub(crate) struct Counted;
