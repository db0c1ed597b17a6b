//! The connection task: one per client, it owns the Engine.IO session, the
//! sockets' state and their handlers, and runs the reconnection loop.
//!
//! Handles talk to it through a command channel only, so that nothing on
//! the path of a packet takes a lock. Everything it waits on (the session,
//! the commands, a reconnection timer, the handlers' futures) is polled
//! from one [`Driver::poll`], which never blocks on any single one of them.

mod command;
mod connection;
mod namespace;
mod packets;

use std::{
    collections::HashMap,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::BytesMut;
use socketio_protocol::{
    engine,
    socket::{encode_disconnect, Decoder, EncodedPacket, Packet, PacketData},
    Str,
};
use tokio::{
    sync::mpsc,
    time::{sleep, Sleep},
};

pub(crate) use command::{Command, ManagerCallback, NsCallback};

use self::{
    command::{guarded, Callback, ErrorCallback, Notify},
    namespace::{Buffered, Namespace, NsState},
};
use crate::{
    backoff::Backoff,
    client::Shared,
    config::{AuthValue, BufferOverflow, Config},
    engine::{Closed, Session, SessionEvent},
    handler::BoxFuture,
    socket::SocketContext,
    trace, DisconnectReason, Error, Transport,
};

/// How long a closing connection may take to send its last packets.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Rounds of work in one poll before yielding to other tasks.
const ROUNDS: usize = 64;

enum Phase {
    /// No connection, and none wanted (or given up).
    Idle,
    Opening {
        attempt: u32,
        fut: BoxFuture<Result<Session, Error>>,
    },
    /// Waiting before reconnection attempt `attempt`.
    Waiting {
        attempt: u32,
        sleep: Pin<Box<Sleep>>,
    },
    Open(Session),
    Closing {
        session: Session,
        deadline: Pin<Box<Sleep>>,
    },
}

#[derive(Default)]
struct Manager {
    reconnect_attempt: Option<Callback<u32>>,
    reconnect: Option<Callback<u32>>,
    reconnect_error: Option<ErrorCallback>,
    reconnect_failed: Option<Notify>,
    upgrade: Option<Callback<Transport>>,
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    config: Arc<Config>,
    rx: mpsc::UnboundedReceiver<Command>,
    tx: mpsc::WeakUnboundedSender<Command>,
    namespaces: Vec<Namespace>,
    by_path: HashMap<Str, usize>,
    phase: Phase,
    backoff: Backoff,
    decoder: Decoder,
    manager: Manager,
    /// Reconnection is off or exhausted: stay idle until a socket asks to
    /// connect again.
    gave_up: bool,
    /// Every handle is gone: close and end.
    channel_closed: bool,
    scratch: BytesMut,
}

impl Driver {
    pub(crate) fn new(
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Command>,
        tx: mpsc::WeakUnboundedSender<Command>,
    ) -> Self {
        let config = shared.config.clone();
        Driver {
            backoff: Backoff::new(
                config.reconnection_delay,
                config.reconnection_delay_max,
                config.randomization_factor,
            ),
            decoder: Decoder::new(config.decode_limits),
            shared,
            config,
            rx,
            tx,
            namespaces: Vec::new(),
            by_path: HashMap::new(),
            phase: Phase::Idle,
            manager: Manager::default(),
            gave_up: false,
            channel_closed: false,
            scratch: BytesMut::new(),
        }
    }

    /// Runs until every handle is dropped and the connection is closed.
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
        trace::debug!("socket.io client: connection task ended");
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..ROUNDS {
            let mut progress = self.poll_commands(cx);
            progress |= self.poll_phase(cx);
            progress |= self.poll_auth(cx);
            for ns in &mut self.namespaces {
                progress |= ns.poll_handlers(cx);
            }
            if self.channel_closed && matches!(self.phase, Phase::Idle) {
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
        // Still busy: let other tasks run, and come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn poll_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        while !self.channel_closed {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(command)) => self.command(command),
                Poll::Ready(None) => {
                    self.channel_closed = true;
                    self.close_all();
                }
                Poll::Pending => break,
            }
            progress = true;
        }
        progress
    }

    fn poll_phase(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.phase {
            Phase::Idle => {
                let wanted = !self.gave_up && !self.channel_closed && self.any_active();
                if wanted {
                    self.open(0);
                }
                wanted
            }
            Phase::Opening { attempt, fut } => {
                let attempt = *attempt;
                match fut.as_mut().poll(cx) {
                    Poll::Ready(Ok(session)) => self.on_open(session, attempt),
                    Poll::Ready(Err(e)) => self.on_open_failed(e, attempt),
                    Poll::Pending => return false,
                }
                true
            }
            Phase::Waiting { attempt, sleep } => {
                if sleep.as_mut().poll(cx).is_pending() {
                    return false;
                }
                let attempt = *attempt;
                trace::debug!(attempt, "socket.io client: reconnection attempt");
                if let Some(f) = &self.manager.reconnect_attempt {
                    guarded("reconnect_attempt", || f(attempt));
                }
                self.open(attempt);
                true
            }
            Phase::Open(session) => {
                match session.poll_next(cx) {
                    Poll::Ready(SessionEvent::Packet(packet)) => self.on_engine_packet(packet),
                    Poll::Ready(SessionEvent::Upgraded(transport)) => {
                        // Set first, so that the callback sees it in `transport()`.
                        self.shared.set_transport(Some(transport));
                        trace::debug!(transport = transport.as_str(), "socket.io client: upgraded");
                        if let Some(f) = &self.manager.upgrade {
                            guarded("upgrade", || f(transport));
                        }
                    }
                    Poll::Ready(SessionEvent::Closed(closed)) => self.on_closed(closed),
                    Poll::Pending => return false,
                }
                true
            }
            Phase::Closing { session, deadline } => {
                let done =
                    session.poll_close(cx).is_ready() || deadline.as_mut().poll(cx).is_ready();
                if done {
                    self.phase = Phase::Idle;
                    self.shared.set_transport(None);
                }
                done
            }
        }
    }

    /// Sends the `CONNECT` of sockets whose `auth` payload is now computed.
    fn poll_auth(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        for slot in 0..self.namespaces.len() {
            let Some(ns) = self.namespaces.get_mut(slot) else {
                continue;
            };
            let NsState::Authenticating(fut) = &mut ns.state else {
                continue;
            };
            match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Ready(auth)) => self.send_connect(slot, &auth),
                Err(_) => {
                    ns.connect_failed(&Error::config("the auth function panicked"), true);
                    self.check_idle();
                }
            }
            progress = true;
        }
        progress
    }

    // ----- commands -----

    fn command(&mut self, command: Command) {
        match command {
            Command::Register(core) => {
                let slot = core.slot;
                if slot != self.namespaces.len() {
                    trace::warn!(slot, "socket.io client: socket registered out of order");
                    return;
                }
                self.by_path.insert(core.ns.clone(), slot);
                let ctx = SocketContext::new(core, self.shared.clone(), self.tx.clone());
                self.namespaces.push(Namespace::new(ctx));
            }
            Command::Connect { slot, done } => {
                let Some(ns) = self.namespaces.get_mut(slot) else {
                    let _ = done.send(Err(Error::closed()));
                    return;
                };
                ns.wait(done);
                self.gave_up = false;
                let start = !ns.active || matches!(ns.state, NsState::Idle);
                ns.active = true;
                if start && matches!(self.phase, Phase::Open(_)) {
                    self.begin_connect(slot);
                }
            }
            Command::Disconnect { slot } => {
                self.leave(slot);
                self.check_idle();
            }
            Command::CloseAll => self.close_all(),
            Command::Emit {
                slot,
                packet,
                ack,
                volatile,
                counted,
            } => self.emit(slot, packet, ack, volatile, counted),
            Command::Ack { slot, packet } => {
                let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
                match namespaces.get(slot) {
                    Some(ns) if ns.is_connected() => {
                        packets::write(self.config.parser, phase, packet);
                    }
                    _ => trace::debug!(
                        slot,
                        "socket.io client: acknowledgement after a disconnection, dropped"
                    ),
                }
            }
            Command::ForgetAck { slot, id, unsend } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.forget_ack(id, unsend);
                }
            }
            Command::On {
                slot,
                event,
                handler,
            } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.on(event, handler);
                }
            }
            Command::Off { slot, event } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.off(&event);
                }
            }
            Command::OnAny { slot, handler } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.on_any(handler);
                }
            }
            Command::Callback { slot, callback } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.set_callback(callback);
                }
            }
            Command::SetAuth { slot, auth } => {
                if let Some(ns) = self.namespaces.get_mut(slot) {
                    ns.auth = Some(auth);
                }
            }
            Command::Manager(callback) => match callback {
                ManagerCallback::ReconnectAttempt(f) => self.manager.reconnect_attempt = Some(f),
                ManagerCallback::Reconnect(f) => self.manager.reconnect = Some(f),
                ManagerCallback::ReconnectError(f) => self.manager.reconnect_error = Some(f),
                ManagerCallback::ReconnectFailed(f) => self.manager.reconnect_failed = Some(f),
                ManagerCallback::Upgrade(f) => self.manager.upgrade = Some(f),
            },
        }
    }

    /// Sends the packet if the socket is connected; else buffers it (or
    /// drops it if volatile), within the configured bound.
    fn emit(
        &mut self,
        slot: usize,
        packet: EncodedPacket,
        ack: Option<(u64, crate::ack::AckTx)>,
        volatile: bool,
        counted: bool,
    ) {
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        if ns.is_connected() {
            if let Some((id, tx)) = ack {
                ns.expect_ack(id, tx, true);
            }
            packets::write(self.config.parser, phase, packet);
            if counted {
                ns.uncount(1);
            }
            return;
        }
        if volatile {
            if let Some((_, tx)) = ack {
                let _ = tx.send(Err(Error::disconnected()));
            }
            trace::debug!(ns = %ns.ns(), "socket.io client: volatile packet dropped while disconnected");
            return;
        }
        let ack_id = ack.as_ref().map(|(id, _)| *id);
        if let Some((id, tx)) = ack {
            ns.expect_ack(id, tx, false);
        }
        if !counted {
            ns.ctx
                .core
                .buffered
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        let max = self.config.max_buffered_packets;
        if ns.buffer.len() >= max {
            let oldest = match self.config.buffer_overflow {
                BufferOverflow::DropOldest if max > 0 => ns.buffer.pop_front(),
                _ => None,
            };
            let dropped_ack = match &oldest {
                Some(oldest) => oldest.ack,
                None => ack_id,
            };
            ns.uncount(1);
            if let Some(id) = dropped_ack {
                ns.fail_ack(id, Error::buffer_full(max));
            }
            trace::warn!(ns = %ns.ns(), max, "socket.io client: buffer full, a packet was dropped");
            if oldest.is_none() {
                return;
            }
        }
        ns.buffer.push_back(Buffered {
            packet,
            ack: ack_id,
        });
    }

    // ----- connection life cycle -----
}
