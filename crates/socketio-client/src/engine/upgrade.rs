//! The upgrade from polling: a probe of each transport the server offers
//! (`2probe`, answered `3probe`), the first answered taking over once
//! polling has paused (`5`).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use socketio_protocol::{
    engine::{Frame, Packet},
    Str,
};
use tokio::time::{sleep, Sleep};

#[cfg(feature = "webtransport")]
use super::webtransport;
use super::{
    handshake::Handshake,
    net::Connector,
    polling::Polling,
    session::Active,
    websocket::{self, Ws},
};
use crate::{config::Config, handler::BoxFuture, trace, Error, Transport};

/// How long the WebSocket probe waits when WebTransport is probed too, so
/// that WebTransport wins when both work (the JS client's 200 ms).
const FAVOR_WEBTRANSPORT: Duration = Duration::from_millis(200);

/// One transport the session may upgrade to, on its way.
pub(super) enum Probe {
    Connecting(Transport, BoxFuture<Result<Active, Error>>),
    /// `2probe` sent, waiting for `3probe`.
    Probing(Box<Active>),
}

/// What one step of a [`Probe`] came to.
enum ProbeStep {
    Pending(Probe),
    Moved(Probe),
    Failed,
    /// `3probe` came: this transport takes over.
    Answered(Box<Active>),
}

impl Probe {
    fn poll(self, cx: &mut Context<'_>) -> ProbeStep {
        match self {
            Probe::Connecting(transport, mut connecting) => match connecting.as_mut().poll(cx) {
                Poll::Ready(Ok(mut active)) => {
                    trace::debug!(transport = transport.as_str(), "engine.io: probing");
                    active.send(Frame::from(&Packet::Ping(Str::from_static("probe"))));
                    ProbeStep::Moved(Probe::Probing(Box::new(active)))
                }
                Poll::Ready(Err(e)) => {
                    trace::debug!(transport = transport.as_str(), error = %e, "engine.io: upgrade failed");
                    ProbeStep::Failed
                }
                Poll::Pending => ProbeStep::Pending(Probe::Connecting(transport, connecting)),
            },
            Probe::Probing(mut active) => {
                let transport = active.transport().as_str();
                if let Poll::Ready(Err(e)) = active.poll_write(cx) {
                    trace::debug!(transport, error = %e, "engine.io: probe failed");
                    return ProbeStep::Failed;
                }
                match active.poll_packet(cx) {
                    Poll::Ready(Ok(Packet::Pong(data))) if &*data == "probe" => {
                        ProbeStep::Answered(active)
                    }
                    Poll::Ready(_) => {
                        trace::debug!(transport, "engine.io: unexpected probe answer");
                        ProbeStep::Failed
                    }
                    Poll::Pending => ProbeStep::Pending(Probe::Probing(active)),
                }
            }
        }
    }
}

/// The upgrade from polling, step by step.
pub(super) enum Upgrade {
    None,
    /// The transports tried, at once: the first to answer its probe wins.
    Probing(Vec<Probe>),
    /// Probe answered: polling finishes its requests before `5` is sent.
    Pausing(Box<Active>),
}

/// What one step of the upgrade came to.
pub(super) enum Step {
    Idle,
    Progress,
    /// Done: this transport replaces polling.
    Upgraded(Box<Active>),
}

impl Upgrade {
    /// The probes of the upgrades the server offers among the client's
    /// transports (none: no upgrade).
    pub(super) fn start(config: &Config, connector: Connector, handshake: &Handshake) -> Upgrade {
        let probes = probes(config, connector, handshake);
        match probes.is_empty() {
            true => Upgrade::None,
            false => Upgrade::Probing(probes),
        }
    }

    /// Moves the upgrade of the session on `polling` one step on, until
    /// `deadline`. A failed upgrade leaves the session on polling, as with
    /// the JS client.
    pub(super) fn poll(
        &mut self,
        polling: &mut Polling,
        mut deadline: Pin<&mut Sleep>,
        cx: &mut Context<'_>,
    ) -> Step {
        match std::mem::replace(self, Upgrade::None) {
            Upgrade::None => Step::Idle,
            Upgrade::Probing(probes) => {
                let mut moved = false;
                let mut left = Vec::with_capacity(probes.len());
                for probe in probes {
                    match probe.poll(cx) {
                        ProbeStep::Answered(active) => {
                            // The others are dropped, which closes them.
                            trace::debug!(
                                transport = active.transport().as_str(),
                                "engine.io: probe answered, pausing polling"
                            );
                            polling.paused = true;
                            *self = Upgrade::Pausing(active);
                            return Step::Progress;
                        }
                        ProbeStep::Failed => moved = true,
                        ProbeStep::Moved(probe) => {
                            moved = true;
                            left.push(probe);
                        }
                        ProbeStep::Pending(probe) => left.push(probe),
                    }
                }
                if left.is_empty() {
                    trace::debug!("engine.io: no upgrade, staying on polling");
                    return Step::Progress;
                }
                if !moved && deadline.as_mut().poll(cx).is_ready() {
                    trace::debug!("engine.io: upgrade timed out, staying on polling");
                    return Step::Progress;
                }
                *self = Upgrade::Probing(left);
                match moved {
                    true => Step::Progress,
                    false => Step::Idle,
                }
            }
            Upgrade::Pausing(mut next) => {
                if polling.is_idle() {
                    // `5` first, then whatever polling had not sent yet, in order.
                    next.send(Frame::from(&Packet::Upgrade));
                    for frame in polling.take_outbox() {
                        next.send(frame);
                    }
                    trace::debug!(transport = next.transport().as_str(), "engine.io: upgraded");
                    return Step::Upgraded(next);
                }
                if deadline.as_mut().poll(cx).is_ready() {
                    trace::debug!("engine.io: upgrade timed out, staying on polling");
                    polling.paused = false;
                    return Step::Progress;
                }
                *self = Upgrade::Pausing(next);
                Step::Idle
            }
        }
    }
}

/// The upgrades to try after a polling handshake: those the server offers
/// among the client's transports. WebTransport first; WebSocket at once,
/// or 200 ms later when WebTransport is tried too.
fn probes(config: &Config, connector: Connector, handshake: &Handshake) -> Vec<Probe> {
    let offered = |name: &str| handshake.upgrades.iter().any(|u| u == name);
    let mut probes = Vec::new();
    #[cfg(feature = "webtransport")]
    if offered("webtransport") && config.transports == crate::Transports::Upgrade {
        let (config, sid) = (config.clone(), handshake.sid.clone());
        probes.push(Probe::Connecting(
            Transport::WebTransport,
            Box::pin(async move {
                webtransport::connect(&config, Some(&sid))
                    .await
                    .map(Active::WebTransport)
            }),
        ));
    }
    // WebTransport is the one probe that may come before.
    let delay = match probes.is_empty() {
        true => Duration::ZERO,
        false => FAVOR_WEBTRANSPORT,
    };
    if offered("websocket") {
        let url = config.endpoint.websocket(Some(&handshake.sid));
        let headers = config.headers.clone();
        probes.push(Probe::Connecting(
            Transport::WebSocket,
            Box::pin(async move {
                if !delay.is_zero() {
                    sleep(delay).await;
                }
                let stream = websocket::connect(connector, url, headers).await?;
                Ok(Active::WebSocket(Ws::new(stream)))
            }),
        ));
    }
    probes
}
