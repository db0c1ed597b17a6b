use serde::{Deserialize, Serialize};

use super::Sid;

/// The JSON payload of the `open` packet sent at the handshake.
///
/// ```
/// use socketio_protocol::engine::{OpenPacket, Sid};
///
/// let open = OpenPacket {
///     sid: "lv_VI97HAXpY6yYWAAAC".parse().unwrap(),
///     upgrades: vec!["websocket".into()],
///     ping_interval: 25000,
///     ping_timeout: 20000,
///     max_payload: 1000000,
/// };
/// let json = open.to_json();
/// assert_eq!(json, r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#);
/// assert_eq!(serde_json::from_str::<OpenPacket>(&json).unwrap(), open);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id.
    pub sid: Sid,
    /// Transports the client may upgrade to (`["websocket"]` over polling, `[]` over WebSocket).
    pub upgrades: Vec<String>,
    /// Milliseconds between two pings from the server.
    pub ping_interval: u64,
    /// Milliseconds the client has to answer a ping.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts.
    pub max_payload: u64,
}

impl OpenPacket {
    /// The JSON text of the packet (without the `0` type digit).
    pub fn to_json(&self) -> String {
        // Serializing plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
