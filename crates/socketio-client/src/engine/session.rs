//! One Engine.IO session: from the handshake to the close, over polling,
//! WebSocket or WebTransport, or polling upgraded to one of the others.
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

#[cfg(feature = "webtransport")]
use super::webtransport::{self, Wt};
use super::{
    handshake::Handshake,
    net::Connector,
    polling::{self, Polling},
    upgrade::{Step, Upgrade},
    websocket::{self, Ws},
};
use crate::{config::Config, trace, Transport, Transports};
use crate::{DisconnectReason, Error};

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
    /// The session now runs over this transport.
    Upgraded(Transport),
    /// The session is over.
    Closed(Closed),
}

/// The transport a session runs over (or probes, during an upgrade).
pub(super) enum Active {
    Polling(Polling),
    WebSocket(Ws),
    #[cfg(feature = "webtransport")]
    WebTransport(Wt),
}

impl Active {
    pub(super) fn transport(&self) -> Transport {
        match self {
            Active::Polling(_) => Transport::Polling,
            Active::WebSocket(_) => Transport::WebSocket,
            #[cfg(feature = "webtransport")]
            Active::WebTransport(_) => Transport::WebTransport,
        }
    }

    pub(super) fn send(&mut self, frame: Frame) {
        match self {
            Active::Polling(p) => p.send(frame),
            Active::WebSocket(ws) => ws.send(frame),
            #[cfg(feature = "webtransport")]
            Active::WebTransport(wt) => wt.send(frame),
        }
    }

    /// Writes what is queued.
    pub(super) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            Active::Polling(p) => p.poll_send(cx),
            Active::WebSocket(ws) => ws.poll_write(cx),
            #[cfg(feature = "webtransport")]
            Active::WebTransport(wt) => wt.poll_write(cx),
        }
    }

    /// The next packet of a transport that carries one at a time (all
    /// but polling, whose bodies [`Session::poll_read`] reads).
    pub(super) fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<Result<Packet, Closed>> {
        match self {
            Active::Polling(_) => Poll::Pending,
            Active::WebSocket(ws) => ws.poll_recv(cx),
            #[cfg(feature = "webtransport")]
            Active::WebTransport(wt) => wt.poll_recv(cx),
        }
    }

    pub(super) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Active::Polling(p) => p.poll_send(cx).map(|_| ()),
            Active::WebSocket(ws) => ws.poll_close(cx),
            #[cfg(feature = "webtransport")]
            Active::WebTransport(wt) => wt.poll_close(cx),
        }
    }
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
    /// probes of the upgrades alongside.
    pub(crate) async fn open(config: &Config) -> Result<Session, Error> {
        match config.transports {
            Transports::WebSocketOnly => {
                let connector = Connector::new(config)?;
                let url = config.endpoint.websocket(None);
                let stream = websocket::connect(connector, url, config.headers.clone()).await?;
                Self::open_direct(config, Active::WebSocket(Ws::new(stream))).await
            }
            #[cfg(feature = "webtransport")]
            Transports::WebTransportOnly => {
                let wt = webtransport::connect(config, None).await?;
                Self::open_direct(config, Active::WebTransport(wt)).await
            }
            Transports::PollingOnly | Transports::Upgrade | Transports::UpgradeToWebSocket => {
                Self::open_polling(config).await
            }
        }
    }

    async fn open_polling(config: &Config) -> Result<Session, Error> {
        let connector = Connector::new(config)?;
        let http = polling::http_client(connector.clone());
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
        let upgrade = match config.transports {
            Transports::Upgrade | Transports::UpgradeToWebSocket => {
                Upgrade::start(config, connector, &handshake)
            }
            _ => Upgrade::None,
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

    /// Reads the handshake on a transport opened without polling first.
    async fn open_direct(config: &Config, mut active: Active) -> Result<Session, Error> {
        let transport = active.transport().as_str();
        let handshake = match std::future::poll_fn(|cx| active.poll_packet(cx)).await {
            Ok(Packet::Open(json)) => Handshake::parse(&json)?,
            Ok(_) => return Err(Error::protocol("the server did not open a session")),
            Err(closed) => {
                return Err(closed
                    .error
                    .unwrap_or_else(|| Error::protocol("the server closed the transport")))
            }
        };
        trace::debug!(sid = %handshake.sid, transport, "engine.io: session open");
        Ok(Session::new(
            active,
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
        self.transport.transport()
    }

    /// Queues a frame; [`poll_next`](Self::poll_next) writes it.
    pub(crate) fn send(&mut self, frame: Frame) {
        self.transport.send(frame);
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
            if let Poll::Ready(Err(e)) = self.transport.poll_write(cx) {
                return Poll::Ready(SessionEvent::Closed(Closed::with_error(
                    DisconnectReason::TransportError,
                    e,
                )));
            }

            let step = match &mut self.transport {
                Active::Polling(polling) => {
                    self.upgrade
                        .poll(polling, self.upgrade_deadline.as_mut(), cx)
                }
                _ => Step::Idle,
            };
            match step {
                Step::Upgraded(next) => {
                    self.transport = *next;
                    return Poll::Ready(SessionEvent::Upgraded(self.transport.transport()));
                }
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
            other => match other.poll_packet(cx) {
                Poll::Ready(Ok(packet)) => {
                    self.inbox.push_back(packet);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(closed)) => Poll::Ready(Err(closed)),
                Poll::Pending => Poll::Pending,
            },
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
        self.transport.poll_close(cx)
    }
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
