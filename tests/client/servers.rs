//! The servers the client is tested against, each killable and restartable
//! on the same port: Node's `socket.io` (`tests/node/client_server.mjs`) in
//! a child process, and ours (`socketio-axum`) on a runtime of its own
//! thread, so that killing it drops every connection at once.
//!
//! Both implement the same namespaces and events; see the script's header.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum_server::tls_rustls::RustlsConfig;
use serde_json::{json, Value};
use socketio_axum::{
    extract::{AckSender, Data, Handshake, RawArgs},
    webtransport::{Identity, WebTransportConfig, WebTransportServer},
    Binary, ConnectError, ConnectionStateRecovery, SocketIo, SocketIoConfig, SocketRef, Spread,
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::oneshot,
};

use socketio_axum_tests::relay_webtransport_to_tcp;

use crate::harness::within;

/// A server under test.
pub(crate) trait Server {
    /// Its port on 127.0.0.1.
    fn port(&self) -> u16;

    /// Its URL.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }
}

/// Node's `socket.io` server, in a child process.
pub(crate) struct NodeServer {
    child: Child,
    port: u16,
    /// The TCP port of its WebTransport sessions, if it serves them.
    stream: Option<u16>,
}

impl Server for NodeServer {
    fn port(&self) -> u16 {
        self.port
    }
}

impl NodeServer {
    /// Starts `client_server.mjs` on `port` (0 for any) with `options`, and
    /// waits until it listens.
    pub(crate) async fn start(port: u16, options: Value) -> NodeServer {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(
            dir.join("node_modules").is_dir(),
            "{}/node_modules is missing: run `npm ci --prefix tests` first",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("node").join("client_server.mjs"))
            .arg(port.to_string())
            .arg(options.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `node` (is Node.js installed?): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready: Value = within("the Node server to listen", async {
            let line = lines
                .next_line()
                .await
                .expect("read stdout")
                .expect("the Node server exited before listening");
            serde_json::from_str(&line).expect("a JSON line")
        })
        .await;
        assert_eq!(ready["event"], "ready", "{ready}");
        let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("a port");
        let stream = ready["stream"]
            .as_u64()
            .map(|p| u16::try_from(p).expect("a port"));
        // Keep reading, so that the pipe never fills up.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        NodeServer {
            child,
            port,
            stream,
        }
    }

    /// Starts it serving WebTransport too: Node's engine behind the test's
    /// HTTP/3 endpoint on the UDP port of its HTTP port's number
    /// (`relay_webtransport_to_tcp`), whose certificate hash it returns.
    pub(crate) async fn start_webtransport(options: Value) -> (NodeServer, [u8; 32]) {
        let mut options = options;
        options["webtransport"] = json!(0);
        let server = NodeServer::start(0, options).await;
        let stream = server.stream.expect("the stream port");
        let hash = relay_webtransport_to_tcp(
            SocketAddr::from(([127, 0, 0, 1], server.port)),
            SocketAddr::from(([127, 0, 0, 1], stream)),
        );
        (server, hash)
    }

    /// Kills the process (SIGKILL): its connections drop at once.
    pub(crate) async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Our server: axum with the `SocketIo` layer, on a thread with its own
/// runtime.
pub(crate) struct RustServer {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server for RustServer {
    fn port(&self) -> u16 {
        self.port
    }
}

impl RustServer {
    /// Starts a server on `port` (0 for any).
    pub(crate) fn start(port: u16) -> RustServer {
        Self::start_with(port, Options::default())
    }

    /// Starts a server with connection state recovery on (a 10 s window,
    /// as `client_server.mjs` with `"recovery": true`).
    pub(crate) fn start_with_recovery() -> RustServer {
        let recovery = true;
        Self::start_with(
            0,
            Options {
                recovery,
                ..Options::default()
            },
        )
    }

    /// Starts a server on `port` (0 for any) that also serves WebTransport
    /// with `identity`, on the UDP port of the same number (where the
    /// client looks for it).
    pub(crate) fn start_webtransport(port: u16, identity: &Identity) -> RustServer {
        let identity = Some(identity.clone());
        Self::start_with(
            port,
            Options {
                identity,
                ..Options::default()
            },
        )
    }

    /// Starts a server that offers WebTransport but listens for it on
    /// another UDP port than the one of the TCP port's number, where the
    /// client looks: as if a firewall dropped the client's UDP.
    pub(crate) fn start_webtransport_unreachable(identity: &Identity) -> RustServer {
        let identity = Some(identity.clone());
        Self::start_with(
            0,
            Options {
                identity,
                udp_elsewhere: true,
                ..Options::default()
            },
        )
    }

    /// Starts a server on any port that serves HTTPS and WSS (only) with
    /// this PEM certificate chain and key.
    pub(crate) fn start_tls(cert_pem: &str, key_pem: &str) -> RustServer {
        let tls = Some((cert_pem.as_bytes().to_vec(), key_pem.as_bytes().to_vec()));
        Self::start_with(
            0,
            Options {
                tls,
                ..Options::default()
            },
        )
    }

    fn start_with(port: u16, options: Options) -> RustServer {
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let (app, io) = app(options.recovery);
                let (listener, wt) = bind(port, &io, options.identity, options.udp_elsewhere).await;
                let port = listener.local_addr().expect("address").port();
                if let Some(wt) = wt {
                    tokio::spawn(wt.run());
                }
                match options.tls {
                    None => {
                        let _ = bound_tx.send(port);
                        tokio::select! {
                            _ = axum::serve(listener, app) => {}
                            _ = stopped => {}
                        }
                    }
                    Some((cert, key)) => {
                        let config = RustlsConfig::from_pem(cert, key)
                            .await
                            .expect("a TLS configuration");
                        let listener = listener.into_std().expect("a std listener");
                        let server =
                            axum_server::from_tcp_rustls(listener, config).expect("TLS server");
                        let _ = bound_tx.send(port);
                        tokio::select! {
                            _ = server.serve(app.into_make_service()) => {}
                            _ = stopped => {}
                        }
                    }
                }
            });
            // Dropping the runtime drops every connection task with it.
            drop(runtime);
        });
        let port = bound_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the server to listen");
        RustServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the server and closes all its connections.
    pub(crate) fn kill(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How a [`RustServer`] serves.
#[derive(Default)]
struct Options {
    /// Connection state recovery.
    recovery: bool,
    /// WebTransport, with this certificate.
    identity: Option<Identity>,
    /// WebTransport on any UDP port, not the TCP port's number.
    udp_elsewhere: bool,
    /// HTTPS and WSS instead of HTTP and WS, with this PEM certificate
    /// chain and key.
    tls: Option<(Vec<u8>, Vec<u8>)>,
}

/// Binds TCP `port` and, with an identity, the UDP port of the same
/// number for WebTransport. For port 0, a port whose UDP twin is taken is
/// given back and another one tried.
async fn bind(
    port: u16,
    io: &SocketIo,
    identity: Option<Identity>,
    udp_elsewhere: bool,
) -> (tokio::net::TcpListener, Option<WebTransportServer>) {
    for _ in 0..20 {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("cannot bind port {port}: {e}"));
        let Some(identity) = &identity else {
            return (listener, None);
        };
        let mut addr = listener.local_addr().expect("address");
        if udp_elsewhere {
            addr.set_port(0);
        }
        match io.serve_webtransport(WebTransportConfig::new(addr, identity.clone())) {
            Ok(wt) => return (listener, Some(wt)),
            Err(e) if port != 0 => panic!("cannot bind udp {addr}: {e}"),
            Err(_) => continue,
        }
    }
    panic!("no port free on both TCP and UDP")
}

impl Drop for RustServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The value of `x` in a query string.
fn query_x(query: Option<&str>) -> Value {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("x="))
        .map_or(Value::Null, Value::from)
}

fn welcome(socket: &SocketRef, auth: &Value, handshake: &Handshake) {
    let header = handshake
        .headers()
        .get("x-test")
        .and_then(|v| v.to_str().ok())
        .map_or(Value::Null, Value::from);
    let _ = socket.emit(
        "welcome",
        &json!({
            "auth": auth,
            "query": query_x(handshake.query()),
            "header": header,
            "engine": socket.connection_id().to_string(),
            "ns": socket.ns().to_string(),
            "recovered": socket.recovered(),
        }),
    );
}

/// The app: the same namespaces and events as `client_server.mjs`, and
/// the `SocketIo` that serves them.
fn app(recovery: bool) -> (axum::Router, SocketIo) {
    let mut config = SocketIoConfig::builder()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200));
    if recovery {
        config = config.connection_state_recovery(
            ConnectionStateRecovery::default().max_disconnection_duration(Duration::from_secs(10)),
        );
    }
    let config = config.build();
    let (layer, io) = SocketIo::builder().config(config).build_layer();
    let log: Arc<Mutex<Vec<Value>>> = Arc::default();

    io.ns(
        "/",
        move |socket: SocketRef, Data(auth): Data<Value>, handshake: Handshake| {
            let log = log.clone();
            async move {
                welcome(&socket, &auth, &handshake);
                register_main(&socket, log);
            }
        },
    )
    .with(|Data(auth): Data<Value>| async move {
        match auth["token"] == "bad" {
            true => Err(ConnectError::new("not authorized")
                .with_data(json!({"code": 4001, "reason": "bad token"}))),
            false => Ok(()),
        }
    });

    io.ns(
        "/chat",
        |socket: SocketRef, Data(auth): Data<Value>, handshake: Handshake| async move {
            welcome(&socket, &auth, &handshake);
            socket.on(
                "echo",
                |socket: SocketRef, RawArgs { args, .. }: RawArgs| async move {
                    let args: Vec<Value> =
                        serde_json::from_str(&format!("[{args}]")).expect("JSON arguments");
                    let mut all = vec![Value::from("chat")];
                    all.extend(args);
                    let _ = socket.emit("echo", &Spread(all));
                },
            );
        },
    );

    io.ns("/admin", || async {}).with(|| async {
        Err::<(), _>(
            ConnectError::new("admins only")
                .with_data(json!({"code": 403, "reason": "not an admin"})),
        )
    });

    (axum::Router::new().layer(layer), io)
}

fn register_main(socket: &SocketRef, log: Arc<Mutex<Vec<Value>>>) {
    socket.on("echo", |socket: SocketRef, args: RawArgs| async move {
        let _ = socket.emit_raw("echo", args);
    });
    socket.on("ack", |ack: AckSender, args: RawArgs| async move {
        let _ = ack.send_raw(args);
    });
    socket.on(
        "binary",
        |socket: SocketRef, Data((name, buf)): Data<(String, Binary)>, ack: AckSender| async move {
            let reversed: Vec<u8> = buf.iter().rev().copied().collect();
            let _ = ack.send(&(buf.len(), Binary::from(reversed)));
            let _ = socket.emit("binary-back", &(name, buf));
        },
    );
    socket.on(
        "ask",
        |socket: SocketRef, Data(q): Data<Value>, ack: AckSender| async move {
            // Answered from a task, so that this socket's next events are
            // not held back while the client thinks.
            tokio::spawn(async move {
                let answer = socket
                    .timeout(Duration::from_secs(2))
                    .emit_with_ack::<_, Value>("question", &(q,))
                    .await;
                let _ = match answer {
                    Ok(answer) => ack.send(&(answer,)),
                    Err(e) => ack.send(&(json!({"error": e.to_string()}),)),
                };
            });
        },
    );
    socket.on("never", || async {});
    // The transport as the server sees it.
    socket.on(
        "transport",
        |socket: SocketRef, ack: AckSender| async move {
            let _ = ack.send(socket.conn().transport().as_str());
        },
    );
    socket.on("slow", |Data(x): Data<Value>, ack: AckSender| async move {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = ack.send(&(x,));
        });
    });
    let record_log = log.clone();
    socket.on("record", move |Data(x): Data<Value>, ack: AckSender| {
        let log = record_log.clone();
        async move {
            crate::harness::lock(&log).push(x.clone());
            let _ = ack.send(&(x,));
        }
    });
    socket.on("log", move |ack: AckSender| {
        let log = log.clone();
        async move {
            let entries = crate::harness::lock(&log).clone();
            let _ = ack.send(&(entries,));
        }
    });
    socket.on(
        "kick",
        |socket: SocketRef| async move { socket.disconnect() },
    );
    // As Node's: closes the connection, then broadcasts while the client is away.
    socket.on(
        "drop",
        |socket: SocketRef, io: SocketIo, ack: AckSender| async move {
            let _ = ack.send(&("dropping",));
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                socket.conn().close();
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = io.emit("missed", "while you were away");
            });
        },
    );
}
