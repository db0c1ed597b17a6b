use std::{fmt, sync::Arc};

use socketio_protocol::{
    socket::{AckId, EncodedPacket},
    Str,
};
use tokio::sync::oneshot;

use crate::{
    ack::AckTx, config::Auth, handler::BoxedHandler, socket::SocketCore, DisconnectReason, Error,
    Transport,
};

/// What the handles ask of the connection task. Sockets are named by their
/// slot, their index in the order they were created.
pub(crate) enum Command {
    /// A socket was created.
    Register(Arc<SocketCore>),
    Connect {
        slot: usize,
        done: oneshot::Sender<Result<(), Error>>,
    },
    Disconnect {
        slot: usize,
    },
    CloseAll,
    Emit {
        slot: usize,
        packet: EncodedPacket,
        ack: Option<(AckId, AckTx)>,
        volatile: bool,
        /// Whether the emitter counted it in the socket's `buffered`.
        counted: bool,
    },
    /// The answer to one of the server's events.
    Ack {
        slot: usize,
        packet: EncodedPacket,
    },
    /// Nobody waits for the acknowledgement of `id` any more.
    ForgetAck {
        slot: usize,
        id: AckId,
        /// Also remove its packet if it is still buffered (a timeout);
        /// else it is sent as any other (a dropped future).
        unsend: bool,
    },
    On {
        slot: usize,
        event: Str,
        handler: BoxedHandler,
    },
    Off {
        slot: usize,
        event: Str,
    },
    OnAny {
        slot: usize,
        handler: Option<BoxedHandler>,
    },
    Callback {
        slot: usize,
        callback: NsCallback,
    },
    Manager(ManagerCallback),
    SetAuth {
        slot: usize,
        auth: Auth,
    },
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Command::Register(_) => "Register",
            Command::Connect { .. } => "Connect",
            Command::Disconnect { .. } => "Disconnect",
            Command::CloseAll => "CloseAll",
            Command::Emit { .. } => "Emit",
            Command::Ack { .. } => "Ack",
            Command::ForgetAck { .. } => "ForgetAck",
            Command::On { .. } => "On",
            Command::Off { .. } => "Off",
            Command::OnAny { .. } => "OnAny",
            Command::Callback { .. } => "Callback",
            Command::Manager(_) => "Manager",
            Command::SetAuth { .. } => "SetAuth",
        };
        f.write_str(name)
    }
}

pub(crate) type Callback<A> = Box<dyn Fn(A) + Send + Sync>;
pub(crate) type ErrorCallback = Box<dyn Fn(&Error) + Send + Sync>;
pub(crate) type Notify = Box<dyn Fn() + Send + Sync>;

/// A socket's lifecycle callback.
pub(crate) enum NsCallback {
    Connect(Notify),
    ConnectError(ErrorCallback),
    Disconnect(Callback<DisconnectReason>),
}

/// A client's (the JS `Manager`'s) lifecycle callback.
pub(crate) enum ManagerCallback {
    ReconnectAttempt(Callback<u32>),
    Reconnect(Callback<u32>),
    ReconnectError(ErrorCallback),
    ReconnectFailed(Notify),
    Upgrade(Callback<Transport>),
}

/// Runs a user callback, turning a panic into a log line: the connection
/// task must outlive any callback.
pub(crate) fn guarded(what: &str, f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        crate::trace::warn!(callback = what, "socket.io client: a callback panicked");
    }
}
