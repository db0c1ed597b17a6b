//! permessage-deflate on a session's WebSocket (feature `deflate`): the
//! offer taken at the handshake, and the compression of outgoing messages
//! at or above the configured threshold. Without the feature, or when the
//! client made no acceptable offer, nothing here runs: [`Deflate::off`].

use socketio_protocol::engine::Frame;

/// What the handshake agreed, and the compressor, made at the first
/// message worth compressing (a compressor holds some 300 KiB: idle
/// connections and small messages never pay for one).
#[derive(Debug, Default)]
pub(crate) struct Deflate {
    #[cfg(feature = "deflate")]
    on: Option<On>,
}

#[cfg(feature = "deflate")]
#[derive(Debug)]
struct On {
    agreed: socketio_protocol::websocket::deflate::Agreed,
    threshold: usize,
    level: u32,
    deflater: Option<Box<socketio_protocol::websocket::deflate::Deflater>>,
    scratch: Vec<u8>,
}

impl Deflate {
    /// No compression.
    pub(crate) fn off() -> Deflate {
        Deflate::default()
    }

    /// The extension agreed from the request's offers, and the value of the
    /// response's `Sec-WebSocket-Extensions`; off (and `None`) when the
    /// server does not compress or the client offered nothing acceptable.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    pub(crate) fn negotiate(
        parts: &http::request::Parts,
        config: &crate::EngineIoConfig,
    ) -> (Deflate, Option<String>) {
        #[cfg(feature = "deflate")]
        if let Some(threshold) = config.per_message_deflate {
            let offers = parts
                .headers
                .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .filter_map(|v| v.to_str().ok());
            if let Some(agreed) = socketio_protocol::websocket::deflate::negotiate(offers) {
                let response = agreed.response();
                let on = On {
                    agreed,
                    threshold,
                    level: config.deflate_level,
                    deflater: None,
                    scratch: Vec::new(),
                };
                return (Deflate { on: Some(on) }, Some(response));
            }
        }
        (Deflate::off(), None)
    }

    /// Whether the client's compressed messages are to be read.
    #[cfg(feature = "deflate")]
    pub(crate) fn agreed(&self) -> bool {
        self.on.is_some()
    }

    /// The compressed payload of `frame`, if it is to be compressed (the
    /// extension agreed, `compress` asked, and the payload at least the
    /// threshold); it stays valid until the next call.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    #[inline]
    pub(crate) fn compress(&mut self, frame: &Frame, compress: bool) -> Option<&[u8]> {
        #[cfg(feature = "deflate")]
        if let Some(on) = self.on.as_mut().filter(|_| compress) {
            let payload: &[u8] = match frame {
                Frame::Text(s) => s.as_bytes(),
                Frame::Binary(b) => b,
            };
            if payload.len() < on.threshold {
                return None;
            }
            let (agreed, level) = (&on.agreed, on.level);
            let deflater = on.deflater.get_or_insert_with(|| {
                Box::new(socketio_protocol::websocket::deflate::Deflater::with_level(
                    agreed, level,
                ))
            });
            on.scratch.clear();
            deflater.deflate(payload, &mut on.scratch);
            return Some(&on.scratch);
        }
        None
    }
}
