//! The WebTransport transport (feature `webtransport`): a WebTransport
//! session over HTTP/3, whose first bidirectional stream, opened by the
//! client, carries every packet both ways as a length-prefixed frame
//! ([`socketio_protocol::webtransport`]).
//!
//! As the official client: the session goes to `https://host:port/path/`
//! with no query; its first frame is `0` for a new session, or
//! `0{"sid":"..."}` to upgrade a polling one.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::{Buf, BytesMut};
use socketio_protocol::{
    engine::{Frame, Packet},
    webtransport::{put_frame, FrameDecoder},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wtransport::{
    config::IpBindConfig,
    endpoint::{endpoint_side, ConnectOptions},
    tls::{
        client::{build_default_tls_config, ServerHashVerification},
        Sha256Digest,
    },
    ClientConfig, Connection, Endpoint, RecvStream, SendStream,
};

use super::Closed;
use crate::{config::Config, tls::TlsSettings, trace, DisconnectReason, Error};

/// The largest frame read: a packet of the server's, not bounded by the
/// protocol (Node's client takes up to 2^53 − 1 bytes), but by memory.
const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// How much one read takes from the stream at most.
const READ_CHUNK: usize = 16 * 1024;

/// The rustls configuration of a WebTransport session: the pinned
/// certificate hashes alone when there are any (a browser's
/// `serverCertificateHashes`: a self-signed ECDSA P-256 certificate valid
/// for at most 14 days), otherwise the root certificates.
fn tls_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, Error> {
    if settings.certificate_hashes.is_empty() {
        return Ok(build_default_tls_config(settings.root_store()?, None));
    }
    let verifier = ServerHashVerification::new(
        settings
            .certificate_hashes
            .iter()
            .map(|h| Sha256Digest::new(*h)),
    );
    Ok(build_default_tls_config(
        Arc::new(rustls::RootCertStore::empty()),
        Some(Arc::new(verifier)),
    ))
}

/// Opens a session and its stream, and sends the first packet: `0`, or
/// `0{"sid":..}` for an upgrade of session `sid`.
pub(crate) async fn connect(config: &Config, sid: Option<&str>) -> Result<Wt, Error> {
    let tls = tls_config(&config.tls)?;
    let quic = |bind| {
        ClientConfig::builder()
            .with_bind_config(bind)
            .with_custom_tls(tls.clone())
            // No idle timeout of ours: the server's (its ping interval plus
            // its ping timeout) applies, and the heartbeat watches the session.
            .max_idle_timeout(None)
            .map(|builder| builder.build())
            .map_err(|e| Error::config(format!("WebTransport: {e}")))
    };
    // Dual-stack IPv6 reaches both families; a host without IPv6 takes IPv4.
    let endpoint = match Endpoint::client(quic(IpBindConfig::InAddrAnyDual)?) {
        Ok(endpoint) => endpoint,
        Err(_) => Endpoint::client(quic(IpBindConfig::InAddrAnyV4)?)
            .map_err(|e| Error::transport("cannot open a UDP socket for WebTransport", e))?,
    };
    let mut options = ConnectOptions::builder(config.endpoint.webtransport());
    for (name, value) in &config.headers {
        match value.to_str() {
            Ok(value) => options = options.add_header(name.as_str(), value),
            Err(_) => {
                trace::debug!(header = %name, "socket.io client: a header that is not text is left out of the WebTransport request")
            }
        }
    }
    let conn = endpoint
        .connect(options.build())
        .await
        .map_err(|e| Error::transport("cannot open the WebTransport session", e))?;
    let (send, recv) = conn
        .open_bi()
        .await
        .map_err(|e| Error::transport("cannot open the WebTransport stream", e))?
        .await
        .map_err(|e| Error::transport("cannot open the WebTransport stream", e))?;
    let mut wt = Wt {
        conn,
        send,
        recv,
        _endpoint: endpoint,
        outbox: BytesMut::new(),
        inbox: BytesMut::new(),
        decoder: FrameDecoder::new(MAX_FRAME_BYTES),
        closing: CloseStep::Flush,
    };
    let open = match sid {
        None => String::new(),
        Some(sid) => serde_json::json!({ "sid": sid }).to_string(),
    };
    wt.send(Frame::from(&Packet::Open(open.into())));
    std::future::poll_fn(|cx| wt.poll_write(cx)).await?;
    Ok(wt)
}

/// An open WebTransport session: its stream, and the bytes waiting to be
/// written to it or decoded from it.
pub(crate) struct Wt {
    conn: Connection,
    send: SendStream,
    recv: RecvStream,
    /// The QUIC endpoint of this session alone, kept as long as it.
    _endpoint: Endpoint<endpoint_side::Client>,
    outbox: BytesMut,
    inbox: BytesMut,
    decoder: FrameDecoder,
    closing: CloseStep,
}

/// How far [`Wt::poll_close`] is.
#[derive(Clone, Copy)]
enum CloseStep {
    /// Writing what is queued.
    Flush,
    /// Finishing the stream.
    Finish,
    /// Reading until the server closes its side: a QUIC close would drop
    /// whatever of ours it has not acknowledged yet.
    Drain,
}

impl Wt {
    pub(crate) fn send(&mut self, frame: Frame) {
        put_frame(&mut self.outbox, &frame);
    }

    /// Writes what is queued; ready when all of it is handed to QUIC.
    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let write_error = |e| Error::transport("cannot write to the WebTransport stream", e);
        while !self.outbox.is_empty() {
            let n = ready!(Pin::new(&mut self.send).poll_write(cx, &self.outbox))
                .map_err(write_error)?;
            if n == 0 {
                return Poll::Ready(Err(write_error(io::ErrorKind::WriteZero.into())));
            }
            self.outbox.advance(n);
        }
        ready!(Pin::new(&mut self.send).poll_flush(cx)).map_err(write_error)?;
        Poll::Ready(Ok(()))
    }

    /// Reads from the stream into `inbox`; `Ok(false)` at its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let mut chunk = [0; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut self.recv).poll_read(cx, &mut buf))?;
        self.inbox.extend_from_slice(buf.filled());
        Poll::Ready(Ok(!buf.filled().is_empty()))
    }

    /// The next Engine.IO packet.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Packet, Closed>> {
        loop {
            match self.decoder.decode(&mut self.inbox) {
                Ok(Some(Frame::Text(text))) => {
                    return Poll::Ready(Packet::decode_text(text).map_err(|e| {
                        Closed::with_error(
                            DisconnectReason::ParseError,
                            Error::protocol_with("invalid Engine.IO packet", e),
                        )
                    }))
                }
                Ok(Some(Frame::Binary(data))) => {
                    return Poll::Ready(Ok(Packet::decode_binary(data)))
                }
                Ok(None) => {}
                Err(e) => {
                    return Poll::Ready(Err(Closed::with_error(
                        DisconnectReason::ParseError,
                        Error::protocol_with("invalid WebTransport frame", e),
                    )))
                }
            }
            match ready!(self.poll_fill(cx)) {
                Ok(true) => {}
                Ok(false) => {
                    return Poll::Ready(Err(Closed::new(DisconnectReason::TransportClose)))
                }
                Err(e) => return Poll::Ready(Err(read_error(e))),
            }
        }
    }

    /// Writes what is queued, finishes the stream, waits for the server
    /// to close its side, then closes the session.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let done = match self.closing {
                CloseStep::Flush => ready!(self.poll_write(cx)).is_err(),
                CloseStep::Finish => ready!(Pin::new(&mut self.send).poll_shutdown(cx)).is_err(),
                CloseStep::Drain => !matches!(ready!(self.poll_fill(cx)), Ok(true)),
            };
            self.inbox.clear();
            self.closing = match (done, self.closing) {
                (false, CloseStep::Flush) => CloseStep::Finish,
                (false, CloseStep::Finish | CloseStep::Drain) => CloseStep::Drain,
                (true, _) => break,
            };
        }
        self.conn.close(0u32.into(), b"");
        Poll::Ready(())
    }
}

/// A stream that ends because the session closed is a `transport close`,
/// as a WebSocket's; other failures are `transport error`s.
fn read_error(e: io::Error) -> Closed {
    let reason = match e.kind() {
        io::ErrorKind::NotConnected
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => DisconnectReason::TransportClose,
        _ => DisconnectReason::TransportError,
    };
    Closed::with_error(
        reason,
        Error::transport("cannot read the WebTransport stream", e),
    )
}
