//! The connection task: one per client, it owns the Engine.IO session, the
//! sockets' state and their handlers, and runs the reconnection loop.
//!
//! Handles talk to it through a command channel only, so that nothing on
//! the path of a packet takes a lock. Everything it waits on (the session,
//! the commands, a reconnection timer, the handlers' futures) is polled
//! from one [`Driver::poll`], which never blocks on any single one of them.

mod command;
mod namespace;

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
                    Poll::Ready(SessionEvent::Upgraded) => {
                        // Set first, so that the callback sees it in `transport()`.
                        self.shared.set_transport(Some(Transport::WebSocket));
                        trace::debug!("socket.io client: upgraded to websocket");
                        if let Some(f) = &self.manager.upgrade {
                            guarded("upgrade", || f(Transport::WebSocket));
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
                        write(phase, packet);
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
            write(phase, packet);
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

    fn any_active(&self) -> bool {
        self.namespaces.iter().any(|ns| ns.active)
    }

    fn open(&mut self, attempt: u32) {
        let config = self.config.clone();
        let timeout = config.connect_timeout;
        self.phase = Phase::Opening {
            attempt,
            fut: Box::pin(async move {
                tokio::time::timeout(timeout, Session::open(&config))
                    .await
                    .unwrap_or_else(|_| Err(Error::connect_timeout(timeout)))
            }),
        };
    }

    fn on_open(&mut self, session: Session, attempt: u32) {
        self.shared.set_transport(Some(session.transport()));
        self.decoder = Decoder::new(self.config.decode_limits);
        self.phase = Phase::Open(session);
        if attempt > 0 {
            self.backoff.reset();
            trace::debug!(attempt, "socket.io client: reconnected");
            if let Some(f) = &self.manager.reconnect {
                guarded("reconnect", || f(attempt));
            }
        }
        for slot in 0..self.namespaces.len() {
            if self.namespaces.get(slot).is_some_and(|ns| ns.active) {
                self.begin_connect(slot);
            }
        }
    }

    fn on_open_failed(&mut self, e: Error, attempt: u32) {
        trace::debug!(attempt, error = %e, "socket.io client: connection attempt failed");
        self.phase = Phase::Idle;
        if attempt > 0 {
            if let Some(f) = &self.manager.reconnect_error {
                guarded("reconnect_error", || f(&e));
            }
        }
        for ns in &mut self.namespaces {
            if ns.active && !ns.is_connected() {
                ns.connect_failed(&e, false);
            }
        }
        self.schedule_reconnect();
    }

    /// Waits before the next attempt, or gives up.
    fn schedule_reconnect(&mut self) {
        self.phase = Phase::Idle;
        if !self.config.reconnection {
            self.gave_up = true;
            return;
        }
        if self.channel_closed || !self.any_active() {
            return;
        }
        if self.backoff.attempts() >= self.config.reconnection_attempts {
            self.backoff.reset();
            self.gave_up = true;
            trace::debug!("socket.io client: reconnection failed, giving up");
            if let Some(f) = &self.manager.reconnect_failed {
                guarded("reconnect_failed", f);
            }
            return;
        }
        let delay = self.backoff.duration();
        self.phase = Phase::Waiting {
            attempt: self.backoff.attempts(),
            sleep: Box::pin(sleep(delay)),
        };
    }

    /// The session ended: every socket is disconnected, and the client
    /// reconnects if it should.
    fn on_closed(&mut self, closed: Closed) {
        let reason = closed.reason;
        match &closed.error {
            Some(e) => trace::debug!(%reason, error = %e, "socket.io client: connection closed"),
            None => trace::debug!(%reason, "socket.io client: connection closed"),
        }
        self.phase = Phase::Idle;
        self.shared.set_transport(None);
        for ns in &mut self.namespaces {
            if ns.active {
                ns.disconnected(reason, true);
            }
        }
        self.backoff.reset();
        if reason.is_reconnectable() {
            self.schedule_reconnect();
        } else {
            self.gave_up = true;
        }
    }

    /// Closes the connection once no socket wants it.
    fn check_idle(&mut self) {
        if self.any_active() {
            return;
        }
        self.backoff.reset();
        self.phase = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Open(mut session) => {
                session.start_close();
                Phase::Closing {
                    session,
                    deadline: Box::pin(sleep(CLOSE_GRACE)),
                }
            }
            closing @ Phase::Closing { .. } => closing,
            Phase::Idle | Phase::Opening { .. } | Phase::Waiting { .. } => {
                self.shared.set_transport(None);
                Phase::Idle
            }
        };
    }

    fn close_all(&mut self) {
        for slot in 0..self.namespaces.len() {
            self.leave(slot);
        }
        self.check_idle();
    }

    /// The user disconnects the socket.
    fn leave(&mut self, slot: usize) {
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        if !ns.active && matches!(ns.state, NsState::Idle) {
            return;
        }
        if matches!(ns.state, NsState::Connected | NsState::Connecting) {
            write(phase, encode_disconnect(&mut self.scratch, ns.ns()));
        }
        ns.disconnected(DisconnectReason::IoClientDisconnect, false);
    }

    // ----- Socket.IO packets -----

    /// Starts connecting a socket: computes its `auth` payload, then sends
    /// its `CONNECT`.
    fn begin_connect(&mut self, slot: usize) {
        let Some(ns) = self.namespaces.get_mut(slot) else {
            return;
        };
        match ns.auth.as_ref().unwrap_or(&self.config.auth).value() {
            AuthValue::Ready(auth) => self.send_connect(slot, &auth),
            AuthValue::Pending(fut) => ns.state = NsState::Authenticating(fut),
        }
    }

    fn send_connect(&mut self, slot: usize, auth: &serde_json::Value) {
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        match ns.connect_payload(auth) {
            Ok(payload) => {
                let packet = Packet {
                    ns: ns.ns().clone(),
                    data: PacketData::Connect(payload.map(Str::from)),
                }
                .encode(&mut self.scratch);
                ns.state = match write(phase, packet) {
                    true => NsState::Connecting,
                    false => NsState::Idle,
                };
            }
            Err(e) => {
                ns.connect_failed(&e, true);
                self.check_idle();
            }
        }
    }

    fn on_engine_packet(&mut self, packet: engine::Packet) {
        let decoded = match packet {
            engine::Packet::Message(text) => self.decoder.decode_text(text),
            engine::Packet::Binary(data) => self.decoder.decode_binary(data),
            _ => return,
        };
        match decoded {
            Ok(Some(packet)) => self.on_packet(packet),
            Ok(None) => {}
            Err(e) => {
                trace::warn!(error = %e, "socket.io client: invalid packet from the server");
                self.on_closed(Closed::with_error(
                    DisconnectReason::ParseError,
                    Error::protocol_with("invalid Socket.IO packet", e),
                ));
            }
        }
    }

    fn on_packet(&mut self, packet: Packet) {
        let Some(&slot) = self.by_path.get(&packet.ns) else {
            trace::debug!(ns = %packet.ns, "socket.io client: packet for a namespace without a socket");
            return;
        };
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        match packet.data {
            PacketData::Connect(payload) => {
                if !ns.active || !matches!(ns.state, NsState::Connecting) {
                    // Left meanwhile: tell the server.
                    if !ns.active {
                        write(phase, encode_disconnect(&mut self.scratch, ns.ns()));
                    }
                    return;
                }
                match ns.on_connected(payload.as_deref()) {
                    Ok(buffered) => {
                        for b in buffered {
                            write(phase, b.packet);
                        }
                        trace::debug!(ns = %ns.ns(), "socket.io client: connected");
                        ns.notify_connected();
                    }
                    Err(e) => {
                        ns.connect_failed(&e, true);
                        self.check_idle();
                    }
                }
            }
            PacketData::ConnectError(payload) => {
                let e = connect_error(&payload);
                trace::debug!(ns = %ns.ns(), error = %e, "socket.io client: connection refused");
                ns.connect_failed(&e, true);
                self.check_idle();
            }
            PacketData::Disconnect => {
                ns.disconnected(DisconnectReason::IoServerDisconnect, false);
                self.check_idle();
            }
            PacketData::Event(event) => ns.dispatch(event),
            PacketData::Ack(ack) => ns.on_ack(ack),
        }
    }
}

/// Queues a packet on the open session; false if there is none.
fn write(phase: &mut Phase, packet: EncodedPacket) -> bool {
    match phase {
        Phase::Open(session) => {
            for frame in packet.into_frames() {
                session.send(frame);
            }
            true
        }
        _ => false,
    }
}

/// The error of a `CONNECT_ERROR` payload: `{"message":...,"data":...}`,
/// or a plain string from old servers.
fn connect_error(payload: &str) -> Error {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut obj)) => {
            let message = match obj.remove("message") {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => "connection refused".to_owned(),
            };
            Error::rejected(message, obj.remove("data"))
        }
        Ok(serde_json::Value::String(message)) => Error::rejected(message, None),
        _ => Error::rejected(payload.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_connect_errors() {
        let e = connect_error(r#"{"message":"Not authorized","data":{"code":4}}"#);
        assert_eq!(e.message(), Some("Not authorized"));
        assert_eq!(e.data(), Some(&serde_json::json!({"code": 4})));
        let e = connect_error(r#""Invalid namespace""#);
        assert_eq!(e.message(), Some("Invalid namespace"));
        assert_eq!(e.data(), None);
    }
}
