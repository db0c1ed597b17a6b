//! The Engine.IO connection's life: opening it, reconnecting with back-off,
//! noticing it closed or idle, closing it.

use super::*;

impl Driver {
    pub(super) fn any_active(&self) -> bool {
        self.namespaces.iter().any(|ns| ns.active)
    }

    pub(super) fn open(&mut self, attempt: u32) {
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

    pub(super) fn on_open(&mut self, session: Session, attempt: u32) {
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

    pub(super) fn on_open_failed(&mut self, e: Error, attempt: u32) {
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
    pub(super) fn schedule_reconnect(&mut self) {
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
    pub(super) fn on_closed(&mut self, closed: Closed) {
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
    pub(super) fn check_idle(&mut self) {
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

    pub(super) fn close_all(&mut self) {
        for slot in 0..self.namespaces.len() {
            self.leave(slot);
        }
        self.check_idle();
    }
}
