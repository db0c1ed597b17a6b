//! Incoming events: the socket's ordered queue of jobs, back-pressure on
//! its connection, and the handler lookup.

use super::*;

impl SocketRef {
    /// Queues a job behind this socket's running handlers, or starts it
    /// here when none runs; returns how many jobs wait when it was queued.
    pub(crate) fn run(&self, job: Job) -> Option<usize> {
        match self.0.serial.enqueue(job) {
            Ok(job) => {
                serial::drive(self.clone(), job);
                None
            }
            Err(waiting) => Some(waiting),
        }
    }

    /// Dispatches an event to its handler, in order.
    pub(crate) fn dispatch(&self, parts: MessageParts) {
        self.0.ns.metrics.event_received();
        if let Some(o) = self.0.ns.shared.observer.get() {
            o.event_received(self, &parts.event, &parts.args);
        }
        // Nothing runs or waits (the usual case): the handler starts here,
        // with no job allocated to queue it. (A generic `run` that boxes only
        // when it queues was tried: moving the event through it cost ~20 more
        // instruction-cache misses per event under callgrind.)
        if self.0.serial.try_start() {
            self.resume_reading_if_drained();
            let socket = self.clone();
            serial::drive_with(self.clone(), move || socket.handle_event(parts));
            return;
        }
        let socket = self.clone();
        let waiting = self.run(Box::new(move || {
            socket.resume_reading_if_drained();
            socket.handle_event(parts)
        }));
        if waiting.is_some_and(|n| n >= MAX_QUEUED_EVENTS)
            && !self.0.reading_held.swap(true, Ordering::AcqRel)
        {
            trace::debug!(ns = %self.ns(), sid = %self.id(), "socket.io: handlers fall behind, pausing reads");
            self.0.conn.pause_reading();
        }
    }

    fn resume_reading_if_drained(&self) {
        if self.0.reading_held.load(Ordering::Acquire)
            && self.0.serial.len() <= RESUME_QUEUED_EVENTS
            && self.0.reading_held.swap(false, Ordering::AcqRel)
        {
            self.0.conn.resume_reading();
        }
    }

    /// Runs the packet middlewares and the event's handler.
    fn handle_event(self, parts: MessageParts) -> BoxFuture<()> {
        let ready = || -> BoxFuture<()> { Box::pin(std::future::ready(())) };
        if !self.connected() {
            trace::debug!(ns = %self.ns(), sid = %self.id(), event = %parts.event, "socket.io: event for a disconnected socket dropped");
            return ready();
        }
        // The slice's length is read in place: with no middleware, nothing
        // is cloned and the shared list is not touched.
        let middlewares = {
            let list = read(&self.0.packet_middlewares);
            (!list.is_empty()).then(|| list.clone())
        };
        for mw in middlewares.iter().flat_map(|m| m.iter()) {
            match crate::panic::catch(|| mw(&self, &parts)) {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => return crate::extract::rejected(&self, &parts, &reason),
                Err(p) => {
                    crate::panic::panicked(&self, "packet middleware", Some(&parts.event), &p);
                    return ready();
                }
            }
        }
        let handler = read(&self.0.handlers)
            .get(&parts.event)
            .or_else(|| read(&self.0.any_handler).clone().map(|h| (h, false)));
        match handler {
            Some((h, false)) => h.call(self, parts),
            Some((h, true)) => {
                // Handlers made from functions contain their own panics; one
                // that implements `MessageHandler` by hand may not.
                let socket = self.clone();
                let fut = CatchPanic::new(h.call(self, parts));
                tokio::spawn(async move {
                    if let Err(p) = fut.await {
                        crate::panic::panicked(&socket, "event handler", None, &p);
                    }
                });
                ready()
            }
            None => {
                trace::debug!(ns = %self.ns(), sid = %self.id(), event = %parts.event, "socket.io: no handler for event");
                ready()
            }
        }
    }
}
