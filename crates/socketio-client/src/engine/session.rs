//! One Engine.IO session: from the handshake to the close, over polling,
//! WebSocket, or polling upgraded to WebSocket.
//!
//! Everything is driven by [`Session::poll_next`], so that the connection
//! task can wait on the session, its commands and its handlers at once
//! without losing a request in flight.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::Uri;
use socketio_protocol::{
    engine::{decode_payload, Frame, Packet},
    Str,
};
use tokio::time::{sleep, Instant, Sleep};

use super::{
    handshake::Handshake,
    polling::{self, Polling},
    websocket::{self, Ws, WsStream},
};
use crate::{config::Config, trace, Transport, Transports};
use crate::{handler::BoxFuture, DisconnectReason, Error};

/// Why a session ended, and the error behind it if any.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    pub(crate) reason: DisconnectReason,
    pub(crate) error: Option<Error>,
}

impl Closed {
    pub(crate) fn new(reason: DisconnectReason) -> Self {
        Closed {
            reason,
            error: None,
        }
    }

    pub(crate) fn with_error(reason: DisconnectReason, error: Error) -> Self {
        Closed {
            reason,
            error: Some(error),
        }
    }
}

/// What [`Session::poll_next`] reports.
pub(crate) enum SessionEvent {
    /// A message for the Socket.IO layer (`Message` or `Binary`).
    Packet(Packet),
    /// The session now runs over WebSocket.
    Upgraded,
    /// The session is over.
    Closed(Closed),
}

enum Active {
    Polling(Polling),
    WebSocket(Ws),
}

/// The upgrade from polling to WebSocket, step by step.
enum Upgrade {
    None,
    Connecting(BoxFuture<Result<WsStream, Error>>),
    /// `2probe` sent, waiting for `3probe`.
    Probing(Ws),
    /// Probe answered: polling finishes its requests before `5` is sent.
    Pausing(Ws),
}

/// An open Engine.IO session.
pub(crate) struct Session {
    transport: Active,
    upgrade: Upgrade,
    upgrade_deadline: Pin<Box<Sleep>>,
    inbox: VecDeque<Packet>,
    heartbeat: Pin<Box<Sleep>>,
    heartbeat_period: Duration,
}

impl Session {
    /// Performs the handshake and, if polling may be upgraded, starts the
    /// WebSocket probe alongside.
    pub(crate) async fn open(config: &Config) -> Result<Session, Error> {
        match config.transports {
            Transports::WebSocketOnly => Self::open_websocket(config).await,
            Transports::PollingOnly | Transports::Upgrade => Self::open_polling(config).await,
        }
    }

    async fn open_polling(config: &Config) -> Result<Session, Error> {
        let http = polling::http_client();
        let body = polling::request(
            &http,
            http::Method::GET,
            &parse_uri(&config.endpoint.polling(None))?,
            &config.headers,
            Bytes::new(),
        )
        .await?;
        let text = Str::try_from(body).map_err(|e| Error::protocol_with("invalid handshake", e))?;
        let mut packets = decode_payload(text);
        let handshake = match packets.next() {
            Some(Ok(Packet::Open(json))) => Handshake::parse(&json)?,
            _ => return Err(Error::protocol("the server did not open a session")),
        };
        let inbox = packets
            .collect::<Result<VecDeque<_>, _>>()
            .map_err(|e| Error::protocol_with("invalid polling payload", e))?;
        let uri = parse_uri(&config.endpoint.polling(Some(&handshake.sid)))?;
        let max_payload = handshake
            .max_payload
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX);
        let polling = Polling::new(http, uri, config.headers.clone(), max_payload);
        let upgrade = match config.transports == Transports::Upgrade
            && handshake.upgrades.iter().any(|u| u == "websocket")
        {
            true => Upgrade::Connecting(Box::pin(websocket::connect(
                config.endpoint.websocket(Some(&handshake.sid)),
                config.headers.clone(),
            ))),
            false => Upgrade::None,
        };
        trace::debug!(sid = %handshake.sid, "engine.io: session open over polling");
        Ok(Session::new(
            Active::Polling(polling),
            upgrade,
            inbox,
            &handshake,
            config.connect_timeout,
        ))
    }

    async fn open_websocket(config: &Config) -> Result<Session, Error> {
        let stream =
            websocket::connect(config.endpoint.websocket(None), config.headers.clone()).await?;
        let mut ws = Ws::new(stream);
        let handshake = match std::future::poll_fn(|cx| ws.poll_recv(cx)).await {
            Ok(Packet::Open(json)) => Handshake::parse(&json)?,
            Ok(_) => return Err(Error::protocol("the server did not open a session")),
            Err(closed) => {
                return Err(closed
                    .error
                    .unwrap_or_else(|| Error::protocol("the server closed the WebSocket")))
            }
        };
        trace::debug!(sid = %handshake.sid, "engine.io: session open over websocket");
        Ok(Session::new(
            Active::WebSocket(ws),
            Upgrade::None,
            VecDeque::new(),
            &handshake,
            config.connect_timeout,
        ))
    }

    fn new(
        transport: Active,
        upgrade: Upgrade,
        inbox: VecDeque<Packet>,
        handshake: &Handshake,
        upgrade_timeout: Duration,
    ) -> Self {
        let heartbeat_period = Duration::from_millis(
            handshake
                .ping_interval
                .saturating_add(handshake.ping_timeout),
        );
        Session {
            transport,
            upgrade,
            upgrade_deadline: Box::pin(sleep(upgrade_timeout)),
            inbox,
            heartbeat: Box::pin(sleep(heartbeat_period)),
            heartbeat_period,
        }
    }

    /// The transport in use.
    pub(crate) fn transport(&self) -> Transport {
        match self.transport {
            Active::Polling(_) => Transport::Polling,
            Active::WebSocket(_) => Transport::WebSocket,
        }
    }

    /// Queues a frame; [`poll_next`](Self::poll_next) writes it.
    pub(crate) fn send(&mut self, frame: Frame) {
        match &mut self.transport {
            Active::Polling(p) => p.send(frame),
            Active::WebSocket(ws) => ws.send(frame),
        }
    }

    /// Reads, writes, answers pings and moves the upgrade on; returns the
    /// next message, the end of the upgrade, or the end of the session.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<SessionEvent> {
        loop {
            if let Some(packet) = self.inbox.pop_front() {
                match packet {
                    Packet::Message(_) | Packet::Binary(_) => {
                        return Poll::Ready(SessionEvent::Packet(packet))
                    }
                    Packet::Ping(data) => {
                        self.send(Frame::from(&Packet::Pong(data)));
                        let next = Instant::now() + self.heartbeat_period;
                        self.heartbeat.as_mut().reset(next);
                    }
                    Packet::Close => {
                        return Poll::Ready(SessionEvent::Closed(Closed::new(
                            DisconnectReason::TransportClose,
                        )))
                    }
                    Packet::Open(_) | Packet::Pong(_) | Packet::Upgrade | Packet::Noop => {}
                }
                continue;
            }

            match self.poll_read(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(closed)) => return Poll::Ready(SessionEvent::Closed(closed)),
                Poll::Pending => {}
            }

            // Writes before the upgrade: the upgrade waits for the last
            // polling request, whose end the write step may be the one to see.
            let written = match &mut self.transport {
                Active::Polling(p) => p.poll_send(cx),
                Active::WebSocket(ws) => ws.poll_write(cx),
            };
            if let Poll::Ready(Err(e)) = written {
                return Poll::Ready(SessionEvent::Closed(Closed::with_error(
                    DisconnectReason::TransportError,
                    e,
                )));
            }

            match self.poll_upgrade(cx) {
                Step::Upgraded => return Poll::Ready(SessionEvent::Upgraded),
                Step::Progress => continue,
                Step::Idle => {}
            }

            if self.heartbeat.as_mut().poll(cx).is_ready() {
                return Poll::Ready(SessionEvent::Closed(Closed::new(
                    DisconnectReason::PingTimeout,
                )));
            }
            return Poll::Pending;
        }
    }

    /// Reads what the transport has into the inbox; ready when it read something.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        match &mut self.transport {
            Active::Polling(p) => match p.poll_recv(cx) {
                Poll::Ready(Ok(body)) => Poll::Ready(decode_body(body, &mut self.inbox)),
                Poll::Ready(Err(e)) => {
                    Poll::Ready(Err(Closed::with_error(DisconnectReason::TransportError, e)))
                }
                Poll::Pending => Poll::Pending,
            },
            Active::WebSocket(ws) => match ws.poll_recv(cx) {
                Poll::Ready(Ok(packet)) => {
                    self.inbox.push_back(packet);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(closed)) => Poll::Ready(Err(closed)),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    /// Moves the upgrade one step on. A failed upgrade leaves the session on
    /// polling, as with the JS client.
    fn poll_upgrade(&mut self, cx: &mut Context<'_>) -> Step {
        let Active::Polling(polling) = &mut self.transport else {
            return Step::Idle;
        };
        let timed_out = || {
            trace::debug!("engine.io: upgrade timed out, staying on polling");
        };
        match std::mem::replace(&mut self.upgrade, Upgrade::None) {
            Upgrade::None => Step::Idle,
            Upgrade::Connecting(mut connecting) => match connecting.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => {
                    trace::debug!("engine.io: websocket open, probing");
                    let mut ws = Ws::new(stream);
                    ws.send(Frame::from(&Packet::Ping(Str::from_static("probe"))));
                    self.upgrade = Upgrade::Probing(ws);
                    Step::Progress
                }
                Poll::Ready(Err(e)) => {
                    trace::debug!(error = %e, "engine.io: upgrade failed, staying on polling");
                    Step::Progress
                }
                Poll::Pending if self.upgrade_deadline.as_mut().poll(cx).is_ready() => {
                    timed_out();
                    Step::Progress
                }
                Poll::Pending => {
                    self.upgrade = Upgrade::Connecting(connecting);
                    Step::Idle
                }
            },
            Upgrade::Probing(mut ws) => {
                if let Poll::Ready(Err(e)) = ws.poll_write(cx) {
                    trace::debug!(error = %e, "engine.io: probe failed, staying on polling");
                    return Step::Progress;
                }
                match ws.poll_recv(cx) {
                    Poll::Ready(Ok(Packet::Pong(data))) if &*data == "probe" => {
                        trace::debug!("engine.io: probe answered, pausing polling");
                        polling.paused = true;
                        self.upgrade = Upgrade::Pausing(ws);
                        Step::Progress
                    }
                    Poll::Ready(_) => {
                        trace::debug!("engine.io: unexpected probe answer, staying on polling");
                        Step::Progress
                    }
                    Poll::Pending if self.upgrade_deadline.as_mut().poll(cx).is_ready() => {
                        timed_out();
                        Step::Progress
                    }
                    Poll::Pending => {
                        self.upgrade = Upgrade::Probing(ws);
                        Step::Idle
                    }
                }
            }
            Upgrade::Pausing(mut ws) => {
                if polling.is_idle() {
                    // `5` first, then whatever polling had not sent yet, in order.
                    ws.send(Frame::from(&Packet::Upgrade));
                    for frame in polling.take_outbox() {
                        ws.send(frame);
                    }
                    self.transport = Active::WebSocket(ws);
                    trace::debug!("engine.io: upgraded to websocket");
                    return Step::Upgraded;
                }
                if self.upgrade_deadline.as_mut().poll(cx).is_ready() {
                    timed_out();
                    polling.paused = false;
                    return Step::Progress;
                }
                self.upgrade = Upgrade::Pausing(ws);
                Step::Idle
            }
        }
    }

    /// Stops reading and queues the Engine.IO `close` where the transport
    /// needs one; [`poll_close`](Self::poll_close) then sends what is queued.
    pub(crate) fn start_close(&mut self) {
        self.upgrade = Upgrade::None;
        if let Active::Polling(p) = &mut self.transport {
            p.stop_receiving();
            p.send(Frame::from(&Packet::Close));
        }
    }

    /// Sends what is queued and closes the transport.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.transport {
            Active::Polling(p) => p.poll_send(cx).map(|_| ()),
            Active::WebSocket(ws) => ws.poll_close(cx),
        }
    }
}

enum Step {
    Idle,
    Progress,
    Upgraded,
}

fn parse_uri(url: &str) -> Result<Uri, Error> {
    url.parse()
        .map_err(|e| Error::transport("invalid request URL", e))
}

fn decode_body(body: Bytes, inbox: &mut VecDeque<Packet>) -> Result<(), Closed> {
    let parse_error = |e: Error| Closed::with_error(DisconnectReason::ParseError, e);
    let text = Str::try_from(body)
        .map_err(|e| parse_error(Error::protocol_with("invalid polling payload", e)))?;
    for packet in decode_payload(text) {
        inbox.push_back(
            packet.map_err(|e| parse_error(Error::protocol_with("invalid polling payload", e)))?,
        );
    }
    Ok(())
}
