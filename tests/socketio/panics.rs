//! Panics in user code are contained: the socket whose handler, extractor,
//! middleware or hook panicked is disconnected with its full clean-up (the
//! client gets a `DISCONNECT`, `on_disconnect` runs with "handler
//! panicked", its rooms are left), and nothing else is touched: its
//! connection's other namespace, other clients and new clients are served.
//! Everything left behind is counted through the public API.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use socketio_axum::{
    adapter::{
        Adapter, AdapterError, BroadcastOptions, LocalNamespace, NamespaceAdapter, RemoteAcks,
        Room, ServerSideEmitError, SocketData,
    },
    extract::{
        AckSender, ConnectParts, Data, FromConnectParts, FromMessageParts, MessageParts, RawArgs,
    },
    handler::{BoxFuture, MessageHandler},
    DisconnectReason, SocketIo, SocketRef,
};
use socketio_axum_tests::{sio_config, wait_until, within, SioServer, SioWs};
use socketio_protocol::socket::EncodedPacket;
use tokio::sync::mpsc;

/// Every panic these tests cause carries this text: the test's panic hook
/// keeps them off stderr and lets any other panic through.
const BOOM: &str = "boom (a test panic)";

fn quiet_test_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
        if message != Some(BOOM) {
            previous(info);
        }
    }));
}

/// An event-handler extractor that panics.
struct Exploding;

impl FromMessageParts for Exploding {
    type Rejection = Infallible;
    fn from_message_parts(_: &SocketRef, _: &mut MessageParts) -> Result<Self, Infallible> {
        panic!("{BOOM}")
    }
}

/// A connect-handler extractor that panics.
struct ExplodingOnConnect;

impl FromConnectParts for ExplodingOnConnect {
    type Rejection = Infallible;
    fn from_connect_parts(_: &SocketRef, _: &ConnectParts) -> Result<Self, Infallible> {
        panic!("{BOOM}")
    }
}

/// An event handler written by hand (the trait is public): its
/// synchronous `call` panics, outside any code the handler macros generate.
#[derive(Clone)]
struct HandWritten;

impl MessageHandler<HandWritten> for HandWritten {
    fn call(&self, _: SocketRef, _: MessageParts) -> BoxFuture<()> {
        panic!("{BOOM}")
    }
}

/// An event handler written by hand whose future panics after an await.
#[derive(Clone)]
struct HandWrittenFuture;

impl MessageHandler<HandWrittenFuture> for HandWrittenFuture {
    fn call(&self, _: SocketRef, _: MessageParts) -> BoxFuture<()> {
        Box::pin(async {
            tokio::task::yield_now().await;
            panic!("{BOOM}")
        })
    }
}

/// The server of these tests, and the reasons its sockets left, in order.
struct Setup {
    server: SioServer,
    left: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
    witness: SioWs,
}

impl Setup {
    /// "/" joins each socket to "lobby" and has one event per way to panic;
    /// "/other" echoes; a witness client is on "/".
    async fn start() -> Setup {
        quiet_test_panics();
        let server = SioServer::start(sio_config()).await;
        let (tx, left) = mpsc::unbounded_channel();
        let on_left = tx.clone();
        server.io.ns("/", move |socket: SocketRef| {
            let on_left = on_left.clone();
            async move {
                socket.join("lobby");
                socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
                    ack.send(&(v,)).expect("ack");
                });
                socket.on("sync", || async { panic!("{BOOM}") });
                socket.on("async", || async {
                    tokio::task::yield_now().await;
                    panic!("{BOOM}")
                });
                socket.on("extractor", |_: Exploding| async {});
                socket.on("by-hand", HandWritten);
                socket.on_concurrent("by-hand-concurrent", HandWrittenFuture);
                socket.on_concurrent("concurrent", || async {
                    tokio::task::yield_now().await;
                    panic!("{BOOM}")
                });
                socket.on("emit", |socket: SocketRef| async move {
                    let _ = socket.emit("out", "x");
                });
                socket.on("hook", |socket: SocketRef| async move {
                    socket.on_any_outgoing(|_, event, _| {
                        if event == "out" {
                            panic!("{BOOM}")
                        }
                    });
                });
                socket.on_any(|| async { panic!("{BOOM}") });
                socket.use_packet(|_, parts| {
                    if parts.event().as_str() == "middleware" {
                        panic!("{BOOM}")
                    }
                    Ok(())
                });
                socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
                    let on_left = on_left.clone();
                    async move {
                        let _ = on_left.send((socket.id().to_string(), reason));
                    }
                });
            }
        });
        server.io.ns("/other", |socket: SocketRef| async move {
            socket.on("echo", |Data(v): Data<Value>, ack: AckSender| async move {
                ack.send(&(v,)).expect("ack");
            });
        });
        let mut witness = server.ws().await;
        witness.join("/").await;
        let _ = tx;
        Setup {
            server,
            left,
            witness,
        }
    }

    /// Sockets on "/", members of "lobby" and Engine.IO connections.
    fn counts(&self) -> (usize, usize, usize) {
        let io = &self.server.io;
        (
            io.sockets().len(),
            io.to("lobby").sockets().len(),
            io.connection_count(),
        )
    }

    /// The witness and a newcomer are served.
    async fn assert_still_serving(&mut self) {
        self.witness.send(r#"42900["echo","still here"]"#).await;
        assert_eq!(self.witness.recv_text().await, r#"43900["still here"]"#);
        let mut newcomer = self.server.ws().await;
        newcomer.join("/").await;
        newcomer.send(r#"421["echo",{"new":true}]"#).await;
        assert_eq!(newcomer.recv_text().await, r#"431[{"new":true}]"#);
    }
}

/// A client on "/" and "/other" sends `frames` to "/"; its "/" socket must
/// be disconnected for the panic, and nothing else.
async fn contained(frames: &[&str]) {
    let mut s = Setup::start().await;
    let mut client = s.server.ws().await;
    let sid = client.join("/").await;
    client.join("/other").await;
    assert_eq!(s.counts(), (2, 2, 2));

    for frame in frames {
        client.send(frame).await;
    }
    assert_eq!(client.recv_text().await, "41", "a DISCONNECT for /");
    let (left, reason) = within("on_disconnect", s.left.recv())
        .await
        .expect("a reason");
    assert_eq!(
        (left.as_str(), reason),
        (sid.as_str(), DisconnectReason::HandlerPanicked)
    );
    assert_eq!(reason.as_str(), "handler panicked");
    // The socket left "/" and its rooms; the connection stays.
    assert_eq!(s.counts(), (1, 1, 2));

    // Its other namespace, on the same connection, is untouched.
    client.send(r#"42/other,7["echo","other"]"#).await;
    assert_eq!(client.recv_text().await, r#"43/other,7["other"]"#);
    // The client may join "/" again.
    client.join("/").await;
    client.send(r#"428["echo",1]"#).await;
    assert_eq!(client.recv_text().await, "438[1]");
    s.assert_still_serving().await;

    drop(client);
    wait_until("only the witness's connection to be left", || {
        s.counts() == (1, 1, 1)
    })
    .await;
}

#[tokio::test]
async fn a_handler_that_panics_before_its_first_await() {
    contained(&[r#"42["sync"]"#]).await;
}

#[tokio::test]
async fn a_handler_that_panics_after_an_await() {
    contained(&[r#"42["async"]"#]).await;
}

#[tokio::test]
async fn an_extractor_that_panics() {
    contained(&[r#"421["extractor"]"#]).await;
}

#[tokio::test]
async fn a_hand_written_handler_that_panics_in_its_call() {
    contained(&[r#"42["by-hand"]"#]).await;
}

#[tokio::test]
async fn a_hand_written_concurrent_handler_whose_future_panics() {
    contained(&[r#"42["by-hand-concurrent"]"#]).await;
}

#[tokio::test]
async fn a_concurrent_handler_that_panics() {
    contained(&[r#"42["concurrent"]"#]).await;
}

#[tokio::test]
async fn an_on_any_handler_that_panics() {
    contained(&[r#"42["not handled"]"#]).await;
}

#[tokio::test]
async fn a_packet_middleware_that_panics() {
    contained(&[r#"42["middleware"]"#]).await;
}

#[tokio::test]
async fn an_outgoing_hook_that_panics() {
    contained(&[r#"42["hook"]"#, r#"42["emit"]"#]).await;
}

#[tokio::test]
async fn a_disconnect_handler_that_panics_still_leaves_everything_clean() {
    quiet_test_panics();
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |socket: SocketRef| async move {
        socket.join("lobby");
        socket.on_disconnecting(|| async { panic!("{BOOM}") });
        socket.on_disconnect(|| async {
            tokio::task::yield_now().await;
            panic!("{BOOM}")
        });
    });
    let mut client = server.ws().await;
    client.join("/").await;
    assert_eq!(server.io.to("lobby").sockets().len(), 1);
    client.send("41").await;
    wait_until("the socket to leave", || server.io.sockets().is_empty()).await;
    assert!(server.io.to("lobby").sockets().is_empty());
    // Same connection, same namespace: joined again, and it disconnects again.
    client.join("/").await;
    assert_eq!(server.io.sockets().len(), 1);
    drop(client);
    wait_until("the connection to close", || {
        server.io.connection_count() == 0 && server.io.sockets().is_empty()
    })
    .await;
    assert!(server.io.rooms().is_empty(), "{:?}", server.io.rooms());
}

#[tokio::test]
async fn a_connect_middleware_that_panics_refuses_the_client() {
    quiet_test_panics();
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |_: SocketRef| async move {});
    server
        .io
        .ns("/guarded", |socket: SocketRef| async move {
            socket.join("guarded-room");
        })
        .with(|| async {
            tokio::task::yield_now().await;
            if BOOM.is_empty() {
                return Ok::<(), String>(());
            }
            panic!("{BOOM}")
        });
    let mut client = server.ws().await;
    client.send("40/guarded,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/guarded,{"message":"Internal server error"}"#
    );
    let guarded = server.io.of("/guarded").expect("/guarded");
    assert!(guarded.sockets().is_empty());
    assert!(guarded.clone().to("guarded-room").sockets().is_empty());
    // The connection is still served.
    client.join("/").await;
    assert_eq!(server.io.connection_count(), 1);
}

#[tokio::test]
async fn rooms_a_refused_socket_joined_in_its_middleware_are_left() {
    // Node's namespace cleans up a refused socket (`_cleanup`: leave all).
    quiet_test_panics();
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |_: SocketRef| async move {});
    for (ns, panics) in [("/refused", false), ("/panicked", true)] {
        server
            .io
            .ns(ns, |_: SocketRef| async move {})
            .with(move |socket: SocketRef| async move {
                socket.join("vip");
                if panics {
                    panic!("{BOOM}")
                }
                Err::<(), String>("no".to_owned())
            });
    }
    let mut client = server.ws().await;
    client.send("40/refused,").await;
    assert_eq!(client.recv_text().await, r#"44/refused,{"message":"no"}"#);
    client.send("40/panicked,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/panicked,{"message":"Internal server error"}"#
    );
    for ns in ["/refused", "/panicked"] {
        let ns = server.io.of(ns).expect("namespace");
        assert!(
            ns.clone().to("vip").sockets().is_empty(),
            "rooms left behind"
        );
    }
}

#[tokio::test]
async fn a_socket_that_left_joins_no_room() {
    // As a handler still running for a socket that left would try (an
    // `on_concurrent` sibling of a panicking handler, or after an await).
    let (server, mut joined) = {
        let server = SioServer::start(sio_config()).await;
        let (tx, joined) = mpsc::unbounded_channel();
        server.io.ns("/", move |socket: SocketRef| {
            let _ = tx.send(socket.clone());
            async move {}
        });
        (server, joined)
    };
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    socket.disconnect();
    assert_eq!(client.recv_text().await, "41");
    wait_until("the socket to leave", || server.io.sockets().is_empty()).await;
    socket.join("late");
    assert!(server.io.rooms().is_empty(), "{:?}", server.io.rooms());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_code_runs_under_none_of_our_locks() {
    // A hook that replaces itself, and a server-side handler that does,
    // would wait for ever on the lock their registration takes.
    let capture = Capture::default();
    let server = SioServer::start_with(
        SocketIo::builder()
            .config(sio_config())
            .adapter(capture.clone()),
        axum::Router::new(),
    )
    .await;
    let (tx, mut joined) = mpsc::unbounded_channel();
    server.io.ns("/", move |socket: SocketRef| {
        let _ = tx.send(socket.clone());
        async move {}
    });
    let io = server.io.clone();
    server.io.on_server_side(move |_| io.on_server_side(|_| {}));
    let mut client = server.ws().await;
    client.join("/").await;
    let socket = within("the socket", joined.recv()).await.expect("socket");
    socket.on_any_outgoing(|socket, _, _| socket.on_any_outgoing(|_, _, _| {}));
    let main = capture.0.lock().expect("lock")[0].clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let emitted = socket.emit("x", &1);
        let args = RawArgs {
            args: "1".into(),
            attachments: Vec::new(),
        };
        main.server_side_event("ev".into(), args, None);
        let _ = done_tx.send(emitted);
    });
    let done = done_rx.recv_timeout(Duration::from_secs(5));
    assert_eq!(done, Ok(Ok(())), "a registration from user code deadlocked");
    assert_eq!(client.recv_text().await, r#"42["x",1]"#);
}

#[tokio::test]
async fn a_connect_handler_that_panics_disconnects_its_socket() {
    quiet_test_panics();
    let server = SioServer::start(sio_config()).await;
    let (tx, mut left) = mpsc::unbounded_channel();
    server.io.ns("/", |_: SocketRef| async move {});
    server.io.ns("/doomed", move |socket: SocketRef| {
        let tx = tx.clone();
        async move {
            socket.join("doomed-room");
            socket.on_disconnect(move |reason: DisconnectReason| async move {
                let _ = tx.send(reason);
            });
            tokio::task::yield_now().await;
            panic!("{BOOM}")
        }
    });
    server.io.ns(
        "/doomed-at-once",
        |_: SocketRef, _: ExplodingOnConnect| async move {},
    );
    let mut client = server.ws().await;
    client.send("40/doomed,").await;
    let connected = client.recv_text().await;
    assert!(connected.starts_with("40/doomed,{"), "{connected}");
    assert_eq!(client.recv_text().await, "41/doomed,");
    let reason = within("on_disconnect", left.recv()).await;
    assert_eq!(reason, Some(DisconnectReason::HandlerPanicked));
    let doomed = server.io.of("/doomed").expect("/doomed");
    assert!(doomed.sockets().is_empty());
    assert!(doomed.to("doomed-room").sockets().is_empty());

    // A connect handler whose extractor panics never joins: CONNECT_ERROR.
    client.send("40/doomed-at-once,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/doomed-at-once,{"message":"Internal server error"}"#
    );
    let at_once = server.io.of("/doomed-at-once").expect("namespace");
    assert!(at_once.sockets().is_empty());
    client.join("/").await;
    assert_eq!(server.io.connection_count(), 1);
}

#[tokio::test]
async fn a_dynamic_namespace_matcher_that_panics_matches_nothing() {
    quiet_test_panics();
    let server = SioServer::start(sio_config()).await;
    server.io.ns("/", |_: SocketRef| async move {});
    server.io.dyn_ns(
        |path| {
            if path == "/explode" {
                panic!("{BOOM}")
            }
            path.starts_with("/tenant-")
        },
        |_: SocketRef| async move {},
    );
    let mut client = server.ws().await;
    client.send("40/explode,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/explode,{"message":"Invalid namespace"}"#
    );
    client.join("/tenant-1").await;
    client.join("/").await;
}

/// An adapter that only hands its namespace to the test, so that the test
/// can call in as another server's message would.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<LocalNamespace>>>);

struct Nothing;

impl Adapter for Capture {
    fn namespace(&self, ns: LocalNamespace) -> Box<dyn NamespaceAdapter> {
        self.0.lock().expect("lock").push(ns);
        Box::new(Nothing)
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<T> {
    Box::pin(std::future::ready(v))
}

impl NamespaceAdapter for Nothing {
    fn broadcast(&self, _: &EncodedPacket, _: &BroadcastOptions) -> Result<(), AdapterError> {
        Ok(())
    }
    fn broadcast_with_ack(
        &self,
        _: &EncodedPacket,
        _: &BroadcastOptions,
        _: Duration,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        ready(Ok(RemoteAcks::default()))
    }
    fn fetch_sockets(
        &self,
        _: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketData>, AdapterError>> {
        ready(Ok(Vec::new()))
    }
    fn add_sockets(&self, _: &BroadcastOptions, _: &[Room]) -> Result<(), AdapterError> {
        Ok(())
    }
    fn del_sockets(&self, _: &BroadcastOptions, _: &[Room]) -> Result<(), AdapterError> {
        Ok(())
    }
    fn disconnect_sockets(&self, _: &BroadcastOptions, _: bool) -> Result<(), AdapterError> {
        Ok(())
    }
    fn server_side_emit(
        &self,
        _: &str,
        _: &RawArgs,
        _: Option<Duration>,
    ) -> BoxFuture<Result<Vec<RawArgs>, ServerSideEmitError>> {
        ready(Ok(Vec::new()))
    }
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        ready(Ok(1))
    }
    fn all_rooms(&self) -> BoxFuture<Result<Vec<Room>, AdapterError>> {
        ready(Ok(Vec::new()))
    }
}

#[tokio::test]
async fn a_server_side_event_handler_that_panics_does_not_unwind_into_the_adapter() {
    quiet_test_panics();
    let capture = Capture::default();
    let (_layer, io) = SocketIo::builder().adapter(capture.clone()).build_layer();
    let (tx, mut handled) = mpsc::unbounded_channel();
    io.on_server_side(move |event| {
        let _ = tx.send(event.event().to_owned());
        if event.event() == "explode" {
            panic!("{BOOM}")
        }
    });
    let main = capture.0.lock().expect("lock")[0].clone();
    let args = RawArgs {
        args: "1".into(),
        attachments: Vec::new(),
    };
    // Called as the adapter's task would: it returns, twice.
    main.server_side_event("explode".into(), args.clone(), None);
    main.server_side_event("after".into(), args, None);
    assert_eq!(handled.recv().await.as_deref(), Some("explode"));
    assert_eq!(handled.recv().await.as_deref(), Some("after"));
}

/// Resident memory of this test process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Joins "/", makes its handler panic and reads the DISCONNECT, `n` times,
/// pipelined.
async fn panic_rounds(client: &mut SioWs, n: usize) {
    let frames = (0..n)
        .flat_map(|_| ["40".to_owned(), r#"42["sync"]"#.to_owned()])
        .collect::<Vec<_>>();
    let replies = client.pipeline(frames, 2 * n).await;
    for pair in replies.chunks(2) {
        assert!(pair[0].starts_with("40{\"sid\":"), "{pair:?}");
        assert_eq!(pair[1], "41", "{pair:?}");
    }
}

#[tokio::test]
async fn ten_thousand_panicking_events_leave_nothing_behind() {
    let mut s = Setup::start().await;
    let mut client = s.server.ws().await;
    // Warm-up: allocator pools and maps reach their working size.
    panic_rounds(&mut client, 1_000).await;
    let before = rss();
    panic_rounds(&mut client, 10_000).await;
    wait_until("the sockets to be gone", || s.counts() == (1, 1, 2)).await;
    let after = rss();
    let mut reasons = 0;
    while let Ok((_, reason)) = s.left.try_recv() {
        assert_eq!(reason, DisconnectReason::HandlerPanicked);
        reasons += 1;
    }
    assert_eq!(reasons, 11_000, "every socket's on_disconnect ran");
    // A leaked socket costs about 10 KB: 10,000 would be ~100 MB.
    let grown = after.saturating_sub(before);
    assert!(
        grown < 4 << 20,
        "RSS grew by {} KiB over 10,000 panics",
        grown >> 10
    );
    s.assert_still_serving().await;
}
