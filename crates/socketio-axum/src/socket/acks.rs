//! A socket's acknowledgements: those it waits for and those it sends.

use super::*;

impl SocketRef {
    pub(crate) fn register_ack(&self, id: AckId) -> oneshot::Receiver<AckReply> {
        let (tx, rx) = oneshot::channel();
        crate::lock(&self.0.acks).insert(id, tx);
        rx
    }

    pub(crate) fn forget_ack(&self, id: AckId) {
        crate::lock(&self.0.acks).remove(&id);
    }

    /// An acknowledgement arrived from the client.
    pub(crate) fn on_ack(&self, id: AckId, reply: AckReply) {
        match crate::lock(&self.0.acks).remove(&id) {
            Some(tx) => {
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
