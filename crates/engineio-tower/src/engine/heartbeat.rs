//! The server's pings and the deadline of each pong.

use super::*;

/// The heartbeat of one session: ping every `ping_interval`, close when no
/// pong comes within `ping_timeout`. Deadlines count from when each step was
/// due, not from when a timer fired, so timer lag never stretches a session
/// past its timeout. Driven by the session's heartbeat task (polling), or by
/// the WebSocket task itself (WebSocket-only sessions: one task per
/// connection instead of two).
///
/// In protocol v3 the client pings and the server answers: the session is
/// closed when no ping comes within `ping_interval + ping_timeout` of the
/// last one (or of the handshake), as Node does. The deadline is then
/// always set, and the server sends no ping.
pub(crate) struct Heartbeat {
    next_ping: tokio::time::Instant,
    pong_due: Option<tokio::time::Instant>,
    v3: bool,
}

impl Heartbeat {
    pub(crate) fn new<D>(cfg: &EngineIoConfig, socket: &Socket<D>) -> Self {
        let now = tokio::time::Instant::now();
        let v3 = socket.wire().v3;
        let mut hb = Heartbeat {
            next_ping: now + cfg.ping_interval,
            pong_due: None,
            v3,
        };
        if v3 {
            hb.ping_due(cfg, socket, now);
        }
        hb
    }

    /// Protocol v3: the next ping from the client is due within
    /// `ping_interval + ping_timeout` of `now`.
    fn ping_due<D>(&mut self, cfg: &EngineIoConfig, socket: &Socket<D>, now: tokio::time::Instant) {
        let due = now + cfg.ping_interval + cfg.ping_timeout;
        self.pong_due = Some(due);
        socket.set_pong_deadline(Some(due.into_std()));
    }

    /// When [`on_timer`](Self::on_timer) is next due.
    pub(crate) fn next_wake(&self) -> tokio::time::Instant {
        self.pong_due.unwrap_or(self.next_ping)
    }

    /// The timer fired: send the ping, or close the session if the pong is
    /// overdue. Returns false once the session is closed.
    pub(crate) fn on_timer<D: Send + Sync + 'static>(
        &mut self,
        cfg: &EngineIoConfig,
        socket: &Socket<D>,
    ) -> bool {
        let now = tokio::time::Instant::now();
        match self.pong_due {
            Some(due) if now >= due => {
                trace::debug!(sid = %socket.sid(), "engine.io: ping timeout");
                socket.close_with(CloseReason::PingTimeout);
                false
            }
            Some(_) => true,
            None if now >= self.next_ping => {
                let due = self.next_ping + cfg.ping_timeout;
                self.pong_due = Some(due);
                socket.set_pong_deadline(Some(due.into_std()));
                socket.send_control("2");
                true
            }
            None => true,
        }
    }

    /// The client's heartbeat came: its pong, or in protocol v3 its ping
    /// (answered already where it was read).
    pub(crate) fn on_pong<D>(&mut self, cfg: &EngineIoConfig, socket: &Socket<D>) {
        if self.v3 {
            self.ping_due(cfg, socket, tokio::time::Instant::now());
        } else if self.pong_due.take().is_some() {
            socket.set_pong_deadline(None);
            self.next_ping = tokio::time::Instant::now() + cfg.ping_interval;
        }
    }
}

/// The heartbeat task of a session that starts on polling; then unregisters
/// the session and tells the handler.
pub(super) async fn heartbeat<H: EngineIoHandler>(engine: Arc<Engine<H>>, socket: Socket<H::Data>) {
    let cfg = &engine.config;
    let mut hb = Heartbeat::new(cfg, &socket);
    let mut closed = std::pin::pin!(socket.close_token().cancelled());
    loop {
        let pong = socket.session().pong.notified();
        tokio::select! {
            _ = &mut closed => break,
            _ = pong => hb.on_pong(cfg, &socket),
            _ = tokio::time::sleep_until(hb.next_wake()) => {
                if !hb.on_timer(cfg, &socket) {
                    break;
                }
            }
        }
    }
    finish(&engine, &socket).await;
}
