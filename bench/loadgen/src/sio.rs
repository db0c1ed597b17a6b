//! A Socket.IO v5 client over Engine.IO v4 WebSocket, as thin as the
//! benchmarks allow: it connects straight over WebSocket (no polling first),
//! joins the main namespace, and leaves the text frames to the scenarios,
//! with helpers to build events and read back their timestamps.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    tungstenite::{protocol::WebSocketConfig, Message, Utf8Bytes},
    WebSocketStream,
};

use crate::cli::{err, Result};

/// A connected socket of the main namespace.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// How long a handshake step may take before the connection counts as failed.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a TCP connection from `source` (any port), or from the kernel's
/// choice of address.
pub(crate) async fn tcp_connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream> {
    let stream = match source {
        None => TcpStream::connect(addr).await?,
        Some(ip) => {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(addr).await?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects over WebSocket and joins the main namespace: upgrade, Engine.IO
/// open (`0{...}`), Socket.IO connect (`40` → `40{"sid":...}`).
pub(crate) async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<Ws> {
    Ok(connect_open(addr, source).await?.0)
}

/// Like [`connect`], also returning the Engine.IO open packet (`0{...}`),
/// which carries the server's heartbeat settings.
pub(crate) async fn connect_open(
    addr: SocketAddr,
    source: Option<IpAddr>,
) -> Result<(Ws, Utf8Bytes)> {
    tokio::time::timeout(STEP_TIMEOUT, connect_inner(addr, source))
        .await
        .map_err(|_| err!("handshake with {addr} timed out"))?
}

async fn connect_inner(addr: SocketAddr, source: Option<IpAddr>) -> Result<(Ws, Utf8Bytes)> {
    let stream = tcp_connect(addr, source).await?;
    // A small read buffer: the connect storm holds ten thousand of these,
    // the messages are small, and tungstenite zeroes the free part of the
    // buffer before each read. No write buffering: every send is flushed.
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config)).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with("0{") {
        return Err(err!("expected an Engine.IO open packet, got {open:?}"));
    }
    ws.send(Message::text("40")).await?;
    loop {
        let text = next_text(&mut ws).await?;
        if text.starts_with("40") {
            return Ok((ws, open));
        }
        if text.starts_with("44") {
            return Err(err!("connect refused: {text}"));
        }
        // A server may ping as soon as the session opens (socketioxide
        // does), before the connect ack: a real client answers it, and a
        // ping left unanswered ends the session at the ping timeout.
        if text == "2" {
            ws.send(pong()).await?;
        }
    }
}

/// The next text frame; pings at the WebSocket level are answered by
/// tungstenite itself.
pub(crate) async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t),
            Some(Ok(Message::Close(_))) | None => return Err(err!("connection closed")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// What the scenarios do with an incoming text frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// Engine.IO ping: answer `3`.
    Ping,
    /// An acknowledgement (`43<id>[...]`), with the timestamp found in its
    /// arguments, if any.
    Ack(Option<u64>),
    /// An event (`42[...]`), with its timestamp, if any.
    Event(Option<u64>),
    /// Anything else.
    Other,
}

/// Sorts a text frame without parsing its JSON.
pub(crate) fn classify(text: &str) -> Incoming {
    if text == "2" {
        Incoming::Ping
    } else if let Some(rest) = text.strip_prefix("43") {
        Incoming::Ack(timestamp(rest))
    } else if let Some(rest) = text.strip_prefix("42") {
        Incoming::Event(timestamp(rest))
    } else {
        Incoming::Other
    }
}

/// The Engine.IO pong.
pub(crate) fn pong() -> Message {
    Message::text("3")
}

/// The argument every event carries: `{"t":<ns>,"p":"xxx..."}`, where `t`
/// is [`clock::now_ns`](crate::clock::now_ns) at sending and `p` pads the
/// payload to the size asked for.
pub(crate) fn argument(t_ns: u64, pad: &str) -> String {
    format!(r#"{{"t":{t_ns},"p":"{pad}"}}"#)
}

/// `42<id>["<event>",<argument>]`: an event asking for an acknowledgement.
pub(crate) fn event_with_ack(event: &str, id: u64, t_ns: u64, pad: &str) -> String {
    format!(r#"42{id}["{event}",{}]"#, argument(t_ns, pad))
}

/// The padding string for a payload of `bytes`.
pub(crate) fn padding(bytes: usize) -> String {
    "x".repeat(bytes)
}

/// The length of [`marked_padding`]'s marker, `t=<19 digits>;`.
pub(crate) const MARKER_LEN: usize = 22;

/// The padding for a payload of `bytes` that starts with a text marker of
/// the send timestamp, `t=<t_ns, 19 digits>;`, then `x` up to `bytes` (a
/// pad shorter than the marker grows to it). What an adapter publishes
/// carries the pad's bytes as they are, in msgpack as in JSON, so the
/// broadcast is found in it by [`marker`] without decoding it.
pub(crate) fn marked_padding(t_ns: u64, bytes: usize) -> String {
    let mut pad = format!("t={t_ns:019};");
    pad.extend(std::iter::repeat_n('x', bytes.saturating_sub(MARKER_LEN)));
    pad
}

/// The timestamp of the first [`marked_padding`] marker in `bytes`.
pub(crate) fn marker(bytes: &[u8]) -> Option<u64> {
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(2).position(|w| w == b"t=") {
        let start = from + at;
        let digits = bytes.get(start + 2..start + MARKER_LEN - 1);
        let ends = bytes.get(start + MARKER_LEN - 1) == Some(&b';');
        if let Some(d) = digits.filter(|d| ends && d.iter().all(u8::is_ascii_digit)) {
            return std::str::from_utf8(d).ok()?.parse().ok();
        }
        from = start + 1;
    }
    None
}

/// Finds `"t":<digits>` in the arguments. Servers may reorder the object's
/// keys (serde_json's map is sorted), so the key is searched, not assumed
/// first; the padding is `x` after an optional `t=<digits>;`, so no false
/// match.
pub(crate) fn timestamp(text: &str) -> Option<u64> {
    number_field(text, "t")
}

/// The acknowledgement id of `43<id>[...]`.
pub(crate) fn ack_id(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("43")?;
    let end = rest.find('[')?;
    rest[..end].parse().ok()
}

/// Finds `"<key>":<digits>` in a JSON text whose strings cannot hold that
/// pattern (the padding is all `x`; the open packet's keys are known).
pub(crate) fn number_field(text: &str, key: &str) -> Option<u64> {
    let pattern = format!(r#""{key}":"#);
    let at = text.find(&pattern)? + pattern.len();
    let digits = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_frames() {
        assert_eq!(classify("2"), Incoming::Ping);
        assert_eq!(
            classify(r#"437[{"t":12,"p":"xx"}]"#),
            Incoming::Ack(Some(12))
        );
        assert_eq!(
            classify(r#"431[{"p":"xx","t":34}]"#),
            Incoming::Ack(Some(34))
        );
        assert_eq!(classify("431[]"), Incoming::Ack(None));
        assert_eq!(
            classify(r#"42["broadcast",{"t":5,"p":""}]"#),
            Incoming::Event(Some(5))
        );
        assert_eq!(classify(r#"40{"sid":"a"}"#), Incoming::Other);
    }

    #[test]
    fn reads_fields_and_ack_ids() {
        let open = r#"0{"sid":"a","upgrades":[],"pingInterval":5000,"pingTimeout":4000}"#;
        assert_eq!(number_field(open, "pingInterval"), Some(5000));
        assert_eq!(number_field(open, "pingTimeout"), Some(4000));
        assert_eq!(number_field(open, "maxPayload"), None);
        assert_eq!(ack_id(r#"4312[{"t":1}]"#), Some(12));
        assert_eq!(ack_id("437[]"), Some(7));
        assert_eq!(ack_id("43[]"), None);
        assert_eq!(ack_id(r#"42["x"]"#), None);
    }

    #[test]
    fn marks_padding() {
        let pad = marked_padding(1_234_567, 64);
        assert_eq!(pad.len(), 64);
        assert!(pad.starts_with("t=0000000000001234567;xx"));
        assert_eq!(marked_padding(5, 3).len(), MARKER_LEN);
        let event = event_with_ack("broadcast", 9, 1_234_567, &pad);
        assert_eq!(classify(&event), Incoming::Event(Some(1_234_567)));
        // In a msgpack message: a `t=` before the marker, and bytes around.
        let mut msg = b"\x93\xa1t=\xd9\x40".to_vec();
        msg.extend_from_slice(pad.as_bytes());
        assert_eq!(marker(&msg), Some(1_234_567));
        assert_eq!(marker(b"t=123;"), None);
        assert_eq!(marker(&msg[..20]), None);
        assert_eq!(marker(b"t=00000000000000000x1;"), None);
    }

    #[test]
    fn builds_events() {
        assert_eq!(
            event_with_ack("echo", 3, 99, "xx"),
            r#"423["echo",{"t":99,"p":"xx"}]"#
        );
    }
}
