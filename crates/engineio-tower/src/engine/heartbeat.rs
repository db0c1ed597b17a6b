//! The server's pings and the deadline of each pong.

use super::*;

/// The heartbeat of one session: ping every `ping_interval`, close when no
/// pong comes within `ping_timeout`. Deadlines count from when each step was
/// due, not from when a timer fired, so timer lag never stretches a session
/// past its timeout. Driven by the session's heartbeat task (polling), or by
/// the WebSocket task itself (WebSocket-only sessions: one task per
/// connection instead of two).
pub(crate) struct Heartbeat {
    next_ping: tokio::time::Instant,
    pong_due: Option<tokio::time::Instant>,
}

impl Heartbeat {
    pub(crate) fn new(cfg: &EngineIoConfig) -> Self {
        Heartbeat {
            next_ping: tokio::time::Instant::now() + cfg.ping_interval,
            pong_due: None,
        }
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

    /// The client answered.
    pub(crate) fn on_pong<D>(&mut self, cfg: &EngineIoConfig, socket: &Socket<D>) {
        if self.pong_due.take().is_some() {
            socket.set_pong_deadline(None);
            self.next_ping = tokio::time::Instant::now() + cfg.ping_interval;
        }
    }
}

/// The heartbeat task of a session that starts on polling; then unregisters
/// the session and tells the handler.
pub(super) async fn heartbeat<H: EngineIoHandler>(engine: Arc<Engine<H>>, socket: Socket<H::Data>) {
    let cfg = &engine.config;
    let mut hb = Heartbeat::new(cfg);
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
