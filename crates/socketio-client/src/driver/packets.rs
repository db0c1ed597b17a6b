//! Namespaces joining and leaving, and the packets that come in.

use socketio_protocol::socket::{PacketFrames, Parser};

use super::*;

impl Driver {
    /// The user disconnects the socket.
    pub(super) fn leave(&mut self, slot: usize) {
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        if !ns.active && matches!(ns.state, NsState::Idle) {
            return;
        }
        if matches!(ns.state, NsState::Connected | NsState::Connecting) {
            write(
                self.config.parser,
                phase,
                encode_disconnect(&mut self.scratch, ns.ns()),
            );
        }
        ns.disconnected(DisconnectReason::IoClientDisconnect, false);
    }

    // ----- Socket.IO packets -----

    /// Starts connecting a socket: computes its `auth` payload, then sends
    /// its `CONNECT`.
    pub(super) fn begin_connect(&mut self, slot: usize) {
        let Some(ns) = self.namespaces.get_mut(slot) else {
            return;
        };
        match ns.auth.as_ref().unwrap_or(&self.config.auth).value() {
            AuthValue::Ready(auth) => self.send_connect(slot, &auth),
            AuthValue::Pending(fut) => ns.state = NsState::Authenticating(fut),
        }
    }

    pub(super) fn send_connect(&mut self, slot: usize, auth: &serde_json::Value) {
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        match ns.connect_payload(auth) {
            Ok(payload) => {
                let packet = Packet {
                    ns: ns.ns().clone(),
                    data: PacketData::Connect(payload.map(Str::from)),
                }
                .encode(&mut self.scratch);
                ns.state = match write(self.config.parser, phase, packet) {
                    true => NsState::Connecting,
                    false => NsState::Idle,
                };
            }
            Err(e) => {
                ns.connect_failed(&e, true);
                self.check_idle();
            }
        }
    }

    pub(super) fn on_engine_packet(&mut self, packet: engine::Packet) {
        let decoded = match packet {
            engine::Packet::Message(text) => {
                self.config.parser.decode_text(&mut self.decoder, text)
            }
            engine::Packet::Binary(data) => {
                self.config.parser.decode_binary(&mut self.decoder, data)
            }
            _ => return,
        };
        match decoded {
            Ok(Some(packet)) => self.on_packet(packet),
            Ok(None) => {}
            Err(e) => {
                trace::warn!(error = %e, "socket.io client: invalid packet from the server");
                self.on_closed(Closed::with_error(
                    DisconnectReason::ParseError,
                    Error::protocol_with("invalid Socket.IO packet", e),
                ));
            }
        }
    }

    pub(super) fn on_packet(&mut self, packet: Packet) {
        let Some(&slot) = self.by_path.get(&packet.ns) else {
            trace::debug!(ns = %packet.ns, "socket.io client: packet for a namespace without a socket");
            return;
        };
        let (namespaces, phase) = (&mut self.namespaces, &mut self.phase);
        let Some(ns) = namespaces.get_mut(slot) else {
            return;
        };
        match packet.data {
            PacketData::Connect(payload) => {
                if !ns.active || !matches!(ns.state, NsState::Connecting) {
                    // Left meanwhile: tell the server.
                    if !ns.active {
                        write(
                            self.config.parser,
                            phase,
                            encode_disconnect(&mut self.scratch, ns.ns()),
                        );
                    }
                    return;
                }
                match ns.on_connected(payload.as_deref()) {
                    Ok(buffered) => {
                        for b in buffered {
                            write(self.config.parser, phase, b.packet);
                        }
                        trace::debug!(ns = %ns.ns(), "socket.io client: connected");
                        ns.notify_connected();
                    }
                    Err(e) => {
                        ns.connect_failed(&e, true);
                        self.check_idle();
                    }
                }
            }
            PacketData::ConnectError(payload) => {
                let e = connect_error(&payload);
                trace::debug!(ns = %ns.ns(), error = %e, "socket.io client: connection refused");
                ns.connect_failed(&e, true);
                self.check_idle();
            }
            PacketData::Disconnect => {
                ns.disconnected(DisconnectReason::IoServerDisconnect, false);
                self.check_idle();
            }
            PacketData::Event(event) => ns.dispatch(event),
            PacketData::Ack(ack) => ns.on_ack(ack),
        }
    }
}

/// Queues a packet on the open session; false if there is none, or the
/// parser cannot write it.
pub(super) fn write(parser: Parser, phase: &mut Phase, packet: EncodedPacket) -> bool {
    let Phase::Open(session) = phase else {
        return false;
    };
    match parser.frames(packet) {
        Ok(PacketFrames::One(frame)) => session.send(frame),
        Ok(PacketFrames::Several(frames)) => {
            for frame in frames {
                session.send(frame);
            }
        }
        // Only the msgpack parser fails, for data nested deeper than it
        // allows or a reserved event name: not sent, as if not connected.
        Err(e) => {
            trace::warn!(error = %e, packet = %e.packet, "socket.io client: a packet cannot be written in msgpack, not sent");
            return false;
        }
    }
    true
}

/// The error of a `CONNECT_ERROR` payload: `{"message":...,"data":...}`,
/// or a plain string from old servers.
pub(super) fn connect_error(payload: &str) -> Error {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(mut obj)) => {
            let message = match obj.remove("message") {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => "connection refused".to_owned(),
            };
            Error::rejected(message, obj.remove("data"))
        }
        Ok(serde_json::Value::String(message)) => Error::rejected(message, None),
        _ => Error::rejected(payload.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_connect_errors() {
        let e = connect_error(r#"{"message":"Not authorized","data":{"code":4}}"#);
        assert_eq!(e.message(), Some("Not authorized"));
        assert_eq!(e.data(), Some(&serde_json::json!({"code": 4})));
        let e = connect_error(r#""Invalid namespace""#);
        assert_eq!(e.message(), Some("Invalid namespace"));
        assert_eq!(e.data(), None);
    }
}
