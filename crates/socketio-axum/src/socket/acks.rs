//! A socket's acknowledgements: those it waits for and those it sends.

use super::*;

impl SocketRef {
    pub(crate) fn register_ack(&self, id: AckId) -> oneshot::Receiver<AckReply> {
        let (tx, rx) = oneshot::channel();
        if crate::lock(&self.0.acks).insert(id, tx).is_none() {
            self.0.ns.metrics.acks_pending(1.0);
        }
        rx
    }

    /// Stops waiting for the acknowledgement `id` (its emit failed).
    pub(crate) fn forget_ack(&self, id: AckId) {
        if crate::lock(&self.0.acks).remove(&id).is_some() {
            self.0.ns.metrics.acks_pending(-1.0);
        }
    }

    /// The acknowledgement `id` did not arrive in time.
    pub(crate) fn ack_timed_out(&self, id: AckId) {
        self.forget_ack(id);
        self.0.ns.metrics.ack_timed_out();
    }

    /// Stops waiting for every acknowledgement (the socket left).
    pub(crate) fn forget_all_acks(&self) {
        let mut acks = crate::lock(&self.0.acks);
        if !acks.is_empty() {
            self.0.ns.metrics.acks_pending(-(acks.len() as f64));
            acks.clear();
        }
    }

    /// An acknowledgement arrived from the client.
    pub(crate) fn on_ack(&self, id: AckId, reply: AckReply) {
        let pending = crate::lock(&self.0.acks).remove(&id);
        match pending {
            Some(tx) => {
                self.0.ns.metrics.acks_pending(-1.0);
                let _ = tx.send(reply);
            }
            None => {
                trace::debug!(ns = %self.ns(), sid = %self.id(), id, "socket.io: ack for no pending emit (late or unknown), ignored")
            }
        }
    }

    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        id: AckId,
        data: &T,
    ) -> Result<(), EmitError> {
        let packet = encode_ack(&mut BytesMut::new(), self.ns(), id, data)?;
        self.send_packet(packet)
    }

    pub(crate) fn send_ack_raw(&self, id: AckId, args: RawArgs) -> Result<(), EmitError> {
        let packet = encode_ack_raw(
            &mut BytesMut::new(),
            self.ns(),
            id,
            &args.args,
            args.attachments,
        );
        self.send_packet(packet)
    }

    /// Tells the client its event was refused: `[{"error": message}]`.
    pub(crate) fn send_ack_error(&self, id: AckId, message: &str) {
        let _ = self.send_ack(id, &(serde_json::json!({ "error": message }),));
    }
}
