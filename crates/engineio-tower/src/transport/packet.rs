//! What an Engine.IO packet read on a stream transport (WebSocket,
//! WebTransport) does, whichever framing carried it.

use std::sync::Arc;

use socketio_protocol::engine::{DecodeError, Packet};

use crate::{
    engine::{Engine, Heartbeat},
    handler, trace, CloseReason, EngineIoHandler, Message, Socket,
};

/// Hands a message to the handler, or answers a heartbeat packet; `Err`
/// carries the reason to close the session for.
pub(super) fn on_packet<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    packet: Result<Packet, DecodeError>,
    heartbeat: Option<&mut Heartbeat>,
) -> Result<(), CloseReason> {
    let v3 = socket.wire().v3;
    match packet {
        Ok(Packet::Message(m)) => handler::message(&engine.handler, socket, Message::Text(m)),
        Ok(Packet::Binary(b)) => handler::message(&engine.handler, socket, Message::Binary(b)),
        Ok(Packet::Pong(_)) if !v3 => heard(engine, socket, heartbeat),
        Ok(Packet::Ping(_)) if v3 => {
            // Protocol v3: the client pings, the server answers.
            socket.send_control("3");
            heard(engine, socket, heartbeat);
        }
        Ok(Packet::Close) => return Err(CloseReason::TransportClose),
        Ok(Packet::Ping(_) | Packet::Pong(_)) => {
            // Only the server pings in protocol v4, only the client in v3;
            // Node closes too.
            trace::warn!(sid = %socket.sid(), "engine.io: heartbeat packet in the wrong direction, closing");
            return Err(CloseReason::TransportError);
        }
        Ok(_) => {
            trace::debug!(sid = %socket.sid(), "engine.io: unexpected packet, ignored");
        }
        Err(e) => {
            trace::debug!(sid = %socket.sid(), error = %e, "engine.io: bad packet");
            return Err(CloseReason::ParseError);
        }
    }
    Ok(())
}

/// The client's heartbeat packet came: the heartbeat of the connection's
/// task, or the session's heartbeat task (polling, an upgraded session,
/// WebTransport), hears of it.
fn heard<H: EngineIoHandler>(
    engine: &Arc<Engine<H>>,
    socket: &Socket<H::Data>,
    heartbeat: Option<&mut Heartbeat>,
) {
    match heartbeat {
        Some(hb) => hb.on_pong(&engine.config, socket),
        None => socket.session().pong.notify_one(),
    }
}
