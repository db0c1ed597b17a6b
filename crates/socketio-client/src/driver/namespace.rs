//! The connection task's view of one socket: its handlers, its connection
//! state, its buffer and its pending acknowledgements.

use std::{
    collections::{HashMap, VecDeque},
    panic::AssertUnwindSafe,
    sync::atomic::Ordering,
    task::{Context, Poll},
};

use serde::Deserialize;
use socketio_protocol::{
    socket::{AckId, EncodedPacket, Event},
    Str,
};
use tokio::sync::oneshot;

use super::command::{guarded, Callback, ErrorCallback, Notify, NsCallback};
use crate::{
    ack::AckTx,
    config::{check_object, Auth},
    extract::EventParts,
    handler::{BoxFuture, BoxedHandler},
    socket::SocketContext,
    trace, DisconnectReason, Error,
};

/// Where a socket stands with its namespace.
pub(super) enum NsState {
    /// Not connected, and no `CONNECT` sent.
    Idle,
    /// Computing the `auth` payload before sending `CONNECT`.
    Authenticating(BoxFuture<serde_json::Value>),
    /// `CONNECT` sent, waiting for the answer.
    Connecting,
    Connected,
}

/// A packet emitted while disconnected.
pub(super) struct Buffered {
    pub(super) packet: EncodedPacket,
    pub(super) ack: Option<AckId>,
}

pub(super) struct PendingAck {
    tx: AckTx,
    /// Whether the packet went out; acknowledgements of packets still
    /// buffered survive a disconnection, as in the JS client.
    sent: bool,
}

/// A handler started for an event, run to completion before the next one.
struct Running {
    event: Str,
    fut: BoxFuture<Result<(), String>>,
}

#[derive(Default)]
struct Callbacks {
    connect: Option<Notify>,
    connect_error: Option<ErrorCallback>,
    disconnect: Option<Callback<DisconnectReason>>,
}

pub(super) struct Namespace {
    pub(super) ctx: SocketContext,
    handlers: HashMap<Str, BoxedHandler>,
    any: Option<BoxedHandler>,
    callbacks: Callbacks,
    pub(super) auth: Option<Auth>,
    /// Whether the user wants it connected: set by `connect`, cleared by a
    /// disconnection from either side or a refusal.
    pub(super) active: bool,
    pub(super) state: NsState,
    /// Connection state recovery: the server's private id for the session
    /// and the offset of the last event received.
    pid: Option<String>,
    offset: Option<String>,
    pub(super) buffer: VecDeque<Buffered>,
    /// Events that arrived before the server's `CONNECT` (a server that
    /// restores a session replays what was missed first).
    received: VecDeque<Event>,
    acks: HashMap<AckId, PendingAck>,
    waiters: Vec<oneshot::Sender<Result<(), Error>>>,
    running: VecDeque<Running>,
}

impl Namespace {
    pub(super) fn new(ctx: SocketContext) -> Self {
        Namespace {
            ctx,
            handlers: HashMap::new(),
            any: None,
            callbacks: Callbacks::default(),
            auth: None,
            active: false,
            state: NsState::Idle,
            pid: None,
            offset: None,
            buffer: VecDeque::new(),
            received: VecDeque::new(),
            acks: HashMap::new(),
            waiters: Vec::new(),
            running: VecDeque::new(),
        }
    }

    pub(super) fn ns(&self) -> &Str {
        &self.ctx.core.ns
    }

    pub(super) fn is_connected(&self) -> bool {
        matches!(self.state, NsState::Connected)
    }

    // ----- registration -----

    pub(super) fn on(&mut self, event: Str, handler: BoxedHandler) {
        self.handlers.insert(event, handler);
    }

    pub(super) fn off(&mut self, event: &str) {
        self.handlers.remove(event);
    }

    pub(super) fn on_any(&mut self, handler: Option<BoxedHandler>) {
        self.any = handler;
    }

    pub(super) fn set_callback(&mut self, callback: NsCallback) {
        match callback {
            NsCallback::Connect(f) => self.callbacks.connect = Some(f),
            NsCallback::ConnectError(f) => self.callbacks.connect_error = Some(f),
            NsCallback::Disconnect(f) => self.callbacks.disconnect = Some(f),
        }
    }

    pub(super) fn wait(&mut self, done: oneshot::Sender<Result<(), Error>>) {
        match self.state {
            NsState::Connected => {
                let _ = done.send(Ok(()));
            }
            _ => self.waiters.push(done),
        }
    }

    // ----- acknowledgements -----

    pub(super) fn expect_ack(&mut self, id: AckId, tx: AckTx, sent: bool) {
        self.acks.insert(id, PendingAck { tx, sent });
    }

    pub(super) fn mark_sent(&mut self, id: AckId) {
        if let Some(ack) = self.acks.get_mut(&id) {
            ack.sent = true;
        }
    }

    pub(super) fn fail_ack(&mut self, id: AckId, e: Error) {
        if let Some(ack) = self.acks.remove(&id) {
            let _ = ack.tx.send(Err(e));
        }
    }

    /// The acknowledgement of `id` arrived.
    pub(super) fn on_ack(&mut self, ack: socketio_protocol::socket::Ack) {
        match self.acks.remove(&ack.id) {
            Some(pending) => {
                let _ = pending.tx.send(Ok(crate::ack::AckReply {
                    args: ack.args,
                    attachments: ack.attachments,
                }));
            }
            None => {
                trace::debug!(ns = %self.ns(), id = ack.id, "socket.io client: acknowledgement nobody waits for")
            }
        }
    }

    /// An acknowledgement timed out or was dropped: forget it and, with
    /// `unsend`, its packet if it was not sent yet.
    pub(super) fn forget_ack(&mut self, id: AckId, unsend: bool) {
        self.acks.remove(&id);
        if !unsend {
            return;
        }
        let before = self.buffer.len();
        self.buffer.retain(|b| b.ack != Some(id));
        self.uncount(before - self.buffer.len());
    }

    /// Fails the acknowledgements of packets that went out: their answer
    /// will not come on a new connection.
    fn fail_sent_acks(&mut self) {
        let sent: Vec<AckId> = self
            .acks
            .iter()
            .filter(|(_, a)| a.sent)
            .map(|(id, _)| *id)
            .collect();
        for id in sent {
            self.fail_ack(id, Error::disconnected());
        }
    }

    /// Packets counted in `buffered` left the buffer.
    pub(super) fn uncount(&self, n: usize) {
        if n > 0 {
            self.ctx.core.buffered.fetch_sub(n, Ordering::AcqRel);
        }
    }

    // ----- lifecycle -----

    /// The server accepted the socket: `payload` is `{"sid":...,"pid":...}`.
    /// Starts the handlers of the events that came before, and returns the
    /// buffered packets to send, in order.
    pub(super) fn on_connected(&mut self, payload: Option<&str>) -> Result<Vec<Buffered>, Error> {
        #[derive(Deserialize)]
        struct ConnectAck {
            sid: String,
            #[serde(default)]
            pid: Option<String>,
        }
        let ack: ConnectAck = payload
            .and_then(|p| serde_json::from_str(p).ok())
            .ok_or_else(|| {
                Error::protocol(
                    "CONNECT without a socket id: the server may be a Socket.IO v2 server, \
                     which this v3+ client cannot talk to",
                )
            })?;
        let core = &self.ctx.core;
        let recovered = ack.pid.is_some() && ack.pid == self.pid;
        self.pid = ack.pid;
        *crate::lock(&core.id) = Some(Str::from(ack.sid));
        core.recovered.store(recovered, Ordering::Release);
        core.connected.store(true, Ordering::Release);
        self.state = NsState::Connected;
        for event in std::mem::take(&mut self.received) {
            self.dispatch(event);
        }
        let buffered: Vec<Buffered> = self.buffer.drain(..).collect();
        self.uncount(buffered.len());
        for b in &buffered {
            if let Some(id) = b.ack {
                self.mark_sent(id);
            }
        }
        Ok(buffered)
    }

    /// Runs after the buffered packets were written.
    pub(super) fn notify_connected(&mut self) {
        if let Some(f) = &self.callbacks.connect {
            guarded("connect", f);
        }
        for done in self.waiters.drain(..) {
            let _ = done.send(Ok(()));
        }
    }

    /// A connection attempt failed: tell the callback and the waiters.
    /// `refused` (by the server) also ends the socket's wish to connect.
    pub(super) fn connect_failed(&mut self, e: &Error, refused: bool) {
        if refused {
            self.active = false;
            self.state = NsState::Idle;
            self.received.clear();
            self.ctx.core.connected.store(false, Ordering::Release);
        }
        if let Some(f) = &self.callbacks.connect_error {
            guarded("connect_error", || f(e));
        }
        for done in self.waiters.drain(..) {
            let _ = done.send(Err(e.clone()));
        }
    }

    /// The socket is no longer connected, for `reason`. `active` says
    /// whether it should connect again with the next connection.
    pub(super) fn disconnected(&mut self, reason: DisconnectReason, active: bool) {
        let was_connected = self.is_connected();
        self.active = active;
        self.state = NsState::Idle;
        self.received.clear();
        self.ctx.core.connected.store(false, Ordering::Release);
        self.fail_sent_acks();
        if !active {
            for done in self.waiters.drain(..) {
                let _ = done.send(Err(Error::disconnected()));
            }
        }
        if was_connected {
            trace::debug!(ns = %self.ns(), %reason, "socket.io client: disconnected");
            if let Some(f) = &self.callbacks.disconnect {
                guarded("disconnect", || f(reason));
            }
        }
    }

    /// The `CONNECT` payload: `auth` with, once the server gave one, the
    /// recovery `pid` and `offset` (which `auth` may override, as in the JS
    /// client). `None` for a bare `CONNECT`.
    pub(super) fn connect_payload(
        &self,
        auth: &serde_json::Value,
    ) -> Result<Option<String>, Error> {
        check_object(auth)?;
        let Some(pid) = &self.pid else {
            return Ok(match auth {
                serde_json::Value::Null => None,
                _ => Some(auth.to_string()),
            });
        };
        let mut payload = serde_json::Map::new();
        payload.insert("pid".into(), pid.clone().into());
        if let Some(offset) = &self.offset {
            payload.insert("offset".into(), offset.clone().into());
        }
        if let serde_json::Value::Object(auth) = auth {
            payload.extend(auth.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Ok(Some(serde_json::Value::Object(payload).to_string()))
    }

    // ----- events -----

    /// Starts the handlers of an event; they run after those of earlier events.
    pub(super) fn dispatch(&mut self, event: Event) {
        match self.state {
            NsState::Connected => {}
            NsState::Connecting if self.active => {
                self.received.push_back(event);
                return;
            }
            _ => {
                trace::debug!(ns = %self.ns(), event = %event.name, "socket.io client: event for a socket not connected, dropped");
                return;
            }
        }
        if self.pid.is_some() {
            // With recovery on, the server appends the event's offset.
            if let Some(offset) = last_string_arg(&event.args) {
                self.offset = Some(offset);
            }
        }
        let mut parts = EventParts {
            ctx: &self.ctx,
            name: event.name,
            args: event.args,
            attachments: event.attachments,
            ack_id: event.ack_id,
        };
        let specific = self.handlers.get(&parts.name);
        if let Some(any) = &self.any {
            let fut = start(any, &mut parts);
            let event = match specific {
                Some(_) => parts.name.clone(),
                None => std::mem::take(&mut parts.name),
            };
            self.running.push_back(Running { event, fut });
        }
        match specific {
            Some(handler) => {
                let fut = start(handler, &mut parts);
                self.running.push_back(Running {
                    event: parts.name,
                    fut,
                });
            }
            None if self.any.is_none() => {
                trace::debug!(ns = %self.ns(), event = %parts.name, "socket.io client: no handler for the event");
            }
            None => {}
        }
    }

    /// Runs the handlers in order; true if one finished.
    pub(super) fn poll_handlers(&mut self, cx: &mut Context<'_>) -> bool {
        let mut finished = false;
        while let Some(running) = self.running.front_mut() {
            let polled =
                std::panic::catch_unwind(AssertUnwindSafe(|| running.fut.as_mut().poll(cx)));
            match polled {
                Ok(Poll::Pending) => break,
                Ok(Poll::Ready(Ok(()))) => {}
                Ok(Poll::Ready(Err(e))) => {
                    trace::warn!(ns = %self.ctx.core.ns, event = %running.event, error = %e, "socket.io client: handler failed");
                }
                Err(_) => {
                    trace::warn!(ns = %self.ctx.core.ns, event = %running.event, "socket.io client: handler panicked");
                }
            }
            self.running.pop_front();
            finished = true;
        }
        finished
    }
}

/// Calls a handler, turning a panic while it starts into a failure.
fn start(handler: &BoxedHandler, parts: &mut EventParts<'_>) -> BoxFuture<Result<(), String>> {
    std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(parts))).unwrap_or_else(|_| {
        Box::pin(std::future::ready(Err(
            "handler panicked while starting".to_owned()
        )))
    })
}

/// The last argument of a list, if it is a string: a JSON value that ends
/// with `"` is a string, whose opening quote is the first `"` before it
/// not escaped by an odd number of backslashes.
fn last_string_arg(args: &str) -> Option<String> {
    let args = args.trim_end();
    let bytes = args.as_bytes();
    let close = bytes.len().checked_sub(1)?;
    if bytes.get(close) != Some(&b'"') {
        return None;
    }
    let mut i = close;
    let open = loop {
        i = i.checked_sub(1)?;
        if bytes.get(i) == Some(&b'"') {
            let backslashes = bytes
                .get(..i)?
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if backslashes % 2 == 0 {
                break i;
            }
        }
    };
    let before = args.get(..open)?.trim_end();
    if !(before.is_empty() || before.ends_with(',')) {
        return None;
    }
    serde_json::from_str(args.get(open..)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_offset_argument() {
        assert_eq!(last_string_arg(r#"1,"abc""#).as_deref(), Some("abc"));
        assert_eq!(last_string_arg(r#""only""#).as_deref(), Some("only"));
        assert_eq!(
            last_string_arg(r#"{"a":"x"}, "o\"ff""#).as_deref(),
            Some("o\"ff")
        );
        assert_eq!(last_string_arg(r#"1, "a\\""#).as_deref(), Some("a\\"));
        assert_eq!(last_string_arg(r#"1,{"a":"b"}"#), None);
        assert_eq!(last_string_arg(r#"["x"]"#), None);
        assert_eq!(last_string_arg(""), None);
        assert_eq!(last_string_arg("\""), None);
        assert_eq!(last_string_arg(r#"1,2"#), None);
    }
}
