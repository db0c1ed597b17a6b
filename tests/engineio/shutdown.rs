//! A WebSocket session closed by the server: what it queued before goes
//! out as whole frames, and the close frame comes after the last whole
//! one, never inside a payload.

use std::time::Duration;

use bytes::Bytes;
use engineio_tower::CloseReason;
use socketio_axum_tests::{quiet_config, raw_ws_session, raw_ws_session_over, within, TestServer};
use tokio::{
    io::AsyncReadExt,
    net::{TcpSocket, TcpStream},
};

/// The payload byte at offset `i` of the test's binary frames.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// What a client read from the server until the connection ended, split
/// into frames.
#[derive(Debug, Default)]
struct Received {
    /// Whole frames: opcode and payload length.
    frames: Vec<(u8, usize)>,
    /// The frame the connection ended in: opcode, declared and received
    /// payload lengths.
    cut: Option<(u8, u64, usize)>,
}

/// Splits the bytes of a server's frames, checking that every binary
/// payload byte is the test pattern's (a close frame written inside a
/// payload would break it).
fn split_frames(mut bytes: &[u8]) -> Received {
    let mut out = Received::default();
    while !bytes.is_empty() {
        let b0 = bytes[0];
        let Some(&b1) = bytes.get(1) else {
            out.cut = Some((b0 & 0x0f, 0, 0));
            break;
        };
        assert_eq!(b1 & 0x80, 0, "a masked server frame");
        let (len, at) = match b1 & 0x7f {
            126 if bytes.len() >= 4 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 if bytes.len() >= 10 => {
                let mut n = [0; 8];
                n.copy_from_slice(&bytes[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            126 | 127 => {
                out.cut = Some((b0 & 0x0f, 0, 0));
                break;
            }
            n => (u64::from(n), 2),
        };
        let opcode = b0 & 0x0f;
        let payload = &bytes[at..];
        let have = payload.len().min(usize::try_from(len).expect("length"));
        if opcode == 2 {
            let wrong = (0..have).find(|&i| payload[i] != pattern(i));
            assert_eq!(
                wrong, None,
                "a byte of a {len}-byte binary frame is not the payload's: \
                 another frame was written inside it"
            );
        }
        if (have as u64) < len {
            out.cut = Some((opcode, len, have));
            break;
        }
        out.frames.push((opcode, have));
        bytes = &payload[have..];
    }
    out
}

/// Reads until the server ends the connection, at most `chunk` bytes per
/// read and a pause after each: a client that reads slowly.
async fn read_slowly(stream: &mut TcpStream, chunk: usize, pause: Duration) -> Vec<u8> {
    within("the server to end the connection", async {
        let mut all = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return all,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
            tokio::time::sleep(pause).await;
        }
    })
    .await
}

#[tokio::test]
async fn frames_queued_before_a_server_close_arrive_whole_then_the_close_frame() {
    let server = TestServer::start(quiet_config()).await;
    let (mut stream, sid) = raw_ws_session(&server).await;
    let socket = server.socket(sid);
    let sizes = [10, 70_000, 3];
    for n in sizes {
        socket
            .send_binary((0..n).map(pattern).collect())
            .expect("send");
    }
    socket.close();
    let got = split_frames(&read_slowly(&mut stream, 64 * 1024, Duration::ZERO).await);
    assert_eq!(
        got.frames,
        [(2, 10), (2, 70_000), (2, 3), (8, 0)],
        "{got:?}"
    );
    assert_eq!(got.cut, None);
    assert_eq!(server.events.close(sid).await, CloseReason::ForcedClose);
}

/// A frame too large to be written within the shutdown's drain time to a
/// client that reads slowly: it is cut, and no close frame is written
/// inside its payload; the connection just ends.
#[tokio::test]
async fn a_frame_cut_by_the_shutdown_gets_no_close_frame_inside_it() {
    const LARGE: usize = 32 << 20;
    let server = TestServer::start(quiet_config()).await;
    // A small receive window, so the server's writes follow the client's reads.
    let tcp = TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
    let stream = within("connect", tcp.connect(server.addr))
        .await
        .expect("connect");
    let (mut stream, sid) = raw_ws_session_over(&server, stream).await;
    let socket = server.socket(sid);
    socket.send_binary(Bytes::new()).expect("send");
    socket
        .send_binary((0..LARGE).map(pattern).collect())
        .expect("send");
    // Closed before the connection's task runs again: the frames go out in
    // the shutdown's drain, which lasts at most a second.
    socket.close();
    // At most 16 KiB a millisecond: 16 MB/s, well under 32 MiB in a second.
    let bytes = read_slowly(&mut stream, 16 * 1024, Duration::from_millis(1)).await;
    let got = split_frames(&bytes);
    assert_eq!(got.frames.first(), Some(&(2, 0)), "{got:?}");
    match got.cut {
        // Cut inside the large frame: nothing after it.
        Some((2, len, have)) => assert!(len == LARGE as u64 && have < LARGE, "{got:?}"),
        // Or written whole in time: then the close frame, last.
        None => assert_eq!(got.frames, [(2, 0), (2, LARGE), (8, 0)]),
        Some(other) => panic!("the connection ended inside {other:?}"),
    }
    assert_eq!(server.events.close(sid).await, CloseReason::ForcedClose);
}
