//! The Engine.IO handler: decodes each connection's packets and routes them
//! to the namespace sockets multiplexed on it.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, Weak,
    },
};

use bytes::BytesMut;
use engineio_tower::{CloseReason, EngineIoHandler, Message, Sid};
use futures_util::FutureExt;
use socketio_protocol::{
    socket::{
        encode_connect, encode_connect_error, encode_connect_error_v4, encode_connect_v4,
        encode_connect_with_pid, Ack, Decoder, Event, Packet, PacketData,
    },
    Str,
};
use tokio::time::Instant;

use crate::{
    ack::AckReply,
    extract::{ConnectParts, MessageParts},
    handler::BoxFuture,
    io::ServerInner,
    metrics::Refusal,
    panic::{CatchPanic, Panic},
    trace, ConnectError, DisconnectReason, SocketRef,
};

/// An Engine.IO connection, with the Socket.IO state kept on it.
pub(crate) type Conn = engineio_tower::Socket<ClientData>;

/// What a connection holds: its packet decoder and its namespace sockets.
#[derive(Default)]
pub(crate) struct ClientData {
    decoder: Mutex<Decoder>,
    /// Each socket with its namespace's name, kept here so that routing a
    /// packet compares names without reaching into each socket.
    sockets: Mutex<Vec<(Str, SocketRef)>>,
    /// Namespaces whose session is being restored from a shared store (a
    /// round trip): a second `CONNECT` to one meanwhile is refused as one
    /// to a namespace already joined.
    restoring: Mutex<Vec<Str>>,
    joined: AtomicBool,
}

impl std::fmt::Debug for ClientData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientData").finish_non_exhaustive()
    }
}

/// Removes a socket from its connection's list.
pub(crate) fn forget(conn: &Conn, socket: &SocketRef) {
    crate::lock(&conn.data().sockets).retain(|(_, s)| s != socket);
}

/// The sockets of a connection.
pub(crate) fn sockets_of(conn: &Conn) -> Vec<SocketRef> {
    crate::lock(&conn.data().sockets)
        .iter()
        .map(|(_, s)| s.clone())
        .collect()
}

fn socket_for(conn: &Conn, ns: &str) -> Option<SocketRef> {
    crate::lock(&conn.data().sockets)
        .iter()
        .find(|(name, _)| name.as_str() == ns)
        .map(|(_, s)| s.clone())
}

/// The Engine.IO handler of a Socket.IO server.
pub(crate) struct Client {
    pub(crate) server: Arc<ServerInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl EngineIoHandler for Client {
    type Data = ClientData;

    fn on_open(&self, conn: &Conn) {
        if let Some(o) = self.server.shared.observer.get() {
            o.connection_opened(conn);
        }
        *crate::lock(&conn.data().decoder) = Decoder::new(self.server.shared.config.limits);
        // A timeout too long to represent never ends.
        let Some(deadline) = Instant::now().checked_add(self.server.shared.config.connect_timeout)
        else {
            return;
        };
        if self.server.connect_deadlines.push(deadline, conn.sid()) {
            tokio::spawn(sweep_connect_deadlines(Arc::downgrade(&self.server)));
        }
        if conn.protocol() == 3 {
            // Socket.IO protocol v4 (socket.io-client 2.x): the connection
            // joins `/` at once, with no CONNECT from the client, as Node's
            // server does.
            self.connect(conn, Str::from_static("/"), None);
        }
    }

    fn on_message(&self, conn: &Conn, msg: Message) {
        if let Some(o) = self.server.shared.observer.get() {
            o.message_received(match &msg {
                Message::Text(t) => t.len(),
                Message::Binary(b) => b.len(),
            });
        }
        let decoded = {
            let mut decoder = crate::lock(&conn.data().decoder);
            crate::parser::decode(self.server.shared.config.parser, &mut decoder, msg)
        };
        match decoded {
            Ok(Some(packet)) => self.on_packet(conn, packet),
            Ok(None) => {}
            Err(e) => {
                trace::warn!(sid = %conn.sid(), error = %e, "socket.io: undecodable packet, closing the connection");
                conn.close_with(CloseReason::ParseError);
            }
        }
    }

    fn on_close(&self, conn: &Conn, reason: CloseReason) {
        let sockets = std::mem::take(&mut *crate::lock(&conn.data().sockets));
        for (_, socket) in sockets {
            socket.close(DisconnectReason::from(reason));
        }
        if let Some(o) = self.server.shared.observer.get() {
            o.connection_closed(conn, reason);
        }
    }

    fn on_upgrade(&self, conn: &Conn) {
        if let Some(o) = self
            .server
            .shared
            .observer
            .get()
            .filter(|o| o.wants_upgrades())
        {
            o.connection_upgraded(conn, &sockets_of(conn));
        }
    }
}

impl Client {
    fn on_packet(&self, conn: &Conn, packet: Packet) {
        let Packet { ns, data } = packet;
        match data {
            PacketData::Connect(auth) if conn.protocol() == 3 => {
                // Protocol v4: the namespace's query is the auth payload.
                let (ns, query) = v3_namespace(ns);
                self.connect(conn, ns, query.or(auth));
            }
            PacketData::Connect(auth) => self.connect(conn, ns, auth),
            PacketData::Event(Event {
                name,
                args,
                ack_id,
                attachments,
            }) => match socket_for(conn, &ns) {
                Some(socket) => socket.dispatch(MessageParts {
                    event: name,
                    args,
                    attachments,
                    ack_id,
                }),
                None => invalid_state(conn, &ns, "event for a namespace not joined"),
            },
            PacketData::Ack(Ack {
                id,
                args,
                attachments,
            }) => match socket_for(conn, &ns) {
                Some(socket) => socket.on_ack(id, AckReply { args, attachments }),
                None => invalid_state(conn, &ns, "ack for a namespace not joined"),
            },
            PacketData::Disconnect => match socket_for(conn, &ns) {
                Some(socket) => socket.close(DisconnectReason::ClientNamespaceDisconnect),
                None => {
                    trace::debug!(sid = %conn.sid(), %ns, "socket.io: disconnect from a namespace not joined, ignored")
                }
            },
            PacketData::ConnectError(_) => invalid_state(conn, &ns, "connect_error"),
        }
    }

    fn connect(&self, conn: &Conn, path: Str, auth: Option<Str>) {
        let parts = ConnectParts { auth };
        let Some(ns) = self.server.namespace(&path, &parts) else {
            trace::debug!(sid = %conn.sid(), ns = %path, "socket.io: connect to an unknown namespace");
            self.server
                .shared
                .metrics
                .connect_refused(Refusal::InvalidNamespace);
            send_connect_error(
                conn,
                self.server.shared.config.parser,
                &path,
                &ConnectError::new("Invalid namespace"),
            );
            return;
        };
        if socket_for(conn, &path).is_some() || crate::lock(&conn.data().restoring).contains(&path)
        {
            // Node's server closes the connection too ("invalid state").
            invalid_state(conn, &path, "connect to a namespace already joined");
            return;
        }
        conn.data().joined.store(true, Ordering::Release);
        let Some(restoring) = restore(&ns, parts.auth.as_deref()) else {
            return admit(conn, ns, parts, None);
        };
        // The in-memory store answers at once; a store shared by servers
        // (Redis) takes a round trip, and the socket is admitted after it
        // (as Node's `_add` awaits `restoreSession`).
        let mut restoring = restoring;
        match (&mut restoring).now_or_never() {
            Some(restored) => admit(conn, ns.clone(), parts, restorable(&ns, restored)),
            None => {
                crate::lock(&conn.data().restoring).push(path.clone());
                let conn = conn.clone();
                tokio::spawn(async move {
                    let restored = restorable(&ns, restoring.await);
                    crate::lock(&conn.data().restoring).retain(|p| *p != path);
                    admit(&conn, ns, parts, restored);
                });
            }
        }
    }
}

/// Creates the socket of a CONNECT (with the session restored, if any) and
/// runs its middlewares and connect handler.
fn admit(
    conn: &Conn,
    ns: Arc<crate::ns::Namespace>,
    parts: ConnectParts,
    restored: Option<(Sid, crate::adapter::RestoredSession)>,
) {
    let (socket, missed) = match restored {
        Some((id, restored)) => {
            let session = restored.session;
            let socket = SocketRef::recovered_as(
                ns.clone(),
                conn.clone(),
                parts.auth.clone(),
                id,
                session.pid,
            );
            let own = socket.id().to_string();
            let rooms: Vec<_> = session.rooms.into_iter().filter(|r| **r != own).collect();
            ns.join(&socket, &rooms);
            *crate::write(&socket.0.data) = session.data;
            trace::debug!(sid = %socket.id(), ns = %ns.path, missed = restored.missed.len(), "socket.io: connection state recovered");
            (socket, restored.missed)
        }
        None => (
            SocketRef::new(ns.clone(), conn.clone(), parts.auth.clone()),
            Vec::new(),
        ),
    };
    // Node sends the missed packets at once, before the `CONNECT`: the
    // client delivers them before its `connect` event.
    for packet in missed {
        if let Ok(out) = ns.outbound(packet) {
            let _ = conn.send(out);
        }
    }
    let skip_middlewares = socket.recovered()
        && ns
            .shared
            .config
            .recovery
            .is_some_and(|r| r.skip_middlewares);
    crate::lock(&conn.data().sockets).push((ns.path.clone(), socket.clone()));
    let conn = conn.clone();
    let job_socket = socket.clone();
    socket.run(Box::new(move || {
            let socket = job_socket;
            Box::pin(async move {
                let middlewares = async {
                    match skip_middlewares {
                        true => Ok(()),
                        false => ns.run_middlewares(&socket, &parts).await,
                    }
                };
                let refused = match CatchPanic::new(middlewares).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => {
                        trace::debug!(sid = %socket.id(), ns = %ns.path, error = %e, "socket.io: connection refused by a middleware");
                        Some(e)
                    }
                    Err(p) => Some(refused_by_panic(&socket, "connect middleware", &p)),
                };
                if let Some(e) = refused {
                    ns.shared.metrics.connect_refused(Refusal::Middleware);
                    give_back(&ns, &socket);
                    socket.abandon();
                    send_refusal(&conn, ns.shared.config.parser, &ns.path, &e);
                    return;
                }
                if conn.is_closed() || socket.is_closing() {
                    // The connection closed, or the client left, while the middlewares ran.
                    give_back(&ns, &socket);
                    socket.abandon();
                    return;
                }
                let handler = ns.handlers.connect.clone();
                let started = crate::panic::catch(|| handler.call(socket.clone(), &parts))
                    .unwrap_or_else(|p| Err(refused_by_panic(&socket, "connect handler", &p)));
                match started {
                    Err(e) => {
                        ns.shared.metrics.connect_refused(Refusal::ConnectHandler);
                        give_back(&ns, &socket);
                        socket.abandon();
                        send_refusal(&conn, ns.shared.config.parser, &ns.path, &e);
                    }
                    Ok(fut) => {
                        ns.insert(&socket);
                        socket.0.connected.store(true, Ordering::Release);
                        if let Some(o) = ns.shared.observer.get() {
                            o.socket_connected(&socket);
                        }
                        let sid = socket.id().to_string();
                        let accepted = match (conn.protocol(), &socket.0.pid) {
                            (3, _) => encode_connect_v4(&mut BytesMut::new(), &ns.path),
                            (_, Some(pid)) => {
                                encode_connect_with_pid(&mut BytesMut::new(), &ns.path, &sid, pid)
                            }
                            (_, None) => encode_connect(&mut BytesMut::new(), &ns.path, &sid),
                        };
                        if let Ok(out) = ns.outbound(accepted) {
                            let _ = conn.send(out);
                        }
                        trace::debug!(sid = %socket.id(), ns = %ns.path, "socket.io: socket connected");
                        if let Err(p) = CatchPanic::new(fut).await {
                            crate::panic::panicked(&socket, "connect handler", None, &p);
                        }
                    }
                }
            })
        }));
}

/// With connection state recovery on, the restoring of the session that a
/// CONNECT's auth (`{"pid": ..., "offset": ...}`, both strings, as the
/// official client sends them) names.
fn restore(
    ns: &crate::ns::Namespace,
    auth: Option<&str>,
) -> Option<BoxFuture<Option<crate::adapter::RestoredSession>>> {
    let store = ns.sessions()?;
    #[derive(serde::Deserialize)]
    struct Resume {
        pid: serde_json::Value,
        offset: serde_json::Value,
    }
    let resume: Resume = serde_json::from_str(auth?).ok()?;
    let (serde_json::Value::String(pid), serde_json::Value::String(offset)) =
        (resume.pid, resume.offset)
    else {
        return None;
    };
    Some(store.restore(&pid, &offset))
}

/// A restored session, with its socket id, unless that socket is still
/// connected (the session is then kept for a later attempt, as Node keeps
/// it) or its id is not one.
fn restorable(
    ns: &crate::ns::Namespace,
    restored: Option<crate::adapter::RestoredSession>,
) -> Option<(Sid, crate::adapter::RestoredSession)> {
    let restored = restored?;
    match restored.session.sid.parse::<Sid>() {
        Ok(sid) if ns.sockets.contains_key(&sid) => {
            trace::debug!(%sid, "socket.io: recovery refused, the socket is still connected");
            if let Some(store) = ns.sessions() {
                store.persist(restored.session);
            }
            None
        }
        Ok(sid) => Some((sid, restored)),
        Err(_) => {
            trace::warn!(sid = %restored.session.sid, "socket.io: recovery refused, the session's socket id is not valid");
            None
        }
    }
}

/// A recovered socket that did not get in after all (refused, or gone
/// while its middlewares ran): its session is kept again, so that the
/// client can try once more within the window, as Node never deletes one
/// on restoring it.
fn give_back(ns: &crate::ns::Namespace, socket: &SocketRef) {
    if let (true, Some(store), Some(pid)) = (socket.recovered(), ns.sessions(), &socket.0.pid) {
        store.persist(crate::adapter::Session::new(
            Str::from(socket.id().to_string()),
            pid.clone(),
            socket.rooms(),
            socket.data(),
        ));
    }
}

/// Connections that have yet to join a namespace, oldest first, with the
/// time by which they must (`connect_timeout`, Node's `connectTimeout`).
///
/// The timeout is the same for all, so deadlines come in order: one task
/// per server sleeps until the oldest and closes whichever connection has
/// still joined nothing, instead of a timer task per connection. Entries
/// hold session ids, not sessions, so a closed connection is not kept.
#[derive(Default)]
pub(crate) struct ConnectDeadlines {
    state: Mutex<Deadlines>,
}

#[derive(Default)]
struct Deadlines {
    queue: VecDeque<(Instant, Sid)>,
    /// Whether the sweeping task runs.
    sweeping: bool,
}

impl ConnectDeadlines {
    /// Adds a connection; `true` when the caller must start the sweeper.
    fn push(&self, deadline: Instant, sid: Sid) -> bool {
        let mut d = crate::lock(&self.state);
        d.queue.push_back((deadline, sid));
        !std::mem::replace(&mut d.sweeping, true)
    }

    /// The next connection whose deadline passed, or the time to wait for
    /// the oldest; `None` (the sweeper ends) once the queue is empty.
    fn next(&self, now: Instant) -> Option<Result<Sid, Instant>> {
        let mut d = crate::lock(&self.state);
        match d.queue.front().copied() {
            None => {
                d.sweeping = false;
                None
            }
            Some((at, sid)) if at <= now => {
                d.queue.pop_front();
                Some(Ok(sid))
            }
            Some((at, _)) => Some(Err(at)),
        }
    }
}

/// Closes the connections that joined no namespace in time; ends when none
/// is left to watch, or with the server.
async fn sweep_connect_deadlines(server: Weak<ServerInner>) {
    loop {
        let next = match server.upgrade() {
            Some(server) => match server.connect_deadlines.next(Instant::now()) {
                None => return,
                Some(Ok(sid)) => {
                    let conn = server.engine.get().and_then(|e| e.socket(sid));
                    if let Some(conn) = conn.filter(|c| !c.data().joined.load(Ordering::Acquire)) {
                        trace::debug!(sid = %conn.sid(), "socket.io: no namespace joined within connect_timeout, closing");
                        conn.close();
                    }
                    continue;
                }
                Some(Err(at)) => at,
            },
            None => return,
        };
        tokio::time::sleep_until(next).await;
    }
}

/// A connect middleware, or the connect handler before it started, panicked:
/// the client is refused as by a middleware, without the panic's text.
fn refused_by_panic(socket: &SocketRef, what: &'static str, p: &Panic) -> ConnectError {
    trace::error!(ns = %socket.ns(), sid = %socket.id(), what, panic = %p, "socket.io: user code panicked, connection refused");
    ConnectError::new("Internal server error")
}

/// A connection refused by a middleware or the connect handler: a client of
/// protocol v4 (socket.io-client 2.x) gets the error's data or message
/// alone, as Node's server sends it; others `{"message", "data"}`.
fn send_refusal(conn: &Conn, parser: crate::Parser, ns: &str, e: &ConnectError) {
    if conn.protocol() != 3 {
        return send_connect_error(conn, parser, ns, e);
    }
    match encode_connect_error_v4(&mut BytesMut::new(), ns, e.message(), e.data()) {
        Ok(p) => {
            if let Ok(out) = crate::parser::outbound(parser, p) {
                let _ = conn.send(out);
            }
        }
        Err(err) => trace::warn!(error = %err, "socket.io: cannot encode a connect error"),
    }
}

/// The namespace of a protocol v4 CONNECT (`/admin?token=abc`) and its
/// query as a JSON object of strings, which Node's server hands to the
/// namespace as the auth payload.
#[cfg(feature = "eio3")]
fn v3_namespace(ns: Str) -> (Str, Option<Str>) {
    let Some(q) = ns.find('?') else {
        return (ns, None);
    };
    let query: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(&ns.as_bytes()[q + 1..])
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
    let auth = serde_json::Value::Object(query).to_string();
    // `?` is ASCII: a char boundary.
    (ns.slice(0..q), Some(Str::from(auth)))
}

/// Without the `eio3` feature no connection is of protocol v3.
#[cfg(not(feature = "eio3"))]
fn v3_namespace(ns: Str) -> (Str, Option<Str>) {
    (ns, None)
}

fn send_connect_error(conn: &Conn, parser: crate::Parser, ns: &str, e: &ConnectError) {
    match encode_connect_error(&mut BytesMut::new(), ns, e.message(), e.data()) {
        Ok(p) => {
            if let Ok(out) = crate::parser::outbound(parser, p) {
                let _ = conn.send(out);
            }
        }
        Err(err) => trace::warn!(error = %err, "socket.io: cannot encode a connect error"),
    }
}

/// A packet that the connection's state does not allow (one for a namespace
/// not joined, a second CONNECT): Node closes the connection.
fn invalid_state(conn: &Conn, ns: &str, what: &'static str) {
    trace::warn!(sid = %conn.sid(), %ns, what, "socket.io: packet not allowed in this state, closing the connection");
    conn.close_with(CloseReason::ParseError);
}
