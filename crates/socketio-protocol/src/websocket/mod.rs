//! WebSocket framing (RFC 6455 §5), the server's side, sans-IO: a client's
//! bytes in, whole messages out ([`FrameDecoder`]), and the header of the
//! frames a server writes ([`put_server_header`]).
//!
//! Every client frame must be masked, the reserved bits are zero unless
//! permessage-deflate was agreed (feature `deflate`, [`deflate`]: then RSV1
//! marks a compressed message, inflated here), and a message is handed over
//! whole, fragments joined. What breaks a rule is a [`FrameError`] carrying the close code
//! to answer with. The opening handshake is HTTP and not part of this
//! module.
//!
//! ```
//! use bytes::BytesMut;
//! use socketio_protocol::websocket::{FrameDecoder, Incoming};
//!
//! let mut decoder = FrameDecoder::new(1 << 20);
//! // RFC 6455 §5.7: "A single-frame masked text message", in two reads.
//! let mut buf = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21][..]);
//! assert_eq!(decoder.decode(&mut buf), Ok(None));
//! buf.extend_from_slice(&[0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! assert_eq!(decoder.decode(&mut buf), Ok(Some(Incoming::Text("Hello".into()))));
//! assert!(buf.is_empty());
//! ```

mod decoder;
#[cfg(feature = "deflate")]
pub mod deflate;
mod header;
mod utf8;

use std::fmt;

use bytes::Bytes;

use crate::Str;

pub use decoder::FrameDecoder;
pub use header::{put_compressed_server_header, put_server_header, OpCode};

/// A message read from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message, fragments joined; its UTF-8 was checked.
    Text(Str),
    /// A binary message, fragments joined.
    Binary(Bytes),
    /// A ping, to be answered with a pong carrying the same bytes.
    Ping(Bytes),
    /// A pong (its payload is not kept).
    Pong,
    /// The client closes, with the status code it gave, if any; the code
    /// is one a peer may send (RFC 6455 §7.4) and the reason was UTF-8.
    Close(Option<u16>),
}

/// A frame that breaks the protocol or the size limit. The connection is
/// then to be closed with [`close_code`](FrameError::close_code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A rule of RFC 6455 broken; close code 1002.
    Protocol(&'static str),
    /// A text message or close reason that is not UTF-8; close code 1007.
    InvalidUtf8,
    /// A message larger than the limit; close code 1009.
    TooLarge {
        /// The size reached: the frame's declared length plus the
        /// fragments before it.
        size: u64,
        /// The limit.
        max: usize,
    },
}

impl FrameError {
    /// The status code of the close frame that answers this error.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => 1002,
            FrameError::InvalidUtf8 => 1007,
            FrameError::TooLarge { .. } => 1009,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Protocol(what) => write!(f, "websocket protocol error: {what}"),
            FrameError::InvalidUtf8 => f.write_str("websocket text is not UTF-8"),
            FrameError::TooLarge { size, max } => {
                write!(
                    f,
                    "websocket message of {size} bytes, over the limit of {max}"
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}
