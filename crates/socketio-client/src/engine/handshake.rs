use serde::Deserialize;

use crate::Error;

/// The payload of the server's `open` packet.
///
/// Read leniently (a session id of any length, `maxPayload` optional), so
/// that servers other than Node's can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Handshake {
    pub(crate) sid: String,
    #[serde(default)]
    pub(crate) upgrades: Vec<String>,
    pub(crate) ping_interval: u64,
    pub(crate) ping_timeout: u64,
    #[serde(default)]
    pub(crate) max_payload: Option<u64>,
}

impl Handshake {
    pub(crate) fn parse(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::protocol_with("invalid handshake", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spec_example() {
        let h = Handshake::parse(
            r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        )
        .unwrap();
        assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(h.upgrades, ["websocket"]);
        assert_eq!((h.ping_interval, h.ping_timeout), (25000, 20000));
        assert_eq!(h.max_payload, Some(1_000_000));
        let h = Handshake::parse(r#"{"sid":"x","pingInterval":1,"pingTimeout":2}"#).unwrap();
        assert!(h.upgrades.is_empty() && h.max_payload.is_none());
        assert!(Handshake::parse(r#"{"sid":1}"#).unwrap_err().is_protocol());
    }
}
