//! One namespace's side of the adapter: what a [`NamespaceAdapter`] call
//! publishes, and how the answers of the other servers are gathered.

use std::{
    fmt,
    pin::pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use rmpv::Value;
use socketio_axum::{
    adapter::{
        AdapterError, BroadcastOptions, NamespaceAdapter, RemoteAcks, Room, ServerSideEmitError,
        SessionStore, SocketData, WeakLocalNamespace,
    },
    extract::RawArgs,
    handler::BoxFuture,
    ConnectionStateRecovery,
};
use socketio_protocol::socket::EncodedPacket;
use tokio::time::Instant;

use super::{
    sessions::StreamSessions,
    shared::{write, Core},
};
use crate::{
    link::{self, Outgoing},
    metrics,
    protocol::Protocol,
    requests::Pending,
    sharded, trace, value,
    wire::{self, raw_args, Channels, RequestType},
};

/// One namespace's link to the other servers.
pub(super) struct RedisNamespace {
    pub(super) core: Arc<Core>,
    pub(super) ns: WeakLocalNamespace,
    pub(super) path: String,
    pub(super) channels: Channels,
    pub(super) route: u64,
    /// Connection state recovery is on (set once, by `session_store`).
    pub(super) recovery: Arc<AtomicBool>,
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let mut routes = write(&self.core.routes);
        if routes.namespaces.get(&self.path).map(|r| r.id) != Some(self.route) {
            return;
        }
        routes.namespaces.remove(&self.path);
        for channel in [
            &self.channels.request,
            &self.channels.response,
            &self.channels.own_response,
        ] {
            routes.channels.remove(channel);
        }
        routes.patterns.remove(&self.channels.pattern);
        drop(routes);
        self.core
            .link
            .unsubscribe(self.path.clone(), self.channels.subscriptions());
    }
}

fn error(message: impl fmt::Display) -> AdapterError {
    AdapterError::new(format!("redis adapter: {message}"))
}

impl Core {
    /// The servers that have this namespace, this one included.
    async fn server_count(&self, channels: &Channels) -> Result<usize, AdapterError> {
        if !self.link.status().borrow().connected {
            return Err(link::not_connected());
        }
        self.link.numsub(&channels.request).await
    }

    /// The other servers, once the request is open (so that no answer can
    /// come before it is listened for).
    async fn others(&self, channels: &Channels) -> Result<usize, AdapterError> {
        Ok(self.server_count(channels).await?.saturating_sub(1))
    }
}

/// Collects `expected` answers until `deadline`; `Err` with those received
/// if it passes first.
async fn gather(
    pending: &mut Pending,
    expected: usize,
    deadline: Instant,
) -> Result<Vec<Value>, Vec<Value>> {
    let mut answers = Vec::with_capacity(expected);
    while answers.len() < expected {
        match tokio::time::timeout_at(deadline, pending.answers.recv()).await {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) | Err(_) => return Err(answers),
        }
    }
    Ok(answers)
}

impl RedisNamespace {
    /// This namespace's sender, in its protocol.
    fn protocol(&self) -> Protocol<'_> {
        Protocol {
            uid: &self.core.uid,
            nsp: &self.path,
            channels: &self.channels,
        }
    }

    fn publish_request(&self, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.core
            .link
            .publish(self.channels.request.clone(), payload)
    }

    /// With the streams protocol and connection state recovery on, a
    /// non-volatile broadcast is the session store's to send (it appends
    /// it, delivers it here with its entry's id, and reports a failure
    /// itself): nothing to send here.
    fn stored_by_sessions(&self, opts: &BroadcastOptions) -> bool {
        self.channels.is_streams() && self.recovery.load(Ordering::Acquire) && !opts.volatile
    }

    /// A broadcast's message, if the packet can be read.
    fn broadcast_message(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<Outgoing, AdapterError> {
        let Some((event, args)) = wire::event_of_encoded(packet) else {
            trace::warn!(ns = %self.path, "redis adapter: cannot read a broadcast packet, not sent to other servers");
            return Err(error("cannot read a broadcast packet"));
        };
        Ok(self.protocol().broadcast(&event, args, opts))
    }

    /// Sends a query to every other server and gathers their answers
    /// within the request timeout.
    fn query(
        &self,
        ty: RequestType,
        opts: &BroadcastOptions,
        what: &'static str,
    ) -> BoxFuture<Result<Vec<Value>, AdapterError>> {
        let core = self.core.clone();
        let channels = self.channels.clone();
        let opts = opts.clone();
        let nsp = self.path.clone();
        Box::pin(async move {
            if channels.is_sharded() && ty != RequestType::RemoteFetch {
                return Err(error(format!(
                    "{what} is not part of the sharded protocol (Node's sharded adapter has none)"
                )));
            }
            let started = Instant::now();
            let deadline = started + core.config.request_timeout();
            let others = core.others(&channels).await?;
            if others == 0 {
                return Ok(Vec::new());
            }
            let mut pending = core.requests.open();
            let request = if channels.is_sharded() {
                sharded::fetch_sockets(&core.uid, &nsp, &pending.id, &opts).encode(&channels)
            } else {
                wire::query(&core.uid, &pending.id, ty, &opts)
            };
            core.link.publish(channels.request.clone(), request)?;
            let answers = gather(&mut pending, others, deadline).await;
            metrics::request_done(what, answers.is_ok(), started.elapsed());
            answers.map_err(|got| {
                AdapterError::timeout(format!(
                    "redis adapter: timeout reached while waiting for {what} response ({} of {others} servers answered)",
                    got.len()
                ))
            })
        })
    }
}

impl NamespaceAdapter for RedisNamespace {
    fn broadcast(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<(), AdapterError> {
        if self.stored_by_sessions(opts) {
            return Ok(());
        }
        let out = self.broadcast_message(packet, opts)?;
        self.core.link.send(out)
    }

    fn broadcast_published(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
    ) -> Result<BoxFuture<Result<(), AdapterError>>, AdapterError> {
        if self.stored_by_sessions(opts) {
            // The session store's own future says when it is stored.
            return Ok(Box::pin(std::future::ready(Ok(()))));
        }
        let out = self.broadcast_message(packet, opts)?;
        let published = self.core.link.send_confirmed(out)?;
        Ok(Box::pin(async move {
            published
                .await
                .unwrap_or_else(|_| Err(AdapterError::unavailable("redis adapter: stopped")))
        }))
    }

    fn broadcast_with_ack(
        &self,
        packet: &EncodedPacket,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        let Some((event, args)) = wire::event_of_encoded(packet) else {
            return Box::pin(std::future::ready(Err(error(
                "cannot read a broadcast packet",
            ))));
        };
        let deadline = Instant::now() + timeout;
        // Sent now, in order with this server's other broadcasts.
        let mut pending = self.core.requests.open();
        let (uid, nsp, id) = (&self.core.uid, &self.path, &pending.id);
        let request = if self.channels.is_sharded() {
            sharded::broadcast(uid, nsp, (&event, args), opts, Some((id, timeout)))
                .encode(&self.channels)
        } else {
            wire::broadcast_request(uid, id, nsp, (&event, args), opts, timeout)
        };
        if let Err(e) = self.publish_request(request) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let core = self.core.clone();
        let channels = self.channels.clone();
        Box::pin(async move {
            let mut count = pin!(core.others(&channels));
            let mut servers = None;
            let (mut counted, mut clients) = (0, 0);
            let mut acks = Vec::new();
            loop {
                if servers.is_some_and(|s| counted >= s) && acks.len() >= clients {
                    break;
                }
                tokio::select! {
                    n = &mut count, if servers.is_none() => servers = Some(n?),
                    answer = pending.answers.recv() => {
                        let Some(answer) = answer else { break };
                        match RequestType::of(&answer) {
                            Some(RequestType::BroadcastClientCount) => {
                                counted += 1;
                                clients += wire::field(&answer, "clientCount")
                                    .and_then(Value::as_u64)
                                    .unwrap_or(0) as usize;
                            }
                            Some(RequestType::BroadcastAck) => {
                                let ack = wire::field(&answer, "packet")
                                    .filter(|v| !value::is_undefined(v));
                                acks.push(raw_args(ack.map(std::slice::from_ref).unwrap_or_default()));
                            }
                            _ => {}
                        }
                    }
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            Ok(RemoteAcks::new(clients, acks))
        })
    }

    fn fetch_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        let answers = self.query(RequestType::RemoteFetch, opts, "fetchSockets");
        Box::pin(async move {
            let mut sockets = Vec::new();
            for answer in answers.await? {
                let Some(Value::Array(items)) = wire::field(&answer, "sockets") else {
                    continue;
                };
                for item in items {
                    match serde_json::from_str::<SocketData>(&value::to_json(item)) {
                        Ok(socket) => sockets.push(socket),
                        Err(e) => {
                            trace::debug!(error = %e, "redis adapter: malformed socket in a fetchSockets answer")
                        }
                    }
                }
            }
            Ok(sockets)
        })
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.core
            .link
            .send(self.protocol().rooms_request(true, opts, rooms))
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) -> Result<(), AdapterError> {
        self.core
            .link
            .send(self.protocol().rooms_request(false, opts, rooms))
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.core
            .link
            .send(self.protocol().disconnect_request(opts, close))
    }

    fn server_side_emit(
        &self,
        event: &str,
        args: &RawArgs,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<RawArgs>, ServerSideEmitError>> {
        let args = match value::args_to_values(&args.args, &args.attachments) {
            Ok(args) => args,
            Err(e) => return Box::pin(std::future::ready(Err(error(e).into()))),
        };
        let Some(timeout) = ack else {
            let request = self.protocol().server_side_request(None, event, args);
            let sent = self.core.link.send(request);
            return Box::pin(std::future::ready(
                sent.map(|()| Vec::new()).map_err(Into::into),
            ));
        };
        let core = self.core.clone();
        let channels = self.channels.clone();
        let nsp = self.path.clone();
        let event = event.to_owned();
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            let others = core.others(&channels).await?;
            if others == 0 {
                return Ok(Vec::new());
            }
            let mut pending = core.requests.open();
            let protocol = Protocol {
                uid: &core.uid,
                nsp: &nsp,
                channels: &channels,
            };
            let request = protocol.server_side_request(Some(&pending.id), &event, args);
            core.link.send(request)?;
            let to_args = |answers: &[Value]| -> Vec<RawArgs> {
                answers
                    .iter()
                    .map(|a| {
                        let data = wire::field(a, "data").filter(|v| !value::is_undefined(v));
                        raw_args(data.map(std::slice::from_ref).unwrap_or_default())
                    })
                    .collect()
            };
            match gather(&mut pending, others, deadline).await {
                Ok(answers) => Ok(to_args(&answers)),
                // The answers that came are kept, as Node's callback gets them.
                Err(got) => Err(ServerSideEmitError::new(
                    AdapterError::timeout(format!(
                        "redis adapter: timeout reached: only {} responses received out of {others}",
                        got.len()
                    )),
                    to_args(&got),
                )),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        let core = self.core.clone();
        let channels = self.channels.clone();
        Box::pin(async move { core.server_count(&channels).await })
    }

    fn session_store(&self, recovery: &ConnectionStateRecovery) -> Option<Arc<dyn SessionStore>> {
        if !self.channels.is_streams() {
            return None;
        }
        self.recovery.store(true, Ordering::Release);
        Some(Arc::new(StreamSessions::new(
            self.core.clone(),
            self.ns.clone(),
            self.path.clone(),
            recovery.max_disconnection_duration,
        )))
    }

    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>> {
        let answers = self.query(
            RequestType::AllRooms,
            &BroadcastOptions::default(),
            "allRooms",
        );
        Box::pin(async move {
            let mut rooms: Vec<Room> = answers
                .await?
                .iter()
                .flat_map(|a| wire::rooms_field(a, "rooms"))
                .collect();
            rooms.sort();
            rooms.dedup();
            Ok(rooms)
        })
    }
}
