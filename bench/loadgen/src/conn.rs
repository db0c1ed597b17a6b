//! A socket of the main namespace over either transport the scenarios
//! measure side by side, WebSocket ([`sio`]) or WebTransport ([`wt`]), and
//! how to open one.

use std::{fmt, net::SocketAddr, ops::Deref, str::FromStr, sync::Arc};

use futures_util::SinkExt;
use socketio_protocol::Str;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::{
    cli::{err, Error, Result},
    scenario::{source_of, PER_SOURCE},
    sio::{self, Ws},
    wt::{self, Wt, WtClient},
};

/// The transport a scenario's sockets use (`--transport`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Engine.IO over WebSocket, straight (no polling first).
    #[default]
    WebSocket,
    /// Engine.IO over WebTransport (HTTP/3), straight.
    WebTransport,
}

impl FromStr for Transport {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "websocket" => Ok(Transport::WebSocket),
            "webtransport" => Ok(Transport::WebTransport),
            other => Err(err!(
                "unknown transport {other:?} (websocket or webtransport)"
            )),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::WebSocket => "websocket",
            Transport::WebTransport => "webtransport",
        })
    }
}

/// A socket of the main namespace.
#[derive(Debug)]
pub(crate) enum Conn {
    /// Over WebSocket.
    Ws(Box<Ws>),
    /// Over WebTransport.
    Wt(Box<Wt>),
}

/// A text packet received, borrowed as `&str` whatever its transport.
#[derive(Debug)]
pub(crate) enum Text {
    /// From a WebSocket.
    Ws(Utf8Bytes),
    /// From a WebTransport stream.
    Wt(Str),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Ws(t) => t.as_str(),
            Text::Wt(t) => t.as_str(),
        }
    }
}

impl Conn {
    /// Sends one text packet (`42...`); the WebSocket takes the string
    /// without a copy, as the scenarios did before there were two transports.
    pub(crate) async fn send_text(&mut self, text: String) -> Result<()> {
        match self {
            Conn::Ws(ws) => Ok(ws.send(Message::text(text)).await?),
            Conn::Wt(wt) => wt.send_text(&text).await,
        }
    }

    /// The next text packet. Cancel-safe, so that it may race a timer in a
    /// `select!`.
    pub(crate) async fn next_text(&mut self) -> Result<Text> {
        match self {
            Conn::Ws(ws) => sio::next_text(ws).await.map(Text::Ws),
            Conn::Wt(wt) => wt.next_text().await.map(Text::Wt),
        }
    }

    /// Answers an Engine.IO ping.
    pub(crate) async fn pong(&mut self) -> Result<()> {
        match self {
            Conn::Ws(ws) => Ok(ws.send(sio::pong()).await?),
            Conn::Wt(wt) => wt.send_text("3").await,
        }
    }
}

/// What opens the sockets of a run, over one transport.
#[derive(Debug, Clone)]
pub(crate) enum Dialer {
    /// WebSocket to `addr`, from `sources` source addresses (see
    /// [`source_of`]).
    WebSocket { addr: SocketAddr, sources: usize },
    /// WebTransport through these client endpoints.
    WebTransport(Arc<WtClient>),
}

impl Dialer {
    /// A dialer for `n` sockets to `addr` over `transport`. WebSocket:
    /// `sources` source addresses (0: as many as `n` needs). WebTransport:
    /// the server's certificate hash from `cert_hash` (base64) or, when
    /// absent, from the server's `GET /webtransport-hash`, and `endpoints`
    /// client endpoints (0: one per [`wt::SESSIONS_PER_ENDPOINT`] sessions).
    pub(crate) async fn new(
        transport: Transport,
        addr: SocketAddr,
        n: usize,
        sources: usize,
        cert_hash: Option<&str>,
        endpoints: usize,
    ) -> Result<Self> {
        Ok(match transport {
            Transport::WebSocket => Dialer::WebSocket {
                addr,
                sources: if sources == 0 {
                    n.div_ceil(PER_SOURCE)
                } else {
                    sources
                },
            },
            Transport::WebTransport => {
                let hash = match cert_hash {
                    Some(b64) => wt::decode_hash(b64)?,
                    None => wt::fetch_hash(addr).await?,
                };
                let endpoints = if endpoints == 0 {
                    n.div_ceil(wt::SESSIONS_PER_ENDPOINT)
                } else {
                    endpoints
                };
                Dialer::WebTransport(Arc::new(WtClient::new(addr, hash, endpoints)?))
            }
        })
    }

    /// Opens socket `i` and joins the main namespace; returns it with the
    /// Engine.IO open packet.
    pub(crate) async fn connect_open(&self, i: usize) -> Result<(Conn, Text)> {
        match self {
            Dialer::WebSocket { addr, sources } => {
                let (ws, open) = sio::connect_open(*addr, source_of(i, *sources)).await?;
                Ok((Conn::Ws(Box::new(ws)), Text::Ws(open)))
            }
            Dialer::WebTransport(client) => {
                let (wt, open) = client.connect_open(i).await?;
                Ok((Conn::Wt(Box::new(wt)), Text::Wt(open)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports() {
        assert_eq!(
            "webtransport".parse::<Transport>().ok(),
            Some(Transport::WebTransport)
        );
        assert_eq!(
            "websocket".parse::<Transport>().ok(),
            Some(Transport::WebSocket)
        );
        assert!("polling".parse::<Transport>().is_err());
        assert_eq!(Transport::WebTransport.to_string(), "webtransport");
    }

    #[test]
    fn texts_read_as_str() {
        assert_eq!(&*Text::Ws(Utf8Bytes::from_static("2")), "2");
        assert_eq!(&*Text::Wt(Str::from_static("40{}")), "40{}");
    }
}
